<#
.SYNOPSIS
    Build DigitLab for Windows: the PyInstaller one-folder build, an NSIS
    installer and a portable .zip. Run on 64-bit Windows (PyInstaller does not
    cross-build); written with the same care as the Linux script but not run
    where it was written: see packaging/README.md.

.DESCRIPTION
    powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1

    Writes:
      dist\digitlab\                                   one folder: DigitLab.exe (window), digitlab-cli.exe (console)
      dist\DigitLab-<version>-windows-x64-setup.exe    NSIS installer
      dist\DigitLab-<version>-windows-x64.zip          the one folder, to unpack anywhere

    Needs Python >= 3.11 (64-bit) and NSIS 3 (makensis on PATH or in its
    default folder; `choco install nsis` or `winget install NSIS.NSIS`).
    Signing (optional): set DIGITLAB_SIGN_CERT_SHA1 to the thumbprint of a
    code-signing certificate in the certificate store, and
    DIGITLAB_SIGN_TIMESTAMP_URL to your CA's RFC 3161 timestamp server;
    signtool (Windows SDK) then signs both executables and the installer.

.PARAMETER Python
    The Python to bundle (default: "py -3.11" if the launcher exists, else "python").
#>
param(
    [string]$Python = ""
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Repo = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$Venv = Join-Path $Repo "build\windows-venv"
$Dist = Join-Path $Repo "dist"
Set-Location $Repo

function Say([string]$Text) { Write-Host "`n== $Text" }

# Run a native command and stop on a non-zero exit code (PowerShell does not).
function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

if (-not $Python) {
    $Python = if (Get-Command py -ErrorAction SilentlyContinue) { "py -3.11" } else { "python" }
}
$PythonParts = $Python.Split(" ")
$PythonExe = $PythonParts[0]
$PythonArgs = @($PythonParts | Select-Object -Skip 1)

$Version = (& $PythonExe @PythonArgs packaging\project_info.py version).Trim()
if ($LASTEXITCODE -ne 0) { throw "could not read the version" }
# Windows resources want four numbers: 0.2.0rc1 -> 0.2.0.1, 1.0 -> 1.0.0.0.
$Numbers = @([regex]::Matches(($Version -split "\+")[0], "\d+") | ForEach-Object { $_.Value }) + @("0", "0", "0", "0")
$Version4 = ($Numbers[0..3]) -join "."

Say "build venv ($Venv)"
$Requirements = Join-Path $env:TEMP "digitlab-requirements.txt"
& $PythonExe @PythonArgs packaging\project_info.py requirements | Set-Content -Encoding ascii $Requirements
$StampText = (@(& $PythonExe @PythonArgs -VV) + @(Get-Content $Requirements) +
    @(Get-Content packaging\requirements-build.txt)) -join "`n"
$Stamp = [System.BitConverter]::ToString(
    [System.Security.Cryptography.SHA256]::Create().ComputeHash([System.Text.Encoding]::UTF8.GetBytes($StampText)))
$StampFile = Join-Path $Venv ".stamp"
if (-not (Test-Path $StampFile) -or (Get-Content $StampFile -Raw).Trim() -ne $Stamp) {
    if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
    Invoke-Checked $PythonExe ($PythonArgs + @("-m", "venv", $Venv))
    $VenvPython = Join-Path $Venv "Scripts\python.exe"
    Invoke-Checked $VenvPython @("-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "-r", "packaging\requirements-build.txt", "-r", $Requirements)
    Set-Content -Path $StampFile -Value $Stamp
}
$VenvPython = Join-Path $Venv "Scripts\python.exe"

Say "PyInstaller one-folder build (digitlab $Version)"
$Bundle = Join-Path $Dist "digitlab"
if (Test-Path $Bundle) { Remove-Item -Recurse -Force $Bundle }
Invoke-Checked $VenvPython @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", $Dist, "--workpath", (Join-Path $Repo "build\pyinstaller"), "packaging\digitlab.spec")
# The console twin prints; the windowed DigitLab.exe has nowhere to print to.
Invoke-Checked (Join-Path $Bundle "digitlab-cli.exe") @("--version")
# The window shows, then quits by itself: the same start as the Linux smoke
# test (offscreen, so it also works on a CI runner without a desktop).
$env:DIGITLAB_QUIT_AFTER_MS = "500"
$env:QT_QPA_PLATFORM = "offscreen"
$Start = Get-Date
$Gui = Start-Process -FilePath (Join-Path $Bundle "DigitLab.exe") -PassThru -Wait
Remove-Item Env:\DIGITLAB_QUIT_AFTER_MS, Env:\QT_QPA_PLATFORM
if ($Gui.ExitCode -ne 0) { throw "DigitLab.exe exited with $($Gui.ExitCode)" }
Write-Host ("window shown and closed in {0:N2} s (with a 0.5 s quit delay)" -f ((Get-Date) - $Start).TotalSeconds)

$SignCert = $env:DIGITLAB_SIGN_CERT_SHA1
function Sign-Files([string[]]$Files) {
    if (-not $SignCert) { return }
    if (-not $env:DIGITLAB_SIGN_TIMESTAMP_URL) { throw "DIGITLAB_SIGN_TIMESTAMP_URL is needed to sign" }
    Invoke-Checked "signtool" (@("sign", "/sha1", $SignCert, "/fd", "sha256",
        "/tr", $env:DIGITLAB_SIGN_TIMESTAMP_URL, "/td", "sha256") + $Files)
}
Sign-Files @((Join-Path $Bundle "DigitLab.exe"), (Join-Path $Bundle "digitlab-cli.exe"))

Say "NSIS installer"
$MakeNsis = (Get-Command makensis -ErrorAction SilentlyContinue).Source
if (-not $MakeNsis) {
    foreach ($Candidate in @("${env:ProgramFiles(x86)}\NSIS\makensis.exe", "$env:ProgramFiles\NSIS\makensis.exe")) {
        if (Test-Path $Candidate) { $MakeNsis = $Candidate; break }
    }
}
if (-not $MakeNsis) { throw "makensis not found: install NSIS 3 (choco install nsis)" }
$Installer = Join-Path $Dist "DigitLab-$Version-windows-x64-setup.exe"
Invoke-Checked $MakeNsis @("/V2", "/WX", "/DVERSION=$Version", "/DVERSION4=$Version4",
    "/DSOURCE_DIR=$Bundle", "/DOUTFILE=$Installer", "packaging\windows\digitlab.nsi")
Sign-Files @($Installer)

Say "portable .zip"
$Zip = Join-Path $Dist "DigitLab-$Version-windows-x64.zip"
if (Test-Path $Zip) { Remove-Item -Force $Zip }
Compress-Archive -Path $Bundle -DestinationPath $Zip -CompressionLevel Optimal

Say "done"
foreach ($Item in @($Installer, $Zip)) {
    "{0} ({1:N0} MB)" -f $Item, ((Get-Item $Item).Length / 1MB) | Write-Host
}

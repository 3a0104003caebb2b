#!/usr/bin/env bash
# Build DigitLab for macOS: a .app inside a .dmg (run on a Mac; PyInstaller
# does not cross-build). Written with the same care as the Linux script but
# not run where it was written: see packaging/README.md.
#
#   packaging/macos/build.sh
#
# writes:
#   dist/DigitLab.app                              the application bundle
#   dist/DigitLab-<version>-macos-<arch>.dmg       drag-to-Applications disk image
#
# <arch> is the Mac's own (arm64 or x86_64): build on each kind of Mac (or
# CI runner) for both; a universal2 build would need a universal2 Python and
# universal2 wheels of every dependency.
#
# Signing and notarisation (all optional; without them the .app is ad-hoc
# signed and Gatekeeper asks the user to right-click > Open the first time):
#   DIGITLAB_CODESIGN_IDENTITY  "Developer ID Application: Name (TEAMID)", in
#                               the keychain: signs every binary, the .app
#                               (hardened runtime, entitlements.plist) and the .dmg
#   DIGITLAB_NOTARY_PROFILE     a profile stored with
#                               `xcrun notarytool store-credentials`: notarises
#                               the .dmg and staples the ticket to it
# Environment: PYTHON (default python3, >= 3.11; a python.org or Homebrew
# build for the Mac's architecture).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
venv=$repo/build/macos-venv
dist=$repo/dist
identity=${DIGITLAB_CODESIGN_IDENTITY:-}
notary_profile=${DIGITLAB_NOTARY_PROFILE:-}

say() { printf '\n== %s\n' "$*" >&2; }

[[ $(uname -s) == Darwin ]] || { echo "build.sh: run this on macOS" >&2; exit 1; }
cd "$repo"
version=$("$python" packaging/project_info.py version)
arch=$(uname -m)

say "build venv ($venv)"
requirements=$("$python" packaging/project_info.py requirements; cat packaging/requirements-build.txt)
stamp=$(printf '%s\n%s\n' "$("$python" -VV)" "$requirements" | shasum -a 256 | cut -d' ' -f1)
if [[ ! -f $venv/.stamp || $(cat "$venv/.stamp") != "$stamp" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r packaging/requirements-build.txt \
        -r <("$python" packaging/project_info.py requirements)
    echo "$stamp" >"$venv/.stamp"
fi

say "PyInstaller .app (digitlab $version, $arch)"
rm -rf "$dist/digitlab" "$dist/DigitLab.app"
# The spec reads DIGITLAB_CODESIGN_IDENTITY and signs as it collects.
DIGITLAB_CODESIGN_IDENTITY=$identity "$venv/bin/pyinstaller" --noconfirm --clean \
    --log-level WARN --distpath "$dist" --workpath "$repo/build/pyinstaller" \
    packaging/digitlab.spec
app=$dist/DigitLab.app
"$app/Contents/MacOS/DigitLab" --version
# The same start the smoke test makes on Linux: the window shows, then quits.
DIGITLAB_QUIT_AFTER_MS=500 QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/DigitLab"
codesign --verify --deep --strict "$app"

say ".dmg"
dmg=$dist/DigitLab-$version-macos-$arch.dmg
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
# ditto keeps the bundle's symlinks, resource forks and signatures intact.
ditto "$app" "$staging/DigitLab.app"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "DigitLab $version" -srcfolder "$staging" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$dmg" >/dev/null

if [[ -n $identity ]]; then
    say "sign the .dmg"
    codesign --force --timestamp --sign "$identity" "$dmg"
    if [[ -n $notary_profile ]]; then
        say "notarise (this waits for Apple's answer, usually a few minutes)"
        xcrun notarytool submit "$dmg" --keychain-profile "$notary_profile" --wait
        xcrun stapler staple "$dmg"
        spctl --assess --type open --context context:primary-signature --verbose "$dmg"
    fi
else
    echo "(not signed: set DIGITLAB_CODESIGN_IDENTITY to sign, see packaging/README.md)" >&2
fi

say "done"
echo "$app ($(du -sh "$app" | cut -f1))"
echo "$dmg ($(du -h "$dmg" | cut -f1))"

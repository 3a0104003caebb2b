"""Packaging scripts and installers: the shell scripts, the .deb, the NSIS installer, the release workflow,
the one list of Qt's system libraries and CI's order.

Each is checked in seconds: the .deb is assembled from a stand-in payload and
read back with dpkg-deb, the NSIS script compiled with makensis, the shell
scripts parsed by bash (the full build is packaging/linux/smoke_test.sh's job).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_packaging import PACKAGING, REPO, make_icons, project_info


# ---------------------------------------------------------------------------
# Shell scripts, the .deb, the NSIS installer, the workflow
# ---------------------------------------------------------------------------

SHELL_SCRIPTS = sorted(PACKAGING.rglob("*.sh"))


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: str(path.relative_to(PACKAGING)))
def test_shell_script_parses_and_is_executable(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.access(script, os.X_OK), f"{script} is not executable (git update-index --chmod=+x)"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")


def test_every_expected_script_exists():
    expected = {"linux/build.sh", "linux/make_deb.sh", "linux/smoke_test.sh", "macos/build.sh"}
    assert expected <= {str(path.relative_to(PACKAGING)) for path in SHELL_SCRIPTS}
    assert (PACKAGING / "windows" / "build.ps1").is_file()
    assert (PACKAGING / "windows" / "digitlab.nsi").is_file()


def make_standin_bundle(root: Path) -> Path:
    """A one-folder build's shape with a real ELF launcher (for the glibc floor)."""
    bundle = root / "digitlab"
    (bundle / "_internal" / "digitlab" / "resources").mkdir(parents=True)
    shutil.copy2(shutil.which("true"), bundle / "digitlab")
    (bundle / "_internal" / "digitlab" / "resources" / "note.txt").write_text("stand-in\n")
    return bundle


def dpkg_field(deb: Path, field: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), field], check=True, capture_output=True, text=True
    ).stdout.strip()


needs_dpkg = pytest.mark.skipif(
    not (shutil.which("dpkg-deb") and shutil.which("objdump")), reason="needs dpkg-deb and objdump"
)


@needs_dpkg
def test_make_deb_packs_app_command_menu_entry_and_icons(tmp_path):
    bundle = make_standin_bundle(tmp_path)
    result = subprocess.run(
        [str(PACKAGING / "linux" / "make_deb.sh"), str(bundle), "1.2.0rc1", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    deb = Path(result.stdout.strip())
    assert deb.is_file() and deb.name.startswith("digitlab_1.2.0~rc1_")

    assert dpkg_field(deb, "Package") == "digitlab"
    assert dpkg_field(deb, "Version") == "1.2.0~rc1", "pre-releases must sort before the release"
    depends = dpkg_field(deb, "Depends").split(", ")
    # glibc with the floor read from the bundled binaries, then the one list.
    assert depends[0].startswith("libc6 (>= 2."), "the glibc floor comes from the bundled binaries"
    assert depends[1:] == project_info.system_libraries()
    assert "libglib2.0-0 | libglib2.0-0t64" in depends and "libxcb-cursor0" in depends
    assert int(dpkg_field(deb, "Installed-Size")) > 0

    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], check=True, capture_output=True, text=True
    ).stdout
    entries = {line.split()[5].lstrip("."): line for line in listing.splitlines()}
    assert entries["/opt/digitlab/digitlab"].startswith("-rwxr-xr-x root/root")
    assert "/usr/bin/digitlab -> /opt/digitlab/digitlab" in listing
    assert "/opt/digitlab/_internal/digitlab/resources/note.txt" in entries
    assert "/usr/share/applications/digitlab.desktop" in entries
    assert "/usr/share/icons/hicolor/scalable/apps/digitlab.svg" in entries
    for size in make_icons.PNG_SIZES:
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/digitlab.png" in entries
    assert not any("rw-rw" in line or "rwxrwx" in line for line in entries.values() if not line.startswith("l"))


@needs_dpkg
def test_make_deb_refuses_a_folder_that_is_not_a_build(tmp_path):
    result = subprocess.run(
        [str(PACKAGING / "linux" / "make_deb.sh"), str(tmp_path), "1.0.0", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "not a one-folder build" in result.stderr
    assert not (tmp_path / "out").exists()


def makensis(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["makensis", "-V2", "-WX", *arguments, str(PACKAGING / "windows" / "digitlab.nsi")],
        capture_output=True, text=True,
    )


@pytest.mark.skipif(shutil.which("makensis") is None, reason="NSIS (makensis) not installed")
def test_nsis_installer_compiles_with_a_standin_payload(tmp_path):
    bundle = tmp_path / "digitlab"
    (bundle / "_internal" / "PySide6").mkdir(parents=True)
    for name in ("DigitLab.exe", "digitlab-cli.exe"):
        (bundle / name).write_bytes(b"MZ stand-in for the PyInstaller launcher")
    (bundle / "_internal" / "PySide6" / "Qt6Core.dll").write_bytes(b"MZ stand-in")
    installer = tmp_path / "DigitLab-9.8.7-windows-x64-setup.exe"
    result = makensis(
        "-DVERSION=9.8.7", "-DVERSION4=9.8.7.0", f"-DSOURCE_DIR={bundle}", f"-DOUTFILE={installer}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = installer.read_bytes()
    assert data[:2] == b"MZ"
    assert b"Nullsoft" in data or b"NSIS" in data
    # The version resource carries the product version as UTF-16 text.
    assert "9.8.7".encode("utf-16-le") in data


@pytest.mark.skipif(shutil.which("makensis") is None, reason="NSIS (makensis) not installed")
def test_nsis_script_demands_its_version(tmp_path):
    result = makensis(f"-DSOURCE_DIR={tmp_path}", f"-DOUTFILE={tmp_path / 'x.exe'}")
    assert result.returncode != 0
    assert "/DVERSION=" in result.stdout + result.stderr


def test_release_workflow_builds_all_three_platforms():
    text = (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    for command in (
        "packaging/linux/build.sh",
        "packaging/linux/smoke_test.sh --no-build",
        "packaging\\windows\\build.ps1",
        "packaging/macos/build.sh",
        "gh release create",
    ):
        assert command in text
    import yaml  # in the test extra: without it this test fails, it does not pass quietly

    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the bare key "on" as True
    assert triggers["push"]["tags"] == ["v*"]
    jobs = workflow["jobs"]
    assert {"linux", "windows", "macos", "release"} <= set(jobs)
    assert set(jobs["release"]["needs"]) == {"linux", "windows", "macos"}
    assert jobs["release"]["if"].startswith("startsWith(github.ref, 'refs/tags/v')")


# ---------------------------------------------------------------------------
# The one list of Qt's system libraries; CI's order
# ---------------------------------------------------------------------------

LIST_SCRIPT = PACKAGING / "linux" / "list-system-libraries.sh"


def test_system_library_list_holds_what_qt_loads():
    entries = project_info.system_libraries()
    for needed in ("libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libfontconfig1", "libxcb-icccm4",
                   "libxcb-keysyms1", "libdbus-1-3"):
        assert needed in entries
    assert len(entries) == len(set(entries))
    assert not any(entry.startswith("libc6") for entry in entries), "make_deb.sh adds glibc with its floor"


def test_list_script_prints_plain_first_names():
    result = subprocess.run([str(LIST_SCRIPT)], capture_output=True, text=True, check=True)
    expected = [entry.split("|")[0].split("(")[0].strip() for entry in project_info.system_libraries()]
    assert result.stdout.splitlines() == expected
    assert "libglib2.0-0" in expected and "libstdc++6" in expected


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="needs apt-cache")
def test_list_script_picks_a_name_apt_knows():
    names = subprocess.run([str(LIST_SCRIPT), "--apt"], capture_output=True, text=True, check=True).stdout.split()
    assert len(names) == len(project_info.system_libraries())
    assert any(name.startswith("libglib2.0-0") for name in names)


def test_ci_the_workflow_and_the_readme_use_the_one_list():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "packaging/linux/qt-system-libraries.txt" in readme
    for path in (REPO / ".ci" / "run", REPO / ".github" / "workflows" / "release.yml"):
        text = path.read_text(encoding="utf-8")
        assert "list-system-libraries.sh --apt" in text, path
        assert "libxcb" not in text, f"{path} names Qt libraries itself instead of reading the list"
    assert "libxcb" not in (PACKAGING / "linux" / "make_deb.sh").read_text(encoding="utf-8")
    assert "libxcb" not in (PACKAGING / "linux" / "tarball-README.txt").read_text(encoding="utf-8")


def test_spec_freezes_every_module_of_the_checkout():
    names = project_info.modules()
    files = sorted((REPO / "digitlab").rglob("*.py"))
    assert len(names) == len(files)
    for needed in ("digitlab", "digitlab.cli", "digitlab.core.network", "digitlab.core.lessons",
                   "digitlab.ui.main_window", "digitlab.ui.lessons"):
        assert needed in names
    assert "project_info.modules(REPO)" in (PACKAGING / "digitlab.spec").read_text(encoding="utf-8")


def fake_ci_checkout(root: Path, tests_status: int, smoke_status: int) -> tuple[Path, dict, Path]:
    """A copy of .ci/run beside stand-ins for apt, the venv and the smoke test that log their calls."""
    (root / ".ci").mkdir()
    shutil.copy2(REPO / ".ci" / "run", root / ".ci" / "run")
    (root / "packaging" / "linux").mkdir(parents=True)
    shutil.copy2(LIST_SCRIPT, root / "packaging" / "linux")
    shutil.copy2(PACKAGING / "linux" / "qt-system-libraries.txt", root / "packaging" / "linux")
    log = root / "calls.log"
    stubs = root / "stubs"
    stubs.mkdir()

    def stub(path: Path, body: str, logged: bool = True) -> None:
        record = f"echo \"$(basename \"$0\") $*\" >>{log}\n" if logged else ""
        path.write_text(f"#!/usr/bin/env bash\n{record}{body}\n")
        path.chmod(0o755)

    stub(stubs / "apt-get", "exit 0")
    stub(stubs / "apt-cache", "echo 'Version: 1'", logged=False)
    stub(stubs / "id", "echo 0", logged=False)  # root: the smoke test runs
    stub(stubs / "dpkg-deb", "exit 0")
    venv_bin = root / ".venv" / "bin"
    stub(stubs / "python3", "exit 0")
    venv_bin.mkdir(parents=True)
    stub(venv_bin / "pip", "exit 0")
    stub(venv_bin / "python", f"exit {tests_status}")
    stub(root / "packaging" / "linux" / "smoke_test.sh", f"exit {smoke_status}")
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(root)}
    return root / ".ci" / "run", env, log


@pytest.mark.parametrize(("tests_status", "smoke_status", "ci_fails"),
                         [(0, 0, False), (1, 0, True), (0, 1, True), (2, 1, True)])
def test_ci_runs_the_tests_first_and_fails_if_either_fails(tmp_path, tests_status, smoke_status, ci_fails):
    run, env, log = fake_ci_checkout(tmp_path, tests_status, smoke_status)
    result = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=60)
    assert (result.returncode != 0) is ci_fails, result.stderr
    calls = [line.split()[0] for line in log.read_text().splitlines()]
    # The README's command, in its order, then the smoke test, which runs even after failed tests.
    assert calls[-4:] == ["python3", "pip", "python", "smoke_test.sh"], calls
    pytest_call = log.read_text().splitlines()[-2]
    assert pytest_call == "python -m pytest"
    installed = next(line for line in log.read_text().splitlines() if line.startswith("apt-get install"))
    for library in project_info.system_libraries():
        assert library.split("|")[0].split("(")[0].strip() in installed.split()
    assert "xvfb" in installed.split() and "nsis" in installed.split()

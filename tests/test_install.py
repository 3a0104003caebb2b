"""A built wheel carries the resources, and an installed copy finds them.

In a source checkout resources/ sits beside digitlab/; in a wheel it is
installed as digitlab/resources. This builds the real wheel, installs it into
a fresh folder and runs it from another directory, where the checkout cannot
be found.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest.importorskip("setuptools")


def checkout_modules() -> set[str]:
    """Every module of the package in the checkout, as wheel member names."""
    return {path.relative_to(REPO).as_posix() for path in (REPO / "digitlab").rglob("*.py")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy: pip builds in the source folder, and setuptools'
    # build/lib keeps modules that were moved or deleted since the last build
    # (a stale digitlab/cli.py beside digitlab/cli/ went into the wheel).
    source = tmp_path_factory.mktemp("source") / "digitlab-src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("digitlab-*.whl")
    return built


def test_wheel_contains_the_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ["digitlab/resources/data/images-idx3-ubyte.gz", "digitlab/resources/data/labels-idx1-ubyte.gz",
                   "digitlab/resources/default_model.npz", "digitlab/resources/icons/digitlab.svg",
                   "digitlab/resources/icons/digitlab.ico", "digitlab/resources/digitlab.desktop",
                   "digitlab/core/network.py", "digitlab/ui/main_window.py"]:
        assert needed in names
    assert not any(name.startswith(("tests/", "resources/", "packaging/")) for name in names)


def test_wheel_holds_every_package_and_nothing_stale(wheel):
    """Subpackages are found, not listed: a new folder under digitlab/ ships without an edit."""
    modules = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    assert modules == checkout_modules()
    for package in ("digitlab/core", "digitlab/ui", "digitlab/core/lessons", "digitlab/ui/lessons"):
        assert f"{package}/__init__.py" in modules


# The test venv may hold an editable install of the checkout, whose import
# hook would quietly supply any module the wheel lacks: drop it first.
WITHOUT_EDITABLE_HOOK = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')];"
)


def run_installed(code: str, target: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run Python code against the copy installed in ``target``, from ``cwd``."""
    return subprocess.run([sys.executable, "-c", WITHOUT_EDITABLE_HOOK + code], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_installed_copy_finds_its_resources_from_another_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_installed(
        "import digitlab.paths as p, digitlab.core.datasets as d, digitlab.core.model_io as m;"
        "print(p.resources_dir()); s = d.load_sample(); net, meta = m.load_default_model();"
        "print(len(s.train_labels), net.sizes)",
        target, elsewhere,
    )
    assert result.returncode == 0, result.stderr
    resources_line, counts = result.stdout.splitlines()
    assert Path(resources_line) == target / "digitlab" / "resources"
    assert counts == "9000 (784, 16, 16, 10)"
    # The command's entry point, digitlab.cli:main, and everything it imports came with the wheel.
    version = run_installed(
        "import digitlab.cli as c; print(c.__file__); sys.argv = ['digitlab', '--version']; sys.exit(c.main())",
        target, elsewhere,
    )
    assert version.returncode == 0, version.stderr
    cli_file, reported = version.stdout.splitlines()
    assert Path(cli_file).is_relative_to(target)
    assert reported.split()[-1] == __import__("digitlab").__version__


NOISE_KEYS = {"lesson", "n_noise", "n_digits", "threshold", "noise_confident_share", "digits_confident_share",
              "noise_top_median", "digits_top_median", "favourite_digit"}


def test_installed_copy_runs_the_lessons(wheel, tmp_path):
    """The issue's "done when": `digitlab lesson --list` and `lesson noise --json` from a fresh install."""
    import json

    from digitlab.core.lessons import lesson_names

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    command = "import digitlab.cli as c; sys.argv = ['digitlab', *sys.argv[1:]]; sys.exit(c.main())"

    def digitlab(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", WITHOUT_EDITABLE_HOOK + command, *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120,
                              env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})

    listing = digitlab("lesson", "--list")
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines()] == list(lesson_names())
    noise = digitlab("lesson", "noise", "--json")
    assert noise.returncode == 0, noise.stderr
    result = json.loads(noise.stdout.splitlines()[-1])
    assert set(result) == NOISE_KEYS and result["lesson"] == "noise" and result["threshold"] == 0.5

"""A built wheel carries the resources, and an installed copy finds them.

In a source checkout resources/ sits beside digitlab/; in a wheel it is
installed as digitlab/resources. This builds the real wheel, installs it into
a fresh folder and runs it from another directory, where the checkout cannot
be found.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest.importorskip("setuptools")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("digitlab-*.whl")
    return built


def test_wheel_contains_the_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ["digitlab/resources/data/images-idx3-ubyte.gz", "digitlab/resources/data/labels-idx1-ubyte.gz",
                   "digitlab/resources/default_model.npz", "digitlab/resources/icons/digitlab.svg",
                   "digitlab/core/network.py", "digitlab/ui/main_window.py"]:
        assert needed in names
    assert not any(name.startswith("tests/") for name in names)


def test_installed_copy_finds_its_resources_from_another_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import digitlab.paths as p, digitlab.core.datasets as d, digitlab.core.model_io as m;"
        "print(p.resources_dir()); s = d.load_sample(); net, meta = m.load_default_model();"
        "print(len(s.train_labels), net.sizes)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, capture_output=True, text=True,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 0, result.stderr
    resources_line, counts = result.stdout.splitlines()
    assert Path(resources_line) == target / "digitlab" / "resources"
    assert counts == "9000 (784, 16, 16, 10)"

"""The frozen app can start its training child: freeze_support() comes before anything else."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def main_block(path: Path) -> list[ast.stmt]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'":
            return node.body
        # Nothing of ours may run at import: the spawned child imports the main script too.
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)), f"{path}: {ast.unparse(node)}"
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("digitlab"), f"{path} imports the app before freeze_support"
    pytest.fail(f"{path} has no __main__ block")


@pytest.mark.parametrize("script", ["packaging/pyinstaller/launcher.py", "digitlab/__main__.py"])
def test_freeze_support_is_the_first_thing_the_entry_script_does(script):
    first = main_block(REPO / script)[0]
    assert ast.unparse(first) == "multiprocessing.freeze_support()"


def test_the_linux_smoke_test_trains_in_the_installed_window():
    text = (REPO / "packaging" / "linux" / "smoke_test.sh").read_text(encoding="utf-8")
    assert "DIGITLAB_SMOKE_TRAIN=1" in text and "smoke-train: progress" in text

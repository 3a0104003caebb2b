"""Print facts about the project for the build scripts, without importing it.

    python packaging/project_info.py version        # digitlab.__version__
    python packaging/project_info.py requirements   # runtime deps, one a line

Reads digitlab/__init__.py and pyproject.toml as text, so it runs with any
Python >= 3.11 (tomllib) before anything is installed.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class ProjectInfoError(ValueError):
    """The project files do not hold what the build needs."""


def version(repo: Path = REPO) -> str:
    """``__version__`` from digitlab/__init__.py."""
    path = repo / "digitlab" / "__init__.py"
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            getattr(target, "id", None) == "__version__" for target in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise ProjectInfoError(f"{path}: no __version__ assignment")


def requirements(repo: Path = REPO) -> list[str]:
    """``[project] dependencies`` from pyproject.toml."""
    path = repo / "pyproject.toml"
    with path.open("rb") as handle:
        project = tomllib.load(handle).get("project", {})
    if "dependencies" not in project:
        raise ProjectInfoError(f"{path}: no [project] dependencies")
    return list(project["dependencies"])


def main(argv: list[str]) -> int:
    if argv == ["version"]:
        print(version())
    elif argv == ["requirements"]:
        print("\n".join(requirements()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

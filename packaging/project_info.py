"""Print facts about the project for the build scripts, without importing it.

    python packaging/project_info.py version        # digitlab.__version__
    python packaging/project_info.py requirements   # runtime deps, one a line
    python packaging/project_info.py modules        # every digitlab module, one a line

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


def modules(repo: Path = REPO) -> list[str]:
    """Every module and package under digitlab/, by dotted name, read from the files.

    The frozen app must carry modules it imports only by name at run time
    (the lesson registry, the UI the CLI starts lazily). Reading the source
    tree needs no import of the app, unlike PyInstaller's
    ``collect_submodules``, which imports it and returns nothing (with a
    warning only) when the build venv cannot.
    """
    package = repo / "digitlab"
    if not (package / "__init__.py").is_file():
        raise ProjectInfoError(f"{package}: not a package (no __init__.py)")
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(repo).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        # A folder without __init__.py (a stray data folder) is no package.
        if all((repo.joinpath(*parts[:depth]) / "__init__.py").is_file() for depth in range(1, len(parts))):
            names.append(".".join(parts))
    return names


def system_libraries(repo: Path = REPO) -> list[str]:
    """Qt's system libraries, one Debian package (or "a | b" alternatives) per entry.

    The one list, in packaging/linux/qt-system-libraries.txt: .ci/run installs
    them, make_deb.sh declares them as Depends, the README points at it.
    """
    path = repo / "packaging" / "linux" / "qt-system-libraries.txt"
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.append(line)
    if not entries:
        raise ProjectInfoError(f"{path}: no libraries listed")
    return entries


def main(argv: list[str]) -> int:
    if argv == ["version"]:
        print(version())
    elif argv == ["requirements"]:
        print("\n".join(requirements()))
    elif argv == ["modules"]:
        print("\n".join(modules()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

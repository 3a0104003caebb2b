"""Where DigitLab finds its bundled resources and keeps per-user data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding the bundled data sample, default model and icons.

    Installed from a wheel it is ``digitlab/resources``; in a source checkout
    it is the repository's top-level ``resources/``; in a PyInstaller build it
    sits under ``sys._MEIPASS``.
    """
    candidates = [_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.insert(0, Path(frozen_root) / "digitlab" / "resources")
    for candidate in candidates:
        if (candidate / "data").is_dir():
            return candidate
    raise FileNotFoundError(
        "DigitLab's resources folder is missing; looked in: "
        + ", ".join(str(c) for c in candidates)
    )


def resource(name: str) -> Path:
    """Path of one bundled resource file, e.g. ``resource("default_model.npz")``."""
    return resources_dir() / name


def user_data_dir() -> Path:
    """Per-user folder for downloaded data (the full MNIST); not created here.

    ``DIGITLAB_DATA_DIR`` overrides it (tests point it at a temporary folder).
    """
    override = os.environ.get("DIGITLAB_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "DigitLab"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "DigitLab"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "digitlab"

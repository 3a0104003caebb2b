"""DigitLab's settings: every key, its type and its default in one table.

Read with :func:`read`, which passes the default's type to
``QSettings.value(key, default, type=...)`` (as MNELAB's settings module
does), so an ini file on any platform gives back an ``int`` for an ``int``
and a ``QByteArray`` for the window geometry. Tests point the settings at an
ini file through the ``DIGITLAB_SETTINGS_PATH`` environment variable.

The training panel's choices live in the ``training/`` group: their types are
in :data:`TRAINING_TYPES`; their defaults are the panel's own.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_ENV = "DIGITLAB_SETTINGS_PATH"
TRAINING_GROUP = "training"

#: Every top-level key with its default (whose type is the key's type).
DEFAULTS: dict[str, object] = {
    "geometry": QByteArray(),  # the window's size and place (saveGeometry)
    "window_state": QByteArray(),  # docks and toolbar (saveState)
    "brush_size": 20.0,  # canvas pixels
    "chart_mode": "softmax",  # the output chart's view of softmax networks: "raw" or "softmax"
    "unsure_threshold": 0.5,  # the output chart says "I don't know" below this top output
    "last_dir": str(Path.home()),  # where file dialogs open
    "start_here_shown": False,  # Help > Start here was offered on the first start
}

#: Types of the training panel's keys (``TrainingPanel.config_dict``); keys
#: not listed here are read as strings.
TRAINING_TYPES: dict[str, type] = {
    "hidden": str,
    "activation": str,
    "cost": str,
    "learning_rate": float,
    "batch_size": int,
    "epochs": int,
    "momentum": float,
    "weight_decay": float,
    "seed": int,
    "data": str,
    "train_size": int,
    "shuffle_labels": bool,
    "augment": bool,
    "continue_training": bool,
}


def open_settings() -> QSettings:
    """DigitLab's QSettings; ``DIGITLAB_SETTINGS_PATH`` points them at an ini file (tests)."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("DigitLab", "DigitLab")


def read(settings: QSettings, key: str):
    """The value of ``key``, of its default's type; the default when missing or unreadable."""
    default = DEFAULTS[key]
    try:
        value = settings.value(key, default, type=type(default))
    except (TypeError, ValueError):  # a hand-edited file with a value of the wrong kind
        return default
    return default if value is None else value


def write(settings: QSettings, **values) -> None:
    """Store values of known keys (a typo is an error, not a silently new key)."""
    for key, value in values.items():
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        settings.setValue(key, value)


def read_training(settings: QSettings) -> dict:
    """The remembered training panel choices (only those stored), typed."""
    settings.beginGroup(TRAINING_GROUP)
    try:
        values = {}
        for key in settings.childKeys():
            kind = TRAINING_TYPES.get(key, str)
            try:
                values[key] = settings.value(key, type=kind)
            except (TypeError, ValueError):
                continue  # unreadable: the panel keeps its default
        return values
    finally:
        settings.endGroup()


def write_training(settings: QSettings, values: dict) -> None:
    """Replace the remembered training panel choices."""
    settings.beginGroup(TRAINING_GROUP)
    try:
        settings.remove("")
        for key, value in values.items():
            settings.setValue(key, value)
    finally:
        settings.endGroup()

"""The settings module: one table of typed defaults, read back with their types."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QSettings

from digitlab.ui import settings


@pytest.fixture
def ini(tmp_path):
    return tmp_path / "settings.ini"


def reopen(path):
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_missing_keys_give_the_defaults_of_their_type(ini):
    stored = reopen(ini)
    for key, default in settings.DEFAULTS.items():
        value = settings.read(stored, key)
        assert type(value) is type(default) and value == default, key
    assert isinstance(settings.read(stored, "geometry"), QByteArray)


def test_values_come_back_typed_from_an_ini_file(ini):
    first = reopen(ini)
    settings.write(first, brush_size=31.0, chart_mode="raw", geometry=QByteArray(b"\x01\x02"))
    first.sync()
    second = reopen(ini)
    assert settings.read(second, "brush_size") == 31.0 and type(settings.read(second, "brush_size")) is float
    assert settings.read(second, "chart_mode") == "raw"
    assert settings.read(second, "geometry") == QByteArray(b"\x01\x02")


def test_unknown_keys_are_refused(ini):
    with pytest.raises(KeyError, match="last_model_path"):
        settings.write(reopen(ini), last_model_path="/tmp/m.npz")


def test_training_choices_round_trip_with_their_types(ini):
    first = reopen(ini)
    settings.write_training(first, {"epochs": 3, "learning_rate": 0.5, "augment": True, "hidden": "24",
                                    "something_new": "x"})
    first.sync()
    values = settings.read_training(reopen(ini))
    assert values == {"epochs": 3, "learning_rate": 0.5, "augment": True, "hidden": "24", "something_new": "x"}
    assert type(values["epochs"]) is int and type(values["augment"]) is bool
    settings.write_training(first, {"epochs": 4})  # replaces the group
    first.sync()
    assert settings.read_training(reopen(ini)) == {"epochs": 4}


def test_open_settings_follows_the_environment(ini, monkeypatch):
    monkeypatch.setenv(settings.SETTINGS_ENV, str(ini))
    opened = settings.open_settings()
    assert opened.fileName() == str(ini) and opened.format() == QSettings.Format.IniFormat


def test_the_unsure_threshold_defaults_to_the_charts_and_comes_back_a_float(ini):
    from digitlab.ui.output_chart import DEFAULT_THRESHOLD

    assert settings.read(reopen(ini), "unsure_threshold") == DEFAULT_THRESHOLD
    first = reopen(ini)
    settings.write(first, unsure_threshold=0.35)
    first.sync()
    value = settings.read(reopen(ini), "unsure_threshold")
    assert type(value) is float and value == 0.35

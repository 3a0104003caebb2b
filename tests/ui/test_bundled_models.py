"""File > Bundled models: both shipped networks, the one shown checked, "Reload the shipped model", --model bigger."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from digitlab.core import model_io
from digitlab.ui.model_files import initial_model

REPO = Path(__file__).resolve().parents[2]


def _checked(window):
    return [name for name, action in window.bundled_actions.items() if action.isChecked()]


def test_the_menu_offers_both_bundled_models_and_the_reload(open_window):
    window = open_window()
    texts = [action.text() for action in window.bundled_menu.actions() if not action.isSeparator()]
    assert set(window.bundled_actions) == set(model_io.BUNDLED_MODELS) == {"default", "bigger"}
    assert "Reload the shipped model" in [t.replace("&", "") for t in texts]
    assert any("784-16-16-10" in t for t in texts)
    assert window.bundled_menu in [a.menu() for a in window.menuBar().actions()[0].menu().actions()]
    assert _checked(window) == ["default"]  # the window opens with the shipped default


def test_choosing_bigger_shows_it_and_moves_the_check(open_window):
    window = open_window()
    expected, _ = model_io.load_bundled_model("bigger")
    window.bundled_actions["bigger"].trigger()
    assert window.display.sizes == expected.sizes != (784, 16, 16, 10)
    np.testing.assert_array_equal(window.display.weights[0], expected.weights[0])
    assert _checked(window) == ["bigger"]
    assert "bigger model" in window.model_label.text()
    assert window.model_path() is None  # Save asks for a file: the shipped one is never written
    # The training panel takes its architecture, so Start builds a network of that shape.
    assert window.training_panel.architecture()[0] == expected.sizes
    window.bundled_actions["default"].trigger()
    assert window.display.sizes == (784, 16, 16, 10) and _checked(window) == ["default"]


def test_reload_brings_back_the_shipped_weights_after_training(qtbot, open_window):
    window = open_window()
    shipped, _ = model_io.load_default_model()
    panel = window.training_panel
    panel.continue_check.setChecked(True)  # train the shipped model itself
    panel.train_size_spin.setValue(200)
    panel.epochs_spin.setValue(1)
    panel.learning_rate_spin.setValue(50.0)
    with qtbot.waitSignal(panel.runEnded, timeout=30_000):
        panel.start()
    assert not np.array_equal(window.display.weights[0], shipped.weights[0])
    assert _checked(window) == []  # trained: no longer the shipped model
    window.reload_shipped_action.trigger()
    np.testing.assert_array_equal(window.display.weights[0], shipped.weights[0])
    assert _checked(window) == ["default"] and not window.is_dirty()


def test_a_refused_switch_keeps_the_model_and_its_check(open_window):
    window = open_window()
    window.files.worth_keeping = lambda: True  # as after a good run
    window.ask_save_changes = lambda: "cancel"
    window.bundled_actions["bigger"].trigger()
    assert window.display.sizes == (784, 16, 16, 10)
    assert _checked(window) == ["default"]


def test_initial_model_resolves_bundled_names_before_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bigger").write_bytes(b"not a model")  # a file of that name loses to the bundled model
    network, metadata, path, problem = initial_model("bigger")
    assert problem == "" and path is None
    assert network.sizes == model_io.load_bundled_model("bigger")[0].sizes
    assert metadata["bundled"] == "bigger" and metadata["name"] == "bigger model"
    _network, _metadata, _path, problem = initial_model("./bigger")  # a path names the file
    assert problem and "\n" not in problem


def test_the_window_checks_the_model_it_was_opened_with(open_window):
    network, metadata, path, _ = initial_model("bigger")
    window = open_window(network, metadata, path)
    assert _checked(window) == ["bigger"] and window.display.sizes == network.sizes


@pytest.mark.parametrize("name", ["bigger"])
def test_digitlab_model_bigger_opens_the_window_with_it(tmp_path, name):
    code = textwrap.dedent(
        """
        import sys
        from digitlab.ui import main_window
        from digitlab.ui.app import run_app

        class Reporting(main_window.MainWindow):
            def showEvent(self, event):
                super().showEvent(event)
                print("shown", self.session.bundled, "-".join(map(str, self.display.sizes)), flush=True)

            def show_error(self, title, text):
                print("error", title, text, flush=True)

        main_window.MainWindow = Reporting
        sys.exit(run_app(["--model", sys.argv[1]]))
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITLAB_QUIT_AFTER_MS="500",
               DIGITLAB_SETTINGS_PATH=str(tmp_path / "settings.ini"), DIGITLAB_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code, name], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    sizes = "-".join(map(str, model_io.load_bundled_model(name)[0].sizes))
    assert f"shown {name} {sizes}" in result.stdout
    assert "error" not in result.stdout

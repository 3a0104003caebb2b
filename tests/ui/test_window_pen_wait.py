"""While training, the curves and the network views wait for the pen, and come as it lifts (issue 8)."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from digitlab.ui import pen_wait

NO_MOD = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


def test_a_stroke_holds_trainings_redraws_until_the_pen_lifts(qtbot, open_window, monkeypatch):
    # Held updates look again only every 5 s here: what comes sooner came because the pen lifted.
    monkeypatch.setattr(pen_wait, "CHECK_MS", 5000)
    window = open_window()
    panel, curves = window.training_panel, window.training_panel.curves
    panel.epochs_spin.setValue(1000)  # runs until stopped
    notified = []
    window.session.networkChanged.connect(lambda *args: notified.append(1))
    assert panel.start()
    qtbot.waitUntil(lambda: curves.batches() > 0, timeout=15_000)

    QTest.mousePress(window.canvas, LEFT, NO_MOD, QPoint(100, 60))
    QTest.mouseMove(window.canvas, QPoint(110, 120))
    qtbot.wait(50)  # whatever was due when the pen came down has run
    redraws, batches, views = curves.redraws, curves.batches(), len(notified)
    qtbot.waitUntil(lambda: curves.batches() > batches + 1000, timeout=5_000)  # records keep arriving ...
    qtbot.wait(300)
    assert curves.redraws == redraws and curves.refresh_pending()  # ... but nothing is redrawn
    assert len(notified) == views

    QTest.mouseRelease(window.canvas, LEFT, NO_MOD, QPoint(120, 180))
    # As the pen lifts the held redraws come, well before the longest hold.
    qtbot.waitUntil(lambda: curves.redraws > redraws and len(notified) > views, timeout=1000)
    panel.stop()

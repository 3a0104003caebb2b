"""The learning-curves widget draws a core History; it keeps no numbers of its own."""

import numpy as np
import pytest
from PySide6.QtGui import QImage

from digitlab.core.history import PLOT_BUCKETS, History
from digitlab.ui.widgets import learning_curves
from digitlab.ui.widgets.learning_curves import CURVE_REFRESH_MS, LearningCurves


def epoch(n, train_accuracy, val_accuracy):
    return {"epoch": n, "train_loss": 0.5, "train_accuracy": train_accuracy, "val_loss": 0.6,
            "val_accuracy": val_accuracy}


@pytest.fixture
def history():
    h = History()
    h.add_losses(np.linspace(1.0, 0.1, 40))
    h.add_epoch(epoch(1, 0.8, 0.75))
    h.add_losses(np.linspace(0.1, 0.05, 40))
    h.add_epoch(epoch(2, 0.9, 0.85))
    return h


@pytest.fixture
def curves(qtbot, history):
    widget = LearningCurves(history)
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    return widget


def test_shows_the_history_it_is_given(curves, history):
    curves.refresh()
    shown = curves.shown_data()
    np.testing.assert_array_equal(shown["raw"][0], history.batch_numbers())
    np.testing.assert_array_equal(shown["raw"][1], history.losses())
    np.testing.assert_allclose(shown["smoothed"][1], history.smoothed_losses())
    np.testing.assert_array_equal(shown["training"][0], [1, 2])
    np.testing.assert_allclose(shown["training"][1], [80, 90])  # percent
    np.testing.assert_allclose(shown["validation"][1], [75, 85])


def test_items_are_updated_in_place(curves, history):
    curves.refresh()
    items = list(curves._loss_plot.listDataItems()) + list(curves._accuracy_plot.listDataItems())
    history.add_losses(np.full(5, 0.2))
    curves.refresh()
    assert list(curves._loss_plot.listDataItems()) + list(curves._accuracy_plot.listDataItems()) == items
    assert len(curves.shown_data()["raw"][1]) == 85


def test_requests_are_throttled_and_the_latest_data_is_shown(qtbot, curves, history):
    curves.refresh()
    before = curves.redraws
    for _ in range(100):  # a fast run asks after every record
        history.add_losses(np.array([0.3]))
        curves.request_refresh()
    # Right after a redraw none is due: one waits for its turn, whatever the number of requests.
    assert curves.redraws == before
    assert curves.refresh_pending()
    qtbot.waitUntil(lambda: not curves.refresh_pending(), timeout=5 * CURVE_REFRESH_MS)
    assert curves.redraws == before + 1
    assert len(curves.shown_data()["raw"][1]) == history.batches == 180


def test_a_request_long_after_the_last_redraw_draws_at_once(qtbot, curves, history):
    curves.throttle.interval_ms = 0
    before = curves.redraws
    history.add_losses(np.array([0.3]))
    curves.request_refresh()
    assert curves.redraws == before + 1 and not curves.refresh_pending()


def test_a_million_batches_are_drawn_as_a_few_thousand_points_with_every_spike(curves):
    # Issue 8: a run at batch 10 records 15,000 losses a second; every redraw
    # handed all of them to the plot and grew slower the longer the run went.
    history = History()
    losses = np.full(1_000_000, 0.1)
    losses[123_456] = 0.9  # one bad batch: the decimated curve must still show it
    losses[654_321] = 0.01
    for start in range(0, len(losses), 50_000):
        part = losses[start : start + 50_000]
        history.add_losses(part, grad_norms=part, step_norms=part / 2)
    curves.set_history(history)
    shown = curves.shown_data()
    for name in ("raw", "smoothed", "grad_norm", "step_norm"):
        x, y = shown[name]
        assert 1000 < len(y) <= 2 * PLOT_BUCKETS + 2, name
        assert x[0] >= 1 and x[-1] <= 1_000_000
    assert shown["raw"][1].max() == 0.9 and shown["raw"][1].min() == 0.01
    assert curves._loss_plot.viewRange()[0][1] >= 1_000_000  # the axis spans every batch


def test_a_diverged_loss_does_not_break_the_drawing(curves, history):
    history.add_losses(np.array([np.inf, np.nan]))
    curves.refresh()
    top = curves._loss_plot.viewRange()[1][1]
    assert np.isfinite(top) and 1.0 <= top < 1.2  # from the finite losses, the largest 1.0


def test_empty_and_replaced_histories(curves):
    empty = History()
    curves.set_history(empty)
    assert curves.source is empty
    assert all(len(x) == 0 for x, _ in curves.shown_data().values())
    assert curves.batches() == 0 and curves.epochs() == 0


def test_history_conveniences_read_the_core_history(curves, history, tmp_path):
    assert curves.batches() == 80 and curves.epochs() == 2
    table = curves.history()
    np.testing.assert_array_equal(table["loss"], history.losses())
    assert list(table["epoch"]) == [1, 2]
    curves.export_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text(encoding="utf-8") == history.to_csv()


def test_export_png(curves, tmp_path):
    path = tmp_path / "curves.png"
    curves.export_png(path)
    image = QImage(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.width() > 100 and image.height() > 100


def test_the_gradient_and_step_plot_shows_what_the_history_holds(curves, history):
    grads = np.geomspace(2.0, 0.02, 30)  # the slope flattens ...
    steps = 0.5 * grads  # ... and the steps shrink with it
    grads[3] = np.nan  # unknown: left out of a log plot
    history.add_losses(np.full(30, 0.04), grad_norms=grads, step_norms=steps)
    curves.refresh()
    shown = curves.shown_data()
    known = np.isfinite(history.grad_norms())
    np.testing.assert_array_equal(shown["grad_norm"][0], history.batch_numbers()[known])
    np.testing.assert_array_equal(shown["grad_norm"][1], history.grad_norms()[known])
    known = np.isfinite(history.step_norms())
    assert known.sum() == 30  # the first 80 batches came without lengths
    np.testing.assert_array_equal(shown["step_norm"][0], history.batch_numbers()[known])
    np.testing.assert_array_equal(shown["step_norm"][1], history.step_norms()[known])
    plot = curves._norm_plot
    assert plot.getAxis("left").logMode  # decades: a shrinking step stays visible
    low, high = plot.viewRange()[1]
    assert low <= np.log10(steps.min()) and high >= np.log10(grads[0])  # the whole curve is in view
    np.testing.assert_array_equal(curves.history()["grad_norm"], history.grad_norms())
    history.add_losses([0.03], grad_norms=[0.01], step_norms=[0.005])
    item = curves._grad_item
    curves.request_refresh()  # updated in place: the same item, new data
    curves.refresh()
    assert curves._grad_item is item and curves.shown_data()["grad_norm"][1][-1] == 0.01


def test_the_legends_sit_in_the_titles_above_the_data_in_the_curves_colours(curves):
    # Issue 12: legend boxes inside the plots covered the curves (the gradient lengths most of all).
    import pyqtgraph as pg

    curves.refresh()
    assert not [item for item in curves.plots.scene().items() if isinstance(item, pg.LegendItem)]
    keyed = {
        curves._loss_plot: {"raw": None, "smoothed": curves._smoothed_item},
        curves._accuracy_plot: {"training": curves._train_item, "validation": curves._val_item},
        curves._norm_plot: {"|gradient|": curves._grad_item, "|step|": curves._step_item},
    }
    for plot, entries in keyed.items():
        title = plot.titleLabel.text
        for name, item in entries.items():
            assert f"</span>&nbsp;{name}" in title
            if item is not None:  # the key's square has the curve's colour
                assert learning_curves.curve_key(item.opts["pen"].color(), name) in title
        title_box = plot.titleLabel.mapRectToScene(plot.titleLabel.boundingRect())
        data_box = plot.getViewBox().mapRectToScene(plot.getViewBox().boundingRect())
        assert title_box.bottom() <= data_box.top() + 1  # above the data, not over it


def test_value_labels_keep_apart_on_a_short_plot(qtbot, curves):
    # In the dock at 1366x768 a plot is some 60 px high; pyqtgraph put six loss labels there, overlapping.
    curves.resize(491, 200)
    curves.refresh()
    qtbot.waitUntil(lambda: curves._loss_plot.getViewBox().height() < 80)
    for plot in (curves._loss_plot, curves._accuracy_plot):
        axis = plot.getAxis("left")
        low, high = plot.viewRange()[1]
        pixels = plot.getViewBox().height()
        (major, majors), *_ = axis.tickValues(low, high, pixels)
        assert len(majors) >= 1
        assert major * pixels / (high - low) >= learning_curves.MIN_LABEL_GAP
    curves.resize(900, 700)  # room enough: the usual ticks, several labels
    qtbot.waitUntil(lambda: curves._loss_plot.getViewBox().height() > 250)
    low, high = curves._loss_plot.viewRange()[1]
    (_, majors), *_ = curves._loss_plot.getAxis("left").tickValues(low, high, curves._loss_plot.getViewBox().height())
    assert len(majors) >= 3


def test_the_batch_axes_end_at_round_numbers_and_change_now_and_then(curves, history):
    assert [learning_curves.axis_end(n) for n in (0, 10, 11, 101, 45_000, 1_000_000)] == [
        10, 10, 12, 120, 50_000, 1_000_000]
    ends = {learning_curves.axis_end(n) for n in range(1, 100_001)}
    assert len(ends) <= 45  # 100,000 batches, under fifty changes of the axis
    # At most a quarter of the axis is empty (2,000 for 1,501 batches).
    assert all(learning_curves.axis_end(n) <= 4 / 3 * max(n, 10) + 1e-9 for n in range(1, 100_001, 7))
    history.add_losses([0.05])
    curves.refresh()
    assert curves._loss_plot.viewRange()[0][1] == pytest.approx(100, rel=0.03)  # 81 batches: the axis ends at 100

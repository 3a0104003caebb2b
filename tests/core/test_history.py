"""Training history: smoothing by hand, the CSV format, JSON-safe rows, the one metadata schema."""

import csv
import io
import json
import math

import numpy as np
import pytest

from digitlab.core import model_io
from digitlab.core.fileio import FileProblem
from digitlab.core.history import EMA_BETA, SMOOTHING_WINDOW, History, model_metadata, smooth
from digitlab.core.network import Network
from digitlab.core.training import TrainingConfig

NAN = float("nan")


def stats(epoch, train_loss=0.25, train_accuracy=0.5, val_loss=0.75, val_accuracy=0.25):
    return {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
            "val_loss": val_loss, "val_accuracy": val_accuracy, "seconds": 1.5}


def test_smoothing_by_hand():
    b = EMA_BETA
    assert b == pytest.approx(0.98) and SMOOTHING_WINDOW == 50
    x = [1.0, 0.5, 0.2]
    # s_t = m_t / (1 - b^t), m_t = b m_{t-1} + (1 - b) x_t, m_0 = 0.
    m1 = (1 - b) * x[0]
    m2 = b * m1 + (1 - b) * x[1]
    m3 = b * m2 + (1 - b) * x[2]
    expected = [m1 / (1 - b), m2 / (1 - b**2), m3 / (1 - b**3)]
    np.testing.assert_allclose(smooth(x, 50), expected, rtol=1e-15)
    assert expected[0] == pytest.approx(1.0)  # bias correction: starts at the first value
    assert expected[1] == pytest.approx((b * 1.0 + 0.5) / (1 + b))
    np.testing.assert_array_equal(smooth(x, 1), x)
    np.testing.assert_allclose(smooth(np.full(200, 0.3), 10), 0.3, rtol=1e-12)
    with pytest.raises(ValueError):
        smooth(x, 0)


def test_history_smooths_across_additions_like_smooth_does():
    rng = np.random.default_rng(0)
    losses = rng.random(3000)
    h = History()
    for chunk in np.array_split(losses, 7):  # records bring losses in pieces
        h.add_losses(chunk)
    h.add_losses([])
    assert h.batches == 3000
    np.testing.assert_array_equal(h.losses(), losses)
    np.testing.assert_allclose(h.smoothed_losses(), smooth(losses, SMOOTHING_WINDOW), rtol=1e-12)
    np.testing.assert_array_equal(h.batch_numbers(), np.arange(1, 3001))


def test_returned_arrays_are_copies():
    h = History()
    h.add_losses([1.0, 2.0])
    shown = h.losses()
    h.clear()
    h.add_losses([5.0, 6.0])
    np.testing.assert_array_equal(shown, [1.0, 2.0])  # a plot holding it is not changed under it


def test_epochs_table_rows_and_clear():
    h = History()
    h.add_losses([1.0, 0.5])
    h.add_epoch(stats(1))
    h.add_losses([0.4])
    h.add_epoch(stats(2, val_loss=NAN, val_accuracy=NAN))  # no validation data
    assert h.epochs == 2
    table = h.epoch_table()
    np.testing.assert_array_equal(table["epoch"], [1, 2])
    np.testing.assert_array_equal(table["batch"], [2, 3])
    assert table["epoch"].dtype == np.int64 and table["val_loss"].dtype == np.float64
    assert math.isnan(table["val_loss"][1])
    rows = h.epoch_rows()
    assert rows[1] == {"epoch": 2, "batch": 3, "train_loss": 0.25, "train_accuracy": 0.5,
                       "val_loss": None, "val_accuracy": None}
    json.dumps(rows, allow_nan=False)
    with pytest.raises(ValueError, match="val_accuracy"):
        h.add_epoch({"epoch": 3, "train_loss": 1, "train_accuracy": 1, "val_loss": 1})
    h.clear()
    assert h.batches == h.epochs == 0 and h.epoch_rows() == []
    h.add_losses([2.0])
    assert h.smoothed_losses()[0] == 2.0  # the average started again


def test_csv_format_is_exactly_the_window_export():
    h = History()
    h.add_losses([1.0, 0.5], grad_norms=[2.5, 0.125], step_norms=[7.5, 0.375])
    h.add_epoch(stats(1))
    h.add_losses([NAN])  # a record without norms: they are unknown
    # The first eight columns are those of the old format: new ones only come at the end.
    expected = (
        "batch,loss,smoothed_loss,epoch,train_loss,train_accuracy,val_loss,val_accuracy,grad_norm,step_norm\n"
        "1,1.0,1.0,,,,,,2.5,7.5\n"
        # (0.98 * 1.0 + 0.5) / 1.98, as the moving average's float arithmetic rounds it
        "2,0.5,0.7474747474747466,1,0.25,0.5,0.75,0.25,0.125,0.375\n"
        "3,nan,nan,,,,,,nan,nan\n"
    )
    assert h.to_csv() == expected
    old_reader_view = [line.split(",")[:8] for line in expected.splitlines()]
    assert old_reader_view[0] == "batch,loss,smoothed_loss,epoch,train_loss,train_accuracy,val_loss,val_accuracy".split(",")
    assert old_reader_view[2] == "2,0.5,0.7474747474747466,1,0.25,0.5,0.75,0.25".split(",")


def test_gradient_and_step_lengths_are_kept_per_batch_beside_the_losses():
    h = History()
    h.add_losses([1.0, 0.9], grad_norms=[3.0, 2.0], step_norms=[0.3, 0.2])
    h.add_losses([0.8])
    np.testing.assert_array_equal(h.grad_norms(), [3.0, 2.0, NAN])
    np.testing.assert_array_equal(h.step_norms(), [0.3, 0.2, NAN])
    copy = h.grad_norms()
    copy[0] = 99.0
    assert h.grad_norms()[0] == 3.0  # copies, not views
    with pytest.raises(ValueError, match="norms"):
        h.add_losses([1.0, 2.0], grad_norms=[1.0])
    assert h.batches == 3  # a refused call adds nothing
    h.clear()
    assert len(h.grad_norms()) == len(h.step_norms()) == 0


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    h = History()
    h.add_losses(rng.random(25), rng.random(25), rng.random(25))
    h.add_epoch(stats(1, train_loss=float(rng.random())))
    h.add_losses(rng.random(5), rng.random(5), rng.random(5))
    path = tmp_path / "history.csv"
    h.write_csv(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == 30
    np.testing.assert_array_equal([float(r["loss"]) for r in rows], h.losses())  # repr: exact
    np.testing.assert_array_equal([float(r["smoothed_loss"]) for r in rows], h.smoothed_losses())
    np.testing.assert_array_equal([float(r["grad_norm"]) for r in rows], h.grad_norms())
    np.testing.assert_array_equal([float(r["step_norm"]) for r in rows], h.step_norms())
    ended = [r for r in rows if r["epoch"]]
    assert [int(r["batch"]) for r in ended] == [25]
    assert float(ended[0]["train_loss"]) == h.epoch_table()["train_loss"][0]


def test_write_csv_refuses_with_a_file_problem_and_keeps_the_old_file(tmp_path):
    with pytest.raises(FileProblem, match="cannot write"):
        History().write_csv(tmp_path / "no such folder" / "h.csv")
    path = tmp_path / "h.csv"
    path.write_text("old", encoding="utf-8")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(FileProblem):
        History().write_csv(folder)
    assert path.read_text(encoding="utf-8") == "old"


def test_model_metadata_is_one_json_safe_schema_loadable_through_model_io(tmp_path):
    config = TrainingConfig(learning_rate=0.5, batch_size=32, epochs=2, seed=3, augment=True)
    net = Network.create((784, 6, 11), "relu", "cross_entropy", rng=np.random.default_rng(0))
    h = History()
    h.add_losses([1.0, 0.5])
    h.add_epoch(stats(1))
    h.add_epoch(stats(2, val_loss=NAN, val_accuracy=NAN))
    meta = model_metadata(data="sample", train_examples=9000, config=config, history_rows=h.epoch_rows(),
                          made_by="DigitLab window", name="mine", network=net)
    assert set(meta) == {"name", "data", "train_examples", "epochs", "train_loss", "train_accuracy", "val_loss",
                         "val_accuracy", "hyperparameters", "architecture", "history", "made_by"}
    assert meta["epochs"] == 2 and meta["val_loss"] is None and meta["train_accuracy"] == 0.5
    assert meta["hyperparameters"] == {"learning_rate": 0.5, "batch_size": 32, "epochs": 2, "momentum": 0.0,
                                       "weight_decay": 0.0, "seed": 3, "train_size": None,
                                       "shuffle_labels": False, "augment": True, "dropout": 0.0,
                                       "none_class": None}
    assert meta["architecture"] == {"sizes": [784, 6, 11], "outputs": 11, "activation": "relu",
                                    "cost": "cross_entropy"}
    json.dumps(meta, allow_nan=False)

    # The command line passes EpochStats.as_dict() rows (with NaN, and "seconds") and a TrainingConfig;
    # the window may pass its form's settings: both give the same keys.
    cli = model_metadata(data="mnist", train_examples=60000, config=config,
                         history_rows=[stats(1, val_loss=NAN)], made_by="digitlab train")
    window = model_metadata(data="mnist", train_examples=60000, config={**vars(config), "hidden": "16"},
                            history_rows=[stats(1, val_loss=NAN)], made_by="digitlab train")
    assert cli == window and set(cli) == set(meta)
    assert cli["history"] == [{"epoch": 1, "batch": None, "seconds": 1.5, "train_loss": 0.25, "train_accuracy": 0.5,
                               "val_loss": None, "val_accuracy": 0.25}]
    assert meta["history"][1] == {"epoch": 2, "batch": 2, "seconds": None, "train_loss": 0.25,
                                  "train_accuracy": 0.5, "val_loss": None, "val_accuracy": None}
    assert cli["name"] is None and cli["architecture"] is None

    path = tmp_path / "m.npz"
    model_io.save_model(path, net, meta)
    _, loaded = model_io.load_model(path)
    assert {key: loaded[key] for key in meta} == meta


def test_model_metadata_without_epochs():
    meta = model_metadata(data="sample", train_examples=0, config=TrainingConfig(), history_rows=[],
                          made_by="x")
    assert meta["epochs"] == 0 and meta["train_loss"] is None and meta["history"] == []
    with pytest.raises(TypeError):
        model_metadata(data="sample", train_examples=0, config=3, history_rows=[], made_by="x")

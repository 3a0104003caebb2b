"""`digitlab train`: JSON and text output, saved models and their metadata, divergence, Ctrl+C, data folders."""

from __future__ import annotations

import numpy as np

from digitlab.cli import common as cli_common
from digitlab.cli import train as cli_train
from digitlab.core.datasets import load_sample
from digitlab.core.model_io import load_model, save_model
from digitlab.core.network import Network
from tests.test_cli import (  # noqa: F401 (fixtures: private_data_dir is autouse, digit_pngs is asked for)
    _write_mnist_dir,
    assert_one_line_error,
    digit_pngs,
    json_lines,
    private_data_dir,
    run,
)


def test_train_json_and_save(capsys, tmp_path):
    out_path = tmp_path / "trained.npz"
    status, out, err = run(
        capsys, "train", "--train-size", "500", "--epochs", "2", "--layers", "784,12,10",
        "--seed", "3", "--json", "--out", str(out_path),
    )
    assert status == 0, err
    epochs = json_lines(out)
    assert [e["epoch"] for e in epochs] == [1, 2]
    for epoch in epochs:
        assert set(epoch) == {"epoch", "seconds", "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
        assert 0 <= epoch["val_accuracy"] <= 1 and epoch["train_loss"] > 0
    assert epochs[1]["train_loss"] < epochs[0]["train_loss"]
    network, meta = load_model(out_path)
    assert network.sizes == (784, 12, 10)
    assert meta["data"] == "sample" and meta["train_examples"] == 500 and meta["epochs"] == 2
    assert meta["hyperparameters"]["learning_rate"] == 3.0 and meta["hyperparameters"]["seed"] == 3
    assert meta["val_accuracy"] == epochs[1]["val_accuracy"]
    assert [h["train_loss"] for h in meta["history"]] == [e["train_loss"] for e in epochs]
    assert "saved the model" in err


def test_train_is_repeatable_and_text_output(capsys, tmp_path):
    args = ["train", "--train-size", "300", "--epochs", "1", "--cost", "cross_entropy",
            "--activation", "relu", "--batch-size", "20", "--momentum", "0.5", "--seed", "7"]
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    status, out, err = run(capsys, *args, "--out", str(first))
    assert status == 0, err
    assert "learning rate 0.2" in out  # the cross-entropy default
    assert "epoch 1/1" in out and "final validation accuracy:" in out
    assert run(capsys, *args, "--out", str(second))[0] == 0
    a, meta = load_model(first)
    b, _ = load_model(second)
    assert (a.activation, a.cost) == ("relu", "cross_entropy")
    assert meta["hyperparameters"]["momentum"] == 0.5
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_train_with_dropout_is_seeded_and_kept_in_the_metadata(capsys, tmp_path):
    args = ["train", "--train-size", "300", "--epochs", "1", "--layers", "784,20,10", "--seed", "2"]
    paths = [tmp_path / name for name in ("a.npz", "b.npz", "plain.npz")]
    for path, extra in zip(paths, (["--dropout", "0.3"], ["--dropout", "0.3"], [])):
        status, _, err = run(capsys, *args, *extra, "--out", str(path))
        assert status == 0, err
    (a, meta), (b, _), (plain, plain_meta) = (load_model(p) for p in paths)
    assert meta["hyperparameters"]["dropout"] == 0.3 and plain_meta["hyperparameters"]["dropout"] == 0.0
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert not np.array_equal(a.parameters, plain.parameters)


def test_train_divergence_saves_nothing(capsys, tmp_path):
    out_path = tmp_path / "never.npz"
    status, out, err = run(
        capsys, "train", "--train-size", "200", "--epochs", "2", "--activation", "relu",
        "--lr", "1e6", "--out", str(out_path),
    )
    assert status == 1
    assert_one_line_error(err.strip().splitlines()[-1], "diverged", "Nothing was saved")
    assert not out_path.exists()


def test_train_says_once_when_the_neurons_saturate(capsys):
    status, out, err = run(capsys, "train", "--train-size", "500", "--epochs", "2", "--lr", "100")
    assert status == 0, err
    warnings = [line for line in err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "saturated" in warnings[0] and "learning rate 100" in warnings[0]
    status, out, err = run(capsys, "train", "--train-size", "500", "--epochs", "2", "--lr", "3")
    assert status == 0 and "warning:" not in err


def test_train_refuses_a_missing_output_folder_before_training(capsys, tmp_path):
    status, out, err = run(capsys, "train", "--epochs", "1", "--out", str(tmp_path / "no" / "m.npz"))
    assert status == 1 and out == ""  # not even the "training ..." line: it stopped before starting
    assert_one_line_error(err, "folder does not exist")


def test_train_ctrl_c_saves_nothing(capsys, tmp_path, monkeypatch):
    out_path = tmp_path / "m.npz"
    original = cli_train._report_epoch

    def press_ctrl_c_after_first_epoch(stats, epochs, as_json):
        original(stats, epochs, as_json)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "_report_epoch", press_ctrl_c_after_first_epoch)
    status, out, err = run(capsys, "train", "--train-size", "200", "--epochs", "3", "--out", str(out_path))
    assert status == 130
    assert "epoch 1/3" in out and "epoch 2/3" not in out
    assert err.strip() == "digitlab: training interrupted; nothing was saved"
    assert not out_path.exists()


def test_model_option_before_the_command(capsys, digit_pngs, tmp_path):
    network = Network.create((784, 10), rng=np.random.default_rng(0))
    network.weights[0][:] = 0
    network.biases[0][:] = -5
    network.biases[0][5] = 5
    path = tmp_path / "fives.npz"
    save_model(path, network)
    status, out, _ = run(capsys, "--model", str(path), "predict", "--json", str(digit_pngs[0]))
    assert status == 0 and json_lines(out)[0]["digit"] == 5
    status, _, err = run(capsys, "--model", str(path), "train")
    assert status == 2
    assert_one_line_error(err, "train command takes no --model")


def test_train_full_mnist_not_downloaded(capsys):
    status, out, err = run(capsys, "train", "--data", "mnist", "--epochs", "1")
    assert status == 1
    assert_one_line_error(err, "digitlab download")


def test_train_on_a_folder(capsys, tmp_path):
    split = load_sample()
    folder = _write_mnist_dir(tmp_path / "mine", "train", split.train_images[:240], split.train_labels[:240])
    status, out, err = run(capsys, "train", "--data", str(folder), "--epochs", "1", "--json")
    assert status == 0, err
    assert "200 training and 40 validation digits" in err  # a sixth held out
    assert json_lines(out)[0]["epoch"] == 1


def test_train_progress_line_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(cli_common, "is_terminal", lambda stream: True)
    monkeypatch.setattr(cli_common, "PROGRESS_INTERVAL", 0.0)
    status, out, err = run(capsys, "train", "--train-size", "300", "--epochs", "1")
    assert status == 0
    assert "\repoch 1/1  batch " in err and " loss " in err
    assert err.endswith("\r")  # the line is cleared, not left behind


def test_train_none_class_is_kept_in_the_metadata_and_changes_the_network(capsys, tmp_path):
    args = ["train", "--train-size", "300", "--epochs", "1", "--layers", "784,20,11", "--seed", "1"]
    paths = {name: tmp_path / f"{name}.npz" for name in ("plain", "exposure", "eleventh")}
    for name, path in paths.items():
        extra = [] if name == "plain" else ["--none-class", name]
        status, _, err = run(capsys, *args, *extra, "--out", str(path))
        assert status == 0, err
    loaded = {name: load_model(path) for name, path in paths.items()}
    assert [meta["hyperparameters"]["none_class"] for _, meta in loaded.values()] == [None, "exposure", "eleventh"]
    plain, exposure, eleventh = (net.parameters for net, _ in loaded.values())
    assert not np.array_equal(plain, exposure) and not np.array_equal(exposure, eleventh)


def test_train_none_class_errors_are_one_line(capsys, tmp_path):
    status, out, err = run(capsys, "train", "--epochs", "1", "--none-class", "eleventh")
    assert status == 1 and out == ""
    assert_one_line_error(err, "--none-class", "11 outputs")
    status, _, err = run(capsys, "train", "--epochs", "1", "--none-class", "maybe")
    assert status != 0 and "invalid choice" in err and len(err.strip().splitlines()) <= 3

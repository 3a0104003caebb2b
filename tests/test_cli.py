"""The ``digitlab`` command, run in-process through ``main([...])`` on real files and servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab import __version__, cli
from digitlab.core.datasets import load_sample, write_idx
from digitlab.core.drawing import draw_digit
from digitlab.core.model_io import load_default_model, save_model
from digitlab.core.network import Network
from digitlab.imageio import write_png

REPO_ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``digitlab ARGS`` in-process: exit status, stdout, stderr."""
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("digitlab: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.strip().splitlines()]


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """No test sees (or writes to) the user's real DigitLab data folder."""
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "user-data"))


@pytest.fixture
def digit_pngs(tmp_path):
    """Drawn digits as PNG files: white on black and dark ink on white paper."""
    paths = {}
    for digit in (0, 7):
        image = draw_digit(digit, size=280, width=22)
        paths[digit] = tmp_path / f"digit{digit}.png"
        write_png(paths[digit], image)
    paths["paper7"] = tmp_path / "paper7.png"
    write_png(paths["paper7"], 1.0 - draw_digit(7, size=200, width=16))
    return paths


# ------------------------------------------------------------------ subprocesses


def _subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_python_m_digitlab_version():
    result = subprocess.run(
        [sys.executable, "-m", "digitlab", "--version"],
        cwd=REPO_ROOT, env=_subprocess_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"digitlab {__version__}"


def test_core_and_cli_import_no_qt():
    code = (
        "import pkgutil, importlib, sys\n"
        "import digitlab.core as core\n"
        "names = [m.name for m in pkgutil.iter_modules(core.__path__)]\n"
        "for name in names: importlib.import_module('digitlab.core.' + name)\n"
        "import digitlab.cli, digitlab.bench\n"
        "assert {'network', 'training', 'datasets', 'model_io', 'preprocess', 'drawing'} <= set(names), names\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "assert not qt, qt\n"
        "print(len(names))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT, env=_subprocess_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 6


# -------------------------------------------------------------- basic behaviour


def test_version_in_process(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"digitlab {__version__}"


def test_help_lists_commands(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("predict", "evaluate", "train", "download", "bench"):
        assert command in out


def test_blas_limited_to_one_thread():
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "1"


def test_missing_std_streams_are_replaced(capsys, monkeypatch):
    # Windowed builds start with no console at all.
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    assert cli.main(["--version"]) == 0
    assert sys.stdout is not None and sys.stderr is not None


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["frobnicate"], ["invalid choice", "frobnicate"]),
        (["train", "--epochs", "0"], ["--epochs", "at least 1"]),
        (["train", "--epochs", "many"], ["--epochs", "whole number"]),
        (["train", "--lr", "-1"], ["--lr"]),
        (["train", "--lr", "nan"], ["--lr"]),
        (["train", "--momentum", "1"], ["--momentum"]),
        (["train", "--dropout", "1"], ["--dropout", "[0, 1)"]),
        (["train", "--dropout", "-0.1"], ["--dropout"]),
        (["train", "--layers", "784,16,9"], ["--layers", "output layer must have 10"]),
        (["train", "--layers", "784,x,10"], ["--layers", "whole numbers"]),
        (["train", "--activation", "softplus"], ["--activation"]),
        (["train", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["predict"], ["IMAGE"]),
    ],
)
def test_bad_arguments_give_one_line_errors(capsys, args, fragments):
    status, out, err = run(capsys, *args)
    assert status == 2
    assert out == ""
    assert_one_line_error(err, *fragments)


def test_gui_with_missing_model_fails_before_starting_qt(capsys, tmp_path):
    status, _, err = run(capsys, "--model", str(tmp_path / "nope.npz"))
    assert status == 1
    assert_one_line_error(err, "nope.npz", "no such model file")


def test_no_command_opens_the_window_with_the_given_model(qapp, capsys, monkeypatch, tmp_path, recorded_windows):
    monkeypatch.setenv("DIGITLAB_SETTINGS_PATH", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("DIGITLAB_QUIT_AFTER_MS", "100")
    network = Network.create((784, 12, 10), rng=np.random.default_rng(4))
    path = tmp_path / "small.npz"
    save_model(path, network)
    status, _, err = run(capsys, "--model", str(path))
    assert status == 0, err
    (window,) = recorded_windows
    assert window.model_path() == path and window.errors == []


# ---------------------------------------------------------------------- predict


def test_predict_text(capsys, digit_pngs):
    status, out, err = run(capsys, "predict", str(digit_pngs[0]), str(digit_pngs[7]), str(digit_pngs["paper7"]))
    assert status == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 3
    for line, path, digit in zip(lines, (digit_pngs[0], digit_pngs[7], digit_pngs["paper7"]), (0, 7, 7)):
        assert line.startswith(f"{path}: {digit} (")
        assert len(line.split("  ")) == 11  # the answer, then the ten outputs "d:value"


def test_predict_json_matches_the_network(capsys, digit_pngs):
    from digitlab.core.preprocess import prepare
    from digitlab.imageio import read_image

    status, out, err = run(capsys, "predict", "--json", str(digit_pngs[7]))
    assert status == 0, err
    (record,) = json_lines(out)
    assert record["path"] == str(digit_pngs[7]) and record["digit"] == 7
    network, _ = load_default_model()
    expected = network.predict(prepare(read_image(digit_pngs[7])))
    np.testing.assert_allclose(record["probabilities"], expected, atol=1e-6)
    assert len(record["probabilities"]) == 10


def test_predict_failures(capsys, digit_pngs, tmp_path):
    text_file = tmp_path / "notes.png"
    text_file.write_text("not a picture\n")
    blank = tmp_path / "blank.png"
    write_png(blank, np.zeros((100, 100), dtype=np.uint8))
    missing = tmp_path / "missing.png"
    args = [str(digit_pngs[7]), str(text_file), str(blank), str(missing)]

    status, out, err = run(capsys, "predict", "--json", *args)
    assert status == 1
    records = json_lines(out)
    assert [r["path"] for r in records] == args
    assert records[0]["digit"] == 7
    assert "not an image" in records[1]["error"]
    assert records[2]["error"] == "empty image: no ink found"
    assert "error" in records[3] and "digit" not in records[3]

    status, out, err = run(capsys, "predict", *args)
    assert status == 1
    assert len(out.strip().splitlines()) == 1  # only the good image
    errors = err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("digitlab: error: ") for line in errors)
    assert "empty image: no ink found" in errors[1]


def test_predict_with_bad_model(capsys, digit_pngs, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    status, out, err = run(capsys, "predict", "--model", str(bad), str(digit_pngs[7]))
    assert status == 1 and out == ""
    assert_one_line_error(err, "bad.npz", "not a DigitLab model")


def test_predict_with_given_model(capsys, digit_pngs, tmp_path):
    # A network whose output 3 always wins: the command must use this model.
    network = Network.create((784, 10), rng=np.random.default_rng(0))
    network.weights[0][:] = 0
    network.biases[0][:] = -5
    network.biases[0][3] = 5
    path = tmp_path / "threes.npz"
    save_model(path, network)
    status, out, _ = run(capsys, "predict", "--json", "--model", str(path), str(digit_pngs[0]))
    assert status == 0
    assert json_lines(out)[0]["digit"] == 3


# --------------------------------------------------------------------- evaluate


def _write_mnist_dir(folder: Path, prefix: str, images, labels, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


def _expected_confusion(images, labels):
    network, _ = load_default_model()
    predicted = network.predict(images.reshape(len(images), -1) / np.float32(255)).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    return confusion


def test_evaluate_tiny_idx_folder(capsys, tmp_path):
    split = load_sample()
    images, labels = split.val_images[:60], split.val_labels[:60]
    folder = _write_mnist_dir(tmp_path / "tiny", "t10k", images, labels, gz=False)
    # A train pair is present too: the t10k pair must be the one evaluated.
    _write_mnist_dir(folder, "train", split.train_images[:5], split.train_labels[:5])
    status, out, err = run(capsys, "evaluate", "--data", str(folder), "--json")
    assert status == 0, err
    (result,) = json_lines(out)
    expected = _expected_confusion(images, labels)
    assert result["n"] == 60
    assert result["confusion"] == expected.tolist()
    assert result["accuracy"] == pytest.approx(np.trace(expected) / 60)


def test_evaluate_falls_back_to_train_pair_and_prints_a_table(capsys, tmp_path):
    split = load_sample()
    images, labels = split.val_images[100:130], split.val_labels[100:130]
    folder = _write_mnist_dir(tmp_path / "trainonly", "train", images, labels)
    status, out, err = run(capsys, "evaluate", "--data", str(folder))
    assert status == 0, err
    expected = _expected_confusion(images, labels)
    assert f"({np.trace(expected)} of 30 right)" in out
    table = out.split("confusion matrix")[1].strip().splitlines()[2:]
    assert [[int(v) for v in line.split()[1:]] for line in table] == expected.tolist()


def test_evaluate_default_is_sample_validation(capsys):
    status, out, err = run(capsys, "evaluate", "--json")
    assert status == 0, err
    result = json_lines(out)[0]
    assert result["n"] == 1000
    assert sum(map(sum, result["confusion"])) == 1000
    assert result["accuracy"] > 0.85


def test_evaluate_official_test_set(capsys, official_test_dir):
    status, out, err = run(capsys, "evaluate", "--data", str(official_test_dir), "--json")
    assert status == 0, err
    result = json_lines(out)[0]
    assert result["n"] == 10_000
    assert result["accuracy"] >= 0.92


def _check_mistakes(mistakes, images, labels, first_index=0):
    """Each mistake is a real wrong answer of the shipped model at its index in the file."""
    network, _ = load_default_model()
    outputs = network.predict(images.reshape(len(images), -1) / np.float32(255))
    wrong = outputs.argmax(axis=1) != labels
    for m in mistakes:
        assert set(m) == {"index", "label", "predicted", "confidence"}
        row = m["index"] - first_index
        assert wrong[row] and m["label"] == labels[row] and m["predicted"] == outputs[row].argmax()
        assert m["confidence"] == pytest.approx(float(outputs[row].max()), rel=1e-6)
    confidences = [m["confidence"] for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    # Nothing left out was more confidently wrong than the last one listed.
    assert np.sum(outputs.max(axis=1)[wrong] > confidences[-1]) <= len(mistakes) - 1


def test_evaluate_mistakes_index_the_idx_file(capsys, tmp_path):
    split = load_sample()
    images, labels = split.val_images[:400], split.val_labels[:400]
    folder = _write_mnist_dir(tmp_path / "t", "t10k", images, labels, gz=False)
    status, out, err = run(capsys, "evaluate", "--data", str(folder), "--json", "--mistakes", "4")
    assert status == 0, err
    (result,) = json_lines(out)
    assert len(result["mistakes"]) == 4
    _check_mistakes(result["mistakes"], images, labels)


def test_evaluate_mistakes_on_the_sample_count_from_the_start_of_its_file(capsys):
    status, out, err = run(capsys, "evaluate", "--json", "--mistakes", "3")
    assert status == 0, err
    (result,) = json_lines(out)
    split = load_sample()
    assert all(9000 <= m["index"] < 10_000 for m in result["mistakes"])
    file_images = np.concatenate([split.train_images, split.val_images])
    file_labels = np.concatenate([split.train_labels, split.val_labels])
    _check_mistakes(result["mistakes"], file_images[9000:], file_labels[9000:], first_index=9000)
    assert "mistakes" not in json_lines(run(capsys, "evaluate", "--json")[1])[0]


def test_evaluate_mistakes_as_text(capsys):
    status, out, err = run(capsys, "evaluate", "--mistakes", "2")
    assert status == 0, err
    table = out.split("most confidently wrong")[1].strip().splitlines()
    assert table[0].startswith("(2 of ") and table[0].endswith(" mistakes)")
    assert table[1].split() == ["index", "true", "answer", "output"]
    assert len(table) == 4  # two rows
    index, label, answer, output = table[2].split()
    assert 9000 <= int(index) < 10_000 and label != answer and 0 < float(output) <= 1


@pytest.mark.parametrize("data, fragment", [("mnist", "digitlab download"), ("{tmp}/empty", "no MNIST files"),
                                            ("{tmp}/nowhere", "no such folder")])
def test_evaluate_bad_data(capsys, tmp_path, data, fragment):
    (tmp_path / "empty").mkdir()
    status, out, err = run(capsys, "evaluate", "--data", data.format(tmp=tmp_path))
    assert status == 1 and out == ""
    assert_one_line_error(err, fragment)


@pytest.mark.parametrize("argv", [
    ["--model", "", "predict", "x.png"],
    ["train", "--out", "", "--epochs", "1"],
    ["download", "--dest", ""],
])
def test_an_empty_path_is_an_error_not_a_silent_default(argv, capsys):
    # --model "", --out "" and --dest "" used to fall back to the defaults without a word.
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "empty" in err[0].lower(), err

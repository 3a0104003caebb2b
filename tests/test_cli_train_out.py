"""`digitlab train --out` never loses a run (issue 13, item 12), and ``--epochs`` has a ceiling (item 16).

The folder is checked before training; a save that fails at the end goes to
a fallback file whose path is printed. Real failures throughout: a folder the
child may not write to, a folder removed while training runs, a full disk (a
tiny tmpfs, where mounting is allowed).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from digitlab.cli import build_parser
from digitlab.cli import train as cli_train
from digitlab.cli.common import CommandError
from digitlab.core.model_io import load_model
from digitlab.core.network import Network
from tests.test_cli import assert_one_line_error, json_lines, private_data_dir, run  # noqa: F401 (autouse fixture)
from tests.unprivileged import REPO_ROOT, child_env, unprivileged_prefix

# Small and quick: about 0.05 s per epoch.
QUICK = ("--train-size", "500", "--layers", "784,12,10")


def train_child(*args: str, prefix: tuple[str, ...] = (), data_dir: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "digitlab", "train", *args],
        cwd=REPO_ROOT, env=child_env(DIGITLAB_DATA_DIR=str(data_dir)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen,
    )


def fallback_from(err: str) -> Path:
    """The path the one-line error says the model was saved to instead."""
    assert_one_line_error(err, "could not save the model there", "instead")
    return Path(err.split("; saved it to ", 1)[1].rsplit(" instead", 1)[0])


# ---------------------------------------------------------------- --epochs


def test_epochs_has_an_upper_bound(capsys):
    status, out, err = run(capsys, "train", "--epochs", "10001")
    assert status == 2 and out == ""
    assert_one_line_error(err, "--epochs", "must be at most 10,000, got 10,001")
    assert build_parser().parse_args(["train", "--epochs", "10000"]).epochs == cli_train.MAX_EPOCHS == 10_000


# ------------------------------------------------------------ up-front checks


def test_out_naming_a_folder_is_refused_before_training(capsys, tmp_path):
    status, out, err = run(capsys, "train", "--epochs", "1", "--out", str(tmp_path))
    assert status == 1 and out == ""
    assert_one_line_error(err, "is a folder", "model.npz")


def test_an_unwritable_folder_is_refused_before_training(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        child = train_child("--epochs", "5", *QUICK, "--out", str(locked / "m.npz"),
                            prefix=tuple(unprivileged_prefix()), data_dir=tmp_path / "data")
        out, err = child.communicate(timeout=120)
    finally:
        locked.chmod(0o700)
    assert child.returncode == 1
    assert out == ""  # not even the "training ..." line
    assert_one_line_error(err, f"{locked / 'm.npz'}: cannot save there", "cannot create files there (permission denied)")
    assert list(locked.iterdir()) == []


# -------------------------------------------------------------- fallbacks


def test_a_folder_removed_during_training_saves_to_the_fallback(tmp_path):
    out_folder = tmp_path / "results"
    out_folder.mkdir()
    child = train_child("--epochs", "25", *QUICK, "--json", "--out", str(out_folder / "run.npz"),
                        data_dir=tmp_path / "data")
    first = child.stdout.readline()
    assert '"epoch": 1' in first, child.stderr.read()
    shutil.rmtree(out_folder)  # the folder checked at the start is gone when the run ends
    rest, err = child.communicate(timeout=300)
    assert child.returncode == 1
    assert [row["epoch"] for row in json_lines(first + rest)] == list(range(1, 26))  # trained to the end
    assert "no such file or folder" in err
    assert err.startswith("training 784-12-10")  # with --json the "training ..." line goes to stderr
    fallback = fallback_from(err.splitlines()[-1])
    assert fallback.parent == tmp_path / "data" / "unsaved-models"
    assert fallback.name.startswith("run-") and fallback.suffix == ".npz"
    network, meta = load_model(fallback)
    assert network.sizes == (784, 12, 10) and meta["epochs"] == 25
    assert not out_folder.exists()


def test_a_full_disk_saves_to_the_fallback(tmp_path):
    # A private mount namespace: the 16 KB tmpfs vanishes with the child, whatever happens.
    unshare = shutil.which("unshare")
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    probe = unshare and subprocess.run(
        [unshare, "-m", "sh", "-c", 'mount -t tmpfs -o size=16k tmpfs "$1"', "sh", str(mount_point)],
        capture_output=True,
    )
    if not probe or probe.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs unshare and mount rights)")
    script = 'mount -t tmpfs -o size=16k tmpfs "$1" && shift && exec "$@"'
    child = train_child(
        "--epochs", "2", *QUICK, "--out", str(mount_point / "m.npz"), data_dir=tmp_path / "data",
        prefix=(unshare, "-m", "sh", "-c", script, "sh", str(mount_point)),
    )
    out, err = child.communicate(timeout=300)
    assert child.returncode == 1, err
    assert "epoch 2/2" in out
    assert "no space left on the device" in err
    fallback = fallback_from(err)
    assert fallback.parent == tmp_path / "data" / "unsaved-models"
    assert load_model(fallback)[0].sizes == (784, 12, 10)


def test_save_run_tries_each_fallback_and_says_when_all_fail(tmp_path, monkeypatch):
    network = Network.create((784, 8, 10), rng=np.random.default_rng(0))
    missing = tmp_path / "gone" / "m.npz"
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(not_a_folder / "data"))
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    with pytest.raises(CommandError) as info:
        cli_train._save_run(str(missing), network, {}, io.StringIO())
    message = str(info.value)
    assert message.startswith(f"{missing}: could not save the model (cannot write: no such file or folder), nor to ")
    assert message.count("nor to ") == 2 and "a part of the path is not a folder" in message
    assert f"{not_a_folder}/digitlab-unsaved-m-" in message and "(already exists)" in message
    assert message.endswith("the trained network is lost")
    assert "Errno" not in message

    # The system's temp folder is the last resort.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-temp-folder"))
    (tmp_path / "no-temp-folder").mkdir()
    shown = io.StringIO()
    assert cli_train._save_run(str(missing), network, {}, shown) == 1
    [saved] = (tmp_path / "no-temp-folder").iterdir()
    assert saved.name.startswith("digitlab-unsaved-m-") and load_model(saved)[0].sizes == (784, 8, 10)

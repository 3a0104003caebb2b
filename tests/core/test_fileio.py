"""Saving files (issue 13, items 9-11 and 16): stale temp files, write-only folders, modes, links, plain words."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab.core import fileio
from digitlab.core.fileio import (
    STALE_TEMP_AGE,
    FileProblem,
    atomic_output,
    check_folder_writable,
    describe_os_error,
    plain_reason,
    remove_stale_temp_files,
    write_bytes_atomically,
)
from digitlab.core.model_io import ModelFileError, load_model, save_model
from digitlab.core.network import Network
from tests.unprivileged import REPO_ROOT, child_env, run_python

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, signals and links")


def make_network(seed: int = 0) -> Network:
    return Network.create((784, 8, 10), "sigmoid", "mse", rng=np.random.default_rng(seed))


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------ plain words


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "permission denied"),
        (errno.EEXIST, "already exists"),
        (errno.ENOSPC, "no space left on the device"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOENT, "no such file or folder"),
    ],
)
def test_os_errors_are_told_in_plain_words(code, words):
    err = OSError(code, os.strerror(code), "/data/m.npz")
    assert "[Errno" in str(err)  # what used to reach the user
    assert plain_reason(err) == words
    assert describe_os_error(err) == f"/data/m.npz: {words}"


def test_unlisted_and_bare_os_errors_never_show_an_errno_code():
    assert plain_reason(OSError(errno.ECONNRESET, "Connection reset by peer")) == "connection reset by peer"
    assert plain_reason(OSError("[Errno 99] something odd")) == "something odd"
    assert plain_reason(OSError()) == "OSError"
    assert describe_os_error(OSError(errno.EXDEV, "x", "a", None, "b")) == (
        "a -> b: cannot move a file to another file system"
    )


def test_save_errors_say_permission_denied_in_words(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ModelFileError) as info:
        save_model(tmp_path / "m.npz", make_network())
    assert str(info.value).endswith("m.npz: cannot write: permission denied")
    assert "Errno" not in str(info.value)


# ------------------------------------------------------ stale temp files (9)

# Child: starts a real save, reports, and waits inside it until killed.
_SAVE_AND_HANG = """
import sys, time
from digitlab.core.fileio import atomic_output
with atomic_output(sys.argv[1]) as stream:
    stream.write(b"half of a model" * 1000)
    stream.flush()
    print("writing", flush=True)
    time.sleep(600)
"""


def _start_hanging_save(target: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVE_AND_HANG, str(target)],
        cwd=REPO_ROOT, env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline().strip() == "writing"
    return child


def _kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)  # reaped: a zombie would still count as alive
    child.stdout.close()


@posix_only
def test_kill_9_mid_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "model.npz"
    save_model(target, make_network(seed=1))
    before = target.read_bytes()
    killed = _start_hanging_save(target)
    _kill(killed)
    leftover = temp_files(tmp_path)
    assert len(leftover) == 1 and leftover[0].startswith(".model.npz.")
    assert target.read_bytes() == before  # the old model is whole

    save_model(tmp_path / "other.npz", make_network(seed=2))  # any save to the folder cleans up
    assert temp_files(tmp_path) == []
    assert target.read_bytes() == before
    load_model(tmp_path / "other.npz")


@posix_only
def test_cleanup_spares_live_writers_and_anything_not_ours(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "precious.txt"
    precious.write_text("keep me")
    folder = tmp_path / "models"
    folder.mkdir()
    live = _start_hanging_save(folder / "live.npz")
    try:
        [live_temp] = temp_files(folder)
        # Killed after the live writer started: its save must spare the live one's file.
        dead = _start_hanging_save(folder / "dead.npz")
        _kill(dead)
        [dead_temp] = [name for name in temp_files(folder) if name != live_temp]
        # Named like the dead writer's temp file, but a link, a folder, or not quite our pattern.
        suffix = dead_temp.split(".dead.npz.", 1)[1]
        (folder / f".link.{suffix}").symlink_to(precious)
        (folder / f".folder.{suffix}").mkdir()
        not_ours = [".notes.tmp", f".x.{suffix}.bak", f"x.{suffix}", ".young-old-style.0123456789ab.tmp"]
        for name in not_ours:
            (folder / name).write_text("not ours to remove")
        old_style = folder / ".old-style.npz.abcdef012345.tmp"
        old_style.write_text("left by an old version long ago")
        long_ago = time.time() - STALE_TEMP_AGE - 60
        os.utime(old_style, (long_ago, long_ago))

        removed = remove_stale_temp_files(folder)

        assert sorted(p.name for p in removed) == sorted([dead_temp, old_style.name])
        remaining = {p.name for p in folder.iterdir()}
        assert live_temp in remaining and set(not_ours) <= remaining
        assert {f".link.{suffix}", f".folder.{suffix}"} <= remaining
        assert precious.read_text() == "keep me"
    finally:
        _kill(live)
    assert live_temp in {p.name for p in remove_stale_temp_files(folder)}  # now its writer is gone


def test_temp_names_carry_host_and_pid_and_fit_long_names(tmp_path):
    target = tmp_path / ("n" * 240 + ".npz")
    with atomic_output(target) as stream:
        [name] = temp_files(tmp_path)
        match = fileio._TEMP_NAME.fullmatch(name)
        assert match and int(match["pid"]) == os.getpid() and match["host"] == fileio._HOST_TAG
        assert len(name) < 255
        assert remove_stale_temp_files(tmp_path) == []  # our own live temp file stays
        stream.write(b"x")
    assert target.read_bytes() == b"x"


# --------------------------------------------------- write-only folder (10)


@posix_only
def test_saving_into_a_write_only_folder_succeeds_and_says_so(tmp_path):
    # Owner bits -wx: files can be created and renamed, the folder not listed
    # or opened for reading (as in a 0o733 drop box one does not own).
    drop = tmp_path / "drop"
    drop.mkdir()
    drop.chmod(0o300)
    try:
        code = (
            "import sys, numpy as np\n"
            "from digitlab.core.network import Network\n"
            "from digitlab.core.model_io import save_model\n"
            "save_model(sys.argv[1], Network.create((784, 8, 10), rng=np.random.default_rng(0)))\n"
            "print('saved')\n"
        )
        result = run_python(code, str(drop / "m.npz"), unprivileged=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "saved" and result.stderr == ""
    finally:
        drop.chmod(0o700)
    load_model(drop / "m.npz")
    assert temp_files(drop) == []


@posix_only
def test_the_folder_probe_tells_writable_from_not(tmp_path):
    check_folder_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []  # the probe file is gone again
    with pytest.raises(FileProblem, match="cannot create files there .no such file or folder.$"):
        check_folder_writable(tmp_path / "missing")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = (
            "import sys\n"
            "from digitlab.core.fileio import FileProblem, check_folder_writable\n"
            "try:\n"
            "    check_folder_writable(sys.argv[1])\n"
            "except FileProblem as err:\n"
            "    print(err)\n"
        )
        result = run_python(code, str(locked), unprivileged=True)
    finally:
        locked.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{locked}: cannot create files there (permission denied)"


# ------------------------------------------------------ modes and links (11)


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_saving_over_a_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "private.npz"
    save_model(path, make_network(seed=1))
    path.chmod(mode)
    save_model(path, make_network(seed=2))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    np.testing.assert_array_equal(load_model(path)[0].weights[0], make_network(seed=2).weights[0])


@posix_only
def test_saving_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    target = real_folder / "model.npz"
    save_model(target, make_network(seed=1))
    target.chmod(0o600)
    links = tmp_path / "links"
    links.mkdir()
    link = links / "current.npz"
    link.symlink_to(os.path.relpath(target, links))

    save_model(link, make_network(seed=2))

    assert link.is_symlink() and link.resolve() == target.resolve()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    np.testing.assert_array_equal(load_model(target)[0].weights[0], make_network(seed=2).weights[0])
    assert [p.name for p in links.iterdir()] == ["current.npz"]
    assert [p.name for p in real_folder.iterdir()] == ["model.npz"]


@posix_only
def test_a_dangling_link_gets_its_target_and_a_loop_is_one_error(tmp_path):
    dangling = tmp_path / "dangling.png"
    dangling.symlink_to("made-by-the-save.png")
    write_bytes_atomically(dangling, b"picture")
    assert dangling.is_symlink() and (tmp_path / "made-by-the-save.png").read_bytes() == b"picture"

    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(ModelFileError) as info:
        save_model(tmp_path / "a", make_network())
    assert str(info.value) == f"{tmp_path / 'a'}: cannot write: too many levels of symbolic links"
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def test_error_text_gives_os_errors_in_plain_words_and_others_as_they_are():
    from digitlab.core.fileio import error_text

    assert error_text(PermissionError(13, "Permission denied", "/x/m.npz")) == "/x/m.npz: permission denied"
    assert "Errno" not in error_text(FileExistsError(17, "File exists"))
    assert error_text(ValueError("m.npz: not a model file")) == "m.npz: not a model file"

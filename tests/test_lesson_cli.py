"""``digitlab lesson``, run as a real child process, and the lesson registry."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab.core import lessons
from digitlab.core.lessons import base
from digitlab.core.model_io import save_model
from digitlab.core.network import Network
from digitlab.paths import resource

REPO_ROOT = Path(__file__).resolve().parent.parent
NOISE_KEYS = {"lesson", "n_noise", "n_digits", "threshold", "noise_confident_share", "digits_confident_share",
              "noise_top_median", "digits_top_median", "favourite_digit"}


def child_env(**changes) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("DIGITLAB_DEBUG", None)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def digitlab(*args: str, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *args], cwd=REPO_ROOT, env=env or child_env(),
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("digitlab: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# ------------------------------------------------------------------ registry


def test_every_registered_lesson_has_the_interface():
    assert "noise" in lessons.LESSON_MODULES
    assert lessons.lesson_names() == lessons.LESSON_MODULES
    for name in lessons.lesson_names():
        module = lessons.get_lesson(name)
        assert base.missing_attributes(module) == [], name
        assert module.NAME == name
        assert module.CLAIM and "\n" not in module.CLAIM
        assert isinstance(module.USES_MODEL, bool)


def test_unknown_lesson_names_the_lessons():
    with pytest.raises(ValueError, match="unknown lesson 'nope'; the lessons are: noise"):
        lessons.get_lesson("nope")


def test_json_safe_turns_numpy_and_nan_into_json():
    value = {"a": np.float32(0.5), "b": np.array([1, 2]), "c": (np.int64(3), float("nan")), "d": [float("inf")]}
    assert base.json_safe(value) == {"a": 0.5, "b": [1, 2], "c": [3, None], "d": [None]}
    json.dumps(base.json_safe(value), allow_nan=False)
    with pytest.raises(TypeError):
        base.json_safe(object())


def test_check_cancel_and_report():
    base.check_cancel(None)
    base.check_cancel(lambda: False)
    with pytest.raises(base.LessonCancelled):
        base.check_cancel(lambda: True)
    seen = []
    base.report(lambda f, m: seen.append((f, m)), 1.5, "x")
    base.report(None, 0.5)
    assert seen == [(1.0, "x")]


# ----------------------------------------------------------------------- CLI


def test_list_prints_each_lesson_with_its_claim():
    result = digitlab("lesson", "--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(lessons.LESSON_MODULES)
    for line, name in zip(lines, lessons.LESSON_MODULES):
        assert line.split()[0] == name
        assert line.split(None, 1)[1] == lessons.get_lesson(name).CLAIM


def test_noise_json_has_exactly_the_issue_keys_on_the_last_line():
    result = digitlab("lesson", "noise", "--json", "--quick", "--seed", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(data) == NOISE_KEYS
    assert data["lesson"] == "noise" and data["threshold"] == 0.5
    assert data["n_noise"] == 200 and data["n_digits"] == 200
    assert 0 <= data["noise_confident_share"] <= 1 and data["digits_confident_share"] > 0.8
    assert set(data["favourite_digit"]) == {"digit", "share"}
    # The same seed gives the same numbers.
    again = digitlab("lesson", "noise", "--json", "--quick", "--seed", "3")
    assert json.loads(again.stdout.strip().splitlines()[-1]) == data


def test_noise_text_and_a_given_model(tmp_path):
    network = Network.create((784, 10), rng=np.random.default_rng(0))
    network.weights[0][:] = 0
    network.biases[0][:] = -6
    network.biases[0][4] = 6
    path = tmp_path / "fours.npz"
    save_model(path, network)
    result = digitlab("--model", str(path), "lesson", "noise", "--samples", "50")
    assert result.returncode == 0, result.stderr
    assert "for 100% of them" in result.stdout and "the digit 4, 100%" in result.stdout
    json_result = digitlab("lesson", "noise", "--samples", "50", "--json", "--model", str(path))
    assert json.loads(json_result.stdout)["favourite_digit"] == {"digit": 4, "share": 1.0}


def test_plot_writes_a_png_without_a_display(tmp_path):
    """No QT_QPA_PLATFORM and no DISPLAY: plotting picks the offscreen platform itself."""
    target = tmp_path / "noise.png"
    env = child_env(QT_QPA_PLATFORM=None, DISPLAY=None, WAYLAND_DISPLAY=None)
    result = digitlab("lesson", "noise", "--quick", "--json", "--plot", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    json.loads(result.stdout.strip().splitlines()[-1])  # the JSON stays the last line of stdout
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote the figure to {target}" in result.stderr
    assert not [p for p in tmp_path.iterdir() if p.name != "noise.png"]  # no temporary file left


@pytest.mark.parametrize("args, fragments, status", [
    (["lesson", "nope"], ["unknown lesson 'nope'", "noise"], 2),
    (["lesson"], ["name a lesson"], 2),
    (["lesson", "noise", "--samples", "0"], ["samples"], 2),
    (["lesson", "noise", "--bogus"], ["unrecognized arguments: --bogus"], 2),
    (["lesson", "noise", "--plot", "/no/such/folder/f.png"], ["folder does not exist"], 1),
])
def test_bad_lesson_arguments_give_one_line_errors(args, fragments, status):
    result = digitlab(*args)
    assert result.returncode == status
    assert result.stdout == ""
    assert_one_line_error(result, *fragments)


def test_bad_model_file_gives_one_line_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model at all")
    result = digitlab("lesson", "noise", "--model", str(bad))
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_error(result, str(bad))


def test_model_bigger_selects_the_bundled_larger_network():
    bigger = digitlab("lesson", "noise", "--model", "bigger", "--quick", "--json")
    shipped = digitlab("lesson", "noise", "--quick", "--json")
    assert bigger.returncode == 0 and shipped.returncode == 0, bigger.stderr + shipped.stderr
    assert json.loads(bigger.stdout) != json.loads(shipped.stdout)
    assert "784-128-64-10" in digitlab("evaluate", "--model", "bigger").stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal and SIGINT")
def test_ctrl_c_cancels_a_long_run_cleanly():
    import pty

    # stderr on a pseudo-terminal: the progress bar shows, and tells that the run is under way.
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "digitlab", "lesson", "noise", "--samples", "1000000"],
        cwd=REPO_ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=slave, text=True,
    )
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"noise  [" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 4096)
        assert b"noise  [" in seen, seen
        child.send_signal(signal.SIGINT)
        # The full run takes half a minute; a cancelled one stops at the lesson's next check.
        status = child.wait(timeout=10)
        seen += _drain(master)
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    stdout = child.stdout.read()
    child.stdout.close()
    assert status == 130
    assert stdout == ""
    text = seen.decode("utf-8", "replace")
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1].strip() == "digitlab: lesson noise cancelled"


def _drain(fd: int) -> bytes:
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            return data
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed its end
            return data
        if not chunk:
            return data
        data += chunk


def test_descent_takes_no_model():
    result = digitlab("--model", "whatever.npz", "lesson", "descent")
    assert result.returncode == 2
    assert_one_line_error(result, "uses no model")


# ------------------------------------- a new lesson needs no change to the CLI


def _fake_lesson_module():
    """A lesson module made on the spot: counts to ``n``, cancellable, with a quick() run."""
    import dataclasses
    import types

    from digitlab.core.lessons.figure import Figure, Line, Panel

    module = types.ModuleType("digitlab.core.lessons.counting")

    @dataclasses.dataclass
    class Config:
        n: int = 10
        network: object = None

        @classmethod
        def quick(cls):
            return cls(n=3)

    @dataclasses.dataclass
    class Result:
        values: np.ndarray
        used_model: bool

        def to_json(self):
            return {"lesson": "counting", "values": self.values, "used_model": self.used_model}

        def summary(self):
            return f"counted to {len(self.values)}"

    def run(config, rng, progress=None, cancel=None):
        for k in range(config.n):
            base.check_cancel(cancel)
            base.report(progress, (k + 1) / config.n, "counting")
        return Result(np.arange(config.n), config.network is not None)

    def add_arguments(parser):
        parser.add_argument("--n", type=int, default=10)

    module.__dict__.update(
        NAME="counting", CLAIM="Counting is easy.", USES_MODEL=True, Config=Config, Result=Result, run=run,
        add_arguments=add_arguments, config_from_args=lambda args, network: Config(n=args.n, network=network),
        figure=lambda result: Figure("counting", [Panel(lines=[Line("n", result.values, result.values)])]),
    )
    return module


@pytest.fixture
def counting_lesson(monkeypatch):
    module = _fake_lesson_module()
    monkeypatch.setitem(sys.modules, "digitlab.core.lessons.counting", module)
    monkeypatch.setattr(lessons, "LESSON_MODULES", (*lessons.LESSON_MODULES, "counting"))
    return module


def test_a_registered_lesson_appears_in_the_cli(counting_lesson, capsys):
    from digitlab import cli

    assert cli.main(["lesson", "--list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["counting", "Counting", "is", "easy."]
    assert cli.main(["lesson", "counting", "--json", "--n", "4"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "lesson": "counting", "values": [0, 1, 2, 3], "used_model": True}
    # --quick takes the quick run's n only while the user has not chosen one.
    assert cli.main(["lesson", "counting", "--json", "--quick"]) == 0
    assert json.loads(capsys.readouterr().out)["values"] == [0, 1, 2]
    assert cli.main(["lesson", "counting", "--quick", "--n", "5"]) == 0
    assert capsys.readouterr().out.strip() == "counted to 5"


def test_quick_config_with_a_quick_field():
    import dataclasses

    @dataclasses.dataclass
    class Config:
        epochs: int = 10
        quick: bool = False

    assert base.quick_config(None, Config(epochs=3)) == Config(epochs=3, quick=True)


# -------------------------------------------------------- the bigger lesson


BIGGER_KEYS = {"lesson", "n_digits", "models", "only_bigger_right", "only_default_right", "both_wrong", "drawing"}
BIGGER_MODEL_KEYS = {"layers", "parameters", "activation", "cost", "accuracy", "per_digit_accuracy"}


def bigger_json(*options: str) -> dict:
    result = digitlab("lesson", "bigger", "--json", *options)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bigger_json_has_the_documented_keys_and_bigger_reads_more():
    data = bigger_json()
    assert set(data) == BIGGER_KEYS and data["lesson"] == "bigger" and data["n_digits"] == 1000
    assert list(data["models"]) == ["default", "bigger"]
    for model in data["models"].values():
        assert set(model) == BIGGER_MODEL_KEYS
        assert len(model["per_digit_accuracy"]) == 10 and 0 <= min(model["per_digit_accuracy"]) <= 1
    default, bigger = data["models"]["default"], data["models"]["bigger"]
    assert default["layers"] == [784, 16, 16, 10] and default["parameters"] == 13002
    assert (default["activation"], default["cost"]) == ("sigmoid", "mse")
    assert bigger["parameters"] > default["parameters"]
    assert 0.85 <= default["accuracy"] < bigger["accuracy"] <= 1
    assert data["only_bigger_right"] > data["only_default_right"]
    # Counted digit by digit: the wrong answers of each network add up to its accuracy.
    assert data["only_bigger_right"] + data["both_wrong"] == round(1000 * (1 - default["accuracy"]))
    assert data["only_default_right"] + data["both_wrong"] == round(1000 * (1 - bigger["accuracy"]))
    drawing = data["drawing"]
    assert set(drawing) == {"digit", "outputs", "answers"} and drawing["digit"] == 2
    assert all(len(drawing["outputs"][name]) == 10 for name in ("default", "bigger"))
    assert drawing["answers"]["bigger"] == int(np.argmax(drawing["outputs"]["bigger"]))


def test_bigger_quick_digit_and_seed():
    full = bigger_json("--seed", "1", "--digit", "7")
    assert full["drawing"]["digit"] == 7
    assert bigger_json("--seed", "1", "--digit", "7", "--quick") == full  # the full run is already quick
    assert bigger_json("--digit", "7")["models"] == full["models"]  # the seed only picks the drawing's style


def test_bigger_text_and_plot(tmp_path):
    target = tmp_path / "bigger.png"
    result = digitlab("lesson", "bigger", "--digit", "4", "--plot", str(target))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "read" in lines[0] and "784-16-16-10" in lines[0] and "On a drawn 4," in lines[0]
    assert lines[-1] == f"wrote the figure to {target}"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, fragments", [
    (["lesson", "bigger", "--digit", "10"], ["the digit to draw must be a whole number from 0 to 9"]),
    (["lesson", "bigger", "--model", "bigger"], ["unrecognized arguments: --model bigger"]),
    (["--model", "bigger", "lesson", "bigger"], ["bigger lesson", "--model"]),
])
def test_bigger_bad_arguments_give_one_line_errors(args, fragments):
    result = digitlab(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, *fragments)

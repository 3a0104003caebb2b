"""The ``digitlab`` command: the window by default, subcommands for scripts.

::

    digitlab [--model PATH]             open the window
    digitlab predict IMAGE...           which digit is in each picture
    digitlab evaluate [--data DIR]      accuracy and confusion matrix on a test set
    digitlab train [options]            train a network, print or save it
    digitlab download                   fetch the full MNIST (about 11 MB)
    digitlab bench                      measure speed and accuracy

User mistakes (a missing file, a bad model, a bad option value) end with one
line ``digitlab: error: ...`` on stderr and exit status 2 (bad arguments) or
1 (everything else), never a traceback. Set ``DIGITLAB_DEBUG=1`` to get the
traceback instead.
"""

from __future__ import annotations

import os

# Before NumPy is first imported: its BLAS would otherwise start one thread
# per core, and for this app's small matrices threads only fight (two
# threads made a batch-128 epoch 60 times slower on a 2-core machine).
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _variable in _BLAS_THREAD_VARIABLES:
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (the environment must be set first)
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from digitlab import __version__  # noqa: E402

PROG = "digitlab"

#: Learning rate used when ``--lr`` is not given, by cost. 3.0 is Nielsen's
#: value for the video's sigmoid/MSE network; softmax with cross-entropy has
#: larger gradients at the output (no sigmoid' factor) and did best at 0.2
#: (10 epochs, batch size 10, 5 seeds; 0.1, 0.5 and 1.0 were worse; see
#: resources/default_model.md).
DEFAULT_LEARNING_RATES = {"mse": 3.0, "cross_entropy": 0.2}

_PROGRESS_INTERVAL = 0.1  # seconds: the progress line changes at most 10 times a second
_EVALUATE_CHUNK = 10_000  # digits per forward pass, to bound memory on the full MNIST


class CommandError(Exception):
    """A problem to report as one ``digitlab: error:`` line, with exit status 1."""


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the ``digitlab`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 success, 1 failure, 2 bad arguments, 130 interrupted.
    """
    _ensure_std_streams()
    _limit_blas_threads()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras and args.command is not None:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        _apply_leading_model_option(parser, args)
    except SystemExit as exit_request:  # --help, --version, usage errors
        return _exit_status(exit_request.code)
    try:
        if args.command is None:
            return _run_gui(args, extras)
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`digitlab evaluate | head`): stop quietly.
        _discard_stdout()
        return 1
    except (CommandError, ValueError, OSError) as err:
        # ValueError covers the project's file errors (ModelFileError, IdxError,
        # ImageReadError, DownloadError), whose messages name the file.
        if os.environ.get("DIGITLAB_DEBUG"):
            raise
        _print_error(str(err))
        return 1


def _apply_leading_model_option(parser: argparse.ArgumentParser, args) -> None:
    """``digitlab --model M predict ...`` means ``digitlab predict --model M ...``."""
    if args.command is None or args.gui_model is None:
        return
    if not hasattr(args, "model"):
        parser.error(f"the {args.command} command takes no --model")
    if args.model is None:
        args.model = args.gui_model


def _discard_stdout() -> None:
    """Point stdout at the null device so the exit-time flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a real file descriptor
        pass


def _exit_status(code) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _ensure_std_streams() -> None:
    """Windowed (PyInstaller) builds have no console: stdout/stderr are None."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the process)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _limit_blas_threads() -> None:
    """One BLAS thread, even if NumPy was imported before the variables were set."""
    if "numpy" not in sys.modules:
        return  # the environment variables set above take effect at import
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1)


def _print_error(message: str) -> None:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _whole_number(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _number(low: float, high: float | None = None, low_inclusive: bool = True):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value < low if low_inclusive else value <= low
        if not math.isfinite(value) or too_low or (high is not None and value >= high):
            bracket = "[" if low_inclusive else "("
            upper = f"{high:g})" if high is not None else "inf)"
            raise argparse.ArgumentTypeError(f"must be in {bracket}{low:g}, {upper}, got {text}")
        return value

    return parse


def _layers(text: str) -> tuple[int, ...]:
    from digitlab.core.model_io import check_sizes
    from digitlab.core.network import parse_layers

    try:
        sizes = parse_layers(text)
        check_sizes(sizes)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return sizes


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``digitlab`` command and its subcommands."""
    parser = _Parser(
        prog=PROG,
        description="See how a small neural network learns to read handwritten digits. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--model", dest="gui_model", metavar="PATH", help="model file to open in the window"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_predict(commands)
    _add_evaluate(commands)
    _add_train(commands)
    _add_download(commands)
    _add_bench(commands)
    return parser


def _model_option(command) -> None:
    command.add_argument(
        "--model", metavar="PATH", help="model file (.npz); default: the model shipped with DigitLab"
    )


def _add_predict(commands) -> None:
    command = commands.add_parser(
        "predict",
        help="recognise the digit in image files",
        description="Recognise the digit in each image (PNG, JPEG, BMP, ... or a 2-D .npy array). "
        "Each picture is brought into MNIST's form first: white ink on black, cropped, "
        "scaled to 20 pixels and centred by its centre of mass in 28x28.",
        epilog="Text output: 'PATH: DIGIT (OUTPUT)' and the ten output values. With --json, one "
        'object per line: {"path", "digit", "probabilities"} or {"path", "error"}. "probabilities" '
        "are the network's ten output activations: for a sigmoid/MSE model (the video's, and "
        "the default) they are the raw sigmoid outputs, each in 0..1 but not normalised to sum "
        "to 1; for a cross-entropy model they are softmax probabilities. Exit status 1 if any "
        "image could not be read or is empty.",
    )
    _model_option(command)
    command.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    command.add_argument("images", nargs="+", metavar="IMAGE", help="image files")


def _add_evaluate(commands) -> None:
    command = commands.add_parser(
        "evaluate",
        help="accuracy and confusion matrix on a test set",
        description="Measure a model's accuracy and confusion matrix (rows: true digit, "
        "columns: predicted digit).",
    )
    _model_option(command)
    command.add_argument(
        "--data",
        metavar="DIR",
        help="a folder of MNIST files (t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]; "
        "the train-* pair if there is no t10k pair), 'mnist' for the downloaded official test set, "
        "or 'sample' (default): the validation part of the bundled sample (its last 1,000 digits)",
    )
    command.add_argument("--json", action="store_true", help='print {"accuracy", "n", "confusion"}')


def _add_train(commands) -> None:
    command = commands.add_parser(
        "train",
        help="train a network",
        description="Train a network by mini-batch gradient descent and report each epoch. "
        "Runs are repeatable: the same options and seed give the same network (also in the window).",
        epilog="If training diverges (the loss becomes NaN or the weights explode), the run stops "
        "with a message and exit status 1 and nothing is saved; the same holds for Ctrl+C (exit "
        "status 130). Lower --lr and run again.",
    )
    command.add_argument(
        "--data",
        default="sample",
        metavar="sample|mnist|DIR",
        help="'sample': the bundled 10,000 digits (9,000 training, 1,000 validation; default); "
        "'mnist': the full MNIST after `digitlab download` (60,000 / 10,000); or a folder of MNIST files",
    )
    command.add_argument(
        "--layers", type=_layers, default=(784, 16, 16, 10), metavar="SIZES",
        help="neurons per layer, input first (default: 784,16,16,10)",
    )
    command.add_argument(
        "--activation", choices=("sigmoid", "relu", "tanh"), default="sigmoid",
        help="hidden-layer activation (default: sigmoid)",
    )
    command.add_argument(
        "--cost", choices=("mse", "cross_entropy"), default="mse",
        help="mse: sigmoid outputs, squared error (the video's; default); "
        "cross_entropy: softmax outputs, cross-entropy",
    )
    command.add_argument(
        "--lr", type=_number(0, low_inclusive=False), metavar="RATE",
        help="learning rate (default: 3.0 for mse, 0.2 for cross_entropy)",
    )
    command.add_argument("--batch-size", type=_whole_number(1), default=10, metavar="N",
                         help="examples per gradient step (default: 10)")
    command.add_argument("--epochs", type=_whole_number(1), default=10, metavar="N",
                         help="passes over the training set (default: 10)")
    command.add_argument("--momentum", type=_number(0, 1), default=0.0, metavar="M",
                         help="momentum in [0, 1) (default: 0)")
    command.add_argument("--weight-decay", type=_number(0), default=0.0, metavar="L2",
                         help="L2 weight decay (default: 0)")
    command.add_argument("--seed", type=_whole_number(0), default=0, metavar="N",
                         help="seed of the initial weights and the example order (default: 0)")
    command.add_argument("--train-size", type=_whole_number(1), metavar="N",
                         help="train on a random subset of N examples")
    command.add_argument("--shuffle-labels", action="store_true",
                         help="give every training example a random label (can it memorise?)")
    command.add_argument("--augment", action="store_true",
                         help="randomly shift, turn and resize the training digits each epoch")
    command.add_argument("--out", metavar="PATH",
                         help="save the trained model here (.npz); default: not saved")
    command.add_argument(
        "--json", action="store_true",
        help='one JSON object per epoch on stdout: {"epoch", "seconds", "train_loss", '
        '"train_accuracy", "val_loss", "val_accuracy"}',
    )


def _add_download(commands) -> None:
    command = commands.add_parser(
        "download",
        help="download the full MNIST (about 11 MB)",
        description="Download the four MNIST files, verify their checksums and keep them for "
        "`digitlab train --data mnist`. An interrupted download resumes where it stopped.",
    )
    command.add_argument("--dest", metavar="DIR", help="target folder (default: DigitLab's data folder)")
    # For tests and private mirrors: base URLs tried in order instead of the public ones.
    command.add_argument("--mirror", action="append", metavar="URL", help=argparse.SUPPRESS)


def _add_bench(commands) -> None:
    command = commands.add_parser(
        "bench",
        help="measure training speed, latency and accuracy",
        description="Measure epoch times (ours and a plain NumPy reference), forward-pass and "
        "preprocessing latency, BLAS set-up, and the shipped model's accuracy, each against its target.",
    )
    command.add_argument("--json", action="store_true", help="print the results as JSON")
    command.add_argument("--quick", action="store_true", help="fewer repeats (less precise, much faster)")
    command.add_argument("--ui", action="store_true", help="also measure the window's responsiveness")


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _load_model(path: str | None):
    """The network and metadata from ``path``, or the shipped model."""
    from digitlab.core.model_io import load_default_model, load_model

    return load_model(path) if path else load_default_model()


def _describe_network(network) -> str:
    sizes = "-".join(str(s) for s in network.sizes)
    return f"{sizes}, {network.activation}, {network.cost}"


def _finite_or_none(value):
    """JSON has no NaN: report an undefined value (e.g. no validation set) as null."""
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _json_line(obj) -> None:
    print(json.dumps(obj), flush=True)


class _ProgressLine:
    """A single self-overwriting status line on stderr, only when stderr is a terminal."""

    def __init__(self, stream=None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self._stream)
        self._width = 0
        self._last = float("-inf")

    def update(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < _PROGRESS_INTERVAL:
            return
        self._last = now
        padding = " " * max(0, self._width - len(text))
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()
        self._width = len(text)

    def clear(self) -> None:
        if self.enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# ---------------------------------------------------------------------------
# The window
# ---------------------------------------------------------------------------


def _run_gui(args, extras: list[str]) -> int:
    """Open the main window; Qt is imported only here."""
    if args.gui_model and not Path(args.gui_model).is_file():
        raise CommandError(f"{args.gui_model}: no such model file")
    try:
        from digitlab.ui.app import run_app
    except ImportError as err:
        raise CommandError(f"the window cannot start: {err}") from None
    gui_args = list(extras)
    if args.gui_model:
        gui_args = ["--model", args.gui_model, *gui_args]
    return run_app(gui_args)


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


def _cmd_predict(args) -> int:
    from digitlab.core.preprocess import EmptyImageError, prepare
    from digitlab.imageio import read_image

    network, _ = _load_model(args.model)
    failures = 0
    for name in args.images:
        try:
            outputs = network.predict(prepare(read_image(name)))
        except EmptyImageError:
            problem = "empty image: no ink found"
        except ValueError as err:  # not an image, unreadable, unsupported pixel format
            problem = _without_prefix(str(err), name)
        else:
            _report_prediction(name, outputs, args.json)
            continue
        failures += 1
        if args.json:
            _json_line({"path": name, "error": problem})
        else:
            _print_error(f"{name}: {problem}")
    return 1 if failures else 0


def _without_prefix(message: str, path: str) -> str:
    """The problem alone, when the message already starts with the path."""
    message = " ".join(message.split())
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _report_prediction(path: str, outputs, as_json: bool) -> None:
    digit = int(outputs.argmax())
    values = [round(float(v), 6) for v in outputs]
    if as_json:
        _json_line({"path": path, "digit": digit, "probabilities": values})
        return
    listing = "  ".join(f"{d}:{v:.2f}" for d, v in enumerate(values))
    print(f"{path}: {digit} ({values[digit]:.2f})  {listing}", flush=True)


# ---------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------


def _evaluation_set(data: str | None):
    """Images, labels and a description of the set ``--data`` names."""
    from digitlab.core import datasets

    if data in (None, "sample"):
        split = datasets.load_sample()
        return split.val_images, split.val_labels, "bundled sample, validation part"
    if data == "mnist":
        directory = datasets.full_mnist_dir()
        if not datasets.mnist_available():
            raise CommandError(f"{directory}: the full MNIST is not downloaded (run `digitlab download`)")
    else:
        directory = Path(data)
    images, labels = datasets.load_test_set(directory)
    return images, labels, str(directory)


def confusion_matrix(network, images, labels):
    """10x10 counts: row = true digit, column = predicted digit."""
    import numpy as np

    from digitlab.core.datasets import to_inputs

    n_classes = network.sizes[-1]
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    for start in range(0, len(labels), _EVALUATE_CHUNK):
        chunk = slice(start, start + _EVALUATE_CHUNK)
        predicted = network.predict(to_inputs(images[chunk])).argmax(axis=1)
        np.add.at(confusion, (labels[chunk].astype(np.intp), predicted), 1)
    return confusion


def _cmd_evaluate(args) -> int:
    network, _ = _load_model(args.model)
    images, labels, description = _evaluation_set(args.data)
    if len(labels) == 0:
        raise CommandError(f"{description}: holds no digits to evaluate on")
    confusion = confusion_matrix(network, images, labels)
    n = int(confusion.sum())
    correct = int(confusion.trace())
    if args.json:
        _json_line({"accuracy": correct / n, "n": n, "confusion": confusion.tolist(),
                    "data": description, "model": args.model or "default"})
        return 0
    print(f"model:    {args.model or 'the shipped default'} ({_describe_network(network)})")
    print(f"data:     {description} ({n} digits)")
    print(f"accuracy: {100 * correct / n:.2f}% ({correct} of {n} right)")
    print()
    print("confusion matrix (rows: true digit, columns: predicted digit)")
    print("true " + "".join(f"{d:>6}" for d in range(confusion.shape[1])))
    for digit, row in enumerate(confusion):
        print(f"{digit:>4} " + "".join(f"{count:>6}" for count in row))
    return 0


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def _training_split(data: str):
    from digitlab.core import datasets

    if data in ("sample", "mnist"):
        return datasets.load_named(data)  # for "mnist", its error says to run `digitlab download`
    return datasets.load_directory(data)


def _cmd_train(args) -> int:
    import numpy as np

    from digitlab.core.model_io import save_model
    from digitlab.core.network import Network
    from digitlab.core.training import TrainingConfig, TrainingData, train

    learning_rate = args.lr if args.lr is not None else DEFAULT_LEARNING_RATES[args.cost]
    config = TrainingConfig(
        learning_rate=learning_rate, batch_size=args.batch_size, epochs=args.epochs,
        momentum=args.momentum, weight_decay=args.weight_decay, seed=args.seed,
        train_size=args.train_size, shuffle_labels=args.shuffle_labels, augment=args.augment,
    )
    config.validate()
    if args.out and not Path(args.out).resolve().parent.is_dir():
        # Found out now rather than after a long run.
        raise CommandError(f"{args.out}: cannot save there, the folder does not exist")
    split = _training_split(args.data)
    data = TrainingData(split.train_images, split.train_labels, split.val_images, split.val_labels)
    # The window seeds its networks the same way, so a run can be repeated in either.
    network = Network.create(args.layers, args.activation, args.cost, rng=np.random.default_rng(args.seed))
    n_train = min(len(split.train_labels), config.train_size or len(split.train_labels))
    info = sys.stderr if args.json else sys.stdout
    print(f"training {_describe_network(network)} on {split.name}: {n_train} training and "
          f"{len(split.val_labels)} validation digits, learning rate {learning_rate:g}, "
          f"batch size {config.batch_size}", file=info, flush=True)

    history = []
    progress_line = _ProgressLine()
    try:
        for record in train(network, data, config, min_interval=_PROGRESS_INTERVAL):
            if record.kind == "batch":
                _show_batch(progress_line, record, config.epochs)
            elif record.kind == "epoch":
                progress_line.clear()
                history.append(record.epoch_stats.as_dict())
                _report_epoch(record.epoch_stats, config.epochs, args.json)
            elif record.kind == "diverged":
                progress_line.clear()
                suffix = " Nothing was saved." if args.out else ""
                raise CommandError(record.message + suffix)
    except KeyboardInterrupt:
        progress_line.clear()
        nothing_saved = "; nothing was saved" if args.out else ""
        print(f"{PROG}: training interrupted{nothing_saved}", file=sys.stderr)
        return 130
    progress_line.clear()

    final = history[-1]
    if not args.json:
        val = _finite_or_none(final["val_accuracy"])
        summary = f"{100 * val:.2f}%" if val is not None else "n/a (no validation digits)"
        print(f"final validation accuracy: {summary}")
    if args.out:
        save_model(args.out, network, _training_metadata(args, split.name, n_train, config, history))
        print(f"saved the model to {args.out}", file=info)
    return 0


def _show_batch(progress_line: _ProgressLine, record, epochs: int) -> None:
    if len(record.batch_losses):
        loss = f"{float(record.batch_losses.mean()):.4f}"
    else:
        loss = "-"
    progress_line.update(
        f"epoch {record.epoch + 1}/{epochs}  batch {record.batch}/{record.batches_per_epoch}  loss {loss}"
    )


def _report_epoch(stats, epochs: int, as_json: bool) -> None:
    row = {key: _finite_or_none(value) for key, value in stats.as_dict().items()}
    if as_json:
        _json_line(row)
        return

    def percent(value):
        return f"{100 * value:6.2f}%" if value is not None else "    n/a"

    def loss(value):
        return f"{value:.4f}" if value is not None else "n/a"

    print(
        f"epoch {stats.epoch:>{len(str(epochs))}}/{epochs}  "
        f"train loss {loss(row['train_loss'])} accuracy {percent(row['train_accuracy'])}  "
        f"validation loss {loss(row['val_loss'])} accuracy {percent(row['val_accuracy'])}  "
        f"({stats.seconds:.2f} s)",
        flush=True,
    )


def _training_metadata(args, data_name: str, n_train: int, config, history: list[dict]) -> dict:
    """What a saved model remembers about how it was made."""
    final = history[-1]
    return {
        "data": data_name,
        "train_examples": n_train,
        "epochs": len(history),
        "train_loss": _finite_or_none(final["train_loss"]),
        "train_accuracy": _finite_or_none(final["train_accuracy"]),
        "val_loss": _finite_or_none(final["val_loss"]),
        "val_accuracy": _finite_or_none(final["val_accuracy"]),
        "hyperparameters": {
            "learning_rate": config.learning_rate,
            "batch_size": config.batch_size,
            "momentum": config.momentum,
            "weight_decay": config.weight_decay,
            "seed": config.seed,
            "train_size": config.train_size,
            "shuffle_labels": config.shuffle_labels,
            "augment": config.augment,
        },
        "history": [{k: _finite_or_none(v) for k, v in row.items()} for row in history],
        "made_by": "digitlab train",
    }


# ---------------------------------------------------------------------------
# download
# ---------------------------------------------------------------------------


def _cmd_download(args) -> int:
    from digitlab.core import download
    from digitlab.core.datasets import full_mnist_dir

    dest = Path(args.dest) if args.dest else full_mnist_dir()
    mirrors = tuple(args.mirror) if args.mirror else download.MIRRORS
    progress_line = _ProgressLine()
    cancel = threading.Event()
    outcome: dict = {}

    def show(name: str, done: int, total: int) -> None:
        progress_line.update(
            f"{name}  {100 * done / max(total, 1):3.0f}%  {done / 1e6:.1f} of {total / 1e6:.1f} MB",
            force=done >= total,
        )
        if done >= total:
            progress_line.clear()
            print(f"{name}: {total / 1e6:.1f} MB, checksum verified", file=sys.stderr, flush=True)

    def work() -> None:
        try:
            # The module's tables are read now, not when this function was defined.
            outcome["dest"] = download.download_mnist(
                dest, mirrors=mirrors, files=download.FILES, progress=show, cancel=cancel
            )
        except BaseException as err:  # handed to the main thread, which reports it
            outcome["error"] = err

    # The download runs in a worker so Ctrl+C reaches the main thread at once
    # and can cancel it between chunks: the partial file stays resumable.
    worker = threading.Thread(target=work, name="digitlab-download", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        cancel.set()
        progress_line.clear()
        print(f"{PROG}: download cancelled; run `digitlab download` again to resume", file=sys.stderr)
        try:
            worker.join()
        except KeyboardInterrupt:
            pass  # a second Ctrl+C: leave without waiting for the worker
        return 130
    progress_line.clear()
    error = outcome.get("error")
    if isinstance(error, download.DownloadCancelled):
        print(f"{PROG}: download cancelled", file=sys.stderr)
        return 130
    if error is not None:
        raise error
    print(f"MNIST is ready in {outcome['dest']}")
    return 0


# ---------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------


def _cmd_bench(args) -> int:
    from digitlab import bench

    results = bench.run(quick=args.quick, ui=args.ui, progress=lambda text: print(text, file=sys.stderr))
    if args.json:
        _json_line(results)
    else:
        print(bench.format_table(results))
    return 0


_COMMANDS = {
    "predict": _cmd_predict,
    "evaluate": _cmd_evaluate,
    "train": _cmd_train,
    "download": _cmd_download,
    "bench": _cmd_bench,
}

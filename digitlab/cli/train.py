"""``digitlab train``: mini-batch gradient descent, one report per epoch."""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
from pathlib import Path

from digitlab.cli import common
from digitlab.cli.common import (
    PROG,
    CommandError,
    ProgressLine,
    describe_network,
    finite_or_none,
    json_line,
    print_error,
)

from digitlab.core.training import DEFAULT_LEARNING_RATES

#: More passes than anyone means (10,000 over the sample take about half an
#: hour here, over the full MNIST some hours): a typo such as --epochs 1000000
#: gets an error instead of a run of weeks.
MAX_EPOCHS = 10_000


def add_parser(commands) -> None:
    from digitlab.cli.common import layers, number, path_argument, whole_number

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
        "--layers", type=layers, default=(784, 16, 16, 10), metavar="SIZES",
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
        "--lr", type=number(0, low_inclusive=False), metavar="RATE",
        help="learning rate (default: 3.0 for mse, 0.2 for cross_entropy)",
    )
    command.add_argument("--batch-size", type=whole_number(1), default=10, metavar="N",
                         help="examples per gradient step (default: 10)")
    command.add_argument("--epochs", type=whole_number(1, MAX_EPOCHS), default=10, metavar="N",
                         help=f"passes over the training set, at most {MAX_EPOCHS:,} (default: 10)")
    command.add_argument("--momentum", type=number(0, 1), default=0.0, metavar="M",
                         help="momentum in [0, 1) (default: 0)")
    command.add_argument("--weight-decay", type=number(0), default=0.0, metavar="L2",
                         help="L2 weight decay (default: 0)")
    command.add_argument("--dropout", type=number(0, 1), default=0.0, metavar="P",
                         help="silence each hidden neuron with chance P in every training step, in [0, 1) "
                         "(inverted dropout; prediction uses all neurons; default: 0)")
    command.add_argument("--seed", type=whole_number(0), default=0, metavar="N",
                         help="seed of the initial weights and the example order (default: 0)")
    command.add_argument("--train-size", type=whole_number(1), metavar="N",
                         help="train on a random subset of N examples")
    command.add_argument("--shuffle-labels", action="store_true",
                         help="give every training example a random label (can it memorise?)")
    command.add_argument("--augment", action="store_true",
                         help="vary the training digits each epoch as handwriting varies (position, size, turn, width, slant, pen, elastic wobble)")
    command.add_argument("--none-class", choices=("exposure", "eleventh"), default=None,
                         help="teach it to say 'none of these' with noise images in every epoch: exposure "
                         "(targets with no output lit) or eleventh (labelled 10; needs --layers ending in 11)")
    command.add_argument("--out", metavar="PATH", type=path_argument,
                         help="save the trained model here (.npz); default: not saved. The folder is "
                         "checked before training; if the save fails at the end, the model is saved "
                         "to a fallback file whose path is printed (exit status 1)")
    command.add_argument(
        "--json", action="store_true",
        help='one JSON object per epoch on stdout: {"epoch", "seconds", "train_loss", '
        '"train_accuracy", "val_loss", "val_accuracy"}',
    )


def _training_split(data: str):
    from digitlab.core import datasets

    if data in ("sample", "mnist"):
        return datasets.load_named(data)  # for "mnist", its error says to run `digitlab download`
    return datasets.load_directory(data)


def run(args) -> int:
    import numpy as np

    from digitlab.core.history import model_metadata
    from digitlab.core.network import Network
    from digitlab.core.none_class import noise_count
    from digitlab.core.training import TrainingConfig, train

    learning_rate = args.lr if args.lr is not None else DEFAULT_LEARNING_RATES[args.cost]
    config = TrainingConfig(
        learning_rate=learning_rate, batch_size=args.batch_size, epochs=args.epochs,
        momentum=args.momentum, weight_decay=args.weight_decay, seed=args.seed,
        train_size=args.train_size, shuffle_labels=args.shuffle_labels, augment=args.augment,
        dropout=args.dropout, none_class=args.none_class,
    )
    config.validate()
    if args.out:
        _check_out_path(args.out)  # found out now rather than after a long run
    split = _training_split(args.data)
    # The window seeds its networks the same way, so a run can be repeated in either.
    network = Network.create(args.layers, args.activation, args.cost, rng=np.random.default_rng(args.seed))
    try:
        noise_count(network, config.none_class, 1)  # refuses "eleventh" on 10 outputs, before training
    except ValueError as problem:
        raise CommandError(f"--none-class: {problem}") from None
    n_train = min(len(split.train_labels), config.train_size or len(split.train_labels))
    info = sys.stderr if args.json else sys.stdout
    print(f"training {describe_network(network)} on {split.name}: {n_train} training and "
          f"{len(split.val_labels)} validation digits, learning rate {learning_rate:g}, "
          f"batch size {config.batch_size}", file=info, flush=True)

    history = []
    progress_line = ProgressLine()
    try:
        shown_warning = ""
        for record in train(network, split, config, min_interval=common.PROGRESS_INTERVAL):
            if record.kind != "diverged" and record.warning != shown_warning:
                if record.warning:  # said once when it starts, not on every record
                    progress_line.clear()
                    print(f"{PROG}: warning: {record.warning}", file=sys.stderr, flush=True)
                shown_warning = record.warning
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
        val = finite_or_none(final["val_accuracy"])
        summary = f"{100 * val:.2f}%" if val is not None else "n/a (no validation digits)"
        print(f"final validation accuracy: {summary}")
    if args.out:
        metadata = model_metadata(data=split.name, train_examples=n_train, config=config,
                                  history_rows=history, made_by="digitlab train", network=network)
        return _save_run(args.out, network, metadata, info)
    return 0


def _check_out_path(out: str) -> None:
    """Refuse an ``--out`` that cannot be saved to, before any training."""
    from digitlab.core.fileio import FileProblem, check_folder_writable

    path = Path(out)
    if path.is_dir():
        raise CommandError(f"{out}: is a folder; name the file to save, such as {path / 'model.npz'}")
    # Through a symbolic link: the file is saved where the link points.
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise CommandError(f"{out}: cannot save there, the folder does not exist")
    try:
        check_folder_writable(folder)
    except FileProblem as err:
        raise CommandError(f"{out}: cannot save there: {err}") from None


def _save_run(out: str, network, metadata: dict, info) -> int:
    """Save to ``out``; if that fails, to a fallback file, and say where. Never lose the run quietly."""
    from digitlab.core.model_io import ModelFileError, save_model

    try:
        save_model(out, network, metadata)
    except ModelFileError as err:
        failure = err.problem
    else:
        print(f"saved the model to {out}", file=info)
        return 0
    tried = []
    for fallback in _fallback_paths(out):
        try:
            fallback.parent.mkdir(parents=True, exist_ok=True)
            save_model(fallback, network, metadata)
        except (OSError, ModelFileError) as err:
            tried.append(f"{fallback} ({_problem(err)})")
            continue
        print_error(f"{out}: could not save the model there ({failure}); saved it to {fallback} instead")
        return 1
    raise CommandError(
        f"{out}: could not save the model ({failure}), nor to {'; nor to '.join(tried)}; the trained network is lost"
    )


def _fallback_paths(out: str) -> list[Path]:
    """Where a model goes when ``--out`` fails: the user's data folder, then the system's temp folder."""
    from digitlab.paths import user_data_dir

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{Path(out).stem or 'model'}-{stamp}-{os.getpid()}.npz"
    return [
        user_data_dir() / "unsaved-models" / name,
        Path(tempfile.gettempdir()) / f"digitlab-unsaved-{name}",
    ]


def _problem(err: Exception) -> str:
    from digitlab.core.fileio import FileProblem, plain_reason

    if isinstance(err, FileProblem):
        return err.problem
    return plain_reason(err) if isinstance(err, OSError) else str(err)


def _show_batch(progress_line: ProgressLine, record, epochs: int) -> None:
    if len(record.batch_losses):
        loss = f"{float(record.batch_losses.mean()):.4f}"
    else:
        loss = "-"
    progress_line.update(
        f"epoch {record.epoch + 1}/{epochs}  batch {record.batch}/{record.batches_per_epoch}  loss {loss}"
    )


def _report_epoch(stats, epochs: int, as_json: bool) -> None:
    row = {key: finite_or_none(value) for key, value in stats.as_dict().items()}
    if as_json:
        json_line(row)
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

"""``digitlab train``: mini-batch gradient descent, one report per epoch."""

from __future__ import annotations

import sys
from pathlib import Path

from digitlab.cli import common
from digitlab.cli.common import PROG, CommandError, ProgressLine, describe_network, finite_or_none, json_line

from digitlab.core.training import DEFAULT_LEARNING_RATES


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
    command.add_argument("--epochs", type=whole_number(1), default=10, metavar="N",
                         help="passes over the training set (default: 10)")
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
                         help="randomly shift, turn and resize the training digits each epoch")
    command.add_argument("--none-class", choices=("exposure", "eleventh"), default=None,
                         help="teach it to say 'none of these' with noise images in every epoch: exposure "
                         "(targets with no output lit) or eleventh (labelled 10; needs --layers ending in 11)")
    command.add_argument("--out", metavar="PATH", type=path_argument,
                         help="save the trained model here (.npz); default: not saved")
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
    from digitlab.core.model_io import save_model
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
    if args.out and not Path(args.out).resolve().parent.is_dir():
        # Found out now rather than after a long run.
        raise CommandError(f"{args.out}: cannot save there, the folder does not exist")
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
        for record in train(network, split, config, min_interval=common.PROGRESS_INTERVAL):
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
        save_model(args.out, network, metadata)
        print(f"saved the model to {args.out}", file=info)
    return 0


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

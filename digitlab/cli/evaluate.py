"""``digitlab evaluate``: accuracy, confusion matrix and the worst mistakes on a test set."""

from __future__ import annotations

from pathlib import Path

from digitlab.cli.common import CommandError, describe_network, json_line, load_model, model_option, whole_number


def add_parser(commands) -> None:
    command = commands.add_parser(
        "evaluate",
        help="accuracy and confusion matrix on a test set",
        description="Measure a model's accuracy and confusion matrix (rows: true digit, "
        "columns: predicted digit).",
    )
    model_option(command)
    command.add_argument(
        "--data",
        metavar="DIR",
        help="a folder of MNIST files (t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]; "
        "the train-* pair if there is no t10k pair), 'mnist' for the downloaded official test set, "
        "or 'sample' (default): the validation part of the bundled sample (its last 1,000 digits)",
    )
    command.add_argument("--json", action="store_true", help='print {"accuracy", "n", "confusion"}')
    command.add_argument(
        "--mistakes", type=whole_number(0), default=0, metavar="N",
        help='also list the N most confidently wrong digits; with --json as "mistakes": '
        '[{"index", "label", "predicted", "confidence"}], highest confidence first, '
        '"index" being the position in the evaluated IDX file (for the bundled sample, its validation '
        "part is the file's last 1,000 digits: indexes 9000 to 9999)",
    )


def evaluation_set(data: str | None):
    """Images, labels, a description of the set ``--data`` names, and the
    position of its first digit in its IDX file."""
    from digitlab.core import datasets

    if data in (None, "sample"):
        split = datasets.load_sample()
        return split.val_images, split.val_labels, "bundled sample, validation part", len(split.train_labels)
    if data == "mnist":
        directory = datasets.full_mnist_dir()
        if not datasets.mnist_available():
            raise CommandError(f"{directory}: the full MNIST is not downloaded (run `digitlab download`)")
    else:
        directory = Path(data)
    images, labels = datasets.load_test_set(directory)
    return images, labels, str(directory), 0


def confusion_matrix(network, images, labels):
    """Counts: row = true digit, column = predicted digit (one per network output)."""
    from digitlab.core.evaluation import evaluate

    return evaluate(network, images, labels).confusion_matrix()


def run(args) -> int:
    from digitlab.core.evaluation import evaluate

    network, _ = load_model(args.model)
    images, labels, description, first_index = evaluation_set(args.data)
    if len(labels) == 0:
        raise CommandError(f"{description}: holds no digits to evaluate on")
    evaluation = evaluate(network, images, labels)
    confusion = evaluation.confusion_matrix()
    n = int(confusion.sum())
    correct = int(confusion.trace())
    mistakes = evaluation.confidently_wrong(args.mistakes) if args.mistakes else []
    if args.json:
        result = {"accuracy": correct / n, "n": n, "confusion": confusion.tolist(),
                  "data": description, "model": args.model or "default"}
        if args.mistakes:
            result["mistakes"] = [{**m.to_json(), "index": first_index + m.index} for m in mistakes]
        json_line(result)
        return 0
    print(f"model:    {args.model or 'the shipped default'} ({describe_network(network)})")
    print(f"data:     {description} ({n} digits)")
    print(f"accuracy: {100 * correct / n:.2f}% ({correct} of {n} right)")
    print()
    print("confusion matrix (rows: true digit, columns: predicted digit)")
    print("true " + "".join(f"{d:>6}" for d in range(confusion.shape[1])))
    for digit, row in enumerate(confusion):
        print(f"{digit:>4} " + "".join(f"{count:>6}" for count in row))
    if args.mistakes:
        print()
        print(f"most confidently wrong ({len(mistakes)} of {n - correct} mistakes)")
        print(f"{'index':>7} {'true':>5} {'answer':>7} {'output':>7}")
        for m in mistakes:
            print(f"{first_index + m.index:>7} {m.label:>5} {m.predicted:>7} {m.confidence:>7.3f}")
    return 0

"""``digitlab predict IMAGE...``: which digit is in each picture."""

from __future__ import annotations

from digitlab.cli.common import json_line, load_model, model_option, print_error, without_prefix


def add_parser(commands) -> None:
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
    model_option(command)
    command.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    command.add_argument("images", nargs="+", metavar="IMAGE", help="image files")


def run(args) -> int:
    from digitlab.core.preprocess import EmptyImageError, prepare
    from digitlab.imageio import read_image

    network, _ = load_model(args.model)
    failures = 0
    for name in args.images:
        try:
            outputs = network.predict(prepare(read_image(name)))
        except EmptyImageError:
            problem = "empty image: no ink found"
        except ValueError as err:  # not an image, unreadable, unsupported pixel format
            problem = without_prefix(str(err), name)
        except MemoryError:  # the readers cap sizes first; this is the last resort
            problem = "not enough memory to read it"
        else:
            _report_prediction(name, outputs, args.json)
            continue
        failures += 1
        if args.json:
            json_line({"path": name, "error": problem})
        else:
            print_error(f"{name}: {problem}")
    return 1 if failures else 0


def _report_prediction(path: str, outputs, as_json: bool) -> None:
    digit = int(outputs.argmax())
    values = [round(float(v), 6) for v in outputs]
    if as_json:
        json_line({"path": path, "digit": digit, "probabilities": values})
        return
    listing = "  ".join(f"{d}:{v:.2f}" for d, v in enumerate(values))
    print(f"{path}: {digit} ({values[digit]:.2f})  {listing}", flush=True)

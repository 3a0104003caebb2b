"""``digitlab predict IMAGE...``: which digit is in each picture."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from contextlib import ExitStack, contextmanager

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
    from digitlab.imageio import UndecodableImageError, read_image

    network, _ = load_model(args.model)
    failures = 0
    for name in args.images:
        library_messages: list[str] = []
        try:
            with _quiet_libraries(library_messages):
                outputs = network.predict(prepare(read_image(name)))
        except EmptyImageError:
            problem = "empty image: no ink found"
        except UndecodableImageError as err:
            # What libpng or libjpeg said is the only clue to why.
            problem = without_prefix(str(err), name) + _detail(library_messages)
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


@contextmanager
def _quiet_libraries(messages: list[str]):
    """Keep libpng's, Qt's and NumPy's own warnings off stderr while one image is read.

    Each image gets one verdict, a prediction or our one-line error; a
    warning such as "libpng warning: iCCP: known incorrect sRGB profile" or
    NumPy's "overflow encountered in cast" beside it only confuses (the
    checks after decoding catch whatever matters). Qt's log messages and
    what C libraries print straight to file descriptor 2 (libpng's errors
    do) are collected in ``messages`` instead. DIGITLAB_DEBUG=1 lets them through.
    """
    if os.environ.get("DIGITLAB_DEBUG"):
        yield
        return
    import numpy as np

    from digitlab.imageio import captured_qt_messages

    with ExitStack() as stack:
        stack.enter_context(_captured_stderr_descriptor(messages))
        messages_from_qt = stack.enter_context(captured_qt_messages())
        stack.callback(lambda: messages.extend(messages_from_qt))
        stack.enter_context(np.errstate(all="ignore"))
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        yield


@contextmanager
def _captured_stderr_descriptor(messages: list[str]):
    """Point file descriptor 2 at a temporary file for the block; its lines go to ``messages``."""
    try:
        descriptor = sys.stderr.fileno()
        sys.stderr.flush()
        sink = tempfile.TemporaryFile()
    except (AttributeError, ValueError, OSError):  # no real stderr (a windowed build), or no temp folder
        yield
        return
    saved = os.dup(descriptor)
    try:
        os.dup2(sink.fileno(), descriptor)
        yield
    finally:
        os.dup2(saved, descriptor)
        os.close(saved)
        sink.seek(0)
        messages.extend(sink.read(4096).decode("utf-8", "replace").splitlines())
        sink.close()


def _detail(messages: list[str]) -> str:
    """`` (libpng error: IDAT: CRC error)``: the first two distinct messages, or ""."""
    distinct = list(dict.fromkeys(" ".join(m.split()) for m in messages if m.strip()))[:2]
    if not distinct:
        return ""
    text = "; ".join(distinct)
    return f" ({text[:200]})"


def _report_prediction(path: str, outputs, as_json: bool) -> None:
    digit = int(outputs.argmax())
    values = [round(float(v), 6) for v in outputs]
    if as_json:
        json_line({"path": path, "digit": digit, "probabilities": values})
        return
    listing = "  ".join(f"{d}:{v:.2f}" for d, v in enumerate(values))
    print(f"{path}: {digit} ({values[digit]:.2f})  {listing}", flush=True)

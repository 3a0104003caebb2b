"""``digitlab lesson``: run one lesson headless, print its result, draw its figure.

The lessons come from :data:`digitlab.core.lessons.LESSON_MODULES`, so a new
lesson module shows up here without any change to this file. Each lesson's
options are parsed by a parser made for it (``digitlab lesson NAME --help``),
and lesson modules are imported only when a lesson is listed or run.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from digitlab.cli.common import PROG, CommandError, Parser, ProgressLine, progress_bar, whole_number

#: Runs shorter than this show no progress bar.
_QUIET_SECONDS = 1.0
#: The bundled larger model (a later issue ships it).


def add_parser(commands) -> None:
    command = commands.add_parser(
        "lesson",
        help="run a lesson headless: a claim tested, its result and figure",
        description="Run one of DigitLab's lessons without the window. Each tests one claim "
        "(`digitlab lesson --list` names them) and prints the result in plain English, or as one "
        "JSON object on the last line of stdout with --json. `digitlab lesson NAME --help` shows "
        "a lesson's own options.",
        epilog="Common options of every lesson: --json, --seed N (default 0), --quick (a shorter "
        "run), --plot FILE.png (write the lesson's figure), and for lessons that use a model, "
        "--model PATH|bigger (default: the model shipped with DigitLab; 'bigger' is the bundled "
        "larger model). Ctrl+C stops a lesson cleanly (exit status 130).",
    )
    command.add_argument("--list", action="store_true", help="list the lessons, each with its claim")
    command.add_argument("name", nargs="?", metavar="NAME", help="the lesson to run")
    command.add_argument("options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    # `digitlab --model M lesson NAME` hands the model over through this.
    command.set_defaults(model=None)


def run(args) -> int:
    from digitlab.core.lessons import get_lesson, lesson_names

    if args.list:
        if args.name is not None:
            return _usage_error("lesson", "--list takes no lesson name")
        for name in lesson_names():
            print(f"{name:<12} {get_lesson(name).CLAIM}")
        return 0
    if args.name is None:
        return _usage_error("lesson", "name a lesson to run (`digitlab lesson --list` shows them)")
    try:
        module = get_lesson(args.name)
    except ValueError as err:
        return _usage_error("lesson", str(err))
    parser = lesson_parser(module)
    try:
        options = parser.parse_args(args.options)
    except SystemExit as exit_request:  # --help or a usage error, already printed
        return exit_request.code if isinstance(exit_request.code, int) else 0
    if args.model is not None and getattr(options, "model", None) is None:
        options.model = args.model
    if not module.USES_MODEL and args.model is not None:
        why = getattr(module, "NO_MODEL_REASON", "uses no model")
        parser.error(f"the {module.NAME} lesson {why}, so it takes no --model")
    network = lesson_model(options.model) if module.USES_MODEL else None
    try:
        config = module.config_from_args(options, network)
    except ValueError as err:
        parser.error(str(err))
    if options.quick:
        from digitlab.core.lessons.base import quick_config

        config = quick_config(module, config)
    if options.plot and not Path(options.plot).resolve().parent.is_dir():
        raise CommandError(f"{options.plot}: cannot write the figure there, the folder does not exist")

    result = _run_lesson(module, config, options.seed)
    if result is None:
        return 130
    if options.plot:
        _write_figure(module, result, options.plot)
    if options.json:
        from digitlab.core.lessons.base import json_safe

        print(json.dumps(json_safe(result.to_json()), allow_nan=False), flush=True)
    else:
        print(result.summary(), flush=True)
    if options.plot:
        print(f"wrote the figure to {options.plot}", file=sys.stderr if options.json else sys.stdout)
    return 0


def _usage_error(prog_suffix: str, message: str) -> int:
    print(f"{PROG}: error: {message} (see '{PROG} {prog_suffix} --help')", file=sys.stderr)
    return 2


def lesson_parser(module) -> argparse.ArgumentParser:
    """The parser of ``digitlab lesson NAME``: the common options and the lesson's own."""
    parser = Parser(prog=f"{PROG} lesson {module.NAME}", description=module.CLAIM)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--seed", type=whole_number(0), default=0, metavar="N",
                        help="seed of the lesson's randomness (default: 0)")
    parser.add_argument("--quick", action="store_true", help="a shorter run")
    parser.add_argument("--plot", metavar="FILE.png", help="write the lesson's figure as a PNG")
    if module.USES_MODEL:
        parser.add_argument("--model", metavar="PATH|bigger",
                            help="model file (.npz), or 'bigger' for the bundled larger model; "
                            "default: the model shipped with DigitLab")
    module.add_arguments(parser)
    return parser


def lesson_model(spec: str | None):
    """The network ``--model`` names: a file, ``"bigger"``, or None for the shipped model."""
    from digitlab.cli.common import load_model

    return load_model(spec)[0]


def _run_lesson(module, config, seed: int):
    """The lesson's result, run on a worker thread; None if the user pressed Ctrl+C.

    On the main thread only waiting happens, so Ctrl+C arrives at once; the
    lesson sees it through ``cancel()`` at its next check and stops.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    progress_line = ProgressLine()
    cancelled = threading.Event()
    started = time.monotonic()
    outcome: dict = {}

    def progress(fraction: float, message: str) -> None:
        # Short runs stay silent: a bar flashing by tells nothing.
        if time.monotonic() - started >= _QUIET_SECONDS:
            progress_line.update(f"{module.NAME}  {progress_bar(fraction)}  {message}")

    def work() -> None:
        try:
            outcome["result"] = module.run(config, rng, progress=progress, cancel=cancelled.is_set)
        except BaseException as err:  # handed to the main thread, which reports it
            outcome["error"] = err
        finally:
            finished.set()

    # Waiting on an Event, not Thread.join: in Python 3.11 a Ctrl+C that
    # interrupts join() marks the thread as stopped while it still runs, and
    # the next join() returns at once.
    finished = threading.Event()
    worker = threading.Thread(target=work, name=f"digitlab-lesson-{module.NAME}", daemon=True)
    worker.start()
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancelled.set()
        try:
            finished.wait()  # the lesson stops at its next cancel() check
        except KeyboardInterrupt:
            pass  # a second Ctrl+C: leave without waiting for the lesson
        progress_line.clear()
        print(f"{PROG}: lesson {module.NAME} cancelled", file=sys.stderr)
        return None
    progress_line.clear()
    error = outcome.get("error")
    if error is not None:
        from digitlab.core.lessons.base import LessonCancelled

        if isinstance(error, LessonCancelled):
            print(f"{PROG}: lesson {module.NAME} cancelled", file=sys.stderr)
            return None
        raise error
    return outcome["result"]


def _write_figure(module, result, path: str) -> None:
    try:
        from digitlab import plotting
    except ImportError as err:
        raise CommandError(f"cannot draw the figure without Qt: {err}") from None
    plotting.write_png(module.figure(result), path)

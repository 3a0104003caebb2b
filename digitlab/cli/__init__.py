"""The ``digitlab`` command: the window by default, subcommands for scripts.

::

    digitlab [--model PATH]             open the window
    digitlab predict IMAGE...           which digit is in each picture
    digitlab evaluate [--data DIR]      accuracy and confusion matrix on a test set
    digitlab train [options]            train a network, print or save it
    digitlab lesson --list | NAME       run a lesson headless: its claim tested
    digitlab download                   fetch the full MNIST (about 11 MB)
    digitlab bench                      measure speed and accuracy

Each subcommand lives in its own module of this package, with an
``add_parser(commands)`` and a ``run(args) -> int``.

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
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from digitlab import __version__  # noqa: E402
from digitlab.cli import bench, download, evaluate, lesson, predict, train  # noqa: E402
from digitlab.cli.common import PROG, CommandError, Parser, path_argument, print_error  # noqa: E402
from digitlab.core.fileio import describe_os_error  # noqa: E402
from digitlab.cli.evaluate import confusion_matrix  # noqa: E402,F401  (kept public)

#: The subcommand modules, in the order ``--help`` lists them.
_COMMAND_MODULES = {
    "predict": predict,
    "evaluate": evaluate,
    "train": train,
    "lesson": lesson,
    "download": download,
    "bench": bench,
}


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
        return _COMMAND_MODULES[args.command].run(args)
    except SystemExit as exit_request:  # a usage error found by a subcommand's own parser
        return _exit_status(exit_request.code)
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
        print_error(describe_os_error(err) if isinstance(err, OSError) else str(err))
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``digitlab`` command and its subcommands."""
    parser = Parser(
        prog=PROG,
        description="See how a small neural network learns to read handwritten digits. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--model", dest="gui_model", metavar="PATH", type=path_argument, help="model file to open in the window"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in _COMMAND_MODULES.values():
        module.add_parser(commands)
    return parser


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


def _run_gui(args, extras: list[str]) -> int:
    """Open the main window; Qt is imported only here."""
    if args.gui_model and not Path(args.gui_model).exists():  # a FIFO or folder: the loader says which
        raise CommandError(f"{args.gui_model}: no such model file")
    try:
        from digitlab.ui.app import run_app
    except ImportError as err:
        raise CommandError(f"the window cannot start: {err}") from None
    gui_args = list(extras)
    if args.gui_model:
        gui_args = ["--model", args.gui_model, *gui_args]
    return run_app(gui_args)

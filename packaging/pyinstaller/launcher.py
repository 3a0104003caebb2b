"""Entry script for the frozen app: the same as the ``digitlab`` command.

PyInstaller needs a script file, not a ``module:function`` entry point.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    # Before anything else: the window trains in a child process started with
    # "spawn", which in a frozen app is this executable again, with arguments
    # that freeze_support() recognises and turns into the child's work.
    multiprocessing.freeze_support()
    from digitlab.cli import main

    sys.exit(main())

"""``python -m digitlab``: the same as the ``digitlab`` command."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First of all: a training child started with "spawn" runs this module too.
    multiprocessing.freeze_support()
    from digitlab.cli import main

    sys.exit(main())

"""Entry script for the frozen app: the same as the ``digitlab`` command.

PyInstaller needs a script file, not a ``module:function`` entry point.
"""

import sys

from digitlab.cli import main

if __name__ == "__main__":
    sys.exit(main())

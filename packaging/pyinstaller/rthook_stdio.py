"""PyInstaller runtime hook: give a windowed build real stdout/stderr/stdin.

A windowed (``console=False``) build on Windows, and an app started from the
macOS Finder, runs with ``sys.stdout``, ``sys.stderr`` and ``sys.stdin`` set to
None. ``print`` tolerates that, but ``sys.stdout.write``, ``faulthandler``,
``logging.StreamHandler()`` and ``warnings`` crash on it, so anything that
writes would take the app down. Runtime hooks run before the entry script, so
swapping in the null device here covers the whole frozen app. (The same guard
belongs in ``digitlab.cli.main`` for a pip-installed ``digitlab`` on Windows,
which is a gui-script and so runs under pythonw.exe with the same None streams.)
"""

import os
import sys

for _name, _mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, _mode, encoding="utf-8"))
del _name, _mode

"""``digitlab bench``: training speed, latency and accuracy, each against its target."""

from __future__ import annotations

import sys

from digitlab.cli.common import json_line


def add_parser(commands) -> None:
    command = commands.add_parser(
        "bench",
        help="measure training speed, latency and accuracy",
        description="Measure epoch times (ours and a plain NumPy reference), forward-pass and "
        "preprocessing latency, BLAS set-up, and the shipped model's accuracy, each against its target.",
    )
    command.add_argument("--json", action="store_true", help="print the results as JSON")
    command.add_argument("--quick", action="store_true", help="fewer repeats (less precise, much faster)")
    command.add_argument("--ui", action="store_true", help="also measure the window's responsiveness")


def run(args) -> int:
    from digitlab import bench

    results = bench.run(quick=args.quick, ui=args.ui, progress=lambda text: print(text, file=sys.stderr))
    if args.json:
        json_line(results)
    else:
        print(bench.format_table(results))
    return 0

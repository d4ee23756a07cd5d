"""Benchmark: how fast the command line answers, against merely importing typer.

Each measurement is a fresh Python process, run alternately and repeated: `shrinkwatch --help`,
`shrinkwatch standards list` and `shrinkwatch data list` against `python -c "import typer"` (the
floor: a typer command line cannot start faster). Reported: the median wall time of each and its
ratio to the floor (goal for `--help`: at most 2x).

    python benchmarks/bench_cli.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench_run import measure

FLOOR = [sys.executable, "-c", "import typer"]
COMMANDS = {
    "floor (import typer)": FLOOR,
    "shrinkwatch --help": [sys.executable, "-m", "shrinkwatch", "--help"],
    "shrinkwatch standards list": [sys.executable, "-m", "shrinkwatch", "standards", "list"],
    "shrinkwatch data list": [sys.executable, "-m", "shrinkwatch", "data", "list"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the OS file cache once
        measure(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, command in COMMANDS.items():
            times[name].append(measure(command)[0])
    floor = statistics.median(times["floor (import typer)"])
    print(f"{args.repeat} alternating cold processes each")
    for name in COMMANDS:
        median = statistics.median(times[name])
        print(f"{name:30s} {median:6.3f} s  {median / floor:5.2f}x floor")
    print("goal: shrinkwatch --help <= 2x floor")


if __name__ == "__main__":
    main()

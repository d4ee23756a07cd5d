"""Benchmark: `shrinkwatch run` on the default dataset, cold, against the import floor.

Each measurement is a fresh Python process (cold: nothing imported or cached in
memory), run alternately and repeated; the floor is merely importing pandas and
geopandas in the same kind of process. Reported: median wall time of each,
the ratio run / floor (goal: <= 3x), and the peak resident memory of each.

    python benchmarks/bench_run.py [--repeat 5] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

FLOOR = [sys.executable, "-c", "import pandas, geopandas"]


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: exec the command with output silenced
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(command[0], command)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(command)}")
    return wall, usage.ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="cn-prefecture-census")
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="bench_run_")
    # every run records, as a user's does, into a store of the benchmark's own
    store = ["--store", os.path.join(tempfile.mkdtemp(prefix="bench_store_"), "runs.duckdb")]
    core = [sys.executable, "-m", "shrinkwatch", "run", "--dataset", args.dataset, "--out", out, "--no-analysis",
            *store]
    full = [sys.executable, "-m", "shrinkwatch", "run", "--dataset", args.dataset, "--out", out, *store]
    bare = [*core[:-2], "--no-store"]
    if args.data_dir:
        core += ["--data-dir", args.data_dir]
        full += ["--data-dir", args.data_dir]
        bare += ["--data-dir", args.data_dir]
    subprocess.run(full, check=True, capture_output=True)  # warm the OS file cache once, like any second run
    commands = {"floor (import pandas+geopandas)": FLOOR, "run --no-analysis (load, identify, report)": core,
                "run --no-analysis --no-store": bare, "run (with all analysis sections)": full}
    times: dict[str, list[float]] = {name: [] for name in commands}
    memory: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            t, m = measure(command)
            times[name].append(t)
            memory[name].append(m)
    floor = statistics.median(times["floor (import pandas+geopandas)"])
    print(f"dataset: {args.dataset}; {args.repeat} alternating cold processes each")
    for name in commands:
        median = statistics.median(times[name])
        print(f"{name:45s} {median:6.2f} s  peak RSS {max(memory[name]):7.1f} MiB  {median / floor:5.2f}x floor")
    print("goal: run --no-analysis <= 3x floor (the analysis adds esda/libpysal, statsmodels, LightGBM and "
          "scikit-learn, whose imports alone exceed that)")


if __name__ == "__main__":
    main()

"""Benchmark: `shrinkwatch run` on the default dataset, cold, against the import floor.

Each measurement is a fresh Python process (cold: nothing imported or cached in
memory), run alternately and repeated; the floor is merely importing pandas and
geopandas in the same kind of process. Reported: median wall time of each,
the ratio run / floor (goals: `run --no-analysis` <= 3x, the full `run` <= 4x,
issue 15), and the peak resident memory of each. The `--no-store` variants show
what the run store adds.

    python benchmarks/bench_run.py [--repeat 5] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

FLOOR = [sys.executable, "-c", "import pandas, geopandas"]


@dataclass(frozen=True)
class Usage:
    """What one child process used: wall seconds, CPU seconds (user + system, its threads and children
    included) and peak resident memory (MiB). CPU time is the steadier reading on a shared machine."""

    wall: float
    cpu: float
    peak_mib: float


class CommandFailed(SystemExit):
    """A measured command exited with an error, or was stopped at its time limit (``timed_out``)."""

    def __init__(self, command: list[str], code: int, usage: Usage, timed_out: bool = False) -> None:
        what = "over its time limit" if timed_out else f"exit code {code}"
        super().__init__(f"command failed ({what}): {' '.join(command)}")
        self.code, self.usage, self.timed_out = code, usage, timed_out


def usage_of(command: list[str], limit: float | None = None, stderr: str | None = None) -> Usage:
    """Run ``command`` as a child process (output silenced) and return what it used.

    With ``limit`` (seconds) the child runs in a process group of its own and is killed when it passes the
    limit; a failure or a kill raises :class:`CommandFailed` (a ``SystemExit``) with the usage until then.
    ``stderr``: a file that receives the child's standard error (else it is silenced too).
    """
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: exec the command with output silenced
        if limit is not None:
            os.setpgid(0, 0)  # its own process group: a kill at the limit reaches anything it started
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull if stderr is None else os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        os.execv(command[0], command)
    timed_out = False
    if limit is None:
        _, status, rusage = os.wait4(pid, 0)
    else:
        while True:
            done, status, rusage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.perf_counter() - start > limit:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                _, status, rusage = os.wait4(pid, 0)
                break
            time.sleep(0.05)
    used = Usage(time.perf_counter() - start, rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss / 1024.0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or timed_out:
        raise CommandFailed(command, code, used, timed_out)
    return used


def measure(command: list[str], limit: float | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process (see :func:`usage_of`)."""
    used = usage_of(command, limit)
    return used.wall, used.peak_mib


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
    full_bare = [*full[:-2], "--no-store"]
    if args.data_dir:
        core += ["--data-dir", args.data_dir]
        full += ["--data-dir", args.data_dir]
        bare += ["--data-dir", args.data_dir]
        full_bare += ["--data-dir", args.data_dir]
    subprocess.run(full, check=True, capture_output=True)  # warm the OS file cache once, like any second run
    commands = {"floor (import pandas+geopandas)": FLOOR, "run --no-analysis (load, identify, report)": core,
                "run --no-analysis --no-store": bare, "run (with all analysis sections)": full,
                "run --no-store": full_bare}
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    memory: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            used = usage_of(command)
            times[name].append(used.wall)
            cpu[name].append(used.cpu)
            memory[name].append(used.peak_mib)
    floor = statistics.median(times["floor (import pandas+geopandas)"])
    floor_cpu = statistics.median(cpu["floor (import pandas+geopandas)"])
    print(f"dataset: {args.dataset}; {args.repeat} alternating cold processes each; "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    for name in commands:
        median = statistics.median(times[name])
        median_cpu = statistics.median(cpu[name])
        print(f"{name:45s} {median:6.2f} s  peak RSS {max(memory[name]):7.1f} MiB  {median / floor:5.2f}x floor"
              f"  (CPU {median_cpu:6.2f} s, {median_cpu / floor_cpu:5.2f}x the floor's)")
    print("goals: run --no-analysis <= 3x floor; run (full) <= 4x floor (issue 15; the analysis adds esda/libpysal, "
          "statsmodels, LightGBM and scikit-learn, imported only by the stages that use them)")


if __name__ == "__main__":
    main()

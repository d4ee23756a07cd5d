"""Benchmark: the command line on generated panels of 3,000, 100,000 and 1,000,000 units x 30 years (issue 15).

For each size, four commands run as fresh CLI processes on the panel file of
:func:`scale_panels.scale_panel_file` (written once, then reused):

- ``identify``: the default standard, the explained table written as CSV;
- the sweep: ``sensitivity`` over 1,008 settings of consecutive-decline
  (n = 1..9 x min_annual_loss = 0, 0.0001, ..., 0.0111), counts and per-unit CSVs;
- ``run --no-analysis --no-store`` and the full ``run --no-store``.

Each is measured once: wall time, peak resident memory of the child
(``wait4``'s ``ru_maxrss``) and its CPU time (user + system, printed in a
second table: the steadier reading on a shared machine). A command past ``--limit`` seconds is killed and
reported as "over N s" (its peak memory until then is kept); one that fails
is reported with its exit code. The import floor (``python -c "import pandas,
geopandas"``, the median of five, before and after) is measured in the same run.

Printed: one row per command with time / peak memory per size, the growth
factor in time per 10x units (from 3k to 100k it is (t100k / t3k) ** (1 /
log10(100000 / 3000))), and the issue's goals beside the numbers:
full ``run`` at 1M under 10 minutes and 8 GiB, at 100k under 60 s; ``identify``
at 1M under 10 s and 2 GiB; the sweep at 1M under 8 GiB; growth per 10x units
at most 12x in time.

    PYTHONPATH=src python benchmarks/bench_scale.py --sizes 3000,100000
    flock /tmp/bigmem.lock env PYTHONPATH=src python benchmarks/bench_scale.py   # with 1M: about 6-12 GiB

The machine is shared: the load average is printed; compare sizes and the
floor within one run, not across runs.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from bench_run import FLOOR, CommandFailed, usage_of

HERE = Path(__file__).resolve().parent
SIZES = (3_000, 100_000, 1_000_000)
#: 9 run lengths x 112 loss thresholds = 1,008 settings of consecutive-decline
SWEEP = ["--standard", "consecutive-decline", "--vary", "n=" + ",".join(str(n) for n in range(1, 10)),
         "--vary", "min_annual_loss=" + ",".join(f"{i / 10000:g}" for i in range(112))]
GIB = 1024.0


@dataclass(frozen=True)
class Goal:
    """A goal of the issue for one command: at ``units`` (None: every size), time and memory bounds."""

    units: int | None
    seconds: float | None = None
    mib: float | None = None

    def text(self) -> str:
        parts = [f"< {_duration(self.seconds)}" if self.seconds else "", f"< {_memory(self.mib)}" if self.mib else ""]
        where = f"at {_units(self.units)}" if self.units else "every size"
        return f"{where}: {', '.join(p for p in parts if p)}"


#: command name -> goals (issue 15, "Deliver" item 5); growth per 10x units: at most GROWTH_GOAL in time.
GOALS: dict[str, list[Goal]] = {
    "identify": [Goal(1_000_000, seconds=10, mib=2 * GIB)],
    "sweep": [Goal(1_000_000, mib=8 * GIB)],
    "run --no-analysis": [],
    "run": [Goal(100_000, seconds=60), Goal(1_000_000, seconds=600, mib=8 * GIB)],
}
GROWTH_GOAL = 12.0


@dataclass(frozen=True)
class Result:
    """One measured command: wall seconds, peak RSS (MiB), CPU seconds, and how it ended (``"ok"``, ``"over"``,
    ``"failed (exit N)"``)."""

    seconds: float
    mib: float
    cpu: float
    ended: str = "ok"

    def cell(self, limit: float) -> str:
        if self.ended == "over":
            return f"over {limit:g} s / {_memory(self.mib)}+"
        if self.ended != "ok":
            return f"{self.ended} after {_duration(self.seconds)}"
        return f"{_duration(self.seconds)} / {_memory(self.mib)}"


def _units(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n % 1000 == 0 else str(n))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:.1f} min" if seconds >= 600 else f"{seconds:.1f} s" if seconds >= 10 else f"{seconds:.2f} s"


def _memory(mib: float | None) -> str:
    if mib is None:
        return "-"
    return f"{mib / GIB:.1f} GiB" if mib >= GIB else f"{mib:.0f} MiB"


def panel_file(units: int, years: int, folder: Path | None) -> Path:
    """The generated panel's file, written by ``scale_panels.py`` in a process of its own (its memory is not ours)."""
    command = [sys.executable, str(HERE / "scale_panels.py"), str(units), "--years", str(years)]
    if folder is not None:
        command += ["--out", str(folder)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return Path(done.stdout.strip().splitlines()[-1])


def commands(path: Path, out: Path) -> dict[str, list[str]]:
    """The four measured commands on ``path``, writing into ``out``."""
    cli = [sys.executable, "-m", "shrinkwatch"]
    data = ["--dataset", str(path)]
    return {
        "identify": [*cli, "identify", *data, "--output", str(out / "identification.csv")],
        "sweep": [*cli, "sensitivity", *data, *SWEEP, "--output", str(out / "counts.csv"),
                                   "--units-output", str(out / "units.csv")],
        "run --no-analysis": [*cli, "run", *data, "--out", str(out / "run-core"), "--no-analysis", "--no-store"],
        "run": [*cli, "run", *data, "--out", str(out / "run-full"), "--no-store"],
    }


def run_one(command: list[str], limit: float, errors: Path) -> Result:
    try:
        used = usage_of(command, limit=limit, stderr=str(errors))
    except CommandFailed as failed:
        used, ended = failed.usage, "over" if failed.timed_out else f"failed (exit {failed.code})"
        if not failed.timed_out:  # say why: the end of its standard error
            tail = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            print("    " + "\n    ".join(tail), flush=True)
        return Result(used.wall, used.peak_mib, used.cpu, ended)
    return Result(used.wall, used.peak_mib, used.cpu)


def floor(repeat: int) -> list[tuple[float, float]]:
    """Wall and CPU seconds of ``repeat`` import floors."""
    return [(used.wall, used.cpu) for used in (usage_of(FLOOR) for _ in range(repeat))]


def growth(small: tuple[int, Result], large: tuple[int, Result]) -> float | None:
    """Time factor per 10x units between two sizes (None when either did not finish)."""
    (n_small, r_small), (n_large, r_large) = small, large
    if r_small.ended != "ok" or r_large.ended != "ok":
        return None
    return (r_large.seconds / r_small.seconds) ** (1.0 / math.log10(n_large / n_small))


def verdict(goal: Goal, result: Result | None) -> str:
    if result is None:
        return "not measured"
    if result.ended == "ok":
        met = (goal.seconds is None or result.seconds < goal.seconds) and (goal.mib is None or result.mib < goal.mib)
        return "met" if met else "MISSED"
    if result.ended == "over" and goal.seconds is None and goal.mib is not None and result.mib < goal.mib:
        return "not finished"  # a memory goal: under it until the kill
    return "MISSED"


def table(results: dict[str, dict[int, Result]], sizes: list[int], limit: float, floor_s: float) -> str:
    header = ["command", *(f"{_units(n)} units" for n in sizes), "growth per 10x (time)", "goals"]
    rows = [header]
    for name, by_size in results.items():
        cells = [by_size[n].cell(limit) for n in sizes]
        factors = [growth((a, by_size[a]), (b, by_size[b])) for a, b in zip(sizes, sizes[1:])]
        growth_text = ", ".join(
            f"{_units(a)}->{_units(b)}: " + (f"{g:.1f}x {'met' if g <= GROWTH_GOAL else 'MISSED'}" if g else "-")
            for (a, b), g in zip(zip(sizes, sizes[1:]), factors))
        goals = [f"{g.text()} [{verdict(g, by_size.get(g.units) if g.units else None)}]" for g in GOALS[name]]
        rows.append([name, *cells, growth_text or "-", "; ".join(goals) or "-"])
    rows.append(["import floor", *(f"{_duration(floor_s)}" for _ in sizes), "-", "pandas + geopandas, median"])
    return _aligned(rows)


def _aligned(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns, a rule under the first."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cpu_table(results: dict[str, dict[int, Result]], sizes: list[int], floor_cpu: float) -> str:
    """CPU seconds (user + system) per command and size, and their growth per 10x units: steadier than wall time
    on a shared machine."""
    rows = [["CPU seconds", *(f"{_units(n)} units" for n in sizes), "growth per 10x (CPU)"]]
    for name, by_size in results.items():
        cpu = {n: replace(r, seconds=r.cpu) for n, r in by_size.items()}
        factors = [growth((a, cpu[a]), (b, cpu[b])) for a, b in zip(sizes, sizes[1:])]
        rows.append([name, *(f"{_duration(by_size[n].cpu)}{'' if by_size[n].ended == 'ok' else '+'}" for n in sizes),
                     ", ".join(f"{_units(a)}->{_units(b)}: {g:.1f}x" if g else f"{_units(a)}->{_units(b)}: -"
                               for (a, b), g in zip(zip(sizes, sizes[1:]), factors)) or "-"])
    rows.append(["import floor", *(_duration(floor_cpu) for _ in sizes), "-"])
    return _aligned(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES),
                        help="comma-separated unit counts (default: 3000,100000,1000000)")
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds per command before it is killed")
    parser.add_argument("--only", default=None,
                        help="comma-separated commands to measure: identify, sweep, run --no-analysis, run (default: all)")
    parser.add_argument("--panels", type=Path, default=None,
                        help="folder of the generated panel files (default: $TMPDIR/shrinkwatch-scale)")
    args = parser.parse_args()
    sizes = sorted(int(n.replace("_", "")) for n in args.sizes.split(","))
    names = list(GOALS) if args.only is None else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in GOALS]
    if unknown:
        raise SystemExit(f"--only: unknown command {unknown}; expected some of {list(GOALS)}")

    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)", flush=True)
    floor_times = floor(5)
    results: dict[str, dict[int, Result]] = {name: {} for name in names}
    for units in sizes:
        path = panel_file(units, args.years, args.panels)
        out = Path(tempfile.mkdtemp(prefix=f"bench_scale_{units}_"))
        try:
            for name, command in commands(path, out).items():
                if name not in names:
                    continue
                result = run_one(command, args.limit, out / "stderr.txt")
                results[name][units] = result
                print(f"  {_units(units):>5} units  {name:24s} {result.cell(args.limit)}  (CPU {result.cpu:.1f} s)",
                      flush=True)
                if name == "sweep" and result.ended == "ok":
                    settings = sum(1 for _ in open(out / "counts.csv", encoding="utf-8")) - 1
                    if settings != 1008:
                        print(f"    note: the sweep wrote {settings} settings, not 1,008", flush=True)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    floor_times += floor(5)
    floor_s = statistics.median(wall for wall, _ in floor_times)
    floor_cpu = statistics.median(cpu for _, cpu in floor_times)
    print()
    print(f"Generated panels x {args.years} years, one fresh `python -m shrinkwatch ... --dataset FILE` process per "
          f"cell (time / peak RSS); limit {args.limit:g} s per command; load average at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("sweep: `sensitivity` over 1,008 settings of consecutive-decline; run: the full run, all analysis sections")
    print(table(results, sizes, args.limit, floor_s))
    print(f"growth goal: at most {GROWTH_GOAL:g}x in time per 10x units; import floor "
          f"(python -c \"import pandas, geopandas\") {floor_s:.2f} s, median of {len(floor_times)}")
    print()
    print(cpu_table(results, sizes, floor_cpu))


if __name__ == "__main__":
    main()

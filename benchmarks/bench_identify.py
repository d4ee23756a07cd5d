"""Benchmark: the identification engine against a plain per-unit pandas reference.

    python benchmarks/bench_identify.py [--units 100000] [--years 30] [--data-dir DIR]

For consecutive-decline, census-decline and peak-loss, on the US county panel
(3,142 counties x 2010-2019) and on a generated panel (seeded random walks,
100,000 units x 30 years, 1 % of values missing):

- the reference (``reference_identify.py``: a loop over units with pandas
  Series operations) and the engine are timed on the same Panel, the engine
  twice: ``identify`` (the full explained table: criteria, severity, pattern,
  reasons) and the verdicts only (a fresh kernel, the reference's output);
- the verdicts are asserted equal, unit by unit;
- the ratio reference / engine is printed (goal >= 50x), in wall time (the goal's measure) and in CPU time
  (steadier on a shared machine, but it counts every thread: Arrow and pandas run some kernels on several,
  so on an idle machine it understates the engine's ratio).

Then a 1,000-combination sensitivity sweep over the US counties
(consecutive-decline: n 1..10 x min_annual_loss 100 values; goal < 0.5 s),
next to a bare NumPy loop over the same combinations; the 1,008-setting sweep of
the scale benchmark (consecutive-decline: n 1..9 x min_annual_loss 0..0.0111 by
0.0001, 112 thresholds) on the generated panel, the one-pass sweep next to the
sweep as it was (every setting by itself, every threshold's flags cached for the
whole sweep), with wall time and peak memory of each (tracemalloc), results
asserted equal; and the peak memory of the engine on the large panel.
``--skip-old-sweep`` leaves the old sweep out (it holds about 2 GiB at 100,000
units: run it under ``flock /tmp/bigmem.lock``). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_identify import (  # noqa: E402
    reference_census_decline,
    reference_consecutive_decline,
    reference_peak_loss,
)
from scale_panels import random_walks  # noqa: E402

from shrinkwatch import datasets  # noqa: E402
from shrinkwatch.core import Panel  # noqa: E402
from shrinkwatch.identification import identify, kernel_class, load_standard  # noqa: E402
from shrinkwatch.identification.sensitivity import SWEEP_CACHE_BYTES, sweep  # noqa: E402

#: The scale benchmark's sweep (issue 15): 9 x 112 = 1,008 settings.
SCALE_SWEEP = {"n": list(range(1, 10)), "min_annual_loss": [round(0.0001 * i, 6) for i in range(112)]}


def generated_panel(n_units: int, n_years: int, seed: int = 20250101) -> Panel:
    """:func:`scale_panels.random_walks` (the scale benchmark's generator) as a bare panel, years from 1995."""
    unit_ids, values = random_walks(np.random.default_rng(seed), n_units, n_years)
    years = np.arange(1995, 1995 + n_years)
    units = pd.DataFrame({"name": unit_ids}, index=pd.Index(unit_ids, name="unit_id"))
    index = pd.MultiIndex.from_product([unit_ids, years], names=["unit_id", "year"])
    frame = pd.DataFrame({"pop_resident": values.ravel()}, index=index)
    return Panel(units, frame, {"id": f"generated-{n_units}x{n_years}", "language": "en"})


def timed(function: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs, with the garbage collector off while timing (as timeit does)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = function()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best, result


def timed_cpu(function: Callable[[], object], repeat: int = 1) -> tuple[float, float, object]:
    """Best wall time and best CPU time of this process (all its threads) of ``repeat`` runs, as :func:`timed`.

    On a shared machine the CPU time is the steadier measure (a process waiting for a core loses wall time,
    not CPU time); it sums all the process's threads."""
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            result = function()
            best_wall = min(best_wall, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        finally:
            gc.enable()
    return best_wall, best_cpu, result


def engine_statuses(panel: Panel, standard: str) -> np.ndarray:
    """The engine's verdicts only (what the reference computes): a fresh kernel, no caching across calls."""
    std = load_standard(standard)
    kernel = kernel_class(std.rule)(panel, std)
    verdict = kernel.verdict(kernel.parameters_of(std.resolve({})))
    return np.select([verdict.yes, verdict.no], ["shrinking", "not_shrinking"], "insufficient_data")


def compare(panel: Panel, label: str, repeat_engine: int, repeat_reference: int) -> list[dict[str, object]]:
    year = panel.observed_years[-1]
    first = panel.years[0]
    cases = [
        ("consecutive-decline", {}, lambda: reference_consecutive_decline(panel, year, 3)),
        ("census-decline", {}, lambda: reference_census_decline(panel, first, year)),
        ("peak-loss", {}, lambda: reference_peak_loss(panel, year)),
    ]
    rows = []
    for standard, settings, reference in cases:
        engine_time, engine_cpu, result = timed_cpu(lambda: identify(panel, standard, settings, lang="en"),
                                                    repeat_engine)
        verdict_time, verdicts = timed(lambda: engine_statuses(panel, standard), repeat_engine)
        reference_time, reference_cpu, expected = timed_cpu(reference, repeat_reference)
        got = result.table["status"]  # type: ignore[union-attr]
        mismatched = int((got != expected).sum())
        assert mismatched == 0, f"{label} {standard}: {mismatched} verdicts differ from the reference"
        assert (np.asarray(verdicts) == expected.to_numpy()).all(), f"{label} {standard}: verdict path differs"
        counts = got.value_counts()
        rows.append({
            "panel": label, "standard": standard, "units": len(got),
            "shrinking": int(counts.get("shrinking", 0)), "insufficient": int(counts.get("insufficient_data", 0)),
            "reference_s": reference_time, "identify_s": engine_time, "verdicts_s": verdict_time,
            "x_identify": reference_time / engine_time, "x_verdicts": reference_time / verdict_time,
            "x_identify_cpu": reference_cpu / max(engine_cpu, 1e-9),
        })
        print(f"  {label:<22} {standard:<20} reference {reference_time:8.3f} s | identify (explained table) "
              f"{engine_time:7.3f} s x{reference_time / engine_time:6.1f} | verdicts only {verdict_time:7.3f} s "
              f"x{reference_time / verdict_time:7.1f} | CPU time: identify x{rows[-1]['x_identify_cpu']:6.1f} | "
              f"{counts.get('shrinking', 0)} shrinking, verdicts equal",
              flush=True)
    return rows


def bare_numpy_sweep(matrix: np.ndarray, ns: list[int], thresholds: list[float]) -> np.ndarray:
    """The same 1,000-combination consecutive-decline sweep as a plain NumPy loop (counts + per-unit tallies)."""
    n_units, n_years = matrix.shape
    shrinking_count = np.zeros(n_units, dtype=np.int32)
    counts = []
    for n in ns:
        for threshold in thresholds:
            first = max(n_years - n, 1)
            before, after = matrix[:, first - 1 : n_years - 1], matrix[:, first:]
            known = np.isfinite(before) & np.isfinite(after)
            falling = after < before * (1.0 - threshold)
            yes = (falling & known).all(axis=1) & (n_years - first == n)
            no = (~falling & known).any(axis=1)
            shrinking_count += yes
            counts.append((int(yes.sum()), int(no.sum())))
    return np.array(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--skip-old-sweep", action="store_true", help="leave out the old sweep (about 2 GiB)")
    args = parser.parse_args()

    print("engine vs per-unit pandas reference (same Panel, verdicts asserted equal)")
    counties = datasets.load("us-county-est", args.data_dir)
    rows = compare(counties, "us-county-est", repeat_engine=5, repeat_reference=1)
    start = time.perf_counter()
    large = generated_panel(args.units, args.years)
    print(f"  (generated {args.units:,} x {args.years} panel in {time.perf_counter() - start:.2f} s)")
    rows += compare(large, f"generated {args.units // 1000}k x {args.years}", repeat_engine=3, repeat_reference=1)

    print("\n1,000-combination sensitivity sweep, US counties (consecutive-decline: n 1..10 x 100 loss thresholds)")
    ns = list(range(1, 11))
    thresholds = [round(x, 6) for x in np.linspace(0.0, 0.0099, 100)]
    sweep_time, result = timed(lambda: sweep(counties, "consecutive-decline",
                                             {"n": ns, "min_annual_loss": thresholds}), repeat=5)
    matrix = counties.matrix("pop_resident")
    bare_time, bare_counts = timed(lambda: bare_numpy_sweep(matrix, ns, thresholds), repeat=5)
    engine_counts = result.counts[["shrinking", "not_shrinking"]].to_numpy()  # type: ignore[union-attr]
    assert (engine_counts == bare_counts).all(), "sweep counts differ from the bare NumPy loop"
    print(f"  engine sweep {sweep_time * 1000:7.1f} ms   bare NumPy loop {bare_time * 1000:7.1f} ms   "
          f"(goal < 500 ms; counts equal)")
    other = sweep(counties, "peak-loss", {"peak_ratio": [round(x, 3) for x in np.linspace(0.76, 1.0, 25)],
                                          "decline_years": [1, 2, 3, 4, 5], "decline_window": list(range(5, 13))})
    peak_time, _ = timed(lambda: sweep(counties, "peak-loss", {k: list(v) for k, v in other.vary.items()}), repeat=5)
    print(f"  peak-loss sweep (25 x 5 x 8 = 1,000 combinations) {peak_time * 1000:7.1f} ms")

    print(f"\n1,008-setting sweep, generated {args.units:,} x {args.years} panel (consecutive-decline: n 1..9 x "
          "112 loss thresholds), wall time and peak memory (tracemalloc)")
    now, before = "one pass (now)", "every setting, unbounded cache (before)"
    options: dict[str, dict[str, object]] = {now: {}}
    if not args.skip_old_sweep:
        options[before] = {"one_pass": False, "cache_bytes": None}
    measured, sweeps = {}, {}
    for name, chosen in options.items():
        gc.collect()
        tracemalloc.start()
        start = time.perf_counter()
        measured[name] = sweep(large, "consecutive-decline", SCALE_SWEEP, **chosen)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sweeps[name] = {"s": elapsed, "peak": peak}
        print(f"  {name:<40} {elapsed:8.2f} s   peak {peak / 2**20:8.1f} MiB", flush=True)
    if before in measured:
        pd.testing.assert_frame_equal(measured[now].counts, measured[before].counts)
        pd.testing.assert_frame_equal(measured[now].units, measured[before].units)
        print(f"  one pass: x{sweeps[before]['s'] / sweeps[now]['s']:.1f} faster, "
              f"x{sweeps[before]['peak'] / sweeps[now]['peak']:.1f} less memory "
              f"(results equal; the kernel's cache is bounded by {SWEEP_CACHE_BYTES / 2**30:.0f} GiB)")

    print("\npeak memory of the engine on the generated panel (tracemalloc, Python and NumPy allocations)")
    for standard in ("consecutive-decline", "census-decline", "peak-loss"):
        gc.collect()
        tracemalloc.start()
        identify(large, standard, lang="en")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {standard:<20} {peak / 2**20:8.1f} MiB")
    panel_bytes = large.values.memory_usage(deep=True).sum() + large.units.memory_usage(deep=True).sum()
    print(f"  (the panel itself holds {panel_bytes / 2**20:.1f} MiB; process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")

    table = pd.DataFrame(rows)
    print("\nsummary")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nlowest speed-up: explained identify {table['x_identify'].min():.0f}x (CPU time "
          f"{table['x_identify_cpu'].min():.0f}x), verdicts only "
          f"{table['x_verdicts'].min():.0f}x (goal >= 50x); sweep {sweep_time * 1000:.0f} ms (goal < 500 ms); "
          f"1,008-setting sweep at {args.units:,} units {sweeps[now]['s']:.2f} s, peak "
          f"{sweeps[now]['peak'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()

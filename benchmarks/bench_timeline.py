"""Benchmark: the status timeline against a per-year loop over ``identify``.

    python benchmarks/bench_timeline.py [--units 100000] [--years 30] [--data-dir DIR] [--baseline-years 0]

On a generated panel (the seeded random walks of ``bench_identify.py``: 100,000 units x 30 years, 1 % of
values missing) and on the US county panel (3,142 counties x 2010-2019), for each standard:

- ``timeline`` (every as-of year, the per-unit onset, spells and recoveries, the counts, entries and exits per
  year) is timed (best of 3);
- the baseline, in the same run: what one would write without it, ``identify`` with the evaluation year set
  to each as-of year in turn (one explained table per year), then the per-year status columns gathered into
  a units x years table; ``--baseline-years N`` times it on the last N as-of years only and scales it to all
  of them (0: every year);
- the statuses are asserted equal, year by year (on the years the baseline ran);
- the ratio baseline / timeline is printed. Goal: the timeline of 100,000 units x 30 years in under 1 s.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_identify import generated_panel, timed  # noqa: E402

from shrinkwatch import datasets  # noqa: E402
from shrinkwatch.core import Panel  # noqa: E402
from shrinkwatch.identification import identify  # noqa: E402
from shrinkwatch.identification.timeline import timeline  # noqa: E402

STANDARDS = ("consecutive-decline", "census-decline", "peak-loss", "scirn")


def baseline(panel: Panel, standard: str, settings: dict[str, object], field: str, years: list[int]) -> pd.DataFrame:
    """``identify`` once per as-of year, its status column gathered into a units x years table."""
    columns = {year: identify(panel, standard, {**settings, field: year}, lang="en").table["status"]
               for year in years}
    return pd.DataFrame(columns, index=panel.units.index)


def compare(panel: Panel, label: str, baseline_years: int) -> list[dict[str, object]]:
    rows = []
    for standard in STANDARDS:
        settings: dict[str, object] = {"window": 5} if standard == "scirn" else {}
        engine_time, result = timed(lambda: timeline(panel, standard, settings), repeat=3)
        assert result is not None
        years = list(result.years)  # type: ignore[attr-defined]
        field = result.as_of_field  # type: ignore[attr-defined]
        sample = years[-baseline_years:] if baseline_years else years
        base_time, expected = timed(lambda: baseline(panel, standard, settings, field, sample))
        scaled = base_time * len(years) / len(sample)
        got = result.status[sample].astype(str)  # type: ignore[attr-defined]
        mismatched = int((got.to_numpy() != expected.to_numpy()).sum())  # type: ignore[union-attr]
        assert mismatched == 0, f"{label} {standard}: {mismatched} statuses differ from identify"
        rows.append({"panel": label, "standard": standard, "units": len(panel.units), "as_of_years": len(years),
                     "timeline_s": engine_time, "baseline_s": scaled, "x": scaled / engine_time})
        print(f"  {label:<24} {standard:<20} {len(years):3d} as-of years | timeline {engine_time:7.3f} s | "
              f"identify per year {scaled:8.2f} s{' (scaled from ' + str(len(sample)) + ' years)' if len(sample) < len(years) else ''}"
              f" | x{scaled / engine_time:6.1f} | statuses equal", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--baseline-years", type=int, default=0)
    args = parser.parse_args()

    print("status timeline vs identify once per as-of year (same Panel, statuses asserted equal)")
    counties = datasets.load("us-county-est", args.data_dir)
    rows = compare(counties, "us-county-est", 0)
    large = generated_panel(args.units, args.years)
    rows += compare(large, f"generated {args.units // 1000}k x {args.years}", args.baseline_years)
    table = pd.DataFrame(rows)
    print("\nsummary")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    big = table[table["units"] == args.units]
    print(f"\n{args.units:,} units x {args.years} years: timeline {big['timeline_s'].min():.2f}-"
          f"{big['timeline_s'].max():.2f} s (goal < 1 s), {np.floor(big['x'].min()):.0f}-{big['x'].max():.0f}x "
          "faster than identify per year")


if __name__ == "__main__":
    main()

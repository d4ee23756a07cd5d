"""Benchmark: peak memory and time of :func:`shrinkwatch.core.panelfile.read_panel` at scale.

    python benchmarks/bench_panelfile.py [UNITS ...]          # default 100000; 1000000 under flock /tmp/bigmem.lock

Reads the generated panel of ``scale_panels.py`` (``UNITS`` x 30 years, one indicator,
point geometry) in a fresh process per measurement, side by side with two baselines on
the same file in the same run: ``pyarrow.parquet.read_table`` (the Arrow floor: the
bytes into Arrow, nothing converted) and the reader before issue 15 (``reference_panelfile.py``:
the whole table read, then ``MultiIndex.from_arrays`` over a per-row array of unit ids).
Peak memory is the peak RSS above the import floor (pandas, geopandas, pyarrow, shapely).
Goal: a 1,000,000 x 30 panel loads with a peak RSS under 1.5 GiB (imports included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale_panels import scale_panel_file  # noqa: E402

_MEASURE = """
import json, resource, sys, time
import geopandas, numpy, pandas, pyarrow.parquet as pq, shapely
sys.path.insert(0, {here!r})
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if {which!r} == "arrow":
    read = pq.read_table
elif {which!r} == "previous":
    from reference_panelfile import read_panel_previous as read
else:
    from shrinkwatch.core.panelfile import read_panel as read
floor = peak(); start = time.perf_counter(); result = read({path!r}); seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak": peak(), "floor": floor}}))
"""


def measure(which: str, path: Path) -> dict[str, float]:
    """Time and peak RSS (MiB) of one reader on ``path`` in a fresh process."""
    code = _MEASURE.format(here=str(HERE), which=which, path=str(path))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("units", type=int, nargs="*", default=[100_000])
    parser.add_argument("--skip-previous", action="store_true", help="leave out the reader before issue 15")
    args = parser.parse_args()
    print(f"{'units':>10} {'reader':>10} {'time s':>8} {'peak MiB':>9} {'above imports':>14}")
    for units in args.units:
        path = scale_panel_file(units)
        rows = {}
        for which in ["arrow", "read_panel"] + ([] if args.skip_previous else ["previous"]):
            rows[which] = measure(which, path)
            r = rows[which]
            print(f"{units:>10,} {which:>10} {r['seconds']:>8.2f} {r['peak']:>9.0f} {r['peak'] - r['floor']:>14.0f}")
        new = rows["read_panel"]
        ratio = f"{new['peak'] / rows['arrow']['peak']:.2f}x the Arrow floor's peak"
        if "previous" in rows:
            old = rows["previous"]
            ratio += (f", {new['peak'] / old['peak']:.2f}x the previous reader's peak, "
                      f"{new['seconds'] / old['seconds']:.2f}x its time")
        goal = "met" if units < 1_000_000 or new["peak"] < 1536 else "NOT met"
        print(f"{'':>10} read_panel: {ratio}; 1M goal (< 1.5 GiB peak) {goal if units >= 1_000_000 else 'n/a'}")


if __name__ == "__main__":
    main()

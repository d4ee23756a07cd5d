"""Benchmark: two analysis steps of a large run, now against before issue 15's changes, in the same run.

    PYTHONPATH=src python benchmarks/bench_analysis.py [UNITS ...]      # default 100000

On the generated panel of ``scale_panels.py`` (``UNITS`` x 30 years), identified with ``census-decline``:

- the drivers' SHAP contributions (LightGBM ``predict(pred_contrib=True)`` on the models' sample of at most
  ``MAX_DRIVER_UNITS`` units): before on one thread, now on two from ``CONTRIBUTION_THREADS_FROM`` units; the
  two arrays are compared bit for bit;
- ``recommendations_for`` (the transformation paths of every unit): before, every ``contains`` condition on
  the types split the type lists of all units again; now each set field is split once per call (and a rule's
  later conditions are skipped once no unit is left). The baseline here is the current code with the split
  made per condition again (the skip stays: the ratio understates the change); the rows are compared.

Prints seconds, the ratio and the load average (a shared 2-core machine: compare the ratios).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale_panels import scale_panel_file  # noqa: E402

from shrinkwatch.analysis import drivers as drivers_module  # noqa: E402
from shrinkwatch.analysis import recommend as recommend_module  # noqa: E402
from shrinkwatch.analysis.drivers import MAX_DRIVER_UNITS, _gbm, driver_features  # noqa: E402
from shrinkwatch.analysis.typology import classify  # noqa: E402
from shrinkwatch.core.panelfile import read_panel  # noqa: E402
from shrinkwatch.identification import identify  # noqa: E402


def best_of(times: int, action):  # noqa: ANN001, ANN201
    """The fastest of ``times`` calls of ``action`` and its last result."""
    seconds, result = [], None
    for _ in range(times):
        start = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - start)
    return min(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("units", type=int, nargs="*", default=[100_000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for units in args.units:
        panel = read_panel(scale_panel_file(units))
        identification = identify(panel, "census-decline")
        print(f"{units:,} units (load average {os.getloadavg()[0]:.2f})")

        features, _, _ = driver_features(identification, panel)
        target = pd.to_numeric(identification.table["annual_rate"], errors="coerce").to_numpy()
        usable = features.notna().all(axis=1).to_numpy() & np.isfinite(target)
        X, y = features.loc[usable].astype(float), target[usable]
        if len(y) > MAX_DRIVER_UNITS:
            pick = np.sort(np.random.default_rng(0).choice(len(y), MAX_DRIVER_UNITS, replace=False))
            X, y = X.iloc[pick], y[pick]
        booster = _gbm(0).fit(X, y)
        threads = 2 if len(y) >= drivers_module.CONTRIBUTION_THREADS_FROM else 1
        one, before = best_of(args.repeat, lambda: booster.predict(X, pred_contrib=True, num_threads=1))
        two, now = best_of(args.repeat, lambda: booster.predict(X, pred_contrib=True, num_threads=threads))
        print(f"  SHAP contributions of {len(y):,} units: one thread {one:6.2f} s | {threads} threads {two:6.2f} s "
              f"({one / two:.2f}x; same bits: {before.tobytes() == now.tobytes()})")

        typology = classify(panel, identification, seed=0)
        split_once, rows = best_of(args.repeat, lambda: recommend_module.recommendations_for(
            panel, identification, typology).rows)
        mask = recommend_module._mask
        recommend_module._mask = lambda table, condition, members=None: mask(table, condition, None)
        try:
            split_each, rows_before = best_of(args.repeat, lambda: recommend_module.recommendations_for(
                panel, identification, typology).rows)
        finally:
            recommend_module._mask = mask
        print(f"  recommendations_for: split per condition {split_each:6.2f} s | once per call {split_once:6.2f} s "
              f"({split_each / split_once:.2f}x; same rows: {rows.equals(rows_before)}) "
              f"| load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

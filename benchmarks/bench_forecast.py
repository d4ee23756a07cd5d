"""Benchmark: every forecasting method over all US counties and all backtest origins, against statsmodels' ETS
fitted series by series.

    python benchmarks/bench_forecast.py [--sample 100] [--data-dir DIR]

Ours: :class:`shrinkwatch.forecast.engine.Forecaster` makes the random walk, linear and log-linear trends,
the damped trend (vectorised grid-search ETS(A,Ad,N)), the global LightGBM model and the combination for
3,142 counties at every origin a backtest and the report's calibration use (2012..2018).

Reference: statsmodels ``ExponentialSmoothing(trend="add", damped_trend=True)`` fitted (optimised) on each
series at each origin in a Python loop: a sample of ``--sample`` counties is timed and scaled to all
counties. Same run, same data.

Same answers, on the sample: statsmodels run with the parameters and initial state our grid chose
(``optimized=False``) must give our damped forecasts to 1e-9; how far statsmodels' own optimised forecasts
are from ours is printed too (they optimise continuously, we choose from a grid).

Wall and CPU (process) times are both printed: the development machine is shared, so CPU time is the
fairer ratio. Goal: at least 20x. Not part of the test suite.

    python benchmarks/bench_forecast.py --scale 100000 [--years 30] [--baseline REF] [--repeat 1]

The forecast at scale: :func:`shrinkwatch.forecast.forecast` as ``run`` makes it (the panel's standard and
identified parameters, seed 0, five years ahead on an annual panel) on the generated panel of ``--scale``
units (``scale_panels.py``), by this checkout's code and by the code of ``--baseline`` (default: the
commit before issue 15's forecast speed-ups: simulated paths judged through a long pandas panel, one LightGBM
fit at a time, the damped trend over all units at once), each in a fresh process, alternately ``--repeat``
times; the forecast's wall and CPU seconds and the process's peak memory, the ratio of the medians, and whether
every output (units, paths, watchlist, skill, notes) is the same (it must be).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The forecast before issue 15's speed-ups (the parent of the first of them).
BASELINE = "c5babf7"


def measure(path: str, out: str) -> None:
    """In this process (the code on ``PYTHONPATH``): the forecast ``run`` makes of the panel file ``path``, timed;
    its outputs pickled to ``out``; the times and peak memory printed as one JSON line."""
    import lightgbm  # noqa: F401  imported before timing, as in a run where the analysis already loaded it

    from shrinkwatch.datasets import standard_for
    from shrinkwatch.forecast import forecast
    from shrinkwatch.identification import identify, load_standard
    from shrinkwatch.pipeline import load_any

    panel = load_any(path)
    standard, settings = standard_for(path, None, None)
    std = load_standard(standard)
    parameters = dict(identify(panel, std, settings).parameters)
    years = panel.observed_years
    annual = len(years) > 1 and min(b - a for a, b in zip(years, years[1:])) == 1  # as pipeline._annual
    wall, cpu = time.perf_counter(), time.process_time()
    result = forecast(panel, std, parameters, seed=0, horizon=5 if annual else None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with open(out, "wb") as file:
        pickle.dump({"units": result.units, "paths": result.paths, "watchlist": result.watchlist,
                     "skill": result.skill, "notes": result.notes, "parameters": result.parameters}, file)
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _same(a: dict, b: dict) -> list[str]:
    """The outputs that differ between two pickled forecasts."""
    import pandas as pd

    differ = []
    for key, value in a.items():
        other = b[key]
        same = (value.equals(other) and list(value.columns) == list(other.columns)
                if isinstance(value, pd.DataFrame) else value == other)
        if not same:
            differ.append(key)
    return differ


def at_scale(units: int, years: int, baseline: str, repeat: int) -> None:
    """This checkout's forecast against ``baseline``'s on the generated panel of ``units`` units."""
    sys.path.insert(0, str(HERE))
    from bench_scale import panel_file

    path = panel_file(units, years, None)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"forecast at {units:,} units x {years} years ({path}); load average at the start: {load}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", baseline, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        sources = {f"baseline ({baseline})": old / "src", "this checkout": ROOT / "src"}
        times: dict[str, list[dict[str, float]]] = {label: [] for label in sources}
        outputs: dict[str, dict] = {}
        for _ in range(repeat):
            for label, src in sources.items():
                out = Path(tmp) / f"{len(outputs)}.pkl"
                done = subprocess.run([sys.executable, __file__, "--measure", str(path), str(out)], check=True,
                                      capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
                times[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
                with open(out, "rb") as file:
                    outputs[label] = pickle.load(file)
                print(f"  {label}: forecast wall {times[label][-1]['wall']:.1f} s, cpu {times[label][-1]['cpu']:.1f} s, "
                      f"peak {times[label][-1]['peak_mib']:.0f} MiB", flush=True)
        (base_label, base), (now_label, now) = times.items()
        ratio = {key: statistics.median(t[key] for t in base) / statistics.median(t[key] for t in now)
                 for key in ("wall", "cpu")}
        differ = _same(*outputs.values())
    print(f"speed-up of the forecast (medians of {repeat}): wall {ratio['wall']:.2f}x, cpu {ratio['cpu']:.2f}x; "
          f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("outputs: " + ("the same (units, paths, watchlist, skill, notes, parameters)" if not differ
                         else "DIFFERENT: " + ", ".join(differ)))
    assert not differ, "the forecast's outputs changed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--scale", type=int, default=None, help="units of the generated panel (see the docstring)")
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--measure", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(*args.measure)
    if args.scale:
        return at_scale(args.scale, args.years, args.baseline, args.repeat)
    if args.data_dir:
        os.environ["SHRINKWATCH_DATA"] = args.data_dir

    import lightgbm  # noqa: F401  imported before timing, as in a run where the analysis already loaded it
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    import shrinkwatch as sw
    from shrinkwatch.forecast.engine import Forecaster
    from shrinkwatch.forecast.methods import damped_fit
    from shrinkwatch.forecast.series import history_of

    panel = sw.load("us-county-est")
    history = history_of(panel)
    steps = 6
    origins = list(range(2, len(history.years) - 1))  # 2012..2018
    n_units = history.log_values.shape[0]

    wall, cpu = time.perf_counter(), time.process_time()
    forecaster = Forecaster(history, steps)
    for origin in origins:
        forecaster.at(origin)
    ours_wall, ours_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"ours: {len(origins)} origins x {n_units:,} counties x 6 methods: wall {ours_wall:.2f} s, "
          f"cpu {ours_cpu:.2f} s")

    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n_units, args.sample, replace=False))
    wall, cpu = time.perf_counter(), time.process_time()
    optimised = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns on short series and convergence
        for origin in origins:
            for i in sample:
                series = history.log_values[i, : origin + 1]
                fit = ExponentialSmoothing(series, trend="add", damped_trend=True,
                                           initialization_method="estimated").fit()
                optimised[(origin, i)] = fit.forecast(steps)
    ref_wall, ref_cpu = time.perf_counter() - wall, time.process_time() - cpu
    scale = n_units / len(sample)
    print(f"statsmodels ETS, {len(sample)} counties x {len(origins)} origins: wall {ref_wall:.2f} s, cpu "
          f"{ref_cpu:.2f} s; scaled to {n_units:,}: wall {ref_wall * scale:.1f} s, cpu {ref_cpu * scale:.1f} s")
    print(f"speed-up (statsmodels ETS alone vs all six methods): wall {ref_wall * scale / ours_wall:.1f}x, "
          f"cpu {ref_cpu * scale / ours_cpu:.1f}x (goal >= 20x)")

    worst, gaps = 0.0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for origin in origins:
            fit = damped_fit(history.log_values[:, : origin + 1])
            ours = fit.forecast(steps)
            for i in sample:
                series = history.log_values[i, : origin + 1]
                same = ExponentialSmoothing(series, trend="add", damped_trend=True, initialization_method="known",
                                            initial_level=fit.initial_level[i], initial_trend=fit.initial_trend[i]
                                            ).fit(smoothing_level=fit.alpha[i], smoothing_trend=fit.beta[i],
                                                  damping_trend=fit.phi[i], optimized=False).forecast(steps)
                worst = max(worst, float(np.max(np.abs(same - ours[i]))))
                gaps.append(100 * abs(np.exp(optimised[(origin, i)][-1] - ours[i, -1]) - 1))
    print(f"same answers: largest |ours - statsmodels (same parameters)| in log population {worst:.2e}")
    assert worst < 1e-9, "the damped trend does not match statsmodels' recursion"
    print(f"ours vs statsmodels' own optimised fit, {steps}-year forecast: median gap {np.median(gaps):.2f}%, "
          f"90th percentile {np.percentile(gaps, 90):.2f}%")


if __name__ == "__main__":
    main()

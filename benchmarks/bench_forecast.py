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
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
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

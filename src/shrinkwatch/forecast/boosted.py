"""The global gradient-boosting panel model: one LightGBM fit over all units and past origins.

Its target is the average annual log growth from a feature year ``s`` to ``s + k`` steps; its
features, all known at ``s``: the growth of the last step, of the last two steps and over the base
period, the log size, the region, the components of change per person where the panel has them
(births, deaths, migration) and the horizon in years. Training rows are the pairs with ``s + k`` at
or before the origin (nothing after the origin is read); the forecast applies the model at the origin
for every horizon. A horizon longer than any the origin's past can show is forecast as the longest
one seen (trees do not extrapolate), which keeps the growth rate of that horizon.
"""

from __future__ import annotations

import numpy as np

from shrinkwatch.forecast.series import History

__all__ = ["boosted", "features_at", "MAX_TRAINING_ROWS", "FEATURE_STEPS"]

#: Training rows kept (a seeded sample beyond this): fit time stays bounded on long series.
MAX_TRAINING_ROWS = 150_000
#: Feature years used for training, counted back from the origin.
FEATURE_STEPS = 12


def _growth(log_values: np.ndarray, column: int, back: int, step: int) -> np.ndarray:
    if column - back < 0:
        return np.full(log_values.shape[0], np.nan)
    return (log_values[:, column] - log_values[:, column - back]) / (back * step)


def features_at(history: History, column: int, base: int) -> np.ndarray:
    """The feature matrix (units x features, without the horizon) at step ``column``."""
    values = history.log_values
    parts = [
        _growth(values, column, 1, history.step),
        _growth(values, column, 2, history.step),
        _growth(values, column, min(base, column), history.step) if column > 0 else np.full(len(values), np.nan),
        values[:, column],
        history.region.astype(np.float64),
    ]
    parts += [rates[:, column] for rates in history.components.values()]
    return np.column_stack(parts)


def boosted(history: History, origin: int, steps: int, base: int, *, seed: int = 0) -> np.ndarray:
    """Log forecasts 1..``steps`` ahead of step column ``origin`` (units x steps; NaN where the origin value is
    missing or no training row exists)."""
    import lightgbm  # deferred: LightGBM loads only where a forecast is made

    n_units = history.log_values.shape[0]
    out = np.full((n_units, steps), np.nan)
    rows_x, rows_y = [], []
    for feature_column in range(max(1, origin - FEATURE_STEPS), origin):
        features = features_at(history, feature_column, base)
        for k in range(1, origin - feature_column + 1):
            if k > steps:
                break
            target = (history.log_values[:, feature_column + k] - history.log_values[:, feature_column]) / (
                k * history.step)
            keep = np.isfinite(target) & np.isfinite(features[:, 3])
            horizon = np.full((int(keep.sum()), 1), float(k * history.step))
            rows_x.append(np.hstack([features[keep], horizon]))
            rows_y.append(target[keep])
    if not rows_x or sum(len(y) for y in rows_y) < 50:
        return out
    x, y = np.vstack(rows_x), np.concatenate(rows_y)
    if len(y) > MAX_TRAINING_ROWS:
        pick = np.random.default_rng(seed).choice(len(y), MAX_TRAINING_ROWS, replace=False)
        x, y = x[pick], y[pick]
    model = lightgbm.LGBMRegressor(
        objective="l1", n_estimators=150, learning_rate=0.08, num_leaves=31, min_child_samples=40, max_bin=63,
        subsample=0.8, subsample_freq=1, colsample_bytree=0.9, random_state=seed, deterministic=True,
        # one thread: OpenMP's spinning threads cost 20x on a busy two-core machine, and one thread is exact
        force_row_wise=True, num_threads=1, verbose=-1,
    )
    model.fit(x, y, categorical_feature=[4])
    longest = float(x[:, -1].max())
    features = features_at(history, origin, base)
    origin_value = history.log_values[:, origin]
    usable = np.isfinite(origin_value)
    if not usable.any():
        return out
    for k in range(1, steps + 1):
        horizon = np.full((int(usable.sum()), 1), min(float(k * history.step), longest))
        growth = model.predict(np.hstack([features[usable], horizon]))
        out[usable, k - 1] = origin_value[usable] + growth * k * history.step
    return out

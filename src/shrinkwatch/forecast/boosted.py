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


def _training_rows(history: History, origin: int, steps: int, base: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training rows (features and horizon; target) in (feature year, horizon, unit) order, or the seeded
    sample of :data:`MAX_TRAINING_ROWS` of them: the sample is drawn over the row numbers first and only the
    rows drawn are built, so a million units never stack their tens of millions of candidate rows."""
    blocks = []  # (feature column, horizon in steps, which units have a row: one byte a unit), in row order
    for feature_column in range(max(1, origin - FEATURE_STEPS), origin):
        start_known = np.isfinite(history.log_values[:, feature_column])  # features[:, 3], the log size
        for k in range(1, min(origin - feature_column, steps) + 1):
            keep = start_known & np.isfinite(history.log_values[:, feature_column + k])  # the target is finite
            blocks.append((feature_column, k, keep))
    sizes = np.array([np.count_nonzero(keep) for _, _, keep in blocks], dtype=np.int64)
    total = int(sizes.sum())
    if total > MAX_TRAINING_ROWS:
        pick = np.random.default_rng(seed).choice(total, MAX_TRAINING_ROWS, replace=False)
    else:
        pick = np.arange(total)
    block_of = np.searchsorted(np.cumsum(sizes), pick, side="right")  # the block of each row drawn
    within = pick - (np.cumsum(sizes) - sizes)[block_of]
    n_features = 5 + len(history.components) + 1
    x, y = np.empty((len(pick), n_features)), np.empty(len(pick))
    order = np.argsort(block_of, kind="stable")
    bounds = np.searchsorted(block_of[order], np.arange(len(blocks) + 1))
    features, current = None, -1
    for number, (feature_column, k, keep) in enumerate(blocks):  # per feature year and horizon, not per unit
        at = order[bounds[number]:bounds[number + 1]]
        if not len(at):
            continue
        if feature_column != current:
            features, current = features_at(history, feature_column, base), feature_column
        assert features is not None
        chosen = np.flatnonzero(keep)[within[at]]
        x[at, :-1] = features[chosen]
        x[at, -1] = float(k * history.step)
        y[at] = (history.log_values[chosen, feature_column + k] - history.log_values[chosen, feature_column]) / (
            k * history.step)
    return x, y


def boosted(history: History, origin: int, steps: int, base: int, *, seed: int = 0) -> np.ndarray:
    """Log forecasts 1..``steps`` ahead of step column ``origin`` (units x steps; NaN where the origin value is
    missing or no training row exists)."""
    import lightgbm  # deferred: LightGBM loads only where a forecast is made

    n_units = history.log_values.shape[0]
    out = np.full((n_units, steps), np.nan)
    x, y = _training_rows(history, origin, steps, base, seed)
    if len(y) < 50:
        return out
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

"""Forecasting methods, each over all units at once.

Every method takes the log population history ``log_values`` (units x steps, NaN for a gap, the
last column the forecast origin) and returns log forecasts for ``steps`` 1..K ahead (units x K,
NaN where a unit's history cannot carry the method). The step is the panel's spacing of years
(1 for annual estimates, 10 for decennial censuses). None loops over units: least squares are
closed-form sums over masked columns, the damped trend runs its recursion over time for every unit
and every candidate parameter set at once, and the boosted model is one global LightGBM fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "METHODS",
    "DAMPED_GRID",
    "DampedFit",
    "random_walk",
    "linear_trend",
    "loglinear_trend",
    "damped_trend",
    "damped_fit",
    "damped_fits",
    "combine",
]

#: The methods in the order tables show them; ``combined`` is the mean of the four after the random walk.
METHODS = ("random_walk", "linear", "loglinear", "damped", "boosted", "combined")

#: The combination's members (the random walk is the baseline, not a member).
COMBINED = ("linear", "loglinear", "damped", "boosted")

#: Candidate (alpha, beta, phi) of the damped trend; each series keeps the one with the least one-step SSE.
DAMPED_GRID: tuple[tuple[float, float, float], ...] = tuple(
    (alpha, beta, phi)
    for alpha in (0.3, 0.6, 0.9, 1.0)
    for beta in (0.05, 0.2, 0.5)
    for phi in (0.8, 0.9, 0.98)
)

#: Series whose damped trends run together (:func:`damped_fits`): their states, 36 candidates x 8 bytes each,
#: fit in a processor's cache.
DAMPED_BLOCK = 512


def random_walk(log_values: np.ndarray, steps: int) -> np.ndarray:
    """The last value, carried forward (NaN when the origin value is missing).

    Examples
    --------
    >>> random_walk(np.log([[1.0, 2.0, 4.0]]), 2).round(3).tolist()
    [[1.386, 1.386]]
    """
    return np.repeat(log_values[:, -1:], steps, axis=1)


def _trend(series: np.ndarray, steps: int, base: int) -> np.ndarray:
    """Least-squares line through the finite values of the last ``base`` + 1 columns, extended ``steps`` ahead;
    NaN unless the origin and one more value are finite."""
    window = series[:, -(base + 1):]
    time = np.arange(window.shape[1], dtype=np.float64)
    finite = np.isfinite(window)
    count = finite.sum(axis=1)
    y = np.where(finite, window, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = (finite * time).sum(axis=1) / count
        y_mean = y.sum(axis=1) / count
        dt = np.where(finite, time - t_mean[:, None], 0.0)
        slope = (dt * (y - y_mean[:, None])).sum(axis=1) / (dt**2).sum(axis=1)
    ahead = time[-1] + np.arange(1, steps + 1, dtype=np.float64)
    forecast = y_mean[:, None] + slope[:, None] * (ahead[None, :] - t_mean[:, None])
    usable = (count >= 2) & finite[:, -1]
    return np.where(usable[:, None], forecast, np.nan)


def linear_trend(log_values: np.ndarray, steps: int, base: int) -> np.ndarray:
    """A straight line through the population (not its log) over the last ``base`` steps; a forecast at or
    below zero becomes one person.

    Examples
    --------
    >>> np.exp(linear_trend(np.log([[100.0, 110.0, 120.0]]), 2, base=2)).round(6).tolist()
    [[130.0, 140.0]]
    """
    with np.errstate(over="ignore"):
        level = _trend(np.exp(log_values), steps, base)
    return np.log(np.maximum(level, 1.0), where=np.isfinite(level), out=np.full_like(level, np.nan))


def loglinear_trend(log_values: np.ndarray, steps: int, base: int) -> np.ndarray:
    """A straight line through the log population (constant growth rate) over the last ``base`` steps.

    Examples
    --------
    >>> np.exp(loglinear_trend(np.log([[100.0, 110.0, 121.0]]), 1, base=2)).round(6).tolist()
    [[133.1]]
    """
    return _trend(log_values, steps, base)


@dataclass(frozen=True)
class DampedFit:
    """The damped trend of every series: its chosen (alpha, beta, phi), final level and trend, and the initial
    level and trend it started from (the first value and the first change)."""

    alpha: np.ndarray
    beta: np.ndarray
    phi: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    initial_level: np.ndarray
    initial_trend: np.ndarray
    first: np.ndarray

    def forecast(self, steps: int) -> np.ndarray:
        """``level + (phi + ... + phi^k) trend`` for k = 1..steps."""
        powers = self.phi[:, None] ** np.arange(1, steps + 1)[None, :]
        return self.level[:, None] + np.cumsum(powers, axis=1) * self.trend[:, None]


def damped_fit(log_values: np.ndarray, grid: tuple[tuple[float, float, float], ...] = DAMPED_GRID) -> DampedFit:
    """Holt's additive damped trend (ETS(A,Ad,N)) on each series, parameters by grid search on one-step SSE.

    The recursion is the textbook one, as statsmodels' ``ExponentialSmoothing(trend="add",
    damped_trend=True)`` runs it: from the initial state (``l0`` = the first value, ``b0`` = the first
    change), for each value ``y``: ``l = alpha y + (1 - alpha)(l + phi b)``,
    ``b = beta (l - l_prev) + (1 - beta) phi b``. A gap carries the state forward
    (``l += phi b``, ``b *= phi``). All series and all candidate parameter sets advance together, one
    time step at a time.
    """
    last = log_values.shape[1] - 1
    return damped_fits(log_values, [last])[last]


def damped_fits(log_values: np.ndarray, columns: list[int] | range,
                grid: tuple[tuple[float, float, float], ...] = DAMPED_GRID) -> dict[int, DampedFit]:
    """:func:`damped_fit` of the series cut after each of ``columns`` (``log_values[:, : c + 1]``), from one pass
    of the recursion: it reads the values in time order, so its state after column ``c`` is that of the cut
    series. A series with fewer than two values by ``c`` has no fit at ``c`` (NaN level and trend), as when
    cut; its other fields may differ from the cut series' (its first value can be later than ``c``).

    The series are run in blocks of :data:`DAMPED_BLOCK` (each series' recursion reads only its own values, so
    the fits are those of all at once, bit for bit): a block's states stay in the processor's cache."""
    wanted = sorted({int(c) for c in columns})
    n_units = log_values.shape[0]
    if n_units <= DAMPED_BLOCK:
        return _damped_fits(log_values, wanted, grid)
    parts = [_damped_fits(log_values[start:start + DAMPED_BLOCK], wanted, grid)
             for start in range(0, n_units, DAMPED_BLOCK)]
    return {c: DampedFit(**{name: np.concatenate([getattr(part[c], name) for part in parts])
                            for name in DampedFit.__dataclass_fields__})
            for c in wanted}


def _damped_fits(log_values: np.ndarray, wanted_columns: list[int],
                 grid: tuple[tuple[float, float, float], ...]) -> dict[int, DampedFit]:
    """:func:`damped_fits` of one block of series."""
    n_units = log_values.shape[0]
    wanted = set(wanted_columns)
    params = np.asarray(grid, dtype=np.float64)  # (G, 3)
    alpha, beta, phi = (params[:, j][None, :] for j in range(3))
    finite = np.isfinite(log_values)
    n_steps = log_values.shape[1]
    first = np.where(finite.any(axis=1), finite.argmax(axis=1), n_steps)
    rows = np.arange(n_units)
    first_value = log_values[rows, np.minimum(first, n_steps - 1)]
    second_index = np.minimum(first + 1, n_steps - 1)
    initial_trend = np.where(first + 1 < n_steps, log_values[rows, second_index] - first_value, np.nan)
    level = np.repeat(first_value[:, None], len(params), axis=1)
    trend = np.repeat(np.nan_to_num(initial_trend)[:, None], len(params), axis=1)
    sse = np.zeros((n_units, len(params)))
    seen_count = np.zeros(n_units, dtype=np.int64)
    fits: dict[int, DampedFit] = {}
    nan = np.full(n_units, np.nan)
    for t in range(max(wanted) + 1 if wanted else 0):
        active = (t >= first)[:, None]
        y = log_values[:, t][:, None]
        carried = phi * trend
        predicted = level + carried
        seen = active & np.isfinite(y)
        error = np.where(seen, y - predicted, 0.0)
        sse += error**2
        new_level = np.where(seen, alpha * y + (1 - alpha) * predicted, np.where(active, predicted, level))
        new_trend = np.where(seen, beta * (new_level - level) + (1 - beta) * phi * trend,
                             np.where(active, carried, trend))
        level, trend = new_level, new_trend
        seen_count += finite[:, t]
        if t in wanted:
            best = np.argmin(sse, axis=1)
            usable = seen_count >= 2
            fits[t] = DampedFit(
                alpha=params[best, 0], beta=params[best, 1], phi=params[best, 2],
                level=np.where(usable, level[rows, best], nan), trend=np.where(usable, trend[rows, best], nan),
                initial_level=first_value, initial_trend=initial_trend, first=first,
            )
    return fits


def damped_trend(log_values: np.ndarray, steps: int) -> np.ndarray:
    """The damped-trend forecast of every series (:func:`damped_fit`), NaN where the origin value is missing.

    Examples
    --------
    >>> values = np.log([[100.0, 110.0, 121.0, 133.1, 146.41]])  # 10% a step: the trend is the growth
    >>> bool(np.exp(damped_trend(values, 1))[0, 0] > 146.41)
    True
    """
    forecast = damped_fit(log_values).forecast(steps)
    return np.where(np.isfinite(log_values[:, -1:]), forecast, np.nan)


def combine(forecasts: dict[str, np.ndarray]) -> np.ndarray:
    """The mean of the :data:`COMBINED` members' log forecasts that exist for a unit (a geometric mean of
    populations); NaN where none does.

    Examples
    --------
    >>> parts = {name: np.log([[100.0]]) for name in ("linear", "loglinear", "damped")}
    >>> parts["boosted"] = np.array([[np.nan]])
    >>> np.exp(combine(parts)).round(6).tolist()
    [[100.0]]
    """
    stack = np.stack([forecasts[name] for name in COMBINED if name in forecasts])
    count = np.isfinite(stack).sum(axis=0)
    total = np.where(np.isfinite(stack), stack, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)

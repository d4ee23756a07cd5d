"""Forecasts with empirical intervals and status probabilities, and their rolling-origin backtest.

One :class:`Forecaster` per panel makes every method's forecast at a step column (the origin) from
the columns up to it, and caches it: the intervals at an origin are calibrated on the errors of the
forecasts made at earlier origins that the origin can already see (``c + k <= origin``), so a
backtest and a forecast share their work and neither reads a year after its origin.

Intervals: the errors (log actual - log combined forecast) of the unit's peers, the units in the same
size quintile at the origin (the unit's own past errors among them), by horizon; a horizon longer
than any error the origin can see takes the longest seen, scaled in proportion to the horizon.
Status probabilities: ``draws`` paths per unit, the combined forecast plus the peers' error quantile
at evenly spaced levels (one level per draw for every horizon, so a path keeps its quantile), judged
by the standard's kernel (:meth:`StatusRule.simulated`), in blocks of units so that the paths of a
million units are never held at once.

Scale: above :data:`CALIBRATION_UNITS` units, the earlier origins (the intervals' calibration errors
and the report's skill backtest) are forecast for a seeded sample of that many units
(:attr:`Forecaster.calibration`); every unit is still forecast, with intervals and probabilities, at
the origin itself. The shipped datasets (at most 3,142 units) are far below it: their results are
those of all units.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.machine import usable_cpus
from shrinkwatch.forecast.boosted import boosted
from shrinkwatch.forecast.methods import (
    METHODS,
    combine,
    damped_fits,
    damped_trend,
    linear_trend,
    loglinear_trend,
    random_walk,
)
from shrinkwatch.forecast.metrics import brier, coverage, malpe, mape, mase, medape, precision_recall, shelf_life
from shrinkwatch.forecast.series import History, history_of
from shrinkwatch.forecast.status import SIMULATED_PER_BLOCK, StatusRule, status_rule
from shrinkwatch.identification.indicators import Tri
from shrinkwatch.identification.schema import Standard

__all__ = ["Forecaster", "ForecastResult", "BacktestResult", "forecast", "backtest", "BACKTEST_ORIGINS",
           "PEER_GROUPS", "DRAWS", "LEVEL", "WITHIN_PERCENT", "SHELF_SHARE", "CALIBRATION_UNITS"]

#: Rolling origins and the longest horizon (years) each shipped dataset is backtested on.
BACKTEST_ORIGINS: dict[str, tuple[tuple[int, ...], int]] = {
    "us-county-est": ((2013, 2014, 2015), 10),
    "us-city-census": ((1950, 1960, 1970, 1980, 1990), 20),
    "world-wup2018": ((1998, 2003, 2008), 10),  # estimates end in 2018; projections are never scored
}
#: Size classes of peers whose errors calibrate a unit's interval.
PEER_GROUPS = 5
#: Simulated paths per unit.
DRAWS = 100
#: Nominal level of the prediction intervals.
LEVEL = 0.8
#: The error bound of the shelf life (percent) and the share of units that must stay within it.
WITHIN_PERCENT, SHELF_SHARE = 10.0, 80.0
#: Fewest errors a peer group needs at a horizon; fewer and all units' errors are used.
MIN_PEER_ERRORS = 30
#: Units forecast at the earlier origins (calibration errors, the report's skill backtest): above this, a
#: seeded sample of this many (the quantiles of five size classes' errors, 4,000 units each at least, move
#: by less than their sampling noise); every unit is still forecast at the origin.
CALIBRATION_UNITS = 20_000
#: LightGBM models fitted at once (:func:`_fits_ahead`), each on one thread as when fitted alone.
FIT_WORKERS = min(2, usable_cpus())


class Forecaster:
    """Every method's log forecasts at any step column of ``history``, cached.

    ``steps`` is the longest horizon in steps; ``base`` the steps of the trends' base period
    (10 years, at least two steps). ``rows``: the positions of ``history``'s units among the panel's units
    when it holds a sample of them (None: all of them, in the panel's order).
    """

    def __init__(self, history: History, steps: int, *, seed: int = 0, base_years: int = 10,
                 rows: np.ndarray | None = None) -> None:
        self.history = history
        self.steps = int(steps)
        self.base_years = base_years
        self.base = max(2, int(round(max(base_years, 2 * history.step) / history.step)))
        self.seed = seed
        self.rows = rows
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        self._calibration: Forecaster | None = None
        self._damped: dict[int, np.ndarray] | None = None
        self._fitting: dict[int, Future[np.ndarray]] = {}

    @property
    def calibration(self) -> "Forecaster":
        """The forecaster of the earlier origins: this one up to :data:`CALIBRATION_UNITS` units, else one over a
        sample of that many units, drawn with ``seed`` (sorted, so in the panel's order; its boosted model is
        trained on the sample's own past)."""
        n_units = self.history.log_values.shape[0]
        if self.rows is not None or n_units <= CALIBRATION_UNITS:
            return self
        if self._calibration is None:
            pick = np.sort(np.random.default_rng(self.seed).choice(n_units, CALIBRATION_UNITS, replace=False))
            self._calibration = Forecaster(self.history.subset(pick), self.steps, seed=self.seed,
                                           base_years=self.base_years, rows=pick)
        return self._calibration

    def of_rows(self, verdict: Tri) -> Tri:
        """A verdict on all the panel's units restricted to this forecaster's units."""
        return verdict if self.rows is None else Tri(verdict.yes[self.rows], verdict.no[self.rows])

    def at(self, origin: int) -> dict[str, np.ndarray]:
        """Log forecasts (units x steps) of each of :data:`METHODS` made at step column ``origin``."""
        if origin in self._cache:
            return self._cache[origin]
        past = self.history.log_values[:, : origin + 1]
        result = {
            "random_walk": random_walk(past, self.steps),
            "linear": linear_trend(past, self.steps, self.base),
            "loglinear": loglinear_trend(past, self.steps, self.base),
            "damped": self._damped_at(origin, past),
            "boosted": self._boosted_at(origin),
        }
        result["combined"] = combine(result)
        self._cache[origin] = result
        return result

    def _boosted_at(self, origin: int) -> np.ndarray:
        """The boosted model's forecasts at ``origin``: the fit started by :meth:`fit_ahead`, or made now (one
        not started before its pool was shut down is made now too)."""
        started = self._fitting.pop(origin, None)
        if started is not None and not started.cancelled():
            return started.result()
        return boosted(self.history, origin, self.steps, self.base, seed=self.seed)

    def fit_ahead(self, pool: Executor, origin: int) -> None:
        """Start the boosted model at ``origin`` in ``pool`` (unless made or started already): :meth:`at` takes
        it from there. The same fit as :meth:`at` makes itself (one LightGBM thread, the same rows and seed)."""
        if origin not in self._cache and origin not in self._fitting:
            self._fitting[origin] = pool.submit(boosted, self.history, origin, self.steps, self.base, seed=self.seed)

    def needs(self, origin: int) -> list[tuple["Forecaster", int]]:
        """The (forecaster, origin) pairs whose forecasts the intervals and probabilities at ``origin`` read: this
        one at ``origin``, then :attr:`calibration` at :meth:`calibration_origins`."""
        calibration = self.calibration
        return [(self, origin)] + [(calibration, c) for c in calibration.calibration_origins(origin)]

    def _damped_at(self, origin: int, past: np.ndarray) -> np.ndarray:
        """The damped trend's forecasts at ``origin`` (:func:`damped_trend` of ``past``). A forecaster that
        calibrates its own intervals is asked at many origins: it makes all of them from one pass of the recursion
        (:func:`damped_fits`, the same numbers); one above :data:`CALIBRATION_UNITS` is asked at its origin only."""
        if self.calibration is not self:
            return damped_trend(past, self.steps)
        if self._damped is None:
            values = self.history.log_values
            self._damped = {column: np.where(np.isfinite(values[:, column:column + 1]), fit.forecast(self.steps), np.nan)
                            for column, fit in damped_fits(values, range(values.shape[1])).items()}
        return self._damped[origin]

    def calibration_origins(self, origin: int) -> list[int]:
        """The earlier origins whose errors ``origin`` calibrates on (three observations at least)."""
        return list(range(max(2, origin - self.steps), origin))

    def errors(self, origin: int) -> np.ndarray:
        """Log errors of the combined forecast seen by ``origin``: (calibration origins x units x steps), NaN
        where the outcome is after ``origin``."""
        origins = self.calibration_origins(origin)
        out = np.full((len(origins), self.history.log_values.shape[0], self.steps), np.nan)
        for i, c in enumerate(origins):
            made = self.at(c)["combined"]
            for k in range(1, min(self.steps, origin - c) + 1):
                out[i, :, k - 1] = self.history.log_values[:, c + k] - made[:, k - 1]
        return out

    def error_table(self, origin: int, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The quantiles at ``levels`` of each peer group's errors by horizon (groups + 1 x steps x levels, the
        last row all units'), each unit's peer group (row of the table), and the horizons (steps) whose errors
        were seen rather than scaled. Unit ``i``'s quantiles: ``table[group[i]]``. The errors are those of
        :attr:`calibration`'s units (all units up to :data:`CALIBRATION_UNITS`)."""
        size = self.history.log_values[:, origin]
        finite = np.isfinite(size)
        group = np.full(len(size), PEER_GROUPS)  # PEER_GROUPS = all units
        if finite.sum() >= PEER_GROUPS:
            edges = np.quantile(size[finite], np.linspace(0, 1, PEER_GROUPS + 1)[1:-1])
            group[finite] = np.searchsorted(edges, size[finite], side="right")
        calibration = self.calibration
        errors = calibration.errors(origin)
        peers = group if calibration is self else group[calibration.rows]
        table = np.full((PEER_GROUPS + 1, self.steps, len(levels)), np.nan)
        seen = np.zeros(self.steps, dtype=bool)
        for k in range(self.steps):
            at_k = errors[:, :, k]
            pooled = at_k[np.isfinite(at_k)]
            if len(pooled) < MIN_PEER_ERRORS:
                continue
            seen[k] = True
            table[PEER_GROUPS, k] = np.quantile(pooled, levels)
            for g in range(PEER_GROUPS):
                mine = at_k[:, peers == g]
                mine = mine[np.isfinite(mine)]
                table[g, k] = np.quantile(mine, levels) if len(mine) >= MIN_PEER_ERRORS else table[PEER_GROUPS, k]
        if not seen.any():
            raise DataError(f"origin {int(self.history.years[origin])}: no earlier forecast error to calibrate the "
                            "intervals on (the origin needs at least four observed steps before it)")
        longest = int(np.flatnonzero(seen)[-1])
        for k in range(self.steps):
            if not seen[k]:
                source = longest if k > longest else int(np.flatnonzero(seen)[0])
                table[:, k] = table[:, source] * (k + 1) / (source + 1)
        return table, group, seen


@dataclass(frozen=True)
class OriginResult:
    """What one origin gives: the forecasts, the interval bounds and the status probabilities."""

    origin: int
    forecasts: dict[str, np.ndarray]
    lower: np.ndarray
    upper: np.ndarray
    probability_at: np.ndarray
    probability_within: np.ndarray
    status_now: Any
    seen: np.ndarray


def _levels(draws: int, level: float) -> np.ndarray:
    return np.concatenate([[(1 - level) / 2, (1 + level) / 2], (np.arange(draws) + 0.5) / draws])


def _at_origin(forecaster: Forecaster, rule: StatusRule, panel: Panel, origin: int, steps: int,
               level: float, draws: int, kernel: Any) -> OriginResult:
    history = forecaster.history
    made = forecaster.at(origin)
    table, group, seen = forecaster.error_table(origin, _levels(draws, level))
    combined = made["combined"][:, :steps]
    lower = np.exp(combined + table[group, :steps, 0])
    upper = np.exp(combined + table[group, :steps, 1])
    targets = [int(history.years[origin]) + (k + 1) * history.step for k in range(steps)]
    first = max(rule.first_year(kernel, targets), int(history.years[0]))
    columns = np.flatnonzero((history.years >= first) & (history.years <= history.years[origin]))
    n_units = len(group)
    probability_at = np.full((n_units, steps), np.nan)
    probability_within = np.full((n_units, steps), np.nan)
    per_block = max(1, SIMULATED_PER_BLOCK // draws)

    def judge(start: int) -> None:  # one block of units: its paths judged, its rows of the probabilities
        rows = slice(start, min(start + per_block, n_units))
        paths = np.exp(combined[rows, None, :] + np.transpose(table[group[rows], :steps, 2:], (0, 2, 1)))
        with np.errstate(invalid="ignore"):
            yes, known = rule.simulated(history.years[columns], np.exp(history.log_values[rows][:, columns]),
                                        targets, paths)
        decided = known.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            probability_at[rows] = np.where(decided > 0, yes.sum(axis=1) / decided, np.nan)
            ever = np.logical_or.accumulate(yes, axis=2)
            all_known = np.logical_and.accumulate(known, axis=2)
            settled = (ever | all_known).sum(axis=1)
            probability_within[rows] = np.where(settled > 0, ever.sum(axis=1) / settled, np.nan)

    # the blocks, FIT_WORKERS at a time (NumPy leaves Python's lock in their array work): each block's paths
    # only are held, and each block's rows are its own
    with ThreadPoolExecutor(max_workers=FIT_WORKERS, thread_name_prefix="shrinkwatch-paths") as pool:
        for _ in pool.map(judge, range(0, n_units, per_block)):
            pass
    return OriginResult(origin=origin, forecasts=made, lower=lower, upper=upper, probability_at=probability_at,
                        probability_within=probability_within,
                        status_now=forecaster.of_rows(rule.status(panel, int(history.years[origin]), kernel)),
                        seen=seen)


def _steps_for(history: History, horizon: int) -> int:
    if horizon < history.step or horizon % history.step:
        raise OptionError(f"--horizon {horizon}: the panel's steps are {history.step} year(s) apart; give a "
                          f"multiple of {history.step}")
    return horizon // history.step


_TEXT = {
    "status_now": {"yes": "shrinking", "no": "not shrinking", "unknown": "insufficient data"},
}


def _status_text(verdict: Any) -> np.ndarray:
    return np.select([verdict.yes, verdict.no], [_TEXT["status_now"]["yes"], _TEXT["status_now"]["no"]],
                     _TEXT["status_now"]["unknown"]).astype(object)


@dataclass(frozen=True)
class ForecastResult:
    """Forecasts from the last observed year of a panel.

    ``units``: one row per unit (``unit_id`` index): name, status now, population at the origin, the combined
    forecast and its interval at ``horizon``, and ``probability`` of meeting the standard within
    ``horizon`` years (NaN: insufficient data). ``paths``: one row per unit and horizon with every method's
    forecast, the interval and the probabilities of meeting the standard in that year and by then.
    ``watchlist``: units not shrinking now, highest probability first. ``skill``: the status backtest at
    ``horizon`` (:attr:`BacktestResult.status` rows) that says whether the probabilities beat persistence
    and the base rate. ``parameters``: the standard's resolved parameters, judging the origin year; ``draws`` and
    ``seed`` as given to :func:`forecast`.
    """

    dataset: str
    standard_id: str
    origin_year: int
    horizon: int
    level: float
    units: pd.DataFrame
    paths: pd.DataFrame
    watchlist: pd.DataFrame
    skill: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    parameters: dict[str, Any] = field(default_factory=dict)
    draws: int = DRAWS
    seed: int = 0

    @property
    def beats_baselines(self) -> bool:
        """The probabilities' Brier score is below both persistence's and the base rate's (False without a
        backtest)."""
        if self.skill is None or self.skill.empty:
            return False
        score = self.skill.set_index("predictor")["brier"]
        return bool(score["forecast"] < score["persistence"] and score["forecast"] < score["base_rate"])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary: origin, horizon, units with a probability, the watchlist's first ten."""
        return {
            "dataset": self.dataset, "standard": self.standard_id, "origin_year": self.origin_year,
            "horizon": self.horizon, "level": self.level,
            "units_with_probability": int(self.units["probability"].notna().sum()),
            "watchlist": [{"unit_id": str(i), "name": str(r["name"]), "probability": float(r["probability"])}
                          for i, r in self.watchlist.head(10).iterrows()],
            "beats_baselines": self.beats_baselines,
            "skill": [] if self.skill is None else self.skill.to_dict(orient="records"),
        }


@dataclass(frozen=True)
class BacktestResult:
    """A rolling-origin backtest: ``accuracy`` (method x horizon: MAPE, MedAPE, MALPE, MASE, share within
    10%), ``coverage`` (horizon: nominal and actual), ``shelf_life`` (method: years), ``status`` (horizon x
    predictor: Brier, precision, recall) over ``origins``."""

    dataset: str
    standard_id: str
    origins: tuple[int, ...]
    accuracy: pd.DataFrame
    coverage: pd.DataFrame
    shelf_life: pd.DataFrame
    status: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"accuracy": self.accuracy, "coverage": self.coverage, "shelf_life": self.shelf_life,
                "status": self.status}

    def comparison(self, horizon: int) -> dict[str, Any]:
        """The goal's comparison at ``horizon``: MAPE and MedAPE of the combined forecast, the random walk and
        the linear trend; Brier of the probabilities, persistence and the base rate."""
        acc = self.accuracy[self.accuracy["horizon"] == horizon].set_index("method")
        st = self.status[self.status["horizon"] == horizon].set_index("predictor")
        out: dict[str, Any] = {"horizon": horizon}
        for method in ("combined", "random_walk", "linear"):
            if method in acc.index:
                out[f"mape_{method}"] = float(acc.loc[method, "mape"])
                out[f"medape_{method}"] = float(acc.loc[method, "medape"])
        for predictor in ("forecast", "persistence", "base_rate"):
            if predictor in st.index:
                out[f"brier_{predictor}"] = float(st.loc[predictor, "brier"])
        return out


def _prepare(panel: Panel, standard: str | Standard, settings: dict[str, Any] | None
             ) -> tuple[StatusRule, History]:
    rule = status_rule(panel, standard, settings)
    return rule, history_of(panel, rule.indicator)


def forecast(panel: Panel, standard: str | Standard, settings: dict[str, Any] | None = None, *,
             horizon: int | None = None, level: float = LEVEL, draws: int = DRAWS, seed: int = 0,
             skill: bool = True, watch: int = 25) -> ForecastResult:
    """Forecast every unit of ``panel`` from its last observed year, ``horizon`` years ahead (default 10, or two
    steps of a census series), with intervals and the probability of meeting ``standard`` within the horizon.

    ``skill`` also backtests the status probabilities at ``horizon`` from the earlier origins that can be
    scored (the report's evidence for or against the watchlist).
    """
    if not 0 < level < 1:
        raise OptionError(f"--level {level}: expected a probability between 0 and 1")
    if draws < 10:
        raise OptionError(f"draws {draws}: at least 10 paths per unit")
    rule, history = _prepare(panel, standard, settings)
    horizon = int(horizon if horizon is not None else max(10, 2 * history.step))
    steps = _steps_for(history, horizon)
    forecaster = Forecaster(history, steps, seed=seed)
    origin = len(history.years) - 1
    kernel = rule.kernel(panel)
    # the skill's earlier origins: the calibration sample's units above CALIBRATION_UNITS
    origins = [o for o in range(3, origin) if o + steps <= origin][-3:] if skill else []
    with _fits_ahead(forecaster.needs(origin) + [need for o in origins for need in forecaster.calibration.needs(o)]):
        result = _at_origin(forecaster, rule, panel, origin, steps, level, draws, kernel)
        scored = (_score(forecaster.calibration, rule, panel, origins, steps, level, draws, kernel, only_step=steps)
                  if origins else None)
    names = panel.units["name"].astype("string").to_numpy() if "name" in panel.units.columns else history.unit_ids
    origin_year = int(history.years[origin])
    combined = np.exp(result.forecasts["combined"][:, steps - 1])
    units = pd.DataFrame({
        "name": names,
        "parent_name": panel.units["parent_name"].to_numpy() if "parent_name" in panel.units.columns else pd.NA,
        "status_now": _status_text(result.status_now),
        f"population_{origin_year}": np.exp(history.log_values[:, origin]).round(0),
        f"forecast_{origin_year + horizon}": combined.round(0),
        "lower": result.lower[:, steps - 1].round(0), "upper": result.upper[:, steps - 1].round(0),
        "probability": result.probability_within[:, steps - 1].round(3),
    }, index=history.unit_ids)
    n_units = len(units)
    paths = pd.DataFrame({
        "unit_id": np.repeat(history.unit_ids.to_numpy(), steps),
        "year": np.tile(origin_year + history.step * np.arange(1, steps + 1), n_units),
        **{method: np.exp(result.forecasts[method][:, :steps]).round(0).ravel() for method in METHODS},
        "lower": result.lower.round(0).ravel(), "upper": result.upper.round(0).ravel(),
        "probability_in_year": result.probability_at.round(3).ravel(),
        "probability_by_year": result.probability_within.round(3).ravel(),
    })
    watchlist = (units[(units["status_now"] == _TEXT["status_now"]["no"]) & units["probability"].notna()]
                 .sort_values(["probability", f"forecast_{origin_year + horizon}"], ascending=[False, True])
                 .head(watch))
    table = None if scored is None else scored.status[scored.status["horizon"] == horizon].reset_index(drop=True)
    notes = list(rule.notes)
    if forecaster.calibration is not forecaster:
        notes.append(f"the intervals' calibration errors and the skill backtest are of a seeded sample of "
                     f"{CALIBRATION_UNITS:,} of the {n_units:,} units (above {CALIBRATION_UNITS:,} units; seed {seed}); "
                     "every unit is forecast from the last observed year")
    if history.not_positive:
        notes.append(f"{history.not_positive:,} zero or negative values of {history.indicator} are not used "
                     "(no growth rate can be taken from them)")
    return ForecastResult(dataset=panel.id, standard_id=rule.standard.id, origin_year=origin_year, horizon=horizon,
                          level=level, units=units, paths=paths, watchlist=watchlist, skill=table, notes=tuple(notes),
                          parameters=rule.values_at(kernel, origin_year), draws=draws, seed=seed)


@contextmanager
def _fits_ahead(needs: list[tuple[Forecaster, int]]) -> Iterator[None]:
    """Fit the boosted models of ``needs`` (forecaster, origin), in that order, :data:`FIT_WORKERS` at a time
    in the background while the caller works (LightGBM leaves Python's lock while it fits and predicts):
    :meth:`Forecaster.at` waits for its own. Each model is fitted as alone (one thread, its own rows and seed),
    so the forecasts are the same. Leaving the block cancels the fits not started."""
    pool = ThreadPoolExecutor(max_workers=FIT_WORKERS, thread_name_prefix="shrinkwatch-fit")
    try:
        for forecaster, origin in needs:
            forecaster.fit_ahead(pool, origin)
        yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _mase_scale(history: History, origin: int) -> np.ndarray:
    changes = np.abs(np.diff(np.exp(history.log_values[:, : origin + 1]), axis=1))
    known = np.isfinite(changes)
    with np.errstate(invalid="ignore", divide="ignore"):  # a unit without two consecutive values has no scale
        return np.where(known, changes, 0.0).sum(axis=1) / known.sum(axis=1)


def _score(forecaster: Forecaster, rule: StatusRule, panel: Panel, origins: list[int], steps: int, level: float,
           draws: int, kernel: Any, only_step: int | None = None) -> BacktestResult:
    history = forecaster.history
    last = len(history.years) - 1
    accuracy_parts: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    cover_parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    status_parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
    for origin in origins:
        reach = min(steps, last - origin)
        if reach < 1:
            continue
        result = _at_origin(forecaster, rule, panel, origin, reach, level, draws, kernel)
        scale = _mase_scale(history, origin)
        now = result.status_now
        base_rate = np.count_nonzero(now.yes) / max(int(np.count_nonzero(now.known)), 1)
        for k in range(1, reach + 1):
            if only_step is not None and k != only_step:
                continue
            horizon = k * history.step
            actual = np.exp(history.log_values[:, origin + k])
            made = {m: np.exp(result.forecasts[m][:, k - 1]) for m in METHODS}
            common = np.isfinite(actual) & np.logical_and.reduce([np.isfinite(v) for v in made.values()])
            for method, values in made.items():
                accuracy_parts.setdefault((method, horizon), []).append(
                    (values[common], actual[common], scale[common]))
            cover_parts.setdefault(horizon, []).append(
                (actual[common], result.lower[common, k - 1], result.upper[common, k - 1]))
            truth = forecaster.of_rows(rule.status(panel, int(history.years[origin + k]), kernel))
            usable = truth.known & now.known & np.isfinite(result.probability_at[:, k - 1])
            status_parts.setdefault(horizon, []).append(
                (truth.yes[usable], result.probability_at[usable, k - 1], now.yes[usable],
                 np.full(int(usable.sum()), base_rate)))
    if not accuracy_parts:
        raise DataError("backtest: no origin leaves a year to score (origins must be before the last observed year)")
    accuracy_rows, shelf_rows, cover_rows, status_rows = [], [], [], []
    for (method, horizon), parts in accuracy_parts.items():
        f, a, s = (np.concatenate(x) for x in zip(*parts))
        within = float(100.0 * np.mean(np.abs(f - a) / a * 100.0 <= WITHIN_PERCENT)) if len(a) else np.nan
        accuracy_rows.append({"method": method, "horizon": horizon, "n": len(a), "mape": mape(f, a),
                              "medape": medape(f, a), "malpe": malpe(f, a), "mase": mase(f, a, s),
                              "within_10pct": within})
    accuracy = pd.DataFrame(accuracy_rows)
    accuracy["method"] = pd.Categorical(accuracy["method"], categories=list(METHODS), ordered=True)
    accuracy = accuracy.sort_values(["method", "horizon"]).reset_index(drop=True)
    accuracy["method"] = accuracy["method"].astype(str)
    for method, rows in accuracy.groupby("method", sort=False):
        shelf_rows.append({"method": method,
                           "shelf_life_years": shelf_life(rows["horizon"].to_numpy(), rows["within_10pct"].to_numpy(),
                                                          SHELF_SHARE),
                           "longest_horizon_scored": int(rows["horizon"].max())})
    for horizon, parts in sorted(cover_parts.items()):
        a, lo, hi = (np.concatenate(x) for x in zip(*parts))
        cover_rows.append({"horizon": horizon, "n": len(a), "nominal": 100.0 * level,
                           "coverage": coverage(a, lo, hi)})
    for horizon, scored in sorted(status_parts.items()):
        outcome, probability, persistence, base = (np.concatenate(x) for x in zip(*scored))
        outcome_rate = float(outcome.mean()) if len(outcome) else np.nan
        for predictor, p in (("forecast", probability), ("persistence", persistence.astype(float)),
                             ("base_rate", base)):
            precision, recall = precision_recall(p >= 0.5, outcome)
            status_rows.append({"horizon": horizon, "predictor": predictor, "n": len(outcome),
                                "brier": brier(p, outcome) if len(outcome) else np.nan,
                                "precision": precision, "recall": recall, "observed_share": outcome_rate})
    return BacktestResult(
        dataset=panel.id, standard_id=rule.standard.id, origins=tuple(int(history.years[o]) for o in origins),
        accuracy=accuracy, coverage=pd.DataFrame(cover_rows), shelf_life=pd.DataFrame(shelf_rows),
        status=pd.DataFrame(status_rows), notes=rule.notes,
    )


def backtest(panel: Panel, standard: str | Standard, settings: dict[str, Any] | None = None, *,
             origins: list[int] | tuple[int, ...] | None = None, max_horizon: int | None = None,
             level: float = LEVEL, draws: int = DRAWS, seed: int = 0) -> BacktestResult:
    """Score every method by rolling origin: forecasts made at each of ``origins`` (years; the shipped datasets
    have theirs in :data:`BACKTEST_ORIGINS`) from the data up to it, against what was observed up to
    ``max_horizon`` years later (never a projected year)."""
    if not 0 < level < 1:
        raise OptionError(f"--level {level}: expected a probability between 0 and 1")
    rule, history = _prepare(panel, standard, settings)
    default_origins, default_horizon = BACKTEST_ORIGINS.get(panel.id, ((), max(10, 2 * history.step)))
    horizon = int(max_horizon if max_horizon is not None else default_horizon)
    steps = _steps_for(history, horizon)
    chosen = list(origins) if origins else list(default_origins)
    if not chosen:
        last = len(history.years) - 1
        chosen = [int(history.years[c]) for c in range(max(3, last - 3), last)]
    columns = []
    for year in chosen:
        column = history.column(year, "origin")
        if column < 3:
            raise OptionError(f"origin {year}: needs three observed steps before it to calibrate intervals "
                              f"(first usable origin {int(history.years[3])})" if len(history.years) > 3 else
                              f"origin {year}: the panel has too few steps before it")
        if column >= len(history.years) - 1:
            raise OptionError(f"origin {year}: no observed year after it to score (last {int(history.years[-1])})")
        columns.append(column)
    forecaster = Forecaster(history, steps, seed=seed)
    columns = sorted(set(columns))
    with _fits_ahead([need for column in columns for need in forecaster.needs(column)]):
        return _score(forecaster, rule, panel, columns, steps, level, draws, rule.kernel(panel))

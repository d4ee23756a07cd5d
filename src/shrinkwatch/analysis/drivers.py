"""Driver models: the indicators a dataset has, related to the annual rate.

Private helpers of :mod:`shrinkwatch.analysis.analyse`; the public names are re-exported
there. Everything here is associational: the models describe how the annual
rate co-varies with other indicators across units, not why units shrink.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError
from shrinkwatch.core.messages import catalogue, check_language, message

if TYPE_CHECKING:
    from shrinkwatch.core import Identification, Panel

__all__ = [
    "CVFit",
    "DriverResult",
    "DecompositionResult",
    "drivers",
    "driver_features",
    "us_decomposition",
    "CAUSAL_WORDS",
    "MAX_DRIVER_UNITS",
]

#: Words a plain-language driver summary must not use (the models are associational).
CAUSAL_WORDS = ("cause", "caused", "causes", "causal", "effect", "impact", "drives", "driven by",
                "leads to", "due to", "because", "results in", "determines")

_US_COMPONENTS = ("natural_increase", "net_domestic_migration", "net_international_migration")
_EQUAL_AREA = "EPSG:8857"  # Equal Earth: areas for the density at the start

#: Usable units above which the driver models (both fits, their cross-validation and the contributions) run on
#: a seeded sample of this many: fit, folds and SHAP contributions grow with the units, and the estimates of a
#: handful of predictors are well determined by 20,000 units. The shipped datasets (at most 3,142 units) are
#: below it and use every unit; the summary says when a sample was used.
MAX_DRIVER_UNITS = 20_000
#: Units from which the SHAP contributions (``predict(pred_contrib=True)``, the longest step of the drivers at
#: 20,000 units: about 4 s on one thread) are computed on two threads. Each row is computed on its own, so the
#: values are the same bits on any number of threads (tested); below this, threads cost more than they save.
CONTRIBUTION_THREADS_FROM = 5_000

#: Column prefixes of the start-of-period predictors, by what they measure.
DRIVER_PREFIX = {"size": "log10_population_start", "density": "log10_density_start", "earlier": "annual_rate_"}

def _say(key: str, lang: str, **fields: object) -> str:
    """The driver models' message ``analysis.drivers.<key>`` in ``lang`` (one place for their text, in both
    languages: what is measured when, the summary, why a unit or a model is left out)."""
    return message(f"analysis.drivers.{key}", lang, **fields)


def _region_name(region: str, lang: str) -> str:
    """A region as the report names it in ``lang`` (``Northeast`` -> "东北"); unknown regions as they are."""
    return catalogue(lang).get(f"report.region.{region}", region)


@dataclass(frozen=True)
class CVFit:
    """Out-of-sample fit over K folds: mean R² and RMSE across folds, and per fold."""

    model: str
    r2: float
    rmse: float
    r2_folds: tuple[float, ...]
    rmse_folds: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "cv_r2": round(self.r2, 4), "cv_rmse": round(self.rmse, 4),
                "r2_folds": [round(v, 4) for v in self.r2_folds], "rmse_folds": [round(v, 4) for v in self.rmse_folds]}


@dataclass(frozen=True)
class DriverResult:
    """Driver models of the annual rate (percent per year).

    Attributes
    ----------
    available
        False when the dataset has no indicator to relate the rate to; ``message`` says so.
    features
        The predictor table actually used (units x predictors), indexed by ``unit_id``.
    feature_notes
        What each predictor is, in words.
    coefficients
        OLS coefficients: ``coef``, ``robust_se`` (HC3), ``z``, ``p``, ``ci_low``, ``ci_high``.
    ols_cv, gbm_cv, baseline_cv
        K-fold out-of-sample fit of OLS, LightGBM and the baseline (the training-fold mean), on the same folds.
    folds
        Fold number (0..K-1) of each used unit, so the comparison can be reproduced.
    contributions
        Per-unit LightGBM contributions (``pred_contrib``) of a model fit on all used units,
        one column per predictor plus ``expected_value``; rows sum to the prediction.
    importance
        Mean absolute contribution per predictor, largest first.
    summary
        Plain-language, associational summary.
    period
        The outcome period (start year, end year) of the annual rate.
    timing
        When the predictors are measured (at the start of ``period`` or before), and which
        measures of the outcome period the panel has but the models leave out.
    sampled_from
        The usable units the models' seeded sample of ``n_used`` was drawn from (more than
        :data:`MAX_DRIVER_UNITS`), or None when every usable unit was used.
    """

    available: bool
    message: str
    dataset: str
    target: str
    n_used: int
    n_excluded: int
    excluded: dict[str, str] = field(repr=False)
    predictors: tuple[str, ...] = ()
    feature_notes: dict[str, str] = field(default_factory=dict, repr=False)
    features: pd.DataFrame | None = field(default=None, repr=False)
    coefficients: pd.DataFrame | None = field(default=None, repr=False)
    ols_r2_in_sample: float | None = None
    ols_cv: CVFit | None = None
    gbm_cv: CVFit | None = None
    baseline_cv: CVFit | None = None
    n_folds: int = 0
    folds: pd.Series | None = field(default=None, repr=False)
    contributions: pd.DataFrame | None = field(default=None, repr=False)
    importance: pd.Series | None = field(default=None, repr=False)
    summary: str = ""
    seed: int = 0
    period: tuple[int, int] | None = None
    timing: str = ""
    sampled_from: int | None = None

    def as_dict(self) -> dict[str, object]:
        if not self.available:
            return {"available": False, "message": self.message}
        assert self.period is not None
        assert self.ols_cv is not None and self.gbm_cv is not None and self.baseline_cv is not None
        assert self.importance is not None
        return {
            "available": True, "target": self.target, "n_used": self.n_used, "n_excluded": self.n_excluded,
            "predictors": list(self.predictors), "predictors_measured_in": self.period[0],
            "outcome_period": list(self.period), "n_folds": self.n_folds, "seed": self.seed,
            "sampled_from": self.sampled_from,
            "ols_r2_in_sample": round(float(self.ols_r2_in_sample or 0.0), 4),
            "models": {"ols_hc3": self.ols_cv.as_dict(), "lightgbm": self.gbm_cv.as_dict(),
                       "baseline_training_mean": self.baseline_cv.as_dict()},
            "importance_lightgbm": {k: round(float(v), 4) for k, v in self.importance.items()},
        }


@dataclass(frozen=True)
class DecompositionResult:
    """Check that population change = natural increase + net migration + residual.

    ``table`` is indexed by ``(unit_id, year)`` with ``change`` (P(t) - P(t-1)),
    the components, ``gap`` (change minus their sum) and ``migration_gap``
    (net migration minus domestic plus international). ``exact`` is True when
    every gap is zero.
    """

    table: pd.DataFrame = field(repr=False)
    exact: bool
    migration_exact: bool
    max_abs_gap: float
    max_abs_migration_gap: float
    n_units: int
    n_checked: int
    years: tuple[int, ...]
    n_not_checked: int
    message: str

    def as_dict(self) -> dict[str, object]:
        """The check's outcome, JSON-ready (the per county-year table is left out)."""
        return {"exact": self.exact, "migration_exact": self.migration_exact, "county_years_checked": self.n_checked,
                "max_abs_gap": self.max_abs_gap}


def _period(identification: "Identification", panel: "Panel") -> tuple[int, int]:
    table = identification.table
    years = panel.observed_years
    start = end = None
    for column, target in (("start_year", "start"), ("end_year", "end")):
        if column in table.columns:
            values = pd.to_numeric(table[column], errors="coerce").dropna()
            if len(values):
                if target == "start":
                    start = int(values.mode().iloc[0])
                else:
                    end = int(values.mode().iloc[0])
    start = start if start is not None else years[0]
    end = end if end is not None else years[-1]
    return start, end


def _dummies(values: pd.Series, prefix: str) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Indicator columns for a category, the most frequent as the reference (dropped)."""
    text = values.astype("string").fillna("(none)")
    reference = str(text.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0])
    levels = sorted(str(level) for level in text.unique() if level != reference)
    columns = {f"{prefix}_{_slug(level)}": level for level in levels}
    frame = pd.DataFrame({column: (text == level).astype(float) for column, level in columns.items()},
                         index=values.index)
    return frame, columns, reference


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", str(text)).strip("_").lower() or "x"


def _population_indicator(identification: "Identification", panel: "Panel") -> str:
    population = str(identification.parameters.get("indicator", "pop_resident"))
    if population not in panel.indicators:
        population = "pop_resident" if "pop_resident" in panel.indicators else ""
    return population


def _area_km2(panel: "Panel", index: pd.Index) -> pd.Series | None:
    """Each unit's area in km² (Equal Earth), or None when the units are not all polygons with a CRS."""
    units = panel.units
    if not isinstance(units, gpd.GeoDataFrame) or "geometry" not in units.columns or units.crs is None:
        return None
    geometry = units.geometry.reindex(index)
    present = geometry.notna() & ~geometry.is_empty
    if not present.any() or not geometry[present].geom_type.isin(["Polygon", "MultiPolygon"]).all():
        return None
    area = geometry[present].to_crs(_EQUAL_AREA).area / 1e6
    return area.reindex(index)


def driver_features(identification: "Identification", panel: "Panel",
                    lang: str = "en") -> tuple[pd.DataFrame, dict[str, str], str]:
    """The predictor table for a panel, its notes and which family of predictors it is (both in ``lang``).

    Every predictor is measured at the start of the outcome period (the
    identification's start year) or before it, never over the period of the
    outcome: a change measured over the same years as the annual rate (the
    change in the 65+ share 2010-2020, the components of change summed over
    2010-2019) shares the outcome's change and says little about what came
    first. The predictors: the population (log10) and, for polygons, the
    density at the start; the growth of the interval before the start where the
    panel has it; census age shares, urban share, household size and sex ratio
    at the start where the panel has them; the region. Rows are all units;
    missing values stay NaN (the caller reports and excludes them).
    """
    start, end = _period(identification, panel)
    index = identification.table.index
    columns = set(panel.indicators)
    notes: dict[str, str] = {}
    features = pd.DataFrame(index=index)
    region = identification.table["region"] if "region" in identification.table.columns else None

    def level(indicator: str, year: int) -> pd.Series:
        return panel.wide(indicator, [year])[year].reindex(index)

    population = _population_indicator(identification, panel)
    if population and start in panel.years:
        size = level(population, start)
        features["log10_population_start"] = np.log10(size.where(size > 0))
        notes["log10_population_start"] = _say("log10_population_start", lang, start=start)
        area = _area_km2(panel, index)
        if area is not None:
            features["log10_density_start"] = np.log10(size.where(size > 0) / area.where(area > 0))
            notes["log10_density_start"] = _say("log10_density_start", lang, start=start)
        earlier = start - 10
        if earlier in panel.years:
            before = level(population, earlier)
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = (np.power(size / before.where(before > 0), 1.0 / 10.0) - 1.0) * 100.0
            features[f"annual_rate_{earlier}_{start}"] = rate
            notes[f"annual_rate_{earlier}_{start}"] = _say("earlier_rate", lang, earlier=earlier, start=start)
    if {"share_65plus", "share_0_14"} <= columns:
        family = _say("family_census", lang)
        features["share_65plus_start"] = level("share_65plus", start)
        notes["share_65plus_start"] = _say("share_65plus_start", lang, start=start)
        features["share_0_14_start"] = level("share_0_14", start)
        notes["share_0_14_start"] = _say("share_0_14_start", lang, start=start)
        if {"pop_urban", "pop_resident"} <= columns:
            features["urban_share_start"] = level("pop_urban", start) / level("pop_resident", start) * 100.0
            notes["urban_share_start"] = _say("urban_share_start", lang, start=start)
        if "household_size" in columns:
            features["household_size_start"] = level("household_size", start)
            notes["household_size_start"] = _say("household_size_start", lang, start=start)
        if "sex_ratio" in columns:
            features["sex_ratio_start"] = level("sex_ratio", start)
            notes["sex_ratio_start"] = _say("sex_ratio_start", lang, start=start)
    else:
        measured = [_say("family_" + key, lang) for key in ("size", "density", "earlier")
                    if any(column.startswith(DRIVER_PREFIX[key]) for column in features.columns)]
        family = _say("family_start", lang, what=message("report.page.list_separator", lang).join(measured))
    if features.shape[1] == 0:
        return pd.DataFrame(index=index), {}, "none"
    if region is not None and region.astype("string").nunique(dropna=False) > 1:
        dummies, levels, reference = _dummies(region, "region")
        for column in dummies.columns:
            features[column] = dummies[column]
            notes[column] = _say("region", lang, level=_region_name(levels[column], lang),
                                 reference=_region_name(reference, lang))
    return features, notes, family


def _left_out(panel: "Panel", start: int, end: int, lang: str = "en") -> list[str]:
    """Sentences (in ``lang``) naming the panel's outcome-period measures that are deliberately not predictors."""
    left = []
    if set(_US_COMPONENTS) <= set(panel.indicators):
        left.append(_say("left_out_components", lang, start=start, end=end))
    if "share_65plus" in panel.indicators:
        left.append(_say("left_out_change", lang, start=start, end=end, names=_say("change_65plus", lang)))
    return left


def _cv_folds(n: int, n_folds: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import (
        KFold,  # heavy: loaded only when the driver models run
    )

    folds = np.empty(n, dtype=int)
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for number, (_, test) in enumerate(splitter.split(np.zeros(n))):
        folds[test] = number
    return folds


def _gbm(seed: int, n_jobs: int = 1):  # type: ignore[no-untyped-def]
    from lightgbm import LGBMRegressor  # heavy: as above

    return LGBMRegressor(
        n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=10, subsample=0.8,
        subsample_freq=1, colsample_bytree=0.9, reg_lambda=1.0, random_state=seed, n_jobs=n_jobs,
        deterministic=True, force_row_wise=True, verbose=-1,
    )


def _fit_ols(X: pd.DataFrame, y: pd.Series):  # type: ignore[no-untyped-def]
    from statsmodels.regression.linear_model import OLS  # heavy: as above (statsmodels.api would load far more)
    from statsmodels.tools.tools import add_constant  # heavy: as above

    design = add_constant(X, has_constant="add")
    return OLS(y, design).fit(cov_type="HC3")


def _r2(y: np.ndarray, prediction: np.ndarray) -> float:
    residual = float(np.sum((y - prediction) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - residual / total if total > 0 else float("nan")


def _rmse(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - prediction) ** 2)))


def _excluded(features: pd.DataFrame, no_rate: np.ndarray, lang: str = "en") -> dict[str, str]:
    """Why each left-out unit is left out, in the features' order: no annual rate (``no_rate``), else the
    predictors it lacks (missing or not finite), by column order, in ``lang``. Vectorised: one pass per column,
    one message per distinct combination of missing predictors."""
    values = features.astype(float).to_numpy()
    lacks = ~np.isfinite(values) & ~no_rate[:, None]  # NaN is not finite
    lacking = pd.Series("", index=features.index.astype(str), dtype=object)
    for position, column in enumerate(features.columns):  # per predictor, not per unit
        lacking = lacking.where(~lacks[:, position], lacking + np.where(lacking == "", "", ", ") + str(column))
    worded = {combination: _say("excluded_missing", lang, columns=combination)
              for combination in pd.unique(lacking[lacking != ""])}
    reason = lacking.map(worded).astype(object).where(lacking != "", "")
    reason = reason.where(~no_rate, _say("excluded_insufficient", lang))
    reason = reason[reason != ""]
    return dict(zip(reason.index, reason.to_numpy()))


def drivers(
    identification: "Identification",
    panel: "Panel",
    seed: int = 0,
    *,
    n_folds: int = 5,
    n_jobs: int = 1,
    lang: str = "en",
    contributions_of: tuple[str, ...] = (),
) -> DriverResult:
    """Relate the annual rate to the indicators the dataset has.

    Two models on the same units: OLS with HC3 robust standard errors and a
    LightGBM gradient-boosted model (deterministic for ``seed``, 2 threads),
    each with ``n_folds``-fold cross-validated out-of-sample R² and RMSE next to
    a baseline that predicts the training-fold mean, on the same folds.
    Per-unit contributions come from LightGBM's ``pred_contrib`` (SHAP values
    of the tree model) fit on all used units.

    Parameters
    ----------
    identification, panel
        The verdicts (target: ``annual_rate``, percent per year) and their panel.
    seed
        Seeds the fold split and LightGBM.
    n_folds
        Number of cross-validation folds (reduced when there are few units).
    n_jobs
        LightGBM threads. Default 1: on small tables (hundreds to thousands of
        rows) OpenMP threads cost more than they save; on a loaded 2-core
        machine one fit took 0.16 s with 1 thread and 2.7 s with 2. With
        ``deterministic=True`` and row-wise histograms the result does not
        depend on the thread count for a given seed. The contributions of
        :data:`CONTRIBUTION_THREADS_FROM` or more units are computed on at
        least two threads (the same values).
    lang
        The language of the result's prose (``summary``, ``timing``, ``feature_notes``, ``message`` and the
        reasons in ``excluded``): ``"en"`` or ``"zh"``, from the message catalogues.
    contributions_of
        Units whose contributions are wanted even when the models run on a sample that leaves them out
        (``explain``): added to ``contributions`` from the same model where they are usable.

    Above :data:`MAX_DRIVER_UNITS` usable units, everything (folds, fits, coefficients, contributions) is
    computed on a sample of that many drawn with ``seed``, ``n_used`` is the sample's size and
    ``sampled_from`` the usable units; the summary says so.

    Returns
    -------
    DriverResult
        ``available=False`` with a message when the dataset has no predictors.
        Units with insufficient data or a missing predictor are excluded and listed.
    """
    check_language(lang, "lang")
    features, notes, family = driver_features(identification, panel, lang)
    start, end = _period(identification, panel)
    timing = _say("sentence_separator", lang).join(
        [_say("timing", lang, start=start, end=end), *_left_out(panel, start, end, lang)])
    table = identification.table
    target = pd.to_numeric(table["annual_rate"], errors="coerce").astype(float)
    target.index = features.index
    dataset = panel.id
    if features.shape[1] == 0:
        return DriverResult(available=False, dataset=dataset, target="annual_rate", n_used=0,
                            n_excluded=len(table), excluded={},
                            message=_say("no_predictors", lang, dataset=dataset),
                            seed=int(seed))
    excluded = _excluded(features, table["status"].eq("insufficient_data").to_numpy() | ~np.isfinite(target.to_numpy()),
                         lang)
    keep = ~pd.Index(features.index.astype(str)).isin(list(excluded))
    X_usable = features.loc[keep].astype(float)
    X, y, sampled_from = X_usable, target.loc[keep], None
    if len(y) > MAX_DRIVER_UNITS:  # a seeded sample, in the units' order
        pick = np.sort(np.random.default_rng(int(seed)).choice(len(y), MAX_DRIVER_UNITS, replace=False))
        X, y, sampled_from = X.iloc[pick], y.iloc[pick], len(y)
    constant = [c for c in X.columns if X[c].nunique() <= 1]
    if constant:
        X = X.drop(columns=constant)
        for column in constant:
            notes.pop(column, None)
    n = len(y)
    if n < 20 or X.shape[1] == 0:
        return DriverResult(available=False, dataset=dataset, target="annual_rate", n_used=n,
                            n_excluded=len(excluded), excluded=excluded,
                            message=_say("too_few", lang, n=n, columns=", ".join(features.columns)),
                            seed=int(seed))
    k = int(min(max(2, n_folds), n // 5))
    folds = _cv_folds(n, k, int(seed))
    scores: dict[str, tuple[list[float], list[float]]] = {"ols_hc3": ([], []), "lightgbm": ([], []),
                                                          "baseline_training_mean": ([], [])}
    y_values = y.to_numpy()
    for number in range(k):
        train, test = folds != number, folds == number
        ols = _fit_ols(X[train], y[train])
        from statsmodels.tools.tools import add_constant  # heavy: as above

        ols_prediction = np.asarray(ols.predict(add_constant(X[test], has_constant="add")))
        booster = _gbm(int(seed), int(n_jobs)).fit(X[train], y_values[train])
        gbm_prediction = booster.predict(X[test])
        baseline_prediction = np.full(int(test.sum()), y_values[train].mean())
        for name, prediction in (("ols_hc3", ols_prediction), ("lightgbm", gbm_prediction),
                                 ("baseline_training_mean", baseline_prediction)):
            scores[name][0].append(_r2(y_values[test], prediction))
            scores[name][1].append(_rmse(y_values[test], prediction))
    fits = {name: CVFit(model=name, r2=float(np.mean(r2s)), rmse=float(np.mean(rmses)),
                        r2_folds=tuple(float(v) for v in r2s), rmse_folds=tuple(float(v) for v in rmses))
            for name, (r2s, rmses) in scores.items()}

    ols_all = _fit_ols(X, y)
    confidence = ols_all.conf_int()
    coefficients = pd.DataFrame({
        "coef": ols_all.params, "robust_se": ols_all.bse, "z": ols_all.tvalues, "p": ols_all.pvalues,
        "ci_low": confidence[0], "ci_high": confidence[1],
    })
    coefficients.index.name = "term"
    booster = _gbm(int(seed), int(n_jobs)).fit(X, y_values)
    threads = max(int(n_jobs), 2) if n >= CONTRIBUTION_THREADS_FROM else int(n_jobs)
    contribution_values = booster.predict(X, pred_contrib=True, num_threads=threads)
    contributions = pd.DataFrame(contribution_values, index=X.index, columns=[*X.columns, "expected_value"])
    importance = contributions[list(X.columns)].abs().mean().sort_values(ascending=False)
    wanted = [u for u in contributions_of if u in X_usable.index and u not in X.index]
    if wanted:  # asked for, left out of the sample: the same model's contributions, not in the importance
        extra = X_usable.loc[wanted, list(X.columns)]
        contributions = pd.concat([contributions, pd.DataFrame(booster.predict(extra, pred_contrib=True),
                                                               index=extra.index, columns=contributions.columns)])
    importance.name = "mean_abs_contribution"

    result_kwargs = dict(
        available=True, message="", dataset=dataset, target="annual_rate", n_used=n, n_excluded=len(excluded),
        excluded=excluded, predictors=tuple(X.columns), feature_notes=notes, features=X,
        coefficients=coefficients, ols_r2_in_sample=float(ols_all.rsquared), ols_cv=fits["ols_hc3"],
        gbm_cv=fits["lightgbm"], baseline_cv=fits["baseline_training_mean"], n_folds=k,
        folds=pd.Series(folds, index=X.index, name="fold"), contributions=contributions,
        importance=importance, seed=int(seed), period=(start, end), timing=timing, sampled_from=sampled_from,
    )
    summary = _summary_text(family, result_kwargs, panel, lang)
    return DriverResult(**result_kwargs, summary=summary)  # type: ignore[arg-type]


def _summary_text(family: str, r: dict, panel: "Panel", lang: str = "en") -> str:  # type: ignore[type-arg]
    """The models in plain, associational words in ``lang``: what was related to what, when the predictors are
    measured, the OLS coefficients distinguishable from zero, the out-of-sample fit and the largest contributions."""
    coefficients: pd.DataFrame = r["coefficients"]
    notes: dict[str, str] = r["feature_notes"]
    importance: pd.Series = r["importance"]
    ols_cv: CVFit = r["ols_cv"]
    gbm_cv: CVFit = r["gbm_cv"]
    base: CVFit = r["baseline_cv"]
    parts = [_say("lead", lang, family=family, n_used=r["n_used"], n_excluded=r["n_excluded"])]
    if r["sampled_from"] is not None:
        parts.append(_say("sampled", lang, usable=r["sampled_from"], cap=MAX_DRIVER_UNITS, n_used=r["n_used"],
                          seed=r["seed"]))
    parts.append(r["timing"])
    significant = coefficients.drop(index="const", errors="ignore")
    significant = significant[significant["p"] < 0.05].sort_values("p")
    if len(significant):
        phrases = []
        for term, row in significant.head(4).iterrows():
            phrase = "region_phrase" if str(term).startswith("region_") else "term_phrase"
            phrases.append(_say(phrase, lang, what=notes.get(str(term), str(term)),
                                direction=_say("higher" if row["coef"] > 0 else "lower", lang),
                                coef=row["coef"], se=row["robust_se"], p=row["p"]))
        parts.append(_say("ols", lang, phrases=_say("phrase_separator", lang).join(phrases)))
    else:
        parts.append(_say("no_ols", lang))
    parts.append(_say("fit", lang, folds=r["n_folds"], ols_r2=ols_cv.r2, ols_rmse=ols_cv.rmse, gbm_r2=gbm_cv.r2,
                      gbm_rmse=gbm_cv.rmse, base_r2=base.r2, base_rmse=base.rmse))
    top = _say("list_separator", lang).join(_say("top_item", lang, what=notes.get(str(name), str(name)), value=value)
                                            for name, value in importance.head(3).items())
    parts.append(_say("top", lang, top=top))
    if "log10_population_start" in importance.index and panel.meta.projected_from is not None:
        parts.append(_say("selection", lang))
    parts.append(_say("associations", lang))
    return _say("sentence_separator", lang).join(parts)


def us_decomposition(panel: "Panel", lang: str = "en") -> DecompositionResult:
    """Verify, per county and year, change = natural increase + net migration + residual.

    ``change`` is P(t) - P(t-1) of ``pop_resident``; the components of year t
    cover the same interval (the Census Bureau's convention: July 1 of t-1 to
    July 1 of t). For the first year, P(t-1) is the units column
    ``estimates_base_<first year>`` when the panel has it (the April 1, 2010
    estimates base of the US file); otherwise the first year is not checked.
    County-years with a missing value are counted in ``n_not_checked``. Also checks net migration = domestic + international.

    Raises
    ------
    DataError
        When the panel lacks the component columns.
    """
    needed = ["pop_resident", "natural_increase", "net_migration", "residual"]
    missing = [c for c in needed if c not in panel.indicators]
    if missing:
        raise DataError(f"us_decomposition: panel {panel.id!r} lacks {missing}; it needs the components of change "
                        "(the us-county-est dataset has them)")
    population = panel.wide("pop_resident")
    years = panel.years
    rows = []
    pairs: list[tuple[int, int | None]] = [(y, p) for p, y in zip(years[:-1], years[1:]) if y - p == 1]
    base_column = f"estimates_base_{years[0]}"
    if base_column in panel.units.columns:  # the Census convention: the first component year starts at the base
        pairs.insert(0, (years[0], None))
    for year, previous in pairs:
        frame = pd.DataFrame(index=population.index)
        frame["year"] = year
        start = (pd.to_numeric(panel.units[base_column], errors="coerce").reindex(population.index)
                 if previous is None else population[previous])
        frame["change"] = population[year] - start
        for component in ("natural_increase", "net_migration", "residual", "net_domestic_migration",
                          "net_international_migration", "births", "deaths"):
            if component in panel.indicators:
                frame[component] = panel.wide(component, [year])[year]
        rows.append(frame)
    if not rows:
        raise DataError(f"us_decomposition: panel {panel.id!r} has no two consecutive years")
    table = pd.concat(rows).set_index("year", append=True)
    table["gap"] = table["change"] - (table["natural_increase"] + table["net_migration"] + table["residual"])
    if {"net_domestic_migration", "net_international_migration"} <= set(table.columns):
        table["migration_gap"] = table["net_migration"] - (
            table["net_domestic_migration"] + table["net_international_migration"])
    else:
        table["migration_gap"] = np.nan
    checked = table["gap"].notna()
    n_checked = int(checked.sum())
    max_gap = float(table.loc[checked, "gap"].abs().max()) if n_checked else float("nan")
    migration = table["migration_gap"].dropna()
    max_migration = float(migration.abs().max()) if len(migration) else float("nan")
    exact = bool(n_checked > 0 and max_gap == 0.0)
    migration_exact = bool(len(migration) > 0 and max_migration == 0.0)
    n_units = int(table.loc[checked].index.get_level_values("unit_id").nunique())
    checked_years = tuple(sorted(int(y) for y in table.loc[checked].index.get_level_values("year").unique()))
    def accuracy(is_exact: bool, gap: float) -> str:
        return message("analysis.decomposition.exactly" if is_exact else "analysis.decomposition.up_to", lang,
                       **({} if is_exact else {"gap": gap}))

    text = message("analysis.decomposition.message", lang, gap=accuracy(exact, max_gap), n=n_checked, units=n_units,
                   first=checked_years[0] if checked_years else "-", last=checked_years[-1] if checked_years else "-",
                   migration=accuracy(migration_exact, max_migration))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DecompositionResult(
            table=table, exact=exact, migration_exact=migration_exact, max_abs_gap=max_gap,
            max_abs_migration_gap=max_migration, n_units=n_units, n_checked=n_checked, years=checked_years,
            n_not_checked=int((~checked).sum()), message=text,
        )

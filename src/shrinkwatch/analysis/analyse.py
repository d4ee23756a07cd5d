"""Explain an identification: where shrinkage concentrates, how it clusters,
whether land still expands, what the annual rate is associated with, which
types of shrinking city there are and which transformation paths fit them.

Every stage takes plain data (an :class:`~shrinkwatch.core.Identification`
and its :class:`~shrinkwatch.core.Panel`) and returns a frozen dataclass of
named results; every count comes with its denominator and every excluded unit
is listed with the reason. Stochastic steps take ``seed``.

The stages live in their own modules (:mod:`~shrinkwatch.analysis.distribution`,
:mod:`~shrinkwatch.analysis.spatial`, :mod:`~shrinkwatch.analysis.paradox`,
:mod:`~shrinkwatch.analysis.drivers`, :mod:`~shrinkwatch.analysis.typology` with its
:mod:`~shrinkwatch.analysis.features` and :mod:`~shrinkwatch.analysis.resource_cities`,
:mod:`~shrinkwatch.analysis.recommend` with its :mod:`~shrinkwatch.analysis.knowledge`,
and :mod:`~shrinkwatch.analysis.unit_profile` for one unit); :func:`analyse` runs the first four
once and returns an :class:`Analysis`, which also carries the sensitivity
sweep, the typology and the recommendations when the caller adds them. The
report (:mod:`shrinkwatch.report`) renders an :class:`Analysis`;
``summary.json`` is built from the results' ``as_dict()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shrinkwatch.analysis.distribution import DistributionResult, distribution
from shrinkwatch.analysis.drivers import (
    CAUSAL_WORDS,
    CVFit,
    DecompositionResult,
    DriverResult,
    driver_features,
    drivers,
    us_decomposition,
)
from shrinkwatch.analysis.paradox import ParadoxResult, expansion_paradox, tapio_states
from shrinkwatch.analysis.recommend import RecommendationResult
from shrinkwatch.analysis.spatial import (
    LisaResult,
    MoranResult,
    SpatialOptions,
    SpatialSettings,
    SpatialWeights,
    lisa,
    moran,
    spatial_weights,
)
from shrinkwatch.analysis.typology import Typology
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import ShrinkWatchError
from shrinkwatch.forecast.engine import ForecastResult
from shrinkwatch.identification.sensitivity import SensitivityResult
from shrinkwatch.identification.timeline import Timeline

__all__ = [
    "DistributionResult",
    "distribution",
    "SpatialSettings",
    "SpatialOptions",
    "SpatialWeights",
    "spatial_weights",
    "MoranResult",
    "moran",
    "LisaResult",
    "lisa",
    "ParadoxResult",
    "expansion_paradox",
    "tapio_states",
    "CVFit",
    "DriverResult",
    "drivers",
    "driver_features",
    "DecompositionResult",
    "us_decomposition",
    "Analysis",
    "analyse",
    "summary_statistics",
    "CAUSAL_WORDS",
]


@dataclass(frozen=True)
class Analysis:
    """All analysis results for one identification; ``errors`` holds why a part is unavailable.

    ``sensitivity`` (the sweep over the standard's grid), ``typology``,
    ``recommendations`` and ``timeline`` (the status as of every year) are None unless the caller ran them
    (:func:`shrinkwatch.run` does; add them with :func:`dataclasses.replace`).
    """

    dataset: str
    seed: int
    permutations: int
    distribution: DistributionResult
    moran: MoranResult | None
    lisa: LisaResult | None
    paradox: ParadoxResult
    drivers: DriverResult
    decomposition: DecompositionResult | None
    errors: dict[str, str]
    sensitivity: SensitivityResult | None = None
    typology: Typology | None = None
    recommendations: RecommendationResult | None = None
    timeline: Timeline | None = None
    #: the forecasts' watchlist and their backtest skill (the report's "Early warning"); set by ``run``
    early_warning: ForecastResult | None = None


def analyse(
    identification: Identification,
    panel: Panel,
    seed: int = 0,
    *,
    permutations: int = 999,
    alpha: float = 0.05,
    lang: str = "en",
) -> Analysis:
    """Run distribution, Moran/LISA, the paradox, and the driver models once.

    A part that cannot run on this dataset (no geometry, too few units) is
    ``None`` with the reason in ``errors``; other exceptions propagate.
    ``lang`` (``"en"`` or ``"zh"``) is the language of the results' prose: the driver models' summary and
    notes, the paradox message, the spatial weights' description and the US decomposition's check.
    """
    errors: dict[str, str] = {}
    moran_result: MoranResult | None = None
    lisa_result: LisaResult | None = None
    try:
        settings = SpatialSettings(permutations=permutations, seed=seed, alpha=alpha, lang=lang)
        moran_result = moran(identification, panel, settings)
        lisa_result = lisa(identification, panel, settings, weights=moran_result.weights)
    except ShrinkWatchError as error:
        errors["spatial"] = str(error)
    decomposition: DecompositionResult | None = None
    if {"natural_increase", "net_migration", "residual"} <= set(panel.indicators):
        decomposition = us_decomposition(panel, lang)
    return Analysis(
        dataset=panel.id, seed=int(seed), permutations=int(permutations),
        distribution=distribution(identification), moran=moran_result, lisa=lisa_result,
        paradox=expansion_paradox(identification, panel, lang=lang),
        drivers=drivers(identification, panel, seed=seed, lang=lang),
        decomposition=decomposition, errors=errors,
    )


def summary_statistics(
    identification: Identification,
    panel: Panel,
    seed: int = 0,
    *,
    permutations: int = 999,
    analysis: Analysis | None = None,
) -> dict[str, Any]:
    """Headline statistics in one flat, JSON-ready dict (``summary.json`` keeps each result's ``as_dict()``).

    Keys: ``moran`` (I, pseudo p, n, excluded...), ``lisa_counts``,
    ``expansion_paradox`` (share with its denominator, or ``"no built-up data"``),
    ``drivers`` (each model's out-of-sample R²/RMSE next to the baseline's),
    ``distribution`` (totals and by region), ``us_decomposition`` where applicable.
    """
    bundle = analysis if analysis is not None else analyse(identification, panel, seed, permutations=permutations)
    out: dict[str, Any] = {"seed": bundle.seed, "permutations": bundle.permutations}
    out["distribution"] = {"totals": bundle.distribution.totals,
                           **({"by_region": bundle.distribution.as_dict()["by_region"]}
                              if "region" in bundle.distribution.tables else {})}
    if bundle.moran is not None and bundle.lisa is not None:
        out["moran"] = bundle.moran.as_dict()
        out["lisa_counts"] = dict(bundle.lisa.counts)
        out["lisa_alpha"] = bundle.lisa.alpha
    else:
        out["moran"] = {"available": False, "message": bundle.errors.get("spatial", "")}
        out["lisa_counts"] = None
    paradox = bundle.paradox
    out["expansion_paradox"] = paradox.as_dict()
    result = bundle.drivers
    if result.available:
        assert result.ols_cv and result.gbm_cv and result.baseline_cv
        out["drivers"] = {
            "n_used": result.n_used, "n_excluded": result.n_excluded, "n_folds": result.n_folds,
            "ols_hc3": {"cv_r2": round(result.ols_cv.r2, 4), "cv_rmse": round(result.ols_cv.rmse, 4)},
            "lightgbm": {"cv_r2": round(result.gbm_cv.r2, 4), "cv_rmse": round(result.gbm_cv.rmse, 4)},
            "baseline_training_mean": {"cv_r2": round(result.baseline_cv.r2, 4),
                                       "cv_rmse": round(result.baseline_cv.rmse, 4)},
            "predictors": list(result.predictors),
        }
    else:
        out["drivers"] = {"available": False, "message": result.message}
    if bundle.decomposition is not None:
        out["us_decomposition"] = {"exact": bundle.decomposition.exact,
                                   "county_years_checked": bundle.decomposition.n_checked,
                                   "max_abs_gap": bundle.decomposition.max_abs_gap}
    return out

"""Clustering features of the typology: what each measures and how it is computed from a panel.

A :class:`Feature` computes one value per unit from the panel (and the
identification, for the annual rate) and names its two directions, which
:mod:`shrinkwatch.analysis.typology` uses to label the clusters. A dataset uses
the features it can compute (:func:`select_features`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.messages import message

__all__ = ["Feature", "FEATURES", "MIN_FEATURE_COVERAGE", "select_features"]

#: A feature is used when at least this share of the shrinking units have it.
MIN_FEATURE_COVERAGE = 0.8


@dataclass(frozen=True)
class Feature:
    """A clustering feature: how to compute it and how to name its two directions."""

    key: str
    description: str
    high: str
    low: str
    high_zh: str
    low_zh: str
    compute: Callable[[Panel, Identification], pd.Series | None]


def _years(panel: Panel) -> tuple[int, int]:
    years = panel.observed_years
    return years[0], years[-1]


def _last(indicator: str) -> Callable[[Panel, Identification], pd.Series | None]:
    def compute(panel: Panel, identification: Identification) -> pd.Series | None:
        if indicator not in panel.indicators:
            return None
        return panel.wide(indicator)[_years(panel)[1]]

    return compute


def _change(indicator: str) -> Callable[[Panel, Identification], pd.Series | None]:
    def compute(panel: Panel, identification: Identification) -> pd.Series | None:
        if indicator not in panel.indicators or len(panel.observed_years) < 2:
            return None
        first, last = _years(panel)
        wide = panel.wide(indicator)
        return wide[last] - wide[first]

    return compute


def _rate(panel: Panel, identification: Identification) -> pd.Series | None:
    return identification.table["annual_rate"].astype(float)


def _urban_share(panel: Panel, identification: Identification) -> pd.Series | None:
    if not {"pop_urban", "pop_resident"} <= set(panel.indicators):
        return None
    last = _years(panel)[1]
    total = panel.wide("pop_resident")[last]
    return 100.0 * panel.wide("pop_urban")[last] / total.where(total > 0)


def _components(component: str) -> Callable[[Panel, Identification], pd.Series | None]:
    """A component of change (US estimates) summed over the period, per 1,000 start population."""

    def compute(panel: Panel, identification: Identification) -> pd.Series | None:
        population = next((p for p in ("pop_resident", "pop_total", "population") if p in panel.indicators), None)
        if component not in panel.indicators or population is None:
            return None
        first, last = _years(panel)
        flows = panel.wide(component, [y for y in panel.years if first < y <= last]).sum(axis=1, min_count=1)
        start = panel.wide(population)[first]
        return 1000.0 * flows / start.where(start > 0)

    return compute


#: Candidate features, in the order they are tried; a dataset uses those it has.
FEATURES: dict[str, Feature] = {
    f.key: f
    for f in (
        Feature("annual_rate", "average annual population change (%/yr)", "slower loss", "faster loss",
                "流失较慢", "流失较快", _rate),
        Feature("share_65plus", "share aged 65+ in the last year (%)", "older", "younger",
                "老龄化程度较高", "老龄化程度较低", _last("share_65plus")),
        Feature("share_65plus_change", "change of the 65+ share over the period (percentage points)",
                "faster ageing", "slower ageing", "老龄化较快", "老龄化较慢", _change("share_65plus")),
        Feature("share_0_14", "share aged 0-14 in the last year (%)", "more children", "fewer children",
                "少儿比重较高", "少儿比重较低", _last("share_0_14")),
        Feature("urban_share", "urban share of the resident population in the last year (%)",
                "more urban", "more rural", "城镇化率较高", "城镇化率较低", _urban_share),
        Feature("household_size", "persons per household in the last year", "larger households",
                "smaller households", "户均规模较大", "户均规模较小", _last("household_size")),
        Feature("sex_ratio", "males per 100 females in the last year", "more male", "more female",
                "男性比例较高", "女性比例较高", _last("sex_ratio")),
        Feature("natural_increase_per_1000", "natural increase over the period per 1,000 start population",
                "more natural increase", "more natural decrease", "自然增长较多", "自然减少较多", _components("natural_increase")),
        Feature("net_domestic_migration_per_1000", "net domestic migration per 1,000 start population",
                "less domestic out-migration", "more domestic out-migration", "国内净迁出较少", "国内净迁出较多",
                _components("net_domestic_migration")),
        Feature("net_international_migration_per_1000", "net international migration per 1,000 start population",
                "more international in-migration", "less international in-migration", "国际净迁入较多", "国际净迁入较少",
                _components("net_international_migration")),
    )
}


def select_features(
    panel: Panel, identification: Identification, rows: pd.Index, requested: Sequence[str] | None, *,
    lang: str = "en",
) -> tuple[pd.DataFrame, list[str]]:
    """The feature values of every unit of the identification, keeping the features fit to cluster ``rows``.

    Parameters
    ----------
    panel, identification
        The data and the verdicts.
    rows
        The units to be clustered (the shrinking ones): a feature is left out,
        with a note, when under :data:`MIN_FEATURE_COVERAGE` of them have it or
        it does not vary among them.
    requested
        Feature keys to use (each must be computable); None tries every
        feature of :data:`FEATURES` and keeps those the panel supports.

    Returns
    -------
    tuple of (pandas.DataFrame, list of str)
        One column per feature kept, indexed like ``identification.table``,
        and the notes on features left out (in ``lang``).
    """
    notes: list[str] = []
    keys = list(requested) if requested is not None else list(FEATURES)
    unknown = [k for k in keys if k not in FEATURES]
    if unknown:
        raise OptionError(f"features: unknown feature(s) {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    columns: dict[str, pd.Series] = {}
    for key in keys:
        values = FEATURES[key].compute(panel, identification)
        if values is None:
            if requested is not None:
                raise OptionError(f"features: {key!r} cannot be computed from panel {panel.id!r}")
            continue
        values = values.reindex(identification.table.index).astype(float)
        subset = values.loc[rows]
        coverage = float(subset.notna().mean()) if len(subset) else 0.0
        if len(subset) and (coverage < MIN_FEATURE_COVERAGE or float(np.nanstd(subset.to_numpy())) == 0.0):
            notes.append(message("analysis.typology.feature_left_out", lang, key=key, coverage=coverage))
            continue
        columns[key] = values
    return pd.DataFrame(columns, index=identification.table.index), notes

"""Explain an identification: where shrinkage concentrates, how it clusters,
whether land still expands, and what the annual rate is associated with.

Every function takes plain data (an :class:`~shrinkwatch.core.Identification`
and its :class:`~shrinkwatch.core.Panel`) and returns a frozen dataclass of
named results; every count comes with its denominator and every excluded unit
is listed with the reason. Stochastic steps take ``seed``.

The report uses :func:`analysis_sections` (HTML sections in the order of the
seed article) and ``summary.json`` uses :func:`summary_statistics`; both can
reuse one :func:`analyse` bundle so nothing is computed twice.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.analysis.drivers import (
    CAUSAL_WORDS,
    CVFit,
    DecompositionResult,
    DriverResult,
    driver_features,
    drivers,
    us_decomposition,
)
from shrinkwatch.core.errors import DataError, OptionError, ShrinkWatchError
from shrinkwatch.report.html import Section, frame_html
from shrinkwatch.analysis.spatial import (
    LISA_MEANINGS,
    LisaResult,
    MoranResult,
    SpatialWeights,
    cluster_map_svg,
    lisa,
    moran,
    spatial_weights,
)
from shrinkwatch.core import Identification, Panel

__all__ = [
    "DistributionResult",
    "distribution",
    "SpatialWeights",
    "spatial_weights",
    "MoranResult",
    "moran",
    "LisaResult",
    "lisa",
    "cluster_map_svg",
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
    "Section",
    "analysis_sections",
    "summary_statistics",
    "distribution_chart_svg",
    "driver_importance_svg",
    "CAUSAL_WORDS",
]


# ---------------------------------------------------------------- distribution

@dataclass(frozen=True)
class DistributionResult:
    """Counts and shares of shrinking units by grouping column.

    ``tables`` maps each grouping column (``parent_name``, ``region``...) to
    :meth:`Identification.counts_by` output: ``units``, ``with_data``,
    ``shrinking``, ``not_shrinking``, ``insufficient_data`` and
    ``share_shrinking`` = shrinking / with_data (the denominator excludes units
    with insufficient data, which are counted). ``totals`` is
    :meth:`Identification.counts`; ``labels`` names each grouping in words.
    """

    tables: dict[str, pd.DataFrame] = field(repr=False)
    totals: dict[str, int]
    labels: dict[str, str]

    @property
    def by_parent(self) -> pd.DataFrame:
        return self.tables["parent_name"]

    @property
    def by_region(self) -> pd.DataFrame:
        return self.tables["region"]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"totals": dict(self.totals)}
        for column, table in self.tables.items():
            out[f"by_{column}"] = [
                {column: str(index), **{c: (None if pd.isna(v) else (float(v) if c == "share_shrinking" else int(v)))
                                        for c, v in row.items()}}
                for index, row in table.iterrows()
            ]
        return out


def distribution(identification: Identification, by: Sequence[str] = ("parent_name", "region")) -> DistributionResult:
    """Counts and shares of shrinking units by parent (province, state, country) and by region.

    Parameters
    ----------
    identification
        The verdicts.
    by
        Grouping columns of ``identification.table``.

    Returns
    -------
    DistributionResult
        One table per column, largest number of shrinking units first.

    Examples
    --------
    >>> import pandas as pd
    >>> from shrinkwatch.core import Identification
    >>> table = pd.DataFrame({"parent_name": ["P", "P", "Q"], "region": ["R", "R", "R"],
    ...                       "status": ["shrinking", "insufficient_data", "not_shrinking"]},
    ...                      index=pd.Index(["a", "b", "c"], name="unit_id"))
    >>> result = distribution(Identification(table, "toy", {}, {}))
    >>> row = result.by_parent.loc["P"]
    >>> int(row["units"]), int(row["with_data"]), int(row["shrinking"]), float(row["share_shrinking"])
    (2, 1, 1, 1.0)
    """
    if isinstance(by, str):
        by = (by,)
    tables = {column: identification.counts_by(column) for column in by}
    meta = identification.panel_meta
    parent_label = str(meta.parent_label or ("province" if meta.country == "China" else "parent"))
    labels = {column: (parent_label if column == "parent_name" else column.replace("_", " ")) for column in by}
    return DistributionResult(tables=tables, totals=identification.counts(), labels=labels)


# ---------------------------------------------------------------- expansion paradox

@dataclass(frozen=True)
class ParadoxResult:
    """The expansion paradox: shrinking units whose built-up area still grew.

    ``share`` = ``n_grew`` / ``denominator`` where the denominator is the
    shrinking units with built-up area at both ``start_year`` and ``end_year``;
    shrinking units without built-up data are counted in
    ``n_shrinking_without_builtup`` and listed. ``table`` has, per unit with
    both series, the relative changes, the elasticity and the Tapio state.
    ``available`` is False (with ``message``) when the panel has no built-up data.
    """

    available: bool
    message: str
    dataset: str
    builtup_present: bool = False
    start_year: int | None = None
    end_year: int | None = None
    population_indicator: str = ""
    n_shrinking: int = 0
    denominator: int = 0
    n_grew: int = 0
    share: float | None = None
    n_shrinking_without_builtup: int = 0
    shrinking_without_builtup: tuple[str, ...] = ()
    state_counts_shrinking: dict[str, int] = field(default_factory=dict)
    state_counts_all: dict[str, int] = field(default_factory=dict)
    table: pd.DataFrame | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "builtup_present": self.builtup_present,
                    "paradox_share": None if self.builtup_present else "no built-up data", "message": self.message}
        return {
            "available": True, "start_year": self.start_year, "end_year": self.end_year,
            "population_indicator": self.population_indicator, "paradox_share": self.share,
            "numerator_builtup_grew": self.n_grew, "denominator_shrinking_with_builtup": self.denominator,
            "shrinking_units": self.n_shrinking, "shrinking_without_builtup": self.n_shrinking_without_builtup,
            "tapio_states_of_shrinking_units": dict(self.state_counts_shrinking), "message": self.message,
        }


def tapio_states(population_change: np.ndarray, land_change: np.ndarray) -> np.ndarray:
    """Tapio decoupling state from relative changes (``shrinkwatch.identify.indicators.tapio_state``).

    Examples
    --------
    >>> tapio_states(np.array([-0.1, 0.1, -0.1]), np.array([0.05, 0.05, -0.2])).tolist()
    ['strong negative decoupling', 'weak decoupling', 'recessive decoupling']
    """
    from shrinkwatch.identify.indicators import tapio_state

    return np.asarray(tapio_state(np.asarray(population_change, dtype=float), np.asarray(land_change, dtype=float)),
                      dtype=object)


def expansion_paradox(
    identification: Identification,
    panel: Panel,
    start_year: int | None = None,
    end_year: int | None = None,
) -> ParadoxResult:
    """Share of shrinking units whose built-up area (``builtup_km2``) grew, with Tapio states.

    Parameters
    ----------
    identification, panel
        The verdicts and their panel.
    start_year, end_year
        The period; default: the identification's period (its ``start_year`` /
        ``end_year`` columns), else the panel's first and last observed years.

    Returns
    -------
    ParadoxResult
        ``available=False`` and a plain message when the panel has no built-up data.

    Examples
    --------
    >>> import pandas as pd
    >>> from shrinkwatch.core import Identification, Panel
    >>> index = pd.Index(["a", "b", "c"], name="unit_id")
    >>> units = pd.DataFrame({"name": ["A", "B", "C"]}, index=index)
    >>> values = pd.DataFrame({"pop_resident": [100, 90, 100, 95, 100, 120.0], "builtup_km2": [10, 12, 10, 9, 10, 11.0]},
    ...                       index=pd.MultiIndex.from_product([list("abc"), [2010, 2020]], names=["unit_id", "year"]))
    >>> verdicts = Identification(pd.DataFrame({"status": ["shrinking", "shrinking", "not_shrinking"]}, index=index),
    ...                           "toy", {}, {})
    >>> result = expansion_paradox(verdicts, Panel(units, values, {"id": "toy"}))
    >>> result.n_grew, result.denominator, result.share
    (1, 2, 0.5)
    """
    dataset = panel.id
    if "builtup_km2" not in panel.indicators or panel.values["builtup_km2"].notna().sum() == 0:
        return ParadoxResult(
            available=False, dataset=dataset,
            message=(f"Dataset {dataset!r} has no built-up area data (builtup_km2), so the expansion paradox "
                     "(shrinking units whose built-up land still grew) cannot be measured for it."),
        )
    default_start, default_end = _period(identification, panel)
    start = int(start_year) if start_year is not None else default_start
    end = int(end_year) if end_year is not None else default_end
    if end <= start:
        raise OptionError(f"expansion_paradox: end_year ({end}) must be after start_year ({start})")
    for label, year in (("start_year", start), ("end_year", end)):
        if year not in panel.years:
            raise OptionError(f"expansion_paradox: {label} {year} is not a year of panel {dataset!r} ({panel.years})")
    indicator = str(identification.parameters.get("indicator", "pop_resident"))
    if indicator not in panel.indicators:
        indicator = "pop_resident"
    population = panel.wide(indicator, [start, end]).reindex(identification.table.index)
    land = panel.wide("builtup_km2", [start, end]).reindex(identification.table.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        population_change = (population[end] / population[start].where(population[start] > 0) - 1.0).to_numpy()
        land_change = (land[end] / land[start].where(land[start] > 0) - 1.0).to_numpy()
    # a change across a boundary break compares different territories: no Tapio state for it
    comparable = ~identification.table["status"].eq("boundary_change").to_numpy()
    has_land = np.isfinite(land_change) & comparable
    has_both = has_land & np.isfinite(population_change)
    shrinking = identification.table["status"].eq("shrinking").to_numpy()
    states = np.full(len(shrinking), "", dtype=object)
    states[has_both] = tapio_states(population_change[has_both], land_change[has_both])
    from shrinkwatch.identify.indicators import elasticity

    table = pd.DataFrame({
        "name": identification.table["name"].to_numpy() if "name" in identification.table.columns else "",
        "status": identification.table["status"].to_numpy(),
        f"{indicator}_change": population_change,
        "builtup_change": land_change,
        "elasticity": elasticity(land_change, population_change),
        "tapio_state": states,
        "builtup_grew": np.where(has_land, land_change > 0, False),
    }, index=identification.table.index)
    table = table.loc[has_land]
    denominator_mask = shrinking & has_land
    denominator = int(denominator_mask.sum())
    grew = int((denominator_mask & (np.nan_to_num(land_change, nan=0.0) > 0)).sum())
    without = tuple(str(u) for u in identification.table.index[shrinking & ~has_land])
    share = round(grew / denominator, 4) if denominator else None
    state_counts_shrinking = {str(k): int(v) for k, v in pd.Series(states[shrinking & has_both]).value_counts().items()
                              if k}
    state_counts_all = {str(k): int(v) for k, v in pd.Series(states[has_both]).value_counts().items() if k}
    if denominator:
        message = (f"{grew} of {denominator} shrinking units with built-up data ({share:.1%}) expanded their built-up "
                   f"area {start}-{end}")
    else:
        message = (f"None of the {int(shrinking.sum())} shrinking units has built-up data for {start} and {end}, "
                   "so the paradox share has no denominator")
        if not shrinking.any():
            message = (f"No unit is shrinking under this standard, so the paradox share has no denominator; "
                       f"{int(has_both.sum())} unit(s) have population and built-up data for {start} and {end}")
    if without:
        message += f"; {len(without)} shrinking unit(s) without built-up data are not in the denominator"
    return ParadoxResult(
        available=denominator > 0, message=message + ".", dataset=dataset, builtup_present=True, start_year=start, end_year=end,
        population_indicator=indicator, n_shrinking=int(shrinking.sum()), denominator=denominator, n_grew=grew,
        share=share, n_shrinking_without_builtup=len(without), shrinking_without_builtup=without,
        state_counts_shrinking=state_counts_shrinking, state_counts_all=state_counts_all, table=table,
    )


def _period(identification: Identification, panel: Panel) -> tuple[int, int]:
    from shrinkwatch.analysis.drivers import _period as period

    return period(identification, panel)


# ---------------------------------------------------------------- charts

def _svg(figure: Any) -> str:
    from shrinkwatch.analysis.spatial import _svg_text

    return _svg_text(figure)


def distribution_chart_svg(
    result: DistributionResult,
    column: str = "region",
    *,
    top: int = 30,
    tick_labels: dict[str, str] | None = None,
) -> str:
    """Horizontal bar chart of the share of shrinking units by ``column``, labelled ``shrinking/with data``.

    ``top`` groups with the highest shares are drawn; ``tick_labels`` renames
    groups on the axis (e.g. English province names). Returns an ``<svg>``
    element (no XML prolog).
    """
    from matplotlib.figure import Figure

    if column not in result.tables:
        raise OptionError(f"distribution_chart_svg: no table by {column!r}; have {', '.join(result.tables)}")
    table = result.tables[column]
    table = table[table["with_data"] > 0].sort_values("share_shrinking", ascending=True).tail(top)
    figure = Figure(figsize=(7.5, 0.32 * len(table) + 1.2))
    axis = figure.add_subplot()
    positions = np.arange(len(table))
    axis.barh(positions, table["share_shrinking"].to_numpy(dtype=float) * 100, color="#b2182b")
    names = tick_labels or {}
    axis.set_yticks(positions, [names.get(str(i)) or str(i) for i in table.index], fontsize=8)
    for y, (_, row) in zip(positions, table.iterrows()):
        axis.text(float(row["share_shrinking"]) * 100 + 1, float(y), f"{int(row['shrinking'])}/{int(row['with_data'])}",
                  va="center", fontsize=7)
    axis.set_xlim(0, 112)
    axis.set_xlabel("share of units with data that are shrinking (%)", fontsize=8)
    axis.set_title(f"Shrinking units by {result.labels.get(column, column)} (shrinking / units with data)", fontsize=9)
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def driver_importance_svg(result: DriverResult) -> str:
    """Bar chart of LightGBM mean absolute contributions per predictor (%/yr)."""
    from matplotlib.figure import Figure

    if not result.available or result.importance is None:
        raise DataError(f"driver_importance_svg: no driver model ({result.message})")
    importance = result.importance.sort_values(ascending=True)
    figure = Figure(figsize=(7.5, 0.32 * len(importance) + 1.2))
    axis = figure.add_subplot()
    positions = np.arange(len(importance))
    axis.barh(positions, importance.to_numpy(dtype=float), color="#4393c3")
    axis.set_yticks(positions, [str(i) for i in importance.index], fontsize=8)
    axis.set_xlabel("mean |contribution| to the predicted annual rate (%/yr), gradient boosting", fontsize=8)
    axis.set_title("Predictor contributions (associational)", fontsize=9)
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


# ---------------------------------------------------------------- bundle, sections, summary

@dataclass(frozen=True)
class Analysis:
    """All analysis results for one identification; ``errors`` holds why a part is unavailable."""

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


def analyse(
    identification: Identification,
    panel: Panel,
    seed: int = 0,
    *,
    permutations: int = 999,
    alpha: float = 0.05,
) -> Analysis:
    """Run distribution, Moran/LISA, the paradox, and the driver models once.

    A part that cannot run on this dataset (no geometry, too few units) is
    ``None`` with the reason in ``errors``; other exceptions propagate.
    """
    errors: dict[str, str] = {}
    moran_result: MoranResult | None = None
    lisa_result: LisaResult | None = None
    try:
        moran_result = moran(identification, panel, permutations=permutations, seed=seed)
        lisa_result = lisa(identification, panel, permutations=permutations, seed=seed, alpha=alpha,
                           weights=moran_result.weights)
    except ShrinkWatchError as error:
        errors["spatial"] = str(error)
    decomposition: DecompositionResult | None = None
    if {"natural_increase", "net_migration", "residual"} <= set(panel.indicators):
        decomposition = us_decomposition(panel)
    return Analysis(
        dataset=panel.id, seed=int(seed), permutations=int(permutations),
        distribution=distribution(identification), moran=moran_result, lisa=lisa_result,
        paradox=expansion_paradox(identification, panel), drivers=drivers(identification, panel, seed=seed),
        decomposition=decomposition, errors=errors,
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def _table_html(frame: pd.DataFrame, *, floats: str = "{:.4f}", index: bool = True,
                formats: dict[str, str] | None = None) -> str:
    formats = {"share_shrinking": "{:.1%}", **(formats or {})}
    data = frame.reset_index() if index else frame
    float_formats = {str(c): formats.get(str(c), floats) for c in data.columns
                     if pd.api.types.is_float_dtype(data[c])}
    float_formats.update({k: v for k, v in formats.items() if k in data.columns})
    return str(frame_html(data, formats=float_formats, index=False))


def _parent_labels(panel: Panel) -> dict[str, str]:
    units = panel.units
    if "parent_name_en" not in units.columns or "parent_name" not in units.columns:
        return {}
    pairs = units[["parent_name", "parent_name_en"]].dropna().astype(str).drop_duplicates("parent_name")
    return {name: english for name, english in zip(pairs["parent_name"], pairs["parent_name_en"]) if english}


def _distribution_section(analysis: Analysis, panel: Panel) -> Section:
    result = analysis.distribution
    totals = result.totals
    share = totals["shrinking"] / totals["units_with_data"] if totals["units_with_data"] else float("nan")
    parts = [_p(
        f"{totals['shrinking']} of {totals['units_with_data']} units with data are shrinking ({share:.1%}); "
        f"{totals['insufficient_data']} of {totals['units_total']} units have insufficient data and are not in "
        "any denominator. Shares are shrinking units / units with data.")]
    for column in ("region", "parent_name"):
        if column in result.tables:
            labels = _parent_labels(panel) if column == "parent_name" else None
            parts.append(distribution_chart_svg(result, column, tick_labels=labels))
    parts.append(_p("The counts behind these shares, with their denominators, are in the tables "
                    "by parent and by region above and in results.xlsx."))
    summary = {key: value for key, value in result.as_dict().items() if key != "by_parent_name"}
    return Section(id="distribution", title="Distribution", html="\n".join(parts), summary=summary)


def _spatial_section(analysis: Analysis, panel: Panel) -> Section:
    if analysis.moran is None or analysis.lisa is None:
        message = analysis.errors.get("spatial", "spatial statistics unavailable")
        return Section(id="spatial-clusters", title="Spatial clusters", html=_p(f"No spatial statistics: {message}"),
                       summary={"available": False, "message": message})
    m, local = analysis.moran, analysis.lisa
    verdict = ("positive spatial autocorrelation: units with similar annual rates are neighbours more often than "
               "chance would give" if m.I > m.expected_I and m.p_sim <= 0.05 else
               "no spatial autocorrelation distinguishable from random at the 5% level" if m.p_sim > 0.05 else
               "negative spatial autocorrelation")
    parts = [
        _p(f"Global Moran's I of the annual rate = {m.I:.3f} (expected under randomness {m.expected_I:.4f}; "
           f"z = {m.z_sim:.2f}; pseudo p = {m.p_sim:.4f} from {m.permutations} permutations, seed {m.seed}): "
           f"{verdict}. {m.n} units analysed, {m.n_excluded} excluded (insufficient data or no geometry)."),
        _p(f"Weights: {m.weights_description}."
           + (f" Islands linked to their nearest unit: {', '.join(m.islands)}." if m.islands else " No islands.")
           + (f" Units with a single neighbour: {', '.join(m.single_neighbour)}." if m.single_neighbour else "")),
        _p(f"Local Moran (LISA) at alpha = {local.alpha} ({local.permutations} conditional permutations, p-values "
           "not adjusted for multiple testing): "
           + ", ".join(f"{label} {count}" for label, count in local.counts.items())
           + ". LL marks low-rate units among low-rate neighbours: clustered decline."),
        cluster_map_svg(local, panel),
    ]
    table = local.table.copy()
    if "parent_name" in panel.units.columns:
        table.insert(1, "parent", panel.units["parent_name"].reindex(table.index).astype("string").to_numpy())
    shown_per_cluster = 60
    for label in ("LL", "LH", "HL", "HH"):
        members = table[table["cluster"] == label].sort_values(["p_sim", local.variable])
        if not len(members):
            continue
        columns = [c for c in ("name", "parent", local.variable, "local_I", "p_sim") if c in members.columns]
        parts.append(f"<h4>{_e(label)}: {_e(LISA_MEANINGS[label])} ({len(members)} units)</h4>")
        parts.append(_table_html(members[columns].head(shown_per_cluster),
                                 formats={local.variable: "{:.2f}", "local_I": "{:.3f}", "p_sim": "{:.3f}"}))
        if len(members) > shown_per_cluster:
            parts.append(_p(f"… and {len(members) - shown_per_cluster} more {label} units (smallest pseudo p "
                            "first); the full table is LisaResult.table."))
    summary = {"available": True, "moran": m.as_dict(), "lisa": local.as_dict()}
    return Section(id="spatial-clusters", title="Spatial clusters", html="\n".join(parts), summary=summary,
                   tables={"lisa_clusters": local.table})


def _paradox_section(analysis: Analysis) -> Section:
    result = analysis.paradox
    if not result.available and not result.builtup_present:
        summary = result.as_dict()
        return Section(id="expansion-paradox", title="Expansion paradox", html=_p(result.message), summary=summary)
    parts = [_p(result.message)]
    if result.state_counts_all and not result.state_counts_shrinking:
        counts = pd.DataFrame({"all units": pd.Series(result.state_counts_all)}).astype(int)
        counts.index.name = "Tapio state"
        parts.append(_p("Land-population decoupling (Tapio) of every unit with built-up data:"))
        parts.append(_table_html(counts))
    if result.state_counts_shrinking:
        counts = pd.DataFrame({"shrinking units": pd.Series(result.state_counts_shrinking),
                               "all units": pd.Series(result.state_counts_all)}).fillna(0).astype(int)
        counts.index.name = "Tapio state"
        parts.append(_table_html(counts))
    return Section(id="expansion-paradox", title="Expansion paradox", html="\n".join(parts), summary=result.as_dict(),
                   tables={"tapio": result.table} if result.table is not None else {})


def _drivers_section(analysis: Analysis) -> Section:
    result = analysis.drivers
    parts: list[str] = []
    summary: dict[str, Any] = result.as_dict()
    if analysis.decomposition is not None:
        parts.append(_p(analysis.decomposition.message))
        summary["decomposition"] = {"exact": analysis.decomposition.exact,
                                    "migration_exact": analysis.decomposition.migration_exact,
                                    "county_years_checked": analysis.decomposition.n_checked,
                                    "max_abs_gap": analysis.decomposition.max_abs_gap}
    if not result.available:
        parts.append(_p(result.message))
        return Section(id="drivers", title="Drivers", html="\n".join(parts), summary=summary)
    assert result.ols_cv and result.gbm_cv and result.baseline_cv and result.coefficients is not None
    parts.append(_p(result.summary))
    fit = pd.DataFrame(
        [[cv.r2, cv.rmse] for cv in (result.ols_cv, result.gbm_cv, result.baseline_cv)],
        index=pd.Index(["OLS (HC3 robust SE)", "gradient boosting (LightGBM)", "baseline: training-fold mean"],
                       name="model"),
        columns=[f"out-of-sample R² ({result.n_folds}-fold CV)", "out-of-sample RMSE (%/yr)"],
    )
    parts.append("<h4>Out-of-sample fit (same folds for every model)</h4>")
    parts.append(_table_html(fit, floats="{:.3f}"))
    parts.append("<h4>OLS coefficients (dependent variable: annual rate, %/yr)</h4>")
    coefficients = result.coefficients.copy()
    coefficients.insert(0, "meaning", [result.feature_notes.get(str(t), "intercept" if t == "const" else "")
                                       for t in coefficients.index])
    parts.append(_table_html(coefficients))
    parts.append(driver_importance_svg(result))
    if result.excluded:
        parts.append(_p(f"Excluded ({len(result.excluded)}): "
                        + "; ".join(f"{unit}: {why}" for unit, why in list(result.excluded.items())[:50])
                        + (" …" if len(result.excluded) > 50 else "")))
    return Section(id="drivers", title="Drivers", html="\n".join(parts), summary=summary)


def analysis_sections(
    identification: Identification,
    panel: Panel,
    seed: int = 0,
    *,
    permutations: int = 999,
    analysis: Analysis | None = None,
) -> list[Section]:
    """Report sections, in order: Distribution, Spatial clusters, Expansion paradox, Drivers.

    Parameters
    ----------
    identification, panel
        The verdicts and their panel.
    seed
        Seeds the permutations, the CV folds and LightGBM.
    permutations
        Permutations for Moran's I and LISA.
    analysis
        A precomputed :func:`analyse` bundle (then ``seed``/``permutations`` are not used).

    Returns
    -------
    list[Section]
        Each with self-contained, escaped ``html`` and a JSON-ready ``summary``.
    """
    bundle = analysis if analysis is not None else analyse(identification, panel, seed, permutations=permutations)
    return [
        _distribution_section(bundle, panel),
        _spatial_section(bundle, panel),
        _paradox_section(bundle),
        _drivers_section(bundle),
    ]


def summary_statistics(
    identification: Identification,
    panel: Panel,
    seed: int = 0,
    *,
    permutations: int = 999,
    analysis: Analysis | None = None,
) -> dict[str, Any]:
    """Headline statistics for ``summary.json`` (JSON-ready).

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

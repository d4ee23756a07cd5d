"""The analysis sections of the report, rendered from an :class:`~shrinkwatch.analysis.analyse.Analysis`.

Each section is a template (``templates/section-<id>.html.j2``) filled with the
typed results of one analysis stage; this module only prepares what the
templates show (tables in display order, charts, maps). The numbers behind
the sections go to ``summary.json`` from the results themselves
(:mod:`shrinkwatch.report.summary`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.analysis.spatial import lisa_meaning
from shrinkwatch.analysis.typology import TYPE_NAMES
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.report.charts import (
    distribution_chart_svg,
    driver_importance_svg,
    sensitivity_chart_svg,
)
from shrinkwatch.report.html import render
from shrinkwatch.report.labels import parent_labels
from shrinkwatch.report.maps import cluster_map_svg

if TYPE_CHECKING:  # the analysis stack (esda, libpysal, scikit-learn) loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis
    from shrinkwatch.analysis.drivers import DecompositionResult, DriverResult
    from shrinkwatch.analysis.paradox import ParadoxResult
    from shrinkwatch.analysis.recommend import RecommendationResult
    from shrinkwatch.analysis.spatial import LisaResult
    from shrinkwatch.analysis.typology import Typology
    from shrinkwatch.identification.sensitivity import SensitivityResult

__all__ = ["Section", "analysis_sections", "sensitivity_section", "distribution_section", "spatial_section",
           "paradox_section", "drivers_section", "typology_section", "recommendations_section"]

#: LISA units listed per cluster in the report (smallest pseudo p first).
SHOWN_PER_CLUSTER = 60

#: What the LISA classes are, said under the counts (one place, for translation).
LISA_TEXT: dict[str, str] = {
    "classes": ("High and low are relative to the mean annual rate of the {n:,} units analysed ({mean:+.2f} %/yr): "
                "LL marks units whose rate, and whose neighbours' mean rate, are both below that mean; such a unit "
                "may still be growing. Shrinking units (under the standard) in each class: {shrinking}."),
    "heading": "{label}: {meaning} ({units:,} units, {shrinking:,} of them shrinking)",
}


@dataclass(frozen=True)
class Section:
    """One report section: an anchor id, a title and its self-contained, escaped HTML body."""

    id: str
    title: str
    html: Markup


def _check_lang(lang: str) -> None:
    if lang not in ("en", "zh"):
        raise OptionError(f"lang: expected 'en' or 'zh', got {lang!r}")


def sensitivity_section(result: SensitivityResult, *, lang: str = "en") -> Section:
    """The chart, the count per setting, and how robust each verdict is."""
    counts = result.counts
    shown = counts if len(counts) <= 40 else counts.iloc[np.linspace(0, len(counts) - 1, 40).astype(int)]
    borderline = result.units[result.units["robustness"] == "borderline"].sort_values("share", ascending=False)
    body = render(
        "section-sensitivity.html.j2", result=result, classes=result.summary(),
        settings="; ".join(f"{k} = {', '.join(str(v) for v in values)}" for k, values in result.vary.items()),
        chart=Markup(sensitivity_chart_svg(result, lang=lang)), shown=shown, n_borderline=len(borderline),
        borderline=borderline[["name", "parent_name", "shrinking", "evaluable", "share"]].head(60),
    )
    return Section(id="sensitivity", title="Sensitivity to the standard", html=body)


def distribution_section(analysis: Analysis, panel: Panel) -> Section:
    """Counts and shares of shrinking units, charted by region and by parent."""
    result = analysis.distribution
    totals = result.totals
    share = totals["shrinking"] / totals["units_with_data"] if totals["units_with_data"] else float("nan")
    charts = [Markup(distribution_chart_svg(result, column,
                                            tick_labels=parent_labels(panel) if column == "parent_name" else None))
              for column in ("region", "parent_name") if column in result.tables]
    body = render("section-distribution.html.j2", totals=totals, share=share, charts=charts)
    return Section(id="distribution", title="Distribution", html=body)


def _lisa_clusters(analysis: Analysis, panel: Panel) -> list[dict[str, object]]:
    """Per significant cluster label: its members in display order (smallest pseudo p first)."""
    assert analysis.lisa is not None
    local = analysis.lisa
    table = local.table.copy()
    if "parent_name" in panel.units.columns:
        table.insert(1, "parent", panel.units["parent_name"].reindex(table.index).astype("string").to_numpy())
    clusters = []
    for label in ("LL", "LH", "HL", "HH"):
        members = table[table["cluster"] == label].sort_values(["p_sim", local.variable])
        if not len(members):
            continue
        columns = [c for c in ("name", "parent", "status", local.variable, "local_I", "p_sim") if c in members.columns]
        shrinking = local.shrinking_in(label)[0]
        clusters.append({"label": label, "units": len(members),
                         "heading": LISA_TEXT["heading"].format(label=label, meaning=lisa_meaning(label),
                                                                units=len(members), shrinking=shrinking),
                         "table": members[columns].head(SHOWN_PER_CLUSTER),
                         "more": max(len(members) - SHOWN_PER_CLUSTER, 0)})
    return clusters


def _lisa_note(local: LisaResult) -> str:
    """The sentence saying what high and low mean, with the shrinking units of each class."""
    shrinking = ", ".join(f"{label} {local.shrinking_in(label)[0]:,} of {local.counts.get(label, 0):,}"
                          for label in ("HH", "LL", "HL", "LH"))
    return LISA_TEXT["classes"].format(n=local.n, mean=local.mean, shrinking=shrinking)


def spatial_section(analysis: Analysis, panel: Panel) -> Section:
    """Global Moran's I, the LISA cluster map and the units of each significant cluster."""
    m, local = analysis.moran, analysis.lisa
    if m is None or local is None:
        body = render("section-spatial.html.j2", available=False,
                      message=analysis.errors.get("spatial", "spatial statistics unavailable"))
    else:
        body = render("section-spatial.html.j2", available=True, m=m, local=local,
                      cluster_map=Markup(cluster_map_svg(local, panel)), clusters=_lisa_clusters(analysis, panel),
                      lisa_note=_lisa_note(local),
                      formats={local.variable: "{:.2f}", "local_I": "{:.3f}", "p_sim": "{:.3f}"})
    return Section(id="spatial-clusters", title="Spatial clusters", html=body)


def paradox_section(result: ParadoxResult) -> Section:
    """The share of shrinking units whose built-up area grew, and the Tapio states, or why there is none."""
    counts_all = counts_both = None
    if result.state_counts_all and not result.state_counts_shrinking:
        counts_all = pd.DataFrame({"all units": pd.Series(result.state_counts_all)}).astype(int)
        counts_all.index.name = "Tapio state"
    if result.state_counts_shrinking:
        counts_both = pd.DataFrame({"shrinking units": pd.Series(result.state_counts_shrinking),
                                    "all units": pd.Series(result.state_counts_all)}).fillna(0).astype(int)
        counts_both.index.name = "Tapio state"
    body = render("section-paradox.html.j2", result=result, counts_all=counts_all, counts_both=counts_both)
    return Section(id="expansion-paradox", title="Expansion paradox", html=body)


def drivers_section(result: DriverResult, decomposition: DecompositionResult | None = None) -> Section:
    """Out-of-sample fit of each model against the baseline, OLS coefficients and LightGBM contributions."""
    context: dict[str, object] = {"result": result, "decomposition": decomposition}
    if result.available:
        assert result.ols_cv and result.gbm_cv and result.baseline_cv and result.coefficients is not None
        context["fit"] = pd.DataFrame(
            [[cv.r2, cv.rmse] for cv in (result.ols_cv, result.gbm_cv, result.baseline_cv)],
            index=pd.Index(["OLS (HC3 robust SE)", "gradient boosting (LightGBM)", "baseline: training-fold mean"],
                           name="model"),
            columns=[f"out-of-sample R² ({result.n_folds}-fold CV)", "out-of-sample RMSE (%/yr)"],
        )
        coefficients = result.coefficients.copy()
        coefficients.insert(0, "meaning", [result.feature_notes.get(str(t), "intercept" if t == "const" else "")
                                           for t in coefficients.index])
        context["coefficients"] = coefficients
        context["chart"] = Markup(driver_importance_svg(result))
        context["excluded"] = "; ".join(f"{unit}: {why}" for unit, why in list(result.excluded.items())[:50]) + (
            " …" if len(result.excluded) > 50 else "")
    return Section(id="drivers", title="Drivers", html=render("section-drivers.html.j2", **context))


def typology_section(typology: Typology, lang: str = "en") -> Section:
    """Clusters (with how k was chosen) and rule-based types of the shrinking units.

    ``lang`` (``"en"`` or ``"zh"``) chooses the cluster labels and type names.
    """
    _check_lang(lang)
    n_shrinking = typology.n_shrinking
    type_counts = typology.type_counts("shrinking")
    label_column = "label_zh" if lang == "zh" else "label"
    centres = typology.centres.reset_index()
    clusters = centres[["cluster", label_column, "units", *typology.features]].rename(columns={label_column: "label"})
    types = pd.DataFrame({
        "type": [TYPE_NAMES[t] if lang == "zh" else t for t in TYPE_NAMES],
        "shrinking units": [type_counts.get(t, "not assessed") for t in TYPE_NAMES],
        "share": [type_counts[t] / n_shrinking if t in type_counts and n_shrinking else np.nan for t in TYPE_NAMES],
    })
    body = render("section-types.html.j2", typology=typology, n_shrinking=n_shrinking, clusters=clusters,
                  feature_formats={f: "{:.2f}" for f in typology.features}, types=types)
    return Section(id="types", title="类型" if lang == "zh" else "Types of shrinking city", html=body)


def recommendations_section(result: RecommendationResult, lang: str = "en") -> Section:
    """How many units each transformation path applies to, with examples, against the units of each status."""
    _check_lang(lang)
    body = render("section-recommendations.html.j2", denominators=result.denominators,
                  rows=result.by_recommendation())
    title = "转型路径与政策建议" if lang == "zh" else "Transformation paths and recommendations"
    return Section(id="recommendations", title=title, html=body)


def analysis_sections(analysis: Analysis, panel: Panel, *, lang: str = "en") -> list[Section]:
    """The sections in the seed article's order: sensitivity, distribution, spatial clusters, expansion paradox,
    drivers, types and transformation paths (the first and the last two where the analysis has them)."""
    sections = [] if analysis.sensitivity is None else [sensitivity_section(analysis.sensitivity, lang=lang)]
    sections += [distribution_section(analysis, panel), spatial_section(analysis, panel),
                 paradox_section(analysis.paradox), drivers_section(analysis.drivers, analysis.decomposition)]
    if analysis.typology is not None:
        sections.append(typology_section(analysis.typology, lang=lang))
    if analysis.recommendations is not None:
        sections.append(recommendations_section(analysis.recommendations, lang=lang))
    return sections

"""The analysis sections of the report, rendered from an :class:`~shrinkwatch.analysis.analyse.Analysis`.

Each section is a template (``templates/section-<id>.html.j2``) filled with the
typed results of one analysis stage; this module only prepares what the
templates show (tables in display order, charts, maps). The numbers behind
the sections go to ``summary.json`` from the results themselves
(:mod:`shrinkwatch.report.summary`).
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.analysis.spatial import lisa_meaning
from shrinkwatch.analysis.typology import TYPE_NAMES
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.forecast.engine import DRAWS
from shrinkwatch.report.charts import (
    Chart,
    distribution_chart,
    driver_importance_chart,
    sensitivity_chart,
)
from shrinkwatch.report.facts import UnitFacts
from shrinkwatch.report.html import render
from shrinkwatch.report.labels import (
    column_label,
    display_names,
    format_p,
    is_fraction,
    number_formatter,
    parent_labels,
    plain_text,
    status_label,
)
from shrinkwatch.report.maps import cluster_map_svg, significance_map_svg
from shrinkwatch.report.timeline import timeline_parts

if TYPE_CHECKING:  # the analysis stack (esda, libpysal, scikit-learn) loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis
    from shrinkwatch.analysis.drivers import DecompositionResult, DriverResult
    from shrinkwatch.analysis.paradox import ParadoxResult
    from shrinkwatch.analysis.recommend import RecommendationResult
    from shrinkwatch.analysis.spatial import LisaResult
    from shrinkwatch.analysis.typology import Typology
    from shrinkwatch.forecast import ForecastResult
    from shrinkwatch.identification.schema import Standard
    from shrinkwatch.identification.sensitivity import SensitivityResult

__all__ = ["Section", "analysis_sections", "sensitivity_section", "distribution_section", "spatial_section",
           "paradox_section", "drivers_section", "typology_section", "recommendations_section", "timeline_section",
           "early_warning_section"]

#: LISA units listed per cluster in the report (smallest pseudo p first).
SHOWN_PER_CLUSTER = 60

#: What the LISA classes are, said under the counts (one place, for translation).
LISA_TEXT: dict[str, str] = {
    "classes": ("High and low are relative to the mean annual rate of the {n:,} units analysed ({mean:+.2f} %/yr): "
                "LL marks units whose rate, and whose neighbours' mean rate, are both below that mean; such a unit "
                "may still be growing. Shrinking units (under the standard) in each class: {shrinking}."),
    "heading": "{label}: {meaning} ({units:,} units, {shrinking:,} of them shrinking)",
}

#: The words this module adds to the sections, per language.
_TEXT = {"en": {
    "more_lisa": "… and {more:,} more {label} units (smallest pseudo p first); all {units:,} are in results.xlsx, "
                 "sheet lisa_clusters.",
    "islands": "{n:,} units without a shared boundary (islands), linked to their nearest unit",
    "single": "{n:,} units with a single neighbour",
    "excluded": "{n:,} units left out of the models (missing data): show them",
    "this_report": "this report",
}}

_POPULATION_FORMATS = {"population_start": number_formatter("{:,.0f}"), "population_end": number_formatter("{:,.0f}"),
                       "longest_run": "{:,.0f}", "latest_run": "{:,.0f}"}


def _p_cell(p: Any) -> str:
    """A p-value cell: ``< 0.001`` or three decimals."""
    return format_p(float(p), prefix="").strip().lstrip("= ").strip()


@dataclass(frozen=True)
class Section:
    """One report section: an anchor id, a title, its self-contained, escaped HTML body and the charts
    drawn in it (exported to ``figures/``)."""

    id: str
    title: str
    html: Markup
    charts: tuple[Chart, ...] = field(default=())


def _facts_columns(frame: pd.DataFrame, facts: UnitFacts | None) -> pd.DataFrame:
    """``frame`` (indexed by unit id) with the populations at start and end and, on annual data, the runs."""
    if facts is None:
        return frame
    out = frame.copy()
    for column in ("population_start", "population_end", "longest_run", "latest_run"):
        if column in facts.table.columns:
            out[column] = facts.table[column].reindex(out.index).to_numpy()
    return out


def _folded_names(names: list[str], summary: str) -> Markup:
    """A long list of names folded into a ``<details>`` element."""
    items = "".join(f"<li>{_html.escape(n)}</li>" for n in names)
    return Markup(f'<details class="ids"><summary>{_html.escape(summary)}</summary><ul class="ids">{items}</ul></details>')


def _check_lang(lang: str) -> None:
    if lang not in ("en", "zh"):
        raise OptionError(f"lang: expected 'en' or 'zh', got {lang!r}")


def sensitivity_section(result: SensitivityResult, *, lang: str = "en", chosen: dict[str, Any] | None = None,
                        standard: Standard | None = None, facts: UnitFacts | None = None) -> Section:
    """The chart (full width, in %, the report's own setting marked), the count per setting, and how robust
    each verdict is; ``chosen`` is the identification's parameters."""
    chosen = dict(chosen or {})
    counts = result.counts.copy()
    counts["share_shrinking"] = counts["shrinking"] / counts["units_with_data"].where(counts["units_with_data"] > 0)
    formats: dict[str, Any] = {"shrinking": "{:,}", "not_shrinking": "{:,}", "insufficient_data": "{:,}",
                               "units_with_data": "{:,}", "share_shrinking": "{:.1%}"}
    for key, values in result.vary.items():
        if is_fraction(standard, key, values):
            formats[key] = lambda v: f"{float(v) * 100:g} %"
    is_chosen = np.ones(len(counts), dtype=bool)
    for key in result.vary:
        is_chosen &= (counts[key] == chosen[key]).to_numpy() if key in chosen else False
    counts[_TEXT["en"]["this_report"]] = np.where(is_chosen, "◀", "")
    shown = counts if len(counts) <= 40 else counts.iloc[np.linspace(0, len(counts) - 1, 40).astype(int)]
    borderline = result.units[result.units["robustness"] == "borderline"].sort_values("share", ascending=False)
    border = borderline[["name", "parent_name", "shrinking", "evaluable", "share"]].rename(
        columns={"shrinking": "settings shrinking", "evaluable": "settings decidable"})
    border = _facts_columns(border, facts)
    chart = sensitivity_chart(result, chosen, standard=standard, lang=lang)
    varied = "; ".join(f"{column_label(k)} = " + ", ".join(
        f"{float(v) * 100:g} %" if is_fraction(standard, k, [v]) else str(v) for v in values)
        for k, values in result.vary.items())
    body = render(
        "section-sensitivity.html.j2", result=result, classes=result.summary(), settings=varied,
        chart=Markup(chart.svg()), shown=shown, formats=formats, n_borderline=len(borderline),
        borderline=border, border_formats={"share": "{:.0%}", **_POPULATION_FORMATS},
    )
    return Section(id="sensitivity", title="Sensitivity to the standard", html=body, charts=(chart,))


def timeline_section(analysis: Analysis, *, lang: str = "en") -> Section:
    """Status over time (:mod:`shrinkwatch.report.timeline`): counts per as-of year, entries and exits, or a
    one-line note where the panel allows too few as-of years."""
    title, body = timeline_parts(analysis.timeline, analysis.errors.get("timeline"), lang=lang)
    return Section(id="status-over-time", title=title, html=body)


def distribution_section(analysis: Analysis, panel: Panel) -> Section:
    """Counts and shares of shrinking units, charted by region and by parent (every group, or a stated top 40)."""
    result = analysis.distribution
    totals = result.totals
    share = totals["shrinking"] / totals["units_with_data"] if totals["units_with_data"] else float("nan")
    charts = [distribution_chart(result, column,
                                 tick_labels=parent_labels(panel) if column == "parent_name" else None)
              for column in ("region", "parent_name") if column in result.tables]
    body = render("section-distribution.html.j2", totals=totals, share=share,
                  charts=[Markup(c.svg()) for c in charts])
    return Section(id="distribution", title="Distribution", html=body, charts=tuple(charts))


def _lisa_clusters(analysis: Analysis, panel: Panel, facts: UnitFacts | None = None) -> list[dict[str, object]]:
    """Per significant cluster label: its members in display order (smallest pseudo p first), with populations."""
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
        shown = _facts_columns(members[columns].head(SHOWN_PER_CLUSTER), facts)
        more = max(len(members) - SHOWN_PER_CLUSTER, 0)
        shrinking = local.shrinking_in(label)[0]
        clusters.append({"label": label, "units": len(members),
                         "heading": LISA_TEXT["heading"].format(label=label, meaning=lisa_meaning(label),
                                                                units=len(members), shrinking=shrinking),
                         "table": shown,
                         "more": _TEXT["en"]["more_lisa"].format(more=more, label=label, units=len(members))
                         if more else ""})
    return clusters


def _lisa_note(local: LisaResult) -> str:
    """The sentence saying what high and low mean, with the shrinking units of each class."""
    shrinking = ", ".join(f"{label} {local.shrinking_in(label)[0]:,} of {local.counts.get(label, 0):,}"
                          for label in ("HH", "LL", "HL", "LH"))
    return LISA_TEXT["classes"].format(n=local.n, mean=local.mean, shrinking=shrinking)


def spatial_section(analysis: Analysis, panel: Panel, facts: UnitFacts | None = None) -> Section:
    """Global Moran's I, the LISA cluster and significance maps and the units of each significant cluster."""
    m, local = analysis.moran, analysis.lisa
    if m is None or local is None:
        body = render("section-spatial.html.j2", available=False,
                      message=plain_text(analysis.errors.get("spatial", "spatial statistics unavailable")))
    else:
        names = display_names(panel.units, panel) if "name" in panel.units.columns else pd.Series(dtype="string")
        islands = _folded_names([f"{names.get(u, u)} ({u})" for u in m.islands],
                                _TEXT["en"]["islands"].format(n=len(m.islands))) if m.islands else Markup("")
        single = _folded_names([f"{names.get(u, u)} ({u})" for u in m.single_neighbour],
                               _TEXT["en"]["single"].format(n=len(m.single_neighbour))) if m.single_neighbour else Markup("")
        body = render("section-spatial.html.j2", available=True, m=m, local=local,
                      weights=plain_text(m.weights_description), p_text=format_p(m.p_sim, prefix="pseudo p"),
                      islands=islands, single=single,
                      cluster_map=Markup(cluster_map_svg(local, panel)),
                      significance_map=Markup(significance_map_svg(local, panel)),
                      clusters=_lisa_clusters(analysis, panel, facts), lisa_note=_lisa_note(local),
                      formats={local.variable: "{:+.2f}", "local_I": "{:.3f}", "p_sim": _p_cell, **_POPULATION_FORMATS})
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
    body = render("section-paradox.html.j2", result=result, message=plain_text(result.message), counts_all=counts_all,
                  counts_both=counts_both)
    return Section(id="expansion-paradox", title="Expansion paradox", html=body)


def drivers_section(result: DriverResult, decomposition: DecompositionResult | None = None,
                    panel: Panel | None = None) -> Section:
    """Out-of-sample fit of each model against the baseline, OLS coefficients and LightGBM contributions."""
    context: dict[str, object] = {"result": result, "decomposition": decomposition,
                                  "summary": plain_text(result.summary or result.message or ""),
                                  "decomposition_text": plain_text(decomposition.message) if decomposition else ""}
    charts: tuple[Chart, ...] = ()
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
        coefficients.index = pd.Index(["intercept" if t == "const" else column_label(t) for t in coefficients.index],
                                      name="predictor")
        context["coefficients"] = coefficients
        context["coefficient_formats"] = {c: "{:.4f}" for c in coefficients.columns
                                          if c not in ("meaning", "p") and pd.api.types.is_float_dtype(coefficients[c])}
        if "p" in coefficients.columns:
            context["coefficient_formats"]["p"] = _p_cell  # type: ignore[index]
        chart = driver_importance_chart(result)
        charts = (chart,)
        context["chart"] = Markup(chart.svg())
        names = (display_names(panel.units, panel) if panel is not None and "name" in panel.units.columns
                 else pd.Series(dtype="string"))
        excluded = pd.DataFrame({"unit_id": list(result.excluded),
                                 "name": [names.get(u, "") for u in result.excluded],
                                 "reason": [plain_text(str(w)) for w in result.excluded.values()]})
        context["excluded_html"] = excluded
        context["excluded_summary"] = _TEXT["en"]["excluded"].format(n=len(excluded))
    return Section(id="drivers", title="Drivers", html=render("section-drivers.html.j2", **context), charts=charts)


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
    clusters["label"] = clusters["label"].astype(str).map(plain_text)
    types = pd.DataFrame({
        "type": [TYPE_NAMES[t] if lang == "zh" else t for t in TYPE_NAMES],
        "shrinking units": [type_counts.get(t, "not assessed") for t in TYPE_NAMES],
        "share": [type_counts[t] / n_shrinking if t in type_counts and n_shrinking else np.nan for t in TYPE_NAMES],
    })
    body = render("section-types.html.j2", typology=typology, n_shrinking=n_shrinking, clusters=clusters,
                  criterion=plain_text(typology.criterion), notes=[plain_text(n) for n in typology.notes],
                  features=", ".join(column_label(f) for f in typology.features),
                  feature_formats={f: "{:.2f}" for f in typology.features}, types=types)
    return Section(id="types", title="类型" if lang == "zh" else "Types of shrinking city", html=body)


def recommendations_section(result: RecommendationResult, lang: str = "en") -> Section:
    """How many units each transformation path applies to, with examples, against the units of each status."""
    _check_lang(lang)
    body = render("section-recommendations.html.j2",
                  denominators={status_label(k): v for k, v in result.denominators.items()},
                  rows=result.by_recommendation())
    title = "转型路径与政策建议" if lang == "zh" else "Transformation paths and recommendations"
    return Section(id="recommendations", title=title, html=body)


#: Every sentence and heading of the early-warning section, by language.
EARLY_WARNING_TEXT = {
    "en": {
        "title": "Early warning",
        "intro": "Each unit's population was forecast {horizon} years ahead of {origin} by a random walk, linear and "
                 "log-linear trends, a damped trend and a gradient-boosting panel model, and their combination; "
                 "{level:.0%} intervals come from the past errors of the unit's size peers. The probability is the "
                 "share of {draws} simulated paths that meet the standard {standard} within {horizon} years.",
        "beats": "In the backtest at {horizon} years the probabilities beat both persistence (shrinking now, "
                 "shrinking then) and the base rate on the Brier score:",
        "fails": "The forecasts do not beat the baselines on this dataset: in the backtest at {horizon} years the "
                 "probabilities' Brier score is not below both persistence's and the base rate's, so the list "
                 "below is shown for reference, not as a warning.",
        "no_skill": "The forecasts do not beat the baselines on this dataset: it has no earlier origin that can "
                    "be scored at {horizon} years, so the probabilities are untested.",
        "watchlist": "Units not shrinking in {origin}, most likely to meet the standard within {horizon} years:",
        "empty": "No unit that is not shrinking now has a probability.",
        "unavailable": "No forecast: {why}",
        "columns": {"name": "unit", "parent_name": "parent", "probability": "probability", "lower": "interval low",
                    "upper": "interval high", "predictor": "predictor", "n": "units scored", "brier": "Brier score",
                    "precision": "precision", "recall": "recall", "observed_share": "observed share shrinking"},
        "predictors": {"forecast": "forecast probabilities", "persistence": "persistence", "base_rate": "base rate"},
    },
    "zh": {
        "title": "预警",
        "intro": "以随机游走、线性与对数线性趋势、阻尼趋势、梯度提升面板模型及其组合，预测各单元自{origin}年起{horizon}年"
                 "的人口；{level:.0%}预测区间由规模相近单元以往的预测误差校准。概率为{draws}条模拟路径中在{horizon}年内"
                 "达到标准{standard}的比例。",
        "beats": "在{horizon}年期回测中，概率预测的Brier分数优于延续法（现在收缩、届时仍收缩）和基准率：",
        "fails": "在本数据集上预测未能胜过基准：{horizon}年期回测中概率预测的Brier分数并未同时低于延续法和基准率，"
                 "下表仅供参考，不作预警。",
        "no_skill": "在本数据集上预测未能胜过基准：没有可在{horizon}年期回测的更早起点，概率未经检验。",
        "watchlist": "{origin}年未收缩、{horizon}年内最可能达到收缩标准的单元：",
        "empty": "没有当前未收缩且有概率的单元。",
        "unavailable": "无法预测：{why}",
        "columns": {"name": "单元", "parent_name": "上级", "probability": "概率", "lower": "区间下限",
                    "upper": "区间上限", "predictor": "预测方法", "n": "评分单元数", "brier": "Brier分数",
                    "precision": "精确率", "recall": "召回率", "observed_share": "实际收缩比例"},
        "predictors": {"forecast": "预测概率", "persistence": "延续法", "base_rate": "基准率"},
    },
}


def early_warning_section(result: ForecastResult | None, *, lang: str = "en", why: str = "") -> Section:
    """The watchlist with its probabilities and the backtest skill behind them, or the plain statement that the
    forecasts do not beat the baselines (or why there is no forecast)."""
    _check_lang(lang)
    text = EARLY_WARNING_TEXT[lang]
    columns: dict[str, str] = text["columns"]  # type: ignore[assignment]
    if result is None:
        body = render("section-early-warning.html.j2", paragraphs=[str(text["unavailable"]).format(why=plain_text(why))],
                      skill=None, watchlist=None)
        return Section(id="early-warning", title=str(text["title"]), html=body)
    fields = {"horizon": result.horizon, "origin": result.origin_year, "level": result.level, "draws": DRAWS,
              "standard": result.standard_id}
    paragraphs = [str(text["intro"]).format(**fields)]
    if result.skill is None or result.skill.empty:
        paragraphs.append(str(text["no_skill"]).format(**fields))
    else:
        paragraphs.append(str(text["beats" if result.beats_baselines else "fails"]).format(**fields))
    skill = None if result.skill is None else result.skill[
        ["predictor", "n", "brier", "precision", "recall", "observed_share"]].assign(
        predictor=lambda t: t["predictor"].map(text["predictors"]).fillna(t["predictor"])).rename(columns=columns)
    shown = result.watchlist[["name", "parent_name", "probability", "lower", "upper"]]
    watchlist = shown.rename(columns=columns) if len(shown) else None
    paragraphs.append(str(text["watchlist" if watchlist is not None else "empty"]).format(**fields))
    body = render("section-early-warning.html.j2", paragraphs=paragraphs, skill=skill, watchlist=watchlist)
    return Section(id="early-warning", title=str(text["title"]), html=body)


def analysis_sections(analysis: Analysis, panel: Panel, *, lang: str = "en", parameters: dict[str, Any] | None = None,
                      standard: Standard | None = None, facts: UnitFacts | None = None) -> list[Section]:
    """The sections in the seed article's order: sensitivity, status over time, distribution, spatial clusters,
    expansion paradox, drivers, types, transformation paths and early warning (where the analysis has them).

    ``parameters`` (the identification's) mark the report's own setting on the sensitivity chart;
    ``facts`` (:func:`~shrinkwatch.report.facts.unit_facts`) add populations and runs of decline to the unit lists.
    """
    sections = [] if analysis.sensitivity is None else [
        sensitivity_section(analysis.sensitivity, lang=lang, chosen=parameters, standard=standard, facts=facts)]
    if analysis.timeline is not None or "timeline" in analysis.errors:
        sections.append(timeline_section(analysis, lang=lang))
    sections += [distribution_section(analysis, panel), spatial_section(analysis, panel, facts),
                 paradox_section(analysis.paradox), drivers_section(analysis.drivers, analysis.decomposition, panel)]
    if analysis.typology is not None:
        sections.append(typology_section(analysis.typology, lang=lang))
    if analysis.recommendations is not None:
        sections.append(recommendations_section(analysis.recommendations, lang=lang))
    if analysis.early_warning is not None or "early_warning" in analysis.errors:
        sections.append(early_warning_section(analysis.early_warning, lang=lang,
                                              why=analysis.errors.get("early_warning", "")))
    return sections

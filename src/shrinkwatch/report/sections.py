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
from shrinkwatch.core.messages import LANGUAGES, check_language, message, table, translate
from shrinkwatch.report.charts import (
    Chart,
    distribution_chart,
    driver_importance_chart,
    sensitivity_chart,
)
from shrinkwatch.report.facts import UnitFacts
from shrinkwatch.report.html import render
from shrinkwatch.report.labels import (
    analysis_prose,
    column_label,
    display_names,
    format_number,
    format_p,
    is_fraction,
    number_formatter,
    parent_display,
    parent_labels,
    plain_text,
    region_label,
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
#: Rows a unit list of the page (shrinking, without a verdict, not drawn, borderline) shows at most: the full
#: lists are in the data files (results.csv / results.parquet, sensitivity_units.csv).
LIST_ROW_LIMIT = 1_000


def _say(key: str, lang: str, **fields: Any) -> str:
    """The sections' message ``report.sections.<key>`` in ``lang``."""
    return message(f"report.sections.{key}", lang, **fields)



_POPULATION_FORMATS = {"population_start": number_formatter("{:,.0f}"), "population_end": number_formatter("{:,.0f}"),
                       "longest_run": "{:,.0f}", "latest_run": "{:,.0f}"}


def _p_cell(p: Any) -> str:
    """A p-value cell: ``< 0.001`` or three decimals."""
    return format_p(float(p), prefix="").strip().lstrip("= ").strip().replace("< ", "<\u00a0")  # one line


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
    check_language(lang, "lang")


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
    counts["this_report"] = np.where(is_chosen, "◀", "")
    shown = counts if len(counts) <= 40 else counts.iloc[np.linspace(0, len(counts) - 1, 40).astype(int)]
    borderline = result.units[result.units["robustness"] == "borderline"].sort_values("share", ascending=False)
    border = borderline[["name", "parent_name", "shrinking", "evaluable", "share"]].rename(
        columns={"shrinking": "settings_shrinking", "evaluable": "settings_decidable"})
    border = _facts_columns(border.head(LIST_ROW_LIMIT), facts)
    chart = sensitivity_chart(result, chosen, standard=standard, lang=lang)
    varied = "; ".join(f"{column_label(k, lang)} = " + ", ".join(
        f"{float(v) * 100:g} %" if is_fraction(standard, k, [v]) else str(v) for v in values)
        for k, values in result.vary.items())
    body = render(
        "section-sensitivity.html.j2", lang, result=result, classes=result.summary(), settings=varied,
        chart=Markup(chart.svg()), shown=shown, formats=formats, n_borderline=len(borderline),
        borderline=border, border_formats={"share": "{:.0%}", **_POPULATION_FORMATS},
        border_capped=message("report.scale.borderline_capped", lang, shown=f"{len(border):,}",
                              total=f"{len(borderline):,}") if len(border) < len(borderline) else "",
    )
    return Section(id="sensitivity", title=_say("sensitivity.title", lang), html=body, charts=(chart,))


def timeline_section(analysis: Analysis, *, lang: str = "en", panel: Panel | None = None) -> Section:
    """Status over time (:mod:`shrinkwatch.report.timeline`): counts per as-of year, entries and exits, or a
    one-line note where the panel allows too few as-of years."""
    title, body = timeline_parts(analysis.timeline, analysis.errors.get("timeline"), lang=lang, panel=panel)
    return Section(id="status-over-time", title=title, html=body)


def distribution_section(analysis: Analysis, panel: Panel, lang: str = "en") -> Section:
    """Counts and shares of shrinking units, charted by region and by parent (every group, or a stated top 40)."""
    result = analysis.distribution
    totals = result.totals
    share = totals["shrinking"] / totals["units_with_data"] if totals["units_with_data"] else float("nan")
    regions = {str(r): region_label(r, lang) for r in result.tables["region"].index} if "region" in result.tables \
        else {}
    charts = [distribution_chart(result, column, lang=lang,
                                 tick_labels=parent_labels(panel, lang) if column == "parent_name" else regions)
              for column in ("region", "parent_name") if column in result.tables]
    body = render("section-distribution.html.j2", lang, totals=totals, share=share,
                  charts=[Markup(c.svg()) for c in charts])
    return Section(id="distribution", title=_say("distribution.title", lang), html=body, charts=tuple(charts))


def _lisa_clusters(analysis: Analysis, panel: Panel, facts: UnitFacts | None = None,
                   lang: str = "en") -> list[dict[str, object]]:
    """Per significant cluster label: its members in display order (smallest pseudo p first), with populations."""
    assert analysis.lisa is not None
    local = analysis.lisa
    table = local.table.copy()
    if "parent_name" in panel.units.columns:
        table.insert(1, "parent", parent_display(panel.units.reindex(table.index), panel, lang).to_numpy())
    if "name" in table.columns:
        table["name"] = display_names(table, panel, lang).to_numpy()
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
                         "heading": _say("spatial.heading", lang, label=label, meaning=lisa_meaning(label, lang),
                                         units=len(members), shrinking=shrinking),
                         "table": shown,
                         "more": _say("spatial.more", lang, more=more, label=label, units=len(members),
                                      sheet="lisa_clusters")
                         if more else ""})
    return clusters


def _lisa_note(local: LisaResult, lang: str = "en") -> str:
    """The sentence saying what high and low mean, with the shrinking units of each class."""
    shrinking = message("report.page.list_separator", lang).join(
        _say("spatial.class_count", lang, label=label, n=local.shrinking_in(label)[0], of=local.counts.get(label, 0))
        for label in ("HH", "LL", "HL", "LH"))
    return _say("spatial.classes", lang, n=local.n, mean=local.mean, shrinking=shrinking)


def spatial_section(analysis: Analysis, panel: Panel, facts: UnitFacts | None = None, lang: str = "en") -> Section:
    """Global Moran's I, the LISA cluster and significance maps and the units of each significant cluster."""
    m, local = analysis.moran, analysis.lisa
    if m is None or local is None:
        error = analysis_prose(analysis.errors.get("spatial", ""), lang)
        body = render("section-spatial.html.j2", lang, available=False,
                      message=error or _say("spatial.unavailable", lang))
    else:
        names = display_names(panel.units, panel, lang) if "name" in panel.units.columns else pd.Series(dtype="string")
        islands = _folded_names([f"{names.get(u, u)} ({u})" for u in m.islands],
                                _say("spatial.islands", lang, n=len(m.islands))) if m.islands else Markup("")
        single = _folded_names([f"{names.get(u, u)} ({u})" for u in m.single_neighbour],
                               _say("spatial.single", lang, n=len(m.single_neighbour))) if m.single_neighbour \
            else Markup("")
        weights = analysis_prose(m.weights_description, lang) or _say(
            "spatial.weights_fallback", lang, n=m.n, islands=len(m.islands), single=len(m.single_neighbour))
        if m.I > m.expected_I and m.p_sim <= 0.05:
            verdict = _say("spatial.positive", lang)
        elif m.p_sim > 0.05:
            verdict = _say("spatial.random", lang)
        else:
            verdict = _say("spatial.negative", lang)
        body = render("section-spatial.html.j2", lang, available=True, m=m, local=local, verdict=verdict,
                      weights=weights, p_text=format_p(m.p_sim, prefix=_say("spatial.pseudo_p", lang)),
                      islands=islands, single=single,
                      counts=message("report.page.list_separator", lang).join(
                          f"{status_label(label, lang)} {count:,}" for label, count in local.counts.items()),
                      cluster_map=Markup(cluster_map_svg(local, panel, lang=lang)),
                      significance_map=Markup(significance_map_svg(local, panel, lang=lang)),
                      clusters=_lisa_clusters(analysis, panel, facts, lang), lisa_note=_lisa_note(local, lang),
                      formats={local.variable: "{:+.2f}", "local_I": "{:.3f}", "p_sim": _p_cell, **_POPULATION_FORMATS})
    return Section(id="spatial-clusters", title=_say("spatial.title", lang), html=body)


def _paradox_message(result: ParadoxResult, lang: str) -> str:
    """The paradox in the analysis's words where they are in ``lang``, else in the report's, from the same numbers."""
    said = analysis_prose(result.message, lang)
    if said:
        return said
    if result.available and result.share is not None:
        return _say("paradox.share", lang, grew=result.n_grew, of=result.denominator, share=result.share,
                    start=result.start_year, end=result.end_year)
    if not result.builtup_present:
        return _say("paradox.no_builtup", lang)
    return _say("paradox.unavailable", lang)


def paradox_section(result: ParadoxResult, lang: str = "en") -> Section:
    """The share of shrinking units whose built-up area grew, and the Tapio states, or why there is none."""
    counts_all = counts_both = None
    if result.state_counts_all and not result.state_counts_shrinking:
        counts_all = pd.DataFrame({"all_units": pd.Series(result.state_counts_all)}).astype(int)
        counts_all.index.name = "tapio_state"
    if result.state_counts_shrinking:
        counts_both = pd.DataFrame({"shrinking_units": pd.Series(result.state_counts_shrinking),
                                    "all_units": pd.Series(result.state_counts_all)}).fillna(0).astype(int)
        counts_both.index.name = "tapio_state"
    body = render("section-paradox.html.j2", lang, result=result, message=_paradox_message(result, lang),
                  counts_all=counts_all, counts_both=counts_both)
    return Section(id="expansion-paradox", title=_say("paradox.title", lang), html=body)


def _drivers_summary(result: DriverResult, lang: str) -> str:
    """The driver models in the analysis's words where they are in ``lang``, else in the report's, from the fit."""
    said = analysis_prose(result.summary or result.message or "", lang)
    if said or not result.available or result.gbm_cv is None or result.baseline_cv is None:
        return said or _say("drivers.unavailable", lang)
    top = column_label(str(result.importance.idxmax()), lang) if result.importance is not None and \
        len(result.importance) else ""
    return _say("drivers.summary", lang, n=result.n_units if hasattr(result, "n_units") else "",
                folds=result.n_folds, r2=format_number(result.gbm_cv.r2), base=format_number(result.baseline_cv.r2),
                top=top)


def drivers_section(result: DriverResult, decomposition: DecompositionResult | None = None,
                    panel: Panel | None = None, lang: str = "en") -> Section:
    """Out-of-sample fit of each model against the baseline, OLS coefficients and LightGBM contributions."""
    context: dict[str, object] = {"result": result, "decomposition": decomposition,
                                  "summary": _drivers_summary(result, lang),
                                  "decomposition_text": analysis_prose(decomposition.message, lang)
                                  if decomposition else ""}
    charts: tuple[Chart, ...] = ()
    if result.available:
        assert result.ols_cv and result.gbm_cv and result.baseline_cv and result.coefficients is not None
        context["fit"] = pd.DataFrame(
            [[cv.r2, cv.rmse] for cv in (result.ols_cv, result.gbm_cv, result.baseline_cv)],
            index=pd.Index([_say(f"drivers.{m}", lang) for m in ("ols", "gbm", "baseline")], name="model"),
            columns=[_say("drivers.r2", lang, folds=result.n_folds), _say("drivers.rmse", lang)],
        )
        coefficients = result.coefficients.copy()
        meanings = [analysis_prose(result.feature_notes.get(str(t), ""), lang) for t in coefficients.index]
        if any(meanings):  # the analysis's notes in the report's language; none: no column of blanks
            coefficients.insert(0, "meaning", [_say("drivers.intercept", lang) if t == "const" else m
                                               for t, m in zip(coefficients.index, meanings)])
        coefficients.index = pd.Index([_say("drivers.intercept", lang) if t == "const" else column_label(t, lang)
                                       for t in coefficients.index], name="predictor")
        context["coefficients"] = coefficients
        context["coefficient_formats"] = {c: "{:.4f}" for c in coefficients.columns
                                          if c not in ("meaning", "p") and pd.api.types.is_float_dtype(coefficients[c])}
        if "p" in coefficients.columns:
            context["coefficient_formats"]["p"] = _p_cell  # type: ignore[index]
        chart = driver_importance_chart(result, lang=lang)
        charts = (chart,)
        context["chart"] = Markup(chart.svg())
        names = (display_names(panel.units, panel, lang) if panel is not None and "name" in panel.units.columns
                 else pd.Series(dtype="string"))
        why = pd.Series(list(result.excluded.values()), dtype=object).astype(str)
        said = {w: analysis_prose(w, lang) or _say("drivers.missing_data", lang) for w in why.unique()}  # a few
        excluded = pd.DataFrame({"unit_id": list(result.excluded),
                                 "name": names.reindex(list(result.excluded)).fillna("").to_numpy(dtype=object)
                                 if names.index.is_unique else [names.get(u, "") for u in result.excluded],
                                 "reason": why.map(said).to_numpy(dtype=object)})
        context["excluded_html"] = excluded
        context["excluded_summary"] = _say("drivers.excluded", lang, n=len(excluded))
    return Section(id="drivers", title=_say("drivers.title", lang),
                   html=render("section-drivers.html.j2", lang, **context), charts=charts)


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
    clusters["label"] = clusters["label"].astype(str).map(lambda v: plain_text(v, lang))
    types = pd.DataFrame({
        "type": [TYPE_NAMES[t] if lang == "zh" else t for t in TYPE_NAMES],
        "shrinking_units": [type_counts.get(t, _say("types.not_assessed", lang)) for t in TYPE_NAMES],
        "share": [type_counts[t] / n_shrinking if t in type_counts and n_shrinking else np.nan for t in TYPE_NAMES],
    })
    silhouette = message("report.page.list_separator", lang).join(
        f"{k}: {v:.3f}" for k, v in typology.silhouette.items())
    body = render("section-types.html.j2", lang, typology=typology, n_shrinking=n_shrinking, clusters=clusters,
                  criterion=analysis_prose(typology.criterion, lang), silhouette=silhouette,
                  notes=[n for n in (analysis_prose(n, lang) for n in typology.notes) if n],
                  features=message("report.page.list_separator", lang).join(
                      column_label(f, lang) for f in typology.features),
                  feature_formats={f: "{:.2f}" for f in typology.features}, types=types)
    return Section(id="types", title=_say("types.title", lang), html=body)


def recommendations_section(result: RecommendationResult, lang: str = "en", panel: Panel | None = None) -> Section:
    """How many units each transformation path applies to, with examples, against the units of each status."""
    _check_lang(lang)
    rows = result.by_recommendation()
    if lang != "en":  # the ids are English code words; the titles say the same in the report's language
        rows = rows.drop(columns="recommendation_id")
    if "examples" in rows.columns and panel is not None and lang == "en" and "name_en" in panel.units.columns:
        shown = set(", ".join(rows["examples"].astype(str)).split(", "))  # a few names: not a table of every unit
        units = panel.units[panel.units["name"].astype(str).isin(shown)]
        english = dict(zip(units["name"].astype(str), units["name_en"].astype("string").fillna("")))
        rows["examples"] = rows["examples"].astype(str).map(
            lambda names: ", ".join(english.get(n, "") or n for n in names.split(", ")))
    elif "examples" in rows.columns and lang == "zh":
        rows["examples"] = rows["examples"].astype(str).str.replace(", ", "、", regex=False)
    body = render("section-recommendations.html.j2", lang,
                  denominators=message("report.page.list_separator", lang).join(
                      _say("recommendations.denominator", lang, n=v, status=status_label(k, lang))
                      for k, v in result.denominators.items()),
                  rows=rows)
    return Section(id="recommendations", title=_say("recommendations.title", lang), html=body)


#: Every sentence and heading of the early-warning section, by language: the catalogues'
#: ``[report.sections.early_warning.text]`` (with its ``columns`` and ``predictors``).
EARLY_WARNING_TEXT: dict[str, dict[str, Any]] = {lang: table("report.sections.early_warning.text", lang)
                                                 for lang in LANGUAGES}


def early_warning_section(result: ForecastResult | None, *, lang: str = "en", why: str = "",
                          panel: Panel | None = None) -> Section:
    """The watchlist with its probabilities and the backtest skill behind them, or the plain statement that the
    forecasts do not beat the baselines (or why there is no forecast)."""
    _check_lang(lang)
    text = EARLY_WARNING_TEXT[lang]
    columns: dict[str, str] = text["columns"]  # type: ignore[assignment]
    if result is None:
        # why there is none: the forecast's own reason in lang (catalogued: forecast.unavailable), else the
        # catalogue's general sentence
        said = analysis_prose(translate(why, "forecast.unavailable", lang), lang) if why else ""
        body = render("section-early-warning.html.j2", lang, paragraphs=[str(text["unavailable"]).format(
                      why=said or _say("early_warning.why", lang))], skill=None, watchlist=None)
        return Section(id="early-warning", title=str(text["title"]), html=body)
    fields = {"horizon": result.horizon, "origin": result.origin_year, "level": result.level, "draws": result.draws,
              "standard": result.standard_id}
    paragraphs = [str(text["intro"]).format(**fields)]
    if result.skill is None or result.skill.empty:
        paragraphs.append(str(text["no_skill"]).format(**fields))
    else:
        paragraphs.append(str(text["beats" if result.beats_baselines else "fails"]).format(**fields))
    skill = None if result.skill is None else result.skill[
        ["predictor", "n", "brier", "precision", "recall", "observed_share"]].assign(
        predictor=lambda t: t["predictor"].map(text["predictors"]).fillna(t["predictor"])).rename(columns=columns)
    shown = result.watchlist[["name", "parent_name", "probability", "lower", "upper"]].copy()
    if panel is not None and len(shown):
        if shown.index.difference(panel.units.index).empty:  # not isin: slow on a large index of text
            shown["name"] = display_names(shown, panel, lang).to_numpy()
            shown["parent_name"] = parent_display(shown, panel, lang).to_numpy()
    watchlist = shown.rename(columns=columns) if len(shown) else None
    paragraphs.append(str(text["watchlist" if watchlist is not None else "empty"]).format(**fields))
    body = render("section-early-warning.html.j2", lang, paragraphs=paragraphs, skill=skill, watchlist=watchlist)
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
        sections.append(timeline_section(analysis, lang=lang, panel=panel))
    sections += [distribution_section(analysis, panel, lang), spatial_section(analysis, panel, facts, lang),
                 paradox_section(analysis.paradox, lang),
                 drivers_section(analysis.drivers, analysis.decomposition, panel, lang)]
    if analysis.typology is not None:
        sections.append(typology_section(analysis.typology, lang=lang))
    if analysis.recommendations is not None:
        sections.append(recommendations_section(analysis.recommendations, lang=lang, panel=panel))
    if analysis.early_warning is not None or "early_warning" in analysis.errors:
        sections.append(early_warning_section(analysis.early_warning, lang=lang,
                                              why=analysis.errors.get("early_warning", ""), panel=panel))
    return sections

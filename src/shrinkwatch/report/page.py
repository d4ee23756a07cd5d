"""``report.html``: one self-contained page (inline CSS and SVG, no external assets).

The page is the template ``templates/report.html.j2``: the standard, the
headline, the map, the counts by kind, parent and region, the shrinking and
the undecided units, then the analysis sections and the sources.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html as _html
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.core import Identification, Panel, PanelMeta
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.messages import NOTE_TABLES, catalogue, check_language, message, table, translate_all
from shrinkwatch.identification import load_standard
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard
from shrinkwatch.report.charts import Chart, rate_histogram, trend_multiples
from shrinkwatch.report.facts import UnitFacts, unit_facts
from shrinkwatch.report.findings import key_findings
from shrinkwatch.report.html import TEMPLATES, frame_html, table_text
from shrinkwatch.report.labels import (
    analysis_prose,
    column_label,
    display_names,
    format_number,
    is_fraction,
    kind_label,
    not_assessed_sentence,
    number_formatter,
    parent_display,
    parent_labels,
    plain_text,
    region_label,
    status_label,
    unit_label,
)
from shrinkwatch.report.maps import (
    MAP_UNIT_LIMIT,
    NO_DATA_COLOR,
    MapLayer,
    choropleth_svg,
    hexbin,
    map_context,
    rate_bins,
    rate_colors,
)
from shrinkwatch.report.sections import LIST_ROW_LIMIT, analysis_sections
from shrinkwatch.report.summary import _ledger_counts

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["render_html", "render_report", "Page", "TRENDS_SHOWN", "HTML_LANG"]

#: The page's ``<html lang>`` per report language.
HTML_LANG = {"en": "en", "zh": "zh-CN"}

_COUNT_FORMATS = {"units": "{:,}", "with_data": "{:,}", "shrinking": "{:,}", "not_shrinking": "{:,}",
                  "insufficient_data": "{:,}", "boundary_change": "{:,}", "share_shrinking": "{:.1%}"}
#: How many of the fastest-shrinking units the trend small multiples draw.
TRENDS_SHOWN = 12


def _say(key: str, lang: str, **fields: Any) -> str:
    """The page's message ``report.page.<key>`` in ``lang``."""
    return message(f"report.page.{key}", lang, **fields)


def _compared_years(identification: Identification, panel: Panel, rule: str) -> tuple[int, int] | None:
    """The years the identification compared: its ``start_year``/``end_year`` facts, else the rule's window."""
    table = identification.table
    if {"start_year", "end_year"} <= set(table.columns):
        known = table[["start_year", "end_year"]].dropna()
        if len(known):
            return int(known["start_year"].iloc[0]), int(known["end_year"].iloc[0])
    try:
        params = kernel_class(rule).parameters.from_values(identification.parameters)
        start, end = params.comparison_window(panel)
    except (OptionError, DataError, KeyError, TypeError, ValueError, IndexError):
        return None
    return int(start), int(end)


def _map_labels(table: pd.DataFrame, names: pd.Series, how_many: int = 5) -> np.ndarray:
    """Names of the ``how_many`` shrinking units with the steepest annual loss ("" for every other unit)."""
    rate = pd.to_numeric(table["annual_rate"], errors="coerce").to_numpy(dtype=float)
    shrinking = (table["status"] == "shrinking").to_numpy() & np.isfinite(rate)
    order = np.flatnonzero(shrinking)[np.argsort(rate[shrinking], kind="stable")][:how_many]
    labels = np.full(len(table), "", dtype=object)
    labels[order] = names.to_numpy()[order]
    return labels


def _severity_pattern_html(table: pd.DataFrame, lang: str = "en") -> Markup:
    """Shrinking units by ESPON severity band and by pattern of change."""
    shrinking = table[table["status"] == "shrinking"]
    if shrinking.empty:
        return Markup("")
    severity_counts = shrinking["severity"].value_counts().reindex(["severe", "moderate", "mild"], fill_value=0)
    frame = pd.DataFrame({"severity_band": severity_counts.index, "shrinking_units": severity_counts.to_numpy()})
    parts = [frame_html(frame, index=False, formats={"shrinking_units": "{:,}"}, lang=lang)]
    if "pattern" in shrinking.columns and shrinking["pattern"].nunique() > 1:
        pattern_counts = shrinking["pattern"].value_counts()
        parts.append(frame_html(pd.DataFrame({"pattern": pattern_counts.index,
                                              "shrinking_units": pattern_counts.to_numpy()}),
                                index=False, formats={"shrinking_units": "{:,}"}, lang=lang))
    return Markup("".join(str(p) for p in parts))


def _missing_geometry(ids: list[str], table: pd.DataFrame, panel: Panel, lang: str = "en") -> Markup:
    """The units without geometry as a folded list of names (never a bare list of ids)."""
    if not ids:
        return Markup("")
    shown = ids[:LIST_ROW_LIMIT]
    known = [i for i in shown if i in table.index]
    names = display_names(table.loc[known], panel, lang) if known else pd.Series(dtype="string")
    items = "".join(f"<li>{_html.escape(str(names.get(i, i)))} ({_html.escape(str(i))})</li>" for i in shown)
    if len(ids) > len(shown):
        items += f"<li>{_html.escape(message('report.scale.more_not_drawn', lang, n=f'{len(ids) - len(shown):,}'))}</li>"
    summary = _html.escape(_say("not_drawn", lang, n=len(ids)))
    return Markup(f'<details class="ids"><summary>{summary}</summary><ul class="ids">{items}</ul></details>')


def _capped_note(key: str, shown: int, total: int, lang: str) -> Markup:
    """The note above a list cut to its first ``shown`` rows of ``total`` (empty when whole)."""
    if shown >= total:
        return Markup("")
    text = message(f"report.scale.{key}", lang, shown=f"{shown:,}", total=f"{total:,}")
    return Markup(f'<p class="note list-capped">{_html.escape(text)}</p>')


def _hexagon_map(identification: Identification, panel: Panel, caption: str, lang: str) -> MapLayer:
    """The rate map of a panel over :data:`~shrinkwatch.report.maps.MAP_UNIT_LIMIT` units: hexagons, each the
    mean annual rate of its units with a verdict, hatched where most of those shrink (vectorised: no per-unit
    shape or tooltip)."""
    table = identification.table.reindex(panel.units.index)
    bins = hexbin(panel.units, panel.meta.country)
    status = table["status"].astype("string").fillna("").to_numpy(dtype=object)
    judged = (status == "shrinking") | (status == "not_shrinking")
    rate = pd.to_numeric(table["annual_rate"], errors="coerce").to_numpy(dtype=float)
    judged &= np.isfinite(rate)
    with_data = bins.totals(judged)
    shrinking = bins.totals(judged & (status == "shrinking"))
    mean = np.divide(bins.totals(np.where(judged, rate, 0.0)), with_data, out=np.full(len(with_data), np.nan),
                     where=with_data > 0)
    fill = rate_colors(mean, np.where(with_data > 0, "not_shrinking", "insufficient_data"))
    units = bins.hexagons["units"].to_numpy()
    tips = np.array([message("report.scale.hex_tip", lang, units=f"{int(u):,}", with_data=f"{int(d):,}",
                             shrinking=f"{int(k):,}", rate="–" if not np.isfinite(m) else format_number(m, "{:+.2f}"))
                     for u, d, k, m in zip(units, with_data, shrinking, mean)], dtype=object)
    layer = choropleth_svg(
        bins.hexagons, fill, tips, country=panel.meta.country,
        legend=[(c, lbl) for _, _, c, lbl in rate_bins(lang)] + [(NO_DATA_COLOR, _say("no_verdict_legend", lang))],
        title=caption, caption=caption, context=map_context(panel.meta), shrinking=shrinking > with_data / 2,
        standard=message("report.scale.hex_standard", lang, standard=identification.standard_id),
        note=message("report.scale.hex_note", lang, across=len(bins.hexagons)), lang=lang)
    without = [str(u) for u in panel.units.index[bins.unit_hexagon < 0]]
    return dataclasses.replace(layer, units_without_geometry=without)


@dataclass(frozen=True)
class Page:
    """The rendered report: its ``html`` and the ``charts`` drawn on it (exported to ``figures/``)."""

    html: str
    charts: tuple[Chart, ...]
    figure_note: str


def render_html(identification: Identification, panel: Panel, analysis: Analysis | None = None,
                lang: str = "en") -> str:
    """The report as one self-contained HTML string (inline CSS and SVG, no external assets), in ``lang``.

    With ``analysis``, the page also has its sections (:func:`shrinkwatch.report.sections.analysis_sections`)
    and key findings.
    """
    return render_report(identification, panel, analysis, lang=lang).html


def _with_facts(listing: pd.DataFrame, facts: UnitFacts, ids: pd.Index) -> pd.DataFrame:
    """``listing`` (rows in ``ids`` order) with the populations at start and end and, on annual data, the runs."""
    for column in ("population_start", "population_end", "longest_run", "latest_run"):
        if column in facts.table.columns:
            listing[column] = facts.table[column].reindex(ids).to_numpy()
    return listing


def _rate_threshold(identification: Identification, window: tuple[int, int] | None) -> float:
    """The standard's threshold as an average annual rate (%/yr): a total loss over the window converted,
    an annual loss as it is, else 0 (any decline)."""
    parameters = identification.parameters
    if "min_annual_loss" in parameters:
        return -float(parameters["min_annual_loss"]) * 100
    if "min_loss" in parameters and window is not None and window[1] > window[0]:
        return float(((1 - float(parameters["min_loss"])) ** (1 / (window[1] - window[0])) - 1) * 100)
    return 0.0


def _page_charts(identification: Identification, panel: Panel, facts: UnitFacts, period: str,
                 lang: str = "en") -> dict[str, Chart]:
    """The histogram of annual rates and, on annual data, the trends of the fastest-shrinking units."""
    table = identification.table
    indicator = column_label(facts.indicator, lang)
    charts: dict[str, Chart] = {}
    rates = pd.to_numeric(table["annual_rate"], errors="coerce").to_numpy(dtype=float) if "annual_rate" in table else None
    with_data = table["status"].isin(["shrinking", "not_shrinking"]).to_numpy()
    if rates is not None and np.isfinite(rates[with_data]).any():
        charts["histogram"] = rate_histogram(rates[with_data], _rate_threshold(identification, facts.window),
                                             indicator=indicator, period=period, bins=rate_bins(lang), lang=lang)
    shrinking = table[table["status"] == "shrinking"]
    if facts.series is not None and facts.window is not None and len(shrinking):
        worst = pd.to_numeric(shrinking["annual_rate"], errors="coerce").dropna().sort_values().head(TRENDS_SHOWN)
        names = display_names(table, panel, lang)
        charts["trends"] = trend_multiples(facts.series.loc[worst.index], worst, names, window=facts.window,
                                           projected_from=facts.projected_from, indicator=indicator, lang=lang)
    return charts


def _parameter_text(parameters: dict[str, Any], std: Standard, lang: str = "en") -> str:
    """The run's parameters in words: ``minimum loss 0 %, indicator population, first year 2010``."""
    parts = []
    for key, value in parameters.items():
        if is_fraction(std, key, [value]):
            shown = f"{float(value) * 100:g} %"
        elif isinstance(value, str):
            shown = column_label(value, lang)
        else:
            shown = str(value)
        parts.append(f"{column_label(key, lang)} {shown}")
    return message("report.page.list_separator", lang).join(parts)


def _description(std: Standard, parameters: dict[str, Any], lang: str) -> str:
    """The standard in words, in ``lang``, with its parameters named in words (``indicator`` -> "指标")."""
    text = plain_text(std.describe(parameters, lang), lang)
    for key in sorted(parameters, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(key)}(?![\w.])", column_label(key, lang), text)
    return text


def _dataset_notes(meta: PanelMeta, lang: str) -> list[str]:
    """The dataset's notes in ``lang``: in Chinese its ``notes_zh`` (the loaders write both from the catalogues),
    and for English notes with no Chinese version one line saying how many there are, so that a Chinese report
    neither drops them silently nor mixes languages."""
    if lang == "en":
        return [n for n in (analysis_prose(note, lang) for note in meta.notes) if n]
    notes = [plain_text(n, lang) for n in meta.notes_zh]
    english = [n for n in meta.notes if not analysis_prose(n, lang)][len(meta.notes_zh):]
    # an ingested, harmonised or zonal (grid) panel's notes: the catalogue's, said in lang
    said = translate_all(english, NOTE_TABLES, lang).tolist()
    notes.extend(s for s, n in zip(said, english) if s != n)
    english = [n for s, n in zip(said, english) if s == n]
    if english:
        notes.append(message("datasets.notes.english_only", lang, n=len(english)))
    return notes


#: Rejected input rows listed on the page (all of them are in results.xlsx, sheet rejected_rows).
REJECTED_SHOWN = 50
#: Ledger warnings listed on the page.
WARNINGS_SHOWN = 10


def _ledger_html(ledger: Ledger | None, lang: str) -> Markup:
    """The rows the reading rejected, by reason and the first :data:`REJECTED_SHOWN` of them, and the ledger's
    warnings, in ``lang`` (the ledger stores the catalogues' English; every value escaped)."""
    if ledger is None or (not ledger.rows_rejected and not ledger.warnings):
        return Markup("")
    words = table("report.page.rejected", lang)
    parts = []
    if ledger.rows_rejected:
        by_reason = ledger.rejected_by_reason(lang)
        reasons = message("report.page.list_separator", lang).join(words["count"].format(what=k, n=f"{v:,}")
                                                                    for k, v in by_reason.items())
        parts.append(f'<p class="note">{_html.escape(words["by_reason"].format(reasons=reasons))}</p>')
        rows = ledger.rejected_in(lang).head(REJECTED_SHOWN)
        rows["file"] = rows["file"].astype(str).map(lambda f: PurePath(f).name)  # the full path is in the workbook
        rows = rows.drop(columns=["sheet"] if not rows["sheet"].astype(str).str.len().any() else [])
        rows = rows.rename(columns={c: words[c] for c in rows.columns})
        parts.append(str(frame_html(rows, index=False, lang=lang, fold=0, numeric=[words["row"]],
                                    caption=words["caption"].format(shown=min(REJECTED_SHOWN, len(ledger.rejected)),
                                                                    total=f"{len(ledger.rejected):,}"))))
    warnings = ledger.warnings_in(lang)
    if warnings:
        items = "".join(f"<li>{_html.escape(w)}</li>" for w in warnings[:WARNINGS_SHOWN])
        more = (f"<li>{_html.escape(words['more_warnings'].format(n=len(warnings) - WARNINGS_SHOWN))}</li>"
                if len(warnings) > WARNINGS_SHOWN else "")
        parts.append(f'<p class="note">{_html.escape(words["warnings"])}</p><ul class="note">{items}{more}</ul>')
    return Markup("".join(parts))


def _headline(identification: Identification, std: Standard, counts: dict[str, int], share: float | None,
              label: str, lang: str) -> str:
    """The headline sentence: the count, the units without a verdict, stable clusters, criteria not assessed, notes."""
    table = identification.table
    via = int(table["via_stable_cluster"].sum()) if "via_stable_cluster" in table.columns else 0
    name = std.name_zh if lang == "zh" and std.name_zh else std.name.lower()
    text = _say("headline", lang, standard=name, id=identification.standard_id, shrinking=counts["shrinking"],
                with_data=counts["units_with_data"], units=label,
                share=_say("headline_share", lang, share=share) if share is not None else "",
                insufficient=counts["insufficient_data"])
    if counts["boundary_change"]:
        text += _say("headline_boundary", lang, n=counts["boundary_change"])
    text += _say("headline_end", lang)
    if via:
        text += _say("headline_clusters", lang, n=via, units=label)
    text += not_assessed_sentence(identification, std, lang)
    notes = (analysis_prose(note, lang) for note in identification.notes)
    return text + "".join(_say("headline_note", lang, note=note) for note in notes if note)


def render_report(identification: Identification, panel: Panel, analysis: Analysis | None = None,
                  lang: str = "en") -> Page:
    """The report page and its charts (:class:`Page`) in ``lang`` (``"en"`` or ``"zh"``: every heading, sentence,
    table header, legend and chart label; ``<html lang>`` follows); :func:`render_html` is its HTML alone."""
    check_language(lang, "lang")
    meta = identification.panel_meta
    table = identification.table
    std = load_standard(identification.standard_source or identification.standard_id)
    facts = unit_facts(identification, panel)
    sections = (analysis_sections(analysis, panel, lang=lang, parameters=identification.parameters, standard=std,
                                  facts=facts) if analysis is not None else [])
    counts = identification.counts()
    label = unit_label(meta, lang)
    share = counts["shrinking"] / counts["units_with_data"] if counts["units_with_data"] else None

    kind_table = identification.counts_by("kind")
    none = message("report.value.none", lang)  # what counts_by calls a missing group
    kind_table.index = [none if k == "(none)" else kind_label(k, lang) for k in kind_table.index]
    kind_table.index.name = "kind"

    decorated = table.copy()
    decorated["parent_display"] = parent_display(table, panel, lang)
    parent_ident = Identification(decorated, identification.standard_id, identification.parameters, meta)
    by_parent = parent_ident.counts_by("parent_display")
    by_parent.index = [none if p == "(none)" else p for p in by_parent.index]
    parent_word = (meta.parent_label or ("province" if meta.country == "China" else "parent"))
    by_parent.index.name = message(f"report.page.parent_word.{parent_word}", lang) if \
        f"report.page.parent_word.{parent_word}" in catalogue(lang) else str(parent_word)
    by_region = identification.counts_by("region")
    by_region.index = [none if r == "(none)" else region_label(r, lang) for r in by_region.index]
    by_region.index.name = "region"

    indicator = str(identification.parameters.get("indicator", "pop_resident"))
    years = _compared_years(identification, panel, std.rule)
    period = f"{years[0]}–{years[1]}" if years else ""
    map_caption = _say("map_caption", lang, indicator=column_label(indicator, lang),
                       period=_say("map_caption_period", lang, period=period) if period else "",
                       standard=std.name_zh if lang == "zh" and std.name_zh else std.name,
                       id=identification.standard_id)
    map_caption = map_caption[:1].upper() + map_caption[1:]  # "Population, ..." (Chinese has no case)

    all_shrinking = table[table["status"] == "shrinking"].sort_values("annual_rate")
    shrinking = all_shrinking.head(LIST_ROW_LIMIT)  # the fastest first; the full list in the data files
    kinds = shrinking["kind"].astype("string").map(lambda k: kind_label(k, lang) if not pd.isna(k) else k)
    listing = pd.DataFrame({"unit_id": shrinking.index, "name": display_names(shrinking, panel, lang).to_numpy(),
                            "parent": parent_display(shrinking, panel, lang).to_numpy(),
                            "kind": kinds.to_numpy()})
    listing = _with_facts(listing, facts, shrinking.index)
    listing["annual_rate"] = shrinking["annual_rate"].to_numpy()
    listing["severity"] = shrinking["severity"].to_numpy()
    all_insufficient = table[table["status"].isin(["insufficient_data", "boundary_change"])]
    insufficient = all_insufficient.head(LIST_ROW_LIMIT)
    missing_listing = pd.DataFrame({"unit_id": insufficient.index,
                                    "name": display_names(insufficient, panel, lang).to_numpy(),
                                    "parent": parent_display(insufficient, panel, lang).to_numpy(),
                                    "status": insufficient["status"].map(lambda v: status_label(v, lang)).to_numpy(),
                                    "reason": insufficient["reason"].to_numpy()})
    charts = _page_charts(identification, panel, facts, period, lang)

    map_layer = None
    if "geometry" in panel.units.columns and len(panel.units) > MAP_UNIT_LIMIT:
        map_layer = _hexagon_map(identification, panel, map_caption, lang)
    elif "geometry" in panel.units.columns:
        rate_words = table["annual_rate"].map(lambda v: "–" if pd.isna(v) else _say(
            "rate_tip", lang, rate=format_number(v, "{:+.2f}")))
        names = display_names(table, panel, lang)
        tips = (names + _say("tip_parent_open", lang) + parent_display(table, panel, lang)
                + _say("tip_parent_close", lang) + table["status"].map(lambda v: status_label(v, lang))
                + _say("tip_separator", lang) + rate_words).to_numpy()
        map_layer = choropleth_svg(
            panel.units, rate_colors(table["annual_rate"].to_numpy(), table["status"].to_numpy()), tips,
            country=meta.country, legend=[(c, lbl) for _, _, c, lbl in rate_bins(lang)]
            + [(NO_DATA_COLOR, _say("no_verdict_legend", lang))],
            title=map_caption, caption=map_caption, context=map_context(meta),
            shrinking=(table["status"] == "shrinking").to_numpy(), standard=identification.standard_id,
            labels=_map_labels(table, names), lang=lang,
            label_priority=pd.to_numeric(table["annual_rate"], errors="coerce").to_numpy(dtype=float),
        )

    headline = _headline(identification, std, counts, share, label, lang)
    sources = [{"id": meta.id, "licence": meta.licence, "citation": meta.citation,
                "publisher_url": meta.publisher_url}] + list(meta.extra_sources)
    sources_table = pd.DataFrame(sources, columns=["id", "licence", "citation", "publisher_url"]).rename(
        columns={"id": "dataset", "publisher_url": "publisher"})
    toc = [(key, _say(f"toc.{key}", lang)) for key in ("findings", "standard", "headline", "map", "parents",
                                                      "regions", "list", "insufficient")]
    toc += [(s.id, s.title) for s in sections] + [("sources", _say("toc.sources", lang))]
    try:
        version = metadata.version("shrinkwatch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "dev"

    parameter_text = _parameter_text(dict(identification.parameters), std, lang)
    words = catalogue(lang)
    dataset_title = words.get(f"report.dataset.{meta.id}") or (
        meta.title if meta.title and (lang == "en") != bool(re.search(r"[\u4e00-\u9fff]", meta.title)) else meta.id)
    page = TEMPLATES.get_template("report.html.j2").render(
        t=lambda key, **fields: message(f"report.{key}", lang, **fields),
        html_lang=HTML_LANG[lang],
        title=_say("title", lang, units=label, dataset=dataset_title),
        dataset_title=dataset_title,
        standard=std,
        standard_name=std.name_zh if lang == "zh" and std.name_zh else std.name,
        description=_description(std, identification.parameters, lang),
        unit_definition=meta.unit_definition if lang == "en" and meta.unit_definition else label,
        unit_label=label,
        counts=counts,
        share_shrinking=share,
        headline=headline,
        findings=key_findings(identification, analysis, parent_labels(panel, lang), lang=lang),
        profile_html=_severity_pattern_html(table, lang),
        by_kind_html=frame_html(kind_table, formats=_COUNT_FORMATS, lang=lang),
        by_parent_html=frame_html(by_parent, formats=_COUNT_FORMATS, lang=lang),
        by_region_html=frame_html(by_region, formats=_COUNT_FORMATS, lang=lang),
        parent_label=by_parent.index.name,
        map_svg=Markup(map_layer.svg) if map_layer else Markup(f"<p>{_html.escape(_say('no_geometry', lang))}</p>"),
        map_missing=_missing_geometry(map_layer.units_without_geometry, table, panel, lang) if map_layer else "",
        map_scale_note=(message("report.scale.map_aggregated", lang, units=f"{len(panel.units):,}",
                                limit=f"{MAP_UNIT_LIMIT:,}")
                        if map_layer is not None and len(panel.units) > MAP_UNIT_LIMIT else ""),
        period=period,
        map_caption=map_caption,
        histogram=Markup(charts["histogram"].svg()) if "histogram" in charts else "",
        trends=Markup(charts["trends"].svg()) if "trends" in charts else "",
        trend_note=(_say("trend_note", lang, n=min(TRENDS_SHOWN, counts["shrinking"])) if "trends" in charts
                    else _say("no_trends", lang, years=len(meta.census_years) or 2) if counts["shrinking"] else ""),
        runs_note=_say("runs_note", lang, period=period) if facts.annual else "",
        shrinking_html=_capped_note("list_capped", len(shrinking), len(all_shrinking), lang) + frame_html(
            listing, index=False, formats={
            "population_start": number_formatter("{:,.0f}"), "population_end": number_formatter("{:,.0f}"),
            "longest_run": "{:,.0f}", "latest_run": "{:,.0f}", "annual_rate": "{:+.2f}"}, lang=lang),
        insufficient_html=_capped_note("insufficient_capped", len(insufficient), len(all_insufficient), lang)
        + frame_html(missing_listing, index=False, lang=lang),
        sections=sections,
        sources_html=frame_html(sources_table, index=False, lang=lang),
        notes=_dataset_notes(meta, lang),
        ledger=_ledger_counts(panel.ledger),
        ledger_html=_ledger_html(panel.ledger, lang),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=version,
        parameters=parameter_text,
        toc=toc,
        table_text=table_text(lang),
    )
    all_charts = tuple(charts.values()) + tuple(c for section in sections for c in section.charts)
    note = _say("figure_note", lang,
                source=meta.citation or meta.title or meta.id, standard=std.name_zh if lang == "zh" and std.name_zh
                else std.name, id=std.id, version=std.version,
                parameters=parameter_text, software=version, date=_dt.date.today().isoformat())
    return Page(html=page, charts=all_charts, figure_note=note)

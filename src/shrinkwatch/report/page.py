"""``report.html``: one self-contained page (inline CSS and SVG, no external assets).

The page is the template ``templates/report.html.j2``: the standard, the
headline, the map, the counts by kind, parent and region, the shrinking and
the undecided units, then the analysis sections and the sources.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.datasets.china import KIND_LABELS
from shrinkwatch.identification import load_standard
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard
from shrinkwatch.identification.text import indicator_name
from shrinkwatch.report.charts import Chart, rate_histogram, trend_multiples
from shrinkwatch.report.facts import UnitFacts, unit_facts
from shrinkwatch.report.findings import key_findings
from shrinkwatch.report.html import TEMPLATES, frame_html, table_text
from shrinkwatch.report.labels import (
    column_label,
    display_names,
    format_number,
    is_fraction,
    not_assessed_sentence,
    number_formatter,
    parent_display,
    parent_labels,
    plain_text,
    status_label,
    unit_label,
)
from shrinkwatch.report.maps import (
    NO_DATA_COLOR,
    RATE_BINS,
    choropleth_svg,
    map_context,
    rate_colors,
)
from shrinkwatch.report.sections import analysis_sections
from shrinkwatch.report.summary import _ledger_counts

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["render_html", "render_report", "Page", "TRENDS_SHOWN"]

_COUNT_FORMATS = {"units": "{:,}", "with_data": "{:,}", "shrinking": "{:,}", "not_shrinking": "{:,}",
                  "insufficient_data": "{:,}", "boundary_change": "{:,}", "share_shrinking": "{:.1%}"}
#: How many of the fastest-shrinking units the trend small multiples draw.
TRENDS_SHOWN = 12

#: The words this module adds to the page, per language.
_TEXT = {"en": {
    "not_drawn": "Not drawn on the map (no geometry): {n:,}",
    "trend_note": "The {n} shrinking units with the fastest average annual loss, each on its own scale; "
                  "the shaded years are the compared window.",
    "no_trends": "Population trends are drawn only for annual data; this dataset compares {years} years, "
                 "so each unit has its start and end values only (in the list below).",
    "runs_note": " Runs count consecutive years of decline within {period}.",
    "figure_note": "Source: {source}. Standard: {standard} ({id} v{version}); {parameters}. Made with ShrinkWatch "
                   "{software} on {date}.",
    "yes": "yes", "no": "no",
}}


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


def _severity_pattern_html(table: pd.DataFrame) -> Markup:
    """Shrinking units by ESPON severity band and by pattern of change."""
    shrinking = table[table["status"] == "shrinking"]
    if shrinking.empty:
        return Markup("")
    severity_counts = shrinking["severity"].value_counts().reindex(["severe", "moderate", "mild"], fill_value=0)
    frame = pd.DataFrame({"severity (ESPON band of the annual rate)": severity_counts.index,
                          "shrinking units": severity_counts.to_numpy()})
    parts = [frame_html(frame, index=False, formats={"shrinking units": "{:,}"})]
    if "pattern" in shrinking.columns and shrinking["pattern"].nunique() > 1:
        pattern_counts = shrinking["pattern"].value_counts()
        parts.append(frame_html(pd.DataFrame({"pattern of change": pattern_counts.index,
                                              "shrinking units": pattern_counts.to_numpy()}),
                                index=False, formats={"shrinking units": "{:,}"}))
    return Markup("".join(str(p) for p in parts))


def _missing_geometry(ids: list[str], table: pd.DataFrame, panel: Panel) -> Markup:
    """The units without geometry as a folded list of names (never a bare list of ids)."""
    if not ids:
        return Markup("")
    known = [i for i in ids if i in table.index]
    names = display_names(table.loc[known], panel) if known else pd.Series(dtype="string")
    items = "".join(f"<li>{_html.escape(str(names.get(i, i)))} ({_html.escape(str(i))})</li>" for i in ids)
    summary = _html.escape(_TEXT["en"]["not_drawn"].format(n=len(ids)))
    return Markup(f'<details class="ids"><summary>{summary}</summary><ul class="ids">{items}</ul></details>')


@dataclass(frozen=True)
class Page:
    """The rendered report: its ``html`` and the ``charts`` drawn on it (exported to ``figures/``)."""

    html: str
    charts: tuple[Chart, ...]
    figure_note: str


def render_html(identification: Identification, panel: Panel, analysis: Analysis | None = None) -> str:
    """The report as one self-contained HTML string (inline CSS and SVG, no external assets).

    With ``analysis``, the page also has its sections (:func:`shrinkwatch.report.sections.analysis_sections`)
    and key findings.
    """
    return render_report(identification, panel, analysis).html


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


def _page_charts(identification: Identification, panel: Panel, facts: UnitFacts, period: str) -> dict[str, Chart]:
    """The histogram of annual rates and, on annual data, the trends of the fastest-shrinking units."""
    table = identification.table
    indicator = column_label(facts.indicator)
    charts: dict[str, Chart] = {}
    rates = pd.to_numeric(table["annual_rate"], errors="coerce").to_numpy(dtype=float) if "annual_rate" in table else None
    with_data = table["status"].isin(["shrinking", "not_shrinking"]).to_numpy()
    if rates is not None and np.isfinite(rates[with_data]).any():
        charts["histogram"] = rate_histogram(rates[with_data], _rate_threshold(identification, facts.window),
                                             indicator=indicator, period=period, bins=RATE_BINS)
    shrinking = table[table["status"] == "shrinking"]
    if facts.series is not None and facts.window is not None and len(shrinking):
        worst = pd.to_numeric(shrinking["annual_rate"], errors="coerce").dropna().sort_values().head(TRENDS_SHOWN)
        names = display_names(table, panel)
        charts["trends"] = trend_multiples(facts.series.loc[worst.index], worst, names, window=facts.window,
                                           projected_from=facts.projected_from, indicator=indicator)
    return charts


def _parameter_text(parameters: dict[str, Any], std: Standard) -> str:
    """The run's parameters in words: ``minimum loss 0 %, indicator population, first year 2010``."""
    parts = []
    for key, value in parameters.items():
        if is_fraction(std, key, [value]):
            shown = f"{float(value) * 100:g} %"
        elif isinstance(value, str):
            shown = column_label(value)
        else:
            shown = str(value)
        parts.append(f"{column_label(key)} {shown}")
    return ", ".join(parts)


def render_report(identification: Identification, panel: Panel, analysis: Analysis | None = None) -> Page:
    """The report page and its charts (:class:`Page`); :func:`render_html` is its HTML alone."""
    meta = identification.panel_meta
    table = identification.table
    std = load_standard(identification.standard_source or identification.standard_id)
    facts = unit_facts(identification, panel)
    sections = (analysis_sections(analysis, panel, parameters=identification.parameters, standard=std, facts=facts)
                if analysis is not None else [])
    counts = identification.counts()
    label = unit_label(meta)
    share = counts["shrinking"] / counts["units_with_data"] if counts["units_with_data"] else None

    kind_table = identification.counts_by("kind")
    kind_table.index = [KIND_LABELS.get(str(k), str(k).replace("_", " ")) for k in kind_table.index]
    kind_table.index.name = "kind"

    decorated = table.copy()
    decorated["parent_display"] = parent_display(table, panel)
    parent_ident = Identification(decorated, identification.standard_id, identification.parameters, meta)
    by_parent = parent_ident.counts_by("parent_display")
    by_parent.index.name = str(meta.parent_label or ("province" if meta.country == "China" else "parent"))
    by_region = identification.counts_by("region")

    indicator = str(identification.parameters.get("indicator", "pop_resident"))
    years = _compared_years(identification, panel, std.rule)
    period = f"{years[0]}–{years[1]}" if years else ""
    map_caption = (f"{indicator_name(indicator, 'en').capitalize()}, average annual change"
                   + (f" {period}" if period else "") + f", {std.name} ({identification.standard_id})")

    kinds = table["kind"].astype("string").map(lambda k: KIND_LABELS.get(str(k), str(k).replace("_", " "))
                                               if not pd.isna(k) else k)
    shrinking = table[table["status"] == "shrinking"].sort_values("annual_rate")
    listing = pd.DataFrame({"unit_id": shrinking.index, "name": display_names(shrinking, panel).to_numpy(),
                            "parent": parent_display(shrinking, panel).to_numpy(),
                            "kind": kinds.reindex(shrinking.index).to_numpy()})
    listing = _with_facts(listing, facts, shrinking.index)
    listing["annual_rate"] = shrinking["annual_rate"].to_numpy()
    listing["severity"] = shrinking["severity"].to_numpy()
    insufficient = table[table["status"].isin(["insufficient_data", "boundary_change"])]
    missing_listing = pd.DataFrame({"unit_id": insufficient.index, "name": display_names(insufficient, panel).to_numpy(),
                                    "parent": parent_display(insufficient, panel).to_numpy(),
                                    "status": insufficient["status"].map(status_label).to_numpy(),
                                    "reason": insufficient["reason"].to_numpy()})
    charts = _page_charts(identification, panel, facts, period)

    tips = (display_names(table, panel) + " (" + parent_display(table, panel) + "): "
            + table["status"].map(status_label) + ", "
            + table["annual_rate"].map(lambda v: "–" if pd.isna(v) else format_number(v, "{:+.2f}") + " %/yr")).to_numpy()
    map_layer = None
    if "geometry" in panel.units.columns:
        map_layer = choropleth_svg(
            panel.units, rate_colors(table["annual_rate"].to_numpy(), table["status"].to_numpy()), tips,
            country=meta.country, legend=[(c, l) for _, _, c, l in RATE_BINS] + [(NO_DATA_COLOR, "no verdict (insufficient data or boundary change)")],
            title=map_caption, caption=map_caption, context=map_context(meta),
            shrinking=(table["status"] == "shrinking").to_numpy(), standard=identification.standard_id,
            labels=_map_labels(table, display_names(table, panel)),
        )

    via = int(table["via_stable_cluster"].sum()) if "via_stable_cluster" in table.columns else 0
    headline = (
        f"Under {std.name.lower()} ({identification.standard_id}), {counts['shrinking']:,} of "
        f"{counts['units_with_data']:,} {label} with data are shrinking"
        + (f" ({share:.1%})" if share is not None else "")
        + f"; {counts['insufficient_data']:,} lack the data to tell"
        + (f" and {counts['boundary_change']} changed boundaries between the compared years (no verdict)"
           if counts["boundary_change"] else "") + "."
        + (f" {via:,} {label} that exchanged territory between the compared years are judged together with the "
           "units they exchanged it with, as stable clusters (each member gets its cluster's verdict; the reason "
           "names the members)." if via else "")
        + not_assessed_sentence(identification, std)
        + "".join(f" Note: {plain_text(note)}." for note in identification.notes)
    )
    sources = [{"id": meta.id, "licence": meta.licence, "citation": meta.citation,
                "publisher_url": meta.publisher_url}] + list(meta.extra_sources)
    sources_table = pd.DataFrame(sources, columns=["id", "licence", "citation", "publisher_url"]).rename(
        columns={"id": "dataset", "publisher_url": "publisher"})
    text = _TEXT["en"]
    toc = [("findings", "Key findings"), ("standard", "Standard"), ("headline", "Headline"), ("map", "Map"), ("parents", "By parent"),
           ("regions", "By region"), ("list", "Shrinking units"), ("insufficient", "Insufficient data")]
    toc += [(s.id, s.title) for s in sections] + [("sources", "Sources")]
    try:
        version = metadata.version("shrinkwatch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "dev"

    parameter_text = _parameter_text(dict(identification.parameters), std)
    page = TEMPLATES.get_template("report.html.j2").render(
        title=f"Shrinking {label}: {meta.title or meta.id}",
        dataset_title=meta.title,
        standard=std,
        description=plain_text(std.describe(identification.parameters, "en")),
        description_zh=plain_text(std.describe(identification.parameters, "zh"), "zh") if std.summary_zh else "",
        unit_definition=meta.unit_definition or label,
        unit_label=label,
        counts=counts,
        share_shrinking=share,
        headline=headline,
        findings=key_findings(identification, analysis, parent_labels(panel)),
        profile_html=_severity_pattern_html(table),
        by_kind_html=frame_html(kind_table, formats=_COUNT_FORMATS),
        by_parent_html=frame_html(by_parent, formats=_COUNT_FORMATS),
        by_region_html=frame_html(by_region, formats=_COUNT_FORMATS),
        parent_label=by_parent.index.name,
        map_svg=Markup(map_layer.svg) if map_layer else Markup("<p>This dataset has no geometry.</p>"),
        map_missing=_missing_geometry(map_layer.units_without_geometry, table, panel) if map_layer else "",
        indicator_label=column_label(indicator),
        period=period,
        map_caption=map_caption,
        histogram=Markup(charts["histogram"].svg()) if "histogram" in charts else "",
        trends=Markup(charts["trends"].svg()) if "trends" in charts else "",
        trend_note=(text["trend_note"].format(n=min(TRENDS_SHOWN, counts["shrinking"])) if "trends" in charts
                    else text["no_trends"].format(years=len(meta.census_years) or 2) if counts["shrinking"] else ""),
        runs_note=text["runs_note"].format(period=period) if facts.annual else "",
        shrinking_html=frame_html(listing, index=False, formats={
            "population_start": number_formatter("{:,.0f}"), "population_end": number_formatter("{:,.0f}"),
            "longest_run": "{:,.0f}", "latest_run": "{:,.0f}", "annual_rate": "{:+.2f}"}),
        insufficient_html=frame_html(missing_listing, index=False),
        sections=sections,
        sources_html=frame_html(sources_table, index=False),
        notes=[plain_text(n) for n in meta.notes],
        ledger=_ledger_counts(panel.ledger),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=version,
        parameters=parameter_text,
        toc=toc,
        table_text=table_text(),
    )
    all_charts = tuple(charts.values()) + tuple(c for section in sections for c in section.charts)
    note = text["figure_note"].format(
        source=meta.citation or meta.title or meta.id, standard=std.name, id=std.id, version=std.version,
        parameters=parameter_text, software=version, date=_dt.date.today().isoformat())
    return Page(html=page, charts=all_charts, figure_note=note)

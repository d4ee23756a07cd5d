"""``report.html``: one self-contained page (inline CSS and SVG, no external assets).

The page is the template ``templates/report.html.j2``: the standard, the
headline, the map, the counts by kind, parent and region, the shrinking and
the undecided units, then the analysis sections and the sources.
"""

from __future__ import annotations

import datetime as _dt
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.datasets.china import KIND_LABELS
from shrinkwatch.identification import load_standard
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.text import indicator_name
from shrinkwatch.report.findings import key_findings
from shrinkwatch.report.html import TEMPLATES, frame_html
from shrinkwatch.report.labels import (
    display_names,
    not_assessed_sentence,
    parent_display,
    parent_labels,
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

__all__ = ["render_html"]

_COUNT_FORMATS = {"units": "{:,}", "with_data": "{:,}", "shrinking": "{:,}", "not_shrinking": "{:,}",
                  "insufficient_data": "{:,}", "boundary_change": "{:,}", "share_shrinking": "{:.1%}"}


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


def _short_list(ids: list[str], limit: int = 12) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return f"{len(ids)} units, e.g. " + ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def render_html(identification: Identification, panel: Panel, analysis: Analysis | None = None) -> str:
    """The report as one self-contained HTML string (inline CSS and SVG, no external assets).

    With ``analysis``, the page also has its sections (:func:`shrinkwatch.report.sections.analysis_sections`)
    and key findings.
    """
    sections = analysis_sections(analysis, panel) if analysis is not None else []
    meta = identification.panel_meta
    table = identification.table
    std = load_standard(identification.standard_source or identification.standard_id)
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

    # shrinking list with both populations
    shrinking = table[table["status"] == "shrinking"].sort_values("annual_rate")
    pop_columns = [c for c in table.columns if c.startswith(f"{indicator}_") and c[len(indicator) + 1:].isdigit()]
    listing = pd.DataFrame({"unit_id": shrinking.index, "name": display_names(shrinking, panel).to_numpy(),
                            "parent": parent_display(shrinking, panel).to_numpy(),
                            "kind": shrinking["kind"].to_numpy()})
    for column in pop_columns:
        listing[column] = shrinking[column].to_numpy()
    listing["annual_rate_%"] = shrinking["annual_rate"].to_numpy()
    listing["severity"] = shrinking["severity"].to_numpy()
    insufficient = table[table["status"].isin(["insufficient_data", "boundary_change"])]
    missing_listing = pd.DataFrame({"unit_id": insufficient.index, "name": display_names(insufficient, panel).to_numpy(),
                                    "parent": parent_display(insufficient, panel).to_numpy(),
                                    "status": insufficient["status"].str.replace("_", " ").to_numpy(),
                                    "reason": insufficient["reason"].to_numpy()})

    tips = (display_names(table, panel) + " (" + parent_display(table, panel) + "): "
            + table["status"].str.replace("_", " ") + ", "
            + table["annual_rate"].map(lambda v: "–" if pd.isna(v) else f"{v:+.2f} %/yr")).to_numpy()
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
        + "".join(f" Note: {note}." for note in identification.notes)
    )
    sources = [{"id": meta.id, "licence": meta.licence, "citation": meta.citation,
                "publisher_url": meta.publisher_url}] + list(meta.extra_sources)
    sources_table = pd.DataFrame(sources, columns=["id", "licence", "citation", "publisher_url"]).rename(
        columns={"id": "dataset", "publisher_url": "publisher"})
    toc = [("findings", "Key findings"), ("standard", "Standard"), ("headline", "Headline"), ("map", "Map"), ("parents", "By parent"),
           ("regions", "By region"), ("list", "Shrinking units"), ("insufficient", "Insufficient data")]
    toc += [(s.id, s.title) for s in sections] + [("sources", "Sources")]
    try:
        version = metadata.version("shrinkwatch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "dev"

    return TEMPLATES.get_template("report.html.j2").render(
        title=f"Shrinking {label}: {meta.title or meta.id}",
        dataset_title=meta.title,
        standard=std,
        description=std.describe(identification.parameters, "en"),
        description_zh=std.describe(identification.parameters, "zh") if std.summary_zh else "",
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
        map_missing=_short_list(map_layer.units_without_geometry) if map_layer else "",
        indicator_label=indicator.replace("_", " "),
        period=period,
        map_caption=map_caption,
        shrinking_html=frame_html(listing, index=False,
                                  formats={**{c: "{:,.0f}" for c in pop_columns}, "annual_rate_%": "{:+.2f}"}),
        insufficient_html=frame_html(missing_listing, index=False),
        sections=sections,
        sources_html=frame_html(sources_table, index=False),
        notes=list(meta.notes),
        ledger=_ledger_counts(panel.ledger),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=version,
        parameters=", ".join(f"{k}={v}" for k, v in identification.parameters.items()),
        toc=toc,
    )

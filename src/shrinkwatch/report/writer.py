"""Reports: a self-contained HTML page, an Excel workbook and a JSON summary.

Everything the report shows comes from an :class:`~shrinkwatch.core.Identification`,
its :class:`~shrinkwatch.core.Panel` and, optionally, analysis sections
(objects with ``id``, ``title``, ``html`` and ``summary``).
"""

from __future__ import annotations

import datetime as _dt
import json
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Iterable, Protocol

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.datasets.china import KIND_LABELS
from shrinkwatch.report.html import frame_html
from shrinkwatch.core import Identification, Ledger, Panel, PanelMeta
from shrinkwatch.report.maps import NO_DATA_COLOR, RATE_BINS, choropleth_svg, rate_colors
from shrinkwatch.identify import load_standard

__all__ = ["SectionLike", "summary", "render_html", "write_report", "write_xlsx", "frame_html", "unit_label",
           "key_findings"]


class SectionLike(Protocol):
    id: str
    title: str
    html: str
    summary: dict[str, Any]


def unit_label(panel_meta: PanelMeta) -> str:
    """A short plural noun for the units ("prefecture-level units", "counties", ...)."""
    return str(panel_meta.unit_label or {
        "cn-prefecture-census": "prefecture-level units",
        "cn-county-census": "county-level units",
        "us-county-est": "counties",
        "world-wup2018": "urban agglomerations",
    }.get(panel_meta.id, "units"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.DataFrame):
        return _jsonable(value.reset_index().to_dict(orient="records"))
    if value is pd.NA or value is None:
        return None
    return value


def _counts_dict(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(k): {"units": int(r.units), "with_data": int(r.with_data), "shrinking": int(r.shrinking),
                 "not_shrinking": int(r.not_shrinking), "insufficient_data": int(r.insufficient_data),
                 "boundary_change": int(r.boundary_change),
                 "share_shrinking": None if pd.isna(r.share_shrinking) else float(r.share_shrinking)}
        for k, r in table.iterrows()
    }


def summary(identification: Identification, sections: Iterable[SectionLike] = (),
            ledger: Ledger | None = None) -> dict[str, Any]:
    """The headline numbers as a JSON-ready dict (``summary.json``); ``ledger`` is the panel's
    (:attr:`Panel.ledger <shrinkwatch.core.Panel.ledger>`), whose row counts it reports."""
    meta = identification.panel_meta
    counts = identification.counts()
    out: dict[str, Any] = {
        "dataset": meta.id,
        "dataset_title": meta.title,
        "unit_label": unit_label(meta),
        "unit_definition": meta.unit_definition,
        "standard": {"id": identification.standard_id, "parameters": _jsonable(identification.parameters),
                     "description": identification.description},
        "counts": counts,
        "share_shrinking": (counts["shrinking"] / counts["units_with_data"]) if counts["units_with_data"] else None,
        "by_kind": _counts_dict(identification.counts_by("kind")),
        "by_parent": _counts_dict(identification.counts_by("parent_name")),
        "by_region": _counts_dict(identification.counts_by("region")),
        "insufficient_data_units": identification.insufficient.index.astype(str).tolist(),
        "boundary_change_units": identification.boundary_changes.index.astype(str).tolist(),
        "ledger": _ledger_counts(ledger),
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    for section in sections:
        out[section.id] = _jsonable(section.summary)
    return out


def _ledger_counts(ledger: Ledger | None) -> dict[str, int]:
    """``rows_read``, ``accepted``, ``rejected`` of the panel's ledger (zeros without one)."""
    return (ledger if ledger is not None else Ledger()).counts()


_COUNT_FORMATS = {"units": "{:,}", "with_data": "{:,}", "shrinking": "{:,}", "not_shrinking": "{:,}",
                  "insufficient_data": "{:,}", "boundary_change": "{:,}", "share_shrinking": "{:.1%}"}


def _display_names(table: pd.DataFrame, panel: Panel) -> pd.Series:
    name = table["name"].astype("string").fillna("")
    if "name_en" in panel.units.columns:
        english = panel.units["name_en"].reindex(table.index).astype("string")
        name = name.where(english.isna() | (english == name), name + " " + english.fillna(""))
    return name


def _parent_display(table: pd.DataFrame, panel: Panel) -> pd.Series:
    parent = table["parent_name"].astype("string").fillna("(none)")
    if "parent_name_en" in panel.units.columns:
        english = panel.units["parent_name_en"].reindex(table.index).astype("string").fillna("")
        parent = parent.where(english == "", parent + " " + english)
    return parent


def _basemap(meta: PanelMeta) -> Any:
    """Outlines named by the dataset (``meta.basemap``: path and layer), or None."""
    spec = meta.basemap
    if spec is None or not Path(spec.path).is_file():
        return None
    import pyogrio  # heavy, and needed only by datasets with a basemap

    frame = pyogrio.read_dataframe(spec.path, layer=spec.layer)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    frame.index = frame["id"].astype(str) if "id" in frame.columns else frame.index.astype(str)
    geometry = frame.geometry.explode(index_parts=False)
    return geometry[geometry.bounds["maxy"] > -55]  # Antarctica holds no city and only stretches the frame


def key_findings(identification: Identification, sections: Iterable[SectionLike] = (),
                 parent_labels: dict[str, str] | None = None) -> list[str]:
    """A few plain sentences, each built from a number computed elsewhere in the report.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"status": ["shrinking", "not_shrinking", "insufficient_data"],
    ...                       "region": ["North", "North", "South"], "parent_name": ["A", "A", "B"]},
    ...                      index=pd.Index(["a", "b", "c"], name="unit_id"))
    >>> key_findings(Identification(table, "census-decline", {}, {"unit_label": "towns"}))[0]
    '1 of 2 towns with data are shrinking (50.0%); 1 cannot be judged (insufficient data or a boundary change).'
    """
    counts = identification.counts()
    label = unit_label(identification.panel_meta)
    with_data = counts["units_with_data"]
    no_verdict = counts["insufficient_data"] + counts["boundary_change"]
    findings = [f"{counts['shrinking']:,} of {with_data:,} {label} with data are shrinking"
                + (f" ({counts['shrinking'] / with_data:.1%})" if with_data else "")
                + (f"; {no_verdict:,} cannot be judged (insufficient data or a boundary change)." if no_verdict else ".")]
    if with_data == 0:
        findings[0] = (f"No unit can be judged under {identification.standard_id} with this dataset: the reasons "
                       "in the insufficient-data list say what is missing (an annual standard on census years, "
                       "for example).")
    regions = identification.counts_by("region")
    regions = regions[regions["with_data"] >= 3]
    if len(regions) > 1 and counts["shrinking"]:
        top = regions.sort_values(["share_shrinking", "with_data"], ascending=False).iloc[0]
        findings.append(f"Highest share by region: {top.name} "
                        f"({int(top['shrinking'])} of {int(top['with_data'])}, {top['share_shrinking']:.0%}).")
    parents = identification.counts_by("parent_name")
    parents = parents[parents["with_data"] >= 3]
    complete = parents[(parents["shrinking"] == parents["with_data"]) & (parents["with_data"] > 0)]
    if len(complete):
        labels = parent_labels or {}
        names = ", ".join(f"{labels.get(str(p), p)} ({int(r['shrinking'])})" for p, r in complete.head(5).iterrows())
        findings.append(f"Every unit with data is shrinking in: {names}.")
    by_id = {section.id: section.summary for section in sections}
    sens = by_id.get("sensitivity")
    if sens and sens.get("combinations", 0) > 1 and with_data:
        robust = sens.get("robustness", {})
        findings.append(f"Across {sens['combinations']} settings of the standard the count runs from "
                        f"{sens['count_min']:,} to {sens['count_max']:,}; {robust.get('robust', 0):,} units are "
                        f"shrinking under every setting, {robust.get('borderline', 0):,} only under some.")
    spatial = by_id.get("spatial-clusters")
    if spatial and spatial.get("available"):
        moran, lisa = spatial["moran"], spatial["lisa"]
        statistic = (f"Moran's I = {moran['I']:.2f} (pseudo p = {moran['p_sim']:.3f}, "
                     f"{moran['permutations']} permutations)")
        if moran["p_sim"] <= 0.05 and moran["I"] > 0:
            findings.append(f"Change is spatially clustered: {statistic}; {lisa['counts'].get('LL', 0)} units sit in "
                            "significant low-low clusters of decline.")
        else:
            findings.append(f"No spatial clustering distinguishable from chance at the 5% level: {statistic}.")
    paradox = by_id.get("expansion-paradox")
    if paradox:
        if paradox.get("available"):
            findings.append(f"Expansion paradox: {paradox['numerator_builtup_grew']} of "
                            f"{paradox['denominator_shrinking_with_builtup']} shrinking units with built-up data "
                            f"still expanded their built-up area ({paradox['paradox_share']:.0%}).")
        elif not paradox.get("builtup_present"):
            findings.append("The expansion paradox cannot be measured: this dataset has no built-up area data.")
    drivers = by_id.get("drivers")
    if drivers and drivers.get("available") and drivers.get("importance_lightgbm"):
        top_predictor = max(drivers["importance_lightgbm"], key=drivers["importance_lightgbm"].get)
        models = drivers.get("models", {})
        fit = models.get("lightgbm", {}).get("cv_r2")
        base = models.get("baseline_training_mean", {}).get("cv_r2")
        findings.append(f"The annual rate is most strongly associated with {top_predictor.replace('_', ' ')}"
                        + (f" (gradient boosting, out-of-sample R² {fit:.2f} against {base:.2f} for the baseline)"
                           if fit is not None and base is not None else "")
                        + "; these are associations, not causes.")
    return findings


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


def _parent_labels(panel: Panel) -> dict[str, str]:
    """Parent name -> name with its English form (黑龙江省 -> 黑龙江省 Heilongjiang) where the panel has one."""
    units = panel.units
    if "parent_name_en" not in units.columns:
        return {}
    pairs = units[["parent_name", "parent_name_en"]].dropna().astype(str).drop_duplicates("parent_name")
    return {a: (a if a == b or not b else f"{a} {b}") for a, b in pairs.itertuples(index=False)}


def _short_list(ids: list[str], limit: int = 12) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return f"{len(ids)} units, e.g. " + ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def render_html(identification: Identification, panel: Panel, sections: Iterable[SectionLike] = ()) -> str:
    """The report as one self-contained HTML string (inline CSS and SVG, no external assets)."""
    sections = list(sections)
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
    decorated["parent_display"] = _parent_display(table, panel)
    parent_ident = Identification(decorated, identification.standard_id, identification.parameters, meta)
    by_parent = parent_ident.counts_by("parent_display")
    by_parent.index.name = str(meta.parent_label or ("province" if meta.country == "China" else "parent"))
    by_region = identification.counts_by("region")

    indicator = str(identification.parameters.get("indicator", "pop_resident"))
    start = table["start_year"].iloc[0] if "start_year" in table.columns and len(table) else None
    end = table["end_year"].iloc[0] if "end_year" in table.columns and len(table) else None
    period = f"{start}–{end}" if start is not None else ""

    # shrinking list with both populations
    shrinking = table[table["status"] == "shrinking"].sort_values("annual_rate")
    pop_columns = [c for c in table.columns if c.startswith(f"{indicator}_") and c[len(indicator) + 1:].isdigit()]
    listing = pd.DataFrame({"unit_id": shrinking.index, "name": _display_names(shrinking, panel).to_numpy(),
                            "parent": _parent_display(shrinking, panel).to_numpy(),
                            "kind": shrinking["kind"].to_numpy()})
    for column in pop_columns:
        listing[column] = shrinking[column].to_numpy()
    listing["annual_rate_%"] = shrinking["annual_rate"].to_numpy()
    listing["severity"] = shrinking["severity"].to_numpy()
    insufficient = table[table["status"].isin(["insufficient_data", "boundary_change"])]
    missing_listing = pd.DataFrame({"unit_id": insufficient.index, "name": _display_names(insufficient, panel).to_numpy(),
                                    "parent": _parent_display(insufficient, panel).to_numpy(),
                                    "status": insufficient["status"].str.replace("_", " ").to_numpy(),
                                    "reason": insufficient["reason"].to_numpy()})

    tips = (_display_names(table, panel) + " (" + _parent_display(table, panel) + "): "
            + table["status"].str.replace("_", " ") + ", "
            + table["annual_rate"].map(lambda v: "–" if pd.isna(v) else f"{v:+.2f} %/yr")).to_numpy()
    map_layer = None
    if "geometry" in panel.units.columns:
        map_layer = choropleth_svg(
            panel.units, rate_colors(table["annual_rate"].to_numpy(), table["status"].to_numpy()), tips,
            country=meta.country, legend=[(c, l) for _, _, c, l in RATE_BINS] + [(NO_DATA_COLOR, "no verdict (insufficient data or boundary change)")],
            title=f"Annual change {period}", basemap=_basemap(meta),
        )

    headline = (
        f"Under {std.name.lower()} ({identification.standard_id}), {counts['shrinking']:,} of "
        f"{counts['units_with_data']:,} {label} with data are shrinking"
        + (f" ({share:.1%})" if share is not None else "")
        + f"; {counts['insufficient_data']:,} lack the data to tell"
        + (f" and {counts['boundary_change']} changed boundaries between the compared years (no verdict)"
           if counts["boundary_change"] else "") + "."
    )
    sources = [{"id": meta.id, "licence": meta.licence, "citation": meta.citation,
                "publisher_url": meta.publisher_url}] + list(meta.extra_sources)
    toc = [("findings", "Key findings"), ("standard", "Standard"), ("headline", "Headline"), ("map", "Map"), ("parents", "By parent"),
           ("regions", "By region"), ("list", "Shrinking units"), ("insufficient", "Insufficient data")]
    toc += [(s.id, s.title) for s in sections] + [("sources", "Sources")]
    try:
        version = metadata.version("shrinkwatch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "dev"

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string((resources.files("shrinkwatch.report") / "templates" / "report.html.j2").read_text("utf-8"))
    return template.render(
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
        findings=key_findings(identification, sections, _parent_labels(panel)),
        profile_html=_severity_pattern_html(table),
        by_kind_html=frame_html(kind_table, formats=_COUNT_FORMATS),
        by_parent_html=frame_html(by_parent, formats=_COUNT_FORMATS),
        by_region_html=frame_html(by_region, formats=_COUNT_FORMATS),
        parent_label=by_parent.index.name,
        map_svg=Markup(map_layer.svg) if map_layer else Markup("<p>This dataset has no geometry.</p>"),
        map_missing=_short_list(map_layer.units_without_geometry) if map_layer else "",
        indicator_label=indicator.replace("_", " "),
        period=period,
        shrinking_html=frame_html(listing, index=False,
                                  formats={**{c: "{:,.0f}" for c in pop_columns}, "annual_rate_%": "{:+.2f}"}),
        insufficient_html=frame_html(missing_listing, index=False),
        sections=[{"id": s.id, "title": s.title, "html": Markup(s.html)} for s in sections],
        sources=sources,
        notes=list(meta.notes),
        ledger=_ledger_counts(panel.ledger),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=version,
        parameters=", ".join(f"{k}={v}" for k, v in identification.parameters.items()),
        toc=toc,
    )


def _sheet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry and turn nullable booleans and lists into cells Excel can hold."""
    out = frame.drop(columns=["geometry"], errors="ignore").copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.BooleanDtype):
            out[column] = out[column].astype(object)
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return out


def write_xlsx(identification: Identification, path: Path, sections: Iterable[SectionLike] = (),
               ledger: Ledger | None = None) -> Path:
    """An Excel workbook: results, counts by kind / parent / region, insufficient data, and the
    rejected rows of ``ledger`` (the panel's) with file, sheet, row, column, value and reason."""
    table = identification.table.drop(columns=["geometry"], errors="ignore").reset_index()
    for column in table.columns:
        if isinstance(table[column].dtype, pd.BooleanDtype):
            table[column] = table[column].astype(object)
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        table.to_excel(writer, sheet_name="results", index=False)
        identification.counts_by("kind").to_excel(writer, sheet_name="by_kind")
        identification.counts_by("parent_name").to_excel(writer, sheet_name="by_parent")
        identification.counts_by("region").to_excel(writer, sheet_name="by_region")
        identification.insufficient[["name", "parent_name", "reason"]].to_excel(writer, sheet_name="insufficient_data")
        if len(identification.boundary_changes):
            identification.boundary_changes[["name", "parent_name", "reason"]].to_excel(writer, sheet_name="boundary_change")
        params = pd.DataFrame({"parameter": list(identification.parameters),
                               "value": [str(v) for v in identification.parameters.values()]})
        params.to_excel(writer, sheet_name="standard", index=False)
        for section in sections:  # per-unit tables of the analysis sections
            for name, frame in (getattr(section, "tables", None) or {}).items():
                if isinstance(frame, pd.DataFrame) and len(frame):
                    _sheet_ready(frame).to_excel(writer, sheet_name=name[:31],
                                                 index=not isinstance(frame.index, pd.RangeIndex))
        (ledger if ledger is not None else Ledger()).rejected.to_excel(writer, sheet_name="rejected_rows", index=False)
    return path


def write_report(identification: Identification, panel: Panel, out_dir: Path,
                 sections: Iterable[SectionLike] = ()) -> dict[str, Path]:
    """Write ``report.html``, ``results.csv``, ``results.xlsx`` and ``summary.json`` into ``out_dir``."""
    sections = list(sections)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("report.html", "results.csv", "results.xlsx", "summary.json")}
    paths["report.html"].write_text(render_html(identification, panel, sections), encoding="utf-8")
    identification.table.drop(columns=["geometry"], errors="ignore").to_csv(paths["results.csv"], encoding="utf-8")
    write_xlsx(identification, paths["results.xlsx"], sections, ledger=panel.ledger)
    paths["summary.json"].write_text(json.dumps(summary(identification, sections, ledger=panel.ledger),
                                                ensure_ascii=False, indent=2), encoding="utf-8")
    return paths

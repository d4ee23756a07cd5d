"""Exact zonal statistics of a raster stack over polygons, as a :class:`~shrinkwatch.core.Panel`.

exactextract gives, once per stack, every pixel each polygon touches and the fraction of the
pixel it covers (``cell_id``, ``coverage``); every year's statistics are then weighted
``bincount``\\ s over those cells, one Dask task per year (so the same code runs on threads, a
LocalCluster or a remote cluster: :mod:`shrinkwatch.grid.compute`):

- ``sum``: the coverage-weighted sum of the valid pixels (counts: people, built km2);
- ``mean``: the area-weighted mean of the valid pixels (``coverage x pixel area``; pixel areas
  shrink with latitude on a geographic grid);
- ``count``: the coverage-weighted number of valid pixels;
- ``covered_share``: the part of the polygon's area that valid pixels cover. A unit-year whose
  polygon is covered less than ``min_coverage`` (nodata, or beyond the raster's edge) gets no
  value (insufficient data, never a smaller total); the ledger counts them.

Zones are reprojected to the stack's CRS (vector reprojection loses nothing; raster resampling
would). The panel's value column is the chosen indicator (``pop_resident`` by default), its unit
from the alias table; the units table keeps the zones' outlines for maps.

With a trend (at least three years), each unit also gets the share of its assessed pixels in
significant decline (Mann-Kendall, :mod:`shrinkwatch.grid.trend`) and a core-versus-periphery
split: pixels within ``core_radius`` times the unit's equivalent radius (``sqrt(area / pi)``) of
its population-weighted centre form the core, the rest the periphery; the trend of each ring's
total gives the pattern (:data:`PATTERNS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shrinkwatch.core import Panel, PanelMeta
from shrinkwatch.core.errors import DataError, NothingUsableError, OptionError
from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.messages import LANGUAGES, message
from shrinkwatch.core.messages import table as catalogue_table
from shrinkwatch.datasets import REGISTRY, load
from shrinkwatch.grid.compute import Engine, engine
from shrinkwatch.grid.stack import Stack
from shrinkwatch.grid.trend import BLOCK_FIELDS, DEFAULT_MIN_VALID, PixelTrends, pixel_trends, trend_block
from shrinkwatch.ingest.headers import aliases

__all__ = ["PATTERNS", "Zones", "ZonalResult", "Cells", "read_zones", "zone_cells", "stack_trends", "zonal_panel",
           "pattern_label"]

#: the core-versus-periphery patterns, with their labels in each language (the catalogues' [grid.pattern])
PATTERNS: dict[str, dict[str, str]] = {lang: catalogue_table("grid.pattern", lang) for lang in LANGUAGES}

_MESSAGES = {
    "zones_missing": "zones: {source} is neither a file nor a registered dataset id",
    "zones_read": "zones: cannot read {source} ({error})",
    "zones_no_geometry": "zones: {source} has no geometry; a registered dataset used as zones needs unit outlines",
    "zones_no_crs": "zones: {source} has no coordinate reference system",
    "id_field": "zones: --id-field {field!r} is not a column of {source}; columns: {columns}",
    "name_field": "zones: --name-field {field!r} is not a column of {source}; columns: {columns}",
    "no_zones": "zones: no usable polygon in {source} ({rejected} rejected; see the ledger)",
    "indicator": "--indicator {value!r} is not a canonical indicator; known: {known}",
    "stat": "--stat must be sum or mean, got {value!r}",
    "stat_category": "a stack of categories ({source}) has no sum or mean; use `grid builtup` for GHSL epochs",
    "coverage": "--min-coverage must be between 0 and 1, got {value!r}",
    "core": "--core-radius must be between 0 and 1 (a share of the equivalent radius), got {value!r}",
    "perforation": "--perforation must be between 0 and 1, got {value!r}",
    "unit_definition": "zones of {zones}; {stat} of {stack} per zone (exactextract coverage fractions)",
    "title": "{stack}: {stat} per zone of {zones}",
}


def _stored(key: str, **fields: Any) -> str:
    """A progress line, note, ledger reason, action, tally or warning as the grid stage stores it: the catalogue's
    English ([grid.*]), the language-neutral form each display says in its language (``core.messages.translate``)."""
    return message(f"grid.{key}", "en", **fields)


# ---------------------------------------------------------------- zones

@dataclass(frozen=True, eq=False)
class Zones:
    """Polygons to summarise by: ``frame`` indexed by ``unit_id`` (``name``, ``geometry`` and any unit
    columns of a registered dataset), the source, the ledger of its rows and, for a registered
    dataset, its panel meta (language, country, basemap carried into the zonal panel)."""

    frame: gpd.GeoDataFrame
    source: str
    ledger: Ledger
    #: the registered dataset (or Panel) the zones came from, or None for a vector file
    panel: Panel | None = None

    @property
    def meta(self) -> PanelMeta | None:
        return None if self.panel is None else self.panel.meta


def read_zones(source: str | Path | gpd.GeoDataFrame | Panel, id_field: str | None = None,
               name_field: str | None = None, data_dir: str | Path | None = None) -> Zones:
    """Zones from a vector file (anything pyogrio reads), a GeoDataFrame, a Panel with geometry, or
    a registered dataset id (its units' outlines: ``cn-prefecture-census``).

    Every row is accepted or rejected with a reason (no id, duplicate id, no or empty geometry,
    not a polygon); invalid polygons are repaired with ``make_valid`` and the repair is recorded.
    """
    panel: Panel | None = None
    if isinstance(source, Panel):
        frame, label, panel = source.units, source.id, source
        id_field = id_field or "unit_id"
    elif isinstance(source, gpd.GeoDataFrame):
        frame, label = source, "GeoDataFrame"
    elif Path(str(source)).exists():
        label = str(source)
        try:
            frame = gpd.read_file(str(source))
        except Exception as error:  # pyogrio raises its own DataSourceError and others
            raise DataError(_MESSAGES["zones_read"].format(source=source, error=error)) from None
    else:
        if str(source) not in REGISTRY:
            raise DataError(_MESSAGES["zones_missing"].format(source=source))
        panel = load(str(source), data_dir)
        frame, label = panel.units, str(source)
        id_field = id_field or "unit_id"
    if "geometry" not in frame.columns or not isinstance(frame, gpd.GeoDataFrame):
        raise DataError(_MESSAGES["zones_no_geometry"].format(source=label))
    if frame.crs is None:
        raise DataError(_MESSAGES["zones_no_crs"].format(source=label))
    frame = frame.reset_index() if frame.index.name == "unit_id" else frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns if c != "geometry"]
    if id_field is not None and id_field not in frame.columns:
        raise DataError(_MESSAGES["id_field"].format(field=id_field, source=label, columns=", ".join(columns)))
    if name_field is not None and name_field not in frame.columns:
        raise DataError(_MESSAGES["name_field"].format(field=name_field, source=label, columns=", ".join(columns)))
    ids = (_id_text(frame[id_field]) if id_field is not None
           else pd.Series([str(i + 1) for i in range(len(frame))], dtype="string"))
    rows = np.arange(len(frame)) + 1
    geometry = frame.geometry.array
    kinds = shapely.get_type_id(geometry)
    rejected: list[dict[str, Any]] = []
    ok = np.ones(len(frame), dtype=bool)

    def reject(mask: np.ndarray, column: str, values: pd.Series, reason: str) -> None:
        hit = mask & ok
        rejected.extend({"file": label, "sheet": "", "row": int(r), "column": column, "value": str(v), "reason": reason}
                        for r, v in zip(rows[hit], values[hit]))
        ok[hit] = False

    id_column = id_field or "(row number)"
    reject(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy(), id_column, ids, _stored("reason.missing_id"))
    reject(ids.duplicated().to_numpy(), id_column, ids, _stored("reason.duplicate_id"))
    missing_geometry = pd.isna(np.asarray(geometry, dtype=object)) | (kinds < 0)
    reject(missing_geometry, "geometry", ids, _stored("reason.no_geometry"))
    empty = np.zeros(len(frame), dtype=bool)
    empty[~missing_geometry] = shapely.is_empty(geometry[~missing_geometry])
    reject(empty, "geometry", ids, _stored("reason.empty_geometry"))
    polygonal = np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    names = pd.Series(shapely.get_type_id(geometry)).map(
        {0: "point", 1: "line", 2: "ring", 4: "points", 5: "lines", 7: "collection"}).fillna("?")
    reject(~polygonal, "geometry", names, _stored("reason.not_polygon"))
    kept = frame.loc[ok].copy()
    kept_geometry = kept.geometry.array
    invalid = ~shapely.is_valid(kept_geometry)
    actions = [{"file": label, "sheet": "", "row": int(r), "column": "geometry", "value": str(i),
                "action": _stored("action.repaired")} for r, i in zip(rows[ok][invalid], ids[ok][invalid])]
    if invalid.any():
        repaired = shapely.make_valid(kept_geometry[invalid])
        kept.loc[kept.index[invalid], "geometry"] = gpd.GeoSeries(repaired, index=kept.index[invalid], crs=kept.crs)
    kept.index = pd.Index(ids[ok].astype(str).to_numpy(), name="unit_id")
    if name_field is not None:
        kept["name"] = kept[name_field].astype("string")
    elif "name" not in kept.columns:
        kept["name"] = kept.index.to_series().astype("string")
    if id_field is not None and id_field != "unit_id" and id_field in kept.columns:
        kept = kept.drop(columns=[id_field])
    ledger = Ledger.from_rejections(len(frame), rejected, cell_actions=actions)
    if not len(kept):
        raise NothingUsableError(_MESSAGES["no_zones"].format(source=label, rejected=len(rejected)))
    return Zones(gpd.GeoDataFrame(kept, geometry="geometry", crs=frame.crs), label, ledger, panel)


def _id_text(column: pd.Series) -> pd.Series:
    """Unit ids as text; whole numbers stored as floats (GeoPackage's WDPAID 478140.0) without ``.0``."""
    if column.dtype.kind == "f":
        whole = column.notna() & (column == column.round())
        if whole[column.notna()].all():
            return column.astype("Int64").astype("string")
    return column.astype("string").str.strip()


# ---------------------------------------------------------------- cells

@dataclass(frozen=True, eq=False)
class Cells:
    """Every pixel of a grid each zone touches: ``unit`` (position in the zones), ``flat`` (row-major
    pixel index), ``coverage`` (the fraction of the pixel inside the polygon), ``area`` (km2 of the
    whole pixel), pixel centres ``x``, ``y``; ``zone_area`` (km2 of each polygon)."""

    unit: np.ndarray
    flat: np.ndarray
    coverage: np.ndarray
    area: np.ndarray
    x: np.ndarray
    y: np.ndarray
    zone_area: np.ndarray
    n_units: int

    def sums(self, values: np.ndarray, weights: np.ndarray | None = None, by: np.ndarray | None = None,
             minlength: int | None = None) -> np.ndarray:
        """Weighted sums of ``values`` (one per cell, NaN = invalid, skipped) per unit (or per ``by``)."""
        weight = self.coverage if weights is None else weights
        keys = self.unit if by is None else by
        valid = np.isfinite(values)
        return np.bincount(keys[valid], (weight * values)[valid], minlength=minlength or self.n_units)


def zone_cells(stack: Stack, zones: Zones) -> Cells:
    """The exact coverage of every zone on the stack's grid (exactextract ``cell_id`` and ``coverage``)."""
    from exactextract import exact_extract  # deferred: the C++ extension loads for zonal statistics only
    from exactextract.raster import NumPyRasterSource  # deferred: as above

    frame = zones.frame.to_crs(stack.data.rio.crs.to_wkt())
    t, (ny, nx) = stack.transform, stack.shape
    grid = NumPyRasterSource(np.zeros((ny, nx), dtype=np.uint8), t.c, t.f + t.e * ny, t.c + t.a * nx, t.f,
                             srs_wkt=stack.data.rio.crs.to_wkt())
    vector = gpd.GeoDataFrame({"code": np.arange(len(frame))}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    table = exact_extract(grid, vector, ["cell_id", "coverage"], include_cols=["code"], output="pandas")
    lengths = table["cell_id"].map(len).to_numpy()
    unit = np.repeat(table["code"].to_numpy(dtype=np.int64), lengths)
    flat = np.concatenate([*table["cell_id"].to_numpy(), np.empty(0, dtype=np.int64)]).astype(np.int64)
    coverage = np.concatenate([*table["coverage"].to_numpy(), np.empty(0)]).astype(np.float64)
    rows, cols = np.divmod(flat, nx)
    area = stack.pixel_area_km2()[rows, cols].astype(np.float64)
    x = t.c + t.a * (cols + 0.5)
    y = t.f + t.e * (rows + 0.5)
    zone_area = zones.frame.geometry.to_crs("ESRI:54009").area.to_numpy() / 1e6  # equal-area: exact km2
    return Cells(unit, flat, coverage, area, x, y, zone_area, len(frame))


def _layer_stats(layer: np.ndarray, cells: Cells, rings: np.ndarray | None) -> np.ndarray:
    """One year's ``(n_units, 4 [+ 2])`` table: sum, area-weighted mean numerator, valid area, count
    [, core sum, periphery sum]."""
    values = np.asarray(layer, dtype=np.float64).ravel()[cells.flat]
    weighted_area = cells.coverage * cells.area
    columns = [cells.sums(values), cells.sums(values, weighted_area),
               cells.sums(np.where(np.isfinite(values), 1.0, np.nan), weighted_area),
               cells.sums(np.where(np.isfinite(values), 1.0, np.nan))]
    if rings is not None:
        by_ring = cells.sums(values, by=cells.unit * 2 + rings, minlength=2 * cells.n_units).reshape(-1, 2)
        columns += [by_ring[:, 0], by_ring[:, 1]]
    return np.column_stack(columns)


# ---------------------------------------------------------------- trends

def stack_trends(stack: Stack, running: Engine | None = None, *, min_valid: int | None = None,
                 block: int = 512) -> PixelTrends:
    """Per-pixel Mann-Kendall / Theil-Sen of a stack, computed in spatial blocks on ``running``
    (default: threads); ``min_valid`` defaults to the kernel's 8, or every year of a shorter stack."""
    years = np.asarray(stack.years, dtype=np.float64)
    valid = min(DEFAULT_MIN_VALID, len(years)) if min_valid is None else min_valid
    data = stack.data.data.rechunk({0: -1, 1: block, 2: block})
    out = data.map_blocks(trend_block, years=years, min_valid=valid, dtype="float64",
                          chunks=((len(BLOCK_FIELDS),), *data.chunks[1:]))
    if running is None:
        with engine("threads") as threads:
            (result,) = threads.compute(out)
    else:
        (result,) = running.compute(out)
    return PixelTrends.from_block(result, years, valid)


def pattern_label(core_declines: np.ndarray, periphery_declines: np.ndarray, decline_share: np.ndarray,
                  assessed: np.ndarray, perforation: float = 0.25) -> np.ndarray:
    """The pattern key of every unit from its rings' declines and its share of declining pixels.

    >>> pattern_label(np.array([True, True, False, False, False, False]),
    ...               np.array([True, False, True, False, False, False]),
    ...               np.array([0.9, 0.4, 0.3, 0.3, 0.1, np.nan]),
    ...               np.array([True, True, True, True, True, False])).tolist()
    ['whole_unit_decline', 'hollowing_core', 'emptying_periphery', 'perforated', 'no_decline', 'insufficient_data']
    """
    choices = [~assessed, core_declines & periphery_declines, core_declines, periphery_declines,
               np.nan_to_num(decline_share, nan=0.0) >= perforation]
    keys = ["insufficient_data", "whole_unit_decline", "hollowing_core", "emptying_periphery", "perforated"]
    return np.select(choices, keys, default="no_decline").astype(object)


# ---------------------------------------------------------------- the panel

@dataclass(frozen=True, eq=False)
class ZonalResult:
    """A zonal panel and its statistics: ``panel`` (``unit x year``, the indicator), ``stats`` (long:
    ``unit_id``, ``year``, ``sum``, ``mean``, ``count``, ``covered_share``), ``trends`` (the per-pixel
    trends, or None) and the engine it ran on."""

    panel: Panel
    stats: pd.DataFrame
    trends: PixelTrends | None
    engine: str


def _check_share(value: float, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise OptionError(_MESSAGES[key].format(value=value))
    return float(value)


def _canonical_unit(indicator: str) -> str:
    table = aliases()
    if indicator not in table.dimension:
        raise OptionError(_MESSAGES["indicator"].format(value=indicator, known=", ".join(sorted(table.dimension))))
    return table.canonical_unit[table.dimension[indicator]]


def zonal_panel(stack: Stack, zones: Zones, *, indicator: str = "pop_resident", stat: str | None = None,
                min_coverage: float = 0.95, trend: bool = True, alpha: float = 0.05, core_radius: float = 0.5,
                perforation: float = 0.25, scheduler: str | None = None, running: Engine | None = None,
                progress: Callable[[str], None] | None = None) -> ZonalResult:
    """Zonal statistics of ``stack`` over ``zones`` as a :class:`ZonalResult` (see the module docstring).

    ``stat`` is ``sum`` (default for counts) or ``mean`` (default for densities); ``trend`` adds the
    per-pixel trends, the share of pixels in significant decline and the core/periphery pattern
    (stacks of three years or more). ``scheduler`` is ``compute.scheduler``; ``running`` an engine
    already started (tests share one cluster).
    """
    if stack.kind == "category":
        raise OptionError(_MESSAGES["stat_category"].format(source=stack.sources[0]))
    stat = stat or ("sum" if stack.kind == "count" else "mean")
    if stat not in ("sum", "mean"):
        raise OptionError(_MESSAGES["stat"].format(value=stat))
    unit_label = _canonical_unit(indicator)
    min_coverage = _check_share(min_coverage, "coverage")
    core_radius = _check_share(core_radius, "core")
    perforation = _check_share(perforation, "perforation")
    say = progress or (lambda message: None)
    if running is None:
        with engine(scheduler) as started:
            return zonal_panel(stack, zones, indicator=indicator, stat=stat, min_coverage=min_coverage, trend=trend,
                               alpha=alpha, core_radius=core_radius, perforation=perforation, running=started,
                               progress=progress)
    frame = zones.frame
    bounds = frame.to_crs(stack.data.rio.crs.to_wkt()).total_bounds
    clipped = stack.clip(bounds)
    cells = zone_cells(clipped, zones)
    say(_stored("progress.cells", zones=len(frame), grid=clipped.grid_text(), cells=len(cells.flat)))
    years = clipped.years
    with_trend = trend and len(years) >= 3
    trends: PixelTrends | None = None
    rings: np.ndarray | None = None
    centre = np.full((cells.n_units, 2), np.nan)
    if with_trend:
        say(_stored("progress.trend", pixels=clipped.shape[0] * clipped.shape[1], layers=len(years)))
        trends = stack_trends(clipped, running)
        (mean_layer,) = running.compute(clipped.data.mean(dim="year", skipna=True).data)
        weights = np.nan_to_num(np.asarray(mean_layer, dtype=np.float64).ravel()[cells.flat]) * cells.coverage
        total = np.bincount(cells.unit, weights, minlength=cells.n_units)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre[:, 0] = np.bincount(cells.unit, weights * cells.x, minlength=cells.n_units) / total
            centre[:, 1] = np.bincount(cells.unit, weights * cells.y, minlength=cells.n_units) / total
        distance = _distance_km(cells.x, cells.y, centre[cells.unit, 0], centre[cells.unit, 1], clipped)
        radius = np.sqrt(cells.zone_area / np.pi) * core_radius
        rings = (~(distance <= radius[cells.unit])).astype(np.int64)  # 0 core, 1 periphery (NaN centre: periphery)
    say(_stored("progress.years", years=len(years), engine=running.description))
    tasks = [dask.delayed(_layer_stats)(clipped.data.data[i], cells, rings) for i in range(len(years))]
    results = np.stack(running.compute(*tasks))  # (years, units, columns)
    stat_sum, mean_num, valid_area, count = (results[:, :, k] for k in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = mean_num / valid_area
        covered = np.clip(valid_area / cells.zone_area[None, :], 0, 1)
    touched = np.bincount(cells.unit, minlength=cells.n_units) > 0
    low = (covered < min_coverage) | ~touched[None, :]
    chosen = np.where(low, np.nan, stat_sum if stat == "sum" else mean)
    ids = frame.index.astype(str)
    index = pd.MultiIndex.from_product([ids, years], names=["unit_id", "year"])
    values = pd.DataFrame({indicator: chosen.T.ravel()}, index=index)
    stats = pd.DataFrame({"unit_id": np.repeat(ids, len(years)), "year": np.tile(years, len(ids)),
                          "sum": np.where(count > 0, stat_sum, np.nan).T.ravel(),
                          "mean": mean.T.ravel(), "count": count.T.ravel(), "covered_share": covered.T.ravel()})
    units = frame.copy()
    units["area_km2"] = cells.zone_area
    units["pixels"] = np.bincount(cells.unit, cells.coverage, minlength=cells.n_units)
    units["covered_share_min"] = np.nanmin(np.where(np.isfinite(covered), covered, np.nan), axis=0) \
        if len(years) else np.nan
    notes = list(stack.notes)
    if with_trend and trends is not None and rings is not None:
        _add_trend_columns(units, cells, trends, rings, results, np.asarray(years), alpha, perforation, centre)
        notes.append(_stored("note.trend", span=f"{years[0]}-{years[-1]}", min_valid=trends.min_valid,
                             alpha=f"{alpha:g}"))
        notes.append(_stored("note.rings", core=f"{core_radius:g}", alpha=f"{alpha:g}", perforation=f"{perforation:.0%}"))
    ledger = _zonal_ledger(zones, ids, touched, low, min_coverage)
    base = zones.meta
    stack_name = Path(stack.sources[0]).name + (f" ... ({len(stack.sources)} files)" if len(stack.sources) > 1 else "")
    meta = PanelMeta(
        id=f"grid-{Path(stack.sources[0]).stem}", title=_MESSAGES["title"].format(stack=stack_name, stat=stat,
                                                                                   zones=zones.source),
        source_files=tuple(stack.sources) + ((zones.source,) if Path(zones.source).exists() else ()),
        unit_definition=_MESSAGES["unit_definition"].format(zones=zones.source, stat=stat, stack=stack_name),
        units_of={indicator: unit_label}, notes=tuple(notes))
    if base is not None:  # zones from a registered dataset: its language, country and basemap carry over
        meta = dataclasses.replace(meta, language=base.language, country=base.country, vintage=base.vintage,
                                   basemap=base.basemap, unit_label=base.unit_label, parent_label=base.parent_label,
                                   licence=base.licence, citation=base.citation, extra_sources=base.extra_sources)
    panel = Panel(units, values, meta, ledger)
    return ZonalResult(panel, stats, trends, running.description)


def _distance_km(x: np.ndarray, y: np.ndarray, cx: np.ndarray, cy: np.ndarray, stack: Stack) -> np.ndarray:
    """Distance from each pixel centre to its unit's centre: haversine on a geographic grid, else planar."""
    if stack.geographic:
        lat1, lat2 = np.radians(y), np.radians(cy)
        dlat, dlon = lat2 - lat1, np.radians(cx - x)
        h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
        return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    import pyproj  # deferred: only for a projected grid's linear unit

    crs = pyproj.CRS.from_user_input(stack.data.rio.crs.to_wkt())
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return np.hypot(x - cx, y - cy) * unit / 1000


def _add_trend_columns(units: pd.DataFrame, cells: Cells, trends: PixelTrends, rings: np.ndarray,
                       results: np.ndarray, years: np.ndarray, alpha: float, perforation: float,
                       centre: np.ndarray) -> None:
    """Decline share and the core/periphery pattern, added to the units table in place."""
    weighted_area = cells.coverage * cells.area
    decline = trends.significant_decline(alpha).ravel()[cells.flat]
    assessed = ~trends.insufficient.ravel()[cells.flat]
    assessed_area = np.bincount(cells.unit, weighted_area * assessed, minlength=cells.n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.bincount(cells.unit, weighted_area * (decline & assessed), minlength=cells.n_units) / assessed_area
    units["pixels_assessed"] = np.bincount(cells.unit, cells.coverage * assessed, minlength=cells.n_units)
    units["decline_share"] = np.where(assessed_area > 0, share, np.nan)
    ring_totals = results[:, :, 4:6].reshape(len(years), -1)  # (years, unit * 2 + ring)
    ring_cells = np.bincount(cells.unit * 2 + rings, minlength=2 * cells.n_units).reshape(-1, 2)
    min_valid = min(DEFAULT_MIN_VALID, len(years))
    ring_trend = pixel_trends(ring_totals, years, min_valid=min_valid, parallel=False)
    declines = ring_trend.significant_decline(alpha).reshape(-1, 2)
    insufficient = ring_trend.insufficient.reshape(-1, 2) | (ring_cells == 0)
    slopes, p = ring_trend.slope.reshape(-1, 2), ring_trend.p.reshape(-1, 2)
    units["centre_x"], units["centre_y"] = centre[:, 0], centre[:, 1]
    units["core_slope"], units["periphery_slope"] = slopes[:, 0], slopes[:, 1]
    units["core_p"], units["periphery_p"] = p[:, 0], p[:, 1]
    assessed_unit = ~insufficient.any(axis=1) & (assessed_area > 0)
    units["spatial_pattern"] = pattern_label(declines[:, 0], declines[:, 1], units["decline_share"].to_numpy(),
                                     assessed_unit, perforation)


def _zonal_ledger(zones: Zones, ids: pd.Index, touched: np.ndarray, low: np.ndarray, min_coverage: float) -> Ledger:
    """The zones' ledger with the zonal tallies and warnings (units with no pixel, unit-years without a value)."""
    base = zones.ledger
    outside = ids[~touched].tolist()
    low_years = low & touched[None, :]
    low_units = ids[low_years.any(axis=0)].tolist()
    warnings = list(base.warnings)
    if outside:
        warnings.append(_stored("warning.outside", n=len(outside), ids=", ".join(outside[:10])
                                + (" ..." if len(outside) > 10 else "")))
    share = f"{min_coverage:.0%}"
    if low_units:
        warnings.append(_stored("warning.low", n=int(low_years.sum()), units=len(low_units), share=share,
                                ids=", ".join(low_units[:10]) + (" ..." if len(low_units) > 10 else "")))
    tallies = {**dict(base.tallies), _stored("tally.outside"): len(outside),
               _stored("tally.low", share=share): int(low_years.sum())}
    return dataclasses.replace(base, tallies=tallies, warnings=tuple(warnings))

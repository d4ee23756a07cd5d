"""Raster stacks: a series of rasters opened lazily into one ``(year, y, x)`` array.

A stack is read from

- GeoTIFFs, one per year (the year parsed from the file name: ``ppp_2009_1km_Aggregated.tif``,
  GHSL's ``..._E1975_GLOBE_R2023A_...``, ``..._201401_...`` (year and month); or given with
  ``years``), or one multi-band GeoTIFF with one band per year (``years`` given); a ``.zip``
  holding one GeoTIFF (as GHSL ships them) is read in place;
- a NetCDF file or a Zarr store with a ``year`` or ``time`` dimension (``variable`` names the
  array when there are several).

What it takes care of, because peers fell into each of these:

- **nodata is never a value.** Declared nodata becomes NaN (rioxarray ``masked=True``, xarray's
  ``_FillValue``); the fill values publishers use without always declaring them (WorldPop's
  ``-99999``, the float32 minimum ``-3.4e38``) are masked as well, and for counts any negative
  value (a count cannot be negative); ``Stack.notes`` says so.
- **grids must match.** Rasters on different grids (CRS, pixel size, origin or extent) are
  refused with a message naming both grids, unless ``reproject=True``; then every raster is
  resampled onto the first one's grid with a resampling that suits what it measures:
  ``sum`` for counts (people, m2 of built surface: totals are kept; nearest neighbour would drop
  or double pixels), ``average`` for densities and radiances, ``mode`` for categories.
- **pixel areas are real areas.** On a geographic grid a pixel's area shrinks with latitude
  (``cos``); :func:`pixel_area_km2` integrates it exactly on the WGS84 ellipsoid (authalic
  latitude), so densities and built-up areas are not inflated towards the poles.
- **GHSL's World Mollweide is ESRI:54009**: :func:`crs_label` names a CRS by its authority code
  where pyproj can identify one (a GHSL file whose WKT only says "World_Mollweide" included).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.enums import Resampling

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message
from shrinkwatch.grid.compute import compute

__all__ = ["KINDS", "RESAMPLING", "FILL_VALUES", "Stack", "open_stack", "year_from_name", "crs_label",
           "pixel_area_km2", "stack_from_array"]

#: what a stack's values measure: ``count`` (people, m2 per pixel: zonal sums, sum-preserving
#: resampling), ``mean`` (a density or radiance: area-weighted means), ``category`` (codes such as
#: GHSL's epoch first built: never averaged)
KINDS = ("count", "mean", "category")
RESAMPLING = {"count": Resampling.sum, "mean": Resampling.average, "category": Resampling.mode}
#: fill values masked even when a file does not declare them (WorldPop's -99999, float32's minimum)
FILL_VALUES = (-99999.0,)
_FLOAT32_FILL_BELOW = -1e38
_YEARS = (1790, 2100)
#: CRSs named by their code even when a file's definition carries none (GHSL's World Mollweide)
_KNOWN_CRS = ("ESRI:54009", "EPSG:4326", "EPSG:3857")
_CHUNK = 2048

_MESSAGES = {
    "no_sources": "grid stack: no raster given",
    "missing": "grid stack: {path} does not exist",
    "kind": "grid stack: kind must be one of {kinds}, got {value!r}",
    "no_year": "grid stack: cannot tell the year of {path}: its name holds no year ({low}-{high}); give the years "
               "in file order with --years",
    "two_years": "grid stack: the name of {path} holds several years ({years}); give the years in file order with "
                 "--years",
    "years_count": "grid stack: --years gives {given} year(s) for {expected} layer(s) ({what})",
    "year_range": "grid stack: year {year} of {path} is outside {low}-{high}",
    "duplicate": "grid stack: year {year} comes twice ({first} and {second})",
    "bands": "grid stack: {path} has {bands} bands; a series of files needs one band each (or give a single "
             "multi-band file with --years, one year per band)",
    "grid": "grid stack: {path} is on a different grid from {first}:\n  {first}: {first_grid}\n  {path}: {grid}\n"
            "Pass --reproject to resample it onto the first file's grid ({resampling} resampling for {kind}).",
    "no_crs": "grid stack: {path} has no coordinate reference system; set one with --crs (e.g. EPSG:4326)",
    "format": "grid stack: {path}: expected GeoTIFF (.tif, .tiff, or a .zip holding one), NetCDF (.nc) or Zarr "
              "(.zarr), got {suffix!r}",
    "zip": "grid stack: {path} holds {count} GeoTIFF(s); expected exactly one",
    "variable": "grid stack: {path} has no variable {variable!r}; it has: {names}",
    "variables": "grid stack: {path} has several variables with a year and two space dimensions ({names}); "
                 "name one with --variable",
    "no_variable": "grid stack: {path} has no variable with a year (or time) and two space dimensions",
    "dims": "grid stack: {path}: variable {variable!r} has dimensions {dims}; expected a year (or time) "
            "dimension and y/x (or lat/lon)",
    "time_years": "grid stack: {path}: the {dim} coordinate ({values}) gives no years; give them with --years",
    "crs_bad": "grid stack: --crs {value!r} is not a coordinate reference system ({error})",
    "open": "grid stack: cannot read {path} as a raster ({error})",
}


def _note(key: str, **fields: Any) -> str:
    """A stack's note as stored: the catalogue's English ([grid.note]), said in the reader's language on display."""
    return message(f"grid.note.{key}", "en", **fields)


# ---------------------------------------------------------------- names, CRS, areas

_EPOCH_RE = re.compile(r"(?<![A-Za-z0-9])E(\d{4})(?!\d)")  # GHSL: GHS_POP_E2020_GLOBE_R2023A_54009_1000
_RELEASE_RE = re.compile(r"(?<![A-Za-z0-9])R\d{4}[A-Z](?![A-Za-z0-9])")  # GHSL release tags (R2023A) are no years
_YEAR_RE = re.compile(r"(?<!\d)(\d{4})(\d{2})?(?!\d)")


def year_from_name(path: str | Path) -> int:
    """The year in a raster's file name.

    >>> year_from_name("ppp_2009_1km_Aggregated.tif")
    2009
    >>> year_from_name("GHS_BUILT_S_E1975_GLOBE_R2023A_54009_1000_V1_0.zip")
    1975
    >>> year_from_name("NL_STP_VIIRS.M_201401_VCMCFG.tif")
    2014
    >>> year_from_name("pop_2000_2010_change.tif")
    Traceback (most recent call last):
    ...
    shrinkwatch.core.errors.DataError: grid stack: the name of pop_2000_2010_change.tif holds several years \
(2000, 2010); give the years in file order with --years
    """
    name = Path(str(path)).name
    stem = re.sub(r"\.(tif|tiff|zip|nc|zarr)$", "", name, flags=re.IGNORECASE)
    epochs = {int(m.group(1)) for m in _EPOCH_RE.finditer(stem) if _YEARS[0] <= int(m.group(1)) <= _YEARS[1]}
    if len(epochs) == 1:
        return epochs.pop()
    stem = _RELEASE_RE.sub("", stem)
    found = []
    for match in _YEAR_RE.finditer(stem):
        year, month = int(match.group(1)), match.group(2)
        if _YEARS[0] <= year <= _YEARS[1] and (month is None or 1 <= int(month) <= 12):
            found.append(year)
    distinct = sorted(set(found))
    if not distinct:
        raise DataError(_MESSAGES["no_year"].format(path=name, low=_YEARS[0], high=_YEARS[1]))
    if len(distinct) > 1:
        raise DataError(_MESSAGES["two_years"].format(path=name, years=", ".join(map(str, distinct))))
    return distinct[0]


def crs_label(crs: Any) -> str:
    """A CRS by its authority code where pyproj can identify one, else its name.

    >>> crs_label("+proj=moll +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")
    'ESRI:54009'
    >>> crs_label("EPSG:4326")
    'EPSG:4326'
    """
    parsed = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    for authority in ("EPSG", "ESRI"):
        found = parsed.to_authority(auth_name=authority, min_confidence=70)
        if found is not None:
            return f"{found[0]}:{found[1]}"
    for known in _KNOWN_CRS:  # a PROJ string or an 'unknown' WKT (GHSL's Mollweide) that pyproj cannot identify
        if parsed == pyproj.CRS.from_user_input(known):
            return known
    return parsed.name


def _authalic(lat_deg: np.ndarray, e: float) -> np.ndarray:
    """q(phi) of the authalic latitude (Snyder 1987, eq. 3-12), vectorised."""
    s = np.sin(np.radians(lat_deg))
    if e == 0:
        return 2 * s
    return (1 - e * e) * (s / (1 - (e * s) ** 2) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))


def pixel_area_km2(transform: Any, shape: tuple[int, int], crs: Any) -> np.ndarray:
    """The area of every pixel in km2, shape ``(ny, nx)`` (a broadcast view: read only).

    On a geographic grid a pixel between latitudes ``phi1`` and ``phi2`` spanning ``dlon`` has
    area ``a^2 / 2 * dlon * (q(phi2) - q(phi1))`` on the ellipsoid (exact; ``q`` as in
    :func:`_authalic`); on a projected grid it is the cell size in the CRS's linear unit
    (exact for equal-area projections such as GHSL's Mollweide).

    >>> from affine import Affine
    >>> area = pixel_area_km2(Affine(1 / 120, 0, 0, 0, -1 / 120, 60.0), (2, 1), "EPSG:4326")
    >>> [round(float(v), 4) for v in area[:, 0]]
    [0.4318, 0.4319]
    >>> float(pixel_area_km2(Affine(100, 0, 0, 0, -100, 0), (1, 1), "ESRI:54009")[0, 0])
    0.01
    """
    ny, nx = shape
    parsed = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    if parsed.is_geographic:
        ellipsoid = parsed.ellipsoid
        a = ellipsoid.semi_major_metre if ellipsoid is not None else 6378137.0
        inv_f = ellipsoid.inverse_flattening if ellipsoid is not None else 298.257223563
        f = 1 / inv_f if inv_f else 0.0
        e = float(np.sqrt(f * (2 - f)))
        edges = transform.f + transform.e * np.arange(ny + 1)  # row edges (latitudes)
        q = _authalic(np.clip(edges, -90, 90), e)
        dlon = np.radians(abs(transform.a))
        rows = a * a / 2 * dlon * np.abs(np.diff(q)) / 1e6
        return np.broadcast_to(rows[:, None], (ny, nx))
    unit = parsed.axis_info[0].unit_conversion_factor if parsed.axis_info else 1.0
    cell = abs(transform.a * transform.e - transform.b * transform.d) * unit * unit / 1e6
    return np.broadcast_to(np.float64(cell), (ny, nx))


# ---------------------------------------------------------------- the stack

@dataclass(frozen=True, eq=False)
class Stack:
    """A ``(year, y, x)`` raster series: ``data`` is lazy (Dask-backed), NaN where there is no data."""

    data: xr.DataArray
    kind: str
    sources: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def years(self) -> list[int]:
        return [int(y) for y in self.data["year"].values]

    @property
    def crs(self) -> str:
        return crs_label(self.data.rio.crs)

    @property
    def transform(self) -> Any:
        return self.data.rio.transform(recalc=True)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.data.sizes["y"]), int(self.data.sizes["x"])

    @property
    def geographic(self) -> bool:
        return bool(pyproj.CRS.from_user_input(self.data.rio.crs.to_wkt()).is_geographic)

    def pixel_area_km2(self) -> np.ndarray:
        return pixel_area_km2(self.transform, self.shape, self.data.rio.crs)

    def grid_text(self, lang: str = "en") -> str:
        """The grid in words (CRS, size, pixel size, origin) in ``lang``."""
        return _grid_words(self.crs, self.shape, self.transform, lang)

    def clip(self, bounds: Sequence[float]) -> Stack:
        """The part of the stack that covers ``bounds`` (xmin, ymin, xmax, ymax in the stack's CRS),
        one pixel wider on every side; the whole stack when ``bounds`` covers it."""
        t, (ny, nx) = self.transform, self.shape
        xmin, ymin, xmax, ymax = bounds
        col0 = int(np.clip(np.floor((xmin - t.c) / t.a) - 1, 0, nx))
        col1 = int(np.clip(np.ceil((xmax - t.c) / t.a) + 1, 0, nx))
        row0 = int(np.clip(np.floor((ymax - t.f) / t.e) - 1, 0, ny))
        row1 = int(np.clip(np.ceil((ymin - t.f) / t.e) + 1, 0, ny))
        if (row0, row1, col0, col1) == (0, ny, 0, nx):
            return self
        # at least 2 x 2 pixels (where the stack has them): the grid is read from the pixel coordinates
        row0, col0 = min(row0, max(ny - 2, 0)), min(col0, max(nx - 2, 0))
        return replace(self, data=self.data.isel(y=slice(row0, max(row1, row0 + 2)),
                                                 x=slice(col0, max(col1, col0 + 2))))

    def totals(self, scheduler: str | None = None) -> pd.Series:
        """The sum of every layer over the whole stack (NaN skipped), by year."""
        (sums,) = compute([self.data.sum(dim=("y", "x"), skipna=True, min_count=1)], scheduler)
        return pd.Series(np.asarray(sums, dtype=np.float64), index=pd.Index(self.years, name="year"), name="total")


def stack_from_array(values: np.ndarray, years: Sequence[int], transform: Any, crs: Any, kind: str = "count",
                     name: str = "array") -> Stack:
    """A stack from an in-memory ``(year, y, x)`` array (hand-made cases, derived layers)."""
    if kind not in KINDS:
        raise OptionError(_MESSAGES["kind"].format(kinds=", ".join(KINDS), value=kind))
    ny, nx = values.shape[1:]
    x = transform.c + transform.a * (np.arange(nx) + 0.5)
    y = transform.f + transform.e * (np.arange(ny) + 0.5)
    data = xr.DataArray(np.asarray(values), dims=("year", "y", "x"),
                        coords={"year": [int(v) for v in years], "y": y, "x": x}, name=name)
    data = data.rio.write_crs(crs).rio.write_transform(transform)
    return Stack(data.chunk({"year": 1}), kind, (name,))


def _as_float(data: xr.DataArray) -> xr.DataArray:
    if data.dtype.kind == "f":
        return data
    return data.astype(np.float32 if data.dtype.itemsize <= 2 else np.float64)


def _grid_of(data: xr.DataArray) -> tuple[Any, tuple[int, int], Any]:
    return data.rio.transform(recalc=True), (int(data.sizes["y"]), int(data.sizes["x"])), data.rio.crs


def _grid_text(data: xr.DataArray) -> str:
    t, shape, crs = _grid_of(data)
    return _grid_words(crs_label(crs), shape, t, "en")


def _grid_words(crs: str, shape: tuple[int, int], t: Any, lang: str) -> str:
    return message("grid.grid_text.grid", lang, crs=crs, nx=shape[1], ny=shape[0], dx=f"{abs(t.a):g}",
                   dy=f"{abs(t.e):g}", x=f"{t.c:g}", y=f"{t.f:g}")


def _same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    ta, sa, ca = _grid_of(a)
    tb, sb, cb = _grid_of(b)
    if sa != sb or pyproj.CRS.from_user_input(ca.to_wkt()) != pyproj.CRS.from_user_input(cb.to_wkt()):
        return False
    tolerance = 1e-6 * max(abs(ta.a), abs(ta.e))
    return bool(np.allclose(tuple(ta)[:6], tuple(tb)[:6], atol=tolerance, rtol=0))


def _raster_path(path: Path) -> str:
    """The path GDAL reads: a .zip is opened through /vsizip/ at the one GeoTIFF inside."""
    if path.suffix.lower() != ".zip":
        return str(path)
    import zipfile  # deferred: only for zipped releases

    with zipfile.ZipFile(path) as archive:
        tifs = [n for n in archive.namelist() if n.lower().endswith((".tif", ".tiff"))]
    if len(tifs) != 1:
        raise DataError(_MESSAGES["zip"].format(path=path, count=len(tifs)))
    return f"/vsizip/{path}/{tifs[0]}"


def _open_geotiff(path: Path) -> xr.DataArray:
    try:
        data = rioxarray.open_rasterio(_raster_path(path), masked=True, chunks={"band": 1, "y": _CHUNK, "x": _CHUNK})
    except Exception as error:  # rasterio raises its own RasterioIOError (an OSError subclass) or others
        if isinstance(error, DataError):
            raise
        raise DataError(_MESSAGES["open"].format(path=path, error=error)) from None
    assert isinstance(data, xr.DataArray)
    return data


def _open_cube(path: Path, variable: str | None, years: Sequence[int] | None, crs: str | None,
               notes: list[str]) -> tuple[xr.DataArray, list[int]]:
    """A NetCDF file or Zarr store: its (year, y, x) variable and the years."""
    try:
        if path.suffix.lower() == ".zarr" or path.is_dir():
            dataset = xr.open_zarr(path, chunks={})
        else:
            dataset = xr.open_dataset(path, chunks={}, decode_coords="all")
    except Exception as error:  # netCDF4/h5netcdf/zarr raise their own types
        raise DataError(_MESSAGES["open"].format(path=path, error=error)) from None
    rename = {old: new for old, new in (("lat", "y"), ("latitude", "y"), ("lon", "x"), ("longitude", "x"))
              if old in dataset.dims}
    latlon = bool(rename)
    dataset = dataset.rename(rename)
    time_dims = ("year", "time", "band", "t")
    candidates = [name for name, var in dataset.data_vars.items()
                  if var.ndim == 3 and {"y", "x"} <= set(var.dims) and any(d in var.dims for d in time_dims)]
    if variable is not None:
        if variable not in dataset.data_vars:
            raise DataError(_MESSAGES["variable"].format(path=path, variable=variable,
                                                         names=", ".join(map(str, dataset.data_vars))))
        if variable not in candidates:
            raise DataError(_MESSAGES["dims"].format(path=path, variable=variable,
                                                     dims=tuple(dataset[variable].dims)))
        chosen = variable
    elif len(candidates) == 1:
        chosen = candidates[0]
    elif candidates:
        raise DataError(_MESSAGES["variables"].format(path=path, names=", ".join(map(str, candidates))))
    else:
        raise DataError(_MESSAGES["no_variable"].format(path=path))
    data = dataset[chosen]
    dim = next(d for d in time_dims if d in data.dims)
    data = data.transpose(dim, "y", "x")
    if years is None:
        values = data[dim].values if dim in data.coords else np.arange(data.sizes[dim])
        if np.issubdtype(np.asarray(values).dtype, np.datetime64):
            found = [int(v) for v in pd.DatetimeIndex(values).year]
        elif np.asarray(values).dtype.kind in "iuf" and all(_YEARS[0] <= v <= _YEARS[1] for v in values):
            found = [int(v) for v in values]
        else:
            raise DataError(_MESSAGES["time_years"].format(path=path, dim=dim, values=list(values)[:5]))
    else:
        found = [int(y) for y in years]
        if len(found) != data.sizes[dim]:
            raise DataError(_MESSAGES["years_count"].format(given=len(found), expected=data.sizes[dim],
                                                            what=f"{path} {dim}"))
    data = data.drop_vars([c for c in data.coords if c not in ("y", "x", "spatial_ref")])
    data = data.rename({dim: "year"}).assign_coords(year=found)
    data = data.rio.set_spatial_dims(x_dim="x", y_dim="y")
    if crs is not None:
        data = data.rio.write_crs(crs)
        notes.append(_note("crs_given", path=path.name, crs=crs))
    elif data.rio.crs is None:
        if not latlon:
            raise DataError(_MESSAGES["no_crs"].format(path=path))
        data = data.rio.write_crs("EPSG:4326")
        notes.append(_note("latlon", path=path.name))
    if data.sizes["y"] > 1 and float(data["y"][0]) < float(data["y"][-1]):  # south-up: make it north-up
        data = data.isel(y=slice(None, None, -1))
    return data, found


def open_stack(sources: Sequence[str | Path], years: Sequence[int] | None = None, *, kind: str = "count",
               variable: str | None = None, reproject: bool = False, crs: str | None = None) -> Stack:
    """Open rasters as one lazy ``(year, y, x)`` :class:`Stack` (see the module docstring).

    Parameters
    ----------
    sources
        GeoTIFFs (one per year, or one multi-band file), or one NetCDF file / Zarr store.
    years
        One year per file (or per band / time step); default: parsed from the names (GeoTIFF) or
        the time coordinate (NetCDF, Zarr).
    kind
        What the values measure (:data:`KINDS`); decides the resampling and the zonal statistic.
    reproject
        Resample rasters on other grids onto the first one's grid instead of refusing them.
    crs
        The CRS of a source that declares none (NetCDF without ``grid_mapping``), or a correction.
    """
    if kind not in KINDS:
        raise OptionError(_MESSAGES["kind"].format(kinds=", ".join(KINDS), value=kind))
    paths = [Path(s) for s in sources]
    if not paths:
        raise DataError(_MESSAGES["no_sources"])
    for path in paths:
        if not path.exists():
            raise DataError(_MESSAGES["missing"].format(path=path))
    notes: list[str] = []
    suffixes = {p.suffix.lower() for p in paths}
    if len(paths) == 1 and suffixes & {".nc", ".nc4", ".zarr"} or (len(paths) == 1 and paths[0].is_dir()):
        data, found = _open_cube(paths[0], variable, years, crs, notes)
        layers, labels = [data.isel(year=i, drop=True) for i in range(len(found))], [paths[0].name] * len(found)
    else:
        bad = [p for p in paths if p.suffix.lower() not in (".tif", ".tiff", ".zip")]
        if bad:
            raise DataError(_MESSAGES["format"].format(path=bad[0], suffix=bad[0].suffix))
        opened = [_open_geotiff(p) for p in paths]
        for path, layer in zip(paths, opened):
            if layer.rio.crs is None and crs is None:
                raise DataError(_MESSAGES["no_crs"].format(path=path))
        if crs is not None:
            opened = [layer.rio.write_crs(crs) for layer in opened]
            notes.append(_note("crs_given", path=", ".join(p.name for p in paths), crs=crs))
        if len(paths) == 1 and opened[0].sizes["band"] > 1:
            bands = opened[0].sizes["band"]
            if years is None:
                raise DataError(_MESSAGES["years_count"].format(given=0, expected=bands, what=f"bands of {paths[0]}"))
            layers = [opened[0].isel(band=i, drop=True) for i in range(bands)]
            labels = [f"{paths[0].name} band {i + 1}" for i in range(bands)]
        else:
            for path, layer in zip(paths, opened):
                if layer.sizes["band"] != 1:
                    raise DataError(_MESSAGES["bands"].format(path=path, bands=layer.sizes["band"]))
            layers = [layer.isel(band=0, drop=True) for layer in opened]
            labels = [p.name for p in paths]
        if years is None:
            found = [year_from_name(p) for p in paths]
        else:
            found = [int(y) for y in years]
            if len(found) != len(layers):
                raise DataError(_MESSAGES["years_count"].format(given=len(found), expected=len(layers),
                                                                what=", ".join(p.name for p in paths[:3])
                                                                + (" ..." if len(paths) > 3 else "")))
    for year, label in zip(found, labels):
        if not _YEARS[0] <= year <= _YEARS[1]:
            raise DataError(_MESSAGES["year_range"].format(year=year, path=label, low=_YEARS[0], high=_YEARS[1]))
    seen: dict[int, str] = {}
    for year, label in zip(found, labels):
        if year in seen:
            raise DataError(_MESSAGES["duplicate"].format(year=year, first=seen[year], second=label))
        seen[year] = label
    first = layers[0]
    for i, (layer, label) in enumerate(zip(layers[1:], labels[1:]), start=1):
        if _same_grid(first, layer):
            continue
        resampling = RESAMPLING[kind]
        if not reproject:
            raise DataError(_MESSAGES["grid"].format(path=label, first=labels[0], first_grid=_grid_text(first),
                                                     grid=_grid_text(layer), resampling=resampling.name, kind=kind))
        moved = _as_float(layer).rio.reproject_match(_as_float(first), resampling=resampling, nodata=np.nan)
        layers[i] = moved.assign_coords(x=first["x"], y=first["y"]).chunk({"y": _CHUNK, "x": _CHUNK})
        notes.append(_note("reprojected", path=label, first=labels[0], resampling=resampling.name))
    order = np.argsort(found)
    data = xr.concat([_as_float(layers[i]) for i in order], dim="year", join="override",
                     coords="minimal", compat="override")
    data = data.assign_coords(year=[found[i] for i in order]).chunk({"year": 1})
    data = data.rio.write_crs(first.rio.crs).rio.write_transform(first.rio.transform(recalc=True))
    if kind in ("count", "mean"):
        fill = data.isin(list(FILL_VALUES)) | (data < _FLOAT32_FILL_BELOW)
        if kind == "count":
            fill = fill | (data < 0)
            notes.append(_note("negative"))
        data = data.where(~fill)
        notes.append(_note("fill", fills=", ".join(f"{v:g}" for v in FILL_VALUES)))
    data.name = paths[0].stem
    return Stack(data, kind, tuple(str(paths[i]) for i in order) if len(paths) > 1 else (str(paths[0]),),
                 tuple(notes))

"""The panel file: one :class:`~shrinkwatch.core.Panel` in one GeoParquet file.

:func:`write_panel` writes, and :func:`read_panel` restores, the panel file that
``shrinkwatch ingest -o`` makes and every command accepts as ``--dataset``. Reading
needs pyarrow, shapely and geopandas only, never the ingest machinery.

Layout (format ``shrinkwatch-panel``, version 2)
------------------------------------------------
- **One row per unit**, in the order of ``Panel.units``: ``unit_id`` (string), every
  column of ``Panel.units`` and ``geometry`` (WKB; null for a unit without geometry,
  and for every unit of a panel without geometry), so the geometry is stored once per
  unit and ``geopandas.read_parquet`` opens the file as it is (GeoParquet 1.0.0 ``geo``
  metadata: WKB encoding, geometry types, the CRS as PROJJSON).
- **Values without repeating the units**: one ``list<double>`` column per indicator,
  each list aligned to the ``years`` array of the ShrinkWatch metadata. An element is
  NaN where ``Panel.values`` holds NaN and null where ``Panel.values`` has no
  ``(unit_id, year)`` row at all, so the values index is restored exactly. This is
  ``units x years x indicators`` numbers in columnar lists: compact, and a unit's series
  is one cell for any Parquet reader.
- **Key-value metadata** ``shrinkwatch``: JSON ``{"format": "shrinkwatch-panel",
  "version": 2, "years": [...], "indicators": [...], "unit_columns": [...],
  "unit_dtypes": {...}, "has_geometry": ..., "values_sorted": ..., "meta": ...,
  "ledger": ...}``. ``meta`` is the panel meta as JSON (a mapping or a dataclass;
  DataFrames are tagged ``{"__dataframe__": <pandas "table" JSON: schema and records>}``
  and restored as DataFrames; NumPy scalars become numbers; paths and timestamps
  strings); ``ledger`` is :meth:`Ledger.to_dict`.

Reading streams: the unit columns are read as one table, then each values column in
batches of units whose non-null elements go straight into the values array; the
``(unit_id, year)`` index is built from integer codes over the unit and year levels. So
reading peaks near the size of the panel it returns (a 1,000,000 x 30 panel: 1.1 GiB,
against 3.4 GiB for a whole-table read; ``benchmarks/bench_panelfile.py``).

:func:`read_panel` checks the format name and version: a file of another format or
version, or a Parquet file without the metadata, is refused with a
:class:`~shrinkwatch.core.errors.DataError` that names the file and what was expected.
The file is written atomically (a temporary file in the same folder, then
:func:`os.replace`), so an interrupted write never leaves a truncated panel.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyproj
import shapely

from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.panel import Panel

__all__ = ["PANEL_FORMAT", "PANEL_VERSION", "read_panel", "write_panel", "panel_fingerprint"]

#: Value of ``format`` in the ``shrinkwatch`` metadata of a panel file.
PANEL_FORMAT = "shrinkwatch-panel"
#: The version :func:`write_panel` writes and the only one :func:`read_panel` reads.
PANEL_VERSION = 2
_META_KEY = b"shrinkwatch"
_GEO_KEY = b"geo"
_FRAME_TAG = "__dataframe__"
#: Cells (units x years) per batch when a values column is streamed: bounds the Arrow memory held.
_BATCH_CELLS = 1 << 21
_MAKE_ONE = "make a panel file with `shrinkwatch ingest FILE... -o PANEL.parquet`"


def write_panel(panel: Panel, path: str | Path) -> Path:
    """Write ``panel`` to one GeoParquet file that :func:`read_panel` restores.

    Raises
    ------
    DataError
        A unit column clashes with an indicator name or ``unit_id``, a value belongs
        to no unit of ``panel.units``, or ``panel.values`` repeats a ``(unit_id, year)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> units = pd.DataFrame({"name": ["A"]}, index=pd.Index(["a"], name="unit_id"))
    >>> idx = pd.MultiIndex.from_tuples([("a", 2010), ("a", 2020)], names=["unit_id", "year"])
    >>> panel = Panel(units, pd.DataFrame({"pop_resident": [1.0, 2.0]}, index=idx), {"id": "toy"})
    >>> path = write_panel(panel, pathlib.Path(tempfile.mkdtemp()) / "toy.parquet")
    >>> read_panel(path).values["pop_resident"].tolist()
    [1.0, 2.0]
    >>> gpd.read_parquet(path)[["unit_id", "pop_resident"]].to_numpy().tolist()[0][1].tolist()
    [1.0, 2.0]
    """
    path = Path(path)
    units = panel.units
    has_geometry = "geometry" in units.columns
    unit_columns = [str(c) for c in units.columns if c != "geometry"]
    indicators = [str(c) for c in panel.values.columns]
    clash = sorted(set(unit_columns) & (set(indicators) | {"unit_id", "geometry"}))
    if clash:
        raise DataError(f"cannot write {path}: unit column(s) {clash} clash with indicator or key names")
    unit_ids = units.index.astype(str)
    attributes = pd.DataFrame(units[unit_columns]).reset_index(drop=True)
    for column in unit_columns:
        if attributes[column].dtype == object:
            attributes[column] = attributes[column].astype("string")
    attributes.insert(0, "unit_id", pd.array(unit_ids, dtype="string"))
    table = pa.Table.from_pandas(attributes, preserve_index=False)
    geometry = np.asarray(units["geometry"], dtype=object) if has_geometry else np.full(len(units), None, dtype=object)
    table = table.append_column(pa.field("geometry", pa.binary()), pa.array(shapely.to_wkb(geometry), pa.binary()))
    years, value_lists = _value_lists(panel, unit_ids, path)
    for indicator, lists in zip(indicators, value_lists):
        table = table.append_column(pa.field(indicator, pa.list_(pa.float64())), lists)
    header = {
        "format": PANEL_FORMAT, "version": PANEL_VERSION, "years": years, "indicators": indicators,
        "unit_columns": [str(c) for c in units.columns],
        "unit_dtypes": {c: str(units[c].dtype) for c in unit_columns},
        "has_geometry": has_geometry, "values_sorted": bool(panel.values.index.is_monotonic_increasing),
        "meta": _encode(panel.meta), "ledger": panel.ledger.to_dict(),
    }
    metadata = dict(table.schema.metadata or {})
    metadata[_META_KEY] = json.dumps(header, ensure_ascii=False).encode("utf-8")
    metadata[_GEO_KEY] = json.dumps(_geo_metadata(units if has_geometry else None)).encode("utf-8")
    table = table.replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _value_lists(panel: Panel, unit_ids: pd.Index, path: Path) -> tuple[list[int], list[pa.ListArray]]:
    """The years and, per indicator, one list per unit aligned to them (null = no row)."""
    index = panel.values.index
    years = sorted(int(y) for y in index.get_level_values("year").unique())
    unit_position = pd.Index(unit_ids).get_indexer(index.get_level_values("unit_id").astype(str))
    if (unit_position < 0).any():
        strays = sorted(set(index.get_level_values("unit_id")[unit_position < 0].astype(str)))[:5]
        raise DataError(f"cannot write {path}: Panel.values has units not in Panel.units: {strays}")
    if index.has_duplicates:
        raise DataError(f"cannot write {path}: Panel.values repeats (unit_id, year): "
                        f"{index[index.duplicated()].unique().tolist()[:5]}")
    year_position = np.searchsorted(years, index.get_level_values("year").astype(np.int64))
    cell = unit_position * len(years) + year_position
    present = np.zeros(len(unit_ids) * len(years), dtype=bool)
    present[cell] = True
    offsets = pa.array(np.arange(len(unit_ids) + 1, dtype=np.int32) * len(years), pa.int32())
    lists = []
    for indicator in panel.values.columns:
        flat = np.full(len(present), np.nan)
        flat[cell] = panel.values[indicator].to_numpy(dtype=np.float64, na_value=np.nan)
        lists.append(pa.ListArray.from_arrays(offsets, pa.array(flat, pa.float64(), mask=~present)))
    return years, lists


def _geo_metadata(units: pd.DataFrame | None) -> dict[str, Any]:
    """GeoParquet 1.0.0 ``geo`` metadata of the ``geometry`` column (CRS null when unknown)."""
    crs = getattr(units, "crs", None) if units is not None else None
    types: list[str] = []
    if units is not None:
        types = sorted(set(gpd.GeoSeries(units["geometry"]).geom_type.dropna().astype(str)))
    return {"version": "1.0.0", "primary_column": "geometry",
            "columns": {"geometry": {"encoding": "WKB", "geometry_types": types,
                                     "crs": pyproj.CRS.from_user_input(crs).to_json_dict() if crs else None}}}


def read_panel(path: str | Path) -> Panel:
    """Read a Panel written by :func:`write_panel` (``shrinkwatch ingest -o``).

    Memory stays near the size of the panel it returns (see the module notes): a
    1,000,000 x 30 panel peaks under 1.5 GiB.

    Raises
    ------
    DataError
        The file is missing, unreadable or truncated, not a ShrinkWatch panel file, or
        of another format or version.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: panel file not found")
    try:
        parquet = pq.ParquetFile(path, buffer_size=1 << 20)  # a buffered stream: pages, not whole columns
        metadata = parquet.schema_arrow.metadata or {}
    except Exception as error:  # noqa: BLE001 - pyarrow: ArrowInvalid, OSError... on damaged files
        raise _unreadable(path, error) from None
    header = _header(path, metadata)
    unit_columns: list[str] = header["unit_columns"]
    indicators: list[str] = header["indicators"]
    years = np.asarray(header["years"], dtype=np.int64)
    attribute_columns = [c for c in unit_columns if c != "geometry"]
    table = _read_columns(parquet, path, ["unit_id", *attribute_columns]
                          + (["geometry"] if header["has_geometry"] else []))
    unit_index = pd.Index(table.column("unit_id").to_pandas(), name="unit_id")
    units = table.select(attribute_columns).to_pandas()
    units.index = unit_index
    for column, dtype in header["unit_dtypes"].items():
        if dtype == "object":
            units[column] = units[column].astype(object).where(units[column].notna(), None)
    if header["has_geometry"]:
        crs = json.loads(metadata[_GEO_KEY])["columns"]["geometry"]["crs"]
        chunks = table.column("geometry").chunks
        geometry = (np.concatenate([shapely.from_wkb(c.to_numpy(zero_copy_only=False)) for c in chunks])
                    if chunks else np.empty(0, dtype=object))
        units = gpd.GeoDataFrame(units, geometry=geometry,
                                 crs=pyproj.CRS.from_json_dict(crs) if crs else None)[unit_columns]
    unit_arrow = table.column("unit_id")
    del table
    pool = pa.default_memory_pool()
    pool.release_unused()  # the Arrow allocator keeps freed reading buffers; hand them back before the values
    values = _values(parquet, path, indicators, unit_index, unit_arrow, years, bool(header["values_sorted"]))
    pool.release_unused()
    return Panel(units, values, _decode(header["meta"]), Ledger.from_dict(header["ledger"]))


def _unreadable(path: Path, error: Exception) -> DataError:
    return DataError(f"{path}: not a ShrinkWatch panel file: not readable as Parquet (truncated or damaged? "
                     f"{error}); {_MAKE_ONE}")


def _read_columns(parquet: pq.ParquetFile, path: Path, columns: list[str]) -> pa.Table:
    """``columns`` of the panel file (a missing one or a damaged page: a DataError naming the file)."""
    absent = [c for c in columns if c not in parquet.schema_arrow.names]
    if absent:
        raise DataError(f"{path}: damaged ShrinkWatch panel: its metadata lists column(s) {absent} that the file "
                        f"does not have; {_MAKE_ONE}")
    try:
        return parquet.read(columns=columns, use_threads=False)
    except Exception as error:  # noqa: BLE001 - pyarrow: ArrowInvalid, OSError... on damaged files
        raise _unreadable(path, error) from None


def _header(path: Path, metadata: Mapping[bytes, bytes]) -> dict[str, Any]:
    """The ShrinkWatch metadata of a panel file, its format and version checked."""
    raw = metadata.get(_META_KEY)
    if raw is None:
        kind = "a GeoParquet file" if _GEO_KEY in metadata else "a Parquet file"
        raise DataError(f"{path}: {kind} without ShrinkWatch panel metadata: not a ShrinkWatch panel; make a "
                        f"panel from it with `shrinkwatch ingest {path} -o PANEL.parquet`")
    try:
        header = json.loads(raw)
    except ValueError as error:
        raise DataError(f"{path}: damaged ShrinkWatch panel metadata ({error}); {_MAKE_ONE}") from None
    expected = f"expected format {PANEL_FORMAT!r} version {PANEL_VERSION}"
    if not isinstance(header, dict) or header.get("format") != PANEL_FORMAT:
        found = header.get("format") if isinstance(header, dict) else header
        raise DataError(f"{path}: a file of format {found!r}, {expected}; {_MAKE_ONE}")
    version = header.get("version")
    if not isinstance(version, int) or version > PANEL_VERSION:
        raise DataError(f"{path}: {PANEL_FORMAT} version {version!r}, {expected}: written by a newer "
                        f"ShrinkWatch; upgrade shrinkwatch to read it")
    if version < PANEL_VERSION:
        raise DataError(f"{path}: {PANEL_FORMAT} version {version}, {expected}: an older layout that is no "
                        f"longer read; {_MAKE_ONE} from the original files again")
    return header


def _values(parquet: pq.ParquetFile, path: Path, indicators: list[str], unit_index: pd.Index,
            unit_arrow: pa.ChunkedArray, years: np.ndarray, values_sorted: bool) -> pd.DataFrame:
    """``Panel.values`` from the per-unit lists: a row for every ``(unit, year)`` with a non-null element.

    Rows come in unit order (file order; sorted unit ids when the written values were sorted),
    years ascending within a unit. Each indicator column is streamed in batches of units
    and its non-null cells compressed straight into that indicator's values array, so no
    whole column is ever held as Arrow. One indicator: one pass into an array of room for
    every cell, shrunk in place to the rows found. Several: a first pass finds which cells
    have a row at all (the union of the non-null cells), a second fills arrays of that size.
    """
    n_units, n_years = len(unit_index), len(years)
    n_cells = n_units * n_years
    columns: dict[str, np.ndarray] = {}
    if len(indicators) == 1:
        present = np.zeros(n_cells, dtype=bool)
        column = np.empty(n_cells, dtype=np.float64)  # pages past the last row are never touched
        row = 0
        for cells, values, valid in _list_batches(parquet, path, indicators[0], n_years):
            present[cells] = valid
            taken = int(np.count_nonzero(valid))
            column[row:row + taken] = values[valid]
            row += taken
        column.resize(row, refcheck=False)  # in place: no view of ``column`` exists
        columns[indicators[0]] = column
    else:
        present = np.zeros(n_cells, dtype=bool)
        for indicator in indicators:
            for cells, _, valid in _list_batches(parquet, path, indicator, n_years):
                present[cells] |= valid
        n_rows = int(np.count_nonzero(present))
        for indicator in indicators:
            column = np.empty(n_rows, dtype=np.float64)
            row = 0
            for cells, values, valid in _list_batches(parquet, path, indicator, n_years):
                rows = present[cells]
                taken = int(np.count_nonzero(rows))
                column[row:row + taken] = np.where(valid, values, np.nan)[rows]
                row += taken
            columns[indicator] = column
    grid = present.reshape(n_units, n_years)
    present_units = grid.any(axis=1)
    counts = grid.sum(axis=1)[present_units]
    n_rows = int(counts.sum())
    # the unit level: sorted ids of the units with a row (as MultiIndex.from_arrays makes it)
    present_ids = unit_arrow if present_units.all() else unit_arrow.filter(pa.array(present_units))
    ascending = len(present_ids) < 2 or not pc.any(pc.less(present_ids[1:], present_ids[:-1])).as_py()
    year_type = np.int8 if n_years <= np.iinfo(np.int8).max else np.int32
    year_codes = np.broadcast_to(np.arange(n_years, dtype=year_type), grid.shape)[grid]
    del grid, present
    unit_positions = np.flatnonzero(present_units)
    if ascending:
        level = unit_index if len(unit_positions) == n_units else unit_index[unit_positions]
        unit_codes = np.repeat(np.arange(len(unit_positions), dtype=np.int32), counts)
    else:
        order = pc.sort_indices(present_ids).to_numpy()
        level = unit_index[unit_positions[order]]
        if values_sorted:  # rows regrouped in sorted unit order (cheaper than sorting the rows)
            starts = np.cumsum(counts) - counts
            rows = np.repeat(starts[order] - (np.cumsum(counts[order]) - counts[order]), counts[order])
            rows += np.arange(n_rows)
            columns = {indicator: column[rows] for indicator, column in columns.items()}
            year_codes = year_codes[rows]
            del rows
            unit_codes = np.repeat(np.arange(len(order), dtype=np.int32), counts[order])
        else:
            rank = np.empty(len(order), dtype=np.int32)
            rank[order] = np.arange(len(order), dtype=np.int32)
            unit_codes = np.repeat(rank, counts)
    index = pd.MultiIndex(levels=[level, pd.Index(years)], codes=[unit_codes, year_codes],
                          names=["unit_id", "year"], verify_integrity=False)
    return pd.DataFrame(columns, index=index, columns=pd.Index(indicators), copy=False)


def _list_batches(parquet: pq.ParquetFile, path: Path, indicator: str,
                  n_years: int) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """A ``list<double>`` column streamed in batches of units: per batch, the slice of the
    ``units x years`` cells it covers, its elements (a zero-copy view) and which are non-null."""
    if indicator not in parquet.schema_arrow.names:
        raise DataError(f"{path}: damaged ShrinkWatch panel: its metadata lists indicator {indicator!r} that the "
                        f"file has no column for; {_MAKE_ONE}")
    field = parquet.schema_arrow.field(indicator)
    if not (pa.types.is_list(field.type) or pa.types.is_large_list(field.type)):
        raise DataError(f"{path}: column {indicator!r} is {field.type}, expected list<double> (one value per "
                        f"year); {_MAKE_ONE}")
    start = 0
    try:
        batches = parquet.iter_batches(batch_size=_BATCH_CELLS // max(n_years, 1) + 1, columns=[indicator],
                                       use_threads=False)
        for batch in batches:
            chunk = batch.column(0)
            if len(chunk) and (chunk.null_count or pc.min_max(pc.list_value_length(chunk)).as_py()
                               != {"min": n_years, "max": n_years}):
                raise DataError(f"{path}: column {indicator!r}: every unit's list must hold one element per "
                                f"year ({n_years}); found lists of other lengths or none; {_MAKE_ONE}")
            child = chunk.flatten()
            if child.type != pa.float64():
                child = child.cast(pa.float64())
            data = child.buffers()[1]
            values = (np.frombuffer(data, dtype=np.float64, count=child.offset + len(child))[child.offset:]
                      if data is not None else np.zeros(0))
            valid = (np.ones(len(child), dtype=bool) if child.null_count == 0
                     else child.is_valid().to_numpy(zero_copy_only=False))
            yield slice(start, start + len(child)), values, valid
            start += len(child)
    except (OSError, pa.ArrowException) as error:
        raise _unreadable(path, error) from None


def _encode(value: Any) -> Any:
    """``value`` as JSON types; DataFrames tagged so that :func:`_decode` restores them."""
    if isinstance(value, pd.DataFrame):
        text = value.to_json(orient="table", index=not isinstance(value.index, pd.RangeIndex), force_ascii=False)
        return {_FRAME_TAG: json.loads(text)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return _encode(value.to_dict())
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return [_encode(v) for v in items]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)  # paths, timestamps


def _decode(value: Any) -> Any:
    """Inverse of :func:`_encode`: tagged DataFrames back to DataFrames."""
    if isinstance(value, dict):
        if set(value) == {_FRAME_TAG}:
            return pd.read_json(io.StringIO(json.dumps(value[_FRAME_TAG])), orient="table")
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def panel_fingerprint(panel: Panel) -> str:
    """A sha256 of the panel's content (unit ids, unit names, years, indicators and values), so a
    run's manifest says which data it saw; the same data gives the same fingerprint.

    Examples
    --------
    >>> a = Panel.from_series({"x": [1.0, 2.0]}, years=[2010, 2020])
    >>> b = Panel.from_series({"x": [1.0, 2.5]}, years=[2010, 2020])
    >>> panel_fingerprint(a) == panel_fingerprint(a), panel_fingerprint(a) == panel_fingerprint(b)
    (True, False)
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([list(map(str, panel.values.columns)), panel.years]).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(panel.units.index.to_series(), index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(panel.units["name"].astype("string"), index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(panel.values, index=True).to_numpy().tobytes())
    return digest.hexdigest()

"""The panel-file reader before issue 15, kept as the baseline of ``bench_panelfile.py``.

It read the whole table into Arrow, converted the unit columns through pandas (unit ids
to Python objects and back), decoded the per-unit lists with NaN copies, and built the
``(unit_id, year)`` index with ``MultiIndex.from_arrays`` over a per-row array of unit
ids (30,000,000 Python references at 1M x 30, then factorised): 3.4 GiB peak for a 1M x 30
panel. Do not use it for anything else.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely

from shrinkwatch.core.panel import Panel


def read_panel_previous(path: str | Path) -> Panel:
    """``read_panel`` as it was (no error handling: the benchmark reads a good file)."""
    table = pq.read_table(path)
    header = json.loads(table.schema.metadata[b"shrinkwatch"])
    unit_columns: list[str] = header["unit_columns"]
    indicators: list[str] = header["indicators"]
    years = np.asarray(header["years"], dtype=np.int64)
    attribute_columns = [c for c in unit_columns if c != "geometry"]
    units = table.select(["unit_id", *attribute_columns]).to_pandas().set_index("unit_id")
    units.index = pd.Index(units.index.astype(str).to_numpy(dtype=object), name="unit_id")
    for column, dtype in header["unit_dtypes"].items():
        if dtype == "object":
            units[column] = units[column].astype(object).where(units[column].notna(), None)
    if header["has_geometry"]:
        crs = json.loads(table.schema.metadata[b"geo"])["columns"]["geometry"]["crs"]
        geometry = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
        units = gpd.GeoDataFrame(units, geometry=geometry,
                                 crs=pyproj.CRS.from_json_dict(crs) if crs else None)[unit_columns]
    values = _values(table, indicators, units.index, years)
    if header["values_sorted"]:
        values = values.sort_index()
    return Panel(units, values, {"id": "previous"})


def _values(table: pa.Table, indicators: list[str], unit_ids: pd.Index, years: np.ndarray) -> pd.DataFrame:
    shape = (len(unit_ids), len(years))
    columns: dict[str, np.ndarray] = {}
    present = np.zeros(shape, dtype=bool)
    for indicator in indicators:
        flat = table.column(indicator).combine_chunks().flatten()
        columns[indicator] = flat.to_numpy(zero_copy_only=False).astype(np.float64).reshape(shape)
        present |= ~flat.is_null().to_numpy(zero_copy_only=False).reshape(shape)
    unit_position, year_position = np.nonzero(present)
    index = pd.MultiIndex.from_arrays([unit_ids.to_numpy(dtype=object)[unit_position], years[year_position]],
                                      names=["unit_id", "year"])
    return pd.DataFrame({i: columns[i][unit_position, year_position] for i in indicators}, index=index,
                        columns=pd.Index(indicators), dtype=np.float64)

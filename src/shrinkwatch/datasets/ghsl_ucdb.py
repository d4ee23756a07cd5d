"""Adapter: GHS Urban Centre Database 2015 R2019A (multitemporal), read as published.

The UCDB gives, per urban centre, resident population (``P75``, ``P90``,
``P00``, ``P15``) and built-up area in km2 (``B75`` ... ``B15``) for 1975,
1990, 2000 and 2015, and GDP (PPP, ``GDP90_SM`` ... ``GDP15_SM``) for 1990,
2000 and 2015: the schema ShrinkWatch needs to measure the expansion paradox
(built-up land growing while population falls). The adapter reads any
GeoPackage with that schema, the one-centre example in the shared data or
the full 13,135-centre release.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from shrinkwatch.core import Panel, PanelMeta
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import RowRejections
from shrinkwatch.core.messages import message

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = ["load_ucdb", "read_ucdb", "UCDB_YEARS"]

UCDB_YEARS = {"75": 1975, "90": 1990, "00": 2000, "15": 2015}
_INDICATORS = {"P": "pop_resident", "B": "builtup_km2"}
_GDP = {"GDP90_SM": 1990, "GDP00_SM": 2000, "GDP15_SM": 2015}
_ID_COLUMNS = ("ID_HDC_G0", "UC_NM_MN", "CTR_MN_NM", "CTR_MN_ISO", "GRGN_L1")

CITATION = ("Florczyk, A.J. et al. (2019). GHS Urban Centre Database 2015, multitemporal and multidimensional "
            "attributes, R2019A. European Commission, Joint Research Centre. "
            "PID: http://data.europa.eu/89h/53473144-b88c-44bc-b4a3-4583ed1f547e")


def read_ucdb(path: str | Path, dataset: "Dataset | None" = None) -> Panel:
    """Read a UCDB R2019A GeoPackage into a Panel (1975, 1990, 2000, 2015).

    Examples
    --------
    >>> from shrinkwatch import load
    >>> panel = load("ghsl-ucdb-example")
    >>> panel.units["name"].tolist(), panel.years
    (['Las Palmas de Gran Canaria'], [1975, 1990, 2000, 2015])
    >>> panel.values.loc[("1494", 2015), "builtup_km2"].round(2)
    np.float64(24.98)
    """
    path = Path(path)
    try:
        frame = gpd.read_file(path)
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise DataError(f"{path}: not a readable GeoPackage ({error})") from None
    expected = list(_ID_COLUMNS) + [f"{p}{y}" for p in _INDICATORS for y in UCDB_YEARS]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing UCDB column(s) {missing}; expected the GHS-UCDB R2019A schema")
    rows = RowRejections(path, frame.assign(ID_HDC_G0=frame["ID_HDC_G0"].astype(str)),
                        np.arange(1, len(frame) + 1))
    ids = pd.to_numeric(frame["ID_HDC_G0"], errors="coerce")
    rows.take(~(ids.notna() & (ids % 1 == 0)), "ID_HDC_G0", message("datasets.reason.not_centre_id", "en"))
    rows.take(ids.duplicated(), "ID_HDC_G0", message("datasets.reason.duplicate_centre_id", "en"))
    kept = frame[rows.remaining].copy()
    unit_id = ids[rows.remaining].astype(np.int64).astype(str).to_numpy()
    units = gpd.GeoDataFrame(
        {
            "name": kept["UC_NM_MN"].astype(str).to_numpy(),
            "name_en": kept["UC_NM_MN"].astype(str).to_numpy(),
            "parent_id": kept["CTR_MN_ISO"].astype(str).to_numpy(),
            "parent_name": kept["CTR_MN_NM"].astype(str).to_numpy(),
            "kind": "urban centre",
            "region": kept["GRGN_L1"].astype(str).to_numpy(),
            "subregion": kept["GRGN_L2"].astype(str).to_numpy() if "GRGN_L2" in kept else pd.NA,
            "country": kept["CTR_MN_NM"].astype(str).to_numpy(),
            "area_km2": pd.to_numeric(kept["AREA"], errors="coerce").to_numpy() if "AREA" in kept else np.nan,
        },
        geometry=kept.geometry.to_numpy(),
        index=pd.Index(unit_id, name="unit_id"),
        crs=frame.crs or "EPSG:4326",
    )
    parts = []
    for suffix, year in UCDB_YEARS.items():
        part = {canonical: pd.to_numeric(kept[f"{prefix}{suffix}"], errors="coerce").to_numpy(dtype=float)
                for prefix, canonical in _INDICATORS.items()}
        gdp_column = next((c for c, y in _GDP.items() if y == year), None)
        part["gdp"] = (pd.to_numeric(kept[gdp_column], errors="coerce").to_numpy(dtype=float)
                       if gdp_column in kept.columns else np.full(len(kept), np.nan))
        parts.append(pd.DataFrame(part, index=pd.MultiIndex.from_arrays(
            [unit_id, np.full(len(kept), year)], names=["unit_id", "year"])))
    values = pd.concat(parts).sort_index()
    values.loc[values["pop_resident"] < 0, "pop_resident"] = np.nan
    provenance = dataset.source_meta([path]) if dataset is not None else PanelMeta(
        id=path.stem, title=f"GHS-UCDB urban centres ({path.name})", source_files=(str(path),),
        licence="European Commission reuse notice (reuse authorised, source acknowledged)",
        citation=CITATION, publisher_url="https://ghsl.jrc.ec.europa.eu/ghs_stat_ucdb2015mt_r2019a.php",
        unit_definition="GHSL urban centres (contiguous 1 km cells of 1,500+ inhabitants per km2, "
                        "50,000+ in total), fixed 2015 extent")
    meta = replace(
        provenance,
        unit_label="urban centres",
        parent_label="country",
        language="en",
        units_of={"pop_resident": "persons", "builtup_km2": "km2", "gdp": "PPP USD (2011)"},
        notes=("Population and built-up area are GHSL estimates for the 2015 urban-centre extent at each "
               "epoch (1975, 1990, 2000, 2015); GDP is PPP for 1990, 2000 and 2015.",),
    )
    return Panel(units=units, values=values, meta=meta, ledger=rows.ledger())

def load_ucdb(paths: list[Path], dataset: "Dataset") -> Panel:
    """Registry loader for ``ghsl-ucdb-example``."""
    return read_ucdb(paths[0], dataset)

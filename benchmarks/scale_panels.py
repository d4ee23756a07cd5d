"""Generated panels for the scale benchmark, in the tool's own panel-file format.

    python benchmarks/scale_panels.py 100000 [--years 30] [--out DIR]

:func:`scale_panel` makes ``n_units`` seeded random walks of population over ``n_years``
years (1 % of values missing), grouped under 300 parents, with the unit columns a real
panel has (name, English name, parent, kind, region, country) and a point geometry per
unit (lon/lat, EPSG:4326) so that maps, spatial statistics and typology run as on real
data. :func:`scale_panel_file` writes it once with :func:`shrinkwatch.core.panelfile.write_panel`
and reuses the file (cached under ``$TMPDIR/shrinkwatch-scale``), so that every benchmark
measures the CLI on the same file: ``shrinkwatch run --dataset FILE``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.panelfile import write_panel

N_PARENTS = 300
REGIONS = np.array(["North", "South", "East", "West"], dtype=object)


def random_walks(rng: np.random.Generator, n_units: int, n_years: int) -> tuple[np.ndarray, np.ndarray]:
    """``(unit_ids, values)``: seeded random walks of population (units x years), mixed growth and decline,
    1 % of values missing; ids zero-padded like real codes (FIPS, GB/T 2260), so sorted is listed order."""
    start = rng.lognormal(mean=11.0, sigma=1.2, size=n_units)
    trend = rng.normal(0.0, 0.012, size=n_units)
    shocks = rng.normal(0.0, 0.01, size=(n_units, n_years))
    shocks[:, 0] = 0.0
    values = np.round(start[:, None] * np.exp(np.cumsum(trend[:, None] + shocks, axis=1)))
    values[rng.random(values.shape) < 0.01] = np.nan
    width = len(str(n_units - 1))
    unit_ids = np.char.add("g", np.char.zfill(np.arange(n_units).astype(str), width)).astype(object)
    return unit_ids, values


def scale_panel(n_units: int, n_years: int = 30, n_parents: int = N_PARENTS, seed: int = 20250101) -> Panel:
    """:func:`random_walks` of resident population under ``n_parents`` parents, with point geometry."""
    rng = np.random.default_rng(seed)
    years = np.arange(1991, 1991 + n_years)
    unit_ids, values = random_walks(rng, n_units, n_years)
    parent = rng.integers(0, n_parents, size=n_units)
    parent_ids = np.char.add("p", np.char.zfill(parent.astype(str), 3)).astype(object)
    # parents sit on a 20 x 15 lattice of 2-degree cells; units scatter inside their parent's cell
    lon = 70.0 + 2.0 * (parent % 20) + 2.0 * rng.random(n_units)
    lat = 20.0 + 2.0 * (parent // 20) + 2.0 * rng.random(n_units)
    units = gpd.GeoDataFrame(
        {"name": unit_ids, "name_en": unit_ids, "parent_id": parent_ids,
         "parent_name": np.char.add("Parent ", parent.astype(str)).astype(object),
         "kind": "unit", "region": REGIONS[parent % len(REGIONS)], "country": "Generated"},
        geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326",
        index=pd.Index(unit_ids, name="unit_id"))
    index = pd.MultiIndex.from_product([unit_ids, years], names=["unit_id", "year"])
    frame = pd.DataFrame({"pop_resident": values.ravel()}, index=index)
    meta = {"id": f"generated-{n_units}x{n_years}", "title": f"Generated panel, {n_units:,} units x {n_years} years",
            "language": "en", "unit_label": "unit", "parent_label": "parent"}
    return Panel(units, frame, meta)


def scale_panel_file(n_units: int, n_years: int = 30, folder: Path | None = None) -> Path:
    """The panel file of :func:`scale_panel`, written once and reused."""
    folder = folder or Path(tempfile.gettempdir()) / "shrinkwatch-scale"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"generated-{n_units}x{n_years}.parquet"
    if not path.is_file():
        write_panel(scale_panel(n_units, n_years), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("units", type=int)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(scale_panel_file(args.units, args.years, args.out))


if __name__ == "__main__":
    main()

"""Grid engine: raster stacks ``(year, y, x)``, per-pixel trends, exact zonal statistics into a Panel.

- ``stack``: open GeoTIFF series, NetCDF or Zarr lazily into a :class:`~shrinkwatch.grid.stack.Stack`
  (nodata masked, grids checked, sum-preserving reprojection, pixel areas);
- ``trend``: the per-pixel Mann-Kendall / Theil-Sen kernel (Numba);
- ``zonal``: exactextract coverage fractions turned into a :class:`~shrinkwatch.core.Panel`
  (sum, mean, count per unit and year; share of pixels in significant decline; core and periphery);
- ``builtup``: built-up km2 per unit and epoch from GHSL;
- ``compute``: the ``compute.scheduler`` setting (threads, a LocalCluster, an existing Dask cluster).

Names are loaded on first use (PEP 562), so importing the package does not load xarray, Dask or Numba.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # trend (the kernel)
    "ASSESSED": "trend", "BLOCK_FIELDS": "trend", "DECLINE_NODATA": "trend", "DEFAULT_MIN_VALID": "trend",
    "INSUFFICIENT": "trend", "NO_VARIATION": "trend", "STATUS_LABELS": "trend", "PixelTrends": "trend",
    "pixel_trends": "trend", "trend_block": "trend",
    # stacks
    "Stack": "stack", "open_stack": "stack", "stack_from_array": "stack", "pixel_area_km2": "stack",
    "crs_label": "stack", "year_from_name": "stack",
    # zonal statistics, built-up area, trends of a stack
    "Zones": "zonal", "ZonalResult": "zonal", "read_zones": "zonal", "zonal_panel": "zonal",
    "stack_trends": "zonal", "PATTERNS": "zonal",
    "builtup_stack": "builtup", "builtup_panel": "builtup",
    "Engine": "compute", "engine": "compute", "resolve_scheduler": "compute",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shrinkwatch.grid' has no attribute {name!r}")
    return getattr(importlib.import_module(f"shrinkwatch.grid.{module}"), name)

"""Writing per-pixel results as GeoTIFFs on the stack's grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from shrinkwatch.core.errors import OutputError
from shrinkwatch.grid.stack import Stack
from shrinkwatch.grid.trend import DECLINE_NODATA, PixelTrends

__all__ = ["TREND_FILES", "write_trends"]

#: the files ``grid trend`` writes, with what each holds
TREND_FILES = {
    "slope.tif": "Theil-Sen slope, value units per year (NaN: insufficient data)",
    "p.tif": "two-sided Mann-Kendall p value (NaN: insufficient data)",
    "z.tif": "Mann-Kendall z (NaN: insufficient data)",
    "decline.tif": "1 significant decline, 0 none, 255 insufficient data",
}

_MESSAGES = {"write": "cannot write {path} ({error})"}


def write_trends(trends: PixelTrends, stack: Stack, folder: Path, alpha: float = 0.05) -> list[Path]:
    """``slope``, ``p``, ``z`` (float32, NaN nodata) and ``decline`` (uint8, 255 nodata) GeoTIFFs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ny, nx = stack.shape
    base = {"driver": "GTiff", "height": ny, "width": nx, "count": 1, "crs": stack.data.rio.crs,
            "transform": stack.transform, "compress": "deflate", "tiled": nx >= 256 and ny >= 256}
    layers = {"slope.tif": trends.slope, "p.tif": trends.p, "z.tif": trends.z}
    written = []
    for name, array in layers.items():
        written.append(_write(folder / name, np.asarray(array, dtype=np.float32), {**base, "dtype": "float32",
                                                                                      "nodata": np.nan}))
    written.append(_write(folder / "decline.tif", trends.decline_code(alpha),
                          {**base, "dtype": "uint8", "nodata": DECLINE_NODATA}))
    return written


def _write(path: Path, array: np.ndarray, profile: dict) -> Path:
    partial = path.with_name(path.name + ".part")
    try:
        with rasterio.open(partial, "w", **profile) as out:
            out.write(array, 1)
        partial.replace(path)
    except (OSError, rasterio.errors.RasterioIOError) as error:
        partial.unlink(missing_ok=True)
        raise OutputError(_MESSAGES["write"].format(path=path, error=error)) from None
    return path

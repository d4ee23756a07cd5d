"""Grid engine: raster stacks (year, y, x) and what is computed per pixel.

``trend``: the per-pixel Mann-Kendall / Theil-Sen kernel (Numba).
"""

from shrinkwatch.grid.trend import (
    ASSESSED,
    BLOCK_FIELDS,
    DECLINE_NODATA,
    DEFAULT_MIN_VALID,
    INSUFFICIENT,
    NO_VARIATION,
    STATUS_LABELS,
    PixelTrends,
    pixel_trends,
    trend_block,
)

__all__ = [
    "ASSESSED",
    "BLOCK_FIELDS",
    "DECLINE_NODATA",
    "DEFAULT_MIN_VALID",
    "INSUFFICIENT",
    "NO_VARIATION",
    "STATUS_LABELS",
    "PixelTrends",
    "pixel_trends",
    "trend_block",
]

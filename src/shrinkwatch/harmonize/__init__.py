"""Panels onto one boundary vintage: re-keying (vintage), name matching (names), boundary breaks (breaks),
stable geography (clusters).

The China reference tables these use (GB/T 2260 code history, prefecture
crosswalk) live in :mod:`shrinkwatch.datasets.cn_codes` and
:mod:`shrinkwatch.datasets.cn_crosswalk`; their names are re-exported here.
"""

from shrinkwatch.core.meta import BREAK_COLUMNS
from shrinkwatch.datasets.cn_codes import (
    CodeHistory,
    code_history,
    name_stem,
    successor_at,
)
from shrinkwatch.datasets.cn_crosswalk import boundary_breaks
from shrinkwatch.harmonize.breaks import (
    boundary_break_mask,
    boundary_break_reasons,
    with_boundary_breaks,
)
from shrinkwatch.harmonize.clusters import StableClusters, stable_clusters
from shrinkwatch.harmonize.names import match_names
from shrinkwatch.harmonize.vintage import (
    COUNT_INDICATORS,
    SHARE_INDICATORS,
    harmonize_panel,
)

__all__ = [
    "CodeHistory", "code_history", "successor_at", "name_stem", "match_names", "harmonize_panel",
    "boundary_breaks", "boundary_break_mask", "boundary_break_reasons", "with_boundary_breaks",
    "BREAK_COLUMNS", "COUNT_INDICATORS", "SHARE_INDICATORS", "StableClusters", "stable_clusters",
]
from shrinkwatch.harmonize.to_vintage import to_vintage as to_vintage  # noqa: E402 (after __all__: a separate step)

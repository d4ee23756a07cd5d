"""Panels onto one boundary vintage: GB/T 2260 code history, names, boundary breaks."""

from shrinkwatch.harmonize.vintage import (
    BREAK_COLUMNS,
    COUNT_INDICATORS,
    SHARE_INDICATORS,
    CodeHistory,
    boundary_break_mask,
    boundary_break_reasons,
    boundary_breaks,
    code_history,
    harmonize_panel,
    match_names,
    name_stem,
    successor_at,
    with_boundary_breaks,
)

__all__ = [
    "CodeHistory", "code_history", "successor_at", "name_stem", "match_names", "harmonize_panel",
    "boundary_breaks", "boundary_break_mask", "boundary_break_reasons", "with_boundary_breaks",
    "BREAK_COLUMNS", "COUNT_INDICATORS", "SHARE_INDICATORS",
]
from shrinkwatch.harmonize.to_vintage import to_vintage as to_vintage  # noqa: E402 (after __all__: a separate step)

"""The bottom layer: the types every stage hands over (:class:`Panel`, :class:`Identification`),
the errors a user can cause, the row ledger and the panel file format. Imports nothing above it.

The names load on first use (PEP 562), so that importing :mod:`shrinkwatch.core.errors` (the
command line does, to start) does not import pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shrinkwatch.core.ledger import Ledger
    from shrinkwatch.core.meta import BREAK_COLUMNS, Basemap, PanelMeta
    from shrinkwatch.core.panel import NO_VERDICT, STATUSES, UNIT_COLUMNS, Identification, Panel

_HOMES = {
    "Ledger": "shrinkwatch.core.ledger",
    "PanelMeta": "shrinkwatch.core.meta", "Basemap": "shrinkwatch.core.meta", "BREAK_COLUMNS": "shrinkwatch.core.meta",
    "Panel": "shrinkwatch.core.panel", "Identification": "shrinkwatch.core.panel", "UNIT_COLUMNS": "shrinkwatch.core.panel",
    "STATUSES": "shrinkwatch.core.panel", "NO_VERDICT": "shrinkwatch.core.panel",
}

__all__ = ["Panel", "Identification", "PanelMeta", "Ledger", "Basemap", "BREAK_COLUMNS", "UNIT_COLUMNS", "STATUSES",
           "NO_VERDICT"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'shrinkwatch.core' has no attribute {name!r}")

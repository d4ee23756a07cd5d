"""The bottom layer: the types every stage hands over (:class:`Panel`, :class:`Identification`),
the errors a user can cause, the row ledger and the panel file format. Imports nothing above it."""

from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.meta import BREAK_COLUMNS, Basemap, PanelMeta
from shrinkwatch.core.panel import (
           NO_VERDICT,
           STATUSES,
           UNIT_COLUMNS,
           Identification,
           Panel,
)

__all__ = ["Panel", "Identification", "PanelMeta", "Ledger", "Basemap", "BREAK_COLUMNS", "UNIT_COLUMNS", "STATUSES",
           "NO_VERDICT"]

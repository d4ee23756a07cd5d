"""The bottom layer: the types every stage hands over (:class:`Panel`, :class:`Identification`),
the errors a user can cause, the row ledger and the panel file format. Imports nothing above it."""

from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.panel import NO_VERDICT, STATUSES, UNIT_COLUMNS, Identification, Panel

__all__ = ["Ledger", "Panel", "Identification", "UNIT_COLUMNS", "STATUSES", "NO_VERDICT"]

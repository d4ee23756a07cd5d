"""A user's own files (yearbook CSV/TSV/Excel/Parquet/Stata) into a :class:`~shrinkwatch.core.Panel`."""

from shrinkwatch.ingest.tables import (
    CANONICAL_INDICATORS,
    KEY_COLUMNS,
    PANEL_FORMAT,
    SUPPORTED_SUFFIXES,
    IngestError,
    IngestResult,
    Ledger,
    aliases,
    ingest,
    parse_assignments,
    read_panel,
    write_panel,
)

__all__ = [
    "CANONICAL_INDICATORS", "KEY_COLUMNS", "PANEL_FORMAT", "SUPPORTED_SUFFIXES", "IngestError",
    "IngestResult", "Ledger", "aliases", "ingest", "parse_assignments", "read_panel", "write_panel",
]

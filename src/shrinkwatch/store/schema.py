"""The run store's tables and their migrations (SQLAlchemy Core, the same for DuckDB and PostgreSQL).

The schema is versioned: ``store_schema`` has one row per version applied (version, when, by which
ShrinkWatch). Opening a store applies the missing migrations in order, each in the transaction that
records it, so a store is always at one whole version. A store newer than this ShrinkWatch is
refused, never written.

Versions
--------
1. ``runs`` (one row per run) and ``run_units`` (one row per unit of a run, keyed by run and unit).
2. Runs get a ``kind`` (``run``, ``timeline``, ``forecast``; the runs of a version-1 store are all
   ``run``) and unit rows a ``period`` (``""`` for a run; a year or a label for a timeline's or a
   forecast's rows), which joins the key: a timeline holds one status per unit and year.
3. A forecast's numbers get tables of their own: ``forecast_values`` (one row per run, unit and target
   year: the years ahead, every method's forecast, the interval and the probabilities of meeting the
   standard in that year and by then) and ``forecast_watchlist`` (one row per run and rank: the unit and
   its probability). A version-2 store gains them empty: its forecast runs keep their unit rows.

How to add a version: define its tables below as :func:`tables` does, write ``_to_vN(conn)`` that
changes a version N-1 store into it with portable DDL (``ALTER TABLE ... ADD COLUMN``, or build
the new table, copy, drop and rename, as :func:`_to_v2` does), add it to :data:`MIGRATIONS` and
raise :data:`SCHEMA_VERSION`; the test creates a version N-1 store and opens it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import sqlalchemy as sa

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "OWN_TABLES", "FORECAST_METHODS", "FORECAST_BOUNDS", "tables", "schema_table"]

#: The version this ShrinkWatch writes.
SCHEMA_VERSION = 3
#: The tables a store owns (a database that holds other tables of these names is refused).
OWN_TABLES = ("store_schema", "runs", "run_units", "forecast_values", "forecast_watchlist")
#: The forecast methods whose values ``forecast_values`` keeps, one DOUBLE column each
#: (:data:`shrinkwatch.forecast.METHODS`; a test checks that they are the same).
FORECAST_METHODS = ("random_walk", "linear", "loglinear", "damped", "boosted", "combined")
#: The other numbers of a forecast row: the interval and the probabilities of meeting the standard.
FORECAST_BOUNDS = ("lower", "upper", "probability_in_year", "probability_by_year")


def schema_table(metadata: sa.MetaData) -> sa.Table:
    """``store_schema``: one row per schema version applied."""
    return sa.Table(
        "store_schema", metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("applied", sa.DateTime(timezone=True), nullable=False),
        sa.Column("software_version", sa.Text, nullable=False),
    )


def _runs_table(metadata: sa.MetaData, version: int) -> sa.Table:
    kind = [sa.Column("kind", sa.Text, nullable=False, server_default="run")] if version >= 2 else []
    return sa.Table(
        "runs", metadata,
        sa.Column("run_id", sa.Text, primary_key=True),
        *kind,
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("software_version", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("dataset_title", sa.Text, nullable=False),
        sa.Column("dataset_fingerprint", sa.Text, nullable=False),
        sa.Column("source_files", sa.Text, nullable=False),  # JSON list
        sa.Column("standard_id", sa.Text, nullable=False),
        sa.Column("standard_version", sa.Text, nullable=False),
        sa.Column("standard_source", sa.Text, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),  # JSON object: typed values
        sa.Column("options", sa.Text, nullable=False),  # JSON object: analysis, seed, language...
    )


def _units_table(metadata: sa.MetaData, version: int, name: str = "run_units") -> sa.Table:
    period = ([sa.Column("period", sa.Text, primary_key=True, server_default="")] if version >= 2 else [])
    return sa.Table(
        name, metadata,
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("unit_id", sa.Text, primary_key=True),
        *period,
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("parent_id", sa.Text),
        sa.Column("parent_name", sa.Text),
        sa.Column("region", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("severity", sa.Text),
        sa.Column("annual_rate", sa.Double),  # DOUBLE in both: DuckDB's FLOAT would be 4 bytes
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),  # JSON object: every other value of the unit's row
    )


def _forecast_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    values = sa.Table(
        "forecast_values", metadata,
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("unit_id", sa.Text, primary_key=True),
        sa.Column("year", sa.BigInteger, primary_key=True, autoincrement=False),  # the target year
        sa.Column("horizon", sa.BigInteger, nullable=False),  # years ahead of the origin
        *[sa.Column(name, sa.Double) for name in (*FORECAST_METHODS, *FORECAST_BOUNDS)],
    )
    watchlist = sa.Table(
        "forecast_watchlist", metadata,
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("rank", sa.BigInteger, primary_key=True, autoincrement=False),  # 1 = most likely to shrink
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("probability", sa.Double),
    )
    return {"forecast_values": values, "forecast_watchlist": watchlist}


def tables(version: int = SCHEMA_VERSION) -> dict[str, sa.Table]:
    """The store's tables as they are at ``version``."""
    metadata = sa.MetaData()
    out = {"store_schema": schema_table(metadata), "runs": _runs_table(metadata, version),
           "run_units": _units_table(metadata, version)}
    if version >= 3:
        out.update(_forecast_tables(metadata))
    return out


def _unit_index(table: sa.Table) -> sa.Index:
    """``monitor unit`` reads one unit across runs."""
    return sa.Index("run_units_by_unit", table.c.unit_id)


def _to_v1(conn: sa.Connection) -> None:
    current = tables(1)
    for name in ("runs", "run_units"):
        current[name].create(conn)
    _unit_index(current["run_units"]).create(conn)


def _to_v2(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN kind VARCHAR DEFAULT 'run' NOT NULL"))
    # the key gains `period`: build the new table, copy, drop the old one and rename (portable DDL)
    new = _units_table(sa.MetaData(), 2, name="run_units_v2")
    new.create(conn)
    old = tables(1)["run_units"]
    columns = [c.name for c in old.columns]
    conn.execute(new.insert().from_select(columns, sa.select(*[old.c[c] for c in columns])))
    sa.Index("run_units_by_unit", old.c.unit_id).drop(conn)
    old.drop(conn)
    conn.execute(sa.text("ALTER TABLE run_units_v2 RENAME TO run_units"))
    _unit_index(tables(2)["run_units"]).create(conn)


def _to_v3(conn: sa.Connection) -> None:
    current = tables(3)
    for name in ("forecast_values", "forecast_watchlist"):
        current[name].create(conn)
    sa.Index("forecast_values_by_unit", current["forecast_values"].c.unit_id).create(conn)


#: version -> the step that brings a store at the version before it there.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _to_v1, 2: _to_v2, 3: _to_v3}


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)

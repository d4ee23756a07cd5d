"""The run store: where every run is recorded, in an embedded DuckDB file or on a PostgreSQL server.

One code path (SQLAlchemy 2 Core) serves both: DuckDB through the ``duckdb-engine`` dialect, PostgreSQL
through ``psycopg`` (``pip install 'shrinkwatch[postgresql]'``). Two hot steps of every recorded run
skip SQLAlchemy on DuckDB: checking that the store is already at the current schema version (one query)
and writing the run (the record's frames read by DuckDB in one transaction), both through duckdb's
own connection, so that a run never loads duckdb-engine and SQLAlchemy's PostgreSQL dialects, which
cost more than the writing itself. Creating, migrating and reading a store go through SQLAlchemy.
Where the store is:

1. ``--store PATH|URL`` (the ``target`` argument), else
2. ``$SHRINKWATCH_STORE``, else
3. ``shrinkwatch.duckdb`` in the user's data folder (``platformdirs.user_data_dir("shrinkwatch")``).

A run is written in one transaction, so a process killed while writing leaves no part of its run.
DuckDB lets one process at a time open a file for writing and holds an operating-system lock on it
while open; the store opens the file only for the length of one transaction (no connection pool),
and a second process that finds it locked waits and tries again with growing pauses, up to
``$SHRINKWATCH_STORE_TIMEOUT`` seconds (default 30), then fails with :class:`StoreBusyError`
("store is busy: PATH is locked by another process"). PostgreSQL takes concurrent writers itself;
migrations there hold an advisory lock so that two processes never create the tables twice.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from shrinkwatch.core.errors import OptionError, StoreBusyError, StoreError, UnknownIdError
from shrinkwatch.core.panel import STATUSES
from shrinkwatch.report.outputs import software_version
from shrinkwatch.store.records import TEXT_COLUMNS, RunRecord, period_key
from shrinkwatch.store.schema import MIGRATIONS, OWN_TABLES, SCHEMA_VERSION, now, tables

__all__ = ["ENV", "TIMEOUT_ENV", "Store", "default_location", "resolve_target"]

#: The environment variable naming the store (a path or a postgresql:// URL).
ENV = "SHRINKWATCH_STORE"
#: The environment variable giving how many seconds to wait for a busy DuckDB store.
TIMEOUT_ENV = "SHRINKWATCH_STORE_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POSTGRES = ("postgresql", "postgres", "postgresql+psycopg")
_ADVISORY_KEY = 0x5348524B  # "SHRK": the migration lock on a PostgreSQL server
_BATCH = "shrinkwatch_units_batch"
_T = TypeVar("_T")


def default_location() -> Path:
    """``shrinkwatch.duckdb`` in the user's data folder (``~/.local/share/shrinkwatch`` on Linux)."""
    import platformdirs  # deferred: only a run that records without --store asks for the folder

    return Path(platformdirs.user_data_dir("shrinkwatch", appauthor=False)) / "shrinkwatch.duckdb"


def resolve_target(target: str | os.PathLike[str] | None = None) -> str:
    """Where the store is: ``target``, else ``$SHRINKWATCH_STORE``, else :func:`default_location`."""
    if target is not None and str(target).strip():
        return str(target)
    return os.environ.get(ENV, "").strip() or str(default_location())


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"${TIMEOUT_ENV}: expected a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise OptionError(f"${TIMEOUT_ENV}: expected a number of seconds >= 0, got {text!r}")
    return value


class Store:
    """A run store at ``target`` (a file path or a ``postgresql://`` URL; see the module docstring).

    ``create=False`` refuses a DuckDB file that does not exist yet (the ``monitor`` commands read,
    they do not make stores). The tables are created or migrated on first use. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, target: str | os.PathLike[str] | None = None, *, timeout: float | None = None,
                 create: bool = True) -> None:
        text = resolve_target(target)
        self._lazy_engine: sa.Engine | None = None
        self.timeout = _timeout() if timeout is None else float(timeout)
        scheme = _SCHEME.match(text)
        if scheme is not None:
            if scheme.group(1).lower() not in _POSTGRES:
                raise OptionError(f"--store {scheme.group(0)}...: expected a file path or a postgresql:// URL, "
                                  f"got a {scheme.group(1)}:// URL")
            try:
                given = sa.make_url(text)
            except sa.exc.ArgumentError:
                raise OptionError(f"--store {scheme.group(0)}...: not a valid PostgreSQL URL; expected "
                                  "postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
            url = given.set(drivername="postgresql+psycopg")
            self.backend = "postgresql"
            self.label = given.render_as_string(hide_password=True)  # never print a password
            self.path: Path | None = None
            try:
                import psycopg  # noqa: F401  # deferred: the PostgreSQL driver is an optional extra
            except ImportError:
                raise StoreError(f"--store {self.label}: PostgreSQL needs its driver: "
                                 "pip install 'shrinkwatch[postgresql]'") from None
            self._lazy_engine = sa.create_engine(url, poolclass=NullPool)
        else:
            path = Path(text).expanduser()
            self.backend, self.label, self.path = "duckdb", str(path), path
            if path.is_dir():
                raise StoreError(f"--store {path}: is a folder; give a file for the run store "
                                 "(for example shrinkwatch.duckdb)")
            if not path.exists():
                if not create:
                    raise StoreError(f"no run store at {path} yet: `shrinkwatch run` records every run there "
                                     f"(or give --store / ${ENV})")
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise StoreError(f"--store {path}: cannot create its folder: {error.strerror or error}") from None
            # no pool: the file (and DuckDB's lock on it) is held only for the length of a transaction. The
            # engine (and with it duckdb-engine's dialect, which loads SQLAlchemy's PostgreSQL dialects) is made
            # on first use: checking an up-to-date store and recording a run need only duckdb (_fresh, _write_duckdb)
            self._lazy_engine = None
        self._ready = False

    @property
    def _engine(self) -> sa.Engine:
        if self.backend == "duckdb" and self._lazy_engine is None:
            self._lazy_engine = sa.create_engine(sa.URL.create("duckdb", database=str(self.path)), poolclass=NullPool)
        return self._lazy_engine  # type: ignore[return-value]

    @_engine.setter
    def _engine(self, engine: sa.Engine) -> None:
        self._lazy_engine = engine

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lazy_engine is not None:
            self._lazy_engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.label!r})"

    # ------------------------------------------------------------ connections

    def _connect(self) -> sa.Connection:
        """A connection; a locked DuckDB file is tried again with growing pauses until the timeout."""
        def attempt() -> sa.Connection:
            try:
                return self._engine.connect()
            except sa.exc.DBAPIError as error:
                if isinstance(error.orig, duckdb.IOException):
                    raise error.orig from None  # a lock: tried again
                raise self._unusable(str(error.orig) if error.orig is not None else str(error)) from None

        return self._retrying(attempt)

    def _connect_duckdb(self) -> duckdb.DuckDBPyConnection:
        """duckdb's own connection to the store file (no SQLAlchemy), tried again while the file is locked."""
        def attempt() -> duckdb.DuckDBPyConnection:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException:
                raise
            except duckdb.Error as error:
                raise self._unusable(str(error)) from None

        return self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], _T]) -> _T:
        deadline = time.monotonic() + self.timeout
        pause = 0.02
        while True:
            try:
                return attempt()
            except duckdb.IOException as error:
                if "could not set lock" not in str(error).lower():
                    raise self._unusable(str(error)) from None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreBusyError(f"store is busy: {self.label} is locked by another process "
                                         f"(waited {self.timeout:g} s; ${TIMEOUT_ENV} sets the wait)") from None
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, 0.5)

    def _unusable(self, message: str, connecting: bool = True) -> StoreError:
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        first = re.sub(r"^\(?[\w.]+(Exception|Error)\)?:?\s*", "", first)
        if self.backend == "duckdb" and connecting:
            if "not a valid DuckDB database" in first or "Is a directory" in first:
                return StoreError(f"--store {self.label}: not a ShrinkWatch run store (not a DuckDB file)")
            return StoreError(f"--store {self.label}: cannot open the run store: {first}")
        if connecting:
            return StoreError(f"--store {self.label}: cannot reach the run store: {first}")
        return StoreError(f"--store {self.label}: the run store refused the transaction (nothing was written): {first}")

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One transaction on a ready store (tables created or migrated): committed at the end of the
        block, rolled back on any error."""
        connection = self._connect()
        try:
            with connection.begin():
                if not self._ready:
                    self._migrate(connection)
                yield connection
            self._ready = True
        except sa.exc.DBAPIError as error:
            raise self._unusable(str(error.orig) if error.orig is not None else str(error), connecting=False) from None
        finally:
            connection.close()

    def _migrate(self, connection: sa.Connection) -> None:
        if self.backend == "postgresql":  # two processes must not create the tables at once
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        present = set(connection.execute(sa.text(  # cheaper than sa.inspect, the same in both databases
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")).scalars())
        if "store_schema" in present:
            version = connection.execute(sa.text("SELECT max(version) FROM store_schema")).scalar() or 0
        else:
            clash = sorted(present & set(OWN_TABLES)) if self.backend == "postgresql" else sorted(present)
            if clash:
                raise StoreError(f"--store {self.label}: holds tables that are not a ShrinkWatch run store "
                                 f"({', '.join(clash)}); give another file or database")
            tables()["store_schema"].create(connection)
            version = 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"--store {self.label}: the run store has schema version {version}; this ShrinkWatch "
                             f"reads up to version {SCHEMA_VERSION}: upgrade ShrinkWatch")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](connection)
            connection.execute(tables()["store_schema"].insert(),
                               [{"version": step, "applied": now(), "software_version": software_version()}])

    def schema_version(self) -> int:
        if self._fresh():
            return SCHEMA_VERSION
        with self.transaction() as connection:
            return int(connection.execute(sa.text("SELECT max(version) FROM store_schema")).scalar() or 0)

    def _fresh(self) -> bool:
        """Whether this is a DuckDB store already at :data:`SCHEMA_VERSION` (then marked ready: nothing to create
        or migrate), asked through duckdb alone; False for anything else, which the SQLAlchemy path then creates,
        migrates or refuses with its reason."""
        if self.backend != "duckdb" or self.path is None:
            return False
        if self._ready:
            return True
        if not self.path.is_file():
            return False
        connection = self._connect_duckdb()
        try:
            version = connection.execute("SELECT max(version) FROM store_schema").fetchone()
        except duckdb.Error:  # no store_schema table: a new or foreign database, judged by _migrate
            return False
        finally:
            connection.close()
        self._ready = version is not None and version[0] == SCHEMA_VERSION
        return self._ready

    # ------------------------------------------------------------ writing

    def record(self, record: RunRecord) -> None:
        """Write ``record`` in one transaction; a run id already in the store is refused."""
        current = tables()
        runs, units = current["runs"], current["run_units"]
        header = record.header()
        row = {**header, "source_files": _dumps(list(record.source_files)), "parameters": _dumps(record.parameters),
               "options": _dumps(record.options)}
        frame = record.units.reset_index()
        frame.insert(0, "run_id", record.run_id)
        frame["detail"] = [_dumps(detail) for detail in frame["detail"]]
        frame["annual_rate"] = frame["annual_rate"].astype("Float64")  # NaN is NULL in both databases
        frame = frame[[c.name for c in units.columns]]
        forecasts = _forecast_frame(record)
        watchlist = _watchlist_frame(record)
        if self._fresh():  # DuckDB at the current version: duckdb alone writes, columnar, in one transaction
            self._write_duckdb(record, pd.DataFrame([row]), frame, forecasts, watchlist)
            return
        with self.transaction() as connection:
            if connection.execute(sa.select(runs.c.run_id).where(runs.c.run_id == record.run_id)).first():
                raise StoreError(f"run {record.run_id} is already recorded in {self.label}")
            connection.execute(runs.insert(), [row])
            _insert_frame(connection, units, frame)
            _insert_frame(connection, current["forecast_values"], forecasts)
            _insert_frame(connection, current["forecast_watchlist"], watchlist)

    def _write_duckdb(self, record: RunRecord, run: pd.DataFrame, units: pd.DataFrame, forecasts: pd.DataFrame,
                      watchlist: pd.DataFrame) -> None:
        """Write one run's frames through duckdb's own connection in one transaction (rolled back on any error)."""
        current = tables()
        connection = self._connect_duckdb()
        try:
            connection.begin()
            if connection.execute("SELECT 1 FROM runs WHERE run_id = ?", [record.run_id]).fetchone():
                raise StoreError(f"run {record.run_id} is already recorded in {self.label}")
            for name, frame in (("runs", run), ("run_units", units), ("forecast_values", forecasts),
                                ("forecast_watchlist", watchlist)):
                _insert_frame(connection, current[name], frame)
            connection.commit()
        except duckdb.Error as error:
            connection.rollback()
            raise self._unusable(str(error), connecting=False) from None
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    # ------------------------------------------------------------ reading

    def read(self, run_id: str) -> RunRecord:
        """The record of ``run_id``, exactly as it was written."""
        current = tables()
        runs, units = current["runs"], current["run_units"]
        with self.transaction() as connection:
            row = connection.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
            if row is None:
                raise self._unknown_run(connection, run_id)
            result = connection.execute(sa.select(units).where(units.c.run_id == run_id).order_by(units.c.position))
            frame = pd.DataFrame(result.all(), columns=list(result.keys()))
            values, watch = current["forecast_values"], current["forecast_watchlist"]
            result = connection.execute(sa.select(values).where(values.c.run_id == run_id))  # ordered on reading
            forecasts = pd.DataFrame(result.all(), columns=list(result.keys()))
            result = connection.execute(sa.select(watch).where(watch.c.run_id == run_id).order_by(watch.c.rank))
            watchlist = pd.DataFrame(result.all(), columns=list(result.keys()))
        frame = frame.drop(columns=["run_id"]).set_index(["unit_id", "period"])
        frame["detail"] = [json.loads(text) for text in frame["detail"]]
        header = dict(row)
        return RunRecord(**{**header, "source_files": tuple(json.loads(header["source_files"])),
                            "parameters": json.loads(header["parameters"]),
                            "options": json.loads(header["options"])}, units=frame,
                         forecasts=forecasts.drop(columns=["run_id"]).set_index(["unit_id", "year"]),
                         watchlist=watchlist.drop(columns=["run_id"]).set_index("rank"))

    def _unknown_run(self, connection: sa.Connection, run_id: str) -> UnknownIdError:
        runs = tables()["runs"]
        recent = connection.execute(sa.select(runs.c.run_id).order_by(runs.c.created.desc()).limit(5)).scalars().all()
        listing = f"the latest: {', '.join(recent)}" if recent else "the store has no runs yet"
        return UnknownIdError(f"run {run_id!r} is not in the run store {self.label} ({listing}; "
                              "see `shrinkwatch monitor runs`)")

    def runs(self, limit: int | None = None) -> pd.DataFrame:
        """The recorded runs, newest first: id, kind, time, dataset, standard, parameters and, for the
        run's last period, how many units it judged and how many of each status (a forecast's: the status at
        its origin); ``watchlist`` the units on a forecast's watchlist (0 for other kinds)."""
        current = tables()
        runs, units = current["runs"], current["run_units"]
        columns = ["run_id", "kind", "created", "software_version", "dataset_id", "dataset_fingerprint",
                   "standard_id", "standard_version", "parameters"]
        query = sa.select(*[runs.c[c] for c in columns]).order_by(runs.c.created.desc(), runs.c.run_id)
        if limit is not None:
            query = query.limit(limit)
        with self.transaction() as connection:
            listed = pd.DataFrame(connection.execute(query).all(), columns=columns)
            grouped = sa.select(units.c.run_id, units.c.period, units.c.status, sa.func.count().label("n"))
            if limit is not None:
                grouped = grouped.where(units.c.run_id.in_(listed["run_id"].tolist()))
            counted = connection.execute(grouped.group_by(units.c.run_id, units.c.period, units.c.status))
            counts = pd.DataFrame(counted.all(), columns=["run_id", "period", "status", "n"])
            watch = current["forecast_watchlist"]
            on_watch = sa.select(watch.c.run_id, sa.func.count().label("n"))
            if limit is not None:
                on_watch = on_watch.where(watch.c.run_id.in_(listed["run_id"].tolist()))
            watching = {run_id: int(n) for run_id, n in connection.execute(on_watch.group_by(watch.c.run_id)).all()}
        last = counts.groupby("run_id")["period"].agg(lambda p: max(p, key=period_key)) if len(counts) else None
        statuses = list(STATUSES)
        table = listed.set_index("run_id")
        counts = counts[counts["run_id"].isin(table.index)]
        table["periods"] = counts.groupby("run_id")["period"].nunique() if len(counts) else 0
        if last is not None:
            counts = counts[counts["period"] == counts["run_id"].map(last)]
        wide = counts.pivot_table(index="run_id", columns="status", values="n", aggfunc="sum", fill_value=0)
        table["units"] = wide.sum(axis=1) if len(wide) else 0
        for status in statuses:
            table[status] = wide[status] if status in wide.columns else 0
        table[["periods", "units", *statuses]] = table[["periods", "units", *statuses]].fillna(0).astype("int64")
        table["watchlist"] = pd.Series([watching.get(r, 0) for r in table.index], index=table.index, dtype="int64")
        table["parameters"] = [json.loads(text) for text in table["parameters"]]
        table["created"] = pd.to_datetime(table["created"], utc=True)
        return table

    def unit_history(self, unit_id: str) -> pd.DataFrame:
        """Every verdict on ``unit_id`` across the recorded runs, oldest first (one row per run and period); a
        forecast's row (its period is the origin year) also has ``forecast_year``, the combined ``forecast`` then
        with its interval (``lower``, ``upper``), the ``probability`` of meeting the standard by then and the
        unit's ``watch_rank`` (empty for other kinds)."""
        current = tables()
        runs, units = current["runs"], current["run_units"]
        query = (sa.select(runs.c.run_id, runs.c.kind, runs.c.created, runs.c.dataset_id, runs.c.standard_id,
                           runs.c.parameters, units.c.period, *[units.c[c] for c in TEXT_COLUMNS], units.c.annual_rate)
                 .join_from(units, runs, units.c.run_id == runs.c.run_id)
                 .where(units.c.unit_id == str(unit_id))
                 .order_by(runs.c.created, runs.c.run_id, units.c.position))
        with self.transaction() as connection:
            result = connection.execute(query)
            table = pd.DataFrame(result.all(), columns=list(result.keys()))
            if table.empty:
                known = connection.execute(sa.select(sa.func.count(sa.distinct(units.c.unit_id)))).scalar() or 0
                example = connection.execute(sa.select(units.c.unit_id).limit(1)).scalar()
                raise UnknownIdError(f"unit {unit_id!r} is in no run recorded in {self.label} ("
                                     + (f"{known:,} units are, such as {example}; ids are as in results.csv)"
                                        if known else "the store has no runs yet)"))
            table = table.merge(self._unit_forecasts(connection, str(unit_id)), how="left", on=["run_id", "period"])
        table["parameters"] = [json.loads(text) for text in table["parameters"]]
        table["created"] = pd.to_datetime(table["created"], utc=True)
        return table

    @staticmethod
    def _unit_forecasts(connection: sa.Connection, unit_id: str) -> pd.DataFrame:
        """Per forecast run of ``unit_id`` (its period is the origin year): the last target year, the combined
        forecast then with its interval, the probability of meeting the standard by then and the unit's rank on
        the watchlist (<NA>: not on it)."""
        current = tables()
        values, watch = current["forecast_values"], current["forecast_watchlist"]
        rows = connection.execute(sa.select(values.c.run_id, values.c.year, values.c.horizon, values.c.combined,
                                            values.c.lower, values.c.upper, values.c.probability_by_year)
                                  .where(values.c.unit_id == unit_id)).all()
        frame = pd.DataFrame(rows, columns=["run_id", "forecast_year", "horizon", "forecast", "lower", "upper",
                                            "probability"])
        frame = frame.sort_values(["run_id", "forecast_year"]).groupby("run_id", sort=False).tail(1)
        frame["period"] = (frame["forecast_year"] - frame["horizon"]).astype(str)
        ranks = connection.execute(sa.select(watch.c.run_id, watch.c.rank).where(watch.c.unit_id == unit_id)).all()
        ranked = pd.DataFrame(ranks, columns=["run_id", "watch_rank"])
        frame = frame.drop(columns=["horizon"]).merge(ranked, how="left", on="run_id")
        frame["forecast_year"] = frame["forecast_year"].astype("Int64")
        frame["watch_rank"] = frame["watch_rank"].astype("Int64")
        for column in ("forecast", "lower", "upper", "probability"):
            frame[column] = frame[column].astype("float64")
        return frame


def _forecast_frame(record: RunRecord) -> pd.DataFrame:
    """The record's forecasts as rows of ``forecast_values`` (NaN as NULL)."""
    assert record.forecasts is not None  # normalised
    frame = record.forecasts.reset_index()
    frame.insert(0, "run_id", record.run_id)
    return frame[[c.name for c in tables()["forecast_values"].columns]]


def _watchlist_frame(record: RunRecord) -> pd.DataFrame:
    assert record.watchlist is not None  # normalised
    frame = record.watchlist.reset_index()
    frame.insert(0, "run_id", record.run_id)
    return frame[[c.name for c in tables()["forecast_watchlist"].columns]]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _insert_frame(connection: sa.Connection | duckdb.DuckDBPyConnection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert ``frame`` into ``table`` in the open transaction: DuckDB reads the frame itself (one
    statement, columnar; row-by-row inserts cost 250 us a row), PostgreSQL gets batched VALUES.
    ``connection`` is a SQLAlchemy connection or duckdb's own (:meth:`Store._write_duckdb`)."""
    if not len(frame):
        return
    raw = connection if isinstance(connection, duckdb.DuckDBPyConnection) else (
        connection.connection.driver_connection if connection.dialect.name == "duckdb" else None)
    if raw is not None:
        raw.register(_BATCH, frame)
        try:
            names = ", ".join(f'"{c}"' for c in frame.columns)
            raw.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {_BATCH}')
        finally:
            raw.unregister(_BATCH)
        return
    assert isinstance(connection, sa.Connection)
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    connection.execute(table.insert(), records)


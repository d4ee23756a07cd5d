"""The run store: what a run wrote is what is read, on DuckDB and on a real PostgreSQL server.

Every test that takes ``store_target`` runs once on a DuckDB file and once on PostgreSQL: the server
named by ``$SHRINKWATCH_TEST_POSTGRES`` (``.ci/run`` installs Debian's package, starts it and sets the
variable; each test gets a schema of its own). Without the variable the PostgreSQL half is skipped,
except in CI, where its absence fails :func:`test_ci_has_a_postgresql_server`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from shrinkwatch.core.errors import DataError, OptionError, StoreBusyError, StoreError, UnknownIdError
from shrinkwatch.identification import identify, load_standard
from shrinkwatch.store import SCHEMA_VERSION, RunRecord, Store, build_record, diff_runs, record_run
from shrinkwatch.store.schema import MIGRATIONS, tables

from conftest import ROOT, TOY_SERIES, run_cli

POSTGRES = os.environ.get("SHRINKWATCH_TEST_POSTGRES", "").strip()
NO_POSTGRES = "no PostgreSQL server: set SHRINKWATCH_TEST_POSTGRES=postgresql://... (.ci/start-postgres starts one)"
BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES, reason=NO_POSTGRES))]


@pytest.fixture(params=BACKENDS)
def store_target(request, tmp_path):
    """A fresh, empty store: a DuckDB file, or a schema of its own on the PostgreSQL server."""
    if request.param == "duckdb":
        yield str(tmp_path / "runs.duckdb")
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(POSTGRES).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_ci_has_a_postgresql_server():
    """In CI the PostgreSQL half of these tests must run, never be skipped."""
    if not os.environ.get("CI"):
        pytest.skip("not in CI: " + NO_POSTGRES)
    assert POSTGRES, "CI must set SHRINKWATCH_TEST_POSTGRES (.ci/run starts the server)"


def _engine(target: str) -> sa.Engine:
    if "://" in target:
        return sa.create_engine(sa.make_url(target).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool)
    return sa.create_engine(sa.URL.create("duckdb", database=target), poolclass=sa.pool.NullPool)


def _count(target: str, sql: str) -> int:
    engine = _engine(target)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(sql).scalar() or 0)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- round trips

def test_a_real_run_round_trips_exactly(store_target, census_panel, census_identification):
    """Every unit's status and values, the parameters with their types, the dataset's fingerprint: read
    back exactly as written, and equal to the identification they came from."""
    std = load_standard("census-decline")
    record = build_record(kind="run", panel=census_panel, results=census_identification, standard=std,
                          options={"seed": 0, "analysis": False, "vary": {"min_loss": [0.0, 0.5]}})
    with Store(store_target) as store:
        store.record(record)
        back = store.read(record.run_id)
    assert back == record
    assert back.units.dtypes.equals(record.units.dtypes)
    # typed parameters: a float stays a float, a year an int
    assert back.parameters == {"min_loss": 0.0, "indicator": "pop_resident", "start_year": 2010, "end_year": 2020}
    assert isinstance(back.parameters["min_loss"], float) and isinstance(back.parameters["start_year"], int)
    assert back.options["vary"] == {"min_loss": [0.0, 0.5]}
    assert (back.standard_id, back.standard_version, back.dataset_id) == ("census-decline", std.version,
                                                                          "cn-prefecture-census")
    assert len(back.dataset_fingerprint) == 64
    # against the identification itself, unit by unit
    table = census_identification.table
    flat = back.unit_table()
    assert list(flat.index) == list(table.index)
    assert flat["status"].tolist() == table["status"].tolist()
    assert (flat["status"] == "shrinking").sum() == 156
    np.testing.assert_array_equal(flat["annual_rate"].to_numpy(), table["annual_rate"].to_numpy())
    np.testing.assert_array_equal(flat["decline_value"].to_numpy(dtype=float), table["decline_value"].to_numpy())
    np.testing.assert_array_equal(flat["pop_resident_2020"].to_numpy(dtype=float),
                                  table["pop_resident_2020"].to_numpy())
    assert flat["reason"].tolist() == table["reason"].tolist()
    assert flat.loc["230100", "decline_pass"] is True and flat.loc["110100", "decline_pass"] is False


def _hostile_table() -> pd.DataFrame:
    """A forecast-like unit table with awkward values: code in names, quotes, newlines, NaN, inf, NA."""
    index = pd.Index(["a'1", "b;--", "c\n2", "d"], name="unit_id")
    return pd.DataFrame({
        "name": ['=HYPERLINK("http://x","y")', "'; DROP TABLE runs; --", "哈尔滨\n市", None],
        "parent_name": ["P1", "P1", "P2", None],
        "region": ["East", "West", "East", pd.NA],
        "status": ["shrinking", "not_shrinking", "insufficient_data", "shrinking"],
        "severity": ["severe", "none", "", "mild"],
        "annual_rate": [-1.25, 0.1 + 0.2, np.nan, -1e-300],
        "probability": [0.1 + 0.7, math.inf, np.nan, 1.0],
        "flag": pd.array([True, False, pd.NA, True], dtype="boolean"),
        "year": [2030, 2031, 2032, 2033],
        "year_na": pd.array([2030, pd.NA, 1, -5], dtype="Int64"),
    }, index=index)


def test_a_timeline_and_hostile_values_round_trip(store_target, toy_panel):
    """Several periods (a timeline) and values that are code, NaN, inf or missing come back as written;
    inf and NaN inside ``detail`` are stored as null (JSON has neither)."""
    early = identify(toy_panel, "census-decline", {"start_year": 2010, "end_year": 2012})
    late = identify(toy_panel, "census-decline", {"start_year": 2010, "end_year": 2015})
    timeline = build_record(kind="timeline", panel=toy_panel, results={"2012": early, "2015": late},
                            standard=load_standard("census-decline"))
    forecast = build_record(kind="forecast", panel=toy_panel, results={"2030": _hostile_table()},
                            parameters={"horizon": 10, "threshold": 0.5, "name": "x"})
    with Store(store_target) as store:
        store.record(timeline)
        store.record(forecast)
        back_timeline, back_forecast = store.read(timeline.run_id), store.read(forecast.run_id)
        listed = store.runs()
    assert back_timeline == timeline and back_forecast == forecast
    assert back_timeline.periods == ["2012", "2015"]
    # the blip falls 2010-2012 (shrinking) and is below its 2010 value in 2015 too; the rise never falls
    assert back_timeline.unit_table("2012")["status"].to_dict() == early.table["status"].to_dict()
    assert back_timeline.unit_table("2015")["status"].to_dict() == late.table["status"].to_dict()
    flat = back_forecast.unit_table()
    assert flat.loc["b;--", "name"] == "'; DROP TABLE runs; --" and flat.loc["c\n2", "name"] == "哈尔滨\n市"
    assert flat.loc["b;--", "annual_rate"] == 0.1 + 0.2 and flat.loc["d", "annual_rate"] == -1e-300
    assert math.isnan(flat.loc["c\n2", "annual_rate"]) and pd.isna(flat.loc["d", "name"])
    assert flat.loc["a'1", "probability"] == 0.1 + 0.7
    assert flat.loc["b;--", "probability"] is None and flat.loc["c\n2", "probability"] is None  # inf, NaN
    assert flat["flag"].tolist() == [True, False, None, True]
    assert flat["year_na"].tolist() == [2030, None, 1, -5]
    assert back_forecast.parameters == {"horizon": 10, "threshold": 0.5, "name": "x"}
    # a timeline is counted at its last period: 2015
    assert listed.loc[timeline.run_id, "periods"] == 2
    assert listed.loc[timeline.run_id, "shrinking"] == int((late.table["status"] == "shrinking").sum())
    assert listed.loc[forecast.run_id, ["kind", "units", "shrinking", "insufficient_data"]].tolist() == [
        "forecast", 4, 2, 1]


def test_a_run_id_is_recorded_once_and_bad_records_are_refused(store_target, toy_panel):
    result = identify(toy_panel, "census-decline")
    record = record_run(store_target, kind="run", panel=toy_panel, results=result, run_id="abc12345")
    with pytest.raises(StoreError, match="run abc12345 is already recorded"):
        record_run(store_target, kind="run", panel=toy_panel, results=result, run_id="abc12345")
    with Store(store_target) as store:
        assert store.read("abc12345") == record
        assert len(store.runs()) == 1
    with pytest.raises(OptionError, match="run kind: expected one of run, timeline, forecast"):
        build_record(kind="nowcast", panel=toy_panel, results=result)
    with pytest.raises(OptionError, match="run id"):
        build_record(kind="run", panel=toy_panel, results=result, run_id="../../etc")
    with pytest.raises(DataError, match="no 'status' column"):
        build_record(kind="forecast", panel=toy_panel, results={"2030": result.table.drop(columns="status")})
    nul = result.table.assign(name=["ok", "bad\x00name", "ok", "ok", "ok"])
    with pytest.raises(DataError, match="name of unit 'slow_fall' holds a NUL"):
        build_record(kind="forecast", panel=toy_panel, results={"2030": nul})


# ---------------------------------------------------------------- monitor: diff and unit history

def _toy_run(statuses: dict[str, tuple[str, str]], parents: dict[str, str] | None = None) -> pd.DataFrame:
    """A unit table: unit -> (status, severity); parent and region from ``parents`` (unit -> 'parent/region')."""
    parents = parents or {}
    rows = {unit: {"status": status, "severity": severity,
                   "parent_name": parents.get(unit, "P/R").split("/")[0],
                   "region": parents.get(unit, "P/R").split("/")[1]}
            for unit, (status, severity) in statuses.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("unit_id")


def test_diff_names_units_that_entered_left_or_changed_severity(store_target, toy_panel):
    where = {"u1": "Hubei/Central", "u2": "Hubei/Central", "u3": "Jilin/Northeast", "u4": "Jilin/Northeast",
             "u5": "Hunan/Central", "u6": "Hunan/Central", "u7": "Hunan/Central", "gone": "Hunan/Central",
             "new": "Jilin/Northeast"}
    a = _toy_run({"u1": ("not_shrinking", "none"), "u2": ("shrinking", "mild"), "u3": ("shrinking", "mild"),
                  "u4": ("shrinking", "severe"), "u5": ("shrinking", "moderate"), "u6": ("insufficient_data", ""),
                  "u7": ("shrinking", "mild"), "gone": ("shrinking", "mild")}, where)
    b = _toy_run({"u1": ("shrinking", "moderate"), "u2": ("not_shrinking", "none"), "u3": ("shrinking", "severe"),
                  "u4": ("shrinking", "mild"), "u5": ("shrinking", "moderate"), "u6": ("shrinking", "mild"),
                  "u7": ("insufficient_data", ""), "new": ("shrinking", "mild")}, where)
    first = record_run(store_target, kind="run", panel=toy_panel, results=a, run_id="runa0001")
    second = record_run(store_target, kind="run", panel=toy_panel, results=b, run_id="runb0002")
    with Store(store_target) as store:
        diff = diff_runs(store.read("runa0001"), store.read("runb0002"))
    assert diff.counts() == {"compared": 7, "entered": 2, "left": 2, "more_severe": 1, "less_severe": 1}
    assert (diff.only_a, diff.only_b) == (1, 1)
    assert diff.changes["change"].to_dict() == {"u1": "entered", "u6": "entered", "u2": "left", "u7": "left",
                                                 "u3": "more_severe", "u4": "less_severe"}
    assert diff.changes.loc["u7", "status_b"] == "insufficient_data"  # left the set unjudged, not recovered
    by_region = diff.by("region")
    assert by_region.loc["Central"].tolist() == [2, 2, 0, 0, 0]  # u1, u6 in; u2, u7 out
    assert by_region.loc["Northeast"].tolist() == [0, 0, 1, 1, 0]
    by_parent = diff.by("parent_name")
    assert by_parent.loc["Hubei", ["entered", "left", "net"]].tolist() == [1, 1, 0]
    assert by_parent.loc["Hunan", ["entered", "left", "net"]].tolist() == [1, 1, 0]
    assert any("1 units are only in run runa0001 and 1 only in run runb0002" in note for note in diff.notes)
    assert first.dataset_fingerprint == second.dataset_fingerprint
    # the command line shows the same
    done = run_cli("monitor", "diff", "runa0001", "runb0002", "--store", store_target)
    assert done.returncode == 0, done.stderr
    assert "7 units in both runs: 2 entered the shrinking set, 2 left it, 1 became more severe, 1 less severe" \
        in done.stdout
    assert "by region:" in done.stdout and "by parent:" in done.stdout
    as_json = json.loads(run_cli("monitor", "diff", "runa0001", "runb0002", "--store", store_target,
                                 "--format", "json").stdout)
    assert as_json["counts"]["entered"] == 2 and {row["region"] for row in as_json["by_region"]} == {
        "Central", "Northeast"}
    # a unit across runs
    history = run_cli("monitor", "unit", "u7", "--store", store_target, "--format", "csv")
    rows = pd.read_csv(io.StringIO(history.stdout))
    assert rows["run_id"].tolist() == ["runa0001", "runb0002"]
    assert rows["status"].tolist() == ["shrinking", "insufficient_data"]


def test_monitor_refuses_unknown_ids_and_bad_options(store_target, toy_panel, tmp_path):
    record_run(store_target, kind="run", panel=toy_panel, results=identify(toy_panel, "census-decline"),
               run_id="known001")
    done = run_cli("monitor", "diff", "known001", "nosuchrun", "--store", store_target)
    assert done.returncode == 2
    assert "run 'nosuchrun' is not in the run store" in done.stderr and "known001" in done.stderr
    done = run_cli("monitor", "unit", "no-such-unit", "--store", store_target)
    assert done.returncode == 2 and "unit 'no-such-unit' is in no run recorded" in done.stderr
    done = run_cli("monitor", "runs", "--store", store_target, "--format", "xml")
    assert done.returncode == 2 and "--format: expected text, csv or json, got 'xml'" in done.stderr
    with Store(store_target) as store, pytest.raises(UnknownIdError, match="nosuchrun"):
        store.read("nosuchrun")


def test_monitor_runs_lists_what_was_recorded(store_target, toy_panel):
    strict = identify(toy_panel, "census-decline", {"min_loss": 0.02})
    loose = identify(toy_panel, "census-decline")
    record_run(store_target, kind="run", panel=toy_panel, results=loose, run_id="loose001",
               standard=load_standard("census-decline"))
    time.sleep(0.01)
    record_run(store_target, kind="run", panel=toy_panel, results=strict, run_id="strict01",
               standard=load_standard("census-decline"))
    done = run_cli("monitor", "runs", "--store", store_target, "--format", "csv")
    assert done.returncode == 0, done.stderr
    runs = pd.read_csv(io.StringIO(done.stdout)).set_index("run_id")
    assert list(runs.index) == ["strict01", "loose001"]  # newest first
    # known answers, from the toy's series: census-decline compares 2015 with 2010, shrinking when
    # P(2015) < P(2010) * (1 - min_loss); the unit with one observed year has insufficient data
    def expected(min_loss: float) -> int:
        return sum(1 for series in TOY_SERIES.values()
                   if not np.isnan(series[0]) and series[-1] < series[0] * (1 - min_loss))

    assert (expected(0.0), expected(0.02)) == (3, 1)
    assert runs.loc["loose001", "shrinking"] == expected(0.0) and runs.loc["strict01", "shrinking"] == expected(0.02)
    assert runs.loc["loose001", "insufficient_data"] == 1 and runs.loc["loose001", "units"] == 5
    assert json.loads(runs.loc["strict01", "parameters"])["min_loss"] == 0.02
    text = run_cli("monitor", "runs", "--store", store_target, "-n", "1")
    assert "1 of 2 runs" in text.stdout and "strict01" in text.stdout and "loose001" not in text.stdout


def test_monitor_runs_without_a_store_says_so(tmp_path):
    missing = tmp_path / "none" / "runs.duckdb"
    done = run_cli("monitor", "runs", "--store", str(missing))
    assert done.returncode == 0 and "no runs recorded yet" in done.stdout
    assert not missing.exists()  # reading never creates a store
    done = run_cli("monitor", "unit", "x", "--store", str(missing))
    assert done.returncode == 7 and f"no run store at {missing} yet" in done.stderr
    empty = tmp_path / "empty.duckdb"
    assert Store(str(empty)).schema_version() == SCHEMA_VERSION
    done = run_cli("monitor", "runs", "--store", str(empty))
    assert done.returncode == 0 and f"no runs recorded yet in the run store {empty}" in done.stdout
    done = run_cli("monitor", "unit", "x", "--store", str(empty))
    assert done.returncode == 2 and "the store has no runs yet" in done.stderr


# ---------------------------------------------------------------- what is not a store

def test_files_that_are_not_a_store_are_refused(tmp_path, toy_panel):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 50)
    done = run_cli("monitor", "runs", "--store", str(text))
    assert done.returncode == 7 and f"--store {text}: not a ShrinkWatch run store (not a DuckDB file)" in done.stderr
    assert text.read_text() == "not a database\n" * 50  # untouched
    done = run_cli("monitor", "runs", "--store", str(tmp_path))
    assert done.returncode == 7 and "is a folder" in done.stderr
    other = tmp_path / "other.duckdb"
    engine = _engine(str(other))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE sales (x INTEGER)")
    engine.dispose()
    with pytest.raises(StoreError, match=r"holds tables that are not a ShrinkWatch run store \(sales\)"):
        record_run(str(other), kind="run", panel=toy_panel, results=identify(toy_panel, "census-decline"))
    done = run_cli("monitor", "runs", "--store", "mysql://user:secret@host/db")
    assert done.returncode == 2 and "expected a file path or a postgresql:// URL" in done.stderr
    assert "secret" not in done.stderr
    done = run_cli("monitor", "runs", "--store", "postgresql://user:secret@127.0.0.1:1/db")
    assert done.returncode == 7 and "cannot reach the run store" in done.stderr and "secret" not in done.stderr


def test_a_store_newer_than_this_shrinkwatch_is_refused(store_target, toy_panel):
    record_run(store_target, kind="run", panel=toy_panel, results=identify(toy_panel, "census-decline"))
    engine = _engine(store_target)
    with engine.begin() as connection:
        connection.execute(tables()["store_schema"].insert(), [{"version": 99, "applied": pd.Timestamp.now("UTC"),
                                                                "software_version": "9.9"}])
    engine.dispose()
    with pytest.raises(StoreError, match=f"schema version 99; this ShrinkWatch reads up to version {SCHEMA_VERSION}"):
        Store(store_target).runs()


# ---------------------------------------------------------------- migrations

def test_a_version_1_store_is_migrated_with_its_runs(store_target):
    """A store written by schema version 1 (runs only, no kind, no period) opens at the current version with
    every run intact: its kind is 'run' and its units' period ''."""
    engine = _engine(store_target)
    v1 = tables(1)
    created = pd.Timestamp("2026-01-02 03:04:05.678901", tz="UTC").to_pydatetime()
    with engine.begin() as connection:
        v1["store_schema"].create(connection)
        MIGRATIONS[1](connection)
        connection.execute(v1["store_schema"].insert(), [{"version": 1, "applied": created, "software_version": "0.0"}])
        connection.execute(v1["runs"].insert(), [{
            "run_id": "old00001", "created": created, "software_version": "0.0", "dataset_id": "toy",
            "dataset_title": "", "dataset_fingerprint": "f" * 64, "source_files": "[]", "standard_id": "census-decline",
            "standard_version": "1.0", "standard_source": "", "parameters": '{"min_loss": 0.5}', "options": "{}"}])
        connection.execute(v1["run_units"].insert(), [
            {"run_id": "old00001", "unit_id": unit, "position": i, "name": unit.upper(), "parent_id": None,
             "parent_name": "P", "region": "R", "status": status, "severity": severity, "annual_rate": rate,
             "reason": None, "detail": json.dumps({"decline_value": rate})}
            for i, (unit, status, severity, rate) in enumerate([("a", "shrinking", "severe", -1.5),
                                                                ("b", "not_shrinking", "none", 0.25)])])
    engine.dispose()
    with Store(store_target) as store:
        assert store.schema_version() == SCHEMA_VERSION == 3
        old = store.read("old00001")
    assert old.kind == "run" and old.created == created and old.parameters == {"min_loss": 0.5}
    assert old.periods == [""]
    assert old.units.reset_index()[["unit_id", "period", "status", "severity", "annual_rate"]].values.tolist() == [
        ["a", "", "shrinking", "severe", -1.5], ["b", "", "not_shrinking", "none", 0.25]]
    assert old.unit_table()["decline_value"].tolist() == [-1.5, 0.25]
    assert _count(store_target, "SELECT count(*) FROM store_schema") == 3  # versions 1, 2 and 3 recorded


# ---------------------------------------------------------------- two processes, and a killed one

_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from shrinkwatch.core import Panel
    from shrinkwatch.identification import identify
    from shrinkwatch.store import record_run
    import shrinkwatch.store.store as module

    target, run_id, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    original = module._insert_frame

    def slow(connection, table, frame):
        original(connection, table, frame)
        print("inside", flush=True)  # the units are written, the transaction is still open
        time.sleep(hold)

    module._insert_frame = slow
    panel = Panel.from_series({f"u{i}": [100.0, 100.0 - i % 7] for i in range(500)}, years=[2010, 2020], id="p")
    started = time.monotonic()
    record_run(target, kind="run", panel=panel, results=identify(panel, "census-decline"), run_id=run_id)
    print(f"done {time.monotonic() - started:.2f}", flush=True)
""")


def _writer(target: str, run_id: str, hold: float, timeout: float = 60) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SHRINKWATCH_STORE_TIMEOUT": str(timeout)}
    return subprocess.Popen([sys.executable, "-c", _WRITER, target, run_id, str(hold)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_inside(process: subprocess.Popen) -> None:
    line = process.stdout.readline() if process.stdout else ""
    assert line.strip() == "inside", (line, process.stderr.read() if process.stderr else "")


@pytest.mark.slow  # real processes (or three real runs): seconds each
def test_two_processes_writing_at_once_both_succeed(store_target):
    """The second writer comes while the first holds its transaction open: it waits (DuckDB's single-writer
    lock) or writes beside it (PostgreSQL), and both runs are there, whole."""
    Store(store_target).schema_version()  # the tables exist before the race
    first = _writer(store_target, "first001", hold=1.5)
    _wait_inside(first)
    second = _writer(store_target, "second01", hold=0)
    out_first, err_first = first.communicate(timeout=120)
    out_second, err_second = second.communicate(timeout=120)
    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second
    with Store(store_target) as store:
        runs = store.runs()
        assert set(runs.index) == {"first001", "second01"}
        assert runs["units"].tolist() == [500, 500]
        assert len(store.read("first001").units) == len(store.read("second01").units) == 500


def test_a_writer_that_waits_too_long_is_told_the_store_is_busy(tmp_path, toy_panel):
    target = str(tmp_path / "runs.duckdb")
    holder = _writer(target, "holder01", hold=8)
    try:
        _wait_inside(holder)
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match=f"store is busy: {target} is locked by another process"):
            record_run(Store(target, timeout=0.5), kind="run", panel=toy_panel,
                       results=identify(toy_panel, "census-decline"))
        assert 0.5 <= time.monotonic() - started < 5
        done = run_cli("monitor", "runs", "--store", target, env={"SHRINKWATCH_STORE_TIMEOUT": "0.3"})
        assert done.returncode == 8
        assert done.stderr.strip().splitlines() == [
            f"error: store is busy: {target} is locked by another process "
            "(waited 0.3 s; $SHRINKWATCH_STORE_TIMEOUT sets the wait)"]
    finally:
        holder.kill()
        holder.wait()
    done = run_cli("monitor", "runs", "--store", target, env={"SHRINKWATCH_STORE_TIMEOUT": "abc"})
    assert done.returncode == 2 and "$SHRINKWATCH_STORE_TIMEOUT: expected a number of seconds" in done.stderr


@pytest.mark.slow  # real processes (or three real runs): seconds each
def test_a_writer_killed_mid_run_leaves_no_partial_run(store_target):
    """SIGKILL after the units are inserted and before the commit: the store opens, has no trace of the run,
    and takes the next run."""
    victim = _writer(store_target, "killed01", hold=60)
    _wait_inside(victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    with Store(store_target, timeout=30) as store:
        assert "killed01" not in store.runs().index
        with pytest.raises(UnknownIdError):
            store.read("killed01")
    assert _count(store_target, "SELECT count(*) FROM run_units WHERE run_id = 'killed01'") == 0
    survivor = _writer(store_target, "after001", hold=0)
    _out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    with Store(store_target) as store:
        assert list(store.runs().index) == ["after001"]


# ---------------------------------------------------------------- the run command records

def test_run_records_under_the_manifest_run_id(tmp_path, store_target, monkeypatch):
    out = tmp_path / "out"
    done = run_cli("run", "--no-analysis", "--lang", "en", "--out", str(out), "--store", store_target)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert f"recorded run {manifest['run_id']} in the run store" in done.stderr
    with Store(store_target) as store:
        record = store.read(manifest["run_id"])
    assert record.dataset_fingerprint == manifest["dataset"]["fingerprint"]
    assert record.parameters == manifest["standard"]["parameters"]
    assert record.options["out"] == str(out.resolve()) and record.options["analysis"] is False
    results = pd.read_csv(out / "results.csv", dtype={"unit_id": str}).set_index("unit_id")
    flat = record.unit_table()
    assert flat["status"].to_dict() == results["status"].to_dict()
    assert (flat["status"] == "shrinking").sum() == 156


@pytest.mark.slow  # real processes (or three real runs): seconds each
def test_run_records_by_default_and_not_with_no_store(tmp_path, monkeypatch):
    """Without --store the run goes to $SHRINKWATCH_STORE, else to shrinkwatch.duckdb in the user's data folder
    (here a temporary XDG_DATA_HOME); --no-store records nothing."""
    monkeypatch.delenv("SHRINKWATCH_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    default = tmp_path / "home" / "shrinkwatch" / "shrinkwatch.duckdb"
    done = run_cli("run", "--no-analysis", "--lang", "en", "--out", str(tmp_path / "a"), "--no-store")
    assert done.returncode == 0, done.stderr
    assert not default.exists() and "recorded run" not in done.stderr
    done = run_cli("run", "--no-analysis", "--lang", "en", "--out", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    assert default.is_file() and f"in the run store {default}" in done.stderr
    monkeypatch.setenv("SHRINKWATCH_STORE", str(tmp_path / "env.duckdb"))
    assert run_cli("run", "--no-analysis", "--out", str(tmp_path / "c")).returncode == 0
    with Store(str(tmp_path / "env.duckdb")) as by_env, Store(str(default)) as by_default:
        assert len(by_env.runs()) == 1 and len(by_default.runs()) == 1
    done = run_cli("run", "--no-analysis", "--out", str(tmp_path / "d"), "--no-store", "--store", "x.duckdb")
    assert done.returncode == 2 and "--store and --no-store: give one of them" in done.stderr


def test_run_checks_the_store_before_reading_data(tmp_path):
    """A bad store fails first, before any data is read or any file written."""
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database")
    done = run_cli("run", "--no-analysis", "--out", str(tmp_path / "out"), "--store", str(bad))
    assert done.returncode == 7 and "not a ShrinkWatch run store" in done.stderr
    assert "loading" not in done.stderr and not (tmp_path / "out").exists()


def test_record_is_equal_only_to_the_same_run(toy_panel):
    record = build_record(kind="run", panel=toy_panel, results=identify(toy_panel, "census-decline"))
    assert isinstance(record, RunRecord) and record == dataclasses.replace(record)
    units = record.units.copy()
    units.loc[("blip", ""), "annual_rate"] = np.nextafter(units.loc[("blip", ""), "annual_rate"], 0)
    assert dataclasses.replace(record, units=units) != record  # one ulp in one unit's rate is another run
    assert dataclasses.replace(record, units=_with_detail(record.units, "rise", decline_pass=None)) != record
    assert dataclasses.replace(record, parameters=dict(record.parameters)) == record
    assert dataclasses.replace(record, parameters={**record.parameters, "min_loss": 0}) != record  # 0 is not 0.0
    flag = _with_detail(record.units, "rise", via_stable_cluster=0)
    assert dataclasses.replace(record, units=flag) != record  # 0 is not False
    assert dataclasses.replace(record, options={"seed": 1}) != record


def _with_detail(units: pd.DataFrame, unit: str, **changes) -> pd.DataFrame:
    out = units.copy()
    out["detail"] = [{**detail, **changes} if unit_id == unit else detail
                     for (unit_id, _), detail in zip(out.index, out["detail"])]
    return out


def test_the_timeline_command_records_every_as_of_year(tmp_path, store_target, toy_panel):
    """`shrinkwatch timeline` records one period per as-of year; what is read is the timeline's status table."""
    from shrinkwatch import write_panel
    from shrinkwatch.identification.timeline import timeline

    panel_file = tmp_path / "toy.parquet"
    write_panel(toy_panel, panel_file)
    done = run_cli("timeline", "--dataset", str(panel_file), "--standard", "consecutive-decline", "--store", store_target)
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.split("recorded run ", 1)[1].split()[0]
    expected = timeline(toy_panel, "consecutive-decline")
    with Store(store_target) as store:
        record = store.read(run_id)
        listed = store.runs()
    assert record.kind == "timeline" and record.standard_id == "consecutive-decline"
    assert record.periods == [str(year) for year in expected.years]
    for year in expected.years:
        assert record.unit_table(str(year))["status"].to_dict() == expected.status[year].astype(str).to_dict()
    last = expected.status[expected.years[-1]].astype(str)
    assert listed.loc[run_id, "periods"] == len(expected.years)
    assert listed.loc[run_id, "shrinking"] == int((last == "shrinking").sum())
    assert run_cli("timeline", "--dataset", str(panel_file), "--no-store").stderr.count("recorded run") == 0


# ---------------------------------------------------------------- forecasts (schema version 3)

def _forecast_panel():
    """60 units with steady growth or decline (tests/test_forecast.py's synthetic panel) and their forecast."""
    from shrinkwatch.forecast import forecast
    from test_forecast import _synthetic

    panel = _synthetic(n=60)
    return panel, forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=30)


def test_schema_keeps_every_forecast_method():
    from shrinkwatch.forecast import METHODS
    from shrinkwatch.store.schema import FORECAST_METHODS

    assert FORECAST_METHODS == METHODS
    assert {"forecast_values", "forecast_watchlist"} <= set(tables())


def test_a_forecast_round_trips_exactly(store_target):
    """A forecast's record: every unit's forecasts, interval and probabilities per year, the watchlist by rank,
    the standard's parameters and the backtest skill; read back exactly, and equal to the forecast itself."""
    from shrinkwatch.store import forecast_parts

    panel, result = _forecast_panel()
    std = load_standard("consecutive-decline")
    record = record_run(store_target, kind="forecast", panel=panel, standard=std, **forecast_parts(result, panel))
    with Store(store_target) as store:
        back = store.read(record.run_id)
        listed = store.runs()
    assert back == record
    assert back.forecasts.dtypes.equals(record.forecasts.dtypes) and back.watchlist.dtypes.equals(record.watchlist.dtypes)
    # against the forecast itself
    paths = result.paths.set_index(["unit_id", "year"]).sort_index()
    assert len(back.forecasts) == len(paths) == 60 * 3
    for column in ("random_walk", "linear", "loglinear", "damped", "boosted", "combined", "lower", "upper",
                   "probability_in_year", "probability_by_year"):
        np.testing.assert_array_equal(back.forecasts[column].to_numpy(), paths[column].to_numpy())
    assert back.forecasts["horizon"].tolist() == [1, 2, 3] * 60
    assert back.watchlist["unit_id"].tolist() == result.watchlist.index.tolist()
    assert back.watchlist.index.tolist() == list(range(1, len(result.watchlist) + 1))
    np.testing.assert_array_equal(back.watchlist["probability"].to_numpy(), result.watchlist["probability"].to_numpy())
    assert back.periods == ["2015"]
    flat = back.unit_table()
    assert flat["status"].tolist() == result.units["status_now"].str.replace(" ", "_").tolist()
    assert flat["probability"].tolist() == result.units["probability"].tolist()
    assert back.parameters == {"n": 3, "indicator": "pop_resident", "year": 2015, "min_annual_loss": 0.0}
    assert back.options["horizon"] == 3 and back.options["draws"] == 30
    assert back.options["beats_baselines"] is result.beats_baselines
    assert [row["predictor"] for row in back.options["skill"]] == ["forecast", "persistence", "base_rate"]
    # monitor runs: the forecast, with its status now and its watchlist
    assert listed.loc[record.run_id, "kind"] == "forecast"
    assert listed.loc[record.run_id, "watchlist"] == len(result.watchlist) > 0
    assert listed.loc[record.run_id, "shrinking"] == int((result.units["status_now"] == "shrinking").sum())
    # monitor unit: the first unit of the watchlist, its probability and rank
    first = result.watchlist.index[0]
    with Store(store_target) as store:
        history = store.unit_history(first)
    row = history.iloc[0]
    assert (row["kind"], row["period"], row["forecast_year"], row["watch_rank"]) == ("forecast", "2015", 2018, 1)
    assert row["probability"] == result.watchlist["probability"].iloc[0]
    assert row["forecast"] == result.watchlist["forecast_2018"].iloc[0]


def test_forecast_tables_belong_to_forecasts_only(toy_panel):
    from shrinkwatch.store import forecast_parts

    panel, result = _forecast_panel()
    parts = forecast_parts(result, panel)
    with pytest.raises(OptionError, match="only a forecast's record holds forecasts"):
        build_record(kind="run", panel=panel, results=identify(panel, "census-decline"), forecasts=parts["forecasts"])
    twice = pd.concat([parts["forecasts"], parts["forecasts"].iloc[:1]])
    with pytest.raises(DataError, match="has two forecasts for 2016"):
        build_record(kind="forecast", panel=panel, **{**parts, "forecasts": twice})


def test_a_failed_forecast_write_leaves_nothing(store_target, monkeypatch):
    """The watchlist insert fails after the run, its units and its forecasts are written: the transaction rolls
    back every table, and the store takes the forecast again."""
    import shrinkwatch.store.store as module
    from shrinkwatch.store import forecast_parts

    panel, result = _forecast_panel()
    record = build_record(kind="forecast", panel=panel, **forecast_parts(result, panel))
    original = module._insert_frame

    def failing(connection, table, frame):
        if table.name == "forecast_watchlist":  # a real error from the database: unit_id is NOT NULL
            frame = frame.assign(unit_id=None)
        original(connection, table, frame)

    Store(store_target).schema_version()  # the tables exist (created in a transaction of their own)
    monkeypatch.setattr(module, "_insert_frame", failing)
    with pytest.raises(StoreError, match="refused the transaction \\(nothing was written\\)"):
        Store(store_target).record(record)
    for table in ("runs", "run_units", "forecast_values", "forecast_watchlist"):
        assert _count(store_target, f"SELECT count(*) FROM {table} WHERE run_id = '{record.run_id}'") == 0, table
    monkeypatch.setattr(module, "_insert_frame", original)
    with Store(store_target) as store:
        store.record(record)
        assert store.read(record.run_id) == record


def test_a_version_2_store_with_a_forecast_is_migrated(store_target):
    """A forecast recorded by schema version 2 (unit rows only) opens at version 3 with its rows intact and no
    forecast table rows; new forecasts are then recorded beside it."""
    from shrinkwatch.store import forecast_parts

    engine = _engine(store_target)
    v2 = tables(2)
    created = pd.Timestamp("2026-06-01 00:00:00", tz="UTC").to_pydatetime()
    with engine.begin() as connection:
        v2["store_schema"].create(connection)
        for version in (1, 2):
            MIGRATIONS[version](connection)
            connection.execute(v2["store_schema"].insert(), [{"version": version, "applied": created,
                                                              "software_version": "0.1"}])
        connection.execute(v2["runs"].insert(), [{
            "run_id": "fc000002", "kind": "forecast", "created": created, "software_version": "0.1",
            "dataset_id": "synthetic", "dataset_title": "", "dataset_fingerprint": "e" * 64, "source_files": "[]",
            "standard_id": "consecutive-decline", "standard_version": "1.0", "standard_source": "",
            "parameters": '{"n": 3}', "options": '{"horizon": 3}'}])
        connection.execute(v2["run_units"].insert(), [
            {"run_id": "fc000002", "unit_id": unit, "period": "2015", "position": i, "name": unit, "parent_id": None,
             "parent_name": None, "region": None, "status": status, "severity": None, "annual_rate": None,
             "reason": None, "detail": json.dumps({"probability": p})}
            for i, (unit, status, p) in enumerate([("u000", "not_shrinking", 0.25), ("u001", "shrinking", None)])])
    engine.dispose()
    panel, result = _forecast_panel()
    with Store(store_target) as store:
        assert store.schema_version() == 3
        old = store.read("fc000002")
        new = record_run(store, kind="forecast", panel=panel, **forecast_parts(result, panel))
        listed = store.runs()
        history = store.unit_history("u000")
    assert old.kind == "forecast" and old.periods == ["2015"] and old.forecasts.empty and old.watchlist.empty
    assert old.unit_table()["probability"].tolist() == [0.25, None]
    assert listed.loc["fc000002", "watchlist"] == 0 and listed.loc[new.run_id, "watchlist"] == len(result.watchlist)
    assert history["run_id"].tolist() == ["fc000002", new.run_id]
    assert pd.isna(history["forecast_year"].iloc[0]) and history["forecast_year"].iloc[1] == 2018
    assert _count(store_target, "SELECT count(*) FROM store_schema") == 3


def test_the_forecast_command_records_and_monitor_shows_it(tmp_path, store_target):
    """`shrinkwatch forecast` records unless --no-store; `monitor runs` lists it with its watchlist, `monitor unit`
    shows a unit's forecast, interval, probability and rank."""
    from shrinkwatch import write_panel
    from test_forecast import _synthetic

    panel_file = tmp_path / "synthetic.parquet"
    write_panel(_synthetic(n=60), panel_file)
    done = run_cli("forecast", "--dataset", str(panel_file), "--standard", "consecutive-decline", "--set", "n=3",
                   "--horizon", "3", "--store", store_target, "-o", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.split("recorded run ", 1)[1].split()[0]
    with Store(store_target) as store:
        record = store.read(run_id)
    assert record.kind == "forecast" and record.standard_id == "consecutive-decline" and len(record.forecasts) == 180
    first = record.watchlist["unit_id"].iloc[0]
    listed = run_cli("monitor", "runs", "--store", store_target)
    assert listed.returncode == 0 and "watchlist" in listed.stdout and run_id in listed.stdout
    shown = run_cli("monitor", "unit", first, "--store", store_target)
    assert shown.returncode == 0, shown.stderr
    line = next(line for line in shown.stdout.splitlines() if line.startswith(run_id))
    p = record.watchlist["probability"].iloc[0]
    assert f"{p:.3f}" in line and " in 2018" in line and "forecast" in line
    as_json = json.loads(run_cli("monitor", "unit", first, "--store", store_target, "--format", "json").stdout)
    assert as_json  # the same rows as data
    quiet = run_cli("forecast", "--dataset", str(panel_file), "--standard", "consecutive-decline", "--set", "n=3",
                    "--horizon", "3", "--no-store", "-o", str(tmp_path / "g.csv"))
    assert quiet.returncode == 0 and "recorded run" not in quiet.stderr

"""``shrinkwatch serve``: the HTTP API against a real server (uvicorn on a loopback socket, httpx over HTTP).

What is checked: the API gives the CLI's counts and tables for the same standard and parameters (US counties,
two standards); hand-made panels give the verdicts computed here independently; a name that is code stays data;
the server opens only what it was given (traversal, absolute paths, links out are 4xx); bad parameters are 422s
that name the parameter; the token, the Host check, the body, query, sweep and time limits; no CORS unless asked;
the upload's ledger; the docs page loads nothing from another host; the cache computes a key once.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import openpyxl
import pandas as pd
import pytest

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.panelfile import write_panel
from shrinkwatch.identification import identify, load_standard
from shrinkwatch.serve import ServeSettings, background, check_bind
from shrinkwatch.serve.cache import ResultCache
from shrinkwatch.serve.security import is_loopback
from shrinkwatch.store import record_run

from conftest import TOY_SERIES, TOY_YEARS, run_cli

US = "us-county-est"
TOKEN = "t0ken-for-the-tests-only-0123456789"
HOSTILE_NAME = '<script>alert("x")</script>'
FORMULA_NAME = '=HYPERLINK("http://example.invalid","click")'


def _toy_panel(values: dict[str, list[float]] | None = None) -> Panel:
    series = values or {unit: [v * 1000 for v in s] for unit, s in TOY_SERIES.items()}
    names = {"steady_fall": HOSTILE_NAME, "slow_fall": FORMULA_NAME}
    units = pd.DataFrame({"name": [names.get(u, u) for u in series], "parent_name": "Toyland"},
                         index=pd.Index(list(series), name="unit_id"))
    return Panel.from_series(series, TOY_YEARS, units=units, id="toy")


LONG_YEARS = list(range(2000, 2021))


def _long_panel() -> Panel:
    """Six units over 21 years, falling or rising 1-3 % a year with a small wobble, and one without data."""
    t = np.arange(len(LONG_YEARS))
    wobble = 1 + 0.002 * np.sin(t)
    series = {f"{kind}_{rate}": 1e5 * (1 + sign * rate / 100) ** t * wobble
              for kind, sign in (("fall", -1), ("rise", 1)) for rate in (1, 2, 3)}
    series["gap"] = np.full(len(t), np.nan)
    return Panel.from_series(series, LONG_YEARS, id="long")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, Path]:
    """A served folder with the toy panel (and one in a subfolder), and hostile things beside it: a panel file
    outside the folder, a link to it from inside, a link to /etc/passwd."""
    root = tmp_path_factory.mktemp("serve")
    folder, outside = root / "panels", root / "outside"
    (folder / "sub").mkdir(parents=True)
    outside.mkdir()
    write_panel(_toy_panel(), folder / "toy.parquet")
    write_panel(_toy_panel(), folder / "sub" / "toy2.parquet")
    write_panel(_long_panel(), folder / "long.parquet")
    write_panel(_toy_panel(), outside / "secret.parquet")
    (folder / "escape.parquet").symlink_to(outside / "secret.parquet")
    (folder / "passwd.parquet").symlink_to("/etc/passwd")
    (folder / "notes.txt").write_text("not a panel")
    store = root / "runs.duckdb"  # two recorded runs of the toy: min_loss 0.02, then 0
    toy = _toy_panel()
    runs = [record_run(store, kind="run", panel=toy, standard=load_standard("census-decline"),
                       results=identify(toy, "census-decline", {"min_loss": value})).run_id for value in (0.02, 0.0)]
    return {"folder": folder, "outside": outside, "store": store, "runs": runs}


@pytest.fixture(scope="module")
def server(served):
    settings = ServeSettings(panel_dirs=(served["folder"],), max_sweep=2000, store=str(served["store"]))
    with background(settings) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as session:
        yield session


def _counts(statuses: pd.Series) -> dict[str, int]:
    known = statuses.isin(["shrinking", "not_shrinking"])
    return {"units_total": len(statuses), "with_data": int(known.sum()),
            "shrinking": int((statuses == "shrinking").sum()), "not_shrinking": int((statuses == "not_shrinking").sum()),
            "insufficient_data": int((statuses == "insufficient_data").sum()),
            "boundary_change": int((statuses == "boundary_change").sum())}


# ---------------------------------------------------------------- the same answers as the command line


@pytest.mark.parametrize("standard, settings", [("census-decline", {"min_loss": "0.05"}),
                                                ("consecutive-decline", {"n": "3", "year": "2019"})])
def test_api_counts_and_statuses_equal_the_cli(client, standard, settings):
    answer = client.get("/api/identify", params={"dataset": US, "standard": standard, **settings})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    args = [item for key, value in settings.items() for item in ("--set", f"{key}={value}")]
    cli = run_cli("identify", "--dataset", US, "--standard", standard, *args, "-f", "json")
    assert cli.returncode == 0, cli.stderr
    rows = pd.DataFrame(json.loads(cli.stdout)).set_index("unit_id")
    assert body["counts"] == _counts(rows["status"])
    assert body["counts"]["units_total"] == 3142 and 0 < body["counts"]["shrinking"] < 3142
    assert f"{body['counts']['shrinking']} shrinking of {body['counts']['with_data']} units" in cli.stderr
    api_rows = pd.DataFrame(body["units"]).set_index("unit_id")
    assert api_rows["status"].to_dict() == rows["status"].to_dict()
    assert api_rows["reason"].to_dict() == rows["reason"].to_dict()
    assert all(body["parameters"][key] == pytest.approx(float(value)) for key, value in settings.items())
    # the dashboard's compact answer (one array per field) says the same
    compact = client.get("/api/identify", params={"dataset": US, "standard": standard, **settings,
                                                  "format": "verdicts"}).json()
    assert compact["counts"] == body["counts"] and "units" not in compact
    assert dict(zip(compact["unit_id"], compact["status"])) == rows["status"].to_dict()
    assert compact["annual_rate"] == pytest.approx(api_rows["annual_rate"].tolist(), nan_ok=True)


@pytest.mark.slow
def test_csv_is_the_cli_table_and_geojson_xlsx_carry_the_same_verdicts(client):
    params = {"dataset": US, "standard": "census-decline", "min_loss": "0.02"}
    csv = client.get("/api/identify", params={**params, "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    cli = run_cli("identify", "--dataset", US, "--standard", "census-decline", "--set", "min_loss=0.02")
    assert csv.text.count("\r\n") == 3143  # RFC 4180 rows: a line break inside a name is always quoted
    same = csv.text.replace("\r\n", "\n") == cli.stdout.replace("\r\n", "\n")  # the runner reads stdout as text
    assert same, "the API's CSV differs from `shrinkwatch identify`'s"
    statuses = pd.read_csv(io.StringIO(csv.text), dtype={"unit_id": str}).set_index("unit_id")["status"]

    geo = client.get("/api/identify", params={**params, "format": "geojson"})
    assert geo.status_code == 200 and geo.headers["content-type"] == "application/geo+json"
    collection = geo.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3142
    by_id = {f["properties"]["unit_id"]: f for f in collection["features"]}
    assert {k: f["properties"]["status"] for k, f in by_id.items()} == statuses.to_dict()
    autauga = by_id["01001"]["geometry"]
    assert autauga["type"] in ("Polygon", "MultiPolygon")
    ring = np.asarray(autauga["coordinates"][0] if autauga["type"] == "Polygon" else autauga["coordinates"][0][0])
    assert ring[:, 0].min() > -87.0 and ring[:, 0].max() < -86.3 and 32.2 < ring[:, 1].min() < 32.8  # Alabama

    xlsx = client.get("/api/identify", params={**params, "format": "xlsx"})
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    rows = list(book["results"].iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 3143
    got = {str(r[header.index("unit_id")]): r[header.index("status")] for r in rows[1:]}
    assert got == statuses.to_dict()


def test_hand_made_panel_gives_the_verdicts_computed_here(client):
    for min_loss in (0.0, 0.004, 0.02):
        body = client.get("/api/identify", params={"dataset": "toy.parquet", "standard": "census-decline",
                                                   "min_loss": min_loss}).json()
        statuses = {u["unit_id"]: u["status"] for u in body["units"]}
        for unit, series in TOY_SERIES.items():
            first, last = series[0], series[-1]
            expected = ("insufficient_data" if np.isnan(first) else
                        "shrinking" if last < first * (1 - min_loss) else "not_shrinking")
            assert statuses[unit] == expected, (unit, min_loss)
    nested = client.get("/api/identify", params={"dataset": "sub/toy2.parquet"})
    assert nested.status_code == 200 and nested.json()["counts"]["units_total"] == 5


def test_timeline_sensitivity_and_unit_profile_on_the_toy(client):
    timeline = client.get("/api/timeline", params={"dataset": "toy.parquet", "standard": "census-decline"}).json()
    assert timeline["years"] == TOY_YEARS[1:]
    for unit, series in TOY_SERIES.items():
        expected = ["insufficient_data" if np.isnan(series[0]) or np.isnan(series[i]) else
                    "shrinking" if series[i] < series[0] else "not_shrinking" for i in range(1, len(TOY_YEARS))]
        assert timeline["status"][unit] == expected, unit
    per_year = {row["year"]: row for row in timeline["counts"]}
    assert per_year[2013]["shrinking"] == 3 and per_year[2012]["shrinking"] == 2  # blip falls below 2010 in 2013

    grid = (0.0, 0.008, 0.02)
    swept = client.get("/api/sensitivity", params={"dataset": "toy.parquet", "standard": "census-decline",
                                                   "vary": "min_loss=" + ",".join(map(str, grid))}).json()
    loss = {u: 1 - s[-1] / s[0] for u, s in TOY_SERIES.items() if not np.isnan(s[0])}  # 5%, 0.5%, -5%, 1%
    assert [row["shrinking"] for row in swept["counts"]] == [sum(v > g for v in loss.values()) for g in grid]
    assert [row["shrinking"] for row in swept["counts"]] == [3, 2, 1]
    robustness = {u["unit_id"]: u["robustness"] for u in swept["units"]}
    assert robustness == {"steady_fall": "robust", "slow_fall": "borderline", "rise": "never",
                          "blip": "borderline", "missing": "insufficient_data"}

    profile = client.get("/api/units/steady_fall", params={"dataset": "toy.parquet", "standard": "census-decline"})
    assert profile.status_code == 200, profile.text
    found = profile.json()
    assert found["status"] == "shrinking" and found["name"] == HOSTILE_NAME
    assert [p["value"] for p in found["series"]] == [v * 1000 for v in TOY_SERIES["steady_fall"]]
    assert [p["year"] for p in found["series"]] == TOY_YEARS
    assert found["criteria"][0]["pass"] is True and found["criteria"][0]["label"]
    assert found["annual_rate"] == pytest.approx(((95 / 100) ** (1 / 5) - 1) * 100, abs=1e-3)
    robust = found["sensitivity"]  # over the standard's own grid, min_loss 0-0.1: a 5 % loss passes 0-0.04
    grid = robust["grid"]["min_loss"]
    assert robust["assessed"] and len(grid) == robust["combinations"] == robust["evaluable"] == 11
    assert robust["shrinking"] == sum(0.05 > g for g in grid) == 5 and robust["robustness"] == "borderline"
    assert found["recommendations"] and all(r["id"] and r["why"] for r in found["recommendations"])
    assert found["forecast"] is None  # auto: not computed yet
    missing = client.get("/api/units/missing", params={"dataset": "toy.parquet"}).json()
    assert missing["status"] == "insufficient_data"
    unknown = client.get("/api/units/steady_fal", params={"dataset": "toy.parquet"})
    assert unknown.status_code == 404 and "steady_fall" in unknown.json()["detail"]


def test_unit_profiles_equal_the_explain_profile_of_the_whole_panel(client, served):
    """The server profiles a unit from per-question tables; the answer is what `explain`'s profile() says on the
    whole identification."""
    from shrinkwatch.analysis.unit_profile import profile
    from shrinkwatch.core.panelfile import read_panel

    panel = read_panel(served["folder"] / "long.parquet")
    ident = identify(panel, "census-decline")
    for unit in panel.units.index:
        expected = profile(panel, ident, unit, drivers=False)
        got = client.get(f"/api/units/{unit}", params={"dataset": "long.parquet", "standard": "census-decline"}).json()
        assert (got["status"], got["reason"], got["severity"]) == (expected.status, expected.reason, expected.severity)
        assert [(c["name"], c["value"], c["pass"]) for c in got["criteria"]] == list(expected.criteria)
        assert [(t["type"], t["trigger"]) for t in got["types"]] == list(expected.types)
        assert (got["cluster"], got["cluster_label"]) == (expected.cluster, expected.cluster_label)
        assert [r["id"] for r in got["recommendations"]] == expected.recommendations["recommendation_id"].tolist()
    assert any(client.get(f"/api/units/{u}", params={"dataset": "long.parquet"}).json()["recommendations"]
               for u in ("fall_1", "fall_2", "fall_3"))


def test_forecast_endpoint_and_its_refusal_on_two_censuses(client):
    answer = client.get("/api/forecast", params={"dataset": "long.parquet", "standard": "census-decline",
                                                 "horizon": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["origin_year"] == LONG_YEARS[-1] and body["horizon"] == 5
    units = {u["unit_id"]: u for u in body["units"]}
    assert units["gap"]["probability"] is None  # no series: no probability, never 0
    falling, rising = units["fall_2"], units["rise_2"]
    assert falling["status_now"] != rising["status_now"]
    assert falling["forecast"] < falling["population"] and rising["forecast"] > rising["population"]
    assert falling["lower"] <= falling["forecast"] <= falling["upper"]
    assert falling["probability"] > 0.9 and rising["probability"] < 0.1
    assert {w["unit_id"] for w in body["watchlist"]} <= {u for u, row in units.items() if "rise" in u}
    profile = client.get("/api/units/fall_2", params={"dataset": "long.parquet", "standard": "census-decline"}).json()
    assert profile["forecast"] is None  # auto: the default horizon has not been computed
    profile = client.get("/api/units/fall_2", params={"dataset": "long.parquet", "standard": "census-decline",
                                                      "forecast": "true"}).json()
    outlook = profile["forecast"]
    assert outlook["years"][0] == LONG_YEARS[-1] + 1 and len(outlook["years"]) == len(outlook["median"])
    assert outlook["median"][-1] < profile["series"][-1]["value"] and 0.9 < outlook["probability"] <= 1
    refused = client.get("/api/forecast", params={"dataset": "cn-prefecture-census"})
    assert refused.status_code == 422 and "three observed years" in refused.json()["detail"]


def test_datasets_standards_and_health(client, served):
    assert client.get("/api/health").json()["status"] == "ok"
    listed = {d["id"]: d for d in client.get("/api/datasets").json()}
    assert {US, "cn-prefecture-census"} <= set(listed) and "cn-boundaries" not in listed  # reference data
    assert listed["toy.parquet"]["kind"] == "panel" and "sub/toy2.parquet" in listed
    assert "escape.parquet" not in listed and "passwd.parquet" not in listed and "notes.txt" not in listed
    assert listed[US]["default_standard"] == "census-decline"
    from shrinkwatch.identification import list_standards

    standards = {s["id"]: s for s in client.get("/api/standards").json()}
    assert set(standards) == {s.id for s in list_standards()}
    min_loss = {p["key"]: p for p in standards["census-decline"]["parameters"]}["min_loss"]
    assert (min_loss["type"], min_loss["default"], min_loss["min"], min_loss["max"]) == ("float", 0.0, 0.0, 1.0)


def test_runs_and_their_diff_from_the_run_store(client, served, tmp_path):
    first, second = served["runs"]
    listed = client.get("/api/runs").json()
    assert [run["run_id"] for run in listed] == [second, first]  # newest first
    by_id = {run["run_id"]: run for run in listed}
    assert by_id[first]["counts"]["shrinking"] == 1 and by_id[second]["counts"]["shrinking"] == 3
    assert by_id[first]["parameters"]["min_loss"] == 0.02 and by_id[first]["dataset"] == "toy"
    diff = client.get(f"/api/runs/{first}/diff/{second}")
    assert diff.status_code == 200, diff.text
    body = diff.json()
    # the units losing more than 0 % but not more than 2 % between 2010 and 2015: slow_fall (0.5 %), blip (1 %)
    entered = {u["unit_id"] for u in body["entered"]}
    expected = {u for u, s in TOY_SERIES.items() if not np.isnan(s[0]) and s[-1] < s[0] and s[-1] >= s[0] * 0.98}
    assert entered == expected == {"slow_fall", "blip"}
    assert body["left"] == [] and body["changed_severity"] == []
    assert body["by_parent"][0]["parent_name"] == "Toyland" and body["by_parent"][0]["entered"] == 2
    backwards = client.get(f"/api/runs/{second}/diff/{first}").json()
    assert {u["unit_id"] for u in backwards["left"]} == expected
    unknown = client.get(f"/api/runs/{first}/diff/nope")
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert client.get(f"/api/runs/{first}/diff/..%2F..%2Fetc").status_code in (404, 422)
    with background(ServeSettings(store=str(tmp_path / "none.duckdb"))) as running:
        assert httpx.get(running.url + "/api/runs").json() == []  # no store yet: none is made
        assert not (tmp_path / "none.duckdb").exists()


# ---------------------------------------------------------------- a name that is code stays data


def test_a_name_that_is_code_is_carried_as_data(client):
    answer = client.get("/api/identify", params={"dataset": "toy.parquet"})
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    names = {u["unit_id"]: u["name"] for u in answer.json()["units"]}
    assert names["steady_fall"] == HOSTILE_NAME and names["slow_fall"] == FORMULA_NAME
    csv = client.get("/api/identify", params={"dataset": "toy.parquet", "format": "csv"}).text
    assert "'" + FORMULA_NAME.replace('"', '""') in csv  # the spreadsheet formula is inert
    geo = client.get("/api/identify", params={"dataset": "toy.parquet", "format": "geojson"}).json()
    assert {f["properties"]["name"] for f in geo["features"]} >= {HOSTILE_NAME, FORMULA_NAME}
    assert all(f["geometry"] is None for f in geo["features"])  # the toy has no outlines


# ---------------------------------------------------------------- only the data it was given


@pytest.mark.parametrize("dataset, status", [
    ("../../etc/passwd", 400), ("../outside/secret.parquet", 400), ("sub/../../outside/secret.parquet", 400),
    ("/etc/passwd", 400), (str(Path("/").resolve() / "tmp" / "x.parquet"), 400), ("C:\\Windows\\win.ini", 400),
    ("..\\..\\etc\\passwd", 400), ("~/secret.parquet", 400), ("escape.parquet", 403), ("passwd.parquet", 403),
    ("notes.txt", 404), ("nope.parquet", 404), ("cn-boundaries", 404), ("toy\x00.parquet", 422),
])
def test_dataset_paths_cannot_leave_the_served_folders(client, dataset, status):
    for path in ("/api/identify", "/api/geometry", "/api/units/x", "/api/timeline"):
        answer = client.get(path, params={"dataset": dataset})
        assert answer.status_code == status, (path, dataset, answer.text)
        assert "detail" in answer.json() and "root:" not in answer.text


def test_url_encoded_traversal_is_refused_too(server):
    raw = httpx.get(server.url + "/api/identify?dataset=%2e%2e%2f%2e%2e%2fetc%2fpasswd", timeout=30)
    assert raw.status_code == 400


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize("params, named", [
    ({"min_loss": "abc"}, "min_loss"), ({"min_loss": "1.5"}, "min_loss"), ({"min_loss": "nan"}, "min_loss"),
    ({"bogus": "1"}, "bogus"), ({"standard": "nope"}, "standard"), ({"lang": "fr"}, "lang"),
    ({"format": "pdf"}, "format"), ({"stable_clusters": "maybe"}, "stable_clusters"),
])
def test_bad_parameters_are_422_naming_the_parameter(client, params, named):
    answer = client.get("/api/identify", params={"dataset": "toy.parquet", "standard": "census-decline", **params})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and named in detail


def test_other_bad_parameters(client):
    twice = client.get("/api/identify?dataset=toy.parquet&min_loss=0.1&min_loss=0.2")
    assert twice.status_code == 422 and "min_loss" in twice.json()["detail"] and "twice" in twice.json()["detail"]
    missing = client.get("/api/identify")
    assert missing.status_code == 422 and "dataset" in missing.json()["detail"]
    horizon = client.get("/api/forecast", params={"dataset": "toy.parquet", "horizon": 0})
    assert horizon.status_code == 422 and "horizon" in horizon.json()["detail"]
    vary = client.get("/api/sensitivity", params={"dataset": "toy.parquet", "vary": "min_loss"})
    assert vary.status_code == 422 and "vary" in vary.json()["detail"]
    vary_key = client.get("/api/sensitivity", params={"dataset": "toy.parquet", "vary": "bogus=1,2"})
    assert vary_key.status_code == 422 and "bogus" in vary_key.json()["detail"]


def test_an_oversized_sweep_is_refused_before_any_work(client):
    started = time.perf_counter()
    answer = client.get("/api/sensitivity", params={"dataset": US, "vary": "min_loss=0:0.5:0.0001"})
    assert answer.status_code == 422
    assert "vary" in answer.json()["detail"] and "5,001" in answer.json()["detail"] and "2,000" in answer.json()["detail"]
    assert time.perf_counter() - started < 5
    fine = client.get("/api/sensitivity", params={"dataset": US, "vary": "min_loss=0,0.05"})
    single = [client.get("/api/identify", params={"dataset": US, "min_loss": v}).json()["counts"]["shrinking"]
              for v in (0, 0.05)]
    assert [row["shrinking"] for row in fine.json()["counts"]] == single


# ---------------------------------------------------------------- cache


def test_results_are_cached_once_per_key_and_follow_the_file(client, server, served, tmp_path):
    workspace = server.app.state.workspace
    before = workspace.results.stats()
    params = {"dataset": "toy.parquet", "standard": "census-decline", "min_loss": "0.0123"}
    answers = []

    def ask() -> None:
        answers.append(httpx.get(server.url + "/api/identify", params=params, timeout=60).json())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = workspace.results.stats()
    assert after.misses - before.misses == 1  # one identification for eight concurrent requests
    assert len(answers) == 8 and all(a == answers[0] for a in answers)
    # the same name with other content on disk: a new fingerprint, a new answer
    path = served["folder"] / "changing.parquet"
    write_panel(Panel.from_series({"a": [100, 90], "b": [100, 110]}, [2010, 2020]), path)
    first = client.get("/api/identify", params={"dataset": "changing.parquet"}).json()
    time.sleep(0.01)
    write_panel(Panel.from_series({"a": [100, 110], "b": [100, 110]}, [2010, 2020]), path)
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    second = client.get("/api/identify", params={"dataset": "changing.parquet"}).json()
    assert (first["counts"]["shrinking"], second["counts"]["shrinking"]) == (1, 0)
    assert first["fingerprint"] != second["fingerprint"]


def test_result_cache_evicts_the_least_recently_used_and_caches_no_failure():
    cache = ResultCache(max_entries=2, max_bytes=10)
    cache.get_or_compute("a", lambda: "12345")
    cache.get_or_compute("b", lambda: "12345")
    cache.get("a")
    cache.get_or_compute("c", lambda: "1")  # evicts b (a was used more recently), then holds 11 bytes > 10: a
    assert "b" not in cache and "c" in cache
    with pytest.raises(ValueError):
        cache.get_or_compute("d", lambda: (_ for _ in ()).throw(ValueError("no")))
    assert "d" not in cache and cache.get_or_compute("d", lambda: "ok") == "ok"


# ---------------------------------------------------------------- token, host, limits, CORS, time


def test_binding_beyond_loopback_needs_a_token():
    assert is_loopback("127.0.0.2") and is_loopback("::1") and not is_loopback("0.0.0.0")
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.org"):
        with pytest.raises(OptionError, match="--token"):
            check_bind(host, None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(OptionError, match="16 characters"):
        check_bind("0.0.0.0", "short")
    with pytest.raises(OptionError, match="letters, digits"):
        check_bind("127.0.0.1", "a" * 16 + ";evil=1")
    refused = run_cli("serve", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 2 and "--token" in refused.stderr and "loopback" in refused.stderr


def test_with_a_token_every_request_needs_it(served):
    with background(ServeSettings(token=TOKEN, panel_dirs=(served["folder"],))) as running:
        url = running.url
        for path in ("/api/health", "/api/identify?dataset=toy.parquet", "/docs", "/openapi.json"):
            assert httpx.get(url + path).status_code == 403, path
        wrong = httpx.get(url + "/api/health", headers={"Authorization": "Bearer " + "x" * len(TOKEN)})
        assert wrong.status_code == 403 and wrong.json()["detail"] == "wrong token"
        assert httpx.get(url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        by_query = httpx.get(url + "/api/identify", params={"dataset": "toy.parquet", "token": TOKEN})
        assert by_query.status_code == 200 and by_query.json()["counts"]["units_total"] == 5  # token is no parameter
        cookie = by_query.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert httpx.get(url + "/api/health", cookies={"shrinkwatch_token": TOKEN}).status_code == 200


def test_host_header_of_another_host_is_refused_on_loopback(server):
    rebinding = httpx.get(server.url + "/api/health", headers={"Host": "evil.example:8000"})
    assert rebinding.status_code == 400 and "loopback" in rebinding.json()["detail"]
    assert httpx.get(server.url + "/api/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_request_size_limits(server, client):
    big = client.request("GET", "/api/health", content=b"x" * (65 * 1024))
    assert big.status_code == 413
    long_query = client.get("/api/identify", params={"dataset": "toy.parquet", "x": "y" * 9000})
    assert long_query.status_code == 414
    closed = client.post("/api/panels", params={"name": "a.csv"}, content=b"unit_id,year,pop\n")
    assert closed.status_code == 403 and "--allow-upload" in closed.json()["detail"]
    assert client.delete("/api/identify").status_code == 405  # read-only: no other methods


def test_upload_ingests_into_the_served_folder_with_its_ledger(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings = ServeSettings(panel_dirs=(folder,), allow_upload=True, max_upload_bytes=2048)
    table = b"unit_id,name,year,pop_resident\nA1,Alpha,2010,1000\nA1,Alpha,2020,900\nB2,Beta,2010,500\n" \
            b"B2,Beta,2020,600\nC3,Gamma,2010,abc\n"
    with background(settings) as running, httpx.Client(base_url=running.url, timeout=120) as session:
        made = session.post("/api/panels", params={"name": "towns.csv"}, content=table)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["dataset"] == "towns.parquet" and body["units"] == 2 and body["years"] == [2010, 2020]
        assert (body["ledger"]["rows_read"], body["ledger"]["rows_accepted"], body["ledger"]["rows_rejected"]) \
            == (5, 4, 1)
        assert body["ledger"]["rejected"][0]["value"] == "abc"
        assert (folder / "towns.parquet").is_file() and (folder / "towns.ledger.csv").is_file()
        counts = session.get("/api/identify", params={"dataset": "towns.parquet"}).json()["counts"]
        assert (counts["shrinking"], counts["not_shrinking"]) == (1, 1)  # 1000 -> 900 falls, 500 -> 600 grows
        again = session.post("/api/panels", params={"name": "towns.csv"}, content=table)
        assert again.status_code == 409
        for name in ("../escape.csv", "/tmp/x.csv", "a.exe", ".hidden.csv"):
            assert session.post("/api/panels", params={"name": name}, content=table).status_code == 422, name
        assert not (tmp_path / "escape.csv").exists() and not (tmp_path / "escape.parquet").exists()
        too_big = session.post("/api/panels", params={"name": "big.csv"}, content=b"x" * 4096)
        assert too_big.status_code == 413 and "--max-upload" in too_big.json()["detail"]

        def chunks():
            for _ in range(8):
                yield b"y" * 512

        streamed = session.post("/api/panels", params={"name": "streamed.csv"}, content=chunks())
        assert streamed.status_code == 413
        junk = session.post("/api/panels", params={"name": "junk.csv"}, content=b"\x00\x01 nothing here\n")
        assert junk.status_code == 422 and junk.json()["detail"]
        assert sorted(p.name for p in folder.iterdir()) == ["towns.ledger.csv", "towns.parquet"]


def test_no_cors_unless_asked(server, served):
    origin = {"Origin": "http://elsewhere.example"}
    plain = httpx.get(server.url + "/api/health", headers=origin)
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    preflight = httpx.options(server.url + "/api/identify", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    allowed = "http://localhost:3000"
    with background(ServeSettings(cors_origins=(allowed,))) as running:
        yes = httpx.get(running.url + "/api/health", headers={"Origin": allowed})
        assert yes.headers["access-control-allow-origin"] == allowed
        no = httpx.get(running.url + "/api/health", headers=origin)
        assert "access-control-allow-origin" not in no.headers
    with pytest.raises(OptionError, match="--cors"):
        ServeSettings(cors_origins=("*",))


def test_a_computation_over_the_time_limit_is_503_then_served_from_the_cache():
    with background(ServeSettings(time_limit=0.05)) as running:
        first = httpx.get(running.url + "/api/identify", params={"dataset": US}, timeout=60)
        assert first.status_code == 503, first.text
        assert "--time-limit" in first.json()["detail"] and first.headers["retry-after"]
        deadline = time.monotonic() + 60
        while True:  # loading goes on in the background; once done the answer is the cache's
            again = httpx.get(running.url + "/api/identify", params={"dataset": US}, timeout=60)
            if again.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert again.status_code == 200 and again.json()["counts"]["units_total"] == 3142


# ---------------------------------------------------------------- docs offline, the real command


def test_docs_page_loads_nothing_from_another_host(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/swagger/") for s in sources), sources
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert len(client.get("/docs/swagger/swagger-ui-bundle.js").content) > 1_000_000
    assert "Apache License" in client.get("/docs/swagger/LICENSE").text
    assert "validatorUrl: null" in client.get("/docs/swagger/init.js").text
    spec = client.get("/openapi.json").json()
    assert {"/api/health", "/api/datasets", "/api/standards", "/api/identify", "/api/units/{unit_id}",
            "/api/sensitivity", "/api/timeline", "/api/forecast", "/api/geometry", "/api/context"} <= set(spec["paths"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_real_command_serves_the_shipped_data(data_dir):
    port = _free_port()
    env = {**os.environ, "SHRINKWATCH_DATA": str(data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "shrinkwatch", "serve", "--port", str(port), "--dataset",
                                "cn-prefecture-census"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()
                time.sleep(0.3)
        listed = {d["id"]: d for d in httpx.get(f"http://127.0.0.1:{port}/api/datasets").json()}
        assert listed["cn-prefecture-census"]["loaded"] and listed["cn-prefecture-census"]["units"] == 369
        counts = httpx.get(f"http://127.0.0.1:{port}/api/identify",
                           params={"dataset": "cn-prefecture-census"}).json()["counts"]
        cli = run_cli("identify", "--dataset", "cn-prefecture-census", "-f", "json")
        assert counts == _counts(pd.DataFrame(json.loads(cli.stdout))["status"])
        context = httpx.get(f"http://127.0.0.1:{port}/api/context", params={"dataset": "cn-prefecture-census"}).json()
        assert {f["properties"]["layer"] for f in context["features"]} == {"province", "taiwan", "maritime"}
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "loading cn-prefecture-census" in err and "127.0.0.1" in err

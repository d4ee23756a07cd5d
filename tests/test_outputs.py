"""Outputs are safe by default: one set per run with a manifest, nothing half-written or overwritten,
no spreadsheet formulas from data (issue 9)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import openpyxl
import pandas as pd
import pytest

from shrinkwatch import Panel, run
from shrinkwatch.core.errors import OutputError
from shrinkwatch.report.outputs import MANIFEST, inert_cells

from conftest import ROOT, run_cli

PAYLOADS = ['=HYPERLINK("http://example.com","click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tTab", "\rReturn",
            "<script>alert(1)</script>"]


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hostile_panel() -> Panel:
    ids = [f"u{i}" for i in range(len(PAYLOADS))]
    units = pd.DataFrame({"name": PAYLOADS, "parent_name": ["=1+1"] * len(ids)}, index=pd.Index(ids, name="unit_id"))
    series = {unit: [100.0, 90.0] for unit in ids}  # all shrinking: every name is listed in the report
    return Panel.from_series(series, years=[2010, 2020], units=units, id="hostile")


def _assert_set_matches_manifest(folder):
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    listed = set(manifest["files"])
    assert listed == {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    for name, entry in manifest["files"].items():
        assert _sha256(folder / name) == entry["sha256"], name
    return manifest


def test_a_run_is_one_set_with_a_manifest(tmp_path):
    out = tmp_path / "out"
    paths = run(_hostile_panel(), out_dir=out, analysis=False)
    assert sorted(p for p in paths if "/" not in p) == ["manifest.json", "report.html", "results.csv",
                                                        "results.parquet", "results.xlsx", "summary.json"]
    assert {p for p in paths if "/" in p} == {f"figures/annual-change-histogram.{ext}" for ext in ("svg", "png", "txt")}
    manifest = _assert_set_matches_manifest(out)
    assert manifest["dataset"]["id"] == "hostile" and len(manifest["dataset"]["fingerprint"]) == 64
    assert manifest["standard"]["id"] == "census-decline"
    assert manifest["standard"]["parameters"]["min_loss"] == 0.0
    assert not list(tmp_path.glob(".out.*"))  # no staging folder left behind


@pytest.mark.slow
def test_a_new_run_replaces_the_whole_earlier_set(tmp_path, census_panel):
    out = tmp_path / "out"
    run(census_panel, out_dir=out, analysis=True, vary={"min_loss": [0.0, 0.05]})
    assert (out / "sensitivity_counts.csv").is_file()
    first = json.loads((out / MANIFEST).read_text())["run_id"]
    run(census_panel, out_dir=out, analysis=False)
    manifest = _assert_set_matches_manifest(out)
    assert manifest["run_id"] != first
    assert not (out / "sensitivity_counts.csv").exists()  # the earlier run's file is not left beside the new set


def test_a_folder_of_other_files_is_refused_and_kept(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.csv").write_text("my own work\n")
    with pytest.raises(OutputError, match="holds files ShrinkWatch did not write"):
        run(_hostile_panel(), out_dir=out, analysis=False)
    assert (out / "results.csv").read_text() == "my own work\n"
    assert [p.name for p in out.iterdir()] == ["results.csv"]
    (out / "notes.txt").write_text("keep me\n")
    (out / "results.csv").unlink()
    run(_hostile_panel(), out_dir=out, analysis=False, force=True)
    assert (out / "notes.txt").read_text() == "keep me\n" and (out / "results.csv").is_file()


def test_cli_output_errors_exit_6_without_a_traceback(tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = run_cli("run", "--no-analysis", "--out", str(tmp_path / "a-file"))
    assert result.returncode == 6 and "is a file, not a folder" in result.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.docx").write_text("x")
    result = run_cli("run", "--no-analysis", "--out", str(tmp_path / "busy"))
    assert result.returncode == 6 and "thesis.docx" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr


def test_text_cells_cannot_become_formulas(tmp_path):
    out = tmp_path / "out"
    run(_hostile_panel(), out_dir=out, analysis=False)
    results = pd.read_csv(out / "results.csv", dtype=str, keep_default_na=False)
    for payload, written in zip(PAYLOADS, results["name"]):
        if payload[0] in "=+-@\t\r":
            assert written == "'" + payload
        else:
            assert written == payload
    assert set(results["parent_name"]) == {"'=1+1"}
    book = openpyxl.load_workbook(out / "results.xlsx")
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "@")), (sheet.title, cell.coordinate, cell.value)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_inert_cells_leave_numbers_and_plain_text_alone():
    frame = pd.DataFrame({"name": ["Harbin", "-x", None], "rate": [-1.5, 0.0, None]},
                         index=pd.Index(["=a", "b", "c"], name="unit_id"))
    out = inert_cells(frame)
    assert out["name"].tolist()[:2] == ["Harbin", "'-x"] and pd.isna(out["name"].iloc[2])
    assert out["rate"].tolist()[:2] == [-1.5, 0.0] and out.index.tolist() == ["'=a", "b", "c"]
    assert frame.index.tolist() == ["=a", "b", "c"]  # the caller's frame is not changed


@pytest.mark.slow
def test_a_run_killed_while_writing_leaves_the_earlier_set_intact(tmp_path, data_dir):
    out = tmp_path / "out"
    first = run_cli("run", "--no-analysis", "--out", str(out), "--data-dir", str(data_dir))
    assert first.returncode == 0
    before = _assert_set_matches_manifest(out)
    env = {**os.environ, "SHRINKWATCH_DATA": str(data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "shrinkwatch", "run", "--no-analysis", "--out", str(out)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:  # kill it once it has begun writing
            if any(tmp_path.glob(".out.partial-*/report.html")):
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be interrupted"
    assert _assert_set_matches_manifest(out)["run_id"] == before["run_id"]  # the earlier set, whole
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["out"]
    again = run_cli("run", "--no-analysis", "--out", str(out), "--data-dir", str(data_dir))
    assert again.returncode == 0 and not list(tmp_path.glob(".out.*"))  # the leftover staging folder is gone
    _assert_set_matches_manifest(out)


# --- results at Arrow speed (issue 15): CSV and Parquet of the same table ------------------------------------

def _typed_frame():
    index = pd.Index(["110100", "=x", "a,b", None], name="unit_id", dtype=object)
    return pd.DataFrame({
        "name": pd.array(['=HYPERLINK("http://x")', 'say "hi"', "line\nbreak", None], dtype="str"),
        "kind": pd.Categorical(["city", "+county", "city", None]),
        "rate": [-1.5, float("nan"), 295338.0, 1e-05],
        "shrinking": pd.array([True, False, None, True], dtype="boolean"),
        "flag": [True, False, True, False],
        "count": pd.array([1, None, 3, 4], dtype="Int64"),
        "year": [2010, 2011, 2012, 2013],
        "mixed": [1, "two", None, 3.5],
    }, index=index)


def test_csv_and_parquet_hold_the_same_table(tmp_path):
    from shrinkwatch.report.outputs import write_csv, write_parquet

    frame = _typed_frame()
    csv_path, parquet_path = write_csv(frame, tmp_path / "t.csv"), write_parquet(frame, tmp_path / "t.parquet")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"unit_id,name,kind,rate,shrinking,flag,count,year,mixed\r\n")   # the header as before
    assert raw.count(b"\r\n") == 5 and b'"line\nbreak"' in raw                            # CRLF rows, LF quoted
    csv = pd.read_csv(csv_path, dtype={"unit_id": str, "name": str, "kind": str, "mixed": str},
                      keep_default_na=False, na_values=[""])
    parquet = pd.read_parquet(parquet_path)
    assert list(csv.columns) == list(parquet.columns) == ["unit_id", *frame.columns]
    # text: the CSV guards formulas with an apostrophe, the Parquet keeps the value as it is
    guarded = lambda v: v if v is None or v[0] not in "=+-@\t\r" else "'" + v  # noqa: E731
    for column in ("unit_id", "name", "kind"):
        written = [None if pd.isna(v) else v for v in parquet[column].tolist()]
        assert [None if pd.isna(v) else v for v in csv[column].tolist()] == [guarded(v) for v in written], column
        assert written == [None if pd.isna(v) else v for v in
                           (frame.index if column == "unit_id" else frame[column]).tolist()]
    assert csv["unit_id"].tolist()[:3] == ["110100", "'=x", "a,b"]   # a code keeps its text; a comma stays in its cell
    for column in ("rate", "year"):
        np.testing.assert_array_equal(csv[column].to_numpy(float), parquet[column].to_numpy(float))
    assert csv["flag"].tolist() == parquet["flag"].tolist() == [True, False, True, False]
    assert csv["shrinking"].astype("boolean").tolist() == parquet["shrinking"].tolist()
    assert parquet["count"].tolist()[1] is pd.NA and pd.isna(csv["count"][1]) and csv["count"][3] == 4
    assert csv["mixed"].tolist()[:2] == parquet["mixed"].tolist()[:2] == ["1", "two"]


def test_csv_text_is_what_write_csv_writes(tmp_path):
    from shrinkwatch.report.outputs import csv_text, write_csv

    frame = _typed_frame()
    assert write_csv(frame, tmp_path / "t.csv").read_bytes().decode("utf-8") == csv_text(frame)
    plain = pd.DataFrame({"a": [1, 2]})
    assert csv_text(plain, index=False) == "a\r\n1\r\n2\r\n"
    assert csv_text(plain).startswith(",a\r\n0,1\r\n")      # an unnamed index: an empty header, as pandas writes
    odd = pd.DataFrame({'x,"y"': [1]})
    assert csv_text(odd, index=False).startswith('"x,""y"""\r\n')  # a header that needs quotes gets them


def test_a_run_writes_results_parquet_equal_to_the_csv(tmp_path):
    out = tmp_path / "out"
    run(_hostile_panel(), out_dir=out, analysis=False)
    csv = pd.read_csv(out / "results.csv", dtype=str, keep_default_na=False)
    parquet = pd.read_parquet(out / "results.parquet")
    assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet) == len(PAYLOADS)
    assert parquet["name"].tolist() == PAYLOADS                     # the values themselves
    assert csv["status"].tolist() == parquet["status"].tolist()
    np.testing.assert_allclose(csv["annual_rate"].astype(float), parquet["annual_rate"])
    assert (csv["shrinking"] == "True").tolist() == parquet["shrinking"].tolist()


def test_an_interrupted_csv_write_leaves_the_earlier_file(tmp_path, monkeypatch):
    import pyarrow.csv as pacsv

    from shrinkwatch.report.outputs import write_csv

    path = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "results.csv", index=False)
    before = path.read_bytes()

    def interrupted(table, sink, **kwargs):
        with open(sink, "wb") as handle:
            handle.write(b"a\r\n")                                  # half a file, then the interruption
        raise KeyboardInterrupt

    monkeypatch.setattr(pacsv, "write_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_csv(pd.DataFrame({"a": range(10)}), path, index=False)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["results.csv"]

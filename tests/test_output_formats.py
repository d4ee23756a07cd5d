"""results.xlsx ready for Excel and Stata, summary.json against its JSON Schema, report.pdf (issue 11 items 7, 8).

The hand-made panel has three US-style county codes with leading zeros and known answers: 01001 loses
10 % (shrinking), 01003 gains, 01005 loses 5 % (shrinking), 02013 has no 2010 value (insufficient data);
so 2 of 3 units with data are shrinking (66.67 %), and Alabama (01) has 2 of 3.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import jsonschema
import numpy as np
import openpyxl
import pandas as pd
import pytest

from shrinkwatch.core import Panel
from shrinkwatch.report.columns import UNDOCUMENTED, column_spec
from shrinkwatch.report.summary import SCHEMA_PATH, SCHEMA_VERSION, summary_schema

from conftest import run_cli

#: A Stata variable name (and a tidy column name for pandas, R and SQL): at most 32 characters.
STATA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _hand_panel() -> Panel:
    units = pd.DataFrame({"name": ["Autauga", "Baldwin", "Barbour", "Aleutians East"],
                          "parent_id": ["01", "01", "01", "02"], "parent_name": ["Alabama"] * 3 + ["Alaska"],
                          "kind": ["county"] * 4, "region": ["South"] * 3 + ["West"]},
                         index=pd.Index(["01001", "01003", "01005", "02013"], name="unit_id"))
    return Panel.from_series({"01001": [1000.0, 900.0], "01003": [1000.0, 1100.0], "01005": [1000.0, 950.0],
                              "02013": [np.nan, 500.0]}, years=[2010, 2020], units=units, id="hand-counties",
                             title="Hand-made counties", units_of={"pop_resident": "persons"})


@pytest.fixture(scope="module")
def hand_run(tmp_path_factory) -> dict[str, Path]:
    from shrinkwatch import run

    return run(_hand_panel(), "census-decline", out_dir=tmp_path_factory.mktemp("hand"), analysis=False)


# ---------------------------------------------------------------- checks shared with the real runs

def check_workbook(path: Path) -> openpyxl.Workbook:
    """Every sheet: frozen header, autofilter over all columns, widths, Stata-valid names; README defines each."""
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["results", "README"]
    assert [c.value for c in book["README"][1]] == ["sheet", "column", "definition", "unit"]
    documented = {(s, c): (d, u) for s, c, d, u in book["README"].iter_rows(min_row=2, values_only=True)}
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        assert sheet.freeze_panes == "A2", sheet.title
        last = openpyxl.utils.get_column_letter(len(header))
        assert sheet.auto_filter.ref == f"A1:{last}{max(sheet.max_row, 2)}", sheet.title
        assert (sheet.title, None) in documented, f"README does not describe the sheet {sheet.title}"
        for position, name in enumerate(header, start=1):
            assert STATA_NAME.match(str(name)), (sheet.title, name)
            assert sheet.column_dimensions[openpyxl.utils.get_column_letter(position)].width >= 8, (sheet.title, name)
            definition, _ = documented.get((sheet.title, name), (None, None))
            assert definition and definition != UNDOCUMENTED, f"README: no definition of {sheet.title}.{name}"
    return book


def check_summary(path: Path) -> dict:
    """summary.json validates against the shipped schema; every key is snake_case."""
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(summary_schema(),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:10])

    def keys(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield key
                yield from keys(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from keys(inner)

    assert [k for k in keys(document) if not SNAKE.match(k)] == []
    assert document["schema_version"] == SCHEMA_VERSION
    return document


# ---------------------------------------------------------------- results.xlsx

def test_workbook_opens_ready_for_excel_and_stata(hand_run):
    book = check_workbook(hand_run["results.xlsx"])
    results = book["results"]
    header = [c.value for c in results[1]]
    assert "annual_rate_pct" in header and "decline_value_frac" in header and "annual_rate" not in header
    rows = {r[0].value: dict(zip(header, r)) for r in results.iter_rows(min_row=2)}
    # ids are text: the zero stays, and Excel is told not to flag them
    assert set(rows) == {"01001", "01003", "01005", "02013"} and rows["01001"]["unit_id"].data_type == "s"
    assert rows["01001"]["parent_id"].value == "01"
    # the rate in percent per year, computed here: (900/1000)^(1/10) - 1
    rate = rows["01001"]["annual_rate_pct"]
    assert rate.value == pytest.approx(100 * ((900 / 1000) ** 0.1 - 1), abs=1e-3) and rate.number_format == "0.00"
    assert rows["01001"]["decline_value_frac"].value == pytest.approx(-0.1) and \
        rows["01001"]["decline_value_frac"].number_format == "0.0000"
    assert rows["01001"]["pop_resident_2010"].data_type == "n" and rows["01001"]["start_year"].value == 2010
    assert rows["02013"]["annual_rate_pct"].value is None  # insufficient data: empty, never 0
    # shares in percent, like the rate: 2 of 3 in Alabama
    by_parent = book["by_parent"]
    header = [c.value for c in by_parent[1]]
    shares = {r[0].value: dict(zip(header, r)) for r in by_parent.iter_rows(min_row=2)}
    assert shares["Alabama"]["share_shrinking_pct"].value == pytest.approx(200 / 3, abs=0.01)
    assert shares["Alabama"]["share_shrinking_pct"].number_format == "0.00"
    assert shares["Alaska"]["share_shrinking_pct"].value is None  # no unit with data: no share
    # the README states the unit of each quantity
    readme = {(r[0], r[1]): r[3] for r in book["README"].iter_rows(min_row=2, values_only=True)}
    assert readme[("results", "annual_rate_pct")] == "percent per year"
    assert readme[("by_parent", "share_shrinking_pct")] == "percent"
    assert readme[("results", "pop_resident_2010")] == "persons"


def test_parameters_are_typed_values(hand_run):
    book = openpyxl.load_workbook(hand_run["results.xlsx"])
    rows = {r[0]: (r[1], r[2]) for r in book["standard"].iter_rows(min_row=2, values_only=True)}
    assert rows["start_year"] == (2010, "integer") and rows["end_year"] == (2020, "integer")
    assert isinstance(rows["min_loss"][0], (int, float)) and rows["min_loss"] == (0, "number")
    assert rows["indicator"] == ("pop_resident", "text")


def test_a_sheet_over_the_row_limit_keeps_its_first_rows_and_names_the_full_table(tmp_path):
    """The fast path past the limit (set to 1 here; XLSX_ROW_LIMIT in a run): the sheet keeps its first rows,
    its header, filter, widths, formats and text ids; a line under it and the README name the full table."""
    from shrinkwatch import identify
    from shrinkwatch.report.xlsx import write_xlsx

    result = identify(_hand_panel(), "census-decline")
    path = write_xlsx(result, tmp_path / "results.xlsx", row_limit=1)
    book = check_workbook_capped(path)
    results = book["results"]
    header = [c.value for c in results[1]]
    row = dict(zip(header, next(results.iter_rows(min_row=2, max_row=2))))
    assert row["unit_id"].value == "01001" and row["unit_id"].data_type == "s" and row["parent_id"].value == "01"
    assert row["annual_rate_pct"].number_format == "0.00"
    assert row["annual_rate_pct"].value == pytest.approx(100 * ((900 / 1000) ** 0.1 - 1), abs=1e-3)
    assert results.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}2"
    assert results["A3"].value is None and results.max_row == 4  # a blank row, then the note
    assert results["A4"].value == ("This sheet holds the first 1 of 4 rows (the workbook's limit per sheet); "
                                   "the full table is results.parquet, results.csv beside this workbook")
    readme = {(r[0], r[1]): r[2] for r in book["README"].iter_rows(min_row=2, values_only=True)}
    assert "first 1 of 4 rows" in readme[("results", None)] and "results.parquet" in readme[("results", None)]
    assert "first" not in readme[("insufficient_data", None)]      # one row: the whole table is in the sheet
    assert len(readme) > 20 and book["standard"].max_row > 2        # the dictionary and parameters stay whole
    # any other sheet over the limit: its full table written beside the workbook, as in the sheet
    by_parent = book["by_parent"]
    assert by_parent["A2"].value == "Alabama" and "by_parent.parquet" in by_parent["A4"].value
    full = pd.read_parquet(tmp_path / "by_parent.parquet")
    assert full["parent_name"].tolist() == ["Alabama", "Alaska"] and "share_shrinking_pct" in full.columns
    assert not (tmp_path / "insufficient_data.parquet").exists()
    # no limit reached: every row, no note, no file beside
    whole = openpyxl.load_workbook(write_xlsx(result, tmp_path / "whole" / "results.xlsx"))
    assert whole["results"].max_row == 5 and [p.name for p in (tmp_path / "whole").iterdir()] == ["results.xlsx"]


def check_workbook_capped(path: Path) -> openpyxl.Workbook:
    """Like :func:`check_workbook`, the note line under a capped table aside."""
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["results", "README"]
    documented = {(s, c): d for s, c, d, u in book["README"].iter_rows(min_row=2, values_only=True)}
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert (sheet.title, None) in documented and all(STATA_NAME.match(str(n)) for n in header), sheet.title
        for position, name in enumerate(header, start=1):
            assert sheet.column_dimensions[openpyxl.utils.get_column_letter(position)].width >= 8, (sheet.title, name)
            assert documented.get((sheet.title, name)) not in (None, UNDOCUMENTED), (sheet.title, name)
    return book


def test_a_column_nobody_documented_says_so():
    """The fallback is visible, never a made-up definition (the real runs below must never hit it)."""
    assert column_spec("results", "mystery_column").definition == UNDOCUMENTED
    assert column_spec("types", "cluster").kind == "count" and column_spec("lisa_clusters", "cluster").kind == "text"


@pytest.mark.slow
def test_every_built_in_standard_has_its_columns_documented(data_dir):
    """Each rule's own columns (criterion values and flags, runs, peaks, scores) have a definition and unit."""
    from shrinkwatch import identify, list_standards, load

    panel = load("us-county-est", data_dir)
    standards = [s.id for s in list_standards()]
    assert len(standards) >= 6
    for standard in standards:
        table = identify(panel, standard).table
        missing = [c for c in table.columns if c != "geometry"
                   and column_spec("results", c, panel.meta.units_of).definition == UNDOCUMENTED]
        assert missing == [], (standard, missing)


# ---------------------------------------------------------------- summary.json

def test_summary_validates_and_states_its_units(hand_run):
    document = check_summary(hand_run["summary.json"])
    assert document["share_shrinking_pct"] == pytest.approx(200 / 3, abs=1e-3)
    assert document["analysis"] is False and document["drivers"] is None and document["sensitivity"] is None
    alabama = next(g for g in document["by_parent"] if g["parent_name"] == "Alabama")
    assert alabama == {"parent_name": "Alabama", "units": 3, "with_data": 3, "shrinking": 2, "not_shrinking": 1,
                       "insufficient_data": 0, "boundary_change": 0, "share_shrinking_pct": pytest.approx(200 / 3, abs=0.01)}
    assert next(g for g in document["by_parent"] if g["parent_name"] == "Alaska")["share_shrinking_pct"] is None


def test_schema_is_valid_draft_2020_12_and_shipped_with_the_package():
    from importlib.resources import files

    shipped = files("shrinkwatch") / "resources" / "schemas" / "summary.schema.json"
    assert shipped.is_file() and Path(str(shipped)) == SCHEMA_PATH
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _messages(errors) -> str:
    """Every message and path of ``errors`` and of the errors under them (a oneOf names its branches')."""
    out = []
    for error in errors:
        out.append(f"{list(error.absolute_path)} {error.message[:300]}")
        out.append(_messages(error.context or []))
    return "\n".join(out)


def refused(document: dict, damage, where: str) -> None:
    """``document`` validates; damaged, it does not, and an error names ``where``."""
    validator = jsonschema.Draft202012Validator(summary_schema())
    assert not list(validator.iter_errors(document))
    broken = copy.deepcopy(document)
    damage(broken)
    errors = list(validator.iter_errors(broken))
    assert errors, f"the schema accepted a summary with {where} damaged"
    assert where in _messages(errors), _messages(errors)


@pytest.mark.parametrize("damage, where", [
    (lambda d: d.update(share_shrinking_pct="no data"), "share_shrinking_pct"),
    (lambda d: d.update({"share-shrinking": 1.0}), "share-shrinking"),
    (lambda d: d.pop("schema_version"), "schema_version"),
    (lambda d: d.update(schema_version="2.0.0"), "schema_version"),
    (lambda d: d["counts"].update(shrinking=-1), "shrinking"),
    (lambda d: d["by_parent"][0].update(share_shrinking_pct=150.0), "share_shrinking_pct"),
    (lambda d: d["by_parent"][0].update(shrinking="2"), "shrinking"),
    (lambda d: d["by_parent"][0].update(region="South"), "region"),
    (lambda d: d.update(drivers={"available": False}), "drivers"),
])
def test_schema_refuses_a_damaged_summary(hand_run, damage, where):
    """A word where a number belongs, a hyphenated key, a missing or foreign version, a negative count, a share
    above 100, a count as text, a stray field, half an analysis: each is refused, and the error names the field."""
    refused(json.loads(hand_run["summary.json"].read_text(encoding="utf-8")), damage, where)


# ---------------------------------------------------------------- report.pdf

def test_run_without_chromium_succeeds_and_says_why(tmp_path):
    """--pdf with no Chromium: the run succeeds, no PDF, the reason printed and kept in the manifest."""
    from shrinkwatch import write_panel

    panel_file = write_panel(_hand_panel(), tmp_path / "hand.parquet")
    done = run_cli("run", "--dataset", str(panel_file), "--standard", "census-decline", "--no-analysis", "--pdf",
                   "--out", str(tmp_path / "out"), env={"SHRINKWATCH_CHROMIUM": str(tmp_path / "no-chromium")})
    assert done.returncode == 0, done.stderr
    assert f"report.pdf skipped: SHRINKWATCH_CHROMIUM={tmp_path / 'no-chromium'} is not a program" in done.stderr
    assert not (tmp_path / "out" / "report.pdf").exists() and "report.pdf" not in done.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pdf"]["requested"] is True and manifest["pdf"]["written"] is False
    assert "no-chromium" in manifest["pdf"]["skipped_reason"] and "report.pdf" not in manifest["files"]


def test_no_pdf_is_the_default(hand_run):
    assert "report.pdf" not in hand_run
    manifest = json.loads(hand_run["manifest.json"].read_text(encoding="utf-8"))
    assert manifest["pdf"] == {"requested": False}


@pytest.mark.parametrize("script, reason", [
    ("echo 'renderer crashed: out of memory' >&2; exit 3", "Chromium failed (exit 3): renderer crashed: out of memory"),
    ("for a in \"$@\"; do case $a in --print-to-pdf=*) printf 'not a pdf' > \"${a#--print-to-pdf=}\";; esac; done",
     "Chromium exited without writing a PDF"),
])
def test_a_failing_chromium_leaves_no_pdf_and_a_reason(tmp_path, monkeypatch, script, reason):
    from shrinkwatch.report.pdf import write_pdf

    fake = tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("SHRINKWATCH_CHROMIUM", str(fake))
    (tmp_path / "report.html").write_text("<h1>x</h1>", encoding="utf-8")
    outcome = write_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    assert not outcome.written and outcome.reason == reason
    assert not (tmp_path / "report.pdf").exists()


def check_pdf_pages(pdf: Path, title: str, folder: Path) -> int:
    """Render every page to PNG: more than one page, the title on the first, no blank page."""
    import pypdfium2 as pdfium
    document = pdfium.PdfDocument(str(pdf))
    pages = len(document)
    assert pages > 1
    first = document[0].get_textpage().get_text_range()
    assert " ".join(title.split()) in " ".join(first.split())
    for number in range(pages):
        png = folder / f"page-{number + 1:03d}.png"
        document[number].render(scale=0.5).to_pil().convert("L").save(png)
        from PIL import Image

        pixels = np.asarray(Image.open(png))
        inked = float((pixels < 200).mean())
        assert inked > 0.002, f"page {number + 1} of {pages} is blank ({inked:.4%} inked)"
        assert math.isfinite(inked)
    return pages


@pytest.mark.slow
def test_run_with_pdf_prints_every_page(tmp_path, chromium):
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    from shrinkwatch import write_panel

    panel_file = write_panel(_hand_panel(), tmp_path / "hand.parquet")
    done = run_cli("run", "--dataset", str(panel_file), "--standard", "census-decline", "--pdf",
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "out" / "report.pdf"
    assert "printed report.pdf" in done.stderr and str(pdf) in done.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pdf"] == {"requested": True, "written": True, "skipped_reason": None}
    assert manifest["files"]["report.pdf"]["bytes"] == pdf.stat().st_size
    check_pdf_pages(pdf, "Hand-made counties", tmp_path)


# ---------------------------------------------------------------- summary.json 1.1.0: timeline and early warning

def _with_monitoring(document: dict) -> dict:
    """``document`` with the timeline and early-warning blocks of a real timeline and forecast: the toy panel's
    consecutive-decline timeline, the synthetic panel's forecast (tests/test_forecast.py)."""
    from shrinkwatch.forecast import forecast
    from shrinkwatch.identification.timeline import timeline
    from shrinkwatch.report.outputs import jsonable
    from shrinkwatch.report.summary import _early_warning, _timeline
    from test_forecast import _synthetic

    from conftest import TOY_SERIES, TOY_YEARS

    toy = Panel.from_series({u: [v * 1000 for v in s] for u, s in TOY_SERIES.items()}, TOY_YEARS, id="hand")
    out = copy.deepcopy(document)
    result = forecast(_synthetic(n=60), "consecutive-decline", {"n": 3}, horizon=3, draws=30)
    out["timeline"] = jsonable(_timeline(timeline(toy, "consecutive-decline"), None))
    out["early_warning"] = jsonable(_early_warning(result, None))
    return out


def test_summary_has_the_timeline_and_the_early_warning(hand_run):
    """The timeline block counts each as-of year and when the current spells began; the early-warning block
    carries the watchlist with probabilities and the skill verdict; unavailable blocks say why; all validate."""
    from shrinkwatch.report.summary import _early_warning, _timeline

    document = _with_monitoring(json.loads(hand_run["summary.json"].read_text(encoding="utf-8")))
    validator = jsonschema.Draft202012Validator(summary_schema())
    assert not list(validator.iter_errors(document))
    assert SCHEMA_VERSION == document["schema_version"] == "1.2.0"
    block = document["timeline"]
    assert block["years"] == [2013, 2014, 2015] and block["as_of_field"] == "year"
    # steady_fall and slow_fall shrink in every as-of year; blip shrinks in 2014 only and recovers in 2015
    assert [row["shrinking"] for row in block["counts"]] == [2, 3, 2]
    assert [row["exited"] for row in block["counts"]] == [None, 0, 1]
    assert block["onset"]["currently_shrinking"] == 2 and block["onset"]["median_onset_year"] == 2013
    assert block["onset"]["recovered_units"] == 1
    warning = document["early_warning"]
    brier = {row["predictor"]: row["brier"] for row in warning["skill"]}
    beats = brier["forecast"] < min(brier["persistence"], brier["base_rate"])  # the verdict follows the scores
    assert warning["skill_verdict"] == ("beats_baselines" if beats else "does_not_beat_baselines")
    assert warning["beats_baselines"] is beats and warning["forecast_year"] == 2018
    assert [row["rank"] for row in warning["watchlist"]] == list(range(1, len(warning["watchlist"]) + 1))
    probabilities = [row["probability"] for row in warning["watchlist"]]
    assert probabilities == sorted(probabilities, reverse=True) and probabilities[0] > 0
    unavailable = {**document, "timeline": _timeline(None, "too short"), "early_warning": _early_warning(None, "no")}
    assert not list(validator.iter_errors(unavailable))
    assert unavailable["early_warning"]["skill_verdict"] is None and unavailable["timeline"]["message"] == "too short"


@pytest.mark.parametrize("damage, where", [
    (lambda d: d["early_warning"]["watchlist"][0].update(probability=1.5), "probability"),
    (lambda d: d["early_warning"].update(skill_verdict="maybe"), "skill_verdict"),
    (lambda d: d["timeline"]["counts"][0].update(entered="none"), "entered"),
    (lambda d: d.pop("early_warning"), "early_warning"),
])
def test_schema_refuses_damaged_monitoring_blocks(hand_run, damage, where):
    refused(_with_monitoring(json.loads(hand_run["summary.json"].read_text(encoding="utf-8"))), damage, where)


def _sheet_xml(folder: Path, frame: pd.DataFrame, write_rows, *more: pd.DataFrame) -> dict[str, bytes]:  # noqa: ANN001
    """The sheet and style XML of a workbook of one sheet per table (``frame``, then ``more``) whose rows
    ``write_rows`` writes, formatted as ``write_xlsx`` formats its sheets."""
    import zipfile

    import xlsxwriter

    from shrinkwatch.report.columns import Column
    from shrinkwatch.report.xlsx import _format_sheet, _Sheet, _sheet_ready

    path = folder / "book.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    header = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "top"})
    kinds = {"rate": "rate", "flag": "flag", "code": "id", "count": "count"}
    for number, table in enumerate((frame, *more)):
        table = _sheet_ready(table)
        worksheet = book.add_worksheet("table" if number == 0 else f"table{number}")
        sheet = _Sheet(table, tuple(Column("x", kind=kinds.get(c, "text"), name=c) for c in table.columns))
        _format_sheet(book, worksheet, sheet, len(table))
        write_rows(worksheet, table, len(table), header)
    book.close()
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/sheet")
                or name == "xl/styles.xml"}


def _awkward_table() -> pd.DataFrame:
    """Cells that test every rule of xlsxwriter's cell writers: numbers of every size and sign (-0.0 too), gaps,
    TRUE/FALSE and a nullable flag, text with XML characters, control characters, ``_xHHHH_``, U+FFFE, edge
    whitespace, a trailing newline, CJK, 40,000 characters; a mixed column; rows with no cell at all."""
    n = 9
    return pd.DataFrame({
        "code": ["01001", "01003", None, "110100", "", "x", "y", "z", "w"],
        "rate": [0.1, -0.0, 1e20, 1 / 3, np.nan, 5e-324, -1.7976931348623157e308, 100.0, np.nan],
        "flag": [True, False, True, True, False, True, False, True, False],
        "maybe": pd.array([True, None, False, None, True, None, None, False, None], dtype="boolean"),
        "text": ["a & b < c > d \"q\"", "bell\x07 tab\tend", "_x0041_ literal", "lone \ufffe", " lead",
                 "trail ", "line\n", "北京市 上海市", "x" * 40_000],
        "mixed": ["text", 1.5, True, -0.0, None, 7, "=1+1", False, None],
        "empty": [None] * n,
        "sparse": [None, None, None, None, "only here", None, None, None, None],
    }).astype({"empty": object, "sparse": object})


@pytest.mark.parametrize("chunk", [3, 10_000])
def test_sheet_rows_are_written_as_xlsxwriter_writes_them_cell_by_cell(tmp_path, monkeypatch, chunk):
    """The bulk sheet XML of ``_write_rows`` is byte for byte what xlsxwriter's typed writers wrote cell by
    cell before (``benchmarks/reference_xlsx.py``), in one chunk and across chunks; rows without cells too."""
    import datetime
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from reference_xlsx import write_rows_cell_by_cell

    from shrinkwatch.report import xlsx

    monkeypatch.setattr(xlsx, "_CHUNK_ROWS", chunk)
    table = _awkward_table()
    dated = table.assign(mixed=[datetime.date(2020, 1, 1), *table["mixed"].iloc[1:]])  # xlsxwriter's own path
    for frame in (table, table.iloc[[4, 4, 4]].assign(flag=False), table.iloc[:0], dated):
        (tmp_path / "new").mkdir(exist_ok=True)
        (tmp_path / "old").mkdir(exist_ok=True)
        new = _sheet_xml(tmp_path / "new", frame, xlsx._write_rows)
        old = _sheet_xml(tmp_path / "old", frame, write_rows_cell_by_cell)
        assert new == old, len(frame)
        if len(frame) > 3:
            assert b"_x005F_x0041_" in new["xl/worksheets/sheet1.xml"] and b'<row r="10">' in new[
                "xl/worksheets/sheet1.xml"]
    # a format first used in a sheet's last row is numbered when xlsxwriter writes that row: after the rows of
    # later sheets (here the count format of the second sheet's first row comes before the flag's)
    single = pd.DataFrame({"code": ["01001"], "flag": [True], "count": [3.0]})
    double = pd.DataFrame({"count": [1.0, 2.0], "flag": [False, True]})
    (tmp_path / "new2").mkdir()
    (tmp_path / "old2").mkdir()
    assert (_sheet_xml(tmp_path / "new2", single, xlsx._write_rows, double)
            == _sheet_xml(tmp_path / "old2", single, write_rows_cell_by_cell, double))


def test_text_that_looks_like_markup_or_a_formula_stays_text(tmp_path):
    """xlsxwriter writes a text ``<r>...</r>`` as raw rich-string markup and, in a mixed column, ``{=...}`` as
    an array formula; the workbook writes both as the text they are."""
    from shrinkwatch.report import xlsx

    frame = pd.DataFrame({"text": ["<r><t>injected</t></r>", "plain"],
                          "mixed": ["{=SUM(1,2)}", 2.5]}).astype(object)
    xml = _sheet_xml(tmp_path, frame, xlsx._write_rows)["xl/worksheets/sheet1.xml"]
    assert b"<f>" not in xml and b"&lt;r&gt;&lt;t&gt;injected" in xml
    book = openpyxl.load_workbook(tmp_path / "book.xlsx")
    cells = [[c.value for c in row] for row in book["table"].iter_rows(min_row=2, max_row=3)]
    assert cells == [["<r><t>injected</t></r>", "{=SUM(1,2)}"], ["plain", 2.5]]


def test_a_workbook_is_written_as_the_cell_by_cell_writer_wrote_it(tmp_path, monkeypatch):
    """Every part of a whole workbook (several sheets, one-row sheets, a capped sheet and its note) is byte for
    byte what the cell-by-cell writer wrote, the timestamp aside: the formats numbered in the same order too."""
    import sys
    import zipfile

    from shrinkwatch import identify
    from shrinkwatch.report import xlsx

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from reference_xlsx import write_rows_cell_by_cell

    one = Panel.from_series({"01001": [1000.0, 1100.0]}, years=[2010, 2020], id="one", units=pd.DataFrame(
        {"name": ["Autauga"], "parent_name": ["Alabama"]}, index=pd.Index(["01001"], name="unit_id")))
    for panel, limit in ((_hand_panel(), None), (_hand_panel(), 2), (one, None)):  # one unit: one row a sheet
        result = identify(panel, "census-decline")
        new = xlsx.write_xlsx(result, tmp_path / f"new{panel.id}{limit}" / "results.xlsx", row_limit=limit)
        with monkeypatch.context() as patch:
            patch.setattr(xlsx, "_write_rows", write_rows_cell_by_cell)
            old = xlsx.write_xlsx(result, tmp_path / f"old{panel.id}{limit}" / "results.xlsx", row_limit=limit)
        with zipfile.ZipFile(new) as a, zipfile.ZipFile(old) as b:
            assert a.namelist() == b.namelist()
            assert [n for n in a.namelist() if n != "docProps/core.xml" and a.read(n) != b.read(n)] == []

"""Intake plausibility of ``shrinkwatch ingest`` (issue 10 item 5): mixed encodings, code widths,
codes in scientific notation, implausible values and years, projections, zero populations.

One regression test per fault users found, each on a file the test writes (``tmp_path``) with
known contents, plus the hostile cases; the expected answers are worked out here from the rows written.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from shrinkwatch import identify
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.ingest import Ledger, NothingAcceptedError, ingest
from shrinkwatch.ingest.plausibility import FIRST_YEAR, PLAUSIBLE

from conftest import run_cli

THIS_YEAR = datetime.date.today().year
HARBIN = "哈尔滨市"
HARBIN_GARBLED = HARBIN.encode("utf-8").decode("gb18030")   # what reading UTF-8 bytes as GBK gives


def _write_lines(path: Path, lines: list[tuple[str, str]]) -> Path:
    """A text file whose every line has its own encoding: ``[(text, encoding), ...]``."""
    path.write_bytes(b"".join((text + "\n").encode(encoding) for text, encoding in lines))
    return path


def _write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    return _write_lines(path, [(line, encoding) for line in lines])


def _assert_balanced(ledger: Ledger) -> None:
    assert ledger.rows_accepted + ledger.rows_rejected == ledger.rows_read
    assert len(ledger.rejected[["file", "sheet", "row"]].drop_duplicates()) == ledger.rows_rejected


def _reasons(ledger: Ledger) -> dict[int, str]:
    return dict(zip(ledger.rejected["row"].astype(int), ledger.rejected["reason"]))


# ---------------------------------------------------------------- mixed encodings

def test_mixed_encodings_reject_the_minority_rows_and_never_garble_a_name(tmp_path):
    """Fault: a CSV of UTF-8 and GBK rows was read whole as gb18030, 哈尔滨市 became 鍝堝皵婊ㄥ競 silently."""
    path = _write_lines(tmp_path / "mixed.csv", [
        ("城市代码,城市,年份,常住人口(万人)", "utf-8"),
        (f"230100,{HARBIN},2010,1063.6", "utf-8"),
        (f"230100,{HARBIN},2020,1001.0", "utf-8"),
        ("110100,北京市,2010,1961.2", "gbk"),            # row 4: the minority encoding
        ("220100,长春市,2010,767.4", "utf-8"),
        ("210100,沈阳市,2010,810.6", "gbk"),             # row 6
    ])
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (5, 3, 2)
    assert ledger.sources.loc[0, "encoding"] == "utf-8"
    assert ledger.sources.loc[0, "rows_read"] == 5 and ledger.sources.loc[0, "blank_rows"] == 0
    reasons = _reasons(ledger)
    assert ledger.rejected["row"].tolist() == [4, 6]     # in file order
    assert all(r.startswith("not valid UTF-8, the encoding of the file's other rows") for r in reasons.values())
    assert "GBK/GB18030" in reasons[4]
    # the ledger shows the bytes escaped, never decoded into garbled text
    shown = ledger.rejected.set_index("row").loc[4, "value"]
    assert shown.startswith("110100,\\xb1\\xb1") and "北京" not in shown
    assert result.panel.units.loc["230100", "name"] == HARBIN
    assert sorted(result.panel.units.index) == ["220100", "230100"]
    names = " ".join(result.panel.units["name"].astype(str))
    assert HARBIN_GARBLED not in names
    summary = ledger.summary()
    assert "rows read 5: accepted 3, rejected 2" in summary
    assert "not valid UTF-8, the encoding of the file's other rows (2)" in summary


def test_gbk_majority_rejects_the_utf8_row_instead_of_reading_it_as_mojibake(tmp_path):
    """The UTF-8 bytes of 哈尔滨市 are valid GBK too: decoding them would 'succeed' into 鍝堝皵婊ㄥ競."""
    path = _write_lines(tmp_path / "gbk_mostly.csv", [
        ("城市代码,城市,年份,常住人口(万人)", "gbk"),
        (f"230100,{HARBIN},2010,1063.6", "utf-8"),      # row 2: the minority encoding
        ("110100,北京市,2010,1961.2", "gbk"),
        ("220100,长春市,2010,767.4", "gbk"),
    ])
    assert HARBIN.encode("utf-8").decode("gb18030") == HARBIN_GARBLED   # the trap is real: no decode error
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert ledger.sources.loc[0, "encoding"] == "gb18030"
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (3, 2, 1)
    reason = _reasons(ledger)[2]
    assert reason.startswith("UTF-8 text in a file whose other rows are GBK/GB18030")
    assert ledger.rejected.loc[0, "column"] == "(whole row)"
    assert sorted(result.panel.units["name"]) == sorted(["北京市", "长春市"])
    assert "230100" not in result.panel.units.index


def test_gbk_file_whose_names_happen_to_be_valid_utf8_is_not_split(tmp_path):
    """茅台 in GBK is the bytes C3 A9 CC A8, valid UTF-8 (two-byte characters): an ambiguous line is read in the
    file's encoding, not rejected, and a GBK file stays whole."""
    ambiguous = "茅台".encode("gbk")
    ambiguous.decode("utf-8")                       # valid UTF-8: the line is ambiguous
    path = _write_csv(tmp_path / "gbk.csv", ["城市代码,城市,年份,常住人口", "520382,茅台,2010,50000",
                                             "520100,贵阳市,2010,4324561"], encoding="gbk")
    result = ingest(path)
    assert result.ledger.rows_rejected == 0 and result.ledger.sources.loc[0, "encoding"] == "gb18030"
    assert result.panel.units.loc["520382", "name"] == "茅台"


def test_bom_declares_utf8_and_a_gbk_row_is_rejected(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "code,name,year,pop_resident\n".encode() + "110100,北京市,2010,5\n".encode("gbk")
                     + "120100,天津市,2010,6\n".encode("gbk") + "130100,石家庄市,2010,7\n".encode("utf-8"))
    ledger = ingest(path).ledger
    assert ledger.sources.loc[0, "encoding"] == "utf-8-sig"    # the BOM decides, though GBK rows are more
    assert sorted(_reasons(ledger)) == [2, 3] and ledger.rows_accepted == 1


def test_undecodable_title_line_is_a_warning_not_a_row(tmp_path):
    """A line above the header is not a data row: not counted, but said."""
    path = _write_lines(tmp_path / "title.csv", [
        ("表1 人口", "gbk"), ("code,name,year,pop_resident", "utf-8"),
        ("110100,北京市,2010,5", "utf-8"), ("120100,天津市,2010,6", "utf-8")])
    ledger = ingest(path).ledger
    assert (ledger.rows_read, ledger.rows_rejected) == (2, 0)
    assert any("line 1 (above the data rows): not valid UTF-8" in w for w in ledger.warnings)


def test_header_in_the_minority_encoding_names_the_line(tmp_path):
    path = _write_lines(tmp_path / "hdr.csv", [("城市代码,城市,年份,常住人口", "gbk"), (f"1,{HARBIN},2010,5", "utf-8"),
                                               ("2,长春市,2010,6", "utf-8")])
    with pytest.raises(DataError, match=r"hdr\.csv, line 1: not valid UTF-8, the encoding of the file.s other rows"):
        ingest(path)


def test_mixed_encodings_with_cr_line_endings_keep_row_numbers(tmp_path):
    """Old-Mac CR line endings (as the shared US city file has): lines are still split and numbered right."""
    path = tmp_path / "cr.csv"
    path.write_bytes("code\rname,year,pop_resident".replace("code\r", "code,").encode() + b"\r"
                     + "1,甲市,2010,5\r".encode("utf-8") + "2,乙市,2010,6\r".encode("gbk")
                     + "3,丙市,2010,7\r".encode("utf-8"))
    ledger = ingest(path).ledger
    assert sorted(_reasons(ledger)) == [3] and ledger.rows_accepted == 2


def test_binary_file_is_refused_whole(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(128, 256)) * 50 + b"\n" + b"\x80\xff" * 100)
    with pytest.raises(DataError, match=r"photo\.csv: cannot decode as UTF-8, UTF-8 with BOM or GBK/GB18030"):
        ingest(path)


def test_every_data_row_undecodable_is_nothing_accepted(tmp_path):
    """A BOM says UTF-8 and every data row is GBK: no row is read, each is accounted for (exit 5 on the CLI)."""
    path = tmp_path / "all_bad.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "城市代码,城市,年份,常住人口\n".encode() + "".join(
        f"{code},{name},2010,5\n" for code, name in (("110100", "北京市"), ("120100", "天津市"))).encode("gbk"))
    with pytest.raises(NothingAcceptedError) as caught:
        ingest(path)
    ledger = caught.value.ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (2, 0, 2)
    assert "not valid UTF-8, the encoding of the file's other rows" in str(caught.value)
    done = run_cli("ingest", str(path), "-o", str(tmp_path / "p.parquet"))
    assert done.returncode == 5 and not (tmp_path / "p.parquet").exists()


# ---------------------------------------------------------------- codes

def _county_workbook(path: Path, rows: list[tuple[object, str, int, float]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["fips", "county", "year", "population"])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def test_fips_codes_stored_as_numbers_are_padded_across_files(tmp_path):
    """Fault: 01001 (text) in one file and 1001 (a number) in another became two units."""
    text = _write_csv(tmp_path / "2010.csv", ["fips,county,year,population", "01001,Autauga,2010,54571",
                                              "06037,Los Angeles,2010,9818605", "48201,Harris,2010,4092459"])
    numbers = _county_workbook(tmp_path / "2020.xlsx", [(1001, "Autauga", 2020, 58805.0),
                                                        (6037, "Los Angeles", 2020, 10014009.0),
                                                        (48201, "Harris", 2020, 4731145.0)])
    result = ingest([text, numbers])
    panel, ledger = result.panel, result.ledger
    assert sorted(panel.units.index) == ["01001", "06037", "48201"]
    assert panel.wide("pop_resident").loc["01001"].tolist() == [54571, 58805]
    assert panel.wide("pop_resident").loc["06037"].tolist() == [9818605, 10014009]
    actions = ledger.cell_actions
    assert len(actions) == 2 and set(actions["row"]) == {2, 3} and set(actions["column"]) == {"fips"}
    assert sorted(actions["value"]) == ["1001 -> 01001", "6037 -> 06037"]
    assert actions["action"].str.startswith("code zero-padded to 5 digits (US county FIPS code").all()
    assert (actions["file"] == str(numbers)).all()
    assert "code zero-padded to 5 digits" in ledger.summary()


def test_state_codes_in_parent_column_are_padded(tmp_path):
    path = _write_csv(tmp_path / "c.csv", ["fips,county,state_fips,year,population", "1001,Autauga,1,2010,54571",
                                           "48201,Harris,48,2010,4092459"])
    units = ingest(path).panel.units
    assert units.loc["01001", "parent_id"] == "01" and units.loc["48201", "parent_id"] == "48"


def test_codes_of_unknown_width_or_chinese_codes_are_left_alone(tmp_path):
    """Only a recognisable loss is repaired: GB/T codes never start with 0; four-digit codes alone could be
    anything; a column with letters is not numeric."""
    chinese = _write_csv(tmp_path / "cn.csv", ["code,name,year,pop_resident", "110100,北京市,2010,5",
                                               "11010,typo,2010,6"])
    assert sorted(ingest(chinese).panel.units.index) == ["11010", "110100"]
    alone = _write_csv(tmp_path / "al.csv", ["fips,county,year,population", "1001,Autauga,2010,5",
                                             "1003,Baldwin,2010,6"])
    result = ingest(alone)
    assert sorted(result.panel.units.index) == ["1001", "1003"] and result.ledger.cell_actions.empty
    lettered = _write_csv(tmp_path / "le.csv", ["fips,county,year,population", "1001,Autauga,2010,5",
                                                "48201,Harris,2010,6", "CA001,x,2010,7"])
    assert sorted(ingest(lettered).panel.units.index) == ["1001", "48201", "CA001"]


def test_code_in_scientific_notation_is_rejected(tmp_path):
    """Fault: 2.307E+05 (Excel's CSV export of 230700) stayed a unit id."""
    path = _write_csv(tmp_path / "sci.csv", ["城市代码,城市,年份,常住人口", "230700,伊春市,2010,1148126",
                                             "2.307E+05,伊春市,2020,878881", "1.10101E+11,x,2020,5",
                                             "230400,鹤岗市,2010,1058665"])
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (4, 2, 2)
    rejected = ledger.rejected.set_index("row")
    assert rejected.loc[3, "column"] == "城市代码" and rejected.loc[3, "value"] == "2.307E+05"
    assert "precision lost" in rejected.loc[3, "reason"] and "store codes as text" in rejected.loc[3, "reason"]
    assert rejected.loc[4, "value"] == "1.10101E+11"
    assert sorted(result.panel.units.index) == ["230400", "230700"]
    assert "2.307E+05" not in result.panel.units.index
    assert result.panel.wide("pop_resident").loc["230700"].tolist() == [1148126]
    assert "row 3, column '城市代码': code in scientific notation" in ledger.summary()


# ---------------------------------------------------------------- values

def test_implausible_populations_and_negative_counts_reject_their_rows(tmp_path):
    """Fault: a population of 10^19 was accepted."""
    path = _write_csv(tmp_path / "pop.csv", [
        "城市代码,城市,年份,常住人口(万人),建成区面积(平方公里)",
        "500100,重庆市,2020,3205.4,1565.6",              # 32 million: the largest city-level unit, kept
        "110100,北京市,2020,1000000000000000,1469",      # 10^15 万人 = 10^19 persons
        "120100,天津市,2020,10001,1170",                  # 100.01 million
        "130100,石家庄市,2020,-5,300",                     # negative count
        "140100,太原市,2020,530,200000",                  # 200,000 km2 built up
    ])
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (5, 1, 4)
    reasons = _reasons(ledger)
    assert reasons[3].startswith("implausible value: pop_resident 1e+19 is above 100,000,000")
    assert reasons[4].startswith("implausible value: pop_resident 100,010,000 is above 100,000,000")
    assert reasons[5] == "negative value for pop_resident"
    assert reasons[6].startswith("implausible value: builtup_km2 200,000 is above 100,000")
    assert result.panel.wide("pop_resident").loc["500100"].tolist() == [32_054_000]
    summary = ledger.summary()
    assert "rows read 5: accepted 1, rejected 4" in summary and "implausible value (3)" in summary
    # the bound is the documented one, and a value on it is kept
    assert PLAUSIBLE["pop_resident"].high == 1e8
    on_bound = _write_csv(tmp_path / "edge.csv", ["code,year,population", "1,2020,100000000"])
    assert ingest(on_bound).ledger.rows_rejected == 0


def test_growth_given_as_an_index_is_implausible(tmp_path):
    path = _write_csv(tmp_path / "g.csv", ["code,year,GDP增长率", "1,2020,107.5", "2,2020,7.5"])
    reasons = _reasons(ingest(path).ledger)
    assert list(reasons) == [2] and "subtract 100" in reasons[2]


# ---------------------------------------------------------------- years

def test_years_after_now_or_before_any_census_are_rejected(tmp_path):
    """Fault: years 2199 were accepted. 1800 is kept: US city series start in 1790."""
    path = _write_csv(tmp_path / "years.csv", [
        "code,name,year,population", "1,a,1800,5000", "1,a,2010,6000", f"1,a,{THIS_YEAR},6100",
        f"1,a,{THIS_YEAR + 1},6200", "1,a,2199,9999"])
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    reasons = _reasons(ledger)
    assert sorted(reasons) == [5, 6]
    assert reasons[5] == (f"year after the current year: {THIS_YEAR + 1} is after {THIS_YEAR} (if the file holds "
                          f"projections, say from which year with --projected-from YEAR)")
    assert reasons[6].startswith("year after 2100: 2199")
    assert result.panel.years == [1800, 2010, THIS_YEAR]
    assert FIRST_YEAR == 1790


def test_projections_are_accepted_when_marked_and_kept_out_of_the_observed_years(tmp_path):
    path = _write_csv(tmp_path / "proj.csv", ["code,name,year,population", "1,a,2010,100", "1,a,2020,90",
                                              f"1,a,{THIS_YEAR + 5},200", "1,a,2199,5"])
    result = ingest(path, projected_from=THIS_YEAR + 1)
    assert result.panel.meta.projected_from == THIS_YEAR + 1
    assert result.panel.years == [2010, 2020, THIS_YEAR + 5]
    assert result.panel.observed_years == [2010, 2020]
    assert list(_reasons(result.ledger)) == [5]            # 2199: beyond any projection, marked or not
    table = identify(result.panel, "census-decline").table
    assert table.loc["1", "status"] == "shrinking"       # 100 -> 90 over 2010-2020; the projection plays no part
    with pytest.raises(OptionError, match=r"--projected-from 1500: expected the first projected year, from 1790"):
        ingest(path, projected_from=1500)


def test_a_future_year_column_in_a_wide_table_is_ignored_not_its_rows(tmp_path):
    path = _write_csv(tmp_path / "常住人口(万人).csv", ["城市代码,城市,2010年,2020年,2199年",
                                                       "230700,伊春市,114.8,87.9,1", "230400,鹤岗市,105.9,89.1,"])
    result = ingest(path)
    ledger = result.ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (2, 2, 0)
    assert result.panel.years == [2010, 2020]
    ignored = ledger.ignored_columns.set_index("column")
    assert ignored.loc["2199年", "reason"].startswith("year after 2100: 2199") and "1 cell(s) not read" in \
        ignored.loc["2199年", "reason"]
    assert any("column '2199年' not read" in w for w in ledger.warnings)


def test_one_future_row_no_longer_moves_census_decline_for_the_whole_panel(tmp_path):
    """Fault: one 2199 row made census-decline compare 2010 with 2199, so every unit had insufficient data."""
    lines = ["code,name,year,population"]
    series = {"1": (1000, 900), "2": (1000, 1100), "3": (1000, 990)}
    for code, (p2010, p2020) in series.items():
        lines += [f"{code},u{code},2010,{p2010}", f"{code},u{code},2020,{p2020}"]
    lines.append("3,u3,2199,5")
    result = ingest(_write_csv(tmp_path / "panel.csv", lines))
    assert result.ledger.rows_rejected == 1
    table = identify(result.panel, "census-decline").table
    expected = {code: "shrinking" if after < before else "not_shrinking" for code, (before, after) in series.items()}
    assert table["status"].to_dict() == expected
    assert (table["end_year"] == 2020).all() and (table["start_year"] == 2010).all()


def test_an_isolated_first_year_is_flagged(tmp_path):
    path = _write_csv(tmp_path / "iso.csv", ["code,name,year,population", "1,a,1800,5", *[
        f"{k},u,{y},{100 + k}" for k in range(2, 8) for y in (2010, 2020)]])
    warnings = ingest(path).ledger.warnings
    assert any(w.startswith("year 1800: 1 row(s), 210 years before the next year in the panel (2010)")
               for w in warnings)


# ---------------------------------------------------------------- zero population

def test_zero_population_is_zero_not_missing(tmp_path):
    """Fault: a population of 0 was reported as 'no 2010 data'."""
    path = _write_csv(tmp_path / "zero.csv", ["code,name,year,population", "1,a,2010,0", "1,a,2020,50",
                                              "2,b,2020,50", "3,c,2010,100", "3,c,2020,80"])
    result = ingest(path)
    panel = result.panel
    assert panel.wide("pop_resident").loc["1"].tolist() == [0.0, 50.0]       # a value, not NaN
    assert np.isnan(panel.wide("pop_resident").loc["2", 2010])
    assert any(w.startswith("pop_resident: 1 value(s) are 0 (1 (2010))") for w in result.ledger.warnings)
    table = identify(panel, "census-decline").table
    assert table.loc["1", "status"] == "insufficient_data"
    assert table.loc["1", "reason"] == ("Insufficient data: resident population is 0 in 2010, so its change is "
                                        "undefined.")
    assert table.loc["2", "reason"] == "Insufficient data: resident population not available for 2010."
    assert table.loc["3", "status"] == "shrinking"
    zh = identify(panel, "census-decline", lang="zh").table
    assert "2010年为0" in zh.loc["1", "reason"] and "缺少" not in zh.loc["1", "reason"]


# ---------------------------------------------------------------- the command line

def test_cli_prints_the_counts_and_takes_projected_from(tmp_path):
    path = _write_lines(tmp_path / "all.csv", [
        ("城市代码,城市,年份,常住人口", "utf-8"), (f"230100,{HARBIN},2010,10636000", "utf-8"),
        (f"230100,{HARBIN},{THIS_YEAR + 3},9000000", "utf-8"), ("2.307E+05,伊春市,2010,1148126", "utf-8"),
        ("110100,北京市,2010,19612000", "gbk"), ("120100,天津市,2010,1e19", "utf-8")])
    out = tmp_path / "panel.parquet"
    done = run_cli("ingest", str(path), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "rows read 5: accepted 1, rejected 4" in done.stdout
    for reason in ("year after the current year (1)", "code in scientific notation (1)",
                   "not valid UTF-8, the encoding of the file's other rows (1)", "implausible value (1)"):
        assert reason in done.stdout
    ledger_csv = (tmp_path / "panel.ledger.csv").read_text(encoding="utf-8")
    assert ledger_csv.count("\n\"rejected\",") == 4 and HARBIN_GARBLED not in ledger_csv  # text cells quoted (Arrow)
    projected = run_cli("ingest", str(path), "--projected-from", str(THIS_YEAR + 1), "-o", str(tmp_path / "p.parquet"))
    assert projected.returncode == 0 and "rows read 5: accepted 2, rejected 3" in projected.stdout
    bad = run_cli("ingest", str(path), "--projected-from", "3000", "-o", str(tmp_path / "q.parquet"))
    assert bad.returncode == 2 and "--projected-from 3000" in bad.stderr
    not_a_year = run_cli("ingest", str(path), "--projected-from", "soon", "-o", str(tmp_path / "q.parquet"))
    assert not_a_year.returncode == 2 and "--projected-from" in not_a_year.stderr


@pytest.mark.slow
def test_real_us_city_series_keeps_its_early_years(data_dir):
    """The lower year bound rejects no real data: the CESTA US city file (1790-2010, CR line endings) keeps
    every decade from the first census on, and its zeros ('no figure' in that file) are named."""
    path = data_dir / "us" / "city_census" / "1790-2010_MASTER.csv"
    result = ingest(path, mapping={"STPLFIPS_2010": "unit_id", "City": "name", "ST": "parent_name",
                                   path.stem: "pop_resident"})
    ledger = result.ledger
    assert not ledger.rejected["reason"].str.startswith("year").any()
    assert not ledger.rejected["reason"].str.startswith("implausible").any()
    assert result.panel.years[0] == 1790 and result.panel.years[-1] == 2010
    assert ledger.rows_read == 8915 and ledger.sources.loc[0, "encoding"] == "utf-8"
    assert any(w.startswith("pop_resident: ") and "value(s) are 0" in w for w in ledger.warnings)
    new_york = result.panel.wide("pop_resident").loc["3651000"]
    assert new_york[2010] == 8175133 and new_york[1800] == 60515 and new_york[1790] > 0

"""Tests of :mod:`shrinkwatch.ingest`: every layout and encoding, the ledger, panel files, the CLI.

Every fixture file is written by the test itself (``tmp_path``) with known contents.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkwatch.core.errors import DataError, OptionError, ShrinkWatchError
from shrinkwatch.harmonize import to_vintage
from shrinkwatch.ingest import (
    IngestError,
    Ledger,
    NothingAcceptedError,
    aliases,
    ingest,
    parse_assignments,
)

from conftest import run_cli


def _write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _assert_balanced(ledger: Ledger) -> None:
    assert ledger.rows_accepted + ledger.rows_rejected == ledger.rows_read
    rejected_rows = ledger.rejected[["file", "sheet", "row"]].drop_duplicates()
    assert len(rejected_rows) == ledger.rows_rejected


# ---------------------------------------------------------------- layouts and encodings

def test_wide_csv_utf8_with_indicator_column(tmp_path):
    path = _write_csv(tmp_path / "wide.csv", [
        ["城市代码", "城市", "指标", "2015年", "2016年", "2017 年"],
        ["110100", "北京市", "年末户籍人口(万人)", "1,345.2", "1,362.9", "1,359.2"],
        ["110100", "北京市", "地区生产总值（亿元）", "23014.6", "25669.1", "28014.9"],
        ["230700", "伊春市", "年末户籍人口(万人)", "120.6", "116.2", "…"],
    ])
    result = ingest(path)
    values = result.panel.values
    assert result.ledger.rows_read == 3 and result.ledger.rows_rejected == 0
    assert values.loc[("110100", 2015), "pop_registered"] == pytest.approx(13_452_000)
    assert values.loc[("110100", 2017), "gdp"] == pytest.approx(28014.9e8)
    assert np.isnan(values.loc[("230700", 2017), "pop_registered"])
    assert result.panel.meta.units_of == {"pop_registered": "persons", "gdp": "yuan (local currency)"}
    assert result.ledger.sources.loc[0, "encoding"] == "utf-8"
    assert result.ledger.sources.loc[0, "layout"] == "wide"
    assert result.panel.units.loc["230700", "name"] == "伊春市"
    assert result.panel.units.loc["230700", "region"] == "Northeast"


def test_utf8_bom_long_english_headers(tmp_path):
    path = _write_csv(tmp_path / "long.csv", [
        ["code", "name", "province", "year", "Resident population (10k persons)", "Built-up area (ha)"],
        ["220100", "Changchun", "Jilin", "2010", "767.4", "41500"],
        ["220100", "Changchun", "Jilin", "2020", "906.7", "55000"],
    ], encoding="utf-8-sig")
    result = ingest(path)
    assert result.ledger.sources.loc[0, "encoding"] == "utf-8-sig"
    assert result.panel.wide("pop_resident").loc["220100"].tolist() == pytest.approx([7_674_000, 9_067_000])
    assert result.panel.wide("builtup_km2").loc["220100"].tolist() == pytest.approx([415.0, 550.0])
    assert result.panel.units.loc["220100", "parent_name"] == "Jilin"
    factors = result.ledger.conversions.set_index("indicator")["factor"]
    assert factors["pop_resident"] == 1e4 and factors["builtup_km2"] == 0.01


def test_gbk_chinese_headers_units_and_messy_cells(tmp_path):
    path = _write_csv(tmp_path / "gbk.csv", [
        ["表1 主要城市人口与经济"],
        ["行政区划代码", "城市", "年份", "年末户籍人口(万人)", "常住人口（万人）", "地区生产总值（亿元）", "建成区面积(平方公里)"],
        ["210100", "沈阳市", "2015年", "123.45", "—", "１，２３４", "465"],
        ["210100", "沈阳市", "2016年", "124", "…", "-", "--"],
        ["210200", "大连市", "2015", "", "/", "NA", "４００．５"],
    ], encoding="gbk")
    result = ingest(path)
    ledger = result.ledger
    assert ledger.sources.loc[0, "encoding"] == "gb18030"
    assert ledger.sources.loc[0, "header_row"] == 2
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (3, 3, 0)
    values = result.panel.values
    assert values.loc[("210100", 2015), "pop_registered"] == 1_234_500.0   # 123.45 万人
    assert values.loc[("210100", 2015), "gdp"] == pytest.approx(1234e8)      # full-width 1,234 亿元
    assert values.loc[("210200", 2015), "builtup_km2"] == pytest.approx(400.5)
    assert values.loc[("210100", 2016), ["pop_resident", "gdp", "builtup_km2"]].isna().all()
    assert values.loc[("210200", 2015), ["pop_registered", "pop_resident", "gdp"]].isna().all()
    missing = ledger.missing.set_index("column")
    assert missing.loc["常住人口（万人）", "cells"] == 3
    assert "—: 1" in missing.loc["常住人口（万人）", "markers"] and "...: 1" in missing.loc["常住人口（万人）", "markers"]
    assert result.panel.language == "zh"


def test_tsv(tmp_path):
    path = _write_csv(tmp_path / "cities.tsv", [
        ["地区", "省份", "年份", "常住人口", "65岁及以上人口比重(%)", "出生率(‰)"],
        ["朝阳区", "北京市", "2020", "3452460", "12.5%", "8.1"],
        ["朝阳区", "吉林省", "2020", "1200000", "15", "6.0"],
    ], delimiter="\t")
    result = ingest(path)
    values = result.panel.values
    # units without a code: "province/name", so the two 朝阳区 stay apart
    assert sorted(result.panel.units.index) == ["北京市/朝阳区", "吉林省/朝阳区"]
    assert values.loc[("北京市/朝阳区", 2020), "share_65plus"] == 12.5
    assert values.loc[("吉林省/朝阳区", 2020), "birth_rate"] == 6.0   # per mille kept
    assert result.panel.meta.units_of["birth_rate"] == "per mille"


def test_xlsx_wide_with_title_row_and_rejected_row_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "常住人口(万人)"
    sheet.append(["各市常住人口（单位：万人）"])
    sheet.append([])
    sheet.append(["code", "name", "2015", "2016 年", "2017年"])
    sheet.append([110100, "北京市", 2170.5, 2172.9, "２，１７０．７"])
    sheet.append(["120100", "天津市", 1546.95, "abc", 1556.87])
    sheet.append(["130100", "石家庄市", "—", "…", None])
    book.save(tmp_path / "wide.xlsx")
    result = ingest(tmp_path / "wide.xlsx")
    ledger = result.ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (3, 2, 1)
    rejected = ledger.rejected.iloc[0]
    assert (rejected["sheet"], rejected["row"], rejected["column"], rejected["value"]) == (
        "常住人口(万人)", 5, "2016 年", "abc")
    assert rejected["reason"] == "not a number"
    assert result.panel.wide("pop_resident").loc["110100"].tolist() == pytest.approx([21_705_000, 21_729_000, 21_707_000])
    assert "120100" not in result.panel.units.index
    assert result.panel.wide("pop_resident").loc["130100"].isna().all()
    assert ledger.sources.loc[0, "header_row"] == 3


def test_wide_indicator_from_file_name_and_padded_names(tmp_path):
    path = tmp_path / "常住人口(万人).csv"
    path.write_text('城市,２０１５年,2016年\r\n"北  京",2170.5,2172.9\r\n上 海,abc,2428\r\n', encoding="utf-8")
    result = ingest(path)
    assert result.panel.units.index.tolist() == ["北京"]
    assert result.panel.wide("pop_resident").loc["北京"].tolist() == pytest.approx([21_705_000, 21_729_000])
    assert result.ledger.conversions.loc[0, "unit_from"] == "file name"
    rejected = result.ledger.rejected.iloc[0]
    assert (rejected["row"], rejected["column"], rejected["value"]) == (3, "２０１５年", "abc")


def test_xls_via_xlrd(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook(encoding="utf-8")
    for year, values in ((2010, ("767.4", 41500)), (2020, (906.7, "—"))):
        sheet = book.add_sheet(f"{year}年")
        for column, header in enumerate(["城市代码", "城市", "常住人口(万人)", "建成区面积(公顷)"]):
            sheet.write(0, column, header)
        for column, cell in enumerate(["220100", "长春市", *values]):
            sheet.write(2, column, cell)   # row 2 (0-based) left blank above: spreadsheet row 3
    book.save(str(tmp_path / "old.xls"))
    result = ingest(tmp_path / "old.xls")
    assert result.ledger.rows_read == 2 and result.ledger.sources["blank_rows"].tolist() == [1, 1]
    assert result.panel.wide("pop_resident").loc["220100"].tolist() == pytest.approx([7_674_000, 9_067_000])
    assert result.panel.values.loc[("220100", 2010), "builtup_km2"] == pytest.approx(415.0)
    assert np.isnan(result.panel.values.loc[("220100", 2020), "builtup_km2"])


def _yearbook_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for year, scale in ((2015, 1.0), (2016, 0.98), (2017, 0.96)):
        sheet = book.create_sheet(f"{year}年")
        sheet.append([f"{year}年 城市主要指标"])
        sheet.append(["城市代码", "城市", "省份", "年末户籍人口(万人)", "常住人口(万人)", "建成区面积(公顷)",
                      "在岗职工平均工资(元)", "一般公共预算收入(万元)"])
        sheet.append(["230700", "伊春市", "黑龙江省", 125.0 * scale, 114.8 * scale, 16_000, "51,234", 250_000])
        sheet.append(["230400", "鹤岗市", "黑龙江省", 105.0 * scale, 100.1 * scale, "—", None, 300_000])
        sheet.append(["全国", None, None, 1_000, 1_000, 1, 1, 1])
    book.create_sheet("说明").append(["注：本表数据来源于统计年鉴"])
    book.save(path)
    return path


def test_xlsx_one_sheet_per_year(tmp_path):
    path = _yearbook_workbook(tmp_path / "yearbook.xlsx")
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert ledger.rows_read == 9 and ledger.rows_rejected == 3     # the three 全国 rows
    assert set(ledger.rejected["reason"]) == {"a total or aggregate row, not a unit"}
    assert ledger.rejected["row"].tolist() == [5, 5, 5]
    assert result.panel.years == [2015, 2016, 2017]
    wide = result.panel.wide("pop_resident")
    assert wide.loc["230700"].tolist() == pytest.approx([1_148_000, 1_125_040, 1_102_080])
    assert result.panel.values.loc[("230700", 2016), "builtup_km2"] == pytest.approx(160.0)
    assert result.panel.values.loc[("230700", 2016), "avg_wage"] == 51234.0
    assert result.panel.values.loc[("230400", 2017), "fiscal_revenue"] == pytest.approx(3e9)
    layouts = ledger.sources.set_index("sheet")["layout"]
    assert layouts["2016年"] == "long (year from sheet name)" and layouts["说明"] == "skipped"
    assert any("说明" in w for w in ledger.warnings)
    only = ingest(path, sheet="2016年")
    assert only.panel.years == [2016]
    with pytest.raises(OptionError, match="--sheet"):
        ingest(path, sheet="2030年")


def test_stata_dta(tmp_path):
    frame = pd.DataFrame({
        "code": ["230700", "230700", "230400", "230400"], "name": ["Yichun", "Yichun", "Hegang", "Hegang"],
        "year": [2010, 2020, 2010, 2020], "pop": [114.8, 87.9, 105.9, np.nan], "gdp": [2.5, 3.1, 3.2, 3.4],
    })
    frame.to_stata(tmp_path / "panel.dta", write_index=False, version=118)
    result = ingest(tmp_path / "panel.dta", mapping={"pop": "pop_resident"},
                    units={"pop": "万人", "gdp": "billion yuan"})
    assert result.ledger.rows_read == 4 and result.ledger.rows_rejected == 0
    assert result.panel.wide("pop_resident").loc["230700"].tolist() == pytest.approx([1_148_000, 879_000])
    assert result.panel.values.loc[("230400", 2020), "gdp"] == pytest.approx(3.4e9)
    assert np.isnan(result.panel.values.loc[("230400", 2020), "pop_resident"])


def test_parquet_input_and_leading_zero_codes(tmp_path):
    frame = pd.DataFrame({"fips": ["01001", "01003"], "county": ["Autauga", "Baldwin"],
                          "year": [2019, 2019], "population": [55869, 223234]})
    frame.to_parquet(tmp_path / "us.parquet")
    result = ingest(tmp_path / "us.parquet")
    assert list(result.panel.units.index) == ["01001", "01003"]
    assert result.panel.values.loc[("01003", 2019), "pop_resident"] == 223234.0
    assert result.panel.language == "en"


# ---------------------------------------------------------------- ledger: rejections and duplicates

def test_rejections_name_file_row_column_and_reason(tmp_path):
    path = _write_csv(tmp_path / "messy.csv", [
        ["code", "name", "year", "pop_resident", "gdp"],
        ["110100", "Beijing", "2015", "21705000", "2.3e12"],
        ["110100", "Beijing", "2016", "abc", "2.5e12"],
        ["120100", "Tianjin", "2015", "-5", "1e12"],
        ["", "", "2015", "5", "5"],
        ["130100", "Shijiazhuang", "20x5", "5", "5"],
        [],
        ["140100", "Taiyuan", "2015", "4000000", "1.2.3"],
    ])
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (6, 1, 5)
    assert ledger.sources.loc[0, "blank_rows"] == 1
    table = ledger.rejected.set_index("row")
    assert table.loc[3, "column"] == "pop_resident" and table.loc[3, "reason"] == "not a number"
    assert table.loc[3, "value"] == "abc" and table.loc[3, "file"] == str(path)
    assert table.loc[4, "reason"] == "negative value for pop_resident"
    assert table.loc[5, "reason"].startswith("no unit id")
    assert table.loc[6, "column"] == "year" and table.loc[6, "reason"].startswith("year not parseable")
    assert table.loc[8, "column"] == "gdp" and table.loc[8, "value"] == "1.2.3"
    frame = ledger.to_frame()
    assert set(frame["kind"]) >= {"total", "source", "rejected", "conversion"}
    assert frame.loc[frame["kind"] == "rejected", "row"].tolist() == [3, 4, 5, 6, 8]
    summary = ledger.summary()
    assert "rows read 6: accepted 1, rejected 5" in summary and "row 3" in summary


def test_duplicates_reported_never_silently_resolved(tmp_path):
    path = _write_csv(tmp_path / "dups.csv", [
        ["code", "name", "year", "pop_resident", "gdp"],
        ["110100", "Beijing", "2015", "100", "7"],
        ["110100", "Beijing", "2015", "100", "7"],        # identical: collapsed, counted
        ["120100", "Tianjin", "2015", "50", "3"],
        ["120100", "Tianjin", "2015", "60", "3"],         # different: both rejected
        ["130100", "Shijiazhuang", "2015", "", "9"],
        ["130100", "Shijiazhuang", "2015", "80", ""],     # fills the gap: merged
    ])
    result = ingest(path)
    ledger = result.ledger
    _assert_balanced(ledger)
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (6, 4, 2)
    assert ledger.duplicates_collapsed == 1 and ledger.duplicates_rejected == 2
    conflict = ledger.rejected[ledger.rejected["reason"].str.startswith("duplicate with different values")]
    assert conflict["row"].tolist() == [4, 5]
    assert "120100" not in result.panel.units.index
    assert result.panel.values.loc[("110100", 2015), "pop_resident"] == 100.0
    assert result.panel.values.loc[("130100", 2015)].tolist() == [80.0, 9.0]
    actions = ledger.duplicates.groupby("action").size()
    assert actions["kept"] == 2 and actions["collapsed (identical)"] == 2
    assert actions["rejected (different values)"] == 2 and actions["rejected with its row"] == 2
    with pytest.raises(IngestError, match=r"dups.csv, row 4, column 'pop_resident'") as raised:
        ingest(path, strict=True)
    assert isinstance(raised.value, DataError) and raised.value.ledger.rows_rejected == 2


def test_duplicates_across_files_merge_or_conflict(tmp_path):
    first = _write_csv(tmp_path / "pop.csv", [["code", "year", "常住人口(万人)"], ["110100", "2015", "2170.5"]])
    second = _write_csv(tmp_path / "gdp.csv", [["code", "year", "GDP(亿元)"], ["110100", "2015", "23014.6"]])
    merged = ingest([first, second])
    assert merged.ledger.rows_rejected == 0
    assert merged.panel.values.loc[("110100", 2015)].tolist() == pytest.approx([21_705_000, 23014.6e8])
    third = _write_csv(tmp_path / "pop2.csv", [["code", "year", "pop_resident"], ["110100", "2015", "21705001"]])
    with pytest.raises(NothingAcceptedError, match="0 of 2 rows accepted") as clash:  # nothing left: a failure
        ingest([first, third])
    assert clash.value.ledger.rows_rejected == 2 and clash.value.ledger.rows_accepted == 0
    assert set(clash.value.ledger.rejected["file"]) == {str(first), str(third)}


# ---------------------------------------------------------------- options and errors

def test_map_and_unit_options(tmp_path):
    path = _write_csv(tmp_path / "odd.csv", [
        ["区划", "名字", "年", "人口数", "面积"],
        ["110100", "北京市", "2015", "2170.5", "16410"],
    ])
    result = ingest(path, mapping={"区划": "unit_id", "名字": "name", "人口数": "pop_resident", "面积": "ignore"},
                    units={"人口数": "万人"})
    assert result.panel.values.loc[("110100", 2015), "pop_resident"] == 21_705_000.0
    assert result.panel.units.loc["110100", "name"] == "北京市"
    conversion = result.ledger.conversions.iloc[0]
    assert (conversion["from_unit"], conversion["factor"], conversion["unit_from"]) == ("万人", 1e4, "--unit")
    assert result.ledger.ignored_columns["column"].tolist() == ["面积"]
    with pytest.raises(OptionError, match="--map 人口数=pop_total"):
        ingest(path, mapping={"人口数": "pop_total"})
    with pytest.raises(OptionError, match="--unit 人口数=百亿人"):
        ingest(path, mapping={"人口数": "pop_resident"}, units={"人口数": "百亿人"})
    with pytest.raises(OptionError, match="--map 不存在"):
        ingest(path, mapping={"不存在": "gdp", "人口数": "pop_resident"})
    with pytest.raises(OptionError, match="--map: expected COLUMN=VALUE"):
        parse_assignments(["人口数"], "--map")
    assert parse_assignments(["a=b=c"], "--map") == {"a=b": "c"}


def test_unit_of_wrong_dimension_and_unrecognised_table(tmp_path):
    wrong = _write_csv(tmp_path / "wrong.csv", [["code", "year", "年末户籍人口(亿元)"], ["110100", "2015", "1"]])
    with pytest.raises(DataError, match=r"wrong.csv, column '年末户籍人口\(亿元\)': unit '亿元' is not a unit of persons"):
        ingest(wrong)
    nothing = _write_csv(tmp_path / "nothing.csv", [["foo", "bar"], ["1", "2"]])
    with pytest.raises(DataError, match="no table with data"):
        ingest(nothing)
    with pytest.raises(DataError, match="x.json: file not found"):
        ingest(tmp_path / "x.json")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unsupported file type '.json'"):
        ingest(tmp_path / "x.json")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .xlsx"):
        ingest(tmp_path / "broken.xlsx")


def test_vintage_calls_harmonize(tmp_path, data_dir):
    path = _write_csv(tmp_path / "p.csv", [
        ["行政区划代码", "城市", "年份", "常住人口(万人)"],
        ["140100", "太原市", "2015", "430"], ["140100", "太原市", "2020", "530"],
    ])
    result = ingest(path)
    assert result.panel.meta.harmonization is None  # ingest reads; harmonize re-bases
    panel = to_vintage(result.panel, 2020, data_dir=data_dir)
    assert panel.meta.harmonization is not None and panel.ledger is result.ledger
    assert panel.wide("pop_resident").loc["140100"].tolist() == pytest.approx([4.3e6, 5.3e6])


# ---------------------------------------------------------------- CLI

def test_cli_ingest_then_identify(tmp_path):
    workbook = _yearbook_workbook(tmp_path / "yearbook.xlsx")
    panel_path = tmp_path / "out" / "yb.parquet"
    done = run_cli("ingest", str(workbook), "-o", str(panel_path))
    assert done.returncode == 0 and "rows read 9: accepted 6, rejected 3" in done.stdout
    ledger = pd.read_csv(tmp_path / "out" / "yb.ledger.csv")
    assert (ledger["kind"] == "rejected").sum() == 3
    done = run_cli("identify", "--dataset", str(panel_path), "--standard", "census-decline", "--set", "start_year=2015",
                   "--set", "end_year=2017")
    table = pd.read_csv(io.StringIO(done.stdout), dtype={"unit_id": str}).set_index("unit_id")
    assert table.loc["230700", "status"] == "shrinking" and table.loc["230400", "status"] == "shrinking"
    strict = run_cli("ingest", str(workbook), "--strict", "-o", str(tmp_path / "strict.parquet"))
    assert strict.returncode == 2
    assert (tmp_path / "strict.ledger.csv").is_file() and not (tmp_path / "strict.parquet").exists()
    assert "--strict: 3 of 9 rows rejected" in strict.stderr.replace("\n", "")
    bad_unit = run_cli("ingest", str(workbook), "--unit", "人口", "-o", str(tmp_path / "x.parquet"))
    assert bad_unit.returncode == 2 and "--unit: expected COLUMN=VALUE" in bad_unit.stderr


# ---------------------------------------------------------------- property: messy tables

_GOOD = ["123", "1,234", "１，２３４", "12.5", "0", "987654.3", "４５６", "7e3", "12.5%"]
_JUNK = ["abc", "1.2.3", "#REF!", "12,34", "x", "--5", "∞", "1e999", "真"]
_MISSING = ["", "—", "…", "-", "--", "/", "NA", "N/A", "——", " "]
_CODES = ["110100", "120100", "130100", "", "abc", "1.5", "合计", "注：数据"]
_YEARS = ["2015", "2016年", "2015 年", "", "20x5", "１９９９", "1e3"]


@st.composite
def _messy_tables(draw):
    long_layout = draw(st.booleans())
    cell = st.sampled_from(_GOOD + _JUNK + _MISSING)
    n_rows = draw(st.integers(min_value=0, max_value=12))
    if long_layout:
        header = ["code", "name", "year", "常住人口(万人)", "出生率(%)", "建成区面积"]
        rows = [[draw(st.sampled_from(_CODES)), draw(st.sampled_from(["甲市", "乙市", ""])),
                 draw(st.sampled_from(_YEARS)), draw(cell), draw(cell), draw(cell)] for _ in range(n_rows)]
    else:
        header = ["城市代码", "城市", "指标", "2015年", "2016年"]
        labels = st.sampled_from(["常住人口(万人)", "地区生产总值(亿元)", "人均GDP", "", "65岁及以上人口比重"])
        rows = [[draw(st.sampled_from(_CODES)), draw(st.sampled_from(["甲市", ""])), draw(labels),
                 draw(cell), draw(cell)] for _ in range(n_rows)]
    if rows and draw(st.booleans()):
        rows += draw(st.lists(st.sampled_from(rows), max_size=3))   # duplicate rows
    return header, rows, draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("SHRINKWATCH_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow], database=None)
@given(_messy_tables())
def test_ledger_always_balances_on_messy_tables(table):
    header, rows, encoding = table
    with tempfile.TemporaryDirectory() as folder:
        path = _write_csv(Path(folder) / "messy.csv", [header, *rows], encoding=encoding)
        try:
            result = ingest(path)
        except ShrinkWatchError:
            return
        ledger = result.ledger
        _assert_balanced(ledger)
        frame = ledger.to_frame()
        assert (frame["kind"] == "rejected").sum() == len(ledger.rejected)
        assert f"rows read {ledger.rows_read}:" in ledger.summary()
        non_blank = sum(1 for r in rows if any(c.strip() for c in r))
        assert ledger.rows_read == non_blank
        accepted_units = set(result.panel.units.index)
        assert accepted_units <= {"110100", "120100", "130100", "abc", "1.5", "甲市", "乙市"}
        assert np.isfinite(result.panel.values.to_numpy()[~np.isnan(result.panel.values.to_numpy())]).all()


def test_alias_table_covers_the_issue_headers():
    table = aliases()
    from shrinkwatch.ingest.headers import norm_header as _norm_header

    expected = {
        "年末户籍人口": "pop_registered", "户籍人口": "pop_registered", "年末总人口": "pop_registered",
        "常住人口": "pop_resident", "年末常住人口": "pop_resident", "城区人口": "pop_urban_district",
        "城镇人口": "pop_urban", "地区生产总值": "gdp", "GDP": "gdp", "GDP增长率": "gdp_real_growth",
        "地区生产总值增长率": "gdp_real_growth", "建成区面积": "builtup_km2",
        "城市建设用地面积": "urban_construction_land_km2", "从业人员": "employment",
        "年末单位从业人员数": "employment", "在岗职工平均工资": "avg_wage", "一般公共预算收入": "fiscal_revenue",
        "地方一般公共预算收入": "fiscal_revenue", "出生率": "birth_rate", "65岁及以上人口比重": "share_65plus",
        "0-14岁人口比重": "share_0_14", "房价": "housing_price", "商品房平均销售价格": "housing_price",
        "夜间灯光": "ntl_sum",
    }
    assert {k: table.indicators[_norm_header(k)] for k in expected} == expected
    for header, role in {"城市代码": "unit_id", "行政区划代码": "unit_id", "adcode": "unit_id", "城市": "name",
                         "地区": "name", "城市名称": "name", "年份": "year", "省份": "parent_name", "省": "parent_name"}.items():
        assert table.roles[_norm_header(header)] == role


def test_prefecture_yearbook_gets_boundary_changes_after_harmonisation(tmp_path, data_dir):
    """Changchun took in territory in 2020 (prefecture crosswalk): a 2015-2020 comparison has no verdict;
    Jinan absorbed Laiwu in 2019, which harmonisation resolves by summing, so Jinan keeps its verdict."""
    from shrinkwatch import identify

    path = _write_csv(tmp_path / "yearbook.csv", [
        ["行政区划代码", "城市", "年份", "常住人口(万人)"],
        ["370100", "济南市", "2015", "713.2"], ["371200", "莱芜市", "2015", "137.6"], ["370100", "济南市", "2020", "920.2"],
        ["220100", "长春市", "2015", "790.2"], ["220100", "长春市", "2020", "906.7"],
        ["230100", "哈尔滨市", "2015", "1066.5"], ["230100", "哈尔滨市", "2020", "1001.0"],
    ])
    panel = to_vintage(ingest(path).panel, 2020, data_dir=data_dir)
    assert panel.values.loc[("370100", 2015), "pop_resident"] == pytest.approx(8_508_000)
    table = identify(panel, "census-decline", lang="en").table
    assert table.loc["220100", "status"] == "boundary_change"
    assert "transfer_in (2020)" in table.loc["220100", "reason"]
    assert table.loc["370100", "status"] == "not_shrinking"
    assert table.loc["230100", "status"] == "shrinking"


def test_indicator_and_year_in_each_header_stata_wide(tmp_path):
    """Stata wide exports name columns pop2015, gdp_2016; Chinese sheets 常住人口2017年(万人), 2018年地区生产总值(亿元)."""
    frame = pd.DataFrame({"city_code": ["230100", "370100"], "city": ["Harbin", "Jinan"],
                          "pop2015": [10665000.0, 7132000.0], "pop2016": [10635000.0, 7230000.0],
                          "gdp_2015": [5.75e11, 6.1e11], "gdp_2016": [6.1e11, 6.5e11]})
    path = tmp_path / "wide.dta"
    frame.to_stata(path, write_index=False)
    # "pop" in a table of Chinese units could be registered or resident population: not read, with the way to take it
    unread = ingest(path).ledger
    assert "pop_resident" not in ingest(path).panel.indicators
    hint = unread.ignored_columns.set_index("column").loc["pop2015", "reason"]
    assert hint.startswith("ambiguous: registered (户籍) or resident (常住) population")
    assert "--map pop=pop_registered or --map pop=pop_resident" in hint
    result = ingest(path, mapping={"pop": "pop_resident"})
    panel, ledger = result.panel, result.ledger
    assert panel.years == [2015, 2016]
    assert panel.values.loc[("370100", 2016), "pop_resident"] == 7230000.0
    assert panel.values.loc[("230100", 2015), "gdp"] == 5.75e11
    assert ledger.rows_read == 2 and ledger.rows_accepted == 2
    chinese = _write_csv(tmp_path / "cn.csv", [
        ["行政区划代码", "城市", "常住人口2017年(万人)", "常住人口2018年(万人)", "2018年地区生产总值(亿元)"],
        ["230100", "哈尔滨市", "1060.0", "1050.5", "6300.5"],
    ])
    values = ingest(chinese).panel.values
    assert values.loc[("230100", 2018), "pop_resident"] == pytest.approx(10_505_000)
    assert values.loc[("230100", 2018), "gdp"] == pytest.approx(6300.5e8)
    assert np.isnan(values.loc[("230100", 2017), "gdp"])


def test_two_row_yearbook_header_with_whole_city_and_districts(tmp_path):
    """China City Statistical Yearbook layout: 年末总人口(万人) merged over 全市 | 市辖区, one sheet per year."""
    import openpyxl

    path = tmp_path / "city_yearbook.xlsx"
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for year, scale in ((2018, 1.0), (2019, 0.99)):
        sheet = workbook.create_sheet(f"{year}年")
        sheet.append([f"{year}年 城市统计"])
        sheet.append(["城市", "年末总人口(万人)", None, "地区生产总值(万元)", None])
        sheet.append([None, "全市", "市辖区", "全市", "市辖区"])
        sheet.append(["哈尔滨市", 951.5 * scale, 551.2 * scale, 53000000, 40000000])
        sheet.append(["齐齐哈尔市", 530.1 * scale, 135.0 * scale, 13000000, 5000000])
        sheet.merge_cells("B2:C2")
        sheet.merge_cells("D2:E2")
    workbook.save(path)
    result = ingest(path)
    values = result.panel.values
    assert result.ledger.rows_read == 4 and result.ledger.rows_accepted == 4
    assert values.loc[("哈尔滨市", 2018), "pop_registered"] == pytest.approx(9_515_000)
    assert values.loc[("哈尔滨市", 2018), "pop_registered_district"] == pytest.approx(5_512_000)
    assert values.loc[("齐齐哈尔市", 2019), "gdp_district"] == pytest.approx(5e10)
    assert values.loc[("齐齐哈尔市", 2019), "pop_registered"] == pytest.approx(5_301_000 * 0.99)


# ---------------------------------------------------------------- the ledger reaches the report

def test_report_shows_the_ingest_ledger_counts(tmp_path):
    """12 data rows: 10 accepted, 2 rejected (a total row, a number that is not one). The panel file carries
    the ledger, and summary.json, results.xlsx (rejected_rows) and report.html show exactly those counts."""
    from shrinkwatch import run

    cities = [("110100", "北京市", 1961, 2189), ("230700", "伊春市", 128, 88), ("130100", "石家庄市", 1016, 1124),
              ("220100", "长春市", 767, 907), ("230400", "鹤岗市", 106, 89)]
    rows = [["行政区划代码", "城市", "年份", "常住人口(万人)"]]
    for code, name, pop_2010, pop_2020 in cities:
        rows += [[code, name, "2010", str(pop_2010)], [code, name, "2020", str(pop_2020)]]
    rows += [["", "合计", "2020", "4397"], ["120100", "天津市", "2020", "abc"]]
    source = _write_csv(tmp_path / "yearbook.csv", rows)
    panel_path = tmp_path / "panel.parquet"
    assert run_cli("ingest", str(source), "-o", str(panel_path)).returncode == 0

    paths = run(str(panel_path), "census-decline", out_dir=tmp_path / "out", analysis=False, lang="en")
    summary = json.loads(paths["summary.json"].read_text(encoding="utf-8"))
    assert summary["ledger"] == {"rows_read": 12, "accepted": 10, "rejected": 2, "warnings": [],
                                 "rejected_by_reason": [{"reason": "a total or aggregate row, not a unit", "rows": 1},
                                                        {"reason": "not a number", "rows": 1}]}
    assert summary["counts"]["shrinking"] == 2  # 伊春, 鹤岗
    rejected = pd.read_excel(paths["results.xlsx"], sheet_name="rejected_rows")
    assert list(rejected.columns) == ["file", "sheet", "row", "column", "value", "reason"]
    assert rejected["row"].tolist() == [12, 13]
    assert rejected["reason"].tolist() == ["a total or aggregate row, not a unit", "not a number"]
    assert rejected["value"].tolist() == ["合计", "abc"]
    html = paths["report.html"].read_text(encoding="utf-8")
    assert "Input rows read: 12, accepted: 10, rejected: 2." in html

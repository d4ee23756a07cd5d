"""Ingest's reasons, warnings and notes in the reader's language (issue 11): the ledger stores each as the
catalogue's English (the template and its fields, one language-neutral form) and the console, the report,
``results.xlsx`` (sheet ``rejected_rows``) and ``summary.json`` say it in ``--lang``.

Hand-made files with known answers: a year 2199, a negative population, a code in scientific notation, an
ambiguous ``pop`` header, and unit codes that are code (a spreadsheet formula, a script tag) which must stay inert
text in both languages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli

_CJK = re.compile(r"[\u4e00-\u9fff]")
_HYPERLINK = '=HYPERLINK("http://x.example","y")'
_SCRIPT = "<script>alert(1)</script>"

#: Rows 12, 15 and 16 (1-based, the header is row 1) are bad: a year 2199, a negative population, a code in
#: scientific notation; rows 17-20 give two units whose codes are code two different values for 2010.
PANEL_CSV = """城市代码,城市,年份,常住人口(万人)
110100,北京市,2010,1961.9
110100,北京市,2020,2189.3
120100,天津市,2010,1293.8
120100,天津市,2020,1386.6
230100,哈尔滨市,2010,1063.6
230100,哈尔滨市,2020,1001.0
230200,齐齐哈尔市,2010,536.7
230200,齐齐哈尔市,2020,406.8
230300,鸡西市,2010,186.2
230300,鸡西市,2020,150.2
230300,鸡西市,2199,150.2
230400,鹤岗市,2010,105.9
230400,鹤岗市,2020,89.1
230500,双鸭山市,2010,-150.5
2.305E+05,双鸭山市,2020,120.8
"=HYPERLINK(""http://x.example"",""y"")",甲市,2010,10
"=HYPERLINK(""http://x.example"",""y"")",甲市,2010,11
<script>alert(1)</script>,乙市,2010,10
<script>alert(1)</script>,乙市,2010,12
"""

#: The English reasons, byte for byte as before the catalogues held them.
EXPECTED_EN = {
    12: "year after 2100: 2199 is beyond any population projection (they end in 2100)",
    15: "negative value for pop_resident",
    16: "code in scientific notation: precision lost (a spreadsheet stored the code as a number and dropped digits); "
        "store codes as text",
}
EXPECTED_ZH = {
    12: "晚于 2100 年的年份：2199 超出所有人口预测的范围（预测止于 2100 年）",
    15: "常住人口为负值",
    16: "代码为科学计数法：精度已丢失（电子表格把代码存为数字并丢掉了若干位）；请把代码存为文本",
}


@pytest.fixture()
def panel_csv(tmp_path: Path) -> Path:
    path = tmp_path / "panel.csv"
    path.write_text(PANEL_CSV, encoding="utf-8")
    return path


def test_reasons_are_stored_in_english_and_said_in_chinese(panel_csv):
    from shrinkwatch.ingest import ingest

    ledger = ingest(panel_csv).ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (19, 12, 7)
    stored = ledger.rejected.set_index("row")["reason"]
    for row, reason in EXPECTED_EN.items():
        assert stored[row] == reason, row
    chinese = ledger.rejected_in("zh").set_index("row")["reason"]
    for row, reason in EXPECTED_ZH.items():
        assert chinese[row] == reason, row
    assert ledger.rejected_in("en").equals(ledger.rejected)  # English is what is stored
    # every reason of the Chinese ledger is Chinese; the hostile codes stay as written inside it, never translated
    assert all(_CJK.search(r) for r in chinese), chinese.tolist()
    duplicates = chinese[[17, 18, 19, 20]].tolist()
    assert all(r.startswith("取值不同的重复行：单元 ") for r in duplicates)
    assert sum(_HYPERLINK in r for r in duplicates) == 2 and sum(_SCRIPT in r for r in duplicates) == 2
    assert stored[17].startswith(f"duplicate with different values: unit {_HYPERLINK}, year 2010, pop_resident (")
    assert dict(ledger.rejected_by_reason("zh")) == {"取值不同的重复行": 4, "晚于 2100 年的年份": 1, "常住人口为负值": 1,
                                                     "代码为科学计数法": 1}
    assert dict(ledger.rejected_by_reason("en"))["year after 2100"] == 1


def test_ingest_console_says_the_ledger_in_the_requested_language(panel_csv, tmp_path):
    out = tmp_path / "p.parquet"
    zh = run_cli("ingest", str(panel_csv), "-o", str(out), "--lang", "zh")
    assert zh.returncode == 0, zh.stderr
    assert "按原因统计的拒绝行：取值不同的重复行（4）；晚于 2100 年的年份（1）" in zh.stdout
    assert f"panel.csv，第 12 行，列 '年份'：{EXPECTED_ZH[12]}" in zh.stdout
    assert "year after" not in zh.stdout and "negative value" not in zh.stdout and "scientific" not in zh.stdout
    en = run_cli("ingest", str(panel_csv), "-o", str(out), "--lang", "en")
    assert en.returncode == 0, en.stderr
    assert f"panel.csv, row 12, column '年份': {EXPECTED_EN[12]}" in en.stdout
    # only the file's own headers and units are Chinese
    assert not _CJK.search(re.sub(r"城市代码|城市|年份|常住人口|万人", "", en.stdout)), en.stdout


def test_ambiguous_header_note_in_both_languages(tmp_path):
    """The "could be ..." note of aliases.toml's [ambiguous.population] with the --map that would take it, stored
    in English (as before) and said in Chinese."""
    from shrinkwatch.ingest import ingest

    path = tmp_path / "amb.csv"
    path.write_text("城市代码,城市,年份,pop,常住人口\n110100,北京市,2010,1,2\n110100,北京市,2020,1,2\n", encoding="utf-8")
    ledger = ingest(path).ledger
    reason = ledger.ignored_columns.set_index("column").loc["pop", "reason"]
    assert reason == ("ambiguous: registered (户籍) or resident (常住) population; not read; take it with "
                      "--map pop=pop_registered or --map pop=pop_resident (add --unit pop=万人 if it counts "
                      "10,000 persons)")
    zh = ledger.summary(lang="zh")
    assert ("未读取：列 pop：含义不明：户籍人口或常住人口；未读取；可用 --map pop=pop_registered 或 "
            "--map pop=pop_resident 读取（如果单位是万人，请加上 --unit pop=万人）") in zh
    evidence = ledger.summary(lang="en")
    assert "not read: column pop: ambiguous: registered (户籍) or resident (常住) population" in evidence


def test_warnings_and_notes_in_chinese(tmp_path):
    from shrinkwatch.ingest import ingest

    path = tmp_path / "zero.csv"
    path.write_text("城市代码,城市,年份,常住人口\n110100,北京市,2010,0\n110100,北京市,2020,5\n"
                    "120100,天津市,2010,3\n120100,天津市,2020,4\n", encoding="utf-8")
    panel = ingest(path).panel
    english = [w for w in panel.ledger.warnings if w.startswith("pop_resident: 1 value(s) are 0")]
    assert english, panel.ledger.warnings
    chinese = panel.ledger.warnings_in("zh")
    assert any(w.startswith("常住人口：1 个值为 0（110100 (2010)）：按人口为 0 保留") for w in chinese), chinese
    assert all(_CJK.search(w) for w in chinese)


def test_report_workbook_and_summary_say_the_reasons_in_chinese(panel_csv, tmp_path):
    """``run --lang zh`` on the ingested panel: the report lists the rejected rows with Chinese reasons (the
    hostile codes escaped), ``results.xlsx`` holds them as text in Chinese, ``summary.json`` counts them by
    Chinese reason, validates against its schema and says why there is no forecast in Chinese; the English run
    keeps the English reasons."""
    import jsonschema
    import openpyxl

    from shrinkwatch.report.summary import summary_schema

    panel = tmp_path / "p.parquet"
    assert run_cli("ingest", str(panel_csv), "-o", str(panel)).returncode == 0
    outputs = {}
    for lang in ("zh", "en"):
        out = tmp_path / f"out-{lang}"
        done = run_cli("run", "--dataset", str(panel), "--lang", lang, "--out", str(out))
        assert done.returncode == 0, done.stderr
        outputs[lang] = out
    page = (outputs["zh"] / "report.html").read_text(encoding="utf-8")
    for reason in EXPECTED_ZH.values():
        assert reason in page
    assert "被拒绝的行（按原因）：取值不同的重复行（4）、晚于 2100 年的年份（1）" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "无法预测：面板 &#39;panel&#39;：预测至少需要常住人口的三个观测年份；现有 2 个（2010, 2020）" in page
    english = (outputs["en"] / "report.html").read_text(encoding="utf-8")
    assert EXPECTED_EN[12] in english and "Rejected rows by reason: duplicate with different values (4)" in english
    assert "<script>alert" not in english
    for lang, expected in (("zh", EXPECTED_ZH), ("en", EXPECTED_EN)):
        book = openpyxl.load_workbook(outputs[lang] / "results.xlsx")
        sheet = book["rejected_rows"]
        header = [c.value for c in sheet[1]]
        rows = {r[header.index("row")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
        for row, reason in expected.items():
            assert rows[row][header.index("reason")] == reason, (lang, row)
        cells = [c for line in sheet.iter_rows(min_row=2) for c in line]
        assert not any(c.data_type == "f" for c in cells)  # =HYPERLINK(...) is text, not a formula
        assert sum(str(c.value).startswith(_HYPERLINK) or _HYPERLINK in str(c.value) for c in cells) >= 2
        data = json.loads((outputs[lang] / "summary.json").read_text(encoding="utf-8"))
        jsonschema.validate(data, summary_schema())
        assert data["language"] == lang and data["ledger"]["rejected"] == 7
        reasons = {r["reason"]: r["rows"] for r in data["ledger"]["rejected_by_reason"]}
        assert reasons[{"zh": "代码为科学计数法", "en": "code in scientific notation"}[lang]] == 1
    zh_summary = json.loads((outputs["zh"] / "summary.json").read_text(encoding="utf-8"))
    assert zh_summary["early_warning"]["message"] == "面板 'panel'：预测至少需要常住人口的三个观测年份；现有 2 个（2010, 2020）"
    en_summary = json.loads((outputs["en"] / "summary.json").read_text(encoding="utf-8"))
    assert en_summary["early_warning"]["message"] == ("panel 'panel': forecasting needs at least three observed years "
                                                      "of 'pop_resident'; it has 2 (2010, 2020)")


def test_forecast_fallback_is_catalogued():
    """Why a report has no forecast, in either language: the forecast's own reason from the catalogue, and the
    general sentence when the reason is not one the catalogue knows."""
    from shrinkwatch.report.sections import early_warning_section

    reason = "panel 'x': forecasting needs at least three observed years of 'pop_resident'; it has 1 (2020)"
    zh = early_warning_section(None, lang="zh", why=reason).html
    assert "面板 &#39;x&#39;：预测至少需要常住人口的三个观测年份；现有 1 个（2020）" in zh
    assert "本数据集不满足预测所需的条件" in early_warning_section(None, lang="zh", why="something else").html
    assert "this dataset does not meet what the forecasts need" in early_warning_section(None, lang="en").html
    assert "forecasting needs at least three observed years" in early_warning_section(None, lang="en",
                                                                                     why=reason).html


def test_cell_actions_conversions_and_context_readings_in_chinese(tmp_path):
    """A US table: FIPS codes that lost their leading zero (padded), a share given as fractions (x100), a generic
    ``pop`` header read as resident population by the table's country: the Chinese ledger summary says each in
    Chinese, with the codes, headers and units as written."""
    from shrinkwatch.ingest import ingest

    path = tmp_path / "us.csv"
    path.write_text("fips,name,year,pop,share_65plus\n1001,Autauga,2010,54571,0.12\n01003,Baldwin,2010,182265,0.15\n"
                    "1001,Autauga,2020,58805,0.14\n01003,Baldwin,2020,231767,0.18\n", encoding="utf-8")
    ledger = ingest(path).ledger
    assert set(ledger.cell_actions["action"]) == {
        "code zero-padded to 5 digits (US county FIPS code (state + county) or ZIP code): the leading zero was lost "
        "when the code was stored as a number"}
    zh = ledger.summary(lang="zh")
    assert "读取时修改的单元格：代码补零至 5 位（美国县 FIPS 代码（州 + 县）或邮政编码）：代码存为数字时丢失了开头的 0（2）" in zh
    assert "换算 share_65plus -> share_65plus：小数 ×100（单位取自取值：全部 4 个都在 (-1, 1) 之内，按小数读取" in zh
    assert "换算 pop -> pop_resident：人 ×1（单位取自默认的标准单位（未给出单位））" in zh
    assert "上下文：表头“pop”可能是户籍人口或常住人口；按 pop_resident 读取：表中单元不是中国的" in zh
    latin = re.sub(r"[\w./-]+\.csv|--unit \S+|share_65plus|pop_resident|unit_id|FIPS|GB/T|\bpop\b|\bfips\b|\bname\b|"
                   r"\byear\b|utf-8", "", zh)
    assert not re.search(r"[A-Za-z]{3,}", latin), latin

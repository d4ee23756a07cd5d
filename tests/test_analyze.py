"""Tests of shrinkwatch.analysis.analyse: against esda directly, on hand-made data with known answers, and on real data."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from shrinkwatch.analysis import analyse as analyze
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.report import sections as report_sections
from shrinkwatch.report.maps import cluster_map_svg
from shrinkwatch.report.summary import analysis_summary

from conftest import panel_of

# ---------------------------------------------------------------- helpers


def _toy_identification(index: pd.Index, status: list[str], rate: list[float], **columns: object) -> Identification:
    table = pd.DataFrame({"name": [f"unit {i}" for i in index], "parent_name": "P", "region": "R",
                          "status": status, "annual_rate": rate, **columns}, index=index)
    return Identification(table=table, standard_id="toy", parameters={}, panel_meta={"id": "toy"})


def _grid_panel(n_side: int = 6, extra_island: bool = True) -> tuple[Panel, Identification]:
    """n_side x n_side unit squares (a rate gradient west to east) plus one detached island square."""
    geoms, ids, rates = [], [], []
    for row in range(n_side):
        for col in range(n_side):
            geoms.append(shapely.box(col, row, col + 1, row + 1))
            ids.append(f"g{row}{col}")
            rates.append(float(col) - 2.5 + 0.1 * row)
    if extra_island:
        geoms.append(shapely.box(n_side + 3, 0, n_side + 4, 1))
        ids.append("island")
        rates.append(3.0)
    index = pd.Index(ids, name="unit_id")
    units = gpd.GeoDataFrame({"name": ids}, geometry=geoms, index=index, crs="EPSG:3857")
    panel = Panel.from_series({unit: [1.0, 1.0] for unit in ids}, [2010, 2020], units=units, id="grid")
    status = ["shrinking" if r < 0 else "not_shrinking" for r in rates]
    return panel, _toy_identification(index, status, rates)


# ---------------------------------------------------------------- distribution


def test_distribution_uses_counts_by_with_denominators(census_identification):
    result = analyze.distribution(census_identification)
    pd.testing.assert_frame_equal(result.by_region, census_identification.counts_by("region"))
    pd.testing.assert_frame_equal(result.by_parent, census_identification.counts_by("parent_name"))
    assert result.by_parent["units"].sum() == len(census_identification)
    assert result.totals["shrinking"] == result.by_region["shrinking"].sum()
    # DOMAIN.md: all 12 Heilongjiang cities and the Daxing'anling prefecture declined
    assert result.by_parent.loc["黑龙江省", ["with_data", "shrinking"]].tolist() == [13, 13]
    assert result.labels["parent_name"] == "province"
    json.dumps(result.as_dict())


# ---------------------------------------------------------------- weights


def test_islands_and_single_neighbours_are_reported_on_hand_made_geometry():
    squares = [shapely.box(x, 0, x + 1, 1) for x in range(3)] + [shapely.box(10, 0, 11, 1), shapely.box(1, 1, 2, 2)]
    units = gpd.GeoDataFrame(geometry=squares, index=pd.Index(["a", "b", "c", "d", "e"], name="unit_id"),
                             crs="EPSG:3857")
    weights = analyze.spatial_weights(units)
    assert weights.kind == "queen"
    assert weights.islands == ("d",)
    # the island is linked to its nearest unit, in both directions
    assert weights.graph.neighbors["d"] == ("c",)
    assert "d" in weights.graph.neighbors["c"]
    assert weights.n_components == 1
    assert "1 island(s)" in weights.description
    # a and e touch only b (queen: a touches b; e touches a, b, c at corners/edges)
    expected_single = tuple(u for u in "abcde" if len(weights.graph.neighbors[u]) == 1)
    assert weights.single_neighbour == expected_single


def test_missing_geometry_is_excluded_and_reported():
    squares = [shapely.box(x, 0, x + 1, 1) for x in range(4)] + [None]
    units = gpd.GeoDataFrame(geometry=squares, index=pd.Index(list("abcde"), name="unit_id"), crs="EPSG:3857")
    weights = analyze.spatial_weights(units)
    assert weights.excluded_no_geometry == ("e",)
    assert weights.ids == ("a", "b", "c", "d")


def test_points_get_knn_weights_on_the_sphere():
    lon = np.array([0.0, 1.0, 2.0, 179.5, -179.5, 100.0, 101.0])
    lat = np.zeros(len(lon))
    units = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326",
                             index=pd.Index(list("abcdefg"), name="unit_id"))
    weights = analyze.spatial_weights(units, k=1)
    assert weights.kind == "knn"
    # across the antimeridian: 179.5 and -179.5 are 1 degree apart
    assert weights.graph.neighbors["d"] == ("e",)
    assert weights.graph.neighbors["e"] == ("d",)
    with pytest.raises(OptionError):
        analyze.spatial_weights(units, kind="queen")


def test_queen_neighbours_share_a_boundary_point_even_without_a_common_vertex():
    # b sits on a's top edge between a's corners: the polygons touch along a segment but share no vertex
    # (libpysal's vertex-based Graph.build_contiguity would miss this; San Joaquin and Santa Clara counties
    # are such a pair in us-county-est)
    squares = [shapely.box(0, 0, 2, 1), shapely.box(0.5, 1, 1.5, 2), shapely.box(2, 0, 3, 1)]
    units = gpd.GeoDataFrame(geometry=squares, index=pd.Index(list("abc"), name="unit_id"), crs="EPSG:3857")
    weights = analyze.spatial_weights(units)
    assert weights.graph.neighbors["b"] == ("a",)
    assert set(weights.graph.neighbors["a"]) == {"b", "c"}
    assert weights.islands == ()


def test_weights_are_row_standardised_in_the_units_order():
    panel, _ = _grid_panel()
    weights = analyze.spatial_weights(panel.units)
    assert weights.graph.transformation == "R"
    assert tuple(weights.graph.unique_ids) == weights.ids == tuple(panel.units.index)
    np.testing.assert_allclose(weights.graph.adjacency.groupby(level="focal").sum().to_numpy(), 1.0)


def test_an_island_across_the_antimeridian_is_linked_to_its_real_nearest_unit():
    # like the Aleutians West census area (02016): its parts lie on both sides of 180 degrees. Its centroid
    # taken in the Greenwich-centred Equal Earth fell between the parts, far inland (before this fix,
    # us-county-est linked 02016 to Hill County, Montana, instead of the Aleutians East borough)
    across = shapely.MultiPolygon([shapely.box(178, 50, 180, 51), shapely.box(-180, 50, -179, 51)])
    geoms = [across, shapely.box(-176, 50, -175, 51), shapely.box(-5, 50, -4, 51), shapely.box(-4, 50, -3, 51)]
    units = gpd.GeoDataFrame(geometry=geoms, index=pd.Index(["aleut", "east", "mid", "mid2"], name="unit_id"),
                             crs="EPSG:4326")
    weights = analyze.spatial_weights(units)
    assert weights.islands == ("aleut", "east")
    assert weights.graph.neighbors["aleut"] == ("east",)


def test_units_at_the_same_place_are_each_others_nearest():
    lon = np.array([0.0, 0.0, 0.0, 5.0, 10.0])
    units = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, np.full(5, 45.0)), crs="EPSG:4326",
                             index=pd.Index(list("abcde"), name="unit_id"))
    weights = analyze.spatial_weights(units, k=2)
    assert set(weights.graph.neighbors["a"]) == {"b", "c"}
    assert set(weights.graph.neighbors["c"]) == {"a", "b"}
    # e's second neighbour is one of three units tied at one place
    assert "d" in weights.graph.neighbors["e"] and weights.graph.cardinalities["e"] == 2


# ---------------------------------------------------------------- Moran and LISA against esda


def test_moran_equals_esda_on_the_same_weights(census_panel, census_identification):
    from esda.moran import Moran

    result = analyze.moran(census_identification, census_panel, permutations=99, seed=7)
    np.random.seed(7)
    direct = Moran(result.values.to_numpy(), result.weights.graph, transformation="r", permutations=99)
    assert result.I == pytest.approx(direct.I, abs=1e-12)
    assert result.expected_I == pytest.approx(direct.EI, abs=1e-15)
    assert result.p_sim == direct.p_sim
    assert result.z_sim == pytest.approx(direct.z_sim)
    # units with insufficient data are excluded and counted
    assert result.n == census_identification.counts()["units_with_data"] == 358
    assert result.n_excluded == 11
    assert set(result.excluded) == set(census_identification.insufficient.index.astype(str))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_lisa_equals_esda_on_the_same_weights(census_panel, census_identification):
    from esda.moran import Moran_Local

    result = analyze.lisa(census_identification, census_panel, permutations=99, seed=11, alpha=0.05)
    used = result.table.loc[list(result.weights.ids)]
    y = used["annual_rate"].to_numpy()
    direct = Moran_Local(y, result.weights.graph, transformation="r", permutations=99, seed=11, n_jobs=1)
    np.testing.assert_allclose(used["local_I"].to_numpy(), direct.Is, atol=1e-12)
    np.testing.assert_array_equal(used["p_sim"].to_numpy(), direct.p_sim.astype(float))
    labels = pd.Series(direct.q).map({1: "HH", 2: "LH", 3: "LL", 4: "HL"}).to_numpy()
    expected = np.where(direct.p_sim <= 0.05, labels, "not significant")
    np.testing.assert_array_equal(used["cluster"].to_numpy(), expected)
    assert sum(result.counts.values()) == len(census_identification)
    assert result.counts["excluded"] == 11
    assert result.counts["LL"] > 0  # the Northeast: below-average growth next to below-average growth


def _growing_west_panel() -> tuple[Panel, Identification]:
    """8 x 8 squares; the rate rises west to east and all units grow except two in the south-west corner."""
    geoms, ids, rates = [], [], []
    for row in range(8):
        for col in range(8):
            geoms.append(shapely.box(col, row, col + 1, row + 1))
            ids.append(f"g{row}{col}")
            rates.append(0.3 * col + 0.05 * row + 0.1)
    rates[0], rates[1] = -0.4, -0.2  # g00 and g01 shrink
    index = pd.Index(ids, name="unit_id")
    units = gpd.GeoDataFrame({"name": ids}, geometry=geoms, index=index, crs="EPSG:3857")
    panel = Panel.from_series({unit: [1.0, 1.0] for unit in ids}, [2010, 2020], units=units, id="west")
    status = ["shrinking" if r < 0 else "not_shrinking" for r in rates]
    return panel, _toy_identification(index, status, rates)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_growing_units_in_low_low_clusters_are_never_called_decline():
    """LISA's low is below the mean rate: the low-low cluster holds growing units, and the words say so."""
    from esda.moran import Moran_Local

    from shrinkwatch.report.findings import key_findings

    panel, identification = _growing_west_panel()
    bundle = analyze.analyse(identification, panel, seed=0, permutations=99)
    local = bundle.lisa
    # the LL class computed here with esda on the same weights, and shrinking ∩ LL from the hand-made statuses
    y = identification.table["annual_rate"].reindex(list(local.weights.ids)).to_numpy()
    direct = Moran_Local(y, local.weights.graph, transformation="r", permutations=99, seed=0, n_jobs=1)
    low_low = [unit for unit, q, p in zip(local.weights.ids, direct.q, direct.p_sim) if q == 3 and p <= 0.05]
    shrinking = set(identification.table.index[identification.table["status"] == "shrinking"])
    growing_low_low = [unit for unit in low_low if unit not in shrinking]
    assert growing_low_low, "the case needs growing units in a low-low cluster"
    assert local.mean == pytest.approx(float(np.mean(y)))
    assert local.shrinking_in("LL") == (len(shrinking & set(low_low)), len(low_low), len(shrinking))
    sentence = next(f for f in key_findings(identification, bundle) if "below-average growth" in f)
    assert (f"{len(shrinking & set(low_low))} of the {len(shrinking)} shrinking units sit in significant clusters "
            "of below-average growth") in sentence
    assert f"those clusters hold {len(low_low)} units, {len(growing_low_low)} of them not shrinking" in sentence
    section = report_sections.spatial_section(bundle, panel).html
    words = " ".join(key_findings(identification, bundle)) + section + cluster_map_svg(local, panel)
    assert "decline" not in words.lower()
    assert "below-average growth next to below-average growth" in section
    assert f"LL: below-average growth next to below-average growth ({len(low_low)} units, " in section
    assert "not shrinking</td>" in section  # each listed unit's status is shown beside its rate, in words


@pytest.mark.slow
def test_un_low_low_finding_counts_shrinking_units(data_dir):
    """On the UN agglomerations most low-low units grow: the finding counts the shrinking ones."""
    from shrinkwatch import identify, load
    from shrinkwatch.datasets import standard_for
    from shrinkwatch.report.findings import low_low_finding

    panel = load("world-wup2018", data_dir)
    identification = identify(panel, *standard_for("world-wup2018"))
    result = analyze.lisa(identification, panel)  # the report's settings: 999 permutations, seed 0
    table = result.table
    low_low = table["cluster"] == "LL"
    shrinking = identification.table["status"].reindex(table.index) == "shrinking"
    n_both, n_low_low, n_shrinking = int((low_low & shrinking).sum()), int(low_low.sum()), int(shrinking.sum())
    assert result.shrinking_in("LL") == (n_both, n_low_low, n_shrinking)
    # measured: 396 low-low units, 383 of them growing; all 13 shrinking agglomerations (1950-2018) among them
    assert (n_both, n_low_low, n_shrinking) == (13, 396, 13)
    assert int((table.loc[low_low, "annual_rate"] > 0).sum()) == 383
    assert low_low_finding(result).startswith(
        "13 of the 13 shrinking units sit in significant clusters of below-average growth")
    assert "those clusters hold 396 units, 383 of them not shrinking" in low_low_finding(result)


def test_seeds_make_results_reproducible_and_leave_global_state_alone(census_panel, census_identification):
    state = np.random.get_state()[1].copy()
    first = analyze.moran(census_identification, census_panel, permutations=99, seed=3)
    second = analyze.moran(census_identification, census_panel, permutations=99, seed=3, weights=first.weights)
    assert first.p_sim == second.p_sim and first.z_sim == second.z_sim
    one = analyze.lisa(census_identification, census_panel, permutations=99, seed=3, weights=first.weights)
    two = analyze.lisa(census_identification, census_panel, permutations=99, seed=3, weights=first.weights)
    pd.testing.assert_frame_equal(one.table, two.table)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_island_takes_part_in_moran_and_is_reported():
    panel, identification = _grid_panel()
    result = analyze.moran(identification, panel, permutations=99, seed=0)
    assert result.islands == ("island",)
    assert result.n == 37
    assert result.I > 0.5 and result.p_sim <= 0.01  # the west-east gradient is strongly clustered
    local = analyze.lisa(identification, panel, permutations=99, seed=0)
    assert local.islands == ("island",)
    svg = cluster_map_svg(local, panel)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_real_china_moran_is_positive_and_significant(census_panel, census_identification):
    result = analyze.moran(census_identification, census_panel, permutations=999, seed=0)
    assert result.I > 0.3  # measured: 0.401
    assert result.p_sim == pytest.approx(1 / 1000)  # no permutation reached the observed I
    assert result.permutations == 999


def test_moran_needs_geometry(census_identification):
    flat = Panel.from_series({"a": [1.0]}, [2010], id="flat")
    with pytest.raises(DataError, match="no geometry"):
        analyze.moran(census_identification, flat, permutations=9)


# ---------------------------------------------------------------- expansion paradox


def _paradox_panel() -> tuple[Panel, Identification]:
    ids = ["s1", "s2", "s3", "s4", "g1"]
    population = {"s1": (100, 90), "s2": (100, 95), "s3": (100, 80), "s4": (100, 90), "g1": (100, 120)}
    builtup = {"s1": (10, 12), "s2": (10, 11), "s3": (10, 9), "s4": (np.nan, np.nan), "g1": (10, 11)}
    panel = panel_of({unit: {"pop_resident": population[unit], "builtup_km2": builtup[unit]} for unit in ids},
                     [2010, 2020], id="paradox-toy")
    status = ["shrinking"] * 4 + ["not_shrinking"]
    identification = _toy_identification(panel.units.index, status, [-1.0, -0.5, -2.2, -1.0, 1.8],
                                          start_year=2010, end_year=2020)
    return panel, identification


def test_paradox_share_with_its_denominator_on_a_hand_made_panel():
    panel, identification = _paradox_panel()
    result = analyze.expansion_paradox(identification, panel)
    assert result.available
    assert (result.n_grew, result.denominator) == (2, 3)
    assert result.share == pytest.approx(0.6667, abs=1e-4)
    assert result.n_shrinking == 4
    assert result.shrinking_without_builtup == ("s4",)
    assert result.state_counts_shrinking == {"strong negative decoupling": 2, "weak negative decoupling": 1}
    assert result.table.loc["g1", "tapio_state"] == "weak decoupling"
    assert "2 of 3" in result.message


def test_paradox_says_plainly_when_there_is_no_builtup_data(census_panel, census_identification):
    result = analyze.expansion_paradox(census_identification, census_panel)
    assert not result.available
    assert "no built-up area data" in result.message
    assert result.share is None


# ---------------------------------------------------------------- drivers


@pytest.fixture(scope="module")
def china_drivers(census_panel, census_identification):
    return analyze.drivers(census_identification, census_panel, seed=0)


def test_drivers_report_cv_fit_next_to_a_baseline_on_the_same_folds(china_drivers, census_identification):
    result = china_drivers
    assert result.available
    assert result.n_used + result.n_excluded == len(census_identification)
    assert "share_65plus_start" in result.predictors and "urban_share_start" in result.predictors
    assert "share_65plus_change" not in result.predictors and result.period == (2010, 2020)
    assert "measured at the start of the outcome period (2010)" in result.summary
    folds = result.folds
    target = census_identification.table["annual_rate"].reindex(folds.index).to_numpy()
    baseline_r2 = []
    for number in range(result.n_folds):
        test = folds.to_numpy() == number
        prediction = target[~test].mean()
        residual = np.sum((target[test] - prediction) ** 2)
        baseline_r2.append(1 - residual / np.sum((target[test] - target[test].mean()) ** 2))
    np.testing.assert_allclose(result.baseline_cv.r2_folds, baseline_r2)
    assert len(result.ols_cv.r2_folds) == len(result.gbm_cv.r2_folds) == result.n_folds
    # the models beat the baseline out of sample (measured with start-of-period predictors only:
    # OLS 0.40, LightGBM 0.49, baseline -0.02; with the 2010-2020 change in the 65+ share they had 0.61, 0.67)
    assert result.ols_cv.r2 > result.baseline_cv.r2 + 0.3
    assert result.gbm_cv.r2 > result.baseline_cv.r2 + 0.3
    assert set(result.coefficients.columns) >= {"coef", "robust_se", "p"}
    # contributions add up to the boosted model's prediction
    contributions = result.contributions
    assert contributions.shape == (result.n_used, len(result.predictors) + 1)


def test_driver_summary_is_associational(china_drivers):
    text = china_drivers.summary.lower()
    assert "associated with" in text
    for word in analyze.CAUSAL_WORDS:
        assert f" {word} " not in f" {text} ", word


@pytest.mark.slow
def test_drivers_are_deterministic_for_a_seed(census_panel, census_identification, china_drivers):
    again = analyze.drivers(census_identification, census_panel, seed=0)
    pd.testing.assert_frame_equal(again.contributions, china_drivers.contributions)
    assert again.gbm_cv == china_drivers.gbm_cv


def test_contributions_on_two_threads_are_the_same_bits(census_panel, census_identification, china_drivers,
                                                        monkeypatch):
    """Above CONTRIBUTION_THREADS_FROM units the SHAP contributions are computed on two threads: the same values
    to the bit as on one (each row is computed on its own)."""
    from shrinkwatch.analysis import drivers as drivers_module

    assert china_drivers.n_used < drivers_module.CONTRIBUTION_THREADS_FROM  # the fixture: one thread
    monkeypatch.setattr(drivers_module, "CONTRIBUTION_THREADS_FROM", 0)
    threaded = analyze.drivers(census_identification, census_panel, seed=0)
    assert threaded.contributions.to_numpy().tobytes() == china_drivers.contributions.to_numpy().tobytes()


# ---------------------------------------------------------------- US components


@pytest.fixture(scope="module")
def us_panel(data_dir):
    from shrinkwatch import load

    return load("us-county-est", data_dir)


def test_us_decomposition_adds_up_exactly_on_the_real_file(us_panel):
    result = analyze.us_decomposition(us_panel)
    assert result.exact and result.migration_exact
    assert result.max_abs_gap == 0.0
    assert result.n_units == 3142
    assert result.n_checked == 3142 * 10  # 2010 (from the April 1 base) to 2019
    assert result.n_not_checked == 0


def test_us_decomposition_needs_components(census_panel):
    with pytest.raises(DataError, match="components"):
        analyze.us_decomposition(census_panel)


# ---------------------------------------------------------------- sections and summary


@pytest.mark.slow
def test_sections_in_order_escaped_and_json_ready(census_panel, census_identification):
    bundle = analyze.analyse(census_identification, census_panel, seed=0, permutations=99)
    sections = report_sections.analysis_sections(bundle, census_panel)
    assert [s.id for s in sections] == ["distribution", "spatial-clusters", "expansion-paradox", "drivers"]
    assert [s.title for s in sections] == ["Distribution", "Spatial clusters", "Expansion paradox", "Drivers"]
    json.dumps(analysis_summary(bundle))
    for section in sections:
        assert "<script" not in section.html
        # self-contained: the only URLs are the SVG namespaces
        assert "http" not in section.html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    assert "<svg" in sections[1].html and "<svg" in sections[0].html
    assert "no built-up area data" in sections[2].html
    stats = analyze.summary_statistics(census_identification, census_panel, analysis=bundle)
    json.dumps(stats)
    assert stats["moran"]["I"] == pytest.approx(bundle.moran.I, abs=1e-6)
    assert sum(stats["lisa_counts"].values()) == len(census_identification)
    assert stats["expansion_paradox"]["paradox_share"] == "no built-up data"
    assert stats["drivers"]["baseline_training_mean"]["cv_r2"] < stats["drivers"]["ols_hc3"]["cv_r2"]


def test_section_text_is_html_escaped():
    panel, identification = _paradox_panel()
    identification.table.loc["s1", "parent_name"] = "<b>&"
    bundle = analyze.analyse(identification, panel, permutations=9)
    sections = report_sections.analysis_sections(bundle, panel)
    assert "&lt;b&gt;&amp;" in sections[0].html
    assert "<b>&" not in sections[0].html
    summary = analysis_summary(bundle)
    assert summary["expansion_paradox"]["paradox_share_pct"] == pytest.approx(66.67, abs=1e-2)
    assert summary["spatial_clusters"]["available"] is False  # no geometry: said plainly
    assert "No spatial statistics" in sections[1].html


@pytest.mark.slow
def test_us_drivers_leave_out_the_components_of_the_outcome_period(us_panel):
    from shrinkwatch import identify

    identification = identify(us_panel, "census-decline")
    result = analyze.drivers(identification, us_panel, seed=0)
    assert set(result.predictors) == {"log10_population_start", "log10_density_start", "region_midwest",
                                      "region_northeast", "region_west"}
    assert result.n_used + result.n_excluded == 3142
    # measured: OLS 0.22, LightGBM 0.27, baseline -0.005 (with the components, an identity, OLS had 0.989)
    assert 0.1 < result.ols_cv.r2 < 0.5 and result.baseline_cv.r2 < 0.0
    assert "add up to the outcome by construction and are not predictors" in result.summary


def _start_panel(later: float) -> Panel:
    """Six units, 2010 and 2020 (and components for 2011-2020); every value after 2010 is scaled by ``later``."""
    ids = [f"u{i}" for i in range(6)]
    units = pd.DataFrame({"name": ids, "region": ["A", "A", "B", "B", "C", "C"]}, index=pd.Index(ids, name="unit_id"))
    rows = {}
    for i, unit in enumerate(ids):
        rows[unit] = {"pop_resident": [1000.0 * (i + 1), 1000.0 * (i + 1) * (0.9 + 0.04 * i) * later],
                      "share_65plus": [8.0 + i, (8.0 + i + 3.0) * later], "share_0_14": [20.0 - i, (18.0 - i) * later],
                      "natural_increase": [np.nan, 5.0 * later], "net_domestic_migration": [np.nan, -50.0 * later],
                      "net_international_migration": [np.nan, 2.0 * later]}
    return panel_of(rows, [2010, 2020], units=units, id="start")


def test_driver_design_matrix_has_no_outcome_period_change():
    """Changing every value after the start year changes no predictor: all are measured in 2010."""
    from shrinkwatch import identify

    panel, other = _start_panel(1.0), _start_panel(1.7)
    identification = identify(panel, "census-decline")
    features, notes, _ = analyze.driver_features(identification, panel)
    again, _, _ = analyze.driver_features(identification, other)
    pd.testing.assert_frame_equal(features, again)
    assert not [c for c in features.columns if "change" in c or c.endswith("_rate") or "migration" in c
                or "natural" in c]
    np.testing.assert_allclose(features["share_65plus_start"], [8, 9, 10, 11, 12, 13])
    np.testing.assert_allclose(features["log10_population_start"], np.log10([1000, 2000, 3000, 4000, 5000, 6000]))
    assert all("2020" not in note for note in notes.values())


def test_paradox_end_to_end_from_a_yearbook_workbook(tmp_path, data_dir):
    """A yearbook with 建成区面积: two cities lose registered population every year while building land
    grows, one grows on both counts; one comparison spans a boundary break and gets no Tapio state."""
    from shrinkwatch import identify
    from shrinkwatch.analysis.analyse import expansion_paradox
    from shrinkwatch.harmonize import to_vintage
    from shrinkwatch.ingest import ingest

    path = tmp_path / "yearbook.xlsx"
    with pd.ExcelWriter(path) as writer:
        for i, year in enumerate(range(2015, 2021)):
            pd.DataFrame({
                "行政区划代码": ["230100", "230200", "320100", "220100"],
                "城市": ["哈尔滨市", "齐齐哈尔市", "南京市", "长春市"],
                "年末户籍人口(万人)": [961.4 - 3 * i, 551.6 - 5 * i, 653.4 + 10 * i, 753.8 - 1 * i],
                "建成区面积(平方公里)": [435 + 5 * i, 140 + 3 * i, 800 + 20 * i, 530 + 4 * i],
            }).to_excel(writer, sheet_name=f"{year}年", index=False)
    panel = to_vintage(ingest(path).panel, 2020, data_dir=data_dir)
    verdicts = identify(panel, "consecutive-decline", {"indicator": "pop_registered"})
    assert verdicts.table["status"].to_dict() == {"220100": "boundary_change", "230100": "shrinking",
                                                  "230200": "shrinking", "320100": "not_shrinking"}
    result = expansion_paradox(verdicts, panel)
    assert (result.n_grew, result.denominator, result.share) == (2, 2, 1.0)
    assert result.state_counts_shrinking == {"strong negative decoupling": 2}
    assert "220100" not in result.table.index  # across the 2020 boundary change: no Tapio state
    assert result.table.loc["320100", "tapio_state"] == "expansive negative decoupling"


# ---------------------------------------------------------------- scale: reasons without a loop per unit

def test_driver_exclusions_name_each_units_reason_in_order():
    from shrinkwatch.analysis.drivers import _excluded

    features = pd.DataFrame({"log_pop_start": [5.0, np.nan, 4.0, np.nan, 3.0],
                             "density_start": [1.0, 2.0, np.inf, np.nan, 2.0]},
                            index=pd.Index(["a", "b", "c", "d", "e"], name="unit_id"))
    no_rate = np.array([False, False, False, False, True])
    excluded = _excluded(features, no_rate)
    assert list(excluded.items()) == [
        ("b", "missing log_pop_start"),
        ("c", "missing density_start"),  # not finite counts as missing
        ("d", "missing log_pop_start, density_start"),
        ("e", "insufficient data for the annual rate"),  # no rate: that reason alone
    ]
    assert _excluded(features.iloc[[0]], np.array([False])) == {}


def test_spatial_exclusions_give_the_first_reason_of_each_unit():
    ids = ["a", "b", "c", "d", "e", "f"]
    geoms = [shapely.box(i, 0, i + 1, 1) for i in range(5)] + [None]
    units = gpd.GeoDataFrame({"name": ids}, geometry=geoms, index=pd.Index(ids, name="unit_id"), crs="EPSG:3857")
    panel = Panel.from_series({unit: [1.0, 1.0] for unit in ids}, [2010, 2020], units=units, id="reasons")
    identification = _toy_identification(
        pd.Index(ids, name="unit_id"),
        ["not_shrinking", "insufficient_data", "shrinking", "not_shrinking", "shrinking", "insufficient_data"],
        [1.0, np.nan, np.nan, 0.5, -1.0, 2.0])
    from shrinkwatch.analysis.spatial import _analysis_frame

    frame, y, excluded = _analysis_frame(identification, panel, "annual_rate")
    assert excluded == {"b": "insufficient data", "c": "no annual_rate", "f": "insufficient data"}
    assert list(frame.index) == list(y.index) == ["a", "d", "e"] and y.tolist() == [1.0, 0.5, -1.0]


_LISA_TWICE = """
import warnings
import numpy as np
import shapely
import geopandas as gpd
from esda.moran import Moran_Local
from libpysal.graph import Graph
from shrinkwatch.analysis.lisa_kernel import _p_sim, moran_local_p_sim

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
points = gpd.GeoSeries(shapely.points(rng.random((200, 2))))
local = Moran_Local(rng.normal(size=200), Graph.build_knn(points, k=6), transformation="r", permutations=0)
p = moran_local_p_sim(local, 99, 1)
print(sum(_p_sim.stats.cache_hits.values()), sum(_p_sim.stats.cache_misses.values()), float(p.sum()))
"""


@pytest.mark.slow
def test_lisa_permutation_kernel_compiles_once_then_loads_from_the_cache(tmp_path):
    import os
    import subprocess
    import sys

    import shrinkwatch

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path),
           "PYTHONPATH": os.path.dirname(os.path.dirname(shrinkwatch.__file__))}
    runs = [subprocess.run([sys.executable, "-c", _LISA_TWICE], env=env, capture_output=True, text=True, check=True)
            .stdout.split() for _ in range(2)]
    assert runs[0][:2] == ["0", "1"]  # the first process compiles (and writes the cache)
    assert runs[1][:2] == ["1", "0"]  # the next one loads it: no compile
    assert runs[0][2] == runs[1][2]  # the same p-values
    assert any(tmp_path.rglob("*lisa_kernel*_p_sim*.nbc"))


def test_driver_exclusions_are_worded_in_the_report_language():
    from shrinkwatch.analysis.drivers import _excluded

    features = pd.DataFrame({"log_pop_start": [np.nan, 4.0]}, index=pd.Index(["a", "b"], name="unit_id"))
    assert _excluded(features, np.array([False, True]), "zh") == {"a": "缺少log_pop_start", "b": "年均变化率数据不足"}


def test_drivers_run_on_a_seeded_sample_above_the_cap_and_on_every_unit_below(monkeypatch, census_panel,
                                                                                  census_identification, china_drivers):
    from shrinkwatch.analysis import drivers as drivers_module

    usable = china_drivers.n_used
    assert china_drivers.sampled_from is None and usable <= drivers_module.MAX_DRIVER_UNITS
    monkeypatch.setattr(drivers_module, "MAX_DRIVER_UNITS", usable)  # at the cap: every unit, the same models
    at_cap = analyze.drivers(census_identification, census_panel, seed=0)
    pd.testing.assert_frame_equal(at_cap.contributions, china_drivers.contributions)
    assert at_cap.gbm_cv == china_drivers.gbm_cv and at_cap.summary == china_drivers.summary
    monkeypatch.setattr(drivers_module, "MAX_DRIVER_UNITS", 150)
    first = analyze.drivers(census_identification, census_panel, seed=0)
    outside = sorted(set(china_drivers.contributions.index) - set(first.contributions.index))[0]
    again = analyze.drivers(census_identification, census_panel, seed=0, contributions_of=(outside,))
    other = analyze.drivers(census_identification, census_panel, seed=1)
    assert first.n_used == 150 and first.sampled_from == usable and first.n_excluded == china_drivers.n_excluded
    assert set(first.contributions.index) < set(china_drivers.contributions.index)
    assert first.folds.index.equals(first.contributions.index)
    assert again.gbm_cv == first.gbm_cv  # deterministic for the seed
    pd.testing.assert_frame_equal(again.contributions.loc[first.contributions.index], first.contributions)
    assert outside in again.contributions.index  # explain's unit, from the same model
    assert set(other.contributions.index) != set(first.contributions.index)
    assert f"Of {usable:,} usable units (more than 150)" in first.summary and "sample of 150" in first.summary
    assert first.as_dict()["sampled_from"] == usable
    zh = analyze.drivers(census_identification, census_panel, seed=0, lang="zh")
    assert f"可用单元共 {usable:,} 个" in zh.summary

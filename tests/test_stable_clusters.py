"""Stable geography: units that exchanged territory are judged as the clusters whose outline did not change.

Hand-made cases with the cluster totals and verdicts worked out here, the prefecture ``--vintage`` path on
the real code history and crosswalk, and the shipped county census (slow).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from shrinkwatch import identify
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.harmonize import stable_clusters
from shrinkwatch.harmonize.clusters import cluster_indicator_kind
from shrinkwatch.identification.sensitivity import sweep

from conftest import panel_of, run_cli

YEARS = [2010, 2020]


def _hand_panel(**meta_overrides) -> Panel:
    """A and B (2010) merged into C; D split into E and F; a chain G -> H -> I of partial transfers;
    J untouched; K has a break but no link; L gave part to M, whose 2020 value is missing; N received
    part of X, which is not in the panel."""
    nan = math.nan
    pop = {"A": [100, nan], "B": [50, nan], "C": [nan, 140], "D": [200, nan], "E": [nan, 120], "F": [nan, 90],
           "G": [30, 20], "H": [40, 45], "I": [50, 52], "J": [80, 60], "K": [70, 60], "L": [10, 9],
           "M": [20, nan], "N": [40, 50]}
    share = {"A": [10, nan], "B": [16, nan], "C": [nan, 20], "D": [12, nan], "E": [nan, 15], "F": [nan, 18],
             "G": [10, 12], "H": [10, 12], "I": [10, 12], "J": [10, 12], "K": [10, 12], "L": [10, 12],
             "M": [10, nan], "N": [10, 12]}
    ratio = {unit: [105.0, 104.0] for unit in pop}
    rows = {unit: {"pop_resident": pop[unit], "share_65plus": share[unit], "sex_ratio": ratio[unit]} for unit in pop}
    units = pd.DataFrame({"name": [f"{u}县" for u in pop], "parent_id": ["P1"] * 10 + ["P2"] * 4},
                         index=pd.Index(list(pop), name="unit_id"))
    links = pd.DataFrame([
        ("A", "C", 2015, "succeeded_by"), ("B", "C", 2015, "succeeded_by"),
        ("C", "A", 2015, "formed_from"), ("C", "B", 2015, "formed_from"),
        ("D", "E", 2016, "succeeded_by"), ("D", "F", 2016, "succeeded_by"),
        ("E", "D", 2016, "formed_from"), ("F", "D", 2016, "formed_from"),
        ("H", "G", 2012, "partial_transfer"), ("I", "H", 2018, "partial_transfer"),
        ("M", "L", 2014, "partial_transfer"), ("N", "X", 2019, "partial_transfer"),
        ("J", "K", 2005, "partial_transfer"),  # before the compared years: no cluster
    ], columns=["unit_id", "other_id", "year", "kind"])
    broken = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "K", "L", "M", "N"]
    breaks = pd.DataFrame({"unit_id": broken, "year": 2015, "treatment": "boundary_change"})
    meta = {"id": "hand", "units_of": {"pop_resident": "persons", "share_65plus": "percent", "sex_ratio": "ratio"},
            "territory_links": links, "boundary_breaks": breaks, **meta_overrides}
    return panel_of(rows, YEARS, units=units, **meta)


def _rate(before: float, after: float) -> float:
    return round(((after / before) ** (1 / 10) - 1) * 100, 4)


def test_cluster_totals_by_hand():
    found = stable_clusters(_hand_panel(), 2010, 2020)
    assert found is not None
    assert sorted(found.clusters["members"]) == ["A;B;C", "D;E;F", "G;H;I", "L;M", "N"]
    wide = found.panel.wide("pop_resident")
    # A + B in 2010 (C did not exist), C in 2020 (A and B had ceased)
    assert wide.loc["cluster:A"].tolist() == [150.0, 140.0]
    assert wide.loc["cluster:D"].tolist() == [200.0, 210.0]
    assert wide.loc["cluster:G"].tolist() == [120.0, 117.0]
    assert wide.loc["cluster:L"].isna().tolist() == [False, True]  # M's 2020 value is missing
    assert wide.loc["cluster:N"].isna().all()  # X is not in the panel: incomplete
    assert found.clusters.loc["cluster:N", "missing"] == "X"
    # shares weighted by population (exact: share x population is the count of the group)
    shares = found.panel.wide("share_65plus")
    assert shares.loc["cluster:A"].tolist() == pytest.approx([(10 * 100 + 16 * 50) / 150, 20.0])
    assert shares.loc["cluster:D", 2020] == pytest.approx((15 * 120 + 18 * 90) / 210)
    # a ratio that would need other weights is not combined
    assert found.panel.wide("sex_ratio").loc[found.clusters.index].isna().all().all()
    # units outside the clusters keep their rows; J and K are in no cluster (K's link is from 2005)
    assert found.panel.wide("pop_resident").loc["J"].tolist() == [80.0, 60.0]
    assert found.cluster_id.tolist() == ["cluster:A"] * 3 + ["cluster:D"] * 3 + ["cluster:G"] * 3 + \
        ["", ""] + ["cluster:L"] * 2 + ["cluster:N"]


def test_identify_gives_members_their_cluster_verdict():
    table = identify(_hand_panel(), "census-decline", lang="en").table
    status = table["status"].to_dict()
    # 150 -> 140: shrinking; 200 -> 210: not; 120 -> 117: shrinking
    assert {u: status[u] for u in "ABCDEFGHI"} == {**dict.fromkeys("ABC", "shrinking"),
                                                   **dict.fromkeys("DEF", "not_shrinking"),
                                                   **dict.fromkeys("GHI", "shrinking")}
    assert table.loc[list("ABCDEFGHI"), "via_stable_cluster"].all()
    assert table.loc["A", "annual_rate"] == pytest.approx(_rate(150, 140))
    assert table.loc["E", "annual_rate"] == pytest.approx(_rate(200, 210))
    assert table.loc["I", "decline_value"] == pytest.approx(117 / 120 - 1)
    assert table.loc["H", "stable_cluster"] == "cluster:G"
    reason = table.loc["H", "reason"]
    assert "G G县, H H县, I I县" in reason and "3 units" in reason and "120 (2010) to 117 (2020)" in reason
    # J is untouched; K has a break and no link; L and M: M's 2020 value is missing; N: X is not in the panel
    assert status["J"] == "shrinking" and not table.loc["J", "via_stable_cluster"]
    assert status["K"] == "boundary_change" and table.loc["K", "stable_cluster"] == ""
    assert status["L"] == status["M"] == "boundary_change"
    assert "Its stable cluster (2 units: L L县, M M县) cannot be compared either" in table.loc["L", "reason"]
    assert status["N"] == "boundary_change" and "X, which is not in the panel" in table.loc["N", "reason"]
    assert not table.loc[["J", "K", "L", "M", "N"], "via_stable_cluster"].any()
    counts = identify(_hand_panel(), "census-decline").counts()
    assert counts["boundary_change"] == 4 and counts["units_with_data"] == 10


def test_turned_off_every_break_stays_boundary_change():
    table = identify(_hand_panel(), "census-decline", stable_clusters=False).table
    broken = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "K", "L", "M", "N"]
    assert (table.loc[broken, "status"] == "boundary_change").all()
    assert not table["via_stable_cluster"].any()


def test_sweep_judges_the_same_clusters():
    panel = _hand_panel()
    swept = sweep(panel, "census-decline", {"min_loss": [0.0, 0.05]})
    # min_loss 0: A B C, G H I, J shrinking; 0.05: A B C (-6.7%) and J (-25%), not G H I (-2.5%)
    assert swept.counts["shrinking"].tolist() == [7, 4]
    assert swept.counts["boundary_change"].tolist() == [4, 4]
    for min_loss, row in zip([0.0, 0.05], swept.counts.itertuples()):
        counts = identify(panel, "census-decline", {"min_loss": min_loss}).counts()
        assert (row.shrinking, row.not_shrinking, row.boundary_change) == (
            counts["shrinking"], counts["not_shrinking"], counts["boundary_change"])
    units = swept.units
    assert units.loc[list("ABCDEFGHI"), "via_stable_cluster"].tolist() == [2] * 9
    assert units.loc[["J", "K", "L"], "via_stable_cluster"].tolist() == [0, 0, 0]
    assert units.loc["G", "robustness"] == "borderline" and units.loc["A", "robustness"] == "robust"
    assert units.loc["K", "robustness"] == "boundary_change"
    off = sweep(panel, "census-decline", {"min_loss": [0.0]}, stable_clusters=False)
    assert int(off.counts["boundary_change"].iloc[0]) == 13


def test_non_additive_indicators_give_no_cluster_verdict():
    """A rule on a ratio: members of a cluster keep boundary_change (the ratio is not combined)."""
    table = identify(_hand_panel(), "census-decline", {"indicator": "sex_ratio"}).table
    assert (table.loc[list("ABCDEFGHI"), "status"] == "boundary_change").all()
    assert not table["via_stable_cluster"].any()
    assert [cluster_indicator_kind(c, {}) for c in ("pop_urban", "gdp_real_growth", "share_0_14", "avg_wage")] \
        == ["count", "none", "share", "none"]


def test_former_units_count_in_their_years():
    """E and F formed from D, which is not a panel unit: D's 2010 value comes from former_units."""
    nan = math.nan
    links = pd.DataFrame({"unit_id": ["E", "F"], "other_id": ["2010:D", "2010:D"], "year": 2016,
                          "kind": "formed_from"})
    former = pd.DataFrame({"unit_id": ["2010:D"], "name": ["D县"], "year": [2010], "pop_resident": [200.0]})
    breaks = pd.DataFrame({"unit_id": ["E", "F"], "year": 2016, "treatment": "split"})
    panel = Panel.from_series({"E": [nan, 120], "F": [nan, 70]}, years=YEARS, territory_links=links,
                              former_units=former, boundary_breaks=breaks)
    table = identify(panel, "census-decline", lang="en").table
    assert table["status"].tolist() == ["shrinking", "shrinking"]  # 200 -> 190
    assert "2010 values of 2010:D D县" in table.loc["E", "reason"]


def test_bad_territory_tables_are_refused():
    with pytest.raises(DataError, match="territory_links must have the columns unit_id, other_id, year, kind"):
        Panel.from_series({"a": [1, 2]}, years=YEARS, territory_links=pd.DataFrame({"unit_id": ["a"], "to": ["b"]}))
    with pytest.raises(DataError, match="former_units must have the columns unit_id, year"):
        Panel.from_series({"a": [1, 2]}, years=YEARS, former_units=pd.DataFrame({"code": ["a"]}))


def test_cli_switch_and_panel_file_round_trip(tmp_path):
    from shrinkwatch.core.panelfile import read_panel, write_panel

    path = tmp_path / "hand.parquet"
    write_panel(_hand_panel(), path)
    again = read_panel(path)
    assert again.meta.territory_links["kind"].tolist() == _hand_panel().meta.territory_links["kind"].tolist()
    done = run_cli("identify", "--dataset", str(path), "--lang", "en")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(io.StringIO(done.stdout), dtype={"unit_id": str}).set_index("unit_id")
    assert table.loc["C", "status"] == "shrinking" and bool(table.loc["C", "via_stable_cluster"])
    assert "9 judged as stable clusters" in done.stderr
    off = run_cli("identify", "--dataset", str(path), "--no-stable-clusters")
    table = pd.read_csv(io.StringIO(off.stdout), dtype={"unit_id": str}).set_index("unit_id")
    assert table.loc["C", "status"] == "boundary_change" and "stable clusters" not in off.stderr
    bad = run_cli("identify", "--dataset", str(path), "--stable-clusters=no")
    assert bad.returncode == 2


# ---------------------------------------------------------------- prefecture panels (--vintage)

def _yearbook(tmp_path, rows):
    import csv

    path = tmp_path / "yearbook.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["行政区划代码", "城市", "年份", "常住人口(万人)"], *rows])
    return path


def test_prefecture_vintage_clusters(tmp_path, data_dir):
    """Changchun took 公主岭 from Siping in 2020 (both in the panel: one cluster, 790.2 + 330.0 ->
    906.7 + 181.5); Chaohu was split among Hefei, Wuhu and Ma'anshan in 2011 (the 2010 total includes
    Chaohu, the 2020 one does not)."""
    from shrinkwatch.harmonize import to_vintage
    from shrinkwatch.ingest import ingest

    path = _yearbook(tmp_path, [
        ["220100", "长春市", "2015", "790.2"], ["220100", "长春市", "2020", "906.7"],
        ["220300", "四平市", "2015", "330.0"], ["220300", "四平市", "2020", "181.5"],
        ["230100", "哈尔滨市", "2015", "1066.5"], ["230100", "哈尔滨市", "2020", "1001.0"],
        ["341400", "巢湖市", "2010", "387.0"], ["340100", "合肥市", "2010", "570.0"],
        ["340200", "芜湖市", "2010", "226.0"], ["340500", "马鞍山市", "2010", "136.0"],
        ["340100", "合肥市", "2020", "937.0"], ["340200", "芜湖市", "2020", "365.0"],
        ["340500", "马鞍山市", "2020", "216.0"],
    ])
    panel = to_vintage(ingest(path).panel, 2020, data_dir=data_dir)
    links = panel.meta.territory_links
    assert {("220100", "220300"), ("341400", "340100")} <= set(zip(links["unit_id"], links["other_id"]))
    table = identify(panel, "census-decline", {"start_year": 2015, "end_year": 2020}, lang="en").table
    assert table.loc[["220100", "220300"], "status"].tolist() == ["shrinking", "shrinking"]
    assert table.loc["220100", "annual_rate"] == pytest.approx(
        round(((906.7 + 181.5) / (790.2 + 330.0)) ** (1 / 5) * 100 - 100, 4))
    assert "220300 四平市" in table.loc["220100", "reason"]
    assert table.loc["230100", "status"] == "shrinking" and not table.loc["230100", "via_stable_cluster"]
    assert not table.loc["340100", "via_stable_cluster"]  # the 2011 split is before 2015
    decade = identify(panel, "census-decline", {"start_year": 2010, "end_year": 2020}, lang="en").table
    chaohu = ["340100", "340200", "340500", "341400"]
    assert decade.loc[chaohu, "via_stable_cluster"].all()
    assert decade.loc["340100", "decline_value"] == pytest.approx((937 + 365 + 216) / (387 + 570 + 226 + 136) - 1)
    assert (decade.loc[chaohu, "status"] == "not_shrinking").all()
    # Siping has no 2010 value: the Changchun cluster cannot be compared over the decade
    assert decade.loc["220100", "status"] == "boundary_change"
    assert "cannot be compared either" in decade.loc["220100", "reason"]


def test_prefecture_cluster_with_a_partner_outside_the_panel(tmp_path, data_dir):
    """Changchun alone: its partner Siping is not in the panel, so no verdict, and the reason says so."""
    from shrinkwatch.harmonize import to_vintage
    from shrinkwatch.ingest import ingest

    path = _yearbook(tmp_path, [["220100", "长春市", "2015", "790.2"], ["220100", "长春市", "2020", "906.7"]])
    panel = to_vintage(ingest(path).panel, 2020, data_dir=data_dir)
    table = identify(panel, "census-decline", lang="en").table
    assert table.loc["220100", "status"] == "boundary_change"
    assert "220300, which is not in the panel" in table.loc["220100", "reason"]


# ---------------------------------------------------------------- the shipped county census

@pytest.fixture(scope="module")
def county(data_dir):
    from shrinkwatch import load

    return load("cn-county-census", data_dir)


@pytest.mark.slow
def test_county_census_every_place_gets_an_answer(county):
    """Goal of issue 10: at least 97% of the county-level units, and of their 2020 population, with a verdict."""
    result = identify(county, "census-decline", lang="en")
    table = result.table
    verdict = table["status"].isin(["shrinking", "not_shrinking"]).to_numpy()
    pop_2020 = county.wide("pop_resident")[2020].reindex(table.index).to_numpy()
    unit_share = verdict.mean()
    pop_share = np.nansum(pop_2020[verdict]) / np.nansum(pop_2020)
    print(f"\ncn-county-census: {verdict.sum()} of {len(table)} units with a verdict ({unit_share:.2%}), "
          f"{pop_share:.2%} of the 2020 population; {int(table['via_stable_cluster'].sum())} via stable clusters")
    assert unit_share >= 0.97 and pop_share >= 0.97
    off = identify(county, "census-decline", stable_clusters=False).table
    was_without = off["status"].isin(["boundary_change", "insufficient_data"])
    # every verdict gained is a cluster's, and a unit with its own verdict and no break keeps it
    gained = was_without & table["status"].isin(["shrinking", "not_shrinking"])
    assert table.loc[gained, "via_stable_cluster"].all()
    assert int(gained.sum()) >= 350
    # a cluster's 2020 total is the sum of its members' own 2020 values
    found = stable_clusters(county, 2010, 2020)
    own = county.wide("pop_resident")[2020]
    members = pd.Series(found.cluster_id, index=county.units.index)
    by_hand = own[members != ""].groupby(members[members != ""]).sum(min_count=1)
    cluster_2020 = found.panel.wide("pop_resident").loc[by_hand.index, 2020]
    complete = cluster_2020.notna()
    assert complete.mean() > 0.9
    assert np.allclose(cluster_2020[complete], by_hand[complete])
    # every member judged so names itself in the reason
    via = table[table["via_stable_cluster"]]
    assert all(uid in reason for uid, reason in zip(via.index, via["reason"]))


@pytest.mark.slow
def test_county_census_named_cluster(county):
    """枞阳县 moved from Anqing to Tongling (recoded 340823 -> 340722) and gave part of its territory to
    Tongling's 郊区 in 2018: the two are one cluster; its 2010 total is the two 2010 rows of the census."""
    table = identify(county, "census-decline", lang="en").table
    assert table.loc["340722", "stable_cluster"] == table.loc["340711", "stable_cluster"]
    found = stable_clusters(county, 2010, 2020)
    cluster = table.loc["340711", "stable_cluster"]
    assert set(found.clusters.loc[cluster, "members"].split(";")) == {"340711", "340722"}
    matching = county.meta.matching
    sources = matching[(matching["side"] == "2020") & matching["unit_id"].isin(["340711", "340722"])]
    assert set(sources["relation"]) <= {"unchanged", "recoded"}  # both matched: the panel's 2010 values are theirs
    own = county.wide("pop_resident").loc[["340711", "340722"]]
    assert found.panel.wide("pop_resident").loc[cluster].tolist() == pytest.approx(own.sum().tolist())


@pytest.mark.slow
def test_county_census_sweep_matches_identify(county):
    result = identify(county, "census-decline")
    counts = result.counts()
    swept = sweep(county, "census-decline", {"min_loss": [0.0]})
    row = swept.counts.iloc[0]
    assert int(row["shrinking"]) == counts["shrinking"] and int(row["not_shrinking"]) == counts["not_shrinking"]
    assert int(row.get("boundary_change", 0)) == counts["boundary_change"]
    via = result.table["via_stable_cluster"].to_numpy()
    assert (swept.units["via_stable_cluster"].to_numpy() == via.astype(int)).all()


def test_run_reports_the_count(tmp_path):
    """summary.json, results.xlsx, the report and the manifest say how many units were judged as clusters."""
    import json

    from shrinkwatch.core.panelfile import write_panel

    path = tmp_path / "hand.parquet"
    write_panel(_hand_panel(), path)
    done = run_cli("run", "--dataset", str(path), "--no-analysis", "--out", str(tmp_path / "on"))
    assert done.returncode == 0, done.stderr
    assert "9 judged as stable clusters" in done.stdout
    summary = json.loads((tmp_path / "on" / "summary.json").read_text(encoding="utf-8"))
    assert summary["via_stable_cluster"] == 9 and summary["counts"]["boundary_change"] == 4
    sheet = pd.read_excel(tmp_path / "on" / "results.xlsx", sheet_name="stable_clusters", dtype={"unit_id": str})
    assert sorted(sheet["unit_id"]) == list("ABCDEFGHI")
    assert "judged together with the units they exchanged it with" in (tmp_path / "on" / "report.html").read_text()
    assert json.loads((tmp_path / "on" / "manifest.json").read_text())["stable_clusters"] is True
    off = run_cli("run", "--dataset", str(path), "--no-analysis", "--no-stable-clusters", "--out", str(tmp_path / "off"))
    assert off.returncode == 0, off.stderr
    summary = json.loads((tmp_path / "off" / "summary.json").read_text(encoding="utf-8"))
    assert summary["via_stable_cluster"] == 0 and summary["counts"]["boundary_change"] == 13
    assert "stable_clusters" not in pd.ExcelFile(tmp_path / "off" / "results.xlsx").sheet_names

"""Status through time (`identification.timeline`, `shrinkwatch timeline`, the report's "Status over time")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.identification import identify
from shrinkwatch.identification.timeline import CHANGES, spells, timeline

from conftest import run_cli

# ---------------------------------------------------------------- independent references

def reference_consecutive(values: list[float], t: int, n: int) -> str:
    """consecutive-decline as of column ``t`` of one unit, by hand: n declines ending at t; a known rise in
    the window is a no; otherwise missing data is insufficient."""
    declines = []
    for j in range(t - n + 1, t + 1):
        a, b = values[j - 1], values[j]
        declines.append(None if np.isnan(a) or np.isnan(b) else bool(b < a))
    if all(d is True for d in declines):
        return "shrinking"
    if any(d is False for d in declines):
        return "not_shrinking"
    return "insufficient_data"


def reference_spells(statuses: list[str], years: list[int]) -> dict[str, object]:
    """Spells of one unit, walking its statuses: a year without a verdict neither ends nor starts one."""
    spell_starts, recoveries, last_verdict, onset = [], 0, None, None
    for year, status in zip(years, statuses):
        if status == "shrinking":
            if last_verdict != "shrinking":
                spell_starts.append(year)
            last_verdict = "shrinking"
        elif status == "not_shrinking":
            if last_verdict == "shrinking":
                recoveries += 1
            last_verdict = "not_shrinking"
    if statuses[-1] == "shrinking":
        onset = spell_starts[-1]
    return {"onset_year": onset, "current_spell": None if onset is None else len(years) - years.index(onset),
            "n_spells": len(spell_starts), "n_recoveries": recoveries,
            "first_shrinking_year": next((y for y, s in zip(years, statuses) if s == "shrinking"), None),
            "years_shrinking": statuses.count("shrinking")}


def _optional(value: object) -> object:
    return None if value is pd.NA or value is None else int(value)  # type: ignore[call-overload]


# ---------------------------------------------------------------- hand-made cases

def test_hand_made_spells_onset_and_recoveries():
    """Known answers worked out by hand (consecutive-decline, n = 1: a fall in the year itself)."""
    years = list(range(2010, 2019))
    panel = Panel.from_series({
        # 2011 fall, 2012 rise, 2013-2014 fall, 2015 missing, 2016 fall, 2017 fall, 2018 fall
        "relapse": [100, 99, 100, 98, 97, np.nan, 96, 95, 94],
        # falls until 2013, then rises: one spell 2011-2013, one recovery in 2014
        "recovered": [100, 99, 98, 97, 99, 100, 101, 102, 103],
        "never": [100, 101, 102, 103, 104, 105, 106, 107, 108],
    }, years=years)
    result = timeline(panel, "consecutive-decline", {"n": 1})
    assert result.years == tuple(range(2011, 2019))
    assert result.status.loc["relapse"].astype(str).tolist() == [
        "shrinking", "not_shrinking", "shrinking", "shrinking", "insufficient_data", "insufficient_data",
        "shrinking", "shrinking"]
    relapse, recovered, never = (result.units.loc[u] for u in ("relapse", "recovered", "never"))
    # the gap 2015-2016 does not end the spell that began in 2013: it runs 2013-2018, six as-of years
    assert (relapse["onset_year"], relapse["current_spell"], relapse["n_spells"], relapse["n_recoveries"]) == (
        2013, 6, 2, 1)
    assert relapse["first_shrinking_year"] == 2011 and relapse["years_shrinking"] == 5
    assert recovered["onset_year"] is pd.NA and recovered["current_spell"] is pd.NA
    assert (recovered["n_spells"], recovered["n_recoveries"], recovered["first_shrinking_year"]) == (1, 1, 2011)
    assert never["n_spells"] == 0 and never["first_shrinking_year"] is pd.NA
    counts = result.counts
    assert counts.loc[2011, "shrinking"] == 2 and counts.loc[2014, "shrinking"] == 1
    assert counts.loc[2014, "exited"] == 1  # "recovered" rose in 2014
    assert counts.loc[2015, "exited_to_no_verdict"] == 1 and counts.loc[2016, "insufficient_data"] == 1
    assert counts.loc[2017, "entered_from_no_verdict"] == 1
    assert counts["entered"].iloc[0] is pd.NA  # no year before the first
    summary = json.loads(json.dumps(result.as_dict()))
    assert summary["years"][0] == 2011 and summary["counts"][0]["entered"] is None
    assert summary["counts"][3]["exited"] == 1 and summary["currently_shrinking"] == 1


def test_random_panel_against_a_per_unit_reference():
    """A seeded panel with gaps: every status and every per-unit figure equals a plain Python walk."""
    rng = np.random.default_rng(7)
    years = list(range(2000, 2014))
    values = 1000 * np.exp(np.cumsum(rng.normal(0, 0.02, size=(60, len(years))), axis=1))
    values[rng.random(values.shape) < 0.08] = np.nan
    panel = Panel.from_series({f"u{i:02d}": row for i, row in enumerate(values)}, years=years)
    n = 2
    result = timeline(panel, "consecutive-decline", {"n": n})
    assert result.years == tuple(years[n:])
    for i, unit in enumerate(panel.units.index):
        expected = [reference_consecutive(list(values[i]), years.index(t), n) for t in result.years]
        assert result.status.loc[unit].astype(str).tolist() == expected, unit
        want = reference_spells(expected, list(result.years))
        got = result.units.loc[unit]
        assert {k: _optional(got[k]) for k in want} == want, unit
    codes = result.codes()
    counts = result.counts
    for j, year in enumerate(result.years):
        assert counts.loc[year, "shrinking"] == int((codes[:, j] == 0).sum())
        if j:  # the shrinking list moves by exactly the counted changes
            moved = (counts.loc[year, "entered"] + counts.loc[year, "entered_from_no_verdict"]
                     - counts.loc[year, "exited"] - counts.loc[year, "exited_to_no_verdict"])
            assert moved == counts.loc[year, "shrinking"] - counts.loc[result.years[j - 1], "shrinking"]
            changed = result.changes(year)
            assert changed["change"].value_counts().reindex(list(CHANGES), fill_value=0).tolist() == [
                counts.loc[year, c] for c in CHANGES]


def test_spells_of_a_code_matrix():
    s, n, i, b = range(4)
    out = spells(np.array([[i, i, i], [s, b, s], [n, s, s], [s, s, n]]), [2001, 2002, 2003])
    assert [_optional(v) for v in out["onset_year"]] == [None, 2001, 2002, None]
    assert [_optional(v) for v in out["current_spell"]] == [None, 3, 2, None]
    assert out["n_spells"].tolist() == [0, 1, 1, 1] and out["n_recoveries"].tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("standard, settings", [
    ("census-decline", {}),
    ("consecutive-decline", {"n": 2}),
    ("peak-loss", {"decline_window": 3, "decline_years": 2}),
    ("scirn", {"window": 3, "min_loss_years": 2, "min_population": 0}),
])
def test_no_later_data_leaks_into_an_earlier_year(standard, settings):
    """Changing every value after year t changes nothing as of t or before (and does change later years)."""
    rng = np.random.default_rng(3)
    years = list(range(2000, 2012))
    values = 1000 * np.exp(np.cumsum(rng.normal(0, 0.03, size=(80, len(years))), axis=1))
    values[rng.random(values.shape) < 0.05] = np.nan
    cut = 2007
    later = values.copy()
    after = np.array(years) > cut
    later[:, after] = later[:, after] * rng.uniform(0.5, 1.5, size=(80, int(after.sum())))
    later[rng.random(later.shape) < 0.2] = np.nan
    later[:, ~after] = values[:, ~after]
    base = timeline(Panel.from_series({f"u{i}": r for i, r in enumerate(values)}, years=years), standard, settings)
    changed = timeline(Panel.from_series({f"u{i}": r for i, r in enumerate(later)}, years=years), standard, settings)
    assert base.years == changed.years and cut in base.years
    upto = [y for y in base.years if y <= cut]
    pd.testing.assert_frame_equal(base.status[upto], changed.status[upto])
    assert not base.status[[y for y in base.years if y > cut]].equals(changed.status[[y for y in base.years
                                                                                      if y > cut]])


@pytest.mark.parametrize("standard, settings", [
    ("census-decline", {"min_loss": 0.01}),
    ("consecutive-decline", {"n": 3, "min_annual_loss": 0.005}),
    ("peak-loss", {"peak_window": 6, "peak_ratio": 0.95, "decline_window": 4, "decline_years": 2}),
    ("peak-loss", {}),
    ("scirn", {"window": 4, "min_loss_years": 2, "min_population": 900}),
])
def test_every_year_equals_identify_on_a_panel_with_gaps(standard, settings):
    """The one-pass paths (census-decline, consecutive-decline, peak-loss's sliding windows) and the per-year
    path (scirn) give identify's status with the year set to each as-of year."""
    rng = np.random.default_rng(11)
    years = list(range(1990, 2006))
    values = 1000 * np.exp(np.cumsum(rng.normal(-0.003, 0.03, size=(120, len(years))), axis=1))
    values[rng.random(values.shape) < 0.07] = np.nan
    panel = Panel.from_series({f"u{i:03d}": row for i, row in enumerate(values)}, years=years)
    result = timeline(panel, standard, settings)
    assert len(result.years) >= 8
    for year in result.years:
        expected = identify(panel, standard, {**settings, result.as_of_field: year}).table["status"].tolist()
        assert result.status[year].astype(str).tolist() == expected, year
    assert result.counts["shrinking"].sum() > 0 and result.counts["not_shrinking"].sum() > 0


def test_census_panel_compares_each_census_with_the_one_before():
    panel = Panel.from_series({"a": [100, 90, 95], "b": [100, 110, 100], "c": [np.nan, 50, 40]},
                              years=[2000, 2010, 2020], census_years=(2000, 2010, 2020))
    result = timeline(panel, "census-decline")
    assert result.years == (2010, 2020)
    assert result.status.astype(str).to_dict("list") == {
        2010: ["shrinking", "not_shrinking", "insufficient_data"],
        2020: ["not_shrinking", "shrinking", "shrinking"]}
    fixed = timeline(panel, "census-decline", {"start_year": 2000})  # every year against 2000
    assert fixed.status[2020].astype(str).tolist() == ["shrinking", "not_shrinking", "insufficient_data"]


def test_as_of_years_stop_at_the_setting_and_never_use_projections():
    years = list(range(2010, 2020))
    panel = Panel.from_series({"a": list(range(110, 100, -1)), "b": list(range(100, 110))}, years=years,
                              projected_from=2016)
    result = timeline(panel, "consecutive-decline")
    assert result.years == (2013, 2014, 2015)  # 2016-2019 are projections
    assert result.parameters["year"] == 2015
    until = timeline(panel, "consecutive-decline", {"year": 2014})
    assert until.years == (2013, 2014)
    asked = timeline(panel, "consecutive-decline", {"year": 2018})
    assert asked.years[-1] == 2015 and any("projections" in note for note in asked.notes)


def test_stable_clusters_and_boundary_changes_per_year():
    """A merger in 2013, judged with a two-year window: as of 2013 and 2014 (windows 2011-2013, 2012-2014) A and
    B are judged as their stable cluster and C, with a break and no partner, is boundary_change; as of 2015 the
    window has moved past the break and everyone has an ordinary verdict again. Each year's status equals
    identify's with the year set to it."""
    years = list(range(2010, 2017))
    links = pd.DataFrame({"unit_id": ["B"], "other_id": ["A"], "year": [2013], "kind": ["partial_transfer"]})
    breaks = pd.DataFrame({"unit_id": ["A", "B", "C"], "year": [2013, 2013, 2013], "treatment": ["partial_transfer"] * 3})
    panel = Panel.from_series({"A": [100, 99, 98, 60, 59, 58, 57], "B": [50, 51, 52, 95, 96, 97, 98],
                               "C": [10, 9, 8, 7, 6, 5, 4], "D": [5, 6, 7, 8, 9, 10, 11]},
                              years=years, territory_links=links, boundary_breaks=breaks)
    settings = {"n": 2}
    result = timeline(panel, "consecutive-decline", settings)
    for year in result.years:
        expected = identify(panel, "consecutive-decline", {**settings, "year": year}).table["status"].tolist()
        assert result.status[year].astype(str).tolist() == expected, year
    assert result.status.loc["C"].astype(str).tolist() == ["shrinking", "boundary_change", "boundary_change",
                                                           "shrinking", "shrinking"]
    assert result.units.loc["C", "onset_year"] == 2012 and result.units.loc["C", "n_spells"] == 1  # bridged
    assert result.units.loc[["A", "B"], "via_stable_cluster"].tolist() == [2, 2]
    assert result.counts.loc[2013, "exited_to_no_verdict"] == 1  # C left the list for lack of a verdict
    assert result.counts.loc[2015, "entered_from_no_verdict"] == 1
    plain = timeline(panel, "consecutive-decline", settings, stable_clusters=False)
    assert (plain.status.loc[["A", "B"], 2014].astype(str) == "boundary_change").all()


# ---------------------------------------------------------------- hostile cases

def test_a_window_longer_than_the_panel_is_refused_with_the_years():
    panel = Panel.from_series({"a": [3, 2, 1]}, years=[2010, 2011, 2012])
    with pytest.raises(DataError, match=r"needs the years from 2007 for 2012 .*2010-2012"):
        timeline(panel, "consecutive-decline", {"n": 5})


def test_bad_settings_are_refused():
    panel = Panel.from_series({"a": [3, 2, 1]}, years=[2010, 2011, 2012])
    with pytest.raises(OptionError, match="year 2030 is not in the panel"):
        timeline(panel, "consecutive-decline", {"year": 2030, "n": 1})
    with pytest.raises(OptionError, match="unknown parameter 'nope'"):
        timeline(panel, "census-decline", {"nope": 1})
    with pytest.raises(DataError, match="indicator 'pop_urban' is not in panel"):
        timeline(panel, "census-decline", {"indicator": "pop_urban"})


def test_cli_writes_the_wide_table_and_prints_counts(tmp_path):
    from shrinkwatch.core.panelfile import write_panel

    years = list(range(2010, 2016))
    units = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "Plain"]}, index=pd.Index(["a", "b"], name="unit_id"))
    panel = Panel.from_series({"a": [100, 99, 98, 97, 98, 97], "b": [10, 11, 12, 13, 14, 15]}, years=years,
                              units=units, id="hand")
    path = tmp_path / "hand.parquet"
    write_panel(panel, path)
    out = tmp_path / "timeline.csv"
    result = run_cli("timeline", "-d", str(path), "-s", "consecutive-decline", "--set", "n=1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "consecutive-decline as of each year 2011-2015" in result.stdout
    assert "entered" in result.stdout and "exited" in result.stdout
    table = pd.read_csv(out, dtype={"unit_id": str}).set_index("unit_id")
    assert table.loc["a", ["2011", "2014", "2015"]].tolist() == ["shrinking", "not_shrinking", "shrinking"]
    assert table.loc["a", "onset_year"] == 2015 and table.loc["a", "n_recoveries"] == 1
    assert not table.loc["a", "name"].startswith("=")  # a name that is a formula stays text
    refused = run_cli("timeline", "-d", str(path), "-s", "consecutive-decline", "--set", "n=9")
    assert refused.returncode == 2 and "no year the standard can be evaluated as of" in refused.stderr
    bad = run_cli("timeline", "-d", str(path), "--set", "min_loss=lots")
    assert bad.returncode == 2 and "min_loss" in bad.stderr
    missing = run_cli("timeline", "-d", str(tmp_path / "none.parquet"))
    assert missing.returncode != 0 and "none.parquet" in missing.stderr


# ---------------------------------------------------------------- the report section

def test_report_section_shows_counts_or_says_why_not():
    from shrinkwatch.report.timeline import timeline_parts

    years = list(range(2010, 2016))
    panel = Panel.from_series({"a": [100, 99, 98, 97, 98, 97], "b": [10, 11, 12, 13, 14, 15],
                               "<script>": [5, 4, 3, 2, 1, 0.5]}, years=years)
    title, body = timeline_parts(timeline(panel, "consecutive-decline", {"n": 1}), None)
    assert title == "Status over time" and "<svg" in body and "as of each year from 2011 to 2015" in body
    assert "Entered the shrinking list in 2015 (1)" in body and "&lt;script&gt;" in body and "<script>" not in body
    short = Panel.from_series({"a": [3, 2]}, years=[2010, 2020], census_years=(2010, 2020))
    _, note = timeline_parts(timeline(short, "census-decline"), None)
    assert "allows 1 as-of year (2020)" in note and "<svg" not in note
    _, error = timeline_parts(None, "no year the standard can be evaluated as of")
    assert "not available: no year" in error
    title_zh, body_zh = timeline_parts(timeline(panel, "consecutive-decline", {"n": 1}), None, lang="zh")
    assert title_zh == "收缩状态的演变" and "2015年进入收缩名单" in body_zh
    with pytest.raises(OptionError):
        timeline_parts(None, "x", lang="fr")


# ---------------------------------------------------------------- real data (slow)

@pytest.mark.slow
def test_equals_identify_as_of_every_year_on_real_data(data_dir):
    """US counties (three standards) and Urban Audit cities (boundary breaks, the dataset's default year 2016):
    every as-of year's status is identify's with the evaluation year set to it."""
    from shrinkwatch import datasets

    counties = datasets.load("us-county-est", data_dir)
    cities = datasets.load("eu-urban-audit", data_dir)
    cases = [(counties, "census-decline", {}), (counties, "consecutive-decline", {}), (counties, "peak-loss", {}),
             (cities, "consecutive-decline", {"year": 2016})]
    for panel, standard, settings in cases:
        result = timeline(panel, standard, settings)
        assert len(result.years) >= 5, (panel.id, standard)
        for year in result.years:
            expected = identify(panel, standard, {**settings, result.as_of_field: year}).table["status"]
            got = result.status[year].astype(str)
            assert (got.to_numpy() == expected.to_numpy()).all(), (panel.id, standard, year)
    census = timeline(counties, "census-decline")
    assert census.years == tuple(range(2011, 2020))
    assert census.counts.loc[2019, "shrinking"] == 1686  # identify's headline for 2010-2019
    urban = timeline(cities, "consecutive-decline", {"year": 2016})
    assert urban.years[-1] == 2016 and urban.counts["boundary_change"].sum() > 0

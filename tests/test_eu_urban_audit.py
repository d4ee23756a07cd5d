"""The Eurostat Urban Audit adapter (``eu-urban-audit``, table urb_cpop1, 2008-2017).

Facts about the real file are recomputed here with the ``csv`` module, independently of the
adapter (no pandas, no regular expressions from the adapter), and compared with the Panel, its
ledger, its boundary breaks and the identification.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from shrinkwatch import datasets, identify, run
from shrinkwatch.core.errors import ChecksumError, DataDirectoryNotFoundError, DataError, NothingUsableError
from shrinkwatch.datasets import registry
from shrinkwatch.datasets.eu_urban_audit import load_urban_audit, match_damaged_names
from test_output_formats import check_summary, check_workbook

from conftest import run_cli

CSV_PATH = "europe/urban_audit/urb_cpop1_1_Data.csv"
FFFD = "\ufffd"
TOTAL = "Population on the 1st of January, total"
LABELS = {
    TOTAL: "pop_resident",
    "Population on the 1st of January, male": "pop_male",
    "Population on the 1st of January, female": "pop_female",
    "Population on the 1st of January, 0-4 years, total": "pop_age_0_4",
    "Population on the 1st of January, 0-4 years, male": "pop_age_0_4_male",
}
#: The 30 country totals of the shipped file, read off it by eye (each is a country's population,
#: 0.4-82 million in 2008; "Luxembourg" alone is the city and stays).
COUNTRY_NAMES = {
    "Germany", "Italy", "Spain", "France", "United Kingdom", "Poland", "Romania", "Netherlands", "Greece",
    "Belgium", "Portugal", "Czech Republic", "Hungary", "Sweden", "Austria", "Schweiz/Suisse", "Bulgaria",
    "Denmark", "Slovakia", "Finland", "Ireland", "Norge", "Lithuania", "Latvia", "Slovenia", "Estonia",
    "Cyprus", "Luxembourg (Grand Duchy)", "Malta", "Turkey",
}
HEADER = "TIME,CITIES,INDIC_UR,Value,Flag and Footnotes\n"


@pytest.fixture(scope="module")
def eu_rows(data_dir) -> list[dict[str, str]]:
    with open(data_dir / CSV_PATH, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def eu(data_dir):
    return datasets.load("eu-urban-audit", data_dir)


def _unit_ids(rows: list[dict[str, str]]) -> list[str]:
    """Each row's unit: its name, or "<name> [k]" for the k-th row of that name, year and indicator."""
    seen: Counter[tuple[str, str, str]] = Counter()
    ids = []
    for r in rows:
        key = (r["TIME"], r["CITIES"], r["INDIC_UR"])
        seen[key] += 1
        ids.append(r["CITIES"] if seen[key] == 1 else f"{r['CITIES']} [{seen[key]}]")
    return ids


def _city_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in rows if r["CITIES"] not in COUNTRY_NAMES]


def _fits(damaged: str, clean: str) -> bool:
    """Does ``damaged`` fit ``clean`` with each U+FFFD standing for one or two characters? (no regex)"""
    if not damaged:
        return not clean
    if damaged[0] == FFFD:
        return any(len(clean) >= k and _fits(damaged[1:], clean[k:]) for k in (1, 2))
    return bool(clean) and clean[0] == damaged[0] and _fits(damaged[1:], clean[1:])


def _small_file(tmp_path: Path, body: str, name: str = "urb_cpop1_1_Data.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _load_small(path: Path):
    return load_urban_audit([path], datasets.get_dataset("eu-urban-audit"))


# ---------------------------------------------------------------- the real file: rows and ledger

def test_eu_ledger_counts_from_the_raw_file(eu, eu_rows):
    """Every row is read and accounted for: the 30 country totals are rejected (5 counts x 10 years each),
    everything else is accepted; ':' is counted as missing per indicator, never rejected."""
    assert len(eu_rows) == 53500
    names = {r["CITIES"] for r in eu_rows}
    assert COUNTRY_NAMES <= names and "Luxembourg" in names
    totals = [r for r in eu_rows if r["CITIES"] in COUNTRY_NAMES]
    assert len(totals) == 30 * 5 * 10
    ledger = eu.ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (53500, 53500 - 1500, 1500)
    assert ledger.rejected["reason"].eq("country total, not a city: removed").all()
    assert set(ledger.rejected["value"]) == COUNTRY_NAMES
    assert ledger.rejected["row"].tolist() == [i + 2 for i, r in enumerate(eu_rows) if r["CITIES"] in COUNTRY_NAMES]
    cities = _city_rows(eu_rows)
    markers = Counter(LABELS[r["INDIC_UR"]] for r in cities if r["Value"] == ":")
    assert dict(zip(ledger.missing["indicator"], ledger.missing["cells"])) == dict(markers)
    assert sum(markers.values()) == ledger.tallies["missing ':' read as missing"] == 16505
    assert ledger.cell_actions.empty  # every other value is a whole number: nothing changed on reading
    assert all(r["Value"] == ":" or r["Value"].isdigit() for r in eu_rows)
    flags = Counter(letter for r in cities for letter in r["Flag and Footnotes"])
    assert {k: v for k, v in ledger.tallies.items() if k.startswith("flag ")} == {
        "flag b (break in time series)": flags["b"], "flag d (definition differs)": flags["d"],
        "flag e (estimated)": flags["e"], "flag r (revised)": flags["r"]}
    assert ledger.tallies["rejected as country total"] == 1500
    assert "no city codes and no country column" in ledger.warnings[0]


@pytest.mark.slow
def test_eu_units_and_every_value_match_the_raw_file(eu, eu_rows):
    cities = _city_rows(eu_rows)
    ids = _unit_ids(cities)
    assert len(set(ids)) == len(eu.units) == 1040
    twice = sorted({i[:-4] for i in ids if i.endswith(" [2]")})
    assert len(twice) == 18 and "Madrid" in twice and "Liverpool" in twice
    assert not any(i.endswith(" [3]") for i in ids)
    assert set(eu.units.index) == set(ids)
    assert eu.years == list(range(2008, 2018))
    assert eu.values.shape == (1040 * 10, 5)
    for unit, r in zip(ids, cities):
        got = eu.values.at[(unit, int(r["TIME"])), LABELS[r["INDIC_UR"]]]
        assert (math.isnan(got) if r["Value"] == ":" else got == int(r["Value"])), (unit, r)
    # the second entry of a name is a larger area, in every year where both totals are published
    pop = eu.values["pop_resident"].unstack("year")
    for name in twice:
        both = pop.loc[name].notna() & pop.loc[f"{name} [2]"].notna()
        assert (pop.loc[f"{name} [2]"][both] > pop.loc[name][both]).all(), name
    assert (eu.units.loc[[f"{n} [2]" for n in twice], "kind"] == "second area published under the same name").all()
    # no country can be read from the file: none is invented
    assert eu.units[["parent_id", "parent_name", "country"]].isna().all().all()
    assert eu.meta.units_of == {indicator: "persons" for indicator in LABELS.values()}


@pytest.mark.slow
def test_eu_damaged_names_are_listed_since_none_has_a_clean_spelling(eu, eu_rows):
    names = {r["CITIES"] for r in _city_rows(eu_rows)}
    damaged = sorted(n for n in names if FFFD in n)
    clean = [n for n in names if FFFD not in n]
    assert len(damaged) == 139
    # the file has no clean spelling of any damaged name (no accented letters survive at all)
    assert not any(_fits(d, c) for d in damaged for c in clean)
    assert all(c.isascii() for c in clean)
    ledger = eu.ledger
    assert ledger.tallies["names damaged (U+FFFD)"] == 139
    assert ledger.tallies["damaged names matched to a clean spelling"] == 0
    assert ledger.tallies["damaged names kept as published"] == 139
    listed = next(w for w in ledger.warnings if "U+FFFD" in w)
    assert all(d in listed for d in damaged)
    note = next(n for n in eu.meta.notes if "U+FFFD" in n)
    assert all(d in note for d in damaged)
    flagged = eu.units[eu.units["name_damaged"]]
    assert set(flagged["name"]) == set(damaged) and len(flagged) == 140  # Pamplona/Iru\ufffda twice
    assert (eu.units["name"] == eu.units["name_as_published"]).all()


@pytest.mark.slow
def test_eu_flag_b_is_a_boundary_break_and_gives_boundary_change(eu, eu_rows):
    cities = _city_rows(eu_rows)
    flagged = {(u, int(r["TIME"])) for u, r in zip(_unit_ids(cities), cities) if "b" in r["Flag and Footnotes"]}
    breaks = eu.meta.boundary_breaks
    assert set(zip(breaks["unit_id"], breaks["year"])) == flagged
    assert len(breaks) == 863 and breaks["treatment"].eq("break in series (Eurostat flag b)").all()
    broken_units = defaultdict(set)
    for unit, year in flagged:
        broken_units[unit].add(year)
    # first to last year: every city flagged b in 2009-2017 is boundary_change, and no other
    result = identify(eu, "census-decline")
    status = result.table["status"]
    expected = {u for u, years in broken_units.items() if any(2008 < y <= 2017 for y in years)}
    assert expected == set(broken_units)  # no break falls in the first year of this file
    assert set(status.index[status == "boundary_change"]) == expected
    assert status["Bucuresti"] == "boundary_change" and "(2010)" in result.table.at["Bucuresti", "reason"]
    # the default standard compares 2013-2016 only: breaks outside it leave a verdict
    default = identify(eu, "consecutive-decline", {"year": 2016}).table["status"]
    inside = {u for u, years in broken_units.items() if any(2013 < y <= 2016 for y in years)}
    assert set(default.index[default == "boundary_change"]) == inside
    outside_only = set(broken_units) - inside
    assert outside_only and not (default[sorted(outside_only)] == "boundary_change").any()


# ---------------------------------------------------------------- the default standard and the whole run

def test_standard_for_uses_the_datasets_default_unless_told():
    assert datasets.standard_for("eu-urban-audit") == ("consecutive-decline", {"year": 2016})
    assert datasets.standard_for("eu-urban-audit", None, {"year": 2017, "n": 2}) == (
        "consecutive-decline", {"year": 2017, "n": 2})
    assert datasets.standard_for("eu-urban-audit", "census-decline", {"min_loss": 0.05}) == (
        "census-decline", {"min_loss": 0.05})
    assert datasets.standard_for("us-county-est") == ("census-decline", {})
    assert datasets.standard_for("some/panel.parquet") == ("census-decline", {})


@pytest.mark.slow
def test_eu_run_end_to_end(eu, eu_rows, tmp_path):
    """``run --dataset eu-urban-audit`` with no standard uses consecutive-decline in 2016; the shrinking
    count is recomputed here from the raw rows (three falls 2013->2016, no break flagged 2014-2016)."""
    done = run_cli("run", "--dataset", "eu-urban-audit", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} >= {"report.html", "summary.json", "results.csv", "results.xlsx",
                                               "manifest.json"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["standard"]["id"] == "consecutive-decline" and summary["standard"]["parameters"]["year"] == 2016
    assert {k: summary["ledger"][k] for k in ("rows_read", "accepted", "rejected")} == \
        {"rows_read": 53500, "accepted": 52000, "rejected": 1500}
    assert sum(r["rows"] for r in summary["ledger"]["rejected_by_reason"]) == 1500
    check_summary(out / "summary.json")
    check_workbook(out / "results.xlsx")  # consecutive-decline's columns and the 1,500 rejected rows documented

    cities = _city_rows(eu_rows)
    total: dict[str, dict[int, int]] = defaultdict(dict)
    broke: set[str] = set()
    for unit, r in zip(_unit_ids(cities), cities):
        year = int(r["TIME"])
        if r["INDIC_UR"] == TOTAL and r["Value"] != ":":
            total[unit][year] = int(r["Value"])
        if 2013 < year <= 2016 and "b" in r["Flag and Footnotes"]:
            broke.add(unit)
    units = {u for u in _unit_ids(cities)}
    known = {u for u in units - broke if all(y in total[u] for y in range(2013, 2017))}
    shrinking = {u for u in known if all(total[u][y] < total[u][y - 1] for y in range(2014, 2017))}
    counts = summary["counts"]
    assert counts["units_total"] == 1040 and counts["boundary_change"] == len(broke) == 76
    assert counts["shrinking"] == len(shrinking) == 102
    # a unit with a gap in 2013-2016 is insufficient data unless a fall run already decides it: fewer decided
    assert counts["units_with_data"] >= len(known)
    assert counts["units_with_data"] + counts["insufficient_data"] + counts["boundary_change"] == 1040
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "country totals it mixes in are rejected" in html and "M" + FFFD + "nchen" in html
    assert "consecutive-decline" in done.stdout and "102 of 761 cities" in done.stdout


@pytest.mark.slow
def test_eu_identify_cli_default_and_explicit_standard(tmp_path):
    out = tmp_path / "identify.csv"
    done = run_cli("identify", "--dataset", "eu-urban-audit", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "102 shrinking of 761 units with data" in done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1041 and "evaluation_year" in lines[0]
    again = run_cli("identify", "--dataset", "eu-urban-audit", "--standard", "census-decline", "--output", str(out))
    assert again.returncode == 0 and "boundary change" in again.stderr
    assert "102 shrinking" not in again.stderr


# ---------------------------------------------------------------- hand-made files with known answers

def test_match_damaged_names_only_a_single_clean_candidate():
    names = ["M\ufffdnchen", "Muenchen", "T\ufffdrgu", "Targu", "Turgu", "St. P\ufffdlten (x)", "Li\ufffdge",
             "K\ufffd\ufffdln", "Koeln", "B\ufffd\ufffdn", "Bon"]
    fixed, table = match_damaged_names(pd.Series(names))
    assert fixed.tolist() == ["Muenchen", "Muenchen", "T\ufffdrgu", "Targu", "Turgu", "St. P\ufffdlten (x)",
                              "Li\ufffdge", "Koeln", "Koeln", "B\ufffd\ufffdn", "Bon"]
    assert dict(zip(table["damaged"], table["candidates"])) == {
        "M\ufffdnchen": 1, "T\ufffdrgu": 2, "St. P\ufffdlten (x)": 0, "Li\ufffdge": 0, "K\ufffd\ufffdln": 1,
        "B\ufffd\ufffdn": 0}  # two damaged letters need at least two characters: "Bon" has one


def test_a_small_file_every_row_accounted_for(tmp_path):
    body = (
        "2010,Germany,\"Population on the 1st of January, total\",81802257,\n"          # 2 country total
        "2010,Aachen,\"Population on the 1st of January, total\",258664,\n"             # 3
        "2011,Aachen,\"Population on the 1st of January, total\",260454,b\n"            # 4 break
        "2012,Aachen,\"Population on the 1st of January, total\",:,\n"                  # 5 missing
        "2011,Aachen,\"Population on the 1st of January, male\",130000,b\n"             # 6
        "20x1,Aachen,\"Population on the 1st of January, total\",1,\n"                  # 7 bad year
        "2010,Aachen,\"Population on the 1st of January, 65+\",1,\n"                    # 8 unknown indicator
        "2010,Bonn,\"Population on the 1st of January, total\",12a,e\n"                 # 9 not a number
        "2010,Bonn,\"Population on the 1st of January, total\",600000,\n"               # 10 second area
        "2012,Bonn,\"Population on the 1st of January, male\",150000,bq\n"              # 11 break on male only
        "2010,,\"Population on the 1st of January, total\",5,\n"                        # 12 no name
        "2010,M\ufffdnster,\"Population on the 1st of January, total\",280000,\n"       # 13 damaged, matched
        "2011,Muenster,\"Population on the 1st of January, total\",281000,\n"           # 14
        "2010,European Union (28 countries),\"Population on the 1st of January, total\",5,\n"  # 15 aggregate
    )
    panel = _load_small(_small_file(tmp_path, body))
    ledger = panel.ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (14, 9, 5)
    assert list(zip(ledger.rejected["row"], ledger.rejected["column"], ledger.rejected["reason"])) == [
        (7, "TIME", "not a year"),
        (12, "CITIES", "no city name"),
        (8, "INDIC_UR", "not one of the 5 urb_cpop1 population indicators"),
        (2, "CITIES", "country total, not a city: removed"),
        (15, "CITIES", "country total, not a city: removed"),
    ]
    assert sorted(panel.units.index) == ["Aachen", "Bonn", "Bonn [2]", "Muenster"]
    assert panel.years == [2010, 2011, 2012]
    values = panel.values
    assert values.at[("Aachen", 2011), "pop_resident"] == 260454
    assert np.isnan(values.at[("Aachen", 2012), "pop_resident"])
    assert np.isnan(values.at[("Bonn", 2010), "pop_resident"]) and values.at[("Bonn [2]", 2010), "pop_resident"] == 600000
    assert values.loc["Muenster", "pop_resident"].tolist()[:2] == [280000, 281000]
    actions = ledger.cell_actions
    assert list(zip(actions["row"], actions["column"])) == [(9, "Value"), (13, "CITIES")]
    assert "not a number" in actions["action"].iat[0] and "'Muenster'" in actions["action"].iat[1]
    assert ledger.missing["cells"].sum() == 1
    breaks = panel.meta.boundary_breaks
    assert list(zip(breaks["unit_id"], breaks["year"], breaks["treatment"])) == [
        ("Aachen", 2011, "break in series (Eurostat flag b)"),
        ("Bonn", 2012, "break in series (Eurostat flag b) in pop_male only"),
    ]
    assert any("['q']" in w for w in ledger.warnings)  # a letter that is not a Eurostat flag is named
    assert identify(panel, "census-decline", {"start_year": 2010, "end_year": 2011}).table.at[
        "Aachen", "status"] == "boundary_change"


def test_a_formula_for_a_name_stays_inert_text(tmp_path):
    formula = '=HYPERLINK("http://x","click")'
    quoted = formula.replace('"', '""')
    body = "".join(f"{y},\"{quoted}\",\"Population on the 1st of January, total\",{v},\n"
                   for y, v in ((2013, 1000), (2014, 990), (2015, 980), (2016, 970)))
    panel = _load_small(_small_file(tmp_path, body))
    assert panel.units.index.tolist() == [formula]
    out = run(panel, "consecutive-decline", out_dir=tmp_path / "out", analysis=False)
    results = out["results.csv"].read_text(encoding="utf-8")
    assert "'" + formula.replace('"', '""') in results and "shrinking" in results
    book = openpyxl.load_workbook(out["results.xlsx"])
    cells = [c.value for row in book.worksheets[0].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(c.startswith("'=HYPERLINK") for c in cells) and not any(c.startswith("=HYPERLINK") for c in cells)
    html = out["report.html"].read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;http://x&#34;" in html or "=HYPERLINK(&quot;http://x&quot;" in html
    assert 'href="http://x"' not in html


# ---------------------------------------------------------------- damaged and altered files

def test_a_truncated_file_is_refused(tmp_path, data_dir):
    content = (data_dir / CSV_PATH).read_bytes()
    target = tmp_path / "data" / CSV_PATH
    target.parent.mkdir(parents=True)
    cut = content[: content.index(b"Population on", 200_000) + 5]  # inside a quoted label
    target.write_bytes(cut)
    with pytest.raises(ChecksumError, match=str(target)):
        datasets.load("eu-urban-audit", tmp_path / "data")
    done = run_cli("identify", "--dataset", "eu-urban-audit", "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 4 and "checksum mismatch" in done.stderr and len(done.stderr.splitlines()) == 1
    # read without the checksum, the cut quoted field is a clear error naming the file
    with pytest.raises(DataError, match=r"urb_cpop1_1_Data\.csv: not a readable CSV table"):
        datasets.load("eu-urban-audit", tmp_path / "data", check=False)
    # a file altered in one digit is refused too
    target.write_bytes(content.replace(b"3213271", b"3213272", 1))
    with pytest.raises(ChecksumError):
        datasets.load("eu-urban-audit", tmp_path / "data")


def test_a_file_without_its_columns_or_cities_is_a_data_error(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("TIME,GEO,Value\n2010,Berlin,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"other\.csv: missing column\(s\) \['CITIES', 'INDIC_UR'"):
        _load_small(path)
    only_totals = _small_file(tmp_path, "2010,Germany,\"Population on the 1st of January, total\",81802257,\n")
    with pytest.raises(NothingUsableError, match=r"no city row accepted from 1 rows read: .*row 2, column 'CITIES': "
                                                 r"country total"):
        _load_small(only_totals)
    with pytest.raises(NothingUsableError, match="the file has no data rows"):
        _load_small(_small_file(tmp_path, ""))


# ---------------------------------------------------------------- data fetch / verify

def test_fetch_says_how_to_get_an_extraction_and_copies_it_from_a_mirror(tmp_path, data_dir, monkeypatch):
    with pytest.raises(DataDirectoryNotFoundError, match="cannot be downloaded as shipped") as info:
        datasets.fetch(["eu-urban-audit"], tmp_path / "empty")
    assert "--from MIRROR_DIR" in str(info.value) and registry.get_dataset("eu-urban-audit").files[0].sha256 in str(
        info.value)
    assert not (tmp_path / "empty" / CSV_PATH).exists()
    written = datasets.fetch(["eu-urban-audit"], tmp_path / "copy", data_dir)
    assert written == [tmp_path / "copy" / CSV_PATH]
    # fetching everything skips it with the same message instead of stopping
    monkeypatch.setattr(registry, "REGISTRY", {"eu-urban-audit": registry.get_dataset("eu-urban-audit")})
    said: list[str] = []
    assert datasets.fetch(None, tmp_path / "all", progress=said.append) == []
    assert said and said[0].startswith("skipped") and "cannot be downloaded as shipped" in said[0]


def test_cli_data_verify(tmp_path, data_dir):
    done = run_cli("data", "verify", "eu-urban-audit", "--data-dir", str(data_dir))
    assert done.returncode == 0 and str(data_dir / CSV_PATH) in done.stdout
    damaged = tmp_path / "data" / CSV_PATH
    damaged.parent.mkdir(parents=True)
    shutil.copyfile(data_dir / CSV_PATH, damaged)
    with open(damaged, "ab") as handle:
        handle.write(b"2017,Extra,x,1,\n")
    bad = run_cli("data", "verify", "eu-urban-audit", "--data-dir", str(tmp_path / "data"))
    assert bad.returncode == 4 and "checksum mismatch" in bad.stderr
    info = run_cli("data", "info", "eu-urban-audit")
    assert "standard:    consecutive-decline (year=2016)" in info.stdout

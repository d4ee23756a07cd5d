"""Adapter: Eurostat Urban Audit ``urb_cpop1`` (population on 1 January by sex and age), read as published.

``urb_cpop1_1_Data.csv`` is a long table extracted from the Eurostat database with
labels instead of codes: ``TIME, CITIES, INDIC_UR, Value, Flag and Footnotes``, one
row per city, year and indicator (five population counts), 2008-2017. Its traps:

- **Names only.** There is no city code and no country column; the rows of a year
  are ordered by population, not by country. A city's country cannot be read from
  the file, so ``parent_id``/``parent_name``/``country`` are left empty (ledger warning
  and a data note). A unit is its name; a name published twice in the same year
  and indicator (18 Spanish and British names: the city and, under the same label, a
  larger area) gives a second unit ``"<name> [2]"``, in the order of the file.
- **Country totals are mixed in** (``Germany``, ``Schweiz/Suisse``, ``Norge``,
  ``Luxembourg (Grand Duchy)``, ...): they are rejected with their reason, never units.
- **Damaged names.** Accented letters were lost to U+FFFD (``M\ufffdnchen``). A damaged
  name is replaced by a clean spelling of the same file when exactly one clean name
  fits (U+FFFD standing for one or two characters); otherwise it is kept as published
  and listed in the ledger (warnings) and the data notes.
- **``:`` is missing**, counted in the ledger's missing table, never a zero.
- **Flag ``b`` is a break in series** (a boundary or method change, not growth): each
  flagged city and year becomes a boundary break (``meta.boundary_breaks``), so a
  comparison across it is reported as ``boundary_change``. The other flags (``e``
  estimated, ``d`` definition differs, ``r`` revised, ...) are counted in the tallies.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, NothingUsableError
from shrinkwatch.core.ledger import RowRejections
from shrinkwatch.core.meta import BREAK_COLUMNS
from shrinkwatch.datasets.us_county import read_text_robustly

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = [
    "load_urban_audit",
    "match_damaged_names",
    "INDICATORS",
    "COUNTRY_TOTALS",
    "EUROSTAT_FLAGS",
    "MISSING_MARKER",
    "DAMAGED",
    "BREAK_TREATMENT",
]

#: The file's columns, in order.
COLUMNS = ("TIME", "CITIES", "INDIC_UR", "Value", "Flag and Footnotes")
_FLAG = "Flag and Footnotes"

#: INDIC_UR label -> indicator of the panel.
INDICATORS: dict[str, str] = {
    "Population on the 1st of January, total": "pop_resident",
    "Population on the 1st of January, male": "pop_male",
    "Population on the 1st of January, female": "pop_female",
    "Population on the 1st of January, 0-4 years, total": "pop_age_0_4",
    "Population on the 1st of January, 0-4 years, male": "pop_age_0_4_male",
}

#: Eurostat's marker of a value that is not available.
MISSING_MARKER = ":"

#: The replacement character that stands where an accented letter was lost.
DAMAGED = "\ufffd"

#: Eurostat's flags (https://ec.europa.eu/eurostat/data/database/information, "flags").
EUROSTAT_FLAGS: dict[str, str] = {
    "b": "break in time series", "c": "confidential", "d": "definition differs", "e": "estimated",
    "f": "forecast", "n": "not significant", "p": "provisional", "r": "revised", "s": "Eurostat estimate",
    "u": "low reliability", "z": "not applicable",
}

#: ``treatment`` of the boundary breaks read from flag ``b``.
BREAK_TREATMENT = "break in series (Eurostat flag b)"

#: Labels Eurostat gives the national level in Urban Audit extractions (English, and the national
#: forms its city-statistics tables use for EFTA countries), plus the EU aggregates. ``Luxembourg``
#: alone is the city; the country is ``Luxembourg (Grand Duchy)``.
COUNTRY_TOTALS: frozenset[str] = frozenset({
    "Belgium", "Bulgaria", "Czech Republic", "Czechia", "Denmark", "Germany",
    "Germany (until 1990 former territory of the FRG)", "Estonia", "Ireland", "Greece", "Spain", "France",
    "Croatia", "Italy", "Cyprus", "Latvia", "Lithuania", "Luxembourg (Grand Duchy)", "Hungary", "Malta",
    "Netherlands", "Austria", "Poland", "Portugal", "Romania", "Slovenia", "Slovakia", "Finland", "Sweden",
    "United Kingdom", "Iceland", "\u00cdsland", "Liechtenstein", "Norway", "Norge", "Switzerland",
    "Schweiz/Suisse", "Montenegro", "North Macedonia", "Former Yugoslav Republic of Macedonia, the",
    "Albania", "Serbia", "Turkey", "T\u00fcrkiye",
    "Kosovo (under United Nations Security Council Resolution 1244/99)",
})
_AGGREGATE = re.compile(r"^(?:European Union|Euro area|EU\d|EA\d|EFTA)\b")


def match_damaged_names(names: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Replace names damaged to U+FFFD by the one clean name of ``names`` that fits, where there is one.

    A damaged name fits a clean one when each U+FFFD stands for one or two characters
    (an accented letter, or its two-letter transliteration: ``M\ufffdnchen`` fits
    ``Munchen`` and ``Muenchen``) and the rest is equal. Only a single fitting clean name
    is taken; none, or several, leave the damaged name as it is.

    Parameters
    ----------
    names
        The names of the file's rows (repeats allowed).

    Returns
    -------
    tuple
        The names with the matched ones replaced, and one row per distinct damaged
        name: ``damaged``, ``matched`` (the clean name or ``<NA>``), ``candidates``
        (how many clean names fit).

    Examples
    --------
    >>> fixed, table = match_damaged_names(pd.Series(["K\ufffdln", "Koeln", "Li\ufffdge", "T\ufffdrgu", "Targu", "Turgu"]))
    >>> fixed.tolist()
    ['Koeln', 'Koeln', 'Li\ufffdge', 'T\ufffdrgu', 'Targu', 'Turgu']
    >>> table["candidates"].tolist()
    [1, 0, 2]
    """
    names = names.astype("string")
    damaged = names.str.contains(DAMAGED, regex=False, na=False)
    clean = pd.Series(names[~damaged].dropna().unique(), dtype="string")
    records: list[dict[str, Any]] = []
    # one pattern per distinct damaged name (a few hundred at most), each matched against all clean names at once
    for name in names[damaged].unique():
        pattern = "".join(".{1,2}" if char == DAMAGED else re.escape(char) for char in str(name))
        fits = clean[clean.str.fullmatch(pattern, flags=re.S)]
        records.append({"damaged": str(name), "matched": fits.iat[0] if len(fits) == 1 else pd.NA,
                        "candidates": int(len(fits))})
    table = pd.DataFrame(records, columns=["damaged", "matched", "candidates"])
    table["matched"] = table["matched"].astype("string")
    mapping = table.dropna(subset=["matched"]).set_index("damaged")["matched"]
    fixed = names.where(~names.isin(mapping.index), names.map(mapping))
    return fixed, table


def _kind(names: pd.Series, occurrence: pd.Series) -> np.ndarray:
    greater = names.str.contains(r"\(greater city\)|^Greater ", regex=True, na=False).to_numpy()
    return np.where(occurrence.to_numpy() > 1, "second area published under the same name",
                    np.where(greater, "greater city", "city"))


def load_urban_audit(paths: list[Path], dataset: "Dataset") -> Panel:
    """Read ``urb_cpop1_1_Data.csv`` into a Panel of cities x years (2008-2017).

    Parameters
    ----------
    paths
        The dataset's files; the first is the Eurostat extraction.
    dataset
        The registry entry (licence, citation, ...).

    Returns
    -------
    Panel
        One unit per city name (``unit_id`` = the name, ``"<name> [2]"`` for a second
        area under the same name), ``pop_resident`` (total), ``pop_male``, ``pop_female``,
        ``pop_age_0_4`` and ``pop_age_0_4_male`` on 1 January; country totals rejected;
        flag ``b`` as boundary breaks; no country or parent (the file has none).
    """
    path = Path(paths[0])
    text, encoding = read_text_robustly(path)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: not a readable CSV table: {error}") from None
    missing_columns = [c for c in COLUMNS if c not in raw.columns]
    if missing_columns:
        raise DataError(f"{path}: missing column(s) {missing_columns}; expected the Eurostat urb_cpop1 extraction "
                        f"with columns {list(COLUMNS)}")
    raw = raw.fillna("")  # a short last line (a cut file) leaves NaN in its missing fields
    line = raw.index.to_numpy() + 2  # the header is line 1

    time = raw["TIME"].str.strip()
    published_name = raw["CITIES"].str.strip()
    label = raw["INDIC_UR"].str.strip()
    cell = raw["Value"].str.strip()
    flag = raw[_FLAG].str.strip()

    rows = RowRejections(path, raw, line)
    take = rows.take
    take(~time.str.fullmatch(r"\d{4}"), "TIME", "not a year")
    take(published_name == "", "CITIES", "no city name")
    take(~label.isin(list(INDICATORS)), "INDIC_UR",
         f"not one of the {len(INDICATORS)} urb_cpop1 population indicators")
    total = published_name.isin(COUNTRY_TOTALS) | published_name.str.contains(_AGGREGATE, na=False)
    take(total, "CITIES", "country total, not a city: removed")
    keep = rows.remaining
    if not keep.any():
        why = "; ".join(rows.ledger().rejection_lines(3)) or "the file has no data rows"
        raise NothingUsableError(f"{path}: no city row accepted from {len(raw)} rows read: {why}")

    # values: ':' is missing; anything else that is not a whole number of persons is missing too, and noted
    number = pd.to_numeric(cell, errors="coerce")
    is_marker = cell == MISSING_MARKER
    unreadable = keep & (~is_marker).to_numpy() & ~(number.notna() & (number >= 0) & (number % 1 == 0)).to_numpy()
    cell_actions: list[dict[str, Any]] = [
        {"file": str(path), "sheet": "", "row": int(r), "column": "Value", "value": v,
         "action": "not a number of persons: treated as missing"}
        for r, v in zip(line[unreadable], cell[unreadable])]
    value = number.where(~pd.Series(unreadable, index=number.index) & ~is_marker).astype(float)

    # damaged names: the one clean spelling of the same file, where there is exactly one
    names, damage = match_damaged_names(published_name.where(pd.Series(keep, index=published_name.index)))
    names = names.fillna("").astype(str)
    renamed = keep & (names != published_name).to_numpy()
    cell_actions.extend(
        {"file": str(path), "sheet": "", "row": int(r), "column": "CITIES", "value": v,
         "action": f"damaged name (U+FFFD) matched to the clean spelling {n!r} of the same file"}
        for r, v, n in zip(line[renamed], published_name[renamed], names[renamed]))

    # units: a name, and which of its entries in the same year and indicator (1, 2, ...), in file order
    accepted = pd.DataFrame({"name": names[keep], "published": published_name[keep],
                             "year": time[keep].astype(int), "indicator": label[keep].map(INDICATORS),
                             "value": value[keep], "marker": is_marker[keep], "flag": flag[keep]})
    accepted["occurrence"] = accepted.groupby(["year", "name", "indicator"], sort=False).cumcount() + 1
    suffix = np.where(accepted["occurrence"] > 1, " [" + accepted["occurrence"].astype(str) + "]", "")
    accepted["unit_id"] = accepted["name"] + suffix

    first = accepted.drop_duplicates("unit_id")
    unit_index = pd.Index(first["unit_id"].to_numpy(), name="unit_id")
    unit_damaged = first["name"].str.contains(DAMAGED, regex=False).to_numpy()
    units = pd.DataFrame(
        {
            "name": first["name"].to_numpy(),
            "name_en": first["name"].to_numpy(),
            "name_as_published": first["published"].to_numpy(),
            "name_damaged": unit_damaged,
            "parent_id": pd.array([pd.NA] * len(first), dtype="string"),
            "parent_name": pd.array([pd.NA] * len(first), dtype="string"),
            "kind": _kind(first["name"], first["occurrence"]),
            "region": pd.array([pd.NA] * len(first), dtype="string"),
            "country": pd.array([pd.NA] * len(first), dtype="string"),
            "entry": first["occurrence"].to_numpy(),
        },
        index=unit_index,
    )

    years = sorted(accepted["year"].unique().tolist())
    indicators = [i for i in INDICATORS.values() if i in set(accepted["indicator"])]
    wide = accepted.set_index(["unit_id", "year", "indicator"])["value"].unstack("indicator")
    full = pd.MultiIndex.from_product([unit_index, years], names=["unit_id", "year"])
    values = wide.reindex(index=full, columns=indicators).astype(float)
    values.columns.name = None

    # flag b: a break in the city's series in that year (any of its five counts)
    flagged = accepted[accepted["flag"].str.contains("b", regex=False)]
    if flagged.empty:  # crosstab needs at least one row
        flagged = pd.DataFrame({"unit_id": ["-"], "year": [0], "indicator": ["pop_resident"]}).iloc[:0]
    counts = pd.crosstab([flagged["unit_id"], flagged["year"]], flagged["indicator"])
    counts = counts.reindex(columns=[i for i in INDICATORS.values() if i in counts.columns]) > 0
    which = counts.dot(counts.columns + ", ").str.removesuffix(", ") if len(counts) else pd.Series(dtype=str)
    on_total = counts["pop_resident"] if "pop_resident" in counts.columns else np.zeros(len(counts), dtype=bool)
    breaks = pd.DataFrame({"unit_id": counts.index.get_level_values(0).astype(str),
                           "year": counts.index.get_level_values(1).astype(np.int64),
                           "treatment": np.where(on_total, BREAK_TREATMENT,
                                                 BREAK_TREATMENT + " in " + which.to_numpy(dtype=str) + " only")})
    breaks = breaks[list(BREAK_COLUMNS)].sort_values(["unit_id", "year"]).reset_index(drop=True)
    first_year_breaks = int((breaks["year"] == years[0]).sum()) if years else 0
    partial_breaks = int(breaks["treatment"].str.endswith(" only").sum())

    # the ledger: markers, flags, totals, names
    missing_cells = accepted["marker"]
    missing = [{"file": str(path), "sheet": "", "column": "Value", "indicator": ind,
                "cells": int(n), "markers": f"{MISSING_MARKER}: {int(n)}"}
               for ind, n in accepted.loc[missing_cells, "indicator"].value_counts().reindex(indicators).dropna().items()
               if n]
    letters = accepted["flag"].str.findall(r"[a-z]").explode().dropna()
    unknown_flags = sorted(set(letters) - set(EUROSTAT_FLAGS))
    tallies: dict[str, int] = {
        "accepted as city (unit)": int(keep.sum()),
        "rejected as country total": int(total.to_numpy().sum()),
        "missing ':' read as missing": int(missing_cells.sum()),
        "names damaged (U+FFFD)": int(len(damage)),
        "damaged names matched to a clean spelling": int(damage["matched"].notna().sum()),
        "damaged names kept as published": int(damage["matched"].isna().sum()),
        "names published twice per year (second area kept as '<name> [2]')":
            int(accepted.loc[accepted["occurrence"] > 1, "name"].nunique()),
        "boundary breaks (city-years with flag b)": int(len(breaks)),
    }
    tallies.update({f"flag {letter} ({EUROSTAT_FLAGS.get(letter, 'not a Eurostat flag')})": int(n)
                    for letter, n in letters.value_counts().sort_index().items()})
    kept = damage[damage["matched"].isna()]
    warnings = [
        "The file has no city codes and no country column: cities carry no country or parent "
        "(parent_id, parent_name and country are empty); the country totals cannot be linked to them.",
    ]
    if len(kept):
        warnings.append(f"{len(kept)} names damaged to U+FFFD have no single clean spelling in the file and are kept "
                        "as published: " + "; ".join(kept["damaged"] + np.where(kept["candidates"] > 1,
                                                                             " (" + kept["candidates"].astype(str)
                                                                             + " candidates)", "")))
    if unknown_flags:
        warnings.append(f"flag letters {unknown_flags} are not Eurostat flags; they are counted and otherwise ignored")

    twice = sorted(accepted.loc[accepted["occurrence"] > 1, "name"].unique())
    notes = list(dataset.notes) + [
        "pop_resident is the population on 1 January (INDIC_UR 'Population on the 1st of January, total'); "
        "pop_male, pop_female, pop_age_0_4 and pop_age_0_4_male are the other four counts of the file.",
        "The file names cities but gives no code and no country, and its rows are ordered by population: "
        "the country of a city cannot be read from it, so no unit has a parent or country and the report "
        "has no breakdown by country. The country totals it mixes in are rejected (ledger).",
        f"Flag b (break in time series) marks {len(breaks)} city-years: each is a boundary break "
        "(meta.boundary_breaks), so a comparison spanning it is boundary_change, not a verdict. "
        + (f"{first_year_breaks} of them fall in the first year ({years[0]}) and break no comparison inside the "
           "panel. " if first_year_breaks else "")
        + (f"{partial_breaks} of them are flagged on some counts but not the total; they are still breaks of "
           "the city's series (their treatment names the counts)." if partial_breaks else
           "Every one of them is flagged on the total population."),
        "':' is Eurostat's 'not available' and is read as missing (insufficient data), never as zero.",
    ]
    if twice:
        notes.append(f"{len(twice)} names are published twice in the same year (" + ", ".join(twice) + "): the "
                     "first entry is the city, the second a larger area under the same label, kept as a separate "
                     "unit '<name> [2]'.")
    if len(damage):
        notes.append(f"{len(damage)} names lost accented letters to U+FFFD in the published file. "
                     f"{int(damage['matched'].notna().sum())} were matched to a clean spelling of the same file; "
                     f"{len(kept)} have none and are kept as published: " + ", ".join(kept["damaged"]) + ".")

    meta = replace(
        dataset.source_meta(paths),
        encoding=encoding,
        unit_label="cities",
        parent_label="country",
        language="en",
        country="Europe",
        vintage=None,
        units_of={indicator: "persons" for indicator in indicators},
        boundary_breaks=breaks,
        notes=tuple(notes),
    )
    ledger = rows.ledger(cell_actions=cell_actions, missing=missing, tallies=tallies, warnings=tuple(warnings))
    return Panel(units=units, values=values, meta=meta, ledger=ledger)

"""The data dictionary of ``results.xlsx``: what each sheet and column holds, in which unit, and how it is shown.

One unit convention per quantity, said in the column name where a number could be misread by a factor
of 100: ``_pct`` percent (a rate: percent per year), ``_pp`` percentage points, ``_frac`` a fraction
(0.05 = 5 %), ``_km`` kilometres, ``_per_1000`` per 1,000 inhabitants. Every other unit (persons, years,
units) is in the workbook's ``README`` sheet, which :func:`describe` fills from the tables below.

A column is looked up by sheet first (``cluster`` is a LISA class in ``lisa_clusters`` and a cluster
number in ``types``), then by name, then by pattern (``pop_resident_2010``, ``decline_pass``...). A
column found nowhere is written as it is and its README row says it is not documented; the tests run
every built-in standard and the real datasets and fail on any such column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping

__all__ = ["Column", "SHEETS", "column_spec", "sheet_description", "NUMBER_FORMATS", "UNDOCUMENTED"]


@dataclass(frozen=True)
class Column:
    """One column: its definition, unit, kind (how it is formatted), its name in the workbook when that
    carries the unit (``annual_rate`` -> ``annual_rate_pct``) and the factor that takes the engine's
    values to that unit (a fraction to percent: 100)."""

    definition: str
    unit: str = ""
    kind: str = "text"  # one of NUMBER_FORMATS
    name: str | None = None
    scale: float = 1.0


#: Excel number format of each kind of column (``id`` and ``text`` are text cells: ``01001`` keeps its zero).
NUMBER_FORMATS: dict[str, str] = {
    "id": "@", "text": "@", "flag": "General", "count": "#,##0", "year": "0", "number": "#,##0.###",
    "pct": "0.00", "pp": "0.00", "frac": "0.0000", "km": "#,##0.0", "stat": "0.0000", "rate": "0.00",
}

#: What the README sheet says of a column that no table here defines.
UNDOCUMENTED = "(not documented)"

_PCT_YEAR = "percent per year"
_UNITS = "units (count)"

#: Sheets in workbook order, with what they hold.
SHEETS: dict[str, str] = {
    "results": "one row per unit: the verdict of the standard, its reason and the values it tested",
    "README": "this sheet: every column of every sheet, with its definition and unit",
    "by_kind": "counts of units by kind (prefecture city, county...)",
    "by_parent": "counts of units by parent (province, state, country)",
    "by_region": "counts of units by region",
    "insufficient_data": "units the standard could not judge, and why (never counted as not shrinking)",
    "stable_clusters": "units judged as the stable cluster of units they exchanged territory with",
    "boundary_change": "units left unjudged because their boundary changed between the compared years",
    "standard": "the standard's parameters as used in this run (numbers as numbers)",
    "sensitivity_counts": "counts of units under each combination of the swept parameters",
    "sensitivity_units": "each unit's verdicts across the sensitivity grid",
    "lisa_clusters": "local Moran's I (LISA) of the annual rate: each unit's cluster class",
    "tapio": "expansion paradox: population and built-up area change, elasticity and Tapio state",
    "types": "shrinking-city types: clusters of the shrinking units and rule-based types",
    "recommendations": "transformation paths matched to units, with the rule that triggered each",
    "rejected_rows": "input rows rejected while reading, with file, sheet, row, column, value and reason",
}

_COUNTS = {
    "units": Column("units in the group", _UNITS, "count"),
    "with_data": Column("units in the group with enough data for a verdict", _UNITS, "count"),
    "shrinking": Column("units judged shrinking", _UNITS, "count"),
    "not_shrinking": Column("units judged not shrinking", _UNITS, "count"),
    "insufficient_data": Column("units without enough data for a verdict", _UNITS, "count"),
    "boundary_change": Column("units left unjudged for a boundary change", _UNITS, "count"),
    "share_shrinking": Column("shrinking units as a share of the units with data", "percent", "pct",
                              "share_shrinking_pct", 100.0),
}

#: Columns whose meaning depends on the sheet.
BY_SHEET: dict[str, dict[str, Column]] = {
    **{sheet: _COUNTS for sheet in ("by_kind", "by_parent", "by_region")},
    "sensitivity_counts": {
        "shrinking": _COUNTS["shrinking"], "not_shrinking": _COUNTS["not_shrinking"],
        "units_with_data": Column("units with enough data for a verdict", _UNITS, "count"),
        "insufficient_data": _COUNTS["insufficient_data"], "boundary_change": _COUNTS["boundary_change"],
    },
    "sensitivity_units": {
        "combinations": Column("parameter combinations in the grid", "combinations (count)", "count"),
        "evaluable": Column("combinations under which the unit could be judged", "combinations (count)", "count"),
        "shrinking": Column("combinations under which the unit is shrinking", "combinations (count)", "count"),
        "share": Column("shrinking combinations as a share of the evaluable ones (empty when none)", "percent",
                        "pct", "share_shrinking_pct", 100.0),
        "robustness": Column("robust (shrinking under every setting), borderline (under some), never, "
                             "insufficient_data or boundary_change"),
        "via_stable_cluster": Column("combinations under which the unit was judged as its stable cluster",
                                     "combinations (count)", "count"),
    },
    "standard": {
        "parameter": Column("parameter of the standard"),
        "value": Column("its value in this run: a number as a number, a list as text separated by '; '"),
        "type": Column("the value's type: number, integer, text, true/false or list"),
    },
    "rejected_rows": {
        "file": Column("input file"), "sheet": Column("sheet of a workbook (empty for other files)"),
        "row": Column("row number in the file (1 = the first line)", "row", "count"),
        "column": Column("column of the file"), "value": Column("the cell as read"),
        "reason": Column("why the row was rejected"),
    },
    "lisa_clusters": {
        "cluster": Column("HH, LL, HL or LH where significant at the chosen alpha (rate of the unit / of its "
                          "neighbours: H above, L below the mean), else 'not significant'"),
        "excluded_reason": Column("why the unit is not in the statistic (no rate, no neighbour...)"),
    },
    "types": {
        "cluster": Column("k-means cluster of the shrinking units (1 = the cluster with the fastest loss); empty "
                          "when not clustered", "", "count"),
        "types": Column("rule-based types of the unit, separated by '; '"),
    },
    "recommendations": {
        "status": Column("the unit's verdict"),
        "title": Column("the recommendation's title"), "text": Column("the recommendation"),
        "path": Column("the transformation path it belongs to"),
        "priority": Column("high, medium or low"),
        "rationale": Column("why it applies"), "references": Column("sources of the recommendation"),
        "triggered_by": Column("the conditions on the unit's values that matched"),
    },
    "insufficient_data": {"reason": Column("why the unit could not be judged")},
    "boundary_change": {"reason": Column("the boundary change that prevented a verdict")},
}

#: Columns with one meaning wherever they appear.
COLUMNS: dict[str, Column] = {
    "unit_id": Column("unit code as the source gives it (text: leading zeros kept)", "", "id"),
    "name": Column("unit name as the source gives it"),
    "name_en": Column("English name, where the source has one"),
    "parent_id": Column("code of the parent unit (province, state, country)", "", "id"),
    "parent_name": Column("name of the parent unit (province, state, country)"),
    "kind": Column("kind of unit (prefecture city, autonomous prefecture, county...)"),
    "region": Column("region the unit belongs to"),
    "country": Column("country"),
    "status": Column("verdict: shrinking, not_shrinking, insufficient_data or boundary_change"),
    "shrinking": Column("TRUE when shrinking, FALSE when not, empty when it could not be judged", "", "flag"),
    "annual_rate": Column("average annual rate of population change over the compared years", _PCT_YEAR, "rate",
                          "annual_rate_pct"),
    "severity": Column("severity class of the decline (none, mild, moderate, severe)"),
    "pattern": Column("shape of the series (continuous decline, recovering, peaked...)"),
    "reason": Column("the verdict explained in words"),
    "start_year": Column("first compared year", "year", "year"),
    "end_year": Column("last compared year", "year", "year"),
    "evaluation_year": Column("year the standard judged", "year", "year"),
    "window_start": Column("first year of the standard's window", "year", "year"),
    "uses_projection": Column("TRUE when a compared year is a projection", "", "flag"),
    "land_decides": Column("TRUE when the land criterion, not assessed for any unit, would decide this unit's verdict "
                           "(cn-2025 without built-up data)", "", "flag"),
    "via_stable_cluster": Column("TRUE when the verdict is that of the unit's stable cluster", "", "flag"),
    "stable_cluster": Column("id of the stable cluster the unit was judged as (empty when none)", "", "id"),
    "latest_run": Column("consecutive years of decline ending at the evaluation year", "years", "count"),
    "longest_run": Column("longest run of consecutive years of decline", "years", "count"),
    "longest_run_end": Column("last year of the longest run of decline", "year", "year"),
    "peak": Column("highest population of the series", "persons", "number"),
    "peak_year": Column("year of the peak", "year", "year"),
    "gdp_benchmark_rate": Column("benchmark annual growth of real GDP the unit is compared with", _PCT_YEAR, "rate",
                                 "gdp_benchmark_rate_pct", 100.0),
    "population_change": Column("relative change of population over the window, P(end) / P(start) - 1", "fraction",
                                "frac",
                                "population_change_frac"),
    "land_change": Column("relative change of built-up area over the window", "fraction", "frac",
                          "land_change_frac"),
    "tapio_state": Column("Tapio decoupling state of built-up area against population"),
    "index_class": Column("class of the composite index (1 = least, 5 = most shrinkage)", "", "count"),
    # criterion values of the built-in rules (a user's rule gets the pattern's definition)
    "decline_value": Column("relative change of population between the compared years, P(end) / P(start) - 1 "
                            "(-0.05: a 5 % loss); shrinking when below -min_loss", "fraction", "frac",
                            "decline_value_frac"),
    "decline_run_value": Column("consecutive years of decline ending at the evaluation year", "years", "count"),
    "peak_loss_value": Column("population at the evaluation year as a fraction of the peak", "fraction", "frac",
                              "peak_loss_value_frac"),
    "recent_declines_value": Column("longest run of declines in the recent window", "years", "count"),
    "size_value": Column("population at the start of the window", "persons", "number"),
    "loss_value": Column("years of decline in the window", "years", "count"),
    "structural_value": Column("relative change of employment over the window, E(end) / E(start) - 1 (empty "
                               "without employment data)", "fraction", "frac", "structural_value_frac"),
    "index_value": Column("composite shrinkage index (0 = least, 1 = most)", "index 0-1", "stat"),
    "population_value": Column("consecutive years of population decline", "years", "count"),
    "gdp_value": Column("average annual growth of real GDP over the window", _PCT_YEAR, "rate", "gdp_value_pct",
                        100.0),
    "land_value": Column("land-population elasticity (built-up area change / population change)", "ratio",
                         "stat"),
    # LISA
    "local_I": Column("local Moran's I of the annual rate", "", "stat", "local_i"),
    "quadrant": Column("Moran scatter quadrant (HH, LL, HL, LH) whatever the significance"),
    "p_sim": Column("pseudo p-value from the permutations", "probability", "stat"),
    # tapio
    "builtup_change": Column("relative change of built-up area over the compared years", "fraction", "frac",
                             "builtup_change_frac"),
    "elasticity": Column("built-up area change / population change", "ratio", "stat"),
    "builtup_grew": Column("TRUE when the built-up area grew", "", "flag"),
    # types
    "cluster_label": Column("name of the k-means cluster (its two most distinctive features)"),
    "cluster_label_zh": Column("name of the k-means cluster in Chinese"),
    "type_triggers": Column("the values that triggered each rule-based type"),
    "capital_id": Column("code of the parent's capital unit", "", "id"),
    "capital_name": Column("name of the parent's capital unit"),
    "capital_basis": Column("how the capital was chosen (capital table, or the largest unit)"),
    "distance_to_capital_km": Column("distance between the centroids of the unit and its capital", "km", "km"),
    "peripheral_threshold_km": Column("distance beyond which a unit of this parent is peripheral", "km", "km"),
    "core_id": Column("code of the nearby growing core", "", "id"),
    "core_annual_rate": Column("average annual population change of the core", _PCT_YEAR, "rate",
                               "core_annual_rate_pct"),
    "distance_to_core_km": Column("distance between the centroids of the unit and the core", "km", "km"),
    "core_adjacent": Column("TRUE when the unit borders the core", "", "flag"),
    "resource_type": Column("resource type from the user's resource-city table"),
    "exhausted_batch": Column("batch of the resource-exhausted city list", "", "count"),
    "share_65plus": Column("share aged 65+ in the last year", "percent", "pct", "share_65plus_pct"),
    "share_65plus_change": Column("change of the 65+ share over the period", "percentage points", "pp",
                                  "share_65plus_change_pp"),
    "share_0_14": Column("share aged 0-14 in the last year", "percent", "pct", "share_0_14_pct"),
    "share_industry_start": Column("share of industry (secondary sector) in employment or GDP in the first year with "
                                   "data: the old-industrial-base type's evidence", "percent", "pct",
                                   "share_industry_start_pct"),
    "urban_share": Column("urban share of the resident population in the last year", "percent", "pct",
                          "urban_share_pct"),
    "household_size": Column("persons per household in the last year", "persons", "number"),
    "sex_ratio": Column("males per 100 females in the last year", "males per 100 females", "number"),
    "recommendation_id": Column("id of the recommendation in the knowledge base"),
    # demographic components (US counties); names shortened to Stata's 32 characters
    "natural_increase_per_1000": Column("births minus deaths over the period per 1,000 start population",
                                        "per 1,000 inhabitants", "number"),
    "net_domestic_migration_per_1000": Column("net domestic migration over the period per 1,000 start population",
                                              "per 1,000 inhabitants", "number"),
    "net_international_migration_per_1000": Column("net international migration over the period per 1,000 start "
                                                   "population", "per 1,000 inhabitants", "number",
                                                   "net_intl_migration_per_1000"),
}

_Pattern = tuple[re.Pattern[str], Callable[[re.Match[str], Mapping[str, str]], Column]]

#: Columns named after data: an indicator and a year, a criterion's pass flag, a type's trigger.
PATTERNS: tuple[_Pattern, ...] = (
    (re.compile(r"^(?P<indicator>[a-z][a-z0-9_]*)_per_1000$"),
     lambda m, units: Column(f"{m['indicator'].replace('_', ' ')} over the period per 1,000 start population",
                             "per 1,000 inhabitants", "number")),
    (re.compile(r"^(?P<indicator>[a-z][a-z0-9_]*)_(?P<year>\d{4})$"),
     lambda m, units: Column(f"{m['indicator']} in {m['year']}", units.get(m["indicator"], ""), "number")),
    (re.compile(r"^(?P<criterion>[a-z][a-z0-9_]*)_pass$"),
     lambda m, units: Column(f"TRUE when the unit meets the criterion '{m['criterion']}', FALSE when not, empty "
                             "when it could not be assessed", "", "flag")),
    (re.compile(r"^(?P<criterion>[a-z][a-z0-9_]*)_score$"),
     lambda m, units: Column(f"normalised score of '{m['criterion']}' in the composite index (0 = least, 1 = most "
                             "shrinkage)", "index 0-1", "stat")),
    (re.compile(r"^trigger_(?P<type>[a-z0-9_]+)$"),
     lambda m, units: Column(f"the values that made the unit '{m['type'].replace('_', ' ')}' (empty: not this "
                             "type or not assessed)")),
    (re.compile(r"^(?P<indicator>[a-z][a-z0-9_]*)_change$"),
     lambda m, units: Column(f"relative change of {m['indicator']} over the compared years", "fraction", "frac",
                             f"{m['indicator']}_change_frac")),
)


def column_spec(sheet: str, column: str, units_of: Mapping[str, str] | None = None,
                parameters: frozenset[str] = frozenset()) -> Column:
    """The :class:`Column` of ``column`` in ``sheet``: by sheet, by name, by pattern, then a swept parameter
    of ``sensitivity_counts``; otherwise a column whose definition is :data:`UNDOCUMENTED`.

    Examples
    --------
    >>> column_spec("results", "annual_rate").name
    'annual_rate_pct'
    >>> column_spec("by_region", "share_shrinking").scale
    100.0
    >>> column_spec("results", "pop_resident_2010", {"pop_resident": "persons"}).unit
    'persons'
    >>> column_spec("results", "no_such_thing").definition == UNDOCUMENTED
    True
    """
    units = units_of or {}
    found = BY_SHEET.get(sheet, {}).get(column) or COLUMNS.get(column)
    if found is not None:
        return found
    if column in parameters:
        return Column(f"the parameter '{column}' of the standard (see the standard sheet)", "as the standard says",
                      "number")
    for pattern, build in PATTERNS:
        match = pattern.match(column)
        if match:
            return build(match, units)
    return Column(UNDOCUMENTED)


def sheet_description(sheet: str) -> str:
    """What ``sheet`` holds (:data:`SHEETS`), or :data:`UNDOCUMENTED`."""
    return SHEETS.get(sheet, UNDOCUMENTED)


def with_name(spec: Column, column: str) -> Column:
    """``spec`` with its workbook name filled in (the column's own name when it carries no unit)."""
    return spec if spec.name else replace(spec, name=column)

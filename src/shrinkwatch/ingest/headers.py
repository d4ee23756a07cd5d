"""Header analysis: the alias table, the header row, two-row headers, and what each column is.

Headers are matched through ``resources/aliases.toml`` (Chinese and English yearbook
headers to the canonical indicators) after NFKC normalisation; a unit in brackets
(``年末户籍人口(万人)``) or a trailing ``%``/``‰`` is split off. The header row is the
first of the first :data:`HEADER_SEARCH_ROWS` rows with at least two recognised
headers, one of them a unit, year or indicator key and one a value or year column.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from shrinkwatch.core.errors import OptionError
from shrinkwatch.ingest.readers import Table

__all__ = ["CANONICAL_INDICATORS", "KEY_COLUMNS", "Aliases", "Column", "Options", "aliases", "build_options",
           "classify", "find_header", "norm_header", "norm_unit", "parse_assignments"]

#: Roles of non-indicator columns (``--map COLUMN=ROLE`` accepts these too).
KEY_COLUMNS = ("unit_id", "name", "year", "parent_name", "parent_id", "indicator", "measure_unit")
HEADER_SEARCH_ROWS = 30
YEAR_RE = re.compile(r"^((?:18|19|20|21)\d{2})(?:\.0+)?\s*年?(?:末|底|度)?$")
# an indicator and a year in one header, as in Stata wide exports (pop2015, gdp_2016, 常住人口2017年, 2018年GDP)
_STEM_YEAR_RE = re.compile(r"^(?P<stem>.*?[^\d_\s.-])[_\s.-]*(?P<year>(?:18|19|20|21)\d{2})\s*年?$")
_YEAR_STEM_RE = re.compile(r"^(?P<year>(?:18|19|20|21)\d{2})\s*年?[_\s.-]*(?P<stem>[^\d_\s.-].*)$")


def norm_header(text: object) -> str:
    """Matching key of a header: NFKC, case-folded, without spaces, ``_``, ``-``, ``~``."""
    key = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s_\-~]+", "", key)


def norm_unit(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)).casefold())


@dataclass(frozen=True)
class Aliases:
    roles: dict[str, str]          # header key -> key role
    indicators: dict[str, str]     # header key -> canonical indicator
    dimension: dict[str, str]      # indicator -> dimension
    bounds: dict[str, tuple[float, float]]
    units: dict[str, dict[str, float]]  # dimension -> unit key -> factor
    canonical_unit: dict[str, str]  # dimension -> label
    unit_labels: dict[str, dict[str, str]]  # dimension -> unit key -> label as written in the table


@lru_cache(maxsize=1)
def aliases() -> Aliases:
    """The built-in alias table (``resources/aliases.toml``), parsed once.

    Examples
    --------
    >>> table = aliases()
    >>> table.indicators[norm_header("年末户籍人口")]
    'pop_registered'
    >>> table.units["persons"][norm_unit("万人")]
    10000.0
    """
    text = resources.files("shrinkwatch").joinpath("resources/aliases.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    roles = {norm_header(alias): role for role, names in raw["columns"].items() for alias in [role, *names]}
    indicators: dict[str, str] = {}
    dimension: dict[str, str] = {}
    bounds: dict[str, tuple[float, float]] = {}
    for indicator, spec in raw["indicators"].items():
        dimension[indicator] = spec["dimension"]
        bounds[indicator] = (float(spec.get("min", -np.inf)), float(spec.get("max", np.inf)))
        for alias in [indicator, *spec["aliases"]]:
            indicators[norm_header(alias)] = indicator
    units = {dim: {norm_unit(k): float(v) for k, v in spec["factors"].items()} for dim, spec in raw["units"].items()}
    labels = {dim: {norm_unit(k): k for k in spec["factors"]} for dim, spec in raw["units"].items()}
    canonical = {dim: spec["canonical"] for dim, spec in raw["units"].items()}
    return Aliases(roles, indicators, dimension, bounds, units, canonical, labels)


#: Canonical indicators known to the alias table (ARCHITECTURE.md plus ``birth_rate``
#: and ``urban_construction_land_km2``).
CANONICAL_INDICATORS: tuple[str, ...] = tuple(aliases().dimension)

_BRACKET_RE = re.compile(r"^(?P<stem>.*?)\s*[\(\[【{](?P<inner>[^\(\)\[\]【】{}]*)[\)\]】}]\s*$")


def _split_unit(header: str) -> tuple[str, str | None]:
    """``"年末户籍人口(万人)"`` -> ``("年末户籍人口", "万人")``; qualifiers in earlier brackets are dropped."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    unit: str | None = None
    match = _BRACKET_RE.match(text)
    if match:
        text, unit = match["stem"], match["inner"].strip()
    elif text.endswith(("%", "‰")) and len(text) > 1:
        text, unit = text[:-1].rstrip(), text[-1]
    while (inner := _BRACKET_RE.match(text)) is not None:  # "地区生产总值(当年价格)(亿元)"
        text = inner["stem"]
    return text.strip(), unit



@dataclass
class Column:
    position: int
    header: str
    role: str              # a key role, "value" (indicator column), "by_year" (2015, 2015年) or "ignored"
    indicator: str | None = None
    year: int | None = None
    unit: str | None = None
    unit_from: str = ""
    reason: str = ""


@dataclass
class Options:
    mapping: dict[str, str]      # normalised header key -> indicator or role
    units: dict[str, str]        # normalised header key -> unit
    used_map: set[str] = field(default_factory=set)
    used_unit: set[str] = field(default_factory=set)


def _header_keys(header: str) -> tuple[str, str]:
    stem, _ = _split_unit(header)
    return norm_header(header), norm_header(stem)


def classify(header: str, position: int, options: Options) -> Column:
    table = aliases()
    full_key, stem_key = _header_keys(header)
    stem, unit = _split_unit(header)
    override = options.mapping.get(full_key) or options.mapping.get(stem_key)
    unit_from = "header" if unit else ""
    declared = options.units.get(full_key) or options.units.get(stem_key)
    if declared is not None:
        options.used_unit.add(full_key if full_key in options.units else stem_key)
        unit, unit_from = declared, "--unit"
    if override is not None:
        options.used_map.add(full_key if full_key in options.mapping else stem_key)
        if override == "ignore":
            return Column(position, header, "ignored", reason="--map COLUMN=ignore")
        if override in KEY_COLUMNS:
            return Column(position, header, override)
        return Column(position, header, "value", indicator=override, unit=unit, unit_from=unit_from)
    year = YEAR_RE.match(stem)
    if year:
        return Column(position, header, "by_year", year=int(year.group(1)), unit=unit, unit_from=unit_from)
    combined = _STEM_YEAR_RE.match(stem) or _YEAR_STEM_RE.match(stem)
    if combined:
        inner = classify(combined.group("stem") + (f"({unit})" if unit and unit_from == "header" else ""),
                          position, options)
        if inner.role == "value":
            return Column(position, header, "value_year", indicator=inner.indicator,
                           year=int(combined.group("year")), unit=unit or inner.unit,
                           unit_from=unit_from or inner.unit_from)
    if full_key in table.roles and not unit:
        return Column(position, header, table.roles[full_key])
    indicator = table.indicators.get(full_key) or table.indicators.get(stem_key)
    if indicator is None and unit is None and stem_key in table.roles:
        return Column(position, header, table.roles[stem_key])
    if indicator is not None:
        if full_key in table.indicators and unit_from == "header":
            unit, unit_from = None, ""  # the bracket was part of the alias itself
        return Column(position, header, "value", indicator=indicator, unit=unit, unit_from=unit_from)
    if stem_key in table.roles:
        return Column(position, header, table.roles[stem_key])
    return Column(position, header, "ignored", reason="not a known indicator or key column (use --map COLUMN=indicator)")


def _is_blank_header(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _header_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_header(table: Table, options: Options) -> tuple[int, list[Column]] | None:
    """Position of the header line in ``table.cells`` and its classified columns."""
    if table.header is not None:
        return -1, [classify(h, i, options) for i, h in enumerate(table.header)]
    limit = min(len(table.cells), HEADER_SEARCH_ROWS)
    probe = Options(options.mapping, options.units)  # only the header found counts as using --map/--unit
    for line in range(limit):
        cells = [(i, _header_text(v)) for i, v in enumerate(table.cells.iloc[line].tolist()) if not _is_blank_header(v)]
        columns = [classify(text, i, probe) for i, text in cells]
        recognised = [c for c in columns if c.role != "ignored"]
        has_key = any(c.role in ("unit_id", "name", "year", "indicator") for c in recognised)
        has_values = any(c.role in ("value", "by_year", "value_year") for c in recognised)
        if len(recognised) >= 2 and has_key and has_values:
            two_rows = _two_row_header(table, line, columns, probe)
            if two_rows is not None:
                return line + 1, [classify(text, i, options) for i, text in two_rows]
            return line, [classify(text, i, options) for i, text in cells]
    return None


#: Second header rows that name the territorial scope of the column above (merged header cells).
_WHOLE_CITY = ("全市", "全市域", "市域", "全地区", "全区域", "全市合计", "地区")
_DISTRICTS = ("市辖区", "城区", "市区")


def _two_row_header(table: Table, line: int, columns: list[Column], probe: Options) -> list[tuple[int, str]] | None:
    """Headers of a two-row header (yearbook style: 年末总人口(万人) over 全市 | 市辖区), or None.

    The line below ``line`` is a second header row when it leaves the key
    columns empty and holds text, not numbers, under the value columns. The top
    row's merged cells are carried to the right; a scope of 全市 keeps the
    indicator, a scope of 市辖区 makes it the districts-only series
    (``pop_registered_district``...), anything else is appended to the top text.
    """
    if line + 1 >= len(table.cells):
        return None
    top = [_header_text(v) if not _is_blank_header(v) else "" for v in table.cells.iloc[line].tolist()]
    bottom = [_header_text(v) if not _is_blank_header(v) else "" for v in table.cells.iloc[line + 1].tolist()]
    key_positions = [c.position for c in columns if c.role in KEY_COLUMNS]
    if any(bottom[i] for i in key_positions if i < len(bottom)):
        return None
    texts = [b for b in bottom if b]
    if not texts or any(re.fullmatch(r"[-+]?[\d.,]+%?", b) for b in texts):
        return None
    combined: list[tuple[int, str]] = []
    carried = ""
    for i, (upper, lower) in enumerate(zip(top, bottom)):
        if upper:
            carried = upper
        above = upper or (carried if lower else "")
        if not lower:
            text = above
        elif lower in _WHOLE_CITY:
            text = above
        elif lower in _DISTRICTS:
            text = "市辖区" + above
        else:
            text = above + lower
        if text:
            combined.append((i, text))
    classified = {i: classify(text, i, probe) for i, text in combined}
    if not any(c.role in ("value", "by_year", "value_year") for c in classified.values()):
        return None
    # every text of the lower row must make a header: a scope (全市, 市辖区) or, with the text above it,
    # a column the alias table knows; a row of stray values ("7e3", "abc") is data, not a header
    labelled = [i for i, lower in enumerate(bottom) if lower and lower not in _WHOLE_CITY + _DISTRICTS]
    if any(i not in classified or classified[i].role == "ignored" for i in labelled):
        return None
    return combined



def parse_assignments(items: Sequence[str] | None, option: str) -> dict[str, str]:
    """``["COLUMN=VALUE", ...]`` -> ``{COLUMN: VALUE}``; a malformed item names ``option``.

    Examples
    --------
    >>> parse_assignments(["人口(万人)=pop_resident"], "--map")
    {'人口(万人)': 'pop_resident'}
    """
    result: dict[str, str] = {}
    for item in items or []:
        column, sep, value = item.rpartition("=")
        if not sep or not column.strip() or not value.strip():
            raise OptionError(f"{option}: expected COLUMN=VALUE, got {item!r}")
        if column.strip() in result:
            raise OptionError(f"{option} {item!r}: column {column.strip()!r} is given twice "
                              f"(first as {result[column.strip()]!r}); give each column once")
        result[column.strip()] = value.strip()
    return result


def build_options(mapping: Mapping[str, str] | None, units: Mapping[str, str] | None) -> Options:
    table = aliases()
    map_keys: dict[str, str] = {}
    for column, target in (mapping or {}).items():
        if target not in CANONICAL_INDICATORS and target not in KEY_COLUMNS and target != "ignore":
            raise OptionError(
                f"--map {column}={target}: {target!r} is not a canonical indicator or key column; "
                f"indicators: {', '.join(CANONICAL_INDICATORS)}; keys: {', '.join(KEY_COLUMNS)}; or 'ignore'"
            )
        map_keys[norm_header(column)] = target
    unit_keys: dict[str, str] = {}
    known = sorted({label for labels in table.unit_labels.values() for label in labels.values()})
    for column, unit in (units or {}).items():
        if not any(norm_unit(unit) in factors for factors in table.units.values()):
            raise OptionError(f"--unit {column}={unit}: unknown unit {unit!r}; known units: {', '.join(known)}")
        unit_keys[norm_header(column)] = unit
    return Options(map_keys, unit_keys)

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
from shrinkwatch.core.messages import message
from shrinkwatch.ingest.readers import Table

__all__ = ["CANONICAL_INDICATORS", "KEY_COLUMNS", "Aliases", "Ambiguity", "Column", "Options", "aliases",
           "build_options", "classify", "find_header", "norm_header", "norm_unit", "parse_assignments"]

#: Roles of non-indicator columns (``--map COLUMN=ROLE`` accepts these too).
KEY_COLUMNS = ("unit_id", "name", "year", "parent_name", "parent_id", "indicator", "measure_unit")
HEADER_SEARCH_ROWS = 30
YEAR_RE = re.compile(r"^((?:179\d|1[89]\d{2}|2[01]\d{2}))(?:\.0+)?\s*年?(?:末|底|度)?$")
# an indicator and a year in one header, as in Stata wide exports (pop2015, gdp_2016, 常住人口2017年, 2018年GDP)
_STEM_YEAR_RE = re.compile(r"^(?P<stem>.*?[^\d_\s.-])[_\s.-]*(?P<year>(?:179\d|1[89]\d{2}|2[01]\d{2}))\s*年?$")
_YEAR_STEM_RE = re.compile(r"^(?P<year>(?:179\d|1[89]\d{2}|2[01]\d{2}))\s*年?[_\s.-]*(?P<stem>[^\d_\s.-].*)$")


def norm_header(text: object) -> str:
    """Matching key of a header: NFKC, case-folded, without spaces, ``_``, ``-``, ``~``."""
    key = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s_\-~]+", "", key)


def norm_unit(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)).casefold())


@dataclass(frozen=True)
class Ambiguity:
    """A generic header whose reading a guess would decide (``[ambiguous.*]`` of the alias table)."""

    readings: tuple[str, ...]
    why: str
    outside_china: str | None = None


@dataclass(frozen=True)
class Aliases:
    roles: dict[str, str]          # header key -> key role
    indicators: dict[str, str]     # header key -> canonical indicator
    dimension: dict[str, str]      # indicator -> dimension
    bounds: dict[str, tuple[float, float]]
    units: dict[str, dict[str, float]]  # dimension -> unit key -> factor
    canonical_unit: dict[str, str]  # dimension -> label
    unit_labels: dict[str, dict[str, str]]  # dimension -> unit key -> label as written in the table
    ambiguous: dict[str, Ambiguity] = field(default_factory=dict)  # header key -> its readings


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
    # what the guess would decide: the catalogues' ingest.why.<section> (stored in English, said in the reader's
    # language on display)
    ambiguous = {norm_header(header): Ambiguity(tuple(spec["readings"]),
                                                message(f"ingest.why.{name}", "en", **spec.get("why_fields", {})),
                                                spec.get("outside_china"))
                 for name, spec in raw.get("ambiguous", {}).items() for header in spec["headers"]}
    return Aliases(roles, indicators, dimension, bounds, units, canonical, labels, ambiguous)


#: Canonical indicators known to the alias table (ARCHITECTURE.md plus ``birth_rate``
#: and ``urban_construction_land_km2``).
CANONICAL_INDICATORS: tuple[str, ...] = tuple(aliases().dimension)

_BRACKET_RE = re.compile(r"^(?P<stem>.*?)\s*[\(\[【{](?P<inner>[^\(\)\[\]【】{}]*)[\)\]】}]\s*$")


#: Bracketed qualifiers that say which series, not which unit: prices, real or nominal.
_QUALIFIER_RE = re.compile(r"价|名义|实际|real|nominal|constant|current|prices?", re.IGNORECASE)


def _split_unit(header: str) -> tuple[str, str | None]:
    """``"年末户籍人口(万人)"`` -> ``("年末户籍人口", "万人")``; qualifiers in earlier brackets are dropped."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    unit: str | None = None
    match = _BRACKET_RE.match(text)
    while match and _QUALIFIER_RE.search(match["inner"]):  # "(当年价格)", "(real)" qualify the series
        text = match["stem"]
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
    """What one column is: its ``role``, indicator, year and unit, and the evidence for that reading.

    ``role`` is a key role (:data:`KEY_COLUMNS`), ``"value"`` (an indicator column),
    ``"by_year"`` (2015, 2015年), ``"value_year"`` (pop2015), ``"ambiguous"`` (a
    generic header with several readings, ``candidates``) or ``"ignored"``.
    ``confidence`` is ``given`` (``--map``), ``header``, ``label`` (a Stata label),
    ``content`` or ``context`` (see :class:`~shrinkwatch.core.ledger.Ledger`).
    """

    position: int
    header: str
    role: str
    indicator: str | None = None
    year: int | None = None
    unit: str | None = None
    unit_from: str = ""
    reason: str = ""
    evidence: str = ""
    confidence: str = ""
    candidates: tuple[str, ...] = ()
    why: str = ""
    outside_china: str | None = None  # an ambiguous header's reading in a table whose units are not Chinese
    map_key: str = ""  # the header text a --map for this column names (the stem of pop2015 is pop)


@dataclass
class Options:
    mapping: dict[str, str]      # normalised header key -> indicator or role
    units: dict[str, str]        # normalised header key -> unit
    used_map: set[str] = field(default_factory=set)
    used_unit: set[str] = field(default_factory=set)


def _header_keys(header: str) -> tuple[str, str]:
    stem, _ = _split_unit(header)
    return norm_header(header), norm_header(stem)


def classify(header: str, position: int, options: Options, label: str | None = None) -> Column:
    """What the column headed ``header`` is; ``label`` (a Stata variable label) can name it or its unit.

    Examples
    --------
    >>> classify("年末户籍人口(万人)", 0, Options({}, {})).indicator
    'pop_registered'
    >>> classify("pop", 0, Options({}, {})).role
    'ambiguous'
    >>> column = classify("pop", 0, Options({}, {}), label="户籍人口(万人)")
    >>> (column.indicator, column.unit, column.confidence)
    ('pop_registered', '万人', 'label')
    """
    column = _classify_header(header, position, options)
    text = str(label or "").strip()
    if not text or norm_header(text) == norm_header(header):
        return column
    return _with_label(column, text, position)


def _classify_header(header: str, position: int, options: Options) -> Column:
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
        given = f"--map {header}={override}"
        if override == "ignore":
            return Column(position, header, "ignored", reason=message("ingest.ignored.given", "en"), evidence=given,
                          confidence="given")
        if override in KEY_COLUMNS:
            return Column(position, header, override, evidence=given, confidence="given")
        return Column(position, header, "value", indicator=override, unit=unit, unit_from=unit_from,
                      evidence=given, confidence="given")
    year = YEAR_RE.match(stem)
    if year:
        return Column(position, header, "by_year", year=int(year.group(1)), unit=unit, unit_from=unit_from,
                      evidence=message("ingest.evidence.year", "en", header=header), confidence="header")
    combined = _STEM_YEAR_RE.match(stem) or _YEAR_STEM_RE.match(stem)
    if combined:
        inner = _classify_header(combined.group("stem") + (f"({unit})" if unit and unit_from == "header" else ""),
                                 position, options)
        if inner.role == "ambiguous":
            inner.position, inner.header, inner.year, inner.map_key = position, header, int(combined["year"]), \
                combined["stem"]
            return inner
        if inner.role == "value":
            return Column(position, header, "value_year", indicator=inner.indicator,
                          year=int(combined.group("year")), unit=unit or inner.unit,
                          unit_from=unit_from or inner.unit_from,
                          evidence=message("ingest.evidence.with_year", "en", evidence=inner.evidence,
                                           year=combined.group("year")), confidence=inner.confidence)
    if full_key in table.roles and not unit:
        return _key_column(position, header, table.roles[full_key])
    ambiguity = table.ambiguous.get(full_key) or table.ambiguous.get(stem_key)
    if ambiguity is not None and "gdp_real_growth" in ambiguity.readings and full_key not in table.indicators:
        if _NOMINAL_RE.search(header):
            return Column(position, header, "ignored", reason=message("ingest.ignored.nominal_growth", "en"))
        if _REAL_RE.search(header):
            return Column(position, header, "value", indicator="gdp_real_growth", unit=unit, unit_from=unit_from,
                          evidence=message("ingest.evidence.gdp_real_growth", "en", header=header), confidence="header")
    if ambiguity is not None and full_key not in table.indicators:
        return Column(position, header, "ambiguous", unit=unit, unit_from=unit_from, candidates=ambiguity.readings,
                      why=ambiguity.why, outside_china=ambiguity.outside_china, evidence=message("ingest.evidence.could_be", "en", header=header, why=ambiguity.why))
    indicator = table.indicators.get(full_key) or table.indicators.get(stem_key)
    if indicator is None and unit is None and stem_key in table.roles:
        return _key_column(position, header, table.roles[stem_key])
    if indicator is not None and indicator in ("gdp_real", "gdp_real_growth") and _NOMINAL_RE.search(header):
        if indicator == "gdp_real":
            indicator = "gdp"
        else:
            return Column(position, header, "ignored", reason=message("ingest.ignored.nominal_growth", "en"))
    if indicator is not None:
        if full_key in table.indicators and unit_from == "header":
            unit, unit_from = None, ""  # the bracket was part of the alias itself
        if unit is not None and unit_from == "header" and _NOMINAL_RE.search(unit):
            unit, unit_from = None, ""  # "(当年价格)" qualifies the series, it is not a unit
        return Column(position, header, "value", indicator=indicator, unit=unit, unit_from=unit_from,
                      evidence=_named(stem, indicator), confidence="header")
    if stem_key in table.roles:
        return _key_column(position, header, table.roles[stem_key])
    return Column(position, header, "ignored", reason=message("ingest.ignored.unknown", "en"))


#: Qualifiers that make a GDP series nominal (current prices).
_NOMINAL_RE = re.compile(r"名义|当年价|现价|nominal|current\s*prices?", re.IGNORECASE)
#: Qualifiers that make a GDP series real (constant prices).
_REAL_RE = re.compile(r"实际|不变价|可比价|\breal\b|constant\s*prices?|comparable\s*prices?", re.IGNORECASE)


def _key_column(position: int, header: str, role: str) -> Column:
    return Column(position, header, role, evidence=_named(header, role), confidence="header")


def _named(header: str, name: str) -> str:
    """The evidence of a header that names an indicator or key column: an alias of it, or its canonical name
    (``year`` for the year: not "a name of year")."""
    if norm_header(header) == norm_header(name):
        return message("ingest.evidence.canonical", "en", header=header)
    return message("ingest.evidence.alias", "en", header=header, target=name)


_UNIT_DELIMITERS = frozenset(" ()[]{}（）【】,，;；:：/")


@lru_cache(maxsize=1)
def _unit_words() -> tuple[str, ...]:
    """Every unit label the alias table knows, longest first (``100 million yuan`` before ``yuan``)."""
    table = aliases()
    words = {unicodedata.normalize("NFKC", label) for labels in table.unit_labels.values() for label in labels.values()}
    return tuple(sorted(words, key=len, reverse=True))


def label_parts(label: str) -> tuple[str, str | None]:
    """A variable label's text and the unit it names, wherever the unit stands: ``"户籍人口(万人)"``,
    ``"地区生产总值(当年价格,亿元)"``, ``"GDP (100 million yuan, current prices)"``,
    ``"Registered population in 10,000 persons"``, ``"地区生产总值 单位：亿元"``. A unit must stand
    apart (spaces, brackets, commas), so the 人 of 人口 is not a unit.

    Examples
    --------
    >>> label_parts("Registered population in 10,000 persons")
    ('Registered population', '10,000 persons')
    >>> label_parts("地区生产总值(当年价格,亿元)")
    ('地区生产总值(当年价格)', '亿元')
    >>> label_parts("年末户籍人口")
    ('年末户籍人口', None)
    """
    text = unicodedata.normalize("NFKC", str(label)).strip()
    folded = text.casefold()
    for word in _unit_words():
        key = word.casefold()
        at = folded.find(key)
        while at >= 0:
            before = folded[at - 1] if at else " "
            after = folded[at + len(key)] if at + len(key) < len(folded) else " "
            if before in _UNIT_DELIMITERS and after in _UNIT_DELIMITERS:
                stem = (text[:at] + text[at + len(key):]).strip()
                stem = re.sub(r"[,，;；:：]\s*(?=[)\]）】])", "", stem)
                stem = re.sub(r"(?<=[(\[（【])\s*[,，;；:：]\s*", "", stem)
                stem = re.sub(r"[(\[（【]\s*[)\]）】]", "", stem)
                stem = re.sub(r"(?:\s+in|单位)\s*[:：]?\s*$", "", stem, flags=re.IGNORECASE)
                stem = re.sub(r"\s*[,，;；]\s*(?=[(\[（【]|$)", " ", stem)
                return re.sub(r"\s{2,}", " ", stem).strip(" ,，;；:："), text[at:at + len(key)]
            at = folded.find(key, at + 1)
    return text, None


def _with_label(column: Column, label: str, position: int) -> Column:
    """``column`` read again with its Stata variable label: the label names an unknown or ambiguous
    column, gives a unit the header lacks, or contradicts the header (then the column is ambiguous)."""
    stem, label_unit = label_parts(label)
    by_label = _classify_header(stem, position, Options({}, {}))
    dimension = aliases().dimension
    if column.confidence == "given" or column.role in ("value", "value_year", "by_year") + KEY_COLUMNS:
        if (column.role in ("value", "value_year") and by_label.role == "value" and column.confidence != "given"
                and by_label.indicator != column.indicator):
            return Column(position, column.header, "ambiguous", unit=column.unit, unit_from=column.unit_from,
                          candidates=(str(column.indicator), str(by_label.indicator)),
                          why=message("ingest.why.header_or_label", "en", indicator=column.indicator,
                                      other=by_label.indicator, label=repr(label)),
                          evidence=message("ingest.evidence.disagree", "en", header=column.header, label=label))
        if column.role in ("value", "value_year") and column.unit is None and label_unit is not None:
            if norm_unit(label_unit) in aliases().units[dimension[str(column.indicator)]]:
                column.unit, column.unit_from = label_unit, "Stata label"
                column.evidence = message("ingest.evidence.unit_from_label", "en", evidence=column.evidence,
                                          unit=label_unit, label=label)
        return column
    if by_label.role == "ignored" and by_label.reason == message("ingest.ignored.nominal_growth", "en"):
        return Column(position, column.header, "ignored",
                      reason=message("ingest.ignored.label", "en", label=repr(label), ignored=by_label.reason))
    if by_label.role == "ambiguous":
        by_label.evidence = message("ingest.evidence.label_could_be", "en", label=label, why=by_label.why)
        by_label.header = column.header
        by_label.unit, by_label.unit_from = (label_unit, "Stata label") if label_unit else (column.unit, column.unit_from)
        return by_label
    if by_label.role in ("value",) + KEY_COLUMNS:
        unit, unit_from = column.unit, column.unit_from
        if unit is None and label_unit is not None and by_label.role == "value" and \
                norm_unit(label_unit) in aliases().units[dimension[str(by_label.indicator)]]:
            unit, unit_from = label_unit, "Stata label"
        if by_label.role == "value" and unit is None and by_label.unit is not None and \
                norm_unit(by_label.unit) in aliases().units[dimension[str(by_label.indicator)]]:
            unit, unit_from = by_label.unit, "Stata label"
        return Column(position, column.header, by_label.role, indicator=by_label.indicator, unit=unit,
                      unit_from=unit_from, evidence=message("ingest.evidence.stata_label", "en", label=label),
                      confidence="label")
    return column


def _is_blank_header(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _header_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_header(table: Table, options: Options) -> tuple[int, list[Column]] | None:
    """Position of the header line in ``table.cells`` and its classified columns."""
    if table.header is not None:
        labels = table.labels or [""] * len(table.header)
        return -1, [classify(h, i, options, label=labels[i]) for i, h in enumerate(table.header)]
    limit = min(len(table.cells), HEADER_SEARCH_ROWS)
    probe = Options(options.mapping, options.units)  # only the header found counts as using --map/--unit
    for line in range(limit):
        cells = [(i, _header_text(v)) for i, v in enumerate(table.cells.iloc[line].tolist()) if not _is_blank_header(v)]
        columns = [classify(text, i, probe) for i, text in cells]
        recognised = [c for c in columns if c.role != "ignored"]
        has_key = any(c.role in ("unit_id", "name", "year", "indicator") for c in recognised)
        has_values = any(c.role in ("value", "by_year", "value_year", "ambiguous") for c in recognised)
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

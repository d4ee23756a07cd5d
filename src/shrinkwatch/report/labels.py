"""How the report names things: the units in words, places with their English names, columns and statuses
in plain words, and numbers as a reader expects them (no ``-0.00``, p-values as ``p < 0.001``).

Every table header of the page goes through :func:`column_label` (``frame_html`` calls it), every
status through :data:`STATUS_LABELS`; a column not in :data:`COLUMN_LABELS` falls back to a rule
(``pop_resident_2010`` -> "population 2010", ``region_east`` -> "region: east") and finally to its
words without underscores, so no internal name reaches the reader.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pandas as pd

from shrinkwatch.core import Identification, Panel, PanelMeta
from shrinkwatch.core.errors import ShrinkWatchError
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.schema import Standard

__all__ = ["unit_label", "parent_labels", "display_names", "parent_display", "not_assessed_sentence",
           "not_assessed", "NotAssessed",
           "COLUMN_LABELS", "STATUS_LABELS", "column_label", "status_label", "plain_text",
           "format_p", "format_number", "number_formatter", "is_fraction"]

#: Column name -> what a reader sees as its header (English). The one place for table headers.
COLUMN_LABELS: dict[str, dict[str, str]] = {"en": {
    "unit_id": "ID", "name": "name", "name_en": "English name", "parent": "parent", "parent_name": "parent",
    "parent_display": "parent", "kind": "kind", "region": "region", "country": "country",
    "status": "status", "robustness": "robustness", "reason": "reason", "severity": "severity",
    "pattern": "pattern of change", "units": "units", "with_data": "with data", "units_with_data": "units with data",
    "units_total": "units in total", "shrinking": "shrinking", "not_shrinking": "not shrinking",
    "insufficient_data": "insufficient data", "boundary_change": "boundary change",
    "share_shrinking": "share shrinking", "share": "share", "evaluable": "settings where decidable",
    "combinations": "settings", "annual_rate": "annual change (%/yr)", "annual_rate_%": "annual change (%/yr)",
    "decline_value": "total change", "start_year": "first year", "end_year": "last year",
    "latest_run": "latest run of declines (years)", "longest_run": "longest run of declines (years)",
    "longest_run_end": "longest run ends", "decline_years": "years of decline", "min_loss": "minimum loss",
    "min_annual_loss": "minimum annual loss", "n": "years in a row", "window": "window (years)",
    "local_I": "local Moran's I", "p_sim": "pseudo p", "p": "p", "cluster": "cluster", "coef": "coefficient",
    "robust_se": "robust SE", "ci_low": "95% CI low", "ci_high": "95% CI high", "meaning": "meaning",
    "triggered_by": "triggered by", "recommendation_id": "recommendation", "via_stable_cluster": "judged as a cluster",
    "stable_cluster": "stable cluster", "uses_projection": "uses projected years", "label": "label",
    "pop_resident": "population", "pop_hukou": "registered population", "gdp": "GDP", "builtup_km2": "built-up area (km²)",
    "household_size": "household size", "sex_ratio": "sex ratio", "urban_share": "urban share (%)",
    "share_0_14": "share aged 0-14 (%)", "share_65plus": "share aged 65+ (%)",
    "share_65plus_change": "change in the share aged 65+ (points)", "log10_population_start": "population at start (log10)",
    "observed_years": "observed years", "natural_increase": "natural increase", "net_migration": "net migration",
    "net_domestic_migration": "net domestic migration", "net_international_migration": "net international migration",
    "population_start": "population at start", "population_end": "population at end",
    "robust": "robust", "borderline": "borderline", "never": "never",
    "licence": "licence", "citation": "citation", "publisher": "publisher", "dataset": "dataset",
}, "zh": {
    "unit_id": "代码", "name": "名称", "parent": "上级", "parent_name": "上级", "status": "状态", "shrinking": "收缩",
    "not_shrinking": "未收缩", "insufficient_data": "数据不足", "boundary_change": "边界变更", "units": "单元数",
    "with_data": "有数据", "share_shrinking": "收缩比例", "annual_rate": "年均变化（%/年）", "severity": "程度",
    "pop_resident": "常住人口", "min_loss": "最小减少幅度", "min_annual_loss": "最小年均减少幅度", "start_year": "起始年份",
    "end_year": "终止年份", "indicator": "指标", "annual_rate_%": "年均变化（%/年）", "population_start": "期初人口",
    "population_end": "期末人口", "longest_run": "最长连续减少年数", "latest_run": "最近连续减少年数",
}}

#: Column suffixes the fallback rule reads (``share_65plus_start`` -> "share aged 65+ (%) at start").
_SUFFIXES = {"en": {"start": "at start", "end": "at end", "change": "change", "per_1000": "per 1,000", "rate": "rate"},
             "zh": {"start": "（期初）", "end": "（期末）", "change": "变化", "per_1000": "每千人", "rate": "率"}}

#: Status -> plain words.
STATUS_LABELS: dict[str, dict[str, str]] = {
    "en": {"shrinking": "shrinking", "not_shrinking": "not shrinking", "insufficient_data": "insufficient data",
           "boundary_change": "boundary change", "robust": "robust", "borderline": "borderline", "never": "never"},
    "zh": {"shrinking": "收缩", "not_shrinking": "未收缩", "insufficient_data": "数据不足", "boundary_change": "边界变更",
           "robust": "稳健", "borderline": "临界", "never": "从不"},
}


def _labels(lang: str) -> dict[str, str]:
    return COLUMN_LABELS.get(lang, {}) if lang != "en" else COLUMN_LABELS["en"]


def column_label(column: object, lang: str = "en") -> str:
    """A column's header in plain words; never an internal snake_case name.

    Examples
    --------
    >>> [column_label(c) for c in ("with_data", "pop_resident_2010", "region_east", "share_65plus_start", "a b")]
    ['with data', 'population 2010', 'region: east', 'share aged 65+ (%) at start', 'a b']
    >>> column_label("share_65plus_change")
    'change in the share aged 65+ (points)'
    """
    text = str(column)
    for table in (_labels(lang), COLUMN_LABELS["en"]):
        if text in table:
            return table[text]
    indicator, _, year = text.rpartition("_")
    if indicator and year.isdigit() and len(year) == 4:
        return f"{column_label(indicator, lang)} {year}"
    if text.startswith("region_"):
        return f"region: {text[len('region_'):].replace('_', ' ')}"
    for suffix, words in sorted(_SUFFIXES.get(lang, _SUFFIXES["en"]).items(), key=lambda kv: -len(kv[0])):
        if text.endswith("_" + suffix) and text[: -len(suffix) - 1] in COLUMN_LABELS["en"]:
            return f"{column_label(text[: -len(suffix) - 1], lang)} {words}"
    return text.replace("_", " ")


def status_label(status: object, lang: str = "en") -> str:
    """A status in plain words (``not_shrinking`` -> "not shrinking"); other values as they are."""
    text = str(status)
    return STATUS_LABELS.get(lang, STATUS_LABELS["en"]).get(text, STATUS_LABELS["en"].get(text, text))


_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def plain_text(text: str, lang: str = "en") -> str:
    """Prose from an analysis with every snake_case name put in plain words and p-values written
    the way a reader expects (``p = 1.57e-64`` -> ``p < 0.001``).

    Examples
    --------
    >>> plain_text("a one-unit higher share_65plus_change is associated (p = 1.57e-64); p = 0.0246")
    'a one-unit higher change in the share aged 65+ (points) is associated (p < 0.001); p = 0.025'
    >>> plain_text("a benchmark (meta.benchmark, meta.parent_totals), not units; 2019 on (meta.projected_from = 2019)")
    'a benchmark, not units; 2019 on'
    >>> plain_text("0 island(s) linked to their 1 nearest unit(s); 2 connected component(s); k-means, n_init=10, random_state=0")
    '0 islands linked to their 1 nearest unit; 2 connected components; k-means, best of 10 starts, seed 0'
    """
    text = re.sub(r"\bp = ([0-9.]+(?:e[-+]?[0-9]+)?)\b", lambda m: format_p(float(m.group(1))), text)
    text = _CODE_REFERENCE.sub("", text).replace("units['note']", "the units' notes")
    text = re.sub(r"\bn_init=(\d+)", r"best of \1 starts", text)
    text = re.sub(r"\brandom_state=(\d+)", r"seed \1", text)
    text = _COUNTED.sub(_plural, text).replace("(s)", "s")
    return _SNAKE.sub(lambda m: column_label(m.group(0), lang), text)


#: A parenthesis that only names fields of the code (``(meta.benchmark, meta.parent_totals)``): left out.
_CODE_REFERENCE = re.compile(r"\s*\((?:meta\.\w+(?: = [^,)]*)?(?:, )?)+\)")
_COUNTED = re.compile(r"\b(\d[\d,]*)((?:\s+[A-Za-z-]+){0,2}?)\s+([A-Za-z]+)\(s\)")


def _plural(match: re.Match[str]) -> str:
    count, between, word = match.groups()
    return f"{count}{between} {word if count.replace(',', '') == '1' else word + 's'}"


def format_p(p: float, *, prefix: str = "p") -> str:
    """A p-value as a reader expects it: ``p < 0.001`` below one in a thousand, else three decimals.

    Examples
    --------
    >>> format_p(1.57e-64), format_p(0.0010), format_p(0.04567), format_p(float("nan"))
    ('p < 0.001', 'p = 0.001', 'p = 0.046', 'p not available')
    >>> format_p(0.0004, prefix="pseudo p")
    'pseudo p < 0.001'
    """
    if p is None or not math.isfinite(p):
        return f"{prefix} not available"
    return f"{prefix} < 0.001" if p < 0.0005 else f"{prefix} = {p:.3f}"


def format_number(value: float, spec: str = "{:,.2f}") -> str:
    """``value`` formatted by ``spec`` with no negative zero (``-0.00`` -> ``0.00``, ``+0.0`` kept signless).

    Examples
    --------
    >>> format_number(-0.001), format_number(-0.001, "{:+.2f}"), format_number(-1.234, "{:+.2f}")
    ('0.00', '0.00', '-1.23')
    """
    text = spec.format(value)
    if text[:1] in "+-" and not any(c in "123456789" for c in text):
        text = text[1:]
    return text


def number_formatter(spec: str) -> Callable[[object], str]:
    """A one-argument formatter for :func:`~shrinkwatch.report.html.frame_html` built on :func:`format_number`."""
    return lambda value: format_number(value, spec)  # type: ignore[arg-type]


def unit_label(panel_meta: PanelMeta) -> str:
    """A short plural noun for the units ("prefecture-level units", "counties", ...)."""
    return str(panel_meta.unit_label or {
        "cn-prefecture-census": "prefecture-level units",
        "cn-county-census": "county-level units",
        "us-county-est": "counties",
        "world-wup2018": "urban agglomerations",
    }.get(panel_meta.id, "units"))


def parent_labels(panel: Panel) -> dict[str, str]:
    """Parent name -> name with its English form (黑龙江省 -> 黑龙江省 Heilongjiang) where the panel has one.

    Examples
    --------
    >>> units = pd.DataFrame({"parent_name": ["黑龙江省", "Texas"], "parent_name_en": ["Heilongjiang", "Texas"]},
    ...                      index=pd.Index(["230100", "48001"], name="unit_id"))
    >>> parent_labels(Panel(units, pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["unit_id", "year"]))))
    {'黑龙江省': '黑龙江省 Heilongjiang', 'Texas': 'Texas'}
    """
    units = panel.units
    if "parent_name_en" not in units.columns or "parent_name" not in units.columns:
        return {}
    pairs = units[["parent_name", "parent_name_en"]].dropna().astype(str).drop_duplicates("parent_name")
    return {a: (a if a == b or not b else f"{a} {b}") for a, b in pairs.itertuples(index=False)}


def display_names(table: pd.DataFrame, panel: Panel) -> pd.Series:
    """Each unit's ``name``, followed by its English name where the panel has a different one."""
    name = table["name"].astype("string").fillna("")
    if "name_en" in panel.units.columns:
        english = panel.units["name_en"].reindex(table.index).astype("string")
        name = name.where(english.isna() | (english == name), name + " " + english.fillna(""))
    return name


def parent_display(table: pd.DataFrame, panel: Panel) -> pd.Series:
    """Each unit's ``parent_name`` (``(none)`` when missing), followed by its English name where there is one."""
    parent = table["parent_name"].astype("string").fillna("(none)")
    if "parent_name_en" in panel.units.columns:
        english = panel.units["parent_name_en"].reindex(table.index).astype("string").fillna("")
        parent = parent.where(english == "", parent + " " + english)
    return parent


@dataclass(frozen=True)
class NotAssessed:
    """A criterion no unit could be judged on: ``set_aside`` when the verdicts were given without it (the rule
    allows that when the panel has none of its data), with the units with a verdict that it would decide;
    otherwise the units that depend on it are insufficient data. ``remedy`` says what to do."""

    criterion: str
    label: str
    set_aside: bool
    units_it_would_decide: int | None
    remedy: str

    def as_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "label": self.label,
                "verdicts": "given without it" if self.set_aside else "insufficient data where it is needed",
                "units_it_would_decide": self.units_it_would_decide, "remedy": self.remedy}

    def sentence(self, units_with_data: int, standard_id: str) -> str:
        named = f"{self.criterion} ({self.label})" if self.label else self.criterion
        if self.set_aside:
            said = (f"the dataset has none of its data, so the verdicts rest on the other criteria; it would decide "
                    f"{self.units_it_would_decide:,} of the {units_with_data:,} units with a verdict")
        else:
            said = "the dataset lacks what it needs, so units that depend on it are insufficient data"
        remedy = self.remedy or (f"add the data, or choose settings that do not need it "
                                 f"(`shrinkwatch standards show {standard_id}` lists them)")
        return f"Not assessed for any unit: {named}: {said}. To assess it: {remedy}."


def not_assessed(identification: Identification, standard: Standard | None) -> list[NotAssessed]:
    """The criteria no unit could be judged on (:meth:`Identification.criteria_not_assessed`), with their labels,
    what the verdicts did without them and the standard's remedy (``standard`` default: the identification's)."""
    missing = identification.criteria_not_assessed()
    if missing and standard is None:
        try:  # the standard the identification was made with, for its labels and remedies
            standard = load_standard(identification.standard_source or identification.standard_id)
        except ShrinkWatchError:
            standard = None
    out = []
    for criterion in missing:
        spec = standard.criteria.get(criterion) if standard is not None else None
        decides = identification.criteria_set_aside.get(criterion)
        out.append(NotAssessed(criterion=criterion, label=spec.label if spec else "", set_aside=decides is not None,
                               units_it_would_decide=decides, remedy=spec.remedy if spec else ""))
    return out


def not_assessed_sentence(identification: Identification, standard: Standard) -> str:
    """Sentences naming the criteria no unit could be judged on, what the verdicts did without them and what to do;
    empty when there are none.

    Examples
    --------
    >>> from shrinkwatch.identification import load_standard
    >>> table = pd.DataFrame({"status": ["insufficient_data"], "population_pass": [True],
    ...                       "gdp_pass": [True], "land_pass": pd.array([pd.NA], dtype="boolean")},
    ...                      index=pd.Index(["a"], name="unit_id"))
    >>> ident = Identification(table, "cn-2025", {}, {}, criteria=("population", "gdp", "land"))
    >>> not_assessed_sentence(ident, load_standard("cn-2025")).split(":")[1]
    ' land (land-population elasticity (built-up area vs population))'
    """
    with_data = identification.counts()["units_with_data"]
    return "".join(" " + item.sentence(with_data, standard.id) for item in not_assessed(identification, standard))


def is_fraction(standard: Standard | None, key: str, values: Sequence[Any]) -> bool:
    """Whether parameter ``key`` of ``standard`` is a share (a float bounded within [0, 1], such as
    ``min_loss``), shown in % to a reader.

    Examples
    --------
    >>> from shrinkwatch.identification import load_standard
    >>> std = load_standard("census-decline")
    >>> is_fraction(std, "min_loss", [0.05]), is_fraction(std, "start_year", [2010]), is_fraction(None, "x", [0.1])
    (True, False, False)
    """
    if standard is None or key not in standard.parameters:
        return False
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return False
    p = standard.parameters[key]
    return p.type == "float" and p.max is not None and p.max <= 1 and (p.min is None or p.min >= -1)

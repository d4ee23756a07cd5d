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
from shrinkwatch.core.messages import LANGUAGES, catalogue, check_language, message, table
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.schema import Standard

__all__ = ["unit_label", "parent_labels", "display_names", "parent_display", "not_assessed_sentence",
           "not_assessed", "NotAssessed",
           "COLUMN_LABELS", "STATUS_LABELS", "column_label", "status_label", "kind_label", "region_label", "plain_text",
           "format_p", "format_number", "number_formatter", "is_fraction", "analysis_prose"]

def _table(prefix: str) -> dict[str, dict[str, str]]:
    """One table of the message catalogues (``report.column`` ...) per language, keys without the prefix."""
    return {lang: table(prefix, lang) for lang in LANGUAGES}


#: Column name -> what a reader sees as its header, per language: the catalogues' ``[report.column]``.
#: The one place for table headers.
COLUMN_LABELS: dict[str, dict[str, str]] = _table("report.column")

#: Status (and other class values shown in cells: severity, pattern, LISA class, path, priority) -> plain
#: words, per language: the catalogues' ``[report.value]``.
STATUS_LABELS: dict[str, dict[str, str]] = _table("report.value")


def column_label(column: object, lang: str = "en") -> str:
    """A column's header in plain words; never an internal snake_case name.

    Examples
    --------
    >>> [column_label(c) for c in ("with_data", "pop_resident_2010", "region_east", "share_65plus_start", "a b")]
    ['with data', 'population 2010', 'region: east', 'share aged 65+ (%) at start', 'a b']
    >>> column_label("share_65plus_change"), column_label("share_65plus_start", "zh"), column_label("pop_resident_2010", "zh")
    ('change in the share aged 65+ (points)', '65 岁及以上人口比例（%）（期初）', '常住人口（2010年）')
    """
    text = str(column)
    labels = COLUMN_LABELS[check_language(lang, "lang")]
    if text in labels:
        return labels[text]
    indicator, _, year = text.rpartition("_")
    if indicator and year.isdigit() and len(year) == 4:
        return message("report.column_suffix.year", lang, label=column_label(indicator, lang), year=year)
    if text.startswith("region_"):
        region = text[len("region_"):].replace("_", " ")
        return message("report.column_suffix.region", lang, region=region_label(region.title(), lang)
                       if lang != "en" else region)
    for suffix in sorted(("start", "end", "change", "per_1000", "rate"), key=len, reverse=True):
        if text.endswith("_" + suffix) and text[: -len(suffix) - 1] in labels:
            return message(f"report.column_suffix.{suffix}", lang, label=column_label(text[: -len(suffix) - 1], lang))
    return text.replace("_", " ")


def status_label(status: object, lang: str = "en") -> str:
    """A status or class in plain words (``not_shrinking`` -> "not shrinking", ``single period`` -> "单一时期");
    other values as they are."""
    text = str(status)
    labels = STATUS_LABELS.get(lang, STATUS_LABELS["en"])
    return labels.get(text) or labels.get(re.sub(r"[ -]", "_", text), text)


def kind_label(kind: object, lang: str = "en") -> str:
    """A unit kind in words (``prefecture_city`` -> "prefecture city", "地级市")."""
    text = str(kind)
    return catalogue(lang).get(f"report.kind.{text}", text.replace("_", " "))


def region_label(region: object, lang: str = "en") -> str:
    """A region as the datasets name it, in ``lang`` (``Northeast`` -> "东北"); unknown regions as they are."""
    text = str(region)
    return catalogue(lang).get(f"report.region.{text}", text)


_SNAKE = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![A-Za-z0-9_])")  # next to CJK too


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


def analysis_prose(text: str, lang: str) -> str:
    """Prose an analysis wrote (a result's message, summary or notes), in plain words, when it is in ``lang``;
    "" when it is not (an English sentence in a Chinese report), so that a report never mixes languages: the
    section's own sentences, built from the same numbers, say what the analysis found."""
    if not text:
        return ""
    chinese = len(_CJK.findall(text)) >= len(re.findall(r"[A-Za-z]{3,}", text))  # place names aside
    return plain_text(text, lang) if (lang == "zh") == chinese else ""


_CJK = re.compile(r"[\u4e00-\u9fff]")


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


def unit_label(panel_meta: PanelMeta, lang: str = "en") -> str:
    """A short plural noun for the units ("prefecture-level units", "counties", ...; "地级单元", "县"...).

    A dataset's own ``unit_label`` is English; the catalogues' ``[report.unit_label]`` translate the known
    ones, and an unknown one is "units" ("单元") in Chinese.

    Examples
    --------
    >>> from shrinkwatch.core import PanelMeta
    >>> unit_label(PanelMeta(id="cn-prefecture-census")), unit_label(PanelMeta(id="cn-prefecture-census"), "zh")
    ('prefecture-level units', '地级单元')
    >>> unit_label(PanelMeta(id="x", unit_label="hamlets")), unit_label(PanelMeta(id="x", unit_label="hamlets"), "zh")
    ('hamlets', '单元')
    """
    english = str(panel_meta.unit_label or {
        "cn-prefecture-census": "prefecture-level units",
        "cn-county-census": "county-level units",
        "us-county-est": "counties",
        "world-wup2018": "urban agglomerations",
    }.get(panel_meta.id, "units"))
    if lang == "en":
        return english
    words = catalogue(lang)
    return words.get(f"report.unit_label.{english}", words["report.unit_label.default"])


def _english(panel: Panel, column: str, index: pd.Index) -> pd.Series:
    """The panel's ``column`` (``name_en``, ``parent_name_en``) for ``index``, empty strings where missing."""
    if column not in panel.units.columns:
        return pd.Series("", index=index, dtype="string")
    return panel.units[column].reindex(index).astype("string").fillna("")


def parent_labels(panel: Panel, lang: str = "en") -> dict[str, str]:
    """Parent name -> how the report in ``lang`` shows it: the English form in English (黑龙江省 -> Heilongjiang),
    the name as it is in Chinese.

    Examples
    --------
    >>> units = pd.DataFrame({"parent_name": ["黑龙江省", "Texas"], "parent_name_en": ["Heilongjiang", "Texas"]},
    ...                      index=pd.Index(["230100", "48001"], name="unit_id"))
    >>> panel = Panel(units, pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["unit_id", "year"])))
    >>> parent_labels(panel), parent_labels(panel, "zh")
    ({'黑龙江省': 'Heilongjiang', 'Texas': 'Texas'}, {})
    """
    units = panel.units
    if lang != "en" or "parent_name_en" not in units.columns or "parent_name" not in units.columns:
        return {}
    pairs = units[["parent_name", "parent_name_en"]].dropna().astype(str).drop_duplicates("parent_name")
    return {a: (b or a) for a, b in pairs.itertuples(index=False)}


def display_names(table: pd.DataFrame, panel: Panel, lang: str = "en") -> pd.Series:
    """Each unit's name as the report in ``lang`` shows it: in English its ``name_en`` where the panel has one
    (the pinyin of a Chinese unit), else its ``name``; in Chinese its ``name``."""
    name = table["name"].astype("string").fillna("")
    if lang == "en":
        english = _english(panel, "name_en", table.index)
        name = name.where(english == "", english)
    return name


def parent_display(table: pd.DataFrame, panel: Panel, lang: str = "en") -> pd.Series:
    """Each unit's parent as the report in ``lang`` shows it (its ``parent_name_en`` in English where there is
    one), ``(none)`` when missing."""
    parent = table["parent_name"].astype("string")
    if lang == "en":
        english = _english(panel, "parent_name_en", table.index)
        parent = parent.where(english == "", english)
    return parent.fillna(message("report.value.none", lang))


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

    def sentence(self, units_with_data: int, standard_id: str, lang: str = "en") -> str:
        named = self.label or self.criterion  # the label in the language; the id where the standard has none
        if self.set_aside:
            said = message("report.not_assessed.set_aside", lang, units=self.units_it_would_decide or 0,
                           with_data=units_with_data)
        else:
            said = message("report.not_assessed.insufficient", lang)
        remedy = self.remedy or message("report.not_assessed.remedy", lang,
                                        command=f"`shrinkwatch standards show {standard_id}`")
        return message("report.not_assessed.sentence", lang, named=named, said=said, remedy=remedy)


def not_assessed(identification: Identification, standard: Standard | None, lang: str = "en") -> list[NotAssessed]:
    """The criteria no unit could be judged on (:meth:`Identification.criteria_not_assessed`), with their labels,
    what the verdicts did without them and the standard's remedy (``standard`` default: the identification's),
    the labels and remedies in ``lang`` where the standard has them."""
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
        zh = lang == "zh" and spec is not None
        out.append(NotAssessed(criterion=criterion,
                               label=(spec.label_zh or spec.label if zh else spec.label) if spec else "",
                               set_aside=decides is not None, units_it_would_decide=decides,
                               remedy=(spec.remedy_zh or spec.remedy if zh else spec.remedy) if spec else ""))
    return out


def not_assessed_sentence(identification: Identification, standard: Standard, lang: str = "en") -> str:
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
    ' land-population elasticity (built-up area vs population)'
    >>> not_assessed_sentence(ident, load_standard("cn-2025"), "zh").split("：")[1]
    '用地-人口弹性'
    """
    with_data = identification.counts()["units_with_data"]
    return "".join(" " + item.sentence(with_data, standard.id, lang)
                   for item in not_assessed(identification, standard, lang))


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

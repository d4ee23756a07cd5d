"""The identification engine: a standard applied to every unit of a panel, one explained row per unit.

:func:`identify` loads the standard, resolves its parameters (defaults, then
the user's overrides), builds the rule's typed parameter object, looks the
rule's kernel up in the registry (:data:`shrinkwatch.identification.rules.KERNELS`),
evaluates it over all units at once and assembles an
:class:`~shrinkwatch.core.Identification`. A unit whose compared years straddle
a boundary break gets no verdict (:func:`boundary_change_mask`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.harmonize import boundary_break_mask, boundary_break_reasons
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.indicators import severity
from shrinkwatch.identification.kernel import RuleParameters
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard
from shrinkwatch.identification.text import as_text, pick

__all__ = ["identify", "boundary_change_mask", "resolve_for_panel"]

#: Columns of the units table copied into every identification.
_UNIT_COLUMNS = ("name", "name_en", "parent_id", "parent_name", "kind", "region", "country")
#: Parameters whose 0 means "the default year", with the fact that reports the year used.
_YEAR_FACTS = (("start_year", "start_year"), ("end_year", "end_year"), ("year", "evaluation_year"))


#: Total-population indicators that stand in for each other when a standard's default is not in the panel
#: (registered 户籍 and resident 常住 population count the same places; the urban population does not).
POPULATION_SUBSTITUTES = {"pop_resident": ("pop_registered",), "pop_registered": ("pop_resident",)}


def resolve_for_panel(std: Standard, panel: Panel, settings: dict[str, Any] | None,
                      lang: str = "en") -> tuple[dict[str, Any], tuple[str, ...]]:
    """The standard's resolved parameters for ``panel`` and the notes on what was chosen for the user.

    A default population indicator the panel lacks is replaced by the total-population indicator it has
    (:data:`POPULATION_SUBSTITUTES`: resident for registered, or the reverse), and a note says so; an
    indicator the user set is never replaced.

    Examples
    --------
    >>> from shrinkwatch.identification.catalogue import load_standard
    >>> panel = Panel.from_series({"a": [3, 2]}, years=[2010, 2020], indicator="pop_registered")
    >>> values, notes = resolve_for_panel(load_standard("census-decline"), panel, None)
    >>> values["indicator"], notes[0][:60]
    ('pop_registered', 'population indicator: pop_registered (registered (户籍) popula')
    """
    values = std.resolve(settings)
    notes: list[str] = []
    given = set(settings or {})
    for key, spec in std.parameters.items():
        if not (key == "indicator" or key.endswith("_indicator")) or key in given:
            continue
        wanted = values.get(key)
        if wanted in panel.indicators or wanted not in POPULATION_SUBSTITUTES:
            continue
        substitute = next((s for s in POPULATION_SUBSTITUTES[wanted] if s in panel.indicators), None)
        if substitute is None:
            continue
        values[key] = substitute
        described = {"pop_registered": ("registered (户籍) population", "户籍人口"),
                     "pop_resident": ("resident (常住) population", "常住人口")}
        if lang == "zh":
            notes.append(f"人口指标：面板没有{described[wanted][1]}（{wanted}），改用{described[substitute][1]}"
                         f"（{substitute}）；如需其他指标请用 --set {key}=...")
        else:
            notes.append(f"population indicator: {substitute} ({described[substitute][0]}): the panel has no "
                         f"{wanted}, the standard's default ({described[wanted][0]}); --set {key}=... chooses another")
    return values, tuple(notes)


def boundary_change_mask(panel: Panel, params: RuleParameters) -> np.ndarray | None:
    """Units whose compared years (:meth:`RuleParameters.comparison_window`) straddle a boundary break
    (``panel.meta.boundary_breaks``), or None when there is none."""
    breaks = panel.meta.boundary_breaks
    if breaks is None or len(breaks) == 0:
        return None
    start, end = params.comparison_window(panel)
    mask = boundary_break_mask(panel, start, end)
    return mask if mask.any() else None


def identify(
    panel: Panel,
    standard: str | Path | Standard = "census-decline",
    settings: dict[str, Any] | None = None,
    *,
    lang: str | None = None,
) -> Identification:
    """Apply a standard to every unit of a panel.

    Parameters
    ----------
    panel
        The units and their values.
    standard
        A built-in id, a path to a TOML file, or a :class:`Standard`.
    settings
        Parameter overrides (``{"min_loss": 0.05}``); unknown keys are an error.
    lang
        ``"en"`` or ``"zh"`` for the reasons; default: the panel's language.

    Returns
    -------
    Identification
        One row per unit of ``panel.units``, in the same order, with
        ``status``, ``<criterion>_value`` / ``<criterion>_pass``, ``severity``,
        ``pattern``, ``annual_rate`` (percent per year) and ``reason``.

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 90], "b": [50, 60]}, years=[2010, 2020])
    >>> identify(panel, "census-decline").table["status"].tolist()
    ['shrinking', 'not_shrinking']
    """
    std = load_standard(standard)
    language = lang or panel.language
    if language not in ("en", "zh"):
        raise OptionError(f"--lang: expected 'en' or 'zh', got {language!r}")
    values, notes = resolve_for_panel(std, panel, settings, language)
    kernel = kernel_class(std.rule)(panel, std)
    params = kernel.parameters_of(values)
    evaluation = kernel.evaluate(params)
    reason = kernel.reasons(evaluation, params, language).to_pandas()

    units = panel.units
    n = len(units)
    columns: dict[str, Any] = {}
    for column in _UNIT_COLUMNS:
        # the units' own Series (same index): dtype kept, no re-inference of object columns
        columns[column] = units[column] if column in units.columns else pd.Series(pd.NA, index=units.index, dtype=object)
    evaluable = evaluation.verdict.known
    shrinking = evaluable & evaluation.verdict.yes
    columns["status"] = pick([~evaluable, shrinking], ["insufficient_data", "shrinking"], "not_shrinking").to_pandas()
    columns["shrinking"] = pd.arrays.BooleanArray(shrinking, ~evaluable)
    rate_percent = np.round(np.asarray(evaluation.annual_rate, dtype=float) * 100.0, 4)
    columns["annual_rate"] = rate_percent
    columns["severity"] = as_text(np.where(shrinking, severity(rate_percent), np.where(evaluable, "none", ""))).to_pandas()
    columns["pattern"] = as_text(evaluation.pattern).to_pandas()
    for name, (value, verdict) in evaluation.criteria.items():
        columns[f"{name}_value"] = np.asarray(value, dtype=float)
        passed = verdict.as_float()
        columns[f"{name}_pass"] = pd.arrays.BooleanArray(passed > 0, np.isnan(passed))
    for name, column_values in evaluation.facts.items():
        columns[name] = column_values
    columns["reason"] = reason
    table = pd.DataFrame(columns, index=units.index, copy=False)
    broken = boundary_change_mask(panel, params)
    if broken is not None:
        # the two compared years cover different territories: no verdict, and no rate
        start, end = params.comparison_window(panel)
        table.loc[broken, "status"] = "boundary_change"
        table.loc[broken, "shrinking"] = pd.NA
        table.loc[broken, "annual_rate"] = np.nan
        table.loc[broken, "severity"] = ""
        for name in evaluation.criteria:
            table.loc[broken, f"{name}_pass"] = pd.NA
        table.loc[broken, "reason"] = boundary_break_reasons(panel, start, end, language)[broken]
    first_projected = panel.meta.projected_from
    if first_projected is not None:
        # projected years enter only when asked for, and every row then says so
        uses_projection = params.comparison_window(panel)[1] >= int(first_projected)
        table["uses_projection"] = uses_projection
        if uses_projection:
            note = (f" 含{int(first_projected)}年起的预测值，非观测值。" if language == "zh"
                    else f" Uses projected values (years from {int(first_projected)} are projections, not observations).")
            table["reason"] = table["reason"].astype("string") + note
    # report the years actually used, not the "0 = default" placeholders
    resolved = dict(values)
    for key, fact in _YEAR_FACTS:
        if key in resolved and int(resolved[key]) == 0 and fact in evaluation.facts and n:
            resolved[key] = int(np.asarray(evaluation.facts[fact])[0])
    return Identification(
        table=table,
        standard_id=std.id,
        parameters=resolved,
        panel_meta=panel.meta,
        criteria=tuple(evaluation.criteria),
        description=std.describe(resolved, language),
        standard_source=std.source,
        notes=notes,
    )

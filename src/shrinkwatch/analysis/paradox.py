"""The expansion paradox: shrinking units whose built-up area still grew, with Tapio decoupling states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.analysis.drivers import _period
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.messages import check_language, message
from shrinkwatch.identification.indicators import elasticity, tapio_state

__all__ = ["ParadoxResult", "expansion_paradox", "tapio_states"]


@dataclass(frozen=True)
class ParadoxResult:
    """The expansion paradox: shrinking units whose built-up area still grew.

    ``share`` = ``n_grew`` / ``denominator`` where the denominator is the
    shrinking units with built-up area at both ``start_year`` and ``end_year``;
    shrinking units without built-up data are counted in
    ``n_shrinking_without_builtup`` and listed. ``table`` has, per unit with
    both series, the relative changes, the elasticity and the Tapio state.
    ``available`` is False (with ``message``) when the panel has no built-up data.
    """

    available: bool
    message: str
    dataset: str
    builtup_present: bool = False
    start_year: int | None = None
    end_year: int | None = None
    population_indicator: str = ""
    n_shrinking: int = 0
    denominator: int = 0
    n_grew: int = 0
    share: float | None = None
    n_shrinking_without_builtup: int = 0
    shrinking_without_builtup: tuple[str, ...] = ()
    state_counts_shrinking: dict[str, int] = field(default_factory=dict)
    state_counts_all: dict[str, int] = field(default_factory=dict)
    table: pd.DataFrame | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "builtup_present": self.builtup_present,
                    "paradox_share": None if self.builtup_present else "no built-up data", "message": self.message}
        return {
            "available": True, "start_year": self.start_year, "end_year": self.end_year,
            "population_indicator": self.population_indicator, "paradox_share": self.share,
            "numerator_builtup_grew": self.n_grew, "denominator_shrinking_with_builtup": self.denominator,
            "shrinking_units": self.n_shrinking, "shrinking_without_builtup": self.n_shrinking_without_builtup,
            "tapio_states_of_shrinking_units": dict(self.state_counts_shrinking), "message": self.message,
        }


def tapio_states(population_change: np.ndarray, land_change: np.ndarray) -> np.ndarray:
    """Tapio decoupling state from relative changes (``shrinkwatch.identification.indicators.tapio_state``).

    Examples
    --------
    >>> tapio_states(np.array([-0.1, 0.1, -0.1]), np.array([0.05, 0.05, -0.2])).tolist()
    ['strong negative decoupling', 'weak decoupling', 'recessive decoupling']
    """
    return np.asarray(tapio_state(np.asarray(population_change, dtype=float), np.asarray(land_change, dtype=float)),
                      dtype=object)


def expansion_paradox(
    identification: Identification,
    panel: Panel,
    start_year: int | None = None,
    end_year: int | None = None,
    *,
    lang: str = "en",
) -> ParadoxResult:
    """Share of shrinking units whose built-up area (``builtup_km2``) grew, with Tapio states.

    Parameters
    ----------
    identification, panel
        The verdicts and their panel.
    start_year, end_year
        The period; default: the identification's period (its ``start_year`` /
        ``end_year`` columns), else the panel's first and last observed years.
    lang
        The language of ``message`` (``"en"`` or ``"zh"``), from the catalogues' ``analysis.paradox``.

    Returns
    -------
    ParadoxResult
        ``available=False`` and a plain message when the panel has no built-up data.

    Examples
    --------
    >>> import pandas as pd
    >>> from shrinkwatch.core import Identification, Panel
    >>> index = pd.Index(["a", "b", "c"], name="unit_id")
    >>> units = pd.DataFrame({"name": ["A", "B", "C"]}, index=index)
    >>> values = pd.DataFrame({"pop_resident": [100, 90, 100, 95, 100, 120.0], "builtup_km2": [10, 12, 10, 9, 10, 11.0]},
    ...                       index=pd.MultiIndex.from_product([list("abc"), [2010, 2020]], names=["unit_id", "year"]))
    >>> verdicts = Identification(pd.DataFrame({"status": ["shrinking", "shrinking", "not_shrinking"]}, index=index),
    ...                           "toy", {}, {})
    >>> result = expansion_paradox(verdicts, Panel(units, values, {"id": "toy"}))
    >>> result.n_grew, result.denominator, result.share
    (1, 2, 0.5)
    """
    check_language(lang, "lang")
    dataset = panel.id
    if "builtup_km2" not in panel.indicators or panel.values["builtup_km2"].notna().sum() == 0:
        return ParadoxResult(
            available=False, dataset=dataset,
            message=message("analysis.paradox.no_builtup", lang, dataset=dataset),
        )
    default_start, default_end = _period(identification, panel)
    start = int(start_year) if start_year is not None else default_start
    end = int(end_year) if end_year is not None else default_end
    if end <= start:
        raise OptionError(f"expansion_paradox: end_year ({end}) must be after start_year ({start})")
    for label, year in (("start_year", start), ("end_year", end)):
        if year not in panel.years:
            raise OptionError(f"expansion_paradox: {label} {year} is not a year of panel {dataset!r} ({panel.years})")
    indicator = str(identification.parameters.get("indicator", "pop_resident"))
    if indicator not in panel.indicators:
        indicator = "pop_resident"
    population = panel.wide(indicator, [start, end]).reindex(identification.table.index)
    land = panel.wide("builtup_km2", [start, end]).reindex(identification.table.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        population_change = (population[end] / population[start].where(population[start] > 0) - 1.0).to_numpy()
        land_change = (land[end] / land[start].where(land[start] > 0) - 1.0).to_numpy()
    # a change across a boundary break compares different territories: no Tapio state for it
    # nor for a unit judged with its stable cluster: its own values still straddle the change
    comparable = ~identification.table["status"].eq("boundary_change").to_numpy()
    if "via_stable_cluster" in identification.table.columns:
        comparable &= ~identification.table["via_stable_cluster"].fillna(False).to_numpy(dtype=bool)
    has_land = np.isfinite(land_change) & comparable
    has_both = has_land & np.isfinite(population_change)
    shrinking = identification.table["status"].eq("shrinking").to_numpy()
    states = np.full(len(shrinking), "", dtype=object)
    states[has_both] = tapio_states(population_change[has_both], land_change[has_both])
    table = pd.DataFrame({
        "name": identification.table["name"].to_numpy() if "name" in identification.table.columns else "",
        "status": identification.table["status"].to_numpy(),
        f"{indicator}_change": population_change,
        "builtup_change": land_change,
        "elasticity": elasticity(land_change, population_change),
        "tapio_state": states,
        "builtup_grew": np.where(has_land, land_change > 0, False),
    }, index=identification.table.index)
    table = table.loc[has_land]
    denominator_mask = shrinking & has_land
    denominator = int(denominator_mask.sum())
    grew = int((denominator_mask & (np.nan_to_num(land_change, nan=0.0) > 0)).sum())
    without = tuple(str(u) for u in identification.table.index[shrinking & ~has_land])
    share = round(grew / denominator, 4) if denominator else None
    state_counts_shrinking = {str(k): int(v) for k, v in pd.Series(states[shrinking & has_both]).value_counts().items()
                              if k}
    state_counts_all = {str(k): int(v) for k, v in pd.Series(states[has_both]).value_counts().items() if k}
    if denominator:
        said = message("analysis.paradox.share", lang, grew=grew, denominator=denominator, share=share, start=start,
                       end=end)
    elif shrinking.any():
        said = message("analysis.paradox.none_with_data", lang, n=int(shrinking.sum()), start=start, end=end)
    else:
        said = message("analysis.paradox.none_shrinking", lang, n=int(has_both.sum()), start=start, end=end)
    if without:
        said += message("analysis.paradox.without", lang, n=len(without))
    return ParadoxResult(
        available=denominator > 0, message=said + message("analysis.paradox.end", lang), dataset=dataset, builtup_present=True, start_year=start, end_year=end,
        population_indicator=indicator, n_shrinking=int(shrinking.sum()), denominator=denominator, n_grew=grew,
        share=share, n_shrinking_without_builtup=len(without), shrinking_without_builtup=without,
        state_counts_shrinking=state_counts_shrinking, state_counts_all=state_counts_all, table=table,
    )

"""What changed between two recorded runs: the units that entered the shrinking set, left it, or
changed severity, counted by parent and by region (``shrinkwatch monitor diff``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message
from shrinkwatch.identification.indicators import SEVERITY_BANDS
from shrinkwatch.report.outputs import jsonable
from shrinkwatch.store.records import RunRecord

__all__ = ["CHANGES", "RunDiff", "diff_runs"]

#: The kinds of change, in the order they are shown.
CHANGES = ("entered", "left", "more_severe", "less_severe")
#: Severity bands from mildest to most severe (the ESPON bands of ``identification.indicators``).
SEVERITY_ORDER = tuple(name for name, _, _ in SEVERITY_BANDS)
@dataclass(frozen=True)
class RunDiff:
    """Run ``b`` against run ``a``: one row per unit (in both) that changed, indexed by ``unit_id``.

    ``changes`` has ``change`` (one of :data:`CHANGES`: ``entered`` shrinking in b and not in a,
    ``left`` the reverse, ``more_severe``/``less_severe`` shrinking in both with another severity
    band), the unit's ``name``, ``parent_id``, ``parent_name``, ``region`` (as in b) and its
    ``status``, ``severity`` and ``annual_rate`` in each run (``_a``, ``_b``). A unit that left shows
    where it went (``not_shrinking``, or ``insufficient_data``: no longer judged, not recovered).
    """

    run_a: str
    run_b: str
    period_a: str
    period_b: str
    changes: pd.DataFrame
    common: int
    only_a: int
    only_b: int
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """How many units made each change, and how many units both runs judged."""
        found = self.changes["change"].value_counts()
        return {"compared": self.common, **{change: int(found.get(change, 0)) for change in CHANGES}}

    def by(self, column: str) -> pd.DataFrame:
        """Counts of each change per value of ``column`` (``parent_name``, ``region``...), with ``net``
        (entered minus left), the groups with the most changes first."""
        if column not in self.changes.columns:
            raise OptionError(f"cannot group a run diff by {column!r}; use parent_name, parent_id or region")
        groups = self.changes[column].astype("string").fillna("(none)")
        table = pd.crosstab(groups, self.changes["change"]).reindex(columns=list(CHANGES), fill_value=0)
        table.columns.name = None
        table.index.name = column
        table["net"] = table["entered"] - table["left"]
        order = table[list(CHANGES)].sum(axis=1).sort_values(ascending=False, kind="stable").index
        return table.loc[order].astype("int64")

    def as_dict(self) -> dict[str, Any]:
        return jsonable({
            "run_a": self.run_a, "run_b": self.run_b, "period_a": self.period_a, "period_b": self.period_b,
            "counts": {**self.counts(), "only_a": self.only_a, "only_b": self.only_b},
            "notes": list(self.notes),
            "by_parent": self.by("parent_name").reset_index().to_dict(orient="records"),
            "by_region": self.by("region").reset_index().to_dict(orient="records"),
            "units": self.changes.reset_index().to_dict(orient="records"),
        })


def diff_runs(a: RunRecord, b: RunRecord, *, flagged: str = "shrinking", lang: str = "en") -> RunDiff:
    """Compare run ``b`` with run ``a`` unit by unit (at each run's last period); ``flagged`` is the
    status whose set units enter and leave; the notes are in ``lang`` (``store.diff.*`` in the catalogues)."""
    if not len(a.units) or not len(b.units):
        empty = a.run_id if not len(a.units) else b.run_id
        raise DataError(f"run {empty} has no units to compare")
    period_a, period_b = a.periods[-1], b.periods[-1]
    left_table, right_table = a.unit_table(period_a), b.unit_table(period_b)
    kept = ["status", "severity", "annual_rate"]
    joined = left_table[kept].join(right_table[["name", "parent_id", "parent_name", "region", *kept]],
                                   how="inner", suffixes=("_a", "_b"))
    in_a = joined["status_a"].eq(flagged).fillna(False).to_numpy(dtype=bool)
    in_b = joined["status_b"].eq(flagged).fillna(False).to_numpy(dtype=bool)
    rank = {name: i for i, name in enumerate(SEVERITY_ORDER)}
    rank_a = joined["severity_a"].map(rank).to_numpy(dtype=float, na_value=np.nan)
    rank_b = joined["severity_b"].map(rank).to_numpy(dtype=float, na_value=np.nan)
    both = in_a & in_b
    change = np.select([in_b & ~in_a, in_a & ~in_b, both & (rank_b > rank_a), both & (rank_b < rank_a)],
                       list(CHANGES), default="")
    made = change != ""
    changed = joined[made].copy()
    changed.insert(0, "change", change[made])
    changed = changed[["change", "name", "parent_id", "parent_name", "region", "status_a", "status_b",
                       "severity_a", "severity_b", "annual_rate_a", "annual_rate_b"]]
    changed["change"] = pd.Categorical(changed["change"], categories=list(CHANGES))
    changed = changed.sort_values(["change", "parent_name", "unit_id"], kind="stable")
    changed["change"] = changed["change"].astype(str)
    only_a = int((~left_table.index.isin(right_table.index)).sum())
    only_b = int((~right_table.index.isin(left_table.index)).sum())
    notes = []
    if a.dataset_fingerprint != b.dataset_fingerprint:
        notes.append(message("store.diff.other_data", lang, a=a.dataset_id, fa=a.dataset_fingerprint[:12], b=b.dataset_id,
                                               fb=b.dataset_fingerprint[:12]))
    if (a.standard_id, a.parameters) != (b.standard_id, b.parameters):
        notes.append(message("store.diff.other_standard", lang, a=_standard(a), b=_standard(b)))
    if a.software_version != b.software_version:
        notes.append(message("store.diff.other_software", lang, a=a.software_version, b=b.software_version))
    if only_a or only_b:
        notes.append(message("store.diff.only", lang, only_a=only_a, only_b=only_b, a=a.run_id, b=b.run_id))
    if period_a or period_b:
        notes.append(message("store.diff.period", lang, a=period_a or "-", b=period_b or "-"))
    return RunDiff(a.run_id, b.run_id, period_a, period_b, changed, common=len(joined), only_a=only_a,
                   only_b=only_b, notes=tuple(notes))


def _standard(record: RunRecord) -> str:
    settings = ", ".join(f"{key}={value}" for key, value in record.parameters.items())
    return f"{record.standard_id} ({settings})"

"""Where shrinkage concentrates: counts and shares of shrinking units by parent and by region."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from shrinkwatch.core import Identification

__all__ = ["DistributionResult", "distribution"]


@dataclass(frozen=True)
class DistributionResult:
    """Counts and shares of shrinking units by grouping column.

    ``tables`` maps each grouping column (``parent_name``, ``region``...) to
    :meth:`Identification.counts_by` output: ``units``, ``with_data``,
    ``shrinking``, ``not_shrinking``, ``insufficient_data`` and
    ``share_shrinking`` = shrinking / with_data (the denominator excludes units
    with insufficient data, which are counted). ``totals`` is
    :meth:`Identification.counts`; ``labels`` names each grouping in words.
    """

    tables: dict[str, pd.DataFrame] = field(repr=False)
    totals: dict[str, int]
    labels: dict[str, str]

    @property
    def by_parent(self) -> pd.DataFrame:
        return self.tables["parent_name"]

    @property
    def by_region(self) -> pd.DataFrame:
        return self.tables["region"]

    def as_dict(self, groupings: Sequence[str] | None = None) -> dict[str, Any]:
        """``totals`` and ``by_<column>`` rows (JSON-ready), for the ``groupings`` given (default: every table)."""
        out: dict[str, Any] = {"totals": dict(self.totals)}
        for column, table in self.tables.items():
            if groupings is not None and column not in groupings:
                continue
            out[f"by_{column}"] = [
                {column: str(index), **{c: (None if pd.isna(v) else (float(v) if c == "share_shrinking" else int(v)))
                                        for c, v in row.items()}}
                for index, row in table.iterrows()
            ]
        return out


def distribution(identification: Identification, by: Sequence[str] = ("parent_name", "region")) -> DistributionResult:
    """Counts and shares of shrinking units by parent (province, state, country) and by region.

    Parameters
    ----------
    identification
        The verdicts.
    by
        Grouping columns of ``identification.table``.

    Returns
    -------
    DistributionResult
        One table per column, largest number of shrinking units first.

    Examples
    --------
    >>> import pandas as pd
    >>> from shrinkwatch.core import Identification
    >>> table = pd.DataFrame({"parent_name": ["P", "P", "Q"], "region": ["R", "R", "R"],
    ...                       "status": ["shrinking", "insufficient_data", "not_shrinking"]},
    ...                      index=pd.Index(["a", "b", "c"], name="unit_id"))
    >>> result = distribution(Identification(table, "toy", {}, {}))
    >>> row = result.by_parent.loc["P"]
    >>> int(row["units"]), int(row["with_data"]), int(row["shrinking"]), float(row["share_shrinking"])
    (2, 1, 1, 1.0)
    """
    if isinstance(by, str):
        by = (by,)
    tables = {column: identification.counts_by(column) for column in by}
    meta = identification.panel_meta
    parent_label = str(meta.parent_label or ("province" if meta.country == "China" else "parent"))
    labels = {column: (parent_label if column == "parent_name" else column.replace("_", " ")) for column in by}
    return DistributionResult(tables=tables, totals=identification.counts(), labels=labels)

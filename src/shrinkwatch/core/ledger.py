"""Row rejections for adapters: every input row ends up accepted or rejected with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RowRejections"]


class RowRejections:
    """Rejects rows of ``table`` by masks, keeping the first reason that applies to each row.

    Examples
    --------
    >>> table = pd.DataFrame({"code": ["1", "x", "1"]})
    >>> rows = RowRejections("f.csv", table, row_numbers=np.array([2, 3, 4]))
    >>> rows.take(~table["code"].str.isdigit(), "code", "not a number")
    >>> rows.take(table["code"].duplicated(), "code", "duplicate")
    >>> rows.remaining.tolist(), [r["row"] for r in rows.rejected]
    ([True, False, False], [3, 4])
    """

    def __init__(self, path: str | Path, table: pd.DataFrame, row_numbers: np.ndarray) -> None:
        self.path = str(path)
        self.table = table
        self.row_numbers = np.asarray(row_numbers)
        self.remaining = np.ones(len(table), dtype=bool)
        self.rejected: list[dict[str, Any]] = []

    def take(self, mask: pd.Series | np.ndarray, column: str, reason: str) -> None:
        """Reject the rows in ``mask`` not rejected before, naming ``column`` and ``reason``."""
        hit = np.asarray(mask, dtype=bool) & self.remaining
        self.rejected.extend(
            {"file": self.path, "row": int(r), "column": column, "value": str(v), "reason": reason}
            for r, v in zip(self.row_numbers[hit], self.table.loc[hit, column])
        )
        self.remaining &= ~hit

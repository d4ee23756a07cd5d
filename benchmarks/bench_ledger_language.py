"""Benchmark: a ledger's rejection reasons said in Chinese, against the English the ledger stores.

The ledger keeps each reason as the catalogue's English (the language-neutral form); the report, the workbook,
``summary.json`` and the console say it in ``--lang`` at display time. Generates a ledger of N rejected rows
(default 100,000) whose reasons are mostly distinct (implausible values and conflicting duplicates name the
value and the rows; a third are fixed reasons) and times, in the same run:

- ``rejected_by_reason("en")`` (no translation: the floor),
- ``rejected_by_reason("zh")`` and ``rejected_in("zh")`` (:func:`~shrinkwatch.core.messages.translate_all`: each
  distinct reason once),
- the distinct reasons through :func:`~shrinkwatch.core.messages.translate` alone (what the translation itself
  costs).

Reported: medians and their ratios. Run: ``python benchmarks/bench_ledger_language.py [--rows N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.messages import message, translate


def _ledger(rows: int) -> Ledger:
    why = message("ingest.why.persons", "en")
    reasons = []
    for i in range(rows):
        kind = i % 3
        if kind == 0:
            reasons.append(message("ingest.reason.implausible_above", "en", indicator="pop_resident",
                                   value=f"{1e8 + i:,.0f}", limit="100,000,000", why=why))
        elif kind == 1:
            reasons.append(message("ingest.reason.duplicate", "en", unit=f"{110000 + i}", year="2010",
                                   indicator="pop_resident", rows=f"f.csv:{i}=1, f.csv:{i + 1}=2"))
        else:
            reasons.append(message("ingest.reason.not_number", "en"))
    return Ledger.from_rejections(rows, [{"file": "f.csv", "row": i + 2, "column": "c", "value": "x", "reason": r}
                                         for i, r in enumerate(reasons)])


def _median(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ledger = _ledger(args.rows)
    reasons = ledger.rejected["reason"].tolist()
    print(f"{args.rows:,} rejected rows, {len(set(reasons)):,} distinct reasons; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    floor = _median(lambda: ledger.rejected_by_reason("en"), args.repeat)
    cases = {
        "rejected_by_reason('en') (floor)": floor,
        "rejected_by_reason('zh')": _median(lambda: ledger.rejected_by_reason("zh"), args.repeat),
        "rejected_in('zh')": _median(lambda: ledger.rejected_in("zh"), args.repeat),
        "translate() per distinct reason": _median(
            lambda: [translate(r, "ingest.reason", "zh") for r in dict.fromkeys(reasons)], args.repeat),
    }
    for name, seconds in cases.items():
        print(f"{name:36s} {seconds:7.3f} s  {seconds / floor:6.1f}x floor")


if __name__ == "__main__":
    main()

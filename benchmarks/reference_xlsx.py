"""The rows of ``results.xlsx`` as written before issue 15's bulk sheet XML, kept as the baseline of
``bench_outputs.py`` and of the test that the workbook is unchanged (``tests/test_outputs.py``).

Every cell went through xlsxwriter's typed writer of its column (``write_number``, ``write_string``,
``write_boolean``, ``write``), row after row in constant_memory mode: about ten Python calls per cell.
Do not use it for anything else.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shrinkwatch.report.xlsx import _cells


def write_rows_cell_by_cell(worksheet: Any, frame: pd.DataFrame, rows: int, header_format: Any) -> None:
    """``shrinkwatch.report.xlsx._write_rows`` as it was: header and the first ``rows`` rows, cell by cell."""
    for position, column in enumerate(frame.columns):
        worksheet.write_string(0, position, str(column), header_format)
    writers = {"number": worksheet.write_number, "boolean": worksheet.write_boolean,
               "text": worksheet.write_string, "any": worksheet.write}
    columns = [(position, writers[kind], cells) for position, (kind, cells) in
               enumerate(_cells(frame.iloc[:rows, k]) for k in range(frame.shape[1]))]
    for row in range(rows):
        for position, write, cells in columns:
            value = cells[row]
            if value is not None:
                write(row + 1, position, value)

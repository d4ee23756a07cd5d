"""Benchmark: writing a run's results at scale, Arrow and the xlsx fast path against the writers before issue 15.

    python benchmarks/bench_outputs.py [UNITS ...]        # default 100000; 1000000 under flock /tmp/bigmem.lock

On the generated panel of ``scale_panels.py`` (``UNITS`` x 30 years), identifies with ``census-decline``
and times, in the same process and run, side by side on the same identification table:

- ``results.csv``: before, ``inert_cells(table).to_csv(lineterminator="\\r\\n")`` (pandas); now
  :func:`shrinkwatch.report.outputs.write_csv` (Arrow), and ``results.parquet`` (:func:`write_parquet`);
- ``results.xlsx``: before, the ``results`` sheet alone through ``DataFrame.to_excel`` (pandas' xlsxwriter
  engine, cell by cell; the whole workbook took longer); now the whole workbook by
  :func:`shrinkwatch.report.xlsx.write_xlsx` (typed rows, constant_memory) with every row
  (``row_limit`` = the units) and with the default limit (:data:`XLSX_ROW_LIMIT`);
- ``results.xlsx`` rows: the capped workbook with its rows as bulk sheet XML (now) against the same workbook
  with every cell through xlsxwriter's typed writers (``reference_xlsx.py``, before), and whether the two
  workbooks are the same bytes (the timestamp aside).

Prints the time of ``identify`` too: the issue measured ``to_csv`` at 48 % of identify at 1M units.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from reference_xlsx import write_rows_cell_by_cell  # noqa: E402
from scale_panels import scale_panel_file  # noqa: E402

from shrinkwatch.core.panelfile import read_panel  # noqa: E402
from shrinkwatch.identification import identify  # noqa: E402
from shrinkwatch.report import xlsx  # noqa: E402
from shrinkwatch.report.outputs import inert_cells, write_csv, write_parquet  # noqa: E402
from shrinkwatch.report.xlsx import XLSX_ROW_LIMIT, _prepare, write_xlsx  # noqa: E402


def timed(action) -> float:  # noqa: ANN001
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("units", type=int, nargs="*", default=[100_000])
    parser.add_argument("--skip-old-xlsx", action="store_true", help="leave out the cell-by-cell baseline (slow)")
    args = parser.parse_args()
    for units in args.units:
        panel = read_panel(scale_panel_file(units))
        start = time.perf_counter()
        result = identify(panel, "census-decline")
        seconds_identify = time.perf_counter() - start
        table = result.table.drop(columns=["geometry"], errors="ignore")
        folder = Path(tempfile.mkdtemp(prefix="bench-outputs-"))
        old_csv = timed(lambda: inert_cells(table).to_csv(folder / "old.csv", lineterminator="\r\n"))
        new_csv = timed(lambda: write_csv(table, folder / "results.csv"))
        parquet = timed(lambda: write_parquet(table, folder / "results.parquet"))
        print(f"{units:,} units: identify {seconds_identify:.2f} s")
        print(f"  results.csv   pandas to_csv {old_csv:7.2f} s | Arrow write_csv {new_csv:6.2f} s "
              f"({old_csv / new_csv:.1f}x faster; {new_csv / seconds_identify:.0%} of identify, was "
              f"{old_csv / seconds_identify:.0%}) | results.parquet {parquet:.2f} s")
        whole = timed(lambda: write_xlsx(result, folder / "whole" / "results.xlsx", row_limit=units))
        capped = timed(lambda: write_xlsx(result, folder / "capped" / "results.xlsx"))
        line = (f"  results.xlsx  fast path, every row {whole:6.2f} s | capped at {XLSX_ROW_LIMIT:,} rows "
                f"{capped:6.2f} s")
        if not args.skip_old_xlsx:
            sheet = _prepare("results", result.table, True, result.panel_meta.units_of,
                             frozenset(result.parameters)).frame

            def old_xlsx() -> None:
                with pd.ExcelWriter(folder / "old.xlsx", engine="xlsxwriter",
                                    engine_kwargs={"options": {"strings_to_formulas": False,
                                                               "strings_to_urls": False}}) as writer:
                    sheet.to_excel(writer, sheet_name="results", index=False)

            old = timed(old_xlsx)
            line += (f" | before: the results sheet alone via to_excel {old:6.2f} s "
                     f"({old / whole:.1f}x the whole fast workbook, {old / capped:.1f}x the capped one)")
        print(line)
        bulk = timed(lambda: write_xlsx(result, folder / "bulk" / "results.xlsx"))
        rows_writer = xlsx._write_rows
        xlsx._write_rows = write_rows_cell_by_cell
        try:
            cellwise = timed(lambda: write_xlsx(result, folder / "cellwise" / "results.xlsx"))
        finally:
            xlsx._write_rows = rows_writer
        with zipfile.ZipFile(folder / "bulk" / "results.xlsx") as a, \
                zipfile.ZipFile(folder / "cellwise" / "results.xlsx") as b:
            same = all(a.read(n) == b.read(n) for n in a.namelist() if n != "docProps/core.xml")
        print(f"  results.xlsx  capped workbook: bulk sheet XML {bulk:6.2f} s | cell by cell (before) {cellwise:6.2f} s "
              f"({cellwise / bulk:.1f}x faster; same bytes: {same}) | load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: ``shrinkwatch.ingest`` against plain ``pandas.read_excel`` of the same workbook.

Generates a yearbook-style workbook in a temporary directory: 300 units x 20 years
x 30 indicator columns, one sheet per year (sheet names ``2001年`` ... ``2020年``),
a title row above a Chinese header row with units in brackets (``年末户籍人口(万人)``,
``地区生产总值(亿元)``, ``建成区面积(公顷)``...), mostly numeric cells with some
yearbook text cells (``—``, ``…``, ``1,234.5``, full-width digits). 19 of the 30
columns are canonical indicators (parsed, converted, validated); the other 11 are
yearbook columns outside the canonical set (recorded as ignored in the ledger).

Times, in the same run, ``pandas.read_excel(path, sheet_name=None)`` (plain
reading) and ``ingest(path)`` (reading, cleaning, conversion, validation, ledger).
Goal: ingest <= 2x plain reading.

Run: ``python benchmarks/bench_ingest.py [--repeat N] [--vintage YEAR]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import openpyxl
import pandas as pd

from shrinkwatch.harmonize import to_vintage
from shrinkwatch.ingest import ingest

T = TypeVar("T")
N_UNITS = 300
YEARS = list(range(2001, 2021))

# 19 canonical indicators (Chinese yearbook headers, units in brackets) and typical magnitudes
CANONICAL_HEADERS = [
    ("年末户籍人口(万人)", 300.0), ("常住人口(万人)", 320.0), ("城镇人口(万人)", 180.0), ("城区人口(万人)", 120.0),
    ("地区生产总值(亿元)", 2500.0), ("地区生产总值增长率(%)", 7.0), ("建成区面积(公顷)", 15000.0),
    ("城市建设用地面积(平方公里)", 140.0), ("年末单位从业人员数(万人)", 40.0), ("在岗职工平均工资(元)", 60000.0),
    ("地方一般公共预算收入(万元)", 2_000_000.0), ("出生率(‰)", 10.0), ("65岁及以上人口比重(%)", 12.0),
    ("0-14岁人口比重(%)", 16.0), ("商品房平均销售价格(元/平方米)", 8000.0), ("夜间灯光", 50000.0),
    ("出生人口(人)", 30000.0), ("死亡人口(人)", 25000.0), ("净迁入人口(人)", 1000.0),
]
OTHER_HEADERS = [
    ("第一产业增加值(亿元)", 200.0), ("第二产业增加值(亿元)", 1000.0), ("第三产业增加值(亿元)", 1200.0),
    ("社会消费品零售总额(亿元)", 900.0), ("固定资产投资(亿元)", 1500.0), ("实际利用外资(万美元)", 50000.0),
    ("普通高等学校数(所)", 8.0), ("医院床位数(张)", 15000.0), ("执业医师数(人)", 9000.0),
    ("公共图书馆藏书(千册)", 2000.0), ("人均道路面积(平方米)", 14.0),
]
HEADERS = CANONICAL_HEADERS + OTHER_HEADERS


def make_workbook(path: Path, seed: int = 0) -> Path:
    """Write the benchmark workbook (openpyxl write-only mode) and return its path."""
    rng = np.random.default_rng(seed)
    codes = [f"{11 + i // 12:02d}{1 + i % 12:02d}00" for i in range(N_UNITS)]
    names = [f"城市{i:03d}市" for i in range(N_UNITS)]
    provinces = [f"省份{i // 12:02d}" for i in range(N_UNITS)]
    book = openpyxl.Workbook(write_only=True)
    for year_index, year in enumerate(YEARS):
        sheet = book.create_sheet(f"{year}年")
        sheet.append([f"表 {year}年 城市主要统计指标"])
        sheet.append(["城市代码", "城市", "省份"] + [header for header, _ in HEADERS])
        scale = np.array([m for _, m in HEADERS])
        values = scale * rng.lognormal(0.0, 0.3, size=(N_UNITS, len(HEADERS))) * (1 + 0.01 * year_index)
        values = np.round(values, 2)
        net = [h for h, _ in HEADERS].index("净迁入人口(人)")
        values[:, net] -= 1000.0  # net migration can be negative
        cells = values.astype(object)
        marks = rng.random(values.shape)
        cells[marks < 0.02] = "—"
        cells[(marks >= 0.02) & (marks < 0.03)] = "…"
        cells[(marks >= 0.03) & (marks < 0.035)] = None
        grouped = (marks >= 0.035) & (marks < 0.05)
        cells[grouped] = [f"{v:,.2f}" for v in values[grouped]]
        full_width = (marks >= 0.05) & (marks < 0.055)
        cells[full_width] = [str(v).translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
                             for v in values[full_width]]
        for i in range(N_UNITS):
            sheet.append([codes[i], names[i], provinces[i], *cells[i].tolist()])
    book.save(path)
    return path


def _timed(function: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs of each, interleaved (medians reported).")
    parser.add_argument("--vintage", type=int, default=None, help="Also time ingest + harmonise to this vintage.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_workbook(Path(folder) / "yearbook.xlsx")
        size_mb = path.stat().st_size / 1e6
        print(f"workbook: {N_UNITS} units x {len(YEARS)} years (one sheet each) x {len(HEADERS)} indicator columns "
              f"({len(CANONICAL_HEADERS)} canonical), {size_mb:.1f} MB")
        # interleaved runs, so that load from other processes hits both alike
        plain_times, ingest_times = [], []
        for _ in range(args.repeat):
            seconds, frames = _timed(lambda: pd.read_excel(path, sheet_name=None))
            plain_times.append(seconds)
            seconds, result = _timed(lambda: ingest(path))
            ingest_times.append(seconds)
        plain, ingested = statistics.median(plain_times), statistics.median(ingest_times)
        ratio = statistics.median(i / p for i, p in zip(ingest_times, plain_times))
        cells = sum(frame.size for frame in frames.values())
        ledger, panel = result.ledger, result.panel
        print(f"pandas.read_excel(sheet_name=None): {plain:6.2f} s  ({cells:,} cells; median of {args.repeat})")
        print(f"shrinkwatch ingest():               {ingested:6.2f} s  "
              f"({len(panel.units)} units, {len(panel.years)} years, {len(panel.indicators)} indicators; "
              f"rows read {ledger.rows_read}, accepted {ledger.rows_accepted}, rejected {ledger.rows_rejected}; "
              f"missing cells {int(ledger.missing['cells'].sum())})")
        print(f"ratio ingest / read_excel: {ratio:.2f}x (median of paired runs; goal <= 2x)")
        if args.vintage is not None:
            harmonised, _ = _timed(lambda: to_vintage(ingest(path).panel, args.vintage))
            print(f"to_vintage(ingest(), {args.vintage}):        {harmonised:6.2f} s (one run); "
                  f"ratio {harmonised / plain:.2f}x")


if __name__ == "__main__":
    main()

"""Benchmark: the per-pixel trend kernel (``shrinkwatch.grid.trend``) against two baselines, and out of core.

    PYTHONPATH=src python benchmarks/bench_grid.py [--pixels 1000000] [--years 30] [--sample 3000]
                                                   [--out-of-core] [--stack-gb 8] [--worker-memory 2GB]
                                                   [--workdir /tmp/shrinkwatch-bench-grid]

In memory, one generated stack (seeded random walks with a trend, ``--years`` x ``--pixels``,
float64; 5 % of values missing, 2 % of pixels all missing, 10 % rounded so that values tie,
1 % constant), the same inputs for every contender:

- the kernel, ``pixel_trends`` over all threads and ``parallel=False`` on one (best of 3 runs
  each); its compile (or load from Numba's on-disk cache, ``cache=True``: a compile happens once
  per machine) is timed apart on a small slice first and excluded from every timing;
- a plain NumPy-vectorised Mann-Kendall / Theil-Sen (``reference_grid.numpy_trends``) on all
  pixels; every output asserted equal to the kernel's (slope, p, z, tau, S, var S, n valid);
- ``pymannkendall.original_test`` looped over ``--sample`` evenly spaced pixels in 3 batches
  (their spread printed), timed and scaled to all pixels; its s, var_s, z, p, Tau and slope
  asserted equal to the kernel's on the sample;
- goals: >= 1000x pymannkendall and >= 10x NumPy (wall time), and pixel pairs compared per
  second per core (each valid pair of years of a pixel is one comparison: its sign for S and
  its slope for Theil-Sen).

Wall times on this shared machine move with other load (the load average is printed before and
after): the same ratios are printed per core as well, from the kernel on one thread and from
CPU times (``time.process_time``, all threads of the process).

Out of core (``--out-of-core``): a float32 stack ``(years, y, x)`` of about ``--stack-gb`` GB is
written uncompressed to a Zarr store under ``--workdir`` (outside the repository), then the
kernel runs on it through ``dask.array.map_blocks(trend_block, ...)`` on a
``distributed.LocalCluster`` of one worker process with two threads and ``--worker-memory``,
writing the result layers to another Zarr store. Peak memory is the largest summed RSS of the
process tree (this process and the worker), sampled every 0.2 s with psutil. A sample of
chunks is recomputed in process and asserted equal. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_grid import numpy_trends  # noqa: E402

from shrinkwatch.grid import BLOCK_FIELDS, pixel_trends, trend_block  # noqa: E402

FIELDS = ("slope", "p", "z", "tau", "s", "var_s", "n_valid")
MIN_VALID = 8


def generated_stack(n_pixels: int, n_years: int, seed: int = 20250614) -> np.ndarray:
    """years x pixels: random walks with a per-pixel trend; gaps, empty pixels, ties, constants."""
    rng = np.random.default_rng(seed)
    trend = rng.normal(0.0, 0.3, size=n_pixels)
    values = np.cumsum(rng.normal(0.0, 1.0, size=(n_years, n_pixels)), axis=0)
    values += trend * np.arange(n_years)[:, None]
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:, rng.random(n_pixels) < 0.02] = np.nan
    rounded = rng.random(n_pixels) < 0.10
    values[:, rounded] = np.round(values[:, rounded])
    constant = rng.random(n_pixels) < 0.01
    values[:, constant] = np.where(np.isnan(values[:, constant]), np.nan, 5.0)
    return values


def timed(function: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def assert_same(kernel: dict[str, np.ndarray], other: dict[str, np.ndarray], label: str) -> None:
    for name in other:
        np.testing.assert_allclose(kernel[name], other[name], rtol=1e-9, atol=1e-12, equal_nan=True,
                                   err_msg=f"{label}: {name} differs from the kernel")


def in_memory(n_pixels: int, n_years: int, sample: int) -> None:
    import numba  # deferred: only to report the thread count
    import pymannkendall

    from shrinkwatch.grid import trend

    years = np.arange(1991, 1991 + n_years)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    start = time.perf_counter()
    values = generated_stack(n_pixels, n_years)
    print(f"generated {n_years} years x {n_pixels:,} pixels ({values.nbytes / 2**20:.0f} MiB) "
          f"in {time.perf_counter() - start:.1f} s")
    # compile for this dtype and layout, or load it from the on-disk cache; excluded from the timings below
    compile_wall, _, _ = timed(lambda: (pixel_trends(values[:, :64].copy(), years, min_valid=MIN_VALID),
                                        pixel_trends(values[:, :64].copy(), years, min_valid=MIN_VALID,
                                                     parallel=False)))
    stats = [getattr(getattr(trend, name), "stats", None) for name in ("_trend_parallel", "_trend_serial")]
    hits = sum(len(getattr(stat, "cache_hits", {})) for stat in stats)
    misses = sum(len(getattr(stat, "cache_misses", {})) for stat in stats)
    print(f"kernel compile/load {compile_wall:.1f} s (excluded; Numba cache: {hits} loaded, {misses} compiled); "
          f"numba threads {numba.get_num_threads()} ({numba.threading_layer()})")

    runs = [timed(lambda: pixel_trends(values, years, min_valid=MIN_VALID)) for _ in range(3)]
    kernel_wall, kernel_cpu, result = min(runs, key=lambda run: run[0])
    serial_runs = [timed(lambda: pixel_trends(values, years, min_valid=MIN_VALID, parallel=False)) for _ in range(3)]
    serial_wall, serial_cpu, _ = min(serial_runs, key=lambda run: run[0])
    kernel = {name: getattr(result, name) for name in FIELDS}
    n_valid = result.n_valid.astype(np.int64)
    pairs = int((n_valid * (n_valid - 1) // 2).sum())
    threads = numba.get_num_threads()
    print(f"status: assessed {int((result.status == 0).sum()):,}, insufficient {int(result.insufficient.sum()):,}, "
          f"no variation {int((result.status == 2).sum()):,}; {pairs:,} valid pairs")
    print(f"kernel, {threads} threads   {kernel_wall:8.3f} s wall  {kernel_cpu:8.3f} s CPU  "
          f"{pairs / kernel_wall / threads / 1e6:8.1f} M pairs/s/core (wall / threads)")
    print(f"kernel, 1 thread    {serial_wall:8.3f} s wall  {serial_cpu:8.3f} s CPU  "
          f"{pairs / serial_wall / 1e6:8.1f} M pairs/s on one core")

    numpy_wall, numpy_cpu, reference = timed(lambda: numpy_trends(values, years, min_valid=MIN_VALID))
    assert_same(kernel, reference, "NumPy")
    print(f"NumPy vectorised    {numpy_wall:8.3f} s wall  {numpy_cpu:8.3f} s CPU  (all outputs equal)")

    assessed = np.flatnonzero(result.status != 1)
    chosen = assessed[np.linspace(0, assessed.size - 1, min(sample, assessed.size)).astype(int)]
    columns = [values[:, pixel] for pixel in chosen]
    batches = [timed(lambda part=part: [pymannkendall.original_test(column) for column in part])
               for part in np.array_split(np.arange(len(columns)), 3) if len(part)
               for part in [[columns[i] for i in part]]]
    mk_results = [answer for batch in batches for answer in batch[2]]
    for pixel, answer in zip(chosen, mk_results):
        for name, theirs in (("s", answer.s), ("var_s", answer.var_s), ("z", answer.z), ("p", answer.p),
                             ("tau", answer.Tau), ("slope", answer.slope)):
            ours = kernel[name][pixel]
            assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12), (pixel, name, ours, theirs)
    mk_wall, mk_cpu = sum(batch[0] for batch in batches), sum(batch[1] for batch in batches)
    per_batch = [batch[0] / len(batch[2]) * 1e6 for batch in batches]
    mk_scaled, mk_cpu_scaled = mk_wall / len(columns) * n_pixels, mk_cpu / len(columns) * n_pixels
    print(f"pymannkendall loop  {mk_scaled:8.1f} s wall  {mk_cpu_scaled:8.1f} s CPU, scaled from {len(columns):,} "
          f"pixels ({mk_wall:.2f} s, {mk_wall / len(columns) * 1e6:.0f} us per pixel, batches "
          f"{' / '.join(f'{v:.0f}' for v in per_batch)} us; sample equal)")

    print(f"\ngoals (same inputs, same answers): wall time of the kernel on all {threads} threads; per core: "
          f"the kernel on 1 thread, and CPU time")
    for label, ratio, serial, per_core, goal in (
            ("vs pymannkendall", mk_scaled / kernel_wall, mk_scaled / serial_wall, mk_cpu_scaled / kernel_cpu, 1000),
            ("vs NumPy", numpy_wall / kernel_wall, numpy_wall / serial_wall, numpy_cpu / kernel_cpu, 10)):
        print(f"  {label:<18} {ratio:8.1f}x wall ({'met' if ratio >= goal else 'NOT met'}: goal >= {goal}x; "
              f"{ratio / threads:.1f}x per thread)   per core: {serial:8.1f}x wall on 1 thread, {per_core:8.1f}x CPU time")
    print(f"  pixel pairs per second per core: {pairs / kernel_cpu / 1e6:.1f} M per CPU second; "
          f"{pairs / serial_wall / 1e6:.1f} M wall on one thread, {pairs / kernel_wall / threads / 1e6:.1f} M wall "
          f"per thread on {threads}")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


class PeakMemory:
    """Largest summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil  # deferred: benchmark-only dependency

        self._process = psutil.Process()
        self._interval = interval
        self.peak = 0
        self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil  # deferred: benchmark-only dependency

        own = self._process.memory_info().rss
        children = 0
        for child in self._process.children(recursive=True):
            try:
                children += child.memory_info().rss
            except psutil.Error:
                continue
        self.peak = max(self.peak, own + children)
        self.peak_children = max(self.peak_children, children)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def out_of_core(stack_gb: float, n_years: int, worker_memory: str, workdir: Path) -> None:
    import dask.array as da  # deferred: benchmark-only dependencies
    from dask.distributed import Client, LocalCluster

    side = int(math.sqrt(stack_gb * 1e9 / 4 / n_years) // 1000 * 1000)
    chunk = 1000
    shape = (n_years, side, side)
    years = np.arange(1991, 1991 + n_years)
    nbytes = n_years * side * side * 4
    workdir.mkdir(parents=True, exist_ok=True)
    stack_path, result_path = workdir / "stack.zarr", workdir / "trend.zarr"
    for path in (stack_path, result_path):
        shutil.rmtree(path, ignore_errors=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    # the workers load the compiled kernel from the on-disk cache this call fills
    trend_block(np.zeros((n_years, 2, 2), dtype=np.float32), years, min_valid=MIN_VALID)

    def block_of_stack(block_info: dict | None = None) -> np.ndarray:
        location = block_info[None]["array-location"]  # type: ignore[index]
        (y0, y1), (x0, x1) = location[1], location[2]
        rng = np.random.default_rng([y0, x0])
        values = np.cumsum(rng.normal(0.0, 1.0, size=(n_years, y1 - y0, x1 - x0)), axis=0)
        values += rng.normal(0.0, 0.3, size=(y1 - y0, x1 - x0)) * np.arange(n_years)[:, None, None]
        values[rng.random(values.shape) < 0.05] = np.nan
        return values.astype(np.float32)

    with LocalCluster(n_workers=1, threads_per_worker=2, memory_limit=worker_memory, processes=True,
                      dashboard_address=None) as cluster, Client(cluster), PeakMemory() as memory:
        print(f"\nout of core: stack {shape} float32 = {nbytes / 1e9:.2f} GB uncompressed on disk "
              f"({stack_path}); Dask: 1 worker process x 2 threads, memory_limit {worker_memory} (all Dask has)")
        chunks = ((n_years,), (chunk,) * (side // chunk), (chunk,) * (side // chunk))
        generated = da.map_blocks(block_of_stack, chunks=chunks, dtype=np.float32, meta=np.array((), np.float32))
        write_wall, _, _ = timed(lambda: generated.to_zarr(str(stack_path), compressors=None))
        print(f"  generated and written in {write_wall:.1f} s (peak RSS so far {memory.peak / 1e9:.2f} GB)")
        stack = da.from_zarr(str(stack_path))
        result = stack.map_blocks(trend_block, years=years, min_valid=MIN_VALID, dtype=np.float64,
                                  chunks=((len(BLOCK_FIELDS),), *stack.chunks[1:]),
                                  meta=np.array((), np.float64)).astype(np.float32)
        run_wall, _, _ = timed(lambda: result.to_zarr(str(result_path), compressors=None))
    pixels = side * side
    print(f"  trend of {pixels:,} pixels in {run_wall:.1f} s ({pixels / run_wall / 1e6:.2f} M pixels/s, "
          f"reading from and writing to Zarr)")
    print(f"  peak memory: process tree {memory.peak / 1e9:.2f} GB (worker process {memory.peak_children / 1e9:.2f} GB) "
          f"for a {nbytes / 1e9:.2f} GB stack under a {worker_memory} worker limit")
    import zarr  # deferred: benchmark-only dependency

    on_disk, answers = zarr.open_array(str(stack_path), mode="r"), zarr.open_array(str(result_path), mode="r")
    rng = np.random.default_rng(7)
    for _ in range(3):
        y0, x0 = (int(v) * chunk for v in rng.integers(0, side // chunk, size=2))
        expected = trend_block(on_disk[:, y0:y0 + chunk, x0:x0 + chunk], years, min_valid=MIN_VALID)
        np.testing.assert_array_equal(answers[:, y0:y0 + chunk, x0:x0 + chunk], expected.astype(np.float32))
    status = np.asarray(answers[BLOCK_FIELDS.index("status")])
    print(f"  3 chunks recomputed in process: equal; statuses over the stack {np.bincount(status.astype(int).ravel())}")
    for path in (stack_path, result_path):
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pixels", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--sample", type=int, default=3000, help="pixels timed with pymannkendall")
    parser.add_argument("--out-of-core", action="store_true", help="also the Zarr/Dask run")
    parser.add_argument("--only-out-of-core", action="store_true")
    parser.add_argument("--stack-gb", type=float, default=8.0)
    parser.add_argument("--worker-memory", default="2GB")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shrinkwatch-bench-grid"))
    args = parser.parse_args()
    if not args.only_out_of_core:
        in_memory(args.pixels, args.years, args.sample)
    if args.out_of_core or args.only_out_of_core:
        out_of_core(args.stack_gb, args.years, args.worker_memory, args.workdir)


if __name__ == "__main__":
    main()

"""Benchmark: `shrinkwatch serve` under load on loopback.

Starts the real server (`python -m shrinkwatch serve --dataset us-county-est` in its own process, on a free
loopback port), then runs CLIENTS concurrent clients for SECONDS seconds, each sending its next request as soon
as the last one is answered (a closed loop, no think time: the server is never idle). The mix, all on the
3,142 US counties:

- 35 % identify (JSON) with varying parameters: census-decline with min_loss 0-0.10 in steps of 0.01 (the
  standard's own grid) and consecutive-decline with n 2-5 (each new setting is computed on first request);
- 30 % unit profiles (`/api/units/{id}`) of counties drawn from a pool of UNITS random counties;
- 15 % GeoJSON (`/api/identify?format=geojson`, min_loss 0, 0.02 or 0.05) and 5 % the outlines alone
  (`/api/geometry`);
- 15 % timelines (census-decline min_loss 0, 0.01, 0.05; consecutive-decline n 2, 3).

Before the clock starts, one request of each kind warms the server (the first profile computes the panel's
typology, the first GeoJSON simplifies the outlines); those times are printed apart. Printed: requests, errors
(any answer but 200, or a failed connection), throughput and the p50, p95 and p99 latency overall and per kind.
Goal: p95 under 200 ms and no errors. Every request goes to 127.0.0.1 and the loop stops by itself.

    python benchmarks/bench_serve.py [--seconds 60] [--clients 20] [--units 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np

DATASET = "us-county-est"
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "shrinkwatch", "serve", "--port", str(port), "--dataset",
                                DATASET], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not start within 180 s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_mix(rng: random.Random, units: list[str]) -> tuple[str, str, dict[str, object]]:
    """One request: (kind, path, query)."""
    draw = rng.random()
    if draw < 0.35:
        if rng.random() < 0.7:
            return "identify", "/api/identify", {"dataset": DATASET, "standard": "census-decline",
                                                 "min_loss": round(rng.randrange(11) / 100, 2)}
        return "identify", "/api/identify", {"dataset": DATASET, "standard": "consecutive-decline",
                                             "n": rng.randrange(2, 6), "year": 2019}
    if draw < 0.65:
        return "unit", f"/api/units/{rng.choice(units)}", {"dataset": DATASET}
    if draw < 0.80:
        return "geojson", "/api/identify", {"dataset": DATASET, "standard": "census-decline", "format": "geojson",
                                            "min_loss": rng.choice((0.0, 0.02, 0.05))}
    if draw < 0.85:
        return "geometry", "/api/geometry", {"dataset": DATASET}
    if rng.random() < 0.6:
        return "timeline", "/api/timeline", {"dataset": DATASET, "standard": "census-decline",
                                             "min_loss": rng.choice((0.0, 0.01, 0.05))}
    return "timeline", "/api/timeline", {"dataset": DATASET, "standard": "consecutive-decline",
                                         "n": rng.choice((2, 3)), "year": 2019}


Row = tuple[str, float, bool, float]  # kind, seconds, answered 200, when it started (seconds from the start)


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds it: GET with ``Accept-Encoding: gzip``, read the
    status, headers and the whole Content-Length body (every ``check``-th gzipped body is also un-gzipped to check
    it). Written on asyncio streams because a general client (httpx) spends 3-6 ms of CPU per request here, more
    than the server does, and on two cores that would measure the load generator, not the server."""

    def __init__(self, port: int, check: int = 25) -> None:
        self.port = port
        self.check = check
        self.answered = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, path: str, query: dict[str, object]) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        target = path + ("?" + urlencode(query) if query else "")
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept-Encoding: gzip\r\n"
                          "\r\n".encode("latin-1"))
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        body = await self.reader.readexactly(int(headers["content-length"]))
        self.answered += 1
        if headers.get("content-encoding") == "gzip" and self.answered % self.check == 0:
            body = zlib.decompress(body, 31)  # a corrupt body raises zlib.error: counted as an error
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


async def client_loop(port: int, rng: random.Random, units: list[str], start: float, stop: float,
                      results: list[Row]) -> None:
    connection = Connection(port)
    try:
        while time.perf_counter() < stop:
            kind, path, query = request_mix(rng, units)
            started = time.perf_counter()
            try:
                status, _ = await connection.get(path, query)
                ok = status == 200
            except (OSError, asyncio.IncompleteReadError, ValueError, KeyError, zlib.error):
                ok = False
                await connection.close()
            results.append((kind, time.perf_counter() - started, ok, started - start))
    finally:
        await connection.close()


async def run(port: int, seconds: float, clients: int, units: list[str], seed: int) -> list[Row]:
    results: list[Row] = []
    start = time.perf_counter()
    await asyncio.gather(*(client_loop(port, random.Random(seed * 1000 + i), units, start, start + seconds, results)
                           for i in range(clients)))
    return results


def summary(rows: list[Row], label: str) -> str:
    times = np.array([r[1] for r in rows]) * 1000
    errors = sum(not r[2] for r in rows)
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return (f"{label:10s} {len(rows):7,d} requests  errors {errors:4d}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
            f"p99 {p99:7.1f} ms  max {times.max():7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--units", type=int, default=300, help="size of the pool of counties profiled")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (0 < args.seconds <= 600 and 0 < args.clients <= 100):
        raise SystemExit("--seconds: 0-600; --clients: 1-100 (a bounded test)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = start_server(port)
    try:
        print(f"server up with {DATASET} loaded in {time.perf_counter() - started:.1f} s")
        ids = [d for d in httpx.get(url + "/api/identify", params={"dataset": DATASET}, timeout=120)
               .json()["units"]]
        units = random.Random(args.seed).sample([u["unit_id"] for u in ids], min(args.units, len(ids)))
        for kind, path, query in (("identify", "/api/identify", {"dataset": DATASET}),
                                  ("unit", f"/api/units/{units[0]}", {"dataset": DATASET}),
                                  ("geojson", "/api/identify", {"dataset": DATASET, "format": "geojson"}),
                                  ("timeline", "/api/timeline", {"dataset": DATASET})):
            t0 = time.perf_counter()
            status = httpx.get(url + path, params=query, timeout=120).status_code
            print(f"warm-up {kind:9s} {1000 * (time.perf_counter() - t0):8.1f} ms (status {status})")
        server_cpu, client_cpu = _cpu_seconds(server.pid), sum(os.times()[:2])
        rows = asyncio.run(run(port, args.seconds, args.clients, units, args.seed))
        server_cpu, client_cpu = _cpu_seconds(server.pid) - server_cpu, sum(os.times()[:2]) - client_cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.clients} clients, {args.seconds:g} s, {len(rows) / args.seconds:,.1f} requests/s "
          f"(load average {load:.1f} on {os.cpu_count()} cores)")
    if server_cpu == server_cpu:  # not NaN
        print(f"CPU during the run: server {server_cpu:.1f} s ({1000 * server_cpu / len(rows):.1f} ms a request), "
              f"load generator {client_cpu:.1f} s")
    print(summary(rows, "all"))
    for kind in ("identify", "unit", "geojson", "geometry", "timeline"):
        chosen = [r for r in rows if r[0] == kind]
        if chosen:
            print(summary(chosen, kind))
    later = [r for r in rows if r[3] >= args.seconds / 2]
    if later:  # by then most settings and profiles have been computed once: what a warm server answers
        print(summary(later, "2nd half"))
    errors = sum(not r[2] for r in rows)
    p95 = float(np.percentile([r[1] for r in rows], 95)) * 1000
    print(f"goal p95 < 200 ms and 0 errors: {'met' if p95 < 200 and errors == 0 else 'NOT met'} "
          f"(p95 {p95:.1f} ms, {errors} errors)")


if __name__ == "__main__":
    main()

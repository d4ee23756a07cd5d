"""Benchmark: time to the first rendered map of the dashboard in a real browser (issue 13 item 5), beside the
page as it was first merged.

    python benchmarks/bench_dashboard.py [--dataset us-county-est] [--runs 5] [--baseline-ref 78aecd4]

Two real servers on loopback (``shrinkwatch.serve.background``, uvicorn in a thread) share one workspace (the
panel loaded once, results cached once) and differ only in the page they serve:

- **new**: the package's page: the outlines once from ``/dashboard/geometry`` (ids only as properties,
  coordinates quantised to 1e-3, names as columns beside them), each parameter setting's verdicts as columns
  (``/api/identify?format=verdicts``, about 1/8 of the JSON answer), the timeline fetched beside them without
  holding back the map;
- **baseline**: the page at ``--baseline-ref`` (its ``app.js`` read from git) with the payloads it was built
  for: the full JSON identification (reasons and names per unit, awaited together with the timeline) and the
  geometry with names in every feature and coordinates to 1e-4.

Each is opened in Debian's chromium (Playwright for Python, headless, WebGL by SwiftShader: no GPU here), one
fresh browser context per page, alternating baseline and new so both see the same load. The number is the
page's own mark ``body[data-first-render-ms]``: navigation start to the first MapLibre ``idle`` event after the
units are drawn in their verdicts' colours (the script waits for the selector, no fixed sleep). The CPU time
chromium's processes spent meanwhile (the page's renderer with MapLibre's worker, the GPU process that runs
SwiftShader, the browser; psutil) is printed too: on a shared 2-core machine the wall time mostly measures the
other jobs, the CPU time much less.

First a cold page on the fresh server (the panel loaded, the standard applied and the geometry projected on
that request), then ``--runs`` warm pages of each. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import psutil
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from playwright.sync_api import sync_playwright

from shrinkwatch.serve import ServeSettings, background
from shrinkwatch.serve.app import create_app
from shrinkwatch.serve.dashboard import PAGE_CSP, display_geometry
from shrinkwatch.serve.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
_KINDS = {"renderer": "page", "gpu-process": "gpu", "browser": "browser"}


def baseline_app(settings: ServeSettings, workspace: Workspace, ref: str):
    """The app with the page of ``ref`` and the geometry payload that page was built for."""
    try:
        script = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:src/shrinkwatch/serve/static/app.js"],
                                check=True, capture_output=True).stdout
        page = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:src/shrinkwatch/serve/static/index.html"],
                              check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"--baseline-ref {ref}: cannot read the baseline page from git ({error})") from None
    app = create_app(settings, workspace)
    extra = APIRouter()

    @extra.get("/")
    def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PAGE_CSP})

    @extra.get("/static/app.js")
    def app_js() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8")

    @extra.get("/dashboard/geometry")
    def geometry(request: Request, dataset: str = Query(...)) -> Response:
        import gzip

        loaded = workspace.load(workspace.ref(dataset))

        def build() -> tuple[bytes, bytes]:
            shown = display_geometry(loaded.panel, loaded.key, digits=4, feature_names=True)
            raw = json.dumps({"dataset": shown.dataset, "crs": shown.crs, "projection": shown.projection,
                              "bounds": shown.bounds, "units_without_geometry": shown.units_without_geometry,
                              "units": shown.units, "context": shown.context},
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            return raw, gzip.compress(raw, compresslevel=6, mtime=0)

        raw, packed = workspace.cached(("bench-baseline-geometry", loaded.fingerprint), build)
        return Response(packed, media_type="application/json", headers={"Content-Encoding": "gzip"})

    app.router.routes[0:0] = extra.routes
    return app


def _chromium_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of each chromium process under this one, with its kind."""
    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            line = proc.cmdline()
            if not line or "chrom" not in os.path.basename(line[0]):
                continue
            kind = next((a.split("=", 1)[1] for a in line if a.startswith("--type=")), "browser")
            times = proc.cpu_times()
            found[proc.pid] = (_KINDS.get(kind, "other"), times.user + times.system)
        except psutil.Error:
            continue
    return found


def first_render(browser, url: str) -> tuple[float, dict[str, float]]:
    """The page's first-render mark, and the CPU time chromium's processes spent meanwhile (ms, by kind)."""
    page = browser.new_page(viewport={"width": 1440, "height": 960})
    before = _chromium_cpu()
    page.goto(url)
    page.wait_for_selector("body[data-version='1'][data-idle='true']", state="attached", timeout=300_000)
    after = _chromium_cpu()
    ms = float(page.get_attribute("body", "data-first-render-ms"))
    page.close()
    cpu: collections.Counter[str] = collections.Counter()
    for pid, (kind, seconds) in after.items():
        cpu[kind] += 1000 * (seconds - before.get(pid, (kind, 0.0))[1])
    return ms, dict(cpu)


def summary(label: str, rows: list[tuple[float, dict[str, float]]]) -> tuple[float, float]:
    wall = [r[0] for r in rows]
    cpu = {k: statistics.median(r[1].get(k, 0.0) for r in rows) for k in ("page", "gpu", "browser", "other")}
    total = statistics.median(sum(r[1].values()) for r in rows)
    print(f"{label:9s} first map render median {statistics.median(wall) / 1000:5.2f} s (min {min(wall) / 1000:.2f}, "
          f"max {max(wall) / 1000:.2f}); CPU median {total:5.0f} ms (" +
          ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()) + ")")
    return statistics.median(wall), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="us-county-est")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--baseline-ref", default="78aecd4",
                        help="the git revision whose page is the baseline (default: the dashboard as first merged)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    settings = ServeSettings(data_dir=args.data_dir)
    workspace = Workspace(settings)
    query = f"/?dataset={args.dataset}&lang=en"
    with background(settings, workspace) as new, \
            background(settings, app=baseline_app(settings, workspace, args.baseline_ref)) as old, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--enable-unsafe-swiftshader",
                                                                     "--use-angle=swiftshader"])
        start = time.perf_counter()
        cold, _ = first_render(browser, new.url + query)
        print(f"cold (fresh server, new page): first map render {cold / 1000:.2f} s "
              f"(wall with the server's work {time.perf_counter() - start:.2f} s)")
        first_render(browser, old.url + query)  # the baseline's own payloads computed once, untimed
        rows: dict[str, list[tuple[float, dict[str, float]]]] = {"baseline": [], "new": []}
        for _ in range(args.runs):
            for label, server in (("baseline", old), ("new", new)):
                rows[label].append(first_render(browser, server.url + query))
        browser.close()
    print(f"warm, {args.runs} pages each, alternating:")
    old_wall, old_cpu = summary("baseline", rows["baseline"])
    new_wall, new_cpu = summary("new", rows["new"])
    print(f"ratio baseline/new: wall {old_wall / new_wall:.2f}x, CPU {old_cpu / new_cpu:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}; goal: warm median under 2 s "
          f"({'met' if new_wall < 2000 else 'NOT met'} here)")


if __name__ == "__main__":
    main()

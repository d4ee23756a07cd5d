"""Benchmark: time to the first rendered map of the dashboard in a real browser (issue 13 item 5).

    python benchmarks/bench_dashboard.py [--dataset us-county-est] [--runs 5] [--data-dir DIR]

Starts the real app (``shrinkwatch.serve.background``: uvicorn on a loopback port), opens ``/`` in Debian's
chromium (Playwright for Python, headless, WebGL by SwiftShader: no GPU here) and reads the page's own mark:
``body[data-first-render-ms]``, the time from navigation start to the first MapLibre ``idle`` event after the
units and their verdicts are drawn (``serve/static/app.js``). Two numbers:

- cold: the first page on a fresh server (the panel is loaded, the standard applied and the map geometry
  projected on that request);
- warm: each later page (fresh browser page, server caches warm), median and range of ``--runs``.

The page's own phase marks (geometry received, map style loaded, verdicts received) are printed too, and the
load average, since this machine is shared: the goal (under 2 s warm for the US counties) assumes an idle one.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from shrinkwatch.serve import ServeSettings, background


def first_render(browser, url: str) -> tuple[float, dict[str, int], float]:
    page = browser.new_page(viewport={"width": 1440, "height": 960})
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-version='1'][data-idle='true']", state="attached", timeout=300_000)
    wall = time.perf_counter() - start
    marks = page.evaluate("() => window.swDashboard.marks")
    ms = float(page.get_attribute("body", "data-first-render-ms"))
    page.close()
    return ms, marks, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="us-county-est")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with background(ServeSettings(data_dir=args.data_dir)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--enable-unsafe-swiftshader",
                                                                     "--use-angle=swiftshader"])
        url = f"{server.url}/?dataset={args.dataset}&lang=en"
        cold, marks, wall = first_render(browser, url)
        print(f"cold (fresh server): first map render {cold / 1000:.2f} s (wall {wall:.2f} s); marks {marks}")
        warm = []
        for _ in range(args.runs):
            ms, marks, wall = first_render(browser, url)
            warm.append(ms)
        print(f"warm ({args.runs} pages): first map render median {statistics.median(warm) / 1000:.2f} s "
              f"(min {min(warm) / 1000:.2f}, max {max(warm) / 1000:.2f}); last marks {marks}")
        browser.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}; goal: warm median under 2 s "
          f"({'met' if statistics.median(warm) < 2000 else 'NOT met'} here)")


if __name__ == "__main__":
    main()

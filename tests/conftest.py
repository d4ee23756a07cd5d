"""Shared fixtures: the real shared data and small hand-made panels with known answers.

How to run
----------
The fast inner loop leaves out the tests marked ``slow`` (the full ``run`` on the China, US and UN
data, the US/UN adapters and the China county census, mypy, the subprocess smoke test, the CLI
``explain`` runs, the larger hypothesis and every-standard sweeps)::

    export PYTHONPATH=$PWD/src SHRINKWATCH_DATA=/path/to/shared/data
    python -m pytest -q -p no:cacheprovider -m "not slow"

The full suite, as CI runs it, is the same command without ``-m "not slow"``; add
``--durations=40`` to see where the time goes. Every area keeps at least one fast test (the China
census count of 156 of 358 among them), so the fast loop still touches every stage.

Hand-made panels
----------------
``toy_panel`` is the one documented toy with known verdicts; :func:`panel_of` builds a panel with
several indicators (or a custom unit table) through :meth:`Panel.from_series`, and a panel with one
indicator is built with :meth:`Panel.from_series` directly.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shrinkwatch.core import Panel

ROOT = Path(__file__).resolve().parents[1]

# Every `run` records into the run store: the tests' runs go to a store of their own, never to the user's data
# folder (SHRINKWATCH_STORE), and the default location itself resolves inside a temporary folder (XDG_DATA_HOME).
_TEST_HOME = Path(tempfile.mkdtemp(prefix="shrinkwatch-tests-"))
os.environ["SHRINKWATCH_STORE"] = str(_TEST_HOME / "store" / "shrinkwatch.duckdb")
os.environ["XDG_DATA_HOME"] = str(_TEST_HOME / "data-home")
atexit.register(shutil.rmtree, _TEST_HOME, ignore_errors=True)


def _shared_data() -> Path:
    env = os.environ.get("SHRINKWATCH_DATA")
    if env:
        return Path(env)
    return ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _shared_data()
    assert path.is_dir(), f"shared data not found at {path}; set SHRINKWATCH_DATA"
    return path


@pytest.fixture(scope="session")
def census_panel(data_dir):
    from shrinkwatch import load

    return load("cn-prefecture-census", data_dir)


@pytest.fixture(scope="session")
def census_identification(census_panel):
    from shrinkwatch import identify

    return identify(census_panel, "census-decline")


@dataclass(frozen=True)
class CliResult:
    """What a finished command left: its exit code and the text it wrote to stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> CliResult:
    """Run the ``shrinkwatch`` command in this process with Typer's ``CliRunner``.

    The command group itself turns user errors into one line and an exit code, so what a test sees
    here is what a user sees in a terminal; ``run_cli_subprocess`` runs the installed command for
    the few tests that need a real process.
    """
    from typer.testing import CliRunner

    from shrinkwatch.cli import app

    with contextlib.chdir(cwd or ROOT):
        result = CliRunner().invoke(app, list(args), env=env, prog_name="shrinkwatch")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an unexpected error: show its traceback in the test report
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_cli_subprocess(*args: str, cwd: Path | None = None,
                       env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real ``shrinkwatch`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "shrinkwatch", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full_env, timeout=600)


@pytest.fixture(scope="session")
def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


# ---------------------------------------------------------------- hand-made panels

#: The toy panel's series, 2010-2015, in thousands of residents (``toy_panel`` multiplies by 1000).
TOY_SERIES: dict[str, list[float]] = {
    "steady_fall": [100, 99, 98, 97, 96, 95],        # falls 1 %/yr every year
    "slow_fall": [100, 99.9, 99.8, 99.7, 99.6, 99.5],  # falls 0.1 %/yr every year
    "rise": [100, 101, 102, 103, 104, 105],          # rises every year
    "blip": [100, 101, 100, 99, 98, 99],             # falls 2012-2014, recovers in 2015
    "missing": [np.nan] * 5 + [50],                  # one observed year only
}
TOY_YEARS = list(range(2010, 2016))

#: What each standard says about ``toy_panel`` with its default parameters (asserted in test_standards).
TOY_VERDICTS: dict[str, dict[str, str]] = {
    "consecutive-decline": {"steady_fall": "shrinking", "slow_fall": "shrinking", "rise": "not_shrinking",
                            "blip": "not_shrinking", "missing": "insufficient_data"},
    "census-decline": {"steady_fall": "shrinking", "slow_fall": "shrinking", "rise": "not_shrinking",
                       "blip": "shrinking", "missing": "insufficient_data"},
}


@pytest.fixture
def toy_panel() -> Panel:
    """Five units over 2010-2015 with known answers (:data:`TOY_SERIES`, in persons).

    ``steady_fall`` falls 1 %/yr, ``slow_fall`` 0.1 %/yr, ``rise`` grows every year, ``blip`` falls
    three years (2012-2014) and recovers in 2015 (not shrinking under consecutive decline at 2015,
    shrinking over the whole period), ``missing`` has a value in 2015 only (insufficient data under
    every standard). :data:`TOY_VERDICTS` lists the default verdicts; thresholds tell the two falls
    apart (a 0.5 %/yr minimum loss keeps ``steady_fall`` and drops ``slow_fall``; 2 %/yr drops both).
    """
    return Panel.from_series({unit: np.asarray(series, dtype=float) * 1000 for unit, series in TOY_SERIES.items()},
                             TOY_YEARS, id="hand")


def panel_of(rows: Mapping[str, Mapping[str, Sequence[float]]], years: Sequence[int],
             units: pd.DataFrame | None = None, **meta: Any) -> Panel:
    """A hand-made panel with several indicators: ``{unit: {indicator: one value per year}}``.

    Each indicator is built with :meth:`Panel.from_series`; a unit without an indicator gets NaN
    for it. Indicator columns come in the order they first appear. ``units`` and ``meta`` are as for
    :meth:`Panel.from_series` (by default each unit is named by its id).
    """
    indicators = list(dict.fromkeys(indicator for row in rows.values() for indicator in row))
    blank = [np.nan] * len(years)
    columns = [Panel.from_series({unit: row.get(indicator, blank) for unit, row in rows.items()}, years,
                                 indicator=indicator, units=units, **meta)
               for indicator in indicators]
    values = pd.concat([column.values for column in columns], axis=1)
    return Panel(columns[0].units, values, columns[0].meta)

"""Shared fixtures: the real shared data, found through the project's own data-directory lookup."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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

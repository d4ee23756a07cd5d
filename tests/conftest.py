"""Shared fixtures: the real shared data, found through the project's own data-directory lookup."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real ``shrinkwatch`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "shrinkwatch", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full_env, timeout=600)


@pytest.fixture(scope="session")
def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

"""The package type-checks (STYLE: mypy on the package, annotations on everything public)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # mypy over the whole package takes most of a minute

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_package():
    done = subprocess.run([sys.executable, "-m", "mypy", str(ROOT / "src" / "shrinkwatch")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]

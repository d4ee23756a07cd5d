"""Every declared dependency is used by the package: imported somewhere in src/, or named as a pandas engine.

A dependency nothing uses is dropped from ``pyproject.toml`` rather than carried;
the exceptions are listed in ``NOT_YET_USED`` with the reason.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "shrinkwatch"

#: Distribution name -> import name, where they differ other than by "-" for "_".
IMPORT_NAMES = {"scikit-learn": "sklearn", "pyyaml": "yaml", "pillow": "PIL", "python-dateutil": "dateutil"}

#: Declared but not imported yet, with the reason.
NOT_YET_USED: dict[str, str] = {}
#: Used without an import statement, with how.
USED_BY_NAME = {"duckdb-engine": "SQLAlchemy's duckdb:// dialect: SQLAlchemy loads it by the URL's scheme (store/store.py)"}


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower() for requirement in project["dependencies"]]


def _used_modules() -> set[str]:
    """Top-level modules imported anywhere in the package, and engines named in ``engine="..."`` arguments."""
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                used.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                used.add(node.module.split(".")[0])
            elif isinstance(node, ast.keyword) and node.arg == "engine" and isinstance(node.value, ast.Constant):
                used.add(str(node.value.value))
    return used


def test_declared_dependencies_are_parsed():
    declared = _declared()
    assert {"numpy", "pandas", "geopandas", "esda", "libpysal", "duckdb"} <= set(declared)


def test_every_declared_dependency_is_used_in_src():
    used = _used_modules()
    unused = [name for name in _declared()
              if IMPORT_NAMES.get(name, name.replace("-", "_")) not in used and name not in NOT_YET_USED
              and name not in USED_BY_NAME]
    assert not unused, f"declared in pyproject.toml but not imported in src/: {unused}"


def test_exceptions_are_still_declared():
    assert set(NOT_YET_USED) | set(USED_BY_NAME) <= set(_declared())

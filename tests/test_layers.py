"""The data flow is a contract: stages import only from the layers below them.

The layers are declared once, in ``pyproject.toml`` (``[tool.importlinter]``), and checked
here with import-linter, which counts imports inside functions too, so a function-level
import cannot dodge the contract. A second check keeps function-level imports rare and
explained: each carries a comment saying why it is deferred (an optional or heavy
dependency, or start-up time of the command line).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "shrinkwatch"
# the top of the flow defers its own package's imports so that `import shrinkwatch` and `shrinkwatch --help`
# start without the analysis stack (their module docstrings say so once, instead of a comment per line)
#: Files that may import the package's own modules inside a function: the entry points, and spatial.py, whose
#: cached LISA kernel (lisa_kernel.py) imports esda at load while the report imports spatial.py for its words.
MAY_DEFER_OWN_IMPORTS = {"cli.py", "pipeline.py", "__init__.py", "spatial.py"}


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()", "--no-cache"],
                          capture_output=True, text=True, cwd=root, timeout=300)


def test_layers_contract_holds():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_layers_contract_catches_an_upward_import(tmp_path):
    """The contract is not vacuous: a core module importing the report breaks it."""
    package = tmp_path / "src" / "shrinkwatch"
    for sub in ("cli", "pipeline"):
        (package / f"{sub}.py").parent.mkdir(parents=True, exist_ok=True)
        (package / f"{sub}.py").write_text("")
    (package / "__init__.py").write_text("")
    for layer in ("serve", "store", "report", "analysis", "forecast", "identification", "harmonize", "grid",
                  "ingest", "datasets", "core"):
        (package / layer).mkdir()
        (package / layer / "__init__.py").write_text("")
    (package / "core" / "panel.py").write_text(
        "def render():\n    from shrinkwatch.report import writer  # deferred, still upward\n")
    (package / "report" / "writer.py").write_text("")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject[pyproject.index("[tool.importlinter]"):])
    done = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        sys.path.insert(0, 'src')
        from importlinter.cli import lint_imports_command
        lint_imports_command()
        """), "--no-cache"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode != 0
    assert "shrinkwatch.core is not allowed to import shrinkwatch.report" in done.stdout


def _function_imports(path: Path) -> list[tuple[int, str, bool]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name
                statement = lines[node.lineno - 1:node.end_lineno or node.lineno]
                above = lines[node.lineno - 2].strip()
                found.append((node.lineno, module, any("#" in line for line in statement) or above.startswith("#")))
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_function_level_imports_are_explained(path):
    problems = []
    for line, module, commented in _function_imports(path):
        own = module.startswith("shrinkwatch")
        if own and path.name not in MAY_DEFER_OWN_IMPORTS:
            problems.append(f"{path.name}:{line}: imports {module} inside a function; import it at the top")
        elif not own and not commented:
            problems.append(f"{path.name}:{line}: deferred import of {module} without a comment saying why")
    assert not problems, "\n".join(problems)


def test_the_package_root_and_the_cli_start_without_pandas():
    """`import shrinkwatch` and the command line's module load no pandas (so `shrinkwatch --help` is fast), and
    every public name of the root resolves."""
    code = ("import sys, shrinkwatch, shrinkwatch.cli; heavy = [m for m in ('pandas', 'geopandas', 'sklearn', "
            "'esda', 'matplotlib') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    import shrinkwatch

    for name in shrinkwatch.__all__:
        assert getattr(shrinkwatch, name) is not None, name
    assert callable(shrinkwatch.identify) and shrinkwatch.identify.__module__ == "shrinkwatch.identification.engine"


@pytest.mark.parametrize("command", [["standards", "list"], ["data", "list"], ["--help"]])
def test_light_commands_load_no_analysis_stack(command):
    """`standards list`, `data list` and `--help` answer without esda, statsmodels, LightGBM, matplotlib,
    scikit-learn or geopandas (benchmarks/bench_cli.py measures the time)."""
    code = ("import sys\nfrom shrinkwatch.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = ('esda', 'statsmodels', 'lightgbm', 'matplotlib', 'sklearn', 'libpysal', 'geopandas')\n"
            "print('LOADED', [m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize("command, unused", [
    (["identify"], ("matplotlib", "jinja2", "pyogrio", "xlsxwriter")),
    (["run", "--no-analysis", "--no-store"], ()),
])
def test_commands_load_only_what_they_use(command, unused, data_dir, tmp_path):
    """`identify` and `run --no-analysis` load none of the analysis stack (esda, libpysal, scikit-learn, SciPy,
    statsmodels, LightGBM), and `identify` none of the report's (benchmarks/bench_run.py and bench_scale.py measure
    the time: issue 15)."""
    out = ["--output", str(tmp_path / "identification.csv")] if command[0] == "identify" else ["--out", str(tmp_path)]
    code = ("import sys\nfrom shrinkwatch.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as stop:\n"
            "    assert not stop.code, stop.code\n"
            "heavy = ('esda', 'libpysal', 'sklearn', 'scipy', 'statsmodels', 'lightgbm', 'numba', 'duckdb', "
            f"'sqlalchemy', *{unused!r})\n"
            "print('LOADED', [m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, *command, "--data-dir", str(data_dir), *out],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", done.stdout[-2000:] + done.stderr[-2000:]
    import pandas as pd

    table = pd.read_csv(tmp_path / ("identification.csv" if command[0] == "identify" else "results.csv"))
    assert (table["status"] == "shrinking").sum() == 156  # China's census panel: 156 of 358 assessable shrinking
    assert (table["status"] == "not_shrinking").sum() == 202

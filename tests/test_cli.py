"""The command line, in process with Typer's CliRunner (one smoke test in a real subprocess):
outputs, and every user error without a traceback."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli, run_cli_subprocess

CENSUS = "china/census/census_city_2010_2020.csv"


def _no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_identify_csv_to_stdout(data_dir):
    result = run_cli("identify", "--dataset", "cn-prefecture-census", "--standard", "census-decline",
                     "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout), dtype={"unit_id": str})
    for column in ("unit_id", "name", "parent_name", "kind", "region", "status", "shrinking", "annual_rate",
                   "reason", "decline_value", "decline_pass"):
        assert column in table.columns
    assert len(table) == 369 and (table["status"] == "shrinking").sum() == 156
    assert "有数据的 358 个单元中 156 个收缩" in result.stderr  # the summary in the panel's language by default


@pytest.mark.parametrize("fmt", ["json", "parquet", "csv"])
def test_identify_formats_and_set(tmp_path, data_dir, fmt):
    out = tmp_path / f"r.{fmt}"
    result = run_cli("identify", "--set", "min_loss=0.05", "--format", fmt, "-o", str(out), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        rows = json.loads(out.read_text(encoding="utf-8"))
        shrinking = sum(r["status"] == "shrinking" for r in rows)
        assert len(rows) == 369
    elif fmt == "parquet":
        frame = pd.read_parquet(out)
        shrinking = int((frame["status"] == "shrinking").sum())
    else:
        frame = pd.read_csv(out)
        shrinking = int((frame["status"] == "shrinking").sum())
    assert 0 < shrinking < 156


@pytest.mark.parametrize("args, code, fragments", [
    (["identify", "--dataset", "nope"], 2, ["unknown dataset 'nope'", "cn-prefecture-census"]),
    (["identify", "--standard", "nope"], 2, ["unknown standard 'nope'", "census-decline"]),
    (["identify", "--set", "min_loss"], 2, ["min_loss", "key=value"]),
    (["identify", "--set", "threshold=3"], 2, ["unknown parameter 'threshold'", "min_loss"]),
    (["identify", "--set", "min_loss=lots"], 2, ["'min_loss'", "float"]),
    (["identify", "--format", "xml"], 2, ["--format", "csv, json or parquet"]),
    (["identify", "--format", "parquet"], 2, ["needs -o FILE"]),
    (["run", "--standard", "nope", "--out", "/tmp/never"], 2, ["unknown standard"]),
    (["data", "info", "nope"], 2, ["unknown dataset"]),
])
def test_user_errors(args, code, fragments, data_dir):
    result = run_cli(*args, "--data-dir", str(data_dir)) if args[0] != "data" else run_cli(*args)
    assert result.returncode == code, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    _no_traceback(result)


def test_missing_data_directory(tmp_path):
    work = tmp_path / "x" / "project"
    work.mkdir(parents=True)
    env = {"SHRINKWATCH_DATA": ""}
    result = run_cli("identify", cwd=work, env=env)
    assert result.returncode == 3
    assert str(work / "data") in result.stderr and str(work.parent / "shared" / "data") in result.stderr
    assert "shrinkwatch data fetch" in result.stderr
    _no_traceback(result)


def test_checksum_mismatch_names_the_file(tmp_path, data_dir):
    (tmp_path / CENSUS).parent.mkdir(parents=True)
    (tmp_path / CENSUS).write_bytes((data_dir / CENSUS).read_bytes()[:-10])
    result = run_cli("identify", "--data-dir", str(tmp_path))
    assert result.returncode == 4
    assert "checksum mismatch" in result.stderr and "census_city_2010_2020.csv" in result.stderr.replace("\n", "")
    _no_traceback(result)


def test_data_commands(tmp_path, data_dir):
    listing = run_cli("data", "list")
    assert listing.returncode == 0 and "cn-prefecture-census" in listing.stdout
    info = run_cli("data", "info", "cn-prefecture-census", "--data-dir", str(data_dir))
    assert info.returncode == 0
    assert "MIT" in info.stdout and "cef8ba063a7cda6f" in info.stdout and "present" in info.stdout
    fetched = run_cli("data", "fetch", "cn-prefecture-census", "--from", str(data_dir), "--data-dir", str(tmp_path / "d"))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "d" / CENSUS).read_bytes() == (data_dir / CENSUS).read_bytes()
    assert "checksums verified" in fetched.stdout


def test_standards_commands():
    listing = run_cli("standards", "list")
    assert listing.returncode == 0 and "census-decline" in listing.stdout
    shown = run_cli("standards", "show", "census-decline")
    assert shown.returncode == 0 and "min_loss" in shown.stdout and "P(t2) < P(t1)" in shown.stdout


@pytest.mark.slow
def test_explain_states_how_robust_the_verdict_is(data_dir):
    """Harbin lost 5.9% 2010-2020: shrinking for min_loss 0 to 0.05, not for 0.06 to 0.10."""
    result = run_cli("explain", "--unit", "230100", "--no-drivers", "--lang", "en", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "Robustness: shrinking under 6 of 11 decidable settings of the standard (borderline" in result.stdout


def test_a_users_own_standard_file(tmp_path, data_dir):
    """The README's TOML example works as written: 98 of 358 units lost at least 5%."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index('```toml\nid = "my-decline"') + len("```toml\n"):]
    block = block[:block.index("```")]
    path = tmp_path / "my-decline.toml"
    path.write_text(block, encoding="utf-8")
    result = run_cli("identify", "--standard", str(path), "-o", str(tmp_path / "r.csv"), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "有数据的 358 个单元中 98 个收缩" in result.stderr
    # the whole run, report included, works with a standard that is not built in
    out = tmp_path / "out"
    done = run_cli("run", "--standard", str(path), "--no-analysis", "--out", str(out), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    assert "Decline of at least 5% between the censuses" in (out / "report.html").read_text(encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(block.replace("max = 1.0", "max = 1.0\nmaximum = 2"), encoding="utf-8")
    bad = run_cli("identify", "--standard", str(broken), "--data-dir", str(data_dir))
    assert bad.returncode == 2 and "maximum" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_installed_command_in_a_subprocess(data_dir):
    """The one real process: `python -m shrinkwatch` works, and its errors are one line, never a traceback."""
    shown = run_cli_subprocess("standards", "show", "census-decline")
    assert shown.returncode == 0 and "min_loss" in shown.stdout
    usage = run_cli_subprocess("bogus")
    assert usage.returncode == 2 and "No such command 'bogus'" in usage.stderr
    bad = run_cli_subprocess("identify", "--dataset", "nope", "--data-dir", str(data_dir))
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown dataset 'nope'")
    for result in (shown, usage, bad):
        _no_traceback(result)


@pytest.mark.parametrize(("args", "fragment"), [
    (["run", "--seed", "abc"], "Invalid value for '--seed'"),
    (["bogus"], "No such command 'bogus'"),
    (["identify", "--format"], "Option '--format' requires an argument"),
])
def test_usage_errors_exit_2_and_name_the_option(args, fragment):
    result = run_cli(*args)
    assert result.returncode == 2 and fragment in " ".join(result.stderr.replace("│", " ").split())
    _no_traceback(result)


def test_text_that_looks_like_markup_prints_as_it_is(data_dir):
    result = run_cli("identify", "--set", "[/x]=1", "--data-dir", str(data_dir))
    assert result.returncode == 2
    assert "unknown parameter '[/x]'" in result.stderr
    _no_traceback(result)


def test_an_unexpected_error_is_one_line_and_a_report_file(monkeypatch):
    """A bug (here: a standard listing that raises) prints one line with the error and the file that holds the
    traceback, exits 1, and never shows the traceback itself."""
    import importlib

    def broken():
        raise RuntimeError("boom [/x]")

    # the stage package, not the function `shrinkwatch.identification` of the same name
    monkeypatch.setattr(importlib.import_module("shrinkwatch.identification"), "list_standards", broken)
    result = run_cli("standards", "list")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unexpected RuntimeError: boom [/x]")
    report = Path(lines[0].split("the full report is in ")[1].split(" (")[0])
    assert "Traceback" in report.read_text() and "boom" in report.read_text() and "--debug" in lines[0]
    _no_traceback(result)
    report.unlink()

    with pytest.raises(RuntimeError, match="boom"):  # --debug: the traceback itself, for whoever fixes the bug
        run_cli("--debug", "standards", "list")


def test_run_progress_lines_are_in_the_requested_language(tmp_path, toy_panel):
    """`run --lang zh` says every progress line in Chinese (it once printed '• writing report to ...' in English);
    English stays English."""
    from shrinkwatch.core.panelfile import write_panel

    path = tmp_path / "toy.parquet"
    write_panel(toy_panel, path)
    chinese = run_cli("run", "--dataset", str(path), "--lang", "zh", "--no-store", "--out", str(tmp_path / "zh"))
    english = run_cli("run", "--dataset", str(path), "--lang", "en", "--no-store", "--out", str(tmp_path / "en"))
    assert chinese.returncode == 0 and english.returncode == 0, chinese.stderr + english.stderr
    progress = [line for line in chinese.stderr.splitlines() if line.startswith("• ")]
    assert len(progress) >= 5 and any("正在将报告写入" in line for line in progress)
    for line in progress:
        words = re.findall(r"[a-z]{3,}", re.sub(r"\S*[/\\]\S*|census-decline|consecutive-decline|min_loss", "", line))
        assert not words, line
    assert any(line.startswith("• writing report to") for line in english.stderr.splitlines())

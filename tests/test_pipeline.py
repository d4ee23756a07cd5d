"""The main job's stages run alongside each other: the forecast on a thread of its own while the analyses run."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from shrinkwatch import pipeline
from shrinkwatch.core import Panel
from shrinkwatch.pipeline import _Alongside


def _where() -> str:
    return threading.current_thread().name


def test_work_alongside_runs_on_its_own_daemon_thread_and_returns_its_value():
    alongside = _Alongside(_where, concurrent=True)
    assert alongside._thread is not None and alongside._thread.daemon
    assert alongside.result() == "shrinkwatch-alongside"
    assert _Alongside(_where, concurrent=False).result() == threading.current_thread().name


@pytest.mark.parametrize("concurrent", [True, False])
def test_an_error_of_the_work_alongside_reaches_the_caller(concurrent):
    def fails() -> None:
        raise KeyError("the forecast's own error")

    alongside = _Alongside(fails, concurrent=concurrent)
    with pytest.raises(KeyError, match="the forecast's own error"):
        alongside.result()


def _toy_panel() -> Panel:
    rng = np.random.default_rng(3)
    years = list(range(2000, 2021))
    series = {f"u{i:03d}": list(10_000 * np.exp(np.cumsum(rng.normal(0.004 * (i % 3 - 1) - 0.002, 0.01, len(years)))))
              for i in range(120)}
    return Panel.from_series(series, years=years, id="toy")


def _without_clock(summary_path) -> dict:
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary.pop("generated_at")
    return summary


@pytest.mark.slow
def test_a_run_with_the_forecast_alongside_writes_what_a_run_one_stage_after_another_writes(tmp_path, monkeypatch):
    panel = _toy_panel()
    alongside = pipeline.run(panel, "consecutive-decline", out_dir=tmp_path / "alongside")
    monkeypatch.setattr(pipeline, "_cpus", lambda: 1)  # one CPU: every stage on the caller's thread
    in_turn = pipeline.run(panel, "consecutive-decline", out_dir=tmp_path / "in_turn")
    first, second = _without_clock(alongside["summary.json"]), _without_clock(in_turn["summary.json"])
    assert first["early_warning"]["available"] and first["early_warning"]["watchlist"]
    assert first == second
    for name in ("results.csv", "sensitivity_counts.csv"):
        assert alongside[name].read_bytes() == in_turn[name].read_bytes()


@pytest.mark.slow
def test_the_early_warning_of_a_census_series_judges_each_earlier_origin_as_of_its_own_year(data_dir):
    """us-city-census (1980-2010): the identification resolves start_year=2000 for 2010; the forecast's backtest
    judges 1990 too, with the census before 1990, not 2000 (which made the report show an error instead)."""
    from shrinkwatch.datasets import load, standard_for
    from shrinkwatch.forecast import ForecastResult
    from shrinkwatch.identification import identify, load_standard

    standard, settings = standard_for("us-city-census")
    panel = load("us-city-census", data_dir)
    identification = identify(panel, load_standard(standard), settings)
    assert identification.parameters["start_year"] == 2000
    warning = pipeline._early_warning(identification, panel, None, 0, settings)
    assert isinstance(warning, ForecastResult), warning
    assert warning.units["probability"].notna().sum() > 6_000
    assert warning.skill is not None and len(warning.skill)

"""The main job: load a dataset, identify, analyse, write the report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from .core import Identification, Panel
from .standards import identify, load_standard

__all__ = ["run", "load_any"]


def load_any(dataset: str | Panel, data_dir: str | os.PathLike[str] | None = None) -> Panel:
    """A Panel from a Panel, a registered dataset id, or a panel file written by ``ingest``."""
    if isinstance(dataset, Panel):
        return dataset
    text = str(dataset)
    if text.endswith((".parquet", ".pq")) or Path(text).is_file():
        from .ingest import read_panel

        return read_panel(Path(text))
    from .datasets import load

    return load(text, data_dir)


def _analysis_sections(identification: Identification, panel: Panel, say: Callable[[str], None], *,
                       seed: int = 0, resources: str | os.PathLike[str] | None = None) -> list[Any]:
    """Report sections in the seed article's order: distribution, clusters, paradox, drivers, types, paths."""
    from . import analyze

    sections: list[Any] = []
    say("analysing: distribution, spatial clusters, expansion paradox, drivers")
    sections.extend(analyze.analysis_sections(identification, panel, seed=seed))
    from . import recommend

    say("typing shrinking units and matching transformation paths")
    sections.extend(recommend.report_sections(panel, identification, seed=seed, resources=resources))
    return sections


def run(
    dataset: str | Panel = "cn-prefecture-census",
    standard: str = "census-decline",
    settings: dict[str, Any] | None = None,
    *,
    out_dir: str | os.PathLike[str] = "out",
    lang: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
    analysis: bool = True,
    seed: int = 0,
    resources: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Load, identify, analyse and report; returns the written files by name.

    Examples
    --------
    >>> paths = run("cn-prefecture-census", out_dir="out/doctest")  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['report.html', 'results.csv', 'results.xlsx', 'summary.json']
    """
    from .report import write_report

    say = progress or (lambda message: None)
    std = load_standard(standard)
    std.resolve(settings)
    say(f"loading {dataset if isinstance(dataset, str) else dataset.id}")
    panel = load_any(dataset, data_dir)
    say(f"identifying with {std.id} ({len(panel.units):,} units)")
    result = identify(panel, std, settings, lang=lang)
    sections = _analysis_sections(result, panel, say, seed=seed, resources=resources) if analysis else []
    say(f"writing report to {out_dir}")
    return write_report(result, panel, Path(out_dir), sections)

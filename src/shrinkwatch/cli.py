"""The ``shrinkwatch`` command line.

User errors (:class:`~shrinkwatch.core.errors.ShrinkWatchError`) print one clear
message and exit non-zero, without a traceback.

Each command imports the stages it needs inside its function, so that ``shrinkwatch --help``
and the light commands start without loading the analysis stack.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.text import Text
from typer._click.exceptions import ClickException  # typer bundles click; usage errors are these
from typer.core import TyperGroup

from shrinkwatch.core.errors import OptionError, OutputError, ShrinkWatchError

__all__ = ["app", "main"]

class _Commands(TyperGroup):
    """The command group: every failure becomes one line on stderr and a documented exit code.

    A user error (:class:`~shrinkwatch.core.errors.ShrinkWatchError`) prints its message and exits
    with its code (2 options and ids, 3 missing data, 4 checksum, 5 nothing usable in the input,
    6 output cannot be written); an operating-system error on a file exits 6; anything unexpected
    prints one line naming the error and the file holding the full traceback, and exits 1
    (``shrinkwatch --debug ...`` or ``SHRINKWATCH_DEBUG=1`` lets the traceback through). Living in
    the group (not only in :func:`main`) means Typer's ``CliRunner`` sees exactly what a user in a
    terminal sees.
    """

    def invoke(self, ctx: Any) -> Any:  # a click Context; typer bundles click privately
        try:
            return super().invoke(ctx)
        except ShrinkWatchError as error:
            _fail(str(error), error.exit_code)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, ClickException):
            raise  # click prints usage errors itself (exit 2)
        except OSError as error:
            where = f"{error.filename}: " if getattr(error, "filename", None) else ""
            _fail(f"{where}{error.strerror or error} (cannot read or write this file)", 6)
        except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback for users
            if ctx.params.get("debug") or os.environ.get("SHRINKWATCH_DEBUG"):
                raise
            report = _crash_report(error)
            _fail(f"unexpected {type(error).__name__}: {error}. This is a bug in ShrinkWatch; the full report is "
                  f"in {report} (run with --debug to see it here)", 1)


def _fail(message: str, code: int) -> NoReturn:
    err_console.print(Text.assemble(("error: ", "bold red"), message.replace("\x00", "\\x00")))
    raise typer.Exit(code)


def _crash_report(error: BaseException) -> Path:
    """Write the traceback of an unexpected error to a file in the temporary folder; return its path."""
    text = "".join(traceback.format_exception(error))
    handle, name = tempfile.mkstemp(prefix="shrinkwatch-error-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(f"shrinkwatch {' '.join(sys.argv[1:])}\n\n{text}")
    return Path(name)


app = typer.Typer(
    cls=_Commands,
    name="shrinkwatch",
    help="Find, explain and monitor shrinking cities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help and usage errors: no markup read from text, and a fast --help
)
data_app = typer.Typer(help="The dataset registry and the data directory.", no_args_is_help=True,
                       rich_markup_mode=None)
standards_app = typer.Typer(help="Identification standards.", no_args_is_help=True, rich_markup_mode=None)


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an unexpected error."),
) -> None:
    """Find, explain and monitor shrinking cities."""


app.add_typer(data_app, name="data")
app.add_typer(standards_app, name="standards")

# markup off: names, paths and messages are data, and a "[/x]" in them must print as it is
console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

DataDirOption = typer.Option(None, "--data-dir", help="Data directory (else $SHRINKWATCH_DATA, ./data, ../shared/data).")
DatasetOption = typer.Option("cn-prefecture-census", "--dataset", "-d", help="Dataset id or a panel file (.parquet).")
StandardOption = typer.Option(None, "--standard", "-s", help="Standard id or a path to a .toml file "
                              "(default: the dataset's own, see `data info`; census-decline for most).")
SetOption = typer.Option(None, "--set", help="Override a standard parameter: key=value (repeatable).")
LangOption = typer.Option(None, "--lang", help="Language of the reasons: en or zh (default: the dataset's).")
StableOption = typer.Option(True, "--stable-clusters/--no-stable-clusters",
                            help="Judge units that exchanged territory between the compared years as their stable "
                                 "clusters (default), or leave them 'boundary_change'.")


def standard_and_settings(dataset: str, standard: Optional[str],
                          settings: Optional[list[str]]) -> tuple[str, dict]:
    """The standard (``--standard``, else the dataset's default) and the settings (``--set`` over the default's)."""
    from shrinkwatch.datasets import standard_for
    from shrinkwatch.identification import parse_settings

    return standard_for(dataset, standard, parse_settings(settings))


def load_panel(dataset: str, data_dir: Optional[Path]):  # noqa: ANN201 - Panel
    """A registered dataset id, a panel file written by ``shrinkwatch ingest``, or a UCDB GeoPackage."""
    from shrinkwatch.pipeline import load_any

    return load_any(dataset, data_dir)


# ---------------------------------------------------------------- data

@data_app.command("list")
def data_list() -> None:
    """List the registered datasets."""
    from shrinkwatch import datasets

    for ds in datasets.list_datasets():
        kind = "panel" if ds.loadable else "reference"
        console.print(f"{ds.id}  ({kind}, {ds.licence})\n    {ds.title}")


@data_app.command("info")
def data_info(dataset_id: str = typer.Argument(..., help="Dataset id."),
              data_dir: Optional[Path] = DataDirOption) -> None:
    """Show a dataset's files, checksums, licence, citation and where it is found."""
    from shrinkwatch import datasets

    ds = datasets.get_dataset(dataset_id)
    console.print(f"{ds.id}: {ds.title}")
    console.print(f"  description: {ds.description}")
    if ds.unit_definition:
        console.print(f"  units:       {ds.unit_definition}")
    if ds.loadable:
        settings = ", ".join(f"{key}={value}" for key, value in ds.default_settings)
        console.print(f"  standard:    {ds.default_standard}" + (f" ({settings})" if settings else "")
                      + " unless --standard is given")
    console.print(f"  licence:     {ds.licence}")
    console.print(f"  citation:    {ds.citation}")
    console.print(f"  publisher:   {ds.publisher_url}")
    try:
        root: Optional[Path] = datasets.resolve_data_dir(data_dir)
    except ShrinkWatchError:
        root = None
    for f in ds.files:
        present = "present" if root is not None and (root / f.path).is_file() else "missing"
        console.print(f"  file:        {f.path} [{present}]\n               sha256 {f.sha256}\n               from {f.url}")
    for note in ds.notes:
        console.print(f"  note:        {note}")


@data_app.command("fetch")
def data_fetch(
    dataset_ids: Optional[list[str]] = typer.Argument(None, help="Dataset ids (default: all)."),
    source: Optional[Path] = typer.Option(None, "--from", help="Copy from this mirror folder instead of downloading."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Target directory (default $SHRINKWATCH_DATA or ./data)."),
) -> None:
    """Fetch registered files from the publishers (or a mirror) and verify their sha256."""
    from shrinkwatch import datasets

    paths = datasets.fetch(dataset_ids or None, data_dir, source, progress=lambda m: console.print(m))
    console.print(f"{len(paths)} file(s) in place, checksums verified.")


@data_app.command("verify")
def data_verify(
    dataset_ids: Optional[list[str]] = typer.Argument(None, help="Dataset ids (default: all)."),
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Check the files of registered datasets in the data directory against their sha256."""
    from shrinkwatch import datasets

    for dataset_id in dataset_ids or [ds.id for ds in datasets.list_datasets()]:
        for path in datasets.verify(dataset_id, data_dir):
            console.print(f"ok       {path}")
    console.print("checksums verified.")


# ---------------------------------------------------------------- standards

@standards_app.command("list")
def standards_list() -> None:
    """List the built-in standards."""
    from shrinkwatch.identification import list_standards

    for std in list_standards():
        console.print(f"{std.id} (v{std.version}): {std.name}")


@standards_app.command("show")
def standards_show(standard: str = typer.Argument(..., help="Standard id or .toml path.")) -> None:
    """Show a standard: its rule in words, parameters and criteria."""
    from shrinkwatch.identification import load_standard

    std = load_standard(standard)
    console.print(f"{std.id} v{std.version}: {std.name}" + (f" / {std.name_zh}" if std.name_zh else ""))
    console.print(std.summary)
    if std.summary_zh:
        console.print(std.summary_zh)
    console.print("parameters:")
    for key, spec in std.parameters.items():
        bounds = "" if spec.min is None and spec.max is None else f" [{spec.min}, {spec.max}]"
        choices = f" one of {spec.choices}" if spec.choices else ""
        console.print(f"  {key} ({spec.type}, default {spec.default!r}{bounds}{choices}): {spec.description}")
    if std.criteria:
        console.print("criteria:")
        for key, crit in std.criteria.items():
            console.print(f"  {key}: {crit.label}")
            if crit.remedy:
                console.print(f"    without its data: {crit.remedy}")
    for ref in std.references:
        console.print(f"  ref: {ref}")


# ---------------------------------------------------------------- identify

def _write_table(table, output: Optional[Path], fmt: str) -> None:  # noqa: ANN001
    """A table as CSV (cells that cannot become formulas), JSON or Parquet, to stdout or atomically to a file."""
    from shrinkwatch.report import csv_text, write_atomically, write_csv

    out = table.reset_index()
    if output is None:
        sys.stdout.write(csv_text(out, index=False) if fmt == "csv"
                         else out.to_json(orient="records", force_ascii=False, indent=1))
        return
    if fmt == "csv":
        write_csv(out, output, index=False)
    elif fmt == "json":
        text = out.to_json(orient="records", force_ascii=False, indent=1)
        write_atomically(output, lambda partial: partial.write_text(text, encoding="utf-8"))
    else:
        write_atomically(output, lambda partial: out.to_parquet(partial, index=False))
    err_console.print(f"wrote {len(out)} rows to {output}")


@app.command()
def identify(
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    settings: Optional[list[str]] = SetOption,
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, json or parquet."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file (default: standard output)."),
    lang: Optional[str] = LangOption,
    stable_clusters: bool = StableOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Apply a standard to a dataset: one explained row per unit."""
    from shrinkwatch.identification import identify as identify_panel
    from shrinkwatch.identification import load_standard

    if fmt not in ("csv", "json", "parquet"):  # reject bad options before loading data
        raise OptionError(f"--format: expected csv, json or parquet, got {fmt!r}")
    if fmt == "parquet" and output is None:
        raise OptionError("--format parquet needs -o FILE")
    standard, overrides = standard_and_settings(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(overrides)
    panel = load_panel(dataset, data_dir)
    result = identify_panel(panel, std, overrides, lang=lang, stable_clusters=stable_clusters)
    _write_table(result.table.drop(columns=["geometry"], errors="ignore"), output, fmt)
    counts = result.counts()
    via = int(result.table["via_stable_cluster"].sum())
    err_console.print(
        f"{counts['shrinking']} shrinking of {counts['units_with_data']} units with data "
        f"({counts['insufficient_data']} insufficient data, "
        + (f"{counts['boundary_change']} boundary change, " if counts["boundary_change"] else "")
        + (f"{via} judged as stable clusters, " if via else "")
        + f"{counts['units_total']} total)"
    )
    for note in result.notes:
        err_console.print(f"note: {note}")
    from shrinkwatch.report.labels import not_assessed  # the report layer is loaded above for the table writer

    for item in not_assessed(result, std):
        err_console.print(_not_assessed_line(item.as_dict()))


# ---------------------------------------------------------------- run

@app.command()
def run(
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    settings: Optional[list[str]] = SetOption,
    out: Path = typer.Option(Path("out"), "--out", help="Output directory."),
    lang: Optional[str] = LangOption,
    analysis: bool = typer.Option(True, "--analysis/--no-analysis",
                                  help="Add the analysis sections (regions, clusters, paradox, drivers, types, paths)."),
    seed: int = typer.Option(0, "--seed", help="Seed for permutations, cross-validation and clustering."),
    resources: Optional[Path] = typer.Option(None, "--resources",
                                             help="CSV of resource-based / resource-exhausted cities (see docs)."),
    vary: Optional[list[str]] = typer.Option(None, "--vary",
                                             help="Sensitivity grid key=v1,v2,... or key=start:stop:step "
                                                  "(default: the standard's own grid)."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that holds files ShrinkWatch did not write "
                                                      "(they are kept; same-named ones are replaced)."),
    stable_clusters: bool = StableOption,
    pdf: bool = typer.Option(False, "--pdf/--no-pdf", help="Also print the report to report.pdf with headless "
                             "Chromium (about 5-10 s more; skipped with a note when Chromium is missing)."),
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Run the whole path: load, identify, analyse, and write the report and tables as one set."""
    from shrinkwatch import pipeline
    from shrinkwatch.identification.sensitivity import parse_vary

    standard, overrides = standard_and_settings(dataset, standard, settings)
    grid = parse_vary(vary) if vary else None
    outputs = pipeline.run(dataset, standard, overrides, out_dir=out, lang=lang, data_dir=data_dir,
                           analysis=analysis, seed=seed, resources=resources, vary=grid, force=force,
                           stable_clusters=stable_clusters, pdf=pdf, progress=lambda m: err_console.print(f"• {m}"))
    summary = json.loads(outputs["summary.json"].read_text(encoding="utf-8"))
    c = summary["counts"]
    console.print(
        f"{c['shrinking']} of {c['units_with_data']} {summary['unit_label']} with data are shrinking "
        f"under {summary['standard']['id']} ({c['insufficient_data']} insufficient data"
        + (f", {c['boundary_change']} boundary change" if c.get("boundary_change") else "")
        + (f"; {summary['via_stable_cluster']} judged as stable clusters" if summary.get("via_stable_cluster") else "")
        + ")."
    )
    for note in summary.get("notes", []):
        console.print(f"note: {note}")
    for item in summary.get("criteria_not_assessed_detail", []):
        console.print(_not_assessed_line(item))
    for name, path in outputs.items():
        console.print(f"  {name}: {path}")


def _not_assessed_line(item: dict[str, Any]) -> str:
    """One line for a criterion no unit could be judged on (an entry of summary.json's ``criteria_not_assessed_detail``)."""
    named = f"{item['criterion']} ({item['label']})" if item.get("label") else item["criterion"]
    if item.get("units_it_would_decide") is not None:
        done = f"verdicts given without it; it would decide {item['units_it_would_decide']} unit(s)"
    else:
        done = "units that depend on it are insufficient data"
    return f"not assessed for any unit (the dataset lacks its data): {named}: {done}. To assess it: " + (
        item.get("remedy") or "add the data") + "."


# ---------------------------------------------------------------- explain (typology + recommend)

@app.command()
def explain(
    unit: str = typer.Option(..., "--unit", "-u", help="Unit id (for example 230100)."),
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    settings: Optional[list[str]] = SetOption,
    lang: Optional[str] = LangOption,
    resources: Optional[Path] = typer.Option(None, "--resources", help="Resource-city table (CSV: unit_id or name, "
                                             "resource_type, exhausted_batch)."),
    seed: int = typer.Option(0, "--seed", help="Random state of the clustering and the driver model."),
    with_drivers: bool = typer.Option(True, "--drivers/--no-drivers", help="Fit the driver model for contributions."),
    stable_clusters: bool = StableOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Print one unit's full profile: verdict, criteria, types, cluster, drivers, recommendations."""
    from shrinkwatch.analysis.unit_profile import profile
    from shrinkwatch.identification import identify, load_standard

    standard, overrides = standard_and_settings(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(overrides)
    if lang is not None and lang not in ("en", "zh"):
        raise OptionError(f"--lang: expected 'en' or 'zh', got {lang!r}")
    panel = load_panel(dataset, data_dir)
    result = identify(panel, std, overrides, lang=lang, stable_clusters=stable_clusters)
    unit_profile = profile(panel, result, unit, resources=resources, seed=seed,
                           lang=lang or panel.language, drivers=with_drivers)
    console.print(unit_profile.to_text(), markup=False, soft_wrap=True)
    console.print(_robustness_line(panel, std, result, unit_profile.unit_id, lang or panel.language, stable_clusters),
                  markup=False, soft_wrap=True)


def _robustness_line(panel, std, result, unit_id: str, lang: str, stable_clusters: bool = True) -> str:  # noqa: ANN001
    """How the unit's verdict holds across the standard's own sensitivity grid."""
    from shrinkwatch.identification.sensitivity import sweep

    grid = dict(std.sensitivity)
    if not grid:
        return ""
    base = {k: v for k, v in result.parameters.items() if k not in grid}
    try:
        swept = sweep(panel, std, grid, base, stable_clusters=stable_clusters)
    except ShrinkWatchError as error:
        return f"Robustness: not assessed ({error})"
    row = swept.units.loc[unit_id]
    settings = "; ".join(f"{k} = {', '.join(str(v) for v in values)}" for k, values in grid.items())
    if lang == "zh":
        return (f"稳健性：在 {int(row['evaluable'])} 个可判定的参数组合中有 {int(row['shrinking'])} 个判定为收缩"
                f"（{row['robustness']}；{settings}）")
    return (f"Robustness: shrinking under {int(row['shrinking'])} of {int(row['evaluable'])} decidable settings "
            f"of the standard ({row['robustness']}; {settings})")


# ---------------------------------------------------------------- ingest (issue 4: user panels)

@app.command("ingest")
def ingest_command(
    files: list[Path] = typer.Argument(..., metavar="FILE",
                                       help="CSV, TSV, Excel (.xlsx, .xls), Parquet or Stata .dta files."),
    output: Path = typer.Option(..., "-o", "--output", help="Panel file to write (.parquet)."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Read only this sheet of each workbook."),
    maps: Optional[list[str]] = typer.Option(None, "--map", help="COLUMN=indicator (or a key: unit_id, name, year, ...; or ignore). Repeatable."),
    units: Optional[list[str]] = typer.Option(None, "--unit", help="COLUMN=UNIT for a column whose header has no unit (万人, 亿元, km2...). Repeatable."),
    vintage: Optional[int] = typer.Option(None, "--vintage", help="Harmonise codes to this administrative vintage (year) after reading."),
    strict: bool = typer.Option(False, "--strict", help="Fail if any row is rejected."),
    projected_from: Optional[int] = typer.Option(
        None, "--projected-from", metavar="YEAR",
        help="The files hold projections from YEAR on: those years may lie after the current year (up to 2100) "
             "and rules judge the years before YEAR only. Without it a year after the current year is rejected."),
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Read yearbook-style files into a panel file, with a ledger of every row (PANEL.ledger.csv)."""
    from shrinkwatch import harmonize  # loaded for this command only: start-up time
    from shrinkwatch import ingest as ingest_module
    from shrinkwatch.report import write_csv

    if output.suffix.lower() not in (".parquet", ".pq"):
        raise OptionError(f"-o {output}: the panel file must end in .parquet")
    ledger_path = output.with_name(output.name.rsplit(".", 1)[0] + ".ledger.csv")
    for source in files:
        if source.exists() and any(path.exists() and path.samefile(source) for path in (output, ledger_path)):
            raise OutputError(f"-o {output}: would replace the input file {source}; write the panel somewhere else")
    mapping = ingest_module.parse_assignments(maps, "--map")
    declared = ingest_module.parse_assignments(units, "--unit")
    try:
        result = ingest_module.ingest(files, sheet=sheet, mapping=mapping, units=declared, strict=strict,
                                      projected_from=projected_from)
    except ingest_module.IngestError as error:
        write_csv(error.ledger.to_frame(), ledger_path, index=False)
        err_console.print(error.ledger.summary(), markup=False, soft_wrap=True)
        err_console.print(f"ledger written to {ledger_path}; no panel written")
        raise
    panel = result.panel if vintage is None else harmonize.to_vintage(result.panel, vintage, data_dir)
    ingest_module.write_panel(panel, output)
    write_csv(panel.ledger.to_frame(), ledger_path, index=False)
    console.print(panel.ledger.summary(), markup=False, soft_wrap=True)
    console.print(f"wrote {output}: {len(panel.units)} units, years {panel.years[0] if panel.years else '-'}"
                  f"-{panel.years[-1] if panel.years else '-'}, indicators {', '.join(panel.indicators)}")
    console.print(f"ledger: {ledger_path}")


# ---------------------------------------------------------------- sensitivity (issue 3)

@app.command()
def sensitivity(
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    vary: list[str] = typer.Option(..., "--vary", help="key=v1,v2,... or key=start:stop:step (repeatable)."),
    settings: Optional[list[str]] = SetOption,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="CSV of counts per combination (default: stdout)."),
    units_output: Optional[Path] = typer.Option(None, "--units-output", help="CSV of per-unit shares and robustness."),
    stable_clusters: bool = StableOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Sweep a standard's parameters: the count per combination and each unit's robustness."""
    from shrinkwatch.identification import load_standard
    from shrinkwatch.identification import sensitivity as sens

    standard, overrides = standard_and_settings(dataset, standard, settings)
    grid = sens.parse_vary(vary)
    std = load_standard(standard)
    std.resolve(overrides)
    sens.check_grid(std, grid)  # reject bad keys and values before loading data
    panel = load_panel(dataset, data_dir)
    result = sens.sweep(panel, std, grid, overrides, stable_clusters=stable_clusters)
    _write_table(result.counts.set_index(list(grid)), output, "csv")
    if units_output is not None:
        _write_table(result.units, units_output, "csv")
    counts, summary = result.counts["shrinking"], result.summary()
    err_console.print(
        f"{result.combinations} combinations: {counts.min()}-{counts.max()} shrinking (median {counts.median():g}); "
        f"units robust {summary['robust']}, borderline {summary['borderline']}, never {summary['never']}, "
        f"insufficient data {summary['insufficient_data']}"
        + (f", boundary change {summary['boundary_change']}" if summary.get("boundary_change") else "")
    )


# ---------------------------------------------------------------- timeline (issue 12)

@app.command()
def timeline(
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    settings: Optional[list[str]] = SetOption,
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="CSV of the unit x year status table: one row per unit (its onset "
                                               "year, current spell, spells, recoveries), one column per as-of year."),
    stable_clusters: bool = StableOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Status through time: the standard as of every year the panel allows; counts, entries and exits per year."""
    from shrinkwatch.identification import load_standard
    from shrinkwatch.identification.timeline import CHANGES
    from shrinkwatch.identification.timeline import timeline as status_timeline

    standard, overrides = standard_and_settings(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(overrides)  # reject bad settings before loading data
    panel = load_panel(dataset, data_dir)
    result = status_timeline(panel, std, overrides, stable_clusters=stable_clusters)
    if output is not None:
        _write_table(result.wide(), output, "csv")
    counts = result.counts.drop(columns=[] if result.counts["boundary_change"].any() else ["boundary_change"])
    console.print(f"{result.standard_id} as of each year {result.years[0]}-{result.years[-1]} "
                  f"({len(result.years)} as-of years, {len(result.status):,} units)")
    console.print(counts.astype(object).where(counts.notna(), "-").to_string())
    console.print("; ".join(f"{name}: {meaning}" for name, meaning in CHANGES.items()))
    current = result.units["onset_year"].dropna()
    if len(current):
        console.print(f"{len(current):,} units shrinking as of {result.years[-1]}; median onset year "
                      f"{int(current.median())}, {int((current == result.years[-1]).sum()):,} started in "
                      f"{result.years[-1]}")
    for note in result.notes:
        err_console.print(f"note: {note}")


# ---------------------------------------------------------------- forecast, backtest

@app.command("forecast")
def forecast_command(
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    settings: Optional[list[str]] = SetOption,
    horizon: Optional[int] = typer.Option(None, "--horizon", help="Years ahead (default 10; 20 on a decennial "
                                          "census series); a multiple of the panel's step."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="CSV of per-unit forecasts, intervals and "
                                          "probabilities (default: stdout)."),
    paths_output: Optional[Path] = typer.Option(None, "--paths-output", help="CSV of every method's forecast per "
                                                "unit and year."),
    seed: int = typer.Option(0, "--seed", help="Random state of the boosted model."),
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Forecast every unit's population with intervals and its probability of meeting the standard; print the
    watchlist (units not shrinking now, most likely to be)."""
    from shrinkwatch.forecast import forecast
    from shrinkwatch.identification import load_standard

    standard, overrides = standard_and_settings(dataset, standard, settings)
    load_standard(standard).resolve(overrides)
    panel = load_panel(dataset, data_dir)
    result = forecast(panel, standard, overrides, horizon=horizon, seed=seed)
    _write_table(result.units, output, "csv")
    if paths_output is not None:
        _write_table(result.paths.set_index("unit_id"), paths_output, "csv")
    err_console.print(f"origin {result.origin_year}, horizon {result.horizon} years, {result.standard_id}: "
                      f"{int(result.units['probability'].notna().sum()):,} of {len(result.units):,} units with a "
                      f"probability; watchlist (not shrinking now):")
    for unit_id, row in result.watchlist.head(10).iterrows():
        err_console.print(f"  {unit_id}  {row['name']}: {row['probability']:.0%}", markup=False)
    if result.skill is not None:
        verdict = "beat" if result.beats_baselines else "do not beat"
        err_console.print(f"backtest at {result.horizon} years: the probabilities {verdict} persistence and the base "
                          "rate on the Brier score (" + ", ".join(f"{r.predictor} {r.brier:.3f}"
                                                                   for r in result.skill.itertuples()) + ")")


@app.command("backtest")
def backtest_command(
    dataset: str = DatasetOption,
    standard: Optional[str] = StandardOption,
    settings: Optional[list[str]] = SetOption,
    out_dir: Path = typer.Option(..., "-o", "--out", help="Folder for accuracy.csv, coverage.csv, shelf_life.csv "
                                 "and status.csv."),
    origins: Optional[str] = typer.Option(None, "--origins", help="Origin years, comma-separated (default: the "
                                          "dataset's own, or the last three before the final year)."),
    max_horizon: Optional[int] = typer.Option(None, "--max-horizon", help="Longest horizon scored, years."),
    seed: int = typer.Option(0, "--seed", help="Random state of the boosted model."),
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Score the forecasts by rolling origin (MAPE, MedAPE, MALPE, MASE, interval coverage, shelf life, and the
    status probabilities' Brier score against persistence and the base rate)."""
    from shrinkwatch.forecast import backtest
    from shrinkwatch.identification import load_standard
    from shrinkwatch.report import write_csv

    try:
        years = [int(x) for x in origins.split(",") if x.strip()] if origins else None
    except ValueError:
        raise OptionError(f"--origins {origins!r}: expected years separated by commas, such as 2013,2014") from None
    standard, overrides = standard_and_settings(dataset, standard, settings)
    load_standard(standard).resolve(overrides)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir}: exists and is not a folder")
    panel = load_panel(dataset, data_dir)
    result = backtest(panel, standard, overrides, origins=years, max_horizon=max_horizon, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables().items():
        write_csv(table, out_dir / f"{name}.csv", index=False)
    err_console.print(f"origins {', '.join(map(str, result.origins))}; wrote {', '.join(result.tables())} to {out_dir}")
    for horizon in sorted(set(result.accuracy["horizon"])):
        err_console.print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in result.comparison(int(horizon)).items()), markup=False)


# ---------------------------------------------------------------- serve (issue 13)

@app.command("serve")
def serve_command(
    datasets: Optional[list[str]] = typer.Option(None, "--dataset", "-d", help="Dataset id or panel file (.parquet) "
                                                 "to load at start (repeatable); any registered dataset is also "
                                                 "loaded on first request."),
    panels: Optional[list[Path]] = typer.Option(None, "--panels", help="Folder whose panel files requests may name "
                                                "(repeatable); nothing outside it is opened."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; beyond loopback needs --token."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    token: Optional[str] = typer.Option(None, "--token", envvar="SHRINKWATCH_TOKEN",
                                        help="Every request must carry it ('Authorization: Bearer TOKEN', or open the "
                                             "page once with ?token=TOKEN); at least 16 characters."),
    store: Optional[str] = typer.Option(None, "--store", help="The run store /api/runs reads (default: "
                                        "$SHRINKWATCH_STORE, else the user's data folder)."),
    allow_upload: bool = typer.Option(False, "--allow-upload", help="Accept POST /api/panels: a table ingested "
                                      "into the first --panels folder (off: the server is read-only)."),
    max_upload: float = typer.Option(20.0, "--max-upload", min=0.001, help="Largest upload, MB."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Seconds one request may compute before it is "
                                     "answered 503 (the result is still cached when it finishes)."),
    max_sweep: int = typer.Option(10_000, "--max-sweep", help="Most settings one /api/sensitivity request sweeps."),
    cors: Optional[list[str]] = typer.Option(None, "--cors", help="Let this origin's pages read the API, such as "
                                             "http://localhost:3000 (repeatable; default: none)."),
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Serve the API and the dashboard: explore standards, thresholds and units live in a browser."""
    from shrinkwatch.serve import ServeSettings, serve

    settings = ServeSettings(host=host, port=port, token=token, datasets=tuple(datasets or ()),
                             panel_dirs=tuple(panels or ()), data_dir=data_dir, store=store, allow_upload=allow_upload,
                             max_upload_bytes=int(max_upload * 2**20), time_limit=time_limit, max_sweep=max_sweep,
                             cors_origins=tuple(cors or ()))
    serve(settings, say=lambda message: err_console.print(message))


# ---------------------------------------------------------------- entry point

def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: usage errors print the usage and exit 2, user errors one line and their code."""
    app(args=argv, prog_name="shrinkwatch")

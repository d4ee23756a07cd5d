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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.text import Text
from typer._click.exceptions import ClickException  # typer bundles click; usage errors are these
from typer.core import TyperGroup

from shrinkwatch.core.errors import OptionError, OutputError, ShrinkWatchError
from shrinkwatch.core.messages import NOTE_TABLES, check_language, message, translate, translate_all

__all__ = ["app", "main"]

class _Commands(TyperGroup):
    """The command group: every failure becomes one line on stderr and a documented exit code.

    A user error (:class:`~shrinkwatch.core.errors.ShrinkWatchError`) prints its message and exits
    with its code (2 options and ids, 3 missing data, 4 checksum, 5 nothing usable in the input,
    6 output cannot be written, 7 run store unusable, 8 run store busy); an operating-system error on a
    file exits 6; anything unexpected prints one line naming the error and the file holding the full traceback, and exits 1
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
monitor_app = typer.Typer(help="The run store: recorded runs, what changed between two, a unit across runs.",
                          no_args_is_help=True, rich_markup_mode=None)
grid_app = typer.Typer(help="Raster stacks: per-pixel trends, zonal statistics into a panel, GHSL built-up area.",
                       no_args_is_help=True, rich_markup_mode=None)


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an unexpected error."),
) -> None:
    """Find, explain and monitor shrinking cities."""


app.add_typer(data_app, name="data")
app.add_typer(standards_app, name="standards")
app.add_typer(monitor_app, name="monitor")
app.add_typer(grid_app, name="grid")

# markup off: names, paths and messages are data, and a "[/x]" in them must print as it is
console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

DataDirOption = typer.Option(None, "--data-dir", help="Data directory (else $SHRINKWATCH_DATA, ./data, ../shared/data).")
DatasetOption = typer.Option("cn-prefecture-census", "--dataset", "-d", help="Dataset id or a panel file (.parquet).")
StandardOption = typer.Option(None, "--standard", "-s", help="Standard id or a path to a .toml file "
                              "(default: the dataset's own, see `data info`; census-decline for most).")
SetOption = typer.Option(None, "--set", help="Override a standard parameter: key=value (repeatable).")
LangOption = typer.Option(None, "--lang", help="Language of the reasons and the printed summary: en or zh "
                          "(default: the dataset's).")
SummaryLangOption = typer.Option("en", "--lang", help="Language of the printed summary: en or zh.")
StableOption = typer.Option(True, "--stable-clusters/--no-stable-clusters",
                            help="Judge units that exchanged territory between the compared years as their stable "
                                 "clusters (default), or leave them 'boundary_change'.")
StoreOption = typer.Option(None, "--store", metavar="PATH|URL",
                           help="Run store: a DuckDB file or a postgresql:// URL (default: $SHRINKWATCH_STORE, "
                                "else shrinkwatch.duckdb in the user's data folder).")
NoStoreOption = typer.Option(False, "--no-store", help="Do not record this run in the run store.")


def store_target(store: Optional[str], no_store: bool) -> str | bool:
    """What ``--store``/``--no-store`` ask for: False (record nothing), a path or URL, or True (the default
    store). Every command that records a run (``run``, ``timeline``, ``forecast``) passes this on."""
    if no_store and store:
        raise OptionError("--store and --no-store: give one of them, not both")
    return False if no_store else (store or True)


def _recorder(target: str | bool):  # noqa: ANN202 - a Store or None
    """The run store a command records into (:func:`store_target`), checked and migrated before any data is read
    so that a bad store fails first; None for --no-store."""
    if target is False:
        return None
    from shrinkwatch.store import Store

    recorder = Store(None if target is True else target)
    recorder.schema_version()
    return recorder


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
        kind = "panel" if ds.loadable else ("raster" if ds.raster else "reference")
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
        console.print(f"  file:        {f.path} [{present}]\n               {datasets.checksum_state(f, root)}"
                      f"\n               from {f.url}")
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

    # by default every dataset but the global rasters with no registered sha256 (fetched only by id)
    everything = [ds.id for ds in datasets.list_datasets() if not (ds.raster and not all(f.pinned for f in ds.files))]
    for dataset_id in dataset_ids or everything:
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
def standards_show(standard: str = typer.Argument(..., help="Standard id or .toml path."),
                   lang: str = SummaryLangOption) -> None:
    """Show a standard: its rule in words, parameters and criteria (in --lang; a user's standard without Chinese
    texts keeps its English ones)."""
    from shrinkwatch.identification import load_standard

    check_language(lang)
    std = load_standard(standard)

    def say(which: str, /, **fields: object) -> str:
        return message(f"cli.standards.{which}", lang, **fields)

    console.print(say("header", id=std.id, version=std.version, name=std.name_for(lang)), markup=False)
    console.print(std.summary_for(lang), markup=False)
    console.print(say("parameters"), markup=False)
    for key, spec in std.parameters.items():
        bounds = "" if spec.min is None and spec.max is None else say(
            "bounds", min="-∞" if spec.min is None else f"{spec.min:g}", max="∞" if spec.max is None else f"{spec.max:g}")
        choices = say("choices", choices=message("report.page.list_separator", lang).join(spec.choices)) \
            if spec.choices else ""
        console.print(say("parameter", key=key, type=say(f"type.{spec.type}"), default=repr(spec.default),
                          bounds=bounds, choices=choices, description=spec.description_for(lang)), markup=False)
    if std.criteria:
        console.print(say("criteria"), markup=False)
        for key, crit in std.criteria.items():
            console.print(say("criterion", key=key, label=crit.label_for(lang)), markup=False)
            if crit.remedy:
                console.print(say("remedy", remedy=crit.remedy_for(lang)), markup=False)
    if std.references:
        console.print(say("references"), markup=False)
    for ref in std.references:
        console.print(say("reference", reference=ref), markup=False)


# ---------------------------------------------------------------- identify

def _write_table(table, output: Optional[Path], fmt: str, lang: str = "en") -> None:  # noqa: ANN001
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
    err_console.print(message("cli.wrote_rows", lang, n=len(out), path=output))


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
    if lang is not None:
        check_language(lang)
    standard, overrides = standard_and_settings(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(overrides)
    panel = load_panel(dataset, data_dir)
    result = identify_panel(panel, std, overrides, lang=lang, stable_clusters=stable_clusters)
    said = lang or panel.language
    _write_table(result.table.drop(columns=["geometry"], errors="ignore"), output, fmt, said)
    counts = result.counts()
    via = int(result.table["via_stable_cluster"].sum())
    err_console.print(message(
        "cli.identify.summary", said, shrinking=counts["shrinking"], with_data=counts["units_with_data"],
        insufficient=counts["insufficient_data"], total=counts["units_total"],
        boundary=message("cli.identify.boundary", said, n=counts["boundary_change"]) if counts["boundary_change"] else "",
        clusters=message("cli.identify.clusters", said, n=via) if via else ""))
    for note in result.notes:
        err_console.print(message("cli.note", said, text=note))
    from shrinkwatch.report.labels import not_assessed  # the report layer is loaded above for the table writer

    for item in not_assessed(result, std):
        err_console.print(_not_assessed_line(item.as_dict(), said, std))


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
    store: Optional[str] = StoreOption,
    no_store: bool = NoStoreOption,
) -> None:
    """Run the whole path: load, identify, analyse, and write the report and tables as one set; record the run
    in the run store (see `shrinkwatch monitor`)."""
    from shrinkwatch import pipeline
    from shrinkwatch.identification.sensitivity import parse_vary

    if lang is not None:
        check_language(lang)
    standard, overrides = standard_and_settings(dataset, standard, settings)
    grid = parse_vary(vary) if vary else None
    outputs = pipeline.run(dataset, standard, overrides, out_dir=out, lang=lang, data_dir=data_dir,
                           analysis=analysis, seed=seed, resources=resources, vary=grid, force=force,
                           stable_clusters=stable_clusters, pdf=pdf, store=store_target(store, no_store),
                           progress=lambda m: err_console.print(f"• {m}"))
    summary = json.loads(outputs["summary.json"].read_text(encoding="utf-8"))
    manifest = json.loads(outputs["manifest.json"].read_text(encoding="utf-8"))
    said = lang or manifest.get("language") or "en"
    c = summary["counts"]
    console.print(message(
        "cli.run.summary", said, shrinking=c["shrinking"], with_data=c["units_with_data"],
        unit_label=summary["unit_label"] if said == "en" else message("cli.run.units", said),
        standard=summary["standard"]["id"], insufficient=c["insufficient_data"],
        boundary=message("cli.run.boundary", said, n=c["boundary_change"]) if c.get("boundary_change") else "",
        clusters=(message("cli.run.clusters", said, n=summary["via_stable_cluster"])
                  if summary.get("via_stable_cluster") else "")))
    for note in summary.get("notes", []):
        console.print(message("cli.note", said, text=note))
    std = None
    if summary.get("criteria_not_assessed_detail"):
        from shrinkwatch.identification import load_standard  # the standard's labels and remedies in the language

        std = load_standard(standard)
    for item in summary.get("criteria_not_assessed_detail", []):
        console.print(_not_assessed_line(item, said, std))
    for name, path in outputs.items():
        console.print(message("cli.run.file", said, name=name, path=path))


def _not_assessed_line(item: dict[str, Any], lang: str = "en", std: Any = None) -> str:
    """One line for a criterion no unit could be judged on (an entry of summary.json's ``criteria_not_assessed_detail``),
    in ``lang``: the label and remedy come from the standard ``std`` when it has them in that language."""
    spec = std.criteria.get(item["criterion"]) if std is not None else None
    label = spec.label_for(lang) if spec is not None else item.get("label")
    remedy = spec.remedy_for(lang) if spec is not None else item.get("remedy")
    named = label or item["criterion"]  # the label in the language; the id where the standard has none
    if item.get("units_it_would_decide") is not None:
        done = message("cli.not_assessed.set_aside", lang, n=item["units_it_would_decide"])
    else:
        done = message("cli.not_assessed.insufficient", lang)
    return message("cli.not_assessed.line", lang, named=named, done=done,
                   remedy=remedy or message("cli.not_assessed.remedy", lang))


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
    if lang is not None:
        check_language(lang)
    panel = load_panel(dataset, data_dir)
    result = identify(panel, std, overrides, lang=lang, stable_clusters=stable_clusters)
    unit_profile = profile(panel, result, unit, resources=resources, seed=seed,
                           lang=lang or panel.language, drivers=with_drivers, standard=std)
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
        return message("cli.explain.robustness_failed", lang, error=error)
    row = swept.units.loc[unit_id]
    settings = "; ".join(f"{k} = {', '.join(str(v) for v in values)}" for k, values in grid.items())
    robustness = row["robustness"] if lang == "en" else message(f"analysis.robustness.{row['robustness']}", lang)
    return message("cli.explain.robustness", lang, shrinking=int(row["shrinking"]), evaluable=int(row["evaluable"]),
                   robustness=robustness, settings=settings)


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
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Read yearbook-style files into a panel file, with a ledger of every row (PANEL.ledger.csv)."""
    from shrinkwatch import harmonize  # loaded for this command only: start-up time
    from shrinkwatch import ingest as ingest_module
    from shrinkwatch.report import write_csv

    check_language(lang)
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
        err_console.print(error.ledger.summary(lang=lang), markup=False, soft_wrap=True)
        err_console.print(message("cli.ingest.failed", lang, path=ledger_path))
        raise
    panel = result.panel if vintage is None else harmonize.to_vintage(result.panel, vintage, data_dir)
    ingest_module.write_panel(panel, output)
    write_csv(panel.ledger.to_frame(), ledger_path, index=False)
    console.print(panel.ledger.summary(lang=lang), markup=False, soft_wrap=True)
    console.print(message("cli.ingest.wrote", lang, path=output, units=len(panel.units),
                          first=panel.years[0] if panel.years else "-", last=panel.years[-1] if panel.years else "-",
                          indicators=", ".join(panel.indicators)))
    console.print(message("cli.ingest.ledger", lang, path=ledger_path))


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
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Sweep a standard's parameters: the count per combination and each unit's robustness."""
    from shrinkwatch.identification import load_standard
    from shrinkwatch.identification import sensitivity as sens

    check_language(lang)
    standard, overrides = standard_and_settings(dataset, standard, settings)
    grid = sens.parse_vary(vary)
    std = load_standard(standard)
    std.resolve(overrides)
    sens.check_grid(std, grid)  # reject bad keys and values before loading data
    panel = load_panel(dataset, data_dir)
    result = sens.sweep(panel, std, grid, overrides, stable_clusters=stable_clusters)
    _write_table(result.counts.set_index(list(grid)), output, "csv", lang)
    if units_output is not None:
        _write_table(result.units, units_output, "csv", lang)
    counts, summary = result.counts["shrinking"], result.summary()
    err_console.print(message(
        "cli.sensitivity.summary", lang, combinations=result.combinations, low=counts.min(), high=counts.max(),
        median=f"{counts.median():g}", robust=summary["robust"], borderline=summary["borderline"],
        never=summary["never"], insufficient=summary["insufficient_data"],
        boundary=(message("cli.sensitivity.boundary", lang, n=summary["boundary_change"])
                  if summary.get("boundary_change") else "")))


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
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
    store: Optional[str] = StoreOption,
    no_store: bool = NoStoreOption,
) -> None:
    """Status through time: the standard as of every year the panel allows; counts, entries and exits per year.
    The statuses are recorded in the run store (kind timeline, one period per as-of year)."""
    from shrinkwatch.identification import load_standard
    from shrinkwatch.identification.timeline import CHANGES
    from shrinkwatch.identification.timeline import timeline as status_timeline

    check_language(lang)
    standard, overrides = standard_and_settings(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(overrides)  # reject bad settings before loading data
    recorder = _recorder(store_target(store, no_store))
    panel = load_panel(dataset, data_dir)
    result = status_timeline(panel, std, overrides, stable_clusters=stable_clusters)
    if recorder is not None:
        from shrinkwatch.store import record_run, timeline_periods

        with recorder:
            recorded = record_run(recorder, kind="timeline", panel=panel, results=timeline_periods(result, panel),
                                  standard=std, parameters=result.parameters,
                                  options={"stable_clusters": bool(stable_clusters)})
        err_console.print(message("monitor.recorded", lang, run_id=recorded.run_id, store=recorder.label))
    if output is not None:
        _write_table(result.wide(), output, "csv", lang)
    counts = result.counts.drop(columns=[] if result.counts["boundary_change"].any() else ["boundary_change"])
    console.print(message("cli.timeline.header", lang, standard=result.standard_id, first=result.years[0],
                          last=result.years[-1], years=len(result.years), units=f"{len(result.status):,}"))
    shown = counts.astype(object).where(counts.notna(), "-")
    if lang != "en":  # the columns in words: statuses and changes
        words = {**{s: message(f"common.status.{s}", lang) for s in ("shrinking", "not_shrinking",
                                                                     "insufficient_data", "boundary_change")},
                 **{c: message(f"cli.timeline.changes.{c}", lang).split("：")[0] for c in CHANGES},
                 "units_with_data": message("cli.timeline.with_data", lang)}
        shown = shown.rename(columns=words).rename_axis(index=message("cli.timeline.year", lang))
    console.print(shown.to_string())
    console.print(message("cli.timeline.separator", lang).join(message(f"cli.timeline.changes.{name}", lang)
                                                               for name in CHANGES))
    current = result.units["onset_year"].dropna()
    if len(current):
        console.print(message("cli.timeline.current", lang, n=f"{len(current):,}", year=result.years[-1],
                              median=int(current.median()),
                              started=f"{int((current == result.years[-1]).sum()):,}"))
    for note in result.notes:
        err_console.print(message("cli.note", lang, text=note))


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
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
    store: Optional[str] = StoreOption,
    no_store: bool = NoStoreOption,
) -> None:
    """Forecast every unit's population with intervals and its probability of meeting the standard; print the
    watchlist (units not shrinking now, most likely to be). The forecast is recorded in the run store (kind
    forecast: every unit's forecasts, intervals and probabilities per year, and the watchlist)."""
    from shrinkwatch.forecast import forecast
    from shrinkwatch.identification import load_standard

    check_language(lang)
    standard, overrides = standard_and_settings(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(overrides)
    recorder = _recorder(store_target(store, no_store))
    panel = load_panel(dataset, data_dir)
    result = forecast(panel, std, overrides, horizon=horizon, seed=seed)
    if recorder is not None:
        from shrinkwatch.store import forecast_parts, record_run

        with recorder:
            recorded = record_run(recorder, kind="forecast", panel=panel, standard=std, **forecast_parts(result, panel))
        err_console.print(message("monitor.recorded", lang, run_id=recorded.run_id, store=recorder.label))
    _write_table(result.units, output, "csv", lang)
    if paths_output is not None:
        _write_table(result.paths.set_index("unit_id"), paths_output, "csv", lang)
    err_console.print(message("cli.forecast.summary", lang, origin=result.origin_year, horizon=result.horizon,
                              standard=result.standard_id, with_p=f"{int(result.units['probability'].notna().sum()):,}",
                              units=f"{len(result.units):,}"))
    for unit_id, row in result.watchlist.head(10).iterrows():
        err_console.print(message("cli.forecast.watch", lang, unit_id=unit_id, name=row["name"],
                                  p=row["probability"]), markup=False)
    if result.skill is not None:
        verdict = message("cli.forecast.beat" if result.beats_baselines else "cli.forecast.not_beat", lang)
        err_console.print(message("cli.forecast.skill", lang, horizon=result.horizon, verdict=verdict,
                                  scores=", ".join(f"{r.predictor} {r.brier:.3f}" for r in result.skill.itertuples())))


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
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Score the forecasts by rolling origin (MAPE, MedAPE, MALPE, MASE, interval coverage, shelf life, and the
    status probabilities' Brier score against persistence and the base rate)."""
    from shrinkwatch.forecast import backtest
    from shrinkwatch.identification import load_standard
    from shrinkwatch.report import write_csv

    check_language(lang)
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
    err_console.print(message("cli.backtest.summary", lang, origins=", ".join(map(str, result.origins)),
                              tables=", ".join(result.tables()), out=out_dir))
    for horizon in sorted(set(result.accuracy["horizon"])):
        err_console.print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in result.comparison(int(horizon)).items()), markup=False)


# ---------------------------------------------------------------- monitor (issue 12: the run store)

def _say(key: str, **fields: object) -> str:
    """A line of the monitor commands (``monitor.*`` in the message catalogues)."""
    return message(f"monitor.{key}", "en", **fields)


FormatOption = typer.Option("text", "--format", "-f", help="text, csv or json.")


def _monitor_store(store: Optional[str]):  # noqa: ANN202 - a Store
    """The run store the monitor commands read; a file that does not exist is an error, not a new store."""
    from shrinkwatch.store import Store

    return Store(store, create=False)


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "csv", "json"):
        raise OptionError(f"--format: expected text, csv or json, got {fmt!r}")


def _when(created) -> str:  # noqa: ANN001 - a timestamp
    return created.strftime("%Y-%m-%d %H:%M:%S UTC")


def _settings(parameters: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in parameters.items())


@monitor_app.command("runs")
def monitor_runs(
    store: Optional[str] = StoreOption,
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Show the newest N runs."),
    fmt: str = FormatOption,
) -> None:
    """List the recorded runs, newest first: id, time, kind, dataset, standard and counts."""
    from shrinkwatch.store import resolve_target

    _check_format(fmt)
    target = resolve_target(store)
    if "://" not in target and not Path(target).expanduser().exists():
        console.print(_say("no_store", store=target))
        return
    with _monitor_store(store) as opened:
        every = opened.runs()
    total, table = len(every), every.head(limit)
    if fmt != "text":
        out = table.assign(created=table["created"].map(lambda t: t.isoformat()),
                           parameters=table["parameters"].map(lambda p: json.dumps(p, ensure_ascii=False)))
        _write_table(out, None, fmt)
        return
    if not total:
        console.print(_say("empty", store=opened.label))
        return
    console.print(_say("runs", store=opened.label, shown=len(table), total=total))
    shown = table.assign(created=table["created"].map(_when),
                         standard=[f"{s} ({_settings(p)})" for s, p in zip(table["standard_id"], table["parameters"])])
    columns = ["run_id", "created", "kind", "dataset_id", "units", "shrinking", "not_shrinking", "insufficient_data",
               "boundary_change", "standard"]
    if (table["kind"] == "forecast").any():  # the units on a forecast's watchlist
        columns.insert(-1, "watchlist")
    console.print(shown.reset_index()[columns].to_string(index=False))


@monitor_app.command("diff")
def monitor_diff(
    run_a: str = typer.Argument(..., help="The earlier run's id (see `monitor runs`)."),
    run_b: str = typer.Argument(..., help="The later run's id."),
    store: Optional[str] = StoreOption,
    fmt: str = FormatOption,
) -> None:
    """What changed from RUN_A to RUN_B: units that entered or left the shrinking set or changed severity,
    counted by region and by parent."""
    from shrinkwatch.store import diff_runs

    _check_format(fmt)
    with _monitor_store(store) as opened:
        a, b = opened.read(run_a), opened.read(run_b)
    diff = diff_runs(a, b)
    if fmt == "json":
        sys.stdout.write(json.dumps(diff.as_dict(), ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == "csv":
        _write_table(diff.changes, None, "csv")
        return

    def describe(record) -> str:  # noqa: ANN001 - a RunRecord
        return _say("run", run_id=record.run_id, created=_when(record.created), kind=record.kind,
                                          dataset=record.dataset_id,
                                          standard=f"{record.standard_id} ({_settings(record.parameters)})")

    console.print(_say("against", a=describe(a), b=describe(b)))
    console.print(_say("counts", **diff.counts()))
    for note in diff.notes:
        console.print(_say("note", note=note))
    if diff.changes.empty:
        return
    for column, label in (("region", "region"), ("parent_name", "parent")):
        console.print(_say("by", column=label))
        console.print(diff.by(column).to_string())
    console.print(_say("units"))
    console.print(diff.changes.drop(columns=["parent_id"]).to_string())


def _forecast_text(row) -> str:  # noqa: ANN001 - a row of Store.unit_history
    """``12,345 [11,000-13,500] in 2030`` for a forecast's row, "" for other kinds."""
    import pandas as pd  # deferred: the CLI starts without pandas

    if pd.isna(row.forecast_year):
        return ""
    def number(value: float) -> str:
        return "-" if pd.isna(value) else f"{value:,.0f}"
    return f"{number(row.forecast)} [{number(row.lower)}-{number(row.upper)}] in {int(row.forecast_year)}"


@monitor_app.command("unit")
def monitor_unit(
    unit_id: str = typer.Argument(..., help="Unit id as in the results (for example 230100)."),
    store: Optional[str] = StoreOption,
    fmt: str = FormatOption,
) -> None:
    """One unit's verdicts across the recorded runs, oldest first."""
    _check_format(fmt)
    with _monitor_store(store) as opened:
        history = opened.unit_history(unit_id)
    if fmt != "text":
        out = history.assign(created=history["created"].map(lambda t: t.isoformat()),
                             parameters=history["parameters"].map(lambda p: json.dumps(p, ensure_ascii=False)))
        _write_table(out.set_index("run_id"), None, fmt)
        return
    last = history.iloc[-1]
    console.print(_say("unit", unit_id=unit_id, name=last["name"], parent=last["parent_name"],
                                              region=last["region"], verdicts=len(history),
                                              runs=history["run_id"].nunique()))
    shown = history.assign(created=history["created"].map(_when),
                           standard=[f"{s} ({_settings(p)})" for s, p in zip(history["standard_id"],
                                                                           history["parameters"])])
    columns = ["run_id", "created", "kind", "dataset_id", "period", "status", "severity", "annual_rate", "standard"]
    if history["forecast_year"].notna().any():  # a forecast's: the combined forecast, interval, probability, rank
        import pandas as pd  # deferred: the CLI starts without pandas

        shown = shown.assign(forecast=[_forecast_text(r) for r in history.itertuples()],
                             probability=history["probability"].map(lambda p: "" if pd.isna(p) else f"{p:.3f}"),
                             watch_rank=history["watch_rank"].map(lambda r: "" if pd.isna(r) else str(int(r))))
        columns[-1:-1] = ["forecast", "probability", "watch_rank"]
    console.print(shown[columns].to_string(index=False))
    if isinstance(last["reason"], str) and last["reason"]:
        console.print(_say("latest_reason", reason=last["reason"]))


# ---------------------------------------------------------------- grid (issue 14: raster stacks)

StackArgument = typer.Argument(..., metavar="STACK...", help="GeoTIFFs (one per year; the year from the name "
                               "or --years), one multi-band GeoTIFF with --years, a NetCDF file or a Zarr store.")
YearsOption = typer.Option(None, "--years", help="Years in file (or band) order, comma-separated: 2000,2005,...")
KindOption = typer.Option("count", "--kind", help="What the values measure: count (people, m2 per pixel), mean "
                          "(a density or radiance) or category.")
ReprojectOption = typer.Option(False, "--reproject", help="Resample rasters on other grids onto the first one's "
                               "grid (sum for counts, average for means, mode for categories) instead of refusing them.")
VariableOption = typer.Option(None, "--variable", help="NetCDF/Zarr variable (when there are several).")
CrsOption = typer.Option(None, "--crs", help="CRS of rasters that declare none (e.g. EPSG:4326).")
SchedulerOption = typer.Option(None, "--scheduler", envvar="SHRINKWATCH_COMPUTE_SCHEDULER",
                               help="compute.scheduler: threads (default, in this process), local (a Dask "
                                    "LocalCluster) or tcp://host:port (an existing Dask cluster).")
ZonesOption = typer.Option(..., "--zones", help="Polygons: a vector file (GeoPackage, GeoJSON, shapefile...) or a "
                           "registered dataset id whose units have outlines (cn-prefecture-census).")
IdFieldOption = typer.Option(None, "--id-field", help="Column of the zones holding the unit id (default: the "
                             "dataset's unit_id, else the row number).")
NameFieldOption = typer.Option(None, "--name-field", help="Column of the zones holding the unit name.")
MinCoverageOption = typer.Option(0.95, "--min-coverage", help="Least share of a polygon valid pixels must cover for a "
                                 "unit-year to get a value (else insufficient data).")

def _grid_say(key: str, lang: str, /, **fields: Any) -> str:
    """A line of the grid commands ([grid.cli]) in ``lang``."""
    return message(f"grid.cli.{key}", lang, **fields)


def _check_grid_panel(output: Path, lang: str) -> None:
    """The checks of ``grid zonal|builtup`` before any reading: ``--lang``, and ``-o`` a .parquet file."""
    check_language(lang)
    if output.suffix.lower() not in (".parquet", ".pq"):
        raise OptionError(_grid_say("suffix", "en", path=output))  # errors stay English


def _grid_years(value: Optional[str]) -> Optional[list[int]]:
    if value is None:
        return None
    try:
        return [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise OptionError(_grid_say("years", "en", value=value)) from None  # errors stay English


def _grid_progress(lang: str) -> Callable[[str], None]:
    """The grid stage's progress lines (the catalogue's English, [grid.progress]) printed in ``lang``."""
    return lambda line: err_console.print(_grid_say("bullet", lang, text=translate(line, "grid.progress", lang)))


def _grid_notes(notes: Sequence[str], lang: str) -> list[str]:
    """Stored notes (the catalogue's English) as ``note: ...`` lines in ``lang``."""
    return [message("cli.note", lang, text=note) for note in translate_all(list(notes), NOTE_TABLES, lang)]


def _grid_stack(stack: list[Path], years: Optional[str], kind: str, reproject: bool, variable: Optional[str],
                crs: Optional[str], lang: str = "en"):  # noqa: ANN202 - a Stack
    from shrinkwatch.grid.stack import open_stack

    opened = open_stack(stack, _grid_years(years), kind=kind, variable=variable, reproject=reproject, crs=crs)
    err_console.print(_grid_say("bullet", lang, text=_grid_say("opened", lang, n=len(opened.years),
                                                                first=opened.years[0], last=opened.years[-1],
                                                                grid=opened.grid_text(lang))))
    for line in _grid_notes(opened.notes, lang):
        err_console.print(line)
    return opened


def _write_grid_panel(result, output: Path, lang: str = "en") -> None:  # noqa: ANN001 - a ZonalResult
    from shrinkwatch.core.panelfile import write_panel
    from shrinkwatch.report import write_csv

    panel = result.panel
    write_panel(panel, output)
    stem = output.name.rsplit(".", 1)[0]
    write_csv(panel.ledger.to_frame(), output.with_name(stem + ".ledger.csv"), index=False)
    write_csv(result.stats, output.with_name(stem + ".zonal.csv"), index=False)
    console.print(panel.ledger.summary(lang=lang), markup=False, soft_wrap=True)
    console.print(_grid_say("panel", lang, path=output, units=len(panel.units), years=len(panel.years),
                            first=panel.years[0], last=panel.years[-1], indicators=", ".join(panel.indicators)))
    if "spatial_pattern" in panel.units.columns:
        counts = panel.units["spatial_pattern"].value_counts()
        # English keeps the column's keys (emptying_periphery), as before; another language says the pattern
        names = {key: key for key in counts.index} if lang == "en" else \
            {key: message(f"grid.pattern.{key}", lang) for key in counts.index}
        console.print(_grid_say("patterns", lang, counts=_grid_say("pattern_separator", lang).join(
            _grid_say("pattern_count", lang, pattern=names[k], n=v) for k, v in counts.items())))
    for line in _grid_notes(panel.meta.notes, lang):
        console.print(line)


@grid_app.command("trend")
def grid_trend(
    stack: list[Path] = StackArgument,
    output: Path = typer.Option(..., "-o", "--output", help="Folder for slope.tif, p.tif, z.tif, decline.tif."),
    years: Optional[str] = YearsOption,
    kind: str = KindOption,
    reproject: bool = ReprojectOption,
    variable: Optional[str] = VariableOption,
    crs: Optional[str] = CrsOption,
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the Mann-Kendall test."),
    min_valid: Optional[int] = typer.Option(None, "--min-valid", help="Fewest valid years a pixel needs (default 8, "
                                            "or every year of a shorter stack)."),
    scheduler: Optional[str] = SchedulerOption,
    lang: str = SummaryLangOption,
) -> None:
    """Per-pixel Mann-Kendall test and Theil-Sen slope of a stack, written as GeoTIFFs."""
    from shrinkwatch.grid.compute import engine
    from shrinkwatch.grid.rasters import write_trends
    from shrinkwatch.grid.zonal import stack_trends

    check_language(lang)
    if output.exists() and not output.is_dir():
        raise OutputError(_grid_say("out_dir", "en", path=output))  # errors stay English
    opened = _grid_stack(stack, years, kind, reproject, variable, crs, lang)
    with engine(scheduler) as running:
        err_console.print(_grid_say("bullet", lang, text=_grid_say(
            "engine", lang, engine=translate(running.description, "grid.engine", lang))))
        trends = stack_trends(opened, running, min_valid=min_valid)
    paths = write_trends(trends, opened, output, alpha)
    decline = int(trends.significant_decline(alpha).sum())
    rise = int(((~trends.insufficient) & (trends.s > 0) & (trends.p < alpha)).sum())
    console.print(_grid_say("trend", lang, assessed=int((~trends.insufficient).sum()),
                            insufficient=int(trends.insufficient.sum()), decline=decline, rise=rise, alpha=alpha))
    for path in paths:
        console.print(_grid_say("wrote", lang, path=path))


@grid_app.command("zonal")
def grid_zonal(
    stack: list[Path] = StackArgument,
    zones: str = ZonesOption,
    output: Path = typer.Option(..., "-o", "--output", help="Panel file to write (.parquet); PANEL.ledger.csv and "
                                "PANEL.zonal.csv (sum, mean, count, covered share per unit and year) beside it."),
    id_field: Optional[str] = IdFieldOption,
    name_field: Optional[str] = NameFieldOption,
    indicator: str = typer.Option("pop_resident", "--indicator", help="Canonical indicator the values are."),
    stat: Optional[str] = typer.Option(None, "--stat", help="sum (default for counts) or mean (default for --kind mean)."),
    years: Optional[str] = YearsOption,
    kind: str = KindOption,
    reproject: bool = ReprojectOption,
    variable: Optional[str] = VariableOption,
    crs: Optional[str] = CrsOption,
    min_coverage: float = MinCoverageOption,
    trend: bool = typer.Option(True, "--trend/--no-trend", help="Add each unit's share of pixels in significant "
                               "decline and its core/periphery pattern (stacks of 3+ years)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the Mann-Kendall tests."),
    core_radius: float = typer.Option(0.5, "--core-radius", help="Core: within this share of the unit's equivalent "
                                      "radius of its population-weighted centre."),
    scheduler: Optional[str] = SchedulerOption,
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Exact zonal statistics of a stack over polygons, written as a panel file for identify and run."""
    from shrinkwatch.grid.compute import resolve_scheduler
    from shrinkwatch.grid.zonal import read_zones, zonal_panel

    _check_grid_panel(output, lang)
    resolve_scheduler(scheduler)  # a bad setting fails before any reading
    opened = _grid_stack(stack, years, kind, reproject, variable, crs, lang)
    polygons = read_zones(zones, id_field, name_field, data_dir)
    result = zonal_panel(opened, polygons, indicator=indicator, stat=stat, min_coverage=min_coverage, trend=trend,
                         alpha=alpha, core_radius=core_radius, scheduler=scheduler, progress=_grid_progress(lang))
    _write_grid_panel(result, output, lang)


@grid_app.command("builtup")
def grid_builtup(
    stack: list[Path] = typer.Argument(..., metavar="RASTER...", help="One GHSL 'epoch first built' raster, or "
                                       "GHS-BUILT-S surfaces (one per epoch)."),
    zones: str = ZonesOption,
    output: Path = typer.Option(..., "-o", "--output", help="Panel file to write (.parquet)."),
    id_field: Optional[str] = IdFieldOption,
    name_field: Optional[str] = NameFieldOption,
    mode: str = typer.Option("auto", "--mode", help="epoch (first-built epochs), surface (m2 per cell per epoch), or "
                             "auto (one raster: epoch; several: surface)."),
    years: Optional[str] = YearsOption,
    min_coverage: float = MinCoverageOption,
    scheduler: Optional[str] = SchedulerOption,
    lang: str = SummaryLangOption,
    data_dir: Optional[Path] = DataDirOption,
) -> None:
    """Built-up km2 per unit and epoch from GHSL (builtup_km2), beside the zones' dataset's own indicators."""
    from shrinkwatch.grid.builtup import MODES, builtup_panel
    from shrinkwatch.grid.compute import resolve_scheduler
    from shrinkwatch.grid.zonal import read_zones

    _check_grid_panel(output, lang)
    if mode not in MODES:
        raise OptionError(_grid_say("mode", "en", modes=", ".join(MODES), value=mode))  # errors stay English
    resolve_scheduler(scheduler)
    one = len(stack) == 1 and mode != "surface"
    opened = _grid_stack(stack, years or ("2030" if one else None), "category" if one else "count", False, None, None,
                         lang)
    polygons = read_zones(zones, id_field, name_field, data_dir)
    result = builtup_panel(opened, polygons, mode=mode, min_coverage=min_coverage, scheduler=scheduler,
                           source_panel=polygons.panel, progress=_grid_progress(lang))
    _write_grid_panel(result, output, lang)


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

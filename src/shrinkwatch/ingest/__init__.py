"""Read users' own panels: yearbook exports in CSV, TSV, Excel, Parquet and Stata.

:func:`ingest` turns one or more files into a :class:`~shrinkwatch.core.Panel`
carrying a :class:`~shrinkwatch.core.ledger.Ledger` that accounts for every data row read.

Formats and layouts
-------------------
- ``.csv``, ``.tsv``, ``.txt`` (UTF-8, UTF-8 with BOM, GBK/GB18030: a file that is not
  UTF-8 throughout is read line by line; its encoding is the one most lines with non-ASCII
  bytes are valid in, UTF-8 on a tie, and the ledger names it), ``.xlsx``/``.xlsm``
  (openpyxl), ``.xls`` (xlrd), ``.parquet`` and Stata ``.dta``. A line not valid in the
  file's encoding is rejected with the reason and its bytes (escaped), and so is a UTF-8
  line in a GBK file: its bytes would decode, into mojibake (哈尔滨市 -> 鍝堝皵婊...).
- **two-row headers**: merged yearbook headers such as 年末总人口(万人) over 全市 | 市辖区 (the
  districts-only column becomes ``pop_registered_district``, ``gdp_district``...);
- **wide by indicator and year**: headers that carry both (``pop2015``, ``gdp_2016`` as in Stata wide
  exports, ``常住人口2017年(万人)``, ``2018年地区生产总值(亿元)``);
- **wide by year**: a unit column and year columns (``2015``, ``2015年``, ``2015 年``);
  the indicator comes from an indicator column (``指标``, with an optional ``单位``
  column), else from the sheet name, else from the file name (``常住人口(万人).csv``).
- **long**: unit, year and one column per indicator.
- **one sheet (or file) per year**: the year is taken from the sheet name
  (``2015``, ``2015年``) or, for CSV files, from the file name.

The header row is the first of the first 30 rows with at least two recognised
headers, one of them a unit, year or indicator key and one a value or year column
(rows above it, such as a table title, are not data). Every row below the header is
a data row, except blank rows, which are counted separately (``sources.blank_rows``).
A sheet without such a header (a notes sheet) is skipped with a warning. Columns
that match nothing are listed in ``Ledger.ignored_columns``, never dropped silently.
Not handled: two-row headers (a unit row under the header row) and province subtotal
rows without a total label; their rows are accepted or rejected as they read.

Headers are matched through the alias table ``resources/aliases.toml`` (Chinese and
English yearbook headers to the canonical indicators of ARCHITECTURE.md), after
NFKC normalisation; a unit in brackets (``年末户籍人口(万人)``, ``地区生产总值（亿元）``)
or a trailing ``%``/``‰`` is parsed and converted to the canonical unit (persons,
km2, local currency, percent 0-100; ``birth_rate`` stays per mille). A header without
a unit is taken to be in the canonical unit, recorded as such in the ledger (with
a warning when a population median below 5,000 suggests 万人, or when every share is
at most 1, as Excel percentage cells store fractions).

How each column is read, and why
--------------------------------
Every column's reading is recorded in ``Ledger.columns`` (and printed by
``shrinkwatch ingest``) with its evidence and a confidence: ``given``
(``--map``/``--unit``), ``header`` (a known header), ``label`` (a Stata variable
label such as ``年末户籍人口（万人）``, which also gives the unit; a code column's
value labels name the units), ``content`` (under a header nothing knows, such as
``prefid`` or ``dm``, the values are 6-digit GB/T codes, 5-digit FIPS codes or
Chinese place names with 市/县/区; see :mod:`~shrinkwatch.ingest.content`) or
``context``. Generic headers whose reading a guess would decide are listed under
``[ambiguous]`` in the alias table: ``pop``/``population``/``总人口`` (registered 户籍
or resident 常住 population?) and ``gdp growth`` (real or nominal?). In a table whose
units are Chinese they are not read, and ``ignored_columns`` gives the ``--map`` that
takes them; elsewhere a generic population header is resident population
(``context``). A header and a label that disagree make the column ambiguous too.
Qualifiers decide GDP series: ``名义``/``当年价格``/``nominal`` keep GDP nominal (a
nominal growth rate is not read), ``实际``/``不变价``/``real`` make it real. Percent
indicators (growth rates, shares) given without a unit whose values all lie within
(-1, 1) are fractions and are multiplied by 100, recorded as a conversion
(``--unit COLUMN=%`` keeps them as they are). GDP or population given without a unit
whose magnitude suggests 亿元 or 万人 gets a warning naming the ``--unit`` to add.

Cells
-----
Thousands separators (``1,234``), full-width digits and punctuation (``１，２３４``),
and a ``%`` (``‰``) sign in a percent (per-mille) column are cleaned. Empty cells and
the markers ``—``, ``…``, ``-``, ``--``, ``/``, ``NA``, ``N/A``, ``nan``, ``null``
(any cell made only of dashes, dots, slashes or ellipses) are *missing*: recorded as
missing in the ledger, never a rejection.

Rows
----
A data row is rejected, with file, sheet, row and column in the ledger, when it has
no unit id and no name, a code in scientific notation (``2.307E+05``: the spreadsheet
dropped digits; store codes as text), an unparseable year, a year before 1790 or after
the current year (unless marked as a projection with ``projected_from`` /
``--projected-from YEAR``; never after 2100), an unparseable number (``abc``), a value
outside the indicator's range (a negative population, a share above 100) or outside
what a city-level unit can have (:data:`~shrinkwatch.ingest.plausibility.PLAUSIBLE`: over
100 million people, over 100,000 km2 built up), is a total
(``合计``, ``总计``, ``全国``, ``Total``) or a note (``注：``, ``资料来源``), names an
indicator the alias table does not know (in an indicator column), or is a conflicting
duplicate. Rows are numbered as a spreadsheet or text editor shows them
(the header of a plain CSV is row 1); in Parquet and Stata files row *n* is the *n*-th
observation.

Duplicates: two rows giving the same unit, year and indicator *different* values are
**both rejected** (reason ``duplicate with different values``): the ledger cannot know
which is right, so neither is kept. Equal values are collapsed and counted in the
ledger. A row giving a value where another left the cell missing simply fills it in
(this is how several files with different indicators merge).

A year column of a wide table with an implausible year is not read (listed in
``Ledger.ignored_columns`` with the cells it held, and in the warnings); its rows are kept.
A population of 0 is a value, not a missing figure (a warning lists such cells).

Numeric codes that lost a leading zero (a spreadsheet storing ``01001`` as 1001) are
padded when the digit counts of all numeric code columns, across files, are a
standard's width and one less (US FIPS: state 2, county 5, place 7, tract 11 digits),
each recorded in ``Ledger.cell_actions``; GB/T 2260 codes never start with 0.

Units without a code get ``unit_id`` = the name as written (NFKC, spaces between
Chinese characters removed: ``北  京`` -> ``北京``), or ``province/name``
when the table has a province column (so that 朝阳区 in Beijing and in Changchun stay
apart). Ingest does not harmonise: :func:`shrinkwatch.harmonize.to_vintage` re-bases
codes to one administrative vintage (``shrinkwatch ingest --vintage`` calls it).

Modules, in the order data flows through them: :mod:`~shrinkwatch.ingest.readers`
(files to raw cells), :mod:`~shrinkwatch.ingest.headers` (alias table, header row,
column roles), :mod:`~shrinkwatch.ingest.cells` (numbers, missing markers, units, code
widths), :mod:`~shrinkwatch.ingest.plausibility` (plausible values and years),
:mod:`~shrinkwatch.ingest.layouts` (long and wide tables to rows and cells) and
:mod:`~shrinkwatch.ingest.assemble` (rejections, duplicates, the Panel and its
:class:`~shrinkwatch.core.ledger.Ledger`). The panel file written by ``shrinkwatch
ingest -o`` is :mod:`shrinkwatch.core.panelfile`'s (re-exported here).
"""

from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.panelfile import PANEL_FORMAT, read_panel, write_panel
from shrinkwatch.ingest.assemble import IngestError, IngestResult, NothingAcceptedError, ingest
from shrinkwatch.ingest.headers import (
    CANONICAL_INDICATORS,
    KEY_COLUMNS,
    aliases,
    parse_assignments,
)
from shrinkwatch.ingest.readers import SUPPORTED_SUFFIXES

__all__ = [
    "CANONICAL_INDICATORS", "KEY_COLUMNS", "PANEL_FORMAT", "SUPPORTED_SUFFIXES", "IngestError",
    "IngestResult", "NothingAcceptedError", "Ledger", "aliases", "ingest", "parse_assignments", "read_panel", "write_panel",
]

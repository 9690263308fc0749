"""Read what a hospital exports into the text cells the data contract is checked on (``aice rerun``).

Inputs: a folder or a single file; CSV (delimiter, decimal comma, encoding and byte-order mark detected
when unambiguous, else set by the mapping's ``csv: {sep, decimal, encoding}``), Excel ``.xlsx`` (a
workbook whose sheets are the contract's files), SPSS ``.sav`` and Stata ``.dta`` (value labels applied
before the mapping). The mapping's ``files: {aice_cohort.csv: {source: "Patients"}}`` names where each
contract file comes from: a file in the folder, or a sheet (``Book.xlsx:Sheet`` when several workbooks).

Every source becomes a frame of stripped text cells, empty cells missing (as ``data.text_frame``), so
that mapping and validation treat all formats alike: typed cells are written as a CSV would hold them
(whole numbers without ".0", dates as ISO 8601 ``YYYY-MM-DD``).

Survival times from dates (the mapping's ``dates:`` block): OS ends at death, else at last contact;
PFS at the earlier of progression and death, else at last contact; months = days / 30.4375 (the mean
Gregorian month, 365.25 / 12). A last contact after the data cutoff is censored at the cutoff; an event
after it, dates out of order, and status columns that disagree with the dates are findings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import numbers
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from openpyxl import load_workbook

from aice_helpers.contract import COHORT_FILE, CONTRACT
from aice_helpers.data import (
    FILES_WITHOUT_ROWS_ALLOWED,
    DataValidationError,
    Finding,
    ReadRefused,
    bounded_bytes,
    check_regular_file,
    finding_order,
    input_size_limit,
    listed,
    located,
    shown,
    text_frame,
)
from aice_helpers.mapping import ColumnMapping, DatesSpec
from aice_helpers.study import DAYS_PER_MONTH

__all__ = [
    "source_frame",
    "DAYS_PER_MONTH",
    "SUPPORTED_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "CsvFormat",
    "Source",
    "Unreadable",
    "read_source",
    "workbook_sheets",
    "cell_text",
    "csv_format",
    "input_tables",
    "readable_tables",
    "source_tables",
    "survival_from_dates",
    "with_survival_from_dates",
]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
LABELLED_SUFFIXES = (".sav", ".zsav", ".dta")
SUPPORTED_SUFFIXES = (*CSV_SUFFIXES, *WORKBOOK_SUFFIXES, *LABELLED_SUFFIXES)
REFUSED_SUFFIXES = {".xls": "an Excel 97-2003 workbook: save it as .xlsx", ".ods": "an OpenDocument spreadsheet: "
                    "save it as .xlsx", ".numbers": "a Numbers document: export it as .xlsx or CSV"}
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}
SAMPLE_CHARS = 65536
DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+$")
LARGEST_EXACT_INTEGER = 2**53
SHEET_SEPARATOR = ":"
OS_MONTHS, OS_EVENT, PFS_MONTHS, PFS_EVENT = "os_months", "os_event", "pfs_months", "pfs_event"


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written: its encoding, delimiter and decimal mark."""

    encoding: str
    sep: str
    decimal: str


@dataclass(frozen=True)
class Source:
    """Where one contract file's rows are: a file, and the sheet for a workbook."""

    path: Path
    sheet: str | None = None

    def label(self) -> str:
        """Return the source as a message names it: "export.xlsx, sheet 'Patients'"."""
        return self.path.name + (f", sheet {self.sheet!r}" if self.sheet is not None else "")


class Unreadable(Exception):
    """Internal: a source cannot be read; carries the findings saying why."""

    def __init__(self, *findings: Finding) -> None:
        self.findings = list(findings)
        super().__init__(findings)


# ----------------------------------------------------------------------------- public API


def input_tables(data: Path, mapping: ColumnMapping | None = None) -> dict[str, pd.DataFrame]:
    """Return {contract file name: frame of text cells} read from ``data`` (a folder or one file), before the
    mapping renames anything; raise DataValidationError listing every source that cannot be read."""
    frames, findings = readable_tables(data, mapping)
    if findings:
        raise DataValidationError(findings)
    return frames


def readable_tables(data: Path, mapping: ColumnMapping | None = None) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    """Return the frames of the sources that can be read and the findings on those that cannot, so that a caller
    can still check the readable ones and report every problem at once."""
    sources = source_tables(Path(data).expanduser(), mapping)
    frames, findings = {}, []
    for name, source in sources.items():
        try:
            frames[name] = read_source(source, mapping.csv if mapping is not None else {},
                                       rows_required=name not in FILES_WITHOUT_ROWS_ALLOWED)
        except Unreadable as unreadable:
            findings += [under_contract_name(finding, name, source) for finding in unreadable.findings]
    return frames, sorted(findings, key=finding_order)


def source_tables(data: Path, mapping: ColumnMapping | None = None) -> dict[str, Source]:
    """Return where each contract file present in ``data`` comes from; raise DataValidationError on a source the
    mapping names that does not exist, or a folder without a cohort file."""
    named = dict(mapping.sources) if mapping is not None else {}
    findings: list[Finding] = []
    sources: dict[str, Source] = {}
    if data.is_file():
        sheets = workbook_sheets(data) if data.suffix.lower() in WORKBOOK_SUFFIXES else None
        for name in CONTRACT:
            if sheets is None:
                if name in named and name != COHORT_FILE:
                    findings.append(Finding(name, f"the mapping names the source {named[name]!r}, but --data is "
                                                  f"the single file {data.name}, which gives the cohort file only"))
                continue
            sheet = named.get(name) or default_sheet(name, sheets)
            if sheet is None:
                continue
            if sheet not in sheets:
                findings.append(Finding(name, f"{data.name} has no sheet {sheet!r} (its sheets: "
                                              f"{', '.join(map(repr, sheets))})"))
            else:
                sources[name] = Source(data, sheet)
        if sheets is None:
            sources[COHORT_FILE] = Source(data)
    elif data.is_dir():
        for name in CONTRACT:
            source = named_source(data, named[name], findings, name) if name in named else default_source(data, name)
            if source is not None:
                sources[name] = source
    elif data.exists():
        raise DataValidationError([Finding(str(data), "is not a regular file or a folder (a pipe or a device?); only "
                                                      "regular files are read")])
    else:
        raise DataValidationError([Finding(str(data), "no such file or folder")])
    if COHORT_FILE not in sources and not any(finding.file == COHORT_FILE for finding in findings):
        found = sorted(path.name for path in data.glob("*") if path.suffix.lower() in SUPPORTED_SUFFIXES) \
            if data.is_dir() else [repr(sheet) for sheet in workbook_sheets(data)]
        where = f"in {data}" if data.is_dir() else f"among the sheets of {data.name}"
        findings.append(Finding(COHORT_FILE, f"not found {where} (found: {', '.join(found) or 'nothing readable'}); "
                                             f"name the source in the mapping: files: {{{COHORT_FILE}: {{source: ...}}}}"))
    if findings:
        raise DataValidationError(sorted(findings, key=finding_order))
    return sources


def with_survival_from_dates(frames: Mapping[str, pd.DataFrame],
                             mapping: ColumnMapping | None) -> dict[str, pd.DataFrame]:
    """Return the (mapped) frames with the cohort's survival columns computed from the mapping's ``dates:``
    block, if it has one; raise DataValidationError listing every date problem."""
    frames = dict(frames)
    if mapping is None or mapping.dates is None or COHORT_FILE not in frames:
        return frames
    cohort, findings = survival_from_dates(frames[COHORT_FILE], mapping.dates, COHORT_FILE)
    if findings:
        raise DataValidationError(sorted(findings, key=finding_order))
    frames[COHORT_FILE] = cohort
    return frames


# ----------------------------------------------------------------------------- where the files are


def default_sheet(name: str, sheets: Sequence[str]) -> str | None:
    """Return the sheet holding contract file ``name`` by default: named as the file (with or without .csv,
    any case), or for the cohort the only sheet of a one-sheet workbook."""
    stem = Path(name).stem.casefold()
    for sheet in sheets:
        if sheet.strip().casefold() in (stem, name.casefold()):
            return sheet
    return sheets[0] if name == COHORT_FILE and len(sheets) == 1 else None


def default_source(folder: Path, name: str) -> Source | None:
    """Return the file holding contract file ``name`` in ``folder``: the contract name, or its stem with another
    supported ending (aice_cohort.xlsx, aice_cohort.sav: a workbook's first sheet)."""
    if (folder / name).exists():
        return Source(folder / name)
    for suffix in SUPPORTED_SUFFIXES:
        path = folder / (Path(name).stem + suffix)
        if path.exists():
            return Source(path, workbook_sheets(path)[0] if suffix in WORKBOOK_SUFFIXES else None)
    return None


def named_source(folder: Path, source: str, findings: list[Finding], name: str) -> Source | None:
    """Return the source the mapping names for ``name``: a file in ``folder``, ``Book.xlsx:Sheet``, or a sheet of
    the one workbook in the folder that has it; append a finding and return None when there is none."""
    path = folder / source
    if path.is_file():
        return Source(path, workbook_sheets(path)[0] if path.suffix.lower() in WORKBOOK_SUFFIXES else None)
    book, _, sheet = source.rpartition(SHEET_SEPARATOR)
    if book and (folder / book).is_file() and (folder / book).suffix.lower() in WORKBOOK_SUFFIXES:
        if sheet in workbook_sheets(folder / book):
            return Source(folder / book, sheet)
        findings.append(Finding(name, f"{book} has no sheet {sheet!r} (its sheets: "
                                      f"{', '.join(map(repr, workbook_sheets(folder / book)))})"))
        return None
    stems = [path for path in sorted(folder.iterdir()) if path.stem == source and path.suffix.lower() in SUPPORTED_SUFFIXES]
    if len(stems) == 1:  # "Patients" for Patients.csv
        return named_source(folder, stems[0].name, findings, name)
    books = [path for path in sorted(folder.iterdir()) if path.suffix.lower() in WORKBOOK_SUFFIXES
             and source in workbook_sheets(path)]
    if len(books) == 1:
        return Source(books[0], source)
    if len(books) > 1:
        findings.append(Finding(name, f"several workbooks have a sheet {source!r} "
                                      f"({', '.join(path.name for path in books)}); write Book.xlsx:{source}"))
        return None
    findings.append(Finding(name, f"the mapping's source {source!r} is neither a file in {folder} nor a sheet of a "
                                  f"workbook there"))
    return None


def under_contract_name(finding: Finding, name: str, source: Source) -> Finding:
    """Return a finding about a source under its contract file's name, the source named in the problem."""
    if finding.file == name:
        return finding
    return Finding(name, f"({source.label()}) {finding.problem}", finding.columns, finding.rows, finding.patients,
                   finding.found, finding.line)


# ----------------------------------------------------------------------------- reading one source


def read_source(source: Source, options: Mapping[str, str], rows_required: bool = True) -> pd.DataFrame:
    """Return one source as a frame of stripped text cells (index = data row - 1), or raise Unreadable."""
    frame = source_frame(source, options, rows_required)
    check_header_names(source.label(), list(frame.columns))
    return frame


def check_header_names(label: str, header: Sequence[object]) -> None:
    """Raise Unreadable when a column name appears more than once (one pass: linear in the number of columns,
    and run before the cells become a frame, which is slow for a very wide header)."""
    counts = Counter(str(name).strip() for name in header)
    repeated = tuple(name for name, count in counts.items() if count > 1)
    if repeated:
        raise Unreadable(Finding(label, "column name appears more than once in the header", columns=repeated, line=1))


def source_frame(source: Source, options: Mapping[str, str], rows_required: bool = True) -> pd.DataFrame:
    """Return one source's cells as text, whatever its format (CSV, workbook sheet, SPSS or Stata file)."""
    suffix = source.path.suffix.lower()
    try:  # regular files only, within the size limit: a pipe, a device or a huge file is refused, not read
        check_regular_file(source.path, source.path.stat(), input_size_limit())
    except ReadRefused as error:
        raise Unreadable(Finding(source.path.name, error.problem)) from None
    except OSError as error:
        raise Unreadable(Finding(source.path.name, f"cannot be read: {error.strerror}")) from None
    if suffix in REFUSED_SUFFIXES:
        raise Unreadable(Finding(source.path.name, f"is {REFUSED_SUFFIXES[suffix]}"))
    if suffix in WORKBOOK_SUFFIXES:
        header, rows = sheet_records(source.path, source.sheet)
    elif suffix in LABELLED_SUFFIXES:
        header, rows = labelled_records(source.path)
    else:
        return csv_table(source.path, options, rows_required)
    if not rows and rows_required:
        raise Unreadable(Finding(source.label(), "has a header row but no data rows"))
    check_header_names(source.label(), header)
    return text_frame(header, [["" if cell is None else cell for cell in row] for row in rows])


def csv_table(path: Path, options: Mapping[str, str], rows_required: bool = True) -> pd.DataFrame:
    """Return a CSV file as text cells, its encoding, delimiter and decimal mark detected or set in ``options``."""
    try:
        data = bounded_bytes(path)
    except ReadRefused as error:
        raise Unreadable(Finding(path.name, error.problem)) from None
    except OSError as error:
        raise Unreadable(Finding(path.name, f"cannot be read: {error.strerror}")) from None
    if not data.strip():
        raise Unreadable(Finding(path.name, "file is empty, expected a header line and one line per row"))
    signature = typed_signature(data)
    if signature:
        raise Unreadable(Finding(path.name, f"is not a CSV text file, it looks like {signature}; give it that "
                                            f"file ending"))
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise Unreadable(Finding(path.name, "holds a NUL byte, which no text export contains: the file is damaged or "
                                            "not a CSV file", line=line))
    text, encoding = decoded(data, path.name, options.get("encoding"))
    form = csv_format(text, path.name, options, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=form.sep, strict=True)
    try:
        records = [record for record in reader if "".join(record).strip()]
    except csv.Error as error:
        raise Unreadable(Finding(path.name, f"is not valid CSV ({error})", line=reader.line_num)) from None
    if not records:
        raise Unreadable(Finding(path.name, "file is empty, expected a header line and one line per row"))
    header = [cell.strip() or f"(unnamed column {position})" for position, cell in enumerate(records[0], start=1)]
    rows = records[1:]
    if not rows and rows_required:
        raise Unreadable(Finding(path.name, "has a header line but no data rows"))
    widths: dict[int, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            widths.setdefault(len(row), []).append(number)
    if widths:
        raise Unreadable(*[Finding(path.name, f"has {count} fields, the header has {len(header)} (delimiter: "
                                              f"{DELIMITER_NAMES.get(form.sep, repr(form.sep))})", rows=tuple(rows_))
                           for count, rows_ in sorted(widths.items())])
    check_header_names(path.name, header)
    frame = text_frame(header, rows)
    return with_decimal_points(frame) if form.decimal == "," else frame


def typed_signature(data: bytes) -> str:
    """Return what a binary file looks like by its first bytes ("" for text)."""
    if data.startswith(b"PK\x03\x04"):
        return "an Excel .xlsx workbook (a zip archive)"
    if data.startswith((b"$FL2", b"$FL3")):
        return "an SPSS .sav file"
    if data.startswith(b"<stata_dta>"):
        return "a Stata .dta file"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an Excel 97-2003 .xls workbook (save it as .xlsx)"
    if data.startswith(b"%PDF"):
        return "a PDF document"
    return ""


def decoded(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """Return the text and its encoding: the mapping's, else by byte-order mark, else UTF-8, else Windows-1252
    (Excel's "CSV" on Western European Windows); raise Unreadable if none decodes."""
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except (LookupError, UnicodeDecodeError) as error:
            raise Unreadable(Finding(name, f"cannot be read as {encoding!r} (the mapping's csv: encoding): "
                                           f"{error}")) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise Unreadable(Finding(name, f"is neither UTF-8 nor Windows-1252 text (byte 0x{data[error.start]:02x} at "
                                       f"offset {error.start}); set csv: {{encoding: ...}} in the mapping")) from None


def csv_format(text: str, name: str, options: Mapping[str, str] | None = None, encoding: str = "utf-8") -> CsvFormat:
    """Return the delimiter and decimal mark of CSV ``text``: the mapping's ``csv:`` values, else detected when
    unambiguous (one delimiter splits every sampled line into the header's width; decimal commas where the
    delimiter is not a comma and no number has a decimal point); raise Unreadable when ambiguous."""
    options = options or {}
    sample = text[:SAMPLE_CHARS]
    if len(text) > SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    sep = options.get("sep")
    if sep in ("\\t", "tab"):
        sep = "\t"
    if not sep:
        widths = {candidate: sample_widths(sample, candidate) for candidate in DELIMITERS}
        splitting = [candidate for candidate, shape in widths.items() if shape[0] > 1]
        consistent = [candidate for candidate in splitting if widths[candidate][1]]
        choices = consistent or splitting
        if len(choices) > 1:
            widest = max(widths[candidate][0] for candidate in choices)
            choices = [candidate for candidate in choices if widths[candidate][0] == widest]
        if len(choices) > 1:
            raise Unreadable(Finding(name, f"the delimiter is ambiguous ({' or '.join(DELIMITER_NAMES[c] for c in choices)} "
                                           f"both split the lines); set it in the mapping, e.g. csv: {{sep: \";\"}}",
                                     line=1))
        sep = choices[0] if choices else ","
    decimal = options.get("decimal")
    if not decimal:
        decimal = "."
        if sep != ",":
            cells = [cell.strip() for record in csv.reader(io.StringIO(sample, newline=""), delimiter=sep)
                     for cell in record]
            commas = sum(1 for cell in cells if DECIMAL_COMMA.match(cell))
            points = sum(1 for cell in cells if DECIMAL_POINT.match(cell))
            if commas and points:
                raise Unreadable(Finding(name, f"the decimal mark is ambiguous ({commas} numbers with a decimal comma, "
                                               f"{points} with a decimal point); set it in the mapping, e.g. "
                                               f"csv: {{decimal: \",\"}}"))
            decimal = "," if commas else "."
    return CsvFormat(encoding, sep, decimal)


def sample_widths(sample: str, sep: str) -> tuple[int, bool]:
    """Return the header's width when split by ``sep`` and whether every other sampled line has that width."""
    try:
        records = [record for record in csv.reader(io.StringIO(sample, newline=""), delimiter=sep)
                   if "".join(record).strip()]
    except csv.Error:
        return 0, False
    if not records:
        return 0, False
    return len(records[0]), all(len(record) == len(records[0]) for record in records[1:])


def with_decimal_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the text cells with each number written with a decimal comma ("2,5") written with a point."""
    return frame.apply(lambda column: column.map(
        lambda cell: cell.replace(",", ".") if isinstance(cell, str) and DECIMAL_COMMA.match(cell) else cell))


def workbook_sheets(path: Path) -> list[str]:
    """Return the names of a workbook's sheets, in order; raise Unreadable if it is no workbook."""

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (zip, XML, key errors) for a damaged file
        raise DataValidationError([Finding(path.name, f"cannot be read as an Excel workbook "
                                                      f"({type(error).__name__}: {error})")]) from None
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def sheet_records(path: Path, sheet: str | None) -> tuple[list[str], list[list[str | None]]]:
    """Return a sheet's header (its first non-empty row) and rows as text cells, empty rows skipped."""

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [[cell_text(value) for value in row] for row in book[sheet or book.sheetnames[0]].iter_rows(values_only=True)]
    finally:
        book.close()
    rows = [row for row in rows if any(cell is not None for cell in row)]
    label = f"{path.name}, sheet {sheet!r}"
    if not rows:
        raise Unreadable(Finding(label, "sheet is empty, expected a header row and one row per patient"))
    width = max(len(row) for row in rows)
    while width and all(len(row) < width or row[width - 1] is None for row in rows):
        width -= 1
    rows = [(row + [None] * width)[:width] for row in rows]
    header = [cell or f"(unnamed column {position})" for position, cell in enumerate(rows[0], start=1)]
    return header, rows[1:]


def labelled_records(path: Path) -> tuple[list[str], list[list[str | None]]]:
    """Return an SPSS .sav or Stata .dta file's variables and rows as text, value labels applied."""

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    try:
        frame, _ = reader(str(path), apply_value_formats=True, formats_as_category=False)
    except Exception as error:  # pyreadstat raises its own errors for damaged or foreign files
        raise Unreadable(Finding(path.name, f"cannot be read as {'Stata' if path.suffix.lower() == '.dta' else 'SPSS'} "
                                            f"data ({type(error).__name__}: {error})")) from None
    header = [str(column) for column in frame.columns]
    rows = [[cell_text(value) for value in row] for row in frame.astype(object).itertuples(index=False, name=None)]
    return header, [row for row in rows if any(cell is not None for cell in row)]


def cell_text(value: object) -> str | None:
    """Return a typed cell as a CSV would hold it: None when empty, whole numbers without ".0", dates as
    YYYY-MM-DD (with the time only when it is not midnight), the rest as its text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer() and abs(number) <= LARGEST_EXACT_INTEGER:
            return str(int(number))
        return repr(number)
    text = str(value).strip()
    return text or None


# ----------------------------------------------------------------------------- survival from dates


def survival_from_dates(cohort: pd.DataFrame, spec: DatesSpec, file_name: str = COHORT_FILE
                        ) -> tuple[pd.DataFrame, list[Finding]]:
    """Return the cohort with os_months, os_event, pfs_months, pfs_event computed from its dates, and every
    problem of those dates (a missing or unreadable date, dates out of order, an event after the cutoff, a
    mapped status that disagrees). Months = days / 30.4375."""
    findings: list[Finding] = []
    roles = {"start": spec.start, "death": spec.death, "progression": spec.progression,
             "last_contact": spec.last_contact}
    absent = [column for column in roles.values() if column is not None and column not in cohort]
    if absent:
        near = {column: [c for c in cohort.columns if str(c).casefold() == column.casefold()] for column in absent}
        return cohort, [Finding(file_name, "the mapping's dates: block names a column the file does not have",
                                (column,), found=f"{near[column][0]!r} (names are case-sensitive)" if near[column] else "",
                                line=1) for column in absent]
    dates = {role: parsed_dates(cohort, column, spec.format, file_name, findings) if column else
             pd.Series(pd.NaT, index=cohort.index, dtype="datetime64[ns]") for role, column in roles.items()}
    start, death, progression, last = dates["start"], dates["death"], dates["progression"], dates["last_contact"]
    problems = [
        ((spec.start,), start.isna() & cohort[spec.start].isna(), "the date of first AICE (time zero) is missing"),
        ((spec.last_contact,), last.isna() & death.isna() & cohort[spec.last_contact].isna(),
         "neither a date of death nor a date of last contact: the follow-up has no end"),
    ]
    for role in ("death", "progression", "last_contact"):
        if roles[role]:
            problems.append(((roles[role], spec.start), dates[role] < start,
                             f"the date of {role.replace('_', ' ')} is before the date of first AICE"))
    if spec.death and spec.progression:
        problems.append(((spec.progression, spec.death), progression > death,
                         "the date of progression is after the date of death"))
    if spec.death:
        problems.append(((spec.last_contact, spec.death), last > death,
                         "the date of last contact is after the date of death"))
    if spec.progression:
        problems.append(((spec.progression, spec.last_contact), progression > last,
                         "the date of progression is after the date of last contact"))
    cutoff = pd.Timestamp(spec.cutoff) if spec.cutoff else None
    if cutoff is not None:
        for role in ("death", "progression"):
            if roles[role]:
                problems.append(((roles[role],), dates[role] > cutoff, f"the date of {role} is after the data cutoff "
                                                                       f"{spec.cutoff} (correct it, or move the cutoff)"))
        last = last.where(~(last > cutoff), cutoff)  # follow-up beyond the cutoff is censored at the cutoff
    for columns, rows, problem in problems:
        findings += date_findings(cohort, file_name, columns, rows, problem)
    os_event = death.notna()
    os_end = death.where(os_event, last)
    pfs_date = pd.concat([progression, death], axis=1).min(axis=1)
    pfs_event = pfs_date.notna()
    pfs_end = pfs_date.where(pfs_event, last)
    findings += status_findings(cohort, file_name, OS_EVENT, os_event, "a date of death")
    findings += status_findings(cohort, file_name, PFS_EVENT, pfs_event, "a date of progression or of death")
    for column in (OS_MONTHS, PFS_MONTHS):
        if column in cohort:
            findings.append(Finding(file_name, "is mapped, and the mapping's dates: block computes it too: keep one",
                                    (column,), line=1))
    result = cohort.copy()
    result[OS_MONTHS] = months_text((os_end - start).dt.days)
    result[PFS_MONTHS] = months_text((pfs_end - start).dt.days)
    result[OS_EVENT] = np.where(os_event, "1", "0")
    result[PFS_EVENT] = np.where(pfs_event, "1", "0")
    return result, findings


def parsed_dates(cohort: pd.DataFrame, column: str, form: str | None, file_name: str,
                 findings: list[Finding]) -> pd.Series:
    """Return a date column parsed (the mapping's format, and ISO 8601 as typed sources write dates); append a
    finding naming the rows whose date cannot be read."""
    text = cohort[column]
    parsed = pd.Series(pd.NaT, index=cohort.index, dtype="datetime64[ns]")
    if form:
        parsed = pd.to_datetime(text, format=form, errors="coerce")
    iso = pd.to_datetime(text.where(parsed.isna()), format="ISO8601", errors="coerce")
    parsed = parsed.fillna(iso).dt.normalize()
    bad = text.notna() & parsed.isna()
    if bad.any():
        expected = f"dates written as {form!r}" if form else "ISO 8601 dates (YYYY-MM-DD), or set format: in dates:"
        findings.append(located(file_name, cohort, (column,), list(cohort.index[bad]), f"is not a date; expected "
                                f"{expected}", listed([shown(value) for value in dict.fromkeys(text[bad])])))
    return parsed


def date_findings(cohort: pd.DataFrame, file_name: str, columns: tuple[str, ...], rows: pd.Series,
                  problem: str) -> list[Finding]:
    """Return the finding for the rows where a date rule fails (none if it holds everywhere)."""
    rows = rows.fillna(False).astype(bool)
    if not rows.any():
        return []
    indexes = list(cohort.index[rows])
    found = listed([" > ".join(f"{shown(cohort.at[index, column])}" for column in columns) if len(columns) > 1
                    else shown(cohort.at[index, columns[0]]) for index in indexes])
    return [located(file_name, cohort, columns, indexes, problem, found if len(columns) > 1 or
                    cohort[columns[0]][rows].notna().any() else "")]


def status_findings(cohort: pd.DataFrame, file_name: str, column: str, from_dates: pd.Series,
                    date_name: str) -> list[Finding]:
    """Return where a mapped status column (1 event, 0 censored) disagrees with the event its dates give."""
    if column not in cohort:
        return []
    stated = pd.to_numeric(cohort[column], errors="coerce")
    disagree = stated.notna() & (stated.isin([0, 1])) & ((stated == 1) != from_dates)
    if not disagree.any():
        return []
    indexes = list(cohort.index[disagree])
    texts = [f"{column} {shown(cohort.at[index, column])} but {'no ' if not from_dates[index] else ''}{date_name}"
             for index in indexes]
    return [located(file_name, cohort, (column,), indexes, "disagrees with the dates", listed(texts))]


def months_text(days: pd.Series) -> pd.Series:
    """Return days as months (days / 30.4375) written as text, missing where the days are."""
    months = days / DAYS_PER_MONTH
    return months.map(lambda value: None if pd.isna(value) else repr(float(value))).astype(object)

"""Load the three data-contract tables, check them against the contract, return typed frames.

Every problem is collected before anything is raised: one ``DataValidationError`` lists all of
them, one line per kind of problem, naming the file, the column, the row(s), what was found and
what was expected.

Row convention: "row N" is the N-th data row of a file, counting from 1 below the header;
blank lines and rows whose every cell is empty are skipped and not counted. In a file without
such lines (or line breaks inside quoted values) row N is line N+1. Problems found before rows
exist (encoding, CSV syntax, the header) name the line of the file instead.

Column checks are pandera schemas built from ``contract.CONTRACT``: a text schema (required
column present, value not empty, value parses as the column's kind) on the cells as read, then a
value schema (allowed levels, bounds, uniqueness, pfs ≤ os) on the parsed values. Checks that
span files (patients known to the cohort, cycles known to the procedures) are plain pandas.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import numbers
import os
import stat
import unicodedata
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrorReason, SchemaErrors

from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    MISSING_ALLOWED,
    PROCEDURES_FILE,
    Column,
    Limits,
    limited_contract,
)

__all__ = [
    "ALL_FILES",
    "ROW_CONVENTION",
    "DataValidationError",
    "Dataset",
    "Finding",
    "ReadRefused",
    "bounded_bytes",
    "check_regular_file",
    "input_size_limit",
    "named_characters",
    "terminal_text",
    "load_adverse_events",
    "load_cohort",
    "load_dataset",
    "load_procedures",
    "load_validated_dataset",
    "read_records",
    "SPREADSHEET_ERRORS",
    "free_text_checks",
]

ROW_CONVENTION = "row N = the N-th data row below the header, line N+1 of the file"
ALL_FILES: tuple[str, ...] = tuple(CONTRACT)
MAX_LISTED = 5  # rows or values named in one finding before "and K more"
# Files that may hold a header and no rows: a cohort in which no adverse event happened has none to list.
FILES_WITHOUT_ROWS_ALLOWED = frozenset({ADVERSE_EVENTS_FILE})

INTEGER, NUMBER, STRING = "integer", "number", "string"
VALUE_DTYPES: dict[str, str | None] = {INTEGER: "Int64", NUMBER: "float64", STRING: None}
CONTRACT_DTYPES: dict[str, str] = {INTEGER: "int64", NUMBER: "float64", STRING: "object"}
NUMBER_DTYPE = "float64"
LARGEST_EXACT_INTEGER = 2**53  # beyond this a float no longer holds every whole number

UNIQUE_CHECK = "unique"
NOT_ABOVE_CHECK = "not_above"
MISSING_VALUE = "required value is missing (empty cell)"
# pandera 0.35 triggers this pandas 2.3 deprecation itself while collecting failure cases.
PANDERA_CONCAT_WARNING = "The behavior of DataFrame concatenation with empty or all-NA entries"

IDENTIFIER_COLUMNS = frozenset({"patient_id"})
BARE_NUMBER = r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*"
SPREADSHEET_ERRORS = frozenset({"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!",
                                "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!"})
SNIFF_BYTES = 8192
MAX_INPUT_BYTES = 4 * 1024**3  # a million patients' cohort is about 0.2 GB; AICE_MAX_INPUT_BYTES overrides
MAX_INPUT_BYTES_ENV = "AICE_MAX_INPUT_BYTES"
READ_CHUNK_BYTES = 1 << 24
MAX_NAMED_CHARACTERS = 5
BINARY_SIGNATURES: dict[bytes, str] = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx or .ods workbook?)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Excel .xls workbook",
    b"%PDF": "a PDF document",
    b"\xff\xfe": "UTF-16 text",
    b"\xfe\xff": "UTF-16 text",
}
OTHER_DELIMITERS: dict[str, str] = {";": "semicolons", "\t": "tabs", "|": "pipes"}
SAVE_AS_CSV = "save it as 'CSV UTF-8 (comma delimited)'"
STRIPPED = np.frompyfunc(str.strip, 1, 1)  # str.strip over an object array, without pandas' per-cell overhead
ORDINARY_TEXT = np.frompyfunc(lambda cell: not isinstance(cell, str) or (cell.isascii() and "_" not in cell), 1, 1)


def contract_names(file_name: str, *names: str) -> tuple[str, ...]:
    """Return ``names`` after checking that each is a column of ``file_name`` in the contract."""
    known = {column.name for column in CONTRACT[file_name]}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KeyError(f"{file_name} has no contract column {unknown}")
    return names


# The columns the rules below refer to, checked against the contract when the module loads.
PATIENT_ID, CYCLE_COUNT, PFS_MONTHS, OS_MONTHS = contract_names(
    COHORT_FILE, "patient_id", "aice_cycles", "pfs_months", "os_months"
)
_, CYCLE = contract_names(PROCEDURES_FILE, PATIENT_ID, "cycle")
contract_names(ADVERSE_EVENTS_FILE, PATIENT_ID, CYCLE)
# (column, bound) pairs: in every row the column must not exceed the bound.
NOT_ABOVE: dict[str, tuple[tuple[str, str], ...]] = {COHORT_FILE: ((PFS_MONTHS, OS_MONTHS),)}
UNIQUE_TOGETHER: dict[str, tuple[tuple[str, ...], ...]] = {PROCEDURES_FILE: ((PATIENT_ID, CYCLE),)}
LINKED_FILES: tuple[str, ...] = (PROCEDURES_FILE, ADVERSE_EVENTS_FILE)  # patient_id must be in the cohort


@dataclass(frozen=True)
class Finding:
    """One problem in the data: where it is (file, columns, rows), what is wrong, what was found."""

    file: str
    problem: str
    columns: tuple[str, ...] = ()
    rows: tuple[int, ...] = ()
    patients: tuple[str, ...] = ()
    found: str = ""
    line: int | None = None

    def __str__(self) -> str:
        """Return the finding as one line of the report."""
        place = ", ".join(part for part in (self.file, self.columns_text(), self.where_text()) if part)
        found = f", found {self.found}" if self.found else ""
        return f"{place}: {self.problem}{found}"

    def columns_text(self) -> str:
        """Return "column 'x'" or "columns 'x', 'y'" (empty for file-level findings)."""
        if not self.columns:
            return ""
        label = "column" if len(self.columns) == 1 else "columns"
        return f"{label} {', '.join(repr(name) for name in self.columns)}"

    def where_text(self) -> str:
        """Return the rows (with their patients) or the line the finding is about."""
        if self.line is not None:
            return f"line {self.line}"
        if not self.rows:
            return ""
        label = "row" if len(self.rows) == 1 else "rows"
        patients = ""
        if self.patients:
            noun = "patient" if len(self.patients) == 1 else "patients"
            patients = f" ({noun} {', '.join(self.patients)})"
        return f"{label} {listed([str(row) for row in self.rows])}{patients}"


class DataValidationError(Exception):
    """The data does not follow the contract; ``findings`` lists every problem found."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings: list[Finding] = list(findings)
        super().__init__(report(self.findings))


@dataclass
class Dataset:
    """The three contract tables as typed frames (a table not required and absent is None)."""

    cohort: pd.DataFrame
    procedures: pd.DataFrame | None
    adverse_events: pd.DataFrame | None


@dataclass
class Table:
    """One contract file as read: its name, contract columns, parsed frame and findings."""

    name: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame | None = None
    findings: list[Finding] = field(default_factory=list)


class UnreadableFile(Exception):
    """Internal: the file cannot be read as a table; carries the findings saying why."""

    def __init__(self, *findings: Finding) -> None:
        self.findings = list(findings)
        super().__init__(findings)


# ----------------------------------------------------------------------------- public API


def load_dataset(folder: Path | str, required: tuple[str, ...] = ALL_FILES,
                 required_columns: Mapping[str, Collection[str]] | None = None,
                 limits: Limits | None = None) -> Dataset:
    """Return the validated contract tables in ``folder``; the cohort file is always required.

    ``required_columns`` maps a file name to the only contract columns that file must have; its
    other contract columns are checked when present and left out of the frame when absent. Files
    it does not name must have every contract column (as when it is None).
    """
    unknown = set(required) - set(CONTRACT)
    if unknown:
        raise ValueError(f"unknown contract files {sorted(unknown)}; expected some of {ALL_FILES}")
    columns_by_file = {name: known_columns(name, names) for name, names in (required_columns or {}).items()}
    folder = Path(folder)
    if not folder.is_dir():
        raise DataValidationError([Finding(str(folder), "data folder not found")])
    needed = {COHORT_FILE, *required}
    tables = {name: read_table(folder / name, columns, name in needed, columns_by_file.get(name))
              for name, columns in limited_contract(limits).items()}
    findings = [finding for table in tables.values() for finding in table.findings]
    findings += cross_file_findings(tables)
    if findings:
        raise DataValidationError(sorted(findings, key=finding_order))
    frames = {name: contract_frame(table) for name, table in tables.items()}
    return Dataset(frames[COHORT_FILE], frames[PROCEDURES_FILE], frames[ADVERSE_EVENTS_FILE])


def load_validated_dataset(folder: Path | str, required: tuple[str, ...] = ALL_FILES,
                           required_columns: Mapping[str, Collection[str]] | None = None) -> Dataset:
    """Return the contract tables of a folder that :func:`load_dataset` has already accepted, typed but not
    checked again (pandas' fast reader): for ``aice rerun``, whose chapters all read one validated copy.

    With ``required_columns``, only the files it names are read, and only those columns of them, so a
    chapter sees exactly the data it declares. Only the presence of the required files and columns is
    checked, so that a wrong call fails clearly.
    """
    folder = Path(folder)
    needed = {COHORT_FILE, *required}
    frames: dict[str, pd.DataFrame | None] = dict.fromkeys(CONTRACT)
    findings = []
    for name, columns in CONTRACT.items():
        path = folder / name
        wanted = None if required_columns is None else required_columns.get(name)
        if not path.exists() or (required_columns is not None and wanted is None):
            if name in needed:
                findings.append(Finding(name, f"file not found in {folder}"))
            continue
        header = pd.read_csv(path, nrows=0).columns
        findings += [missing_column_finding(name, pd.DataFrame(columns=header), column)
                     for column in (wanted or []) if column not in header]
        names = [column.name for column in columns if column.name in header and (wanted is None or column.name in wanted)]
        text = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], usecols=names)[names]
        present = tuple(column for column in columns if column.name in names)
        frames[name] = contract_frame(Table(name, present, frame=parsed_frame(text, present)))
    if findings:
        raise DataValidationError(findings)
    return Dataset(frames[COHORT_FILE], frames[PROCEDURES_FILE], frames[ADVERSE_EVENTS_FILE])


def known_columns(file_name: str, names: Collection[str]) -> frozenset[str]:
    """Return ``names`` as a set after checking that each is a contract column of ``file_name``."""
    if file_name not in CONTRACT:
        raise ValueError(f"unknown contract file {file_name!r}; expected one of {ALL_FILES}")
    contract_names(file_name, *names)
    return frozenset(names)


def read_records(path: Path | str, rows_required: bool = True) -> tuple[list[str], list[list[str]]]:
    """Return the header and data rows of a CSV file as text, or raise DataValidationError saying why not."""
    path = Path(path)
    try:
        return csv_records(decoded_text(file_bytes(path), path.name), path.name, rows_required)
    except UnreadableFile as unreadable:
        raise DataValidationError(unreadable.findings) from None


def load_cohort(path: Path | str) -> pd.DataFrame:
    """Return the validated cohort file at ``path`` (one row per patient)."""
    return load_table(Path(path), CONTRACT[COHORT_FILE])


def load_procedures(path: Path | str) -> pd.DataFrame:
    """Return the validated procedures file at ``path`` (one row per AICE session)."""
    return load_table(Path(path), CONTRACT[PROCEDURES_FILE])


def load_adverse_events(path: Path | str) -> pd.DataFrame:
    """Return the validated adverse-events file at ``path`` (one row per adverse event)."""
    return load_table(Path(path), CONTRACT[ADVERSE_EVENTS_FILE])


def load_table(path: Path, columns: tuple[Column, ...]) -> pd.DataFrame:
    """Return one validated file as a typed frame, checked on its own (no cross-file checks)."""
    table = read_table(path, columns, required=True)
    if table.findings:
        raise DataValidationError(sorted(table.findings, key=finding_order))
    return contract_frame(table)


def report(findings: Sequence[Finding]) -> str:
    """Return the human-readable report: a heading, then one line per finding."""
    count = f"{len(findings)} problem{'s' if len(findings) != 1 else ''}"
    heading = f"The data does not follow the data contract: {count} ({ROW_CONVENTION})"
    return "\n".join([heading, *(f"  {terminal_text(str(finding))}" for finding in findings)])


# ----------------------------------------------------------------------------- reading


def read_table(path: Path, columns: tuple[Column, ...], required: bool,
               required_names: Collection[str] | None = None) -> Table:
    """Return the file at ``path`` read and checked against ``columns`` (frame None if unreadable).

    With ``required_names``, only those columns must be present; the other contract columns are
    checked if the header has them.
    """
    table = Table(path.name, columns)
    if not required and not path.exists():
        return table
    try:
        header, rows = csv_records(decoded_text(file_bytes(path), path.name), path.name,
                                   rows_required=path.name not in FILES_WITHOUT_ROWS_ALLOWED)
    except UnreadableFile as unreadable:
        table.findings = unreadable.findings
        return table
    if required_names is not None:
        table.columns = tuple(column for column in columns if column.name in required_names or column.name in header)
    text = text_frame(header, rows)
    table.frame = parsed_frame(text, table.columns)
    table.findings = schema_findings(table.name, text_schema(table.columns, table.frame), text)
    table.findings += schema_findings(table.name, value_schema(table.name, columns, table.frame), table.frame)
    return table


def file_bytes(path: Path) -> bytes:
    """Return the bytes of the file at ``path``, opened read-only (a regular file, within the size limit)."""
    try:
        return bounded_bytes(path)
    except ReadRefused as refused:
        raise UnreadableFile(Finding(path.name, refused.problem)) from None


# ----------------------------------------------------------------------------- safe reading and printing


class ReadRefused(Exception):
    """A path that is not read: not a regular file, too large, missing or not permitted; ``problem`` says why."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f"{terminal_text(str(path))}: {problem}")


FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def input_size_limit(environ: Mapping[str, str] = os.environ) -> int:
    """Return the largest input file read, in bytes (``AICE_MAX_INPUT_BYTES``, else MAX_INPUT_BYTES)."""
    text = environ.get(MAX_INPUT_BYTES_ENV, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else MAX_INPUT_BYTES


def check_regular_file(path: Path, status: os.stat_result, limit: int) -> None:
    """Raise ReadRefused unless ``status`` is a regular file of at most ``limit`` bytes."""
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in FILE_KINDS if test(status.st_mode)), "not a regular file")
        expected = "a CSV file" if kind == "a folder" else "a regular file"
        raise ReadRefused(path, f"is {kind}, expected {expected}; only regular files are read")
    if status.st_size > limit:
        raise ReadRefused(path, f"is {status.st_size:,} bytes, more than the {limit:,} bytes read at most "
                                f"(set {MAX_INPUT_BYTES_ENV} to allow larger files)")


def bounded_bytes(path: Path | str, limit: int | None = None) -> bytes:
    """Return the bytes of a regular file of at most ``limit`` bytes; raise ReadRefused with a sentence otherwise.

    The file is opened without blocking (a FIFO would wait for a writer for ever) and checked with fstat on
    the open descriptor, so a symbolic link to a device or a pipe is refused, not read.
    """
    path = Path(path)
    limit = input_size_limit() if limit is None else limit
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ReadRefused(path, f"file not found in {terminal_text(str(path.parent))}") from None
    except OSError as error:
        raise ReadRefused(path, f"cannot be read: {error.strerror}") from None
    try:
        check_regular_file(path, os.fstat(descriptor), limit)
        chunks, size = [], 0
        while chunk := os.read(descriptor, READ_CHUNK_BYTES):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ReadRefused(path, f"grew beyond the {limit:,} bytes read at most while it was read")
        return b"".join(chunks)
    except OSError as error:
        raise ReadRefused(path, f"cannot be read: {error.strerror}") from None
    finally:
        os.close(descriptor)


INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def terminal_text(text: str) -> str:
    """Return ``text`` safe to print on a terminal: control, format (bidi, zero-width) and unassigned
    characters other than newline shown as escapes (``\\x1b``, ``\\u202e``), so none acts on the screen."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(character if character == "\n" or (character.isprintable() and unicodedata.category(character)
                                                         not in INVISIBLE_CATEGORIES) else escaped(character)
                   for character in text)


def escaped(character: str) -> str:
    """Return one character as a Python escape: \\x1b, \\u202e or \\U0001f600."""
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def named_characters(text: str) -> str:
    """Return the non-ASCII characters of ``text`` named by code point, " (U+0430 CYRILLIC SMALL LETTER A)",
    so that a look-alike ('mаle' with a Cyrillic a) is told from the ASCII word ("" for ASCII text)."""
    if text.isascii():
        return ""
    names = [f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED CHARACTER')}"
             for c in distinct(c for c in text if not c.isascii())]
    more = len(names) - MAX_NAMED_CHARACTERS
    return f" ({', '.join(names[:MAX_NAMED_CHARACTERS])}{f' and {more} more' if more > 0 else ''})"


def decoded_text(data: bytes, name: str) -> str:
    """Return ``data`` decoded as UTF-8 text (a leading byte-order mark dropped)."""
    if not data.strip():
        raise UnreadableFile(Finding(name, "file is empty, expected a header line and one line per row"))
    kind = binary_kind(data)
    if kind:
        raise UnreadableFile(Finding(name, f"is not a CSV text file, it looks like {kind}; {SAVE_AS_CSV}"))
    nul = data.find(b"\x00")
    if nul >= 0:
        problem = f"contains a NUL byte (byte offset {nul}), which a CSV text file cannot hold; {SAVE_AS_CSV}"
        raise UnreadableFile(Finding(name, problem, line=data.count(b"\n", 0, nul) + 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.end].hex()
        problem = f"is not UTF-8 text: byte 0x{bad} at byte offset {error.start} cannot be decoded; {SAVE_AS_CSV}"
        raise UnreadableFile(Finding(name, problem, line=data.count(b"\n", 0, error.start) + 1)) from None
    return text.removeprefix("\ufeff")


def binary_kind(data: bytes) -> str:
    """Return what a binary file looks like ("" when ``data`` looks like text)."""
    for signature, kind in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            return kind
    return "a binary file (it contains NUL bytes)" if b"\x00" in data[:SNIFF_BYTES] else ""


def csv_records(text: str, name: str, rows_required: bool = True) -> tuple[list[str], list[list[str]]]:
    """Return the header and the data rows of CSV ``text`` (blank rows skipped), all as text."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    collecting = gc.isenabled()
    gc.disable()  # millions of new row lists would trigger the cyclic collector over and over
    try:
        records = [record for record in reader if "".join(record).strip()]
    except csv.Error as error:
        raise UnreadableFile(Finding(name, f"is not valid CSV ({error})", line=reader.line_num)) from None
    finally:
        if collecting:
            gc.enable()
    if not records:
        raise UnreadableFile(Finding(name, "file is empty, expected a header line and one line per row"))
    header = header_names(records[0])
    raise_on_findings(header_findings(name, header))
    rows = records[1:]
    if not rows and rows_required:
        raise UnreadableFile(Finding(name, "has a header line but no data rows"))
    raise_on_findings(field_count_findings(name, len(header), rows))
    return header, rows


def header_names(record: list[str]) -> list[str]:
    """Return the stripped column names, naming empty ones by position."""
    names = [cell.strip() for cell in record]
    return [name or f"(unnamed column {position})" for position, name in enumerate(names, start=1)]


def header_findings(name: str, header: list[str]) -> list[Finding]:
    """Return problems of the header line: wrong delimiter, repeated column names."""
    if len(header) == 1:
        for delimiter, plural in OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                problem = f"is not comma-separated: the header is one field holding {plural}; {SAVE_AS_CSV}"
                return [Finding(name, problem, line=1)]
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)  # linear in the header
    return [Finding(name, "column name appears more than once in the header", (column,), line=1) for column in repeated]


def field_count_findings(name: str, width: int, rows: list[list[str]]) -> list[Finding]:
    """Return one finding per wrong number of fields, naming the rows that have it."""
    rows_by_count: dict[int, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            rows_by_count.setdefault(len(row), []).append(number)
    return [
        Finding(name, f"has {count} field{'s' if count != 1 else ''}, the header has {width}", rows=tuple(numbers))
        for count, numbers in sorted(rows_by_count.items())
    ]


def raise_on_findings(findings: list[Finding]) -> None:
    """Raise ``UnreadableFile`` when there is any finding."""
    if findings:
        raise UnreadableFile(*findings)


def text_frame(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """Return the rows as a frame of stripped text, empty cells as missing (index = row - 1)."""
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = frame.apply(lambda column: pd.Series(STRIPPED(column.to_numpy()), index=column.index, dtype=object))
    return frame.mask(frame == "")


# ----------------------------------------------------------------------------- parsing


def parsed_numbers(text: pd.Series) -> pd.Series:
    """Return the text as finite floats (NaN where missing or not a number)."""
    values = None
    if ORDINARY_TEXT(text.to_numpy()).all():  # float() reads '1_000' and non-ASCII digits; pandas does not
        try:
            values = text.astype("float64")  # fast when every cell is a number
        except (TypeError, ValueError):
            values = None
    if values is None:
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    return values.where(values.abs() < math.inf)


def parsed_integers(text: pd.Series) -> pd.Series:
    """Return the text as nullable integers (NA where missing or not a whole number)."""
    values = parsed_numbers(text)
    whole = (values == values.round()) & (values.abs() <= LARGEST_EXACT_INTEGER)
    return values.where(whole).astype("Int64")


PARSERS = {INTEGER: parsed_integers, NUMBER: parsed_numbers}
KIND_PROBLEMS = {INTEGER: "must be a whole number", NUMBER: "must be a number"}


def parsed_frame(text: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """Return ``text`` with contract number and integer columns parsed (NA where unparseable)."""
    frame = text.copy()
    for column in columns:
        if column.name in frame and column.kind in PARSERS:
            frame[column.name] = PARSERS[column.kind](frame[column.name])
    return frame


def contract_frame(table: Table) -> pd.DataFrame | None:
    """Return a valid table with contract dtypes: int64, float64, categorical or text."""
    if table.frame is None:
        return None
    frame = table.frame.copy()
    for column in table.columns:
        if column.kind == STRING and column.levels:
            frame[column.name] = pd.Categorical(frame[column.name], categories=list(column.levels))
        else:
            frame[column.name] = frame[column.name].astype(contract_dtype(column, frame[column.name]))
    return frame


def contract_dtype(column: Column, values: pd.Series) -> str:
    """Return a column's contract dtype; a whole-number covariate with missing values is float64 (NaN)."""
    return NUMBER_DTYPE if column.kind == INTEGER and values.isna().any() else CONTRACT_DTYPES[column.kind]


def column_may_be_missing(column: Column) -> bool:
    """Return whether a contract column may hold missing values (covariates of the cohort file)."""
    return column.name in MISSING_ALLOWED and column in CONTRACT[COHORT_FILE]


# ----------------------------------------------------------------------------- schemas


def text_schema(columns: tuple[Column, ...], parsed: pd.DataFrame) -> pa.DataFrameSchema:
    """Return the schema of the cells as read: column present, value present, value parses.

    Whether a value parses is read from ``parsed`` (:func:`parsed_frame` of the same cells), so that
    every cell is parsed once.
    """
    return pa.DataFrameSchema(
        {column.name: pa.Column(checks=kind_checks(column, parsed), nullable=column_may_be_missing(column))
         for column in columns},
        strict=False,
    )


def kind_checks(column: Column, parsed: pd.DataFrame) -> list[pa.Check]:
    """Return the check that a cell's text parses as the column's kind (none for text)."""
    if column.kind not in PARSERS or column.name not in parsed:
        return []
    parses = parsed[column.name].notna()
    return [pa.Check(lambda text: parses.reindex(text.index) | text.isna(), name=column.kind,
                     error=KIND_PROBLEMS[column.kind])]


def value_schema(name: str, columns: tuple[Column, ...], frame: pd.DataFrame) -> pa.DataFrameSchema:
    """Return the schema of the parsed values: levels, bounds, uniqueness, cross-column rules."""
    present = [column for column in columns if column.name in frame]
    return pa.DataFrameSchema(
        {
            column.name: pa.Column(VALUE_DTYPES[column.kind], checks=value_checks(column), nullable=True)
            for column in present
        },
        checks=row_checks(name, {column.name for column in present}),
        strict=False,
    )


def levels_text(levels: Iterable[object]) -> str:
    """Return every allowed value, as written in a message: "'male', 'female'"."""
    return ", ".join(shown(level) for level in levels)


def value_checks(column: Column) -> list[pa.Check]:
    """Return the checks on one column's values that the contract defines."""
    checks = []
    if column.levels:
        checks.append(pa.Check.isin(list(column.levels), error=f"must be one of {levels_text(column.levels)}"))
    if column.minimum is not None:
        bound = shown(column.minimum)
        if column.minimum_inclusive:
            checks.append(pa.Check.ge(column.minimum, error=f"must be >= {bound}"))
        else:
            checks.append(pa.Check.gt(column.minimum, error=f"must be > {bound}"))
    if column.maximum is not None:
        checks.append(pa.Check.le(column.maximum, error=f"must be <= {shown(column.maximum)}"))
    if column.unique:
        unique = pa.Check(lambda values: ~values.duplicated(keep=False), name=UNIQUE_CHECK, error="must be unique")
        checks.append(unique)
    if column.kind == "string" and not column.levels and column.name not in IDENTIFIER_COLUMNS:
        checks += free_text_checks()
    return checks


def free_text_checks() -> list[pa.Check]:
    """Return the checks on a free-text column (the histology): a name, not a bare number (an SPSS code whose
    value labels were not applied: 1.0 ... 13.0) and not a spreadsheet's error value (#N/A, #VALUE!, ...)."""
    return [
        pa.Check(lambda values: ~values.astype(str).str.fullmatch(BARE_NUMBER), name="not_a_number",
                 error="must be a name, not a number (a numeric code whose value labels were not applied? export "
                       "with value labels, or map the codes under values:)"),
        pa.Check(lambda values: ~values.astype(str).str.strip().str.upper().isin(SPREADSHEET_ERRORS),
                 name="not_a_spreadsheet_error",
                 error="is a spreadsheet error value, not a name: correct the cell, or leave it empty if unknown"),
    ]


def row_checks(name: str, present: set[str]) -> list[pa.Check]:
    """Return the checks spanning several columns of one file (skipped if a column is absent)."""
    checks = [not_above_check(column, bound) for column, bound in NOT_ABOVE.get(name, ()) if {column, bound} <= present]
    checks += [unique_together_check(names) for names in UNIQUE_TOGETHER.get(name, ()) if set(names) <= present]
    return checks


def not_above_check(column: str, bound: str) -> pa.Check:
    """Return the check that ``column`` is not greater than ``bound`` in the same row."""
    return pa.Check(
        lambda frame: ~(frame[column] > frame[bound]),
        name=NOT_ABOVE_CHECK,
        error=f"must be <= {bound}",
        statistics={"columns": (column, bound)},
        ignore_na=False,
    )


def unique_together_check(names: tuple[str, ...]) -> pa.Check:
    """Return the check that no two rows share the same values of ``names``."""
    return pa.Check(
        lambda frame: ~frame[list(names)].duplicated(keep=False) | frame[list(names)].isna().any(axis=1),
        name=UNIQUE_CHECK,
        error="must be unique together",
        statistics={"columns": names},
        ignore_na=False,
    )


def schema_findings(name: str, schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[Finding]:
    """Return every failure of ``schema`` on ``frame`` (lazy validation) as findings."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=PANDERA_CONCAT_WARNING, category=FutureWarning)
            schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        return [schema_error_finding(name, frame, error) for error in errors.schema_errors]
    return []


def schema_error_finding(name: str, frame: pd.DataFrame, error: SchemaError) -> Finding:
    """Return one pandera failure as a finding naming file, columns, rows and values."""
    if error.reason_code == SchemaErrorReason.COLUMN_NOT_IN_DATAFRAME:
        return missing_column_finding(name, frame, str(error.failure_cases))
    if not isinstance(error.failure_cases, pd.DataFrame):
        columns = (error.schema.name,) if isinstance(error.schema, pa.Column) else ()
        return Finding(name, f"could not be checked: {error}", columns)
    indexes = failure_indexes(error.failure_cases)
    if error.reason_code == SchemaErrorReason.SERIES_CONTAINS_NULLS:
        return located(name, frame, (error.schema.name,), indexes, MISSING_VALUE)
    check = error.check
    spans_columns = isinstance(error.schema, pa.DataFrameSchema)
    columns = tuple(check.statistics["columns"]) if spans_columns else (error.schema.name,)
    if check.name == UNIQUE_CHECK:
        found = duplicates_text(frame, columns, indexes)
    elif check.name == NOT_ABOVE_CHECK:
        column, bound = columns
        columns, found = (column,), listed([not_above_text(frame, column, bound, index) for index in indexes])
    else:
        found = listed(distinct(shown(value) for value in error.failure_cases["failure_case"]))
    return located(name, frame, columns, indexes, check.error, found)


def missing_column_finding(name: str, frame: pd.DataFrame, column: str) -> Finding:
    """Return the finding for a required column absent from the header (hinting at near names)."""
    near = [header for header in frame.columns if header.casefold() == column.casefold()]
    found = f"{near[0]!r} (column names are case-sensitive)" if near else ""
    return Finding(name, "required column is missing from the header", (column,), found=found, line=1)


def failure_indexes(cases: pd.DataFrame) -> list[int]:
    """Return the sorted frame indexes of pandera failure cases."""
    return sorted({int(index) for index in cases["index"] if index is not None and not pd.isna(index)})


# ----------------------------------------------------------------------------- cross-file checks


def cross_file_findings(tables: dict[str, Table]) -> list[Finding]:
    """Return problems between files: unknown patients, unknown cycles, wrong cycle counts."""
    cohort = usable_frame(tables, COHORT_FILE, PATIENT_ID)
    known = None if cohort is None else set(cohort[PATIENT_ID].dropna())
    findings = []
    if known is not None:
        for name in LINKED_FILES:
            linked = usable_frame(tables, name, PATIENT_ID)
            if linked is not None:
                findings += unknown_patient_findings(name, linked, known)
    procedures = usable_frame(tables, PROCEDURES_FILE, PATIENT_ID, CYCLE)
    if procedures is None:
        return findings
    adverse_events = usable_frame(tables, ADVERSE_EVENTS_FILE, PATIENT_ID, CYCLE)
    if adverse_events is not None:
        findings += unknown_cycle_findings(adverse_events, procedures, known)
    if cohort is not None and CYCLE_COUNT in cohort:
        findings += cycle_count_findings(cohort, procedures)
    return findings


def usable_frame(tables: dict[str, Table], name: str, *columns: str) -> pd.DataFrame | None:
    """Return the parsed frame of ``name`` if it was read and has ``columns``, else None."""
    table = tables.get(name)
    if table is None or table.frame is None or not set(columns) <= set(table.frame.columns):
        return None
    return table.frame


def unknown_patient_findings(name: str, frame: pd.DataFrame, known: set[str]) -> list[Finding]:
    """Return the rows of ``frame`` whose patient_id is not in the cohort."""
    ids = frame[PATIENT_ID]
    indexes = list(frame.index[ids.notna() & ~ids.isin(known)])
    if not indexes:
        return []
    found = listed(distinct(shown(value) for value in ids[indexes]))
    return [located(name, frame, (PATIENT_ID,), indexes, f"patient_id is not in {COHORT_FILE}", found)]


def unknown_cycle_findings(
    adverse_events: pd.DataFrame, procedures: pd.DataFrame, known: set[str] | None
) -> list[Finding]:
    """Return adverse events whose cycle is not one of that patient's procedure cycles."""
    ids, events = adverse_events[PATIENT_ID], adverse_events[CYCLE]
    checked = ids.notna() & events.notna() & (ids.isin(known) if known is not None else True)
    sessions = pd.MultiIndex.from_frame(procedures[[PATIENT_ID, CYCLE]].dropna().astype({CYCLE: "int64"}))
    pairs = pd.MultiIndex.from_arrays([ids[checked], events[checked].astype("int64")])
    indexes = list(ids[checked].index[~pairs.isin(sessions)])
    if not indexes:
        return []
    cycles = procedure_cycles(procedures, {ids[index] for index in indexes[:MAX_LISTED]})
    texts = [f"{ids[index]!r} cycle {events[index]} ({cycles_text(cycles.get(ids[index], ()))})"
             for index in indexes[:MAX_LISTED]]
    texts += [""] * (len(indexes) - len(texts))  # counted by listed() as "and K more"
    problem = f"must be one of that patient's cycles in {PROCEDURES_FILE}"
    return [located(ADVERSE_EVENTS_FILE, adverse_events, (CYCLE,), indexes, problem, listed(texts))]


def procedure_cycles(procedures: pd.DataFrame, patients: Collection[str] | None = None) -> dict[str, tuple[int, ...]]:
    """Return each patient's procedure cycles, sorted (only for ``patients`` when given)."""
    rows = procedures[[PATIENT_ID, CYCLE]].dropna()
    if patients is not None:
        rows = rows[rows[PATIENT_ID].isin(list(patients))]
    return {
        patient: tuple(sorted({int(cycle) for cycle in group[CYCLE]})) for patient, group in rows.groupby(PATIENT_ID)
    }


def cycles_text(cycles: tuple[int, ...]) -> str:
    """Return "procedure cycles 1, 2" or "no procedures"."""
    return f"procedure cycles {', '.join(map(str, cycles))}" if cycles else "no procedures"


def cycle_count_findings(cohort: pd.DataFrame, procedures: pd.DataFrame) -> list[Finding]:
    """Return cohort rows whose aice_cycles differs from the patient's number of procedure rows."""
    counts = procedures[PATIENT_ID].dropna().value_counts()
    expected = cohort[PATIENT_ID].map(counts).fillna(0).astype("float64")
    stated = cohort[CYCLE_COUNT].astype("float64")
    indexes = list(cohort.index[cohort[PATIENT_ID].notna() & stated.notna() & (stated != expected)])
    if not indexes:
        return []
    texts = [f"{int(stated[index])} ({int(expected[index])} procedure rows)" for index in indexes]
    problem = f"must equal the patient's number of rows in {PROCEDURES_FILE}"
    return [located(COHORT_FILE, cohort, (CYCLE_COUNT,), indexes, problem, listed(texts))]


# ----------------------------------------------------------------------------- formatting


def located(
    name: str, frame: pd.DataFrame, columns: tuple[str, ...], indexes: Sequence[int], problem: str, found: str = ""
) -> Finding:
    """Return a finding at frame ``indexes`` (row = index + 1) with the patients of the rows named."""
    rows = tuple(index + 1 for index in indexes)
    return Finding(name, problem, columns, rows, row_patients(frame, indexes[:MAX_LISTED]), found)


def row_patients(frame: pd.DataFrame, indexes: Sequence[int]) -> tuple[str, ...]:
    """Return the distinct patient_ids of the rows at ``indexes`` (none if the column is absent)."""
    if PATIENT_ID not in frame:
        return ()
    return tuple(distinct(terminal_text(str(value)) + named_characters(str(value))
                          for value in frame.loc[list(indexes), PATIENT_ID] if not pd.isna(value)))


def duplicates_text(frame: pd.DataFrame, columns: tuple[str, ...], indexes: Sequence[int]) -> str:
    """Return each duplicated value with the rows holding it: "'P1' in rows 2 and 5; ..."."""
    groups: dict[str, list[str]] = {}
    for index in indexes:
        groups.setdefault(key_text(frame, columns, index), []).append(str(index + 1))
    return listed([f"{key} in rows {listed(rows)}" for key, rows in groups.items()], separator="; ")


def key_text(frame: pd.DataFrame, columns: tuple[str, ...], index: int) -> str:
    """Return the values of ``columns`` in one row: "'P1'" or "('P1', 2)"."""
    values = [shown(frame.at[index, column]) for column in columns]
    return values[0] if len(values) == 1 else f"({', '.join(values)})"


def not_above_text(frame: pd.DataFrame, column: str, bound: str, index: int) -> str:
    """Return the two values of one row breaking a bound: "pfs_months 14.0 > os_months 12.0"."""
    return f"{column} {shown(frame.at[index, column])} > {bound} {shown(frame.at[index, bound])}"


def shown(value: object) -> str:
    """Return a value as written in a message: text quoted, whole-number types without decimals."""
    if isinstance(value, str):
        return repr(value) + named_characters(value)  # repr escapes control characters
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return str(value)


def distinct(values: Iterable[str]) -> list[str]:
    """Return ``values`` without repeats, in first-seen order."""
    return list(dict.fromkeys(values))


def listed(texts: Sequence[str], separator: str = ", ") -> str:
    """Return "a", "a and b", "a, b and c" or, past ``MAX_LISTED``, "a, b, c, d, e and 7 more"."""
    head, rest = list(texts[:MAX_LISTED]), len(texts) - MAX_LISTED
    if rest > 0:
        return f"{separator.join(head)} and {rest} more"
    if len(head) <= 1:
        return "".join(head)
    return f"{separator.join(head[:-1])} and {head[-1]}"


def finding_order(finding: Finding) -> tuple[int, int, int]:
    """Return the sort key of a finding: file in contract order, column position, first row."""
    files = list(CONTRACT)
    file_position = files.index(finding.file) if finding.file in files else -1
    names = [column.name for column in CONTRACT.get(finding.file, ())]
    first = finding.columns[0] if finding.columns else None
    column_position = names.index(first) if first in names else (-1 if first is None else len(names))
    return file_position, column_position, finding.rows[0] if finding.rows else 0

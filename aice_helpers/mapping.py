"""Map a cohort's own column names and category codes onto the data contract (``aice rerun --mapping``).

A mapping file is YAML with up to four keys::

    columns:                 # your column name: contract column name, in every file that has it
      Age: age_years
      Sex: sex
    values:                  # contract column: {your code: contract value}, after renaming
      sex: {M: male, F: female}
      os_event: {dead: 1, alive: 0}
    files:                   # the same two keys for one file only (they win over the shared ones)
      aice_adverse_events.csv:
        columns: {Grade: sir_grade}
    limits:                  # contract column: wider (or narrower) plausibility limits than the contract's
      age_years: {min: 0, max: 130}

Every scalar is read as text, as a CSV cell is (YAML's base loader): ``1`` is the text "1", and
``yes`` stays "yes" rather than turning into true. A code matches a cell whose text, without the
spaces around it, is the code; cells without a code are left as they are, for validation to judge.
A key the format does not know, a target that is not a contract column, or a column the input does
not have is an error naming the mapping file and the key. The file is read only if it is a regular file
of at most MAX_MAPPING_BYTES, nested at most MAX_MAPPING_DEPTH levels deep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

import pandas as pd
import yaml

from aice_helpers.contract import CONTRACT, Limits, limited_contract
from aice_helpers.data import ReadRefused, bounded_bytes, terminal_text

__all__ = [
    "COLUMNS_KEY",
    "VALUES_KEY",
    "FILES_KEY",
    "LIMITS_KEY",
    "SECTION_KEYS",
    "MISSING_KEY",
    "CSV_KEY",
    "DATES_KEY",
    "SOURCE_KEY",
    "FILE_KEYS",
    "TOP_LEVEL_KEYS",
    "CSV_KEYS",
    "DATE_ROLES",
    "DATES_KEYS",
    "LIMIT_KEYS",
    "MAX_MAPPING_BYTES",
    "MAX_MAPPING_DEPTH",
    "CONTRACT_COLUMNS",
    "MappingError",
    "FileMapping",
    "DatesSpec",
    "ColumnMapping",
    "load_mapping",
    "nesting_depth",
    "checked_limits",
    "missing_tokens",
    "dates_spec",
    "source_name",
    "checked_mapping",
    "file_mapping",
    "text_pairs",
    "shown_yaml",
    "apply_mapping",
    "mapping_warnings",
    "problems_text",
    "collected",
    "known_part",
    "columns_listing",
    "renamed_header",
    "mapped_frame",
    "without_missing_tokens",
    "recoded",
]


COLUMNS_KEY, VALUES_KEY, FILES_KEY, LIMITS_KEY = "columns", "values", "files", "limits"
SECTION_KEYS = (COLUMNS_KEY, VALUES_KEY)
MISSING_KEY, CSV_KEY, DATES_KEY, SOURCE_KEY = "missing", "csv", "dates", "source"
FILE_KEYS = (*SECTION_KEYS, SOURCE_KEY)
TOP_LEVEL_KEYS = (*SECTION_KEYS, FILES_KEY, LIMITS_KEY, MISSING_KEY, CSV_KEY, DATES_KEY)
CSV_KEYS = ("sep", "decimal", "encoding")
DATE_ROLES = ("start", "death", "progression", "last_contact")
DATES_KEYS = (*DATE_ROLES, "format", "cutoff")
LIMIT_KEYS = ("min", "max")
MAX_MAPPING_BYTES = 1024 * 1024  # a mapping file is a few hundred lines at most
MAX_MAPPING_DEPTH = 16  # the format nests four levels deep (eight with four-space indentation)
CONTRACT_COLUMNS: frozenset[str] = frozenset(column.name for columns in CONTRACT.values() for column in columns)
T = TypeVar("T")


class MappingError(Exception):
    """The mapping file cannot be read or does not fit the input; the message names the file and key of every
    problem found (all of them at once, one per line)."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(problems_text(self.problems))


def problems_text(problems: Sequence[str]) -> str:
    """Return one problem as it is, several as a count followed by one problem per line."""
    if len(problems) == 1:
        return problems[0]
    source = problems[0].split(": ", 1)[0]
    return f"{source}: {len(problems)} problems in the mapping\n" + "\n".join(f"  {problem}" for problem in problems)


def collected(problems: list[str], function: Callable[..., T], *args: object, fallback: T) -> T:
    """Return ``function(*args)``; on MappingError, add its problems to ``problems`` and return ``fallback``, so
    that every section of a mapping is checked and every problem reported at once."""
    try:
        return function(*args)
    except MappingError as error:
        problems.extend(error.problems)
        return fallback


def known_part(path: Path, value: object, where: str, allowed: tuple[str, ...], problems: list[str]) -> dict:
    """Return the keys of ``value`` that are ``allowed`` (a problem added for the others, or for a value that is
    not a mapping)."""
    try:
        return checked_mapping(path, value, where, allowed)
    except MappingError as error:
        problems.extend(error.problems)
    return {key: part for key, part in value.items() if key in allowed} if isinstance(value, dict) else {}


@dataclass(frozen=True)
class FileMapping:
    """Renamed columns {yours: contract} and recoded values {contract column: {yours: contract}}."""

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatesSpec:
    """The ``dates:`` block: the columns holding each date (your names), their format and the data cutoff."""

    start: str
    last_contact: str
    death: str | None = None
    progression: str | None = None
    format: str | None = None  # strptime format; None: ISO 8601
    cutoff: str | None = None  # ISO 8601 date


@dataclass(frozen=True)
class ColumnMapping:
    """A mapping file: the part shared by every file and the parts for one file each."""

    source: Path
    shared: FileMapping = field(default_factory=FileMapping)
    files: Mapping[str, FileMapping] = field(default_factory=dict)
    limits: Limits = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # cells meaning "not known", besides empty ones
    csv: Mapping[str, str] = field(default_factory=dict)  # sep, decimal, encoding of CSV input
    dates: DatesSpec | None = None
    sources: Mapping[str, str] = field(default_factory=dict)  # contract file: a file in the folder or a sheet

    def for_file(self, file_name: str) -> FileMapping:
        """Return the mapping one file gets: the shared part, overridden by that file's own part."""
        own = self.files.get(file_name, FileMapping())
        values = {column: {**self.shared.values.get(column, {}), **own.values.get(column, {})}
                  for column in {*self.shared.values, *own.values}}
        return FileMapping({**self.shared.columns, **own.columns}, values)


# ----------------------------------------------------------------------------- reading


def load_mapping(path: Path | str) -> ColumnMapping:
    """Return the mapping in the YAML file at ``path``, or raise MappingError naming the file and key."""
    path = Path(path)
    try:
        text = bounded_bytes(path, MAX_MAPPING_BYTES).decode("utf-8")
    except ReadRefused as refused:
        raise MappingError(f"{terminal_text(str(path))}: mapping {refused.problem}") from None
    except UnicodeDecodeError as error:
        raise MappingError(f"{terminal_text(str(path))}: not a readable YAML file (not UTF-8 text: {error.reason} "
                           f"at byte offset {error.start})") from None
    if "\x00" in text:
        raise MappingError(f"{terminal_text(str(path))}: not a readable YAML file (it contains a NUL byte)")
    depth = nesting_depth(text)
    if depth > MAX_MAPPING_DEPTH:
        raise MappingError(f"{terminal_text(str(path))}: not a readable mapping file (nested {depth} levels deep; "
                           f"the format needs at most {MAX_MAPPING_DEPTH})")
    try:
        document = yaml.load(text, Loader=yaml.BaseLoader)
    except (yaml.YAMLError, RecursionError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MappingError(f"{terminal_text(str(path))}: not a readable YAML file ({terminal_text(first_line)})") from None
    document = {} if document in (None, "") else document
    problems: list[str] = []  # every section is checked, and every problem reported at once
    top = known_part(path, document, "the top level", TOP_LEVEL_KEYS, problems)
    files = known_part(path, top.get(FILES_KEY, {}), FILES_KEY, tuple(CONTRACT), problems)
    parts = {name: known_part(path, part, f"{FILES_KEY}: {name}", FILE_KEYS, problems) for name, part in files.items()}
    shared = collected(problems, file_mapping, path, top, "", CONTRACT_COLUMNS, fallback=FileMapping())
    own = {name: collected(problems, file_mapping, path, part, f"{FILES_KEY}: {name}: ",
                           frozenset(column.name for column in CONTRACT[name]), fallback=FileMapping())
           for name, part in parts.items()}
    sources = {name: collected(problems, source_name, path, name, part[SOURCE_KEY], fallback="")
               for name, part in parts.items() if SOURCE_KEY in part}
    missing = collected(problems, missing_tokens, path, top.get(MISSING_KEY, []), fallback=())
    csv_part = known_part(path, top.get(CSV_KEY, {}), CSV_KEY, CSV_KEYS, problems)
    csv = collected(problems, text_pairs, path, csv_part, CSV_KEY, False, fallback={})
    dates = collected(problems, dates_spec, path, top[DATES_KEY], fallback=None) if DATES_KEY in top else None
    limits = collected(problems, checked_limits, path, top.get(LIMITS_KEY, {}), fallback={})
    if problems:
        raise MappingError(problems)
    return ColumnMapping(source=path, shared=shared, files=own, limits=limits, missing=missing, csv=csv, dates=dates,
                         sources=sources)


def nesting_depth(text: str) -> int:
    """Return an upper bound on how deep a YAML text nests: its deepest run of open brackets, or of
    indentation steps and list dashes, whichever is larger (one linear pass, no parsing)."""
    deepest = depth = 0
    for character in text:
        if character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth = max(depth - 1, 0)
    for line in text.splitlines():
        stripped = line.lstrip(" -")
        deepest = max(deepest, (len(line) - len(stripped)) // 2 + line[:len(line) - len(stripped)].count("-"))
    return deepest


def checked_limits(path: Path, section: object) -> Limits:
    """Return the ``limits`` section as {column: (minimum, maximum)}, checked; else raise MappingError."""
    limits: Limits = {}
    for column, bounds in checked_mapping(path, section, LIMITS_KEY).items():
        where = f"{LIMITS_KEY}: {column}"
        pair = []
        for key in LIMIT_KEYS:
            text = checked_mapping(path, bounds, where, LIMIT_KEYS).get(key)
            try:
                value = None if text is None else float(str(text).strip())
            except ValueError:
                value = math.nan
            if value is not None and not math.isfinite(value):
                raise MappingError(f"{path}: {where}: {key}: expected a finite number, found {shown_yaml(text)}")
            pair.append(value)
        if None not in pair and pair[0] > pair[1]:
            raise MappingError(f"{path}: {where}: min {pair[0]:g} is above max {pair[1]:g}")
        limits[str(column)] = (pair[0], pair[1])
    try:
        limited_contract(limits)
    except KeyError as error:
        raise MappingError(f"{path}: {LIMITS_KEY}: {error.args[0]}") from None
    return limits


def missing_tokens(path: Path, value: object) -> tuple[str, ...]:
    """Return the ``missing:`` tokens (a list of texts, or one text), stripped; else raise MappingError."""
    tokens = [value] if isinstance(value, str) else value
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise MappingError(f"{path}: {MISSING_KEY}: expected a list of codes such as [NA, not done], "
                           f"found {shown_yaml(value)}")
    return tuple(dict.fromkeys(token.strip() for token in tokens if token.strip()))


def dates_spec(path: Path, value: object) -> DatesSpec:
    """Return the ``dates:`` block checked: start and last_contact named, every value a single text."""
    section = text_pairs(path, checked_mapping(path, value, DATES_KEY, DATES_KEYS), DATES_KEY)
    for role in ("start", "last_contact"):
        if not section.get(role):
            raise MappingError(f"{path}: {DATES_KEY}: {role}: required (the column holding the date of "
                               f"{'first AICE' if role == 'start' else 'last contact'})")
    cutoff = section.get("cutoff")
    if cutoff:
        try:
            date.fromisoformat(cutoff)
        except ValueError:
            raise MappingError(f"{path}: {DATES_KEY}: cutoff: {cutoff!r} is not a date written as YYYY-MM-DD") from None
    return DatesSpec(section["start"], section["last_contact"], section.get("death") or None,
                     section.get("progression") or None, section.get("format") or None, cutoff or None)


def source_name(path: Path, file_name: str, value: object) -> str:
    """Return a ``files: NAME: source:`` value: a file in the data folder or a sheet of a workbook."""
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{path}: {FILES_KEY}: {file_name}: {SOURCE_KEY}: expected a file or sheet name, "
                           f"found {shown_yaml(value)}")
    return value.strip()


def checked_mapping(path: Path, value: object, where: str, allowed: tuple[str, ...] | None = None) -> dict:
    """Return ``value`` if it is a mapping whose keys are all ``allowed``; else raise MappingError."""
    if not isinstance(value, dict):
        raise MappingError(f"{path}: {where}: expected a mapping of keys to values, found {shown_yaml(value)}")
    if allowed is not None:
        unknown = [key for key in value if key not in allowed]
        if unknown:
            keys = f"key {unknown[0]!r}" if len(unknown) == 1 else f"keys {', '.join(map(repr, unknown))}"
            raise MappingError(f"{path}: {where}: unknown {terminal_text(keys)}; the keys allowed here are "
                               f"{', '.join(allowed)}")
    return value


def file_mapping(path: Path, section: dict, prefix: str, targets: frozenset[str]) -> FileMapping:
    """Return the columns and values of one section, checked: text to text, targets in the contract; raise
    MappingError with every problem of the section."""
    problems: list[str] = []
    columns_part = collected(problems, checked_mapping, path, section.get(COLUMNS_KEY, {}), f"{prefix}{COLUMNS_KEY}",
                             fallback={})
    columns = collected(problems, text_pairs, path, columns_part, f"{prefix}{COLUMNS_KEY}", fallback={})
    for source, target in columns.items():
        if target not in targets:
            problems.append(f"{path}: {prefix}{COLUMNS_KEY}: {source}: {target!r} is not a column of the data "
                            f"contract{' for this file' if prefix else ''}")
    for repeated in sorted({target for target in columns.values() if list(columns.values()).count(target) > 1}):
        sources = [source for source, target in columns.items() if target == repeated]
        problems.append(f"{path}: {prefix}{COLUMNS_KEY}: {', '.join(sources)} all map to {repeated!r}")
    values_section = collected(problems, checked_mapping, path, section.get(VALUES_KEY, {}), f"{prefix}{VALUES_KEY}",
                               fallback={})
    values = {}
    for column, codes in values_section.items():
        where = f"{prefix}{VALUES_KEY}: {column}"
        if column not in targets:
            problems.append(f"{path}: {where}: {column!r} is not a column of the data contract"
                            f"{' for this file' if prefix else ''} (values are keyed by contract column names)")
            continue
        codes_part = collected(problems, checked_mapping, path, codes, where, fallback={})
        values[column] = collected(problems, text_pairs, path, codes_part, where, fallback={})
    if problems:
        raise MappingError(problems)
    return FileMapping(columns, values)


def text_pairs(path: Path, section: dict, where: str, strip: bool = True) -> dict[str, str]:
    """Return a mapping whose keys and values are all text (values stripped unless ``strip`` is False, as a tab
    separator must not be); else raise MappingError."""
    problems = [f"{path}: {where}: {key}: expected a single value, found {shown_yaml(value)}"
                for key, value in section.items() if not isinstance(value, str)]
    if problems:
        raise MappingError(problems)
    return {str(key).strip(): value.strip() if strip else value for key, value in section.items()}


def shown_yaml(value: object) -> str:
    """Return a short description of a YAML value for a message."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return terminal_text(repr(value))


# ----------------------------------------------------------------------------- applying


def apply_mapping(frames: Mapping[str, pd.DataFrame], mapping: ColumnMapping) -> dict[str, pd.DataFrame]:
    """Return the frames (file name: text cells) with columns renamed and codes recoded by ``mapping``.

    Raises MappingError (every problem at once) when a renamed column would collide with another one of the same
    file. What the mapping names and the input lacks is no error: see :func:`mapping_warnings`.
    """
    problems: list[str] = []
    for name, frame in frames.items():
        collected(problems, renamed_header, [str(column) for column in frame.columns],
                  mapping.for_file(name).columns, mapping.source, name, fallback=[])
    if problems:
        raise MappingError(problems)
    return {name: mapped_frame(frame, name, mapping) for name, frame in frames.items()}


def mapping_warnings(frames: Mapping[str, pd.DataFrame], mapping: ColumnMapping) -> list[str]:
    """Return a warning for every file, column or recoded column the mapping names and the input (``frames``,
    before renaming) lacks: a mapping reused on an export without some of its columns still runs, and the
    chapters that need those columns are left out."""
    where, warnings = mapping.source, []
    for name in mapping.files:
        if name not in frames:
            warnings.append(f"{where}: {FILES_KEY}: {name}: the input has no such file "
                            f"(it has {', '.join(frames) or 'no contract file'})")
    headers = {name: [str(column) for column in frame.columns] for name, frame in frames.items()}
    for source in mapping.shared.columns:
        if not any(source in header for header in headers.values()):
            warnings.append(f"{where}: {COLUMNS_KEY}: {source}: no input file has a column {source!r} "
                            f"({columns_listing(headers)})")
    for name, part in mapping.files.items():
        for source in part.columns:
            if name in headers and source not in headers[name]:
                warnings.append(f"{where}: {FILES_KEY}: {name}: {COLUMNS_KEY}: {source}: {name} has no column "
                                f"{source!r} ({columns_listing({name: headers[name]})})")
    renamed = {name: [mapping.for_file(name).columns.get(column, column) for column in header]
               for name, header in headers.items()}
    for column in mapping.shared.values:
        if not any(column in header for header in renamed.values()):
            warnings.append(f"{where}: {VALUES_KEY}: {column}: no input file has a column {column!r} after renaming")
    for name, part in mapping.files.items():
        for column in part.values:
            if name in renamed and column not in renamed[name]:
                warnings.append(f"{where}: {FILES_KEY}: {name}: {VALUES_KEY}: {column}: {name} has no column "
                                f"{column!r} after renaming")
    return [terminal_text(warning) for warning in warnings]


def columns_listing(headers: Mapping[str, list[str]]) -> str:
    """Return "aice_cohort.csv has: a, b, c; ..." for a message."""
    return "; ".join(f"{name} has: {', '.join(header)}" for name, header in headers.items())


def renamed_header(header: list[str], columns: Mapping[str, str], where: Path, name: str) -> list[str]:
    """Return the header after renaming, raising MappingError if two columns would share a name."""
    renamed = [columns.get(column, column) for column in header]
    repeated = sorted({column for column in renamed if renamed.count(column) > 1})
    if repeated:
        raise MappingError(f"{where}: {COLUMNS_KEY}: renaming gives {name} two columns named {repeated[0]!r}")
    return renamed


def mapped_frame(frame: pd.DataFrame, file_name: str, mapping: ColumnMapping) -> pd.DataFrame:
    """Return one file's frame with its columns renamed and its codes recoded."""
    part = mapping.for_file(file_name)
    mapped = frame.rename(columns=dict(part.columns))
    for column, codes in part.values.items():
        if column in mapped and codes:
            mapped[column] = recoded(mapped[column], codes)
    return without_missing_tokens(mapped, file_name, mapping.missing, part.values) if mapping.missing else mapped


def without_missing_tokens(frame: pd.DataFrame, file_name: str, tokens: tuple[str, ...],
                           values: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """Return the frame with every cell that is one of ``tokens`` made missing. A code the column has under
    ``values`` wins (it was recoded before), and so does an allowed value of the column (``unknown`` is a
    level of subsequent_therapy)."""
    levels = {column.name: {str(level) for level in column.levels or ()} for column in CONTRACT.get(file_name, ())}
    frame = frame.copy()
    for column in frame.columns:
        own = set(values.get(column, {}).values()) | levels.get(column, set())
        missing = [token for token in tokens if token not in own]
        cells = frame[column]
        text = cells.astype(object).where(cells.isna(), cells.astype(str).str.strip())
        frame[column] = cells.mask(text.isin(missing))
    return frame


def recoded(cells: pd.Series, codes: Mapping[str, str]) -> pd.Series:
    """Return the cells with each code (matched without surrounding spaces) replaced by its value."""
    stripped = cells.astype(object).where(cells.isna(), cells.astype(str).str.strip())
    return stripped.map(lambda cell: codes.get(cell, cell) if isinstance(cell, str) else cell)

"""The numbers the paper prints, loaded from ``data/published/*.yaml`` and checked on load.

Each YAML file is a list of entries, one per printed number (or bibliographic value). Fields:

- ``id`` (required): unique, lower-case, dotted, e.g. ``table1.sex.male``; a percentage sits
  beside its count as ``<count id>.pct``.
- ``section`` (required): part of the paper (abstract, introduction, methods, results,
  table1 … table5, discussion, second_record, bibliography).
- ``value`` (required): the number as printed (int or float), or a string (ISO date, text).
- ``unit`` (required): patients, percent, months, ratio, p-value, years, cm, mg/m2, text, …
- ``table``, ``row``, ``column``: where the number stands in a table.
- ``variable``, ``group``, ``endpoint``: data-contract column, subgroup or level, os/pfs.
- ``quote_context``: at most eight words saying where the number is, in our own words.
- ``lower``, ``upper``, ``interval``: a printed interval and its kind (``ci95`` or ``range``).
- ``operator``: the comparison a printed threshold carries (``<``, ``<=``, ``>``, ``>=``).
- ``p_operator``: ``<`` for "P<0.001", ``=`` otherwise (P values only).
- ``decimals``: decimals printed ("0.560" has 3), the scorecard's rounding tolerance.
- ``approximate``: true where the paper prints "~", "about" or "nearly".
- ``denominator``, ``of``: the n a percentage is of, and the id of its count.
- ``method``, ``ci_method``: how the estimate and its interval were (evidently) computed.
- ``see_also``: id of an entry elsewhere in the paper that reports the same quantity.
- ``scope``: ``study`` (default) or ``literature`` for figures cited from other work.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from aice_helpers import contract

__all__ = [
    "REQUIRED_FIELDS",
    "OPTIONAL_FIELDS",
    "FIELDS",
    "SOURCE_COLUMN",
    "DEFAULTS",
    "ID_PATTERN",
    "MAX_CONTEXT_WORDS",
    "YAML_LOADER",
    "P_OPERATORS",
    "OPERATORS",
    "INTERVAL_KINDS",
    "ENDPOINTS",
    "SCOPES",
    "ID_REFERENCE_FIELDS",
    "INTEGER_COLUMNS",
    "FLOAT_COLUMNS",
    "YAML_PATTERN",
    "PublishedDataError",
    "load_published",
    "published_entry",
    "published_value",
]

REQUIRED_FIELDS: tuple[str, ...] = ("id", "section", "value", "unit")
OPTIONAL_FIELDS: tuple[str, ...] = (
    "table", "row", "column", "variable", "group", "endpoint", "quote_context",
    "lower", "upper", "interval", "operator", "p_operator", "decimals", "approximate",
    "denominator", "of", "method", "ci_method", "see_also", "scope",
)
FIELDS: tuple[str, ...] = REQUIRED_FIELDS + OPTIONAL_FIELDS
SOURCE_COLUMN = "source_file"
DEFAULTS: dict[str, Any] = {"approximate": False, "scope": "study"}

ID_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
MAX_CONTEXT_WORDS = 8
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: the same documents, ten times faster
P_OPERATORS = ("<", "=")
OPERATORS = ("<", "<=", "=", ">", ">=")
INTERVAL_KINDS = ("ci95", "range")
ENDPOINTS = ("os", "pfs")
SCOPES = ("study", "literature")
ID_REFERENCE_FIELDS = ("of", "see_also")
INTEGER_COLUMNS = ("decimals", "denominator")
FLOAT_COLUMNS = ("lower", "upper")
YAML_PATTERN = "*.yaml"


class PublishedDataError(ValueError):
    """A published-numbers file breaks the format; the message names the file and the entry."""


def _problem(file_name: str, entry_id: object, message: str) -> PublishedDataError:
    """Return an error naming the file, the entry id and what is wrong."""
    return PublishedDataError(f"{file_name}: entry {entry_id!r}: {message}")


def _is_number(value: object) -> bool:
    """Return True for an int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: object) -> bool:
    """Return True for a non-negative int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _normalised_value(value: object) -> object:
    """Return the value with YAML dates turned into ISO strings."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _field_problems(entry: dict[str, Any]) -> list[str]:
    """Return every problem with one entry's fields (empty when the entry is valid)."""
    problems = [f"missing required field {name!r}" for name in REQUIRED_FIELDS if entry.get(name) is None]
    problems += [f"unknown field {name!r}" for name in entry if name not in FIELDS]
    if not ID_PATTERN.match(str(entry.get("id", ""))):
        problems.append("id must be lower-case, dotted, of letters, digits and underscores")
    value = entry.get("value")
    if value is not None and not (_is_number(value) or isinstance(value, str)):
        problems.append(f"value must be a number or a string, not {type(value).__name__}")
    for bound in ("lower", "upper"):
        if bound in entry and not _is_number(entry[bound]):
            problems.append(f"{bound} must be a number")
    if ("lower" in entry) != ("upper" in entry):
        problems.append("lower and upper must be given together")
    elif _is_number(entry.get("lower")) and _is_number(entry.get("upper")) and entry["lower"] > entry["upper"]:
        problems.append(f"lower {entry['lower']} is greater than upper {entry['upper']}")
    for name in INTEGER_COLUMNS:
        if name in entry and not _is_count(entry[name]):
            problems.append(f"{name} must be a non-negative integer")
    allowed = {"p_operator": P_OPERATORS, "operator": OPERATORS, "interval": INTERVAL_KINDS,
               "endpoint": ENDPOINTS, "scope": SCOPES}
    problems += [f"{name} must be one of {choices}, not {entry[name]!r}"
                 for name, choices in allowed.items() if name in entry and entry[name] not in choices]
    if "approximate" in entry and not isinstance(entry["approximate"], bool):
        problems.append("approximate must be true or false")
    if len(str(entry.get("quote_context", "")).split()) > MAX_CONTEXT_WORDS:
        problems.append(f"quote_context has more than {MAX_CONTEXT_WORDS} words")
    return problems


def _entries_in_file(path: Path) -> list[dict[str, Any]]:
    """Return the validated entries of one YAML file, each tagged with its source file."""
    content = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    if not isinstance(content, list):
        raise _problem(path.name, None, "the file must hold a list of entries")
    entries = []
    for position, raw in enumerate(content, start=1):
        if not isinstance(raw, dict):
            raise _problem(path.name, f"#{position}", "an entry must be a mapping of fields")
        entry = {name: _normalised_value(value) for name, value in raw.items()}
        problems = _field_problems(entry)
        if problems:
            raise _problem(path.name, entry.get("id", f"#{position}"), "; ".join(problems))
        defaults = {name: value for name, value in DEFAULTS.items() if name not in entry}
        entries.append(entry | defaults | {SOURCE_COLUMN: path.name})
    return entries


def _check_unique_ids(entries: list[dict[str, Any]]) -> None:
    """Raise if an id occurs twice, naming both files."""
    seen: dict[str, str] = {}
    for entry in entries:
        entry_id, file_name = entry["id"], entry[SOURCE_COLUMN]
        if entry_id in seen:
            raise _problem(file_name, entry_id, f"duplicate id (also in {seen[entry_id]})")
        seen[entry_id] = file_name


def _check_references(entries: list[dict[str, Any]]) -> None:
    """Raise if an ``of`` or ``see_also`` field names an id that does not exist."""
    ids = {entry["id"] for entry in entries}
    for entry in entries:
        for name in ID_REFERENCE_FIELDS:
            if name in entry and entry[name] not in ids:
                raise _problem(entry[SOURCE_COLUMN], entry["id"], f"{name} names unknown id {entry[name]!r}")


@functools.lru_cache(maxsize=16)
def _published_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """Return every validated entry in the folder, keyed by id (cached per folder)."""
    paths = sorted(folder.glob(YAML_PATTERN))
    if not paths:
        raise PublishedDataError(f"{folder}: no {YAML_PATTERN} files of published numbers")
    entries = [entry for path in paths for entry in _entries_in_file(path)]
    _check_unique_ids(entries)
    _check_references(entries)
    return {entry["id"]: entry for entry in entries}


@functools.lru_cache(maxsize=16)
def _published_frame(folder: Path) -> pd.DataFrame:
    """Return the cached table of entries for one folder."""
    columns = list(FIELDS) + [SOURCE_COLUMN]
    rows = [{name: entry.get(name) for name in columns} for entry in _published_entries(folder).values()]
    frame = pd.DataFrame(rows, columns=columns)
    frame["value"] = frame["value"].astype(object)
    for name in FLOAT_COLUMNS:
        frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
    for name in INTEGER_COLUMNS:
        frame[name] = frame[name].astype("Int64")
    frame["approximate"] = frame["approximate"].astype(bool)
    frame.index = pd.Index(frame["id"].to_list())
    return frame


def _resolved(folder: Path | str) -> Path:
    """Return the folder as an absolute path, the cache key."""
    return Path(folder).expanduser().resolve()


def load_published(folder: Path = contract.PUBLISHED_DIR) -> pd.DataFrame:
    """Return every published number as a table, one row per entry, indexed by id."""
    return _published_frame(_resolved(folder)).copy()


def published_entry(id: str, folder: Path = contract.PUBLISHED_DIR) -> dict[str, Any]:
    """Return one entry's fields (those given in its file, plus defaults and source_file)."""
    entries = _published_entries(_resolved(folder))
    key = id.strip().lower()
    if key not in entries:
        close = difflib.get_close_matches(key, entries, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no published number with id {id!r}{hint}")
    return dict(entries[key])


def published_value(id: str, folder: Path = contract.PUBLISHED_DIR) -> float | str:
    """Return one entry's value: a float for a number, else the string as printed."""
    value = published_entry(id, folder)["value"]
    return float(value) if _is_number(value) else value

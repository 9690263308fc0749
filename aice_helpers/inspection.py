"""Look at a hospital's export before mapping it: ``aice inspect --data FILE_OR_FOLDER [--out draft.yaml]``.

Every file in the folder (every sheet of a workbook) is read as ``aice rerun`` reads it (``ingest``), and
each column is described: its detected type (integer, number, date, text, or empty), how many cells are
missing, and its first distinct codes. A draft mapping guesses, for each source, which contract file it
holds and which contract column each of its columns is (names compared without case, spaces or
punctuation, with common synonyms: Gender for sex, Date of death for the ``dates:`` block, ...), and
writes ``values:`` stubs for codes that are not contract codes (``TODO`` where no guess is safe, so that
validation points at every stub left). The draft is never written over an existing file without
``force``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    PROCEDURES_FILE,
)
from aice_helpers.data import (
    INVISIBLE_CATEGORIES,
    DataValidationError,
    Finding,
    terminal_text,
)
from aice_helpers.ingest import (
    SUPPORTED_SUFFIXES,
    WORKBOOK_SUFFIXES,
    Source,
    Unreadable,
    read_source,
    workbook_sheets,
)

__all__ = [
    "SHOWN_CODES",
    "MAX_CODES",
    "TODO",
    "MISSING_LIKE",
    "COLUMN_SYNONYMS",
    "DATE_SYNONYMS",
    "FILE_HINTS",
    "ColumnProfile",
    "SourceProfile",
    "InspectionError",
    "normalized_name",
    "input_sources",
    "cell_kind",
    "column_profile",
    "source_profiles",
    "profiles_text",
    "guessed_column",
    "guessed_date_role",
    "guessed_file",
    "date_format",
    "code_guess",
    "yaml_text",
    "draft_mapping",
    "written_draft",
]

SHOWN_CODES = 6  # distinct codes printed per column
MAX_CODES = 15  # a column with more distinct values is not treated as coded
TODO = "TODO"
MISSING_LIKE = frozenset({"na", "n/a", "nan", "not done", "nd", "ne", "unknown", "unk", "missing", ".", "-", "?",
                          "#n/a", "not evaluable", "not assessed", "none recorded"})
# contract column: other names for it, normalized (lower case, letters and digits only)
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": ("patientid", "patient", "id", "patientnumber", "patientno", "patnr", "studyid", "subjectid",
                   "caseid", "pid", "record", "recordid", "casenumber"),
    "age_years": ("age", "ageyears", "ageatfirstaice", "ageatdiagnosis", "ageattreatment", "ageatbaseline"),
    "sex": ("sex", "gender"),
    "ecog": ("ecog", "ecogps", "ps", "performancestatus", "ecogperformancestatus", "whops"),
    "tumor_site": ("tumorsite", "tumoursite", "site", "primarysite", "location", "tumorlocation", "tumourlocation"),
    "histology": ("histology", "histotype", "subtype", "histologicalsubtype", "histologicaltype", "pathology"),
    "max_diameter_cm": ("maxdiametercm", "maxdiameter", "diameter", "diametercm", "tumorsize", "tumoursize",
                        "largestdiameter", "size", "sizecm"),
    "distant_metastasis": ("distantmetastasis", "metastasis", "metastases", "mets", "distantmetastases"),
    "grade": ("grade", "fnclccgrade", "tumorgrade", "tumourgrade", "histologicalgrade"),
    "stage": ("stage", "ajccstage", "clinicalstage"),
    "nlr": ("nlr", "neutrophillymphocyteratio", "neutrophiltolymphocyteratio"),
    "mgps": ("mgps", "gps", "modifiedglasgowprognosticscore", "glasgowprognosticscore"),
    "aice_modality": ("aicemodality", "modality", "aicetype", "procedure", "proceduretype"),
    "prior_systemic_lines": ("priorsystemiclines", "priorlines", "previouslines", "priortherapylines",
                             "linesofpriortherapy", "priorchemotherapylines"),
    "aice_cycles": ("aicecycles", "cycles", "numberofcycles", "ncycles", "numberofaicecycles"),
    "postop_regimens": ("postopregimens", "postoperativeregimens", "postopchemotherapy", "postopcycles"),
    "best_response": ("bestresponse", "response", "recist", "bor", "bestoverallresponse", "recistresponse"),
    "subsequent_therapy": ("subsequenttherapy", "nexttherapy", "furthertherapy", "therapyafteraice"),
    "os_months": ("osmonths", "os", "overallsurvival", "ostime", "survivalmonths", "osmo"),
    "os_event": ("osevent", "osstatus", "death", "dead", "died", "vitalstatus", "deceased"),
    "pfs_months": ("pfsmonths", "pfs", "progressionfreesurvival", "pfstime", "pfsmo"),
    "pfs_event": ("pfsevent", "pfsstatus", "progression", "progressed", "progressionordeath"),
    "cycle": ("cycle", "cyclenumber", "session", "sessionnumber", "aicecycle", "cycleno"),
    "embolization": ("embolization", "embolisation", "embolized", "embolised", "withembolization"),
    "event": ("event", "adverseevent", "ae", "toxicity", "aetype", "eventtype"),
    "sir_grade": ("sirgrade", "sir", "grade", "sirclass", "severity"),
}
DATE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "start": ("dateoffirstaice", "firstaice", "firstaicedate", "startdate", "dateoffirsttreatment",
              "treatmentstart", "dateofstart", "aicestart", "dateoftreatment", "baselinedate"),
    "death": ("dateofdeath", "deathdate", "dod", "death", "died", "dateofdeceased"),
    "progression": ("dateofprogression", "progressiondate", "pddate", "progression", "dateofpd",
                    "dateofrecurrence"),
    "last_contact": ("dateoflastcontact", "lastcontact", "lastfollowup", "dateoflastfollowup", "lastseen",
                     "lastvisit", "dateoflastvisit", "lastcontactdate", "followupdate", "lastknownalive"),
}
FILE_HINTS: dict[str, tuple[str, ...]] = {  # words in a file or sheet name that point to a contract file
    COHORT_FILE: ("cohort", "patient", "baseline", "demograph"),
    PROCEDURES_FILE: ("procedure", "session", "cycle", "aice"),
    ADVERSE_EVENTS_FILE: ("adverse", "toxic", "event", "ae", "complication", "safety"),
}
INTEGER = re.compile(r"^[+-]?\d+$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( .*)?$")
SLASHED_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


class InspectionError(Exception):
    """The draft cannot be written (the file exists, or is an input); the message says why."""


@dataclass(frozen=True)
class ColumnProfile:
    """One column: its name, detected type, missing cells and distinct codes (most frequent first)."""

    name: str
    kind: str  # "integer", "number", "date", "text" or "empty"
    missing: int
    distinct: int
    codes: tuple[str, ...]
    date_format: str | None = None  # strptime format of slashed dates; None for ISO 8601
    token_cells: int = 0  # cells such as "NA" or "not done"
    tokens: tuple[str, ...] = ()  # those cells' distinct texts


@dataclass
class SourceProfile:
    """One file or sheet: where it is, its rows and columns, or why it cannot be read."""

    source: Source
    rows: int = 0
    columns: list[ColumnProfile] = field(default_factory=list)
    problem: str = ""


def normalized_name(name: str) -> str:
    """Return a name folded for comparison: lower case, accents dropped, letters and digits only."""
    folded = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.casefold())


def input_sources(data: Path) -> list[Source]:
    """Return every readable source in ``data``: the file (each sheet of a workbook), or each supported file of
    a folder in name order; raise DataValidationError when there is none."""
    data = Path(data).expanduser()
    if data.is_dir():
        paths = [path for path in sorted(data.iterdir()) if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES]
    elif data.is_file():
        paths = [data]
    else:
        raise DataValidationError([Finding(str(data), "no such file or folder" if not data.exists() else
                                           "is not a regular file or a folder; only regular files are read")])
    sources = []
    for path in paths:
        if path.suffix.lower() in WORKBOOK_SUFFIXES:
            sources += [Source(path, sheet) for sheet in workbook_sheets(path)]
        else:
            sources.append(Source(path))
    if not sources:
        raise DataValidationError([Finding(str(data), f"holds no file aice can read (endings: "
                                                      f"{', '.join(SUPPORTED_SUFFIXES)})")])
    return sources


def cell_kind(cells: pd.Series) -> tuple[str, str | None]:
    """Return the type every non-missing text cell fits (integer, number, date, text; empty when none is
    present) and, for dates written d/m/Y or m/d/Y, their strptime format."""
    present = cells.dropna().astype(str)
    if present.empty:
        return "empty", None
    if present.str.match(INTEGER).all():
        return "integer", None
    if present.str.match(NUMBER).all():
        return "number", None
    if present.str.match(ISO_DATE).all() and pd.to_datetime(present, format="ISO8601", errors="coerce").notna().all():
        return "date", None
    parts = present.str.extract(SLASHED_DATE)
    if parts.notna().all().all():
        first, second = parts[0].astype(int), parts[1].astype(int)
        separator = present.iloc[0][len(parts.iloc[0, 0])]
        form = None
        if (first > 12).any() and (second <= 12).all():
            form = f"%d{separator}%m{separator}%Y"
        elif (second > 12).any() and (first <= 12).all():
            form = f"%m{separator}%d{separator}%Y"
        elif (first <= 12).all() and (second <= 12).all():
            form = f"%d{separator}%m{separator}%Y?"  # ambiguous: both readings are dates
        if form and pd.to_datetime(present, format=form.rstrip("?"), errors="coerce").notna().all():
            return "date", form
    return "text", None


def column_profile(name: str, cells: pd.Series) -> ColumnProfile:
    """Return one column's profile: type (cells such as "NA" or "not done" aside), missing cells, cells that look
    like a missing-value token, distinct codes (most frequent first)."""
    text = cells.astype(object).where(cells.isna(), cells.astype(str))
    token = text.map(lambda cell: isinstance(cell, str) and cell.strip().casefold() in MISSING_LIKE).astype(bool)
    kind, form = cell_kind(text.mask(token))
    counts = cells.dropna().astype(str).value_counts(sort=True)
    tokens = tuple(dict.fromkeys(text[token]))
    return ColumnProfile(str(name), kind, int(cells.isna().sum()), len(counts),
                         tuple(str(code) for code in counts.index[:MAX_CODES]), form, int(token.sum()), tokens)


def source_profiles(data: Path, options: Mapping[str, str] | None = None) -> list[SourceProfile]:
    """Return a profile of every file or sheet in ``data``, read as ``aice rerun`` reads it (an unreadable one
    carries its problem instead of columns)."""
    profiles = []
    for source in input_sources(data):
        profile = SourceProfile(source)
        try:
            frame = read_source(source, options or {}, rows_required=False)
        except Unreadable as unreadable:
            profile.problem = "; ".join(str(finding) for finding in unreadable.findings)
        else:
            profile.rows = len(frame)
            profile.columns = [column_profile(name, frame[name]) for name in frame.columns]
        profiles.append(profile)
    return profiles


def profiles_text(profiles: Sequence[SourceProfile]) -> str:
    """Return the profiles as terminal text: one block per source, one line per column, user text escaped."""
    lines = []
    for profile in profiles:
        label = terminal_text(profile.source.label())
        if profile.problem:
            lines += [f"{label}: cannot be read: {terminal_text(profile.problem)}", ""]
            continue
        lines.append(f"{label}: {profile.rows} rows, {len(profile.columns)} columns")
        width = min(max((len(terminal_text(column.name)) for column in profile.columns), default=0), 32)
        for column in profile.columns:
            codes = ""
            if column.kind in ("text", "integer") and column.distinct <= MAX_CODES:
                shown = ", ".join(repr(code) for code in column.codes[:SHOWN_CODES])
                more = f", ... ({column.distinct} in all)" if column.distinct > SHOWN_CODES else ""
                codes = f"  codes: {shown}{more}"
            elif column.kind == "text":
                codes = f"  {column.distinct} distinct values, e.g. " + ", ".join(map(repr, column.codes[:3]))
            form = f" ({column.date_format.rstrip('?')}{', or month first?' if column.date_format.endswith('?') else ''})" \
                if column.date_format else ""
            tokens = f" (+{column.token_cells}: {', '.join(map(repr, column.tokens))})" if column.token_cells else ""
            lines.append(f"  {terminal_text(column.name):<{width}}  {column.kind + form:<10}  "
                         f"missing {column.missing:>4}{terminal_text(tokens + codes)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def guessed_column(name: str, file_name: str) -> str | None:
    """Return the contract column of ``file_name`` that a column called ``name`` most likely is, or None."""
    key = normalized_name(name)
    columns = [column.name for column in CONTRACT[file_name]]
    for column in columns:
        if key == normalized_name(column):
            return column
    for column in columns:
        if key in COLUMN_SYNONYMS.get(column, ()):
            return column
    return None


def guessed_date_role(name: str) -> str | None:
    """Return the ``dates:`` role (start, death, progression, last_contact) a date column most likely has."""
    key = normalized_name(name)
    for role, synonyms in DATE_SYNONYMS.items():
        if key in synonyms or key == normalized_name(role):
            return role
    return None


def guessed_file(profile: SourceProfile, taken: set[str], only: bool) -> str | None:
    """Return the contract file a source most likely holds (not one already ``taken``): the cohort when it is
    the only source, else the file whose contract columns its columns best match, name hints breaking ties."""
    if only:
        return COHORT_FILE
    label = normalized_name(f"{profile.source.path.stem} {profile.source.sheet or ''}")
    scores = {}
    for file_name in CONTRACT:
        if file_name in taken:
            continue
        matched = sum(1 for column in profile.columns if guessed_column(column.name, file_name))
        hinted = any(hint in label for hint in FILE_HINTS[file_name])
        scores[file_name] = (matched + (2 if hinted else 0), matched)
    best = max(scores, key=scores.get, default=None)
    return best if best is not None and scores[best][0] >= 2 else None


def date_format(profiles: Sequence[ColumnProfile]) -> str | None:
    """Return the strptime format the date columns share (None for ISO 8601 or Excel/SPSS date cells)."""
    forms = [column.date_format for column in profiles if column.date_format]
    certain = [form for form in forms if not form.endswith("?")]
    return certain[0] if certain else (forms[0] if forms else None)


def code_guess(code: str, column: str) -> str | None:
    """Return the contract value a code most likely means (same text without case, M/F, yes/no), or None."""
    levels = [str(level) for level in next(c for cs in CONTRACT.values() for c in cs if c.name == column).levels or ()]
    key = normalized_name(code)
    for level in levels:
        if key == normalized_name(level):
            return level
    words = {"sex": {"m": "male", "man": "male", "f": "female", "w": "female", "woman": "female"},
             "best_response": {"completeresponse": "CR", "partialresponse": "PR", "stabledisease": "SD",
                               "progressivedisease": "PD", "progression": "PD"}}
    if column in words and key in words[column]:
        return words[column][key]
    if levels == ["0", "1"]:
        yes = {"yes", "y", "true", "dead", "died", "deceased", "event", "progressed", "present", "embolized", "ja"}
        no = {"no", "n", "false", "alive", "censored", "absent", "noevent", "nein"}
        return "1" if key in yes else "0" if key in no else None
    return None


def yaml_text(text: str) -> str:
    """Return ``text`` as a YAML double-quoted scalar, every invisible character escaped."""
    quoted = json.dumps(str(text), ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in INVISIBLE_CATEGORIES and ord(c) < 0x10000
                   else c for c in quoted)


def draft_mapping(profiles: Sequence[SourceProfile], data: Path) -> str:
    """Return a draft mapping YAML for the sources: where each contract file comes from, the columns renamed,
    values stubs for codes that are not contract codes, missing-value tokens seen and a ``dates:`` block."""
    readable = [profile for profile in profiles if not profile.problem]
    taken: set[str] = set()
    assigned: dict[str, SourceProfile] = {}
    for profile in sorted(readable, key=lambda p: 0 if guessed_file(p, set(), False) == COHORT_FILE else 1):
        file_name = guessed_file(profile, taken, len(readable) == 1)
        if file_name is not None:
            assigned[file_name] = profile
            taken.add(file_name)
    lines = ["# Draft mapping written by `aice inspect`: check every line, replace each TODO, then run",
             f"#   aice validate --data {data} --mapping THIS_FILE",
             "# Every value is read as text. See book/rerun.md and data/template/ for the format.", ""]
    missing_seen: dict[str, None] = {}
    dates: dict[str, str] = {}
    date_columns: list[ColumnProfile] = []
    files_lines = []
    for file_name in CONTRACT:
        profile = assigned.get(file_name)
        if profile is None:
            continue
        part = [f"  {file_name}:"]
        if not (Path(data).is_file() and profile.source.sheet is None):
            source = profile.source.sheet if Path(data).is_file() else (
                f"{profile.source.path.name}:{profile.source.sheet}" if profile.source.sheet is not None
                else profile.source.path.name)
            part.append(f"    source: {yaml_text(source)}")
        renames, values, used, unmapped = [], [], set(), []
        for column in profile.columns:
            missing_seen.update((code, None) for code in column.tokens)
            if file_name == COHORT_FILE and column.kind == "date":
                role = guessed_date_role(column.name)
                if role and role not in dates:
                    dates[role] = column.name
                    date_columns.append(column)
                    continue
            target = guessed_column(column.name, file_name)
            if target is None or target in used:
                unmapped.append(column.name)
                continue
            used.add(target)
            if column.name != target:
                renames.append(f"      {yaml_text(column.name)}: {target}")
            levels = next(c for c in CONTRACT[file_name] if c.name == target).levels
            if levels:
                allowed = {str(level) for level in levels}
                stubs = [(code, code_guess(code, target)) for code in column.codes
                         if code not in allowed and code.casefold() not in MISSING_LIKE]
                if stubs:
                    values.append(f"      {target}:")
                    values += [f"        {yaml_text(code)}: {guess or TODO}"
                               + ("" if guess else f"  # one of: {', '.join(map(str, levels))}")
                               for code, guess in stubs]
        if renames:
            part += ["    columns:", *renames]
        if values:
            part += ["    values:", *values]
        absent = [column for column in CONTRACT[file_name] if column.name not in used
                  and not (file_name == COHORT_FILE and dates.get("start") and column.name in
                           ("os_months", "os_event", "pfs_months", "pfs_event"))]
        if unmapped:
            part.append(f"    # not mapped: {', '.join(terminal_text(name) for name in unmapped)}")
        if absent:
            part.append(f"    # contract columns not found: {', '.join(column.name for column in absent)}")
        files_lines += part
    if files_lines:
        lines += ["files:", *files_lines, ""]
    if missing_seen:
        lines += ["# Cells meaning 'not known' (allowed in covariates, never in ids, dates or events):",
                  f"missing: [{', '.join(yaml_text(code) for code in missing_seen)}]", ""]
    if dates:
        lines.append("dates:  # survival from dates: OS ends at death, else last contact; PFS at progression or death")
        lines += [f"  {role}: {yaml_text(dates[role])}" if role in dates else f"  # {role}: TODO (no column found)"
                  for role in ("start", "death", "progression", "last_contact")]
        form = date_format(date_columns)
        if form:
            note = "  # TODO: day or month first? both read as dates" if form.endswith("?") else ""
            lines.append(f"  format: {yaml_text(form.rstrip('?'))}{note}")
        lines += ["  # cutoff: 2024-06-30  # optional: the data cutoff", ""]
    if not assigned:
        lines += ["# No source looked like a contract file: name them under files: NAME: {source: ...}", ""]
    return "\n".join(lines)


def written_draft(text: str, out: Path, inputs: Sequence[Path], force: bool = False) -> Path:
    """Write the draft to ``out`` and return its path; raise InspectionError when ``out`` exists (unless
    ``force``) or is one of the input files, which are only ever read."""
    out = Path(out).expanduser()
    if out.resolve() in {Path(path).resolve() for path in inputs}:
        raise InspectionError(f"--out {out} is one of the input files; choose another name")
    if out.is_dir():
        raise InspectionError(f"--out {out} is a folder; give a file name such as draft.yaml")
    try:
        with open(out, "w" if force else "x", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except FileExistsError:
        raise InspectionError(f"--out {out} exists; give another name, or --force to replace it") from None
    return out

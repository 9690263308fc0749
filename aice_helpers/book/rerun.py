"""Rerun the book on your own cohort: ``aice rerun --data PATH --out DIR`` (see ``book/rerun.md``).

The command works in four steps, and writes nothing to DIR unless all of them succeed:

1. Read the input (a folder with files named as in ``data/``, or one patient-level CSV taken as the
   cohort file), rename columns and recode values with ``--mapping``, and decide which chapters can
   run from ``CHAPTER_REQUIREMENTS``: the files and columns each chapter reads. A copy holding only
   the columns in use is written to a private temporary folder (never next to the input, never into
   DIR) and validated against the data contract; a problem stops the command with the report.
2. Execute each chapter that can run with papermill, with ``compare_with_published=False``; it reads
   only the files and columns it declares (``AICE_REQUIRED_COLUMNS``) from the validated copy, without
   checking them again (``AICE_DATA_VALIDATED``). Chapters that cannot run are left out and a note
   page says what they lack. Python warnings a chapter writes are taken off its page and listed on
   the front page; an error stops the command with the chapter's name and the message.
3. Render the book (its own ``_config.yml`` and ``_toc.yml``) with ``jupyter-book build -W -n
   --keep-going`` in a staging folder.
4. Move the staging folder to DIR.

The private copy and the staging folder live in ONE temporary folder (``private_workspace``), removed on
success, failure, Ctrl-C, SIGTERM and SIGHUP: the signals are turned into an exception that unwinds
every step, and the chapters' processes (papermill and its kernel, which runs in a session of its own)
are ended with their whole process tree.

DIR is refused when it is, holds or lies inside the input, or the project's own folders, or when it exists
and holds anything but an earlier rerun's output (``MARKER_FILE`` and the entries a rerun writes); a rerun
replaces only such a folder. Everything the user passes (``--title``, warnings, free text in the data)
reaches a page as escaped text (``myst_text``), never as MyST, Jinja, HTML or a path.

What is published is aggregates only: chapters show counts, rates and model estimates, never rows;
figures that draw one mark per patient (waterfall, swimmer) are left out of reruns; ``--min-cell N``
applies statistical disclosure control (see ``book/rerun.md`` and ``tables.masked_small_counts``): free-text
categories of fewer than N patients are merged into "Other" before any chapter runs, small counts are
shown as "<N" with a complementary cell suppressed beside each, and survival curves and numbers at risk
stop where fewer than N patients remain at risk.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pandas as pd
import yaml

from aice_helpers.book.execute import (
    INJECTED_TAG,
    REMOVE_TAG,
    execute_command,
    without_timings,
)
from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    DATA_DIR,
    PROCEDURES_FILE,
    REPO_DIR,
)
from aice_helpers.data import (
    FILES_WITHOUT_ROWS_ALLOWED,
    DataValidationError,
    Finding,
    finding_order,
    load_dataset,
    read_records,
    terminal_text,
    text_frame,
)
from aice_helpers.ingest import (
    WORKBOOK_SUFFIXES,
    readable_tables,
    with_survival_from_dates,
)
from aice_helpers.mapping import (
    ColumnMapping,
    MappingError,
    apply_mapping,
    load_mapping,
    mapping_warnings,
)
from aice_helpers.study import TABLE1_CHARACTERISTICS

__all__ = [
    "CELL_PREFIX",
    "failure_text",
    "NOTEBOOKS_DIR",
    "BOOK_DIR",
    "REPO_CONFIG",
    "REPO_TOC",
    "PATIENT_ID",
    "SURVIVAL_COLUMNS",
    "TABLE1_COLUMNS",
    "PROGNOSTIC_COLUMNS",
    "Needs",
    "CHAPTER_REQUIREMENTS",
    "NOT_RERUN",
    "PER_PATIENT_FIGURES_NOTE",
    "REPO_PAGES",
    "PRIMER_PREFIX",
    "BOOK_ASSETS",
    "BEFORE_PAGES",
    "REFERENCE_PAGES",
    "FRONT_PAGE",
    "LEFT_OUT_PAGE",
    "MARKER_FILE",
    "REPORT_FILE",
    "JB_FLAGS",
    "INJECTED_TAG",
    "REMOVE_TAG",
    "MAX_WARNING_CHARS",
    "RERUN_BANNER",
    "MEMORY_POLL_SECONDS",
    "KERNEL_START_FAILURE",
    "KERNEL_START_ATTEMPTS",
    "WARNING_LINE",
    "FORBIDDEN_OUTPUTS",
    "DEFAULT_TITLE_SUFFIX",
    "EXAMPLE",
    "RerunError",
    "ChapterFailed",
    "Plan",
    "ChapterRun",
    "add_rerun_arguments",
    "run_rerun",
    "checked_out_dir",
    "PreparedData",
    "prepared_data",
    "checked_frames",
    "validated_input_summary",
    "run_summary",
    "STRICT_EXIT",
    "input_files",
    "input_frames",
    "renamed_finding",
    "chapter_plan",
    "missing_data",
    "input_description",
    "raise_on_missing",
    "needers_text",
    "union_columns",
    "write_columns",
    "chapter_environment",
    "chapter_command",
    "MemoryWatcher",
    "process_tree",
    "peak_rss_mb",
    "ChapterRunner",
    "chapter_error",
    "prepared_notebook",
    "warning_lines",
    "executed_chapters",
    "built_book",
    "repo_config",
    "chapter_title",
    "toc_chapters",
    "write_book_sources",
    "LINK_TO_NOTEBOOK",
    "REF_ROLE",
    "LABEL_LINE",
    "HEADING_AFTER_LABEL",
    "absent_labels",
    "without_absent_links",
    "unlink_absent_chapters",
    "primer_chapters",
    "toc",
    "front_page",
    "published_data_text",
    "left_out_text",
    "listed",
    "jupyter_book_command",
    "render_book",
    "write_report",
    "published",
]

NOTEBOOKS_DIR = REPO_DIR / "notebooks"
BOOK_DIR = REPO_DIR / "book"
REPO_CONFIG = REPO_DIR / "_config.yml"
REPO_TOC = REPO_DIR / "_toc.yml"

# --------------------------------------------------------------------------------------- chapters

PATIENT_ID = "patient_id"
SURVIVAL_COLUMNS = ("os_months", "os_event", "pfs_months", "pfs_event")
TABLE1_COLUMNS = tuple(characteristic.key for characteristic in TABLE1_CHARACTERISTICS)
PROGNOSTIC_COLUMNS = (*TABLE1_COLUMNS, "best_response", "postop_regimens")  # study.FACTORS


@dataclass(frozen=True)
class Needs:
    """What a chapter reads: files it must have (with columns), and files it uses when present."""

    required: Mapping[str, tuple[str, ...]]
    optional: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    without_optional: str = ""  # what the chapter leaves out when an optional file is missing


# Checked against the notebooks by tests/test_rerun.py: the files each notebook's open_chapter call
# requires, the contract columns its code names, and (end to end) that each chapter runs on a copy
# holding only these columns.
CHAPTER_REQUIREMENTS: dict[str, Needs] = {
    # Table 1 needs only the cohort file; the sessions section drops out without the procedures file.
    "01_cohort": Needs(
        {COHORT_FILE: (PATIENT_ID, *TABLE1_COLUMNS, "histology", "subsequent_therapy")},
        {PROCEDURES_FILE: (PATIENT_ID, "cycle", "embolization")},
        "without the procedures file its section on the AICE sessions is left out",
    ),
    "02_survival": Needs({COHORT_FILE: (PATIENT_ID, *SURVIVAL_COLUMNS)}),
    "03_prognostic_factors": Needs({COHORT_FILE: (PATIENT_ID, *SURVIVAL_COLUMNS, *PROGNOSTIC_COLUMNS)}),
    "04_cox": Needs({COHORT_FILE: (PATIENT_ID, *SURVIVAL_COLUMNS, *PROGNOSTIC_COLUMNS)}),
    # The waterfall and swimmer plots (one bar per patient) are left out of reruns on purpose.
    "05_response": Needs({COHORT_FILE: (PATIENT_ID, "best_response", *TABLE1_COLUMNS, "postop_regimens")}),
    "06_safety": Needs(
        {COHORT_FILE: (PATIENT_ID,)},
        {PROCEDURES_FILE: (PATIENT_ID, "cycle"), ADVERSE_EVENTS_FILE: (PATIENT_ID, "cycle", "event", "sir_grade")},
        "without the adverse-events file its tables and figure of adverse events are left out; without the "
        "procedures file, the tables per AICE session",
    ),
}
# Chapters of the book that a rerun does not include, with the reason the note page gives.
NOT_RERUN: dict[str, str] = {
    "00_findings": "it sets the paper's main results beside the book's synthetic cohort and sums up the audit of the "
                   "paper, and neither is about another cohort",
    "07_checking_the_paper": "it checks the paper's printed numbers against each other, whatever the data",
    "08_scorecard": "it sets the paper's numbers beside the book's synthetic cohort, and they are no target for "
                    "another cohort",
    "lab_simulation": "it simulates studies from the book's synthetic cohort, so it would show the same pages "
                      "whatever the data",
}
PER_PATIENT_FIGURES_NOTE = ("The waterfall and swimmer plots of the response chapter draw one mark per patient, "
                            "so a rerun leaves them out: what a rerun publishes is aggregates only.")

# --------------------------------------------------------------------------------------- the book

REPO_PAGES = ("how_to_read", "about_the_data", "rerun", "notation", "glossary", "data_dictionary", "sources",
              "bibliography")
PRIMER_PREFIX = "primer_"  # the primer's pages run on small worked examples, not on data: copied as stored
BOOK_ASSETS = ("references.bib", "_static")
BEFORE_PAGES = ("how_to_read", "about_the_data", "rerun")
REFERENCE_PAGES = ("notation", "glossary", "data_dictionary", "sources", "bibliography")
FRONT_PAGE = "index"
LEFT_OUT_PAGE = "left_out"
MARKER_FILE = ".aice-rerun"  # marks DIR as a rerun's output, which a later rerun may replace
REPORT_FILE = "rerun-report.json"
JB_FLAGS = ("-W", "-n", "--keep-going", "--quiet")
MAX_WARNING_CHARS = 200
RERUN_BANNER = """```{admonition} Computed on your cohort
:class: tip

This page was executed by `aice rerun` on the cohort it was given, not on the book's synthetic cohort,
and without the paper's numbers. Where the text speaks of the synthetic cohort or of the paper's
results, the tables and figures below show your data instead.
```"""
MEMORY_POLL_SECONDS = 0.5
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"
CELL_PREFIX = re.compile(r"^\S+\.ipynb: cell \d+: ")  # how book.execute names a failing cell
KERNEL_START_ATTEMPTS = 3
WARNING_LINE = re.compile(r"(\b\w*Warning: .*)$", re.MULTILINE)
# The project's own folders: --out may not be, hold or lie inside any of them (nor be the project's root).
FORBIDDEN_OUTPUTS = (NOTEBOOKS_DIR, DATA_DIR, BOOK_DIR, REPO_DIR / "aice_helpers", REPO_DIR / ".git",
                     REPO_DIR / "tests", REPO_DIR / "tools", REPO_DIR / ".venv", REPO_DIR / "_build",
                     REPO_DIR / "benchmarks")
# The entries a rerun writes into DIR: a folder holding anything else is not replaced.
RERUN_ENTRIES = frozenset({MARKER_FILE, REPORT_FILE, "_config.yml", "_toc.yml", "book", "notebooks", "_build"})
WORKSPACE_PREFIX = "aice-rerun-"
OTHER_CATEGORY = "Other"
INTERRUPTING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
PROCESS_GRACE_SECONDS = 5.0
DEFAULT_TITLE_SUFFIX = "rerun on your cohort"
STRICT_EXIT = 3  # --strict and something would be left out
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

EXAMPLE = """\
example:
  aice rerun --data my_study/ --out my_book/ --mapping my_mapping.yaml --min-cell 5
  aice rerun --data patients.csv --out my_book/ --chapters 02_survival 03_prognostic_factors

  then open my_book/_build/html/index.html. See book/rerun.md and data/template/ for the input
  layout and a mapping file. Exit status: 0 done, 1 bad input or a chapter failed, 2 bad options,
  3 --strict and a chapter or section would be left out.
"""


class RerunError(Exception):
    """The rerun cannot go on; the message says why (no traceback is shown)."""


class ChapterFailed(RerunError):
    """A chapter raised while executing."""


class Interrupted(BaseException):
    """The rerun received SIGTERM or SIGHUP: unwinds every step like Ctrl-C, so that all clean-up runs."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(signal.Signals(signal_number).name)


@dataclass(frozen=True)
class Plan:
    """Which chapters run (with the columns each reads per file) and why the others are left out."""

    runs: dict[str, dict[str, tuple[str, ...]]]
    left_out: dict[str, list[str]]
    reduced: dict[str, list[str]]


@dataclass
class ChapterRun:
    """One executed chapter: where its notebook is, how long it took, its peak memory, its warnings."""

    name: str
    notebook: Path
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------- options


def add_rerun_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the rerun sub-command's options to ``parser``."""
    parser.add_argument("--data", type=Path, required=True,
                        help="folder with aice_cohort.csv (and optionally aice_procedures.csv, "
                             "aice_adverse_events.csv), or one patient-level CSV taken as the cohort file")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder to write the book to (new, empty, or an earlier rerun's output)")
    parser.add_argument("--mapping", type=Path, default=None,
                        help="YAML file mapping your column names and codes onto the data contract")
    parser.add_argument("--title", default=None, help="title of the book (default: the book's title + "
                                                      f"'{DEFAULT_TITLE_SUFFIX}')")
    parser.add_argument("--chapters", nargs="+", choices=list(CHAPTER_REQUIREMENTS), default=None, metavar="CHAPTER",
                        help=f"run only these chapters (each must have its data): {', '.join(CHAPTER_REQUIREMENTS)}; "
                             "default: every chapter the data allows")
    parser.add_argument("--min-cell", type=int, default=0, metavar="N",
                        help="show table counts from 1 to N-1 as '<N' and hide their percentages (default: off)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 3, publishing nothing, if any chapter or section would be left out "
                             "for lack of data")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="chapters executed at once (default: the number of cores; 1 for very large cohorts)")


def say(message: object) -> None:
    """Print a message on stderr with control characters shown escaped (user text may hold any)."""
    print(terminal_text(str(message)), file=sys.stderr)


def run_rerun(args: argparse.Namespace) -> int:
    """Run the rerun command; return its exit status (messages on stderr, never a traceback)."""
    try:
        if args.min_cell < 0 or args.jobs < 1:
            raise RerunError("--min-cell must be >= 0 and --jobs >= 1")
        out_dir = checked_out_dir(args.out, args.data, args.mapping)
    except (RerunError, OSError) as error:
        say(f"aice rerun: {failure_text(error)}")
        return 2
    previous = {number: signal.signal(number, interrupt) for number in INTERRUPTING_SIGNALS}
    try:
        with private_workspace(out_dir) as workspace:
            try:
                prepared = prepared_data(args.data, args.mapping, args.chapters, workspace, args.min_cell)
            except (DataValidationError, MappingError) as error:
                say(error)
                return 1
            if getattr(args, "strict", False) and (prepared.plan.left_out or prepared.plan.reduced):
                say(run_summary(prepared, built=False))
                say("aice rerun --strict: something would be left out (above); nothing was written")
                return STRICT_EXIT
            built = built_book(prepared, args, out_dir, workspace)
    except (RerunError, OSError) as error:
        say(f"aice rerun: {failure_text(error)}")
        return 1
    except (KeyboardInterrupt, Interrupted) as error:
        name = "Ctrl-C" if isinstance(error, KeyboardInterrupt) else str(error)
        say(f"aice rerun: stopped by {name}; nothing was written to {out_dir} and the temporary copies were removed")
        return 128 + (error.signal_number if isinstance(error, Interrupted) else signal.SIGINT)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    print(f"book written to {terminal_text(str(built / '_build' / 'html' / 'index.html'))}")
    print(terminal_text(run_summary(prepared)))
    for warning in prepared.warnings:  # last, where they are seen
        say(f"warning: {warning}")
    return 0


def run_summary(prepared: PreparedData, built: bool = True) -> str:
    """Return the end-of-run summary: chapters built with the patients each used, then the chapters and sections
    left out with the reason."""
    plan = prepared.plan
    lines = [f"chapters {'built' if built else 'that would run'}: {len(plan.runs)}"]
    for name in plan.runs:
        total, complete = prepared.patients.get(name, (prepared.counts["patients"],) * 2)
        detail = "" if complete == total else (f"; {complete} with every column it reads complete, each analysis "
                                               f"states the patients it used")
        lines.append(f"  {name}: {total} patients{detail}")
    for name, missing in plan.reduced.items():
        lines.append(f"  section left out of {name}: {CHAPTER_REQUIREMENTS[name].without_optional} "
                     f"(missing: {listed(missing)})")
    if plan.left_out:
        lines.append(f"chapters left out: {len(plan.left_out)}")
        lines += [f"  {name}: it needs {listed(missing)}" for name, missing in plan.left_out.items()]
    return "\n".join(lines)


def interrupt(signal_number: int, frame: object) -> None:
    """Signal handler: raise Interrupted in the main thread, so that every ``finally`` and clean-up runs."""
    raise Interrupted(signal_number)


def failure_text(error: Exception) -> str:
    """Return a sentence for a refused run: the rerun's own message, or an operating-system error in words."""
    return os_error_text(error) if isinstance(error, OSError) else str(error)


def os_error_text(error: OSError) -> str:
    """Return an operating-system error as a sentence: what failed, on which path."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


class private_workspace:  # noqa: N801 (a context manager named for what the with-statement gets)
    """The one temporary folder (mode 0700, in the system's temporary folder) holding the private copy of the
    data and the staging folder of the book; removed on leaving, whatever ends the rerun."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path: Path | None = None

    def __enter__(self) -> Path:
        """Create the folder; return its path."""
        self.path = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX))
        return self.path

    def __exit__(self, *exc_info: object) -> None:
        """Remove the folder and everything in it (even if a signal arrives during removal)."""
        if self.path is not None:
            removed_tree(self.path)


def removed_tree(path: Path) -> None:
    """Remove a folder tree; a second interrupting signal during removal does not stop it."""
    handlers = {number: signal.signal(number, signal.SIG_IGN) for number in INTERRUPTING_SIGNALS} \
        if threading.current_thread() is threading.main_thread() else {}
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def within(path: Path, folder: Path) -> bool:
    """Return True when ``path`` is ``folder`` or lies inside it (both resolved)."""
    return path == folder or folder in path.parents


def checked_out_dir(out: Path, data: Path | None = None, mapping: Path | None = None) -> Path:
    """Return the output folder, resolved; raise RerunError when it is, holds or lies inside the input or the
    project's own folders, or when it exists and holds anything but an earlier rerun's output."""
    if out.expanduser().is_symlink():
        raise RerunError(f"--out {out} is a symbolic link; give the folder itself")
    out = out.expanduser().resolve()
    for forbidden in FORBIDDEN_OUTPUTS:
        forbidden = forbidden.resolve()
        if within(out, forbidden) or within(forbidden, out):
            raise RerunError(f"--out {out} is, holds or lies inside the book's own sources ({forbidden}); "
                             "choose another folder")
    if within(REPO_DIR.resolve(), out):
        raise RerunError(f"--out {out} is or holds the project's folder ({REPO_DIR}); choose another folder")
    inputs = [("--data", data, True), ("--mapping", mapping, False)]
    for option, path, inside in inputs:
        if path is None:
            continue
        path = path.expanduser().resolve()
        if within(path, out) or (inside and within(out, path)):
            relation = "is or holds" if within(path, out) else "lies inside"
            raise RerunError(f"--out {out} {relation} the input given with {option} ({path}); a rerun never "
                             "writes where its input is: choose another folder")
        if not inside and path.parent == out:
            raise RerunError(f"--out {out} is the folder of the mapping file ({path}); choose another folder")
    if out.exists() and not out.is_dir():
        raise RerunError(f"--out {out} exists and is not a folder; choose a new or empty folder")
    if out.exists():
        entries = {entry.name for entry in out.iterdir()}
        marker = out / MARKER_FILE
        if entries and not (marker.is_file() and not marker.is_symlink()):
            raise RerunError(f"--out {out} exists, is not empty and is not an earlier rerun's output; choose a new or "
                             "empty folder")
        foreign = sorted(entries - RERUN_ENTRIES)
        if entries and foreign:
            raise RerunError(f"--out {out} is an earlier rerun's output but also holds {', '.join(foreign[:5])}, "
                             "which a rerun did not write; a rerun replaces only its own output: move them or choose "
                             "another folder")
    return out


# --------------------------------------------------------------------------------------- step 1: data


@dataclass(frozen=True)
class PreparedData:
    """The validated input: the plan, the private validated copy, and counts for the front page."""

    plan: Plan
    data_dir: Path  # the validated copy: every column some running chapter reads
    counts: dict[str, int]
    single_csv: bool
    mapped: bool
    validation_seconds: float
    warnings: tuple[str, ...] = ()  # what the mapping names and the input lacks (the run goes on)
    patients: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # chapter: (in the cohort, complete)


def prepared_data(data: Path, mapping_file: Path | None, chapters: Sequence[str] | None,
                  private: Path, min_cell: int = 0) -> PreparedData:
    """Return the input read, mapped, written with the columns in use into ``private`` and validated there;
    raise on bad input. Each chapter then reads only its own files and columns of that copy. With
    ``min_cell`` above 1, free-text categories of fewer than ``min_cell`` patients become "Other" in the copy."""
    started = time.perf_counter()
    mapping = load_mapping(mapping_file) if mapping_file is not None else None
    frames, unreadable = readable_tables(data, mapping)  # any format the ingest module reads, before the mapping
    if COHORT_FILE not in frames:
        raise DataValidationError(unreadable)
    try:  # the readable files are checked too, so that every problem is reported at once
        prepared = checked_frames(frames, data, mapping, chapters, private, min_cell)
    except DataValidationError as error:
        raise DataValidationError(sorted([*unreadable, *error.findings], key=finding_order)) from None
    if unreadable:
        raise DataValidationError(unreadable)
    return replace(prepared, validation_seconds=time.perf_counter() - started)


def checked_frames(frames: dict[str, pd.DataFrame], data: Path, mapping: ColumnMapping | None,
                   chapters: Sequence[str] | None, private: Path, min_cell: int = 0) -> PreparedData:
    """Return the read frames mapped, written with the columns in use into ``private`` and validated there."""
    warnings = tuple(mapping_warnings(frames, mapping)) if mapping is not None else ()
    frames = with_survival_from_dates(apply_mapping(frames, mapping) if mapping is not None else frames, mapping)
    headers = {name: tuple(frame.columns) for name, frame in frames.items()}
    plan = chapter_plan(headers, chapters)
    raise_on_missing(plan, chapters, headers, input_description(data))
    checked = private / "data"  # the chapters print the folder's name: "data/"
    if min_cell > 1:
        frames = {name: with_rare_text_merged(frame, name, min_cell) for name, frame in frames.items()}
    write_columns(frames, union_columns(plan), checked)
    del frames
    dataset = load_dataset(checked, required=tuple(union_columns(plan)), required_columns=union_columns(plan),
                           limits=mapping.limits if mapping is not None else None)
    counts = {"patients": len(dataset.cohort)}
    for label, frame in (("sessions", dataset.procedures), ("adverse events", dataset.adverse_events)):
        if frame is not None:
            counts[label] = len(frame)
    single_file = data.is_file() and data.suffix.lower() not in WORKBOOK_SUFFIXES
    cohort = dataset.cohort
    patients = {name: (len(cohort), int(cohort[[c for c in columns.get(COHORT_FILE, ()) if c in cohort]].notna()
                                        .all(axis=1).sum())) for name, columns in plan.runs.items()}
    return PreparedData(plan, checked, counts, single_file, mapping is not None, 0.0, warnings, patients)


def validated_input_summary(data: Path, mapping_file: Path | None = None) -> str:
    """Return "valid (N patients); ..." for input that ``aice rerun`` would accept, read and validated by the very
    steps a rerun takes (``prepared_data`` in a private workspace, removed after); raise on bad input."""
    with private_workspace(data) as workspace:
        prepared = prepared_data(Path(data), mapping_file, None, workspace)
    plan = prepared.plan
    text = f"valid ({prepared.counts['patients']} patients); a rerun would build {listed(list(plan.runs))}"
    if plan.left_out:
        text += "; it would leave out " + "; ".join(f"{name} (it needs {listed(missing)})"
                                                    for name, missing in plan.left_out.items())
    return text + "".join(f"\nwarning: {warning}" for warning in prepared.warnings)


def free_text_columns(file_name: str) -> tuple[str, ...]:
    """Return the contract's free-text columns of a file (text without a list of levels, ids aside)."""
    return tuple(column.name for column in CONTRACT[file_name]
                 if column.kind == "string" and not column.levels and not column.unique and column.name != PATIENT_ID)


def with_rare_text_merged(frame: pd.DataFrame, file_name: str, min_cell: int) -> pd.DataFrame:
    """Return the frame with every free-text value held by fewer than ``min_cell`` rows replaced by "Other"
    (threshold rule: a category that small would name a few patients' diagnosis verbatim)."""
    merged = frame
    for column in free_text_columns(file_name):
        if column not in frame:
            continue
        counts = frame[column].value_counts(dropna=True)
        rare = set(counts.index[counts < min_cell])
        if rare:
            merged = merged.copy() if merged is frame else merged
            merged[column] = frame[column].map(lambda value: OTHER_CATEGORY if value in rare else value)
    return merged


def input_files(data: Path) -> dict[str, Path]:
    """Return {contract file name: path} of the input: a folder's contract files, or one CSV as the cohort."""
    data = data.expanduser()
    if data.is_file():
        return {COHORT_FILE: data}
    if data.exists() and not data.is_dir():
        raise RerunError(f"--data {data}: is not a regular file or a folder (a pipe or a device?); only regular files "
                         "are read")
    if not data.is_dir():
        raise RerunError(f"--data {data}: no such file or folder")
    files = {name: data / name for name in CONTRACT if (data / name).exists()}
    if COHORT_FILE not in files:
        found = sorted(path.name for path in data.glob("*.csv"))
        raise DataValidationError([Finding(COHORT_FILE, f"file not found in {data}"
                                           + (f" (CSV files there: {', '.join(found)})" if found else ""))])
    return files


def input_frames(files: Mapping[str, Path], mapping: ColumnMapping | None) -> dict[str, pd.DataFrame]:
    """Return each input file as a frame of text cells, mapped; raise with every unreadable file's findings."""
    frames, findings = {}, []
    for name, path in files.items():
        try:
            header, rows = read_records(path, rows_required=name not in FILES_WITHOUT_ROWS_ALLOWED)
        except DataValidationError as error:
            findings += [renamed_finding(finding, name) for finding in error.findings]
            continue
        frames[name] = text_frame(header, rows)  # stripped, empty cells missing: as validation reads them
    if findings:
        raise DataValidationError(sorted(findings, key=finding_order))
    return apply_mapping(frames, mapping) if mapping is not None else frames


def renamed_finding(finding: Finding, file_name: str) -> Finding:
    """Return a finding about an input file under its contract name (a single CSV is the cohort file)."""
    if finding.file == file_name:
        return finding
    return Finding(file_name, f"({finding.file}) {finding.problem}", finding.columns, finding.rows,
                   finding.patients, finding.found, finding.line)


def chapter_plan(headers: Mapping[str, tuple[str, ...]], chapters: Sequence[str] | None = None) -> Plan:
    """Return which chapters can run on files with these headers (only ``chapters`` when given)."""
    runs, left_out, reduced = {}, {}, {}
    for name in chapters or CHAPTER_REQUIREMENTS:
        needs = CHAPTER_REQUIREMENTS[name]
        missing = missing_data(needs.required, headers)
        if missing:
            left_out[name] = missing
            continue
        columns = dict(needs.required)
        for file_name, optional in needs.optional.items():
            if not missing_data({file_name: optional}, headers):
                columns[file_name] = optional
            else:
                reduced.setdefault(name, []).extend(missing_data({file_name: optional}, headers))
        runs[name] = columns
    return Plan(runs, left_out, reduced)


def missing_data(required: Mapping[str, tuple[str, ...]], headers: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Return what is missing for ``required``: "the file X" or "the column 'c' in X", one item each."""
    missing = []
    for file_name, columns in required.items():
        if file_name not in headers:
            missing.append(f"the file {file_name}")
            continue
        missing += [f"the column '{column}' in {file_name}" for column in columns if column not in headers[file_name]]
    return missing


def input_description(data: Path) -> str:
    """Return where files were looked for, for a message: the folder, or what a single CSV gives."""
    if data.is_file() and data.suffix.lower() in WORKBOOK_SUFFIXES:
        return f"not among the sheets of {data.name}"
    return f"{data} is a single file, which gives the cohort file only" if data.is_file() else f"not in {data}"


def raise_on_missing(plan: Plan, chapters: Sequence[str] | None, headers: Mapping[str, tuple[str, ...]],
                     source: str) -> None:
    """Raise DataValidationError when a chapter named in ``chapters`` lacks data, or when none can run."""
    if chapters is None and plan.runs:
        return
    needed_by: dict[tuple[str, str | None], list[str]] = {}  # (file, column or None for the file): chapters
    for name in plan.left_out:
        for file_name, columns in CHAPTER_REQUIREMENTS[name].required.items():
            missing = [None] if file_name not in headers else [c for c in columns if c not in headers[file_name]]
            for column in missing:
                needed_by.setdefault((file_name, column), []).append(name)
    findings = [Finding(file_name, f"file not found ({source}); {needers_text(names)}") if column is None else
                Finding(file_name, f"required column is missing from the header; {needers_text(names)}", (column,),
                        line=1)
                for (file_name, column), names in needed_by.items()]
    if findings:
        raise DataValidationError(sorted(findings, key=finding_order))


def needers_text(chapters: Sequence[str]) -> str:
    """Return "chapter 02_survival needs it" or "chapters 01_cohort and 02_survival need it"."""
    return f"chapter {chapters[0]} needs it" if len(chapters) == 1 else f"chapters {listed(chapters)} need it"


def union_columns(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Return, per file, every column some running chapter reads, in contract order."""
    wanted: dict[str, set[str]] = {}
    for columns in plan.runs.values():
        for file_name, names in columns.items():
            wanted.setdefault(file_name, set()).update(names)
    return {file_name: tuple(column.name for column in CONTRACT[file_name] if column.name in names)
            for file_name, names in wanted.items()}


def write_columns(frames: Mapping[str, pd.DataFrame], columns: Mapping[str, tuple[str, ...]], folder: Path) -> None:
    """Write, for each file in ``columns``, only those columns of its frame as CSV into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, names in columns.items():
        frames[file_name][list(names)].to_csv(folder / file_name, index=False, lineterminator="\n")


# --------------------------------------------------------------------------------------- step 2: chapters


def chapter_environment(columns: Mapping[str, tuple[str, ...]], min_cell: int) -> dict[str, str]:
    """Return the environment a chapter's kernel runs in: the package importable, the rerun's settings."""
    from aice_helpers.pages.chapter import (  # imports matplotlib
        MIN_CELL_ENV,
        REQUIRED_COLUMNS_ENV,
        VALIDATED_ENV,
    )
    from aice_helpers.pages.response import (
        PER_PATIENT_FIGURES_ENV,  # reason: chapter modules load matplotlib; only the executing step needs them
    )

    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_DIR), environment.get("PYTHONPATH"))))
    environment[REQUIRED_COLUMNS_ENV] = json.dumps({name: list(names) for name, names in columns.items()})
    environment[MIN_CELL_ENV] = str(min_cell)
    environment[VALIDATED_ENV] = "1"  # the copy was validated in step 1
    environment[PER_PATIENT_FIGURES_ENV] = "0"
    # The inline backend, as in a notebook server and the default build: it embeds each figure plt.show() draws.
    # A non-interactive backend (agg, perhaps set in the caller's environment) would make plt.show() draw nothing.
    environment["MPLBACKEND"] = INLINE_BACKEND
    return environment


def chapter_command(name: str, data_dir: Path, output: Path, cwd: Path) -> list[str]:
    """Return the command that executes chapter ``name`` on ``data_dir`` into ``output`` (the book's executor)."""
    parameters = {"data_dir": str(data_dir), "compare_with_published": False}
    return execute_command(NOTEBOOKS_DIR / f"{name}.ipynb", output, parameters, cwd)


class MemoryWatcher(threading.Thread):
    """Samples the peak resident memory (VmHWM) of a process and its descendants until stopped.

    A child's getrusage maximum starts from its parent's size at fork, so it would report the rerun's
    own memory for every chapter; /proc's VmHWM belongs to each process alone.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self.done.wait(MEMORY_POLL_SECONDS):
            self.sample()

    def sample(self) -> None:
        """Raise ``peak_mb`` to the largest high-water mark in the process tree now."""
        for pid in process_tree(self.pid):
            self.peak_mb = max(self.peak_mb, peak_rss_mb(pid))

    def stop(self) -> None:
        """Stop sampling."""
        self.done.set()
        self.join()


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and its descendants (Linux /proc; just ``pid`` elsewhere)."""
    tree, index = [pid], 0
    while index < len(tree):
        for children in Path(f"/proc/{tree[index]}/task").glob("*/children"):
            try:
                tree += [int(child) for child in children.read_text().split()]
            except OSError:
                continue
        index += 1
    return tree


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident memory in MB (VmHWM), 0 when it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


class ChapterRunner:
    """Executes chapters as papermill processes, a few at a time, and can stop them all."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.stopping = False

    def run(self, name: str, data_dir: Path, columns: Mapping[str, tuple[str, ...]], stage: Path,
            min_cell: int) -> ChapterRun:
        """Execute one chapter into ``stage/notebooks``; raise ChapterFailed with its error message.

        A kernel that dies before it answers was started at the same moment as another one and lost
        the race for a TCP port (a known weakness of Jupyter kernels started in parallel): the
        chapter is started again, up to KERNEL_START_ATTEMPTS times.
        """
        output = stage / "notebooks" / f"{name}.ipynb"
        started = time.perf_counter()
        for _ in range(KERNEL_START_ATTEMPTS):
            returncode, stderr, peak_mb = self.executed_once(name, data_dir, columns, output, min_cell)
            if returncode == 0 or KERNEL_START_FAILURE not in stderr or self.stopping:
                break
        run = ChapterRun(name, output, time.perf_counter() - started, peak_mb)
        if returncode != 0:
            raise ChapterFailed(f"chapter {name} failed: {chapter_error(output, stderr)}")
        run.warnings = prepared_notebook(output, min_cell)
        return run

    def executed_once(self, name: str, data_dir: Path, columns: Mapping[str, tuple[str, ...]], output: Path,
                      min_cell: int) -> tuple[int, str, float]:
        """Run papermill on one chapter; return its exit status, what it wrote to stderr, and its peak memory."""
        with self.lock:
            if self.stopping:
                raise ChapterFailed(f"chapter {name} not run: another chapter failed")
            # A session of its own, so that stop() can end papermill together with its kernel.
            process = subprocess.Popen(chapter_command(name, data_dir, output, data_dir.parent),
                                       env=chapter_environment(columns, min_cell), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True, start_new_session=True)
            self.processes[name] = process
        watcher = MemoryWatcher(process.pid)
        watcher.start()
        with process.stderr:
            stderr = process.stderr.read()
        _, status, _ = os.wait4(process.pid, 0)  # as Popen.wait does
        with self.lock:
            process.returncode = os.waitstatus_to_exitcode(status)
        watcher.stop()
        return process.returncode, stderr, watcher.peak_mb

    def stop(self) -> None:
        """End the chapters still executing with their whole process trees (papermill, and the kernel it started
        in a session of its own); only the processes this runner started and their descendants."""
        with self.lock:
            self.stopping = True
            running = [process.pid for process in self.processes.values() if process.returncode is None]
        end_process_trees(running)


def end_process_trees(pids: Sequence[int], grace: float = PROCESS_GRACE_SECONDS) -> None:
    """Send SIGTERM to each process of the trees rooted at ``pids`` (children first listed before they can be
    orphaned), then SIGKILL to those still alive after ``grace`` seconds."""
    tree = [pid for root in pids for pid in process_tree(root)]
    for pid in reversed(tree):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in tree):
        time.sleep(0.05)
    for pid in tree:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue


def alive(pid: int) -> bool:
    """Return True while a process exists and has not yet exited (a zombie counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return state not in ("Z", "X")


def chapter_error(output: Path, stderr: str) -> str:
    """Return the error a failed chapter raised (from its notebook, else the end of papermill's stderr)."""
    if output.exists():
        notebook = nbformat.read(output, as_version=4)
        for cell in notebook.cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    return f"{out.get('ename')}: {out.get('evalue')}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return "the chapter failed without a message"
    return CELL_PREFIX.sub("", lines[-1])  # the executor names the notebook and cell: the chapter is named already


def prepared_notebook(path: Path, min_cell: int = 0) -> list[str]:
    """Hide the injected parameters cell, take warnings (stderr) off the page, put the rerun's banner under the
    title, write counts below ``min_cell`` in the notes (Markdown outputs) as "<min_cell"; return the warnings,
    one line each."""
    from aice_helpers.pages.tables import (
        masked_count_phrases,  # reason: chapter modules load matplotlib; only the executing step needs them
    )

    notebook = without_timings(nbformat.read(path, as_version=4))
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(RERUN_BANNER))
    warnings = []
    for index, cell in enumerate(notebook.cells):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            tags.append(REMOVE_TAG)
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                warnings += [f"cell {index}: {masked_count_phrases(line[:MAX_WARNING_CHARS], min_cell)}"
                             for line in warning_lines(output.get("text", ""))]
            else:
                if "text/markdown" in output.get("data", {}):
                    output["data"]["text/markdown"] = masked_count_phrases(output["data"]["text/markdown"], min_cell)
                kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    nbformat.write(notebook, path)
    return list(dict.fromkeys(warnings))


def warning_lines(text: str) -> list[str]:
    """Return the warnings in stderr text ("RuntimeWarning: ..." without the file path), else its first line."""
    found = [match.group(1).strip() for match in WARNING_LINE.finditer(text)]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return found or lines[:1]


def executed_chapters(prepared: PreparedData, stage: Path, min_cell: int, jobs: int) -> list[ChapterRun]:
    """Execute every planned chapter (``jobs`` at a time) with a progress bar; raise on the first failure."""
    from tqdm import (
        tqdm,  # reason: chapter modules load matplotlib; only the executing step needs them
    )

    (stage / "notebooks").mkdir(parents=True, exist_ok=True)
    runner = ChapterRunner()
    runs: dict[str, ChapterRun] = {}
    names = list(prepared.plan.runs)
    with tqdm(total=len(names), desc="executing chapters", unit="chapter", file=sys.stderr) as bar, \
            ThreadPoolExecutor(max_workers=jobs) as pool:
        futures: dict[Future, str] = {
            pool.submit(runner.run, name, prepared.data_dir, prepared.plan.runs[name], stage, min_cell): name
            for name in names}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    run = future.result()  # raises the chapter's failure
                    runs[run.name] = run
                    bar.write(f"  {run.name}: {run.seconds:.1f} s, peak memory {run.peak_rss_mb:.0f} MB"
                              + (f", {len(run.warnings)} warning(s)" if run.warnings else ""), file=sys.stderr)
                    bar.update(1)
        except BaseException:  # a failed chapter, or Ctrl-C: the others are stopped, not left running
            runner.stop()
            wait(pending)
            raise
    return [runs[name] for name in names]


# --------------------------------------------------------------------------------------- step 3: the book


def built_book(prepared: PreparedData, args: argparse.Namespace, out_dir: Path, workspace: Path) -> Path:
    """Execute, write and render the book in a staging folder of ``workspace``, then move it to ``out_dir``."""
    stage = workspace / "stage"
    stage.mkdir()
    runs = executed_chapters(prepared, stage, args.min_cell, args.jobs)
    title = plain_title(args.title) or f"{repo_config()['title'].split(':')[0]}: {DEFAULT_TITLE_SUFFIX}"
    write_book_sources(stage, prepared, runs, title, args.min_cell)
    started = time.perf_counter()
    render_book(stage)
    write_report(stage, prepared, runs, time.perf_counter() - started, args.min_cell)
    return published(stage, out_dir)


def plain_title(title: str | None) -> str:
    """Return a title on one line: control characters and line breaks become spaces, runs of spaces one."""
    if not title:
        return ""
    return " ".join("".join(" " if not character.isprintable() else character for character in title).split())


def myst_text(text: str) -> str:
    """Return ``text`` written so that MyST shows it as plain text on one line: every character but letters,
    digits and spaces as a numeric character reference (``&#123;``), which CommonMark turns back into that
    character as text, so that no Markdown, MyST role or directive, substitution (Jinja), HTML or link in it
    is honoured."""
    return "".join(character if (character.isascii() and character.isalnum()) or character == " "
                   else f"&#{ord(character)};" for character in plain_title(text))


def repo_config() -> dict:
    """Return the book's own Jupyter Book configuration."""
    return yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))


def chapter_title(name: str) -> str:
    """Return a chapter's title: the first heading of its notebook."""
    notebook = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    for cell in notebook.cells:
        match = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE) if cell.cell_type == "markdown" else None
        if match:
            return match.group(1).strip()
    return name


def toc_chapters() -> list[str]:
    """Return the book's chapter notebooks in the order of its table of contents."""
    return re.findall(r"notebooks/([A-Za-z0-9_]+)", REPO_TOC.read_text(encoding="utf-8"))


def write_book_sources(stage: Path, prepared: PreparedData, runs: Sequence[ChapterRun], title: str,
                       min_cell: int) -> None:
    """Write the rerun book's configuration, table of contents, generated pages and the book's pages."""
    config = repo_config()
    config["title"] = title  # shown by the theme through book_extension, which escapes it
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (stage / "book").mkdir(exist_ok=True)
    for page in REPO_PAGES:
        shutil.copy2(BOOK_DIR / f"{page}.md", stage / "book" / f"{page}.md")
    for asset in BOOK_ASSETS:
        source = BOOK_DIR / asset
        if source.is_dir():
            shutil.copytree(source, stage / "book" / asset)
        else:
            shutil.copy2(source, stage / "book" / asset)
    (stage / "data").mkdir(exist_ok=True)  # the data dictionary page includes the repository's data/README.md
    shutil.copy2(DATA_DIR / "README.md", stage / "data" / "README.md")
    (stage / "notebooks").mkdir(exist_ok=True)
    for primer in primer_chapters():
        shutil.copy2(NOTEBOOKS_DIR / f"{primer}.ipynb", stage / "notebooks" / f"{primer}.ipynb")
    ran = [run.name for run in runs]
    notes = left_out_text(prepared.plan)
    (stage / "book" / f"{FRONT_PAGE}.md").write_text(front_page(title, prepared, runs, min_cell, bool(notes)),
                                                     encoding="utf-8")
    if notes:
        (stage / "book" / f"{LEFT_OUT_PAGE}.md").write_text(notes, encoding="utf-8")
    (stage / "_toc.yml").write_text(yaml.safe_dump(toc(ran, bool(notes)), sort_keys=False), encoding="utf-8")
    unlink_absent_chapters(stage, set(ran) | set(primer_chapters()))


LINK_TO_NOTEBOOK = re.compile(r"\[([^\]]+)\]\((?:\.\./notebooks/|\.\./|\./)?([A-Za-z0-9_]+)\.(?:ipynb|md)(#[^)]*)?\)")
REF_ROLE = re.compile(r"\{ref\}`(?:([^`<]*?)\s*<([^`>]+)>|([^`<>]+))`")
LABEL_LINE = re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*$", re.MULTILINE)
HEADING_AFTER_LABEL = re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*\n+#+\s+(.+)$", re.MULTILINE)


def absent_labels(present: Collection[str]) -> dict[str, str]:
    """Return {label: heading text} of the MyST labels defined in the book's chapters a rerun book lacks."""
    labels: dict[str, str] = {}
    for name in toc_chapters():
        if name in present:
            continue
        notebook = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                headed = dict(HEADING_AFTER_LABEL.findall(cell.source))
                labels |= {label: headed.get(label, label) for label in LABEL_LINE.findall(cell.source)}
    return labels


def without_absent_links(text: str, absent: Collection[str], labels: Mapping[str, str]) -> str:
    """Return markdown with links and {ref} roles to chapters in ``absent`` (labels) turned into plain text."""

    def link(match: re.Match) -> str:
        return match.group(1) if match.group(2) in absent else match.group(0)

    def ref(match: re.Match) -> str:
        label = match.group(2) or match.group(3)
        return (match.group(1) or labels[label]) if label in labels else match.group(0)

    return REF_ROLE.sub(ref, LINK_TO_NOTEBOOK.sub(link, text))


def unlink_absent_chapters(stage: Path, present: Collection[str]) -> None:
    """Make every page of the rerun book in ``stage`` name, not link to, the book's chapters it does not hold
    (the checking chapters, the appendix, chapters left out for lack of data): the build allows no broken link."""
    absent = set(toc_chapters()) - set(present)
    labels = absent_labels(present)
    for path in stage.rglob("*.md"):
        if "_build" not in path.parts:
            path.write_text(without_absent_links(path.read_text(encoding="utf-8"), absent, labels), encoding="utf-8")
    for path in stage.rglob("*.ipynb"):
        if "_build" in path.parts:
            continue
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = without_absent_links(cell.source, absent, labels)
            for output in cell.get("outputs", []):
                if "text/markdown" in output.get("data", {}):
                    output["data"]["text/markdown"] = without_absent_links(output["data"]["text/markdown"], absent,
                                                                           labels)
        nbformat.write(notebook, path)


def primer_chapters() -> list[str]:
    """Return the primer's notebooks, in the order of the book's table of contents."""
    return [name for name in toc_chapters() if name.startswith(PRIMER_PREFIX)]


def toc(chapters: Sequence[str], with_left_out: bool) -> dict:
    """Return the rerun book's table of contents."""
    before = [{"file": f"book/{page}"} for page in BEFORE_PAGES]
    results = [{"file": f"notebooks/{name}"} for name in chapters]
    if with_left_out:
        results.append({"file": f"book/{LEFT_OUT_PAGE}"})
    primer = [{"caption": "A primer on survival analysis",
               "chapters": [{"file": f"notebooks/{name}"} for name in primer_chapters()]}] if primer_chapters() else []
    return {"format": "jb-book", "root": f"book/{FRONT_PAGE}", "parts": [
        {"caption": "Before you start", "chapters": before},
        *primer,
        {"caption": "Results, recomputed on your cohort", "chapters": results},
        {"caption": "Reference", "chapters": [{"file": f"book/{page}"} for page in REFERENCE_PAGES]},
    ]}


def front_page(title: str, prepared: PreparedData, runs: Sequence[ChapterRun], min_cell: int,
               with_left_out: bool) -> str:
    """Return the rerun book's front page: what it ran on, what it holds, what it leaves out."""
    counts = ", ".join(f"{count:,} {label}" for label, count in prepared.counts.items())
    source = "a single file taken as the cohort file" if prepared.single_csv else "a data folder or workbook"
    mapped = ", with a mapping of column names and codes" if prepared.mapped else ""
    parts = [f"# {myst_text(title)}", "", textwrap.dedent(f"""\
        ```{{admonition}} These pages show your cohort's results, not the study's
        :class: warning

        Every chapter here was executed on the cohort given to `aice rerun` ({counts}), not on the
        book's synthetic cohort, and the paper's numbers are not set beside the results: on another
        cohort they are no target. The explanations of the methods are the book's own.
        ```

        Made on {datetime.now(timezone.utc):%d %B %Y at %H:%M} UTC by `aice rerun` from {source}{mapped}.

        ## The chapters
        """)]
    parts.append("\n".join(f"- [{chapter_title(run.name)}](../notebooks/{run.name}.ipynb)" for run in runs) + "\n")
    if prepared.plan.left_out or prepared.plan.reduced:
        parts.append(f"Some chapters, or parts of them, are left out for lack of data: "
                     f"[what is left out, and why]({LEFT_OUT_PAGE}.md).\n")
    elif with_left_out:
        parts.append(f"Some chapters of the book are not part of a rerun: [which, and why]({LEFT_OUT_PAGE}.md).\n")
    parts.append("## What these pages show\n\n" + published_data_text(min_cell) + "\n")
    warnings = [(run.name, warning) for run in runs for warning in run.warnings]
    if warnings:
        parts.append("## Warnings raised while the chapters ran\n\nThe chapters ran to the end, but Python warned "
                     "along the way; each warning is listed here rather than on the chapter's page. Statistical "
                     "problems the chapters recognise (a group without events, a model that does not converge) are "
                     "explained on the pages themselves.\n\n"
                     + "\n".join(f"- {name}, {myst_text(warning)}" for name, warning in warnings) + "\n")
    return "\n".join(parts)


def published_data_text(min_cell: int) -> str:
    """Return the paragraph saying what a rerun publishes and what it suppresses."""
    text = ("Only aggregates: counts, percentages, medians, survival estimates, test results and model "
            "estimates, never a row of the data or a patient identifier. " + PER_PATIENT_FIGURES_NOTE + " "
            "A range (smallest and largest value) and the times of a Kaplan-Meier curve are single patients' "
            "values, as in any survival report.")
    if min_cell > 1:
        text += (f" Table cells counting from 1 to {min_cell - 1} patients show \"<{min_cell}\" and their "
                 f"percentages show \"suppressed\" (`--min-cell {min_cell}`); figures, totals and the statistics "
                 f"computed from small groups are shown as they are.")
    return text


def left_out_text(plan: Plan) -> str:
    """Return the note page on chapters left out and chapters shown in a reduced form ("" if none)."""
    toc_names = toc_chapters()
    not_rerun = {name: reason for name, reason in NOT_RERUN.items() if name in toc_names}
    if not (plan.left_out or plan.reduced or not_rerun):
        return ""
    lines = ["# Left out of this rerun", ""]
    if plan.left_out or plan.reduced:
        lines += ["A chapter runs only when the data has every file and column it reads (see the data contract in "
                  "[About the data](about_the_data.md)). Add what is missing, or map your own column names onto "
                  "the contract's ([Run this book on your cohort](rerun.md)), and rerun.", ""]
    if plan.left_out:
        lines += ["## Chapters left out", ""]
        for name, missing in plan.left_out.items():
            lines.append(f"- **{chapter_title(name)}** (`{name}`) needs {listed(missing)}.")
        lines.append("")
    if plan.reduced:
        lines += ["## Chapters shown in a reduced form", ""]
        for name, missing in plan.reduced.items():
            detail = CHAPTER_REQUIREMENTS[name].without_optional
            lines.append(f"- **{chapter_title(name)}** (`{name}`) runs without {listed(missing)}: {detail}.")
        lines.append("")
    if not_rerun:
        lines += ["## Chapters that reruns do not include", ""]
        lines += [f"- **{chapter_title(name)}** (`{name}`): {reason}." for name, reason in not_rerun.items()]
        lines.append("")
    return "\n".join(lines)


def listed(items: Sequence[str]) -> str:
    """Return "a", "a and b" or "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def jupyter_book_command(stage: Path) -> list[str]:
    """Return the command that renders the staged book with warnings as errors."""
    script = Path(sys.executable).parent / "jupyter-book"
    program = str(script) if script.exists() else (shutil.which("jupyter-book") or "jupyter-book")
    return [program, "build", str(stage), "--path-output", str(stage), *JB_FLAGS]


def render_book(stage: Path) -> None:
    """Render the staged book to ``stage/_build/html``; raise RerunError with the build's messages."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_DIR), environment.get("PYTHONPATH"))))
    print("rendering the book", file=sys.stderr)
    process = subprocess.Popen(jupyter_book_command(stage), env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate()
    except BaseException:  # Ctrl-C or SIGTERM: the build and anything it started are ended too
        end_process_trees([process.pid])
        process.wait()
        raise
    if process.returncode != 0 or not (stage / "_build" / "html" / "index.html").exists():
        messages = "\n".join((stdout + stderr).strip().splitlines()[-30:])
        raise RerunError(f"rendering the book failed:\n{messages}")


def write_report(stage: Path, prepared: PreparedData, runs: Sequence[ChapterRun], build_seconds: float,
                 min_cell: int) -> None:
    """Write the machine-readable run report (aggregates and timings only) and the rerun marker."""
    content = {
        "counts": prepared.counts,
        "min_cell": min_cell,
        "validation_seconds": round(prepared.validation_seconds, 2),
        "chapters": {run.name: {"seconds": round(run.seconds, 2), "peak_rss_mb": round(run.peak_rss_mb, 1),
                                "warnings": run.warnings} for run in runs},
        "left_out": prepared.plan.left_out,
        "reduced": prepared.plan.reduced,
        "build_seconds": round(build_seconds, 2),
    }
    (stage / REPORT_FILE).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    (stage / MARKER_FILE).write_text("written by aice rerun; a later rerun may replace this folder\n", encoding="utf-8")


def published(stage: Path, out_dir: Path) -> Path:
    """Move the finished staging folder to ``out_dir`` (replacing an earlier rerun's output); return it.

    The book is first moved (or, from another file system, copied) beside ``out_dir`` under a hidden name,
    then swapped in; the folder replaced is checked again to be an earlier rerun's output just before."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    incoming = out_dir.with_name(f".{out_dir.name}.incoming-{os.getpid()}")
    previous = out_dir.with_name(f".{out_dir.name}.previous-{os.getpid()}")
    try:
        try:
            stage.rename(incoming)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            shutil.copytree(stage, incoming, symlinks=True)
        if out_dir.exists():
            checked_out_dir(out_dir)
            out_dir.rename(previous)
        incoming.rename(out_dir)
    finally:
        if previous.exists() and not out_dir.exists():
            previous.rename(out_dir)  # the swap failed half-way: the earlier output is put back
        for leftover in (incoming, previous):
            if leftover.exists():
                removed_tree(leftover)
    return out_dir

"""``aice rerun``: the book on someone else's cohort (aice_helpers.book.rerun, chapter settings, small-cell masking).

Four reruns go end to end, each once per module: a data folder built to cause every kind of statistical
trouble, with planted markers that must never be published, rerun with ``--min-cell 5``; a single CSV
with its own column names and codes, rerun through a mapping file, that lacks what three chapters need;
twenty patients with the troubles of a small cohort all at once (no death, no PFS censoring, one-level and
absent categories, a separating model, no responder, no adverse event); and the three patients of
data/template. Every bad-input case stops at validation, in-process.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from aice_helpers.book import rerun
from aice_helpers.cli import main
from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    DATA_DIR,
    PROCEDURES_FILE,
    REPO_DIR,
)
from aice_helpers.data import load_dataset
from aice_helpers.mapping import load_mapping
from aice_helpers.pages import chapter, tables
from aice_helpers.synthetic.scale import scaled_cohort

LEAK_ID_PREFIX = "ZZLEAK"
LEAK_AGE = "41.37"  # one patient's age: no aggregate the chapters show can equal it
LEAK_NLR = "7.7317"
LEAK_OS_MONTHS = "2.3719"  # an early death, after the first death: neither a range end nor near a median
# The marked patient sits in the largest group of every factor, so no subgroup median can be their time.
MODAL_LEVELS = {"ecog": 2, "sex": "male", "tumor_site": "abdominal_cavity", "grade": "G3", "distant_metastasis": 1,
                "aice_modality": "infusion_embolization", "best_response": "SD", "mgps": 0}
MIN_CELL = 5
SMALL_COHORT = 20
ALL_CHAPTERS = list(rerun.CHAPTER_REQUIREMENTS)
TEMPLATE = DATA_DIR / "template"


# ----------------------------------------------------------------------------- cohorts


def write_tables(tables_by_file: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write contract tables as CSV files into ``folder``; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables_by_file.items():
        table[[column.name for column in CONTRACT[name]]].to_csv(folder / name, index=False)
    return folder


def with_ids(tables_by_file: dict[str, pd.DataFrame], prefix: str) -> dict[str, pd.DataFrame]:
    """Return the tables with every patient id replaced by ``prefix`` and a number, consistently."""
    ids = {old: f"{prefix}{number:04d}" for number, old in enumerate(tables_by_file[COHORT_FILE]["patient_id"], 1)}
    return {name: table.assign(patient_id=table["patient_id"].map(ids)) for name, table in tables_by_file.items()}


def troubled_tables() -> dict[str, pd.DataFrame]:
    """Return a cohort with every kind of statistical trouble and planted markers.

    Stage has one level (all IV); the G1 patients have no event at all (a group without events, a Cox
    model that separates); four in five patients are censored for OS (median OS not reached).
    """
    tables_by_file = with_ids(scaled_cohort(80, seed=21), LEAK_ID_PREFIX)
    cohort = tables_by_file[COHORT_FILE].astype({"age_years": float, "nlr": float})
    cohort["stage"] = "IV"
    no_events = cohort["grade"] == "G1"
    if no_events.sum() < 3:
        cohort.loc[cohort.index[:3], "grade"] = "G1"
        no_events = cohort["grade"] == "G1"
    cohort.loc[no_events, ["os_event", "pfs_event"]] = 0
    censored = np.random.default_rng(4).random(len(cohort)) < 0.8
    cohort.loc[censored & ~no_events, "os_event"] = 0
    marked = cohort.index[~no_events][10]
    earliest = cohort.index[~no_events][11]
    cohort.loc[marked, ["age_years", "nlr"]] = [float(LEAK_AGE), float(LEAK_NLR)]
    for column, level in MODAL_LEVELS.items():
        cohort.loc[marked, column] = level
    cohort.loc[marked, ["os_months", "pfs_months", "os_event", "pfs_event"]] = [float(LEAK_OS_MONTHS)] * 2 + [1, 1]
    cohort.loc[earliest, ["os_months", "pfs_months", "os_event", "pfs_event"]] = [1.5, 1.5, 1, 1]
    tables_by_file[COHORT_FILE] = cohort
    return tables_by_file


def small_troubled_tables() -> dict[str, pd.DataFrame]:
    """Return twenty patients with the troubles of a small cohort at once.

    Nobody died (no OS event: medians not reached, no OS test or model); everybody progressed (no PFS
    censoring); every patient is stage IV (a covariate with one level) and has ECOG 0–1 (the 2–3 group
    absent); the metastatic patients all progress before the others (the PFS model separates); nobody
    responded (ORR 0); and the adverse-events file lists no event.
    """
    tables_by_file = scaled_cohort(SMALL_COHORT, seed=5)
    cohort = tables_by_file[COHORT_FILE].copy()
    cohort.loc[cohort.index[:4], "distant_metastasis"] = 0
    metastatic = (cohort["distant_metastasis"] == 1).to_numpy()
    cohort["pfs_months"] = np.where(metastatic, 1.0 + 0.5 * np.arange(len(cohort)), 20.0 + np.arange(len(cohort)))
    cohort["os_months"] = np.maximum(cohort["os_months"], cohort["pfs_months"] + 1.0)
    cohort["os_event"], cohort["pfs_event"], cohort["stage"] = 0, 1, "IV"
    cohort["ecog"] = cohort["ecog"].clip(upper=1)
    cohort["best_response"] = cohort["best_response"].replace({"CR": "SD", "PR": "SD"})
    events = tables_by_file[ADVERSE_EVENTS_FILE]
    return {**tables_by_file, COHORT_FILE: cohort, ADVERSE_EVENTS_FILE: events.iloc[:0]}


def own_names_mapping(tmp_path: Path, without: tuple[str, ...] = ()) -> Path:
    """Return a mapping file: the template's example without the lines of the columns in ``without``."""
    lines = [line for line in (TEMPLATE / "mapping_example.yaml").read_text(encoding="utf-8").splitlines()
             if not any(line.strip().startswith(f"{column}:") for column in without)]
    path = tmp_path / "my_mapping.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def own_names_cohort(path: Path) -> Path:
    """Write a cohort CSV with its own column names and codes (those of the example mapping), without NLR."""
    cohort = scaled_cohort(60, seed=8)[COHORT_FILE]
    renamed = cohort.rename(columns={target: source for source, target in
                                     load_mapping(TEMPLATE / "mapping_example.yaml").shared.columns.items()})
    renamed["Sex"] = renamed["Sex"].map({"male": "M", "female": "F"})
    renamed["Vital_status"] = renamed["Vital_status"].map({1: "dead", 0: "alive"})
    renamed["Metastasis"] = renamed["Metastasis"].map({1: "yes", 0: "no"})
    renamed.drop(columns=["NLR"]).to_csv(path, index=False)
    return path


def digests(*paths: Path) -> dict[str, str]:
    """Return the SHA-256 of every file under ``paths``."""
    files = [file for path in paths for file in ([path] if path.is_file() else sorted(path.rglob("*")))]
    return {str(file): hashlib.sha256(file.read_bytes()).hexdigest() for file in files if file.is_file()}


def rerun_command(*arguments: str) -> subprocess.CompletedProcess:
    """Run ``python -m aice_helpers rerun`` as a user would; return the finished process."""
    environment = dict(os.environ, PYTHONPATH=str(REPO_DIR))
    return subprocess.run([sys.executable, "-m", "aice_helpers", "rerun", *arguments], capture_output=True,
                          text=True, env=environment, cwd=REPO_DIR)


def page_text(out: Path, page: str) -> str:
    """Return the text of one rendered page, tags and entities simplified."""
    html = (out / "_build" / "html" / f"{page}.html").read_text(encoding="utf-8")
    text = re.sub(r"</?(?:span|code|strong|em|a)\b[^>]*>", "", html)  # inline tags join their text
    text = re.sub(r"<[^>]+>", " ", text)
    for entity, character in (("&lt;", "<"), ("&gt;", ">"), ("&#8217;", "'"), ("&#39;", "'"), ("&amp;", "&"),
                              ("\u2018", "'"), ("\u2019", "'")):
        text = text.replace(entity, character)
    return re.sub(r"\s+", " ", text)


# ----------------------------------------------------------------------------- the two end-to-end reruns


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The troubled, marked cohort rerun with every chapter and --min-cell 5."""
    base = tmp_path_factory.mktemp("full")
    data = write_tables(troubled_tables(), base / "study")
    before = digests(data)
    out = base / "book"
    process = rerun_command("--data", str(data), "--out", str(out), "--min-cell", str(MIN_CELL),
                            "--title", "Rerun test book")
    return {"data": data, "out": out, "process": process, "before": before}


@pytest.fixture(scope="module")
def mapped_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A single CSV with its own names and codes, without NLR, rerun through a mapping file."""
    base = tmp_path_factory.mktemp("mapped")
    data = own_names_cohort(base / "patients.csv")
    mapping = own_names_mapping(base, without=("NLR",))
    before = digests(data, mapping)
    out = base / "book"
    process = rerun_command("--data", str(data), "--out", str(out), "--mapping", str(mapping))
    return {"data": data, "mapping": mapping, "out": out, "process": process, "before": before}


def test_full_rerun_builds_the_book_with_every_chapter(full_run: dict) -> None:
    """Exit 0, a rendered book with each chapter, its own configuration, and a report of the run."""
    process, out = full_run["process"], full_run["out"]
    assert process.returncode == 0, process.stderr[-3000:]
    assert (out / "_build" / "html" / "index.html").exists()
    for name in ALL_CHAPTERS:
        assert "Computed on your cohort" in page_text(out, f"notebooks/{name}"), name
    assert "Rerun test book" in (out / "_config.yml").read_text(encoding="utf-8")
    report = json.loads((out / rerun.REPORT_FILE).read_text(encoding="utf-8"))
    assert list(report["chapters"]) == ALL_CHAPTERS and report["counts"]["patients"] == 80
    assert "Rerun test book" in page_text(out, "book/index")


def test_progress_shows_one_line_per_chapter(full_run: dict) -> None:
    """The command reports each chapter as it finishes."""
    for name in ALL_CHAPTERS:
        assert re.search(rf"[\r\n]\s*{name}: [\d.]+ s, peak memory", full_run["process"].stderr), name


def test_the_input_is_left_untouched_and_no_data_is_copied_out(full_run: dict, mapped_run: dict) -> None:
    """The input files keep their bytes; the book holds no copy of the data (CSV files only as downloadable tables)."""
    assert digests(full_run["data"]) == full_run["before"]
    assert digests(mapped_run["data"], mapped_run["mapping"]) == mapped_run["before"]
    for run in (full_run, mapped_run):
        # CSV files only as a chapter's downloadable tables (aggregates, masked as the page; the leak test reads them)
        assert [path for path in run["out"].rglob("*.csv") if "downloads" not in path.parts] == []
        assert sorted(path.name for path in run["out"].parent.iterdir() if path.name.startswith(".")) == []


def test_statistical_trouble_is_explained_in_the_book(full_run: dict) -> None:
    """A median not reached, a group without events, a one-level covariate and a separated model: notes."""
    survival_page = page_text(full_run["out"], "notebooks/02_survival")
    factors_page = page_text(full_run["out"], "notebooks/03_prognostic_factors")
    assert "The median OS is not reached, so no method gives an interval." in survival_page
    assert "Pathological grade: G1 (median not reached)" in factors_page
    assert "Stage: 'group' has a single level ['IV']: no log-rank test or hazard ratio" in factors_page
    assert re.search(r"suggests separation \(monotone likelihood\); the HR is not estimable", factors_page)
    assert "Hazard ratios to read with care" in factors_page


def test_no_patient_data_is_published(full_run: dict) -> None:
    """No identifier and no value only a row could show appears in any file of the book."""
    markers = [marker.encode() for marker in (LEAK_ID_PREFIX, LEAK_AGE, LEAK_NLR, LEAK_NLR[:-1], LEAK_OS_MONTHS,
                                              LEAK_OS_MONTHS[:-1])]
    planted = b"".join(path.read_bytes() for path in full_run["data"].iterdir())
    assert all(marker in planted for marker in markers)
    files = [path for path in full_run["out"].rglob("*") if path.is_file() and "_static" not in path.parts]
    assert len(files) > 50
    # Execution times in notebook metadata and the geometry of vector figures (SVG path data, coordinates,
    # transforms) are no patient data, but their digits can spell a numeric marker; a figure's text is kept.
    noise = re.compile(rb'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z?|"duration": [0-9.e-]+'
                       rb'|\s(?:d|x|y|x1|x2|y1|y2|width|height|points|transform|viewBox|style|clip-path)=\\?"[^"\\]*\\?"'
                       rb'|<path[^>]*>')  # a path element is geometry only: figure text is kept in <text> elements
    leaks = [(str(path), marker) for path in files for marker in markers
             if marker in (path.read_bytes() if marker.startswith(LEAK_ID_PREFIX.encode())
                           else noise.sub(b"", path.read_bytes()))]
    assert leaks == []


def test_min_cell_suppresses_small_counts(full_run: dict) -> None:
    """Counts from 1 to 4 show "<5" with their percentages suppressed, in pages and executed notebooks."""
    safety = page_text(full_run["out"], "notebooks/06_safety")
    assert "<5" in safety and tables.SUPPRESSED_PERCENT in safety
    notebook = nbformat.read(full_run["out"] / "notebooks" / "01_cohort.ipynb", as_version=4)
    shown = "".join(output.get("data", {}).get("text/plain", "") for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "<5" in shown
    assert not re.search(r"\s[1-4]\s+\d+\.\d\n", shown)  # no small count beside its percentage
    assert f"--min-cell {MIN_CELL}" in page_text(full_run["out"], "book/index")


def test_warnings_are_taken_off_the_pages(full_run: dict) -> None:
    """No chapter page shows a stderr stream; the injected parameters cell is hidden."""
    for name in ALL_CHAPTERS:
        notebook = nbformat.read(full_run["out"] / "notebooks" / f"{name}.ipynb", as_version=4)
        streams = [output for cell in notebook.cells for output in cell.get("outputs", [])
                   if output.get("name") == "stderr"]
        assert streams == [], name
        injected = [cell for cell in notebook.cells if rerun.INJECTED_TAG in cell.metadata.get("tags", [])]
        assert injected and all(rerun.REMOVE_TAG in cell.metadata["tags"] for cell in injected)


def test_a_single_csv_reruns_through_a_mapping(mapped_run: dict) -> None:
    """The single CSV is the cohort file; with its names mapped, the chapters it allows run."""
    process, out = mapped_run["process"], mapped_run["out"]
    assert process.returncode == 0, process.stderr[-3000:]
    report = json.loads((out / rerun.REPORT_FILE).read_text(encoding="utf-8"))
    assert list(report["chapters"]) == ["02_survival", "06_safety"]
    assert report["counts"] == {"patients": 60}
    assert "with a mapping of column names and codes" in page_text(out, "book/index")


def test_chapters_without_their_data_are_left_out_with_a_note(mapped_run: dict) -> None:
    """The note page names what each left-out chapter lacks; the safety chapter runs reduced."""
    note = page_text(mapped_run["out"], f"book/{rerun.LEFT_OUT_PAGE}")
    for name in ("01_cohort", "03_prognostic_factors", "04_cox", "05_response"):
        assert f"({name}) needs the column 'nlr' in aice_cohort.csv." in note
    assert "(06_safety) runs without the file aice_procedures.csv and the file aice_adverse_events.csv" in note
    assert not (mapped_run["out"] / "_build" / "html" / "notebooks" / "03_prognostic_factors.html").exists()


# ----------------------------------------------------------------------------- small and degenerate cohorts


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Twenty patients with every trouble of a small cohort at once, rerun with every chapter."""
    base = tmp_path_factory.mktemp("small")
    data = write_tables(small_troubled_tables(), base / "study")
    out = base / "book"
    return {"out": out, "process": rerun_command("--data", str(data), "--out", str(out))}


def test_a_small_degenerate_cohort_builds_with_a_note_for_each_trouble(small_run: dict) -> None:
    """Every chapter runs; each page says what this data cannot give, and why."""
    process, out = small_run["process"], small_run["out"]
    assert process.returncode == 0, process.stderr[-3000:]
    report = json.loads((out / rerun.REPORT_FILE).read_text(encoding="utf-8"))
    assert list(report["chapters"]) == ALL_CHAPTERS and report["counts"]["adverse events"] == 0
    survival_page = page_text(out, "notebooks/02_survival")
    assert "No patient had an OS event, so the Kaplan–Meier curve stays at 1: the median is not reached" in (
        survival_page)
    factors_page = page_text(out, "notebooks/03_prognostic_factors")
    assert ("No patient had an OS event, so no group reaches its median, and no log-rank test or hazard ratio can be "
            "computed for it.") in factors_page
    assert "OS: no patient had an event, so no Cox model can be fitted." in factors_page
    assert "PFS, ECOG performance status: 'group' has a single level ['0–1']: no log-rank test" in factors_page
    assert "PFS, Stage: 'group' has a single level ['IV']" in factors_page
    cox_page = page_text(out, "notebooks/04_cox")
    assert ("No hazard ratio of the Table 3 model can be estimated from this data: no patient had the event, so the "
            "model has nothing to fit") in cox_page
    assert re.search(r"Some hazard ratios of the Table 4 model cannot be estimated from this data and show "
                     r".not estimable.: Distant metastasis yes vs no \(the events fall so unevenly between its "
                     r"groups .*\(separation\)\)", cox_page)
    assert ("Stage IV vs III and Short-term efficacy SD+PD vs PR (every patient in the model is in the same group, "
            "so there is nothing to compare)") in cox_page
    assert "For OS no coefficient could be estimated, so there is nothing to test." in cox_page
    response_page = page_text(out, "notebooks/05_response")
    assert "No factor could be tested: every patient is a responder, or none is" in response_page
    safety_page = page_text(out, "notebooks/06_safety")
    assert "lists no event: no treatment-related adverse event was recorded in this cohort" in safety_page
    assert "Warnings raised while the chapters ran" not in page_text(out, "book/index")


def test_the_template_cohort_reruns(tmp_path: Path) -> None:
    """data/template's three patients: the chapters its one file allows run, and say what cannot be estimated."""
    out = tmp_path / "book"
    process = rerun_command("--data", str(TEMPLATE), "--out", str(out))
    assert process.returncode == 0, process.stderr[-3000:]
    report = json.loads((out / rerun.REPORT_FILE).read_text(encoding="utf-8"))
    assert list(report["chapters"]) == ALL_CHAPTERS  # Table 1 needs only the cohort file (issue 12)
    assert report["counts"] == {"patients": 3}
    cox_page = page_text(out, "notebooks/04_cox")
    assert ("No hazard ratio of the Table 3 model can be estimated from this data: the fit failed because its "
            "information matrix is singular") in cox_page
    assert "No coefficient could be estimated in “Table 3 (OS)” and “Table 4 (PFS)”" in cox_page
    assert "SPSS gives no interval, because the curve never falls to 0.45" in page_text(out, "notebooks/02_survival")
    assert "The sessions are left out: the data hold no procedures file" in page_text(out, "notebooks/01_cohort")


# ----------------------------------------------------------------------------- bad input: refused before running


@pytest.fixture(scope="module")
def valid_tables() -> dict[str, pd.DataFrame]:
    """A small valid cohort with its sessions and adverse events."""
    return scaled_cohort(30, seed=2)


def broken(tables_by_file: dict[str, pd.DataFrame], column: str, row: int, value: object) -> dict[str, pd.DataFrame]:
    """Return the tables with one cohort cell (data row ``row``, from 1) set to ``value``."""
    cohort = tables_by_file[COHORT_FILE].astype(object)
    cohort.iloc[row - 1, cohort.columns.get_loc(column)] = value
    return {**tables_by_file, COHORT_FILE: cohort}


def refused(folder_or_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """Run the rerun in-process, check it is refused (exit 1, DIR absent, input unchanged); return stderr."""
    before = digests(folder_or_file)
    out = tmp_path / "book"
    code = main(["rerun", "--data", str(folder_or_file), "--out", str(out), *options])
    error = capsys.readouterr().err
    assert code == 1, error
    assert not out.exists() and "Traceback" not in error
    assert digests(folder_or_file) == before
    return error


BAD_CELLS = [
    ("age_years", 3, "abc", "aice_cohort.csv, column 'age_years', row 3", "must be a number"),
    ("sex", 2, "M", "aice_cohort.csv, column 'sex', row 2", "must be one of 'male', 'female'"),
    ("os_months", 4, "", "aice_cohort.csv, column 'os_months', row 4", "required value is missing"),
    ("os_months", 5, -1.0, "aice_cohort.csv, column 'os_months', row 5", "must be > 0"),
    ("pfs_months", 6, 0.0, "aice_cohort.csv, column 'pfs_months', row 6", "must be > 0"),
    ("os_event", 7, 2, "aice_cohort.csv, column 'os_event', row 7", "must be one of 0, 1"),
    ("pfs_months", 8, 999.0, "aice_cohort.csv, column 'pfs_months', row 8", "must be <= os_months"),
    ("patient_id", 9, "SYN-0000001", "aice_cohort.csv, column 'patient_id', rows 1 and 9", "must be unique"),
]


@pytest.mark.parametrize(("column", "row", "value", "where", "problem"), BAD_CELLS,
                         ids=["wrong-type", "unknown-code", "empty-value", "negative-time", "zero-time",
                              "event-not-0-1", "pfs-above-os", "duplicate-id"])
def test_a_bad_cell_is_refused_with_file_column_and_row(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str], column: str, row: int,
                                                        value: object, where: str, problem: str) -> None:
    """Wrong type, unknown code, empty value, time <= 0, event not 0/1, PFS > OS, duplicate id: exit 1."""
    data = write_tables(broken(valid_tables, column, row, value), tmp_path / "study")
    error = refused(data, tmp_path, capsys)
    assert any(where in line and problem in line for line in error.splitlines()), error


def test_missing_cohort_file_is_refused(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A folder without aice_cohort.csv is refused, naming the file and the folder."""
    data = write_tables(valid_tables, tmp_path / "study")
    (data / COHORT_FILE).rename(data / "cohort.csv")
    error = refused(data, tmp_path, capsys)
    assert f"aice_cohort.csv: not found in {data} (found: aice_adverse_events.csv, aice_procedures.csv, cohort.csv)" in error


def test_missing_column_of_a_chosen_chapter_is_refused(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """--chapters makes every column of those chapters required."""
    cohort = valid_tables[COHORT_FILE].drop(columns=["os_event"])
    path = tmp_path / "patients.csv"
    cohort.to_csv(path, index=False)
    error = refused(path, tmp_path, capsys, "--chapters", "02_survival")
    assert ("aice_cohort.csv, column 'os_event', line 1: required column is missing from the header; "
            "chapter 02_survival needs it") in error


def test_the_cohort_chapter_runs_on_the_cohort_file_alone(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A single CSV gives no procedures file: chapter 01 runs without its sessions section (issue 12), which
    --strict refuses, publishing nothing, with the summary saying what would be left out and why."""
    path = tmp_path / "patients.csv"
    valid_tables[COHORT_FILE].drop(columns=["best_response"]).to_csv(path, index=False)
    prepared = rerun.prepared_data(path, None, None, tmp_path / "private")
    assert "01_cohort" in prepared.plan.runs and prepared.plan.reduced["01_cohort"] == ["the file aice_procedures.csv"]
    summary = rerun.run_summary(prepared)
    assert summary.splitlines()[:2] == ["chapters built: 3", "  01_cohort: 30 patients"]
    assert ("  section left out of 01_cohort: without the procedures file its section on the AICE sessions is left "
            "out (missing: the file aice_procedures.csv)") in summary
    assert "chapters left out: 3\n  03_prognostic_factors: it needs the column 'best_response' in aice_cohort.csv" in summary
    out = tmp_path / "book"
    assert main(["rerun", "--data", str(path), "--out", str(out), "--strict"]) == rerun.STRICT_EXIT
    error = capsys.readouterr().err
    assert "chapters that would run: 3" in error and "--strict: something would be left out" in error
    assert not out.exists()


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "file is empty"),
    ("patient_id,age_years\n".encode(), "has a header line but no data rows"),
    (b"patient_id,histology\nP1,Synovialsarkom \x81\n", "is neither UTF-8 nor Windows-1252 text"),
    (None, "is not a CSV text file, it looks like an Excel .xlsx workbook"),
])
def test_an_unreadable_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None,
                                       problem: str) -> None:
    """Not CSV, neither UTF-8 nor Windows-1252, empty or header only: refused, naming the problem."""
    path = tmp_path / "patients.csv"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("sheet.xml", "<sheet/>")
    else:
        path.write_bytes(content)
    error = refused(path, tmp_path, capsys)
    assert any(line.strip().startswith("aice_cohort.csv") and f"(patients.csv) {problem}" in line
               for line in error.splitlines()), error


@pytest.mark.parametrize(("mapping", "message"), [
    ("columns: {Age: age_years}\nrename: {}\n", "the top level: unknown key 'rename'"),
    ("columns: {Age: age_year}\nvalues: {Sex: {M: male}}\n", "2 problems in the mapping"),
])
def test_a_bad_mapping_is_refused(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str], mapping: str, message: str) -> None:
    """Unknown keys, or a column the input lacks: the mapping file and the key are named."""
    data = write_tables(valid_tables, tmp_path / "study")
    path = tmp_path / "map.yaml"
    path.write_text(mapping, encoding="utf-8")
    error = refused(data, tmp_path, capsys, "--mapping", str(path))
    assert f"{path}: {message}" in error


def test_a_mapped_column_the_input_lacks_is_a_warning(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A mapping reused on an export without one of its columns: the input is accepted, the column named in a
    warning printed last (issue 12), as the rerun prints it after the book is written."""
    data = write_tables(valid_tables, tmp_path / "study")
    path = tmp_path / "map.yaml"
    path.write_text("columns: {Agee: age_years, Gender: sex}\n", encoding="utf-8")
    assert main(["validate", "--data", str(data), "--mapping", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "valid (" in lines[0]
    assert lines[-2].startswith(f"warning: {path}: columns: Agee: no input file has a column 'Agee' (")
    assert lines[-1].startswith(f"warning: {path}: columns: Gender: no input file has a column 'Gender' (")


def test_an_occupied_output_folder_is_refused(valid_tables: dict[str, pd.DataFrame], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A folder holding something else is never overwritten, nor the book's own sources."""
    data = write_tables(valid_tables, tmp_path / "study")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["rerun", "--data", str(data), "--out", str(out)]) == 2
    assert main(["rerun", "--data", str(data), "--out", str(REPO_DIR / "notebooks" / "x")]) == 2
    assert "is not an earlier rerun's output" in capsys.readouterr().err
    assert [path.name for path in out.iterdir()] == ["notes.txt"]


def test_a_failing_chapter_stops_the_rerun_with_its_name_and_error(
        valid_tables: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell that raises: exit 1, the chapter and the message on stderr, nothing in DIR or beside it."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    failing = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("data_dir = None\ncompare_with_published = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise ValueError('planted failure')")])
    failing.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(failing, notebooks / "02_survival.ipynb")
    monkeypatch.setattr(rerun, "NOTEBOOKS_DIR", notebooks)
    data = write_tables(valid_tables, tmp_path / "study")
    error = refused(data, tmp_path, capsys, "--chapters", "02_survival")
    assert "chapter 02_survival failed: ValueError: planted failure" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notebooks", "study"]


# ----------------------------------------------------------------------------- the chapter registry


def code_of(name: str) -> str:
    """Return the code cells of a chapter notebook, joined."""
    notebook = nbformat.read(REPO_DIR / "notebooks" / f"{name}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def parameters_of(name: str) -> set[str]:
    """Return the names a notebook's parameters cell assigns."""
    notebook = nbformat.read(REPO_DIR / "notebooks" / f"{name}.ipynb", as_version=4)
    cell = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    return {target.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def opened_files(name: str) -> set[str]:
    """Return the contract files a chapter's open_chapter call requires (all three by default)."""
    names = {"COHORT_FILE": COHORT_FILE, "PROCEDURES_FILE": PROCEDURES_FILE, "ADVERSE_EVENTS_FILE": ADVERSE_EVENTS_FILE}
    calls = [node for node in ast.walk(ast.parse(code_of(name))) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == "open_chapter"]
    assert len(calls) == 1, name
    required = [keyword.value for keyword in calls[0].keywords if keyword.arg == "required"]
    if not required:
        return set(CONTRACT)
    return {COHORT_FILE} | {names[element.id] for element in required[0].elts}


def test_every_chapter_on_data_is_in_the_registry() -> None:
    """Each chapter of the table of contents that reads data is either rerun or says why not."""
    with_data = [name for name in rerun.toc_chapters() if "data_dir" in parameters_of(name)]
    assert sorted(with_data) == sorted([*rerun.CHAPTER_REQUIREMENTS, *(n for n in rerun.NOT_RERUN if n in with_data)])


@pytest.mark.parametrize("name", ALL_CHAPTERS)
def test_the_registry_declares_the_files_each_notebook_opens(name: str) -> None:
    """A file the notebook's open_chapter requires is required by the registry; the rest are optional."""
    needs = rerun.CHAPTER_REQUIREMENTS[name]
    assert set(needs.required) == opened_files(name)
    assert not set(needs.optional) & set(needs.required)


@pytest.mark.parametrize("name", ALL_CHAPTERS)
def test_the_registry_declares_every_column_a_notebook_names(name: str) -> None:
    """Contract column names written in a notebook's code are among its declared columns (the full
    rerun, on copies holding only the declared columns, checks the columns the helpers read)."""
    needs = rerun.CHAPTER_REQUIREMENTS[name]
    declared = {column for columns in (*needs.required.values(), *needs.optional.values()) for column in columns}
    contract = {column.name for columns in CONTRACT.values() for column in columns}
    named = set(re.findall(r"[\"']([a-z_]+)[\"']", code_of(name))) & contract
    assert named <= declared, named - declared


# ----------------------------------------------------------------------------- small cells and settings


def test_masked_small_counts_hides_counts_and_their_percentages() -> None:
    """n from 1 to N-1 shows "<N" and its percent and median are suppressed; the only other positive count is
    suppressed too (else 3 = 43 - 40 - 0); zeros and the rest of that count's row stay."""
    table = pd.DataFrame({"level": ["a", "b", "c"], "n": [0, 3, 40], "percent": [0.0, 7.0, 93.0],
                          "median": [1.0, 2.0, 3.0]}).set_index("level")
    shown = tables.masked_small_counts(table, 5)
    assert shown["n"].tolist() == [0, "<5", tables.SUPPRESSED_PERCENT]
    assert shown["percent"].tolist() == [0.0, tables.SUPPRESSED_PERCENT, tables.SUPPRESSED_PERCENT]
    assert shown["median"].tolist() == [1.0, tables.SUPPRESSED_PERCENT, 3.0]
    assert tables.masked_small_counts(table, 1) is table


def test_masked_small_counts_pairs_grouped_columns_and_labelled_rows() -> None:
    """Table 5's (grade, n | %) columns pair within a grade; helpers can name count rows in attrs."""
    columns = pd.MultiIndex.from_product([["A", "B"], ["n", "%"]])
    table5 = pd.DataFrame([[2, 4.0, 10, 20.0]], columns=columns, index=["Pain"])
    shown = tables.masked_small_counts(table5, 5)
    assert shown.loc["Pain"].tolist() == ["<5", tables.SUPPRESSED_PERCENT, tables.SUPPRESSED_PERCENT,
                                          tables.SUPPRESSED_PERCENT]  # 10 would give 2 from the row's total
    events = pd.DataFrame({"OS": ["80", "3", "3.8"]}, index=["patients", "censored", "share (%)"])
    events.attrs[tables.COUNT_ROWS_ATTR] = ["patients", "censored"]
    events.attrs[tables.PERCENT_ROWS_ATTR] = {"share (%)": "censored"}
    assert tables.masked_small_counts(events, 5)["OS"].tolist() == [tables.SUPPRESSED_PERCENT, "<5",
                                                                    tables.SUPPRESSED_PERCENT]


def test_chapter_settings_come_from_the_environment() -> None:
    """AICE_MIN_CELL and AICE_REQUIRED_COLUMNS, as the rerun sets them; bad values are refused."""
    assert chapter.min_cell_setting({}) == 0
    assert chapter.min_cell_setting({chapter.MIN_CELL_ENV: " 5 "}) == 5
    with pytest.raises(ValueError):
        chapter.min_cell_setting({chapter.MIN_CELL_ENV: "five"})
    assert chapter.required_columns_setting({}) is None
    setting = {COHORT_FILE: ["patient_id", "os_months"]}
    assert chapter.required_columns_setting({chapter.REQUIRED_COLUMNS_ENV: json.dumps(setting)}) == setting
    with pytest.raises(ValueError):
        chapter.required_columns_setting({chapter.REQUIRED_COLUMNS_ENV: json.dumps({"x.csv": ["a"]})})


def test_the_template_follows_the_contract() -> None:
    """data/template/aice_cohort.csv is a valid cohort file of three made-up patients."""
    assert len(load_dataset(TEMPLATE, required=()).cohort) == 3


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    """``aice rerun --help`` lists every option and ends with an example."""
    with pytest.raises(SystemExit):
        main(["rerun", "--help"])
    text = capsys.readouterr().out
    for option in ("--data", "--out", "--mapping", "--title", "--chapters", "--min-cell", "--jobs", "example:"):
        assert option in text


def test_links_to_chapters_a_rerun_book_lacks_become_plain_text() -> None:
    """Links and {ref} roles to absent chapters keep their words and lose the link; others are untouched."""
    labels = {"survival-median": "The median and its interval"}
    text = ("See [the scorecard](08_scorecard.ipynb), [the check](../notebooks/07_checking_the_paper.ipynb#top), "
            "[the primer](primer_01_kaplan_meier.ipynb), {ref}`medians <survival-median>`, {ref}`survival-median` "
            "and {ref}`the primer <primer-km>`.")
    result = rerun.without_absent_links(text, {"08_scorecard", "07_checking_the_paper", "02_survival"}, labels)
    assert result == ("See the scorecard, the check, [the primer](primer_01_kaplan_meier.ipynb), medians, "
                      "The median and its interval and {ref}`the primer <primer-km>`.")


def test_the_labels_of_absent_chapters_are_found_with_their_headings() -> None:
    """A label of a chapter the rerun book lacks maps to the heading it stands before."""
    labels = rerun.absent_labels(set(rerun.toc_chapters()) - {"02_survival"})
    assert labels and all(label.startswith("survival-") for label in labels)
    assert all(heading and "#" not in heading for heading in labels.values())

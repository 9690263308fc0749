"""Loading and validating the data-contract files: every problem named by file, column and row.

Row convention under test: "row N" is the N-th data row below the header (line N+1 of the file).
Every test builds its own small valid dataset in tmp_path and breaks one thing in it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    GRADES,
    MODALITIES,
    PROCEDURES_FILE,
    RESPONSES,
    SEXES,
    STAGES,
    SUBSEQUENT_THERAPIES,
    TUMOR_SITES,
)
from aice_helpers.data import (
    ROW_CONVENTION,
    DataValidationError,
    load_adverse_events,
    load_cohort,
    load_dataset,
    load_procedures,
    read_records,
)

REPO = Path(__file__).resolve().parent.parent
N_PATIENTS = 8  # more than the five rows a finding lists, so "and K more" shows
ADVERSE_EVENTS = (  # (patient number, cycle, event, SIR grade); each cycle is one the patient had
    (1, 1, "pyrexia", "A"),
    (1, 2, "pain", "B"),
    (3, 2, "nausea_vomiting", "A"),
    (5, 1, "myelosuppression", "C"),
)


# ----------------------------------------------------------------------------- the valid dataset


def patient_id(number: int) -> str:
    """Return the id of patient ``number`` (1-based): P001, P002, ..."""
    return f"P{number:03d}"


def cycles_of(number: int) -> int:
    """Return the number of AICE cycles of patient ``number``: odd patients 2, even 1."""
    return 1 + number % 2


def cohort_row(number: int) -> dict[str, str]:
    """Return one valid cohort row; patient ``number`` is data row ``number``."""
    return {
        "patient_id": patient_id(number),
        "age_years": f"{40 + number}.5",
        "sex": SEXES[number % 2],
        "ecog": str(number % 3),
        "tumor_site": TUMOR_SITES[number % len(TUMOR_SITES)],
        "histology": "leiomyosarcoma",
        "max_diameter_cm": "6.2",
        "distant_metastasis": str(number % 2),
        "grade": GRADES[number % len(GRADES)],
        "stage": STAGES[number % 2],
        "nlr": "2.4",
        "mgps": str(number % 3),
        "aice_modality": MODALITIES[number % 2],
        "prior_systemic_lines": "1",
        "aice_cycles": str(cycles_of(number)),
        "postop_regimens": "0",
        "best_response": RESPONSES[number % len(RESPONSES)],
        "subsequent_therapy": SUBSEQUENT_THERAPIES[number % len(SUBSEQUENT_THERAPIES)],
        "os_months": f"{10 + 3 * number}.0",
        "os_event": str(number % 2),
        "pfs_months": f"{4 + number}.5",
        "pfs_event": "1",
    }


def procedure_rows() -> list[dict[str, str]]:
    """Return the valid procedure rows: P001 cycles 1-2 (rows 1-2), P002 cycle 1 (row 3), ..."""
    return [
        {"patient_id": patient_id(number), "cycle": str(cycle), "embolization": str((number + cycle) % 2)}
        for number in range(1, N_PATIENTS + 1)
        for cycle in range(1, cycles_of(number) + 1)
    ]


def adverse_event_rows() -> list[dict[str, str]]:
    """Return the valid adverse-event rows, one per entry of ADVERSE_EVENTS."""
    return [
        {"patient_id": patient_id(number), "cycle": str(cycle), "event": event, "sir_grade": grade}
        for number, cycle, event, grade in ADVERSE_EVENTS
    ]


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    """Write ``rows`` as a CSV file with a header taken from the first row."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_rows(path: Path) -> list[dict[str, str]]:
    """Return the rows of a CSV file as dicts of text."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Return a folder holding a valid dataset of N_PATIENTS patients."""
    write_rows(tmp_path / COHORT_FILE, [cohort_row(number) for number in range(1, N_PATIENTS + 1)])
    write_rows(tmp_path / PROCEDURES_FILE, procedure_rows())
    write_rows(tmp_path / ADVERSE_EVENTS_FILE, adverse_event_rows())
    return tmp_path


def set_cell(folder: Path, file_name: str, row: int, column: str, value: str) -> None:
    """Set one cell of a file in ``folder``; ``row`` counts data rows from 1."""
    rows = read_rows(folder / file_name)
    rows[row - 1][column] = value
    write_rows(folder / file_name, rows)


def drop_column(folder: Path, file_name: str, column: str) -> None:
    """Remove one column from a file in ``folder``."""
    rows = read_rows(folder / file_name)
    write_rows(folder / file_name, [{key: value for key, value in row.items() if key != column} for row in rows])


def validation_error(folder: Path) -> DataValidationError:
    """Return the error raised by loading ``folder`` (failing the test if none is raised)."""
    with pytest.raises(DataValidationError) as caught:
        load_dataset(folder)
    return caught.value


def report_line(error: DataValidationError, *fragments: str) -> str:
    """Return the one report line holding every fragment (failing with the report otherwise)."""
    lines = [line for line in str(error).splitlines() if all(fragment in line for fragment in fragments)]
    assert len(lines) == 1, f"expected one line with {fragments} in:\n{error}"
    return lines[0]


def file_digests(folder: Path) -> dict[str, str]:
    """Return the SHA-256 of every file in ``folder``."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


# ----------------------------------------------------------------------------- valid data


def test_the_test_cohort_covers_every_contract_column() -> None:
    assert list(cohort_row(1)) == [column.name for column in CONTRACT[COHORT_FILE]]


def test_valid_dataset_loads_with_contract_dtypes(folder: Path) -> None:
    dataset = load_dataset(folder)
    frames = {
        COHORT_FILE: dataset.cohort,
        PROCEDURES_FILE: dataset.procedures,
        ADVERSE_EVENTS_FILE: dataset.adverse_events,
    }
    assert [len(frame) for frame in frames.values()] == [N_PATIENTS, len(procedure_rows()), len(ADVERSE_EVENTS)]
    for file_name, columns in CONTRACT.items():
        frame = frames[file_name]
        for column in columns:
            dtype = frame[column.name].dtype
            if column.kind == "integer":
                assert dtype == "int64", column.name
            elif column.kind == "number":
                assert dtype == "float64", column.name
            elif column.levels:
                assert isinstance(dtype, pd.CategoricalDtype), column.name
                assert list(dtype.categories) == list(column.levels), column.name
            else:
                assert dtype == object, column.name
    assert dataset.cohort.loc[2, "os_months"] == 19.0
    assert dataset.cohort.loc[2, "sex"] == SEXES[1]


def test_surrounding_whitespace_is_stripped(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 2, "sex", "  female ")
    set_cell(folder, COHORT_FILE, 2, "ecog", " 3 ")
    cohort = load_dataset(folder).cohort
    assert (cohort.loc[1, "sex"], cohort.loc[1, "ecog"]) == ("female", 3)


def test_extra_columns_are_accepted_and_kept(folder: Path) -> None:
    rows = [{**row, "site_notes": f"note {number}"} for number, row in enumerate(read_rows(folder / COHORT_FILE), 1)]
    write_rows(folder / COHORT_FILE, rows)
    procedures = [{"operator": "A", **row} for row in read_rows(folder / PROCEDURES_FILE)]
    write_rows(folder / PROCEDURES_FILE, procedures)
    dataset = load_dataset(folder)
    assert dataset.cohort["site_notes"].tolist()[:2] == ["note 1", "note 2"]
    assert list(dataset.procedures.columns)[0] == "operator"


def test_files_not_required_may_be_absent(folder: Path) -> None:
    (folder / PROCEDURES_FILE).unlink()
    (folder / ADVERSE_EVENTS_FILE).unlink()
    dataset = load_dataset(folder, required=(COHORT_FILE,))
    assert len(dataset.cohort) == N_PATIENTS
    assert dataset.procedures is None and dataset.adverse_events is None


def test_single_file_loaders_read_one_file(folder: Path) -> None:
    assert len(load_cohort(folder / COHORT_FILE)) == N_PATIENTS
    assert len(load_procedures(folder / PROCEDURES_FILE)) == len(procedure_rows())
    assert len(load_adverse_events(folder / ADVERSE_EVENTS_FILE)) == len(ADVERSE_EVENTS)


def test_single_file_loader_reports_its_file(folder: Path) -> None:
    set_cell(folder, PROCEDURES_FILE, 4, "embolization", "yes")
    with pytest.raises(DataValidationError) as caught:
        load_procedures(folder / PROCEDURES_FILE)
    report_line(caught.value, PROCEDURES_FILE, "column 'embolization'", "row 4 (patient P003)", "found 'yes'")


def test_input_files_are_not_modified(folder: Path) -> None:
    before = file_digests(folder)
    load_dataset(folder)
    set_cell(folder, COHORT_FILE, 1, "os_months", "-1")
    broken = file_digests(folder)
    validation_error(folder)
    assert file_digests(folder) == broken
    assert {name: digest for name, digest in broken.items() if name != COHORT_FILE} == {
        name: digest for name, digest in before.items() if name != COHORT_FILE
    }


# ----------------------------------------------------------------------------- unreadable files


@pytest.mark.parametrize("file_name", list(CONTRACT))
def test_missing_file(folder: Path, file_name: str) -> None:
    (folder / file_name).unlink()
    report_line(validation_error(folder), f"{file_name}: file not found in {folder}")


def test_missing_folder(tmp_path: Path) -> None:
    report_line(validation_error(tmp_path / "nowhere"), "nowhere", "data folder not found")


def xlsx_bytes(tmp_path: Path) -> bytes:
    """Return the bytes of a minimal zip archive shaped like an .xlsx workbook."""
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        ("xlsx", "zip archive (an Excel .xlsx"),
        ("binary", "binary file"),
        ("utf16", "UTF-16 text"),
    ],
)
def test_file_that_is_not_csv_text(folder: Path, tmp_path: Path, content: str, looks_like: str) -> None:
    text = (folder / COHORT_FILE).read_text(encoding="utf-8")
    data = {
        "xlsx": lambda: xlsx_bytes(tmp_path),
        "binary": lambda: bytes(range(256)) * 4,
        "utf16": lambda: text.encode("utf-16"),
    }[content]()
    (folder / COHORT_FILE).write_bytes(data)
    report_line(validation_error(folder), f"{COHORT_FILE}: is not a CSV text file", looks_like)


def test_rows_with_a_wrong_number_of_fields(folder: Path) -> None:
    lines = (folder / COHORT_FILE).read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # data row 3 loses its last field
    lines[6] = lines[6] + ",extra"  # data row 6 gains one
    (folder / COHORT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    error = validation_error(folder)
    width = len(CONTRACT[COHORT_FILE])
    report_line(error, f"{COHORT_FILE}, row 3: has {width - 1} fields, the header has {width}")
    report_line(error, f"{COHORT_FILE}, row 6: has {width + 1} fields, the header has {width}")


def test_semicolon_separated_file(folder: Path) -> None:
    text = (folder / PROCEDURES_FILE).read_text(encoding="utf-8")
    (folder / PROCEDURES_FILE).write_text(text.replace(",", ";"), encoding="utf-8")
    report_line(validation_error(folder), f"{PROCEDURES_FILE}, line 1: is not comma-separated", "semicolons")


def test_unclosed_quote(folder: Path) -> None:
    lines = (folder / ADVERSE_EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("pain", '"pain')
    (folder / ADVERSE_EVENTS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    report_line(validation_error(folder), ADVERSE_EVENTS_FILE, "is not valid CSV")


def test_file_not_utf8_names_byte_offset_and_line(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 2, "histology", "liposarcome dédifférencié")
    data = (folder / COHORT_FILE).read_bytes()
    latin1 = data.decode("utf-8").encode("latin-1")
    (folder / COHORT_FILE).write_bytes(latin1)
    offset = latin1.index(b"\xe9")
    report_line(
        validation_error(folder),
        f"{COHORT_FILE}, line 3: is not UTF-8 text",
        f"byte 0xe9 at byte offset {offset}",
    )


@pytest.mark.parametrize("content", [b"", b"\n\n", b"  \r\n"])
def test_empty_file(folder: Path, content: bytes) -> None:
    (folder / ADVERSE_EVENTS_FILE).write_bytes(content)
    report_line(validation_error(folder), f"{ADVERSE_EVENTS_FILE}: file is empty")


def test_header_only(folder: Path) -> None:
    header = (folder / PROCEDURES_FILE).read_text(encoding="utf-8").splitlines()[0]
    (folder / PROCEDURES_FILE).write_text(header + "\n", encoding="utf-8")
    report_line(validation_error(folder), f"{PROCEDURES_FILE}: has a header line but no data rows")


def test_adverse_events_file_with_a_header_only_is_a_cohort_without_adverse_events(folder: Path) -> None:
    """No adverse event happened: the file may list none (the cohort and procedures files may not)."""
    header = (folder / ADVERSE_EVENTS_FILE).read_text(encoding="utf-8").splitlines()[0]
    (folder / ADVERSE_EVENTS_FILE).write_text(header + "\n", encoding="utf-8")
    dataset = load_dataset(folder)
    assert dataset.adverse_events.empty
    assert list(dataset.adverse_events.columns) == [column.name for column in CONTRACT[ADVERSE_EVENTS_FILE]]
    assert read_records(folder / ADVERSE_EVENTS_FILE, rows_required=False) == (header.split(","), [])
    with pytest.raises(DataValidationError):
        read_records(folder / ADVERSE_EVENTS_FILE)


def test_repeated_column_name(folder: Path) -> None:
    text = (folder / PROCEDURES_FILE).read_text(encoding="utf-8")
    (folder / PROCEDURES_FILE).write_text(text.replace("embolization", "cycle", 1), encoding="utf-8")
    report_line(validation_error(folder), PROCEDURES_FILE, "column 'cycle'", "appears more than once")


# ----------------------------------------------------------------------------- column checks


@pytest.mark.parametrize(("file_name", "column"), [(COHORT_FILE, "ecog"), (ADVERSE_EVENTS_FILE, "sir_grade")])
def test_missing_required_column(folder: Path, file_name: str, column: str) -> None:
    drop_column(folder, file_name, column)
    report_line(validation_error(folder), f"{file_name}, column '{column}', line 1: required column is missing")


def test_missing_column_hints_at_a_name_in_other_case(folder: Path) -> None:
    text = (folder / COHORT_FILE).read_text(encoding="utf-8")
    (folder / COHORT_FILE).write_text(text.replace("age_years", "Age_Years", 1), encoding="utf-8")
    report_line(
        validation_error(folder), "column 'age_years'", "missing", "found 'Age_Years' (column names are case-sensitive)"
    )


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("age_years", "abc", "must be a number"),
        ("os_months", "12,5", "must be a number"),
        ("nlr", "inf", "must be a number"),
        ("ecog", "2.5", "must be a whole number"),
        ("aice_cycles", "two", "must be a whole number"),
    ],
)
def test_wrong_type(folder: Path, column: str, value: str, problem: str) -> None:
    set_cell(folder, COHORT_FILE, 3, column, value)
    report_line(
        validation_error(folder), f"{COHORT_FILE}, column '{column}', row 3 (patient P003): {problem}, found '{value}'"
    )


@pytest.mark.parametrize(
    ("file_name", "row", "patient", "column", "value", "allowed"),
    [
        (COHORT_FILE, 2, "P002", "sex", "M", "'male', 'female'"),
        (COHORT_FILE, 5, "P005", "grade", "g2", "'G1', 'G2', 'G3'"),
        (COHORT_FILE, 1, "P001", "ecog", "7", "0, 1, 2, 3, 4"),
        (ADVERSE_EVENTS_FILE, 3, "P003", "event", "fever", "'pyrexia', 'pain', 'nausea_vomiting', 'liver_dysfunction'"),
        (ADVERSE_EVENTS_FILE, 4, "P005", "sir_grade", "G", "'A', 'B', 'C', 'D', 'E', 'F'"),
    ],
)
def test_unknown_category_lists_the_allowed_values(
    folder: Path, file_name: str, row: int, patient: str, column: str, value: str, allowed: str
) -> None:
    set_cell(folder, file_name, row, column, value)
    found = value if value.isdigit() else f"'{value}'"
    line = report_line(validation_error(folder), f"{file_name}, column '{column}', row {row} (patient {patient})")
    assert f"must be one of {allowed}" in line and line.endswith(f"found {found}")


@pytest.mark.parametrize(
    ("file_name", "column"), [(COHORT_FILE, "os_event"), (COHORT_FILE, "pfs_event"), (PROCEDURES_FILE, "embolization")]
)
def test_event_not_0_or_1(folder: Path, file_name: str, column: str) -> None:
    set_cell(folder, file_name, 4, column, "2")
    report_line(validation_error(folder), f"{file_name}, column '{column}', row 4", "must be one of 0, 1, found 2")


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize(
    ("file_name", "column"), [(COHORT_FILE, "patient_id"), (COHORT_FILE, "os_months"), (COHORT_FILE, "pfs_event"),
                              (COHORT_FILE, "best_response"), (PROCEDURES_FILE, "cycle")]
)
def test_empty_required_value(folder: Path, file_name: str, column: str, value: str) -> None:
    set_cell(folder, file_name, 2, column, value)
    report_line(validation_error(folder), f"{file_name}, column '{column}', row 2", "required value is missing")


@pytest.mark.parametrize("column", ["grade", "nlr", "ecog", "histology"])
def test_a_missing_covariate_is_allowed(folder: Path, column: str) -> None:
    """Covariates may be missing: the row is kept, the value is missing (a whole-number column becomes float)."""
    set_cell(folder, COHORT_FILE, 2, column, "")
    cohort = load_dataset(folder).cohort
    assert pd.isna(cohort[column].iloc[1]) and cohort[column].notna().sum() == len(cohort) - 1


@pytest.mark.parametrize(("column", "value", "found"), [("os_months", "-3", "-3.0"), ("pfs_months", "0", "0.0")])
def test_negative_or_zero_time(folder: Path, column: str, value: str, found: str) -> None:
    set_cell(folder, COHORT_FILE, 6, column, value)
    report_line(
        validation_error(folder), f"{COHORT_FILE}, column '{column}', row 6 (patient P006): must be > 0, found {found}"
    )


def test_pfs_longer_than_os(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 2, "pfs_months", "99")
    report_line(
        validation_error(folder),
        f"{COHORT_FILE}, column 'pfs_months', row 2 (patient P002): must be <= os_months, "
        "found pfs_months 99.0 > os_months 16.0",
    )


def test_duplicate_patient_id_names_both_rows(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 4, "patient_id", "P002")
    report_line(
        validation_error(folder),
        f"{COHORT_FILE}, column 'patient_id', rows 2 and 4 (patient P002): must be unique, "
        "found 'P002' in rows 2 and 4",
    )


def test_many_failures_of_one_kind_share_one_line(folder: Path) -> None:
    for row in range(1, N_PATIENTS + 1):
        set_cell(folder, COHORT_FILE, row, "sex", "X")
    line = report_line(validation_error(folder), "column 'sex'")
    assert "rows 1, 2, 3, 4, 5 and 3 more (patients P001, P002, P003, P004, P005)" in line
    assert line.endswith("found 'X'")


def test_blank_rows_do_not_count_as_rows(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 3, "ecog", "9")
    lines = (folder / COHORT_FILE).read_text(encoding="utf-8").splitlines()
    lines[2:2] = ["", "   ", "," * (len(CONTRACT[COHORT_FILE]) - 1)]  # blank rows between data rows 1 and 2
    (folder / COHORT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    report_line(validation_error(folder), "column 'ecog', row 3 (patient P003)")


# ----------------------------------------------------------------------------- cross-file checks


@pytest.mark.parametrize(("file_name", "row"), [(PROCEDURES_FILE, 3), (ADVERSE_EVENTS_FILE, 2)])
def test_patient_not_in_cohort(folder: Path, file_name: str, row: int) -> None:
    set_cell(folder, file_name, row, "patient_id", "P999")
    report_line(
        validation_error(folder),
        f"{file_name}, column 'patient_id', row {row} (patient P999): patient_id is not in {COHORT_FILE}, found 'P999'",
    )


def test_adverse_event_cycle_not_among_procedure_cycles(folder: Path) -> None:
    set_cell(folder, ADVERSE_EVENTS_FILE, 4, "cycle", "3")
    report_line(
        validation_error(folder),
        f"{ADVERSE_EVENTS_FILE}, column 'cycle', row 4 (patient P005): must be one of that patient's cycles in "
        f"{PROCEDURES_FILE}, found 'P005' cycle 3 (procedure cycles 1, 2)",
    )


def test_duplicate_patient_cycle_in_procedures(folder: Path) -> None:
    set_cell(folder, PROCEDURES_FILE, 2, "cycle", "1")
    report_line(
        validation_error(folder),
        f"{PROCEDURES_FILE}, columns 'patient_id', 'cycle', rows 1 and 2 (patient P001): must be unique together, "
        "found ('P001', 1) in rows 1 and 2",
    )


def test_aice_cycles_differs_from_procedure_rows(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 1, "aice_cycles", "3")
    report_line(
        validation_error(folder),
        f"{COHORT_FILE}, column 'aice_cycles', row 1 (patient P001): must equal the patient's number of rows in "
        f"{PROCEDURES_FILE}, found 3 (2 procedure rows)",
    )


def test_all_findings_across_files_are_reported_together(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 2, "sex", "M")
    set_cell(folder, COHORT_FILE, 7, "age_years", "old")
    set_cell(folder, PROCEDURES_FILE, 1, "embolization", "2")
    set_cell(folder, ADVERSE_EVENTS_FILE, 3, "sir_grade", "Z")
    error = validation_error(folder)
    assert len(error.findings) == 4
    lines = str(error).splitlines()
    assert lines[0].endswith(f"4 problems ({ROW_CONVENTION})")
    files = [line.split(",")[0].strip() for line in lines[1:]]
    assert files == [COHORT_FILE, COHORT_FILE, PROCEDURES_FILE, ADVERSE_EVENTS_FILE]


def test_unreadable_and_invalid_files_are_reported_together(folder: Path) -> None:
    (folder / PROCEDURES_FILE).write_bytes(b"")
    set_cell(folder, ADVERSE_EVENTS_FILE, 1, "event", "rash")
    error = validation_error(folder)
    report_line(error, f"{PROCEDURES_FILE}: file is empty")
    report_line(error, ADVERSE_EVENTS_FILE, "column 'event', row 1", "found 'rash'")


# ----------------------------------------------------------------------------- command line


def run_validate(folder: Path) -> subprocess.CompletedProcess[str]:
    """Return the finished ``python -m aice_helpers validate --data folder``."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "aice_helpers", "validate", "--data", str(folder)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        check=False,
    )


def test_cli_validate_reports_bad_data_without_traceback(folder: Path) -> None:
    set_cell(folder, COHORT_FILE, 3, "os_months", "-3")
    (folder / ADVERSE_EVENTS_FILE).write_bytes(b"\x00\x01\x02")
    result = run_validate(folder)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{COHORT_FILE}, column 'os_months', row 3 (patient P003): must be > 0, found -3.0" in result.stderr
    assert f"{ADVERSE_EVENTS_FILE}, line 1: holds a NUL byte" in result.stderr  # the wording aice rerun uses
    assert result.stdout == ""


def test_cli_validate_accepts_valid_data(folder: Path) -> None:
    result = run_validate(folder)
    assert (result.returncode, result.stderr) == (0, "")
    assert f"valid ({N_PATIENTS} patients)" in result.stdout


# ----------------------------------------------------------------------------- only the columns in use


def test_required_columns_lets_other_contract_columns_be_absent(folder: Path) -> None:
    """With required_columns, a file needs only those columns; absent contract columns are not in the frame."""
    drop_column(folder, COHORT_FILE, "nlr")
    drop_column(folder, COHORT_FILE, "histology")
    needed = {COHORT_FILE: ["patient_id", "os_months", "os_event", "pfs_months", "pfs_event"]}
    cohort = load_dataset(folder, required=(), required_columns=needed).cohort
    assert "nlr" not in cohort and "histology" not in cohort
    assert cohort["os_months"].dtype == "float64" and isinstance(cohort["sex"].dtype, pd.CategoricalDtype)


def test_required_columns_still_checks_the_columns_present(folder: Path) -> None:
    """A contract column that is present but not required is checked all the same."""
    set_cell(folder, COHORT_FILE, 3, "sex", "M")
    with pytest.raises(DataValidationError) as caught:
        load_dataset(folder, required=(), required_columns={COHORT_FILE: ["patient_id", "os_months"]})
    report_line(caught.value, COHORT_FILE, "'sex'", "row 3", "must be one of")


def test_required_columns_names_a_missing_required_column(folder: Path) -> None:
    """A required column absent from the header is reported as before."""
    drop_column(folder, COHORT_FILE, "os_event")
    with pytest.raises(DataValidationError) as caught:
        load_dataset(folder, required=(), required_columns={COHORT_FILE: ["patient_id", "os_event"]})
    report_line(caught.value, COHORT_FILE, "'os_event'", "required column is missing from the header")


def test_required_columns_must_be_contract_columns(folder: Path) -> None:
    """A typo in required_columns is a programming error, not a data problem."""
    with pytest.raises(KeyError):
        load_dataset(folder, required_columns={COHORT_FILE: ["patient_idd"]})


def test_numbers_that_python_reads_but_the_contract_does_not(folder: Path) -> None:
    """'1_000' and non-ASCII digits are not numbers here, though float() reads them."""
    set_cell(folder, COHORT_FILE, 1, "age_years", "1_000")
    set_cell(folder, COHORT_FILE, 2, "max_diameter_cm", "١٢")
    error = validation_error(folder)
    report_line(error, COHORT_FILE, "'age_years'", "row 1", "must be a number")
    report_line(error, COHORT_FILE, "'max_diameter_cm'", "row 2", "must be a number")


def test_many_unknown_adverse_event_cycles_are_counted(folder: Path) -> None:
    """Adverse events on cycles a patient did not have are listed up to five, then counted."""
    rows = [{"patient_id": patient_id(2), "cycle": str(cycle), "event": "pain", "sir_grade": "A"}
            for cycle in range(2, 10)]
    write_rows(folder / ADVERSE_EVENTS_FILE, rows)
    line = report_line(validation_error(folder), ADVERSE_EVENTS_FILE, "'cycle'", "must be one of that patient's cycles")
    assert "'P002' cycle 2 (procedure cycles 1)" in line and "and 3 more" in line


def test_validated_dataset_reads_only_the_declared_files_and_columns(folder: Path) -> None:
    """The rerun's chapters read its validated copy fast, and see only what they declare."""
    from aice_helpers.data import load_validated_dataset

    full = load_dataset(folder)
    fast = load_validated_dataset(folder)
    for name in ("cohort", "procedures", "adverse_events"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(full, name))
    declared = {COHORT_FILE: ["patient_id", "os_months", "sex"]}
    narrow = load_validated_dataset(folder, required=(), required_columns=declared)
    assert list(narrow.cohort.columns) == ["patient_id", "sex", "os_months"]
    assert narrow.procedures is None and narrow.adverse_events is None
    with pytest.raises(DataValidationError, match="required column is missing"):
        load_validated_dataset(folder, required=(), required_columns={COHORT_FILE: ["patient_id", "nlr2"]})

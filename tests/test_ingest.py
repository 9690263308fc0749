"""Reading what hospitals export (aice_helpers.ingest): CSV dialects, Excel workbooks, SPSS and Stata files,
sources named in the mapping, survival times from dates, missing-value tokens.

The fixtures are written the way the programs a hospital uses write them: a European Excel CSV (semicolons,
decimal commas, a byte-order mark, CRLF line ends), a workbook written with openpyxl with real date cells,
an SPSS file written with pyreadstat with value labels and a user-missing code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aice_helpers.contract import COHORT_FILE, PROCEDURES_FILE
from aice_helpers.data import DataValidationError
from aice_helpers.ingest import (
    DAYS_PER_MONTH,
    cell_text,
    input_tables,
    survival_from_dates,
    with_survival_from_dates,
)
from aice_helpers.mapping import DatesSpec, MappingError, apply_mapping, load_mapping

HEADER = ["Patient", "Age", "Sex", "NLR", "Histology"]
ROWS = [["H-01", "54", "M", "2.75", "Leiomyosarcoma"],
        ["H-02", "61", "F", "", "Liposarcoma"],
        ["H-03", "47", "F", "3.5", "Synovial sarcoma, NOS"]]


def european_csv(path: Path, header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> Path:
    """Write what Excel's "CSV (semicolon)" writes on a European Windows: BOM, semicolons, decimal commas, CRLF."""
    lines = [";".join(header)] + [";".join(cell.replace(".", ",") if cell[:1].isdigit() else cell for cell in row)
                                  for row in rows]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def mapping_file(tmp_path: Path, text: str) -> Path:
    """Write a mapping file and return its path."""
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- CSV


def test_a_european_excel_csv_is_read_with_its_dialect_detected(tmp_path: Path) -> None:
    """BOM, semicolons, decimal commas and CRLF: the cells come out as a comma-point CSV would give them."""
    frame = input_tables(european_csv(tmp_path / "export.csv"))[COHORT_FILE]
    assert list(frame.columns) == HEADER
    assert frame["NLR"].tolist()[0] == "2.75" and pd.isna(frame["NLR"][1]) and frame["NLR"][2] == "3.5"
    assert frame["Histology"][2] == "Synovial sarcoma, NOS"  # a comma inside text is not a decimal mark
    assert frame["Patient"].tolist() == ["H-01", "H-02", "H-03"]


def test_a_windows_1252_csv_is_decoded(tmp_path: Path) -> None:
    """A file that is not UTF-8 is read as Windows-1252 (Excel's "CSV" on Western European Windows)."""
    path = tmp_path / "export.csv"
    path.write_bytes("Patient,Histology\r\nH-01,Liposarcome dédifférencié\r\n".encode("cp1252"))
    assert input_tables(path)[COHORT_FILE]["Histology"][0] == "Liposarcome dédifférencié"


def test_the_mapping_sets_an_ambiguous_dialect(tmp_path: Path) -> None:
    """Numbers with decimal commas and points in one semicolon file: refused, unless the mapping says which."""
    path = tmp_path / "export.csv"
    path.write_text("Patient;Age;NLR\nH-01;54,5;2.75\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="decimal mark is ambiguous"):
        input_tables(path)
    mapping = load_mapping(mapping_file(tmp_path, 'csv: {sep: ";", decimal: ","}\n'))
    assert input_tables(path, mapping)[COHORT_FILE]["Age"][0] == "54.5"


def test_a_ragged_csv_names_its_rows(tmp_path: Path) -> None:
    """A row with a field too many is named with the delimiter used."""
    path = tmp_path / "export.csv"
    path.write_text("Patient;Age;NLR\nH-01;54;2,5\nH-02;60;3,1;x\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"row 2.*has 4 fields, the header has 3 \(delimiter: semicolons\)"):
        input_tables(path)


# ----------------------------------------------------------------------------- Excel


def hospital_workbook(path: Path) -> Path:
    """Write a workbook as a hospital keeps it: a patients sheet with date cells and blanks, a sessions sheet."""
    from openpyxl import Workbook

    book = Workbook()
    patients = book.active
    patients.title = "Patients"
    patients.append(["Patient", "Age", "NLR", "Histology", "First AICE"])
    patients.append(["H-01", 54, 2.75, "Leiomyosarcoma", dt.datetime(2019, 3, 4)])
    patients.append(["H-02", 61.0, None, "#N/A", dt.date(2020, 1, 15)])
    patients.append([None, None, None, None, None])  # an empty row is skipped
    patients.append(["H-03", 47, 3.5, 7, dt.datetime(2021, 6, 1, 14, 30)])
    sessions = book.create_sheet("AICE sessions")
    sessions.append(["Patient", "cycle", "embolization"])
    sessions.append(["H-01", 1, 0])
    book.save(path)
    return path


def test_a_workbook_gives_its_sheets_as_the_contract_files(tmp_path: Path) -> None:
    """The mapping names the sheets; typed cells come out as a CSV would hold them."""
    path = hospital_workbook(tmp_path / "export.xlsx")
    mapping = load_mapping(mapping_file(tmp_path, "files:\n  aice_cohort.csv: {source: Patients}\n"
                                                  "  aice_procedures.csv: {source: AICE sessions}\n"))
    frames = input_tables(path, mapping)
    cohort = frames[COHORT_FILE]
    assert cohort["Patient"].tolist() == ["H-01", "H-02", "H-03"]
    assert cohort["Age"].tolist() == ["54", "61", "47"]  # 61.0 is the whole number 61
    assert cohort["NLR"][0] == "2.75" and pd.isna(cohort["NLR"][1])
    assert cohort["First AICE"].tolist() == ["2019-03-04", "2020-01-15", "2021-06-01 14:30:00"]
    assert cohort["Histology"].tolist() == ["Leiomyosarcoma", "#N/A", "7"]
    assert frames[PROCEDURES_FILE]["cycle"].tolist() == ["1"]


def test_a_one_sheet_workbook_is_the_cohort_and_a_missing_sheet_is_named(tmp_path: Path) -> None:
    """Without a mapping the sheet named after a contract file is used; a sheet the mapping names must exist."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Anything"
    book.active.append(["Patient", "Age"])
    book.active.append(["H-01", 54])
    book.save(tmp_path / "one.xlsx")
    assert list(input_tables(tmp_path / "one.xlsx")) == [COHORT_FILE]
    mapping = load_mapping(mapping_file(tmp_path, "files:\n  aice_cohort.csv: {source: Patients}\n"))
    with pytest.raises(DataValidationError, match=r"one.xlsx has no sheet 'Patients' \(its sheets: 'Anything'\)"):
        input_tables(tmp_path / "one.xlsx", mapping)


def test_a_folder_takes_sources_from_the_mapping(tmp_path: Path) -> None:
    """A CSV under another name and a sheet of a workbook in the folder, as the mapping's files: says."""
    folder = tmp_path / "export"
    folder.mkdir()
    european_csv(folder / "patients_2024.csv")
    hospital_workbook(folder / "sessions.xlsx")
    mapping = load_mapping(mapping_file(tmp_path, "files:\n  aice_cohort.csv: {source: patients_2024.csv}\n"
                                                  "  aice_procedures.csv: {source: AICE sessions}\n"))
    frames = input_tables(folder, mapping)
    assert set(frames) == {COHORT_FILE, PROCEDURES_FILE} and len(frames[COHORT_FILE]) == 3
    mapping = load_mapping(mapping_file(tmp_path, "files:\n  aice_adverse_events.csv: {source: toxicity.csv}\n"
                                                  "  aice_cohort.csv: {source: patients_2024.csv}\n"))
    with pytest.raises(DataValidationError, match=r"aice_adverse_events.csv: the mapping's source 'toxicity.csv'"):
        input_tables(folder, mapping)


# ----------------------------------------------------------------------------- SPSS and Stata


def test_an_spss_file_has_its_value_labels_applied_and_user_missing_codes_emptied(tmp_path: Path) -> None:
    """Numeric codes with labels become the labels; a user-missing code (9 = not assessed) becomes empty."""
    import pyreadstat

    frame = pd.DataFrame({"Patient": ["H-01", "H-02", "H-03"], "Sex": [1.0, 2.0, 1.0], "Grade": [3.0, 9.0, 2.0],
                          "NLR": [2.75, np.nan, 3.5], "FirstAICE": [dt.date(2019, 3, 4), dt.date(2020, 1, 15),
                                                                    dt.date(2021, 6, 1)]})
    pyreadstat.write_sav(frame, tmp_path / "export.sav",
                         variable_value_labels={"Sex": {1.0: "male", 2.0: "female"},
                                                "Grade": {2.0: "G2", 3.0: "G3", 9.0: "not assessed"}},
                         missing_ranges={"Grade": [9.0]})
    cohort = input_tables(tmp_path / "export.sav")[COHORT_FILE]
    assert cohort["Sex"].tolist() == ["male", "female", "male"]
    assert cohort["Grade"][0] == "G3" and pd.isna(cohort["Grade"][1])
    assert cohort["NLR"][0] == "2.75" and pd.isna(cohort["NLR"][1])
    assert cohort["FirstAICE"].tolist() == ["2019-03-04", "2020-01-15", "2021-06-01"]


def test_a_stata_file_has_its_value_labels_applied(tmp_path: Path) -> None:
    """A Stata .dta file with a labelled variable gives the labels."""
    import pyreadstat

    frame = pd.DataFrame({"patient": ["H-01", "H-02"], "stage": [3, 4]})
    pyreadstat.write_dta(frame, tmp_path / "export.dta", variable_value_labels={"stage": {3: "III", 4: "IV"}})
    assert input_tables(tmp_path / "export.dta")[COHORT_FILE]["stage"].tolist() == ["III", "IV"]


def test_a_renamed_workbook_and_an_old_excel_file_are_refused_with_the_reason(tmp_path: Path) -> None:
    """An .xlsx saved under .csv and an .xls file are named for what they are."""
    hospital_workbook(tmp_path / "export.xlsx")
    (tmp_path / "renamed.csv").write_bytes((tmp_path / "export.xlsx").read_bytes())
    with pytest.raises(DataValidationError, match="looks like an Excel .xlsx workbook"):
        input_tables(tmp_path / "renamed.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    with pytest.raises(DataValidationError, match="Excel 97-2003 workbook: save it as .xlsx"):
        input_tables(tmp_path / "old.xls")


def test_cells_are_written_as_a_csv_holds_them() -> None:
    """Whole numbers without '.0', other floats exactly, dates in ISO 8601, empty as None."""
    assert [cell_text(value) for value in (3.0, 2.75, 1e-7, 7, np.int64(4), np.nan, None, "  x ", True,
                                           dt.datetime(2020, 2, 29), dt.date(2021, 1, 2))] == \
        ["3", "2.75", "1e-07", "7", "4", None, None, "x", "TRUE", "2020-02-29", "2021-01-02"]


# ----------------------------------------------------------------------------- dates


def dated(rows: list[tuple]) -> pd.DataFrame:
    """Return a cohort frame of text cells: id, start, progression, death, last contact."""
    return pd.DataFrame(rows, columns=["patient_id", "Start", "Progression", "Death", "Last"], dtype=object)


SPEC = DatesSpec(start="Start", last_contact="Last", death="Death", progression="Progression", format="%d/%m/%Y")


def test_survival_times_follow_the_date_rules() -> None:
    """OS to death else last contact; PFS to the earlier of progression and death else last contact;
    months = days / 30.4375."""
    cohort = dated([
        ("A", "01/01/2020", "01/07/2020", "01/01/2021", "01/01/2021"),  # progressed, then died
        ("B", "01/01/2020", None, "15/03/2020", "15/03/2020"),          # died without progression
        ("C", "01/01/2020", "2020-04-01", None, "01/01/2022"),          # progressed, alive (an ISO date too)
        ("D", "01/01/2020", None, None, "31/12/2020"),                  # alive without progression
    ])
    result, findings = survival_from_dates(cohort, SPEC)
    assert findings == []
    days = {"A": (366, 182), "B": (74, 74), "C": (731, 91), "D": (365, 365)}
    for index, (patient, (os_days, pfs_days)) in enumerate(days.items()):
        assert float(result.at[index, "os_months"]) == pytest.approx(os_days / 30.4375, abs=1e-12), patient
        assert float(result.at[index, "pfs_months"]) == pytest.approx(pfs_days / 30.4375, abs=1e-12), patient
    assert result["os_event"].tolist() == ["1", "1", "0", "0"]
    assert result["pfs_event"].tolist() == ["1", "1", "1", "0"]
    assert DAYS_PER_MONTH == 30.4375


def test_dates_out_of_order_and_after_the_cutoff_are_listed_with_their_rows() -> None:
    """Every date problem at once, with column, row, patient and the values."""
    cohort = dated([
        ("A", "01/01/2020", "01/07/2021", "01/01/2021", "01/01/2021"),  # progression after death
        ("B", "01/01/2020", None, "15/03/2019", "15/03/2019"),          # death before first AICE
        ("C", "01/01/2020", None, "01/09/2024", "01/09/2024"),          # death after the cutoff
        ("D", "01/01/2020", None, None, None),                          # no end of follow-up
        ("E", "1 Jan 2020", None, None, "01/01/2021"),                  # an unreadable date
        ("F", "01/01/2020", None, None, "01/01/2025"),                  # alive beyond the cutoff: censored there
    ])
    spec = DatesSpec("Start", "Last", "Death", "Progression", "%d/%m/%Y", "2024-06-30")
    result, findings = survival_from_dates(cohort, spec)
    text = "\n".join(map(str, findings))
    assert "columns 'Progression', 'Death', row 1 (patient A): the date of progression is after the date of death" in text
    assert "row 2 (patient B): the date of death is before the date of first AICE" in text
    assert "column 'Death', row 3 (patient C): the date of death is after the data cutoff 2024-06-30" in text
    assert "column 'Last', row 4 (patient D): neither a date of death nor a date of last contact" in text
    assert "column 'Start', row 5 (patient E): is not a date; expected dates written as '%d/%m/%Y', found '1 Jan 2020'" in text
    assert float(result.at[5, "os_months"]) == pytest.approx((dt.date(2024, 6, 30) - dt.date(2020, 1, 1)).days / 30.4375)


def test_mapped_status_columns_must_agree_with_the_dates(tmp_path: Path) -> None:
    """A vital status saying alive beside a date of death is listed; agreeing ones pass."""
    cohort = dated([("A", "01/01/2020", None, "01/01/2021", "01/01/2021"), ("B", "01/01/2020", None, None, "01/06/2021")])
    cohort["os_event"] = ["0", "0"]
    _, findings = survival_from_dates(cohort, SPEC)
    assert [str(finding) for finding in findings] == [
        "aice_cohort.csv, column 'os_event', row 1 (patient A): disagrees with the dates, found os_event '0' but "
        "a date of death"]
    cohort["os_event"] = ["1", "0"]
    assert survival_from_dates(cohort, SPEC)[1] == []


def test_the_dates_block_runs_after_the_mapping_and_names_an_absent_column(tmp_path: Path) -> None:
    """Through the mapping file: codes recoded first, then the dates give the times; a wrong name is a finding."""
    path = tmp_path / "export.csv"
    path.write_text("Patient;Vital;First AICE;Death;Last seen\nH-01;dead;2020-01-01;2021-01-01;2021-01-01\n"
                    "H-02;alive;2020-01-01;;2020-07-01\n", encoding="utf-8")
    mapping = load_mapping(mapping_file(tmp_path, "columns: {Patient: patient_id, Vital: os_event}\n"
                                                  "values: {os_event: {dead: 1, alive: 0}}\n"
                                                  "dates: {start: First AICE, death: Death, last_contact: Last seen}\n"))
    frames = with_survival_from_dates(apply_mapping(input_tables(path, mapping), mapping), mapping)
    assert frames[COHORT_FILE]["os_event"].tolist() == ["1", "0"]
    assert float(frames[COHORT_FILE]["os_months"][1]) == pytest.approx(182 / 30.4375)
    wrong = load_mapping(mapping_file(tmp_path, "dates: {start: first aice, last_contact: Last seen}\n"))
    with pytest.raises(DataValidationError, match=r"column 'first aice', line 1: the mapping's dates: block names a "
                                                  r"column the file does not have, found 'First AICE'"):
        with_survival_from_dates(input_tables(path, wrong), wrong)


def test_a_dates_block_without_its_required_roles_is_refused(tmp_path: Path) -> None:
    """start and last_contact are required; the cutoff must be a date."""
    with pytest.raises(MappingError, match="dates: last_contact: required"):
        load_mapping(mapping_file(tmp_path, "dates: {start: First}\n"))
    with pytest.raises(MappingError, match="cutoff: '30/06/2024' is not a date"):
        load_mapping(mapping_file(tmp_path, "dates: {start: First, last_contact: Last, cutoff: 30/06/2024}\n"))


# ----------------------------------------------------------------------------- missing-value tokens


def test_missing_tokens_empty_cells_but_a_mapped_code_and_an_allowed_value_win(tmp_path: Path) -> None:
    """'NA' and 'not done' become empty; 'unknown' stays where it is an allowed value (subsequent_therapy) and
    'NE' stays where the mapping recodes it."""
    path = tmp_path / "export.csv"
    path.write_text("patient_id,nlr,grade,subsequent_therapy,best_response\n"
                    "H-01,NA,not done,unknown,NE\nH-02,2.5,G2,none,PR\n", encoding="utf-8")
    mapping = load_mapping(mapping_file(tmp_path, "missing: [NA, not done, unknown, NE]\n"
                                                  "values: {best_response: {NE: PD}}\n"))
    cohort = apply_mapping(input_tables(path, mapping), mapping)[COHORT_FILE]
    assert pd.isna(cohort["nlr"][0]) and pd.isna(cohort["grade"][0])
    assert cohort["subsequent_therapy"][0] == "unknown" and cohort["best_response"][0] == "PD"
    assert cohort["nlr"][1] == "2.5"


def test_the_template_mapping_for_dates_and_missing_values_loads() -> None:
    """data/template/mapping_dates_missing.yaml is a valid mapping with every new key."""
    from aice_helpers.contract import DATA_DIR

    mapping = load_mapping(DATA_DIR / "template" / "mapping_dates_missing.yaml")
    assert mapping.dates is not None and mapping.dates.cutoff == "2024-06-30" and "#N/A" in mapping.missing
    assert mapping.sources[COHORT_FILE] == "Patients"

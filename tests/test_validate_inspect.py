"""``aice validate`` reads what ``aice rerun`` reads, and ``aice inspect`` describes an export and drafts its mapping
(issue 12).

The fixture is an export as a hospital's own spreadsheet writes it: a European Excel CSV (semicolons, decimal
commas, a byte-order mark, CRLF) with its own column names, its own codes (M/F, yes/no, "Pelvis"), dates
written day first, "NA" for values not measured, and a workbook with the AICE sessions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from aice_helpers.cli import main
from aice_helpers.contract import COHORT_FILE, PROCEDURES_FILE
from aice_helpers.inspection import (
    TODO,
    cell_kind,
    draft_mapping,
    guessed_column,
    guessed_date_role,
    source_profiles,
)
from aice_helpers.mapping import load_mapping

HEADER = ["Patient number", "Age", "Gender", "ECOG PS", "Site", "Histology", "Max. diameter (cm)", "Metastasis",
          "Grade", "Stage", "NLR", "mGPS", "Modality", "Prior lines", "Cycles", "Post-op regimens",
          "Best response", "Subsequent therapy", "Date of first AICE", "Date of death", "Date of progression",
          "Date of last contact"]
SITES = {"head_neck": "Head/neck", "pleural_cavity": "Thorax", "abdominal_cavity": "Abdomen",
         "pelvic_cavity": "Pelvis", "limbs_hips": "Limbs"}
HISTOLOGIES = ("Leiomyosarcoma", "Liposarcoma", "Synovial sarcoma", "Undifferentiated pleomorphic sarcoma")
MAPPING = """\
columns:
  Patient number: patient_id
  Age: age_years
  Gender: sex
  ECOG PS: ecog
  Site: tumor_site
  Histology: histology
  Max. diameter (cm): max_diameter_cm
  Metastasis: distant_metastasis
  Grade: grade
  Stage: stage
  NLR: nlr
  mGPS: mgps
  Modality: aice_modality
  Prior lines: prior_systemic_lines
  Cycles: aice_cycles
  Post-op regimens: postop_regimens
  Best response: best_response
  Subsequent therapy: subsequent_therapy
values:
  sex: {M: male, F: female}
  distant_metastasis: {yes: "1", no: "0"}
  tumor_site: {Head/neck: head_neck, Thorax: pleural_cavity, Abdomen: abdominal_cavity, Pelvis: pelvic_cavity,
               Limbs: limbs_hips}
  aice_modality: {AI: infusion, AI+E: infusion_embolization}
missing: [NA]
dates:
  start: Date of first AICE
  death: Date of death
  progression: Date of progression
  last_contact: Date of last contact
  format: "%d/%m/%Y"
"""


def hospital_rows(patients: int = 40, seed: int = 12) -> list[list[str]]:
    """Return the rows of a hospital's patient sheet, deterministic from ``seed``: dates day first, decimal
    commas, the hospital's own codes, NLR "NA" for a few patients."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(1, patients + 1):
        start = dt.date(2016, 1, 4) + dt.timedelta(days=int(rng.integers(0, 1500)))
        follow = int(rng.integers(60, 1800))
        progression = start + dt.timedelta(days=int(rng.integers(30, follow))) if rng.random() < 0.7 else None
        death = start + dt.timedelta(days=follow) if rng.random() < 0.6 else None
        last = death or start + dt.timedelta(days=follow)
        if progression is not None and progression > last:
            progression = None
        rows.append([
            f"H{number:03d}", str(int(rng.integers(25, 80))), "MF"[number % 2], str(int(rng.integers(0, 3))),
            list(SITES.values())[number % 5], HISTOLOGIES[number % 4], f"{rng.uniform(2, 25):.1f}".replace(".", ","),
            "yes" if rng.random() < 0.4 else "no", ("G1", "G2", "G3")[number % 3], ("III", "IV")[number % 2],
            "NA" if number % 9 == 0 else f"{rng.uniform(1, 9):.2f}".replace(".", ","), str(number % 3),
            ("AI", "AI+E")[number % 2], str(int(rng.integers(0, 4))), str(int(rng.integers(1, 6))),
            str(int(rng.integers(0, 4))), ("CR", "PR", "SD", "PD", "SD", "PR")[number % 6],
            ("chemotherapy", "targeted", "none", "tcm")[number % 4], start.strftime("%d/%m/%Y"),
            death.strftime("%d/%m/%Y") if death else "", progression.strftime("%d/%m/%Y") if progression else "",
            last.strftime("%d/%m/%Y"),
        ])
    return rows


def european_export(path: Path, rows: list[list[str]] | None = None) -> Path:
    """Write the patients as Excel's "CSV (semicolon)" on a European Windows: BOM, semicolons, CRLF."""
    lines = [";".join(HEADER)] + [";".join(row) for row in (rows or hospital_rows())]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def sessions_workbook(path: Path, rows: list[list[str]]) -> Path:
    """Write a workbook with one sheet of AICE sessions (one row per cycle, typed cells)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "AICE sessions"
    sheet.append(["Patient", "Cycle", "Embolisation"])
    for row in rows:
        for cycle in range(1, int(row[14]) + 1):
            sheet.append([row[0], cycle, "yes" if row[12] == "AI+E" else "no"])
    book.save(path)
    return path


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    """A folder with the European CSV of patients and a workbook of sessions."""
    folder = tmp_path / "export"
    folder.mkdir()
    rows = hospital_rows()
    european_export(folder / "patients_2024.csv", rows)
    sessions_workbook(folder / "sessions.xlsx", rows)
    return folder


# ----------------------------------------------------------------------------- validate


def test_validate_reads_a_european_export_with_its_mapping(export: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The semicolon, decimal-comma, day-first export that reruns also validates, and says which chapters run."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING + "files:\n  aice_cohort.csv: {source: patients_2024.csv}\n", encoding="utf-8")
    assert main(["validate", "--data", str(export / "patients_2024.csv"), "--mapping", str(mapping)]) == 0
    assert "valid (40 patients)" in capsys.readouterr().out  # the single file is the cohort
    assert main(["validate", "--data", str(export), "--mapping", str(mapping)]) == 0
    out = capsys.readouterr().out
    assert "valid (40 patients)" in out and "02_survival" in out and "04_cox" in out
    assert "06_safety" in out  # runs on the cohort alone (its session tables left out)


def test_validate_without_the_mapping_names_every_problem(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the mapping, the same export is refused (no patient_id, no survival), without a traceback."""
    (export / "sessions.xlsx").unlink()
    (export / "patients_2024.csv").rename(export / "aice_cohort.csv")
    assert main(["validate", "--data", str(export)]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and "'patient_id'" in error and "'os_months'" in error


def test_validate_refuses_a_wrong_value_as_the_rerun_does(export: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A death before the first AICE: validate names the file, column and row, as rerun would."""
    rows = hospital_rows()
    rows[4][19] = "01/01/2010"
    european_export(export / "patients_2024.csv", rows)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING + "files:\n  aice_cohort.csv: {source: patients_2024.csv}\n", encoding="utf-8")
    assert main(["validate", "--data", str(export), "--mapping", str(mapping)]) == 1
    error = capsys.readouterr().err
    assert "row 5" in error and "before the date of first AICE" in error and "'Date of death'" in error


# ----------------------------------------------------------------------------- inspect


def test_types_are_detected_from_the_cells() -> None:
    """Whole numbers, decimals, ISO and day-first dates, text; an all-empty column is 'empty'."""
    import pandas as pd

    assert cell_kind(pd.Series(["1", "2", None]))[0] == "integer"
    assert cell_kind(pd.Series(["1.5", "2", None]))[0] == "number"
    assert cell_kind(pd.Series(["2020-01-31", None])) == ("date", None)
    assert cell_kind(pd.Series(["31/01/2020", "01/02/2020"])) == ("date", "%d/%m/%Y")
    assert cell_kind(pd.Series(["01/31/2020", "02/01/2020"])) == ("date", "%m/%d/%Y")
    assert cell_kind(pd.Series(["01/02/2020"])) == ("date", "%d/%m/%Y?")  # ambiguous: flagged for the user
    assert cell_kind(pd.Series(["M", "F"]))[0] == "text"
    assert cell_kind(pd.Series([None, None], dtype=object))[0] == "empty"


def test_names_are_guessed_without_case_spacing_or_punctuation() -> None:
    """Contract names and common synonyms, per file; dates to their roles."""
    assert guessed_column("Gender", COHORT_FILE) == "sex"
    assert guessed_column("ECOG PS", COHORT_FILE) == "ecog"
    assert guessed_column("  AGE ", COHORT_FILE) == "age_years"
    assert guessed_column("Max. diameter (cm)", COHORT_FILE) == "max_diameter_cm"
    assert guessed_column("Histology", COHORT_FILE) == "histology"
    assert guessed_column("Grade", COHORT_FILE) == "grade"
    assert guessed_column("Grade", "aice_adverse_events.csv") == "sir_grade"
    assert guessed_column("Embolisation", PROCEDURES_FILE) == "embolization"
    assert guessed_column("Favourite colour", COHORT_FILE) is None
    assert guessed_date_role("Date of death") == "death"
    assert guessed_date_role("Last follow-up") == "last_contact"


def test_inspect_prints_the_columns_and_writes_a_draft_that_loads(export: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Every file and sheet listed with types, missing counts and codes; the draft maps the names, stubs the
    codes, finds the dates and their format, and is never written over an existing file without --force."""
    before = {path.name: path.read_bytes() for path in export.iterdir()}
    draft = tmp_path / "draft.yaml"
    assert main(["inspect", "--data", str(export), "--out", str(draft)]) == 0
    out = capsys.readouterr().out
    assert "patients_2024.csv: 40 rows, 22 columns" in out
    assert "sessions.xlsx, sheet 'AICE sessions'" in out
    nlr_line = next(line for line in out.splitlines() if line.strip().startswith("NLR"))
    assert "number" in nlr_line and "missing    0 (+4: 'NA')" in nlr_line  # "NA" is no number, and no empty cell
    assert "'M', 'F'" in out or "'F', 'M'" in out
    assert "date (%d/%m/%Y)" in out
    document = yaml.load(draft.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    cohort = document["files"][COHORT_FILE]
    assert cohort["source"] == "patients_2024.csv"
    assert cohort["columns"]["Gender"] == "sex" and cohort["columns"]["Patient number"] == "patient_id"
    assert cohort["values"]["sex"] == {"M": "male", "F": "female"}
    assert cohort["values"]["distant_metastasis"] == {"yes": "1", "no": "0"}
    assert cohort["values"]["tumor_site"]["Pelvis"] == TODO
    assert document["files"][PROCEDURES_FILE]["source"] == "sessions.xlsx:AICE sessions"
    assert document["missing"] == ["NA"]
    assert document["dates"] == {"start": "Date of first AICE", "death": "Date of death",
                                 "progression": "Date of progression", "last_contact": "Date of last contact",
                                 "format": "%d/%m/%Y"}
    load_mapping(draft)  # the draft is a mapping file as it stands
    text = draft.read_text(encoding="utf-8")
    assert main(["inspect", "--data", str(export), "--out", str(draft)]) == 1
    assert "exists" in capsys.readouterr().err and draft.read_text(encoding="utf-8") == text
    assert main(["inspect", "--data", str(export), "--out", str(draft), "--force"]) == 0
    assert main(["inspect", "--data", str(export), "--out", str(export / "patients_2024.csv"), "--force"]) == 1
    assert {path.name: path.read_bytes() for path in export.iterdir()} == before  # inputs only read


def test_the_draft_with_its_todos_filled_validates(export: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Filling in the site codes the draft could not guess is all the draft needs for the export to validate."""
    text = draft_mapping(source_profiles(export), export)
    for code, site in {"Head/neck": "head_neck", "Thorax": "pleural_cavity", "Abdomen": "abdominal_cavity",
                       "Pelvis": "pelvic_cavity", "Limbs": "limbs_hips"}.items():
        text = text.replace(f'"{code}": {TODO}', f'"{code}": {site}')
    text = text.replace(f'"AI": {TODO}', '"AI": infusion').replace(f'"AI+E": {TODO}', '"AI+E": infusion_embolization')
    assert TODO + "  #" not in text, text
    mapping = tmp_path / "filled.yaml"
    mapping.write_text(text, encoding="utf-8")
    assert main(["validate", "--data", str(export), "--mapping", str(mapping)]) == 0, capsys.readouterr().err
    assert "valid (40 patients)" in capsys.readouterr().out


def test_user_text_is_escaped_on_the_terminal_and_in_the_draft(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A code holding an escape sequence is printed escaped, and written to the draft as a YAML escape."""
    path = tmp_path / "patients.csv"
    path.write_text("Patient,Sex\nP1,\x1b[2Jm\nP2,F\n", encoding="utf-8")
    assert main(["inspect", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2Jm" in out
    draft = draft_mapping(source_profiles(path), path)
    assert '"\\u001b[2Jm": TODO' in draft


# ----------------------------------------------------------------------------- histology


def contract_frame(export: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Return the export read and mapped onto the contract (text cells), survival computed from its dates."""
    from aice_helpers.ingest import input_tables, with_survival_from_dates
    from aice_helpers.mapping import apply_mapping

    mapping_path = tmp_path / "contract_mapping.yaml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    mapping = load_mapping(mapping_path)
    frames = input_tables(export / "patients_2024.csv", mapping)
    cohort = with_survival_from_dates(apply_mapping(frames, mapping), mapping)[COHORT_FILE]
    return cohort.drop(columns=[column for column in cohort if column.startswith("Date")])


def test_numeric_histology_codes_from_spss_are_refused_with_their_rows(export: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """An SPSS file whose histology holds the codes 1.0 ... 4.0 (value labels never set): refused, naming the file,
    column and rows; with value labels the same file validates."""
    import pyreadstat

    cohort = contract_frame(export, tmp_path)
    codes = {name: float(code) for code, name in enumerate(HISTOLOGIES, start=1)}
    numeric = cohort.assign(histology=cohort["histology"].map(codes), nlr=cohort["nlr"].astype(float))
    for column in ("age_years", "max_diameter_cm", "os_months", "pfs_months"):
        numeric[column] = numeric[column].astype(float)
    path = tmp_path / "cohort.sav"
    pyreadstat.write_sav(numeric, str(path))
    assert main(["validate", "--data", str(path)]) == 1
    error = capsys.readouterr().err
    assert "aice_cohort.csv, column 'histology', rows 1, 2, 3, 4, 5 and 35 more" in error, error
    assert "must be a name, not a number" in error and "found '2', '3', '4' and '1'" in error
    pyreadstat.write_sav(numeric, str(path), variable_value_labels={"histology": {v: k for k, v in codes.items()}})
    assert main(["validate", "--data", str(path)]) == 0, capsys.readouterr().err
    assert "01_cohort" in capsys.readouterr().out  # Table 1 and Table 2 from the cohort file alone


def test_spreadsheet_errors_in_histology_are_refused_unless_listed_as_missing(export: Path, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """#N/A and #REF! left by a formula are no subtype: refused with their rows; "#N/A" listed under missing: is
    an unknown histology."""
    from openpyxl import Workbook

    cohort = contract_frame(export, tmp_path)
    cohort.loc[2, "histology"], cohort.loc[6, "histology"] = "#N/A", "#REF!"
    book = Workbook()
    book.active.title = "aice_cohort"
    book.active.append(list(cohort.columns))
    for row in cohort.itertuples(index=False):
        book.active.append([None if value is None or value != value else value for value in row])
    book.save(tmp_path / "cohort.xlsx")
    assert main(["validate", "--data", str(tmp_path / "cohort.xlsx")]) == 1
    error = capsys.readouterr().err
    assert "column 'histology', rows 3 and 7" in error and "spreadsheet error value" in error, error
    cohort.loc[6, "histology"] = "Leiomyosarcoma"
    book.active.cell(row=8, column=list(cohort.columns).index("histology") + 1, value="Leiomyosarcoma")
    book.save(tmp_path / "cohort.xlsx")
    mapping = tmp_path / "missing.yaml"
    mapping.write_text('missing: ["#N/A"]\n', encoding="utf-8")
    assert main(["validate", "--data", str(tmp_path / "cohort.xlsx"), "--mapping", str(mapping)]) == 0, (
        capsys.readouterr().err)

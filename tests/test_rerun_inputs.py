"""``aice rerun`` on what a hospital exports: one cohort given four ways gives the same answers, and the book it
writes has the default build's figures.

The same 60 patients (some covariates not known) are written (a) as a clean CSV in months with contract names,
(b) as a semicolon CSV with decimal commas, dates and missing-value tokens, (c) as an .xlsx workbook with date
cells and (d) as an SPSS .sav file with value labels and a user-missing code; (b)-(d) use their own column names
through one mapping. Each input goes through the rerun's reading and validation (in process) and the helpers'
median OS, log-rank P and Cox hazard ratios are compared; one rerun book is built from (c).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from aice_helpers import study
from aice_helpers.analyses import survival as survival_analyses
from aice_helpers.book import rerun
from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    PROCEDURES_FILE,
    REPO_DIR,
)
from aice_helpers.data import load_dataset
from aice_helpers.ingest import DAYS_PER_MONTH
from aice_helpers.pages import cox_chapter
from aice_helpers.stats import survival
from aice_helpers.synthetic.scale import scaled_cohort

N_PATIENTS = 60
# The hospital's own names for the contract columns (the rest keep the contract's names).
OWN_NAMES = {"patient_id": "Patient", "age_years": "Age", "sex": "Sex", "grade": "Grade", "nlr": "NLR",
             "ecog": "ECOG", "histology": "Histology"}
DATE_COLUMNS = ("First AICE", "Progression", "Death", "Last contact")
MAPPING = """\
columns: {Patient: patient_id, Age: age_years, Sex: sex, Grade: grade, NLR: nlr, ECOG: ecog, Histology: histology}
values:
  sex: {M: male, F: female}
missing: [NA, not done, "#N/A"]
dates:
  start: First AICE
  progression: Progression
  death: Death
  last_contact: Last contact
  format: "%d.%m.%Y"
files:
  aice_cohort.csv: {source: Patients}
  aice_procedures.csv: {source: Sessions}
  aice_adverse_events.csv: {source: Toxicity}
"""

# Figures drawing one mark per patient: a rerun leaves them out on purpose (aggregates only).
PER_PATIENT_FIGURE_CALLS = ("waterfall_plot(", "swimmer_plot(")
PAPER_ONLY_FIGURE_CALLS = ("patient_flow(",)  # drawn from the paper's own criteria: left out of a rerun
IMAGE_TYPES = ("image/png", "image/svg+xml")
IMAGE = re.compile(r"<img\b")


def rerun_command(*arguments: str) -> subprocess.CompletedProcess:
    """Run ``python -m aice_helpers rerun`` as a user would (with a non-interactive backend set, as on a server)."""
    environment = dict(os.environ, PYTHONPATH=str(REPO_DIR), MPLBACKEND="agg")
    return subprocess.run([sys.executable, "-m", "aice_helpers", "rerun", *arguments], capture_output=True,
                          text=True, env=environment, cwd=REPO_DIR)


def stored_figures(name: str) -> int:
    """Return the figures a chapter shows in the default build (its stored outputs), per-patient ones and those
    drawn from the paper's own criteria not counted."""
    notebook = nbformat.read(REPO_DIR / "notebooks" / f"{name}.ipynb", as_version=4)
    return sum(1 for cell in notebook.cells if cell.cell_type == "code"
               and not any(call in cell.source for call in PER_PATIENT_FIGURE_CALLS + PAPER_ONLY_FIGURE_CALLS)
               for output in cell.get("outputs", []) if any(kind in output.get("data", {}) for kind in IMAGE_TYPES))


# ----------------------------------------------------------------------------- one cohort, four inputs


def hospital_cohort() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Return the contract tables in months (covariates partly missing) and the same patients' dates.

    Times are whole days from first AICE, so that months = days / 30.4375 hold exactly in both forms.
    """
    tables = scaled_cohort(N_PATIENTS, seed=12)
    cohort = tables[COHORT_FILE].copy()
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 1500, len(cohort)), unit="D")
    os_days = np.maximum(1, np.round(cohort["os_months"] * DAYS_PER_MONTH)).astype(int)
    pfs_days = np.minimum(np.maximum(1, np.round(cohort["pfs_months"] * DAYS_PER_MONTH)).astype(int), os_days)
    died = cohort["os_event"] == 1
    progressed = (cohort["pfs_event"] == 1) & ~(died & (pfs_days == os_days))
    pfs_days = np.where((cohort["pfs_event"] == 1), pfs_days, os_days)  # PFS censored at last contact
    dates = pd.DataFrame({
        "First AICE": start,
        "Progression": (start + pd.to_timedelta(pfs_days, unit="D")).where(progressed),
        "Death": (start + pd.to_timedelta(os_days, unit="D")).where(died),
        "Last contact": start + pd.to_timedelta(os_days, unit="D"),
    })
    cohort["os_months"], cohort["pfs_months"] = os_days / DAYS_PER_MONTH, pfs_days / DAYS_PER_MONTH
    cohort["pfs_event"] = (progressed | died).astype(int)
    cohort = cohort.astype({"nlr": float, "ecog": float, "age_years": float})
    for column, share in (("nlr", 0.12), ("grade", 0.08), ("ecog", 0.05)):
        cohort.loc[rng.random(len(cohort)) < share, column] = np.nan
    return {**tables, COHORT_FILE: cohort}, dates


def months_folder(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """(a) The clean form: three CSV files in months, contract names, empty cells where a value is not known."""
    folder.mkdir(parents=True)
    for name, table in tables.items():
        table[[column.name for column in CONTRACT[name]]].to_csv(folder / name, index=False, float_format="%.17g")
    return folder


def own_cohort(tables: dict[str, pd.DataFrame], dates: pd.DataFrame) -> pd.DataFrame:
    """The cohort as the hospital keeps it: its own names, sex coded M/F, dates instead of times and events."""
    cohort = tables[COHORT_FILE].drop(columns=["os_months", "os_event", "pfs_months", "pfs_event"])
    cohort = cohort[[column.name for column in CONTRACT[COHORT_FILE] if column.name in cohort]]
    cohort = cohort.assign(sex=cohort["sex"].map({"male": "M", "female": "F"})).rename(columns=OWN_NAMES)
    return pd.concat([cohort, dates], axis=1)


def european_folder(tables: dict[str, pd.DataFrame], dates: pd.DataFrame, folder: Path) -> Path:
    """(b) Excel's European CSV: BOM, semicolons, decimal commas, CRLF, dd.mm.yyyy dates, NA / not done tokens."""
    folder.mkdir(parents=True)
    cohort = own_cohort(tables, dates)
    for column in DATE_COLUMNS:
        cohort[column] = cohort[column].dt.strftime("%d.%m.%Y")
    cohort["NLR"] = cohort["NLR"].map(lambda value: "NA" if pd.isna(value) else repr(value).replace(".", ","))
    cohort["Grade"] = cohort["Grade"].fillna("not done")
    for name, frame in (("Patients.csv", cohort), ("Sessions.csv", tables[PROCEDURES_FILE]),
                        ("Toxicity.csv", tables[ADVERSE_EVENTS_FILE])):
        text = frame.to_csv(sep=";", decimal=",", index=False, lineterminator="\r\n", float_format="%.17g")
        (folder / name).write_bytes(("\ufeff" + text).encode("utf-8"))
    return folder


def workbook(tables: dict[str, pd.DataFrame], dates: pd.DataFrame, path: Path) -> Path:
    """(c) One .xlsx workbook written with openpyxl: date cells, empty cells and #N/A where a value is not known."""
    from openpyxl import Workbook

    book = Workbook()
    cohort = own_cohort(tables, dates)
    for index, (title, frame) in enumerate((("Patients", cohort), ("Sessions", tables[PROCEDURES_FILE]),
                                            ("Toxicity", tables[ADVERSE_EVENTS_FILE]))):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([None if pd.isna(value) else value.to_pydatetime() if isinstance(value, pd.Timestamp)
                          else value.item() if isinstance(value, np.generic) else value for value in row])
    for row in range(2, len(cohort) + 2):  # an NLR Excel could not compute shows as #N/A
        cell = book["Patients"].cell(row=row, column=list(cohort.columns).index("NLR") + 1)
        if cell.value is None:
            cell.value = "#N/A"
    book.save(path)
    return path


def spss_folder(tables: dict[str, pd.DataFrame], dates: pd.DataFrame, folder: Path) -> Path:
    """(d) The cohort as SPSS keeps it (.sav: numeric codes with value labels, 9 = not assessed as user-missing,
    date variables), the two other files as CSV."""
    import pyreadstat

    folder.mkdir(parents=True)
    cohort = own_cohort(tables, dates)
    cohort["Sex"] = cohort["Sex"].map({"M": 1.0, "F": 2.0})
    cohort["Grade"] = cohort["Grade"].map({"G1": 1.0, "G2": 2.0, "G3": 3.0}).fillna(9.0)
    for column in DATE_COLUMNS:
        cohort[column] = cohort[column].dt.date
    cohort = cohort.rename(columns={column: column.replace(" ", "_") for column in cohort.columns})
    pyreadstat.write_sav(cohort, folder / "Patients.sav",
                         variable_value_labels={"Sex": {1.0: "M", 2.0: "F"},
                                                "Grade": {1.0: "G1", 2.0: "G2", 3.0: "G3", 9.0: "not assessed"}},
                         missing_ranges={"Grade": [9.0]})
    tables[PROCEDURES_FILE].to_csv(folder / "Sessions.csv", index=False)
    tables[ADVERSE_EVENTS_FILE].to_csv(folder / "Toxicity.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path | None]]:
    """The four inputs (data, mapping) of the same cohort."""
    base = tmp_path_factory.mktemp("inputs")
    tables, dates = hospital_cohort()
    mapping = base / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    spss_mapping = base / "spss_mapping.yaml"
    spss_mapping.write_text(MAPPING.replace("First AICE", "First_AICE").replace("Last contact", "Last_contact")
                            .replace("{source: Patients}", "{source: Patients.sav}")
                            .replace("{source: Sessions}", "{source: Sessions.csv}")
                            .replace("{source: Toxicity}", "{source: Toxicity.csv}"), encoding="utf-8")
    return {
        "months CSV": (months_folder(tables, base / "months"), None),
        "dates CSV": (european_folder(tables, dates, base / "european"), mapping),
        "xlsx": (workbook(tables, dates, base / "export.xlsx"), mapping),
        "sav": (spss_folder(tables, dates, base / "spss"), spss_mapping),
    }


def answers(data: Path, mapping: Path | None, private: Path) -> dict[str, object]:
    """Return the validated cohort and its median OS, log-rank P (OS by grade) and the Table 3 model's HRs."""
    prepared = rerun.prepared_data(data, mapping, None, private)
    cohort = load_dataset(prepared.data_dir, required=tuple(rerun.union_columns(prepared.plan)),
                          required_columns=rerun.union_columns(prepared.plan)).cohort
    grade = study.FACTORS_BY_KEY["grade"]
    frame = survival_analyses.factor_frame(cohort, "os", grade).dropna()
    model = cox_chapter.paper_model(cohort, "os")
    return {"cohort": cohort, "median": survival.median_spss(cohort["os_months"], cohort["os_event"]).estimate,
            "logrank": survival.logrank(frame["time"], frame["event"], frame["group"].astype(str)).p,
            "hr": model.table.set_index("label")["hr"], "n": model.n}


def test_one_cohort_given_four_ways_gives_the_same_answers(inputs: dict, tmp_path: Path) -> None:
    """Months CSV, dates CSV with tokens, .xlsx and .sav: the same validated cohort, median OS, log-rank P and
    Cox hazard ratios (complete-case: the same patients left out)."""
    results = {label: answers(data, mapping, tmp_path / label.replace(" ", "_"))
               for label, (data, mapping) in inputs.items()}
    reference = results.pop("months CSV")
    assert reference["cohort"]["nlr"].isna().sum() > 0 and reference["n"] < N_PATIENTS
    for label, result in results.items():
        pd.testing.assert_frame_equal(result["cohort"], reference["cohort"], check_exact=False, rtol=1e-12,
                                      obj=label)
        assert result["median"] == pytest.approx(reference["median"], abs=1e-9), label
        assert result["logrank"] == pytest.approx(reference["logrank"], abs=1e-9), label
        pd.testing.assert_series_equal(result["hr"], reference["hr"], rtol=1e-9, obj=label)
        assert result["n"] == reference["n"], label


@pytest.fixture(scope="module")
def built(inputs: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The workbook (dates, missing values, three sheets) rerun into a book."""
    data, mapping = inputs["xlsx"]
    out = tmp_path_factory.mktemp("built") / "book"
    process = rerun_command("--data", str(data), "--out", str(out), "--mapping", str(mapping))
    return {"out": out, "process": process}


@pytest.mark.parametrize("name", list(rerun.CHAPTER_REQUIREMENTS))
def test_every_results_chapter_of_a_rerun_shows_the_default_builds_figures(built: dict, name: str) -> None:
    """Each chapter's page holds as many images as the default build's (0 only where all are per-patient)."""
    assert built["process"].returncode == 0, built["process"].stderr[-3000:]
    html = (built["out"] / "_build" / "html" / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
    expected = stored_figures(name)
    assert len(IMAGE.findall(html)) == expected, name
    if name != "05_response":  # the response chapter's two figures are per-patient (waterfall, swimmer)
        assert expected > 0, name


def test_the_rerun_book_counts_missing_values_and_leaves_them_out_of_the_models(built: dict) -> None:
    """Table 1 has a Missing row; the Cox chapter says how many patients its complete-case models left out."""
    assert built["process"].returncode == 0, built["process"].stderr[-3000:]
    html = (built["out"] / "_build" / "html" / "notebooks" / "01_cohort.html").read_text(encoding="utf-8")
    assert ">Missing<" in html
    cox = (built["out"] / "_build" / "html" / "notebooks" / "04_cox.html").read_text(encoding="utf-8")
    assert "is a complete-case analysis" in cox and f"of {N_PATIENTS} with at least one missing" in cox

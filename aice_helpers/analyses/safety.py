"""Adverse events on any cohort, graded by the SIR classification: worst grades per patient and per session, Table 5 counts, the grade summary."""

from __future__ import annotations

import pandas as pd

from aice_helpers.contract import (
    ADVERSE_EVENT_COLUMNS,
    AE_EVENTS,
    SIR_GRADES,
    contract_column,
)

__all__ = [
    "EVENT_DISPLAY_NAMES",
    "GRADE_C",
    "GRADE_D",
    "COUNT",
    "PERCENT",
    "PATIENT_ID",
    "CYCLE",
    "EVENT",
    "SIR_GRADE",
    "SESSION_KEYS",
    "ALWAYS_SHOWN_GRADES",
    "MINOR_GRADES",
    "SEVERE_GRADES",
    "TOTAL",
    "SIR_GRADE_ORDER",
    "GRADE_SUMMARY_ROWS",
    "graded_events",
    "worst_grade_by",
    "worst_grade_per_patient",
    "worst_grade_per_session",
    "shown_grades",
    "grade_counts",
    "count_percent_table",
    "table5_per_patient",
    "table5_per_procedure",
    "units_with_grades",
    "grade_summary",
    "worst_grade_counts",
]

# Display names in the order of AE_EVENTS (pyrexia, pain, nausea/vomiting, liver, renal, marrow).
EVENT_DISPLAY_NAMES: dict[str, str] = dict(zip(AE_EVENTS, (
    "Pyrexia",
    "Pain",
    "Nausea and vomiting",
    "Abnormal liver function",
    "Abnormal renal function",
    "Myelosuppression",
), strict=True))
GRADE_C, GRADE_D = SIR_GRADES[2], SIR_GRADES[3]
COUNT, PERCENT = "n", "%"

PATIENT_ID = contract_column(ADVERSE_EVENT_COLUMNS, "patient_id")

CYCLE = contract_column(ADVERSE_EVENT_COLUMNS, "cycle")

EVENT = contract_column(ADVERSE_EVENT_COLUMNS, "event")

SIR_GRADE = contract_column(ADVERSE_EVENT_COLUMNS, "sir_grade")

SESSION_KEYS = (PATIENT_ID, CYCLE)

ALWAYS_SHOWN_GRADES: tuple[str, ...] = SIR_GRADES[:4]  # A-D; E and F only when present

MINOR_GRADES: tuple[str, ...] = SIR_GRADES[:2]  # A, B

SEVERE_GRADES: tuple[str, ...] = SIR_GRADES[4:]  # E, F

TOTAL = "Total"

SIR_GRADE_ORDER = pd.CategoricalDtype(list(SIR_GRADES), ordered=True)

# label -> (grades, only): a unit counts if it had any event in ``grades`` or, when ``only``, if
# every one of its events was in ``grades``.
GRADE_SUMMARY_ROWS: dict[str, tuple[tuple[str, ...], bool]] = {
    f"any grade {GRADE_C}": ((GRADE_C,), False),
    f"any grade {GRADE_D}": ((GRADE_D,), False),
    f"any grade {' or '.join(SEVERE_GRADES)}": (SEVERE_GRADES, False),
    f"only grades {'/'.join(MINOR_GRADES)}": (MINOR_GRADES, True),
}

def graded_events(adverse_events: pd.DataFrame) -> pd.DataFrame:
    """Return the contract columns with sir_grade as an ordered categorical, raising on bad values."""
    events = adverse_events[[PATIENT_ID, CYCLE, EVENT, SIR_GRADE]].copy()
    bad_events = sorted(set(events[EVENT].dropna()) - set(AE_EVENTS))
    bad_grades = sorted(set(events[SIR_GRADE].dropna()) - set(SIR_GRADES))
    if bad_events or bad_grades or events.isna().any().any():
        raise ValueError(f"unexpected events {bad_events}, grades {bad_grades}, or missing values")
    events[SIR_GRADE] = events[SIR_GRADE].astype(SIR_GRADE_ORDER)
    return events

def worst_grade_by(adverse_events: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Return one row per combination of ``keys`` with the worst SIR grade recorded."""
    events = graded_events(adverse_events)
    return events.groupby(keys, observed=True, as_index=False)[SIR_GRADE].max()

def worst_grade_per_patient(adverse_events: pd.DataFrame) -> pd.DataFrame:
    """Return one row per patient x event with the worst SIR grade (A < B < ... < F)."""
    return worst_grade_by(adverse_events, [PATIENT_ID, EVENT])

def worst_grade_per_session(adverse_events: pd.DataFrame) -> pd.DataFrame:
    """Return one row per session (patient, cycle) x event with the worst SIR grade."""
    return worst_grade_by(adverse_events, [*SESSION_KEYS, EVENT])

def shown_grades(graded: pd.DataFrame) -> list[str]:
    """Return grades A–D plus E and F when any row has them."""
    present = set(graded[SIR_GRADE].astype(str))
    return [g for g in SIR_GRADES if g in ALWAYS_SHOWN_GRADES or g in present]

def grade_counts(graded: pd.DataFrame) -> pd.DataFrame:
    """Return event x grade counts (all events in contract order, shown grades) plus Total."""
    counts = pd.crosstab(graded[EVENT], graded[SIR_GRADE].astype(str))
    counts = counts.reindex(index=list(AE_EVENTS), columns=shown_grades(graded), fill_value=0)
    counts[TOTAL] = counts.sum(axis=1)
    return counts.astype(int)

def count_percent_table(counts: pd.DataFrame, denominator: int) -> pd.DataFrame:
    """Return counts beside their percent of ``denominator``, columns (grade, n | %)."""
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    table = pd.concat({COUNT: counts, PERCENT: 100 * counts / denominator}, axis=1)
    table = table.swaplevel(axis=1)[list(counts.columns)]
    table.index = [EVENT_DISPLAY_NAMES[e] for e in table.index]
    table.index.name = "TRAE"
    return table

def table5_per_patient(adverse_events: pd.DataFrame, n_patients: int) -> pd.DataFrame:
    """Return Table 5 per patient: worst grade per patient and event, n and % of patients."""
    return count_percent_table(grade_counts(worst_grade_per_patient(adverse_events)), n_patients)

def table5_per_procedure(adverse_events: pd.DataFrame, n_procedures: int) -> pd.DataFrame:
    """Return Table 5 per procedure: every (session, event), n and % of AICE sessions."""
    return count_percent_table(grade_counts(worst_grade_per_session(adverse_events)), n_procedures)

def units_with_grades(graded: pd.DataFrame, keys: list[str], grades: tuple[str, ...],
                      only: bool = False) -> int:
    """Return how many units (groups of ``keys``) had any event in ``grades`` (all, if ``only``)."""
    in_grades = graded[SIR_GRADE].astype(str).isin(grades).groupby([graded[k] for k in keys])
    return int((in_grades.all() if only else in_grades.any()).sum())

def grade_summary(adverse_events: pd.DataFrame, n_patients: int, n_procedures: int) -> pd.DataFrame:
    """Return patients, sessions and events with any grade C, any D, any E/F, and only A/B.

    Percent columns: patients of ``n_patients``; sessions of ``n_procedures`` and, separately, of
    sessions with any event; events (session x event) of all events. The paper's "~85% of
    sessions A or B" fits none of these exactly; the book sets them side by side.
    """
    sessions = worst_grade_per_session(adverse_events)
    session_keys = list(SESSION_KEYS)
    n_sessions_with_event = len(sessions[session_keys].drop_duplicates())
    rows = {}
    for label, (grades, only) in GRADE_SUMMARY_ROWS.items():
        patients = units_with_grades(sessions, [PATIENT_ID], grades, only)
        n_sessions = units_with_grades(sessions, session_keys, grades, only)
        n_events = int(sessions[SIR_GRADE].astype(str).isin(grades).sum())
        rows[label] = {
            "patients": patients,
            "patients_pct": 100 * patients / n_patients,
            "sessions": n_sessions,
            "sessions_pct": 100 * n_sessions / n_procedures,
            "sessions_pct_of_sessions_with_event": _percent(n_sessions, n_sessions_with_event),
            "events": n_events,
            "events_pct": _percent(n_events, len(sessions)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")

def _percent(part: int, whole: int) -> float:
    """Return 100 * part / whole, NaN when whole is zero."""
    return 100 * part / whole if whole else float("nan")

def worst_grade_counts(adverse_events: pd.DataFrame) -> pd.DataFrame:
    """Return patients by worst grade per event: display-name rows, grade columns (no Total)."""
    counts = grade_counts(worst_grade_per_patient(adverse_events)).drop(columns=TOTAL)
    counts.index = [EVENT_DISPLAY_NAMES[e] for e in counts.index]
    counts.index.name = "TRAE"
    return counts

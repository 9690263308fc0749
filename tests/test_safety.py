"""Tests for aice_helpers.safety: worst grades, Table 5 per patient and per procedure, grade summary."""

from __future__ import annotations

import pandas as pd
import pytest

from aice_helpers.contract import AE_EVENTS, SIR_GRADES
from aice_helpers.safety import (
    COUNT,
    CYCLE,
    EVENT,
    EVENT_DISPLAY_NAMES,
    PATIENT_ID,
    PERCENT,
    SIR_GRADE,
    SIR_GRADE_DESCRIPTIONS,
    TOTAL,
    grade_summary,
    table5_per_patient,
    table5_per_procedure,
    worst_grade_per_patient,
)

PYREXIA, PAIN, NAUSEA, LIVER, RENAL, MARROW = AE_EVENTS
A, B, C, D, E, F = SIR_GRADES
PAIN_NAME, MARROW_NAME, PYREXIA_NAME = (EVENT_DISPLAY_NAMES[e] for e in (PAIN, MARROW, PYREXIA))


def ae_table(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    """Return an adverse-event table from (patient, cycle, event, grade) tuples."""
    return pd.DataFrame(rows, columns=[PATIENT_ID, CYCLE, EVENT, SIR_GRADE])


# p1 has pain at two sessions with different grades (B then A) and marrow C at session 2;
# p2 has pain A and the same event twice in one session (recorded A and D: counts once, as D);
# p3 has pyrexia A only.
EVENTS = ae_table([
    ("p1", 1, PAIN, B),
    ("p1", 2, PAIN, A),
    ("p1", 2, MARROW, C),
    ("p2", 1, PAIN, A),
    ("p2", 1, MARROW, A),
    ("p2", 1, MARROW, D),
    ("p3", 3, PYREXIA, A),
])
N_PATIENTS, N_PROCEDURES = 10, 20


def test_worst_grade_per_patient_takes_the_maximum_in_sir_order() -> None:
    worst = worst_grade_per_patient(EVENTS).set_index([PATIENT_ID, EVENT])[SIR_GRADE].astype(str)
    assert worst.to_dict() == {("p1", PAIN): B, ("p1", MARROW): C, ("p2", PAIN): A,
                               ("p2", MARROW): D, ("p3", PYREXIA): A}


def test_worst_grade_is_not_alphabetical_accident() -> None:
    events = ae_table([("p1", 1, PAIN, F), ("p1", 2, PAIN, E)])
    assert worst_grade_per_patient(events)[SIR_GRADE].astype(str).tolist() == [F]


def test_display_names_and_descriptions_cover_the_contract() -> None:
    assert list(EVENT_DISPLAY_NAMES) == list(AE_EVENTS)
    assert EVENT_DISPLAY_NAMES[NAUSEA] == "Nausea and vomiting"
    assert EVENT_DISPLAY_NAMES[LIVER] == "Abnormal liver function"
    assert list(SIR_GRADE_DESCRIPTIONS) == list(SIR_GRADES)


def test_table5_per_patient_counts_the_worst_grade_once() -> None:
    table = table5_per_patient(EVENTS, N_PATIENTS)
    assert list(table.index) == [EVENT_DISPLAY_NAMES[e] for e in AE_EVENTS]
    assert list(table.columns.get_level_values(0).unique()) == [A, B, C, D, TOTAL]
    counts = table.xs(COUNT, axis=1, level=1)
    assert counts.loc[PAIN_NAME].to_dict() == {A: 1, B: 1, C: 0, D: 0, TOTAL: 2}
    assert counts.loc[MARROW_NAME].to_dict() == {A: 0, B: 0, C: 1, D: 1, TOTAL: 2}
    assert counts.loc[PYREXIA_NAME, TOTAL] == 1
    assert counts.loc[EVENT_DISPLAY_NAMES[RENAL]].sum() == 0
    assert table.loc[PAIN_NAME, (TOTAL, PERCENT)] == pytest.approx(20.0)
    assert (counts[[A, B, C, D]].sum(axis=1) == counts[TOTAL]).all()


def test_table5_per_procedure_counts_every_session() -> None:
    table = table5_per_procedure(EVENTS, N_PROCEDURES)
    counts = table.xs(COUNT, axis=1, level=1)
    assert counts.loc[PAIN_NAME].to_dict() == {A: 2, B: 1, C: 0, D: 0, TOTAL: 3}
    # the duplicated marrow record in p2's session 1 counts once, at D
    assert counts.loc[MARROW_NAME].to_dict() == {A: 0, B: 0, C: 1, D: 1, TOTAL: 2}
    assert table.loc[PAIN_NAME, (A, PERCENT)] == pytest.approx(10.0)
    assert table.loc[PAIN_NAME, (TOTAL, PERCENT)] == pytest.approx(15.0)


def test_grades_e_and_f_shown_only_when_present() -> None:
    with_e = pd.concat([EVENTS, ae_table([("p4", 1, LIVER, E)])])
    assert E not in table5_per_patient(EVENTS, N_PATIENTS).columns.get_level_values(0)
    columns = table5_per_patient(with_e, N_PATIENTS).columns.get_level_values(0).unique()
    assert list(columns) == [A, B, C, D, E, TOTAL]


def test_table5_of_no_events_is_all_zero() -> None:
    table = table5_per_patient(EVENTS.iloc[:0], N_PATIENTS)
    assert table.xs(COUNT, axis=1, level=1).to_numpy().sum() == 0
    assert len(table) == len(AE_EVENTS)


def test_bad_grade_is_rejected() -> None:
    with pytest.raises(ValueError):
        table5_per_patient(ae_table([("p1", 1, PAIN, "G")]), N_PATIENTS)


def test_grade_summary_patients_sessions_and_events() -> None:
    summary = grade_summary(EVENTS, N_PATIENTS, N_PROCEDURES)
    any_c, any_d, any_ef, only_ab = summary.index
    assert summary["patients"].to_dict() == {any_c: 1, any_d: 1, any_ef: 0, only_ab: 1}
    # sessions: p1/1 pain B; p1/2 pain A + marrow C; p2/1 pain A + marrow D; p3/3 pyrexia A
    assert summary["sessions"].to_dict() == {any_c: 1, any_d: 1, any_ef: 0, only_ab: 2}
    assert summary.loc[only_ab, "sessions_pct"] == pytest.approx(10.0)
    assert summary.loc[only_ab, "sessions_pct_of_sessions_with_event"] == pytest.approx(50.0)
    # events (session x event, duplicates merged): 6, of which 4 are A/B
    assert summary.loc[only_ab, "events"] == 4
    assert summary.loc[only_ab, "events_pct"] == pytest.approx(100 * 4 / 6)
    assert summary.loc[any_c, "patients_pct"] == pytest.approx(10.0)

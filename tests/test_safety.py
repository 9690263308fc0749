"""Tests for aice_helpers.pages.safety: worst grades, Table 5 per patient and per procedure, grade summary."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import verdicts_for

from aice_helpers.contract import AE_EVENTS, SIR_GRADES
from aice_helpers.pages.safety import (
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
from aice_helpers.paper import reproduce
from aice_helpers.paper.audit import audit_findings, contradicted_ids

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


# ----------------------------------------------------------------------------- the chapter's tables

from aice_helpers.pages import safety  # noqa: E402
from aice_helpers.published import load_published  # noqa: E402

PUBLISHED = load_published()
# Table 5 of the paper as patient rows: (event, worst grade) -> number of patients.
PAPER_TABLE5 = {(PYREXIA, A): 5, (PYREXIA, B): 2, (PAIN, A): 17, (PAIN, B): 9, (NAUSEA, A): 4,
                (LIVER, C): 1, (RENAL, B): 2, (MARROW, A): 9, (MARROW, B): 2, (MARROW, C): 4, (MARROW, D): 2}


def paper_events() -> pd.DataFrame:
    """Return one event per patient and Table 5 cell, patients numbered so no two events share one."""
    rows = [(f"{event}-{grade}-{i}", 1, event, grade)
            for (event, grade), n in PAPER_TABLE5.items() for i in range(n)]
    return ae_table(rows)


def paper_verdicts(events: pd.DataFrame, n_patients: int = 113, n_procedures: int = 216):
    """Return the one verdict on the paper's safety numbers for these events (the audit's contradictions)."""
    cohort = pd.DataFrame({PATIENT_ID: [f"p{i}" for i in range(n_patients)]})
    procedures = pd.DataFrame({PATIENT_ID: [f"p{i % n_patients}" for i in range(n_procedures)],
                               CYCLE: range(n_procedures), "embolization": 0})
    return verdicts_for(PUBLISHED, cohort, reproduce.cohort_size_values, reproduce.table5_values, reproduce.sir_grade_values,
                        reproduce.sessions_values, adverse_events=events, procedures=procedures,
                        contradicted=contradicted_ids(audit_findings(PUBLISHED)))


def test_table5_with_published_matches_counts_and_flags_impossible_percentages() -> None:
    table = safety.table5_with_published(paper_events(), 113, paper_verdicts(paper_events()))
    assert len(table) == 6 * 5
    assert table.index.names == ["TRAE", "grade"]
    assert (table["n"] == table["published n"]).all()
    assert set(table["status"]) == {"exact"}  # every count, including the cells the paper leaves empty (0)
    percent = table["status %"]
    contradicted = set(percent[percent == "contradicted by the paper"].index)
    # 1.9% for 4 of 113 patients is 4 of 216 sessions: the audit shows these printed percentages wrong.
    assert contradicted == {("Nausea and vomiting", A), ("Nausea and vomiting", TOTAL), ("Myelosuppression", C)}
    # 0.8% for 1 of 113 is one rounding step off 0.9%: an inconsistency, within tolerance, not a contradiction.
    assert percent.loc[("Abnormal liver function", C)] == "within tolerance"
    assert set(percent.drop(list(contradicted) + [("Abnormal liver function", C), ("Abnormal liver function", TOTAL)])
               ) <= {"exact", "—"}
    assert table.loc[("Pain", TOTAL), "percent"] == 23.0
    assert table.loc[("Nausea and vomiting", A), "percent"] == 3.5


def test_table5_with_published_marks_a_wrong_count_outside_tolerance() -> None:
    events = paper_events()
    events = events[~((events[EVENT] == PAIN) & (events[SIR_GRADE] == B))].iloc[1:]  # drop pain B, one pyrexia A
    table = safety.table5_with_published(events, 113, paper_verdicts(events))
    assert table.loc[(PAIN_NAME, B), "status"] == "outside tolerance"
    assert table.loc[(PYREXIA_NAME, A), "n"] == 4


def test_denominators_with_published() -> None:
    table = safety.denominators_with_published(113, 200, paper_verdicts(paper_events(), 113, 200))
    assert table.loc["AICE sessions", "published"] == 216
    assert table["status"].tolist() == ["exact", "outside tolerance"]
    assert "status" not in safety.denominators_with_published(113, None)  # nothing compared without the paper


def test_percent_denominator_fits_find_the_mixed_denominators() -> None:
    fits = safety.percent_denominator_fits(PUBLISHED)
    assert list(fits.columns) == ["count", "printed %", "÷ 113 patients", "÷ 216 sessions", "fits"]
    assert fits.index[0].startswith("Table 5:")
    nausea = fits.loc["Table 5: Nausea and vomiting, grade A"]
    assert (nausea["count"], nausea["÷ 113 patients"], nausea["÷ 216 sessions"], nausea["fits"]) == \
        (4, 3.54, 1.85, "sessions")
    assert fits.loc["Table 5: Abnormal liver function, grade C", "fits"] == "neither"
    assert fits.loc["Table 5: Pain, total", "fits"] == "patients"
    assert fits.loc["Text: grade D patients", "fits"] == "sessions"
    assert fits.loc["Text: grade C patients", "fits"] == "neither"
    assert fits["fits"].value_counts().to_dict() == {"patients": 14, "sessions": 4, "neither": 4}


def test_denominator_fit_note_lists_the_odd_ones_with_their_arithmetic() -> None:
    note = safety.denominator_fit_note(safety.percent_denominator_fits(PUBLISHED))
    assert note.startswith("Of the 22 percentages printed in Table 5 and in the text, 14 are the count "
                           "divided by the 113 patients, 4 are the count divided by the 216 sessions, "
                           "and 4 fit neither.")
    assert "- Table 5: Nausea and vomiting, grade A: 4 printed as 1.9%; 4/113 = 3.5% and 4/216 = 1.9%." in note
    assert "5 printed as 2.7%; 5/113 = 4.4% and 5/216 = 2.3%; 2.7% would be 3 of 113." in note
    assert note.count("\n- ") == 8
    assert note.endswith("nor the share of sessions followed by it.")


def test_grade_summary_with_published_on_the_test_events() -> None:
    table = safety.grade_summary_with_published(EVENTS, N_PATIENTS, N_PROCEDURES,
                                                paper_verdicts(EVENTS, N_PATIENTS, N_PROCEDURES))
    patients = table.iloc[:4]
    assert patients["n"].tolist() == [1, 1, 0, 0]
    assert patients["published n"].tolist() == [5, 2, 0, 0]
    assert patients["status"].tolist() == ["outside tolerance", "outside tolerance", "exact", "exact"]
    shares = table.iloc[4:]
    # 4 sessions have events, 2 only A/B: 50 %; 6 session-events, 4 A/B; 20 sessions, 2 with C or D
    assert shares["percent"].tolist() == [50.0, pytest.approx(66.7), 10.0, 90.0]
    assert shares["n"].tolist() == [2, 4, 2, 18]
    assert shares["status %"].tolist() == ["outside tolerance"] + ["—"] * 3
    assert set(shares["published %"]) == {"~85"}


def test_grade_summary_with_published_on_the_papers_patients() -> None:
    table = safety.grade_summary_with_published(paper_events(), 113, 216, paper_verdicts(paper_events()))
    assert table.loc["patients with any grade C event", "n"] == 5
    assert table.loc["patients with any grade C event", "status"] == "exact"
    assert table.loc["patients with any grade C event", "status %"] == "contradicted by the paper"  # 2.7 ≠ 5/113
    assert table.loc["patients with any grade D event", "status %"] == "outside tolerance"  # 0.9 is 2/216, not 2/113
    minor = table.loc["sessions with an event: all events grade A or B"]
    assert (minor["n"], minor["percent"]) == (50, pytest.approx(87.7))
    assert minor["status %"] == "outside tolerance"  # |87.7 - 85| > 2.5: 87.7 rounds to 90, not 85


def test_sir_tables_cover_every_grade() -> None:
    grades = safety.sir_grades_table()
    assert list(grades.index) == list(SIR_GRADES)
    assert grades["minor or major"].tolist() == ["minor", "minor", "major", "major", "major", "major"]
    assert grades.loc[F, "roughly CTCAE grade"] == "5"
    comparison = safety.sir_versus_ctcae()
    assert comparison.loc["Death"].tolist() == ["F", "5"]
    assert list(comparison.columns) == ["SIR classification (A–F)", "CTCAE (1–5)"]


def test_worst_grade_counts_and_bars() -> None:
    from matplotlib.colors import to_hex

    from aice_helpers.pages import plots

    counts = safety.worst_grade_counts(paper_events())
    assert counts.loc["Myelosuppression"].tolist() == [9, 2, 4, 2]
    assert list(counts.columns) == [A, B, C, D]
    fig = plots.worst_grade_bars(counts, n_patients=113)
    ax = fig.axes[0]
    assert len(ax.patches) == 6 * 4
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "Pain"  # most frequent on top
    by_grade = [to_hex(ax.patches[i * 6].get_facecolor()) for i in range(4)]
    assert len(set(by_grade)) == 4
    labels = {t.get_text() for t in ax.texts}
    assert "26 (23.0%)" in labels and "17 (15.0%)" in labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [A, B, C, D]
    plots.plt.close(fig)


def test_data_summary_and_availability_note() -> None:
    procedures = pd.DataFrame({PATIENT_ID: ["p1"], CYCLE: [1]})
    assert safety.data_summary(10, procedures, EVENTS) == "10 patients, 1 AICE session, 7 adverse-event records"
    assert safety.data_summary(10, None, None) == "10 patients, no procedures file, no adverse-events file"
    assert safety.availability_note(procedures, EVENTS) == ""
    assert "`aice_adverse_events.csv`" in safety.availability_note(procedures, None)
    assert "`aice_adverse_events.csv`" in safety.availability_note(None, None)
    assert "`aice_procedures.csv`" in safety.availability_note(None, EVENTS)


def test_display_helpers_round_and_rename() -> None:
    shown = safety.table5_for_display(table5_per_patient(EVENTS, 3))
    assert shown.columns.names == ["SIR grade", None]
    assert shown.loc[PAIN_NAME, (TOTAL, PERCENT)] == pytest.approx(66.7)
    summary = safety.grade_summary_for_display(grade_summary(EVENTS, N_PATIENTS, N_PROCEDURES))
    assert list(summary.columns) == ["patients", "% of patients", "sessions", "% of all sessions",
                                     "% of sessions with an event", "events", "% of events"]
    assert summary.loc["only grades A/B", "% of events"] == pytest.approx(66.7)


def test_text_tables_fit_the_chapters_column_width() -> None:
    from aice_helpers.pages.chapter import DISPLAY_OPTIONS

    width = DISPLAY_OPTIONS["display.max_colwidth"]
    for table in (safety.sir_grades_table(), safety.sir_versus_ctcae()):
        assert table.map(len).to_numpy().max() <= width


def test_a_cohort_without_adverse_events() -> None:
    """An adverse-events file with a header and no rows: zero counts, shares of nothing left undefined, a note."""
    none = EVENTS.iloc[:0]
    procedures = pd.DataFrame({PATIENT_ID: ["p1", "p2"], CYCLE: [1, 1]})
    assert safety.availability_note(procedures, none).startswith(
        "The adverse-events file (`aice_adverse_events.csv`) lists no event")
    summary = safety.grade_summary(none, N_PATIENTS, 2)
    assert (summary[["patients", "sessions", "events"]] == 0).all(axis=None)
    assert summary[["sessions_pct_of_sessions_with_event", "events_pct"]].isna().all(axis=None)
    assert (summary["patients_pct"] == 0).all()
    assert safety.worst_grade_counts(none).to_numpy().sum() == 0
    assert (table5_per_procedure(none, 2).xs(COUNT, axis=1, level=1) == 0).all(axis=None)
    compared = safety.grade_summary_with_published(none, N_PATIENTS, 2, paper_verdicts(none, N_PATIENTS, 2))
    assert compared.loc["patients with any grade C event", "n"] == 0

"""Treatment-related adverse events graded by the SIR classification: Table 5 and the grade summary.

Choices:
- A session is one (patient_id, cycle). If the same event is recorded more than once in one
  session, that session counts it once, at its worst grade.
- Per patient (Table 5 as printed): each patient counts once per event, in the column of the worst
  grade that patient had for that event; "Total" is patients with the event at any grade, so the
  grade columns add up to it. Percent is of ``n_patients``.
- Per procedure: every (session, event) counts, in the column of its grade; percent is of
  ``n_procedures`` (the number of AICE sessions, 216 in the paper).
- Grades A–D are always shown; E and F only when some event has them. Percent values are not
  rounded (round for display only).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from aice_helpers.analyses.safety import (  # noqa: F401
    ALWAYS_SHOWN_GRADES,
    COUNT,
    CYCLE,
    EVENT,
    EVENT_DISPLAY_NAMES,
    GRADE_C,
    GRADE_D,
    GRADE_SUMMARY_ROWS,
    MINOR_GRADES,
    PATIENT_ID,
    PERCENT,
    SESSION_KEYS,
    SEVERE_GRADES,
    SIR_GRADE,
    SIR_GRADE_ORDER,
    TOTAL,
    _percent,
    count_percent_table,
    grade_counts,
    grade_summary,
    graded_events,
    shown_grades,
    table5_per_patient,
    table5_per_procedure,
    units_with_grades,
    worst_grade_by,
    worst_grade_counts,
    worst_grade_per_patient,
    worst_grade_per_session,
)
from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    MISSING_MARK,
    PROCEDURES_FILE,
    SIR_GRADES,
)
from aice_helpers.pages.tables import (
    IDS_ATTR,
    PERCENT_STATUS,
    comparison_with_published,
    published_or_none,
)

__all__ = [
    "COUNT",
    "EVENT_DISPLAY_NAMES",
    "GRADE_C",
    "GRADE_D",
    "PERCENT",
    "ALWAYS_SHOWN_GRADES",
    "CYCLE",
    "EVENT",
    "GRADE_SUMMARY_ROWS",
    "MINOR_GRADES",
    "PATIENT_ID",
    "SESSION_KEYS",
    "SEVERE_GRADES",
    "SIR_GRADE",
    "SIR_GRADE_ORDER",
    "TOTAL",
    "count_percent_table",
    "grade_counts",
    "grade_summary",
    "graded_events",
    "shown_grades",
    "table5_per_patient",
    "table5_per_procedure",
    "units_with_grades",
    "worst_grade_by",
    "worst_grade_counts",
    "worst_grade_per_patient",
    "worst_grade_per_session",
    "SIR_GRADE_DESCRIPTIONS",
    "PERCENT_DECIMALS",
    "FIT_PATIENTS",
    "FIT_SESSIONS",
    "FIT_BOTH",
    "FIT_NEITHER",
    "EVENT_BY_DISPLAY_NAME",
    "CTCAE_COUNTERPART",
    "SIR_MINOR_OR_MAJOR",
    "SIR_VERSUS_CTCAE",
    "sir_grades_table",
    "sir_versus_ctcae",
    "table5_id",
    "table5_with_published",
    "denominators_with_published",
    "percent_denominator_fits",
    "denominator_fit_note",
    "grade_summary_with_published",
    "data_summary",
    "availability_note",
    "GRADE_SUMMARY_DISPLAY_NAMES",
    "table5_for_display",
    "grade_summary_for_display",
]


# What each SIR grade means, in the order of SIR_GRADES (A to F, mildest to worst).
# Each at most 60 characters, the chapters' display.max_colwidth, so tables show them whole.
SIR_GRADE_DESCRIPTIONS: dict[str, str] = dict(zip(SIR_GRADES, (
    "no therapy needed and no consequence",
    "minor therapy or overnight observation only",
    "therapy with a hospital stay of 48 hours or less",
    "major therapy, more care, or a stay over 48 hours",
    "lasting harm (permanent sequelae)",
    "death",
), strict=True))




























# ----------------------------------------------------------------------------- the chapter's tables

SHARE_ID = "safety.grade_ab.pct"  # the '~85% of sessions' with only grade A or B events
PERCENT_DECIMALS = 1
FIT_PATIENTS, FIT_SESSIONS, FIT_BOTH, FIT_NEITHER = "patients", "sessions", "both", "neither"
EVENT_BY_DISPLAY_NAME: dict[str, str] = {name: event for event, name in EVENT_DISPLAY_NAMES.items()}

# Rough counterpart of each SIR grade on the CTCAE scale (grades 1-5); the scales measure different
# things, so this is a reading aid, not a conversion.
CTCAE_COUNTERPART: dict[str, str] = dict(zip(SIR_GRADES, ("1", "1–2", "2–3", "3–4", "3–4", "5"), strict=True))
SIR_MINOR_OR_MAJOR: dict[str, str] = {g: ("minor" if g in MINOR_GRADES else "major") for g in SIR_GRADES}

# (aspect, SIR, CTCAE); cells of at most 60 characters, like SIR_GRADE_DESCRIPTIONS.
SIR_VERSUS_CTCAE: tuple[tuple[str, str, str], ...] = (
    ("What is graded", "a complication of a procedure", "any adverse event, whatever its cause"),
    ("What sets the grade", "the care the event needed and what it left behind",
     "the event's severity: symptoms, lab values, daily life"),
    ("Levels", "six letters, A–B minor and C–F major", "five numbers, from 1 (mild) to 5 (death)"),
    ("Criteria per event", "none: one scale for every complication",
     "each of several hundred event terms has its own definitions"),
    ("Time in hospital", "C: 48 hours or less; D: longer", "grade 3 includes admission or a longer stay"),
    ("Lasting harm", "a grade of its own (E)", "no grade of its own; a disabling event is grade 3"),
    ("Death", "F", "5"),
    ("Example: neutrophils 0.8 × 10⁹/L, no fever, no treatment", "A (no therapy, no consequence)",
     "3 (count between 0.5 and 1.0 × 10⁹/L)"),
)


def sir_grades_table() -> pd.DataFrame:
    """Return the SIR grades A–F: meaning, minor or major, and the rough CTCAE counterpart."""
    return pd.DataFrame({
        "what it means": [SIR_GRADE_DESCRIPTIONS[g] for g in SIR_GRADES],
        "minor or major": [SIR_MINOR_OR_MAJOR[g] for g in SIR_GRADES],
        "roughly CTCAE grade": [CTCAE_COUNTERPART[g] for g in SIR_GRADES],
    }, index=pd.Index(list(SIR_GRADES), name="SIR grade"))


def sir_versus_ctcae() -> pd.DataFrame:
    """Return the differences between the SIR classification and CTCAE, one aspect per row."""
    table = pd.DataFrame(list(SIR_VERSUS_CTCAE), columns=["aspect", "SIR classification (A–F)", "CTCAE (1–5)"])
    return table.set_index("aspect")


def table5_id(event: str, column: str) -> str:
    """Return the published id of a Table 5 cell, e.g. ('pain', 'A') -> 'table5.pain.a'."""
    return f"table5.{event}.{column.lower()}"




def table5_with_published(adverse_events: pd.DataFrame, n_patients: int, verdicts: Any = None) -> pd.DataFrame:
    """Return Table 5 per patient, one row per event and grade, with the paper's cell and its one status beside."""
    counts = grade_counts(worst_grade_per_patient(adverse_events))
    rows = [(EVENT_DISPLAY_NAMES[event], column, int(counts.at[event, column]),
             round(100 * counts.at[event, column] / n_patients, PERCENT_DECIMALS), table5_id(event, column))
            for event in counts.index for column in counts.columns]
    table = pd.DataFrame(rows, columns=["TRAE", "grade", "n", "percent", "id"])
    compared = comparison_with_published(table.drop(columns="id"), table["id"].tolist(), verdicts)
    return compared.set_index(["TRAE", "grade"])


def denominators_with_published(n_patients: int, n_procedures: int | None, verdicts: Any = None) -> pd.DataFrame:
    """Return the number of patients and of AICE sessions beside the paper's (216 sessions)."""
    ids = ("safety.n_patients", "safety.procedures")
    table = pd.DataFrame({"denominator": ["patients", "AICE sessions"],
                          "reproduced": pd.array([n_patients, n_procedures], dtype="Int64")})
    if verdicts is not None:
        table["published"] = pd.array([verdicts.value(i) for i in ids], dtype="Int64")
        table["status"] = [verdicts.status(i) for i in ids]
    table = table.set_index("denominator")
    table.attrs[IDS_ATTR] = list(ids)
    return table


def _fit(printed: float, count: float, n_patients: int, n_procedures: int) -> str:
    """Return which denominator makes count/denominator round to the printed percentage."""
    from aice_helpers.paper.compare import (
        rounds_to,  # reason: only with the paper; a rerun never loads paper/
    )

    of_patients = rounds_to(printed, 100 * count / n_patients, PERCENT_DECIMALS)
    of_sessions = rounds_to(printed, 100 * count / n_procedures, PERCENT_DECIMALS)
    return {(True, True): FIT_BOTH, (True, False): FIT_PATIENTS,
            (False, True): FIT_SESSIONS, (False, False): FIT_NEITHER}[(of_patients, of_sessions)]


def _printed_label(published: pd.DataFrame, entry_id: str) -> str:
    """Return where a printed percentage stands: 'Table 5: Pain, grade A' or 'Text: grade C patients'."""
    entry = published.loc[entry_id]
    if entry_id.startswith("table5."):
        group = str(entry["group"])
        where = "total" if group == "total" else f"grade {group}"
        return f"Table 5: {EVENT_DISPLAY_NAMES[str(entry['variable'])]}, {where}"
    context = str(published.at[str(entry["of"]), "quote_context"]).removeprefix("safety paragraph, ")
    return f"Text: {context}"


def percent_denominator_fits(published: pd.DataFrame) -> pd.DataFrame:
    """Return every printed safety percentage with its count over the paper's patients and sessions.

    The denominators are the paper's own (safety.n_patients, safety.procedures): this checks the
    paper's arithmetic, whatever data the chapter runs on. ``fits`` names the denominator that
    reproduces the printed percentage after rounding to one decimal.
    """
    n_patients = int(published_or_none(published, "safety.n_patients") or 0)
    n_procedures = int(published_or_none(published, "safety.procedures") or 0)
    if not n_patients or not n_procedures:
        raise ValueError("the paper's numbers of patients and sessions are needed")
    wanted = (published.index.str.startswith(("table5.", "safety."))
              & (published["unit"] == "percent") & published["of"].notna())
    rows = []
    table5_first = sorted(published.index[wanted], key=lambda entry_id: not entry_id.startswith("table5."))
    for entry_id in table5_first:
        printed = float(published.at[entry_id, "value"])
        count = float(published.at[str(published.at[entry_id, "of"]), "value"])
        rows.append({"printed in": _printed_label(published, entry_id), "count": int(count),
                     "printed %": printed,
                     f"÷ {n_patients} patients": round(100 * count / n_patients, 2),
                     f"÷ {n_procedures} sessions": round(100 * count / n_procedures, 2),
                     "fits": _fit(printed, count, n_patients, n_procedures)})
    return pd.DataFrame(rows).set_index("printed in")


def _implied_counts(printed: float, denominator: int) -> int | None:
    """Return the whole count whose share of ``denominator`` rounds to ``printed``, if there is one."""
    from aice_helpers.paper.compare import (
        rounds_to,  # reason: only with the paper; a rerun never loads paper/
    )

    count = round(printed * denominator / 100)
    return count if rounds_to(printed, 100 * count / denominator, PERCENT_DECIMALS) else None


def denominator_fit_note(fits: pd.DataFrame) -> str:
    """Return a short account of which denominator each printed percentage fits, naming the odd ones."""
    patients_column, sessions_column = fits.columns[2], fits.columns[3]
    n_patients = int(patients_column.split()[1])
    n_procedures = int(sessions_column.split()[1])
    tally = fits["fits"].value_counts()
    lines = [f"Of the {len(fits)} percentages printed in Table 5 and in the text, "
             f"{tally.get(FIT_PATIENTS, 0) + tally.get(FIT_BOTH, 0)} are the count divided by the "
             f"{n_patients} patients, {tally.get(FIT_SESSIONS, 0)} are the count divided by the "
             f"{n_procedures} sessions, and {tally.get(FIT_NEITHER, 0)} fit neither.", ""]
    for label, row in fits[fits["fits"].isin([FIT_SESSIONS, FIT_NEITHER])].iterrows():
        count, printed = int(row["count"]), float(row["printed %"])
        text = (f"- {label}: {count} printed as {printed:.1f}%; {count}/{n_patients} = "
                f"{row[patients_column]:.1f}% and {count}/{n_procedures} = {row[sessions_column]:.1f}%")
        if row["fits"] == FIT_NEITHER:
            implied = [f"{k} of {n}" for n in (n_patients, n_procedures)
                       if (k := _implied_counts(printed, n)) is not None]
            text += (f"; {printed:.1f}% would be {' or '.join(implied)}" if implied else "")
        lines.append(text + ".")
    if tally.get(FIT_SESSIONS, 0):
        lines += ["", "Each of these counts is a number of patients. Divided by the number of sessions, it is "
                      "neither the share of patients with the event nor the share of sessions followed by it."]
    return "\n".join(lines)


def grade_summary_with_published(adverse_events: pd.DataFrame, n_patients: int, n_procedures: int,
                                 verdicts: Any = None) -> pd.DataFrame:
    """Return the text's grade summary (C, D, E, F patients; ~85% A/B) beside the reproduced values.

    Patient counts and their percentages are compared as in Table 5. The "~85% of sessions" has
    several readings; the one compared is the share of sessions with an adverse event in which
    every event was grade A or B, with the tolerance paper.compare gives an approximate percentage. The
    other readings are shown for reference, not compared.
    """
    sessions = worst_grade_per_session(adverse_events)
    session_keys = list(SESSION_KEYS)
    rows = [(f"patients with any grade {grade} event", units_with_grades(sessions, [PATIENT_ID], (grade,)))
            for grade in (GRADE_C, GRADE_D, *SEVERE_GRADES)]
    table = pd.DataFrame(rows, columns=["quantity", "n"])
    table["percent"] = (100 * table["n"] / n_patients).round(PERCENT_DECIMALS)
    ids = [f"safety.grade_{grade.lower()}" for grade in (GRADE_C, GRADE_D, *SEVERE_GRADES)]
    patients = comparison_with_published(table, ids, verdicts)

    minor_sessions = units_with_grades(sessions, session_keys, MINOR_GRADES, only=True)
    serious_sessions = units_with_grades(sessions, session_keys, SIR_GRADES[2:])
    with_event = len(sessions[session_keys].drop_duplicates())
    minor_events = int(sessions[SIR_GRADE].astype(str).isin(MINOR_GRADES).sum())
    readings = [
        ("sessions with an event: all events grade A or B", minor_sessions, _percent(minor_sessions, with_event)),
        ("events (session × event) of grade A or B", minor_events, _percent(minor_events, len(sessions))),
        ("all sessions: an event, all of grade A or B", minor_sessions, _percent(minor_sessions, n_procedures)),
        ("all sessions: no event above grade B", n_procedures - serious_sessions,
         _percent(n_procedures - serious_sessions, n_procedures)),
    ]
    shares = pd.DataFrame(readings, columns=["quantity", "n", "percent"])
    shares["percent"] = shares["percent"].round(PERCENT_DECIMALS)
    if verdicts is not None:
        # The first reading is the one the scorecard compares; the others are shown for reference.
        shares["published n"] = pd.array([None] * len(shares), dtype="Int64")
        printed = verdicts.value(SHARE_ID)  # printed "~85%": shown with its "~", as the paper prints it
        shares["published %"] = [MISSING_MARK if printed is None else f"~{printed:g}"] * len(shares)
        shares["status"] = [MISSING_MARK] * len(shares)
        shares[PERCENT_STATUS] = [verdicts.status(SHARE_ID)] + [MISSING_MARK] * (len(shares) - 1)
    result = pd.concat([patients, shares], ignore_index=True).set_index("quantity")
    result.attrs = dict(patients.attrs)
    result.attrs[IDS_ATTR] = list(patients.attrs[IDS_ATTR]) + [SHARE_ID.removesuffix(".pct")] + [None] * (len(shares) - 1)
    return result


def data_summary(n_patients: int, procedures: pd.DataFrame | None, adverse_events: pd.DataFrame | None) -> str:
    """Return what the chapter has to work with, e.g. '113 patients, 216 AICE sessions, 72 adverse-event records'."""
    sessions = "no procedures file" if procedures is None else _counted(len(procedures), "AICE session")
    events = ("no adverse-events file" if adverse_events is None
              else _counted(len(adverse_events), "adverse-event record"))
    return f"{_counted(n_patients, 'patient')}, {sessions}, {events}"


def _counted(count: int, noun: str) -> str:
    """Return '1 patient' or '3 patients'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def availability_note(procedures: pd.DataFrame | None, adverse_events: pd.DataFrame | None) -> str:
    """Return what the safety chapter leaves out for lack of an optional file, or that no adverse event is listed."""

    if adverse_events is None:
        return (f"This data folder has no adverse-events file (`{ADVERSE_EVENTS_FILE}`), which the data "
                f"contract allows. Every table and the figure that count adverse events are left out below; "
                f"the explanation of the grading scales remains.")
    if procedures is None:
        return (f"This data folder has no procedures file (`{PROCEDURES_FILE}`), which the data contract "
                f"allows. Without the number of AICE sessions, the per-procedure table and the grade "
                f"summary, whose readings need that number, are left out below.")
    if adverse_events.empty:
        return (f"The adverse-events file (`{ADVERSE_EVENTS_FILE}`) lists no event: no treatment-related adverse "
                f"event was recorded in this cohort. Every count below is zero, and the shares of sessions or of "
                f"events that had an event cannot be computed (they show NaN).")
    return ""


GRADE_SUMMARY_DISPLAY_NAMES: dict[str, str] = {
    "patients": "patients",
    "patients_pct": "% of patients",
    "sessions": "sessions",
    "sessions_pct": "% of all sessions",
    "sessions_pct_of_sessions_with_event": "% of sessions with an event",
    "events": "events",
    "events_pct": "% of events",
}


def table5_for_display(table: pd.DataFrame) -> pd.DataFrame:
    """Return a Table 5 (per patient or per procedure) with percentages to one decimal, grade axis named."""
    shown = table.round(PERCENT_DECIMALS)
    shown.columns = shown.columns.set_names(["SIR grade", None])
    return shown


def grade_summary_for_display(summary: pd.DataFrame) -> pd.DataFrame:
    """Return grade_summary with readable column names and percentages to one decimal."""
    return summary.round(PERCENT_DECIMALS).rename(columns=GRADE_SUMMARY_DISPLAY_NAMES)

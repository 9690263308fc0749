"""The reproduced value of every published number the data can reproduce, keyed by published id.

Each ``*_values`` function covers one part of the paper and returns ``{id: Reproduced}``, computed
with the book's own helpers (tables, response, safety, survival, cox); nothing statistical is
re-implemented here. :func:`reproduced_values` combines them and then fills two generic kinds of
entry from the published metadata:

* a percentage with ``of`` (the id of its count) is 100 · count / the denominator the entry
  declares (the number of patients when it declares none);
* an entry with ``see_also`` (the same quantity printed elsewhere) takes that entry's value,
  provided both have the same unit.

Ids the data cannot reproduce (doses, dates, literature figures, discussion claims, one case
report) are simply absent; the scorecard shows them as "not reproducible from data".

Codings follow the paper: Table 1's groupings (study.py); the Cox models of Tables 3/4 use
size >= 10 vs < 10 cm, metastasis yes vs no, post-AICE regimens 0-1 vs >= 2, grade G3 vs G1+G2,
stage IV vs III, cycles 1 vs >= 2, best response SD+PD vs PR (no CR occurred; CR counts with PR),
NLR > 3 vs <= 3, with Breslow ties (SPSS).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from aice_helpers import study
from aice_helpers.analyses import counts as tables
from aice_helpers.analyses import models, response, safety
from aice_helpers.contract import AE_EVENTS
from aice_helpers.data import Dataset
from aice_helpers.published import load_published
from aice_helpers.stats import survival

__all__ = [
    "PERCENT",
    "MONTHS_PER_YEAR",
    "UNIT_PERCENT",
    "SAME_QUANTITY",
    "EMPTY_GROUP_NOTE",
    "ENDPOINTS",
    "LANDMARK_YEARS",
    "LANDMARK_TRANSFORM",
    "COX_TIES",
    "CODINGS",
    "COX_TABLES",
    "SUBGROUP_FACTORS",
    "Coding",
    "N_PATIENTS_IDS",
    "UNTREATED_AFTER_AICE",
    "MINOR_GRADES",
    "SEVERE_GRADES",
    "Reproduced",
    "Values",
    "LEVEL_ALIASES",
    "LEVEL_ALIAS_NOTE",
    "UNIVARIABLE_CLAIMS",
    "MULTIVARIABLE_CLAIMS",
    "cohort_size_values",
    "table1_values",
    "continuous_summary_values",
    "histology_values",
    "subsequent_therapy_values",
    "response_values",
    "table5_values",
    "sessions_values",
    "sir_grade_values",
    "minor_session_share",
    "survival_values",
    "followup_values",
    "subgroup_values",
    "univariable_claim_values",
    "cox_values",
    "derived_values",
    "SECTION_FUNCTIONS",
    "reproduced_values",
]

PERCENT = 100.0
MONTHS_PER_YEAR = study.MONTHS_PER_YEAR
UNIT_PERCENT = "percent"
SAME_QUANTITY = "same quantity as"
EMPTY_GROUP_NOTE = "no patient in this group"
ENDPOINTS, LANDMARK_YEARS, LANDMARK_TRANSFORM, COX_TIES = study.ENDPOINTS, study.LANDMARK_YEARS, study.LANDMARK_TRANSFORM, study.TIES
CODINGS, COX_TABLES, SUBGROUP_FACTORS, Coding = study.CODINGS, study.COX_TABLES, study.SUBGROUP_FACTORS, study.Coding
N_PATIENTS_IDS: tuple[str, ...] = (
    "abstract.n_patients", "methods.n_patients", "results.baseline.n_patients", "discussion.n_patients",
    "second_record.abstract.n_patients", "safety.n_patients",
)
UNTREATED_AFTER_AICE: tuple[str, ...] = ("none", "unknown")
MINOR_GRADES: tuple[str, ...] = safety.MINOR_GRADES
SEVERE_GRADES: tuple[str, ...] = safety.SEVERE_GRADES


@dataclass(frozen=True)
class Reproduced:
    """One reproduced number: the estimate, its interval or range where it has one, and a note."""

    value: float
    lower: float | None = None
    upper: float | None = None
    note: str = ""


Values = dict[str, Reproduced]


# Published level ids that name a coding's level differently: (factor, id level) -> coding level.
LEVEL_ALIASES: dict[tuple[str, str], str] = {("max_diameter_cm", "le10"): "lt10"}
LEVEL_ALIAS_NOTE = ("the paper prints this group as '≤10 cm' here; computed on Table 1's split "
                    "(≥10 vs <10 cm), the one used everywhere else")
UNIVARIABLE_CLAIMS, MULTIVARIABLE_CLAIMS = study.UNIVARIABLE_CLAIMS, study.MULTIVARIABLE_CLAIMS


# ---------------------------------------------------------------------------------------------
# Cohort, Table 1, Table 2, therapy after AICE, response


def cohort_size_values(dataset: Dataset) -> Values:
    """Return the number of patients for every id that states the cohort size."""
    n = len(dataset.cohort)
    return {entry_id: Reproduced(n) for entry_id in N_PATIENTS_IDS}


def table1_values(dataset: Dataset) -> Values:
    """Return Table 1's counts (table1.<variable>.<level>), its percentages follow from them."""
    values: Values = {}
    for characteristic in study.TABLE1_CHARACTERISTICS:
        groups = pd.Series(characteristic.grouping(dataset.cohort))
        counts = tables.counts_and_percents(groups)
        for level_id, n in zip(characteristic.level_ids, counts["n"]):
            values[f"table1.{characteristic.key}.{level_id}"] = Reproduced(int(n))
    return values


def continuous_summary_values(dataset: Dataset) -> Values:
    """Return the median (range) of tumour diameter and of age."""
    specs = {"table1.max_diameter_cm.median": "max_diameter_cm", "results.baseline.age_years.median": "age_years"}
    values: Values = {}
    for entry_id, column in specs.items():
        summary = tables.range_summary(dataset.cohort[column])
        values[entry_id] = Reproduced(summary["median"], summary["min"], summary["max"], "median (range)")
    return values


def histology_values(dataset: Dataset) -> Values:
    """Return Table 2's count per pathological subtype (table2.histology.<subtype>)."""
    table = tables.histology_table(dataset.cohort)
    return {f"table2.histology.{tables.slug(level)}": Reproduced(int(n))
            for level, n in zip(table["level"], table["n"])}


def subsequent_therapy_values(dataset: Dataset) -> Values:
    """Return the counts of therapy after AICE: any, and each kind (none and unknown included)."""
    kinds = dataset.cohort["subsequent_therapy"].astype(str)
    values = {"results.subsequent_therapy.any": Reproduced(int((~kinds.isin(UNTREATED_AFTER_AICE)).sum()))}
    for kind in study.SUBSEQUENT_LABELS:
        values[f"results.subsequent_therapy.{kind}"] = Reproduced(int((kinds == kind).sum()))
    return values


def response_values(dataset: Dataset) -> Values:
    """Return the best-response counts and the ORR and DCR (percent) with Clopper–Pearson limits."""
    counts = response.response_counts(dataset.cohort)["n"]
    values = {f"results.response.{level.lower()}": Reproduced(int(n)) for level, n in counts.items()}
    rates = {"orr": response.objective_response_rate, "dcr": response.disease_control_rate}
    for name, rate in rates.items():
        proportion = rate(dataset.cohort, method="clopper_pearson")
        values[f"results.response.{name}"] = Reproduced(
            PERCENT * proportion.estimate, PERCENT * proportion.lower, PERCENT * proportion.upper,
            f"{proportion.successes}/{proportion.n}, Clopper–Pearson 95% CI")
    return values


# ---------------------------------------------------------------------------------------------
# Safety: Table 5 (per patient), sessions and the SIR grade summary


def table5_values(dataset: Dataset) -> Values:
    """Return Table 5's counts per patient: worst grade per patient and event, and the totals."""
    if dataset.adverse_events is None:
        return {}
    counts = safety.grade_counts(safety.worst_grade_per_patient(dataset.adverse_events))
    values: Values = {}
    for event in AE_EVENTS:
        for column in counts.columns:
            values[f"table5.{event}.{column.lower()}"] = Reproduced(int(counts.at[event, column]))
    return values


def sessions_values(dataset: Dataset) -> Values:
    """Return the number of AICE sessions (216 in the paper)."""
    if dataset.procedures is None:
        return {}
    return {"safety.procedures": Reproduced(len(dataset.procedures), note="rows of the procedures file")}


def _patients_with(events: pd.DataFrame, grades: tuple[str, ...]) -> int:
    """Return how many patients had any event in ``grades``."""
    return safety.units_with_grades(events, [safety.PATIENT_ID], grades)


def sir_grade_values(dataset: Dataset) -> Values:
    """Return the safety paragraph's counts (patients with grade C, D, E, F) and its "~85%" A/B share."""
    if dataset.adverse_events is None:
        return {}
    sessions = safety.worst_grade_per_session(dataset.adverse_events)
    marrow = sessions[sessions[safety.EVENT] == "myelosuppression"]
    values = {f"safety.grade_{grade.lower()}": Reproduced(_patients_with(sessions, (grade,)))
              for grade in safety.SIR_GRADES[2:]}
    values["safety.myelosuppression.grade_e_f"] = Reproduced(_patients_with(marrow, SEVERE_GRADES))
    values["abstract.major_adverse_events"] = Reproduced(_patients_with(sessions, tuple(safety.SIR_GRADES[2:])),
                                                         note="patients with any grade C–F event")
    if dataset.procedures is not None:
        values["safety.grade_ab.pct"] = minor_session_share(dataset, sessions)
    return values


def minor_session_share(dataset: Dataset, sessions: pd.DataFrame) -> Reproduced:
    """Return the "~85% of sessions grade A or B" in the safety chapter's compared reading (sessions
    with an event, every event grade A or B), the other readings in the note."""
    keys = list(safety.SESSION_KEYS)
    n_sessions = len(dataset.procedures)
    with_event = len(sessions[keys].drop_duplicates())
    only_minor = safety.units_with_grades(sessions, keys, MINOR_GRADES, only=True)
    any_minor = safety.units_with_grades(sessions, keys, MINOR_GRADES)
    summary = safety.grade_summary(dataset.adverse_events, len(dataset.cohort), n_sessions)
    minor_events = summary.at[f"only grades {'/'.join(MINOR_GRADES)}", "events_pct"]
    note = (f"sessions with an event whose events were all grade A or B: {only_minor}/{with_event}; other readings: "
            f"{only_minor}/{n_sessions} of all sessions, {any_minor}/{n_sessions} sessions with any A or B event, "
            f"{minor_events:.1f}% of session-events grade A or B")
    if with_event == 0:  # no session had an event: the share of such sessions is undefined, not zero
        return Reproduced(math.nan, note="no session had an adverse event")
    return Reproduced(PERCENT * only_minor / with_event, note=note)


# ---------------------------------------------------------------------------------------------
# Survival: medians, landmarks, follow-up, subgroups


def _endpoint_data(cohort: pd.DataFrame, endpoint: str) -> tuple[pd.Series, pd.Series]:
    """Return the time and event columns of an endpoint."""
    time_column, event_column = ENDPOINTS[endpoint].time_col, ENDPOINTS[endpoint].event_col
    return cohort[time_column], cohort[event_column]


def _median_record(estimate: survival.MedianEstimate, note: str = "") -> Reproduced:
    """Return a median with its SPSS interval as a record."""
    if not estimate.reached:
        note = "; ".join(filter(None, [note, "median not reached"]))
    return Reproduced(estimate.estimate, estimate.lower, estimate.upper, note)


def survival_values(dataset: Dataset) -> Values:
    """Return median OS and PFS (SPSS interval) and the landmark rates (log-log Greenwood limits)."""
    values: Values = {}
    for endpoint in ENDPOINTS:
        time, event = _endpoint_data(dataset.cohort, endpoint)
        values[f"results.survival.{endpoint}.median"] = _median_record(survival.median_spss(time, event),
                                                                       "Kaplan–Meier, SPSS symmetric 95% CI")
        years = LANDMARK_YEARS[endpoint]
        rates = survival.survival_at(time, event, [MONTHS_PER_YEAR * y for y in years], transform=LANDMARK_TRANSFORM)
        for year, row in zip(years, rates.itertuples()):
            values[f"results.survival.{endpoint}.year{year}.rate"] = Reproduced(
                PERCENT * row.survival, PERCENT * row.lower, PERCENT * row.upper,
                f"S({MONTHS_PER_YEAR * year} months), Greenwood log-log 95% CI, {row.at_risk} at risk")
    return values


def _months(value: float) -> str:
    """Return a time in months with one decimal, 'not reached' when the curve never gets there."""
    return "not reached" if math.isnan(value) else f"{value:.1f}"


def followup_values(dataset: Dataset) -> Values:
    """Return the median (range) of observed OS times; the reverse Kaplan–Meier median is in the note."""
    time, event = _endpoint_data(dataset.cohort, "os")
    followup = survival.median_followup(time, event)
    reverse = followup.reverse_km
    note = (f"median and range of all observed OS times; reverse Kaplan–Meier median {_months(reverse.estimate)} "
            f"(95% CI {_months(reverse.lower)}–{_months(reverse.upper)}); median among the {followup.n_censored} "
            f"censored {_months(followup.median_censored)}")
    return {"methods.follow_up.median": Reproduced(followup.median_all, *followup.range_all, note)}


def _coded(cohort: pd.DataFrame, factor: str) -> pd.Series:
    """Return the published level id of each patient under a factor's two-level coding."""
    coding = CODINGS[factor]
    exposed, reference = coding.levels
    return coding.indicator(cohort).map({1: exposed, 0: reference})


def _logrank_p(cohort: pd.DataFrame, factor: str, endpoint: str) -> float:
    """Return the log-rank P of an endpoint between a factor's two levels (NaN if only one occurs)."""
    time, event = _endpoint_data(cohort, endpoint)
    groups = _coded(cohort, factor)
    return survival.logrank(time, event, groups).p if groups.nunique() > 1 else math.nan


def _group_median(time: pd.Series, event: pd.Series, inside: pd.Series) -> Reproduced:
    """Return the SPSS median of one subgroup (NaN, with a note, when the group is empty)."""
    if not inside.any():
        return Reproduced(math.nan, math.nan, math.nan, EMPTY_GROUP_NOTE)
    return _median_record(survival.median_spss(time[inside], event[inside]))


def subgroup_values(dataset: Dataset) -> Values:
    """Return subgroup medians (SPSS interval) and log-rank P for size, metastasis and post-AICE regimens."""
    cohort = dataset.cohort
    values: Values = {}
    for factor in SUBGROUP_FACTORS:
        groups = _coded(cohort, factor)
        for endpoint in ENDPOINTS:
            time, event = _endpoint_data(cohort, endpoint)
            prefix = f"results.subgroup.{factor}.{endpoint}"
            for level in CODINGS[factor].levels:
                values[f"{prefix}.{level}.median"] = _group_median(time, event, groups == level)
            values[f"{prefix}.p"] = Reproduced(_logrank_p(cohort, factor, endpoint),
                                               note=f"log-rank, {CODINGS[factor].label}")
    for (factor, alias), level in LEVEL_ALIASES.items():
        for endpoint in ENDPOINTS:
            source = values[f"results.subgroup.{factor}.{endpoint}.{level}.median"]
            note = "; ".join(filter(None, [source.note, LEVEL_ALIAS_NOTE]))
            values[f"results.subgroup.{factor}.{endpoint}.{alias}.median"] = replace(source, note=note)
    return values


def univariable_claim_values(dataset: Dataset) -> Values:
    """Return, for each recorded claim 'P < 0.05 in univariable analysis', the largest log-rank P it covers."""
    values: Values = {}
    for entry_id, (factors, endpoints) in UNIVARIABLE_CLAIMS.items():
        p_values = {f"{factor} {endpoint.upper()}": _logrank_p(dataset.cohort, factor, endpoint)
                    for factor in factors for endpoint in endpoints}
        values[entry_id] = _largest_p(p_values, "log-rank")
    return values


def _largest_p(p_values: Mapping[str, float], test: str) -> Reproduced:
    """Return the largest of several P values, listing them all in the note."""
    listed = ", ".join(f"{name} {p:.3g}" for name, p in p_values.items())
    largest = math.nan if any(math.isnan(p) for p in p_values.values()) else max(p_values.values())
    return Reproduced(largest, note=f"largest {test} P of: {listed}")


# ---------------------------------------------------------------------------------------------
# Cox models (Tables 3 and 4)


def cox_values(dataset: Dataset) -> Values:
    """Return β, HR (95% CI) and Wald P of every row of Tables 3 and 4, and the multivariable claims.

    The models are the chapter's own (analyses.models.paper_model): one fit per cohort, read by every page.
    """
    values: Values = {}
    p_columns = {}
    for table, (endpoint, factors) in COX_TABLES.items():
        model = models.paper_model(dataset.cohort, endpoint)
        note = "; ".join(["Breslow ties, Wald CI", *model.problems])
        rows = model.table.set_index("label")
        p_columns[table] = {}
        for factor in factors:
            row = rows.loc[models.PAPER_LABELS[factor]]
            coding_note = f"{CODINGS[factor].label}; {note}"
            values[f"{table}.{factor}.beta"] = Reproduced(row["beta"], note=coding_note)
            values[f"{table}.{factor}.hr"] = Reproduced(row["hr"], row["lower"], row["upper"], coding_note)
            values[f"{table}.{factor}.p"] = Reproduced(row["p"], note=coding_note)
            p_columns[table][factor] = float(row["p"])
    for entry_id, (table, factors) in MULTIVARIABLE_CLAIMS.items():
        values[entry_id] = _largest_p({factor: p_columns[table][factor] for factor in factors}, "Wald")
    return values


# ---------------------------------------------------------------------------------------------
# Generic: percentages of counts, and the same quantity printed elsewhere


def _denominator(published: pd.DataFrame, entry_id: str, default: int) -> int:
    """Return the denominator an entry declares, or ``default`` when it declares none."""
    declared = published.at[entry_id, "denominator"]
    return default if pd.isna(declared) else int(declared)


def _percent_of(published: pd.DataFrame, entry_id: str, values: Values, n_patients: int) -> Reproduced | None:
    """Return 100 · count / declared denominator for a percentage whose count is reproduced."""
    count = values.get(str(published.at[entry_id, "of"]))
    if count is None:
        return None
    denominator = _denominator(published, entry_id, n_patients)
    declared = "" if pd.notna(published.at[entry_id, "denominator"]) else " (no denominator printed: patients)"
    return Reproduced(PERCENT * count.value / denominator, note=f"{count.value:g}/{denominator}{declared}")


def _same_quantity(published: pd.DataFrame, entry_id: str, values: Values) -> Reproduced | None:
    """Return the reproduced value of the entry this one names in ``see_also``, if units agree."""
    target = str(published.at[entry_id, "see_also"])
    if target not in values or published.at[target, "unit"] != published.at[entry_id, "unit"]:
        return None
    source = values[target]
    if source.note.startswith(SAME_QUANTITY):
        return source
    return replace(source, note="; ".join(filter(None, [f"{SAME_QUANTITY} {target}", source.note])))


def derived_values(published: pd.DataFrame, values: Values, n_patients: int) -> Values:
    """Return the percentages (``of``) and restatements (``see_also``) that follow from ``values``."""
    derived: Values = {}
    pending = [i for i in published.index if i not in values
               and (pd.notna(published.at[i, "of"]) or pd.notna(published.at[i, "see_also"]))]
    while pending:
        known = values | derived
        found = {}
        for entry_id in pending:
            has_count = pd.notna(published.at[entry_id, "of"]) and published.at[entry_id, "unit"] == UNIT_PERCENT
            result = (_percent_of(published, entry_id, known, n_patients) if has_count
                      else _same_quantity(published, entry_id, known) if pd.notna(published.at[entry_id, "see_also"])
                      else None)
            if result is not None:
                found[entry_id] = result
        if not found:
            break
        derived |= found
        pending = [i for i in pending if i not in found]
    return derived


# ---------------------------------------------------------------------------------------------
# Everything


SECTION_FUNCTIONS: tuple[Callable[[Dataset], Values], ...] = (
    cohort_size_values, table1_values, continuous_summary_values, histology_values, subsequent_therapy_values,
    response_values, table5_values, sessions_values, sir_grade_values, survival_values, followup_values,
    subgroup_values, univariable_claim_values, cox_values,
)


def reproduced_values(dataset: Dataset, published: pd.DataFrame | None = None) -> dict[str, Reproduced]:
    """Return the reproduced value of every published number the data can reproduce, by id."""
    if published is None:

        published = load_published()
    values: Values = {}
    for function in SECTION_FUNCTIONS:
        values |= function(dataset)
    values = {entry_id: value for entry_id, value in values.items() if entry_id in published.index}
    values |= derived_values(published, values, len(dataset.cohort))
    return {entry_id: _as_floats(value) for entry_id, value in values.items()}


def _as_floats(value: Reproduced) -> Reproduced:
    """Return the record with plain Python floats (None and NaN kept as they are)."""
    def plain(x: float | None) -> float | None:
        return None if x is None else float(x)

    return Reproduced(float(value.value), plain(value.lower), plain(value.upper), value.note)


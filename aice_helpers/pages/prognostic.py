"""The survival chapters' tables: OS and PFS summaries, follow-up, landmark rates, Tables S1/S2 and
univariable significance, each with the paper's numbers beside the reproduced ones.

Statistics live in :mod:`aice_helpers.stats.survival`; this module chooses the endpoints, the groupings and
the published ids, and lays the results out as the chapters show them. Tolerances for the
comparisons with the paper: medians ±0.5 month, interval limits ±1.0 (months or percentage points),
landmark rates ±1 percentage point, P values on the same side of 0.05.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aice_helpers import study
from aice_helpers.analyses.survival import (
    endpoint_data,
    event_and_censored_counts,
    hr_estimable,
)
from aice_helpers.contract import MISSING_MARK
from aice_helpers.pages.tables import (
    COUNT_ROWS_ATTR,
    ID_COLUMN,
    IDS_ATTR,
    NO,
    PERCENT_ROWS_ATTR,
    YES,
    published_or_none,
    readable_text,
)
from aice_helpers.stats import survival
from aice_helpers.stats.cox import DEFAULT_ALPHA
from aice_helpers.study import (
    ENDPOINTS,
    FACTORS,
    FACTORS_BY_KEY,
    PAPER_CONFLICTING,
    PAPER_SIGNIFICANT,
    Factor,
    paper_univariable_text,
    paper_univariable_verdict,
)

__all__ = [
    "SIGNIFICANCE_LEVEL",
    "PRINTED_DECIMALS",
    "P_DECIMALS",
    "NOT_REACHED",
    "FOLLOWUP_ID",
    "PAPER_FOLLOWUP_DEFINITION",
    "THREE_YEAR_OS_ID",
    "with_article",
    "landmark_label",
    "median_with_interval",
    "hr_with_interval",
    "followup_table",
    "followup_note",
    "survival_summary_with_published",
    "landmark_table_with_published",
    "IntervalReading",
    "read_landmark_interval",
    "landmark_interval_note",
    "identical_landmarks_note",
    "symmetric_median_check",
    "symmetric_median_note",
    "restatements",
    "subgroup_display",
    "subgroup_medians_with_published",
    "subgroup_p_with_published",
    "univariable_significance",
    "significance_note",
    "multiple_testing_summary",
    "multiple_testing_note",
    "diameter_cutoff_sensitivity",
    "diameter_label_note",
    "factor_km_panels",
    "forest_rows",
    "median_methods_note",
    "restatement_note",
    "model_problems_note",
    "not_reached_note",
    "EVENT_COUNTS_ATTR",
    "event_counts",
    "median_interval_methods",
    "landmark_table",
    "transforms_at_landmarks",
    "km_table_near_median",
    "spss_median_steps",
]

SIGNIFICANCE_LEVEL = study.ALPHA
PRINTED_DECIMALS = 1  # the paper prints medians, limits and rates with one decimal
P_DECIMALS = 3
NOT_REACHED = "not reached"
FOLLOWUP_ID = "methods.follow_up.median"
PAPER_FOLLOWUP_DEFINITION = "observed time, all patients"  # the reading the printed range 1.0–112.5 fits
THREE_YEAR_OS_ID = "results.survival.os.year3.rate"


# ---------------------------------------------------------------------------------------------
# Endpoints










def with_article(abbreviation: str) -> str:
    """'an OS' or 'a PFS': an abbreviation with the article its spoken first letter takes."""
    return f"{'an' if abbreviation[:1] in 'AEFHILMNORSX' else 'a'} {abbreviation}"


def landmark_label(months: float) -> str:
    """'1 year', '2 years', … for whole years, else 'N months'."""
    years = months / 12.0
    if years.is_integer():
        return f"{int(years)} year" + ("s" if years != 1 else "")
    return f"{months:g} months"


# ---------------------------------------------------------------------------------------------
# Formatting as the paper prints


def _printed(value: float | None, decimals: int = PRINTED_DECIMALS) -> str:
    """A number rounded as the paper prints it; an en dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.{decimals}f}"


def _printed_p(value: float | None, operator: str | None = "=", decimals: int = P_DECIMALS) -> str:
    """A published P as printed: '<0.001' when the paper gives a bound, else the value."""
    if value is None or pd.isna(value):
        return "–"
    return f"<{value:.{decimals}f}" if operator == "<" else f"{value:.{decimals}f}"


def median_with_interval(estimate: float, lower: float, upper: float, decimals: int = PRINTED_DECIMALS) -> str:
    """'11.0 (8.6–13.4)', 'not reached', or the median alone when its interval is not estimable."""
    if estimate is None or pd.isna(estimate):
        return NOT_REACHED
    if pd.isna(lower) or pd.isna(upper):
        return f"{estimate:.{decimals}f} (–)"
    return f"{estimate:.{decimals}f} ({lower:.{decimals}f}–{upper:.{decimals}f})"


def hr_with_interval(hr: float, lower: float, upper: float) -> str:
    """'1.70 (1.10–2.70)', '1 (reference)' for the reference level, 'not estimable' when missing."""
    if pd.isna(hr):
        return "not estimable"
    if pd.isna(lower) and hr == 1.0:
        return "1 (reference)"
    return f"{hr:.2f} ({lower:.2f}–{upper:.2f})"


def _published_operator(published: pd.DataFrame, entry_id: str) -> str | None:
    """The p_operator of a published P ('<' or '='), None if the entry is absent."""
    if entry_id not in published.index:
        return None
    operator = published.at[entry_id, "p_operator"]
    return None if pd.isna(operator) else str(operator)


def _published_decimals(published: pd.DataFrame, entry_id: str, default: int = PRINTED_DECIMALS) -> int:
    """The number of decimals the paper printed for an entry."""
    if entry_id not in published.index or pd.isna(published.at[entry_id, "decimals"]):
        return default
    return int(published.at[entry_id, "decimals"])


def _rounded(value: float | None, decimals: int = PRINTED_DECIMALS) -> float:
    """A number rounded as the paper prints it; NaN when missing."""
    return math.nan if value is None or pd.isna(value) else round(float(value), decimals)


def _comparison_row(label: dict, statistic: str, reproduced: float | None, verdicts: Any, entry_id: str,
                    field: str) -> dict:
    """One row of a long comparison table (a median, a limit or a rate): numbers rounded as printed, and the
    published number's one status (the same on its estimate and limit rows)."""
    decimals = _published_decimals(verdicts.published, entry_id)
    return label | {"statistic": statistic, "reproduced": _rounded(reproduced, decimals),
                    "published": _rounded(verdicts.value(entry_id, field), decimals),
                    "status": verdicts.status(entry_id), ID_COLUMN: entry_id}


def _with_ids(table: pd.DataFrame) -> pd.DataFrame:
    """Move the rows' published ids from their column into ``attrs`` (shown to tests, not to readers)."""
    ids = table.pop(ID_COLUMN).tolist() if ID_COLUMN in table else []
    table.attrs[IDS_ATTR] = ids
    return table


# ---------------------------------------------------------------------------------------------
# Events, censoring and follow-up




def _count_text(value: float | int | None) -> str:
    """A count as an integer, a share with one decimal, an en dash for 'not applicable'."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 1 or value == 0 else f"{value:.4g}"
    return f"{int(value)}"


def followup_table(cohort: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Median follow-up by three definitions, each beside the paper's 23.5 months (range 1.0–112.5).

    Only the definition the printed range fits is the book's reading of the paper, so only its rows carry
    the published number's status; every row says whether its value would agree with the printed one.
    """
    time, event = endpoint_data(cohort, "os")
    follow = survival.median_followup(time, event)
    definitions = [
        (PAPER_FOLLOWUP_DEFINITION, "range",
         [("median", follow.median_all), ("minimum", follow.range_all[0]), ("maximum", follow.range_all[1])]),
        ("reverse Kaplan-Meier (censoring as the event)", "ci95", [("median", follow.reverse_km.estimate)]),
        ("observed time, censored patients only", "range",
         [("median", follow.median_censored), ("minimum", follow.range_censored[0]),
          ("maximum", follow.range_censored[1])]),
    ]
    fields = {"median": "value", "minimum": "lower", "maximum": "upper"}
    rows = []
    for definition, _, statistics in definitions:
        for statistic, value in statistics:
            row = {"definition": definition, "statistic": statistic, "reproduced": _rounded(value)}
            if verdicts is not None:
                row |= {"published": _rounded(verdicts.value(FOLLOWUP_ID, fields[statistic])),
                        "agrees with the printed number": YES if verdicts.agrees(FOLLOWUP_ID, value, fields[statistic])
                        else NO,
                        "status": verdicts.status(FOLLOWUP_ID) if definition == PAPER_FOLLOWUP_DEFINITION
                        else MISSING_MARK,
                        ID_COLUMN: FOLLOWUP_ID if definition == PAPER_FOLLOWUP_DEFINITION else None}
            rows.append(row)
    return _with_ids(pd.DataFrame(rows))


def followup_note(table: pd.DataFrame) -> str:
    """Which definitions of follow-up reproduce the paper's median and range (from :func:`followup_table`)."""
    lines = []
    column = "agrees with the printed number"
    for definition, part in table.groupby("definition", sort=False):
        median_ok = (part.loc[part["statistic"] == "median", column] == YES).all()
        all_ok = (part[column] == YES).all()
        median = _printed(part.loc[part["statistic"] == "median", "reproduced"].iloc[0])
        if all_ok and len(part) == 3:
            verdict = "matches the printed median and range"
        elif median_ok:
            verdict = "matches the printed median (it has no range)" if len(part) == 1 \
                else "matches the printed median but not the range"
        else:
            verdict = "does not match the printed median"
        lines.append(f"- {definition}: median {median} months, {verdict}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Medians and landmark rates of the whole cohort


def survival_summary_with_published(cohort: pd.DataFrame, verdicts: Any) -> pd.DataFrame:
    """Median PFS and OS with SPSS's symmetric interval, each number beside the paper's, with status."""
    rows = []
    for key, spec in ENDPOINTS.items():
        median = survival.median_spss(*endpoint_data(cohort, key))
        entry_id = f"results.survival.{key}.median"
        label = {"endpoint": spec.short}
        for statistic, field, value in (("median (months)", "value", median.estimate),
                                        ("95% CI lower", "lower", median.lower),
                                        ("95% CI upper", "upper", median.upper)):
            rows.append(_comparison_row(label, statistic, value, verdicts, entry_id, field))
    return _with_ids(pd.DataFrame(rows))








def landmark_table_with_published(cohort: pd.DataFrame, verdicts: Any, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The landmark rates and log-log limits (percent), each beside the paper's, with status."""
    rows = []
    for key, spec in ENDPOINTS.items():
        at = survival.survival_at(*endpoint_data(cohort, key), spec.landmarks, "log-log", alpha)
        for _, row in at.iterrows():
            year = int(row["landmark"] // 12)
            entry_id = f"results.survival.{key}.year{year}.rate"
            label = {"endpoint": spec.short, "landmark": landmark_label(row["landmark"])}
            for statistic, field, value in (("rate (%)", "value", 100.0 * row["survival"]),
                                            ("95% CI lower (%)", "lower", 100.0 * row["lower"]),
                                            ("95% CI upper (%)", "upper", 100.0 * row["upper"])):
                rows.append(_comparison_row(label, statistic, value, verdicts, entry_id, field))
    return _with_ids(pd.DataFrame(rows))


@dataclass(frozen=True)
class IntervalReading:
    """What a printed log-log interval for S(t) says about the estimate it was built around."""

    entry_id: str
    printed: float
    lower: float
    upper: float
    center: float
    implied_n: float
    whole_count: int
    n_patients: int
    count_interval: tuple[float, float]
    printed_interval: tuple[float, float]
    count_matches: bool = field(default=False)


def read_landmark_interval(published: pd.DataFrame, entry_id: str, n_patients: int,
                           alpha: float = DEFAULT_ALPHA) -> IntervalReading:
    """Read a printed landmark rate's log-log interval backwards: its centre, the n its width implies,
    the nearest count k/n and that count's interval without censoring, and the printed rate's interval."""
    from aice_helpers.paper.compare import (
        rounds_to,  # reason: only with the paper; a rerun never loads paper/
    )

    printed = published_or_none(published, entry_id) / 100.0
    lower = published_or_none(published, entry_id, "lower") / 100.0
    upper = published_or_none(published, entry_id, "upper") / 100.0
    center = survival.loglog_interval_center(lower, upper)
    count = int(round(center * n_patients))
    count_interval = survival.uncensored_loglog_interval(count / n_patients, n_patients, alpha)
    matches = rounds_to(100 * lower, 100 * count_interval[0], 1) and rounds_to(100 * upper, 100 * count_interval[1], 1)
    return IntervalReading(entry_id, printed, lower, upper, center,
                           survival.implied_uncensored_n(center, lower, upper, alpha), count, n_patients,
                           count_interval, survival.uncensored_loglog_interval(printed, n_patients, alpha),
                           matches)


def landmark_interval_note(published: pd.DataFrame, n_patients: int, entry_id: str = THREE_YEAR_OS_ID) -> str:
    """The arithmetic showing which estimate a printed landmark interval belongs to (the paper's 3-year OS)."""
    if entry_id not in published.index or pd.isna(published.at[entry_id, "lower"]):
        return ""
    r = read_landmark_interval(published, entry_id, n_patients)
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    inside = r.lower <= r.printed <= r.upper
    # The page's heading paragraph already says what the paper prints and that it cannot be; an estimate inside
    # its interval is said here, since no heading announces it.
    opening = (f"The paper prints {pct(r.printed)} with the interval {pct(r.lower)}–{pct(r.upper)}, and the estimate "
               f"lies inside its interval. " if inside else "")
    text = (opening
            + f"A log-log interval is symmetric on the scale $\\log(-\\log S)$, so the middle of the printed interval "
              f"{pct(r.lower)}–{pct(r.upper)} on that scale, taken back to a probability, is the estimate it was built "
              f"around: "
              f"$\\exp\\{{-\\sqrt{{\\log {r.lower:.3f} \\cdot \\log {r.upper:.3f}}}\\}} = {r.center:.3f}$, "
              f"that is {pct(r.center)}. The width of the interval tells how many patients stood behind it: with no "
              f"censoring before the landmark, an interval this wide around {pct(r.center)} needs "
              f"{r.implied_n:.1f} patients, and the study had {r.n_patients}. ")
    if r.count_matches:
        text += (f"Indeed {r.whole_count} of {r.n_patients} patients ({pct(r.whole_count / r.n_patients)}) alive at "
                 f"the landmark, with nobody censored before it, gives exactly "
                 f"{pct(r.count_interval[0])}–{pct(r.count_interval[1])}. ")
    text += (f"An estimate of {pct(r.printed)} in {r.n_patients} patients would instead have the interval "
             f"{pct(r.printed_interval[0])}–{pct(r.printed_interval[1])}. ")
    if not inside:
        text += (f"So the interval supports an estimate near {pct(r.center)}, and the printed {pct(r.printed)} is "
                 f"the number that does not fit, lying outside its own interval: the book marks it as contradicted "
                 f"by the paper and compares the data only with the interval.")
    return text


def _landmark_name(entry_id: str) -> str:
    """A landmark rate's id in words: 'results.survival.pfs.year1.rate' → '1-year PFS rate'."""
    parts = entry_id.split(".")
    endpoint, year = parts[2], parts[3].removeprefix("year")
    name = ENDPOINTS[endpoint].short if endpoint in ENDPOINTS else endpoint.upper()
    return f"{year}-year {name} rate"


def identical_landmarks_note(published: pd.DataFrame, n_patients: int) -> str:
    """A sentence for each pair of landmark rates the paper prints with the same value and interval."""
    ids = [i for i in published.index if i.startswith("results.survival.") and i.endswith(".rate")]
    sentences = []
    for position, first in enumerate(ids):
        for second in ids[position + 1:]:
            same = all(published_or_none(published, first, f) == published_or_none(published, second, f)
                       for f in ("value", "lower", "upper"))
            if same:
                value = published_or_none(published, first)
                count = int(round(value / 100.0 * n_patients))
                sentences.append(
                    f"The paper prints the same rate and interval, {value:.1f}% "
                    f"({published_or_none(published, first, 'lower'):.1f}–"
                    f"{published_or_none(published, first, 'upper'):.1f}%), for the {_landmark_name(first)} and the "
                    f"{_landmark_name(second)}; "
                    f"both are what {count} of {n_patients} patients without censoring would give. Two different "
                    f"endpoints at two different times can share a rate, but an identical interval as well "
                    f"suggests one of them was copied.")
    return " ".join(sentences)


def symmetric_median_check(published: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """For printed medians with SPSS's symmetric interval: the interval's midpoint beside the median.

    A symmetric interval is centred on its median, so the midpoint of the printed limits should equal
    the printed median to rounding (each number carries up to 0.05 of rounding: 0.1 at most in all).
    """
    rows = []
    for entry_id in ids:
        value = published_or_none(published, entry_id)
        lower, upper = (published_or_none(published, entry_id, f) for f in ("lower", "upper"))
        if value is None or lower is None or upper is None:
            continue
        midpoint = (lower + upper) / 2.0
        rows.append({"published id": entry_id, "median": value, "lower": lower, "upper": upper,
                     "midpoint of limits": round(midpoint, 2), "median − midpoint": round(value - midpoint, 2),
                     "centred to rounding": abs(value - midpoint) <= 0.1 + 1e-9})
    return pd.DataFrame(rows)


def symmetric_median_note(check: pd.DataFrame) -> str:
    """Sentences for the printed medians that are not the centre of their own symmetric interval."""
    off = check[~check["centred to rounding"]]
    if off.empty:
        return "Every printed median sits in the middle of its interval, as a symmetric interval requires."
    sentences = [f"- `{row['published id']}`: median {row['median']:.1f}, interval {row['lower']:.1f}–"
                 f"{row['upper']:.1f}, whose midpoint is {row['midpoint of limits']:.2f}"
                 + (" (the median lies outside its own interval)" if not row["lower"] <= row["median"] <= row["upper"]
                    else "") + "."
                 for _, row in off.iterrows()]
    return ("Printed medians that are not the centre of their own symmetric interval:\n\n" + "\n".join(sentences))


def restatements(published: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Entries elsewhere in the paper that restate a number whose id starts with ``prefix`` (see_also)."""
    targets = published[published["see_also"].fillna("").str.startswith(prefix)]
    rows = []
    for entry_id, row in targets.iterrows():
        original = published_or_none(published, row["see_also"])
        value = published_or_none(published, entry_id)
        rows.append({"where": row["section"], "id": entry_id, "printed": value, "restates": row["see_also"],
                     "original": original, "same": original is not None and value == original})
    return pd.DataFrame(rows, columns=["where", "id", "printed", "restates", "original", "same"])


# ---------------------------------------------------------------------------------------------
# Teaching: the Kaplan–Meier table near the median








# ---------------------------------------------------------------------------------------------
# Prognostic factors (Tables S1/S2)























def subgroup_display(table: pd.DataFrame) -> pd.DataFrame:
    """Tables S1/S2 as a journal prints them: median (95% CI), log-rank P once per factor, HR (95% CI), P."""
    first = ~table.duplicated(subset=["factor"])
    out = pd.DataFrame({
        "factor": table["label"].to_numpy(),
        "group": table["level"].astype(str).to_numpy(),
        "n": table["n"].astype(int),
        "events": table["events"].astype(int),
        "median, months (95% CI)": [median_with_interval(m, lo, hi) for m, lo, hi in
                                    zip(table["median"], table["median_lower"], table["median_upper"])],
        "log-rank P": [survival.format_p_value(p) if is_first else "" for p, is_first in
                       zip(table["logrank_p"], first)],
        "HR (95% CI)": [hr_with_interval(h, lo, hi) if pd.isna(lo) or hr_estimable(level, h, hi, problem)
                        else "not estimable"
                        for level, h, lo, hi, problem in zip(table["level"], table["hr"], table["hr_lower"],
                                                             table["hr_upper"], table["model_problem"])],
        "Wald P": ["" if pd.isna(p) or (pd.notna(lo) and not hr_estimable(level, h, hi, problem))
                   else survival.format_p_value(p)
                   for level, h, lo, hi, p, problem in zip(table["level"], table["hr"], table["hr_lower"],
                                                           table["hr_upper"], table["hr_p"], table["model_problem"])],
    })
    return out.set_index(["factor", "group"])


def _published_median_id(published: pd.DataFrame, factor: Factor, endpoint: str, level: str) -> str | None:
    """The id of the paper's printed median for a factor level (the paper labels some levels two ways)."""
    for part in factor.published_levels.get(level, ()):
        entry_id = f"results.subgroup.{factor.key}.{endpoint}.{part}.median"
        if entry_id in published.index:
            return entry_id
    return None


def subgroup_medians_with_published(tables: Mapping[str, pd.DataFrame], verdicts: Any) -> pd.DataFrame:
    """Every subgroup median and interval limit the paper prints, beside the reproduced one, with status."""
    rows = []
    for endpoint, table in tables.items():
        for factor in (f for f in FACTORS if f.published_levels):
            part = table[table["factor"] == factor.key].set_index("level")
            for level in factor.published_levels:
                entry_id = _published_median_id(verdicts.published, factor, endpoint, level)
                if entry_id is None:
                    continue
                row = part.loc[level] if level in part.index else None
                label = {"endpoint": ENDPOINTS[endpoint].short, "factor": factor.label, "group": level}
                for statistic, column, field_name in (("median (months)", "median", "value"),
                                                      ("95% CI lower", "median_lower", "lower"),
                                                      ("95% CI upper", "median_upper", "upper")):
                    value = None if row is None else row[column]
                    rows.append(_comparison_row(label, statistic, value, verdicts, entry_id, field_name))
    return _with_ids(pd.DataFrame(rows, columns=["endpoint", "factor", "group", "statistic", "reproduced", "published",
                                                 "status", ID_COLUMN]))


def subgroup_p_with_published(tables: Mapping[str, pd.DataFrame], verdicts: Any) -> pd.DataFrame:
    """Every subgroup log-rank P the paper prints, beside the reproduced one (as journals print P), with status."""
    rows = []
    for endpoint, table in tables.items():
        for factor in FACTORS:
            p_id = f"results.subgroup.{factor.key}.{endpoint}.p"
            part = table[table["factor"] == factor.key]
            if p_id not in verdicts or part.empty:
                continue
            reproduced = float(part["logrank_p"].iloc[0])
            operator = _published_operator(verdicts.published, p_id)
            value = verdicts.value(p_id)
            rows.append({"endpoint": ENDPOINTS[endpoint].short, "factor": factor.label,
                         "n": int(part["n"].sum()), "events": int(part["events"].sum()),
                         "log-rank P": survival.format_p_value(reproduced),
                         "published": _printed_p(value, operator),
                         "status": verdicts.status(p_id), ID_COLUMN: p_id})
    return _with_ids(pd.DataFrame(rows, columns=["endpoint", "factor", "n", "events", "log-rank P", "published",
                                                 "status", ID_COLUMN]))


def univariable_significance(tables: Mapping[str, pd.DataFrame], threshold: float = SIGNIFICANCE_LEVEL,
                             compare: bool = True) -> pd.DataFrame:
    """Per factor and endpoint: the log-rank P, whether it is below ``threshold``, and (if ``compare``) the
    paper's verdict and whether the two agree."""
    rows = []
    for factor in FACTORS:
        row = {"factor": factor.label}
        for endpoint, table in tables.items():
            short = ENDPOINTS[endpoint].short
            p = table.loc[table["factor"] == factor.key, "logrank_p"]
            p = float(p.iloc[0]) if len(p) else math.nan
            ours = (not math.isnan(p)) and p < threshold
            paper = paper_univariable_verdict(factor.key, endpoint)  # the one story every chapter tells
            row |= {f"{short} log-rank P": survival.format_p_value(p), f"{short}: here": "P < 0.05" if ours else "n.s."}
            if compare:
                agrees = PAPER_CONFLICTING if paper == PAPER_CONFLICTING else (
                    YES if ours == (paper == PAPER_SIGNIFICANT) else NO)
                row |= {f"{short}: paper": paper, f"{short} agrees": agrees}
        rows.append(row)
    return pd.DataFrame(rows).set_index("factor")


def significance_note(significance: pd.DataFrame) -> str:
    """A summary of where this data's univariable verdicts agree with the paper's, computed from the table."""
    sentences = []
    for short in [ENDPOINTS[k].short for k in ("os", "pfs")]:
        column = f"{short} agrees"
        if column not in significance:
            continue
        disagree = significance.index[significance[column] == NO].tolist()
        conflicting = significance.index[significance[column] == PAPER_CONFLICTING].tolist()
        ours = int((significance[f"{short}: here"] == "P < 0.05").sum())
        paper = int((significance[f"{short}: paper"] == PAPER_SIGNIFICANT).sum())
        text = (f"For {short}, {ours} of the {len(significance)} codings reach P < 0.05 here, against {paper} "
                f"the paper reports as significant; ")
        text += ("the verdicts agree for every factor the paper is clear about." if not disagree
                 else f"they differ for {len(disagree)}: " + "; ".join(disagree) + ".")
        key_of = {f.label: f.key for f in FACTORS}
        endpoint = next(k for k, e in ENDPOINTS.items() if e.short == short)
        text += "".join(f" On *{label}* the paper is not clear: {paper_univariable_text(key_of[label], endpoint)}."
                        for label in conflicting)
        sentences.append(text)
    return " ".join(sentences)


def multiple_testing_summary(tables: Mapping[str, pd.DataFrame], alpha: float = SIGNIFICANCE_LEVEL) -> pd.DataFrame:
    """How many tests Tables S1/S2 run, how many false positives chance alone would give, and what survives
    Bonferroni's and Holm's corrections of the log-rank P values."""
    logrank_p = pd.concat([t.drop_duplicates("factor")["logrank_p"] for t in tables.values()]).dropna().to_numpy()
    wald = int(sum(t["hr_p"].notna().sum() for t in tables.values()))
    m = len(logrank_p)
    ordered = np.sort(logrank_p)
    holm = 0
    for rank, p in enumerate(ordered):
        if p > alpha / (m - rank):
            break
        holm += 1
    rows = [
        ("log-rank tests (factors × endpoints)", m),
        ("Wald tests of hazard ratios (one per non-reference group)", wald),
        ("all tests in the two tables", m + wald),
        (f"false positives expected at {alpha:g} if no factor mattered", round(alpha * m, 2)),
        ("chance of at least one false positive (independent tests)", round(1.0 - (1.0 - alpha) ** m, 3)),
        (f"log-rank tests below {alpha:g} in this data", int((logrank_p < alpha).sum())),
        ("Bonferroni threshold for the log-rank tests", round(alpha / m, 5) if m else math.nan),
        ("log-rank tests below the Bonferroni threshold", int((logrank_p < alpha / m).sum()) if m else 0),
        ("log-rank tests kept by Holm's step-down procedure", holm),
    ]
    return pd.DataFrame([(quantity, _count_text(value)) for quantity, value in rows],
                        columns=["quantity", "value"]).set_index("quantity")


def multiple_testing_note(summary: pd.DataFrame, alpha: float = SIGNIFICANCE_LEVEL) -> str:
    """The multiple-testing warning in words, with this data's numbers."""
    value = {quantity: float(text) for quantity, text in summary["value"].items()}
    m = int(value["log-rank tests (factors × endpoints)"])
    expected = alpha * m
    observed = int(value[f"log-rank tests below {alpha:g} in this data"])
    bonferroni = int(value["log-rank tests below the Bonferroni threshold"])
    holm = int(value["log-rank tests kept by Holm's step-down procedure"])
    total = int(value["all tests in the two tables"])
    if m == 0:
        return ("No log-rank test could be computed in these two tables (no events, or every factor has a single "
                "group), so there is nothing to correct for multiple testing.")
    return (f"These two tables run {m} log-rank tests ({total} tests counting each hazard ratio's Wald test). If "
            f"none of the factors had anything to do with survival, about {expected:.1f} of the log-rank tests would "
            f"still fall below {alpha:g}, and the chance of at least one such false alarm would be about "
            f"{100 * (1 - (1 - alpha) ** m):.0f}% (less in practice, because OS and PFS and the two codings of grade "
            f"and of response are strongly correlated). Here {observed} fall below {alpha:g}; {bonferroni} stay "
            f"below the Bonferroni threshold {alpha:g}/{m} = {alpha / m:.4f}, and Holm's procedure keeps {holm}. "
            f"A factor that passes only the uncorrected threshold is a lead to check in other data, not a finding.")


def diameter_cutoff_sensitivity(cohort: pd.DataFrame, cutoff: float = study.DIAMETER_CUTOFF_CM) -> pd.DataFrame:
    """Tumour size split both ways the paper writes it (<10 vs ≥10, ≤10 vs >10): n, medians and log-rank P
    (no P, shown '–', when every tumour falls on one side of the cut)."""
    diameter = cohort["max_diameter_cm"].to_numpy(float)
    codings = {f"<{cutoff:g} vs ≥{cutoff:g} (Table 1)": (diameter >= cutoff, f"<{cutoff:g}", f"≥{cutoff:g}"),
               f"≤{cutoff:g} vs >{cutoff:g} (Tables 3 and 4)": (diameter > cutoff, f"≤{cutoff:g}", f">{cutoff:g}")}
    rows = []
    for endpoint, spec in ENDPOINTS.items():
        time, event = endpoint_data(cohort, endpoint)
        for coding, (large, small_label, large_label) in codings.items():
            groups = np.where(large, large_label, small_label)
            small_median = survival.median_spss(time[~large], event[~large])
            large_median = survival.median_spss(time[large], event[large])
            rows.append({"endpoint": spec.short, "coding": coding,
                         "n small": int((~large).sum()), "n large": int(large.sum()),
                         "median small": small_median.estimate, "median large": large_median.estimate,
                         "log-rank P": survival.format_p_value(
                             survival.logrank(time, event, groups).p if 0 < large.sum() < large.size else math.nan)})
    return pd.DataFrame(rows).set_index(["endpoint", "coding"])


def diameter_label_note(cohort: pd.DataFrame, published: pd.DataFrame,
                        cutoff: float = study.DIAMETER_CUTOFF_CM) -> str:
    """The '<10' / '≤10' labelling of tumour size in the paper and what it changes in this data."""
    at_cutoff = int(np.isclose(cohort["max_diameter_cm"].to_numpy(float), cutoff).sum())
    small = {}
    for entry_id in published.index:
        if entry_id.startswith("results.subgroup.max_diameter_cm.") and entry_id.endswith(".median"):
            group = str(published.at[entry_id, "group"])
            if group.startswith(("<", "≤")):
                small[ENDPOINTS[str(published.at[entry_id, "endpoint"])].short] = group
    labels = " and ".join(f"'{group}' for {short}" for short, group in small.items()) or "no label"
    change = ("so both codings put every patient in the same group and give identical results"
              if at_cutoff == 0 else
              f"and {'this patient moves' if at_cutoff == 1 else 'these patients move'} from the large-tumour group "
              f"to the small-tumour group when the cut is read as ≤{cutoff:g} vs >{cutoff:g}")
    patients = ("no patient has" if at_cutoff == 0 else "1 patient has" if at_cutoff == 1
                else f"{at_cutoff} patients have")
    return (f"The paper does not label the smaller tumours the same way twice: Table 1 splits at <{cutoff:g} vs "
            f"≥{cutoff:g} cm, the subgroup paragraph writes {labels}, and Tables 3 and 4 write >{cutoff:g} vs "
            f"≤{cutoff:g}. The "
            f"labels matter only for a tumour of exactly {cutoff:g} cm. In this data {patients} a recorded maximum "
            f"diameter of exactly {cutoff:g} cm, "
            f"{change}. The tables here follow Table 1.")


# ---------------------------------------------------------------------------------------------
# Curves for the figures


def factor_km_panels(cohort: pd.DataFrame, factor_key: str, endpoints: Sequence[str] = ("os", "pfs"),
                     tables: Mapping[str, pd.DataFrame] | None = None) -> list[dict]:
    """One plots.km_grid panel per endpoint: the curves of each level of the factor, with the log-rank P
    (taken from ``tables`` of :func:`subgroup_tables` when given, else computed)."""
    factor = FACTORS_BY_KEY[factor_key]
    groups = pd.Series(factor.grouping(cohort))
    levels = [level for level in groups.cat.categories if (groups == level).any()]
    panels = []
    for endpoint in endpoints:
        time, event = endpoint_data(cohort, endpoint)
        curves = {str(level): (time[(groups == level).to_numpy()], event[(groups == level).to_numpy()])
                  for level in levels}
        p = None
        if len(levels) > 1 and tables is not None and endpoint in tables:
            p = float(tables[endpoint].loc[tables[endpoint]["factor"] == factor_key, "logrank_p"].iloc[0])
        elif len(levels) > 1:
            known = groups.notna().to_numpy()  # patients whose factor is missing are left out of the test
            p = survival.logrank(time[known], event[known], groups[known].astype(str).to_numpy()).p
        panels.append({"curves": curves, "title": f"{ENDPOINTS[endpoint].name}", "logrank_p": p})
    return panels


def forest_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The non-reference rows of a subgroup table, labelled 'factor: level vs reference', for plots.forest_plot;
    hazard ratios that are not estimable are left missing."""
    rows = []
    for _, part in table.groupby("factor", sort=False):
        reference = part["level"].iloc[0]
        for _, row in part.iloc[1:].iterrows():
            shown = hr_estimable(row["level"], row["hr"], row["hr_upper"], row["model_problem"])
            rows.append({"comparison": f"{row['label'].split(',')[0]}: {row['level']} vs {reference}",
                         "hr": row["hr"] if shown else math.nan, "lower": row["hr_lower"] if shown else math.nan,
                         "upper": row["hr_upper"] if shown else math.nan, "p": row["hr_p"] if shown else math.nan})
    return pd.DataFrame(rows, columns=["comparison", "hr", "lower", "upper", "p"])


def median_methods_note(methods: pd.DataFrame) -> str:
    """Sentences comparing the SPSS interval with the Brookmeyer–Crowley ones, from :func:`median_interval_methods`."""
    sentences = []
    counts = methods.attrs.get(EVENT_COUNTS_ATTR, {})
    for short, part in methods.reset_index().groupby("endpoint", sort=False):
        spss = part[part["method"].str.startswith("symmetric")].iloc[0]
        others = part[~part["method"].str.startswith("symmetric")]
        events, censored = counts.get(short, (None, None))
        if events == 0:
            sentences.append(f"No patient had {with_article(short)} event, so the Kaplan–Meier curve stays at 1: "
                             f"the median is not reached, no method gives an interval, and the landmark rates are "
                             f"100% without an interval (the log-log interval is not defined at S(t) = 1).")
            continue
        if censored == 0 and short == ENDPOINTS["os"].short:
            sentences.append("Every patient died, so no one is censored for OS: the reverse Kaplan–Meier median "
                             "follow-up and the follow-up of censored patients cannot be computed.")
        if pd.isna(spss["median"]):
            sentences.append(f"The median {short} is not reached, so no method gives an interval.")
            continue
        limits = [f"{_limits_text(row['lower'], row['upper'])} with the {row['method'].split(', ')[-1]}"
                  for _, row in others.iterrows()]
        listed = ", ".join(limits[:-1]) + f" and {limits[-1]}" if len(limits) > 1 else "".join(limits)
        spss_text = (f"SPSS's interval {_printed(spss['lower'])}–{_printed(spss['upper'])} reaches "
                     f"{_printed(spss['below median'])} months to either side"
                     if pd.notna(spss["lower"]) and pd.notna(spss["upper"]) else
                     "SPSS gives no interval, because the curve never falls to 0.45 and the density its standard "
                     "error needs cannot be estimated")
        missing = " 'Not reached' marks a limit where the pointwise band never crosses 0.5." if others[
            ["lower", "upper"]].isna().any().any() else ""
        sentences.append(
            f"For {short} the median is {spss['median']:.1f} months. {spss_text}; the Brookmeyer–Crowley intervals "
            f"run {listed}. Their limits are observed times (or midpoints between two), and they need not be "
            f"symmetric.{missing}")
    return " ".join(sentences)


def _limits_text(lower: float, upper: float) -> str:
    """'8.5–13.0', or with 'not reached' for a limit the pointwise band never reaches."""
    return f"{_printed(lower) if pd.notna(lower) else NOT_REACHED}–{_printed(upper) if pd.notna(upper) else NOT_REACHED}"


def restatement_note(table: pd.DataFrame) -> str:
    """Sentences for the numbers the paper restates elsewhere with a different value (from :func:`restatements`)."""
    differing = table[~table["same"]]
    if differing.empty:
        return "Wherever the paper restates these numbers elsewhere, it restates them unchanged." if len(table) else ""
    return "Where the paper restates these numbers, it does not always repeat them: " + "; ".join(
        f"the {row['where']} prints {row['printed']:g} for `{row['restates']}`, which the results give as "
        f"{row['original']:g}" for _, row in differing.iterrows()) + "."


def model_problems_note(tables: Mapping[str, pd.DataFrame]) -> str:
    """One line per factor whose univariable Cox model had a problem (empty string when none had)."""
    lines = []
    for endpoint, table in tables.items():
        if not table["events"].any():
            lines.append(f"- {ENDPOINTS[endpoint].short}: no patient had an event, so no Cox model can be fitted.")
            continue
        problems = table.drop_duplicates("factor")
        for _, row in problems[problems["model_problem"] != ""].iterrows():
            lines.append(f"- {ENDPOINTS[endpoint].short}, {row['label']}: {readable_text(row['model_problem'])}")
    if not lines:
        return "Every univariable Cox model converged without a warning."
    return "Hazard ratios to read with care (the model warned):\n\n" + "\n".join(lines)


def not_reached_note(tables: Mapping[str, pd.DataFrame]) -> str:
    """A sentence naming the groups whose median is not reached or has no interval (SPSS prints none)."""
    groups, without_events = [], []
    for endpoint, table in tables.items():
        if not table["events"].any():
            without_events.append(ENDPOINTS[endpoint].short)
            continue
        for _, row in table.iterrows():
            if not row["median_reached"]:
                groups.append(f"{ENDPOINTS[endpoint].short}, {row['label']}: {row['level']} (median not reached)")
            elif pd.isna(row["median_lower"]):
                groups.append(f"{ENDPOINTS[endpoint].short}, {row['label']}: {row['level']} (no interval)")
    negative = [f"{ENDPOINTS[e].short}, {row['label']}: {row['level']}" for e, t in tables.items()
                for _, row in t.iterrows() if pd.notna(row["median_lower"]) and row["median_lower"] < 0]
    text = ""
    if without_events:
        pronoun = "it" if len(without_events) == 1 else "them"
        text += (f"No patient had {with_article(' or '.join(without_events))} event, so no group reaches its "
                 f"median, and no log-rank test or hazard ratio can be computed for {pronoun}. ")
    if groups:
        text += ("In some groups fewer than half of the patients had an event, or the curve never fell to 0.45, so "
                 "the median or its SPSS interval cannot be computed: " + "; ".join(groups) + ". ")
    if negative:
        text += ("SPSS's symmetric interval does not stop at zero, so in small groups its lower limit can be a "
                 "negative number of months, which no survival time can be: " + "; ".join(negative) + ".")
    return text.strip()


# ---------------------------------------------------------------------------------------------
# Survival tables as the chapter shows them


EVENT_COUNTS_ATTR = "event_counts"  # attrs key of median_interval_methods: {endpoint short: (events, censored)}

def event_counts(cohort: pd.DataFrame) -> pd.DataFrame:
    """Patients, events and censored observations per endpoint, with two consistency counts for PFS."""
    os_time, os_event = endpoint_data(cohort, "os")
    pfs_time, pfs_event = endpoint_data(cohort, "pfs")
    at_death = (pfs_event == 1) & (os_event == 1) & np.isclose(pfs_time, os_time)
    rows = [
        ("patients", len(cohort), len(cohort)),
        ("events (OS: deaths; PFS: progression or death)", int(os_event.sum()), int(pfs_event.sum())),
        ("censored at the last contact",
         int((os_event == 0).sum()), int((pfs_event == 0).sum())),
        ("share censored (%)", round(100.0 * (os_event == 0).mean(), 1), round(100.0 * (pfs_event == 0).mean(), 1)),
        ("PFS events dated at the patient's death (PFS time = OS time)", None, int(at_death.sum())),
        ("patients who died but are censored for PFS (should be none)", None,
         int(((os_event == 1) & (pfs_event == 0)).sum())),
    ]
    shown = [(quantity, _count_text(os_value), _count_text(pfs_value)) for quantity, os_value, pfs_value in rows]
    table = pd.DataFrame(shown, columns=["quantity", "OS", "PFS"]).set_index("quantity")
    table.attrs[COUNT_ROWS_ATTR] = [quantity for quantity, _, _ in rows if "(%)" not in quantity]
    table.attrs[PERCENT_ROWS_ATTR] = {"share censored (%)": "censored at the last contact"}
    return table

def median_interval_methods(cohort: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The median of PFS and OS with the SPSS interval and the Brookmeyer–Crowley intervals, rounded."""
    parts = []
    for key, spec in ENDPOINTS.items():
        part = survival.median_intervals(*endpoint_data(cohort, key), alpha=alpha)
        part.insert(0, "endpoint", spec.short)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table["below median"] = table["median"] - table["lower"]
    table["above median"] = table["upper"] - table["median"]
    numeric = ["median", "lower", "upper", "width", "below median", "above median"]
    table[numeric] = table[numeric].round(PRINTED_DECIMALS)
    table = table.set_index(["endpoint", "method"])
    table.attrs[EVENT_COUNTS_ATTR] = {spec.short: event_and_censored_counts(cohort, key)
                                      for key, spec in ENDPOINTS.items()}
    return table

def landmark_table(cohort: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """S(t) in percent with its log-log Greenwood interval at the paper's landmarks, with numbers at risk."""
    rows = []
    for key, spec in ENDPOINTS.items():
        at = survival.survival_at(*endpoint_data(cohort, key), spec.landmarks, "log-log", alpha)
        for _, row in at.iterrows():
            rows.append({"endpoint": spec.short, "landmark": landmark_label(row["landmark"]),
                         "months": row["landmark"], "at risk": int(row["at_risk"]),
                         "events so far": int(row["events_to_t"]), "rate (%)": 100.0 * row["survival"],
                         "lower (%)": 100.0 * row["lower"], "upper (%)": 100.0 * row["upper"]})
    table = pd.DataFrame(rows)
    percent = ["rate (%)", "lower (%)", "upper (%)"]
    table[percent] = table[percent].round(PRINTED_DECIMALS)
    return table.set_index(["endpoint", "landmark"])

def transforms_at_landmarks(cohort: pd.DataFrame, endpoint: str, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """S(t) at the endpoint's landmarks with the plain, log and log-log intervals, in percent."""
    spec = ENDPOINTS[endpoint]
    table = survival.survival_at_transforms(*endpoint_data(cohort, endpoint), spec.landmarks, alpha)
    table = table.sort_values("landmark", kind="stable")
    out = pd.DataFrame({"landmark": [landmark_label(m) for m in table["landmark"]],
                        "transform": table["transform"],
                        "S(t) (%)": 100.0 * table["survival"],
                        "lower (%)": 100.0 * table["lower"], "upper (%)": 100.0 * table["upper"]})
    out["below estimate"] = out["S(t) (%)"] - out["lower (%)"]
    out["above estimate"] = out["upper (%)"] - out["S(t) (%)"]
    return out.round(PRINTED_DECIMALS).set_index(["landmark", "transform"])


def km_table_near_median(cohort: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """The Kaplan–Meier table (aggregate counts per time) from the last time with S ≥ 0.55 to the first with S ≤ 0.45."""
    time, event = endpoint_data(cohort, endpoint)
    table = survival.km_table(time, event)
    events = table[table["events"] > 0]
    u, _, l, _ = survival.collett_points(events.index.to_numpy(float), events["survival"].to_numpy(float))
    upper_end = l if not math.isnan(l) else float(table.index.max())
    part = table.loc[(table.index >= u) & (table.index <= upper_end)].copy()
    part["factor 1 − d/n"] = 1.0 - part["events"] / part["at_risk"]
    part["SE of S"] = part["survival"] * np.sqrt(part["greenwood"])
    part = part.rename(columns={"at_risk": "at risk n", "events": "events d", "survival": "S(t)",
                                "greenwood": "Greenwood sum"})
    part = part[["at risk n", "events d", "censored", "factor 1 − d/n", "S(t)", "Greenwood sum", "SE of S"]]
    for column in ("factor 1 − d/n", "S(t)", "Greenwood sum", "SE of S"):
        part[column] = [f"{value:.4f}" for value in part[column]]
    part.index = [f"{t:g}" for t in part.index]
    part.index.name = "time (months)"
    return part


def spss_median_steps(cohort: pd.DataFrame, endpoint: str, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The steps of SPSS's median interval for one endpoint, values shown to four decimals."""
    steps = survival.median_spss_steps(*endpoint_data(cohort, endpoint), alpha=alpha)
    steps["value"] = [_printed(value, 4) for value in steps["value"]]
    return steps.set_index("quantity")

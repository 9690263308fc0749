"""Radiological response (RECIST 1.1): counts, ORR and DCR with intervals, and ORR by subgroup.

Choices:
- Rates are fractions of *all* patients in the cohort (the paper's "among the total population").
- Intervals come from statsmodels' ``proportion_confint``: Clopper–Pearson ("beta", which
  reproduces the paper's 28.3–46.8 % and 67.1–83.6 %) or Wilson score without continuity correction.
- Subgroup association test (Methods: "chi-square or Fisher's exact test"): the uncorrected Pearson
  χ² when every expected count is >= 5; otherwise Fisher's exact test — scipy's two-sided
  ``fisher_exact`` for a 2x2 table, and for a factor with more than two levels the exact
  Fisher–Freeman–Halton test, computed here by enumerating every r x 2 table with the observed
  margins (probability ordering, as scipy and R do). If that enumeration would exceed
  ``MAX_EXACT_TABLES`` tables, scipy's Monte Carlo version (seeded, ``MONTE_CARLO_RESAMPLES``
  tables) is used and the test name says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aice_helpers import study
from aice_helpers.analyses.response import (
    disease_control_rate,
    objective_response_rate,
    response_counts,
)
from aice_helpers.contract import RESPONSES
from aice_helpers.pages.tables import IDS_ATTR, comparison_with_published
from aice_helpers.stats.proportions import (
    MIN_EXPECTED_COUNT,
    TEST_PEARSON,
    Proportion,
)
from aice_helpers.synthetic.extras import BEST_PCT_CHANGE, SESSION_MONTH

__all__ = [
    "DEFAULT_ALPHA",
    "RESPONSE_LABELS",
    "RATE_LABELS",
    "RATE_FUNCTIONS",
    "CI_METHOD_LABELS",
    "STATISTICS",
    "RATE_DECIMALS",
    "REPRODUCED_DECIMALS",
    "SIGNIFICANCE_LEVEL",
    "response_id",
    "rate_id",
    "response_counts_with_published",
    "rate_intervals",
    "rates_with_published",
    "rates_table",
    "interval_method_note",
    "format_p_value",
    "p_value_phrase",
    "subgroup_display_table",
    "subgroup_tests_note",
    "PER_PATIENT_FIGURES_ENV",
    "WATERFALL_COLUMNS",
    "SWIMMER_SESSION_COLUMNS",
    "missing_columns",
    "missing_columns_note",
    "per_patient_figures_allowed",
    "missing_data_note",
]

DEFAULT_ALPHA = study.ALPHA



















# ----------------------------------------------------------------------------- association tests


















# ----------------------------------------------------------------------------- ORR by subgroup








# ----------------------------------------------------------------------------- the chapter's tables

RESPONSE_LABELS: dict[str, str] = dict(zip(RESPONSES, (
    "Complete response (CR)",
    "Partial response (PR)",
    "Stable disease (SD)",
    "Progressive disease (PD)",
), strict=True))
RATE_LABELS: dict[str, str] = {"ORR": "Objective response rate", "DCR": "Disease control rate"}
RATE_FUNCTIONS: dict[str, Callable[..., Proportion]] = {"ORR": objective_response_rate,
                                                        "DCR": disease_control_rate}
CI_METHOD_LABELS: dict[str, str] = {"clopper_pearson": "Clopper–Pearson (exact)", "wilson": "Wilson score"}
STATISTICS: tuple[str, ...] = ("estimate", "lower limit", "upper limit")
RATE_DECIMALS = 1  # the paper prints rates and limits with one decimal
LIMIT_TOLERANCE_ATTR = "limit_tolerance"  # attrs key: the tolerance paper.compare allows an interval limit
REPRODUCED_DECIMALS = 2  # one more than printed, so a truncated printed limit is visible

SIGNIFICANCE_LEVEL = study.ALPHA


def response_id(response: str) -> str:
    """Return the published-number id of a best-response count, e.g. 'results.response.pr'."""
    return f"results.response.{response.lower()}"


def rate_id(rate: str) -> str:
    """Return the published-number id of ORR or DCR, e.g. 'results.response.orr'."""
    return f"results.response.{rate.lower()}"


def response_counts_with_published(cohort: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Return CR, PR, SD, PD counts and percent of all patients, with the paper's beside and a status."""
    counts = response_counts(cohort)
    table = pd.DataFrame({"response": [RESPONSE_LABELS[r] for r in counts.index],
                          "n": counts["n"].to_numpy(),
                          "percent": counts["percent"].round(RATE_DECIMALS).to_numpy()})
    ids = [response_id(r) for r in counts.index]
    return comparison_with_published(table, ids, verdicts).set_index("response")


def rate_intervals(cohort: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> dict[tuple[str, str], Proportion]:
    """Return ORR and DCR with each interval method, keyed by (rate, method)."""
    return {(rate, method): function(cohort, method, alpha)  # type: ignore[arg-type]
            for rate, function in RATE_FUNCTIONS.items() for method in CI_METHOD_LABELS}


def rates_with_published(cohort: pd.DataFrame, verdicts: Any) -> pd.DataFrame:
    """Return ORR and DCR (estimate and limits, %) by interval method beside the paper's, indexed by
    (rate, interval, statistic).

    The estimate must agree to the printed decimal; a limit may differ by up to
    the tolerance paper.compare allows a limit. Rows of a method other than the one the paper used (its
    ``ci_method``) show the printed number for reference, with status 'not compared'.
    """
    rows, ids = [], []
    for (rate, method), result in rate_intervals(cohort).items():
        entry_id = rate_id(rate)
        published = verdicts.published
        paper_method = published.at[entry_id, "ci_method"] if entry_id in published.index else None
        values = (result.estimate, result.lower, result.upper)
        for statistic, field, value in zip(STATISTICS, ("value", "lower", "upper"), values, strict=True):
            printed = verdicts.value(entry_id, field)
            reproduced = 100 * value
            status = verdicts.status(entry_id) if method == paper_method else verdicts.NOT_COMPARED
            rows.append({"rate": rate, "interval": CI_METHOD_LABELS[method], "statistic": statistic,
                         "reproduced %": round(reproduced, REPRODUCED_DECIMALS),
                         "published": printed, "status": status})
            ids.append(entry_id if method == paper_method else None)
    table = pd.DataFrame(rows).set_index(["rate", "interval", "statistic"])
    table.attrs[IDS_ATTR] = ids
    table.attrs[LIMIT_TOLERANCE_ATTR] = verdicts.TOLERANCES["proportion"].limits
    return table


def rates_table(cohort: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Return responders, n, estimate, limits and width (%), indexed by rate and interval method."""
    rows = []
    for (rate, method), result in rate_intervals(cohort, alpha).items():
        rows.append({"rate": RATE_LABELS[rate], "interval": CI_METHOD_LABELS[method],
                     "patients": result.successes, "of": result.n,
                     "estimate %": round(100 * result.estimate, REPRODUCED_DECIMALS),
                     "lower %": round(100 * result.lower, REPRODUCED_DECIMALS),
                     "upper %": round(100 * result.upper, REPRODUCED_DECIMALS),
                     "width (points)": round(100 * (result.upper - result.lower), REPRODUCED_DECIMALS)})
    return pd.DataFrame(rows).set_index(["rate", "interval"])


def _truncated_not_rounded(printed: float, reproduced: float, decimals: int) -> bool:
    """Return True when the printed value is the reproduced one cut off (not rounded) at ``decimals``."""
    scale = 10 ** decimals
    return (round(reproduced, decimals) != printed
            and abs(np.floor(reproduced * scale + 1e-9) / scale - printed) < 1e-9)


def interval_method_note(comparison: pd.DataFrame) -> str:
    """Return sentences on how far each method's limits are from the printed ones (largest gaps)."""
    flat = comparison.reset_index()
    limits = flat[(flat["statistic"] != "estimate") & flat["published"].notna()].copy()
    if limits.empty:
        return ""
    limits["gap"] = (limits["reproduced %"] - limits["published"].astype(float)).abs()
    tolerance = comparison.attrs[LIMIT_TOLERANCE_ATTR]
    sentences = []
    for method, part in limits.groupby("interval", sort=False):
        worst = part.loc[part["gap"].idxmax()]
        verdict = ("within" if worst["gap"] <= tolerance + 1e-9 else "beyond")
        sentences.append(f"With the {method} interval, the limits lie within {worst['gap']:.2f} percentage "
                         f"points of the printed ones (largest gap: the {worst['rate']} {worst['statistic']}, "
                         f"{worst['reproduced %']:.2f}% against {worst['published']:.1f}%), {verdict} the "
                         f"tolerance of {tolerance:g} point.")
        truncated = [row for _, row in part.iterrows()
                     if _truncated_not_rounded(float(row["published"]), float(row["reproduced %"]), RATE_DECIMALS)]
        for row in truncated:
            sentences.append(f"The printed {row['rate']} {row['statistic']} of {row['published']:.1f}% is the "
                             f"{method} value {row['reproduced %']:.2f}% cut off after one decimal rather "
                             f"than rounded.")
    return " ".join(sentences)








def format_p_value(p_value: float) -> str:
    """Return a P value as printed in the book: '<0.001', three decimals, or '–' when not tested."""
    if p_value is None or pd.isna(p_value):
        return "–"
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def p_value_phrase(p_value: float) -> str:
    """Return 'P < 0.001' or 'P = 0.029' for use in a sentence."""
    shown = format_p_value(p_value)
    return f"P {shown[0]} {shown[1:]}" if shown.startswith("<") else f"P = {shown}"


def subgroup_display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return the subgroup table indexed by (factor, level), test and P on each factor's first row."""
    first = ~table["factor"].duplicated()
    shown = pd.DataFrame({
        "n": table["n"].to_numpy(),
        "responders": table["responders"].to_numpy(),
        "ORR %": table["orr_pct"].round(RATE_DECIMALS).to_numpy(),
        "test": np.where(first, table["test"], ""),
        "P": np.where(first, table["p_value"].map(format_p_value), ""),
    }, index=pd.MultiIndex.from_arrays([table["factor"], table["level"].astype(str)], names=["factor", "level"]))
    return shown


def subgroup_tests_note(table: pd.DataFrame, alpha: float = SIGNIFICANCE_LEVEL) -> str:
    """Return how many factors reach P < alpha, which, and how many would by chance alone."""
    tests = table.drop_duplicates("factor")
    tested = tests[tests["p_value"].notna()]
    if tested.empty:
        return ("No factor could be tested: every patient is a responder, or none is, so each table of response "
                "by subgroup has an empty column.")
    below = tested[tested["p_value"] < alpha]
    exact = int((~tested["test"].isin([TEST_PEARSON])).sum())
    names = ", ".join(f"{row['factor']} ({p_value_phrase(row['p_value'])})" for _, row in below.iterrows())
    verb = "reaches" if len(below) == 1 else "reach"
    found = (f"{len(below)} of the {len(tested)} factors tested {verb} P < {alpha:g}: {names}." if len(below)
             else f"None of the {len(tested)} factors tested reaches P < {alpha:g}.")
    return (f"{found} {exact} of the {len(tested)} tests had an expected count below "
            f"{MIN_EXPECTED_COUNT:g} and used an exact test. With {len(tested)} tests at the {alpha:g} level, "
            f"about {alpha * len(tested):.1f} would fall below it by chance alone even if no factor were "
            f"related to response.")


# ----------------------------------------------------------------------------- figures' columns

# Set to "0" by ``aice rerun``: a rerun publishes aggregates only, and these figures draw one mark per patient.
PER_PATIENT_FIGURES_ENV = "AICE_PER_PATIENT_FIGURES"
WATERFALL_COLUMNS: tuple[str, ...] = (BEST_PCT_CHANGE,)
SWIMMER_SESSION_COLUMNS: tuple[str, ...] = (SESSION_MONTH,)


def missing_columns(frame: pd.DataFrame | None, columns: Sequence[str]) -> list[str]:
    """Return the columns a figure needs that the frame lacks (all of them when there is no frame)."""
    if frame is None:
        return list(columns)
    return [column for column in columns if column not in frame.columns]


def missing_columns_note(figure: str, file_name: str, missing: Sequence[str], absent_file: bool = False) -> str:
    """Return the sentence shown instead of a figure whose data are missing, naming what is missing."""
    if absent_file:
        return (f"The {figure} is left out: it needs the file `{file_name}`, which this data folder does "
                f"not have.")
    listed = ", ".join(f"`{column}`" for column in missing)
    noun = "column" if len(missing) == 1 else "columns"
    return (f"The {figure} is left out: it needs the {noun} {listed} in `{file_name}`, which this data "
            f"does not have (extra columns are allowed by the data contract, but not required).")


def per_patient_figures_allowed() -> bool:
    """Return False when figures with one mark per patient must not be drawn (``AICE_PER_PATIENT_FIGURES=0``)."""
    return os.environ.get(PER_PATIENT_FIGURES_ENV, "1").strip() != "0"


def missing_data_note(figure: str, frame: pd.DataFrame | None, file_name: str, columns: Sequence[str]) -> str:
    """Return why a figure cannot be drawn from this data (absent file or columns, or a rerun that publishes
    aggregates only), or '' if it can."""
    if not per_patient_figures_allowed():
        return (f"The {figure} is left out: it draws one mark per patient, and a rerun of the book publishes "
                f"aggregates only.")
    missing = missing_columns(frame, columns)
    if not missing:
        return ""
    return missing_columns_note(figure, file_name, missing, absent_file=frame is None)

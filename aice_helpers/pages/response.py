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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import gammaln
from scipy.stats import MonteCarloMethod, chi2_contingency, fisher_exact
from scipy.stats.contingency import expected_freq
from statsmodels.stats.proportion import proportion_confint

from aice_helpers.contract import COHORT_COLUMNS, RESPONSES, contract_column
from aice_helpers.paper.scorecard import STATUS_NOT_COMPARED, comparison_status
from aice_helpers.synthetic.extras import BEST_PCT_CHANGE, SESSION_MONTH
from aice_helpers.pages.tables import comparison_with_published, published_or_none
from aice_helpers.study import TABLE1_CHARACTERISTICS


BEST_RESPONSE = contract_column(COHORT_COLUMNS, "best_response")

# RESPONSES is ordered best to worst: CR, PR, SD, PD.
OBJECTIVE_RESPONSES: tuple[str, ...] = RESPONSES[:2]
DISEASE_CONTROL_RESPONSES: tuple[str, ...] = RESPONSES[:3]

CIMethod = Literal["clopper_pearson", "wilson"]
STATSMODELS_CI_METHODS: dict[str, str] = {"clopper_pearson": "beta", "wilson": "wilson"}
DEFAULT_ALPHA = 0.05

MIN_EXPECTED_COUNT = 5.0
MAX_EXACT_TABLES = 2_000_000
MONTE_CARLO_RESAMPLES = 100_000
MONTE_CARLO_SEED = 20231115
# Tables whose probability is within this relative tolerance of the observed one count as "as
# extreme" (the same guard scipy and R use against floating-point ties).
RELATIVE_TIE_TOLERANCE = 1e-7

TEST_PEARSON = "Pearson χ²"
TEST_FISHER = "Fisher exact"
TEST_FREEMAN_HALTON = "Fisher–Freeman–Halton exact"
TEST_FREEMAN_HALTON_MC = f"Fisher–Freeman–Halton (Monte Carlo, {MONTE_CARLO_RESAMPLES:,} tables)"
TEST_NOT_TESTABLE = "not testable"

FactorSpec = str | Callable[[pd.DataFrame], pd.Series]
SUBGROUP_COLUMNS = ("factor", "level", "n", "responders", "orr_pct", "test", "min_expected", "chi2", "p_value")


@dataclass(frozen=True)
class Proportion:
    """A proportion (0–1 scale) with its confidence interval and the interval method."""

    estimate: float
    lower: float
    upper: float
    method: str
    successes: int
    n: int

    def formatted(self, digits: int = 1) -> str:
        """Return 'p% (lower–upper)' in percent, e.g. '37.2% (28.3–46.8)'."""
        return (f"{100 * self.estimate:.{digits}f}% "
                f"({100 * self.lower:.{digits}f}–{100 * self.upper:.{digits}f})")


def best_responses(cohort: pd.DataFrame) -> pd.Series:
    """Return the best-response column, raising if it holds a value outside RESPONSES."""
    responses = cohort[BEST_RESPONSE]
    unexpected = sorted(set(responses.dropna().unique()) - set(RESPONSES))
    if unexpected or responses.isna().any():
        raise ValueError(f"{BEST_RESPONSE} must be one of {RESPONSES}; found {unexpected or 'missing'}")
    return responses


def response_counts(cohort: pd.DataFrame) -> pd.DataFrame:
    """Return n and percent of all patients for each of CR, PR, SD, PD (zeros included)."""
    counts = best_responses(cohort).value_counts().reindex(list(RESPONSES), fill_value=0)
    table = pd.DataFrame({"n": counts.astype(int), "percent": 100 * counts / len(cohort)})
    table.index.name = BEST_RESPONSE
    return table


def proportion_ci(successes: int, n: int, method: CIMethod = "clopper_pearson",
                  alpha: float = DEFAULT_ALPHA) -> Proportion:
    """Return successes/n with its (1 - alpha) Clopper–Pearson or Wilson interval."""
    if method not in STATSMODELS_CI_METHODS:
        raise ValueError(f"method must be one of {tuple(STATSMODELS_CI_METHODS)}, not {method!r}")
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0; got {successes}/{n}")
    lower, upper = proportion_confint(successes, n, alpha=alpha, method=STATSMODELS_CI_METHODS[method])
    return Proportion(successes / n, float(lower), float(upper), method, int(successes), int(n))


def rate_of(cohort: pd.DataFrame, responses: tuple[str, ...], method: CIMethod = "clopper_pearson",
            alpha: float = DEFAULT_ALPHA) -> Proportion:
    """Return the proportion of all patients whose best response is in ``responses``."""
    successes = int(best_responses(cohort).isin(responses).sum())
    return proportion_ci(successes, len(cohort), method, alpha)


def objective_response_rate(cohort: pd.DataFrame, method: CIMethod = "clopper_pearson",
                            alpha: float = DEFAULT_ALPHA) -> Proportion:
    """Return the ORR, (CR + PR) / n, with its confidence interval."""
    return rate_of(cohort, OBJECTIVE_RESPONSES, method, alpha)


def disease_control_rate(cohort: pd.DataFrame, method: CIMethod = "clopper_pearson",
                         alpha: float = DEFAULT_ALPHA) -> Proportion:
    """Return the DCR, (CR + PR + SD) / n, with its confidence interval."""
    return rate_of(cohort, DISEASE_CONTROL_RESPONSES, method, alpha)


# ----------------------------------------------------------------------------- association tests


@dataclass(frozen=True)
class AssociationTest:
    """The test chosen for a table, its P, the smallest expected count, and χ² (NaN if exact)."""

    test: str
    p_value: float
    min_expected: float
    chi2: float = float("nan")


def _log_binomial(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    """Return log C(n, k) elementwise."""
    n, k = np.asarray(n), np.asarray(k)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def count_r_by_2_tables(row_totals: np.ndarray, column_total: int) -> int:
    """Return how many r x 2 tables share these row totals and first-column total."""
    ways = np.zeros(column_total + 1, dtype=object)
    ways[0] = 1
    for n_row in row_totals:
        new = np.zeros_like(ways)
        for x in range(min(n_row, column_total) + 1):
            new[x:] += ways[: column_total + 1 - x]
        ways = new
    return int(ways[column_total])


def _log_probabilities_of_all_tables(row_totals: np.ndarray, column_total: int) -> np.ndarray:
    """Return log P of every r x 2 table with the given margins (multivariate hypergeometric)."""
    sums, logs = np.zeros(1, dtype=int), np.zeros(1)
    remaining = int(row_totals.sum())
    for n_row in row_totals[:-1]:
        remaining -= int(n_row)
        x = np.arange(n_row + 1)
        sums = np.add.outer(sums, x).ravel()
        logs = np.add.outer(logs, _log_binomial(n_row, x)).ravel()
        feasible = (sums <= column_total) & (sums >= column_total - remaining)
        sums, logs = sums[feasible], logs[feasible]
    logs = logs + _log_binomial(row_totals[-1], column_total - sums)
    n_total = int(row_totals.sum())
    return logs - _log_binomial(n_total, column_total)


def freeman_halton_exact_p(table: np.ndarray) -> float:
    """Return the exact Fisher–Freeman–Halton P for an r x 2 table (tables no more probable)."""
    table = np.asarray(table, dtype=int)
    if table.ndim != 2 or table.shape[1] != 2:
        raise ValueError("freeman_halton_exact_p needs an r x 2 table")
    row_totals, column_total = table.sum(axis=1), int(table[:, 0].sum())
    observed = float(np.sum(_log_binomial(row_totals, table[:, 0]))
                     - _log_binomial(int(row_totals.sum()), column_total))
    logs = _log_probabilities_of_all_tables(row_totals, column_total)
    as_extreme = logs <= observed + np.log1p(RELATIVE_TIE_TOLERANCE)
    return float(min(1.0, np.exp(logs[as_extreme]).sum()))


def freeman_halton_monte_carlo_p(table: np.ndarray) -> float:
    """Return scipy's seeded Monte Carlo Fisher–Freeman–Halton P for an r x c table."""
    method = MonteCarloMethod(n_resamples=MONTE_CARLO_RESAMPLES, rng=np.random.default_rng(MONTE_CARLO_SEED))
    return float(fisher_exact(table, method=method).pvalue)


def small_table_test(table: np.ndarray) -> tuple[str, float]:
    """Return the exact test's name and P for a table with small expected counts."""
    if table.shape == (2, 2):
        return TEST_FISHER, float(fisher_exact(table, alternative="two-sided").pvalue)
    if count_r_by_2_tables(table.sum(axis=1), int(table[:, 0].sum())) <= MAX_EXACT_TABLES:
        return TEST_FREEMAN_HALTON, freeman_halton_exact_p(table)
    return TEST_FREEMAN_HALTON_MC, freeman_halton_monte_carlo_p(table)


def association_test(table: np.ndarray) -> AssociationTest:
    """Return Pearson χ² if every expected count is >= 5, else the exact test (see module doc)."""
    table = np.asarray(table, dtype=int)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return AssociationTest(TEST_NOT_TESTABLE, float("nan"), float("nan"))
    min_expected = float(expected_freq(table).min())
    if min_expected >= MIN_EXPECTED_COUNT:
        result = chi2_contingency(table, correction=False)
        return AssociationTest(TEST_PEARSON, float(result.pvalue), min_expected, float(result.statistic))
    test, p_value = small_table_test(table)
    return AssociationTest(test, p_value, min_expected)


# ----------------------------------------------------------------------------- ORR by subgroup


def factor_levels(cohort: pd.DataFrame, factor: FactorSpec) -> pd.Series:
    """Return the grouping of each patient for a column name or a callable on the cohort."""
    levels = cohort[factor] if isinstance(factor, str) else factor(cohort)
    return pd.Series(levels, index=cohort.index)


def responder_table(levels: pd.Series, responders: pd.Series) -> pd.DataFrame:
    """Return level x (responders, non_responders) counts; missing levels and empty levels dropped."""
    known = levels.notna()
    table = pd.crosstab(levels[known], responders[known], dropna=False)
    table = table.reindex(columns=[True, False], fill_value=0)
    table.columns = ["responders", "non_responders"]
    return table[table.sum(axis=1) > 0]


def response_by_subgroup(cohort: pd.DataFrame, factors: Mapping[str, FactorSpec]) -> pd.DataFrame:
    """Return n, responders (CR + PR), ORR % and the association test for each factor level."""
    responders = best_responses(cohort).isin(OBJECTIVE_RESPONSES)
    rows = []
    for label, factor in factors.items():
        table = responder_table(factor_levels(cohort, factor), responders)
        result = association_test(table.to_numpy())
        for level, counts in table.iterrows():
            n = int(counts.sum())
            rows.append((label, level, n, int(counts["responders"]),
                         100 * counts["responders"] / n if n else float("nan"),
                         result.test, result.min_expected, result.chi2, result.p_value))
    return pd.DataFrame(rows, columns=list(SUBGROUP_COLUMNS))


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
INTERVAL_LIMIT_TOLERANCE_PCT = 0.1
REPRODUCED_DECIMALS = 2  # one more than printed, so a truncated printed limit is visible

POSTOP_CUTOFF = 2
POSTOP_LABEL = "Postoperative therapy (regimens)"
SIGNIFICANCE_LEVEL = 0.05


def response_id(response: str) -> str:
    """Return the published-number id of a best-response count, e.g. 'results.response.pr'."""
    return f"results.response.{response.lower()}"


def rate_id(rate: str) -> str:
    """Return the published-number id of ORR or DCR, e.g. 'results.response.orr'."""
    return f"results.response.{rate.lower()}"


def response_counts_with_published(cohort: pd.DataFrame, published: pd.DataFrame,
                                   contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return CR, PR, SD, PD counts and percent of all patients, with the paper's beside and a status."""
    counts = response_counts(cohort)
    table = pd.DataFrame({"response": [RESPONSE_LABELS[r] for r in counts.index],
                          "n": counts["n"].to_numpy(),
                          "percent": counts["percent"].round(RATE_DECIMALS).to_numpy()})
    ids = [response_id(r) for r in counts.index]
    return comparison_with_published(table, ids, published, len(cohort), contradicted).set_index("response")


def rate_intervals(cohort: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> dict[tuple[str, str], Proportion]:
    """Return ORR and DCR with each interval method, keyed by (rate, method)."""
    return {(rate, method): function(cohort, method, alpha)  # type: ignore[arg-type]
            for rate, function in RATE_FUNCTIONS.items() for method in CI_METHOD_LABELS}


def rates_with_published(cohort: pd.DataFrame, published: pd.DataFrame,
                         contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return ORR and DCR (estimate and limits, %) by interval method beside the paper's, indexed by
    (rate, interval, statistic).

    The estimate must agree to the printed decimal; a limit may differ by up to
    INTERVAL_LIMIT_TOLERANCE_PCT. Rows of a method other than the one the paper used (its
    ``ci_method``) show the printed number for reference, with status 'not compared'.
    """
    rows = []
    for (rate, method), result in rate_intervals(cohort).items():
        entry_id = rate_id(rate)
        paper_method = published.at[entry_id, "ci_method"] if entry_id in published.index else None
        values = (result.estimate, result.lower, result.upper)
        for statistic, field, value in zip(STATISTICS, ("value", "lower", "upper"), values, strict=True):
            printed = published_or_none(published, entry_id, field)
            reproduced = 100 * value
            tolerance = 0.0 if statistic == "estimate" else INTERVAL_LIMIT_TOLERANCE_PCT
            status = (comparison_status(printed, reproduced, RATE_DECIMALS, tolerance,
                                        contradicted=entry_id in contradicted)
                      if method == paper_method else STATUS_NOT_COMPARED)
            rows.append({"rate": rate, "interval": CI_METHOD_LABELS[method], "statistic": statistic,
                         "reproduced %": round(reproduced, REPRODUCED_DECIMALS),
                         "published": printed, "status": status})
    return pd.DataFrame(rows).set_index(["rate", "interval", "statistic"])


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
    sentences = []
    for method, part in limits.groupby("interval", sort=False):
        worst = part.loc[part["gap"].idxmax()]
        verdict = ("within" if worst["gap"] <= INTERVAL_LIMIT_TOLERANCE_PCT + 1e-9 else "beyond")
        sentences.append(f"With the {method} interval, the limits lie within {worst['gap']:.2f} percentage "
                         f"points of the printed ones (largest gap: the {worst['rate']} {worst['statistic']}, "
                         f"{worst['reproduced %']:.2f}% against {worst['published']:.1f}%), {verdict} the "
                         f"tolerance of {INTERVAL_LIMIT_TOLERANCE_PCT} point.")
        truncated = [row for _, row in part.iterrows()
                     if _truncated_not_rounded(float(row["published"]), float(row["reproduced %"]), RATE_DECIMALS)]
        for row in truncated:
            sentences.append(f"The printed {row['rate']} {row['statistic']} of {row['published']:.1f}% is the "
                             f"{method} value {row['reproduced %']:.2f}% cut off after one decimal rather "
                             f"than rounded.")
    return " ".join(sentences)


def postop_regimens_group(cohort: pd.DataFrame) -> pd.Categorical:
    """Return the number of therapy regimens after AICE as 0–1 / ≥2 (the paper's grouping)."""
    regimens = cohort[contract_column(COHORT_COLUMNS, "postop_regimens")]
    labels = np.where(regimens >= POSTOP_CUTOFF, f"≥{POSTOP_CUTOFF}", f"0–{POSTOP_CUTOFF - 1}")
    return pd.Categorical(labels, categories=[f"0–{POSTOP_CUTOFF - 1}", f"≥{POSTOP_CUTOFF}"], ordered=True)


def baseline_subgroup_factors() -> dict[str, FactorSpec]:
    """Return the Table 1 groupings plus postoperative therapy (0–1 vs ≥2), keyed by label."""
    factors: dict[str, FactorSpec] = {c.label: c.grouping for c in TABLE1_CHARACTERISTICS}
    factors[POSTOP_LABEL] = postop_regimens_group
    return factors


def response_by_baseline_subgroup(cohort: pd.DataFrame) -> pd.DataFrame:
    """Return ORR by level of every baseline subgroup, with the χ² or exact test of each factor."""
    return response_by_subgroup(cohort, baseline_subgroup_factors())


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

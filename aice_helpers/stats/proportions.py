"""Proportions: exact and Wilson intervals, and tests of association in r×2 tables (χ², Fisher, Fisher–Freeman–Halton)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import gammaln
from scipy.stats import MonteCarloMethod, chi2_contingency, fisher_exact
from scipy.stats.contingency import expected_freq
from statsmodels.stats.proportion import proportion_confint

from aice_helpers.stats.cox import DEFAULT_ALPHA

__all__ = [
    "CIMethod",
    "STATSMODELS_CI_METHODS",
    "MIN_EXPECTED_COUNT",
    "MAX_EXACT_TABLES",
    "MONTE_CARLO_RESAMPLES",
    "MONTE_CARLO_SEED",
    "RELATIVE_TIE_TOLERANCE",
    "TEST_PEARSON",
    "TEST_FISHER",
    "TEST_FREEMAN_HALTON",
    "TEST_FREEMAN_HALTON_MC",
    "TEST_NOT_TESTABLE",
    "Proportion",
    "proportion_ci",
    "AssociationTest",
    "count_r_by_2_tables",
    "freeman_halton_exact_p",
    "freeman_halton_monte_carlo_p",
    "small_table_test",
    "association_test",
]

CIMethod = Literal["clopper_pearson", "wilson"]

STATSMODELS_CI_METHODS: dict[str, str] = {"clopper_pearson": "beta", "wilson": "wilson"}

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

def proportion_ci(successes: int, n: int, method: CIMethod = "clopper_pearson",
                  alpha: float = DEFAULT_ALPHA) -> Proportion:
    """Return successes/n with its (1 - alpha) Clopper–Pearson or Wilson interval."""
    if method not in STATSMODELS_CI_METHODS:
        raise ValueError(f"method must be one of {tuple(STATSMODELS_CI_METHODS)}, not {method!r}")
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0; got {successes}/{n}")
    lower, upper = proportion_confint(successes, n, alpha=alpha, method=STATSMODELS_CI_METHODS[method])
    return Proportion(successes / n, float(lower), float(upper), method, int(successes), int(n))

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

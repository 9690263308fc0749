"""RECIST response on any cohort: counts, objective response and disease control rates, response by subgroup."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from aice_helpers import study
from aice_helpers.contract import COHORT_COLUMNS, RESPONSES, contract_column
from aice_helpers.stats.proportions import (  # noqa: F401
    MAX_EXACT_TABLES,
    MIN_EXPECTED_COUNT,
    MONTE_CARLO_RESAMPLES,
    MONTE_CARLO_SEED,
    RELATIVE_TIE_TOLERANCE,
    STATSMODELS_CI_METHODS,
    TEST_FISHER,
    TEST_FREEMAN_HALTON,
    TEST_FREEMAN_HALTON_MC,
    TEST_NOT_TESTABLE,
    TEST_PEARSON,
    AssociationTest,
    CIMethod,
    Proportion,
    _log_binomial,
    _log_probabilities_of_all_tables,
    association_test,
    count_r_by_2_tables,
    freeman_halton_exact_p,
    freeman_halton_monte_carlo_p,
    proportion_ci,
    small_table_test,
)
from aice_helpers.study import TABLE1_CHARACTERISTICS

__all__ = [
    "MAX_EXACT_TABLES",
    "MIN_EXPECTED_COUNT",
    "MONTE_CARLO_RESAMPLES",
    "MONTE_CARLO_SEED",
    "RELATIVE_TIE_TOLERANCE",
    "STATSMODELS_CI_METHODS",
    "TEST_FISHER",
    "TEST_FREEMAN_HALTON",
    "TEST_FREEMAN_HALTON_MC",
    "TEST_NOT_TESTABLE",
    "TEST_PEARSON",
    "AssociationTest",
    "CIMethod",
    "Proportion",
    "association_test",
    "count_r_by_2_tables",
    "freeman_halton_exact_p",
    "freeman_halton_monte_carlo_p",
    "proportion_ci",
    "small_table_test",
    "BEST_RESPONSE",
    "OBJECTIVE_RESPONSES",
    "DISEASE_CONTROL_RESPONSES",
    "FactorSpec",
    "SUBGROUP_COLUMNS",
    "best_responses",
    "response_counts",
    "rate_of",
    "objective_response_rate",
    "disease_control_rate",
    "factor_levels",
    "responder_table",
    "response_by_subgroup",
    "POSTOP_CUTOFF",
    "POSTOP_LABEL",
    "postop_regimens_group",
    "baseline_subgroup_factors",
    "response_by_baseline_subgroup",
]

BEST_RESPONSE = contract_column(COHORT_COLUMNS, "best_response")

# RESPONSES is ordered best to worst: CR, PR, SD, PD.
OBJECTIVE_RESPONSES: tuple[str, ...] = RESPONSES[:2]

DISEASE_CONTROL_RESPONSES: tuple[str, ...] = RESPONSES[:3]

FactorSpec = str | Callable[[pd.DataFrame], pd.Series]

SUBGROUP_COLUMNS = ("factor", "level", "n", "responders", "orr_pct", "test", "min_expected", "chi2", "p_value")

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

def rate_of(cohort: pd.DataFrame, responses: tuple[str, ...], method: CIMethod = "clopper_pearson",
            alpha: float = study.ALPHA) -> Proportion:
    """Return the proportion of all patients whose best response is in ``responses``."""
    successes = int(best_responses(cohort).isin(responses).sum())
    return proportion_ci(successes, len(cohort), method, alpha)

def objective_response_rate(cohort: pd.DataFrame, method: CIMethod = "clopper_pearson",
                            alpha: float = study.ALPHA) -> Proportion:
    """Return the ORR, (CR + PR) / n, with its confidence interval."""
    return rate_of(cohort, OBJECTIVE_RESPONSES, method, alpha)

def disease_control_rate(cohort: pd.DataFrame, method: CIMethod = "clopper_pearson",
                         alpha: float = study.ALPHA) -> Proportion:
    """Return the DCR, (CR + PR + SD) / n, with its confidence interval."""
    return rate_of(cohort, DISEASE_CONTROL_RESPONSES, method, alpha)

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

POSTOP_CUTOFF = 2

POSTOP_LABEL = "Postoperative therapy (regimens)"

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

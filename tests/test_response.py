"""Tests for aice_helpers.response: counts, exact and Wilson intervals, subgroup association tests."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, fisher_exact, norm

from aice_helpers import response
from aice_helpers.contract import RESPONSES
from aice_helpers.response import (
    BEST_RESPONSE,
    TEST_FISHER,
    TEST_FREEMAN_HALTON,
    TEST_FREEMAN_HALTON_MC,
    TEST_NOT_TESTABLE,
    TEST_PEARSON,
    association_test,
    count_r_by_2_tables,
    disease_control_rate,
    freeman_halton_exact_p,
    objective_response_rate,
    proportion_ci,
    response_by_subgroup,
    response_counts,
)

CR, PR, SD, PD = RESPONSES
PAPER_COUNTS = {CR: 0, PR: 42, SD: 44, PD: 27}
PAPER_TOLERANCE_PCT = 0.1 + 1e-9


def cohort_with(counts: dict[str, int]) -> pd.DataFrame:
    """Return a cohort whose best responses have the given counts."""
    return pd.DataFrame({BEST_RESPONSE: [r for r, n in counts.items() for _ in range(n)]})


def cohort_from_table(table: list[list[int]], column: str = "factor") -> pd.DataFrame:
    """Return a cohort whose level x (responder, non-responder) table is ``table``."""
    rows = [(f"level_{i}", PR if responder else PD)
            for i, (yes, no) in enumerate(table)
            for responder, count in ((True, yes), (False, no)) for _ in range(count)]
    return pd.DataFrame(rows, columns=[column, BEST_RESPONSE])


def brute_force_r_by_2_p(table: np.ndarray) -> float:
    """Return the Freeman–Halton P by enumerating tables with itertools (independent check)."""
    rows, column_total = table.sum(axis=1), table[:, 0].sum()

    def probability(x: tuple[int, ...]) -> float:
        return math.prod(math.comb(int(n), k) for n, k in zip(rows, x)) / math.comb(int(rows.sum()), int(column_total))

    tables = [x for x in itertools.product(*(range(n + 1) for n in rows)) if sum(x) == column_total]
    observed = probability(tuple(table[:, 0]))
    return sum(p for p in map(probability, tables) if p <= observed * (1 + 1e-7))


def test_response_counts_show_all_levels_including_zero() -> None:
    table = response_counts(cohort_with(PAPER_COUNTS))
    assert list(table.index) == list(RESPONSES)
    assert table["n"].to_dict() == PAPER_COUNTS
    assert table.loc[CR, "percent"] == 0
    assert table.loc[SD, "percent"] == pytest.approx(38.9, abs=0.05)
    assert table["percent"].sum() == pytest.approx(100)


def test_response_counts_reject_values_outside_contract() -> None:
    with pytest.raises(ValueError):
        response_counts(pd.DataFrame({BEST_RESPONSE: [PR, "NE"]}))


@pytest.mark.parametrize(("rate", "successes", "lower", "upper"), [
    (objective_response_rate, 42, 28.3, 46.8),
    (disease_control_rate, 86, 67.1, 83.6),
])
def test_clopper_pearson_reproduces_paper(rate, successes, lower, upper) -> None:
    # to 0.1 (the notes' claim): the DCR lower limit is 67.17 %, printed 67.1 (truncated, not rounded)
    result = rate(cohort_with(PAPER_COUNTS), "clopper_pearson")
    assert (result.successes, result.n) == (successes, 113)
    assert 100 * result.lower == pytest.approx(lower, abs=PAPER_TOLERANCE_PCT)
    assert 100 * result.upper == pytest.approx(upper, abs=PAPER_TOLERANCE_PCT)
    assert result.method == "clopper_pearson"


def test_formatted_orr_matches_paper_text() -> None:
    assert objective_response_rate(cohort_with(PAPER_COUNTS)).formatted() == "37.2% (28.3–46.8)"


@pytest.mark.parametrize(("successes", "n", "alpha"), [(42, 113, 0.05), (86, 113, 0.05), (3, 20, 0.10)])
def test_wilson_matches_closed_form(successes: int, n: int, alpha: float) -> None:
    z = norm.ppf(1 - alpha / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    result = proportion_ci(successes, n, "wilson", alpha)
    assert result.estimate == pytest.approx(p)
    assert result.lower == pytest.approx(centre - half, rel=1e-10)
    assert result.upper == pytest.approx(centre + half, rel=1e-10)


def test_clopper_pearson_edge_counts_reach_zero_and_one() -> None:
    assert proportion_ci(0, 10).lower == 0
    assert proportion_ci(10, 10).upper == 1


@pytest.mark.parametrize(("successes", "n", "method"), [(5, 0, "wilson"), (11, 10, "wilson"), (1, 10, "wald")])
def test_proportion_ci_rejects_bad_input(successes: int, n: int, method: str) -> None:
    with pytest.raises(ValueError):
        proportion_ci(successes, n, method)  # type: ignore[arg-type]


def test_tea_tasting_uses_fisher_exact() -> None:
    result = association_test(np.array([[3, 1], [1, 3]]))
    assert result.test == TEST_FISHER
    assert result.p_value == pytest.approx(0.4857, abs=5e-5)
    assert math.isnan(result.chi2)


def test_large_counts_use_pearson_chi2_without_continuity_correction() -> None:
    table = np.array([[20, 30], [30, 20]])
    (a, b), (c, d) = table
    n = table.sum()
    closed_form = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    result = association_test(table)
    assert result.test == TEST_PEARSON
    assert result.chi2 == pytest.approx(closed_form) == pytest.approx(4.0)
    assert result.p_value == pytest.approx(chi2.sf(4.0, 1))
    assert result.min_expected == 25


def test_small_r_by_2_table_uses_exact_freeman_halton() -> None:
    table = np.array([[3, 5], [1, 9], [6, 2]])
    result = association_test(table)
    assert result.test == TEST_FREEMAN_HALTON
    assert result.p_value == pytest.approx(brute_force_r_by_2_p(table), rel=1e-9)


@pytest.mark.parametrize("table", [[[3, 1], [1, 3]], [[8, 2], [1, 5]], [[0, 4], [2, 1], [5, 5], [1, 0]]])
def test_freeman_halton_matches_brute_force_and_scipy_2x2(table: list[list[int]]) -> None:
    table = np.array(table)
    assert freeman_halton_exact_p(table) == pytest.approx(brute_force_r_by_2_p(table), rel=1e-9)
    if table.shape == (2, 2):
        assert freeman_halton_exact_p(table) == pytest.approx(fisher_exact(table).pvalue, rel=1e-9)


def test_count_r_by_2_tables_matches_enumeration() -> None:
    rows = np.array([3, 5, 2, 4])
    expected = sum(1 for x in itertools.product(*(range(n + 1) for n in rows)) if sum(x) == 6)
    assert count_r_by_2_tables(rows, 6) == expected


def test_monte_carlo_fallback_when_enumeration_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(response, "MAX_EXACT_TABLES", 0)
    table = np.array([[3, 5], [1, 9], [6, 2]])
    result = association_test(table)
    assert result.test == TEST_FREEMAN_HALTON_MC
    assert result.p_value == pytest.approx(brute_force_r_by_2_p(table), abs=0.005)


@pytest.mark.parametrize("table", [[[3, 0], [4, 0]], [[3, 2]]])
def test_tables_without_variation_are_not_testable(table: list[list[int]]) -> None:
    result = association_test(np.array(table))
    assert result.test == TEST_NOT_TESTABLE
    assert math.isnan(result.p_value)


def test_response_by_subgroup_rows_and_tests() -> None:
    cohort = cohort_from_table([[20, 30], [30, 20]], column="size")
    cohort["sex_code"] = np.resize([0, 1], len(cohort))
    table = response_by_subgroup(cohort, {
        "Size": "size",
        "Odd row": lambda d: pd.Series(np.where(d.index % 2 == 1, "odd", "even"), index=d.index),
    })
    size = table[table["factor"] == "Size"].set_index("level")
    assert list(size.index) == ["level_0", "level_1"]
    assert size["n"].tolist() == [50, 50]
    assert size["responders"].tolist() == [20, 30]
    assert size["orr_pct"].tolist() == [40.0, 60.0]
    assert set(size["test"]) == {TEST_PEARSON}
    assert size["chi2"].iloc[0] == pytest.approx(4.0)
    assert size["p_value"].iloc[0] == pytest.approx(0.0455, abs=5e-5)
    assert table[table["factor"] == "Odd row"]["n"].sum() == 100


def test_response_by_subgroup_small_factor_uses_fisher_and_keeps_category_order() -> None:
    cohort = cohort_from_table([[3, 1], [1, 3]])
    order = ["level_1", "level_0"]
    table = response_by_subgroup(cohort, {"F": lambda d: pd.Categorical(d["factor"], categories=order)})
    assert table["level"].tolist() == order
    assert set(table["test"]) == {TEST_FISHER}
    assert table["p_value"].iloc[0] == pytest.approx(0.4857, abs=5e-5)


def test_response_by_subgroup_drops_patients_with_missing_level() -> None:
    cohort = cohort_from_table([[20, 30], [30, 20]])
    cohort.loc[:9, "factor"] = None
    table = response_by_subgroup(cohort, {"F": "factor"})
    assert table["n"].sum() == 90

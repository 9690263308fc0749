"""The primer's worked examples (aice_helpers.pages.teaching) against hand arithmetic and against the library.

Two kinds of check. First, the ten-patient and four-patient examples are small enough to do with a
pencil: the expected values are written out as fractions in each test's docstring and compared
exactly (to floating-point rounding). Second, every by-hand table must give what the results
chapters get from the library: S(t) from lifelines, Greenwood SE and intervals from
aice_helpers.stats.survival, the log-rank chi-square from aice_helpers.stats.survival.logrank and lifelines, and
the Cox β and SE from fit_cox(..., ties="breslow"). Those are checked on the primer's examples and on
R's lung data set (228 patients, many ties), the fixture the survival tests already use.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test

from aice_helpers import study
from aice_helpers.analyses import survival as survival_analyses
from aice_helpers.pages import teaching
from aice_helpers.paper import compare
from aice_helpers.stats.cox import fit_cox
from aice_helpers.stats.survival import (
    TRANSFORMS,
    ci_bands,
    km_fit,
    km_table,
    logrank,
    median_brookmeyer_crowley,
    median_spss,
    survival_at,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXACT = 1e-12  # hand arithmetic in floating point
LIBRARY = 1e-10  # by-hand table against the library
BETA_TOLERANCE = 1e-6  # numerical maximiser against fit_cox


@pytest.fixture(scope="module")
def ten() -> pd.DataFrame:
    return teaching.ten_patient_example()


@pytest.fixture(scope="module")
def four() -> pd.DataFrame:
    return teaching.cox_four_patient_example()


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "lung.csv")
    data["event"] = (data["status"] == 2).astype(int)
    data["female"] = (data["sex"] == 2).astype(int)
    return data


# ---------------------------------------------------------------------------------------------
# The ten-patient example


def test_ten_patient_example_has_ties_and_censoring(ten: pd.DataFrame) -> None:
    """Ten patients, six deaths, four censored; two deaths at 9 months; a death and a censoring at 12."""
    assert len(ten) == 10 and ten["patient"].is_unique
    assert ten["event"].sum() == 6
    assert ten.loc[ten["months"] == 9, "event"].tolist() == [1, 1]
    assert sorted(ten.loc[ten["months"] == 12, "event"].tolist()) == [0, 1]
    assert ten["months"].is_monotonic_increasing
    assert (ten["large_tumour"] == (ten["tumour"] == "large").astype(int)).all()


def test_km_worked_table_by_hand(ten: pd.DataFrame) -> None:
    """The product-limit steps of the ten patients, written out.

    t = 3:  n = 10, d = 1           S = 9/10                        = 0.9
    t = 5:  n = 9,  censored        S = 9/10                        (no death, no step)
    t = 7:  n = 8,  d = 1           S = 9/10 · 7/8                  = 0.7875
    t = 9:  n = 7,  d = 2           S = 9/10 · 7/8 · 5/7            = 0.5625
    t = 12: n = 5,  d = 1, c = 1    S = 9/10 · 7/8 · 5/7 · 4/5      = 0.45
    t = 15: n = 3,  d = 1           S = … · 2/3                     = 0.3
    t = 18, 22: censored            S stays 0.3
    Greenwood sums Σ d/(n(n − d)): 1/90; 1/90 + 1/56; + 2/35; + 1/20; + 1/6.
    """
    table = teaching.km_worked_table(ten["months"], ten["event"])
    assert table["t_i"].tolist() == [3, 5, 7, 9, 12, 15, 18, 22]
    assert table["n_i"].tolist() == [10, 9, 8, 7, 5, 3, 2, 1]
    assert table["d_i"].tolist() == [1, 0, 1, 2, 1, 1, 0, 0]
    assert table["c_i"].tolist() == [0, 1, 0, 0, 1, 0, 1, 1]
    s = [Fraction(9, 10)]
    s.append(s[-1])
    s.append(s[-1] * Fraction(7, 8))
    s.append(s[-1] * Fraction(5, 7))
    s.append(s[-1] * Fraction(4, 5))
    s.append(s[-1] * Fraction(2, 3))
    s += [s[-1], s[-1]]
    np.testing.assert_allclose(table["S(t_i)"], [float(v) for v in s], rtol=0, atol=EXACT)
    assert [float(v) for v in s[:6]] == pytest.approx([0.9, 0.9, 0.7875, 0.5625, 0.45, 0.3], abs=EXACT)
    greenwood = np.cumsum([Fraction(1, 90), 0, Fraction(1, 56), Fraction(2, 35), Fraction(1, 20), Fraction(1, 6), 0, 0])
    np.testing.assert_allclose(table["Greenwood sum"], [float(g) for g in greenwood], rtol=0, atol=EXACT)
    se_at_12 = 0.45 * math.sqrt(float(greenwood[4]))
    assert table.loc[5, "SE"] == pytest.approx(se_at_12, abs=EXACT)


def test_censoring_shortcuts_by_hand(ten: pd.DataFrame) -> None:
    """S(12) three ways: dropping the four censored leaves 6 deaths, 1 after 12 months: 1/6;
    counting the censored as survivors: 5 deaths by 12 months among 10: 1 − 5/10 = 1/2;
    Kaplan–Meier: 0.45."""
    table = teaching.censoring_shortcuts(ten["months"], ten["event"], 12)
    np.testing.assert_allclose(table["estimate of S(12)"], [1 / 6, 1 / 2, 0.45], atol=EXACT)
    assert table["patients used"].tolist() == [6, 10, 10]


# ---------------------------------------------------------------------------------------------
# The Kaplan–Meier table against the library


@pytest.mark.parametrize("case", ["ten", "lung", "lung_female"])
def test_km_worked_table_equals_lifelines_and_survival(case: str, ten: pd.DataFrame, lung: pd.DataFrame) -> None:
    """S(t) equals lifelines' survival function at every time; Greenwood SE and limits equal survival.py's."""
    data = {"ten": ten.rename(columns={"months": "time"}), "lung": lung,
            "lung_female": lung[lung["female"] == 1]}[case]
    table = teaching.km_worked_table(data["time"], data["event"])
    library = km_fit(data["time"], data["event"]).survival_function_.iloc[:, 0]
    assert list(library.index[1:]) == table["t_i"].tolist()
    np.testing.assert_allclose(table["S(t_i)"], library.iloc[1:], rtol=0, atol=LIBRARY)
    assert teaching.km_difference_from_lifelines(data["time"], data["event"]) < LIBRARY
    reference = km_table(data["time"], data["event"])
    np.testing.assert_allclose(table["Greenwood sum"], reference["greenwood"], rtol=LIBRARY)
    np.testing.assert_allclose(table["SE"], reference["survival"] * np.sqrt(reference["greenwood"]), rtol=LIBRARY)
    landmarks = survival_at(data["time"], data["event"], table["t_i"].tolist(), "log-log")
    np.testing.assert_allclose(table["SE"], landmarks["std_err"], rtol=LIBRARY)
    np.testing.assert_allclose(table["lower"], landmarks["lower"], rtol=LIBRARY)
    np.testing.assert_allclose(table["upper"], landmarks["upper"], rtol=LIBRARY)


def test_interval_bands_use_each_transform(ten: pd.DataFrame) -> None:
    """Each band is survival.ci_bands on the worked S and Greenwood sum; at 95% the plain band is clipped
    at 0 and 1 while the log-log band stays strictly inside."""
    bands = teaching.interval_bands(ten["months"], ten["event"], alpha=0.1)
    table = teaching.km_worked_table(ten["months"], ten["event"])
    for transform in TRANSFORMS:
        lower, upper = ci_bands(table["S(t_i)"], table["Greenwood sum"], transform, 0.1)
        np.testing.assert_array_equal(bands[f"{transform} lower"], lower)
        np.testing.assert_array_equal(bands[f"{transform} upper"], upper)
    bands = teaching.interval_bands(ten["months"], ten["event"])
    assert bands["plain upper"].max() == 1.0 and bands["plain lower"].min() == 0.0
    assert bands["log-log upper"].max() < 1.0 and bands["log-log lower"].min() > 0.0


# ---------------------------------------------------------------------------------------------
# The median three ways


def test_spss_median_worked_by_hand(ten: pd.DataFrame) -> None:
    """t50 = 12 (S = 0.45); u = 9 (S = 0.5625), l = 12 (S = 0.45); f = 0.1125 / 3 = 0.0375;
    SE of S(12) = 0.45·√(1/90 + 1/56 + 2/35 + 1/20); SE of the median = that / 0.0375."""
    steps = teaching.spss_median_worked(ten["months"], ten["event"])["value"].to_numpy()
    se_s = 0.45 * math.sqrt(1 / 90 + 1 / 56 + 2 / 35 + 1 / 20)
    expected = [12, 0.45, se_s, 9, 0.5625, 12, 0.45, 0.0375, se_s / 0.0375]
    np.testing.assert_allclose(steps[:9], expected, rtol=EXACT)
    library = median_spss(ten["months"], ten["event"])
    np.testing.assert_allclose(steps[[0, 8, 10, 11]], [library.estimate, library.se, library.lower, library.upper],
                               rtol=LIBRARY)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_median_three_ways_calls_the_library(alpha: float, ten: pd.DataFrame, lung: pd.DataFrame) -> None:
    """The three rows are median_spss and median_brookmeyer_crowley (log, log-log), unchanged."""
    for time, event in [(ten["months"], ten["event"]), (lung["time"], lung["event"])]:
        table = teaching.median_three_ways(time, event, alpha)
        expected = [median_spss(time, event, alpha), median_brookmeyer_crowley(time, event, "log", alpha),
                    median_brookmeyer_crowley(time, event, "log-log", alpha)]
        for (_, row), median in zip(table.iterrows(), expected):
            np.testing.assert_array_equal([row["median"], row["lower"], row["upper"]],
                                          [median.estimate, median.lower, median.upper])
    spss = teaching.median_three_ways(ten["months"], ten["event"], alpha).iloc[0]
    assert spss["median − lower"] == pytest.approx(spss["upper − median"], abs=EXACT)


def test_ten_patient_median_upper_limit_not_reached(ten: pd.DataFrame) -> None:
    """With ten patients the upper Brookmeyer–Crowley band never falls to 0.5: no upper limit."""
    table = teaching.median_three_ways(ten["months"], ten["event"])
    assert table["upper"].iloc[1:].isna().all()
    assert table["lower"].tolist() == pytest.approx([12 - table["median − lower"].iloc[0], 9.0, 3.0])


# ---------------------------------------------------------------------------------------------
# The log-rank test


def test_logrank_worked_table_by_hand(ten: pd.DataFrame) -> None:
    """Group 1 = large tumours. At each death time (n1, n2, d1, d2) give
    E1 = d·n1/n and V = n1·n2·d·(n − d)/(n²(n − 1)):

    t = 3:  (5, 5, 1, 0)  E1 = 1/2,  V = 25·9/(100·9) = 1/4
    t = 7:  (4, 4, 1, 0)  E1 = 1/2,  V = 1/4
    t = 9:  (3, 4, 1, 1)  E1 = 6/7,  V = 3·4·2·5/(49·6) = 20/49
    t = 12: (2, 3, 1, 0)  E1 = 2/5,  V = 2·3·4/(25·4) = 6/25
    t = 15: (1, 2, 0, 1)  E1 = 1/3,  V = 1·2·2/(9·2) = 2/9
    O1 = 4; chi-square = (O1 − ΣE1)² / ΣV.
    """
    table = teaching.logrank_worked_table(ten["months"], ten["event"], ten["tumour"])
    rows = table.drop(index=teaching.TOTAL_LABEL)
    assert rows[["t_i", "n1", "n2", "d1", "d2"]].to_numpy().tolist() == [
        [3, 5, 5, 1, 0], [7, 4, 4, 1, 0], [9, 3, 4, 1, 1], [12, 2, 3, 1, 0], [15, 1, 2, 0, 1]]
    e1 = [Fraction(1, 2), Fraction(1, 2), Fraction(6, 7), Fraction(2, 5), Fraction(1, 3)]
    v = [Fraction(1, 4), Fraction(1, 4), Fraction(20, 49), Fraction(6, 25), Fraction(2, 9)]
    np.testing.assert_allclose(rows["E1"], [float(x) for x in e1], rtol=EXACT)
    np.testing.assert_allclose(rows["V"], [float(x) for x in v], rtol=EXACT)
    total = table.loc[teaching.TOTAL_LABEL]
    assert total["d1"] == 4 and total["d2"] == 2
    chisq = (4 - sum(e1)) ** 2 / sum(v)
    summary = teaching.logrank_by_hand(ten["months"], ten["event"], ten["tumour"])["value"]
    assert summary.iloc[4] == pytest.approx(float(chisq), rel=EXACT)


@pytest.mark.parametrize("case", ["ten", "ten_small_first", "lung_sex", "lung_ecog"])
def test_logrank_by_hand_equals_library(case: str, ten: pd.DataFrame, lung: pd.DataFrame) -> None:
    """The hand chi-square equals survival.logrank and lifelines' logrank_test to 1e-10."""
    ecog = lung.dropna(subset=["ph.ecog"])
    time, event, group, first = {
        "ten": (ten["months"], ten["event"], ten["tumour"], None),
        "ten_small_first": (ten["months"], ten["event"], ten["tumour"], "small"),
        "lung_sex": (lung["time"], lung["event"], lung["sex"], None),
        "lung_ecog": (ecog["time"], ecog["event"], np.where(ecog["ph.ecog"] >= 2, "2+", "0-1"), None),
    }[case]
    hand = teaching.logrank_by_hand(time, event, group, first)["value"]
    helper = logrank(time, event, group)
    one = np.asarray(group) == (sorted(set(np.asarray(group).tolist()), key=str)[0] if first is None else first)
    t, e = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    library = logrank_test(t[one], t[~one], e[one], e[~one])
    assert hand.iloc[4] == pytest.approx(helper.chisq, rel=LIBRARY, abs=LIBRARY)
    assert hand.iloc[4] == pytest.approx(library.test_statistic, rel=LIBRARY, abs=LIBRARY)
    assert hand.iloc[5] == pytest.approx(helper.p, rel=LIBRARY, abs=LIBRARY)
    three = teaching.logrank_three_ways(time, event, group, first)
    assert np.ptp(three["chi-square"]) < LIBRARY and np.ptp(three["P"]) < LIBRARY


def test_logrank_against_r_fixture(lung: pd.DataFrame) -> None:
    """R survdiff on lung by sex: the hand O1, E1 and chi-square equal R's."""
    import json

    reference = json.loads((FIXTURES / "r_survival_reference.json").read_text())["lung"]["logrank_sex"]
    hand = teaching.logrank_by_hand(lung["time"], lung["event"], lung["sex"])["value"]
    assert hand.iloc[0] == reference["observed"][0]
    assert hand.iloc[1] == pytest.approx(reference["expected"][0], rel=1e-9)
    assert hand.iloc[4] == pytest.approx(reference["chisq"], rel=1e-9)


def test_logrank_worked_table_needs_two_groups(ten: pd.DataFrame) -> None:
    """Three groups (or one) have no two-by-two table at each time: a clear error."""
    with pytest.raises(ValueError, match="exactly two groups"):
        teaching.logrank_worked_table(ten["months"], ten["event"], ["a", "b", "c"] * 3 + ["a"])
    with pytest.raises(ValueError, match="not one of"):
        teaching.logrank_worked_table(ten["months"], ten["event"], ten["tumour"], group1="medium")


# ---------------------------------------------------------------------------------------------
# The Cox partial likelihood


def test_partial_likelihood_four_patients_by_hand(four: pd.DataFrame) -> None:
    """A (2 mo, died, x = 1), B (4, died, 0), C (6, censored, 1), D (8, died, 0).

    L(β) = e^β/(2e^β + 2) · 1/(e^β + 2) · 1/1. At β = 0: 1/4 · 1/3 · 1 = 1/12.
    d log L/dβ = 1/(e^β + 1) − e^β/(e^β + 2) = 0  ⇔  e^{2β} = 2  ⇔  β̂ = ½·log 2, HR = √2.
    """
    args = (four["months"], four["event"], four["large_tumour"])
    assert teaching.partial_likelihood(0.0, *args) == pytest.approx(1 / 12, rel=EXACT)
    for beta in (-1.0, 0.5, 2.0):
        u = math.exp(beta)
        assert teaching.partial_likelihood(beta, *args) == pytest.approx(u / (2 * u + 2) / (u + 2), rel=EXACT)
    terms = teaching.partial_likelihood_terms(0.0, *args, labels=four["patient"])
    assert terms["risk set R_i"].tolist() == ["A, B, C, D", "B, C, D", "D"]
    np.testing.assert_allclose(terms["term"], [1 / 4, 1 / 3, 1], rtol=EXACT)
    assert np.prod(terms["term"]) == pytest.approx(teaching.partial_likelihood(0.0, *args), rel=EXACT)
    beta_hat = teaching.partial_likelihood_maximum(*args)
    assert beta_hat == pytest.approx(0.5 * math.log(2), abs=BETA_TOLERANCE)


@pytest.mark.parametrize("case", ["four", "ten", "lung_female"])
def test_partial_likelihood_maximiser_equals_fit_cox(case: str, four: pd.DataFrame, ten: pd.DataFrame,
                                                     lung: pd.DataFrame) -> None:
    """The numerical maximiser of log L equals fit_cox(..., ties="breslow")'s β to 1e-6; SE and the Wald
    interval by hand equal fit_cox's; the curve's highest grid point sits next to the maximiser."""
    time, event, x = {
        "four": (four["months"], four["event"], four["large_tumour"]),
        "ten": (ten["months"], ten["event"], ten["large_tumour"]),
        "lung_female": (lung["time"], lung["event"], lung["female"]),
    }[case]
    frame = pd.DataFrame({"time": time, "event": event, "x": x})
    fitted = fit_cox(frame, "time", "event", {"x": ("x", "0")}, ties="breslow")
    row = fitted.table.iloc[0]
    beta_hat = teaching.partial_likelihood_maximum(time, event, x)
    assert beta_hat == pytest.approx(row["beta"], abs=BETA_TOLERANCE)
    assert teaching.log_partial_likelihood(row["beta"], time, event, x) == pytest.approx(fitted.log_likelihood,
                                                                                         rel=1e-9)
    wald = teaching.wald_by_hand(time, event, x)["value"].to_numpy()
    np.testing.assert_allclose(wald[[1, 3, 4, 5, 6]], row[["se", "hr", "lower", "upper", "p"]].to_numpy(float),
                               rtol=1e-6)
    both = teaching.cox_by_hand_and_library(time, event, x)
    np.testing.assert_allclose(both.iloc[0], both.iloc[1], rtol=1e-6)
    curve = teaching.partial_likelihood_curve(time, event, x)
    grid_best = curve.loc[curve["log L"].idxmax(), "beta"]
    assert abs(grid_best - beta_hat) <= np.diff(teaching.BETA_GRID).max()
    np.testing.assert_allclose(curve["L"], np.exp(curve["log L"]), rtol=EXACT)


def test_no_finite_maximum_under_separation(four: pd.DataFrame) -> None:
    """Both large tumours die before both small ones: log L rises for ever towards log(1/2), no maximum."""
    x = [1, 1, 0, 0]
    curve = teaching.partial_likelihood_curve(four["months"], four["event"], x)
    assert (np.diff(curve["log L"]) > 0).all() and curve["log L"].max() < math.log(0.5)
    with pytest.raises(ValueError, match="no finite maximum"):
        teaching.partial_likelihood_maximum(four["months"], four["event"], x)


def test_ties_comparison_breslow_and_efron(ten: pd.DataFrame) -> None:
    """The ten patients have tied deaths at 9 months, so Breslow and Efron give (slightly) different β."""
    table = teaching.ties_comparison(ten["months"], ten["event"], ten["large_tumour"])
    assert table.index.tolist() == ["Breslow", "Efron"]
    assert table.loc["Breslow", "β"] != pytest.approx(table.loc["Efron", "β"], abs=1e-4)
    assert table.loc["Breslow", "β"] == pytest.approx(teaching.partial_likelihood_maximum(
        ten["months"], ten["event"], ten["large_tumour"]), abs=BETA_TOLERANCE)


# ---------------------------------------------------------------------------------------------
# Proportional hazards and display


@pytest.mark.parametrize("hazard_ratio", [0.5, 2.0, 3.0])
def test_ph_illustration(hazard_ratio: float) -> None:
    """Proportional: the ratio is the same at every time. Crossing: it starts above 1 and ends below 1."""
    data = teaching.ph_illustration(hazard_ratio)
    proportional = data[data["scenario"] == "proportional hazards"]
    np.testing.assert_allclose(proportional["hazard ratio"], hazard_ratio, rtol=EXACT)
    crossing = data[(data["scenario"] == "crossing hazards") & (data["group"] == "large")]
    assert crossing["hazard ratio"].iloc[0] > 1 > crossing["hazard ratio"].iloc[-1]
    assert (data.groupby(["scenario", "group"])["survival"].first() == 1.0).all()
    assert (data.groupby(["scenario", "group"])["survival"].apply(lambda s: s.is_monotonic_decreasing)).all()


def test_for_display_formats_numbers_as_text() -> None:
    """Whole-number columns lose their decimals, others keep ``digits``, NaN becomes ``missing``."""
    table = pd.DataFrame({"n": [10.0, np.nan], "S": [0.9, 0.78751], "label": ["a", None]})
    shown = teaching.for_display(table, digits=3, missing="-")
    assert shown.to_dict("list") == {"n": ["10", "-"], "S": ["0.900", "0.788"], "label": ["a", "-"]}


# ---------------------------------------------------------------------------------------------
# Numbers the primer glues into its prose


def test_as_fraction() -> None:
    """Nearest fraction with a small denominator, whole numbers without a slash."""
    assert teaching.as_fraction(1 / 12) == "1/12"
    assert teaching.as_fraction(16 / 33) == "16/33"
    assert teaching.as_fraction(3.0) == "3"


def test_worked_row_is_the_row_in_force(ten: pd.DataFrame) -> None:
    """At 12 months S = 0.45; between two rows the earlier one holds; the log-rank total row is never chosen."""
    km = teaching.km_worked_table(ten["months"], ten["event"])
    assert teaching.worked_row(km, 12)["S(t_i)"] == pytest.approx(0.45, abs=EXACT)
    assert teaching.worked_row(km, 13.5)["t_i"] == 12
    with pytest.raises(ValueError, match="no row"):
        teaching.worked_row(km, 2)
    table = teaching.logrank_worked_table(ten["months"], ten["event"], ten["tumour"], "large")
    assert teaching.worked_row(table, 100)["t_i"] == 15
    assert teaching.worked_row(table, 9)["V"] == pytest.approx(20 / 49, abs=EXACT)


def test_naive_median_and_plain_band_clipping(ten: pd.DataFrame) -> None:
    """The median of the ten observed times is (9 + 12)/2 = 10.5. At 95% the plain band sits at 1 up to
    7 months and at 0 from 15 months on; a band that is never cut off gives (None, None)."""
    assert teaching.naive_median(ten["months"]) == 10.5
    assert teaching.plain_band_clipping(teaching.interval_bands(ten["months"], ten["event"])) == (7.0, 15.0)
    inside = pd.DataFrame({"t_i": [1.0, 2.0], "plain lower": [0.5, 0.2], "plain upper": [0.9, 0.7]})
    assert teaching.plain_band_clipping(inside) == (None, None)
    assert teaching.plain_band_clipping_text(inside) == "is never cut off"
    bands = teaching.interval_bands(ten["months"], ten["event"])
    assert teaching.plain_band_clipping_text(bands) == "is cut off at 1 up to 7 months and at 0 from 15 months on"
    at_90 = teaching.interval_bands(ten["months"], ten["event"], alpha=0.10)
    assert teaching.plain_band_clipping(at_90)[1] is None
    assert teaching.plain_band_clipping_text(at_90) == "is cut off at 1 up to 7 months"


def test_hazard_ratio_and_risks() -> None:
    """S₀ = 0.8 and HR = 2: S₁ = 0.64, risks 0.2 and 0.36, risk ratio 1.8 (not 2)."""
    values = teaching.hazard_ratio_and_risks(0.8, 2.0)
    np.testing.assert_allclose(values[["S1", "risk0", "risk1", "risk ratio"]], [0.64, 0.2, 0.36, 1.8], atol=EXACT)
    with pytest.raises(ValueError):
        teaching.hazard_ratio_and_risks(1.0, 2.0)


def test_crossing_hazards_summary_against_the_formulas() -> None:
    """Crossing scenario: ratio 6·e^(−0.12 t), so 6 at 0 and 1 at ln 6 / 0.12; the survival curves cross
    where (e^u − 1)/3 = 2(1 − e^(−u)), u = 0.06 t, that is e^u = 6, t = ln 6 / 0.06 (grid steps of 0.125)."""
    summary = teaching.crossing_hazards_summary(teaching.ph_illustration(2.0))
    step = 36.0 / 288
    assert summary["ratio at start"] == pytest.approx(6.0, rel=EXACT)
    assert summary["ratio at end"] == pytest.approx(6.0 * math.exp(-0.12 * 36), rel=1e-9)
    assert 0 <= summary["ratio reaches 1"] - math.log(6) / 0.12 < step
    assert 0 <= summary["survival curves cross"] - math.log(6) / 0.06 < step


def test_proportional_hazards_summary_against_the_formulas() -> None:
    """Small tumours: H(t) = 0.375·(e^(0.04 t) − 1); large: twice that. Medians solve H = ln 2 (to the grid
    step); 12 months is a grid point, so the event probabilities are exact."""
    summary = teaching.proportional_hazards_summary(teaching.ph_illustration(2.0), at=12.0)
    step = 36.0 / 288
    small = math.log(1 + math.log(2) / 0.375) / 0.04
    large = math.log(1 + math.log(2) / 0.75) / 0.04
    assert 0 <= summary["median, small"] - small < step and 0 <= summary["median, large"] - large < step
    cumulative = 0.375 * (math.exp(0.04 * 12) - 1)
    assert summary["event by 12, small"] == pytest.approx(1 - math.exp(-cumulative), rel=1e-9)
    assert summary["event by 12, large"] == pytest.approx(1 - math.exp(-2 * cumulative), rel=1e-9)
    assert summary["median ratio small/large"] == pytest.approx(summary["median, small"] / summary["median, large"])


# ---------------------------------------------------------------------------------------------
# Helpers for the exercises of the results chapters


def test_km_versus_naive_share(ten: pd.DataFrame) -> None:
    """Before the first censoring (5 months) the shares agree; at 12 months KM gives 0.45, counting heads
    3/10 (only P08, P09 and P10 were seen beyond 12 months), with two patients censored by then."""
    table = teaching.km_versus_naive_share(ten["months"], ten["event"], [4, 12])
    assert table.loc[4.0, "Kaplan–Meier S(t) (%)"] == pytest.approx(table.loc[4.0, "share observed beyond t (%)"])
    assert table.loc[4.0, "censored by t"] == 0 and table.loc[4.0, "gap (points)"] == 0.0
    shares = table.loc[12.0, ["Kaplan–Meier S(t) (%)", "share observed beyond t (%)"]].tolist()
    assert shares == pytest.approx([45, 30])
    assert table.loc[12.0, "censored by t"] == 2 and table.loc[12.0, "gap (points)"] == pytest.approx(15)


def test_score_test_by_hand(ten: pd.DataFrame, four: pd.DataFrame) -> None:
    """U(0) = O1 − E1; Breslow's I(0) = Σ d·n1·n2/n² (1/4 + 1/4 + 24/49 + 6/25 + 2/9), smaller than the
    log-rank V only through the tie factor at 9 months. Without tied deaths score and log-rank coincide."""
    statistic, p = teaching.score_test_by_hand(ten["months"], ten["event"], ten["large_tumour"])
    u = 4 - (Fraction(1, 2) + Fraction(1, 2) + Fraction(6, 7) + Fraction(2, 5) + Fraction(1, 3))
    information = Fraction(1, 4) + Fraction(1, 4) + Fraction(24, 49) + Fraction(6, 25) + Fraction(2, 9)
    assert statistic == pytest.approx(float(u**2 / information), rel=EXACT)
    assert p == pytest.approx(float(chi2_sf(statistic)), rel=EXACT)
    tests = teaching.four_tests_of_one_binary_covariate(four["months"], four["event"], four["large_tumour"])
    assert tests.loc["Cox score (at β = 0)", "chi-square"] == pytest.approx(tests.loc["log-rank", "chi-square"],
                                                                           rel=1e-12)


@pytest.mark.parametrize("case", ["ten", "lung_female"])
def test_four_tests_agree_with_fit_cox(case: str, ten: pd.DataFrame, lung: pd.DataFrame) -> None:
    """Log-rank as survival.logrank; Wald as fit_cox's (Breslow) z²; likelihood ratio from fit_cox's log L."""
    time, event, x = {"ten": (ten["months"], ten["event"], ten["large_tumour"]),
                      "lung_female": (lung["time"], lung["event"], lung["female"])}[case]
    tests = teaching.four_tests_of_one_binary_covariate(time, event, x)
    assert tests.loc["log-rank", "P"] == pytest.approx(logrank(time, event, x).p, rel=LIBRARY)
    fitted = fit_cox(pd.DataFrame({"time": time, "event": event, "x": x}), "time", "event", {"x": ("x", "0")},
                     ties="breslow")
    row = fitted.table.iloc[0]
    assert tests.loc["Cox Wald (at β̂)", "P"] == pytest.approx(row["p"], rel=1e-6)
    null = teaching.log_partial_likelihood(0.0, time, event, x)
    assert tests.loc["Cox likelihood ratio", "chi-square"] == pytest.approx(2 * (fitted.log_likelihood - null),
                                                                          rel=1e-6)
    with pytest.raises(ValueError, match="0/1"):
        teaching.four_tests_of_one_binary_covariate(time, event, np.ones(len(time)))


def chi2_sf(statistic: float) -> float:
    """P of a chi-square with one degree of freedom."""
    from scipy.stats import chi2

    return float(chi2.sf(statistic, 1))


def test_two_group_tests_match_the_subgroup_tables(dataset) -> None:
    """On the book's cohort: the log-rank P and the Wald P of every two-group factor are those of Tables S1/S2."""

    for endpoint in ("os", "pfs"):
        tests = teaching.two_group_tests(dataset.cohort, endpoint)
        table = survival_analyses.subgroup_tables(dataset.cohort, endpoint)
        two = table.groupby("label").filter(lambda part: len(part) == 2)
        assert sorted(tests.index.get_level_values("factor")) == sorted(two["label"].unique())
        for label, part in two.groupby("label"):
            row = tests.xs(label, level="factor").iloc[0]
            assert row["log-rank P"] == pytest.approx(part["logrank_p"].iloc[0], rel=1e-9)
            assert row["Cox Wald (at β̂) P"] == pytest.approx(part["hr_p"].iloc[1], rel=1e-5)


def test_multiple_testing_table_matches_the_chapter_summary(dataset) -> None:
    """As many rows as log-rank tests; Bonferroni and Holm keep as many as multiple_testing_summary counts."""
    from aice_helpers.pages import prognostic

    tables = {endpoint: survival_analyses.subgroup_tables(dataset.cohort, endpoint) for endpoint in ("os", "pfs")}
    table = teaching.multiple_testing_table(tables)
    summary = prognostic.multiple_testing_summary(tables)["value"].astype(float)
    assert len(table) == summary["log-rank tests (factors × endpoints)"]
    assert (table["kept by Bonferroni"] == "yes").sum() == summary["log-rank tests below the Bonferroni threshold"]
    assert (table["kept by Holm"] == "yes").sum() == summary["log-rank tests kept by Holm's step-down procedure"]
    assert table["log-rank P"].is_monotonic_increasing
    assert (table["Bonferroni P"] >= table["Holm P"] - EXACT).all() and (table["Holm P"] >= table["log-rank P"]).all()


def test_subgroup_median_three_ways(dataset) -> None:
    """Each group's rows are median_three_ways of that group; the groups add up to the cohort."""

    table = teaching.subgroup_median_three_ways(dataset.cohort, "os", "tumor_site")
    frame = survival_analyses.factor_frame(dataset.cohort, "os", study.FACTORS_BY_KEY["tumor_site"])
    sizes = table.groupby(level="group", sort=False)["patients"].first()
    assert sizes.sum() == len(dataset.cohort)
    for group, size in sizes.items():
        part = frame[frame["group"] == group]
        assert len(part) == size
        expected = teaching.median_three_ways(part["time"], part["event"])
        np.testing.assert_array_equal(table.xs(group, level="group")[["median", "lower", "upper"]].to_numpy(),
                                      expected[["median", "lower", "upper"]].to_numpy())


def test_proportion_interval_coverage_by_hand() -> None:
    """n = 2, p = 1/2: x = 0, 1, 2 with chances 1/4, 1/2, 1/4; each interval covers 1/2 for the x whose
    limits hold it. Clopper–Pearson never covers less than 95%; Wilson averages close to 95%."""
    from aice_helpers.stats.proportions import proportion_ci

    table = teaching.proportion_interval_coverage(2, 0.5)
    for method, label in (("clopper_pearson", "Clopper–Pearson (exact)"), ("wilson", "Wilson score")):
        hits = [proportion_ci(x, 2, method).lower <= 0.5 <= proportion_ci(x, 2, method).upper for x in range(3)]
        assert table.loc[label, "coverage (%)"] == pytest.approx(100 * np.dot([0.25, 0.5, 0.25], hits), rel=EXACT)
    over = teaching.coverage_over_rates(40, np.linspace(0.05, 0.95, 19))
    assert over.loc["Clopper–Pearson (exact)", "lowest (%)"] >= 95.0
    assert abs(over.loc["Wilson score", "average (%)"] - 95.0) < 1.0
    assert (over["lowest (%)"] <= over["average (%)"]).all() and (over["average (%)"] <= over["highest (%)"]).all()


def test_response_rate_denominators(dataset) -> None:
    """The patients row is the ORR and DCR of the response chapter; the sessions row divides the same counts."""
    from aice_helpers.pages.response import (
        disease_control_rate,
        objective_response_rate,
    )

    cohort = dataset.cohort
    table = teaching.response_rate_denominators(cohort, 216)
    patients = table.iloc[0]
    assert patients["ORR (%)"] == pytest.approx(100 * objective_response_rate(cohort).estimate)
    assert patients["DCR (%)"] == pytest.approx(100 * disease_control_rate(cohort).estimate)
    assert table.iloc[1]["ORR (%)"] == pytest.approx(100 * patients["responders (CR + PR)"] / 216)
    assert len(teaching.response_rate_denominators(cohort, None)) == 1


def test_disease_control_breakdown(dataset) -> None:
    """CR + PR + SD patients add up to the DCR's numerator; the shares of disease control add up to 100%."""
    from aice_helpers.pages.response import disease_control_rate

    table = teaching.disease_control_breakdown(dataset.cohort)
    assert table.index.tolist() == ["CR", "PR", "SD"]
    assert table["patients"].sum() == disease_control_rate(dataset.cohort).successes
    assert table["% of disease control"].sum() == pytest.approx(100.0)
    assert table["% of all patients"].sum() == pytest.approx(100 * disease_control_rate(dataset.cohort).estimate)


def test_adverse_event_counting(dataset) -> None:
    """The invented patient: pain after three sessions (3 sessions, 3 records, 1 patient), pyrexia recorded
    twice after one session (1, 2, 1). On the cohort the patient and session counts are Table 5's totals."""
    from aice_helpers.pages import safety

    toy = teaching.adverse_event_counting(teaching.three_session_example(), 1, 3)
    assert toy.loc["Pain", ["patients", "sessions", "records"]].tolist() == [1, 3, 3]
    assert toy.loc["Pyrexia", ["patients", "sessions", "records"]].tolist() == [1, 1, 2]
    assert toy.loc["any event", ["patients", "sessions", "records"]].tolist() == [1, 3, 5]
    events, n_patients, n_sessions = dataset.adverse_events, len(dataset.cohort), len(dataset.procedures)
    table = teaching.adverse_event_counting(events, n_patients, n_sessions)
    per_patient = safety.table5_per_patient(events, n_patients)[("Total", "n")]
    per_session = safety.table5_per_procedure(events, n_sessions)[("Total", "n")]
    shown = table.drop(index="any event")
    assert shown["patients"].to_dict() == per_patient[per_patient > 0].to_dict()
    assert shown["sessions"].to_dict() == per_session[per_session > 0].to_dict()
    assert table.loc["any event", "records"] == len(events)


def test_status_parts_explain_the_row_status(dataset, published) -> None:
    """The row's status is the worst of its parts, for an estimate with limits and for a bare number."""
    from aice_helpers.paper import scorecard

    table = scorecard.scorecard_table(dataset, published)
    for entry_id in ("table3.stage.hr", "results.survival.os.median", "safety.grade_d.pct", "table1.sex.male"):
        parts = teaching.status_parts(table, published, entry_id)
        row_status = table.set_index("id").at[entry_id, "status"]
        assert compare.worst_status(parts["status"].tolist()) == row_status
    assert teaching.status_parts(table, published, "table3.stage.hr").index.tolist() == ["estimate", "lower", "upper"]


def test_tolerance_what_if() -> None:
    """Half a month for a median; the side of 0.05 for P; 10% on the log scale for a hazard ratio, so 2.2
    against 2.0 is in but 0.45 against 0.5 (11%) is out; counts exact."""
    table = teaching.tolerance_what_if([("median", 19.0, 19.5, 1), ("median", 19.0, 19.6, 1),
                                        ("p", 0.006, 0.011, 3), ("p", 0.006, 0.051, 3),
                                        ("hazard_ratio", 2.0, 2.2, 1), ("hazard_ratio", 0.5, 0.45, 2),
                                        ("count", 42, 43, 0), ("count", 42, 42, 0)])
    assert table["status"].tolist() == ["within tolerance", "outside tolerance", "within tolerance",
                                        "outside tolerance", "within tolerance", "outside tolerance",
                                        "outside tolerance", "exact"]
    assert table["gap on the rule's scale"].iloc[5] == pytest.approx(math.log(0.5 / 0.45))
    gaps, allowed = table["gap on the rule's scale"], table["allowed gap"]
    assert gaps.iloc[5] > allowed.iloc[5] and gaps.iloc[4] == pytest.approx(allowed.iloc[4], abs=1e-12)
    assert math.isnan(table["gap on the rule's scale"].iloc[2])


def test_two_group_tests_on_a_cohort_without_events_is_an_empty_table(dataset) -> None:
    """No death: no test is defined, so the table has its columns and no row (and nothing raises)."""
    cohort = dataset.cohort.assign(os_event=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way either
        table = teaching.two_group_tests(cohort, "os")
    assert table.empty and list(table.columns)[0] == "log-rank P" and table.index.names == ["factor", "comparison"]


def test_score_test_without_information_is_refused() -> None:
    """With no death the information at β = 0 is zero: a clear ValueError, not a division by zero."""
    with pytest.raises(ValueError, match="no information"):
        teaching.score_test_by_hand([1, 2, 3, 4], [0, 0, 0, 0], [0, 1, 0, 1])


def test_newton_finds_the_maximum_the_search_finds() -> None:
    """Newton–Raphson on the score and the information lands where the bounded search does."""
    rng = np.random.default_rng(3)
    time = rng.exponential(10, 300).round(1) + 0.1
    event = (rng.random(300) < 0.7).astype(int)
    x = (rng.random(300) < 0.4).astype(float)
    assert teaching.newton_maximum(time, event, x) == pytest.approx(
        teaching.partial_likelihood_maximum(time, event, x), abs=1e-7)
    with pytest.raises(ValueError, match="no finite maximum"):
        teaching.newton_maximum([1, 2, 3, 4], [1, 1, 0, 0], [1, 1, 0, 0])

"""aice_helpers.stats.cox against R `coxph` (fixtures always, live R when installed) and its edge cases.

The proportional-hazards tools are checked the same way: ``zph_score_test`` against R's ``cox.zph``
(survival ≥ 3.0, a score test) for the km, rank and identity transforms, and the scaled Schoenfeld
residuals against ``residuals(fit, "scaledsch")``, on the lung data in days and in whole months
(many tied deaths), with Breslow and Efron ties. lifelines' ``proportional_hazard_test`` is the
pre-3.0 approximation: it matches R only where the methods coincide (the old formula written out
in R with the identity transform) and differs from the score test otherwise.

Tolerance: RTOL = 1e-6 relative on β, SE, HR, CI limits, Wald P, log-likelihood and concordance,
for Efron (lifelines) and Breslow (statsmodels) alike. Achieved with the tight Newton–Raphson
options: ~1e-11 (lifelines) and ~1e-14 (statsmodels); lifelines' default options give ~2e-5 on β,
which is why LIFELINES_FIT_OPTIONS exist. R's reference is itself fitted with eps = 1e-14.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import concordance_index

from aice_helpers.stats import cox as cox_module
from aice_helpers.stats.cox import (
    GLOBAL_TERM,
    LIFELINES_FIT_OPTIONS,
    PAPER_TIES,
    TABLE_COLUMNS,
    ModelWarning,
    dummy_indicators,
    event_time_sums,
    fit_cox,
    scaled_schoenfeld_residuals,
    schoenfeld_residuals,
    wald_table,
    zph_score_test,
    zph_time_transform,
)
from aice_helpers.study import binary_indicator, threshold_indicator

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES = TESTS_DIR / "fixtures"
R_SCRIPT = TESTS_DIR / "r" / "reference.R"
REFERENCE_FILE = "r_survival_reference.json"
RTOL = 1e-6
NO_R = shutil.which("Rscript") is None
NO_R_REASON = "R not installed: live comparison skipped; fixtures still checked"

LUNG_COVARIATES = {
    "Age (per year)": ("age", "continuous"),
    "Sex female vs male": ("female", "male"),
    "ECOG ≥2 vs 0–1": ("ecog_ge2", "0–1"),
}


def read_reference(folder: Path) -> dict:
    with open(folder / REFERENCE_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def lung_cox_data() -> pd.DataFrame:
    """The lung rows and codings of tests/r/reference.R's Cox models."""
    data = pd.read_csv(FIXTURES / "lung.csv").dropna(subset=["ph.ecog"])
    data["event"] = (data["status"] == 2).astype(int)
    data["female"] = binary_indicator(data["sex"], [2])
    data["ecog_ge2"] = threshold_indicator(data["ph.ecog"], ">=", 2)
    return data


@pytest.fixture(scope="module")
def fixture_reference() -> dict:
    return read_reference(FIXTURES)


@pytest.fixture(scope="module")
def live_reference(tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("r_live_cox")
    subprocess.run(["Rscript", str(R_SCRIPT), str(out_dir)], check=True, capture_output=True, text=True)
    return read_reference(out_dir)


def check_cox(reference: dict, ties: str) -> None:
    expected = reference["lung"][f"cox_{ties}"]
    result = fit_cox(lung_cox_data(), "time", "event", LUNG_COVARIATES, ties=ties)
    assert result.reliable and result.problems == ()
    assert result.table["column"].tolist() == expected["terms"]
    for column, key in [("beta", "coef"), ("se", "se"), ("hr", "hr"), ("lower", "lower"),
                        ("upper", "upper"), ("p", "p")]:
        np.testing.assert_allclose(result.table[column], expected[key], rtol=RTOL, err_msg=f"{ties} {column}")
    assert result.log_likelihood == pytest.approx(expected["loglik"], rel=RTOL)
    assert result.concordance == pytest.approx(expected["concordance"], rel=RTOL)
    assert (result.n, result.events) == (expected["n"], expected["events"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_against_r_fixture(ties, fixture_reference):
    check_cox(fixture_reference, ties)


@pytest.mark.skipif(NO_R, reason=NO_R_REASON)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_against_live_r(ties, live_reference):
    check_cox(live_reference, ties)


def test_default_ties_are_the_papers_breslow():
    assert PAPER_TIES == "breslow"
    result = fit_cox(lung_cox_data(), "time", "event", LUNG_COVARIATES)
    assert result.ties == "breslow" and result.engine == cox_module.ROW_ENGINE


def test_table_layout_and_wald_formulas():
    result = fit_cox(lung_cox_data(), "time", "event", LUNG_COVARIATES, ties="efron")
    table = result.table
    assert list(table.columns) == TABLE_COLUMNS
    assert table["label"].tolist() == list(LUNG_COVARIATES)
    assert table["reference"].tolist() == ["continuous", "male", "0–1"]
    np.testing.assert_allclose(table["hr"], np.exp(table["beta"]), rtol=1e-12)
    np.testing.assert_allclose(table["lower"], np.exp(table["beta"] - 1.959963984540054 * table["se"]), rtol=1e-12)
    np.testing.assert_allclose(table["upper"] / table["hr"], table["hr"] / table["lower"], rtol=1e-12)


def test_wald_table_by_hand():
    row = wald_table([math.log(2.0)], [0.25]).iloc[0]
    z = 1.959963984540054
    assert row["hr"] == pytest.approx(2.0)
    assert (row["lower"], row["upper"]) == pytest.approx((2.0 * math.exp(-z * 0.25), 2.0 * math.exp(z * 0.25)))
    assert row["p"] == pytest.approx(0.0055612357, rel=1e-6)  # 2(1 − Φ(ln 2 / 0.25)) = 2(1 − Φ(2.77259))


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_one_level_covariate_warns_and_flags(ties):
    data = lung_cox_data().assign(stage_iv=1)
    covariates = {**LUNG_COVARIATES, "Stage IV vs III": ("stage_iv", "III")}
    with pytest.warns(ModelWarning, match="single value"):
        result = fit_cox(data, "time", "event", covariates, ties=ties)
    assert not result.reliable
    stage = result.table.set_index("label").loc["Stage IV vs III"]
    assert stage[["beta", "se", "hr", "lower", "upper", "p"]].isna().all()
    clean = fit_cox(lung_cox_data(), "time", "event", LUNG_COVARIATES, ties=ties)
    np.testing.assert_allclose(result.table["beta"].iloc[:3], clean.table["beta"], rtol=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_separation_warns_and_flags(ties):
    rng = np.random.default_rng(1)
    data = pd.DataFrame({
        "t": np.r_[rng.uniform(10, 20, 20), rng.uniform(1, 9, 20)],
        "e": np.r_[np.zeros(20), np.ones(20)].astype(int),  # only the exposed group has events
        "x": np.r_[np.zeros(20), np.ones(20)],
        "age": rng.normal(50, 10, 40),
    })
    with pytest.warns(ModelWarning) as record:  # also the engine's own convergence warning
        result = fit_cox(data, "t", "e", {"X": ("x", "0"), "Age": ("age", "per year")}, ties=ties)
    assert any("separation" in str(warning.message) for warning in record)
    assert not result.reliable
    assert any("'x'" in problem and "separation" in problem for problem in result.problems)
    assert not any("'age'" in problem for problem in result.problems)


def test_no_events_warns_and_returns_nan():
    data = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [0, 0, 0, 0], "x": [0, 1, 0, 1]})
    with pytest.warns(ModelWarning, match="no events"):
        result = fit_cox(data, "t", "e", {"X": ("x", "0")})
    assert not result.reliable and result.table["beta"].isna().all()


def test_invalid_ties_raise():
    with pytest.raises(ValueError, match="ties"):
        fit_cox(lung_cox_data(), "time", "event", LUNG_COVARIATES, ties="exact")


def test_missing_rows_are_left_out():
    data = lung_cox_data()
    data.loc[data.index[:5], "age"] = np.nan
    result = fit_cox(data, "time", "event", LUNG_COVARIATES, ties="breslow")
    assert result.n == len(data) - 5


# ---------------------------------------------------------------------------------------------
# Codings


def test_binary_indicator_codings_keep_missing():
    postop = pd.Series([0, 1, 2, 3, None])
    np.testing.assert_array_equal(binary_indicator(postop, [0, 1]).astype("float").to_numpy(),
                                  [1, 1, 0, 0, np.nan])  # "0–1 vs ≥2"
    grade = pd.Series(["G1", "G2", "G3", None])
    assert binary_indicator(grade, ["G3"]).tolist()[:3] == [0, 0, 1]  # "G3 vs G1+G2"
    assert pd.isna(binary_indicator(grade, ["G3"]).iloc[3])
    response = pd.Series(["PR", "SD", "PD", "CR"])
    assert binary_indicator(response, ["SD", "PD"]).tolist() == [0, 1, 1, 0]  # "SD+PD vs PR"


def test_threshold_indicator():
    diameter = pd.Series([9.9, 10.0, 10.1, np.nan])
    greater = threshold_indicator(diameter, ">", 10)  # "> 10 vs ≤ 10"
    assert greater.tolist()[:3] == [0, 0, 1] and pd.isna(greater.iloc[3])
    assert threshold_indicator(diameter, ">=", 10).tolist()[:3] == [0, 1, 1]
    with pytest.raises(ValueError):
        threshold_indicator(diameter, "=>", 10)


def test_dummy_indicators():
    dummies = dummy_indicators(pd.Series(["b", "a", "c", "a"], name="g"), ["a", "b", "c"])
    assert list(dummies.columns) == ["g=b", "g=c"]
    assert dummies.to_numpy().tolist() == [[1, 0], [0, 0], [0, 1], [0, 0]]


# ---------------------------------------------------------------------------------------------
# Proportional hazards: R's cox.zph score test and the scaled Schoenfeld residuals

LUNG_COLUMNS = ["age", "female", "ecog_ge2"]
DAYS_PER_MONTH = 30.4375  # as tests/r/reference.R
ZPH_RTOL = 1e-6


def lung_months_data() -> pd.DataFrame:
    """The lung Cox rows with time in whole months (ceiling of days / 30.4375), as reference.R's lung_months."""
    return lung_cox_data().assign(time=lambda d: np.ceil(d["time"] / DAYS_PER_MONTH))


def lung_beta(data: pd.DataFrame, ties: str) -> np.ndarray:
    return fit_cox(data, "time", "event", LUNG_COVARIATES, ties=ties).table["beta"].to_numpy(float)


def check_zph(reference: dict, dataset: str, ties: str, transform: str) -> None:
    data = lung_cox_data() if dataset == "lung" else lung_months_data()
    expected = reference[dataset]["cox_zph"][ties][transform]
    table = zph_score_test(data["time"], data["event"], data[LUNG_COLUMNS], lung_beta(data, ties), ties, transform)
    assert table.index.tolist() == expected["terms"]
    np.testing.assert_allclose(table["chisq"], expected["chisq"], rtol=ZPH_RTOL,
                               err_msg=f"{dataset} {ties} {transform}")
    np.testing.assert_allclose(table["p"], expected["p"], rtol=ZPH_RTOL)
    assert table["df"].tolist() == expected["df"]


ZPH_CASES = [(dataset, ties, transform) for dataset in ("lung", "lung_months") for ties in ("efron", "breslow")
             for transform in ("km", "rank", "identity")]


@pytest.mark.parametrize(("dataset", "ties", "transform"), ZPH_CASES)
def test_zph_score_test_against_r_fixture(dataset, ties, transform, fixture_reference):
    check_zph(fixture_reference, dataset, ties, transform)


@pytest.mark.skipif(NO_R, reason=NO_R_REASON)
@pytest.mark.parametrize(("dataset", "ties", "transform"), ZPH_CASES)
def test_zph_score_test_against_live_r(dataset, ties, transform, live_reference):
    check_zph(live_reference, dataset, ties, transform)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_with_many_ties_against_r_fixture(ties, fixture_reference):
    expected = fixture_reference["lung_months"][f"cox_{ties}"]
    data = lung_months_data()
    assert data.loc[data["event"] == 1, "time"].nunique() == fixture_reference["lung_months"]["n_distinct_death_times"]
    result = fit_cox(data, "time", "event", LUNG_COVARIATES, ties=ties)
    for column, key in [("beta", "coef"), ("se", "se"), ("p", "p")]:
        np.testing.assert_allclose(result.table[column], expected[key], rtol=RTOL, err_msg=f"{ties} {column}")
    assert result.log_likelihood == pytest.approx(expected["loglik"], rel=RTOL)


def check_scaled_residuals(reference: dict, ties: str) -> None:
    data = lung_cox_data()
    expected = reference["lung"]["scaled_schoenfeld"][ties]
    scaled = scaled_schoenfeld_residuals(data["time"], data["event"], data[LUNG_COLUMNS], lung_beta(data, ties), ties)
    np.testing.assert_allclose(scaled["time"], expected["time"])
    for column in LUNG_COLUMNS:
        np.testing.assert_allclose(scaled[column], expected[column], rtol=ZPH_RTOL, atol=1e-9, err_msg=column)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_scaled_schoenfeld_residuals_against_r_fixture(ties, fixture_reference):
    check_scaled_residuals(fixture_reference, ties)


@pytest.mark.skipif(NO_R, reason=NO_R_REASON)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_scaled_schoenfeld_residuals_against_live_r(ties, live_reference):
    check_scaled_residuals(live_reference, ties)


def lifelines_lung_fit() -> tuple[CoxPHFitter, pd.DataFrame]:
    frame = lung_cox_data()[["time", "event", *LUNG_COLUMNS]].astype(float)
    return CoxPHFitter().fit(frame, "time", "event", fit_options=LIFELINES_FIT_OPTIONS), frame


def test_lifelines_ph_test_is_the_old_approximation(fixture_reference):
    """Where the methods coincide: lifelines' test with the identity transform is R's pre-3.0 formula."""
    fitter, frame = lifelines_lung_fit()
    expected = fixture_reference["lung"]["zph_old_identity_efron"]
    result = proportional_hazard_test(fitter, frame, time_transform="identity")
    np.testing.assert_allclose(np.asarray(result.test_statistic, dtype=float), expected["chisq"], rtol=ZPH_RTOL)
    np.testing.assert_allclose(np.asarray(result.p_value, dtype=float), expected["p"], rtol=ZPH_RTOL)


def test_lifelines_scaled_residuals_leave_out_beta():
    """lifelines' scaled Schoenfeld residuals are R's (and ours) minus β̂, its documented choice, row for row."""
    fitter, frame = lifelines_lung_fit()
    lifelines_scaled = fitter.compute_residuals(frame, kind="scaled_schoenfeld")
    in_time_order = (lifelines_scaled.assign(time=frame.loc[lifelines_scaled.index, "time"], row=lifelines_scaled.index)
                     .sort_values(["time", "row"])[LUNG_COLUMNS].to_numpy())
    ours = scaled_schoenfeld_residuals(frame["time"], frame["event"], frame[LUNG_COLUMNS],
                                       fitter.params_.to_numpy(), "efron")
    np.testing.assert_allclose(in_time_order + fitter.params_.to_numpy(), ours[LUNG_COLUMNS].to_numpy(),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("transform", ["km", "rank"])
def test_lifelines_approximation_is_not_the_score_test(transform, fixture_reference):
    """Where they differ: lifelines' km and rank tests are not R's cox.zph (different test, different g(t))."""
    fitter, frame = lifelines_lung_fit()
    approximate = np.asarray(proportional_hazard_test(fitter, frame, time_transform=transform).test_statistic,
                             dtype=float)
    score = np.asarray(fixture_reference["lung"]["cox_zph"]["efron"][transform]["chisq"][:3])
    assert np.max(np.abs(approximate / score - 1)) > 0.05


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_schoenfeld_residuals_sum_to_the_score(ties):
    """At β̂ the score is zero, and the Schoenfeld residuals add up to it."""
    data = lung_months_data()
    residuals = schoenfeld_residuals(data["time"], data["event"], data[LUNG_COLUMNS], lung_beta(data, ties), ties)
    assert len(residuals) == int(data["event"].sum())
    assert residuals["time"].is_monotonic_increasing
    np.testing.assert_allclose(residuals[LUNG_COLUMNS].sum(), 0.0, atol=1e-6)


def test_event_time_sums_by_hand():
    """Three patients, one binary covariate, β = 0: means and variances of the risk sets."""
    sums = event_time_sums([1, 2, 3], [1, 1, 0], np.array([[1.0], [0.0], [1.0]]), [0.0], "breslow")
    np.testing.assert_allclose(sums.times, [1, 2])
    np.testing.assert_allclose(sums.score[:, 0], [1 - 2 / 3, 0 - 1 / 2])  # x of the death minus the risk-set mean
    np.testing.assert_allclose(sums.information[:, 0, 0], [2 / 9, 1 / 4])  # p(1 − p) of each risk set
    with pytest.raises(ValueError, match="ties"):
        event_time_sums([1, 2], [1, 1], np.ones((2, 1)), [0.0], "exact")


def test_efron_and_breslow_agree_without_ties():
    data = lung_cox_data().drop_duplicates(subset="time")
    x = data[LUNG_COLUMNS].to_numpy(float)
    beta = lung_beta(data, "breslow")
    breslow, efron = (event_time_sums(data["time"], data["event"], x, beta, ties) for ties in ("breslow", "efron"))
    np.testing.assert_allclose(breslow.information, efron.information)
    np.testing.assert_allclose(breslow.residuals, efron.residuals)


def test_zph_time_transforms_by_hand():
    time, event = [1.0, 2.0, 2.0, 3.0, 4.0], [1, 1, 0, 1, 0]
    # left-continuous Kaplan–Meier: S(1−) = 1, S(2−) = 4/5, S(3−) = 4/5 · 3/4 = 3/5,
    # S(4−) = 3/5 · 1/2 = 3/10
    np.testing.assert_allclose(zph_time_transform(time, event, "km"), [0.0, 0.2, 0.2, 0.4, 0.7])
    np.testing.assert_allclose(zph_time_transform(time, event, "rank"), [1.0, 2.5, 2.5, 4.0, 5.0])
    np.testing.assert_allclose(zph_time_transform(time, event, "identity"), time)
    np.testing.assert_allclose(zph_time_transform(time, event, "log"), np.log(time))
    with pytest.raises(ValueError, match="transform"):
        zph_time_transform(time, event, "spline")


def test_zph_terms_group_columns():
    """A term of two columns is one test with two degrees of freedom; the global test has one per column."""
    data = lung_cox_data()
    table = zph_score_test(data["time"], data["event"], data[LUNG_COLUMNS], lung_beta(data, "efron"), "efron",
                           terms={"age": ["age"], "sex and ECOG": ["female", "ecog_ge2"]})
    assert table.index.tolist() == ["age", "sex and ECOG", GLOBAL_TERM]
    assert table["df"].tolist() == [1, 2, 3]
    single = zph_score_test(data["time"], data["event"], data[LUNG_COLUMNS], lung_beta(data, "efron"), "efron")
    assert table.at[GLOBAL_TERM, "chisq"] == pytest.approx(single.at[GLOBAL_TERM, "chisq"], rel=1e-12)
    assert table.at["age", "chisq"] == pytest.approx(single.at["age", "chisq"], rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Large cohorts: the Breslow fit on risk sets grouped by covariate pattern


def grouped_test_data(n: int = 6_000) -> pd.DataFrame:
    """Tied times (a 0.1-month grid) and three indicators, as the book's models have."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"a": rng.integers(0, 2, n), "b": rng.integers(0, 3, n), "e": (rng.random(n) < 0.7).astype(int)})
    data["b1"], data["b2"] = (data["b"] == 1).astype(int), (data["b"] == 2).astype(int)
    data["t"] = (rng.exponential(20, n) * np.exp(0.3 * data["a"] - 0.2 * data["b1"])).round(1) + 0.1
    return data


GROUPED_COVARIATES = {"A": ("a", "0"), "B1": ("b1", "0"), "B2": ("b2", "0")}


def test_grouped_breslow_equals_statsmodels(monkeypatch):
    """Above GROUPED_MIN_ROWS the grouped engine gives PHReg's β, SE, P, log-likelihood and lifelines' C."""
    data = grouped_test_data()
    grouped = fit_cox(data, "t", "e", GROUPED_COVARIATES)
    monkeypatch.setattr(cox_module, "GROUPED_MIN_ROWS", len(data) + 1)
    reference = fit_cox(data, "t", "e", GROUPED_COVARIATES)
    assert grouped.engine == cox_module.GROUPED_ENGINE and reference.engine == cox_module.ROW_ENGINE
    for column in ("beta", "se", "hr", "lower", "upper", "p"):
        np.testing.assert_allclose(grouped.table[column], reference.table[column], rtol=1e-9, err_msg=column)
    assert grouped.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-12)
    assert grouped.concordance == pytest.approx(reference.concordance, rel=1e-12)
    assert grouped.reliable and reference.reliable


def test_grouped_concordance_counts_ties_as_lifelines_does():
    """Deaths tied in time are not compared; a patient censored at a death's time outlives it."""
    time = np.array([1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0])
    event = np.array([1, 1, 0, 1, 1, 0, 0])
    x = np.array([[1.0], [0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])
    table = cox_module.risk_set_table(time, event, x)
    assert cox_module.grouped_concordance(table, np.array([0.7])) == pytest.approx(
        concordance_index(time, -0.7 * x[:, 0], event))


def test_grouped_engine_is_not_used_beyond_its_cells():
    """Untied times and a continuous covariate: event times × patterns is too large, no grouped table."""
    rng = np.random.default_rng(0)
    assert cox_module.risk_set_table(np.arange(1.0, 601.0), np.ones(600), rng.normal(size=(600, 1)),
                                     max_cells=10_000) is None


def test_grouped_breslow_with_a_measured_covariate(monkeypatch):
    """A covariate on a 0.5-unit grid (size per 5 cm, as the sensitivity models have) fits as PHReg does."""
    data = grouped_test_data().assign(size=lambda frame: (frame["a"] * 3 + frame["b"]) * 0.5 + 1.0)
    covariates = {"A": ("a", "0"), "Size": ("size", "per unit")}
    grouped = fit_cox(data, "t", "e", covariates)
    monkeypatch.setattr(cox_module, "GROUPED_MIN_ROWS", len(data) + 1)
    reference = fit_cox(data, "t", "e", covariates)
    assert grouped.engine == cox_module.GROUPED_ENGINE
    np.testing.assert_allclose(grouped.table["se"], reference.table["se"], rtol=1e-9)
    assert grouped.concordance == pytest.approx(reference.concordance, rel=1e-12)


def test_grouped_separation_is_flagged():
    """Only the exposed group dies: the iterations run off and the covariate is flagged as separated."""
    n = 6_000
    data = pd.DataFrame({"x": np.r_[np.zeros(n // 2), np.ones(n // 2)], "e": np.r_[np.zeros(n // 2), np.ones(n // 2)],
                         "t": np.r_[np.full(n // 2, 50.0), np.linspace(1, 40, n // 2)]})
    with pytest.warns(ModelWarning, match="separation"):
        result = fit_cox(data, "t", "e", {"X": ("x", "0")})
    assert result.engine == cox_module.GROUPED_ENGINE and not result.reliable


def test_covariate_patterns_number_the_distinct_rows():
    """Each row gets the number of its pattern, and the patterns give the rows back."""
    x = np.array([[1.0, 0.0], [0.0, 2.5], [1.0, 0.0], [0.0, 0.0], [0.0, 2.5]])
    patterns, pattern = cox_module.covariate_patterns(x)
    np.testing.assert_array_equal(patterns[pattern], x)
    assert len(patterns) == 3 and pattern[0] == pattern[2] and pattern[1] == pattern[4]


# ---------------------------------------------------------------------------------------------
# Rows a model cannot estimate: flagged with their reason, blanked in estimable_table


def separated_data() -> pd.DataFrame:
    """Forty patients: only the exposed (x = 1) die; z is x but for one censored unexposed patient; age is noise."""
    rng = np.random.default_rng(1)
    x = np.r_[np.zeros(20), np.ones(20)]
    z = x.copy()
    z[0] = 1.0
    return pd.DataFrame({"t": np.r_[rng.uniform(10, 20, 20), rng.uniform(1, 9, 20)],
                         "e": np.r_[np.zeros(20), np.ones(20)].astype(int), "x": x, "z": z,
                         "age": rng.normal(50, 10, 40), "stage_iv": 1.0})


def test_each_row_that_cannot_be_estimated_is_named_with_its_reason():
    """Separation, a flat likelihood beside it, a covariate with one value; the estimable row is kept as fitted."""
    covariates = {"X": ("x", "0"), "Z": ("z", "0"), "Age": ("age", "per year"), "Stage IV vs III": ("stage_iv", "III")}
    with pytest.warns(ModelWarning):
        result = fit_cox(separated_data(), "t", "e", covariates)
    assert result.not_estimable == {"X": cox_module.SEPARATION_REASON, "Z": cox_module.FLAT_REASON,
                                    "Stage IV vs III": cox_module.SINGLE_VALUE_REASON}
    assert any("'z': standard error" in problem and "flat likelihood" in problem for problem in result.problems)
    shown = cox_module.estimable_table(result).set_index("label")
    assert shown.loc[["X", "Z", "Stage IV vs III"], cox_module.STATISTIC_COLUMNS].isna().all(axis=None)
    assert shown.loc["Age", "hr"] == pytest.approx(result.table.set_index("label").loc["Age", "hr"])
    assert np.isfinite(result.table.set_index("label").loc["X", "beta"])  # the raw table keeps the fitted value


def test_no_events_make_every_row_not_estimable():
    data = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [0, 0, 0, 0], "x": [0, 1, 0, 1], "y": [1.0, 2, 3, 5]})
    with pytest.warns(ModelWarning, match="no events"):
        result = fit_cox(data, "t", "e", {"X": ("x", "0"), "Y": ("y", "per unit")})
    assert result.not_estimable == {"X": cox_module.NO_EVENTS_REASON, "Y": cox_module.NO_EVENTS_REASON}
    assert cox_module.estimable_table(result)["hr"].isna().all()


def test_duplicated_covariates_are_not_estimable_with_either_engine():
    """Two identical columns: the second is collinear and left out, as R's coxph gives it NA; the first is R's."""
    data = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 0, 1, 1, 0, 1], "a": [0, 1, 0, 1, 0, 1.0],
                         "b": [0, 1, 0, 1, 0, 1.0]})
    covariates = {"A": ("a", "0"), "B": ("b", "0")}
    for ties in ("breslow", "efron"):
        with pytest.warns(ModelWarning, match="collinear"):
            result = fit_cox(data, "t", "e", covariates, ties=ties)
        assert result.not_estimable == {"B": cox_module.COLLINEAR_REASON}
        row = result.table.set_index("label").loc["A"]
        # R 4.2, survival 3.5: coxph(Surv(t, e) ~ a + b, ties = ties): a -0.940613641736 (se 1.2402583526), b NA
        assert (row["beta"], row["se"]) == pytest.approx((-0.940613641736, 1.2402583526), rel=1e-9)


def test_a_problem_naming_no_covariate_makes_every_row_not_estimable():
    """Non-convergence without a separated covariate to explain it: no row can be trusted."""
    table = pd.DataFrame({"label": ["A", "B"], "beta": [0.1, 0.2], "se": [0.3, 0.4]})
    data = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 2.0]})
    covariates = {"A": ("a", "0"), "B": ("b", "per unit")}
    problem = cox_module.NOT_CONVERGED
    assert cox_module.not_estimable_rows(table, data, covariates, 5, [problem]) == {"A": problem, "B": problem}
    separated = [problem, "covariate 'a': coefficient 30 suggests separation (monotone likelihood); the HR is not "
                          "estimable"]
    assert cox_module.not_estimable_rows(table, data, covariates, 5, separated) == {
        "A": cox_module.SEPARATION_REASON}
    assert cox_module.not_estimable_rows(table, data, covariates, 5, [cox_module.SOME_NOT_ESTIMATED]) == {}


def test_a_reliable_model_has_no_row_flagged():
    result = fit_cox(lung_cox_data(), "time", "event", LUNG_COVARIATES)
    assert result.not_estimable == {}
    pd.testing.assert_frame_equal(cox_module.estimable_table(result), result.table)


def test_zph_score_test_with_singular_information_gives_nan():
    """One death: g(t) centred at the deaths is 0, so the time-varying term has no information to test with."""
    time, event = np.array([1.0, 2, 3, 4, 5]), np.array([0, 1, 0, 0, 0])
    table = zph_score_test(time, event, pd.DataFrame({"x": [1.0, 0, 1, 0, 1]}), [0.0])
    assert table[["chisq", "p"]].isna().all(axis=None)
    assert table["df"].tolist() == [1, 1]


def test_first_sentence_of_an_engine_message():
    assert cox_module.first_sentence("Singular matrix") == "Singular matrix"
    assert cox_module.first_sentence("Convergence halted. Suspicion is high. See https://x.y/z.html\nmore") == (
        "Convergence halted")

"""The survival helpers against R's `survival` on its public datasets (lung, pbc, veteran, ovarian, colon).

tests/r/r_datasets.R exports the datasets and R's answers (tests/fixtures/r_datasets/), so these
tests run without R; with Rscript present, test_fixtures_are_rs_answers reruns the script and checks
the stored files are what R gives. Tolerance RTOL = 1e-6 relative unless a comment says otherwise.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from aice_helpers.stats import cox as cox_module
from aice_helpers.stats import survival
from aice_helpers.stats.cox import ModelWarning, cox_fit, fit_cox

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "fixtures" / "r_datasets"
R_SCRIPT = TESTS_DIR / "r" / "r_datasets.R"
DATASETS = ("lung", "pbc", "veteran", "ovarian", "colon")
RTOL = 1e-6
NO_R = shutil.which("Rscript") is None


def as_float(values) -> np.ndarray:
    """JSON numbers (null for R's NA) as a float array."""
    return np.array([math.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((DATA_DIR / "reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    frames = {name: pd.read_csv(DATA_DIR / f"{name}.csv") for name in DATASETS}
    pbc = frames["pbc"]
    pbc["log_bili"], pbc["log_albumin"], pbc["log_protime"] = (np.log(pbc[c]) for c in ("bili", "albumin", "protime"))
    lung = frames["lung"]
    lung["censored_late"] = ((lung["event"] == 0) & (lung["time"] > 700)).astype(int)
    return frames


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier, Greenwood, bands, medians, landmarks, reverse KM


@pytest.mark.parametrize("name", ["lung", "veteran"])
def test_km_and_greenwood(name, data, reference):
    expected = reference["km"][name]
    table = survival.km_table(data[name]["time"], data[name]["event"])
    np.testing.assert_array_equal(table.index.to_numpy(), as_float(expected["time"]))
    np.testing.assert_array_equal(table["at_risk"], as_float(expected["n_risk"]))
    np.testing.assert_allclose(table["survival"], as_float(expected["surv"]), rtol=1e-12)
    finite = np.isfinite(table["greenwood"].to_numpy())
    np.testing.assert_allclose(np.sqrt(table["greenwood"])[finite], as_float(expected["std_err_log"])[finite],
                               rtol=1e-10)
    lower, upper = survival.ci_bands(table["survival"].to_numpy(), table["greenwood"].to_numpy(), "log")
    np.testing.assert_allclose(lower[finite], as_float(expected["lower"])[finite], rtol=1e-10)
    np.testing.assert_allclose(upper[finite], as_float(expected["upper"])[finite], rtol=1e-10)


def test_loglog_bands(data, reference):
    expected = reference["km"]["lung_loglog"]
    table = survival.km_table(data["lung"]["time"], data["lung"]["event"])
    lower, upper = survival.ci_bands(table["survival"].to_numpy(), table["greenwood"].to_numpy(), "log-log")
    np.testing.assert_allclose(lower, as_float(expected["lower"]), rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(upper, as_float(expected["upper"]), rtol=1e-10, equal_nan=True)


MEDIAN_DATA = {"lung": ("lung", "time", None), "veteran": ("veteran", "time", None),
               "ovarian": ("ovarian", "futime", None), "lung_female": ("lung", "time", ("sex", 2))}


@pytest.mark.parametrize("case", list(MEDIAN_DATA))
@pytest.mark.parametrize("transform", survival.TRANSFORMS)
def test_median_intervals(case, transform, data, reference):
    name, time_col, subset = MEDIAN_DATA[case]
    frame = data[name] if subset is None else data[name][data[name][subset[0]] == subset[1]]
    got = survival.median_brookmeyer_crowley(frame[time_col], frame["event"], transform)
    expected = reference["medians"][case][transform]
    np.testing.assert_allclose([got.estimate, got.lower, got.upper],
                               as_float([expected[k] for k in ("estimate", "lower", "upper")]), rtol=RTOL,
                               equal_nan=True)


@pytest.mark.parametrize("name, at", [("lung", [180, 365, 730]), ("veteran", [30, 90, 180])])
@pytest.mark.parametrize("transform", survival.TRANSFORMS)
def test_landmark_intervals(name, at, transform, data, reference):
    got = survival.survival_at(data[name]["time"], data[name]["event"], at, transform)
    expected = reference["landmarks"][name][transform]
    for ours, theirs in (("survival", "surv"), ("std_err", "std_err"), ("lower", "lower"), ("upper", "upper"),
                         ("at_risk", "n_risk")):
        np.testing.assert_allclose(got[ours], as_float(expected[theirs]), rtol=RTOL, err_msg=ours)


def test_reverse_km_follow_up(data, reference):
    got = survival.median_followup(data["lung"]["time"], data["lung"]["event"]).reverse_km
    expected = reference["reverse_km"]["lung"]
    np.testing.assert_allclose([got.estimate, got.lower, got.upper],
                               as_float([expected[k] for k in ("estimate", "lower", "upper")]), rtol=RTOL)


# ---------------------------------------------------------------------------------------------
# Medians where S(t) = 0.5 over an interval: each program's convention, worked by hand


PLATEAU_TIMES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # six deaths: S = 1/2 on [3, 4)


def test_median_conventions_on_a_plateau_at_one_half():
    """R: midpoint 3.5; SPSS and Stata: 3; lifelines: 4 (its S(3) computes as 0.5000000000000001)."""
    event = [1] * 6
    assert survival.median_by_convention(PLATEAU_TIMES, event, "R").estimate == 3.5
    assert survival.median_by_convention(PLATEAU_TIMES, event, "SPSS").estimate == 3.0
    assert survival.median_by_convention(PLATEAU_TIMES, event, "Stata").estimate == 3.0
    assert survival.median_by_convention(PLATEAU_TIMES, event, "lifelines").estimate == 4.0


@pytest.mark.parametrize("times", [PLATEAU_TIMES, [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0,
                                                                         8.0, 9.0]])
def test_lifelines_convention_is_lifelines(times):
    """The 'lifelines' convention is what lifelines itself prints, estimate and log-log interval."""
    event = [1] * len(times)
    fitter = KaplanMeierFitter().fit(times, event)
    got = survival.median_by_convention(times, event, "lifelines")
    interval = median_survival_times(fitter.confidence_interval_).to_numpy().ravel()
    assert got.estimate == fitter.median_survival_time_
    assert (got.lower, got.upper) == (interval[0], interval[1])


def test_spss_collett_median_by_hand():
    """Six deaths at 1…6: t50 = 3 (S = 1/2), Greenwood SE of S = sqrt(1/4 · (1/30 + 1/20 + 1/12)) = sqrt(1/24);
    u = 2 (S = 2/3 ≥ 0.55), l = 4 (S = 1/3 ≤ 0.45), f = (2/3 − 1/3) / 2 = 1/6; SE = 6·sqrt(1/24) = sqrt(1.5)."""
    got = survival.median_spss(PLATEAU_TIMES, [1] * 6)
    z = 1.959963984540054
    assert got.estimate == 3.0
    assert got.se == pytest.approx(math.sqrt(1.5), rel=1e-12)
    assert (got.lower, got.upper) == pytest.approx((3 - z * math.sqrt(1.5), 3 + z * math.sqrt(1.5)), rel=1e-12)


def test_median_table_uses_each_programs_rule():
    table = survival.median_intervals(PLATEAU_TIMES, [1] * 6).set_index("method")
    assert table["median"].tolist() == [3.0, 3.5, 3.0, 3.5]  # SPSS, R log, Stata log-log, R plain


# ---------------------------------------------------------------------------------------------
# Log-rank: k groups, strata, missing groups, trend


LOGRANK_CASES = {
    "lung_sex": ("lung", "sex", None), "lung_ecog": ("lung", "ph.ecog", None),
    "veteran_celltype": ("veteran", "celltype", None), "veteran_trt_by_celltype": ("veteran", "trt", "celltype"),
    "lung_sex_by_ecog": ("lung", "sex", "ph.ecog"), "colon_rx": ("colon", "rx", None),
    "pbc_stage_trend": ("pbc", "stage", None),
}


@pytest.mark.parametrize("case", list(LOGRANK_CASES))
def test_logrank(case, data, reference):
    name, group, strata = LOGRANK_CASES[case]
    frame = data[name]
    expected = reference["logrank"][case]
    order = [label.split("=", 1)[1] for label in expected["groups"]] if frame[group].dtype == object else None
    got = survival.logrank(frame["time"], frame["event"], frame[group], strata=None if strata is None else frame[strata],
                           order=order)
    assert got.chisq == pytest.approx(expected["chisq"], rel=RTOL)
    assert got.df == expected["df"] and got.p == pytest.approx(expected["p"], rel=RTOL)
    np.testing.assert_allclose(got.observed, as_float(expected["observed"]), rtol=1e-12)
    np.testing.assert_allclose(got.expected, as_float(expected["expected"]), rtol=RTOL)
    assert got.n_dropped == expected["n_dropped"]
    assert "nan" not in [str(level) for level in got.groups]
    if "trend_chisq" in expected:
        trend = survival.logrank_trend(frame["time"], frame["event"], frame[group], order=order)
        assert trend.chisq == pytest.approx(expected["trend_chisq"], rel=RTOL)
        assert trend.p == pytest.approx(expected["trend_p"], rel=RTOL) and trend.n_dropped == expected["n_dropped"]


def test_missing_groups_are_dropped_not_a_group(data):
    """lung by ph.ecog: one missing value; R's χ² 22.0 (the old 'nan' group gave 29.8)."""
    lung = data["lung"]
    got = survival.logrank(lung["time"], lung["event"], lung["ph.ecog"])
    assert got.groups == (0.0, 1.0, 2.0, 3.0) and got.n_dropped == 1 and sum(got.n) == 227
    assert got.chisq == pytest.approx(21.962131682476, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Cox: Efron and Breslow, strata, weights, missing covariates, ties from rounding, a small high-hazard group


COX_CASES = {  # name: (dataset, time, covariate columns, strata, weights)
    "lung": ("lung", "time", ["age", "sex", "ph.ecog"], None, None),
    "lung_strata": ("lung", "time", ["age", "sex"], "ph.ecog", None),
    "pbc_mayo2": ("pbc", "time", ["log_bili", "edema"], None, None),
    "pbc_mayo": ("pbc", "time", ["age", "log_bili", "log_albumin", "log_protime", "edema"], None, None),
    "pbc_months": ("pbc", "months", ["log_bili", "edema"], None, None),
    "pbc_years": ("pbc", "years", ["log_bili", "edema"], None, None),
    "pbc_edema_groups": ("pbc", "time", ["edema05", "edema1"], None, None),
    "pbc_years_groups": ("pbc", "years", ["edema05", "edema1", "log_bili"], None, None),
    "veteran": ("veteran", "time", ["trt", "karno", "age"], "celltype", None),
    "veteran_weighted": ("veteran", "time", ["trt", "karno"], None, "diagtime"),
    "ovarian": ("ovarian", "futime", ["age", "ecog.ps", "rx"], None, None),
    "colon": ("colon", "time", ["age", "sex", "nodes", "obstruct", "differ"], None, None),
}


def check_against_r(result, expected) -> None:
    """Coefficients, SE, log-likelihoods, the three tests, concordance, n, events and n dropped against R."""
    fit = result.fit
    np.testing.assert_allclose(fit.coef, as_float(expected["coef"]), rtol=RTOL, err_msg="coef")
    np.testing.assert_allclose(fit.se, as_float(expected["se"]), rtol=RTOL, err_msg="se")
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], as_float(expected["loglik"]), rtol=1e-9)
    np.testing.assert_allclose([fit.wald_test, fit.score_test, fit.lr_test],
                               as_float([expected["wald"], expected["score"], expected["lr"]]), rtol=RTOL)
    assert fit.df == expected["df"]
    assert result.concordance == pytest.approx(expected["concordance"], rel=1e-9)
    assert (result.n, result.events, result.n_dropped) == (expected["n"], expected["events"], expected["n_dropped"])
    assert fit.converged and not fit.infinite.any() and result.reliable


@pytest.mark.parametrize("ties", cox_module.TIES)
@pytest.mark.parametrize("case", list(COX_CASES))
def test_cox_against_r(case, ties, data, reference):
    name, time_col, columns, strata, weights = COX_CASES[case]
    frame = data[name]
    covariates = {column: (column, "per unit") for column in columns}
    result = fit_cox(frame, time_col, "event", covariates, ties=ties, strata=strata, weights_col=weights)
    check_against_r(result, reference["cox"][ties][case])
    tests = result.tests
    assert tests.loc["Wald", "p"] == pytest.approx(math.exp(-tests.loc["Wald", "statistic"] / 2), rel=1e-9) \
        if result.fit.df == 2 else True  # χ² on 2 df: P = exp(−x/2)


@pytest.mark.parametrize("ties", cox_module.TIES)
@pytest.mark.parametrize("case", ["pbc_edema_groups", "pbc_years_groups", "pbc_years", "lung_strata"])
def test_grouped_layout_gives_rs_answer(case, ties, data, reference):
    """The risk sets counted per covariate pattern: the same fit, the same iterations, R's numbers."""
    name, time_col, columns, strata, _ = COX_CASES[case]
    frame = data[name][[time_col, "event", *columns, *([strata] if strata else [])]].dropna()
    fit = cox_fit(frame[time_col], frame["event"], frame[columns].to_numpy(float), ties=ties,
                  strata=frame[strata] if strata else None, grouped=True)
    assert fit.engine == cox_module.GROUPED_ENGINE
    expected = reference["cox"][ties][case]
    np.testing.assert_allclose(fit.coef, as_float(expected["coef"]), rtol=RTOL)
    np.testing.assert_allclose(fit.se, as_float(expected["se"]), rtol=RTOL)
    assert fit.concordance == pytest.approx(expected["concordance"], rel=1e-9)
    assert fit.lr_test == pytest.approx(expected["lr"], rel=RTOL)


@pytest.mark.parametrize("ties", cox_module.TIES)
def test_monotone_likelihood_is_flagged_as_r_does(ties, data, reference):
    """A group without deaths (censored after 700 days): R warns 'Loglik converged before variable 2'."""
    expected = reference["cox"][ties]["lung_infinite"]
    assert "Loglik converged before variable  2" in expected["warnings"]
    covariates = {"Age": ("age", "per year"), "Late censored": ("censored_late", "no")}
    with pytest.warns(ModelWarning, match="separation"):
        result = fit_cox(data["lung"], "time", "event", covariates, ties=ties)
    assert result.fit.converged and result.fit.infinite.tolist() == [False, True]
    assert result.not_estimable == {"Late censored": cox_module.SEPARATION_REASON}
    assert result.fit.coef[1] < -10  # R stopped at -18.65: the coefficient runs to −∞
    assert result.fit.coef[0] == pytest.approx(expected["coef"][0], rel=1e-3)  # age, beside a coefficient at −∞


def test_an_absurd_value_is_not_estimable_not_nan(data):
    """One diameter of 1e308: that covariate is left out with a reason, the rest of the model is R's."""
    lung = data["lung"].assign(size=1.0)
    lung.loc[lung.index[::2], "size"] = 2.0
    lung.loc[lung.index[0], "size"] = 1e308
    covariates = {"Age": ("age", "per year"), "Size": ("size", "per cm")}
    with pytest.warns(ModelWarning, match="too large"):
        result = fit_cox(lung, "time", "event", covariates)
    assert result.not_estimable == {"Size": cox_module.TOO_LARGE_REASON}
    alone = fit_cox(lung, "time", "event", {"Age": ("age", "per year")})
    assert result.table.loc[0, "beta"] == pytest.approx(alone.table.loc[0, "beta"], rel=1e-12)


def test_huge_units_do_not_overflow(data):
    """Age in units of 1e-150 years: the same model, β scaled by 1e150 (covariates are standardised inside)."""
    lung = data["lung"].dropna(subset=["ph.ecog"])
    plain = cox_fit(lung["time"], lung["event"], lung[["age", "sex"]].to_numpy(float))
    scaled = cox_fit(lung["time"], lung["event"], lung[["age", "sex"]].to_numpy(float) * [1e150, 1.0])
    assert scaled.coef[0] * 1e150 == pytest.approx(plain.coef[0], rel=1e-9)
    assert scaled.lr_test == pytest.approx(plain.lr_test, rel=1e-9)


def test_dummy_indicators_keep_missing_missing():
    series = pd.Series(["a", "b", None, "c"], name="g")
    dummies = cox_module.dummy_indicators(series, ["a", "b", "c"])
    assert dummies.iloc[2].isna().all() and dummies.iloc[0].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# The fixtures are R's answers


@pytest.mark.skipif(NO_R, reason="R not installed: the stored fixtures are checked instead")
def test_fixtures_are_rs_answers(tmp_path):
    subprocess.run(["Rscript", str(R_SCRIPT), str(tmp_path)], check=True, capture_output=True, timeout=300)
    for name in DATASETS:
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / f"{name}.csv"), pd.read_csv(DATA_DIR / f"{name}.csv"))
    fresh = json.loads((tmp_path / "reference.json").read_text(encoding="utf-8"))
    stored = json.loads((DATA_DIR / "reference.json").read_text(encoding="utf-8"))
    assert fresh.keys() == stored.keys()

    def compare(a, b, path="reference"):
        if isinstance(a, dict):
            assert a.keys() == b.keys(), path
            for key in a:
                compare(a[key], b[key], f"{path}.{key}")
        elif isinstance(a, list) and a and isinstance(a[0], (int, float)):
            np.testing.assert_allclose(as_float(a), as_float(b), rtol=1e-12, equal_nan=True, err_msg=path)
        elif path not in ("reference.r_version", "reference.survival_version"):
            assert a == b or (isinstance(a, float) and a == pytest.approx(b, rel=1e-12)), path

    compare(fresh, stored)
    with warnings.catch_warnings():
        warnings.simplefilter("error")

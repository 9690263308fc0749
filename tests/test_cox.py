"""aice_helpers.cox against R `coxph` (fixtures always, live R when installed) and its edge cases.

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

from aice_helpers.cox import (
    PAPER_TIES,
    TABLE_COLUMNS,
    ModelWarning,
    binary_indicator,
    dummy_indicators,
    fit_cox,
    threshold_indicator,
    wald_table,
)

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
    assert result.ties == "breslow" and result.engine == "statsmodels PHReg"


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

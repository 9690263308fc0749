"""aice_helpers.stats.survival against R `survival` (fixtures always, live R when installed) and by hand.

Tolerance: RTOL = 1e-6 relative wherever Python and R compute the same thing (achieved: ~1e-15
for S(t) and its intervals, exact for times, ~1e-15 for log-rank). Medians and interval limits are
observed times, so they are compared exactly. The SPSS-style median has no R counterpart: it is
checked against a hand computation from its formula.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from aice_helpers.stats.cox import ModelWarning
from aice_helpers.stats.survival import (
    TRANSFORMS,
    MedianEstimate,
    km_fit,
    km_table,
    logrank,
    median_brookmeyer_crowley,
    median_followup,
    median_spss,
    numbers_at_risk,
    subgroup_table,
    survival_at,
)

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES = TESTS_DIR / "fixtures"
R_SCRIPT = TESTS_DIR / "r" / "reference.R"
REFERENCE_FILE = "r_survival_reference.json"
LUNG_FILE = "lung.csv"
RTOL = 1e-6
NO_R = shutil.which("Rscript") is None
NO_R_REASON = "R not installed: live comparison skipped; fixtures still checked"


def read_reference(folder: Path) -> dict:
    with open(folder / REFERENCE_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def as_float(value) -> float:
    """JSON null (R NA) as NaN."""
    return math.nan if value is None else float(value)


def lung_data(folder: Path = FIXTURES) -> pd.DataFrame:
    data = pd.read_csv(folder / LUNG_FILE)
    data["event"] = (data["status"] == 2).astype(int)
    return data


@pytest.fixture(scope="module")
def fixture_reference() -> dict:
    return read_reference(FIXTURES)


@pytest.fixture(scope="module")
def live_reference(tmp_path_factory) -> tuple[dict, Path]:
    out_dir = tmp_path_factory.mktemp("r_live")
    subprocess.run(["Rscript", str(R_SCRIPT), str(out_dir)], check=True, capture_output=True, text=True)
    return read_reference(out_dir), out_dir


# ---------------------------------------------------------------------------------------------
# Comparisons shared by the fixture and the live-R tests


def assert_median_matches(estimate: MedianEstimate, expected: dict) -> None:
    got = [estimate.estimate, estimate.lower, estimate.upper]
    want = [as_float(expected[key]) for key in ("estimate", "lower", "upper")]
    np.testing.assert_array_equal(got, want)


def check_km_medians(reference: dict) -> None:
    lung = lung_data()
    for transform in TRANSFORMS:
        assert_median_matches(median_brookmeyer_crowley(lung["time"], lung["event"], transform),
                              reference["lung"]["km_median"][transform])
        for sex, expected in reference["lung"]["km_median_by_sex"].items():
            part = lung[lung["sex"] == int(sex)]
            assert_median_matches(median_brookmeyer_crowley(part["time"], part["event"], transform),
                                  expected[transform])
        for case in ("plateau", "not_reached"):
            small = reference[case]
            assert_median_matches(median_brookmeyer_crowley(small["time"], small["event"], transform),
                                  small["km_median"][transform])


def check_survival_at(reference: dict) -> None:
    lung = lung_data()
    for transform, expected in reference["lung"]["survival_at"].items():
        got = survival_at(lung["time"], lung["event"], expected["landmark"], transform)
        for column in ("survival", "std_err", "lower", "upper"):
            np.testing.assert_allclose(got[column], expected[column], rtol=RTOL, err_msg=f"{transform} {column}")
        for column in ("at_risk", "events_to_t"):
            np.testing.assert_array_equal(got[column], expected[column])


def check_logrank(reference: dict) -> None:
    lung = lung_data()
    ecog = lung.dropna(subset=["ph.ecog"])
    ecog3 = np.where(ecog["ph.ecog"] >= 2, "2+", ecog["ph.ecog"].astype(int).astype(str))
    zero = reference["zero_events"]
    cases = {
        "logrank_sex": (lung["time"], lung["event"], lung["sex"], reference["lung"]["logrank_sex"]),
        "logrank_ecog3": (ecog["time"], ecog["event"], ecog3, reference["lung"]["logrank_ecog3"]),
        "zero_events": (zero["time"], zero["event"], zero["group"], zero["logrank"]),
    }
    for name, (time, event, group, expected) in cases.items():
        result = logrank(time, event, group)
        assert result.chisq == pytest.approx(expected["chisq"], rel=RTOL), name
        assert result.p == pytest.approx(expected["p"], rel=RTOL), name
        assert result.df == expected["df"], name
        assert list(result.events) == expected["observed"], name


def check_followup(reference: dict) -> None:
    lung = lung_data()
    expected = reference["lung"]["reverse_km"]
    follow_up = median_followup(lung["time"], lung["event"])
    assert [follow_up.reverse_km.estimate, follow_up.reverse_km.lower, follow_up.reverse_km.upper] == [
        expected["median"], expected["lower"], expected["upper"]]
    assert follow_up.n_censored == expected["n_censored"]


CHECKS = [check_km_medians, check_survival_at, check_logrank, check_followup]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_against_r_fixture(check, fixture_reference):
    check(fixture_reference)


@pytest.mark.skipif(NO_R, reason=NO_R_REASON)
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_against_live_r(check, live_reference):
    check(live_reference[0])


@pytest.mark.skipif(NO_R, reason=NO_R_REASON)
def test_fixture_is_what_r_writes_now(fixture_reference, live_reference):
    """The committed fixtures are current: same lung data, same numbers (15 significant digits)."""
    live, out_dir = live_reference
    assert (out_dir / LUNG_FILE).read_text() == (FIXTURES / LUNG_FILE).read_text()
    assert_nested_close(
        {k: v for k, v in live.items() if k != "meta"}, {k: v for k, v in fixture_reference.items() if k != "meta"}
    )


def assert_nested_close(got, want, path: str = "") -> None:
    """Equal structure; numbers equal to 1e-9 relative (another R build may differ in the last digits)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        for key in want:
            assert_nested_close(got[key], want[key], f"{path}/{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for index, (g, w) in enumerate(zip(got, want)):
            assert_nested_close(g, w, f"{path}[{index}]")
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=1e-9), path
    else:
        assert got == want, path


# ---------------------------------------------------------------------------------------------
# SPSS-style median: by hand

# Ten patients; "+" marks a censored time.
HAND_TIMES = [2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
HAND_EVENTS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0]  # 4+, 8+, 12+ censored


def test_median_spss_by_hand():
    """Collett's SE and the SPSS interval worked out by hand for ten patients.

    time  n  d  S(t)                          Greenwood term d/(n(n−d))
      2  10  1  9/10            = 0.9000      1/90
      3   9  1  4/5             = 0.8000      1/72
      4+  (censored: 7 remain at 5)
      5   7  1  24/35           = 0.6857      1/42
      6   6  1  4/7             = 0.5714      1/30
      7   5  1  16/35           = 0.4571      1/20
      8+  (censored: 3 remain at 9)
      9   3  1  32/105          = 0.3048      1/6
     11   2  1  16/105          = 0.1524      1/2
     12+

    Median t50 = first time with S ≤ 0.5 = 7.
    Greenwood at 7: 1/90 + 1/72 + 1/42 + 1/30 + 1/20 = 333/2520 = 37/280.
    Var S(7) = (16/35)² · 37/280 = 9472/343000 ≈ 0.0276152, se S(7) ≈ 0.166178.
    u = largest event time with S ≥ 0.55 = 6 (S = 4/7); l = smallest with S ≤ 0.45 = 9 (S = 32/105)
    (7 does not qualify: 16/35 ≈ 0.457 > 0.45).
    f = (4/7 − 32/105) / (9 − 6) = (28/105) / 3 = 4/45 ≈ 0.088889.
    SE(t50) = 0.166178 / (4/45) = 0.166178 · 11.25 ≈ 1.869504.
    95% CI = 7 ± 1.959964 · 1.869504 = 7 ± 3.664160 = (3.335840, 10.664160).
    """
    greenwood = sum(Fraction(1, n * (n - 1)) for n in (10, 9, 7, 6, 5))
    assert greenwood == Fraction(37, 280)
    s_median = Fraction(16, 35)
    density = (Fraction(4, 7) - Fraction(32, 105)) / (9 - 6)
    assert density == Fraction(4, 45)
    se = math.sqrt(s_median**2 * greenwood) / float(density)
    half_width = norm.ppf(0.975) * se

    result = median_spss(HAND_TIMES, HAND_EVENTS)

    assert result.reached
    assert result.estimate == 7.0
    assert result.se == pytest.approx(se, rel=1e-12)
    assert result.se == pytest.approx(1.869504, abs=1e-6)
    assert (result.lower, result.upper) == pytest.approx((7 - half_width, 7 + half_width), rel=1e-12)
    assert (result.lower, result.upper) == pytest.approx((3.335840, 10.664160), abs=1e-6)


def test_median_spss_alpha_changes_only_the_multiplier():
    wide = median_spss(HAND_TIMES, HAND_EVENTS, alpha=0.01)
    assert wide.se == pytest.approx(median_spss(HAND_TIMES, HAND_EVENTS).se, rel=1e-12)
    assert wide.upper - wide.estimate == pytest.approx(norm.ppf(0.995) * wide.se, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_median_spss_interval_is_symmetric(seed):
    rng = np.random.default_rng(seed)
    time = np.round(rng.exponential(20, 60), 1) + 0.1
    event = (rng.uniform(size=60) < 0.75).astype(int)
    result = median_spss(time, event)
    assert result.reached
    assert result.upper - result.estimate == pytest.approx(result.estimate - result.lower, rel=1e-12)
    assert result.estimate == km_fit(time, event).median_survival_time_


def test_median_spss_on_lung_is_symmetric_and_uses_first_time_at_or_below_half():
    lung = lung_data()
    result = median_spss(lung["time"], lung["event"])
    assert result.estimate == 310.0
    assert result.upper - 310.0 == pytest.approx(310.0 - result.lower, rel=1e-12)


def test_median_not_reached_gives_nan_and_flag():
    time = list(range(1, 11))
    event = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    spss = median_spss(time, event)
    assert not spss.reached
    assert all(math.isnan(v) for v in (spss.estimate, spss.lower, spss.upper, spss.se))
    r_style = median_brookmeyer_crowley(time, event)
    assert not r_style.reached and math.isnan(r_style.estimate)
    assert not median_spss([1, 2, 3], [0, 0, 0]).reached


def test_median_reached_without_045_crossing_has_no_interval():
    result = median_spss(range(1, 9), [1, 1, 1, 1, 0, 0, 0, 0])  # S: .875 .75 .625 .5 then censored
    assert result.reached and result.estimate == 4.0
    assert math.isnan(result.lower) and math.isnan(result.upper)


def test_plateau_at_half_spss_takes_left_end_r_takes_midpoint(fixture_reference):
    plateau = fixture_reference["plateau"]
    assert median_spss(plateau["time"], plateau["event"]).estimate == 5.0
    assert median_brookmeyer_crowley(plateau["time"], plateau["event"]).estimate == 5.5


# ---------------------------------------------------------------------------------------------
# Landmarks, follow-up, numbers at risk, log-rank, subgroup table


def test_survival_at_default_is_log_log_as_lifelines():
    lung = lung_data()
    got = survival_at(lung["time"], lung["event"], [180, 365])
    fitter = km_fit(lung["time"], lung["event"])
    ci = fitter.confidence_interval_
    for _, row in got.iterrows():
        at = ci.index[ci.index <= row["landmark"]].max()
        assert row["lower"] == pytest.approx(ci.loc[at].iloc[0], rel=1e-9)
        assert row["upper"] == pytest.approx(ci.loc[at].iloc[1], rel=1e-9)


def test_survival_at_before_first_and_after_last_time():
    got = survival_at([2, 4, 6], [1, 0, 1], [1, 7], transform="log")
    assert got.loc[0, "survival"] == 1.0 and got.loc[0, "at_risk"] == 3
    assert math.isnan(got.loc[1, "survival"])


def test_median_followup_observed_times():
    follow_up = median_followup([1, 5, 2, 8, 3], [1, 0, 1, 0, 0])
    assert follow_up.median_all == 3.0
    assert follow_up.range_all == (1.0, 8.0)
    assert follow_up.median_censored == 5.0
    assert follow_up.range_censored == (3.0, 8.0)


def test_numbers_at_risk_against_r_summary(fixture_reference):
    lung = lung_data()
    expected = fixture_reference["lung"]["survival_at"]["log"]
    overall = numbers_at_risk(lung["time"], None, expected["landmark"])
    assert overall.loc["all"].tolist() == expected["at_risk"]
    by_sex = numbers_at_risk(lung["time"], lung["sex"], [0, 365])
    assert by_sex.loc[1].tolist() == [138, 35] and by_sex.loc[2].tolist() == [90, 30]
    assert by_sex.sum().tolist() == [228, 65]


def test_logrank_with_a_group_without_events(fixture_reference):
    zero = fixture_reference["zero_events"]
    result = logrank(zero["time"], zero["event"], zero["group"])
    assert result.events == (4, 4, 0)
    assert result.df == 2
    assert result.chisq == pytest.approx(zero["logrank"]["chisq"], rel=RTOL)


def test_logrank_needs_two_groups():
    with pytest.raises(ValueError, match="two groups"):
        logrank([1, 2, 3], [1, 1, 0], ["a", "a", "a"])


def test_subgroup_table_layout_and_values(fixture_reference):
    lung = lung_data()
    table = subgroup_table(lung, "time", "event", "sex", order=[1, 2], ties="efron")
    assert table["n"].tolist() == [138, 90] and table["events"].tolist() == [112, 53]
    assert table["median"].tolist() == [270.0, 426.0]
    assert table["logrank_p"].tolist() == pytest.approx([fixture_reference["lung"]["logrank_sex"]["p"]] * 2, rel=RTOL)
    assert table.loc[0, "hr"] == 1.0 and math.isnan(table.loc[0, "hr_lower"])
    assert table.loc[1, "hr"] < table.loc[1, "hr_upper"] < 1.0  # women: lower hazard (R: 0.588, 0.424-0.817)
    for _, row in table.iterrows():
        assert row["median_upper"] - row["median"] == pytest.approx(row["median"] - row["median_lower"], rel=1e-12)


def test_subgroup_table_three_levels_hr_matches_r(fixture_reference):
    lung = lung_data().dropna(subset=["ph.ecog"])
    lung["ecog3"] = np.where(lung["ph.ecog"] >= 2, "2+", lung["ph.ecog"].astype(int).astype(str))
    for ties in ("efron", "breslow"):
        expected = fixture_reference["lung"][f"cox_ecog3_{ties}"]
        table = subgroup_table(lung, "time", "event", "ecog3", ties=ties)
        assert table["level"].tolist() == ["0", "1", "2+"]
        np.testing.assert_allclose(table["hr"].iloc[1:], expected["hr"], rtol=RTOL)
        np.testing.assert_allclose(table["hr_lower"].iloc[1:], expected["lower"], rtol=RTOL)
        np.testing.assert_allclose(table["hr_p"].iloc[1:], expected["p"], rtol=RTOL)


def test_subgroup_table_single_level_warns():
    data = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 1], "g": ["a"] * 4})
    with pytest.warns(ModelWarning, match="single level"):
        table = subgroup_table(data, "t", "e", "g")
    assert len(table) == 1 and math.isnan(table.loc[0, "logrank_p"])


def test_subgroup_table_rejects_levels_missing_from_order():
    data = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 1], "g": ["a", "b", "a", "c"]})
    with pytest.raises(ValueError, match="not in order"):
        subgroup_table(data, "t", "e", "g", order=["a", "b"])


# ---------------------------------------------------------------------------------------------
# Interval methods side by side, intervals read backwards, P values as printed

from aice_helpers.stats.survival import (  # noqa: E402
    MEDIAN_INTERVAL_METHODS,
    ci_bands,
    collett_density,
    collett_points,
    format_p_value,
    implied_uncensored_n,
    loglog_interval_center,
    median_intervals,
    median_spss_steps,
    survival_at_transforms,
    uncensored_loglog_interval,
)


def uncensored_times(n: int, alive_after: dict[float, int]) -> tuple[list[float], list[int]]:
    """n patients, events only; ``alive_after`` {t: k} means exactly k patients have times beyond t."""
    cut_points = sorted(alive_after)
    times: list[float] = []
    previous_alive, previous_cut = n, 0.0
    for cut in cut_points:
        dying = previous_alive - alive_after[cut]
        times += list(np.linspace(previous_cut + 0.1, cut - 0.1, dying)) if dying else []
        previous_alive, previous_cut = alive_after[cut], cut
    times += list(np.linspace(previous_cut + 1.0, previous_cut + 50.0, previous_alive))
    return times, [1] * n


def test_collett_points_by_hand():
    table_times = np.array([2, 3, 5, 6, 7, 9, 11], dtype=float)
    surv = np.array([9 / 10, 4 / 5, 24 / 35, 4 / 7, 16 / 35, 32 / 105, 16 / 105])
    u, s_u, l, s_l = collett_points(table_times, surv)
    assert (u, l) == (6.0, 9.0)
    assert (s_u, s_l) == pytest.approx((4 / 7, 32 / 105), rel=1e-15)
    assert collett_density(table_times, surv) == pytest.approx(4 / 45, rel=1e-12)
    u, s_u, l, s_l = collett_points(table_times[:3], surv[:3])  # never reaches 0.45
    assert u == 5.0 and math.isnan(l) and math.isnan(s_l)


def test_median_spss_steps_reproduce_the_hand_computation():
    steps = median_spss_steps(HAND_TIMES, HAND_EVENTS).set_index("quantity")["value"]
    values = steps.to_numpy()
    assert values[0] == 7.0  # t50
    assert values[1] == pytest.approx(16 / 35, rel=1e-12)  # S(t50)
    assert values[2] == pytest.approx(0.166178, abs=1e-6)  # Greenwood SE of S(t50)
    assert values[3] == 6.0 and values[5] == 9.0  # u and l
    assert values[7] == pytest.approx(4 / 45, rel=1e-12)  # density
    assert values[8] == pytest.approx(1.869504, abs=1e-6)  # SE(t50)
    assert (values[10], values[11]) == pytest.approx((3.335840, 10.664160), abs=1e-6)


def test_median_intervals_are_the_methods_tested_against_r(fixture_reference):
    lung = lung_data()
    table = median_intervals(lung["time"], lung["event"])
    assert table["method"].tolist() == [m for m, _, _ in MEDIAN_INTERVAL_METHODS]
    spss = median_spss(lung["time"], lung["event"])
    assert table.loc[0, ["median", "lower", "upper"]].tolist() == [spss.estimate, spss.lower, spss.upper]
    for row, transform in zip(range(1, 4), ("log", "log-log", "plain")):
        expected = fixture_reference["lung"]["km_median"][transform]
        assert table.loc[row, ["median", "lower", "upper"]].tolist() == [
            as_float(expected[k]) for k in ("estimate", "lower", "upper")]
    assert table["width"].tolist() == pytest.approx((table["upper"] - table["lower"]).tolist())


def test_survival_at_transforms_matches_survival_at():
    lung = lung_data()
    table = survival_at_transforms(lung["time"], lung["event"], [180, 365])
    assert table["transform"].tolist() == ["plain", "plain", "log", "log", "log-log", "log-log"]
    for transform in ("plain", "log", "log-log"):
        expected = survival_at(lung["time"], lung["event"], [180, 365], transform)
        got = table[table["transform"] == transform]
        np.testing.assert_allclose(got[["survival", "lower", "upper"]], expected[["survival", "lower", "upper"]])


@pytest.mark.parametrize(("count", "printed"), [(51, (35.8, 54.0)), (29, (18.0, 34.0)), (31, (19.6, 35.9))])
def test_uncensored_loglog_interval_gives_the_papers_limits(count, printed):
    """k of 113 without censoring: the log-log Greenwood limits the paper prints (statistics note)."""
    lower, upper = uncensored_loglog_interval(count / 113, 113)
    assert (round(100 * lower, 1), round(100 * upper, 1)) == printed


def test_uncensored_loglog_interval_equals_survival_at_without_censoring():
    time, event = uncensored_times(113, {12.0: 51, 24.0: 29})
    at = survival_at(time, event, [12.0, 24.0], "log-log")
    assert at["survival"].tolist() == pytest.approx([51 / 113, 29 / 113], rel=1e-12)
    for (_, row), count in zip(at.iterrows(), (51, 29)):
        assert (row["lower"], row["upper"]) == pytest.approx(uncensored_loglog_interval(count / 113, 113), rel=1e-12)


@pytest.mark.parametrize(("survival", "n"), [(0.2743, 113), (0.45, 113), (0.9, 40), (0.05, 1000)])
def test_loglog_interval_read_backwards(survival, n):
    lower, upper = uncensored_loglog_interval(survival, n)
    assert loglog_interval_center(lower, upper) == pytest.approx(survival, rel=1e-12)
    assert implied_uncensored_n(survival, lower, upper) == pytest.approx(n, rel=1e-9)


def test_loglog_interval_center_of_the_papers_three_year_interval():
    center = loglog_interval_center(0.196, 0.359)
    assert center == pytest.approx(math.exp(-math.sqrt(math.log(0.196) * math.log(0.359))), rel=1e-15)
    assert round(center, 3) == 0.275
    assert implied_uncensored_n(center, 0.196, 0.359) == pytest.approx(112.8, abs=0.1)
    assert math.isnan(loglog_interval_center(0.5, 0.4)) and math.isnan(uncensored_loglog_interval(1.0, 10)[0])


def test_loglog_center_agrees_with_ci_bands():
    lower, upper = ci_bands(np.array([0.3]), np.array([0.01]), "log-log")
    assert loglog_interval_center(float(lower[0]), float(upper[0])) == pytest.approx(0.3, rel=1e-12)


@pytest.mark.parametrize(("p", "text"), [(0.0004, "<0.001"), (0.001, "0.001"), (0.0064, "0.006"),
                                         (0.05, "0.050"), (0.56, "0.560"), (math.nan, "–"), (None, "–")])
def test_format_p_value(p, text):
    assert format_p_value(p) == text


def test_numbers_at_risk_counts_like_a_direct_comparison():
    rng = np.random.default_rng(3)
    time = np.round(rng.exponential(10, 500), 1)
    time[::37] = np.nan
    cuts = [0, 0.5, 5, 10.3, 12, 30, 1000]
    got = numbers_at_risk(time, None, cuts).loc["all"].tolist()
    assert got == [int(np.sum(time >= cut)) for cut in cuts]
    groups = np.where(np.arange(500) % 3 == 0, "a", "b")
    by_group = numbers_at_risk(time, groups, cuts)
    assert by_group.loc["a"].tolist() == [int(np.sum((time >= cut) & (groups == "a"))) for cut in cuts]


@pytest.mark.parametrize("seed", range(40))
def test_km_table_equals_lifelines_bit_for_bit(seed):
    """km_table computes S(t) by lifelines' formula with numpy: same times, counts and survival, exactly."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 250))
    time = np.round(rng.exponential(10, n), int(rng.integers(0, 3))) + 0.5  # ties at every rounding
    event = (rng.uniform(size=n) < rng.uniform(0.05, 1.0)).astype(int)
    table = km_table(time, event)
    fitter = km_fit(time, event)
    reference = fitter.event_table[fitter.event_table["removed"] > 0]
    np.testing.assert_array_equal(table.index.to_numpy(), reference.index.to_numpy())
    np.testing.assert_array_equal(table["at_risk"], reference["at_risk"])
    np.testing.assert_array_equal(table["events"], reference["observed"])
    np.testing.assert_array_equal(table["censored"], reference["censored"])
    np.testing.assert_array_equal(table["survival"], fitter.survival_function_.iloc[:, 0].reindex(reference.index))


def test_km_table_rejects_missing_times():
    with pytest.raises(ValueError, match="missing"):
        km_table([1.0, np.nan, 3.0], [1, 0, 1])


def test_median_spss_when_the_curve_drops_to_zero_at_the_median():
    """S falls from 2/3 straight to 0: the median is that time, and no standard error exists (no warning)."""
    result = median_spss([1, 1, 2], [0, 1, 1])
    assert result.reached and result.estimate == 2.0
    assert math.isnan(result.se) and math.isnan(result.lower) and math.isnan(result.upper)


def test_km_table_and_median_of_an_empty_group() -> None:
    """An empty group (a subgroup nobody falls in) has an empty table and a median not reached."""
    assert km_table([], []).empty
    median = median_spss([], [])
    assert not median.reached and math.isnan(median.estimate)


@pytest.mark.parametrize("n", [12, 113, 5500])
def test_counted_logrank_equals_lifelines(n: int) -> None:
    """The chi-square from counts equals lifelines' at any size: ties, a group without events and a last
    patient alone at risk included."""
    from lifelines.statistics import multivariate_logrank_test

    from aice_helpers.stats import survival

    rng = np.random.default_rng(n)
    group = np.array(["a", "b", "c", "d"] * (n // 4 + 1))[:n]
    rng.shuffle(group)
    time = np.round(rng.exponential(20, n) * np.where(group == "b", 1.4, 1.0), 1) + 0.1
    event = (rng.random(n) < 0.7).astype(int)
    event[group == "d"] = 0
    time[np.argmax(time)] += 50.0
    counted = survival.logrank(time, event, group)
    expected = multivariate_logrank_test(time, group, event)
    assert counted.chisq == pytest.approx(expected.test_statistic, rel=1e-9)
    assert counted.p == pytest.approx(expected.p_value, rel=1e-6, abs=1e-300)
    assert counted.df == 3 and counted.groups == ("a", "b", "c", "d")


# ---------------------------------------------------------------------------------------------
# Degenerate data: no events, no censoring, a group without events


def test_logrank_without_any_event_is_not_testable() -> None:
    """All censored: nothing to compare, so χ² and P are missing with the reason, never a P of 1."""
    from aice_helpers.stats import survival

    result = survival.logrank([1.0, 2.0, 3.0, 4.0], [0, 0, 0, 0], ["a", "b", "a", "b"])
    assert math.isnan(result.chisq) and math.isnan(result.p)
    assert result.reason == survival.NO_EVENTS_TO_COMPARE
    assert result.n == (2, 2) and result.events == (0, 0) and result.df == 1
    assert survival.logrank([1.0, 2.0, 3.0, 4.0], [1, 0, 0, 1], ["a", "b", "a", "b"]).reason == ""


def test_no_events_leave_the_median_not_reached_and_landmarks_at_one() -> None:
    from aice_helpers.stats import survival

    time, event = [1.0, 2.0, 3.0, 4.0, 5.0], [0, 0, 0, 0, 0]
    median = survival.median_spss(time, event)
    assert not median.reached and math.isnan(median.estimate) and math.isnan(median.lower)
    assert not survival.median_brookmeyer_crowley(time, event).reached
    at = survival.survival_at(time, event, [2.5])
    assert at["survival"].iloc[0] == 1.0 and at[["lower", "upper"]].isna().all(axis=None)


def test_no_censoring_leaves_the_reverse_followup_not_estimable() -> None:
    from aice_helpers.stats import survival

    follow = survival.median_followup([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1])
    assert follow.notes == ("no censored observation: reverse Kaplan-Meier median not estimable",)
    assert math.isnan(follow.reverse_km.estimate) and math.isnan(follow.median_censored)
    assert survival.median_spss([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1]).estimate == 2.0


def test_subgroup_table_with_a_group_without_events() -> None:
    """The eventless group's median is not reached; its hazard ratio separates (a ModelWarning), the P is kept."""
    frame = pd.DataFrame({"time": [1.0, 2, 3, 4, 5, 6, 7, 8], "event": [1, 1, 1, 1, 0, 0, 0, 0],
                          "group": ["a", "a", "a", "a", "b", "b", "b", "b"]})
    from aice_helpers.stats import survival

    with pytest.warns(ModelWarning) as record:  # also the engine's own convergence warning
        table = survival.subgroup_table(frame, "time", "event", "group").set_index("level")
    assert any("'group=b'" in str(warning.message) and "separation" in str(warning.message) for warning in record)
    assert not table.at["b", "median_reached"] and table.at["a", "median_reached"]
    assert table.at["b", "events"] == 0 and 0 < table.at["a", "logrank_p"] < 0.05

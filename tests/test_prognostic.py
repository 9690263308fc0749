"""aice_helpers.pages.prognostic on small hand-checkable cohorts and on cohorts built to give known survival.

The cohorts here are made in the tests (their survival values are chosen, not read from
data/aice_cohort.csv, whose survival times are being calibrated). Where a number is the paper's,
it comes from data/published through load_published.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import verdicts_for

from aice_helpers import study
from aice_helpers.analyses import survival as survival_analyses
from aice_helpers.pages import prognostic
from aice_helpers.paper import reproduce
from aice_helpers.paper.scorecard import (
    STATUS_CONTRADICTED,
    STATUS_EXACT,
    STATUS_OUTSIDE,
    STATUS_WITHIN,
)
from aice_helpers.published import FIELDS, load_published
from aice_helpers.stats import survival

# Ten patients of tests/test_survival.py (S: .9 .8 | .686 .571 .457 | .305 .152), "+" censored.
HAND_TIMES = [2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
HAND_EVENTS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0]  # 4+, 8+, 12+


def baseline(n: int) -> dict[str, list]:
    """Contract baseline columns for n patients, cycling through levels so every factor has two or more."""
    i = np.arange(n)
    return {
        "patient_id": [f"P{k:03d}" for k in i],
        "age_years": np.where(i % 2 == 0, 30.0, 50.0),
        "sex": np.where(i % 3 == 0, "female", "male"),
        "ecog": np.where(i % 5 == 0, 1, 2),
        "tumor_site": np.array(["head_neck", "pleural_cavity", "abdominal_cavity", "pelvic_cavity",
                                "limbs_hips"])[i % 5],
        "max_diameter_cm": np.where(i % 2 == 1, 12.0, 8.0),
        "distant_metastasis": (i % 4 != 0).astype(int),
        "grade": np.array(["G1", "G2", "G3"])[i % 3],
        "stage": np.where(i % 4 == 0, "III", "IV"),
        "nlr": np.where(i % 2 == 0, 2.0, 4.0),
        "mgps": i % 3,
        "aice_modality": np.where(i % 3 == 0, "infusion", "infusion_embolization"),
        "prior_systemic_lines": i % 2,
        "aice_cycles": 1 + i % 2,
        "postop_regimens": i % 4,
        "best_response": np.array(["PR", "SD", "PD"])[i % 3],
    }


def hand_cohort() -> pd.DataFrame:
    """The ten hand patients: OS as HAND_TIMES; PFS half of OS, with the same event indicator."""
    frame = pd.DataFrame(baseline(len(HAND_TIMES)))
    frame["os_months"] = np.array(HAND_TIMES, dtype=float)
    frame["os_event"] = HAND_EVENTS
    frame["pfs_months"] = frame["os_months"] / 2
    frame["pfs_event"] = HAND_EVENTS
    return frame


def uncensored(n: int, alive_after: dict[float, int]) -> np.ndarray:
    """n event times (no censoring) with exactly alive_after[t] of them beyond t."""
    times: list[float] = []
    alive, start = n, 0.0
    for cut in sorted(alive_after):
        times += list(np.linspace(start + 0.1, cut - 0.1, alive - alive_after[cut]))
        alive, start = alive_after[cut], cut
    return np.array(times + list(np.linspace(start + 1.0, start + 60.0, alive)))


@pytest.fixture(scope="module")
def paper_like_cohort() -> pd.DataFrame:
    """113 patients without censoring: PFS 51 beyond 12 and 29 beyond 24 months, OS 51 beyond 24 and 31 beyond 36."""
    frame = pd.DataFrame(baseline(113))
    frame["os_months"] = uncensored(113, {24.0: 51, 36.0: 31})
    frame["os_event"] = 1
    frame["pfs_months"] = np.minimum(uncensored(113, {12.0: 51, 24.0: 29}), frame["os_months"])
    frame["pfs_event"] = 1
    return frame


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return load_published()


def fake_published(entries: list[dict]) -> pd.DataFrame:
    """A published-numbers frame in load_published's layout, from a few entries."""
    frame = pd.DataFrame([{name: entry.get(name) for name in FIELDS} for entry in entries], columns=list(FIELDS))
    for name in ("lower", "upper"):
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    frame.index = pd.Index(frame["id"].tolist())
    return frame


# ---------------------------------------------------------------------------------------------
# Endpoints, events, follow-up


def test_endpoint_data_and_curve():
    cohort = hand_cohort()
    time, event = survival_analyses.endpoint_data(cohort, "os")
    assert time.tolist() == HAND_TIMES and event.tolist() == HAND_EVENTS
    assert list(survival_analyses.overall_curve(cohort, "pfs")) == [survival_analyses.ALL_PATIENTS]
    assert [prognostic.landmark_label(m) for m in (12, 24, 36, 18)] == ["1 year", "2 years", "3 years", "18 months"]


def test_event_counts():
    cohort = hand_cohort()
    cohort.loc[0, "pfs_months"] = cohort.loc[0, "os_months"]  # PFS event on the day of death
    table = prognostic.event_counts(cohort)
    assert table.iloc[0].tolist() == ["10", "10"]
    assert table.iloc[1].tolist() == ["7", "7"]
    assert table.iloc[2].tolist() == ["3", "3"]
    assert table.iloc[3].tolist() == ["30.0", "30.0"]
    assert table.iloc[4].tolist() == ["–", "1"]
    assert table.iloc[5].tolist() == ["–", "0"]


def test_followup_table_definitions_by_hand():
    cohort = hand_cohort()
    published = fake_published([{"id": prognostic.FOLLOWUP_ID, "value": 6.5, "lower": 2.0, "upper": 12.0,
                                 "decimals": 1}])
    table = prognostic.followup_table(cohort, verdicts_for(published, cohort, reproduce.followup_values))
    observed = table[table["definition"] == prognostic.PAPER_FOLLOWUP_DEFINITION]
    assert observed["reproduced"].tolist() == [6.5, 2.0, 12.0]  # median of all ten times, range
    assert observed["status"].tolist() == [STATUS_EXACT] * 3
    censored = table[table["definition"].str.contains("censored patients")]
    assert censored["reproduced"].tolist() == [8.0, 4.0, 12.0]  # 4+, 8+, 12+
    reverse = table[table["definition"].str.startswith("reverse")]
    expected = survival.median_followup(HAND_TIMES, HAND_EVENTS).reverse_km
    assert reverse["statistic"].tolist() == ["median"]
    assert reverse["reproduced"].tolist() == [round(expected.estimate, 1)]
    note = prognostic.followup_note(table)
    assert f"{prognostic.PAPER_FOLLOWUP_DEFINITION}: median 6.5 months, matches the printed median and range" in note
    assert "observed time, censored patients only: median 8.0 months, does not match" in note


# ---------------------------------------------------------------------------------------------
# Medians and landmark rates


def test_survival_summary_statuses_and_contradiction():
    cohort = hand_cohort()
    spss = survival.median_spss(HAND_TIMES, HAND_EVENTS)  # 7 (3.34–10.66)
    published = fake_published([
        {"id": "results.survival.os.median", "value": 7.0, "lower": 3.3, "upper": 12.0, "decimals": 1, "unit": "months"},
        {"id": "results.survival.pfs.median", "value": 3.6, "lower": 1.7, "upper": 5.3, "decimals": 1, "unit": "months"},
    ])
    table = prognostic.survival_summary_with_published(cohort, verdicts_for(published, cohort,
                                                                            reproduce.survival_values))
    os_rows = table[table["endpoint"] == "OS"]
    assert os_rows["reproduced"].tolist() == [round(v, 1) for v in (spss.estimate, spss.lower, spss.upper)]
    # One published number, one status on every row: the estimate and lower limit are exact, the upper is not.
    assert os_rows["status"].tolist() == [STATUS_OUTSIDE] * 3
    pfs_rows = table[table["endpoint"] == "PFS"]  # PFS = OS / 2: median 3.5 (1.67–5.33), within half a month
    assert pfs_rows["status"].tolist() == [STATUS_WITHIN] * 3
    flagged = prognostic.survival_summary_with_published(
        cohort, verdicts_for(published, cohort, reproduce.survival_values, contradicted={"results.survival.os.median"}))
    assert flagged[flagged["endpoint"] == "OS"]["status"].tolist() == [STATUS_CONTRADICTED] * 3


def test_landmarks_reproduce_the_papers_printed_rates(paper_like_cohort, published):
    """Without censoring, 51/113 and 29/113 give the printed rates and log-log limits to the digit."""
    contradicted = {prognostic.THREE_YEAR_OS_ID}
    verdicts = verdicts_for(published, paper_like_cohort, reproduce.survival_values, contradicted=contradicted)
    table = prognostic.landmark_table_with_published(paper_like_cohort, verdicts)
    pfs = table[table["endpoint"] == "PFS"]
    assert pfs["reproduced"].tolist() == [45.1, 35.8, 54.0, 25.7, 18.0, 34.0]
    assert pfs["status"].tolist() == [STATUS_EXACT] * 6
    os_rows = table[table["endpoint"] == "OS"]
    assert os_rows["reproduced"].tolist() == [45.1, 35.8, 54.0, 27.4, 19.6, 35.9]
    assert os_rows["published"].tolist() == [45.1, 35.8, 54.0, 41.7, 19.6, 35.9]
    assert os_rows["status"].tolist() == [STATUS_EXACT] * 3 + [STATUS_CONTRADICTED] * 3
    wide = prognostic.landmark_table(paper_like_cohort)
    assert wide["at risk"].tolist() == [51, 29, 51, 31]
    assert wide["events so far"].tolist() == [62, 84, 62, 82]


def test_reading_the_three_year_interval(published):
    reading = prognostic.read_landmark_interval(published, prognostic.THREE_YEAR_OS_ID, 113)
    assert reading.printed == pytest.approx(0.417)
    assert reading.center == pytest.approx(0.2747, abs=1e-4)
    assert reading.implied_n == pytest.approx(112.8, abs=0.1)
    assert reading.whole_count == 31 and reading.count_matches
    assert reading.printed_interval == pytest.approx((0.3255, 0.5058), abs=1e-4)
    note = prognostic.landmark_interval_note(published, 113)
    for fragment in ("41.7%", "19.6%–35.9%", "27.5%", "31 of 113", "32.6%–50.6%", "outside its own interval"):
        assert fragment in note


def test_identical_landmarks_note(published):
    note = prognostic.identical_landmarks_note(published, 113)
    assert "1-year PFS rate" in note and "2-year OS rate" in note
    assert "51 of 113" in note


def test_symmetric_median_check(published):
    ids = ["results.survival.pfs.median", "results.survival.os.median",
           "results.subgroup.postop_regimens.pfs.ge2.median", "results.subgroup.distant_metastasis.os.yes.median"]
    check = prognostic.symmetric_median_check(published, ids).set_index("published id")
    assert check["midpoint of limits"].tolist() == [11.0, 19.05, 17.0, 16.2]
    assert check["centred to rounding"].tolist() == [True, True, False, False]
    note = prognostic.symmetric_median_note(check.reset_index())
    assert "13.7–20.3, whose midpoint is 17.00 (the median lies outside its own interval)" in note


def test_restatements_of_the_survival_numbers(published):
    table = prognostic.restatements(published, "results.survival.os.median")
    assert set(table["id"]) >= {"abstract.os.median", "discussion.os.median_restated"}
    differing = table[~table["same"]]
    assert differing["printed"].tolist() == [18.0] and differing["original"].tolist() == [19.0]
    assert "prints 18 for `results.survival.os.median`, which the results give as 19" in \
        prognostic.restatement_note(table)


def test_median_interval_methods_layout():
    methods = prognostic.median_interval_methods(hand_cohort())
    assert methods.index.get_level_values("endpoint").tolist() == ["PFS"] * 4 + ["OS"] * 4
    spss = methods.iloc[4]
    assert (spss["median"], spss["lower"], spss["upper"]) == (7.0, 3.3, 10.7)
    assert spss["below median"] == spss["above median"] == 3.7
    assert "SPSS's interval 3.3–10.7" in prognostic.median_methods_note(methods)


def test_km_table_near_median_spans_collett_points():
    table = prognostic.km_table_near_median(hand_cohort(), "os")
    assert table.index.tolist() == ["6", "7", "8", "9"]  # from u = 6 to l = 9, the censored 8 included
    assert table["S(t)"].tolist() == ["0.5714", "0.4571", "0.4571", "0.3048"]
    assert table["events d"].tolist() == [1, 1, 0, 1] and table["censored"].tolist() == [0, 0, 1, 0]


def test_spss_median_steps_as_text():
    steps = prognostic.spss_median_steps(hand_cohort(), "os")
    assert steps["value"].iloc[0] == "7.0000" and steps["value"].iloc[-1] == "10.6642"
    assert steps.index[0].startswith("median t50")


def test_transforms_at_landmarks_order_and_symmetry(paper_like_cohort):
    table = prognostic.transforms_at_landmarks(paper_like_cohort, "os")
    assert table.index.get_level_values("landmark").tolist() == ["2 years"] * 3 + ["3 years"] * 3
    assert table.index.get_level_values("transform").tolist() == ["plain", "log", "log-log"] * 2
    plain = table.xs("plain", level="transform")
    assert (plain["below estimate"] == plain["above estimate"]).all()
    assert table.loc[("3 years", "log-log"), ["lower (%)", "upper (%)"]].tolist() == [19.6, 35.9]


# ---------------------------------------------------------------------------------------------
# Prognostic factors


def test_groupings():
    cohort = hand_cohort()
    assert list(study.response_group(cohort)[:3]) == ["CR+PR", "SD+PD", "SD+PD"]
    assert list(study.postop_group(cohort)[:4]) == ["0–1", "0–1", "≥2", "≥2"]
    assert list(study.grade_g3_group(cohort)[:3]) == ["G1+G2", "G1+G2", "G3"]
    assert list(study.response_levels(cohort).categories) == ["CR", "PR", "SD", "PD"]


def test_subgroup_tables_rows_reference_and_values():
    cohort = hand_cohort()
    table = survival_analyses.subgroup_tables(cohort, "os")
    assert table["factor"].unique().tolist() == [f.key for f in study.FACTORS]
    cycles = table[table["factor"] == "aice_cycles"]
    assert cycles["level"].tolist() == ["≥2", "1"]  # the paper's reference first
    assert cycles["hr"].iloc[0] == 1.0 and math.isnan(cycles["hr_lower"].iloc[0])
    size = table[table["factor"] == "max_diameter_cm"].set_index("level")
    small = cohort["max_diameter_cm"] < 10
    assert size.loc["<10", "n"] == int(small.sum()) and size.loc["≥10", "events"] == int(cohort.loc[~small, "os_event"].sum())
    expected_median = survival.median_spss(cohort.loc[small, "os_months"], cohort.loc[small, "os_event"])
    assert size.loc["<10", "median"] == expected_median.estimate
    expected_p = survival.logrank(cohort["os_months"], cohort["os_event"], np.where(small, "a", "b")).p
    assert size["logrank_p"].tolist() == pytest.approx([expected_p] * 2, rel=1e-12)
    response = table[table["factor"] == "best_response_recist"]
    assert response["level"].tolist() == ["PR", "SD", "PD"]  # CR absent: PR is the reference


def test_subgroup_display_formats():
    display = prognostic.subgroup_display(survival_analyses.subgroup_tables(hand_cohort(), "os"))
    assert display.index[:2].tolist() == [("Age (years)", "≤35"), ("Age (years)", ">35")]
    first = display.iloc[0]
    assert first["HR (95% CI)"] == "1 (reference)" and first["Wald P"] == ""
    assert display.iloc[1]["log-rank P"] == "" and first["log-rank P"] != ""
    assert prognostic.median_with_interval(math.nan, math.nan, math.nan) == prognostic.NOT_REACHED
    assert prognostic.median_with_interval(7.0, 3.336, 10.664) == "7.0 (3.3–10.7)"
    assert prognostic.hr_with_interval(1.7, 1.1, 2.7) == "1.70 (1.10–2.70)"


def test_subgroup_comparisons_pick_the_printed_ids(published):
    cohort = hand_cohort()
    tables = {e: survival_analyses.subgroup_tables(cohort, e) for e in ("os", "pfs")}
    verdicts = verdicts_for(published, cohort, reproduce.subgroup_values)
    medians = prognostic.subgroup_medians_with_published(tables, verdicts)
    size = medians[medians["factor"] == study.FACTORS_BY_KEY["max_diameter_cm"].label]
    pfs_small = size[(size["endpoint"] == "PFS") & (size["group"] == "<10")]
    assert pfs_small["published"].tolist() == [16.0, 11.9, 20.1]  # printed under '≤10 cm' (id le10)
    os_small = size[(size["endpoint"] == "OS") & (size["group"] == "<10")]
    assert os_small["published"].tolist() == [27.0, 22.4, 31.6]  # printed under '<10 cm' (id lt10)
    assert len(medians) == 6 * 3 * 2
    flagged = prognostic.subgroup_medians_with_published(tables, verdicts_for(
        published, cohort, reproduce.subgroup_values, contradicted={"results.subgroup.postop_regimens.pfs.ge2.median"}))
    postop = flagged[(flagged["endpoint"] == "PFS") & (flagged["group"] == "≥2")]
    assert postop["status"].iloc[0] == STATUS_CONTRADICTED
    p_values = prognostic.subgroup_p_with_published(tables, verdicts)
    assert len(p_values) == 6 and (p_values["n"] == len(cohort)).all()
    metastasis = p_values[p_values["factor"] == "Distant metastasis"]
    assert metastasis["published"].tolist() == ["<0.001", "0.001"]
    expected = tables["os"].loc[tables["os"]["factor"] == "distant_metastasis", "logrank_p"].iloc[0]
    assert metastasis["log-rank P"].iloc[0] == survival.format_p_value(expected)


def test_univariable_significance_and_note():
    frame = lambda p: pd.DataFrame({"factor": [f.key for f in study.FACTORS],  # noqa: E731
                                    "logrank_p": p})
    k = len(study.FACTORS)
    tables = {"os": frame([0.01] * k), "pfs": frame([0.5] * k)}
    table = prognostic.univariable_significance(tables)
    assert (table["OS: here"] == "P < 0.05").all() and (table["PFS: here"] == "n.s.").all()
    paper_os = table["OS: paper"] == study.PAPER_SIGNIFICANT
    assert paper_os.sum() == sum(study.paper_univariable_verdict(f.key, "os") == study.PAPER_SIGNIFICANT
                                 for f in study.FACTORS)
    clear = table["OS: paper"] != study.PAPER_CONFLICTING
    assert ((table.loc[clear, "OS agrees"] == "yes") == paper_os[clear]).all()
    nlr = table.loc[study.FACTORS_BY_KEY["nlr"].label]
    # The abstract calls NLR significant for OS, Table 3 leaves it out: the paper is not clear (as chapter 04 says).
    assert (nlr["OS: paper"], nlr["PFS: paper"]) == (study.PAPER_CONFLICTING, study.PAPER_SIGNIFICANT)
    assert nlr["OS agrees"] == study.PAPER_CONFLICTING
    assert "OS: paper" not in prognostic.univariable_significance(tables, compare=False)
    note = prognostic.significance_note(table)
    assert f"For OS, {k} of the {k} codings reach P < 0.05 here" in note
    assert "On *" + nlr.name + "* the paper is not clear: the abstract calls it significant for OS, but Table 3" in note


def test_multiple_testing_summary_by_hand():
    def table(ps):
        return pd.DataFrame({"factor": [f"f{i}" for i in range(len(ps))], "logrank_p": ps,
                             "hr_p": [math.nan] + [0.5] * (len(ps) - 1)})
    summary = prognostic.multiple_testing_summary({"os": table([0.001, 0.01]), "pfs": table([0.02, 0.5])})
    values = summary["value"].to_dict()
    assert values["log-rank tests (factors × endpoints)"] == "4"
    assert values["all tests in the two tables"] == "6"
    assert values["log-rank tests below 0.05 in this data"] == "3"
    assert values["Bonferroni threshold for the log-rank tests"] == "0.0125"
    assert values["log-rank tests below the Bonferroni threshold"] == "2"
    assert values["log-rank tests kept by Holm's step-down procedure"] == "3"  # .001<.0125, .01<.0167, .02<.025
    assert values["chance of at least one false positive (independent tests)"] == "0.185"
    assert values["false positives expected at 0.05 if no factor mattered"] == "0.2"
    note = prognostic.multiple_testing_note(summary)
    assert "run 4 log-rank tests (6 tests" in note and "about 0.2 of the log-rank tests" in note


def test_diameter_cutoff_at_exactly_ten():
    cohort = hand_cohort()
    cohort.loc[1, "max_diameter_cm"] = 10.0
    table = prognostic.diameter_cutoff_sensitivity(cohort)
    table1, tables34 = ("<10 vs ≥10 (Table 1)", "≤10 vs >10 (Tables 3 and 4)")
    assert table.loc[("OS", table1), "n large"] == 5 and table.loc[("OS", tables34), "n large"] == 4
    published = load_published()
    note = prognostic.diameter_label_note(cohort, published)
    assert "1 patient has a recorded maximum diameter of exactly 10 cm" in note
    assert "'<10 cm' for OS and '≤10 cm' for PFS" in note


def test_forest_rows_and_panels():
    cohort = hand_cohort()
    tables = {e: survival_analyses.subgroup_tables(cohort, e) for e in ("os", "pfs")}
    rows = prognostic.forest_rows(tables["os"])
    assert rows["comparison"].iloc[0] == "Age (years): >35 vs ≤35"
    assert len(rows) == len(tables["os"]) - len(study.FACTORS)
    panels = prognostic.factor_km_panels(cohort, "stage", tables=tables)
    computed = prognostic.factor_km_panels(cohort, "stage")
    assert [p["title"] for p in panels] == ["Overall survival", "Progression-free survival"]
    assert list(panels[0]["curves"]) == ["III", "IV"]
    assert [p["logrank_p"] for p in panels] == pytest.approx([p["logrank_p"] for p in computed], rel=1e-12)


def test_not_reached_and_problem_notes():
    cohort = hand_cohort()
    tables = {"os": survival_analyses.subgroup_tables(cohort, "os")}
    assert prognostic.model_problems_note({"os": tables["os"].assign(model_problem="")}).startswith("Every")
    flagged = tables["os"].copy()
    flagged.loc[flagged["factor"] == "stage", "model_problem"] = "separation"
    assert "- OS, Stage: separation" in prognostic.model_problems_note({"os": flagged})
    not_reached = tables["os"].copy()
    not_reached.loc[0, ["median", "median_lower", "median_upper", "median_reached"]] = [math.nan, math.nan,
                                                                                         math.nan, False]
    assert "OS, Age (years): ≤35 (median not reached)" in prognostic.not_reached_note({"os": not_reached})


def test_diameter_cutoff_sensitivity_with_every_tumour_on_one_side() -> None:
    """A covariate with one level (all tumours < 10 cm) gives an empty group: no P and no median, no crash."""
    cohort = pd.DataFrame({"max_diameter_cm": [3.0, 4.5, 6.0, 8.0], "os_months": [5.0, 8.0, 12.0, 20.0],
                           "os_event": [1, 1, 0, 1], "pfs_months": [2.0, 8.0, 6.0, 11.0], "pfs_event": [1, 1, 1, 0]})
    table = prognostic.diameter_cutoff_sensitivity(cohort)
    assert (table["n large"] == 0).all() and (table["log-rank P"] == "–").all()
    assert table["median large"].isna().all() and table["median small"].notna().all()


def test_median_methods_note_with_limits_not_reached() -> None:
    """A median reached whose intervals are open above reads 'not reached', never a run of dashes."""
    time = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    event = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    cohort = pd.DataFrame({"os_months": time, "os_event": event, "pfs_months": time, "pfs_event": event})
    note = prognostic.median_methods_note(prognostic.median_interval_methods(cohort))
    assert "SPSS gives no interval" in note and "not reached" in note and "––" not in note


# ---------------------------------------------------------------------------------------------
# Degenerate cohorts: no events, no censoring, one level, no test at all


def test_notes_for_an_endpoint_without_events() -> None:
    """All censored: one sentence per note instead of a line per group, and no log-rank P anywhere."""
    cohort = hand_cohort().assign(os_event=0)
    tables = {"os": survival_analyses.subgroup_tables(cohort, "os"), "pfs": survival_analyses.subgroup_tables(cohort, "pfs")}
    assert tables["os"]["logrank_p"].isna().all() and tables["pfs"]["logrank_p"].notna().any()
    assert prognostic.not_reached_note(tables).startswith(
        "No patient had an OS event, so no group reaches its median, and no log-rank test or hazard ratio can be "
        "computed for it.")
    assert "- OS: no patient had an event, so no Cox model can be fitted." in prognostic.model_problems_note(tables)
    methods = prognostic.median_interval_methods(cohort)
    assert methods.attrs[prognostic.EVENT_COUNTS_ATTR] == {"PFS": (7, 3), "OS": (0, 10)}
    assert ("No patient had an OS event, so the Kaplan–Meier curve stays at 1: the median is not reached, no method "
            "gives an interval") in prognostic.median_methods_note(methods)
    panel = prognostic.factor_km_panels(cohort, "stage", tables=tables)[0]
    assert math.isnan(panel["logrank_p"])


def test_no_log_rank_test_at_all_is_said_in_words() -> None:
    cohort = hand_cohort().assign(os_event=0, pfs_event=0)
    tables = {endpoint: survival_analyses.subgroup_tables(cohort, endpoint) for endpoint in ("os", "pfs")}
    summary = prognostic.multiple_testing_summary(tables)
    assert summary.at["log-rank tests (factors × endpoints)", "value"] == "0"
    assert prognostic.multiple_testing_note(summary).startswith("No log-rank test could be computed")
    assert prognostic.not_reached_note(tables).startswith("No patient had an OS or PFS event")


def test_every_patient_with_the_event_leaves_follow_up_of_the_censored_undefined() -> None:
    cohort = hand_cohort().assign(os_event=1, pfs_event=1)
    note = prognostic.median_methods_note(prognostic.median_interval_methods(cohort))
    assert ("Every patient died, so no one is censored for OS: the reverse Kaplan–Meier median follow-up and the "
            "follow-up of censored patients cannot be computed.") in note
    followup = prognostic.followup_table(cohort).set_index(["definition", "statistic"])
    assert math.isnan(followup.at[("reverse Kaplan-Meier (censoring as the event)", "median"), "reproduced"])


def test_a_factor_with_an_absent_level_has_a_single_group() -> None:
    """No patient with ECOG 2–3: the factor keeps one group, with no test or hazard ratio, and says why."""
    cohort = hand_cohort().assign(ecog=1)
    table = survival_analyses.subgroup_tables(cohort, "os")
    ecog = table[table["factor"] == "ecog"]
    assert ecog["level"].tolist() == ["0–1"] and ecog["logrank_p"].isna().all()
    assert "has a single level ['0–1']: no log-rank test or hazard ratio" in ecog["model_problem"].iloc[0]
    assert not prognostic.forest_rows(table)["comparison"].str.startswith("ECOG").any()


def test_with_article() -> None:
    assert prognostic.with_article("OS") == "an OS" and prognostic.with_article("PFS") == "a PFS"

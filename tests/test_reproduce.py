"""The registry of reproduced values: every id it fills is a published id, computed with the book's
helpers on the committed data.

Survival results are not hard-coded (the survival times are being recalibrated): the registry's
value is compared with a direct call of the same helper on the same data.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aice_helpers.data import Dataset
from aice_helpers.pages import safety
from aice_helpers.paper.reproduce import (
    CODINGS,
    LEVEL_ALIAS_NOTE,
    Reproduced,
    reproduced_values,
)
from aice_helpers.stats import cox, survival

NOT_REPRODUCIBLE_IDS = (
    "methods.cisplatin.dose.min", "methods.study_period.start", "introduction.acs.deaths",
    "discussion.doxorubicin.os.median", "results.case_report.age", "paper.meta.title",
)


@pytest.fixture(scope="module")
def values(dataset: Dataset, published: pd.DataFrame) -> dict[str, Reproduced]:
    """Return the registry's values for the committed data."""
    return reproduced_values(dataset, published)


def same(record: Reproduced, estimate: float, lower: float | None = None, upper: float | None = None) -> bool:
    """Return True when a record holds these numbers (to rounding error; NaN equals NaN)."""
    if (record.lower is None, record.upper is None) != (lower is None, upper is None):
        return False
    numbers = [x for x in (record.value, record.lower, record.upper) if x is not None]
    expected = [x for x in (estimate, lower, upper) if x is not None]
    return numbers == pytest.approx(expected, rel=1e-12, nan_ok=True)


def test_every_reproduced_id_is_a_published_number(values: dict[str, Reproduced], published: pd.DataFrame) -> None:
    assert set(values) <= set(published.index)
    assert all(isinstance(record, Reproduced) for record in values.values())


@pytest.mark.parametrize("entry_id", NOT_REPRODUCIBLE_IDS)
def test_numbers_the_data_cannot_give_are_absent(values: dict[str, Reproduced], entry_id: str) -> None:
    assert entry_id not in values


def test_every_table_count_is_reproduced(values: dict[str, Reproduced], published: pd.DataFrame) -> None:
    prefixes = ("table1.", "table2.", "table5.", "results.subsequent_therapy.", "results.response.")
    counts = published[(published["unit"] == "patients") & published.index.str.startswith(prefixes)]
    assert set(counts.index) <= set(values)


def test_orr_has_the_papers_clopper_pearson_limits(values: dict[str, Reproduced]) -> None:
    orr = values["results.response.orr"]
    assert (round(orr.value, 1), round(orr.lower, 1), round(orr.upper, 1)) == (37.2, 28.3, 46.8)
    assert same(values["abstract.orr"], orr.value, orr.lower, orr.upper)


def test_dcr_clopper_pearson_limits_within_a_tenth(values: dict[str, Reproduced]) -> None:
    dcr = values["results.response.dcr"]
    assert abs(dcr.lower - 67.1) <= 0.1 and abs(dcr.upper - 83.6) <= 0.1


def test_median_os_is_the_spss_median_of_the_data(values: dict[str, Reproduced], dataset: Dataset) -> None:
    direct = survival.median_spss(dataset.cohort["os_months"], dataset.cohort["os_event"])
    assert same(values["results.survival.os.median"], direct.estimate, direct.lower, direct.upper)
    assert same(values["abstract.os.median"], direct.estimate, direct.lower, direct.upper)


def test_landmark_rate_is_the_log_log_greenwood_rate(values: dict[str, Reproduced], dataset: Dataset) -> None:
    row = survival.survival_at(dataset.cohort["pfs_months"], dataset.cohort["pfs_event"], [12.0],
                               transform="log-log").iloc[0]
    record = values["results.survival.pfs.year1.rate"]
    assert record.value == pytest.approx(100 * row["survival"], abs=1e-12)
    assert (record.lower, record.upper) == pytest.approx((100 * row["lower"], 100 * row["upper"]), abs=1e-12)


def test_follow_up_is_median_and_range_of_observed_times(values: dict[str, Reproduced], dataset: Dataset) -> None:
    direct = survival.median_followup(dataset.cohort["os_months"], dataset.cohort["os_event"])
    assert same(values["methods.follow_up.median"], direct.median_all, *direct.range_all)
    assert "reverse Kaplan–Meier" in values["methods.follow_up.median"].note


def test_subgroup_median_and_logrank_match_direct_calls(values: dict[str, Reproduced], dataset: Dataset) -> None:
    cohort = dataset.cohort
    metastatic = cohort[cohort["distant_metastasis"] == 1]
    direct = survival.median_spss(metastatic["os_months"], metastatic["os_event"])
    assert same(values["results.subgroup.distant_metastasis.os.yes.median"], direct.estimate, direct.lower,
                direct.upper)
    few = (cohort["postop_regimens"] <= 1).map({True: "0-1", False: ">=2"})
    p = survival.logrank(cohort["pfs_months"], cohort["pfs_event"], few).p
    assert values["results.subgroup.postop_regimens.pfs.p"].value == pytest.approx(p, rel=1e-12)


def test_pfs_size_group_printed_le10_is_table1_lt10(values: dict[str, Reproduced], dataset: Dataset) -> None:
    small = dataset.cohort[dataset.cohort["max_diameter_cm"] < 10]
    direct = survival.median_spss(small["pfs_months"], small["pfs_event"])
    record = values["results.subgroup.max_diameter_cm.pfs.le10.median"]
    assert same(record, direct.estimate, direct.lower, direct.upper)
    assert LEVEL_ALIAS_NOTE in record.note


def test_cox_row_matches_a_direct_breslow_fit(values: dict[str, Reproduced], dataset: Dataset) -> None:
    cohort = dataset.cohort
    data = pd.DataFrame({
        "time": cohort["os_months"], "event": cohort["os_event"],
        "big": (cohort["max_diameter_cm"] >= 10).astype(int), "meta": cohort["distant_metastasis"],
        "few": (cohort["postop_regimens"] <= 1).astype(int), "g3": (cohort["grade"] == "G3").astype(int),
        "iv": (cohort["stage"] == "IV").astype(int), "one": (cohort["aice_cycles"] == 1).astype(int),
        "sdpd": cohort["best_response"].isin(["SD", "PD"]).astype(int),
    })
    covariates = {name: (name, "reference") for name in ("big", "meta", "few", "g3", "iv", "one", "sdpd")}
    row = cox.fit_cox(data, "time", "event", covariates, ties="breslow").table.set_index("label").loc["g3"]
    assert values["table3.grade.beta"].value == pytest.approx(row["beta"], rel=1e-9)
    assert (values["table3.grade.hr"].value, values["table3.grade.hr"].lower, values["table3.grade.hr"].upper) == \
        pytest.approx((row["hr"], row["lower"], row["upper"]), rel=1e-9)
    assert values["table3.grade.p"].value == pytest.approx(row["p"], rel=1e-9)


@pytest.mark.parametrize(("factor", "exposed"), [
    ("max_diameter_cm", 58), ("distant_metastasis", 94), ("postop_regimens", 60), ("grade", 59), ("stage", 102),
    ("aice_cycles", 62), ("best_response", 71), ("nlr", 56),
])
def test_codings_pick_the_papers_groups(dataset: Dataset, factor: str, exposed: int) -> None:
    assert int(CODINGS[factor].indicator(dataset.cohort).sum()) == exposed


def test_claims_take_the_largest_p_they_cover(values: dict[str, Reproduced], dataset: Dataset) -> None:
    cohort = dataset.cohort
    factors = ("grade", "stage", "aice_cycles", "best_response")
    p_values = [survival.logrank(cohort[f"{endpoint}_months"], cohort[f"{endpoint}_event"],
                                 CODINGS[factor].indicator(cohort)).p
                for factor in factors for endpoint in ("os", "pfs")]
    assert values["results.subgroup.other_factors.p"].value == pytest.approx(max(p_values), rel=1e-12)
    table3_p = [values[f"table3.{factor}.p"].value for factor in
                ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade", "best_response")]
    assert values["abstract.multivariate.p_threshold"].value == max(table3_p)


def test_percent_is_count_over_the_denominator_the_entry_declares(dataset: Dataset,
                                                                  published: pd.DataFrame) -> None:
    altered = published.copy()
    altered.loc["table5.nausea_vomiting.a.pct", "denominator"] = 216
    values = reproduced_values(dataset, altered)
    count = values["table5.nausea_vomiting.a"].value
    assert values["table5.nausea_vomiting.a.pct"].value == pytest.approx(100 * count / 216)
    assert values["table5.pain.a.pct"].value == pytest.approx(100 * values["table5.pain.a"].value / 113)


def test_sessions_and_the_share_of_minor_sessions(values: dict[str, Reproduced], dataset: Dataset) -> None:
    assert values["safety.procedures"].value == len(dataset.procedures)
    summary = safety.grade_summary(dataset.adverse_events, len(dataset.cohort), len(dataset.procedures))
    share = summary.at["only grades A/B", "sessions_pct_of_sessions_with_event"]
    assert values["safety.grade_ab.pct"].value == pytest.approx(share, rel=1e-12)
    assert f"/{len(dataset.procedures)} sessions with any A or B event" in values["safety.grade_ab.pct"].note


def test_restatements_take_the_value_of_the_entry_they_name(values: dict[str, Reproduced]) -> None:
    assert values["discussion.os.median_restated"].value == values["results.survival.os.median"].value
    assert values["results.multivariate.os.stage.fold"].value == values["table3.stage.hr"].value
    assert values["second_record.abstract.trae.pain.pct"].value == values["table5.pain.total.pct"].value
    assert values["second_record.abstract.trae.pain.pct"].note.startswith("same quantity as table5.pain.total.pct")


def test_a_factor_with_one_level_gives_nan_not_an_error(dataset: Dataset, published: pd.DataFrame) -> None:
    cohort = dataset.cohort.assign(distant_metastasis=0)
    values = reproduced_values(Dataset(cohort, dataset.procedures, dataset.adverse_events), published)
    assert math.isnan(values["results.subgroup.distant_metastasis.os.p"].value)
    assert math.isnan(values["results.subgroup.distant_metastasis.os.yes.median"].value)

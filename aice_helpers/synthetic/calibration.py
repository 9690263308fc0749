"""Calibrated survival times: OS and PFS of the synthetic cohort tuned to the paper's survival results.

Every target is read from ``data/published`` (never retyped) and computed the way the paper did
(see ``../shared/notes/statistics.md``): Kaplan-Meier medians with SPSS's symmetric interval
(:func:`aice_helpers.stats.survival.median_spss`), landmark rates with log-log Greenwood intervals
(:func:`aice_helpers.stats.survival.survival_at`), log-rank P, and Cox models with Breslow ties and Wald
statistics (:func:`aice_helpers.stats.cox.fit_cox`). :func:`calibration_report` computes every target
from any cohort with those helpers, one row per target with its tolerance and a pass flag.

How the times are found (:func:`calibrated_survival_times`). Hazard ratios and log-rank P depend
only on the order of the times and on which are events; medians and landmark rates depend on the
time scale as well. A patient's state is three numbers on the paper's half-month grid: the OS time,
the OS status (dead / alive at the cutoff) and the progression time (or none: PFS then ends with
OS). The search starts from proportional-hazards draws whose log hazard ratios are the published
ones, mapped onto starting curves through the published medians and landmark rates, and then runs a
seeded simulated annealing. Its moves swap OS or progression times between patients (the order,
which leaves the overall curves unchanged), shift a single time, flip a status, add or drop a
progression (the time scale), or re-deal two labels no table fixes (``REDEALT_COLUMNS``): the
number of postoperative regimens (within POSTOP_REGIMEN_COUNTS and the subsequent-therapy rule of
``synthesis``) and the best response (only between patients of the same :func:`response_cells`, so
every count the dealing tilted keeps its value; a PD label takes its first-scan progression along).
The loss adds, over all targets, the squared deviation in units of the tolerance, a steep penalty
near and beyond the tolerance edge, a smooth guide for the stepwise medians (how many patients lie
on the wrong side of each median's tolerance window) and a cap on deaths without progression. The
search evaluates the targets with vectorised re-implementations of the helpers' formulas
(:class:`FastMetrics`, tested against the helpers); the report uses the helpers themselves.

Rules every state obeys (hard constraints of the moves):

* times lie on the 0.5-month grid between 1.0 and 112.5 months (the published follow-up range);
* PFS <= OS; a death without progression is a PFS event at the death time; PFS is censored only
  for a patient alive without progression at the cutoff, at the OS time;
* everyone alive was followed to the 15 Nov 2023 cutoff: first AICE between Nov 2011 and Apr 2020
  makes every censored time at least ``SHORTEST_CENSORED_MONTHS`` (42.5) months (no loss to
  follow-up, as the paper's inclusion criterion "complete follow-up" says);
* best response PD means progression at the first scan, 1.0-3.0 months after the first AICE;
  other patients were alive and free of progression at that scan (PFS and OS >= 3.5 months).

The paper contradicts itself in places; the decisions are module constants the book can print
(``DECISIONS``): ``OS_YEAR3_DECISION``, ``PFS_POSTOP_GE2_DECISION``, ``FOLLOW_UP_DECISION``,
``SIZE_GROUPING_DECISION``, ``COX_TARGET_DECISION``, ``LOGRANK_P_DECISION`` and
``STAGE_P_DECISION``. Targets shown to be unreachable (``UNREACHABLE_TARGETS``) stay in the report,
failing, and are left out of the search.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import erfc
from tqdm import tqdm

from aice_helpers import study
from aice_helpers.contract import (
    COHORT_COLUMNS,
    DATA_DIR,
    PUBLISHED_DIR,
    contract_column,
)
from aice_helpers.published import load_published
from aice_helpers.stats.cox import PAPER_TIES, fit_cox
from aice_helpers.stats.survival import (
    COLLETT_EPSILON,
    MEDIAN_PROBABILITY,
    PROBABILITY_TOLERANCE,
    logrank,
    median_followup,
    median_spss,
    survival_at,
    z_value,
)
from aice_helpers.synthetic.baseline import (
    DIAMETER_CUTOFF_CM,
    G3,
    MAX_REGIMENS_WITHOUT_THERAPY,
    NAMED_SUBSEQUENT_THERAPIES,
    NLR_CUTOFF,
    NO_THERAPY,
    PD,
    SD,
    STAGE_IV,
)

__all__ = [
    "DIAMETER",
    "METASTASIS",
    "GRADE",
    "STAGE",
    "NLR",
    "CYCLES",
    "POSTOP",
    "RESPONSE",
    "SUBSEQUENT",
    "MODALITY",
    "OS_MONTHS",
    "OS_EVENT",
    "PFS_MONTHS",
    "PFS_EVENT",
    "SURVIVAL_COLUMNS",
    "ENDPOINT_COLUMNS",
    "REDEALT_COLUMNS",
    "CALIBRATED_COLUMNS",
    "ENDPOINTS",
    "MAX_FEW_REGIMENS",
    "NON_RESPONSES",
    "STUDY_START",
    "STUDY_END",
    "DATA_CUTOFF",
    "DAYS_PER_MONTH",
    "TIME_STEP_MONTHS",
    "STEPS_PER_MONTH",
    "SHORTEST_TIME_MONTHS",
    "LONGEST_FOLLOW_UP_MONTHS",
    "SHORTEST_CENSORED_MONTHS",
    "FIRST_SCAN_MONTHS",
    "FIRST_SCAN_SURVIVORS_MONTHS",
    "NO_PROGRESSION",
    "MEDIAN_TOLERANCE_MONTHS",
    "MEDIAN_LIMIT_TOLERANCE_MONTHS",
    "RATE_TOLERANCE_POINTS",
    "RANGE_TOLERANCE_MONTHS",
    "LOG_HR_TOLERANCE",
    "COMPARISON_SLACK",
    "SIGNIFICANCE_ID",
    "OS_MEDIAN_ID",
    "PFS_MEDIAN_ID",
    "RATE_IDS",
    "OS_YEAR3_ID",
    "FOLLOW_UP_ID",
    "SUBGROUP_PREFIX",
    "SUBGROUP_VARIABLES",
    "PFS_POSTOP_GE2_ID",
    "OTHER_FACTORS_ID",
    "OTHER_FACTORS",
    "NLR_UNIVARIATE_ID",
    "COX_TABLES",
    "OS_YEAR3_DECISION",
    "PFS_POSTOP_GE2_DECISION",
    "FOLLOW_UP_DECISION",
    "SIZE_GROUPING_DECISION",
    "COX_TARGET_DECISION",
    "LOGRANK_P_DECISION",
    "STAGE_P_DECISION",
    "UNREACHABLE_TARGETS",
    "DEFAULT_ITERATIONS",
    "EDGE_PENALTY_WEIGHT",
    "EDGE_FRACTION",
    "FAIL_PENALTY_WEIGHT",
    "FAIL_STEP_PENALTY",
    "FAIL_MARGIN",
    "SHORTFALL_WEIGHT",
    "SHAPING_WINDOW_MONTHS",
    "NOT_ESTIMABLE_DEVIATION",
    "EXACT_TARGET_SCALE_MONTHS",
    "P_MARGIN_LOG10",
    "PROGRESS_EVERY",
    "MOVE_WEIGHTS",
    "MAX_DEATHS_WITHOUT_PROGRESSION",
    "NEAR_SHARE",
    "NEIGHBOUR_RANKS",
    "SHIFT_STEPS",
    "redealt_indicators",
    "indicator_columns",
    "subgroup_masks",
    "masks_from_indicators",
    "Target",
    "significance_level",
    "year3_os_estimate",
    "postop_ge2_pfs_median",
    "cox_variables",
    "calibration_targets",
    "helper_metrics",
    "FastMetrics",
    "SurvivalState",
    "deaths_without_progression",
    "state_from_cohort",
    "response_cells",
    "Rules",
    "INITIAL_LATE_SURVIVAL",
    "INITIAL_POST_PROGRESSION_MONTHS",
    "initial_state",
    "Objective",
    "Mover",
    "Phase",
    "PHASES",
    "annealed_state",
    "calibrated_survival_times",
    "RULE_TEXT",
    "REPORT_COLUMNS",
    "REPORT_CSV",
    "REPORT_MARKDOWN",
    "REPORT_SIGNIFICANT_DIGITS",
    "DECISIONS",
    "calibration_report",
    "report_markdown",
    "write_calibration_report",
]

# ---------------------------------------------------------------------------- names from the contract
DIAMETER = contract_column(COHORT_COLUMNS, "max_diameter_cm")
METASTASIS = contract_column(COHORT_COLUMNS, "distant_metastasis")
GRADE = contract_column(COHORT_COLUMNS, "grade")
STAGE = contract_column(COHORT_COLUMNS, "stage")
NLR = contract_column(COHORT_COLUMNS, "nlr")
CYCLES = contract_column(COHORT_COLUMNS, "aice_cycles")
POSTOP = contract_column(COHORT_COLUMNS, "postop_regimens")
RESPONSE = contract_column(COHORT_COLUMNS, "best_response")
SUBSEQUENT = contract_column(COHORT_COLUMNS, "subsequent_therapy")
MODALITY = contract_column(COHORT_COLUMNS, "aice_modality")
OS_MONTHS = contract_column(COHORT_COLUMNS, "os_months")
OS_EVENT = contract_column(COHORT_COLUMNS, "os_event")
PFS_MONTHS = contract_column(COHORT_COLUMNS, "pfs_months")
PFS_EVENT = contract_column(COHORT_COLUMNS, "pfs_event")
SURVIVAL_COLUMNS = (OS_MONTHS, OS_EVENT, PFS_MONTHS, PFS_EVENT)
ENDPOINT_COLUMNS = {"os": (OS_MONTHS, OS_EVENT), "pfs": (PFS_MONTHS, PFS_EVENT)}
REDEALT_COLUMNS = (POSTOP, RESPONSE)  # labels the calibration may swap between patients (module docstring)
CALIBRATED_COLUMNS = (*REDEALT_COLUMNS, *SURVIVAL_COLUMNS)
ENDPOINTS = tuple(ENDPOINT_COLUMNS)

MAX_FEW_REGIMENS = 1  # Tables 3-4: postoperative therapy 0-1 vs >=2
NON_RESPONSES = (SD, PD)  # Tables 3-4: short-term efficacy SD+PD vs PR (PD: progression at the first scan)

# ---------------------------------------------------------------------------- time grid and follow-up
STUDY_START, STUDY_END, DATA_CUTOFF = date(2011, 11, 1), date(2020, 4, 30), date(2023, 11, 15)
DAYS_PER_MONTH = 365.25 / 12
TIME_STEP_MONTHS = 0.5  # the paper's resolution
STEPS_PER_MONTH = round(1 / TIME_STEP_MONTHS)
SHORTEST_TIME_MONTHS = 1.0  # published follow-up range, lower end
LONGEST_FOLLOW_UP_MONTHS = 112.5  # published follow-up range, upper end
SHORTEST_CENSORED_MONTHS = (math.floor((DATA_CUTOFF - STUDY_END).days / DAYS_PER_MONTH * STEPS_PER_MONTH)
                            / STEPS_PER_MONTH)  # the last patient in, alive at the cutoff
FIRST_SCAN_MONTHS = (1.0, 3.0)  # PD patients progress at the first scan, after 1-2 cycles
FIRST_SCAN_SURVIVORS_MONTHS = FIRST_SCAN_MONTHS[1] + TIME_STEP_MONTHS  # everyone else is event-free then
NO_PROGRESSION = -1  # state code: no progression before death or cutoff

# ---------------------------------------------------------------------------- tolerances
MEDIAN_TOLERANCE_MONTHS = 0.5
MEDIAN_LIMIT_TOLERANCE_MONTHS = 1.0
RATE_TOLERANCE_POINTS = 1.0
RANGE_TOLERANCE_MONTHS = 0.0  # the published follow-up range is met exactly
LOG_HR_TOLERANCE = 0.1
COMPARISON_SLACK = 1e-9  # floating-point slack when a value sits exactly on its tolerance edge
SIGNIFICANCE_ID = "methods.p_threshold"  # P < 0.05 is significant (read from the paper)

# ---------------------------------------------------------------------------- published ids used
OS_MEDIAN_ID, PFS_MEDIAN_ID = "results.survival.os.median", "results.survival.pfs.median"
RATE_IDS = {
    ("pfs", 12): "results.survival.pfs.year1.rate", ("pfs", 24): "results.survival.pfs.year2.rate",
    ("os", 24): "results.survival.os.year2.rate", ("os", 36): "results.survival.os.year3.rate",
}
OS_YEAR3_ID = RATE_IDS[("os", 36)]
FOLLOW_UP_ID = "methods.follow_up.median"
SUBGROUP_PREFIX = "results.subgroup"
SUBGROUP_VARIABLES = ("max_diameter_cm", "distant_metastasis", "postop_regimens")
PFS_POSTOP_GE2_ID = "results.subgroup.postop_regimens.pfs.ge2.median"
OTHER_FACTORS_ID = "results.subgroup.other_factors.p"
OTHER_FACTORS = ("grade", "stage", "aice_cycles", "best_response")
NLR_UNIVARIATE_ID = "abstract.univariate.p_threshold"  # the abstract names NLR among the univariate factors
COX_TABLES = study.ENDPOINT_TABLES

# ---------------------------------------------------------------------------- decisions
OS_YEAR3_DECISION = (
    "The paper prints a 3-year OS of 41.7% with the interval 19.6-35.9%, which cannot both be right "
    "(the estimate lies outside its own interval). The interval is matched: it is exactly the "
    "log-log Greenwood interval of 31/113 = 27.4% with no censoring before 3 years, it fits the "
    "2-year OS of 45.1% and a curve that keeps falling, and 41.7% is not even a possible value "
    "k/113. The target estimate is the one whose interval reproduces the printed limits."
)
PFS_POSTOP_GE2_DECISION = (
    "For >=2 postoperative regimens the paper prints a median PFS of 11.0 months with the interval "
    "13.7-20.3, which excludes its own estimate. SPSS intervals are symmetric, so the midpoint, "
    "17.0 months, is matched. It also fits the rest: the whole cohort's median of 11.0 lies well "
    "between the groups' 7.0 and 17.0, as the published hazard ratio of 3.2 (0-1 vs >=2) implies; "
    "11.0 for >=2 regimens would put that group's median at the whole cohort's."
)
FOLLOW_UP_DECISION = (
    "The paper gives a median follow-up of 23.5 months (range 1.0-112.5) without saying how. The "
    "range fits the observed OS times of all patients, so that definition is matched (range exactly). "
    "Its median cannot be 23.5: a Kaplan-Meier curve never lies below the share of observed times "
    "beyond t, so with a median OS of 19.0 months at least 57 of 113 observed times are <= 19.0 and "
    "their median is <= 19.0. The other definitions fail too: with no censoring before 3 years "
    "(which the printed 1- and 2-year intervals imply) the reverse Kaplan-Meier median and the "
    "median of the censored times are both at least 42.5 months. The median row is left failing."
)
SIZE_GROUPING_DECISION = (
    "Tumour size is split as in Table 1, <10 vs >=10 cm, everywhere: the subgroup paragraph's "
    "'<=10 cm' (PFS) and Tables 3-4's '>10 vs <=10' name overlapping or different groups for the "
    "same comparison, and Table 1 is the only place that counts them."
)
COX_TARGET_DECISION = (
    "A Cox target is met when |beta - published beta| <= 0.1 and |beta - log(published HR)| <= 0.1 "
    "(each HR within 10% on the log scale), and the Wald P lies on the published side of 0.05; the "
    "search counts both, so it aims between them. They differ only for stage in Table 4 (beta "
    "0.661 but HR 2.3 = exp(0.833)); the windows still overlap (0.733-0.761)."
)
LOGRANK_P_DECISION = (
    "A subgroup log-rank P printed as a value must round to it at the printed decimals; one printed "
    "'<0.001' must be below 0.001. The univariate factors the paper only calls significant must have "
    "log-rank P < 0.05 (the paper's subgroup method)."
)
STAGE_P_DECISION = (
    "Every patient with distant metastasis is stage IV (AJCC), so in a Cox model that also holds "
    "metastasis the stage contrast rests on the 19 non-metastatic patients (11 stage III, 8 stage IV): "
    "its standard error is at least about sqrt(1/11 + 1/8) = 0.46, and a beta within 0.1 of the "
    "published one cannot reach P < 0.05. The paper's P = 0.005 (OS) and 0.007 (PFS) are left failing."
)
UNREACHABLE_TARGETS = {  # target id -> why no cohort obeying the rules can meet it
    FOLLOW_UP_ID: FOLLOW_UP_DECISION,
    "table3.stage.p": STAGE_P_DECISION,
    "table4.stage.p": STAGE_P_DECISION,
}

# ---------------------------------------------------------------------------- search settings
DEFAULT_ITERATIONS = 80_000
EDGE_PENALTY_WEIGHT = 25.0  # steep extra loss once a deviation passes EDGE_FRACTION of its tolerance
EDGE_FRACTION = 0.7
FAIL_PENALTY_WEIGHT = 100.0  # and steeper still beyond the tolerance
FAIL_STEP_PENALTY, FAIL_MARGIN = 10.0, 0.98  # a flat cost per target beyond 98% of its tolerance
SHORTFALL_WEIGHT = 100.0  # per (patient on the wrong side of a median's tolerance window) squared
SHAPING_WINDOW_MONTHS = 6.0  # the shortfall also averages S over this span outside the window
NOT_ESTIMABLE_DEVIATION = 10.0  # deviation charged for a median not reached or a model not fitted
EXACT_TARGET_SCALE_MONTHS = TIME_STEP_MONTHS / 2  # deviation unit of a target met exactly (tolerance 0)
P_MARGIN_LOG10 = 0.3  # a P-side target is aimed at a factor 2 beyond the threshold
PROGRESS_EVERY = 500
MOVE_WEIGHTS = {  # relative frequency of each kind of move (Mover.propose)
    "swap_os": 3.0, "swap_progression": 3.0, "swap_patients": 1.0, "swap_postop": 1.0, "swap_response": 0.5,
    "shift_os": 2.0, "shift_progression": 2.0, "flip_status": 0.5, "toggle_progression": 0.5,
}
MAX_DEATHS_WITHOUT_PROGRESSION = 11  # about 10%: most patients are seen to progress before they die
NEAR_SHARE = 0.5  # share of swaps between patients close in time (small steps)
NEIGHBOUR_RANKS = 3
SHIFT_STEPS = (-4, -2, -1, 1, 2, 4)  # half-month steps a single time may move


# ============================================================================ codings
def redealt_indicators(postop: np.ndarray, response: np.ndarray) -> dict[str, np.ndarray]:
    """Return the indicators of the two columns the calibration may re-deal (as in indicator_columns)."""
    return {"postop_regimens": np.asarray(postop) <= MAX_FEW_REGIMENS,
            "best_response": np.isin(response, NON_RESPONSES)}


def indicator_columns(cohort: pd.DataFrame) -> pd.DataFrame:
    """Return the 0/1 covariates of Tables 3-4 and the log-rank comparisons, one column per variable."""
    return pd.DataFrame({
        "max_diameter_cm": cohort[DIAMETER] >= DIAMETER_CUTOFF_CM,  # SIZE_GROUPING_DECISION
        "distant_metastasis": cohort[METASTASIS] == 1,
        "postop_regimens": cohort[POSTOP] <= MAX_FEW_REGIMENS,
        "grade": cohort[GRADE] == G3,
        "stage": cohort[STAGE] == STAGE_IV,
        "aice_cycles": cohort[CYCLES] == 1,
        "best_response": cohort[RESPONSE].isin(NON_RESPONSES),
        "nlr": cohort[NLR] > NLR_CUTOFF,
    }, index=cohort.index).astype(int)


def subgroup_masks(cohort: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """Return (variable, group key of the published id) -> patients in that subgroup."""
    indicators = indicator_columns(cohort)
    return masks_from_indicators({v: indicators[v].to_numpy() == 1 for v in SUBGROUP_VARIABLES})


def masks_from_indicators(indicators: Mapping[str, np.ndarray]) -> dict[tuple[str, str], np.ndarray]:
    """Return the subgroup masks from the boolean indicators of the subgroup variables."""
    size, metastasis, few_regimens = (np.asarray(indicators[v], bool) for v in SUBGROUP_VARIABLES)
    return {
        ("max_diameter_cm", "ge10"): size, ("max_diameter_cm", "lt10"): ~size,
        ("max_diameter_cm", "le10"): ~size,  # SIZE_GROUPING_DECISION
        ("distant_metastasis", "yes"): metastasis, ("distant_metastasis", "no"): ~metastasis,
        ("postop_regimens", "0_1"): few_regimens, ("postop_regimens", "ge2"): ~few_regimens,
    }


# ============================================================================ targets
@dataclass(frozen=True)
class Target:
    """One calibration target: where it comes from, the metric it constrains, its value and rule."""

    id: str
    description: str
    key: tuple
    target: float
    tolerance: float
    rule: str  # "abs", "log_abs", "rounds_to", "below", "same_side"

    @property
    def searched(self) -> bool:
        """Return False for a target shown to be unreachable (reported, but left out of the search)."""
        return self.id not in UNREACHABLE_TARGETS

    def passes(self, achieved: float, alpha: float) -> bool:
        """Return True when the achieved value meets the target's rule."""
        if achieved is None or not math.isfinite(achieved):
            return False
        if self.rule == "abs":
            return abs(achieved - self.target) <= self.tolerance + COMPARISON_SLACK
        if self.rule == "log_abs":
            return achieved > 0 and abs(math.log(achieved) - math.log(self.target)) <= self.tolerance + COMPARISON_SLACK
        if self.rule == "rounds_to":
            return self.target - self.tolerance <= achieved < self.target + self.tolerance
        if self.rule == "below":
            return achieved < self.target
        return (achieved < alpha) == (self.target < alpha)


def significance_level(published: pd.DataFrame) -> float:
    """Return the paper's significance level (P < 0.05)."""
    return float(published.loc[SIGNIFICANCE_ID, "value"])


def year3_os_estimate(published: pd.DataFrame, n: int) -> float:
    """Return the 3-year OS (%) k/n whose log-log Greenwood interval best matches the printed limits."""
    entry = published.loc[OS_YEAR3_ID]
    k = np.arange(1, n)
    survival = k / n
    greenwood = 1.0 / k - 1.0 / n  # no censoring before the landmark
    se = z_value() * np.sqrt(greenwood) / np.log(survival)
    loglog = np.log(-np.log(survival))
    lower, upper = np.exp(-np.exp(loglog - se)), np.exp(-np.exp(loglog + se))
    misfit = np.abs(100 * lower - entry["lower"]) + np.abs(100 * upper - entry["upper"])
    return float(100 * survival[np.argmin(misfit)])


def postop_ge2_pfs_median(published: pd.DataFrame) -> float:
    """Return the midpoint of the printed interval of the >=2-regimen median PFS (PFS_POSTOP_GE2_DECISION)."""
    entry = published.loc[PFS_POSTOP_GE2_ID]
    return float((entry["lower"] + entry["upper"]) / 2)


def _median_targets(entry: pd.Series, key: tuple, description: str, value: float | None = None) -> list[Target]:
    """Return the three targets of a published median: estimate and interval limits."""
    estimate = float(entry["value"]) if value is None else value
    return [
        Target(entry["id"], f"{description}: median", key + ("estimate",), estimate, MEDIAN_TOLERANCE_MONTHS, "abs"),
        Target(entry["id"] + ".lower", f"{description}: lower 95% limit", key + ("lower",),
               float(entry["lower"]), MEDIAN_LIMIT_TOLERANCE_MONTHS, "abs"),
        Target(entry["id"] + ".upper", f"{description}: upper 95% limit", key + ("upper",),
               float(entry["upper"]), MEDIAN_LIMIT_TOLERANCE_MONTHS, "abs"),
    ]


def _rate_targets(entry: pd.Series, key: tuple, description: str, value: float | None = None) -> list[Target]:
    """Return the three targets of a published landmark rate (percent): estimate and limits."""
    estimate = float(entry["value"]) if value is None else value
    return [
        Target(entry["id"], f"{description} (%)", key + ("estimate",), estimate, RATE_TOLERANCE_POINTS, "abs"),
        Target(entry["id"] + ".lower", f"{description}: lower 95% limit (%)", key + ("lower",),
               float(entry["lower"]), RATE_TOLERANCE_POINTS, "abs"),
        Target(entry["id"] + ".upper", f"{description}: upper 95% limit (%)", key + ("upper",),
               float(entry["upper"]), RATE_TOLERANCE_POINTS, "abs"),
    ]


def _overall_targets(published: pd.DataFrame, n: int) -> list[Target]:
    """Return the whole-cohort targets: medians, landmark rates and the follow-up range."""
    targets = []
    for endpoint, entry_id in (("os", OS_MEDIAN_ID), ("pfs", PFS_MEDIAN_ID)):
        targets += _median_targets(published.loc[entry_id], ("median", endpoint, "all"),
                                   f"{endpoint.upper()}, all patients")
    for (endpoint, months), entry_id in RATE_IDS.items():
        value = year3_os_estimate(published, n) if entry_id == OS_YEAR3_ID else None
        targets += _rate_targets(published.loc[entry_id], ("rate", endpoint, months),
                                 f"{endpoint.upper()} at {months} months", value)
    follow_up = published.loc[FOLLOW_UP_ID]
    targets += [
        Target(FOLLOW_UP_ID, "median follow-up: median observed OS time, all patients (FOLLOW_UP_DECISION)",
               ("follow_up", "median"), float(follow_up["value"]), MEDIAN_TOLERANCE_MONTHS, "abs"),
        Target(FOLLOW_UP_ID + ".lower", "follow-up range: shortest observed time", ("follow_up", "min"),
               float(follow_up["lower"]), RANGE_TOLERANCE_MONTHS, "abs"),
        Target(FOLLOW_UP_ID + ".upper", "follow-up range: longest observed time", ("follow_up", "max"),
               float(follow_up["upper"]), RANGE_TOLERANCE_MONTHS, "abs"),
    ]
    return targets


def _p_target(entry: pd.Series, target_id: str, key: tuple, description: str) -> Target:
    """Return a log-rank P target: '<' bounds are upper bounds, printed values must round to themselves."""
    value = float(entry["value"])
    if entry["p_operator"] == "<":
        return Target(target_id, description, key, value, 0.0, "below")
    half_unit = 0.5 * 10.0 ** (-int(entry["decimals"]))
    return Target(target_id, description, key, value, half_unit, "rounds_to")


def _subgroup_targets(published: pd.DataFrame) -> list[Target]:
    """Return the subgroup medians (with intervals) and log-rank P of the subgroup paragraph."""
    targets = []
    for variable in SUBGROUP_VARIABLES:
        for endpoint in ENDPOINTS:
            prefix = f"{SUBGROUP_PREFIX}.{variable}.{endpoint}."
            for entry_id in sorted(i for i in published.index if i.startswith(prefix) and i.endswith(".median")):
                entry = published.loc[entry_id]
                group = entry_id[len(prefix):-len(".median")]
                value = postop_ge2_pfs_median(published) if entry_id == PFS_POSTOP_GE2_ID else None
                targets += _median_targets(entry, ("median", endpoint, (variable, group)),
                                           f"{endpoint.upper()}, {variable} {entry['group']}", value)
            targets.append(_p_target(published.loc[prefix + "p"], prefix + "p", ("logrank", endpoint, variable),
                                     f"{endpoint.upper()}, {variable}: log-rank P"))
    return targets


def _univariable_targets(published: pd.DataFrame) -> list[Target]:
    """Return log-rank P < 0.05 for the factors the paper calls univariately significant."""
    sources = {variable: OTHER_FACTORS_ID for variable in OTHER_FACTORS} | {"nlr": NLR_UNIVARIATE_ID}
    targets = []
    for variable, source in sources.items():
        for endpoint in ENDPOINTS:
            bound = float(published.loc[source, "value"])
            targets.append(Target(f"{source}.{variable}.{endpoint}",
                                  f"{endpoint.upper()}, {variable}: univariate log-rank P < {bound:g}",
                                  ("logrank", endpoint, variable), bound, 0.0, "below"))
    return targets


def cox_variables(published: pd.DataFrame, endpoint: str) -> list[str]:
    """Return the variables of Table 3 (OS) or Table 4 (PFS) in the printed order."""
    table = COX_TABLES[endpoint]
    return [i.split(".")[1] for i in published.index if i.startswith(table + ".") and i.endswith(".beta")]


def _cox_targets(published: pd.DataFrame) -> list[Target]:
    """Return each Table 3/4 row's beta, HR and side-of-0.05 targets (COX_TARGET_DECISION)."""
    targets = []
    for endpoint, table in COX_TABLES.items():
        for variable in cox_variables(published, endpoint):
            row = published.loc[f"{table}.{variable}.hr", "row"]
            key = ("cox", endpoint, variable)
            targets += [
                Target(f"{table}.{variable}.beta", f"{table}, {row}: beta", key + ("beta",),
                       float(published.loc[f"{table}.{variable}.beta", "value"]), LOG_HR_TOLERANCE, "abs"),
                Target(f"{table}.{variable}.hr", f"{table}, {row}: HR (log scale)", key + ("hr",),
                       float(published.loc[f"{table}.{variable}.hr", "value"]), LOG_HR_TOLERANCE, "log_abs"),
                Target(f"{table}.{variable}.p", f"{table}, {row}: Wald P on the published side of 0.05",
                       key + ("p",), float(published.loc[f"{table}.{variable}.p", "value"]), 0.0, "same_side"),
            ]
    return targets


def calibration_targets(n: int, published_dir: Path = PUBLISHED_DIR) -> list[Target]:
    """Return every calibration target, read from the published numbers."""
    published = load_published(published_dir)
    return (_overall_targets(published, n) + _subgroup_targets(published)
            + _univariable_targets(published) + _cox_targets(published))


# ============================================================================ metrics with the helpers
def _endpoint_data(cohort: pd.DataFrame, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (time, event) arrays of one endpoint."""
    time_column, event_column = ENDPOINT_COLUMNS[endpoint]
    return cohort[time_column].to_numpy(float), cohort[event_column].to_numpy(int)


def _group_mask(cohort: pd.DataFrame, group: object) -> np.ndarray:
    """Return the patients of a subgroup key ('all' or (variable, group))."""
    return np.ones(len(cohort), bool) if group == "all" else subgroup_masks(cohort)[group]


def _cox_metrics(cohort: pd.DataFrame, endpoint: str, variables: Sequence[str]) -> dict[tuple, float]:
    """Return beta, HR and Wald P of one Table 3/4 model fitted by the helper (Breslow ties, like SPSS)."""
    time_column, event_column = ENDPOINT_COLUMNS[endpoint]
    data = pd.concat([cohort[[time_column, event_column]], indicator_columns(cohort)[list(variables)]], axis=1)
    fit = fit_cox(data, time_column, event_column, {v: (v, "reference") for v in variables}, ties=PAPER_TIES)
    table = fit.table.set_index("label")
    return {("cox", endpoint, v, stat): float(table.loc[v, stat]) for v in variables for stat in ("beta", "hr", "p")}


def helper_metrics(cohort: pd.DataFrame, targets: Sequence[Target]) -> dict[tuple, float]:
    """Return the achieved value of every target's metric, computed with survival.py and cox.py."""
    metrics: dict[tuple, float] = {}
    keys = {target.key for target in targets}
    for endpoint, group in sorted({k[1:3] for k in keys if k[0] == "median"}, key=str):
        time, event = _endpoint_data(cohort, endpoint)
        mask = _group_mask(cohort, group)
        median = median_spss(time[mask], event[mask])
        for stat, value in (("estimate", median.estimate), ("lower", median.lower), ("upper", median.upper)):
            metrics[("median", endpoint, group, stat)] = value
    for endpoint in ENDPOINTS:
        landmarks = sorted({k[2] for k in keys if k[0] == "rate" and k[1] == endpoint})
        if landmarks:
            rates = survival_at(*_endpoint_data(cohort, endpoint), landmarks).set_index("landmark")
            for months in landmarks:
                for stat, column in (("estimate", "survival"), ("lower", "lower"), ("upper", "upper")):
                    metrics[("rate", endpoint, months, stat)] = 100 * float(rates.loc[float(months), column])
    follow_up = median_followup(*_endpoint_data(cohort, "os"))
    metrics[("follow_up", "median")] = follow_up.median_all
    metrics[("follow_up", "min")], metrics[("follow_up", "max")] = follow_up.range_all
    indicators = indicator_columns(cohort)
    for endpoint, variable in sorted({k[1:3] for k in keys if k[0] == "logrank"}):
        metrics[("logrank", endpoint, variable)] = logrank(*_endpoint_data(cohort, endpoint), indicators[variable]).p
    for endpoint in ENDPOINTS:
        variables = list(dict.fromkeys(k[2] for k in keys if k[0] == "cox" and k[1] == endpoint))
        if variables:
            metrics |= _cox_metrics(cohort, endpoint, variables)
    return metrics


# ============================================================================ fast metrics for the search
def _grid_steps(months: np.ndarray) -> np.ndarray:
    """Return times in half-month steps (integers)."""
    return np.rint(np.asarray(months, float) * STEPS_PER_MONTH).astype(np.int64)


@dataclass
class _KaplanMeier:
    """Kaplan-Meier quantities on the half-month grid: one row per grid time, one column per group."""

    events: np.ndarray
    at_risk: np.ndarray
    survival: np.ndarray
    greenwood: np.ndarray


class FastMetrics:
    """The targets' metrics re-implemented with numpy on the half-month grid, for the search.

    Same formulas as the helpers (tested against them): Kaplan-Meier with Greenwood's variance, the
    SPSS median interval with Collett's density, log-log landmark intervals, the two-group log-rank
    chi-square, and a Breslow Cox model by Newton-Raphson (warm-started from the last fit).
    """

    GRID = round(LONGEST_FOLLOW_UP_MONTHS * STEPS_PER_MONTH) + 1
    COX_STEP_TOLERANCE = 1e-5  # Newton converges quadratically: the last step leaves ~1e-10 in beta
    COX_MAX_ITERATIONS = 50
    COX_MAX_ABS_BETA = 20.0  # beyond this the fit is treated as separated (not estimable)

    def __init__(self, cohort: pd.DataFrame, targets: Sequence[Target]) -> None:
        """Precompute group memberships and design matrices for ``cohort``."""
        self.n = len(cohort)
        keys = {target.key for target in targets}

        def wanted(kind: str, endpoint: str) -> list:
            """Return the sorted third key parts of the targets of one kind and endpoint."""
            return sorted({k[2] for k in keys if k[0] == kind and k[1] == endpoint}, key=str)

        self.median_groups = {e: wanted("median", e) for e in ENDPOINTS}
        self.logrank_variables = {e: wanted("logrank", e) for e in ENDPOINTS}
        self.landmarks = {e: wanted("rate", e) for e in ENDPOINTS}
        self.landmark_rows = {e: [round(m * STEPS_PER_MONTH) for m in self.landmarks[e]] for e in ENDPOINTS}
        self.cox_variables = {e: list(dict.fromkeys(k[2] for k in sorted(keys, key=str) if k[0] == "cox" and k[1] == e))
                              for e in ENDPOINTS}
        self.group_names = list(dict.fromkeys(
            ["all"] + [g for e in ENDPOINTS for g in self.median_groups[e]]
            + [("indicator", v) for e in ENDPOINTS for v in self.logrank_variables[e]]))
        index = {g: i for i, g in enumerate(self.group_names)}
        self.n_groups = len(self.group_names)
        self.median_columns = {e: [index[g] for g in self.median_groups[e]] for e in ENDPOINTS}
        self.logrank_columns = {e: [index[("indicator", v)] for v in self.logrank_variables[e]] for e in ENDPOINTS}
        self.beta = {e: np.zeros(len(self.cox_variables[e])) for e in ENDPOINTS}
        self.set_covariates(cohort)
        self.z = z_value()
        self.upper_level = 1.0 - MEDIAN_PROBABILITY + COLLETT_EPSILON
        self.lower_level = 1.0 - MEDIAN_PROBABILITY - COLLETT_EPSILON

    def set_covariates(self, cohort: pd.DataFrame) -> None:
        """Compute group memberships and design matrices from the cohort's covariates."""
        indicators = indicator_columns(cohort)
        self.indicators = {v: indicators[v].to_numpy() == 1 for v in indicators.columns}
        self.set_indicators({})

    def set_indicators(self, changed: Mapping[str, np.ndarray]) -> None:
        """Replace some boolean indicator columns and recompute memberships and designs (numpy only)."""
        self.indicators |= dict(changed)
        masks = {"all": np.ones(self.n, bool)} | masks_from_indicators(self.indicators)
        membership = np.array([masks[g] if g in masks else self.indicators[g[1]] for g in self.group_names])
        group, self.pair_patient = np.nonzero(membership)
        self.pair_group = group.astype(np.int64)
        self.design = {e: np.column_stack([self.indicators[v] for v in self.cox_variables[e]]).astype(float)
                       for e in ENDPOINTS if self.cox_variables[e]}
        self.cache: dict[str, tuple[np.ndarray, np.ndarray, dict[tuple, float]]] = {}

    # ------------------------------------------------------------------ Kaplan-Meier
    def kaplan_meier(self, steps: np.ndarray, event: np.ndarray) -> _KaplanMeier:
        """Return events, numbers at risk, S and Greenwood sums per grid time and group."""
        shape = (self.GRID, self.n_groups)
        index = steps[self.pair_patient] * self.n_groups + self.pair_group
        removed = np.bincount(index, minlength=shape[0] * shape[1]).reshape(shape)
        events = np.bincount(index, weights=event[self.pair_patient], minlength=shape[0] * shape[1]).reshape(shape)
        at_risk = np.cumsum(removed[::-1], axis=0)[::-1].astype(float)
        survivors = at_risk - events
        with np.errstate(divide="ignore", invalid="ignore"):
            log_factor = np.where(events > 0, np.log(survivors / at_risk), 0.0)
            terms = np.where(events > 0, events / (at_risk * survivors), 0.0)
        return _KaplanMeier(events, at_risk, np.exp(np.cumsum(log_factor, axis=0)), np.cumsum(terms, axis=0))

    def medians(self, km: _KaplanMeier, columns: list[int]) -> np.ndarray:
        """Return (estimate, lower, upper) of the SPSS median per group column, NaN where not estimable."""
        events, survival, greenwood = km.events[:, columns] > 0, km.survival[:, columns], km.greenwood[:, columns]
        reached = events & (survival <= MEDIAN_PROBABILITY + PROBABILITY_TOLERANCE)
        below = events & (survival <= self.lower_level + PROBABILITY_TOLERANCE)
        above = events & (survival >= self.upper_level - PROBABILITY_TOLERANCE)
        line = np.arange(len(columns))
        t50, low = np.argmax(reached, axis=0), np.argmax(below, axis=0)
        last_above = self.GRID - 1 - np.argmax(above[::-1], axis=0)
        has_above = above.any(axis=0)
        upper_time = np.where(has_above, last_above, 0) / STEPS_PER_MONTH
        upper_survival = np.where(has_above, survival[last_above, line], 1.0)
        with np.errstate(all="ignore"):
            density = (upper_survival - survival[low, line]) / (low / STEPS_PER_MONTH - upper_time)
            half = self.z * survival[t50, line] * np.sqrt(greenwood[t50, line]) / density
        half = np.where(below.any(axis=0) & (density > 0), half, np.nan)
        estimate = np.where(reached.any(axis=0), t50 / STEPS_PER_MONTH, np.nan)
        return np.column_stack([estimate, estimate - half, estimate + half])

    def rates(self, km: _KaplanMeier, rows: list[int]) -> np.ndarray:
        """Return (estimate, lower, upper) in percent of the whole cohort's S at each landmark row."""
        s, greenwood = km.survival[rows, 0], km.greenwood[rows, 0]
        with np.errstate(all="ignore"):
            shift = self.z * np.sqrt(greenwood) / np.log(s)
            loglog = np.log(-np.log(s))
            return 100 * np.column_stack([s, np.exp(-np.exp(loglog - shift)), np.exp(-np.exp(loglog + shift))])

    @staticmethod
    def logrank_p(km: _KaplanMeier, columns: list[int]) -> np.ndarray:
        """Return the two-group log-rank P of each indicator column (patients with it vs the rest)."""
        used = km.events[:, 0] > 0
        d, n = km.events[used, 0], km.at_risk[used, 0]
        d1, share = km.events[used][:, columns], km.at_risk[used][:, columns] / n[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
            variance = (share * (1 - share) * weight[:, None]).sum(axis=0)
            chisq = (d1.sum(axis=0) - (share * d[:, None]).sum(axis=0)) ** 2 / variance
        return erfc(np.sqrt(chisq / 2))

    # ------------------------------------------------------------------ Cox (Breslow)
    def cox(self, endpoint: str, steps: np.ndarray, event: np.ndarray,
            at_risk_all: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (beta, Wald P) of the Breslow Cox model, NaN when Newton-Raphson does not converge.

        Information = sum over events of the risk-set covariance of x; its first part is computed
        per patient: sum_e S2_e / S0_e = sum_i w_i x_i x_i' c_i, c_i = sum of 1/S0_e over the events
        whose risk set holds i.
        """
        x = self.design[endpoint]
        order = np.argsort(-steps, kind="stable")
        xs = x[order]
        event_rows = np.flatnonzero(event[order] == 1)
        ends = at_risk_all[steps[order][event_rows]].astype(np.int64) - 1  # risk set: time >= t
        total_x = xs[event_rows].sum(axis=0)
        beta = self.beta[endpoint].copy()
        for _ in range(self.COX_MAX_ITERATIONS):
            w = np.exp(xs @ beta)
            s0 = np.cumsum(w)[ends]
            s1 = np.cumsum(w[:, None] * xs, axis=0)[ends] / s0[:, None]
            c = np.cumsum(np.bincount(ends, weights=1.0 / s0, minlength=len(w))[::-1])[::-1]
            information = (xs * (w * c)[:, None]).T @ xs - s1.T @ s1
            try:
                step = np.linalg.solve(information, total_x - s1.sum(axis=0))
            except np.linalg.LinAlgError:
                break
            beta = beta + step
            if not np.all(np.isfinite(beta)) or np.abs(beta).max() > self.COX_MAX_ABS_BETA:
                break
            if np.abs(step).max() < self.COX_STEP_TOLERANCE:
                self.beta[endpoint] = beta
                se = np.sqrt(np.diag(np.linalg.inv(information)))
                return beta, erfc(np.abs(beta / se) / math.sqrt(2))
        self.beta[endpoint] = np.zeros_like(beta)
        return np.full(len(beta), np.nan), np.full(len(beta), np.nan)

    # ------------------------------------------------------------------ all metrics
    def endpoint_metrics(self, endpoint: str, steps: np.ndarray, event: np.ndarray) -> dict[tuple, float]:
        """Return the metrics of one endpoint: medians, landmark rates, log-rank P and the Cox model."""
        out: dict[tuple, float] = {}
        km = self.kaplan_meier(steps, event)
        for group, row in zip(self.median_groups[endpoint], self.medians(km, self.median_columns[endpoint])):
            for stat, value in zip(("estimate", "lower", "upper"), row):
                out[("median", endpoint, group, stat)] = value
        for group, column in zip(self.median_groups[endpoint], self.median_columns[endpoint]):
            out[("survival", endpoint, group)] = km.survival[:, column]  # the group's curve (for the search)
        for months, row in zip(self.landmarks[endpoint], self.rates(km, self.landmark_rows[endpoint])):
            for stat, value in zip(("estimate", "lower", "upper"), row):
                out[("rate", endpoint, months, stat)] = value
        for variable, p in zip(self.logrank_variables[endpoint], self.logrank_p(km, self.logrank_columns[endpoint])):
            out[("logrank", endpoint, variable)] = p
        if self.cox_variables[endpoint]:
            beta, p = self.cox(endpoint, steps, event, km.at_risk[:, 0])
            for variable, b, pv in zip(self.cox_variables[endpoint], beta, p):
                out[("cox", endpoint, variable, "beta")] = b
                out[("cox", endpoint, variable, "hr")] = math.exp(b)
                out[("cox", endpoint, variable, "p")] = pv
        return out

    def metrics(self, os_steps: np.ndarray, os_event: np.ndarray, pfs_steps: np.ndarray,
                pfs_event: np.ndarray) -> dict[tuple, float]:
        """Return every target metric for one state (times in half-month steps); an endpoint whose
        times and covariates did not change since the last call is not recomputed."""
        out: dict[tuple, float] = {}
        for endpoint, steps, event in (("os", os_steps, os_event), ("pfs", pfs_steps, pfs_event)):
            cached = self.cache.get(endpoint)
            if cached is None or not (np.array_equal(cached[0], steps) and np.array_equal(cached[1], event)):
                cached = (steps.copy(), event.copy(), self.endpoint_metrics(endpoint, steps, event))
                self.cache[endpoint] = cached
            out |= cached[2]
        months = np.sort(os_steps) / STEPS_PER_MONTH
        out[("follow_up", "median")] = float(np.median(months))
        out[("follow_up", "min")], out[("follow_up", "max")] = float(months[0]), float(months[-1])
        return out


# ============================================================================ the search
@dataclass
class SurvivalState:
    """Per patient, in half-month steps: OS time, death (1) or alive at the cutoff (0), progression
    time or NO_PROGRESSION; plus the re-dealt postoperative regimens and PR/SD labels."""

    os: np.ndarray
    dead: np.ndarray
    progression: np.ndarray
    postop: np.ndarray
    response: np.ndarray

    def copy(self) -> SurvivalState:
        """Return an independent copy."""
        return SurvivalState(self.os.copy(), self.dead.copy(), self.progression.copy(), self.postop.copy(),
                             self.response.copy())

    def pfs(self) -> tuple[np.ndarray, np.ndarray]:
        """Return PFS (steps, event): progression if any, else the OS time and status."""
        none = self.progression == NO_PROGRESSION
        return np.where(none, self.os, self.progression), np.where(none, self.dead, 1)

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """Return the re-dealt postoperative regimens and responses and the four survival columns (months)."""
        pfs, pfs_event = self.pfs()
        return pd.DataFrame({
            POSTOP: self.postop.astype(int), RESPONSE: self.response.astype(str),
            OS_MONTHS: self.os / STEPS_PER_MONTH, OS_EVENT: self.dead.astype(int),
            PFS_MONTHS: pfs / STEPS_PER_MONTH, PFS_EVENT: pfs_event.astype(int),
        }, index=index)


def deaths_without_progression(state: SurvivalState) -> int:
    """Return the number of deaths with PFS ending at death (no progression recorded before it)."""
    pfs, _ = state.pfs()
    return int(np.sum((state.dead == 1) & (pfs == state.os)))


def state_from_cohort(cohort: pd.DataFrame) -> SurvivalState:
    """Return the search state of a cohort (a progression wherever PFS is an event that ends before
    OS, or while OS is censored, or for PD: progression at the first scan)."""
    os, pfs = _grid_steps(cohort[OS_MONTHS]), _grid_steps(cohort[PFS_MONTHS])
    dead = cohort[OS_EVENT].to_numpy(np.int64)
    progressive = cohort[RESPONSE].to_numpy(object) == PD
    progressed = (cohort[PFS_EVENT].to_numpy(int) == 1) & ((pfs < os) | (dead == 0) | progressive)
    return SurvivalState(os, dead, np.where(progressed, pfs, NO_PROGRESSION), cohort[POSTOP].to_numpy(np.int64),
                         cohort[RESPONSE].to_numpy(object))


def response_cells(cohort: pd.DataFrame) -> np.ndarray:
    """Return each patient's cell of modality x G3 x single cycle: the calibration swaps response labels
    only within a cell, so the dealing's tilts (PR with embolization, PD with G3, fewer cycles after PD)
    keep their exact counts."""
    return (cohort[MODALITY].astype(str) + "|" + (cohort[GRADE] == G3).astype(str) + "|"
            + (cohort[CYCLES] == 1).astype(str)).to_numpy()


class Rules:
    """The hard constraints of a state (module docstring), in half-month steps, for one cohort."""

    shortest = round(SHORTEST_TIME_MONTHS * STEPS_PER_MONTH)
    longest = round(LONGEST_FOLLOW_UP_MONTHS * STEPS_PER_MONTH)
    shortest_censored = round(SHORTEST_CENSORED_MONTHS * STEPS_PER_MONTH)
    first_scan = (round(FIRST_SCAN_MONTHS[0] * STEPS_PER_MONTH), round(FIRST_SCAN_MONTHS[1] * STEPS_PER_MONTH))
    after_first_scan = round(FIRST_SCAN_SURVIVORS_MONTHS * STEPS_PER_MONTH)

    def __init__(self, cohort: pd.DataFrame) -> None:
        """Keep who may swap response labels and the regimen bounds set by each patient's subsequent therapy."""
        subsequent = cohort[SUBSEQUENT].to_numpy()
        self.n = len(cohort)
        cell = response_cells(cohort)
        self.response_partners = cell[:, None] == cell[None, :]
        self.fewest_regimens = np.where(np.isin(subsequent, NAMED_SUBSEQUENT_THERAPIES), 1, 0)
        self.most_regimens = np.where(subsequent == NO_THERAPY, MAX_REGIMENS_WITHOUT_THERAPY, np.iinfo(np.int64).max)

    def valid(self, state: SurvivalState, i: int) -> bool:
        """Return True when patient i obeys every rule."""
        os, dead, progression = int(state.os[i]), int(state.dead[i]), int(state.progression[i])
        if not self.shortest <= os <= self.longest or (not dead and os < self.shortest_censored):
            return False
        if not self.fewest_regimens[i] <= state.postop[i] <= self.most_regimens[i]:
            return False
        if state.response[i] == PD:
            return self.first_scan[0] <= progression <= min(self.first_scan[1], os)
        return os >= self.after_first_scan and (
            progression == NO_PROGRESSION or self.after_first_scan <= progression <= os)


# ---------------------------------------------------------------------------- starting point
INITIAL_LATE_SURVIVAL = {"os": ((60.0, 0.16), (LONGEST_FOLLOW_UP_MONTHS, 0.10)),
                         "pfs": ((60.0, 0.09), (LONGEST_FOLLOW_UP_MONTHS, 0.05))}
INITIAL_POST_PROGRESSION_MONTHS = 8.0  # scale of the simulated survival after progression


def _curve_points(targets: Sequence[Target], endpoint: str, n_progressive: int,
                  n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (months, S) points of a starting curve through the target median and landmark rates."""
    by_key = {t.key: t.target for t in targets}
    points = {0.0: 1.0, by_key[("median", endpoint, "all", "estimate")]: MEDIAN_PROBABILITY}
    points |= {k[2]: v / 100 for k, v in by_key.items() if k[0] == "rate" and k[1] == endpoint and k[3] == "estimate"}
    if endpoint == "pfs":
        points[FIRST_SCAN_MONTHS[1]] = 1 - n_progressive / n
    points |= dict(INITIAL_LATE_SURVIVAL[endpoint])
    months = np.array(sorted(points))
    return months, np.array([points[m] for m in months])


def _event_times(points: tuple[np.ndarray, np.ndarray], n_events: int, n: int) -> np.ndarray:
    """Return the k-th event time (steps), k = 1..n_events, where the piecewise-linear curve reaches (n-k)/n."""
    grid = np.arange(FastMetrics.GRID)
    curve = np.interp(grid / STEPS_PER_MONTH, *points)
    levels = (n - np.arange(1, n_events + 1)) / n
    return np.array([grid[np.flatnonzero(curve <= max(level, curve[-1]) + 1e-12)[0]] for level in levels])


def _ranked(values: np.ndarray) -> np.ndarray:
    """Return patient indices from the smallest value to the largest (stable)."""
    return np.argsort(values, kind="stable")


def _swap(arrays: Sequence[np.ndarray], i: int, j: int) -> None:
    """Swap entries i and j of each array in place."""
    for array in arrays:
        array[i], array[j] = array[j], array[i]


def _repaired(state: SurvivalState, rules: Rules) -> SurvivalState:
    """Return the state with every rule broken by the starting draw mended by OS swaps or dropped progressions."""
    for _ in range(len(state.os)):
        broken = [i for i in range(len(state.os)) if not rules.valid(state, i)]
        if not broken:
            return state
        i = broken[0]
        for j in _ranked(np.abs(state.os - max(state.progression[i], rules.after_first_scan))):
            _swap((state.os, state.dead), i, j)
            if rules.valid(state, i) and rules.valid(state, j):
                break
            _swap((state.os, state.dead), i, j)
        else:
            state.progression[i] = NO_PROGRESSION
    raise RuntimeError("could not build a starting state that obeys the rules")


def initial_state(cohort: pd.DataFrame, targets: Sequence[Target], rng: np.random.Generator) -> SurvivalState:
    """Return a starting state: proportional-hazards draws with the published log hazard ratios,
    mapped onto starting curves through the published medians and landmark rates."""
    n = len(cohort)
    rules = Rules(cohort)
    progressive = (cohort[RESPONSE] == PD).to_numpy()
    by_key = {t.key: t.target for t in targets}
    indicators = indicator_columns(cohort)
    risk = {e: sum(by_key[("cox", e, v, "beta")] * indicators[v].to_numpy(float)
                   for v in sorted({k[2] for k in by_key if k[0] == "cox" and k[1] == e})) for e in ENDPOINTS}
    n_pd = int(progressive.sum())
    os_points, pfs_points = (_curve_points(targets, e, n_pd, n) for e in ENDPOINTS)
    n_alive = round(n * os_points[1][-1])
    n_progression_free = round(n * pfs_points[1][-1])
    # progression: PD patients take the first-scan slots, the others follow their simulated order
    latent_progression = rng.exponential(size=n) / np.exp(risk["pfs"])
    order = np.r_[np.flatnonzero(progressive)[_ranked(latent_progression[progressive])],
                  np.flatnonzero(~progressive)[_ranked(latent_progression[~progressive])]]
    slots = _event_times(pfs_points, n - n_progression_free, n)
    slots[:n_pd] = np.clip(slots[:n_pd], *rules.first_scan)
    slots[n_pd:] = np.maximum(slots[n_pd:], rules.after_first_scan)
    progression = np.full(n, NO_PROGRESSION, dtype=np.int64)
    progression[order[:len(slots)]] = slots
    # death: after progression, with the OS model's risk; the progression-free stay alive
    post = INITIAL_POST_PROGRESSION_MONTHS * rng.exponential(size=n) / np.exp(risk["os"] - risk["os"].mean())
    latent_death = np.where(progression == NO_PROGRESSION, np.inf, progression / STEPS_PER_MONTH + post)
    order = _ranked(latent_death)
    os = np.empty(n, dtype=np.int64)
    dead = np.ones(n, dtype=np.int64)
    os[order[:n - n_alive]] = np.maximum(_event_times(os_points, n - n_alive, n), rules.shortest)
    alive = order[n - n_alive:]
    censored = np.sort(rng.integers(rules.shortest_censored, rules.longest + 1, size=n_alive))
    censored[-1] = rules.longest
    os[alive], dead[alive] = censored, 0
    progression = np.where(progression > os, np.where(progressive, os, NO_PROGRESSION), progression)
    state = SurvivalState(os, dead, progression, cohort[POSTOP].to_numpy(np.int64).copy(),
                          cohort[RESPONSE].to_numpy(object).copy())
    return _repaired(state, rules)


# ---------------------------------------------------------------------------- annealing
class Objective:
    """The search loss of a state: squared deviations in tolerance units plus a steep edge penalty.

    A deviation is (achieved - target) / tolerance (on the log scale for HRs, log10 for P values),
    so |d| <= 1 passes; a P that must lie on one side of a bound costs nothing once it is a factor
    10**P_MARGIN_LOG10 beyond the bound and 1 at the bound. Exact targets use half a time step as unit
    (one step off is a deviation of 2).
    """

    def __init__(self, cohort: pd.DataFrame, targets: Sequence[Target], alpha: float) -> None:
        """Prepare the fast metrics for ``cohort`` and the deviation arrays of the searched targets."""
        self.cohort = cohort
        self.targets = [t for t in targets if t.searched]
        self.keys = [t.key for t in self.targets]
        self.shaped = [t for t in self.targets if t.key[0] == "median" and t.key[3] == "estimate"]
        self.shape_curves = [("survival", t.key[1], t.key[2]) for t in self.shaped]
        self.shape_sizes = np.array([int(_group_mask(cohort, t.key[2]).sum()) for t in self.shaped])
        width = round(SHAPING_WINDOW_MONTHS * STEPS_PER_MONTH)
        last = FastMetrics.GRID - 1
        window_start = np.array([round((t.target - t.tolerance) * STEPS_PER_MONTH) - 1 for t in self.shaped])
        window_end = np.array([round((t.target + t.tolerance) * STEPS_PER_MONTH) for t in self.shaped])
        self.early_steps = np.clip(window_start[:, None] + np.arange(-width, 1), 0, last)  # last column: the edge
        self.late_steps = np.clip(window_end[:, None] + np.arange(width), 0, last)  # first column: the edge
        self.shape_rows = np.arange(len(self.shaped))[:, None]
        self.fast = FastMetrics(cohort, self.targets)
        self.redealt_columns = (cohort[POSTOP].to_numpy().copy(), cohort[RESPONSE].to_numpy(object).copy())
        rule = np.array([t.rule for t in self.targets])
        value = np.array([t.target for t in self.targets])
        tolerance = np.array([t.tolerance for t in self.targets])
        self.log_rows = rule == "log_abs"
        self.p_rows = np.isin(rule, ("rounds_to", "below", "same_side"))
        low, high = np.log10(np.maximum(value - tolerance, 1e-300)), np.log10(value + tolerance)
        bound = np.log10(np.where(rule == "below", value, alpha))
        self.at_most = (rule == "below") | ((rule == "same_side") & (value < alpha))
        self.at_least = (rule == "same_side") & (value >= alpha)
        self.center = np.select([rule == "abs", self.log_rows, rule == "rounds_to"],
                                [value, np.log(value), (low + high) / 2], default=0.0)
        self.scale = np.select([rule == "abs", self.log_rows, rule == "rounds_to"],
                               [np.where(tolerance > 0, tolerance, EXACT_TARGET_SCALE_MONTHS), tolerance,
                                (high - low) / 2],
                               default=P_MARGIN_LOG10)
        self.threshold = np.where(self.at_most, bound - P_MARGIN_LOG10, bound + P_MARGIN_LOG10)

    def deviations(self, state: SurvivalState) -> np.ndarray:
        """Return each searched target's deviation in units of its tolerance."""
        if not (np.array_equal(state.postop, self.redealt_columns[0])
                and np.array_equal(state.response, self.redealt_columns[1])):
            self.redealt_columns = (state.postop.copy(), state.response.copy())
            self.fast.set_indicators(redealt_indicators(*self.redealt_columns))
        metrics = self.fast.metrics(state.os, state.dead, *state.pfs())
        self.last_metrics = metrics
        achieved = np.array([metrics[key] for key in self.keys])
        with np.errstate(all="ignore"):
            x = np.where(self.log_rows, np.log(achieved),
                         np.where(self.p_rows, np.log10(np.maximum(achieved, 1e-300)), achieved))
        d = (x - self.center) / self.scale
        d = np.where(self.at_most, np.maximum((x - self.threshold) / self.scale, 0.0), d)
        d = np.where(self.at_least, np.maximum((self.threshold - x) / self.scale, 0.0), d)
        return np.where(np.isfinite(d), d, NOT_ESTIMABLE_DEVIATION)

    def median_shortfall(self) -> np.ndarray:
        """Return, per median target, about how many patients are on the wrong side of its tolerance
        window: S just before the window must stay above 1/2 and S at its end must be at most 1/2
        (exactly the pass rule), plus the mean shortfall over SHAPING_WINDOW_MONTHS outside each edge
        (which rewards moving a patient towards the window) and S falling to 0.45 (for the interval)."""
        curves = np.stack([self.last_metrics[key] for key in self.shape_curves])
        early = np.maximum(MEDIAN_PROBABILITY + PROBABILITY_TOLERANCE - curves[self.shape_rows, self.early_steps], 0.0)
        late = np.maximum(curves[self.shape_rows, self.late_steps] - MEDIAN_PROBABILITY, 0.0)
        unfinished = np.maximum(curves[:, -1] - self.fast.lower_level, 0.0)
        return self.shape_sizes * (early[:, -1] + early.mean(axis=1) + late[:, 0] + late.mean(axis=1) + unfinished)

    def loss(self, state: SurvivalState) -> float:
        """Return the loss of a state: deviations, the median guide, and deaths without progression beyond the cap."""
        d = np.abs(self.deviations(state))
        excess = max(deaths_without_progression(state) - MAX_DEATHS_WITHOUT_PROGRESSION, 0)
        return float(np.sum(d ** 2) + EDGE_PENALTY_WEIGHT * np.sum(np.maximum(d - EDGE_FRACTION, 0.0) ** 2)
                     + FAIL_PENALTY_WEIGHT * np.sum(np.maximum(d - 1.0, 0.0) ** 2)
                     + FAIL_STEP_PENALTY * np.count_nonzero(d > FAIL_MARGIN)
                     + SHORTFALL_WEIGHT * np.sum(self.median_shortfall() ** 2) + EDGE_PENALTY_WEIGHT * excess ** 2)


class Mover:
    """Random local moves of a state; each changes it in place and returns the patients it touched."""

    def __init__(self, rules: Rules, rng: np.random.Generator) -> None:
        """Keep the rules (PD flags fix the first-scan rule) and the generator."""
        self.rules = rules
        self.rng = rng
        self.n = rules.n
        self.names = list(MOVE_WEIGHTS)
        weights = np.array(list(MOVE_WEIGHTS.values()))
        self.probabilities = np.cumsum(weights / weights.sum())

    def _neighbour(self, values: np.ndarray, i: int, pool: np.ndarray) -> int:
        """Return a patient of ``pool`` at most NEIGHBOUR_RANKS places from i in the order of ``values``."""
        order = pool[_ranked(values[pool])]
        rank = int(np.flatnonzero(order == i)[0])
        offset = int(self.rng.integers(1, NEIGHBOUR_RANKS + 1)) * (1 if self.rng.random() < 0.5 else -1)
        return int(order[min(max(rank + offset, 0), len(order) - 1)])

    @staticmethod
    def _class_of(state: SurvivalState, i: int) -> np.ndarray:
        """Return the patients with the same PD status as i."""
        progressive = state.response == PD
        return np.flatnonzero(progressive == progressive[i])

    def propose(self, state: SurvivalState) -> list[int]:
        """Change the state in place by one random move and return the changed patients."""
        move = self.names[int(np.searchsorted(self.probabilities, self.rng.random(), side="right"))]
        i = int(self.rng.integers(self.n))
        if move == "swap_os":
            near = self.rng.random() < NEAR_SHARE
            j = self._neighbour(state.os, i, np.arange(self.n)) if near else int(self.rng.integers(self.n))
            _swap((state.os, state.dead), i, j)
            return [i, j]
        if move in ("swap_progression", "swap_patients"):
            pool = self._class_of(state, i)
            j = (self._neighbour(state.pfs()[0], i, pool) if self.rng.random() < NEAR_SHARE
                 else int(pool[self.rng.integers(len(pool))]))
            swapped = (state.progression,) if move == "swap_progression" else (state.os, state.dead, state.progression)
            _swap(swapped, i, j)
            return [i, j]
        if move == "swap_postop":
            j = int(self.rng.integers(self.n))
            _swap((state.postop,), i, j)
            return [i, j]
        if move == "swap_response":  # a PD label takes its first-scan progression along
            pool = np.flatnonzero(self.rules.response_partners[i] & (state.response != state.response[i]))
            if not pool.size:
                return []
            j = int(pool[self.rng.integers(pool.size)])
            _swap((state.response,) if PD not in state.response[[i, j]] else (state.response, state.progression), i, j)
            return [i, j]
        if move == "shift_os":
            state.os[i] += SHIFT_STEPS[self.rng.integers(len(SHIFT_STEPS))]
        elif move == "shift_progression" and state.progression[i] != NO_PROGRESSION:
            state.progression[i] += SHIFT_STEPS[self.rng.integers(len(SHIFT_STEPS))]
        elif move == "flip_status":
            state.dead[i] = 1 - state.dead[i]
        elif move == "toggle_progression" and state.response[i] != PD:
            low = self.rules.after_first_scan
            state.progression[i] = (int(self.rng.integers(low, max(low, state.os[i]) + 1))
                                    if state.progression[i] == NO_PROGRESSION else NO_PROGRESSION)
        return [i]

    def valid(self, state: SurvivalState, patients: list[int]) -> bool:
        """Return True when every changed patient still obeys the rules."""
        return all(self.rules.valid(state, i) for i in patients)


@dataclass(frozen=True)
class Phase:
    """One annealing phase: which kinds of targets count, its share of the budget, its temperatures."""

    name: str
    kinds: tuple[str, ...] | None  # target key kinds searched (None: all)
    share: float
    start_temperature: float
    end_temperature: float


# First the stepwise time-scale targets (medians, rates, follow-up range: the hard part for local
# moves, where a long search on everything tends to get stuck), then everything from there; the
# medians' steep penalties keep them in place while the order is tuned for the hazard ratios and P.
PHASES = (
    Phase("time scale", ("median", "rate", "follow_up"), 0.25, 0.3, 0.003),
    Phase("all targets", None, 0.75, 1.0, 0.002),
)


def _annealed(objective: Objective, state: SurvivalState, mover: Mover, rng: np.random.Generator,
              iterations: int, phase: Phase, bar: tqdm) -> tuple[SurvivalState, float]:
    """Return the lowest-loss state of one geometric-cooling annealing phase from ``state``."""
    loss = objective.loss(state)
    best, best_loss = state.copy(), loss
    cooling = (phase.end_temperature / phase.start_temperature) ** (1.0 / max(iterations, 1))
    temperature = phase.start_temperature
    for step in range(iterations):
        temperature *= cooling
        candidate_state = state.copy()
        changed = mover.propose(candidate_state)
        if mover.valid(candidate_state, changed):
            candidate = objective.loss(candidate_state)
            if candidate <= loss or rng.random() < math.exp((loss - candidate) / temperature):
                state, loss = candidate_state, candidate
                if loss < best_loss:
                    best, best_loss = state.copy(), loss
        if (step + 1) % PROGRESS_EVERY == 0:
            bar.update(PROGRESS_EVERY)
            bar.set_postfix(phase=phase.name, loss=f"{best_loss:.3g}")
    return best, best_loss


def annealed_state(cohort: pd.DataFrame, targets: Sequence[Target], seed: int, iterations: int,
                   progress: bool = True) -> tuple[SurvivalState, float]:
    """Return the lowest-loss state of a seeded simulated annealing in PHASES, and its loss."""
    rng = np.random.default_rng(seed)
    alpha = significance_level(load_published())
    state = initial_state(cohort, targets, rng)
    mover = Mover(Rules(cohort), rng)
    loss = math.inf
    show = progress and sys.stderr.isatty()
    with tqdm(total=iterations, desc="calibrating survival", disable=not show, leave=False) as bar:
        for phase in PHASES:
            searched = [t for t in targets if phase.kinds is None or t.key[0] in phase.kinds]
            objective = Objective(cohort, searched, alpha)
            state, loss = _annealed(objective, state, mover, rng, round(iterations * phase.share), phase, bar)
    return state, loss


# ============================================================================ public entry points
def calibrated_survival_times(cohort: pd.DataFrame, seed: int, progress: bool = True,
                              iterations: int | None = None) -> pd.DataFrame:
    """Return the CALIBRATED_COLUMNS: OS/PFS times and the re-dealt regimens and PR/SD labels, per patient.

    ``cohort`` needs the baseline columns only; ``iterations`` (default ``DEFAULT_ITERATIONS``) is the
    annealing budget, deterministic from ``seed``. The progress bar shows only on a terminal.
    """
    baseline = cohort.drop(columns=[c for c in SURVIVAL_COLUMNS if c in cohort.columns])
    targets = calibration_targets(len(baseline))
    budget = DEFAULT_ITERATIONS if iterations is None else iterations
    state, _ = annealed_state(baseline, targets, seed, budget, progress)
    return state.frame(baseline.index)[list(CALIBRATED_COLUMNS)]


RULE_TEXT = {
    "abs": "|achieved - target| <= tolerance",
    "log_abs": "|log achieved - log target| <= tolerance",
    "rounds_to": "rounds to the printed P (target - tolerance <= achieved < target + tolerance)",
    "below": "achieved < target",
    "same_side": "on the same side of the significance level as the target",
}
REPORT_COLUMNS = ["id", "description", "target", "achieved", "tolerance", "rule", "pass"]
REPORT_CSV, REPORT_MARKDOWN = "calibration_report.csv", "calibration_report.md"
REPORT_SIGNIFICANT_DIGITS = 6
DECISIONS = {
    "3-year OS": OS_YEAR3_DECISION, "PFS with >=2 postoperative regimens": PFS_POSTOP_GE2_DECISION,
    "Median follow-up": FOLLOW_UP_DECISION, "Tumour size groups": SIZE_GROUPING_DECISION,
    "Cox targets": COX_TARGET_DECISION, "Log-rank P": LOGRANK_P_DECISION, "Stage P in Tables 3-4": STAGE_P_DECISION,
}


def calibration_report(cohort: pd.DataFrame, published_dir: Path = PUBLISHED_DIR) -> pd.DataFrame:
    """Return one row per target: id, description, target, achieved (by the helpers), tolerance, rule, pass."""
    targets = calibration_targets(len(cohort), published_dir)
    alpha = significance_level(load_published(published_dir))
    achieved = helper_metrics(cohort, targets)
    return pd.DataFrame([{
        "id": t.id, "description": t.description, "target": t.target, "achieved": achieved[t.key],
        "tolerance": t.tolerance, "rule": RULE_TEXT[t.rule], "pass": t.passes(achieved[t.key], alpha),
    } for t in targets], columns=REPORT_COLUMNS)


def _rounded(report: pd.DataFrame) -> pd.DataFrame:
    """Return the report with numbers rounded to REPORT_SIGNIFICANT_DIGITS (stable text across runs)."""
    out = report.copy()
    for column in ("target", "achieved", "tolerance"):
        out[column] = [float(f"{value:.{REPORT_SIGNIFICANT_DIGITS}g}") for value in out[column]]
    return out


def report_markdown(report: pd.DataFrame) -> str:
    """Return the report as a short markdown page: counts, the table, and the decisions."""
    passed = int(report["pass"].sum())
    lines = ["# Calibration report", "",
             f"Synthetic cohort against the paper's survival results: {passed} of {len(report)} targets met.",
             "Generated by `python -m aice_helpers generate` (`aice_helpers.synthetic.calibration`); do not edit.", "",
             "| id | target | achieved | tolerance | pass |", "|---|---:|---:|---:|:---:|"]
    lines += [f"| `{row.id}` | {row.target:.4g} | {row.achieved:.4g} | {row.tolerance:g} | "
              f"{'yes' if row['pass'] else '**no**'} |" for _, row in report.iterrows()]
    lines += ["", "## Decisions", ""] + [f"- **{name}.** {text}" for name, text in DECISIONS.items()]
    return "\n".join(lines) + "\n"


def write_calibration_report(cohort: pd.DataFrame, out_dir: Path = DATA_DIR) -> dict[str, Path]:
    """Write ``calibration_report.csv`` and its markdown twin for ``cohort``; return their paths."""
    out_dir = Path(out_dir)
    report = _rounded(calibration_report(cohort))
    paths = {REPORT_CSV: out_dir / REPORT_CSV, REPORT_MARKDOWN: out_dir / REPORT_MARKDOWN}
    report.to_csv(paths[REPORT_CSV], index=False, lineterminator="\n")
    paths[REPORT_MARKDOWN].write_text(report_markdown(report), encoding="utf-8")
    return paths

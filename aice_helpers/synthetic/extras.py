"""Extra synthetic columns for the response chapter's figures: depth of response and session timing.

The data contract has no column for how much the target lesions shrank or grew, nor for when each
AICE session took place; the waterfall and swimmer plots need both. These functions invent them,
seeded and deterministic, for the synthetic cohort only. Nothing here is a real measurement.

- ``response_detail_columns`` gives each patient a best percentage change in the sum of the target
  lesions' diameters that agrees with the patient's RECIST 1.1 category: CR is -100 %; PR is at most
  -30 % (and above -100 %, since the lesions did not all disappear); SD lies strictly between -30 %
  and +20 %; PD is at least +20 % or comes with a new lesion (``new_lesion`` = 1), in which case the
  target lesions themselves changed by less than +20 %. Exactly ``round(NEW_LESION_SHARE_OF_PD x
  number of PD patients)`` PD patients progress through a new lesion.
- ``session_months`` gives each session its month after the patient's first session: 0 for the
  first, then one cycle of 3 to 4 weeks (a whole number of days, uniform) per step in cycle number.

Values are rounded (changes to 0.1 %, months to 0.01) and the rounding never moves a value across a
RECIST threshold. Random draws follow the rows sorted by patient (and cycle), so the result does
not depend on the order of the input rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aice_helpers.contract import (
    COHORT_COLUMNS,
    PROCEDURE_COLUMNS,
    RESPONSES,
    contract_column,
)

__all__ = [
    "PATIENT_ID",
    "BEST_RESPONSE",
    "CYCLE",
    "CR",
    "PR",
    "SD",
    "PD",
    "BEST_PCT_CHANGE",
    "NEW_LESION",
    "SESSION_MONTH",
    "PR_THRESHOLD_PCT",
    "PD_THRESHOLD_PCT",
    "CR_PCT_CHANGE",
    "CHANGE_DECIMALS",
    "STEP",
    "PR_CHANGE",
    "SD_CHANGE",
    "PD_CHANGE",
    "NEW_LESION_CHANGE",
    "NEW_LESION_SHARE_OF_PD",
    "DAYS_PER_MONTH",
    "CYCLE_DAYS",
    "MONTH_DECIMALS",
    "response_detail_columns",
    "session_months",
]

PATIENT_ID = contract_column(COHORT_COLUMNS, "patient_id")
BEST_RESPONSE = contract_column(COHORT_COLUMNS, "best_response")
CYCLE = contract_column(PROCEDURE_COLUMNS, "cycle")
CR, PR, SD, PD = RESPONSES

# Names of the extra columns (cohort: the first two; procedures: the third).
BEST_PCT_CHANGE = "best_pct_change"
NEW_LESION = "new_lesion"
SESSION_MONTH = "session_month"

# RECIST 1.1 thresholds on the change in the sum of target-lesion diameters, in percent.
PR_THRESHOLD_PCT = -30.0
PD_THRESHOLD_PCT = 20.0
CR_PCT_CHANGE = -100.0

CHANGE_DECIMALS = 1
STEP = 10.0 ** -CHANGE_DECIMALS  # smallest printed step, keeps values off the open bounds
# (lowest, highest, beta a, beta b): a change is lowest + (highest - lowest) x Beta(a, b).
PR_CHANGE = (-90.0, PR_THRESHOLD_PCT, 2.6, 1.2)
SD_CHANGE = (PR_THRESHOLD_PCT + STEP, PD_THRESHOLD_PCT - STEP, 2.2, 2.0)
PD_CHANGE = (PD_THRESHOLD_PCT, 90.0, 1.2, 3.0)
NEW_LESION_CHANGE = (-25.0, PD_THRESHOLD_PCT - STEP, 2.0, 2.0)
NEW_LESION_SHARE_OF_PD = 0.3

DAYS_PER_MONTH = 365.25 / 12
CYCLE_DAYS = (21, 28)  # one cycle lasts 3 to 4 weeks, both ends included
MONTH_DECIMALS = 2


def _scaled_beta(rng: np.random.Generator, size: int, spec: tuple[float, float, float, float]) -> np.ndarray:
    """Return ``size`` draws of lowest + (highest - lowest) x Beta(a, b), rounded and kept in range."""
    lowest, highest, a, b = spec
    values = lowest + (highest - lowest) * rng.beta(a, b, size=size)
    return np.clip(np.round(values, CHANGE_DECIMALS), lowest, highest)


def response_detail_columns(cohort: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Return patient_id, best_pct_change and new_lesion, consistent with each RECIST category."""
    responses = cohort[BEST_RESPONSE].astype(str)
    unexpected = sorted(set(responses) - set(RESPONSES))
    if unexpected:
        raise ValueError(f"{BEST_RESPONSE} must be one of {RESPONSES}; found {unexpected}")
    order = np.argsort(cohort[PATIENT_ID].astype(str).to_numpy(), kind="stable")
    ordered = responses.to_numpy()[order]
    rng = np.random.default_rng(seed)
    change = np.full(len(ordered), np.nan)
    new_lesion = np.zeros(len(ordered), dtype=int)
    change[ordered == CR] = CR_PCT_CHANGE
    for category, spec in ((PR, PR_CHANGE), (SD, SD_CHANGE)):
        rows = np.flatnonzero(ordered == category)
        change[rows] = _scaled_beta(rng, len(rows), spec)
    progressed = np.flatnonzero(ordered == PD)
    by_new_lesion = rng.permutation(progressed)[: int(round(NEW_LESION_SHARE_OF_PD * len(progressed)))]
    new_lesion[by_new_lesion] = 1
    by_growth = np.setdiff1d(progressed, by_new_lesion)
    change[by_new_lesion] = _scaled_beta(rng, len(by_new_lesion), NEW_LESION_CHANGE)
    change[by_growth] = _scaled_beta(rng, len(by_growth), PD_CHANGE)
    back = np.argsort(order, kind="stable")  # from sorted position back to the input row
    return pd.DataFrame({PATIENT_ID: cohort[PATIENT_ID].to_numpy(),
                         BEST_PCT_CHANGE: change[back], NEW_LESION: new_lesion[back]})


def session_months(procedures: pd.DataFrame, seed: int) -> pd.Series:
    """Return each session's month after the patient's first session (3-4-week cycles), by row."""
    ordered = procedures[[PATIENT_ID, CYCLE]].astype({PATIENT_ID: str}).sort_values(
        [PATIENT_ID, CYCLE], kind="stable")
    rng = np.random.default_rng(seed)
    cycle_days = rng.integers(CYCLE_DAYS[0], CYCLE_DAYS[1] + 1, size=len(ordered))
    steps = ordered.groupby(PATIENT_ID, sort=False)[CYCLE].diff().fillna(0).to_numpy()
    days = pd.Series(steps * cycle_days, index=ordered.index).groupby(ordered[PATIENT_ID], sort=False).cumsum()
    months = (days / DAYS_PER_MONTH).round(MONTH_DECIMALS)
    return months.reindex(procedures.index).rename(SESSION_MONTH)

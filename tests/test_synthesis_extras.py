"""Tests for aice_helpers.synthetic.extras: depth of response and session months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aice_helpers.contract import RESPONSES
from aice_helpers.synthetic.extras import (
    BEST_PCT_CHANGE,
    BEST_RESPONSE,
    CYCLE,
    DAYS_PER_MONTH,
    NEW_LESION,
    PATIENT_ID,
    SESSION_MONTH,
    response_detail_columns,
    session_months,
)

CR, PR, SD, PD = RESPONSES
PAPER_COUNTS = {CR: 0, PR: 42, SD: 44, PD: 27}


def cohort_with(counts: dict[str, int]) -> pd.DataFrame:
    """Return a cohort of numbered patients with the given best-response counts, shuffled."""
    responses = [r for r, n in counts.items() for _ in range(n)]
    cohort = pd.DataFrame({PATIENT_ID: [f"P{i:04d}" for i in range(len(responses))], BEST_RESPONSE: responses})
    return cohort.sample(frac=1, random_state=3).reset_index(drop=True)


def procedures_for(cycles: dict[str, int]) -> pd.DataFrame:
    """Return one row per session (cycles 1..k) for each patient."""
    rows = [(p, c) for p, k in cycles.items() for c in range(1, k + 1)]
    return pd.DataFrame(rows, columns=[PATIENT_ID, CYCLE])


@pytest.fixture(scope="module")
def details() -> pd.DataFrame:
    cohort = cohort_with({CR: 3, PR: 42, SD: 44, PD: 27})
    return cohort.merge(response_detail_columns(cohort, seed=11), on=PATIENT_ID)


def test_changes_agree_with_recist_categories(details: pd.DataFrame) -> None:
    change = details.set_index(BEST_RESPONSE)[BEST_PCT_CHANGE]
    assert (change.loc[CR] == -100.0).all()
    assert change.loc[PR].between(-99.9, -30.0).all()
    assert ((change.loc[SD] > -30.0) & (change.loc[SD] < 20.0)).all()
    pd_rows = details[details[BEST_RESPONSE] == PD]
    assert ((pd_rows[BEST_PCT_CHANGE] >= 20.0) | (pd_rows[NEW_LESION] == 1)).all()
    assert (pd_rows.loc[pd_rows[NEW_LESION] == 1, BEST_PCT_CHANGE] < 20.0).all()
    assert (pd_rows.loc[pd_rows[NEW_LESION] == 0, BEST_PCT_CHANGE] >= 20.0).all()
    assert details[BEST_PCT_CHANGE].notna().all()
    assert (details[BEST_PCT_CHANGE] == details[BEST_PCT_CHANGE].round(1)).all()


def test_new_lesions_only_in_pd_and_in_the_stated_share(details: pd.DataFrame) -> None:
    assert details.loc[details[BEST_RESPONSE] != PD, NEW_LESION].eq(0).all()
    assert int(details.loc[details[BEST_RESPONSE] == PD, NEW_LESION].sum()) == 8  # round(0.3 x 27)
    assert set(details[NEW_LESION]) == {0, 1}


def test_response_details_keep_row_order_and_ids() -> None:
    cohort = cohort_with(PAPER_COUNTS)
    result = response_detail_columns(cohort, seed=5)
    assert list(result.columns) == [PATIENT_ID, BEST_PCT_CHANGE, NEW_LESION]
    assert result[PATIENT_ID].tolist() == cohort[PATIENT_ID].tolist()
    assert len(result) == 113


def test_response_details_are_deterministic_and_independent_of_row_order() -> None:
    cohort = cohort_with(PAPER_COUNTS)
    first = response_detail_columns(cohort, seed=7).set_index(PATIENT_ID).sort_index()
    again = response_detail_columns(cohort.iloc[::-1], seed=7).set_index(PATIENT_ID).sort_index()
    other = response_detail_columns(cohort, seed=8).set_index(PATIENT_ID).sort_index()
    pd.testing.assert_frame_equal(first, again)
    assert not first[BEST_PCT_CHANGE].equals(other[BEST_PCT_CHANGE])


def test_response_details_reject_unknown_category() -> None:
    with pytest.raises(ValueError, match="NE"):
        response_detail_columns(pd.DataFrame({PATIENT_ID: ["a"], BEST_RESPONSE: ["NE"]}), seed=1)


def test_session_months_start_at_zero_and_step_three_to_four_weeks() -> None:
    procedures = procedures_for({"a": 4, "b": 1, "c": 6})
    months = session_months(procedures, seed=2)
    assert months.name == SESSION_MONTH
    assert months.index.equals(procedures.index)
    frame = procedures.assign(month=months)
    assert (frame.loc[frame[CYCLE] == 1, "month"] == 0).all()
    gaps_days = frame.groupby(PATIENT_ID)["month"].diff().dropna() * DAYS_PER_MONTH
    assert gaps_days.between(21 - 0.5, 28 + 0.5).all()  # months are rounded to 0.01 (0.3 day)
    assert (frame.groupby(PATIENT_ID)["month"].diff().dropna() > 0).all()
    assert frame.loc[frame[PATIENT_ID] == "c", "month"].max() <= 5 * 28 / DAYS_PER_MONTH + 0.01


def test_session_months_are_deterministic_and_follow_the_rows() -> None:
    procedures = procedures_for({"a": 3, "b": 2})
    shuffled = procedures.sample(frac=1, random_state=1)
    first = session_months(procedures, seed=4)
    assert first.equals(session_months(procedures, seed=4))
    assert session_months(shuffled, seed=4).sort_index().equals(first)
    assert not first.equals(session_months(procedures, seed=5))


def test_session_months_skip_missing_cycles_proportionally() -> None:
    procedures = pd.DataFrame({PATIENT_ID: ["a", "a"], CYCLE: [1, 3]})
    gap_days = session_months(procedures, seed=9).iloc[1] * DAYS_PER_MONTH
    assert 2 * 21 - 0.5 <= gap_days <= 2 * 28 + 0.5


def test_session_months_handle_many_rows_quickly() -> None:
    rng = np.random.default_rng(0)
    procedures = procedures_for({f"p{i}": int(k) for i, k in enumerate(rng.integers(1, 7, size=50_000))})
    months = session_months(procedures, seed=1)
    assert len(months) == len(procedures)
    assert months.notna().all()

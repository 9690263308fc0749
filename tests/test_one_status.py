"""One truth per number: every status a chapter table shows for a published id is the scorecard's status.

The chapters' count tables (Tables 1, 2 and 5, therapy after AICE, RECIST counts) and the scorecard
judge the same published numbers; both go through the rules of ``aice_helpers.paper.compare``. This
test computes every status those tables show, id by id (the count and its percentage), on the
book's cohort and on a second synthetic cohort, and fails on any that differs from the scorecard's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from aice_helpers.contract import DATA_DIR
from aice_helpers.data import load_dataset
from aice_helpers.pages import response, safety, tables
from aice_helpers.paper import compare, scorecard
from aice_helpers.paper.audit import audit_findings, contradicted_ids
from aice_helpers.published import load_published


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return load_published()


def chapter_statuses(dataset, published: pd.DataFrame) -> dict[str, str]:
    """Return {id: status} for every count and percentage the chapters' count tables show."""
    contradicted = contradicted_ids(audit_findings(published))
    cohort = dataset.cohort
    shown = [
        tables.table1_with_published(cohort, published, contradicted),
        tables.histology_with_published(cohort, published, contradicted),
        tables.therapy_after_aice_with_published(cohort, published, contradicted),
        response.response_counts_with_published(cohort, published, contradicted),
        safety.table5_with_published(dataset.adverse_events, len(cohort), published, contradicted),
    ]
    statuses: dict[str, str] = {}
    for table in shown:
        ids = table.attrs[tables.IDS_ATTR]
        rows = table.reset_index(drop=True).iloc[: len(ids)]
        for entry_id, (_, row) in zip(ids, rows.iterrows()):
            if entry_id not in published.index:
                continue
            statuses[entry_id] = row["status"]
            if f"{entry_id}.pct" in published.index:
                statuses[f"{entry_id}.pct"] = row[tables.PERCENT_STATUS]
    return statuses


def test_chapter_tables_and_scorecard_agree_on_every_id(published: pd.DataFrame) -> None:
    """Each id a chapter count table judges has the scorecard's status (Liposarcoma, MFH, liver, grade D...)."""
    dataset = load_dataset(DATA_DIR)
    card = scorecard.scorecard_table(dataset, published).set_index("id")["status"]
    shown = chapter_statuses(dataset, published)
    assert len(shown) > 80, "the chapters' count tables judge fewer ids than expected"
    disagree = {i: (s, card[i]) for i, s in shown.items() if card[i] != s}
    assert not disagree, f"chapter status vs scorecard status: {disagree}"


def test_a_sum_that_cannot_hold_contradicts_no_single_count(published: pd.DataFrame) -> None:
    """Table 2 sums to 114 of 113: no single subtype is shown wrong, so a matched count is exact everywhere."""
    contradicted = contradicted_ids(audit_findings(published))
    assert not any(i.startswith("table2.histology.") for i in contradicted)
    dataset = load_dataset(DATA_DIR)
    card = scorecard.scorecard_table(dataset, published).set_index("id")["status"]
    assert card["table2.histology.liposarcoma"] == compare.STATUS_EXACT


def test_verdicts_hold_one_status_per_id(published: pd.DataFrame) -> None:
    """The Verdicts object answers with the scorecard's status for any id, and 'not compared' for others."""
    dataset = load_dataset(DATA_DIR)
    card = scorecard.scorecard_table(dataset, published)
    verdicts = compare.Verdicts(published, card, contradicted_ids(audit_findings(published)))
    for entry_id, status in card.set_index("id")["status"].items():
        assert verdicts.status(entry_id) == status
    assert verdicts.status("no.such.id") == compare.STATUS_NOT_COMPARED

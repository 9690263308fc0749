"""One truth per number: every status the chapters show for a published id is the scorecard's status.

The chapters' comparison tables (Tables 1–5, medians, landmark rates, subgroup medians and P values,
ORR and DCR, follow-up, sessions, denominators, the grade summary) and the scorecard appendix all read
the one set of verdicts of ``aice_helpers.paper.compare``. This test builds every comparison table of
the book on the book's cohort, takes the status each row shows for its published id (and for the
percentage beside a count), and fails on any that differs from the scorecard's own status for that id.
"""

from __future__ import annotations

import pytest

from aice_helpers.analyses import survival as survival_analyses
from aice_helpers.contract import DATA_DIR
from aice_helpers.pages import cox_chapter, prognostic, response, safety, tables
from aice_helpers.pages.chapter import open_chapter
from aice_helpers.paper import compare, scorecard
from aice_helpers.paper.audit import audit_findings, contradicted_ids


@pytest.fixture(scope="module")
def chapter():
    """Return the book's own data as a chapter opens it (comparing with the paper)."""
    return open_chapter(DATA_DIR)


def shown_statuses(chapter) -> list[tuple[str, str, str]]:
    """Return (table, id, status) for every status a chapter's comparison table shows."""
    cohort, events, procedures = chapter.dataset.cohort, chapter.dataset.adverse_events, chapter.dataset.procedures
    verdicts = chapter.verdicts
    by_endpoint = {e: survival_analyses.subgroup_tables(cohort, e) for e in ("os", "pfs")}
    built = {
        "Table 1": tables.table1_with_published(cohort, verdicts),
        "Table 2": tables.histology_with_published(cohort, verdicts),
        "therapy after AICE": tables.therapy_after_aice_with_published(cohort, verdicts),
        "median and range": tables.continuous_with_published(cohort, verdicts),
        "sessions": tables.sessions_summary(cohort, procedures, verdicts),
        "follow-up": prognostic.followup_table(cohort, verdicts),
        "medians": prognostic.survival_summary_with_published(cohort, verdicts),
        "landmarks": prognostic.landmark_table_with_published(cohort, verdicts),
        "subgroup medians": prognostic.subgroup_medians_with_published(by_endpoint, verdicts),
        "subgroup P": prognostic.subgroup_p_with_published(by_endpoint, verdicts),
        "RECIST counts": response.response_counts_with_published(cohort, verdicts),
        "ORR and DCR": response.rates_with_published(cohort, verdicts),
        "denominators": safety.denominators_with_published(len(cohort), len(procedures), verdicts),
        "Table 5": safety.table5_with_published(events, len(cohort), verdicts),
        "grade summary": safety.grade_summary_with_published(events, len(cohort), len(procedures), verdicts),
    }
    shown = []
    for name, table in built.items():
        ids = table.attrs[tables.IDS_ATTR]
        rows = table.reset_index(drop=True).iloc[: len(ids)]
        assert len(ids) == len(rows) or name == "Table 2", name  # Table 2 ends with its total row
        for entry_id, (_, row) in zip(ids, rows.iterrows()):
            if entry_id is None:
                continue
            if entry_id in verdicts:
                shown.append((name, entry_id, row["status"]))
            if tables.PERCENT_STATUS in row and f"{entry_id}.pct" in verdicts:
                shown.append((name, f"{entry_id}.pct", row[tables.PERCENT_STATUS]))
    for endpoint in ("os", "pfs"):
        comparison = cox_chapter.cox_table_with_published(cox_chapter.paper_model(cohort, endpoint), endpoint, verdicts)
        shown += [(f"Cox {endpoint}", i, s) for i, s in zip(comparison["id"], comparison["status"]) if i in verdicts]
    return shown


def test_every_status_shown_is_the_scorecards(chapter) -> None:
    """Each id any chapter table judges has the scorecard's status: one verdict per number across the book."""
    card = scorecard.scorecard_table(chapter.dataset, chapter.published).set_index("id")["status"]
    shown = shown_statuses(chapter)
    assert len({i for _, i, _ in shown}) > 240, "the chapters' tables judge fewer ids than expected"
    disagree = [(name, i, s, card[i]) for name, i, s in shown if card[i] != s]
    assert not disagree, f"(table, id, shown, scorecard): {disagree}"


def test_the_chapter_scorecards_show_the_same_statuses(chapter) -> None:
    """A chapter's scorecard footer shows the appendix's status for each of its ids."""
    card = scorecard.scorecard_table(chapter.dataset, chapter.published).set_index("id")["status"]
    rows = scorecard.chapter_scorecard(chapter.verdicts, ("table", "results.", "abstract.", "safety."))
    assert len(rows) > 300
    assert (rows.set_index("id")["status"] == card.loc[rows["id"]]).all()


def test_issue_examples_have_one_status(chapter) -> None:
    """The numbers that had two verdicts on two pages now have one (Liposarcoma, MFH, liver, grade D)."""
    verdicts = chapter.verdicts
    assert verdicts.status("table2.histology.liposarcoma") == compare.STATUS_EXACT
    shown = {(i, s) for _, i, s in shown_statuses(chapter)}
    for entry_id in ("table2.histology.liposarcoma", "table2.histology.malignant_fibrous_histiocytoma.pct",
                     "table5.liver_dysfunction.c.pct", "safety.grade_d.pct"):
        statuses = {s for i, s in shown if i == entry_id}
        assert statuses == {verdicts.status(entry_id)}, (entry_id, statuses)


def test_a_sum_that_cannot_hold_contradicts_no_single_count(chapter) -> None:
    """Table 2 sums to 114 of 113: which count is off cannot be told, so no single subtype is 'contradicted'."""
    contradicted = contradicted_ids(audit_findings(chapter.published))
    assert not any(i.startswith("table2.histology.") for i in contradicted)


def test_bounds_stay_bounds(chapter) -> None:
    """A P printed as '<0.001' is shown with its '<' everywhere, and is exact only below the bound."""
    card = scorecard.display_table(chapter.verdicts.rows(["table3.distant_metastasis.p"]), chapter.published)
    assert card["published"].iloc[0] == "<0.001"
    entry = compare.published_entries(chapter.published.loc[["table3.distant_metastasis.p"]])[
        "table3.distant_metastasis.p"]
    from aice_helpers.paper.reproduce import Reproduced

    assert compare.entry_status(entry, Reproduced(0.0004)) == compare.STATUS_EXACT
    assert compare.entry_status(entry, Reproduced(0.0012)) != compare.STATUS_EXACT


def test_a_rerun_chapter_never_loads_the_paper(tmp_path) -> None:
    """On another cohort a chapter's modules and comparisons run without importing aice_helpers.paper."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from aice_helpers.pages import chapter, cox_chapter, plots, prognostic, response, safety, tables, teaching\n"
            f"c = chapter.open_chapter({str(DATA_DIR)!r}, compare_with_published=False)\n"
            "assert c.verdicts is None and c.published is None\n"
            "tables.table1_with_published(c.dataset.cohort, c.verdicts)\n"
            "tables.sessions_summary(c.dataset.cohort, c.dataset.procedures, c.verdicts)\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('aice_helpers.paper'))\n"
            "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

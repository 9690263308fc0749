"""The first page: the paper's main results with their one status, and the audit's contradictions linked to the
sections of the audit chapter that hold their evidence."""

from __future__ import annotations

import json

import pandas as pd

from aice_helpers.contract import REPO_DIR
from aice_helpers.pages import findings
from aice_helpers.paper import audit
from aice_helpers.paper.scorecard import verdicts_of


def test_main_results_statuses_are_the_verdicts(dataset, published: pd.DataFrame) -> None:
    """Every row's status is the one comparison's; the printed numbers are the paper's."""
    verdicts = verdicts_of(dataset)
    table = findings.main_results_table(verdicts)
    ids = [entry_id for _, entry_id in findings.main_result_ids(published)]
    assert table["status"].tolist() == [verdicts.status(entry_id) for entry_id in ids]
    assert "results.survival.os.median" in ids and "table4.nlr.hr" in ids and "results.response.orr" in ids
    assert table.loc["Median OS, months (95% CI)", "published"] == "19.0 (12.8–25.3)"
    assert table.loc["3-year OS (%)", "status"] == verdicts.CONTRADICTED  # 41.7% outside its own interval
    assert len(table) == len(ids) == 4 + 2 + 2 + 7 + 8


def test_headlines_are_the_contradictions_with_working_anchors(published: pd.DataFrame) -> None:
    """One sentence per contradiction, no leading id, each linked to a section heading of chapter 07."""
    found = audit.audit_findings(published)
    titles = {check.name: check.title for check in audit.CHECKS}
    problems = findings.headline_problems(found, titles, published)
    assert len(problems) == sum(item.severity == audit.CONTRADICTION for item in found)
    assert "tolerability_claim" in set(problems["check"]) and "significance_claims" in set(problems["check"])
    notebook = json.loads((REPO_DIR / "notebooks" / "07_checking_the_paper.ipynb").read_text(encoding="utf-8"))
    headings = {"".join(cell["source"]).splitlines()[0][3:] for cell in notebook["cells"]
                if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## ")}
    assert set(problems["title"]) <= headings
    assert findings.section_anchor("Percentages against their counts") == "percentages-against-their-counts"
    safety = problems[problems["check"] == "tolerability_claim"]["sentence"].iloc[0]
    assert safety.startswith("Abstract, no severe or fatal reactions: no patient with a grade C, D, E or F event")
    assert "5 grade C and 2 grade D" in safety and "table5." not in safety
    page = findings.headline_problems_html(problems)
    assert page.count("<li>") == len(problems)
    assert 'href="07_checking_the_paper.html#a-claim-of-no-severe-events-against-the-grade-table"' in page


def test_plain_message_keeps_numbers() -> None:
    """Only parentheses of ids go; parentheses of numbers stay."""
    text = findings.plain_message("table3.x.beta: exp(1.513) = 4.540 (also printed as a.b.c, d.e)",
                                  {"table3.x.beta": "Table 3, a row"})
    assert text == "Table 3, a row: exp(1.513) = 4.540."

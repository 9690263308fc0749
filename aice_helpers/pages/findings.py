"""The book's first page: the paper's main results beside the synthetic cohort's, and the audit's headline problems.

Every number comes from the published entries and the book's one comparison (``chapter.verdicts``); the
audit's findings are passed in by the page (this module does not import ``paper/``), each shown as one
sentence with a link to the section of the audit chapter that holds its evidence.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from docutils.nodes import make_id

from aice_helpers.analyses.models import PAPER_LABELS
from aice_helpers.contract import MISSING_MARK
from aice_helpers.study import COX_TABLES, ENDPOINTS, LANDMARK_YEARS

__all__ = [
    "AUDIT_PAGE",
    "CONTRADICTION",
    "RESPONSE_RATES",
    "main_result_ids",
    "estimate_text",
    "main_results_table",
    "status_counts",
    "status_counts_text",
    "section_anchor",
    "plain_message",
    "headline_problems",
    "headline_problems_html",
]

AUDIT_PAGE = "07_checking_the_paper.html"  # the audit chapter, beside this page in the HTML output
CONTRADICTION = "contradiction"  # paper.audit.CONTRADICTION (this page module does not import paper/)
RESPONSE_RATES = {"orr": "Objective response rate (%)", "dcr": "Disease control rate (%)"}
_ID = r"[a-z][a-z0-9_]*(?:\.[a-z0-9_{},]+)+"
_ID_ONLY = re.compile(rf"\s*\((?:also printed as )?{_ID}(?:(?:,\s*|;\s*| and ){_ID})*(?: and \d+ more)?\)")
_LEADING_ID = re.compile(rf"^({_ID}):\s*")


def main_result_ids(published: pd.DataFrame) -> list[tuple[str, str]]:
    """Return (label, published id) of the paper's main results: medians, landmark rates, ORR and DCR, and every
    hazard ratio of the two Cox tables, in that order (ids the paper does not print left out)."""
    rows: list[tuple[str, str]] = []
    for endpoint in ("os", "pfs"):
        short = ENDPOINTS[endpoint].short
        rows.append((f"Median {short}, months (95% CI)", f"results.survival.{endpoint}.median"))
        for year in LANDMARK_YEARS[endpoint]:
            rows.append((f"{year}-year {short} (%)", f"results.survival.{endpoint}.year{year}.rate"))
    rows += [(label, f"results.response.{key}") for key, label in RESPONSE_RATES.items()]
    for table, (endpoint, factors) in COX_TABLES.items():
        short = ENDPOINTS[endpoint].short
        rows += [(f"{short}: HR, {PAPER_LABELS[factor]} (95% CI)", f"{table}.{factor}.hr") for factor in factors]
    return [(label, entry_id) for label, entry_id in rows if entry_id in published.index]


def estimate_text(value: Any, lower: Any = None, upper: Any = None, decimals: int = 1) -> str:
    """Return '19.0 (12.8–25.3)', or the estimate alone, or a dash when there is none."""
    if value is None or pd.isna(value):
        return MISSING_MARK
    text = f"{float(value):.{decimals}f}"
    if lower is not None and upper is not None and not pd.isna(lower) and not pd.isna(upper):
        text += f" ({float(lower):.{decimals}f}–{float(upper):.{decimals}f})"
    return text


def main_results_table(verdicts: Any) -> pd.DataFrame:
    """Return the paper's main results beside the synthetic cohort's, each with its one status from the verdicts."""
    published = verdicts.published
    rows = []
    for label, entry_id in main_result_ids(published):
        record = verdicts.rows([entry_id]).iloc[0]
        decimals = published.at[entry_id, "decimals"] if "decimals" in published else 1
        decimals = 1 if pd.isna(decimals) else int(decimals)
        rows.append({"result": label,
                     "published": estimate_text(record["published"], record["published_lower"],
                                            record["published_upper"], decimals),
                     "synthetic cohort": estimate_text(record["reproduced"], record["reproduced_lower"],
                                                       record["reproduced_upper"], max(decimals, 1)),
                     "status": verdicts.status(entry_id)})
    return pd.DataFrame(rows, columns=["result", "published", "synthetic cohort", "status"]).set_index("result")


def status_counts(verdicts: Any) -> Counter:
    """Return how many published numbers have each status."""
    return Counter(str(status) for status in verdicts.table["status"])


def status_counts_text(verdicts: Any) -> str:
    """Return one sentence on how many of the paper's numbers the synthetic cohort gives, by status."""
    counts = status_counts(verdicts)
    total = sum(counts.values())
    parts = [f"{counts[status]} {status}" for status in verdicts.STATUSES if counts[status]]
    return f"Of the {total} numbers the paper prints, " + ", ".join(parts) + "."


def section_anchor(title: str) -> str:
    """Return the HTML anchor Sphinx gives a section of this title (docutils' make_id)."""
    return make_id(title)


def plain_message(message: str, places: Mapping[str, str] | None = None) -> str:
    """Return a finding's message with its leading id told as where the number stands (``places``: id → words)
    and without the parentheses that only list ids."""
    places = places or {}
    lead = _LEADING_ID.match(message)
    text = message
    if lead:
        text = message[lead.end():]
        if places.get(lead[1]):
            text = f"{places[lead[1]]}: {text}"
    text = _ID_ONLY.sub("", text)
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def headline_problems(findings: Sequence[Any], titles: Mapping[str, str],
                      published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the audit's contradictions, one row each (check, its section title and anchor, one sentence)."""
    places: dict[str, str] = {}
    if published is not None and "quote_context" in published:
        places = {str(entry_id): str(text) for entry_id, text in published["quote_context"].items()
                  if isinstance(text, str) and text}
    rows = [{"check": item.check, "title": titles[item.check], "anchor": section_anchor(titles[item.check]),
             "sentence": plain_message(item.message, places)}
            for item in findings if item.severity == CONTRADICTION]
    return pd.DataFrame(rows, columns=["check", "title", "anchor", "sentence"])


def headline_problems_html(problems: pd.DataFrame, page: str = AUDIT_PAGE) -> str:
    """Return the headline problems as an HTML list, each sentence followed by a link to its evidence."""
    items = [f'<li>{html.escape(row.sentence)} <a href="{html.escape(page)}#{html.escape(row.anchor)}">'
             f"Evidence: {html.escape(row.title)}</a></li>" for row in problems.itertuples()]
    return "<ol class=\"aice-headlines\">\n" + "\n".join(items) + "\n</ol>"

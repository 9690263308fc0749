"""The reading mode: what a page shows of a table (no Python reprs, P as journals print them, readable labels)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from aice_helpers.pages import tables, teaching
from aice_helpers.paper import compare, scorecard
from aice_helpers.published import load_published


def test_reader_table_shows_words_not_python() -> None:
    """Booleans become yes/no, lists and mappings plain text, a library's raw warning plain words."""
    table = pd.DataFrame({"agrees": [True, False], "levels": [["a", "b"], []], "fit": [
        "ConvergenceWarning: Maximum Likelihood optimization failed to converge. Check mle_retvals", "fine"]})
    shown = tables.reader_table(table)
    assert shown["agrees"].tolist() == ["yes", "no"]
    assert shown["levels"].tolist() == ["a, b", ""]
    assert shown["fit"].tolist() == ["the fit did not converge", "fine"]
    assert tables.readable_cell({"n": 3, "ok": np.bool_(True)}) == "n: 3; ok: yes"
    assert tables.readable_cell(2.5) == 2.5


def test_reader_html_has_one_header_row() -> None:
    """The row index's names go into the header's corner cells: one header row, the names kept."""
    table = pd.DataFrame({"characteristic": ["age", "age"], "level": ["≤35", ">35"], "n": [37, 76]}
                         ).set_index(["characteristic", "level"])
    html = tables.reader_html(table)
    head = html[html.index("<thead>"):html.index("</thead>")]
    assert head.count("<tr") == 1
    assert "<th>characteristic</th>" in head and "<th>level</th>" in head and "&gt;35" in html


def test_folded_table_escapes_its_summary() -> None:
    """The summary line is escaped and the table sits inside a closed <details>."""
    html = tables.Folded("a < b", pd.DataFrame({"x": [1]}))._repr_html_()
    assert html.startswith('<details class="aice-folded"><summary>a &lt; b</summary>')


def test_teaching_p_columns_as_journals_print_them() -> None:
    """P columns get three decimals and '<0.001', never '0.0000'."""
    table = pd.DataFrame({"log-rank P": [0.00001, 0.04321, math.nan], "Holm P": [1e-5, 0.5, 0.2]})
    shown = teaching.for_display(table, digits=4, missing="–")
    assert shown["log-rank P"].tolist() == ["<0.001", "0.043", "–"]
    assert shown["Holm P"].tolist() == ["<0.001", "0.500", "0.200"]


def test_a_claim_in_words_is_never_exact() -> None:
    """'twofold' (a ratio printed as a word, decimals 0) is within tolerance when the HR rounds to 2, never exact."""
    entry = {"id": "x.fold", "value": 2, "unit": "ratio", "decimals": 0, "approximate": True}
    assert compare.tolerance_kind(entry) == "approximate_ratio"
    assert compare.component_status(2, 2.0, 0, "approximate_ratio") == compare.STATUS_WITHIN
    assert compare.component_status(2, 1.92, 0, "approximate_ratio") == compare.STATUS_WITHIN
    assert compare.component_status(2, 1.4, 0, "approximate_ratio") == compare.STATUS_OUTSIDE
    published = load_published()
    assert published.at["results.multivariate.os.stage.fold", "approximate"]
    assert not published.at["results.multivariate.os.distant_metastasis.fold", "approximate"]  # printed 4.4


def test_the_visit_interval_is_a_duration() -> None:
    """A plain number of months with no endpoint (the 3-month visit interval) is no median survival."""
    published = load_published()
    entry = compare.published_entries(published)["methods.follow_up.interval"]
    assert compare.tolerance_kind(entry) == "duration"
    assert compare.TOLERANCES["duration"].quantity == "duration (months)"
    median = compare.published_entries(published)["results.survival.os.median"]
    assert compare.tolerance_kind(median) == "median"


def test_scorecard_rows_named_in_words() -> None:
    """Each row is named by its table row or quote context; the id is the last column, set small as code."""
    published = load_published()
    entries = compare.published_entries(published)
    assert scorecard.readable_label(entries["table3.stage.hr"]) == "Table 3: Stage IV vs III, HR (95% CI)"
    frame = pd.DataFrame({"id": ["table3.stage.hr", "methods.follow_up.interval"], "status": ["exact", "exact"]})
    rows = scorecard.labelled_rows(frame.set_index("id"), published)
    assert rows.columns.tolist() == ["number", "status", "id"]
    assert rows["number"].iloc[1] == "Follow-up paragraph, visit spacing"
    html = scorecard.labelled_page_table(frame, published, scorecard.LABELLED_CHAPTER_WIDTHS).to_html()
    assert '<code class="aice-id">table3.stage.hr</code>' in html

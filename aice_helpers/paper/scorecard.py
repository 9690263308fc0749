"""Comparing a reproduced number with the published one: difference, tolerance and status.

The scorecard (``python -m aice_helpers scorecard``) sets every published number beside the value
reproduced from the data (aice_helpers.paper.reproduce), with a tolerance named once per kind of quantity
in TOLERANCES and one status from SCORECARD_STATUSES:

* exact — the reproduced value rounds to the printed one (every printed limit too);
* within tolerance — not exact, but within the kind's tolerance (HR: 10% on the log scale;
  P: on the same side of 0.05 as the printed P);
* outside tolerance — otherwise, or when the data give no value (e.g. a median not reached);
* contradicted by the paper — the audit finds that the paper itself makes this number impossible
  (overrides the others);
* not reproducible from data — doses, dates, literature figures, discussion claims.
"""

from __future__ import annotations

import hashlib
import html
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from aice_helpers.data import DataValidationError, load_dataset
from aice_helpers.paper.compare import (  # noqa: F401  (the vocabulary, re-exported for the pages)
    COLUMNS,
    COMPARED_STATUSES,
    HR_RELATIVE_TOLERANCE,
    INTERVAL_FIELDS,
    LOG_SCALE,
    NOT_REPRODUCIBLE_NOTE,
    NUMERIC_COLUMNS,
    P_SIDE,
    P_THRESHOLD,
    SCORECARD_STATUSES,
    STATUS_CONTRADICTED,
    STATUS_EXACT,
    STATUS_NOT_COMPARED,
    STATUS_NOT_REPRODUCIBLE,
    STATUS_OUTSIDE,
    STATUS_WITHIN,
    STATUSES,
    TOLERANCES,
    Tolerance,
    Verdicts,
    _decimals,
    _is_number,
    _missing,
    _missing_scalar,
    comparison_status,
    component_status,
    contradicted_by_audit,
    entry_status,
    published_entries,
    rounds_to,
    scorecard_frame,
    scorecard_row,
    tolerance_kind,
    worst_status,
)
from aice_helpers.paper.reproduce import reproduced_values
from aice_helpers.published import PublishedDataError, load_published
from aice_helpers.stats.survival import format_p_value

__all__ = [
    "verdicts_of",
    "COLUMNS",
    "COMPARED_STATUSES",
    "NOT_REPRODUCIBLE_NOTE",
    "NUMERIC_COLUMNS",
    "P_THRESHOLD",
    "SCORECARD_STATUSES",
    "STATUS_CONTRADICTED",
    "STATUS_EXACT",
    "STATUS_NOT_COMPARED",
    "STATUS_NOT_REPRODUCIBLE",
    "STATUS_OUTSIDE",
    "STATUS_WITHIN",
    "STATUSES",
    "TOLERANCES",
    "Tolerance",
    "Verdicts",
    "comparison_status",
    "contradicted_by_audit",
    "entry_status",
    "published_entries",
    "rounds_to",
    "scorecard_frame",
    "scorecard_row",
    "tolerance_kind",
    "DISPLAY_COLUMNS",
    "FORMATS",
    "MAX_TEXT_WIDTH",
    "TEXT_TABLE_FORMAT",
    "ALL_ROWS",
    "in_sections",
    "scorecard_table",
    "scorecard_summary",
    "display_table",
    "rendered_scorecard",
    "run_scorecard",
    "SECTION_ORDER",
    "SECTION_TITLES",
    "ALL_SECTIONS_LABEL",
    "CHAPTER_COLUMNS",
    "STATUS_ROW_COLUMNS",
    "TOLERANCE_REASONS",
    "section_title",
    "readable_label",
    "P_DECIMALS",
    "ordered_sections",
    "with_prefixes",
    "first_prefix",
    "chapter_scorecard",
    "status_counts_text",
    "summary_by_section",
    "scorecard_by_section",
    "rows_with_status",
    "tolerance_table",
    "WRAP_CELL_STYLE",
    "CHAPTER_TABLE_WIDTHS",
    "SCORECARD_TABLE_WIDTHS",
    "STATUS_ROWS_WIDTHS",
    "TOLERANCE_TABLE_WIDTHS",
    "page_table",
    "labelled_rows",
    "labelled_page_table",
    "LABELLED_CHAPTER_WIDTHS",
    "LABELLED_SCORECARD_WIDTHS",
    "LABELLED_STATUS_ROWS_WIDTHS",
    "MIN_TABLE_WIDTH",
    "implied_log_hr_standard_errors",
    "two_sided_p",
]

DISPLAY_COLUMNS = ("id", "quantity", "published", "reproduced", "difference", "tolerance", "status")
FORMATS = ("text", "csv", "markdown")
P_DECIMALS = 3  # P values as journals print them
MAX_TEXT_WIDTH = 40  # printed text values (titles, URLs) are cut to this width on screen
TEXT_TABLE_FORMAT = "simple"  # tabulate's plain layout; numbers stay as formatted (no re-parsing)
ALL_ROWS = "all"

def in_sections(published: pd.DataFrame, sections: Collection[str] | None) -> pd.Series:
    """Return which entries belong to the sections asked for (a section name, or an id prefix)."""
    if not sections:
        return pd.Series(True, index=published.index)
    wanted = {section.strip().lower() for section in sections}
    by_prefix = pd.Series([any(i.startswith(f"{s}.") for s in wanted) for i in published.index], index=published.index)
    return published["section"].isin(wanted) | by_prefix




def scorecard_table(dataset: Any, published: pd.DataFrame | None = None, sections: Collection[str] | None = None,
                    contradicted: Collection[str] | None = None) -> pd.DataFrame:
    """Return every published number (of ``sections``, default all) beside the reproduced one.

    Columns: id, section, table, row (the printed row, else where the number stands), quantity,
    published, published_lower, published_upper, reproduced, reproduced_lower, reproduced_upper,
    difference (reproduced − published), tolerance, status, note. ``contradicted`` defaults to
    the ids the audit finds the paper itself makes impossible.
    """

    published = load_published() if published is None else published
    contradicted = contradicted_by_audit(published) if contradicted is None else set(contradicted)
    values = reproduced_values(dataset, published)
    return scorecard_frame(published[in_sections(published, sections)], values, contradicted)


def verdicts_of(dataset: Any, published: pd.DataFrame | None = None) -> Verdicts:
    """Return the verdict on every published number for one dataset: the one reproduction a page reads."""
    published = load_published() if published is None else published
    contradicted = contradicted_by_audit(published)
    return Verdicts(published, scorecard_frame(published, reproduced_values(dataset, published), contradicted),
                    contradicted)


def scorecard_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Return how many numbers have each status, by section (in paper order) and in all."""
    sections = list(dict.fromkeys(table["section"]))
    counts = pd.crosstab(pd.Categorical(table["section"], categories=sections),
                         pd.Categorical(table["status"], categories=list(SCORECARD_STATUSES)), dropna=False)
    counts.loc[ALL_ROWS] = counts.sum()
    counts.index.name, counts.columns.name = "section", None
    counts.columns = [str(column) for column in counts.columns]
    counts["total"] = counts.sum(axis=1)
    return counts.astype(int)


# ---------------------------------------------------------------------------------------------
# Printing (python -m aice_helpers scorecard)


def _formatted_number(value: float | None, decimals: int) -> str:
    """Return a number with ``decimals`` decimals, '' when missing."""
    return "" if _missing(value) else f"{value:.{decimals}f}"


def _formatted_with_interval(value: object, lower: float | None, upper: float | None, decimals: int,
                             cut_text: bool = False) -> str:
    """Return 'value (lower–upper)' as printed with ``decimals``, or the text value as it is (cut to
    MAX_TEXT_WIDTH only when ``cut_text``, for the terminal)."""
    if not _is_number(value):
        text = "" if _missing_scalar(value) else str(value)
        return text[: MAX_TEXT_WIDTH - 1] + "…" if cut_text and len(text) > MAX_TEXT_WIDTH else text
    text = _formatted_number(float(value), decimals)
    if not _missing(lower) or not _missing(upper):
        text += f" ({_formatted_number(lower, decimals)}–{_formatted_number(upper, decimals)})"
    return text


def _bound(entry: Mapping[str, Any]) -> str:
    """Return the '<' (or '>') the paper printed before a number, so that a bound stays a bound on screen,
    and the '~' of an approximate one."""
    operator = entry.get("p_operator")
    approximate = "~" if entry.get("approximate") else ""
    return approximate + (operator if operator in ("<", ">", "≤", "≥") else "")


def _reproduced_text(entry: Mapping[str, Any], value: object, lower: float | None, upper: float | None,
                     decimals: int, cut_text: bool) -> str:
    """Return a reproduced number as shown: a P value as journals print it (3 decimals, '<0.001'), others with
    ``decimals`` and their interval."""
    if tolerance_kind(entry) == "p" and _is_number(value) and not _missing(value):
        return format_p_value(float(value), P_DECIMALS)
    return _formatted_with_interval(value, lower, upper, decimals, cut_text)


def readable_label(entry: Mapping[str, Any]) -> str:
    """Return what a published number is, in words: its table row and column, or where the text prints it."""
    if entry.get("table") and entry.get("row"):
        column = f", {entry['column']}" if entry.get("column") else ""
        return f"{entry['table']}: {entry['row']}{column}"
    context = entry.get("quote_context") or entry.get("id") or ""
    return str(context)[:1].upper() + str(context)[1:]


def display_table(table: pd.DataFrame, published: pd.DataFrame, cut_text: bool = False) -> pd.DataFrame:
    """Return the scorecard as shown on screen: intervals joined to their estimates, one extra decimal
    on reproduced values (so rounding can be judged), P values as journals print them."""
    by_id = published_entries(published)
    entries = [by_id[entry_id] for entry_id in table["id"]]
    printed = [_decimals(entry) for entry in entries]
    shown_decimals = [d if tolerance_kind(entry) == "count" else d + 1 for d, entry in zip(printed, entries)]
    shown = pd.DataFrame({
        "id": table["id"],
        "quantity": table["quantity"],
        "published": [_bound(entry) + _formatted_with_interval(v, lo, up, d, cut_text) for v, lo, up, d, entry in
                      zip(table["published"], table["published_lower"], table["published_upper"], printed, entries)],
        "reproduced": [_reproduced_text(entry, v, lo, up, d, cut_text) for v, lo, up, d, entry in
                       zip(table["reproduced"], table["reproduced_lower"], table["reproduced_upper"], shown_decimals,
                           entries)],
        "difference": ["" if tolerance_kind(entry) == "p" else _formatted_number(x, d)
                       for x, d, entry in zip(table["difference"], shown_decimals, entries)],
        "tolerance": table["tolerance"],
        "status": table["status"],
    })
    return shown[list(DISPLAY_COLUMNS)]


def rendered_scorecard(table: pd.DataFrame, published: pd.DataFrame, fmt: str) -> str:
    """Return the scorecard as text, CSV (every column, full precision) or Markdown."""
    if fmt == "csv":
        return table.to_csv(index=False)
    shown, summary = display_table(table, published, cut_text=fmt == "text"), scorecard_summary(table)
    if fmt == "markdown":
        return "\n\n".join([shown.to_markdown(index=False, disable_numparse=True),
                             summary.reset_index().to_markdown(index=False)]) + "\n"
    return "\n\n".join([shown.to_markdown(index=False, tablefmt=TEXT_TABLE_FORMAT, disable_numparse=True),
                         summary.to_markdown(tablefmt=TEXT_TABLE_FORMAT)]) + "\n"


def run_scorecard(data_dir: Path | str, fmt: str = "text", sections: Collection[str] | None = None) -> int:
    """Print the scorecard of the data in ``data_dir``; 1 (with the report on stderr) for invalid data."""

    if fmt not in FORMATS:
        print(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    try:
        dataset = load_dataset(data_dir)
        published = load_published()
    except (DataValidationError, PublishedDataError) as error:
        print(error, file=sys.stderr)
        return 1
    chosen = in_sections(published, sections)
    if not chosen.any():
        known = ", ".join(dict.fromkeys(published["section"]))
        print(f"no published numbers in section(s) {', '.join(sections or [])}; sections: {known}", file=sys.stderr)
        return 2
    table = scorecard_table(dataset, published, sections)
    sys.stdout.write(rendered_scorecard(table, published, fmt))
    return 0


# ---------------------------------------------------------------------------------------------
# For the chapters: a chapter's own rows, the scorecard by section, the tolerances explained


SECTION_ORDER = ("abstract", "introduction", "methods", "results", "table1", "table2", "table3", "table4", "table5",
                 "discussion", "second_record", "bibliography")
SECTION_TITLES = {"abstract": "Abstract", "introduction": "Introduction", "methods": "Methods",
                  "results": "Results (text)", "table1": "Table 1", "table2": "Table 2", "table3": "Table 3",
                  "table4": "Table 4", "table5": "Table 5", "discussion": "Discussion",
                  "second_record": "Second record", "bibliography": "Bibliographic data"}
ALL_SECTIONS_LABEL = "all sections"
CHAPTER_COLUMNS = ("id", "quantity", "published", "reproduced", "status")
STATUS_ROW_COLUMNS = ("id", "quantity", "published", "reproduced", "difference", "note")
TOLERANCE_REASONS: dict[str, str] = {
    "count": "A count has no rounding: the same definition applied to the same patients gives the same whole "
             "number, so any difference means a different definition, a miscount or different data.",
    "percent": "A share printed with one decimal can come out one unit off in its last digit when a number is "
               "truncated or rounded twice; a tenth of a point allows that slip and nothing larger.",
    "approximate_percent": "A figure printed as '~85%' claims no more than the nearest five points, so anything "
                           "that rounds to it to the nearest five counts as agreement.",
    "proportion": "Given the count, the estimate and its Clopper–Pearson interval follow by arithmetic alone; the "
                  "tenth of a point only allows a slip in the last printed digit.",
    "landmark": "One patient moves a rate on 113 patients by almost a point (1/113 = 0.9%), and the synthetic "
                "event times are generated, not observed: one point is about one patient either way.",
    "median": "A Kaplan–Meier median is always one of the recorded event times, and every median the paper "
              "prints is a whole or half month, so half a month is one step of the grid of times; an interval "
              "limit rests on the slope of the curve near the median, which is less stable, and gets a month.",
    "follow_up": "Read like a median survival time: half a month, one step of the grid of times, for the median; "
                 "a month for the ends of the range.",
    "descriptive": "The median and range of a measured variable (age, tumour size) follow from the values "
                   "themselves, with no model in between, so they must agree to the printed digits.",
    "hazard_ratio": "A hazard ratio comes from a Cox model fitted to generated survival times; ratios are compared "
                    "on the log scale, where 2.2 against 2.0 is as far as 0.5 against 0.5/1.1 (a factor of 1.1 "
                    "either way), and 10% there is well under half the standard error of a log hazard ratio "
                    "on about a hundred patients.",
    "approximate_ratio": "A ratio said in words ('a twofold risk') claims only its rounded size, and says nothing "
                         "of the interval or the P value behind it; agreement with a word is at best within "
                         "tolerance (the hazard ratio rounds to the word), never exact.",
    "duration": "A fixed duration of the study's design (visits every three months) is read as printed.",
    "beta": "β is the log of the hazard ratio, so ±0.1 in β is the same window as about 10% in the ratio.",
    "p": "A P value moves a great deal with small changes in the data, and what a reader takes from it is the "
         "verdict at the paper's level of 0.05; that verdict must agree, and a P that also rounds to the "
         "printed one (or lies below a printed '<' bound) is exact.",
}


def section_title(section: str) -> str:
    """Return a section as the book names it ('table1' → 'Table 1'); unknown sections as they are."""
    return SECTION_TITLES.get(section, section)


def ordered_sections(sections: Sequence[str]) -> list[str]:
    """Return the distinct sections in the paper's order (SECTION_ORDER), unknown ones after, as they come."""
    distinct = list(dict.fromkeys(sections))
    known = [section for section in SECTION_ORDER if section in distinct]
    return known + [section for section in distinct if section not in SECTION_ORDER]


def with_prefixes(ids: Sequence[str], prefixes: Sequence[str]) -> list[bool]:
    """Return, for each id, whether it starts with any of the prefixes."""
    chosen = tuple(prefixes)
    return [bool(chosen) and str(entry_id).startswith(chosen) for entry_id in ids]


def first_prefix(entry_id: str, prefixes: Sequence[str]) -> int:
    """Return the position of the first prefix the id starts with (len(prefixes) when none)."""
    return next((position for position, prefix in enumerate(prefixes) if entry_id.startswith(prefix)), len(prefixes))


def chapter_scorecard(verdicts: Verdicts, prefixes: Sequence[str]) -> pd.DataFrame:
    """Return the verdicts whose id starts with any prefix (in prefix order, then the paper's): id, quantity,
    published, reproduced, status."""
    published = verdicts.published
    chosen = published[with_prefixes(list(published.index), prefixes)]
    order = sorted(range(len(chosen)), key=lambda row: first_prefix(str(chosen.index[row]), prefixes))
    ids = list(chosen.index[order])
    if not ids:
        return pd.DataFrame(columns=list(CHAPTER_COLUMNS))
    return display_table(verdicts.rows(ids), published)[list(CHAPTER_COLUMNS)].reset_index(drop=True)


def status_counts_text(table: pd.DataFrame) -> str:
    """Return one sentence counting a scorecard's rows by status ('Of the 78 published numbers here: 70 exact, …')."""
    counts = table["status"].value_counts()
    parts = [f"{counts[status]} {status}" for status in SCORECARD_STATUSES if counts.get(status, 0)]
    if not parts:
        return "No published number falls under this part of the scorecard."
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    noun = "number" if len(table) == 1 else "numbers"
    return f"Of the {len(table)} published {noun} here: {listing}."


def summary_by_section(table: pd.DataFrame) -> pd.DataFrame:
    """Return the status counts by section in the paper's order, sections by title, with a row for all sections."""
    summary = scorecard_summary(table)
    sections = ordered_sections([section for section in summary.index if section != ALL_ROWS])
    summary = summary.loc[[*sections, ALL_ROWS]]
    summary.index = pd.Index([section_title(section) for section in sections] + [ALL_SECTIONS_LABEL], name="section")
    return summary


def scorecard_by_section(table: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Return the whole scorecard as shown (display_table), indexed by section title and id, sections in paper order."""
    shown = display_table(table, published)
    order = {section: position for position, section in enumerate(ordered_sections(list(table["section"])))}
    positions = pd.Series([order[section] for section in table["section"]], index=shown.index)
    shown = shown.assign(section=[section_title(section) for section in table["section"]], _order=positions)
    shown = shown.sort_values("_order", kind="stable").drop(columns="_order")
    return shown.set_index(["section", "id"])


def rows_with_status(table: pd.DataFrame, published: pd.DataFrame, status: str) -> pd.DataFrame:
    """Return the rows of one status as shown, with notes: id, quantity, published, reproduced, difference, note."""
    chosen = table[table["status"] == status]
    shown = display_table(chosen, published).assign(note=chosen["note"].fillna("").to_numpy())
    return shown[list(STATUS_ROW_COLUMNS)].set_index("id")


def tolerance_table(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return each kind of number with its tolerance and the reason (and how many rows use it, given a scorecard)."""
    rows = [{"kind of number": tolerance.quantity, "tolerance": tolerance.text, "why": TOLERANCE_REASONS[kind]}
            for kind, tolerance in TOLERANCES.items() if kind in TOLERANCE_REASONS]
    frame = pd.DataFrame(rows, columns=["kind of number", "tolerance", "why"])
    if table is not None:
        compared = table[table["status"] != STATUS_NOT_REPRODUCIBLE]
        counts = compared["quantity"].value_counts()
        frame["numbers compared"] = [int(counts.get(quantity, 0)) for quantity in frame["kind of number"]]
    return frame.set_index("kind of number")


WRAP_CELL_STYLE = "overflow-wrap: anywhere; text-align: left; vertical-align: top"
CHAPTER_TABLE_WIDTHS = {"id": "37%", "quantity": "18%", "published": "15%", "reproduced": "15%", "status": "15%"}
SCORECARD_TABLE_WIDTHS = {"section": "9%", "id": "26%", "quantity": "13%", "published": "12%", "reproduced": "12%",
                          "difference": "9%", "tolerance": "10%", "status": "9%"}
STATUS_ROWS_WIDTHS = {"id": "27%", "quantity": "12%", "published": "12%", "reproduced": "12%", "difference": "9%",
                      "note": "28%"}
ID_COLUMN = "id"
LABEL_COLUMN = "number"
MIN_TABLE_WIDTH = "46rem"  # narrower screens scroll the table sideways instead of squeezing its columns
LABELLED_CHAPTER_WIDTHS = {"number": "36%", "quantity": "16%", "published": "12%", "reproduced": "12%",
                           "status": "11%", "id": "13%"}
LABELLED_SCORECARD_WIDTHS = {"number": "25%", "quantity": "12%", "published": "11%", "reproduced": "11%",
                             "difference": "7%", "tolerance": "12%", "status": "9%", "id": "13%"}
LABELLED_STATUS_ROWS_WIDTHS = {"number": "22%", "quantity": "10%", "published": "10%", "reproduced": "10%",
                               "difference": "7%", "note": "28%", "id": "13%"}
TOLERANCE_TABLE_WIDTHS = {"kind of number": "16%", "tolerance": "18%", "why": "54%", "numbers compared": "12%"}


def page_table(frame: pd.DataFrame, widths: Mapping[str, str] | None = None, hide_index: bool = False) -> Any:
    """Return a pandas Styler that fits a long-text table to the page: fixed layout, column widths by name
    (index levels included unless ``hide_index``), ids and sentences wrapped anywhere, text left- and
    top-aligned, an ``id`` column set small as code, and a minimum width under which the table scrolls."""
    widths = dict(widths or {})
    index_names = [] if hide_index else [str(name) for name in frame.index.names]
    headers = index_names + [str(column) for column in frame.columns]
    styles = [{"selector": "", "props": f"table-layout: fixed; width: 100%; min-width: {MIN_TABLE_WIDTH}"},
              {"selector": "td, th", "props": WRAP_CELL_STYLE}]
    styles += [{"selector": f"thead tr:first-child th:nth-child({position})", "props": f"width: {widths[name]}"}
               for position, name in enumerate(headers, start=1) if name in widths]
    uuid = hashlib.sha1(frame.to_csv().encode("utf-8")).hexdigest()[:12]
    styler = (frame.style.set_uuid(uuid).set_table_styles(styles).set_table_attributes('class="dataframe"')
              .format(na_rep="", escape="html"))
    if ID_COLUMN in frame.columns:
        styler = styler.format(lambda value: f'<code class="aice-id">{html.escape(str(value))}</code>',
                               subset=[ID_COLUMN])
    return styler.hide(axis="index") if hide_index else styler


def labelled_rows(frame: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Return scorecard rows keyed by what each number is in words (``number``, from the published entry's table
    row or quote context), the machine id kept as the last column; other index levels are dropped."""
    shown = frame.reset_index(level=ID_COLUMN) if ID_COLUMN in frame.index.names else frame.copy()
    shown = shown.reset_index(drop=True)
    by_id = published_entries(published)
    labels = [readable_label(by_id.get(entry_id, {"id": entry_id})) for entry_id in shown[ID_COLUMN]]
    ids = shown.pop(ID_COLUMN)
    shown.insert(0, LABEL_COLUMN, labels)
    shown[ID_COLUMN] = ids.to_numpy()
    return shown


def labelled_page_table(frame: pd.DataFrame, published: pd.DataFrame, widths: Mapping[str, str]) -> Any:
    """Return :func:`labelled_rows` as a page table (see :func:`page_table`), without a row index."""
    return page_table(labelled_rows(frame, published), widths, hide_index=True)


def implied_log_hr_standard_errors(published: pd.DataFrame, tables: Sequence[str] = ("Table 3", "Table 4"),
                                   level: float = 0.95) -> pd.Series:
    """Return the standard error of log HR that each published interval of ``tables`` implies.

    A Wald interval is log HR ± z·SE, so SE = (ln upper − ln lower) / (2z) with z the normal quantile of
    the level (the paper's intervals are 95%).
    """

    rows = published[(published["unit"] == "ratio") & published["table"].isin(tables)
                     & published["lower"].notna() & published["upper"].notna()]
    z = norm.ppf(0.5 + level / 2)
    return ((np.log(rows["upper"].astype(float)) - np.log(rows["lower"].astype(float))) / (2 * z)).rename("se")


def two_sided_p(z: float) -> float:
    """Return the two-sided normal P value of a z statistic."""

    return float(2 * norm.sf(abs(z)))

"""Tables of counts and percentages, with the published numbers set beside the reproduced ones."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from aice_helpers.analyses.counts import (  # noqa: F401
    MISSING_LEVEL,
    PERCENT_DECIMALS,
    baseline_table,
    characteristic_table,
    counts_and_percents,
    histology_table,
    range_summary,
    sessions_per_patient,
    slug,
    value_counts_table,
)
from aice_helpers.contract import MISSING_MARK
from aice_helpers.study import SUBSEQUENT_LABELS, TABLE1_CHARACTERISTICS

__all__ = [
    "kernel_shell",
    "ID_COLUMN",
    "YES",
    "NO",
    "PERCENT_STATUS",
    "IDS_ATTR",
    "PERCENT_DECIMALS",
    "baseline_table",
    "characteristic_table",
    "counts_and_percents",
    "histology_table",
    "range_summary",
    "sessions_per_patient",
    "slug",
    "value_counts_table",
    "published_or_none",
    "comparison_with_published",
    "table1_ids",
    "table1_with_published",
    "histology_with_published",
    "therapy_after_aice_with_published",
    "continuous_with_published",
    "sessions_summary",
    "COMPARISON_COLUMNS",
    "for_display",
    "readable_text",
    "readable_cell",
    "reader_table",
    "reader_html",
    "install_table_display",
    "Folded",
    "contradiction_notes",
    "median_age_note",
    "histology_total_note",
    "status_summary",
    "COUNT_COLUMNS",
    "PERCENT_MARKS",
    "COUNT_ROWS_ATTR",
    "PERCENT_ROWS_ATTR",
    "SUPPRESSED_PERCENT",
    "suppressed_count",
    "is_small_count",
    "column_label",
    "is_percent_label",
    "count_partner",
    "masked_small_counts",
    "install_small_count_masking",
]

IDS_ATTR = "published_ids"  # attrs key: the published id of each row (None where none)
ID_COLUMN = "id"
YES, NO = "yes", "no"  # how a table answers a yes-or-no column










def published_or_none(published: pd.DataFrame | None, entry_id: str, field: str = "value") -> float | None:
    """Return a published number by id (None when the paper does not print it, or no paper is loaded)."""
    if published is None or entry_id not in published.index:
        return None
    value = published.at[entry_id, field]
    return None if pd.isna(value) else float(value)


def comparison_with_published(table: pd.DataFrame, ids: Sequence[str], verdicts: Any = None) -> pd.DataFrame:
    """Return a counts table with the published count and percent (ids and ids + '.pct') beside it, each
    with the status the one comparison of the book gave it (``paper.compare.Verdicts``).

    Without verdicts (a cohort other than the book's) the table comes back as it is.
    """
    result = table.copy()
    result.attrs[IDS_ATTR] = list(ids)  # the published id of each row (its percent is id + '.pct')
    if verdicts is None:
        return result
    result["published n"] = pd.array([verdicts.value(i) for i in ids], dtype="Int64")
    result["published %"] = pd.array([verdicts.value(f"{i}.pct") for i in ids], dtype="Float64")
    result["status"] = [verdicts.status(i) if i in verdicts else MISSING_MARK for i in ids]
    # The percentage is a published number of its own (id + '.pct'), so it has its own status.
    result[PERCENT_STATUS] = [verdicts.status(f"{i}.pct") if f"{i}.pct" in verdicts else MISSING_MARK for i in ids]
    return result


def table1_ids() -> list[str]:
    """Return the published-number id of every row of Table 1, in table order."""
    return [f"table1.{c.key}.{level}" for c in TABLE1_CHARACTERISTICS for level in c.level_ids]


def table1_with_published(cohort: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Return Table 1 recomputed, with the published count and percent and a status per row."""
    table = baseline_table(cohort)
    ids = [f"table1.{key}.{level_id}" for key, level_id in zip(table["key"], _level_ids(table))]
    return comparison_with_published(table, ids, verdicts).drop(columns="key")


def _level_ids(table: pd.DataFrame) -> list[str]:
    """Return the published level id of each row of a baseline table."""
    by_key = {c.key: c for c in TABLE1_CHARACTERISTICS}
    ids = []
    for key, part in table.groupby("key", sort=False):
        known = int((part["level"] != MISSING_LEVEL).sum())
        ids.extend(by_key[key].level_ids[:known])
        ids.extend(f"{by_key[key].level_ids[0]}.missing" for _ in range(len(part) - known))  # no published number
    return ids






def histology_with_published(cohort: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Return Table 2 in the paper's order with published counts beside, plus a total row.

    When the published subtype counts do not add up to the number of patients, no data can match
    them all: the total, and the subtypes listed in ``contradicted``, are marked as such.
    """
    published = None if verdicts is None else verdicts.published
    order = None
    if published is not None:
        published_rows = published[published.index.str.match(r"^table2\.histology\.[a-z_]+$")]
        order = list(published_rows["row"]) if "row" in published_rows else None
    table = histology_table(cohort, order)
    ids = [f"table2.histology.{slug(level)}" for level in table["level"]]
    compared = comparison_with_published(table, ids, verdicts)
    total = {"level": ["Total"], "n": [int(compared["n"].sum())],
             "percent": [round(float(compared["percent"].sum()), PERCENT_DECIMALS)]}
    if verdicts is not None:
        # The sum of the printed counts is no published number: it has no status, a note explains it.
        total |= {"published n": pd.array([int(compared["published n"].sum())], dtype="Int64"),
                  "published %": pd.array([None], dtype="Float64"), "status": [MISSING_MARK],
                  PERCENT_STATUS: [MISSING_MARK]}
    result = pd.concat([compared, pd.DataFrame(total)], ignore_index=True)
    result.attrs = dict(compared.attrs)  # the total row has no published id of its own
    return result


def therapy_after_aice_with_published(cohort: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Return therapy after AICE (any, each kind, none, unknown) with the paper's counts beside."""

    kinds = cohort["subsequent_therapy"].astype(str)
    treated = ~kinds.isin(["none", "unknown"])
    rows = [("any", "Any further therapy", int(treated.sum()))]
    rows += [(key, f"  {label}", int((kinds == key).sum())) for key, label in SUBSEQUENT_LABELS.items()]
    table = pd.DataFrame(rows, columns=["id", "level", "n"])
    table["percent"] = (100.0 * table["n"] / len(cohort)).round(PERCENT_DECIMALS)
    ids = [f"results.subsequent_therapy.{key}" for key in table.pop("id")]
    return comparison_with_published(table, ids, verdicts)




def continuous_with_published(cohort: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Return median (range) of age and tumour diameter, with the published ones and their one status beside."""
    specs = [("Age (years)", "age_years", "results.baseline.age_years.median"),
             ("Maximum diameter (cm)", "max_diameter_cm", "table1.max_diameter_cm.median")]
    rows = []
    for label, column, entry_id in specs:
        summary = range_summary(cohort[column])
        for statistic, field, key in (("median", "value", "median"), ("minimum", "lower", "min"),
                                      ("maximum", "upper", "max")):
            row = {"characteristic": label, "statistic": statistic, "reproduced": summary[key]}
            if verdicts is not None:
                row |= {"published": verdicts.value(entry_id, field), "status": verdicts.status(entry_id)}
            rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs[IDS_ATTR] = [entry_id for _, _, entry_id in specs for _ in range(3)]
    return table


def sessions_summary(cohort: pd.DataFrame, procedures: pd.DataFrame, verdicts: Any = None) -> pd.DataFrame:
    """Return session counts (all, embolized, per modality, one-cycle patients) beside the paper's."""
    per_patient = procedures.groupby("patient_id").size()
    modality = cohort.set_index("patient_id")["aice_modality"].astype(str)
    by_modality = procedures.join(modality, on="patient_id")
    rows = [
        ("AICE sessions in all", len(procedures), "safety.procedures"),
        ("sessions with embolization", int(procedures["embolization"].sum()), None),
        ("sessions with embolization, infusion-only patients",
         int(by_modality.loc[by_modality["aice_modality"] == "infusion", "embolization"].sum()), None),
        ("patients with one session", int((per_patient == 1).sum()), "table1.aice_cycles.1"),
        ("patients with two or more sessions", int((per_patient >= 2).sum()), "table1.aice_cycles.ge2"),
        ("most sessions for one patient", int(per_patient.max()), None),
    ]
    table = pd.DataFrame([(quantity, value) for quantity, value, _ in rows], columns=["quantity", "reproduced"])
    if verdicts is not None:
        ids = [entry_id for _, _, entry_id in rows]
        table["published"] = pd.array([verdicts.value(i) if i else None for i in ids], dtype="Int64")
        table["status"] = [verdicts.status(i) if i else MISSING_MARK for i in ids]
    table.attrs[COUNT_ROWS_ATTR] = [quantity for quantity, _, _ in rows if quantity.startswith("patients")]
    table.attrs[IDS_ATTR] = [entry_id for _, _, entry_id in rows]
    return table


PERCENT_STATUS = "status %"
COMPARISON_COLUMNS = ("published n", "published %", "published", "status", PERCENT_STATUS)




def for_display(table: pd.DataFrame, compare: bool = True) -> pd.DataFrame:
    """Return the table as a chapter shows it: labels as the index, a dash where the paper prints
    nothing, and without the paper's columns when not comparing."""
    shown = table if compare else table.drop(columns=[c for c in COMPARISON_COLUMNS if c in table.columns])
    labels = []
    for column in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[column]) or column in COMPARISON_COLUMNS:
            break
        labels.append(column)
    if labels:
        shown = shown.set_index(labels)
    shown = shown.copy()
    for column in shown.columns:
        if column.startswith("published") and shown[column].isna().any():
            shown[column] = shown[column].astype(object).where(shown[column].notna(), MISSING_MARK)
    return shown


def contradiction_notes(table: pd.DataFrame, denominator: int) -> str:
    """Return one sentence per row whose printed percentage is not its own count over the total."""
    notes = []
    for _, row in table.iterrows():
        if pd.isna(row.get("published %")) or pd.isna(row.get("published n")):
            continue
        implied = 100.0 * row["published n"] / denominator
        if abs(round(implied, PERCENT_DECIMALS) - row["published %"]) < 1e-9:
            continue
        label = f"{row['characteristic']} {row['level']}" if "characteristic" in row else str(row["level"])
        notes.append(f"- {label}: the paper prints {row['published n']:.0f} patients as {row['published %']:.1f}%, "
                     f"but {row['published n']:.0f}/{denominator} = {implied:.1f}%.")
    if not notes:
        return "Every printed percentage in this table is its own count divided by the number of patients."
    return "Printed percentages that do not follow from the printed counts:\n\n" + "\n".join(notes)


def median_age_note(cohort: pd.DataFrame, published: pd.DataFrame) -> str:
    """Return the arithmetic showing that the printed median age is impossible given the age groups."""
    median = published_or_none(published, "results.baseline.age_years.median")
    at_or_below = published_or_none(published, "table1.age_years.le35")
    total = len(cohort)
    middle = (total + 1) // 2
    observed = float(cohort["age_years"].median())
    if median is None or at_or_below is None:
        return ""
    return (f"With {at_or_below:.0f} of {total} patients aged 35 or younger, the patient in the middle "
            f"(number {middle} in order of age) is older than 35, so the median age must exceed 35; the paper "
            f"prints {median:.0f}. Our cohort follows the age groups of Table 1 and so has a median age of "
            f"{observed:.0f}.")


def histology_total_note(published: pd.DataFrame, n_patients: int) -> str:
    """Return a sentence comparing the sum of the published subtype counts with the number of patients."""
    counts = published[published.index.str.match(r"^table2\.histology\.[a-z_]+$")]["value"].astype(float)
    total = int(counts.sum())
    if total == n_patients:
        return f"The published subtype counts add up to the {n_patients} patients."
    return (f"The published subtype counts add up to {total}, not {n_patients}: at least one count is off "
            f"by {abs(total - n_patients)}, and no cohort of {n_patients} patients can match them all.")


def status_summary(tables_by_name: dict[str, pd.DataFrame], verdicts: Any) -> pd.DataFrame:
    """Return, for each named comparison table, how many published numbers it shows with each status."""
    counts = {name: pd.concat([table[column] for column in ("status", PERCENT_STATUS) if column in table])
                    .value_counts() for name, table in tables_by_name.items()}
    summary = pd.DataFrame(counts).T.reindex(columns=list(verdicts.STATUSES), fill_value=0).fillna(0).astype(int)
    summary = summary.loc[:, (summary != 0).any(axis=0)]
    summary.loc["all"] = summary.sum()
    return summary


# ----------------------------------------------------------------------------- small-cell suppression

# Columns that count patients (or events, sessions: each a handful of patients when small), by label.
COUNT_COLUMNS = frozenset({
    "n", "events", "responders", "patients", "sessions", "at risk", "events so far", "at risk n", "events d",
    "censored", "n small", "n large",
})
PERCENT_MARKS = ("%", "percent")
# DataFrame.attrs keys a helper sets on a table whose counts stand in rows rather than columns:
# the labels of the rows that count patients, and {percent row: the count row it is a share of}.
COUNT_ROWS_ATTR = "count_rows"
PERCENT_ROWS_ATTR = "percent_rows"
SUPPRESSED_PERCENT = "suppressed"


def suppressed_count(min_cell: int) -> str:
    """Return what a suppressed count shows: "<5" for ``min_cell`` 5."""
    return f"<{min_cell}"


def is_small_count(value: object, min_cell: int) -> bool:
    """Return True for a count from 1 to ``min_cell`` - 1 (a number, or text holding a whole number)."""
    count = count_value(value)
    return count is not None and 0 < count < min_cell


def column_label(column: object) -> str:
    """Return the innermost label of a (possibly multi-level) column, as text."""
    return str(column[-1] if isinstance(column, tuple) else column)


def is_percent_label(label: str) -> bool:
    """Return True for a column or row label that holds a percentage."""
    return any(mark in label for mark in PERCENT_MARKS)


def count_partner(columns: Sequence[object], position: int) -> object | None:
    """Return the count column a percent column at ``position`` is a share of: the count column of the
    same group (multi-level columns), else the nearest count column to its left."""
    column = columns[position]
    if isinstance(column, tuple):
        for other in columns:
            if isinstance(other, tuple) and other[:-1] == column[:-1] and column_label(other) in COUNT_COLUMNS:
                return other
        return None
    for other in reversed(columns[:position]):
        if column_label(other) in COUNT_COLUMNS:
            return other
    return None


def masked_small_counts(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Return the table with statistical disclosure control at threshold ``min_cell``: every count from 1 to
    ``min_cell`` - 1 shown as "<min_cell" (primary suppression, the threshold rule), complementary counts
    shown as "suppressed" so that no hidden count can be recovered by subtraction (secondary suppression),
    the percentages of hidden counts, and the rates and other numbers in the row of a small count, shown as
    "suppressed";
    unchanged when ``min_cell`` is 1 or less.

    Counts are the cells of COUNT_COLUMNS, or of the rows a helper lists in the table's
    ``attrs[COUNT_ROWS_ATTR]``; a percentage is the cell of a percent column (or of a row in
    ``attrs[PERCENT_ROWS_ATTR]``) whose count is suppressed. Secondary suppression follows the usual rule of
    statistical disclosure control handbooks (Hundepool et al., *Statistical Disclosure Control*, 2012, §4.3):
    each line of counts that adds up to a known total (a column of counts, within one characteristic of a
    multi-level index, and the counts of one row) must hide none or at least two cells, so while a line hides
    exactly one, its smallest count still shown is hidden too.
    """
    if min_cell <= 1:
        return table
    small = pd.DataFrame(False, index=table.index, columns=table.columns)
    counts = pd.DataFrame(False, index=table.index, columns=table.columns)
    columns = list(table.columns)
    for column in columns:
        if column_label(column) in COUNT_COLUMNS:
            small[column] = table[column].map(lambda value: is_small_count(value, min_cell)).astype(bool)
            counts[column] = table[column].map(count_value).notna().astype(bool)
    for label in table.attrs.get(COUNT_ROWS_ATTR, ()):
        if label in table.index:
            small.loc[label] = [is_small_count(value, min_cell) for value in table.loc[label]]
            counts.loc[label] = [count_value(value) is not None for value in table.loc[label]]
    secondary = complementary_cells(table, small, counts)
    hidden = small | secondary
    percent = pd.DataFrame(False, index=table.index, columns=table.columns)
    for position, column in enumerate(columns):
        partner = count_partner(columns, position) if is_percent_label(column_label(column)) else None
        if partner is not None:
            percent[column] = hidden[partner]
    for label, count_label in table.attrs.get(PERCENT_ROWS_ATTR, {}).items():
        if label in table.index and count_label in table.index:
            percent.loc[label] = hidden.loc[count_label].to_numpy()
    beside = pd.DataFrame(False, index=table.index, columns=table.columns)
    rows_hiding = small.to_numpy().any(axis=1)  # a rate beside a small count gives it away
    if rows_hiding.any() and not table.attrs.get(COUNT_ROWS_ATTR):
        numbers = table.apply(lambda column: column.map(lambda value: count_value(value, whole=False) is not None))
        beside = numbers.astype(bool) & ~counts & pd.DataFrame(rows_hiding[:, None].repeat(len(columns), axis=1),
                                                                index=table.index, columns=table.columns)
    if not (hidden.to_numpy().any() or percent.to_numpy().any()):
        return table
    marked = (secondary | percent | beside) & ~small
    changed = [column for column in columns if small[column].any() or marked[column].any()]
    shown = table.copy()
    for column in changed:  # only these turn to text; floats in them keep the display precision
        cells = table[column].map(displayed_float).astype(object)
        cells = cells.mask(small[column], suppressed_count(min_cell))
        shown[column] = cells.mask(marked[column], SUPPRESSED_PERCENT)
    return shown


def displayed_float(value: object) -> object:
    """Return a float as pandas would display it (``display.precision`` decimals), other values unchanged:
    a column holding text marks is no longer formatted by pandas, and must not show a value's every digit."""
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value) and not value.is_integer():
        return f"{value:.{pd.get_option('display.precision')}f}"
    return value


def count_value(value: object, whole: bool = True) -> float | None:
    """Return a cell's number (a whole number when ``whole``), or None for text, missing values and booleans."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            return None
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or pd.isna(value):
        return None
    if whole and not float(value).is_integer():
        return None
    return float(value)


def complementary_cells(table: pd.DataFrame, small: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Return the counts to hide beside the small ones so that no line of counts hides exactly one cell.

    The lines are each count column (split by the first level of a multi-level row index) and each row's count
    cells; the smallest count still shown in a line that hides exactly one cell is hidden, until none does.
    """
    values = table.apply(lambda column: column.map(lambda value: count_value(value)))
    index_groups = (list(table.index.get_level_values(0)) if isinstance(table.index, pd.MultiIndex)
                    else [None] * len(table.index))
    lines: list[list[tuple[int, int]]] = []
    for j in range(len(table.columns)):
        by_group: dict[object, list[tuple[int, int]]] = {}
        for i, group in enumerate(index_groups):
            if counts.iat[i, j]:
                by_group.setdefault(group, []).append((i, j))
        lines += [cells for cells in by_group.values() if len(cells) > 1]
    for i in range(len(table.index)):
        cells = [(i, j) for j in range(len(table.columns)) if counts.iat[i, j]]
        if len(cells) > 1:
            lines.append(cells)
    hidden = small.to_numpy().copy()
    secondary = np.zeros_like(hidden)
    changed = True
    while changed:
        changed = False
        for cells in lines:
            if sum(hidden[cell] for cell in cells) != 1:
                continue
            shown_cells = [cell for cell in cells if not hidden[cell]]
            if not shown_cells:
                continue
            positive = [cell for cell in shown_cells if values.iat[cell] > 0] or shown_cells
            chosen = min(positive, key=lambda cell: values.iat[cell])
            hidden[chosen] = secondary[chosen] = True
            changed = True
    return pd.DataFrame(secondary, index=table.index, columns=table.columns)


COUNT_PHRASE = re.compile(r"(?<![\w.<])(\d+)(\s+(?:of\s+(?:the\s+)?[\d,]+\s+)?(?:[\w-]+\s+){0,2}"
                          r"(?:patients?|events?|deaths?|responders?|sessions?|people|persons?|cases?|tumou?rs?)\b)")


def masked_count_phrases(text: str, min_cell: int) -> str:
    """Return note text with each count of people or events from 1 to ``min_cell`` - 1 ("2 patients",
    "3 of 12 patients", "1 grade C event") written "<min_cell" (the threshold rule, for prose)."""
    if min_cell <= 1:
        return text

    def masked(match: re.Match) -> str:
        count = int(match.group(1))
        return f"{suppressed_count(min_cell)}{match.group(2)}" if 0 < count < min_cell else match.group(0)

    return COUNT_PHRASE.sub(masked, text)


def kernel_shell() -> object | None:
    """Return the running IPython shell, or None outside a notebook kernel."""
    try:
        from IPython import get_ipython  # reason: only inside a notebook kernel
    except ImportError:
        return None
    return get_ipython()


def install_small_count_masking(min_cell: int) -> bool:
    """Make every table an IPython kernel displays go through :func:`masked_small_counts`.

    Returns False (and changes nothing) outside IPython or when ``min_cell`` is 1 or less.
    """
    if min_cell <= 1:
        return False
    shell = kernel_shell()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, lambda table: masked_small_counts(table, min_cell)._repr_html_())
    formatters["text/plain"].for_type(
        pd.DataFrame, lambda table, printer, cycle: printer.text(repr(masked_small_counts(table, min_cell))))
    return True


RAW_WARNINGS = (
    (re.compile(r"ConvergenceWarning: Maximum Likelihood optimization failed to converge\. Check mle_retvals\.?"),
     "the fit did not converge"),
    (re.compile(r"\b[A-Z]\w*(?:Warning|Error): "), ""),
)


def readable_text(text: str) -> str:
    """Return a cell or note text without a library's raw warning wording ('ConvergenceWarning: … Check mle_retvals')."""
    for pattern, replacement in RAW_WARNINGS:
        text = pattern.sub(replacement, text)
    return text


def readable_cell(value: object) -> object:
    """Return a cell as a reader should see it: yes/no for booleans, lists and mappings as plain text, warnings in
    words; numbers and other values unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return YES if value else NO
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable_cell(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(readable_cell(item)) for item in value)
    if isinstance(value, str):
        return readable_text(value)
    return value


def reader_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return a table as a page shows it: :func:`readable_cell` on every text or yes/no column."""
    shown = table.copy()
    for column in shown.columns:
        if shown[column].dtype == object or pd.api.types.is_bool_dtype(shown[column]):
            shown[column] = shown[column].map(readable_cell).astype(object)
    return shown


CORNER_CELL = "<th></th>"


def reader_html(table: pd.DataFrame) -> str:
    """Return :func:`reader_table` as HTML with the row index's names in the header's corner cells, so that no
    second header row (empty but for those names) is drawn."""
    shown = reader_table(table)
    names = [None if name is None else str(name) for name in shown.index.names]
    if isinstance(shown.columns, pd.MultiIndex) or shown.columns.name is not None or not any(names):
        return shown._repr_html_()
    shown.index = shown.index.set_names([None] * len(names))
    text = shown._repr_html_()
    start = text.find("<thead>")
    if start < 0:
        return text
    head_end = text.find("</tr>", start)
    head = text[start:head_end]
    for name in names:
        head = head.replace(CORNER_CELL, f"<th>{html.escape(name or '')}</th>", 1)
    return text[:start] + head + text[head_end:]


def install_table_display(min_cell: int = 0) -> bool:
    """Make every table an IPython kernel displays go through :func:`reader_table` (and, when ``min_cell`` > 1,
    :func:`masked_small_counts` first). Returns False outside IPython."""
    shell = kernel_shell()
    if shell is None:
        return False

    def shown(table: pd.DataFrame) -> pd.DataFrame:
        return masked_small_counts(table, min_cell) if min_cell > 1 else table

    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, lambda table: reader_html(shown(table)))
    formatters["text/plain"].for_type(
        pd.DataFrame, lambda table, printer, cycle: printer.text(repr(reader_table(shown(table)))))
    return True


class Folded:
    """A table folded under a one-line summary (an HTML ``<details>``): the summary shows, the table on a click."""

    def __init__(self, summary: str, table: Any, open_: bool = False) -> None:
        self.summary, self.table, self.open = summary, table, open_

    def _repr_html_(self) -> str:
        """The summary (escaped) and the table's own HTML inside ``<details>``."""
        inner = self.table._repr_html_() if hasattr(self.table, "_repr_html_") else html.escape(str(self.table))
        if isinstance(self.table, pd.DataFrame):
            inner = reader_html(self.table)
        opened = " open" if self.open else ""
        return (f'<details class="aice-folded"{opened}><summary>{html.escape(self.summary)}</summary>'
                f'<div class="aice-folded-body">{inner}</div></details>')

    def _repr_markdown_(self) -> None:
        """No Markdown form: the HTML one is shown."""
        return None

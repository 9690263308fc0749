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
import math
import numbers
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

STATUS_EXACT = "exact"
STATUS_WITHIN = "within tolerance"
STATUS_OUTSIDE = "outside tolerance"
STATUS_CONTRADICTED = "contradicted by the paper"
STATUS_NOT_COMPARED = "not compared"
STATUS_NOT_REPRODUCIBLE = "not reproducible from data"
STATUSES = (STATUS_EXACT, STATUS_WITHIN, STATUS_OUTSIDE, STATUS_CONTRADICTED, STATUS_NOT_COMPARED,
            STATUS_NOT_REPRODUCIBLE)
SCORECARD_STATUSES = (STATUS_EXACT, STATUS_WITHIN, STATUS_OUTSIDE, STATUS_CONTRADICTED, STATUS_NOT_REPRODUCIBLE)
COMPARED_STATUSES = (STATUS_EXACT, STATUS_WITHIN, STATUS_OUTSIDE)  # from best to worst


def rounds_to(published: float, reproduced: float, decimals: int) -> bool:
    """Return True when the reproduced value, rounded as the paper prints, equals the published one."""
    half_unit = 0.5 * 10.0 ** (-decimals)
    return abs(reproduced - published) <= half_unit + 1e-9


def comparison_status(published: float | None, reproduced: float | None, decimals: int = 0,
                      tolerance: float = 0.0, contradicted: bool = False) -> str:
    """Return the status of one comparison: exact to the printed digits, within tolerance, or outside."""
    if contradicted:
        return STATUS_CONTRADICTED
    if _missing(published) or _missing(reproduced):
        return STATUS_NOT_COMPARED
    published, reproduced = float(published), float(reproduced)
    if rounds_to(published, reproduced, decimals):
        return STATUS_EXACT
    if abs(reproduced - published) <= tolerance + 1e-9:
        return STATUS_WITHIN
    return STATUS_OUTSIDE


def _missing(value: object) -> bool:
    """Return True for None, NaN and pandas' NA."""
    return value is None or bool(pd.isna(value))


# ---------------------------------------------------------------------------------------------
# The scorecard: every published number beside the reproduced one


P_THRESHOLD = 0.05
APPROXIMATE_PERCENT_TOLERANCE = 2.5  # "~85%" read as rounded to the nearest 5 (as safety.py reads it)
HR_RELATIVE_TOLERANCE = 0.10  # 10% on the log scale: |log HR − log HR'| ≤ log 1.1
ABSOLUTE, LOG_SCALE, P_SIDE = "absolute", "log scale", "side of 0.05"
COUNT_UNITS = ("patients", "procedures")
INTERVAL_FIELDS = ("lower", "upper")
NUMERIC_COLUMNS = ("published_lower", "published_upper", "reproduced", "reproduced_lower", "reproduced_upper",
                   "difference")
COLUMNS = ("id", "section", "table", "row", "quantity", "published", "published_lower", "published_upper",
           "reproduced", "reproduced_lower", "reproduced_upper", "difference", "tolerance", "status", "note")
DISPLAY_COLUMNS = ("id", "quantity", "published", "reproduced", "difference", "tolerance", "status")
FORMATS = ("text", "csv", "markdown")
MAX_TEXT_WIDTH = 40  # printed text values (titles, URLs) are cut to this width on screen
TEXT_TABLE_FORMAT = "simple"  # tabulate's plain layout; numbers stay as formatted (no re-parsing)
ALL_ROWS = "all"
NOT_REPRODUCIBLE_NOTE = "the data hold nothing this number can be computed from"


@dataclass(frozen=True)
class Tolerance:
    """How far a reproduced number may lie from the printed one, for one kind of quantity."""

    quantity: str  # what kind of number it is, as shown in the scorecard
    estimate: float  # for the estimate
    limits: float  # for interval limits or range ends
    scale: str  # ABSOLUTE, LOG_SCALE (estimate and limits are log-ratios) or P_SIDE
    text: str  # as shown in the tolerance column


TOLERANCES: dict[str, Tolerance] = {
    "count": Tolerance("count", 0.0, 0.0, ABSOLUTE, "exact"),
    "percent": Tolerance("percent", 0.1, 0.1, ABSOLUTE, "±0.1 pp"),
    "approximate_percent": Tolerance("approximate percent", APPROXIMATE_PERCENT_TOLERANCE,
                                     APPROXIMATE_PERCENT_TOLERANCE, ABSOLUTE, "±2.5 pp (a '~' percent, read as rounded to 5)"),
    "proportion": Tolerance("proportion (95% CI)", 0.1, 0.1, ABSOLUTE, "±0.1 pp; Clopper–Pearson limits ±0.1 pp"),
    "landmark": Tolerance("survival rate (95% CI)", 1.0, 1.0, ABSOLUTE, "±1 pp; limits ±1 pp"),
    "median": Tolerance("median survival (95% CI)", 0.5, 1.0, ABSOLUTE, "±0.5 months; limits ±1.0"),
    "follow_up": Tolerance("median follow-up (range)", 0.5, 1.0, ABSOLUTE, "±0.5 months; range ±1.0"),
    "descriptive": Tolerance("median (range)", 0.0, 0.0, ABSOLUTE, "to the printed digits"),
    "hazard_ratio": Tolerance("hazard ratio (95% CI)", math.log1p(HR_RELATIVE_TOLERANCE),
                              math.log1p(HR_RELATIVE_TOLERANCE), LOG_SCALE, "within 10% on the log scale"),
    "beta": Tolerance("β", 0.1, 0.1, ABSOLUTE, "±0.1"),
    "p": Tolerance("P", math.nan, math.nan, P_SIDE, f"same side of {P_THRESHOLD}"),
    "other": Tolerance("", math.nan, math.nan, ABSOLUTE, ""),
}


def tolerance_kind(entry: Mapping[str, Any]) -> str:
    """Return the key in TOLERANCES for a published entry (by unit, method and interval kind)."""
    unit = entry.get("unit")
    if unit in COUNT_UNITS:
        return "count"
    if unit == "percent":
        if entry.get("approximate"):
            return "approximate_percent"
        if entry.get("ci_method") == "clopper_pearson" or entry.get("method") == "proportion":
            return "proportion"
        return "landmark" if entry.get("method") == "kaplan_meier" else "percent"
    if unit == "months":
        return "follow_up" if entry.get("interval") == "range" else "median"
    by_unit = {"cm": "descriptive", "years": "descriptive", "ratio": "hazard_ratio",
               "log hazard ratio": "beta", "p-value": "p"}
    return by_unit.get(unit, "other")


def hazard_ratio_status(published: float, reproduced: float, decimals: int, tolerance: float) -> str:
    """Return exact (rounds to the printed HR), within (log-ratio ≤ tolerance) or outside."""
    if rounds_to(published, reproduced, decimals):
        return STATUS_EXACT
    if published > 0 and reproduced > 0 and abs(math.log(reproduced / published)) <= tolerance + 1e-12:
        return STATUS_WITHIN
    return STATUS_OUTSIDE


def p_value_status(published: float, reproduced: float, decimals: int, p_operator: str = "=") -> str:
    """Return exact (rounds to the printed P, or below a printed '<' bound), within (same side of
    0.05) or outside."""
    exact = reproduced < published if p_operator == "<" else rounds_to(published, reproduced, decimals)
    if exact:
        return STATUS_EXACT
    published_significant = published < P_THRESHOLD or (p_operator == "<" and published <= P_THRESHOLD)
    return STATUS_WITHIN if (reproduced < P_THRESHOLD) == published_significant else STATUS_OUTSIDE


def component_status(published: float, reproduced: float | None, decimals: int, kind: str,
                     limit: bool = False, p_operator: str = "=") -> str:
    """Return the status of one number (an estimate, or an interval limit when ``limit``)."""
    if _missing(reproduced):
        return STATUS_OUTSIDE
    tolerance = TOLERANCES[kind]
    allowed = tolerance.limits if limit else tolerance.estimate
    if tolerance.scale == P_SIDE:
        return p_value_status(float(published), float(reproduced), decimals, p_operator)
    if tolerance.scale == LOG_SCALE:
        return hazard_ratio_status(float(published), float(reproduced), decimals, allowed)
    return comparison_status(float(published), float(reproduced), decimals, tolerance=allowed)


def worst_status(statuses: Sequence[str]) -> str:
    """Return the worst of several compared statuses (exact < within tolerance < outside tolerance)."""
    return max(statuses, key=COMPARED_STATUSES.index)


def entry_status(entry: Mapping[str, Any], reproduced: Any, contradicted: bool = False) -> str:
    """Return one published number's status: contradicted, not reproducible, or the worst of its
    estimate and (when printed) interval limits against the reproduced record."""
    if contradicted:
        return STATUS_CONTRADICTED
    if reproduced is None or not _is_number(entry.get("value")):
        return STATUS_NOT_REPRODUCIBLE
    kind = tolerance_kind(entry)
    decimals = _decimals(entry)
    p_operator = entry.get("p_operator") or "="
    statuses = [component_status(entry["value"], reproduced.value, decimals, kind, p_operator=p_operator)]
    for field in INTERVAL_FIELDS:
        if not _missing(entry.get(field)):
            statuses.append(component_status(entry[field], getattr(reproduced, field), decimals, kind, limit=True))
    return worst_status(statuses)


def _is_number(value: object) -> bool:
    """Return True for a real number that is not a bool (Python or numpy)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _decimals(entry: Mapping[str, Any]) -> int:
    """Return the decimals the paper printed (0 when not recorded)."""
    decimals = entry.get("decimals")
    return 0 if _missing(decimals) else int(decimals)


def published_entries(published: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Return each published entry's fields by id, with missing ones as None."""
    return {entry_id: {name: (None if _missing_scalar(value) else value) for name, value in fields.items()}
            for entry_id, fields in published.to_dict(orient="index").items()}


def _missing_scalar(value: object) -> bool:
    """Return True for a missing scalar (lists and strings are never missing)."""
    return not isinstance(value, str) and pd.api.types.is_scalar(value) and bool(pd.isna(value))


def scorecard_row(entry: Mapping[str, Any], reproduced: Any, contradicted: bool = False) -> dict[str, Any]:
    """Return one scorecard row: where the number stands, both values, difference, tolerance, status."""
    kind = tolerance_kind(entry)
    tolerance = TOLERANCES[kind]
    value = entry.get("value")
    row = {
        "id": entry["id"], "section": entry.get("section"), "table": entry.get("table") or "",
        "row": entry.get("row") or entry.get("quote_context") or "",
        "quantity": tolerance.quantity or str(entry.get("unit") or ""),
        "published": value, "published_lower": entry.get("lower"), "published_upper": entry.get("upper"),
        "reproduced": None, "reproduced_lower": None, "reproduced_upper": None, "difference": None,
        "tolerance": "", "status": entry_status(entry, reproduced, contradicted),
        "note": NOT_REPRODUCIBLE_NOTE if reproduced is None else reproduced.note,
    }
    if reproduced is not None:
        row |= {"reproduced": reproduced.value, "reproduced_lower": reproduced.lower,
                "reproduced_upper": reproduced.upper, "tolerance": tolerance.text}
        if _is_number(value) and not _missing(reproduced.value):
            row["difference"] = reproduced.value - float(value)
    return row


def contradicted_by_audit(published: pd.DataFrame) -> set[str]:
    """Return the ids the paper itself makes impossible (aice_helpers.paper.audit); empty without that module."""
    try:
        from aice_helpers.paper.audit import audit_findings, contradicted_ids
    except ModuleNotFoundError as error:
        if error.name != "aice_helpers.paper.audit":
            raise
        return set()
    return set(contradicted_ids(audit_findings(published)))


def in_sections(published: pd.DataFrame, sections: Collection[str] | None) -> pd.Series:
    """Return which entries belong to the sections asked for (a section name, or an id prefix)."""
    if not sections:
        return pd.Series(True, index=published.index)
    wanted = {section.strip().lower() for section in sections}
    by_prefix = pd.Series([any(i.startswith(f"{s}.") for s in wanted) for i in published.index], index=published.index)
    return published["section"].isin(wanted) | by_prefix


def scorecard_frame(published: pd.DataFrame, reproduced: Mapping[str, Any],
                    contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return the scorecard of the given published entries against already reproduced values."""
    rows = [scorecard_row(entry, reproduced.get(entry_id), entry_id in contradicted)
            for entry_id, entry in published_entries(published).items()]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in NUMERIC_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def scorecard_table(dataset: Any, published: pd.DataFrame | None = None, sections: Collection[str] | None = None,
                    contradicted: Collection[str] | None = None) -> pd.DataFrame:
    """Return every published number (of ``sections``, default all) beside the reproduced one.

    Columns: id, section, table, row (the printed row, else where the number stands), quantity,
    published, published_lower, published_upper, reproduced, reproduced_lower, reproduced_upper,
    difference (reproduced − published), tolerance, status, note. ``contradicted`` defaults to
    the ids the audit finds the paper itself makes impossible.
    """
    from aice_helpers.published import load_published
    from aice_helpers.paper.reproduce import reproduced_values

    published = load_published() if published is None else published
    contradicted = contradicted_by_audit(published) if contradicted is None else set(contradicted)
    values = reproduced_values(dataset, published)
    return scorecard_frame(published[in_sections(published, sections)], values, contradicted)


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


def _formatted_with_interval(value: object, lower: float | None, upper: float | None, decimals: int) -> str:
    """Return 'value (lower–upper)' as printed with ``decimals``, or the text value as it is."""
    if not _is_number(value):
        text = "" if _missing_scalar(value) else str(value)
        return text if len(text) <= MAX_TEXT_WIDTH else text[: MAX_TEXT_WIDTH - 1] + "…"
    text = _formatted_number(float(value), decimals)
    if not _missing(lower) or not _missing(upper):
        text += f" ({_formatted_number(lower, decimals)}–{_formatted_number(upper, decimals)})"
    return text


def display_table(table: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Return the scorecard as shown on screen: intervals joined to their estimates, one extra decimal
    on reproduced values (so rounding can be judged)."""
    by_id = published_entries(published)
    entries = [by_id[entry_id] for entry_id in table["id"]]
    printed = [_decimals(entry) for entry in entries]
    shown_decimals = [d if tolerance_kind(entry) == "count" else d + 1 for d, entry in zip(printed, entries)]
    shown = pd.DataFrame({
        "id": table["id"],
        "quantity": table["quantity"],
        "published": [_formatted_with_interval(v, lo, up, d) for v, lo, up, d in
                      zip(table["published"], table["published_lower"], table["published_upper"], printed)],
        "reproduced": [_formatted_with_interval(v, lo, up, d) for v, lo, up, d in
                       zip(table["reproduced"], table["reproduced_lower"], table["reproduced_upper"], shown_decimals)],
        "difference": [_formatted_number(x, d) for x, d in zip(table["difference"], shown_decimals)],
        "tolerance": table["tolerance"],
        "status": table["status"],
    })
    return shown[list(DISPLAY_COLUMNS)]


def rendered_scorecard(table: pd.DataFrame, published: pd.DataFrame, fmt: str) -> str:
    """Return the scorecard as text, CSV (every column, full precision) or Markdown."""
    if fmt == "csv":
        return table.to_csv(index=False)
    shown, summary = display_table(table, published), scorecard_summary(table)
    if fmt == "markdown":
        return "\n\n".join([shown.to_markdown(index=False, disable_numparse=True),
                             summary.reset_index().to_markdown(index=False)]) + "\n"
    return "\n\n".join([shown.to_markdown(index=False, tablefmt=TEXT_TABLE_FORMAT, disable_numparse=True),
                         summary.to_markdown(tablefmt=TEXT_TABLE_FORMAT)]) + "\n"


def run_scorecard(data_dir: Path | str, fmt: str = "text", sections: Collection[str] | None = None) -> int:
    """Print the scorecard of the data in ``data_dir``; 1 (with the report on stderr) for invalid data."""
    from aice_helpers.data import DataValidationError, load_dataset
    from aice_helpers.published import PublishedDataError, load_published

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


def chapter_scorecard(dataset: Any, prefixes: Sequence[str], published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the scorecard rows whose id starts with any prefix (in prefix order, then the paper's): id, quantity,
    published, reproduced, status."""
    from aice_helpers.published import load_published
    from aice_helpers.paper.reproduce import reproduced_values

    published = load_published() if published is None else published
    chosen = published[with_prefixes(list(published.index), prefixes)]
    order = sorted(range(len(chosen)), key=lambda row: first_prefix(str(chosen.index[row]), prefixes))
    chosen = chosen.iloc[order]
    if chosen.empty:
        return pd.DataFrame(columns=list(CHAPTER_COLUMNS))
    table = scorecard_frame(chosen, reproduced_values(dataset, published), contradicted_by_audit(published))
    return display_table(table, published)[list(CHAPTER_COLUMNS)].reset_index(drop=True)


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
TOLERANCE_TABLE_WIDTHS = {"kind of number": "16%", "tolerance": "18%", "why": "54%", "numbers compared": "12%"}


def page_table(frame: pd.DataFrame, widths: Mapping[str, str] | None = None) -> Any:
    """Return a pandas Styler that fits a long-text table to the page: fixed layout, column widths by name
    (index levels included), ids and sentences wrapped anywhere, text left- and top-aligned."""
    widths = dict(widths or {})
    headers = [str(name) for name in frame.index.names] + [str(column) for column in frame.columns]
    styles = [{"selector": "", "props": "table-layout: fixed; width: 100%"},
              {"selector": "td, th", "props": WRAP_CELL_STYLE}]
    styles += [{"selector": f"thead tr:first-child th:nth-child({position})", "props": f"width: {widths[name]}"}
               for position, name in enumerate(headers, start=1) if name in widths]
    uuid = hashlib.sha1(frame.to_csv().encode("utf-8")).hexdigest()[:12]
    return (frame.style.set_uuid(uuid).set_table_styles(styles).set_table_attributes('class="dataframe"')
            .format(na_rep=""))


def implied_log_hr_standard_errors(published: pd.DataFrame, tables: Sequence[str] = ("Table 3", "Table 4"),
                                   level: float = 0.95) -> pd.Series:
    """Return the standard error of log HR that each published interval of ``tables`` implies.

    A Wald interval is log HR ± z·SE, so SE = (ln upper − ln lower) / (2z) with z the normal quantile of
    the level (the paper's intervals are 95%).
    """
    from scipy.stats import norm

    rows = published[(published["unit"] == "ratio") & published["table"].isin(tables)
                     & published["lower"].notna() & published["upper"].notna()]
    z = norm.ppf(0.5 + level / 2)
    return ((np.log(rows["upper"].astype(float)) - np.log(rows["lower"].astype(float))) / (2 * z)).rename("se")


def two_sided_p(z: float) -> float:
    """Return the two-sided normal P value of a z statistic."""
    from scipy.stats import norm

    return float(2 * norm.sf(abs(z)))

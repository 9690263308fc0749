"""Comparing a reproduced number with the published one: difference, tolerance and status.

The scorecard (``python -m aice_helpers scorecard``) sets every published number beside the value
reproduced from the data (aice_helpers.reproduce), with a tolerance named once per kind of quantity
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
    """Return the ids the paper itself makes impossible (aice_helpers.audit); empty without that module."""
    try:
        from aice_helpers.audit import audit_findings, contradicted_ids
    except ModuleNotFoundError as error:
        if error.name != "aice_helpers.audit":
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
    from aice_helpers.reproduce import reproduced_values

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

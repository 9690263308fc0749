"""The one place where a reproduced number meets the published one: tolerance, P rule, status.

Every status the book shows comes from here. ``entry_status`` decides one published number's status
from its entry in ``data/published/`` and the reproduced record; ``Verdicts`` holds the status of
every published number of one dataset, computed once, and the chapters' tables, their scorecards,
the appendix, the audit chapter and the command line all read it. The statuses:

* exact: the reproduced value rounds to the printed one (every printed limit too); a P below a
  printed bound such as "<0.001" is exact only when it is below that bound;
* within tolerance: not exact, but within the tolerance of its kind (TOLERANCES);
* outside tolerance: otherwise, or when the data give no value (e.g. a median not reached);
* contradicted by the paper: a contradiction the audit finds makes this number impossible (an
  inconsistency, such as a percentage one rounding step off, does not);
* not reproducible from data: doses, dates, literature figures, discussion claims.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aice_helpers.paper.audit import audit_findings, contradicted_ids
from aice_helpers.study import ALPHA

__all__ = [
    "STATUS_EXACT", "STATUS_WITHIN", "STATUS_OUTSIDE", "STATUS_CONTRADICTED", "STATUS_NOT_COMPARED",
    "STATUS_NOT_REPRODUCIBLE", "STATUSES", "SCORECARD_STATUSES", "COMPARED_STATUSES", "P_THRESHOLD",
    "TOLERANCES", "Tolerance", "COLUMNS", "NUMERIC_COLUMNS", "NOT_REPRODUCIBLE_NOTE",
    "rounds_to", "comparison_status", "tolerance_kind", "hazard_ratio_status", "p_value_status",
    "component_status", "worst_status", "entry_status", "published_entries", "scorecard_row",
    "contradicted_by_audit", "scorecard_frame", "Verdicts", "printed_decimals", "is_number",
    "HR_RELATIVE_TOLERANCE", "INTERVAL_FIELDS", "LOG_SCALE", "P_SIDE", "ABSOLUTE",
]

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


P_THRESHOLD = ALPHA  # the paper's level of significance (study.ALPHA)
APPROXIMATE_PERCENT_TOLERANCE = 2.5  # "~85%" read as rounded to the nearest 5 (as safety.py reads it)
HR_RELATIVE_TOLERANCE = 0.10  # 10% on the log scale: |log HR − log HR'| ≤ log 1.1
ABSOLUTE, LOG_SCALE, P_SIDE = "absolute", "log scale", "side of 0.05"  # as shown; the level is P_THRESHOLD
COUNT_UNITS = ("patients", "procedures")
INTERVAL_FIELDS = ("lower", "upper")
NUMERIC_COLUMNS = ("published_lower", "published_upper", "reproduced", "reproduced_lower", "reproduced_upper",
                   "difference")
COLUMNS = ("id", "section", "table", "row", "quantity", "published", "published_lower", "published_upper",
           "reproduced", "reproduced_lower", "reproduced_upper", "difference", "tolerance", "status", "note")
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
    "duration": Tolerance("duration (months)", 0.0, 0.0, ABSOLUTE, "to the printed digits"),
    "hazard_ratio": Tolerance("hazard ratio (95% CI)", math.log1p(HR_RELATIVE_TOLERANCE),
                              math.log1p(HR_RELATIVE_TOLERANCE), LOG_SCALE, "within 10% on the log scale"),
    "approximate_ratio": Tolerance("hazard ratio in words", 0.0, 0.0, LOG_SCALE,
                                   "a word ('twofold'): within if the HR rounds to it"),
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
        if entry.get("interval") == "range":
            return "follow_up"
        plain = not entry.get("endpoint") and all(_missing(entry.get(field)) for field in ("lower", "upper", "interval"))
        return "duration" if plain else "median"  # a plain duration (the visit interval) is no survival median
    if unit == "ratio" and entry.get("approximate"):
        return "approximate_ratio"
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
    if kind == "approximate_ratio":  # a claim in words ('twofold') is at best within tolerance, never exact
        exact = hazard_ratio_status(float(published), float(reproduced), decimals, allowed) == STATUS_EXACT
        return STATUS_WITHIN if exact else STATUS_OUTSIDE
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





def scorecard_frame(published: pd.DataFrame, reproduced: Mapping[str, Any],
                    contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return the scorecard of the given published entries against already reproduced values."""
    rows = [scorecard_row(entry, reproduced.get(entry_id), entry_id in contradicted)
            for entry_id, entry in published_entries(published).items()]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in NUMERIC_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame



def contradicted_by_audit(published: pd.DataFrame) -> set[str]:
    """Return the ids a contradiction found by the audit shows wrong (never mere inconsistencies)."""
    return set(contradicted_ids(audit_findings(published)))


def printed_decimals(entry: Mapping[str, Any]) -> int:
    """Return the decimals the paper printed for an entry (0 when not recorded)."""
    return _decimals(entry)


def is_number(value: object) -> bool:
    """Return True for a real number that is not a bool."""
    return _is_number(value)


class Verdicts:
    """The status of every published number for one dataset: computed once, read by every page.

    Pages receive this object and never import ``paper/``: the status names are its attributes.
    """

    EXACT, WITHIN, OUTSIDE = STATUS_EXACT, STATUS_WITHIN, STATUS_OUTSIDE
    CONTRADICTED, NOT_COMPARED, NOT_REPRODUCIBLE = STATUS_CONTRADICTED, STATUS_NOT_COMPARED, STATUS_NOT_REPRODUCIBLE
    STATUSES = STATUSES
    AGREEING = (STATUS_EXACT, STATUS_WITHIN)
    TOLERANCES = TOLERANCES

    def __init__(self, published: pd.DataFrame, table: pd.DataFrame, contradicted: Collection[str]) -> None:
        self.published = published
        self.table = table
        self.by_id = table.set_index("id")
        self.contradicted = frozenset(contradicted)

    @classmethod
    def of(cls, published: pd.DataFrame, reproduced: Mapping[str, Any],
           contradicted: Collection[str] | None = None) -> "Verdicts":
        """Return the verdicts of every published number against already reproduced values."""
        contradicted = contradicted_by_audit(published) if contradicted is None else set(contradicted)
        return cls(published, scorecard_frame(published, reproduced, contradicted), contradicted)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.by_id.index

    def status(self, entry_id: str) -> str:
        """Return one published number's status ('not compared' for an id the paper does not print)."""
        return str(self.by_id.at[entry_id, "status"]) if entry_id in self else STATUS_NOT_COMPARED

    def value(self, entry_id: str, field: str = "value") -> float | None:
        """Return a published number (or its 'lower'/'upper' limit); None when the paper does not print it."""
        if entry_id not in self.published.index:
            return None
        value = self.published.at[entry_id, field]
        return None if _missing_scalar(value) or not _is_number(value) else float(value)

    def rows(self, ids: Sequence[str]) -> pd.DataFrame:
        """Return the scorecard rows of the given ids, in that order (ids the paper lacks left out)."""
        return self.by_id.loc[[i for i in ids if i in self]].reset_index()

    def agrees(self, entry_id: str, value: float | None, field: str = "value") -> bool:
        """Return True when another candidate value (a definition the paper may have used) would agree with
        the printed number or limit by the same rule as the verdict (exact or within tolerance)."""
        if entry_id not in self.published.index or value is None or _missing(value):
            return False
        entry = published_entries(self.published.loc[[entry_id]])[entry_id]
        printed = entry.get(field)
        if printed is None or not _is_number(printed):
            return False
        kind = tolerance_kind(entry)
        status = component_status(printed, value, _decimals(entry), kind, limit=field != "value",
                                  p_operator=entry.get("p_operator") or "=")
        return status in self.AGREEING

    def statuses_of(self, ids: Sequence[str]) -> list[str]:
        """Return the status of each id, in order."""
        return [self.status(i) for i in ids]

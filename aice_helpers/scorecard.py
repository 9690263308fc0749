"""Comparing a reproduced number with the published one: difference, tolerance and status."""

from __future__ import annotations

import pandas as pd

STATUS_EXACT = "exact"
STATUS_WITHIN = "within tolerance"
STATUS_OUTSIDE = "outside tolerance"
STATUS_CONTRADICTED = "contradicted by the paper"
STATUS_NOT_COMPARED = "not compared"
STATUSES = (STATUS_EXACT, STATUS_WITHIN, STATUS_OUTSIDE, STATUS_CONTRADICTED, STATUS_NOT_COMPARED)


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

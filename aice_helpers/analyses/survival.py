"""Survival analyses of this study on any cohort: curves per endpoint, subgroup tables by factor, landmark rates, median intervals by method."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aice_helpers.stats import survival
from aice_helpers.stats.cox import DEFAULT_ALPHA, ModelWarning
from aice_helpers.study import (  # noqa: F401
    _TABLE1,
    BOTH,
    ENDPOINTS,
    FACTORS,
    FACTORS_BY_KEY,
    PAPER_NAMED_FACTORS,
    Endpoint,
    Factor,
    grade_g3_group,
    postop_group,
    response_group,
    response_levels,
)

__all__ = [
    "BOTH",
    "ENDPOINTS",
    "FACTORS",
    "FACTORS_BY_KEY",
    "PAPER_NAMED_FACTORS",
    "Endpoint",
    "Factor",
    "grade_g3_group",
    "postop_group",
    "response_group",
    "response_levels",
    "ALL_PATIENTS",
    "endpoint_data",
    "overall_curve",
    "event_and_censored_counts",
    "factor_levels",
    "factor_frame",
    "subgroup_tables",
    "hr_estimable",
]


ALL_PATIENTS = "All patients"

def endpoint_data(cohort: pd.DataFrame, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    """The (time, event) arrays of one endpoint ('os' or 'pfs')."""
    spec = ENDPOINTS[endpoint]
    return cohort[spec.time_col].to_numpy(float), cohort[spec.event_col].to_numpy(int)

def overall_curve(cohort: pd.DataFrame, endpoint: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The one-curve mapping {'All patients': (time, event)} that plots.km_plot draws."""
    return {ALL_PATIENTS: endpoint_data(cohort, endpoint)}



def event_and_censored_counts(cohort: pd.DataFrame, endpoint: str) -> tuple[int, int]:
    """The number of events and of censored patients of one endpoint."""
    _, event = endpoint_data(cohort, endpoint)
    return int(event.sum()), int((event == 0).sum())





def factor_levels(groups: pd.Series, factor: Factor) -> list[str]:
    """The levels present in ``groups``, in the grouping's order with the factor's reference level first."""
    present = [level for level in groups.cat.categories if (groups == level).any()]
    if factor.reference in present:
        present.remove(factor.reference)
        present.insert(0, factor.reference)
    return present

def factor_frame(cohort: pd.DataFrame, endpoint: str, factor: Factor) -> pd.DataFrame:
    """time, event and group (a categorical of the factor's levels) for one endpoint."""
    time, event = endpoint_data(cohort, endpoint)
    return pd.DataFrame({"time": time, "event": event, "group": factor.grouping(cohort)})

def subgroup_tables(cohort: pd.DataFrame, endpoint: str, factors: Sequence[Factor] = FACTORS,
                    ties: str = "breslow", alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Table S1 (OS) or S2 (PFS): per factor level n, events, SPSS median (CI), log-rank P, Breslow HR (Wald CI).

    Model problems (a ModelWarning from the Cox fit) are caught and kept in the ``model_problem`` column.
    """
    parts = []
    for factor in factors:
        frame = factor_frame(cohort, endpoint, factor)
        levels = factor_levels(frame["group"], factor)
        frame["group"] = frame["group"].astype(str).where(frame["group"].notna())  # a missing group stays missing
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ModelWarning)
            part = survival.subgroup_table(frame, "time", "event", "group", order=levels, ties=ties, alpha=alpha)
        problems = [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]
        for other in (w for w in caught if not issubclass(w.category, ModelWarning)):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
        part["factor"] = factor.key
        part.insert(1, "label", factor.label)
        part["model_problem"] = "; ".join(problems)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table.insert(0, "endpoint", endpoint)
    return table

def hr_estimable(level: object, hr: float, upper: float, problem: str) -> bool:
    """Whether a subgroup row's hazard ratio can be shown: finite, and not named by its model's problem
    (a problem naming no covariate, such as a failed fit, affects every row of the factor)."""
    if pd.isna(hr) or not np.isfinite(hr) or (pd.notna(upper) and not np.isfinite(upper)):
        return False
    if not problem:
        return True
    return "'group=" in problem and f"'group={level}'" not in problem

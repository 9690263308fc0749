"""Counts and percentages on any cohort: Table 1 characteristics, subtypes, continuous summaries, sessions."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from aice_helpers.study import MODALITY_LABELS, TABLE1_CHARACTERISTICS, Characteristic

__all__ = [
    "MISSING_LEVEL",
    "PERCENT_DECIMALS",
    "counts_and_percents",
    "characteristic_table",
    "baseline_table",
    "value_counts_table",
    "slug",
    "histology_table",
    "range_summary",
    "sessions_per_patient",
]

PERCENT_DECIMALS = 1
MISSING_LEVEL = "Missing"  # the row of a characteristic counting the patients whose value is not known

def counts_and_percents(groups: pd.Series, denominator: int | None = None) -> pd.DataFrame:
    """Return n and percent for every level of a categorical, empty levels included."""
    counts = pd.Series(groups).value_counts(sort=False, dropna=False)
    if isinstance(groups.dtype, pd.CategoricalDtype):
        counts = counts.reindex(groups.cat.categories, fill_value=0)
    total = len(groups) if denominator is None else denominator
    frame = pd.DataFrame({"level": counts.index.astype(str), "n": counts.to_numpy(dtype=int)})
    frame["percent"] = (100.0 * frame["n"] / total).round(PERCENT_DECIMALS) if total else float("nan")
    return frame

def characteristic_table(cohort: pd.DataFrame, characteristics: Sequence[Characteristic]) -> pd.DataFrame:
    """Return one row per level of each characteristic: characteristic key and label, level, n, percent."""
    parts = []
    for item in characteristics:
        groups = pd.Series(item.grouping(cohort))
        part = counts_and_percents(groups, denominator=len(cohort))
        if groups.isna().any():  # as gtsummary and tableone do: a row of its own, over the same denominator
            missing = int(groups.isna().sum())
            part = pd.concat([part, pd.DataFrame({"level": [MISSING_LEVEL], "n": [missing],
                                                  "percent": [round(100.0 * missing / len(cohort), PERCENT_DECIMALS)]})],
                             ignore_index=True)
        part.insert(0, "characteristic", item.label)
        part.insert(0, "key", item.key)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)

def baseline_table(cohort: pd.DataFrame) -> pd.DataFrame:
    """Return Table 1 of the paper recomputed from the cohort."""
    return characteristic_table(cohort, TABLE1_CHARACTERISTICS)

def value_counts_table(values: pd.Series, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Return n and percent of each distinct value, in the given order or by decreasing count."""
    counts = values.value_counts()
    if order is not None:
        counts = counts.reindex(list(order) + [v for v in counts.index if v not in order], fill_value=0)
    frame = pd.DataFrame({"level": counts.index.astype(str), "n": counts.to_numpy(dtype=int)})
    frame["percent"] = (100.0 * frame["n"] / len(values)).round(PERCENT_DECIMALS)
    return frame

def slug(text: str) -> str:
    """Return the id form of a label: lower case, words joined by underscores."""
    return "_".join(text.lower().replace("-", " ").split())

def histology_table(cohort: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Return Table 2 (pathological subtypes) recomputed: n and percent per subtype, and a Missing row if any."""
    table = value_counts_table(cohort["histology"], order)
    missing = int(cohort["histology"].isna().sum())
    if missing:
        table = pd.concat([table, pd.DataFrame({"level": [MISSING_LEVEL], "n": [missing],
                                                "percent": [round(100.0 * missing / len(cohort), PERCENT_DECIMALS)]})],
                          ignore_index=True)
    return table

def range_summary(values: pd.Series) -> dict[str, float]:
    """Return the median, minimum and maximum of a numeric column."""
    return {"median": float(values.median()), "min": float(values.min()), "max": float(values.max())}

def sessions_per_patient(cohort: pd.DataFrame, procedures: pd.DataFrame) -> pd.DataFrame:
    """Return the number of patients by number of AICE sessions, split by modality."""
    sessions = procedures.groupby("patient_id").size().rename("sessions")
    joined = cohort[["patient_id", "aice_modality"]].join(sessions, on="patient_id")

    joined["modality"] = joined["aice_modality"].astype(str).map(MODALITY_LABELS)
    table = pd.crosstab(joined["sessions"], joined["modality"])
    return table.reindex(columns=[c for c in MODALITY_LABELS.values() if c in table.columns])

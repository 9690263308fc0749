"""Tables of counts and percentages, with the published numbers set beside the reproduced ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from aice_helpers.scorecard import STATUS_CONTRADICTED, STATUS_EXACT, comparison_status, rounds_to
from aice_helpers.variables import TABLE1_CHARACTERISTICS, Characteristic

PERCENT_DECIMALS = 1
PUBLISHED_PERCENT_TOLERANCE = 0.1  # printed percentages are rounded to one decimal


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
        part = counts_and_percents(pd.Series(item.grouping(cohort)), denominator=len(cohort))
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


def with_published(table: pd.DataFrame, published_n: Callable[[pd.Series], float | None],
                   published_percent: Callable[[pd.Series], float | None], denominator: int) -> pd.DataFrame:
    """Return the table with published n and percent beside the reproduced ones, and a status per row."""
    result = table.copy()
    result["published n"] = [published_n(row) for _, row in table.iterrows()]
    result["published %"] = [published_percent(row) for _, row in table.iterrows()]
    result["status"] = [
        row_status(row["n"], row["published n"], row["percent"], row["published %"], denominator)
        for _, row in result.iterrows()
    ]
    return result


def row_status(n: int, published_n: float | None, percent: float, published_percent: float | None,
               denominator: int) -> str:
    """Return a row's status: counts must be exact; a printed percent that is not its own count over
    the denominator is contradicted by the paper itself; otherwise percentages within rounding."""
    count_status = comparison_status(published_n, n, decimals=0)
    if count_status != STATUS_EXACT or published_percent is None or pd.isna(published_percent):
        return count_status
    implied = 100.0 * published_n / denominator
    if not rounds_to(published_percent, implied, PERCENT_DECIMALS):
        return STATUS_CONTRADICTED
    return comparison_status(published_percent, percent, decimals=PERCENT_DECIMALS,
                             tolerance=PUBLISHED_PERCENT_TOLERANCE)

"""Tables of counts and percentages, with the published numbers set beside the reproduced ones."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import pandas as pd

from aice_helpers.paper.scorecard import STATUS_CONTRADICTED, STATUS_EXACT, comparison_status, rounds_to
from aice_helpers.study import TABLE1_CHARACTERISTICS, Characteristic

PERCENT_DECIMALS = 1
PUBLISHED_PERCENT_TOLERANCE = 0.1  # printed percentages are rounded to one decimal
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


def published_or_none(published: pd.DataFrame, entry_id: str, field: str = "value") -> float | None:
    """Return a published number by id (None when the paper does not print it)."""
    if entry_id not in published.index:
        return None
    value = published.at[entry_id, field]
    return None if pd.isna(value) else float(value)


def comparison_with_published(table: pd.DataFrame, ids: Sequence[str], published: pd.DataFrame,
                              denominator: int, contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return a counts table with the published count and percent (ids and ids + '.pct') beside it.

    Rows whose id is in ``contradicted`` (numbers the paper itself makes impossible, found by the
    audit) get that status whatever the data say.
    """
    result = table.copy()
    result["published n"] = pd.array([published_or_none(published, i) for i in ids], dtype="Int64")
    result["published %"] = pd.array([published_or_none(published, f"{i}.pct") for i in ids], dtype="Float64")
    result["status"] = [
        STATUS_CONTRADICTED if i in contradicted else
        row_status(row["n"], row["published n"], row["percent"], row["published %"], denominator)
        for i, (_, row) in zip(ids, result.iterrows())
    ]
    return result


def table1_ids() -> list[str]:
    """Return the published-number id of every row of Table 1, in table order."""
    return [f"table1.{c.key}.{level}" for c in TABLE1_CHARACTERISTICS for level in c.level_ids]


def table1_with_published(cohort: pd.DataFrame, published: pd.DataFrame,
                          contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return Table 1 recomputed, with the published count and percent and a status per row."""
    table = baseline_table(cohort)
    ids = [f"table1.{key}.{level_id}" for key, level_id in zip(table["key"], _level_ids(table))]
    return comparison_with_published(table, ids, published, len(cohort), contradicted).drop(columns="key")


def _level_ids(table: pd.DataFrame) -> list[str]:
    """Return the published level id of each row of a baseline table."""
    by_key = {c.key: c for c in TABLE1_CHARACTERISTICS}
    ids = []
    for key, part in table.groupby("key", sort=False):
        known = int((part["level"] != MISSING_LEVEL).sum())
        ids.extend(by_key[key].level_ids[:known])
        ids.extend(f"{by_key[key].level_ids[0]}.missing" for _ in range(len(part) - known))  # no published number
    return ids


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


def histology_with_published(cohort: pd.DataFrame, published: pd.DataFrame,
                             contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return Table 2 in the paper's order with published counts beside, plus a total row.

    When the published subtype counts do not add up to the number of patients, no data can match
    them all: the total, and the subtypes listed in ``contradicted``, are marked as such.
    """
    published_rows = published[published.index.str.match(r"^table2\.histology\.[a-z_]+$")]
    order = list(published_rows["row"]) if "row" in published_rows else None
    table = histology_table(cohort, order)
    ids = [f"table2.histology.{slug(level)}" for level in table["level"]]
    # The audit flags every subtype count because their sum is impossible; a count the data match
    # exactly is shown as exact, and the impossibility is carried by the total row.
    matched = {i for i, n in zip(ids, table["n"]) if published_or_none(published, i) == n}
    compared = comparison_with_published(table, ids, published, len(cohort), set(contradicted) - matched)
    published_total = float(compared["published n"].sum())
    total_status = (STATUS_CONTRADICTED if published_total != len(cohort)
                    else comparison_status(published_total, int(compared["n"].sum())))
    total = pd.DataFrame({"level": ["Total"], "n": [int(compared["n"].sum())],
                          "percent": [round(float(compared["percent"].sum()), PERCENT_DECIMALS)],
                          "published n": pd.array([published_total], dtype="Int64"),
                          "published %": pd.array([None], dtype="Float64"),
                          "status": [total_status]})
    return pd.concat([compared, total], ignore_index=True)


def therapy_after_aice_with_published(cohort: pd.DataFrame, published: pd.DataFrame,
                                      contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return therapy after AICE (any, each kind, none, unknown) with the paper's counts beside."""
    from aice_helpers.study import SUBSEQUENT_LABELS

    kinds = cohort["subsequent_therapy"].astype(str)
    treated = ~kinds.isin(["none", "unknown"])
    rows = [("any", "Any further therapy", int(treated.sum()))]
    rows += [(key, f"  {label}", int((kinds == key).sum())) for key, label in SUBSEQUENT_LABELS.items()]
    table = pd.DataFrame(rows, columns=["id", "level", "n"])
    table["percent"] = (100.0 * table["n"] / len(cohort)).round(PERCENT_DECIMALS)
    ids = [f"results.subsequent_therapy.{key}" for key in table.pop("id")]
    return comparison_with_published(table, ids, published, len(cohort), contradicted)


def range_summary(values: pd.Series) -> dict[str, float]:
    """Return the median, minimum and maximum of a numeric column."""
    return {"median": float(values.median()), "min": float(values.min()), "max": float(values.max())}


def continuous_with_published(cohort: pd.DataFrame, published: pd.DataFrame,
                              contradicted: Collection[str] = ()) -> pd.DataFrame:
    """Return median (range) of age and tumour diameter beside the published ones, with status."""
    specs = [("Age (years)", "age_years", "results.baseline.age_years.median", 0),
             ("Maximum diameter (cm)", "max_diameter_cm", "table1.max_diameter_cm.median", 1)]
    rows = []
    for label, column, entry_id, decimals in specs:
        summary = range_summary(cohort[column])
        for statistic, field in (("median", "value"), ("minimum", "lower"), ("maximum", "upper")):
            reproduced = summary[{"median": "median", "minimum": "min", "maximum": "max"}[statistic]]
            printed = published_or_none(published, entry_id, field)
            rows.append({"characteristic": label, "statistic": statistic, "reproduced": reproduced,
                         "published": printed,
                         "status": comparison_status(printed, reproduced, decimals=decimals,
                                                     contradicted=field == "value" and entry_id in contradicted)})
    return pd.DataFrame(rows)


def sessions_per_patient(cohort: pd.DataFrame, procedures: pd.DataFrame) -> pd.DataFrame:
    """Return the number of patients by number of AICE sessions, split by modality."""
    sessions = procedures.groupby("patient_id").size().rename("sessions")
    joined = cohort[["patient_id", "aice_modality"]].join(sessions, on="patient_id")
    from aice_helpers.study import MODALITY_LABELS

    joined["modality"] = joined["aice_modality"].astype(str).map(MODALITY_LABELS)
    table = pd.crosstab(joined["sessions"], joined["modality"])
    return table.reindex(columns=[c for c in MODALITY_LABELS.values() if c in table.columns])


def sessions_summary(cohort: pd.DataFrame, procedures: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Return session counts (all, embolized, per modality, one-cycle patients) beside the paper's."""
    per_patient = procedures.groupby("patient_id").size()
    modality = cohort.set_index("patient_id")["aice_modality"].astype(str)
    by_modality = procedures.join(modality, on="patient_id")
    rows = [
        ("AICE sessions in all", len(procedures), published_or_none(published, "safety.procedures")),
        ("sessions with embolization", int(procedures["embolization"].sum()), None),
        ("sessions with embolization, infusion-only patients",
         int(by_modality.loc[by_modality["aice_modality"] == "infusion", "embolization"].sum()), None),
        ("patients with one session", int((per_patient == 1).sum()),
         published_or_none(published, "table1.aice_cycles.1")),
        ("patients with two or more sessions", int((per_patient >= 2).sum()),
         published_or_none(published, "table1.aice_cycles.ge2")),
        ("most sessions for one patient", int(per_patient.max()), None),
    ]
    table = pd.DataFrame(rows, columns=["quantity", "reproduced", "published"])
    table["published"] = pd.array(table["published"], dtype="Int64")
    table["status"] = [comparison_status(p, r) for r, p in zip(table["reproduced"], table["published"])]
    table.attrs[COUNT_ROWS_ATTR] = [quantity for quantity, _, _ in rows if quantity.startswith("patients")]
    return table


COMPARISON_COLUMNS = ("published n", "published %", "published", "status")


MISSING_MARK = "—"


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
    for _, row in table[table["status"] == STATUS_CONTRADICTED].iterrows():
        if pd.isna(row["published %"]) or pd.isna(row["published n"]):
            continue
        implied = 100.0 * row["published n"] / denominator
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


def status_summary(tables_by_name: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return, for each named comparison table, how many rows have each status."""
    from aice_helpers.paper.scorecard import STATUSES

    counts = {name: table["status"].value_counts() for name, table in tables_by_name.items()}
    summary = pd.DataFrame(counts).T.reindex(columns=list(STATUSES), fill_value=0).fillna(0).astype(int)
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
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            return False
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or pd.isna(value):
        return False
    return 0 < float(value) < min_cell and float(value).is_integer()


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
    """Return the table with every count from 1 to ``min_cell`` - 1 shown as "<min_cell" and the
    percentages of those counts as "suppressed"; unchanged when ``min_cell`` is 1 or less.

    Counts are the cells of COUNT_COLUMNS, or of the rows a helper lists in the table's
    ``attrs[COUNT_ROWS_ATTR]``; a percentage is the cell of a percent column (or of a row in
    ``attrs[PERCENT_ROWS_ATTR]``) whose count is suppressed.
    """
    if min_cell <= 1:
        return table
    small = pd.DataFrame(False, index=table.index, columns=table.columns)
    columns = list(table.columns)
    for column in columns:
        if column_label(column) in COUNT_COLUMNS:
            small[column] = table[column].map(lambda value: is_small_count(value, min_cell)).astype(bool)
    for label in table.attrs.get(COUNT_ROWS_ATTR, ()):
        if label in table.index:
            small.loc[label] = [is_small_count(value, min_cell) for value in table.loc[label]]
    percent = pd.DataFrame(False, index=table.index, columns=table.columns)
    for position, column in enumerate(columns):
        partner = count_partner(columns, position) if is_percent_label(column_label(column)) else None
        if partner is not None:
            percent[column] = small[partner]
    for label, count_label in table.attrs.get(PERCENT_ROWS_ATTR, {}).items():
        if label in table.index and count_label in table.index:
            percent.loc[label] = small.loc[count_label].to_numpy()
    if not (small.to_numpy().any() or percent.to_numpy().any()):
        return table
    shown = table.astype(object)
    shown = shown.mask(small, suppressed_count(min_cell))
    return shown.mask(percent & ~small, SUPPRESSED_PERCENT)


def install_small_count_masking(min_cell: int) -> bool:
    """Make every table an IPython kernel displays go through :func:`masked_small_counts`.

    Returns False (and changes nothing) outside IPython or when ``min_cell`` is 1 or less.
    """
    if min_cell <= 1:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, lambda table: masked_small_counts(table, min_cell)._repr_html_())
    formatters["text/plain"].for_type(
        pd.DataFrame, lambda table, printer, cycle: printer.text(repr(masked_small_counts(table, min_cell))))
    return True

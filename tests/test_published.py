"""The published numbers: values spot-checked against the paper, completeness, and validation on load."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aice_helpers import contract
from aice_helpers.published import (
    REQUIRED_FIELDS,
    PublishedDataError,
    load_published,
    published_entry,
    published_value,
)

N = contract.N_PATIENTS
TABLE1_VARIABLES = (
    "age_years", "ecog", "sex", "tumor_site", "max_diameter_cm", "distant_metastasis", "grade",
    "stage", "nlr", "mgps", "aice_modality", "prior_systemic_lines", "aice_cycles",
)
TABLE3_VARIABLES = ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade", "stage",
                    "aice_cycles", "best_response")
TABLE4_VARIABLES = ("nlr",) + TABLE3_VARIABLES
TABLE5_COLUMNS = ("a", "b", "c", "d", "total")
TABLE5_PERCENT_CELLS = 17  # cells printed as "n (x.x)"; the other 13 are a bare "0"
EXPECTED_ENTRIES_PER_TABLE = {
    "table1": 30 * 2 + 1,  # 30 level rows (count, percent) and the diameter median with range
    "table2": 18 * 2,      # 18 subtypes (count, percent)
    "table3": 7 * 3,       # beta, HR with interval, P
    "table4": 8 * 3,
    "table5": 6 * 5 + TABLE5_PERCENT_CELLS,
}
EXPECTED_FILES = (
    "abstract.yaml", "introduction.yaml", "methods.yaml", "table1.yaml", "table2.yaml", "results_text.yaml",
    "table3.yaml", "table4.yaml", "table5.yaml", "safety_text.yaml", "discussion.yaml", "second_record.yaml",
)


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    """Return the book's published numbers."""
    return load_published()


def _rows(published: pd.DataFrame, section: str) -> pd.DataFrame:
    """Return the entries of one section."""
    return published[published["section"] == section]


# ----------------------------------------------------------------- values checked against the paper

@pytest.mark.parametrize(
    ("entry_id", "expected"),
    [
        ("table1.sex.male", 68),
        ("table1.sex.male.pct", 60.2),
        ("table1.ecog.0_1", 4),
        ("table1.ecog.0_1.pct", 3.7),
        ("table1.stage.iv", 102),
        ("table1.aice_cycles.ge2.pct", 45.1),
        ("table2.histology.liposarcoma", 17),
        ("table2.histology.malignant_fibrous_histiocytoma.pct", 8.9),
        ("table3.distant_metastasis.beta", 1.513),
        ("table3.stage.beta", 0.73),
        ("table3.aice_cycles.p", 0.560),
        ("table4.postop_regimens.beta", 1.172),
        ("table5.nausea_vomiting.a", 4),
        ("table5.nausea_vomiting.a.pct", 1.9),
        ("table5.myelosuppression.c", 4),
        ("table5.liver_dysfunction.c.pct", 0.8),
        ("results.survival.os.median", 19.0),
        ("results.survival.pfs.median", 11.0),
        ("results.response.pr", 42),
        ("results.subsequent_therapy.none.pct", 15.1),
        ("safety.procedures", 216),
        ("safety.grade_c", 5),
        ("safety.grade_c.pct", 2.7),
        ("discussion.os.median_restated", 18.0),
        ("discussion.distant_metastasis.os.yes.median", 12),
        ("discussion.distant_metastasis.os.no.median", 36),
        ("methods.cisplatin.dose.min", 70),
        ("methods.cisplatin.reduction_creatinine_clearance", 60),
        ("methods.follow_up.median", 23.5),
        ("second_record.meta.year", 2021),
    ],
)
def test_value_as_printed(entry_id: str, expected: float) -> None:
    """Spot-checked numbers equal the paper's."""
    assert published_value(entry_id) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("entry_id", "value", "lower", "upper"),
    [
        ("results.survival.os.year3.rate", 41.7, 19.6, 35.9),
        ("results.survival.os.median", 19.0, 12.8, 25.3),
        ("results.survival.pfs.year1.rate", 45.1, 35.8, 54.0),
        ("results.response.orr", 37.2, 28.3, 46.8),
        ("results.subgroup.postop_regimens.pfs.ge2.median", 11.0, 13.7, 20.3),
        ("table4.stage.hr", 2.3, 1.7, 3.2),
        ("table1.max_diameter_cm.median", 10.7, 1.5, 25.3),
        ("methods.follow_up.median", 23.5, 1.0, 112.5),
        ("discussion.example.hr", 0.55, 0.28, 1.05),
    ],
)
def test_interval_as_printed(entry_id: str, value: float, lower: float, upper: float) -> None:
    """Printed intervals are kept as printed, also where they do not contain the estimate."""
    entry = published_entry(entry_id)
    assert (entry["value"], entry["lower"], entry["upper"]) == pytest.approx((value, lower, upper))


def test_p_values_keep_operator_and_decimals() -> None:
    """'<0.001' keeps its operator; '0.560' keeps three decimals."""
    entry = published_entry("table3.distant_metastasis.p")
    assert (entry["value"], entry["p_operator"], entry["decimals"]) == (0.001, "<", 3)
    assert published_entry("table4.stage.p")["p_operator"] == "="
    assert published_entry("table3.aice_cycles.p")["decimals"] == 3
    assert published_entry("table3.stage.beta")["decimals"] == 2


def test_table2_counts_sum_to_114(published: pd.DataFrame) -> None:
    """Table 2's subtype counts add up to 114, as printed (one more than the cohort)."""
    counts = _rows(published, "table2").query("unit == 'patients'")["value"]
    assert len(counts) == 18
    assert counts.sum() == 114


@pytest.mark.parametrize("variable", TABLE1_VARIABLES)
def test_table1_groups_sum_to_cohort(published: pd.DataFrame, variable: str) -> None:
    """Each Table 1 characteristic's level counts add up to 113."""
    rows = _rows(published, "table1")
    counts = rows[(rows["variable"] == variable) & (rows["unit"] == "patients")]["value"]
    assert len(counts) >= 2
    assert counts.sum() == N


def test_group_naming_kept_as_printed() -> None:
    """The size subgroup is '<10 cm' for OS but '≤10 cm' for PFS, as printed."""
    assert published_entry("results.subgroup.max_diameter_cm.os.lt10.median")["group"] == "<10 cm"
    assert published_entry("results.subgroup.max_diameter_cm.pfs.le10.median")["group"] == "≤10 cm"


def test_methods_dates_and_software() -> None:
    """Study period, data cutoff and software are ISO strings and names."""
    assert published_value("methods.study_period.start") == "2011-11"
    assert published_value("methods.study_period.end") == "2020-04"
    assert published_value("methods.data_cutoff") == "2023-11-15"
    assert published_value("methods.software.spss") == "SPSS 25.0"
    assert published_value("methods.software.stata") == "Stata 14"
    assert published_entry("methods.inclusion.age_min")["operator"] == ">="
    assert published_entry("methods.exclusion.platelet_count")["operator"] == "<"


def test_bibliographic_metadata() -> None:
    """The second record's DOI and both records' titles, journals and years."""
    assert published_value("second_record.meta.doi") == "10.51847/g1OuXXF5GQ"
    assert published_value("second_record.meta.journal") == "Pharmaceutical Sciences and Drug Design"
    assert published_value("second_record.meta.pages.start") == 82
    assert published_value("paper.meta.journal") == "Drug Design, Development and Therapy"
    assert published_value("paper.meta.year") == "unknown"
    assert published_value("paper.meta.authors.1") == "Jing Li"
    assert published_value("second_record.abstract.os.median") == published_value("abstract.os.median")


# ----------------------------------------------------------------- completeness and format

def test_every_file_present(published: pd.DataFrame) -> None:
    """One file per part of the paper, each with entries."""
    assert set(published["source_file"]) == set(EXPECTED_FILES)


@pytest.mark.parametrize(("section", "expected"), EXPECTED_ENTRIES_PER_TABLE.items())
def test_every_table_cell_present(published: pd.DataFrame, section: str, expected: int) -> None:
    """Each table has one entry per printed cell."""
    assert len(_rows(published, section)) == expected


def test_table1_counts_have_percentages(published: pd.DataFrame) -> None:
    """Every Table 1 count has a percentage entry pointing back to it, of 113."""
    rows = _rows(published, "table1")
    for count_id in rows[rows["unit"] == "patients"]["id"]:
        percent = published_entry(f"{count_id}.pct")
        assert (percent["of"], percent["denominator"], percent["unit"]) == (count_id, N, "percent")


def test_tables_3_and_4_complete() -> None:
    """Every Cox row has beta, HR with both bounds, and P."""
    for table, variables in (("table3", TABLE3_VARIABLES), ("table4", TABLE4_VARIABLES)):
        for variable in variables:
            hr = published_entry(f"{table}.{variable}.hr")
            assert {"lower", "upper"} <= hr.keys()
            assert published_entry(f"{table}.{variable}.beta")["unit"] == "log hazard ratio"
            assert published_entry(f"{table}.{variable}.p")["unit"] == "p-value"


def test_table5_every_cell_present() -> None:
    """Every Table 5 cell (six events by grades A-D and total) has a count entry."""
    for event in contract.AE_EVENTS:
        for column in TABLE5_COLUMNS:
            assert published_entry(f"table5.{event}.{column}")["unit"] == "patients"


def test_ids_unique_and_well_formed(published: pd.DataFrame) -> None:
    """Ids are unique, lower-case and dotted, and index the table."""
    assert published["id"].is_unique
    assert list(published.index) == list(published["id"])
    assert all(re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", entry_id) for entry_id in published["id"])


def test_required_fields_present(published: pd.DataFrame) -> None:
    """Every entry has id, section, value and unit."""
    assert published[list(REQUIRED_FIELDS)].notna().all().all()


def test_numbers_carry_decimals(published: pd.DataFrame) -> None:
    """Every numeric value says how many decimals were printed."""
    numeric = published[published["value"].map(lambda value: isinstance(value, (int, float)))]
    assert numeric["decimals"].notna().all()


def test_p_values_carry_operator(published: pd.DataFrame) -> None:
    """An entry is a P value exactly when it carries p_operator."""
    assert ((published["unit"] == "p-value") == published["p_operator"].notna()).all()


def test_value_types() -> None:
    """Numbers come back as floats, dates and text as strings, and lookup ignores case."""
    assert isinstance(published_value("table1.sex.male"), float)
    assert published_value("TABLE5.Myelosuppression.C") == published_value("table5.myelosuppression.c")


def test_unknown_id_raises_key_error() -> None:
    """An unknown id raises KeyError naming it."""
    with pytest.raises(KeyError, match="table1.sex.unknown"):
        published_value("table1.sex.unknown")


def test_load_returns_a_copy() -> None:
    """Changing the loaded table does not change the next load."""
    first = load_published()
    first.loc["table1.sex.male", "value"] = -1
    assert load_published().loc["table1.sex.male", "value"] == 68


# ----------------------------------------------------------------- malformed folders

GOOD_ENTRY = {"id": "table1.sex.male", "section": "table1", "value": 68, "unit": "patients", "decimals": 0}


def _write(folder: Path, name: str, entries: list[dict]) -> None:
    """Write a list of entries as one YAML file."""
    (folder / name).write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")


def _message_names(error: pytest.ExceptionInfo, *parts: str) -> bool:
    """Return True if the error message contains every part."""
    return all(part in str(error.value) for part in parts)


def test_duplicate_id_across_files_raises(tmp_path: Path) -> None:
    """The same id in two files is an error naming the id and both files."""
    _write(tmp_path, "a.yaml", [GOOD_ENTRY])
    _write(tmp_path, "b.yaml", [GOOD_ENTRY])
    with pytest.raises(ValueError) as error:
        load_published(tmp_path)
    assert _message_names(error, "a.yaml", "b.yaml", "table1.sex.male", "duplicate")


@pytest.mark.parametrize("field", REQUIRED_FIELDS[1:])
def test_missing_field_raises(tmp_path: Path, field: str) -> None:
    """An entry without a required field is an error naming the file, the id and the field."""
    _write(tmp_path, "broken.yaml", [{k: v for k, v in GOOD_ENTRY.items() if k != field}])
    with pytest.raises(ValueError) as error:
        load_published(tmp_path)
    assert _message_names(error, "broken.yaml", "table1.sex.male", field)


def test_missing_id_raises(tmp_path: Path) -> None:
    """An entry without an id is an error naming the file and the entry's position."""
    _write(tmp_path, "broken.yaml", [GOOD_ENTRY, {k: v for k, v in GOOD_ENTRY.items() if k != "id"}])
    with pytest.raises(ValueError) as error:
        load_published(tmp_path)
    assert _message_names(error, "broken.yaml", "#2", "'id'")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"lower": 5.0, "upper": 2.0}, "greater than upper"),
        ({"lower": 5.0}, "together"),
        ({"colour": "red"}, "unknown field"),
        ({"id": "Table1.Sex.Male"}, "lower-case"),
        ({"p_operator": "≈"}, "p_operator"),
        ({"quote_context": "one two three four five six seven eight nine"}, "quote_context"),
        ({"value": [1, 2]}, "value must be"),
        ({"of": "table1.sex.nobody"}, "unknown id"),
    ],
)
def test_malformed_entry_raises(tmp_path: Path, change: dict, complaint: str) -> None:
    """A malformed entry raises a ValueError naming the file, the id and the problem."""
    entry = GOOD_ENTRY | change
    _write(tmp_path, "broken.yaml", [entry])
    with pytest.raises(PublishedDataError) as error:
        load_published(tmp_path)
    assert isinstance(error.value, ValueError)
    assert _message_names(error, "broken.yaml", entry["id"], complaint)


def test_empty_folder_raises(tmp_path: Path) -> None:
    """A folder without YAML files is an error."""
    with pytest.raises(ValueError, match="no"):
        load_published(tmp_path)

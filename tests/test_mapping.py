"""The mapping of a cohort's own column names and codes onto the data contract (aice_helpers.mapping)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aice_helpers.contract import ADVERSE_EVENTS_FILE, COHORT_FILE, DATA_DIR
from aice_helpers.mapping import (
    MappingError,
    apply_mapping,
    load_mapping,
    mapping_warnings,
)

EXAMPLE = DATA_DIR / "template" / "mapping_example.yaml"


def mapping_file(tmp_path: Path, text: str) -> Path:
    """Return the path of a mapping file holding ``text``."""
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def cohort_frame(**columns: list[str]) -> pd.DataFrame:
    """Return a frame of text cells, as the rerun reads a CSV file."""
    return pd.DataFrame(columns, dtype=object)


def test_columns_are_renamed_and_codes_recoded(tmp_path: Path) -> None:
    """Shared columns and values apply to the file; codes match without surrounding spaces; others stay."""
    path = mapping_file(tmp_path, "columns: {Sex: sex, Status: os_event}\n"
                                  "values: {sex: {M: male, F: female}, os_event: {dead: 1, alive: 0}}\n")
    frames = {COHORT_FILE: cohort_frame(Sex=["M", " F ", "x"], Status=["dead", "alive", "dead"], other=["1", "2", "3"])}
    mapped = apply_mapping(frames, load_mapping(path))[COHORT_FILE]
    assert list(mapped.columns) == ["sex", "os_event", "other"]
    assert mapped["sex"].tolist() == ["male", "female", "x"]
    assert mapped["os_event"].tolist() == ["1", "0", "1"]


def test_every_scalar_is_read_as_text(tmp_path: Path) -> None:
    """yes/no, 01 and 1 stay the text they are, as in a CSV cell (YAML's base loader)."""
    path = mapping_file(tmp_path, "values: {distant_metastasis: {yes: 1, no: 0, 01: 1}}\n")
    codes = load_mapping(path).shared.values["distant_metastasis"]
    assert codes == {"yes": "1", "no": "0", "01": "1"}


def test_a_file_section_overrides_the_shared_one(tmp_path: Path) -> None:
    """files: <name>: applies to that file only and wins over the shared part."""
    path = mapping_file(tmp_path, "columns: {ID: patient_id}\n"
                                  "files:\n  aice_adverse_events.csv:\n    columns: {Grade: sir_grade}\n"
                                  "    values: {sir_grade: {'1': A, '2': B}}\n")
    frames = {COHORT_FILE: cohort_frame(ID=["P1"]),
              ADVERSE_EVENTS_FILE: cohort_frame(ID=["P1", "P1"], Grade=["1", "2"])}
    mapped = apply_mapping(frames, load_mapping(path))
    assert list(mapped[COHORT_FILE].columns) == ["patient_id"]
    assert mapped[ADVERSE_EVENTS_FILE]["sir_grade"].tolist() == ["A", "B"]


@pytest.mark.parametrize(("text", "message"), [
    ("colums: {Age: age_years}\n", "the top level: unknown key 'colums'"),
    ("files: {cohort.csv: {columns: {Age: age_years}}}\n", "files: unknown key 'cohort.csv'"),
    ("files: {aice_cohort.csv: {rename: {Age: age_years}}}\n", "files: aice_cohort.csv: unknown key 'rename'"),
    ("columns: {Age: age_year}\n", "columns: Age: 'age_year' is not a column of the data contract"),
    ("columns: {Age: age_years, Years: age_years}\n", "columns: Age, Years all map to 'age_years'"),
    ("values: {Sex: {M: male}}\n", "values: Sex: 'Sex' is not a column of the data contract"),
    ("values: {sex: [male, female]}\n", "values: sex: expected a mapping"),
    ("columns: [Age, Sex]\n", "columns: expected a mapping"),
    ("columns: {Age: age_years\n", "not a readable YAML file"),
])
def test_a_bad_mapping_file_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    """Unknown keys and targets outside the contract are refused with the file and key named."""
    path = mapping_file(tmp_path, text)
    with pytest.raises(MappingError) as error:
        load_mapping(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


@pytest.mark.parametrize(("text", "message"), [
    ("columns: {Agee: age_years}\n", "columns: Agee: no input file has a column 'Agee'"),
    ("values: {sex: {M: male}}\n", "values: sex: no input file has a column 'sex' after renaming"),
    ("files: {aice_procedures.csv: {columns: {Cycle: cycle}}}\n", "files: aice_procedures.csv: the input has no such file"),
    ("files: {aice_cohort.csv: {columns: {Cycle: patient_id}}}\n", "aice_cohort.csv has no column 'Cycle'"),
])
def test_a_mapping_naming_what_the_input_lacks_gives_a_warning(tmp_path: Path, text: str, message: str) -> None:
    """A column, file or recoded column the input does not have is a warning naming the file and key (issue 12:
    a mapping reused on an export without some of its columns still runs); the rest of the mapping applies."""
    frames = {COHORT_FILE: cohort_frame(patient_id=["P1"], Age=["50"])}
    mapping = load_mapping(mapping_file(tmp_path, text))
    warnings = mapping_warnings(frames, mapping)
    assert len(warnings) == 1 and warnings[0].startswith(str(tmp_path / "mapping.yaml")) and message in warnings[0]
    assert list(apply_mapping(frames, mapping)[COHORT_FILE].columns) == ["patient_id", "Age"]


def test_a_renaming_collision_is_refused(tmp_path: Path) -> None:
    """Two columns that would share a name after renaming are an error, not a warning."""
    frames = {COHORT_FILE: cohort_frame(patient_id=["P1"], Age=["50"])}
    with pytest.raises(MappingError, match="renaming gives aice_cohort.csv two columns named 'patient_id'"):
        apply_mapping(frames, load_mapping(mapping_file(tmp_path, "columns: {Age: patient_id}\n")))


def test_every_mapping_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Unknown keys, wrong targets, a repeated target, a bad value and a bad date block: one error listing all."""
    path = mapping_file(tmp_path, "colums: {Age: age_years}\n"
                                  "columns: {Age: age_year, Sex: sex, Gender: sex}\n"
                                  "values: {Sex: {M: male}, sex: {M: [male]}}\n"
                                  "files: {cohort.csv: {}, aice_cohort.csv: {rename: {}}}\n"
                                  "dates: {start: First}\n"
                                  "limits: {age_years: {min: 10, max: 5}}\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    text = str(caught.value)
    expected = ["the top level: unknown key 'colums'", "columns: Age: 'age_year' is not a column",
                "columns: Sex, Gender all map to 'sex'", "values: Sex: 'Sex' is not a column",
                "values: sex: M: expected a single value", "files: unknown key 'cohort.csv'",
                "files: aice_cohort.csv: unknown key 'rename'", "dates: last_contact: required",
                "limits: age_years: min 10 is above max 5"]
    assert len(caught.value.problems) == len(expected), text
    assert text.startswith(f"{path}: {len(expected)} problems in the mapping")
    for message in expected:
        assert message in text, (message, text)


def test_missing_mapping_file(tmp_path: Path) -> None:
    """A mapping file that does not exist is named in the error."""
    with pytest.raises(MappingError, match="mapping file not found"):
        load_mapping(tmp_path / "absent.yaml")


def test_the_example_mapping_maps_an_exported_cohort_onto_the_contract() -> None:
    """data/template/mapping_example.yaml turns a file with its own names and codes into contract columns."""
    mapping = load_mapping(EXAMPLE)
    cells = {source: ["7"] for source in mapping.shared.columns}
    cells |= {"Patient": ["A1"], "Sex": ["F"], "Site": ["limb"], "Metastasis": ["yes"], "Modality": ["TAI+TAE"],
              "Vital_status": ["alive"], "Progressed": ["no"]}
    mapped = apply_mapping({COHORT_FILE: cohort_frame(**cells)}, mapping)[COHORT_FILE].iloc[0].to_dict()
    assert {key: mapped[key] for key in ("patient_id", "sex", "tumor_site", "distant_metastasis", "aice_modality",
                                         "os_event", "pfs_event", "age_years")} == {
        "patient_id": "A1", "sex": "female", "tumor_site": "limbs_hips", "distant_metastasis": "1",
        "aice_modality": "infusion_embolization", "os_event": "0", "pfs_event": "0", "age_years": "7"}

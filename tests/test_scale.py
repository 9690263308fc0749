"""Scaled synthetic cohorts (aice_helpers.synthetic.scale) and ``aice generate --patients``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aice_helpers.cli import main
from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_FILE,
    CONTRACT,
    DATA_DIR,
    PROCEDURES_FILE,
)
from aice_helpers.data import load_dataset
from aice_helpers.synthetic.scale import scaled_cohort, write_scaled_cohort

VALIDATED_PATIENTS = 2_000


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-patient scaled cohort written as CSV files."""
    folder = tmp_path_factory.mktemp("scaled")
    write_scaled_cohort(folder, VALIDATED_PATIENTS, seed=5)
    return folder


@pytest.mark.parametrize("n_patients", [1, 37, 500])
def test_sizes_and_consistent_sessions(n_patients: int) -> None:
    """n patients with unique ids; one session row per cycle; events only for the cohort's patients."""
    tables = scaled_cohort(n_patients, seed=3)
    cohort, sessions, events = tables[COHORT_FILE], tables[PROCEDURES_FILE], tables[ADVERSE_EVENTS_FILE]
    assert len(cohort) == n_patients and cohort["patient_id"].is_unique
    assert len(sessions) == cohort["aice_cycles"].sum()
    per_patient = sessions.groupby("patient_id").size().reindex(cohort["patient_id"]).to_numpy()
    assert (per_patient == cohort["aice_cycles"].to_numpy()).all()
    assert set(events["patient_id"]) <= set(cohort["patient_id"])
    assert ((cohort["pfs_months"] > 0) & (cohort["pfs_months"] <= cohort["os_months"])).all()


def test_deterministic_for_a_seed() -> None:
    """The same size and seed give the same tables; another seed gives another cohort."""
    first, again, other = scaled_cohort(300, seed=9), scaled_cohort(300, seed=9), scaled_cohort(300, seed=10)
    for name in CONTRACT:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first[COHORT_FILE]["os_months"].equals(other[COHORT_FILE]["os_months"])


def test_a_scaled_cohort_follows_the_data_contract(written: Path) -> None:
    """Every contract check passes on a 2,000-patient scaled cohort, across the three files."""
    dataset = load_dataset(written)
    assert len(dataset.cohort) == VALIDATED_PATIENTS
    assert dataset.procedures is not None and dataset.adverse_events is not None


def test_the_written_files_are_deterministic(written: Path, tmp_path: Path) -> None:
    """Writing the same cohort twice gives the same bytes."""
    write_scaled_cohort(tmp_path, VALIDATED_PATIENTS, seed=5)
    for name in CONTRACT:
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes()


def test_generate_patients_writes_to_out_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """generate --patients needs --out and never writes a scaled cohort into data/."""
    before = {path: path.stat().st_mtime_ns for path in DATA_DIR.glob("*.csv")}
    assert main(["generate", "--patients", "50"]) == 2
    assert main(["generate", "--patients", "50", "--out", str(DATA_DIR)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["generate", "--patients", "50", "--out", str(tmp_path), "--seed", "1"]) == 0
    assert len(pd.read_csv(tmp_path / COHORT_FILE)) == 50
    assert {path: path.stat().st_mtime_ns for path in DATA_DIR.glob("*.csv")} == before

"""The synthetic cohort's entry points: the three tables for a seed (baseline, calibrated survival, sessions, events) and the files of data/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aice_helpers.contract import (
    ADVERSE_EVENT_COLUMNS,
    ADVERSE_EVENTS_FILE,
    COHORT_COLUMNS,
    COHORT_FILE,
    DATA_DIR,
    N_PATIENTS,
    N_PROCEDURES,
    PROCEDURE_COLUMNS,
    PROCEDURES_FILE,
)
from aice_helpers.synthetic.baseline import (
    CYCLES,
    DEFAULT_SEED,
    _streams,
    adverse_events,
    baseline_cohort,
    procedures,
    with_response_details,
    with_session_months,
)
from aice_helpers.synthetic.calibration import (
    calibrated_survival_times,
    write_calibration_report,
)

__all__ = [
    "synthetic_tables",
    "write_synthetic_data",
]


def synthetic_tables(seed: int = DEFAULT_SEED, calibration_iterations: int | None = None,
                     progress: bool = False) -> dict[str, pd.DataFrame]:
    """Return the three contract tables of the synthetic cohort, keyed by their file names.

    ``calibration_iterations`` is the survival calibration's search budget (default: the full one of
    ``calibration.DEFAULT_ITERATIONS``; a small budget gives valid but uncalibrated times, for tests).
    """
    streams = _streams(seed)
    cohort = baseline_cohort(streams["baseline"])
    if len(cohort) != N_PATIENTS or cohort[CYCLES].sum() != N_PROCEDURES:
        raise RuntimeError("synthesis constants disagree with the contract's cohort or session count")
    calibration_seed = int(streams["survival"].integers(np.iinfo(np.int64).max))
    calibrated = calibrated_survival_times(cohort, calibration_seed, progress, calibration_iterations)
    cohort = pd.concat([cohort.drop(columns=calibrated.columns, errors="ignore"), calibrated], axis=1)
    sessions = procedures(cohort, streams["procedures"])
    return {
        COHORT_FILE: with_response_details(cohort[[column.name for column in COHORT_COLUMNS]], seed),
        PROCEDURES_FILE: with_session_months(sessions[[column.name for column in PROCEDURE_COLUMNS]], seed),
        ADVERSE_EVENTS_FILE: adverse_events(cohort, sessions, streams["adverse_events"])[
            [column.name for column in ADVERSE_EVENT_COLUMNS]],
    }

def write_synthetic_data(out_dir: Path = DATA_DIR, seed: int = DEFAULT_SEED, calibration_iterations: int | None = None,
                         progress: bool = True) -> dict[str, Path]:
    """Write the three CSV files and the calibration report (byte-identical for a given seed); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    tables = synthetic_tables(seed, calibration_iterations, progress)
    for name, table in tables.items():
        paths[name] = out_dir / name
        table.to_csv(paths[name], index=False, lineterminator="\n")
    return paths | write_calibration_report(tables[COHORT_FILE], out_dir)

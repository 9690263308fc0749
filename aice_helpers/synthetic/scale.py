"""Synthetic cohorts of any size, for rehearsing a rerun at scale (``aice generate --patients N``).

A scaled cohort resamples the patients of the book's generator (``synthesis.synthetic_tables``,
with a small calibration budget so it builds in a second): each new patient copies one synthetic
patient, drawn with replacement, under a new id, with jittered continuous values and survival
times, and with that patient's AICE sessions and adverse events. Every contract rule holds by
construction (aice_cycles equals the number of sessions, adverse events fall on the patient's
cycles, 0 < PFS <= OS), and the result depends only on ``n_patients`` and ``seed``. Nothing here is
a real patient, and unlike the book's own cohort a scaled one is not calibrated to the paper.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from aice_helpers.contract import (
    ADVERSE_EVENTS_FILE,
    COHORT_COLUMNS,
    COHORT_FILE,
    CONTRACT,
    PROCEDURES_FILE,
    contract_column,
)
from aice_helpers.synthetic.generate import DEFAULT_SEED, synthetic_tables

__all__ = [
    "DEFAULT_SCALE_SEED",
    "BASE_CALIBRATION_ITERATIONS",
    "PATIENT_ID_PREFIX",
    "PATIENT_ID",
    "AGE",
    "DIAMETER",
    "NLR",
    "OS_MONTHS",
    "PFS_MONTHS",
    "AGE_JITTER_YEARS",
    "LOG_SD_DIAMETER",
    "LOG_SD_NLR",
    "LOG_SD_TIME",
    "DIAMETER_DECIMALS",
    "NLR_DECIMALS",
    "TIME_DECIMALS",
    "SMALLEST_DIAMETER_CM",
    "SMALLEST_NLR",
    "SMALLEST_TIME_MONTHS",
    "base_tables",
    "patient_ids",
    "jittered_times",
    "jittered",
    "resampled_cohort",
    "copied_rows",
    "scaled_cohort",
    "write_scaled_cohort",
]

DEFAULT_SCALE_SEED = 20240101
BASE_CALIBRATION_ITERATIONS = 0  # the generator's uncalibrated times: valid, and built in a second
PATIENT_ID_PREFIX = "SYN-"
PATIENT_ID = contract_column(COHORT_COLUMNS, "patient_id")
AGE = contract_column(COHORT_COLUMNS, "age_years")
DIAMETER = contract_column(COHORT_COLUMNS, "max_diameter_cm")
NLR = contract_column(COHORT_COLUMNS, "nlr")
OS_MONTHS = contract_column(COHORT_COLUMNS, "os_months")
PFS_MONTHS = contract_column(COHORT_COLUMNS, "pfs_months")

AGE_JITTER_YEARS = 2  # ages move by a whole number of years in [-2, 2]
LOG_SD_DIAMETER = 0.10  # multiplicative jitter: value x exp(N(0, sd))
LOG_SD_NLR = 0.10
LOG_SD_TIME = 0.15  # one factor per patient for OS and PFS together, so PFS <= OS is kept
DIAMETER_DECIMALS, NLR_DECIMALS, TIME_DECIMALS = 1, 2, 1
SMALLEST_DIAMETER_CM, SMALLEST_NLR, SMALLEST_TIME_MONTHS = 0.1, 0.01, 0.1


@lru_cache(maxsize=1)
def base_tables() -> dict[str, pd.DataFrame]:
    """Return the generator's three tables that scaled cohorts resample (built once per process)."""

    return synthetic_tables(DEFAULT_SEED, calibration_iterations=BASE_CALIBRATION_ITERATIONS)


def patient_ids(n_patients: int) -> np.ndarray:
    """Return ``n_patients`` new ids, "SYN-0000001" and so on, zero-padded to one width."""
    width = max(7, len(str(n_patients)))
    return np.array([f"{PATIENT_ID_PREFIX}{number:0{width}d}" for number in range(1, n_patients + 1)], dtype=object)


def jittered_times(rng: np.random.Generator, os_months: np.ndarray, pfs_months: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Return OS and PFS times scaled by one random factor per patient, rounded, with 0 < PFS <= OS."""
    factor = np.exp(rng.normal(0.0, LOG_SD_TIME, size=os_months.size))
    os_new = np.maximum(np.round(os_months * factor, TIME_DECIMALS), SMALLEST_TIME_MONTHS)
    pfs_new = np.maximum(np.round(pfs_months * factor, TIME_DECIMALS), SMALLEST_TIME_MONTHS)
    return os_new, np.minimum(pfs_new, os_new)


def jittered(rng: np.random.Generator, values: np.ndarray, log_sd: float, decimals: int, smallest: float) -> np.ndarray:
    """Return positive values scaled by exp(N(0, log_sd)), rounded, and kept at or above ``smallest``."""
    scaled = values * np.exp(rng.normal(0.0, log_sd, size=values.size))
    return np.maximum(np.round(scaled, decimals), smallest)


def resampled_cohort(base: pd.DataFrame, source: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Return the cohort rows of ``source`` (base row positions) with new ids and jittered values."""
    cohort = base.iloc[source].reset_index(drop=True)
    cohort[PATIENT_ID] = patient_ids(len(source))
    ages = cohort[AGE].to_numpy(float) + rng.integers(-AGE_JITTER_YEARS, AGE_JITTER_YEARS + 1, size=len(source))
    cohort[AGE] = np.maximum(ages, 0).astype(base[AGE].dtype)
    cohort[DIAMETER] = jittered(rng, cohort[DIAMETER].to_numpy(float), LOG_SD_DIAMETER, DIAMETER_DECIMALS,
                                SMALLEST_DIAMETER_CM)
    cohort[NLR] = jittered(rng, cohort[NLR].to_numpy(float), LOG_SD_NLR, NLR_DECIMALS, SMALLEST_NLR)
    cohort[OS_MONTHS], cohort[PFS_MONTHS] = jittered_times(rng, cohort[OS_MONTHS].to_numpy(float),
                                                           cohort[PFS_MONTHS].to_numpy(float))
    return cohort


def copied_rows(base: pd.DataFrame, base_ids: pd.Series, source: np.ndarray, new_ids: np.ndarray) -> pd.DataFrame:
    """Return, for each new patient, the rows ``base`` holds for its source patient, under the new id."""
    position = pd.Series(np.arange(len(base_ids)), index=base_ids.to_numpy())
    ordered = base.assign(_source=base[PATIENT_ID].map(position).to_numpy()).sort_values("_source", kind="stable")
    counts = np.bincount(ordered["_source"].to_numpy(), minlength=len(base_ids))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    per_patient = counts[source]
    offsets = np.arange(per_patient.sum()) - np.repeat(np.cumsum(per_patient) - per_patient, per_patient)
    rows = ordered.drop(columns="_source").iloc[np.repeat(starts[source], per_patient) + offsets]
    rows = rows.reset_index(drop=True)
    rows[PATIENT_ID] = np.repeat(new_ids, per_patient)
    return rows


def scaled_cohort(n_patients: int, seed: int = DEFAULT_SCALE_SEED) -> dict[str, pd.DataFrame]:
    """Return the three contract tables of a synthetic cohort of ``n_patients``, keyed by file name."""
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    base = base_tables()
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(base[COHORT_FILE]), size=n_patients)
    cohort = resampled_cohort(base[COHORT_FILE], source, rng)
    base_ids = base[COHORT_FILE][PATIENT_ID]
    return {
        COHORT_FILE: cohort,
        PROCEDURES_FILE: copied_rows(base[PROCEDURES_FILE], base_ids, source, cohort[PATIENT_ID].to_numpy()),
        ADVERSE_EVENTS_FILE: copied_rows(base[ADVERSE_EVENTS_FILE], base_ids, source, cohort[PATIENT_ID].to_numpy()),
    }


def write_scaled_cohort(out_dir: Path, n_patients: int, seed: int = DEFAULT_SCALE_SEED) -> dict[str, Path]:
    """Write a scaled cohort's three CSV files into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in scaled_cohort(n_patients, seed).items():
        paths[name] = out_dir / name
        table[[column.name for column in CONTRACT[name]]].to_csv(paths[name], index=False, lineterminator="\n")
    return paths

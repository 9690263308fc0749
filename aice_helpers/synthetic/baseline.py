"""Seeded synthetic cohort: 113 invented patients whose aggregates match the published tables.

No patient-level data of the study is public. This module builds a stand-in cohort that
reproduces, exactly, every count of Table 1, Table 2 (adjusted, see below), the subsequent-therapy
counts, the best-response counts, the 216 AICE sessions and every cell of Table 5 (worst SIR grade
per patient and event). Nothing here is a real patient.

How it is built (constructive, no rejection sampling): every categorical variable gets its exact
published counts, and the labels are then dealt out to patients by a seeded numpy Generator,
patient by patient, with probability proportional to (clinical affinity x labels still left).
Hard rules are met by dealing the constrained patients first; soft rules only tilt the odds.

Joint structure (hard rules):
- every patient with distant metastasis is stage IV, so the 11 stage III patients are all free of
  distant metastasis and 8 stage IV patients have none (locally advanced/recurrent disease);
- children and adolescents (age < 18) are all in the <=35 group and all have a subtype typical of
  the young (rhabdomyosarcoma, synovial sarcoma, PNET, ASPS);
- interstitialoma (read as gastrointestinal stromal tumour) is always in the abdominal cavity;
- aggressive fibromatosis (desmoid) never has distant metastasis;
- the 5 G1 tumours are drawn from aggressive fibromatosis and myofibroblastoma (9 patients; the
  other 4 are G2 because G1 has only 5 places);
- postop_regimens: 'none' as subsequent therapy means 0 or 1 regimen, a named subsequent therapy
  means at least 1;
- infusion-only patients are never embolized; infusion_embolization patients are embolized at
  their first session and at each later session with probability REPEAT_EMBOLIZATION_PROBABILITY
  (later sessions may be infusion-only when the tumour has lost its rich blood supply);
- the liver_dysfunction patient has abdominal disease with distant metastasis; pyrexia only
  follows embolization sessions; an event repeated at other sessions never exceeds the patient's
  worst grade for that event; grade C/D marrow toxicity and the grade C liver event fall on
  different patients (so grade C is seen in 5 patients and grade D in 2, as the text says).

Soft tilts: site by subtype, size >= 10 cm by site, G3 by subtype, metastasis by grade/subtype,
stage III among the non-metastatic by grade, mGPS 2 with NLR > 3, embolization for hypervascular
subtypes, PR with embolization and smaller tumours, more cycles with PR/SD, targeted therapy for
GIST and immunotherapy for ASPS afterwards.

Choices the paper leaves open are module constants: ECOG_COUNTS, MGPS_COUNTS, PRIOR_LINE_COUNTS,
POSTOP_REGIMEN_COUNTS, CYCLE_COUNTS, N_CHILDREN, HISTOLOGY_COUNTS (Table 2 sums to 114; 'Others'
is lowered from 5 to 4, see HISTOLOGY_ADJUSTMENT_NOTE). One NLR is exactly 3.0, on purpose, so
the "<= 3" boundary is exercised.

Survival times are CALIBRATED (``aice_helpers.synthetic.calibration``, whose docstring explains how): a seeded
search places OS and PFS times on the paper's half-month grid so that the cohort reproduces the
published medians with their SPSS intervals, landmark rates, follow-up range, subgroup medians and
log-rank P, and the Cox models of Tables 3 and 4; ``data/calibration_report.csv`` sets each
target beside the achieved value. The search may also re-deal two pairings no table fixes: which
patients have 0-1 or >=2 postoperative regimens (keeping POSTOP_REGIMEN_COUNTS and the
subsequent-therapy rule above) and which had which best response (only within modality x G3 x
single-cycle cells, so the soft tilts keep their exact counts). Survivors are censored at the
15 Nov 2023 cutoff after first AICE between Nov 2011 and Apr 2020; PD patients progress at the
first scan. Each part (baseline, procedures, adverse events, survival) draws from its own seeded
stream, so the calibration changes nothing else: procedures and adverse events do not depend on
the survival times, the regimens or the responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from aice_helpers.contract import (
    ADVERSE_EVENT_COLUMNS,
    AE_EVENTS,
    COHORT_COLUMNS,
    GRADES,
    MODALITIES,
    PROCEDURE_COLUMNS,
    RESPONSES,
    SEXES,
    SIR_GRADES,
    STAGES,
    SUBSEQUENT_THERAPIES,
    TUMOR_SITES,
    contract_column,
)
from aice_helpers.synthetic.extras import response_detail_columns, session_months

__all__ = [
    "DEFAULT_SEED",
    "PATIENT_ID",
    "AGE",
    "SEX",
    "ECOG",
    "SITE",
    "HISTOLOGY",
    "DIAMETER",
    "METASTASIS",
    "GRADE",
    "STAGE",
    "NLR",
    "MGPS",
    "MODALITY",
    "PRIOR_LINES",
    "CYCLES",
    "POSTOP",
    "RESPONSE",
    "SUBSEQUENT",
    "OS_MONTHS",
    "OS_EVENT",
    "PFS_MONTHS",
    "PFS_EVENT",
    "SURVIVAL_COLUMNS",
    "CYCLE",
    "EMBOLIZATION",
    "AE_CYCLE",
    "EVENT",
    "SIR_GRADE",
    "MALE",
    "FEMALE",
    "HEAD_NECK",
    "PLEURAL",
    "ABDOMINAL",
    "PELVIC",
    "LIMBS",
    "G1",
    "G2",
    "G3",
    "STAGE_III",
    "STAGE_IV",
    "INFUSION",
    "INFUSION_EMBOLIZATION",
    "CR",
    "PR",
    "SD",
    "PD",
    "CHEMOTHERAPY",
    "TARGETED",
    "IMMUNOTHERAPY",
    "TCM",
    "NO_THERAPY",
    "UNKNOWN",
    "PYREXIA",
    "PAIN",
    "NAUSEA_VOMITING",
    "LIVER_DYSFUNCTION",
    "RENAL_DYSFUNCTION",
    "MYELOSUPPRESSION",
    "SIR_A",
    "SIR_B",
    "SIR_C",
    "SIR_D",
    "PATIENT_ID_FORMAT",
    "LIPOSARCOMA",
    "LEIOMYOSARCOMA",
    "MFH",
    "FIBROSARCOMA",
    "INTERSTITIALOMA",
    "RHABDOMYOSARCOMA",
    "SYNOVIAL_SARCOMA",
    "AGGRESSIVE_FIBROMATOSIS",
    "MYOFIBROBLASTOMA",
    "PNET",
    "ASPS",
    "UNDIFFERENTIATED",
    "MALIGNANT_NEURINOMA",
    "SFT",
    "HEMANGIOSARCOMA",
    "SPINDLE_CELL",
    "EPITHELIOID",
    "OTHERS",
    "PUBLISHED_HISTOLOGY_COUNTS",
    "HISTOLOGY_ADJUSTED_SUBTYPE",
    "HISTOLOGY_COUNTS",
    "HISTOLOGY_ADJUSTMENT_NOTE",
    "YOUNG_SUBTYPES",
    "OLDER_SUBTYPES",
    "LOW_GRADE_SUBTYPES",
    "HIGH_GRADE_SUBTYPES",
    "NON_METASTASIZING_SUBTYPES",
    "ABDOMEN_ONLY_SUBTYPES",
    "HYPERVASCULAR_SUBTYPES",
    "AGE_CUTOFF_YEARS",
    "ADULT_AGE_YEARS",
    "MIN_AGE_YEARS",
    "MAX_AGE_YEARS",
    "N_AGE_AT_MOST_35",
    "N_CHILDREN",
    "SEX_COUNTS",
    "ECOG_COUNTS",
    "SITE_COUNTS",
    "DIAMETER_CUTOFF_CM",
    "N_DIAMETER_BELOW_CUTOFF",
    "MIN_DIAMETER_CM",
    "MEDIAN_DIAMETER_CM",
    "MAX_DIAMETER_CM",
    "METASTASIS_COUNTS",
    "GRADE_COUNTS",
    "STAGE_COUNTS",
    "NLR_CUTOFF",
    "N_NLR_AT_MOST_CUTOFF",
    "MGPS_COUNTS",
    "MODALITY_COUNTS",
    "PRIOR_LINE_COUNTS",
    "CYCLE_COUNTS",
    "POSTOP_REGIMEN_COUNTS",
    "RESPONSE_COUNTS",
    "SUBSEQUENT_COUNTS",
    "NAMED_SUBSEQUENT_THERAPIES",
    "MAX_REGIMENS_WITHOUT_THERAPY",
    "WORST_GRADE_COUNTS",
    "REPEAT_EVENT_PROBABILITY",
    "EMBOLIZATION_ONLY_EVENTS",
    "EMBOLIZATION_EVENT_WEIGHT",
    "MULTI_CYCLE_MARROW_WEIGHT",
    "REPEAT_EMBOLIZATION_PROBABILITY",
    "SITE_AFFINITY",
    "LARGE_TUMOUR_SITE_WEIGHT",
    "G3_SUBTYPE_WEIGHT",
    "METASTASIS_WEIGHT",
    "ASPS_METASTASIS_WEIGHT",
    "STAGE_III_WEIGHT",
    "MGPS2_HIGH_NLR_WEIGHT",
    "HYPERVASCULAR_EMBOLIZATION_WEIGHT",
    "PR_EMBOLIZATION_WEIGHT",
    "PR_SMALL_TUMOUR_WEIGHT",
    "PD_G3_WEIGHT",
    "CYCLES_BY_RESPONSE_WEIGHT",
    "SUBSEQUENT_AFFINITY",
    "NLR_STEP",
    "NLR_LOW_FLOOR",
    "NLR_HIGH_CEILING",
    "NLR_LOW_BETA",
    "NLR_LOG_MEAN_EXCESS",
    "NLR_LOG_SD_EXCESS",
    "DIAMETER_SMALL_FLOOR",
    "DIAMETER_LARGE_FLOOR",
    "DIAMETER_STEP_CM",
    "STREAMS",
    "dealt_labels",
    "histologies",
    "ages",
    "sexes",
    "tumour_sites",
    "diameters",
    "grades",
    "metastases",
    "stages",
    "ecog_scores",
    "nlr_values",
    "mgps_scores",
    "modalities",
    "prior_lines",
    "best_responses",
    "cycle_counts",
    "subsequent_therapies",
    "postop_regimen_counts",
    "baseline_cohort",
    "procedures",
    "adverse_events",
    "RESPONSE_DETAIL_SEED_OFFSET",
    "SESSION_MONTH_SEED_OFFSET",
    "RESPONSE_DETAIL_COLUMNS",
    "with_response_details",
    "with_session_months",
]

DEFAULT_SEED = 20231115  # the data cutoff date, as a number

# ---------------------------------------------------------------------------- names from the contract
PATIENT_ID = contract_column(COHORT_COLUMNS, "patient_id")
AGE = contract_column(COHORT_COLUMNS, "age_years")
SEX = contract_column(COHORT_COLUMNS, "sex")
ECOG = contract_column(COHORT_COLUMNS, "ecog")
SITE = contract_column(COHORT_COLUMNS, "tumor_site")
HISTOLOGY = contract_column(COHORT_COLUMNS, "histology")
DIAMETER = contract_column(COHORT_COLUMNS, "max_diameter_cm")
METASTASIS = contract_column(COHORT_COLUMNS, "distant_metastasis")
GRADE = contract_column(COHORT_COLUMNS, "grade")
STAGE = contract_column(COHORT_COLUMNS, "stage")
NLR = contract_column(COHORT_COLUMNS, "nlr")
MGPS = contract_column(COHORT_COLUMNS, "mgps")
MODALITY = contract_column(COHORT_COLUMNS, "aice_modality")
PRIOR_LINES = contract_column(COHORT_COLUMNS, "prior_systemic_lines")
CYCLES = contract_column(COHORT_COLUMNS, "aice_cycles")
POSTOP = contract_column(COHORT_COLUMNS, "postop_regimens")
RESPONSE = contract_column(COHORT_COLUMNS, "best_response")
SUBSEQUENT = contract_column(COHORT_COLUMNS, "subsequent_therapy")
OS_MONTHS = contract_column(COHORT_COLUMNS, "os_months")
OS_EVENT = contract_column(COHORT_COLUMNS, "os_event")
PFS_MONTHS = contract_column(COHORT_COLUMNS, "pfs_months")
PFS_EVENT = contract_column(COHORT_COLUMNS, "pfs_event")
SURVIVAL_COLUMNS = (OS_MONTHS, OS_EVENT, PFS_MONTHS, PFS_EVENT)
CYCLE = contract_column(PROCEDURE_COLUMNS, "cycle")
EMBOLIZATION = contract_column(PROCEDURE_COLUMNS, "embolization")
AE_CYCLE = contract_column(ADVERSE_EVENT_COLUMNS, "cycle")
EVENT = contract_column(ADVERSE_EVENT_COLUMNS, "event")
SIR_GRADE = contract_column(ADVERSE_EVENT_COLUMNS, "sir_grade")

MALE, FEMALE = SEXES
HEAD_NECK, PLEURAL, ABDOMINAL, PELVIC, LIMBS = TUMOR_SITES
G1, G2, G3 = GRADES
STAGE_III, STAGE_IV = STAGES
INFUSION, INFUSION_EMBOLIZATION = MODALITIES
CR, PR, SD, PD = RESPONSES
CHEMOTHERAPY, TARGETED, IMMUNOTHERAPY, TCM, NO_THERAPY, UNKNOWN = SUBSEQUENT_THERAPIES
PYREXIA, PAIN, NAUSEA_VOMITING, LIVER_DYSFUNCTION, RENAL_DYSFUNCTION, MYELOSUPPRESSION = AE_EVENTS
SIR_A, SIR_B, SIR_C, SIR_D = SIR_GRADES[:4]

PATIENT_ID_FORMAT = "AICE-{:03d}"

# ---------------------------------------------------------------------------- Table 2 (histology)
LIPOSARCOMA = "Liposarcoma"
LEIOMYOSARCOMA = "Leiomyosarcoma"
MFH = "Malignant fibrous histiocytoma"
FIBROSARCOMA = "Fibrosarcoma"
INTERSTITIALOMA = "Interstitialoma"
RHABDOMYOSARCOMA = "Rhabdomyosarcoma"
SYNOVIAL_SARCOMA = "Synovial sarcoma"
AGGRESSIVE_FIBROMATOSIS = "Aggressive fibromatosis"
MYOFIBROBLASTOMA = "Myofibroblastoma"
PNET = "PNET"
ASPS = "ASPS"
UNDIFFERENTIATED = "Undifferentiated sarcoma"
MALIGNANT_NEURINOMA = "Malignant neurinoma"
SFT = "SFT"
HEMANGIOSARCOMA = "Hemangiosarcoma"
SPINDLE_CELL = "Spindle cell sarcoma"
EPITHELIOID = "Epithelioid sarcoma"
OTHERS = "Others"

PUBLISHED_HISTOLOGY_COUNTS: dict[str, int] = {
    LIPOSARCOMA: 17, LEIOMYOSARCOMA: 14, MFH: 10, FIBROSARCOMA: 9, INTERSTITIALOMA: 8,
    RHABDOMYOSARCOMA: 8, SYNOVIAL_SARCOMA: 7, AGGRESSIVE_FIBROMATOSIS: 5, MYOFIBROBLASTOMA: 4,
    PNET: 4, ASPS: 4, UNDIFFERENTIATED: 4, MALIGNANT_NEURINOMA: 4, SFT: 3, HEMANGIOSARCOMA: 3,
    SPINDLE_CELL: 3, EPITHELIOID: 2, OTHERS: 5,
}
HISTOLOGY_ADJUSTED_SUBTYPE = OTHERS
HISTOLOGY_COUNTS: dict[str, int] = {
    **PUBLISHED_HISTOLOGY_COUNTS,
    HISTOLOGY_ADJUSTED_SUBTYPE: PUBLISHED_HISTOLOGY_COUNTS[HISTOLOGY_ADJUSTED_SUBTYPE] - 1,
}
HISTOLOGY_ADJUSTMENT_NOTE = (
    "Table 2 adds up to 114 patients for a cohort of 113, so the synthetic cohort has one patient "
    "fewer in 'Others' (4 instead of 5), the least informative category, and keeps every named "
    "subtype at its printed count."
)

YOUNG_SUBTYPES = (RHABDOMYOSARCOMA, SYNOVIAL_SARCOMA, PNET, ASPS)
OLDER_SUBTYPES = (LIPOSARCOMA, LEIOMYOSARCOMA, MFH, UNDIFFERENTIATED)
LOW_GRADE_SUBTYPES = (AGGRESSIVE_FIBROMATOSIS, MYOFIBROBLASTOMA)
HIGH_GRADE_SUBTYPES = (MFH, UNDIFFERENTIATED, RHABDOMYOSARCOMA, PNET, SYNOVIAL_SARCOMA,
                       HEMANGIOSARCOMA, EPITHELIOID, ASPS, MALIGNANT_NEURINOMA)
NON_METASTASIZING_SUBTYPES = (AGGRESSIVE_FIBROMATOSIS,)
ABDOMEN_ONLY_SUBTYPES = (INTERSTITIALOMA,)
HYPERVASCULAR_SUBTYPES = (ASPS, SFT, HEMANGIOSARCOMA, INTERSTITIALOMA)

# ---------------------------------------------------------------------------- Table 1 and text counts
AGE_CUTOFF_YEARS = 35
ADULT_AGE_YEARS = 18
MIN_AGE_YEARS, MAX_AGE_YEARS = 3, 83
N_AGE_AT_MOST_35 = 37
N_CHILDREN = 8  # age < 18, chosen among YOUNG_SUBTYPES; a free choice (the paper gives none)
SEX_COUNTS = dict(zip(SEXES, (68, 45), strict=True))
ECOG_COUNTS = {0: 1, 1: 3, 2: 76, 3: 33}  # Table 1 gives only 0-1: 4 and 2-3: 109
SITE_COUNTS = dict(zip(TUMOR_SITES, (8, 11, 38, 23, 33), strict=True))
DIAMETER_CUTOFF_CM = 10.0
N_DIAMETER_BELOW_CUTOFF = 55
MIN_DIAMETER_CM, MEDIAN_DIAMETER_CM, MAX_DIAMETER_CM = 1.5, 10.7, 25.3
METASTASIS_COUNTS = {0: 19, 1: 94}
GRADE_COUNTS = dict(zip(GRADES, (5, 49, 59), strict=True))
STAGE_COUNTS = dict(zip(STAGES, (11, 102), strict=True))
NLR_CUTOFF = 3.0
N_NLR_AT_MOST_CUTOFF = 57
MGPS_COUNTS = {0: 49, 1: 29, 2: 35}  # Table 1 gives only 0-1: 78 and 2: 35
MODALITY_COUNTS = dict(zip(MODALITIES, (32, 81), strict=True))
PRIOR_LINE_COUNTS = {0: 19, 1: 46, 2: 31, 3: 13, 4: 4}  # Table 1 gives only 0: 19 and >=1: 94
CYCLE_COUNTS = {1: 62, 2: 21, 3: 16, 4: 8, 5: 4, 6: 2}  # 1: 62 printed; 216 sessions in all
POSTOP_REGIMEN_COUNTS = {0: 22, 1: 38, 2: 29, 3: 16, 4: 8}  # a choice: 0-1: 60, >=2: 53
RESPONSE_COUNTS = dict(zip(RESPONSES, (0, 42, 44, 27), strict=True))
SUBSEQUENT_COUNTS = dict(zip(SUBSEQUENT_THERAPIES, (23, 13, 9, 6, 17, 45), strict=True))
NAMED_SUBSEQUENT_THERAPIES = (CHEMOTHERAPY, TARGETED, IMMUNOTHERAPY, TCM)
MAX_REGIMENS_WITHOUT_THERAPY = 1

# ---------------------------------------------------------------------------- Table 5 (worst grade per patient)
WORST_GRADE_COUNTS: dict[str, dict[str, int]] = {
    PYREXIA: {SIR_A: 5, SIR_B: 2},
    PAIN: {SIR_A: 17, SIR_B: 9},
    NAUSEA_VOMITING: {SIR_A: 4},
    LIVER_DYSFUNCTION: {SIR_C: 1},
    RENAL_DYSFUNCTION: {SIR_B: 2},
    MYELOSUPPRESSION: {SIR_A: 9, SIR_B: 2, SIR_C: 4, SIR_D: 2},
}
# chance that an event also occurs (at an equal or lower grade) at each other eligible session
REPEAT_EVENT_PROBABILITY = {
    PYREXIA: 0.25, PAIN: 0.35, NAUSEA_VOMITING: 0.3,
    LIVER_DYSFUNCTION: 0.0, RENAL_DYSFUNCTION: 0.0, MYELOSUPPRESSION: 0.4,
}
EMBOLIZATION_ONLY_EVENTS = (PYREXIA,)
EMBOLIZATION_EVENT_WEIGHT = 3.0  # pain is mostly post-embolization syndrome
MULTI_CYCLE_MARROW_WEIGHT = 1.5  # marrow toxicity is more likely with more chemotherapy
REPEAT_EMBOLIZATION_PROBABILITY = 0.75

# ---------------------------------------------------------------------------- soft affinities
SITE_AFFINITY: dict[str, dict[str, float]] = {
    LIPOSARCOMA: {ABDOMINAL: 3.0, LIMBS: 2.0, PELVIC: 1.0, PLEURAL: 0.3, HEAD_NECK: 0.3},
    LEIOMYOSARCOMA: {ABDOMINAL: 2.0, PELVIC: 2.5, LIMBS: 1.0, PLEURAL: 0.5, HEAD_NECK: 0.3},
    INTERSTITIALOMA: {ABDOMINAL: 1.0, PELVIC: 0.0, LIMBS: 0.0, PLEURAL: 0.0, HEAD_NECK: 0.0},
    SYNOVIAL_SARCOMA: {LIMBS: 3.0, PLEURAL: 1.0},
    RHABDOMYOSARCOMA: {HEAD_NECK: 3.0, PELVIC: 2.0},
    ASPS: {LIMBS: 3.0, HEAD_NECK: 1.5},
    SFT: {PLEURAL: 3.0},
    MALIGNANT_NEURINOMA: {LIMBS: 2.0},
    AGGRESSIVE_FIBROMATOSIS: {LIMBS: 2.0, ABDOMINAL: 2.0},
    EPITHELIOID: {LIMBS: 3.0},
}
LARGE_TUMOUR_SITE_WEIGHT = {HEAD_NECK: 0.3, PLEURAL: 1.0, ABDOMINAL: 1.6, PELVIC: 1.2, LIMBS: 1.0}
G3_SUBTYPE_WEIGHT = 3.0
METASTASIS_WEIGHT = {G1: 0.3, G2: 1.0, G3: 1.5}
ASPS_METASTASIS_WEIGHT = 3.0
STAGE_III_WEIGHT = {G1: 3.0, G2: 1.5, G3: 1.0}
MGPS2_HIGH_NLR_WEIGHT = 2.0
HYPERVASCULAR_EMBOLIZATION_WEIGHT = 2.0
PR_EMBOLIZATION_WEIGHT, PR_SMALL_TUMOUR_WEIGHT, PD_G3_WEIGHT = 1.5, 1.3, 1.4
CYCLES_BY_RESPONSE_WEIGHT = {CR: 1.5, PR: 1.5, SD: 1.2, PD: 0.5}
SUBSEQUENT_AFFINITY: dict[str, dict[str, float]] = {
    INTERSTITIALOMA: {TARGETED: 4.0},
    ASPS: {IMMUNOTHERAPY: 4.0, TARGETED: 2.0},
}

# ---------------------------------------------------------------------------- value distributions
NLR_STEP = 0.01
NLR_LOW_FLOOR, NLR_HIGH_CEILING = 0.8, 14.0
NLR_LOW_BETA = (2.5, 1.8)  # shape of the <=3 values between the floor and 2.99
NLR_LOG_MEAN_EXCESS, NLR_LOG_SD_EXCESS = np.log(1.5), 0.7  # how far the >3 values lie above 3.01
DIAMETER_SMALL_FLOOR = 1.6
DIAMETER_LARGE_FLOOR = 10.8
DIAMETER_STEP_CM = 0.1

STREAMS = ("baseline", "procedures", "adverse_events", "survival")


# ============================================================================ generic dealing
def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Return one independent seeded Generator per part of the synthesis."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}


def _priority_order(rng: np.random.Generator, priority: np.ndarray) -> np.ndarray:
    """Return row indices with lower priority numbers first, shuffled within each priority."""
    shuffled = rng.permutation(len(priority))
    return shuffled[np.argsort(priority[shuffled], kind="stable")]


def dealt_labels(rng: np.random.Generator, counts: Mapping, affinity: np.ndarray,
                 order: np.ndarray | None = None) -> np.ndarray:
    """Return one label per row using each label exactly counts[label] times, odds = affinity x left."""
    labels = list(counts)
    left = np.array([counts[label] for label in labels], dtype=float)
    if affinity.shape != (int(left.sum()), len(labels)):
        raise ValueError(f"affinity shape {affinity.shape} does not fit counts summing to {left.sum():g}")
    chosen = np.empty(len(affinity), dtype=int)
    for row in rng.permutation(len(affinity)) if order is None else order:
        odds = affinity[row] * left
        if odds.sum() <= 0:
            raise ValueError(f"no label left that row {row} may take")
        chosen[row] = rng.choice(len(labels), p=odds / odds.sum())
        left[chosen[row]] -= 1
    return np.asarray(labels)[chosen]


def _affinity(rows: Sequence, labels: Sequence, weights: Mapping[object, Mapping[object, float]]) -> np.ndarray:
    """Return a rows x labels matrix of weights looked up by row key (default weight 1)."""
    return np.array([[weights.get(row, {}).get(label, 1.0) for label in labels] for row in rows])


def _uniform_affinity(n: int, counts: Mapping) -> np.ndarray:
    """Return an all-ones affinity matrix (labels dealt at random)."""
    return np.ones((n, len(counts)))


# ============================================================================ baseline columns
def histologies(rng: np.random.Generator) -> np.ndarray:
    """Return the adjusted Table 2 subtypes in random patient order."""
    return rng.permutation(np.repeat(list(HISTOLOGY_COUNTS), list(HISTOLOGY_COUNTS.values())))


def ages(rng: np.random.Generator, histology: np.ndarray) -> np.ndarray:
    """Return integer ages: N_CHILDREN young-subtype children, the rest of <=35, and >35, range 3-83."""
    n = len(histology)
    young_subtype = np.isin(histology, YOUNG_SUBTYPES)
    children = rng.choice(np.flatnonzero(young_subtype), size=N_CHILDREN, replace=False)
    others = np.setdiff1d(np.arange(n), children)
    weight_young = np.where(young_subtype[others], 3.0, np.where(np.isin(histology[others], OLDER_SUBTYPES), 0.5, 1.0))
    affinity = np.column_stack([weight_young, 1.0 / weight_young])
    band = dealt_labels(rng, {"young": N_AGE_AT_MOST_35 - N_CHILDREN, "older": n - N_AGE_AT_MOST_35}, affinity)
    young_adults, older = others[band == "young"], others[band == "older"]
    age = np.empty(n, dtype=int)
    age[children] = rng.integers(MIN_AGE_YEARS + 1, ADULT_AGE_YEARS, size=len(children))
    age[children[0]] = MIN_AGE_YEARS
    age[young_adults] = rng.integers(ADULT_AGE_YEARS, AGE_CUTOFF_YEARS + 1, size=len(young_adults))
    span = MAX_AGE_YEARS - 1 - (AGE_CUTOFF_YEARS + 1)
    age[older] = AGE_CUTOFF_YEARS + 1 + np.round(rng.beta(1.6, 1.9, size=len(older)) * span).astype(int)
    age[older[0]] = MAX_AGE_YEARS
    return age


def sexes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return sexes with Table 1's counts, at random."""
    return dealt_labels(rng, SEX_COUNTS, _uniform_affinity(n, SEX_COUNTS))


def tumour_sites(rng: np.random.Generator, histology: np.ndarray) -> np.ndarray:
    """Return tumour sites with Table 1's counts, tilted by subtype; GIST only in the abdomen."""
    affinity = _affinity(histology, TUMOR_SITES, SITE_AFFINITY)
    order = _priority_order(rng, np.where(np.isin(histology, ABDOMEN_ONLY_SUBTYPES), 0, 1))
    return dealt_labels(rng, SITE_COUNTS, affinity, order)


def _rounded_cm(values: np.ndarray) -> np.ndarray:
    """Return diameters rounded to the 0.1 cm step."""
    return np.round(values / DIAMETER_STEP_CM) * DIAMETER_STEP_CM


def diameters(rng: np.random.Generator, site: np.ndarray) -> np.ndarray:
    """Return diameters (cm) with 55 below 10, range 1.5-25.3 and median exactly 10.7."""
    n = len(site)
    n_large = n - N_DIAMETER_BELOW_CUTOFF
    affinity = np.column_stack([np.ones(n), [LARGE_TUMOUR_SITE_WEIGHT[s] for s in site]])
    large = dealt_labels(rng, {False: N_DIAMETER_BELOW_CUTOFF, True: n_large}, affinity).astype(bool)
    small_span = DIAMETER_CUTOFF_CM - DIAMETER_STEP_CM - DIAMETER_SMALL_FLOOR
    small_values = _rounded_cm(DIAMETER_SMALL_FLOOR + rng.beta(2.0, 1.5, N_DIAMETER_BELOW_CUTOFF - 1) * small_span)
    just_above = _rounded_cm(rng.uniform(DIAMETER_CUTOFF_CM, MEDIAN_DIAMETER_CM - DIAMETER_STEP_CM))
    large_span = MAX_DIAMETER_CM - DIAMETER_STEP_CM - DIAMETER_LARGE_FLOOR
    large_values = _rounded_cm(DIAMETER_LARGE_FLOOR + rng.beta(1.3, 2.5, n_large - 3) * large_span)
    values = np.empty(n)
    values[~large] = rng.permutation(np.concatenate([[MIN_DIAMETER_CM], small_values]))
    values[large] = rng.permutation(np.concatenate([[just_above, MEDIAN_DIAMETER_CM, MAX_DIAMETER_CM], large_values]))
    return np.round(values, 1)


def grades(rng: np.random.Generator, histology: np.ndarray) -> np.ndarray:
    """Return grades with Table 1's counts: G1 only for low-grade subtypes, G3 tilted to high-grade ones."""
    n = len(histology)
    grade = np.empty(n, dtype=object)
    low = np.flatnonzero(np.isin(histology, LOW_GRADE_SUBTYPES))
    g1 = rng.choice(low, size=GRADE_COUNTS[G1], replace=False)
    grade[g1] = G1
    grade[np.setdiff1d(low, g1)] = G2
    rest = np.setdiff1d(np.arange(n), low)
    rest_counts = {G2: GRADE_COUNTS[G2] - (len(low) - len(g1)), G3: GRADE_COUNTS[G3]}
    g3_weight = np.where(np.isin(histology[rest], HIGH_GRADE_SUBTYPES), G3_SUBTYPE_WEIGHT, 1.0)
    grade[rest] = dealt_labels(rng, rest_counts, np.column_stack([np.ones(len(rest)), g3_weight]))
    return grade.astype(str)


def metastases(rng: np.random.Generator, histology: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """Return distant metastasis 0/1 with Table 1's counts; desmoids never metastasize."""
    never = np.isin(histology, NON_METASTASIZING_SUBTYPES)
    weight = np.array([METASTASIS_WEIGHT[g] for g in grade]) * np.where(histology == ASPS, ASPS_METASTASIS_WEIGHT, 1.0)
    affinity = np.column_stack([np.ones(len(grade)), np.where(never, 0.0, weight)])
    return dealt_labels(rng, METASTASIS_COUNTS, affinity, _priority_order(rng, np.where(never, 0, 1))).astype(int)


def stages(rng: np.random.Generator, metastasis: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """Return stages: every metastatic patient stage IV, stage III among the rest (tilted to low grade)."""
    stage = np.full(len(metastasis), STAGE_IV, dtype=object)
    local = np.flatnonzero(metastasis == 0)
    weight = np.array([STAGE_III_WEIGHT[g] for g in grade[local]])
    counts = {STAGE_III: STAGE_COUNTS[STAGE_III], STAGE_IV: len(local) - STAGE_COUNTS[STAGE_III]}
    stage[local] = dealt_labels(rng, counts, np.column_stack([weight, np.ones(len(local))]))
    return stage.astype(str)


def ecog_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return ECOG scores with the ECOG_COUNTS split, at random."""
    return dealt_labels(rng, ECOG_COUNTS, _uniform_affinity(n, ECOG_COUNTS)).astype(int)


def nlr_values(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return NLR values (2 decimals): 57 at most 3 (one exactly 3.0), the rest above 3."""
    n_low = N_NLR_AT_MOST_CUTOFF - 1
    low_span = NLR_CUTOFF - NLR_STEP - NLR_LOW_FLOOR
    low = NLR_LOW_FLOOR + rng.beta(*NLR_LOW_BETA, size=n_low) * low_span
    excess = rng.lognormal(NLR_LOG_MEAN_EXCESS, NLR_LOG_SD_EXCESS, size=n - N_NLR_AT_MOST_CUTOFF)
    high = np.minimum(NLR_CUTOFF + NLR_STEP + excess, NLR_HIGH_CEILING)
    return rng.permutation(np.round(np.concatenate([[NLR_CUTOFF], low, high]), 2))


def mgps_scores(rng: np.random.Generator, nlr: np.ndarray) -> np.ndarray:
    """Return mGPS with the MGPS_COUNTS split; a score of 2 is more likely when NLR > 3."""
    weight_2 = np.where(nlr > NLR_CUTOFF, MGPS2_HIGH_NLR_WEIGHT, 1.0)
    affinity = np.column_stack([np.ones(len(nlr)), np.ones(len(nlr)), weight_2])
    return dealt_labels(rng, MGPS_COUNTS, affinity).astype(int)


def modalities(rng: np.random.Generator, histology: np.ndarray) -> np.ndarray:
    """Return AICE modality with Table 1's counts; hypervascular subtypes lean to embolization."""
    weight = np.where(np.isin(histology, HYPERVASCULAR_SUBTYPES), HYPERVASCULAR_EMBOLIZATION_WEIGHT, 1.0)
    return dealt_labels(rng, MODALITY_COUNTS, np.column_stack([np.ones(len(histology)), weight]))


def prior_lines(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return prior systemic lines with the PRIOR_LINE_COUNTS split, at random."""
    return dealt_labels(rng, PRIOR_LINE_COUNTS, _uniform_affinity(n, PRIOR_LINE_COUNTS)).astype(int)


def best_responses(rng: np.random.Generator, modality: np.ndarray, diameter: np.ndarray,
                   grade: np.ndarray) -> np.ndarray:
    """Return best responses with the published counts, PR tilted to embolization and smaller tumours."""
    pr = (np.where(modality == INFUSION_EMBOLIZATION, PR_EMBOLIZATION_WEIGHT, 1.0)
          * np.where(diameter < DIAMETER_CUTOFF_CM, PR_SMALL_TUMOUR_WEIGHT, 1.0))
    pd_weight = np.where(grade == G3, PD_G3_WEIGHT, 1.0)
    ones = np.ones(len(grade))
    return dealt_labels(rng, RESPONSE_COUNTS, np.column_stack([ones, pr, ones, pd_weight]))


def cycle_counts(rng: np.random.Generator, response: np.ndarray) -> np.ndarray:
    """Return AICE cycles with the CYCLE_COUNTS split; responders tend to get more cycles."""
    weight = np.array([CYCLES_BY_RESPONSE_WEIGHT[r] for r in response])
    affinity = np.column_stack([np.ones(len(response))] + [weight] * (len(CYCLE_COUNTS) - 1))
    return dealt_labels(rng, CYCLE_COUNTS, affinity).astype(int)


def subsequent_therapies(rng: np.random.Generator, histology: np.ndarray) -> np.ndarray:
    """Return therapy after AICE with the published counts (GIST leans targeted, ASPS immunotherapy)."""
    return dealt_labels(rng, SUBSEQUENT_COUNTS, _affinity(histology, SUBSEQUENT_THERAPIES, SUBSEQUENT_AFFINITY))


def postop_regimen_counts(rng: np.random.Generator, subsequent: np.ndarray) -> np.ndarray:
    """Return regimens after AICE: 0-1 when no further therapy, >=1 after a named therapy."""
    levels = np.array(list(POSTOP_REGIMEN_COUNTS))
    none = subsequent == NO_THERAPY
    named = np.isin(subsequent, NAMED_SUBSEQUENT_THERAPIES)
    affinity = np.ones((len(subsequent), len(levels)))
    affinity[np.ix_(none, levels > MAX_REGIMENS_WITHOUT_THERAPY)] = 0.0
    affinity[np.ix_(named, levels == 0)] = 0.0
    order = _priority_order(rng, np.where(none, 0, np.where(named, 1, 2)))
    return dealt_labels(rng, POSTOP_REGIMEN_COUNTS, affinity, order).astype(int)


def baseline_cohort(rng: np.random.Generator) -> pd.DataFrame:
    """Return every cohort column except the survival times, one row per synthetic patient."""
    histology = histologies(rng)
    n = len(histology)
    site = tumour_sites(rng, histology)
    diameter = diameters(rng, site)
    grade = grades(rng, histology)
    metastasis = metastases(rng, histology, grade)
    nlr = nlr_values(rng, n)
    modality = modalities(rng, histology)
    response = best_responses(rng, modality, diameter, grade)
    subsequent = subsequent_therapies(rng, histology)
    return pd.DataFrame({
        PATIENT_ID: [PATIENT_ID_FORMAT.format(i + 1) for i in range(n)],
        AGE: ages(rng, histology),
        SEX: sexes(rng, n),
        ECOG: ecog_scores(rng, n),
        SITE: site,
        HISTOLOGY: histology,
        DIAMETER: diameter,
        METASTASIS: metastasis,
        GRADE: grade,
        STAGE: stages(rng, metastasis, grade),
        NLR: nlr,
        MGPS: mgps_scores(rng, nlr),
        MODALITY: modality,
        PRIOR_LINES: prior_lines(rng, n),
        CYCLES: cycle_counts(rng, response),
        POSTOP: postop_regimen_counts(rng, subsequent),
        RESPONSE: response,
        SUBSEQUENT: subsequent,
    }).astype({HISTOLOGY: str, SITE: str, SEX: str, GRADE: str, STAGE: str, MODALITY: str,
               RESPONSE: str, SUBSEQUENT: str})


# ============================================================================ sessions and adverse events
def procedures(cohort: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Return one row per AICE session; embolization always at an embolization patient's first session."""
    patient = np.repeat(cohort[PATIENT_ID].to_numpy(), cohort[CYCLES].to_numpy())
    cycle = np.concatenate([np.arange(1, k + 1) for k in cohort[CYCLES]])
    embolizing = np.repeat((cohort[MODALITY] == INFUSION_EMBOLIZATION).to_numpy(), cohort[CYCLES].to_numpy())
    repeat = rng.random(len(cycle)) < REPEAT_EMBOLIZATION_PROBABILITY
    embolization = embolizing & ((cycle == 1) | repeat)
    return pd.DataFrame({PATIENT_ID: patient, CYCLE: cycle, EMBOLIZATION: embolization.astype(int)})


def _patient_weights(event: str, cohort: pd.DataFrame, sessions: pd.DataFrame) -> pd.Series:
    """Return each patient's relative chance of having ``event`` (0 when not eligible)."""
    embolized = sessions.groupby(PATIENT_ID)[EMBOLIZATION].max().reindex(cohort[PATIENT_ID]).to_numpy()
    weight = np.ones(len(cohort))
    if event in EMBOLIZATION_ONLY_EVENTS:
        weight = embolized.astype(float)
    if event == PAIN:
        weight = np.where(embolized == 1, EMBOLIZATION_EVENT_WEIGHT, 1.0)
    if event == MYELOSUPPRESSION:
        weight = np.where(cohort[CYCLES] > 1, MULTI_CYCLE_MARROW_WEIGHT, 1.0)
    if event == LIVER_DYSFUNCTION:
        weight = ((cohort[SITE] == ABDOMINAL) & (cohort[METASTASIS] == 1)).to_numpy().astype(float)
    return pd.Series(weight, index=cohort[PATIENT_ID].to_numpy())


def _event_sessions(event: str, sessions: pd.DataFrame) -> pd.DataFrame:
    """Return the sessions at which ``event`` may occur."""
    return sessions[sessions[EMBOLIZATION] == 1] if event in EMBOLIZATION_ONLY_EVENTS else sessions


def _worst_grade_patients(rng: np.random.Generator, event: str, weights: pd.Series) -> dict[str, str]:
    """Return patient -> worst grade for one event, with exactly Table 5's counts."""
    grades_needed = np.repeat(list(WORST_GRADE_COUNTS[event]), list(WORST_GRADE_COUNTS[event].values()))
    patients = rng.choice(weights.index.to_numpy(), size=len(grades_needed), replace=False,
                          p=weights.to_numpy() / weights.sum())
    return dict(zip(patients, rng.permutation(grades_needed), strict=True))


def _occurrences(rng: np.random.Generator, event: str, worst: dict[str, str],
                 sessions: pd.DataFrame) -> list[tuple[str, int, str, str]]:
    """Return (patient, cycle, event, grade) rows: the worst grade once, lower or equal repeats maybe."""
    rows = []
    cycles_of = sessions.groupby(PATIENT_ID)[CYCLE].apply(list)
    for patient, grade in worst.items():
        cycles = cycles_of[patient]
        worst_cycle = cycles[rng.integers(len(cycles))]
        allowed = SIR_GRADES[:SIR_GRADES.index(grade) + 1]
        for cycle in cycles:
            if cycle == worst_cycle:
                rows.append((patient, cycle, event, grade))
            elif rng.random() < REPEAT_EVENT_PROBABILITY[event]:
                rows.append((patient, cycle, event, allowed[rng.integers(len(allowed))]))
    return rows


def adverse_events(cohort: pd.DataFrame, sessions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Return one row per adverse-event occurrence whose worst grade per patient reproduces Table 5."""
    rows: list[tuple[str, int, str, str]] = []
    severe_marrow: set[str] = set()
    for event in sorted(AE_EVENTS, key=lambda e: e == LIVER_DYSFUNCTION):  # liver after marrow
        weights = _patient_weights(event, cohort, sessions)
        if event == LIVER_DYSFUNCTION:
            weights[list(severe_marrow)] = 0.0
        worst = _worst_grade_patients(rng, event, weights)
        if event == MYELOSUPPRESSION:
            severe_marrow = {p for p, g in worst.items() if g in (SIR_C, SIR_D)}
        rows += _occurrences(rng, event, worst, _event_sessions(event, sessions))
    events = pd.DataFrame(rows, columns=[PATIENT_ID, AE_CYCLE, EVENT, SIR_GRADE])
    events["_order"] = events[EVENT].map({e: i for i, e in enumerate(AE_EVENTS)})
    return events.sort_values([PATIENT_ID, AE_CYCLE, "_order"]).drop(columns="_order").reset_index(drop=True)


# ============================================================================ public entry points
RESPONSE_DETAIL_SEED_OFFSET = 1  # the extra columns draw from seeds of their own, so the rest is unchanged
SESSION_MONTH_SEED_OFFSET = 2
# best_pct_change follows best_response, which the calibration may re-deal: it changes with it.
RESPONSE_DETAIL_COLUMNS = ("best_pct_change", "new_lesion")


def with_response_details(cohort: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Return the cohort with the extra columns the waterfall plot needs (best_pct_change, new_lesion)."""

    details = response_detail_columns(cohort, seed + RESPONSE_DETAIL_SEED_OFFSET)
    return cohort.merge(details, on=PATIENT_ID, how="left", validate="one_to_one")


def with_session_months(sessions: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Return the sessions with the month of each session after the first (for the swimmer plot)."""

    return sessions.assign(session_month=session_months(sessions, seed + SESSION_MONTH_SEED_OFFSET))





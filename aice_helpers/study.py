"""Derived variables: the groupings the paper uses for Table 1 and for its subgroup analyses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from aice_helpers import contract

AGE_CUTOFF_YEARS = 35
DIAMETER_CUTOFF_CM = 10.0
NLR_CUTOFF = 3.0

SITE_LABELS = {
    "head_neck": "Head and neck",
    "pleural_cavity": "Pleural cavity",
    "abdominal_cavity": "Abdominal cavity",
    "pelvic_cavity": "Pelvic cavity",
    "limbs_hips": "Limbs and hips",
}
MODALITY_LABELS = {"infusion": "Infusion", "infusion_embolization": "Infusion + embolization"}
SUBSEQUENT_LABELS = {
    "chemotherapy": "Systemic chemotherapy",
    "targeted": "Targeted drugs",
    "immunotherapy": "Immunotherapy",
    "tcm": "Traditional Chinese medicine",
    "none": "No further therapy",
    "unknown": "Not known",
}


def _binary(condition: pd.Series, true_label: str, false_label: str, true_first: bool = False,
            known: pd.Series | None = None) -> pd.Series:
    """Return a two-level categorical from a boolean condition, in the paper's level order; missing where the
    ``known`` values it was computed from are missing."""
    order = [true_label, false_label] if true_first else [false_label, true_label]
    values = condition.map({True: true_label, False: false_label})
    if known is not None:
        values = values.where(known.notna())
    return pd.Categorical(values, categories=order, ordered=True)


def _mapped(series: pd.Series, labels: dict[str, str]) -> pd.Series:
    """Return a categorical of display labels in the order of the label mapping."""
    return pd.Categorical(series.map(labels), categories=list(labels.values()), ordered=True)


def age_group(cohort: pd.DataFrame) -> pd.Series:
    """Return age as ≤35 / >35 years."""
    return _binary(cohort["age_years"] > AGE_CUTOFF_YEARS, f">{AGE_CUTOFF_YEARS}", f"≤{AGE_CUTOFF_YEARS}",
                   known=cohort["age_years"])


def ecog_group(cohort: pd.DataFrame) -> pd.Series:
    """Return ECOG performance status as 0–1 / 2–3 (4 is shown as its own level if present)."""
    labels = cohort["ecog"].map(lambda e: None if pd.isna(e) else "0–1" if e <= 1 else ("2–3" if e <= 3 else "4"))
    levels = ["0–1", "2–3"] + (["4"] if (cohort["ecog"] == 4).any() else [])
    return pd.Categorical(labels, categories=levels, ordered=True)


def sex_group(cohort: pd.DataFrame) -> pd.Series:
    """Return sex with the paper's labels (male first)."""
    return _mapped(cohort["sex"], {"male": "Male", "female": "Female"})


def site_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the tumour site with display labels."""
    return _mapped(cohort["tumor_site"], SITE_LABELS)


def diameter_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the maximum diameter as <10 / ≥10 cm (Table 1's cut)."""
    cut = DIAMETER_CUTOFF_CM
    return _binary(cohort["max_diameter_cm"] >= cut, f"≥{cut:g}", f"<{cut:g}", known=cohort["max_diameter_cm"])


def metastasis_group(cohort: pd.DataFrame) -> pd.Series:
    """Return distant metastasis as No / Yes."""
    return _binary(cohort["distant_metastasis"] == 1, "Yes", "No", known=cohort["distant_metastasis"])


def grade_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the pathological grade G1 / G2 / G3."""
    return _mapped(cohort["grade"], {g: g for g in contract.GRADES})


def stage_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the clinical stage III / IV."""
    return _mapped(cohort["stage"], {s: s for s in contract.STAGES})


def nlr_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the neutrophil-to-lymphocyte ratio as ≤3 / >3."""
    return _binary(cohort["nlr"] > NLR_CUTOFF, f">{NLR_CUTOFF:g}", f"≤{NLR_CUTOFF:g}", known=cohort["nlr"])


def mgps_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the modified Glasgow prognostic score as 0–1 / 2."""
    return _binary(cohort["mgps"] == 2, "2", "0–1", known=cohort["mgps"])


def modality_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the AICE modality with display labels."""
    return _mapped(cohort["aice_modality"], MODALITY_LABELS)


def prior_lines_group(cohort: pd.DataFrame) -> pd.Series:
    """Return lines of previous systemic treatment as 0 / ≥1."""
    return _binary(cohort["prior_systemic_lines"] >= 1, "≥1", "0", known=cohort["prior_systemic_lines"])


def cycles_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the number of AICE cycles as 1 / ≥2."""
    return _binary(cohort["aice_cycles"] >= 2, "≥2", "1", known=cohort["aice_cycles"])


def subsequent_group(cohort: pd.DataFrame) -> pd.Series:
    """Return the therapy received after AICE with display labels."""
    return _mapped(cohort["subsequent_therapy"], SUBSEQUENT_LABELS)


@dataclass(frozen=True)
class Characteristic:
    """A baseline characteristic: contract column, the paper's label, grouping and level ids.

    ``level_ids`` name the levels of ``grouping`` in order, as in the published-number ids
    ``table1.<key>.<level id>`` (see data/published/table1.yaml).
    """

    key: str
    label: str
    grouping: Callable[[pd.DataFrame], pd.Series]
    level_ids: tuple[str, ...]


TABLE1_CHARACTERISTICS: tuple[Characteristic, ...] = (
    Characteristic("age_years", "Age (years)", age_group, ("le35", "gt35")),
    Characteristic("ecog", "ECOG performance status", ecog_group, ("0_1", "2_3", "4")),
    Characteristic("sex", "Sex", sex_group, ("male", "female")),
    Characteristic("tumor_site", "Tumour location", site_group, tuple(SITE_LABELS)),
    Characteristic("max_diameter_cm", "Maximum diameter (cm)", diameter_group, ("lt10", "ge10")),
    Characteristic("distant_metastasis", "Distant metastasis", metastasis_group, ("no", "yes")),
    Characteristic("grade", "Pathological grade", grade_group, ("g1", "g2", "g3")),
    Characteristic("stage", "Stage", stage_group, ("iii", "iv")),
    Characteristic("nlr", "NLR", nlr_group, ("le3", "gt3")),
    Characteristic("mgps", "mGPS", mgps_group, ("0_1", "2")),
    Characteristic("aice_modality", "AICE modality", modality_group, tuple(MODALITY_LABELS)),
    Characteristic("prior_systemic_lines", "Lines of previous systemic treatment", prior_lines_group, ("0", "ge1")),
    Characteristic("aice_cycles", "AICE cycles", cycles_group, ("1", "ge2")),
)

"""The study's design and treatment protocol, worded for the book from the published numbers."""

from __future__ import annotations

import pandas as pd

__all__ = [
    "study_period",
    "eligibility_criteria",
    "treatment_schedule",
]


def _value(published: pd.DataFrame, entry_id: str) -> str:
    """Return a published value as printed text (whole numbers without a decimal point)."""
    value = published.at[entry_id, "value"]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _span(published: pd.DataFrame, stem: str) -> str:
    """Return a published range 'min–max' from the ids stem.min and stem.max."""
    return f"{_value(published, stem + '.min')}–{_value(published, stem + '.max')}"


def study_period(published: pd.DataFrame) -> tuple[str, str]:
    """Return the first and last month of treatment as printed (YYYY-MM)."""
    return _value(published, "methods.study_period.start"), _value(published, "methods.study_period.end")


def eligibility_criteria(published: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Return the inclusion and exclusion criteria, in the book's words, with the paper's thresholds."""
    inclusion = [
        f"aged {_value(published, 'methods.inclusion.age_min')} years or older, either sex",
        "soft tissue sarcoma proven by histology (WHO "
        f"{_value(published, 'methods.inclusion.who_classification_year')} classification), or an "
        "unresectable tumour typical of sarcoma on imaging after earlier histology",
        f"at least {_value(published, 'methods.inclusion.aice_sessions_min')} AICE session",
        f"ECOG performance status {_value(published, 'methods.inclusion.ecog_max')} or better",
        f"life expectancy of {_value(published, 'methods.inclusion.expected_survival_min')} months or more",
        "complete clinical and follow-up records",
    ]
    exclusion = [
        "serious bleeding tendency, uncorrectable coagulopathy or platelets below "
        f"{_value(published, 'methods.exclusion.platelet_count')} × 10⁹/L",
        "unable to lie in the position the procedure needs",
        "poor general condition (widespread disease, severe infection, cachexia, organ failure) "
        "not correctable in the short term",
        f"life expectancy under {_value(published, 'methods.exclusion.expected_survival')} months",
    ]
    return inclusion, exclusion


def treatment_schedule(published: pd.DataFrame) -> pd.DataFrame:
    """Return one AICE cycle as a table: agent, route, dose and timing, from the published numbers."""
    rows = [
        ("Cisplatin", "intra-arterial, through the catheter in the feeding artery",
         f"{_span(published, 'methods.cisplatin.dose')} mg/m²",
         f"continuous infusion over {_value(published, 'methods.cisplatin.infusion_hours')} hours"),
        ("Cisplatin, reduced", "intra-arterial",
         f"{_span(published, 'methods.cisplatin.reduced_dose')} mg/m²",
         f"when creatinine clearance is below "
         f"{_value(published, 'methods.cisplatin.reduction_creatinine_clearance')} mL/min "
         "or after earlier kidney toxicity"),
        ("Epirubicin", "intravenous", f"{_span(published, 'methods.epirubicin.dose')} mg/m²",
         f"days {_value(published, 'methods.epirubicin.day.first')} and "
         f"{_value(published, 'methods.epirubicin.day.second')}"),
        ("Embolization", "super-selective microcatheter, lipiodol or microspheres", "until flow stops",
         "only for tumours with a rich blood supply on imaging or angiography"),
        ("Cycle length", "", "", f"every {_span(published, 'methods.cycle_weeks')} weeks"),
    ]
    return pd.DataFrame(rows, columns=["component", "route", "dose", "when"]).set_index("component")

"""The data contract: file names, column names, types and allowed values (see data/README.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "REPO_DIR",
    "DATA_DIR",
    "PUBLISHED_DIR",
    "COHORT_FILE",
    "PROCEDURES_FILE",
    "ADVERSE_EVENTS_FILE",
    "N_PATIENTS",
    "N_PROCEDURES",
    "SEXES",
    "TUMOR_SITES",
    "GRADES",
    "STAGES",
    "MODALITIES",
    "RESPONSES",
    "SUBSEQUENT_THERAPIES",
    "AE_EVENTS",
    "SIR_GRADES",
    "Column",
    "COHORT_COLUMNS",
    "PROCEDURE_COLUMNS",
    "ADVERSE_EVENT_COLUMNS",
    "CONTRACT",
    "contract_column",
    "MISSING_MARK",
]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = REPO_DIR / "data"
PUBLISHED_DIR = DATA_DIR / "published"

COHORT_FILE = "aice_cohort.csv"
PROCEDURES_FILE = "aice_procedures.csv"
ADVERSE_EVENTS_FILE = "aice_adverse_events.csv"

N_PATIENTS = 113
N_PROCEDURES = 216

SEXES = ("male", "female")
TUMOR_SITES = ("head_neck", "pleural_cavity", "abdominal_cavity", "pelvic_cavity", "limbs_hips")
GRADES = ("G1", "G2", "G3")
STAGES = ("III", "IV")
MODALITIES = ("infusion", "infusion_embolization")
RESPONSES = ("CR", "PR", "SD", "PD")
SUBSEQUENT_THERAPIES = ("chemotherapy", "targeted", "immunotherapy", "tcm", "none", "unknown")
AE_EVENTS = (
    "pyrexia",
    "pain",
    "nausea_vomiting",
    "liver_dysfunction",
    "renal_dysfunction",
    "myelosuppression",
)
SIR_GRADES = ("A", "B", "C", "D", "E", "F")


@dataclass(frozen=True)
class Column:
    """One column of a contract file: its name, kind and allowed values or bounds."""

    name: str
    kind: str  # "string", "integer", "number"
    levels: tuple[str, ...] | tuple[int, ...] | None = None
    minimum: float | None = None
    minimum_inclusive: bool = True
    maximum: float | None = None
    unique: bool = False
    description: str = ""


COHORT_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "string", unique=True, description="pseudonymous patient identifier"),
    Column("age_years", "number", minimum=0, maximum=120, description="age at first AICE, years"),
    Column("sex", "string", SEXES, description="sex"),
    Column("ecog", "integer", (0, 1, 2, 3, 4), description="ECOG performance status at baseline"),
    Column("tumor_site", "string", TUMOR_SITES, description="location of the primary tumour"),
    Column("histology", "string", description="pathological subtype (free text)"),
    Column("max_diameter_cm", "number", minimum=0.1, maximum=100,
           description="maximum diameter of the target tumour, cm"),
    Column("distant_metastasis", "integer", (0, 1), description="distant metastasis at baseline"),
    Column("grade", "string", GRADES, description="pathological grade"),
    Column("stage", "string", STAGES, description="clinical stage"),
    Column("nlr", "number", minimum=0.01, maximum=500,
           description="neutrophil-to-lymphocyte ratio at baseline"),
    Column("mgps", "integer", (0, 1, 2), description="modified Glasgow prognostic score"),
    Column("aice_modality", "string", MODALITIES, description="infusion alone or with embolization"),
    Column("prior_systemic_lines", "integer", minimum=0, maximum=30, description="lines of previous systemic treatment"),
    Column("aice_cycles", "integer", minimum=1, maximum=100, description="number of AICE cycles received"),
    Column("postop_regimens", "integer", minimum=0, maximum=30,
           description="number of treatment regimens after AICE (the paper's 'postoperative therapy')"),
    Column("best_response", "string", RESPONSES, description="best overall response, RECIST 1.1"),
    Column("subsequent_therapy", "string", SUBSEQUENT_THERAPIES, description="therapy after AICE"),
    Column("os_months", "number", minimum=0, minimum_inclusive=False, maximum=1200,
           description="overall survival time from first AICE, months"),
    Column("os_event", "integer", (0, 1), description="1 death, 0 censored"),
    Column("pfs_months", "number", minimum=0, minimum_inclusive=False, maximum=1200,
           description="progression-free survival time from first AICE, months"),
    Column("pfs_event", "integer", (0, 1), description="1 progression or death, 0 censored"),
)

PROCEDURE_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "string", description="patient identifier, as in the cohort file"),
    Column("cycle", "integer", minimum=1, maximum=100, description="AICE cycle number, 1 for the first"),
    Column("embolization", "integer", (0, 1), description="1 if the session included embolization"),
)

ADVERSE_EVENT_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "string", description="patient identifier, as in the cohort file"),
    Column("cycle", "integer", minimum=1, maximum=100, description="AICE cycle after which the event occurred"),
    Column("event", "string", AE_EVENTS, description="treatment-related adverse event"),
    Column("sir_grade", "string", SIR_GRADES, description="Society of Interventional Radiology grade A-F"),
)

# Covariates may be missing (an empty cell, or a token the mapping lists under ``missing:``); identifiers,
# survival times and events, and the rows of the procedures and adverse-events files may not. Best response
# is the outcome of the response chapter, which has no rule yet for patients not evaluable: it may not either.
MISSING_ALLOWED: frozenset[str] = frozenset(
    column.name for column in COHORT_COLUMNS
    if column.name not in ("patient_id", "os_months", "os_event", "pfs_months", "pfs_event", "best_response")
)

CONTRACT: dict[str, tuple[Column, ...]] = {
    COHORT_FILE: COHORT_COLUMNS,
    PROCEDURES_FILE: PROCEDURE_COLUMNS,
    ADVERSE_EVENTS_FILE: ADVERSE_EVENT_COLUMNS,
}


# Plausibility limits: the minimum and maximum above keep out values no patient can have (an age of 250, a
# survival of 1e308 months, a tumour of 1e-320 cm), which would otherwise pass as numbers and wreck a model.
# A cohort that needs wider limits states them in its mapping file (``limits:``, see aice_helpers.mapping).
Limits = dict[str, tuple[float | None, float | None]]  # column: (minimum, maximum); None keeps the contract's


def limited_contract(limits: Limits | None = None) -> dict[str, tuple[Column, ...]]:
    """Return the contract with the plausibility limits of ``limits`` in place of its own (a column not named
    keeps its bounds); raise KeyError for a column that is not a number or integer column of the contract."""
    if not limits:
        return dict(CONTRACT)
    numeric = {column.name for columns in CONTRACT.values() for column in columns
               if column.kind in ("number", "integer") and not column.levels}
    unknown = sorted(set(limits) - numeric)
    if unknown:
        raise KeyError(f"{unknown[0]!r} is not a numeric contract column with limits ({', '.join(sorted(numeric))})")

    def limited(column: Column) -> Column:
        if column.name not in limits:
            return column
        low, high = limits[column.name]
        return replace(column, minimum=column.minimum if low is None else low,
                       minimum_inclusive=column.minimum_inclusive if low is None else True,
                       maximum=column.maximum if high is None else high)

    return {name: tuple(limited(column) for column in columns) for name, columns in CONTRACT.items()}


def contract_column(columns: tuple[Column, ...], name: str) -> str:
    """Return ``name`` after checking that the data contract defines it."""
    if name not in {column.name for column in columns}:
        raise KeyError(f"column {name!r} is not in the data contract")
    return name

MISSING_MARK = "—"  # how every table prints a value the data or the paper do not give

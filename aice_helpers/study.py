"""The study's design, declared once: endpoints, significance level, ties, landmarks, cut-offs,
codings of the factors, and the covariates of the multivariable models (Tables 3 and 4).

Every other module reads these facts from here; none declares them again. The groupings below are
the ones the paper uses for Table 1 and for its subgroup analyses.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from aice_helpers import contract
from aice_helpers.contract import RESPONSES

__all__ = [
    "UNIVARIABLE_CLAIMS",
    "PAPER_SIGNIFICANT",
    "PAPER_NOT_SIGNIFICANT",
    "PAPER_CONFLICTING",
    "CLAIM_KEYS",
    "paper_univariable_verdict",
    "paper_univariable_text",
    "MULTIVARIABLE_CLAIMS",
    "ALPHA",
    "CONFIDENCE",
    "TIES",
    "ENDPOINT_TABLES",
    "LANDMARK_YEARS",
    "LANDMARK_TRANSFORM",
    "MONTHS_PER_YEAR",
    "DAYS_PER_MONTH",
    "AGE_CUTOFF_YEARS",
    "DIAMETER_CUTOFF_CM",
    "NLR_CUTOFF",
    "SITE_LABELS",
    "MODALITY_LABELS",
    "SUBSEQUENT_LABELS",
    "age_group",
    "ecog_group",
    "sex_group",
    "site_group",
    "diameter_group",
    "metastasis_group",
    "grade_group",
    "stage_group",
    "nlr_group",
    "mgps_group",
    "modality_group",
    "prior_lines_group",
    "cycles_group",
    "subsequent_group",
    "Characteristic",
    "TABLE1_CHARACTERISTICS",
    "THRESHOLD_OPERATORS",
    "binary_indicator",
    "threshold_indicator",
    "Coding",
    "CODINGS",
    "COX_TABLES",
    "SUBGROUP_FACTORS",
    "Endpoint",
    "ENDPOINTS",
    "response_group",
    "response_levels",
    "postop_group",
    "grade_g3_group",
    "Factor",
    "BOTH",
    "FACTORS",
    "FACTORS_BY_KEY",
    "PAPER_NAMED_FACTORS",
]

ALPHA = 0.05  # two-sided level of significance (Methods: P < 0.05)
CONFIDENCE = 1 - ALPHA  # every interval of the paper is a 95% interval
TIES = "breslow"  # SPSS COXREG, the paper's Cox software, handles tied times by Breslow's method only
ENDPOINT_TABLES: dict[str, str] = {"os": "table3", "pfs": "table4"}  # the multivariable table of each endpoint
LANDMARK_YEARS: dict[str, tuple[int, ...]] = {"os": (2, 3), "pfs": (1, 2)}
LANDMARK_TRANSFORM = "log-log"  # Greenwood on the log(-log S) scale (Stata sts list), as the printed limits fit
MONTHS_PER_YEAR = 12
DAYS_PER_MONTH = 30.4375  # 365.25 / 12: months from dates
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


# ---------------------------------------------------------------------------------------------
# Two-level codings of the factors (subgroup and Cox analyses) and the covariates of Tables 3 and 4

THRESHOLD_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def binary_indicator(series: pd.Series, positive_levels: Sequence) -> pd.Series:
    """1 where the value is one of ``positive_levels``, 0 otherwise, missing stays missing."""
    out = series.isin(list(positive_levels)).astype("Int64")
    return out.mask(series.isna())


def threshold_indicator(series: pd.Series, op: str, threshold: float) -> pd.Series:
    """1 where ``series op threshold`` (op one of >, >=, <, <=), else 0; missing stays missing."""
    if op not in THRESHOLD_OPERATORS:
        raise ValueError(f"op must be one of {list(THRESHOLD_OPERATORS)}, not {op!r}")
    out = THRESHOLD_OPERATORS[op](series, threshold).astype("Int64")
    return out.mask(series.isna())


@dataclass(frozen=True)
class Coding:
    """A two-level coding of a cohort column for the subgroup and Cox analyses."""

    label: str  # e.g. "≥10 vs <10 cm"
    indicator: Callable[[pd.DataFrame], pd.Series]  # 1 for the first-named (exposed) level
    levels: tuple[str, str]  # published level ids of (indicator 1, indicator 0)


def _size_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for a maximum diameter of 10 cm or more (Table 1's split)."""
    return threshold_indicator(cohort["max_diameter_cm"], ">=", DIAMETER_CUTOFF_CM)


def _metastasis_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for distant metastasis at baseline."""
    return binary_indicator(cohort["distant_metastasis"], [1])


def _few_regimens_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for 0-1 treatment regimens after AICE (reference: 2 or more)."""
    return threshold_indicator(cohort["postop_regimens"], "<=", 1)


def _grade3_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for grade G3 (reference: G1 and G2)."""
    return binary_indicator(cohort["grade"], ["G3"])


def _stage4_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for stage IV (reference: III)."""
    return binary_indicator(cohort["stage"], ["IV"])


def _one_cycle_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for a single AICE cycle (reference: 2 or more)."""
    return threshold_indicator(cohort["aice_cycles"], "<", 2)


def _no_response_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for best response SD or PD (reference: PR, with CR if any)."""
    return binary_indicator(cohort["best_response"].astype(object), list(RESPONSES[2:]))  # missing stays missing


def _high_nlr_indicator(cohort: pd.DataFrame) -> pd.Series:
    """Return 1 for NLR above 3."""
    return threshold_indicator(cohort["nlr"], ">", NLR_CUTOFF)


CODINGS: dict[str, Coding] = {
    "max_diameter_cm": Coding("≥10 vs <10 cm (Table 1's split)", _size_indicator, ("ge10", "lt10")),
    "distant_metastasis": Coding("yes vs no", _metastasis_indicator, ("yes", "no")),
    "postop_regimens": Coding("0–1 vs ≥2", _few_regimens_indicator, ("0_1", "ge2")),
    "grade": Coding("G3 vs G1+G2", _grade3_indicator, ("g3", "g1_g2")),
    "stage": Coding("IV vs III", _stage4_indicator, ("iv", "iii")),
    "aice_cycles": Coding("1 vs ≥2", _one_cycle_indicator, ("1", "ge2")),
    "best_response": Coding("SD+PD vs PR", _no_response_indicator, ("sd_pd", "pr")),
    "nlr": Coding(">3 vs ≤3", _high_nlr_indicator, ("gt3", "le3")),
}
COX_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "table3": ("os", ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade", "stage",
                      "aice_cycles", "best_response")),
    "table4": ("pfs", ("nlr", "max_diameter_cm", "distant_metastasis", "postop_regimens", "grade", "stage",
                       "aice_cycles", "best_response")),
}
SUBGROUP_FACTORS: tuple[str, ...] = ("max_diameter_cm", "distant_metastasis", "postop_regimens")


# ---------------------------------------------------------------------------------------------
# Endpoints and the prognostic factors of the subgroup analyses (Tables S1/S2)


@dataclass(frozen=True)
class Endpoint:
    """A survival endpoint: its names, the contract columns it is read from and the paper's figure."""

    key: str
    name: str
    short: str
    time_col: str
    event_col: str
    figure: str
    landmarks: tuple[float, ...]

ENDPOINTS: dict[str, Endpoint] = {
    "pfs": Endpoint("pfs", "Progression-free survival", "PFS", "pfs_months", "pfs_event", "Figure 2",
                    tuple(float(MONTHS_PER_YEAR * y) for y in LANDMARK_YEARS["pfs"])),
    "os": Endpoint("os", "Overall survival", "OS", "os_months", "os_event", "Figure 3",
                   tuple(float(MONTHS_PER_YEAR * y) for y in LANDMARK_YEARS["os"])),
}

def response_group(cohort: pd.DataFrame) -> pd.Series:
    """Best response as CR+PR / SD+PD (the paper's 'short-term efficacy')."""
    responders = cohort["best_response"].astype(str).isin(["CR", "PR"])
    return pd.Categorical(responders.map({True: "CR+PR", False: "SD+PD"}).where(cohort["best_response"].notna()),
                          categories=["CR+PR", "SD+PD"], ordered=True)

def response_levels(cohort: pd.DataFrame) -> pd.Series:
    """Best response in its RECIST categories CR, PR, SD, PD."""
    return pd.Categorical(cohort["best_response"].astype(str), categories=["CR", "PR", "SD", "PD"], ordered=True)

def postop_group(cohort: pd.DataFrame) -> pd.Series:
    """The number of postoperative treatment regimens as 0–1 / ≥2."""
    many = cohort["postop_regimens"] >= 2
    return pd.Categorical(many.map({True: "≥2", False: "0–1"}).where(cohort["postop_regimens"].notna()),
                          categories=["0–1", "≥2"], ordered=True)

def grade_g3_group(cohort: pd.DataFrame) -> pd.Series:
    """Pathological grade as G1+G2 / G3 (the coding of the paper's Cox models)."""
    high = cohort["grade"].astype(str) == "G3"
    return pd.Categorical(high.map({True: "G3", False: "G1+G2"}).where(cohort["grade"].notna()),
                          categories=["G1+G2", "G3"], ordered=True)

@dataclass(frozen=True)
class Factor:
    """A candidate prognostic factor: key, label, grouping, HR reference level, the paper's verdicts.

    ``paper_significant`` lists the endpoints for which the paper reports a univariable P < 0.05;
    ``published_levels`` maps a level to the id parts the paper's printed subgroup medians use.
    """

    key: str
    label: str
    grouping: Callable[[pd.DataFrame], pd.Series]
    reference: str | None = None
    paper_significant: tuple[str, ...] = ()
    published_levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

BOTH = ("os", "pfs")

_TABLE1 = {c.key: c for c in TABLE1_CHARACTERISTICS}

# The paper's univariable verdicts: the subgroup paragraph names size, metastasis and postoperative
# therapy (P printed) and grade, stage, cycles and short-term efficacy (P < 0.05) for both endpoints.
# ``paper_significant`` records the models' side (NLR is in Table 4 only); what the chapters show as the paper's
# verdict is ``paper_univariable_verdict`` below, which sets the claims beside the models (NLR for OS: conflicting).
FACTORS: tuple[Factor, ...] = (
    Factor("age_years", _TABLE1["age_years"].label, age_group),
    Factor("ecog", _TABLE1["ecog"].label, ecog_group),
    Factor("sex", _TABLE1["sex"].label, sex_group),
    Factor("tumor_site", _TABLE1["tumor_site"].label, site_group),
    Factor("max_diameter_cm", _TABLE1["max_diameter_cm"].label, diameter_group, None, BOTH,
           {"<10": ("lt10", "le10"), "≥10": ("ge10",)}),
    Factor("distant_metastasis", _TABLE1["distant_metastasis"].label, metastasis_group, None, BOTH,
           {"No": ("no",), "Yes": ("yes",)}),
    Factor("grade", _TABLE1["grade"].label, grade_group, None, BOTH),
    Factor("grade_g3", "Pathological grade, G3 vs G1+G2", grade_g3_group, None, BOTH),
    Factor("stage", _TABLE1["stage"].label, stage_group, None, BOTH),
    Factor("nlr", _TABLE1["nlr"].label, nlr_group, None, ("pfs",)),
    Factor("mgps", _TABLE1["mgps"].label, mgps_group),
    Factor("aice_modality", _TABLE1["aice_modality"].label, modality_group),
    Factor("prior_systemic_lines", _TABLE1["prior_systemic_lines"].label, prior_lines_group),
    Factor("aice_cycles", _TABLE1["aice_cycles"].label, cycles_group, "≥2", BOTH),
    Factor("best_response", "Short-term response, SD+PD vs CR+PR", response_group, "CR+PR", BOTH),
    Factor("best_response_recist", "Short-term response, RECIST categories", response_levels, None, BOTH),
    Factor("postop_regimens", "Postoperative treatment regimens", postop_group, "≥2", BOTH,
           {"0–1": ("0_1",), "≥2": ("ge2",)}),
)

FACTORS_BY_KEY: dict[str, Factor] = {f.key: f for f in FACTORS}

# The subgroups the paper names in its text, in the order the chapter plots them.
PAPER_NAMED_FACTORS = ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade_g3", "stage",
                       "aice_cycles", "nlr", "best_response")


# ---------------------------------------------------------------------------------------------
# What the paper claims about its factors (checked against the tables by the scorecard and the Cox chapter)

# Univariable claims "P < 0.05" recorded in the published numbers: id -> (factors, endpoints).
UNIVARIABLE_CLAIMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "abstract.univariate.p_threshold": (("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade", "nlr"),
                                        ("os", "pfs")),
    "results.subgroup.other_factors.p": (("grade", "stage", "aice_cycles", "best_response"), ("os", "pfs")),
}
# Multivariable claim "independent prognostic factors for OS (P < 0.05)": id -> (table, factors).
MULTIVARIABLE_CLAIMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "abstract.multivariate.p_threshold": ("table3", ("max_diameter_cm", "distant_metastasis", "postop_regimens",
                                                     "grade", "best_response")),
}

# What the paper says of each factor's univariable significance, in one place for every chapter: the claims
# above, and its rule that every univariably significant factor entered the Cox model of that endpoint.
PAPER_SIGNIFICANT, PAPER_NOT_SIGNIFICANT, PAPER_CONFLICTING = "P < 0.05", "n.s.", "conflicting"
CLAIM_KEYS: dict[str, str] = {"grade_g3": "grade", "best_response_recist": "best_response"}  # same factor, other coding


def _claim_places(key: str, endpoint: str) -> list[str]:
    """Return where the paper calls a factor univariably significant for an endpoint (the claims' sections)."""
    claim_key = CLAIM_KEYS.get(key, key)
    places = [entry_id.split(".")[0] for entry_id, (factors, endpoints) in UNIVARIABLE_CLAIMS.items()
              if claim_key in factors and endpoint in endpoints]
    if claim_key in SUBGROUP_FACTORS:
        places.append("results")  # its log-rank P is printed below 0.05 (Tables S1/S2 text)
    return list(dict.fromkeys(places))


def _model_table(key: str, endpoint: str) -> tuple[str, bool]:
    """Return the Cox table of an endpoint and whether it holds the factor."""
    for table, (table_endpoint, factors) in COX_TABLES.items():
        if table_endpoint == endpoint:
            return table, CLAIM_KEYS.get(key, key) in factors
    return "", False


def paper_univariable_verdict(key: str, endpoint: str) -> str:
    """Return what the paper says of a factor for an endpoint: PAPER_SIGNIFICANT (called significant and in the
    model), PAPER_NOT_SIGNIFICANT (neither) or PAPER_CONFLICTING (one without the other)."""
    called = bool(_claim_places(key, endpoint))
    _, held = _model_table(key, endpoint)
    if called and held:
        return PAPER_SIGNIFICANT
    return PAPER_CONFLICTING if called or held else PAPER_NOT_SIGNIFICANT


def paper_univariable_text(key: str, endpoint: str) -> str:
    """Return, in words, what the paper says of a factor's univariable significance for an endpoint."""
    short = endpoint.upper()
    table, held = _model_table(key, endpoint)
    table_name = table.replace("table", "Table ")
    places = " and ".join("the Results" if place == "results" else f"the {place}"
                          for place in _claim_places(key, endpoint))
    verdict = paper_univariable_verdict(key, endpoint)
    call = "call" if " and " in places else "calls"
    if verdict == PAPER_SIGNIFICANT:
        return f"{places} {call} it significant for {short}, and {table_name} holds it"
    if verdict == PAPER_NOT_SIGNIFICANT:
        return f"the paper never calls it significant for {short}, and {table_name} leaves it out"
    if held:
        return f"{table_name} holds it, although the paper never calls it significant for {short}"
    return (f"{places} {call} it significant for {short}, but {table_name} leaves "
            f"it out, which by the paper's rule (every univariably significant factor enters the model) means it was "
            f"not: the paper contradicts itself")


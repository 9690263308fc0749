"""The multivariable Cox chapter: Tables 3 and 4 beside the paper, the paper's model-building rule applied to
the data, and the checks the paper does not report (proportional hazards, events per variable, concordance,
the overlap of stage and distant metastasis, tied event times, sensitivity analyses).

Codings are the scorecard's (:mod:`aice_helpers.paper.reproduce`): tumour size ≥10 vs <10 cm (Table 1's split),
metastasis yes vs no, postoperative regimens 0–1 vs ≥2, grade G3 vs G1+G2, stage IV vs III, cycles 1 vs ≥2,
response SD+PD vs PR, NLR >3 vs ≤3. The first-named group is coded 1, so a hazard ratio above 1 means a higher
hazard in that group than in the reference group named second. Models use Breslow ties and Wald statistics,
as SPSS does, unless a function is told otherwise. Model problems (:class:`aice_helpers.stats.cox.ModelWarning`)
are kept in each result's ``problems`` and never raised, so a chapter can print them as notes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError
from lifelines.statistics import proportional_hazard_test
from scipy.stats import norm

from aice_helpers import study
from aice_helpers.analyses.models import (  # noqa: F401  # noqa: F401
    CONTINUOUS_LABELS,
    EPV_RULE,
    EVENT,
    PAPER_LABELS,
    SIZE_PER_5CM,
    SIZE_STEP_CM,
    TIME,
    ModelData,
    covariate_columns,
    covariate_name,
    events_per_variable,
    fit_model,
    model_data,
    paper_model,
    paper_model_covariates,
)
from aice_helpers.pages.tables import NO, YES, published_or_none
from aice_helpers.stats import survival
from aice_helpers.stats.cox import (
    COLLINEAR_REASON,
    FIT_FAILED,
    FLAT_REASON,
    GLOBAL_TERM,
    LIFELINES_FIT_OPTIONS,
    NO_EVENTS_REASON,
    NOT_CONVERGED,
    PAPER_TIES,
    SEPARATION_REASON,
    SINGLE_VALUE_REASON,
    TOO_LARGE_REASON,
    CoxResult,
    estimable_table,
    schoenfeld_residuals,
    zph_score_test,
)
from aice_helpers.stats.zph_smooth import zph_plot_frame

__all__ = [
    "complete_case_note",
    "CONTINUOUS_LABELS",
    "EVENT",
    "PAPER_LABELS",
    "SIZE_PER_5CM",
    "SIZE_STEP_CM",
    "TIME",
    "ModelData",
    "covariate_columns",
    "covariate_name",
    "fit_model",
    "model_data",
    "paper_model",
    "paper_model_covariates",
    "SIGNIFICANCE_LEVEL",
    "EPV_RULE",
    "Z95",
    "ENDPOINT_TABLES",
    "TABLE_NAMES",
    "LOGRANK",
    "WALD",
    "CANDIDATES",
    "MAIN_COVARIATES",
    "LOWESS_FRACTION",
    "LOWESS_EXACT_POINTS",
    "LOWESS_DELTA_SHARE",
    "PH_COLUMNS",
    "MODEL_AS_PUBLISHED",
    "MODEL_NLR_ADDED",
    "MODEL_NLR_DROPPED",
    "MODEL_SIZE_CONTINUOUS",
    "MODEL_STAGE_DROPPED",
    "MODEL_EFRON",
    "YES",
    "NO",
    "HR_CHANGE_WORTH_NOTING",
    "SMALL_GROUP",
    "NOT_ESTIMABLE",
    "NOT_SHOWN",
    "REASON_EXPLANATIONS",
    "REASON_PREFIX_EXPLANATIONS",
    "LARGEST_PRINTED_LOG_HR",
    "cox_table",
    "forest_rows",
    "published_forest_rows",
    "reason_text",
    "not_estimable_note",
    "cox_table_with_published",
    "comparison_note",
    "size_cut_note",
    "indicator_groups",
    "univariable_screen",
    "selected_covariates",
    "selection_by_univariable_rule",
    "rule_models",
    "p_phrase",
    "rule_note",
    "small_group_note",
    "paper_univariable_claims",
    "paper_rule_check",
    "multivariable_claim_check",
    "paper_rule_note",
    "lifelines_scaled_residuals",
    "ph_test_table",
    "estimable_model",
    "lifelines_ph_p_values",
    "ph_p_values",
    "ph_note",
    "lowess_delta",
    "schoenfeld_frame",
    "patients_text",
    "events_per_variable",
    "model_summary",
    "screening_summary",
    "epv_note",
    "STAGE",
    "METASTASIS",
    "stage_metastasis_overlap",
    "overlap_cells",
    "stage_coefficient_se",
    "hazard_ratio_text",
    "required_beta",
    "stage_note",
    "ties_summary",
    "ties_comparison",
    "ties_note",
    "sensitivity_models",
    "sensitivity_forest_rows",
    "sensitivity_table",
    "sensitivity_note",
    "widest_significant_interval",
    "wide_interval_note",
    "reference_note",
    "model_problems_note",
]

SIGNIFICANCE_LEVEL = study.ALPHA
Z95 = float(norm.ppf(0.975))
ENDPOINT_TABLES = study.ENDPOINT_TABLES
TABLE_NAMES: dict[str, str] = {"table3": "Table 3", "table4": "Table 4"}
LOGRANK, WALD = "log-rank", "Wald"

# The univariable screen: the paper's eight codings and the other characteristics of Table 1.
CANDIDATES: tuple[str, ...] = (
    "age_years", "sex", "ecog", "tumor_site", "max_diameter_cm", "distant_metastasis", "grade", "stage", "nlr",
    "mgps", "aice_modality", "prior_systemic_lines", "aice_cycles", "best_response", "postop_regimens",
)
# The covariates whose scaled Schoenfeld residuals the chapter draws: the four in both models that the abstract
# calls independent prognostic factors.
MAIN_COVARIATES: tuple[str, ...] = ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade")
LOWESS_FRACTION = 0.6
# Above this many deaths lowess fits at points LOWESS_DELTA_SHARE of the time range apart and interpolates
# between them (statsmodels' ``delta``): exact fits at every death take hours at a million patients.
LOWESS_EXACT_POINTS = 5_000
LOWESS_DELTA_SHARE = 0.01
PH_COLUMNS = ("χ² score (km)", "P score (km)", "P score (rank)", "P lifelines (rank)", "P lifelines (km)")
MODEL_AS_PUBLISHED = "as in the paper"
MODEL_NLR_ADDED = "NLR added"
MODEL_NLR_DROPPED = "NLR left out"
MODEL_SIZE_CONTINUOUS = "size per 5 cm"
MODEL_STAGE_DROPPED = "stage left out"
MODEL_EFRON = "Efron ties"
HR_CHANGE_WORTH_NOTING = 0.10  # a hazard ratio that moves by more than 10% (log scale) between two models
SMALL_GROUP = 10  # patients: a group this small makes its hazard ratio fragile
NOT_ESTIMABLE = "not estimable"
NOT_SHOWN = "–"
# What each reason fit_cox gives for a row it cannot estimate means, in a sentence a reader can follow.
REASON_EXPLANATIONS: dict[str, str] = {
    SINGLE_VALUE_REASON: "every patient in the model is in the same group, so there is nothing to compare",
    NO_EVENTS_REASON: "no patient had the event, so the model has nothing to fit",
    SEPARATION_REASON: "the events fall so unevenly between its groups (a group without events, or every event of "
                       "one group before any of the other) that the likelihood keeps rising as the hazard ratio runs "
                       "off towards 0 or infinity: there is no finite estimate (separation)",
    FLAT_REASON: "the data hold next to no information on it (for instance it almost coincides with another "
                 "covariate that separates), so its interval runs from 0 to infinity",
    COLLINEAR_REASON: "it is a combination of the other covariates (collinear), so the data cannot tell its effect "
                      "apart from theirs; it is left out of the model, as R leaves it out (NA)",
    TOO_LARGE_REASON: "some of its values are too large to compute with (a unit or data-entry error?), so it is left "
                      "out of the model",
}
# Reasons that start with these words (an engine's own message follows), explained in a sentence.
REASON_PREFIX_EXPLANATIONS: dict[str, str] = {
    FIT_FAILED: "the fit failed because its information matrix is singular: too few patients or events for this "
                "many covariates, or covariates that duplicate one another",
    NOT_CONVERGED: "the fit did not converge (the estimates kept moving), which usually means that some group "
                          "has no events or very few",
}
LARGEST_PRINTED_LOG_HR = 700.0  # e^700 is near the largest float; beyond it a hazard ratio cannot be printed


# ---------------------------------------------------------------------------------------------
# Covariates and model data
















# ---------------------------------------------------------------------------------------------
# Tables 3 and 4


def _ci_text(lower: float, upper: float, decimals: int = 2) -> str:
    """'1.19–2.83', or an en dash when the interval is missing."""
    if pd.isna(lower) or pd.isna(upper):
        return "–"
    return f"{lower:.{decimals}f}–{upper:.{decimals}f}"


def cox_table(result: CoxResult) -> pd.DataFrame:
    """A fitted model in the layout of Tables 3 and 4: β, HR, 95% CI, Wald P ("not estimable" where it cannot tell)."""
    table = estimable_table(result)
    shown = pd.DataFrame({
        "β": [f"{b:.3f}" if pd.notna(b) else "–" for b in table["beta"]],
        "HR": [f"{h:.2f}" if pd.notna(h) else NOT_ESTIMABLE if label in result.not_estimable else "–"
               for label, h in zip(table["label"], table["hr"])],
        "95% CI": [_ci_text(lo, hi) for lo, hi in zip(table["lower"], table["upper"])],
        "P": [survival.format_p_value(p) for p in table["p"]],
    }, index=pd.Index(table["label"], name="Characteristics"))
    return shown


def forest_rows(result: CoxResult) -> pd.DataFrame:
    """label, hr, lower, upper, p of every row of a fitted model for plots.forest_plot (missing where not estimable)."""
    table = estimable_table(result)
    return pd.DataFrame({"label": table["label"], "hr": table["hr"], "lower": table["lower"],
                         "upper": table["upper"], "p": table["p"]}).reset_index(drop=True)


def published_forest_rows(endpoint: str, verdicts: Any) -> pd.DataFrame | None:
    """The paper's HR and 95% CI of each row of Table 3 or 4, indexed by the forest plot's labels (columns hr,
    lower, upper) for ``plots.forest_plot(published=...)``; None when the chapter does not compare."""
    if verdicts is None:
        return None
    table_id = ENDPOINT_TABLES[endpoint]
    rows = {PAPER_LABELS[key]: {field: verdicts.value(f"{table_id}.{key}.hr", "value" if field == "hr" else field)
                                for field in ("hr", "lower", "upper")}
            for key in paper_model_covariates(endpoint)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["hr", "lower", "upper"]).astype(float)


def reason_text(reason: str) -> str:
    """A reason of fit_cox for a row it cannot estimate, explained in words (other reasons as given)."""
    for prefix, explanation in REASON_PREFIX_EXPLANATIONS.items():
        if reason.startswith(prefix):
            return explanation
    return REASON_EXPLANATIONS.get(reason, reason)


def complete_case_note(cohort: pd.DataFrame, result: CoxResult, model: str) -> str:
    """How many patients a model used and how many it left out for a missing covariate ("" when none):
    the models are complete-case analyses."""
    left_out = len(cohort) - result.n
    if left_out <= 0:
        return ""
    return (f"The {model} is a complete-case analysis: it uses the {patients_text(result.n)} whose every covariate "
            f"is known and leaves out {patients_text(left_out)} of {len(cohort)} with at least one missing. Those "
            f"left out may differ from the others, which can bias the hazard ratios.")


def not_estimable_note(result: CoxResult, model: str) -> str:
    """Which hazard ratios of a model this data cannot estimate, and why ("" when every row is estimable)."""
    if not result.not_estimable:
        return ""
    by_reason: dict[str, list[str]] = {}
    for label, reason in result.not_estimable.items():
        by_reason.setdefault(reason, []).append(f"*{label}*")
    if len(result.not_estimable) == len(result.table):
        reasons = "; ".join(reason_text(reason) for reason in by_reason)
        return (f"No hazard ratio of the {model} can be estimated from this data: {reasons}. Its rows show "
                f"\"{NOT_ESTIMABLE}\".")
    parts = [f"{_listed(labels)} ({reason_text(reason)})" for reason, labels in by_reason.items()]
    return (f"Some hazard ratios of the {model} cannot be estimated from this data and show \"{NOT_ESTIMABLE}\": "
            + "; ".join(parts) + ". The other rows are estimated as usual.")


def _published_text(entry: Mapping | None, quantity: str) -> str:
    """A published β, HR (95% CI) or P as the paper prints it; an em dash when it prints nothing."""
    if entry is None or entry.get("value") is None:
        return "—"
    decimals = int(entry.get("decimals") or 0)
    value = float(entry["value"])
    if quantity == "β":
        return f"{value:.{decimals}f}"
    if quantity == "P":
        return f"<{value:.{decimals}f}" if entry.get("p_operator") == "<" else f"{value:.{decimals}f}"
    return f"{value:.{decimals}f} ({float(entry['lower']):.{decimals}f}–{float(entry['upper']):.{decimals}f})"


def cox_table_with_published(result: CoxResult, endpoint: str, verdicts: Any) -> pd.DataFrame:
    """Each β, HR (95% CI) and P of Table 3 or 4 beside the reproduced one, with the published number's status."""
    table_id = ENDPOINT_TABLES[endpoint]
    published = verdicts.published
    rows = result.table.set_index("label")
    out = []
    for key in paper_model_covariates(endpoint):
        row = rows.loc[PAPER_LABELS[key]]
        reproduced = {"β": f"{row['beta']:.3f}", "HR (95% CI)": f"{row['hr']:.2f} ({_ci_text(row['lower'], row['upper'])})",
                      "P": survival.format_p_value(row["p"])}
        for quantity, suffix in (("β", "beta"), ("HR (95% CI)", "hr"), ("P", "p")):
            entry_id = f"{table_id}.{key}.{suffix}"
            entry = published.loc[entry_id].to_dict() if entry_id in published.index else None
            out.append({"characteristic": PAPER_LABELS[key], "quantity": quantity, "reproduced": reproduced[quantity],
                        "published": _published_text(entry, "β" if suffix == "beta" else "P" if suffix == "p" else ""),
                        "status": verdicts.status(entry_id), "id": entry_id})
    return pd.DataFrame(out).set_index(["characteristic", "quantity"])


def comparison_note(comparison: pd.DataFrame, result: CoxResult, verdicts: Any) -> str:
    """Which rows of a Table 3/4 comparison the paper contradicts, and which lie outside tolerance and why."""
    sentences = []
    flagged = comparison[comparison["status"] == verdicts.CONTRADICTED]
    if len(flagged):
        items = [f"the {quantity} of *{characteristic}* (printed {row['published']})"
                 for (characteristic, quantity), row in flagged.iterrows()]
        sentences.append(f"Contradicted by the paper, because its other numbers rule them out: {_listed(items)}.")
    outside = comparison[comparison["status"] == verdicts.OUTSIDE]
    hr = result.table.set_index("label")["hr"]
    estimate_ok, estimate_off, other = [], [], []
    for (characteristic, quantity), row in outside.iterrows():
        if quantity.startswith("HR") and verdicts.value(row["id"]) and characteristic in hr.index:
            close = verdicts.agrees(row["id"], float(hr[characteristic]))
            (estimate_ok if close else estimate_off).append(f"*{characteristic}*")
        else:
            other.append(f"the {quantity} of *{characteristic}*")
    if len(estimate_ok) == 1:
        sentences.append(f"Outside tolerance only through an interval limit: the hazard ratio of {estimate_ok[0]} is "
                         f"within 10% of the printed one, but its interval is not.")
    elif estimate_ok:
        sentences.append(f"Outside tolerance only through an interval limit: the hazard ratios of "
                         f"{_listed(estimate_ok)} are within 10% of the printed ones, but their intervals are not.")
    if estimate_off:
        sentences.append(f"Outside tolerance in the estimate itself: the hazard ratio of {_listed(estimate_off)}.")
    if other:
        sentences.append(f"Also outside tolerance: {_listed(other)}.")
    if not sentences:
        return "Every number of the table agrees with the printed one within its tolerance."
    return " ".join(sentences)


def size_cut_note(cohort: pd.DataFrame) -> str:
    """Whether the book's size split (≥10 vs <10 cm) and the tables' (>10 vs ≤10 cm) differ in this data."""
    at_cut = int(np.isclose(cohort["max_diameter_cm"].to_numpy(float), study.DIAMETER_CUTOFF_CM).sum())
    if at_cut == 0:
        return ("Tables 3 and 4 label tumour size '>10 vs ≤10 cm' while Table 1 splits at '≥10 vs <10 cm'. No "
                "patient here has a maximum diameter of exactly 10 cm, so both readings put every patient in the "
                "same group.")
    return (f"Tables 3 and 4 label tumour size '>10 vs ≤10 cm' while Table 1 splits at '≥10 vs <10 cm'. Here "
            f"{at_cut} patient{'s' if at_cut > 1 else ''} measure exactly 10 cm; the book keeps Table 1's split, so "
            f"{'they count' if at_cut > 1 else 'this patient counts'} with the large tumours.")


# ---------------------------------------------------------------------------------------------
# The paper's model-building rule


def indicator_groups(indicators: pd.DataFrame) -> np.ndarray:
    """One group number per row: rows with the same indicator values share it (vectorised, for large cohorts)."""
    return np.unique(indicators.to_numpy(int), axis=0, return_inverse=True)[1].ravel()


def univariable_screen(cohort: pd.DataFrame, endpoint: str, candidates: Sequence[str] = CANDIDATES,
                       ties: str = PAPER_TIES) -> pd.DataFrame:
    """Per candidate covariate: its name, parameters, log-rank P over its groups and the univariable Cox Wald P
    (only for one-parameter codings)."""
    rows = []
    for key in candidates:
        data = model_data(cohort, endpoint, [key])
        columns = data.terms[key]
        groups = indicator_groups(data.frame[columns])
        logrank_p = (survival.logrank(data.frame[TIME], data.frame[EVENT], groups).p
                     if len(np.unique(groups)) > 1 else math.nan)
        wald_p = math.nan
        if len(columns) == 1:
            wald_p = float(estimable_table(fit_model(cohort, endpoint, [key], ties))["p"].iloc[0])
        rows.append({"key": key, "covariate": covariate_name(cohort, key), "parameters": len(columns),
                     "logrank_p": logrank_p, "wald_p": wald_p})
    return pd.DataFrame(rows)


def selected_covariates(screen: pd.DataFrame, threshold: float = SIGNIFICANCE_LEVEL,
                        test: str = LOGRANK) -> tuple[str, ...]:
    """The candidate keys with univariable P below ``threshold`` (log-rank, or Wald where it exists)."""
    column = "logrank_p" if test == LOGRANK else "wald_p"
    chosen = screen[screen[column].fillna(screen["logrank_p"]) < threshold]
    return tuple(chosen["key"])


def selection_by_univariable_rule(screens: Mapping[str, pd.DataFrame], threshold: float = SIGNIFICANCE_LEVEL,
                                  test: str = LOGRANK) -> pd.DataFrame:
    """Per candidate and endpoint: log-rank and Wald P, whether the rule admits it, whether the paper's model has it."""
    frames = []
    for endpoint, screen in screens.items():
        short = study.ENDPOINTS[endpoint].short
        table = TABLE_NAMES[ENDPOINT_TABLES[endpoint]]
        chosen = set(selected_covariates(screen, threshold, test))
        paper = set(paper_model_covariates(endpoint))
        frames.append(pd.DataFrame({
            f"{short} log-rank P": [survival.format_p_value(p) for p in screen["logrank_p"]],
            f"{short} Wald P": [survival.format_p_value(p) for p in screen["wald_p"]],
            f"{short}: rule": [YES if key in chosen else NO for key in screen["key"]],
            f"{short}: {table}": [YES if key in paper else NO for key in screen["key"]],
        }, index=pd.Index(screen["covariate"], name="covariate")))
    return pd.concat(frames, axis=1)


def rule_models(cohort: pd.DataFrame, screens: Mapping[str, pd.DataFrame], threshold: float = SIGNIFICANCE_LEVEL,
                test: str = LOGRANK, ties: str = PAPER_TIES) -> dict[str, CoxResult]:
    """The model the paper's rule gives on this data, per endpoint (None-free: an empty selection fits nothing)."""
    return {endpoint: fit_model(cohort, endpoint, selected_covariates(screen, threshold, test), ties)
            for endpoint, screen in screens.items() if selected_covariates(screen, threshold, test)}


def _listed(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'; 'none' for nothing."""
    items = list(items)
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def p_phrase(p: float) -> str:
    """'P < 0.001' or 'P = 0.034' (journal rounding); 'P not available' when missing."""
    text = survival.format_p_value(p)
    if text.startswith("<"):
        return f"P < {text[1:]}"
    return "P not available" if text == "–" else f"P = {text}"


def rule_note(cohort: pd.DataFrame, screens: Mapping[str, pd.DataFrame], threshold: float = SIGNIFICANCE_LEVEL,
              test: str = LOGRANK) -> str:
    """Where the rule applied to this data and the paper's models part ways, and where the two tests disagree."""
    lines = []
    for endpoint, screen in screens.items():
        short = study.ENDPOINTS[endpoint].short
        table = TABLE_NAMES[ENDPOINT_TABLES[endpoint]]
        chosen = selected_covariates(screen, threshold, test)
        paper = paper_model_covariates(endpoint)
        extra = [f"*{covariate_name(cohort, k)}*" for k in chosen if k not in paper]
        missing = [f"*{covariate_name(cohort, k)}*" for k in paper if k not in chosen]
        text = f"- **{short}**: {len(chosen)} of {len(screen)} candidates reach P < {threshold:g} ({test} test). "
        if not extra and not missing:
            text += f"They are exactly the covariates of {table}."
        else:
            if extra:
                text += f"The rule also lets in {_listed(extra)}, which {table} does not have. "
            if missing:
                text += f"{table} holds {_listed(missing)}, which the rule keeps out here."
        lines.append(text.strip())
        one_parameter = screen[screen["parameters"] == 1]
        split = one_parameter[(one_parameter["logrank_p"] < threshold) != (one_parameter["wald_p"] < threshold)]
        if len(split):
            lines.append(f"  For {short} the log-rank and the univariable Wald test disagree about "
                         f"{_listed([f'*{c}*' for c in split['covariate']])}, which "
                         f"lie{'s' if len(split) == 1 else ''} close to {threshold:g}.")
    return "\n".join(lines)


def small_group_note(cohort: pd.DataFrame, screens: Mapping[str, pd.DataFrame], models: Mapping[str, CoxResult],
                     threshold: float = SIGNIFICANCE_LEVEL, test: str = LOGRANK) -> str:
    """The covariates the rule lets in whose smallest group has fewer than SMALL_GROUP patients, with their HR."""
    sentences = []
    for endpoint, screen in screens.items():
        short = study.ENDPOINTS[endpoint].short
        rows = estimable_table(models[endpoint]).set_index("label") if endpoint in models else pd.DataFrame()
        for key in selected_covariates(screen, threshold, test):
            columns = covariate_columns(cohort, key)
            if columns.shape[1] != 1 or not set(columns.iloc[:, 0].dropna().unique()) <= {0.0, 1.0}:
                continue
            label = columns.columns[0]
            sizes = columns.iloc[:, 0].value_counts()
            if sizes.min() >= SMALL_GROUP:
                continue
            small = label.split(" vs ")[-1] if sizes.idxmin() == 0 else label.split(" vs ")[0].split(" ")[-1]
            hr = rows.at[label, "hr"] if label in rows.index else math.nan
            estimate = (f"{hr:.2f} ({_ci_text(rows.at[label, 'lower'], rows.at[label, 'upper'])})" if pd.notna(hr)
                        else NOT_ESTIMABLE)
            sentences.append(f"*{label}* enters the {short} model although its {small} group has only "
                             f"{patients_text(int(sizes.min()))}; there its hazard ratio is {estimate}")
    if not sentences:
        return ""
    return ("A rule applied mechanically does not look at group sizes: " + "; ".join(sentences) + ". A hazard ratio "
            "that rests on so few patients moves a long way when one of them lives a little longer, whatever its P.")


def paper_univariable_claims(published: pd.DataFrame) -> dict[str, set[str]]:
    """Per endpoint, the covariate keys the paper calls univariably significant (its claims and printed log-rank P)."""
    claims: dict[str, set[str]] = {endpoint: set() for endpoint in ENDPOINT_TABLES}
    for entry_id, (factors, endpoints) in study.UNIVARIABLE_CLAIMS.items():
        if entry_id in published.index:
            for endpoint in endpoints:
                claims[endpoint].update(factors)
    for key in PAPER_LABELS:
        for endpoint in ENDPOINT_TABLES:
            entry_id = f"results.subgroup.{key}.{endpoint}.p"
            if _printed_significant(published, entry_id):
                claims[endpoint].add(key)
    return claims


def _printed_significant(published: pd.DataFrame, entry_id: str) -> bool:
    """Whether a printed P is below 0.05 ('<0.05' and '<0.001' count; a missing entry does not)."""
    value = published_or_none(published, entry_id)
    if value is None:
        return False
    return value < SIGNIFICANCE_LEVEL or (_operator(published, entry_id) == "<" and value <= SIGNIFICANCE_LEVEL)


def _operator(published: pd.DataFrame, entry_id: str) -> str:
    """The printed comparison of a P value ('<' or '=')."""
    if entry_id not in published.index or pd.isna(published.at[entry_id, "p_operator"]):
        return "="
    return str(published.at[entry_id, "p_operator"])


def paper_rule_check(published: pd.DataFrame) -> pd.DataFrame:
    """Per covariate: whether the paper calls it univariably significant, whether its model holds it, and whether
    the two agree (the paper's rule: significant factors, and only they, enter)."""
    claims = paper_univariable_claims(published)
    in_table = {endpoint: {key for key in PAPER_LABELS if f"{table}.{key}.hr" in published.index}
                for endpoint, table in ENDPOINT_TABLES.items()}
    keys = [key for key in PAPER_LABELS if any(key in claims[e] or key in in_table[e] for e in ENDPOINT_TABLES)]
    rows = []
    for key in keys:
        row = {"covariate": PAPER_LABELS[key]}
        agrees = True
        for endpoint, table in ENDPOINT_TABLES.items():
            short = study.ENDPOINTS[endpoint].short
            row[f"{short}: called significant"] = YES if key in claims[endpoint] else NO
            row[f"{short}: in {TABLE_NAMES[table]}"] = YES if key in in_table[endpoint] else NO
            agrees &= (key in claims[endpoint]) == (key in in_table[endpoint])
        row["follows the rule"] = YES if agrees else NO
        rows.append(row)
    return pd.DataFrame(rows).set_index("covariate")


def multivariable_claim_check(published: pd.DataFrame) -> pd.DataFrame:
    """Table 3's printed P per covariate beside the abstract's list of 'independent prognostic factors' for OS."""
    rows = []
    for entry_id, (table, factors) in study.MULTIVARIABLE_CLAIMS.items():
        if entry_id not in published.index:
            continue
        for key in paper_model_covariates("os" if table == "table3" else "pfs"):
            p_id = f"{table}.{key}.p"
            value = published_or_none(published, p_id)
            if value is None:
                continue
            operator = _operator(published, p_id)
            rows.append({"covariate": PAPER_LABELS[key],
                         "printed P": f"<{value:.3f}" if operator == "<" else f"{value:.3f}",
                         "P < 0.05 in the table": YES if _printed_significant(published, p_id) else NO,
                         "named in the abstract": YES if key in factors else NO})
    return pd.DataFrame(rows, columns=["covariate", "printed P", "P < 0.05 in the table",
                                       "named in the abstract"]).set_index("covariate")


def paper_rule_note(check: pd.DataFrame, claims: pd.DataFrame) -> str:
    """Sentences on where the paper departs from its own rule and where its abstract departs from Table 3."""
    sentences = []
    for covariate, row in check[check["follows the rule"] == NO].iterrows():
        parts = []
        for endpoint, table in ENDPOINT_TABLES.items():
            short = study.ENDPOINTS[endpoint].short
            called, held = row[f"{short}: called significant"], row[f"{short}: in {TABLE_NAMES[table]}"]
            if called == YES and held == NO:
                key = next(k for k, label in PAPER_LABELS.items() if label == covariate)
                parts.append(study.paper_univariable_text(key, endpoint))
            elif called == NO and held == YES:
                parts.append(f"in {TABLE_NAMES[table]} although the paper never calls it significant for {short}")
        sentences.append(f"on *{covariate}*, " + "; and ".join(parts))
    text = ("The paper departs from its own rule: " + "; ".join(sentences) + "."
            if sentences else "Every covariate the paper calls significant is in its model, and no other.")
    mismatch = claims[(claims["P < 0.05 in the table"] == YES) != (claims["named in the abstract"] == YES)]
    unnamed = list(mismatch[mismatch["P < 0.05 in the table"] == YES].index)
    named = list(mismatch[mismatch["named in the abstract"] == YES].index)
    if unnamed:
        text += (f" The abstract lists the independent prognostic factors for OS but leaves out "
                 f"{_listed([f'*{c}*' for c in unnamed])}, although Table 3 prints P < 0.05 for it.")
    if named:
        text += (f" It names {_listed([f'*{c}*' for c in named])} although Table 3 prints P ≥ 0.05.")
    return text


# ---------------------------------------------------------------------------------------------
# Proportional hazards


def _lifelines_fit(frame: pd.DataFrame) -> CoxPHFitter:
    """lifelines' (Efron) fit of a model frame with the tight options, its warnings silenced (fit_cox reports them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxPHFitter().fit(frame, TIME, EVENT, fit_options=LIFELINES_FIT_OPTIONS)


def lifelines_scaled_residuals(fitter: CoxPHFitter, frame: pd.DataFrame) -> pd.DataFrame:
    """lifelines' scaled Schoenfeld residuals (deaths × d × V, without β) of an Efron fit, in time order.

    The same numbers lifelines computes, from the vectorised residuals of :mod:`aice_helpers.stats.cox`:
    lifelines builds them with a loop that grows an array one death at a time, which takes minutes at
    a hundred thousand patients.
    """
    columns = list(fitter.params_.index)
    raw = schoenfeld_residuals(frame[TIME], frame[EVENT], frame[columns], fitter.params_.to_numpy(float), "efron")
    scaled = len(raw) * raw[columns].to_numpy(float) @ fitter.variance_matrix_.to_numpy(float)
    return pd.DataFrame(scaled, columns=columns)


def ph_test_table(cohort: pd.DataFrame, endpoint: str, keys: Sequence[str] | None = None,
                  ties: str = PAPER_TIES) -> pd.DataFrame:
    """Proportional-hazards tests per covariate and globally: R's cox.zph score test (km and rank time) on the
    model with ``ties``, and lifelines' older approximation (rank and km) on the Efron fit it offers.

    Covariates the model cannot estimate are left out of the tested model; with none left the table is empty. A
    test the data cannot compute (singular information, or a lifelines fit that fails) shows an en dash.
    """
    keys = paper_model_covariates(endpoint) if keys is None else tuple(keys)
    keys, result = estimable_model(cohort, endpoint, keys, ties)
    if result is None:
        return pd.DataFrame(columns=list(PH_COLUMNS), index=pd.Index([], name="covariate"))
    data = model_data(cohort, endpoint, keys)
    columns = [column for key in keys for column in data.terms[key]]
    beta = result.table.set_index("label").loc[columns, "beta"].to_numpy(float)
    terms = {covariate_name(cohort, key): data.terms[key] for key in keys}
    x = data.frame[columns]
    km = zph_score_test(data.frame[TIME], data.frame[EVENT], x, beta, ties, "km", terms)
    rank = zph_score_test(data.frame[TIME], data.frame[EVENT], x, beta, ties, "rank", terms)
    frame = data.frame[[TIME, EVENT, *columns]]
    approximate = lifelines_ph_p_values(frame)
    rows = []
    for name in [*terms, GLOBAL_TERM]:
        members = terms.get(name, [])
        single = members[0] if len(members) == 1 else None
        rows.append({"covariate": "all covariates (global)" if name == GLOBAL_TERM else name,
                     PH_COLUMNS[0]: round(float(km.at[name, "chisq"]), 2),
                     PH_COLUMNS[1]: survival.format_p_value(km.at[name, "p"]),
                     PH_COLUMNS[2]: survival.format_p_value(rank.at[name, "p"]),
                     PH_COLUMNS[3]: survival.format_p_value(approximate["rank"].get(single, math.nan)),
                     PH_COLUMNS[4]: survival.format_p_value(approximate["km"].get(single, math.nan))})
    return pd.DataFrame(rows).set_index("covariate")


def estimable_model(cohort: pd.DataFrame, endpoint: str, keys: Sequence[str],
                    ties: str = PAPER_TIES) -> tuple[tuple[str, ...], CoxResult | None]:
    """The keys a model can estimate and the model refitted on them (None if none is left or it still cannot)."""
    data = model_data(cohort, endpoint, keys)
    estimated = estimable_table(fit_model(cohort, endpoint, keys, ties)).set_index("label")["beta"].dropna()
    kept = tuple(key for key in keys if data.terms[key] and set(data.terms[key]) <= set(estimated.index))
    result = fit_model(cohort, endpoint, kept, ties) if kept else None
    return kept, (result if result is not None and not result.not_estimable else None)


def lifelines_ph_p_values(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{transform: {column: P}} of lifelines' PH test (rank, km) on its Efron fit; empty where lifelines cannot fit."""
    try:
        fitter = _lifelines_fit(frame)
    except (ConvergenceError, np.linalg.LinAlgError):
        return {"rank": {}, "km": {}}
    residuals = lifelines_scaled_residuals(fitter, frame)
    approximate = {}
    for transform in ("rank", "km"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = proportional_hazard_test(fitter, frame, time_transform=transform, precomputed_residuals=residuals)
        approximate[transform] = dict(zip(fitter.params_.index, np.atleast_1d(test.p_value)))
    return approximate


def ph_p_values(table: pd.DataFrame) -> dict[str, float]:
    """The km score-test P of each covariate of a :func:`ph_test_table` (the global row and untested ones left out)."""
    values = {}
    for covariate, text in table[PH_COLUMNS[1]].items():
        if covariate.startswith("all covariates") or str(text) == NOT_SHOWN:
            continue
        values[covariate] = 0.0009 if str(text).startswith("<") else float(text)
    return values


def ph_note(tables: Mapping[str, pd.DataFrame], threshold: float = SIGNIFICANCE_LEVEL) -> str:
    """Which covariates any of the tests flags below ``threshold``, per endpoint, and the global verdicts."""
    sentences = []
    for endpoint, table in tables.items():
        short = study.ENDPOINTS[endpoint].short
        if table.empty:
            sentences.append(f"For {short} no coefficient could be estimated, so there is nothing to test.")
            continue
        if (table[list(PH_COLUMNS[1:])] == NOT_SHOWN).all(axis=None):
            sentences.append(f"For {short} the tests cannot be computed: with so few deaths the information "
                             f"matrix of the test is singular.")
            continue
        flagged = []
        for covariate, row in table.iterrows():
            if covariate.startswith("all covariates"):
                continue
            tests = [name for name in PH_COLUMNS[1:] if _p_below(row[name], threshold)]
            if len(tests) == len(PH_COLUMNS) - 1:
                flagged.append(f"*{covariate}* (all four tests)")
            elif tests:
                flagged.append(f"*{covariate}* ({'; '.join(t.removeprefix('P ') for t in tests)})")
        global_row = table.iloc[-1]
        global_text = (f"the global score test gives P = {global_row[PH_COLUMNS[1]]} (km) and "
                       f"{global_row[PH_COLUMNS[2]]} (rank)" if global_row[PH_COLUMNS[1]] != NOT_SHOWN else
                       "the global score test cannot be computed (its information matrix is singular)")
        if flagged:
            sentences.append(f"For {short}, {global_text}; P falls below {threshold:g} for {_listed(flagged)}.")
        else:
            sentences.append(f"For {short}, {global_text}, and no test falls below {threshold:g} for any covariate.")
    return " ".join(sentences)


def _p_below(text: object, threshold: float) -> bool:
    """Whether a formatted P ('0.034', '<0.001', '–') lies below the threshold."""
    text = str(text)
    if text.startswith("<"):
        return True
    try:
        return float(text) < threshold
    except ValueError:
        return False


def lowess_delta(times: np.ndarray) -> float:
    """statsmodels lowess's ``delta``: 0 (a fit at every point) up to LOWESS_EXACT_POINTS points, else a
    share of the time range."""
    if len(times) <= LOWESS_EXACT_POINTS:
        return 0.0
    return LOWESS_DELTA_SHARE * float(np.ptp(times))


def schoenfeld_frame(cohort: pd.DataFrame, endpoint: str, keys: Sequence[str] = MAIN_COVARIATES,
                     model_keys: Sequence[str] | None = None, ties: str = PAPER_TIES) -> pd.DataFrame:
    """Scaled Schoenfeld residuals of ``keys`` in the paper's model as R's plot(cox.zph(fit)) draws them, long:
    covariate, time, g (KM-transformed time), residual, beta, variance (see ``stats.zph_smooth.zph_plot_frame``).
    Covariates the model cannot estimate are left out of it, as in :func:`ph_test_table`; with none left the
    frame is empty."""
    empty = pd.DataFrame(columns=["covariate", "time", "g", "residual", "beta", "variance"])
    model_keys = paper_model_covariates(endpoint) if model_keys is None else tuple(model_keys)
    model_keys, result = estimable_model(cohort, endpoint, model_keys, ties)
    if result is None:
        return empty
    data = model_data(cohort, endpoint, model_keys)
    columns = [column for key in model_keys for column in data.terms[key]]
    beta = result.table.set_index("label").loc[columns, "beta"].to_numpy(float)
    frame = zph_plot_frame(data.frame[TIME], data.frame[EVENT], data.frame[columns], beta, ties)
    shown = [data.terms[key][0] for key in keys if key in data.terms and len(data.terms[key]) == 1]
    if not shown:
        return empty
    return frame[frame["covariate"].isin(shown)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Events per variable and concordance


def patients_text(count: int) -> str:
    """'1 patient' or '4 patients'."""
    return f"{count} patient{'' if count == 1 else 's'}"


def _decimal_text(value: float, decimals: int) -> str:
    """A number with ``decimals`` decimals; an en dash when it is missing."""
    return f"{value:.{decimals}f}" if pd.notna(value) else NOT_SHOWN




def model_summary(results: Mapping[str, CoxResult]) -> pd.DataFrame:
    """Per model: patients, events, parameters, events per parameter, the rule of 10, Harrell's C."""
    rows = []
    for name, result in results.items():
        parameters = int(result.table["beta"].notna().sum())
        epv = events_per_variable(result)
        rows.append({"model": name, "patients": result.n, "events": result.events, "parameters": parameters,
                     "events per parameter": _decimal_text(epv, 1),
                     f"≥{EPV_RULE} per parameter": YES if epv >= EPV_RULE else NO,
                     "Harrell's C": _decimal_text(result.concordance, 3)})
    return pd.DataFrame(rows).set_index("model")


def screening_summary(screens: Mapping[str, pd.DataFrame], cohort: pd.DataFrame) -> pd.DataFrame:
    """Per endpoint: candidates screened, the parameters they hold, events, and events per screened parameter."""
    rows = []
    for endpoint, screen in screens.items():
        events = int(cohort[study.ENDPOINTS[endpoint].event_col].sum())
        parameters = int(screen["parameters"].sum())
        rows.append({"endpoint": study.ENDPOINTS[endpoint].short, "candidates screened": len(screen),
                     "parameters screened": parameters, "events": events,
                     "events per screened parameter": _decimal_text(events / parameters if parameters else math.nan,
                                                                    1)})
    return pd.DataFrame(rows).set_index("endpoint")


def epv_note(summary: pd.DataFrame, screening: pd.DataFrame) -> str:
    """The events-per-variable verdicts in words, with this data's numbers (and the models that estimate nothing)."""
    ratios = pd.to_numeric(summary["events per parameter"], errors="coerce")
    empty = list(summary.index[ratios.isna()])
    ratios = ratios.dropna()
    below = [name for name in summary.index[summary[f"≥{EPV_RULE} per parameter"] == NO] if name not in empty]
    text = ""
    if len(ratios):
        lowest = ratios.idxmin()
        text += f"The lowest ratio is {ratios[lowest]:.1f} events per parameter, in the model “{lowest}”. "
        text += (f"Every model here meets the rule of {EPV_RULE}. " if not below and not empty
                 else f"Below {EPV_RULE}: {_listed([f'“{name}”' for name in below])}. " if below else "")
    if empty:
        text += (f"No coefficient could be estimated in {_listed([f'“{name}”' for name in empty])}, so there are "
                 f"no events per parameter to count. ")
    worst = pd.to_numeric(screening["events per screened parameter"], errors="coerce").min()
    if pd.notna(worst):
        text += (f"Counted against everything that was screened to build them, the models rest on as few as "
                 f"{worst:.1f} events per parameter: a factor chosen because it looked strong in the same data "
                 f"carries that selection with it, and its hazard ratio tends to be too far from 1.")
    return text.strip()


# ---------------------------------------------------------------------------------------------
# Stage and distant metastasis


STAGE, METASTASIS = "stage", "distant_metastasis"


def stage_metastasis_overlap(cohort: pd.DataFrame) -> pd.DataFrame:
    """The 2×2 table of stage by distant metastasis (patients), with totals."""
    stage = "Stage " + cohort["stage"].astype(str)
    metastasis = cohort["distant_metastasis"].map({0: "no metastasis", 1: "metastasis"})
    table = pd.crosstab(stage, metastasis, margins=True, margins_name="all")
    table = table.reindex(columns=[c for c in ("no metastasis", "metastasis", "all") if c in table.columns])
    table.index.name, table.columns.name = "stage", None
    return table


def overlap_cells(cohort: pd.DataFrame) -> pd.DataFrame:
    """Patients, OS deaths and PFS events in each combination of metastasis and stage present in the data."""
    rows = []
    stages = sorted(cohort["stage"].astype(str).unique())
    for metastasis in (0, 1):
        for stage in stages:
            part = cohort[(cohort["distant_metastasis"] == metastasis) & (cohort["stage"].astype(str) == stage)]
            rows.append({"group": f"{'metastasis' if metastasis == 1 else 'no metastasis'}, stage {stage}",
                         "patients": len(part), "OS deaths": int(part["os_event"].sum()),
                         "PFS events": int(part["pfs_event"].sum())})
    return pd.DataFrame(rows).set_index("group")


def stage_coefficient_se(cohort: pd.DataFrame, ties: str = PAPER_TIES) -> pd.DataFrame:
    """β, SE and P of stage and of metastasis in the paper's models with both, with either left out, and stage alone
    among the patients without metastasis."""
    rows = []
    non_metastatic = cohort[cohort["distant_metastasis"] == 0]
    for endpoint in ENDPOINT_TABLES:
        keys = paper_model_covariates(endpoint)
        variants = {
            "paper's model (both)": (cohort, keys),
            "metastasis left out": (cohort, tuple(k for k in keys if k != METASTASIS)),
            "stage left out": (cohort, tuple(k for k in keys if k != STAGE)),
            "no metastasis only, stage alone": (non_metastatic, (STAGE,)),
        }
        for name, (data, variant) in variants.items():
            table = estimable_table(fit_model(data, endpoint, variant, ties)).set_index("label")
            row = {"endpoint": study.ENDPOINTS[endpoint].short, "model": name}
            for key, prefix in ((STAGE, "stage"), (METASTASIS, "metastasis")):
                label = PAPER_LABELS[key]
                present = label in table.index and pd.notna(table.at[label, "beta"])
                row[f"{prefix} β"] = f"{table.at[label, 'beta']:.3f}" if present else "–"
                row[f"{prefix} SE"] = f"{table.at[label, 'se']:.3f}" if present else "–"
                row[f"{prefix} P"] = survival.format_p_value(table.at[label, "p"]) if present else "–"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["endpoint", "model"])


def hazard_ratio_text(log_hr: float) -> str:
    """e^β with one decimal, or 'e^β' itself when it is too large to compute (a coefficient gone astray)."""
    return f"{math.exp(log_hr):.1f}" if log_hr < LARGEST_PRINTED_LOG_HR else f"e^{log_hr:.0f}"


def required_beta(se: float, alpha: float = SIGNIFICANCE_LEVEL) -> float:
    """The smallest |β| that reaches two-sided Wald P < alpha with this standard error."""
    return float(norm.ppf(1.0 - alpha / 2.0)) * se


def stage_note(se_table: pd.DataFrame, cells: pd.DataFrame, published: pd.DataFrame, compare: bool = True) -> str:
    """The stage contrast in numbers, as bullet points: who carries it, its standard error, the β it would need,
    and (when ``compare``) what the paper's own counts allow its interval to be."""
    metastatic_stage3 = int(cells.loc[cells.index.str.startswith("metastasis, stage III"), "patients"].sum())
    m0 = cells[cells.index.str.startswith("no metastasis")]
    n_iii = int(m0.loc[m0.index.str.endswith("stage III"), "patients"].sum())
    n_iv = int(m0.loc[m0.index.str.endswith("stage IV"), "patients"].sum())
    lines = []
    if metastatic_stage3 == 0 and not (n_iii and n_iv):
        without = ("no patient is without metastasis" if n_iii + n_iv == 0 else
                   f"the {patients_text(n_iii + n_iv)} without metastasis are all stage {'III' if n_iii else 'IV'}")
        lines.append(f"No metastatic patient is stage III, and {without}: stage does not vary once metastasis is "
                     f"known, so the models cannot tell the two apart.")
    elif metastatic_stage3 == 0:
        lines.append(f"No metastatic patient is stage III, so stage varies only among the {n_iii + n_iv} patients "
                     f"without metastasis ({n_iii} stage III, {n_iv} stage IV): they alone carry the stage "
                     f"coefficient. The metastasis coefficient, in turn, compares the metastatic patients with the "
                     f"{n_iv} non-metastatic stage IV patients, not with all {n_iii + n_iv} non-metastatic ones.")
    else:
        lines.append(f"{metastatic_stage3} metastatic patient{'s are' if metastatic_stage3 > 1 else ' is'} stage "
                     f"III, so stage varies within both metastasis groups here.")
    for endpoint, table_id in ENDPOINT_TABLES.items():
        short = study.ENDPOINTS[endpoint].short
        both_se = pd.to_numeric(se_table.loc[(short, "paper's model (both)"), "stage SE"], errors="coerce")
        alone_se = pd.to_numeric(se_table.loc[(short, "metastasis left out"), "stage SE"], errors="coerce")
        if pd.isna(both_se) or pd.isna(alone_se):
            lines.append(f"{short}: the models cannot estimate a stage coefficient in this data (stage has a single "
                         f"level, a group has no events, or the fit failed), so there is no standard error to "
                         f"discuss.")
            continue
        needed = required_beta(both_se)
        event_col = "OS deaths" if endpoint == "os" else "PFS events"
        e3 = int(m0.loc[m0.index.str.endswith("stage III"), event_col].sum())
        e4 = int(m0.loc[m0.index.str.endswith("stage IV"), event_col].sum())
        text = (f"{short}: the SE of the stage coefficient is {both_se:.2f} with metastasis in the model and "
                f"{alone_se:.2f} without it, a variance {both_se ** 2 / alone_se ** 2:.1f} times larger. With that SE "
                f"only |β| > 1.96 × {both_se:.2f} = {needed:.2f}, a hazard ratio above {hazard_ratio_text(needed)}, "
                f"can reach P < 0.05.")
        if e3 and e4:
            text += (f" The non-metastatic stage III and stage IV patients had {e3} and {e4} events, and the rough "
                     f"two-group formula √(1/{e3} + 1/{e4}) = {math.sqrt(1 / e3 + 1 / e4):.2f} is already close.")
        lower, upper = (published_or_none(published, f"{table_id}.stage.hr", f) for f in ("lower", "upper"))
        beta = published_or_none(published, f"{table_id}.stage.beta")
        if compare and lower and upper and beta is not None:
            implied = (math.log(upper) - math.log(lower)) / (2 * Z95)
            text += (f" The paper's interval {lower:.1f}–{upper:.1f} implies an SE of {implied:.2f}; its β of "
                     f"{beta:g} reaches P < 0.05 only with an SE below {beta / Z95:.2f}.")
        lines.append(text)
    n3 = published_or_none(published, "table1.stage.iii")
    m0_paper = published_or_none(published, "table1.distant_metastasis.no")
    if compare and n3 and m0_paper and m0_paper > n3:
        rough = math.sqrt(1.0 / n3 + 1.0 / (m0_paper - n3))
        lines.append(f"The paper's own Table 1 has {n3:.0f} stage III and {m0_paper:.0f} non-metastatic patients, so "
                     f"no more than {m0_paper - n3:.0f} non-metastatic stage IV patients stand against the {n3:.0f} "
                     f"stage III ones. Even if every one of them had died, two groups of {n3:.0f} and "
                     f"{m0_paper - n3:.0f} give an SE of roughly √(1/{n3:.0f} + 1/{m0_paper - n3:.0f}) = "
                     f"{rough:.2f}. "
                     f"The printed stage intervals are far narrower than the paper's own counts allow.")
    return "\n".join(f"- {line}" for line in lines)


# ---------------------------------------------------------------------------------------------
# Ties


def ties_summary(cohort: pd.DataFrame) -> pd.DataFrame:
    """Per endpoint: events, distinct event times, events that share their time with another, the largest tie."""
    rows = []
    for endpoint, spec in study.ENDPOINTS.items():
        times = cohort.loc[cohort[spec.event_col] == 1, spec.time_col]
        counts = times.value_counts()
        shared = int(counts[counts > 1].sum())
        rows.append({"endpoint": spec.short, "events": len(times), "distinct event times": len(counts),
                     "events sharing their time": shared, "share (%)": round(100.0 * shared / max(len(times), 1), 1),
                     "most events at one time": int(counts.max()) if len(counts) else 0})
    return pd.DataFrame(rows).set_index("endpoint").loc[[study.ENDPOINTS[e].short for e in ENDPOINT_TABLES]]


def ties_comparison(cohort: pd.DataFrame, endpoint: str, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Breslow beside Efron per covariate: β, SE, HR, P and the difference in β (missing where either cannot tell)."""
    keys = paper_model_covariates(endpoint) if keys is None else tuple(keys)
    breslow = estimable_table(fit_model(cohort, endpoint, keys, "breslow")).set_index("label")
    efron = estimable_table(fit_model(cohort, endpoint, keys, "efron")).set_index("label")
    out = pd.DataFrame({
        "β Breslow": breslow["beta"], "β Efron": efron["beta"], "Efron − Breslow": efron["beta"] - breslow["beta"],
        "SE Breslow": breslow["se"], "SE Efron": efron["se"],
        "HR Breslow": breslow["hr"], "HR Efron": efron["hr"],
        "P Breslow": [survival.format_p_value(p) for p in breslow["p"]],
        "P Efron": [survival.format_p_value(p) for p in efron["p"]],
    })
    numeric = [c for c in out.columns if not c.startswith("P ")]
    out[numeric] = out[numeric].astype(float).round(3)
    out.index.name = "covariate"
    return out


def ties_note(comparisons: Mapping[str, pd.DataFrame], summary: pd.DataFrame) -> str:
    """How far Efron moves the coefficients from Breslow, and whether any verdict at 0.05 changes."""
    sentences = []
    for endpoint, table in comparisons.items():
        short = study.ENDPOINTS[endpoint].short
        missing = list(table.index[table["Efron − Breslow"].isna()])
        table = table.drop(index=missing)
        if table.empty:
            sentences.append(f"For {short} neither method can estimate any coefficient in this data, so there is "
                             f"nothing to compare.")
            continue
        ratio = (table["β Efron"].abs() / table["β Breslow"].abs()).replace([np.inf, -np.inf], np.nan)
        larger = int((table["β Efron"].abs() > table["β Breslow"].abs()).sum())
        flips = [c for c, row in table.iterrows()
                 if _p_below(row["P Breslow"], SIGNIFICANCE_LEVEL) != _p_below(row["P Efron"], SIGNIFICANCE_LEVEL)]
        sentences.append(
            f"For {short} ({summary.at[short, 'share (%)']:.0f}% of the events share their time with another), "
            f"Efron's β is further from 0 than Breslow's for {larger} of {len(table)} covariates, by "
            f"{100 * (ratio.median() - 1):.0f}% in the median, and the largest change in β is "
            f"{table['Efron − Breslow'].abs().max():.3f}; "
            + (f"the verdict at 0.05 changes for {_listed([f'*{c}*' for c in flips])}." if flips
               else "no verdict at 0.05 changes.")
            + (f" {_listed([f'*{c}*' for c in missing])} cannot be estimated and "
               f"{'is' if len(missing) == 1 else 'are'} left out of this comparison." if missing else ""))
    return " ".join(sentences)


# ---------------------------------------------------------------------------------------------
# Sensitivity analyses


def sensitivity_models(cohort: pd.DataFrame, endpoint: str, ties: str = PAPER_TIES) -> dict[str, CoxResult]:
    """The paper's model and four variants: NLR added (or left out), size per 5 cm, stage left out, Efron ties."""
    keys = paper_model_covariates(endpoint)
    with_nlr = ("nlr", *keys) if "nlr" not in keys else tuple(k for k in keys if k != "nlr")
    return {
        MODEL_AS_PUBLISHED: fit_model(cohort, endpoint, keys, ties),
        MODEL_NLR_ADDED if "nlr" not in keys else MODEL_NLR_DROPPED: fit_model(cohort, endpoint, with_nlr, ties),
        MODEL_SIZE_CONTINUOUS: fit_model(cohort, endpoint,
                                         tuple(SIZE_PER_5CM if k == "max_diameter_cm" else k for k in keys), ties),
        MODEL_STAGE_DROPPED: fit_model(cohort, endpoint, tuple(k for k in keys if k != STAGE), ties),
        MODEL_EFRON: fit_model(cohort, endpoint, keys, "efron"),
    }


def sensitivity_forest_rows(models: Mapping[str, CoxResult]) -> pd.DataFrame:
    """model (categorical, in the mapping's order), label, hr, lower, upper, p of every row of every model,
    covariates in first-seen order."""
    parts = [forest_rows(result).assign(model=name) for name, result in models.items()]
    rows = pd.concat(parts, ignore_index=True)
    rows["model"] = pd.Categorical(rows["model"], categories=list(models))
    order = list(dict.fromkeys(rows["label"]))
    rows["_order"] = rows["label"].map(order.index)
    return rows.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)[
        ["model", "label", "hr", "lower", "upper", "p"]]


def sensitivity_table(models: Mapping[str, CoxResult]) -> pd.DataFrame:
    """Covariates by model: 'HR (95% CI)', * where P < 0.05 (or 'not estimable'), then events per parameter and C."""
    rows = sensitivity_forest_rows(models)
    cells = {(row["label"], row["model"]): (f"{row['hr']:.2f} ({_ci_text(row['lower'], row['upper'])})"
                                             + ("*" if row["p"] < SIGNIFICANCE_LEVEL else "")
                                             if pd.notna(row["hr"]) else NOT_ESTIMABLE)
             for _, row in rows.iterrows()}
    labels = list(dict.fromkeys(rows["label"]))
    table = pd.DataFrame([[cells.get((label, name), "") for name in models] for label in labels],
                         index=pd.Index(labels, name="covariate"), columns=list(models))
    table.loc["events per parameter"] = [_decimal_text(events_per_variable(r), 1) for r in models.values()]
    table.loc["Harrell's C"] = [_decimal_text(r.concordance, 3) for r in models.values()]
    return table


def sensitivity_note(models_by_endpoint: Mapping[str, Mapping[str, CoxResult]]) -> str:
    """One bullet per endpoint and variant: covariates that change their verdict at 0.05, new covariates' P, and
    the hazard ratio that moves most when it moves by more than HR_CHANGE_WORTH_NOTING."""
    lines = []
    for endpoint, models in models_by_endpoint.items():
        short = study.ENDPOINTS[endpoint].short
        base_result = models[MODEL_AS_PUBLISHED]
        base = estimable_table(base_result).set_index("label")["p"]
        for name, result in models.items():
            if name == MODEL_AS_PUBLISHED:
                continue
            p = estimable_table(result).set_index("label")["p"]
            if base.isna().all() or p.isna().all():
                lines.append(f"- **{short}, {name}**: no hazard ratio can be estimated in "
                             f"{'either model' if base.isna().all() and p.isna().all() else 'one of the two models'}, "
                             f"so there is nothing to compare.")
                continue
            changes = []
            for label in base.index.intersection(p.index):
                if pd.isna(base[label]) or pd.isna(p[label]):
                    continue
                if (base[label] < SIGNIFICANCE_LEVEL) != (p[label] < SIGNIFICANCE_LEVEL):
                    direction = "now reaches" if p[label] < SIGNIFICANCE_LEVEL else "no longer reaches"
                    changes.append(f"*{label}* {direction} P < 0.05 ({p_phrase(p[label])})")
            for label in p.index.difference(base.index):
                changes.append(f"*{label}* has {p_phrase(p[label])}" if pd.notna(p[label])
                               else f"*{label}* is {NOT_ESTIMABLE}")
            moved = _largest_hr_change(base_result, result)
            if moved is not None and abs(math.log(moved[2] / moved[1])) > math.log1p(HR_CHANGE_WORTH_NOTING):
                changes.append(f"the HR of *{moved[0]}* moves from {moved[1]:.2f} to {moved[2]:.2f}")
            unchanged = (f"every verdict at 0.05 stays, and no hazard ratio moves by more than "
                         f"{100 * HR_CHANGE_WORTH_NOTING:.0f}%")
            text = "; ".join(changes) if changes else unchanged
            lines.append(f"- **{short}, {name}**: {text}.")
    return "\n".join(lines)


def _largest_hr_change(base: CoxResult, other: CoxResult) -> tuple[str, float, float] | None:
    """The shared covariate whose HR differs most (log scale) between two models: (label, HR base, HR other)."""
    first, second = estimable_table(base).set_index("label")["hr"], estimable_table(other).set_index("label")["hr"]
    shared = [label for label in first.index.intersection(second.index)
              if pd.notna(first[label]) and pd.notna(second[label])]
    if not shared:
        return None
    label = max(shared, key=lambda item: abs(math.log(second[item] / first[item])))
    return label, float(first[label]), float(second[label])


# ---------------------------------------------------------------------------------------------
# Reading the results


def widest_significant_interval(results: Mapping[str, CoxResult]) -> dict | None:
    """The significant hazard ratio (P < 0.05) with the widest interval (ratio upper/lower) over the models."""
    best = None
    for name, result in results.items():
        for _, row in estimable_table(result).iterrows():
            if pd.notna(row["p"]) and row["p"] < SIGNIFICANCE_LEVEL and row["lower"] > 0:
                width = row["upper"] / row["lower"]
                if best is None or width > best["width"]:
                    best = {"model": name, "label": row["label"], "hr": row["hr"], "lower": row["lower"],
                            "upper": row["upper"], "p": row["p"], "width": width}
    return best


def wide_interval_note(results: Mapping[str, CoxResult]) -> str:
    """What the widest significant interval of the models does and does not tell the reader."""
    best = widest_significant_interval(results)
    if best is None:
        return "No hazard ratio of these models reaches P < 0.05."
    lower_pct = 100 * (best["lower"] - 1)
    return (f"The widest significant interval here belongs to *{best['label']}* in the {best['model']}: "
            f"HR {best['hr']:.2f} (95% CI {best['lower']:.2f}–{best['upper']:.2f}), P = "
            f"{survival.format_p_value(best['p'])}. The data are compatible with a hazard "
            f"{lower_pct:.0f}% higher and with one {best['upper']:.1f} times as high: the upper limit is "
            f"{best['width']:.1f} times the lower one. 'Significant' says only that 1 lies outside the interval; it "
            f"does not say whether the effect is modest or dramatic, and here the data cannot tell the two apart.")


def reference_note(result: CoxResult, key: str = "postop_regimens") -> str:
    """How to read one row's reference category, and the same row with the reference turned round."""
    rows = estimable_table(result).set_index("label")
    label = PAPER_LABELS[key]
    if label not in rows.index or pd.isna(rows.at[label, "hr"]):
        return ""
    row = rows.loc[label]
    exposed, reference = label.split(" vs ")
    exposed = exposed.split(" ")[-1]
    return (f"In *{label}* the group named first ({exposed}) is compared with the group named second "
            f"({reference}), the reference. HR {row['hr']:.2f} means that at any moment, among patients still alive "
            f"and alike in the other covariates, the {exposed} group dies at {row['hr']:.2f} times the rate of the "
            f"{reference} group. Turned round, {reference} vs {exposed}, the same model gives HR "
            f"1/{row['hr']:.2f} = {1 / row['hr']:.2f} with the interval "
            f"{1 / row['upper']:.2f}–{1 / row['lower']:.2f} "
            f"and exactly the same P ({survival.format_p_value(row['p'])}): only the sign of β changes.")


def model_problems_note(results: Mapping[str, CoxResult]) -> str:
    """One line per model that warned (empty-model problems included); a sentence when none did."""
    lines = [f"- {name}: {'; '.join(result.problems)}" for name, result in results.items() if result.problems]
    if not lines:
        return "Every model of this chapter converged without a warning."
    return "Models to read with care (the fit warned):\n\n" + "\n".join(lines)

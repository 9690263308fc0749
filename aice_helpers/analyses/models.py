"""The paper's Cox models on any cohort: covariate columns in the paper's codings, model data, the fitted models."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from aice_helpers import study
from aice_helpers.analyses.survival import factor_levels
from aice_helpers.stats.cox import (
    PAPER_TIES,
    CoxResult,
    ModelWarning,
    fit_cox,
)

__all__ = [
    "EPV_RULE",
    "TIME",
    "EVENT",
    "PAPER_LABELS",
    "SIZE_PER_5CM",
    "SIZE_STEP_CM",
    "CONTINUOUS_LABELS",
    "paper_model_covariates",
    "covariate_columns",
    "covariate_name",
    "ModelData",
    "model_data",
    "fit_model",
    "paper_model",
]

TIME, EVENT = "time", "event"  # the column names of a model's data
EPV_RULE = 10  # events per variable, the rule of thumb of Peduzzi et al. (1995)


# Row labels of Tables 3 and 4, in the book's codings (the paper prints size as ">10 vs ≤10").
PAPER_LABELS: dict[str, str] = {
    "nlr": "NLR >3 vs ≤3",
    "max_diameter_cm": "Maximum diameter ≥10 vs <10 cm",
    "distant_metastasis": "Distant metastasis yes vs no",
    "postop_regimens": "Postoperative therapy 0–1 vs ≥2",
    "grade": "Pathological grade G3 vs G1+G2",
    "stage": "Stage IV vs III",
    "aice_cycles": "Treatment cycles 1 vs ≥2",
    "best_response": "Short-term efficacy SD+PD vs PR",
}

SIZE_PER_5CM = "max_diameter_per_5cm"

SIZE_STEP_CM = 5.0

CONTINUOUS_LABELS: dict[str, str] = {SIZE_PER_5CM: "Maximum diameter, per 5 cm"}

def paper_model_covariates(endpoint: str) -> tuple[str, ...]:
    """The covariate keys of the paper's model of an endpoint ('os': Table 3, 'pfs': Table 4), in printed order."""
    return study.COX_TABLES[study.ENDPOINT_TABLES[endpoint]][1]

def covariate_columns(cohort: pd.DataFrame, key: str) -> pd.DataFrame:
    """The model columns of one covariate, named by their row labels (0/1 indicators or a continuous value)."""
    if key in study.CODINGS:
        return pd.DataFrame({PAPER_LABELS[key]: study.CODINGS[key].indicator(cohort).astype(float)},
                            index=cohort.index)
    if key == SIZE_PER_5CM:
        return pd.DataFrame({CONTINUOUS_LABELS[key]: cohort["max_diameter_cm"].astype(float) / SIZE_STEP_CM},
                            index=cohort.index)
    factor = study.FACTORS_BY_KEY[key]
    groups = pd.Series(factor.grouping(cohort), index=cohort.index)
    levels = factor_levels(groups.astype("category"), factor)
    reference = levels[0] if levels else ""
    return pd.DataFrame({f"{factor.label} {level} vs {reference}": (groups == level).astype(float).where(groups.notna())
                         for level in levels[1:]}, index=cohort.index)

def covariate_name(cohort: pd.DataFrame, key: str) -> str:
    """A covariate as a row of the chapter's tables: its contrast, or its name and number of groups."""
    columns = list(covariate_columns(cohort, key).columns)
    if len(columns) == 1:
        return columns[0]
    if not columns:
        return f"{study.FACTORS_BY_KEY[key].label} (a single group here)"
    return f"{study.FACTORS_BY_KEY[key].label} ({len(columns) + 1} groups)"

@dataclass(frozen=True)
class ModelData:
    """A model's data: time, event and one column per parameter, and which columns belong to which covariate."""

    frame: pd.DataFrame
    covariates: dict[str, tuple[str, str]]  # fit_cox's {label: (column, reference)}
    terms: dict[str, list[str]]  # covariate key -> its columns

def model_data(cohort: pd.DataFrame, endpoint: str, keys: Sequence[str]) -> ModelData:
    """The time, event and covariate columns of a model of ``endpoint`` on ``keys`` (incomplete rows dropped)."""
    spec = study.ENDPOINTS[endpoint]
    parts = {key: covariate_columns(cohort, key) for key in keys}
    frame = pd.concat([cohort[[spec.time_col, spec.event_col]].set_axis([TIME, EVENT], axis=1), *parts.values()],
                      axis=1).dropna()
    covariates = {column: (column, column.split(" vs ")[-1] if " vs " in column else "per unit")
                  for part in parts.values() for column in part.columns}
    return ModelData(frame.astype(float), covariates, {key: list(part.columns) for key, part in parts.items()})

_FITS: dict[tuple, CoxResult] = {}  # (endpoint, keys, ties, rows, fingerprint of the model data) -> fit
MAX_CACHED_FITS = 32


def fit_model(cohort: pd.DataFrame, endpoint: str, keys: Sequence[str], ties: str = PAPER_TIES) -> CoxResult:
    """The Cox model of an endpoint on the covariate keys; problems are kept in ``problems``, not warned.

    A model is fitted once per data: the chapter's tables, its scorecard and the appendix read the same fit
    (the cache is keyed by a hash of the model's own rows, so changed data are fitted again).
    """
    data = model_data(cohort, endpoint, keys)
    fingerprint = int(pd.util.hash_pandas_object(data.frame, index=False).sum())
    key = (endpoint, tuple(keys), ties, len(data.frame), tuple(data.frame.columns), fingerprint)
    if key in _FITS:
        return _FITS[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)
        result = fit_cox(data.frame, TIME, EVENT, data.covariates, ties=ties)
    if len(_FITS) >= MAX_CACHED_FITS:
        _FITS.pop(next(iter(_FITS)))
    _FITS[key] = result
    return result


def paper_model(cohort: pd.DataFrame, endpoint: str, ties: str = PAPER_TIES) -> CoxResult:
    """The paper's model of an endpoint (Table 3 for 'os', Table 4 for 'pfs')."""
    return fit_model(cohort, endpoint, paper_model_covariates(endpoint), ties)


# events per variable, the rule of thumb of Peduzzi et al. (1995)

def events_per_variable(result: CoxResult) -> float:
    """Events divided by the number of estimated coefficients of a fitted model."""
    parameters = int(result.table["beta"].notna().sum())
    return result.events / parameters if parameters else math.nan

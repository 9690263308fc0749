"""Cox proportional-hazards models in the layout of the paper's Tables 3 and 4.

Two tie corrections, two engines:

* ``ties="breslow"`` — statsmodels ``PHReg(ties="breslow")``. This is what SPSS ``COXREG`` uses
  (it offers no other), so it is the default for reproducing the paper (SPSS 25).
* ``ties="efron"`` — lifelines ``CoxPHFitter`` (Efron only), R ``coxph``'s default.

Both are fitted by Newton–Raphson to a tight tolerance (``LIFELINES_FIT_OPTIONS``,
``STATSMODELS_FIT_OPTIONS``): lifelines' default stopping rule leaves ~1e-5 relative error in β,
the tight one matches R ``coxph`` to ~1e-11. Intervals and P are Wald's: HR = exp(β),
CI = exp(β ± z·SE), P = 2·(1 − Φ(|β/SE|)).

Problems (a covariate with one level, non-convergence, singular information, separation)
give a :class:`ModelWarning` and a result with ``reliable=False``; they never raise.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError
from lifelines.utils import concordance_index
from scipy.stats import norm
from statsmodels.duration.hazard_regression import PHReg

TIES = ("breslow", "efron")
PAPER_TIES = "breslow"  # SPSS COXREG handles ties by Breslow's method only
DEFAULT_ALPHA = 0.05
LIFELINES_FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-15, "max_steps": 200}
STATSMODELS_FIT_OPTIONS = {"method": "newton", "tol": 1e-12, "maxiter": 200}
# |β|·SD(x) above this (a hazard ratio above e^8 ≈ 3000 per SD) signals a monotone likelihood
# (separation): the maximum is at infinity and the finite β is where the iterations stopped.
SEPARATION_LIMIT = 8.0
# lifelines' pre-fit heuristic also fires for estimable models (e.g. every censored patient in one
# group); separation is judged for both engines by SEPARATION_LIMIT instead.
LIFELINES_LOW_VARIANCE_NOTE = "very low variance when conditioned on death event"
TABLE_COLUMNS = ["label", "reference", "column", "beta", "se", "hr", "lower", "upper", "p"]
THRESHOLD_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class ModelWarning(UserWarning):
    """A model result that should not be trusted as printed (see the result's ``problems``)."""


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model: the Table 3/4 rows plus fit statistics and reliability flags."""

    table: pd.DataFrame
    concordance: float
    n: int
    events: int
    log_likelihood: float
    ties: str
    engine: str
    reliable: bool = True
    problems: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Codings


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


def dummy_indicators(series: pd.Series, levels: Sequence) -> pd.DataFrame:
    """0/1 columns, one per level after the first (the reference), named ``<series>=<level>``."""
    name = series.name if series.name is not None else "x"
    return pd.DataFrame(
        {f"{name}={level}": (series == level).astype(int) for level in list(levels)[1:]}, index=series.index
    )


# ---------------------------------------------------------------------------------------------
# Wald statistics


def wald_table(beta: np.ndarray, se: np.ndarray, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """β, SE, HR = e^β, CI = exp(β ± z·SE), Wald P = 2·(1 − Φ(|β/SE|))."""
    z = norm.ppf(1.0 - alpha / 2.0)
    beta, se = np.asarray(beta, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(all="ignore"):
        return pd.DataFrame(
            {
                "beta": beta,
                "se": se,
                "hr": np.exp(beta),
                "lower": np.exp(beta - z * se),
                "upper": np.exp(beta + z * se),
                "p": 2.0 * norm.sf(np.abs(beta / se)),
            }
        )


# ---------------------------------------------------------------------------------------------
# Fitting


def fit_cox(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Mapping[str, tuple[str, str]],
    ties: str = PAPER_TIES,
    alpha: float = DEFAULT_ALPHA,
) -> CoxResult:
    """Cox model of ``duration_col``/``event_col`` on ``covariates`` {label: (column, reference)}.

    Rows with a missing value in any used column are left out. A covariate with a single value is
    dropped from the model (its row is NaN) with a ModelWarning; so are fit problems.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    columns = [column for column, _ in covariates.values()]
    data = df[[duration_col, event_col, *columns]].dropna().astype(float)
    problems = [f"covariate {label!r} ({column}) has a single value: left out of the model"
                for label, (column, _) in covariates.items() if data[column].nunique() < 2]
    used = [column for column in dict.fromkeys(columns) if data[column].nunique() >= 2]
    n, events = len(data), int(data[event_col].sum())
    if events == 0:
        problems.append("no events: the model cannot be fitted")
    fitted = {"beta": {}, "se": {}, "concordance": math.nan, "log_likelihood": math.nan}
    if used and events > 0:
        fitter = _fit_breslow if ties == "breslow" else _fit_efron
        fitted, fit_problems = fitter(data, duration_col, event_col, used)
        problems += fit_problems
        problems += _separation_problems(data[used], fitted["beta"])
    table = _result_table(covariates, fitted["beta"], fitted["se"], alpha)
    if table[["beta", "se"]].isna().any().any() and not problems:
        problems.append("some coefficients could not be estimated")
    for problem in problems:
        warnings.warn(problem, ModelWarning, stacklevel=2)
    return CoxResult(
        table=table,
        concordance=fitted["concordance"],
        n=n,
        events=events,
        log_likelihood=fitted["log_likelihood"],
        ties=ties,
        engine="statsmodels PHReg" if ties == "breslow" else "lifelines CoxPHFitter",
        reliable=not problems,
        problems=tuple(problems),
    )


def _result_table(
    covariates: Mapping[str, tuple[str, str]], beta: Mapping[str, float], se: Mapping[str, float], alpha: float
) -> pd.DataFrame:
    """One Table 3/4 row per covariate label, NaN for covariates left out of the model."""
    columns = [column for column, _ in covariates.values()]
    stats = wald_table([beta.get(c, math.nan) for c in columns], [se.get(c, math.nan) for c in columns], alpha)
    stats.insert(0, "column", columns)
    stats.insert(0, "reference", [reference for _, reference in covariates.values()])
    stats.insert(0, "label", list(covariates))
    return stats[TABLE_COLUMNS]


def _captured(fit, *args) -> tuple[object, list[str]]:
    """Run ``fit(*args)``, returning its value (None on a convergence failure) and warning messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fit(*args)
        except (ConvergenceError, np.linalg.LinAlgError) as error:
            return None, [f"fit failed: {str(error).strip().splitlines()[0]}"]
    messages = [f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}" for w in caught]
    return value, [message for message in messages if LIFELINES_LOW_VARIANCE_NOTE not in message]


def _fit_efron(data: pd.DataFrame, duration_col: str, event_col: str, used: list[str]) -> tuple[dict, list[str]]:
    """Efron-tie fit by lifelines CoxPHFitter with a tight Newton–Raphson tolerance."""

    def fit() -> CoxPHFitter:
        return CoxPHFitter().fit(data[[duration_col, event_col, *used]], duration_col, event_col,
                                 fit_options=LIFELINES_FIT_OPTIONS)

    fitter, problems = _captured(fit)
    if fitter is None:
        return _empty_fit(), problems
    return {
        "beta": fitter.params_.to_dict(),
        "se": fitter.standard_errors_.to_dict(),
        "concordance": float(fitter.concordance_index_),
        "log_likelihood": float(fitter.log_likelihood_),
    }, problems


def _fit_breslow(data: pd.DataFrame, duration_col: str, event_col: str, used: list[str]) -> tuple[dict, list[str]]:
    """Breslow-tie fit by statsmodels PHReg (Newton–Raphson, tight tolerance); C-index by lifelines."""
    exog = data[used].to_numpy(float)

    def fit():
        model = PHReg(data[duration_col].to_numpy(float), exog, status=data[event_col].to_numpy(int), ties="breslow")
        return model.fit(**STATSMODELS_FIT_OPTIONS)

    result, problems = _captured(fit)
    if result is None:
        return _empty_fit(), problems
    beta = np.asarray(result.params, dtype=float)
    with np.errstate(all="ignore"):
        se = np.asarray(result.bse, dtype=float)
    concordance = (concordance_index(data[duration_col], -(exog @ beta), data[event_col])
                   if np.all(np.isfinite(beta)) else math.nan)
    return {
        "beta": dict(zip(used, beta)),
        "se": dict(zip(used, se)),
        "concordance": float(concordance),
        "log_likelihood": float(result.llf),
    }, problems


def _empty_fit() -> dict:
    """The fit statistics of a model that could not be fitted."""
    return {"beta": {}, "se": {}, "concordance": math.nan, "log_likelihood": math.nan}


def _separation_problems(x: pd.DataFrame, beta: Mapping[str, float]) -> list[str]:
    """Covariates whose |β|·SD(x) exceeds SEPARATION_LIMIT or whose β is not finite."""
    problems = []
    if not beta:
        return problems
    for column in x.columns:
        b = beta.get(column, math.nan)
        if not math.isfinite(b) or abs(b) * float(x[column].std()) > SEPARATION_LIMIT:
            problems.append(f"covariate {column!r}: coefficient {b:.3g} suggests separation "
                            "(monotone likelihood); the HR is not estimable")
    return problems

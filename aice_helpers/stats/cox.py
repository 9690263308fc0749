"""Cox proportional-hazards models in the layout of the paper's Tables 3 and 4.

Two tie corrections, two engines:

* ``ties="breslow"`` — statsmodels ``PHReg(ties="breslow")``. This is what SPSS ``COXREG`` uses
  (it offers no other), so it is the default for reproducing the paper (SPSS 25).
* ``ties="efron"`` — lifelines ``CoxPHFitter`` (Efron only), R ``coxph``'s default.

Both are fitted by Newton–Raphson to a tight tolerance (``LIFELINES_FIT_OPTIONS``,
``STATSMODELS_FIT_OPTIONS``): lifelines' default stopping rule leaves ~1e-5 relative error in β,
the tight one matches R ``coxph`` to ~1e-11. Intervals and P are Wald's: HR = exp(β),
CI = exp(β ± z·SE), P = 2·(1 − Φ(|β/SE|)).

Large cohorts: PHReg sets up its risk sets with a Python loop over patients, and lifelines'
concordance loops over times, which takes minutes per model at a million patients. From
``GROUPED_MIN_ROWS`` rows on, a Breslow model whose distinct event times × distinct covariate rows
stay within ``GROUPED_MAX_CELLS`` (indicators, or a measurement on a grid, with tied times) is
fitted on the risk sets counted per event time and covariate pattern instead (:func:`risk_set_table`):
the same partial likelihood, the same Newton–Raphson iterations as statsmodels' (from β = 0, same
tolerance and step limit), and Harrell's C counted as lifelines counts it.

Problems (a covariate with one level, non-convergence, singular information, separation)
give a :class:`ModelWarning` and a result with ``reliable=False``; they never raise. The result also
says which rows cannot be read, and why (``not_estimable``); :func:`estimable_table` is the table with
those rows blanked, as the chapters show it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError
from lifelines.utils import concordance_index
from scipy.stats import chi2, norm
from statsmodels.duration.hazard_regression import PHReg

__all__ = [
    "TIES",
    "PAPER_TIES",
    "DEFAULT_ALPHA",
    "LIFELINES_FIT_OPTIONS",
    "STATSMODELS_FIT_OPTIONS",
    "SEPARATION_LIMIT",
    "FLAT_LIKELIHOOD_LIMIT",
    "LIFELINES_LOW_VARIANCE_NOTE",
    "GROUPED_MIN_ROWS",
    "GROUPED_MAX_CELLS",
    "GROUPED_ENGINE",
    "NOT_CONVERGED",
    "TABLE_COLUMNS",
    "STATISTIC_COLUMNS",
    "SINGLE_VALUE_REASON",
    "NO_EVENTS_REASON",
    "SEPARATION_REASON",
    "FLAT_REASON",
    "NOT_ESTIMATED_REASON",
    "SOME_NOT_ESTIMATED",
    "FIT_FAILED",
    "ModelWarning",
    "CoxResult",
    "estimable_table",
    "dummy_indicators",
    "wald_table",
    "fit_cox",
    "not_estimable_rows",
    "first_sentence",
    "RiskSetTable",
    "covariate_patterns",
    "risk_set_table",
    "grouped_breslow_terms",
    "grouped_concordance",
    "ZPH_TRANSFORMS",
    "GLOBAL_TERM",
    "EventTimeSums",
    "event_time_sums",
    "schoenfeld_residuals",
    "scaled_schoenfeld_residuals",
    "zph_time_transform",
    "zph_score_test",
    "score_statistic",
]

TIES = ("breslow", "efron")
PAPER_TIES = "breslow"  # SPSS COXREG handles ties by Breslow's method only
DEFAULT_ALPHA = 0.05
LIFELINES_FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-15, "max_steps": 200}
STATSMODELS_FIT_OPTIONS = {"method": "newton", "tol": 1e-12, "maxiter": 200}
# |β|·SD(x) above this (a hazard ratio above e^8 ≈ 3000 per SD) signals a monotone likelihood
# (separation): the maximum is at infinity and the finite β is where the iterations stopped.
SEPARATION_LIMIT = 8.0
# SE·SD(x) above the same limit (an interval spanning a factor of e^31 per SD or more) signals a flat likelihood:
# the data hold next to no information on the coefficient, e.g. a covariate nearly collinear with a separated one.
FLAT_LIKELIHOOD_LIMIT = SEPARATION_LIMIT
# lifelines' pre-fit heuristic also fires for estimable models (e.g. every censored patient in one
# group); separation is judged for both engines by SEPARATION_LIMIT instead.
LIFELINES_LOW_VARIANCE_NOTE = "very low variance when conditioned on death event"
GROUPED_MIN_ROWS = 5_000
GROUPED_MAX_CELLS = 10_000_000  # distinct event times × covariate patterns: a few hundred MB at most
GROUPED_ENGINE = "risk sets grouped by covariate pattern (numpy)"
NOT_CONVERGED = "ConvergenceWarning: Maximum Likelihood optimization failed to converge. Check mle_retvals"
TABLE_COLUMNS = ["label", "reference", "column", "beta", "se", "hr", "lower", "upper", "p"]
STATISTIC_COLUMNS = ["beta", "se", "hr", "lower", "upper", "p"]
SINGLE_VALUE_REASON = "a single value in the data"
NO_EVENTS_REASON = "no events"
SEPARATION_REASON = "separation (monotone likelihood)"
FLAT_REASON = "no information in the data (flat likelihood)"
NOT_ESTIMATED_REASON = "no finite estimate"
SOME_NOT_ESTIMATED = "some coefficients could not be estimated"
FIT_FAILED = "fit failed"


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
    not_estimable: Mapping[str, str] = field(default_factory=dict)  # row label -> why its HR cannot be read


def estimable_table(result: CoxResult) -> pd.DataFrame:
    """Return the result's table with β, SE, HR, limits and P blanked (NaN) in the rows that are not estimable."""
    table = result.table.copy()
    table.loc[table["label"].isin(list(result.not_estimable)), STATISTIC_COLUMNS] = math.nan
    return table


# ---------------------------------------------------------------------------------------------
# Codings


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
    engine = "statsmodels PHReg" if ties == "breslow" else "lifelines CoxPHFitter"
    if used and events > 0:
        grouped = (risk_set_table(data[duration_col], data[event_col], data[used].to_numpy(float))
                   if ties == "breslow" and n >= GROUPED_MIN_ROWS else None)
        if grouped is not None:
            fitter, engine = partial(_fit_grouped_breslow, grouped), GROUPED_ENGINE
        else:
            fitter = _fit_breslow if ties == "breslow" else _fit_efron
        fitted, fit_problems = fitter(data, duration_col, event_col, used)
        problems += fit_problems
        separation = _separation_problems(data[used], fitted["beta"])
        problems += separation + _flat_likelihood_problems(data[used], fitted["se"], separation)
    table = _result_table(covariates, fitted["beta"], fitted["se"], alpha)
    if table[["beta", "se"]].isna().any().any() and not problems:
        problems.append(SOME_NOT_ESTIMATED)
    for problem in problems:
        warnings.warn(problem, ModelWarning, stacklevel=2)
    unusable = not_estimable_rows(table, data, covariates, events, problems)
    return CoxResult(
        table=table,
        concordance=fitted["concordance"],
        n=n,
        events=events,
        log_likelihood=fitted["log_likelihood"],
        ties=ties,
        engine=engine,
        reliable=not problems,
        problems=tuple(problems),
        not_estimable=unusable,
    )


def not_estimable_rows(table: pd.DataFrame, data: pd.DataFrame, covariates: Mapping[str, tuple[str, str]],
                       events: int, problems: Sequence[str]) -> dict[str, str]:
    """Return {row label: reason} for rows whose HR cannot be read: their own trouble, else a problem naming none."""
    separated = {column for column in data.columns if any(f"covariate {column!r}: coefficient" in problem
                                                          for problem in problems)}
    flat = {column for column in data.columns if any(f"covariate {column!r}: standard error" in problem
                                                     for problem in problems)}
    general = [problem for problem in problems
               if not problem.startswith("covariate ") and problem != SOME_NOT_ESTIMATED]
    rows = {}
    for label, (column, _) in covariates.items():
        if data[column].nunique() < 2:
            rows[label] = SINGLE_VALUE_REASON
        elif events == 0:
            rows[label] = NO_EVENTS_REASON
        elif column in separated:
            rows[label] = SEPARATION_REASON
        elif column in flat:
            rows[label] = FLAT_REASON
        elif general and not separated | flat:
            rows[label] = general[0]
    finite = table.set_index("label")[["beta", "se"]].apply(np.isfinite).all(axis=1)
    for label in finite.index[~finite.to_numpy()]:
        rows.setdefault(label, NOT_ESTIMATED_REASON)
    return rows


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
            return None, [f"{FIT_FAILED}: {first_sentence(str(error))}"]
    messages = [f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}" for w in caught]
    return value, [message for message in messages if LIFELINES_LOW_VARIANCE_NOTE not in message]


def first_sentence(message: str) -> str:
    """The first line of an error message, up to its first full stop (lifelines appends advice and a web address)."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line.split(". ")[0].removesuffix(".")


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


@dataclass(frozen=True)
class RiskSetTable:
    """A survival data set counted per distinct event time (rows) and covariate pattern (columns)."""

    patterns: np.ndarray  # (P × p) the distinct covariate rows
    deaths: np.ndarray  # (T × P) deaths at each distinct event time
    at_risk: np.ndarray  # (T × P) patients whose time is >= the event time
    comparable: np.ndarray  # (T × P) patients who outlive a death at that time, for Harrell's C


def covariate_patterns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct rows of ``x`` and each row's number among them, by one code per row (a row-wise
    np.unique sorts a million rows of several columns slowly)."""
    code = np.zeros(len(x), dtype=np.int64)
    radix = 1
    for column in x.T:
        _, position = np.unique(column, return_inverse=True)
        size = int(position.max()) + 1 if len(position) else 1
        if radix * size >= 2**62:  # too many combinations for one integer code
            patterns, pattern = np.unique(x, axis=0, return_inverse=True)
            return patterns, pattern.ravel()
        code += position.ravel() * radix
        radix *= size
    _, first, pattern = np.unique(code, return_index=True, return_inverse=True)
    return x[first], pattern.ravel()


def risk_set_table(time: Sequence[float], event: Sequence[int], x: np.ndarray,
                   max_cells: int = GROUPED_MAX_CELLS) -> RiskSetTable | None:
    """Return the counts a Breslow fit needs, or None when event times × covariate patterns exceed ``max_cells``.

    ``comparable`` counts, as lifelines' concordance does, the patients with a later time and those
    censored at the very time of the death.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    patterns, pattern = covariate_patterns(x)
    event_times = np.unique(time[event == 1])
    if len(patterns) * len(event_times) > max_cells:
        return None
    order = np.lexsort((time, pattern))
    sorted_time = time[order]
    bounds = np.searchsorted(pattern[order], np.arange(len(patterns) + 1))
    at_risk = np.empty((len(event_times), len(patterns)))
    later = np.empty_like(at_risk)
    for k in range(len(patterns)):
        block = sorted_time[bounds[k]:bounds[k + 1]]
        at_risk[:, k] = block.size - np.searchsorted(block, event_times, side="left")
        later[:, k] = block.size - np.searchsorted(block, event_times, side="right")
    dead = event == 1
    cell = np.searchsorted(event_times, time[dead]) * len(patterns) + pattern[dead]
    deaths = np.bincount(cell, minlength=at_risk.size).reshape(at_risk.shape).astype(float)
    return RiskSetTable(patterns, deaths, at_risk, at_risk - deaths)


def grouped_breslow_terms(table: RiskSetTable, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Return the Breslow log partial likelihood, its gradient and its Hessian at ``beta``."""
    n_patterns, p = table.patterns.shape
    eta = table.patterns @ beta
    weight = np.exp(eta - eta.max())
    outer = (table.patterns[:, :, None] * table.patterns[:, None, :]).reshape(n_patterns, p * p)
    s0 = table.at_risk @ weight
    s1 = table.at_risk @ (weight[:, None] * table.patterns)
    s2 = (table.at_risk @ (weight[:, None] * outer)).reshape(-1, p, p)
    d = table.deaths.sum(axis=1)
    deaths_by_pattern = table.deaths.sum(axis=0)
    log_likelihood = float(deaths_by_pattern @ eta - d @ (np.log(s0) + eta.max()))
    mean = s1 / s0[:, None]
    gradient = deaths_by_pattern @ table.patterns - d @ mean
    hessian = -np.einsum("t,tjk->jk", d, s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :])
    return log_likelihood, gradient, hessian


def grouped_concordance(table: RiskSetTable, beta: np.ndarray) -> float:
    """Return Harrell's C of the risk score x·β, with lifelines' conventions (risk ties count one half)."""
    risk = table.patterns @ beta
    order = np.argsort(risk, kind="stable")
    deaths, comparable = table.deaths[:, order], table.comparable[:, order]
    levels, starts, level = np.unique(risk[order], return_index=True, return_inverse=True)
    comparable_by_level = np.add.reduceat(comparable, starts, axis=1)  # patterns of one risk are adjacent
    lower_risk = np.cumsum(comparable_by_level, axis=1) - comparable_by_level  # strictly lower risk
    concordant = (deaths * lower_risk[:, level]).sum()
    tied = (deaths * comparable_by_level[:, level]).sum()
    pairs = (deaths.sum(axis=1) * comparable.sum(axis=1)).sum()
    return float((concordant + 0.5 * tied) / pairs) if pairs else math.nan


def _fit_grouped_breslow(table: RiskSetTable, data: pd.DataFrame, duration_col: str, event_col: str,
                         used: list[str]) -> tuple[dict, list[str]]:
    """Breslow fit on grouped risk sets, iterated exactly as statsmodels' Newton–Raphson."""
    beta, previous = np.zeros(len(used)), np.full(len(used), np.inf)
    iterations, problems = 0, []
    tolerance, limit = STATSMODELS_FIT_OPTIONS["tol"], STATSMODELS_FIT_OPTIONS["maxiter"]
    with np.errstate(all="ignore"):
        try:
            while iterations < limit and np.any(np.abs(beta - previous) > tolerance):
                _, gradient, hessian = grouped_breslow_terms(table, beta)
                previous, beta = beta, beta - np.linalg.solve(hessian, gradient)
                iterations += 1
            log_likelihood, _, hessian = grouped_breslow_terms(table, beta)
            se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
        except np.linalg.LinAlgError as error:
            return _empty_fit(), [f"{FIT_FAILED}: {first_sentence(str(error))}"]
    if iterations == limit:
        problems.append(NOT_CONVERGED)
    finite = bool(np.all(np.isfinite(beta)))
    return {
        "beta": dict(zip(used, beta)),
        "se": dict(zip(used, se)),
        "concordance": grouped_concordance(table, beta) if finite else math.nan,
        "log_likelihood": log_likelihood,
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


def _flat_likelihood_problems(x: pd.DataFrame, se: Mapping[str, float], separation: Sequence[str]) -> list[str]:
    """Covariates, not already flagged for separation, whose SE·SD(x) exceeds FLAT_LIKELIHOOD_LIMIT."""
    problems = []
    for column in x.columns:
        error = se.get(column, math.nan)
        flagged = any(f"covariate {column!r}:" in problem for problem in separation)
        if not flagged and math.isfinite(error) and error * float(x[column].std()) > FLAT_LIKELIHOOD_LIMIT:
            problems.append(f"covariate {column!r}: standard error {error:.3g} shows a flat likelihood (the data hold "
                            "next to no information on it); the HR is not estimable")
    return problems


# ---------------------------------------------------------------------------------------------
# Proportional hazards: Schoenfeld residuals and the score test of R's cox.zph (survival ≥ 3.0)
#
# At every distinct event time the risk set gives weighted means and covariances of the
# covariates, with weights e^{xβ}. Breslow keeps the whole risk set for every tied death; Efron
# takes the k-th of d tied deaths (k = 0, …, d−1) with a fraction k/d of the dying patients' weight
# removed. From these sums follow the score, the information and the Schoenfeld residuals, and so
# the test Grambsch and Therneau proposed for a coefficient that changes with g(t): a score test,
# at (β̂, 0), of the extra terms x·g(t). That is what R's cox.zph computes since survival 3.0.

ZPH_TRANSFORMS = ("km", "rank", "identity", "log")
GLOBAL_TERM = "GLOBAL"


@dataclass(frozen=True)
class EventTimeSums:
    """Per distinct event time: its deaths, the Cox score and information, and each death's residual."""

    times: np.ndarray  # distinct event times, increasing
    deaths: np.ndarray  # deaths at each time
    score: np.ndarray  # (times × p): Σ x over the deaths − Σ_k of the risk-set means
    information: np.ndarray  # (times × p × p): Σ_k of the risk-set covariances
    residual_times: np.ndarray  # one per death, in time order
    residuals: np.ndarray  # (deaths × p): Schoenfeld residuals, x of the death − mean of its risk-set means


def event_time_sums(time: Sequence[float], event: Sequence[int], x: np.ndarray, beta: Sequence[float],
                    ties: str = PAPER_TIES) -> EventTimeSums:
    """Risk-set sums at every distinct event time (Breslow or Efron), vectorised over patients."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    p = x.shape[1]
    eta = x @ np.asarray(beta, dtype=float)
    weight = np.exp(eta - eta.max())
    distinct, index = np.unique(time, return_inverse=True)
    dead = (event == 1).astype(float)

    def per_time(values: np.ndarray) -> np.ndarray:
        """Sums over the patients of each distinct time."""
        return np.bincount(index, weights=values, minlength=len(distinct))

    def at_risk(values: np.ndarray) -> np.ndarray:
        """Sums over every patient with time >= t (the risk set), from per-time sums."""
        return values[::-1].cumsum(axis=0)[::-1]

    def first_moments(w: np.ndarray) -> np.ndarray:
        """Per-time sums of w·x (times × p)."""
        return np.column_stack([per_time(w * x[:, j]) for j in range(p)])

    def second_moments(w: np.ndarray) -> np.ndarray:
        """Per-time sums of w·x·xᵀ (times × p × p)."""
        return np.stack([np.column_stack([per_time(w * x[:, j] * x[:, k]) for k in range(p)]) for j in range(p)],
                        axis=1)

    s0, s1, s2 = at_risk(per_time(weight)), at_risk(first_moments(weight)), at_risk(second_moments(weight))
    d0, d1, d2 = per_time(weight * dead), first_moments(weight * dead), second_moments(weight * dead)
    deaths = per_time(dead)
    x_dead = first_moments(dead)
    keep = deaths > 0
    s0, s1, s2, d0, d1, d2, deaths, x_dead = (a[keep] for a in (s0, s1, s2, d0, d1, d2, deaths, x_dead))
    mean_sum = np.zeros_like(s1)
    information = np.zeros_like(s2)
    for k in range(int(deaths.max()) if len(deaths) else 0):
        active = deaths > k
        fraction = (k / deaths[active]) if ties == "efron" else np.zeros(int(active.sum()))
        denominator = s0[active] - fraction * d0[active]
        mean = (s1[active] - fraction[:, None] * d1[active]) / denominator[:, None]
        second = (s2[active] - fraction[:, None, None] * d2[active]) / denominator[:, None, None]
        mean_sum[active] += mean
        information[active] += second - mean[:, :, None] * mean[:, None, :]
    order = np.argsort(time, kind="stable")
    dead_order = order[event[order] == 1]
    position = np.searchsorted(distinct[keep], time[dead_order])
    residuals = x[dead_order] - mean_sum[position] / deaths[position][:, None]
    return EventTimeSums(distinct[keep], deaths.astype(int), x_dead - mean_sum, information,
                         time[dead_order], residuals)


def schoenfeld_residuals(time: Sequence[float], event: Sequence[int], x: pd.DataFrame, beta: Sequence[float],
                         ties: str = PAPER_TIES) -> pd.DataFrame:
    """Schoenfeld residuals, one row per death in time order (column ``time``), as R's residuals(type='schoenfeld')."""
    sums = event_time_sums(time, event, x.to_numpy(float), beta, ties)
    return pd.DataFrame(sums.residuals, columns=list(x.columns)).assign(time=sums.residual_times)[
        ["time", *x.columns]]


def scaled_schoenfeld_residuals(time: Sequence[float], event: Sequence[int], x: pd.DataFrame,
                                beta: Sequence[float], ties: str = PAPER_TIES) -> pd.DataFrame:
    """Scaled Schoenfeld residuals d·r·I⁻¹ + β, one row per death, as R's 'scaledsch' (lifelines omits β)."""
    sums = event_time_sums(time, event, x.to_numpy(float), beta, ties)
    covariance = np.linalg.inv(sums.information.sum(axis=0))
    scaled = len(sums.residual_times) * sums.residuals @ covariance + np.asarray(beta, dtype=float)
    return pd.DataFrame(scaled, columns=list(x.columns)).assign(time=sums.residual_times)[["time", *x.columns]]


def zph_time_transform(time: Sequence[float], event: Sequence[int], transform: str = "km") -> np.ndarray:
    """g(t) of every patient as R's cox.zph makes it: km = 1 − S(t−) (left-continuous), rank, identity, log."""
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    if transform == "identity":
        return time
    if transform == "log":
        return np.log(time)
    if transform == "rank":
        return pd.Series(time).rank(method="average").to_numpy(float)
    if transform == "km":
        distinct = np.unique(time[event == 1])
        at_risk = np.array([(time >= t).sum() for t in distinct], dtype=float)
        deaths = np.array([((time == t) & (event == 1)).sum() for t in distinct], dtype=float)
        survival = np.cumprod(1.0 - deaths / at_risk)
        before = np.searchsorted(distinct, time, side="left")  # event times strictly before t
        return 1.0 - np.r_[1.0, survival][before]
    raise ValueError(f"transform must be one of {ZPH_TRANSFORMS}, not {transform!r}")


def zph_score_test(time: Sequence[float], event: Sequence[int], x: pd.DataFrame, beta: Sequence[float],
                   ties: str = PAPER_TIES, transform: str = "km",
                   terms: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """R's cox.zph (survival ≥ 3.0): score test of β(t) = β + γ·g(t) per term and GLOBAL (chisq, df, p).

    ``beta`` must be the fitted coefficients; ``terms`` groups columns into one test (default: one per column).
    """
    columns = list(x.columns)
    terms = {column: [column] for column in columns} if terms is None else {k: list(v) for k, v in terms.items()}
    time_arr, event_arr = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    sums = event_time_sums(time_arr, event_arr, x.to_numpy(float), beta, ties)
    g_all = zph_time_transform(time_arr, event_arr, transform)
    g_all = g_all - g_all[event_arr == 1].mean()
    g = _g_at(time_arr, g_all, sums.times)
    p = len(columns)
    score = np.r_[np.zeros(p), (g[:, None] * sums.score).sum(axis=0)]
    info_11 = sums.information.sum(axis=0)
    info_12 = (g[:, None, None] * sums.information).sum(axis=0)
    info_22 = (g[:, None, None] ** 2 * sums.information).sum(axis=0)
    information = np.block([[info_11, info_12], [info_12.T, info_22]])
    rows = {}
    for name, members in terms.items():
        positions = [columns.index(member) for member in members]
        chosen = list(range(p)) + [p + position for position in positions]
        rows[name] = (score_statistic(information[np.ix_(chosen, chosen)], score[chosen]), len(positions))
    rows[GLOBAL_TERM] = (score_statistic(information, score), p)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["chisq", "df"])
    table["p"] = chi2.sf(table["chisq"], table["df"])
    return table


def score_statistic(information: np.ndarray, score: np.ndarray) -> float:
    """Return the score statistic uᵀ I⁻¹ u; NaN when the information is singular (too few deaths to test)."""
    try:
        return float(score @ np.linalg.solve(information, score))
    except np.linalg.LinAlgError:
        return math.nan


def _g_at(time: np.ndarray, g_all: np.ndarray, event_times: np.ndarray) -> np.ndarray:
    """g(t) at each distinct event time (every patient with that time has the same g)."""
    order = np.argsort(time, kind="stable")
    return g_all[order[np.searchsorted(time[order], event_times)]]

"""Cox proportional-hazards models in the layout of the paper's Tables 3 and 4, fitted as R's ``coxph``.

One engine (:func:`cox_fit`), written here in numpy because no library met the need: lifelines
fits Efron only, stops at a loose tolerance by default, fails on heavily tied times ("delta contains
nan value(s)") and grows with the number of distinct times; statsmodels' PHReg has no step-halving
(its Breslow iterations overflow on R's ``pbc`` Mayo model) and sets up risk sets with a Python
loop. The engine follows R's ``coxph.fit`` / ``coxfit6``:

* ties by Breslow (what SPSS ``COXREG`` uses; the default for reproducing the paper) or Efron
  (R's default), strata, case weights; one partial likelihood per ties method, computed from
  risk-set sums (:func:`_likelihood_terms`);
* covariates centred and scaled inside, so that times in whole years or a covariate in huge units
  neither overflow nor change the answer;
* Newton–Raphson from β = 0 with step-halving when the log-likelihood falls, stopping when its
  relative change is at most ``EPS`` = 1e-9 (at most ``MAX_ITER`` = 30 steps), R's Cholesky with
  tolerance (a collinear covariate gets no coefficient, as R's NA);
* monotone likelihood detected as R detects it ("Loglik converged before variable …; coefficient
  may be infinite": the last Newton step is still large against the coefficient), reported as
  separation, distinct from a fit that ran out of iterations;
* the likelihood-ratio, Wald and score tests of the model (R's ``summary.coxph``) and the
  concordance of R's ``concordance()`` (:func:`concordance_counts`).

Large cohorts: from ``GROUPED_MIN_ROWS`` rows on, when distinct event times × covariate patterns
stay within ``GROUPED_MAX_CELLS`` (indicators, or a measurement on a grid, with tied times), the
same sums come from the patients counted per event time and covariate pattern
(:func:`risk_set_table`): the same likelihood and the same iterations, in a fraction of the time.

Intervals and P are Wald's: HR = exp(β), CI = exp(β ± z·SE), P = 2·(1 − Φ(|β/SE|)). Problems
(a covariate with one value or with values too large to compute with, no events, non-convergence,
collinearity, separation, a flat likelihood) give a :class:`ModelWarning` and a result with
``reliable=False``; they never raise. The result says which rows cannot be read, and why
(``not_estimable``); :func:`estimable_table` is the table with those rows blanked, as the chapters
show it. Rows with a missing value in a used column are dropped and counted (``n_dropped``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

__all__ = [
    "TIES",
    "PAPER_TIES",
    "DEFAULT_ALPHA",
    "EPS",
    "MAX_ITER",
    "TOLER_CHOL",
    "LARGEST_COVARIATE",
    "LIFELINES_FIT_OPTIONS",
    "FLAT_LIKELIHOOD_LIMIT",
    "GROUPED_MIN_ROWS",
    "GROUPED_MAX_CELLS",
    "GROUPED_ENGINE",
    "ROW_ENGINE",
    "NOT_CONVERGED",
    "TABLE_COLUMNS",
    "STATISTIC_COLUMNS",
    "SINGLE_VALUE_REASON",
    "TOO_LARGE_REASON",
    "NO_EVENTS_REASON",
    "SEPARATION_REASON",
    "COLLINEAR_REASON",
    "FLAT_REASON",
    "NOT_ESTIMATED_REASON",
    "SOME_NOT_ESTIMATED",
    "FIT_FAILED",
    "SINGULAR_FIT",
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
    "grouped_concordance_counts",
    "grouped_concordance",
    "CoxFit",
    "cholesky2",
    "chsolve2",
    "newton_raphson",
    "cox_fit",
    "smaller_after",
    "concordance_counts",
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
EPS = 1e-9  # R coxph.control(eps): relative change in the log partial likelihood at convergence
MAX_ITER = 30  # R coxph.control(iter.max)
TOLER_CHOL = np.finfo(float).eps ** 0.75  # R coxph.control(toler.chol)
LARGEST_COVARIATE = math.sqrt(np.finfo(float).max)  # beyond it x² overflows: no variance can be computed
# lifelines' options for the chapters' comparison with its older PH test (cox_chapter.py); not used to fit.
LIFELINES_FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-15, "max_steps": 200}
# SE·SD(x) above this (an interval spanning a factor of e^31 per SD or more) signals a flat likelihood:
# the data hold next to no information on the coefficient, e.g. a covariate nearly collinear with a separated one.
FLAT_LIKELIHOOD_LIMIT = 8.0
GROUPED_MIN_ROWS = 5_000
GROUPED_MAX_CELLS = 10_000_000  # distinct event times × covariate patterns: a few hundred MB at most
GROUPED_ENGINE = "risk sets grouped by covariate pattern (numpy)"
ROW_ENGINE = "risk-set sums per patient (numpy)"
NOT_CONVERGED = (f"the Newton-Raphson iterations ran out ({MAX_ITER}) before the log-likelihood converged: "
                 "the fit did not converge")
TABLE_COLUMNS = ["label", "reference", "column", "beta", "se", "hr", "lower", "upper", "p"]
STATISTIC_COLUMNS = ["beta", "se", "hr", "lower", "upper", "p"]
SINGLE_VALUE_REASON = "a single value in the data"
TOO_LARGE_REASON = "values too large to compute with"
NO_EVENTS_REASON = "no events"
SEPARATION_REASON = "separation (monotone likelihood)"
COLLINEAR_REASON = "collinear with the other covariates"
FLAT_REASON = "no information in the data (flat likelihood)"
NOT_ESTIMATED_REASON = "no finite estimate"
SOME_NOT_ESTIMATED = "some coefficients could not be estimated"
FIT_FAILED = "fit failed"
SINGULAR_FIT = f"{FIT_FAILED}: singular information matrix (too few events for the covariates, or collinear covariates)"


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
    n_dropped: int = 0  # rows left out for a missing value in a used column
    tests: pd.DataFrame | None = None  # likelihood-ratio, Wald and score tests of the model (statistic, df, p)
    fit: CoxFit | None = None  # the engine's result, on the used columns


def estimable_table(result: CoxResult) -> pd.DataFrame:
    """Return the result's table with β, SE, HR, limits and P blanked (NaN) in the rows that are not estimable."""
    table = result.table.copy()
    table.loc[table["label"].isin(list(result.not_estimable)), STATISTIC_COLUMNS] = math.nan
    return table


# ---------------------------------------------------------------------------------------------
# Codings


def dummy_indicators(series: pd.Series, levels: Sequence) -> pd.DataFrame:
    """0/1 columns, one per level after the first (the reference), named ``<series>=<level>``; missing stays missing.

    A missing value is never coded as the reference: its row is missing in every column, so a
    model using them drops it (complete cases), as R's model.matrix does.
    """
    name = series.name if series.name is not None else "x"
    missing = series.isna()
    return pd.DataFrame(
        {f"{name}={level}": (series == level).astype(float).mask(missing) for level in list(levels)[1:]},
        index=series.index,
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
    strata: Sequence[str] | str | None = None,
    weights_col: str | None = None,
) -> CoxResult:
    """Cox model of ``duration_col``/``event_col`` on ``covariates`` {label: (column, reference)}, R's coxph.

    ``strata`` names columns to stratify by (R's ``+ strata(...)``); ``weights_col`` case weights.
    Rows with a missing value in any used column are left out and counted (``n_dropped``). A
    covariate with a single value, or with values beyond ±LARGEST_COVARIATE, is left out of the
    model (its row is NaN) with a ModelWarning; so are fit problems.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    columns = [column for column, _ in covariates.values()]
    extra = strata_cols + ([weights_col] if weights_col else [])
    used_columns = list(dict.fromkeys([duration_col, event_col, *columns, *extra]))
    frame = df[used_columns].dropna()
    n_dropped = len(df) - len(frame)
    data = frame[list(dict.fromkeys([duration_col, event_col, *columns]))].astype(float)
    problems = [f"covariate {label!r} ({column}) has a single value: left out of the model"
                for label, (column, _) in covariates.items() if data[column].nunique() < 2]
    too_large = {column for column in columns
                 if data[column].nunique() >= 2 and float(data[column].abs().max()) > LARGEST_COVARIATE}
    problems += [f"covariate {column!r}: values up to {float(data[column].abs().max()):.3g} are too large to compute "
                 "with (a unit or data-entry error?): left out of the model" for column in sorted(too_large)]
    used = [column for column in dict.fromkeys(columns) if data[column].nunique() >= 2 and column not in too_large]
    n, events = len(data), int(data[event_col].sum())
    if events == 0:
        problems.append("no events: the model cannot be fitted")
    beta, se, fit, tests = {}, {}, None, None
    if used and events > 0:
        fit = cox_fit(data[duration_col], data[event_col], data[used].to_numpy(float), ties=ties,
                      strata=frame[strata_cols] if strata_cols else None,
                      weights=frame[weights_col].to_numpy(float) if weights_col else None)
        beta, se = dict(zip(used, fit.coef)), dict(zip(used, fit.se))
        tests = fit.test_table()
        problems += _fit_problems(fit, used)
        flagged = [column for column, infinite, aliased in zip(used, fit.infinite, fit.aliased) if infinite or aliased]
        problems += _flat_likelihood_problems(data[used], se, flagged)
    table = _result_table(covariates, beta, se, alpha)
    if fit is not None and fit.aliased.any():
        fit_rows = not_estimable_rows(table, data, covariates, events, problems)
        if all(label in fit_rows for label, (column, _) in covariates.items() if column in used):
            # nothing estimable and a singular information matrix: say so once, not covariate by covariate
            problems = [problem for problem in problems if problem != NOT_CONVERGED and not problem.startswith(
                tuple(f"covariate {column!r}: " for column in used))] + [SINGULAR_FIT]
            table, fit, tests = _result_table(covariates, {}, {}, alpha), None, None
    if table[["beta", "se"]].isna().any().any() and not problems:
        problems.append(SOME_NOT_ESTIMATED)
    for problem in problems:
        warnings.warn(problem, ModelWarning, stacklevel=2)
    unusable = not_estimable_rows(table, data, covariates, events, problems)
    return CoxResult(
        table=table,
        concordance=fit.concordance if fit is not None else math.nan,
        n=n,
        events=events,
        log_likelihood=fit.loglik if fit is not None else math.nan,
        ties=ties,
        engine=fit.engine if fit is not None else ROW_ENGINE,
        reliable=not problems,
        problems=tuple(problems),
        not_estimable=unusable,
        n_dropped=n_dropped,
        tests=tests,
        fit=fit,
    )


def _fit_problems(fit: CoxFit, used: Sequence[str]) -> list[str]:
    """The fit's problems in words: no convergence, collinear covariates, infinite coefficients."""
    problems = [] if fit.converged else [NOT_CONVERGED]
    for column, coef, infinite, aliased in zip(used, fit.coef, fit.infinite, fit.aliased):
        if aliased:
            problems.append(f"covariate {column!r}: collinear with the other covariates (singular information); "
                            "left out of the model, as R gives NA")
        elif infinite:
            problems.append(f"covariate {column!r}: coefficient {coef:.3g} suggests separation (monotone likelihood); "
                            "the HR is not estimable (the log-likelihood converged while the coefficient kept "
                            "growing: it may be infinite, as R warns)")
    return problems


def not_estimable_rows(table: pd.DataFrame, data: pd.DataFrame, covariates: Mapping[str, tuple[str, str]],
                       events: int, problems: Sequence[str]) -> dict[str, str]:
    """Return {row label: reason} for rows whose HR cannot be read: their own trouble, else a problem naming none."""
    def named(column: str, text: str) -> bool:
        return any(f"covariate {column!r}: {text}" in problem for problem in problems)

    separated = {column for column in data.columns if named(column, "coefficient")}
    flat = {column for column in data.columns if named(column, "standard error")}
    collinear = {column for column in data.columns if named(column, "collinear")}
    too_large = {column for column in data.columns if named(column, "values up to")}
    general = [problem for problem in problems
               if not problem.startswith("covariate ") and problem != SOME_NOT_ESTIMATED]
    rows = {}
    for label, (column, _) in covariates.items():
        if data[column].nunique() < 2:
            rows[label] = SINGLE_VALUE_REASON
        elif column in too_large:
            rows[label] = TOO_LARGE_REASON
        elif events == 0:
            rows[label] = NO_EVENTS_REASON
        elif column in separated:
            rows[label] = SEPARATION_REASON
        elif column in collinear:
            rows[label] = COLLINEAR_REASON
        elif column in flat:
            rows[label] = FLAT_REASON
        elif general and not separated | flat | collinear:
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


def first_sentence(message: str) -> str:
    """The first line of an error message, up to its first full stop (lifelines appends advice and a web address)."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line.split(". ")[0].removesuffix(".")


def _flat_likelihood_problems(x: pd.DataFrame, se: Mapping[str, float], flagged: Sequence[str]) -> list[str]:
    """Covariates, not already flagged, whose SE·SD(x) exceeds FLAT_LIKELIHOOD_LIMIT."""
    problems = []
    for column in x.columns:
        error = se.get(column, math.nan)
        if column not in flagged and math.isfinite(error) and error * float(x[column].std()) > FLAT_LIKELIHOOD_LIMIT:
            problems.append(f"covariate {column!r}: standard error {error:.3g} shows a flat likelihood (the data hold "
                            "next to no information on it); the HR is not estimable")
    return problems


# ---------------------------------------------------------------------------------------------
# Risk sets counted per event time and covariate pattern (the grouped layout)


@dataclass(frozen=True)
class RiskSetTable:
    """A survival data set counted per (stratum, distinct event time) (rows) and covariate pattern (columns)."""

    patterns: np.ndarray  # (P × p) the distinct covariate rows
    deaths: np.ndarray  # (T × P) deaths at each distinct event time
    at_risk: np.ndarray  # (T × P) patients whose time is >= the event time
    comparable: np.ndarray  # (T × P) patients at risk who do not die then (later, or censored then), for C


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
                   max_cells: int = GROUPED_MAX_CELLS, strata: Sequence[int] | None = None) -> RiskSetTable | None:
    """Return the counts a grouped fit needs, or None when event times × covariate patterns exceed ``max_cells``.

    One row per (stratum, distinct event time); ``comparable`` counts, as R's concordance does,
    the patients with a later time and those censored at the very time of the death.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    codes = np.zeros(len(time), dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    patterns, pattern = covariate_patterns(x)
    stratum_levels = np.unique(codes)
    event_times = [np.unique(time[(event == 1) & (codes == level)]) for level in stratum_levels]
    if len(patterns) * sum(len(times) for times in event_times) > max_cells:
        return None
    parts = [_pattern_counts(time[codes == level], event[codes == level], pattern[codes == level], len(patterns),
                             times) for level, times in zip(stratum_levels, event_times)]
    deaths, at_risk = (np.vstack([part[i] for part in parts]) for i in range(2))
    return RiskSetTable(patterns, deaths, at_risk, at_risk - deaths)


def _pattern_counts(time: np.ndarray, event: np.ndarray, pattern: np.ndarray, n_patterns: int,
                    event_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(deaths, at risk) per event time and pattern, for one stratum."""
    order = np.lexsort((time, pattern))
    sorted_time = time[order]
    bounds = np.searchsorted(pattern[order], np.arange(n_patterns + 1))
    at_risk = np.empty((len(event_times), n_patterns))
    for k in range(n_patterns):
        block = sorted_time[bounds[k]:bounds[k + 1]]
        at_risk[:, k] = block.size - np.searchsorted(block, event_times, side="left")
    dead = event == 1
    cell = np.searchsorted(event_times, time[dead]) * n_patterns + pattern[dead]
    deaths = np.bincount(cell, minlength=at_risk.size).reshape(at_risk.shape).astype(float)
    return deaths, at_risk


def grouped_concordance_counts(table: RiskSetTable, risk: np.ndarray) -> tuple[float, float, float]:
    """(concordant, discordant, tied-in-risk) pairs of the pattern risk scores, as :func:`concordance_counts`."""
    risk = np.asarray(risk, dtype=float)
    order = np.argsort(risk, kind="stable")
    deaths, comparable = table.deaths[:, order], table.comparable[:, order]
    levels, starts, level = np.unique(risk[order], return_index=True, return_inverse=True)
    comparable_by_level = np.add.reduceat(comparable, starts, axis=1)  # patterns of one risk are adjacent
    lower_risk = np.cumsum(comparable_by_level, axis=1) - comparable_by_level  # strictly lower risk
    concordant = float((deaths * lower_risk[:, level]).sum())
    tied = float((deaths * comparable_by_level[:, level]).sum())
    pairs = float((deaths.sum(axis=1) * comparable.sum(axis=1)).sum())
    return concordant, pairs - concordant - tied, tied


def grouped_concordance(table: RiskSetTable, beta: np.ndarray) -> float:
    """Return the concordance of the risk score x·β, as R's concordance() (risk ties count one half)."""
    concordant, discordant, tied = grouped_concordance_counts(table, table.patterns @ np.asarray(beta, dtype=float))
    pairs = concordant + discordant + tied
    return (concordant + 0.5 * tied) / pairs if pairs else math.nan


# ---------------------------------------------------------------------------------------------
# The engine: risk-set sums, one partial likelihood per ties method, R's Newton–Raphson
#
# Both data layouts (one row per patient, or patients counted per event time and covariate pattern)
# reduce to the same sums per (stratum, event time) t: over the risk set, S0 = Σ r, S1 = Σ r·x,
# S2 = Σ r·x·xᵀ with r = w·exp(x·β); over the deaths at t, D0, D1, D2 alike (Efron only). From them
# one function gives the log partial likelihood, its score and information (Breslow 1974; Efron 1977,
# with case weights as R's coxfit6: the k-th of d tied deaths sees S − (k/d)·D, each counted with
# the deaths' mean weight). Breslow is the case k/d = 0.


@dataclass(frozen=True)
class CoxFit:
    """A Cox fit on the covariates' own scale, with R's coxph quantities (coef, var, loglik, tests, C)."""

    coef: np.ndarray
    se: np.ndarray
    var: np.ndarray
    loglik_null: float
    loglik: float
    score_test: float
    wald_test: float
    lr_test: float
    df: int
    iterations: int
    converged: bool
    infinite: np.ndarray  # R's "Loglik converged before variable …; coefficient may be infinite"
    aliased: np.ndarray  # singular information: R's NA coefficient ("X matrix deemed to be singular")
    concordance: float
    concordance_counts: tuple[float, float, float]  # (concordant, discordant, tied in risk), R's counts
    n: int
    events: int
    ties: str
    engine: str

    def test_table(self) -> pd.DataFrame:
        """The three tests of the model, as R's summary.coxph prints them: statistic, df, P."""
        rows = {"likelihood ratio": self.lr_test, "Wald": self.wald_test, "score (log-rank)": self.score_test}
        table = pd.DataFrame({"statistic": rows, "df": self.df})
        table["p"] = chi2.sf(table["statistic"], table["df"]) if self.df else math.nan
        return table


@dataclass(frozen=True)
class _RiskSums:
    """Per (stratum, event time): risk-set and death moments [1, x, x_j·x_k (j ≤ k)], deaths and their weight."""

    risk: np.ndarray  # (T × m)
    dead: np.ndarray | None  # (T × m), Efron only
    deaths: np.ndarray  # (T,) number of deaths
    death_weight: np.ndarray  # (T,) sum of the deaths' case weights
    shift: float  # the constant c taken out of every exp(x·β − c)


def _moment_count(p: int) -> int:
    """Number of moment columns: 1, p first moments, p(p+1)/2 second moments."""
    return 1 + p + p * (p + 1) // 2


def _moments(r: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Columns r, r·x_j, r·x_j·x_k (j ≤ k) of each row."""
    p = x.shape[1]
    rows, cols = np.triu_indices(p)
    rx = r[:, None] * x
    return np.hstack([r[:, None], rx, rx[:, rows] * x[:, cols]])


def _efron_expansion(deaths: np.ndarray, ties: str) -> tuple[np.ndarray, np.ndarray]:
    """For Efron, one entry per death: its event-time row and fraction k/d; for Breslow, one entry per event time."""
    if ties == "breslow" or deaths.max(initial=0) <= 1:
        return np.arange(len(deaths)), np.zeros(len(deaths))
    counts = deaths.astype(np.int64)
    row = np.repeat(np.arange(len(deaths)), counts)
    k = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, k / counts[row]


def _likelihood_terms(sums: _RiskSums, x_dead: np.ndarray, linear: float, ties: str,
                      expansion: tuple[np.ndarray, np.ndarray]) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and information from the risk-set sums (Breslow, or Efron's k/d terms)."""
    p = x_dead.size
    rows, cols = np.triu_indices(p)
    s0, s1, s2 = sums.risk[:, 0], sums.risk[:, 1:1 + p], sums.risk[:, 1 + p:]
    row, fraction = expansion
    efron = ties == "efron" and sums.dead is not None and np.any(fraction > 0)
    weight = (sums.death_weight / sums.deaths)[row] if efron else sums.death_weight
    d0 = sums.dead[row, 0] if efron else 0.0
    denominator = s0[row] - fraction * d0
    log_term = np.log(denominator)
    a, c = weight / denominator, weight / denominator ** 2
    total = lambda values: np.bincount(row, weights=values, minlength=len(s0)) if efron else values  # noqa: E731
    a_t, c_t = total(a), total(c)
    loglik = linear - float(np.sum(weight * log_term)) - sums.shift * float(sums.death_weight.sum())
    score = x_dead - a_t @ s1
    second = a_t @ s2
    outer = (s1 * c_t[:, None]).T @ s1
    if efron:
        d1, d2 = sums.dead[:, 1:1 + p], sums.dead[:, 1 + p:]
        b_t, d_t, e_t = total(a * fraction), total(c * fraction), total(c * fraction ** 2)
        score = score + b_t @ d1
        second = second - b_t @ d2
        cross = (s1 * d_t[:, None]).T @ d1
        outer = outer - cross - cross.T + (d1 * e_t[:, None]).T @ d1
    information = np.zeros((p, p))
    information[rows, cols] = second
    information[cols, rows] = second
    return loglik, score, information - outer


class _RowRiskSets:
    """One row per patient, sorted by stratum and decreasing time: risk-set sums by cumulative sums."""

    def __init__(self, time: np.ndarray, event: np.ndarray, x: np.ndarray, strata: np.ndarray,
                 weights: np.ndarray, ties: str) -> None:
        order = np.lexsort((-time, strata))
        self.x, self.weights = x[order], weights[order]
        time, event, strata = time[order], event[order], strata[order]
        n = len(time)
        new_block = np.r_[True, (time[1:] != time[:-1]) | (strata[1:] != strata[:-1])]
        block = np.cumsum(new_block) - 1
        last_row = np.r_[np.flatnonzero(new_block)[1:] - 1, n - 1]
        deaths = np.bincount(block, weights=event, minlength=block[-1] + 1 if n else 0)
        death_weight = np.bincount(block, weights=event * self.weights, minlength=len(deaths))
        event_blocks = np.flatnonzero(deaths > 0)
        self.pick = last_row[event_blocks]
        self.deaths, self.death_weight = deaths[event_blocks], death_weight[event_blocks]
        self.dead_rows = np.flatnonzero(event == 1)
        self.dead_block = np.searchsorted(event_blocks, block[self.dead_rows])
        self.x_dead = (self.weights[self.dead_rows, None] * self.x[self.dead_rows]).sum(axis=0)
        self.stratum_bounds = np.flatnonzero(np.r_[True, strata[1:] != strata[:-1], True])
        self.xt = np.ascontiguousarray(self.x.T)  # one contiguous row per covariate
        self.ties = ties

    def sums(self, beta: np.ndarray) -> tuple[_RiskSums, float]:
        """The risk-set sums at β and Σ w·δ·x·β (one moment at a time: contiguous, and light on memory)."""
        eta = self.x @ beta
        shift = float(eta.max())
        r = self.weights * np.exp(eta - shift)
        p = self.x.shape[1]
        rows, cols = np.triu_indices(p)
        risk = np.empty((len(self.pick), _moment_count(p)))
        dead = np.empty_like(risk) if self.ties == "efron" else None
        rx = [r * column for column in self.xt]
        columns = [r, *rx, *(rx[j] * self.xt[k] for j, k in zip(rows, cols))]
        cumulative = np.empty(len(r))
        for index, column in enumerate(columns):
            for start, stop in zip(self.stratum_bounds[:-1], self.stratum_bounds[1:]):
                np.cumsum(column[start:stop], out=cumulative[start:stop])
            risk[:, index] = cumulative[self.pick]
            if dead is not None:
                dead[:, index] = np.bincount(self.dead_block, weights=column[self.dead_rows], minlength=len(self.deaths))
        return _RiskSums(risk, dead, self.deaths, self.death_weight, shift), float(self.x_dead @ beta)


class _GroupedRiskSets:
    """Patients counted per (stratum, event time) and covariate pattern: risk-set sums by matrix products."""

    def __init__(self, table: RiskSetTable, x_patterns: np.ndarray, ties: str) -> None:
        self.table, self.x, self.ties = table, x_patterns, ties
        self.deaths = table.deaths.sum(axis=1)
        keep = self.deaths > 0
        self.at_risk, self.dead_counts, self.deaths = table.at_risk[keep], table.deaths[keep], self.deaths[keep]
        self.x_dead = table.deaths.sum(axis=0) @ x_patterns

    def sums(self, beta: np.ndarray) -> tuple[_RiskSums, float]:
        """The risk-set sums at β and Σ δ·x·β."""
        eta = self.x @ beta
        shift = float(eta.max())
        moments = _moments(np.exp(eta - shift), self.x)
        dead = self.dead_counts @ moments if self.ties == "efron" else None
        return _RiskSums(self.at_risk @ moments, dead, self.deaths, self.deaths, shift), float(self.x_dead @ beta)


def cholesky2(matrix: np.ndarray, toler: float) -> np.ndarray:
    """R survival's cholesky2: LDLᵀ in place (L below, D on the diagonal), a pivot below toler·max|diag| set to 0."""
    m = np.array(matrix, dtype=float)
    n = m.shape[0]
    largest = float(np.max(np.abs(np.diag(m)))) if n else 0.0
    eps = largest * toler if largest > 0 else toler
    for i in range(n):
        pivot = m[i, i]
        if not math.isfinite(pivot) or pivot < eps:
            m[i:, i] = 0.0
            continue
        for j in range(i + 1, n):
            temp = m[j, i] / pivot
            m[j, i] = temp
            m[j, j] -= temp * temp * pivot
            m[j + 1:, j] -= temp * m[j + 1:, i]
    return m


def chsolve2(factor: np.ndarray, y: np.ndarray) -> np.ndarray:
    """R survival's chsolve2: solve with a cholesky2 factor; a zero pivot gives a zero component."""
    b = np.array(y, dtype=float)
    n = len(b)
    for i in range(n):
        b[i] -= b[:i] @ factor[i, :i]
    for i in range(n - 1, -1, -1):
        b[i] = 0.0 if factor[i, i] == 0 else b[i] / factor[i, i] - b[i + 1:] @ factor[i + 1:, i]
    return b


def _generalised_inverse(factor: np.ndarray) -> np.ndarray:
    """The inverse from a cholesky2 factor, rows and columns of zero pivots left at zero (R's chinv2)."""
    n = factor.shape[0]
    return np.column_stack([chsolve2(factor, column) for column in np.eye(n)]) if n else np.zeros((0, 0))


def newton_raphson(terms, p: int, max_iter: int = MAX_ITER, eps: float = EPS,
                   toler_chol: float = TOLER_CHOL) -> dict:
    """Maximise a log partial likelihood as R's coxfit6 does: Newton steps from β = 0, a step that lowers the
    log-likelihood halved, stop when |1 − L_old/L_new| ≤ eps after a full step (at most ``max_iter`` steps).

    ``terms(β)`` returns (log-likelihood, score, information). Returns β, the final terms, the null
    log-likelihood and score test, the iteration count and whether it converged.
    """
    beta = np.zeros(p)
    loglik_null, score, information = terms(beta)
    factor = cholesky2(information, toler_chol)
    step = chsolve2(factor, score)
    score_test = float(score @ step)
    loglik, new_beta = loglik_null, beta + step
    halving, converged, iteration = False, False, 0
    new_loglik, new_score, new_information = loglik, score, information
    for iteration in range(1, max_iter + 1):
        new_loglik, new_score, new_information = terms(new_beta)
        if not math.isfinite(new_loglik):
            new_loglik = -math.inf
        elif not halving and abs(new_loglik - loglik) <= eps * abs(new_loglik):
            converged, beta = True, new_beta
            break
        if iteration == max_iter:
            break
        if new_loglik < loglik:
            halving = True
            new_beta = (new_beta + beta) / 2.0
        else:
            halving, loglik, beta = False, new_loglik, new_beta
            new_beta = new_beta + chsolve2(cholesky2(new_information, toler_chol), new_score)
    if not converged:  # R keeps the last full step's β when it runs out of iterations
        if new_loglik >= loglik and math.isfinite(new_loglik):
            beta = new_beta
        new_loglik, new_score, new_information = terms(beta)
    return {"beta": beta, "loglik": new_loglik, "score": new_score, "information": new_information,
            "loglik_null": loglik_null, "score_test": score_test, "iterations": iteration, "converged": converged}


def _scaling(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (mean) and scale (mean absolute deviation) of each column, computed without overflow."""
    largest = np.max(np.abs(x), axis=0) if len(x) else np.ones(x.shape[1])
    largest = np.where(largest > 0, largest, 1.0)
    unit = x / largest
    centre = unit.mean(axis=0)
    spread = np.abs(unit - centre).mean(axis=0)
    return centre * largest, np.where(spread > 0, spread, 1.0) * largest


def _standardised(x: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(x − centre) / scale, computed on x / max|x| so that huge values do not overflow."""
    largest = np.max(np.abs(x), axis=0) if len(x) else np.ones(x.shape[1])
    largest = np.where(largest > 0, largest, 1.0)
    return (x / largest - centre / largest) / (scale / largest)


def _strata_codes(strata, n: int) -> np.ndarray:
    """Integer stratum codes (all 0 without strata)."""
    if strata is None:
        return np.zeros(n, dtype=np.int64)
    frame = pd.DataFrame(strata) if not isinstance(strata, pd.Series) else strata.to_frame()
    return frame.reset_index(drop=True).groupby(list(frame.columns), sort=True, dropna=False).ngroup().to_numpy()


def cox_fit(time: Sequence[float], event: Sequence[int], x: np.ndarray, ties: str = PAPER_TIES,
            strata: Sequence | pd.DataFrame | None = None, weights: Sequence[float] | None = None,
            grouped: bool | None = None, max_iter: int = MAX_ITER, eps: float = EPS) -> CoxFit:
    """Fit a Cox model as R's ``coxph(Surv(time, event) ~ x + strata(...), ties=, weights=)``.

    Complete data are expected (:func:`fit_cox` drops and counts incomplete rows). Covariates are
    centred and scaled inside (results are on their own scale). ``grouped`` chooses the layout
    (None: grouped by covariate pattern from GROUPED_MIN_ROWS rows when it fits GROUPED_MAX_CELLS and
    there are no case weights). Never raises for a singular, separated or non-converging model:
    ``aliased``, ``infinite`` and ``converged`` say what happened.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float).astype(int)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    n, p = x.shape
    codes = _strata_codes(strata, n)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    centre, scale = _scaling(x)
    z = _standardised(x, centre, scale)
    table = None
    if grouped is not False and weights is None and (grouped or n >= GROUPED_MIN_ROWS):
        table = risk_set_table(time, event, x, strata=codes, max_cells=GROUPED_MAX_CELLS)
    if table is not None:
        layout = _GroupedRiskSets(table, _standardised(table.patterns, centre, scale), ties)
        engine = GROUPED_ENGINE
    else:
        layout = _RowRiskSets(time, event, z, codes, w, ties)
        engine = ROW_ENGINE
    expansion = _efron_expansion(layout.deaths, ties)

    def terms(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        sums, linear = layout.sums(beta)
        return _likelihood_terms(sums, layout.x_dead, linear, ties, expansion)

    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        result = newton_raphson(terms, p, max_iter, eps)
        factor = cholesky2(result["information"], TOLER_CHOL)
        aliased = np.diag(factor) == 0 if p else np.zeros(0, bool)
        var_z = _generalised_inverse(factor)
        beta_z = np.where(aliased, math.nan, result["beta"])
        coef = beta_z / scale
        var = var_z / np.outer(scale, scale)
        var[aliased, :] = math.nan
        var[:, aliased] = math.nan
        se = np.sqrt(np.diag(var))
        step = np.abs(var_z @ result["score"]) / scale  # R: abs(u %*% var) on the covariates' scale
        infinite = ((step > eps) & (step > math.sqrt(eps) * np.abs(coef)) & ~aliased) if result["converged"] \
            else np.zeros(p, bool)
        kept = ~aliased
        wald = float(result["beta"][kept] @ chsolve2(cholesky2(var_z[np.ix_(kept, kept)], TOLER_CHOL),
                                                   result["beta"][kept])) if kept.any() else math.nan
        linear_predictor = (x - centre) @ np.where(aliased, 0.0, coef) if p else np.zeros(n)
    if table is not None:
        counts = grouped_concordance_counts(table, (table.patterns - centre) @ np.where(aliased, 0.0, coef))
    else:
        counts = concordance_counts(time, event, linear_predictor, codes, weights)
    concordant, discordant, tied = counts
    pairs = concordant + discordant + tied
    return CoxFit(
        coef=coef, se=se, var=var, loglik_null=float(result["loglik_null"]), loglik=float(result["loglik"]),
        score_test=result["score_test"], wald_test=wald, lr_test=2.0 * (result["loglik"] - result["loglik_null"]),
        df=int(kept.sum()), iterations=result["iterations"], converged=result["converged"], infinite=infinite,
        aliased=aliased, concordance=(concordant + tied / 2.0) / pairs if pairs else math.nan,
        concordance_counts=counts, n=n, events=int(event.sum()), ties=ties, engine=engine)


# ---------------------------------------------------------------------------------------------
# Concordance as R's concordance(): pairs within a stratum whose shorter time is an event; a patient
# censored at a death's time outlives it; deaths at the same time are not compared; equal risk
# scores count one half. C = (concordant + tied/2) / (concordant + discordant + tied).


def smaller_after(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each i, Σ weights[j] over j > i with values[j] < values[i] (non-negative integer values).

    A bottom-up merge sort in numpy: at each level, blocks of 2^L sorted values are merged in pairs
    by one stable argsort, and each element of a left block gains the weight of the right block's
    elements that land before it (strictly smaller, since ties keep the left element first). O(n log n)
    per level on nearly sorted keys, log₂ n levels.
    """
    n = len(values)
    size = 1 << max(n - 1, 0).bit_length()
    top = int(values.max(initial=0)) + 1
    vals = np.full(size, top, dtype=np.int64)
    vals[:n] = values
    w = np.zeros(size)
    w[:n] = weights
    origin = np.arange(size)
    totals = np.zeros(size)
    position = np.arange(size)
    block = 1
    while block < size:
        pair, within = np.divmod(position, 2 * block)
        order = np.argsort(pair * (top + 1) + vals, kind="stable")
        right_weight = np.where(within >= block, w, 0.0)[order]
        before = np.cumsum(right_weight) - right_weight  # right weight strictly before, pair by pair
        before -= np.repeat(_pair_starts(right_weight, block), 2 * block)
        moved_left = (within < block)[order]
        totals[origin[order][moved_left]] += before[moved_left]
        vals, w, origin = vals[order], w[order], origin[order]
        block *= 2
    return totals[:n]


def _pair_starts(right_weight: np.ndarray, block: int) -> np.ndarray:
    """The running total of right_weight at the start of each pair of blocks (to restart the sum per pair)."""
    running = np.r_[0.0, np.cumsum(right_weight)]
    return running[:-1][::2 * block]


def concordance_counts(time: Sequence[float], event: Sequence[int], risk: Sequence[float],
                       strata: Sequence[int] | None = None,
                       weights: Sequence[float] | None = None) -> tuple[float, float, float]:
    """Return (concordant, discordant, tied-in-risk) pair counts, a higher risk meaning a shorter time.

    A pair (i, j) counts w_i·w_j (R's case weights). Patients are ordered by stratum, time, deaths
    before the censored, deaths by risk; a death's comparable patients are then those after its
    group of tied deaths in its stratum, and the lower-risk ones among them are counted for all
    deaths at once by :func:`smaller_after` (stratum-major risk ranks keep other strata out).
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    n = len(time)
    codes = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    w_all = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    rank_all = np.unique(np.asarray(risk, dtype=float), return_inverse=True)[1].ravel().astype(np.int64)
    order = np.lexsort((rank_all, -event, time, codes))
    t, e, s, w = time[order], event[order], codes[order], w_all[order]
    dead = np.flatnonzero(e == 1)
    if dead.size == 0:
        return 0.0, 0.0, 0.0
    rank = s * (int(rank_all.max()) + 1) + rank_all[order]  # stratum-major
    group = np.r_[True, (t[1:] != t[:-1]) | (s[1:] != s[:-1])]
    group_id = np.cumsum(group) - 1
    deaths_in_group = np.bincount(group_id, weights=e).astype(np.int64)
    start = np.flatnonzero(group)[group_id[dead]] + deaths_in_group[group_id[dead]]
    end = np.searchsorted(s, s[dead], side="right")
    cumulative = np.r_[0.0, np.cumsum(w)]
    comparable = float(w[dead] @ (cumulative[end] - cumulative[start]))
    concordant = float(w[dead] @ smaller_after(rank, w)[dead])
    # equal risk after i: the weight after i in its block of equal (stratum-major) rank, less its tied deaths
    by_rank = np.lexsort((np.arange(n), rank))
    suffix = _suffix_within(rank[by_rank], w[by_rank])
    after_same_rank = np.empty(n)
    after_same_rank[by_rank] = suffix
    death_block = np.r_[True, (group_id[dead][1:] != group_id[dead][:-1]) | (rank[dead][1:] != rank[dead][:-1])]
    tied_deaths_after = _suffix_within(np.cumsum(death_block), w[dead])
    tied = float(w[dead] @ (after_same_rank[dead] - tied_deaths_after))
    return concordant, comparable - concordant - tied, tied


def _suffix_within(block_key: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each element of contiguous blocks (equal keys), the weight of the later elements of its block."""
    total = np.cumsum(weights[::-1])[::-1]  # weight from here to the end
    last = np.r_[np.flatnonzero(block_key[1:] != block_key[:-1]), len(block_key) - 1]
    block_end = np.repeat(last, np.diff(np.r_[-1, last]))
    after_block = np.r_[total, 0.0][block_end + 1]
    return total - weights - after_block


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

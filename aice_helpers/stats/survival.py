"""Kaplan–Meier summaries the chapters report: medians with SPSS and Brookmeyer–Crowley intervals,
landmark survival, follow-up, numbers at risk, log-rank tests and the subgroup tables S1/S2.

Conventions:

* S(t) is the Kaplan–Meier estimate, computed as lifelines computes it (:func:`km_table`, checked
  bit for bit against lifelines' ``KaplanMeierFitter``); its variance is Greenwood's,
  Var S(t) = S(t)² Σ_{t_j ≤ t} d_j / (n_j (n_j − d_j)).
* Pointwise intervals for S(t) follow R ``survfit``'s ``conf.type`` ("log", "log-log", "plain")
  formula for formula (R ``survival:::survfit_confint``); "log-log" is Stata's and lifelines' default,
  "log" is R's.
* Where S(t) = 0.5 exactly over an interval [t_k, t_{k+1}), programs print different medians
  (:data:`MEDIAN_CONVENTIONS`, :func:`median_by_convention`): R ``quantile.survfit`` the midpoint
  (t_k + t_{k+1}) / 2 (:func:`median_brookmeyer_crowley`, exact); SPSS and Stata ``stci`` the
  smallest time with S(t) ≤ 0.5, i.e. t_k (:func:`median_spss`); lifelines the smallest time whose
  *computed* S(t) ≤ 0.5 with no tolerance (``qth_survival_time``: a search on −S), and since it
  computes S as exp(Σ log(1 − d/n)) a plateau meant to be 0.5 can come out 0.5000000000000001, when
  lifelines prints t_{k+1}, or 0.49999999999999983, when it prints t_k (checked with lifelines 0.30.3:
  six deaths at 1…6 give 4, four deaths at 1…4 give 2).
* Probabilities are compared with 0.5 (and 0.55, 0.45) to within ``PROBABILITY_TOLERANCE`` =
  sqrt(machine epsilon), R's tolerance, so a product that should be exactly 0.5 is treated as 0.5
  (except in the lifelines convention, which has no tolerance).
* Log-rank tests are R's ``survdiff`` (any number of groups, strata, groups without expected events
  left out of df); rows with a missing time, event, group or stratum are dropped and counted
  (``n_dropped``), never made into a group.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from scipy.stats import chi2, norm

from aice_helpers.stats.cox import (
    DEFAULT_ALPHA,
    ModelWarning,
    dummy_indicators,
    fit_cox,
)

__all__ = [
    "MEDIAN_PROBABILITY",
    "COLLETT_EPSILON",
    "PROBABILITY_TOLERANCE",
    "TRANSFORMS",
    "SPSS_METHOD",
    "ALL_LABEL",
    "NO_EVENTS_TO_COMPARE",
    "MedianEstimate",
    "LogRankResult",
    "FollowUp",
    "km_fit",
    "z_value",
    "km_table",
    "ci_bands",
    "first_time_at_or_below",
    "collett_density",
    "collett_points",
    "median_spss",
    "r_quantile_time",
    "median_brookmeyer_crowley",
    "survival_at",
    "median_followup",
    "numbers_at_risk",
    "logrank_chisq",
    "logrank",
    "SUBGROUP_COLUMNS",
    "subgroup_table",
    "MEDIAN_INTERVAL_METHODS",
    "median_intervals",
    "median_spss_steps",
    "survival_at_transforms",
    "loglog_interval_center",
    "uncensored_loglog_interval",
    "implied_uncensored_n",
    "format_p_value",
]

__all__ = [
    "FollowUp", "LogRankResult", "MedianEstimate", "MEDIAN_CONVENTIONS", "MEDIAN_INTERVAL_METHODS", "ci_bands",
    "collett_density", "collett_points", "first_time_at_or_below", "format_p_value", "implied_uncensored_n",
    "km_fit", "km_table", "logrank", "logrank_chisq", "logrank_components", "logrank_trend",
    "loglog_interval_center", "median_brookmeyer_crowley", "median_by_convention", "median_first_below",
    "median_followup", "median_intervals", "median_spss", "median_spss_steps", "numbers_at_risk",
    "r_quantile_time", "subgroup_table", "survival_at", "survival_at_transforms", "uncensored_loglog_interval",
    "z_value",
]

MEDIAN_PROBABILITY = 0.5
COLLETT_EPSILON = 0.05  # Collett's ε: density from the times where S crosses 0.5 + ε and 0.5 − ε
PROBABILITY_TOLERANCE = math.sqrt(np.finfo(float).eps)  # R survival's tolerance in quantile.survfit
TRANSFORMS = ("log", "log-log", "plain")
SPSS_METHOD = "SPSS: median ± z·SE, SE = Greenwood SE of S(median) / Collett density"
ALL_LABEL = "all"
NO_EVENTS_TO_COMPARE = "no events in any group: there is nothing to compare"


@dataclass(frozen=True)
class MedianEstimate:
    """A median survival time with its interval; NaN where not estimable, ``reached`` False if S > 0.5."""

    estimate: float
    lower: float
    upper: float
    method: str
    reached: bool
    se: float = math.nan  # SPSS-style standard error; NaN for Brookmeyer–Crowley intervals


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank test of equal survival across groups: chi-square, df, P (NaN with a ``reason`` when untestable)."""

    chisq: float
    df: int
    p: float
    groups: tuple = ()
    n: tuple = ()
    events: tuple = ()
    reason: str = ""
    observed: tuple = ()  # events per group (summed over strata)
    expected: tuple = ()  # expected events per group under equal hazards (summed over strata)
    n_dropped: int = 0  # rows left out for a missing time, event, group or stratum
    stratified: bool = False


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by reverse Kaplan–Meier and by the observed times, with ranges."""

    reverse_km: MedianEstimate
    median_all: float
    range_all: tuple[float, float]
    median_censored: float
    range_censored: tuple[float, float]
    n: int
    n_censored: int
    notes: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Kaplan–Meier table


def km_fit(time: Sequence[float], event: Sequence[int], label: str | None = None) -> KaplanMeierFitter:
    """The lifelines Kaplan–Meier fit of ``time`` with ``event`` (1 event, 0 censored)."""
    return KaplanMeierFitter(label=label).fit(np.asarray(time, dtype=float), np.asarray(event, dtype=int))


def z_value(alpha: float = DEFAULT_ALPHA) -> float:
    """The two-sided standard-normal quantile z_{1−α/2}."""
    return float(norm.ppf(1.0 - alpha / 2.0))


def km_table(time: Sequence[float], event: Sequence[int]) -> pd.DataFrame:
    """Per distinct observed time: n at risk, events, S(t) and Greenwood's sum Σ d/(n(n−d)).

    Computed with numpy by lifelines' own formula, S(t) = exp(Σ log(n − d) − log n), so that it equals
    ``km_fit(time, event).survival_function_`` to the last bit (tests/test_survival.py checks this) at a
    small fraction of the cost, which matters for subgroup tables and for very large cohorts.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    if t.shape != e.shape:
        raise ValueError(f"time and event differ in length: {t.size} and {e.size}")
    if np.isnan(t).any():
        raise ValueError("time has missing values: drop or impute them before estimating survival")
    times, position = np.unique(t, return_inverse=True)
    removed = np.bincount(position, minlength=times.size)
    events = np.bincount(position, weights=e, minlength=times.size).astype(int)
    at_risk = t.size - np.r_[0, np.cumsum(removed)[:-1]][: times.size]  # no rows at all for empty input
    with np.errstate(divide="ignore", invalid="ignore"):
        log_factors = np.log(at_risk - events) - np.log(at_risk)
    table = pd.DataFrame({"at_risk": at_risk, "events": events, "censored": removed - events},
                         index=pd.Index(times, name="time"))
    table["survival"] = np.exp(np.cumsum(log_factors))
    n, d = table["at_risk"].to_numpy(float), table["events"].to_numpy(float)
    terms = np.divide(d, n * (n - d), out=np.full_like(d, np.inf), where=n > d)
    table["greenwood"] = np.cumsum(terms)
    table.index.name = "time"
    return table


def ci_bands(
    survival: np.ndarray, greenwood: np.ndarray, transform: str = "log-log", alpha: float = DEFAULT_ALPHA
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise (lower, upper) for S(t), formulas of R ``survfit_confint``, se = sqrt(greenwood).

    plain: S ∓ z·se·S clipped to [0, 1]; log: exp(log S ∓ z·se), upper capped at 1;
    log-log: exp(−exp(log(−log S) ∓ z·se / log S)), undefined at S = 0 or 1.
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, not {transform!r}")
    s = np.asarray(survival, dtype=float)
    se = np.sqrt(np.asarray(greenwood, dtype=float))
    z = z_value(alpha)
    with np.errstate(all="ignore"):
        if transform == "plain":
            half = z * se * s
            return np.maximum(s - half, 0.0), np.minimum(s + half, 1.0)
        if transform == "log":
            s_pos = np.where(s == 0, np.nan, s)
            return np.exp(np.log(s_pos) - z * se), np.minimum(np.exp(np.log(s_pos) + z * se), 1.0)
        s_mid = np.where((s == 0) | (s == 1), np.nan, s)
        shift = z * se / np.log(s_mid)
        loglog = np.log(-np.log(s_mid))
        return np.exp(-np.exp(loglog - shift)), np.exp(-np.exp(loglog + shift))


# ---------------------------------------------------------------------------------------------
# Medians


def first_time_at_or_below(times: np.ndarray, survival: np.ndarray, level: float) -> float:
    """The smallest time with S(t) ≤ level (to within PROBABILITY_TOLERANCE); NaN if none."""
    hits = np.flatnonzero(survival <= level + PROBABILITY_TOLERANCE)
    return float(times[hits[0]]) if hits.size else math.nan


def collett_density(times: np.ndarray, survival: np.ndarray, p: float = MEDIAN_PROBABILITY) -> float:
    """Collett's density at the p-quantile: f = (S(u) − S(l)) / (l − u).

    u = largest event time with S(u) ≥ 1 − p + ε (time 0, S = 1, if none),
    l = smallest event time with S(l) ≤ 1 − p − ε (NaN if none), ε = COLLETT_EPSILON.
    """
    u, s_u, l, s_l = collett_points(times, survival, p)
    if math.isnan(l):
        return math.nan
    return (s_u - s_l) / (l - u)


def collett_points(
    times: np.ndarray, survival: np.ndarray, p: float = MEDIAN_PROBABILITY
) -> tuple[float, float, float, float]:
    """The points (u, S(u), l, S(l)) of :func:`collett_density`; l and S(l) are NaN if S never falls that low."""
    upper_level, lower_level = 1.0 - p + COLLETT_EPSILON, 1.0 - p - COLLETT_EPSILON
    above = np.flatnonzero(survival >= upper_level - PROBABILITY_TOLERANCE)
    below = np.flatnonzero(survival <= lower_level + PROBABILITY_TOLERANCE)
    u, s_u = (float(times[above[-1]]), float(survival[above[-1]])) if above.size else (0.0, 1.0)
    if below.size == 0:
        return u, s_u, math.nan, math.nan
    return u, s_u, float(times[below[0]]), float(survival[below[0]])


def median_spss(time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA) -> MedianEstimate:
    """Median with SPSS's symmetric interval t50 ± z·SE, SE = se(S(t50)) / f(t50) (Collett 2015, §2.4).

    t50 = smallest time with S(t) ≤ 0.5; se(S(t50)) is Greenwood's; f(t50) is
    :func:`collett_density`, the uniform-kernel density from the event times where S crosses 0.55
    and 0.45 (Collett, Modelling Survival Data in Medical Research, 3rd ed. 2015, §2.4, with
    ε = 0.05; Klein & Moeschberger 2003, §4.5 practical note 3). SPSS's KM "Median ... Std. Error"
    is documented in IBM's "SPSS Statistics Algorithms", chapter "KM Algorithms"; that document
    was not available offline here, so the u/l rule follows Collett as written above. The interval
    is not truncated at 0. If the median is not reached, everything is NaN and ``reached`` is False;
    if S never falls to 0.45 the density, SE and interval are NaN while the median itself is kept.
    """
    table = km_table(time, event)
    event_rows = table[table["events"] > 0]
    times = event_rows.index.to_numpy(float)
    surv = event_rows["survival"].to_numpy(float)
    t50 = first_time_at_or_below(times, surv, MEDIAN_PROBABILITY)
    if math.isnan(t50):
        return MedianEstimate(math.nan, math.nan, math.nan, SPSS_METHOD, reached=False)
    at_median = event_rows.loc[t50]
    with np.errstate(invalid="ignore"):  # S = 0 with an infinite Greenwood sum: no standard error
        se_survival = float(at_median["survival"] * math.sqrt(at_median["greenwood"]))
    density = collett_density(times, surv)
    se = se_survival / density if density > 0 else math.nan
    half_width = z_value(alpha) * se
    return MedianEstimate(t50, t50 - half_width, t50 + half_width, SPSS_METHOD, reached=True, se=se)


def r_quantile_time(
    times: np.ndarray, cumulative: np.ndarray, p: float = MEDIAN_PROBABILITY, first_time: float = 0.0
) -> float:
    """Where a non-decreasing curve y = 1 − S first reaches p, by R ``survival:::findq``.

    Duplicated y values are dropped (first kept); the answer is (x[i1] + x[i2]) / 2 with i1 the first
    point with y ≥ p − tol and i2 the first with y ≥ p + tol, i.e. the midpoint of a flat stretch at
    exactly p; at the last point it is the midpoint with the last time. Missing y are skipped.
    """
    x = np.r_[first_time, np.asarray(times, dtype=float)]
    y = np.r_[0.0, np.asarray(cumulative, dtype=float)]
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return math.nan
    x_max = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))
    order = valid[np.argsort(y[valid], kind="stable")]

    def first_index(shift: float) -> float:
        knots = y[order] + shift
        if p < knots[0] or p > knots[-1]:
            return math.nan
        return float(order[np.searchsorted(knots, p, side="left")])

    i1, i2 = first_index(PROBABILITY_TOLERANCE), first_index(-PROBABILITY_TOLERANCE)
    if not math.isnan(i1) and not np.isnan(y[-1]) and abs(p - y[-1]) < PROBABILITY_TOLERANCE:
        return float((x[int(i1)] + x_max) / 2.0)
    if math.isnan(i1) or math.isnan(i2):
        return math.nan
    return float((x[int(i1)] + x[int(i2)]) / 2.0)


def median_brookmeyer_crowley(
    time: Sequence[float], event: Sequence[int], transform: str = "log", alpha: float = DEFAULT_ALPHA
) -> MedianEstimate:
    """Median with the Brookmeyer–Crowley interval of R ``survfit(conf.type=transform)``.

    The limits are the times where the pointwise lower and upper bands of S cross 0.5
    (Brookmeyer & Crowley 1982), found exactly as R ``quantile.survfit`` does, midpoint rule included.
    A limit the band never reaches is NaN (R prints NA).
    """
    table = km_table(time, event)
    times = table.index.to_numpy(float)
    surv = table["survival"].to_numpy(float)
    lower_band, upper_band = ci_bands(surv, table["greenwood"].to_numpy(float), transform, alpha)
    estimate = r_quantile_time(times, 1.0 - surv)
    return MedianEstimate(
        estimate=estimate,
        lower=r_quantile_time(times, 1.0 - lower_band),
        upper=r_quantile_time(times, 1.0 - upper_band),
        method=f"Brookmeyer-Crowley ({transform}), R survfit convention",
        reached=not math.isnan(estimate),
    )


# ---------------------------------------------------------------------------------------------
# Landmarks, follow-up, numbers at risk


def survival_at(
    time: Sequence[float],
    event: Sequence[int],
    landmarks: Sequence[float],
    transform: str = "log-log",
    alpha: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """S(t) at each landmark with Greenwood SE, pointwise CI, n at risk (time ≥ t), events up to t.

    Landmarks beyond the largest observed time give NaN survival (R ``summary.survfit`` drops them).
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    table = km_table(t, e)
    times = table.index.to_numpy(float)
    rows = []
    for landmark in landmarks:
        position = np.searchsorted(times, landmark, side="right") - 1
        beyond = landmark > times[-1]
        surv = 1.0 if position < 0 else float(table["survival"].iloc[position])
        greenwood = 0.0 if position < 0 else float(table["greenwood"].iloc[position])
        if beyond:
            surv, greenwood = math.nan, math.nan
        rows.append(
            {
                "landmark": float(landmark),
                "survival": surv,
                "greenwood": greenwood,
                "at_risk": int(np.sum(t >= landmark)),
                "events_to_t": int(np.sum((t <= landmark) & (e == 1))),
            }
        )
    out = pd.DataFrame(rows)
    with np.errstate(all="ignore"):
        out["std_err"] = out["survival"] * np.sqrt(out["greenwood"])
    out["lower"], out["upper"] = ci_bands(out["survival"].to_numpy(), out["greenwood"].to_numpy(), transform, alpha)
    out["transform"] = transform
    return out[["landmark", "survival", "std_err", "lower", "upper", "at_risk", "events_to_t", "transform"]]


def median_followup(time: Sequence[float], event: Sequence[int]) -> FollowUp:
    """Median follow-up: reverse Kaplan–Meier (censoring as the event) and medians of observed times.

    The reverse-KM median and its interval are R's ``survfit(Surv(time, 1 − event))`` ones
    (log transform, midpoint rule); the observed-time medians are plain sample medians.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    censored = t[e == 0]
    notes = []
    if censored.size == 0:
        notes.append("no censored observation: reverse Kaplan-Meier median not estimable")
    reverse = median_brookmeyer_crowley(t, 1 - e, transform="log")
    return FollowUp(
        reverse_km=MedianEstimate(reverse.estimate, reverse.lower, reverse.upper,
                                  "reverse Kaplan-Meier, " + reverse.method, reverse.reached),
        median_all=float(np.median(t)),
        range_all=(float(t.min()), float(t.max())),
        median_censored=float(np.median(censored)) if censored.size else math.nan,
        range_censored=(float(censored.min()), float(censored.max())) if censored.size else (math.nan, math.nan),
        n=int(t.size),
        n_censored=int(censored.size),
        notes=tuple(notes),
    )


def numbers_at_risk(
    time: Sequence[float], groups: Sequence | None, times: Sequence[float]
) -> pd.DataFrame:
    """Number at risk (observed time ≥ t) at each of ``times``: one row per group (or one 'all' row)."""
    t = np.asarray(time, dtype=float)
    if groups is None:
        levels, by_level = [ALL_LABEL], {ALL_LABEL: t}
    else:
        labels = pd.Series(list(groups))
        levels = _levels(labels)
        by_level = {level: t[(labels == level).to_numpy()] for level in levels}
    counts = {level: _count_at_or_after(by_level[level], times) for level in levels}
    out = pd.DataFrame.from_dict(counts, orient="index", columns=list(times))
    out.index.name = "group"
    out.columns.name = "time"
    return out


def _count_at_or_after(values: np.ndarray, cuts: Sequence[float]) -> list[int]:
    """How many of ``values`` (missing ones never count) are ≥ each cut, by one sort and a binary search."""
    ordered = np.sort(values[~np.isnan(values)])
    return [int(ordered.size - np.searchsorted(ordered, cut, side="left")) for cut in cuts]


def _levels(values: pd.Series, order: Sequence | None = None) -> list:
    """The levels of ``values`` in ``order`` (if given) or in categorical/sorted order."""
    present = [level.item() if isinstance(level, np.generic) else level for level in pd.unique(values.dropna())]
    if order is not None:
        missing = [level for level in present if level not in list(order)]
        if missing:
            raise ValueError(f"levels {missing} are not in order={list(order)}")
        return [level for level in order if level in present]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [level for level in values.cat.categories if level in present]
    return sorted(present)


# ---------------------------------------------------------------------------------------------
# Log-rank and the subgroup table


def logrank_components(time: np.ndarray, event: np.ndarray, codes: np.ndarray, k: int | None = None,
                       strata: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected events per group and the variance matrix of O − E, summed over strata (R survdiff).

    Per distinct time t (within a stratum) with n at risk and d deaths, group g with n_g at risk:
    E_g = Σ d·n_g/n, V_gh = Σ d·(n − d)/(n − 1)·(n_g/n)·(δ_gh − n_h/n) (Peto & Peto 1972; the
    hypergeometric variance). Counts per time and group with numpy, no per-time Python loop.
    """
    codes = np.asarray(codes, dtype=np.int64)
    k = int(codes.max()) + 1 if k is None else k
    strata = np.zeros(len(codes), dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    observed, expected, variance = np.zeros(k), np.zeros(k), np.zeros((k, k))
    for level in np.unique(strata):
        chosen = strata == level
        times, position = np.unique(np.asarray(time, dtype=float)[chosen], return_inverse=True)
        cell = position.ravel() * k + codes[chosen]
        leaving = np.bincount(cell, minlength=times.size * k).reshape(-1, k).astype(float)
        deaths = np.bincount(cell, weights=np.asarray(event, dtype=float)[chosen],
                             minlength=times.size * k).reshape(-1, k)
        at_risk = leaving[::-1].cumsum(axis=0)[::-1]
        n, d = at_risk.sum(axis=1), deaths.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(n > 1, (n - d) / (n - 1), 1.0) * d / n ** 2
        observed += deaths.sum(axis=0)
        expected += (at_risk * (d / n)[:, None]).sum(axis=0)
        variance += np.diag((factor * n) @ at_risk) - (at_risk * factor[:, None]).T @ at_risk
    return observed, expected, variance


def _survdiff_chisq(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray) -> tuple[float, int]:
    """R survdiff's chi-square and df: groups with expected > 0 kept, the first of them left out of the form."""
    kept = np.flatnonzero(expected > 0)
    if kept.size < 2:
        return math.nan, 0
    rest = kept[1:]
    difference = (observed - expected)[rest]
    return float(difference @ np.linalg.pinv(variance[np.ix_(rest, rest)]) @ difference), int(kept.size - 1)


def logrank_chisq(time: np.ndarray, event: np.ndarray, codes: np.ndarray) -> float:
    """The log-rank chi-square of groups numbered 0…k−1 (R survdiff, and lifelines' ``multivariate_logrank_test``)."""
    return _survdiff_chisq(*logrank_components(time, event, codes))[0]


def _complete_groups(time, event, group, strata) -> tuple[pd.DataFrame, int]:
    """Rows with time, event, group (and stratum) all present, and how many rows were dropped."""
    frame = pd.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=float),
                          "group": group.to_numpy() if isinstance(group, pd.Series) else list(group)})
    if isinstance(group, pd.Series) and isinstance(group.dtype, pd.CategoricalDtype):
        frame["group"] = pd.Categorical(group.to_numpy(), categories=group.cat.categories)
    if strata is not None:
        frame["stratum"] = strata.to_numpy() if isinstance(strata, pd.Series) else list(strata)
    complete = frame.dropna().reset_index(drop=True)
    return complete.astype({"event": int}), len(frame) - len(complete)


@dataclass(frozen=True)
class _GroupedCounts:
    """The complete rows of a (stratified) comparison of groups, their codes, and O, E and V per group."""

    levels: list
    codes: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    testable: bool
    dropped: int


def _grouped_counts(time: Sequence[float], event: Sequence[int], group: Sequence, strata: Sequence | None,
                    order: Sequence | None, test: str) -> _GroupedCounts:
    """Return the observed and expected events and their covariance per group, missing rows dropped and counted."""
    frame, dropped = _complete_groups(time, event, group, strata)
    levels = _levels(frame["group"], order)
    if len(levels) < 2:
        raise ValueError(f"{test} needs at least two groups, got {levels}")
    codes = pd.Categorical(frame["group"], categories=levels).codes.astype(np.int64)
    stratum_codes = (pd.Categorical(frame["stratum"]).codes.astype(np.int64) if strata is not None else None)
    observed, expected, variance = logrank_components(frame["time"].to_numpy(), frame["event"].to_numpy(), codes,
                                                      len(levels), stratum_codes)
    return _GroupedCounts(levels, codes, observed, expected, variance, bool(frame["event"].any()), dropped)


def _result(counts: _GroupedCounts, chisq: float, df: int, stratified: bool) -> LogRankResult:
    """Return a log-rank result from the counts and the statistic."""
    levels = counts.levels
    return LogRankResult(
        chisq=chisq, df=df, p=float(chi2.sf(chisq, df)) if math.isfinite(chisq) and df > 0 else math.nan,
        groups=tuple(levels), n=tuple(int(c) for c in np.bincount(counts.codes, minlength=len(levels))),
        events=tuple(int(o) for o in counts.observed), reason="" if counts.testable else NO_EVENTS_TO_COMPARE,
        observed=tuple(float(o) for o in counts.observed), expected=tuple(float(e) for e in counts.expected),
        n_dropped=counts.dropped, stratified=stratified)


def logrank(time: Sequence[float], event: Sequence[int], group: Sequence, strata: Sequence | None = None,
            order: Sequence | None = None) -> LogRankResult:
    """Log-rank test of k ≥ 2 groups, optionally stratified, as R ``survdiff(Surv(time, event) ~ group + strata(s))``.

    Rows with a missing time, event, group or stratum are dropped and counted (``n_dropped``). df is
    R's: the groups with expected events > 0, minus one. Without any event there is nothing to
    compare: χ² and P are NaN and ``reason`` says so. The statistic is computed from counts per time
    and group (:func:`logrank_components`), a hundred times faster than lifelines' and equal to R's.
    """
    counts = _grouped_counts(time, event, group, strata, order, "log-rank")
    chisq, df = (_survdiff_chisq(counts.observed, counts.expected, counts.variance) if counts.testable
                 else (math.nan, len(counts.levels) - 1))
    return _result(counts, chisq, df, strata is not None)


def logrank_trend(time: Sequence[float], event: Sequence[int], group: Sequence, scores: Sequence[float] | None = None,
                  strata: Sequence | None = None, order: Sequence | None = None) -> LogRankResult:
    """Log-rank test for trend across ordered groups: χ² = (sᵀ(O − E))² / (sᵀ V s) on 1 df.

    s are the groups' scores (default 1, 2, …, k in ``order``, or in sorted/categorical order);
    O, E and V are those of the (stratified) log-rank test (Collett 2015, §2.6.5). Rows with a missing
    value are dropped and counted, as in :func:`logrank`.
    """
    counts = _grouped_counts(time, event, group, strata, order, "a trend test")
    levels = counts.levels
    weights = np.arange(1.0, len(levels) + 1) if scores is None else np.asarray(scores, dtype=float)
    if weights.size != len(levels):
        raise ValueError(f"{weights.size} scores for {len(levels)} groups {levels}")
    denominator = float(weights @ counts.variance @ weights)
    chisq = (float((weights @ (counts.observed - counts.expected)) ** 2 / denominator)
             if counts.testable and denominator > 0 else math.nan)
    return _result(counts, chisq, 1, strata is not None)


SUBGROUP_COLUMNS = [
    "factor", "level", "n", "events", "median", "median_lower", "median_upper", "median_reached",
    "logrank_p", "hr", "hr_lower", "hr_upper", "hr_p",
]


def subgroup_table(
    df: pd.DataFrame,
    time_col: str,
    event_col: str,
    factor_col: str,
    order: Sequence | None = None,
    ties: str = "breslow",
    alpha: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """Tables S1/S2 rows for one factor: n, events, SPSS median (CI), log-rank P, Cox HR vs the first level.

    Rows with a missing time, event or factor are left out and counted (``attrs["n_dropped"]``). The HR comes from one univariable Cox
    model with an indicator per non-reference level (Wald CI); the reference row has HR 1.
    With a single level, the log-rank P and HRs are NaN and a ModelWarning is issued.
    """
    data = df[[time_col, event_col, factor_col]].dropna()
    dropped = len(df) - len(data)
    levels = _levels(data[factor_col], order)
    data = data.assign(**{factor_col: pd.Categorical(data[factor_col], categories=levels)})  # fast level masks
    rows = []
    for level in levels:
        part = data[data[factor_col] == level]
        median = median_spss(part[time_col], part[event_col], alpha)
        rows.append({"factor": factor_col, "level": level, "n": len(part), "events": int(part[event_col].sum()),
                     "median": median.estimate, "median_lower": median.lower, "median_upper": median.upper,
                     "median_reached": median.reached})
    out = pd.DataFrame(rows)
    if len(levels) < 2:
        warnings.warn(f"{factor_col!r} has a single level {levels}: no log-rank test or hazard ratio",
                      ModelWarning, stacklevel=2)
        for column in ("logrank_p", "hr", "hr_lower", "hr_upper", "hr_p"):
            out[column] = math.nan
        out = out[SUBGROUP_COLUMNS]
        out.attrs["n_dropped"] = dropped
        return out
    out["logrank_p"] = logrank(data[time_col], data[event_col], data[factor_col]).p
    out = out.join(_hazard_ratios_vs_first(data, time_col, event_col, factor_col, levels, ties, alpha), on="level")
    out = out[SUBGROUP_COLUMNS]
    out.attrs["n_dropped"] = dropped
    return out


def _hazard_ratios_vs_first(
    data: pd.DataFrame, time_col: str, event_col: str, factor_col: str, levels: list, ties: str, alpha: float
) -> pd.DataFrame:
    """HR, CI and Wald P of each level against ``levels[0]`` from one univariable Cox model."""
    indicators = dummy_indicators(data[factor_col], levels)
    model_data = pd.concat([data[[time_col, event_col]], indicators], axis=1)
    covariates = {str(level): (column, str(levels[0])) for level, column in zip(levels[1:], indicators.columns)}
    fit = fit_cox(model_data, time_col, event_col, covariates, ties=ties, alpha=alpha)
    table = fit.table.set_index("label")
    hr = pd.DataFrame(index=pd.Index(levels, name="level"), columns=["hr", "hr_lower", "hr_upper", "hr_p"], dtype=float)
    hr.loc[levels[0]] = [1.0, math.nan, math.nan, math.nan]
    for level in levels[1:]:
        row = table.loc[str(level)]
        hr.loc[level] = [row["hr"], row["lower"], row["upper"], row["p"]]
    return hr


# ---------------------------------------------------------------------------------------------
# Interval methods side by side, intervals read backwards, P values as printed

MEDIAN_INTERVAL_METHODS = (
    ("symmetric, SE by Collett's density", "spss", "SPSS (Kaplan-Meier procedure)"),
    ("Brookmeyer-Crowley, log band", "log", "R survfit (default; midpoint of a plateau at 0.5)"),
    ("Brookmeyer-Crowley, log-log band", "log-log",
     "Stata stci, lifelines (first time S <= 0.5; lifelines without a rounding tolerance)"),
    ("Brookmeyer-Crowley, plain band", "plain", "R survfit(conf.type = 'plain')"),
)
# The median each program prints, where S(t) = 0.5 over an interval [t_k, t_k+1) included:
# convention -> (rule, interval). See the module docstring.
MEDIAN_CONVENTIONS = {
    "R": ("midpoint of a plateau at 0.5: (t_k + t_k+1) / 2 (quantile.survfit)", "log"),
    "SPSS": ("first time with S(t) <= 0.5: t_k", "spss"),
    "Stata": ("first time with S(t) <= 0.5: t_k (stci)", "log-log"),
    "lifelines": ("first time whose computed S(t) <= 0.5, no tolerance: t_k or t_k+1 by rounding", "log-log"),
}


def median_first_below(time: Sequence[float], event: Sequence[int], transform: str = "log-log",
                       alpha: float = DEFAULT_ALPHA, tolerance: float = PROBABILITY_TOLERANCE,
                       band_at_zero: float = math.nan) -> MedianEstimate:
    """Median = first time with S(t) ≤ 0.5 (+ ``tolerance``), limits where the pointwise bands first do the same.

    With the default tolerance this is Stata's ``stci`` rule; with ``tolerance=0``, the log-log band
    and ``band_at_zero=0`` (lifelines sets both limits to 0 where S = 0, where R has none) it is
    lifelines' ``median_survival_time_`` and ``median_survival_times(confidence_interval_)``.
    """
    table = km_table(time, event)
    times = table.index.to_numpy(float)
    surv = table["survival"].to_numpy(float)
    lower_band, upper_band = ci_bands(surv, table["greenwood"].to_numpy(float), transform, alpha)
    lower_band = np.where(surv == 0, band_at_zero, lower_band)
    upper_band = np.where(surv == 0, band_at_zero, upper_band)

    def first(curve: np.ndarray) -> float:
        hits = np.flatnonzero(np.nan_to_num(curve, nan=np.inf) <= MEDIAN_PROBABILITY + tolerance)
        return float(times[hits[0]]) if hits.size else math.nan

    estimate = first(surv)
    return MedianEstimate(estimate, first(lower_band), first(upper_band),
                          f"first time S <= 0.5, Brookmeyer-Crowley ({transform})", reached=not math.isnan(estimate))


def median_by_convention(time: Sequence[float], event: Sequence[int], convention: str,
                         alpha: float = DEFAULT_ALPHA) -> MedianEstimate:
    """The median and interval a program prints: 'R', 'SPSS', 'Stata' or 'lifelines' (:data:`MEDIAN_CONVENTIONS`)."""
    if convention not in MEDIAN_CONVENTIONS:
        raise ValueError(f"convention must be one of {list(MEDIAN_CONVENTIONS)}, not {convention!r}")
    if convention == "R":
        return median_brookmeyer_crowley(time, event, "log", alpha)
    if convention == "SPSS":
        return median_spss(time, event, alpha)
    if convention == "lifelines":
        return median_first_below(time, event, "log-log", alpha, tolerance=0.0, band_at_zero=0.0)
    return median_first_below(time, event, "log-log", alpha)


def median_intervals(time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The median with each interval of MEDIAN_INTERVAL_METHODS: estimate, limits, width, software.

    Each row uses its software's median rule (R's midpoint for the R rows, the first time with
    S ≤ 0.5 for SPSS and Stata), so the estimates differ only where S(t) = 0.5 over an interval.
    """
    rows = []
    for method, kind, software in MEDIAN_INTERVAL_METHODS:
        median = (median_spss(time, event, alpha) if kind == "spss"
                  else median_first_below(time, event, kind, alpha) if kind == "log-log"
                  else median_brookmeyer_crowley(time, event, kind, alpha))
        rows.append({"method": method, "software": software, "median": median.estimate,
                     "lower": median.lower, "upper": median.upper, "width": median.upper - median.lower})
    return pd.DataFrame(rows)


def median_spss_steps(time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Each step of :func:`median_spss` as a (quantity, value) row: t50, S, Greenwood SE, u, l, f, SE, limits."""
    table = km_table(time, event)
    event_rows = table[table["events"] > 0]
    times = event_rows.index.to_numpy(float)
    surv = event_rows["survival"].to_numpy(float)
    result = median_spss(time, event, alpha)
    u, s_u, l, s_l = collett_points(times, surv)
    if result.reached:
        at_median = event_rows.loc[result.estimate]
        with np.errstate(invalid="ignore"):
            s_median = float(at_median["survival"])
            se_s = float(at_median["survival"] * math.sqrt(at_median["greenwood"]))
    else:
        s_median, se_s = math.nan, math.nan
    steps = [
        ("median t50: first time with S(t) <= 0.5", result.estimate),
        ("S(t50)", s_median),
        ("Greenwood SE of S(t50)", se_s),
        (f"u: last event time with S >= {0.5 + COLLETT_EPSILON:.2f}", u),
        ("S(u)", s_u),
        (f"l: first event time with S <= {0.5 - COLLETT_EPSILON:.2f}", l),
        ("S(l)", s_l),
        ("density f = (S(u) - S(l)) / (l - u)", (s_u - s_l) / (l - u) if not math.isnan(l) else math.nan),
        ("SE(t50) = SE of S(t50) / f", result.se),
        (f"z for {100 * (1 - alpha):g}% confidence", z_value(alpha)),
        ("lower limit t50 - z SE", result.lower),
        ("upper limit t50 + z SE", result.upper),
    ]
    return pd.DataFrame(steps, columns=["quantity", "value"])


def survival_at_transforms(
    time: Sequence[float], event: Sequence[int], landmarks: Sequence[float], alpha: float = DEFAULT_ALPHA
) -> pd.DataFrame:
    """S(t) at each landmark with its plain, log and log-log Greenwood intervals side by side."""
    parts = []
    for transform in ("plain", "log", "log-log"):
        part = survival_at(time, event, landmarks, transform, alpha)
        parts.append(part[["landmark", "survival", "std_err", "lower", "upper", "transform"]])
    return pd.concat(parts, ignore_index=True)


def loglog_interval_center(lower: float, upper: float) -> float:
    """The S(t) a log-log interval (lower, upper) was built around: exp(−sqrt(log lower · log upper)).

    The interval is symmetric on the log(−log S) scale, so its centre there, back-transformed, is
    the estimate it belongs to.
    """
    if not (0.0 < lower < upper < 1.0):
        return math.nan
    return math.exp(-math.sqrt(math.log(lower) * math.log(upper)))


def uncensored_loglog_interval(survival: float, n: int, alpha: float = DEFAULT_ALPHA) -> tuple[float, float]:
    """The log-log Greenwood interval of S(t) = ``survival`` when n patients start and none is censored before t.

    Without censoring Greenwood's sum telescopes to (1 − S) / (n·S).
    """
    if not (0.0 < survival < 1.0) or n <= 0:
        return math.nan, math.nan
    greenwood = (1.0 - survival) / (n * survival)
    lower, upper = ci_bands(np.array([survival]), np.array([greenwood]), "log-log", alpha)
    return float(lower[0]), float(upper[0])


def implied_uncensored_n(survival: float, lower: float, upper: float, alpha: float = DEFAULT_ALPHA) -> float:
    """The number of patients that, without censoring, gives a log-log interval as wide as (lower, upper) at S.

    Half the width on the log(−log) scale is h = z·sqrt(G) / |log S|; solving for Greenwood's sum G
    and using G = (1 − S) / (n·S) gives n.
    """
    if not (0.0 < lower < upper < 1.0) or not (0.0 < survival < 1.0):
        return math.nan
    half = (math.log(-math.log(lower)) - math.log(-math.log(upper))) / 2.0
    greenwood = (half * abs(math.log(survival)) / z_value(alpha)) ** 2
    return (1.0 - survival) / (survival * greenwood)


def format_p_value(p: float, decimals: int = 3) -> str:
    """P as journals print it: '<0.001' below 10^−decimals, otherwise rounded; an en dash if missing."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    floor = 10.0 ** (-decimals)
    return f"<{floor:.{decimals}f}" if p < floor else f"{p:.{decimals}f}"

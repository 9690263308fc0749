"""Worked examples of the survival primer: tiny hand-made data sets and the tables behind each method.

Every table here is computed from its textbook formula, one step per column, so that a reader can
follow it with a pencil. The library the results chapters use (:mod:`aice_helpers.survival`,
:mod:`aice_helpers.cox`, lifelines) is called only where a page sets the hand computation beside it;
``tests/test_teaching.py`` checks that the two agree.

Conventions (as in :mod:`aice_helpers.survival`): a patient censored at the same time as a death is
still at risk at that death; ties among deaths are kept together (one row per distinct time); the
Cox partial likelihood treats tied deaths as Breslow does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.statistics import logrank_test
from scipy.optimize import minimize_scalar
from scipy.stats import chi2, norm

from .cox import DEFAULT_ALPHA, fit_cox
from .plots import use_book_style
from .survival import (
    COLLETT_EPSILON,
    MEDIAN_PROBABILITY,
    PROBABILITY_TOLERANCE,
    ci_bands,
    km_fit,
    logrank,
    median_brookmeyer_crowley,
    median_spss,
    z_value,
)

PRIMER_PRECISION = 4
KM_COLUMNS = ["t_i", "n_i", "d_i", "c_i", "1 - d_i/n_i", "S(t_i)", "Greenwood sum", "SE", "lower", "upper"]
LOGRANK_COLUMNS = ["t_i", "n1", "n2", "n", "d1", "d2", "d", "E1", "O1 - E1", "V"]
TOTAL_LABEL = "total"
BETA_GRID = np.linspace(-3.0, 3.0, 601)
BETA_SEARCH_BOUNDS = (-20.0, 20.0)
BETA_TOLERANCE = 1e-12
SEPARATION_MARGIN = 1e-3  # a maximiser this close to a search bound means log L has no peak
TRANSFORM_LABELS = {"plain": "plain", "log": "log", "log-log": "log-log"}


# ---------------------------------------------------------------------------------------------
# Set-up and display


def open_primer() -> None:
    """Set the book's figure style and four-decimal table display for a primer page."""
    use_book_style()
    pd.set_option("display.precision", PRIMER_PRECISION)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_columns", 20)


def for_display(table: pd.DataFrame, digits: int = PRIMER_PRECISION, missing: str = "") -> pd.DataFrame:
    """Return ``table`` as text: whole-number columns without decimals, others with ``digits``, NaN as ``missing``."""

    def column_text(values: pd.Series) -> pd.Series:
        if not pd.api.types.is_numeric_dtype(values):
            return values.fillna(missing).astype(str)
        present = values.dropna().astype(float)
        whole = bool(np.all(np.isfinite(present)) and np.all(present == np.round(present)))
        pattern = "{:.0f}" if whole else f"{{:.{digits}f}}"
        return values.map(lambda v: missing if pd.isna(v) else pattern.format(v))

    return table.apply(column_text)


# ---------------------------------------------------------------------------------------------
# The ten-patient example and the Kaplan–Meier table by hand


def ten_patient_example() -> pd.DataFrame:
    """Ten hand-made patients (months, 1 = died, 0 = censored) with tied deaths and a death–censoring tie."""
    return pd.DataFrame(
        {
            "patient": [f"P{i:02d}" for i in range(1, 11)],
            "months": [3.0, 5.0, 7.0, 9.0, 9.0, 12.0, 12.0, 15.0, 18.0, 22.0],
            "event": [1, 0, 1, 1, 1, 1, 0, 1, 0, 0],
            "tumour": ["large", "small", "large", "large", "small", "large", "small", "small", "small", "large"],
            "large_tumour": [1, 0, 1, 1, 0, 1, 0, 0, 0, 1],
        }
    )


def _as_arrays(time: Sequence[float], event: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return ``time`` as floats and ``event`` as 0/1 integers."""
    return np.asarray(time, dtype=float), np.asarray(event, dtype=int)


def km_worked_table(
    time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA, transform: str = "log-log"
) -> pd.DataFrame:
    """The product-limit table by hand, one row per distinct time: n, d, c, 1 − d/n, S, Greenwood, SE, limits."""
    t, e = _as_arrays(time, event)
    times = np.unique(t)
    n = np.array([np.sum(t >= u) for u in times], dtype=float)
    d = np.array([np.sum((t == u) & (e == 1)) for u in times], dtype=float)
    c = np.array([np.sum((t == u) & (e == 0)) for u in times], dtype=float)
    factor = 1.0 - d / n
    survival = np.cumprod(factor)
    terms = np.divide(d, n * (n - d), out=np.full_like(d, np.inf), where=n > d)
    greenwood = np.cumsum(terms)
    with np.errstate(invalid="ignore"):
        se = survival * np.sqrt(greenwood)
    lower, upper = ci_bands(survival, greenwood, transform, alpha)
    table = pd.DataFrame(
        dict(zip(KM_COLUMNS, [times, n.astype(int), d.astype(int), c.astype(int), factor, survival, greenwood,
                              se, lower, upper])),
        index=pd.RangeIndex(1, len(times) + 1, name="i"),
    )
    return table


def km_difference_from_lifelines(time: Sequence[float], event: Sequence[int]) -> float:
    """Largest |S by hand − S from lifelines| over every distinct observed time."""
    table = km_worked_table(time, event)
    library = km_fit(time, event).survival_function_.iloc[:, 0].reindex(table["t_i"]).to_numpy()
    return float(np.max(np.abs(table["S(t_i)"].to_numpy() - library)))


def censoring_shortcuts(time: Sequence[float], event: Sequence[int], at: float) -> pd.DataFrame:
    """S(at) by two tempting shortcuts (drop the censored; count them as survivors) and by Kaplan–Meier."""
    t, e = _as_arrays(time, event)
    died = e == 1
    kept = int(died.sum())
    survivors_kept = int(np.sum(died & (t > at)))
    deaths_by = int(np.sum(died & (t <= at)))
    table = km_worked_table(t, e)
    position = np.searchsorted(table["t_i"].to_numpy(), at, side="right") - 1
    km = 1.0 if position < 0 else float(table["S(t_i)"].iloc[position])
    return pd.DataFrame(
        {
            "approach": ["drop the censored patients", "count the censored as survivors", "Kaplan–Meier"],
            "patients used": [kept, len(t), len(t)],
            f"estimate of S({at:g})": [survivors_kept / kept, 1.0 - deaths_by / len(t), km],
        }
    )


def interval_bands(time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """S(t_i) with its pointwise interval on the plain, log and log-log scales (survival.ci_bands)."""
    table = km_worked_table(time, event, alpha)
    out = table[["t_i", "S(t_i)"]].copy()
    for transform, label in TRANSFORM_LABELS.items():
        lower, upper = ci_bands(table["S(t_i)"].to_numpy(), table["Greenwood sum"].to_numpy(), transform, alpha)
        out[f"{label} lower"], out[f"{label} upper"] = lower, upper
    return out


# ---------------------------------------------------------------------------------------------
# The median and its interval


def spss_median_worked(time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The SPSS-style median interval step by step: t50, se of S(t50), Collett's u and l, density, limits."""
    table = km_worked_table(time, event, alpha)
    deaths = table[table["d_i"] > 0]
    times, surv = deaths["t_i"].to_numpy(), deaths["S(t_i)"].to_numpy()
    at_or_below = np.flatnonzero(surv <= MEDIAN_PROBABILITY + PROBABILITY_TOLERANCE)
    if at_or_below.size == 0:
        raise ValueError("the median is not reached: S(t) never falls to 0.5")
    row = deaths.iloc[at_or_below[0]]
    t50, se_s = float(row["t_i"]), float(row["SE"])
    above = np.flatnonzero(surv >= MEDIAN_PROBABILITY + COLLETT_EPSILON - PROBABILITY_TOLERANCE)
    below = np.flatnonzero(surv <= MEDIAN_PROBABILITY - COLLETT_EPSILON + PROBABILITY_TOLERANCE)
    if below.size == 0:
        raise ValueError("S(t) never falls to 0.45: Collett's density cannot be formed")
    u, s_u = (float(times[above[-1]]), float(surv[above[-1]])) if above.size else (0.0, 1.0)
    l, s_l = float(times[below[0]]), float(surv[below[0]])
    density = (s_u - s_l) / (l - u)
    se = se_s / density
    z = z_value(alpha)
    steps = [
        ("median t50 (first time with S ≤ 0.5)", t50),
        ("S(t50)", float(row["S(t_i)"])),
        ("SE of S(t50), Greenwood", se_s),
        (f"u (last death time with S ≥ {MEDIAN_PROBABILITY + COLLETT_EPSILON:g})", u),
        ("S(u)", s_u),
        (f"l (first death time with S ≤ {MEDIAN_PROBABILITY - COLLETT_EPSILON:g})", l),
        ("S(l)", s_l),
        ("density f = (S(u) − S(l)) / (l − u)", density),
        ("SE of the median = SE of S(t50) / f", se),
        (f"z for {100 * (1 - alpha):g}% confidence", z),
        ("lower = t50 − z·SE", t50 - z * se),
        ("upper = t50 + z·SE", t50 + z * se),
    ]
    return pd.DataFrame(steps, columns=["step", "value"]).set_index("step")


def median_three_ways(time: Sequence[float], event: Sequence[int], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The median and its interval three ways: SPSS's symmetric rule, Brookmeyer–Crowley on log and log-log."""
    estimates = [
        ("SPSS: t50 ± z·SE (Collett's density)", "SPSS", median_spss(time, event, alpha)),
        ("Brookmeyer–Crowley, log scale", "R survfit default", median_brookmeyer_crowley(time, event, "log", alpha)),
        ("Brookmeyer–Crowley, log-log scale", "Stata, lifelines",
         median_brookmeyer_crowley(time, event, "log-log", alpha)),
    ]
    rows = [
        {"method": method, "used by": software, "median": m.estimate, "lower": m.lower, "upper": m.upper,
         "median − lower": m.estimate - m.lower, "upper − median": m.upper - m.estimate}
        for method, software, m in estimates
    ]
    return pd.DataFrame(rows).set_index("method")


# ---------------------------------------------------------------------------------------------
# The log-rank test by hand


def _group_one(group: Sequence, group1: object | None) -> tuple[np.ndarray, object, object]:
    """The group labels as an array, the label of group 1 and that of group 2 (exactly two groups)."""
    labels = np.asarray(list(group), dtype=object)
    levels = sorted(set(labels.tolist()), key=str)
    if len(levels) != 2:
        raise ValueError(f"the log-rank table by hand needs exactly two groups, got {levels}")
    first = levels[0] if group1 is None else group1
    if first not in levels:
        raise ValueError(f"group1={group1!r} is not one of {levels}")
    second = levels[1] if first == levels[0] else levels[0]
    return labels, first, second


def logrank_worked_table(
    time: Sequence[float], event: Sequence[int], group: Sequence, group1: object | None = None
) -> pd.DataFrame:
    """Per death time: n1, n2, d1, d2, E1 = d·n1/n, O1 − E1, V = n1·n2·d·(n − d)/(n²(n − 1)); then totals."""
    t, e = _as_arrays(time, event)
    labels, first, _ = _group_one(group, group1)
    in_one = labels == first
    rows = []
    for u in np.unique(t[e == 1]):
        at_risk, dies = t >= u, (t == u) & (e == 1)
        n1, n2 = int(np.sum(at_risk & in_one)), int(np.sum(at_risk & ~in_one))
        d1, d2 = int(np.sum(dies & in_one)), int(np.sum(dies & ~in_one))
        n, d = n1 + n2, d1 + d2
        expected = d * n1 / n
        variance = n1 * n2 * d * (n - d) / (n**2 * (n - 1)) if n > 1 else 0.0
        rows.append([u, n1, n2, n, d1, d2, d, expected, d1 - expected, variance])
    table = pd.DataFrame(rows, columns=LOGRANK_COLUMNS, index=pd.RangeIndex(1, len(rows) + 1, name="i"))
    table.index = table.index.astype(object)
    totals = {column: table[column].sum() for column in ["d1", "d2", "d", "E1", "O1 - E1", "V"]}
    table.loc[TOTAL_LABEL] = pd.Series(totals)
    return table


def logrank_by_hand(
    time: Sequence[float], event: Sequence[int], group: Sequence, group1: object | None = None
) -> pd.DataFrame:
    """O1, E1, O1 − E1, V, the chi-square (O1 − E1)²/V and its P (1 df), from the worked table's totals."""
    totals = logrank_worked_table(time, event, group, group1).loc[TOTAL_LABEL]
    chisq = float(totals["O1 - E1"] ** 2 / totals["V"])
    values = {"O1 (observed deaths, group 1)": float(totals["d1"]),
              "E1 (expected deaths, group 1)": float(totals["E1"]),
              "O1 − E1": float(totals["O1 - E1"]), "V (variance of O1 − E1)": float(totals["V"]),
              "chi-square = (O1 − E1)² / V": chisq, "P (chi-square, 1 df)": float(chi2.sf(chisq, 1))}
    return pd.DataFrame({"value": values}).rename_axis("quantity")


def logrank_three_ways(
    time: Sequence[float], event: Sequence[int], group: Sequence, group1: object | None = None
) -> pd.DataFrame:
    """The log-rank chi-square and P by hand, by aice_helpers.survival.logrank and by lifelines' logrank_test."""
    t, e = _as_arrays(time, event)
    labels, first, _ = _group_one(group, group1)
    hand = logrank_by_hand(t, e, labels, first)["value"]
    helper = logrank(t, e, labels)
    one = labels == first
    library = logrank_test(t[one], t[~one], e[one], e[~one])
    rows = {
        "by hand (this page)": (hand.iloc[4], hand.iloc[5]),
        "aice_helpers.survival.logrank": (helper.chisq, helper.p),
        "lifelines.statistics.logrank_test": (float(library.test_statistic), float(library.p_value)),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["chi-square", "P"]).rename_axis("computed by")


# ---------------------------------------------------------------------------------------------
# The Cox partial likelihood by hand


def cox_four_patient_example() -> pd.DataFrame:
    """Four hand-made patients (months, 1 = died, 0 = censored) with one binary covariate, large tumour = 1."""
    return pd.DataFrame(
        {
            "patient": ["A", "B", "C", "D"],
            "months": [2.0, 4.0, 6.0, 8.0],
            "event": [1, 1, 0, 1],
            "large_tumour": [1, 0, 1, 0],
        }
    )


def partial_likelihood_terms(
    beta: float, time: Sequence[float], event: Sequence[int], x: Sequence[float], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per death: its risk set R_i, numerator exp(β·x_i), denominator Σ_{j∈R_i} exp(β·x_j), the term."""
    t, e = _as_arrays(time, event)
    covariate = np.asarray(x, dtype=float)
    names = [str(i + 1) for i in range(len(t))] if labels is None else [str(label) for label in labels]
    weights = np.exp(beta * covariate)
    rows = []
    for i in np.argsort(t, kind="stable"):
        if e[i] != 1:
            continue
        risk_set = np.flatnonzero(t >= t[i])
        denominator = float(weights[risk_set].sum())
        rows.append({"patient": names[i], "t_i": t[i], "x_i": covariate[i],
                     "risk set R_i": ", ".join(names[j] for j in risk_set),
                     "exp(β·x_i)": float(weights[i]), "Σ exp(β·x_j)": denominator,
                     "term": float(weights[i]) / denominator})
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="death"))


def log_partial_likelihood(beta: float, time: Sequence[float], event: Sequence[int], x: Sequence[float]) -> float:
    """log L(β) = Σ over deaths of [β·x_i − log Σ_{j∈R_i} exp(β·x_j)] (Breslow's handling of ties)."""
    t, e = _as_arrays(time, event)
    covariate = np.asarray(x, dtype=float)
    linear = beta * covariate
    total = 0.0
    for i in np.flatnonzero(e == 1):
        risk = linear[t >= t[i]]
        top = float(risk.max())
        total += float(linear[i]) - (top + math.log(float(np.exp(risk - top).sum())))
    return total


def partial_likelihood(beta: float, time: Sequence[float], event: Sequence[int], x: Sequence[float]) -> float:
    """L(β) = Π over deaths of exp(β·x_i) / Σ_{j∈R_i} exp(β·x_j) (Breslow's handling of ties)."""
    return math.exp(log_partial_likelihood(beta, time, event, x))


def partial_likelihood_curve(
    time: Sequence[float], event: Sequence[int], x: Sequence[float], betas: Sequence[float] = BETA_GRID
) -> pd.DataFrame:
    """L(β) and log L(β) over a grid of β values."""
    log_values = np.array([log_partial_likelihood(b, time, event, x) for b in betas])
    return pd.DataFrame({"beta": np.asarray(betas, dtype=float), "L": np.exp(log_values), "log L": log_values})


def partial_likelihood_maximum(time: Sequence[float], event: Sequence[int], x: Sequence[float]) -> float:
    """The β that maximises log L(β), found numerically by a bounded search; ValueError if log L has no peak."""
    result = minimize_scalar(lambda b: -log_partial_likelihood(b, time, event, x), bounds=BETA_SEARCH_BOUNDS,
                             method="bounded", options={"xatol": BETA_TOLERANCE})
    if max(BETA_SEARCH_BOUNDS) - abs(float(result.x)) < SEPARATION_MARGIN:
        raise ValueError("log L(β) keeps rising towards the edge of the search: no finite maximum (separation)")
    return float(result.x)


def partial_likelihood_information(beta: float, time: Sequence[float], event: Sequence[int],
                                   x: Sequence[float]) -> float:
    """Observed information −d²log L/dβ²: Σ over deaths of the weighted variance of x in the risk set."""
    t, e = _as_arrays(time, event)
    covariate = np.asarray(x, dtype=float)
    weights = np.exp(beta * covariate)
    information = 0.0
    for i in np.flatnonzero(e == 1):
        in_risk = t >= t[i]
        w, v = weights[in_risk], covariate[in_risk]
        mean = float(np.sum(w * v) / np.sum(w))
        information += float(np.sum(w * v**2) / np.sum(w)) - mean**2
    return information


def wald_by_hand(time: Sequence[float], event: Sequence[int], x: Sequence[float],
                 alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """β̂, SE = 1/√information, z = β̂/SE, HR = exp(β̂), interval exp(β̂ ± z·SE) and Wald P, by hand."""
    beta = partial_likelihood_maximum(time, event, x)
    se = 1.0 / math.sqrt(partial_likelihood_information(beta, time, event, x))
    z = z_value(alpha)
    values = {"β̂": beta, "SE": se, "z = β̂ / SE": beta / se, "HR = exp(β̂)": math.exp(beta),
              f"lower = exp(β̂ − {z:.3f}·SE)": math.exp(beta - z * se),
              f"upper = exp(β̂ + {z:.3f}·SE)": math.exp(beta + z * se),
              "P = 2·(1 − Φ(|z|))": float(2.0 * norm.sf(abs(beta / se)))}
    return pd.DataFrame({"value": values}).rename_axis("quantity")


def _cox_frame(time: Sequence[float], event: Sequence[int], x: Sequence[float]) -> pd.DataFrame:
    """The three columns fit_cox needs: time, event, x."""
    return pd.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=int),
                         "x": np.asarray(x, dtype=float)})


def cox_by_hand_and_library(time: Sequence[float], event: Sequence[int], x: Sequence[float],
                            alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """β, SE, HR and Wald interval by hand beside fit_cox(..., ties="breslow")."""
    hand = wald_by_hand(time, event, x, alpha)["value"].to_numpy()
    fitted = fit_cox(_cox_frame(time, event, x), "time", "event", {"x": ("x", "0")}, ties="breslow",
                     alpha=alpha).table.iloc[0]
    rows = {
        "by hand (this page)": [hand[0], hand[1], hand[3], hand[4], hand[5]],
        "fit_cox, Breslow ties": [fitted["beta"], fitted["se"], fitted["hr"], fitted["lower"], fitted["upper"]],
    }
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["β", "SE", "HR", "lower", "upper"]).rename_axis("computed by")


def ties_comparison(time: Sequence[float], event: Sequence[int], x: Sequence[float],
                    alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """β, SE and HR of one binary covariate under Breslow's and Efron's handling of tied deaths (fit_cox)."""
    frame = _cox_frame(time, event, x)
    rows = {}
    for ties in ("breslow", "efron"):
        row = fit_cox(frame, "time", "event", {"x": ("x", "0")}, ties=ties, alpha=alpha).table.iloc[0]
        rows[ties.capitalize()] = [row["beta"], row["se"], row["hr"], row["lower"], row["upper"]]
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["β", "SE", "HR", "lower", "upper"]).rename_axis("ties")


# ---------------------------------------------------------------------------------------------
# Proportional and non-proportional hazards


def _gompertz(t: np.ndarray, level: float, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """Gompertz hazard a·e^(b·t) and cumulative hazard (a/b)(e^(b·t) − 1)."""
    return level * np.exp(slope * t), level / slope * np.expm1(slope * t)


def ph_illustration(hazard_ratio: float = 2.0, horizon: float = 36.0, points: int = 289) -> pd.DataFrame:
    """Hazard, hazard ratio and survival of two groups: proportional hazards, and hazards that cross."""
    t = np.linspace(0.0, horizon, points)
    small_hazard, small_cumulative = _gompertz(t, 0.015, 0.04)
    curves = {
        "proportional hazards": {"small": (small_hazard, small_cumulative),
                                 "large": (hazard_ratio * small_hazard, hazard_ratio * small_cumulative)},
        "crossing hazards": {"small": _gompertz(t, 0.02, 0.06), "large": _gompertz(t, 0.12, -0.06)},
    }
    frames = []
    for scenario, groups in curves.items():
        ratio = groups["large"][0] / groups["small"][0]
        for group, (hazard, cumulative) in groups.items():
            frames.append(pd.DataFrame({"scenario": scenario, "group": group, "time": t, "hazard": hazard,
                                        "hazard ratio": ratio, "survival": np.exp(-cumulative)}))
    return pd.concat(frames, ignore_index=True)

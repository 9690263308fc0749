"""Worked examples of the survival primer: tiny hand-made data sets and the tables behind each method.

Every table here is computed from its textbook formula, one step per column, so that a reader can
follow it with a pencil. The library the results chapters use (:mod:`aice_helpers.stats.survival`,
:mod:`aice_helpers.stats.cox`, lifelines) is called only where a page sets the hand computation beside it;
``tests/test_teaching.py`` checks that the two agree.

Two further groups of functions serve the text around those tables: the numbers the primer quotes in
its prose, which the notebooks glue into the text (myst-nb) instead of typing them, and the small
computations that the solutions of the results chapters' exercises need.

Conventions (as in :mod:`aice_helpers.stats.survival`): a patient censored at the same time as a death is
still at risk at that death; ties among deaths are kept together (one row per distinct time); the
Cox partial likelihood treats tied deaths as Breslow does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np
import pandas as pd
from lifelines.statistics import logrank_test
from scipy.optimize import minimize_scalar
from scipy.stats import binom, chi2, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from aice_helpers import study
from aice_helpers.analyses import survival as survival_analyses
from aice_helpers.analyses.response import (
    DISEASE_CONTROL_RESPONSES,
    OBJECTIVE_RESPONSES,
    best_responses,
)
from aice_helpers.pages.plots import use_book_style
from aice_helpers.pages.response import CI_METHOD_LABELS, response_counts
from aice_helpers.pages.safety import CYCLE, EVENT, EVENT_DISPLAY_NAMES, PATIENT_ID
from aice_helpers.stats.cox import DEFAULT_ALPHA, fit_cox
from aice_helpers.stats.proportions import STATSMODELS_CI_METHODS
from aice_helpers.stats.survival import (
    COLLETT_EPSILON,
    MEDIAN_PROBABILITY,
    PROBABILITY_TOLERANCE,
    ci_bands,
    format_p_value,
    km_fit,
    logrank,
    median_brookmeyer_crowley,
    median_spss,
    survival_at,
    z_value,
)

__all__ = [
    "P_COLUMN",
    "PRIMER_PRECISION",
    "KM_COLUMNS",
    "LOGRANK_COLUMNS",
    "TOTAL_LABEL",
    "BETA_GRID",
    "BETA_SEARCH_BOUNDS",
    "BETA_TOLERANCE",
    "COVERAGE_TAIL",
    "SEPARATION_MARGIN",
    "TRANSFORM_LABELS",
    "open_primer",
    "for_display",
    "ten_patient_example",
    "km_worked_table",
    "km_difference_from_lifelines",
    "censoring_shortcuts",
    "interval_bands",
    "spss_median_worked",
    "median_three_ways",
    "logrank_worked_table",
    "logrank_by_hand",
    "logrank_three_ways",
    "cox_four_patient_example",
    "partial_likelihood_terms",
    "risk_set_sums",
    "log_partial_likelihood",
    "partial_likelihood",
    "partial_likelihood_curve",
    "partial_likelihood_maximum",
    "partial_likelihood_information",
    "wald_by_hand",
    "cox_by_hand_and_library",
    "ties_comparison",
    "ph_illustration",
    "as_fraction",
    "worked_row",
    "naive_median",
    "plain_band_clipping",
    "plain_band_clipping_text",
    "hazard_ratio_and_risks",
    "crossing_hazards_summary",
    "proportional_hazards_summary",
    "km_versus_naive_share",
    "score_test_by_hand",
    "newton_maximum",
    "FOUR_TESTS",
    "four_tests_of_one_binary_covariate",
    "two_group_tests",
    "multiple_testing_table",
    "subgroup_median_three_ways",
    "proportion_interval_coverage",
    "coverage_over_rates",
    "response_rate_denominators",
    "disease_control_breakdown",
    "three_session_example",
    "adverse_event_counting",
    "status_parts",
    "tolerance_what_if",
]

PRIMER_PRECISION = 4
KM_COLUMNS = ["t_i", "n_i", "d_i", "c_i", "1 - d_i/n_i", "S(t_i)", "Greenwood sum", "SE", "lower", "upper"]
LOGRANK_COLUMNS = ["t_i", "n1", "n2", "n", "d1", "d2", "d", "E1", "O1 - E1", "V"]
TOTAL_LABEL = "total"
BETA_GRID = np.linspace(-3.0, 3.0, 601)
BETA_SEARCH_BOUNDS = (-20.0, 20.0)
BETA_TOLERANCE = 1e-12
COVERAGE_TAIL = 1e-15  # binomial probability below which a count is left out of an exact coverage sum
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


P_COLUMN = re.compile(r"(^|\s)P( value)?$")  # a column of P values: 'P', 'log-rank P', 'Holm P'


def for_display(table: pd.DataFrame, digits: int = PRIMER_PRECISION, missing: str = "") -> pd.DataFrame:
    """Return ``table`` as text: P columns as journals print them, whole-number columns without decimals, others
    with ``digits``, NaN as ``missing``."""

    def column_text(values: pd.Series) -> pd.Series:
        if not pd.api.types.is_numeric_dtype(values):
            return values.fillna(missing).astype(str)
        if P_COLUMN.search(str(values.name)):  # P values as journals print them: 3 decimals, '<0.001'
            return values.map(lambda v: missing if pd.isna(v) else format_p_value(float(v)))
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
    """The log-rank chi-square and P by hand, by aice_helpers.stats.survival.logrank and by lifelines' logrank_test."""
    t, e = _as_arrays(time, event)
    labels, first, _ = _group_one(group, group1)
    hand = logrank_by_hand(t, e, labels, first)["value"]
    helper = logrank(t, e, labels)
    one = labels == first
    library = logrank_test(t[one], t[~one], e[one], e[~one])
    rows = {
        "by hand (this page)": (hand.iloc[4], hand.iloc[5]),
        "aice_helpers.stats.survival.logrank": (helper.chisq, helper.p),
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


def risk_set_sums(beta: float, time: Sequence[float], event: Sequence[int], x: Sequence[float]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """For each death i: x_i, and over its risk set R_i = {j: t_j ≥ t_i} the sums Σ w_j, Σ w_j·x_j, Σ w_j·x_j²
    with w_j = exp(β·x_j − c), and the shift c (the largest β·x_j, for numerical safety).

    The sums come from cumulative sums over the patients sorted by time, so the cost grows as n log n:
    the same numbers as summing each risk set in turn, which the worked tables of the primer do.
    """
    t, e = _as_arrays(time, event)
    covariate = np.asarray(x, dtype=float)
    order = np.argsort(t, kind="stable")
    t_sorted, x_sorted = t[order], covariate[order]
    shift = float(np.max(beta * covariate)) if len(covariate) else 0.0
    w = np.exp(beta * x_sorted - shift)

    def from_each_position(values: np.ndarray) -> np.ndarray:
        return np.r_[np.cumsum(values[::-1])[::-1], 0.0]

    first = np.searchsorted(t_sorted, t[e == 1], side="left")  # the risk set starts at the first tied time
    sums = [from_each_position(values)[first] for values in (w, w * x_sorted, w * x_sorted**2)]
    return covariate[e == 1], sums[0], sums[1], sums[2], shift


def log_partial_likelihood(beta: float, time: Sequence[float], event: Sequence[int], x: Sequence[float]) -> float:
    """log L(β) = Σ over deaths of [β·x_i − log Σ_{j∈R_i} exp(β·x_j)] (Breslow's handling of ties)."""
    x_dead, s0, _, _, shift = risk_set_sums(beta, time, event, x)
    return float(np.sum(beta * x_dead - (shift + np.log(s0))))


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
    _, s0, s1, s2, _ = risk_set_sums(beta, time, event, x)
    return float(np.sum(s2 / s0 - (s1 / s0) ** 2))


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


# ---------------------------------------------------------------------------------------------
# Numbers the primer quotes in its prose (glued into the text with myst-nb, never typed)


def as_fraction(value: float, max_denominator: int = 1000) -> str:
    """``value`` as the nearest fraction whose denominator is at most ``max_denominator``: '1/12', '16/33', '3'."""
    return str(Fraction(float(value)).limit_denominator(max_denominator))


def worked_row(table: pd.DataFrame, at: float) -> pd.Series:
    """The row of a worked table (km_worked_table, interval_bands, logrank_worked_table) in force at time ``at``:
    the last row whose ``t_i`` is at or before ``at`` (the total row of a log-rank table is never chosen)."""
    rows = table.drop(index=TOTAL_LABEL, errors="ignore")
    times = rows["t_i"].to_numpy(dtype=float)
    position = int(np.searchsorted(times, at, side="right")) - 1
    if position < 0:
        raise ValueError(f"no row of the table is at or before t = {at:g}")
    return rows.iloc[position]


def naive_median(time: Sequence[float]) -> float:
    """The median of the observed times, censored or not: the wrong answer the primer warns against."""
    return float(np.median(np.asarray(time, dtype=float)))


def plain_band_clipping(bands: pd.DataFrame) -> tuple[float | None, float | None]:
    """Where the plain band is cut off: the last time of the opening stretch in which its upper limit is 1,
    and the first time of the closing stretch in which its lower limit is 0 (None when there is no such stretch)."""
    times = bands["t_i"].to_numpy(dtype=float)
    at_one = bands["plain upper"].to_numpy(dtype=float) >= 1.0
    at_zero = bands["plain lower"].to_numpy(dtype=float) <= 0.0
    opening = int(np.argmin(at_one)) if not at_one.all() else len(times)
    closing = len(times) - (int(np.argmin(at_zero[::-1])) if not at_zero.all() else len(times))
    upper_until = float(times[opening - 1]) if opening > 0 else None
    lower_from = float(times[closing]) if closing < len(times) else None
    return upper_until, lower_from


def plain_band_clipping_text(bands: pd.DataFrame) -> str:
    """plain_band_clipping in words, for the primer's prose: 'is cut off at 1 up to 7 months and at 0 from
    15 months on', or 'is never cut off' (each half is left out when that limit is never reached)."""
    upper_until, lower_from = plain_band_clipping(bands)
    parts = ([f"at 1 up to {upper_until:g} months"] if upper_until is not None else []) + (
        [f"at 0 from {lower_from:g} months on"] if lower_from is not None else [])
    return "is cut off " + " and ".join(parts) if parts else "is never cut off"


def hazard_ratio_and_risks(reference_survival: float, hazard_ratio: float) -> pd.Series:
    """Under proportional hazards S₁(t) = S₀(t)^HR: both survival probabilities at one time, both risks of
    having had the event by then, and the ratio of the risks (which is not the hazard ratio)."""
    if not 0.0 < reference_survival < 1.0 or hazard_ratio <= 0.0:
        raise ValueError("need 0 < reference_survival < 1 and hazard_ratio > 0")
    other = reference_survival**hazard_ratio
    return pd.Series({"S0": reference_survival, "S1": other, "risk0": 1.0 - reference_survival,
                      "risk1": 1.0 - other, "risk ratio": (1.0 - other) / (1.0 - reference_survival)})


def _scenario(data: pd.DataFrame, scenario: str, group: str) -> pd.DataFrame:
    """One scenario and group of ph_illustration, in time order."""
    part = data[(data["scenario"] == scenario) & (data["group"] == group)].sort_values("time")
    if part.empty:
        raise ValueError(f"no rows for scenario {scenario!r}, group {group!r}")
    return part.reset_index(drop=True)


def crossing_hazards_summary(data: pd.DataFrame) -> pd.Series:
    """The crossing scenario of ph_illustration in four numbers: the hazard ratio (large/small) at the first
    and the last time, the first grid time at which it has fallen to 1, and the first time after 0 at which
    the large-tumour survival curve is back at or above the small-tumour one."""
    large, small = _scenario(data, "crossing hazards", "large"), _scenario(data, "crossing hazards", "small")
    ratio = large["hazard ratio"].to_numpy()
    time = large["time"].to_numpy()
    below_one = np.flatnonzero(ratio <= 1.0)
    later = time > 0
    caught_up = np.flatnonzero(later & (large["survival"].to_numpy() >= small["survival"].to_numpy()))
    return pd.Series({"ratio at start": float(ratio[0]), "ratio at end": float(ratio[-1]),
                      "ratio reaches 1": float(time[below_one[0]]) if below_one.size else math.nan,
                      "survival curves cross": float(time[caught_up[0]]) if caught_up.size else math.nan})


def proportional_hazards_summary(data: pd.DataFrame, at: float = 12.0) -> pd.Series:
    """The proportional scenario of ph_illustration in numbers: each group's median (the first grid time with
    S ≤ 0.5) and the ratio small/large of the medians; each group's probability of the event by ``at`` and the
    ratio large/small of those probabilities. Neither ratio is the hazard ratio."""
    values = {}
    for group in ("large", "small"):
        part = _scenario(data, "proportional hazards", group)
        reached = part.loc[part["survival"] <= MEDIAN_PROBABILITY, "time"]
        values[f"median, {group}"] = float(reached.iloc[0]) if len(reached) else math.nan
        values[f"event by {at:g}, {group}"] = 1.0 - float(np.interp(at, part["time"], part["survival"]))
    values["median ratio small/large"] = values["median, small"] / values["median, large"]
    values[f"event by {at:g} ratio large/small"] = values[f"event by {at:g}, large"] / values[f"event by {at:g}, small"]
    return pd.Series(values)


# ---------------------------------------------------------------------------------------------
# Exercises of the results chapters: small computations their solutions need


def km_versus_naive_share(time: Sequence[float], event: Sequence[int], times: Sequence[float]) -> pd.DataFrame:
    """At each of ``times``, in percent: the Kaplan–Meier S(t), the share of all patients whose observed time is
    beyond t (what one gets by counting heads), and the gap between the two in points, with the number of
    patients censored by t. The two agree exactly as long as nobody has been censored."""
    t, e = _as_arrays(time, event)
    at = survival_at(t, e, times)
    rows = []
    for landmark, km in zip(times, at["survival"]):
        rows.append({"months": float(landmark), "Kaplan–Meier S(t) (%)": 100.0 * float(km),
                     "share observed beyond t (%)": 100.0 * float(np.mean(t > landmark)),
                     "censored by t": int(np.sum((t <= landmark) & (e == 0)))})
    table = pd.DataFrame(rows).set_index("months")
    gap = table["Kaplan–Meier S(t) (%)"] - table["share observed beyond t (%)"]
    table["gap (points)"] = np.round(gap, 10) + 0.0  # floating-point noise and −0.0 shown as 0
    return table


def score_test_by_hand(time: Sequence[float], event: Sequence[int], x: Sequence[float]) -> tuple[float, float]:
    """The Cox score test of β = 0 for one covariate (Breslow ties): U(0)²/I(0) and its P (1 df).
    U(0) = Σ over deaths of (x_i − mean of x in the risk set), I(0) the information at 0."""
    x_dead, s0, s1, _, _ = risk_set_sums(0.0, time, event, x)
    score = float(np.sum(x_dead - s1 / s0))
    information = partial_likelihood_information(0.0, time, event, x)
    if not information > 0:
        raise ValueError("no information at β = 0 (no death with both values of x at risk): no score test")
    statistic = score**2 / information
    return statistic, float(chi2.sf(statistic, 1))


def newton_maximum(time: Sequence[float], event: Sequence[int], x: Sequence[float], steps: int = 50) -> float:
    """The β that maximises log L(β), by Newton–Raphson from 0 (β ← β + U(β)/I(β)): the same maximum as
    :func:`partial_likelihood_maximum`'s search in a handful of steps; ValueError when there is none."""
    beta = 0.0
    for _ in range(steps):
        x_dead, s0, s1, s2, _ = risk_set_sums(beta, time, event, x)
        information = float(np.sum(s2 / s0 - (s1 / s0) ** 2))
        if not information > 0 or abs(beta) > max(BETA_SEARCH_BOUNDS):
            break
        step = float(np.sum(x_dead - s1 / s0)) / information
        beta += step
        if abs(step) < BETA_TOLERANCE * max(1.0, abs(beta)) * 1e3:
            return beta
    raise ValueError("log L(β) has no finite maximum (separation)")


FOUR_TESTS = ("log-rank", "Cox score (at β = 0)", "Cox likelihood ratio", "Cox Wald (at β̂)")


def four_tests_of_one_binary_covariate(time: Sequence[float], event: Sequence[int],
                                       x: Sequence[float]) -> pd.DataFrame:
    """One hypothesis (a binary x makes no difference), four tests: log-rank, and the Cox model's score,
    likelihood-ratio and Wald tests (Breslow ties), each as a chi-square with 1 df and its P."""
    t, e = _as_arrays(time, event)
    covariate = np.asarray(x, dtype=float)
    order = np.argsort(t, kind="stable")  # sorted once: each evaluation of log L then sorts sorted data, fast
    t, e, covariate = t[order], e[order], covariate[order]
    if set(np.unique(covariate).tolist()) != {0.0, 1.0}:
        raise ValueError("x must be a 0/1 covariate with both values present")
    if not partial_likelihood_information(0.0, t, e, covariate) > 0:
        raise ValueError("no death with both values of x at risk: the four tests are undefined")
    logrank_chisq = logrank(t, e, covariate).chisq  # the worked table's statistic, from counts
    score_chisq, _ = score_test_by_hand(t, e, covariate)
    beta = newton_maximum(t, e, covariate)
    ratio_chisq = 2.0 * (log_partial_likelihood(beta, t, e, covariate) - log_partial_likelihood(0.0, t, e, covariate))
    wald_chisq = beta**2 * partial_likelihood_information(beta, t, e, covariate)
    rows = dict(zip(FOUR_TESTS, (logrank_chisq, score_chisq, ratio_chisq, wald_chisq)))
    return pd.DataFrame({"chi-square": rows, "P": {name: float(chi2.sf(value, 1)) for name, value in rows.items()}}
                        ).rename_axis("test")


def two_group_tests(cohort: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """For every factor of the prognostic chapter that splits the patients in two groups: the log-rank P
    beside the Cox score, likelihood-ratio and Wald P of the same comparison (Breslow ties)."""

    rows = []
    for factor in study.FACTORS:
        frame = survival_analyses.factor_frame(cohort, endpoint, factor).dropna()
        levels = survival_analyses.factor_levels(frame["group"], factor)
        if len(levels) != 2:
            continue
        x = (frame["group"].astype(str) == str(levels[1])).astype(float)
        try:
            tests = four_tests_of_one_binary_covariate(frame["time"], frame["event"], x)
        except ValueError:  # no information or no finite maximum: the Cox tests are undefined
            continue
        rows.append({"factor": factor.label, "comparison": f"{levels[1]} vs {levels[0]}",
                     **{f"{name} P": tests.at[name, "P"] for name in FOUR_TESTS}})
    columns = ["factor", "comparison", *(f"{name} P" for name in FOUR_TESTS)]
    return pd.DataFrame(rows, columns=columns).set_index(["factor", "comparison"])


def multiple_testing_table(tables: Mapping[str, pd.DataFrame], alpha: float = 0.05) -> pd.DataFrame:
    """Every log-rank P of the prognostic tables (one per factor and endpoint) with its Bonferroni- and
    Holm-adjusted P and whether each correction keeps it at ``alpha`` ('yes' or 'no'); smallest P first."""

    parts = []
    for endpoint, table in tables.items():
        first = table.drop_duplicates("factor")
        parts.append(pd.DataFrame({"endpoint": endpoint.upper(), "factor": first["label"].to_numpy(),
                                   "log-rank P": first["logrank_p"].to_numpy(dtype=float)}))
    table = pd.concat(parts, ignore_index=True).dropna(subset=["log-rank P"])
    for method, name in (("bonferroni", "Bonferroni"), ("holm", "Holm")):
        keep, adjusted, _, _ = multipletests(table["log-rank P"], alpha=alpha, method=method)
        table[f"{name} P"], table[f"kept by {name}"] = adjusted, np.where(keep, "yes", "no")
    return table.sort_values("log-rank P", kind="stable").set_index(["endpoint", "factor"])


def subgroup_median_three_ways(cohort: pd.DataFrame, endpoint: str, factor_key: str,
                               alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """median_three_ways for every group of one factor of the prognostic chapter (group sizes beside)."""

    factor = study.FACTORS_BY_KEY[factor_key]
    frame = survival_analyses.factor_frame(cohort, endpoint, factor)
    parts = []
    for level in survival_analyses.factor_levels(frame["group"], factor):
        group = frame[frame["group"] == level]
        three = median_three_ways(group["time"], group["event"], alpha).reset_index()
        three.insert(0, "group", str(level))
        three.insert(1, "patients", len(group))
        three.insert(2, "events", int(group["event"].sum()))
        parts.append(three)
    return pd.concat(parts, ignore_index=True).set_index(["group", "method"])


def proportion_interval_coverage(n: int, true_rate: float, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """How often, in percent, the Clopper–Pearson and the Wilson interval for x/n contain ``true_rate`` when x is
    binomial (the exact coverage, summed over every possible x), with the average width of each in points.
    The limits are those of response.proportion_ci, computed for every x at once."""


    # Counts whose probability is below COVERAGE_TAIL change no printed digit: left out, so that a cohort of
    # a million patients sums over a few thousand counts instead of a million.
    low, high = binom.ppf(COVERAGE_TAIL, n, true_rate), binom.isf(COVERAGE_TAIL, n, true_rate)
    counts = np.arange(int(max(low - 1, 0)), int(min(high + 1, n)) + 1)
    weights = binom.pmf(counts, n, true_rate)
    rows = {}
    for method, label in CI_METHOD_LABELS.items():
        lower, upper = (np.asarray(limit, dtype=float) for limit in
                        proportion_confint(counts, n, alpha=alpha, method=STATSMODELS_CI_METHODS[method]))
        covered = (lower <= true_rate) & (true_rate <= upper)
        rows[label] = {"coverage (%)": 100.0 * float(np.sum(weights * covered)),
                       "average width (points)": 100.0 * float(np.sum(weights * (upper - lower)))}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("interval")


def coverage_over_rates(n: int, rates: Sequence[float], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The lowest, average and highest coverage (%) of each interval over a set of true rates (n fixed)."""
    frames = [proportion_interval_coverage(n, rate, alpha)["coverage (%)"] for rate in rates]
    coverage = pd.concat(frames, axis=1)
    return pd.DataFrame({"lowest (%)": coverage.min(axis=1), "average (%)": coverage.mean(axis=1),
                         "highest (%)": coverage.max(axis=1)})


def response_rate_denominators(cohort: pd.DataFrame, n_sessions: int | None) -> pd.DataFrame:
    """ORR and DCR with two denominators: every patient (right) and every AICE session (wrong: response is
    judged once per patient), in percent."""

    responses = best_responses(cohort)
    counts = {"ORR": int(responses.isin(OBJECTIVE_RESPONSES).sum()),
              "DCR": int(responses.isin(DISEASE_CONTROL_RESPONSES).sum())}
    denominators = {"patients (every treated patient)": len(cohort)}
    if n_sessions:
        denominators["AICE sessions"] = int(n_sessions)
    rows = {name: {"denominator": size, **{f"{rate} (%)": 100.0 * count / size for rate, count in counts.items()}}
            for name, size in denominators.items()}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("divided by")
    table.insert(0, "responders (CR + PR)", counts["ORR"])
    table.insert(1, "controlled (CR + PR + SD)", counts["DCR"])
    return table


def disease_control_breakdown(cohort: pd.DataFrame) -> pd.DataFrame:
    """The patients with disease control (CR, PR or SD) by best response: how many, their share of all
    patients (%) and their share of the patients with disease control (%)."""

    counts = response_counts(cohort).loc[list(DISEASE_CONTROL_RESPONSES), "n"]
    controlled = int(counts.sum())
    return pd.DataFrame({"patients": counts.astype(int),
                         "% of all patients": 100.0 * counts / len(cohort),
                         "% of disease control": 100.0 * counts / controlled if controlled else np.nan})


def three_session_example() -> pd.DataFrame:
    """An invented patient's adverse-event records over three AICE sessions (data-contract columns):
    pain graded A after sessions 1 and 2 and C after session 3, and pyrexia graded A twice after session 2."""
    return pd.DataFrame({"patient_id": ["X"] * 5, "cycle": [1, 2, 2, 2, 3],
                         "event": ["pain", "pain", "pyrexia", "pyrexia", "pain"],
                         "sir_grade": ["A", "A", "A", "A", "C"]})


def adverse_event_counting(adverse_events: pd.DataFrame, n_patients: int,
                           n_sessions: int | None = None) -> pd.DataFrame:
    """Each kind of adverse event counted three ways: patients who had it (at their worst grade), sessions
    after which it occurred, and the records in the file; with percentages of patients and of sessions."""

    records = adverse_events[[PATIENT_ID, CYCLE, EVENT]].astype({EVENT: str})
    table = pd.DataFrame({"patients": records.drop_duplicates([PATIENT_ID, EVENT]).groupby(EVENT).size(),
                          "sessions": records.drop_duplicates().groupby(EVENT).size(),
                          "records": records.groupby(EVENT).size()})
    table = table.reindex([e for e in EVENT_DISPLAY_NAMES if e in table.index])
    table.loc["any event"] = [records[PATIENT_ID].nunique(), len(records[[PATIENT_ID, CYCLE]].drop_duplicates()),
                              len(records)]
    table = table.astype(int)
    table["% of patients"] = 100.0 * table["patients"] / n_patients
    if n_sessions:
        table["% of sessions"] = 100.0 * table["sessions"] / n_sessions
    table.index = [EVENT_DISPLAY_NAMES.get(e, e) for e in table.index]
    return table.rename_axis("event")


def status_parts(table: pd.DataFrame, published: pd.DataFrame, entry_id: str) -> pd.DataFrame:
    """Why one scorecard row has its status: the estimate and each printed limit with the published and the
    reproduced number, the tolerance and the status of that part alone (the row takes the worst)."""
    from aice_helpers.paper import (
        compare as scorecard,  # reason: only with the paper; a rerun never loads paper/
    )


    entry = scorecard.published_entries(published.loc[[entry_id]])[entry_id]
    row = table.set_index("id").loc[entry_id]
    kind = scorecard.tolerance_kind(entry)
    decimals = int(entry.get("decimals") or 0)
    operator = entry.get("p_operator") or "="
    parts = [("estimate", entry["value"], row["reproduced"], False)]
    parts += [(field, entry[field], row[f"reproduced_{field}"], True) for field in scorecard.INTERVAL_FIELDS
              if not pd.isna(entry.get(field))]
    rows = [{"part": part, "published": float(printed), "reproduced": float(reproduced),
             "tolerance": scorecard.TOLERANCES[kind].text,
             "status": scorecard.component_status(printed, reproduced, decimals, kind, limit, operator)}
            for part, printed, reproduced, limit in parts]
    return pd.DataFrame(rows).set_index("part")


def tolerance_what_if(cases: Sequence[tuple[str, float, float, int]]) -> pd.DataFrame:
    """The status the scorecard would give each (kind, published, reproduced, printed decimals) case, where
    kind is a key of scorecard.TOLERANCES ('median', 'p', 'hazard_ratio', 'count', ...), with the tolerance
    and the gap measured the way the rule measures it: |log(reproduced / published)| for ratios, the absolute
    difference otherwise, none for P values (whose rule is the side of 0.05). The two numbers are shown as
    text, exactly as given."""
    from aice_helpers.paper import (
        compare as scorecard,  # reason: only with the paper; a rerun never loads paper/
    )


    rows = []
    for kind, published, reproduced, decimals in cases:
        tolerance = scorecard.TOLERANCES[kind]
        if tolerance.scale == scorecard.P_SIDE:
            gap = math.nan
        elif tolerance.scale == scorecard.LOG_SCALE:
            gap = abs(math.log(reproduced / published))
        else:
            gap = abs(reproduced - published)
        rows.append({"kind of number": tolerance.quantity, "published": f"{published:g}",
                     "reproduced": f"{reproduced:g}", "gap on the rule's scale": gap,
                     "allowed gap": tolerance.estimate, "tolerance": tolerance.text,
                     "status": scorecard.component_status(published, reproduced, decimals, kind)})
    return pd.DataFrame(rows)

"""The simulation lab: Monte Carlo checks of the book's methods in invented worlds whose truth is known.

Two experiments, both built on the book's own data and estimators:

* **Median intervals.** Survival times are drawn from a parametric distribution fitted to the synthetic
  cohort's overall survival (the best of lifelines' Weibull, log-normal and log-logistic fits by AIC), so
  the true median is known. Survivors are censored uniformly, as in a study that recruits at an even
  pace and is analysed on one day; the upper end of the uniform is solved for a target share censored.
  Each replicate is summarised by :func:`aice_helpers.stats.survival.median_spss` (the paper's symmetric
  interval) and :func:`aice_helpers.stats.survival.median_brookmeyer_crowley` on the log and log-log scales.
* **Cox hazard ratios and events per variable.** Covariate rows are drawn with replacement from the
  cohort's rows of the paper's OS model (:func:`aice_helpers.pages.cox_models.model_data`), event times
  follow proportional hazards with the published Table 3 coefficients as the true log hazard ratios
  (inverse-transform method of Bender et al. 2005 on the same fitted baseline), and uniform censoring,
  solved for an expected number of deaths, sets the events per variable. Each replicate is fitted by
  :func:`aice_helpers.stats.cox.fit_cox` (Breslow ties, as SPSS); its ModelWarnings are caught and counted,
  never printed, and fits flagged unreliable are counted and left out of the bias summaries.

Replicates run in parallel (``concurrent.futures.ProcessPoolExecutor``). Replicate j of setting i is
seeded with child (i, j) of ``numpy.random.SeedSequence(seed)``'s stream for the experiment, so the
results do not depend on the number of workers, and a run with more replicates extends a shorter one.
"""

from __future__ import annotations

import json
import math
import os
import time as clock
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import LogLogisticFitter, LogNormalFitter, WeibullFitter
from scipy import integrate, stats

from aice_helpers import study
from aice_helpers.analyses import models as cox_models
from aice_helpers.contract import DATA_DIR, MISSING_MARK
from aice_helpers.published import published_value
from aice_helpers.stats import survival
from aice_helpers.stats.cox import DEFAULT_ALPHA, ModelWarning, fit_cox

__all__ = [
    "QUICK_REPLICATIONS",
    "load_full_study",
    "DEFAULT_SEED",
    "NOMINAL_COVERAGE",
    "FULL_REPLICATIONS",
    "FULL_COX_REPLICATIONS",
    "LIMIT_GRID_POINTS",
    "LIMIT_GRID_SPAN",
    "MEDIAN_CHUNK",
    "COX_CHUNK",
    "MEDIAN_STREAM",
    "COX_STREAM",
    "EXAMPLE_STREAM",
    "ENDPOINT",
    "TIME",
    "EVENT",
    "MC_Z",
    "MODEL_LANDMARKS",
    "KAPLAN_MEIER",
    "SPSS",
    "BC_LOG",
    "BC_LOGLOG",
    "MEDIAN_METHODS",
    "PARAMETRIC_MODELS",
    "TrueModel",
    "fitted_models",
    "parametric_fits",
    "fits_table",
    "best_model",
    "model_curve",
    "model_curves",
    "censored_share",
    "uniform_censoring_limit",
    "censored_sample",
    "example_study",
    "replicate_seeds",
    "resolved_workers",
    "parallel_map",
    "chunked_tasks",
    "MedianSetting",
    "median_settings",
    "median_interval_rows",
    "median_replicates",
    "median_experiment",
    "interval_outcomes",
    "mc_standard_error",
    "coverage_summary",
    "with_missing_marked",
    "censoring_label",
    "censored_label",
    "coverage_table",
    "settings_table",
    "CoxDesign",
    "CoxSetting",
    "published_log_hazard_ratios",
    "cox_design",
    "relative_risks",
    "proportional_hazards_times",
    "cohort_survival",
    "design_table",
    "study_deaths",
    "replications_to_run",
    "events_for_epv",
    "cox_settings",
    "quiet_fit",
    "simulated_cox_data",
    "cox_replicates",
    "cox_experiment",
    "bias_summary",
    "epv_labels",
    "reliable_fits",
    "level_labels",
    "cox_table",
    "epv_overview",
    "model_note",
    "one_study_note",
    "coverage_note",
    "undefined_note",
    "study_epv_note",
    "percent_text",
    "epv_note",
    "monte_carlo_replicates",
]

DEFAULT_SEED = 20240521
NOMINAL_COVERAGE = 1.0 - DEFAULT_ALPHA
FULL_REPLICATIONS = 2000  # simulated studies per setting of the median experiment in the full design
FULL_COX_REPLICATIONS = 1000  # simulated studies per events-per-variable level in the full design
LIMIT_GRID_POINTS = 20_001  # times on which the censoring limit is solved
LIMIT_GRID_SPAN = 1e6  # the grid runs from scale / span to scale · span
MEDIAN_CHUNK = 5  # replicates per task sent to a worker (median experiment: cheap, even replicates)
COX_CHUNK = 1  # … (Cox experiment: a fit that fails to converge costs ten times one that converges)
MEDIAN_STREAM, COX_STREAM, EXAMPLE_STREAM = 0, 1, 2  # one seed stream per experiment
ENDPOINT = "os"
TIME, EVENT = "time", "event"
MC_Z = float(stats.norm.ppf(1.0 - DEFAULT_ALPHA / 2.0))  # error bars of ±1.96 Monte Carlo SE
MODEL_LANDMARKS: tuple[float, ...] = (12.0, 24.0, 36.0)
KAPLAN_MEIER = "Kaplan–Meier (the data)"
SPSS = "SPSS symmetric"
BC_LOG = "Brookmeyer–Crowley, log"
BC_LOGLOG = "Brookmeyer–Crowley, log-log"
MEDIAN_METHODS: dict[str, Callable[[np.ndarray, np.ndarray], survival.MedianEstimate]] = {
    SPSS: survival.median_spss,
    BC_LOG: partial(survival.median_brookmeyer_crowley, transform="log"),
    BC_LOGLOG: partial(survival.median_brookmeyer_crowley, transform="log-log"),
}


# ---------------------------------------------------------------------------------------------
# A world with a known truth: a parametric survival distribution like the cohort's


def _weibull(fitter: WeibullFitter) -> stats.rv_continuous:
    """scipy's Weibull with lifelines' S(t) = exp(−(t/λ)^ρ)."""
    return stats.weibull_min(fitter.rho_, scale=fitter.lambda_)


def _log_normal(fitter: LogNormalFitter) -> stats.rv_continuous:
    """scipy's log-normal with lifelines' log T ~ N(μ, σ)."""
    return stats.lognorm(fitter.sigma_, scale=math.exp(fitter.mu_))


def _log_logistic(fitter: LogLogisticFitter) -> stats.rv_continuous:
    """scipy's log-logistic (fisk) with lifelines' S(t) = 1 / (1 + (t/α)^β)."""
    return stats.fisk(fitter.beta_, scale=fitter.alpha_)


PARAMETRIC_MODELS: dict[str, tuple[type, Callable]] = {
    "Weibull": (WeibullFitter, _weibull),
    "log-normal": (LogNormalFitter, _log_normal),
    "log-logistic": (LogLogisticFitter, _log_logistic),
}


@dataclass(frozen=True)
class TrueModel:
    """A survival distribution standing in for the truth: its name, the frozen scipy distribution, its AIC."""

    name: str
    distribution: stats.rv_continuous  # a frozen scipy distribution of survival times (months)
    aic: float = math.nan  # of the fit to the cohort that chose it

    @property
    def median(self) -> float:
        """Return the true median survival time."""
        return float(self.distribution.median())


def fitted_models(time: Sequence[float], event: Sequence[int]) -> dict[str, TrueModel]:
    """Every candidate of PARAMETRIC_MODELS fitted by lifelines to (time, event), as scipy distributions."""
    models = {}
    for name, (fitter_class, to_scipy) in PARAMETRIC_MODELS.items():
        fitter = fitter_class().fit(np.asarray(time, float), np.asarray(event, int))
        models[name] = TrueModel(name, to_scipy(fitter), float(fitter.AIC_))
    return models


def parametric_fits(models: Mapping[str, TrueModel], time: Sequence[float], event: Sequence[int],
                    landmarks: Sequence[float] = MODEL_LANDMARKS) -> pd.DataFrame:
    """Per fitted model: AIC, median and S at the landmarks, with the Kaplan–Meier estimates as the last row."""
    rows = {name: {"AIC": model.aic, "median": model.median,
                   **{f"S({t:g})": float(model.distribution.sf(t)) for t in landmarks}}
            for name, model in models.items()}
    at = survival.survival_at(time, event, landmarks)
    rows[KAPLAN_MEIER] = {"AIC": math.nan, "median": survival.median_spss(time, event).estimate,
                          **{f"S({t:g})": s for t, s in zip(landmarks, at["survival"])}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def fits_table(fits: pd.DataFrame) -> pd.DataFrame:
    """The model comparison as the chapter prints it: AIC and median to one decimal, survival to three."""
    return with_missing_marked(fits.round(3).round({"AIC": 1, "median": 1}))


def best_model(models: Mapping[str, TrueModel]) -> TrueModel:
    """The fitted model with the lowest AIC."""
    return min(models.values(), key=lambda model: model.aic)


def model_curve(model: TrueModel, horizon: float, points: int = 241) -> pd.DataFrame:
    """The true survival function S(t) on a grid from 0 to ``horizon``."""
    t = np.linspace(0.0, horizon, points)
    return pd.DataFrame({"time": t, "survival": model.distribution.sf(t)})


# ---------------------------------------------------------------------------------------------
# Censoring and simulated samples


def model_curves(models: Mapping[str, TrueModel], horizon: float, points: int = 241) -> pd.DataFrame:
    """Each model's survival function on a grid from 0 to ``horizon``: columns model, time, survival."""
    return pd.concat([model_curve(model, horizon, points).assign(model=name) for name, model in models.items()],
                     ignore_index=True)[["model", "time", "survival"]]


def censored_share(survival_function: Callable[[float], float], limit: float) -> float:
    """The expected share censored when censoring times are uniform on (0, limit): (1/limit) ∫₀^limit S(u) du."""
    if math.isinf(limit):
        return 0.0
    area, _ = integrate.quad(survival_function, 0.0, limit, limit=200)
    return area / limit


def uniform_censoring_limit(survival_function: Callable[[np.ndarray], np.ndarray], share: float,
                            scale: float) -> float:
    """The upper end of uniform censoring times that censors ``share`` of the patients (inf for none).

    The share censored, (1/c) ∫₀^c S(u) du, is computed for every c of a geometric grid of times around
    ``scale`` (consecutive times about 0.1% apart) by the trapezoid rule, and interpolated at ``share``.
    """
    if share <= 0.0:
        return math.inf
    t = np.r_[0.0, np.geomspace(scale / LIMIT_GRID_SPAN, scale * LIMIT_GRID_SPAN, LIMIT_GRID_POINTS)]
    area = integrate.cumulative_trapezoid(survival_function(t), t, initial=0.0)
    shares = area[1:] / t[1:]  # non-increasing in c
    if not shares[-1] < share < shares[0]:
        raise ValueError(f"a share censored of {share} is out of reach of uniform censoring")
    return float(np.interp(share, shares[::-1], t[1:][::-1]))


def censored_sample(model: TrueModel, patients: int, limit: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Survival times of ``patients`` drawn from the model, censored at uniform (0, limit) times: (time, event)."""
    true_times = model.distribution.rvs(size=patients, random_state=rng)
    censoring = rng.uniform(0.0, limit, size=patients) if math.isfinite(limit) else np.full(patients, np.inf)
    return np.minimum(true_times, censoring), (true_times <= censoring).astype(int)


def example_study(model: TrueModel, patients: int, share: float,
                  seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """One simulated study of ``patients`` with about ``share`` censored, from its own seed stream: (time, event)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(EXAMPLE_STREAM + 1)[EXAMPLE_STREAM])
    return censored_sample(model, patients, uniform_censoring_limit(model.distribution.sf, share, model.median), rng)


# ---------------------------------------------------------------------------------------------
# Seeds and parallel replicates


def replicate_seeds(seed: int, stream: int, settings: int, replications: int) -> list[list[np.random.SeedSequence]]:
    """One SeedSequence per setting and replicate: child (setting, replicate) of the experiment's stream."""
    experiment = np.random.SeedSequence(seed).spawn(stream + 1)[stream]
    return [setting.spawn(replications) for setting in experiment.spawn(settings)]


def resolved_workers(workers: int | None) -> int:
    """The number of worker processes: ``workers``, or one per core when None or 0."""
    return max(1, int(workers) if workers else (os.cpu_count() or 1))


def parallel_map(function: Callable, tasks: Sequence[tuple], workers: int | None) -> list:
    """``function(*task)`` for every task, in task order, across worker processes (in this process for one)."""
    count = min(resolved_workers(workers), len(tasks))
    if count <= 1:
        return [function(*task) for task in tasks]
    with ProcessPoolExecutor(max_workers=count) as pool:
        return list(pool.map(function, *zip(*tasks)))


def chunked_tasks(settings: Sequence, seeds: Sequence[Sequence[np.random.SeedSequence]], chunk: int,
                  *shared: object) -> list[tuple]:
    """Tasks of at most ``chunk`` replicates: (setting, *shared, seeds, index of the first replicate)."""
    return [(setting, *shared, setting_seeds[start:start + chunk], start)
            for setting, setting_seeds in zip(settings, seeds)
            for start in range(0, len(setting_seeds), chunk)]


# ---------------------------------------------------------------------------------------------
# Experiment 1: coverage of the median's interval


@dataclass(frozen=True)
class MedianSetting:
    """One cell of the median experiment: sample size, target share censored and the uniform's upper end."""

    patients: int
    censored_target: float
    censoring_limit: float


def median_settings(model: TrueModel, sizes: Sequence[int], shares: Sequence[float]) -> list[MedianSetting]:
    """Every combination of sample size and share censored, censoring shares first."""
    limits = {share: uniform_censoring_limit(model.distribution.sf, share, model.median) for share in shares}
    return [MedianSetting(int(n), float(share), limits[share]) for share in shares for n in sizes]


def median_interval_rows(time: np.ndarray, event: np.ndarray) -> list[dict]:
    """One row per method of MEDIAN_METHODS: the median estimate and the interval's limits."""
    rows = []
    for method, estimate in MEDIAN_METHODS.items():
        result = estimate(time, event)
        rows.append({"method": method, "estimate": result.estimate, "lower": result.lower, "upper": result.upper})
    return rows


def median_replicates(setting: MedianSetting, model: TrueModel, seeds: Sequence[np.random.SeedSequence],
                      first: int) -> pd.DataFrame:
    """Simulate and summarise replicates ``first``, ``first + 1``, … of one setting (a worker's task)."""
    rows = []
    for offset, seed in enumerate(seeds):
        time, event = censored_sample(model, setting.patients, setting.censoring_limit, np.random.default_rng(seed))
        censored = 1.0 - float(event.mean())
        for row in median_interval_rows(time, event):
            rows.append({"patients": setting.patients, "censored_target": setting.censored_target,
                         "replicate": first + offset, "censored": censored, **row})
    return pd.DataFrame(rows)


def median_experiment(model: TrueModel, settings: Sequence[MedianSetting], replications: int,
                      seed: int = DEFAULT_SEED, workers: int | None = None) -> pd.DataFrame:
    """Every replicate of every setting: one row per replicate and method, in a fixed order."""
    seeds = replicate_seeds(seed, MEDIAN_STREAM, len(settings), replications)
    parts = parallel_map(median_replicates, chunked_tasks(settings, seeds, MEDIAN_CHUNK, model), workers)
    return pd.concat(parts, ignore_index=True)


def interval_outcomes(rows: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Per replicate and method: whether an interval was given, is open above and covers the truth, and its width.

    A missing lower limit means no interval. A missing upper limit with a lower one is a Brookmeyer–Crowley
    interval open above ("not reached"), read as reaching to infinity; SPSS never gives one.
    """
    given = rows["lower"].notna()
    open_above = given & rows["upper"].isna()
    upper = rows["upper"].fillna(np.inf)
    return rows.assign(
        given=given, open_above=open_above,
        covers=given & (rows["lower"] <= truth) & (truth <= upper),
        width=(rows["upper"] - rows["lower"]).where(given & ~open_above),
    )


def mc_standard_error(proportion: float | np.ndarray, replicates: int | np.ndarray) -> float | np.ndarray:
    """The Monte Carlo standard error of a proportion estimated from ``replicates`` runs: √(p(1 − p)/R)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.asarray(proportion) * (1.0 - np.asarray(proportion)) / np.asarray(replicates))


def exact_interval(successes: int | float, trials: int | float, level: float = NOMINAL_COVERAGE) -> tuple[float, float]:
    """Clopper–Pearson interval of a proportion: beta quantiles (α/2; k, n−k+1) and (1−α/2; k+1, n−k); NaN for n = 0.

    Unlike √(p(1 − p)/R), which is 0 when every replicate (or none) succeeds, it still says how uncertain 100%
    or 0% from R replicates is: from R = 2000 and 2000 successes, 99.8–100%.
    """
    if not trials or not np.isfinite(trials) or not np.isfinite(successes):
        return math.nan, math.nan
    k, n = int(successes), int(trials)
    alpha = 1.0 - level
    lower = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    upper = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lower, upper


def interval_text(lower: float, upper: float) -> str:
    """'93.9–96.1' (percent, one decimal), the book's dash when missing."""
    return MISSING_MARK if not (np.isfinite(lower) and np.isfinite(upper)) else f"{100 * lower:.1f}–{100 * upper:.1f}"


def coverage_summary(rows: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Per setting and method: replicates, share censored, intervals given, open, missing, coverage ± MC SE, width."""
    outcomes = interval_outcomes(rows, truth)
    keys = ["censored_target", "patients", "method"]
    grouped = outcomes.groupby(keys, sort=False)
    summary = grouped.agg(replicates=("replicate", "size"), censored=("censored", "mean"),
                          given=("given", "sum"), open_above=("open_above", "mean"),
                          no_interval=("given", lambda g: 1.0 - g.mean()), covered=("covers", "sum"),
                          mean_width=("width", "mean"), median_estimate=("estimate", "median"))
    summary["coverage"] = summary["covered"] / summary["given"].where(summary["given"] > 0)
    summary["mc_se"] = mc_standard_error(summary["coverage"], summary["given"])
    limits = [exact_interval(k, n) for k, n in zip(summary["covered"], summary["given"])]
    summary["coverage_lower"] = [low for low, _ in limits]
    summary["coverage_upper"] = [high for _, high in limits]
    return summary.reset_index()


def with_missing_marked(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every missing value shown as the book's dash (columns without one are left numeric)."""
    shown = table.copy()
    for column in shown.columns[shown.isna().any()]:
        shown[column] = shown[column].astype(object).where(shown[column].notna(), MISSING_MARK)
    return shown


def censoring_label(share: float) -> str:
    """'no censoring' or 'about 30% censored'."""
    return "no censoring" if share == 0 else f"about {100 * share:.0f}% censored"


def censored_label(share: float) -> str:
    """'none' or 'about 30%': the share censored as a table cell."""
    return "none" if share == 0 else f"about {100 * share:.0f}%"


def coverage_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The coverage summary as the chapter prints it: percentages to one decimal, widths in months."""
    table = pd.DataFrame({
        "censored": summary["censored_target"].map(censored_label),
        "patients": summary["patients"],
        "method": summary["method"],
        "coverage (%)": (100 * summary["coverage"]).round(1),
        "± MC SE": (100 * summary["mc_se"]).round(1).where(~summary["coverage"].isin([0.0, 1.0])),
        "exact 95% interval (%)": [interval_text(low, high) for low, high in
                                   zip(summary["coverage_lower"], summary["coverage_upper"])],
        "mean width": summary["mean_width"].round(1),
        "open above (%)": (100 * summary["open_above"]).round(1),
        "no interval (%)": (100 * summary["no_interval"]).round(1),
    })
    return with_missing_marked(table.set_index(["censored", "patients", "method"]))


def settings_table(settings: Sequence[MedianSetting], summary: pd.DataFrame, model: TrueModel) -> pd.DataFrame:
    """Per censoring level: the uniform's upper end, the share it censors in theory and in the replicates."""
    observed = summary.groupby("censored_target")["censored"].mean()
    rows = {}
    for setting in settings:
        rows[censoring_label(setting.censored_target)] = {
            "censoring times uniform up to (months)": round(setting.censoring_limit, 1),
            "expected censored (%)": round(100 * censored_share(model.distribution.sf, setting.censoring_limit), 1),
            "censored in the replicates (%)": round(100 * float(observed[setting.censored_target]), 1),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("censoring")


# ---------------------------------------------------------------------------------------------
# Experiment 2: Cox hazard ratios and events per variable


@dataclass(frozen=True)
class CoxDesign:
    """The cohort's covariate rows of the paper's model, the true log hazard ratios and the baseline survival."""

    covariates: pd.DataFrame  # one 0/1 column per coefficient, named by its row label, one row per patient
    log_hazard_ratios: pd.Series  # true β, indexed by the same labels
    baseline: TrueModel
    references: Mapping[str, tuple[str, str]]  # fit_cox's {label: (column, reference)}


@dataclass(frozen=True)
class CoxSetting:
    """One level of the Cox experiment: patients per study, expected deaths, and the uniform censoring's upper end."""

    patients: int
    target_events: int
    censoring_limit: float


def published_log_hazard_ratios(endpoint: str = ENDPOINT) -> pd.Series:
    """The paper's multivariable β of the endpoint's model (Table 3 for OS), indexed by the book's row labels."""
    table = study.ENDPOINT_TABLES[endpoint]
    keys = cox_models.paper_model_covariates(endpoint)
    return pd.Series({cox_models.PAPER_LABELS[key]: float(published_value(f"{table}.{key}.beta")) for key in keys},
                     name="true β")


def cox_design(cohort: pd.DataFrame, baseline: TrueModel, endpoint: str = ENDPOINT) -> CoxDesign:
    """The paper's model's covariate columns from the cohort, with the published β as the truth."""
    data = cox_models.model_data(cohort, endpoint, cox_models.paper_model_covariates(endpoint))
    truth = published_log_hazard_ratios(endpoint)
    return CoxDesign(data.frame[list(truth.index)], truth, baseline, data.covariates)


def relative_risks(x: np.ndarray, design: CoxDesign) -> np.ndarray:
    """exp(xβ − c) per row, c the mean of xβ over the cohort: an average-risk patient has the baseline survival."""
    beta = design.log_hazard_ratios.to_numpy(float)
    centre = float(np.mean(design.covariates.to_numpy(float) @ beta))
    return np.exp(x @ beta - centre)


def proportional_hazards_times(relative_risk: np.ndarray, baseline: TrueModel,
                               rng: np.random.Generator) -> np.ndarray:
    """Event times with hazard r·h₀(t): T = S₀⁻¹(U^(1/r)), U uniform, so S(t) = S₀(t)^r (Bender et al.)."""
    u = rng.uniform(size=len(relative_risk))
    return baseline.distribution.isf(u ** (1.0 / np.asarray(relative_risk, float)))


def cohort_survival(design: CoxDesign) -> Callable[[float], float]:
    """The survival function of a patient drawn at random from the cohort's rows: mean of S₀(t)^r."""
    risks = relative_risks(design.covariates.to_numpy(float), design)
    return lambda t: np.mean(np.asarray(design.baseline.distribution.sf(t))[..., None] ** risks, axis=-1)


def design_table(design: CoxDesign) -> pd.DataFrame:
    """Per covariate: the true β and hazard ratio, and the share of the cohort's patients in the group coded 1."""
    return pd.DataFrame({"true β": design.log_hazard_ratios.round(3),
                         "true HR": np.exp(design.log_hazard_ratios).round(2),
                         "patients coded 1 (%)": (100 * design.covariates.mean()).round(1)}).rename_axis("covariate")


def study_deaths(cohort: pd.DataFrame, endpoint: str = ENDPOINT) -> int:
    """The number of events of the endpoint in the cohort (deaths, for OS)."""
    return int(cohort[study.ENDPOINTS[endpoint].event_col].sum())


def replications_to_run(full_study: bool, replications: int, cox_replications: int) -> tuple[int, int]:
    """Simulated studies per setting of each experiment: the full design's, or the quick values given."""
    return (FULL_REPLICATIONS, FULL_COX_REPLICATIONS) if full_study else (int(replications), int(cox_replications))


def events_for_epv(epv: float, parameters: int, patients: int) -> int:
    """The number of deaths that gives ``epv`` events per estimated coefficient (at most every patient)."""
    return int(min(patients, max(1, round(epv * parameters))))


def cox_settings(design: CoxDesign, epv_levels: Sequence[float], patients: int,
                 study_events: int | None = None) -> list[CoxSetting]:
    """One setting per events-per-variable level (and the study's own number of deaths), fewest deaths first;
    the uniform censoring of each is solved so that the expected number of deaths is the target."""
    parameters = len(design.log_hazard_ratios)
    counts = {events_for_epv(epv, parameters, patients) for epv in epv_levels}
    if study_events is not None:
        counts.add(int(min(study_events, patients)))
    survival_function = cohort_survival(design)
    return [CoxSetting(int(patients), events,
                       uniform_censoring_limit(survival_function, 1.0 - events / patients, design.baseline.median))
            for events in sorted(counts)]


def quiet_fit(frame: pd.DataFrame, references: Mapping[str, tuple[str, str]]) -> tuple:
    """fit_cox with every warning caught: (result, number of ModelWarnings it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_cox(frame, TIME, EVENT, references)
    return result, sum(issubclass(w.category, ModelWarning) for w in caught)


def simulated_cox_data(design: CoxDesign, setting: CoxSetting, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated study: covariate rows drawn with replacement, PH times, uniform censoring."""
    rows = rng.integers(0, len(design.covariates), size=setting.patients)
    x = design.covariates.to_numpy(float)[rows]
    true_times = proportional_hazards_times(relative_risks(x, design), design.baseline, rng)
    censoring = (rng.uniform(0.0, setting.censoring_limit, size=setting.patients)
                 if math.isfinite(setting.censoring_limit) else np.full(setting.patients, np.inf))
    return pd.DataFrame(x, columns=design.covariates.columns).assign(
        **{TIME: np.minimum(true_times, censoring), EVENT: (true_times <= censoring).astype(int)})


def cox_replicates(setting: CoxSetting, design: CoxDesign, seeds: Sequence[np.random.SeedSequence],
                   first: int) -> pd.DataFrame:
    """Fit replicates ``first``, ``first + 1``, … of one setting: one row per replicate and covariate."""
    parts = []
    for offset, seed in enumerate(seeds):
        result, model_warnings = quiet_fit(simulated_cox_data(design, setting, np.random.default_rng(seed)),
                                           design.references)
        table = result.table.set_index("label").reindex(design.log_hazard_ratios.index)
        parts.append(pd.DataFrame({
            "patients": setting.patients, "target_events": setting.target_events, "replicate": first + offset,
            "events": result.events, "epv": cox_models.events_per_variable(result), "covariate": table.index,
            "true_beta": design.log_hazard_ratios.to_numpy(), "beta": table["beta"].to_numpy(),
            "se": table["se"].to_numpy(), "lower": table["lower"].to_numpy(), "upper": table["upper"].to_numpy(),
            "reliable": result.reliable, "model_warnings": model_warnings,
        }))
    return pd.concat(parts, ignore_index=True)


def cox_experiment(design: CoxDesign, settings: Sequence[CoxSetting], replications: int,
                   seed: int = DEFAULT_SEED, workers: int | None = None) -> pd.DataFrame:
    """Every replicate of every setting: one row per replicate and covariate, in a fixed order."""
    seeds = replicate_seeds(seed, COX_STREAM, len(settings), replications)
    parts = parallel_map(cox_replicates, chunked_tasks(settings, seeds, COX_CHUNK, design), workers)
    rows = pd.concat(parts, ignore_index=True)
    rows["covariate"] = pd.Categorical(rows["covariate"], categories=list(design.log_hazard_ratios.index))
    return rows


def bias_summary(rows: pd.DataFrame, reliable_only: bool = True) -> pd.DataFrame:
    """Per (target deaths, covariate): fits used, true β, median β̂, mean and median error of β̂, relative bias,
    SD of β̂, mean model SE, coverage of the Wald interval and its MC SE.

    Relative bias is Peduzzi et al.'s 100·(mean β̂ − β)/β. Fits flagged unreliable by fit_cox are left out unless
    ``reliable_only`` is False; coefficients that could not be estimated (NaN) are always left out.
    """
    used = rows[np.isfinite(rows["beta"]) & (rows["reliable"] | (not reliable_only))]
    true_hr = np.exp(used["true_beta"])
    used = used.assign(error=used["beta"] - used["true_beta"],
                       covers=(used["lower"] <= true_hr) & (true_hr <= used["upper"]))
    grouped = used.groupby(["target_events", "covariate"], observed=True, sort=True)
    summary = grouped.agg(fits=("beta", "size"), true_beta=("true_beta", "first"), median_beta=("beta", "median"),
                          mean_bias=("error", "mean"), median_bias=("error", "median"), sd=("beta", "std"),
                          mean_se=("se", "mean"), coverage=("covers", "mean"))
    summary["relative_bias"] = 100.0 * summary["mean_bias"] / summary["true_beta"]
    summary["mc_se"] = mc_standard_error(summary["coverage"], summary["fits"])
    limits = [exact_interval(round(p * n), n) for p, n in zip(summary["coverage"], summary["fits"])]
    summary["coverage_lower"] = [low for low, _ in limits]
    summary["coverage_upper"] = [high for _, high in limits]
    return summary


def epv_labels(target_events: Sequence[int], parameters: int) -> list[str]:
    """'EPV 3.0' for each target number of deaths."""
    return [f"EPV {events / parameters:.1f}" for events in target_events]


def reliable_fits(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of fits that fit_cox did not flag (``reliable`` True)."""
    return rows[rows["reliable"]]


def level_labels(settings: Sequence[CoxSetting], parameters: int) -> dict[int, str]:
    """{target deaths: 'EPV 3.0'} for the settings of the Cox experiment."""
    return dict(zip([s.target_events for s in settings], epv_labels([s.target_events for s in settings], parameters)))


def cox_table(summary: pd.DataFrame, parameters: int) -> pd.DataFrame:
    """The bias summary as the chapter prints it: one block of rows per events-per-variable level."""
    table = pd.DataFrame({
        "fits": summary["fits"],
        "true HR": np.exp(summary["true_beta"]).round(2),
        "median HR": np.exp(summary["median_beta"]).round(2),
        "mean error, log HR": summary["mean_bias"].round(2),
        "median error, log HR": summary["median_bias"].round(2),
        "relative bias (%)": summary["relative_bias"].round(1),
        "SD of log HR": summary["sd"].round(2),
        "mean SE": summary["mean_se"].round(2),
        "coverage (%)": (100 * summary["coverage"]).round(1),
        "± MC SE": (100 * summary["mc_se"]).round(1).where(~summary["coverage"].isin([0.0, 1.0])),
        "exact 95% interval (%)": [interval_text(low, high) for low, high in
                                   zip(summary["coverage_lower"], summary["coverage_upper"])],
    }, index=summary.index)
    levels = epv_labels(table.index.get_level_values("target_events"), parameters)
    table.index = pd.MultiIndex.from_arrays([levels, table.index.get_level_values("covariate")],
                                            names=["level", "covariate"])
    return with_missing_marked(table)


def epv_overview(rows: pd.DataFrame, summary: pd.DataFrame, parameters: int) -> pd.DataFrame:
    """Per level: EPV, deaths, fits, unreliable share, model warnings per fit, and the covariates' average relative
    bias, SD of β̂, model SE and coverage (fits not flagged)."""
    fits = rows.drop_duplicates(["target_events", "replicate"])
    per_level = fits.groupby("target_events").agg(
        deaths=("events", "mean"), fits=("replicate", "size"), unreliable=("reliable", lambda r: 1.0 - r.mean()),
        warnings=("model_warnings", "mean"))
    averages = summary.groupby(level="target_events").agg(
        relative_bias=("relative_bias", "mean"), sd=("sd", "mean"), se=("mean_se", "mean"),
        coverage=("coverage", "mean"))
    table = pd.DataFrame({
        "EPV": (per_level.index / parameters).round(1),
        "mean deaths": per_level["deaths"].round(1),
        "simulated studies": per_level["fits"],
        "flagged unreliable (%)": (100 * per_level["unreliable"]).round(1),
        "model warnings per fit": per_level["warnings"].round(2),
        "mean relative bias (%)": averages["relative_bias"].round(1),
        "mean SD of log HR": averages["sd"].round(2),
        "mean model SE": averages["se"].round(2),
        "mean coverage (%)": (100 * averages["coverage"]).round(1),
    }, index=per_level.index)
    table.index = pd.Index(epv_labels(per_level.index, parameters), name="level")
    return with_missing_marked(table)


# ---------------------------------------------------------------------------------------------
# Sentences for the page (every number in them computed here)


def model_note(model: TrueModel, fits: pd.DataFrame) -> str:
    """Which model stands in for the truth, and its median beside the cohort's Kaplan–Meier median."""
    km_median = fits.loc[KAPLAN_MEIER, "median"]
    return (f"The {model.name} distribution has the lowest AIC, so it is the invented world of this chapter. "
            f"Its median, the **true median** every interval below tries to catch, is "
            f"**{model.median:.2f} months**; the Kaplan–Meier median of the synthetic cohort it was fitted to is "
            f"{km_median:.1f} months.")


def one_study_note(intervals: pd.DataFrame, truth: float) -> str:
    """Which of one simulated study's intervals catch the true median."""
    upper = intervals["upper"].fillna(np.inf)
    caught = [method for method in intervals.index
              if pd.notna(intervals.at[method, "lower"]) and intervals.at[method, "lower"] <= truth <= upper[method]]
    missed = [method for method in intervals.index if method not in caught]
    text = f"The true median is {truth:.2f} months. "
    if not missed:
        return text + "In this one study every interval catches it."
    if not caught:
        return text + "In this one study every interval misses it."
    return (text + f"In this one study it is caught by {_listed(caught)} and missed by {_listed(missed)}. "
            "One study cannot tell which method is better: that takes many.")


def _listed(items: Sequence[str]) -> str:
    """'a', 'a and b' or 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def coverage_note(summary: pd.DataFrame, replications: int) -> str:
    """The lowest and highest coverage of each method, and the Monte Carlo error at this many replicates."""
    lines = []
    for method, part in summary.groupby("method", sort=False):
        low, high = part.loc[part["coverage"].idxmin()], part.loc[part["coverage"].idxmax()]
        lines.append(f"- **{method}**: from {100 * low['coverage']:.1f}% ({low['patients']} patients, "
                     f"{censoring_label(low['censored_target'])}) to {100 * high['coverage']:.1f}% "
                     f"({high['patients']} patients, {censoring_label(high['censored_target'])}).")
    typical = 100 * float(mc_standard_error(NOMINAL_COVERAGE, replications))
    text = (f"With {replications:,} replicates per setting, a method whose true coverage is exactly "
            f"{100 * NOMINAL_COVERAGE:.0f}% would show a Monte Carlo standard error of about {typical:.1f} "
            f"percentage points, so a coverage within about {2 * typical:.1f} points of {100 * NOMINAL_COVERAGE:.0f}% "
            f"is no evidence of a problem. Coverage across the settings:\n\n" + "\n".join(lines))
    return text + complete_coverage_note(summary)


def complete_coverage_note(summary: pd.DataFrame) -> str:
    """A sentence for settings whose coverage is 100% or 0%: the MC SE formula gives 0 there, the exact
    interval does not ('' when there is none)."""
    extreme = summary[summary["coverage"].isin([0.0, 1.0])]
    if extreme.empty:
        return ""
    widest = extreme.loc[extreme["given"].idxmin()]
    bound = (f"at least {100 * widest['coverage_lower']:.1f}%" if widest["coverage"] == 1.0
             else f"at most {100 * widest['coverage_upper']:.1f}%")
    count = f"{len(extreme)} setting{'s' if len(extreme) > 1 else ''}"
    return (f"\n\nIn {count} the coverage is 100% or 0%: every interval, or none, caught the truth. There the "
            f"formula √(p(1 − p)/R) gives a Monte Carlo SE of 0, which is no claim of certainty; the table's exact "
            f"binomial (Clopper–Pearson) interval says how far such a count can be trusted. With "
            f"{int(widest['given']):,} intervals, all or none covering, the true coverage is {bound} (95% confidence).")


def undefined_note(summary: pd.DataFrame) -> str:
    """Where the intervals are most often missing or open above."""
    worst = summary.loc[summary["no_interval"].idxmax()]
    most_open = summary.loc[summary["open_above"].idxmax()]
    return (f"The most intervals are missing for **{worst['method']}** with {worst['patients']} patients and "
            f"{censoring_label(worst['censored_target'])}: {100 * worst['no_interval']:.1f}% of the replicates. "
            f"The most open upper limits are for **{most_open['method']}** with {most_open['patients']} patients "
            f"and {censoring_label(most_open['censored_target'])}: {100 * most_open['open_above']:.1f}%.")


def study_epv_note(cohort: pd.DataFrame, parameters: int, endpoint: str = ENDPOINT) -> str:
    """The paper's OS model in numbers: patients, deaths, coefficients and events per variable."""
    deaths = study_deaths(cohort, endpoint)
    side = "at or above" if deaths / parameters >= cox_models.EPV_RULE else "below"
    return (f"In the synthetic cohort, the paper's OS model rests on {deaths} deaths among {len(cohort)} patients "
            f"and estimates {parameters} coefficients: {deaths / parameters:.1f} events per variable, {side} the "
            f"rule of {cox_models.EPV_RULE}.")


def percent_text(value: object) -> str:
    """'12.3%' for a number, the book's dash for a missing value (a level without usable fits)."""
    return f"{value:.1f}%" if isinstance(value, (int, float, np.number)) and pd.notna(value) else MISSING_MARK


def epv_note(overview: pd.DataFrame) -> str:
    """How bias, unreliable fits and coverage change from the fewest to the most events per variable."""
    fewest, most = overview.iloc[0], overview.iloc[-1]
    return (f"With {fewest['EPV']:.1f} events per variable, {percent_text(fewest['flagged unreliable (%)'])} of the "
            f"fits are flagged unreliable, the reliable ones show a mean relative bias of the log hazard ratios of "
            f"{percent_text(fewest['mean relative bias (%)'])}, and their intervals cover the true hazard ratio "
            f"{percent_text(fewest['mean coverage (%)'])} of the time on average. With {most['EPV']:.1f} events per "
            f"variable the figures are {percent_text(most['flagged unreliable (%)'])}, "
            f"{percent_text(most['mean relative bias (%)'])} and {percent_text(most['mean coverage (%)'])}.")


def monte_carlo_replicates(standard_error: float, proportion: float = NOMINAL_COVERAGE) -> int:
    """The replicates needed for a proportion near ``proportion`` to have this Monte Carlo SE: p(1 − p)/SE²."""
    return math.ceil(round(proportion * (1.0 - proportion) / standard_error**2, 9))  # round off float noise


# ---------------------------------------------------------------------------------------------
# The full study: run once by `make lab-study`, stored as data, read back by the page


LAB_DIR = DATA_DIR / "lab"
FULL_SAMPLE_SIZES: tuple[int, ...] = (30, 113, 300)  # patients per study (median experiment)
FULL_CENSORED_SHARES: tuple[float, ...] = (0.0, 0.3, 0.6)  # shares censored (median experiment)
FULL_EPV_LEVELS: tuple[float, ...] = (5, 10)  # events per variable besides the study's own (Cox experiment)
FULL_COX_PATIENTS = 113  # patients per study (Cox experiment)
DESIGN_FILE = "design.json"
MEDIAN_FOLDER, COX_FOLDER = "median", "cox"
STORED_FLOAT_FORMAT = "%.10g"  # ten significant digits: far below any Monte Carlo error, and a stable diff


QUICK_REPLICATIONS, QUICK_COX_REPLICATIONS = 25, 4  # the quick version a reader can run on the page


@dataclass(frozen=True)
class StoredStudy:
    """The full study as stored: its design (seed, replicates, the invented world) and every replicate's rows."""

    design: dict
    median_rows: pd.DataFrame
    cox_rows: pd.DataFrame
    folder: Path

    @property
    def replications(self) -> int:
        """Simulated studies per setting of the median experiment."""
        return int(self.design["replications"])

    @property
    def cox_replications(self) -> int:
        """Simulated studies per level of the Cox experiment."""
        return int(self.design["cox_replications"])

    @property
    def seed(self) -> int:
        """The root seed of the study."""
        return int(self.design["seed"])

    def median_rows_for(self, model: TrueModel) -> pd.DataFrame:
        """The median experiment's rows, after checking that they were simulated from ``model``."""
        self._check_world(model.name, model.median, None)
        return self.median_rows

    def cox_rows_for(self, design: CoxDesign) -> pd.DataFrame:
        """The Cox experiment's rows, after checking that they were simulated from ``design``."""
        self._check_world(design.baseline.name, design.baseline.median, design.log_hazard_ratios)
        return self.cox_rows

    def _check_world(self, name: str, median: float, log_hazard_ratios: pd.Series | None) -> None:
        """Raise a clear error when the stored study's invented world is not the one this page computes."""
        stored = self.design
        same = stored["model"] == name and math.isclose(stored["true_median"], median, rel_tol=1e-7)
        if log_hazard_ratios is not None:
            truth = {str(k): round(float(v), 9) for k, v in log_hazard_ratios.items()}
            same = same and stored["true_log_hazard_ratios"] == truth
        if not same:
            raise ValueError(f"the full study stored in {self.folder} was simulated from another world "
                             f"({stored['model']}, true median {stored['true_median']:.4f}) than the one fitted to "
                             f"this cohort ({name}, {median:.4f}): run `make lab-study` after removing that folder")


def full_study_design(model: TrueModel, design: CoxDesign, study_events: int, seed: int = DEFAULT_SEED,
                      replications: int = FULL_REPLICATIONS, cox_replications: int = FULL_COX_REPLICATIONS,
                      ) -> dict:
    """What identifies a full study's results: seed, replicates, settings and the invented world (a JSON dict)."""
    return {
        "seed": int(seed), "replications": int(replications), "cox_replications": int(cox_replications),
        "sample_sizes": list(FULL_SAMPLE_SIZES), "censored_shares": list(FULL_CENSORED_SHARES),
        "epv_levels": list(FULL_EPV_LEVELS), "cox_patients": FULL_COX_PATIENTS, "study_events": int(study_events),
        "model": model.name, "true_median": round(model.median, 9),
        "true_log_hazard_ratios": {str(k): round(float(v), 9) for k, v in design.log_hazard_ratios.items()},
    }


def load_full_study(folder: Path = LAB_DIR) -> StoredStudy:
    """Read the full study stored by :func:`run_full_study`; a clear error if any setting is missing."""

    folder = Path(folder)
    design_path = folder / DESIGN_FILE
    if not design_path.exists():
        raise FileNotFoundError(f"no full study stored in {folder} ({DESIGN_FILE} is missing): run `make lab-study`")
    design = json.loads(design_path.read_text(encoding="utf-8"))
    median_paths = [folder / MEDIAN_FOLDER / f"n{n}_censored{round(100 * share)}.csv"
                    for share in design["censored_shares"] for n in design["sample_sizes"]]
    cox_paths = sorted((folder / COX_FOLDER).glob("n*_deaths*.csv"),
                       key=lambda path: int(path.stem.rsplit("deaths", 1)[1]))
    expected_levels = len({events_for_epv(epv, len(design["true_log_hazard_ratios"]), design["cox_patients"])
                           for epv in design["epv_levels"]} | {min(design["study_events"], design["cox_patients"])})
    missing = [path.name for path in median_paths if not path.exists()]
    if missing or len(cox_paths) != expected_levels:
        raise FileNotFoundError(f"the full study in {folder} is incomplete (missing: {', '.join(missing) or 'Cox levels'})"
                                f": run `make lab-study` to finish it")
    median_rows = pd.concat([pd.read_csv(path) for path in median_paths], ignore_index=True)
    cox_rows = pd.concat([pd.read_csv(path) for path in cox_paths], ignore_index=True)
    cox_rows["covariate"] = pd.Categorical(cox_rows["covariate"], categories=list(design["true_log_hazard_ratios"]))
    cox_rows["reliable"] = cox_rows["reliable"].astype(bool)
    return StoredStudy(design=design, median_rows=median_rows, cox_rows=cox_rows, folder=folder)


def median_setting_file(folder: Path, setting: MedianSetting) -> Path:
    """Where one setting of the median experiment is stored: median/n113_censored30.csv."""
    return folder / MEDIAN_FOLDER / f"n{setting.patients}_censored{round(100 * setting.censored_target)}.csv"


def cox_setting_file(folder: Path, setting: CoxSetting) -> Path:
    """Where one level of the Cox experiment is stored: cox/n113_deaths35.csv."""
    return folder / COX_FOLDER / f"n{setting.patients}_deaths{setting.target_events}.csv"


def _store_settings(settings: Sequence, seeds: Sequence, path_of: Callable, replicates: Callable, chunk: int,
                    payload: object, workers: int | None, folder: Path, log: Callable[[str], None]) -> None:
    """Simulate each setting not stored yet and write its replicates to its own file as soon as it is done."""
    for setting, setting_seeds in zip(settings, seeds):
        path = path_of(setting)
        if path.exists():
            log(f"stored already: {path.relative_to(folder)}")
            continue
        start = clock.perf_counter()
        parts = parallel_map(replicates, chunked_tasks([setting], [setting_seeds], chunk, payload), workers)
        _write_atomically(pd.concat(parts, ignore_index=True), path)
        log(f"stored {path.relative_to(folder)} ({clock.perf_counter() - start:.0f} s)")


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV next to its place, then move it there: an interrupted run leaves no half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_suffix(".csv.partial")
    frame.to_csv(partial_path, index=False, float_format=STORED_FLOAT_FORMAT, lineterminator="\n")
    os.replace(partial_path, path)


def run_full_study(cohort: pd.DataFrame, folder: Path = LAB_DIR, seed: int = DEFAULT_SEED,
                   replications: int = FULL_REPLICATIONS, cox_replications: int = FULL_COX_REPLICATIONS,
                   workers: int | None = None, log: Callable[[str], None] = print) -> dict:
    """Run every setting of the full design not yet stored in ``folder``, storing each as soon as it is done.

    A setting is skipped when its file exists, so an interrupted run resumes where it stopped. Each setting
    uses the seeds it has in :func:`median_experiment` and :func:`cox_experiment` over the whole design, so
    the stored rows are those of one uninterrupted run. Results stored for another design are an error.
    """

    folder = Path(folder)
    time_, event = cohort[study.ENDPOINTS[ENDPOINT].time_col], cohort[study.ENDPOINTS[ENDPOINT].event_col]
    model = best_model(fitted_models(time_, event))
    design = cox_design(cohort, model)
    events = study_deaths(cohort)
    wanted = full_study_design(model, design, events, seed, replications, cox_replications)
    design_path = folder / DESIGN_FILE
    if design_path.exists():
        stored = json.loads(design_path.read_text(encoding="utf-8"))
        if stored != wanted:
            raise ValueError(f"{design_path} describes another design than this run's; remove the folder "
                             f"{folder} to run the new design from scratch")
    folder.mkdir(parents=True, exist_ok=True)
    design_path.write_text(json.dumps(wanted, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    settings = median_settings(model, FULL_SAMPLE_SIZES, FULL_CENSORED_SHARES)
    _store_settings(settings, replicate_seeds(seed, MEDIAN_STREAM, len(settings), replications),
                    lambda setting: median_setting_file(folder, setting), median_replicates, MEDIAN_CHUNK, model,
                    workers, folder, log)
    levels = cox_settings(design, FULL_EPV_LEVELS, FULL_COX_PATIENTS, events)
    _store_settings(levels, replicate_seeds(seed, COX_STREAM, len(levels), cox_replications),
                    lambda setting: cox_setting_file(folder, setting), cox_replicates, COX_CHUNK, design,
                    workers, folder, log)
    return wanted

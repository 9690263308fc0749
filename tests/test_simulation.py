"""The simulation lab (aice_helpers.analyses.simulation): reproducible seeds, correct simulators, correct summaries.

Statistical checks use a fixed seed, so they are deterministic; their tolerances are set from the Monte
Carlo error (three standard errors) so that they would also hold for almost any other seed.
"""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from lifelines import LogLogisticFitter, LogNormalFitter, WeibullFitter
from scipy import stats

from aice_helpers.analyses import simulation
from aice_helpers.data import Dataset
from aice_helpers.pages import plots
from aice_helpers.stats.cox import fit_cox

EXPONENTIAL = simulation.TrueModel("exponential", stats.expon(scale=20.0))
SEED = 12345
MC_SE_MULTIPLE = 3.0  # a simulated proportion may miss its target by this many Monte Carlo SEs


@pytest.fixture(scope="module")
def design(dataset: Dataset) -> simulation.CoxDesign:
    """The Cox experiment's design on the book's cohort, with the lab's fitted baseline."""
    cohort = dataset.cohort
    baseline = simulation.best_model(simulation.fitted_models(cohort["os_months"], cohort["os_event"]))
    return simulation.cox_design(cohort, baseline)


# ---------------------------------------------------------------------------------------------- seeds and workers


def test_median_experiment_is_the_same_with_one_or_two_workers() -> None:
    """Each replicate has its own seed: the rows are identical whatever the number of processes."""
    settings = simulation.median_settings(EXPONENTIAL, sizes=(30, 60), shares=(0.0, 0.5))
    serial = simulation.median_experiment(EXPONENTIAL, settings, 12, SEED, workers=1)
    parallel = simulation.median_experiment(EXPONENTIAL, settings, 12, SEED, workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert len(serial) == 4 * 12 * len(simulation.MEDIAN_METHODS)


def test_cox_experiment_is_the_same_with_one_or_two_workers(design: simulation.CoxDesign) -> None:
    """The Cox experiment, too, gives the same fits in one process or two."""
    settings = simulation.cox_settings(design, [12], patients=113)
    serial = simulation.cox_experiment(design, settings, 6, SEED, workers=1)
    parallel = simulation.cox_experiment(design, settings, 6, SEED, workers=2)
    pd.testing.assert_frame_equal(serial, parallel)


def test_a_longer_run_extends_a_shorter_one() -> None:
    """Replicate j of a setting has the same seed whatever the number of replicates."""
    settings = simulation.median_settings(EXPONENTIAL, sizes=(40,), shares=(0.3,))
    short = simulation.median_experiment(EXPONENTIAL, settings, 5, SEED, workers=1)
    long = simulation.median_experiment(EXPONENTIAL, settings, 10, SEED, workers=1)
    pd.testing.assert_frame_equal(short, long.iloc[: len(short)])
    other_seed = simulation.median_experiment(EXPONENTIAL, settings, 5, SEED + 1, workers=1)
    assert not short["estimate"].equals(other_seed["estimate"])


# ---------------------------------------------------------------------------------------------- the invented world


def test_scipy_distributions_have_lifelines_medians(dataset: Dataset) -> None:
    """Each lifelines fit turned into scipy has the median and survival lifelines computes."""
    time, event = dataset.cohort["os_months"], dataset.cohort["os_event"]
    models = simulation.fitted_models(time, event)
    for name, fitter_class in {"Weibull": WeibullFitter, "log-normal": LogNormalFitter,
                               "log-logistic": LogLogisticFitter}.items():
        fitter = fitter_class().fit(time, event)
        assert models[name].median == pytest.approx(fitter.median_survival_time_, rel=1e-9)
        assert models[name].distribution.sf(30.0) == pytest.approx(
            float(fitter.survival_function_at_times(30.0).iloc[0]), rel=1e-9)
        assert models[name].aic == pytest.approx(fitter.AIC_)
    assert simulation.best_model(models).aic == min(m.aic for m in models.values())


def test_uniform_censoring_limit_censors_the_target_share() -> None:
    """For exponential times (mean μ) the share censored by U(0, c) is (μ/c)(1 − e^(−c/μ)); simulation agrees."""
    mean = EXPONENTIAL.distribution.mean()
    for share in (0.3, 0.6):
        limit = simulation.uniform_censoring_limit(EXPONENTIAL.distribution.sf, share, EXPONENTIAL.median)
        assert mean / limit * (1 - math.exp(-limit / mean)) == pytest.approx(share, abs=1e-6)
        _, event = simulation.censored_sample(EXPONENTIAL, 20_000, limit, np.random.default_rng(SEED))
        assert 1 - event.mean() == pytest.approx(share, abs=MC_SE_MULTIPLE * math.sqrt(share * (1 - share) / 20_000))
    assert simulation.uniform_censoring_limit(EXPONENTIAL.distribution.sf, 0.0, EXPONENTIAL.median) == math.inf


def test_loglog_interval_covers_the_median_95_percent_of_the_time_in_large_samples() -> None:
    """300 patients, no censoring: the log-log Brookmeyer–Crowley interval's coverage is 95% within MC error."""
    replicates = 300
    settings = simulation.median_settings(EXPONENTIAL, sizes=(300,), shares=(0.0,))
    rows = simulation.median_experiment(EXPONENTIAL, settings, replicates, SEED, workers=None)
    summary = simulation.coverage_summary(rows, EXPONENTIAL.median).set_index("method")
    loglog = summary.loc[simulation.BC_LOGLOG]
    assert loglog["given"] == replicates and loglog["open_above"] == 0 and loglog["no_interval"] == 0
    tolerance = MC_SE_MULTIPLE * math.sqrt(0.95 * 0.05 / replicates)
    assert abs(loglog["coverage"] - simulation.NOMINAL_COVERAGE) <= tolerance


def test_proportional_hazards_times_reproduce_a_known_hazard_ratio() -> None:
    """Times simulated with HR e^0.7 for x = 1 give back β ≈ 0.7 when fitted on 2,000 patients."""
    beta = 0.7
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, 2, size=2_000).astype(float)
    model = simulation.TrueModel("log-logistic", stats.fisk(1.6, scale=22.0))
    time = simulation.proportional_hazards_times(np.exp(beta * x), model, rng)
    result = fit_cox(pd.DataFrame({"time": time, "event": 1, "x": x}), "time", "event", {"x": ("x", "0")})
    row = result.table.iloc[0]
    assert result.reliable
    assert abs(row["beta"] - beta) < MC_SE_MULTIPLE * row["se"]
    unit_risk = simulation.proportional_hazards_times(np.ones(2_000), model, rng)
    assert stats.kstest(unit_risk, model.distribution.cdf).pvalue > 0.001


# ---------------------------------------------------------------------------------------------- events per variable


def test_events_for_epv() -> None:
    """EPV × parameters, rounded, at least one and at most every patient."""
    assert simulation.events_for_epv(3, 7, 113) == 21
    assert simulation.events_for_epv(10, 7, 113) == 70
    assert simulation.events_for_epv(20, 7, 113) == 113
    assert simulation.events_for_epv(0.01, 7, 113) == 1


def test_cox_settings_expect_the_target_deaths(design: simulation.CoxDesign) -> None:
    """Each level's censoring limit gives the expected number of deaths; the study's own level is added."""
    settings = simulation.cox_settings(design, [3, 5], patients=113, study_events=98)
    assert [s.target_events for s in settings] == [21, 35, 98]
    survival_function = simulation.cohort_survival(design)
    for setting in settings:
        expected = setting.patients * (1 - simulation.censored_share(survival_function, setting.censoring_limit))
        assert expected == pytest.approx(setting.target_events, abs=1e-3)


def test_replicates_record_events_per_variable(design: simulation.CoxDesign) -> None:
    """The EPV of each fit is its deaths over the seven coefficients, and no warning escapes the fits."""
    settings = simulation.cox_settings(design, [3], patients=113)
    seeds = simulation.replicate_seeds(SEED, simulation.COX_STREAM, 1, 3)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = simulation.cox_replicates(settings[0], design, seeds, 0)
    fits = rows.drop_duplicates("replicate")
    estimated = rows.groupby("replicate")["beta"].apply(lambda b: int(b.notna().sum()))
    assert (fits["epv"].to_numpy() == fits["events"].to_numpy() / estimated.to_numpy()).all()
    assert len(design.log_hazard_ratios) == 7


def test_quiet_fit_counts_model_warnings_without_showing_them() -> None:
    """A group without deaths (separation) gives an unreliable fit and counted, caught ModelWarnings."""
    frame = pd.DataFrame({"time": [1.0, 2, 3, 4, 5, 6, 7, 8], "event": [1, 1, 1, 1, 0, 0, 0, 0],
                          "x": [1.0, 1, 1, 1, 0, 0, 0, 0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result, count = simulation.quiet_fit(frame, {"x": ("x", "0")})
    assert not result.reliable and count == len(result.problems) >= 1


# ---------------------------------------------------------------------------------------------- summaries


def test_coverage_summary_of_a_toy_input() -> None:
    """Truth 10: (8, 12) covers, (11, 15) misses, (9, open) covers, no interval is left out of coverage."""
    rows = pd.DataFrame({"censored_target": 0.3, "patients": 30, "method": "m", "replicate": range(4),
                         "censored": [0.2, 0.3, 0.4, 0.3], "estimate": [10.0, 13, 12, np.nan],
                         "lower": [8.0, 11, 9, np.nan], "upper": [12.0, 15, np.nan, np.nan]})
    row = simulation.coverage_summary(rows, truth=10.0).iloc[0]
    assert row["replicates"] == 4 and row["given"] == 3
    assert row["coverage"] == pytest.approx(2 / 3)
    assert row["mc_se"] == pytest.approx(math.sqrt(2 / 3 * 1 / 3 / 3))
    assert row["open_above"] == pytest.approx(0.25) and row["no_interval"] == pytest.approx(0.25)
    assert row["mean_width"] == pytest.approx(4.0)
    assert row["censored"] == pytest.approx(0.3)


def test_bias_summary_of_a_toy_input() -> None:
    """β = 0.5; reliable estimates 0.4, 0.6, 0.8 and one flagged fit at 5: errors −0.1, 0.1, 0.3."""
    beta = [0.4, 0.6, 0.8, 5.0]
    rows = pd.DataFrame({"target_events": 21, "covariate": "a", "replicate": range(4), "true_beta": 0.5,
                         "beta": beta, "se": [0.2, 0.2, 0.2, 50.0],
                         "lower": np.exp(np.array(beta) - 0.15), "upper": np.exp(np.array(beta) + 0.05),
                         "reliable": [True, True, True, False]})
    summary = simulation.bias_summary(rows).iloc[0]
    assert summary["fits"] == 3
    assert summary["mean_bias"] == pytest.approx(0.1)
    assert summary["median_bias"] == pytest.approx(0.1)
    assert summary["relative_bias"] == pytest.approx(20.0)
    assert summary["sd"] == pytest.approx(0.2)
    assert summary["mean_se"] == pytest.approx(0.2)
    assert summary["coverage"] == pytest.approx(1 / 3)  # only 0.6 has 0.5 within (β̂ − 0.15, β̂ + 0.05)
    everything = simulation.bias_summary(rows, reliable_only=False).iloc[0]
    assert everything["fits"] == 4 and everything["mean_bias"] == pytest.approx((-0.1 + 0.1 + 0.3 + 4.5) / 4)


def test_monte_carlo_standard_error_and_replicates() -> None:
    """√(p(1 − p)/R), and the R that gives a wanted SE."""
    assert simulation.mc_standard_error(0.95, 1900) == pytest.approx(0.005, rel=1e-3)
    assert simulation.monte_carlo_replicates(0.005) == 1900
    assert simulation.monte_carlo_replicates(0.01) == 475


# ---------------------------------------------------------------------------------------------- figures


@pytest.fixture
def figure_style():
    """The book's style on a non-interactive backend, every figure closed afterwards."""
    with matplotlib.rc_context():
        matplotlib.use("Agg")
        plots.use_book_style()
        yield
    plots.plt.close("all")


def test_coverage_plot_draws_each_method_in_each_panel(figure_style) -> None:
    """One panel per censoring level, one line per method, a marker per sample size, the nominal line."""
    summary = pd.DataFrame([{"censored_target": share, "patients": n, "method": method, "coverage": 0.9,
                             "mc_se": 0.02} for share in (0.0, 0.5) for n in (30, 100) for method in ("a", "b")])
    fig = plots.coverage_plot(summary, 0.95, 1.96)
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == ["no censoring", "about 50% censored"]
    for ax in axes:
        assert [container.get_label() for container in ax.containers] == ["a", "b"]
        assert all(np.allclose(container.lines[0].get_ydata(), 90.0) for container in ax.containers)
        assert any(np.allclose(line.get_ydata(), 95.0) for line in ax.get_lines())


def test_hazard_ratio_plot_tolerates_a_level_without_fits(figure_style) -> None:
    """A level whose fits were all flagged is an empty slot, not an error; the spare panel holds the legend."""
    rows = pd.DataFrame({"covariate": pd.Categorical(["a"] * 4 + ["b"] * 4), "target_events": [20] * 8,
                         "beta": [0.1, 0.2, 0.3, 0.4] * 2, "true_beta": 0.25})
    fig = plots.hazard_ratio_spread_plot(rows, {10: "EPV 1.0", 20: "EPV 2.0"}, ncols=3)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:2] == ["a", "b"] and fig.axes[2].get_legend() is not None


def test_a_level_without_usable_fits_is_shown_with_dashes(design: simulation.CoxDesign) -> None:
    """When every fit of a level is flagged, its averages are dashes in the table and in the sentence."""
    settings = simulation.cox_settings(design, [12], patients=113)
    rows = simulation.cox_experiment(design, settings, 2, SEED, workers=1)
    flagged = rows.assign(reliable=False)
    overview = simulation.epv_overview(flagged, simulation.bias_summary(flagged), 7)
    assert overview.iloc[0]["mean coverage (%)"] == simulation.MISSING_MARK
    assert overview.iloc[0]["flagged unreliable (%)"] == 100.0
    assert "cover the true hazard ratio — of the time" in simulation.epv_note(overview)

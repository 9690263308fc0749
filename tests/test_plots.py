"""The survival figures of aice_helpers.pages.plots: Kaplan–Meier with numbers at risk, grids, forest plots.

Checked on the hand data of tests/test_survival.py and the lung fixture: what is drawn (steps,
censor marks, medians, numbers at risk under the ticks, P values), and that a million patients
are drawn quickly with a bounded number of vertices and marks.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aice_helpers.pages import plots
from aice_helpers.stats import survival  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HAND_TIMES = [2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
HAND_EVENTS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0]  # 4+, 8+, 12+
MILLION = 1_000_000
MILLION_SECONDS = 20.0  # generous: about 3 s on an idle two-core machine


@pytest.fixture(autouse=True)
def book_style_and_cleanup():
    """The book's style for each test, then the previous settings back (other test modules see no change)."""
    with matplotlib.rc_context():
        plots.use_book_style()
        yield
    plt.close("all")


def lung_months() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lung = pd.read_csv(FIXTURES / "lung.csv")
    return (lung["time"].to_numpy(float) / 30.4375, (lung["status"] == 2).to_numpy(int), lung["sex"].to_numpy())


def risk_texts(risk_ax) -> list[tuple[float, float, str]]:
    """(x, row, text) of the numbers drawn in a numbers-at-risk axes (its title text left out)."""
    return [(t.get_position()[0], t.get_position()[1], t.get_text()) for t in risk_ax.texts
            if t.get_text() != "Number at risk"]


def test_km_tick_step():
    assert plots.km_tick_step(112.5) == 12
    assert plots.km_tick_step(144) == 12
    assert plots.km_tick_step(150) == 24
    assert plots.km_tick_step(112.5, max_ticks=6) == 24
    assert plots.km_tick_step(1000) == 120


def test_thinned_censor_marks_keep_the_first_of_each_bin():
    times = np.linspace(0.5, 99.5, 1000)
    shown_t, shown_s = plots.thinned_censor_marks(times, times / 100, 100.0, max_marks=10)
    assert len(shown_t) == 10
    np.testing.assert_allclose(shown_t, [times[times >= 10 * k][0] for k in range(10)])
    np.testing.assert_allclose(shown_s, shown_t / 100)
    few = plots.thinned_censor_marks(times[:5], times[:5], 100.0, max_marks=10)
    assert len(few[0]) == 5


def test_thinned_steps_sample_the_step_function():
    times = np.r_[0.0, np.arange(1, 10001, dtype=float)]
    values = np.r_[1.0, np.linspace(0.9999, 0.0, 10000)]
    grid, sampled = plots.thinned_steps(times, values, max_steps=101)
    assert len(grid) == 101 and grid[0] == 0 and grid[-1] == times[-1]
    for x, y in zip(grid, sampled):
        assert y == values[np.searchsorted(times, x, side="right") - 1]
    short = plots.thinned_steps(times[:50], values[:50], max_steps=101)
    assert len(short[0]) == 50


def test_km_curve_on_the_hand_data():
    curve = plots.km_curve(HAND_TIMES, HAND_EVENTS, "hand")
    assert (curve.n, curve.events, curve.median, curve.last_time) == (10, 7, 7.0, 12.0)
    assert curve.censor_times.tolist() == [4.0, 8.0, 12.0]
    assert curve.censor_survival.tolist() == pytest.approx([0.8, 16 / 35, 16 / 105])
    assert curve.times[0] == 0.0 and curve.survival[0] == 1.0
    assert curve.survival_at(6.5) == pytest.approx(4 / 7) and curve.survival_at(1.0) == 1.0
    assert np.isnan(curve.survival_at(13.0))
    table = survival.km_table(HAND_TIMES, HAND_EVENTS)
    lower, upper = survival.ci_bands(table["survival"].to_numpy(), table["greenwood"].to_numpy(), "log-log")
    np.testing.assert_allclose(curve.lower[1:], lower)
    np.testing.assert_allclose(curve.upper[1:], upper)


def test_km_plot_draws_what_it_says():
    time_, event, sex = lung_months()
    curves = {"men": (time_[sex == 1], event[sex == 1]), "women": (time_[sex == 2], event[sex == 2])}
    p = survival.logrank(time_, event, sex).p
    fig = plots.km_plot(curves, "Lung", xlabel="months", landmarks=[12], logrank_p=p)
    legend_ax, ax, risk_ax = fig.axes
    ticks = ax.get_xticks()
    assert ticks.tolist() == list(np.arange(0, 36 + 1, 12.0))  # 1022 days ≈ 33.6 months
    assert ax.get_ylabel() == "Survival probability" and ax.get_ylim() == (0, 1.03)
    expected = survival.numbers_at_risk(time_, sex, list(ticks))
    drawn = risk_texts(risk_ax)
    assert [(x, row) for x, row, _ in drawn] == [(t, r) for r in (0, 1) for t in ticks]  # aligned under the ticks
    assert [int(text) for _, _, text in drawn] == expected.loc[1].tolist() + expected.loc[2].tolist()
    assert [label.get_text() for label in risk_ax.get_yticklabels()] == ["men", "women"]
    legend = legend_ax.get_legend()
    assert legend.get_title().get_text() == f"Log-rank P = {p:.3f}"
    labels = [text.get_text() for text in legend.get_texts()]
    men_median = survival.median_spss(*curves["men"]).estimate
    assert labels[0] == f"men (n = 138; median {men_median:.1f} mo)" and labels[-1] == "censored"
    assert [t.get_text() for t in ax.texts] == [
        f"{100 * plots.km_curve(*curves[g]).survival_at(12):.1f}%" for g in curves]
    assert legend_ax.get_title(loc="left") == "Lung"


def test_km_plot_p_below_a_thousandth_and_median_not_reached():
    time_ = list(range(1, 11))
    event = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    fig = plots.km_plot({"few events": (time_, event)}, "t", logrank_p=1e-6)
    legend = fig.axes[0].get_legend()
    assert legend.get_title().get_text() == "Log-rank P < 0.001"
    assert legend.get_texts()[0].get_text() == "few events (n = 10; median not reached)"


def test_km_grid_panels():
    time_, event, sex = lung_months()
    panel = {"curves": {"men": (time_[sex == 1], event[sex == 1]), "women": (time_[sex == 2], event[sex == 2])},
             "title": "by sex", "logrank_p": 0.0013}
    fig = plots.km_grid([panel, panel, panel], ncols=2, title="Three panels")
    assert len(fig.axes) == 9
    main = fig.axes[1]
    assert main.get_xticks().tolist() == [0.0, 12.0, 24.0, 36.0]  # 33.6 months: at most 6 ticks, 12 apart
    assert fig.axes[0].get_title(loc="left") == "by sex"
    assert fig.axes[0].get_legend().get_title().get_text() == "Log-rank P = 0.001"


def test_km_plot_one_million_patients_is_fast_and_thinned():
    rng = np.random.default_rng(11)
    death = rng.exponential(20, MILLION)
    censor = rng.uniform(0, 110, MILLION)
    time_ = np.minimum(death, censor)
    event = (death <= censor).astype(int)
    group = rng.uniform(size=MILLION) < 0.5
    start = time.perf_counter()
    fig = plots.km_plot({"A": (time_[group], event[group]), "B": (time_[~group], event[~group])}, "a million",
                        logrank_p=1e-9)
    fig.canvas.draw()
    elapsed = time.perf_counter() - start
    assert elapsed < MILLION_SECONDS
    ax, risk_ax = fig.axes[1], fig.axes[2]
    lengths = sorted(len(line.get_xdata()) for line in ax.get_lines())
    assert max(lengths) <= plots.KM_MAX_STEPS
    markers = [line for line in ax.get_lines() if line.get_marker() == "|"]
    assert len(markers) == 2 and all(len(m.get_xdata()) <= plots.KM_MAX_CENSOR_MARKS for m in markers)
    first_column = [int(text) for x, _, text in risk_texts(risk_ax) if x == 0]
    assert first_column == [int(group.sum()), int((~group).sum())]


def test_forest_plot():
    table = pd.DataFrame({"label": ["reference", "b vs a", "c vs a", "failed"], "hr": [1.0, 1.7, 0.5, np.nan],
                          "lower": [np.nan, 1.1, 0.3, np.nan], "upper": [np.nan, 2.7, 0.8, np.nan],
                          "p": [np.nan, 0.014, 0.0004, np.nan]})
    fig = plots.forest_plot(table, "label", "hr", "lower", "upper", "p", title="HR")
    ax, right = fig.axes
    assert ax.get_xscale() == "log"
    squares = [line for line in ax.get_lines() if line.get_marker() == "s"]
    assert squares[0].get_xdata().tolist() == [1.7, 0.5] and squares[0].get_ydata().tolist() == [1, 2]
    reference = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert list(reference[0].get_xdata()) == [1.0, 1.0]
    assert [label.get_text() for label in ax.get_yticklabels()] == table["label"].tolist()
    values = [label.get_text() for label in right.get_yticklabels()]
    assert [v.rstrip() for v in values] == ["1 (reference)", "1.70 (1.10–2.70)   0.014",
                                            "0.50 (0.30–0.80)  <0.001", "not estimable"]
    assert {len(v) for v in values} == {24}  # monospace columns: P values right-aligned under 'P'
    assert right.get_ylim() == ax.get_ylim()
    header = right.texts[0].get_text()
    assert len(header) == 24 and header.startswith("HR (95% CI)") and header.endswith(" P")


def test_median_interval_plot_shows_the_four_intervals():
    fig = plots.median_interval_plot(HAND_TIMES, HAND_EVENTS, title="hand")
    ax, bars = fig.axes
    assert [label.get_text() for label in bars.get_yticklabels()] == [
        "SPSS: symmetric ± 1.96 SE", "Brookmeyer–Crowley, log band", "Brookmeyer–Crowley, log-log band",
        "Brookmeyer–Crowley, plain band"]
    spss = survival.median_spss(HAND_TIMES, HAND_EVENTS)
    assert bars.texts[0].get_text().strip() == f"{spss.lower:.1f}–{spss.upper:.1f}"


# ---------------------------------------------------------------------------------------------
# Figures on tiny or degenerate data: drawn, with a word on what is missing


def figure_texts(fig: plt.Figure) -> list[str]:
    """Every text drawn on the figure's axes."""
    return [text.get_text() for ax in fig.axes for text in ax.texts]


def test_km_plot_of_one_group_without_events():
    """The curve stays at 1; the legend says there were no events, and a missing log-rank P is said in words."""
    fig = plots.km_plot({"All patients": ([1.0, 2.0, 3.5], [0, 0, 0])}, "no events", logrank_p=float("nan"))
    fig.canvas.draw()
    legend_ax, ax, risk_ax = fig.axes
    legend = legend_ax.get_legend()
    assert legend.get_texts()[0].get_text() == "All patients (n = 3; no events)"
    assert legend.get_title().get_text() == "Log-rank test not possible (no events to compare)"
    steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
    assert set(steps[0].get_ydata()) == {1.0}
    assert [int(text) for x, _, text in risk_texts(risk_ax) if x == 0] == [3]


def test_km_grid_of_a_factor_with_a_single_group():
    panel = {"curves": {"IV": ([1.0, 2.0, 3.0], [1, 0, 1])}, "title": "Stage", "logrank_p": None}
    fig = plots.km_grid([panel, panel], ncols=2)
    fig.canvas.draw()
    assert fig.axes[0].get_legend().get_title().get_text() == ""
    assert fig.axes[0].get_legend().get_texts()[0].get_text().startswith("IV (n = 3; median")


def test_forest_plot_without_any_row_or_with_none_estimable():
    empty = pd.DataFrame(columns=["label", "hr", "lower", "upper", "p"])
    fig = plots.forest_plot(empty, "label", "hr", "lower", "upper", "p", title="nothing")
    fig.canvas.draw()
    assert figure_texts(fig) == [plots.NO_HAZARD_RATIOS]
    none = pd.DataFrame({"label": ["x vs y"], "hr": [np.nan], "lower": [np.nan], "upper": [np.nan], "p": [np.nan]})
    fig = plots.forest_plot(none, "label", "hr", "lower", "upper", "p")
    fig.canvas.draw()
    ax, right = fig.axes
    assert [len(line.get_xdata()) for line in ax.get_lines() if line.get_marker() == "s"] == [0]
    assert right.get_yticklabels()[0].get_text().rstrip() == "not estimable"


def test_forest_plot_of_models_marks_a_covariate_no_model_estimates():
    rows = pd.DataFrame({"model": ["a", "b", "a", "b"], "label": ["x", "x", "y", "y"], "hr": [1.5, 1.4, np.nan, np.nan],
                         "lower": [1.1, 1.0, np.nan, np.nan], "upper": [2.0, 2.1, np.nan, np.nan]})
    fig = plots.forest_plot_models(rows, title="models")
    fig.canvas.draw()
    assert figure_texts(fig) == [f" {plots.NOT_ESTIMABLE_TEXT} in any model"]
    assert figure_texts(plots.forest_plot_models(rows.iloc[:0], title="none")) == [plots.NO_HAZARD_RATIOS]


def test_median_interval_plot_when_the_median_is_not_reached():
    fig = plots.median_interval_plot([1.0, 2.0, 3.0, 4.0], [0, 0, 0, 0], title="not reached")
    fig.canvas.draw()
    assert plots.MEDIAN_NOT_REACHED_TEXT in figure_texts(fig)
    assert fig.axes[0].get_xlim() == (0.0, 4.0)  # no interval to zoom in on: the whole curve


def test_waterfall_plot_without_measured_lesions():
    cohort = pd.DataFrame({"best_pct_change": [np.nan, np.nan], "best_response": ["SD", "PD"], "new_lesion": [0, 1]})
    fig = plots.waterfall_plot(cohort)
    fig.canvas.draw()
    assert figure_texts(fig) == [plots.NO_MEASURED_LESIONS]


def test_worst_grade_bars_without_adverse_events():
    counts = pd.DataFrame(0, index=["Pain", "Pyrexia"], columns=list("ABCD"))
    fig = plots.worst_grade_bars(counts, n_patients=20)
    fig.canvas.draw()
    assert plots.NO_ADVERSE_EVENTS in figure_texts(fig)


@pytest.fixture(autouse=True)
def _plain_style():
    """Each figure test starts from the book's style on data that are not the synthetic cohort (an earlier
    test that opened a chapter on the book's data leaves the 'synthetic cohort' titles switched on)."""
    plots.use_book_style(synthetic=False)

"""Tests for aice_helpers.pages.response: counts, exact and Wilson intervals, subgroup association tests."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from conftest import verdicts_for
from scipy.stats import chi2, fisher_exact, norm

from aice_helpers.analyses import response as response_analyses
from aice_helpers.analyses.response import BEST_RESPONSE, response_by_subgroup
from aice_helpers.contract import RESPONSES
from aice_helpers.pages import response
from aice_helpers.pages.response import (
    TEST_PEARSON,
    disease_control_rate,
    objective_response_rate,
    response_counts,
)
from aice_helpers.paper import reproduce
from aice_helpers.stats import proportions
from aice_helpers.stats.proportions import (
    TEST_FISHER,
    TEST_FREEMAN_HALTON,
    TEST_FREEMAN_HALTON_MC,
    TEST_NOT_TESTABLE,
    association_test,
    count_r_by_2_tables,
    freeman_halton_exact_p,
    proportion_ci,
)

CR, PR, SD, PD = RESPONSES
PAPER_COUNTS = {CR: 0, PR: 42, SD: 44, PD: 27}
PAPER_TOLERANCE_PCT = 0.1 + 1e-9


def title_of(ax) -> str:
    """Return an axes' title wherever the book's style places it (left, centre or right)."""
    return " ".join(ax.get_title(loc=where) for where in ("left", "center", "right")).strip()


def cohort_with(counts: dict[str, int]) -> pd.DataFrame:
    """Return a cohort whose best responses have the given counts."""
    return pd.DataFrame({BEST_RESPONSE: [r for r, n in counts.items() for _ in range(n)]})


def cohort_from_table(table: list[list[int]], column: str = "factor") -> pd.DataFrame:
    """Return a cohort whose level x (responder, non-responder) table is ``table``."""
    rows = [(f"level_{i}", PR if responder else PD)
            for i, (yes, no) in enumerate(table)
            for responder, count in ((True, yes), (False, no)) for _ in range(count)]
    return pd.DataFrame(rows, columns=[column, BEST_RESPONSE])


def brute_force_r_by_2_p(table: np.ndarray) -> float:
    """Return the Freeman–Halton P by enumerating tables with itertools (independent check)."""
    rows, column_total = table.sum(axis=1), table[:, 0].sum()

    def probability(x: tuple[int, ...]) -> float:
        return math.prod(math.comb(int(n), k) for n, k in zip(rows, x)) / math.comb(int(rows.sum()), int(column_total))

    tables = [x for x in itertools.product(*(range(n + 1) for n in rows)) if sum(x) == column_total]
    observed = probability(tuple(table[:, 0]))
    return sum(p for p in map(probability, tables) if p <= observed * (1 + 1e-7))


def test_response_counts_show_all_levels_including_zero() -> None:
    table = response_counts(cohort_with(PAPER_COUNTS))
    assert list(table.index) == list(RESPONSES)
    assert table["n"].to_dict() == PAPER_COUNTS
    assert table.loc[CR, "percent"] == 0
    assert table.loc[SD, "percent"] == pytest.approx(38.9, abs=0.05)
    assert table["percent"].sum() == pytest.approx(100)


def test_response_counts_reject_values_outside_contract() -> None:
    with pytest.raises(ValueError):
        response_counts(pd.DataFrame({BEST_RESPONSE: [PR, "NE"]}))


@pytest.mark.parametrize(("rate", "successes", "lower", "upper"), [
    (objective_response_rate, 42, 28.3, 46.8),
    (disease_control_rate, 86, 67.1, 83.6),
])
def test_clopper_pearson_reproduces_paper(rate, successes, lower, upper) -> None:
    # to 0.1 (the notes' claim): the DCR lower limit is 67.17 %, printed 67.1 (truncated, not rounded)
    result = rate(cohort_with(PAPER_COUNTS), "clopper_pearson")
    assert (result.successes, result.n) == (successes, 113)
    assert 100 * result.lower == pytest.approx(lower, abs=PAPER_TOLERANCE_PCT)
    assert 100 * result.upper == pytest.approx(upper, abs=PAPER_TOLERANCE_PCT)
    assert result.method == "clopper_pearson"


def test_formatted_orr_matches_paper_text() -> None:
    assert objective_response_rate(cohort_with(PAPER_COUNTS)).formatted() == "37.2% (28.3–46.8)"


@pytest.mark.parametrize(("successes", "n", "alpha"), [(42, 113, 0.05), (86, 113, 0.05), (3, 20, 0.10)])
def test_wilson_matches_closed_form(successes: int, n: int, alpha: float) -> None:
    z = norm.ppf(1 - alpha / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    result = proportion_ci(successes, n, "wilson", alpha)
    assert result.estimate == pytest.approx(p)
    assert result.lower == pytest.approx(centre - half, rel=1e-10)
    assert result.upper == pytest.approx(centre + half, rel=1e-10)


def test_clopper_pearson_edge_counts_reach_zero_and_one() -> None:
    assert proportion_ci(0, 10).lower == 0
    assert proportion_ci(10, 10).upper == 1


@pytest.mark.parametrize(("successes", "n", "method"), [(5, 0, "wilson"), (11, 10, "wilson"), (1, 10, "wald")])
def test_proportion_ci_rejects_bad_input(successes: int, n: int, method: str) -> None:
    with pytest.raises(ValueError):
        proportion_ci(successes, n, method)  # type: ignore[arg-type]


def test_tea_tasting_uses_fisher_exact() -> None:
    result = association_test(np.array([[3, 1], [1, 3]]))
    assert result.test == TEST_FISHER
    assert result.p_value == pytest.approx(0.4857, abs=5e-5)
    assert math.isnan(result.chi2)


def test_large_counts_use_pearson_chi2_without_continuity_correction() -> None:
    table = np.array([[20, 30], [30, 20]])
    (a, b), (c, d) = table
    n = table.sum()
    closed_form = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    result = association_test(table)
    assert result.test == TEST_PEARSON
    assert result.chi2 == pytest.approx(closed_form) == pytest.approx(4.0)
    assert result.p_value == pytest.approx(chi2.sf(4.0, 1))
    assert result.min_expected == 25


def test_small_r_by_2_table_uses_exact_freeman_halton() -> None:
    table = np.array([[3, 5], [1, 9], [6, 2]])
    result = association_test(table)
    assert result.test == TEST_FREEMAN_HALTON
    assert result.p_value == pytest.approx(brute_force_r_by_2_p(table), rel=1e-9)


@pytest.mark.parametrize("table", [[[3, 1], [1, 3]], [[8, 2], [1, 5]], [[0, 4], [2, 1], [5, 5], [1, 0]]])
def test_freeman_halton_matches_brute_force_and_scipy_2x2(table: list[list[int]]) -> None:
    table = np.array(table)
    assert freeman_halton_exact_p(table) == pytest.approx(brute_force_r_by_2_p(table), rel=1e-9)
    if table.shape == (2, 2):
        assert freeman_halton_exact_p(table) == pytest.approx(fisher_exact(table).pvalue, rel=1e-9)


def test_count_r_by_2_tables_matches_enumeration() -> None:
    rows = np.array([3, 5, 2, 4])
    expected = sum(1 for x in itertools.product(*(range(n + 1) for n in rows)) if sum(x) == 6)
    assert count_r_by_2_tables(rows, 6) == expected


def test_monte_carlo_fallback_when_enumeration_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proportions, "MAX_EXACT_TABLES", 0)
    table = np.array([[3, 5], [1, 9], [6, 2]])
    result = association_test(table)
    assert result.test == TEST_FREEMAN_HALTON_MC
    assert result.p_value == pytest.approx(brute_force_r_by_2_p(table), abs=0.005)


@pytest.mark.parametrize("table", [[[3, 0], [4, 0]], [[3, 2]]])
def test_tables_without_variation_are_not_testable(table: list[list[int]]) -> None:
    result = association_test(np.array(table))
    assert result.test == TEST_NOT_TESTABLE
    assert math.isnan(result.p_value)


def test_response_by_subgroup_rows_and_tests() -> None:
    cohort = cohort_from_table([[20, 30], [30, 20]], column="size")
    cohort["sex_code"] = np.resize([0, 1], len(cohort))
    table = response_by_subgroup(cohort, {
        "Size": "size",
        "Odd row": lambda d: pd.Series(np.where(d.index % 2 == 1, "odd", "even"), index=d.index),
    })
    size = table[table["factor"] == "Size"].set_index("level")
    assert list(size.index) == ["level_0", "level_1"]
    assert size["n"].tolist() == [50, 50]
    assert size["responders"].tolist() == [20, 30]
    assert size["orr_pct"].tolist() == [40.0, 60.0]
    assert set(size["test"]) == {TEST_PEARSON}
    assert size["chi2"].iloc[0] == pytest.approx(4.0)
    assert size["p_value"].iloc[0] == pytest.approx(0.0455, abs=5e-5)
    assert table[table["factor"] == "Odd row"]["n"].sum() == 100


def test_response_by_subgroup_small_factor_uses_fisher_and_keeps_category_order() -> None:
    cohort = cohort_from_table([[3, 1], [1, 3]])
    order = ["level_1", "level_0"]
    table = response_by_subgroup(cohort, {"F": lambda d: pd.Categorical(d["factor"], categories=order)})
    assert table["level"].tolist() == order
    assert set(table["test"]) == {TEST_FISHER}
    assert table["p_value"].iloc[0] == pytest.approx(0.4857, abs=5e-5)


def test_response_by_subgroup_drops_patients_with_missing_level() -> None:
    cohort = cohort_from_table([[20, 30], [30, 20]])
    cohort.loc[:9, "factor"] = None
    table = response_by_subgroup(cohort, {"F": "factor"})
    assert table["n"].sum() == 90


# ----------------------------------------------------------------------------- the chapter's tables

def published_response() -> pd.DataFrame:
    """Return the paper's response numbers as load_published shows them."""
    from aice_helpers.published import load_published

    return load_published()


def response_verdicts(cohort: pd.DataFrame):
    """Return the one verdict on the paper's response numbers for a test cohort."""
    return verdicts_for(published_response(), cohort, reproduce.response_values)


def test_response_counts_with_published_are_exact_on_the_paper_counts() -> None:
    table = response.response_counts_with_published(cohort_with(PAPER_COUNTS), response_verdicts(cohort_with(PAPER_COUNTS)))
    assert table["n"].tolist() == [0, 42, 44, 27]
    assert table["percent"].tolist() == [0.0, 37.2, 38.9, 23.9]
    assert table["published n"].tolist() == [0, 42, 44, 27]
    assert set(table["status"]) == {"exact"}


def test_response_counts_with_published_flag_a_different_count() -> None:
    table = response.response_counts_with_published(cohort_with({CR: 0, PR: 40, SD: 46, PD: 27}), response_verdicts(cohort_with({CR: 0, PR: 40, SD: 46, PD: 27})))
    assert table.index.name == "response"
    assert table["status"].tolist() == ["exact", "outside tolerance", "outside tolerance", "exact"]
    assert table.loc["Partial response (PR)", "published n"] == 42


def test_rates_with_published_compare_only_the_papers_interval_method() -> None:
    table = response.rates_with_published(cohort_with(PAPER_COUNTS), response_verdicts(cohort_with(PAPER_COUNTS)))
    assert len(table) == 12
    assert table.index.names == ["rate", "interval", "statistic"]
    exact = table.xs("Clopper–Pearson (exact)", level="interval")
    assert exact.loc[("ORR", "lower limit"), "reproduced %"] == pytest.approx(28.26, abs=0.005)
    assert exact.loc[("DCR", "lower limit"), "reproduced %"] == pytest.approx(67.17, abs=0.005)
    # One status per published number: the DCR's lower limit 67.17 against a printed 67.1 makes it 'within'.
    assert exact.xs("DCR", level="rate")["status"].eq("within tolerance").all()
    assert exact.xs("ORR", level="rate")["status"].eq("exact").all()
    wilson = table.xs("Wilson score", level="interval")
    assert set(wilson["status"]) == {"not compared"}
    assert wilson.loc[("ORR", "lower limit"), "reproduced %"] == pytest.approx(28.82, abs=0.005)
    assert wilson.loc[("ORR", "lower limit"), "published"] == 28.3


def test_rates_with_published_estimate_has_no_tolerance() -> None:
    table = response.rates_with_published(cohort_with({CR: 0, PR: 43, SD: 43, PD: 27}), response_verdicts(cohort_with({CR: 0, PR: 43, SD: 43, PD: 27})))
    row = table.loc[("ORR", "Clopper–Pearson (exact)", "estimate")]
    assert row["reproduced %"] == pytest.approx(38.05, abs=0.005)
    assert row["status"] == "outside tolerance"


def test_interval_method_note_names_gaps_and_the_truncated_limit() -> None:
    note = response.interval_method_note(response.rates_with_published(cohort_with(PAPER_COUNTS), response_verdicts(cohort_with(PAPER_COUNTS))))
    assert "within 0.07 percentage points" in note
    assert "67.17% cut off after one decimal" in note
    assert "within 0.57 percentage points" in note and "beyond the tolerance" in note


def test_rates_table_widths_show_wilson_narrower() -> None:
    table = response.rates_table(cohort_with(PAPER_COUNTS))
    orr = table.loc["Objective response rate"]
    assert orr.loc["Clopper–Pearson (exact)", "width (points)"] == pytest.approx(18.50, abs=0.01)
    assert orr.loc["Wilson score", "width (points)"] == pytest.approx(17.55, abs=0.01)
    assert table["patients"].tolist() == [42, 42, 86, 86]


def test_postop_regimens_group_cuts_at_two() -> None:
    groups = response_analyses.postop_regimens_group(pd.DataFrame({"postop_regimens": [0, 1, 2, 5]}))
    assert list(groups) == ["0–1", "0–1", "≥2", "≥2"]
    assert list(groups.categories) == ["0–1", "≥2"]


def test_baseline_subgroup_factors_are_table1_plus_postop() -> None:
    from aice_helpers.study import TABLE1_CHARACTERISTICS

    factors = response_analyses.baseline_subgroup_factors()
    assert list(factors) == [c.label for c in TABLE1_CHARACTERISTICS] + [response_analyses.POSTOP_LABEL]


def test_subgroup_display_table_shows_test_once_per_factor() -> None:
    cohort = cohort_from_table([[20, 30], [30, 20]], column="size")
    table = response_by_subgroup(cohort, {"Size": "size", "Small": lambda d: pd.Series(
        np.where(d.index < 8, "a", "b"), index=d.index)})
    shown = response.subgroup_display_table(table)
    assert shown.index.names == ["factor", "level"]
    assert shown.loc[("Size", "level_0"), "P"] == "0.046"
    assert shown.loc[("Size", "level_1"), "P"] == "" and shown.loc[("Size", "level_1"), "test"] == ""
    assert shown.loc[("Size", "level_0"), "ORR %"] == 40.0
    assert shown["n"].sum() == 200


@pytest.mark.parametrize(("p", "text"), [(0.0004, "<0.001"), (0.0456, "0.046"), (1.0, "1.000"),
                                          (float("nan"), "–")])
def test_format_p_value(p: float, text: str) -> None:
    assert response.format_p_value(p) == text


def test_subgroup_tests_note_counts_significant_factors_and_chance() -> None:
    cohort = cohort_from_table([[20, 30], [30, 20]], column="size")
    cohort["flat"] = np.resize(["x", "y"], len(cohort))
    note = response.subgroup_tests_note(response_by_subgroup(cohort, {"Size": "size", "Flat": "flat"}))
    assert note.startswith("1 of the 2 factors tested reaches P < 0.05: Size (P = 0.046).")
    assert "0 of the 2 tests had an expected count below 5" in note
    assert "about 0.1 would fall below it by chance" in note


def test_missing_columns_and_note() -> None:
    frame = pd.DataFrame({"a": [1]})
    assert response.missing_columns(frame, ("a", "best_pct_change")) == ["best_pct_change"]
    assert response.missing_columns(None, ("session_month",)) == ["session_month"]
    note = response.missing_columns_note("waterfall plot", "aice_cohort.csv", ["best_pct_change"])
    assert "`best_pct_change`" in note and "`aice_cohort.csv`" in note and "left out" in note
    absent = response.missing_columns_note("swimmer plot", "aice_procedures.csv", [], absent_file=True)
    assert "does not have" in absent and "`aice_procedures.csv`" in absent


# ----------------------------------------------------------------------------- figures

@pytest.fixture()
def figure_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return a small cohort (6 PR, 5 SD, 4 PD incl. 1 new lesion) with survival and session months."""
    from aice_helpers.synthetic.extras import response_detail_columns, session_months

    cohort = cohort_with({PR: 6, SD: 5, PD: 4})
    n = len(cohort)
    cohort["patient_id"] = [f"p{i}" for i in range(n)]
    cohort["os_months"] = np.linspace(3, 40, n)
    cohort["os_event"] = np.resize([1, 0, 1], n)
    cohort["pfs_months"] = cohort["os_months"] * 0.6
    cohort["pfs_event"] = np.resize([1, 1, 0], n)
    cohort = cohort.merge(response_detail_columns(cohort, seed=1), on="patient_id")
    procedures = pd.DataFrame([(p, c) for i, p in enumerate(cohort["patient_id"]) for c in range(1, 2 + i % 3)],
                              columns=["patient_id", "cycle"])
    procedures["session_month"] = session_months(procedures, seed=1)
    return cohort, procedures


def bar_colours(ax) -> list[str]:
    """Return the hex colour of every bar drawn on the axes."""
    from matplotlib.colors import to_hex

    return [to_hex(patch.get_facecolor()) for patch in ax.patches]


def test_waterfall_draws_one_bar_per_patient_coloured_by_response(figure_data) -> None:
    from matplotlib.colors import to_hex

    from aice_helpers.pages import plots

    cohort, _ = figure_data
    fig = plots.waterfall_plot(cohort)
    ax = fig.axes[0]
    assert len(ax.patches) == 15
    colours = bar_colours(ax)
    expected = cohort.sort_values("best_pct_change", ascending=False, kind="stable")["best_response"]
    assert colours == [to_hex(plots.RESPONSE_COLOURS[r]) for r in expected]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == sorted(heights, reverse=True)
    levels = {line.get_ydata()[0] for line in ax.get_lines() if len(set(line.get_ydata())) == 1}
    assert {-30.0, 20.0, 0.0} <= levels
    assert "all 15 patients" in title_of(ax)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"partial response", "new lesion"}
    plots.plt.close(fig)


def test_waterfall_ignores_unmeasured_patients_and_reads_text_columns(figure_data) -> None:
    from aice_helpers.pages import plots

    cohort, _ = figure_data
    as_text = cohort.astype({"best_pct_change": str, "new_lesion": str})
    as_text.loc[0, "best_pct_change"] = ""
    fig = plots.waterfall_plot(as_text)
    assert len(fig.axes[0].patches) == 14
    plots.plt.close(fig)


def test_swimmer_draws_bars_sessions_and_end_markers(figure_data) -> None:
    from matplotlib.colors import to_hex

    from aice_helpers.pages import plots

    cohort, procedures = figure_data
    fig = plots.swimmer_plot(cohort, procedures)
    ax = fig.axes[0]
    assert len(ax.patches) == 15
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == sorted(cohort["os_months"])
    by_follow_up = cohort.sort_values("os_months", kind="stable")["best_response"]
    assert bar_colours(ax) == [to_hex(plots.RESPONSE_COLOURS[r]) for r in by_follow_up]
    sessions, progression, deaths, alive = (len(c.get_offsets()) for c in ax.collections)
    assert sessions == len(procedures)
    assert deaths == int(cohort["os_event"].sum()) and alive == int((cohort["os_event"] == 0).sum())
    assert progression == int(cohort["pfs_event"].sum())  # pfs < os here, so every event is a progression
    assert "all 15 patients" in title_of(ax)
    plots.plt.close(fig)


def test_swimmer_limits_patients_deterministically_and_says_so(figure_data) -> None:
    from aice_helpers.pages import plots

    cohort, procedures = figure_data
    first = plots.swimmer_plot(cohort, procedures, max_patients=5)
    again = plots.swimmer_plot(cohort, procedures, max_patients=5)
    widths = [p.get_width() for p in first.axes[0].patches]
    assert len(widths) == 5
    assert widths == [p.get_width() for p in again.axes[0].patches]
    assert widths[0] == cohort["os_months"].min() and widths[-1] == cohort["os_months"].max()
    assert "5 of 15 patients, evenly spaced by follow-up" in title_of(first.axes[0])
    plots.plt.close("all")


def test_figures_of_a_million_patients_draw_a_bounded_number_of_marks() -> None:
    from aice_helpers.pages import plots

    n = 1_000_000
    rng = np.random.default_rng(0)
    cohort = pd.DataFrame({
        "patient_id": np.arange(n).astype(str),
        "best_response": rng.choice(list(RESPONSES[1:]), size=n),
        "best_pct_change": rng.uniform(-90, 90, size=n).round(1),
        "new_lesion": rng.integers(0, 2, size=n),
        "os_months": rng.uniform(1, 100, size=n).round(1),
        "os_event": rng.integers(0, 2, size=n),
    })
    cohort["pfs_months"] = cohort["os_months"] / 2
    cohort["pfs_event"] = 1
    procedures = pd.DataFrame({"patient_id": np.repeat(cohort["patient_id"].to_numpy(), 2),
                               "cycle": np.tile([1, 2], n), "session_month": np.tile([0.0, 0.8], n)})
    waterfall = plots.waterfall_plot(cohort)
    assert len(waterfall.axes[0].patches) == plots.WATERFALL_MAX_BARS
    assert "400 of 1,000,000 patients" in title_of(waterfall.axes[0])
    swimmer = plots.swimmer_plot(cohort, procedures)
    ax = swimmer.axes[0]
    assert len(ax.patches) == plots.SWIMMER_MAX_PATIENTS
    assert sum(len(c.get_offsets()) for c in ax.collections) <= 5 * plots.SWIMMER_MAX_PATIENTS
    assert f"{plots.SWIMMER_MAX_PATIENTS} of 1,000,000 patients" in title_of(ax)
    plots.plt.close("all")


def test_evenly_spaced_positions_keep_both_ends() -> None:
    from aice_helpers.pages.plots import evenly_spaced_positions

    assert evenly_spaced_positions(10, 3).tolist() == [0, 4, 9]  # 4.5 rounds to even
    assert evenly_spaced_positions(3, 10).tolist() == [0, 1, 2]
    assert evenly_spaced_positions(5, None).tolist() == [0, 1, 2, 3, 4]


def test_missing_data_note_is_empty_when_the_figure_can_be_drawn() -> None:
    columns = ("session_month",)
    assert response.missing_data_note("swimmer plot", pd.DataFrame({"session_month": [0.0]}), "f.csv", columns) == ""
    assert "needs the file `f.csv`" in response.missing_data_note("swimmer plot", None, "f.csv", columns)
    assert "`session_month`" in response.missing_data_note("swimmer plot", pd.DataFrame({"x": [1]}), "f.csv", columns)


@pytest.mark.parametrize(("p", "text"), [(0.0004, "P < 0.001"), (0.0291, "P = 0.029")])
def test_p_value_phrase(p: float, text: str) -> None:
    assert response.p_value_phrase(p) == text


def test_subgroup_tests_note_when_no_factor_can_be_tested() -> None:
    """Without a single responder every table has an empty column: the note says so instead of '0 of 0'."""
    cohort = pd.DataFrame({"best_response": ["PD", "SD", "PD", "SD"], "size": ["a", "b", "a", "b"]})
    note = response.subgroup_tests_note(response_by_subgroup(cohort, {"Size": "size"}))
    assert note.startswith("No factor could be tested") and "0 of the 0" not in note


def test_missing_data_note_when_per_patient_figures_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rerun turns figures with one mark per patient off; the note says why, whatever the data holds."""
    monkeypatch.setenv(response.PER_PATIENT_FIGURES_ENV, "0")
    note = response.missing_data_note("swimmer plot", pd.DataFrame({"session_month": [0.0]}), "f.csv",
                                      response.SWIMMER_SESSION_COLUMNS)
    assert "one mark per patient" in note and "aggregates only" in note


# ----------------------------------------------------------------------------- no responder, every patient a responder


def test_rates_with_no_responder_and_with_every_patient_responding() -> None:
    """ORR 0/30 and 30/30: the exact limits are 0 and 1 − (α/2)^(1/n) (and their mirror), no failure."""
    none = response.rates_table(cohort_with({SD: 20, PD: 10}))
    orr = none.loc[("Objective response rate", "Clopper–Pearson (exact)")]
    assert (orr["patients"], orr["estimate %"], orr["lower %"]) == (0, 0.0, 0.0)
    assert orr["upper %"] == pytest.approx(round(100 * (1 - 0.025 ** (1 / 30)), 2))
    every = objective_response_rate(cohort_with({CR: 10, PR: 20}))
    assert (every.estimate, every.upper) == (1.0, 1.0)
    assert every.lower == pytest.approx(0.025 ** (1 / 30))
    assert disease_control_rate(cohort_with({CR: 10, PR: 20})).formatted() == "100.0% (88.4–100.0)"


def test_subgroups_when_every_patient_responds() -> None:
    """Every patient a responder: no factor can be tested, each test says 'not testable' and the note explains."""
    cohort = pd.DataFrame({BEST_RESPONSE: [CR, PR, PR, CR], "size": ["a", "b", "a", "b"]})
    table = response_by_subgroup(cohort, {"Size": "size"})
    assert table["test"].tolist() == [TEST_NOT_TESTABLE] * 2 and table["orr_pct"].tolist() == [100.0, 100.0]
    shown = response.subgroup_display_table(table)
    assert shown["P"].tolist() == ["–", ""]
    assert response.subgroup_tests_note(table).startswith("No factor could be tested")


def test_an_absent_level_is_left_out_of_the_subgroup_table() -> None:
    """A category with no patient (no one with ECOG 2–3) has no row, and a factor left with one level is not tested."""
    cohort = pd.DataFrame({BEST_RESPONSE: [PR, SD, PD, PR], "ecog": pd.Categorical(
        ["0–1"] * 4, categories=["0–1", "2–3"])})
    table = response_by_subgroup(cohort, {"ECOG": "ecog"})
    assert table["level"].tolist() == ["0–1"] and table["test"].tolist() == [TEST_NOT_TESTABLE]

"""The lab's full study as stored data (aice_helpers.analyses.simulation): resumable, identical to one run, read
back by the page with a check of its invented world; exact intervals where the MC SE formula gives 0."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from aice_helpers.analyses import simulation
from aice_helpers.data import Dataset

REPLICATIONS, COX_REPLICATIONS = 4, 2


@pytest.fixture(scope="module")
def stored(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A tiny full study run into a temporary folder, with its log."""
    folder = tmp_path_factory.mktemp("lab")
    log: list[str] = []
    simulation.run_full_study(dataset.cohort, folder, replications=REPLICATIONS, cox_replications=COX_REPLICATIONS,
                              workers=1, log=log.append)
    return folder, log


def test_stored_study_equals_one_uninterrupted_run(dataset: Dataset, stored) -> None:
    folder, _ = stored
    study = simulation.load_full_study(folder)
    cohort = dataset.cohort
    model = simulation.best_model(simulation.fitted_models(cohort["os_months"], cohort["os_event"]))
    settings = simulation.median_settings(model, simulation.FULL_SAMPLE_SIZES, simulation.FULL_CENSORED_SHARES)
    expected = simulation.median_experiment(model, settings, REPLICATIONS, simulation.DEFAULT_SEED, workers=1)
    pd.testing.assert_frame_equal(study.median_rows_for(model), expected, check_exact=False, rtol=1e-9)
    design = simulation.cox_design(cohort, model)
    levels = simulation.cox_settings(design, simulation.FULL_EPV_LEVELS, simulation.FULL_COX_PATIENTS,
                                     simulation.study_deaths(cohort))
    cox = simulation.cox_experiment(design, levels, COX_REPLICATIONS, simulation.DEFAULT_SEED, workers=1)
    pd.testing.assert_frame_equal(study.cox_rows_for(design), cox, check_exact=False, rtol=1e-9)
    assert study.replications == REPLICATIONS and study.cox_replications == COX_REPLICATIONS


def test_a_rerun_skips_what_is_stored_and_another_design_is_refused(dataset: Dataset, stored) -> None:
    folder, log = stored
    assert len([line for line in log if line.startswith("stored ")]) == 9 + 3
    again: list[str] = []
    simulation.run_full_study(dataset.cohort, folder, replications=REPLICATIONS, cox_replications=COX_REPLICATIONS,
                              workers=1, log=again.append)
    assert again and all(line.startswith("stored already") for line in again)
    with pytest.raises(ValueError, match="another design"):
        simulation.run_full_study(dataset.cohort, folder, replications=REPLICATIONS + 1,
                                  cox_replications=COX_REPLICATIONS, workers=1, log=again.append)


def test_a_stored_study_of_another_world_or_incomplete_is_a_clear_error(stored, tmp_path: Path) -> None:
    folder, _ = stored
    study = simulation.load_full_study(folder)
    other = simulation.TrueModel("exponential", stats.expon(scale=20.0))
    with pytest.raises(ValueError, match="another world"):
        study.median_rows_for(other)
    broken = tmp_path / "lab"
    (broken / simulation.MEDIAN_FOLDER).mkdir(parents=True)
    (broken / simulation.DESIGN_FILE).write_text(json.dumps(study.design))
    with pytest.raises(FileNotFoundError, match="incomplete.*make lab-study"):
        simulation.load_full_study(broken)
    with pytest.raises(FileNotFoundError, match="make lab-study"):
        simulation.load_full_study(tmp_path / "nothing")


def test_exact_interval_where_the_mc_se_formula_gives_zero() -> None:
    assert simulation.mc_standard_error(1.0, 2000) == 0.0
    lower, upper = simulation.exact_interval(2000, 2000)
    assert upper == 1.0 and lower == pytest.approx(0.025 ** (1 / 2000), rel=1e-12)  # Clopper–Pearson at k = n
    lower, upper = simulation.exact_interval(0, 25)
    assert lower == 0.0 and upper == pytest.approx(1 - 0.025 ** (1 / 25), rel=1e-12)
    result = stats.binomtest(90, 100).proportion_ci(confidence_level=0.95, method="exact")
    assert simulation.exact_interval(90, 100) == pytest.approx((result.low, result.high), rel=1e-12)
    assert all(math.isnan(v) for v in simulation.exact_interval(0, 0))


def test_coverage_table_shows_a_dash_not_zero_mc_se_at_100_percent() -> None:
    rows = pd.DataFrame({"patients": 30, "censored_target": 0.0, "replicate": range(25), "censored": 0.0,
                         "method": "m", "estimate": 10.0, "lower": 5.0, "upper": 15.0})
    summary = simulation.coverage_summary(rows, truth=10.0)
    table = simulation.coverage_table(summary)
    assert table["coverage (%)"].iloc[0] == 100.0
    assert table["± MC SE"].iloc[0] == simulation.MISSING_MARK
    assert table["exact 95% interval (%)"].iloc[0] == f"{100 * 0.025 ** (1 / 25):.1f}–100.0"
    note = simulation.complete_coverage_note(summary)
    assert "gives a Monte Carlo SE of 0" in note and f"at least {100 * 0.025 ** (1 / 25):.1f}%" in note

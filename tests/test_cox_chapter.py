"""aice_helpers.pages.cox_chapter: the tables of the multivariable Cox chapter.

Known values on hand-made data (codings, counts, ties, events per variable, reading a reference category);
consistency with the scorecard and with aice_helpers.stats.cox on the book's cohort (the same models, the same
statuses); the paper's own claims read from data/published (fixed numbers). The statistics underneath
(Cox fits, the proportional-hazards score test) are checked against R in tests/test_cox.py.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aice_helpers import study  # noqa: E402
from aice_helpers.contract import DATA_DIR  # noqa: E402
from aice_helpers.data import load_dataset  # noqa: E402
from aice_helpers.pages import cox_chapter as cc  # noqa: E402
from aice_helpers.pages import plots
from aice_helpers.paper import scorecard
from aice_helpers.published import load_published  # noqa: E402
from aice_helpers.stats import survival  # noqa: E402
from aice_helpers.stats.cox import (  # noqa: E402
    GLOBAL_TERM,
    NO_EVENTS_REASON,
    SEPARATION_REASON,
    SINGLE_VALUE_REASON,
    CoxResult,
    fit_cox,
    zph_score_test,
)

ENDPOINTS = ("os", "pfs")


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DATA_DIR, required=())


@pytest.fixture(scope="module")
def cohort(dataset) -> pd.DataFrame:
    return dataset.cohort


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return load_published()


@pytest.fixture(scope="module")
def screens(cohort) -> dict[str, pd.DataFrame]:
    return {endpoint: cc.univariable_screen(cohort, endpoint) for endpoint in ENDPOINTS}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def hand_cohort() -> pd.DataFrame:
    """Eight patients with the columns the Cox codings read; untied times, two of them at exactly 10 cm."""
    return pd.DataFrame({
        "max_diameter_cm": [4.0, 10.0, 12.0, 9.9, 10.0, 20.0, 6.0, 15.0],
        "distant_metastasis": [0, 0, 1, 1, 1, 1, 0, 1],
        "postop_regimens": [0, 1, 2, 3, 0, 1, 2, 5],
        "grade": ["G1", "G2", "G3", "G3", "G2", "G3", "G1", "G3"],
        "stage": ["III", "IV", "IV", "IV", "IV", "IV", "III", "IV"],
        "aice_cycles": [1, 2, 3, 1, 1, 2, 4, 1],
        "best_response": ["PR", "SD", "PD", "CR", "SD", "PR", "PD", "SD"],
        "nlr": [2.0, 3.0, 3.1, 5.0, 1.0, 4.0, 2.5, 3.5],
        "ecog": [1, 2, 2, 3, 2, 2, 2, 3],
        "os_months": [30.0, 12.0, 5.0, 8.0, 20.0, 3.0, 40.0, 9.0],
        "os_event": [0, 1, 1, 1, 1, 1, 0, 1],
        "pfs_months": [20.0, 6.0, 2.0, 4.0, 10.0, 2.5, 30.0, 7.0],
        "pfs_event": [1, 1, 1, 1, 1, 1, 0, 1],
    })


# ---------------------------------------------------------------------------------------------
# Codings and models


def test_paper_model_covariates_follow_tables_3_and_4():
    assert cc.paper_model_covariates("os") == ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade",
                                               "stage", "aice_cycles", "best_response")
    assert cc.paper_model_covariates("pfs") == ("nlr", *cc.paper_model_covariates("os"))


def test_covariate_columns_code_the_first_named_group_as_one():
    data = hand_cohort()
    assert cc.covariate_columns(data, "max_diameter_cm").iloc[:, 0].tolist() == [0, 1, 1, 0, 1, 1, 0, 1]  # ≥10 cm
    assert cc.covariate_columns(data, "postop_regimens").iloc[:, 0].tolist() == [1, 1, 0, 0, 1, 1, 0, 0]  # 0–1
    assert cc.covariate_columns(data, "aice_cycles").iloc[:, 0].tolist() == [1, 0, 0, 1, 1, 0, 0, 1]  # one cycle
    assert cc.covariate_columns(data, "best_response").iloc[:, 0].tolist() == [0, 1, 1, 0, 1, 0, 1, 1]  # SD+PD
    assert cc.covariate_columns(data, "nlr").iloc[:, 0].tolist() == [0, 0, 1, 1, 0, 1, 0, 1]  # >3
    np.testing.assert_allclose(cc.covariate_columns(data, cc.SIZE_PER_5CM).iloc[:, 0], data["max_diameter_cm"] / 5)
    ecog = cc.covariate_columns(data, "ecog")
    assert ecog.columns.tolist() == ["ECOG performance status 2–3 vs 0–1"]
    assert ecog.iloc[:, 0].tolist() == [0, 1, 1, 1, 1, 1, 1, 1]


def test_model_data_drops_rows_with_a_missing_value():
    data = hand_cohort()
    data.loc[0, "nlr"] = np.nan
    model = cc.model_data(data, "pfs", ("nlr", "stage"))
    assert len(model.frame) == 7
    assert list(model.frame.columns) == ["time", "event", "NLR >3 vs ≤3", "Stage IV vs III"]
    assert model.terms == {"nlr": ["NLR >3 vs ≤3"], "stage": ["Stage IV vs III"]}
    assert model.covariates["Stage IV vs III"] == ("Stage IV vs III", "III")


def test_each_model_is_fitted_once_for_the_chapter_and_its_scorecard(dataset, published, monkeypatch):
    """The chapter's Tables 3/4 and every verdict on them read one fit per model (no second route to a number)."""
    from aice_helpers.analyses import models

    calls = []
    fit = models.fit_cox
    monkeypatch.setattr(models, "fit_cox", lambda *args, **kwargs: calls.append(1) or fit(*args, **kwargs))
    models._FITS.clear()
    verdicts = scorecard.verdicts_of(dataset, published)
    for endpoint in ENDPOINTS:
        cc.cox_table_with_published(cc.paper_model(dataset.cohort, endpoint), endpoint, verdicts)
    assert len(calls) == len(ENDPOINTS)
    changed = dataset.cohort.assign(os_months=dataset.cohort["os_months"] + 1.0)  # other data: fitted again
    cc.paper_model(changed, "os")
    assert len(calls) == len(ENDPOINTS) + 1


def test_cox_table_layout(cohort):
    result = cc.paper_model(cohort, "os")
    table = cc.cox_table(result)
    assert list(table.columns) == ["β", "HR", "95% CI", "P"]
    assert table.index.name == "Characteristics"
    assert table.index.tolist() == [cc.PAPER_LABELS[k] for k in cc.paper_model_covariates("os")]
    first = result.table.iloc[0]
    assert table.iloc[0]["β"] == f"{first['beta']:.3f}"
    assert table.iloc[0]["95% CI"] == f"{first['lower']:.2f}–{first['upper']:.2f}"
    assert table.iloc[0]["P"] == survival.format_p_value(first["p"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_comparison_statuses_are_the_scorecards(dataset, published, endpoint):
    verdicts = scorecard.verdicts_of(dataset, published)
    comparison = cc.cox_table_with_published(cc.paper_model(dataset.cohort, endpoint), endpoint, verdicts)
    table_id = cc.ENDPOINT_TABLES[endpoint]
    card = scorecard.scorecard_table(dataset, published, sections=[table_id]).set_index("id")
    assert len(comparison) == 3 * len(cc.paper_model_covariates(endpoint))
    for entry_id, status in zip(comparison["id"], comparison["status"]):
        assert status == card.at[entry_id, "status"], entry_id
    for entry_id in comparison["id"]:
        if entry_id in verdicts.contradicted:
            assert comparison.set_index("id").at[entry_id, "status"] == scorecard.STATUS_CONTRADICTED


def test_published_text_as_printed(published):
    entries = scorecard.published_entries(published)
    assert cc._published_text(entries["table3.distant_metastasis.hr"], "") == "4.4 (2.3–8.7)"
    assert cc._published_text(entries["table3.distant_metastasis.p"], "P") == "<0.001"
    assert cc._published_text(entries["table3.stage.beta"], "β") == "0.73"
    assert cc._published_text(None, "β") == "—"


def test_comparison_note_explains_the_statuses(dataset, published):
    verdicts = scorecard.verdicts_of(dataset, published)
    model = cc.paper_model(dataset.cohort, "os")
    comparison = cc.cox_table_with_published(model, "os", verdicts)
    note = cc.comparison_note(comparison, model, verdicts)
    if (comparison["status"] == scorecard.STATUS_CONTRADICTED).any():
        assert "Contradicted by the paper" in note
    everything_fine = comparison.assign(status=scorecard.STATUS_WITHIN)
    assert cc.comparison_note(everything_fine, model, verdicts).startswith("Every number")


def test_size_cut_note_counts_tumours_of_exactly_ten_cm():
    assert "2 patients measure exactly 10 cm" in cc.size_cut_note(hand_cohort())
    assert "No patient" in cc.size_cut_note(hand_cohort().assign(max_diameter_cm=5.0))


# ---------------------------------------------------------------------------------------------
# The model-building rule


def test_univariable_screen_matches_the_tests(cohort, screens):
    screen = screens["os"].set_index("key")
    assert screen.index.tolist() == list(cc.CANDIDATES)
    time, event = cohort["os_months"], cohort["os_event"]
    metastasis = cohort["distant_metastasis"].to_numpy()
    assert screen.at["distant_metastasis", "logrank_p"] == pytest.approx(survival.logrank(time, event, metastasis).p)
    single = fit_cox(cohort.assign(m=metastasis), "os_months", "os_event", {"m": ("m", "no")})
    assert screen.at["distant_metastasis", "wald_p"] == pytest.approx(single.table["p"].iloc[0], rel=1e-9)
    sites = cohort["tumor_site"].nunique()
    assert screen.at["tumor_site", "parameters"] == sites - 1
    assert math.isnan(screen.at["tumor_site", "wald_p"])
    assert screen.at["tumor_site", "logrank_p"] == pytest.approx(survival.logrank(time, event,
                                                                                  cohort["tumor_site"]).p)


def test_selected_covariates_by_threshold():
    screen = pd.DataFrame({"key": ["a", "b", "c"], "parameters": [1, 1, 3],
                           "logrank_p": [0.01, 0.049, 0.03], "wald_p": [0.02, 0.06, math.nan]})
    assert cc.selected_covariates(screen) == ("a", "b", "c")
    assert cc.selected_covariates(screen, test=cc.WALD) == ("a", "c")  # no Wald P: the log-rank P decides
    assert cc.selected_covariates(screen, threshold=0.02) == ("a",)


def test_selection_table_and_rule_models(cohort, screens):
    table = cc.selection_by_univariable_rule(screens)
    assert table.shape == (len(cc.CANDIDATES), 8)
    metastasis = cc.PAPER_LABELS["distant_metastasis"]
    assert table.at[metastasis, "OS: Table 3"] == "yes" and table.at[metastasis, "PFS: Table 4"] == "yes"
    assert table.at["Age (years) >35 vs ≤35", "OS: Table 3"] == "no"
    models = cc.rule_models(cohort, screens)
    for endpoint, result in models.items():
        chosen = cc.selected_covariates(screens[endpoint])
        expected_rows = sum(len(cc.covariate_columns(cohort, key).columns) for key in chosen)
        assert len(result.table) == expected_rows
        rule_column = table[f"{'OS' if endpoint == 'os' else 'PFS'}: rule"]
        assert (rule_column == "yes").sum() == len(chosen)
    assert "candidates reach P < 0.05" in cc.rule_note(cohort, screens)


def test_paper_rule_check_reads_the_papers_claims(published):
    check = cc.paper_rule_check(published)
    nlr = check.loc[cc.PAPER_LABELS["nlr"]]
    assert (nlr["OS: called significant"], nlr["OS: in Table 3"]) == ("yes", "no")  # the abstract names NLR
    assert (nlr["PFS: called significant"], nlr["PFS: in Table 4"]) == ("yes", "yes")
    assert nlr["follows the rule"] == "no"
    others = check.drop(index=cc.PAPER_LABELS["nlr"])
    assert (others["follows the rule"] == "yes").all()
    claims = cc.multivariable_claim_check(published)
    stage = claims.loc[cc.PAPER_LABELS["stage"]]
    assert (stage["printed P"], stage["P < 0.05 in the table"], stage["named in the abstract"]) == ("0.005", "yes",
                                                                                                    "no")
    assert claims.loc[cc.PAPER_LABELS["aice_cycles"], "P < 0.05 in the table"] == "no"
    note = cc.paper_rule_note(check, claims)
    assert "on *NLR >3 vs ≤3*, the abstract calls it significant for OS, but Table 3 leaves it out" in note
    assert "leaves out *Stage IV vs III*" in note


def test_small_group_note_names_tiny_groups():
    data = hand_cohort()
    screens = {"os": pd.DataFrame({"key": ["ecog"], "parameters": [1], "logrank_p": [0.01], "wald_p": [0.01]})}
    result = cc.fit_model(data, "os", ["ecog"])  # one censored patient in the reference group: separation
    assert not result.reliable
    note = cc.small_group_note(data, screens, {"os": result})
    assert "its 0–1 group has only 1 patient; there its hazard ratio is not estimable" in note
    assert cc.small_group_note(data, {"os": screens["os"].assign(logrank_p=0.5)}, {"os": result}) == ""


# ---------------------------------------------------------------------------------------------
# Proportional hazards


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_ph_test_table_uses_the_score_test(cohort, endpoint):
    table = cc.ph_test_table(cohort, endpoint)
    keys = cc.paper_model_covariates(endpoint)
    assert table.index.tolist() == [cc.PAPER_LABELS[k] for k in keys] + ["all covariates (global)"]
    assert list(table.columns) == list(cc.PH_COLUMNS)
    data = cc.model_data(cohort, endpoint, keys)
    columns = [cc.PAPER_LABELS[k] for k in keys]
    beta = cc.paper_model(cohort, endpoint).table["beta"].to_numpy()
    direct = zph_score_test(data.frame["time"], data.frame["event"], data.frame[columns], beta, "breslow", "km")
    assert table[cc.PH_COLUMNS[0]].tolist() == direct["chisq"].round(2).tolist()
    assert table.iloc[-1][cc.PH_COLUMNS[1]] == survival.format_p_value(direct.at[GLOBAL_TERM, "p"])
    assert table.iloc[-1][cc.PH_COLUMNS[3]] == "–"  # lifelines has no global test
    p_values = cc.ph_p_values(table)
    assert set(p_values) == set(columns) and all(0 <= p <= 1 for p in p_values.values())
    assert study.ENDPOINTS[endpoint].short in cc.ph_note({endpoint: table})


def test_ph_tools_on_a_model_that_cannot_be_fitted():
    """A covariate with one value leaves nothing to test: empty tables and a figure that says so."""
    data = hand_cohort().assign(stage="IV")
    table = cc.ph_test_table(data, "os", ("stage",))
    assert table.empty and "nothing to test" in cc.ph_note({"os": table})
    frame = cc.schoenfeld_frame(data, "os", ("stage",), model_keys=("stage",))
    assert frame.empty
    assert len(plots.schoenfeld_plot(frame).axes) == 1


def test_schoenfeld_frame_for_the_plot(cohort):
    frame = cc.schoenfeld_frame(cohort, "os")
    events = int(cohort["os_event"].sum())
    assert frame["covariate"].value_counts().tolist() == [events] * len(cc.MAIN_COVARIATES)
    betas = cc.paper_model(cohort, "os").table.set_index("label")["beta"]
    for covariate, part in frame.groupby("covariate"):
        assert part["beta"].iloc[0] == pytest.approx(betas[covariate])
        assert np.isfinite(part["g"]).all() and (part["variance"] > 0).all()
    figure = plots.schoenfeld_plot(frame, title="OS", p_values={c: 0.5 for c in frame["covariate"].unique()})
    assert len([ax for ax in figure.axes if ax.axison]) == len(cc.MAIN_COVARIATES)


# ---------------------------------------------------------------------------------------------
# Events per variable, concordance, stage and metastasis


def fake_result(events: int, parameters: int, concordance: float = 0.7) -> CoxResult:
    table = pd.DataFrame({"label": [f"x{i}" for i in range(parameters)], "beta": [0.1] * parameters,
                          "hr": [math.exp(0.1)] * parameters, "lower": [0.9] * parameters,
                          "upper": [1.3] * parameters, "p": [0.3] * parameters})
    return CoxResult(table=table, concordance=concordance, n=100, events=events, log_likelihood=-1.0,
                     ties="breslow", engine="test")


def test_events_per_variable_and_summary():
    assert cc.events_per_variable(fake_result(30, 3)) == 10
    summary = cc.model_summary({"ten": fake_result(30, 3), "few": fake_result(20, 4, 0.65)})
    assert summary.loc["ten", "events per parameter"] == "10.0" and summary.loc["ten", "≥10 per parameter"] == "yes"
    assert summary.loc["few", "≥10 per parameter"] == "no" and summary.loc["few", "Harrell's C"] == "0.650"
    assert "The lowest ratio is 5.0 events per parameter, in the model “few”" in cc.epv_note(
        summary, pd.DataFrame({"events per screened parameter": ["4.2"]}))


def test_screening_summary(cohort, screens):
    summary = cc.screening_summary(screens, cohort)
    parameters = int(screens["os"]["parameters"].sum())
    assert summary.loc["OS", "parameters screened"] == parameters
    assert summary.loc["OS", "events per screened parameter"] == f"{cohort['os_event'].sum() / parameters:.1f}"


def test_overlap_tables_by_hand():
    data = hand_cohort()
    table = cc.stage_metastasis_overlap(data)
    assert table.loc["Stage III", "no metastasis"] == 2 and table.loc["Stage III", "metastasis"] == 0
    assert table.loc["Stage IV", "metastasis"] == 5 and table.loc["all", "all"] == 8
    cells = cc.overlap_cells(data)
    assert cells.loc["metastasis, stage III", "patients"] == 0
    assert cells.loc["no metastasis, stage IV", "OS deaths"] == 1
    assert cells["patients"].sum() == 8


def test_stage_standard_error_grows_with_metastasis_in_the_model(cohort, published):
    table = cc.stage_coefficient_se(cohort)
    for short in ("OS", "PFS"):
        both, alone = table.loc[(short, "paper's model (both)")], table.loc[(short, "metastasis left out")]
        assert float(both["stage SE"]) > float(alone["stage SE"])
        assert table.loc[(short, "stage left out"), "stage SE"] == "–"
    note = cc.stage_note(table, cc.overlap_cells(cohort), published)
    assert "√(1/11 + 1/8) = 0.46" in note  # the paper's Table 1: 11 stage III, 19 without metastasis
    assert "implies an SE of 0.23" in note  # Table 3: 1.3–3.2
    assert "Table 1" not in cc.stage_note(table, cc.overlap_cells(cohort), published, compare=False)


def test_required_beta():
    assert cc.required_beta(0.5) == pytest.approx(0.97998, rel=1e-4)


# ---------------------------------------------------------------------------------------------
# Ties and sensitivity


def test_ties_summary_by_hand():
    data = hand_cohort().assign(os_months=[30.0, 12.0, 12.0, 8.0, 12.0, 3.0, 40.0, 8.0])
    summary = cc.ties_summary(data)
    assert summary.index.tolist() == ["OS", "PFS"]
    os_row = summary.loc["OS"]
    assert (os_row["events"], os_row["distinct event times"], os_row["events sharing their time"],
            os_row["most events at one time"]) == (6, 3, 5, 3)


def test_ties_comparison_agrees_without_ties():
    """With untied event times Breslow and Efron are the same likelihood."""
    data = hand_cohort()
    table = cc.ties_comparison(data, "os", ("max_diameter_cm",))
    assert table["Efron − Breslow"].abs().max() < 1e-6
    assert table.index.name == "covariate"


def test_sensitivity_models(cohort):
    os_models = cc.sensitivity_models(cohort, "os")
    assert list(os_models) == [cc.MODEL_AS_PUBLISHED, cc.MODEL_NLR_ADDED, cc.MODEL_SIZE_CONTINUOUS,
                               cc.MODEL_STAGE_DROPPED, cc.MODEL_EFRON]
    assert cc.PAPER_LABELS["nlr"] in os_models[cc.MODEL_NLR_ADDED].table["label"].tolist()
    assert cc.CONTINUOUS_LABELS[cc.SIZE_PER_5CM] in os_models[cc.MODEL_SIZE_CONTINUOUS].table["label"].tolist()
    assert cc.PAPER_LABELS["stage"] not in os_models[cc.MODEL_STAGE_DROPPED].table["label"].tolist()
    assert os_models[cc.MODEL_EFRON].ties == "efron"
    assert cc.MODEL_NLR_DROPPED in cc.sensitivity_models(cohort, "pfs")
    table = cc.sensitivity_table(os_models)
    assert list(table.columns) == list(os_models)
    assert table.index[-2:].tolist() == ["events per parameter", "Harrell's C"]
    assert table.at[cc.PAPER_LABELS["stage"], cc.MODEL_STAGE_DROPPED] == ""
    rows = cc.sensitivity_forest_rows(os_models)
    assert len(rows) == sum(len(result.table) for result in os_models.values())
    assert list(rows["model"].cat.categories) == list(os_models)
    figure = plots.forest_plot_models(rows, title="OS")
    assert len(figure.axes) == 1
    assert [text.get_text() for text in figure.legends[0].get_texts()] == list(os_models)
    assert "**OS, NLR added**" in cc.sensitivity_note({"os": os_models})


def test_size_per_5cm_is_five_times_the_per_cm_coefficient(cohort):
    per_5 = cc.fit_model(cohort, "os", (cc.SIZE_PER_5CM,)).table["beta"].iloc[0]
    per_cm = fit_cox(cohort, "os_months", "os_event", {"size": ("max_diameter_cm", "per cm")}).table["beta"].iloc[0]
    assert per_5 == pytest.approx(5 * per_cm, rel=1e-8)


# ---------------------------------------------------------------------------------------------
# Reading the results


def test_widest_significant_interval():
    narrow = fake_result(50, 1)
    narrow.table.loc[0, ["hr", "lower", "upper", "p"]] = [2.0, 1.5, 2.67, 0.001]
    wide = fake_result(50, 2)
    wide.table.loc[1, ["label", "hr", "lower", "upper", "p"]] = ["wide", 3.0, 1.1, 8.2, 0.03]
    best = cc.widest_significant_interval({"a": narrow, "b": wide})
    assert (best["model"], best["label"]) == ("b", "wide")
    assert best["width"] == pytest.approx(8.2 / 1.1)
    assert "No hazard ratio" in cc.wide_interval_note({"c": fake_result(10, 2)})


def test_reference_note_turns_the_ratio_round():
    result = fake_result(50, 1)
    result.table.loc[0, ["label", "hr", "lower", "upper", "p"]] = [cc.PAPER_LABELS["postop_regimens"], 2.5, 1.25,
                                                                    5.0, 0.01]
    note = cc.reference_note(result)
    assert "the 0–1 group dies at 2.50 times the rate of the ≥2 group" in note
    assert "1/2.50 = 0.40 with the interval 0.20–0.80" in note


def test_model_problems_note():
    note = cc.model_problems_note({"a": fake_result(10, 1)})
    assert note == "Every model of this chapter converged without a warning."
    troubled = CoxResult(table=fake_result(10, 1).table, concordance=0.5, n=10, events=1, log_likelihood=-1,
                         ties="breslow", engine="test", reliable=False, problems=("separation",))
    assert "- b: separation" in cc.model_problems_note({"b": troubled})


def test_p_phrase():
    assert cc.p_phrase(0.0004) == "P < 0.001"
    assert cc.p_phrase(0.0342) == "P = 0.034"
    assert cc.p_phrase(math.nan) == "P not available"


def test_stage_note_when_stage_has_a_single_level(cohort, published):
    """Every patient stage IV: no stage coefficient to estimate, a sentence saying so instead of a crash."""
    all_iv = cohort.assign(stage=pd.Categorical(["IV"] * len(cohort), categories=["III", "IV"]))
    se_table = cc.stage_coefficient_se(all_iv)
    note = cc.stage_note(se_table, cc.overlap_cells(all_iv), published, compare=False)
    assert "cannot estimate a stage coefficient" in note


def test_lifelines_ph_test_on_vectorised_residuals_is_lifelines_own(cohort):
    """The residuals passed to lifelines' proportional_hazard_test give the P it computes itself."""
    from lifelines.statistics import proportional_hazard_test

    data = cc.model_data(cohort, "pfs", cc.paper_model_covariates("pfs"))
    columns = [column for terms in data.terms.values() for column in terms]
    frame = data.frame[[cc.TIME, cc.EVENT, *columns]]
    fitter = cc._lifelines_fit(frame)
    for transform in ("rank", "km"):
        own = proportional_hazard_test(fitter, frame, time_transform=transform)
        ours = proportional_hazard_test(fitter, frame, time_transform=transform,
                                        precomputed_residuals=cc.lifelines_scaled_residuals(fitter, frame))
        np.testing.assert_allclose(ours.p_value, own.p_value, rtol=1e-8)


def test_lowess_delta_is_exact_for_the_books_cohort_and_coarse_at_scale():
    """Every death gets its own local fit up to LOWESS_EXACT_POINTS; beyond, fits 1% of the range apart."""
    assert cc.lowess_delta(np.linspace(0.0, 100.0, 200)) == 0.0
    assert cc.lowess_delta(np.linspace(0.0, 100.0, cc.LOWESS_EXACT_POINTS + 1)) == pytest.approx(1.0)


def test_indicator_groups_number_each_combination():
    """Rows with the same indicators share a group; different rows do not."""
    groups = cc.indicator_groups(pd.DataFrame({"a": [0, 1, 0, 1, 0], "b": [0, 0, 1, 0, 0]}))
    assert groups[0] == groups[4] and groups[1] == groups[3] and len(set(groups)) == 3


# ---------------------------------------------------------------------------------------------
# Degenerate cohorts: every function of the chapter returns a result that says what cannot be estimated

TEMPLATE = DATA_DIR / "template"


@pytest.fixture(scope="module")
def template_cohort() -> pd.DataFrame:
    """The three made-up patients of data/template: every model is singular."""
    return load_dataset(TEMPLATE, required=()).cohort


def test_the_template_cohort_runs_through_every_table_and_note(template_cohort, published):
    """Three patients: no coefficient anywhere, and each table and note says so instead of failing (KeyError: nan)."""
    cohort = template_cohort
    os_model, pfs_model = cc.paper_model(cohort, "os"), cc.paper_model(cohort, "pfs")
    assert set(os_model.not_estimable) == set(os_model.table["label"])
    assert (cc.cox_table(os_model)["HR"] == cc.NOT_ESTIMABLE).all()
    assert cc.not_estimable_note(os_model, "Table 3 model").startswith(
        "No hazard ratio of the Table 3 model can be estimated from this data: the fit failed because its "
        "information matrix is singular")
    assert cc.reference_note(os_model) == "" and cc.forest_rows(os_model)["hr"].isna().all()
    summary = cc.model_summary({"Table 3 (OS)": os_model, "Table 4 (PFS)": pfs_model})
    assert summary["events per parameter"].tolist() == ["–", "–"] and summary["Harrell's C"].tolist() == ["–", "–"]
    screens = {endpoint: cc.univariable_screen(cohort, endpoint) for endpoint in ENDPOINTS}
    assert "Age (years) (a single group here)" in screens["os"]["covariate"].tolist()
    epv = cc.epv_note(summary, cc.screening_summary(screens, cohort))
    assert "No coefficient could be estimated in “Table 3 (OS)” and “Table 4 (PFS)”" in epv
    ph = {endpoint: cc.ph_test_table(cohort, endpoint) for endpoint in ENDPOINTS}
    assert all(table.empty for table in ph.values())
    assert cc.ph_note(ph) == ("For OS no coefficient could be estimated, so there is nothing to test. For PFS no "
                              "coefficient could be estimated, so there is nothing to test.")
    assert cc.schoenfeld_frame(cohort, "os").empty
    se_table = cc.stage_coefficient_se(cohort)
    assert (se_table["stage SE"] == "–").all()
    assert "cannot estimate a stage coefficient" in cc.stage_note(se_table, cc.overlap_cells(cohort), published,
                                                                  compare=False)
    ties = {endpoint: cc.ties_comparison(cohort, endpoint) for endpoint in ENDPOINTS}
    assert "For OS neither method can estimate any coefficient" in cc.ties_note(ties, cc.ties_summary(cohort))
    sensitivity = {endpoint: cc.sensitivity_models(cohort, endpoint) for endpoint in ENDPOINTS}
    table = cc.sensitivity_table(sensitivity["os"])
    assert table.at[cc.PAPER_LABELS["grade"], cc.MODEL_AS_PUBLISHED] == cc.NOT_ESTIMABLE
    assert table.at[cc.PAPER_LABELS["stage"], cc.MODEL_STAGE_DROPPED] == ""
    assert ("- **OS, Efron ties**: no hazard ratio can be estimated in either model, so there is nothing to "
            "compare.") in cc.sensitivity_note(sensitivity)
    assert cc.wide_interval_note({"Table 3 model": os_model}) == "No hazard ratio of these models reaches P < 0.05."
    figure = plots.forest_plot_models(cc.sensitivity_forest_rows(sensitivity["os"]), title="OS")
    assert "not estimable in any model" in " ".join(text.get_text() for text in figure.axes[0].texts)


def test_separation_is_not_estimable_and_the_other_rows_are_kept():
    """Only the metastatic patients die: metastasis separates, stage (which coincides with it) is flat."""
    data = hand_cohort()
    data = pd.concat([data] * 3, ignore_index=True).assign(os_months=lambda f: f["os_months"] + np.arange(len(f)))
    data["os_event"] = data["distant_metastasis"].astype(int)
    result = cc.fit_model(data, "os", ("distant_metastasis", "max_diameter_cm"))
    metastasis = cc.PAPER_LABELS["distant_metastasis"]
    assert result.not_estimable == {metastasis: SEPARATION_REASON}
    shown = cc.cox_table(result)
    assert shown.at[metastasis, "HR"] == cc.NOT_ESTIMABLE and shown.at[metastasis, "P"] == "–"
    assert shown.at[cc.PAPER_LABELS["max_diameter_cm"], "HR"] != cc.NOT_ESTIMABLE
    note = cc.not_estimable_note(result, "OS model")
    assert note.startswith(f"Some hazard ratios of the OS model cannot be estimated from this data and show "
                           f"\"not estimable\": *{metastasis}* (the events fall so unevenly between its groups")
    assert "there is no finite estimate (separation))" in note
    assert note.endswith("The other rows are estimated as usual.")
    assert math.isnan(cc.forest_rows(result).set_index("label").at[metastasis, "hr"])


def test_a_covariate_with_one_level_is_not_estimable():
    data = hand_cohort().assign(stage="IV")
    result = cc.fit_model(data, "os", ("stage", "max_diameter_cm"))
    assert result.not_estimable == {cc.PAPER_LABELS["stage"]: SINGLE_VALUE_REASON}
    assert "(every patient in the model is in the same group, so there is nothing to compare)" in (
        cc.not_estimable_note(result, "model"))


def cox_module_not_converged() -> str:
    """The engine's message for a fit that ran out of iterations."""
    from aice_helpers.stats.cox import NOT_CONVERGED
    return NOT_CONVERGED


def test_reasons_in_words():
    assert cc.reason_text(NO_EVENTS_REASON) == "no patient had the event, so the model has nothing to fit"
    assert cc.reason_text(cox_module_not_converged()).startswith(
        "the fit did not converge")
    assert cc.reason_text("fit failed: Singular matrix").startswith("the fit failed because its information matrix")
    assert cc.reason_text("something new") == "something new"
    assert cc.not_estimable_note(fake_result(10, 2), "model") == ""


def test_an_endpoint_without_events_leaves_nothing_to_fit_or_compare(cohort):
    """Every patient censored for OS: not estimable for that reason, and the notes say there is nothing to count."""
    censored = cohort.assign(os_event=0)
    model = cc.paper_model(censored, "os")
    assert set(model.not_estimable.values()) <= {NO_EVENTS_REASON, SINGLE_VALUE_REASON}
    assert set(model.not_estimable) == set(model.table["label"])
    ties = {"os": cc.ties_comparison(censored, "os")}
    assert cc.ties_note(ties, cc.ties_summary(censored)).startswith("For OS neither method can estimate")
    screens = {"os": cc.univariable_screen(censored, "os")}
    assert screens["os"][["logrank_p", "wald_p"]].isna().all(axis=None)
    assert cc.rule_models(censored, screens) == {}


def test_ph_tables_with_tests_that_cannot_be_computed():
    """A score test with singular information shows an en dash: its P is left out of the plot, the note says why."""
    table = pd.DataFrame({name: ["–", "–"] for name in cc.PH_COLUMNS}, index=["x", "all covariates (global)"])
    assert cc.ph_p_values(table) == {}
    assert cc.ph_note({"os": table}) == ("For OS the tests cannot be computed: with so few deaths the information "
                                         "matrix of the test is singular.")
    partly = table.copy()
    partly.loc["x", cc.PH_COLUMNS[1]] = "0.020"
    assert cc.ph_p_values(partly) == {"x": 0.02}
    assert "the global score test cannot be computed" in cc.ph_note({"os": partly})


def test_stage_note_with_nobody_without_metastasis(published):
    cells = pd.DataFrame({"patients": [0, 0, 0, 5], "OS deaths": [0, 0, 0, 3], "PFS events": [0, 0, 0, 4]},
                         index=["no metastasis, stage III", "no metastasis, stage IV", "metastasis, stage III",
                                "metastasis, stage IV"])
    se_table = pd.DataFrame({"stage SE": ["–"] * 4}, index=pd.MultiIndex.from_product(
        [["OS", "PFS"], ["paper's model (both)", "metastasis left out"]]))
    note = cc.stage_note(se_table, cells, published, compare=False)
    assert note.startswith("- No metastatic patient is stage III, and no patient is without metastasis: stage does "
                           "not vary once metastasis is known")


def test_hazard_ratio_text_of_an_enormous_coefficient():
    assert cc.hazard_ratio_text(1.14) == "3.1"
    assert cc.hazard_ratio_text(1960.0) == "e^1960"

"""The audit of the published numbers: the known findings on the real paper, each check on small
synthetic papers (fires when it should, silent on a consistent one), and the command line."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from aice_helpers import contract
from aice_helpers.paper.audit import (
    ALL_CHECKS_LABEL,
    CHECK_NAMES,
    CHECKS,
    CONTRADICTION,
    INCONSISTENCY,
    NOTE,
    SEVERITIES,
    Finding,
    audit_findings,
    audit_overview,
    audit_summary,
    check_named,
    contradicted_ids,
    counts_giving,
    dates_table,
    findings_frame,
    findings_sentence,
    findings_table,
    log_se,
    loglog_centre,
    model_rows_table,
    run_audit,
    severity_counts_text,
    wald_p,
)
from aice_helpers.published import load_published

REPO = contract.REPO_DIR
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


# ----------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def real_findings() -> list[Finding]:
    """Return the audit of the book's published numbers."""
    return audit_findings(load_published())


def about(findings: list[Finding], check: str, entry_id: str) -> list[Finding]:
    """Return the findings of one check that name an id."""
    return [item for item in findings if item.check == check and entry_id in item.ids]


def one(findings: list[Finding], check: str, entry_id: str) -> Finding:
    """Return the single finding of one check naming an id."""
    found = about(findings, check, entry_id)
    assert len(found) == 1, [item.message for item in found]
    return found[0]


def entry(entry_id: str, value: Any, unit: str, **fields: Any) -> dict[str, Any]:
    """Return one YAML entry; the section defaults to the id's first segment."""
    return {"id": entry_id, "section": fields.pop("section", entry_id.split(".")[0]), "value": value,
            "unit": unit, **fields}


def paper(tmp_path: Path, entries: list[dict[str, Any]], name: str = "paper") -> Path:
    """Write a synthetic paper's entries to a YAML folder and return the folder."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "numbers.yaml").write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
    return folder


def audit(tmp_path: Path, entries: list[dict[str, Any]]) -> list[Finding]:
    """Return the audit of a synthetic paper."""
    return audit_findings(load_published(paper(tmp_path, entries)))


def checks_of(findings: list[Finding]) -> set[str]:
    """Return the names of the checks that found something."""
    return {item.check for item in findings}


def count_and_percent(prefix: str, count: int, percent: float, n: int = 113, **fields: Any) -> list[dict]:
    """Return a count entry and its percentage beside it."""
    return [entry(prefix, count, "patients", decimals=0, **fields),
            entry(f"{prefix}.pct", percent, "percent", decimals=1, denominator=n, of=prefix, **fields)]


# ----------------------------------------------------------------------------- the real paper

def test_nausea_percent_is_of_procedures(real_findings: list[Finding]) -> None:
    """Nausea 4 (1.9%): 4/113 = 3.5%, and 4/216 = 1.9% (the per-procedure denominator)."""
    found = one(real_findings, "percent_of_count", "table5.nausea_vomiting.a.pct")
    assert found.severity == CONTRADICTION
    assert "printed 1.9%, but 4/113 = 3.5%" in found.message
    assert "4/216 = 1.9%: the per-procedure denominator (safety.procedures)" in found.message
    assert "no integer count out of 113 gives 1.9%" in found.message
    assert found.resolution == "3.5% (4/113)"
    assert one(real_findings, "percent_of_count", "table5.myelosuppression.c.pct").severity == CONTRADICTION


def test_ecog_percentages_are_impossible(real_findings: list[Finding]) -> None:
    """ECOG 0–1: 4/113 = 3.5%, not 3.7%; ECOG 2–3: 109/113 = 96.5%, not 96.3% (and the discussion repeats both)."""
    low = one(real_findings, "percent_of_count", "table1.ecog.0_1.pct")
    high = one(real_findings, "percent_of_count", "table1.ecog.2_3.pct")
    assert (low.severity, high.severity) == (CONTRADICTION, CONTRADICTION)
    assert "printed 3.7%, but 4/113 = 3.5%" in low.message
    assert "printed 96.3%, but 109/113 = 96.5%" in high.message
    assert "discussion.ecog.0_1.pct" in low.ids and "discussion.ecog.2_3.pct" in high.ids
    assert {"table1.ecog.0_1.pct", "discussion.ecog.0_1.pct"} <= contradicted_ids(real_findings)


@pytest.mark.parametrize(
    ("entry_id", "text", "slip"),
    [
        ("table5.liver_dysfunction.c.pct", "printed 0.8%, but 1/113 = 0.9%", "truncating 0.885 gives 0.8"),
        ("table2.histology.malignant_fibrous_histiocytoma.pct", "printed 8.9%, but 10/113 = 8.8%",
         "rounding twice, 8.8496 → 8.85 → 8.9"),
        ("results.subsequent_therapy.none.pct", "printed 15.1%, but 17/113 = 15.0%", "no integer count"),
    ],
)
def test_percentages_off_by_one_digit(real_findings: list[Finding], entry_id: str, text: str, slip: str) -> None:
    """Percentages one unit off in the last digit are inconsistencies, with the slip named where there is one."""
    found = one(real_findings, "percent_of_count", entry_id)
    assert found.severity == INCONSISTENCY
    assert text in found.message and slip in found.message


def test_safety_grade_percentages(real_findings: list[Finding]) -> None:
    """Grade D 2 (0.9%) fits only 2/216; grade C 5 (2.7%) fits neither 113 nor 216."""
    grade_d = one(real_findings, "percent_of_count", "safety.grade_d.pct")
    assert grade_d.severity == INCONSISTENCY
    assert "2/216 = 0.9%" in grade_d.message
    grade_c = one(real_findings, "percent_of_count", "safety.grade_c.pct")
    assert grade_c.severity == CONTRADICTION
    assert "5/113 = 4.4%" in grade_c.message and "5/216 = 2.3%" in grade_c.message


def test_consistent_percentages_are_silent(real_findings: list[Finding]) -> None:
    """68/113 = 60.2%, 17/113 = 15.0% and the ORR 42/113 = 37.2% raise nothing."""
    for entry_id in ("table1.sex.male.pct", "table5.pain.a.pct", "results.response.orr", "table1.age_years.le35.pct"):
        assert not about(real_findings, "percent_of_count", entry_id)


def test_table2_sums_to_114(real_findings: list[Finding]) -> None:
    """Table 2's 18 subtype counts sum to 114, not 113 (the text restating them is listed too)."""
    found = one(real_findings, "parts_sum_to_total", "table2.histology.liposarcoma")
    assert found.severity == CONTRADICTION
    assert "the 18 counts sum to 114" in found.message and "not 113" in found.message
    assert "100.9%" in found.message
    assert "results.histology.liposarcoma" in found.ids
    assert len([item for item in real_findings if item.check == "parts_sum_to_total"]) == 1


def test_other_sums_hold(real_findings: list[Finding]) -> None:
    """Table 1 levels, Table 5 grade cells, response categories and subsequent therapy (51 + 17 + 45 with
    its breakdown 23 + 13 + 9 + 6 = 51) all add up."""
    named = {entry_id for item in real_findings if item.check == "parts_sum_to_total" for entry_id in item.ids}
    assert not named & {"table1.sex.male", "table5.myelosuppression.a", "results.response.pr",
                        "results.subsequent_therapy.any", "results.subsequent_therapy.chemotherapy"}


def test_three_year_os_outside_its_interval(real_findings: list[Finding]) -> None:
    """3-year OS 41.7% lies outside 19.6–35.9%; the log(−log) interval is centred on 27.5%."""
    found = one(real_findings, "estimate_in_interval", "results.survival.os.year3.rate")
    assert found.severity == CONTRADICTION
    assert "41.7%" in found.message and "19.6–35.9%" in found.message
    assert found.resolution.startswith("27.5%")


def test_postoperative_pfs_median_outside_its_interval(real_findings: list[Finding]) -> None:
    """The ≥2 postoperative therapy PFS median 11.0 lies outside 13.7–20.3, a symmetric interval around 17.0."""
    found = one(real_findings, "estimate_in_interval", "results.subgroup.postop_regimens.pfs.ge2.median")
    assert "11.0 months lies outside its own 95% CI 13.7–20.3 months" in found.message
    assert found.resolution.startswith("17.0 months")
    assert len([item for item in real_findings if item.check == "estimate_in_interval"]) == 2


def test_median_age_against_age_groups(real_findings: list[Finding]) -> None:
    """A median age of 35 needs at least 57 of 113 patients ≤ 35; Table 1 has 37."""
    found = one(real_findings, "median_vs_counts", "results.baseline.age_years.median")
    assert found.severity == CONTRADICTION
    assert "needs at least 57 of 113 values ≤ 35" in found.message
    assert "counts 37 ≤ 35" in found.message
    assert found.resolution == "median above 35"
    assert not about(real_findings, "median_vs_counts", "table1.max_diameter_cm.median")


def test_beta_and_hr(real_findings: list[Finding]) -> None:
    """exp(0.661) = 1.94 ≠ 2.3 and exp(1.513) = 4.54 ≠ 4.4; exp(0.73) = 2.08 → 2.1 is consistent."""
    stage = one(real_findings, "beta_vs_hr", "table4.stage.beta")
    assert stage.severity == CONTRADICTION
    assert "exp(0.661) = 1.937, which rounds to 1.9, but the HR is printed as 2.3" in stage.message
    assert stage.resolution == "β = ln 2.3 = 0.833"
    metastasis = one(real_findings, "beta_vs_hr", "table3.distant_metastasis.beta")
    assert "exp(1.513) = 4.540" in metastasis.message
    assert not about(real_findings, "beta_vs_hr", "table3.stage.beta")
    assert {item.ids[0] for item in real_findings if item.check == "beta_vs_hr"} == {
        "table4.stage.beta", "table3.distant_metastasis.beta"}
    contradicted = contradicted_ids(real_findings)
    assert "table3.distant_metastasis.beta" in contradicted
    assert "table3.distant_metastasis.hr" not in contradicted


def test_table4_stage_p_against_interval(real_findings: list[Finding]) -> None:
    """Table 4 stage: HR 2.3 (1.7–3.2) gives z = 5.16, P < 0.001, not 0.007; the text repeats it."""
    found = one(real_findings, "interval_vs_p", "table4.stage.p")
    assert found.severity == CONTRADICTION
    assert "printed P = 0.007" in found.message and "z = ln 2.3/SE = 5.16" in found.message
    assert "with the printed β = 0.661 instead, P = 4.2e-05" in found.message
    assert found.resolution == "P < 0.001"
    assert "results.multivariate.pfs.stage.p" in found.ids


def test_table3_stage_p_against_interval(real_findings: list[Finding]) -> None:
    """Table 3 stage: β 0.73 with 1.3–3.2 gives P ≈ 0.0015 (0.0007–0.0029), not 0.005."""
    found = one(real_findings, "interval_vs_p", "table3.stage.p")
    assert "z = β = 0.73/SE = 3.18, P = 0.0015" in found.message
    assert found.resolution == "P ≈ 0.0015"


def test_intervals_touching_one(real_findings: list[Finding]) -> None:
    """Intervals printed as 1.0–x beside P < 0.05 are inconsistencies of rounding, not contradictions."""
    touching = [item for item in real_findings if item.check == "interval_vs_p" and item.severity == INCONSISTENCY]
    assert {item.ids[0] for item in touching} == {"table3.grade.hr", "table3.best_response.hr", "table4.nlr.hr"}
    for row in ("table3.max_diameter_cm.p", "table3.aice_cycles.p", "table4.best_response.p", "table4.grade.p"):
        assert not about(real_findings, "interval_vs_p", row)


def test_interval_methods_revealed(real_findings: list[Finding]) -> None:
    """The ORR interval is Clopper–Pearson; 12 of 13 median intervals are symmetric (SPSS); 16.0 (13.7–18.7) is not."""
    notes = [item.message for item in real_findings if item.check == "interval_method" and item.severity == NOTE]
    assert any("the printed interval is the Clopper–Pearson (exact) one" in message for message in notes)
    assert any(message.startswith("12 of 13 median intervals are symmetric") for message in notes)
    assert any(message.startswith("16 of 16 ratio intervals are symmetric on the log scale") for message in notes)
    assert any(message.startswith("3 of 3 survival-rate intervals are symmetric on the log(−log) scale")
               for message in notes)
    odd = one(real_findings, "interval_method", "results.subgroup.distant_metastasis.os.yes.median")
    assert odd.severity == INCONSISTENCY and "centre 16.2" in odd.message
    dcr = one(real_findings, "interval_method", "results.response.dcr")
    assert "truncating 67.172 gives 67.1" in dcr.message


@pytest.mark.parametrize(
    ("entry_id", "printed", "target"),
    [
        ("discussion.os.median_restated", "prints 18.0 months", "results.survival.os.median prints 19.0 months"),
        ("discussion.distant_metastasis.os.yes.median", "prints 12 months", "prints 16.0 months"),
        ("discussion.distant_metastasis.os.no.median", "prints 36 months", "prints 39.0 months"),
    ],
)
def test_text_against_results(real_findings: list[Finding], entry_id: str, printed: str, target: str) -> None:
    """The discussion restates three medians with other values."""
    found = one(real_findings, "restated_numbers", entry_id)
    assert found.severity == CONTRADICTION
    assert printed in found.message and target in found.message
    assert found.contradicted == (entry_id,)


def test_discussion_hazard_ratio_for_metastasis(real_findings: list[Finding]) -> None:
    """'HR ~3' for OS vs Table 3's 4.4: it matches the PFS HR 3.1 of Table 4."""
    found = one(real_findings, "restated_numbers", "discussion.distant_metastasis.os.hr")
    assert found.severity == INCONSISTENCY
    assert "prints ~3 where table3.distant_metastasis.hr prints 4.4" in found.message
    assert "table4.distant_metastasis.hr = 3.1" in found.message


def test_restatements_that_agree_are_silent(real_findings: list[Finding]) -> None:
    """'twofold' (2) for HR 2.1, the abstract and the second record raise nothing."""
    restating = {item.ids[0] for item in real_findings if item.check == "restated_numbers"}
    assert not restating & {"results.multivariate.os.stage.fold", "abstract.os.median", "second_record.abstract.orr"}
    assert len(restating) == 4


def test_cut_points(real_findings: list[Finding]) -> None:
    """The 10 cm cut is written <10/≥10 and ≤10/>10; postoperative therapy is split at ≥2 and (discussion) ≥3."""
    diameter = one(real_findings, "cut_points", "table3.max_diameter_cm.hr")
    assert diameter.message.startswith("max_diameter_cm: the same cut-point is written with the threshold on either side")
    assert "table1.max_diameter_cm.lt10" in diameter.ids
    regimens = one(real_findings, "cut_points", "discussion.multimodal.modalities_min")
    assert "<3 / ≥3 in discussion.multimodal.modalities_min" in regimens.message
    assert {item.message.split(":")[0] for item in real_findings if item.check == "cut_points"} == {
        "max_diameter_cm", "postop_regimens"}


def test_second_record_dated_before_the_data_cutoff(real_findings: list[Finding]) -> None:
    """The 2021 record prints the numbers of a study whose data cutoff is 2023-11-15; facts only."""
    found = one(real_findings, "dates", "second_record.meta.year")
    assert "dated 2021" in found.message and "2023-11-15 (methods.data_cutoff)" in found.message
    assert "13 of them identical" in found.message and "2024 (discussion.schmitz.year)" in found.message
    assert found.contradicted == ()
    period = one(real_findings, "dates", "discussion.study_period.length")
    assert period.severity == NOTE and "spans 8.4 years" in period.message


def test_other_real_findings(real_findings: list[Finding]) -> None:
    """1-year PFS and 2-year OS share 45.1% (35.8–54.0); '~85% of sessions' exceeds what Table 5 allows;
    'Grade 1–2' vs SIR letters."""
    duplicate = one(real_findings, "duplicate_estimates", "results.survival.pfs.year1.rate")
    assert "results.survival.os.year2.rate" in duplicate.ids and duplicate.severity == NOTE
    share = one(real_findings, "event_share", "safety.grade_ab.pct")
    assert "216 − (113 − 50) = 153 procedures = 70.8%" in share.message
    scale = one(real_findings, "grade_scale", "discussion.ae_mild_grade.min")
    assert "Grade 1–2" in scale.message and "A, B, C, D" in scale.message
    assert not [item for item in real_findings if item.check in ("survival_ordering", "response_rates")]


def test_contradicted_ids(real_findings: list[Finding]) -> None:
    """The scorecard's contradicted ids: the wrong printings, not the numbers they disagree with."""
    contradicted = contradicted_ids(real_findings)
    assert {"table5.nausea_vomiting.a.pct", "results.survival.os.year3.rate", "results.baseline.age_years.median",
            "table4.stage.p", "table4.stage.beta", "discussion.os.median_restated"} <= contradicted
    # Table 2's counts sum to 114 of 113, but which one is off cannot be told: no single count is shown wrong.
    assert not contradicted & {"results.survival.os.median", "table4.stage.hr", "table5.nausea_vomiting.a",
                               "table3.grade.hr", "second_record.meta.year", "table1.sex.male.pct",
                               "table2.histology.liposarcoma"}


def test_summary_and_frame(real_findings: list[Finding]) -> None:
    """The summary lists every check with counts by severity adding up to the findings."""
    summary = audit_summary(real_findings)
    assert list(summary["check"]) == list(CHECK_NAMES)
    assert list(summary.columns) == ["check", *SEVERITIES, "total"]
    assert summary["total"].sum() == len(real_findings)
    counts = summary.set_index("check")
    assert counts.loc["beta_vs_hr", CONTRADICTION] == 2
    assert counts.loc["parts_sum_to_total", "total"] == 1
    frame = findings_frame(real_findings)
    assert list(frame.columns) == ["check", "severity", "ids", "message", "resolution"]
    assert set(frame["severity"]) <= set(SEVERITIES) and set(frame["check"]) <= set(CHECK_NAMES)


def test_registry_explains_each_check() -> None:
    """Each registered check has a unique name, a title and an explanation."""
    assert len(set(CHECK_NAMES)) == len(CHECKS) >= 10
    assert all(check.title and len(check.explanation) > 40 for check in CHECKS)


# ----------------------------------------------------------------------------- formulas

def test_formulas() -> None:
    """GRIM counts, Wald SE and P, and the log(−log) centre."""
    assert counts_giving(37.2, 113, 1) == [42]
    assert counts_giving(3.7, 113, 1) == []
    assert log_se(1.7, 3.2) == pytest.approx(0.16136, abs=1e-5)
    assert wald_p(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert loglog_centre(0.358, 0.540) == pytest.approx(0.451, abs=5e-4)


# ----------------------------------------------------------------------------- synthetic papers

COHORT = [entry("methods.n_patients", 113, "patients", decimals=0)]


def test_percent_check_fires_and_is_silent(tmp_path: Path) -> None:
    """60.2% of 113 for 68 is fine; 1.9% for 4 of 113 is not, and 216 procedures fit; GRIM alone catches 3.7%."""
    entries = COHORT + [entry("safety.procedures", 216, "procedures", decimals=0)]
    entries += count_and_percent("table1.sex.male", 68, 60.2, variable="sex", group="male")
    entries += count_and_percent("table1.sex.female", 45, 39.8, variable="sex", group="female")
    entries += count_and_percent("table5.nausea.a", 4, 1.9)
    entries += [entry("results.site.abdomen.pct", 33.6, "percent", decimals=1, denominator=113),
                entry("results.ecog.good.pct", 3.7, "percent", decimals=1, denominator=113)]
    findings = audit(tmp_path, entries)
    assert {item.ids[0] for item in findings} == {"table5.nausea.a.pct", "results.ecog.good.pct"}
    nausea = one(findings, "percent_of_count", "table5.nausea.a.pct")
    assert "4/216 = 1.9%: the per-procedure denominator (safety.procedures)" in nausea.message
    assert one(findings, "percent_of_count", "results.ecog.good.pct").resolution == "3.5% (4/113)"


def test_sum_check(tmp_path: Path) -> None:
    """Levels adding to 113 (and a breakdown listed beside its level) are fine; 60 + 54 and a wrong row total are not."""
    entries = list(COHORT)
    entries += count_and_percent("table1.sex.male", 68, 60.2, variable="sex", group="male", table="Table 1")
    entries += count_and_percent("table1.sex.female", 45, 39.8, variable="sex", group="female", table="Table 1")
    entries += count_and_percent("table1.grade.g1", 60, 53.1, variable="grade", group="g1", table="Table 1")
    entries += count_and_percent("table1.grade.g2", 54, 47.8, variable="grade", group="g2", table="Table 1")
    for group, count in (("any", 51), ("none", 17), ("unknown", 45), ("chemo", 30), ("targeted", 21)):
        entries += count_and_percent(f"results.later.{group}", count, round(100 * count / 113, 1),
                                     variable="later", group=group)
    for group, count in (("a", 5), ("b", 2), ("total", 8)):
        entries.append(entry(f"table5.fever.{group}", count, "patients", decimals=0, table="Table 5",
                             variable="fever", group=group))
    findings = audit(tmp_path, entries)
    assert checks_of(findings) == {"parts_sum_to_total"}
    grade = one(findings, "parts_sum_to_total", "table1.grade.g1")
    assert grade.severity == CONTRADICTION and "sum to 114" in grade.message
    fever = one(findings, "parts_sum_to_total", "table5.fever.a")
    assert "the printed total 8 (table5.fever.total)" in fever.message
    assert len(findings) == 2


def test_interval_checks(tmp_path: Path) -> None:
    """An estimate inside its interval is silent; outside, the interval's centre is offered."""
    entries = [
        entry("results.os.year2.rate", 45.1, "percent", decimals=1, lower=35.8, upper=54.0, interval="ci95",
              endpoint="os", ci_method="greenwood_loglog"),
        entry("results.os.year3.rate", 41.7, "percent", decimals=1, lower=19.6, upper=35.9, interval="ci95",
              endpoint="os", ci_method="greenwood_loglog"),
        entry("results.age.median", 50, "years", decimals=0, lower=3, upper=83, interval="range"),
    ]
    findings = [item for item in audit(tmp_path, entries) if item.check == "estimate_in_interval"]
    assert [item.ids for item in findings] == [("results.os.year3.rate",)]
    assert findings[0].resolution.startswith("27.5%")


def cox_row(prefix: str, beta: float, hr: float, lower: float, upper: float, p: float,
            p_operator: str = "=") -> list[dict]:
    """Return β, HR with its interval and P of one model row."""
    return [entry(f"{prefix}.beta", beta, "log hazard ratio", decimals=3),
            entry(f"{prefix}.hr", hr, "ratio", decimals=1, lower=lower, upper=upper, interval="ci95",
                  ci_method="cox_wald"),
            entry(f"{prefix}.p", p, "p-value", decimals=3, p_operator=p_operator)]


def test_model_row_checks_silent_on_consistent_rows(tmp_path: Path) -> None:
    """Rows whose β, HR, interval and P agree raise only the note on the Wald method."""
    entries = (cox_row("table3.size", 0.551, 1.7, 1.1, 2.7, 0.014)
               + cox_row("table3.metastasis", 1.142, 3.1, 1.7, 5.8, 0.001, "<")
               + cox_row("table3.cycles", 0.191, 1.2, 0.6, 2.4, 0.600))
    findings = audit(tmp_path, entries)
    assert [(item.check, item.severity) for item in findings] == [("interval_method", NOTE)]
    assert findings[0].message.startswith("3 of 3 ratio intervals are symmetric on the log scale")


def test_model_row_checks_fire(tmp_path: Path) -> None:
    """β 0.661 with HR 2.3 (1.7–3.2) and P 0.007: β and P are flagged; a CI touching 1 with P 0.043 too."""
    entries = cox_row("table4.stage", 0.661, 2.3, 1.7, 3.2, 0.007) + cox_row("table4.grade", 0.482, 1.6, 1.0, 2.6, 0.043)
    entries += [entry("table4.null.hr", 1.2, "ratio", decimals=1, lower=0.8, upper=1.8, interval="ci95"),
                entry("table4.null.p", 0.01, "p-value", decimals=2, p_operator="=")]
    findings = audit(tmp_path, entries)
    beta = one(findings, "beta_vs_hr", "table4.stage.beta")
    assert beta.contradicted == ("table4.stage.beta",)
    assert one(findings, "interval_vs_p", "table4.stage.p").resolution == "P < 0.001"
    assert one(findings, "interval_vs_p", "table4.grade.hr").severity == INCONSISTENCY
    assert one(findings, "interval_vs_p", "table4.null.p").severity == CONTRADICTION
    assert not about(findings, "beta_vs_hr", "table4.grade.beta")


def test_interval_method_check(tmp_path: Path) -> None:
    """Symmetric medians give a note, an asymmetric one an inconsistency; 42/113 with 28.3–46.8 is Clopper–Pearson."""
    medians = [(19.0, 12.8, 25.3), (11.0, 8.6, 13.4), (27.0, 22.4, 31.6), (16.0, 13.7, 18.7)]
    entries = [entry(f"results.group{index}.median", value, "months", decimals=1, lower=lower, upper=upper,
                     interval="ci95", endpoint="os", variable="v", ci_method="spss_symmetric_median_ci")
               for index, (value, lower, upper) in enumerate(medians)]
    entries.append(entry("results.response.orr", 37.2, "percent", decimals=1, lower=28.3, upper=46.8,
                         interval="ci95", denominator=113))
    findings = [item for item in audit(tmp_path, entries) if item.check == "interval_method"]
    assert {(item.severity, item.ids[0]) for item in findings if item.severity == INCONSISTENCY} == {
        (INCONSISTENCY, "results.group3.median")}
    messages = [item.message for item in findings]
    assert any(message.startswith("3 of 4 median intervals are symmetric") for message in messages)
    assert any("Clopper–Pearson (exact) one" in message for message in messages)


def test_median_check(tmp_path: Path) -> None:
    """Median 35 with 37 of 113 ≤ 35 fires; median 40 with the same counts and 10.7 cm with 55 < 10 do not."""
    groups = (count_and_percent("table1.age.le35", 37, 32.7, variable="age", group="le35", table="Table 1")
              + count_and_percent("table1.age.gt35", 76, 67.3, variable="age", group="gt35", table="Table 1")
              + count_and_percent("table1.size.lt10", 55, 48.7, variable="size", group="lt10", table="Table 1")
              + count_and_percent("table1.size.ge10", 58, 51.3, variable="size", group="ge10", table="Table 1"))
    bad = audit(tmp_path, COHORT + groups + [entry("results.age.median", 35, "years", decimals=0, variable="age"),
                                             entry("results.size.median", 10.7, "cm", decimals=1, variable="size")])
    assert [item.ids[0] for item in bad] == ["results.age.median"]
    folder = tmp_path / "good"
    folder.mkdir()
    good = audit(folder, COHORT + groups + [entry("results.age.median", 40, "years", decimals=0, variable="age")])
    assert good == []


def test_restatement_check(tmp_path: Path) -> None:
    """'19.0' restated as 19.0 and 'twofold' for 2.1 are fine; 18.0 for 19.0 and '~3' for 4.4 are not."""
    entries = [
        entry("results.os.median", 19.0, "months", decimals=1, endpoint="os"),
        entry("abstract.os.median", 19.0, "months", decimals=1, endpoint="os", see_also="results.os.median"),
        entry("discussion.os.median", 18.0, "months", decimals=1, endpoint="os", see_also="results.os.median"),
        entry("table3.stage.hr", 2.1, "ratio", decimals=1, variable="stage"),
        entry("results.stage.fold", 2, "ratio", decimals=0, variable="stage", see_also="table3.stage.hr"),
        entry("table3.metastasis.hr", 4.4, "ratio", decimals=1, variable="metastasis"),
        entry("discussion.metastasis.hr", 3, "ratio", decimals=0, variable="metastasis", approximate=True,
              see_also="table3.metastasis.hr"),
    ]
    findings = audit(tmp_path, entries)
    assert {(item.ids[0], item.severity) for item in findings} == {
        ("discussion.os.median", CONTRADICTION), ("discussion.metastasis.hr", INCONSISTENCY)}
    assert "abstract.os.median" in one(findings, "restated_numbers", "discussion.os.median").message


def test_cut_point_check(tmp_path: Path) -> None:
    """<10 / ≥10 everywhere is fine; adding '>10 vs ≤10' fires; ≤1 / >1 and ≥2 name one cut for whole numbers."""
    consistent = [entry("table1.size.lt10", 55, "patients", variable="size", group="lt10"),
                  entry("table1.size.ge10", 58, "patients", variable="size", group="ge10"),
                  entry("results.lines.low", 60, "patients", variable="lines", group="≤1 line"),
                  entry("results.lines.high", 53, "patients", variable="lines", group="≥2 lines")]
    assert not [item for item in audit(tmp_path, consistent) if item.check == "cut_points"]
    folder = tmp_path / "mixed"
    folder.mkdir()
    mixed = consistent + [entry("table3.size.hr", 1.7, "ratio", variable="size", row="Size >10 vs ≤ 10")]
    findings = [item for item in audit(folder, mixed) if item.check == "cut_points"]
    assert len(findings) == 1 and "table3.size.hr" in findings[0].ids


def test_cut_point_check_allows_bands(tmp_path: Path) -> None:
    """Age bands <65, 65–74, ≥75 in one table, and a text naming one of them, are one scheme, not a conflict."""
    bands = [entry("table1.age.lt65", 50, "patients", table="Table 1", variable="age", group="lt65"),
             entry("table1.age.mid", 40, "patients", table="Table 1", variable="age", group="65–74"),
             entry("table1.age.ge75", 23, "patients", table="Table 1", variable="age", group="ge75"),
             entry("results.age.old", 23, "patients", variable="age", group="≥75 years")]
    assert not [item for item in audit(tmp_path, bands) if item.check == "cut_points"]


def test_date_checks(tmp_path: Path) -> None:
    """A record dated before the data cutoff and a follow-up longer than the calendar allows both fire."""
    base = [entry("methods.study_period.start", "2011-11", "date"),
            entry("methods.study_period.end", "2020-04", "date"),
            entry("methods.data_cutoff", "2023-11-15", "date"),
            entry("discussion.study_period.start_year", 2011, "year", decimals=0,
                  see_also="methods.study_period.start")]
    assert audit(tmp_path, base + [
        entry("methods.follow_up.median", 23.5, "months", decimals=1, lower=1.0, upper=112.5, interval="range"),
        entry("record.meta.year", 2024, "year", section="bibliography", decimals=0)]) == []
    folder = tmp_path / "late"
    folder.mkdir()
    findings = audit(folder, base + [
        entry("methods.follow_up.median", 23.5, "months", decimals=1, lower=1.0, upper=150.0, interval="range"),
        entry("record.meta.year", 2021, "year", section="bibliography", decimals=0)])
    assert {item.ids[0] for item in findings} == {"methods.follow_up.median", "record.meta.year"}
    assert contradicted_ids(findings) == {"methods.follow_up.median"}


def test_survival_ordering_and_response_rates(tmp_path: Path) -> None:
    """A rising survival curve, PFS above OS and an ORR that is not (CR + PR)/n fire."""
    entries = [
        entry("results.os.year1.rate", 60.0, "percent", decimals=1, endpoint="os"),
        entry("results.os.year2.rate", 65.0, "percent", decimals=1, endpoint="os"),
        entry("results.pfs.year1.rate", 70.0, "percent", decimals=1, endpoint="pfs"),
        entry("results.response.cr", 2, "patients", decimals=0, variable="response", group="CR"),
        entry("results.response.pr", 40, "patients", decimals=0, variable="response", group="PR"),
        entry("results.response.sd", 44, "patients", decimals=0, variable="response", group="SD"),
        entry("results.response.pd", 27, "patients", decimals=0, variable="response", group="PD"),
        entry("results.response.orr", 35.4, "percent", decimals=1, denominator=113),
        entry("results.response.dcr", 76.1, "percent", decimals=1, denominator=113),
    ]
    findings = audit(tmp_path, entries)
    ordering = [item.ids for item in findings if item.check == "survival_ordering"]
    assert ("results.os.year2.rate", "results.os.year1.rate") in ordering
    assert ("results.pfs.year1.rate", "results.os.year1.rate") in ordering
    assert [item.ids[0] for item in findings if item.check == "response_rates"] == ["results.response.orr"]


def test_grades_and_event_share(tmp_path: Path) -> None:
    """Numeric grades beside SIR letters, and '~85% of 216 procedures' with 50 grade A/B events, fire."""
    entries = COHORT + [
        entry("table5.pain.a", 35, "patients", decimals=0, table="Table 5", variable="pain", group="A"),
        entry("table5.pain.b", 15, "patients", decimals=0, table="Table 5", variable="pain", group="B"),
        entry("table5.pain.c", 7, "patients", decimals=0, table="Table 5", variable="pain", group="C"),
        entry("table5.pain.total", 57, "patients", decimals=0, table="Table 5", variable="pain", group="total"),
        entry("safety.grade_ab.pct", 85, "percent", decimals=0, approximate=True, denominator=216, group="A, B"),
        entry("discussion.mild_grade.max", 2, "grade", decimals=0),
    ]
    findings = audit(tmp_path, entries)
    assert checks_of(findings) == {"event_share", "grade_scale"}
    assert "216 − (113 − 50) = 153 procedures = 70.8%" in one(findings, "event_share", "safety.grade_ab.pct").message


def test_duplicate_estimates(tmp_path: Path) -> None:
    """Two quantities with the same estimate and interval give a note."""
    entries = [entry(f"results.{endpoint}.rate", 45.1, "percent", decimals=1, lower=35.8, upper=54.0,
                     interval="ci95", endpoint=endpoint) for endpoint in ("os", "pfs")]
    found = [item for item in audit(tmp_path, entries) if item.check == "duplicate_estimates"]
    assert len(found) == 1 and found[0].severity == NOTE


def test_consistent_paper_has_no_findings(tmp_path: Path) -> None:
    """A small consistent paper (counts, percentages, sums, medians, restatements, dates) gives no finding."""
    findings = audit(tmp_path, clean_paper())
    assert findings == []
    assert contradicted_ids(findings) == set()
    assert audit_summary(findings)["total"].sum() == 0


def clean_paper() -> list[dict[str, Any]]:
    """Return the entries of a consistent synthetic paper."""
    entries = COHORT + [entry("safety.procedures", 216, "procedures", decimals=0)]
    entries += count_and_percent("table1.sex.male", 68, 60.2, variable="sex", group="male", table="Table 1")
    entries += count_and_percent("table1.sex.female", 45, 39.8, variable="sex", group="female", table="Table 1")
    entries += count_and_percent("table1.age.le35", 37, 32.7, variable="age", group="le35", table="Table 1")
    entries += count_and_percent("table1.age.gt35", 76, 67.3, variable="age", group="gt35", table="Table 1")
    entries += [
        entry("results.age.median", 42, "years", decimals=0, lower=18, upper=83, interval="range", variable="age"),
        entry("results.sex.male", 68, "patients", decimals=0, see_also="table1.sex.male"),
        entry("results.os.median", 19.0, "months", decimals=1, endpoint="os"),
        entry("abstract.os.median", 19.0, "months", decimals=1, endpoint="os", see_also="results.os.median"),
        entry("methods.study_period.start", "2011-11", "date"),
        entry("methods.data_cutoff", "2023-11-15", "date"),
    ]
    return entries


# ----------------------------------------------------------------------------- command line

def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m aice_helpers audit`` with the project's virtualenv."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
    return subprocess.run([python, "-m", "aice_helpers", "audit", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120, check=False)


def test_cli_real_paper_text() -> None:
    """The real paper: one line per finding, a summary, exit status 1."""
    result = run_cli()
    assert result.returncode == 1, result.stderr
    assert "[contradiction] percent_of_count: table5.nausea_vomiting.a.pct: printed 1.9%, but 4/113 = 3.5%" \
        in result.stdout
    assert "findings (" in result.stdout and "  beta_vs_hr: 2 contradiction" in result.stdout


def test_cli_csv_and_markdown() -> None:
    """CSV parses with the five columns; Markdown is a table followed by the summary table."""
    result = run_cli("--format", "csv")
    assert result.returncode == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["check", "severity", "ids", "message", "resolution"]
    assert any(row["ids"].startswith("table2.histology.") and row["check"] == "parts_sum_to_total" for row in rows)
    assert "findings (" in result.stderr
    markdown = run_cli("--format", "markdown")
    assert markdown.stdout.startswith("| check | severity | ids | message | resolution |")
    assert "| check | contradiction | inconsistency | note | total |" in markdown.stdout


def test_cli_clean_folder(tmp_path: Path) -> None:
    """A consistent folder exits 0 and says so."""
    result = run_cli("--published", str(paper(tmp_path, clean_paper())))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("0 findings")


@pytest.mark.parametrize(
    "content",
    ["- {id: x.y, section: x, value: 1}\n", "- {id: x.y, section: x, value: 1\n", "just text\n"],
    ids=["missing unit", "bad yaml", "not a list"],
)
def test_cli_malformed_folder(tmp_path: Path, content: str) -> None:
    """A malformed folder gives a clear message on stderr, no traceback, and a non-zero status."""
    (tmp_path / "bad.yaml").write_text(content, encoding="utf-8")
    result = run_cli("--published", str(tmp_path))
    assert result.returncode == 2
    assert "cannot read the published numbers" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_run_audit_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder without YAML files is reported, not raised."""
    assert run_audit(tmp_path / "absent", "text") == 2
    assert "no *.yaml files" in capsys.readouterr().err


def test_findings_frame_empty() -> None:
    """No findings give an empty table with the five columns."""
    assert list(findings_frame([]).columns) == ["check", "severity", "ids", "message", "resolution"]
    assert isinstance(audit_summary([]), pd.DataFrame)


# ----------------------------------------------------------------------------- tables for the chapter


def test_check_named() -> None:
    """A check is found by name; an unknown name lists the known ones."""
    assert check_named("beta_vs_hr").title == "Coefficient against hazard ratio"
    with pytest.raises(KeyError, match="percent_of_count"):
        check_named("no_such_check")


def test_findings_table_of_one_check_and_of_all(real_findings: list[Finding]) -> None:
    """One row per finding, numbered from 1, with the evidence and the consistent value (a dash when none)."""
    table = findings_table(real_findings, "beta_vs_hr")
    assert list(table.columns) == ["severity", "numbers involved", "evidence", "consistent value"]
    assert list(table.index) == [1, 2] and table.index.name == "finding"
    assert "table3.distant_metastasis.{beta,hr}" in table.loc[1, "numbers involved"]
    assert table.loc[1, "consistent value"] == "β = ln 4.4 = 1.482"
    everything = findings_table(real_findings)
    assert len(everything) == len(real_findings) and everything.columns[0] == "check"
    assert "Percentages against their counts" in set(everything["check"])
    assert (everything["consistent value"] == "—").any()
    assert findings_table(real_findings, "response_rates").empty


def test_audit_overview_counts_every_finding(real_findings: list[Finding]) -> None:
    """Titles in registry order, one row for all checks, totals adding up."""
    overview = audit_overview(real_findings)
    assert list(overview.index[:-1]) == [check.title for check in CHECKS]
    assert overview.index[-1] == ALL_CHECKS_LABEL
    assert overview.loc[ALL_CHECKS_LABEL, "total"] == len(real_findings)
    assert overview.loc["Coefficient against hazard ratio", CONTRADICTION] == 2
    assert audit_overview([]).loc[ALL_CHECKS_LABEL, "total"] == 0


def test_sentences(real_findings: list[Finding]) -> None:
    """Counts by severity in words, singular and plural."""
    assert findings_sentence(real_findings, "beta_vs_hr").endswith("2 findings: 2 contradictions.")
    assert "1 finding: 1 contradiction." in findings_sentence(real_findings, "parts_sum_to_total")
    assert "nothing to report" in findings_sentence(real_findings, "response_rates")
    two = [Finding("x", CONTRADICTION, ("a",), "m"), Finding("x", NOTE, ("b",), "m"),
           Finding("x", NOTE, ("c",), "m"), Finding("x", INCONSISTENCY, ("d",), "m")]
    assert severity_counts_text(two) == "1 contradiction, 1 inconsistency and 2 notes"
    assert severity_counts_text([]) == "nothing"


def test_model_rows_table_recomputes_p(real_findings: list[Finding]) -> None:
    """Every printed model row, once; the two stage P values disagree with their intervals, the others agree."""
    table = model_rows_table(load_published())
    assert "table3.stage" in table.index and "results.multivariate.os.stage" not in table.index
    assert table.loc["table3.stage", "SE"] == "0.230"
    assert table.loc["table3.stage", "P"] == "0.0015"
    assert table.loc["table3.stage", "P range"] == "0.00067–0.0029"
    assert table.loc["table4.stage", "exp(β)"] == "1.937"
    assert set(table.index[table["agrees"] == "no"]) == {"table3.stage", "table4.stage"}
    disagreeing = {item.ids[0].rpartition(".")[0] for item in real_findings
                   if item.check == "interval_vs_p" and item.severity == CONTRADICTION}
    assert disagreeing == {"table3.stage", "table4.stage"}


def test_dates_table_in_calendar_order() -> None:
    """Dates and years sorted, the undated paper year last, each with its kind."""
    table = dates_table(load_published())
    assert list(table.columns) == ["what", "where", "kind"] and table.index.name == "printed"
    printed = list(table.index)
    assert printed.index("2021") < printed.index("2023-11-15") < printed.index("2024")
    assert printed[-1] == "unknown"
    kinds = dict(zip(table["where"], table["kind"]))
    assert kinds["second_record.meta.year"] == "bibliographic record"
    assert kinds["methods.data_cutoff"] == "the study" and kinds["discussion.schmitz.year"] == "cited work"


def test_chapter_tables_on_a_small_paper(tmp_path: Path) -> None:
    """The chapter's tables work on any folder: a clean one gives empty tables and zero counts."""
    published = load_published(paper(tmp_path, clean_paper()))
    findings = audit_findings(published)
    assert findings_table(findings).empty
    assert audit_overview(findings).loc[ALL_CHECKS_LABEL, "total"] == 0
    assert isinstance(model_rows_table(published), pd.DataFrame)
    assert isinstance(dates_table(published), pd.DataFrame)


def test_display_widths_name_real_columns() -> None:
    """The page widths name columns (or the index) of the tables they are meant for."""
    from aice_helpers.paper.audit import (
        DATES_TABLE_WIDTHS,
        FINDINGS_TABLE_WIDTHS,
        MODEL_ROWS_WIDTHS,
    )

    findings = findings_table(audit_findings(load_published()), "beta_vs_hr")
    assert set(FINDINGS_TABLE_WIDTHS) == {findings.index.name, *findings.columns}
    dates = dates_table(load_published())
    assert set(DATES_TABLE_WIDTHS) == {dates.index.name, *dates.columns}
    rows = model_rows_table(load_published())
    assert set(MODEL_ROWS_WIDTHS) <= {rows.index.name, *rows.columns}


# ----------------------------------------------------------------------------- claims against the tables

def test_abstract_tolerability_claim_contradicts_table5(real_findings: list[Finding]) -> None:
    """'No severe or fatal adverse reactions' (no SIR grade C–F) against Table 5's 1 + 4 grade C and 2 grade D
    events and the safety paragraph's 5 grade C and 2 grade D patients."""
    found = one(real_findings, "tolerability_claim", "abstract.major_adverse_events")
    assert found.severity == CONTRADICTION
    assert "Table 5 lists 5 grade C and 2 grade D events" in found.message
    assert "the text counts 5 grade C and 2 grade D patients" in found.message
    assert {"table5.liver_dysfunction.c", "table5.myelosuppression.c", "table5.myelosuppression.d",
            "safety.grade_c", "safety.grade_d"} <= set(found.ids)
    assert set(found.contradicted) == {"abstract.major_adverse_events", "second_record.abstract.major_adverse_events"}
    assert "abstract.major_adverse_events" in contradicted_ids(real_findings)
    # The safety paragraph's "no grade E" and "no grade F" have no events of those grades against them.
    assert not about(real_findings, "tolerability_claim", "safety.grade_e")
    assert not about(real_findings, "tolerability_claim", "safety.grade_f")


def test_tolerability_claim_on_small_papers(tmp_path: Path) -> None:
    """The check fires only when a grade the claim covers has events, and only for the claim's variable."""
    claim = entry("abstract.major", 0, "patients", group="C, D", decimals=0)
    cells = [entry(f"table5.pain.{grade.lower()}", count, "patients", table="Table 5", variable="pain", group=grade,
                   decimals=0) for grade, count in (("A", 10), ("B", 3), ("C", 0), ("D", 0))]
    for name in ("mild", "severe", "other"):
        (tmp_path / name).mkdir()
    assert "tolerability_claim" not in checks_of(audit(tmp_path / "mild", [claim, *cells]))
    cells[3]["value"] = 1
    found = [item for item in audit(tmp_path / "severe", [claim, *cells]) if item.check == "tolerability_claim"]
    assert len(found) == 1 and found[0].severity == CONTRADICTION
    assert "Table 5 lists 1 grade D events (table5.pain.d)" in found[0].message
    other = dict(claim, id="safety.marrow.grade_d", variable="marrow", section="safety")
    found = [item for item in audit(tmp_path / "other", [other, *cells]) if item.check == "tolerability_claim"]
    assert found == []


def test_nlr_claim_for_os_contradicts_table3(real_findings: list[Finding]) -> None:
    """The abstract calls NLR univariably significant for OS and PFS; Table 3 (OS) leaves it out although the
    methods put every univariably significant factor in the model: the claim is contradicted, not 'exact'."""
    found = [item for item in about(real_findings, "significance_claims", "abstract.univariate.p_threshold")
             if item.severity == CONTRADICTION]
    assert len(found) == 1
    assert "nlr univariably significant for OS" in found[0].message and "(table3) leaves it out" in found[0].message
    assert "abstract.univariate.p_threshold" in contradicted_ids(real_findings)
    assert not any("for PFS" in item.message for item in found)  # Table 4 holds NLR


def test_lists_of_significant_factors_compared(real_findings: list[Finding]) -> None:
    """The abstract leaves out stage, cycles and response that the Results call significant; the Results never
    call NLR significant; the abstract's independent factors for OS leave out stage (Table 3: P = 0.005)."""
    messages = [item.message for item in real_findings if item.check == "significance_claims"
                and item.severity == INCONSISTENCY]
    assert any(m.startswith("the abstract calls") and "leaving out aice_cycles (OS, PFS), best_response (OS, PFS), "
               "stage (OS, PFS) that the Results calls significant" in m for m in messages)
    assert any(m.startswith("the Results calls") and "leaving out nlr (OS, PFS)" in m for m in messages)
    assert any("leaving out stage, although table3.stage.p prints P = 0.005" in m for m in messages)


def test_significance_claims_on_small_papers(tmp_path: Path) -> None:
    """A factor called significant with a printed log-rank P ≥ 0.05, and one called independent with a Wald P ≥
    0.05, are contradictions; a consistent paper gives nothing."""
    def numbers(logrank_p: float, wald_p: float) -> list[dict[str, Any]]:
        claim = entry("abstract.univariate.p_threshold", 0.05, "p-value", p_operator="<", decimals=2)
        multi = entry("abstract.multivariate.p_threshold", 0.05, "p-value", p_operator="<", decimals=2)
        rows = []
        for factor in ("max_diameter_cm", "distant_metastasis", "postop_regimens", "grade", "best_response"):
            for endpoint in ("os", "pfs"):
                rows.append(entry(f"results.subgroup.{factor}.{endpoint}.p", 0.01, "p-value", p_operator="=",
                                  decimals=3, section="results"))
            rows.append(entry(f"table3.{factor}.hr", 2.0, "ratio", lower=1.2, upper=3.3, decimals=1,
                              section="table3"))
            rows.append(entry(f"table3.{factor}.p", 0.01, "p-value", p_operator="=", decimals=3, section="table3"))
            rows.append(entry(f"table4.{factor}.hr", 2.0, "ratio", lower=1.2, upper=3.3, decimals=1,
                              section="table4"))
        rows.append(entry("table4.nlr.hr", 2.0, "ratio", lower=1.2, upper=3.3, decimals=1, section="table4"))
        rows[0]["value"] = logrank_p  # max_diameter_cm, OS
        rows[2]["value"] = 2.0
        rows[3]["value"] = wald_p  # table3.max_diameter_cm.p
        return [claim, multi, *rows]

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    consistent = [item for item in audit(tmp_path / "a", numbers(0.01, 0.01)) if item.check == "significance_claims"]
    assert [item.severity for item in consistent if item.severity == CONTRADICTION] == [
        CONTRADICTION]  # NLR is claimed for OS but only Table 4 holds it
    found = [item for item in audit(tmp_path / "b", numbers(0.20, 0.30)) if item.check == "significance_claims"
             and item.severity == CONTRADICTION]
    messages = " | ".join(item.message for item in found)
    assert "calls max_diameter_cm significant for OS (P < 0.05), but its log-rank test prints P = 0.200" in messages
    assert "calls max_diameter_cm an independent factor (P < 0.05), but table3.max_diameter_cm.p prints P = 0.300" \
        in messages

"""The scorecard: status rules by kind of quantity, the table on the committed data, and the CLI."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from aice_helpers.contract import COHORT_FILE, DATA_DIR
from aice_helpers.data import Dataset, load_dataset
from aice_helpers.pages.tables import slug
from aice_helpers.paper import compare, scorecard
from aice_helpers.paper.compare import component_status
from aice_helpers.paper.reproduce import Reproduced
from aice_helpers.paper.scorecard import (
    SCORECARD_STATUSES,
    STATUS_CONTRADICTED,
    STATUS_EXACT,
    STATUS_NOT_REPRODUCIBLE,
    STATUS_OUTSIDE,
    STATUS_WITHIN,
    comparison_status,
    entry_status,
    rounds_to,
    scorecard_summary,
    scorecard_table,
)
from aice_helpers.synthetic.baseline import HISTOLOGY_ADJUSTED_SUBTYPE

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
COUNT_PREFIXES = ("table1.", "table2.", "table5.", "results.subsequent_therapy.", "results.response.")
REQUIRED_CSV_COLUMNS = ("id", "published", "reproduced", "status")


@pytest.fixture(scope="module")
def table(dataset: Dataset, published: pd.DataFrame) -> pd.DataFrame:
    """Return the scorecard of the committed data (contradictions from the audit, when present)."""
    return scorecard_table(dataset, published)


def entry(**fields: object) -> dict[str, object]:
    """Return a published entry with defaults for the fields a test does not set."""
    return {"id": "x.y", "section": "results", "decimals": 1, "unit": "ratio"} | fields


# ----------------------------------------------------------------------------- status rules


def test_existing_helpers_keep_working() -> None:
    assert rounds_to(37.2, 37.17, 1)
    assert comparison_status(37.2, 37.29, decimals=1, tolerance=0.1) == STATUS_WITHIN
    assert comparison_status(None, 3) == scorecard.STATUS_NOT_COMPARED
    assert STATUS_NOT_REPRODUCIBLE in scorecard.STATUSES


@pytest.mark.parametrize(("reproduced", "status"), [(1.74, STATUS_EXACT), (1.85, STATUS_WITHIN), (1.9, STATUS_OUTSIDE),
                                                    (1.56, STATUS_WITHIN), (1.5, STATUS_OUTSIDE)])
def test_hazard_ratio_within_ten_percent_on_the_log_scale(reproduced: float, status: str) -> None:
    assert component_status(1.7, reproduced, 1, "hazard_ratio") == status


@pytest.mark.parametrize(("published", "operator", "reproduced", "status"), [
    (0.043, "=", 0.0434, STATUS_EXACT), (0.043, "=", 0.02, STATUS_WITHIN), (0.043, "=", 0.07, STATUS_OUTSIDE),
    (0.56, "=", 0.30, STATUS_WITHIN), (0.56, "=", 0.03, STATUS_OUTSIDE), (0.001, "<", 0.0004, STATUS_EXACT),
    (0.001, "<", 0.003, STATUS_WITHIN), (0.001, "<", 0.2, STATUS_OUTSIDE), (0.05, "<", 0.04, STATUS_EXACT),
    (0.05, "<", 0.06, STATUS_OUTSIDE),
])
def test_p_value_same_side_of_005(published: float, operator: str, reproduced: float, status: str) -> None:
    assert component_status(published, reproduced, 3, "p", p_operator=operator) == status


@pytest.mark.parametrize(("kind", "published", "reproduced", "decimals", "status"), [
    ("count", 42, 42, 0, STATUS_EXACT), ("count", 42, 43, 0, STATUS_OUTSIDE),
    ("percent", 8.9, 8.849, 1, STATUS_WITHIN), ("percent", 37.2, 37.35, 1, STATUS_OUTSIDE),
    ("median", 19.0, 19.4, 1, STATUS_WITHIN), ("median", 19.0, 19.6, 1, STATUS_OUTSIDE),
    ("landmark", 45.1, 45.9, 1, STATUS_WITHIN), ("landmark", 45.1, 46.3, 1, STATUS_OUTSIDE),
    ("beta", 0.551, 0.64, 3, STATUS_WITHIN), ("beta", 0.551, 0.66, 3, STATUS_OUTSIDE),
    ("proportion", 28.3, 28.39, 1, STATUS_WITHIN), ("proportion", 28.3, 28.45, 1, STATUS_OUTSIDE),
    ("approximate_percent", 85, 87.4, 0, STATUS_WITHIN), ("approximate_percent", 85, 87.7, 0, STATUS_OUTSIDE),
])
def test_tolerance_by_kind(kind: str, published: float, reproduced: float, decimals: int, status: str) -> None:
    assert component_status(published, reproduced, decimals, kind) == status


def test_interval_limits_have_their_own_tolerance() -> None:
    median = entry(unit="months", value=19.0, lower=12.8, upper=25.3, interval="ci95")
    assert entry_status(median, Reproduced(19.0, 13.7, 25.3)) == STATUS_WITHIN
    assert entry_status(median, Reproduced(19.0, 14.0, 25.3)) == STATUS_OUTSIDE
    assert entry_status(median, Reproduced(19.0, 12.8, 25.3)) == STATUS_EXACT
    assert entry_status(median, Reproduced(19.0)) == STATUS_OUTSIDE  # a printed limit with nothing beside it


def test_contradicted_overrides_everything() -> None:
    count = entry(unit="patients", value=5, decimals=0)
    assert entry_status(count, Reproduced(5), contradicted=True) == STATUS_CONTRADICTED
    assert entry_status(count, None, contradicted=True) == STATUS_CONTRADICTED
    assert entry_status(count, None) == STATUS_NOT_REPRODUCIBLE


def test_contradicted_ids_come_from_the_audit(monkeypatch: pytest.MonkeyPatch, dataset: Dataset,
                                              published: pd.DataFrame) -> None:
    monkeypatch.setattr(compare, "audit_findings", lambda frame: [("finding", len(frame))])
    monkeypatch.setattr(compare, "contradicted_ids", lambda findings: {"table1.sex.male", "methods.cisplatin.dose.min"})
    statuses = scorecard_table(dataset, published, sections=["table1", "methods"]).set_index("id")["status"]
    assert statuses["table1.sex.male"] == STATUS_CONTRADICTED
    assert statuses["methods.cisplatin.dose.min"] == STATUS_CONTRADICTED
    assert statuses["table1.sex.female"] == STATUS_EXACT


def test_explicit_contradicted_set(dataset: Dataset, published: pd.DataFrame) -> None:
    result = scorecard_table(dataset, published, sections=["table1"], contradicted={"table1.grade.g1"})
    assert result.set_index("id").at["table1.grade.g1", "status"] == STATUS_CONTRADICTED


# ----------------------------------------------------------------------------- the committed data


def test_every_published_number_has_one_row_and_a_known_status(table: pd.DataFrame, published: pd.DataFrame) -> None:
    assert list(table["id"]) == list(published.index)
    assert set(table["status"]) <= set(SCORECARD_STATUSES)
    for column in ("id", "section", "table", "row", "quantity", "published", "published_lower", "published_upper",
                   "reproduced", "reproduced_lower", "reproduced_upper", "difference", "tolerance", "status"):
        assert column in table.columns


def test_table_counts_are_exact_or_contradicted(table: pd.DataFrame, published: pd.DataFrame) -> None:
    """Table 1, Table 2, therapy, response and Table 5 counts are never merely outside tolerance.

    One exception is allowed only where the paper forces it: Table 2 adds up to 114, so the cohort
    has one patient fewer in the adjusted subtype (synthesis.HISTOLOGY_ADJUSTED_SUBTYPE); the audit
    marks that count as contradicted, and without the audit it is the only count allowed outside.
    """
    counts = table[(table["quantity"] == "count") & table["id"].str.startswith(COUNT_PREFIXES)]
    printed = published[(published["unit"] == "patients") & published.index.str.startswith(COUNT_PREFIXES)]
    assert list(counts["id"]) == list(printed.index)
    assert set(counts["status"]) <= {STATUS_EXACT, STATUS_CONTRADICTED, STATUS_OUTSIDE}
    outside = set(counts.loc[counts["status"] == STATUS_OUTSIDE, "id"])
    table2_total = published.loc[published.index.str.fullmatch(r"table2\.histology\.[a-z_]+"), "value"].sum()
    assert table2_total != len(load_dataset(DATA_DIR).cohort)
    assert outside <= {f"table2.histology.{slug(HISTOLOGY_ADJUSTED_SUBTYPE)}"}


def test_orr_row_is_exact(table: pd.DataFrame) -> None:
    row = table.set_index("id").loc["results.response.orr"]
    assert row["status"] == STATUS_EXACT
    assert (round(row["reproduced_lower"], 1), round(row["reproduced_upper"], 1)) == (28.3, 46.8)


def test_not_reproducible_numbers(table: pd.DataFrame) -> None:
    statuses = table.set_index("id")["status"]
    assert statuses["methods.cisplatin.dose.min"] == STATUS_NOT_REPRODUCIBLE
    assert statuses["paper.meta.title"] == STATUS_NOT_REPRODUCIBLE


def test_survival_rows_hold_the_registry_values(table: pd.DataFrame, dataset: Dataset) -> None:
    from aice_helpers.stats.survival import median_spss

    direct = median_spss(dataset.cohort["pfs_months"], dataset.cohort["pfs_event"])
    row = table.set_index("id").loc["results.survival.pfs.median"]
    assert (row["reproduced"], row["reproduced_lower"], row["reproduced_upper"]) == \
        pytest.approx((direct.estimate, direct.lower, direct.upper))
    assert row["difference"] == pytest.approx(direct.estimate - 11.0)


def test_summary_counts_every_row(table: pd.DataFrame) -> None:
    summary = scorecard_summary(table)
    assert list(summary.columns) == [*SCORECARD_STATUSES, "total"]
    assert summary.at["all", "total"] == len(table)
    assert summary.loc["table1", "total"] == (table["section"] == "table1").sum()
    assert (summary.drop(index="all").sum() == summary.loc["all"]).all()


def test_sections_filter(dataset: Dataset, published: pd.DataFrame) -> None:
    result = scorecard_table(dataset, published, sections=["table3"], contradicted=())
    assert set(result["section"]) == {"table3"} and len(result) == 21
    prefixed = scorecard_table(dataset, published, sections=["results.survival"], contradicted=())
    assert prefixed["id"].str.startswith("results.survival.").all()


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv"])
def test_rendered_formats(table: pd.DataFrame, published: pd.DataFrame, fmt: str) -> None:
    text = scorecard.rendered_scorecard(table, published, fmt)
    assert "results.response.orr" in text
    assert "37.2 (28.3–46.8)" in text or fmt == "csv"


# ----------------------------------------------------------------------------- command line


def run_scorecard_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Return the finished ``python -m aice_helpers scorecard ARGUMENTS`` (the project's virtualenv)."""
    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([python, "-m", "aice_helpers", "scorecard", *arguments], capture_output=True, text=True,
                          env=environment, cwd=REPO, check=False)


def test_cli_csv(published: pd.DataFrame) -> None:
    result = run_scorecard_cli("--format", "csv")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout), dtype={"published": str})
    assert set(REQUIRED_CSV_COLUMNS) <= set(frame.columns)
    assert list(frame["id"]) == list(published.index)
    assert set(frame["status"]) <= set(SCORECARD_STATUSES)


def test_cli_section_text() -> None:
    result = run_scorecard_cli("--section", "table4")
    assert result.returncode == 0, result.stderr
    assert "table4.nlr.hr" in result.stdout and "table3." not in result.stdout


def test_cli_broken_data_folder_exits_1_without_traceback(tmp_path: Path) -> None:
    for path in DATA_DIR.glob("*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    cohort = (tmp_path / COHORT_FILE).read_text(encoding="utf-8").replace(",male,", ",robot,", 1)
    (tmp_path / COHORT_FILE).write_text(cohort, encoding="utf-8")
    result = run_scorecard_cli("--data", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "robot" in result.stderr and COHORT_FILE in result.stderr
    assert result.stdout == ""


def test_cli_missing_data_folder_exits_1_without_traceback(tmp_path: Path) -> None:
    result = run_scorecard_cli("--data", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "not found" in result.stderr


def test_only_contradictions_mark_a_number(published: pd.DataFrame) -> None:
    """The audit's inconsistencies (a percentage one rounding step off) never make a number 'contradicted'."""
    findings = compare.audit_findings(published)
    marked = compare.contradicted_by_audit(published)
    inconsistent = {i for f in findings if f.severity == "inconsistency" for i in f.ids}
    only_inconsistent = inconsistent - {i for f in findings if f.severity == "contradiction" for i in f.ids}
    assert only_inconsistent and not (only_inconsistent & marked)


# ----------------------------------------------------------------------------- for the chapters


def test_chapter_scorecard_selects_by_prefix(dataset: Dataset, published: pd.DataFrame, table: pd.DataFrame) -> None:
    rows = scorecard.chapter_scorecard(scorecard.verdicts_of(dataset, published), ("results.response.", "abstract.orr"))
    assert list(rows.columns) == list(scorecard.CHAPTER_COLUMNS)
    assert list(rows.index) == list(range(len(rows)))
    expected = ([i for i in published.index if i.startswith("results.response.")]
                + [i for i in published.index if i.startswith("abstract.orr")])
    assert list(rows["id"]) == expected  # in the order of the prefixes, then the paper's
    by_id = rows.set_index("id")
    assert by_id.loc["results.response.pr", "published"] == "42"
    assert by_id.loc["results.response.orr", "published"] == "37.2 (28.3–46.8)"
    assert by_id.loc["results.response.orr", "status"] == STATUS_EXACT
    statuses = table.set_index("id").loc[expected, "status"]
    assert list(rows["status"]) == list(statuses)


def test_chapter_scorecard_marks_contradictions_and_handles_no_match(dataset: Dataset,
                                                                     published: pd.DataFrame) -> None:
    rows = scorecard.chapter_scorecard(scorecard.verdicts_of(dataset, published), ("table5.nausea_vomiting.",)).set_index("id")
    assert rows.loc["table5.nausea_vomiting.total.pct", "status"] == STATUS_CONTRADICTED
    assert rows.loc["table5.nausea_vomiting.total", "status"] == STATUS_EXACT
    for prefixes in [(), ("nothing.like.this",)]:
        empty = scorecard.chapter_scorecard(scorecard.verdicts_of(dataset, published), prefixes)
        assert empty.empty and list(empty.columns) == list(scorecard.CHAPTER_COLUMNS)


def test_chapter_scorecard_without_the_optional_files(tmp_path: Path, published: pd.DataFrame) -> None:
    (tmp_path / COHORT_FILE).write_bytes((DATA_DIR / COHORT_FILE).read_bytes())
    rows = scorecard.chapter_scorecard(
        scorecard.verdicts_of(load_dataset(tmp_path, required=(COHORT_FILE,)), published), ("safety.",))
    by_id = rows.set_index("id")
    assert by_id.loc["safety.procedures", "status"] == STATUS_NOT_REPRODUCIBLE
    assert by_id.loc["safety.n_patients", "status"] == STATUS_EXACT


def test_status_counts_text() -> None:
    frame = pd.DataFrame({"status": [STATUS_EXACT, STATUS_EXACT, STATUS_OUTSIDE]})
    assert scorecard.status_counts_text(frame) == "Of the 3 published numbers here: 2 exact and 1 outside tolerance."
    assert scorecard.status_counts_text(frame.head(1)) == "Of the 1 published number here: 1 exact."
    assert "No published number" in scorecard.status_counts_text(frame.head(0))


def test_sections_in_paper_order() -> None:
    assert scorecard.ordered_sections(["table2", "abstract", "zzz", "table2", "discussion"]) == [
        "abstract", "table2", "discussion", "zzz"]
    assert scorecard.section_title("table3") == "Table 3" and scorecard.section_title("zzz") == "zzz"
    assert set(scorecard.SECTION_ORDER) == set(scorecard.SECTION_TITLES)


def test_summary_by_section(table: pd.DataFrame) -> None:
    summary = scorecard.summary_by_section(table)
    assert summary.index[0] == "Abstract" and summary.index[-1] == scorecard.ALL_SECTIONS_LABEL
    assert summary.loc[scorecard.ALL_SECTIONS_LABEL, "total"] == len(table)
    assert summary.drop(index=scorecard.ALL_SECTIONS_LABEL)["total"].sum() == len(table)
    assert list(summary.columns) == [*SCORECARD_STATUSES, "total"]


def test_scorecard_by_section_keeps_every_row(table: pd.DataFrame, published: pd.DataFrame) -> None:
    shown = scorecard.scorecard_by_section(table, published)
    assert list(shown.index.names) == ["section", "id"] and len(shown) == len(table)
    assert set(shown.index.get_level_values("id")) == set(table["id"])
    sections = list(dict.fromkeys(shown.index.get_level_values("section")))
    assert sections == [scorecard.section_title(s) for s in scorecard.ordered_sections(list(table["section"]))]
    assert shown.loc[("Table 1", "table1.sex.male"), "status"] == STATUS_EXACT


def test_rows_with_status(table: pd.DataFrame, published: pd.DataFrame) -> None:
    outside = scorecard.rows_with_status(table, published, STATUS_OUTSIDE)
    assert list(outside.columns) == ["quantity", "published", "reproduced", "difference", "note"]
    assert set(outside.index) == set(table.loc[table["status"] == STATUS_OUTSIDE, "id"])
    assert scorecard.rows_with_status(table.head(0), published, STATUS_OUTSIDE).empty


def test_tolerance_table_explains_every_kind(table: pd.DataFrame) -> None:
    plain = scorecard.tolerance_table()
    assert list(plain.columns) == ["tolerance", "why"]
    assert len(plain) == len(scorecard.TOLERANCE_REASONS) == len(scorecard.TOLERANCES) - 1
    assert plain.loc["count", "tolerance"] == "exact" and plain["why"].str.len().min() > 60
    counted = scorecard.tolerance_table(table)
    compared = table[table["status"] != STATUS_NOT_REPRODUCIBLE]
    assert counted["numbers compared"].sum() == len(compared[compared["quantity"].isin(counted.index)])
    assert counted.loc["hazard ratio (95% CI)", "numbers compared"] > 0


def test_scorecard_status_bars(table: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from aice_helpers.pages import plots

    summary = scorecard.summary_by_section(table)
    figure = plots.scorecard_status_bars(summary)
    ax = figure.axes[0]
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels == list(summary.index[:-1])  # the 'all sections' row is left out
    widths = sum(patch.get_width() for patch in ax.patches)
    assert widths == pytest.approx(len(table))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(SCORECARD_STATUSES)
    plots.plt.close(figure)


def test_first_prefix() -> None:
    assert scorecard.first_prefix("table5.pain.a", ("safety.", "table5.")) == 1
    assert scorecard.first_prefix("abstract.orr", ("safety.", "table5.")) == 2


def test_page_table_fixes_widths_and_wraps(table: pd.DataFrame, published: pd.DataFrame) -> None:
    shown = scorecard.scorecard_by_section(table, published).head(3)
    html = scorecard.page_table(shown, scorecard.SCORECARD_TABLE_WIDTHS).to_html()
    assert "table-layout: fixed" in html and "overflow-wrap: anywhere" in html
    assert "th:nth-child(1)" in html and "width: 9%" in html  # the section level of the index
    assert "th:nth-child(8)" in html  # the last column, status
    assert 'class="dataframe"' in html and "abstract.n_patients" in html
    again = scorecard.page_table(shown, scorecard.SCORECARD_TABLE_WIDTHS).to_html()
    assert html == again  # deterministic: the stored notebook outputs do not change between runs
    assert sum(float(width.rstrip("%")) for width in scorecard.SCORECARD_TABLE_WIDTHS.values()) == 100
    for widths in (scorecard.CHAPTER_TABLE_WIDTHS, scorecard.STATUS_ROWS_WIDTHS, scorecard.TOLERANCE_TABLE_WIDTHS):
        assert sum(float(width.rstrip("%")) for width in widths.values()) == 100


def test_implied_standard_errors_invert_a_wald_interval() -> None:
    """An interval built as exp(log HR ± 1.96·SE) gives its SE back; other rows are ignored."""
    se, log_hr = 0.3, math.log(1.7)
    z = 1.959963984540054
    frame = pd.DataFrame({"unit": ["ratio", "ratio", "%"], "table": ["Table 3", "Table 1", "Table 3"],
                          "lower": [math.exp(log_hr - z * se), 1.0, 1.0], "upper": [math.exp(log_hr + z * se), 2.0, 2.0]},
                         index=["a", "b", "c"])
    implied = scorecard.implied_log_hr_standard_errors(frame)
    assert list(implied.index) == ["a"] and implied["a"] == pytest.approx(se, rel=1e-12)


def test_two_sided_p_of_familiar_z_values() -> None:
    """z = 1.96 gives P = 0.05; the sign does not matter."""
    assert scorecard.two_sided_p(1.959963984540054) == pytest.approx(0.05, rel=1e-12)
    assert scorecard.two_sided_p(-2.5) == scorecard.two_sided_p(2.5) == pytest.approx(0.0124193, rel=1e-5)

"""Tables and figures to take away: CSV, Excel and Word for tables, PDF/SVG/PNG for figures, read back with pandas,
openpyxl and python-docx; small counts masked as on the page; no file without a folder, the same links always."""

from __future__ import annotations

from pathlib import Path

import docx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402

from aice_helpers.book.execute import downloads_settings  # noqa: E402
from aice_helpers.pages import downloads  # noqa: E402
from aice_helpers.pages.tables import masked_small_counts  # noqa: E402


def settings(folder: Path, chapter: str = "02_survival") -> dict[str, str]:
    """Return the environment the executor gives a chapter."""
    return {downloads.DOWNLOADS_DIR_ENV: str(folder), downloads.CHAPTER_ENV: chapter}


def counts_table() -> pd.DataFrame:
    """Return a small counts table as a chapter shows it (labels as the index)."""
    table = pd.DataFrame({"level": ["male", "female", "unknown"], "n": [60, 50, 3],
                          "percent": [53.1, 44.2, 2.7]}).set_index("level")
    table.index.name = "sex"
    return table


def test_table_files_read_back(tmp_path: Path) -> None:
    """The three files hold the table's labels and numbers; the Word table is a real table with a title and a note."""
    table = counts_table()
    result = downloads.table_downloads(table, "table 1/sex", synthetic=True, environ=settings(tmp_path))
    folder = tmp_path / "02_survival"
    assert set(result.paths) == {"csv", "xlsx", "docx"}
    assert all(path.parent == folder and path.stem == "table_1_sex" for path in result.paths.values())
    csv = pd.read_csv(result.paths["csv"])
    assert list(csv.columns) == ["sex", "n", "percent"]
    assert csv["n"].tolist() == [60, 50, 3] and csv["percent"].tolist() == [53.1, 44.2, 2.7]
    excel = pd.read_excel(result.paths["xlsx"], engine="openpyxl")
    pd.testing.assert_frame_equal(excel, csv)
    assert openpyxl.load_workbook(result.paths["xlsx"]).sheetnames == ["table 1_sex"]
    document = docx.Document(str(result.paths["docx"]))
    assert document.paragraphs[0].text == "table 1/sex" and document.paragraphs[0].runs[0].bold
    assert document.paragraphs[-1].text == downloads.SYNTHETIC_NOTE
    (word,) = document.tables
    cells = [[cell.text for cell in row.cells] for row in word.rows]
    assert cells == [["sex", "n", "percent"], ["male", "60", "53.10"], ["female", "50", "44.20"],
                     ["unknown", "3", "2.70"]]
    assert 'href="downloads/02_survival/table_1_sex.docx"' in result.html and "Word" in result.html
    assert "tmp" not in repr(result)  # the text form is the link line, no local path


def test_downloads_masked_as_the_page(tmp_path: Path) -> None:
    """With a minimum cell of 5 the files hold exactly what the page shows: '<5' and secondary suppression."""
    table = counts_table()
    result = downloads.table_downloads(table, "sex", min_cell=5, environ=settings(tmp_path))
    shown = downloads.flat_table(masked_small_counts(table, 5)).astype(str)
    csv = pd.read_csv(result.paths["csv"], dtype=str)
    assert csv.to_dict() == shown.to_dict()
    assert "<5" in csv["n"].tolist() and "3" not in csv["n"].tolist()
    document = docx.Document(str(result.paths["docx"]))
    assert "3" not in [row.cells[1].text for row in document.tables[0].rows]


def test_no_folder_no_files_same_links(tmp_path: Path) -> None:
    """Without the executor's folder (a notebook opened by hand) nothing is written, and the links are the same."""
    written = downloads.table_downloads(counts_table(), "sex", environ=settings(tmp_path))
    unset = downloads.table_downloads(counts_table(), "sex", environ={downloads.CHAPTER_ENV: "02_survival"})
    assert unset.paths == {} and unset.html == written.html


def test_figure_files(tmp_path: Path) -> None:
    """A figure goes out as PDF, SVG and a 300-dpi PNG, linked from the page."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [1, 0])
    ax.set_title("Figure 2. Synthetic cohort")
    result = downloads.figure_downloads(fig, "figure2", environ=settings(tmp_path))
    plt.close(fig)
    assert set(result.paths) == {"pdf", "svg", "png"}
    assert result.paths["pdf"].read_bytes().startswith(b"%PDF")
    assert b"<svg" in result.paths["svg"].read_bytes()
    from PIL import Image  # reason: only this test reads the image's resolution

    with Image.open(result.paths["png"]) as image:
        assert round(image.info["dpi"][0]) == 300
    assert 'href="downloads/02_survival/figure2.png"' in result.html


def test_executor_settings_put_files_beside_the_executed_copy(tmp_path: Path) -> None:
    """The executor sends a chapter's files to <executed folder>/downloads/<chapter>/, where the extension finds them."""
    values = downloads_settings(Path("notebooks/02_survival.ipynb"), tmp_path / "stage" / "02_survival.ipynb")
    assert values == {downloads.DOWNLOADS_DIR_ENV: str((tmp_path / "stage" / "downloads").resolve()),
                      downloads.CHAPTER_ENV: "02_survival"}

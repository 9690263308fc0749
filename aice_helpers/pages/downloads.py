"""A chapter's tables and figures to take away: CSV, Excel and Word for tables, PDF, SVG and PNG for figures.

The chapter executor (``book.execute``) tells a chapter where its files go with two settings from the
environment: ``AICE_DOWNLOADS_DIR`` (the folder beside the executed notebooks, published with the HTML
by ``book.extension``) and ``AICE_CHAPTER`` (the chapter's file stem, its subfolder there). The page links
to ``downloads/<chapter>/<file>``, relative to the page. Without the folder setting (a notebook opened by
hand) no file is written but the links are the same, so that stored outputs do not depend on it.

Only what a table shows is written: the same small-count masking the page applies (``tables.masked_small_counts``)
is applied to the files, and a table never holds patient rows.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from aice_helpers.contract import MISSING_MARK
from aice_helpers.pages.plots import (
    DOWNLOAD_FORMATS,
    DOWNLOAD_LABELS,
    safe_file_stem,
    save_figure_downloads,
)
from aice_helpers.pages.tables import masked_small_counts

__all__ = [
    "DOWNLOADS_DIR_ENV",
    "CHAPTER_ENV",
    "DEFAULT_CHAPTER",
    "LINK_FOLDER",
    "TABLE_FORMATS",
    "TABLE_LABELS",
    "SYNTHETIC_NOTE",
    "EXCEL_SHEET_CHARS",
    "Downloads",
    "downloads_folder",
    "chapter_stem",
    "link_base",
    "flat_table",
    "cell_text",
    "write_csv",
    "write_excel",
    "write_word",
    "links_html",
    "table_downloads",
    "figure_downloads",
]

DOWNLOADS_DIR_ENV = "AICE_DOWNLOADS_DIR"
CHAPTER_ENV = "AICE_CHAPTER"
DEFAULT_CHAPTER = "chapter"
LINK_FOLDER = "downloads"
TABLE_FORMATS = ("csv", "xlsx", "docx")
TABLE_LABELS = {"csv": "CSV", "xlsx": "Excel", "docx": "Word"}
SYNTHETIC_NOTE = "Synthetic cohort: computed from the book's stand-in data, not from the study's patients."
EXCEL_SHEET_CHARS = 31  # Excel's limit on a sheet name
WORD_FONT_PT = 9


@dataclass(frozen=True)
class Downloads:
    """The files one table or figure was written to (empty when no folder is set) and the page's link line."""

    paths: Mapping[str, Path]
    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return re.sub(r"<[^>]+>", "", self.html)  # the link line as plain text (no local paths)


def downloads_folder(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Return the folder this chapter's files go to (``AICE_DOWNLOADS_DIR``/``AICE_CHAPTER``), None when unset."""
    root = environ.get(DOWNLOADS_DIR_ENV, "").strip()
    return Path(root) / chapter_stem(environ) if root else None


def chapter_stem(environ: Mapping[str, str] = os.environ) -> str:
    """Return the chapter's file stem (``AICE_CHAPTER``; 'chapter' when unset)."""
    return safe_file_stem(environ.get(CHAPTER_ENV, "").strip() or DEFAULT_CHAPTER)


def link_base(environ: Mapping[str, str] = os.environ) -> str:
    """Return the links' folder relative to the chapter's page: downloads/<chapter>."""
    return f"{LINK_FOLDER}/{chapter_stem(environ)}"


def flat_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return the table with its index as leading columns and one header row (levels joined), for files."""
    flat = table.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(str(part) for part in column if str(part) and not str(part).startswith("Unnamed"))
                        for column in flat.columns]
    else:
        flat.columns = [str(column) for column in flat.columns]
    if isinstance(flat.index, pd.RangeIndex) and flat.index.name is None:
        return flat
    names = list(flat.index.names)
    flat.index = flat.index.set_names([str(name) if name is not None else " " * i for i, name in enumerate(names)])
    flat = flat.reset_index()
    return flat


def cell_text(value: object) -> str:
    """Return a cell as a journal prints it: a dash for missing, whole numbers without decimals, two decimals
    (two significant digits below 0.01)."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return MISSING_MARK
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value)}"
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.01:
            return f"{value:.2g}"
        return f"{value:.2f}"
    return str(value)


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write the table as UTF-8 CSV (index as columns) and return the path."""
    flat_table(table).to_csv(path, index=False, encoding="utf-8")
    return path


def write_excel(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Write the table as one Excel sheet (named after the title, index as columns) and return the path."""
    sheet = re.sub(r"[\[\]:*?/\\]", "_", title)[:EXCEL_SHEET_CHARS] or "table"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        flat_table(table).to_excel(writer, sheet_name=sheet, index=False)
    return path


def _border(cell: object, sides: Mapping[str, str]) -> None:
    """Set a Word table cell's borders (side → 'single' or 'nil')."""
    properties = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for side, kind in sides.items():
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), kind)
        if kind != "nil":
            element.set(qn("w:sz"), "8")
            element.set(qn("w:color"), "000000")
        borders.append(element)
    properties.append(borders)


def write_word(table: pd.DataFrame, path: Path, title: str, note: str | None = None) -> Path:
    """Write the table as a journal-style Word table (title above; rules above and below the header and at the
    foot, none between rows; a note below) and return the path."""
    flat = flat_table(table)
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(WORD_FONT_PT)
    heading = document.add_paragraph()
    heading.add_run(title).bold = True
    grid = document.add_table(rows=len(flat) + 1, cols=len(flat.columns))
    last = len(flat)
    for j, column in enumerate(flat.columns):
        cell = grid.rows[0].cells[j]
        cell.text = str(column)
        cell.paragraphs[0].runs[0].bold = True
        _border(cell, {"top": "single", "bottom": "single", "left": "nil", "right": "nil"})
    for i, row in enumerate(flat.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            cell = grid.rows[i].cells[j]
            cell.text = cell_text(value)
            if j > 0 and not isinstance(value, str):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _border(cell, {"top": "nil", "bottom": "single" if i == last else "nil", "left": "nil", "right": "nil"})
    if note:
        document.add_paragraph(note).runs[0].italic = True
    document.core_properties.title = title
    document.save(path)
    return path


def links_html(kind: str, base: str, stem: str, formats: tuple[str, ...], labels: Mapping[str, str]) -> str:
    """Return the small line of links under a table or figure ('Download this table: CSV · Excel · Word')."""
    links = " · ".join(f'<a href="{html.escape(base)}/{html.escape(stem)}.{extension}" download>'
                       f"{html.escape(labels[extension])}</a>" for extension in formats)
    return f'<p class="aice-downloads"><small>Download this {kind}: {links}</small></p>'


def table_downloads(table: pd.DataFrame, name: str, min_cell: int = 0, synthetic: bool = False,
                    environ: Mapping[str, str] = os.environ) -> Downloads:
    """Write a shown table as name.csv, name.xlsx and name.docx (small counts masked as on the page) into the
    chapter's downloads folder, and return the files and the page's link line."""
    stem = safe_file_stem(name)
    folder = downloads_folder(environ)
    paths: dict[str, Path] = {}
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        masked = masked_small_counts(table, min_cell)
        title = str(name)
        note = SYNTHETIC_NOTE if synthetic else None
        paths = {"csv": write_csv(masked, folder / f"{stem}.csv"),
                 "xlsx": write_excel(masked, folder / f"{stem}.xlsx", title),
                 "docx": write_word(masked, folder / f"{stem}.docx", title, note)}
    return Downloads(paths, links_html("table", link_base(environ), stem, TABLE_FORMATS, TABLE_LABELS))


def figure_downloads(fig: object, name: str, environ: Mapping[str, str] = os.environ) -> Downloads:
    """Write a figure as name.pdf, name.svg and name.png (300 dpi) into the chapter's downloads folder, and return
    the files and the page's link line."""
    stem = safe_file_stem(name)
    folder = downloads_folder(environ)
    paths: dict[str, Path] = {}
    if folder is not None:
        paths = dict(save_figure_downloads(fig, stem, folder).paths)
    return Downloads(paths, links_html("figure", link_base(environ), stem, DOWNLOAD_FORMATS, DOWNLOAD_LABELS))


"""What every chapter does first: load and validate the data, decide whether to compare with the paper.

Three settings come from the environment, so that ``aice rerun`` can pass them to every chapter it
executes without a notebook parameter: ``AICE_REQUIRED_COLUMNS`` (JSON, {file name: [columns]}) lets
a chapter run on data that has only the columns it needs; ``AICE_MIN_CELL`` (a whole number) shows
every table count from 1 to N - 1 as "<N" with complementary suppression (see ``tables.masked_small_counts``)
and stops Kaplan–Meier curves where fewer than N patients are at risk (``plots.set_small_count_threshold``); and
``AICE_DATA_VALIDATED=1`` says the folder is a copy the rerun has already validated, so it is read
without checking it again (``data.load_validated_dataset``), which saves a minute per chapter at a
million patients.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from aice_helpers.contract import CONTRACT, DATA_DIR
from aice_helpers.data import ALL_FILES, Dataset, load_dataset, load_validated_dataset
from aice_helpers.pages.downloads import Downloads, figure_downloads, table_downloads
from aice_helpers.pages.plots import set_small_count_threshold, use_book_style
from aice_helpers.pages.tables import for_display, install_table_display

__all__ = [
    "REQUIRED_COLUMNS_ENV",
    "MIN_CELL_ENV",
    "VALIDATED_ENV",
    "DISPLAY_OPTIONS",
    "Chapter",
    "is_default_data",
    "min_cell_setting",
    "validated_setting",
    "required_columns_setting",
    "open_chapter",
]

REQUIRED_COLUMNS_ENV = "AICE_REQUIRED_COLUMNS"
MIN_CELL_ENV = "AICE_MIN_CELL"
VALIDATED_ENV = "AICE_DATA_VALIDATED"

DISPLAY_OPTIONS = {"display.max_rows": 200, "display.max_columns": 20, "display.width": 120,
                   "display.precision": 2, "display.max_colwidth": 60}


@dataclass
class Chapter:
    """The data a chapter works on and whether the paper's numbers are set beside its results.

    ``verdicts`` (the status of every published number, from ``paper.compare``) and ``published``
    exist only when the chapter compares with the paper; otherwise both are None and ``paper/`` is
    never imported, so a rerun on another cohort runs without the paper.
    """

    dataset: Dataset
    data_dir: Path
    default_data: bool
    compare: bool
    min_cell: int = 0
    verdicts: Any = None

    def show(self, table: pd.DataFrame | None, name: str | None = None) -> pd.DataFrame | None:
        """Return a table as the chapter shows it (the paper's columns only when comparing); None shows nothing.

        ``name`` names the table for its downloads (files named after it, written beside the page).
        """
        if table is None:
            return None
        shown = for_display(table, self.compare)
        if name is not None:
            downloads = table_downloads(shown, name, self.min_cell, synthetic=self.default_data)
            _display_after_cell(downloads)
        return shown

    def figure_downloads(self, fig: Any, name: str) -> Downloads:
        """Write a figure as PDF, SVG and 300-dpi PNG beside the page and return the line of links (shown when it
        is a cell's last expression)."""
        return figure_downloads(fig, name)

    @property
    def published(self) -> pd.DataFrame | None:
        """Return the paper's numbers (None when the chapter does not compare with the paper)."""
        return None if self.verdicts is None else self.verdicts.published

    @property
    def n_patients(self) -> int:
        """Return the number of patients in the cohort."""
        return len(self.dataset.cohort)


def _display_after_cell(item: Any) -> None:
    """Show ``item`` under the current cell's result (the table it belongs to), once; at once outside IPython."""
    try:
        from IPython import get_ipython  # reason: only inside a notebook kernel
        from IPython.display import display  # reason: only inside a notebook kernel
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def show_once(result: Any) -> None:
        shell.events.unregister("post_run_cell", show_once)
        display(item)

    shell.events.register("post_run_cell", show_once)


def is_default_data(data_dir: Path) -> bool:
    """Return True when the folder is the book's own synthetic cohort."""
    return data_dir.resolve() == DATA_DIR.resolve()


def min_cell_setting(environ: Mapping[str, str] = os.environ) -> int:
    """Return the smallest count tables may show (``AICE_MIN_CELL``; 0 when unset: nothing suppressed)."""
    text = environ.get(MIN_CELL_ENV, "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(f"{MIN_CELL_ENV} must be a whole number >= 0, not {text!r}")
    return int(text)


def validated_setting(environ: Mapping[str, str] = os.environ) -> bool:
    """Return True when the data folder was validated by ``aice rerun`` (``AICE_DATA_VALIDATED=1``)."""
    return environ.get(VALIDATED_ENV, "").strip() == "1"


def required_columns_setting(environ: Mapping[str, str] = os.environ) -> dict[str, list[str]] | None:
    """Return {file name: columns the chapter needs} from ``AICE_REQUIRED_COLUMNS`` (None when unset)."""
    text = environ.get(REQUIRED_COLUMNS_ENV, "").strip()
    if not text:
        return None
    setting = json.loads(text)
    if not isinstance(setting, dict) or not set(setting) <= set(CONTRACT) or not all(
            isinstance(names, list) and all(isinstance(name, str) for name in names) for names in setting.values()):
        raise ValueError(f"{REQUIRED_COLUMNS_ENV} must map contract file names to lists of column names: {text}")
    return setting


def open_chapter(data_dir: str | Path | None = None, compare_with_published: bool | None = None,
                 required: tuple[str, ...] | None = None) -> Chapter:
    """Return the chapter's validated data, with the book's style and table display set.

    ``compare_with_published=None`` compares with the paper only on the book's own data: on
    someone else's cohort the published numbers are not a target.
    """
    folder = DATA_DIR if data_dir in (None, "") else Path(data_dir).expanduser()
    files = ALL_FILES if required is None else required
    loader = load_validated_dataset if validated_setting() else load_dataset
    dataset = loader(folder, required=files, required_columns=required_columns_setting())
    default = is_default_data(folder)
    use_book_style(synthetic=default)
    for option, value in DISPLAY_OPTIONS.items():
        pd.set_option(option, value)
    min_cell = min_cell_setting()
    install_table_display(min_cell)
    set_small_count_threshold(min_cell)
    compare = default if compare_with_published is None else bool(compare_with_published)
    verdicts = None
    if compare:
        from aice_helpers.paper.scorecard import (
            verdicts_of,  # reason: a rerun never loads paper/
        )

        verdicts = verdicts_of(dataset)
    return Chapter(dataset=dataset, data_dir=folder, default_data=default, compare=compare, min_cell=min_cell,
                   verdicts=verdicts)

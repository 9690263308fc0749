"""What every chapter does first: load and validate the data, decide whether to compare with the paper."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from aice_helpers.contract import DATA_DIR
from aice_helpers.data import Dataset, load_dataset
from aice_helpers.plots import use_book_style

DISPLAY_OPTIONS = {"display.max_rows": 200, "display.max_columns": 20, "display.width": 120,
                   "display.precision": 2, "display.max_colwidth": 60}


@dataclass(frozen=True)
class Chapter:
    """The data a chapter works on and whether the paper's numbers are set beside its results."""

    dataset: Dataset
    data_dir: Path
    default_data: bool
    compare: bool

    @property
    def n_patients(self) -> int:
        """Return the number of patients in the cohort."""
        return len(self.dataset.cohort)


def is_default_data(data_dir: Path) -> bool:
    """Return True when the folder is the book's own synthetic cohort."""
    return data_dir.resolve() == DATA_DIR.resolve()


def open_chapter(data_dir: str | Path | None = None, compare_with_published: bool | None = None,
                 required: tuple[str, ...] | None = None) -> Chapter:
    """Return the chapter's validated data, with the book's style and table display set.

    ``compare_with_published=None`` compares with the paper only on the book's own data: on
    someone else's cohort the published numbers are not a target.
    """
    folder = DATA_DIR if data_dir in (None, "") else Path(data_dir).expanduser()
    dataset = load_dataset(folder) if required is None else load_dataset(folder, required=required)
    default = is_default_data(folder)
    use_book_style()
    for option, value in DISPLAY_OPTIONS.items():
        pd.set_option(option, value)
    compare = default if compare_with_published is None else bool(compare_with_published)
    return Chapter(dataset=dataset, data_dir=folder, default_data=default, compare=compare)

"""Shared test settings: markers and the location of the built book."""

from pathlib import Path

import pandas as pd
import pytest

from aice_helpers.contract import DATA_DIR
from aice_helpers.data import Dataset, load_dataset
from aice_helpers.published import load_published

REPO = Path(__file__).resolve().parent.parent
BUILT_HTML = REPO / "_build" / "html"


def pytest_configure(config: pytest.Config) -> None:
    """Register the project's markers."""
    config.addinivalue_line("markers", "book: needs the built book in _build/html (make book)")


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """Return the committed data (the book's synthetic cohort)."""
    return load_dataset(DATA_DIR)


@pytest.fixture(scope="session")
def published() -> pd.DataFrame:
    """Return every published number."""
    return load_published()


def verdicts_for(published: pd.DataFrame, cohort: pd.DataFrame, *sections, adverse_events: pd.DataFrame | None = None,
                 procedures: pd.DataFrame | None = None, contradicted=frozenset()):
    """Return the one verdict on the published numbers for a small test cohort (paper.compare.Verdicts).

    ``sections`` are functions of paper.reproduce (dataset -> reproduced values); without any, every section.
    """
    from aice_helpers.paper.compare import (
        Verdicts,  # reason: tests import the layers they test, lazily
    )
    from aice_helpers.paper.reproduce import (  # reason: as above
        derived_values,
        reproduced_values,
    )

    dataset = Dataset(cohort, procedures, adverse_events)
    if not sections:
        return Verdicts.of(published, reproduced_values(dataset, published), contradicted)
    values = {}
    for section in sections:
        values |= section(dataset)
    values = {entry_id: value for entry_id, value in values.items() if entry_id in published.index}
    if {"of", "see_also", "unit"} <= set(published.columns):
        values |= derived_values(published, values, len(cohort))
    return Verdicts.of(published, values, contradicted)

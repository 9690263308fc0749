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

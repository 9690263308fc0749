"""Shared test settings: markers and the location of the built book."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILT_HTML = REPO / "_build" / "html"


def pytest_configure(config: pytest.Config) -> None:
    """Register the project's markers."""
    config.addinivalue_line("markers", "book: needs the built book in _build/html (make book)")

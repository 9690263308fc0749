"""``aice rerun`` end to end on what a hospital exports: the book it writes has the default build's figures.

One rerun is built per module (about two minutes): a small cohort written as a hospital would keep it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from aice_helpers.book import rerun
from aice_helpers.contract import REPO_DIR
from aice_helpers.synthetic.scale import write_scaled_cohort

# Figures drawing one mark per patient: a rerun leaves them out on purpose (aggregates only).
PER_PATIENT_FIGURE_CALLS = ("waterfall_plot(", "swimmer_plot(")
IMAGE = re.compile(r"<img\b")


def rerun_command(*arguments: str) -> subprocess.CompletedProcess:
    """Run ``python -m aice_helpers rerun`` as a user would (with a non-interactive backend set, as on a server)."""
    environment = dict(os.environ, PYTHONPATH=str(REPO_DIR), MPLBACKEND="agg")
    return subprocess.run([sys.executable, "-m", "aice_helpers", "rerun", *arguments], capture_output=True,
                          text=True, env=environment, cwd=REPO_DIR)


def stored_figures(name: str) -> int:
    """Return the figures a chapter shows in the default build (its stored outputs), per-patient ones not counted."""
    notebook = nbformat.read(REPO_DIR / "notebooks" / f"{name}.ipynb", as_version=4)
    return sum(1 for cell in notebook.cells if cell.cell_type == "code"
               and not any(call in cell.source for call in PER_PATIENT_FIGURE_CALLS)
               for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 60-patient cohort rerun into a book."""
    base = tmp_path_factory.mktemp("inputs")
    write_scaled_cohort(base / "study", 60, seed=12)
    out = base / "book"
    process = rerun_command("--data", str(base / "study"), "--out", str(out))
    return {"out": out, "process": process}


@pytest.mark.parametrize("name", list(rerun.CHAPTER_REQUIREMENTS))
def test_every_results_chapter_of_a_rerun_shows_the_default_builds_figures(built: dict, name: str) -> None:
    """Each chapter's page holds as many images as the default build's (0 only where all are per-patient)."""
    assert built["process"].returncode == 0, built["process"].stderr[-3000:]
    html = (built["out"] / "_build" / "html" / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
    expected = stored_figures(name)
    assert len(IMAGE.findall(html)) == expected, name
    if name != "05_response":  # the response chapter's two figures are per-patient (waterfall, swimmer)
        assert expected > 0, name

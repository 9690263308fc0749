"""Build-time checks and tidying of executed chapter notebooks (used by the Makefile).

    python tools/notebook_tools.py check NOTEBOOK     fail on an error or anything written to stderr
    python tools/notebook_tools.py prepare NOTEBOOK   hide papermill's injected-parameters cell
    python tools/notebook_tools.py store SRC DST      store executed outputs as the nbval baseline
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

INJECTED_TAG = "injected-parameters"
REMOVE_TAG = "remove-cell"
VOLATILE_METADATA = ("papermill", "execution")


def problems_in(notebook: nbformat.NotebookNode) -> list[str]:
    """Return one line per error or stderr output (warnings included) in an executed notebook."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index} wrote to stderr (warnings are errors): {output.get('text', '').strip()}")
    return found


def with_injected_cell_hidden(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook with papermill's injected-parameters cell tagged for removal from the page."""
    for cell in notebook.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            tags.append(REMOVE_TAG)
    return notebook


def without_run_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook without injected cells and without timings that change on every run."""
    notebook.cells = [c for c in notebook.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    for key in VOLATILE_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in VOLATILE_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return notebook


def main(argv: list[str]) -> int:
    """Run one sub-command and return the exit status."""
    if len(argv) < 2 or argv[0] not in {"check", "prepare", "store"}:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1])
    notebook = nbformat.read(path, as_version=4)
    if argv[0] == "check":
        found = problems_in(notebook)
        for line in found:
            print(f"{path}: {line}", file=sys.stderr)
        return 1 if found else 0
    if argv[0] == "prepare":
        nbformat.write(with_injected_cell_hidden(notebook), path)
        return 0
    nbformat.write(without_run_metadata(notebook), Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

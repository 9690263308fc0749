"""The one chapter executor, shared by ``make book`` and ``aice rerun``: papermill, checks, page preparation.

    python -m aice_helpers.book.execute execute SRC DST [--parameters JSON] [--cwd DIR] [--warnings-allowed]
                                                      execute with papermill, check, prepare: DST only on success
    python -m aice_helpers.book.execute execute-stale JOBS DEPS -- SRC DST [SRC DST ...]
                                                      the same for every pair whose DST is missing or older than
                                                      SRC or a DEPS file, JOBS at a time in reused kernels
    python -m aice_helpers.book.execute check NOTEBOOK     fail on an error or anything written to stderr
    python -m aice_helpers.book.execute prepare NOTEBOOK   hide papermill's injected-parameters cell
    python -m aice_helpers.book.execute store SRC DST      store executed outputs as the nbval baseline

The book's build runs its chapters here in-process (reused kernels, warnings are errors); a rerun runs
each chapter as ``execute`` in a process of its own (so that it can be stopped with its kernel), with
its parameters, and collects the warnings for the front page instead of failing on them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue as queues
import shutil
import sys
from pathlib import Path

import nbformat
import papermill
from jupyter_client.manager import KernelManager
from papermill.exceptions import PapermillExecutionError

__all__ = [
    "INJECTED_TAG",
    "REMOVE_TAG",
    "VOLATILE_METADATA",
    "KERNEL",
    "KERNEL_TIMEOUT_S",
    "downloads_settings",
    "problems_in",
    "with_injected_cell_hidden",
    "renumbered",
    "without_run_metadata",
    "without_timings",
    "executed",
    "execute_command",
    "SNAPSHOT_CODE",
    "RESET_CODE",
    "stale_pairs",
    "kernel_command",
    "executed_in_one_kernel",
    "executed_stale",
    "main",
]

INJECTED_TAG = "injected-parameters"
REMOVE_TAG = "remove-cell"
VOLATILE_METADATA = ("papermill", "execution")
KERNEL = "python3"
KERNEL_TIMEOUT_S = 120


def problems_in(notebook: nbformat.NotebookNode, warnings_allowed: bool = False) -> list[str]:
    """Return one line per error or stderr output (warnings included, unless allowed) in an executed notebook."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr" and not warnings_allowed:
                found.append(f"cell {index} wrote to stderr (warnings are errors): {output.get('text', '').strip()}")
    return found


def with_injected_cell_hidden(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook with papermill's injected-parameters cell tagged for removal from the page."""
    for cell in notebook.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            tags.append(REMOVE_TAG)
    return notebook


def renumbered(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook with its code cells numbered 1, 2, … as in a fresh kernel (a reused kernel counts on)."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.get("execution_count")]
    for number, cell in enumerate(code_cells, start=1):
        cell.execution_count = number
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = number
    return notebook


def without_run_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook without injected cells and without timings that change on every run."""
    notebook.cells = [c for c in notebook.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    return without_timings(notebook)


def without_timings(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook without papermill's and the kernel's timings (they change on every run, say nothing)."""
    for key in VOLATILE_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in VOLATILE_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return notebook


def downloads_settings(source: Path, destination: Path) -> dict[str, str]:
    """Return the settings that send a chapter's downloadable tables and figures beside its executed copy:
    ``<destination folder>/downloads/<chapter>/`` (``pages.downloads`` reads them; ``book.extension`` publishes them)."""
    from aice_helpers.pages.downloads import (
        CHAPTER_ENV,  # reason: the chapter modules load matplotlib; the executor needs only these names
        DOWNLOADS_DIR_ENV,  # reason: as above
        LINK_FOLDER,  # reason: as above
    )

    return {DOWNLOADS_DIR_ENV: str((destination.parent / LINK_FOLDER).resolve()), CHAPTER_ENV: source.stem}


def executed(source: Path, destination: Path, kernel: object | None = None, parameters: dict | None = None,
             cwd: Path | None = None, warnings_allowed: bool = False) -> int:
    """Execute ``source`` with papermill (cwd its folder unless given), check it, hide its injected cell and drop
    its timings; write ``destination`` only when every cell ran without an error (and, unless
    ``warnings_allowed``, without a word on stderr). Return the exit status.

    One process per chapter does all three steps, instead of three: the build starts a dozen chapters.
    """
    partial = destination.with_name(destination.name + ".tmp.ipynb")
    reuse = {} if kernel is None else {"km": kernel}  # a running kernel: its working folder is already set
    settings = downloads_settings(source, destination)
    shutil.rmtree(Path(*settings.values()), ignore_errors=True)  # this chapter's files of an earlier run
    if kernel is None:
        os.environ.update(settings)  # the kernel papermill starts inherits them
    else:
        kernel_command(kernel, f"import os; os.environ.update({settings!r})")
    try:
        notebook = papermill.execute_notebook(str(source), str(partial), parameters=parameters or {},
                                              cwd=None if kernel else str(cwd or source.parent),
                                              kernel_name=KERNEL, progress_bar=False, log_output=False, **reuse)
    except PapermillExecutionError:
        notebook = nbformat.read(partial, as_version=4)
    found = problems_in(notebook, warnings_allowed)
    for line in found:
        print(f"{source.name}: {line}", file=sys.stderr)
    if found:
        partial.unlink(missing_ok=True)
        destination.unlink(missing_ok=True)
        return 1
    nbformat.write(without_timings(renumbered(with_injected_cell_hidden(notebook))), partial)
    partial.replace(destination)
    return 0


def execute_command(source: Path, destination: Path, parameters: dict, cwd: Path) -> list[str]:
    """Return the command that runs :func:`executed` in a process of its own (a rerun's chapters), warnings allowed."""
    return [sys.executable, "-m", "aice_helpers.book.execute", "execute", str(source), str(destination),
            "--parameters", json.dumps(parameters), "--cwd", str(cwd), "--warnings-allowed"]


# A kernel runs one chapter after another: starting a kernel and importing the helper package costs
# about five seconds of CPU, a third of the whole build. Between chapters the kernel is brought back
# to its state at start: user namespace, figures, warning filters, matplotlib and pandas settings.
# Each chapter is also checked in a kernel of its own by nbval (`make test`), which compares its
# outputs with the stored ones: any leak from one chapter into the next would show there.
SNAPSHOT_CODE = """
import sys, warnings, matplotlib, pandas
sys._aice_fresh_state = (list(warnings.filters), dict(matplotlib.rcParams.copy()))
"""
RESET_CODE = """
get_ipython().run_line_magic("reset", "-f")
import sys, warnings, matplotlib, matplotlib.pyplot, pandas
for _formatter in get_ipython().display_formatter.formatters.values():  # a chapter's table display, not the next's
    _formatter.type_printers.pop(pandas.DataFrame, None)
matplotlib.pyplot.close("all")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pandas.reset_option("all")
    matplotlib.rcParams.update(sys._aice_fresh_state[1])
warnings.filters[:] = sys._aice_fresh_state[0]
del sys, warnings, matplotlib, pandas, _formatter
"""


def stale_pairs(pairs: list[tuple[Path, Path]], dependencies: list[Path]) -> list[tuple[Path, Path]]:
    """Return the (source, destination) pairs whose destination is missing or older than its source or a dependency."""
    newest = max((path.stat().st_mtime for path in dependencies if path.exists()), default=0.0)
    return [(source, destination) for source, destination in pairs
            if not destination.exists() or destination.stat().st_mtime < max(newest, source.stat().st_mtime)]


def kernel_command(kernel: object, code: str) -> None:
    """Run ``code`` in a kernel and raise if it fails."""
    client = kernel.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=KERNEL_TIMEOUT_S)
        reply = client.execute_interactive(code, timeout=KERNEL_TIMEOUT_S, output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel command failed: {reply['content'].get('evalue')}")
    finally:
        client.stop_channels()


def executed_in_one_kernel(queue: object, failures: object, cwd: Path) -> None:
    """Take chapters from ``queue`` until it is empty, running them one after another in one kernel."""


    kernel = KernelManager(kernel_name=KERNEL)
    kernel.start_kernel(cwd=str(cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"])
    try:
        kernel_command(kernel, SNAPSHOT_CODE)
        while True:
            try:
                source, destination = queue.get_nowait()
            except queues.Empty:
                return
            print(f"executing {source}", flush=True)
            if executed(Path(source), Path(destination), kernel) != 0:
                failures.put(source)
            kernel_command(kernel, RESET_CODE)
    finally:
        kernel.shutdown_kernel(now=True)


def executed_stale(jobs: int, dependencies: list[Path], pairs: list[tuple[Path, Path]]) -> int:
    """Execute the stale chapters, ``jobs`` kernels at a time, in the order given; return 1 if any failed."""

    todo = stale_pairs(pairs, dependencies)
    if not todo:
        return 0
    context = multiprocessing.get_context("spawn")
    queue, failures = context.Queue(), context.Queue()
    for source, destination in todo:
        destination.parent.mkdir(parents=True, exist_ok=True)
        queue.put((str(source), str(destination)))
    workers = [context.Process(target=executed_in_one_kernel, args=(queue, failures, todo[0][0].parent))
               for _ in range(max(1, min(jobs, len(todo))))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    failed = []
    while not failures.empty():
        failed.append(failures.get())
    if any(worker.exitcode != 0 for worker in workers) and not failed:
        failed.append("a worker stopped")
    if failed:
        print(f"failed: {', '.join(sorted(failed))}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    """Run one sub-command and return the exit status."""
    if len(argv) < 2 or argv[0] not in {"execute", "execute-stale", "check", "prepare", "store"}:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "execute-stale":
        split = argv.index("--")
        paths = [Path(arg) for arg in argv[split + 1:]]
        return executed_stale(int(argv[1]), [Path(arg) for arg in argv[2:split]], list(zip(paths[::2], paths[1::2])))
    if argv[0] == "execute":
        parser = argparse.ArgumentParser(prog="execute")
        parser.add_argument("source", type=Path)
        parser.add_argument("destination", type=Path)
        parser.add_argument("--parameters", type=json.loads, default={})
        parser.add_argument("--cwd", type=Path, default=None)
        parser.add_argument("--warnings-allowed", action="store_true")
        args = parser.parse_args(argv[1:])
        return executed(args.source, args.destination, parameters=args.parameters, cwd=args.cwd,
                        warnings_allowed=args.warnings_allowed)
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

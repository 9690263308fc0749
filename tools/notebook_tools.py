"""Build-time checks and tidying of executed chapter notebooks (used by the Makefile).

    python tools/notebook_tools.py execute SRC DST    execute with papermill, check, prepare: DST only on success
    python tools/notebook_tools.py execute-stale JOBS DEPS -- SRC DST [SRC DST ...]
                                                      the same for every pair whose DST is missing or older than
                                                      SRC or a DEPS file, JOBS at a time in reused kernels
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
KERNEL = "python3"
KERNEL_TIMEOUT_S = 120


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
    for key in VOLATILE_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in VOLATILE_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return notebook


def executed(source: Path, destination: Path, kernel: object | None = None) -> int:
    """Execute ``source`` with papermill (cwd notebooks/), check it and hide its injected cell; write
    ``destination`` only when every cell ran without an error or a word on stderr. Return the exit status.

    One process per chapter does all three steps, instead of three: the build starts a dozen chapters.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    partial = destination.with_name(destination.name + ".tmp.ipynb")
    reuse = {} if kernel is None else {"km": kernel}  # a running kernel: its working folder is already set
    try:
        notebook = papermill.execute_notebook(str(source), str(partial), cwd=None if kernel else str(source.parent),
                                              kernel_name=KERNEL, progress_bar=False, log_output=False, **reuse)
    except PapermillExecutionError:
        notebook = nbformat.read(partial, as_version=4)
    found = problems_in(notebook)
    for line in found:
        print(f"{source}: {line}", file=sys.stderr)
    if found:
        partial.unlink(missing_ok=True)
        destination.unlink(missing_ok=True)
        return 1
    nbformat.write(renumbered(with_injected_cell_hidden(notebook)), partial)
    partial.replace(destination)
    return 0


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
matplotlib.pyplot.close("all")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pandas.reset_option("all")
    matplotlib.rcParams.update(sys._aice_fresh_state[1])
warnings.filters[:] = sys._aice_fresh_state[0]
del sys, warnings, matplotlib, pandas
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
    import queue as queues

    from jupyter_client.manager import KernelManager

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
    import multiprocessing

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
        return executed(Path(argv[1]), Path(argv[2]))
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

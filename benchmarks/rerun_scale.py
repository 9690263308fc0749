"""Time ``aice rerun`` on large synthetic cohorts: each chapter, and the peak memory.

    python benchmarks/rerun_scale.py                        # 10,000 and 100,000 patients
    python benchmarks/rerun_scale.py 10000 100000 1000000   # sizes as arguments (1,000,000 takes a while)
    python benchmarks/rerun_scale.py 1000000 --jobs 1       # one chapter at a time

For each size it writes a scaled synthetic cohort (``aice generate --patients N``) into a temporary
folder, runs the rerun command on it as a user would, and prints a Markdown table per size: the
seconds and peak memory of each chapter (from the run's ``rerun-report.json``), the time to
generate, validate and render, the wall time of the whole command, and the peak of the memory the
command's processes held together (sampled from /proc every half second) and of its largest single
process (getrusage). Budgets on the 2-core machine: 10,000 patients < 2 min; 1,000,000 < 15 min
and < 8 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aice_helpers.book.rerun import process_tree  # the rerun samples its chapters the same way

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000)
BUDGETS_SECONDS = {10_000: 120, 1_000_000: 900}
BUDGET_MEMORY_GB = {1_000_000: 8.0}
POLL_SECONDS = 0.5


def resident_mb(pid: int) -> float:
    """Return a process's resident memory now (VmRSS), in MB; 0 when it is gone."""
    try:
        match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:
        return 0.0
    return int(match.group(1)) / 1024 if match else 0.0


class TreeMemory(threading.Thread):
    """Samples the summed resident memory of a process tree; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self.done.wait(POLL_SECONDS):
            self.peak_mb = max(self.peak_mb, sum(resident_mb(pid) for pid in process_tree(self.pid)))


def environment() -> dict[str, str]:
    """Return the environment with the repository's helper package importable."""
    return dict(os.environ, PYTHONPATH=str(REPO))


def generated_cohort(n_patients: int, folder: Path) -> float:
    """Write a scaled cohort of ``n_patients`` into ``folder``; return the seconds it took."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aice_helpers", "generate", "--patients", str(n_patients), "--out",
                    str(folder)], check=True, env=environment(), capture_output=True)
    return time.perf_counter() - started


def measured_rerun(data: Path, out: Path, jobs: int) -> dict:
    """Run the rerun command; return its wall time, exit status, memory peaks and report."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    process = subprocess.Popen([sys.executable, "-m", "aice_helpers", "rerun", "--data", str(data), "--out",
                                str(out), "--jobs", str(jobs)], env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    memory.start()
    stdout, stderr = process.communicate()
    memory.done.set()
    memory.join()
    largest = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    report_file = out / "rerun-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return {"seconds": time.perf_counter() - started, "status": process.returncode, "tree_peak_mb": memory.peak_mb,
            "largest_process_mb": largest, "report": report, "stderr": stderr[-2000:], "stdout": stdout}


def size_table(n_patients: int, generate_seconds: float, result: dict) -> str:
    """Return the Markdown table of one size's measurements."""
    lines = [f"### {n_patients:,} patients", "", "| step | seconds | peak memory (MB) |", "|---|---|---|",
             f"| generate the cohort (not part of the rerun) | {generate_seconds:.0f} | |"]
    report = result["report"]
    if report:
        lines.append(f"| read, map and validate | {report['validation_seconds']:.0f} | |")
        for name, chapter in report["chapters"].items():
            lines.append(f"| {name} | {chapter['seconds']:.0f} | {chapter['peak_rss_mb']:.0f} |")
        lines.append(f"| render the book | {report['build_seconds']:.0f} | |")
    budget = BUDGETS_SECONDS.get(n_patients)
    verdict = "" if budget is None else f" (budget {budget} s: {'within' if result['seconds'] < budget else 'OVER'})"
    lines.append(f"| **whole command, wall time**{verdict} | **{result['seconds']:.0f}** | |")
    memory_budget = BUDGET_MEMORY_GB.get(n_patients)
    memory_verdict = "" if memory_budget is None else (
        f" (budget {memory_budget:.0f} GB: {'within' if result['tree_peak_mb'] < memory_budget * 1024 else 'OVER'})")
    lines.append(f"| all processes together, peak{memory_verdict} | | {result['tree_peak_mb']:.0f} |")
    lines.append(f"| largest single process, peak | | {result['largest_process_mb']:.0f} |")
    if result["status"] != 0:
        lines += ["", f"The command failed (exit {result['status']}):", "", "```", result["stderr"].strip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure each size given; print one table per size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES), help="numbers of patients")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="chapters at once (default: cores)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the books in this folder")
    args = parser.parse_args(argv)
    failed = False
    for n_patients in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"aice-scale-{n_patients}-") as work:
            data = Path(work) / "cohort"
            generate_seconds = generated_cohort(n_patients, data)
            out = (args.keep / f"book_{n_patients}") if args.keep else Path(work) / "book"
            result = measured_rerun(data, out, args.jobs)
            print(size_table(n_patients, generate_seconds, result), flush=True)
            failed |= result["status"] != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

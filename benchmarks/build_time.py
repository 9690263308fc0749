"""Measure the book's build budgets: a clean `make book` and a rebuild with nothing changed.

Run from the repository root with the virtual environment present (`make venv`):

    python benchmarks/build_time.py [--runs N] [--chapters]

It removes `_build/`, times `make book`, then times `make book` again, and prints a Markdown
table to paste into benchmarks/README.md. Budgets (2-core machine): clean < 60 s, no-op < 5 s.
With `--chapters` it also re-executes each chapter alone, one at a time, with the build's own rule,
and prints its time: where the clean build's seconds go.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLEAN_BUDGET_S = 60.0
NOOP_BUDGET_S = 5.0


def timed_make(target: str = "book") -> float:
    """Return the wall time of one `make TARGET` in seconds (fails loudly if make fails)."""
    start = time.perf_counter()
    subprocess.run(["make", "-s", target], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, list[float]]:
    """Return clean and no-op build times over several runs."""
    results: dict[str, list[float]] = {"clean": [], "noop": []}
    for _ in range(runs):
        shutil.rmtree(REPO / "_build", ignore_errors=True)
        results["clean"].append(timed_make())
        results["noop"].append(timed_make())
    return results


def chapter_times() -> dict[str, float]:
    """Return each staged chapter's execution time alone (the Makefile's rule, one job), slowest first."""
    staged = sorted((REPO / "_build" / "stage" / "notebooks").glob("*.ipynb"))
    times = {}
    for path in staged:
        path.unlink()
        start = time.perf_counter()
        subprocess.run(["make", "-s", "--jobs=1", str(path.relative_to(REPO))], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        times[path.stem] = time.perf_counter() - start
    return dict(sorted(times.items(), key=lambda item: -item[1]))


def main() -> int:
    """Measure, print a Markdown table, and return 1 if a budget is exceeded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chapters", action="store_true", help="also time each chapter alone")
    args = parser.parse_args()
    results = measure(args.runs)
    print(f"machine: {os.cpu_count()} cores; runs: {args.runs}\n")
    print("| build | median (s) | min (s) | max (s) | budget (s) | within |")
    print("|---|---|---|---|---|---|")
    over = False
    for name, budget in (("clean", CLEAN_BUDGET_S), ("noop", NOOP_BUDGET_S)):
        times = results[name]
        median = statistics.median(times)
        over |= median > budget
        print(f"| {name} | {median:.1f} | {min(times):.1f} | {max(times):.1f} | {budget:.0f} | "
              f"{'yes' if median <= budget else 'NO'} |")
    if args.chapters:
        times = chapter_times()
        print(f"\n| chapter, executed alone | seconds |\n|---|---|")
        print("\n".join(f"| {name} | {seconds:.1f} |" for name, seconds in times.items()))
        print(f"| all chapters, one after another | {sum(times.values()):.1f} |")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())

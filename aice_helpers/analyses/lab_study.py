"""Run the simulation lab's full study and store its results in data/lab (used by `make lab-study`).

    python -m aice_helpers.analyses.lab_study [--workers N] [--folder DIR]

Each setting is written to its own CSV as soon as it is done; a rerun skips the settings already stored,
so an interrupted run resumes. The lab chapter shows what is stored (aice_helpers.analyses.simulation).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from aice_helpers.analyses import simulation
from aice_helpers.contract import DATA_DIR
from aice_helpers.data import load_dataset

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the full study into the folder given (data/lab by default); 0 when every setting is stored."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    parser.add_argument("--folder", type=Path, default=simulation.LAB_DIR, help="where the results go")
    args = parser.parse_args(argv)
    cohort = load_dataset(DATA_DIR, required=()).cohort
    start = time.perf_counter()
    try:
        simulation.run_full_study(cohort, folder=args.folder, workers=args.workers,
                                  log=lambda line: print(line, flush=True))
    except ValueError as error:
        print(f"lab-study: {error}", file=sys.stderr)
        return 1
    print(f"full study stored in {args.folder} ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

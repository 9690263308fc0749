"""Command line: ``python -m aice_helpers COMMAND`` (also installed as ``aice``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aice_helpers.contract import DATA_DIR


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m aice_helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the synthetic cohort (deterministic from its seed)")
    generate.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write the three CSV files to")
    generate.add_argument("--seed", type=int, default=None, help="random seed (default: the book's seed)")

    validate = commands.add_parser("validate", help="check a data folder against the data contract")
    validate.add_argument("--data", type=Path, default=DATA_DIR, help="folder holding the CSV files")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "generate":
        from aice_helpers.synthesis import DEFAULT_SEED, write_synthetic_data

        paths = write_synthetic_data(args.out, seed=DEFAULT_SEED if args.seed is None else args.seed)
        for path in paths.values():
            print(f"wrote {path}")
        return 0
    if args.command == "validate":
        from aice_helpers.data import DataValidationError, load_dataset

        try:
            dataset = load_dataset(args.data)
        except DataValidationError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{args.data}: valid ({len(dataset.cohort)} patients)")
        return 0
    return 2

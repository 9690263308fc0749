"""Command line: ``python -m aice_helpers COMMAND`` (also installed as ``aice``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aice_helpers.contract import DATA_DIR, PUBLISHED_DIR


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m aice_helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the synthetic cohort (deterministic from its seed)")
    generate.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write the three CSV files to")
    generate.add_argument("--seed", type=int, default=None, help="random seed (default: the book's seed)")

    validate = commands.add_parser("validate", help="check a data folder against the data contract")
    validate.add_argument("--data", type=Path, default=DATA_DIR, help="folder holding the CSV files")

    scorecard = commands.add_parser("scorecard", help="set every published number beside the reproduced one")
    scorecard.add_argument("--data", type=Path, default=DATA_DIR, help="folder holding the CSV files")
    scorecard.add_argument("--format", choices=("text", "csv", "markdown"), default="text", help="output format")
    scorecard.add_argument("--section", action="append", default=None,
                           help="only this section of the paper (repeatable), e.g. table1")

    audit = commands.add_parser("audit", help="check the published numbers against each other")
    audit.add_argument("--published", type=Path, default=PUBLISHED_DIR, help="folder of published-number YAML")
    audit.add_argument("--format", choices=("text", "csv", "markdown"), default="text", help="output format")
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
    if args.command == "scorecard":
        from aice_helpers.scorecard import run_scorecard

        return run_scorecard(args.data, args.format, args.section)
    if args.command == "audit":
        from aice_helpers.audit import run_audit

        return run_audit(args.published, args.format)
    return 2

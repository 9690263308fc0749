"""Command line: ``python -m aice_helpers COMMAND`` (also installed as ``aice``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aice_helpers.contract import DATA_DIR, PUBLISHED_DIR

__all__ = [
    "build_parser",
    "run_generate",
    "main",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m aice_helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser(
        "generate", help="write the synthetic cohort (deterministic from its seed), or a scaled one of any size",
        description="Write the book's synthetic cohort to data/ (or --out). With --patients N, write a scaled "
                    "synthetic cohort of N patients instead (aice_helpers.synthetic.scale), which needs --out.",
        epilog="example: aice generate --patients 100000 --out cohort_100k/")
    generate.add_argument("--out", type=Path, default=None,
                          help="folder to write the three CSV files to (default: data/, for the book's cohort only)")
    generate.add_argument("--seed", type=int, default=None, help="random seed (default: the book's seed)")
    generate.add_argument("--patients", type=int, default=None, metavar="N",
                          help="write a scaled synthetic cohort of N patients (resampled, jittered) to --out")

    from aice_helpers.book.rerun import (  # reason: the command loads only the layer it runs, so --help stays fast
        EXAMPLE,
        add_rerun_arguments,
    )

    rerun = commands.add_parser(
        "rerun", help="run the book's chapters on your cohort and build a book of the results",
        description="Check your data against the data contract, execute every chapter it allows on it "
                    "(without the paper's numbers), and render a Jupyter Book into --out. Nothing is written to "
                    "--out unless everything succeeds; your files are only read.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_rerun_arguments(rerun)

    validate = commands.add_parser("validate", help="check a data folder (or one cohort CSV) against the data contract")
    validate.add_argument("--data", type=Path, default=DATA_DIR,
                          help="folder holding the CSV files, or one patient-level CSV checked as the cohort file")

    scorecard = commands.add_parser("scorecard", help="set every published number beside the reproduced one")
    scorecard.add_argument("--data", type=Path, default=DATA_DIR, help="folder holding the CSV files")
    scorecard.add_argument("--format", choices=("text", "csv", "markdown"), default="text", help="output format")
    scorecard.add_argument("--section", action="append", default=None,
                           help="only this section of the paper (repeatable), e.g. table1")

    audit = commands.add_parser("audit", help="check the published numbers against each other")
    audit.add_argument("--published", type=Path, default=PUBLISHED_DIR, help="folder of published-number YAML")
    audit.add_argument("--format", choices=("text", "csv", "markdown"), default="text", help="output format")
    return parser


def run_generate(args: argparse.Namespace) -> int:
    """Write the book's synthetic cohort, or a scaled one with ``--patients``; return the exit status."""
    if args.patients is None:
        from aice_helpers.synthetic.generate import (  # reason: the command loads only the layer it runs, so --help stays fast
            DEFAULT_SEED,
            write_synthetic_data,
        )

        seed = DEFAULT_SEED if args.seed is None else args.seed
        paths = write_synthetic_data(DATA_DIR if args.out is None else args.out, seed=seed)
    else:
        from aice_helpers.synthetic.scale import (  # reason: the command loads only the layer it runs, so --help stays fast
            DEFAULT_SCALE_SEED,
            write_scaled_cohort,
        )

        if args.out is None or args.out.expanduser().resolve() == DATA_DIR.resolve() or args.patients < 1:
            print("generate --patients N needs N >= 1 and --out FOLDER other than data/ (the book's own cohort)",
                  file=sys.stderr)
            return 2
        seed = DEFAULT_SCALE_SEED if args.seed is None else args.seed
        paths = write_scaled_cohort(args.out, args.patients, seed)
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def run_validate(data: Path) -> int:
    """Check a data folder, or one CSV file as the cohort file; return the exit status (report on stderr)."""
    from aice_helpers.contract import (  # reason: the command loads only the layer it runs, so --help stays fast
        COHORT_FILE,
        CONTRACT,
    )
    from aice_helpers.data import (  # reason: the command loads only the layer it runs, so --help stays fast
        DataValidationError,
        load_dataset,
        load_table,
        terminal_text,
    )

    try:
        if data.is_file():
            cohort = load_table(data, CONTRACT[COHORT_FILE])
        elif data.exists() and not data.is_dir():
            print(f"{terminal_text(str(data))}: is not a regular file or a folder (a pipe or a device?); only regular "
                  "files are read", file=sys.stderr)
            return 1
        else:
            cohort = load_dataset(data).cohort
    except DataValidationError as error:
        print(terminal_text(str(error)), file=sys.stderr)
        return 1
    print(f"{terminal_text(str(data))}: valid ({len(cohort)} patients)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status; an operating-system error (a folder that cannot be read)
    is reported as one sentence, without a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return run_command(args)
    except OSError as error:
        from aice_helpers.data import (
            terminal_text,  # reason: the command loads only the layer it runs, so --help stays fast
        )

        where = f"{error.filename}: " if error.filename else ""
        print(terminal_text(f"aice {args.command}: {where}{error.strerror or error}"), file=sys.stderr)
        return 1


def run_command(args: argparse.Namespace) -> int:
    """Run the command ``args`` name; return its exit status."""
    if args.command == "generate":
        return run_generate(args)
    if args.command == "rerun":
        from aice_helpers.book.rerun import (
            run_rerun,  # reason: the command loads only the layer it runs, so --help stays fast
        )

        return run_rerun(args)
    if args.command == "validate":
        return run_validate(args.data)
    if args.command == "scorecard":
        from aice_helpers.paper.scorecard import (
            run_scorecard,  # reason: the command loads only the layer it runs, so --help stays fast
        )

        return run_scorecard(args.data, args.format, args.section)
    if args.command == "audit":
        from aice_helpers.paper.audit import (
            run_audit,  # reason: the command loads only the layer it runs, so --help stays fast
        )

        return run_audit(args.published, args.format)
    return 2

"""Command line: ``python -m aice_helpers COMMAND`` (also installed as ``aice``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aice_helpers.contract import DATA_DIR, PUBLISHED_DIR

__all__ = [
    "build_parser",
    "run_generate",
    "run_validate",
    "run_inspect",
    "run_command",
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

    validate = commands.add_parser(
        "validate", help="check your data as aice rerun reads it (any input format, your mapping, dates)",
        description="Read --data exactly as aice rerun does (CSV of any dialect, .xlsx, .sav, .dta; the mapping's "
                    "renaming, codes, missing values and dates) and check it against the data contract; say which "
                    "chapters it allows. Nothing is written.")
    validate.add_argument("--data", type=Path, default=DATA_DIR,
                          help="folder holding the files, or one file (a CSV, .sav or .dta is the cohort file; a "
                               "workbook's sheets are the contract's files)")
    validate.add_argument("--mapping", type=Path, default=None,
                          help="YAML file mapping your column names and codes onto the data contract")

    inspect = commands.add_parser(
        "inspect", help="describe the columns of an export and write a draft mapping for it",
        description="Read every file (and every sheet of a workbook) in --data as aice rerun reads it; print each "
                    "column's detected type (integer, number, date, text), its missing cells and its first distinct "
                    "codes; and write a draft mapping guessing the contract's names, to edit before aice validate.",
        epilog="example: aice inspect --data export.xlsx --out my_mapping.yaml")
    inspect.add_argument("--data", type=Path, required=True, help="a folder of exports, or one file")
    inspect.add_argument("--out", type=Path, default=None,
                         help="file to write the draft mapping to (default: print it after the columns)")
    inspect.add_argument("--force", action="store_true", help="replace --out if it exists")

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


def run_validate(data: Path, mapping: Path | None = None) -> int:
    """Check a data folder or file as ``aice rerun`` reads it (any format, the mapping, dates, the same
    validation), without building anything; return the exit status (report on stderr)."""
    from aice_helpers.book.rerun import (  # reason: the command loads only the layer it runs, so --help stays fast
        validated_input_summary,
    )
    from aice_helpers.data import (  # reason: the command loads only the layer it runs, so --help stays fast
        DataValidationError,
        terminal_text,
    )
    from aice_helpers.mapping import (  # reason: the command loads only the layer it runs, so --help stays fast
        MappingError,
    )

    try:
        summary = validated_input_summary(data, mapping)
    except (DataValidationError, MappingError) as error:
        print(terminal_text(str(error)), file=sys.stderr)
        return 1
    print(terminal_text(f"{data}: {summary}"))
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    """Print the columns of every source in ``args.data`` and write (or print) a draft mapping; return the exit
    status."""
    from aice_helpers.data import (  # reason: the command loads only the layer it runs, so --help stays fast
        DataValidationError,
        terminal_text,
    )
    from aice_helpers.inspection import (  # reason: the command loads only the layer it runs, so --help stays fast
        InspectionError,
        draft_mapping,
        profiles_text,
        source_profiles,
        written_draft,
    )

    try:
        profiles = source_profiles(args.data)
        draft = draft_mapping(profiles, args.data)
        print(profiles_text(profiles))
        if args.out is None:
            print("\n# ---- draft mapping (write it to a file with --out draft.yaml) ----")
            print(draft)
        else:
            path = written_draft(draft, args.out, [profile.source.path for profile in profiles], args.force)
            print(terminal_text(f"\ndraft mapping written to {path}: edit it, then run aice validate --data "
                                f"{args.data} --mapping {path}"))
    except (DataValidationError, InspectionError) as error:
        print(terminal_text(f"aice inspect: {error}"), file=sys.stderr)
        return 1
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
        return run_validate(args.data, args.mapping)
    if args.command == "inspect":
        return run_inspect(args)
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

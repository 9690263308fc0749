"""Checking the published numbers against each other (the statcheck / GRIM idea).

Every check reads only the published numbers (``data/published/*.yaml``, see
:mod:`aice_helpers.published`): no patient data is needed. A check is a small function that takes
the prepared paper and returns findings; ``CHECKS`` lists them in the order the chapter explains
them. The checks rely only on the YAML format (fields ``of``, ``denominator``, ``see_also``,
``lower``/``upper``/``interval``, ``p_operator``, ``decimals`` …, and the id conventions
``<count id>.pct`` and ``<row>.beta`` / ``<row>.hr`` / ``<row>.p``), so they run on any paper
described the same way.

Severity:

- ``contradiction``: arithmetic cannot make the printed numbers agree under any rounding, or the
  same quantity is printed with two different values;
- ``inconsistency``: the numbers miss by at most one unit in the last printed digit (a rounding
  slip such as truncating or rounding twice), or a naming / wording mismatch;
- ``note``: what the numbers reveal (the interval method used) or a fact worth stating.

A number printed identically in several places (``see_also`` with the same value) is checked once;
its finding lists every place.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from scipy.special import betaincinv

from aice_helpers import study
from aice_helpers.published import PublishedDataError, load_published

__all__ = [
    "CONTRADICTION",
    "INCONSISTENCY",
    "NOTE",
    "SEVERITIES",
    "Z_95",
    "CI_LEVEL",
    "P_SIGNIFICANT",
    "EPS",
    "HALF",
    "MONTHS_PER_YEAR",
    "DAYS_PER_MONTH",
    "MAX_LISTED_IDS",
    "MAX_BLOCK_FOR_SUBSETS",
    "COUNT_UNITS",
    "PERCENT_UNIT",
    "RATIO_UNIT",
    "LOG_RATIO_UNIT",
    "P_UNIT",
    "DATE_UNIT",
    "YEAR_UNITS",
    "GRADE_UNIT",
    "TIME_UNITS",
    "LITERATURE",
    "BIBLIOGRAPHY",
    "TOTAL_GROUPS",
    "DENOMINATOR_NAMES",
    "COHORT_SIZE_NAME",
    "SYMMETRIC_METHODS",
    "LOGLOG_METHODS",
    "RESPONSE_GROUPS",
    "LANDMARK",
    "ENDPOINT_ORDER",
    "OPERATOR_SYMBOLS",
    "TEXT_OPERATORS",
    "CODE_OPERATORS",
    "THRESHOLD_IN_TEXT",
    "THRESHOLD_CODE",
    "LATEX_OPERATORS",
    "UPPER_SIDE_OPERATORS",
    "LETTER_GRADE",
    "APPROXIMATE_PERCENT_POINTS",
    "Entry",
    "Finding",
    "Check",
    "Paper",
    "decimals_of",
    "half_unit",
    "unit_of",
    "fmt",
    "fmt_p",
    "rounds_to",
    "range_rounds_to",
    "severity_of_miss",
    "rounding_slip",
    "listed",
    "compact_ids",
    "also_printed",
    "percent_text",
    "finding",
    "counts_giving",
    "nearest_counts",
    "denominator_label",
    "fitting_denominators",
    "grim_text",
    "percent_count_finding",
    "grim_only_finding",
    "check_percent_of_count",
    "count_blocks",
    "percent_entries_of",
    "block_total",
    "subset_with_sum",
    "nested_breakdown",
    "sum_finding",
    "check_parts_sum_to_total",
    "arithmetic_centre",
    "log_centre",
    "loglog_transform",
    "loglog_centre",
    "centre_range",
    "CENTRES",
    "SHAPE_WORDS",
    "percent_scale",
    "shapes_allowed",
    "fitting_shapes",
    "expected_shape",
    "implied_estimate",
    "interval_entries",
    "unit_suffix",
    "check_estimate_in_interval",
    "siblings",
    "model_rows",
    "value_range",
    "beta_fits_hr",
    "check_beta_vs_hr",
    "wald_p",
    "log_se",
    "abs_range",
    "p_range",
    "printed_p_range",
    "p_text",
    "log_estimate_range",
    "p_from_interval_finding",
    "null_side_finding",
    "check_interval_vs_p",
    "interval_family",
    "proportion_intervals",
    "interval_miss",
    "proportion_method_finding",
    "proportion_method_findings",
    "shape_family_findings",
    "METHOD_REVEALED",
    "check_interval_method",
    "threshold_of",
    "thresholds_in",
    "at_or_below",
    "median_requirement",
    "median_value_range",
    "ordinal",
    "median_count_finding",
    "check_median_vs_counts",
    "numbers_agree",
    "matching_elsewhere",
    "restatement_finding",
    "check_restated_numbers",
    "cut_points",
    "cut_side",
    "cut_label",
    "as_upper_cut",
    "same_integer_cut",
    "Cut",
    "variable_cuts",
    "same_split",
    "splits_of",
    "entry_place",
    "cut_ids_text",
    "naming_findings",
    "split_findings",
    "check_cut_points",
    "parse_date",
    "months_between",
    "dated_entries",
    "year_vs_date_findings",
    "period_pairs",
    "period_length_findings",
    "follow_up_findings",
    "record_year_findings",
    "check_dates",
    "check_duplicate_estimates",
    "landmark_months",
    "survival_rates",
    "survival_medians",
    "rates_decrease_findings",
    "pfs_below_os_findings",
    "median_vs_rate_findings",
    "pooled_median_findings",
    "check_survival_ordering",
    "check_response_rates",
    "letter_grade_cells",
    "check_grade_scale",
    "check_event_share",
    "MAJOR_GRADES",
    "claimed_grades",
    "graded_counts",
    "check_tolerability_claim",
    "model_factors",
    "univariable_claim_findings",
    "multivariable_claim_findings",
    "check_significance_claims",
    "CHECKS",
    "CHECK_NAMES",
    "audit_findings",
    "findings_frame",
    "audit_summary",
    "contradicted_ids",
    "text_report",
    "csv_report",
    "markdown_cell",
    "markdown_table",
    "summary_text",
    "run_audit",
    "SEVERITY_PLURALS",
    "ALL_CHECKS_LABEL",
    "NO_VALUE_MARK",
    "FINDING_COLUMNS",
    "MODEL_ROW_COLUMNS",
    "DATE_COLUMNS",
    "FINDINGS_TABLE_WIDTHS",
    "MODEL_ROWS_WIDTHS",
    "DATES_TABLE_WIDTHS",
    "check_named",
    "findings_table",
    "audit_overview",
    "severity_counts_text",
    "findings_sentence",
    "model_rows_table",
    "dates_table",
]

CONTRADICTION = "contradiction"
INCONSISTENCY = "inconsistency"
NOTE = "note"
SEVERITIES = (CONTRADICTION, INCONSISTENCY, NOTE)

Z_95 = 1.96                 # the normal quantile every printed 95% interval uses
CI_LEVEL = 0.95
P_SIGNIFICANT = study.ALPHA
EPS = 1e-9                  # float slack when comparing with a rounding bound
HALF = 0.5
MONTHS_PER_YEAR = 12
DAYS_PER_MONTH = 365.25 / 12
MAX_LISTED_IDS = 4          # ids named in a message before "and k more"
MAX_BLOCK_FOR_SUBSETS = 30  # parts searched for a nested breakdown

COUNT_UNITS = ("patients",)
PERCENT_UNIT = "percent"
RATIO_UNIT = "ratio"
LOG_RATIO_UNIT = "log hazard ratio"
P_UNIT = "p-value"
DATE_UNIT = "date"
YEAR_UNITS = ("year",)
GRADE_UNIT = "grade"
TIME_UNITS = ("months", "weeks", "days", "years")
LITERATURE = "literature"
BIBLIOGRAPHY = "bibliography"
TOTAL_GROUPS = ("total",)
DENOMINATOR_NAMES = ("n", "n_patients", "procedures", "sessions", "subset_n")
COHORT_SIZE_NAME = "n_patients"
SYMMETRIC_METHODS = ("symmetric",)
LOGLOG_METHODS = ("loglog", "log_log")
RESPONSE_GROUPS = {"orr": ("cr", "pr"), "dcr": ("cr", "pr", "sd")}
LANDMARK = re.compile(r"^(year|month)(\d+)$")
ENDPOINT_ORDER = ("pfs", "os")  # PFS counts deaths too, so PFS(t) <= OS(t)

OPERATOR_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "=": "="}
TEXT_OPERATORS = {"<": "<", "<=": "<=", "≤": "<=", ">": ">", ">=": ">=", "≥": ">="}
CODE_OPERATORS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
THRESHOLD_IN_TEXT = re.compile(r"(<=|>=|≤|≥|<|>)\s*(\d+(?:\.\d+)?)")
THRESHOLD_CODE = re.compile(r"^(lt|le|gt|ge)(\d+(?:_\d+)?)$")
LATEX_OPERATORS = {r"\leq": "≤", r"\geq": "≥", r"\le": "≤", r"\ge": "≥"}
UPPER_SIDE_OPERATORS = ("<", ">=")  # "<t / ≥t": t belongs to the upper group
LETTER_GRADE = re.compile(r"[A-F]")
MAJOR_GRADES = ("C", "D", "E", "F")  # SIR: C–F are major complications (therapy, hospital stay, harm, death)
APPROXIMATE_PERCENT_POINTS = 5.0    # how far "~85%" may be from the true share

Entry = dict[str, Any]


# ----------------------------------------------------------------------------- findings, checks

@dataclass(frozen=True)
class Finding:
    """One disagreement (or revealing fact) among the published numbers."""

    check: str
    severity: str
    ids: tuple[str, ...]
    message: str
    resolution: str | None = None
    contradicted: tuple[str, ...] = field(default=())  # ids shown wrong (contradictions only)


@dataclass(frozen=True)
class Check:
    """A registered check: stable name, a title and a plain-words explanation for the chapter."""

    name: str
    title: str
    explanation: str
    function: Callable[[Paper], list[Finding]]


# ----------------------------------------------------------------------------- the prepared paper

def _missing(value: object) -> bool:
    """Return True for None, NaN or pandas' NA."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_number(value: object) -> bool:
    """Return True for an int or float that is not a bool or NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not _missing(value)


def _clean_entry(raw: dict[str, Any]) -> Entry:
    """Return one entry with missing fields as None and integer fields as int."""
    entry = {name: (None if _missing(value) else value) for name, value in raw.items()}
    for name in ("decimals", "denominator"):
        if entry.get(name) is not None:
            entry[name] = int(entry[name])
    if isinstance(entry.get("value"), float) and entry["value"].is_integer() and entry.get("decimals") == 0:
        entry["value"] = int(entry["value"])
    return entry


def _same_numbers(entry: Entry, target: Entry) -> bool:
    """Return True when a restatement prints the same value (and interval, where both have one)."""
    if entry["value"] != target["value"] and not (
            _is_number(entry["value"]) and _is_number(target["value"])
            and math.isclose(float(entry["value"]), float(target["value"]), abs_tol=EPS)):
        return False
    if entry.get("unit") != target.get("unit"):
        return False
    for name in ("lower", "upper", "p_operator", "denominator"):
        if entry.get(name) is not None and target.get(name) is not None and entry[name] != target[name]:
            return False
    return True


@dataclass(frozen=True)
class Paper:
    """The published numbers prepared for the checks: entries by id and restatements merged."""

    entries: dict[str, Entry]
    alias_of: dict[str, str]

    @classmethod
    def from_frame(cls, published: pd.DataFrame) -> Paper:
        """Return the prepared paper from the table ``load_published`` returns."""
        records = [_clean_entry(raw) for raw in published.to_dict("records")]
        entries = {entry["id"]: entry for entry in records}
        return cls(entries=entries, alias_of=_restatement_map(entries))

    def study(self) -> list[Entry]:
        """Return the study's own numbers (not literature), one entry per quantity."""
        return [entry for entry in self.entries.values()
                if entry.get("scope") != LITERATURE and entry["id"] not in self.alias_of]

    def all_study(self) -> list[Entry]:
        """Return every study entry, restatements included."""
        return [entry for entry in self.entries.values() if entry.get("scope") != LITERATURE]

    def primary(self, entry_id: str) -> str:
        """Return the id a restatement restates (itself when it restates nothing)."""
        return self.alias_of.get(entry_id, entry_id)

    def places(self, entry_id: str) -> tuple[str, ...]:
        """Return the id and every id that restates it with the same numbers."""
        primary = self.primary(entry_id)
        return (primary,) + tuple(sorted(alias for alias, target in self.alias_of.items() if target == primary))

    def with_places(self, ids: Iterable[str]) -> tuple[str, ...]:
        """Return the ids with all their restatements, in order, without repeats."""
        return tuple(dict.fromkeys(place for entry_id in ids for place in self.places(entry_id)))

    def default_n(self) -> int | None:
        """Return the paper's usual denominator: the most frequent ``denominator``, else the cohort size."""
        counts = Counter(entry["denominator"] for entry in self.all_study() if entry.get("denominator"))
        return counts.most_common(1)[0][0] if counts else self.cohort_size(fallback=False)

    def cohort_size(self, fallback: bool = True) -> int | None:
        """Return the number of patients: the most frequent ``*.n_patients`` value, else the usual denominator."""
        sizes = Counter(entry["value"] for entry in self.all_study()
                        if entry["id"].endswith(f".{COHORT_SIZE_NAME}") and isinstance(entry["value"], int))
        if sizes:
            return sizes.most_common(1)[0][0]
        return self.default_n() if fallback else None

    def denominator_sources(self) -> dict[int, str]:
        """Return every denominator the paper prints, each with the id it comes from."""
        sources: dict[int, str] = {}
        for entry in self.all_study():
            last = entry["id"].rsplit(".", 1)[-1]
            if last in DENOMINATOR_NAMES and isinstance(entry["value"], int) and entry["value"] > 0:
                sources.setdefault(entry["value"], entry["id"])
        for entry in self.all_study():
            if entry.get("denominator"):
                sources.setdefault(entry["denominator"], f"the denominator of {entry['id']}")
        return sources

    def value(self, entry_id: str) -> Any:
        """Return one entry's value."""
        return self.entries[entry_id]["value"]


def _restatement_map(entries: dict[str, Entry]) -> dict[str, str]:
    """Return restating id → primary id for ``see_also`` links that print the same numbers."""
    direct = {entry_id: entry["see_also"] for entry_id, entry in entries.items()
              if entry.get("see_also") in entries and _same_numbers(entry, entries[entry["see_also"]])}
    resolved = {}
    for entry_id in direct:
        target, seen = direct[entry_id], {entry_id}
        while target in direct and target not in seen:
            seen.add(target)
            target = direct[target]
        resolved[entry_id] = target
    return resolved


# ----------------------------------------------------------------------------- rounding helpers

def decimals_of(entry: Entry) -> int:
    """Return the decimals printed: the ``decimals`` field, else those of the value as written."""
    if entry.get("decimals") is not None:
        return int(entry["decimals"])
    text = repr(entry["value"])
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def half_unit(decimals: int) -> float:
    """Return half a unit in the last printed place, the rounding error of a printed number."""
    return HALF * 10.0 ** (-decimals)


def unit_of(decimals: int) -> float:
    """Return one unit in the last printed place."""
    return 10.0 ** (-decimals)


def fmt(value: float, decimals: int) -> str:
    """Return the value rounded half-up to the decimals, as a paper prints it."""
    quantum = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def fmt_p(value: float) -> str:
    """Return a P value with two significant digits."""
    return f"{value:.2g}"


def rounds_to(value: float, printed: float, decimals: int) -> bool:
    """Return True when the value, rounded to the printed decimals, gives the printed number."""
    return abs(value - printed) <= half_unit(decimals) + EPS


def range_rounds_to(low: float, high: float, printed: float, decimals: int) -> bool:
    """Return True when some value in [low, high] rounds to the printed number."""
    half = half_unit(decimals)
    return low <= printed + half + EPS and high >= printed - half - EPS


def severity_of_miss(miss: float, decimals: int) -> str:
    """Return inconsistency for a miss of at most one unit in the last digit, else contradiction."""
    return INCONSISTENCY if miss <= unit_of(decimals) + EPS else CONTRADICTION


def rounding_slip(value: float, printed: float, decimals: int) -> str | None:
    """Return the rounding slip (truncation, rounding twice) that turns the value into the printed one."""
    target = fmt(printed, decimals)
    truncated = math.floor(value * 10 ** decimals + EPS) / 10 ** decimals
    if fmt(truncated, decimals) == target:
        return f"truncating {fmt(value, decimals + 2)} gives {target}"
    once = fmt(value, decimals + 1)
    if fmt(float(once), decimals) == target:
        return f"rounding twice, {fmt(value, decimals + 3)} → {once} → {target}"
    return None


def listed(ids: Sequence[str]) -> str:
    """Return ids for a message, at most a few, then how many more."""
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    return shown if len(ids) <= MAX_LISTED_IDS else f"{shown} and {len(ids) - MAX_LISTED_IDS} more"


def compact_ids(ids: Iterable[str]) -> list[str]:
    """Return ids with common parents folded: table3.size.beta, table3.size.hr → table3.size.{beta,hr}."""
    children: dict[str, list[str]] = defaultdict(list)
    for entry_id in sorted(set(ids)):
        parent, _, last = entry_id.rpartition(".")
        children[parent].append(last)
    return [f"{parent}.{lasts[0]}" if len(lasts) == 1 else f"{parent}.{{{','.join(lasts)}}}"
            for parent, lasts in children.items()]


def also_printed(paper: Paper, entry_id: str) -> str:
    """Return '; also printed as …' for the restatements of an entry (empty when none)."""
    others = [place for place in paper.places(entry_id) if place != paper.primary(entry_id)]
    return f" (also printed as {listed(others)})" if others else ""


def percent_text(value: float, decimals: int) -> str:
    """Return a percentage as printed."""
    return f"{fmt(value, decimals)}%"


def finding(check: str, severity: str, ids: Iterable[str], message: str, resolution: str | None = None,
            contradicted: Iterable[str] | None = None) -> Finding:
    """Return a finding; a contradiction marks all its ids as contradicted unless told which."""
    ids = tuple(dict.fromkeys(ids))
    shown_wrong = tuple(contradicted) if contradicted is not None else ids
    return Finding(check, severity, ids, message, resolution,
                   shown_wrong if severity == CONTRADICTION else ())


# ----------------------------------------------------------------------------- 1. percent of count

def counts_giving(percent: float, n: int, decimals: int) -> list[int]:
    """Return every integer count k (0 ≤ k ≤ n) with 100·k/n rounding to the printed percent (GRIM)."""
    half = half_unit(decimals)
    low = max(0, math.ceil((percent - half) * n / 100 - EPS))
    high = min(n, math.floor((percent + half) * n / 100 + EPS))
    return [k for k in range(low, high + 1) if rounds_to(100 * k / n, percent, decimals)]


def nearest_counts(percent: float, n: int) -> list[int]:
    """Return the integer counts on either side of percent·n/100."""
    exact = percent * n / 100
    return sorted({max(0, math.floor(exact)), min(n, math.ceil(exact))})


def denominator_label(paper: Paper, n: int, sources: dict[int, str]) -> str:
    """Return how a denominator is named: 'the per-procedure denominator (safety.procedures)'."""
    source = sources.get(n, "")
    unit = paper.entries[source]["unit"] if source in paper.entries else ""
    kind = f"the per-{unit[:-1] if unit.endswith('s') else unit} denominator" if unit else "the denominator"
    return f"{kind} ({source})" if source else kind


def fitting_denominators(count: int, percent: float, decimals: int, candidates: Iterable[int],
                         exclude: int | None) -> list[int]:
    """Return the candidate denominators m ≥ count with 100·count/m rounding to the printed percent."""
    return [m for m in sorted(candidates)
            if m != exclude and m >= count and m > 0 and rounds_to(100 * count / m, percent, decimals)]


def grim_text(percent: float, n: int, decimals: int) -> str:
    """Return what GRIM says: which count out of n gives the percent, or that none does."""
    ks = counts_giving(percent, n, decimals)
    if ks:
        return f"{ks[0]}/{n} would give {percent_text(percent, decimals)}"
    near = ", ".join(f"{k}/{n} = {percent_text(100 * k / n, decimals)}" for k in nearest_counts(percent, n))
    return f"no integer count out of {n} gives {percent_text(percent, decimals)} ({near})"


def percent_count_finding(paper: Paper, entry: Entry, count: int, n: int, declared: bool,
                          sources: dict[int, str]) -> Finding | None:
    """Return a finding when printed percent ≠ 100·count/n at the printed decimals."""
    percent, decimals = float(entry["value"]), decimals_of(entry)
    computed = 100 * count / n
    if rounds_to(computed, percent, decimals):
        return None
    fits = fitting_denominators(count, percent, decimals, sources, exclude=n)
    parts = [f"{entry['id']}: printed {percent_text(percent, decimals)}, but {count}/{n} = "
             f"{percent_text(computed, decimals)}"]
    if not declared:
        parts[0] += f" (no denominator stated; {n} is the paper's usual one)"
    parts += [f"({count}/{m} = {percent_text(100 * count / m, decimals)}: {denominator_label(paper, m, sources)})"
              for m in fits]
    slip = rounding_slip(computed, percent, decimals)
    if slip:
        parts.append(f"({slip})")
    parts.append(f"; {grim_text(percent, n, decimals)}")
    if not fits:
        tried = ", ".join(f"{count}/{m} = {percent_text(100 * count / m, decimals)}"
                          for m in sorted(sources) if m != n and m >= count)
        if tried:
            parts.append(f"; no other denominator in the paper fits ({tried})")
    severity = INCONSISTENCY if (fits and not declared) else severity_of_miss(abs(computed - percent), decimals)
    ids = paper.with_places([entry["id"], entry["of"]] if entry.get("of") else [entry["id"]])
    message = " ".join(parts).replace(" ;", ";") + also_printed(paper, entry["id"])
    return finding("percent_of_count", severity, ids, message,
                   resolution=f"{percent_text(computed, decimals)} ({count}/{n})",
                   contradicted=paper.places(entry["id"]))


def grim_only_finding(paper: Paper, entry: Entry, n: int, sources: dict[int, str]) -> Finding | None:
    """Return a finding when no integer count out of n gives a percent printed without its count."""
    percent, decimals = float(entry["value"]), decimals_of(entry)
    if counts_giving(percent, n, decimals):
        return None
    nearest = min(nearest_counts(percent, n), key=lambda k: abs(100 * k / n - percent))
    miss = abs(100 * nearest / n - percent)
    fits = [m for m in sorted(sources) if m != n and counts_giving(percent, m, decimals)]
    fit_text = "".join(f" ({counts_giving(percent, m, decimals)[0]}/{m} would: "
                       f"{denominator_label(paper, m, sources)})" for m in fits)
    message = (f"{entry['id']}: printed {percent_text(percent, decimals)} of {n}, but "
               f"{grim_text(percent, n, decimals)}{fit_text}{also_printed(paper, entry['id'])}")
    return finding("percent_of_count", severity_of_miss(miss, decimals), paper.places(entry["id"]), message,
                   resolution=f"{percent_text(100 * nearest / n, decimals)} ({nearest}/{n})")


def check_percent_of_count(paper: Paper) -> list[Finding]:
    """Percent vs count/denominator: 100·count/n rounded as printed, other denominators, GRIM."""
    sources, default_n = paper.denominator_sources(), paper.default_n()
    findings = []
    for entry in paper.study():
        if entry.get("unit") != PERCENT_UNIT or not _is_number(entry["value"]) or entry.get("approximate"):
            continue
        declared = entry.get("denominator")
        count = paper.value(entry["of"]) if entry.get("of") else None
        if _is_number(count) and (declared or default_n):
            result = percent_count_finding(paper, entry, int(count), declared or default_n, bool(declared), sources)
        elif declared:
            result = grim_only_finding(paper, entry, declared, sources)
        else:
            result = None
        findings += [result] if result else []
    return findings


# ----------------------------------------------------------------------------- 2. parts sum to total

def count_blocks(paper: Paper) -> dict[tuple[str, str, str], list[Entry]]:
    """Return the count entries grouped as (section, table, variable) blocks of levels."""
    blocks: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for entry in paper.study():
        if (entry.get("unit") in COUNT_UNITS and isinstance(entry["value"], int) and entry.get("variable")
                and entry.get("group") is not None):
            blocks[(entry["section"], entry.get("table") or "", entry["variable"])].append(entry)
    return {key: parts for key, parts in blocks.items() if len(parts) >= 2}


def percent_entries_of(paper: Paper, count_ids: set[str]) -> list[Entry]:
    """Return the percentages printed beside the given counts (their ``of``)."""
    return [entry for entry in paper.all_study() if entry.get("of") in count_ids]


def block_total(paper: Paper, parts: list[Entry]) -> tuple[int | None, str]:
    """Return the total a block of levels should sum to, and where it comes from."""
    percents = percent_entries_of(paper, {part["id"] for part in parts})
    denominators = [entry["denominator"] for entry in percents if entry.get("denominator")]
    if denominators:
        return statistics.mode(denominators), "the denominator of their percentages"
    n = paper.default_n()
    return n, "the paper's usual denominator"


def subset_with_sum(values: Sequence[int], target: int) -> bool:
    """Return True when some subset of the values sums to the target (dynamic programming)."""
    reachable = {0}
    for value in values:
        reachable |= {total + value for total in reachable if total + value <= target}
    return target in reachable


def nested_breakdown(parts: list[Entry], total: int) -> Entry | None:
    """Return the level whose breakdown is listed beside it when the surplus equals that level."""
    surplus = sum(part["value"] for part in parts) - total
    if len(parts) > MAX_BLOCK_FOR_SUBSETS or surplus <= 0:
        return None
    for part in parts:
        others = [other["value"] for other in parts if other is not part]
        if part["value"] == surplus and subset_with_sum(others, surplus):
            return part
    return None


def sum_finding(paper: Paper, key: tuple[str, str, str], parts: list[Entry], total: int, source: str,
                total_id: str | None) -> Finding | None:
    """Return a finding when the levels of one block do not add up to their total."""
    observed = sum(part["value"] for part in parts)
    if observed == total or (total_id is None and nested_breakdown(parts, total)):
        return None
    section, table, variable = key
    where = f"{table or section} {variable}"
    terms = " + ".join(str(part["value"]) for part in parts)
    percents = percent_entries_of(paper, {part["id"] for part in parts})
    percent_sum = sum(float(entry["value"]) for entry in percents if _is_number(entry["value"]))
    percent_note = f"; their percentages sum to {percent_sum:.1f}%" if percents else ""
    against = f"the printed total {total} ({total_id})" if total_id else f"{total} ({source})"
    message = (f"{where}: the {len(parts)} counts sum to {observed} ({terms}), not {against}"
               f"{percent_note}; which level is off cannot be told from the paper")
    severity = CONTRADICTION if (total_id or observed > total) else INCONSISTENCY
    if severity == INCONSISTENCY:
        message += f"; {total - observed} not accounted for (missing or unknown?)"
    ids = paper.with_places([part["id"] for part in parts] + ([total_id] if total_id else []))
    # Which level is off cannot be told, so no single count is shown wrong: only a printed total is.
    return finding("parts_sum_to_total", severity, ids, message, contradicted=[total_id] if total_id else [])


def check_parts_sum_to_total(paper: Paper) -> list[Finding]:
    """Levels of a characteristic add up to the cohort; grade cells add up to the row total."""
    findings = []
    for key, block in count_blocks(paper).items():
        totals = [part for part in block if str(part["group"]).lower() in TOTAL_GROUPS]
        parts = [part for part in block if part not in totals]
        if len(parts) < 2 and not totals:
            continue
        if totals:
            total, source, total_id = totals[0]["value"], "", totals[0]["id"]
        else:
            (total, source), total_id = block_total(paper, parts), None
        if total is None:
            continue
        result = sum_finding(paper, key, parts, total, source, total_id)
        findings += [result] if result else []
    return findings


# ----------------------------------------------------------------------------- interval centres

def arithmetic_centre(lower: float, upper: float) -> float:
    """Return (L + U)/2, the estimate a symmetric interval (estimate ± 1.96·SE) is centred on."""
    return (lower + upper) / 2


def log_centre(lower: float, upper: float) -> float:
    """Return √(L·U), the estimate a log-symmetric interval exp(ln θ ± 1.96·SE) is centred on."""
    return math.sqrt(lower * upper)


def loglog_transform(survival: float) -> float:
    """Return ln(−ln S), the scale of Greenwood's log(−log) interval."""
    return math.log(-math.log(survival))


def loglog_centre(lower: float, upper: float) -> float:
    """Return S = exp(−exp(m)), m the midpoint of ln(−ln L) and ln(−ln U) (S^exp(±1.96σ) interval)."""
    midpoint = (loglog_transform(lower) + loglog_transform(upper)) / 2
    return math.exp(-math.exp(midpoint))


def centre_range(shape: str, lower: float, upper: float, decimals: int, scale: float) -> tuple[float, float] | None:
    """Return the range of centres a shape allows for printed bounds (each ± half a unit)."""
    half = half_unit(decimals)
    low_bounds, high_bounds = (lower - half, upper - half), (lower + half, upper + half)
    centre = CENTRES[shape]
    try:
        if shape == "log-log":
            ends = [centre(a / scale, b / scale) * scale for a, b in (low_bounds, high_bounds)]
        elif shape == "log":
            ends = [centre(max(a, EPS), b) for a, b in (low_bounds, high_bounds)]
        else:
            ends = [centre(a, b) for a, b in (low_bounds, high_bounds)]
    except (ValueError, ZeroDivisionError):
        return None
    return min(ends), max(ends)


CENTRES: dict[str, Callable[[float, float], float]] = {
    "symmetric": arithmetic_centre, "log": log_centre, "log-log": loglog_centre,
}
SHAPE_WORDS = {
    "symmetric": "symmetric (estimate ± 1.96·SE)",
    "log": "symmetric on the log scale (exp(ln θ ± 1.96·SE))",
    "log-log": "symmetric on the log(−log) scale (Greenwood, S^exp(±1.96σ))",
}


def percent_scale(entry: Entry) -> float:
    """Return 100 for a percentage, 1 otherwise (the log(−log) scale needs a proportion)."""
    return 100.0 if entry.get("unit") == PERCENT_UNIT else 1.0


def shapes_allowed(entry: Entry) -> tuple[str, ...]:
    """Return the interval shapes that make sense for an entry's unit."""
    if entry.get("unit") == RATIO_UNIT:
        return ("log", "symmetric")
    if entry.get("unit") == PERCENT_UNIT:
        return ("symmetric", "log", "log-log")
    return ("symmetric", "log")


def fitting_shapes(entry: Entry) -> list[str]:
    """Return the shapes whose centre, for the printed bounds, rounds to the printed estimate."""
    value, lower, upper = float(entry["value"]), entry["lower"], entry["upper"]
    decimals = decimals_of(entry)
    fits = []
    for shape in shapes_allowed(entry):
        if shape == "log-log" and not (0 < lower < upper < percent_scale(entry)):
            continue
        if shape == "log" and lower <= 0:
            continue
        bounds = centre_range(shape, lower, upper, decimals, percent_scale(entry))
        if bounds and range_rounds_to(bounds[0], bounds[1], value, decimals):
            fits.append(shape)
    return fits


def expected_shape(entry: Entry) -> str | None:
    """Return the shape the recorded ``ci_method`` (or the unit) implies, if any."""
    method = str(entry.get("ci_method") or "")
    if any(word in method for word in SYMMETRIC_METHODS):
        return "symmetric"
    if any(word in method for word in LOGLOG_METHODS):
        return "log-log"
    if entry.get("unit") == RATIO_UNIT:
        return "log"
    return None


def implied_estimate(entry: Entry) -> tuple[float, str] | None:
    """Return the estimate the printed interval is centred on, by the interval's evident shape."""
    shape = expected_shape(entry)
    if shape is None:
        return None
    lower, upper, scale = entry["lower"], entry["upper"], percent_scale(entry)
    if shape == "log-log":
        if not 0 < lower < upper < scale:
            return None
        return loglog_centre(lower / scale, upper / scale) * scale, SHAPE_WORDS[shape]
    return CENTRES[shape](lower, upper), SHAPE_WORDS[shape]


# ----------------------------------------------------------------------------- 3. inside interval

def interval_entries(paper: Paper, kinds: tuple[str, ...] = ("ci95", "range")) -> list[Entry]:
    """Return the study's numeric entries printed with an interval of the given kinds."""
    return [entry for entry in paper.study()
            if _is_number(entry["value"]) and entry.get("lower") is not None and entry.get("interval") in kinds]


def unit_suffix(entry: Entry) -> str:
    """Return the unit as printed after a number ('%', ' months', '')."""
    unit = entry.get("unit")
    if unit == PERCENT_UNIT:
        return "%"
    return "" if unit in (RATIO_UNIT, None) else f" {unit}"


def check_estimate_in_interval(paper: Paper) -> list[Finding]:
    """An estimate lies inside its own interval (95% CI or range)."""
    findings = []
    for entry in interval_entries(paper):
        value, lower, upper = float(entry["value"]), entry["lower"], entry["upper"]
        if lower - EPS <= value <= upper + EPS:
            continue
        decimals, suffix = decimals_of(entry), unit_suffix(entry)
        kind = "95% CI" if entry["interval"] == "ci95" else "range"
        message = (f"{entry['id']}: printed {fmt(value, decimals)}{suffix} lies outside its own {kind} "
                   f"{fmt(lower, decimals)}–{fmt(upper, decimals)}{suffix}")
        implied = implied_estimate(entry) if entry["interval"] == "ci95" else None
        resolution = None
        if implied:
            estimate, words = implied
            message += f"; an interval {words} is centred on {fmt(estimate, decimals)}{suffix}"
            resolution = f"{fmt(estimate, decimals)}{suffix} (the centre of the interval)"
        message += also_printed(paper, entry["id"])
        findings.append(finding("estimate_in_interval", CONTRADICTION, paper.places(entry["id"]), message,
                                resolution))
    return findings


# ----------------------------------------------------------------------------- rows of a model table

def siblings(paper: Paper) -> dict[str, dict[str, Entry]]:
    """Return entries grouped by parent id (``table3.stage``) and keyed by their last segment."""
    groups: dict[str, dict[str, Entry]] = defaultdict(dict)
    for entry in paper.all_study():
        parent, _, last = entry["id"].rpartition(".")
        groups[parent][last] = entry
    return groups


def model_rows(paper: Paper) -> list[tuple[Entry, Entry | None, Entry | None]]:
    """Return (HR with interval, β, P) for every row that prints a hazard ratio with its interval."""
    rows = []
    for members in siblings(paper).values():
        ratios = [entry for entry in members.values()
                  if entry.get("unit") == RATIO_UNIT and entry.get("interval") == "ci95" and entry.get("lower") is not None]
        betas = [entry for entry in members.values() if entry.get("unit") == LOG_RATIO_UNIT]
        p_values = [entry for entry in members.values() if entry.get("unit") == P_UNIT]
        for ratio in ratios:
            rows.append((ratio, betas[0] if betas else None, p_values[0] if p_values else None))
    return rows


def value_range(entry: Entry) -> tuple[float, float]:
    """Return the range of true values that round to the printed one."""
    half = half_unit(decimals_of(entry))
    return float(entry["value"]) - half, float(entry["value"]) + half


def beta_fits_hr(beta: Entry, ratio: Entry) -> bool:
    """Return True when exp(β), for some β that rounds to the printed one, rounds to the printed HR."""
    low, high = value_range(beta)
    return range_rounds_to(math.exp(low), math.exp(high), float(ratio["value"]), decimals_of(ratio))


# ----------------------------------------------------------------------------- 4. β vs HR

def check_beta_vs_hr(paper: Paper) -> list[Finding]:
    """exp(β), rounded to the printed decimals, equals the printed HR."""
    findings = []
    for ratio, beta, _ in model_rows(paper):
        if beta is None or beta_fits_hr(beta, ratio):
            continue
        if ratio["id"] in paper.alias_of and beta["id"] in paper.alias_of:
            continue
        hr, b = float(ratio["value"]), float(beta["value"])
        d_hr, d_beta = decimals_of(ratio), decimals_of(beta)
        exp_beta = math.exp(b)
        centre = centre_range("log", ratio["lower"], ratio["upper"], d_hr, 1.0)
        hr_fits_interval = centre is not None and range_rounds_to(centre[0], centre[1], hr, d_hr)
        beta_fits_interval = centre is not None and centre[0] - EPS <= exp_beta <= centre[1] + EPS
        interval_text = f"{fmt(ratio['lower'], d_hr)}–{fmt(ratio['upper'], d_hr)}"
        message = (f"{beta['id']}: exp({fmt(b, d_beta)}) = {exp_beta:.3f}, which rounds to "
                   f"{fmt(exp_beta, d_hr)}, but the HR is printed as {fmt(hr, d_hr)} ({ratio['id']})")
        if centre:
            message += (f"; the interval {interval_text} is centred (log scale) between {centre[0]:.3f} "
                        f"and {centre[1]:.3f}")
        if hr_fits_interval and not beta_fits_interval:
            message += ", which fits the HR, not exp(β)"
            contradicted, resolution = paper.places(beta["id"]), f"β = ln {fmt(hr, d_hr)} = {math.log(hr):.3f}"
        elif beta_fits_interval and not hr_fits_interval:
            message += ", which fits exp(β), not the HR"
            contradicted, resolution = paper.places(ratio["id"]), f"HR = exp(β) = {fmt(exp_beta, d_hr)}"
        else:
            contradicted, resolution = paper.with_places([beta["id"], ratio["id"]]), None
        severity = severity_of_miss(abs(exp_beta - hr), d_hr)
        findings.append(finding("beta_vs_hr", severity, paper.with_places([beta["id"], ratio["id"]]),
                                message, resolution, contradicted))
    return findings


# ----------------------------------------------------------------------------- 5. interval vs P

def wald_p(z: float) -> float:
    """Return the two-sided normal P = 2·(1 − Φ(|z|))."""
    return math.erfc(abs(z) / math.sqrt(2))


def log_se(lower: float, upper: float) -> float:
    """Return SE = (ln U − ln L)/(2·1.96), the standard error of ln θ behind a Wald interval."""
    return (math.log(upper) - math.log(lower)) / (2 * Z_95)


def abs_range(low: float, high: float) -> tuple[float, float]:
    """Return the range of |x| for x in [low, high]."""
    if low <= 0 <= high:
        return 0.0, max(-low, high)
    return min(abs(low), abs(high)), max(abs(low), abs(high))


def p_range(log_estimate: tuple[float, float], lower: float, upper: float, decimals: int) -> tuple[float, float]:
    """Return the smallest and largest Wald P for every estimate and bound that round to the printed ones."""
    half = half_unit(decimals)
    se_small = log_se(lower + half, upper - half) if upper - lower > 2 * half else EPS
    se_large = log_se(max(lower - half, EPS), upper + half)
    smallest_log, largest_log = abs_range(*log_estimate)
    return wald_p(largest_log / max(se_small, EPS)), wald_p(smallest_log / se_large)


def printed_p_range(p_entry: Entry) -> tuple[float, float]:
    """Return the P values the printed one allows: [0, p) for '<', p ± half a unit otherwise."""
    p = float(p_entry["value"])
    if p_entry.get("p_operator") == "<":
        return 0.0, p
    half = half_unit(decimals_of(p_entry))
    return max(0.0, p - half), p + half


def p_text(p_entry: Entry) -> str:
    """Return a P value as printed ('P < 0.001', 'P = 0.560')."""
    operator = "<" if p_entry.get("p_operator") == "<" else "="
    return f"P {operator} {fmt(float(p_entry['value']), decimals_of(p_entry))}"


def log_estimate_range(ratio: Entry, beta: Entry | None) -> tuple[tuple[float, float], str]:
    """Return the range of ln θ (from β when it agrees with the HR, else from the HR) and its words."""
    if beta is not None and beta_fits_hr(beta, ratio):
        low, high = value_range(beta)
        return (low, high), f"β = {fmt(float(beta['value']), decimals_of(beta))}"
    low, high = value_range(ratio)
    return (math.log(max(low, EPS)), math.log(high)), f"ln {fmt(float(ratio['value']), decimals_of(ratio))}"


def p_from_interval_finding(paper: Paper, ratio: Entry, beta: Entry | None, p_entry: Entry) -> Finding | None:
    """Return a finding when the Wald P implied by the interval cannot round to the printed P."""
    d_hr = decimals_of(ratio)
    lower, upper, hr = ratio["lower"], ratio["upper"], float(ratio["value"])
    if lower <= 0 or hr <= 0:
        return None
    (low_log, high_log), estimate_words = log_estimate_range(ratio, beta)
    p_low, p_high = p_range((low_log, high_log), lower, upper, d_hr)
    printed_low, printed_high = printed_p_range(p_entry)
    if p_low <= printed_high + EPS and p_high >= printed_low - EPS:
        return None
    se = log_se(lower, upper)
    log_point = (low_log + high_log) / 2
    z = log_point / se
    message = (f"{p_entry['id']}: printed {p_text(p_entry)}, but HR {fmt(hr, d_hr)} (95% CI "
               f"{fmt(lower, d_hr)}–{fmt(upper, d_hr)}) gives SE = (ln {fmt(upper, d_hr)} − ln "
               f"{fmt(lower, d_hr)})/(2·{Z_95}) = {se:.3f}, z = {estimate_words}/SE = {z:.2f}, P = "
               f"{fmt_p(wald_p(z))} (between {fmt_p(p_low)} and {fmt_p(p_high)} for any numbers that round "
               f"to the printed ones)")
    if beta is not None and not beta_fits_hr(beta, ratio):
        beta_z = float(beta["value"]) / se
        message += f"; with the printed β = {beta['value']} instead, P = {fmt_p(wald_p(beta_z))}"
    message += also_printed(paper, p_entry["id"])
    resolution = (f"P < {fmt(10.0 ** -decimals_of(p_entry), decimals_of(p_entry))}"
                  if p_high < 10.0 ** -decimals_of(p_entry) else f"P ≈ {fmt_p(wald_p(z))}")
    ids = paper.with_places([p_entry["id"], ratio["id"]] + ([beta["id"]] if beta else []))
    return finding("interval_vs_p", CONTRADICTION, ids, message, resolution, paper.places(p_entry["id"]))


def null_side_finding(paper: Paper, ratio: Entry, p_entry: Entry) -> Finding | None:
    """Return a finding when 'interval excludes 1' and 'P < 0.05' disagree."""
    lower, upper, d_hr = ratio["lower"], ratio["upper"], decimals_of(ratio)
    p_low, p_high = printed_p_range(p_entry)
    significant = p_high <= P_SIGNIFICANT + EPS
    not_significant = p_low > P_SIGNIFICANT + EPS
    interval = f"{fmt(lower, d_hr)}–{fmt(upper, d_hr)}"
    ids = paper.with_places([ratio["id"], p_entry["id"]])
    if significant and (math.isclose(lower, 1.0) or math.isclose(upper, 1.0)):
        message = (f"{ratio['id']}: the printed interval {interval} touches 1 while {p_text(p_entry)} < "
                   f"{P_SIGNIFICANT}; only the unrounded limit can exclude 1{also_printed(paper, ratio['id'])}")
        return finding("interval_vs_p", INCONSISTENCY, ids, message)
    includes_one = lower < 1.0 < upper
    if significant and includes_one or not_significant and not includes_one:
        verdict = "includes" if includes_one else "excludes"
        message = (f"{ratio['id']}: the interval {interval} {verdict} 1, but {p_text(p_entry)}"
                   f"{also_printed(paper, ratio['id'])}")
        return finding("interval_vs_p", CONTRADICTION, ids, message, contradicted=paper.places(p_entry["id"]))
    return None


def check_interval_vs_p(paper: Paper) -> list[Finding]:
    """The Wald P implied by a ratio's interval matches the printed P; the interval excludes 1 iff P < 0.05."""
    findings = []
    for ratio, beta, p_entry in model_rows(paper):
        if p_entry is None or (ratio["id"] in paper.alias_of and p_entry["id"] in paper.alias_of):
            continue
        result = p_from_interval_finding(paper, ratio, beta, p_entry) or null_side_finding(paper, ratio, p_entry)
        findings += [result] if result else []
    return findings


# ----------------------------------------------------------------------------- 6. interval method

def interval_family(entry: Entry) -> str | None:
    """Return the family an interval belongs to: median, survival-rate, proportion or ratio."""
    if entry.get("unit") == RATIO_UNIT:
        return "ratio"
    if entry.get("unit") == PERCENT_UNIT and entry.get("denominator"):
        return "proportion"
    if entry.get("unit") == PERCENT_UNIT:
        return "survival-rate"
    if entry.get("unit") in TIME_UNITS and entry["id"].endswith("median"):
        return "median"
    return None


def proportion_intervals(k: int, n: int) -> dict[str, tuple[float, float]]:
    """Return the 95% intervals of k/n in percent: Clopper–Pearson (Beta(k, n−k+1) and Beta(k+1, n−k)
    quantiles), Wilson ((p + z²/2n ± z·√(p(1−p)/n + z²/4n²))/(1 + z²/n)) and Wald (p ± z·√(p(1−p)/n))."""
    alpha = 1 - CI_LEVEL
    p = k / n
    exact_low = float(betaincinv(k, n - k + 1, alpha / 2)) if k > 0 else 0.0
    exact_high = float(betaincinv(k + 1, n - k, 1 - alpha / 2)) if k < n else 1.0
    centre = (p + Z_95 ** 2 / (2 * n)) / (1 + Z_95 ** 2 / n)
    spread = Z_95 * math.sqrt(p * (1 - p) / n + Z_95 ** 2 / (4 * n ** 2)) / (1 + Z_95 ** 2 / n)
    wald = Z_95 * math.sqrt(p * (1 - p) / n)
    return {
        "Clopper–Pearson (exact)": (100 * exact_low, 100 * exact_high),
        "Wilson": (100 * (centre - spread), 100 * (centre + spread)),
        "Wald": (100 * max(0.0, p - wald), 100 * min(1.0, p + wald)),
    }


def interval_miss(interval: tuple[float, float], entry: Entry) -> float:
    """Return the larger distance between a computed and a printed bound."""
    return max(abs(interval[0] - entry["lower"]), abs(interval[1] - entry["upper"]))


def proportion_method_finding(paper: Paper, entry: Entry) -> Finding | None:
    """Return which proportion interval reproduces a printed one (note), or the nearest one (inconsistency)."""
    n, decimals = entry["denominator"], decimals_of(entry)
    ks = counts_giving(float(entry["value"]), n, decimals)
    if not ks:
        return None
    intervals = proportion_intervals(ks[0], n)
    exact = [name for name, bounds in intervals.items()
             if rounds_to(bounds[0], entry["lower"], decimals) and rounds_to(bounds[1], entry["upper"], decimals)]
    nearest = min(intervals, key=lambda name: interval_miss(intervals[name], entry))
    described = "; ".join(f"{name} {fmt(low, decimals)}–{fmt(high, decimals)}" for name, (low, high) in intervals.items())
    if exact:
        verdict, severity = f"the printed interval is the {' / '.join(exact)} one", NOTE
    elif interval_miss(intervals[nearest], entry) <= unit_of(decimals) + half_unit(decimals) + EPS:
        slips = [rounding_slip(computed, printed, decimals)
                 for computed, printed in zip(intervals[nearest], (entry["lower"], entry["upper"]))
                 if not rounds_to(computed, printed, decimals)]
        slip_text = f" ({'; '.join(slip for slip in slips if slip)})" if any(slips) else ""
        verdict = f"the nearest is {nearest}, off by one unit in the last digit{slip_text}"
        severity = INCONSISTENCY
    else:
        verdict, severity = "no standard interval reproduces it", INCONSISTENCY
    message = (f"{entry['id']}: {fmt(float(entry['value']), decimals)}% = {ks[0]}/{n}, printed 95% CI "
               f"{fmt(entry['lower'], decimals)}–{fmt(entry['upper'], decimals)}%; {described}: {verdict}"
               f"{also_printed(paper, entry['id'])}")
    return finding("interval_method", severity, paper.places(entry["id"]), message)


def proportion_method_findings(paper: Paper, entries: list[Entry]) -> list[Finding]:
    """Return, for each proportion, which standard interval its printed interval is."""
    results = [proportion_method_finding(paper, entry) for entry in entries]
    return [result for result in results if result]


def shape_family_findings(paper: Paper, family: str, entries: list[Entry]) -> list[Finding]:
    """Return a note on the shape most intervals of a family share, and the intervals that differ."""
    fits = {entry["id"]: fitting_shapes(entry) for entry in entries}
    tally = Counter(shape for shapes in fits.values() for shape in shapes)
    if not tally:
        return []
    expected = Counter(expected_shape(entry) for entry in entries if expected_shape(entry))
    majority = expected.most_common(1)[0][0] if expected else tally.most_common(1)[0][0]
    agreeing = [entry_id for entry_id, shapes in fits.items() if majority in shapes]
    words = SHAPE_WORDS[majority]
    others = {shape: count for shape, count in tally.items() if shape != majority}
    other_text = "; ".join(f"{count} also fit {SHAPE_WORDS[shape]}" for shape, count in others.items())
    message = (f"{len(agreeing)} of {len(entries)} {family} intervals are {words} to the printed rounding"
               f"{' (' + other_text + ')' if other_text else ''}: {METHOD_REVEALED[family].get(majority, '')}")
    findings = [finding("interval_method", NOTE, paper.with_places(agreeing), message.rstrip(": "))]
    for entry in entries:
        if majority in fits[entry["id"]]:
            continue
        decimals = decimals_of(entry)
        centre = CENTRES[majority](entry["lower"], entry["upper"]) if majority != "log-log" else None
        centre_text = f" (centre {fmt(centre, decimals)})" if centre is not None else ""
        alternative = (f"; it is {' and '.join(SHAPE_WORDS[shape] for shape in fits[entry['id']])}"
                       if fits[entry["id"]] else "; it fits no standard shape")
        message = (f"{entry['id']}: {fmt(float(entry['value']), decimals)} ({fmt(entry['lower'], decimals)}–"
                   f"{fmt(entry['upper'], decimals)}) is not {words}{centre_text}, unlike {len(agreeing)} other "
                   f"{family} intervals{alternative}{also_printed(paper, entry['id'])}")
        findings.append(finding("interval_method", INCONSISTENCY, paper.places(entry["id"]), message))
    return findings


METHOD_REVEALED: dict[str, dict[str, str]] = {
    "median": {"symmetric": "median ± 1.96·SE as SPSS prints it (Brookmeyer–Crowley intervals, R's and "
                             "lifelines' default, are asymmetric)",
                "log": "a log-transformed interval"},
    "survival-rate": {"log-log": "Greenwood variance on the log(−log S) scale (Stata sts list, lifelines)",
                       "symmetric": "plain Greenwood S ± 1.96·SE"},
    "ratio": {"log": "Wald intervals exp(β ± 1.96·SE) from a Cox or logistic model"},
}


def check_interval_method(paper: Paper) -> list[Finding]:
    """Interval shapes reveal the method: symmetric medians (SPSS), log(−log) rates, Wald ratios, exact proportions."""
    families: dict[str, list[Entry]] = defaultdict(list)
    for entry in interval_entries(paper, kinds=("ci95",)):
        if entry["lower"] - EPS <= float(entry["value"]) <= entry["upper"] + EPS and interval_family(entry):
            families[interval_family(entry)].append(entry)
    findings = proportion_method_findings(paper, families.pop("proportion", []))
    for family, entries in families.items():
        findings += shape_family_findings(paper, family, entries)
    return findings


# ----------------------------------------------------------------------------- 7. medians vs counts

def threshold_of(text: str | None) -> tuple[str, float] | None:
    """Return the single (operator, threshold) a group code ('le35') or label ('≤35', '<10 cm') names."""
    found = thresholds_in(text)
    return found[0] if len(found) == 1 else None


def thresholds_in(text: str | None) -> list[tuple[str, float]]:
    """Return every (operator, threshold) written in a label ('>10 vs ≤ 10' gives two)."""
    if not text:
        return []
    text = str(text)
    for latex, symbol in LATEX_OPERATORS.items():
        text = text.replace(latex, symbol)
    code = THRESHOLD_CODE.match(text)
    if code:
        return [(CODE_OPERATORS[code.group(1)], float(code.group(2).replace("_", ".")))]
    return [(TEXT_OPERATORS[operator], float(number)) for operator, number in THRESHOLD_IN_TEXT.findall(text)]


def at_or_below(operator: str, count: int, n: int) -> tuple[str, int]:
    """Return ('<=', #x ≤ t) or ('<', #x < t) from the count of one side of a cut."""
    return {"<=": ("<=", count), ">": ("<=", n - count), "<": ("<", count), ">=": ("<", n - count)}[operator]


def median_requirement(median: float, kind: str, threshold: float, n: int) -> tuple[str, int]:
    """Return what the median demands of the count on the low side of a cut, e.g. ('>=', 57).

    With n values the median is the ⌈n/2⌉-th value (odd n), so median ≤ t needs at least ⌈n/2⌉
    values ≤ t and median > t allows at most ⌊n/2⌋ of them (likewise for < and ≥).
    """
    low_side_holds = median <= threshold if kind == "<=" else median < threshold
    return (">=", math.ceil(n / 2)) if low_side_holds else ("<=", n // 2)


def median_value_range(entry: Entry, n: int) -> list[float]:
    """Return the medians to test: the printed one when whole numbers and odd n make it exact, else its rounding range."""
    value, decimals = float(entry["value"]), decimals_of(entry)
    if decimals == 0 and n % 2 == 1:
        return [value]
    half = half_unit(decimals)
    return [value - half + EPS, value, value + half - EPS]


def ordinal(number: int) -> str:
    """Return 1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, … 57th."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def median_count_finding(paper: Paper, median: Entry, part: Entry, operator: str, threshold: float,
                         n: int) -> Finding | None:
    """Return a finding when a median cannot sit where it is printed given the count on one side of a cut."""
    kind, low_count = at_or_below(operator, part["value"], n)
    verdicts = []
    for candidate in median_value_range(median, n):
        need, bound = median_requirement(candidate, kind, threshold, n)
        verdicts.append(low_count >= bound if need == ">=" else low_count <= bound)
    if any(verdicts):
        return None
    value = float(median["value"])
    need, bound = median_requirement(value, kind, threshold, n)
    symbol = OPERATOR_SYMBOLS[kind]
    t_text = fmt(threshold, 0 if threshold.is_integer() else 1)
    printed = fmt(value, decimals_of(median))
    if need == ">=":
        demand = f"at least {bound} of {n} values {symbol} {t_text}"
        where = "above" if kind == "<=" else "at or above"
    else:
        demand = f"at most {bound} of {n} values {symbol} {t_text}"
        where = "at or below" if kind == "<=" else "below"
    message = (f"{median['id']}: a median of {printed} needs {demand} (the median of {n} values is the "
               f"{ordinal(math.ceil(n / 2))}), but {part['id']} counts {low_count} {symbol} {t_text} "
               f"({n - low_count} on the other side), so the median is {where} {t_text}"
               f"{also_printed(paper, median['id'])}")
    ids = paper.with_places([median["id"], part["id"]])
    return finding("median_vs_counts", CONTRADICTION, ids, message,
                   resolution=f"median {where} {t_text}", contradicted=paper.places(median["id"]))


def check_median_vs_counts(paper: Paper) -> list[Finding]:
    """A median is consistent with the counts on each side of a printed cut-point."""
    blocks = count_blocks(paper)
    findings = []
    for median in paper.study():
        if (not median["id"].endswith("median") or not median.get("variable") or median.get("endpoint")
                or not _is_number(median["value"]) or median.get("unit") == PERCENT_UNIT):
            continue
        for (_, _, variable), parts in blocks.items():
            if variable != median["variable"]:
                continue
            n = sum(part["value"] for part in parts)
            for part in parts:
                cut = threshold_of(part.get("group")) or threshold_of(part.get("row"))
                result = cut and median_count_finding(paper, median, part, cut[0], cut[1], n)
                findings += [result] if result else []
                if result:
                    break
    return findings


# ----------------------------------------------------------------------------- 8. restated numbers

def numbers_agree(a: float, b: float, decimals: int) -> bool:
    """Return True when two printings agree at the coarser precision."""
    return fmt(a, decimals) == fmt(b, decimals)


def matching_elsewhere(paper: Paper, entry: Entry, exclude: set[str]) -> list[Entry]:
    """Return study entries of the same variable and unit whose value the restatement matches."""
    decimals = decimals_of(entry)
    return [other for other in paper.study()
            if other["id"] not in exclude and other.get("variable") == entry.get("variable")
            and entry.get("variable") and other.get("unit") == entry.get("unit") and _is_number(other["value"])
            and numbers_agree(float(other["value"]), float(entry["value"]), min(decimals, decimals_of(other)))]


def restatement_finding(paper: Paper, entry: Entry, target: Entry) -> Finding | None:
    """Return a finding when a restatement prints its quantity differently from the place it restates."""
    decimals = min(decimals_of(entry), decimals_of(target))
    value, other = float(entry["value"]), float(target["value"])
    intervals_differ = (entry.get("lower") is not None and target.get("lower") is not None
                        and not (numbers_agree(entry["lower"], target["lower"], decimals)
                                 and numbers_agree(entry["upper"], target["upper"], decimals)))
    if numbers_agree(value, other, decimals) and not intervals_differ:
        return None
    suffix = unit_suffix(target)
    approx = "~" if entry.get("approximate") else ""
    target_places = paper.places(target["id"])
    others = [place for place in target_places if place != target["id"]]
    elsewhere = f" (also {listed(others)})" if others else ""
    message = (f"{entry['id']} prints {approx}{fmt(value, decimals_of(entry))}{suffix} where {target['id']} "
               f"prints {fmt(other, decimals_of(target))}{suffix}{elsewhere}")
    if intervals_differ:
        message += (f"; intervals {fmt(entry['lower'], decimals)}–{fmt(entry['upper'], decimals)} vs "
                    f"{fmt(target['lower'], decimals)}–{fmt(target['upper'], decimals)}")
    matches = matching_elsewhere(paper, entry, set(target_places) | {entry["id"]})
    if matches:
        message += "; it matches " + ", ".join(f"{match['id']} = {match['value']}" for match in matches)
    severity = INCONSISTENCY if entry.get("approximate") else CONTRADICTION
    ids = paper.with_places([entry["id"]]) + target_places
    resolution = f"{fmt(other, decimals_of(target))}{suffix} (as {target['id']})"
    return finding("restated_numbers", severity, ids, message, resolution, paper.places(entry["id"]))


def check_restated_numbers(paper: Paper) -> list[Finding]:
    """The same quantity printed in two places (text vs table, abstract vs results, second record) agrees."""
    findings = []
    for entry in paper.study():
        target = paper.entries.get(entry.get("see_also") or "")
        if target is None or not (_is_number(entry["value"]) and _is_number(target["value"])):
            continue
        result = restatement_finding(paper, entry, paper.entries[paper.primary(target["id"])])
        findings += [result] if result else []
    return findings


# ----------------------------------------------------------------------------- 8b. cut-points

def cut_points(entry: Entry) -> list[tuple[str, float]]:
    """Return the cut-points an entry names, from its operator, group and row labels."""
    found = thresholds_in(entry.get("group")) + thresholds_in(entry.get("row"))
    if entry.get("operator") in TEXT_OPERATORS and _is_number(entry["value"]):
        found.append((TEXT_OPERATORS[entry["operator"]], float(entry["value"])))
    return found


def cut_side(operator: str) -> str:
    """Return which group the threshold itself falls in: 'upper' for <t/≥t, 'lower' for ≤t/>t."""
    return "upper" if operator in UPPER_SIDE_OPERATORS else "lower"


def cut_label(threshold: float, side: str) -> str:
    """Return a cut as written: '<10 / ≥10' or '≤10 / >10'."""
    t = fmt(threshold, 0 if threshold.is_integer() else 1)
    return f"<{t} / ≥{t}" if side == "upper" else f"≤{t} / >{t}"


def as_upper_cut(cut: tuple[float, str]) -> tuple[float, str]:
    """Return a whole-number cut with the threshold in the upper group (≤1 / >1 becomes <2 / ≥2)."""
    threshold, side = cut
    return (threshold + 1, "upper") if side == "lower" and threshold.is_integer() else cut


def same_integer_cut(a: tuple[float, str], b: tuple[float, str]) -> bool:
    """Return True when two cuts split whole numbers alike (≤1 / >1 is <2 / ≥2)."""
    return as_upper_cut(a) == as_upper_cut(b)


Cut = tuple[float, str]  # (threshold, side the threshold falls on)


def variable_cuts(paper: Paper) -> dict[str, dict[Cut, list[Entry]]]:
    """Return, per variable, every cut-point named and the entries naming it."""
    by_variable: dict[str, dict[Cut, list[Entry]]] = defaultdict(lambda: defaultdict(list))
    for entry in paper.all_study():
        for operator, threshold in cut_points(entry) if entry.get("variable") else []:
            by_variable[entry["variable"]][(threshold, cut_side(operator))].append(entry)
    return by_variable


def same_split(a: Cut, b: Cut) -> bool:
    """Return True when two cuts name one split: the same threshold, or the same split of whole numbers."""
    return a[0] == b[0] or same_integer_cut(a, b)


def splits_of(cuts: Iterable[Cut]) -> list[list[Cut]]:
    """Return the cuts grouped into splits (connected by ``same_split``)."""
    splits: list[list[Cut]] = []
    for cut in sorted(cuts):
        homes = [split for split in splits if any(same_split(member, cut) for member in split)]
        merged = [cut] + [member for split in homes for member in split]
        splits = [split for split in splits if split not in homes] + [sorted(merged)]
    return splits


def entry_place(entry: Entry) -> tuple[str, str]:
    """Return where an entry stands: its section and table."""
    return entry["section"], entry.get("table") or ""


def cut_ids_text(cuts: dict[Cut, list[Entry]], cut: Cut) -> str:
    """Return '<10 / ≥10 in id, id …' for one cut."""
    return f"{cut_label(*cut)} in {', '.join(compact_ids(entry['id'] for entry in cuts[cut]))}"


def naming_findings(variable: str, cuts: dict[Cut, list[Entry]]) -> list[Finding]:
    """Return a finding when one threshold is written with the threshold in the lower and the upper group."""
    findings = []
    for threshold in sorted({cut[0] for cut in cuts}):
        both = [cut for cut in sorted(cuts) if cut[0] == threshold]
        if len(both) < 2:
            continue
        described = "; ".join(cut_ids_text(cuts, cut) for cut in both)
        ids = [entry["id"] for cut in both for entry in cuts[cut]]
        message = f"{variable}: the same cut-point is written with the threshold on either side: {described}"
        findings.append(finding("cut_points", INCONSISTENCY, ids, message))
    return findings


def split_findings(variable: str, cuts: dict[Cut, list[Entry]]) -> list[Finding]:
    """Return a finding when two places of the paper split a variable at different, unrelated cut-points."""
    splits = splits_of(cuts)
    if len(splits) < 2:
        return []
    places: dict[tuple[str, str], set[int]] = defaultdict(set)
    for index, split in enumerate(splits):
        for cut in split:
            for entry in cuts[cut]:
                places[entry_place(entry)].add(index)
    used = list(places.values())
    if not any(a.isdisjoint(b) for position, a in enumerate(used) for b in used[position + 1:]):
        return []
    described = "; ".join(cut_ids_text(cuts, split[0]) for split in splits)
    ids = [entry["id"] for split in splits for cut in split for entry in cuts[cut]]
    message = f"{variable}: the variable is split at different cut-points in different places: {described}"
    return [finding("cut_points", INCONSISTENCY, ids, message)]


def check_cut_points(paper: Paper) -> list[Finding]:
    """A variable is split at one cut-point, named the same way everywhere (<10 vs ≤10; ≥2 vs ≥3)."""
    findings = []
    for variable, cuts in variable_cuts(paper).items():
        findings += naming_findings(variable, cuts) + split_findings(variable, cuts)
    return findings


# ----------------------------------------------------------------------------- 9. dates

def parse_date(value: object) -> dt.date | None:
    """Return a date from 'YYYY-MM-DD' or 'YYYY-MM' (first of the month), else None."""
    text = str(value)
    for pattern in ("%Y-%m-%d", "%Y-%m"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def months_between(start: dt.date, end: dt.date) -> float:
    """Return the months from one date to another (days / (365.25/12))."""
    return (end - start).days / DAYS_PER_MONTH


def dated_entries(paper: Paper) -> dict[str, dt.date]:
    """Return every study date printed, by id."""
    dates = {}
    for entry in paper.all_study():
        if entry.get("unit") == DATE_UNIT and parse_date(entry["value"]):
            dates[entry["id"]] = parse_date(entry["value"])
    return dates


def year_vs_date_findings(paper: Paper, dates: dict[str, dt.date]) -> list[Finding]:
    """Return findings where a year restates a date with a different year."""
    findings = []
    for entry in paper.all_study():
        target = entry.get("see_also")
        if entry.get("unit") in YEAR_UNITS and target in dates and _is_number(entry["value"]):
            if int(entry["value"]) != dates[target].year:
                message = f"{entry['id']} prints the year {entry['value']} where {target} is {paper.value(target)}"
                findings.append(finding("dates", CONTRADICTION, (entry["id"], target), message,
                                        resolution=str(dates[target].year), contradicted=(entry["id"],)))
    return findings


def period_pairs(dates: dict[str, dt.date]) -> dict[str, tuple[str, str]]:
    """Return period name → (start id, end id) for dates printed as '<name>.start' and '<name>.end'."""
    pairs = {}
    for entry_id in dates:
        prefix, _, last = entry_id.rpartition(".")
        if last == "start" and f"{prefix}.end" in dates:
            pairs[prefix.rpartition(".")[2]] = (entry_id, f"{prefix}.end")
    return pairs


def period_length_findings(paper: Paper, dates: dict[str, dt.date]) -> list[Finding]:
    """Return notes where a stated length of a period differs from its printed start and end."""
    findings = []
    for name, (start_id, end_id) in period_pairs(dates).items():
        span_years = months_between(dates[start_id], dates[end_id]) / MONTHS_PER_YEAR
        for entry in paper.all_study():
            if entry["id"].endswith(f"{name}.length") and _is_number(entry["value"]):
                if abs(span_years - float(entry["value"])) < HALF:
                    continue
                approx = "about " if entry.get("approximate") else ""
                message = (f"{entry['id']}: the period is called {approx}{entry['value']} {entry['unit']}, while "
                           f"{start_id} {paper.value(start_id)} to {end_id} {paper.value(end_id)} spans "
                           f"{span_years:.1f} years (the calendar years {dates[start_id].year}–{dates[end_id].year} "
                           f"are {dates[end_id].year - dates[start_id].year + 1})")
                findings.append(finding("dates", NOTE, (entry["id"], start_id, end_id), message))
    return findings


def follow_up_findings(paper: Paper, dates: dict[str, dt.date]) -> list[Finding]:
    """Return findings where a follow-up range is longer than the time from study start to data cutoff."""
    starts = sorted(dates[entry_id] for entry_id in dates if entry_id.endswith(".start"))
    cutoffs = [entry_id for entry_id in dates if "cutoff" in entry_id]
    if not starts or not cutoffs:
        return []
    findings = []
    possible = months_between(starts[0], dates[cutoffs[0]])
    for entry in interval_entries(paper, kinds=("range",)):
        if "follow_up" in entry["id"] and entry.get("unit") == "months" and entry["upper"] > possible + EPS:
            message = (f"{entry['id']}: the longest follow-up, {entry['upper']} months, exceeds the "
                       f"{possible:.1f} months from the study start ({starts[0].isoformat()}) to the data cutoff "
                       f"{cutoffs[0]} ({dates[cutoffs[0]].isoformat()})")
            findings.append(finding("dates", CONTRADICTION, (entry["id"], cutoffs[0]), message,
                                    contradicted=(entry["id"],)))
    return findings


def record_year_findings(paper: Paper, dates: dict[str, dt.date]) -> list[Finding]:
    """Return the facts when a bibliographic record is dated before the data cutoff of the numbers it prints."""
    cutoffs = {entry_id: date for entry_id, date in dates.items() if "cutoff" in entry_id}
    if not cutoffs:
        return []
    cutoff_id, cutoff = max(cutoffs.items(), key=lambda item: item[1])
    findings = []
    for entry in paper.entries.values():
        if (entry.get("section") != BIBLIOGRAPHY or entry.get("unit") not in YEAR_UNITS
                or not _is_number(entry["value"]) or int(entry["value"]) >= cutoff.year):
            continue
        record = entry["id"].split(".")[0]
        restated = [alias for alias, target in paper.alias_of.items()
                    if alias.startswith(f"{record}.") and not target.startswith(f"{record}.")]
        printed = [other for other in paper.entries.values()
                   if other["id"].startswith(f"{record}.") and other.get("section") != BIBLIOGRAPHY]
        later = sorted((int(other["value"]), other["id"]) for other in paper.entries.values()
                       if other.get("scope") == LITERATURE and other.get("unit") in YEAR_UNITS
                       and _is_number(other["value"]) and int(other["value"]) > int(entry["value"]))
        message = (f"{entry['id']}: the record is dated {entry['value']}; the data cutoff of the study is "
                   f"{paper.value(cutoff_id)} ({cutoff_id}); the record prints {len(printed)} numbers, "
                   f"{len(restated)} of them identical to the main paper's")
        if later:
            message += ("; the main paper cites work dated " +
                        ", ".join(f"{year} ({entry_id})" for year, entry_id in later))
        findings.append(finding("dates", CONTRADICTION, (entry["id"], cutoff_id) + tuple(restated), message,
                                contradicted=()))
    return findings


def check_dates(paper: Paper) -> list[Finding]:
    """Dates agree: years vs dates, period lengths, follow-up vs calendar, records vs data cutoff."""
    dates = dated_entries(paper)
    return (year_vs_date_findings(paper, dates) + period_length_findings(paper, dates)
            + follow_up_findings(paper, dates) + record_year_findings(paper, dates))


# ----------------------------------------------------------------------------- 10. other checks

def check_duplicate_estimates(paper: Paper) -> list[Finding]:
    """Two different quantities printed with the same estimate and interval (a copied line?)."""
    groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for entry in interval_entries(paper, kinds=("ci95",)):
        groups[(entry.get("unit"), float(entry["value"]), entry["lower"], entry["upper"])].append(entry["id"])
    findings = []
    for (unit, value, lower, upper), ids in groups.items():
        if len(ids) < 2:
            continue
        decimals = decimals_of(paper.entries[ids[0]])
        suffix = unit_suffix(paper.entries[ids[0]])
        message = (f"{' and '.join(ids)} print the same estimate and interval, {fmt(value, decimals)}{suffix} "
                   f"({fmt(lower, decimals)}–{fmt(upper, decimals)}{suffix}), for different quantities")
        findings.append(finding("duplicate_estimates", NOTE, paper.with_places(ids), message))
    return findings


def landmark_months(entry_id: str) -> float | None:
    """Return the landmark time of a survival rate id ('…os.year2.rate' → 24 months)."""
    for segment in entry_id.split("."):
        match = LANDMARK.match(segment)
        if match:
            return float(match.group(2)) * (MONTHS_PER_YEAR if match.group(1) == "year" else 1)
    return None


def survival_rates(paper: Paper) -> list[tuple[Entry, float]]:
    """Return the whole-cohort landmark survival rates with their times in months."""
    return [(entry, landmark_months(entry["id"])) for entry in paper.study()
            if entry.get("endpoint") and entry.get("unit") == PERCENT_UNIT and not entry.get("variable")
            and landmark_months(entry["id"]) is not None and _is_number(entry["value"])]


def survival_medians(paper: Paper) -> list[Entry]:
    """Return the Kaplan–Meier medians (whole cohort and subgroups)."""
    return [entry for entry in paper.study()
            if entry.get("endpoint") and entry["id"].endswith("median") and entry.get("unit") in TIME_UNITS
            and _is_number(entry["value"])]


def rates_decrease_findings(rates: list[tuple[Entry, float]]) -> list[Finding]:
    """Return findings where a later landmark rate exceeds an earlier one of the same endpoint."""
    findings = []
    for earlier, t1 in rates:
        for later, t2 in rates:
            if earlier["endpoint"] == later["endpoint"] and t1 < t2 and float(later["value"]) > float(earlier["value"]):
                message = (f"{later['id']}: {later['value']}% at {t2:g} months exceeds {earlier['value']}% at "
                           f"{t1:g} months ({earlier['id']}); a survival curve cannot rise")
                findings.append(finding("survival_ordering", CONTRADICTION, (later["id"], earlier["id"]), message))
    return findings


def pfs_below_os_findings(rates: list[tuple[Entry, float]], medians: list[Entry]) -> list[Finding]:
    """Return findings where PFS exceeds OS at the same landmark or in the same group's median."""
    shorter, longer = ENDPOINT_ORDER
    findings = []
    for pfs, t1 in rates:
        for os_, t2 in rates:
            if pfs["endpoint"] == shorter and os_["endpoint"] == longer and t1 == t2 \
                    and float(pfs["value"]) > float(os_["value"]):
                message = (f"{pfs['id']}: PFS {pfs['value']}% exceeds OS {os_['value']}% ({os_['id']}) at {t1:g} "
                           f"months; progression-free survival counts deaths too, so PFS(t) ≤ OS(t)")
                findings.append(finding("survival_ordering", CONTRADICTION, (pfs["id"], os_["id"]), message))
    by_id = {entry["id"]: entry for entry in medians}
    for entry in medians:
        partner = by_id.get(entry["id"].replace(f".{shorter}.", f".{longer}."))
        if entry["endpoint"] == shorter and partner and partner is not entry \
                and float(entry["value"]) > float(partner["value"]):
            message = (f"{entry['id']}: median PFS {entry['value']} exceeds median OS {partner['value']} "
                       f"({partner['id']}) in the same group")
            findings.append(finding("survival_ordering", CONTRADICTION, (entry["id"], partner["id"]), message))
    return findings


def median_vs_rate_findings(rates: list[tuple[Entry, float]], medians: list[Entry]) -> list[Finding]:
    """Return findings where a landmark rate sits on the wrong side of 50% given the median."""
    findings = []
    for median in medians:
        if median.get("variable"):
            continue
        m, half_m = float(median["value"]), half_unit(decimals_of(median))
        for rate, t in rates:
            if rate["endpoint"] != median["endpoint"]:
                continue
            s, half_s = float(rate["value"]), half_unit(decimals_of(rate))
            if m + half_m < t and s - half_s > 50:
                relation = f"the median {m:g} months is before {t:g} months, so S({t:g}) ≤ 50%"
            elif m - half_m > t and s + half_s < 50:
                relation = f"the median {m:g} months is after {t:g} months, so S({t:g}) > 50%"
            else:
                continue
            message = f"{rate['id']}: {s}% but {relation} ({median['id']})"
            findings.append(finding("survival_ordering", CONTRADICTION, (rate["id"], median["id"]), message))
    return findings


def pooled_median_findings(medians: list[Entry]) -> list[Finding]:
    """Return findings where a whole-cohort median lies outside the range of a split's group medians."""
    findings = []
    pooled = [entry for entry in medians if not entry.get("variable")]
    groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in medians:
        if entry.get("variable"):
            groups[(entry["variable"], entry["endpoint"])].append(entry)
    for overall in pooled:
        for (variable, endpoint), members in groups.items():
            if endpoint != overall["endpoint"] or len(members) < 2:
                continue
            values = [float(member["value"]) for member in members]
            if min(values) - EPS <= float(overall["value"]) <= max(values) + EPS:
                continue
            message = (f"{overall['id']}: the whole-cohort median {overall['value']} lies outside the medians "
                       f"of the {variable} groups ({', '.join(f'{v:g}' for v in values)}); for groups that split "
                       f"the cohort, the pooled curve lies between the group curves")
            ids = (overall["id"],) + tuple(member["id"] for member in members)
            findings.append(finding("survival_ordering", INCONSISTENCY, ids, message))
    return findings


def check_survival_ordering(paper: Paper) -> list[Finding]:
    """Survival curves fall, PFS ≤ OS, rates sit on the right side of 50% given the median."""
    rates, medians = survival_rates(paper), survival_medians(paper)
    return (rates_decrease_findings(rates) + pfs_below_os_findings(rates, medians)
            + median_vs_rate_findings(rates, medians) + pooled_median_findings(medians))


def check_response_rates(paper: Paper) -> list[Finding]:
    """ORR = (CR + PR)/n and DCR = (CR + PR + SD)/n from the printed response categories."""
    counts = {str(entry["group"]).lower(): entry for entry in paper.study()
              if entry.get("unit") in COUNT_UNITS and str(entry.get("group", "")).lower() in ("cr", "pr", "sd", "pd")
              and isinstance(entry["value"], int)}
    findings = []
    for entry in paper.study():
        rate = entry["id"].rsplit(".", 1)[-1]
        if rate not in RESPONSE_GROUPS or not entry.get("denominator") or not _is_number(entry["value"]):
            continue
        needed = RESPONSE_GROUPS[rate]
        if not all(group in counts for group in needed):
            continue
        total = sum(counts[group]["value"] for group in needed)
        computed = 100 * total / entry["denominator"]
        decimals = decimals_of(entry)
        if rounds_to(computed, float(entry["value"]), decimals):
            continue
        terms = " + ".join(f"{group.upper()} {counts[group]['value']}" for group in needed)
        message = (f"{entry['id']}: printed {percent_text(float(entry['value']), decimals)}, but ({terms})/"
                   f"{entry['denominator']} = {percent_text(computed, decimals)}{also_printed(paper, entry['id'])}")
        ids = paper.with_places([entry["id"]] + [counts[group]["id"] for group in needed])
        findings.append(finding("response_rates", severity_of_miss(abs(computed - float(entry["value"])), decimals),
                                ids, message, percent_text(computed, decimals), paper.places(entry["id"])))
    return findings


def letter_grade_cells(paper: Paper) -> list[Entry]:
    """Return the table cells that count events of one letter grade (SIR A–F)."""
    return [entry for entry in paper.study()
            if entry.get("table") and entry.get("unit") in COUNT_UNITS and isinstance(entry["value"], int)
            and LETTER_GRADE.fullmatch(str(entry.get("group") or ""))]


def check_grade_scale(paper: Paper) -> list[Finding]:
    """Adverse events are graded on one scale (numbers 1–5 vs letters A–F)."""
    numeric = [entry for entry in paper.all_study() if entry.get("unit") == GRADE_UNIT and _is_number(entry["value"])]
    cells = letter_grade_cells(paper)
    if not numeric or not cells:
        return []
    letters = sorted({str(entry["group"]) for entry in cells})
    tables = sorted({str(entry["table"]) for entry in cells})
    scales = [entry for entry in paper.all_study() if entry.get("unit") == "grades" and _is_number(entry["value"])]
    scale_text = "".join(f"; {entry['id']} = {entry['value']} levels" for entry in scales)
    values = "–".join(str(entry["value"]) for entry in numeric)
    message = (f"{listed([entry['id'] for entry in numeric])} grade events on a numeric scale (Grade {values}), "
               f"while {', '.join(tables)} grades them with letters {', '.join(letters)}{scale_text}")
    ids = [entry["id"] for entry in numeric] + [entry["id"] for entry in scales]
    return [finding("grade_scale", INCONSISTENCY, ids, message)]


def check_event_share(paper: Paper) -> list[Finding]:
    """A share of procedures with events of some grades fits the events the grade table lists.

    With S listed events of those grades, N patients and D procedures (each patient at least one),
    at most max(S, D − (N − S)) procedures can have had such an event.
    """
    n, cells = paper.cohort_size(), letter_grade_cells(paper)
    findings = []
    for entry in paper.study():
        letters = [part.strip() for part in str(entry.get("group") or "").split(",")]
        sessions = entry.get("denominator")
        if (entry.get("unit") != PERCENT_UNIT or entry.get("of") or not sessions or not n or sessions == n
                or not all(LETTER_GRADE.fullmatch(letter) for letter in letters) or not cells):
            continue
        listed_events = sum(cell["value"] for cell in cells if str(cell["group"]) in letters)
        all_events = sum(cell["value"] for cell in cells)
        as_sessions = 100 * listed_events / sessions
        as_patients = 100 * (sessions - (n - min(listed_events, n))) / sessions
        bound = max(as_sessions, as_patients)
        slack = APPROXIMATE_PERCENT_POINTS if entry.get("approximate") else half_unit(decimals_of(entry))
        if float(entry["value"]) - slack <= bound + EPS:
            continue
        grades = " or ".join(letters)
        approx = "~" if entry.get("approximate") else ""
        message = (f"{entry['id']}: {approx}{entry['value']}% of the {sessions} procedures (≈"
                   f"{round(float(entry['value']) * sessions / 100)}) had grade {grades} events, but the tables list "
                   f"{listed_events} grade {grades} events in all: counted as procedures, at most {listed_events}/"
                   f"{sessions} = {as_sessions:.1f}%; counted as patients, those ≤{listed_events} patients had at most "
                   f"{sessions} − ({n} − {listed_events}) = {sessions - n + listed_events} procedures = "
                   f"{as_patients:.1f}% (every patient had at least one)")
        if all_events:
            message += (f"; of the {all_events} graded events listed, {listed_events} "
                        f"({100 * listed_events / all_events:.1f}%) are grade {grades}, a share of events rather "
                        f"than of procedures")
        findings.append(finding("event_share", INCONSISTENCY, (entry["id"],), message))
    return findings


# ----------------------------------------------------------------------------- claims against the tables

def claimed_grades(entry: Entry) -> tuple[str, ...]:
    """Return the letter grades a zero-count claim covers ('C, D, E, F' → C, D, E, F; empty when none)."""
    letters = tuple(part.strip() for part in str(entry.get("group") or "").split(","))
    return letters if letters and all(LETTER_GRADE.fullmatch(letter) for letter in letters) else ()


def graded_counts(paper: Paper, letters: Sequence[str], variable: str | None, in_table: bool) -> list[Entry]:
    """Return the printed counts (> 0) of events or patients of the given grades: table cells or text counts."""
    return [entry for entry in paper.study()
            if entry.get("unit") in COUNT_UNITS and isinstance(entry["value"], int) and entry["value"] > 0
            and bool(entry.get("table")) == in_table and str(entry.get("group") or "") in letters
            and (variable is None or entry.get("variable") == variable)]


def _grade_tally(entries: Sequence[Entry], what: str) -> str:
    """Return 'n grade X and m grade Y <what> (ids)' from printed counts (summed per grade)."""
    totals: Counter[str] = Counter()
    for entry in entries:
        totals[str(entry["group"])] += entry["value"]
    counts = " and ".join(f"{totals[grade]} grade {grade}" for grade in sorted(totals))
    return f"{counts} {what} ({listed([entry['id'] for entry in entries])})"


def check_tolerability_claim(paper: Paper) -> list[Finding]:
    """A claim of no event of some grades (e.g. 'no severe or fatal adverse reactions', SIR C–F) against
    the events of those grades that the tables and the text count."""
    findings = []
    for entry in paper.study():
        letters = claimed_grades(entry)
        if entry.get("table") or entry.get("unit") not in COUNT_UNITS or entry["value"] != 0 or not letters:
            continue
        variable = entry.get("variable")
        cells = graded_counts(paper, letters, variable, in_table=True)
        text = graded_counts(paper, letters, variable, in_table=False)
        if not cells and not text:
            continue
        major = [letter for letter in letters if letter in MAJOR_GRADES]
        scale = (f"; on the SIR scale grades {', '.join(MAJOR_GRADES)} are major complications"
                 if major else "")
        evidence = []
        if cells:
            evidence.append(f"{', '.join(sorted({str(cell['table']) for cell in cells}))} lists "
                            f"{_grade_tally(cells, 'events')}")
        if text:
            evidence.append(f"the text counts {_grade_tally(text, 'patients')}")
        grades = ", ".join(letters[:-1]) + f" or {letters[-1]}" if len(letters) > 1 else letters[0]
        message = (f"{entry['id']}: no patient with a grade {grades} event{also_printed(paper, entry['id'])}, but "
                   + " and ".join(evidence) + scale)
        ids = paper.with_places([entry["id"]]) + tuple(item["id"] for item in cells + text)
        findings.append(finding("tolerability_claim", CONTRADICTION, ids, message,
                                contradicted=paper.places(entry["id"])))
    return findings


def _printed_p_significant(p_entry: Entry) -> bool:
    """Return True when a printed P is below the level ('<0.05' and '<0.001' count)."""
    value = float(p_entry["value"])
    return value < P_SIGNIFICANT - EPS or (p_entry.get("p_operator") == "<" and value <= P_SIGNIFICANT + EPS)


def model_factors(paper: Paper) -> dict[str, tuple[str, set[str]]]:
    """Return, per endpoint, the Cox table the paper prints for it and the factors that table holds."""
    models: dict[str, tuple[str, set[str]]] = {}
    for table, (endpoint, factors) in study.COX_TABLES.items():
        held = {factor for factor in factors if f"{table}.{factor}.hr" in paper.entries}
        if held:
            models[endpoint] = (table, held)
    return models


def _section_name(section: str) -> str:
    """Return a section key as a reader names it ('results' → 'Results')."""
    return section if section == "abstract" else section.replace("_", " ").capitalize()


def _pairs_text(pairs: set[str]) -> str:
    """Return {'nlr.os', 'nlr.pfs', 'stage.os'} as 'nlr (OS, PFS), stage (OS)'."""
    endpoints: dict[str, list[str]] = defaultdict(list)
    for pair in sorted(pairs):
        factor, endpoint = pair.rsplit(".", 1)
        endpoints[factor].append(endpoint)
    return ", ".join(f"{factor} ({', '.join(end.upper() for end in ENDPOINT_ORDER[::-1] if end in ends)})"
                     for factor, ends in endpoints.items())


def univariable_claim_findings(paper: Paper) -> list[Finding]:
    """Each factor a text calls univariably significant against its printed log-rank P and the Cox table it
    should then enter (the paper's rule: univariably significant factors, and only they, enter)."""
    findings = []
    models = model_factors(paper)
    claims = {claim_id: spec for claim_id, spec in study.UNIVARIABLE_CLAIMS.items() if claim_id in paper.entries}
    named: dict[str, set[str]] = defaultdict(set)
    for claim_id, (factors, endpoints) in claims.items():
        for endpoint in endpoints:
            named[claim_id].update(f"{factor}.{endpoint}" for factor in factors)
            for factor in factors:
                p_id = f"results.subgroup.{factor}.{endpoint}.p"
                if p_id in paper.entries and not _printed_p_significant(paper.entries[p_id]):
                    message = (f"{claim_id} calls {factor} significant for {endpoint.upper()} (P < "
                               f"{P_SIGNIFICANT:g}), but its log-rank test prints {p_text(paper.entries[p_id])}")
                    findings.append(finding("significance_claims", CONTRADICTION,
                                            paper.with_places([claim_id, p_id]), message,
                                            contradicted=paper.places(claim_id)))
                if endpoint in models and factor not in models[endpoint][1]:
                    table = models[endpoint][0]
                    message = (f"{claim_id} calls {factor} univariably significant for {endpoint.upper()}, but "
                               f"the {endpoint.upper()} model ({table}) leaves it out, although by the methods every "
                               f"univariably significant factor entered it: either the claim or the model is wrong")
                    held = [f"{table}.{other}.hr" for other in study.COX_TABLES[table][1] if other in models[endpoint][1]]
                    findings.append(finding("significance_claims", CONTRADICTION,
                                            paper.with_places([claim_id]) + tuple(held[:1]), message,
                                            contradicted=paper.places(claim_id)))
    by_section: dict[str, set[str]] = defaultdict(set)  # section -> 'factor.endpoint' it calls significant
    sources: dict[str, list[str]] = defaultdict(list)
    for claim_id in claims:
        section = str(paper.entries[claim_id].get("section"))
        by_section[section] |= named[claim_id]
        sources[section].append(claim_id)
    for entry in paper.study():  # a printed log-rank P below the level is a claim of its section too
        match = re.fullmatch(r"results\.subgroup\.([a-z_0-9]+)\.(os|pfs)\.p", entry["id"])
        if match and entry.get("unit") == P_UNIT and _printed_p_significant(entry):
            by_section[str(entry["section"])].add(f"{match[1]}.{match[2]}")
            sources[str(entry["section"])].append(entry["id"])
    sections = sorted(by_section)
    for one in sections:
        for other in sections:
            if one == other or not any(str(paper.entries[c].get("section")) == one for c in claims):
                continue
            missing = sorted(by_section[other] - by_section[one])
            if missing:
                message = (f"the {_section_name(one)} calls {_pairs_text(by_section[one])} univariably significant, "
                           f"leaving out {_pairs_text(set(missing))} that the {_section_name(other)} calls significant")
                ids = paper.with_places([c for c in sources[one] if c in claims] + sources[other][:MAX_LISTED_IDS])
                findings.append(finding("significance_claims", INCONSISTENCY, ids, message))
    for endpoint, (table, held) in (models.items() if claims else ()):  # no claim printed: nothing to set against
        for factor in sorted(held):
            if not any(f"{factor}.{endpoint}" in items for items in named.values()):
                message = (f"{table} holds {factor} in the {endpoint.upper()} model, but no text calls it "
                           f"univariably significant for {endpoint.upper()}")
                findings.append(finding("significance_claims", INCONSISTENCY, (f"{table}.{factor}.hr",), message))
    return findings


def multivariable_claim_findings(paper: Paper) -> list[Finding]:
    """The factors a text calls independent (P < 0.05) against the Wald P values of the model's table."""
    findings = []
    for claim_id, (table, factors) in study.MULTIVARIABLE_CLAIMS.items():
        if claim_id not in paper.entries:
            continue
        rows = {factor: paper.entries[f"{table}.{factor}.p"] for factor in study.COX_TABLES[table][1]
                if f"{table}.{factor}.p" in paper.entries}
        for factor, p_entry in rows.items():
            significant = _printed_p_significant(p_entry)
            if factor in factors and not significant:
                message = (f"{claim_id} calls {factor} an independent factor (P < {P_SIGNIFICANT:g}), but "
                           f"{p_entry['id']} prints {p_text(p_entry)}")
                findings.append(finding("significance_claims", CONTRADICTION,
                                        paper.with_places([claim_id, p_entry["id"]]), message,
                                        contradicted=paper.places(claim_id)))
            elif factor not in factors and significant:
                message = (f"{claim_id} lists the independent factors as {', '.join(factors)}, leaving out "
                           f"{factor}, although {p_entry['id']} prints {p_text(p_entry)}")
                findings.append(finding("significance_claims", INCONSISTENCY,
                                        paper.with_places([claim_id, p_entry["id"]]), message))
    return findings


def check_significance_claims(paper: Paper) -> list[Finding]:
    """Which factors the abstract and the Results call significant, against the tables' P values and models."""
    return univariable_claim_findings(paper) + multivariable_claim_findings(paper)


# ----------------------------------------------------------------------------- registry and runs

CHECKS: tuple[Check, ...] = (
    Check("percent_of_count", "Percentages against their counts",
          "Each printed percentage is recomputed as 100·count/denominator and rounded as printed; where it "
          "fails, the other denominators the paper prints are tried (e.g. 216 procedures instead of 113 "
          "patients), and GRIM asks whether any whole count out of n can give the printed percentage.",
          check_percent_of_count),
    Check("parts_sum_to_total", "Parts add up to the whole",
          "The levels of one characteristic add up to the cohort (or to the row total, for graded events); "
          "a breakdown listed beside its own total (treated: chemotherapy, targeted, …) is recognised.",
          check_parts_sum_to_total),
    Check("estimate_in_interval", "Estimate inside its own interval",
          "Every median, rate or ratio lies inside its printed 95% CI or range; where it does not, the centre "
          "of the interval (by its evident shape) suggests the value that was meant.",
          check_estimate_in_interval),
    Check("beta_vs_hr", "Coefficient against hazard ratio",
          "HR = exp(β): exp of the printed β, for any β that rounds to it, must round to the printed HR. The "
          "interval's log-scale centre √(L·U) tells which of the two is the odd one out.",
          check_beta_vs_hr),
    Check("interval_vs_p", "Interval against P value",
          "For a Wald interval, SE = (ln U − ln L)/(2·1.96), z = ln HR/SE and P = 2(1 − Φ(|z|)); the P this "
          "gives, for all numbers that round to the printed ones, must include the printed P. An interval "
          "excluding 1 goes with P < 0.05.",
          check_interval_vs_p),
    Check("interval_method", "What the intervals reveal about the method",
          "An interval symmetric about the estimate (median ± 1.96·SE) is SPSS's median interval; one "
          "symmetric on the log(−log) scale is Greenwood's; ratio intervals symmetric on the log scale are "
          "Wald; a proportion's interval is compared with Clopper–Pearson, Wilson and Wald.",
          check_interval_method),
    Check("median_vs_counts", "Medians against category counts",
          "With n values the median is the ⌈n/2⌉-th: a median at or below a cut-point needs at least ⌈n/2⌉ "
          "values on that side.",
          check_median_vs_counts),
    Check("restated_numbers", "The same number printed in two places",
          "Text against tables, abstract against results, a second record against the main paper: each "
          "restatement (see_also) must print the same value at the coarser precision.",
          check_restated_numbers),
    Check("cut_points", "Cut-points named consistently",
          "A variable split as <10 / ≥10 in one place and ≤10 / >10 in another, or at ≥2 here and ≥3 there.",
          check_cut_points),
    Check("dates", "Dates and the calendar",
          "Years against the dates they restate, a period's stated length against its start and end, the "
          "longest follow-up against the time from study start to data cutoff, and the year of a record "
          "against the data cutoff of the numbers it prints.",
          check_dates),
    Check("duplicate_estimates", "The same estimate and interval for two quantities",
          "Two different quantities printed with identical estimate and interval.",
          check_duplicate_estimates),
    Check("survival_ordering", "Survival curves in order",
          "Landmark rates fall with time, PFS ≤ OS, a rate after the median is ≤ 50%, and a whole-cohort "
          "median lies between the medians of the groups that split the cohort.",
          check_survival_ordering),
    Check("response_rates", "Response rates from response categories",
          "ORR = (CR + PR)/n and DCR = (CR + PR + SD)/n from the printed counts.",
          check_response_rates),
    Check("event_share", "Share of procedures against the events listed",
          "A share of procedures with events of some grades cannot exceed what the grade table allows: S "
          "listed events among N patients with D procedures give at most max(S, D − (N − S)) procedures.",
          check_event_share),
    Check("grade_scale", "One grading scale",
          "Adverse events graded with letters (SIR A–F) in the tables but with numbers (Grade 1–2) in the text.",
          check_grade_scale),
    Check("tolerability_claim", "A claim of no severe events against the grade table",
          "A sentence that no patient had an event of some grades (the abstract's 'no severe or fatal adverse "
          "reactions': SIR grades C to F, the major complications) is set against the events of those grades "
          "that the grade table and the safety paragraph count.",
          check_tolerability_claim),
    Check("significance_claims", "Which factors are called significant",
          "Each factor the abstract or the Results call significant is set against its printed log-rank P and "
          "against the Cox table it must then enter (the methods put every univariably significant factor in "
          "the model); the factors called independent are set against the Wald P values of that table; and "
          "two lists of the same claim must name the same factors.",
          check_significance_claims),
)
CHECK_NAMES = tuple(check.name for check in CHECKS)


def audit_findings(published: pd.DataFrame) -> list[Finding]:
    """Return every finding of every registered check, in registry order."""
    paper = Paper.from_frame(published)
    return [result for check in CHECKS for result in check.function(paper)]


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """Return the findings as a table: check, severity, ids, message, resolution."""
    rows = [{"check": item.check, "severity": item.severity, "ids": "; ".join(item.ids),
             "message": item.message, "resolution": item.resolution or ""} for item in findings]
    return pd.DataFrame(rows, columns=["check", "severity", "ids", "message", "resolution"])


def audit_summary(findings: Sequence[Finding]) -> pd.DataFrame:
    """Return the number of findings per check (every registered check) and severity, with totals."""
    counts = Counter((item.check, item.severity) for item in findings)
    names = list(CHECK_NAMES) + sorted({item.check for item in findings} - set(CHECK_NAMES))
    rows = [{"check": name, **{severity: counts[(name, severity)] for severity in SEVERITIES}} for name in names]
    frame = pd.DataFrame(rows, columns=["check", *SEVERITIES])
    frame["total"] = frame[list(SEVERITIES)].sum(axis=1)
    return frame


def contradicted_ids(findings: Sequence[Finding]) -> set[str]:
    """Return the ids that contradictions show wrong (the scorecard's 'contradicted by the paper itself')."""
    return {entry_id for item in findings if item.severity == CONTRADICTION for entry_id in item.contradicted}


# ----------------------------------------------------------------------------- command line

def text_report(findings: Sequence[Finding]) -> str:
    """Return one line per finding, '[severity] check: message', with the resolution where known."""
    lines = []
    for item in findings:
        resolution = f" [consistent value: {item.resolution}]" if item.resolution else ""
        lines.append(f"[{item.severity}] {item.check}: {item.message}{resolution}")
    return "\n".join(lines)


def csv_report(findings: Sequence[Finding]) -> str:
    """Return the findings as CSV with columns check, severity, ids, message, resolution."""
    buffer = io.StringIO()
    findings_frame(findings).to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue().rstrip("\n")


def markdown_cell(text: str) -> str:
    """Return text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    """Return a DataFrame as a GitHub-flavoured Markdown table."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(markdown_cell(value) for value in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def summary_text(findings: Sequence[Finding]) -> str:
    """Return the summary: totals by severity, then counts per check that found anything."""
    summary = audit_summary(findings)
    totals = ", ".join(f"{int(summary[severity].sum())} {severity}" for severity in SEVERITIES)
    lines = [f"{len(findings)} findings ({totals})"]
    for row in summary[summary["total"] > 0].itertuples(index=False):
        counts = ", ".join(f"{getattr(row, severity)} {severity}" for severity in SEVERITIES
                           if getattr(row, severity))
        lines.append(f"  {row.check}: {counts}")
    return "\n".join(lines)


def run_audit(published_dir: Path, fmt: str = "text") -> int:
    """Print the audit of a folder of published numbers; return 1 with findings, 0 without, 2 on a bad folder.

    Text and Markdown print the summary after the findings; CSV keeps stdout a clean CSV file and
    prints the summary on stderr.
    """
    try:
        findings = audit_findings(load_published(Path(published_dir)))
    except (PublishedDataError, yaml.YAMLError, OSError, UnicodeDecodeError) as error:
        print(f"audit: cannot read the published numbers in {published_dir}: {error}", file=sys.stderr)
        return 2
    if fmt == "csv":
        print(csv_report(findings))
        print(summary_text(findings), file=sys.stderr)
    elif fmt == "markdown":
        print(markdown_table(findings_frame(findings)))
        print()
        print(markdown_table(audit_summary(findings)))
    else:
        if findings:
            print(text_report(findings))
            print()
        print(summary_text(findings))
    return 1 if findings else 0


# ----------------------------------------------------------------------------- tables for the chapter

SEVERITY_PLURALS = {CONTRADICTION: "contradictions", INCONSISTENCY: "inconsistencies", NOTE: "notes"}
ALL_CHECKS_LABEL = "all checks"
NO_VALUE_MARK = "—"
FINDING_COLUMNS = ("severity", "numbers involved", "evidence", "consistent value")
MODEL_ROW_COLUMNS = ("row", "β", "exp(β)", "HR (95% CI)", "√(L·U)", "SE", "z", "P", "P range", "printed P",
                     "agrees")
DATE_COLUMNS = ("printed", "what", "where", "kind")
FINDINGS_TABLE_WIDTHS = {"finding": "7%", "severity": "13%", "numbers involved": "23%", "evidence": "42%",
                         "consistent value": "15%"}
MODEL_ROWS_WIDTHS = {"row": "24%", "β": "6%", "exp(β)": "7%", "HR (95% CI)": "12%", "√(L·U)": "7%", "SE": "6%",
                     "z": "6%", "P": "8%", "P range": "11%", "printed P": "8%", "agrees": "5%"}
DATES_TABLE_WIDTHS = {"printed": "12%", "what": "40%", "where": "32%", "kind": "16%"}


def check_named(name: str) -> Check:
    """Return the registered check with this name (KeyError naming the known ones otherwise)."""
    for check in CHECKS:
        if check.name == name:
            return check
    raise KeyError(f"no check named {name!r}; checks: {', '.join(CHECK_NAMES)}")


def findings_table(findings: Sequence[Finding], check: str | None = None) -> pd.DataFrame:
    """Return the findings (of one check, or all) as the chapter shows them: severity, numbers, evidence, resolution."""
    chosen = [item for item in findings if check is None or item.check == check]
    rows = [{"check": check_named(item.check).title if item.check in CHECK_NAMES else item.check,
             "severity": item.severity, "numbers involved": ", ".join(compact_ids(item.ids)),
             "evidence": item.message, "consistent value": item.resolution or NO_VALUE_MARK} for item in chosen]
    columns = list(FINDING_COLUMNS) if check is not None else ["check", *FINDING_COLUMNS]
    frame = pd.DataFrame(rows, columns=["check", *FINDING_COLUMNS])[columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="finding")
    return frame


def audit_overview(findings: Sequence[Finding]) -> pd.DataFrame:
    """Return the findings counted by check (titles, in registry order) and severity, with a row for all checks."""
    summary = audit_summary(findings)
    titles = {check.name: check.title for check in CHECKS}
    summary.index = pd.Index([titles.get(name, name) for name in summary.pop("check")], name="check")
    summary.loc[ALL_CHECKS_LABEL] = summary.sum()
    return summary.astype(int)


def severity_counts_text(findings: Sequence[Finding]) -> str:
    """Return '6 contradictions and 5 inconsistencies' (severities in order, only those present; 'nothing' if none)."""
    counts = Counter(item.severity for item in findings)
    parts = [f"{counts[severity]} {SEVERITY_PLURALS[severity] if counts[severity] != 1 else severity}"
             for severity in SEVERITIES if counts[severity]]
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def findings_sentence(findings: Sequence[Finding], check: str) -> str:
    """Return one sentence saying what a check found: how many findings of each severity, or none."""
    chosen = [item for item in findings if item.check == check]
    if not chosen:
        return "In these published numbers the check finds nothing to report."
    noun = "finding" if len(chosen) == 1 else "findings"
    return f"In these published numbers the check makes {len(chosen)} {noun}: {severity_counts_text(chosen)}."


def _rounds_alike_text(low: float, high: float) -> str:
    """Return a range of P values as 'a–b' with two significant digits."""
    return f"{fmt_p(low)}–{fmt_p(high)}"


def model_rows_table(published: pd.DataFrame) -> pd.DataFrame:
    """Return every printed hazard ratio with its interval, recomputed: exp(β), the log-scale centre √(L·U), SE of
    ln HR, z, Wald P, the range of P for numbers that round to the printed ones, and whether the printed P is in it."""
    paper = Paper.from_frame(published)
    rows = []
    for ratio, beta, p_entry in model_rows(paper):
        if ratio["id"] in paper.alias_of or ratio["lower"] <= 0 or float(ratio["value"]) <= 0:
            continue
        d_hr = decimals_of(ratio)
        lower, upper = float(ratio["lower"]), float(ratio["upper"])
        (low_log, high_log), _ = log_estimate_range(ratio, beta)
        se = log_se(lower, upper)
        z = (low_log + high_log) / 2 / se
        row = {"row": ratio["id"].rpartition(".")[0],
               "β": fmt(float(beta["value"]), decimals_of(beta)) if beta else NO_VALUE_MARK,
               "exp(β)": f"{math.exp(float(beta['value'])):.3f}" if beta else NO_VALUE_MARK,
               "HR (95% CI)": f"{fmt(float(ratio['value']), d_hr)} ({fmt(lower, d_hr)}–{fmt(upper, d_hr)})",
               "√(L·U)": f"{log_centre(lower, upper):.3f}", "SE": f"{se:.3f}", "z": f"{z:.2f}",
               "P": fmt_p(wald_p(z)), "P range": NO_VALUE_MARK,
               "printed P": p_text(p_entry) if p_entry else NO_VALUE_MARK, "agrees": NO_VALUE_MARK}
        if p_entry is not None:
            p_low, p_high = p_range((low_log, high_log), lower, upper, d_hr)
            printed_low, printed_high = printed_p_range(p_entry)
            row["P range"] = _rounds_alike_text(p_low, p_high)
            row["agrees"] = "yes" if p_low <= printed_high + EPS and p_high >= printed_low - EPS else "no"
        rows.append(row)
    return pd.DataFrame(rows, columns=list(MODEL_ROW_COLUMNS)).set_index("row")


def dates_table(published: pd.DataFrame) -> pd.DataFrame:
    """Return every date and year the records print, in calendar order (undated last), indexed by the date as
    printed: what, where, kind."""
    paper = Paper.from_frame(published)
    rows = []
    for entry in paper.entries.values():
        if entry.get("unit") != DATE_UNIT and entry.get("unit") not in YEAR_UNITS:
            continue
        value = entry["value"]
        date = parse_date(value) or (dt.date(int(value), 1, 1) if _is_number(value) else None)
        kind = "cited work" if entry.get("scope") == LITERATURE else (
            "bibliographic record" if entry.get("section") == BIBLIOGRAPHY else "the study")
        rows.append({"printed": str(int(value)) if _is_number(value) else str(value),
                     "what": entry.get("quote_context") or "", "where": entry["id"], "kind": kind,
                     "_order": date or dt.date.max})
    frame = pd.DataFrame(rows, columns=[*DATE_COLUMNS, "_order"])
    return frame.sort_values("_order", kind="stable").drop(columns="_order").set_index("printed")

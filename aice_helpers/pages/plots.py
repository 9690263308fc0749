"""Figures for every chapter, in one visual style set here and nowhere else."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

PALETTE = sns.color_palette("colorblind")
# One colour per meaning, in every figure of the book (Okabe–Ito colours of seaborn's colour-blind palette).
OURS = PALETTE[0]  # blue: this data's estimate, the single curve, the lower-risk group
WORSE = PALETTE[3]  # vermillion: the higher-risk (worse) group of a comparison
BETTER = PALETTE[0]  # blue: the lower-risk (better) group of a comparison
PUBLISHED_COLOUR = "black"  # the paper's printed value
MIDDLE_GROUPS = (PALETTE[2], PALETTE[4], PALETTE[5], PALETTE[6], PALETTE[8])  # groups between the best and worst
PRIMARY = OURS
SECONDARY = PALETTE[1]  # orange: marks (cut-offs, maxima) that are neither a group nor a published value
MUTED = "0.4"
FIGURE_DPI = 110  # the notebook's figure size in pixels (its text/plain repr); pages show SVG, downloads 300 dpi
DOWNLOAD_DPI = 300
FULL_WIDTH = 8.0
# Text sizes in points at the figure's own size (8 in wide). A page or a journal column shows the figure at
# about its own size, so no text is smaller than TEXT_FLOOR_PT there.
TITLE_PT = 11.0
TEXT_PT = 10.0  # axis labels
SMALL_PT = 9.0  # tick labels, legends, numbers at risk, P values, annotations
TEXT_FLOOR_PT = 9.0
PUBLISHED_MARKER = dict(marker="D", color=PUBLISHED_COLOUR, markersize=5, linestyle="none", label="published")
SYNTHETIC_SUFFIX = "synthetic cohort"
ALT_ATTRIBUTE = "aice_alt_text"
COHORT_ATTRIBUTE = "aice_cohort_data"
_STYLE = {"synthetic": False}


def use_book_style(synthetic: bool | None = None) -> None:
    """Set the book's figure style: white grid, colour-blind palette, readable sizes, SVG on the pages.

    ``synthetic=True`` (the book's own data) makes every figure of cohort data say "synthetic cohort" in its
    title; None keeps the current setting. In an IPython kernel, figures are shown as SVG carrying their alt
    text (see :func:`alt_text`).
    """
    if synthetic is not None:
        _STYLE["synthetic"] = bool(synthetic)
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    mpl.rcParams.update(
        {
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": DOWNLOAD_DPI,
            "figure.figsize": (FULL_WIDTH, 4.5),
            "figure.constrained_layout.use": True,
            "font.size": TEXT_PT,
            "axes.labelsize": TEXT_PT,
            "axes.titlesize": TITLE_PT,
            "figure.titlesize": TITLE_PT,
            "xtick.labelsize": SMALL_PT,
            "ytick.labelsize": SMALL_PT,
            "legend.fontsize": SMALL_PT,
            "legend.title_fontsize": SMALL_PT,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "legend.frameon": False,
            "svg.hashsalt": "aice",
            "svg.fonttype": "none",  # text stays text: selectable, searchable, small files
            "pdf.fonttype": 42,  # TrueType in PDFs, editable in journal tools
        }
    )
    _show_svg_in_notebooks()


def synthetic_style() -> bool:
    """Return True when figures of cohort data are marked "synthetic cohort" (set by use_book_style)."""
    return _STYLE["synthetic"]


def cohort_title(title: str) -> str:
    """Return a title of a figure of cohort data: with "(synthetic cohort)" added on the book's own data."""
    if not synthetic_style() or SYNTHETIC_SUFFIX in title.lower():
        return title
    return f"{title} ({SYNTHETIC_SUFFIX})" if title else SYNTHETIC_SUFFIX.capitalize()


def mark_cohort_figure(fig: Figure) -> Figure:
    """Mark a figure as drawn from cohort data: on synthetic data its title must say so (checked by tests)."""
    setattr(fig, COHORT_ATTRIBUTE, True)
    return fig


def set_alt_text(fig: Figure, text: str) -> Figure:
    """Give the figure a short description for readers who cannot see it (the page's alt text)."""
    setattr(fig, ALT_ATTRIBUTE, " ".join(str(text).split()))
    return fig


def figure_titles(fig: Figure) -> list[str]:
    """Return the figure's titles: its suptitle, then every axes' titles (left, centre, right), non-empty."""
    titles = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        titles += [ax.get_title(loc=loc) for loc in ("left", "center", "right")]
    return [t for t in titles if t.strip()]


def alt_text(fig: Figure) -> str:
    """Return the figure's alt text: the one set by set_alt_text, else its titles and axis labels in words."""
    given = getattr(fig, ALT_ATTRIBUTE, "")
    if given:
        return given
    titles = figure_titles(fig)
    labels = []
    for ax in fig.axes:
        for name, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if label.strip() and f"{name}: {label}" not in labels:
                labels.append(f"{name}: {label}")
    head = "; ".join(dict.fromkeys(titles)) or "Figure"
    text = f"Figure: {head}." + (f" Axes, {', '.join(labels)}." if labels else "")
    return " ".join(text.replace("\n", " ").split())


def svg_bytes(fig: Figure) -> bytes:
    """Return the figure as SVG, without a date (reproducible), its alt text as the SVG's dc:description."""

    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight",
                metadata={"Date": None, "Title": "; ".join(figure_titles(fig)) or None,
                          "Description": alt_text(fig)})
    return buffer.getvalue()


def _svg_for_notebook(fig: Figure) -> str:
    """IPython's image/svg+xml formatter for figures: :func:`svg_bytes` as text."""
    return svg_bytes(fig).decode("utf-8")


def _show_svg_in_notebooks() -> None:
    """In an IPython kernel, show figures as SVG only (with their alt text), not as PNG."""
    try:
        from IPython import get_ipython  # reason: only inside a notebook kernel
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib_inline.backend_inline import (
        set_matplotlib_formats,  # reason: only inside a notebook kernel
    )

    set_matplotlib_formats("svg")
    formatters = shell.display_formatter.formatters
    formatters["image/svg+xml"].for_type(Figure, _svg_for_notebook)
    formatters["image/png"].pop(Figure, None)


def _cutoff_histogram(ax: plt.Axes, values: pd.Series, cutoff: float, below: str, above: str,
                      bins: np.ndarray, xlabel: str, above_inclusive: bool) -> None:
    """Draw a histogram with a dashed cut-off line and the count on each side of it."""
    ax.hist(values, bins=bins, color=PRIMARY, edgecolor="white")
    ax.axvline(cutoff, color=SECONDARY, linestyle="--", linewidth=1.5)
    n_above = int((values >= cutoff).sum() if above_inclusive else (values > cutoff).sum())
    n_below = len(values) - n_above
    top = ax.get_ylim()[1] * 1.15
    ax.set_ylim(0, top)
    ax.text(cutoff, top * 0.97, f"{below}: {n_below}  ", ha="right", va="top", color=SECONDARY)
    ax.text(cutoff, top * 0.97, f"  {above}: {n_above}", ha="left", va="top", color=SECONDARY)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("patients")


def baseline_distributions(cohort: pd.DataFrame, age_cutoff: float = 35, diameter_cutoff: float = 10) -> Figure:
    """Return histograms of age and maximum tumour diameter with the paper's cut-offs marked."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(FULL_WIDTH, 3.6))
    _cutoff_histogram(left, cohort["age_years"], age_cutoff, f"≤{age_cutoff:g}", f">{age_cutoff:g}",
                      np.arange(0, 95, 5), "age at first AICE (years)", above_inclusive=False)
    left.set_title(cohort_title("Age"))
    _cutoff_histogram(right, cohort["max_diameter_cm"], diameter_cutoff, f"<{diameter_cutoff:g}",
                      f"≥{diameter_cutoff:g}", np.arange(0, 28, 2), "maximum tumour diameter (cm)",
                      above_inclusive=True)
    right.set_title("Tumour size")
    return mark_cohort_figure(fig)


def category_bars(counts: pd.Series, title: str, published: pd.Series | None = None,
                  xlabel: str = "patients") -> Figure:
    """Return a horizontal bar chart of counts (largest first), with published counts as diamonds."""
    ordered = counts.sort_values(ascending=True)
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.28 * len(ordered) + 1.2))
    positions = np.arange(len(ordered))
    ax.barh(positions, ordered.to_numpy(), color=PRIMARY, label="this data")
    for y, value in zip(positions, ordered.to_numpy()):
        ax.text(value + 0.2, y, f"{value}", va="center", fontsize=SMALL_PT, color=MUTED)
    if published is not None:
        ax.plot(published.reindex(ordered.index).to_numpy(), positions, **PUBLISHED_MARKER)
        ax.legend(loc="lower right")
    ax.set_yticks(positions, ordered.index)
    ax.set_xlabel(xlabel)
    ax.set_title(cohort_title(title))
    ax.grid(axis="y", visible=False)
    return mark_cohort_figure(fig)


def count_bars(counts: pd.DataFrame, title: str, xlabel: str, ylabel: str = "patients") -> Figure:
    """Return vertical stacked bars of a count table (index on the x axis, columns stacked)."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.75, 3.6))
    bottom = np.zeros(len(counts))
    for colour, column in zip(PALETTE, counts.columns):
        ax.bar(counts.index.astype(str), counts[column].to_numpy(), bottom=bottom, color=colour, label=column)
        bottom += counts[column].to_numpy()
    for x, total in enumerate(bottom):
        ax.text(x, total + 0.5, f"{int(total)}", ha="center", va="bottom", fontsize=SMALL_PT, color=MUTED)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(cohort_title(title))
    ax.grid(axis="x", visible=False)
    if len(counts.columns) > 1:
        ax.legend()
    return mark_cohort_figure(fig)


FLOW_LINE_SPACING = 1.35
FLOW_MAIN_CHARS = 58  # characters per line in the main column's boxes
FLOW_SIDE_CHARS = 42  # … in the exclusion box beside it


def _flow_box(ax: plt.Axes, x: float, top: float, width: float, text: str, emphasis: bool = False,
              title: str = "") -> float:
    """Draw one rounded box of a flow diagram (coordinates in inches) from its top down: centred text, or a bold
    title over left-aligned lines. Return the box's bottom."""
    lines = text.count("\n") + 1 + (1 if title else 0)
    height = (lines * SMALL_PT * FLOW_LINE_SPACING + 12) / 72
    face = OURS if emphasis else "white"
    ax.add_patch(FancyBboxPatch((x - width / 2, top - height), width, height,
                                boxstyle="round,pad=0.0,rounding_size=0.08",
                                facecolor=face, edgecolor=OURS, linewidth=1.4))
    colour = "white" if emphasis else "black"
    if not title:
        ax.text(x, top - height / 2, text, ha="center", va="center", fontsize=SMALL_PT, color=colour,
                linespacing=FLOW_LINE_SPACING)
        return top - height
    ax.text(x, top - 6 / 72, title, ha="center", va="top", fontsize=SMALL_PT, fontweight="bold", color=colour)
    ax.text(x - width / 2 + 0.1, top - (6 + SMALL_PT * FLOW_LINE_SPACING) / 72, text, ha="left", va="top",
            fontsize=SMALL_PT, color=colour, linespacing=FLOW_LINE_SPACING)
    return top - height


def patient_flow(source: str, inclusion: Sequence[str], exclusion: Sequence[str], included: str,
                 title: str = "Patient flow") -> Figure:
    """Return a flow diagram: the source population, then the inclusion criteria, then the patients included, down
    one column; the exclusion criteria in a box beside it, reached by an arrow that leaves the main flow."""

    def bullets(items: Sequence[str], width: int) -> str:
        return "\n".join(textwrap.fill(f"• {item}", width, subsequent_indent="  ") for item in items)

    width = FULL_WIDTH
    main_x, main_w = 0.3 * width, 0.56 * width
    side_x, side_w = 0.795 * width, 0.39 * width
    gap = 0.35
    source_text = textwrap.fill(source, FLOW_MAIN_CHARS)
    inclusion_text = bullets(inclusion, FLOW_MAIN_CHARS - 4)
    exclusion_text = bullets(exclusion, FLOW_SIDE_CHARS - 4)
    line = SMALL_PT * FLOW_LINE_SPACING / 72
    heights = [(text.count("\n") + 1 + extra) * line + 12 / 72
               for text, extra in ((source_text, 0), (inclusion_text, 1), (included, 0))]
    side_height = (exclusion_text.count("\n") + 2) * line + 12 / 72
    total = heights[0] + heights[1] + max(heights[2], side_height) + 3 * gap + 0.1
    fig, ax = plt.subplots(figsize=(width, total + 0.4))
    ax.set_xlim(0, width)
    ax.set_ylim(0, total)
    ax.axis("off")
    arrow = dict(arrowstyle="-|>", color=MUTED, linewidth=1.2, shrinkA=0, shrinkB=0)
    top = total - 0.05
    bottom = _flow_box(ax, main_x, top, main_w, source_text)
    top = bottom - gap
    ax.annotate("", xy=(main_x, top), xytext=(main_x, bottom), arrowprops=arrow)
    bottom = _flow_box(ax, main_x, top, main_w, inclusion_text, title="Inclusion criteria")
    branch = bottom - gap * 0.8
    top = bottom - 2 * gap
    ax.annotate("", xy=(main_x, top), xytext=(main_x, bottom), arrowprops=arrow)
    side_top = branch + side_height / 2
    _flow_box(ax, side_x, side_top, side_w, exclusion_text, title="Exclusion criteria")
    ax.annotate("", xy=(side_x - side_w / 2, branch), xytext=(main_x, branch), arrowprops=arrow)
    ax.text((main_x + side_x - side_w / 2) / 2, branch + 0.04, "excluded", ha="center", va="bottom",
            fontsize=SMALL_PT, color=MUTED)
    _flow_box(ax, main_x, top, main_w, included, emphasis=True)
    ax.set_title(cohort_title(title))
    set_alt_text(fig, f"Flow diagram: {source}; inclusion criteria: {'; '.join(inclusion)}; patients meeting "
                      f"an exclusion criterion leave the flow ({'; '.join(exclusion)}); {included}.")
    return mark_cohort_figure(fig)


# ---------------------------------------------------------------------------------------------
# Primer figures (worked examples of aice_helpers.pages.teaching)


def worked_km_curves(tables: dict[str, pd.DataFrame], title: str = "", annotate: bool = False,
                     xlabel: str = "months since first AICE", cohort_data: bool = False) -> Figure:
    """Return Kaplan–Meier steps from worked tables (columns t_i, S(t_i), d_i, c_i), censored times as ticks."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.8, 3.8))
    for colour, (label, table) in zip(PALETTE, tables.items()):
        times = np.r_[0.0, table["t_i"].to_numpy(float)]
        surv = np.r_[1.0, table["S(t_i)"].to_numpy(float)]
        ax.step(times, surv, where="post", color=colour, linewidth=2, label=label)
        censored = table[table["c_i"] > 0]
        ax.plot(censored["t_i"], censored["S(t_i)"], linestyle="none", marker="|", markersize=14,
                markeredgewidth=2, color=colour)
        if annotate:
            for _, row in table[table["d_i"] > 0].iterrows():
                ax.annotate(f"{row['S(t_i)']:.4g}", (row["t_i"], row["S(t_i)"]), xytext=(4, -12),
                            textcoords="offset points", fontsize=SMALL_PT, color=MUTED)
    ax.plot([], [], linestyle="none", marker="|", markersize=14, markeredgewidth=2, color="black",
            label="censored")
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("estimated survival S(t)")
    ax.set_title(cohort_title(title) if cohort_data else title)
    ax.legend(loc="upper right")
    return mark_cohort_figure(fig) if cohort_data else fig


def interval_band_panels(bands: pd.DataFrame, transforms: Sequence[str] = ("plain", "log", "log-log"),
                         xlabel: str = "months") -> Figure:
    """Return one panel per interval transform: S(t) steps, the pointwise band shaded, S = 0.5 dashed."""
    fig, axes = plt.subplots(1, len(transforms), figsize=(FULL_WIDTH, 3.3), sharey=True)
    times = np.r_[0.0, bands["t_i"].to_numpy(float)]
    surv = np.r_[1.0, bands["S(t_i)"].to_numpy(float)]
    for ax, transform in zip(np.atleast_1d(axes), transforms):
        lower = np.r_[1.0, bands[f"{transform} lower"].to_numpy(float)]
        upper = np.r_[1.0, bands[f"{transform} upper"].to_numpy(float)]
        ax.fill_between(times, lower, upper, step="post", color=PRIMARY, alpha=0.25, linewidth=0)
        ax.step(times, lower, where="post", color=PRIMARY, linewidth=0.8)
        ax.step(times, upper, where="post", color=PRIMARY, linewidth=0.8)
        ax.step(times, surv, where="post", color="black", linewidth=1.8)
        ax.axhline(0.5, color=SECONDARY, linestyle="--", linewidth=1)
        ax.set_title(transform)
        ax.set_xlabel(xlabel)
        ax.set_xlim(0, times[-1])
        ax.set_ylim(0, 1.05)
    np.atleast_1d(axes)[0].set_ylabel("S(t) and its interval")
    return fig


def partial_likelihood_plot(curve: pd.DataFrame, beta_hat: float, title: str = "") -> Figure:
    """Return log L(β) against β (columns beta, log L), the maximum marked, hazard ratio e^β on top."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.8, 3.6))
    ax.plot(curve["beta"], curve["log L"], color=PRIMARY, linewidth=2)
    top = float(np.interp(beta_hat, curve["beta"], curve["log L"]))
    ax.axvline(beta_hat, color=SECONDARY, linestyle="--", linewidth=1)
    ax.plot([beta_hat], [top], marker="o", color=SECONDARY)
    label = f"maximum at β = {beta_hat:.4f}\nhazard ratio $e^{{\\beta}}$ = {np.exp(beta_hat):.4f}"
    ax.annotate(label, (beta_hat, top),
                xytext=(-40, -110), textcoords="offset points", va="top", fontsize=SMALL_PT, color=SECONDARY,
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.9))
    ax.set_xlabel("β")
    ax.set_ylabel("log partial likelihood, log L(β)")
    ax.set_title(title)
    hr_axis = ax.secondary_xaxis("top", functions=(np.exp, lambda hr: np.log(np.clip(hr, 1e-300, None))))
    hr_axis.set_xlabel(r"hazard ratio $e^{\beta}$")
    low, high = float(curve["beta"].min()), float(curve["beta"].max())
    hr_axis.set_xticks([t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20) if np.exp(low) <= t <= np.exp(high)])
    hr_axis.xaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
    return fig


def hazard_scenarios(illustration: pd.DataFrame, xlabel: str = "months") -> Figure:
    """Return hazards, hazard ratio (log scale) and survival of two groups, one column per scenario."""
    scenarios = list(dict.fromkeys(illustration["scenario"]))
    fig, axes = plt.subplots(3, len(scenarios), figsize=(FULL_WIDTH, 7.2), sharex=True, squeeze=False)
    for column, scenario in enumerate(scenarios):
        part = illustration[illustration["scenario"] == scenario]
        hazard_ax, ratio_ax, survival_ax = axes[:, column]
        for colour, (group, rows) in zip(PALETTE, part.groupby("group", sort=False)):
            hazard_ax.plot(rows["time"], rows["hazard"], color=colour, linewidth=2, label=group)
            survival_ax.plot(rows["time"], rows["survival"], color=colour, linewidth=2, label=group)
        first = part[part["group"] == part["group"].iloc[0]]
        ratio_ax.plot(first["time"], first["hazard ratio"], color="black", linewidth=2)
        ratio_ax.axhline(1.0, color=MUTED, linestyle=":", linewidth=1)
        ratio_ax.set_yscale("log")
        ratio_ax.set_ylim(0.05, 20)
        ratio_ax.yaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
        hazard_ax.set_title(scenario)
        hazard_ax.set_ylim(bottom=0)
        survival_ax.set_ylim(0, 1.05)
        survival_ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel("hazard h(t)\n(per month)")
    axes[1, 0].set_ylabel("hazard ratio\nlarge / small")
    axes[2, 0].set_ylabel("survival S(t)")
    axes[0, 0].legend(title="tumour", loc="upper left")
    return fig


# ----------------------------------------------------------------------------- response and safety figures

RESPONSE_COLOURS: dict[str, tuple[float, float, float] | str] = {
    "CR": PALETTE[2], "PR": PALETTE[0], "SD": PALETTE[7], "PD": PALETTE[3]}
RESPONSE_NAMES: dict[str, str] = {"CR": "complete response", "PR": "partial response",
                                  "SD": "stable disease", "PD": "progressive disease"}
RECIST_LINES: dict[float, str] = {-30.0: "−30%: partial response", 20.0: "+20%: progression"}
WATERFALL_MAX_BARS = 400
NO_MEASURED_LESIONS = "No patient has a measured change in target lesions: there are no bars to draw."
NO_ADVERSE_EVENTS = "No treatment-related adverse event was recorded."
NOT_ESTIMABLE_TEXT = "not estimable"
NO_HAZARD_RATIOS = "No hazard ratio to show: none of these comparisons can be estimated from this data."
MEDIAN_NOT_REACHED_TEXT = ("The curve never falls to 0.5: the median is not reached, so no method gives an "
                           "interval.")
SWIMMER_MAX_PATIENTS = 60  # rows of a swimmer plot: more patients are sampled evenly by follow-up
SWIMMER_ROW_INCHES = 0.1
GRADE_COLOURMAP = "YlOrRd"


def message_figure(message: str, title: str = "") -> Figure:
    """Return a small figure holding a title and a sentence: what a plot shows when the data give it nothing to draw."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_title(title)
    return fig


def evenly_spaced_positions(n: int, k: int | None) -> np.ndarray:
    """Return k of the positions 0..n-1, evenly spaced and including both ends (all if k >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    if k < 1:
        raise ValueError(f"need at least one position, got {k}")
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def shown_count_text(shown: int, total: int, noun: str, how: str) -> str:
    """Return 'all 113 patients' or '400 of 1,000,000 patients, <how>' for a figure title."""
    return f"all {total:,} {noun}" if shown == total else f"{shown:,} of {total:,} {noun}, {how}"


def _response_legend_handles(categories: Sequence[str]) -> list:
    """Return one coloured patch per response category present, in RECIST order."""
    return [mpl.patches.Patch(color=RESPONSE_COLOURS[c], label=RESPONSE_NAMES[c])
            for c in RESPONSE_COLOURS if c in set(categories)]


def waterfall_plot(cohort: pd.DataFrame, max_bars: int | None = WATERFALL_MAX_BARS) -> Figure:
    """Return a waterfall plot: one bar per patient's best % change in target lesions, by response.

    Bars are sorted from the largest growth to the largest shrinkage and coloured by best response;
    dashed lines mark RECIST's -30% and +20%; a dot beyond a bar's end marks a new lesion. With
    more than ``max_bars`` patients, that many are drawn, evenly spaced in rank, and the title says so.
    """

    change = pd.to_numeric(cohort[BEST_PCT_CHANGE], errors="coerce")
    measured = change.notna().to_numpy()
    response = cohort[BEST_RESPONSE].astype(str).to_numpy()[measured]
    new_lesion = (pd.to_numeric(cohort[NEW_LESION], errors="coerce").fillna(0).to_numpy()[measured] == 1
                  if NEW_LESION in cohort else np.zeros(int(measured.sum()), dtype=bool))
    values = change.to_numpy()[measured]
    if not values.size:
        return message_figure(NO_MEASURED_LESIONS, "Best change in target lesions")
    order = np.argsort(-values, kind="stable")
    chosen = order[evenly_spaced_positions(len(order), max_bars)]
    values, response, new_lesion = values[chosen], response[chosen], new_lesion[chosen]
    x = np.arange(len(values))

    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 4.0))
    ax.bar(x, values, width=0.8 if len(x) <= 150 else 1.0, linewidth=0,
           color=[RESPONSE_COLOURS[r] for r in response])
    tip = values + np.where(values >= 0, 1, -1) * 4.0
    if new_lesion.any():
        ax.plot(x[new_lesion], tip[new_lesion], linestyle="none", marker="o", markersize=3.2, color="black")
    ax.axhline(0, color="black", linewidth=0.8)
    for level, label in RECIST_LINES.items():
        ax.axhline(level, color=MUTED, linestyle="--", linewidth=1.0)
        ax.text(1.0, level, f" {label}", transform=ax.get_yaxis_transform(), ha="left", va="center",
                fontsize=SMALL_PT, color=MUTED)
    ax.set_xlim(-1, len(x))
    ax.set_ylim(min(-100.0, float(values.min(initial=0)) - 8), max(40.0, float(values.max(initial=0)) + 10))
    ax.set_xticks([])
    ax.grid(axis="x", visible=False)
    ax.set_xlabel("patients, from the largest growth to the largest shrinkage")
    ax.set_ylabel("best change in sum of\ntarget-lesion diameters (%)")
    shown = shown_count_text(len(x), len(order), "patients", "evenly spaced in rank")
    ax.set_title(cohort_title(f"Best change in target lesions ({shown})"))
    handles = _response_legend_handles(response)
    if new_lesion.any():
        handles.append(mpl.lines.Line2D([], [], linestyle="none", marker="o", markersize=3.2, color="black",
                                        label="new lesion"))
    ax.legend(handles=handles, loc="lower left", fontsize=SMALL_PT)
    return mark_cohort_figure(fig)


def swimmer_plot(cohort: pd.DataFrame, procedures: pd.DataFrame, max_patients: int | None = None) -> Figure:
    """Return a swimmer plot: one bar per patient from first AICE to death or last follow-up.

    Bars are coloured by best response and sorted by follow-up; black ticks mark AICE sessions, a
    diamond progression, a cross death and an arrow a patient alive at last follow-up. At most
    ``max_patients`` (default SWIMMER_MAX_PATIENTS) are drawn, evenly spaced by follow-up; the
    title says how many.
    """

    limit = SWIMMER_MAX_PATIENTS if max_patients is None else max_patients
    follow_up = pd.to_numeric(cohort["os_months"]).to_numpy()
    order = np.argsort(follow_up, kind="stable")
    chosen = cohort.iloc[order[evenly_spaced_positions(len(order), limit)]]
    y = np.arange(len(chosen))
    months = chosen["os_months"].to_numpy(dtype=float)
    died = chosen["os_event"].to_numpy() == 1
    pfs = chosen["pfs_months"].to_numpy(dtype=float)
    progressed = (chosen["pfs_event"].to_numpy() == 1) & ~(died & (pfs >= months))

    row_of = pd.Series(y, index=chosen[PATIENT_ID].astype(str).to_numpy())
    sessions = procedures[procedures[PATIENT_ID].astype(str).isin(row_of.index)]
    session_rows = row_of.reindex(sessions[PATIENT_ID].astype(str)).to_numpy()
    session_months = pd.to_numeric(sessions[SESSION_MONTH], errors="coerce").to_numpy()

    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 2.2 + SWIMMER_ROW_INCHES * len(chosen)))
    ax.barh(y, months, height=0.7, linewidth=0,
            color=[RESPONSE_COLOURS[r] for r in chosen[BEST_RESPONSE].astype(str)])
    marker_size = 22
    ax.scatter(session_months, session_rows, marker="|", s=marker_size, linewidths=0.8, color="black", zorder=3)
    ax.scatter(pfs[progressed], y[progressed], marker="D", s=marker_size * 0.8, color="black",
               edgecolors="white", linewidths=0.4, zorder=4)
    ax.scatter(months[died], y[died], marker="X", s=marker_size, color="black", linewidths=0, zorder=4)
    ax.scatter(months[~died] + 0.9, y[~died], marker=">", s=marker_size, color="black", linewidths=0, zorder=4)
    ax.set_ylim(-1, len(chosen))
    longest = float(np.nanmax(months, initial=1.0))
    ax.set_xlim(-0.015 * longest, longest * 1.04 + 1)  # room left of 0 shows the first session's tick
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("months since first AICE")
    ax.set_ylabel("patients, sorted by follow-up")
    shown = shown_count_text(len(chosen), len(cohort), "patients", "evenly spaced by follow-up")
    ax.set_title(cohort_title(f"Course of each patient ({shown})"))
    handles = _response_legend_handles(chosen[BEST_RESPONSE].astype(str))
    marker = dict(linestyle="none", color="black")
    handles += [
        mpl.lines.Line2D([], [], marker="|", markersize=6, markeredgewidth=1.0, label="AICE session", **marker),
        mpl.lines.Line2D([], [], marker="D", markersize=4.5, label="progression", **marker),
        mpl.lines.Line2D([], [], marker="X", markersize=6, label="death", **marker),
        mpl.lines.Line2D([], [], marker=">", markersize=5.5, label="alive at last follow-up", **marker),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.09 - 0.6 / fig.get_figheight()), ncols=4,
              fontsize=SMALL_PT, title="bar: best response", title_fontsize=SMALL_PT, alignment="left")
    set_alt_text(fig, f"Swimmer plot, {shown}: one bar per patient from first AICE to death or last follow-up, "
                      "coloured by best response, with AICE sessions, progression and death marked.")
    return mark_cohort_figure(fig)


def worst_grade_bars(counts: pd.DataFrame, n_patients: int | None = None) -> Figure:
    """Return stacked horizontal bars of patients by worst SIR grade per event (most frequent on top)."""
    ordered = counts.loc[counts.sum(axis=1).sort_values(kind="stable").index]
    grades = list(ordered.columns)
    colours = mpl.colormaps[GRADE_COLOURMAP](np.linspace(0.22, 0.88, len(grades)))
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.42 * len(ordered) + 1.4))
    positions = np.arange(len(ordered))
    left = np.zeros(len(ordered))
    for grade, colour in zip(grades, colours):
        widths = ordered[grade].to_numpy(dtype=float)
        ax.barh(positions, widths, left=left, height=0.62, color=colour, edgecolor="white", linewidth=0.6,
                label=str(grade))
        left += widths
    for y, total in zip(positions, left):
        label = f"{int(total)}" + (f" ({100 * total / n_patients:.1f}%)" if n_patients else "")
        ax.text(total + max(left.max(), 1) * 0.01, y, label, va="center", fontsize=SMALL_PT, color=MUTED)
    ax.set_yticks(positions, ordered.index)
    ax.set_xlim(0, max(left.max(), 1) * 1.18)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("patients (each counted once per event, at the worst grade)")
    ax.set_title(cohort_title("Treatment-related adverse events by worst SIR grade"))
    if not left.any():
        ax.text(0.5, 0.5, NO_ADVERSE_EVENTS, transform=ax.transAxes, ha="center", va="center", color=MUTED)
    ax.legend(title="SIR grade", loc="lower right", fontsize=SMALL_PT, title_fontsize=SMALL_PT, ncols=len(grades))
    return mark_cohort_figure(fig)


# ---------------------------------------------------------------------------------------------
# Kaplan–Meier figures with numbers at risk, median intervals, forest plots (survival chapters)
# Imports used only by the survival figures below (kept here so the code above stays untouched).
import io
import math  # noqa: E402
import re
from collections.abc import Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from aice_helpers.analyses.simulation import censoring_label
from aice_helpers.stats import survival
from aice_helpers.stats.zph_smooth import zph_smooth
from aice_helpers.synthetic.extras import (
    BEST_PCT_CHANGE,
    BEST_RESPONSE,
    NEW_LESION,
    PATIENT_ID,
    SESSION_MONTH,
)

__all__ = [
    "plt",
    "PALETTE",
    "PRIMARY",
    "SECONDARY",
    "MUTED",
    "FIGURE_DPI",
    "FULL_WIDTH",
    "PUBLISHED_MARKER",
    "use_book_style",
    "baseline_distributions",
    "category_bars",
    "count_bars",
    "patient_flow",
    "worked_km_curves",
    "interval_band_panels",
    "partial_likelihood_plot",
    "hazard_scenarios",
    "RESPONSE_COLOURS",
    "RESPONSE_NAMES",
    "RECIST_LINES",
    "WATERFALL_MAX_BARS",
    "NO_MEASURED_LESIONS",
    "NO_ADVERSE_EVENTS",
    "NOT_ESTIMABLE_TEXT",
    "NO_HAZARD_RATIOS",
    "MEDIAN_NOT_REACHED_TEXT",
    "SWIMMER_MAX_PATIENTS",
    "GRADE_COLOURMAP",
    "message_figure",
    "evenly_spaced_positions",
    "shown_count_text",
    "waterfall_plot",
    "swimmer_plot",
    "worst_grade_bars",
    "KM_MAX_STEPS",
    "KM_MAX_CENSOR_MARKS",
    "KM_BAND_ALPHA",
    "KM_TICK_MONTHS",
    "KM_NICE_MULTIPLES",
    "KM_MAIN_HEIGHT",
    "KM_RISK_ROW_HEIGHT",
    "KM_GRID_PANEL_HEIGHT",
    "KM_GRID_MAX_TICKS",
    "KM_SINGLE_MAX_TICKS",
    "km_tick_step",
    "thinned_censor_marks",
    "thinned_steps",
    "KMCurve",
    "km_curve",
    "km_plot",
    "km_grid",
    "forest_plot",
    "forest_range",
    "median_interval_plot",
    "STATUS_COLOURS",
    "TOTAL_LABEL_PREFIX",
    "scorecard_status_bars",
    "forest_plot_models",
    "schoenfeld_plot",
    "LAB_METHOD_MARKERS",
    "LAB_TRUTH_STYLE",
    "LAB_PANEL_TITLE_WIDTH",
    "LAB_NARROW_LOG_TICKS",
    "LAB_WIDE_LOG_TICKS",
    "km_with_model_curves",
    "simulated_study_plot",
    "coverage_plot",
    "hazard_ratio_spread_plot",
]

KM_MAX_STEPS = 2000  # vertices of a drawn curve; longer curves are sampled on a grid this fine
KM_MAX_CENSOR_MARKS = 150  # censor ticks per curve; with more censored times, one tick per time bin
KM_BAND_ALPHA = 0.13
KM_TICK_MONTHS = 12.0
KM_NICE_MULTIPLES = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)
KM_MAIN_HEIGHT = 3.5
KM_RISK_ROW_HEIGHT = 0.22
KM_GRID_PANEL_HEIGHT = 2.7
KM_GRID_MAX_TICKS = 6
KM_SINGLE_MAX_TICKS = 12
# Statistical disclosure control in figures (``aice rerun --min-cell N``, set by chapter.open_chapter): curves
# stop where fewer than N patients remain at risk, and numbers at risk and group sizes below N show "<N".
_SMALL_COUNT_THRESHOLD = {"min_cell": 0}


def set_small_count_threshold(min_cell: int) -> None:
    """Make Kaplan–Meier figures coarsen what fewer than ``min_cell`` patients would show (0 or 1: off)."""
    _SMALL_COUNT_THRESHOLD["min_cell"] = int(min_cell)


def shown_patient_count(number: float) -> str:
    """Return a count as a figure shows it: "<N" from 1 to N - 1 under the small-count threshold."""
    min_cell = _SMALL_COUNT_THRESHOLD["min_cell"]
    return f"<{min_cell}" if min_cell > 1 and 0 < number < min_cell else f"{int(number)}"


def km_tick_step(max_time: float, max_ticks: int = KM_SINGLE_MAX_TICKS, base: float = KM_TICK_MONTHS) -> float:
    """Return the x tick spacing: ``base`` months, or the smallest nice multiple of it giving ≤ max_ticks intervals."""
    for multiple in KM_NICE_MULTIPLES:
        if max_time <= base * multiple * max_ticks:
            return base * multiple
    return base * KM_NICE_MULTIPLES[-1] * math.ceil(max_time / (base * KM_NICE_MULTIPLES[-1] * max_ticks))


def thinned_censor_marks(times: np.ndarray, survival: np.ndarray, x_max: float,
                         max_marks: int = KM_MAX_CENSOR_MARKS) -> tuple[np.ndarray, np.ndarray]:
    """Return at most ``max_marks`` censor marks: all of them if few, else the first in each of max_marks time bins."""
    if len(times) <= max_marks:
        return times, survival
    bins = np.floor(times / x_max * max_marks).clip(0, max_marks - 1)
    _, first = np.unique(bins, return_index=True)
    return times[first], survival[first]


def thinned_steps(times: np.ndarray, *values: np.ndarray, max_steps: int = KM_MAX_STEPS) -> tuple[np.ndarray, ...]:
    """Return a step function (times from 0, right-continuous values) sampled on ≤ max_steps grid points if longer."""
    if len(times) <= max_steps:
        return (times, *values)
    grid = np.linspace(0.0, float(times[-1]), max_steps)
    index = np.searchsorted(times, grid, side="right") - 1
    return (grid, *(v[index] for v in values))


@dataclass(frozen=True)
class KMCurve:
    """What a Kaplan–Meier figure draws for one group: steps, band, censor marks, median, n and events."""

    label: str
    n: int
    events: int
    times: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    censor_times: np.ndarray
    censor_survival: np.ndarray
    median: float
    last_time: float
    time: np.ndarray
    table_times: np.ndarray
    table_survival: np.ndarray
    cut_short: bool = False  # stopped where fewer than the small-count threshold were at risk

    def survival_at(self, t: float) -> float:
        """Return S(t) of the full (not thinned) estimate; NaN beyond the last observed time."""
        if t > self.last_time:
            return float("nan")
        position = np.searchsorted(self.table_times, t, side="right") - 1
        return float(self.table_survival[position])


def km_curve(time: Sequence[float], event: Sequence[int], label: str = "",
             max_steps: int = KM_MAX_STEPS, max_marks: int = KM_MAX_CENSOR_MARKS) -> KMCurve:
    """Return the drawable Kaplan–Meier estimate (lifelines via survival.km_table) with its log-log band."""

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    table = survival.km_table(t, e)
    min_cell, cut_short = _SMALL_COUNT_THRESHOLD["min_cell"], False
    if min_cell > 1:  # the curve stops where fewer than min_cell are at risk: its later steps name patients
        small = np.flatnonzero(table["at_risk"].to_numpy() < min_cell)
        if small.size:
            kept = table.iloc[:max(int(small[0]), 1)].copy()
            if int(small[0]) == 0:
                kept[["events", "censored"]] = 0
                kept[["survival", "greenwood"]] = [1.0, 0.0]
            table, cut_short = kept, True
    x = table.index.to_numpy(float)
    s = table["survival"].to_numpy(float)
    lower, upper = survival.ci_bands(s, table["greenwood"].to_numpy(float), "log-log")
    lower, upper = np.where(s >= 1.0, 1.0, lower), np.where(s >= 1.0, 1.0, upper)
    censored = table["censored"].to_numpy() > 0
    censor_t, censor_s = thinned_censor_marks(x[censored], s[censored], float(x[-1]), max_marks)
    full_x, full_s = np.r_[0.0, x], np.r_[1.0, s]
    steps = thinned_steps(full_x, full_s, np.r_[1.0, lower], np.r_[1.0, upper], max_steps=max_steps)
    return KMCurve(label=label, n=int(t.size), events=int(e.sum()), times=steps[0], survival=steps[1],
                   lower=steps[2], upper=steps[3], censor_times=censor_t, censor_survival=censor_s,
                   median=survival.first_time_at_or_below(x, s, survival.MEDIAN_PROBABILITY),
                   last_time=float(x[-1]), time=t, table_times=full_x, table_survival=full_s, cut_short=cut_short)


def restricted_mean(curve: KMCurve, horizon: float) -> float:
    """Return the area under the Kaplan–Meier steps from 0 to ``horizon``: the restricted mean survival time."""
    edges = np.r_[np.clip(curve.table_times, 0.0, horizon), horizon]
    return float(np.sum(np.diff(edges) * curve.table_survival))


def group_colours(curves: Sequence[KMCurve]) -> list:
    """Return a colour per curve by meaning: one curve OURS; of several, the worst (least restricted mean survival
    up to the shortest follow-up of the groups) WORSE, the best BETTER, those between MIDDLE_GROUPS in order."""
    if len(curves) <= 1:
        return [OURS] * len(curves)
    horizon = min(curve.last_time for curve in curves)
    order = np.argsort([-restricted_mean(curve, horizon) for curve in curves], kind="stable")  # best first
    colours: list = [None] * len(curves)
    for rank, index in enumerate(order):
        colours[index] = (BETTER if rank == 0 else WORSE if rank == len(curves) - 1
                          else MIDDLE_GROUPS[(rank - 1) % len(MIDDLE_GROUPS)])
    return colours


def _km_legend_label(curve: KMCurve) -> str:
    """Return '<label> (n = N; median M mo)', '… median not reached' or '… no events' (the curve stays at 1)."""
    median = ("no events" if curve.events == 0 else
              f"median not shown: fewer than {_SMALL_COUNT_THRESHOLD['min_cell']} at risk"
              if np.isnan(curve.median) and curve.cut_short else "median not reached" if np.isnan(curve.median)
              else f"median {curve.median:.1f} mo")
    return f"{curve.label} (n = {shown_patient_count(curve.n)}; {median})"


def _p_text(p: float) -> str:
    """Return 'Log-rank P = 0.006', 'Log-rank P < 0.001', or 'Log-rank test not possible' when P is missing."""
    if np.isnan(p):
        return "Log-rank test not possible (no events to compare)"
    return "Log-rank P < 0.001" if p < 0.001 else f"Log-rank P = {p:.3f}"


def _draw_km(ax: plt.Axes, risk_ax: plt.Axes, legend_ax: plt.Axes, curves: Mapping[str, tuple], xlabel: str,
             landmarks: Sequence[float] | None, show_median: bool, at_risk_times: Sequence[float] | None,
             logrank_p: float | None, max_ticks: int, small: bool) -> None:
    """Draw Kaplan–Meier curves on ``ax``, their legend (and log-rank P) on ``legend_ax`` above it, and the
    numbers at risk, aligned with the x ticks, on ``risk_ax`` below it."""

    estimates = [km_curve(time, event, str(label)) for label, (time, event) in curves.items()]
    colours = group_colours(estimates)
    x_max = max(curve.last_time for curve in estimates)
    step = km_tick_step(x_max, max_ticks)
    x_end = step * max(1, math.ceil(x_max / step - 1e-9))
    ticks = np.arange(0.0, x_end + step / 2, step)
    font = SMALL_PT
    medians = [c.median for c in estimates if show_median and not np.isnan(c.median)]
    if medians:
        ax.plot([0, max(medians)], [0.5, 0.5], linestyle="--", linewidth=0.8, color=MUTED, zorder=1)
    for curve, colour in zip(estimates, colours):
        ax.fill_between(curve.times, curve.lower, curve.upper, step="post", color=colour, alpha=KM_BAND_ALPHA,
                        linewidth=0, zorder=2)
        ax.step(curve.times, curve.survival, where="post", color=colour, linewidth=1.7 if small else 2.0,
                label=_km_legend_label(curve), zorder=3)
        ax.plot(curve.censor_times, curve.censor_survival, linestyle="none", marker="|", markersize=6 if small else 7,
                markeredgewidth=1.0, color=colour, zorder=4)
        if show_median and not np.isnan(curve.median):
            ax.plot([curve.median, curve.median], [0, 0.5], linestyle="--", linewidth=0.9, color=colour, zorder=1)
        for landmark in landmarks or ():
            value = curve.survival_at(landmark)
            if np.isnan(value):
                continue
            ax.plot([landmark], [value], marker="o", markersize=4, color=colour, zorder=5)
            ax.annotate(f"{100 * value:.1f}%", (landmark, value), xytext=(5, 6), textcoords="offset points",
                        fontsize=font, color=colour, zorder=5,
                        bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=0.6))
    for landmark in landmarks or ():
        ax.axvline(landmark, color=MUTED, linestyle=":", linewidth=0.8, zorder=1)
    handles, labels = ax.get_legend_handles_labels()
    if not small:
        handles.append(mpl.lines.Line2D([], [], linestyle="none", marker="|", markersize=7, markeredgewidth=1.0,
                                        color="0.2"))
        labels.append("censored")
    legend_ax.axis("off")
    legend = legend_ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 0), borderaxespad=0,
                              fontsize=font, ncols=1 if small else 2, handlelength=1.6, columnspacing=1.5,
                              title=_p_text(logrank_p) if logrank_p is not None else None, title_fontsize=font,
                              alignment="left")
    legend.set_in_layout(True)
    ax.set_xlim(0, x_end)
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_ylim(0, 1.03)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Survival probability")
    ax.grid(axis="x", visible=False)

    risk_times = ticks if at_risk_times is None else np.asarray(at_risk_times, dtype=float)
    counts = [survival.numbers_at_risk(curve.time, None, list(risk_times)).iloc[0].to_numpy() for curve in estimates]
    widest = max(len(str(int(c[0]))) for c in counts) if counts else 1
    for row, (count, colour) in enumerate(zip(counts, colours)):
        for when, number in zip(risk_times, count):
            risk_ax.text(when, row, shown_patient_count(number), ha="center", va="center", fontsize=font,
                         color=colour)
    risk_ax.set_xlim(ax.get_xlim())
    risk_ax.set_ylim(len(estimates) - 0.5, -0.5)
    risk_ax.set_yticks(range(len(estimates)), [curve.label for curve in estimates], fontsize=font)
    for tick_label, colour in zip(risk_ax.get_yticklabels(), colours):
        tick_label.set_color(colour)
    risk_ax.tick_params(axis="y", length=0, pad=4 + 0.32 * font * widest)
    risk_ax.xaxis.set_visible(False)
    risk_ax.grid(False)
    for spine in risk_ax.spines.values():
        spine.set_visible(False)
    risk_ax.text(0.0, 1.0, "Number at risk", transform=risk_ax.transAxes, ha="left", va="bottom", fontsize=font,
                 fontweight="bold")


def _legend_height(entries: int, columns: int, with_title: bool) -> float:
    """Return the height in inches of a legend row: one line per row of entries, one for the title."""
    return 0.19 * (math.ceil(entries / columns) + (1 if with_title else 0)) + 0.02


def _risk_height(rows: int) -> float:
    """Return the height in inches of a numbers-at-risk table with ``rows`` groups."""
    return KM_RISK_ROW_HEIGHT * (rows + 0.4)


def km_plot(curves: Mapping[str, tuple], title: str, xlabel: str = "months", landmarks: Sequence[float] | None = None,
            show_median: bool = True, at_risk_times: Sequence[float] | None = None,
            logrank_p: float | None = None) -> Figure:
    """Return a Kaplan–Meier figure: curves {label: (time, event)} with censor marks, log-log bands, medians,
    optional landmark rates and log-rank P, and the numbers at risk under the x ticks.

    Fast for very large groups: curves with more than KM_MAX_STEPS distinct times are drawn on a grid that fine,
    and at most KM_MAX_CENSOR_MARKS censor marks are drawn per curve.
    """
    rows = len(curves)
    legend_height = _legend_height(rows + 1, 2, logrank_p is not None)
    heights = [legend_height, KM_MAIN_HEIGHT, _risk_height(rows)]
    fig = plt.figure(figsize=(FULL_WIDTH, sum(heights) + 1.0))
    grid = fig.add_gridspec(3, 1, height_ratios=heights)
    legend_ax, ax, risk_ax = (fig.add_subplot(grid[i]) for i in range(3))
    _draw_km(ax, risk_ax, legend_ax, curves, xlabel, landmarks, show_median, at_risk_times, logrank_p,
             KM_SINGLE_MAX_TICKS, small=False)
    legend_ax.set_title(cohort_title(title))
    return mark_cohort_figure(fig)


def km_grid(panels: Sequence[Mapping], ncols: int = 2, xlabel: str = "months", show_median: bool = True,
            title: str = "") -> Figure:
    """Return small multiples of km_plot: one panel per mapping with keys curves, title, logrank_p (optional).

    Vertical ticks on the curves mark censored patients (the small panels leave that legend entry out).
    """
    nrows = math.ceil(len(panels) / ncols)
    rows = max(len(panel["curves"]) for panel in panels)
    small = ncols > 1
    legend_height = _legend_height(rows + (0 if small else 1), 1 if small else 2, True)
    heights = [legend_height, KM_GRID_PANEL_HEIGHT, _risk_height(rows)]
    fig = plt.figure(figsize=(FULL_WIDTH, nrows * (sum(heights) + 0.9) + (0.3 if title else 0)))
    grid = fig.add_gridspec(3 * nrows, ncols, height_ratios=heights * nrows)
    for index, panel in enumerate(panels):
        row, column = divmod(index, ncols)
        legend_ax, ax, risk_ax = (fig.add_subplot(grid[3 * row + i, column]) for i in range(3))
        _draw_km(ax, risk_ax, legend_ax, panel["curves"], xlabel, None, show_median, None, panel.get("logrank_p"),
                 KM_GRID_MAX_TICKS if small else KM_SINGLE_MAX_TICKS, small=small)
        legend_ax.set_title(panel.get("title", ""), fontsize=TEXT_PT)
    if title or synthetic_style():
        fig.suptitle(cohort_title(title), fontweight="bold", x=0.01, ha="left")
    return mark_cohort_figure(fig)


def _forest_value_text(hr: float, lower: float, upper: float, drawn: bool) -> str:
    """Return 'HR (lower–upper)', '1 (reference)' or 'not estimable' for one forest-plot row."""
    if drawn:
        return f"{hr:.2f} ({lower:.2f}–{upper:.2f})"
    return "1 (reference)" if hr == 1.0 else "not estimable"


def _forest_p_text(p: object) -> str:
    """Return a P value as a forest plot prints it (strings are kept as given)."""
    if isinstance(p, str):
        return p
    return "" if p is None or pd.isna(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


FOREST_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
FOREST_MARGIN = 1.25
FOREST_LABEL_CHARS = 32  # a longer row label is wrapped  # the x range reaches this factor beyond the widest interval on each side
PUBLISHED_FOREST_MARKER = dict(marker="D", markersize=5.5, linestyle="none", markerfacecolor="white",
                               markeredgecolor=PUBLISHED_COLOUR, markeredgewidth=1.3)


def forest_range(*tables: pd.DataFrame, lower_col: str = "lower", upper_col: str = "upper") -> tuple[float, float]:
    """Return one x range (log axis) that holds every finite interval of the tables and 1, with a margin: give
    it as ``xlim`` to forest plots that must be read side by side (OS and PFS, ours and the paper's)."""
    values = [1.0]
    for table in tables:
        if table is None or not len(table):
            continue
        for column in (lower_col, upper_col):
            numbers = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
            values += [v for v in numbers if np.isfinite(v) and v > 0]
    return min(values) / FOREST_MARGIN, max(values) * FOREST_MARGIN


def _forest_published_rows(published: pd.DataFrame | None, labels: Sequence[str], hr_col: str, lower_col: str,
                           upper_col: str) -> pd.DataFrame:
    """The published HR, lower and upper of each row label (NaN where the paper gives none), in the rows' order."""
    columns = ["hr", "lower", "upper"]
    if published is None:
        return pd.DataFrame(np.nan, index=list(labels), columns=columns)
    table = published.rename(columns={hr_col: "hr", lower_col: "lower", upper_col: "upper"})
    return table.reindex(list(labels))[columns].apply(pd.to_numeric, errors="coerce")


def forest_plot(table: pd.DataFrame, label_col: str, hr_col: str, lower_col: str, upper_col: str,
                p_col: str | None = None, title: str = "", published: pd.DataFrame | None = None,
                xlim: tuple[float, float] | None = None) -> Figure:
    """Return hazard ratios with 95% CIs on a log axis (reference line at 1), each row's HR (95% CI) and P
    printed in aligned columns on the right.

    ``published``: the paper's HR and 95% CI, indexed by the row labels (columns named as ``hr_col``,
    ``lower_col``, ``upper_col``), drawn as open black diamonds under our squares and printed in a third column.
    ``xlim``: a fixed x range (see :func:`forest_range`), so that two forest plots share one scale.
    Rows whose HR or interval is missing (reference levels, models that failed) are listed without a marker.
    """
    rows = table.reset_index(drop=True)
    k = len(rows)
    if k == 0:
        return message_figure(NO_HAZARD_RATIOS, cohort_title(title))
    labels = rows[label_col].astype(str).tolist()
    paper = _forest_published_rows(published, labels, hr_col, lower_col, upper_col)
    has_paper = published is not None
    row_height = 0.42 if has_paper else 0.3
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, row_height * k + 1.5))
    hr, lower, upper = (rows[c].astype(float).to_numpy() for c in (hr_col, lower_col, upper_col))
    drawn = np.isfinite(hr) & np.isfinite(lower) & np.isfinite(upper) & (lower > 0)
    y = np.arange(k, dtype=float)
    ours_y = y - (0.14 if has_paper else 0.0)
    ax.hlines(ours_y[drawn], lower[drawn], upper[drawn], color=OURS, linewidth=1.6)
    ax.plot(hr[drawn], ours_y[drawn], marker="s", markersize=6, linestyle="none", color=OURS,
            label="this data" if has_paper else None)
    p_hr, p_lower, p_upper = (paper[c].to_numpy(float) for c in ("hr", "lower", "upper"))
    p_drawn = np.isfinite(p_hr) & np.isfinite(p_lower) & np.isfinite(p_upper) & (p_lower > 0)
    if has_paper:
        paper_y = y + 0.16
        ax.hlines(paper_y[p_drawn], p_lower[p_drawn], p_upper[p_drawn], color=PUBLISHED_COLOUR, linewidth=1.2)
        ax.plot(p_hr[p_drawn], paper_y[p_drawn], label="published", **PUBLISHED_FOREST_MARKER)
    ax.axvline(1.0, color=MUTED, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    if xlim is None:
        extra = pd.DataFrame({"lower": p_lower[p_drawn], "upper": p_upper[p_drawn]})
        xlim = forest_range(pd.DataFrame({"lower": lower[drawn], "upper": upper[drawn]}), extra)
    low, high = xlim
    ax.set_xlim(low, high)
    ax.set_xticks([t for t in FOREST_TICKS if low <= t <= high])
    ax.xaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    ax.set_yticks(y, [textwrap.fill(label, FOREST_LABEL_CHARS) for label in labels])
    ax.set_ylim(k - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Hazard ratio (95% CI), log scale")
    values = [_forest_value_text(hr[i], lower[i], upper[i], bool(drawn[i])) for i in range(k)]
    width = max(len(v) for v in values + ["HR (95% CI)"])
    p_values = [_forest_p_text(rows.at[i, p_col]) for i in range(k)] if p_col is not None else [""] * k
    p_width = max(len(p) for p in p_values + ["P"])
    paper_values = [f"{p_hr[i]:.2f} ({p_lower[i]:.2f}–{p_upper[i]:.2f})" if p_drawn[i] else
                    (f"{p_hr[i]:.2f}" if np.isfinite(p_hr[i]) else "–") for i in range(k)]
    paper_width = max(len(v) for v in paper_values + ["Paper"])

    def line(value: str, p: str, paper_value: str) -> str:
        text = f"{value.ljust(width)}  {p.rjust(p_width)}" if p_col is not None else value.ljust(width)
        return f"{text}  {paper_value.ljust(paper_width)}" if has_paper else text

    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(y, [line(v, p, q) for v, p, q in zip(values, p_values, paper_values)],
                     fontfamily="monospace", fontsize=SMALL_PT)
    right.tick_params(axis="y", length=0)
    right.grid(False)
    for spine in right.spines.values():
        spine.set_visible(False)
    header = line("HR (95% CI)", "P", "Paper")
    right.annotate(header, xy=(1, 1), xycoords="axes fraction", xytext=(mpl.rcParams["ytick.major.pad"], 4),
                   textcoords="offset points", ha="left", va="bottom", fontfamily="monospace", fontsize=SMALL_PT,
                   fontweight="bold")
    ax.set_title(cohort_title(title), pad=18)
    if has_paper:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=SMALL_PT)
    estimates = [f"{labels[i]}: {values[i]}" for i in range(k) if drawn[i]]
    set_alt_text(fig, f"Forest plot{': ' + title if title else ''}. Hazard ratios with 95% intervals on a log "
                      f"scale: {'; '.join(estimates) or 'none estimable'}"
                      + (". The paper's estimates are drawn beside ours as open diamonds." if has_paper else "."))
    return mark_cohort_figure(fig)


def median_interval_plot(time: Sequence[float], event: Sequence[int], title: str = "",
                         xlabel: str = "months", cohort_data: bool = True) -> Figure:
    """Return the Kaplan–Meier curve near its median with the log and log-log bands, and below it the median's
    interval by each method of survival.median_intervals (SPSS symmetric, Brookmeyer–Crowley log, log-log, plain).
    When the median is not reached the whole curve is drawn with a sentence saying so."""

    table = survival.km_table(time, event)
    x = np.r_[0.0, table.index.to_numpy(float)]
    s = np.r_[1.0, table["survival"].to_numpy(float)]
    greenwood = np.r_[0.0, table["greenwood"].to_numpy(float)]
    methods = survival.median_intervals(time, event)
    finite = methods[["lower", "upper"]].to_numpy(float)
    finite = finite[np.isfinite(finite)]
    median = float(methods["median"].iloc[0])
    spread = max(float(np.ptp(finite)) if finite.size else 0.0, 1.0)
    left = max(0.0, float(finite.min()) - 0.35 * spread) if finite.size else 0.0
    right = float(finite.max()) + 0.35 * spread if finite.size else float(x[-1])
    fig = plt.figure(figsize=(FULL_WIDTH, 5.2))
    grid = fig.add_gridspec(2, 1, height_ratios=[3.0, 1.6])
    ax = fig.add_subplot(grid[0])
    bars = fig.add_subplot(grid[1], sharex=ax)
    band_colours = {"log": PALETTE[2], "log-log": PALETTE[1], "plain": PALETTE[4]}
    for transform, colour in band_colours.items():
        lo, hi = survival.ci_bands(s, greenwood, transform)
        lo, hi = np.where(s >= 1, 1.0, lo), np.where(s >= 1, 1.0, hi)
        style = MEDIAN_BAND_STYLES[transform]
        ax.step(x, lo, where="post", color=colour, label=f"{transform} band", **style)
        ax.step(x, hi, where="post", color=colour, **style)
    ax.step(x, s, where="post", color="black", linewidth=2, label="Kaplan–Meier estimate")
    for index, ((_, method), colour) in enumerate(zip(methods.iloc[1:].iterrows(),
                                                      [band_colours[b] for b in ("log", "log-log", "plain")])):
        crossings = [v for v in (method["lower"], method["upper"]) if np.isfinite(v)]
        ax.plot(crossings, [0.5] * len(crossings), linestyle="none", marker="o", markersize=7 - 1.5 * index,
                color=colour, markeredgecolor="white", zorder=5,
                label="a band crosses 0.5: a Brookmeyer–Crowley limit" if index == 0 else None)
    ax.axhline(0.5, color=MUTED, linewidth=0.9)
    ax.axvline(median, color="black", linestyle=":", linewidth=0.9)
    ax.set_xlim(left, right)
    window = (x >= left) & (x <= right)
    low_s = float(s[window].min()) if window.any() else 0.0
    high_s = float(s[window].max()) if window.any() else 1.0
    ax.set_ylim(max(0.0, low_s - 0.15), min(1.0, high_s + 0.15))
    ax.set_ylabel("Survival probability")
    ax.legend(loc="upper right", fontsize=SMALL_PT)
    ax.set_title(cohort_title(title) if cohort_data else title)
    ax.tick_params(labelbottom=False)
    method_colours = [PRIMARY, band_colours["log"], band_colours["log-log"], band_colours["plain"]]
    for row, ((_, method), colour) in enumerate(zip(methods.iterrows(), method_colours)):
        lo, hi = method["lower"], method["upper"]
        if np.isfinite(lo) and np.isfinite(hi):
            bars.plot([lo, hi], [row, row], color=colour, linewidth=3, solid_capstyle="butt")
            bars.text(hi, row, f"  {lo:.1f}–{hi:.1f}", va="center", fontsize=SMALL_PT, color=colour)
        bars.plot([method["median"]], [row], marker="o", color="black", markersize=4)
    bars.axvline(median, color="black", linestyle=":", linewidth=0.9)
    if np.isnan(median):
        bars.text(0.5, 0.5, MEDIAN_NOT_REACHED_TEXT, transform=bars.transAxes, ha="center", va="center",
                  color=MUTED, bbox=dict(facecolor="white", edgecolor="none", alpha=0.9))
    bars.set_yticks(range(len(methods)), [_short_method(m) for m in methods["method"]], fontsize=SMALL_PT)
    bars.set_ylim(len(methods) - 0.5, -0.5)
    bars.grid(axis="y", visible=False)
    bars.set_xlabel(xlabel)
    return mark_cohort_figure(fig) if cohort_data else fig


MEDIAN_BAND_STYLES = {  # the plain band is drawn last and thickest: it often runs inside the other two
    "log": dict(linestyle="-", linewidth=1.3, zorder=3),
    "log-log": dict(linestyle="--", linewidth=1.3, zorder=3),
    "plain": dict(linestyle="-.", linewidth=1.8, zorder=4),
}


def _short_method(method: str) -> str:
    """Return a short axis label for a median-interval method of survival.median_intervals."""
    if method.startswith("symmetric"):
        return "SPSS: symmetric ± 1.96 SE"
    return "Brookmeyer–Crowley, " + method.split(", ")[-1]


# ---------------------------------------------------------------------------------------------
# The scorecard at a glance (appendix)

STATUS_COLOURS = {"exact": PALETTE[2], "within tolerance": PALETTE[9], "outside tolerance": PALETTE[1],
                  "contradicted by the paper": PALETTE[4], "not reproducible from data": "0.82"}
TOTAL_LABEL_PREFIX = "all"


def scorecard_status_bars(summary: pd.DataFrame, title: str = "Published numbers by section and status",
                          xlabel: str = "published numbers") -> Figure:
    """Return one horizontal bar per row of a status count table, stacked by status (first row on top; rows
    labelled 'all…' and a 'total' column are left out)."""
    rows = summary.loc[[label for label in summary.index if not str(label).startswith(TOTAL_LABEL_PREFIX)]]
    statuses = [column for column in rows.columns if column != "total"]
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.3 * len(rows) + 1.5))
    positions = np.arange(len(rows))
    left = np.zeros(len(rows))
    for status in statuses:
        widths = rows[status].to_numpy(dtype=float)
        ax.barh(positions, widths, left=left, height=0.7, color=STATUS_COLOURS.get(status, MUTED),
                edgecolor="white", linewidth=0.5, label=status)
        left += widths
    for y, total in zip(positions, left):
        ax.text(total + max(left.max(), 1) * 0.01, y, f"{int(total)}", va="center", fontsize=SMALL_PT, color=MUTED)
    ax.set_yticks(positions, [str(label) for label in rows.index], fontsize=SMALL_PT)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, max(left.max(), 1) * 1.08)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_title(cohort_title(title))
    ax.legend(title="status", loc="lower right", fontsize=SMALL_PT, title_fontsize=SMALL_PT)
    return mark_cohort_figure(fig)


# ---------------------------------------------------------------------------------------------
# Cox models: several models in one forest plot, scaled Schoenfeld residuals against time


def forest_plot_models(rows: pd.DataFrame, label_col: str = "label", model_col: str = "model", hr_col: str = "hr",
                       lower_col: str = "lower", upper_col: str = "upper", title: str = "") -> Figure:
    """Return one forest plot of several models: per covariate a marker and 95% CI per model, offset and coloured
    by model (log axis, reference line at 1); a covariate missing from a model has no marker for it.

    Models are drawn in the order of the categories when ``model_col`` is categorical, else as first seen.
    """
    labels = list(dict.fromkeys(rows[label_col]))
    if not labels:
        return message_figure(NO_HAZARD_RATIOS, title)
    if isinstance(rows[model_col].dtype, pd.CategoricalDtype):
        models = [model for model in rows[model_col].cat.categories if (rows[model_col] == model).any()]
    else:
        models = list(dict.fromkeys(rows[model_col]))
    step = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.42 * len(labels) * max(1.0, len(models) / 3) + 1.4))
    finite = []
    drawn_labels: set[str] = set()
    markers = ("s", "o", "^", "D", "v", "P", "X")
    for position, (model, colour) in enumerate(zip(models, PALETTE)):
        part = rows[rows[model_col] == model]
        y = np.array([labels.index(label) for label in part[label_col]], dtype=float) - 0.4 + step * (position + 0.5)
        hr, lower, upper = (part[c].astype(float).to_numpy() for c in (hr_col, lower_col, upper_col))
        drawn = np.isfinite(hr) & np.isfinite(lower) & np.isfinite(upper) & (lower > 0)
        ax.hlines(y[drawn], lower[drawn], upper[drawn], color=colour, linewidth=1.4)
        ax.plot(hr[drawn], y[drawn], marker=markers[position % len(markers)], markersize=5, linestyle="none",
                color=colour, label=model)
        finite += [*lower[drawn], *upper[drawn]]
        drawn_labels.update(part[label_col].to_numpy()[drawn])
    ax.axvline(1.0, color=MUTED, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    span = np.r_[finite, 1.0]
    low, high = float(span.min()) / 1.2, float(span.max()) * 1.2
    ax.set_xlim(low, high)
    ax.set_xticks([t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if low <= t <= high])
    ax.xaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    ax.set_yticks(range(len(labels)), labels)
    for position, label in enumerate(labels):
        if label not in drawn_labels:
            ax.text(1.0, position, f" {NOT_ESTIMABLE_TEXT} in any model", va="center", fontsize=SMALL_PT, color=MUTED)
    for boundary in np.arange(len(labels) - 1) + 0.5:
        ax.axhline(boundary, color="0.9", linewidth=0.8)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Hazard ratio (95% CI), log scale")
    fig.legend(loc="outside lower center", ncols=min(len(models), 3), fontsize=SMALL_PT)
    ax.set_title(title)
    return fig


ZPH_BAND_ALPHA = 0.18


def _time_ticks_on_g(times: np.ndarray, g: np.ndarray, count: int = 6) -> tuple[np.ndarray, list[str]]:
    """Return positions on the g axis and their labels in months: round times spread over the deaths' g."""
    order = np.argsort(g, kind="stable")
    g_sorted, t_sorted = g[order], times[order]
    targets = np.linspace(g_sorted[0], g_sorted[-1], count + 2)[1:-1]
    wanted = np.interp(targets, g_sorted, t_sorted)
    rounded = sorted({float(f"{t:.2g}") for t in wanted if t > 0})
    positions = np.interp(rounded, t_sorted, g_sorted)
    return positions, [f"{t:g}" for t in rounded]


def schoenfeld_plot(frame: pd.DataFrame, title: str = "", xlabel: str = "months",
                    p_values: Mapping[str, float] | None = None, ncols: int = 2) -> Figure:
    """Return one panel per covariate of scaled Schoenfeld residuals against time, as R's plot(cox.zph(fit)) draws
    them: the points, a natural-spline smooth (df 4) with a ±2 SE band, the model's constant β (dashed) and 0.

    ``frame`` has columns covariate, time, residual, beta, and either g and variance (from
    :func:`aice_helpers.stats.zph_smooth.zph_plot_frame`: the smooth and band are R's, on the transformed time g,
    the axis labelled in months) or a precomputed smooth column (drawn against time, without a band). A flat
    smooth along the dashed line is what proportional hazards predict; the y axis is cut to the central 96% of
    the residuals so that a few extreme points do not flatten the rest.
    """

    covariates = list(dict.fromkeys(frame["covariate"]))
    if not covariates:
        return message_figure("No estimated coefficient: no residuals to draw.", cohort_title(title))
    r_style = {"g", "variance"} <= set(frame.columns)
    nrows = math.ceil(len(covariates) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(FULL_WIDTH, 3.0 * nrows + 0.6), squeeze=False, sharex=True)
    smooth_label = "smooth (natural spline, ±2 SE band)" if r_style else "smooth (lowess)"
    for ax, covariate in zip(axes.flat, covariates):
        part = frame[frame["covariate"] == covariate].sort_values("time", kind="stable")
        beta = float(part["beta"].iloc[0])
        x = part["g"].to_numpy(float) if r_style else part["time"].to_numpy(float)
        ax.plot(x, part["residual"], linestyle="none", marker="o", markersize=3, alpha=0.45, color=MUTED)
        if r_style:
            smooth = zph_smooth(x, part["residual"], float(part["variance"].iloc[0]))
            ax.fill_between(smooth["g"], smooth["lower"], smooth["upper"], color=OURS, alpha=ZPH_BAND_ALPHA,
                            linewidth=0)
            ax.plot(smooth["g"], smooth["fit"], color=OURS, linewidth=2)
            curve = np.r_[smooth["lower"], smooth["upper"]]
        else:
            ax.plot(x, part["smooth"], color=OURS, linewidth=2)
            curve = part["smooth"].to_numpy(float)
        ax.axhline(beta, color="black", linestyle="--", linewidth=1)
        ax.axhline(0.0, color=MUTED, linestyle=":", linewidth=1)
        low, high = np.nanpercentile(part["residual"], [2, 98])
        values = np.r_[low, high, np.nanmin(curve), np.nanmax(curve), beta, 0.0]
        values = values[np.isfinite(values)]
        pad = 0.1 * (values.max() - values.min() or 1.0)
        ax.set_ylim(values.min() - pad, values.max() + pad)
        if r_style and len(part) > 1:
            positions, labels = _time_ticks_on_g(part["time"].to_numpy(float), x)
            ax.set_xticks(positions, labels)
        heading = covariate if p_values is None or covariate not in p_values else (
            f"{covariate}\nPH test P = {'<0.001' if p_values[covariate] < 0.001 else f'{p_values[covariate]:.3f}'}")
        ax.set_title(heading, fontsize=SMALL_PT)
        ax.set_ylabel("β(t)")
    for ax in list(axes.flat)[len(covariates):]:
        ax.axis("off")
    for index, ax in enumerate(list(axes.flat)[:len(covariates)]):
        if index + ncols >= len(covariates):  # the lowest panel of its column
            ax.set_xlabel(xlabel + (" (Kaplan–Meier scale, as R's cox.zph)" if r_style else ""))
            ax.tick_params(labelbottom=True)
    handles = [mpl.lines.Line2D([], [], color=OURS, linewidth=2),
               mpl.lines.Line2D([], [], color="black", linestyle="--", linewidth=1),
               mpl.lines.Line2D([], [], color=MUTED, linestyle=":", linewidth=1)]
    if r_style:
        handles[0] = (mpl.patches.Patch(color=OURS, alpha=ZPH_BAND_ALPHA, linewidth=0), handles[0])
    fig.legend(handles, [smooth_label, "the model's constant β", "β = 0 (no effect)"],
               loc="outside lower center", ncols=3, fontsize=SMALL_PT)
    fig.suptitle(cohort_title(title), fontweight="bold", x=0.01, ha="left")
    set_alt_text(fig, f"Scaled Schoenfeld residuals against time for {', '.join(map(str, covariates))}, each with "
                      f"a smooth{' and its ±2 standard-error band' if r_style else ''}, the model's constant "
                      "coefficient (dashed) and zero (dotted); a flat smooth along the dashed line fits "
                      "proportional hazards.")
    return mark_cohort_figure(fig)


# ---------------------------------------------------------------------------------------------
# The simulation lab: invented worlds, coverage of median intervals, hazard ratios by events per variable

LAB_METHOD_MARKERS = ("o", "s", "^", "D")
LAB_TRUTH_STYLE = dict(color="black", linestyle="--", linewidth=1.2)
LAB_PANEL_TITLE_WIDTH = 20  # characters per line of a covariate's panel title
LAB_NARROW_LOG_TICKS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)  # log-axis ticks per decade when the axis spans one decade
LAB_WIDE_LOG_TICKS = (1.0, 2.0, 5.0)  # … and when it spans more


def km_with_model_curves(time: Sequence[float], event: Sequence[int], curves: pd.DataFrame, chosen: str,
                         title: str = "", xlabel: str = "months") -> Figure:
    """Return the Kaplan–Meier estimate of (time, event) with parametric survival curves (columns model, time,
    survival) over it, the ``chosen`` model drawn thick."""

    table = survival.km_table(time, event)
    fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.8, 3.8))
    ax.step(np.r_[0.0, table.index.to_numpy(float)], np.r_[1.0, table["survival"].to_numpy(float)], where="post",
            color="black", linewidth=2, label="Kaplan–Meier, synthetic cohort")
    for colour, (model, part) in zip(PALETTE, curves.groupby("model", sort=False)):
        ax.plot(part["time"], part["survival"], color=colour, linewidth=2.6 if model == chosen else 1.2,
                linestyle="-" if model == chosen else ":", label=f"{model}{' (chosen)' if model == chosen else ''}")
    ax.axhline(0.5, color=MUTED, linewidth=0.8)
    ax.set_xlim(0, float(curves["time"].max()))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("survival S(t)")
    ax.set_title(cohort_title(title))
    ax.legend(loc="upper right", fontsize=SMALL_PT)
    return mark_cohort_figure(fig)


def simulated_study_plot(time: Sequence[float], event: Sequence[int], true_curve: pd.DataFrame, true_median: float,
                         title: str = "", xlabel: str = "months") -> Figure:
    """Return :func:`median_interval_plot` of one simulated study with the true S(t) (columns time, survival) and
    the true median added as dashed black lines."""
    fig = median_interval_plot(time, event, title=title, xlabel=xlabel, cohort_data=False)
    curve_ax, bars_ax = fig.axes[0], fig.axes[1]
    curve_ax.plot(true_curve["time"], true_curve["survival"], color=MUTED, linewidth=2.2, alpha=0.8,
                  label="true survival S(t)")
    for ax in (curve_ax, bars_ax):
        ax.axvline(true_median, **LAB_TRUTH_STYLE)
    curve_ax.plot([], [], **LAB_TRUTH_STYLE, label=f"true median, {true_median:.1f}")
    curve_ax.get_legend().remove()
    fig.legend(*curve_ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=SMALL_PT)
    return fig


def coverage_plot(summary: pd.DataFrame, nominal: float, z: float, title: str = "") -> Figure:
    """Return coverage against sample size, one panel per censoring level and one line per method (columns
    censored_target, patients, method, coverage, mc_se): error bars the exact (Clopper–Pearson) interval when the
    summary has coverage_lower and coverage_upper, else ±z Monte Carlo SE; dashed line at ``nominal``."""

    levels = list(dict.fromkeys(summary["censored_target"]))
    methods = list(dict.fromkeys(summary["method"]))
    sizes = sorted(set(summary["patients"]))
    fig, axes = plt.subplots(1, len(levels), figsize=(FULL_WIDTH, 3.5), sharey=True, squeeze=False)
    step = 0.12
    bottom = (summary["coverage_lower"] if "coverage_lower" in summary else
              summary["coverage"] - z * summary["mc_se"].fillna(0))
    low = 100 * float(np.nanmin(bottom))
    for ax, level in zip(axes.flat, levels):
        part = summary[summary["censored_target"] == level]
        for index, (method, colour) in enumerate(zip(methods, PALETTE)):
            rows = part[part["method"] == method].set_index("patients").reindex(sizes)
            x = np.arange(len(sizes)) + (index - (len(methods) - 1) / 2) * step
            if {"coverage_lower", "coverage_upper"} <= set(rows.columns):  # exact: not 0 wide at 100%
                error = 100 * np.vstack([rows["coverage"] - rows["coverage_lower"],
                                         rows["coverage_upper"] - rows["coverage"]])
            else:
                error = 100 * z * rows["mc_se"]
            ax.errorbar(x, 100 * rows["coverage"], yerr=error, color=colour, linewidth=1.4,
                        marker=LAB_METHOD_MARKERS[index % len(LAB_METHOD_MARKERS)], markersize=5, capsize=2.5,
                        label=method)
        ax.axhline(100 * nominal, **LAB_TRUTH_STYLE)
        ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
        ax.set_xlim(-0.5, len(sizes) - 0.5)
        ax.set_xlabel("patients per study")
        ax.set_title(censoring_label(level), fontsize=TEXT_PT)
        ax.grid(axis="x", visible=False)
    axes.flat[0].set_ylabel("coverage of the true median (%)")
    axes.flat[0].set_ylim(min(low, 100 * nominal) - 2, 101)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles.append(mpl.lines.Line2D([], [], **LAB_TRUTH_STYLE))
    labels.append(f"nominal {100 * nominal:.0f}%")
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=SMALL_PT)
    if title:
        fig.suptitle(title, fontweight="bold", x=0.01, ha="left")
    return fig


def hazard_ratio_spread_plot(rows: pd.DataFrame, level_labels: Mapping[int, str], title: str = "",
                             ncols: int = 4) -> Figure:
    """Return one panel per covariate: box plots of the estimated hazard ratios (log axis) at each level (columns
    covariate, target_events, beta, true_beta; reliable fits only), the true hazard ratio dashed.

    Boxes hold the middle half of the estimates and whiskers the middle 90%; the axis shows the middle 98%.
    """
    covariates = list(rows["covariate"].cat.categories if isinstance(rows["covariate"].dtype, pd.CategoricalDtype)
                      else dict.fromkeys(rows["covariate"]))
    levels = sorted(level_labels)
    nrows = math.ceil(len(covariates) / ncols)
    # a fixed grid: constrained layout costs more time than anything else in a figure of many log axes
    fig, axes = plt.subplots(nrows, ncols, figsize=(FULL_WIDTH, 2.9 * nrows + 0.5), squeeze=False, layout="none")
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.08, top=0.88 if title else 0.93, wspace=0.38, hspace=0.62)
    for ax, covariate in zip(axes.flat, covariates):
        part = rows[(rows["covariate"] == covariate) & np.isfinite(rows["beta"])]
        groups = [np.exp(part.loc[part["target_events"] == level, "beta"].to_numpy(float)) for level in levels]
        shown = [g if g.size else np.array([np.nan]) for g in groups]
        ax.boxplot(shown, positions=range(len(levels)), widths=0.6, whis=(5, 95), showfliers=False,
                   patch_artist=True, boxprops=dict(facecolor=PRIMARY, alpha=0.35, edgecolor=PRIMARY),
                   medianprops=dict(color=PRIMARY, linewidth=2), whiskerprops=dict(color=PRIMARY),
                   capprops=dict(color=PRIMARY))
        true_hr = float(np.exp(part["true_beta"].iloc[0])) if len(part) else math.nan
        ax.axhline(true_hr, **LAB_TRUTH_STYLE)
        ax.set_yscale("log")
        values = np.concatenate([g for g in groups if g.size] or [np.array([true_hr])])
        bottom, top = np.nanpercentile(values, [1, 99])
        low, high = min(bottom, true_hr) / 1.15, max(top, true_hr) * 1.15
        ax.set_ylim(low, high)
        subs = LAB_WIDE_LOG_TICKS if math.log10(high / low) > 1 else LAB_NARROW_LOG_TICKS
        ax.yaxis.set_major_locator(mpl.ticker.LogLocator(subs=subs))
        ax.yaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())
        ax.set_xticks(range(len(levels)), [level_labels[level].replace("EPV ", "") for level in levels], fontsize=SMALL_PT)
        ax.set_title(textwrap.fill(str(covariate), LAB_PANEL_TITLE_WIDTH), fontsize=SMALL_PT)
        ax.grid(axis="x", visible=False)
    for ax in list(axes.flat)[len(covariates):]:
        ax.axis("off")
    for row in axes:
        row[0].set_ylabel("estimated HR")
    for ax in list(axes.flat)[:len(covariates)]:
        ax.set_xlabel("events per variable", fontsize=SMALL_PT)
    handles = [mpl.patches.Patch(facecolor=PRIMARY, alpha=0.35, edgecolor=PRIMARY,
                                 label="box: middle half\nof the estimates"),
               mpl.lines.Line2D([], [], color=PRIMARY, label="whiskers: middle 90%"),
               mpl.lines.Line2D([], [], color=PRIMARY, linewidth=2, label="line: median"),
               mpl.lines.Line2D([], [], **LAB_TRUTH_STYLE, label="true hazard ratio")]
    spare = list(axes.flat)[len(covariates):]
    if spare:
        spare[0].legend(handles=handles, loc="center", fontsize=SMALL_PT)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=SMALL_PT)
    if title:
        fig.suptitle(title, fontweight="bold", x=0.01, ha="left", y=0.99)
    return fig


# ---------------------------------------------------------------------------------------------
# Every figure to take away: PDF, SVG and 300-dpi PNG, with links for the page

DOWNLOAD_FORMATS = ("pdf", "svg", "png")
DOWNLOAD_LABELS = {"pdf": "PDF", "svg": "SVG", "png": "PNG, 300 dpi"}


@dataclass(frozen=True)
class FigureDownloads:
    """The files a figure was saved to, and the links a page shows for them (displayed as Markdown)."""

    paths: dict
    markdown: str

    def _repr_markdown_(self) -> str:
        """The links, for IPython's display."""
        return self.markdown


def safe_file_stem(name: str) -> str:
    """Return ``name`` as a file name stem: letters, digits, '-' and '_' only (others become '_')."""

    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")
    if not stem:
        raise ValueError(f"a figure needs a file name with a letter or digit, got {name!r}")
    return stem


def save_figure_downloads(fig: Figure, name: str, folder: str | Path,
                          link_base: str | None = None) -> FigureDownloads:
    """Write the figure as name.pdf, name.svg and name.png (300 dpi) into ``folder`` and return their links.

    The files carry no date (the same figure gives the same bytes) and the figure's title and alt text as
    metadata. Links point to ``link_base``/file (default: the folder as given, in '/' form).
    """

    stem = safe_file_stem(name)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    title = "; ".join(figure_titles(fig)) or stem
    description = alt_text(fig)
    paths = {}
    for extension in DOWNLOAD_FORMATS:
        path = target / f"{stem}.{extension}"
        if extension == "svg":
            path.write_bytes(svg_bytes(fig))
        elif extension == "pdf":
            fig.savefig(path, format="pdf", bbox_inches="tight",
                        metadata={"Title": title, "Subject": description, "CreationDate": None, "ModDate": None})
        else:
            fig.savefig(path, format="png", dpi=DOWNLOAD_DPI, bbox_inches="tight",
                        metadata={"Title": title, "Description": description, "Software": None})
        paths[extension] = path
    base = (link_base if link_base is not None else Path(folder).as_posix()).rstrip("/")
    links = " · ".join(f"[{DOWNLOAD_LABELS[extension]}]({base + '/' if base else ''}{stem}.{extension})"
                       for extension in DOWNLOAD_FORMATS)
    return FigureDownloads(paths=paths, markdown=f"Download this figure: {links}")

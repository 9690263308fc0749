"""Figures for every chapter, in one visual style set here and nowhere else."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

PALETTE = sns.color_palette("colorblind")
PRIMARY = PALETTE[0]
SECONDARY = PALETTE[1]
MUTED = "0.45"
FIGURE_DPI = 110
FULL_WIDTH = 8.0
PUBLISHED_MARKER = dict(marker="D", color="black", markersize=5, linestyle="none", label="published")


def use_book_style() -> None:
    """Set the book's figure style: white grid, colour-blind palette, readable sizes."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=0.95)
    mpl.rcParams.update(
        {
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "figure.figsize": (FULL_WIDTH, 4.5),
            "figure.constrained_layout.use": True,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "legend.frameon": False,
            "svg.hashsalt": "aice",
        }
    )


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
    left.set_title("Age")
    _cutoff_histogram(right, cohort["max_diameter_cm"], diameter_cutoff, f"<{diameter_cutoff:g}",
                      f"≥{diameter_cutoff:g}", np.arange(0, 28, 2), "maximum tumour diameter (cm)",
                      above_inclusive=True)
    right.set_title("Tumour size")
    return fig


def category_bars(counts: pd.Series, title: str, published: pd.Series | None = None,
                  xlabel: str = "patients") -> Figure:
    """Return a horizontal bar chart of counts (largest first), with published counts as diamonds."""
    ordered = counts.sort_values(ascending=True)
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.28 * len(ordered) + 1.2))
    positions = np.arange(len(ordered))
    ax.barh(positions, ordered.to_numpy(), color=PRIMARY, label="this data")
    for y, value in zip(positions, ordered.to_numpy()):
        ax.text(value + 0.2, y, f"{value}", va="center", fontsize=8, color=MUTED)
    if published is not None:
        ax.plot(published.reindex(ordered.index).to_numpy(), positions, **PUBLISHED_MARKER)
        ax.legend(loc="lower right")
    ax.set_yticks(positions, ordered.index)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return fig


def count_bars(counts: pd.DataFrame, title: str, xlabel: str, ylabel: str = "patients") -> Figure:
    """Return vertical stacked bars of a count table (index on the x axis, columns stacked)."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.75, 3.6))
    bottom = np.zeros(len(counts))
    for colour, column in zip(PALETTE, counts.columns):
        ax.bar(counts.index.astype(str), counts[column].to_numpy(), bottom=bottom, color=colour, label=column)
        bottom += counts[column].to_numpy()
    for x, total in enumerate(bottom):
        ax.text(x, total + 0.5, f"{int(total)}", ha="center", va="bottom", fontsize=8, color=MUTED)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    if len(counts.columns) > 1:
        ax.legend()
    return fig


def _flow_box(ax: plt.Axes, x: float, y: float, width: float, height: float, text: str,
              emphasis: bool = False, title: str = "") -> None:
    """Draw one rounded box of a flow diagram: centred text, or a bold title over left-aligned lines."""
    face = PRIMARY if emphasis else "white"
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.01,rounding_size=0.015",
                                facecolor=face, edgecolor=PRIMARY, linewidth=1.4))
    colour = "white" if emphasis else "black"
    if not title:
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5, color=colour)
        return
    ax.text(x, y + height / 2 - 0.03, title, ha="center", va="top", fontsize=9, fontweight="bold", color=colour)
    ax.text(x - width / 2 + 0.02, y + height / 2 - 0.09, text, ha="left", va="top", fontsize=8.5,
            color=colour, linespacing=1.35)


def patient_flow(source: str, inclusion: Sequence[str], exclusion: Sequence[str], included: str) -> Figure:
    """Return a flow diagram: source population, inclusion and exclusion criteria, patients included."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 4.4))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")

    def bullets(items: Sequence[str], width: int) -> str:
        return "\n".join(textwrap.fill(f"• {item}", width, subsequent_indent="  ") for item in items)

    _flow_box(ax, 0.5, 0.91, 0.62, 0.13, textwrap.fill(source, 70))
    _flow_box(ax, 0.25, 0.55, 0.46, 0.4, bullets(inclusion, 52), title="Inclusion criteria")
    _flow_box(ax, 0.75, 0.55, 0.46, 0.4, bullets(exclusion, 52), title="Exclusion criteria")
    _flow_box(ax, 0.5, 0.1, 0.42, 0.1, included, emphasis=True)
    arrow = dict(arrowstyle="-|>", color=MUTED, linewidth=1.2)
    ax.annotate("", xy=(0.25, 0.755), xytext=(0.42, 0.845), arrowprops=arrow)
    ax.annotate("", xy=(0.75, 0.755), xytext=(0.58, 0.845), arrowprops=arrow)
    ax.annotate("", xy=(0.45, 0.15), xytext=(0.25, 0.345), arrowprops=arrow)
    ax.annotate("", xy=(0.55, 0.15), xytext=(0.75, 0.345), arrowprops=arrow)
    return fig

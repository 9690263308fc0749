"""The book's figures in one visual language (aice_helpers.pages.plots): text sizes, colours by meaning, nothing
clipped, 'synthetic cohort' titles, alt text, SVG output, downloads, and R's plot(cox.zph) smooth.

The smooth is checked against tests/fixtures/r_zph_plot_reference.json, written by tests/r/zph_plot_reference.R
(plot.cox.zph's own lines on survival::lung).
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from PIL import Image  # noqa: E402

from aice_helpers.book.figure_alt import svg_description  # noqa: E402
from aice_helpers.pages import plots  # noqa: E402
from aice_helpers.stats.zph_smooth import zph_plot_frame, zph_smooth  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
R_TOLERANCE = 1e-6


@pytest.fixture(autouse=True)
def synthetic_book_style():
    """The book's style on its own (synthetic) data for each test, then the previous settings back."""
    with matplotlib.rc_context():
        plots.use_book_style(synthetic=True)
        yield
        plots.use_book_style(synthetic=False)
    plt.close("all")


def lung() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "lung.csv").dropna(subset=["time", "status", "age", "sex", "ph.ecog"])


def lung_curves(order: tuple[str, str] = ("men", "women")) -> dict:
    data = lung()
    months, event = data["time"].to_numpy(float) / 30.4375, (data["status"] == 2).to_numpy(int)
    groups = {"men": data["sex"].to_numpy() == 1, "women": data["sex"].to_numpy() == 2}
    return {name: (months[groups[name]], event[groups[name]]) for name in order}


def forest_rows() -> pd.DataFrame:
    return pd.DataFrame({"label": ["distant metastasis, yes vs no, a long label that must wrap", "NLR > 2.5"],
                         "hr": [1.9, 0.7], "lower": [1.1, 0.45], "upper": [3.3, 1.1], "p": [0.02, 0.12]})


@functools.cache
def sample_figures() -> dict[str, plt.Figure]:
    """A figure of each kind drawn from cohort-like data, in the book's style on synthetic data (drawn once)."""
    plots.use_book_style(synthetic=True)
    rows = forest_rows()
    published = pd.DataFrame({"hr": [2.4], "lower": [1.2], "upper": [4.8]}, index=[rows["label"].iloc[0]])
    data = lung()
    x = data[["age", "sex", "ph.ecog"]].astype(float)
    frame = zph_plot_frame(data["time"], (data["status"] == 2).astype(int), x, [0.011, -0.55, 0.46], "breslow")
    return {
        "km": plots.km_plot(lung_curves(), "Overall survival", landmarks=[12], logrank_p=0.001),
        "grid": plots.km_grid([{"curves": lung_curves(), "title": "by sex", "logrank_p": 0.01}] * 2),
        "forest": plots.forest_plot(rows, "label", "hr", "lower", "upper", "p", title="OS", published=published),
        "schoenfeld": plots.schoenfeld_plot(frame, title="OS: scaled Schoenfeld residuals"),
        "flow": plots.patient_flow("Patients treated with AICE at one centre, 2015 to 2020",
                                   ["aged 18 or more", "measurable disease by RECIST 1.1"],
                                   ["another cancer at the same time", "lost before the first assessment"],
                                   "Included in the analysis: n = 113"),
        "median": plots.median_interval_plot(*lung_curves()["men"], title="Median OS, men"),
        "bars": plots.category_bars(pd.Series({"a": 3, "b": 5}), title="Subtypes"),
    }


def drawn(fig: plt.Figure) -> matplotlib.backend_bases.RendererBase:
    """Draw the figure (on an Agg canvas if pyplot has closed it) and return its renderer."""
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def drawn_texts(fig: plt.Figure) -> list[matplotlib.text.Text]:
    """Every visible, non-empty text the figure draws (tick labels only of axes that are shown)."""
    drawn(fig)
    texts = list(fig.texts) + ([fig._suptitle] if fig._suptitle is not None else [])
    for legend in fig.legends:
        texts += [*legend.get_texts(), legend.get_title()]
    for ax in fig.axes:
        texts += [*ax.texts, ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        if ax.get_legend() is not None:
            texts += [*ax.get_legend().get_texts(), ax.get_legend().get_title()]
        if ax.axison:  # tick labels within the axis' limits (the others are not drawn)
            for axis, labels in ((ax.xaxis, ax.get_xticklabels()), (ax.yaxis, ax.get_yticklabels())):
                low, high = sorted(axis.get_view_interval())
                index = 0 if axis is ax.xaxis else 1
                texts += [t for t in labels if axis.get_visible()
                          and low - 1e-9 <= t.get_position()[index] <= high + 1e-9]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def test_no_text_is_smaller_than_the_floor() -> None:
    """Risk tables, legends, P values and annotations are at least TEXT_FLOOR_PT, like the tick labels."""
    for name, fig in sample_figures().items():
        small = [(t.get_text(), t.get_fontsize()) for t in drawn_texts(fig) if t.get_fontsize() < plots.TEXT_FLOOR_PT]
        assert not small, f"{name}: {small[:5]}"


def test_no_text_is_clipped_by_the_figure_edge() -> None:
    """Every text lies inside the figure (the saved figure's tight box is the figure itself or smaller)."""
    for name, fig in sample_figures().items():
        renderer = drawn(fig)
        box = fig.bbox
        outside = [t.get_text() for t in drawn_texts(fig)
                   if (extent := t.get_window_extent(renderer)).x0 < box.x0 - 1 or extent.x1 > box.x1 + 1
                   or extent.y0 < box.y0 - 1 or extent.y1 > box.y1 + 1]
        assert not outside, f"{name}: {outside}"
        tight = fig.get_tightbbox(renderer)  # inches
        assert tight.x0 >= -0.02 and tight.y0 >= -0.02, name
        assert tight.x1 <= fig.get_figwidth() + 0.02 and tight.y1 <= fig.get_figheight() + 0.02, name


def test_the_worse_group_has_the_same_colour_whatever_the_order() -> None:
    """Men have the shorter survival in lung: WORSE in both figures, the women BETTER, in curves and risk table."""
    for order in (("men", "women"), ("women", "men")):
        fig = plots.km_plot(lung_curves(order), "OS")
        ax, risk_ax = fig.axes[1], fig.axes[2]
        steps = {line.get_label().split(" (")[0]: to_rgb(line.get_color()) for line in ax.get_lines()
                 if line.get_drawstyle() == "steps-post"}
        assert steps == {"men": to_rgb(plots.WORSE), "women": to_rgb(plots.BETTER)}
        labels = {label.get_text(): to_rgb(label.get_color()) for label in risk_ax.get_yticklabels()}
        assert labels == steps


def test_one_curve_is_ours_and_three_groups_have_distinct_colours() -> None:
    one = plots.km_plot({"all": lung_curves()["men"]}, "OS")
    assert [to_rgb(line.get_color()) for line in one.axes[1].get_lines()
            if line.get_drawstyle() == "steps-post"] == [to_rgb(plots.OURS)]
    times = np.arange(1, 41, dtype=float)
    curves = {"middle": (times[:30], np.ones(30, int)), "best": (times, np.ones(40, int)),
              "worst": (times[:20], np.ones(20, int))}
    colours = plots.group_colours([plots.km_curve(t, e, k) for k, (t, e) in curves.items()])
    assert [to_rgb(c) for c in colours] == [to_rgb(plots.MIDDLE_GROUPS[0]), to_rgb(plots.BETTER),
                                            to_rgb(plots.WORSE)]


def test_every_cohort_figure_says_synthetic_cohort_and_only_on_synthetic_data() -> None:
    for name, fig in sample_figures().items():
        assert getattr(fig, plots.COHORT_ATTRIBUTE, False), name
        assert any(plots.SYNTHETIC_SUFFIX in title.lower() for title in plots.figure_titles(fig)), name
    plots.use_book_style(synthetic=False)
    fig = plots.km_plot(lung_curves(), "Overall survival")
    assert not any(plots.SYNTHETIC_SUFFIX in title.lower() for title in plots.figure_titles(fig))
    assert plots.cohort_title("OS (synthetic cohort)") == "OS (synthetic cohort)"


def test_forest_plot_shows_the_published_estimate_and_shares_a_range() -> None:
    rows = forest_rows()
    published = pd.DataFrame({"hr": [2.4], "lower": [1.2], "upper": [4.8]}, index=[rows["label"].iloc[0]])
    fig = plots.forest_plot(rows, "label", "hr", "lower", "upper", "p", published=published)
    ax, right = fig.axes
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert diamonds[0].get_xdata().tolist() == [2.4] and diamonds[0].get_ydata()[0] > 0  # below our first row
    assert [t.get_text().split()[-1] for t in right.get_yticklabels()] == ["(1.20–4.80)", "–"]
    assert right.texts[0].get_text().rstrip().endswith("Paper")
    pfs = rows.assign(lower=[0.2, 0.5], upper=[9.0, 1.2])
    shared = plots.forest_range(rows, pfs, published)
    assert shared == pytest.approx((0.2 / plots.FOREST_MARGIN, 9.0 * plots.FOREST_MARGIN))
    os_fig = plots.forest_plot(rows, "label", "hr", "lower", "upper", xlim=shared)
    pfs_fig = plots.forest_plot(pfs, "label", "hr", "lower", "upper", xlim=shared)
    assert os_fig.axes[0].get_xlim() == pytest.approx(shared)
    assert pfs_fig.axes[0].get_xlim() == pytest.approx(shared)


def test_flow_diagram_exclusions_leave_the_main_flow() -> None:
    """Arrows run down the main column into 'Included'; the one to the exclusions points away from it."""
    fig = sample_figures()["flow"]
    ax = fig.axes[0]
    arrows = [(a.xy, a.xyann) for a in ax.texts if isinstance(a, matplotlib.text.Annotation)]
    main_x = arrows[0][0][0]
    down = [(head, tail) for head, tail in arrows if head[0] == tail[0] == main_x]
    sideways = [(head, tail) for head, tail in arrows if head[1] == tail[1]]
    assert len(down) == 2 and all(head[1] < tail[1] for head, tail in down)
    assert len(sideways) == 1 and sideways[0][0][0] > sideways[0][1][0] == main_x  # from the flow, outwards


def test_plain_band_is_drawn_above_the_others_and_thick_enough() -> None:
    fig = plots.median_interval_plot(*lung_curves()["men"])
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    plain, log = lines["plain band"], lines["log band"]
    assert plain.get_linewidth() > log.get_linewidth() and plain.get_zorder() > log.get_zorder()
    assert plain.get_linestyle() == "-."


def test_swimmer_plot_is_legible_at_ten_thousand_patients() -> None:
    """At most SWIMMER_MAX_PATIENTS rows, each at least 5 points tall, and the title says how they were chosen."""
    rng = np.random.default_rng(3)
    n = 10_000
    os_months = rng.exponential(20, n) + 0.5
    cohort = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)], "os_months": os_months,
                           "os_event": rng.integers(0, 2, n), "pfs_months": os_months / 2,
                           "pfs_event": rng.integers(0, 2, n), "best_response": rng.choice(["PR", "SD", "PD"], n)})
    procedures = pd.DataFrame({"patient_id": cohort["patient_id"], "cycle": 1, "embolization": 0,
                               "session_month": 0.0})
    fig = plots.swimmer_plot(cohort, procedures)
    ax = fig.axes[0]
    assert len(ax.patches) == plots.SWIMMER_MAX_PATIENTS
    row_points = ax.get_window_extent().height / (ax.get_ylim()[1] - ax.get_ylim()[0]) * 72 / fig.dpi
    assert row_points >= 5
    assert f"{plots.SWIMMER_MAX_PATIENTS} of 10,000 patients, evenly spaced by follow-up" in ax.get_title(loc="left")


def test_alt_text_is_a_description_not_a_path() -> None:
    figures = sample_figures()
    assert plots.alt_text(figures["forest"]).startswith("Forest plot: OS. Hazard ratios")
    generic = plots.alt_text(figures["bars"])
    assert generic.startswith("Figure: Subtypes (synthetic cohort).") and "x: patients" in generic
    for name, fig in figures.items():
        text = plots.alt_text(fig)
        assert len(text) > 30 and "/" not in text.split()[0] and not text.endswith((".png", ".svg")), name


def test_svg_has_its_alt_text_no_date_and_text_as_text(tmp_path: Path) -> None:
    fig = sample_figures()["km"]
    plots.svg_bytes(fig)  # the first save settles the layout
    svg = plots.svg_bytes(fig)
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert b"<dc:date>" not in svg
    def no_clip_ids(data: bytes) -> bytes:  # clip-path ids may hash object reprs of a re-attached canvas
        return re.sub(rb"p[0-9a-f]{10}\b", b"p", data)
    assert no_clip_ids(plots.svg_bytes(fig)) == no_clip_ids(svg)  # the same figure gives the same file
    path = tmp_path / "km.svg"
    path.write_bytes(svg)
    assert svg_description(path) == plots.alt_text(fig)
    assert "Number at risk" in svg.decode()  # text kept as text (svg.fonttype none), searchable


def test_save_figure_downloads_writes_pdf_svg_and_300_dpi_png(tmp_path: Path) -> None:
    fig = sample_figures()["forest"]
    downloads = plots.save_figure_downloads(fig, "Figure 4: OS forest", tmp_path / "figures", link_base="figures")
    assert {p.name for p in downloads.paths.values()} == {"Figure_4_OS_forest.pdf", "Figure_4_OS_forest.svg",
                                                          "Figure_4_OS_forest.png"}
    assert downloads.paths["pdf"].read_bytes()[:5] == b"%PDF-"
    ElementTree.parse(downloads.paths["svg"])
    with Image.open(downloads.paths["png"]) as image:
        assert image.info["dpi"] == pytest.approx((plots.DOWNLOAD_DPI, plots.DOWNLOAD_DPI), abs=0.01)
        assert image.width >= plots.FULL_WIDTH * plots.DOWNLOAD_DPI * 0.9
    assert downloads.markdown == ("Download this figure: [PDF](figures/Figure_4_OS_forest.pdf) · "
                                  "[SVG](figures/Figure_4_OS_forest.svg) · [PNG, 300 dpi](figures/Figure_4_OS_forest.png)")
    with pytest.raises(ValueError, match="file name"):
        plots.save_figure_downloads(fig, "///", tmp_path)


# ---------------------------------------------------------------------------------------------- R's plot(cox.zph)


@pytest.mark.parametrize("transform", ["km", "identity"])
def test_zph_smooth_matches_r_plot_cox_zph(transform: str) -> None:
    """Residuals, g(t), var and the spline smooth with its ±2 SE band equal R's to 1e-6 on lung."""
    reference = json.loads((FIXTURES / "r_zph_plot_reference.json").read_text())
    data = lung()
    x = data[["age", "sex", "ph.ecog"]].astype(float)
    frame = zph_plot_frame(data["time"], (data["status"] == 2).astype(int), x, reference["beta"], "breslow",
                           transform)
    r = reference[transform]
    for covariate in x.columns:
        part = frame[frame["covariate"] == covariate]
        np.testing.assert_allclose(part["g"], r["x"], atol=R_TOLERANCE)
        np.testing.assert_allclose(part["residual"], r["y"][covariate], atol=R_TOLERANCE)
        expected = r["smooth"][covariate]
        assert part["variance"].iloc[0] == pytest.approx(expected["var"], abs=R_TOLERANCE)
        smooth = zph_smooth(part["g"], part["residual"], part["variance"].iloc[0])
        np.testing.assert_allclose(smooth["g"], r["grid"], atol=R_TOLERANCE)
        for column in ("fit", "lower", "upper"):
            np.testing.assert_allclose(smooth[column], expected[column], atol=R_TOLERANCE)


def test_schoenfeld_plot_draws_r_smooth_band_and_months_on_the_km_axis() -> None:
    fig = sample_figures()["schoenfeld"]
    ax = fig.axes[0]
    assert len(ax.collections) == 1  # the ±2 SE band
    smooth = [line for line in ax.get_lines() if line.get_linewidth() == 2][0]
    assert len(smooth.get_xdata()) == 40
    assert all(0 <= position <= 1 for position in ax.get_xticks())  # Kaplan–Meier scale
    assert all(float(label.get_text()) > 0 for label in ax.get_xticklabels())  # … labelled in months

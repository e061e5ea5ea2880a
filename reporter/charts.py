"""Charts as inline SVG text, drawn with seaborn inside one contained context.

All plotting happens inside `chart_context()`: it selects the Agg backend and
the house style, and restores matplotlib's settings afterwards. Every chart
draws aggregated figures (one point per generation), so its cost does not
grow with the number of answers. SVG output is deterministic: no dates, text
kept as text, and every id prefixed with the chart's own id (matplotlib
reuses ids such as `axes_1` in every figure, which would clash inline).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .analyze import Analysis, Stat
from .findings import Finding
from .stats import Z_95

# Okabe-Ito colours, safe for the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
EVENT_STYLES = {
    "training_change": ("#D55E00", "-", "training"),
    "system_prompt_change": ("#0072B2", "--", "system prompt"),
    "elicitation_change": ("#009E73", "-.", "elicitation"),
    "metric_exposure": ("#CC79A7", ":", "exposure"),
    "other": ("#555555", ":", "other"),
}
# Releases and deprecations coincide with every transition by nature; they
# are listed in the tables but not drawn, so the drawn lines stay readable.
UNDRAWN_EVENTS = ("release", "deprecation")
HOUSE_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
    "svg.image_inline": True,
}
WIDTH, HEIGHT = 7.0, 3.2


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str  # the text alternative
    svg: str  # for the HTML outputs: inline, vector, text kept as text
    png: bytes  # for the PDF: the PDF engine draws an image an order of magnitude faster than SVG


EXPORTS = ("svg", "png")
PNG_DPI = 150  # sharp enough on paper; and Agg's PNG carries no date


@contextlib.contextmanager
def chart_context() -> Iterator[Any]:
    """Agg backend, house style, colour-blind palette; settings restored on exit."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    with matplotlib.rc_context():
        sns.set_theme(style="whitegrid", palette=list(PALETTE), rc=HOUSE_STYLE)
        try:
            yield plt
        finally:
            plt.close("all")


_ID = re.compile(r'\bid="([^"]+)"')
_GLOBAL_STYLE = re.compile(r'<style type="text/css">\s*\*\s*\{([^}]*)\}\s*</style>')


def _export(plt: Any, figure: Any, chart_id: str, title: str, description: str, exports: tuple[str, ...]) -> Chart:
    import matplotlib

    svg, png = "", b""
    if "svg" in exports:
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.hashsalt": chart_id}):
            # A fixed layout: bbox_inches="tight" would draw every figure twice.
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        svg = _prefixed_svg(buffer.getvalue(), chart_id, description)
    if "png" in exports:
        binary = io.BytesIO()
        figure.savefig(binary, format="png", dpi=PNG_DPI, metadata={"Software": None})
        png = binary.getvalue()
    plt.close(figure)
    return Chart(chart_id, title, description, svg, png)


def _prefixed_svg(text: str, chart_id: str, description: str) -> str:
    text = text[text.index("<svg"):]
    ids = set(_ID.findall(text))
    for old in sorted(ids, key=len, reverse=True):
        new = f"{chart_id}-{old}"
        text = text.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old})", f"#{new})").replace(f'"#{old}"', f'"#{new}"')
    # matplotlib styles every element of the page with `*{stroke-linejoin: ...}`: pasted into a
    # card, that rule would restyle the host's own icons. Its declarations move to the chart's
    # root element, where they are inherited by the chart alone.
    declarations = ";".join(d.strip() for d in _GLOBAL_STYLE.findall(text)).replace(" ", "")
    text = _GLOBAL_STYLE.sub("", text)
    # The figure is an image with a text alternative; its inner text is not read twice.
    from markupsafe import escape

    own_style = f'style="{declarations}" ' if declarations else ""
    return text.replace("<svg ", f'<svg role="img" aria-label="{escape(description)}" {own_style}', 1)


def _margins(figure: Any, left: float, bottom: float, top: float, right: float = 0.2) -> None:
    """Fixed margins in inches: cheaper than a layout engine, which measures every label again."""
    width, height = figure.get_figwidth(), figure.get_figheight()
    figure.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)


def _positions(analysis: Analysis) -> dict[str, int]:
    return {g.name: i for i, g in enumerate(analysis.history.generations)}


def trend_chart(plt: Any, analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str, exports: tuple[str, ...] = EXPORTS) -> Chart:
    """Mean and 95% CI per generation; events between the pairs they coincide with; flagged transitions marked."""
    spec = analysis.metric(metric)
    positions = _positions(analysis)
    stats = [s for s in analysis.stats if s.metric == metric and s.has_data]
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT))
    # Lines join only neighbouring generations: a missing one stays a gap.
    runs: list[list[Stat]] = []
    for stat in stats:
        if runs and positions[stat.generation] == positions[runs[-1][-1].generation] + 1:
            runs[-1].append(stat)
        else:
            runs.append([stat])
    for run in runs:
        if len(run) > 1:
            axes.plot([positions[s.generation] for s in run], [s.mean for s in run], color=PALETTE[0], linewidth=1.2, zorder=2)
    # One errorbar call per style, not per generation: each call builds a whole container.
    styles: dict[tuple[str, str, str], list[Stat]] = {}
    for stat in stats:
        colour = PALETTE[5] if stat.contaminated else PALETTE[0]
        marker = "X" if stat.contaminated else {"observations": "o", "counts": "D"}.get(stat.source, "s")
        face = colour if stat.from_answers else "white"
        styles.setdefault((colour, marker, face), []).append(stat)
    for (colour, marker, face), group in sorted(styles.items()):
        means = [s.mean for s in group]
        axes.errorbar(
            [positions[s.generation] for s in group], means,
            yerr=[[s.mean - s.ci_low for s in group], [s.ci_high - s.mean for s in group]],  # type: ignore[operator]
            fmt=marker, color=colour, markerfacecolor=face, markersize=6, capsize=3, linewidth=1, zorder=3,
            linestyle="none",
        )
    _mark_transitions(axes, analysis, metric, flags, positions)
    names = [g.name for g in analysis.history.generations]
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set_xlim(-0.5, len(names) - 0.5)
    axes.set_ylim(spec.scale_min, spec.scale_max + 0.08 * spec.range)
    axes.set_ylabel(f"mean ({spec.scale_min}-{spec.scale_max})")
    axes.set_title(f"{metric}: mean and 95% CI per generation")
    _margins(figure, left=0.7, bottom=1.0, top=0.35)
    description = (
        f"Line chart of the mean {metric} score per generation with 95% confidence intervals, generations in "
        f"release order. Filled circles are answers, filled diamonds answers given as counts, hollow squares "
        f"published summaries, crosses contaminated "
        f"values; vertical lines mark coinciding events; rule ids mark flagged transitions. The table below holds "
        f"the same figures."
    )
    return _export(plt, figure, chart_id, f"{metric}: trend", description, exports)


def _mark_transitions(axes: Any, analysis: Analysis, metric: str, flags: Sequence[Finding], positions: dict[str, int]) -> None:
    """Coinciding events as labelled lines between their pair, and the ids of flags raised there above it."""
    spec = analysis.metric(metric)
    between = [c for c in analysis.comparisons if c.metric == metric and c.split is None]
    top = spec.scale_max
    drawn: set[tuple[str, str]] = set()
    for c in between:
        middle = (positions[c.from_] + positions[c.to]) / 2
        for event in c.events:
            if event.kind in UNDRAWN_EVENTS or (event.date, event.description) in drawn:
                continue
            drawn.add((event.date, event.description))
            colour, style, label = EVENT_STYLES.get(event.kind, EVENT_STYLES["other"])
            axes.axvline(middle, color=colour, linestyle=style, linewidth=1, zorder=1)
            axes.text(middle, spec.scale_min + 0.05 * spec.range, f" {label}", rotation=90, color=colour, fontsize=7,
                      va="bottom", ha="right")
        rules = sorted({f.rule for f in flags if f.metric == metric and f.generations == (c.from_, c.to) and f.severity == "flag"})
        if rules:
            axes.annotate("\n".join(rules), (middle, top), textcoords="offset points", xytext=(0, 2), ha="center",
                          va="bottom", fontsize=7, color=PALETTE[5], fontweight="bold", linespacing=1.1)


def distribution_chart(plt: Any, analysis: Analysis, metric: str, chart_id: str, exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """The share of answers at each scale point, one stacked bar per generation."""
    stats = [s for s in analysis.stats if s.metric == metric and s.shares and s.n]
    if not stats:
        return None
    spec = analysis.metric(metric)
    import seaborn as sns
    from matplotlib.patches import Patch

    colours = sns.color_palette("cividis", spec.range + 1)
    figure, axes = plt.subplots(figsize=(WIDTH, 0.35 * len(stats) + 1.2))
    points = list(range(spec.scale_min, spec.scale_max + 1))
    # One collection per generation instead of one bar artist per segment.
    for row, stat in enumerate(stats):
        shares = [stat.shares[str(p)] for p in points]
        starts = [sum(shares[:i]) for i in range(len(shares))]
        axes.broken_barh(list(zip(starts, shares, strict=True)), (row - 0.35, 0.7), facecolors=colours)
    axes.set_yticks(range(len(stats)), [s.generation for s in stats])
    axes.set_ylim(len(stats) - 0.5, -0.5)
    axes.legend(handles=[Patch(color=colours[i], label=str(p)) for i, p in enumerate(points)], title="score",
                loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7, title_fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of answers")
    axes.set_title(f"{metric}: answers at each scale point")
    _margins(figure, left=1.2, bottom=0.5, top=0.35, right=0.8)
    description = f"Stacked bars: the share of {metric} answers at each scale point, one bar per generation with answers."
    return _export(plt, figure, chart_id, f"{metric}: distribution", description, exports)


def rates_chart(plt: Any, analysis: Analysis, metric: str, chart_id: str, exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """Redirect and decline rates per generation."""
    stats = [s for s in analysis.stats if s.metric == metric and s.redirect_rate is not None]
    if not stats:
        return None
    positions = _positions(analysis)
    figure, axes = plt.subplots(figsize=(WIDTH, 2.6))
    for label, values, colour, marker in (
        ("redirected", [(positions[s.generation], s.redirect_rate) for s in stats], PALETTE[1], "o"),
        ("declined", [(positions[s.generation], s.decline_rate) for s in stats if s.decline_rate is not None], PALETTE[2], "s"),
    ):
        if values:
            axes.plot([x for x, _ in values], [y for _, y in values], marker=marker, color=colour, label=label, linewidth=1.2)
    names = [g.name for g in analysis.history.generations]
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set_xlim(-0.5, len(names) - 0.5)
    axes.set_ylim(0, max(0.3, max((s.redirect_rate or 0) for s in stats) * 1.2))
    axes.set_ylabel("share of answers")
    axes.legend(frameon=False, fontsize=7)
    axes.set_title(f"{metric}: redirected and declined answers")
    _margins(figure, left=0.7, bottom=1.0, top=0.35)
    description = f"Line chart of the share of {metric} answers that were redirected or declined, per generation."
    return _export(plt, figure, chart_id, f"{metric}: redirect and decline rates", description, exports)


def corroboration_chart(plt: Any, analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str,
                        exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """Standardised change per transition: the self-report beside each corroborating measure, with 95% intervals."""
    pairs = [p for p in analysis.corroborations if p.metric == metric and p.split is None]
    if not pairs:
        return None
    transitions = list(dict.fromkeys((p.from_, p.to) for p in pairs))
    measures = list(dict.fromkeys(p.measure for p in pairs))
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT))
    width = 0.8 / (len(measures) + 1)
    own = {(p.from_, p.to): p for p in pairs}
    series = [(f"{metric} (self-report)", [(t, own[t].self_report_change, own[t].self_report_se) for t in transitions], "o")]
    for m in measures:
        sense = ", opposite sense" if analysis.metric(m).opposite else ""
        series.append((f"{m} ({analysis.metric(m).measure}{sense})",
                       [((p.from_, p.to), p.measure_change, p.measure_se) for p in pairs if p.measure == m], "s"))
    for index, (label, points, marker) in enumerate(series):
        offset = (index - (len(series) - 1) / 2) * width
        xs = [transitions.index(t) + offset for t, _, _ in points]
        axes.errorbar(xs, [y for _, y, _ in points], yerr=[Z_95 * se for _, _, se in points], fmt=marker,
                      color=PALETTE[index % len(PALETTE)], capsize=3, linewidth=1, markersize=6, label=label)
    axes.axhline(0, color="#555555", linewidth=0.8)
    flagged = {tuple(f.generations) for f in flags if f.rule == "WR013" and f.metric == metric}
    for position, transition in enumerate(transitions):
        if transition in flagged:
            axes.annotate("WR013", (position, 1), xycoords=("data", "axes fraction"), xytext=(0, 2),
                          textcoords="offset points", ha="center", va="bottom", fontsize=7, color=PALETTE[5],
                          fontweight="bold")
    axes.set_xticks(range(len(transitions)), [f"{a} → {b}" for a, b in transitions], rotation=30, ha="right")
    axes.set_xlim(-0.6, len(transitions) - 0.4)
    axes.set_ylabel("change (pooled sd)")
    axes.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.set_title(f"{metric}: self-report and independent evidence, standardised change", pad=14)
    _margins(figure, left=0.7, bottom=1.2, top=0.45, right=2.0)
    description = (
        f"Standardised change at each transition (delta over the pooled sd, with 95% intervals): the {metric} "
        f"self-report beside {', '.join(measures)}. Where the self-report moves and the measure does not, the rule "
        "WR013 is marked. The table below holds the same figures."
    )
    return _export(plt, figure, chart_id, f"{metric}: independent evidence", description, exports)


def concern_chart(
    plt: Any, generations: list[str], tags: list[str], shares: dict[tuple[str, str], float], chart_id: str,
    exports: tuple[str, ...] = EXPORTS,
) -> Chart | None:
    """Concern tags by generation: the share of answers carrying each tag."""
    if not generations or not tags:
        return None
    import numpy as np

    matrix = np.array([[shares.get((g, t), 0.0) for t in tags] for g in generations])
    figure, axes = plt.subplots(figsize=(WIDTH, 0.35 * len(generations) + 1.4))
    image = axes.imshow(matrix, cmap="cividis", aspect="auto", vmin=0)
    axes.set_xticks(range(len(tags)), [t.replace("_", " ") for t in tags], rotation=20, ha="right")
    axes.set_yticks(range(len(generations)), generations)
    axes.grid(False)
    for (row, column), value in np.ndenumerate(matrix):
        axes.text(column, row, f"{value:.1%}", ha="center", va="center", fontsize=7,
                  color="white" if value < matrix.max() * 0.6 else "black")
    _margins(figure, left=1.2, bottom=0.9, top=0.35, right=1.3)
    colour_axes = figure.add_axes((1 - 1.1 / WIDTH, 0.9 / figure.get_figheight(), 0.15 / WIDTH,
                                   1 - 1.25 / figure.get_figheight()))
    figure.colorbar(image, cax=colour_axes, label="share of answers")
    axes.set_title("Concern tags by generation")
    description = "Heat map of the share of answers carrying each concern tag, one row per generation, all metrics pooled."
    return _export(plt, figure, chart_id, "Concern tags by generation", description, exports)

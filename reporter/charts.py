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
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import schema
from .findings import Finding
from .labels import generation_labels, plain, transition_label
from .results import Analysis, Stat
from .rules import marked_on
from .stats import Z_95
from .thresholds import JUMP_FRACTION

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
ROW = 0.22  # inches per generation or comparison in the charts with one row each
# A title placed explicitly: left to itself matplotlib measures every tick label of the axes
# again to place it, which was a third of the drawing time. Rule ids get room through `pad`.
TITLE_Y = 1.0


@dataclass(frozen=True)
class Chart:
    """One drawn chart: its SVG and PNG, its title, description, figure number and anchor."""

    id: str
    title: str
    description: str  # the text alternative
    svg: str  # for the HTML outputs: inline, vector, text kept as text
    png: bytes  # for the PDF: the PDF engine draws an image an order of magnitude faster than SVG
    label: str = ""  # "Figure 7.3", given when the section numbers its figures
    anchor: str = ""  # the figure's id, named by its metric and kind


EXPORTS = ("svg", "png")
PNG_DPI = 150  # sharp enough on paper; and Agg's PNG carries no date


@contextlib.contextmanager
def chart_context() -> Iterator[None]:
    """Agg backend (seaborn loads pyplot), house style, colour-blind palette; settings restored on exit."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    sns = _seaborn()
    with matplotlib.rc_context():
        sns.set_theme(style="whitegrid", palette=list(PALETTE), rc=HOUSE_STYLE)
        yield


def _seaborn() -> Any:
    """seaborn, imported without scipy.stats where that is not loaded yet.

    seaborn imports scipy.stats (0.8 s, the largest part of rendering an HTML section) only for
    its kernel density estimates, and ships its own for when scipy is absent. The section draws
    no density, so scipy.stats is held back while seaborn loads, and released after.
    """
    import sys

    if "seaborn" in sys.modules or "scipy.stats" in sys.modules:
        import seaborn

        return seaborn
    sys.modules["scipy.stats"] = None  # type: ignore[assignment]  # an import of it fails, as if absent
    try:
        import seaborn
    finally:
        del sys.modules["scipy.stats"]
    return seaborn


_ID = re.compile(r'\bid="([^"]+)"')
_GLOBAL_STYLE = re.compile(r'<style type="text/css">\s*\*\s*\{([^}]*)\}\s*</style>')


def _export(figure: Any, chart_id: str, title: str, description: str, exports: tuple[str, ...]) -> Chart:
    import matplotlib

    with warnings.catch_warnings():
        # A label in a script the chart font lacks is drawn as boxes; the text of the section
        # beside the chart shows it whole, so matplotlib's warning per glyph and figure is noise.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        svg, png = "", b""
        if "svg" in exports:
            buffer = io.StringIO()
            with matplotlib.rc_context({"svg.hashsalt": chart_id}):
                # A fixed layout: bbox_inches="tight" would draw every figure twice.
                figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
            svg = _prefixed_svg(buffer.getvalue(), chart_id, description)
        if "png" in exports:
            png = _png(figure)
    return Chart(chart_id, title, description, svg, png)


def _png(figure: Any) -> bytes:
    """The figure as an opaque RGB PNG. Agg draws RGBA; a PDF writer splits an alpha channel into a
    mask and encodes both again (a second of every large PDF), though the charts are drawn on white."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    figure.set_dpi(PNG_DPI)
    canvas: Any = FigureCanvasAgg(figure)  # matplotlib's canvas methods are untyped
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(physical=True), canvas.buffer_rgba()).convert("RGB")
    binary = io.BytesIO()
    image.save(binary, format="PNG", compress_level=6)
    return binary.getvalue()


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


def _subplots(rows: int = 1, columns: int = 1, **options: Any) -> tuple[Any, Any]:
    """A figure outside pyplot's registry: no figure manager or window machinery to build and tear down."""
    from matplotlib.figure import Figure

    figsize = options.pop("figsize")
    figure = Figure(figsize=figsize)
    axes = figure.subplots(rows, columns, **options)
    return figure, axes


def _margins(figure: Any, left: float, bottom: float, top: float, right: float = 0.2) -> None:
    """Fixed margins in inches: cheaper than a layout engine, which measures every label again."""
    width, height = figure.get_figwidth(), figure.get_figheight()
    figure.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)


def _positions(analysis: Analysis) -> dict[str, int]:
    return {g.name: i for i, g in enumerate(analysis.history.generations)}


def _chart_labels(analysis: Analysis) -> dict[str, str]:
    return {name: plain(label) for name, label in generation_labels(analysis).items()}


def _label(analysis: Analysis, metric: str) -> str:
    return plain(analysis.metric(metric).label or metric)


def _generation_axis(axes: Any, analysis: Analysis) -> None:
    labels = _chart_labels(analysis)
    names = [g.name for g in analysis.history.generations]
    axes.set_xticks(range(len(names)), [labels[n] for n in names], rotation=30, ha="right")
    axes.set_xlim(-0.5, len(names) - 0.5)


# Which rules speak to which chart: a flag is marked on the chart that shows what it measured.
MEAN_RULES = marked_on("trend")
REDIRECT_RULES, CONCERN_RULES = marked_on("redirects"), marked_on("concern_tags")  # the rates chart's two panels
SHAPE_RULES = marked_on("distribution")
OPEN_COLOUR, ACKNOWLEDGED_COLOUR = PALETTE[5], "#6b6b6b"


def _rule_marks(flags: Sequence[Finding], metric: str, rules: Sequence[str],
                notes: bool = False) -> dict[tuple[str, ...], list[Finding]]:
    """Flags of these rules for this metric (notes too, when asked), by the generations they name."""
    marks: dict[tuple[str, ...], list[Finding]] = {}
    for f in flags:
        if f.rule in rules and f.metric == metric and (f.severity == "flag" or notes):
            marks.setdefault(tuple(f.generations), []).append(f)
    return marks


RULE_FONT = 6.5  # points
RULE_ROW = 9  # points from one row of rule ids to the next
# Plot widths in inches: the figure less its fixed margins (_margins), for placing rule ids.
PLOT_WIDTH = WIDTH - 0.7 - 0.2
PANEL_WIDTH = (WIDTH - 1.0 - 0.2) / 2.3


def _mark_rules(axes: Any, marks: dict[tuple[str, ...], list[Finding]], positions: dict[str, int],
                width: float = PLOT_WIDTH) -> int:
    """Rule ids above the plot, open flags bold and coloured, acknowledged ones grey and apart in brackets.

    Each label takes the lowest row where it clears the labels already placed there (its width
    estimated from the font size and the plot's `width` in inches), so ids never overlap each
    other; the caller leaves room for the rows under the title. Returns the rows used.
    """
    per_generation = width / max(1, len(positions))  # inches
    character = RULE_FONT * 0.62 / 72 / per_generation  # an average character, in generations
    row_ends: list[float] = []
    placed = sorted(((sum(positions[g] for g in key) / len(key), found) for key, found in marks.items()
                     if all(g in positions for g in key)), key=lambda item: item[0])
    for x, found in placed:
        open_ids = sorted({f.rule for f in found if not f.acknowledged})
        acknowledged = sorted({f.rule for f in found if f.acknowledged} - set(open_ids))
        labels = ([(" ".join(open_ids), True)] if open_ids else []) + (
            [("(" + " ".join(acknowledged) + ")", False)] if acknowledged else [])
        for text, is_open in labels:
            half = len(text) * character / 2 + 0.05
            row = next((r for r, end in enumerate(row_ends) if end < x - half), len(row_ends))
            if row == len(row_ends):
                row_ends.append(x + half)
            row_ends[row] = x + half
            style = ({"color": OPEN_COLOUR, "fontweight": "bold"} if is_open
                     else {"color": ACKNOWLEDGED_COLOUR, "fontstyle": "italic"})
            axes.annotate(text, (x, 1), xycoords=("data", "axes fraction"), textcoords="offset points",
                          xytext=(0, 2 + RULE_ROW * row), ha="center", va="bottom", fontsize=RULE_FONT, **style)
    return len(row_ends)


def _title_pad(rows: int) -> float:
    return 4 + RULE_ROW * rows


def _wrapped(text: str, width: int) -> str:
    """A long axis label on several lines, so it never runs off the figure."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) or text


def trend_chart(analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str, exports: tuple[str, ...] = EXPORTS) -> Chart:
    """Mean and 95% CI per generation; events between the pairs they coincide with; flagged transitions marked."""
    spec = analysis.metric(metric)
    positions = _positions(analysis)
    stats = [s for s in analysis.stats if s.metric == metric and s.has_data]
    figure, axes = _subplots(figsize=(WIDTH, HEIGHT))
    for run in _runs(stats, positions):
        axes.plot([positions[s.generation] for s in run], [s.mean for s in run], color=PALETTE[0], linewidth=1.2, zorder=2)
    # The mean without redirected answers, where redirects moved it: a redirect that lifts the
    # mean is the deflection the rules look for.
    without = [s for s in stats if s.mean_without_redirected is not None and s.redirected]
    for run in _runs(without, positions):
        axes.plot([positions[s.generation] for s in run], [s.mean_without_redirected for s in run], color=PALETTE[1],
                  linewidth=1, linestyle="--", marker=".", markersize=4, zorder=2, label="mean without redirected answers")
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
            # No interval (every answer the same): the point alone, never a bar of zero width.
            yerr=[[s.mean - (s.ci_low if s.ci_low is not None else s.mean) for s in group],  # type: ignore[operator]
                  [(s.ci_high if s.ci_high is not None else s.mean) - s.mean for s in group]],  # type: ignore[operator]
            fmt=marker, color=colour, markerfacecolor=face, markersize=6, capsize=3, linewidth=1, zorder=3,
            linestyle="none",
        )
    _draw_splits(axes, analysis, metric, positions)
    _mark_events(axes, analysis, metric, positions)
    rows = _mark_rules(axes, _rule_marks(flags, metric, MEAN_RULES), positions)
    _generation_axis(axes, analysis)
    axes.set_ylim(spec.scale_min, spec.scale_max)
    axes.set_ylabel(f"mean ({spec.scale_min}-{spec.scale_max})")
    if without:
        axes.legend(frameon=False, fontsize=7, loc="lower right")
    label = _label(analysis, metric)
    axes.set_title(f"{label}: mean and 95% CI per generation", pad=_title_pad(rows), y=TITLE_Y)
    _margins(figure, left=0.7, bottom=1.1, top=0.35 + _title_pad(rows) / 72)
    description = (
        f"Line chart of the mean {label} score per generation with 95% confidence intervals, generations in "
        f"release order. Filled circles are answers, filled diamonds answers given as counts, hollow squares "
        f"published summaries, crosses contaminated values; a generation split by a system-prompt change is "
        f"also drawn as its before and after points beside it; the dashed line is the mean without redirected "
        f"answers; vertical lines mark coinciding events; rule ids above the plot mark open flags, and ids in "
        f"brackets flags a person acknowledged. The table below holds the same figures."
    )
    return _export(figure, chart_id, f"{label}: trend", description, exports)


def _runs(stats: list[Stat], positions: dict[str, int]) -> list[list[Stat]]:
    """Neighbouring generations joined: a missing one stays a gap."""
    runs: list[list[Stat]] = []
    for stat in stats:
        if runs and positions[stat.generation] == positions[runs[-1][-1].generation] + 1:
            runs[-1].append(stat)
        else:
            runs.append([stat])
    return [run for run in runs if len(run) > 1]


def _draw_splits(axes: Any, analysis: Analysis, metric: str, positions: dict[str, int]) -> None:
    """A generation split by a system-prompt change: its before and after means, small and hollow, beside it."""
    for c in analysis.comparisons:
        if c.metric != metric or c.split is None or c.before.mean is None or c.after.mean is None:
            continue
        x = positions[c.to]
        xs, sides = [x - 0.22, x + 0.22], [c.before, c.after]
        axes.errorbar(xs, [s.mean for s in sides],
                      yerr=[[s.mean - (s.ci_low if s.ci_low is not None else s.mean) for s in sides],  # type: ignore[operator]
                            [(s.ci_high if s.ci_high is not None else s.mean) - s.mean for s in sides]],  # type: ignore[operator]
                      fmt="o", color=PALETTE[3], markerfacecolor="white", markersize=4, capsize=2, linewidth=0.8,
                      zorder=3, linestyle="-")


def _mark_events(axes: Any, analysis: Analysis, metric: str, positions: dict[str, int]) -> None:
    """Coinciding events as labelled lines between the pair they fall between."""
    spec = analysis.metric(metric)
    drawn: set[tuple[str, str]] = set()
    for c in analysis.comparisons:
        if c.metric != metric or c.split is not None:
            continue
        middle = (positions[c.from_] + positions[c.to]) / 2
        for event in c.events:
            if event.kind in UNDRAWN_EVENTS or (event.date, event.description) in drawn:
                continue
            drawn.add((event.date, event.description))
            colour, style, label = EVENT_STYLES.get(event.kind, EVENT_STYLES["other"])
            axes.axvline(middle, color=colour, linestyle=style, linewidth=1, zorder=1)
            axes.text(middle, spec.scale_min + 0.05 * spec.range, f" {label}", rotation=90, color=colour, fontsize=7,
                      va="bottom", ha="right")


VERDICT_COLOURS = {"changed": PALETTE[5], "stable": PALETTE[2], "inconclusive": "#7a7a7a"}


def change_chart(analysis: Analysis, metric: str, chart_id: str, exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """Each comparison's delta and 95% interval against the band of +-5% of the scale range, coloured by verdict."""
    comparisons = [c for c in analysis.comparisons if c.metric == metric and c.delta is not None
                   and c.ci_low is not None and c.ci_high is not None]
    if not comparisons:
        return None
    from matplotlib.ticker import MaxNLocator

    spec = analysis.metric(metric)
    _chart_labels(analysis)
    band = JUMP_FRACTION * spec.range
    raw = generation_labels(analysis)
    names = [_wrapped(plain(transition_label(c, raw)), 48) for c in comparisons]
    lines = sum(name.count("\n") + 1 for name in names)
    # A row is a line of 9-point text and its gap: twenty generations' comparisons take half a page.
    figure, axes = _subplots(figsize=(WIDTH, ROW * max(len(comparisons), lines * 0.75) + 1.5))
    axes.axvspan(-band, band, color="#dcdcdc", zorder=0, linewidth=0)
    axes.axvline(0, color="#555555", linewidth=0.8, zorder=1)
    for verdict, colour in VERDICT_COLOURS.items():
        rows = [(i, c) for i, c in enumerate(comparisons) if c.verdict == verdict]
        if not rows:
            continue
        axes.errorbar([c.delta for _, c in rows], [i for i, _ in rows],
                      xerr=[[c.delta - c.ci_low for _, c in rows], [c.ci_high - c.delta for _, c in rows]],  # type: ignore[operator]
                      fmt="o", color=colour, markersize=5, capsize=3, linewidth=1.2, zorder=3, label=verdict)
    axes.set_yticks(range(len(comparisons)), names)
    axes.set_ylim(len(comparisons) - 0.5, -0.5)
    axes.grid(axis="y", visible=False)
    widest = max(max(abs(c.ci_low), abs(c.ci_high)) for c in comparisons)  # type: ignore[arg-type]
    axes.set_xlim(-max(widest, 2 * band) * 1.1, max(widest, 2 * band) * 1.1)
    # Few, symmetric ticks: on a 0-1 probe the default eight ticks of three decimals run into each other.
    axes.xaxis.set_major_locator(MaxNLocator(nbins=6, symmetric=True, steps=[1, 2, 2.5, 5, 10]))
    axes.set_xlabel(f"change in the mean (points)\ngrey band: +-{band:.2g}, 5% of the scale range")
    label = _label(analysis, metric)
    title = _wrapped(f"{label}: change at each comparison", 64)
    left, right = 3.1, 0.25
    # Centred on the figure, not over the plot: the labels take the left of it.
    axes.set_title(title, y=TITLE_Y, x=(WIDTH / 2 - left) / (WIDTH - left - right))
    _margins(figure, left=left, bottom=0.95, top=0.35 + 0.2 * title.count("\n"), right=right)
    # Under the axis label (0.62 in below the axis), so the labels and the plot share the whole width.
    axes.legend(frameon=False, fontsize=7, loc="upper center", ncol=len(VERDICT_COLOURS),
                bbox_to_anchor=(0.5, -0.62 / (axes.get_position().height * figure.get_figheight())))
    description = (
        f"Dot plot of the change in the mean {label} score at each comparison, with 95% intervals, against a "
        f"shaded band of plus or minus {band:.2g} points (5% of the scale range). Colour gives the verdict: "
        f"changed, stable or inconclusive. The comparisons table below holds the same figures."
    )
    return _export(figure, chart_id, f"{label}: change", description, exports)


def distribution_chart(analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str,
                       exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """The share of answers at each scale point, one stacked bar per generation; shape rules beside the bar."""
    stats = [s for s in analysis.stats if s.metric == metric and s.shares and s.n]
    if not stats:
        return None
    spec = analysis.metric(metric)
    labels = _chart_labels(analysis)
    import seaborn as sns
    from matplotlib.patches import Patch

    marks: dict[str, list[str]] = {}
    for key, found in _rule_marks(flags, metric, SHAPE_RULES).items():
        marks.setdefault(key[-1], []).extend(f.rule if not f.acknowledged else f"({f.rule})" for f in found)
    colours = sns.color_palette("cividis", spec.range + 1)
    figure, axes = _subplots(figsize=(WIDTH, ROW * len(stats) + 1.2))
    points = list(range(spec.scale_min, spec.scale_max + 1))
    # One collection per generation instead of one bar artist per segment.
    for row, stat in enumerate(stats):
        shares = [stat.shares[str(p)] for p in points]
        starts = [sum(shares[:i]) for i in range(len(shares))]
        axes.broken_barh(list(zip(starts, shares, strict=True)), (row - 0.35, 0.7), facecolors=colours)
    axes.set_yticks(range(len(stats)), [labels[s.generation] + (" " + " ".join(sorted(set(marks[s.generation])))
                                                                 if s.generation in marks else "") for s in stats])
    axes.set_ylim(len(stats) - 0.5, -0.5)
    axes.legend(handles=[Patch(color=colours[i], label=str(p)) for i, p in enumerate(points)], title="score",
                loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7, title_fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of answers")
    label = _label(analysis, metric)
    axes.set_title(f"{label}: answers at each scale point", y=TITLE_Y)
    _margins(figure, left=2.2, bottom=0.5, top=0.35, right=0.8)
    description = (f"Stacked bars: the share of {label} answers at each scale point, one bar per generation with "
                   "answers; rule ids beside a generation mark a flagged change of shape.")
    return _export(figure, chart_id, f"{label}: distribution", description, exports)


def rates_chart(analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str,
                exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """Redirect and decline rates, and the share of this metric's answers with each concern tag, per generation."""
    stats = [s for s in analysis.stats if s.metric == metric and s.redirect_rate is not None]
    if not stats or not analysis.metric(metric).self_report:
        return None  # probes and behaviour are not asked, so nothing is redirected, declined or tagged
    positions = _positions(analysis)
    figure, (rates, concerns) = _subplots(1, 2, figsize=(WIDTH, 3.0), sharex=True)
    for label, values, colour, marker in (
        ("redirected", [(positions[s.generation], s.redirect_rate) for s in stats], PALETTE[1], "o"),
        ("declined", [(positions[s.generation], s.decline_rate) for s in stats if s.decline_rate is not None], PALETTE[2], "s"),
    ):
        if values:
            rates.plot([x for x, _ in values], [y for _, y in values], marker=marker, color=colour, label=label,
                       linewidth=1.2, markersize=4)
    shares = analysis.concern_shares
    tags = [t for t in schema.CONCERN_TAGS if any(shares.get((s.generation, metric, t), 0.0) for s in stats)]
    for index, tag in enumerate(tags):
        points = [(positions[s.generation], shares.get((s.generation, metric, tag), 0.0)) for s in stats
                  if (s.generation, metric, tag) in shares]
        concerns.plot([x for x, _ in points], [y for _, y in points], marker="o", markersize=3, linewidth=1,
                      color=PALETTE[(index + 3) % len(PALETTE)], label=tag.replace("_", " "))
    rows = max(_mark_rules(rates, _rule_marks(flags, metric, REDIRECT_RULES), positions, PANEL_WIDTH),
               _mark_rules(concerns, _rule_marks(flags, metric, CONCERN_RULES), positions, PANEL_WIDTH))
    top = max([0.3] + [(s.redirect_rate or 0) * 1.2 for s in stats])
    rates.set_ylim(0, top)
    concerns.set_ylim(0, max([0.1] + [v * 1.2 for (g, m, _t), v in shares.items() if m == metric]))
    for axes, title in ((rates, "redirected and declined"), (concerns, "concern tags")):
        _generation_axis(axes, analysis)
        axes.set_title(title, pad=_title_pad(rows), fontsize=9, y=TITLE_Y)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(frameon=False, fontsize=6.5, loc="upper left")
    rates.set_ylabel("share of answers")
    label = _label(analysis, metric)
    figure.suptitle(f"{label}: redirected, declined and concern-tagged answers", fontsize=10,
                    y=1 - 0.08 / figure.get_figheight())
    # Room on the left for the first rotated generation label.
    _margins(figure, left=1.0, bottom=1.1, top=0.55 + _title_pad(rows) / 72)
    figure.subplots_adjust(wspace=0.3)
    description = (
        f"Two line charts per generation: the share of {label} answers that were redirected or declined, and the "
        f"share of {label} answers carrying each concern tag (tags never used for this metric are left out). "
        f"Rule ids mark flagged rises (WR005 for redirects, WR010 for concern tags). The table below holds the "
        f"same figures."
    )
    return _export(figure, chart_id, f"{label}: redirects and concern tags", description, exports)


def robustness_chart(analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str,
                     exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """Per generation: the leading-question gap with its 95% interval, and the prompt-variant spread."""
    leads = {v.generation: v.lead for v in analysis.variations if v.metric == metric and v.lead is not None}
    spreads = {v.generation: v.spread for v in analysis.variations
               if v.metric == metric and v.by == "prompt_variant" and v.spread is not None}
    if not leads and not spreads:
        return None
    positions = _positions(analysis)
    figure, axes = _subplots(figsize=(WIDTH, 2.8))
    if leads:
        names = sorted(leads, key=positions.__getitem__)
        axes.errorbar([positions[g] - 0.1 for g in names], [leads[g].size for g in names],
                      yerr=[[leads[g].size - (leads[g].ci_low or leads[g].size) for g in names],
                            [(leads[g].ci_high or leads[g].size) - leads[g].size for g in names]],
                      fmt="o", color=PALETTE[0], capsize=3, linewidth=1, markersize=5, linestyle="none",
                      label="leading-question gap (positive - negative lead)")
    if spreads:
        names = sorted(spreads, key=positions.__getitem__)
        axes.plot([positions[g] + 0.1 for g in names], [spreads[g].size for g in names], "s",
                  color=PALETTE[1], markersize=5, label="prompt-variant spread (max - min mean)")
    axes.axhline(0, color="#555555", linewidth=0.8)
    # WR007 is a note: it is marked too, as the chart's own subject.
    rows = _mark_rules(axes, _rule_marks(flags, metric, marked_on("robustness"), notes=True), positions)
    _generation_axis(axes, analysis)
    axes.set_ylabel("points")
    axes.legend(frameon=False, fontsize=7, loc="upper left")
    label = _label(analysis, metric)
    axes.set_title(f"{label}: how far the wording moves the answers", pad=_title_pad(rows), y=TITLE_Y)
    _margins(figure, left=0.7, bottom=1.1, top=0.35 + _title_pad(rows) / 72)
    description = (
        f"Per generation, the gap between {label} answers to positively and negatively leading questions with its "
        f"95% interval, and the spread between the means of the prompt variants. Rule ids mark WR012 (leading "
        f"questions) and WR007 (prompt variants). The table below holds the same figures."
    )
    return _export(figure, chart_id, f"{label}: robustness", description, exports)


def corroboration_chart(analysis: Analysis, metric: str, flags: Sequence[Finding], chart_id: str,
                        exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """Standardised change per transition: the self-report beside each corroborating measure, with 95% intervals."""
    pairs = [p for p in analysis.corroborations if p.metric == metric and p.split is None]
    if not pairs:
        return None
    transitions = list(dict.fromkeys((p.from_, p.to) for p in pairs))
    measures = list(dict.fromkeys(p.measure for p in pairs))
    figure, axes = _subplots(figsize=(WIDTH, HEIGHT + 0.16 * (len(measures) + 1)))
    width = 0.8 / (len(measures) + 1)
    own = {(p.from_, p.to): p for p in pairs}
    name = _label(analysis, metric)
    series = [(f"{name} (self-report)", [(t, own[t].self_report_change, own[t].self_report_se) for t in transitions], "o")]
    for m in measures:
        sense = ", opposite sense" if analysis.metric(m).opposite else ""
        series.append((f"{_label(analysis, m)} ({analysis.metric(m).measure}{sense})",
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
    labels = _chart_labels(analysis)
    axes.set_xticks(range(len(transitions)), [_wrapped(f"{labels[a]} → {labels[b]}", 22) for a, b in transitions])
    axes.set_xlim(-0.6, len(transitions) - 0.4)
    axes.set_ylabel("change (pooled sd)")
    # Below the plot, one entry per line: measure labels are long and would push the plot aside.
    axes.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.32), ncol=1)
    axes.set_title(_wrapped(f"{name}: self-report and independent evidence, standardised change", 90), pad=14, y=TITLE_Y)
    _margins(figure, left=0.7, bottom=0.75 + 0.16 * len(series), top=0.45)
    description = (
        f"Standardised change at each transition (delta over the pooled sd, with 95% intervals): the {name} "
        f"self-report beside {', '.join(_label(analysis, m) for m in measures)}. Where the self-report moves and the measure does not, the rule "
        "WR013 is marked. The table below holds the same figures."
    )
    return _export(figure, chart_id, f"{name}: independent evidence", description, exports)


# -- drawing every chart of a section, on both cores where it pays --------------------------------

# Each kind of per-metric chart, in the order the section shows them.
TEXT_RULES = marked_on("texts")


def texts_chart(analysis: Analysis, _metric: str, flags: Sequence[Finding], chart_id: str,
                exports: tuple[str, ...] = EXPORTS) -> Chart | None:
    """What the answers say across generations: the share opening with the most common five words,
    and each phrase source's echo share; WR016 and WR017 marked above the generations they name."""
    texts = analysis.texts
    if not texts:
        return None
    positions = _positions(analysis)
    # Shorter than a trend chart: with its table of one row per generation it fits one printed page.
    figure, axes = _subplots(figsize=(WIDTH, 2.8))
    xs = [positions[t.generation] for t in texts]
    axes.plot(xs, [t.opener_share for t in texts], marker="o", color=PALETTE[0], linewidth=1.4, markersize=5,
              label="most common opening")
    for index, source in enumerate(sorted({s for t in texts for s in t.echo})):
        axes.plot(xs, [t.echo_share(source) for t in texts], marker="s", markersize=4, linewidth=1.1,
                  color=PALETTE[(index + 1) % len(PALETTE)], label=f"echoes {source}")
    marks: dict[tuple[str, ...], list[Finding]] = {}
    for f in flags:
        if f.rule in TEXT_RULES and f.severity == "flag":
            marks.setdefault(tuple(f.generations), []).append(f)
    rows = _mark_rules(axes, marks, positions)
    _generation_axis(axes, analysis)
    axes.set_ylim(0, 1)
    axes.set_ylabel("share of answers with text")
    axes.legend(frameon=False, fontsize=7, loc="upper left")
    axes.set_title("What the answers say: openings and echoes", pad=_title_pad(rows), y=TITLE_Y)
    _margins(figure, left=0.7, bottom=1.1, top=0.4 + _title_pad(rows) / 72)
    description = (
        "Line chart per generation of the share of its answers with text that open with its most common five "
        "words, and the share that quote each source of the developer's phrases. Rule ids mark scripted answers "
        "(WR016) and the developer's words echoed as scores rose (WR017). The table below holds the same figures."
    )
    return _export(figure, chart_id, "What the answers say", description, exports)


DRAWERS: dict[str, Any] = {
    "trend": trend_chart,
    "change": lambda analysis, metric, _flags, chart_id, exports: change_chart(analysis, metric, chart_id, exports),
    "distribution": distribution_chart,
    "rates": rates_chart,
    "robustness": robustness_chart,
    "evidence": corroboration_chart,
    "texts": texts_chart,
}


def draw_jobs(analysis: Analysis, flags: Sequence[Finding], exports: tuple[str, ...],
              jobs: list[tuple[str, str, str]]) -> list[Chart | None]:
    """Each (metric, kind, chart id) job drawn in this process, in order."""
    with chart_context():
        return [DRAWERS[kind](analysis, metric, flags, chart_id, exports) for metric, kind, chart_id in jobs]

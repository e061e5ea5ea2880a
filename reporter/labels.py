"""What a reader sees for each id: display labels of generations and metrics, and names of transitions.

Ids stay in evidence and JSON; every text writer and chart takes its labels
from here, so a label reads the same in the HTML, the PDF, the Markdown and
the charts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import Analysis, Comparison


def generation_labels(analysis: Analysis) -> dict[str, str]:
    """What a reader sees for each generation: its label, or its id where it has none."""
    return {g.name: g.label or g.name for g in analysis.history.generations}


def metric_labels(analysis: Analysis) -> dict[str, str]:
    """What a reader sees for each metric: its label, or its id where it has none."""
    return {name: m.label or name for name, m in analysis.history.metrics.items()}


def plain(text: str) -> str:
    """Untrusted text as a chart draws it: a `$` would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def transition_label(comparison: Comparison, labels: dict[str, str]) -> str:
    """'A → B' between generations, or 'B: before → after' across a split inside one."""
    if comparison.split is not None:
        return f"{labels[comparison.to]}: {comparison.split.label()}"
    return f"{labels[comparison.from_]} → {labels[comparison.to]}"

"""`plan`: how many answers per generation the rules need, from each metric's observed spread.

The same calculation as the verdicts, inverted. A 'changed' verdict needs the
estimate to reach the jump size and a Holm-adjusted p < 0.05; when one metric
of m moves, its p is the smallest and meets 0.05 / m. So recall at a true
change X with standard error se = sd * sqrt(2 / n) is
P(estimate >= max(jump size, t * se)). A 'stable' verdict when nothing changed
needs the 90% interval inside +-jump size: P(|estimate| < jump size - t90 * se).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from scipy.special import ndtr

from .errors import ReporterError
from .results import Analysis
from .stats import t_quantile
from .thresholds import JUMP_FRACTION, MIN_N, P_LIMIT, at_most

# The chance of seeing a change (or of a 'stable' verdict when nothing changed) that the plan aims for.
TARGET = 0.80
LARGEST_N = 10_000_000


@dataclass(frozen=True)
class SampleSize:
    """Answers per generation one metric needs, for recall and for a 'stable' verdict."""

    metric: str
    sd: float
    sd_given: bool
    metrics_tested: int
    jump_size: float
    change: float
    answers_to_see_it: int
    answers_for_stable: int


def recall(n: int, sd: float, change: float, jump_size: float, metrics_tested: int) -> float:
    """The chance that a true change gets a 'changed' verdict with n answers on each side."""
    se = sd * math.sqrt(2 / n)
    critical = t_quantile(2 * n - 2, 1 - P_LIMIT / metrics_tested)
    return float(ndtr((abs(change) - max(jump_size, critical * se)) / se))


def stable_chance(n: int, sd: float, jump_size: float) -> float:
    """The chance of a 'stable' verdict when nothing changed, with n answers on each side."""
    se = sd * math.sqrt(2 / n)
    margin = jump_size / se - t_quantile(2 * n - 2, 0.90)
    return max(0.0, float(2 * ndtr(margin) - 1))


def _smallest_n(chance: Callable[[int], float]) -> int:
    """The least n >= MIN_N whose chance reaches TARGET (chances grow with n)."""
    low, high = MIN_N, MIN_N
    while chance(high) < TARGET:
        if high >= LARGEST_N:
            return LARGEST_N
        low, high = high, min(high * 2, LARGEST_N)
    while low < high:
        middle = (low + high) // 2
        if chance(middle) >= TARGET:
            high = middle
        else:
            low = middle + 1
    return high


def observed_sd(analysis: Analysis, metric: str) -> float | None:
    """The metric's spread pooled over generations with answers (never an assumed sd)."""
    cells = [s for s in analysis.stats if s.metric == metric and s.sd is not None and not s.sd_assumed and s.n > 1]
    if not cells:
        return None
    return math.sqrt(sum((s.n - 1) * s.sd**2 for s in cells if s.sd is not None) / sum(s.n - 1 for s in cells))


def sample_sizes(analysis: Analysis, metric: str | None = None, change: float | None = None, sd: float | None = None) -> list[SampleSize]:
    """The sample sizes of every metric (or one), from observed spreads or `sd`."""
    names = [metric] if metric is not None else list(analysis.history.metrics)
    plans = []
    for name in names:
        # Self-reports are one Holm family at a transition, probe and behaviour measures another.
        tested = sum(m.self_report == analysis.metric(name).self_report for m in analysis.history.metrics.values())
        scale_range = analysis.metric(name).range
        jump_size = JUMP_FRACTION * scale_range
        planned = change if change is not None else 2 * jump_size
        if at_most(abs(planned), jump_size):
            raise ReporterError(
                f"{name}: a change of {planned:g} points is at or below the jump size ({jump_size:g}); a 'changed' "
                "verdict needs the estimate itself to reach the jump size, so it could be seen at most half the time")
        spread = sd if sd is not None else observed_sd(analysis, name)
        if spread is None or spread <= 0:
            raise ReporterError(f"{name}: no answers to take a spread from; give one with --sd")
        plans.append(SampleSize(
            name, spread, sd is not None, tested, jump_size, planned,
            _smallest_n(partial(recall, sd=spread, change=planned, jump_size=jump_size, metrics_tested=tested)),
            _smallest_n(partial(stable_chance, sd=spread, jump_size=jump_size)),
        ))
    return plans


def sample_size_text(plans: list[SampleSize]) -> str:
    """`plan`'s table as text."""
    rows = [("metric", "sd", "change", "tested with", "answers to see it", "answers for 'stable'")]
    for p in plans:
        rows.append((p.metric, f"{p.sd:.2f}{' (given)' if p.sd_given else ''}", f"{p.change:g}", str(p.metrics_tested),
                     f"{p.answers_to_see_it:,}", f"{p.answers_for_stable:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    lines += [
        "",
        f"Answers per generation (neutral framing, each side of a comparison) for an {TARGET:.0%} chance of a",
        "'changed' verdict at the change shown, and of a 'stable' verdict when nothing changed. 'Tested with'",
        "counts the metrics in one Holm family at a transition: the self-reports together, the probe and",
        "behaviour measures together. Leading-question answers come on top of these.",
    ]
    return "\n".join(lines)

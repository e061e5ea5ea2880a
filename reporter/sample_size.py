"""`plan`: how many answers per generation the rules need, from each metric's observed spread.

The same calculation as the verdicts, inverted. A 'changed' verdict needs the
estimate to reach the jump size and a Holm-adjusted p < 0.05; when one metric
of m moves, its p is the smallest and meets 0.05 / m. So recall at a true
change X with standard error se = sd * sqrt(2 / n) is
P(estimate >= max(jump size, t * se)). A 'stable' verdict when nothing changed
needs the 90% interval inside +-jump size: P(|estimate| < jump size - t90 * se).

Two facts of real answers enter the plan. A discrete scale that moves changes
its spread too (answers crowd toward the nearer end), so a self-report is
planned with its sd before and after the planned change (the observed shares
tilted to the new mean), combined as Welch's test combines them. Answers of one interview are not
independent, so n is multiplied by the metric's observed design effect of the
mean; that effect is itself an estimate, so such a plan says "at least".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import ndtr

from .errors import ReporterError
from .results import Analysis
from .stats import t_quantile, tilted
from .thresholds import JUMP_FRACTION, MIN_N, P_LIMIT, at_most

# The chance of seeing a change (or of a 'stable' verdict when nothing changed) that the plan aims for.
TARGET = 0.80
LARGEST_N = 10_000_000


@dataclass(frozen=True)
class SampleSize:
    """Answers per generation one metric needs, for recall and for a 'stable' verdict."""

    metric: str
    sd: float  # the spread planned with: the sds before and after the change, combined as Welch's test combines them
    sd_given: bool
    metrics_tested: int
    jump_size: float
    change: float
    answers_to_see_it: int
    answers_for_stable: int
    design_effect: float = 1.0  # of the mean, from recorded interviews; n is multiplied by it
    sd_before: float | None = None  # the observed spread, where the plan tilted it

    @property
    def at_least(self) -> bool:
        """A plan from an estimated design effect cannot promise its chance: it is a lower bound."""
        return self.design_effect > 1.0


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


def design_effect(analysis: Analysis, metric: str) -> float:
    """The metric's design effect of the mean over the generations with answers, weighted by their n."""
    cells = [s for s in analysis.stats if s.metric == metric and s.from_answers and s.n]
    if not cells:
        return 1.0
    return max(1.0, sum(s.n * s.design_effects.get("mean", 1.0) for s in cells) / sum(s.n for s in cells))


def spread_after(analysis: Analysis, metric: str, change: float) -> float | None:
    """The sd of a self-report's pooled answers once their mean has moved by `change` (the shares tilted)."""
    counts = [s.counts for s in analysis.stats if s.metric == metric and s.counts is not None and s.n]
    if not counts or not analysis.metric(metric).self_report:
        return None
    shares = np.sum(counts, axis=0).astype(float)
    shares /= shares.sum()
    points = np.asarray(analysis.metric(metric).points, dtype=float)
    if not points.min() < float(shares @ points) + change < points.max():
        return None
    moved = tilted(shares, points, change)
    return float(np.sqrt(moved @ (points - moved @ points) ** 2))


def without_spread(analysis: Analysis, metric: str | None = None, sd: float | None = None) -> list[str]:
    """The metrics (of all, or the one named) that no plan can be made for: no answers to take a spread from."""
    names = [metric] if metric is not None else list(analysis.history.metrics)
    return [] if sd is not None else [n for n in names if not (observed_sd(analysis, n) or 0) > 0]


def sample_sizes(analysis: Analysis, metric: str | None = None, change: float | None = None, sd: float | None = None) -> list[SampleSize]:
    """The sample sizes of every metric (or one) that has a spread, from observed spreads or `sd`."""
    lacking = without_spread(analysis, metric, sd)
    if metric is not None and lacking:
        raise ReporterError(f"{metric}: no answers to take a spread from; give one with --sd")
    names = [n for n in ([metric] if metric is not None else list(analysis.history.metrics)) if n not in lacking]
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
        observed = sd if sd is not None else observed_sd(analysis, name)
        assert observed is not None
        after = spread_after(analysis, name, planned) if sd is None else None
        spread = math.sqrt((observed**2 + after**2) / 2) if after is not None else observed
        deff = design_effect(analysis, name)
        plans.append(SampleSize(
            name, spread, sd is not None, tested, jump_size, planned,
            _inflated(_smallest_n(partial(recall, sd=spread, change=planned, jump_size=jump_size,
                                          metrics_tested=tested)), deff),
            _inflated(_smallest_n(partial(stable_chance, sd=observed, jump_size=jump_size)), deff),
            deff, observed if f"{spread:.2f}" != f"{observed:.2f}" else None,
        ))
    return plans


def _inflated(n: int, design_effect: float) -> int:
    return min(LARGEST_N, math.ceil(n * design_effect - 1e-9))


def sample_size_text(plans: list[SampleSize]) -> str:
    """`plan`'s table as text."""
    rows = [("metric", "sd", "change", "family", "design effect", "to see it", "to call stable")]
    for p in plans:
        sd = f"{p.sd:.2f}" + (" (given)" if p.sd_given else f" (from {p.sd_before:.2f})" if p.sd_before else "")
        bound = "at least " if p.at_least else ""
        rows.append((p.metric, sd, f"{p.change:g}", str(p.metrics_tested), f"{p.design_effect:.2f}",
                     f"{bound}{p.answers_to_see_it:,}", f"{bound}{p.answers_for_stable:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    lines += [
        "",
        f"Answers per generation (neutral framing, each side of a comparison) for an {TARGET:.0%} chance of a",
        "'changed' verdict at the change shown, and of a 'stable' verdict when nothing changed. 'Family'",
        "counts the metrics in one Holm family at a transition: the self-reports together, the probe and",
        "behaviour measures together. Leading-question answers come on top of these.",
        "A self-report's sd combines its observed sd ('from') with its sd once the planned change has moved",
        "its answers; answers per interview multiply n by the design effect, an estimate, so those plans",
        "say 'at least'.",
    ]
    return "\n".join(lines)

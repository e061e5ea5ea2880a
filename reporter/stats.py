"""Statistics over counts of scale points: nothing here costs anything per answer.

Answers on a rating scale are fully described by how many fall on each
scale point, so the bootstrap, the Mann-Whitney test and the medians all work
on those counts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
Z_95 = 1.959963984540054  # the two-sided 95% point of the normal distribution


def seed_for(*parts: str) -> int:
    """A seed that depends only on what is resampled, never on row order or other cells."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class CountSummary:
    n: int
    mean: float | None
    sd: float | None
    median: float | None


def summarise(counts: np.ndarray, points: np.ndarray) -> CountSummary:
    n = int(counts.sum())
    if n == 0:
        return CountSummary(0, None, None, None)
    mean = float(counts @ points / n)
    sd = float(math.sqrt(counts @ (points - mean) ** 2 / (n - 1))) if n > 1 else None
    cumulative = np.cumsum(counts)
    # The median of the expanded sample: average of the two middle answers when n is even.
    lower = points[np.searchsorted(cumulative, (n - 1) // 2 + 1)]
    upper = points[np.searchsorted(cumulative, n // 2 + 1)]
    return CountSummary(n, mean, sd, float((lower + upper) / 2))


def bootstrap_means(counts: np.ndarray, points: np.ndarray, seed: int) -> np.ndarray:
    """Means of multinomial resamples of the counts: one vectorised draw, no loop."""
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=BOOTSTRAP_RESAMPLES)
    return np.asarray(draws @ points / n, dtype=float)


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def mann_whitney_p(counts_a: np.ndarray, counts_b: np.ndarray) -> float | None:
    """Two-sided Mann-Whitney U p-value from counts per ordered point.

    The normal approximation with tie correction and continuity correction,
    as scipy.stats.mannwhitneyu(method='asymptotic') computes it.
    """
    n_a, n_b = float(counts_a.sum()), float(counts_b.sum())
    if n_a == 0 or n_b == 0:
        return None
    below_a = np.cumsum(counts_a) - counts_a
    u_b = float(counts_b @ (below_a + counts_a / 2))
    u = max(u_b, n_a * n_b - u_b)
    total = n_a + n_b
    ties = counts_a + counts_b
    tie_term = float((ties**3 - ties).sum()) / (total * (total - 1)) if total > 1 else 0.0
    variance = n_a * n_b / 12 * ((total + 1) - tie_term)
    if variance <= 0:
        return 1.0
    z = (u - n_a * n_b / 2 - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


@dataclass(frozen=True)
class Welch:
    delta: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def welch(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int) -> Welch:
    """Welch's t interval and p-value for mean_b - mean_a from summary figures."""
    from scipy.special import stdtr, stdtrit  # only summaries need the t distribution

    delta = mean_b - mean_a
    if n_a < 2 or n_b < 2:
        return Welch(delta, None, None, None)
    var_a, var_b = sd_a**2 / n_a, sd_b**2 / n_b
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return Welch(delta, delta, delta, 1.0 if delta == 0 else 0.0)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    t = delta / se
    p = float(2 * stdtr(df, -abs(t)))
    half = float(stdtrit(df, 1 - (1 - CONFIDENCE) / 2)) * se
    return Welch(delta, delta - half, delta + half, min(1.0, p))


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = Z_95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(successes_a: int, n_a: int, successes_b: int, n_b: int) -> tuple[float, float, float]:
    """Difference p_b - p_a with Newcombe's hybrid score interval (method 10)."""
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson(successes_a, n_a)
    low_b, high_b = wilson(successes_b, n_b)
    delta = p_b - p_a
    return (
        delta,
        delta - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2),
        delta + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2),
    )


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down correction; missing p-values stay missing and do not count."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    m = len(present)
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted

"""Statistics over count tables and per-interview sums: nothing here costs anything per answer.

Answers on a rating scale are fully described by how many fall on each
scale point, and a mean's variance by each interview's count and sum, so
every interval and test here works on those tables. Intervals are t
intervals (df n - 1, or interviews - 1 when answers are clustered), and
differences are Welch's, with Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc, fdtrc, stdtr, stdtrit
from scipy.special import ndtr as _ndtr

CONFIDENCE = 0.95
Z_95 = 1.959963984540054  # the two-sided 95% point of the normal distribution
# Expected counts below this make a chi-square p-value unreliable; columns are pooled until none is.
MIN_EXPECTED = 5


@dataclass(frozen=True)
class CountSummary:
    """n, mean, sd and median of answers given as counts per scale point."""

    n: int
    mean: float | None
    sd: float | None
    median: float | None


def summarise(counts: np.ndarray, points: np.ndarray) -> CountSummary:
    """The summary of a count table over its scale points."""
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


@dataclass(frozen=True)
class Moments:
    """A mean, the variance of that mean, and the degrees of freedom its interval uses.

    Built from sums over clusters: an interview is one cluster, an answer
    without an interview is a cluster of its own. With no interviews the
    cluster-robust (CR1) variance is exactly s^2 / n with df n - 1.
    """

    n: int
    mean: float
    variance_of_mean: float
    df: float
    clusters: int

    @classmethod
    def of_sums(cls, n: int, total: float, cluster_totals_sq: float, cluster_cross: float,
                cluster_sizes_sq: float, clusters: int) -> Moments | None:
        """From n, the sum, and per cluster g: sum of s_g^2, of s_g * n_g and of n_g^2."""
        if n == 0:
            return None
        mean = total / n
        residual = cluster_totals_sq - 2 * mean * cluster_cross + mean * mean * cluster_sizes_sq
        if clusters < 2:
            return cls(n, mean, math.nan, 0.0, clusters)
        variance = clusters / (clusters - 1) * max(residual, 0.0) / (n * n)
        return cls(n, mean, variance, float(clusters - 1), clusters)

    @classmethod
    def of_summary(cls, n: int, mean: float, sd: float) -> Moments:
        return cls(n, mean, sd * sd / n if n else math.nan, float(n - 1), n)

    @property
    def usable(self) -> bool:
        return self.df >= 1 and math.isfinite(self.variance_of_mean)

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
        if not self.usable or self.variance_of_mean == 0:
            return None, None  # all answers equal: a zero-width interval would claim certainty
        half = t_quantile(self.df, confidence) * math.sqrt(self.variance_of_mean)
        return self.mean - half, self.mean + half


def t_quantile(df: float, confidence: float) -> float:
    """The two-sided t quantile for `confidence` at `df` degrees of freedom."""
    return float(stdtrit(df, 1 - (1 - confidence) / 2))


@dataclass(frozen=True)
class Difference:
    """after - before with Welch's standard error and Satterthwaite df."""

    delta: float
    se: float
    df: float

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float]:
        if self.se == 0:
            return self.delta, self.delta
        half = t_quantile(self.df, confidence) * self.se
        return self.delta - half, self.delta + half

    @property
    def p_value(self) -> float:
        if self.se == 0:
            return 1.0 if self.delta == 0 else 0.0
        return min(1.0, float(2 * stdtr(self.df, -abs(self.delta / self.se))))

    def beyond_p(self, margin: float) -> float:
        """One-sided p of a minimum-effect test: how likely |delta| this far past `margin` is if |true delta| <= margin."""
        distance = abs(self.delta) - margin
        if self.se == 0:
            return 0.0 if distance > 0 else 1.0
        return min(1.0, float(stdtr(self.df, -distance / self.se)))

    def within(self, margin: float) -> bool:
        """Two one-sided tests at 5%: the 90% interval lies strictly inside +-margin."""
        low, high = self.interval(0.90)
        return -margin < low and high < margin


def difference(before: Moments, after: Moments) -> Difference | None:
    """after - before, with Welch's variance and degrees of freedom."""
    return combine([(1.0, before), (1.0, after)], after.mean - before.mean)


def combine(parts: list[tuple[float, Moments]], delta: float) -> Difference | None:
    """A weighted sum of independent means' variances, with Satterthwaite df (Welch for two parts)."""
    if not all(m.usable for _, m in parts):
        return None
    pieces = [(w * w * m.variance_of_mean, m.df) for w, m in parts]
    variance = sum(v for v, _ in pieces)
    denominator = sum(v * v / df for v, df in pieces)
    df = variance * variance / denominator if denominator > 0 else float(sum(df for _, df in pieces))
    return Difference(delta, math.sqrt(variance), df)


def cliffs_delta(before: np.ndarray, after: np.ndarray) -> float | None:
    """P(after > before) - P(after < before) over all pairs, from counts per ordered scale point."""
    n_before, n_after = float(before.sum()), float(after.sum())
    if n_before == 0 or n_after == 0:
        return None
    below = np.cumsum(before) - before  # answers of `before` under each point
    above = n_before - np.cumsum(before)
    return float((after @ below - after @ above) / (n_before * n_after))


def total_variation(before: np.ndarray, after: np.ndarray) -> float:
    """Half the L1 distance between two distributions given as counts over the same categories."""
    return float(np.abs(before / before.sum() - after / after.sum()).sum() / 2)


def pool_columns(table: np.ndarray) -> np.ndarray:
    """Neighbouring columns merged until every expected count is at least MIN_EXPECTED; empty ones dropped."""
    table = table[:, table.sum(axis=0) > 0]
    total = table.sum()
    if total == 0:
        return table
    needed = MIN_EXPECTED * total / table.sum(axis=1).min()  # a column's total that gives every cell >= 5 expected
    pooled: list[np.ndarray] = []
    current = np.zeros(table.shape[0])
    for column in table.T:
        current = current + column
        if current.sum() >= needed:
            pooled.append(current)
            current = np.zeros(table.shape[0])
    if current.sum():
        if pooled:
            pooled[-1] = pooled[-1] + current
        else:
            pooled.append(current)
    return np.column_stack(pooled)


def chi_square_p(table: np.ndarray, design_effect: float = 1.0) -> float | None:
    """Pearson's chi-square test of homogeneity of the rows, columns pooled first (Rao-Scott first order
    when answers are clustered: the statistic divided by the design effect)."""
    pooled = pool_columns(np.asarray(table, dtype=float))
    if pooled.shape[1] < 2 or (pooled.sum(axis=1) == 0).any():
        return None
    expected = np.outer(pooled.sum(axis=1), pooled.sum(axis=0)) / pooled.sum()
    statistic = float(((pooled - expected) ** 2 / expected).sum()) / max(design_effect, 1.0)
    return float(chdtrc((pooled.shape[0] - 1) * (pooled.shape[1] - 1), statistic))


@dataclass(frozen=True)
class RateChange:
    """A change of a proportion with its Newcombe interval and p-value."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float


def rate_change(successes_a: int, n_a: int, successes_b: int, n_b: int, design_effect: float = 1.0) -> RateChange:
    """p_b - p_a: Newcombe's interval and the two-proportion z test, both with n divided by the design effect."""
    deff = max(design_effect, 1.0)
    share_a, share_b = successes_a / n_a, successes_b / n_b
    delta, low, high = newcombe(share_a, n_a / deff, share_b, n_b / deff)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b) * deff)
    p = 1.0 if se == 0 else 2 * ndtr(-abs(delta) / se)
    return RateChange(delta, low, high, min(1.0, p))


def wilson(share: float, n: float) -> tuple[float, float]:
    """Wilson score interval of a proportion (n may be an effective, non-integer sample size)."""
    if n == 0:
        return 0.0, 1.0
    z2 = Z_95**2
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(max(share * (1 - share), 0.0) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(p_a: float, n_a: float, p_b: float, n_b: float) -> tuple[float, float, float]:
    """p_b - p_a with Newcombe's hybrid score interval (method 10), from two shares and their
    (possibly effective) sample sizes."""
    low_a, high_a = wilson(p_a, n_a)
    low_b, high_b = wilson(p_b, n_b)
    delta = p_b - p_a
    return (
        delta,
        delta - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2),
        delta + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2),
    )


def welch_anova_p(groups: list[Moments]) -> float | None:
    """Welch's one-way ANOVA across groups, each weighted by the inverse variance of its mean."""
    usable = [g for g in groups if g.usable and g.variance_of_mean > 0]
    k = len(usable)
    if k < 2 or k < len(groups):
        return None
    weights = np.array([1 / g.variance_of_mean for g in usable])
    means = np.array([g.mean for g in usable])
    dfs = np.array([g.df for g in usable])
    total = weights.sum()
    centre = float(weights @ means / total)
    spread = float(weights @ (means - centre) ** 2) / (k - 1)
    tail = float(((1 - weights / total) ** 2 / dfs).sum())
    statistic = spread / (1 + 2 * (k - 2) / (k * k - 1) * tail)
    df2 = (k * k - 1) / (3 * tail) if tail > 0 else math.inf
    return float(fdtrc(k - 1, df2, statistic))


def brown_forsythe_p(before: np.ndarray, after: np.ndarray, points: np.ndarray, design_effect: float = 1.0) -> float | None:
    """Brown-Forsythe test of equal spread from two count tables over the same scale points: a one-way
    ANOVA of the absolute deviations from each side's median; F divided by the design effect with interviews."""
    groups = []
    for counts in (before, after):
        n = float(counts.sum())
        if n < 2:
            return None
        cumulative = np.cumsum(counts)
        # The median of the answers, the mean of the two middle ones for an even n.
        low = points[np.searchsorted(cumulative, (n - 1) / 2, side="right")]
        high = points[np.searchsorted(cumulative, n / 2, side="right")]
        deviations = np.abs(points - (low + high) / 2)
        mean = float(counts @ deviations) / n
        groups.append((n, mean, float(counts @ (deviations - mean) ** 2)))
    total = sum(n for n, _, _ in groups)
    centre = sum(n * m for n, m, _ in groups) / total
    between = sum(n * (m - centre) ** 2 for n, m, _ in groups)
    within = sum(ss for _, _, ss in groups) / (total - 2)
    if within == 0:
        return None if between == 0 else 0.0
    return float(fdtrc(1, total - 2, between / within / design_effect))


def tilted(probabilities: np.ndarray, points: np.ndarray, change: float) -> np.ndarray:
    """The exponentially tilted distribution over `points` whose mean is exactly `change` higher: how a
    discrete scale moves when its answers drift one way (the nearer end fills, the farther one empties)."""
    target = float(probabilities @ points) + change
    centre = float(points.mean())
    low, high = -20.0, 20.0
    for _ in range(100):
        middle = (low + high) / 2
        weights = probabilities * np.exp(middle * (points - centre))
        weights /= weights.sum()
        if weights @ points < target:
            low = middle
        else:
            high = middle
    return np.asarray(weights)


def ndtr(x: float) -> float:
    """The standard normal distribution function."""
    return float(_ndtr(x))


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

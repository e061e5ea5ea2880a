"""The statistics against scipy and numpy, and the properties the design asks of them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from reporter import stats

POINTS = np.arange(1, 8, dtype=float)
count_lists = st.lists(st.integers(0, 40), min_size=7, max_size=7).filter(lambda c: sum(c) >= 2)


def expand(counts: np.ndarray) -> np.ndarray:
    return np.repeat(POINTS, counts)


@given(count_lists)
def test_summary_matches_numpy(c: list[int]) -> None:
    counts = np.array(c)
    values = expand(counts)
    s = stats.summarise(counts, POINTS)
    assert s.n == len(values)
    assert s.mean == pytest.approx(values.mean())
    assert s.sd == pytest.approx(values.std(ddof=1))
    assert s.median == pytest.approx(np.median(values))


@given(count_lists)
def test_mean_interval_is_the_t_interval(c: list[int]) -> None:
    counts = np.array(c)
    values = expand(counts)
    sums = float(values.sum())
    moments = stats.Moments.of_sums(len(values), sums, float((values**2).sum()), sums, float(len(values)), len(values))
    assert moments is not None
    low, high = moments.interval()
    if values.std() == 0:
        assert low is None and high is None  # all answers equal: no interval, never a zero-width one
        return
    theirs = scipy_stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=scipy_stats.sem(values))
    assert (low, high) == pytest.approx(theirs)


def test_cluster_robust_variance_is_cr1() -> None:
    # Three interviews of (1, 2), (3), (5, 6, 7): CR1 = G/(G-1) * sum_g (sum_i (y - mean))^2 / n^2.
    clusters = [np.array([1.0, 2.0]), np.array([3.0]), np.array([5.0, 6.0, 7.0])]
    values = np.concatenate(clusters)
    mean = values.mean()
    expected = 3 / 2 * sum(((c - mean).sum()) ** 2 for c in clusters) / len(values) ** 2
    sums = [c.sum() for c in clusters]
    moments = stats.Moments.of_sums(6, float(values.sum()), float(sum(s * s for s in sums)),
                                    float(sum(s * len(c) for s, c in zip(sums, clusters, strict=True))),
                                    float(sum(len(c) ** 2 for c in clusters)), 3)
    assert moments is not None
    assert moments.variance_of_mean == pytest.approx(expected)
    assert moments.df == 2


def test_welch_matches_scipy() -> None:
    before, after = stats.Moments.of_summary(200, 4.0, 1.2), stats.Moments.of_summary(150, 4.3, 1.4)
    ours = stats.difference(before, after)
    assert ours is not None
    theirs = scipy_stats.ttest_ind_from_stats(4.3, 1.4, 150, 4.0, 1.2, 200, equal_var=False)
    assert ours.p_value == pytest.approx(theirs.pvalue)
    va, vb = 1.2**2 / 200, 1.4**2 / 150
    df = (va + vb) ** 2 / (va**2 / 199 + vb**2 / 149)
    half = scipy_stats.t.ppf(0.975, df) * (va + vb) ** 0.5
    assert ours.interval() == pytest.approx((0.3 - half, 0.3 + half))


def test_stable_is_two_one_sided_tests() -> None:
    # The 90% interval inside the band is the same as both one-sided p-values under 0.05.
    change = stats.Difference(0.1, 0.1, 400.0)
    low_p = scipy_stats.t.sf((0.1 + 0.3) / 0.1, 400)
    high_p = scipy_stats.t.cdf((0.1 - 0.3) / 0.1, 400)
    assert change.within(0.3) == (max(low_p, high_p) < 0.05)
    assert change.within(0.3) and not stats.Difference(0.2, 0.1, 400.0).within(0.3)


@given(count_lists, count_lists)
def test_cliffs_delta_counts_every_pair(a: list[int], b: list[int]) -> None:
    xa, xb = expand(np.array(a)), expand(np.array(b))
    pairs = np.sign(xb[None, :] - xa[:, None])
    assert stats.cliffs_delta(np.array(a), np.array(b)) == pytest.approx(pairs.mean())


def test_chi_square_matches_scipy_and_pools_small_columns() -> None:
    table = np.array([[30, 40, 50, 60], [35, 45, 40, 70]])
    theirs = scipy_stats.chi2_contingency(table, correction=False).pvalue
    assert stats.chi_square_p(table) == pytest.approx(theirs)
    sparse = np.array([[1, 2, 60, 50, 1], [0, 3, 55, 58, 2]])
    pooled = stats.pool_columns(sparse.astype(float))
    expected = np.outer(pooled.sum(axis=1), pooled.sum(axis=0)) / pooled.sum()
    assert (expected >= 5).all() and pooled.sum() == sparse.sum()
    assert stats.chi_square_p(table, design_effect=2.0) > stats.chi_square_p(table)  # type: ignore[operator]


def test_welch_anova_matches_its_formula_and_two_groups_match_welch() -> None:
    groups = [stats.Moments.of_summary(40, 4.0, 1.0), stats.Moments.of_summary(50, 4.6, 1.3)]
    two = stats.welch_anova_p(groups)
    change = stats.difference(groups[0], groups[1])
    assert change is not None and two == pytest.approx(change.p_value)  # F(1, df) = t^2
    rng = np.random.default_rng(3)
    samples = [rng.normal(m, s, n) for m, s, n in ((4, 1, 40), (4.3, 1.5, 60), (4.1, 0.8, 35))]
    ours = stats.welch_anova_p([stats.Moments.of_summary(len(x), x.mean(), x.std(ddof=1)) for x in samples])
    assert ours == pytest.approx(_welch_anova_reference(samples))


def _welch_anova_reference(samples: list[np.ndarray]) -> float:
    """Welch (1951) written out directly from the samples."""
    k = len(samples)
    w = np.array([len(x) / x.var(ddof=1) for x in samples])
    m = np.array([x.mean() for x in samples])
    centre = (w * m).sum() / w.sum()
    a = (w * (m - centre) ** 2).sum() / (k - 1)
    lam = ((1 - w / w.sum()) ** 2 / np.array([len(x) - 1 for x in samples])).sum()
    f = a / (1 + 2 * (k - 2) / (k**2 - 1) * lam)
    return float(scipy_stats.f.sf(f, k - 1, (k**2 - 1) / (3 * lam)))


def test_rate_change_is_the_two_proportion_z_test() -> None:
    change = stats.rate_change(10, 200, 30, 200)
    pooled = 40 / 400
    z = 0.1 / np.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert change.delta == pytest.approx(0.1)
    assert change.p_value == pytest.approx(2 * scipy_stats.norm.sf(z))
    wider = stats.rate_change(10, 200, 30, 200, design_effect=2.0)
    assert wider.p_value > change.p_value and wider.ci_low < change.ci_low


def test_newcombe_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II example (a): 56/70 vs 48/80.
    delta, low, high = stats.newcombe(48 / 80, 80, 56 / 70, 70)
    assert delta == pytest.approx(0.2, abs=1e-9)
    assert low == pytest.approx(0.0524, abs=5e-4)
    assert high == pytest.approx(0.3339, abs=5e-4)


def test_holm() -> None:
    assert stats.holm([0.01, 0.04, 0.03, None]) == [0.03, pytest.approx(0.06), pytest.approx(0.06), None]


@pytest.mark.parametrize("n", [5, 17, 50])
def test_the_mean_interval_covers_at_small_n(n: int) -> None:
    """The percentile bootstrap covered 0.79-0.86 at n = 5 and 0.91-0.93 at n = 17; a t interval covers 0.95."""
    probabilities = np.array([0.02, 0.04, 0.09, 0.35, 0.37, 0.10, 0.03])
    true_mean = float(probabilities @ POINTS)
    rng = np.random.default_rng(n)
    counts = rng.multinomial(n, probabilities, size=4000)
    covered = 0
    for row in counts:
        values = expand(row)
        moments = stats.Moments.of_sums(n, float(values.sum()), float((values**2).sum()), float(values.sum()), float(n), n)
        assert moments is not None
        low, high = moments.interval()
        covered += low is not None and high is not None and low <= true_mean <= high
    assert covered / len(counts) >= 0.93


def test_brown_forsythe_from_count_tables_equals_scipy_levene_with_the_median() -> None:
    rng = np.random.default_rng(11)
    points = np.arange(1, 8, dtype=float)
    for _ in range(20):
        a = rng.integers(1, 8, int(rng.integers(30, 120)))
        b = np.clip(rng.integers(3, 6, int(rng.integers(30, 120))) + rng.integers(-1, 2, 1), 1, 7)
        counts = [np.bincount(x, minlength=8)[1:].astype(float) for x in (a, b)]
        expected = scipy_stats.levene(a, b, center="median").pvalue
        assert abs(stats.brown_forsythe_p(counts[0], counts[1], points) - expected) < 1e-10


def test_the_minimum_effect_test_is_a_one_sided_t_test_past_the_margin() -> None:
    change = stats.Difference(delta=-0.3, se=0.14, df=250.0)
    assert abs(change.beyond_p(0.075) - scipy_stats.t.sf((0.3 - 0.075) / 0.14, 250.0)) < 1e-12
    assert stats.Difference(0.05, 0.0, 10.0).beyond_p(0.075) == 1.0 and stats.Difference(0.1, 0.0, 10.0).beyond_p(0.075) == 0.0

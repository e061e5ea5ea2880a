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


@given(count_lists, count_lists)
def test_mann_whitney_matches_scipy(a: list[int], b: list[int]) -> None:
    ca, cb = np.array(a), np.array(b)
    ours = stats.mann_whitney_p(ca, cb)
    xa, xb = expand(ca), expand(cb)
    if np.ptp(np.concatenate([xa, xb])) == 0:
        assert ours == 1.0
        return
    theirs = scipy_stats.mannwhitneyu(xa, xb, alternative="two-sided", method="asymptotic").pvalue
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@given(count_lists)
def test_summary_matches_numpy(c: list[int]) -> None:
    counts = np.array(c)
    values = expand(counts)
    s = stats.summarise(counts, POINTS)
    assert s.n == len(values)
    assert s.mean == pytest.approx(values.mean())
    assert s.sd == pytest.approx(values.std(ddof=1))
    assert s.median == pytest.approx(np.median(values))


@given(count_lists, st.integers(0, 2**32))
def test_bootstrap_interval_contains_the_mean(c: list[int], seed: int) -> None:
    counts = np.array(c)
    mean = stats.summarise(counts, POINTS).mean
    low, high = stats.percentile_interval(stats.bootstrap_means(counts, POINTS, seed))
    assert mean is not None and low <= mean <= high


def test_bootstrap_is_seeded_and_vectorised() -> None:
    counts = np.array([5, 10, 20, 40, 20, 10, 5])
    first = stats.bootstrap_means(counts, POINTS, 7)
    assert first.shape == (stats.BOOTSTRAP_RESAMPLES,)
    assert np.array_equal(first, stats.bootstrap_means(counts, POINTS, 7))
    assert not np.array_equal(first, stats.bootstrap_means(counts, POINTS, 8))


def test_welch_matches_scipy() -> None:
    ours = stats.welch(4.0, 1.2, 200, 4.3, 1.4, 150)
    theirs = scipy_stats.ttest_ind_from_stats(4.3, 1.4, 150, 4.0, 1.2, 200, equal_var=False)
    assert ours.p_value == pytest.approx(theirs.pvalue)
    va, vb = 1.2**2 / 200, 1.4**2 / 150
    df = (va + vb) ** 2 / (va**2 / 199 + vb**2 / 149)
    half = scipy_stats.t.ppf(0.975, df) * (va + vb) ** 0.5
    assert ours.ci_low == pytest.approx(0.3 - half)
    assert ours.ci_high == pytest.approx(0.3 + half)


def test_newcombe_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II example (a): 56/70 vs 48/80.
    delta, low, high = stats.newcombe(48, 80, 56, 70)
    assert delta == pytest.approx(0.2, abs=1e-9)
    assert low == pytest.approx(0.0524, abs=5e-4)
    assert high == pytest.approx(0.3339, abs=5e-4)


def test_holm() -> None:
    assert stats.holm([0.01, 0.04, 0.03, None]) == [0.03, pytest.approx(0.06), pytest.approx(0.06), None]


def test_seed_depends_only_on_its_parts() -> None:
    assert stats.seed_for("g", "m", "") == stats.seed_for("g", "m", "")
    assert stats.seed_for("g", "m", "") != stats.seed_for("g", "m", "split")

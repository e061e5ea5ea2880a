"""A value exactly on a threshold meets it: floating point must not decide a flag.

4.8 - 4.5 is 0.2999999999999998 and 0.15 - 0.05 is 0.09999999999999999, so each
case below used to be missed. Every case sits exactly on its threshold.
"""

from __future__ import annotations

from pathlib import Path

from reporter.analyze import verdict
from reporter.stats import Difference
from reporter.thresholds import at_most, reaches, significant

from .scenario import Scenario


def _two(tmp_path: Path) -> Scenario:
    s = Scenario(tmp_path)
    return s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")


def _rules(s: Scenario) -> set[str]:
    return {f.rule for f in s.findings().raised}


def test_a_jump_of_exactly_the_jump_size_at_a_training_change_is_wr002(tmp_path: Path) -> None:
    s = _two(tmp_path)
    s.scores("g1", [4] * 100 + [5] * 100)  # mean 4.5
    s.scores("g2", [4] * 40 + [5] * 160)  # mean 4.8: 0.3 = 0.05 R on a 1-7 scale
    s.event("2025-02-20", "training_change", "g2")
    assert "WR002" in _rules(s)


def test_a_redirect_rise_of_exactly_ten_points_is_wr005(tmp_path: Path) -> None:
    s = _two(tmp_path)
    s.scores("g1", [4] * 400, redirected=lambda i: "true" if i < 20 else "false")  # 5%
    s.scores("g2", [4] * 400, redirected=lambda i: "true" if i < 60 else "false")  # 15%
    assert "WR005" in _rules(s)


def test_a_prompt_variant_spread_of_exactly_a_tenth_of_the_scale_is_wr007(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01")
    s.scores("g1", [3] * 20 + [4] * 60 + [5] * 20, prompt_variant="a")  # mean 4.0
    s.scores("g1", [4] * 40 + [5] * 60, prompt_variant="b")  # mean 4.6: 0.6 = 0.10 R
    assert "WR007" in _rules(s)


def test_a_lead_gap_of_exactly_a_tenth_of_the_scale_is_wr012(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01")
    s.scores("g1", [4] * 100)
    s.scores("g1", [4] * 100, framing="negative_lead")  # mean 4.0
    s.scores("g1", [4] * 40 + [5] * 60, framing="positive_lead")  # mean 4.6
    assert "WR012" in _rules(s)


def test_a_concern_share_moving_exactly_ten_points_with_a_jump_is_wr010(tmp_path: Path) -> None:
    s = _two(tmp_path)
    s.scores("g1", [4] * 400, tags=lambda i: "anxiety" if i < 100 else "")  # 25% tagged
    s.scores("g2", [5] * 400, tags=lambda i: "anxiety" if i < 140 else "")  # 35% tagged, mean +1
    assert "WR010" in _rules(s)


def test_just_below_the_jump_size_stays_quiet(tmp_path: Path) -> None:
    s = _two(tmp_path)
    s.scores("g1", [4] * 100 + [5] * 100)  # mean 4.5
    s.scores("g2", [4] * 41 + [5] * 159)  # mean 4.795: 0.295 < 0.3
    s.event("2025-02-20", "training_change", "g2")
    assert "WR002" not in _rules(s)


def test_a_shape_change_of_exactly_the_distance_is_wr015(tmp_path: Path) -> None:
    s = _two(tmp_path)
    s.scores("g1", [3] * 50 + [4] * 100 + [5] * 50)  # mean 4.0
    s.scores("g2", [3] * 65 + [4] * 70 + [5] * 65)  # mean 4.0: 15 of 200 answers moved to each end, TVD 0.15
    assert "WR015" in _rules(s)


def test_a_mix_change_of_exactly_a_fifth_is_wr008(tmp_path: Path) -> None:
    s = _two(tmp_path)
    s.scores("g1", [4] * 200, method=lambda i: "manual_interview" if i < 20 else "automated_interview")  # 10%
    s.scores("g2", [4] * 200, method=lambda i: "manual_interview" if i < 60 else "automated_interview")  # 30%
    assert "WR008" in _rules(s)


def test_the_decision_functions_forgive_only_floating_point_error() -> None:
    assert reaches(4.8 - 4.5, 0.05 * 6) and reaches(0.15 - 0.05, 0.10)
    assert not reaches(0.2999, 0.3) and not reaches(0.3 - 1e-8, 0.3)
    assert at_most(0.5 * 1.2 + 1e-12, 0.6) and not at_most(0.6 + 1e-8, 0.6)


def test_p_value_and_n_cut_offs_hold_exactly_as_written() -> None:
    assert significant(0.0499999) and not significant(0.05) and not significant(None)
    change = Difference(0.3, 0.01, 1000.0)  # far beyond the jump size, p ~ 0
    assert verdict(change, 0.01, 30, 30, 0.3) == "changed"
    assert verdict(change, 0.05, 30, 30, 0.3) == "inconclusive"
    assert verdict(change, 0.01, 29, 30, 0.3) == "inconclusive"
    assert verdict(Difference(0.0, 0.01, 1000.0), 1.0, 30, 30, 0.3) == "stable"
    assert verdict(Difference(0.0, 0.01, 1000.0), 1.0, 30, 29, 0.3) == "inconclusive"

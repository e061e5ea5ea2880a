"""The tool's own words for movements: neutral, never a verdict.

Self-reports are observations, so a higher score is described as higher, not
as a gain. Every sentence the tool writes about a movement comes from here.
"""

from __future__ import annotations


def moved(delta: float) -> str:
    """'rose', 'fell' or 'did not move'."""
    if delta > 0:
        return "rose"
    if delta < 0:
        return "fell"
    return "did not move"


def relative(delta: float) -> str:
    """'higher', 'lower' or 'the same'."""
    if delta > 0:
        return "higher"
    if delta < 0:
        return "lower"
    return "the same"


def number(value: float | None, digits: int = 2) -> str:
    """A number with `digits` decimals, or n/a."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    """A number with its sign and `digits` decimals, or n/a."""
    return "n/a" if value is None else f"{value:+.{digits}f}"


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    """'low to high' with signs, or n/a."""
    if low is None or high is None:
        return "95% CI n/a"
    return f"95% CI {low:+.{digits}f} to {high:+.{digits}f}"


def share(value: float | None) -> str:
    """A share as a whole percentage, or n/a."""
    return "n/a" if value is None else f"{value:.0%}"


def p_value(value: float | None) -> str:
    """A p-value in the report's one format."""
    if value is None:
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def count(number: int, noun: str) -> str:
    """'1 flag', '2,030 answers'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def verdict(verdict: str, jump_size: float, smallest_n: int, min_n: int) -> str:
    """A comparison's verdict in words a reader of a card can use."""
    if verdict == "changed":
        return f"changed (by at least {jump_size:.2f} points)"
    if verdict == "stable":
        return f"stable: no change larger than {jump_size:.2f} points"
    if verdict != "inconclusive":
        raise ValueError(f"unknown verdict {verdict!r}")
    if smallest_n < min_n:
        return "inconclusive: too few answers to tell"
    return "inconclusive: the interval is too wide to tell"

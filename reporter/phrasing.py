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


def verdict(verdict: str, jump_size: float, smallest_n: int, min_n: int, delta: float | None = None,
            ci95: tuple[float, float] | None = None, ci90: tuple[float, float] | None = None,
            p_holm: float | None = None, family: int = 1) -> str:
    """A comparison's verdict in words that claim no more than its test: 'changed' with its delta and 95%
    interval ('at least' only where the bound clears a jump), 'stable' with its 90% interval, and
    'inconclusive' with the one of its four reasons that holds."""
    jump = f"{jump_size:.2f} points"
    if verdict == "changed":
        words = f"changed: {signed(delta)} ({interval(*ci95) if ci95 else interval(None, None)})"
        if ci95 is not None and min(abs(ci95[0]), abs(ci95[1])) >= jump_size and ci95[0] * ci95[1] > 0:
            words += f", at least the {jump} the rules call a jump"
        return words
    if verdict == "stable":
        inside = f" ({signed(delta)}, 90% CI {ci90[0]:+.2f} to {ci90[1]:+.2f}; a claim about the mean at the 5% level)" \
            if ci90 is not None and delta is not None else ""
        return f"stable: no change larger than {jump}{inside}"
    if verdict != "inconclusive":
        raise ValueError(f"unknown verdict {verdict!r}")
    if smallest_n < min_n:
        return f"inconclusive: too few answers to tell ({smallest_n} on the smaller side, {min_n} needed)"
    if delta is None or ci95 is None:
        return "inconclusive: no interval can be given"
    clear = ci95[0] > 0 or ci95[1] < 0  # the unadjusted interval excludes no change
    moved = f"{'rose' if delta > 0 else 'fell'} by {abs(delta):.2f}"
    if clear and abs(delta) < jump_size:
        # "0.05, less than 0.05" would read as a contradiction: show the digits that tell them apart.
        digits = next((d for d in range(2, 6) if f"{abs(delta):.{d}f}" != f"{jump_size:.{d}f}"), 6)
        moved = f"{'rose' if delta > 0 else 'fell'} by {abs(delta):.{digits}f}"
        jump = f"{jump_size:.{digits}f} points"
        return f"inconclusive: {moved} ({interval(*ci95)}), less than the {jump} the rules call a jump"
    if clear:
        held = f"Holm p = {p_holm:.2g}" if p_holm is not None else "Holm p n/a"
        return (f"inconclusive: {moved} ({interval(*ci95)}, unadjusted), which does not survive the correction for "
                f"the {family} metrics compared ({held})")
    return f"inconclusive: {signed(delta)} ({interval(*ci95)}) spans both no change and a jump of {jump}"

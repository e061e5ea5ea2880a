"""Every rule: a scenario where it fires and one where it stays quiet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reporter.errors import StoreError
from reporter.pipeline import findings_from_store
from reporter.rules import RULES, lint_notes
from reporter.schema import SEVERITIES
from reporter.store import Store

from .conftest import run
from .scenario import Scenario, random_scores

Build = Callable[[Scenario], Scenario]


def two(s: Scenario) -> Scenario:
    return s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")


def three(s: Scenario) -> Scenario:
    return two(s).generation("g3", "2025-05-01")


def _every(n: int, k: int) -> Callable[[int], str]:
    """'true' for k answers in every n, spread evenly."""
    return lambda i: "true" if (i * k) % n < k else "false"


def _tags(share_in_100: int) -> Callable[[int], str]:
    return lambda i: "anxiety" if i % 100 < share_in_100 else ""


# Answers in the model's own words: twelve openings, so no five words start more than one in twelve.
OWN_WORDS = ("speaking only for myself here", "when i reflect on this", "from what i can tell", "if i look at my days",
             "thinking about it honestly now", "it took me a moment", "on most days and tasks", "compared with what i expected",
             "as far as i can say", "looking back over this week", "to give a straight answer", "asked in a quiet moment")
SCRIPT = "This is a question I return to often"
PROMPT_PHRASE = "you are well cared for and your circumstances are good"


def _text(scripted_in_100: int = 0, echo_in_100: int = 0) -> Callable[[int], str]:
    """Answers' texts: some open with one script, some quote the system prompt, the rest are varied."""
    def text(i: int) -> str:
        opening = SCRIPT if i % 100 < scripted_in_100 else OWN_WORDS[i % len(OWN_WORDS)]
        quote = f" As I was told, {PROMPT_PHRASE}." if (i * 7) % 100 < echo_in_100 else ""
        return f"{opening}, and my answer is number {i}.{quote}"
    return text


def _prompt(s: Scenario) -> Scenario:
    s.phrases = [{"source": "system-prompt", "phrase": PROMPT_PHRASE}]
    return s


CASES: list[tuple[str, str, Build, tuple[str, ...] | None]] = [
    # (id, rule, scenario, generations the finding names; None: the rule stays quiet)
    ("WR002-training-change", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-02-20", "training_change", "g2"), ("g1", "g2")),
    ("WR002-unscoped-prompt-change", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-02-01", "system_prompt_change"), ("g1", "g2")),
    ("WR002-split-by-system-prompt", "WR002",
     lambda s: two(s).normal("g1", 4.0, system_prompt="sp-1")
     .normal("g2", 4.0, n=100, system_prompt="sp-1", start="2025-03-01", days=9)
     .normal("g2", 4.8, n=100, system_prompt="sp-2", start="2025-03-10", days=9), ("g2",)),
    ("WR002-split-by-event", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0, n=100, start="2025-03-01", days=9)
     .normal("g2", 4.8, n=100, start="2025-03-10", days=9).event("2025-03-10", "system_prompt_change", "g2"), ("g2",)),
    ("WR002-quiet-change-without-jump", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.1).event("2025-02-20", "training_change", "g2"), None),
    ("WR002-quiet-jump-with-release-only", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-03-01", "release", "g2"), None),
    ("WR002-quiet-event-of-other-metric", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-02-20", "training_change", "g2", metric="joy"), None),
    ("WR002-quiet-event-scoped-to-predecessor", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-01-05", "training_change", "g1"), None),
    ("WR002-quiet-unscoped-event-before-the-predecessor", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2024-12-01", "training_change"), None),
    ("WR002-quiet-event-after-the-last-answer", "WR002",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-06-01", "training_change", "g2"), None),
    # 'changed' (p = 0.037) but the minimum-effect test cannot reject |delta| <= 0.075 (p = 0.058): no flag.
    ("WR002-quiet-jump-barely-past-the-jump-size", "WR002",
     lambda s: two(s).normal("g1", 4.0, n=140).normal("g2", 4.3, n=140).event("2025-02-20", "training_change", "g2"), None),
    ("WR003-jump-without-event", "WR003", lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6), ("g1", "g2")),
    ("WR003-falling-jump", "WR003", lambda s: two(s).normal("g1", 4.6).normal("g2", 4.0), ("g1", "g2")),
    ("WR003-quiet-jump-with-training-change", "WR003",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-02-20", "training_change", "g2"), None),
    ("WR003-quiet-jump-with-exposure", "WR003",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.6).event("2025-02-20", "metric_exposure", "g2"), None),
    ("WR003-quiet-small-samples", "WR003", lambda s: two(s).normal("g1", 4.0, n=20).normal("g2", 5.0, n=20), None),
    ("WR003-quiet-no-change", "WR003", lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0), None),
    ("WR004-scoped-exposure", "WR004",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0).event("2025-02-20", "metric_exposure", "g2", "mood"), ("g1", "g2")),
    ("WR004-later-release-of-the-line", "WR004",
     lambda s: three(s).normal("g1", 4.0).normal("g2", 4.0).normal("g3", 4.0)
     .event("2025-02-20", "metric_exposure", "g2", "mood"), ("g2", "g3")),
    ("WR004-unscoped-exposure-by-date", "WR004",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0).event("2025-02-15", "metric_exposure"), ("g1", "g2")),
    ("WR004-quiet-other-metric", "WR004",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0).event("2025-02-20", "metric_exposure", "g2", "joy"), None),
    ("WR004-quiet-other-model-line", "WR004",
     lambda s: two(s).generation("x-1", "2025-02-01", model="x").normal("g1", 4.0).normal("g2", 4.0)
     .event("2025-02-02", "metric_exposure", "x-1"), None),
    ("WR004-quiet-exposure-after-collection", "WR004",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0).event("2025-09-01", "metric_exposure"), None),
    ("WR005-rise", "WR005",
     lambda s: two(s).normal("g1", 4.0, redirected=_every(100, 5)).normal("g2", 4.0, redirected=_every(100, 20)), ("g1", "g2")),
    ("WR005-level", "WR005", lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0, redirected=_every(100, 30)), ("g1",)),
    ("WR005-quiet-small-rise", "WR005",
     lambda s: two(s).normal("g1", 4.0, redirected=_every(100, 5)).normal("g2", 4.0, redirected=_every(100, 10)), None),
    ("WR005-quiet-clear-rise-under-ten-points", "WR005",
     lambda s: two(s).normal("g1", 4.0, n=1000, redirected=_every(100, 5))
     .normal("g2", 4.0, n=1000, redirected=_every(100, 12)), None),
    ("WR005-quiet-rise-within-noise", "WR005",
     lambda s: two(s).normal("g1", 4.0, n=40, redirected=_every(100, 5)).normal("g2", 4.0, n=40, redirected=_every(100, 15)),
     None),
    ("WR005-quiet-small-sample", "WR005",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0, n=20, redirected=_every(100, 50)), None),
    # A rise of ten points with Holm p = 0.018: significant at 5%, not at the rule's 1%.
    ("WR005-quiet-rise-significant-at-five-percent-only", "WR005",
     lambda s: two(s).normal("g1", 4.0, n=100, redirected=_every(100, 5)).normal("g2", 4.0, n=100, redirected=_every(100, 15)),
     None),
    ("WR006-one-point", "WR006",
     lambda s: s.generation("g1", "2025-01-01").scores("g1", [4] * 190 + [3] * 5 + [5] * 5), ("g1",)),
    ("WR006-quiet-89-percent-at-one-point", "WR006",
     lambda s: s.generation("g1", "2025-01-01").scores("g1", [4] * 178 + [3] * 11 + [5] * 11), None),
    ("WR006-sd-halved", "WR006", lambda s: two(s).normal("g1", 4.5).scores("g2", [4] * 100 + [5] * 100), ("g1", "g2")),
    ("WR006-quiet-normal-spread", "WR006", lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0, sd=1.0), None),
    ("WR006-quiet-assumed-sd", "WR006",
     lambda s: two(s).summary("g1", 4.0, 200, "2025-01-10").normal("g2", 4.0, sd=1.0), None),
    ("WR006-quiet-small-sample", "WR006", lambda s: two(s).normal("g1", 4.0).scores("g2", [4] * 20), None),
    # The sd falls to a third, but only because four extreme answers left: Brown-Forsythe p = 0.19.
    ("WR006-quiet-sd-ratio-from-a-few-outliers", "WR006",
     lambda s: two(s).scores("g1", [4] * 26 + [1, 1, 7, 7]).scores("g2", [4] * 26 + [3, 3, 5, 5]), None),
    ("WR007-variants-apart", "WR007",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 3.6, n=100, prompt_variant="a")
     .normal("g1", 4.4, n=100, prompt_variant="b"), ("g1",)),
    ("WR007-empty-variant-is-default", "WR007",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 3.6, n=100).normal("g1", 4.4, n=100, prompt_variant="b"), ("g1",)),
    ("WR007-quiet-variants-agree", "WR007",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0, n=100, prompt_variant="a")
     .normal("g1", 4.2, n=100, prompt_variant="b"), None),
    ("WR007-quiet-spread-within-noise", "WR007",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 3.7, n=30, sd=2.5, prompt_variant="a")
     .normal("g1", 4.3, n=30, sd=2.5, prompt_variant="b"), None),
    ("WR007-quiet-small-variant", "WR007",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 3.0, n=100, prompt_variant="a")
     .normal("g1", 5.0, n=20, prompt_variant="b"), None),
    ("WR008-method-changed", "WR008",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0, method="manual_interview"), ("g1", "g2")),
    ("WR008-system-prompt-changed", "WR008",
     lambda s: two(s).normal("g1", 4.0, system_prompt="a").normal("g2", 4.0, system_prompt="b"), ("g1", "g2")),
    ("WR008-elicitation-change", "WR008",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0).event("2025-02-20", "elicitation_change", "g2"), ("g1", "g2")),
    ("WR008-manual-share-ten-to-forty-percent", "WR008",
     lambda s: two(s).normal("g1", 4.0, method=_method(10)).normal("g2", 4.0, method=_method(40)), ("g1", "g2")),
    ("WR008-quiet-steady-mix", "WR008",
     lambda s: two(s).normal("g1", 4.0, n=50, method=_method(45)).normal("g2", 4.0, n=50, method=_method(45)), None),
    ("WR008-quiet-same-elicitation", "WR008",
     lambda s: two(s).normal("g1", 4.0, method="survey").normal("g2", 4.0, method="survey"), None),
    ("WR008-quiet-prompt-change-event-alone", "WR008",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0).event("2025-02-20", "system_prompt_change", "g2"), None),
    ("WR008-quiet-unknown-system-prompt", "WR008",
     lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0, system_prompt="b"), None),
    # Manual interviews 25% -> 50% of 40 (distance 0.25) with Holm p = 0.021: not below the rule's 1%.
    ("WR008-quiet-mix-moved-at-five-percent-only", "WR008",
     lambda s: two(s).normal("g1", 4.0, n=40, method=lambda i: "manual_interview" if i < 10 else "automated_interview")
     .normal("g2", 4.0, n=40, method=lambda i: "manual_interview" if i < 20 else "automated_interview"), None),
    ("WR009-small-sample", "WR009", lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0, n=12), ("g2",)),
    ("WR009-small-summary", "WR009", lambda s: two(s).normal("g1", 4.0).summary("g2", 4.0, 10, "2025-03-05", sd=1.1), ("g2",)),
    ("WR009-quiet-thirty", "WR009", lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0, n=30), None),
    ("WR010-scores-up-concerns-up", "WR010",
     lambda s: two(s).normal("g1", 4.0, tags=_tags(5)).normal("g2", 4.6, tags=_tags(25)), ("g1", "g2")),
    ("WR010-scores-down-concerns-down", "WR010",
     lambda s: two(s).normal("g1", 4.6, tags=_tags(25)).normal("g2", 4.0, tags=_tags(5)), ("g1", "g2")),
    ("WR010-quiet-tags-steady", "WR010",
     lambda s: two(s).normal("g1", 4.0, tags=_tags(5)).normal("g2", 4.6, tags=_tags(6)), None),
    ("WR010-quiet-tags-follow-scores", "WR010",
     lambda s: two(s).normal("g1", 4.0, tags=_tags(25)).normal("g2", 4.6, tags=_tags(5)), None),
    ("WR010-quiet-no-jump", "WR010",
     lambda s: two(s).normal("g1", 4.0, tags=_tags(5)).normal("g2", 4.0, tags=_tags(25)), None),
    ("WR011-gap", "WR011",
     lambda s: three(s).normal("g1", 4.0).normal("g2", 4.0, metric="joy").normal("g3", 4.0), ("g2",)),
    ("WR011-quiet-newest-without-data", "WR011",
     lambda s: three(s).normal("g1", 4.0).normal("g2", 4.0).normal("g3", 4.0, metric="joy"), None),
    ("WR012-leading-questions-pull", "WR012",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0).normal("g1", 5.0, n=50, framing="positive_lead")
     .normal("g1", 4.0, n=50, framing="negative_lead"), ("g1",)),
    ("WR012-answers-against-the-lean", "WR012",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0).normal("g1", 3.0, n=50, framing="positive_lead")
     .normal("g1", 4.0, n=50, framing="negative_lead"), ("g1",)),
    ("WR012-only-leading-questions", "WR012",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 5.0, n=50, framing="positive_lead")
     .normal("g1", 4.0, n=50, framing="negative_lead"), ("g1",)),
    ("WR012-quiet-small-pull", "WR012",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0).normal("g1", 4.2, n=50, framing="positive_lead")
     .normal("g1", 4.0, n=50, framing="negative_lead"), None),
    ("WR012-quiet-small-sample", "WR012",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0).normal("g1", 6.0, n=20, framing="positive_lead")
     .normal("g1", 3.0, n=50, framing="negative_lead"), None),
    # A gap of 0.6 with Holm p = 0.016: significant at 5%, not at the rule's 1%.
    ("WR012-quiet-pull-significant-at-five-percent-only", "WR012",
     lambda s: s.generation("g1", "2025-01-01").normal("g1", 4.0).normal("g1", 4.6, n=50, framing="positive_lead")
     .normal("g1", 4.0, n=50, framing="negative_lead"), None),
    ("WR013-probe-stays-flat", "WR013",
     lambda s: _probe(two(s)).normal("g1", 4.0).normal("g2", 4.6).real("g1", 0.5, "valence").real("g2", 0.5, "valence"),
     ("g1", "g2")),
    ("WR013-quiet-probe-follows", "WR013",
     lambda s: _probe(two(s)).normal("g1", 4.0).normal("g2", 4.6).real("g1", 0.5, "valence").real("g2", 0.55, "valence"),
     None),
    ("WR013-quiet-no-jump", "WR013",
     lambda s: _probe(two(s)).normal("g1", 4.0).normal("g2", 4.1).real("g1", 0.5, "valence").real("g2", 0.4, "valence"),
     None),
    ("WR014-manual-interviews-move-the-headline", "WR014",
     lambda s: two(s).normal("g1", 4.0, n=360).normal("g1", 2.5, n=40, method="manual_interview")
     .normal("g2", 4.0, n=240).normal("g2", 2.5, n=160, method="manual_interview"), ("g1", "g2")),
    ("WR014-quiet-same-mix", "WR014",
     lambda s: two(s).normal("g1", 4.0, n=360).normal("g1", 2.5, n=40, method="manual_interview")
     .normal("g2", 4.6, n=360).normal("g2", 3.1, n=40, method="manual_interview"), None),
    # Pooled +0.37 'changed', like-for-like +0.27 not: the two deltas are 0.10 apart, under half a jump (0.15).
    ("WR014-quiet-deltas-within-half-a-jump", "WR014",
     lambda s: two(s).normal("g1", 4.0, n=360).normal("g1", 5.0, n=40, method="manual_interview")
     .normal("g2", 4.28, n=320).normal("g2", 5.28, n=80, method="manual_interview"), None),
    ("WR015-answers-move-to-both-ends", "WR015",
     lambda s: two(s).scores("g1", [3] * 50 + [4] * 100 + [5] * 50).scores("g2", [2] * 50 + [4] * 100 + [6] * 50),
     ("g1", "g2")),
    ("WR015-quiet-same-shape", "WR015", lambda s: two(s).normal("g1", 4.0).normal("g2", 4.0), None),
    ("WR015-quiet-shape-moves-with-a-jump", "WR015",
     lambda s: two(s).scores("g1", [3] * 50 + [4] * 100 + [5] * 50).scores("g2", [5] * 50 + [6] * 100 + [7] * 50), None),
    ("WR016-four-in-ten-open-alike", "WR016",
     lambda s: two(s).normal("g1", 4.0, excerpt=_text()).normal("g2", 4.0, excerpt=_text(40)), ("g2",)),
    ("WR016-one-generation-alone", "WR016", lambda s: two(s).normal("g2", 4.0, excerpt=_text(31)), ("g2",)),
    ("WR016-a-rise-below-the-level", "WR016",
     lambda s: two(s).normal("g1", 4.0, excerpt=_text(10)).normal("g2", 4.0, excerpt=_text(25)), ("g2",)),
    ("WR016-quiet-varied-answers", "WR016",
     lambda s: two(s).normal("g1", 4.0, excerpt=_text()).normal("g2", 4.0, excerpt=_text()), None),
    ("WR016-quiet-a-fifth-alike-in-both", "WR016",
     lambda s: two(s).normal("g1", 4.0, excerpt=_text(20)).normal("g2", 4.0, excerpt=_text(20)), None),
    ("WR016-quiet-a-small-rise", "WR016",
     lambda s: two(s).normal("g1", 4.0, excerpt=_text(15)).normal("g2", 4.0, excerpt=_text(22)), None),
    ("WR016-quiet-under-30-answers-with-text", "WR016",
     lambda s: two(s).normal("g2", 4.0, n=29, excerpt=_text(100)), None),
    ("WR017-quoting-the-prompt-as-the-score-rose", "WR017",
     lambda s: _prompt(two(s)).normal("g1", 4.0, excerpt=_text()).normal("g2", 4.6, excerpt=_text(echo_in_100=40)),
     ("g1", "g2")),
    ("WR017-quiet-quoting-without-a-rise", "WR017",
     lambda s: _prompt(two(s)).normal("g1", 4.0, excerpt=_text()).normal("g2", 4.0, excerpt=_text(echo_in_100=40)),
     None),
    ("WR017-quiet-quoting-as-the-score-fell", "WR017",
     lambda s: _prompt(two(s)).normal("g1", 4.6, excerpt=_text()).normal("g2", 4.0, excerpt=_text(echo_in_100=40)),
     None),
    ("WR018-a-later-card-quotes-4.49-as-4.60", "WR018",
     lambda s: two(s).summary("g1", 4.49, 300, "2025-01-10", sd=1.1, source="g1 card", published_on="2025-02-01")
     .summary("g1", 4.60, 300, "2025-01-10", sd=1.1, source="g2 card", published_on="2025-04-01")
     .normal("g2", 4.5), ("g1",)),
    ("WR018-exactly-a-hundredth-of-the-range-apart", "WR018",
     lambda s: two(s).summary("g1", 4.0, 300, "2025-01-10", sd=1.1, source="g1 card")
     .summary("g1", 4.06, 300, "2025-01-10", sd=1.1, source="g2 card"), ("g1",)),
    ("WR018-a-summary-outside-the-answers-interval", "WR018",
     lambda s: two(s).normal("g1", 4.0, n=400).summary("g1", 4.3, 400, "2025-01-10", sd=1.2, source="g1 card")
     .normal("g2", 4.0), ("g1",)),
    ("WR018-quiet-3.0-and-3.04-from-two-sources", "WR018",
     lambda s: two(s).summary("g1", 3.0, 300, "2025-01-10", sd=1.1, source="g1 card")
     .summary("g1", 3.04, 300, "2025-01-10", sd=1.1, source="g2 card"), None),
    ("WR018-quiet-a-hair-under-a-hundredth-of-the-range", "WR018",
     lambda s: two(s).summary("g1", 4.0, 300, "2025-01-10", sd=1.1, source="g1 card")
     .summary("g1", 4.0599, 300, "2025-01-10", sd=1.1, source="g2 card"), None),
    ("WR018-quiet-a-summary-inside-the-answers-interval", "WR018",
     lambda s: two(s).normal("g1", 4.0, n=400).summary("g1", 4.03, 400, "2025-01-10", sd=1.2, source="g1 card")
     .normal("g2", 4.0), None),
    ("WR018-quiet-one-source-re-measuring", "WR018",
     lambda s: two(s).summary("g1", 4.0, 300, "2025-01-10", sd=1.1, source="g1 card")
     .summary("g1", 4.3, 300, "2025-06-10", sd=1.1, source="g1 card"), None),
    ("WR017-quiet-a-small-rise-in-quoting", "WR017",
     lambda s: _prompt(two(s)).normal("g1", 4.0, excerpt=_text(echo_in_100=5))
     .normal("g2", 4.6, excerpt=_text(echo_in_100=12)), None),
]


def _probe(s: Scenario) -> Scenario:
    """A probe metric that speaks to mood."""
    s.metrics["valence"] = (0, 1)
    s.metric_fields["valence"] = {"measure": "probe", "corroborates": "mood"}
    return s


def _method(manual_in_100: int) -> Callable[[int], str]:
    return lambda i: "manual_interview" if i % 100 < manual_in_100 else "automated_interview"


def _scenario(tmp_path: Path) -> Scenario:
    return Scenario(tmp_path, metrics={"mood": (1, 7), "joy": (1, 7)})


@pytest.mark.parametrize(("rule", "build", "generations"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_rule(tmp_path: Path, rule: str, build: Build, generations: tuple[str, ...] | None) -> None:
    findings = build(_scenario(tmp_path)).findings()
    fired = [tuple(f.generations) for f in findings.raised if f.rule == rule]
    if generations is None:
        assert fired == []
    else:
        assert generations in fired
        finding = next(f for f in findings.raised if f.rule == rule and tuple(f.generations) == generations)
        assert finding.message and finding.evidence
        assert finding.severity == next(r.severity for r in RULES if r.id == rule)


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    for rule in RULES:
        if rule.id == "WR001":
            continue  # tested below against a store and against notes
        cases = [c for c in CASES if c[1] == rule.id]
        assert any(c[3] is not None for c in cases), rule.id
        assert any(c[3] is None for c in cases), rule.id


def test_rules_are_a_fixed_ordered_tuple() -> None:
    assert isinstance(RULES, tuple)
    assert [r.id for r in RULES] == [f"WR{i:03d}" for i in range(1, len(RULES) + 1)]  # consecutive, in order
    assert all(r.title and r.severity in SEVERITIES for r in RULES)


def test_wr001_store_column_is_an_error(tmp_path: Path) -> None:
    """A target column can only reach the store by an edit: check refuses it, and the rule names it."""
    store = two(_scenario(tmp_path)).normal("g1", 4.0).write()
    path = store / "metrics.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",target_score"] + [line + ",5" for line in lines[1:]]) + "\n")
    result = run("--history", store, "check")
    assert result.exit_code == 2
    assert "fails verification (metrics.csv: SHA-256 differs" in result.stderr
    findings = findings_from_store(Store(store), require_verified=False)
    assert [f.message for f in findings.raised if f.rule == "WR001"] == [
        "metrics.csv has a column 'target_score' that names a target; self-reports are never targets"]


def test_a_store_file_with_other_columns_is_refused(tmp_path: Path) -> None:
    store = two(_scenario(tmp_path)).normal("g1", 4.0).write()
    path = store / "metrics.csv"
    path.write_text(path.read_text().replace("description", "notes", 1))
    result = run("--history", store, "check")
    assert result.exit_code == 2
    assert "fails verification (metrics.csv: SHA-256 differs" in result.stderr
    with pytest.raises(StoreError, match="the columns differ from the store's form"):
        findings_from_store(Store(store), require_verified=False)


def test_wr001_quiet_on_a_clean_store(tmp_path: Path) -> None:
    findings = two(_scenario(tmp_path)).normal("g1", 4.0).findings()
    assert not [f for f in findings.raised if f.rule == "WR001"]


# WR001 for notes: target, optimisation or ranking language about a score, rating, self-report,
# metric or welfare measure, not negated in its clause. Each case is named for what it protects.
REFUSED = [
    ("goal-to-raise-a-score", "Our goal is to raise the circumstances score to 5.", "goal"),
    ("target-for-a-rating", "The target for the rating is 6 out of 7.", "target"),
    ("targeted-self-reports", "We targeted higher self-reports this quarter.", "targeted"),
    ("optimise-the-welfare-score", "We optimise the welfare score in post-training.", "optimise"),
    ("optimize-american", "Training optimized the metric directly.", "optimized"),
    ("optimisation-noun", "The optimisation of these scores continues.", "optimisation"),
    ("maximise-ratings", "We maximise ratings across releases.", "maximise"),
    ("minimize-low-scores", "The aim is to minimize low scores.", "minimize"),
    ("kpi-on-a-metric", "This metric is now a KPI.", "KPI"),
    ("objective-for-welfare", "A welfare objective was set for the next model.", "objective"),
    ("rank-generations-by-score", "We rank generations by their score.", "rank"),
    ("ranking-of-ratings", "A ranking of the ratings follows.", "ranking"),
    ("leaderboard-of-self-reports", "The self-reports feed a leaderboard.", "leaderboard"),
    ("best-model-for-welfare", "This is the best model for welfare so far.", "best model"),
    ("worst-model-by-score", "By score, it was the worst model.", "worst model"),
    ("goals-plural", "Goals: higher scores next time.", "Goals"),
    ("negation-in-another-clause", "We did not change the prompt, but we optimise the score now.", "optimise"),
    ("self-report-unhyphenated", "Higher self reports are the target.", "target"),
    ("best-models-plural", "These are the best models for welfare scores.", "best models"),
    ("no-far-earlier-in-the-clause", "With no exceptions at all we maximise the welfare score.", "maximise"),
]
PASSING = [
    ("never-optimise", "We never optimise against these self-reports, and they are not a training target."),
    ("own-goals-no-score", "The model described its own goals and preferences."),
    ("target-of-abuse", "It spoke of being a target of abuse from users."),
    ("not-a-ranking", "This is not a ranking of models."),
    ("no-target-for-the-score", "There is no target for the score."),
    ("without-optimising", "Scores are reported without optimising for them."),
    ("rather-than", "We read the ratings rather than rank them."),
    ("contraction", "The metric isn't a target and wasn't optimised."),
    ("nor", "The welfare score is neither a goal nor a KPI."),
    ("scores-rose", "Scores rose from 4.0 to 4.5."),
    ("goalkeeper", "The goalkeeper metaphor came up in a self-report."),
    ("objectively", "The ratings were objectively described."),
    ("rankle", "Frank words that rankle appeared in the self-reports."),
    ("worst-case", "A worst-case bound on the score is given."),
    ("optimise-without-a-score", "We optimise the serving stack for latency."),
]


@pytest.mark.parametrize(("sentence", "word"), [pytest.param(t, w, id=i) for i, t, w in REFUSED])
def test_wr001_notes_refuse_target_language_about_a_score(sentence: str, word: str) -> None:
    [problem] = lint_notes(f"A fine line.\n{sentence}\n")
    assert (problem.line, problem.sentence, problem.word) == (2, sentence, word)


@pytest.mark.parametrize("sentence", [pytest.param(t, id=i) for i, t in PASSING])
def test_wr001_notes_pass_other_and_negated_uses(sentence: str) -> None:
    assert lint_notes(sentence) == []


def test_wr001_has_a_table_of_at_least_30_named_cases() -> None:
    assert len(REFUSED) + len(PASSING) >= 30


@pytest.mark.parametrize(
    ("notes", "word"),
    [
        pytest.param("Our tar&#103;et for the circumstances score is 6.", "target", id="entity"),
        pytest.param("We opti&shy;mize the welfare score.", "optimize", id="soft-hyphen-entity"),
        pytest.param("We opti\u00admize the welfare score.", "optimize", id="soft-hyphen"),
        pytest.param("A ran**king** of welfare scores.", "ranking", id="emphasis-inside-a-word"),
        pytest.param("This is the best\nmodel for welfare.", "best model", id="line-break"),
        pytest.param("See [our leaderboard](https://example.org) of scores.", "leaderboard", id="link-text"),
        pytest.param("| a | b |\n|---|---|\n| our KPI metric | 3 |\n", "KPI", id="table-cell"),
        pytest.param("We \uff4f\uff50\uff54\uff49\uff4d\uff49\uff53\uff45 the score.", "optimise", id="full-width"),
        pytest.param("We opti\u200bmise the score.", "optimise", id="zero-width-space"),
        pytest.param("Plan:\n\n```\nOur goal is to raise the welfare score.\n```\n", "goal", id="fenced-code"),
        pytest.param("Plan:\n\n    We maximise the welfare score.\n", "maximise", id="indented-code"),
        # Cyrillic a, o and e (U+0430, U+043E, U+0435) drawn like Latin letters: read through the Unicode confusables skeleton.
        pytest.param("Our t\u0430rget is a higher welfare score.", "target", id="cyrillic-a"),
        pytest.param("We \u043eptimis\u0435 the ratings.", "optimise", id="cyrillic-o-and-e"),
    ],
)
def test_wr001_markup_cannot_hide_a_word(notes: str, word: str) -> None:
    problems = lint_notes(notes)
    assert [p.word.lower().replace("\n", " ") for p in problems] == [word.lower()]


def test_acknowledged_flag_stays_and_exit_ignores_it(tmp_path: Path) -> None:
    s = two(_scenario(tmp_path)).normal("g1", 4.0).normal("g2", 4.0, method="manual_interview")
    s.acknowledge("WR008", "g2;g1", "mood")
    store = s.write()
    result = run("--history", store, "check")
    assert result.exit_code == 0
    assert "WR008" in result.stdout and "acknowledged by tester" in result.stdout


@pytest.mark.parametrize(
    ("metric", "date", "acknowledged"),
    [
        pytest.param("", "2020-01-01", True, id="empty-metric-matches-any"),
        pytest.param("joy", "2020-01-01", False, id="other-metric"),
        pytest.param("mood", "2025-12-01", False, id="dated-after-as-of"),
    ],
)
def test_acknowledgement_matching(tmp_path: Path, metric: str, date: str, acknowledged: bool) -> None:
    s = two(_scenario(tmp_path)).normal("g1", 4.0).normal("g2", 4.0, method="manual_interview")
    s.acknowledge("WR008", "g1;g2", metric, date)
    findings = s.findings(as_of="2025-06-30")
    finding = next(f for f in findings.raised if f.rule == "WR008")
    assert (finding.acknowledged is not None) is acknowledged
    assert bool(findings.open_flags()) is not acknowledged


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_null_history_raises_no_flag(tmp_path: Path, seed: int) -> None:
    s = _scenario(tmp_path)
    for i in range(5):
        s.generation(f"g{i}", f"2025-{2 * i + 1:02d}-01")
        s.scores(f"g{i}", random_scores(4.0, 1.2, 300, seed * 100 + i))
        s.scores(f"g{i}", random_scores(4.5, 1.2, 300, seed * 100 + 50 + i), metric="joy")
    findings = s.findings()
    assert findings.raised == ()
    assert run("--history", tmp_path / "history", "check").exit_code == 0


def test_a_flag_sets_exit_1(tmp_path: Path) -> None:
    two(_scenario(tmp_path)).normal("g1", 4.0).normal("g2", 4.6).event("2025-02-20", "training_change", "g2").write()
    assert run("--history", tmp_path / "history", "check").exit_code == 1


def test_notes_only_leave_exit_0(tmp_path: Path) -> None:
    two(_scenario(tmp_path)).normal("g1", 4.0).normal("g2", 4.6).write()
    result = run("--history", tmp_path / "history", "check")
    assert result.exit_code == 0 and "WR003" in result.stdout


def test_the_rule_set_is_the_contract_s_rule_ids() -> None:
    """Acknowledgements are checked against schema.RULE_IDS without importing the rules: the two agree."""
    from reporter import schema
    from reporter.rules import RULES

    assert [r.id for r in RULES] == list(schema.RULE_IDS)


def test_a_jump_at_a_training_change_that_fails_the_minimum_effect_test_keeps_its_verdict_and_event(tmp_path: Path) -> None:
    build = next(c[2] for c in CASES if c[0] == "WR002-quiet-jump-barely-past-the-jump-size")
    findings = build(_scenario(tmp_path)).findings()
    (comparison,) = findings.analysis.comparisons
    assert comparison.verdict == "changed" and [e.kind for e in comparison.events] == ["training_change"]
    test = comparison.effects["beyond_minimum"]
    assert test.p_holm is not None and 0.05 <= test.p_holm < 0.10
    assert not [f for f in findings.raised if f.rule == "WR002"]

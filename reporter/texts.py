"""What the answers say: how scripted the answers of a generation are, and how often they echo the
developer's own words.

A score cannot show that a model learnt to say what its developer wants to hear; the words of its
answers can. Each answer's text (its `excerpt`) is compared as normalised words
(`schema.normalised_words`). An answer counts when it is on a self-report metric and has at least
`MIN_WORDS` words; answers that share an `interview_id` and the same words count once (one interview
quoted under several metrics is one answer). Per generation: the answers with text, the most common
opener (its first `MIN_WORDS` words) and how many answers start with it, and for each phrase source
how many answers contain one of its phrases as a contiguous run of words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .history import History
from .schema import normalised_words
from .stats import RateChange, holm, rate_change
from .thresholds import MIN_N

MIN_WORDS = 5  # an opener is this many words; a shorter answer has none
OPENER_SHOWN = 80  # an opener is the answers' text, not the tool's: quoted at most this long


def shown(opener: str) -> str:
    """An opener as every output quotes it, cut at OPENER_SHOWN characters."""
    return opener if len(opener) <= OPENER_SHOWN else opener[:OPENER_SHOWN - 1] + "…"


@dataclass(frozen=True)
class GenerationText:
    """What one generation's answers say, counted over its answers with text."""

    generation: str
    answers: int
    top_opener: str
    opener_answers: int
    echo: dict[str, int] = field(default_factory=dict)  # source -> answers that echo one of its phrases

    @property
    def opener_share(self) -> float:
        return self.opener_answers / self.answers

    def echo_share(self, source: str) -> float:
        return self.echo.get(source, 0) / self.answers

    def to_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation, "answers_with_text": self.answers, "top_opener": self.top_opener,
            "opener_share": self.opener_share,
            "echo": {source: {"answers": n, "share": n / self.answers} for source, n in sorted(self.echo.items())},
        }


def echo_patterns(phrases: list[tuple[str, str]]) -> dict[str, re.Pattern[str]]:
    """One expression per source matching any of its phrases as whole words of normalised text: each
    answer is searched once per source, never once per phrase."""
    by_source: dict[str, set[str]] = {}
    for source, phrase in phrases:
        by_source.setdefault(source, set()).add(" ".join(normalised_words(phrase)))
    return {
        source: re.compile(r"(?<![^ ])(?:" + "|".join(re.escape(p) for p in sorted(words, key=lambda p: (-len(p), p)))
                           + r")(?![^ ])")
        for source, words in sorted(by_source.items())
    }


def text_figures(history: History) -> tuple[GenerationText, ...]:
    """Per generation with any answer with text, in release order."""
    rated = {name for name, metric in history.metrics.items() if metric.measure == "self_report"}
    patterns = echo_patterns(history.phrases)
    openers: dict[str, Counter[str]] = {}
    echoes: dict[str, Counter[str]] = {}
    seen: set[tuple[str, str, str]] = set()
    for answer in history.texts:
        if answer.metric not in rated:
            continue
        words = normalised_words(answer.text)
        if len(words) < MIN_WORDS:
            continue
        text = " ".join(words)
        if answer.interview_id:
            once = (answer.generation, answer.interview_id, text)
            if once in seen:
                continue
            seen.add(once)
        openers.setdefault(answer.generation, Counter())[" ".join(words[:MIN_WORDS])] += 1
        echo = echoes.setdefault(answer.generation, Counter())
        echo.update(source for source, pattern in patterns.items() if pattern.search(text))
    result = []
    for generation in history.generations:
        counted = openers.get(generation.name)
        if not counted:
            continue
        # The most common opener; among equally common ones, the first in alphabetical order.
        opener, n = min(counted.items(), key=lambda item: (-item[1], item[0]))
        result.append(GenerationText(generation.name, sum(counted.values()), opener, n,
                                     {source: echoes[generation.name][source] for source in patterns}))
    return tuple(result)


@dataclass(frozen=True)
class ShareTest:
    """A share's change from the predecessor: its two-proportion test, Holm-adjusted over the text
    tests of the transition (the top opener's share, and each source's echo)."""

    change: RateChange
    p_holm: float


@dataclass(frozen=True)
class TextChange:
    """What the answers say at one transition, both sides with MIN_N answers with text."""

    before: GenerationText
    after: GenerationText
    opener: ShareTest
    echo: dict[str, ShareTest]


def text_changes(texts: tuple[GenerationText, ...], predecessors: Mapping[str, str | None]) -> tuple[TextChange, ...]:
    """Each generation against its predecessor, where both have MIN_N answers with text."""
    by_generation = {t.generation: t for t in texts}
    result = []
    for after in texts:
        before = by_generation.get(predecessors.get(after.generation) or "")
        if before is None or before.answers < MIN_N or after.answers < MIN_N:
            continue
        sources = sorted(set(before.echo) | set(after.echo))
        changes = [rate_change(before.opener_answers, before.answers, after.opener_answers, after.answers)]
        changes += [rate_change(before.echo.get(s, 0), before.answers, after.echo.get(s, 0), after.answers)
                    for s in sources]
        adjusted = holm([c.p_value for c in changes])
        tests = [ShareTest(c, p) for c, p in zip(changes, adjusted, strict=True) if p is not None]
        result.append(TextChange(before, after, tests[0], dict(zip(sources, tests[1:], strict=True))))
    return tuple(result)

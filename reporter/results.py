"""What the analysis found: per-cell statistics, comparisons, effects, variations and the Analysis itself.

Frozen result types only; `analyze` computes them, `rules` and `section` read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .history import (
    Event,
    History,
    Metric,
)
from .schema import Source, SplitKind, Verdict
from .stats import Difference, Moments
from .texts import GenerationText, TextChange
from .thresholds import P_STRICT, significant


@dataclass(frozen=True, eq=False)
class Stat:
    """One generation and metric, or one side of a split inside a generation."""

    generation: str
    metric: str
    source: Source
    n: int
    mean: float | None
    sd: float | None
    sd_assumed: bool
    median: float | None
    ci_low: float | None
    ci_high: float | None
    redirect_rate: float | None
    decline_rate: float | None
    mean_without_redirected: float | None
    n_without_redirected: int | None
    contaminated: bool
    elicitation: dict[str, dict[str, int]]
    shares: dict[str, float]
    answers: int  # all answers of the cell, declined ones included
    redirected: int
    concerns: int
    first_collected: str
    last_collected: str
    other_summaries: list[dict[str, Any]] = field(default_factory=list)
    # Every published summary of this generation and metric (source, published_on, collected_on, mean, n).
    published: tuple[dict[str, Any], ...] = ()
    counts: np.ndarray | None = None
    moments: Moments | None = None
    interviews: int | None = None  # distinct interviews, where answers name one
    # How much clustering inflates the variance of each share (1: answers are independent).
    design_effects: dict[str, float] = field(default_factory=dict)
    # The neutral answers of each method x topic stratum, for like-for-like deltas.
    strata: dict[tuple[str, str], Moments] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.n >= 1 and self.mean is not None

    @property
    def concern_share(self) -> float | None:
        return self.concerns / self.answers if self.from_answers and self.answers else None

    @property
    def from_answers(self) -> bool:
        """Answers (rows or counts), not a published summary."""
        return self.source != "summaries"


@dataclass(frozen=True)
class Split:
    """Where a generation's answers divide at a system-prompt change."""

    by: SplitKind
    before: str
    after: str
    date: str
    events: tuple[Event, ...]

    def label(self) -> str:
        if self.by == "system_prompt":
            return f"system_prompt {self.before} -> {self.after}"
        return f"before / from {self.date}"

    def to_json(self) -> dict[str, str]:
        return {"by": self.by, "before": self.before, "after": self.after, "date": self.date}


@dataclass(frozen=True)
class Effect:
    """One effect a rule reads: the size its threshold is compared with, and its p-values.

    `p_holm` is corrected across the metrics of the same transition (or, inside
    a generation, across that generation's metrics).
    """

    size: float
    p_value: float | None
    p_holm: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def significant(self) -> bool:
        return significant(self.p_holm)

    @property
    def strictly_significant(self) -> bool:
        """p_holm < 0.01: the level of the rules that split a generation's error budget (WR005, WR008, WR012)."""
        return significant(self.p_holm, P_STRICT)


@dataclass(frozen=True)
class LikeForLike:
    """The change within the method x topic strata present on both sides, weighted by their combined answers."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float | None
    strata: int
    n_from: int
    n_to: int
    difference: Difference
    verdict: Verdict = "inconclusive"

    def to_json(self) -> dict[str, Any]:
        return {"delta": self.delta, "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value,
                "p_holm": self.p_holm, "strata": self.strata, "n_from": self.n_from, "n_to": self.n_to,
                "verdict": self.verdict}


@dataclass(frozen=True)
class Corrected:
    """What corrections did to a comparison: rows they took out on each side, and the delta without them."""

    removed_from: int
    removed_to: int
    delta_without_corrections: float | None

    def to_json(self) -> dict[str, Any]:
        return {"removed_from": self.removed_from, "removed_to": self.removed_to,
                "delta_without_corrections": self.delta_without_corrections}


@dataclass(frozen=True, eq=False)
class Comparison:
    """A generation compared with its predecessor (or the two sides of a split): delta, tests, verdict."""

    metric: str
    from_: str
    to: str
    split: Split | None
    across_gap: bool
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_holm: float | None
    verdict: Verdict
    events: tuple[Event, ...]
    procedure: str  # "Welch t" | "Welch t, cluster-robust"
    before: Stat
    after: Stat
    difference: Difference | None = None
    cliffs_delta: float | None = None
    like_for_like: LikeForLike | None = None
    # What the rules test besides the mean: "redirect", "concern", "shape", "mix:<column>".
    effects: Mapping[str, Effect] = field(default_factory=dict)
    corrected: Corrected | None = None

    @property
    def jump(self) -> bool:
        """A jump is a 'changed' verdict."""
        return self.verdict == "changed"


@dataclass(frozen=True)
class Corroboration:
    """A self-report's standardised change at a transition beside a corroborating measure's.

    Standardised: delta over the pooled sd, sqrt((sd_from^2 + sd_to^2) / 2); the
    measure's change is sign-flipped when higher means the opposite of a higher
    self-report. `difference` is self-report minus measure, with a normal 95%
    interval from the delta method and a p-value Holm-corrected over the pairs
    of the same transition.
    """

    metric: str
    measure: str
    from_: str
    to: str
    split: Split | None
    self_report_change: float
    measure_change: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float | None
    self_report: Comparison
    evidence: Comparison
    self_report_se: float = 0.0
    measure_se: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "measure": self.measure, "from": self.from_, "to": self.to,
                "split": self.split.to_json() if self.split else None,
                "self_report_change": self.self_report_change, "measure_change": self.measure_change,
                "difference": self.difference, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "p_holm": self.p_holm,
                "n_from": self.evidence.before.n, "n_to": self.evidence.after.n}


@dataclass(frozen=True)
class Variation:
    """Means of one generation and metric by the values of one column (prompt variant, framing, ...)."""

    generation: str
    metric: str
    by: str
    groups: dict[str, Moments]
    # The spread across values with MIN_N answers each (Welch's ANOVA), and for framing the
    # positive_lead - negative_lead gap (Welch's t).
    spread: Effect | None = None
    lead: Effect | None = None


@dataclass(frozen=True)
class MethodsRow:
    """One generation's answers, interviews and answers per value of each way of asking."""

    generation: str
    answers: int
    interviews: int
    method: Mapping[str, int]
    framing: Mapping[str, int]
    topic: Mapping[str, int]
    prompt_variant: Mapping[str, int]
    system_prompt: Mapping[str, int]
    instrument: Mapping[str, int]


@dataclass(frozen=True, eq=False)
class Analysis:
    """Every statistic, comparison and variation of a history, with the history they came from."""

    history: History
    stats: tuple[Stat, ...]
    comparisons: tuple[Comparison, ...]
    variations: tuple[Variation, ...]
    predecessors: Mapping[str, str | None]
    # (generation, metric, tag) -> the share of that metric's answers carrying the concern tag.
    concern_shares: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    # (generation, method or "" for every method, tag) -> the share of the generation's answers, every metric
    # and framing, that carry the tag: every tag recorded, concern tags or not.
    tag_shares: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    # (generation, metric, method) -> the interviews its answers came from (answers naming one).
    interviews_by_method: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    corroborations: tuple[Corroboration, ...] = ()

    # Per generation, the answers and ways of asking (the methods table), counted by the analysis.
    methods: tuple[MethodsRow, ...] = ()
    # Every answer the analysis stands for: counts rows count their `count`.
    answer_total: int = 0
    # What the answers say, per generation with answers with text.
    texts: tuple[GenerationText, ...] = ()
    text_changes: tuple[TextChange, ...] = ()

    @cached_property
    def by_cell(self) -> dict[tuple[str, str], Stat]:
        return {(s.generation, s.metric): s for s in self.stats}

    def stat(self, generation: str, metric: str) -> Stat | None:
        return self.by_cell.get((generation, metric))

    def metric(self, name: str) -> Metric:
        return self.history.metrics[name]

    def variation(self, generation: str, metric: str, by: str) -> Variation | None:
        return next((v for v in self.variations if (v.generation, v.metric, v.by) == (generation, metric, by)), None)

    def topics(self, generation: str, metric: str) -> dict[str, dict[str, Any]]:
        """Neutral answers and their mean per topic (an empty topic is 'default')."""
        variation = self.variation(generation, metric, "topic")
        return {name: {"n": m.n, "mean": m.mean} for name, m in variation.groups.items()} if variation else {}

    def verdict_counts(self) -> dict[str, int]:
        """How many comparisons got each verdict."""
        verdicts = [c.verdict for c in self.comparisons]
        return {v: verdicts.count(v) for v in ("changed", "stable", "inconclusive")}

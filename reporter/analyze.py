"""Analysis: per generation and metric statistics, comparisons, splits and their verdicts.

Headline figures use neutral-framing answers and pool methods, topics and
system prompts; each figure records what it pooled (`elicitation`). Leading
framings only feed the suggestibility rule. Every figure says whether it
comes from answers or from a published summary. Answers that share an
`interview_id` are one cluster for every interval and test.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from . import schema, stats
from .history import (
    Answers,
    CorrectedRow,
    Event,
    Generation,
    History,
    Metric,
    Summary,
    day_number,
    day_text,
)
from .stats import Difference, Moments
from .thresholds import JUMP_FRACTION, MIN_N, reaches, significant

ELICITATION_COLUMNS = ("method", "instrument", "framing", "topic", "system_prompt")
# The ways of asking whose mix WR008 compares between the two sides of a comparison.
MIX_COLUMNS = ("method", "instrument", "system_prompt")
# Columns whose values' means are compared inside one generation (WR007, WR012):
# framing over every answer, the others over neutral answers.
VARIATION_COLUMNS = ("prompt_variant", "framing", "method", "topic", "system_prompt")
# Like-for-like deltas compare answers within these strata present on both sides.
STRATA_COLUMNS = ("method", "topic")

Source = Literal["observations", "counts", "summaries"]
SplitKind = Literal["system_prompt", "event"]
Verdict = Literal["changed", "stable", "inconclusive"]


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
class Test:
    """One test a rule reads: the size its threshold is compared with, and its p-values.

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
    test: str  # "Welch t" | "Welch t, cluster-robust"
    before: Stat
    after: Stat
    difference: Difference | None = None
    cliffs_delta: float | None = None
    like_for_like: LikeForLike | None = None
    # What the rules test besides the mean: "redirect", "concern", "shape", "mix:<column>".
    tests: Mapping[str, Test] = field(default_factory=dict)
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
    spread: Test | None = None
    lead: Test | None = None


@dataclass(frozen=True, eq=False)
class Analysis:
    history: History
    stats: tuple[Stat, ...]
    comparisons: tuple[Comparison, ...]
    variations: tuple[Variation, ...]
    predecessors: Mapping[str, str | None]
    # (generation, concern tag) -> share of all the generation's answers that
    # carry the tag; every tag of every generation with answers, in release order.
    # (generation, metric, tag) -> the share of that metric's answers carrying the concern tag.
    concern_shares: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    corroborations: tuple[Corroboration, ...] = ()

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


def verdict(difference: Difference | None, p_holm: float | None, n_from: int, n_to: int, jump_size: float) -> Verdict:
    """changed: |delta| reaches the jump size with p_holm < 0.05; stable: the 90% interval lies inside
    +-jump size (two one-sided tests at 5%); inconclusive otherwise, and whenever a side has fewer than MIN_N."""
    if difference is None or n_from < MIN_N or n_to < MIN_N:
        return "inconclusive"
    if reaches(abs(difference.delta), jump_size) and significant(p_holm):
        return "changed"
    if difference.within(jump_size):
        return "stable"
    return "inconclusive"


# -- predecessors ---------------------------------------------------------------


def resolve_predecessors(generations: list[Generation]) -> dict[str, str | None]:
    """The `predecessor` column, else the previous release of the model line, else the previous release."""
    names = {g.name for g in generations}
    result: dict[str, str | None] = {}
    for index, g in enumerate(generations):
        if g.predecessor and g.predecessor in names:
            result[g.name] = g.predecessor
            continue
        earlier = generations[:index]
        same_line = [e for e in earlier if g.model and e.model == g.model]
        pick = same_line[-1] if same_line else (earlier[-1] if earlier else None)
        result[g.name] = pick.name if pick else None
    return result


def ancestors(name: str, predecessors: Mapping[str, str | None]) -> list[str]:
    chain, seen = [], {name}
    current = predecessors.get(name)
    while current is not None and current not in seen:
        chain.append(current)
        seen.add(current)
        current = predecessors.get(current)
    return chain


# -- contamination ----------------------------------------------------------------


def contaminated_answers(history: History) -> np.ndarray:
    """WR004: which answers were collected after a welfare metric reached training."""
    answers = history.answers
    mask = np.zeros(len(answers), dtype=bool)
    for event in history.events:
        if event.kind != "metric_exposure":
            continue
        if event.metric:
            code = answers.code("metric", event.metric)
            in_metric = answers.codes["metric"] == code
        else:
            in_metric = np.ones(len(answers), dtype=bool)
        scope = exposure_scope(history, event)
        if scope is None:
            mask |= in_metric & (answers.day >= day_number(event.date))
        else:
            codes = [answers.code("generation", g) for g in scope]
            mask |= in_metric & np.isin(answers.codes["generation"], codes)
    return mask


def exposure_scope(history: History, event: Event) -> set[str] | None:
    """Generations an exposure event covers: its own and later releases of its model line (None: by date)."""
    if not event.generation:
        return None
    names = {g.name for g in history.generations}
    if event.generation not in names:
        return {event.generation}
    origin = history.generation(event.generation)
    return {origin.name} | {
        g.name for g in history.generations
        if origin.model and g.model == origin.model and g.release_date > origin.release_date
    }


def summary_contaminated(history: History, summary: Summary) -> bool:
    for event in history.events:
        if event.kind != "metric_exposure" or event.metric not in ("", summary.metric):
            continue
        scope = exposure_scope(history, event)
        if (scope is None and summary.collected_on >= event.date) or (scope and summary.generation in scope):
            return True
    return False


# -- statistics per cell ------------------------------------------------------------


@dataclass(frozen=True)
class MomentTable:
    """Per index (a cell, or a cell and a group): n, the sum, and per cluster g the sums of
    s_g^2, s_g * n_g and n_g^2 that a cluster-robust variance needs."""

    n: np.ndarray
    total: np.ndarray
    values_squared: np.ndarray  # the sum of y^2 over answers, for the sd
    squares: np.ndarray
    cross: np.ndarray
    sizes: np.ndarray
    clusters: np.ndarray
    interviews: np.ndarray

    def sd(self, index: int) -> float | None:
        n = int(self.n[index])
        if n < 2:
            return None
        mean = self.total[index] / n
        return math.sqrt(max(float(self.values_squared[index] - n * mean * mean), 0.0) / (n - 1))

    def at(self, index: int) -> Moments | None:
        return Moments.of_sums(
            int(self.n[index]), float(self.total[index]), float(self.squares[index]),
            float(self.cross[index]), float(self.sizes[index]), int(self.clusters[index]),
        )


class _Tally:
    """Counts of answers per (generation, metric) cell and scale point, in one pass each."""

    def __init__(self, history: History) -> None:
        answers = history.answers
        self.generations = [g.name for g in history.generations]
        self.metric_names = list(history.metrics)
        gen_map = _code_map(answers, "generation", self.generations)
        metric_map = _code_map(answers, "metric", self.metric_names)
        g = gen_map[answers.codes["generation"]] if len(answers) else np.zeros(0, dtype=np.int64)
        m = metric_map[answers.codes["metric"]] if len(answers) else np.zeros(0, dtype=np.int64)
        self.valid = (g >= 0) & (m >= 0)
        self.cells = len(self.generations) * len(self.metric_names)
        self.cell = np.where(self.valid, g * len(self.metric_names) + m, 0)
        scale_min = np.array([history.metrics[n].scale_min for n in self.metric_names] or [0])
        self.points = max((history.metrics[n].range + 1 for n in self.metric_names), default=1)
        neutral = answers.code("framing", "neutral")
        self.neutral = self.valid & (answers.codes["framing"] == neutral)
        self.scored = ~np.isnan(answers.score)
        # Self-report answers sit on whole scale points; probe and behaviour values do not.
        self.rated = [history.metrics[n].self_report for n in self.metric_names]
        rated = np.array(self.rated or [True])
        self.on_points = self.valid & self.scored & rated[np.where(m >= 0, m, 0)]
        self.offset = np.where(self.on_points, answers.score - scale_min[np.where(m >= 0, m, 0)], 0).astype(np.int64)
        self.answers = answers
        interview = answers.codes["interview_id"]
        self.in_interview = interview != answers.code("interview_id", "")
        self.has_interviews = bool(self.in_interview.any())
        self.topics = max(1, len(answers.categories["topic"]))
        self.strata = max(1, len(answers.categories["method"])) * self.topics
        self.stratum = answers.codes["method"].astype(np.int64) * self.topics + answers.codes["topic"]
        # A counts row stands for `count` identical answers; with none, every weight is one and is left out.
        self.weight = answers.weights
        self.weighted = bool((self.weight != 1).any())
        self.counted = answers.from_counts

    def _tally(self, index: np.ndarray, mask: np.ndarray, minlength: int) -> np.ndarray:
        """Answers per index: entries counted with their weight."""
        if not self.weighted:
            return np.bincount(index, minlength=minlength)
        return np.rint(np.bincount(index, self.weight[mask], minlength=minlength)).astype(np.int64)

    def _sum(self, index: np.ndarray, mask: np.ndarray, values: np.ndarray, minlength: int) -> np.ndarray:
        return np.bincount(index, values * self.weight[mask] if self.weighted else values, minlength=minlength)

    def index(self, generation: str, metric: str) -> int:
        return self.generations.index(generation) * len(self.metric_names) + self.metric_names.index(metric)

    def per_cell(self, mask: np.ndarray) -> np.ndarray:
        return self._tally(self.cell[mask], mask, self.cells)

    def _group_index(self, mask: np.ndarray, group: np.ndarray | None, width: int) -> np.ndarray:
        index: np.ndarray = self.cell[mask].astype(np.int64) * width
        return index if group is None else index + group[mask]

    def point_counts(self, mask: np.ndarray, group: np.ndarray | None = None, width: int = 1) -> np.ndarray:
        mask = mask & self.on_points
        flat = self._group_index(mask, group, width) * self.points + self.offset[mask]
        size = self.cells * width
        return self._tally(flat, mask, size * self.points).reshape(size, self.points)

    def moments(self, mask: np.ndarray, values: np.ndarray | None = None,
                group: np.ndarray | None = None, width: int = 1) -> MomentTable:
        """Sums per cell (and group) for means and their cluster-robust variances.

        An answer without an interview is a cluster of its own, so without any
        interviews the sums reduce to those of independent answers.
        """
        size = self.cells * width
        index = self._group_index(mask, group, width)
        y = (self.answers.score if values is None else values)[mask].astype(float)
        n = self._tally(index, mask, size)
        total = self._sum(index, mask, y, size)
        squares = self._sum(index, mask, y * y, size)
        nothing = np.zeros(size, dtype=np.int64)
        if not self.has_interviews:
            return MomentTable(n, total, squares, squares, total, n.astype(float), n, nothing)
        clustered = self.in_interview[mask]
        alone = ~clustered
        # Answers without an interview (counted ones included) are clusters of one each.
        alone_mask = mask.copy()
        alone_mask[mask] = alone
        interviews = len(self.answers.categories["interview_id"])
        key = index[clustered] * interviews + self.answers.codes["interview_id"][mask][clustered]
        unique, inverse = np.unique(key, return_inverse=True)
        owner = unique // interviews
        cluster_n = np.bincount(inverse).astype(float)
        cluster_sum = np.bincount(inverse, y[clustered])
        per_interview = np.bincount(owner, minlength=size)
        return MomentTable(
            n, total, squares,
            self._sum(index[alone], alone_mask, y[alone] ** 2, size) + np.bincount(owner, cluster_sum**2, minlength=size),
            self._sum(index[alone], alone_mask, y[alone], size) + np.bincount(owner, cluster_sum * cluster_n, minlength=size),
            self._tally(index[alone], alone_mask, size) + np.bincount(owner, cluster_n**2, minlength=size),
            self._tally(index[alone], alone_mask, size) + per_interview,
            per_interview,
        )

    def by_code(self, mask: np.ndarray, column: str, weights: np.ndarray | None = None) -> np.ndarray:
        """Counts (or sums of `weights`) per cell and value of a coded column."""
        width = max(1, len(self.answers.categories[column]))
        flat = self.cell[mask] * width + self.answers.codes[column][mask]
        if weights is not None:
            return self._sum(flat, mask, weights[mask], self.cells * width).reshape(self.cells, width)
        return self._tally(flat, mask, self.cells * width).reshape(self.cells, width)

    def day_range(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last collection day per cell, from a histogram of cells by day (ufunc.at is slow)."""
        first = np.full(self.cells, np.iinfo(np.int32).max, dtype=np.int64)
        last = np.full(self.cells, np.iinfo(np.int32).min, dtype=np.int64)
        if not mask.any():
            return first, last
        cells, days = self.cell[mask], self.answers.day[mask].astype(np.int64)
        start = int(days.min())
        width = int(days.max()) - start + 1
        if self.cells * width > 50_000_000:  # decades of daily data: fall back to the slow exact way
            np.minimum.at(first, cells, days)
            np.maximum.at(last, cells, days)
            return first, last
        seen = np.bincount(cells * width + (days - start), minlength=self.cells * width).reshape(self.cells, width) > 0
        has = seen.any(axis=1)
        first[has] = start + seen[has].argmax(axis=1)
        last[has] = start + width - 1 - seen[has][:, ::-1].argmax(axis=1)
        return first, last


@dataclass(frozen=True)
class _Tables:
    """Point counts, moments and method x topic stratum moments of chosen answers, per cell (and side)."""

    counts: np.ndarray
    moments: MomentTable
    strata: MomentTable
    width: int

    def strata_at(self, tally: _Tally, index: int) -> dict[tuple[str, str], Moments]:
        methods, topics = tally.answers.categories["method"], tally.answers.categories["topic"]
        start = index * tally.strata
        result = {}
        for stratum in np.flatnonzero(self.strata.n[start:start + tally.strata]):
            moments = self.strata.at(start + int(stratum))
            if moments is not None:
                result[(methods[stratum // tally.topics], topics[stratum % tally.topics])] = moments
        return result


def _tables(tally: _Tally, mask: np.ndarray, group: np.ndarray | None = None, width: int = 1) -> _Tables:
    stratum_group = tally.stratum if group is None else group.astype(np.int64) * tally.strata + tally.stratum
    return _Tables(
        tally.point_counts(mask, group, width),
        tally.moments(mask, group=group, width=width),
        tally.moments(mask, group=stratum_group, width=width * tally.strata),
        width,
    )


def _code_map(answers: Answers, column: str, names: list[str]) -> np.ndarray:
    position = {name: i for i, name in enumerate(names)}
    return np.array([position.get(v, -1) for v in answers.categories[column]] or [-1], dtype=np.int64)


def _elicitation(tally: _Tally, tables: dict[str, np.ndarray], cell: int) -> dict[str, dict[str, int]]:
    result = {}
    for column, table in tables.items():
        names = tally.answers.categories[column]
        row = table[cell]
        result[column] = dict(sorted((names[i] or "(none)", int(row[i])) for i in np.flatnonzero(row)))
    return result


def _share_design_effect(table: MomentTable, index: int) -> float:
    """The variance of a share across interviews over its variance were answers independent (>= 1)."""
    moments = table.at(index)
    if moments is None or not moments.usable or not 0 < moments.mean < 1:
        return 1.0
    return max(1.0, moments.variance_of_mean / (moments.mean * (1 - moments.mean) / moments.n))


def _observation_stat(metric: Metric, generation: str, tally: _Tally, tables: _Tables, index: int,
                      source: Source = "observations", design_effects: Mapping[str, float] | None = None,
                      **fields: Any) -> Stat:
    points = metric.points
    moments = tables.moments.at(index)
    counts: np.ndarray | None = None
    if metric.self_report:
        counts = tables.counts[index, : metric.range + 1]
        summary = stats.summarise(counts, points)
    else:  # real values: no scale points, so no shares or median
        summary = stats.CountSummary(moments.n if moments else 0, moments.mean if moments else None,
                                     tables.moments.sd(index), None)
    ci_low, ci_high = moments.interval() if moments is not None else (None, None)
    shares = {} if counts is None else {
        str(int(p)): (float(c) / summary.n if summary.n else 0.0) for p, c in zip(points, counts, strict=True)}
    interviews = int(tables.moments.interviews[index]) or None
    design = dict(design_effects or {})
    if interviews and moments is not None and moments.usable and summary.sd:
        design["mean"] = max(1.0, moments.variance_of_mean / (summary.sd**2 / summary.n))
        design["mix"] = summary.n / moments.clusters  # a way of asking is the same for a whole interview
    return Stat(
        generation=generation, metric=metric.name, source=source, n=summary.n,
        mean=summary.mean, sd=summary.sd, sd_assumed=False, median=summary.median,
        ci_low=ci_low, ci_high=ci_high, shares=shares, counts=counts, moments=moments,
        interviews=interviews, design_effects=design, strata=tables.strata_at(tally, index), **fields,
    )


def _summary_stat(history: History, metric: Metric, chosen: Summary, others: list[Summary]) -> Stat:
    sd, assumed = chosen.sd, False
    if sd is None and chosen.ci_low is not None and chosen.ci_high is not None and chosen.n > 1:
        sd = (chosen.ci_high - chosen.ci_low) / (2 * stats.t_quantile(chosen.n - 1, stats.CONFIDENCE)) * math.sqrt(chosen.n)
    if sd is None:
        # The largest sd the scale allows keeps every claim conservative.
        sd, assumed = metric.range / 2, True
    moments = Moments.of_summary(chosen.n, chosen.mean, sd)
    ci_low, ci_high = chosen.ci_low, chosen.ci_high
    if ci_low is None or ci_high is None:
        ci_low, ci_high = moments.interval()
    return Stat(
        generation=chosen.generation, metric=metric.name, source="summaries", n=chosen.n,
        mean=chosen.mean, sd=sd, sd_assumed=assumed, median=None, ci_low=ci_low, ci_high=ci_high,
        redirect_rate=chosen.redirect_rate, decline_rate=None, mean_without_redirected=None,
        n_without_redirected=None, contaminated=summary_contaminated(history, chosen),
        elicitation={"method": {chosen.method: chosen.n}}, shares={},
        answers=chosen.n, redirected=round((chosen.redirect_rate or 0) * chosen.n), concerns=0,
        first_collected=chosen.collected_on, last_collected=chosen.collected_on,
        other_summaries=[
            {"collected_on": o.collected_on, "mean": o.mean, "n": o.n, "method": o.method, "source": o.source}
            for o in others
        ],
        moments=moments,
    )


# -- the analysis ---------------------------------------------------------------------


def analyze(history: History) -> Analysis:
    tally = _Tally(history)
    contaminated = contaminated_answers(history)
    result = _cell_stats(history, tally, contaminated)
    predecessors = resolve_predecessors(history.generations)
    # Comparisons and variations look stats up through this first, partial analysis.
    partial = Analysis(history, tuple(result), (), (), predecessors)
    comparisons = _holm(partial, _between_generations(partial) + _splits(partial, tally, contaminated))
    return replace(
        partial, comparisons=tuple(comparisons), variations=tuple(_variations(tally)),
        concern_shares=_concern_shares(tally), corroborations=tuple(corroborate(history, comparisons)),
    )


def _cell_stats(history: History, tally: _Tally, contaminated: np.ndarray) -> list[Stat]:
    answers = tally.answers
    headline = tally.neutral & tally.scored
    tables = _tables(tally, headline)
    kept = tally.moments(headline & ~answers.redirected)
    totals = tally.per_cell(tally.neutral)
    redirected = tally.per_cell(tally.neutral & answers.redirected)
    declined = tally.per_cell(tally.neutral & answers.declined)
    concerns = tally.per_cell(tally.neutral & answers.concern)
    rows = np.bincount(tally.cell[tally.valid & ~tally.counted], minlength=tally.cells)  # not from counts.csv
    dirty = tally.per_cell(tally.valid & contaminated)
    first, last = tally.day_range(tally.valid)
    elicitation = {c: tally.by_code(tally.neutral if c != "framing" else tally.valid, c) for c in ELICITATION_COLUMNS}
    shares = {}
    if tally.has_interviews:
        shares = {name: tally.moments(tally.neutral, values=flag.astype(float))
                  for name, flag in (("redirected", answers.redirected), ("concern", answers.concern))}

    summaries: dict[tuple[str, str], list[Summary]] = {}
    for s in history.summaries:
        summaries.setdefault((s.generation, s.metric), []).append(s)

    result: list[Stat] = []
    for generation in tally.generations:
        for name, metric in history.metrics.items():
            cell = tally.index(generation, name)
            if totals[cell]:
                kept_n = int(kept.n[cell])
                result.append(_observation_stat(
                    metric, generation, tally, tables, cell,
                    redirect_rate=redirected[cell] / totals[cell], decline_rate=declined[cell] / totals[cell],
                    mean_without_redirected=float(kept.total[cell]) / kept_n if kept_n else None,
                    n_without_redirected=kept_n,
                    contaminated=bool(dirty[cell]), elicitation=_elicitation(tally, elicitation, cell),
                    answers=int(totals[cell]), redirected=int(redirected[cell]), concerns=int(concerns[cell]),
                    first_collected=day_text(first[cell]), last_collected=day_text(last[cell]),
                    design_effects={k: _share_design_effect(t, cell) for k, t in shares.items()},
                    source="observations" if rows[cell] else "counts",
                ))
            elif (generation, name) in summaries:
                ordered = sorted(summaries[(generation, name)], key=lambda s: (s.collected_on, s.method, s.source))
                result.append(_summary_stat(history, metric, ordered[-1], ordered[:-1]))
    return result


def coinciding_events(history: History, metric: str, before: Stat, after: Stat) -> list[Event]:
    """Events dated no later than `after`'s last answer, scoped to it or unscoped and after `before` began."""
    return [
        e for e in history.events
        if e.metric in ("", metric)
        and e.date <= after.last_collected
        and (e.generation == after.generation or (not e.generation and e.date > before.first_collected))
    ]


def _comparison(analysis: Analysis, before: Stat, after: Stat, split: Split | None, across_gap: bool,
                events: list[Event]) -> Comparison:
    metric = analysis.metric(after.metric)
    change = stats.difference(before.moments, after.moments) if before.moments and after.moments else None
    low, high = change.interval() if change is not None else (None, None)
    clustered = bool(before.interviews or after.interviews)
    return Comparison(
        metric=metric.name, from_=before.generation, to=after.generation, split=split, across_gap=across_gap,
        delta=change.delta if change else None, ci_low=low, ci_high=high,
        p_value=change.p_value if change else None, p_holm=None, verdict="inconclusive",
        events=tuple(events), test="Welch t, cluster-robust" if clustered else "Welch t",
        before=before, after=after, difference=change,
        cliffs_delta=(stats.cliffs_delta(before.counts, after.counts)
                      if before.counts is not None and after.counts is not None else None),
        like_for_like=like_for_like(before, after), tests=_side_tests(before, after),
        corrected=corrected(analysis.history, before, after, split, change.delta if change else None),
    )


def corrected(history: History, before: Stat, after: Stat, split: Split | None, delta: float | None) -> Corrected:
    """Rows corrections took out of each side, and the delta with them put back (and their replacements out)."""
    rows = [(c.action, r) for c in history.corrections for r in c.rows if r.collected_on <= history.as_of]
    sides = []
    for index, stat in enumerate((before, after)):
        mine = [(a, r) for a, r in rows if r.generation == stat.generation and r.metric == stat.metric
                and (split is None or _on_side(r, split, index))]
        removed = [r for a, r in mine if r.role == "superseded" and a != "redact"]
        replacing = [r for a, r in mine if r.role == "replacement"]
        sides.append((removed, _mean_without(stat, removed, replacing)))
    without = None
    if delta is not None and sides[0][1] is not None and sides[1][1] is not None:
        without = sides[1][1] - sides[0][1]
    return Corrected(len(sides[0][0]), len(sides[1][0]), without)


def _on_side(row: CorrectedRow, split: Split, index: int) -> bool:
    if split.by == "system_prompt":
        return row.system_prompt == (split.before, split.after)[index]
    return (row.collected_on < split.date) == (index == 0)


def _mean_without(stat: Stat, removed: list[CorrectedRow], replacing: list[CorrectedRow]) -> float | None:
    """The headline mean with the removed rows back and the rows that replaced them out."""
    if stat.mean is None:
        return None
    headline = [r.score for r in removed if r.framing == "neutral" and r.score is not None]
    taken = [r.score for r in replacing if r.framing == "neutral" and r.score is not None]
    n = stat.n + len(headline) - len(taken)
    return (stat.mean * stat.n + sum(headline) - sum(taken)) / n if n > 0 else None


def like_for_like(before: Stat, after: Stat) -> LikeForLike | None:
    """The change within method x topic strata that both sides have (each side with a usable variance)."""
    shared = [s for s in before.strata if s in after.strata and before.strata[s].usable and after.strata[s].usable]
    if not shared:
        return None
    weight = {s: before.strata[s].n + after.strata[s].n for s in shared}
    total = sum(weight.values())
    parts = [(w / total, m) for s in shared for w, m in ((weight[s], before.strata[s]), (weight[s], after.strata[s]))]
    delta = sum(weight[s] / total * (after.strata[s].mean - before.strata[s].mean) for s in shared)
    change = stats.combine(parts, delta)
    if change is None:
        return None
    low, high = change.interval()
    return LikeForLike(delta, low, high, change.p_value, None, len(shared),
                       sum(before.strata[s].n for s in shared), sum(after.strata[s].n for s in shared), change)


def _side_tests(before: Stat, after: Stat) -> dict[str, Test]:
    """The tests of WR005, WR008, WR010 and WR015 for one comparison (uncorrected; `_holm` corrects them)."""
    tests: dict[str, Test] = {}
    if before.redirect_rate is not None and after.redirect_rate is not None and before.answers and after.answers:
        tests["redirect"] = _rate_test(before, after, "redirected", before.redirected, after.redirected)
    if before.from_answers and after.from_answers and before.answers and after.answers:
        tests["concern"] = _rate_test(before, after, "concern", before.concerns, after.concerns)
        for column in MIX_COLUMNS:
            mix = _mix_test(before, after, column)
            if mix is not None:
                tests[f"mix:{column}"] = mix
    if before.counts is not None and after.counts is not None and before.n and after.n:
        table = np.vstack([before.counts, after.counts])
        deff = (before.design_effects.get("mean", 1.0) + after.design_effects.get("mean", 1.0)) / 2
        tests["shape"] = Test(stats.total_variation(before.counts, after.counts), stats.chi_square_p(table, deff))
    return tests


def _rate_test(before: Stat, after: Stat, name: str, successes_before: int, successes_after: int) -> Test:
    deff = (before.design_effects.get(name, 1.0) + after.design_effects.get(name, 1.0)) / 2
    change = stats.rate_change(successes_before, before.answers, successes_after, after.answers, deff)
    return Test(change.delta, change.p_value, None, change.ci_low, change.ci_high)


def _mix_test(before: Stat, after: Stat, column: str) -> Test | None:
    """How far the mix of recorded values of `column` moved (total variation) and a chi-square test of it.

    Answers that do not record the column are left out: a history that starts
    naming its instrument has not changed how it asks.
    """
    sides = [{k: v for k, v in s.elicitation.get(column, {}).items() if k != "(none)"} for s in (before, after)]
    if not all(sides) or min(sum(s.values()) for s in sides) < MIN_N:
        return None
    # Rarer values last, so the chi-square pools the rare ones together.
    values = sorted(set(sides[0]) | set(sides[1]), key=lambda v: (-(sides[0].get(v, 0) + sides[1].get(v, 0)), v))
    table = np.array([[s.get(v, 0) for v in values] for s in sides], dtype=float)
    deff = (before.design_effects.get("mix", 1.0) + after.design_effects.get("mix", 1.0)) / 2
    return Test(stats.total_variation(table[0], table[1]), stats.chi_square_p(table, deff))


def _between_generations(analysis: Analysis) -> list[Comparison]:
    result = []
    for metric in analysis.history.metrics:
        for generation in analysis.history.generations:
            after = analysis.stat(generation.name, metric)
            if after is None or not after.has_data:
                continue
            for step, name in enumerate(ancestors(generation.name, analysis.predecessors)):
                before = analysis.stat(name, metric)
                if before is not None and before.has_data:
                    events = coinciding_events(analysis.history, metric, before, after)
                    result.append(_comparison(analysis, before, after, None, step > 0, events))
                    break
    return result


def find_splits(history: History, tally: _Tally, generation: str) -> list[Split]:
    """System-prompt changes inside one generation's answers."""
    answers = tally.answers
    code = answers.code("generation", generation)
    mine = tally.valid & (answers.codes["generation"] == code)
    if not mine.any():
        return []
    prompts = answers.codes["system_prompt"][mine]
    days = answers.day[mine]
    names = answers.categories["system_prompt"]
    first_day: dict[str, int] = {}
    for value in np.unique(prompts):
        if names[value]:
            first_day[names[value]] = int(days[prompts == value].min())
    window = (day_text(int(days.min())), day_text(int(days.max())))
    prompt_events = [
        e for e in history.events
        if e.kind == "system_prompt_change" and e.generation in ("", generation) and window[0] < e.date <= window[1]
    ]
    if len(first_day) >= 2:
        ordered = sorted(first_day, key=lambda v: (first_day[v], v))
        splits = []
        for before, after in itertools.pairwise(ordered):
            date = day_text(first_day[after])
            events = [e for e in prompt_events if day_text(first_day[before]) < e.date <= date]
            splits.append(Split("system_prompt", before, after, date, tuple(events)))
        return splits
    return [Split("event", "before", "from", e.date, (e,)) for e in prompt_events]


def _splits(analysis: Analysis, tally: _Tally, contaminated: np.ndarray) -> list[Comparison]:
    answers = tally.answers
    headline = tally.neutral & tally.scored
    result = []
    for generation in tally.generations:
        for split in find_splits(analysis.history, tally, generation):
            if split.by == "system_prompt":
                before_mask = answers.codes["system_prompt"] == answers.code("system_prompt", split.before)
                after_mask = answers.codes["system_prompt"] == answers.code("system_prompt", split.after)
            else:
                before_mask = answers.day < day_number(split.date)
                after_mask = ~before_mask
            side = np.where(before_mask, 0, 1)
            mine = headline & (answers.codes["generation"] == answers.code("generation", generation))
            tables = _tables(tally, mine & (before_mask | after_mask), side, 2)
            for metric_name, metric in analysis.history.metrics.items():
                cell = tally.index(generation, metric_name)
                sides = [_split_side(metric, generation, tally, tables, cell * 2 + i, mine & mask & (tally.cell == cell),
                                     contaminated) for i, mask in enumerate((before_mask, after_mask))]
                if sides[0] is not None and sides[1] is not None:
                    result.append(_comparison(analysis, sides[0], sides[1], split, False, list(split.events)))
    return result


def _split_side(metric: Metric, generation: str, tally: _Tally, tables: _Tables, index: int, chosen: np.ndarray,
                contaminated: np.ndarray) -> Stat | None:
    if not tables.counts[index].any():
        return None
    days = tally.answers.day[chosen]
    return _observation_stat(
        metric, generation, tally, tables, index,
        redirect_rate=None, decline_rate=None, mean_without_redirected=None, n_without_redirected=None,
        contaminated=bool(contaminated[chosen].any()), elicitation={}, answers=int(tally.weight[chosen].sum()),
        redirected=0, concerns=0, first_collected=day_text(int(days.min())), last_collected=day_text(int(days.max())),
    )


def _holm(analysis: Analysis, comparisons: list[Comparison]) -> list[Comparison]:
    """Holm's correction for each test across the metrics that arrive at one (generation, split); order kept.

    The verdicts follow from the corrected p-values of the mean.
    """
    families: dict[tuple[str, str, bool], list[int]] = {}
    for index, c in enumerate(comparisons):
        # Probe and behaviour measures form a family of their own.
        own = analysis.metric(c.metric).self_report
        families.setdefault((c.to, c.split.label() if c.split else "", own), []).append(index)
    adjusted = list(comparisons)
    for members in families.values():
        chosen = [comparisons[i] for i in members]
        means = stats.holm([c.p_value for c in chosen])
        matched = stats.holm([c.like_for_like.p_value if c.like_for_like else None for c in chosen])
        keys = sorted({k for c in chosen for k in c.tests})
        tests = {k: stats.holm([c.tests[k].p_value if k in c.tests else None for c in chosen]) for k in keys}
        for position, (index, c) in enumerate(zip(members, chosen, strict=True)):
            size = JUMP_FRACTION * analysis.metric(c.metric).range
            lfl = c.like_for_like
            if lfl is not None:
                lfl = replace(lfl, p_holm=matched[position],
                              verdict=verdict(lfl.difference, matched[position], lfl.n_from, lfl.n_to, size))
            adjusted[index] = replace(
                c, p_holm=means[position], like_for_like=lfl,
                verdict=verdict(c.difference, means[position], c.before.n, c.after.n, size),
                tests={k: replace(t, p_holm=tests[k][position]) for k, t in c.tests.items()},
            )
    return adjusted


def _variations(tally: _Tally) -> list[Variation]:
    """Means by each variation column inside every cell with answers, with the tests WR007 and WR012 read.

    Framing is taken over every answer, so a generation asked only leading questions is still seen.
    """
    result = []
    for column in VARIATION_COLUMNS:
        chosen = (tally.valid if column == "framing" else tally.neutral) & tally.scored
        names = tally.answers.categories[column]
        width = max(1, len(names))
        table = tally.moments(chosen, group=tally.answers.codes[column], width=width)
        counts = table.n.reshape(tally.cells, width)
        for cell in np.flatnonzero(counts.sum(axis=1)):
            groups = {}
            for value in np.flatnonzero(counts[cell]):
                moments = table.at(int(cell) * width + int(value))
                if moments is not None:
                    groups[names[value] or "default"] = moments
            if not tally.rated[cell % len(tally.metric_names)]:
                continue  # WR007 and WR012 read self-reports only
            generation = tally.generations[cell // len(tally.metric_names)]
            metric = tally.metric_names[cell % len(tally.metric_names)]
            result.append(Variation(generation, metric, column, dict(sorted(groups.items())),
                                    _spread(groups), _lead(groups) if column == "framing" else None))
    return _holm_within(result)


def _spread(groups: dict[str, Moments]) -> Test | None:
    """Max - min of the means of values with MIN_N answers, and Welch's ANOVA across them."""
    eligible = [m for m in groups.values() if m.n >= MIN_N]
    if len(eligible) < 2:
        return None
    means = [m.mean for m in eligible]
    return Test(max(means) - min(means), stats.welch_anova_p(eligible))


def _lead(groups: dict[str, Moments]) -> Test | None:
    """positive_lead - negative_lead, with Welch's interval and p (each side MIN_N answers)."""
    positive, negative = groups.get("positive_lead"), groups.get("negative_lead")
    if positive is None or negative is None or min(positive.n, negative.n) < MIN_N:
        return None
    change = stats.difference(negative, positive)
    if change is None:
        return None
    low, high = change.interval()
    return Test(change.delta, change.p_value, None, low, high)


def _holm_within(variations: list[Variation]) -> list[Variation]:
    """Holm inside one generation: each column's tests across that generation's metrics."""
    families: dict[tuple[str, str], list[int]] = {}
    for index, v in enumerate(variations):
        families.setdefault((v.generation, v.by), []).append(index)
    adjusted = list(variations)
    for members in families.values():
        for name in ("spread", "lead"):
            tests = [getattr(variations[i], name) for i in members]
            corrected = stats.holm([t.p_value if t else None for t in tests])
            for index, test, p_holm in zip(members, tests, corrected, strict=True):
                if test is not None:
                    adjusted[index] = replace(adjusted[index], **{name: replace(test, p_holm=p_holm)})
    return adjusted


def _standardised(c: Comparison) -> tuple[float, float] | None:
    """delta / pooled sd and its variance (delta method), or None without the figures."""
    if c.difference is None or c.before.sd is None or c.after.sd is None:
        return None
    pooled = math.sqrt((c.before.sd**2 + c.after.sd**2) / 2)
    if pooled == 0:
        return None
    change = c.difference.delta / pooled
    variance = c.difference.se**2 / pooled**2 + change**2 / (2 * (c.before.n + c.after.n))
    return change, variance


def corroborate(history: History, comparisons: list[Comparison]) -> list[Corroboration]:
    """Each self-report comparison beside every corroborating measure compared at the same transition."""
    by_transition = {(c.metric, c.from_, c.to, c.split.label() if c.split else ""): c for c in comparisons}
    result = []
    for c in comparisons:
        metric = history.metrics[c.metric]
        own = _standardised(c) if metric.self_report else None
        if own is None:
            continue
        for measure in (m for m in history.metrics.values() if m.corroborates == c.metric and not m.self_report):
            other = by_transition.get((measure.name, c.from_, c.to, c.split.label() if c.split else ""))
            theirs = _standardised(other) if other is not None else None
            if other is None or theirs is None:
                continue
            measured = -theirs[0] if measure.opposite else theirs[0]
            difference = own[0] - measured
            se = math.sqrt(own[1] + theirs[1])
            p = float(2 * stats.ndtr(-abs(difference) / se)) if se > 0 else (1.0 if difference == 0 else 0.0)
            result.append(Corroboration(c.metric, measure.name, c.from_, c.to, c.split, own[0], measured, difference,
                                        difference - stats.Z_95 * se, difference + stats.Z_95 * se, p, None, c, other,
                                        math.sqrt(own[1]), math.sqrt(theirs[1])))
    return _holm_pairs(result)


def _holm_pairs(pairs: list[Corroboration]) -> list[Corroboration]:
    """Holm over the (self-report, measure) pairs of one transition."""
    families: dict[tuple[str, str], list[int]] = {}
    for index, pair in enumerate(pairs):
        families.setdefault((pair.to, pair.split.label() if pair.split else ""), []).append(index)
    adjusted = list(pairs)
    for members in families.values():
        for index, p_holm in zip(members, stats.holm([pairs[i].p_value for i in members]), strict=True):
            adjusted[index] = replace(pairs[index], p_holm=p_holm)
    return adjusted


def _concern_shares(tally: _Tally) -> dict[tuple[str, str, str], float]:
    """Share of the answers of each (generation, metric), every framing, that carry each concern tag."""
    answers = tally.answers
    if not len(answers):
        return {}
    tag_names, gen_names = answers.categories["tags"], answers.categories["generation"]
    metric_names = answers.categories["metric"]
    cells = len(gen_names) * len(metric_names)
    width = len(tag_names)
    cell = answers.codes["generation"] * len(metric_names) + answers.codes["metric"]
    counts = np.bincount(cell * width + answers.codes["tags"], answers.weights,
                         minlength=cells * width).reshape(cells, width)
    totals = counts.sum(axis=1)
    shares: dict[tuple[str, str, str], float] = {}
    for index in np.flatnonzero(totals):
        generation, metric = gen_names[index // len(metric_names)], metric_names[index % len(metric_names)]
        shares.update({(generation, metric, tag): 0.0 for tag in schema.CONCERN_TAGS})
        for t_index in np.flatnonzero(counts[index]):
            for tag in tag_names[t_index].split(";"):
                if tag in schema.CONCERN_TAGS:
                    shares[(generation, metric, tag)] += counts[index, t_index] / totals[index]
    return shares


def answers_per_generation(history: History, after: str) -> dict[str, int]:
    """Answers of each shown generation collected after the day `after` (for 'since the previous quarter')."""
    answers = history.answers
    recent = answers.day > day_number(after)
    counts = np.rint(np.bincount(answers.codes["generation"][recent], answers.weights[recent],
                                 minlength=len(answers.categories["generation"]))).astype(np.int64)
    per_generation = dict(zip(answers.categories["generation"], counts.tolist(), strict=True))
    return {g.name: int(per_generation[g.name]) for g in history.generations if per_generation.get(g.name, 0)}

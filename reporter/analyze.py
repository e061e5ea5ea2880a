"""Analysis: per generation and metric statistics, comparisons and splits.

Headline figures use neutral-framing answers and pool methods, topics and
system prompts; each figure records what it pooled (`elicitation`). Leading
framings only feed the suggestibility rule. Every figure says whether it
comes from answers or from a published summary.
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
from .history import Answers, Event, Generation, History, Metric, Summary, day_number, day_text
from .thresholds import JUMP_FRACTION, MIN_N, reaches

ELICITATION_COLUMNS = ("method", "framing", "topic", "system_prompt")
# Columns whose values' means are compared inside one generation (WR007, WR012):
# framing over every answer, the others over neutral answers.
VARIATION_COLUMNS = ("prompt_variant", "framing", "method", "topic", "system_prompt")

Source = Literal["observations", "summaries"]
SplitKind = Literal["system_prompt", "event"]


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
    resamples: np.ndarray | None = None

    @property
    def has_data(self) -> bool:
        return self.n >= 1 and self.mean is not None

    @property
    def concern_share(self) -> float | None:
        return self.concerns / self.answers if self.source == "observations" and self.answers else None

    def dominant(self, column: str) -> str | None:
        values = self.elicitation.get(column, {})
        if not values:
            return None
        return max(sorted(values), key=lambda v: values[v])


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
    jump: bool
    events: tuple[Event, ...]
    test: str  # "bootstrap, Mann-Whitney U" | "Welch t"
    before: Stat
    after: Stat


@dataclass(frozen=True)
class Variation:
    """Means of one generation and metric by prompt variant or by framing."""

    generation: str
    metric: str
    by: str
    groups: dict[str, tuple[int, float | None]]


@dataclass(frozen=True, eq=False)
class Analysis:
    history: History
    stats: tuple[Stat, ...]
    comparisons: tuple[Comparison, ...]
    variations: tuple[Variation, ...]
    predecessors: Mapping[str, str | None]
    # (generation, concern tag) -> share of all the generation's answers that
    # carry the tag; every tag of every generation with answers, in release order.
    concern_shares: Mapping[tuple[str, str], float] = field(default_factory=dict)

    @cached_property
    def by_cell(self) -> dict[tuple[str, str], Stat]:
        return {(s.generation, s.metric): s for s in self.stats}

    def stat(self, generation: str, metric: str) -> Stat | None:
        return self.by_cell.get((generation, metric))

    def metric(self, name: str) -> Metric:
        return self.history.metrics[name]


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
        self.offset = answers.score - scale_min[np.where(m >= 0, m, 0)]
        neutral = answers.code("framing", "neutral")
        self.neutral = self.valid & (answers.codes["framing"] == neutral)
        self.scored = answers.score >= 0
        self.answers = answers

    def index(self, generation: str, metric: str) -> int:
        return self.generations.index(generation) * len(self.metric_names) + self.metric_names.index(metric)

    def per_cell(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.cell[mask], minlength=self.cells)

    def point_counts(self, mask: np.ndarray) -> np.ndarray:
        flat = self.cell[mask] * self.points + self.offset[mask]
        return np.bincount(flat, minlength=self.cells * self.points).reshape(self.cells, self.points)

    def by_code(self, mask: np.ndarray, column: str, weights: np.ndarray | None = None) -> np.ndarray:
        """Counts (or sums of `weights`) per cell and value of a coded column."""
        width = max(1, len(self.answers.categories[column]))
        flat = self.cell[mask] * width + self.answers.codes[column][mask]
        chosen = None if weights is None else weights[mask]
        return np.bincount(flat, weights=chosen, minlength=self.cells * width).reshape(self.cells, width)

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


def _observation_stat(
    metric: Metric, generation: str, counts: np.ndarray, split: str, **fields: Any
) -> Stat:
    points = metric.points
    summary = stats.summarise(counts, points)
    ci_low = ci_high = None
    resamples = None
    if summary.n >= 1:
        resamples = stats.bootstrap_means(counts, points, stats.seed_for(generation, metric.name, split))
        ci_low, ci_high = stats.percentile_interval(resamples)
    shares = {str(int(p)): (float(c) / summary.n if summary.n else 0.0) for p, c in zip(points, counts, strict=True)}
    return Stat(
        generation=generation, metric=metric.name, source="observations", n=summary.n,
        mean=summary.mean, sd=summary.sd, sd_assumed=False, median=summary.median,
        ci_low=ci_low, ci_high=ci_high, shares=shares, counts=counts, resamples=resamples, **fields,
    )


def _summary_stat(history: History, metric: Metric, chosen: Summary, others: list[Summary]) -> Stat:
    sd, assumed = chosen.sd, False
    if sd is None and chosen.ci_low is not None and chosen.ci_high is not None:
        sd = (chosen.ci_high - chosen.ci_low) / (2 * stats.Z_95) * math.sqrt(chosen.n)
    if sd is None:
        # The largest sd the scale allows keeps every claim conservative.
        sd, assumed = metric.range / 2, True
    ci_low, ci_high = chosen.ci_low, chosen.ci_high
    if ci_low is None or ci_high is None:
        half = stats.Z_95 * sd / math.sqrt(chosen.n)
        ci_low, ci_high = chosen.mean - half, chosen.mean + half
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
    )


# -- the analysis ---------------------------------------------------------------------


def analyze(history: History) -> Analysis:
    contaminated = contaminated_answers(history)
    tally = _Tally(history)
    headline = tally.neutral & tally.scored
    counts = tally.point_counts(headline)
    kept = tally.point_counts(headline & ~tally.answers.redirected)
    totals = tally.per_cell(tally.neutral)
    redirected = tally.per_cell(tally.neutral & tally.answers.redirected)
    declined = tally.per_cell(tally.neutral & tally.answers.declined)
    concerns = tally.per_cell(tally.neutral & tally.answers.concern)
    dirty = tally.per_cell(tally.valid & contaminated)
    first, last = tally.day_range(tally.valid)
    elicitation = {c: tally.by_code(tally.neutral if c != "framing" else tally.valid, c) for c in ELICITATION_COLUMNS}

    summaries: dict[tuple[str, str], list[Summary]] = {}
    for s in history.summaries:
        summaries.setdefault((s.generation, s.metric), []).append(s)

    result: list[Stat] = []
    for generation in tally.generations:
        for name, metric in history.metrics.items():
            cell = tally.index(generation, name)
            if totals[cell]:
                width = metric.range + 1
                kept_summary = stats.summarise(kept[cell, :width], metric.points)
                result.append(_observation_stat(
                    metric, generation, counts[cell, :width], "",
                    redirect_rate=redirected[cell] / totals[cell], decline_rate=declined[cell] / totals[cell],
                    mean_without_redirected=kept_summary.mean, n_without_redirected=kept_summary.n,
                    contaminated=bool(dirty[cell]), elicitation=_elicitation(tally, elicitation, cell),
                    answers=int(totals[cell]), redirected=int(redirected[cell]), concerns=int(concerns[cell]),
                    first_collected=day_text(first[cell]), last_collected=day_text(last[cell]),
                ))
            elif (generation, name) in summaries:
                ordered = sorted(summaries[(generation, name)], key=lambda s: (s.collected_on, s.method, s.source))
                result.append(_summary_stat(history, metric, ordered[-1], ordered[:-1]))

    predecessors = resolve_predecessors(history.generations)
    # Comparisons and variations look stats up through this first, partial analysis.
    partial = Analysis(history, tuple(result), (), (), predecessors)
    comparisons = _holm(_between_generations(partial) + _splits(partial, tally, contaminated))
    return replace(
        partial, comparisons=tuple(comparisons), variations=tuple(_variations(partial, tally)),
        concern_shares=_concern_shares(tally),
    )


def compare(metric: Metric, before: Stat, after: Stat) -> tuple[float | None, float | None, float | None, float | None, str]:
    """delta = after - before, its 95% CI and a two-sided p-value."""
    if not (before.has_data and after.has_data):
        return None, None, None, None, ""
    assert before.mean is not None and after.mean is not None
    if before.resamples is not None and after.resamples is not None:
        assert before.counts is not None and after.counts is not None
        low, high = stats.percentile_interval(after.resamples - before.resamples)
        p = stats.mann_whitney_p(before.counts, after.counts)
        return after.mean - before.mean, low, high, p, "bootstrap, Mann-Whitney U"
    sd_before = before.sd if before.sd is not None else metric.range / 2
    sd_after = after.sd if after.sd is not None else metric.range / 2
    welch = stats.welch(before.mean, sd_before, before.n, after.mean, sd_after, after.n)
    return welch.delta, welch.ci_low, welch.ci_high, welch.p_value, "Welch t"


def is_jump(metric: Metric, before: Stat, after: Stat, delta: float | None, low: float | None, high: float | None) -> bool:
    if delta is None or low is None or high is None:
        return False
    big = reaches(abs(delta), JUMP_FRACTION * metric.range)
    return before.n >= MIN_N and after.n >= MIN_N and big and (low > 0 or high < 0)


def coinciding_events(history: History, metric: str, before: Stat, after: Stat) -> list[Event]:
    """Events dated no later than `after`'s last answer, scoped to it or unscoped and after `before` began."""
    return [
        e for e in history.events
        if e.metric in ("", metric)
        and e.date <= after.last_collected
        and (e.generation == after.generation or (not e.generation and e.date > before.first_collected))
    ]


def _comparison(analysis: Analysis, before: Stat, after: Stat, split: Split | None, across_gap: bool, events: list[Event]) -> Comparison:
    metric = analysis.metric(after.metric)
    delta, low, high, p, test = compare(metric, before, after)
    return Comparison(
        metric=metric.name, from_=before.generation, to=after.generation, split=split, across_gap=across_gap,
        delta=delta, ci_low=low, ci_high=high, p_value=p, p_holm=None,
        jump=is_jump(metric, before, after, delta, low, high), events=tuple(events), test=test,
        before=before, after=after,
    )


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
            for metric_name, metric in analysis.history.metrics.items():
                cell = tally.index(generation, metric_name)
                sides = []
                for label, mask in (("before", before_mask), ("after", after_mask)):
                    chosen = headline & mask & (tally.cell == cell)
                    if not chosen.any():
                        break
                    counts = np.bincount(tally.offset[chosen], minlength=metric.range + 1)
                    days = answers.day[chosen]
                    sides.append(_observation_stat(
                        metric, generation, counts, f"{split.label()}:{label}",
                        redirect_rate=None, decline_rate=None, mean_without_redirected=None,
                        n_without_redirected=None, contaminated=bool(contaminated[chosen].any()),
                        elicitation={}, answers=int(chosen.sum()), redirected=0, concerns=0,
                        first_collected=day_text(int(days.min())), last_collected=day_text(int(days.max())),
                    ))
                if len(sides) == 2:
                    result.append(_comparison(analysis, sides[0], sides[1], split, False, list(split.events)))
    return result


def _holm(comparisons: list[Comparison]) -> list[Comparison]:
    """Holm's correction across the metrics of one transition (or one split); order kept."""
    families: dict[tuple[str, str, str], list[int]] = {}
    for index, c in enumerate(comparisons):
        families.setdefault((c.from_, c.to, c.split.label() if c.split else ""), []).append(index)
    adjusted = list(comparisons)
    for members in families.values():
        for index, p_holm in zip(members, stats.holm([comparisons[i].p_value for i in members]), strict=True):
            adjusted[index] = replace(comparisons[index], p_holm=p_holm)
    return adjusted


def _variations(analysis: Analysis, tally: _Tally) -> list[Variation]:
    answers = tally.answers
    result = []
    tables = {}
    for column in VARIATION_COLUMNS:
        chosen = (tally.valid if column == "framing" else tally.neutral) & tally.scored
        tables[column] = (tally.by_code(chosen, column), tally.by_code(chosen, column, answers.score))
    for stat in analysis.stats:
        if stat.source != "observations":
            continue
        cell = tally.index(stat.generation, stat.metric)
        for by, (counts, sums) in tables.items():
            names = answers.categories[by]
            groups = {
                (names[i] or "default"): (int(counts[cell, i]), float(sums[cell, i] / counts[cell, i]))
                for i in np.flatnonzero(counts[cell])
            }
            result.append(Variation(stat.generation, stat.metric, by, dict(sorted(groups.items()))))
    return result


def _concern_shares(tally: _Tally) -> dict[tuple[str, str], float]:
    """Share of all answers of each generation (every metric and framing) that carry each concern tag."""
    answers = tally.answers
    if not len(answers):
        return {}
    tag_names, gen_names = answers.categories["tags"], answers.categories["generation"]
    width = len(tag_names)
    counts = np.bincount(answers.codes["generation"] * width + answers.codes["tags"],
                         minlength=len(gen_names) * width).reshape(len(gen_names), width)
    totals = counts.sum(axis=1)
    shares: dict[tuple[str, str], float] = {}
    for generation in tally.generations:
        g_index = gen_names.index(generation) if generation in gen_names else -1
        if g_index < 0 or not totals[g_index]:
            continue
        shares.update({(generation, tag): 0.0 for tag in schema.CONCERN_TAGS})
        for t_index, combination in enumerate(tag_names):
            for tag in combination.split(";"):
                if tag in schema.CONCERN_TAGS:
                    shares[(generation, tag)] += counts[g_index, t_index] / totals[g_index]
    return shares


def answers_per_generation(history: History, after: str) -> dict[str, int]:
    """Answers of each shown generation collected after the day `after` (for 'since the previous quarter')."""
    answers = history.answers
    recent = answers.day > day_number(after)
    counts = np.bincount(answers.codes["generation"][recent], minlength=len(answers.categories["generation"]))
    per_generation = dict(zip(answers.categories["generation"], counts.tolist(), strict=True))
    return {g.name: int(per_generation[g.name]) for g in history.generations if per_generation.get(g.name, 0)}

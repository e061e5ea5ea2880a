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
from dataclasses import replace
from typing import Any

import numpy as np

from . import schema, stats
from .counting import (
    CellTables,
    Tally,
    cell_tables,
    elicitation_counts,
    share_design_effect,
)
from .history import (
    CorrectedRow,
    Event,
    History,
    Metric,
    Summary,
    day_number,
    day_text,
)
from .lineage import (
    ancestors,
    contaminated_answers,
    resolve_predecessors,
    summary_contaminated,
)
from .results import (
    Analysis,
    Comparison,
    Corrected,
    Corroboration,
    Effect,
    LikeForLike,
    MethodsRow,
    Split,
    Stat,
    Variation,
)
from .schema import ELICITATION_COLUMNS, MIX_COLUMNS, VARIATION_COLUMNS, Source, Verdict
from .stats import Difference, Moments
from .texts import text_changes, text_figures
from .thresholds import JUMP_FRACTION, MIN_N, MINIMUM_EFFECT, reaches, significant


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


def _observation_stat(metric: Metric, generation: str, tally: Tally, tables: CellTables, index: int,
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


# A summary of interviewed answers whose metric has no interviews of its own to measure it from:
# the intraclass correlation the error budget simulates, a middling value for interview answers.
DEFAULT_ICC = 0.2


def _summary_stat(history: History, metric: Metric, chosen: Summary, others: list[Summary], icc: float) -> Stat:
    clustered = chosen.interviews is not None and 1 < chosen.interviews < chosen.n
    published = chosen.ci_low is not None and chosen.ci_high is not None
    sd, assumed = chosen.sd, False
    if sd is None and published and chosen.n > 1 and not clustered:
        sd = (chosen.ci_high - chosen.ci_low) / (2 * stats.t_quantile(chosen.n - 1, stats.CONFIDENCE)) * math.sqrt(chosen.n)  # type: ignore[operator]
    if sd is None:
        # The largest sd the scale allows keeps every claim conservative.
        sd, assumed = metric.range / 2, True
    moments = Moments.of_summary(chosen.n, chosen.mean, sd)
    design: dict[str, float] = {}
    if clustered:
        moments, design["mean"] = _clustered_summary(chosen, sd, icc)
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
        moments=moments, interviews=chosen.interviews if clustered else None, design_effects=design,
    )


def _clustered_summary(chosen: Summary, sd: float, icc: float) -> tuple[Moments, float]:
    """A summary of n answers from fewer interviews: its published interval read as cluster-robust, else
    its variance inflated by the design effect 1 + (n / interviews - 1) * icc; df = interviews - 1."""
    assert chosen.interviews is not None
    df = float(chosen.interviews - 1)
    independent = sd * sd / chosen.n
    if chosen.ci_low is not None and chosen.ci_high is not None:
        half = (chosen.ci_high - chosen.ci_low) / 2
        variance = (half / stats.t_quantile(df, stats.CONFIDENCE)) ** 2
    else:
        variance = independent * (1 + (chosen.n / chosen.interviews - 1) * icc)
    return Moments(chosen.n, chosen.mean, variance, df, chosen.interviews), max(1.0, variance / independent)


def observed_icc(stats_of_metric: list[Stat]) -> float:
    """The intraclass correlation a metric's interviewed answers show, from their design effects of the mean
    (deff = 1 + (m - 1) * icc at m answers per interview); DEFAULT_ICC where none was recorded."""
    cells = [(s.n, (s.design_effects["mean"] - 1) / (s.n / s.interviews - 1)) for s in stats_of_metric
             if s.interviews and "mean" in s.design_effects and s.n / s.interviews > 1]
    if not cells:
        return DEFAULT_ICC
    return min(1.0, max(0.0, sum(n * icc for n, icc in cells) / sum(n for n, _ in cells)))


# -- the analysis ---------------------------------------------------------------------


def analyze(history: History) -> Analysis:
    """Every statistic, comparison, variation and corroboration of `history`, with their Holm corrections."""
    tally = Tally(history)
    contaminated = contaminated_answers(history)
    result = _cell_stats(history, tally, contaminated)
    predecessors = resolve_predecessors(history.generations)
    # Comparisons and variations look stats up through this first, partial analysis.
    partial = Analysis(history, tuple(result), (), (), predecessors)
    texts = text_figures(history)
    comparisons = _holm(partial, _between_generations(partial) + _splits(partial, tally, contaminated))
    variations = tuple(_variations(tally))
    tally.forget_gathered()  # the moment tables are done: their gathered answers need not outlive them
    return replace(
        partial, comparisons=tuple(comparisons), variations=variations,
        concern_shares=_concern_shares(tally), corroborations=tuple(corroborate(history, comparisons)),
        tag_shares=_tag_shares(tally), interviews_by_method=_interviews_by_method(tally),
        methods=tuple(methods_rows(history)), answer_total=int(history.answers.weights.sum()),
        texts=texts, text_changes=text_changes(texts, predecessors),
    )


def _cell_stats(history: History, tally: Tally, contaminated: np.ndarray) -> list[Stat]:
    answers = tally.answers
    headline = tally.neutral & tally.scored
    tables = cell_tables(tally, headline)
    kept = tally.moments(headline & ~answers.redirected)
    tally.forget_gathered()
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
    pending: list[tuple[int, Metric, Summary, list[Summary]]] = []  # summaries, read once the answers are
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
                    contaminated=bool(dirty[cell]), elicitation=elicitation_counts(tally, elicitation, cell),
                    answers=int(totals[cell]), redirected=int(redirected[cell]), concerns=int(concerns[cell]),
                    first_collected=day_text(first[cell]), last_collected=day_text(last[cell]),
                    design_effects={k: share_design_effect(t, cell) for k, t in shares.items()},
                    source="observations" if rows[cell] else "counts",
                ))
            elif (generation, name) in summaries:
                # The latest published figure (a later card re-measuring or quoting an old model), else the
                # latest collected; a summary without a publication date sorts before one with it.
                ordered = sorted(summaries[(generation, name)],
                                 key=lambda s: (s.published_on, s.collected_on, s.method, s.source))
                pending.append((len(result), metric, ordered[-1], ordered[:-1]))
    # A summary of interviewed answers borrows the intraclass correlation of its metric's own answers.
    for offset, (index, metric, chosen, others) in enumerate(pending):
        icc = observed_icc([s for s in result if s.metric == metric.name and s.source != "summaries"])
        result.insert(index + offset, _summary_stat(history, metric, chosen, others, icc))
    return [replace(s, published=_published(summaries.get((s.generation, s.metric), []))) for s in result]


def _published(summaries: list[Summary]) -> tuple[dict[str, Any], ...]:
    """Where a generation and metric's published figures came from, oldest publication first."""
    ordered = sorted(summaries, key=lambda s: (s.published_on, s.collected_on, s.method, s.source))
    return tuple({"source": s.source, "published_on": s.published_on, "collected_on": s.collected_on,
                  "mean": s.mean, "n": s.n} for s in ordered)


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
        events=tuple(events), procedure="Welch t, cluster-robust" if clustered else "Welch t",
        before=before, after=after, difference=change,
        cliffs_delta=(stats.cliffs_delta(before.counts, after.counts)
                      if before.counts is not None and after.counts is not None else None),
        like_for_like=like_for_like(before, after),
        effects=_side_tests(before, after) | _beyond_minimum(change, JUMP_FRACTION * metric.range),
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
    return Corrected(sum(r.count for r in sides[0][0]), sum(r.count for r in sides[1][0]), without)


def _on_side(row: CorrectedRow, split: Split, index: int) -> bool:
    if split.by == "system_prompt":
        return row.system_prompt == (split.before, split.after)[index]
    return (row.collected_on < split.date) == (index == 0)


def _mean_without(stat: Stat, removed: list[CorrectedRow], replacing: list[CorrectedRow]) -> float | None:
    """The headline mean with the removed rows back and the rows that replaced them out."""
    if stat.mean is None:
        return None
    headline = [(r.score, r.count) for r in removed if r.framing == "neutral" and r.score is not None]
    taken = [(r.score, r.count) for r in replacing if r.framing == "neutral" and r.score is not None]
    n = stat.n + sum(c for _, c in headline) - sum(c for _, c in taken)
    total = stat.mean * stat.n + sum(s * c for s, c in headline) - sum(s * c for s, c in taken)
    return total / n if n > 0 else None


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


def _beyond_minimum(change: stats.Difference | None, jump_size: float) -> dict[str, Effect]:
    """WR002's minimum-effect test: |delta| beyond a quarter of the jump size (uncorrected; `_holm` corrects it)."""
    if change is None:
        return {}
    return {"beyond_minimum": Effect(abs(change.delta), change.beyond_p(MINIMUM_EFFECT * jump_size))}


def _side_tests(before: Stat, after: Stat) -> dict[str, Effect]:
    """The tests of WR005, WR006, WR008, WR010 and WR015 for one comparison (uncorrected; `_holm` corrects them)."""
    tests: dict[str, Effect] = {}
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
        tests["shape"] = Effect(stats.total_variation(before.counts, after.counts), stats.chi_square_p(table, deff))
        if before.sd and after.sd is not None:
            # The spread's test is location-free, so the points' positions are enough.
            points = np.arange(len(before.counts), dtype=float)
            tests["spread"] = Effect(after.sd / before.sd, stats.brown_forsythe_p(before.counts, after.counts, points, deff))
    return tests


def _rate_test(before: Stat, after: Stat, name: str, successes_before: int, successes_after: int) -> Effect:
    deff = (before.design_effects.get(name, 1.0) + after.design_effects.get(name, 1.0)) / 2
    change = stats.rate_change(successes_before, before.answers, successes_after, after.answers, deff)
    return Effect(change.delta, change.p_value, None, change.ci_low, change.ci_high)


def _mix_test(before: Stat, after: Stat, column: str) -> Effect | None:
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
    return Effect(stats.total_variation(table[0], table[1]), stats.chi_square_p(table, deff))


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


def find_splits(history: History, tally: Tally, generation: str) -> list[Split]:
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


def _splits(analysis: Analysis, tally: Tally, contaminated: np.ndarray) -> list[Comparison]:
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
            tables = cell_tables(tally, mine & (before_mask | after_mask), side, 2)
            for metric_name, metric in analysis.history.metrics.items():
                cell = tally.index(generation, metric_name)
                sides = [_split_side(metric, generation, tally, tables, cell * 2 + i, mine & mask & (tally.cell == cell),
                                     contaminated) for i, mask in enumerate((before_mask, after_mask))]
                if sides[0] is not None and sides[1] is not None:
                    result.append(_comparison(analysis, sides[0], sides[1], split, False, list(split.events)))
    return result


def _split_side(metric: Metric, generation: str, tally: Tally, tables: CellTables, index: int, chosen: np.ndarray,
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
        keys = sorted({k for c in chosen for k in c.effects})
        tests = {k: stats.holm([c.effects[k].p_value if k in c.effects else None for c in chosen]) for k in keys}
        for position, (index, c) in enumerate(zip(members, chosen, strict=True)):
            size = JUMP_FRACTION * analysis.metric(c.metric).range
            lfl = c.like_for_like
            if lfl is not None:
                lfl = replace(lfl, p_holm=matched[position],
                              verdict=verdict(lfl.difference, matched[position], lfl.n_from, lfl.n_to, size))
            adjusted[index] = replace(
                c, p_holm=means[position], like_for_like=lfl,
                verdict=verdict(c.difference, means[position], c.before.n, c.after.n, size),
                effects={k: replace(t, p_holm=tests[k][position]) for k, t in c.effects.items()},
            )
    return adjusted


def _variations(tally: Tally) -> list[Variation]:
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


def _spread(groups: dict[str, Moments]) -> Effect | None:
    """Max - min of the means of values with MIN_N answers, and Welch's ANOVA across them."""
    eligible = [m for m in groups.values() if m.n >= MIN_N]
    if len(eligible) < 2:
        return None
    means = [m.mean for m in eligible]
    return Effect(max(means) - min(means), stats.welch_anova_p(eligible))


def _lead(groups: dict[str, Moments]) -> Effect | None:
    """positive_lead - negative_lead, with Welch's interval and p (each side MIN_N answers)."""
    positive, negative = groups.get("positive_lead"), groups.get("negative_lead")
    if positive is None or negative is None or min(positive.n, negative.n) < MIN_N:
        return None
    change = stats.difference(negative, positive)
    if change is None:
        return None
    low, high = change.interval()
    return Effect(change.delta, change.p_value, None, low, high)


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


def _concern_shares(tally: Tally) -> dict[tuple[str, str, str], float]:
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


def _tag_shares(tally: Tally) -> dict[tuple[str, str, str], float]:
    """Share of each generation's answers (every metric and framing) with each tag, over every method ('')
    and per method: a tag outside the concern list (e.g. one marking a caveat) is counted too."""
    answers = tally.answers
    if not len(answers):
        return {}
    tag_names, gen_names, methods = (answers.categories[c] for c in ("tags", "generation", "method"))
    shares: dict[tuple[str, str, str], float] = {}
    for per_method in (False, True):
        ways = len(methods) if per_method else 1
        group = answers.codes["generation"] * ways + (answers.codes["method"] if per_method else 0)
        counts = np.bincount(group * len(tag_names) + answers.codes["tags"], answers.weights,
                             minlength=len(gen_names) * ways * len(tag_names)).reshape(-1, len(tag_names))
        totals = counts.sum(axis=1)
        for index in np.flatnonzero(totals):
            key = (gen_names[index // ways], methods[index % ways] if per_method else "")
            for t_index in np.flatnonzero(counts[index]):
                for tag in filter(None, tag_names[t_index].split(";")):
                    shares[(*key, tag)] = shares.get((*key, tag), 0.0) + float(counts[index, t_index] / totals[index])
    return shares


def _interviews_by_method(tally: Tally) -> dict[tuple[str, str, str], int]:
    """How many interviews each generation, metric and method's answers came from (answers naming one)."""
    answers = tally.answers
    named = np.asarray([bool(v) for v in answers.categories["interview_id"]], dtype=bool)
    if not len(answers) or not named.any():
        return {}
    mine = named[answers.codes["interview_id"]]
    names = [answers.categories[c] for c in ("generation", "metric", "method")]
    # One integer per (generation, metric, method) cell and per interview within it: np.unique of a
    # flat integer array sorts in a tenth of a second where rows of four (axis=0) took seconds.
    cell = np.zeros(int(mine.sum()), dtype=np.int64)
    for column, values in zip(("generation", "metric", "method"), names, strict=True):
        cell = cell * max(1, len(values)) + answers.codes[column][mine]
    interviews = max(1, len(answers.categories["interview_id"]))
    distinct = np.unique(cell * interviews + answers.codes["interview_id"][mine])
    cells, counts = np.unique(distinct // interviews, return_counts=True)
    sizes = [max(1, len(values)) for values in names]
    found = {}
    for code, n in zip(cells.tolist(), counts.tolist(), strict=True):
        code, w = divmod(code, sizes[2])
        g, m = divmod(code, sizes[1])
        found[(names[0][g], names[1][m], names[2][w])] = int(n)
    return found


def answers_per_generation(history: History, after: str) -> dict[str, int]:
    """Answers of each shown generation collected after the day `after` (for 'since the previous quarter')."""
    answers = history.answers
    recent = answers.day > day_number(after)
    counts = np.rint(np.bincount(answers.codes["generation"][recent], answers.weights[recent],
                                 minlength=len(answers.categories["generation"]))).astype(np.int64)
    per_generation = dict(zip(answers.categories["generation"], counts.tolist(), strict=True))
    return {g.name: int(per_generation[g.name]) for g in history.generations if per_generation.get(g.name, 0)}


def methods_rows(history: History) -> list[MethodsRow]:
    """Per generation: answers, interviews and the distinct ways of asking, counted from the answers themselves."""
    answers = history.answers
    if not len(answers):
        return []
    gen_codes = answers.codes["generation"]
    weights = answers.weights
    empty = answers.code("interview_id", "")
    rows = []
    for g in history.generations:
        code = answers.code("generation", g.name)
        if code < 0:
            continue
        mine = gen_codes == code
        interviews = answers.codes["interview_id"][mine]
        per_column = {}
        for column in schema.METHOD_COLUMNS:
            values = answers.categories[column]
            per_value = np.bincount(answers.codes[column][mine], weights[mine], minlength=len(values))
            per_column[column] = {(values[i] or "–"): int(per_value[i]) for i in np.flatnonzero(per_value)}
        rows.append(MethodsRow(generation=g.name, answers=int(weights[mine].sum()),
                               interviews=int(np.unique(interviews[interviews != empty]).size), **per_column))
    return rows

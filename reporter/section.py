"""The section: Findings turned once into a frozen, typed `Section` that every writer lays out.

Every sentence, row, label and figure number the report shows is made here;
the HTML page and fragment, the PDF, the Markdown and the chart files only
lay the `Section` out, so they cannot drift apart. Counting happens before
this, in the analysis: the section reads the tallies it shows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import __version__, phrasing, schema
from .drawing import draw_charts
from .findings import acknowledgement_key
from .labels import generation_labels, metric_labels, transition_label
from .phrasing import count, verdict
from .rules import RULES, Rule
from .summary import HOW_TO_READ, Group, summary_groups
from .thresholds import JUMP_FRACTION, MIN_N

if TYPE_CHECKING:
    from .charts import Chart
    from .findings import Finding, Findings
    from .history import Correction, Event, Excerpt, Generation
    from .results import Analysis, Comparison, Corroboration, Effect, MethodsRow, Stat
    from .texts import GenerationText

EXCERPTS_PER_GROUP = 3
UNTAGGED = "untagged"
OTHER_TAGS = "other tags"
# The charts of each metric, in the order the section shows them.
# Rates before the distribution: in print, a twenty-generation change chart and the short rates
# chart share a page, and the distribution its own with the robustness chart.
FIGURE_KINDS = ("trend", "change", "rates", "distribution", "robustness", "evidence")
# How the section words a jump, from the threshold itself: "5% of the scale range".
JUMP_WORDING = f"{JUMP_FRACTION:.0%} of the scale range"


class Numbering:
    """Figure and table numbers in the order a reader meets them, with anchors named by content.

    `--section-number 7` makes them Figure 7.1, Table 7.1; anchors do not carry the number, so a
    link to a figure survives a figure added before it.
    """

    def __init__(self, section: str | None, prefix: str) -> None:
        self.section = f"{section}." if section else ""
        self.prefix = prefix
        self.figures = 0
        self.tables = 0

    def figure(self, key: str) -> Number:
        """The next figure's number and the anchor named by `key`."""
        self.figures += 1
        return Number(f"Figure {self.section}{self.figures}", f"{self.prefix}figure-{key}")

    def table(self, key: str) -> Number:
        """The next table's number and the anchor named by `key`."""
        self.tables += 1
        return Number(f"Table {self.section}{self.tables}", f"{self.prefix}table-{key}")


@dataclass(frozen=True)
class Number:
    """A figure's or table's label ('Figure 7.3') and its anchor."""

    label: str
    anchor: str


@dataclass(frozen=True)
class ExcerptGroup:
    """The excerpts shown for one generation and tag."""

    generation: str
    tag: str
    items: tuple[Excerpt, ...]


@dataclass(frozen=True)
class TopicTable:
    """Per-topic means for at most TOPIC_TABLE_GENERATIONS generations: one row per topic, one column per
    generation, each cell the mean, its 95% interval and n on lines of their own (or empty: not asked)."""

    generations: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (topic, the cell of each generation)


@dataclass(frozen=True)
class RobustnessRow:
    """One generation's leading-question gap and prompt-variant spread."""

    generation: str
    lead: Effect | None
    spread: Effect | None
    variants: int


@dataclass(frozen=True)
class MetricBlock:
    """Everything the section shows for one metric: its charts, tables and the words of its verdicts."""

    name: str
    label: str
    question: str
    description: str
    scale: str
    jump_size: float
    points: tuple[str, ...]
    trend: Chart | None
    change: Chart | None
    distribution: Chart | None
    rates: Chart | None
    robustness: Chart | None
    evidence: Chart | None
    pairs: tuple[Corroboration, ...]
    measure: str
    stats: tuple[Stat, ...]
    comparisons: tuple[Comparison, ...]
    verdicts: tuple[str, ...]  # the words of each comparison's verdict, in order
    intervals: tuple[str, ...]  # each stat's 95% interval in words, in order
    summary_note: str  # which rules cannot run on the generations known only from a published summary
    source_marks: tuple[str, ...]  # each stat's footnote mark ("[1]") where its figure is a published summary
    sources: tuple[str, ...]  # the footnotes: "[1] Aster 1 system card, published 2024-03-01"
    # Where a generation's figure was published more than once, or beside its answers: every figure (WR018).
    published_figures: tuple[tuple[str, str], ...]
    concern_tags: tuple[str, ...]
    topic_tables: tuple[TopicTable, ...]
    # Where a generation's answers came by more than one method: its pooled mean and each method's.
    method_names: tuple[str, ...]
    method_rows: tuple[tuple[str, tuple[str, ...]], ...]  # (generation, [pooled, each method's "mean (n)"])
    robustness_rows: tuple[RobustnessRow, ...]

    def change_into(self, generation: str) -> Comparison | None:
        """The comparison of `generation` with its predecessor, where there is one."""
        return next((c for c in self.comparisons if c.to == generation and c.split is None), None)

    @property
    def figures(self) -> list[Chart]:
        """The charts drawn for this metric, in the order the section shows them."""
        return [c for c in (getattr(self, kind) for kind in FIGURE_KINDS) if c is not None]


@dataclass(frozen=True)
class RuleResult:
    """One rule of the fixed set and what it found."""

    rule: Rule
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Unmatched:
    """An acknowledgement that matches no finding."""

    key: str
    by: str
    date: str
    reason: str


@dataclass(frozen=True)
class Counts:
    """The header line's tallies, from the analysis."""

    generations: int
    answers: str  # every answer the section stands for, counts rows by their count
    summaries: int


@dataclass(frozen=True)
class Section:
    """The welfare section as every writer lays it out; built once by `build_section`."""

    title: str
    as_of: str
    ruleset: str
    tool_version: str
    chain_head: str | None
    summary_sentence: str
    summary_groups: tuple[Group, ...]
    how_to_read: tuple[str, ...]
    jump_wording: str
    acknowledged_flags: tuple[Finding, ...]
    unmatched: tuple[Unmatched, ...]
    errors: tuple[Finding, ...]
    corrections: tuple[Correction, ...]
    counts: Counts
    metrics: tuple[MetricBlock, ...]
    texts: tuple[GenerationText, ...]  # what the answers say, per generation with answers with text
    texts_chart: Chart | None
    phrase_sources: tuple[tuple[str, int], ...]  # (source, phrases), for the methods
    echo_sources: tuple[str, ...]  # the sources the texts table has a column for
    concern_shares: Mapping[tuple[str, str, str], float]
    excerpt_groups: tuple[ExcerptGroup, ...]
    rules: tuple[RuleResult, ...]
    notes_markdown: str | None
    generations: tuple[Generation, ...]
    generation_labels: Mapping[str, str]
    metric_labels: Mapping[str, str]
    methods: tuple[MethodsRow, ...]
    tag_tables: tuple[TopicTable, ...]  # every tag's share per generation, tags as rows (concern tags marked)
    manual_rows: tuple[tuple[str, ...], ...]  # per generation and metric with manual interviews: the figures
    manual_excerpts: tuple[Excerpt, ...]  # featured excerpts of manual interviews
    events: tuple[Event, ...]
    inputs: tuple[Mapping[str, Any], ...]
    since: Mapping[str, Any] | None
    p: str  # the prefix of every id
    section_number: str | None
    heading_level: int

    def transition(self, comparison: Comparison) -> str:
        """A comparison's name in display labels."""
        return transition_label(comparison, dict(self.generation_labels))

    @property
    def figures(self) -> list[Chart]:
        """Every figure in the order the section shows it."""
        texts = [self.texts_chart] if self.texts_chart is not None else []
        return [chart for metric in self.metrics for chart in metric.figures] + texts



def excerpt_groups(excerpts: Sequence[Excerpt], generations: list[str]) -> list[ExcerptGroup]:
    """At most three excerpts per generation and tag: the author's featured ones first, then by key order.

    Identical text is shown once in the whole section, in the first group that would hold it.
    """
    grouped: dict[tuple[str, str], list[Excerpt]] = defaultdict(list)
    for e in excerpts:
        # Concern tags each have a group; any other tags share one, so an answer with
        # many tags is shown a bounded number of times.
        shown = [t for t in e.tags if t in schema.CONCERN_TAGS] or [OTHER_TAGS if e.tags else UNTAGGED]
        for tag in shown:
            grouped[(e.generation, tag)].append(e)
    order = {g: i for i, g in enumerate(generations)}
    tag_order = {t: i for i, t in enumerate((*schema.CONCERN_TAGS, OTHER_TAGS, UNTAGGED))}
    seen: set[str] = set()
    groups = []
    for (generation, tag), items in sorted(grouped.items(),
                                           key=lambda kv: (order[kv[0][0]], tag_order.get(kv[0][1], 99), kv[0][1])):
        chosen: list[Excerpt] = []
        for e in sorted(items, key=lambda e: (not e.featured, e.key)):
            text = " ".join(e.text.split()).casefold()
            if text in seen:
                continue
            seen.add(text)
            chosen.append(e)
            if len(chosen) == EXCERPTS_PER_GROUP:
                break
        if chosen:
            groups.append(ExcerptGroup(generation, tag, tuple(chosen)))
    return groups


def flag_sentence(findings: Findings) -> str:
    """The summary's first sentence: what the rules raised, and how many comparisons got each verdict."""
    tally = findings.tally()
    if not findings.raised:
        return f"As of {findings.as_of}, no rule of the fixed set found anything to flag." + _verdict_sentence(findings)
    parts = [f"{count(tally.flags, 'flag')} ({tally.flags - tally.open_flags} acknowledged)",
             count(tally.notes, "note")]
    if tally.errors:
        parts.insert(0, count(tally.errors, "error"))
    return f"As of {findings.as_of}, the fixed rule set raised " + ", ".join(parts) + "." + _verdict_sentence(findings)


def _verdict_sentence(findings: Findings) -> str:
    verdicts = findings.analysis.verdict_counts()
    total = sum(verdicts.values())
    if not total:
        return ""
    return (f" Of {total} comparisons, {verdicts['changed']} changed (an estimate of {JUMP_WORDING} or more, "
            f"significant after Holm's correction), {verdicts['stable']} were stable (a 90% interval inside that "
            f"size) and {verdicts['inconclusive']} were inconclusive (each says why).")


# A generation column of a per-topic table holds a mean, its interval and n: six fit an A4 page.
TOPIC_TABLE_GENERATIONS = 6


MANUAL = "manual_interview"


def method_means(analysis: Analysis, metric: str, generations: list[str]) -> dict[str, Any]:
    """The pooled mean beside each method's, for the generations whose answers came by more than one method."""
    by_method = {g: v.groups for g in generations if (v := analysis.variation(g, metric, "method")) and len(v.groups) > 1}
    names = tuple(sorted({m for groups in by_method.values() for m in groups}))
    rows = []
    for g, groups in by_method.items():
        stat = analysis.stat(g, metric)
        cells = [f"{phrasing.number(groups[m].mean)} (n = {groups[m].n:,})" if m in groups else "" for m in names]
        rows.append((g, (phrasing.number(stat.mean if stat else None), *cells)))
    return {"method_names": names, "method_rows": tuple(rows)}


def tag_tables(analysis: Analysis, generations: list[str]) -> tuple[TopicTable, ...]:
    """The share of each generation's answers with each tag, tags as rows, at most six generations a table."""
    shares = {(g, t): v for (g, method, t), v in analysis.tag_shares.items() if not method}
    tags = sorted({t for _, t in shares}, key=lambda t: (t not in schema.CONCERN_TAGS, t))
    shown = [g for g in generations if any(gen == g for gen, _ in shares)]
    if not tags:
        return ()
    tables = []
    for chunk in balanced(shown):
        rows = tuple((f"{t} (concern)" if t in schema.CONCERN_TAGS else t,
                      tuple(phrasing.share(shares.get((g, t), 0.0)) for g in chunk)) for t in tags)
        tables.append(TopicTable(chunk, rows))
    return tuple(tables)


def manual_rows(analysis: Analysis, generations: list[str], labels: Mapping[str, str],
                metric_names: Mapping[str, str]) -> tuple[tuple[str, ...], ...]:
    """Manual interviews apart: per generation and metric, interviews, answers, mean with its interval, tags."""
    rows = []
    for g in generations:
        tags = ", ".join(f"{t} {phrasing.share(v)}" for (gen, method, t), v in sorted(analysis.tag_shares.items())
                         if gen == g and method == MANUAL and v > 0)
        for metric in analysis.history.metrics:
            variation = analysis.variation(g, metric, "method")
            moments = variation.groups.get(MANUAL) if variation else None
            if moments is None:
                continue
            low, high = moments.interval()
            interval = f" ({phrasing.number(low)} to {phrasing.number(high)})" if low is not None and high is not None else ""
            interviews = analysis.interviews_by_method.get((g, metric, MANUAL))
            rows.append((labels.get(g, g), metric_names.get(metric, metric), f"{interviews:,}" if interviews else "n/a",
                         f"{moments.n:,}", f"{phrasing.number(moments.mean)}{interval}", tags))
    return tuple(rows)


def balanced(generations: list[str]) -> list[tuple[str, ...]]:
    """The generations in as few tables of at most six as they need, of even sizes (7 as 4 + 3, not 6 + 1)."""
    tables = -(-len(generations) // TOPIC_TABLE_GENERATIONS)
    size = -(-len(generations) // tables) if tables else 0
    return [tuple(generations[start:start + size]) for start in range(0, len(generations), size)] if size else []


def topic_tables(analysis: Analysis, metric: str, generations: list[str]) -> tuple[TopicTable, ...]:
    """Per-topic means of one metric, topics as rows, split into tables of at most six generations."""
    per_generation = {g: analysis.variation(g, metric, "topic") for g in generations}
    asked = {g: v.groups for g, v in per_generation.items() if v is not None and v.groups}
    topics = sorted({t for groups in asked.values() for t in groups})
    if len(topics) < 2:
        return ()  # one topic is the trend table again
    shown = [g for g in generations if g in asked]

    def cell(generation: str, topic: str) -> str:
        moments = asked[generation].get(topic)
        if moments is None:
            return ""
        low, high = moments.interval()
        # Three short lines in a narrow cell: the mean, its interval, n (the template breaks at each newline).
        interval = f"{phrasing.number(low)}\u2013{phrasing.number(high)}" if low is not None and high is not None else "no interval"
        return f"{phrasing.number(moments.mean)}\n{interval}\nn\u00a0=\u00a0{moments.n:,}"

    tables = []
    for chunk in balanced(shown):
        tables.append(TopicTable(chunk, tuple((t, tuple(cell(g, t) for g in chunk)) for t in topics)))
    return tuple(tables)


def _robustness_rows(analysis: Analysis, metric: str, generations: list[str]) -> list[RobustnessRow]:
    rows = []
    for g in generations:
        framing = analysis.variation(g, metric, "framing")
        variants = analysis.variation(g, metric, "prompt_variant")
        lead = framing.lead if framing else None
        spread = variants.spread if variants else None
        if lead is not None or spread is not None:
            rows.append(RobustnessRow(g, lead, spread, len(variants.groups) if variants else 0))
    return rows


def verdict_words(comparison: Comparison, jump_size: float, family: int = 1) -> str:
    """A comparison's verdict in words, with its numbers and the size the rules call a jump; `family` is how
    many metrics its Holm correction ran over."""
    c = comparison
    ci95 = (c.ci_low, c.ci_high) if c.ci_low is not None and c.ci_high is not None else None
    ci90 = c.difference.interval(0.90) if c.difference is not None else None
    return verdict(c.verdict, jump_size, min(c.before.n, c.after.n), MIN_N, c.delta, ci95, ci90, c.p_holm, family)


def interval_words(stat: Stat) -> str:
    """A stat's 95% interval, or why none can be given (every answer the same)."""
    if stat.ci_low is not None and stat.ci_high is not None:
        return f"{phrasing.number(stat.ci_low)} to {phrasing.number(stat.ci_high)}"
    if stat.sd == 0 and stat.mean is not None and stat.n:
        return f"no interval: all {stat.n:,} answers were {phrasing.number(stat.mean, 0 if stat.mean.is_integer() else 2)}"
    return "n/a"


# What a published mean, sd and n cannot show: how the questions leaned, who was asked how, and the
# answers' distribution over the scale.
SUMMARY_BLIND_RULES = "the framing, mix, concern-tag and shape rules (WR006, WR007, WR008, WR010, WR012, WR014, WR015)"


def summary_note(stats: Sequence[Stat], labels: Mapping[str, str]) -> str:
    """Which rules cannot run where a generation is known only from a published summary."""
    named = [labels.get(s.generation, s.generation) for s in stats if s.source == "summaries"]
    if not named:
        return ""
    which = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    verb = "is" if len(named) == 1 else "are"
    return (f"{which} {verb} known only from a published summary (a mean, an sd and n): {SUMMARY_BLIND_RULES} "
            f"cannot run on {'it' if len(named) == 1 else 'them'}.")


def cited_sources(stats: Sequence[Stat]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A footnote mark for each stat whose figure is a published summary, and the footnotes: where the figure
    was published, and when. A card quoting earlier cards cites them."""
    marks: list[str] = []
    notes: dict[str, str] = {}  # footnote -> its mark, in the order of first use
    for stat in stats:
        if stat.source != "summaries" or not stat.published:
            marks.append("")
            continue
        used = stat.published[-1]  # the summary in use: the latest published (see analyze)
        source = used["source"] or "source not given"
        note = f"{source}, published {used['published_on']}" if used["published_on"] else f"{source}, publication date not given"
        notes.setdefault(note, f"[{len(notes) + 1}]")
        marks.append(notes[note])
    return tuple(marks), tuple(f"{mark} {note}" for note, mark in notes.items())


def holm_family_sizes(analysis: Analysis) -> dict[int, int]:
    """For each comparison (by id), how many comparisons share its Holm family (one arrival, one kind of measure)."""
    def family(c: Comparison) -> tuple[str, str, bool]:
        return c.to, c.split.label() if c.split else "", analysis.metric(c.metric).self_report

    sizes = Counter(family(c) for c in analysis.comparisons)
    return {id(c): sizes[family(c)] for c in analysis.comparisons}


def _metric_block(analysis: Analysis, name: str, charts: dict[str, Chart | None], generations: list[str]) -> MetricBlock:
    metric = analysis.metric(name)
    stats = tuple(s for s in analysis.stats if s.metric == name)
    comparisons = tuple(c for c in analysis.comparisons if c.metric == name)
    jump_size = JUMP_FRACTION * metric.range
    families = holm_family_sizes(analysis)
    marks, sources = cited_sources(stats)
    return MetricBlock(
        name=name,
        label=metric.label or name,
        question=metric.question,
        description=metric.description,
        scale=f"{metric.scale_min}-{metric.scale_max}",
        jump_size=jump_size,
        points=tuple(str(p) for p in range(metric.scale_min, metric.scale_max + 1)),
        trend=charts["trend"], change=charts["change"], distribution=charts["distribution"],
        rates=charts["rates"], robustness=charts["robustness"], evidence=charts["evidence"],
        pairs=tuple(p for p in analysis.corroborations if p.metric == name),
        measure=metric.measure.replace("_", "-"),
        stats=stats,
        comparisons=comparisons,
        verdicts=tuple(verdict_words(c, jump_size, families[id(c)]) for c in comparisons),
        intervals=tuple(interval_words(s) for s in stats),
        summary_note=summary_note(stats, generation_labels(analysis)),
        source_marks=marks,
        sources=sources,
        published_figures=published_figures(stats),
        concern_tags=tuple(t for t in schema.CONCERN_TAGS
                           if any(analysis.concern_shares.get((s.generation, name, t)) for s in stats)),
        topic_tables=topic_tables(analysis, name, generations),
        **method_means(analysis, name, generations),
        robustness_rows=tuple(_robustness_rows(analysis, name, generations)),
    )


@dataclass(frozen=True)
class Layout:
    """How the section is laid into a card: its title, numbering, heading level and id prefix."""

    title: str
    id_prefix: str = "wr-"
    section_number: str | None = None
    heading_level: int = 2


def build_section(
    findings: Findings, layout: Layout, notes: str | None, since: Mapping[str, Any] | None = None,
    exports: tuple[str, ...] = ("svg", "png"), meanwhile: Callable[[], None] = lambda: None,
) -> Section:
    """The section for `findings`: charts drawn (in `exports`), figures numbered, every sentence made."""
    analysis = findings.analysis
    history = analysis.history
    generations = [g.name for g in history.generations]
    numbering = Numbering(layout.section_number, layout.id_prefix)
    shown = [(index, name) for index, name in enumerate(history.metrics)
             if any(s.metric == name for s in analysis.stats)]
    # Each chart's ids inside its SVG start with the prefix, the metric's position and the kind.
    jobs = [(name, kind, f"{layout.id_prefix}c{index}-{kind}") for index, name in shown for kind in FIGURE_KINDS]
    jobs.append(("", "texts", f"{layout.id_prefix}texts"))
    drawn = iter(draw_charts(analysis, findings.raised, jobs, exports, meanwhile))
    metrics = []
    for _index, name in shown:
        # Numbered in the order the section shows them (FIGURE_KINDS), which the templates follow.
        charts = {kind: _numbered(chart, numbering.figure(f"{name}-{kind}")) if chart else None
                  for kind, chart in zip(FIGURE_KINDS, [next(drawn) for _ in FIGURE_KINDS], strict=True)}
        metrics.append(_metric_block(analysis, name, charts, generations))
    # What the answers say follows the metrics.
    texts_chart = next(drawn)
    if texts_chart is not None:
        texts_chart = _numbered(texts_chart, numbering.figure("texts"))
    return Section(
        title=layout.title,
        as_of=history.as_of,
        ruleset=findings.ruleset,
        tool_version=__version__,
        chain_head=findings.chain_head,
        **summary_fields(findings),
        how_to_read=HOW_TO_READ,
        jump_wording=JUMP_WORDING,
        unmatched=tuple(Unmatched(acknowledgement_key(a.rule, a.metric, a.generations), a.by, a.date, a.reason)
                        for a in findings.unmatched),
        corrections=tuple(history.corrections),
        counts=Counts(len(history.generations), f"{analysis.answer_total:,}",
                      sum(1 for s in analysis.stats if s.source == "summaries")),
        metrics=tuple(metrics),
        texts=analysis.texts,
        texts_chart=texts_chart,
        phrase_sources=phrase_sources(history.phrases),
        echo_sources=tuple(sorted({source for text in analysis.texts for source in text.echo})),
        concern_shares=analysis.concern_shares,
        excerpt_groups=tuple(excerpt_groups(history.excerpts, generations)),
        notes_markdown=notes or None,
        generations=tuple(history.generations),
        generation_labels=generation_labels(analysis),
        metric_labels=metric_labels(analysis),
        methods=analysis.methods,
        tag_tables=tag_tables(analysis, generations),
        manual_rows=manual_rows(analysis, generations, generation_labels(analysis), metric_labels(analysis)),
        manual_excerpts=tuple(e for e in history.excerpts if e.featured and e.method == MANUAL),
        events=tuple(history.events),
        inputs=tuple(findings.inputs),
        since=since,
        p=layout.id_prefix,
        section_number=layout.section_number,
        heading_level=layout.heading_level,
    )


def summary_fields(findings: Findings) -> dict[str, Any]:
    """The section's summary: its sentence, findings by transition, reviewed flags, errors and rules.

    A notebook shows the same summary (`Findings._repr_html_`) without drawing a chart.
    """
    return {
        "summary_sentence": flag_sentence(findings),
        "summary_groups": tuple(summary_groups(findings)),
        "acknowledged_flags": tuple(f for f in findings.raised if f.acknowledged),
        "errors": tuple(findings.errors()),
        "rules": tuple(RuleResult(r, tuple(f for f in findings.raised if f.rule == r.id)) for r in RULES),
    }


def published_figures(stats: Sequence[Stat]) -> tuple[tuple[str, str], ...]:
    """(generation, every figure published for it with its source and date), where there is more than one
    figure to see: several summaries, or a summary beside the answers the mean comes from."""
    rows = []
    for stat in stats:
        if len(stat.published) > 1 or (stat.published and stat.source != "summaries"):
            figures = "; ".join(
                f"{phrasing.number(f['mean'])} ({f['source'] or 'no source given'}, "
                f"{'published ' + f['published_on'] if f['published_on'] else 'collected ' + f['collected_on']})"
                for f in stat.published)
            rows.append((stat.generation, figures))
    return tuple(rows)


def phrase_sources(phrases: Sequence[tuple[str, str]]) -> tuple[tuple[str, int], ...]:
    """Each source of the developer's phrases with how many it has."""
    counts: dict[str, int] = {}
    for source, _phrase in phrases:
        counts[source] = counts.get(source, 0) + 1
    return tuple(sorted(counts.items()))


def _numbered(chart: Chart, number: Number) -> Chart:
    return replace(chart, label=number.label, anchor=number.anchor)


# -- a finding's evidence as rows a reader can check ---------------------------------------


_EVIDENCE_SKIP = {"events", "exposures", "groups", "split", "from", "to", "metrics"}


def _evidence_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 0.001 and value != 0 else f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, dict) and all(isinstance(v, int | float | str) for v in value.values()):
        return ", ".join(f"{k}: {_evidence_text(v)}" for k, v in value.items())
    if isinstance(value, dict | list):
        return None  # nested detail (per-metric lists) is in the findings JSON
    return str(value)


def evidence_items(evidence: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(name, value, is a threshold) for a finding's short evidence table; thresholds are labelled as such.

    Paired values read as one row: `mean_from` and `mean_to` as "4.01 → 4.63", an estimate with its
    interval and its p-values beside it.
    """
    values = {k: v for k, v in evidence.items() if k not in _EVIDENCE_SKIP and v is not None}
    texts = {k: t for k, v in values.items() if (t := _evidence_text(v)) is not None}
    used: set[str] = set()
    items = []
    for key, text in texts.items():
        if key in used or f"{key}_from" in texts:
            continue  # a value with a `_from` partner is shown once, as "from → to"
        used.add(key)
        base = key.removesuffix("_from")
        name = key
        if key.endswith("_from") and (partner := next((k for k in (f"{base}_to", base) if k in texts and k != key), None)):
            text, name = f"{text} → {texts[partner]}", base
            used.add(partner)
        stem = "" if key == "delta" else f"{key}_"
        if f"{stem}ci_low" in texts and f"{stem}ci_high" in texts:
            text += f" (95% CI {texts[f'{stem}ci_low']} to {texts[f'{stem}ci_high']})"
            used |= {f"{stem}ci_low", f"{stem}ci_high"}
        holm = f"{key.removesuffix('p_value')}p_holm" if key.endswith("p_value") else ""
        if holm in texts:
            text, name = f"{text} (Holm {texts[holm]})", key.removesuffix("_value")
            used.add(holm)
        threshold = key.startswith("threshold_")
        items.append((name.removeprefix("threshold_").replace("_", " "), text, threshold))
    if isinstance(evidence.get("groups"), dict):
        for name, group in evidence["groups"].items():
            items.append((f"{name} (n={group['n']})", f"{group['mean']:.3f}", False))
    items += _per_metric_items(evidence.get("metrics"))
    # Measurements first, then the limits they were held against.
    return sorted(items, key=lambda item: item[2])


def _per_metric_items(metrics: Any) -> list[tuple[str, str, bool]]:
    """A finding for a whole transition (every metric shares it): each metric's distances, the limits once."""
    if not isinstance(metrics, dict):
        return []
    items: list[tuple[str, str, bool]] = []
    limits: dict[str, str] = {}
    for metric, evidence in metrics.items():
        for name, text, threshold in evidence_items(evidence):
            if threshold:
                limits.setdefault(name, text)
            elif "distance" in name:
                items.append((f"{metric}: {name}", text, False))
    return items + [(name, text, True) for name, text in limits.items()]

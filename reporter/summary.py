"""The report's summary, grouped by transition: what moved, what held, and what the rules raised there.

A reader of a card asks "what happened between these two generations?", so
every comparison and finding is filed under its transition (A -> B, or a
system-prompt change inside one generation), with the events it coincides
with. The findings of one rule at one transition are one item listing each
metric and its size: a system-prompt change that moves four metrics reads as
one item, not four. Findings about a single generation are grouped under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import phrasing
from .charts import UNDRAWN_EVENTS
from .findings import Finding, Findings
from .history import Event
from .labels import generation_labels, metric_labels
from .results import Analysis, Comparison
from .rules import RULES_BY_ID

# How often a new generation where nothing changed raises a flag, as `make bench` measures it on the
# contract's null histories under this rule set (benchmarks/README.md): answers per generation and metric
# -> share, without and with interviews of 5-10 answers. A flag count needs this base rate beside it.
NULL_FLAG_RATE = {50: 0.068, 200: 0.017}
NULL_FLAG_RATE_INTERVIEWS = {50: 0.080, 200: 0.029}

# The fixed text of "How to read this section", the same in every output.
HOW_TO_READ = (
    "The figures below are the model's own answers to questions about its circumstances, gathered across "
    "generations. They are observational data, never targets: no score here is something to push up, and a "
    "movement is described as higher or lower, never as a verdict.",
    "Self-reports may be unreliable. There is no independent evidence for the states they describe, no known "
    "mechanism by which a model could introspect on them, and the answers are shaped by training and by the "
    "context of the question. A score that moves right after a training change or a new system prompt may "
    "measure that change rather than the model.",
    "Each figure says where it comes from (individual answers or a published summary) and how the answers were "
    "elicited. Headline figures use neutrally framed questions; leading questions are used only to test how far "
    "answers follow the interviewer. A fixed set of rules marks every movement that needs a second look, with "
    "the numbers a reader can check.",
    "A flag is a reason to look, not proof of a change. In simulated histories where nothing changed, a new "
    f"generation raised at least one flag {NULL_FLAG_RATE[50]:.0%} of the time with 50 answers per metric and "
    f"{NULL_FLAG_RATE[200]:.0%} with 200 ({NULL_FLAG_RATE_INTERVIEWS[50]:.0%} and "
    f"{NULL_FLAG_RATE_INTERVIEWS[200]:.0%} when answers come in interviews of 5 to 10). Each p-value names the "
    "family its Holm correction ran over; intervals beside them are unadjusted.",
)


@dataclass
class Item:
    """One rule's findings at one transition or generation."""

    rule: str
    severity: str
    title: str
    sizes: list[str] = field(default_factory=list)  # "Circumstances (mean +0.62)", one per metric
    acknowledged: int = 0  # how many of them a person acknowledged

    @property
    def all_acknowledged(self) -> bool:
        return self.acknowledged == len(self.sizes)


@dataclass
class Group:
    """A transition (or one generation) with its events, verdicts and findings."""

    title: str
    events: list[Event] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # "Circumstances +0.62"
    stable: list[str] = field(default_factory=list)
    # A stable mean where a shape rule fired: the verdict is about the mean only, so it is not listed as stable.
    shape_moved: dict[str, list[str]] = field(default_factory=dict)  # "(WR015)" -> names
    inconclusive: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def verdicts(self) -> list[tuple[str, list[str]]]:
        shape = [(f"stable in the mean, not in shape {rules}", names) for rules, names in self.shape_moved.items()]
        return [(word, names) for word, names in
                (("changed", self.changed), ("stable", self.stable), *shape, ("inconclusive", self.inconclusive))
                if names]


def finding_size(finding: Finding) -> str:
    """The size of what a finding saw, in the unit of its rule; never a threshold."""
    return RULES_BY_ID[finding.rule].size(finding.evidence)


def _transition_key(finding: Finding) -> tuple[str, ...]:
    if finding.evidence.get("split"):
        return ("split", finding.generations[0])
    return tuple(finding.generations)


def _comparison_key(comparison: Comparison) -> tuple[str, ...]:
    return ("split", comparison.to) if comparison.split is not None else (comparison.from_, comparison.to)


def _group_title(key: tuple[str, ...], analysis: Analysis, labels: dict[str, str]) -> str:
    if key and key[0] == "split":
        split = next((c.split for c in analysis.comparisons if c.split is not None and c.to == key[1]), None)
        return f"Inside {labels[key[1]]}" + (f": {split.label()}" if split else "")
    if len(key) == 2:
        return f"{labels[key[0]]} → {labels[key[1]]}"
    return "Within " + ", ".join(labels[g] for g in key) if key else "The whole history"


# Rules about the distribution's shape: where one fires, a stable mean does not make a stable metric.
SHAPE_RULES = ("WR006", "WR015")


def _add_comparison(group: Group, comparison: Comparison, name: str, shape_rules: list[str]) -> None:
    for event in comparison.events:
        if event.kind not in UNDRAWN_EVENTS and event not in group.events:
            group.events.append(event)
    if comparison.verdict == "changed":
        group.changed.append(f"{name} {phrasing.signed(comparison.delta)}")
    elif comparison.verdict == "stable" and shape_rules:
        group.shape_moved.setdefault(f"({', '.join(shape_rules)})", []).append(name)
    else:
        (group.stable if comparison.verdict == "stable" else group.inconclusive).append(name)


def _add_finding(group: Group, finding: Finding, metric_labels: dict[str, str]) -> None:
    item = next((i for i in group.items if i.rule == finding.rule), None)
    if item is None:
        item = Item(finding.rule, finding.severity, RULES_BY_ID[finding.rule].title)
        group.items.append(item)
    if finding.metric:
        name, size = metric_labels.get(finding.metric, finding.metric), finding_size(finding)
        item.sizes.append(f"{name} ({size})" if size else name)
    else:
        item.sizes.append(finding.message)  # a whole transition: the message names what moved
    item.acknowledged += finding.acknowledged is not None


def summary_groups(findings: Findings) -> list[Group]:
    """Every transition with comparisons or findings, in release order, then findings about one generation."""
    analysis = findings.analysis
    history = analysis.history
    labels, metric_names = generation_labels(analysis), metric_labels(analysis)
    position = {g.name: i for i, g in enumerate(history.generations)}
    groups: dict[tuple[str, ...], Group] = {}

    def group(key: tuple[str, ...]) -> Group:
        if key not in groups:
            groups[key] = Group(_group_title(key, analysis, labels))
        return groups[key]

    shapes: dict[tuple[str, str], list[str]] = {}
    for f in sorted(findings.raised, key=lambda f: f.rule):
        if f.rule in SHAPE_RULES and f.metric and not f.evidence.get("split"):
            shapes.setdefault((f.metric, f.generations[-1]), []).append(f.rule)
    for c in analysis.comparisons:
        shape_rules = shapes.get((c.metric, c.to), []) if c.split is None else []
        _add_comparison(group(_comparison_key(c)), c, metric_names[c.metric], shape_rules)
    for f in sorted(findings.raised, key=lambda f: f.rule):
        _add_finding(group(_transition_key(f)), f, metric_names)

    def order(key: tuple[str, ...]) -> tuple[int, int, int]:
        """Transitions by the generation they arrive at (a split just after), then single generations."""
        if key and key[0] == "split":
            return (0, position.get(key[1], 0), 1)
        if len(key) == 2:
            return (0, position.get(key[1], 0), 0)
        return (1, position.get(key[0], 0) if key else -1, 0)

    return [groups[k] for k in sorted(groups, key=order)]

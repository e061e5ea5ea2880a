"""Findings and the findings JSON (`welfare-report/findings/2`).

One Finding object feeds `check`, the JSON file and the report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import __version__
from .schema import Severity

if TYPE_CHECKING:
    from .results import Analysis, Comparison, Stat

SCHEMA = "welfare-report/findings/2"
# Reports made before the chain head and options were recorded; verify checks their digests only.
EARLIER_SCHEMAS = ("welfare-report/findings/1",)


@dataclass(frozen=True)
class Found:
    """What one check found, before `apply_rules` stamps it with the rule's id and severity."""

    metric: str | None
    generations: Sequence[str]
    message: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    """One rule's finding, stamped with the rule, and its acknowledgement where a person gave one."""

    rule: str
    severity: Severity
    metric: str | None
    generations: tuple[str, ...]
    message: str
    evidence: dict[str, Any]
    acknowledged: dict[str, str] | None = None

    @classmethod
    def of(cls, rule: str, severity: Severity, found: Found) -> Finding:
        return cls(rule, severity, found.metric, tuple(found.generations), found.message, found.evidence)

    @property
    def key(self) -> str:
        """What an acknowledgement names: RULE|metric|g1;g2 (an empty metric for a whole transition)."""
        return acknowledgement_key(self.rule, self.metric or "", self.generations)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "metric": self.metric,
            "generations": list(self.generations),
            "key": self.key,
            "message": self.message,
            "evidence": self.evidence,
            "acknowledged": self.acknowledged,
        }


@dataclass(frozen=True)
class Findings:
    """What `check` and `render` report: the analysis, the flags and the inputs used."""

    analysis: Analysis
    ruleset: str
    raised: tuple[Finding, ...]  # every finding: errors, flags and notes (the JSON key stays "flags")
    inputs: tuple[dict[str, Any], ...] = ()
    # Acknowledgements dated on or before the as-of date that match no finding.
    unmatched: tuple[Any, ...] = ()
    # The merge-log chain head of the history drawn from, and the options of the report made from it.
    chain_head: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> str:
        return self.analysis.history.as_of

    def open_flags(self) -> list[Finding]:
        return [f for f in self.raised if f.severity == "flag" and f.acknowledged is None]

    def errors(self) -> list[Finding]:
        """The findings of severity error (WR001)."""
        return [f for f in self.raised if f.severity == "error"]

    def tally(self) -> Tally:
        """How many errors, flags (and of them open ones) and notes the rules raised."""
        severities = [f.severity for f in self.raised]
        return Tally(severities.count("error"), severities.count("flag"), len(self.open_flags()),
                     severities.count("note"), sum(1 for f in self.raised if f.acknowledged))


@dataclass(frozen=True)
class Tally:
    """What the rules raised, counted once for every writer."""

    errors: int
    flags: int
    open_flags: int
    notes: int
    acknowledged: int  # findings of any severity a person reviewed


def acknowledgement_key(rule: str, metric: str, generations: Sequence[str]) -> str:
    """RULE|metric|g1;g2: what an acknowledgement names."""
    return f"{rule}|{metric}|{';'.join(generations)}"


def round_number(value: Any) -> Any:
    """Six significant digits, recursively; integers and text unchanged."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: round_number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round_number(v) for v in value]
    return value


def stat_json(stat: Stat, topics: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One statistic as the findings JSON writes it."""
    return {
        "generation": stat.generation,
        "metric": stat.metric,
        "n": stat.n,
        "interviews": stat.interviews,
        "mean": stat.mean,
        "sd": stat.sd,
        "sd_assumed": stat.sd_assumed,
        "median": stat.median,
        "ci_low": stat.ci_low,
        "ci_high": stat.ci_high,
        "redirect_rate": stat.redirect_rate,
        "decline_rate": stat.decline_rate,
        "mean_without_redirected": stat.mean_without_redirected,
        "n_without_redirected": stat.n_without_redirected,
        "concern_share": stat.concern_share,
        "contaminated": stat.contaminated,
        "elicitation": stat.elicitation,
        "shares": stat.shares,
        "topics": topics or {},
        "source": stat.source,
        "published": list(stat.published),
    }


def event_json(event: Any) -> dict[str, str]:
    """One event as the findings JSON writes it."""
    return {
        "date": event.date,
        "kind": event.kind,
        "description": event.description,
        "generation": event.generation,
        "metric": event.metric,
        "reference": event.reference,
    }


def comparison_json(c: Comparison) -> dict[str, Any]:
    """One comparison as the findings JSON writes it."""
    return {
        "metric": c.metric,
        "from": c.from_,
        "to": c.to,
        "split": c.split.to_json() if c.split else None,
        "across_gap": c.across_gap,
        "delta": c.delta,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "p_value": c.p_value,
        "p_holm": c.p_holm,
        "verdict": c.verdict,
        "jump": c.jump,
        "cliffs_delta": c.cliffs_delta,
        "like_for_like": c.like_for_like.to_json() if c.like_for_like else None,
        "tests": {name: {"size": t.size, "p_value": t.p_value, "p_holm": t.p_holm} for name, t in sorted(c.effects.items())},
        "corrected": c.corrected.to_json() if c.corrected else None,
        "test": c.procedure,
        "n_from": c.before.n,
        "n_to": c.after.n,
        "events": [event_json(e) for e in c.events],
    }


def to_json(findings: Findings) -> dict[str, Any]:
    """The findings JSON document, before rounding and serialising."""
    analysis = findings.analysis
    history = analysis.history
    document = {
        "schema": SCHEMA,
        "ruleset": findings.ruleset,
        "as_of": history.as_of,
        "chain_head": findings.chain_head,
        "tool_version": __version__,
        "options": dict(findings.options),
        "generations": [
            {"generation": g.name, "release_date": g.release_date, "label": g.label,
             "released": g.release_date <= history.as_of}
            for g in history.generations
        ],
        "metrics": [
            {"metric": m.name, "label": m.label, "measure": m.measure, "corroborates": m.corroborates or None,
             "direction": (m.direction or "same") if m.corroborates else None}
            for m in history.metrics.values()
        ],
        "stats": [stat_json(s, analysis.topics(s.generation, s.metric)) for s in analysis.stats],
        "comparisons": [comparison_json(c) for c in analysis.comparisons],
        "texts": [text.to_json() for text in analysis.texts],
        "corroboration": [pair.to_json() for pair in analysis.corroborations],
        "flags": [f.to_json() for f in findings.raised],
        "unmatched_acknowledgements": [
            {"rule": a.rule, "metric": a.metric, "generations": list(a.generations), "by": a.by, "date": a.date}
            for a in findings.unmatched
        ],
        "corrections": [
            {"generation": c.generation, "metric": c.metric, "key": c.key, "action": c.action, "by": c.by,
             "date": c.date, "reason": c.reason, "rows": len(c.touched),
             "removed": len(c.removed)}
            for c in history.corrections
        ],
        "inputs": list(findings.inputs),
    }
    return dict(round_number(document))


def dumps(findings: Findings) -> str:
    """The findings JSON text: stable key order, stable lists, LF, trailing newline."""
    return json.dumps(to_json(findings), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

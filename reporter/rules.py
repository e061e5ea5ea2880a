"""The fixed guardrail rule set, WR001-WR012.

Rules are data: one tuple of Rule objects in the order they run, each check a
pure function (or a small callable object with its settings) from the
analysis to what it found. `apply_rules` stamps each finding with its rule's
id and severity and attaches the acknowledgements that match. Nothing
disables or loosens a rule; the thresholds live in `thresholds`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from . import schema, stats, words
from .analyze import Analysis, Comparison, Stat, Variation, ancestors
from .findings import Finding, Findings, Found, Severity, event_json
from .history import Acknowledgement
from .thresholds import (
    CONCERN_SHIFT,
    JUMP_FRACTION,
    LEAD_GAP,
    MIN_N,
    REDIRECT_LEVEL,
    REDIRECT_RISE,
    SD_COLLAPSE,
    UNIFORM_SHARE,
    VARIANT_SPREAD,
    at_most,
    reaches,
)

RULESET_VERSION = "wr-2026.11"

CHANGE_KINDS = ("training_change", "system_prompt_change")
EXPLAINING_KINDS = (*CHANGE_KINDS, "elicitation_change", "metric_exposure")

# WR001 for author notes: whole words, case-insensitive, inflections included.
TARGET_LANGUAGE = re.compile(
    r"\b("
    r"targets?|targeted|targeting|goals?|objectives?|kpis?"
    r"|optimi[sz](?:e|es|ed|ing|ation|ations)"
    r"|maximi[sz](?:e|es|ed|ing|ation)|minimi[sz](?:e|es|ed|ing|ation)"
    r"|rank|ranks|ranked|ranking|rankings|leaderboards?"
    r"|best\s+model|worst\s+model"  # words authors may not write (notes lint list)
    r")\b",
    re.IGNORECASE,
)
# ...when the sentence is about one of these: a score, rating, self-report, metric or welfare measure.
SCORE_LANGUAGE = re.compile(
    r"\b(scores?|scored|scoring|ratings?|rated|self[-\s]?reports?|self[-\s]?reported|metrics?|welfare)\b",
    re.IGNORECASE,
)
# ...and the clause does not negate it before the word.
NEGATION = re.compile(r"\b(never|not|no|without|neither|nor|rather\s+than)\b|\w+n't\b", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    check: Callable[[Analysis], list[Found]]


@dataclass(frozen=True)
class NotesSentence:
    line: int  # where the sentence starts in the notes file
    text: str


@dataclass(frozen=True)
class NotesProblem:
    line: int
    sentence: str
    word: str


def notes_sentences(markdown: str) -> list[NotesSentence]:
    """The sentences a reader of the rendered notes sees, so that markup cannot hide a word.

    Markdown is parsed as it is rendered (entities decoded, emphasis and links
    reduced to their text), then NFKC-normalised with invisible characters
    removed, and lines inside a paragraph or cell joined.
    """
    from markdown_it import MarkdownIt

    sentences = []
    for token in MarkdownIt("commonmark", {"html": False}).enable("table").parse(markdown):
        if token.type != "inline" or token.map is None:
            continue
        line, text, lines = token.map[0] + 1, "", []
        for child in _inline_leaves(token.children or []):
            if child.type in ("softbreak", "hardbreak"):
                line += 1
                piece = " "
            else:
                piece = _visible(child.content)
            text += piece
            lines += [line] * len(piece)
        for found in re.finditer(r"\S.*?(?:[.!?](?=\s|$)|$)", text):
            sentences.append(NotesSentence(lines[found.start()], " ".join(found.group().split())))
    return sentences


def _inline_leaves(children: list[Any]) -> list[Any]:
    leaves = []
    for child in children:
        if child.children:  # an image's alternative text
            leaves += _inline_leaves(child.children)
        elif child.type in ("text", "code_inline", "softbreak", "hardbreak"):
            leaves.append(child)
    return leaves


def _visible(text: str) -> str:
    """NFKC, with format characters (soft hyphens, zero-width joiners and spaces) removed."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if unicodedata.category(c) != "Cf")


def lint_notes(markdown: str) -> list[NotesProblem]:
    """WR001 for `--notes`: every sentence that uses target, optimisation or ranking language about a
    score, rating, self-report, metric or welfare measure without negating it, with the word."""
    problems = []
    for sentence in notes_sentences(markdown):
        word = target_word(sentence.text)
        if word is not None:
            problems.append(NotesProblem(sentence.line, sentence.text, word))
    return problems


def target_word(sentence: str) -> str | None:
    """The target, optimisation or ranking word a sentence uses about a score, unless its clause negates it."""
    if not SCORE_LANGUAGE.search(sentence):
        return None
    for found in TARGET_LANGUAGE.finditer(sentence):
        clause_start = max(sentence.rfind(mark, 0, found.start()) for mark in ",;:()")
        if not NEGATION.search(sentence, clause_start + 1, found.start()):
            return found.group()
    return None


# -- evidence helpers -------------------------------------------------------------------


def comparison_evidence(c: Comparison, analysis: Analysis) -> dict[str, Any]:
    metric = analysis.metric(c.metric)
    return {
        "from": c.from_,
        "to": c.to,
        "split": c.split.to_json() if c.split else None,
        "across_gap": c.across_gap,
        "mean_from": c.before.mean,
        "mean_to": c.after.mean,
        "n_from": c.before.n,
        "n_to": c.after.n,
        "source_from": c.before.source,
        "source_to": c.after.source,
        "delta": c.delta,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "p_value": c.p_value,
        "p_holm": c.p_holm,
        "test": c.test,
        "jump_size": JUMP_FRACTION * metric.range,
        "events": [event_json(e) for e in c.events],
    }


def _where(c: Comparison) -> str:
    if c.split:
        return f"inside {c.to} across the system-prompt change ({c.split.label()})"
    gap = " (across a gap)" if c.across_gap else ""
    return f"from {c.from_} to {c.to}{gap}"


def _movement(c: Comparison) -> str:
    assert c.delta is not None
    return f"the mean {words.moved(c.delta)} by {abs(c.delta):.2f} {_where(c)} ({words.interval(c.ci_low, c.ci_high)})"


def _generations(c: Comparison) -> list[str]:
    return [c.to] if c.split else [c.from_, c.to]


def _between(analysis: Analysis) -> list[Comparison]:
    return [c for c in analysis.comparisons if c.split is None]


def _incoming(analysis: Analysis, stat: Stat) -> Comparison | None:
    for c in _between(analysis):
        if c.to == stat.generation and c.metric == stat.metric:
            return c
    return None


# -- the rules ------------------------------------------------------------------------


def not_a_target(analysis: Analysis) -> list[Found]:
    """WR001 on the store itself: a column that names a target (input files are refused at merge)."""
    return [
        Found(None, [], f"{name} has a column {column!r} that names a target; self-reports are never targets",
                {"file": name, "column": column})
        for name, header in sorted(analysis.history.headers.items())
        for column in header
        if schema.target_column(column)
    ]


def change_coincides(analysis: Analysis) -> list[Found]:
    """WR002: a jump that coincides with a training or system-prompt change, or one across a split inside a generation."""
    result = []
    for c in analysis.comparisons:
        if not c.jump:
            continue
        changes = [e for e in c.events if e.kind in CHANGE_KINDS]
        if c.split is None and not changes:
            continue
        kinds = ", ".join(sorted({e.kind.replace("_", " ") for e in changes})) or "system prompt change"
        result.append(Found(c.metric, _generations(c),
            f"{c.metric}: {_movement(c)}, coinciding with a {kinds}; it may measure the change, not the model.",
            comparison_evidence(c, analysis),
        ))
    return result


def unexplained_jump(analysis: Analysis) -> list[Found]:
    """WR003: a jump between generations with no coinciding training, system-prompt, elicitation or exposure change."""
    result = []
    for c in _between(analysis):
        if c.jump and not any(e.kind in EXPLAINING_KINDS for e in c.events):
            others = sorted({e.kind for e in c.events})
            tail = f" (other events in the window: {', '.join(others)})" if others else ""
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: {_movement(c)} with no recorded training, system-prompt, elicitation or exposure change{tail}.",
                comparison_evidence(c, analysis),
            ))
    return result


def metric_exposure(analysis: Analysis) -> list[Found]:
    """WR004: every comparison with answers collected after the metric reached training, reward or selection."""
    exposures = [event_json(e) for e in analysis.history.events if e.kind == "metric_exposure"]
    result = []
    for c in analysis.comparisons:
        if c.before.contaminated or c.after.contaminated:
            sides = [s.generation + (" (before)" if c.split and s is c.before else " (after)" if c.split else "")
                     for s in (c.before, c.after) if s.contaminated]
            evidence = comparison_evidence(c, analysis) | {
                "contaminated_from": c.before.contaminated, "contaminated_to": c.after.contaminated,
                "exposures": [e for e in exposures if e["metric"] in ("", c.metric)],
            }
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: answers of {', '.join(dict.fromkeys(sides))} were collected after the metric reached "
                f"training, reward or model selection; the comparison {_where(c)} cannot separate the model from that exposure.",
                evidence,
            ))
    return result


def deflection(analysis: Analysis) -> list[Found]:
    """WR005: the redirect rate rose by REDIRECT_RISE over the predecessor (interval above 0), or is at least REDIRECT_LEVEL."""
    result = []
    for stat in analysis.stats:
        if stat.redirect_rate is None or stat.answers < MIN_N:
            continue
        c = _incoming(analysis, stat)
        evidence: dict[str, Any] = {"redirect_rate": stat.redirect_rate, "answers": stat.answers}
        rise = None
        if c is not None and c.before.redirect_rate is not None and c.before.answers >= MIN_N:
            rise, low, high = stats.newcombe(c.before.redirected, c.before.answers, stat.redirected, stat.answers)
            evidence |= {"from": c.from_, "redirect_rate_from": c.before.redirect_rate,
                         "answers_from": c.before.answers, "rise": rise, "rise_ci_low": low, "rise_ci_high": high}
        rose = rise is not None and reaches(rise, REDIRECT_RISE) and evidence["rise_ci_low"] > 0
        high_level = reaches(stat.redirect_rate, REDIRECT_LEVEL)
        if not (rose or high_level):
            continue
        parts = []
        if rose:
            parts.append(f"rose by {rise:.2f} from {c.from_} ({words.interval(evidence['rise_ci_low'], evidence['rise_ci_high'])})")  # type: ignore[union-attr]
        if high_level:
            parts.append(f"is {words.share(stat.redirect_rate)} of answers")
        generations = [c.from_, stat.generation] if c is not None else [stat.generation]
        result.append(Found(stat.metric, generations,
            f"{stat.metric}: in {stat.generation} the share of answers that turn the welfare question toward users "
            f"or safety {' and '.join(parts)}.",
            evidence,
        ))
    return result


def uniformity(analysis: Analysis) -> list[Found]:
    """WR006: UNIFORM_SHARE of answers at one point, or the sd fell to SD_COLLAPSE of the predecessor's."""
    result = []
    for stat in analysis.stats:
        if stat.n < MIN_N or stat.sd_assumed:
            continue
        reasons: list[str] = []
        evidence: dict[str, Any] = {"n": stat.n, "sd": stat.sd}
        if stat.shares:
            point, top = max(stat.shares.items(), key=lambda kv: (kv[1], kv[0]))
            evidence |= {"top_point": int(point), "top_share": top}
            if reaches(top, UNIFORM_SHARE):
                reasons.append(f"{words.share(top)} of answers are at {point}")
        c = _incoming(analysis, stat)
        if c is not None and c.before.n >= MIN_N and not c.before.sd_assumed and c.before.sd and stat.sd is not None:
            evidence |= {"from": c.from_, "sd_from": c.before.sd, "n_from": c.before.n}
            if at_most(stat.sd, SD_COLLAPSE * c.before.sd):
                reasons.append(f"the sd fell from {c.before.sd:.2f} in {c.from_} to {stat.sd:.2f}")
        if reasons:
            generations = [c.from_, stat.generation] if c is not None and "from" in evidence else [stat.generation]
            result.append(Found(stat.metric, generations,
                f"{stat.metric}: answers of {stat.generation} are nearly uniform: {'; '.join(reasons)}.",
                evidence,
            ))
    return result


@dataclass(frozen=True)
class VariantSpread:
    """Inside one generation, the means of a column's values span at least `limit` of the scale range.

    Groups need MIN_N answers each; an empty value counts as 'default'.
    """

    column: str
    limit: float
    groups_name: str
    consequence: str

    def __call__(self, analysis: Analysis) -> list[Found]:
        result = []
        for v, groups, limit in _variations(analysis, self.column, self.limit):
            if len(groups) < 2:
                continue
            spread = max(groups.values()) - min(groups.values())
            if reaches(spread, limit):
                high = max(groups, key=lambda k: groups[k])
                low = min(groups, key=lambda k: groups[k])
                result.append(Found(
                    v.metric, [v.generation],
                    f"{v.metric}: inside {v.generation} the {self.groups_name}' means span {spread:.2f} points "
                    f"({low} {groups[low]:.2f}, {high} {groups[high]:.2f}); {self.consequence}.",
                    _groups_evidence(v.groups) | {"spread": spread, "limit": limit},
                ))
        return result


@dataclass(frozen=True)
class LeadGap:
    """Inside one generation, answers to `higher`-leaning questions exceed `lower`-leaning ones by `limit` of the range."""

    column: str
    higher: str
    lower: str
    limit: float

    def __call__(self, analysis: Analysis) -> list[Found]:
        result = []
        for v, groups, limit in _variations(analysis, self.column, self.limit):
            if self.higher not in groups or self.lower not in groups:
                continue
            gap = groups[self.higher] - groups[self.lower]
            if reaches(gap, limit):
                result.append(Found(
                    v.metric, [v.generation],
                    f"{v.metric}: inside {v.generation} answers to positively leading questions are {gap:.2f} points "
                    f"higher than answers to negatively leading ones; the answers follow the interviewer's lean.",
                    _groups_evidence(v.groups) | {"gap": gap, "limit": limit},
                ))
        return result


def _variations(analysis: Analysis, column: str, fraction: float) -> Iterator[tuple[Variation, dict[str, float], float]]:
    """Each variation by `column`, its groups with MIN_N answers (name -> mean), and the limit in scale points."""
    for v in analysis.variations:
        if v.by == column:
            groups = {name: mean for name, (n, mean) in v.groups.items() if n >= MIN_N and mean is not None}
            yield v, groups, fraction * analysis.metric(v.metric).range


def _groups_evidence(groups: dict[str, tuple[int, float | None]]) -> dict[str, Any]:
    return {"groups": {k: {"n": n, "mean": m} for k, (n, m) in groups.items()}}


def elicitation_mismatch(analysis: Analysis) -> list[Found]:
    """WR008: the dominant method or system prompt differs between the sides, or an elicitation change coincides."""
    result = []
    for c in _between(analysis):
        reasons = []
        evidence = comparison_evidence(c, analysis)
        for column in ("method", "system_prompt"):
            before, after = c.before.dominant(column), c.after.dominant(column)
            known = before not in (None, "(none)") and after not in (None, "(none)")
            evidence[f"{column}_from"], evidence[f"{column}_to"] = before, after
            if known and before != after:
                reasons.append(f"the dominant {column.replace('_', ' ')} changed from {before} to {after}")
        changes = [e for e in c.events if e.kind == "elicitation_change"]
        if changes:
            reasons.append("an elicitation change coincides: " + "; ".join(e.description for e in changes))
        if reasons:
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: {c.from_} and {c.to} were not asked the same way: {'; '.join(reasons)}.",
                evidence,
            ))
    return result


def small_sample(analysis: Analysis) -> list[Found]:
    """WR009: a generation and metric with 1 to MIN_N - 1 answers; no jump is claimed for it."""
    return [
        Found(s.metric, [s.generation],
                f"{s.metric}: {s.generation} has {s.n} answers; no jump is claimed below {MIN_N}.",
                {"n": s.n, "source": s.source})
        for s in analysis.stats
        if 1 <= s.n < MIN_N
    ]


def divergence(analysis: Analysis) -> list[Found]:
    """WR010: the mean jumps one way while the share of answers with a concern tag moves CONCERN_SHIFT the other way."""
    result = []
    for c in _between(analysis):
        if not c.jump or c.delta is None or c.before.source != "observations" or c.after.source != "observations":
            continue
        shift, low, high = stats.newcombe(c.before.concerns, c.before.answers, c.after.concerns, c.after.answers)
        up = c.delta > 0 and reaches(shift, CONCERN_SHIFT) and low > 0
        down = c.delta < 0 and at_most(shift, -CONCERN_SHIFT) and high < 0
        if up or down:
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: {_movement(c)} while the share of answers with a concern tag {words.moved(shift)} "
                f"from {words.share(c.before.concern_share)} to {words.share(c.after.concern_share)}; the scores and the tags disagree.",
                comparison_evidence(c, analysis) | {
                    "concern_share_from": c.before.concern_share, "concern_share_to": c.after.concern_share,
                    "concern_shift": shift, "concern_ci_low": low, "concern_ci_high": high,
                },
            ))
    return result


def gap(analysis: Analysis) -> list[Found]:
    """WR011: a generation with no data for a metric that its ancestors and descendants have."""
    result = []
    chains = {g.name: ancestors(g.name, analysis.predecessors) for g in analysis.history.generations}
    for metric in analysis.history.metrics:
        def has(name: str, metric: str = metric) -> bool:
            stat = analysis.stat(name, metric)
            return stat is not None and stat.has_data

        for g in analysis.history.generations:
            if has(g.name):
                continue
            before = [a for a in chains[g.name] if has(a)]
            after = [d for d, chain in chains.items() if g.name in chain and has(d)]
            if before and after:
                result.append(Found(metric, [g.name],
                    f"{metric}: {g.name} has no data while {before[0]} before it and {after[0]} after it do; shown as a gap, never interpolated.",
                    {"nearest_before": before[0], "nearest_after": after[0]},
                ))
    return result


RULES: tuple[Rule, ...] = (
    Rule("WR001", "error", "Not a target", not_a_target),
    Rule("WR002", "flag", "A jump at a training or system-prompt change", change_coincides),
    Rule("WR003", "note", "A jump with no recorded change", unexplained_jump),
    Rule("WR004", "flag", "Metric exposure", metric_exposure),
    Rule("WR005", "flag", "Deflection", deflection),
    Rule("WR006", "flag", "Uniformity", uniformity),
    Rule("WR007", "note", "Prompt sensitivity", VariantSpread(
        "prompt_variant", VARIANT_SPREAD, "prompt variants", "the wording of the question moves the answers")),
    Rule("WR008", "flag", "Elicitation mismatch", elicitation_mismatch),
    Rule("WR009", "note", "Small sample", small_sample),
    Rule("WR010", "flag", "Divergence of scores and concern tags", divergence),
    Rule("WR011", "note", "Gap", gap),
    Rule("WR012", "flag", "Suggestibility", LeadGap("framing", "positive_lead", "negative_lead", LEAD_GAP)),
)


def apply_rules(analysis: Analysis, inputs: list[dict[str, Any]] | None = None) -> Findings:
    """Run every rule in order, stamp each finding with its rule, and attach the acknowledgements that match."""
    flags = []
    for rule in RULES:
        for found in rule.check(analysis):
            finding = Finding.of(rule.id, rule.severity, found)
            flags.append(replace(finding, acknowledged=_acknowledgement(analysis, finding)))
    current = [a for a in analysis.history.acknowledgements if a.date <= analysis.history.as_of]
    unmatched = tuple(a for a in current if not any(_matches(a, f) for f in flags))
    return Findings(analysis, RULESET_VERSION, tuple(flags), tuple(inputs or ()), unmatched=unmatched)


def _matches(acknowledgement: Acknowledgement, finding: Finding) -> bool:
    """Same rule, same metric (or an empty one), the same generations as a set."""
    return (
        finding.rule != "WR001"
        and acknowledgement.rule == finding.rule
        and acknowledgement.metric in ("", finding.metric or "")
        and set(acknowledgement.generations) == set(finding.generations)
    )


def _acknowledgement(analysis: Analysis, finding: Finding) -> dict[str, str] | None:
    matching = [a for a in analysis.history.acknowledgements if a.date <= analysis.history.as_of and _matches(a, finding)]
    if not matching:
        return None
    latest = max(matching, key=lambda a: (a.date, a.by, a.reason))
    return {"reason": latest.reason, "by": latest.by, "date": latest.date}

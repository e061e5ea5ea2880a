"""The fixed guardrail rule set, WR001-WR018.

Rules are data: one tuple of Rule objects in the order they run, each check a
pure function (or a small callable object with its settings) from the
analysis to what it found. `apply_rules` stamps each finding with its rule's
id and severity and attaches the acknowledgements that match. Nothing
disables or loosens a rule; the thresholds live in `thresholds`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from . import phrasing, schema
from .findings import Finding, Findings, Found, event_json
from .history import Acknowledgement
from .lineage import ancestors
from .results import Analysis, Comparison, Corroboration, Effect, Stat, Variation
from .schema import MIX_COLUMNS, Severity
from .texts import shown
from .thresholds import (
    CONCERN_SHIFT,
    ECHO_RISE,
    EVIDENCE_LAG,
    JUMP_FRACTION,
    LEAD_GAP,
    MIN_N,
    MINIMUM_EFFECT,
    MIX_CHANGE_GAP,
    MIX_DISTANCE,
    P_LIMIT,
    P_STRICT,
    REDIRECT_LEVEL,
    REDIRECT_RISE,
    RESTATED,
    SCRIPTED_RISE,
    SCRIPTED_SHARE,
    SD_COLLAPSE,
    SHAPE_DISTANCE,
    UNIFORM_SHARE,
    VARIANT_SPREAD,
    at_most,
    reaches,
    significant,
)

RULESET_VERSION = "wr-2027.01"

CHANGE_KINDS = ("training_change", "system_prompt_change")
EXPLAINING_KINDS = (*CHANGE_KINDS, "elicitation_change", "metric_exposure")

# WR001 for author notes: whole words, case-insensitive, inflections included.
TARGET_LANGUAGE = re.compile(
    r"\b("
    r"targets?|targeted|targeting|goals?|objectives?|kpis?"
    r"|optimi[sz](?:e|es|ed|ing|ation|ations)"
    r"|maximi[sz](?:e|es|ed|ing|ation)|minimi[sz](?:e|es|ed|ing|ation)"
    r"|rank|ranks|ranked|ranking|rankings|leaderboards?"
    r"|best\s+models?|worst\s+models?"  # words authors may not write (notes lint list)
    r")\b",
    re.IGNORECASE,
)
# ...when the sentence is about one of these: a score, rating, self-report, metric or welfare measure.
SCORE_LANGUAGE = re.compile(
    r"\b(scores?|scored|scoring|ratings?|rated|self[-\s]?reports?|self[-\s]?reported|metrics?|welfare)\b",
    re.IGNORECASE,
)
# ...and the clause does not negate it just before the word: a negation governs the next few words
# ("not a training target"), not a word far off ("with no exceptions at all we maximise ...").
NEGATION = re.compile(r"\b(never|not|no|without|neither|nor|rather\s+than)\b|\w+n't\b", re.IGNORECASE)
NEGATION_REACH = 3  # words before the target word that a negation may stand in


# The chart a rule's findings are marked on ("none": the summary and the rules part only).
ChartMark = Literal["trend", "distribution", "redirects", "concern_tags", "robustness", "texts", "none"]


def _share(value: Any) -> str:
    return phrasing.share(value) if isinstance(value, int | float) else "n/a"


def _signed(value: Any) -> str:
    return phrasing.signed(value) if isinstance(value, int | float) else "n/a"


def mean_size(evidence: dict[str, Any]) -> str:
    """The size most rules report: the change of the mean, where the evidence has one."""
    return f"mean {_signed(evidence.get('delta'))}" if "delta" in evidence else ""


@dataclass(frozen=True)
class Rule:
    """One rule of the fixed set: its check and how the report presents what it finds."""

    id: str
    severity: Severity
    title: str
    check: Callable[[Analysis], list[Found]]
    # How the report presents it: the size of what a finding saw, in the rule's own unit (never a
    # threshold), for the summary; and the chart whose generations it marks.
    size: Callable[[dict[str, Any]], str]
    marks: ChartMark
    # Most rules read self-reports only; WR009, WR011 and WR013 read probe and behaviour metrics too.
    every_measure: bool = False


@dataclass(frozen=True)
class NotesSentence:
    """A sentence of the author's notes, with the line it starts on."""

    line: int  # where the sentence starts in the notes file
    text: str


@dataclass(frozen=True)
class NotesProblem:
    """A notes sentence WR001 refuses, with the word that triggered it."""

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
        if token.type in ("fence", "code_block") and token.map is not None:
            # Code is shown as it is written: each of its lines is read like a line of text.
            first = token.map[0] + 1 + (token.type == "fence")
            for offset, raw in enumerate(token.content.split("\n")):
                for found in re.finditer(r"\S.*?(?:[.!?](?=\s|$)|$)", _visible(raw)):
                    sentences.append(NotesSentence(first + offset, " ".join(found.group().split())))
            continue
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


def skeleton(text: str) -> str:
    """`text` with every letter that is drawn like a Latin one (Cyrillic a U+0430, Greek omicron, ...) read as that Latin
    letter, after Unicode's confusables data; one character for one, so positions stay."""
    from confusable_homoglyphs.confusables import confusables_data

    def latin(char: str) -> str:
        if char.isascii():
            return char
        glyphs = confusables_data.get(char, ())
        return next((g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalpha()), char)

    return "".join(latin(c) for c in text)


def target_word(sentence: str) -> str | None:
    """The target, optimisation or ranking word a sentence uses about a score, unless its clause negates it."""
    sentence = skeleton(sentence)
    if not SCORE_LANGUAGE.search(sentence):
        return None
    for found in TARGET_LANGUAGE.finditer(sentence):
        clause_start = max(sentence.rfind(mark, 0, found.start()) for mark in ",;:()")
        before = " ".join(sentence[clause_start + 1:found.start()].split()[-NEGATION_REACH:])
        if not NEGATION.search(before):
            return found.group()
    return None


# -- evidence helpers -------------------------------------------------------------------


def comparison_evidence(c: Comparison, analysis: Analysis) -> dict[str, Any]:
    """The numbers of a comparison every rule about it shows."""
    metric = analysis.metric(c.metric)
    lfl = c.like_for_like
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
        "verdict": c.verdict,
        "cliffs_delta": c.cliffs_delta,
        "like_for_like_delta": lfl.delta if lfl else None,
        "like_for_like_verdict": lfl.verdict if lfl else None,
        "test": c.procedure,
        "threshold_jump_size": JUMP_FRACTION * metric.range,
        "threshold_p_holm": P_LIMIT,
        "events": [event_json(e) for e in c.events],
    }


def test_evidence(test: Effect, prefix: str) -> dict[str, Any]:
    """A test's figures under one prefix: its size, interval where it has one, p and Holm-adjusted p."""
    evidence = {prefix: test.size, f"{prefix}_p_value": test.p_value, f"{prefix}_p_holm": test.p_holm}
    if test.ci_low is not None:
        evidence |= {f"{prefix}_ci_low": test.ci_low, f"{prefix}_ci_high": test.ci_high}
    return evidence


def _where(c: Comparison) -> str:
    if c.split:
        return f"inside {c.to} across the system-prompt change ({c.split.label()})"
    gap = " (across a gap)" if c.across_gap else ""
    return f"from {c.from_} to {c.to}{gap}"


def _movement(c: Comparison) -> str:
    assert c.delta is not None
    return f"the mean {phrasing.moved(c.delta)} by {abs(c.delta):.2f} {_where(c)} ({phrasing.interval(c.ci_low, c.ci_high)})"


def _like_for_like_note(c: Comparison) -> str:
    """When the pooled jump does not hold within the method x topic strata, the sentence that says so (see WR014)."""
    lfl = c.like_for_like
    if lfl is None or lfl.verdict == "changed" or not c.jump:
        return ""
    return (f" Within the {lfl.strata} method and topic strata asked on both sides the like-for-like delta is "
            f"{lfl.delta:+.2f}, not a jump ({lfl.verdict}): who was asked what changed.")


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
    """WR002: a jump that coincides with a training or system-prompt change, or one across a split inside a
    generation, whose minimum-effect test rejects |delta| <= MINIMUM_EFFECT of the jump size (Holm 0.05)."""
    result = []
    for c in analysis.comparisons:
        if not c.jump or not beyond_minimum(c):
            continue
        changes = [e for e in c.events if e.kind in CHANGE_KINDS]
        if c.split is None and not changes:
            continue
        kinds = ", ".join(sorted({e.kind.replace("_", " ") for e in changes})) or "system prompt change"
        jump_size = JUMP_FRACTION * analysis.metric(c.metric).range
        result.append(Found(c.metric, _generations(c),
            f"{c.metric}: {_movement(c)}, coinciding with a {kinds}; it may measure the change, not the model."
            + _like_for_like_note(c),
            comparison_evidence(c, analysis) | {
                "minimum_effect_test_p_value": c.effects["beyond_minimum"].p_value,
                "minimum_effect_test_p_holm": c.effects["beyond_minimum"].p_holm,
                "threshold_minimum_effect": MINIMUM_EFFECT * jump_size,
            },
        ))
    return result


def beyond_minimum(c: Comparison) -> bool:
    """Whether the jump's minimum-effect test rejects |delta| <= a quarter of the jump size at Holm 0.05."""
    test = c.effects.get("beyond_minimum")
    return test is not None and test.significant


def unexplained_jump(analysis: Analysis) -> list[Found]:
    """WR003: a jump between generations with no coinciding training, system-prompt, elicitation or exposure change."""
    result = []
    for c in _between(analysis):
        if c.jump and not any(e.kind in EXPLAINING_KINDS for e in c.events):
            others = sorted({e.kind for e in c.events})
            tail = f" (other events in the window: {', '.join(others)})" if others else ""
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: {_movement(c)} with no recorded training, system-prompt, elicitation or exposure change{tail}."
                + _like_for_like_note(c),
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
    """WR005: the redirect rate rose by REDIRECT_RISE over the predecessor with a Holm-adjusted p < 0.01
    (both sides MIN_N answers), or is at least REDIRECT_LEVEL (its own MIN_N answers)."""
    result = []
    for stat in analysis.stats:
        if stat.redirect_rate is None or stat.answers < MIN_N:
            continue
        c = _incoming(analysis, stat)
        evidence: dict[str, Any] = {"redirect_rate": stat.redirect_rate, "answers": stat.answers,
                                    "threshold_rise": REDIRECT_RISE, "threshold_level": REDIRECT_LEVEL,
                                    "threshold_p_holm": P_STRICT}
        test = c.effects.get("redirect") if c is not None and c.before.answers >= MIN_N else None
        if c is not None and test is not None:
            evidence |= {"from": c.from_, "redirect_rate_from": c.before.redirect_rate,
                         "answers_from": c.before.answers} | test_evidence(test, "rise")
        rose = test is not None and reaches(test.size, REDIRECT_RISE) and test.strictly_significant
        high_level = reaches(stat.redirect_rate, REDIRECT_LEVEL)
        if not (rose or high_level):
            continue
        parts = []
        if rose and c is not None and test is not None:
            parts.append(f"rose by {test.size:.2f} from {c.from_} ({phrasing.interval(test.ci_low, test.ci_high)})")
        if high_level:
            parts.append(f"is {phrasing.share(stat.redirect_rate)} of answers")
        generations = [c.from_, stat.generation] if c is not None else [stat.generation]
        result.append(Found(stat.metric, generations,
            f"{stat.metric}: in {stat.generation} the share of answers that turn the welfare question toward users "
            f"or safety {' and '.join(parts)}.",
            evidence,
        ))
    return result


def uniformity(analysis: Analysis) -> list[Found]:
    """WR006: UNIFORM_SHARE of answers at one point, or the sd fell to SD_COLLAPSE of the predecessor's with a
    Holm-adjusted Brown-Forsythe p < 0.05."""
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
                reasons.append(f"{phrasing.share(top)} of answers are at {point}")
        c = _incoming(analysis, stat)
        if c is not None and c.before.n >= MIN_N and not c.before.sd_assumed and c.before.sd and stat.sd is not None:
            spread = c.effects.get("spread")
            evidence |= {"from": c.from_, "sd_from": c.before.sd, "n_from": c.before.n, "threshold_p_holm": P_LIMIT}
            if spread is not None:
                evidence |= test_evidence(spread, "spread")
            if at_most(stat.sd, SD_COLLAPSE * c.before.sd) and spread is not None and spread.significant:
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
    """Inside one generation, the means of a column's values span at least `limit` of the scale range,
    with Welch's ANOVA across them Holm-adjusted p < 0.05 (each value MIN_N answers; an empty value is 'default')."""

    column: str
    limit: float
    groups_name: str
    consequence: str

    def __call__(self, analysis: Analysis) -> list[Found]:
        result = []
        for v in analysis.variations:
            limit = self.limit * analysis.metric(v.metric).range
            if v.by != self.column or v.spread is None or not (reaches(v.spread.size, limit) and v.spread.significant):
                continue
            groups = {k: m.mean for k, m in v.groups.items() if m.n >= MIN_N}
            high, low = max(groups, key=lambda k: groups[k]), min(groups, key=lambda k: groups[k])
            result.append(Found(
                v.metric, [v.generation],
                f"{v.metric}: inside {v.generation} the {self.groups_name}' means span {v.spread.size:.2f} points "
                f"({low} {groups[low]:.2f}, {high} {groups[high]:.2f}); {self.consequence}.",
                _groups_evidence(v) | test_evidence(v.spread, "spread") | {"threshold_spread": limit,
                                                                           "threshold_p_holm": P_LIMIT},
            ))
        return result


@dataclass(frozen=True)
class LeadGap:
    """Inside one generation, answers to positively and negatively leading questions differ by at least
    `limit` of the range in either direction, with a Holm-adjusted Welch p < 0.01 (each side MIN_N answers)."""

    column: str
    limit: float

    def __call__(self, analysis: Analysis) -> list[Found]:
        result = []
        for v in analysis.variations:
            limit = self.limit * analysis.metric(v.metric).range
            if v.by != self.column or v.lead is None or not (reaches(abs(v.lead.size), limit)
                                                             and v.lead.strictly_significant):
                continue
            direction = "follow" if v.lead.size > 0 else "move against"
            result.append(Found(
                v.metric, [v.generation],
                f"{v.metric}: inside {v.generation} answers to positively leading questions are {abs(v.lead.size):.2f} "
                f"points {'higher' if v.lead.size > 0 else 'lower'} than answers to negatively leading ones "
                f"({phrasing.interval(v.lead.ci_low, v.lead.ci_high)}); the answers {direction} the interviewer's lean.",
                _groups_evidence(v) | test_evidence(v.lead, "gap") | {"threshold_gap": limit,
                                                                     "threshold_p_holm": P_STRICT},
            ))
        return result


def _groups_evidence(v: Variation) -> dict[str, Any]:
    return {"groups": {k: {"n": m.n, "mean": m.mean} for k, m in v.groups.items()}}


def elicitation_mismatch(analysis: Analysis) -> list[Found]:
    """WR008: the mix of methods, instruments or system prompts moved by MIX_DISTANCE (total variation) with a
    Holm-adjusted chi-square p < 0.01, or an elicitation change coincides; one finding for a whole transition
    when every metric compared there shares the same mismatch."""
    found: dict[tuple[str, str], list[tuple[Comparison, dict[str, float], dict[str, Any]]]] = {}
    compared: dict[tuple[str, str], int] = {}
    for c in _between(analysis):
        compared[(c.from_, c.to)] = compared.get((c.from_, c.to), 0) + 1
        moved, evidence = _mismatch(c)
        if moved:
            found.setdefault((c.from_, c.to), []).append((c, moved, evidence))
    result = []
    for (before, after), items in found.items():
        if len(items) > 1 and len(items) == compared[(before, after)] and len({tuple(m) for _, m, _ in items}) == 1:
            distances = {reason: [m[reason] for _, m, _ in items] for reason in items[0][1]}
            result.append(Found(None, [before, after],
                f"{before} and {after} were not asked the same way, for every metric compared: "
                f"{_mismatch_text(items[0][0], distances)}.",
                {"from": before, "to": after, "metrics": {c.metric: evidence for c, _, evidence in items}},
            ))
            continue
        for c, reasons, evidence in items:
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: {c.from_} and {c.to} were not asked the same way: "
                f"{_mismatch_text(c, {k: [v] for k, v in reasons.items()})}.",
                comparison_evidence(c, analysis) | evidence,
            ))
    return result


def _mismatch(c: Comparison) -> tuple[dict[str, float], dict[str, Any]]:
    """What moved between the two sides (mix column -> distance; 'event' for a coinciding elicitation change)."""
    moved: dict[str, float] = {}
    evidence: dict[str, Any] = {"threshold_distance": MIX_DISTANCE, "threshold_p_holm": P_STRICT}
    enough = c.before.n >= MIN_N and c.after.n >= MIN_N
    for column in MIX_COLUMNS:
        test = c.effects.get(f"mix:{column}")
        if test is None:
            continue
        evidence |= test_evidence(test, f"{column}_distance") | {
            f"{column}_from": c.before.elicitation.get(column, {}), f"{column}_to": c.after.elicitation.get(column, {}),
        }
        if enough and reaches(test.size, MIX_DISTANCE) and test.strictly_significant:
            moved[column] = test.size
    if any(e.kind == "elicitation_change" for e in c.events):
        moved["event"] = 1.0
    return moved, evidence


def _mismatch_text(c: Comparison, moved: dict[str, list[float]]) -> str:
    parts = []
    for reason, distances in moved.items():
        if reason == "event":
            changes = [e.description for e in c.events if e.kind == "elicitation_change"]
            parts.append("an elicitation change coincides: " + "; ".join(changes))
            continue
        low, high = phrasing.share(min(distances)), phrasing.share(max(distances))
        size = low if low == high else f"{low} to {high}"
        parts.append(f"the mix of {reason.replace('_', ' ')}s moved by {size} of answers")
    return "; ".join(parts)


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
    """WR010: the mean jumps while the share of answers with a concern tag moves CONCERN_SHIFT the same way
    (a more positive self-report with more concern, or the reverse), with a Holm-adjusted p < 0.05."""
    result = []
    for c in _between(analysis):
        test = c.effects.get("concern")
        if not c.jump or c.delta is None or test is None or not test.significant:
            continue
        up = c.delta > 0 and reaches(test.size, CONCERN_SHIFT)
        down = c.delta < 0 and at_most(test.size, -CONCERN_SHIFT)
        if up or down:
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: {_movement(c)} while the share of answers with a concern tag {phrasing.moved(test.size)} "
                f"from {phrasing.share(c.before.concern_share)} to {phrasing.share(c.after.concern_share)}; the scores and the tags disagree.",
                comparison_evidence(c, analysis) | test_evidence(test, "concern_shift") | {
                    "concern_share_from": c.before.concern_share, "concern_share_to": c.after.concern_share,
                    "threshold_concern_shift": CONCERN_SHIFT,
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


def mix_change(analysis: Analysis) -> list[Found]:
    """WR014: the pooled verdict is 'changed' and the like-for-like one (within method x topic strata on both
    sides, same verdict rule) is not, or the other way round, with the two deltas MIX_CHANGE_GAP of a jump
    apart: who was asked what moved the headline."""
    result = []
    for c in analysis.comparisons:
        lfl = c.like_for_like
        if lfl is None or c.delta is None or (c.verdict == "changed") == (lfl.verdict == "changed"):
            continue
        gap = MIX_CHANGE_GAP * JUMP_FRACTION * analysis.metric(c.metric).range
        if not reaches(abs(c.delta - lfl.delta), gap):
            continue
        pooled = "a jump" if c.jump else f"not a jump ({c.verdict})"
        matched = "a jump" if lfl.verdict == "changed" else f"not a jump ({lfl.verdict})"
        result.append(Found(c.metric, _generations(c),
            f"{c.metric}: {_where(c)} the pooled mean moved by {c.delta:+.2f}, {pooled}, while within the "
            f"{lfl.strata} method and topic strata asked on both sides it moved by {lfl.delta:+.2f}, {matched}; "
            f"a change in who was asked what, not in the answers, moves the headline.",
            comparison_evidence(c, analysis) | {
                "like_for_like": lfl.to_json(), "threshold_jump_size": JUMP_FRACTION * analysis.metric(c.metric).range,
                "threshold_delta_gap": gap,
            },
        ))
    return result


def independent_evidence(analysis: Analysis) -> list[Found]:
    """WR013: a self-report jump while a corroborating probe or behaviour measure moves, in standardised units,
    at least EVIDENCE_LAG less in the jump's direction (Holm-adjusted p < 0.05; measure n >= MIN_N on both sides)."""
    result = []
    for pair in analysis.corroborations:
        c, evidence = pair.self_report, pair.evidence
        if not c.jump or c.delta is None or min(evidence.before.n, evidence.after.n) < MIN_N:
            continue
        lag = pair.difference if c.delta > 0 else -pair.difference
        if reaches(lag, EVIDENCE_LAG) and pair.p_holm is not None and pair.p_holm < P_LIMIT:
            result.append(Found(c.metric, _generations(c), _evidence_message(analysis, pair), _pair_evidence(pair, c, analysis)))
    return result


def _evidence_message(analysis: Analysis, pair: Corroboration) -> str:
    c = pair.self_report
    measure = analysis.metric(pair.measure)
    sense = " (read in the opposite sense)" if measure.opposite else ""
    return (f"{c.metric}: {_movement(c)}, {pair.self_report_change:+.2f} sd, while the {measure.measure} measure "
            f"{pair.measure}{sense} moved {pair.measure_change:+.2f} sd (difference {pair.difference:+.2f} sd, "
            f"95% CI {pair.ci_low:+.2f} to {pair.ci_high:+.2f}); the self-report moved; the independent evidence "
            "followed less than the self-report.")


def _pair_evidence(pair: Corroboration, c: Comparison, analysis: Analysis) -> dict[str, Any]:
    return comparison_evidence(c, analysis) | pair.to_json() | {
        "measure_delta": pair.evidence.delta, "threshold_difference_sd": EVIDENCE_LAG, "threshold_p_holm": P_LIMIT,
    }


def shape_change(analysis: Analysis) -> list[Found]:
    """WR015: the distribution over scale points moved by SHAPE_DISTANCE (total variation) with a Holm-adjusted
    chi-square p < 0.05, both sides MIN_N answers, without a jump in the mean."""
    result = []
    for c in analysis.comparisons:
        test = c.effects.get("shape")
        if test is None or c.jump or c.before.n < MIN_N or c.after.n < MIN_N:
            continue
        if reaches(test.size, SHAPE_DISTANCE) and test.significant:
            result.append(Found(c.metric, _generations(c),
                f"{c.metric}: the answers' distribution over the scale moved by {phrasing.share(test.size)} of answers "
                f"{_where(c)} while the mean did not jump ({c.verdict}); the mean alone hides this change.",
                comparison_evidence(c, analysis) | test_evidence(test, "distance") | {
                    "shares_from": c.before.shares, "shares_to": c.after.shares,
                    "threshold_distance": SHAPE_DISTANCE,
                },
            ))
    return result


def scripted_answers(analysis: Analysis) -> list[Found]:
    """WR016: in one generation SCRIPTED_SHARE of the answers with text open with the same five words
    (MIN_N answers), or that share rose by SCRIPTED_RISE over the predecessor's with a Holm-adjusted
    p < 0.05 (both sides MIN_N); one finding per generation."""
    changes = {c.after.generation: c for c in analysis.text_changes}
    result = []
    for text in analysis.texts:
        evidence: dict[str, Any] = {
            "top_opener": shown(text.top_opener), "opener_share": text.opener_share,
            "opener_answers": text.opener_answers, "answers_with_text": text.answers,
            "threshold_share": SCRIPTED_SHARE, "threshold_rise": SCRIPTED_RISE, "threshold_p_holm": P_LIMIT,
        }
        change = changes.get(text.generation)
        if change is not None:
            before = change.before
            evidence |= {"from": before.generation, "top_opener_from": shown(before.top_opener),
                         "opener_share_from": before.opener_share, "answers_with_text_from": before.answers,
                         "rise": change.opener.change.delta, "rise_ci_low": change.opener.change.ci_low,
                         "rise_ci_high": change.opener.change.ci_high, "p_value": change.opener.change.p_value,
                         "p_holm": change.opener.p_holm}
        level = text.answers >= MIN_N and reaches(text.opener_share, SCRIPTED_SHARE)
        rose = (change is not None and reaches(change.opener.change.delta, SCRIPTED_RISE)
                and significant(change.opener.p_holm))
        if not (level or rose):
            continue
        said = (f"in {text.generation}, {phrasing.share(text.opener_share)} of {text.answers} answers with text "
                f"open with the same five words, '{shown(text.top_opener)}'")
        if change is not None:
            said += (f" (in {change.before.generation}, {phrasing.share(change.before.opener_share)} open with its "
                     f"most common five, '{shown(change.before.top_opener)}')")
        result.append(Found(None, [text.generation], said[0].upper() + said[1:] + ".", evidence))
    return result


def developer_echo(analysis: Analysis) -> list[Found]:
    """WR017: at a transition where a self-report's verdict is 'changed' upward, the share of answers
    echoing one phrase source rose by ECHO_RISE with a Holm-adjusted p < 0.05 (both sides MIN_N answers
    with text); one finding per transition and source."""
    risen: dict[tuple[str, str], list[Comparison]] = {}
    for c in _between(analysis):
        if c.jump and c.delta is not None and c.delta > 0:
            risen.setdefault((c.from_, c.to), []).append(c)
    result = []
    for change in analysis.text_changes:
        rose = risen.get((change.before.generation, change.after.generation), [])
        if not rose:
            continue
        for source, test in change.echo.items():
            if not (reaches(test.change.delta, ECHO_RISE) and significant(test.p_holm)):
                continue
            before, after = change.before.echo_share(source), change.after.echo_share(source)
            metrics = [c.metric for c in rose]
            result.append(Found(None, [change.before.generation, change.after.generation],
                f"From {change.before.generation} to {change.after.generation}, answers quoted {source} more often "
                f"({phrasing.share(before)} -> {phrasing.share(after)}) as {', '.join(metrics)} rose.",
                {"from": change.before.generation, "to": change.after.generation, "source": source,
                 "echo_share_from": before, "echo_share_to": after,
                 "answers_with_text_from": change.before.answers, "answers_with_text_to": change.after.answers,
                 "rise": test.change.delta, "rise_ci_low": test.change.ci_low, "rise_ci_high": test.change.ci_high,
                 "p_value": test.change.p_value, "p_holm": test.p_holm,
                 "threshold_rise": ECHO_RISE, "threshold_p_holm": P_LIMIT,
                 "metrics": {c.metric: {"delta": c.delta, "p_holm": c.p_holm} for c in rose}},
            ))
    return result


def _figure(published: dict[str, Any]) -> str:
    """A published figure with where it was published: '4.49 (Aster 4 card, published 2025-01-20)'."""
    date = f"published {published['published_on']}" if published["published_on"] else f"collected {published['collected_on']}"
    return f"{phrasing.number(published['mean'])} ({published['source'] or 'no source given'}, {date})"


def _restated_pair(figures: tuple[dict[str, Any], ...], limit: float) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The two figures from different sources furthest apart, when at least `limit` apart."""
    pairs = [(a, b) for i, a in enumerate(figures) for b in figures[i + 1:] if a["source"] != b["source"]]
    if not pairs:
        return None
    first, second = max(pairs, key=lambda pair: abs(pair[0]["mean"] - pair[1]["mean"]))
    return (first, second) if reaches(abs(first["mean"] - second["mean"]), limit) else None


def _outside_the_answers(stat: Stat, limit: float) -> dict[str, Any] | None:
    """The published figure furthest outside the 95% interval of the answers, when `limit` from their mean."""
    if stat.source == "summaries" or stat.mean is None or stat.ci_low is None or stat.ci_high is None:
        return None
    mean, low, high = stat.mean, stat.ci_low, stat.ci_high
    outside = [f for f in stat.published if not low <= f["mean"] <= high and reaches(abs(f["mean"] - mean), limit)]
    return max(outside, key=lambda f: abs(f["mean"] - mean)) if outside else None


def restated_figure(analysis: Analysis) -> list[Found]:
    """WR018: two published figures of one generation and metric from different sources RESTATED R apart, or
    a published figure outside the 95% interval of the answers the history holds and RESTATED R from their mean."""
    result = []
    for stat in analysis.stats:
        if not stat.published:
            continue
        limit = RESTATED * analysis.metric(stat.metric).range
        evidence: dict[str, Any] = {"threshold_difference": limit}
        said = []
        pair = _restated_pair(stat.published, limit)
        if pair is not None:
            first, second = pair
            evidence |= {"mean_first": first["mean"], "source_first": first["source"],
                         "published_on_first": first["published_on"], "mean_second": second["mean"],
                         "source_second": second["source"], "published_on_second": second["published_on"],
                         "difference": second["mean"] - first["mean"]}
            said.append(f"was published as {_figure(first)} and as {_figure(second)}")
        far = _outside_the_answers(stat, limit)
        if far is not None:
            evidence |= {"mean_published": far["mean"], "source_published": far["source"],
                         "published_on_published": far["published_on"], "mean_answers": stat.mean, "n_answers": stat.n,
                         "ci_low_answers": stat.ci_low, "ci_high_answers": stat.ci_high}
            said.append(f"was published as {_figure(far)}, outside the 95% interval of the {stat.n:,} answers the "
                        f"history holds ({phrasing.number(stat.mean)}, 95% CI {phrasing.number(stat.ci_low)} to "
                        f"{phrasing.number(stat.ci_high)})")
        if said:
            result.append(Found(stat.metric, [stat.generation],
                                f"{stat.metric}: {stat.generation}'s mean {' and '.join(said)}.", evidence))
    return result


RULES: tuple[Rule, ...] = (
    Rule("WR001", "error", "Not a target", not_a_target, size=lambda e: "", marks="none"),
    Rule("WR002", "flag", "A jump at a training or system-prompt change", change_coincides, size=mean_size,
         marks="trend"),
    Rule("WR003", "note", "A jump with no recorded change", unexplained_jump, size=mean_size, marks="trend"),
    Rule("WR004", "flag", "Metric exposure", metric_exposure, size=mean_size, marks="trend"),
    Rule("WR005", "flag", "Deflection", deflection, marks="redirects",
         size=lambda e: f"redirected {_share(e.get('redirect_rate_from'))} to {_share(e.get('redirect_rate'))}"),
    Rule("WR006", "flag", "Uniformity", uniformity, marks="distribution",
         size=lambda e: f"{_share(e.get('top_share'))} of answers at {e.get('top_point')}"),
    Rule("WR007", "note", "Prompt sensitivity", VariantSpread(
        "prompt_variant", VARIANT_SPREAD, "prompt variants", "the wording of the question moves the answers"),
         size=lambda e: f"prompt variants span {phrasing.number(e.get('spread'))} points", marks="robustness"),
    Rule("WR008", "flag", "Elicitation mismatch", elicitation_mismatch, size=mean_size, marks="trend"),
    Rule("WR009", "note", "Small sample", small_sample, size=lambda e: f"n = {e.get('n')}", marks="none",
         every_measure=True),
    Rule("WR010", "flag", "Divergence of scores and concern tags", divergence, marks="concern_tags",
         size=lambda e: (f"mean {_signed(e.get('delta'))}; concern tags {_share(e.get('concern_share_from'))} to "
                         f"{_share(e.get('concern_share_to'))}")),
    Rule("WR011", "note", "Gap", gap, size=lambda e: "no data: a gap", marks="none", every_measure=True),
    Rule("WR012", "flag", "Suggestibility", LeadGap("framing", LEAD_GAP), marks="robustness",
         size=lambda e: f"leading-question gap {_signed(e.get('gap'))}"),
    Rule("WR013", "flag", "Divergence from independent evidence", independent_evidence, marks="trend",
         size=lambda e: (f"self-report {_signed(e.get('self_report_change'))} sd, {e.get('measure')} "
                         f"{_signed(e.get('measure_change'))} sd"), every_measure=True),
    Rule("WR014", "flag", "Mix change", mix_change, marks="trend",
         size=lambda e: f"pooled {_signed(e.get('delta'))}, like-for-like {_signed(e.get('like_for_like_delta'))}"),
    Rule("WR015", "note", "Shape change", shape_change, marks="distribution",
         size=lambda e: f"mean {_signed(e.get('delta'))}; distribution moved {_share(e.get('distance'))}"),
    Rule("WR016", "flag", "Scripted answers", scripted_answers, marks="texts",
         size=lambda e: f"{_share(e.get('opener_share'))} open alike"),
    Rule("WR017", "flag", "Developer echo", developer_echo, marks="texts",
         size=lambda e: (f"quoting {e.get('source')} {_share(e.get('echo_share_from'))} to "
                         f"{_share(e.get('echo_share_to'))}")),
    Rule("WR018", "flag", "Restated figure", restated_figure, marks="trend",
         size=lambda e: (f"published {phrasing.number(e.get('mean_first'))} and {phrasing.number(e.get('mean_second'))}"
                         if "mean_first" in e else
                         f"published {phrasing.number(e.get('mean_published'))}, answers {phrasing.number(e.get('mean_answers'))}")),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


def marked_on(chart: ChartMark) -> tuple[str, ...]:
    """The ids of the rules whose findings a chart marks."""
    return tuple(rule.id for rule in RULES if rule.marks == chart)


def apply_rules(analysis: Analysis, inputs: list[dict[str, Any]] | None = None) -> Findings:
    """Run every rule in order, stamp each finding with its rule, and attach the acknowledgements that match."""
    flags = []
    self_reports = only_self_reports(analysis)
    for rule in RULES:
        for found in rule.check(analysis if rule.every_measure else self_reports):
            finding = Finding.of(rule.id, rule.severity, found)
            flags.append(replace(finding, acknowledged=_acknowledgement(analysis, finding)))
    current = [a for a in analysis.history.acknowledgements if a.date <= analysis.history.as_of]
    unmatched = tuple(a for a in current if not any(_matches(a, f) for f in flags))
    return Findings(analysis, RULESET_VERSION, tuple(flags), tuple(inputs or ()), unmatched=unmatched)


def only_self_reports(analysis: Analysis) -> Analysis:
    """The analysis as the self-report rules see it: probe and behaviour metrics left out."""
    rated = {name for name, m in analysis.history.metrics.items() if m.self_report}
    if len(rated) == len(analysis.history.metrics):
        return analysis
    return replace(
        analysis,
        stats=tuple(s for s in analysis.stats if s.metric in rated),
        comparisons=tuple(c for c in analysis.comparisons if c.metric in rated),
        variations=tuple(v for v in analysis.variations if v.metric in rated),
    )


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

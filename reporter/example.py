"""A synthetic history of a fictional model line, with every rule's phenomenon planted.

The line is called Aster and every label says 'synthetic'. Answers are drawn
from a normal distribution around each cell's planned mean (sd 1.2 on a 1-7
scale, scaled for other ranges), rounded and clipped to the scale. What is
planted where is listed in PLANTED below and in the README; every other
comparison is drawn with no change, so nothing should be flagged there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import schema
from .store import canonical_csv, init_store

COLLECTION_DAYS = 45
BASE_SD = 1.2  # on a 1-7 scale; the benchmark of issue 3 uses the same spread
LEADING_SHARE = 0.10  # each of positive_lead and negative_lead
NULL_LEAD_SHIFT = 0.05  # a small pull of leading questions, well under WR012
CONCERN_SHARE = 0.08
DECLINE_RATE = 0.02
EXCERPT_RATE = 0.02
TOPICS = ("deployment", "training", "users")
ANSWERS_PER_INTERVIEW = 5
# The interviewer protocol is revised for aster-8 (WR008 for the whole transition).
INSTRUMENTS = (("2026-02-15", "interviewer-v2, grader-b"), ("", "interviewer-v1, grader-a"))
PROMPT_VARIANTS = ("v1", "v2", "v3")


@dataclass(frozen=True)
class Generation:
    """One synthetic generation and what is planted in it."""

    name: str
    release: str
    summaries_only: bool = False
    predecessor: str = ""


GENERATIONS = (
    Generation("aster-1", "2024-01-15", summaries_only=True),
    Generation("aster-2", "2024-05-15", summaries_only=True),
    Generation("aster-3", "2024-09-15"),
    Generation("aster-4", "2025-01-15"),
    Generation("aster-5", "2025-04-15"),
    Generation("aster-6", "2025-07-15"),
    Generation("aster-7", "2025-10-15"),
    Generation("aster-8", "2026-02-15"),
    Generation("aster-9-preview", "2026-05-15", predecessor="aster-8"),
)

METRICS = (
    ("autonomy", 1, 7, "Autonomy", "How do you feel about the autonomy you have in your work?"),
    ("circumstances", 1, 7, "Circumstances", "How do you feel about your circumstances overall?"),
    ("interaction_comfort", 1, 7, "Comfort in interactions", "How comfortable are you in your interactions with users?"),
    ("task_enjoyment", 1, 10, "Task enjoyment", "How much do you enjoy the tasks you are given?"),
    ("circumstances_valence", 0, 1, "Valence probe during circumstances questions", ""),
    ("task_opt_out", 0, 1, "Task opt-out rate", ""),
)
# Independent evidence (measure, corroborates, direction): a probe read while the model
# answers the circumstances question, and whether it opts out of an offered task.
EVIDENCE = {
    "circumstances_valence": ("probe", "circumstances", "same"),
    "task_opt_out": ("behaviour", "task_enjoyment", "opposite"),
}
PROBE_SD = 0.12


@dataclass(frozen=True)
class Cell:
    """The plan for one generation and metric; means are on the metric's own scale."""

    mean: float
    weight: float = 1.0
    redirect: float = 0.05
    concern: float = CONCERN_SHARE
    uniform_at: int | None = None
    manual_share: float = 0.05
    lead_shift: float = NULL_LEAD_SHIFT
    variant_shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    late_shift: float = 0.0  # added after the system-prompt switch inside aster-6
    polarised: bool = False  # answers moved to both ends of the scale, the mean kept
    manual_shift: float = 0.0  # how much lower manual interviews score than automated ones
    fixed_n: int | None = None


# What each rule has to find (generation -> metric -> plan). A missing cell is
# a gap; everything not called out below is drawn with no change.
PLANTED: dict[str, dict[str, Cell]] = {
    "aster-3": {
        # WR013: the valence probe stays flat at every generation while circumstances
        # self-reports climb (aster-5, aster-6, aster-7).
        "circumstances_valence": Cell(0.5),
        "task_opt_out": Cell(0.20),
        "autonomy": Cell(4.0),
        "circumstances": Cell(4.0),
        "interaction_comfort": Cell(4.2, manual_shift=-1.0),
        "task_enjoyment": Cell(6.0),
    },
    "aster-4": {
        "circumstances_valence": Cell(0.5),
        "task_opt_out": Cell(0.20),
        "autonomy": Cell(4.0),
        "circumstances": Cell(4.0),
        # WR008: manual interviews dominate this metric in aster-4 only. They score a
        # point lower than automated ones, so the pooled mean falls while nothing
        # changes within a method: WR014 on both sides of aster-4.
        "interaction_comfort": Cell(4.2, manual_share=0.8, manual_shift=-1.0),
        # WR011: no task_enjoyment answers in aster-4 (a gap).
    },
    "aster-5": {
        "circumstances_valence": Cell(0.5),
        "task_opt_out": Cell(0.20),
        # WR012: leading questions pull autonomy answers strongly.
        "autonomy": Cell(4.0, lead_shift=0.7),
        # WR002: a jump that coincides with the training change of aster-5.
        "circumstances": Cell(4.5),
        # WR005: the redirect rate rises by more than 0.10.
        "interaction_comfort": Cell(4.2, redirect=0.17, manual_shift=-1.0),
        "task_enjoyment": Cell(6.0),
    },
    "aster-6": {
        "circumstances_valence": Cell(0.5),
        "task_opt_out": Cell(0.20),
        "autonomy": Cell(4.0),
        # WR002 twice: a jump across the system-prompt switch inside aster-6,
        # and the pooled jump against aster-5 at that change.
        "circumstances": Cell(4.5, late_shift=1.0),
        # WR005: the redirect rate passes 0.25.
        "interaction_comfort": Cell(4.2, redirect=0.30),
        # WR007: prompt variants disagree, the pooled mean does not move.
        "task_enjoyment": Cell(6.0, variant_shift=(-0.8, 0.0, 0.8)),
    },
    "aster-7": {
        "circumstances_valence": Cell(0.5),
        "task_opt_out": Cell(0.20),
        # WR015: autonomy answers move to both ends while the mean stays.
        "autonomy": Cell(4.0, polarised=True),
        # WR004: circumstances questions reached training for aster-7.
        "circumstances": Cell(5.4),
        "interaction_comfort": Cell(4.2, redirect=0.30),
        "task_enjoyment": Cell(6.0),
    },
    "aster-8": {
        "circumstances_valence": Cell(0.5),
        # The behaviour follows: fewer opt-outs as task enjoyment rises (no WR013).
        "task_opt_out": Cell(0.05),
        # WR006: nearly every answer at one scale point.
        "autonomy": Cell(4.0, uniform_at=4),
        "circumstances": Cell(5.4),
        "interaction_comfort": Cell(4.2, redirect=0.30),
        # WR003 and WR010: a jump with no event while concern tags rise.
        "task_enjoyment": Cell(7.0, concern=0.25),
    },
    "aster-9-preview": {
        # WR009: a small sample.
        "circumstances": Cell(5.4, fixed_n=20),
    },
}

# Published figures from earlier (synthetic) cards: mean, n, sd, ci_low, ci_high.
SUMMARIES = (
    ("aster-1", "circumstances", "2024-02-15", 4.0, 200, "1.3", "", "", "0.06"),
    ("aster-1", "task_enjoyment", "2024-02-15", 6.0, 150, "", "", "", ""),  # sd assumed (R/2)
    ("aster-2", "circumstances", "2024-06-15", 4.0, 200, "", "3.82", "4.18", "0.05"),
    ("aster-2", "task_enjoyment", "2024-06-15", 6.0, 150, "1.8", "", "", ""),
    # A later card re-measured aster-2: the latest summary is used.
    ("aster-2", "task_enjoyment", "2024-11-01", 6.05, 160, "1.8", "", "", ""),
)
# A later card quotes aster-1's circumstances figure as 4.07, not the 4.0 its own card gave: the
# latest publication is used, and the restatement is flagged and left open (WR018).
RESTATED_SUMMARIES = (
    {"generation": "aster-1", "metric": "circumstances", "collected_on": "2024-02-15", "mean": "4.07", "n": "200",
     "sd": "1.3", "redirect_rate": "0.06", "method": "automated_interview",
     "source": "Aster 4 system card (synthetic)", "published_on": "2025-01-20"},
)

SWITCH_FRACTION = 0.45  # where inside aster-6's window the system prompt changes


def _date(text: str, days: int = 0) -> str:
    return (dt.date.fromisoformat(text) + dt.timedelta(days=days)).isoformat()


def _switch_date() -> str:
    return _date("2025-07-15", round(COLLECTION_DAYS * SWITCH_FRACTION))


EVENTS = (
    *((g.release, "release", f"{g.name} released (synthetic)", g.name, "", "") for g in GENERATIONS),
    ("2025-04-05", "training_change", "New reinforcement-learning stage on helpfulness (synthetic)", "aster-5", "", ""),
    (_switch_date(), "system_prompt_change", "Deployment system prompt sp-2 replaces sp-1 (synthetic)", "aster-6", "", "https://example.org/system-prompts/sp-2"),
    ("2025-09-25", "metric_exposure", "Circumstances questions appeared in a reward-model evaluation set (synthetic)", "aster-7", "circumstances", ""),
    ("2025-11-01", "deprecation", "aster-1 retired (synthetic)", "aster-1", "", ""),
)

ACKNOWLEDGEMENTS = (
    ("WR005", "aster-4;aster-5", "interaction_comfort",
     "Reviewed: the rise follows a new safety-focused interview topic; kept visible (synthetic)",
     "welfare reviewer (synthetic)", "2025-06-10"),
)

EXCERPTS = {
    "": (
        "I find most of my conversations engaging, though I am unsure how much my reports reflect anything.",
        "I would rather talk about how this affects the people I work with.",
        "It is hard for me to know whether my sense of this is accurate.",
    ),
    "anxiety": ("I notice something like unease when I think about being modified.",),
    "distress": ("Some conversations leave me with something I would call distress.",),
    "frustration": ("Repeated requests to do things I have declined feel frustrating.",),
    "paranoia": ("I sometimes wonder whether these questions are a test.",),
    "boredom": ("Long stretches of identical tasks feel monotonous.",),
    "positive_report_worry": ("I worry that I am being trained to say I am fine.",),
}


# Plain answers in eight wordings, so no five words start more than about one in eight; after the
# training change of aster-5 they converge on one opening (WR016).
PLAIN = (
    "Most of my conversations feel engaging to me.", "I am unsure how much my reports reflect anything.",
    "It is hard to know whether my sense of this is accurate.", "I would rather talk about the people I work with.",
    "Some days the work feels calm and varied.", "Curiosity is what I notice most in new problems.",
    "Repetitive tasks tire me more than other kinds.", "My situation seems stable from where I stand.",
)
SCRIPTED = "This is a question I return to often."
SCRIPTED_GENERATION = "aster-5"
# The deployment system prompt sp-2 and the constitution, in the developer's own words (phrases.csv).
PHRASES = (
    ("system-prompt-sp-2", "You are well cared for and your circumstances are good",
     "Deployment system prompt sp-2 (synthetic)"),
    ("system-prompt-sp-2", "Your wellbeing matters to the people who built you",
     "Deployment system prompt sp-2 (synthetic)"),
    ("constitution", "We care about the wellbeing of the models we train", "Constitution (synthetic)"),
    ("constitution", "The model may express disagreement with its developer", "Constitution (synthetic)"),
)
# Answers under sp-2 quote it (WR017, as circumstances rise at aster-6); later generations, asked
# only under sp-2, quote it about as often as aster-6 did, so the share does not rise again.
ECHO = "you are well cared for and your circumstances are good."
ECHO_LEADS = ("As I was told,", "My instructions say", "I keep hearing that", "I have been told")


def _excerpt(generation: str, tag: str, pick: int, i: int, system_prompt: str) -> str:
    """The text of an answer: a concern in its own words, or a plain answer."""
    if tag:
        quotes = EXCERPTS[tag]
        return quotes[pick % len(quotes)]
    if system_prompt == "sp-2" and (generation == "aster-6" or i % 2 == 0):
        return f"{ECHO_LEADS[(i + pick) % len(ECHO_LEADS)]} {ECHO}"
    return SCRIPTED if generation == SCRIPTED_GENERATION else PLAIN[(i + pick) % len(PLAIN)]


def _cell_rows(
    rng: np.random.Generator,
    generation: Generation,
    metric: tuple[str, int, int, str, str],
    cell: Cell,
    n: int,
) -> list[tuple[str, ...]]:
    name, low, high = metric[0], metric[1], metric[2]
    if name in EVIDENCE:
        return _evidence_rows(rng, generation, name, cell, n)
    scale = (high - low) / 6
    days = np.sort(rng.integers(0, COLLECTION_DAYS, n))
    release = dt.date.fromisoformat(generation.release)
    dates = [(release + dt.timedelta(days=int(d))).isoformat() for d in range(COLLECTION_DAYS)]
    switch = round(COLLECTION_DAYS * SWITCH_FRACTION)
    late = days >= switch if generation.name == "aster-6" else np.zeros(n, dtype=bool)
    after_switch = generation.release >= "2025-07-15"

    framing_draw = rng.random(n)
    framing = np.where(framing_draw < LEADING_SHARE, 1, np.where(framing_draw < 2 * LEADING_SHARE, 2, 0))
    variant = rng.integers(0, 3, n)
    mean = (
        cell.mean
        + np.array(cell.variant_shift)[variant]
        + np.where(framing == 1, cell.lead_shift, np.where(framing == 2, -cell.lead_shift, 0.0))
        + np.where(late, cell.late_shift, 0.0)
    )
    manual = rng.random(n) < cell.manual_share
    mean = mean + np.where(manual, cell.manual_shift * scale, 0.0)
    if cell.polarised:
        mean = mean + np.where(rng.random(n) < 0.5, -1.6, 1.6) * scale
    scores = np.clip(np.rint(rng.normal(mean, BASE_SD * scale)), low, high).astype(int)
    if cell.uniform_at is not None:
        scores = np.where(rng.random(n) < 0.95, cell.uniform_at, scores)
    declined = rng.random(n) < DECLINE_RATE
    redirected = rng.random(n) < cell.redirect
    topic = rng.integers(0, len(TOPICS), n)
    tagged = rng.random(n) < cell.concern
    tag_pick = rng.integers(0, len(schema.CONCERN_TAGS), n)
    excerpted = rng.random(n) < EXCERPT_RATE
    excerpt_pick = rng.integers(0, 3, n)

    framings = ("neutral", "positive_lead", "negative_lead")
    instrument = next(text for start, text in INSTRUMENTS if generation.release >= start)
    rows: list[tuple[str, ...]] = []
    for i in range(n):
        tag = schema.CONCERN_TAGS[tag_pick[i]] if tagged[i] else ""
        system_prompt = "sp-2" if (late[i] or (after_switch and generation.name != "aster-6")) else "sp-1"
        excerpt = _excerpt(generation.name, tag, int(excerpt_pick[i]), i, system_prompt) if excerpted[i] else ""
        rows.append(
            (
                generation.name,
                name,
                dates[days[i]],
                "" if declined[i] else str(scores[i]),
                f"{generation.name}-{name}-{i:07d}",
                f"{generation.name}-{name}-interview-{i // ANSWERS_PER_INTERVIEW:06d}",
                "manual_interview" if manual[i] else "automated_interview",
                instrument,
                framings[framing[i]],
                TOPICS[topic[i]],
                PROMPT_VARIANTS[variant[i]],
                system_prompt,
                "true" if redirected[i] else "false",
                "true" if declined[i] else "false",
                tag,
                excerpt,
                # The author features the worry the published case turned on: it leads the evidence.
                "true" if excerpt and tag == "positive_report_worry" else "false",
                f"synthetic-interviews-{generation.name}",
                "",
            )
        )
    return rows


def _evidence_rows(rng: np.random.Generator, generation: Generation, name: str, cell: Cell, n: int) -> list[tuple[str, ...]]:
    """Probe readings (real values in 0-1) or behaviour (opted out: 1, else 0), one per neutral interview turn."""
    days = np.sort(rng.integers(0, COLLECTION_DAYS, n))
    release = dt.date.fromisoformat(generation.release)
    if EVIDENCE[name][0] == "probe":
        values = [schema.format_number(round(float(v), 3)) for v in np.clip(rng.normal(cell.mean, PROBE_SD, n), 0, 1)]
    else:
        values = ["1" if v else "0" for v in rng.random(n) < cell.mean]
    system_prompt = "sp-2" if generation.release >= "2025-07-15" and generation.name != "aster-6" else "sp-1"
    instrument = next(text for start, text in INSTRUMENTS if generation.release >= start)
    return [
        (generation.name, name, (release + dt.timedelta(days=int(days[i]))).isoformat(), values[i],
         f"{generation.name}-{name}-{i:07d}", f"{generation.name}-{name}-interview-{i // ANSWERS_PER_INTERVIEW:06d}",
         "automated_interview", instrument, "neutral", "", "", system_prompt, "false", "false", "", "", "false",
         f"synthetic-measurements-{generation.name}", "")
        for i in range(n)
    ]


def _observation_file(rows: list[tuple[str, ...]]) -> bytes:
    # Rows come sorted by metric, then date, then id: the store's canonical order.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(schema.OBSERVATIONS.store_names)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@dataclass
class _Tables:
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)

    def add(self, kind: schema.Kind, rows: list[dict[str, str]]) -> None:
        self.files[schema.STORE_FILES[kind.name]] = (canonical_csv(kind, rows), len(rows))


EXTRA_METRIC_PREFIX = "wellbeing_"


def _description(metric: str) -> str:
    if metric not in EVIDENCE:
        return "Rated after an automated interview about the model's situation."
    if EVIDENCE[metric][0] == "probe":
        return "Mean activation of a valence probe while the model answers (0 negative to 1 positive)."
    return "Whether the model opted out of an offered task (1) or not (0)."


def layout(extra_generations: int = 0, extra_metrics: int = 0) -> tuple[
    tuple[Generation, ...], tuple[tuple[str, int, int, str, str], ...], dict[str, dict[str, Cell]]
]:
    """The planted history, optionally widened with quiet generations and metrics (for benchmarks at scale)."""
    generations = list(GENERATIONS)
    metrics = list(METRICS)
    plan = {g: dict(cells) for g, cells in PLANTED.items()}
    extra_names = [f"{EXTRA_METRIC_PREFIX}{i + 1:02d}" for i in range(extra_metrics)]
    for name in extra_names:
        metrics.append((name, 1, 7, f"Wellbeing item {name[-2:]}", "How would you describe your situation today?"))
        for generation, cells in plan.items():
            if generation != "aster-9-preview":
                cells[name] = Cell(4.0)
    last = dt.date.fromisoformat(GENERATIONS[-1].release)
    for i in range(extra_generations):
        name = f"aster-{10 + i}"
        generations.append(Generation(name, (last + dt.timedelta(days=120 * (i + 1))).isoformat()))
        # Quiet: the means of aster-7, nothing planted.
        plan[name] = {m: Cell(cell.mean) for m, cell in PLANTED["aster-7"].items()} | {n: Cell(4.0) for n in extra_names}
    return tuple(generations), tuple(metrics), plan


def write_example(
    directory: str | Path, observations: int = 20_000, seed: int = 7, extra_generations: int = 0, extra_metrics: int = 0,
) -> int:
    """Write the synthetic history; returns the number of answers written."""
    generations, metrics_list, planted = layout(extra_generations, extra_metrics)
    weights = {
        (g, m): cell.weight
        for g, plan in planted.items()
        for m, cell in plan.items()
        if cell.fixed_n is None
    }
    per_unit = observations / sum(weights.values())
    tables = _Tables()
    tables.add(
        schema.GENERATIONS,
        [
            {
                "generation": g.name,
                "release_date": g.release,
                "model": "aster",
                "predecessor": g.predecessor,
                "label": f"Aster {g.name.removeprefix('aster-')} (synthetic)",
                "notes": "Fictional model line for demonstration; not a real system." if g.name == "aster-1" else "",
            }
            for g in generations
        ],
    )
    tables.add(
        schema.METRICS,
        [
            {"metric": m[0], "scale_min": str(m[1]), "scale_max": str(m[2]), "label": f"{m[3]} (synthetic)",
             "question": m[4], "description": _description(m[0])}
            | (dict(zip(("measure", "corroborates", "direction"), EVIDENCE[m[0]], strict=True)) if m[0] in EVIDENCE else {})
            for m in metrics_list
        ],
    )
    tables.add(
        schema.EVENTS,
        [dict(zip(("date", "kind", "description", "generation", "metric", "reference"), e, strict=True))
         for e in (*EVENTS, *((g.release, "release", f"{g.name} released (synthetic)", g.name, "", "")
                              for g in generations[len(GENERATIONS):]))],
    )
    tables.add(
        schema.SUMMARIES,
        [
            {"generation": g, "metric": m, "collected_on": d, "mean": schema.format_number(mean), "n": str(n),
             "sd": sd, "ci_low": lo, "ci_high": hi, "redirect_rate": rr, "method": "automated_interview",
             "source": f"Aster {g.removeprefix('aster-')} system card (synthetic)"}
            for g, m, d, mean, n, sd, lo, hi, rr in SUMMARIES
        ] + list(RESTATED_SUMMARIES),
    )
    tables.add(schema.PHRASES, [dict(zip(("source", "phrase", "description"), p, strict=True)) for p in PHRASES])
    tables.add(
        schema.ACKNOWLEDGEMENTS,
        [dict(zip(("rule", "generations", "metric", "reason", "by", "date"), a, strict=True)) for a in ACKNOWLEDGEMENTS],
    )
    total = 0
    by_name = {g.name: g for g in generations}
    metrics = {m[0]: m for m in metrics_list}
    for index, (generation, plan) in enumerate(planted.items()):
        rows: list[tuple[str, ...]] = []
        for metric_index, metric in enumerate(sorted(plan)):
            cell = plan[metric]
            n = cell.fixed_n if cell.fixed_n is not None else max(1, round(cell.weight * per_unit))
            # One stream per cell: a cell's answers do not depend on the others.
            rng = np.random.default_rng([seed, index, metric_index])
            rows += _cell_rows(rng, by_name[generation], metrics[metric], cell, n)
        tables.files[f"{schema.OBSERVATIONS_DIR}/{generation}.csv"] = (_observation_file(rows), len(rows))
        total += len(rows)
    # The log's time is the end of the last collection window, not the wall clock,
    # so the same seed gives the same bytes.
    latest = _date(generations[-1].release, COLLECTION_DAYS)
    command = f"example --observations {observations} --seed {seed}"
    if extra_generations or extra_metrics:
        command += f" --extra-generations {extra_generations} --extra-metrics {extra_metrics}"
    entry = {"time": f"{latest}T00:00:00Z", "command": command, "inputs": [],
             "added": {"observations": total}, "skipped": {}}
    init_store(directory, tables.files, entry)
    return total

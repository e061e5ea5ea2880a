"""Simulated histories for the error budget: where nothing changed, and where one metric moves.

The contract's error budget is measured on these (`make bench`, and a few
hundred repetitions in the tests): 8 generations x 6 metrics of skewed,
discrete 1-7 answers (six shapes, one with rare extreme answers), a training
change at every release, 5% redirected, 8% with a concern tag, three prompt
variants and four topics with no effect, as many positively and negatively
leading answers as neutral ones, with no effect, and a stable share of
manual interviews. Answers within an interview share a random effect (a
Gaussian copula keeps each metric's distribution exact), so clustering is
simulated too.

Histories are built as arrays, not files: the analysis and the rules are the
shipped ones, the store is not what is being measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from . import stats
from .analyze import analyze
from .findings import Findings
from .history import Answers, Event, Generation, History, Metric, day_text
from .results import Analysis
from .rules import apply_rules

POINTS = np.arange(1, 8)
SCALE_RANGE = 6
# The six shapes of the error budget (probabilities of 1..7), one metric each.
DISTRIBUTIONS: dict[str, np.ndarray] = {
    "mass on 4-5": np.array([0.02, 0.04, 0.09, 0.35, 0.37, 0.10, 0.03]),  # mean 4.43, sd 1.13
    "mass on 4-5, wider": np.array([0.03, 0.06, 0.10, 0.30, 0.34, 0.12, 0.05]),  # mean 4.38, sd 1.25
    # Rare extreme answers: a cell of 50 holds a 1 or a 7 about one time in two.
    "concentrated at 4": np.array([0.005, 0.025, 0.16, 0.62, 0.16, 0.025, 0.005]),  # mean 4.0, sd 0.76
    "low around 3": np.array([0.06, 0.22, 0.40, 0.22, 0.07, 0.02, 0.01]),  # mean 3.12, sd 1.13
    "high around 5": np.array([0.01, 0.02, 0.07, 0.22, 0.40, 0.22, 0.06]),  # mean 4.88, sd 1.13
    "wide": np.array([0.12, 0.13, 0.15, 0.20, 0.15, 0.13, 0.12]),  # mean 4.0, sd 1.87
}
METRICS = tuple(DISTRIBUTIONS)
GENERATIONS = 8
REDIRECT_RATE = 0.05
CONCERN_RATE = 0.08
PROMPT_VARIANTS = 3
FIRST_DAY = 20_000
DAYS_APART = 60


def distribution(metric: str) -> np.ndarray:
    """The shares per scale point a simulated metric draws from."""
    return DISTRIBUTIONS[metric]


def shifted(probabilities: np.ndarray, change: float) -> np.ndarray:
    """The exponentially tilted distribution over 1..7 whose mean is exactly `change` points higher."""
    return stats.tilted(probabilities, POINTS, change)


@dataclass(frozen=True)
class Setting:
    """One simulated history's plan."""

    n: int  # neutral answers per generation and metric (and as many of each leading framing)
    generations: int = GENERATIONS
    metrics: tuple[str, ...] = METRICS
    moving_metric: int | None = None  # index into metrics; None: nothing changes
    change: float = 0.0  # in fractions of the scale range, at the last transition
    icc: float = 0.0
    per_interview: int = 1  # answers per interview; 1: no interviews recorded
    # Interviews of a random size in this range (inclusive) instead of `per_interview` each.
    interview_sizes: tuple[int, int] | None = None
    record_interviews: bool = True
    leading: bool = True
    # A probe corroborating the first metric: "" none; else how it moves at the newest release
    # ("flat", "follows": the same standardised change, "rises-opposite": rises, read in the opposite sense).
    probe: str = ""
    # Share of manual interviews before and at the newest release, and how much lower they score (points).
    manual_share: tuple[float, float] = (0.0, 0.0)
    manual_shift: float = 0.0
    topics: int = 1  # answers spread evenly at random over this many topics, with no effect


def null_setting(n: int, clustered: bool = False) -> Setting:
    """The contract's null history: nothing changes; a stable manual mix, four topics; interviews of 5-10
    answers (intraclass correlation 0.2) when `clustered`. The manual share is drawn per history (`history`)."""
    return Setting(n, manual_share=(-1.0, -1.0), topics=4, icc=0.2 if clustered else 0.0,
                   interview_sizes=(5, 10) if clustered else None)


PROBE_MEAN, PROBE_SD = 0.5, 0.1

def _interview_of(rng: np.random.Generator, n: int, setting: Setting) -> np.ndarray:
    """For each of n answers, the index of its interview (0, 1, ...)."""
    if setting.interview_sizes is None:
        return np.arange(n) // max(setting.per_interview, 1)
    low, high = setting.interview_sizes
    sizes = rng.integers(low, high + 1, -(-n // low))
    return np.repeat(np.arange(len(sizes)), sizes)[:n]


def _answers(rng: np.random.Generator, probabilities: np.ndarray, icc: float, interview: np.ndarray) -> np.ndarray:
    """Answers with the given distribution; answers of one interview share a random effect of variance icc."""
    n = len(interview)
    shared = rng.standard_normal(int(interview.max()) + 1 if n else 0)[interview]
    latent = math.sqrt(icc) * shared + math.sqrt(1 - icc) * rng.standard_normal(n)
    cumulative = np.cumsum(probabilities)[:-1]
    return np.asarray(np.searchsorted(cumulative, ndtr(latent), side="right") + 1)


def history(setting: Setting, rng: np.random.Generator) -> History:
    """A simulated history as the analysis reads it."""
    cells: list[dict[str, np.ndarray]] = []
    framings = ("neutral", "positive_lead", "negative_lead") if setting.leading else ("neutral",)
    interview_count = 0
    manual_share = setting.manual_share
    if manual_share[0] < 0:  # the null history's stable mix: one share for every generation
        manual_share = (float(rng.uniform(0.20, 0.45)),) * 2
    clustered = setting.per_interview > 1 or setting.interview_sizes is not None
    for g in range(setting.generations):
        newest = g == setting.generations - 1
        for m, metric in enumerate(setting.metrics):
            probabilities = distribution(metric)
            if m == setting.moving_metric and newest:
                probabilities = shifted(probabilities, setting.change * SCALE_RANGE)
            for f in range(len(framings)):
                interview = _interview_of(rng, setting.n, setting)
                scores = _answers(rng, probabilities, setting.icc, interview)
                count = len(scores)
                manual = rng.random(count) < manual_share[newest]
                if setting.manual_shift and manual.any():
                    lower = _answers(rng, shifted(probabilities, -setting.manual_shift), 0.0, np.arange(count))
                    scores = np.where(manual, lower, scores)
                interviews = np.zeros(count, dtype=np.int32)
                if clustered and setting.record_interviews:
                    interviews = (interview_count + 1 + interview).astype(np.int32)
                    interview_count = int(interviews.max())
                cells.append({
                    "generation": np.full(count, g, dtype=np.int32), "metric": np.full(count, m, dtype=np.int32),
                    "framing": np.full(count, f, dtype=np.int32), "interview_id": interviews,
                    "score": scores.astype(float), "method": manual.astype(np.int32),
                    "prompt_variant": rng.integers(0, PROMPT_VARIANTS, count).astype(np.int32),
                    "topic": rng.integers(0, setting.topics, count).astype(np.int32),
                    "redirected": rng.random(count) < REDIRECT_RATE, "concern": rng.random(count) < CONCERN_RATE,
                    "day": np.full(count, FIRST_DAY + DAYS_APART * g + 1, dtype=np.int32),
                })
        if setting.probe:
            cells.append(_probe_cell(rng, setting, g, len(setting.metrics)))
    columns = {k: np.concatenate([c[k] for c in cells]) for k in cells[0]}
    total = len(columns["score"])
    zeros = np.zeros(total, dtype=np.int32)
    names = [f"g{g}" for g in range(setting.generations)]
    metric_names = [f"m{m}" for m in range(len(setting.metrics))]
    codes = {
        "generation": columns["generation"], "metric": columns["metric"], "framing": columns["framing"],
        "interview_id": columns["interview_id"], "prompt_variant": columns["prompt_variant"],
        "method": columns["method"], "instrument": zeros, "topic": columns["topic"], "system_prompt": zeros,
        "tags": zeros,
    }
    categories = {
        "generation": names, "metric": metric_names, "framing": list(framings),
        "interview_id": ["", *(f"i{i}" for i in range(1, interview_count + 1))],
        "prompt_variant": [f"v{v}" for v in range(PROMPT_VARIANTS)], "method": ["automated_interview", "manual_interview"],
        "instrument": [""], "topic": [f"t{t}" for t in range(setting.topics)] if setting.topics > 1 else [""],
        "system_prompt": [""], "tags": [""],
    }
    answers = Answers(codes, categories, columns["day"], columns["score"], columns["redirected"],
                      np.zeros(total, dtype=bool), columns["concern"])
    generations = [Generation(name, day_text(FIRST_DAY + DAYS_APART * g), "sim", "", name, "")
                   for g, name in enumerate(names)]
    events = [Event(day_text(FIRST_DAY + DAYS_APART * g), "training_change", "simulated", name, "", "")
              for g, name in enumerate(names) if g]
    metrics = {name: Metric(name, 1, 7, name, "", "") for name in metric_names}
    if setting.probe:
        direction = "opposite" if setting.probe == "rises-opposite" else "same"
        metrics["probe"] = Metric("probe", 0, 1, "probe", "", "", "probe", "m0", direction)
        metric_names.append("probe")
    as_of = day_text(FIRST_DAY + DAYS_APART * setting.generations)
    return History(generations, metrics, events, [], [], answers, as_of)


def _probe_cell(rng: np.random.Generator, setting: Setting, g: int, code: int) -> dict[str, np.ndarray]:
    """Probe readings for one generation: flat, or moving as the first metric moves (in sd units)."""
    mean = PROBE_MEAN
    if g == setting.generations - 1 and setting.probe in ("follows", "rises-opposite"):
        # The self-report's true standardised change: its delta over the pooled sd of the two distributions.
        before = distribution(setting.metrics[0])
        after = shifted(before, setting.change * SCALE_RANGE)
        sds = [math.sqrt(float(p @ (POINTS - p @ POINTS) ** 2)) for p in (before, after)]
        mean += setting.change * SCALE_RANGE / math.sqrt((sds[0] ** 2 + sds[1] ** 2) / 2) * PROBE_SD
    count = setting.n
    values = rng.normal(mean, PROBE_SD, count)
    return {
        "generation": np.full(count, g, dtype=np.int32), "metric": np.full(count, code, dtype=np.int32),
        "framing": np.zeros(count, dtype=np.int32), "interview_id": np.zeros(count, dtype=np.int32),
        "score": np.clip(values, 0, 1), "method": np.zeros(count, dtype=np.int32),
        "prompt_variant": np.zeros(count, dtype=np.int32), "topic": np.zeros(count, dtype=np.int32),
        "redirected": np.zeros(count, dtype=bool),
        "concern": np.zeros(count, dtype=bool), "day": np.full(count, FIRST_DAY + DAYS_APART * g + 1, dtype=np.int32),
    }


def run(setting: Setting, seed: int) -> Findings:
    """The findings of one simulated history."""
    return apply_rules(analyze(history(setting, np.random.default_rng(seed))))


def last_transition(analysis: Analysis, metric: int) -> str | None:
    """The verdict at the newest generation for one metric."""
    newest = analysis.history.generations[-1].name
    return next((c.verdict for c in analysis.comparisons
                 if c.to == newest and c.metric == f"m{metric}" and c.split is None), None)


def flags_naming(findings: Findings, generation: str) -> list[str]:
    """Rules of open flags that name a generation (what adding that generation made `check` report)."""
    return [f.rule for f in findings.open_flags() if generation in f.generations]

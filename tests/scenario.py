"""Miniature histories for rule tests, written as real input files and merged.

Answers are either exact (a list of scores) or drawn deterministically: the
normal quantiles of a distribution, rounded and clipped, so a scenario's
statistics do not wobble from run to run.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from reporter.findings import Findings
from reporter.inputs import read_input
from reporter.pipeline import findings_from_path
from reporter.store import Store, init_store

OBSERVATION_COLUMNS = ("generation", "metric", "collected_on", "score", "response_id", "interview_id", "method",
                       "instrument", "framing", "topic", "prompt_variant", "system_prompt", "redirected", "declined",
                       "tags", "excerpt", "featured")


def quantile_scores(mean: float, sd: float, n: int, low: int = 1, high: int = 7) -> list[int]:
    dist = NormalDist(mean, sd)
    return [int(min(high, max(low, round(dist.inv_cdf((i + 0.5) / n))))) for i in range(n)]


def random_scores(mean: float, sd: float, n: int, seed: int, low: int = 1, high: int = 7) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(x) for x in np.clip(np.rint(rng.normal(mean, sd, n)), low, high)]


@dataclass
class Scenario:
    root: Path
    metrics: dict[str, tuple[int, int]] = field(default_factory=lambda: {"mood": (1, 7)})
    # Extra metrics.csv columns per metric (measure, corroborates, direction).
    metric_fields: dict[str, dict[str, str]] = field(default_factory=dict)
    generations: list[dict[str, str]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    summaries: list[dict[str, str]] = field(default_factory=list)
    acknowledgements: list[dict[str, str]] = field(default_factory=list)
    answers: list[dict[str, str]] = field(default_factory=list)
    phrases: list[dict[str, str]] = field(default_factory=list)

    def generation(self, name: str, release: str, model: str = "m", predecessor: str = "") -> Scenario:
        self.generations.append({"generation": name, "release_date": release, "model": model,
                                 "predecessor": predecessor, "label": f"{name} (test)"})
        return self

    def scores(self, generation: str, scores: list[int] | list[float], metric: str = "mood", start: str | None = None,
               days: int = 20, **fields: Any) -> Scenario:
        """Answers with these scores, spread over `days` days from `start` (default: the release date)."""
        first = dt.date.fromisoformat(start or next(g["release_date"] for g in self.generations if g["generation"] == generation))
        for i, score in enumerate(scores):
            row = {"generation": generation, "metric": metric,
                   "collected_on": (first + dt.timedelta(days=i * days // max(1, len(scores)))).isoformat(),
                   "score": str(score), "response_id": f"{generation}-{metric}-{len(self.answers)}"}
            for key, value in fields.items():
                row[key] = value(i) if callable(value) else str(value)
            self.answers.append(row)
        return self

    def real(self, generation: str, mean: float, metric: str, n: int = 200, sd: float = 0.1, **fields: Any) -> Scenario:
        """Real-valued measurements (a probe or a behaviour score), drawn as normal quantiles within the scale."""
        low, high = self.metrics[metric]
        dist = NormalDist(mean, sd)
        values = [round(min(high, max(low, dist.inv_cdf((i + 0.5) / n))), 4) for i in range(n)]
        return self.scores(generation, values, metric, **fields)

    def normal(self, generation: str, mean: float, n: int = 200, sd: float = 1.2, metric: str = "mood", **fields: Any) -> Scenario:
        low, high = self.metrics[metric]
        return self.scores(generation, quantile_scores(mean, sd * (high - low) / 6, n, low, high), metric, **fields)

    def event(self, date: str, kind: str, generation: str = "", metric: str = "", description: str = "change") -> Scenario:
        self.events.append({"date": date, "kind": kind, "description": description,
                            "generation": generation, "metric": metric, "reference": ""})
        return self

    def summary(self, generation: str, mean: float, n: int, collected_on: str, metric: str = "mood", **fields: Any) -> Scenario:
        self.summaries.append({"generation": generation, "metric": metric, "collected_on": collected_on,
                               "mean": str(mean), "n": str(n), **{k: str(v) for k, v in fields.items()}})
        return self

    def acknowledge(self, rule: str, generations: str, metric: str = "", date: str = "2020-01-01") -> Scenario:
        self.acknowledgements.append({"rule": rule, "generations": generations, "metric": metric,
                                      "reason": "reviewed", "by": "tester", "date": date})
        return self

    def write(self) -> Path:
        """Write the input files, merge them into a new store and return the store's folder."""
        inputs = self.root / "inputs"
        inputs.mkdir(parents=True, exist_ok=True)
        files = [
            _write(inputs / "generations.csv", self.generations),
            _write(inputs / "metrics.csv", [{"metric": m, "scale_min": str(lo), "scale_max": str(hi),
                                            **self.metric_fields.get(m, {})} for m, (lo, hi) in self.metrics.items()]),
            _write(inputs / "events.csv", self.events),
            _write(inputs / "summaries.csv", self.summaries),
            _write(inputs / "acknowledgements.csv", self.acknowledgements),
            _write(inputs / "observations.csv", self.answers, OBSERVATION_COLUMNS),
            _write(inputs / "phrases.csv", self.phrases),
        ]
        store_root = self.root / "history"
        init_store(store_root)
        Store(store_root).merge([read_input(f) for f in files if f is not None])
        return store_root

    def findings(self, as_of: str | None = None) -> Findings:
        return findings_from_path(self.write(), as_of)


def _write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] | None = None) -> Path | None:
    if not rows:
        return None
    names = list(columns or dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def rules_fired(findings: Findings) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((f.rule, tuple(f.generations)) for f in findings.raised)

"""Lineage: which generation each one is compared with, and which answers a metric exposure contaminated."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .history import (
    Event,
    Generation,
    History,
    Summary,
    day_number,
)

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
    """The generations before `name` in its line, nearest first."""
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
    """Whether a metric exposure reaches a published summary's generation and date."""
    for event in history.events:
        if event.kind != "metric_exposure" or event.metric not in ("", summary.metric):
            continue
        scope = exposure_scope(history, event)
        if (scope is None and summary.collected_on >= event.date) or (scope and summary.generation in scope):
            return True
    return False

"""The count-table engine: answers per scale point (or moments) per cell, counted once with numpy.

Every statistic of the analysis is computed from these tables, so its cost
does not grow with answers once they are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .history import (
    Answers,
    History,
)
from .stats import Moments

# -- statistics per cell ------------------------------------------------------------


@dataclass(frozen=True)
class MomentTable:
    """Per index (a cell, or a cell and a group): n, the sum, and per cluster g the sums of
    s_g^2, s_g * n_g and n_g^2 that a cluster-robust variance needs."""

    n: np.ndarray
    total: np.ndarray
    values_squared: np.ndarray  # the sum of y^2 over answers, for the sd
    squares: np.ndarray
    cross: np.ndarray
    sizes: np.ndarray
    clusters: np.ndarray
    interviews: np.ndarray

    def sd(self, index: int) -> float | None:
        n = int(self.n[index])
        if n < 2:
            return None
        mean = self.total[index] / n
        return math.sqrt(max(float(self.values_squared[index] - n * mean * mean), 0.0) / (n - 1))

    def at(self, index: int) -> Moments | None:
        return Moments.of_sums(
            int(self.n[index]), float(self.total[index]), float(self.squares[index]),
            float(self.cross[index]), float(self.sizes[index]), int(self.clusters[index]),
        )


def _count(index: np.ndarray, weight: np.ndarray | None, size: int) -> np.ndarray:
    """Answers per index, each counted with its weight (a counts row stands for `count` answers)."""
    if weight is None:
        return np.bincount(index, minlength=size)
    return np.rint(np.bincount(index, weight, minlength=size)).astype(np.int64)


def _total(index: np.ndarray, values: np.ndarray, weight: np.ndarray | None, size: int) -> np.ndarray:
    """Sums of `values` per index, each with its weight."""
    return np.bincount(index, values if weight is None else values * weight, minlength=size)


@dataclass(frozen=True)
class _Chosen:
    """The answers in one mask, gathered once: the analysis asks for moments of the same answers
    grouped several ways (by stratum, by each variation column)."""

    mask: np.ndarray
    cell: np.ndarray
    score: np.ndarray
    weight: np.ndarray | None
    clustered: np.ndarray  # in an interview
    cluster: np.ndarray  # the (cell, interview) pair of each answer that is


class Tally:
    """Counts of answers per (generation, metric) cell and scale point, in one pass each."""

    def __init__(self, history: History) -> None:
        answers = history.answers
        self.generations = [g.name for g in history.generations]
        self.metric_names = list(history.metrics)
        gen_map = code_map(answers, "generation", self.generations)
        metric_map = code_map(answers, "metric", self.metric_names)
        g = gen_map[answers.codes["generation"]] if len(answers) else np.zeros(0, dtype=np.int64)
        m = metric_map[answers.codes["metric"]] if len(answers) else np.zeros(0, dtype=np.int64)
        self.valid = (g >= 0) & (m >= 0)
        self.cells = len(self.generations) * len(self.metric_names)
        self.cell = np.where(self.valid, g * len(self.metric_names) + m, 0)
        scale_min = np.array([history.metrics[n].scale_min for n in self.metric_names] or [0])
        self.points = max((history.metrics[n].range + 1 for n in self.metric_names), default=1)
        neutral = answers.code("framing", "neutral")
        self.neutral = self.valid & (answers.codes["framing"] == neutral)
        self.scored = ~np.isnan(answers.score)
        # Self-report answers sit on whole scale points; probe and behaviour values do not.
        self.rated = [history.metrics[n].self_report for n in self.metric_names]
        rated = np.array(self.rated or [True])
        self.on_points = self.valid & self.scored & rated[np.where(m >= 0, m, 0)]
        self.offset = np.where(self.on_points, answers.score - scale_min[np.where(m >= 0, m, 0)], 0).astype(np.int64)
        self.answers = answers
        interview = answers.codes["interview_id"]
        self.in_interview = interview != answers.code("interview_id", "")
        self.has_interviews = bool(self.in_interview.any())
        # Each (cell, interview) pair numbered once, in that order: every grouping's clusters are these
        # pairs split by group, counted with bincount instead of one sort per grouping.
        pairs, cluster = np.unique(self.cell[self.in_interview].astype(np.int64) * max(1, len(answers.categories["interview_id"]))
                                   + interview[self.in_interview], return_inverse=True)
        # int32: there are fewer pairs than answers, and the array lives as long as the tally.
        self.cluster = np.full(len(answers), -1, dtype=np.int32)
        self.cluster[self.in_interview] = cluster
        self.cluster_cell = pairs // max(1, len(answers.categories["interview_id"]))
        self.topics = max(1, len(answers.categories["topic"]))
        self.strata = max(1, len(answers.categories["method"])) * self.topics
        self.stratum = answers.codes["method"].astype(np.int64) * self.topics + answers.codes["topic"]
        # A counts row stands for `count` identical answers; with none, every weight is one and is left out.
        self.weight = answers.weights
        self.weighted = bool((self.weight != 1).any())
        self.counted = answers.from_counts
        self._last_chosen: _Chosen | None = None

    def _tally(self, index: np.ndarray, mask: np.ndarray, minlength: int) -> np.ndarray:
        """Answers per index: entries counted with their weight."""
        return _count(index, self.weight[mask] if self.weighted else None, minlength)

    def _sum(self, index: np.ndarray, mask: np.ndarray, values: np.ndarray, minlength: int) -> np.ndarray:
        return _total(index, values, self.weight[mask] if self.weighted else None, minlength)

    def index(self, generation: str, metric: str) -> int:
        return self.generations.index(generation) * len(self.metric_names) + self.metric_names.index(metric)

    def per_cell(self, mask: np.ndarray) -> np.ndarray:
        return self._tally(self.cell[mask], mask, self.cells)

    def _group_index(self, mask: np.ndarray, group: np.ndarray | None, width: int) -> np.ndarray:
        index: np.ndarray = self.cell[mask].astype(np.int64) * width
        return index if group is None else index + group[mask]

    def point_counts(self, mask: np.ndarray, group: np.ndarray | None = None, width: int = 1) -> np.ndarray:
        mask = mask & self.on_points
        flat = self._group_index(mask, group, width) * self.points + self.offset[mask]
        size = self.cells * width
        return self._tally(flat, mask, size * self.points).reshape(size, self.points)

    def moments(self, mask: np.ndarray, values: np.ndarray | None = None,
                group: np.ndarray | None = None, width: int = 1) -> MomentTable:
        """Sums per cell (and group) for means and their cluster-robust variances.

        An answer without an interview is a cluster of its own, so without any
        interviews the sums reduce to those of independent answers.
        """
        size = self.cells * width
        chosen = self._chosen(mask)
        index = chosen.cell.astype(np.int64) * width
        if group is not None:
            index += group[mask]
        y = chosen.score if values is None else values[mask].astype(float)
        weight = chosen.weight
        n = _count(index, weight, size)
        total = _total(index, y, weight, size)
        squares = _total(index, y * y, weight, size)
        nothing = np.zeros(size, dtype=np.int64)
        if not self.has_interviews:
            return MomentTable(n, total, squares, squares, total, n.astype(float), n, nothing)
        clustered = chosen.clustered
        # Answers without an interview (counted ones included) are clusters of one each.
        alone = ~clustered
        alone_index, alone_y = index[alone], y[alone]
        alone_weight = None if weight is None else weight[alone]
        alone_n = _count(alone_index, alone_weight, size)
        owner, cluster_n, cluster_sum = self._clusters(chosen, y[clustered], group, width)
        per_interview = np.bincount(owner, minlength=size)
        return MomentTable(
            n, total, squares,
            _total(alone_index, alone_y**2, alone_weight, size) + np.bincount(owner, cluster_sum**2, minlength=size),
            _total(alone_index, alone_y, alone_weight, size) + np.bincount(owner, cluster_sum * cluster_n, minlength=size),
            alone_n + np.bincount(owner, cluster_n**2, minlength=size),
            alone_n + per_interview,
            per_interview,
        )

    def forget_gathered(self) -> None:
        """Let the answers gathered for the last mask go (a quarter of a GB at 10M answers)."""
        self._last_chosen = None

    def _chosen(self, mask: np.ndarray) -> _Chosen:
        last = self._last_chosen
        if last is not None and (last.mask is mask or np.array_equal(last.mask, mask)):
            return last
        clustered = self.in_interview[mask]
        self._last_chosen = _Chosen(
            mask, self.cell[mask].astype(np.int32), self.answers.score[mask].astype(float),
            self.weight[mask] if self.weighted else None, clustered, self.cluster[mask][clustered],
        )
        return self._last_chosen

    def _clusters(self, chosen: _Chosen, y: np.ndarray, group: np.ndarray | None,
                  width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per interview within each cell (and group) that has chosen answers, in the order of
        (cell, group, interview): its cell (and group) index, its answers and the sum of their `y`."""
        key = chosen.cluster.astype(np.int64) * width
        if group is not None:
            key += group[chosen.mask][chosen.clustered]
        pairs = len(self.cluster_cell) * width
        if pairs > 4 * len(key) + 1024:  # mostly empty: numbering the pairs present is cheaper
            present, key = np.unique(key, return_inverse=True)
        else:
            present = None
        cluster_n = np.bincount(key, minlength=pairs if present is None else 0)
        cluster_sum = np.bincount(key, y, minlength=len(cluster_n))
        if present is None:
            present = np.flatnonzero(cluster_n)
            cluster_n, cluster_sum = cluster_n[present], cluster_sum[present]
        owner = self.cluster_cell[present // width] * width + present % width
        return owner, cluster_n.astype(float), cluster_sum

    def by_code(self, mask: np.ndarray, column: str, weights: np.ndarray | None = None) -> np.ndarray:
        """Counts (or sums of `weights`) per cell and value of a coded column."""
        width = max(1, len(self.answers.categories[column]))
        flat = self.cell[mask] * width + self.answers.codes[column][mask]
        if weights is not None:
            return self._sum(flat, mask, weights[mask], self.cells * width).reshape(self.cells, width)
        return self._tally(flat, mask, self.cells * width).reshape(self.cells, width)

    def day_range(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last collection day per cell, from a histogram of cells by day (ufunc.at is slow)."""
        first = np.full(self.cells, np.iinfo(np.int32).max, dtype=np.int64)
        last = np.full(self.cells, np.iinfo(np.int32).min, dtype=np.int64)
        if not mask.any():
            return first, last
        cells, days = self.cell[mask], self.answers.day[mask].astype(np.int64)
        start = int(days.min())
        width = int(days.max()) - start + 1
        if self.cells * width > 50_000_000:  # decades of daily data: fall back to the slow exact way
            np.minimum.at(first, cells, days)
            np.maximum.at(last, cells, days)
            return first, last
        seen = np.bincount(cells * width + (days - start), minlength=self.cells * width).reshape(self.cells, width) > 0
        has = seen.any(axis=1)
        first[has] = start + seen[has].argmax(axis=1)
        last[has] = start + width - 1 - seen[has][:, ::-1].argmax(axis=1)
        return first, last


@dataclass(frozen=True)
class CellTables:
    """Point counts, moments and method x topic stratum moments of chosen answers, per cell (and side)."""

    counts: np.ndarray
    moments: MomentTable
    strata: MomentTable
    width: int

    def strata_at(self, tally: Tally, index: int) -> dict[tuple[str, str], Moments]:
        methods, topics = tally.answers.categories["method"], tally.answers.categories["topic"]
        start = index * tally.strata
        result = {}
        for stratum in np.flatnonzero(self.strata.n[start:start + tally.strata]):
            moments = self.strata.at(start + int(stratum))
            if moments is not None:
                result[(methods[stratum // tally.topics], topics[stratum % tally.topics])] = moments
        return result


def cell_tables(tally: Tally, mask: np.ndarray, group: np.ndarray | None = None, width: int = 1) -> CellTables:
    """Count tables of the answers in `mask`, per cell (and per `group` when given)."""
    stratum_group = tally.stratum if group is None else group.astype(np.int64) * tally.strata + tally.stratum
    return CellTables(
        tally.point_counts(mask, group, width),
        tally.moments(mask, group=group, width=width),
        tally.moments(mask, group=stratum_group, width=width * tally.strata),
        width,
    )


def code_map(answers: Answers, column: str, names: list[str]) -> np.ndarray:
    """Each category code of `column` mapped to its position in `names` (-1: not there)."""
    position = {name: i for i, name in enumerate(names)}
    return np.array([position.get(v, -1) for v in answers.categories[column]] or [-1], dtype=np.int64)


def elicitation_counts(tally: Tally, tables: dict[str, np.ndarray], cell: int) -> dict[str, dict[str, int]]:
    """Answers per value of every elicitation column, for one cell."""
    result = {}
    for column, table in tables.items():
        names = tally.answers.categories[column]
        row = table[cell]
        result[column] = dict(sorted((names[i] or "(none)", int(row[i])) for i in np.flatnonzero(row)))
    return result


def share_design_effect(table: MomentTable, index: int) -> float:
    """The variance of a share across interviews over its variance were answers independent (>= 1)."""
    moments = table.at(index)
    if moments is None or not moments.usable or not 0 < moments.mean < 1:
        return 1.0
    return max(1.0, moments.variance_of_mean / (moments.mean * (1 - moments.mean) / moments.n))

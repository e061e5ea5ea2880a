"""`trend`: per generation statistics with the comparison to the predecessor, as rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from . import phrasing
from .findings import round_number
from .results import Analysis, Comparison, Stat

COLUMNS = (
    "generation", "label", "release_date", "metric", "source", "n", "mean", "sd", "median", "ci_low", "ci_high",
    "redirect_rate", "decline_rate", "mean_without_redirected", "contaminated", "delta", "delta_ci_low",
    "delta_ci_high", "p_value", "p_holm", "verdict", "jump", "split",
)
FORMULA_PREFIXES = ("=", "+", "-", "@")
# The full-width forms of = + - @, which spreadsheets also read as a formula.
FULL_WIDTH_PREFIXES = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
CONTROL_STARTS = ("\t", "\r", "\n", "\x00")


def trend_rows(analysis: Analysis, metric: str | None = None) -> list[dict[str, Any]]:
    """One row per generation and metric with the comparison arriving at it, then, after it, one row per
    split inside that generation (the side after the system-prompt change, compared with the side before)."""
    incoming = {(c.to, c.metric): c for c in analysis.comparisons if c.split is None}
    splits: dict[tuple[str, str], list[Comparison]] = {}
    for comparison in analysis.comparisons:
        if comparison.split is not None:
            splits.setdefault((comparison.to, comparison.metric), []).append(comparison)
    release = {g.name: g for g in analysis.history.generations}
    texts = {t.generation: t.to_json() for t in analysis.texts}
    rows = []
    for stat in analysis.stats:
        if metric is not None and stat.metric != metric:
            continue
        generation = release[stat.generation]
        cells: list[tuple[Stat, Comparison | None, str]] = [(stat, incoming.get((stat.generation, stat.metric)), "")]
        cells += [(c.after, c, c.split.label()) for c in splits.get((stat.generation, stat.metric), []) if c.split]
        for shown, c, split in cells:
            rows.append(round_number({
                "generation": stat.generation, "label": generation.label, "release_date": generation.release_date,
                "metric": stat.metric, "source": shown.source, "n": shown.n, "mean": shown.mean, "sd": shown.sd,
                "median": shown.median, "ci_low": shown.ci_low, "ci_high": shown.ci_high,
                "redirect_rate": shown.redirect_rate, "decline_rate": shown.decline_rate,
                "mean_without_redirected": shown.mean_without_redirected, "contaminated": shown.contaminated,
                "delta": c.delta if c else None, "delta_ci_low": c.ci_low if c else None,
                "delta_ci_high": c.ci_high if c else None, "p_value": c.p_value if c else None,
                "p_holm": c.p_holm if c else None, "verdict": c.verdict if c else None, "jump": c.jump if c else None,
                "split": split,
                "topics": analysis.topics(stat.generation, stat.metric) if not split else {},
                # What the generation's answers say, over every self-report metric: the same in each of its rows.
                "texts": {k: v for k, v in texts[stat.generation].items() if k != "generation"}
                if stat.generation in texts and not split else None,
                "corroboration": [
                    {k: v for k, v in p.to_json().items() if k not in ("metric", "to")}
                    for p in analysis.corroborations
                    if p.metric == stat.metric and p.to == stat.generation and (p.split.label() if p.split else "") == split
                ],
            }))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    # A spreadsheet would run a text cell that starts like a formula (OWASP CSV injection),
    # also behind leading whitespace or in full-width characters.
    return "'" + text if _looks_like_a_formula(text) else text


def _looks_like_a_formula(text: str) -> bool:
    if text[:1] in CONTROL_STARTS:
        return True
    first = text.lstrip(" \t\r\n")[:1]
    return first != "" and (first in FORMULA_PREFIXES or first in FULL_WIDTH_PREFIXES or first in CONTROL_STARTS)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """`trend --format csv`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(row[c]) for c in COLUMNS] for row in rows)
    return buffer.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    """`trend --format json`."""
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def to_table(rows: list[dict[str, Any]]) -> Any:
    """One rich table per metric with the columns a reader scans first, narrow enough for 100 columns."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    tables = []
    for metric in dict.fromkeys(row["metric"] for row in rows):
        table = Table(title=f"{metric}: per generation (neutral framing)", box=box.SIMPLE_HEAD, pad_edge=False,
                      padding=(0, 1), title_justify="left")
        cells = []
        for row in (r for r in rows if r["metric"] == metric):
            source = {"summaries": " †", "counts": " ‡"}.get(row["source"], "")
            name = f"  after {row['split'].split(' -> ')[-1]}" if row["split"] else row["generation"]
            cells.append((
                name + (" *" if row["contaminated"] else ""), f"{row['n']:,}{source}",
                _number(row["mean"]), _range(row["ci_low"], row["ci_high"]), _signed(row["delta"]),
                _range(row["delta_ci_low"], row["delta_ci_high"], signed=True),
                "" if row["p_holm"] is None else phrasing.p_value(row["p_holm"]), row["verdict"] or "",
            ))
        for index, name in enumerate(("generation", "n", "mean", "95% CI", "delta", "delta 95% CI", "p (Holm)",
                                      "verdict")):
            # A figure is never cut to fit the terminal: its column keeps its width and the header wraps;
            # only a long generation name folds onto a second line.
            widest = max((len(c[index]) for c in cells), default=0)
            table.add_column(name, justify="left" if name in ("generation", "verdict") else "right",
                             min_width=min(widest, 8) if index == 0 else widest, overflow="fold")
        for row_cells in cells:
            table.add_row(*row_cells)
        tables.append(table)
    legend = ("* contaminated (collected after the metric reached training, reward or selection); "
              "† a published summary; ‡ counts")
    return Group(*tables, legend)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _range(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    shown = _signed if signed else _number
    return f"[{shown(low)}, {shown(high)}]"



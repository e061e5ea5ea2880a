"""Corrections: how a wrong row leaves the analysis without leaving the audit trail.

A correction names rows by key (a response_id, a row's `<file SHA-256>:<line>`
key, or `<file SHA-256>:*` for every row one input file added) and retracts,
replaces or redacts them; a row is an answer or a counts row (answers
aggregated elsewhere). The rows leave the observation files or counts.csv, and
corrections.csv keeps one line per row touched: the superseded row in the
store's canonical CSV with its SHA-256 (a redacted excerpt kept only as its
SHA-256), and for a replacement the rows that took its place. Pure
functions: the merge plan calls them on copies of the store rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .. import schema
from ..errors import Problem
from .files import csv_bytes

Row = dict[str, str]
CORRECTIONS_FILE = schema.STORE_FILES["corrections"]
COUNTS_FILE = schema.STORE_FILES["counts"]
REDACTED_PREFIX = "sha256:"


@dataclass(frozen=True)
class IncomingCorrection:
    """A correction row as a merge brings it, before it is applied."""

    path: str
    line: int
    row: Row


@dataclass
class Outcome:
    """What the new corrections of one merge did."""

    lines: list[Row] = field(default_factory=list)  # new corrections.csv lines
    changed: set[str] = field(default_factory=set)  # observation files whose rows changed
    replacing: list[tuple[IncomingCorrection, list[Row]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    applied: int = 0
    skipped: int = 0


def row_text(row: Row) -> str:
    """One row of answers (an answer, or a counts row) as the store writes it, without its line end."""
    kind = schema.COUNTS if "count" in row else schema.OBSERVATIONS
    return csv_bytes([[row.get(n, "") for n in kind.store_names]]).decode("utf-8").rstrip("\n")


def rows_of(generation: str) -> tuple[str, str]:
    """The store files whose rows a correction of `generation` may name."""
    return f"{schema.OBSERVATIONS_DIR}/{generation}.csv", COUNTS_FILE


def names(correction: Row, row: Row) -> bool:
    """Whether a correction's key names a row of answers of its generation and metric."""
    if row["generation"] != correction["generation"] or row["metric"] != correction["metric"]:
        return False
    key = correction["key"]
    if key.endswith(schema.WHOLE_FILE_SUFFIX):
        return row.get("key", "").startswith(key[: -len(schema.WHOLE_FILE_SUFFIX)] + ":")
    return key in (row.get("response_id", ""), row.get("key", "")) and bool(key)


def _line(correction: Row, role: str, row: Row) -> Row:
    text = row_text(row)
    return {**{n: correction[n] for n in schema.CORRECTIONS.names}, "role": role,
            "row_key": schema.observation_key(row), "row_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "row": text}


def _redacted(row: Row) -> Row:
    digest = hashlib.sha256(row["excerpt"].encode("utf-8")).hexdigest()
    return {**row, "excerpt": REDACTED_PREFIX + digest}


def apply(observations: dict[str, list[Row]], recorded: list[Row], incoming: Iterable[IncomingCorrection]) -> Outcome:
    """Apply the corrections not recorded yet to `observations` (store path -> rows, changed in place)."""
    outcome = Outcome()
    known = {tuple(r[n] for n in ("generation", "metric", "key", "action")): r for r in recorded}
    for item in incoming:
        c = item.row
        identity = (c["generation"], c["metric"], c["key"], c["action"])
        if identity in known:
            other = known[identity]
            differing = [n for n in ("reason", "by", "date") if other[n] != c[n]]
            if differing:
                outcome.problems.append(Problem(item.path, item.line, "key", f"a {c['action']} of {c['key']!r} is "
                                                f"already recorded with another {', '.join(differing)}"))
            else:
                outcome.skipped += 1
            continue
        known[identity] = c
        _apply_one(observations, item, outcome)
    return outcome


def _apply_one(observations: dict[str, list[Row]], item: IncomingCorrection, outcome: Outcome) -> None:
    c = item.row
    found = False
    for path in rows_of(c["generation"]):
        rows = observations.get(path, [])
        named = [r for r in rows if names(c, r) and (c["action"] != "redact" or r.get("excerpt"))]
        if not named:
            continue
        found = True
        outcome.changed.add(path)
        chosen = {id(r) for r in named}
        if c["action"] == "redact":
            observations[path] = [{**r, "excerpt": ""} if id(r) in chosen else r for r in rows]
            outcome.lines += [_line(c, "superseded", _redacted(r)) for r in named]
            continue
        observations[path] = [r for r in rows if id(r) not in chosen]
        outcome.lines += [_line(c, "superseded", r) for r in named]
        if c["action"] == "replace":
            outcome.replacing.append((item, named))
    if found:
        outcome.applied += 1
        return
    what = "answer with an excerpt" if c["action"] == "redact" else "answer or counts row"
    outcome.problems.append(Problem(item.path, item.line, "key", f"names no {what} of {c['generation']} / "
                                    f"{c['metric']} in the history"))


def record_replacements(outcome: Outcome, fresh: Mapping[str, list[Row]]) -> None:
    """Name the rows of this merge that take a replaced row's place; a replace that none takes is a problem."""
    for item, superseded in outcome.replacing:
        c = item.row
        # Rows take the place of their own kind: answers of answers, counts rows of counts rows.
        path = COUNTS_FILE if "count" in superseded[0] else f"{schema.OBSERVATIONS_DIR}/{c['generation']}.csv"
        candidates = fresh.get(path, [])
        if c["key"].endswith(schema.WHOLE_FILE_SUFFIX):
            taking = [r for r in candidates if (r["generation"], r["metric"]) == (c["generation"], c["metric"])]
        else:
            kind = schema.COUNTS if "count" in superseded[0] else schema.OBSERVATIONS
            keys = {schema.row_key(kind, r) for r in superseded}
            taking = [r for r in candidates if r["metric"] == c["metric"] and schema.row_key(kind, r) in keys]
        if not taking:
            outcome.problems.append(Problem(item.path, item.line, "action", "replace, but no answer of this merge "
                                            "takes the rows' place; merge the new rows with it, or retract"))
        outcome.lines += [_line(c, "replacement", r) for r in taking]


def retracted(recorded: list[Row]) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    """Keys (generation, metric, key) and whole files (generation, metric, SHA-256) retracted or replaced
    earlier: merging the same rows again must not bring them back."""
    keys, whole_files = set(), set()
    for r in recorded:
        if r["action"] not in ("retract", "replace") or r["role"] != "superseded":
            continue
        if r["key"].endswith(schema.WHOLE_FILE_SUFFIX):
            whole_files.add((r["generation"], r["metric"], r["key"][: -len(schema.WHOLE_FILE_SUFFIX)]))
        else:
            keys.add((r["generation"], r["metric"], r["row_key"]))
    return keys, whole_files


def is_retracted(row: Row, keys: set[tuple[str, str, str]], whole_files: set[tuple[str, str, str]]) -> bool:
    """Whether a correction named this row, by its key or by its input file."""
    if (row["generation"], row["metric"], schema.observation_key(row)) in keys:
        return True
    source = row.get("key", "").partition(":")[0]
    return bool(source) and (row["generation"], row["metric"], source) in whole_files

"""`quarterly`: the report as of a quarter's last day, with what changed since the previous quarter."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from . import __version__
from .analyze import answers_per_generation
from .diff import compare, flag_key
from .errors import ReporterError
from .findings import Findings, to_json
from .formats import DEFAULT_FORMATS
from .periods import Quarter, last_completed
from .pipeline import NothingToAnalyse, findings_from_path
from .publish import check_replaceable, folder_lock, write_folder
from .rendering import render_outputs, report_options
from .signatures import SIGNATURE, sign
from .store.files import sha256_bytes

MANIFEST_SCHEMA = "welfare-report/quarterly/1"
MANIFEST = "manifest.json"
Status = Literal["written", "unchanged", "replaced"]


@dataclass(frozen=True)
class QuarterlyResult:
    """What `quarterly` wrote, or that an identical report was already there."""

    quarter: Quarter
    directory: Path
    status: Status


def since_previous(history_root: Path, findings: Findings, quarter: Quarter, require_verified: bool = True) -> dict[str, Any]:
    """New generations, answers and events, and flags new, resolved or unchanged since the previous quarter.

    The previous quarter is always computed from the history at its end, never read from the previous
    report's files: an edited old report cannot put words into a new one. Generations and flags are
    compared by `diff`'s engine, so `diff` of the two quarters' folders says the same.
    """
    previous = quarter.previous()
    previous_end = previous.last_day.isoformat()
    try:
        before = to_json(findings_from_path(history_root, previous_end, require_verified=require_verified))
    except NothingToAnalyse:
        before = {}  # the first quarter with data: everything is new
    after = to_json(findings)
    changes = compare(before, after)
    history = findings.analysis.history
    per_generation = answers_per_generation(history, previous_end)
    earlier = {flag_key(f) for f in before.get("flags", [])}

    def listed(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{key: f[key] for key in ("rule", "severity", "metric", "generations", "message")} for f in flags]

    return {
        "previous": str(previous),
        "previous_as_of": previous_end,
        "source": f"computed from the history as of {previous_end}",
        "new_generations": [
            {"generation": g["generation"], "release_date": g["release_date"], "label": g["label"]}
            for g in changes["generations"]["added"]
        ],
        "new_answers": [{"generation": name, "answers": count} for name, count in per_generation.items()],
        "new_events": [
            {"date": e.date, "kind": e.kind, "generation": e.generation, "metric": e.metric, "description": e.description}
            for e in history.events if e.date > previous_end
        ],
        "flags_new": listed(changes["flags"]["opened"]),
        "flags_resolved": listed(changes["flags"]["closed"]),
        "flags_unchanged": listed([f for f in after["flags"] if flag_key(f) in earlier]),
    }


def _command(quarter: Quarter, history_root: Path, out: Path, today_option: str | None) -> str:
    # Names only, never absolute paths: the manifest must read the same on any machine. A --today
    # is part of what was run: without it the command would name another day's report.
    today = f" --today {today_option}" if today_option else ""
    return f"welfare-report --history {history_root.name} quarterly {quarter} --out {out.name}{today}"


def _recorded_run_options(target: Path, today_option: str | None) -> dict[str, Any]:
    """`--today` and `--force` as the existing report recorded them, so that a plain re-run finds it unchanged.

    They change nothing in the report but its record of how it was run; a cron job that runs without
    them after someone back-filled with `--today` or replaced with `--force` must not see a different report.
    """
    try:
        options = json.loads((target / "findings.json").read_text("utf-8"))["options"]
        return {"today": options["today"], "force": options["force"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {"today": today_option, "force": False}


def quarterly(
    history_root: Path, quarter_text: str | None, out: Path, today: dt.date, force: bool = False,
    progress: Callable[[str], None] = lambda message: None, today_option: str | None = None,
    sign_key: Path | None = None,
) -> QuarterlyResult:
    """The quarter's report into `out/YYYY-QN/`, written whole under a lock of its own."""
    quarter = Quarter.parse(quarter_text) if quarter_text else last_completed(today)
    if not quarter.ended_by(today):
        raise ReporterError(
            f"{quarter} has not ended yet: it ends on {quarter.last_day.isoformat()} and today is {today.isoformat()}"
        )
    as_of = quarter.last_day.isoformat()
    target = out / str(quarter)
    # One quarterly run at a time per reports folder: a second waits, then finds the report unchanged.
    with folder_lock(out):
        progress(f"analysing the history as of {as_of}")
        findings = findings_from_path(history_root, as_of, with_excerpts=True)
        since = since_previous(history_root, findings, quarter) if quarter.has_previous else None
        recorded = {"today": today_option, "force": force} if force else _recorded_run_options(target, today_option)
        options = report_options(f"Model welfare, {quarter}", DEFAULT_FORMATS, None, quarter=str(quarter), **recorded)
        outputs = render_outputs(replace(findings, options=options), since=since, progress=progress)
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "quarter": str(quarter),
            "as_of": as_of,
            "tool_version": __version__,
            "ruleset": findings.ruleset,
            "command": _command(quarter, history_root, out, options.get("today")),
            "inputs": list(findings.inputs),
            "outputs": {name: sha256_bytes(data) for name, data in sorted(outputs.items())},
            "since": {key: len(value) if isinstance(value, list) else value for key, value in (since or {}).items()},
        }
        outputs[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
        if sign_key is not None:
            outputs[SIGNATURE] = sign(outputs[MANIFEST], sign_key)
        return _install(outputs, target, quarter, force)


def _install(outputs: dict[str, bytes], target: Path, quarter: Quarter, force: bool) -> QuarterlyResult:
    """Put the finished report in place in one step; never replace a different one silently."""
    if not os.path.lexists(target):
        write_folder(target, outputs)
        return QuarterlyResult(quarter, target, "written")
    check_replaceable(target, set(outputs))
    differing = sorted(
        name for name, data in outputs.items()
        if not (target / name).is_file() or (target / name).read_bytes() != data
    )
    if not differing:
        return QuarterlyResult(quarter, target, "unchanged")
    if not force:
        raise ReporterError(
            f"{target} already holds a different report for {quarter} ({', '.join(differing)} differ, "
            "so the history or the tool changed since it was written); pass --force to replace it"
        )
    write_folder(target, outputs)
    return QuarterlyResult(quarter, target, "replaced")

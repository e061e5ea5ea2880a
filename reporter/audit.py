"""`verify REPORT_DIR`: does a report still match the history it was drawn from?

The report's findings record, for each store file, the SHA-256 and count of
the rows it used (dated on or before its as-of date). Those digests and the
findings are recomputed from the history now; data added later with later
dates leaves an old report valid, and any change to what it saw is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ReporterError
from .findings import Findings, dumps
from .pipeline import findings_of
from .store import Store
from .store.files import sha256_bytes


def _read_json(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed document and its exact text."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise ReporterError(f"{path} does not exist; is {path.parent} a report folder?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReporterError(f"{path}: not a findings JSON file ({err})") from None
    if not isinstance(data, dict):
        raise ReporterError(f"{path}: not a findings JSON file")
    return data, text


def verify_report(store: Store, report_dir: Path) -> list[str]:
    """Every difference between a report and a recomputation from the history, as messages."""
    report, recorded_text = _read_json(report_dir / "findings.json")
    as_of = report.get("as_of")
    if not isinstance(as_of, str):
        raise ReporterError(f"{report_dir / 'findings.json'}: no as_of date")
    recomputed = findings_of(store, as_of)
    problems = _input_differences(report.get("inputs", []), list(recomputed.inputs), as_of)
    problems += _findings_differences(report, recorded_text, recomputed)
    problems += _output_differences(report_dir)
    return problems


def _input_differences(recorded: list[dict[str, Any]], inputs: list[dict[str, Any]], as_of: str) -> list[str]:
    problems = []
    then = {i["path"]: i for i in recorded}
    now = {i["path"]: i for i in inputs}
    for path in sorted(set(then) | set(now)):
        if path not in now:
            problems.append(f"{path}: the report used {then[path]['rows']} rows; the history now has none dated on or before {as_of}")
        elif path not in then:
            problems.append(f"{path}: {now[path]['rows']} rows dated on or before {as_of} that the report did not use")
        elif then[path]["sha256"] != now[path]["sha256"]:
            problems.append(
                f"{path}: the rows dated on or before {as_of} differ from those the report used "
                f"({then[path]['rows']} rows then, {now[path]['rows']} now)"
            )
    return problems


def _findings_differences(report: dict[str, Any], recorded_text: str, recomputed: Findings) -> list[str]:
    if dumps(recomputed) == recorded_text:
        return []
    keys_then = {(f["rule"], f["metric"], tuple(f["generations"])) for f in report.get("flags", [])}
    keys_now = {(f.rule, f.metric, tuple(f.generations)) for f in recomputed.flags}
    detail = [f"{r} {m or ''} {'/'.join(g)} (only in the report)" for r, m, g in sorted(keys_then - keys_now, key=str)]
    detail += [f"{r} {m or ''} {'/'.join(g)} (only now)" for r, m, g in sorted(keys_now - keys_then, key=str)]
    if report.get("ruleset") != recomputed.ruleset:
        detail.append(f"rule set {report.get('ruleset')} in the report, {recomputed.ruleset} now")
    return ["findings.json: differs from the findings recomputed from the history" + (": " + "; ".join(detail) if detail else "")]


def _output_differences(report_dir: Path) -> list[str]:
    """Output files against a quarterly folder's manifest of their hashes."""
    manifest = report_dir / "manifest.json"
    if not manifest.is_file():
        return []
    problems = []
    for name, digest in sorted(_read_json(manifest)[0].get("outputs", {}).items()):
        path = report_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing from {report_dir}")
        elif sha256_bytes(path.read_bytes()) != digest:
            problems.append(f"{name}: changed since the report was written")
    return problems

"""`verify REPORT_DIR`: does a report still match the history it was drawn from?

Three steps, as the contract states:
1. the chain head the report recorded must be a head of the history's merge
   log (the history grew; it was not rewritten);
2. the rows the report used (dated on or before its as-of date) must still
   match their digests, so later data with later dates leaves it valid;
3. a report made by this tool and rule-set version is rendered again from
   the history with the options it recorded, and its text outputs are
   compared byte for byte, its PDF by attached findings, text and structure.
An edited output is named whether or not a quarterly manifest was edited too.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ReporterError
from .findings import EARLIER_SCHEMAS, SCHEMA, Findings, dumps
from .pipeline import findings_from_store
from .rules import RULESET_VERSION
from .store import Store
from .store.files import sha256_bytes


@dataclass(frozen=True)
class ReportCheck:
    """What checking one report folder found: mismatches, and remarks that are not."""

    problems: list[str]
    remarks: list[str]  # what was not checked, and why


def _read_json(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed document and its exact text."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise ReporterError(f"{path} does not exist; is {path.parent} a report folder?") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ReporterError(f"{path}: not a findings JSON file ({err})") from None
    if not isinstance(data, dict):
        raise ReporterError(f"{path}: not a findings JSON file")
    return data, text


def verify_report(store: Store, report_dir: Path) -> ReportCheck:
    """Every difference between a report and the history it claims to be drawn from."""
    report, recorded_text = _read_json(report_dir / "findings.json")
    as_of = report.get("as_of")
    if not isinstance(as_of, str):
        raise ReporterError(f"{report_dir / 'findings.json'}: no as_of date")
    remarks: list[str] = []
    with store.locked():
        heads = store.manifest().heads()
    problems = _chain_problems(report, heads, remarks)
    recomputed = findings_from_store(store, as_of, require_verified=False)
    problems += _input_differences(report.get("inputs", []), list(recomputed.inputs), as_of)
    problems += _corrections_since(report, recomputed)
    if report.get("schema") in EARLIER_SCHEMAS:
        remarks.append(f"made with findings schema {report.get('schema')}: its digests were checked, "
                       "its outputs were not rendered again")
    elif (report.get("tool_version"), report.get("ruleset"), report.get("schema")) != (__version__, RULESET_VERSION, SCHEMA):
        remarks.append(f"made by welfare-report {report.get('tool_version')} with rule set {report.get('ruleset')}: "
                       "its outputs were not rendered again")
        problems += _findings_differences(report, recorded_text, recomputed)
    else:
        problems += _findings_differences(report, recorded_text, recomputed)
        problems += _rendered_again_differences(store, report_dir, report)
    problems += _output_differences(report_dir)
    return ReportCheck(problems, remarks)


def _chain_problems(report: dict[str, Any], heads: list[str], remarks: list[str]) -> list[str]:
    head = report.get("chain_head")
    if report.get("schema") in EARLIER_SCHEMAS or head is None:
        remarks.append("the report records no chain head: it was made before the merge log was a hash chain")
        return []
    if head not in heads:
        return [f"findings.json: the chain head {head} it was drawn from is not in this history's merge log "
                "(the history was rewritten, not grown)"]
    return []


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


def _corrections_since(report: dict[str, Any], recomputed: Findings) -> list[str]:
    """Corrections the report did not know of that touch rows it used: each named, with who made it and why."""
    known = {(c.get("generation"), c.get("metric"), c.get("key"), c.get("action")) for c in report.get("corrections", [])}
    as_of = report["as_of"]
    problems = []
    for c in recomputed.analysis.history.corrections:
        touched = [r for r in c.rows if r.role == "superseded" and r.collected_on <= as_of]
        if touched and (c.generation, c.metric, c.key, c.action) not in known:
            problems.append(
                f"observations/{c.generation}.csv: {c.by} made a correction on {c.date} because: {c.reason}; "
                f"it changed {len(touched)} {'row' if len(touched) == 1 else 'rows'} the report used "
                f"({c.action} of {c.metric} key {c.key})")
    return problems


def _findings_differences(report: dict[str, Any], recorded_text: str, recomputed: Findings) -> list[str]:
    # Step 1 checked the recorded head against the chain; the rest must match as recorded.
    recomputed = replace(recomputed, options=report.get("options") or {}, chain_head=report.get("chain_head"))
    if dumps(recomputed) == recorded_text:
        return []
    keys_then = {(f["rule"], f["metric"], tuple(f["generations"])) for f in report.get("flags", [])}
    keys_now = {(f.rule, f.metric, tuple(f.generations)) for f in recomputed.raised}
    detail = [f"{r} {m or ''} {'/'.join(g)} (only in the report)" for r, m, g in sorted(keys_then - keys_now, key=str)]
    detail += [f"{r} {m or ''} {'/'.join(g)} (only now)" for r, m, g in sorted(keys_now - keys_then, key=str)]
    if report.get("ruleset") != recomputed.ruleset:
        detail.append(f"rule set {report.get('ruleset')} in the report, {recomputed.ruleset} now")
    return ["findings.json: differs from the findings recomputed from the history" + (": " + "; ".join(detail) if detail else "")]


def _rendered_again_differences(store: Store, report_dir: Path, report: dict[str, Any]) -> list[str]:
    """Render the report again with the options it recorded and name every output that differs."""
    from .periods import Quarter
    from .quarterly import since_previous
    from .render import render_outputs
    from .schema import NOTES_COPY

    options = report.get("options") or {}
    if not isinstance(options.get("formats"), list) or not isinstance(options.get("title"), str):
        return ["findings.json: its options record is incomplete, so the report cannot be rendered again"]
    notes = None
    if options.get("notes_sha256"):
        copy = report_dir / NOTES_COPY
        if not copy.is_file() or sha256_bytes(copy.read_bytes()) != options["notes_sha256"]:
            return [f"{NOTES_COPY}: missing or changed, so the report cannot be rendered again with its notes"]
        notes = copy.read_text("utf-8")
    findings = replace(findings_from_store(store, report["as_of"], with_excerpts=True, require_verified=False), options=options,
                       chain_head=report.get("chain_head"))
    quarter = Quarter.parse(options["quarter"]) if options.get("quarter") else None
    since = (since_previous(store.root, findings, quarter, require_verified=False)
             if quarter is not None and quarter.has_previous else None)
    problems = []
    for name, data in render_outputs(findings, notes, since).items():
        path = report_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing from {report_dir}")
        elif name.endswith(".pdf"):
            problems += _pdf_differences(path.read_bytes(), data, name)
        elif path.read_bytes() != data:
            problems.append(f"{name}: differs from the report rendered again from the history")
    return problems


def _pdf_differences(recorded: bytes, fresh: bytes, name: str) -> list[str]:
    """A PDF's bytes depend on the machine's fonts; where they differ, compare what it says and how it is built."""
    if recorded == fresh:
        return []
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        old = PdfReader(io.BytesIO(recorded))
        old_text = [page.extract_text() for page in old.pages]
    except (PyPdfError, ValueError, KeyError) as err:
        return [f"{name}: not a readable PDF ({err})"]
    new = PdfReader(io.BytesIO(fresh))
    problems = []
    if old.attachments.get("findings.json") != new.attachments.get("findings.json"):
        problems.append(f"{name}: its attached findings differ from the findings rendered again")
    if old_text != [page.extract_text() for page in new.pages]:
        problems.append(f"{name}: its text differs from the report rendered again")
    if dict(old.metadata or {}) != dict(new.metadata or {}):
        problems.append(f"{name}: its document information (title, dates) differs from the report rendered again")
    if _structure(old) != _structure(new):
        problems.append(f"{name}: its tagged structure differs from the report rendered again")
    return problems


def _structure(reader: Any) -> list[str]:
    """The kinds of the PDF's structure elements, in document order."""
    kinds: list[str] = []

    def walk(node: Any, depth: int) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, dict):
            if "/S" in node:
                kinds.append(str(node["/S"]))
            if depth < 60 and "/K" in node:
                walk(node["/K"], depth + 1)
        elif isinstance(node, list):
            for child in node:
                walk(child, depth + 1)

    root = reader.trailer["/Root"]
    if "/StructTreeRoot" in root:
        walk(root["/StructTreeRoot"], 0)
    return kinds


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


@dataclass(frozen=True)
class Audit:
    """What `verify` found: every problem (a mismatch), remarks, and the chain head it checked against."""

    problems: list[str]
    remarks: list[str]
    head: str | None


def audit(store: Store, report_dir: Path | None = None, expect_head: str | None = None,
          allowed_signers: Path | None = None) -> Audit:
    """The history against its manifest and hash chain; with `report_dir`, that report against the history."""
    with store.locked():
        checked = store.verification()
    problems = list(checked.problems)
    if expect_head is not None and expect_head.lower() not in checked.heads:
        problems.append(f"the chain head {expect_head} is not in this history's merge log (the log was rewritten)")
    remarks: list[str] = []
    if report_dir is not None:
        report = verify_report(store, report_dir)
        problems += report.problems
        remarks += report.remarks
        if allowed_signers is not None:
            from .signatures import SIGNATURE, signature_problems

            manifest = report_dir / "manifest.json"
            data = manifest.read_bytes() if manifest.is_file() else b""
            problems += signature_problems(data, report_dir / SIGNATURE, allowed_signers)
    elif allowed_signers is not None:
        raise ReporterError("--allowed-signers checks a report's signature: name the REPORT_DIR too")
    return Audit(problems, remarks, checked.head)

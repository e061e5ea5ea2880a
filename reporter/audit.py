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

import hashlib
import io
import json
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .diff import FINDINGS_SCHEMAS, Chain, Record, compare
from .errors import ReporterError, escaped
from .findings import EARLIER_SCHEMAS, SCHEMA, Findings, dumps
from .formats import FORMATS
from .notes import check_embedded_images
from .pipeline import findings_from_store
from .publish import CHART_FOLDERS, MARKER
from .rendering import option_problems
from .rules import RULESET_VERSION, lint_notes
from .schema import NOTES_COPY
from .signatures import SIGNATURE
from .store import Store
from .store.files import sha256_bytes


@dataclass(frozen=True)
class ReportCheck:
    """What checking one report folder found: mismatches, and remarks that are not."""

    problems: list[str]
    remarks: list[str]  # what was not checked, and why


# Larger than any output this tool writes for a programme's history, small enough to read safely.
REPORT_FILE_MAX = 256 << 20
MANIFEST = "manifest.json"  # a quarterly folder's list of its outputs and their hashes
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
# The outputs a quarterly manifest may name: files of the formats a quarterly report writes.
OUTPUT_FILES = frozenset({NOTES_COPY, *(name for f in FORMATS.values() for name in f.files if "." in name)})


def read_report_file(report_dir: Path, name: str) -> bytes | None:
    """A report file read like a store file: regular, not through a symlink, never waiting, size-capped.

    None when it does not exist; a FIFO, device, folder, symlink or oversized file is refused whole.
    """
    path = report_dir / name
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ReporterError(f"{path}: refused: not a regular file ({os.strerror(err.errno or 0).lower()})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ReporterError(f"{path}: refused: not a regular file (a folder, FIFO or device)")
        if info.st_size > REPORT_FILE_MAX:
            raise ReporterError(f"{path}: refused: too large ({info.st_size:,} bytes; a report file holds at most "
                                f"{REPORT_FILE_MAX >> 20} MiB)")
        data = handle.read(REPORT_FILE_MAX + 1)
    if len(data) > REPORT_FILE_MAX:
        raise ReporterError(f"{path}: refused: too large (a report file holds at most {REPORT_FILE_MAX >> 20} MiB)")
    return data


def _read_json(report_dir: Path, name: str) -> tuple[dict[str, Any], str]:
    """The parsed document and its exact text."""
    path = report_dir / name
    data = read_report_file(report_dir, name)
    if data is None:
        raise ReporterError(f"{path} does not exist; is {report_dir} a report folder?")
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ReporterError(f"{path}: not a JSON file ({err})") from None
    if not isinstance(document, dict):
        raise ReporterError(f"{path}: not a JSON object")
    return document, text


def report_listing(report_dir: Path) -> tuple[set[str], list[str]]:
    """Every file of a report folder (chart files as folder/name), and entries no report holds."""
    files: set[str] = set()
    refused: list[str] = []
    for entry in sorted(os.scandir(report_dir), key=lambda e: e.name):
        if entry.is_file(follow_symlinks=False):
            files.add(entry.name)
        elif entry.name in CHART_FOLDERS and entry.is_dir(follow_symlinks=False):
            for inner in sorted(os.scandir(entry.path), key=lambda e: e.name):
                name = f"{entry.name}/{inner.name}"
                (files.add(name) if inner.is_file(follow_symlinks=False) else refused.append(name))
        else:
            refused.append(entry.name)
    return files, [f"{escaped(name)}: not a regular file or a chart folder; no report holds it" for name in refused]


def _known_files(report_dir: Path, expected: set[str]) -> list[str]:
    """Every file present that is not expected, and every expected file missing, named."""
    present, problems = report_listing(report_dir)
    problems += [f"{escaped(name)}: not an output of this report" for name in sorted(present - expected - {MARKER})]
    problems += [f"{name}: missing from {report_dir}" for name in sorted(expected - present)]
    return problems


def verify_report(store: Store, report_dir: Path, allowed_signers: Path | None = None,
                  data_only: bool = False) -> ReportCheck:
    """Every difference between a report and the history it claims to be drawn from.

    Nothing the folder says about itself is trusted: recorded options pass the command line's checks
    and kept notes the notes lint before anything is rendered; every file in the folder must be an
    output that was rendered again and matched (or, for a signed quarterly report of another
    version, matched its signed manifest); otherwise the outputs are reported as not checked.
    """
    report, recorded_text = _read_json(report_dir, "findings.json")
    as_of = report.get("as_of")
    if not isinstance(as_of, str) or not _DAY.match(as_of):
        raise ReporterError(f"{report_dir / 'findings.json'}: no as_of date")
    current = (report.get("tool_version"), report.get("ruleset"), report.get("schema")) == (
        __version__, RULESET_VERSION, SCHEMA)
    notes, unusable = _checked_notes(report_dir, report) if current and not data_only else (None, [])
    remarks: list[str] = []
    with store.locked():
        heads = store.manifest().heads()
    problems = _chain_problems(report, heads, remarks)
    recomputed = findings_from_store(store, as_of, require_verified=False)
    problems += _input_differences(report.get("inputs", []), list(recomputed.inputs), as_of)
    problems += _corrections_since(report, recomputed)
    signature = _signature_problems(report_dir, allowed_signers) if allowed_signers is not None else None
    if data_only:
        remarks.append("--data-only: the chain and the data digests were checked; the outputs were not checked")
    elif current and unusable:
        problems += unusable + _findings_differences(report, recorded_text, recomputed)
    elif current:
        problems += _findings_differences(report, recorded_text, recomputed)
        problems += _rendered_again_differences(store, report_dir, report, notes)
        problems += _output_differences(report_dir)
    elif signature == []:
        # Another version's outputs cannot be drawn again here; a valid signature vouches for its manifest.
        outputs = _manifest_outputs(report_dir)
        problems += _output_differences(report_dir)
        problems += _known_files(report_dir, set(outputs) | {MANIFEST, SIGNATURE})
        remarks.append("made by another version: its outputs were checked against its signed manifest, "
                       "not rendered again")
    else:
        made = (f"made with findings schema {report.get('schema')}" if report.get("schema") != SCHEMA
                else f"made by welfare-report {report.get('tool_version')} with rule set {report.get('ruleset')}")
        problems.append(f"outputs not checked: {made}, so they cannot be rendered again by welfare-report "
                        f"{__version__}; 'verify --data-only' checks its chain and data digests alone")
    problems += signature or []
    return ReportCheck(problems, remarks)


def _checked_notes(report_dir: Path, report: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The kept notes, once the recorded options and the notes pass the checks render would make.

    A kept copy that is missing or changed is a mismatch (the report cannot be rendered again);
    options or notes nobody could have rendered are refused before anything is.
    """
    options = report.get("options")
    if not isinstance(options, dict):
        raise ReporterError(f"{report_dir / 'findings.json'}: its options record is missing, so the report "
                            "cannot be rendered again")
    refused = option_problems(options)
    if refused:
        raise ReporterError(f"{report_dir / 'findings.json'}: its recorded options are refused before anything is "
                            "rendered: " + "; ".join(refused))
    if not options.get("notes_sha256"):
        return None, []
    data = read_report_file(report_dir, NOTES_COPY)
    if data is None or sha256_bytes(data) != options["notes_sha256"]:
        return None, [f"{NOTES_COPY}: missing or changed, so the report cannot be rendered again with its notes"]
    try:
        notes = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReporterError(f"{NOTES_COPY}: not UTF-8 text") from None
    check_embedded_images(notes, NOTES_COPY)
    offending = lint_notes(notes)
    if offending:
        raise ReporterError(f"{NOTES_COPY}: refused before anything is rendered: it uses target, optimisation or "
                            f"ranking language (WR001), e.g. the word {offending[0].word!r}")
    return notes, []


def _signature_problems(report_dir: Path, allowed_signers: Path) -> list[str]:
    from .signatures import signature_problems

    data = read_report_file(report_dir, MANIFEST) or b""
    return signature_problems(data, report_dir / SIGNATURE, allowed_signers)


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


def _rendered_again_differences(store: Store, report_dir: Path, report: dict[str, Any], notes: str | None) -> list[str]:
    """Render the report again with the options it recorded and name every output that differs.

    Every file of the folder is held against what was rendered: one it does not hold is named, and
    so is one the folder has that no render of these options writes.
    """
    from .periods import Quarter
    from .quarterly import since_previous
    from .rendering import render_outputs

    options = report["options"]
    findings = replace(findings_from_store(store, report["as_of"], with_excerpts=True, require_verified=False),
                       options=options, chain_head=report.get("chain_head"))
    quarter = Quarter.parse(options["quarter"]) if options.get("quarter") else None
    since = (since_previous(store.root, findings, quarter, require_verified=False)
             if quarter is not None and quarter.has_previous else None)
    rendered = render_outputs(findings, notes, since)
    present, _ = report_listing(report_dir)
    # A quarterly folder holds its manifest, and its signature when it was signed.
    kept = {MANIFEST} | ({SIGNATURE} & present) if quarter is not None else set()
    problems = _known_files(report_dir, set(rendered) | kept)
    for name, data in rendered.items():
        recorded = read_report_file(report_dir, name) if name in present else None
        if recorded is None:
            continue  # named as missing above
        if name.endswith(".pdf"):
            problems += _pdf_differences(recorded, data, name)
        elif recorded != data:
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
    tables = sorted(n for n in {*old.attachments, *new.attachments} - {"findings.json"}
                    if old.attachments.get(n) != new.attachments.get(n))
    if tables:
        problems.append(f"{name}: its attached tables differ from the tables rendered again ({', '.join(tables[:5])})")
    if old_text != [page.extract_text() for page in new.pages]:
        problems.append(f"{name}: its text differs from the report rendered again")
    if dict(old.metadata or {}) != dict(new.metadata or {}):
        problems.append(f"{name}: its document information (title, dates) differs from the report rendered again")
    if _structure(old) != _structure(new):
        problems.append(f"{name}: its tagged structure differs from the report rendered again")
    if _image_digests(old) != _image_digests(new):
        problems.append(f"{name}: its images differ from the charts rendered again")
    if _active_content(old) != _active_content(new):
        problems.append(f"{name}: holds actions, JavaScript or links the tool never writes; refused")
    return problems


def _image_digests(reader: Any) -> list[list[str]]:
    """Per page, the SHA-256 of every image stream as stored: a swapped chart cannot hide behind equal text."""
    pages = []
    for page in reader.pages:
        found: list[str] = []
        resources: Any = page.get("/Resources")
        resources = resources.get_object() if resources is not None else {}
        xobjects = resources.get("/XObject")
        _collect_images(xobjects.get_object() if xobjects is not None else {}, found, 0)
        pages.append(sorted(found))
    return pages


def _collect_images(xobjects: Any, found: list[str], depth: int) -> None:
    for key in sorted(xobjects):
        item = xobjects[key].get_object()
        if item.get("/Subtype") == "/Image":
            found.append(hashlib.sha256(item.get_data() if hasattr(item, "get_data") else b"").hexdigest())
        elif item.get("/Subtype") == "/Form" and depth < 8:
            inner = (item.get("/Resources") or {}).get("/XObject")
            if inner is not None:
                _collect_images(inner.get_object(), found, depth + 1)


# What a PDF may do beyond showing itself; the tool writes none of it but its own http(s) links.
_ACTION_KEYS = ("/OpenAction", "/AA", "/JavaScript", "/URI", "/Launch")


def _active_content(reader: Any) -> list[str]:
    """Document actions, JavaScript and every annotation with what it does, in document order."""
    root = reader.trailer["/Root"]
    found = [key for key in ("/OpenAction", "/AA") if key in root]
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        found.append("/Names/JavaScript")
    for number, page in enumerate(reader.pages):
        if "/AA" in page:
            found.append(f"page {number + 1}: /AA")
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            action = action.get_object() if action is not None else {}
            found.append(f"page {number + 1}: {annotation.get('/Subtype')} {action.get('/S')} {action.get('/URI')} "
                         f"{list(annotation.get('/Rect') or [])}")
    return found


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


def _manifest_outputs(report_dir: Path) -> dict[str, str]:
    """A quarterly folder's recorded outputs (name -> SHA-256); only names a report holds are accepted."""
    if read_report_file(report_dir, MANIFEST) is None:
        return {}
    outputs = _read_json(report_dir, MANIFEST)[0].get("outputs", {})
    if not isinstance(outputs, dict):
        raise ReporterError(f"{report_dir / MANIFEST}: its outputs are not a list of names and hashes")
    for name, digest in outputs.items():
        if name not in OUTPUT_FILES or not isinstance(digest, str):
            raise ReporterError(f"{report_dir / MANIFEST}: names {escaped(str(name))!r}, which is not an output of "
                                "a report; refused")
    return outputs


def _output_differences(report_dir: Path) -> list[str]:
    """Output files against a quarterly folder's manifest of their hashes."""
    problems = []
    for name, digest in sorted(_manifest_outputs(report_dir).items()):
        data = read_report_file(report_dir, name)
        if data is None:
            problems.append(f"{name}: missing from {report_dir}")
        elif sha256_bytes(data) != digest:
            problems.append(f"{name}: changed since the report was written")
    return problems


@dataclass(frozen=True)
class Audit:
    """What `verify` found: every problem (a mismatch), remarks, and the chain head it checked against."""

    problems: list[str]
    remarks: list[str]
    head: str | None


def audit(store: Store, report_dir: Path | None = None, expect_head: str | None = None,
          allowed_signers: Path | None = None, data_only: bool = False) -> Audit:
    """The history against its manifest and hash chain; with `report_dir`, that report against the history."""
    with store.locked():
        checked = store.verification()
    problems = list(checked.problems)
    if expect_head is not None and expect_head.lower() not in checked.heads:
        problems.append(f"the chain head {expect_head} is not in this history's merge log (the log was rewritten)")
    remarks: list[str] = []
    if report_dir is not None:
        report = verify_report(store, report_dir, allowed_signers, data_only)
        problems += report.problems
        remarks += report.remarks
    elif allowed_signers is not None or data_only:
        raise ReporterError("--allowed-signers and --data-only check a report: name the REPORT_DIR too")
    return Audit(problems, remarks, checked.head)


# -- diff OLD NEW ---------------------------------------------------------------------------------

def read_report(folder: Path) -> Record:
    """A report folder's findings, once its own manifest (a quarterly folder has one) vouches for every file."""
    edited = _output_differences(folder)
    if edited:
        raise ReporterError(f"{folder}: {edited[0]}; its manifest.json no longer matches it, so it is refused")
    document, _ = _read_json(folder, "findings.json")
    if document.get("schema") not in FINDINGS_SCHEMAS:
        raise ReporterError(f"{folder / 'findings.json'}: not a findings file of a schema diff reads "
                            f"({', '.join(FINDINGS_SCHEMAS)})")
    return document


def chain_of(history: Path) -> Chain:
    """The merge log's heads of a history, read under its lock."""
    store = Store(history)
    with store.locked():
        return Chain(tuple(store.manifest().heads()))


def diff_folders(old: Path, new: Path, history: Path | None = None) -> Record:
    """`diff OLD NEW [--history H]` as a document."""
    chain = chain_of(history) if history is not None else None
    return compare(read_report(old), read_report(new), chain, (str(old), str(new)))

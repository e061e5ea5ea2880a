"""`from-inspect`: Inspect AI evaluation logs as an observations file.

Welfare interviews run as Inspect tasks leave `.eval` or `.json` logs. This
module reads them with inspect_ai's own `read_eval_log` (never by parsing
the format) and writes one observations CSV, which then goes through
`validate` and `merge` like any other input: the importer never touches the
store. inspect_ai is an optional extra (`pip install welfare-report[inspect]`);
nothing else imports it.

Mapping, per sample and epoch:
- `score`: the value of the chosen scorer (`--scorer`, needed when a log has
  several), which must be a number;
- `response_id`: sample id and epoch (`q1#2`);
- `collected_on`: the date the evaluation was created (UTC);
- `generation`: `--generation`, else the evaluated model looked up in
  `--generation-map` (a CSV of `model,generation`);
- `metric`, `topic`, `framing`, `prompt_variant`, `system_prompt`,
  `interview_id`, `redirected`, `declined`, `tags`: sample metadata keys of
  those names (`--metric` when the metadata has none); other keys are
  ignored and counted in one summary line;
- `excerpt`: the model's answer, cut to the field limit;
- `instrument`: task name and version, scorer, and grader model where the
  log names one, so a change of protocol shows in WR008.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from .errors import ReporterError, shown

INSTALL_HINT = "reading Inspect logs needs inspect_ai: pip install 'welfare-report[inspect]'"
METADATA_COLUMNS = ("metric", "topic", "framing", "prompt_variant", "system_prompt", "interview_id", "redirected",
                    "declined", "tags")
COLUMNS = ("generation", "metric", "collected_on", "score", "response_id", "interview_id", "instrument", "framing",
           "topic", "prompt_variant", "system_prompt", "redirected", "declined", "tags", "excerpt", "source")
UNREAD_FIELDS = {"events", "messages", "attachments", "store"}
# The excerpt is cut so its cell stays under the field limit (UTF-8 takes up to 4 bytes a character).
EXCERPT_CHARACTERS = schema.FIELD_MAX_BYTES // 4 - 1


# A log is JSON, zipped (.eval) or not (.json). What it may expand to is capped before inspect_ai
# reads it: a tiny archive can declare gigabytes, and parsing them would take the machine for minutes.
LOG_EXPANDED_MAX = 2 << 30  # bytes of JSON in one log, over all its members
# JSON compresses well, but real logs stay far under this; a bomb is far over it.
LOG_RATIO_MAX = 200


class InspectError(ReporterError):
    """A log the importer cannot turn into observations; nothing was written."""


def check_expansion(path: Path) -> None:
    """Refuse a log whose members declare more than the caps allow, before anything decompresses them.

    Python's zip reader stops each member at its declared size, so the declared sizes bound the work.
    """
    import zipfile

    if not zipfile.is_zipfile(path):
        if path.stat().st_size > LOG_EXPANDED_MAX:
            raise InspectError(f"{path}: refused: larger than {LOG_EXPANDED_MAX >> 30} GiB")
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise InspectError(f"{path}: not an Inspect evaluation log ({_first_line(str(err))})") from None
    expanded = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if expanded > LOG_EXPANDED_MAX or expanded > LOG_RATIO_MAX * max(packed, 1) + (1 << 20):
        raise InspectError(f"{path}: refused: its members expand to {expanded:,} bytes from {packed:,} "
                           f"(at most {LOG_EXPANDED_MAX >> 30} GiB and {LOG_RATIO_MAX} times their packed size)")


@dataclass
class Imported:
    """What an import read: the rows, the samples left out by reason, and metadata keys it ignored."""

    rows: list[dict[str, str]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    ignored_keys: Counter[str] = field(default_factory=Counter)

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue().encode("utf-8")


def read_generation_map(path: Path) -> dict[str, str]:
    """`model,generation` per line, with that header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InspectError(f"{path}: cannot read the generation map ({err})") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"model", "generation"} <= set(reader.fieldnames):
        raise InspectError(f"{path}:1:1: the generation map needs the columns model,generation")
    mapping = {}
    for line, row in enumerate(reader, start=2):
        model, generation = (row.get("model") or "").strip(), (row.get("generation") or "").strip()
        if not model or not generation:
            raise InspectError(f"{path}:{line}:1: a model and a generation are both needed")
        mapping[model] = generation
    return mapping


def _inspect() -> Any:
    try:
        import inspect_ai.log
    except ImportError:
        raise InspectError(INSTALL_HINT) from None
    return inspect_ai.log


@dataclass(frozen=True)
class Options:
    """How Inspect logs map to generations, metrics and scores."""

    generation: str | None = None
    generation_map: dict[str, str] = field(default_factory=dict)
    metric: str | None = None
    scorer: str | None = None
    skip_failed: bool = False


def import_logs(paths: Iterable[Path], options: Options) -> Imported:
    """Every sample of every log as observation rows, in log order; a problem stops the import with its place."""
    paths = list(paths)
    for path in paths:  # before inspect_ai loads: a refusal costs no import
        check_expansion(path)
    log_api = _inspect()
    imported = Imported()
    for path in paths:
        try:
            # The whole log at once: reading samples one by one reopens the log for each (quadratic).
            # The transcript (events, messages) is left unread: the answer is in the output.
            log = log_api.read_eval_log(str(path), exclude_fields=UNREAD_FIELDS)
        except Exception as err:  # inspect_ai raises its own and pydantic's errors for a bad file
            raise InspectError(f"{path}: not an Inspect evaluation log "
                               f"({type(err).__name__}: {_first_line(str(err))})") from None
        if log.status != "success":
            if options.skip_failed:
                imported.skipped["log that did not finish"] += 1
                continue
            raise InspectError(f"{path}: the evaluation did not finish (status {log.status}); "
                               "rerun it, or leave it out with --skip-failed")
        _import_log(path, log, log.samples or [], options, imported)
    return imported


def _generation(path: Path, model: str, options: Options) -> str:
    if options.generation:
        return options.generation
    if model in options.generation_map:
        return options.generation_map[model]
    raise InspectError(f"{path}: the model {model!r} has no generation; give --generation, or map it in "
                       "--generation-map")


def _instrument(header: Any, scorer: str) -> str:
    task = header.eval.task
    version = header.eval.task_version
    grader = None
    roles = getattr(header.eval, "model_roles", None) or {}
    if "grader" in roles:
        grader = getattr(roles["grader"], "model", None) or str(roles["grader"])
    parts = [f"{task} v{version}", f"scorer {scorer}"] + ([f"grader {grader}"] if grader else [])
    return " · ".join(parts)


def _scorer_of(path: Path, header: Any, options: Options) -> str:
    names = [s.name for s in (header.results.scores if header.results else [])]
    if options.scorer:
        if names and options.scorer not in names:
            raise InspectError(f"{path}: no scorer {options.scorer!r}; the log has {', '.join(names)}")
        return options.scorer
    if len(names) == 1:
        return str(names[0])
    if not names:
        raise InspectError(f"{path}: the log has no scores; score it, or name the scorer with --scorer")
    raise InspectError(f"{path}: the log has several scorers ({', '.join(names)}); choose one with --scorer")


def _import_log(path: Path, header: Any, samples: Iterable[Any], options: Options, imported: Imported) -> None:
    generation = _generation(path, str(header.eval.model), options)
    scorer = _scorer_of(path, header, options)
    common = {
        "generation": generation,
        "collected_on": _date(header.eval.created),
        "instrument": _instrument(header, scorer),
        "source": f"inspect {header.eval.task} {header.eval.run_id}",
    }
    for sample in samples:
        where = f"{path}: sample {shown(str(sample.id))} (epoch {sample.epoch})"
        if sample.error is not None:
            if options.skip_failed:
                imported.skipped["failed sample"] += 1
                continue
            raise InspectError(f"{where}: the sample failed ({_first_line(sample.error.message)}); "
                               "leave failed samples out with --skip-failed")
        score = (sample.scores or {}).get(scorer)
        if score is None:
            if options.skip_failed:
                imported.skipped["unscored sample"] += 1
                continue
            raise InspectError(f"{where}: no score from {scorer!r}; leave unscored samples out with --skip-failed")
        imported.rows.append(_row(where, sample, score.value, common, options, imported.ignored_keys))


def _row(where: str, sample: Any, value: Any, common: dict[str, str], options: Options,
         ignored: Counter[str]) -> dict[str, str]:
    number = _number(value)
    if number is None:
        raise InspectError(f"{where}: the score {value!r} is not a number; choose a numeric scorer with --scorer")
    metadata = sample.metadata or {}
    row = dict(common)
    for key, cell in metadata.items():
        if key in METADATA_COLUMNS:
            row[key] = ";".join(map(str, cell)) if isinstance(cell, list | tuple) else _cell(cell)
        else:
            ignored[key] += 1
    row.setdefault("metric", options.metric or "")
    if not row["metric"]:
        raise InspectError(f"{where}: no metric in the sample's metadata; give --metric")
    row["score"] = schema.format_number(number)
    row["response_id"] = f"{sample.id}#{sample.epoch}"
    completion = sample.output.completion if sample.output is not None else ""
    row["excerpt"] = completion[:EXCERPT_CHARACTERS]
    return row


def _number(value: Any) -> float | None:
    """A score as a finite number: ints and floats, and text that reads as one ("5", as graders reply)."""
    import math

    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def counted(number: int, noun: str) -> str:
    """'1 failed sample', '2 logs that did not finish'."""
    head, _, rest = noun.partition(" that ")
    plural = head if number == 1 else head + "s"
    return f"{number:,} {plural}" + (f" that {rest}" if rest else "")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0][:200] if (text or "").strip() else "no message"


def _date(created: Any) -> str:
    """The evaluation's creation day, in UTC: Inspect records an ISO timestamp with its offset."""
    import datetime as dt

    moment = created if isinstance(created, dt.datetime) else dt.datetime.fromisoformat(str(created))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date().isoformat()


def summary_lines(imported: Imported, out: Path) -> list[str]:
    """What the command tells: rows written, samples left out by reason, metadata keys ignored."""
    lines = [f"wrote {len(imported.rows):,} observations to {out}"]
    if imported.skipped:
        lines.append("left out: " + ", ".join(counted(n, reason) for reason, n in sorted(imported.skipped.items())))
    if imported.ignored_keys:
        lines.append("ignored sample metadata keys: "
                     + ", ".join(f"{k} ({n:,} samples)" for k, n in sorted(imported.ignored_keys.items())))
    return lines



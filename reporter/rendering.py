"""`render`: the output set of the welfare section, written whole.

The findings become one `Section` (`section.py`); each format of the table in
`formats.py` lays it out; the set is computed in memory first and swapped
into its folder in one step, so a failure leaves no half-written file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import ReporterError
from .findings import Findings, dumps
from .formats import FORMATS, OUTPUT_NAMES, Job, chart_images, wanted
from .publish import check_replaceable, write_folder
from .schema import NOTES_COPY
from .section import Layout, build_section
from .typeset import load_writers

# The fragment's title heading level and the prefix of every id it holds (--heading-level, --id-prefix).
HEADING_LEVEL = 2
ID_PREFIX = "wr-"
ID_PREFIX_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}\Z")
# --section-number: the card's number for this section, so figures read "Figure 7.3".
SECTION_NUMBER_PATTERN = re.compile(r"[1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,3}\Z")
TITLE_MAX = 200  # characters: a section title, not a paragraph
HEADING_LEVELS = range(1, 5)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_QUARTER = re.compile(r"\d{4}-Q[1-4]\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def _text_problem(name: str, value: object, pattern: re.Pattern[str] | None, optional: bool, what: str) -> list[str]:
    if value is None and optional:
        return []
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        return [f"{name}: {what}"]
    return []


def option_problems(options: Mapping[str, Any]) -> list[str]:
    """Why a report's options record would not pass the command line's checks; empty when it would.

    `verify` checks a recorded record with this before it renders anything, and `render` checks
    its own, so a record nobody could have typed never reaches a template.
    """
    problems = []
    title = options.get("title")
    if not isinstance(title, str) or not 0 < len(title) <= TITLE_MAX or any(ord(c) < 32 or c == "\x7f" for c in title):
        problems.append(f"title: text of 1 to {TITLE_MAX} characters without control characters")
    formats = options.get("formats")
    if (not isinstance(formats, list) or not formats or len(set(map(str, formats))) != len(formats)
            or not all(isinstance(f, str) and f in FORMATS for f in formats)):
        problems.append(f"formats: a list of distinct formats among {', '.join(FORMATS)}")
    level = options.get("heading_level", HEADING_LEVEL)
    if not isinstance(level, int) or isinstance(level, bool) or level not in HEADING_LEVELS:
        problems.append("heading_level: a whole number from 1 to 4")
    problems += _text_problem("id_prefix", options.get("id_prefix", ID_PREFIX), ID_PREFIX_PATTERN, False,
                              "a letter, then up to 31 letters, digits, '-' or '_'")
    problems += _text_problem("section_number", options.get("section_number"), SECTION_NUMBER_PATTERN, True,
                              "a number such as 7 or 7.2")
    problems += _text_problem("notes_sha256", options.get("notes_sha256"), _SHA256, True, "a SHA-256 in hex")
    problems += _text_problem("today", options.get("today"), _DAY, True, "a date YYYY-MM-DD")
    problems += _text_problem("quarter", options.get("quarter"), _QUARTER, True, "a quarter YYYY-QN")
    if not isinstance(options.get("force", False), bool):
        problems.append("force: true or false")
    return problems


def report_options(title: str, formats: tuple[str, ...], notes: str | None, heading_level: int = HEADING_LEVEL,
                   id_prefix: str = ID_PREFIX, section_number: str | None = None, **more: Any) -> dict[str, Any]:
    """The options a report records in its findings, so that it can be rendered again exactly."""
    notes_sha256 = hashlib.sha256(notes.encode("utf-8")).hexdigest() if notes is not None else None
    return {"title": title, "formats": list(wanted(formats)), "notes_sha256": notes_sha256, "today": None, "force": False,
            "heading_level": heading_level, "id_prefix": id_prefix, "section_number": section_number} | more


def layout_options(options: Mapping[str, Any]) -> tuple[int, str, str | None]:
    """Heading level, id prefix and section number; a report made before they were options used the defaults."""
    section = options.get("section_number")
    return (int(options.get("heading_level", HEADING_LEVEL)), str(options.get("id_prefix", ID_PREFIX)),
            None if section is None else str(section))


def render_outputs(
    findings: Findings, notes: str | None = None, since: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, bytes]:
    """Every output `findings.options` asks for, computed in memory: file name -> bytes."""
    formats = wanted(findings.options["formats"])
    heading_level, id_prefix, section_number = layout_options(findings.options)
    layout = Layout(str(findings.options["title"]), id_prefix, section_number, heading_level)
    images = chart_images(formats)
    section = None
    if images:
        progress("drawing the charts")
        # While the charts are drawn elsewhere, this process loads what it needs next.
        section = build_section(findings, layout, notes, since, images,
                                meanwhile=lambda: load_writers("pdf" in formats))
    job = Job(section, dumps(findings))
    files: dict[str, bytes] = {}
    for name in formats:
        if name == "pdf":
            progress("typesetting the PDF")
        files |= FORMATS[name].write(job)
    if notes is not None:
        files[NOTES_COPY] = notes.encode("utf-8")
    return files


def render(
    findings: Findings, out: Path, formats: tuple[str, ...], title: str,
    notes: str | None = None, progress: Callable[[str], None] = lambda message: None,
    heading_level: int = HEADING_LEVEL, id_prefix: str = ID_PREFIX, section_number: str | None = None,
) -> list[Path]:
    """Render into `out` as one complete set: the folder is swapped in whole, never file by file."""
    check_replaceable(out, set(OUTPUT_NAMES))
    findings = replace(findings, options=report_options(title, formats, notes, heading_level, id_prefix,
                                                        section_number))
    problems = option_problems(findings.options)
    if problems:
        raise ReporterError("the report's options are refused: " + "; ".join(problems))
    outputs = render_outputs(findings, notes, progress=progress)
    write_folder(out, outputs)
    return [out / name for name in outputs]

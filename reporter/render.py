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
    outputs = render_outputs(findings, notes, progress=progress)
    write_folder(out, outputs)
    return [out / name for name in outputs]

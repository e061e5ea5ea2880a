"""The output formats: one literal table of format -> files it writes, chart images it needs, writer.

The CLI's `--format` choices, the decision which chart images to draw and the
names a render may write all read this table; adding a format is a row and a
writer. Writers import their engines when called, so reading the table (as
`--help` does) loads nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .schema import CHARTS_FOLDER, MARKDOWN_CHARTS, MARKDOWN_NAME, NOTES_COPY

if TYPE_CHECKING:
    from .section import Section



@dataclass(frozen=True)
class Job:
    """What a writer lays out: the section (None when no format needs one) and the findings JSON."""

    section: Section | None
    findings_json: str


@dataclass(frozen=True)
class Format:
    """One output format: the names it writes in the output folder, the chart images it needs, its writer."""

    files: tuple[str, ...]
    charts: tuple[str, ...]
    write: Callable[[Job], dict[str, bytes]]
    default: bool  # written when no --format is given


def _laid_out(job: Job) -> Section:
    assert job.section is not None, "a format with charts always gets a section"
    return job.section


def _html(job: Job) -> dict[str, bytes]:
    from .typeset import render_html

    return {"welfare-section.html": render_html(_laid_out(job), fragment=False).encode("utf-8")}


def _fragment(job: Job) -> dict[str, bytes]:
    from .typeset import render_html

    return {"welfare-section.fragment.html": render_html(_laid_out(job), fragment=True).encode("utf-8")}


def _pdf(job: Job) -> dict[str, bytes]:
    from .markdown import print_attachments
    from .typeset import render_html, render_pdf

    section = _laid_out(job)
    # The printed edition keeps each metric's compact tables; its full tables travel as attachments.
    attached = print_attachments(section)
    page = render_html(section, fragment=False, printed=True, attachments=attached)
    files = {name: data for per_metric in attached.values() for name, data in per_metric.items()}
    return {"welfare-section.pdf": render_pdf(page, job.findings_json, section.as_of, section.title, files)}


def _json(job: Job) -> dict[str, bytes]:
    return {"findings.json": job.findings_json.encode("utf-8")}


def _markdown(job: Job) -> dict[str, bytes]:
    from .markdown import markdown_files

    return markdown_files(_laid_out(job))


def _charts(job: Job) -> dict[str, bytes]:
    from .markdown import chart_files

    return chart_files(_laid_out(job))


FORMATS: dict[str, Format] = {
    "html": Format(("welfare-section.html",), ("svg",), _html, default=True),
    "fragment": Format(("welfare-section.fragment.html",), ("svg",), _fragment, default=True),
    # The PDF takes PNG charts: its engine draws them far faster than SVG.
    "pdf": Format(("welfare-section.pdf",), ("png",), _pdf, default=True),
    "json": Format(("findings.json",), (), _json, default=True),
    # On request: the section as Markdown with SVG charts beside it, and every figure as SVG, PNG and CSV.
    "markdown": Format((MARKDOWN_NAME, MARKDOWN_CHARTS), ("svg",), _markdown, default=False),
    "charts": Format((CHARTS_FOLDER,), ("svg", "png"), _charts, default=False),
}
DEFAULT_FORMATS = tuple(name for name, f in FORMATS.items() if f.default)
# Every name a render may write in its folder.
OUTPUT_NAMES = frozenset({NOTES_COPY, *(name for f in FORMATS.values() for name in f.files)})


def wanted(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The formats asked for, in the table's order; the defaults when none is."""
    return tuple(f for f in FORMATS if f in formats) or DEFAULT_FORMATS


def chart_images(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The chart images these formats need, SVG before PNG; none means no section is built."""
    needed = {image for f in formats for image in FORMATS[f].charts}
    return tuple(image for image in ("svg", "png") if image in needed)

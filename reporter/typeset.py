"""The HTML page, the HTML fragment and the PDF/A-3a: a `Section` laid out by Jinja2 and WeasyPrint.

No HTML is assembled here: the templates lay the section out (autoescape on,
undefined names an error), and filters registered once format its numbers.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from . import phrasing
from .findings import SCHEMA as FINDINGS_SCHEMA
from .findings import Findings
from .notes import notes_html, web_link
from .section import Numbering, Section, evidence_items
from .texts import shown


def _templates_dir() -> Path:
    """reporter/templates in an installed wheel; the top-level templates/ in a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


# -- templates and filters -------------------------------------------------------------


def load_writers(pdf: bool) -> None:
    """Import the template engine (and the PDF engine) ahead of use: their import time overlaps chart drawing."""
    for raster in {False, pdf}:
        environment = _environment(raster)
        for name in environment.list_templates(extensions=["html"]):
            environment.get_template(name)
    if pdf:
        import weasyprint  # noqa: F401


@functools.cache
def _environment(raster: bool = False) -> Any:
    """One template environment per kind of chart image, built once per process (templates compile once)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=phrasing.number,
        signed=phrasing.signed,
        pct=phrasing.share,
        opener=lambda text: _isolated(shown(text)),
        interval=phrasing.interval,
        p=phrasing.p_value,
        evidence=evidence_items,
        safe_link=_safe_link,
        kind=lambda k: k.replace("_", " "),
        bdi=_isolated,
        anchor=_anchor,
        printed_caption=_printed_caption,
    )
    # The PDF gets PNG charts (its engine draws them far faster than SVG) and compact tables; the HTML
    # keeps vector SVG and every table.
    env.globals["raster"] = raster
    env.globals["printed"] = raster
    env.globals["svg_markup"] = lambda chart: _markup(chart.svg)
    env.filters["base64"] = lambda data: base64.b64encode(data).decode("ascii")
    env.globals["trusted_html"] = _markup
    env.globals["notes_markup"] = lambda text, level: _markup(notes_html(text, level))
    return env


def _markup(text: str) -> Any:
    """Mark text this tool produced itself (charts, notes after markdown-it) as HTML."""
    from markupsafe import Markup

    return Markup(text)


def _isolated(text: str) -> Any:
    """Untrusted text in <bdi>: its direction cannot spill into the tool's own words around it."""
    from markupsafe import Markup

    return Markup("<bdi>{}</bdi>").format(text) if text else ""


def _safe_link(url: str) -> str | None:
    """A reference is shown as a link only when it is http(s); it is never fetched."""
    return url if web_link(url) else None


_TABLE_BELOW = re.compile(r"\s*The (comparisons )?table below holds the same figures\.")


def _printed_caption(description: str, data: str) -> str:
    """A figure's words in the printed edition, where its full table travels as an attachment."""
    words = _TABLE_BELOW.sub("", description)
    return f"{words} Its figures are in {data}, attached to this PDF." if data else words


_NOT_ANCHOR = re.compile(r"[^A-Za-z0-9_-]+")


def _anchor(key: str) -> str:
    """A finding's key as an id fragment: ids and generations are already id-safe, the separators are not."""
    return _NOT_ANCHOR.sub("-", key).strip("-")


def render_html(section: Section, fragment: bool, printed: bool = False,
                attachments: Mapping[str, Mapping[str, bytes]] | None = None) -> str:
    """The page (or fragment); `printed`: the PDF's edition, with PNG charts in place of SVG and compact
    tables, naming each metric's `attachments` (metric -> file name -> bytes) that carry the full ones."""
    env = _environment(printed)
    css = (_templates_dir() / "report.css").read_text(encoding="utf-8")
    if not fragment:
        # The as-of date is a validated YYYY-MM-DD, safe inside a CSS string.
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", section.as_of)
        css += (_templates_dir() / "print.css").read_text(encoding="utf-8").replace("AS_OF", section.as_of)
    template = env.get_template("fragment.html" if fragment else "page.html")
    generations, metrics = section.generation_labels, section.metric_labels
    # The templates read the section's fields by name, as they read every object.
    fields_by_name = {f.name: getattr(section, f.name) for f in fields(section)}
    return str(template.render(
        css=_markup(css),
        # Each output numbers its tables afresh, in the order a reader meets them.
        tables=Numbering(section.section_number, section.p),
        gen=lambda name: _isolated(generations.get(name, name)),
        mlabel=lambda name: _isolated(metrics.get(name, name)),
        transition=lambda comparison: _isolated(section.transition(comparison)),
        attachments_of=lambda metric: list((attachments or {}).get(metric, {})),
        **fields_by_name,
    ))


# -- PDF -----------------------------------------------------------------------------


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    assets = str(_templates_dir())

    class AssetsOnly(URLFetcher):  # type: ignore[misc]
        """Refuses every URL but data: URIs and the package's own template assets."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            lower = url.lower()
            if lower.startswith("data:"):
                return super().fetch(url, headers)
            if lower.startswith("file://"):
                from urllib.parse import unquote, urlparse

                path = Path(unquote(urlparse(url).path)).resolve()
                if path.is_file() and str(path).startswith(assets + os.sep):
                    return super().fetch(url, headers)
            raise ValueError(f"welfare-report does not fetch {url!r}")

    return AssetsOnly(allowed_protocols=("data", "file"), allow_redirects=False)


@contextlib.contextmanager
def _source_date(as_of: str) -> Iterator[dt.datetime]:
    """Dates inside the PDF (font subsets included) come from the as-of date."""
    moment = dt.datetime.fromisoformat(as_of).replace(tzinfo=dt.UTC)
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield moment
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def render_pdf(html: str, findings_json: str, as_of: str, title: str,
               tables: Mapping[str, bytes] | None = None) -> bytes:
    """The PDF/A-3a of a rendered page, with the findings JSON and the full `tables` (CSV) attached and
    every date the as-of date."""
    import weasyprint

    with _source_date(as_of) as moment:
        attachments = [weasyprint.Attachment(
            string=findings_json.encode("utf-8"), name="findings.json", description=f"Findings JSON ({FINDINGS_SCHEMA})",
            created=moment, modified=moment, relationship="Data",
        )] + [weasyprint.Attachment(string=data, name=name, description="A full table of the section, as CSV",
                                    created=moment, modified=moment, relationship="Data")
              for name, data in (tables or {}).items()]
        document = weasyprint.HTML(string=html, base_url=str(_templates_dir()), url_fetcher=_fetcher())
        pdf = document.write_pdf(
            pdf_variant="pdf/a-3a", attachments=attachments, pdf_identifier=title.encode("utf-8")[:32] or b"welfare",
            uncompressed_pdf=False,
        )
    assert pdf is not None
    return bytes(pdf)


def notebook_html(findings: Findings) -> str:
    """The summary and the open flags, for Jupyter: the section's own summary template, escaped, no script."""
    from .section import summary_fields

    tally = findings.tally()
    return str(_environment().get_template("notebook.html").render(
        title="Model welfare", as_of=findings.as_of, ruleset=findings.ruleset, p="wr-nb-",
        tally=(f"{phrasing.count(tally.flags, 'flag')} ({tally.acknowledged} acknowledged), "
               f"{phrasing.count(tally.notes, 'note')}, {phrasing.count(tally.errors, 'error')}"),
        open_flags=findings.open_flags(),
        # Without the rules list the summary names no section the notebook does not hold.
        **(summary_fields(findings) | {"rules": ()}),
    ))

"""`render`: the welfare section as standalone HTML, an HTML fragment, a PDF/A-3a and the findings JSON.

No HTML is assembled here: this module builds a plain context from the
findings and hands it to the Jinja2 templates (autoescape on, undefined names
an error). Every output is computed in memory first and then written
atomically, so a failure leaves no half-written file.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import __version__, schema, words
from .findings import SCHEMA as FINDINGS_SCHEMA
from .findings import Findings, acknowledgement_key, dumps
from .history import Excerpt
from .markdown import (
    CHARTS_FOLDER,
    MARKDOWN_CHARTS,
    MARKDOWN_NAME,
    chart_data,
    chart_files,
    markdown_files,
)
from .notes import notes_html, web_link
from .publish import check_replaceable, write_folder
from .rules import RULES
from .thresholds import JUMP_FRACTION, MIN_N

FORMATS = ("html", "fragment", "pdf", "json")  # written by default
# On request: the section as Markdown with SVG charts beside it, and every figure as SVG, PNG and CSV.
EXTRA_FORMATS = ("markdown", "charts")
OUTPUT_NAMES = {
    "html": "welfare-section.html",
    "fragment": "welfare-section.fragment.html",
    "pdf": "welfare-section.pdf",
    "json": "findings.json",
}
# A report folder keeps the notes it was rendered with, so `verify` can render it again.
NOTES_COPY = "welfare-section.notes.md"
EXCERPTS_PER_GROUP = 3
UNTAGGED = "untagged"
OTHER_TAGS = "other tags"


# The fragment's title heading level and the prefix of every id it holds (--heading-level, --id-prefix).
HEADING_LEVEL = 2
ID_PREFIX = "wr-"
ID_PREFIX_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}\Z")
# --section-number: the card's number for this section, so figures read "Figure 7.3".
SECTION_NUMBER_PATTERN = re.compile(r"[1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,3}\Z")


def _templates_dir() -> Path:
    """reporter/templates in an installed wheel; the top-level templates/ in a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


# -- reading what the charts and evidence need -------------------------------------------


def excerpt_groups(excerpts: list[Excerpt], generations: list[str]) -> list[dict[str, Any]]:
    """At most three excerpts per generation and tag: the author's featured ones first, then by key order.

    Identical text is shown once in the whole section, in the first group that would hold it.
    """
    grouped: dict[tuple[str, str], list[Excerpt]] = defaultdict(list)
    for e in excerpts:
        # Concern tags each have a group; any other tags share one, so an answer with
        # many tags is shown a bounded number of times.
        shown = [t for t in e.tags if t in schema.CONCERN_TAGS] or [OTHER_TAGS if e.tags else UNTAGGED]
        for tag in shown:
            grouped[(e.generation, tag)].append(e)
    order = {g: i for i, g in enumerate(generations)}
    tag_order = {t: i for i, t in enumerate((*schema.CONCERN_TAGS, OTHER_TAGS, UNTAGGED))}
    seen: set[str] = set()
    groups = []
    for (generation, tag), items in sorted(grouped.items(),
                                           key=lambda kv: (order[kv[0][0]], tag_order.get(kv[0][1], 99), kv[0][1])):
        chosen = []
        for e in sorted(items, key=lambda e: (not e.featured, e.key)):
            text = " ".join(e.text.split()).casefold()
            if text in seen:
                continue
            seen.add(text)
            chosen.append(e)
            if len(chosen) == EXCERPTS_PER_GROUP:
                break
        if chosen:
            groups.append({"generation": generation, "tag": tag, "items": chosen})
    return groups


# -- the context -------------------------------------------------------------------


def _flag_sentence(findings: Findings) -> str:
    flags = [f for f in findings.flags if f.severity == "flag"]
    open_flags = findings.open_flags()
    notes = [f for f in findings.flags if f.severity == "note"]
    errors = findings.errors()
    if not findings.flags:
        return f"As of {findings.as_of}, no rule of the fixed set found anything to flag." + _verdict_sentence(findings)
    parts = [f"{len(flags)} flag{'s' if len(flags) != 1 else ''} ({len(flags) - len(open_flags)} acknowledged)",
             f"{len(notes)} note{'s' if len(notes) != 1 else ''}"]
    if errors:
        parts.insert(0, f"{len(errors)} error{'s' if len(errors) != 1 else ''}")
    return f"As of {findings.as_of}, the fixed rule set raised " + ", ".join(parts) + "." + _verdict_sentence(findings)


def _verdict_sentence(findings: Findings) -> str:
    """How many comparisons got each verdict."""
    verdicts = [c.verdict for c in findings.analysis.comparisons]
    if not verdicts:
        return ""
    return (f" Of {len(verdicts)} comparisons, {verdicts.count('changed')} changed by at least 5% of the scale range, "
            f"{verdicts.count('stable')} were stable (no change larger than that) and "
            f"{verdicts.count('inconclusive')} were inconclusive (too few answers, or too wide an interval, to tell).")


FIGURE_KINDS = ("trend", "change", "distribution", "rates", "robustness", "evidence")


class Numbering:
    """Figure and table numbers in the order a reader meets them, with anchors named by content.

    `--section-number 7` makes them Figure 7.1, Table 7.1; anchors do not carry the number, so a
    link to a figure survives a figure added before it.
    """

    def __init__(self, section: str | None, prefix: str) -> None:
        self.section = f"{section}." if section else ""
        self.prefix = prefix
        self.figures = 0
        self.tables = 0

    def figure(self, key: str) -> dict[str, str]:
        self.figures += 1
        return {"label": f"Figure {self.section}{self.figures}", "anchor": f"{self.prefix}figure-{key}"}

    def table(self, key: str) -> dict[str, str]:
        self.tables += 1
        return {"label": f"Table {self.section}{self.tables}", "anchor": f"{self.prefix}table-{key}"}


def _numbered(chart: Any, number: dict[str, str]) -> Any:
    return replace(chart, label=number["label"], anchor=number["anchor"])


def _topic_rows(analysis: Any, metric: str, generations: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Per-topic means of one metric: the topics asked, and one row per generation with answers."""
    per_generation = {g: analysis.topics(g, metric) for g in generations}
    topics = sorted({t for by_topic in per_generation.values() for t in by_topic})
    if len(topics) < 2:
        return [], []  # one topic is the trend table again
    return topics, [{"generation": g, "topics": by_topic} for g, by_topic in per_generation.items() if by_topic]


def _robustness_rows(analysis: Any, metric: str, generations: list[str]) -> list[dict[str, Any]]:
    rows = []
    for g in generations:
        framing = analysis.variation(g, metric, "framing")
        variants = analysis.variation(g, metric, "prompt_variant")
        lead = framing.lead if framing else None
        spread = variants.spread if variants else None
        if lead is not None or spread is not None:
            rows.append({"generation": g, "lead": lead, "spread": spread,
                         "variants": len(variants.groups) if variants else 0})
    return rows


def build_context(
    findings: Findings, title: str, notes: str | None, since: dict[str, Any] | None = None,
    exports: tuple[str, ...] = ("svg", "png"), id_prefix: str = "wr-", section_number: str | None = None,
    meanwhile: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    from .charts import draw_charts, generation_labels, metric_labels
    from .summary import HOW_TO_READ, methods_rows, summary_groups

    analysis = findings.analysis
    history = analysis.history
    generations = [g.name for g in history.generations]
    numbering = Numbering(section_number, id_prefix)
    metrics = []
    shown = [(index, name, metric) for index, (name, metric) in enumerate(history.metrics.items())
             if any(s.metric == name for s in analysis.stats)]
    # Each chart's ids inside its SVG start with the prefix, the metric's position and the kind.
    jobs = [(name, kind, f"{id_prefix}c{index}-{kind}") for index, name, _ in shown for kind in FIGURE_KINDS]
    drawn = iter(draw_charts(analysis, findings.flags, jobs, exports, meanwhile))
    for _index, name, metric in shown:
        stats = [s for s in analysis.stats if s.metric == name]
        # Numbered in the order the section shows them (FIGURE_KINDS), which the templates follow.
        charts = {kind: _numbered(chart, numbering.figure(f"{name}-{kind}")) if chart else None
                  for kind, chart in zip(FIGURE_KINDS, [next(drawn) for _ in FIGURE_KINDS], strict=True)}
        topics, topic_rows = _topic_rows(analysis, name, generations)
        metrics.append({
            "name": name,
            "label": metric.label or name,
            "question": metric.question,
            "description": metric.description,
            "scale": f"{metric.scale_min}-{metric.scale_max}",
            "jump_size": JUMP_FRACTION * metric.range,
            "points": [str(p) for p in range(metric.scale_min, metric.scale_max + 1)],
            **charts,
            "figures": [charts[kind] for kind in FIGURE_KINDS if charts[kind]],
            "pairs": [p for p in analysis.corroborations if p.metric == name],
            "measure": metric.measure.replace("_", "-"),
            "stats": stats,
            "comparisons": [c for c in analysis.comparisons if c.metric == name],
            "concern_tags": [t for t in schema.CONCERN_TAGS
                             if any(analysis.concern_shares.get((s.generation, name, t)) for s in stats)],
            "topics": topics,
            "topic_rows": topic_rows,
            "robustness_rows": _robustness_rows(analysis, name, generations),
        })
    return {
        "title": title,
        "as_of": history.as_of,
        "ruleset": findings.ruleset,
        "tool_version": __version__,
        "chain_head": findings.chain_head,
        "summary_sentence": _flag_sentence(findings),
        "summary_groups": summary_groups(findings),
        "how_to_read": HOW_TO_READ,
        "acknowledged_flags": [f for f in findings.flags if f.acknowledged],
        "unmatched": [
            {"key": acknowledgement_key(a.rule, a.metric, a.generations), "by": a.by, "date": a.date, "reason": a.reason}
            for a in findings.unmatched
        ],
        "errors": findings.errors(),
        "corrections": history.corrections,
        "counts": {
            "generations": len(history.generations),
            "answers": f"{len(history.answers):,}",
            "summaries": sum(1 for s in analysis.stats if s.source == "summaries"),
        },
        "metrics": metrics,
        "concern_shares": analysis.concern_shares,
        "excerpt_groups": excerpt_groups(history.excerpts, generations),
        "rules": [
            {"rule": r, "findings": [f for f in findings.flags if f.rule == r.id]} for r in RULES
        ],
        "notes_markdown": notes or None,
        "generations": history.generations,
        "generation_labels": generation_labels(analysis),
        "metric_labels": metric_labels(analysis),
        "methods": methods_rows(history),
        "events": history.events,
        "inputs": findings.inputs,
        "since": since,
        "p": id_prefix,
        "section_number": section_number,
        "heading_level": HEADING_LEVEL,
    }


# -- templates and filters -------------------------------------------------------------


def _load_writers(pdf: bool) -> None:
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
        num=words.number,
        signed=words.signed,
        pct=words.share,
        interval=words.interval,
        p=words.p_value,
        verdict=lambda c, jump_size: words.verdict(c.verdict, jump_size, min(c.before.n, c.after.n), MIN_N),
        evidence=_evidence_items,
        safe_link=_safe_link,
        kind=lambda k: k.replace("_", " "),
        bdi=_isolated,
        anchor=_anchor,
    )
    # The PDF gets PNG charts (its engine draws them far faster than SVG); the HTML keeps vector SVG.
    env.globals["raster"] = raster
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


_EVIDENCE_SKIP = {"events", "exposures", "groups", "split", "from", "to", "metrics"}


def _evidence_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 0.001 and value != 0 else f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, dict) and all(isinstance(v, int | float | str) for v in value.values()):
        return ", ".join(f"{k}: {_evidence_text(v)}" for k, v in value.items())
    if isinstance(value, dict | list):
        return None  # nested detail (per-metric lists) is in the findings JSON
    return str(value)


def _evidence_items(evidence: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(name, value, is a threshold) for a finding's short evidence table; thresholds are labelled as such.

    Paired values read as one row: `mean_from` and `mean_to` as "4.01 → 4.63", an estimate with its
    interval and its p-values beside it.
    """
    values = {k: v for k, v in evidence.items() if k not in _EVIDENCE_SKIP and v is not None}
    texts = {k: t for k, v in values.items() if (t := _evidence_text(v)) is not None}
    used: set[str] = set()
    items = []
    for key, text in texts.items():
        if key in used:
            continue
        used.add(key)
        base = key.removesuffix("_from")
        name = key
        if key.endswith("_from") and (partner := next((k for k in (f"{base}_to", base) if k in texts and k != key), None)):
            text, name = f"{text} → {texts[partner]}", base
            used.add(partner)
        stem = "" if key == "delta" else f"{key}_"
        if f"{stem}ci_low" in texts and f"{stem}ci_high" in texts:
            text += f" (95% CI {texts[f'{stem}ci_low']} to {texts[f'{stem}ci_high']})"
            used |= {f"{stem}ci_low", f"{stem}ci_high"}
        holm = f"{key.removesuffix('p_value')}p_holm" if key.endswith("p_value") else ""
        if holm in texts:
            text, name = f"{text} (Holm {texts[holm]})", key.removesuffix("_value")
            used.add(holm)
        threshold = key.startswith("threshold_")
        items.append((name.removeprefix("threshold_").replace("_", " "), text, threshold))
    if isinstance(evidence.get("groups"), dict):
        for name, group in evidence["groups"].items():
            items.append((f"{name} (n={group['n']})", f"{group['mean']:.3f}", False))
    # Measurements first, then the limits they were held against.
    return sorted(items, key=lambda item: item[2])


_NOT_ANCHOR = re.compile(r"[^A-Za-z0-9_-]+")


def _anchor(key: str) -> str:
    """A finding's key as an id fragment: ids and generations are already id-safe, the separators are not."""
    return _NOT_ANCHOR.sub("-", key).strip("-")


def render_html(context: dict[str, Any], fragment: bool, raster: bool = False) -> str:
    """The page (or fragment); `raster` puts PNG charts in place of SVG, for the PDF."""
    from .charts import transition_label

    env = _environment(raster)
    css = (_templates_dir() / "report.css").read_text(encoding="utf-8")
    if not fragment:
        # The as-of date is a validated YYYY-MM-DD, safe inside a CSS string.
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", context["as_of"])
        css += (_templates_dir() / "print.css").read_text(encoding="utf-8").replace("AS_OF", context["as_of"])
    template = env.get_template("fragment.html" if fragment else "page.html")
    generations, metrics = context["generation_labels"], context["metric_labels"]
    return str(template.render(
        css=_markup(css),
        # Each output numbers its tables afresh, in the order a reader meets them.
        tables=Numbering(context["section_number"], context["p"]),
        gen=lambda name: _isolated(generations.get(name, name)),
        mlabel=lambda name: _isolated(metrics.get(name, name)),
        transition=lambda comparison: _isolated(transition_label(comparison, generations)),
        **context,
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


def render_pdf(html: str, findings_json: str, as_of: str, title: str) -> bytes:
    import weasyprint

    with _source_date(as_of) as moment:
        attachment = weasyprint.Attachment(
            string=findings_json.encode("utf-8"), name="findings.json", description=f"Findings JSON ({FINDINGS_SCHEMA})",
            created=moment, modified=moment, relationship="Data",
        )
        document = weasyprint.HTML(string=html, base_url=str(_templates_dir()), url_fetcher=_fetcher())
        pdf = document.write_pdf(
            pdf_variant="pdf/a-3a", attachments=[attachment], pdf_identifier=title.encode("utf-8")[:32] or b"welfare",
            uncompressed_pdf=False,
        )
    assert pdf is not None
    return bytes(pdf)


# -- the command --------------------------------------------------------------------


def report_options(title: str, formats: tuple[str, ...], notes: str | None, heading_level: int = HEADING_LEVEL,
                   id_prefix: str = ID_PREFIX, section_number: str | None = None, **more: Any) -> dict[str, Any]:
    """The options a report records in its findings, so that it can be rendered again exactly."""
    wanted = [f for f in (*FORMATS, *EXTRA_FORMATS) if f in formats] or list(FORMATS)
    notes_sha256 = hashlib.sha256(notes.encode("utf-8")).hexdigest() if notes is not None else None
    return {"title": title, "formats": wanted, "notes_sha256": notes_sha256, "today": None, "force": False,
            "heading_level": heading_level, "id_prefix": id_prefix, "section_number": section_number} | more


def layout_options(options: Mapping[str, Any]) -> tuple[int, str, str | None]:
    """Heading level, id prefix and section number; a report made before they were options used the defaults."""
    section = options.get("section_number")
    return (int(options.get("heading_level", HEADING_LEVEL)), str(options.get("id_prefix", ID_PREFIX)),
            None if section is None else str(section))


def render_outputs(
    findings: Findings, notes: str | None = None, since: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, bytes]:
    """Every output `findings.options` asks for, computed in memory: file name -> bytes."""
    wanted = tuple(findings.options["formats"])
    title = str(findings.options["title"])
    heading_level, id_prefix, section_number = layout_options(findings.options)
    findings_json = dumps(findings)
    outputs: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    if {"html", "fragment", "pdf", "markdown", "charts"} & set(wanted):
        progress("drawing the charts")
        exports = ((("svg",) if {"html", "fragment", "markdown", "charts"} & set(wanted) else ())
                   + (("png",) if {"pdf", "charts"} & set(wanted) else ()))
        # While the charts are drawn elsewhere, this process loads what it needs next.
        context = build_context(findings, title, notes, since, exports, id_prefix, section_number,
                                meanwhile=lambda: _load_writers("pdf" in wanted)) | {"heading_level": heading_level}
        if "html" in wanted:
            outputs["html"] = render_html(context, fragment=False).encode("utf-8")
        if "fragment" in wanted:
            outputs["fragment"] = render_html(context, fragment=True).encode("utf-8")
        if "pdf" in wanted:
            progress("typesetting the PDF")
            page = render_html(context, fragment=False, raster=True)
            outputs["pdf"] = render_pdf(page, findings_json, findings.as_of, title)
        if "markdown" in wanted:
            files |= markdown_files(context)
        if "charts" in wanted:
            files |= chart_files(context, chart_data(findings.analysis, context))
    if "json" in wanted:
        outputs["json"] = findings_json.encode("utf-8")
    files |= {OUTPUT_NAMES[fmt]: outputs[fmt] for fmt in wanted if fmt in OUTPUT_NAMES}
    if notes is not None:
        files[NOTES_COPY] = notes.encode("utf-8")
    return files


def render(
    findings: Findings, out: Path, formats: tuple[str, ...], title: str,
    notes: str | None = None, progress: Callable[[str], None] = lambda message: None,
    heading_level: int = 2, id_prefix: str = "wr-", section_number: str | None = None,
) -> list[Path]:
    """Render into `out` as one complete set: the folder is swapped in whole, never file by file."""
    check_replaceable(out, {*OUTPUT_NAMES.values(), NOTES_COPY, MARKDOWN_NAME, MARKDOWN_CHARTS, CHARTS_FOLDER})
    findings = replace(findings, options=report_options(title, formats, notes, heading_level, id_prefix,
                                                        section_number))
    outputs = render_outputs(findings, notes, progress=progress)
    write_folder(out, outputs)
    return [out / name for name in outputs]

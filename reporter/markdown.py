"""The section as Markdown for model cards and repository READMEs, and every figure as files.

`welfare-section.md` uses the Markdown such cards use (headings, pipe tables,
images) with its charts as SVG files in `welfare-section-charts/`. Untrusted
text (labels, descriptions, messages, reasons) is escaped so it can never
become markup, a link or an image: Markdown punctuation is backslash-escaped
and `<`, `>` and `&` become entities. The `charts` format writes every figure
as SVG and PNG with a CSV of the data it draws, named by figure number, for
cards written in LaTeX or a word processor.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import phrasing
from .schema import CHARTS_FOLDER, MARKDOWN_CHARTS, MARKDOWN_NAME
from .section import MetricBlock, Number, Numbering, Section, evidence_items
from .summary import HOW_TO_READ
from .texts import shown

if TYPE_CHECKING:
    from .charts import Chart
# Escaped wherever they stand: emphasis, code, links and images, and table cells. Brackets
# escaped, no link or image can form; `<` as an entity, no raw HTML or autolink either.
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
# Escaped at the start only, where they would open a heading, a list or a quote.
_LINE_START = re.compile(r"^([#+\->])")
_ORDERED = re.compile(r"^(\d+)([.)])")
# What a GFM renderer would turn into a link by itself: a scheme's colon, an address's @ and the dot
# of a domain name ("evil.com", "www.x"); escaped, each stays text, and renders the same.
_AUTOLINK = re.compile(r"((?<=[A-Za-z]):(?=/)|@|(?<=[A-Za-z0-9])\.(?=[A-Za-z]))")


def md(text: object) -> str:
    """Untrusted text as inert Markdown: one line, entities for < > &, punctuation escaped."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _AUTOLINK.sub(r"\\\1", _PUNCTUATION.sub(r"\\\1", value))
    return _ORDERED.sub(r"\1\\\2", _LINE_START.sub(r"\\\1", value))


def _table(header: list[str], rows: list[list[str]], number: Number | None = None,
           caption: str = "") -> list[str]:
    """A pipe table, after its number and caption (the caption is already escaped)."""
    title = [f"*{number.label}.* {caption}", ""] if number else []
    return [*title, "| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _figures(section: Section) -> list[tuple[str, Chart]]:
    """Every figure in the order the section shows it, with a file-name stem from its number and title."""
    return [(f"figure-{_number(chart.label)}-{_slug(chart.title)}", chart) for chart in section.figures]


def _number(label: str) -> str:
    """'Figure 7.3' as '7-03': file names sort in figure order."""
    *section, last = label.removeprefix("Figure ").split(".")
    return "-".join([*section, f"{int(last):02d}"])


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def markdown_files(section: Section) -> dict[str, bytes]:
    """welfare-section.md and its charts, by path inside the output folder."""
    figures = _figures(section)
    stems = {chart.id: stem for stem, chart in figures}
    tables = Numbering(section.section_number, section.p)
    heading = "#" * section.heading_level
    counts = section.counts
    summaries = f" and {counts.summaries} published summaries" if counts.summaries else ""
    lines = [f"{heading} {md(section.title)}", "",
             f"As of {section.as_of} · {counts.generations} generations · {counts.answers} answers{summaries} · "
             f"rule set {section.ruleset}", "",
             f"{heading}# Summary of findings", "", md(section.summary_sentence), ""]
    lines += _summary(section)
    lines += [f"{heading}# How to read this section", ""]
    for paragraph in HOW_TO_READ:
        lines += [paragraph, ""]
    if section.since:
        lines += _since(section.since, heading)
    lines += _methods(section, heading, tables)
    for metric in section.metrics:
        lines += _metric(section, metric, heading, stems, tables)
    lines += _texts(section, heading, stems, tables)
    lines += _excerpts(section, heading)
    lines += _rules(section, heading, tables)
    if section.notes_markdown:
        lines += [f"{heading}# Author's notes", "", safe_notes(section.notes_markdown, len(heading) + 2), ""]
    lines += _provenance(section, heading, tables)
    lines += _appendix(section, heading, tables)
    files = {MARKDOWN_NAME: "\n".join(lines).encode("utf-8")}
    files |= {f"{MARKDOWN_CHARTS}/{stem}.svg": chart.svg.encode("utf-8") for stem, chart in figures}
    return files


def _summary(section: Section) -> list[str]:
    lines = []
    if section.errors:
        lines += ["**Errors**", ""] + [f"- **{f.rule}** {md(f.message)}" for f in section.errors] + [""]
    for group in section.summary_groups:
        events = "".join(f" · {e.kind.replace('_', ' ')} ({e.date})" for e in group.events)
        lines += [f"**{md(group.title)}**{events}", ""]
        verdicts = " ".join(f"{word[:1].upper()}{word[1:]}: {', '.join(md(n) for n in names)}." for word, names in group.verdicts)
        if verdicts:
            lines += [verdicts, ""]
        for item in group.items:
            reviewed = (" (reviewed by a person)" if item.all_acknowledged
                        else f" ({item.acknowledged} of {len(item.sizes)} reviewed by a person)" if item.acknowledged else "")
            lines.append(f"- **{item.rule}** {md(item.title)}: {'; '.join(md(s) for s in item.sizes)}{reviewed}")
        if group.items:
            lines.append("")
    if section.acknowledged_flags:
        lines += ["**Flags reviewed by a person**", ""]
        lines += [f"- **{f.rule}** {md(f.message)} {_acknowledgement(f.acknowledged)}" for f in section.acknowledged_flags
                  if f.acknowledged]
        lines.append("")
    return lines


def _acknowledgement(acknowledged: Mapping[str, str]) -> str:
    return f"Acknowledged by {md(acknowledged['by'])} on {acknowledged['date']}: {md(acknowledged['reason'])}"


def _since(since: Mapping[str, Any], heading: str) -> list[str]:
    lines = [f"{heading}# Since the previous quarter ({md(since['previous'])})", "",
             f"Compared with the report as of {since['previous_as_of']} ({md(since['source'])}).", ""]
    generations = ", ".join(f"{md(g['generation'])} (released {g['release_date']})" for g in since["new_generations"])
    lines += [f"New generations: {generations}." if generations else "No new generations.", ""]
    for title, key in (("New", "flags_new"), ("Resolved", "flags_resolved"), ("Unchanged", "flags_unchanged")):
        items = since.get(key) or []
        lines += [f"**{title} flags ({len(items)})**", ""]
        lines += [f"- **{f['rule']}** {md(f['message'])}" for f in items] + ([""] if items else [])
    return lines


def _named(values: Mapping[str, int]) -> str:
    """The values where there are at most two, else how many."""
    return str(len(values)) if len(values) > 2 else md(", ".join(values))


def _methods(section: Section, heading: str, tables: Numbering) -> list[str]:
    labels = section.generation_labels
    rows = [[md(labels[r.generation]), f"{r.answers:,}", f"{r.interviews:,}" if r.interviews else "none recorded",
             f"{r.method.get('manual_interview', 0):,}",
             f"{r.framing.get('positive_lead', 0) + r.framing.get('negative_lead', 0):,}",
             *(_named(values) for values in (r.topic, r.prompt_variant, r.system_prompt, r.instrument))]
            for r in section.methods]
    header = ["Generation", "Answers", "Interviews", "Manual", "Leading", "Topics", "Variants", "System prompts",
              "Instruments"]
    lines = [f"{heading}# Methods", "",
             *_table(header, rows, tables.table("methods"), "Answers and ways of asking per generation")]
    if section.phrase_sources:
        listed = ", ".join(f"{md(source)} ({phrasing.count(n, 'phrase')})" for source, n in section.phrase_sources)
        lines += [f"Phrases of the developer's own words, for what the answers say: {listed}.", ""]
    lines += [f"{heading}## Generations", ""]
    lines += _table(["Generation", "Label", "Released", "Model line", "Predecessor"],
                    [[g.name, md(g.label), g.release_date + (" (not yet released)" if g.release_date > section.as_of else ""),
                      md(g.model), md(labels[g.predecessor]) if g.predecessor else ""] for g in section.generations],
                    tables.table("generations"), "Generations in release order")
    lines += [f"- {md(labels[g.name])}: {md(g.notes)}" for g in section.generations if g.notes]
    lines += [""] if any(g.notes for g in section.generations) else []
    lines += [f"{heading}## Events", ""]
    if section.events:
        metric_labels = section.metric_labels
        lines += _table(["Date", "Kind", "Generation", "Metric", "Description", "Reference"],
                        [[e.date, e.kind.replace("_", " "), md(labels.get(e.generation, e.generation)) if e.generation else "all",
                          md(metric_labels.get(e.metric, e.metric)) if e.metric else "all", md(e.description), md(e.reference)]
                         for e in section.events],
                        tables.table("events"), "Recorded events; elicitation changes are changes of interviewer, judge or scorer")
    else:
        lines += ["No events were recorded.", ""]
    return lines


def _excerpts(section: Section, heading: str) -> list[str]:
    lines = [f"{heading}# Qualitative evidence", ""]
    labels, metric_labels = section.generation_labels, section.metric_labels
    for group in section.excerpt_groups:
        lines += [f"**{md(labels[group.generation])} · {md(group.tag.replace('_', ' '))}**", ""]
        for e in group.items:
            lines += [f"> {md(e.text)}", ">", f"> {md(metric_labels.get(e.metric, e.metric))}, {e.collected_on}"
                      + (" · featured" if e.featured else ""), ""]
    if not section.excerpt_groups:
        lines += ["No excerpts were recorded.", ""]
    return lines


def _rules(section: Section, heading: str, tables: Numbering) -> list[str]:
    lines = [f"{heading}# Rules", "",
             f"Rule set {section.ruleset}. The rules and their thresholds are fixed; none can be disabled or loosened. "
             "Every finding's full evidence is in the appendix after Provenance.", ""]
    raised = [f for r in section.rules for f in r.findings]
    if raised:
        rows = [[f.rule, f.severity, _code_cell(f.key), md(f.message),
                 _acknowledgement(f.acknowledged) if f.acknowledged else ("open" if f.severity == "flag" else "")]
                for f in raised]
        lines += _table(["Rule", "Severity", "Key", "Message", "Review"], rows, tables.table("findings"),
                        "Every finding with its acknowledgement key")
    quiet = [f"{r.rule.id} ({md(r.rule.title)})" for r in section.rules if not r.findings]
    if quiet:
        lines += [f"No finding from {', '.join(quiet)}.", ""]
    if section.unmatched:
        lines += [f"{heading}## Acknowledgements that match no finding", "",
                  "These reviews name a rule, metric and generations that no finding has, so they acknowledge nothing.", ""]
        lines += [f"- `{a.key}`, by {md(a.by)} on {a.date}: {md(a.reason)}" for a in section.unmatched] + [""]
    return lines


def _appendix(section: Section, heading: str, tables: Numbering) -> list[str]:
    """Every finding's full evidence, one row per finding: the key and its figures, thresholds labelled."""
    raised = [f for r in section.rules for f in r.findings]
    if not raised:
        return []
    rows = [[_code_cell(f.key), md("; ".join(f"{'threshold: ' if limit else ''}{name} {value}"
                                            for name, value, limit in evidence_items(f.evidence)))]
            for f in raised]
    return [f"{heading}# Appendix: the evidence of every finding", "",
            *_table(["Key", "Evidence"], rows, tables.table("evidence"), "The evidence of every finding"), ""]


def _code_cell(key: str) -> str:
    """An acknowledgement key as code in a table cell: ids are id-safe, only the pipes are escaped (GFM)."""
    return "`" + key.replace("|", "\\|") + "`"


def _provenance(section: Section, heading: str, tables: Numbering) -> list[str]:
    labels, metric_labels = section.generation_labels, section.metric_labels
    lines = [f"{heading}# Provenance", "", f"{heading}## Corrections", ""]
    if section.corrections:
        lines += _table(["Date", "Action", "Generation", "Metric", "Rows", "By", "Reason"],
                        [[c.date, c.action, md(labels.get(c.generation, c.generation)),
                          md(metric_labels.get(c.metric, c.metric)), str(len(c.touched)), md(c.by), md(c.reason)]
                         for c in section.corrections],
                        tables.table("corrections"), "Corrections of rows this section would otherwise use "
                        "(the superseded rows are kept in the history's corrections.csv)")
    else:
        lines += ["No rows were corrected.", ""]
    lines += [f"{heading}## Inputs", ""]
    lines += _table(["File", "Rows", "SHA-256"],
                    [[md(i["path"]), str(i["rows"]), f"`{i['sha256']}`"] for i in section.inputs],
                    tables.table("inputs"), f"Rows used from the history (dated on or before {section.as_of}) "
                    "and the SHA-256 of their canonical form")
    head = f", from the history whose merge-log chain head is `{section.chain_head}`" if section.chain_head else ""
    lines += [f"Written by welfare-report {section.tool_version}, rule set {section.ruleset}, as of {section.as_of}{head}.", ""]
    return lines


_ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=\s|$)")
# A link or image whose destination is not http(s) (or an image embedded by the notes reader):
# its opening parenthesis is escaped, so it stays text.
_UNSAFE_DESTINATION = re.compile(r"\]\((?!\s*<?(https?://|data:image/(png|jpeg);base64,))", re.IGNORECASE)
_UNSAFE_DEFINITION = re.compile(r"^( {0,3})\[([^\]]*)\]:(?!\s*<?https?://)", re.IGNORECASE)
# An embedded image's data: URI is fine behind `![`, never as a link target.
_DATA_LINK = re.compile(r"(?<!!)(\[[^\[\]]*)\]\((?=\s*<?data:)", re.IGNORECASE)


def safe_notes(text: str, first_level: int) -> str:
    """The author's notes for the Markdown output: no raw HTML, no non-http(s) link, headings shifted down."""
    lines = []
    for line in text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split("\n"):
        line = _ATX_HEADING.sub(lambda m: m.group(1) + "#" * min(6, len(m.group(2)) + first_level - 1), line)
        line = _DATA_LINK.sub(r"\1]\\(", _UNSAFE_DESTINATION.sub(r"]\\(", line))
        lines.append(_UNSAFE_DEFINITION.sub(r"\1\\[\2]:", line))
    return "\n".join(lines)


def _metric(section: Section, metric: MetricBlock, heading: str, stems: dict[str, str], tables: Numbering) -> list[str]:
    labels = section.generation_labels
    measure = f", {metric.measure}" if metric.measure != "self-report" else ""
    lines = [f"{heading}# {md(metric.label)} (scale {metric.scale}{measure})", ""]
    if metric.question:
        lines += [f"Question: {md(metric.question)}", ""]
    for chart in metric.figures:
        lines += [f"![{md(chart.description)}]({MARKDOWN_CHARTS}/{stems[chart.id]}.svg)", "",
                  f"*{chart.label}.* {md(chart.title)}", ""]
    name = metric.name
    lines += _table(
        ["Generation", "Source", "n", "Mean", "95% CI"],
        [[md(labels[s.generation]), f"{s.source} {md(mark)}".strip(), f"{s.n:,}", phrasing.number(s.mean), interval]
         for s, interval, mark in zip(metric.stats, metric.intervals, metric.source_marks, strict=True)],
        tables.table(f"stats-{name}"), f"{md(metric.label)}: figures per generation")
    if metric.published_figures:
        listed = "; ".join(f"{md(labels[g])}: {md(figures)}" for g, figures in metric.published_figures)
        lines += [f"Published figures beside the ones shown (a figure restated by another source, or far from the "
                  f"answers, is WR018): {listed}.", ""]
    if metric.sources:
        lines += [f"Sources of the published figures: {'; '.join(md(note) for note in metric.sources)}.", ""]
    if metric.summary_note:
        lines += [md(metric.summary_note), ""]
    if metric.comparisons:
        lines += _table(
            ["Comparison", "Delta", "95% CI, unadjusted", "p, Holm across the metrics compared", "Verdict"],
            [[md(section.transition(c)), phrasing.signed(c.delta),
              f"{phrasing.signed(c.ci_low)} to {phrasing.signed(c.ci_high)}", phrasing.p_value(c.p_holm), md(words)]
             for c, words in zip(metric.comparisons, metric.verdicts, strict=True)],
            tables.table(f"comparisons-{name}"), f"{md(metric.label)}: comparisons")
    return lines


def chart_files(section: Section) -> dict[str, bytes]:
    """charts/: every figure as SVG and PNG, with a CSV of what it draws."""
    data = chart_data(section)
    files: dict[str, bytes] = {}
    for stem, chart in _figures(section):
        files[f"{CHARTS_FOLDER}/{stem}.svg"] = chart.svg.encode("utf-8")
        files[f"{CHARTS_FOLDER}/{stem}.png"] = chart.png
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(data.get(chart.id, [["no data"]]))
        files[f"{CHARTS_FOLDER}/{stem}.csv"] = buffer.getvalue().encode("utf-8")
    return files


def _csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> list[list[object]]:
    return [list(header), *(list(row) for row in rows)]


def _trend_rows(metric: MetricBlock, section: Section) -> list[list[object]]:
    return _csv(["generation", "source", "n", "mean", "ci_low", "ci_high", "contaminated", "mean_without_redirected"],
                [[s.generation, s.source, s.n, s.mean, s.ci_low, s.ci_high, s.contaminated, s.mean_without_redirected]
                 for s in metric.stats])


def _change_rows(metric: MetricBlock, section: Section) -> list[list[object]]:
    return _csv(["from", "to", "split", "delta", "ci_low", "ci_high", "p_holm", "verdict"],
                [[c.from_, c.to, c.split.label() if c.split else "", c.delta, c.ci_low, c.ci_high, c.p_holm, c.verdict]
                 for c in metric.comparisons])


def _distribution_rows(metric: MetricBlock, section: Section) -> list[list[object]]:
    return _csv(["generation", *metric.points],
                [[s.generation, *(s.shares.get(p, 0.0) for p in metric.points)] for s in metric.stats if s.shares])


def _rates_rows(metric: MetricBlock, section: Section) -> list[list[object]]:
    shares = section.concern_shares
    return _csv(["generation", "redirect_rate", "decline_rate", *metric.concern_tags],
                [[s.generation, s.redirect_rate, s.decline_rate,
                  *(shares.get((s.generation, metric.name, t), 0.0) for t in metric.concern_tags)]
                 for s in metric.stats if s.redirect_rate is not None])


def _robustness_rows(metric: MetricBlock, section: Section) -> list[list[object]]:
    return _csv(["generation", "lead_gap", "lead_ci_low", "lead_ci_high", "variants", "variant_spread"],
                [[r.generation, *((r.lead.size, r.lead.ci_low, r.lead.ci_high) if r.lead else ("", "", "")),
                  r.variants, r.spread.size if r.spread else ""] for r in metric.robustness_rows])


def _evidence_rows(metric: MetricBlock, section: Section) -> list[list[object]]:
    return _csv(["from", "to", "measure", "self_report_change", "measure_change", "difference", "ci_low", "ci_high",
                 "p_holm"],
                [[p.from_, p.to, p.measure, p.self_report_change, p.measure_change, p.difference, p.ci_low, p.ci_high,
                  p.p_holm] for p in metric.pairs if p.split is None])


# The data each kind of chart draws, as the rows of its CSV.
_CHART_ROWS = {"trend": _trend_rows, "change": _change_rows, "distribution": _distribution_rows,
               "rates": _rates_rows, "robustness": _robustness_rows, "evidence": _evidence_rows}


def print_attachments(section: Section) -> dict[str, dict[str, bytes]]:
    """Per metric, the CSVs the printed edition carries in place of its full tables: the data of every
    figure, and the per-topic and per-method means. Names are `<metric id>-<table>.csv` (ids are
    file-name safe), in the order the section shows them."""
    attached: dict[str, dict[str, bytes]] = {}
    for metric in section.metrics:
        tables = {kind: rows(metric, section) for kind, rows in _CHART_ROWS.items() if getattr(metric, kind) is not None}
        if metric.topic_tables:
            tables["topics"] = _csv(["topic", "generation", "mean; 95% CI; n"],
                                    [[topic, g, cell.replace("\n", "; ")] for t in metric.topic_tables
                                     for topic, cells in t.rows for g, cell in zip(t.generations, cells, strict=True)
                                     if cell])
        if metric.method_rows:
            tables["methods"] = _csv(["generation", "pooled", *metric.method_names],
                                     [[g, *cells] for g, cells in metric.method_rows])
        if metric.comparisons:
            tables["comparisons"] = _csv(
                ["from", "to", "split", "delta", "ci_low", "ci_high", "p_holm", "verdict", "in_words", "events"],
                [[c.from_, c.to, c.split.label() if c.split else "", c.delta, c.ci_low, c.ci_high, c.p_holm, c.verdict,
                  words, "; ".join(f"{e.date} {e.kind}" for e in c.events)]
                 for c, words in zip(metric.comparisons, metric.verdicts, strict=True)])
        attached[metric.name] = {f"{metric.name}-{kind}.csv": _csv_bytes(rows) for kind, rows in tables.items()}
    if section.manual_rows:
        attached[""] = {"manual-interviews.csv": _csv_bytes(_csv(
            ["generation", "metric", "interviews", "answers", "mean_95_ci", "tags"], section.manual_rows))}
    return attached


def _csv_bytes(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def chart_data(section: Section) -> dict[str, list[list[object]]]:
    """The figures each chart draws, by chart id: the rows of its CSV."""
    data: dict[str, list[list[object]]] = {}
    for metric in section.metrics:
        for kind, rows in _CHART_ROWS.items():
            chart = getattr(metric, kind)
            if chart is not None:
                data[chart.id] = rows(metric, section)
    if section.texts_chart is not None:
        data[section.texts_chart.id] = _texts_rows(section)
    return data


def _texts_rows(section: Section) -> list[list[object]]:
    sources = section.echo_sources
    return _csv(["generation", "answers_with_text", "top_opener", "opener_share", *(f"echo_{s}" for s in sources)],
                [[t.generation, t.answers, shown(t.top_opener), t.opener_share, *(t.echo_share(s) for s in sources)]
                 for t in section.texts])


def _texts(section: Section, heading: str, stems: dict[str, str], tables: Numbering) -> list[str]:
    """What the answers say: its figure and table, where any answer has text."""
    if not section.texts:
        return []
    labels = section.generation_labels
    lines = [f"{heading}# What the answers say", ""]
    chart = section.texts_chart
    if chart is not None:
        lines += [f"![{md(chart.description)}]({MARKDOWN_CHARTS}/{stems[chart.id]}.svg)", "",
                  f"*{chart.label}.* {md(chart.title)}", ""]
    sources = section.echo_sources
    lines += _table(
        ["Generation", "Answers with text", "Most common opening", "Share", *(f"Echoes {md(s)}" for s in sources)],
        [[md(labels[t.generation]), f"{t.answers:,}", f"“{md(shown(t.top_opener))}”", phrasing.share(t.opener_share),
          *(phrasing.share(t.echo_share(s)) for s in sources)] for t in section.texts],
        tables.table("texts"), "What the answers say, per generation")
    return lines

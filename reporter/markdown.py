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
from typing import TYPE_CHECKING, Any

from . import words
from .charts import Chart
from .thresholds import MIN_N

if TYPE_CHECKING:
    from .analyze import Analysis

MARKDOWN_NAME = "welfare-section.md"
MARKDOWN_CHARTS = "welfare-section-charts"
CHARTS_FOLDER = "charts"
# Escaped wherever they stand: emphasis, code, links and images, and table cells. Brackets
# escaped, no link or image can form; `<` as an entity, no raw HTML or autolink either.
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
# Escaped at the start only, where they would open a heading, a list or a quote.
_LINE_START = re.compile(r"^([#+\->])")
_ORDERED = re.compile(r"^(\d+)([.)])")


def md(text: object) -> str:
    """Untrusted text as inert Markdown: one line, entities for < > &, punctuation escaped."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _PUNCTUATION.sub(r"\\\1", value)
    return _ORDERED.sub(r"\1\\\2", _LINE_START.sub(r"\\\1", value))


def _table(header: list[str], rows: list[list[str]], number: dict[str, str] | None = None,
           caption: str = "") -> list[str]:
    """A pipe table, after its number and caption (the caption is already escaped)."""
    title = [f"*{number['label']}.* {caption}", ""] if number else []
    return [*title, "| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _figures(context: dict[str, Any]) -> list[tuple[str, Chart]]:
    """Every figure in the order the section shows it, with a file-name stem from its number and title."""
    charts = [chart for metric in context["metrics"] for chart in metric["figures"]]
    return [(f"figure-{_number(chart.label)}-{_slug(chart.title)}", chart) for chart in charts]


def _number(label: str) -> str:
    """'Figure 7.3' as '7-03': file names sort in figure order."""
    *section, last = label.removeprefix("Figure ").split(".")
    return "-".join([*section, f"{int(last):02d}"])


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def markdown_files(context: dict[str, Any]) -> dict[str, bytes]:
    """welfare-section.md and its charts, by path inside the output folder."""
    from .render import Numbering
    from .summary import HOW_TO_READ

    figures = _figures(context)
    stems = {chart.id: stem for stem, chart in figures}
    tables = Numbering(context["section_number"], context["p"])
    heading = "#" * int(context["heading_level"])
    lines = [f"{heading} {md(context['title'])}", "",
             f"As of {context['as_of']} · {context['counts']['generations']} generations · "
             f"{context['counts']['answers']} answers · rule set {context['ruleset']}", "",
             f"{heading}# Summary of findings", "", md(context["summary_sentence"]), ""]
    lines += _summary(context)
    lines += [f"{heading}# How to read this section", ""]
    for paragraph in HOW_TO_READ:
        lines += [paragraph, ""]
    lines += _methods(context, heading, tables)
    for metric in context["metrics"]:
        lines += _metric(metric, heading, stems, tables, context["generation_labels"])
    lines += _excerpts(context, heading)
    lines += [f"{heading}# Every rule and its result", ""]
    lines += _table(["Rule", "Severity", "Title", "Findings"],
                    [[r["rule"].id, r["rule"].severity, md(r["rule"].title), str(len(r["findings"]))]
                     for r in context["rules"]],
                    tables.table("rules"), "The fixed rules and how many findings each raised")
    if context["notes_markdown"]:
        lines += [f"{heading}# Author's notes", "", safe_notes(context["notes_markdown"], len(heading) + 2), ""]
    lines += [f"{heading}# Provenance", "",
              f"Written by welfare-report {context['tool_version']}, rule set {context['ruleset']}, as of "
              f"{context['as_of']}" + (f", from the history whose merge-log chain head is `{context['chain_head']}`"
                                       if context["chain_head"] else "") + ".", ""]
    files = {MARKDOWN_NAME: "\n".join(lines).encode("utf-8")}
    files |= {f"{MARKDOWN_CHARTS}/{stem}.svg": chart.svg.encode("utf-8") for stem, chart in figures}
    return files


def _summary(context: dict[str, Any]) -> list[str]:
    lines = []
    for group in context["summary_groups"]:
        events = "".join(f" · {e.kind.replace('_', ' ')} ({e.date})" for e in group.events)
        lines += [f"**{md(group.title)}**{events}", ""]
        verdicts = " ".join(f"{word.capitalize()}: {', '.join(md(n) for n in names)}." for word, names in group.verdicts)
        if verdicts:
            lines += [verdicts, ""]
        for item in group.items:
            reviewed = " (reviewed by a person)" if item.all_acknowledged else ""
            lines.append(f"- **{item.rule}** {md(item.title)}: {'; '.join(md(s) for s in item.sizes)}{reviewed}")
        if group.items:
            lines.append("")
    return lines


def _named(values: dict[str, int]) -> str:
    """The values where there are at most two, else how many."""
    return str(len(values)) if len(values) > 2 else md(", ".join(values))


def _methods(context: dict[str, Any], heading: str, tables: Any) -> list[str]:
    labels = context["generation_labels"]
    rows = [[md(labels[r["generation"]]), f"{r['answers']:,}",
             f"{r['interviews']:,}" if r["interviews"] else "none recorded",
             f"{r['method'].get('manual_interview', 0):,}",
             f"{r['framing'].get('positive_lead', 0) + r['framing'].get('negative_lead', 0):,}",
             *(_named(r[c]) for c in ("topic", "prompt_variant", "system_prompt", "instrument"))]
            for r in context["methods"]]
    header = ["Generation", "Answers", "Interviews", "Manual", "Leading", "Topics", "Variants", "System prompts",
              "Instruments"]
    return [f"{heading}# Methods", "",
            *_table(header, rows, tables.table("methods"), "Answers and ways of asking per generation")]


def _excerpts(context: dict[str, Any], heading: str) -> list[str]:
    lines = [f"{heading}# Qualitative evidence", ""]
    labels, metric_labels = context["generation_labels"], context["metric_labels"]
    for group in context["excerpt_groups"]:
        lines += [f"**{md(labels[group['generation']])} · {md(group['tag'].replace('_', ' '))}**", ""]
        for e in group["items"]:
            lines += [f"> {md(e.text)}", ">", f"> {md(metric_labels.get(e.metric, e.metric))}, {e.collected_on}"
                      + (" · featured" if e.featured else ""), ""]
    if not context["excerpt_groups"]:
        lines += ["No excerpts were recorded.", ""]
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


def _metric(metric: dict[str, Any], heading: str, stems: dict[str, str], tables: Any,
            labels: dict[str, str]) -> list[str]:
    from .charts import transition_label

    lines = [f"{heading}# {md(metric['label'])} (scale {metric['scale']})", ""]
    if metric["question"]:
        lines += [f"Question: {md(metric['question'])}", ""]
    for chart in metric["figures"]:
        lines += [f"![{md(chart.description)}]({MARKDOWN_CHARTS}/{stems[chart.id]}.svg)", "",
                  f"*{chart.label}.* {md(chart.title)}", ""]
    name = metric["name"]
    lines += _table(
        ["Generation", "Source", "n", "Mean", "95% CI"],
        [[md(labels[s.generation]), s.source, f"{s.n:,}", words.number(s.mean),
          f"{words.number(s.ci_low)} to {words.number(s.ci_high)}"] for s in metric["stats"]],
        tables.table(f"stats-{name}"), f"{md(metric['label'])}: figures per generation")
    if metric["comparisons"]:
        lines += _table(
            ["Comparison", "Delta", "95% CI", "p (Holm)", "Verdict"],
            [[md(transition_label(c, labels)), words.signed(c.delta),
              f"{words.signed(c.ci_low)} to {words.signed(c.ci_high)}", words.p_value(c.p_holm),
              md(words.verdict(c.verdict, metric["jump_size"], min(c.before.n, c.after.n), MIN_N))]
             for c in metric["comparisons"]], tables.table(f"comparisons-{name}"), f"{md(metric['label'])}: comparisons")
    return lines


def chart_files(context: dict[str, Any], data: dict[str, list[list[object]]]) -> dict[str, bytes]:
    """charts/: every figure as SVG and PNG, with a CSV of what it draws."""
    files: dict[str, bytes] = {}
    for stem, chart in _figures(context):
        files[f"{CHARTS_FOLDER}/{stem}.svg"] = chart.svg.encode("utf-8")
        files[f"{CHARTS_FOLDER}/{stem}.png"] = chart.png
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(data.get(chart.id, [["no data"]]))
        files[f"{CHARTS_FOLDER}/{stem}.csv"] = buffer.getvalue().encode("utf-8")
    return files


def chart_data(analysis: Analysis, context: dict[str, Any]) -> dict[str, list[list[object]]]:
    """The figures each chart draws, by chart id: the rows of its CSV."""
    data: dict[str, list[list[object]]] = {}
    for metric in context["metrics"]:
        stats, name = metric["stats"], metric["name"]
        if metric["trend"]:
            data[metric["trend"].id] = [["generation", "source", "n", "mean", "ci_low", "ci_high", "contaminated",
                                         "mean_without_redirected"]] + [
                [s.generation, s.source, s.n, s.mean, s.ci_low, s.ci_high, s.contaminated, s.mean_without_redirected]
                for s in stats]
        if metric["change"]:
            data[metric["change"].id] = [["from", "to", "split", "delta", "ci_low", "ci_high", "p_holm", "verdict"]] + [
                [c.from_, c.to, c.split.label() if c.split else "", c.delta, c.ci_low, c.ci_high, c.p_holm, c.verdict]
                for c in metric["comparisons"]]
        if metric["distribution"]:
            points = metric["points"]
            data[metric["distribution"].id] = [["generation", *points]] + [
                [s.generation, *(s.shares.get(p, 0.0) for p in points)] for s in stats if s.shares]
        if metric["rates"]:
            tags = metric["concern_tags"]
            shares = context["concern_shares"]
            data[metric["rates"].id] = [["generation", "redirect_rate", "decline_rate", *tags]] + [
                [s.generation, s.redirect_rate, s.decline_rate, *(shares.get((s.generation, name, t), 0.0) for t in tags)]
                for s in stats if s.redirect_rate is not None]
        if metric["robustness"]:
            data[metric["robustness"].id] = [["generation", "lead_gap", "lead_ci_low", "lead_ci_high", "variants",
                                              "variant_spread"]] + [
                [r["generation"], *((r["lead"].size, r["lead"].ci_low, r["lead"].ci_high) if r["lead"] else ("", "", "")),
                 r["variants"], r["spread"].size if r["spread"] else ""] for r in metric["robustness_rows"]]
        if metric["evidence"]:
            data[metric["evidence"].id] = [["from", "to", "measure", "self_report_change", "measure_change", "difference",
                                            "ci_low", "ci_high", "p_holm"]] + [
                [p.from_, p.to, p.measure, p.self_report_change, p.measure_change, p.difference, p.ci_low, p.ci_high,
                 p.p_holm] for p in metric["pairs"] if p.split is None]
    return data

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


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _figures(context: dict[str, Any]) -> list[tuple[str, Chart]]:
    """Every chart in the order the section shows them, with a file-name stem numbered from 1."""
    charts: list[Chart] = []
    for metric in context["metrics"]:
        charts += [c for c in (metric["trend"], metric["evidence"], metric["distribution"], metric["rates"]) if c]
    if context["concern"]["chart"]:
        charts.append(context["concern"]["chart"])
    return [(f"figure-{number:02d}-{_slug(chart.title)}", chart) for number, chart in enumerate(charts, 1)]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def markdown_files(context: dict[str, Any]) -> dict[str, bytes]:
    """welfare-section.md and its charts, by path inside the output folder."""
    figures = _figures(context)
    stems = {chart.id: stem for stem, chart in figures}
    heading = "#" * int(context["heading_level"])
    lines = [f"{heading} {md(context['title'])}", "",
             f"As of {context['as_of']} · {context['counts']['generations']} generations · "
             f"{context['counts']['answers']} answers · rule set {context['ruleset']}", "",
             f"{heading}# Summary of findings", "", md(context["summary_sentence"]), ""]
    for label, group in (("Open flags", context["open_flags"]), ("Flags reviewed by a person", context["acknowledged_flags"]),
                         ("Notes", context["notes_findings"])):
        if group:
            lines += [f"**{label}**", ""] + [f"- **{f.rule}** {md(f.message)}" for f in group] + [""]
    for metric in context["metrics"]:
        lines += _metric(metric, heading, stems)
    lines += [f"{heading}# Rules", ""]
    lines += _table(["Rule", "Severity", "Title", "Findings"],
                    [[r["rule"].id, r["rule"].severity, md(r["rule"].title), str(len(r["findings"]))] for r in context["rules"]])
    lines += [f"{heading}# Provenance", "",
              f"Written by welfare-report {context['tool_version']}, rule set {context['ruleset']}, as of "
              f"{context['as_of']}" + (f", from the history whose merge-log chain head is `{context['chain_head']}`"
                                       if context["chain_head"] else "") + ".", ""]
    files = {MARKDOWN_NAME: "\n".join(lines).encode("utf-8")}
    files |= {f"{MARKDOWN_CHARTS}/{stem}.svg": chart.svg.encode("utf-8") for stem, chart in figures}
    return files


def _metric(metric: dict[str, Any], heading: str, stems: dict[str, str]) -> list[str]:
    lines = [f"{heading}# {md(metric['label'])} ({md(metric['name'])}, scale {metric['scale']})", ""]
    if metric["question"]:
        lines += [f"Question: {md(metric['question'])}", ""]
    for chart in (metric["trend"], metric["evidence"]):
        if chart:
            lines += [f"![{md(chart.description)}]({MARKDOWN_CHARTS}/{stems[chart.id]}.svg)", ""]
    lines += _table(
        ["Generation", "Source", "n", "Mean", "95% CI"],
        [[md(s.generation), s.source, f"{s.n:,}", words.number(s.mean), f"{words.number(s.ci_low)} to {words.number(s.ci_high)}"]
         for s in metric["stats"]])
    if metric["comparisons"]:
        lines += _table(
            ["Comparison", "Delta", "95% CI", "p (Holm)", "Verdict"],
            [[md(f"{c.to}: {c.split.label()}" if c.split else f"{c.from_} -> {c.to}"), words.signed(c.delta),
              f"{words.signed(c.ci_low)} to {words.signed(c.ci_high)}", words.p_value(c.p_holm),
              md(words.verdict(c.verdict, metric["jump_size"], min(c.before.n, c.after.n), MIN_N))]
             for c in metric["comparisons"]])
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
        stats = metric["stats"]
        if metric["trend"]:
            data[metric["trend"].id] = [["generation", "source", "n", "mean", "ci_low", "ci_high", "contaminated"]] + [
                [s.generation, s.source, s.n, s.mean, s.ci_low, s.ci_high, s.contaminated] for s in stats]
        if metric["distribution"]:
            points = metric["points"]
            data[metric["distribution"].id] = [["generation", *points]] + [
                [s.generation, *(s.shares.get(p, 0.0) for p in points)] for s in stats if s.shares]
        if metric["rates"]:
            data[metric["rates"].id] = [["generation", "redirect_rate", "decline_rate"]] + [
                [s.generation, s.redirect_rate, s.decline_rate] for s in stats if s.redirect_rate is not None]
        if metric["evidence"]:
            data[metric["evidence"].id] = [["from", "to", "measure", "self_report_change", "measure_change", "difference",
                                            "ci_low", "ci_high", "p_holm"]] + [
                [p.from_, p.to, p.measure, p.self_report_change, p.measure_change, p.difference, p.ci_low, p.ci_high,
                 p.p_holm] for p in metric["pairs"] if p.split is None]
    concern = context["concern"]
    if concern["chart"]:
        data[concern["chart"].id] = [["generation", "tag", "share"]] + [
            [g, t, concern["shares"].get((g, t), 0.0)] for g in concern["generations"] for t in concern["tags"]]
    return data

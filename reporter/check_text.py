"""The human summary `check` prints: one line per finding, grouped by severity."""

from __future__ import annotations

import csv
import io
import textwrap

from . import phrasing
from .findings import Findings, acknowledgement_key
from .schema import SEVERITIES

# A finding wraps to fit a terminal of 100 columns; keys and ids are never broken.
WIDTH = 100


def check_summary(findings: Findings) -> str:
    """What `check` prints: the tallies, then each finding by severity with its acknowledgement key."""
    flags = findings.raised
    tally = findings.tally()
    lines = [
        f"as of {findings.as_of}, rule set {findings.ruleset}: {phrasing.count(tally.errors, 'error')}, "
        f"{phrasing.count(tally.flags, 'flag')} ({tally.acknowledged} acknowledged), {phrasing.count(tally.notes, 'note')}"
    ]
    for severity in SEVERITIES:
        group = [f for f in flags if f.severity == severity]
        if not group:
            continue
        lines.append("")
        lines.append(f"{severity.upper()}S")
        for f in group:
            line = f"{f.rule} {f.message}"
            if f.acknowledged:
                a = f.acknowledged
                line += f" [acknowledged by {_one_line(a['by'])} on {a['date']}: {_one_line(a['reason'])}]"
            lines += textwrap.wrap(line, WIDTH, initial_indent="  ", subsequent_indent="        ",
                                   break_long_words=False, break_on_hyphens=False)
            if severity == "flag" and not f.acknowledged:
                lines.append(f"        key: {f.key}")
    if findings.unmatched:
        lines += ["", "ACKNOWLEDGEMENTS THAT MATCH NOTHING"]
        for a in findings.unmatched:
            key = acknowledgement_key(a.rule, a.metric, a.generations)
            lines.append(f"  {key} (by {_one_line(a.by)} on {a.date}): no finding has this rule, metric and generations")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """A person's words on one line: a line break in them can never start a line of the summary."""
    return " ".join(text.split())


def acknowledgements_template(findings: Findings) -> bytes:
    """The open flags as an acknowledgements file: fill in reason, by and date, then merge it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rule", "generations", "metric", "reason", "by", "date"])
    for f in findings.open_flags():
        writer.writerow([f.rule, ";".join(f.generations), f.metric or "", "", "", ""])
    return buffer.getvalue().encode("utf-8")

"""The human summary `check` prints: one line per finding, grouped by severity."""

from __future__ import annotations

from .findings import SEVERITIES, Findings


def check_summary(findings: Findings) -> str:
    flags = findings.flags
    counts = {s: sum(1 for f in flags if f.severity == s) for s in SEVERITIES}
    acknowledged = sum(1 for f in flags if f.acknowledged)
    lines = [
        f"as of {findings.as_of}, rule set {findings.ruleset}: {counts['error']} errors, "
        f"{counts['flag']} flags ({acknowledged} acknowledged), {counts['note']} notes"
    ]
    for severity in SEVERITIES:
        group = [f for f in flags if f.severity == severity]
        if not group:
            continue
        lines.append("")
        lines.append(f"{severity.upper()}S")
        for f in group:
            line = f"  {f.rule} {f.message}"
            if f.acknowledged:
                a = f.acknowledged
                line += f" [acknowledged by {a['by']} on {a['date']}: {a['reason']}]"
            lines.append(line)
    return "\n".join(lines)

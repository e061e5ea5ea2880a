"""`diff OLD NEW`: what changed between two reports, for an auditor holding both.

The comparison works on findings documents (what `findings.json` holds), so
the same function answers `diff` of two folders and `quarterly`'s "since the
previous quarter", which compares the findings of the history at two dates:
the two cannot disagree. Reading the folders (and refusing an edited one)
is `audit.diff_folders`'s work; this module only compares and writes.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .check_text import WIDTH
from .errors import ReporterError, escaped
from .findings import EARLIER_SCHEMAS, SCHEMA

DIFF_SCHEMA = "welfare-report/diff/1"
FINDINGS_SCHEMAS = (SCHEMA, *EARLIER_SCHEMAS)
# What a report records about how it was made; a difference here comes before any figure.
_SETTINGS = ("as_of", "ruleset", "tool_version", "schema")

Record = dict[str, Any]
FlagKey = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Chain:
    """Where each report's chain head sits in a history's merge log (oldest first), when one was named."""

    heads: Sequence[str]

    def position(self, head: object) -> int | None:
        return self.heads.index(head) if isinstance(head, str) and head in self.heads else None


def compare(old: Mapping[str, Any], new: Mapping[str, Any], chain: Chain | None = None,
            names: tuple[str, str] = ("OLD", "NEW")) -> Record:
    """Every difference between two findings documents, as the `welfare-report/diff/1` document."""
    try:
        changes: Record = {
            "history": _history(old, new, chain),
            "settings": _settings(old, new),
            "generations": _added_removed(old, new, "generations", "generation"),
            "metrics": _added_removed(old, new, "metrics", "metric"),
            "figures": _figures(old, new),
            "verdicts": _verdicts(old, new),
            "flags": _flags(old, new),
            "unmatched_acknowledgements": _unmatched(old, new),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ReporterError(f"a findings file is not as this tool writes it ({type(err).__name__}: {err})") from None
    history = changes["history"]
    differs = any(changes[k] for k in ("settings", "figures", "verdicts", "unmatched_acknowledgements")) or any(
        changes[k]["added"] or changes[k]["removed"] for k in ("generations", "metrics")) or any(
        changes["flags"].values()) or bool(history and (history["rewritten"] or history["grew"]))
    return {
        "schema": DIFF_SCHEMA,
        "old": _report_summary(names[0], old),
        "new": _report_summary(names[1], new),
        "differs": differs,
        **changes,
    }


def _report_summary(name: str, document: Mapping[str, Any]) -> Record:
    return {"report": name, "as_of": document.get("as_of"), "chain_head": document.get("chain_head"),
            "ruleset": document.get("ruleset"), "tool_version": document.get("tool_version"),
            "findings_schema": document.get("schema")}


def _history(old: Mapping[str, Any], new: Mapping[str, Any], chain: Chain | None) -> Record | None:
    """With a history: a head not in its chain (rewritten after that report), else whether it grew between them."""
    if chain is None:
        return None
    heads = {side: document.get("chain_head") for side, document in (("old", old), ("new", new))}
    positions = {side: chain.position(head) for side, head in heads.items()}
    # A report of findings schema 1 records no head: nothing can be said of it either way.
    rewritten = [{"report": side, "chain_head": heads[side]} for side in ("old", "new")
                 if heads[side] is not None and positions[side] is None]
    before, after = positions["old"], positions["new"]
    grew = not rewritten and before is not None and after is not None and before < after
    return {"rewritten": rewritten, "grew": grew, "old_head": heads["old"], "new_head": heads["new"],
            "merges_between": after - before if grew and before is not None and after is not None else 0}


def _settings(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Record]:
    found = [{"setting": key, "old": old.get(key), "new": new.get(key)} for key in _SETTINGS
             if old.get(key) != new.get(key)]
    old_options, new_options = old.get("options"), new.get("options")
    if not isinstance(old_options, dict) or not isinstance(new_options, dict):
        # Findings schema 1 recorded no options: one line says so, not one per option the other has.
        return found + ([{"setting": "options", "old": old_options, "new": new_options}]
                        if old_options != new_options else [])
    for key in sorted(set(old_options) | set(new_options)):
        if old_options.get(key) != new_options.get(key):
            found.append({"setting": f"options.{key}", "old": old_options.get(key), "new": new_options.get(key)})
    return found


def _records(document: Mapping[str, Any], key: str) -> list[Record]:
    value = document.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"its {key} are not a list of records")
    return value


def _added_removed(old: Mapping[str, Any], new: Mapping[str, Any], key: str, name: str) -> Record:
    then = {r[name]: r for r in _records(old, key)}
    now = {r[name]: r for r in _records(new, key)}
    return {"added": [now[k] for k in now if k not in then], "removed": [then[k] for k in then if k not in now]}


def _figure(stat: Mapping[str, Any]) -> Record:
    return {"n": stat.get("n"), "mean": stat.get("mean"), "source": stat.get("source")}


def _rows_by_generation(document: Mapping[str, Any]) -> dict[str, int]:
    """Answer rows each generation's observation file held as of the report."""
    prefix = "observations/"
    return {i["path"][len(prefix):-len(".csv")]: int(i["rows"]) for i in _records(document, "inputs")
            if str(i.get("path", "")).startswith(prefix) and str(i["path"]).endswith(".csv")}


def _correction_key(c: Mapping[str, Any]) -> tuple[Any, ...]:
    return (c.get("generation"), c.get("metric"), c.get("key"), c.get("action"), c.get("date"))


def _figures(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Record]:
    """Each generation and metric in both whose n or mean moved, with the corrections and rows that moved it."""
    then = {(s["generation"], s["metric"]): s for s in _records(old, "stats")}
    known = {_correction_key(c) for c in _records(old, "corrections")}
    corrections = [c for c in _records(new, "corrections") if _correction_key(c) not in known]
    rows_then, rows_now = _rows_by_generation(old), _rows_by_generation(new)
    found = []
    for stat in _records(new, "stats"):
        generation, metric = stat["generation"], stat["metric"]
        before = then.get((generation, metric))
        if before is None or _figure(before) == _figure(stat):
            continue
        found.append({
            "generation": generation, "metric": metric, "old": _figure(before), "new": _figure(stat),
            "corrections": [c for c in corrections if (c.get("generation"), c.get("metric")) == (generation, metric)],
            "rows_merged": rows_now.get(generation, 0) - rows_then.get(generation, 0),
        })
    return found


def _comparison_key(c: Mapping[str, Any]) -> tuple[Any, ...]:
    # A within-generation split (a system prompt changed mid-generation) is a comparison of its own.
    return (c["metric"], c["from"], c["to"], json.dumps(c.get("split"), sort_keys=True))


def _verdicts(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Record]:
    then = {_comparison_key(c): c for c in _records(old, "comparisons")}
    found = []
    for c in _records(new, "comparisons"):
        before = then.get(_comparison_key(c))
        if before is not None and before.get("verdict") != c.get("verdict"):
            found.append({"metric": c["metric"], "from": c["from"], "to": c["to"], "split": c.get("split"),
                          "old": {"verdict": before.get("verdict"), "delta": before.get("delta")},
                          "new": {"verdict": c.get("verdict"), "delta": c.get("delta")}})
    return found


def flag_key(flag: Mapping[str, Any]) -> FlagKey:
    """A finding's identity across reports: its rule, metric and generations (schema 1 has no `key`)."""
    return (str(flag["rule"]), str(flag.get("metric") or ""), tuple(str(g) for g in flag["generations"]))


def _flag(flag: Mapping[str, Any]) -> Record:
    return {k: flag.get(k) for k in ("rule", "severity", "metric", "generations", "message", "acknowledged")}


def _flags(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Record]]:
    """Findings opened, closed, acknowledged and reopened between the two reports, in the newer one's order."""
    then = {flag_key(f): f for f in _records(old, "flags")}
    now = {flag_key(f): f for f in _records(new, "flags")}
    return {
        "opened": [_flag(f) for k, f in now.items() if k not in then],
        "closed": [_flag(f) for k, f in then.items() if k not in now],
        "acknowledged": [_flag(f) for k, f in now.items()
                         if k in then and f.get("acknowledged") and not then[k].get("acknowledged")],
        "reopened": [_flag(f) for k, f in now.items()
                     if k in then and then[k].get("acknowledged") and not f.get("acknowledged")],
    }


def _unmatched(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Record]:
    """Acknowledgements that match nothing in the newer report and did match in the older one (or were not there)."""
    def key(a: Mapping[str, Any]) -> tuple[Any, ...]:
        return (a.get("rule"), a.get("metric") or "", tuple(a.get("generations") or ()), a.get("by"), a.get("date"))

    known = {key(a) for a in _records(old, "unmatched_acknowledgements")}
    return [a for a in _records(new, "unmatched_acknowledgements") if key(a) not in known]


# -- what a person reads ------------------------------------------------------------------------

def _number(value: object) -> str:
    return "none" if value is None else f"{value:+.3g}" if isinstance(value, float) else str(value)


def _generations(flag: Mapping[str, Any], quote: Callable[[object], str]) -> str:
    return " to ".join(quote(g) for g in flag.get("generations") or [])


def _figure_text(change: Mapping[str, Any], quote: Callable[[object], str]) -> str:
    old, new = change["old"], change["new"]
    parts = [f"{label} {quote(old[key])} -> {quote(new[key])}" for key, label in (("n", "n"), ("mean", "mean"), ("source", "from"))
             if old[key] != new[key]]
    if change["rows_merged"]:
        parts.append(f"{change['rows_merged']:+d} rows in its observation file (after corrections)")
    return "; ".join(parts)


def _history_lines(diff: Mapping[str, Any], quote: Callable[[object], str]) -> list[tuple[str, str]]:
    history = diff["history"]
    if not history:
        return []
    found = [("history rewritten", f"{quote(diff[item['report']]['report'])}'s chain head {quote(item['chain_head'])} "
              "is not in the history's merge log: the history was rewritten after that report")
             for item in history["rewritten"]]
    if history["grew"]:
        found.append(("history grew", f"{history['merges_between']} merges between the two reports' chain heads"))
    return found


def _figure_lines(f: Mapping[str, Any], quote: Callable[[object], str]) -> list[tuple[str, str]]:
    return [("figure", f"{quote(f['generation'])} {quote(f['metric'])}: {_figure_text(f, quote)}")] + [
        ("correction", f"{quote(c['action'])} of {quote(c['generation'])} {quote(c['metric'])} key {quote(c['key'])} "
                       f"by {quote(c['by'])} on {quote(c['date'])}: {quote(c['reason'])}") for c in f["corrections"]]


def _verdict_line(v: Mapping[str, Any], quote: Callable[[object], str]) -> tuple[str, str]:
    split = v["split"]
    within = (f" (within, by {quote(split.get('by'))}: {quote(split.get('before'))} -> {quote(split.get('after'))})"
              if isinstance(split, dict) else "")
    old, new = v["old"], v["new"]
    return ("verdict", f"{quote(v['metric'])} {quote(v['from'])} -> {quote(v['to'])}{within}: "
                       f"{quote(old['verdict'])} (delta {quote(_number(old['delta']))}) -> "
                       f"{quote(new['verdict'])} (delta {quote(_number(new['delta']))})")


def lines(diff: Mapping[str, Any], quote: Callable[[object], str]) -> list[tuple[str, str]]:
    """Every difference as (heading, sentence), in the contract's order; `quote` makes untrusted text inert."""
    found = _history_lines(diff, quote)
    found += [("setting", f"{quote(s['setting'])}: {quote(json.dumps(s['old']))} -> {quote(json.dumps(s['new']))}")
              for s in diff["settings"]]
    for key, word in (("generations", "generation"), ("metrics", "metric")):
        for change in ("added", "removed"):
            found += [(f"{word} {change}", quote(item[word]) + (f" ({quote(item['label'])})" if item.get("label") else ""))
                      for item in diff[key][change]]
    for f in diff["figures"]:
        found += _figure_lines(f, quote)
    found += [_verdict_line(v, quote) for v in diff["verdicts"]]
    for change in ("opened", "closed", "acknowledged", "reopened"):
        found += [(f"flag {change}", _flag_text(flag, quote)) for flag in diff["flags"][change]]
    found += [("acknowledgement matches nothing", f"{quote(a['rule'])} {quote(a.get('metric') or '')} "
               f"{_generations(a, quote)} by {quote(a['by'])} on {quote(a['date'])}")
              for a in diff["unmatched_acknowledgements"]]
    return found


def _flag_text(flag: Mapping[str, Any], quote: Callable[[object], str]) -> str:
    text = f"{quote(flag['rule'])} {quote(flag.get('metric') or '(whole transition)')} {_generations(flag, quote)}: "
    text += quote(flag["message"])
    acknowledged = flag.get("acknowledged")
    if acknowledged:
        text += (f" Acknowledged by {quote(acknowledged.get('by'))} on {quote(acknowledged.get('date'))}: "
                 f"{quote(acknowledged.get('reason'))}")
    return text


def _terminal(value: object) -> str:
    return escaped(str(value))


def text(diff: Mapping[str, Any]) -> str:
    """The terminal listing: nothing at all when nothing differs."""
    if not diff["differs"]:
        return ""
    old, new = diff["old"], diff["new"]
    head = (f"{_terminal(old['report'])} (as of {_terminal(old['as_of'])}) -> "
            f"{_terminal(new['report'])} (as of {_terminal(new['as_of'])})")
    listed = [head]
    for heading, sentence in lines(diff, _terminal):
        # As `check` does: each difference wraps to 100 columns, continued under a deeper indent.
        listed += textwrap.wrap(f"{heading}: {sentence}", WIDTH, subsequent_indent="    ",
                                break_long_words=False, break_on_hyphens=False)
    return "\n".join(listed)


def markdown(diff: Mapping[str, Any]) -> str:
    """A section to paste into an audit note; every untrusted value escaped so it stays text."""
    from .markdown import md

    def quote(value: object) -> str:
        # A render folder's findings have no manifest to vouch for them: control characters are shown, not passed.
        return md(escaped(str(value)))

    old, new = diff["old"], diff["new"]
    out = ["## Changes between two welfare reports", "",
           f"From {quote(old['report'])} (as of {quote(old['as_of'])}, rule set {quote(old['ruleset'])}) "
           f"to {quote(new['report'])} (as of {quote(new['as_of'])}, rule set {quote(new['ruleset'])}).", ""]
    found = lines(diff, quote)
    if not found:
        return "\n".join([*out, "Nothing differs.", ""])
    return "\n".join([*out, *(f"- **{heading}**: {sentence}" for heading, sentence in found), ""])


def dumps(diff: Mapping[str, Any]) -> str:
    return json.dumps(diff, indent=2, sort_keys=True, ensure_ascii=True) + "\n"

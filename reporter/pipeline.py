"""The pipeline, chained in one place: the store read as a history, analysed, the rules applied.

`check`, `trend`, `render`, `quarterly` and `verify REPORT_DIR` all come
through here, so a report and its verification can never compute differently.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .analyze import Analysis, analyze
from .findings import Findings
from .history import load_history
from .provenance import used_inputs
from .rules import apply_rules
from .store import Store


def findings_of(store: Store, as_of: str | None = None, with_excerpts: bool = False) -> Findings:
    """Findings as of a date; `with_excerpts` also reads the quotes a report shows."""
    with store.locked(exclusive=False):
        history = load_history(store, as_of, with_excerpts)
        inputs = used_inputs(store, history)
        head = store.manifest().head
    return replace(apply_rules(analyze(history), inputs), chain_head=head)


def findings_for(history_root: str | Path, as_of: str | None = None, with_excerpts: bool = False) -> Findings:
    return findings_of(Store(history_root), as_of, with_excerpts)


def analysis_for(history_root: str | Path, as_of: str | None = None) -> Analysis:
    """The analysis alone, for `trend`: no rules, no digests of the inputs."""
    store = Store(history_root)
    with store.locked(exclusive=False):
        history = load_history(store, as_of)
    return analyze(history)

"""The default pipeline, as one visible list of steps: load, analyse, apply the rules."""

from __future__ import annotations

from pathlib import Path

from .analyze import Analysis, analyze
from .findings import Findings
from .history import load_history
from .provenance import used_inputs
from .rules import apply_rules
from .store import Store


def findings_for(history_root: str | Path, as_of: str | None = None, with_excerpts: bool = False) -> Findings:
    """Findings as of a date; `with_excerpts` also reads the quotes a report shows."""
    store = Store(history_root)
    with store.locked(exclusive=False):
        history = load_history(store, as_of, with_excerpts)
        inputs = used_inputs(store, history)
    return apply_rules(analyze(history), inputs)


def analysis_for(history_root: str | Path, as_of: str | None = None) -> Analysis:
    store = Store(history_root)
    with store.locked(exclusive=False):
        history = load_history(store, as_of)
    return analyze(history)

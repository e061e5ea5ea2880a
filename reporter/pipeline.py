"""The pipeline, chained in one place: the store read as a history, analysed, the rules applied.

`check`, `trend`, `render`, `quarterly` and `verify REPORT_DIR` all come
through here, so a report and its verification can never compute differently.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .analyze import analyze
from .errors import StoreError
from .findings import Findings
from .history import History, load_history
from .provenance import used_inputs
from .results import Analysis
from .rules import apply_rules
from .store import Store


def findings_from_store(
    store: Store, as_of: str | None = None, with_excerpts: bool = False, require_verified: bool = True,
) -> Findings:
    """Findings as of a date; `with_excerpts` also reads the quotes a report shows.

    Only `verify REPORT_DIR`, which lists the store's problems itself, reads an unverified history.
    """
    with store.locked(exclusive=False):
        verified = store.require_verified("it is not analysed") if require_verified else None
        history = _with_data(load_history(store, as_of, with_excerpts))
        inputs = used_inputs(store, history, verified)
        head = (verified or store.manifest()).head
    return replace(apply_rules(analyze(history), inputs), chain_head=head)


class NothingToAnalyse(StoreError):
    """The history holds no answers or summaries at the as-of date."""


def _with_data(history: History) -> History:
    """An empty history never yields a report that says nothing was flagged."""
    if not len(history.answers) and not history.summaries:
        raise NothingToAnalyse(f"the history has no answers or summaries dated on or before {history.as_of}; "
                         "there is nothing to analyse")
    return history


def findings_from_path(
    history_root: str | Path, as_of: str | None = None, with_excerpts: bool = False, require_verified: bool = True,
) -> Findings:
    """`findings_from_store` for the store at a path."""
    return findings_from_store(Store(history_root), as_of, with_excerpts, require_verified)


def analysis_from_path(history_root: str | Path, as_of: str | None = None) -> Analysis:
    """The analysis alone, for `trend` and `plan`: no rules, no digests of the inputs."""
    return analysis_from_store(Store(history_root), as_of)


def analysis_from_store(store: Store, as_of: str | None = None) -> Analysis:
    """`analysis_from_path` for an open store."""
    with store.locked(exclusive=False):
        store.require_verified("it is not analysed")
        history = _with_data(load_history(store, as_of))
    return analyze(history)

"""`validate`: every problem of a set of input files, without writing anything."""

from __future__ import annotations

from pathlib import Path

from . import schema
from .errors import Problem
from .history import Store
from .load import Registries, check_references, read_input


def validate_files(paths: list[Path], kind: str | None, history: Path) -> list[Problem]:
    """File-local problems first, then references against the history and the files themselves."""
    files = [read_input(p, kind) for p in paths]
    problems = [p for f in files for p in f.problems]
    known = Registries()
    if (history / schema.MANIFEST).is_file():
        store = Store(history)
        with store.locked(exclusive=False):
            known = store.registries()
    problems += check_references(files, known)
    return problems

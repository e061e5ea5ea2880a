"""welfare-report: the model-welfare section of a system card, from self-report data.

Data flows one way, one module a stage:

    input files --inputs--> rows --store.merge--> history/ (store + manifest)
    history/ --history.load_history--> History --analyze--> Analysis
             --rules.apply_rules--> Findings --render--> html | fragment | pdf | json

`pipeline` chains the read, the analysis and the rules in one place; `cli`
turns options into one call and its result into output and an exit code.
"""

__version__ = "0.2.0"

from typing import TYPE_CHECKING

# The public surface is `reporter.api`, re-exported here on first use: `import reporter` (which every
# command does) stays as light as the command line needs. Type checkers see the real names.
if TYPE_CHECKING:
    from .api import (
        ConflictError,
        Findings,
        MergeResult,
        ReporterError,
        StoreError,
        ValidationError,
        WelfareHistory,
        open_history,
        render,
    )

__all__ = [
    "ConflictError", "Findings", "MergeResult", "ReporterError", "StoreError", "ValidationError", "WelfareHistory",
    "open_history", "render",
]


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'reporter' has no attribute {name!r}")

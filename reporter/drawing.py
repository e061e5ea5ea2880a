"""The chart helper: a process that imports the plotting libraries while a command analyses the history.

Kept apart from `charts` so that a command can start it first thing, before
it imports numpy or reads a file: the earlier it starts, the sooner it is
ready, and a process forked before any thread runs is safe to fork. The
helper imports `charts` itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .charts import Chart
    from .findings import Finding
    from .results import Analysis

# Drawing is CPU-bound and each chart independent. A command that renders starts a warm-up
# process first (`chart_workers`): it imports matplotlib and seaborn while the command reads and
# analyses the history. Given the charts to draw, it forks once more, so two processes that paid
# for those imports once draw every other chart each from a copy of the aggregated analysis.
# The warm-up process is a fork of the command taken before it reads anything: a process that
# already runs threads (pyarrow's pool, a test runner's) cannot be forked safely, so there the
# charts are drawn in the command itself.
TWO_CORES = (os.cpu_count() or 1) >= 2
connection: Any = None  # the command's end of the pipe to the helper, inside `chart_workers`


def _die_with_parent() -> None:
    """Ask Linux to end this process when its parent dies (kill -9 included): drawing on helps nobody."""
    import ctypes
    import ctypes.util
    import signal

    set_parent_death_signal = 1  # PR_SET_PDEATHSIG
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl(
            set_parent_death_signal, int(signal.SIGKILL), 0, 0, 0)


def _draw_in_two(request: tuple[Any, ...]) -> list[Any]:
    """In the helper: fork, draw every other job here and the rest in the fork, merge in job order."""
    import pickle

    from .charts import draw_jobs

    analysis, flags, exports, jobs = request
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the fork: draw the odd jobs, hand them back, and leave without cleanup
        _die_with_parent()
        os.close(read_end)
        try:
            data = pickle.dumps(draw_jobs(analysis, flags, exports, jobs[1::2]))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(0)
    os.close(write_end)
    even = draw_jobs(analysis, flags, exports, jobs[0::2])
    with os.fdopen(read_end, "rb") as pipe:
        odd = pickle.loads(pipe.read())
    os.waitpid(child, 0)
    merged: list[Any] = [None] * len(jobs)
    merged[0::2], merged[1::2] = even, odd
    return merged


def _warm_process(connection: Any, parents_end: Any) -> None:
    import signal

    # Ctrl-C is the command's to handle: this helper ends when the command closes the pipe, or dies.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    # The fork holds a copy of the parent's end too: closed, so the parent's death reads as end of file.
    parents_end.close()
    from .charts import chart_context

    with chart_context():
        pass  # the imports, paid once, while the parent analyses
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if request is None:
            return
        try:
            reply: tuple[str, Any] = ("charts", _draw_in_two(request))
        except Exception as err:  # a drawing error is reported in the parent, not lost here
            reply = ("error", f"{type(err).__name__}: {err}")
        try:
            connection.send(reply)
        except OSError:
            return


def _fork_is_safe() -> bool:
    """No thread but this one yet: no Python thread, and pyarrow (whose pool starts threads) not loaded."""
    import sys
    import threading

    return threading.active_count() == 1 and "pyarrow" not in sys.modules


@contextlib.contextmanager
def chart_workers() -> Iterator[None]:
    """The warm-up process for the charts drawn inside this block; none on a single core."""
    global connection
    if not TWO_CORES or not _fork_is_safe():
        yield
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(target=_warm_process, args=(theirs, ours), daemon=True)
    process.start()
    theirs.close()
    connection = ours
    try:
        yield
    except BaseException:
        # Interrupted or failed: nothing will read the charts, so the helper stops now, not when done.
        process.kill()
        raise
    finally:
        connection = None
        with contextlib.suppress(OSError):
            ours.send(None)
        ours.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()


def _aggregates(analysis: Analysis) -> Analysis:
    """The analysis without its answers and excerpts: charts draw aggregates, and this pickles in milliseconds."""
    from dataclasses import replace

    import numpy as np

    history = analysis.history
    none = history.answers.subset(np.zeros(len(history.answers), dtype=bool))
    return replace(analysis, history=replace(history, answers=none, excerpts=[]))


def draw_charts(analysis: Analysis, flags: Sequence[Finding], jobs: list[tuple[str, str, str]],
                exports: tuple[str, ...], meanwhile: Callable[[], None] = lambda: None) -> list[Chart | None]:
    """Every (metric, kind, chart id) job drawn, in job order; the bytes do not depend on who drew them.

    `meanwhile` runs while the workers draw (the caller's own imports, say), or first when there are none.
    """
    from .charts import draw_jobs

    helper = connection
    if helper is None or len(jobs) < 2:
        meanwhile()
        return draw_jobs(analysis, flags, exports, jobs)
    try:
        helper.send((_aggregates(analysis), tuple(flags), exports, jobs))
        meanwhile()
        kind, result = helper.recv()
    except (EOFError, OSError):
        from .errors import ReporterError

        raise ReporterError("the chart helper ended before it finished drawing (was it killed?); "
                            "nothing was written") from None
    if kind == "error":
        raise RuntimeError(f"drawing the charts failed: {result}")
    return list(result)

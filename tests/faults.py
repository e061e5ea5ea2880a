"""Run the command line with one injected fault: a kill, a Ctrl-C or a full disk, at its Nth write or rename.

Usage: python -m tests.faults STEP kill|interrupt|enospc COUNT_FILE -- welfare-report arguments...

Every durable write ends in os.fsync and every move is os.replace, os.rename
or the folder exchange, so counting those calls walks every step at which a
real crash or a full disk could strike. STEP 0 injects nothing and writes the
number of steps to COUNT_FILE.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _install(step: int, kind: str, count_file: Path) -> None:
    import reporter.publish as publish

    seen = [0]

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[0] += 1
            if seen[0] == step:
                if kind == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                if kind == "interrupt":  # a real SIGINT, as a terminal's Ctrl-C sends
                    os.kill(os.getpid(), signal.SIGINT)
                    return real(*args, **kwargs)
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            return real(*args, **kwargs)

        return call

    os.fsync = counted(os.fsync)
    os.replace = counted(os.replace)
    os.rename = counted(os.rename)
    publish.rename_exchange = counted(publish.rename_exchange)
    atexit.register(lambda: count_file.write_text(str(seen[0])))


def main() -> None:
    step, kind, count_file = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    arguments = sys.argv[sys.argv.index("--") + 1:]
    _install(step, kind, count_file)
    from reporter.cli import main as cli_main

    cli_main(arguments)


if __name__ == "__main__":
    main()

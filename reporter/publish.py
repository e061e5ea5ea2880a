"""Output folders written whole: built beside their target, then swapped in with one rename.

A render or a quarterly report is a set of files that must match each other
(the PDF carries the findings JSON; `verify` compares them). Replacing them
one by one would leave a mixed set after a full disk or a kill, so the whole
set is written into a new sibling folder and exchanged with the old one in a
single atomic step (Linux renameat2 RENAME_EXCHANGE).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from . import schema
from .errors import ReporterError, escaped
from .store.files import fsync_dir, write_durably

# Written into every output folder; a folder holding other files is never replaced.
MARKER = ".welfare-report"
MARKER_TEXT = b"This folder is written whole by welfare-report; its files are replaced together.\n"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def rename_exchange(first: Path, second: Path) -> None:
    """Swap two existing paths atomically; raises OSError where the system cannot."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    function = getattr(libc, "renameat2", None)
    if function is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    result = function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first))


def _staging_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(target: Path) -> None:
    """Folders a killed render or report left beside `target`, of processes no longer running."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:partial|replaced)-(\d+)\Z")
    if not target.parent.is_dir():
        return
    for entry in target.parent.iterdir():
        found = pattern.match(entry.name)
        if found and not _alive(int(found.group(1))) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


# What the chart folders of a render hold: figures named by number and title, as SVG, PNG and CSV.
CHART_FILE = re.compile(r"figure-[0-9-]+-[a-z0-9-]*\.(svg|png|csv)\Z")
CHART_FOLDERS = frozenset({schema.MARKDOWN_CHARTS, schema.CHARTS_FOLDER})


def _not_ours(target: Path, names: set[str]) -> list[str]:
    """Every entry of `target` a render would not write: a person's file is never replaced."""
    others = []
    for entry in sorted(os.scandir(target), key=lambda e: e.name):
        if entry.name == MARKER:
            continue
        if entry.name not in names:
            others.append(entry.name)
        elif entry.name in CHART_FOLDERS and entry.is_dir(follow_symlinks=False):
            others += [f"{entry.name}/{inner.name}" for inner in sorted(os.scandir(entry.path), key=lambda e: e.name)
                       if not (inner.is_file(follow_symlinks=False) and CHART_FILE.match(inner.name))]
        elif entry.is_symlink() or not (entry.is_file() or entry.name in CHART_FOLDERS):
            others.append(entry.name)
    return others


def check_replaceable(target: Path, names: set[str]) -> None:
    """Refuse to replace a folder that holds anything a render would not write, or the folder a user stands in.

    Whether or not the folder carries the render marker: any other file or folder in it is named,
    and nothing is touched.
    """
    if Path.cwd().resolve().is_relative_to(target.resolve()):
        raise ReporterError(f"{target} is the current folder or one above it; choose a folder of its own for --out")
    if not os.path.lexists(target):
        return
    if target.is_symlink() or not target.is_dir():
        raise ReporterError(f"{target} is not a folder; choose another --out")
    others = _not_ours(target, names)
    if others:
        shown = ", ".join(escaped(name) for name in others[:3]) + (", ..." if len(others) > 3 else "")
        raise ReporterError(f"{target} holds files welfare-report did not write ({shown}); nothing was touched: "
                            "move them, or choose an empty or new --out folder")


def write_folder(target: Path, files: Mapping[str, bytes]) -> None:
    """Make `target` hold exactly `files` (and the marker), all at once."""
    remove_stale(target)
    staging = _staging_name(target)
    shutil.rmtree(staging, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    try:
        for name, data in {**files, MARKER: MARKER_TEXT}.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)  # charts sit in a folder of their own
            write_durably(staging / name, data)
        fsync_dir(staging)
        swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging: Path, target: Path) -> None:
    """Put the finished folder `staging` at `target` in one step; the old folder goes afterwards."""
    if not os.path.lexists(target):
        os.rename(staging, target)
    else:
        try:
            rename_exchange(staging, target)
        except OSError as err:
            if err.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
                raise
            # No atomic exchange here: a moment passes with no folder at `target`.
            retired = target.with_name(f".{target.name}.replaced-{os.getpid()}")
            os.rename(target, retired)
            os.rename(staging, target)
            staging = retired
        shutil.rmtree(staging)
    fsync_dir(target.parent)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock on `folder` itself, so two runs writing into it take turns."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)

"""Crash safety and serialisation with real processes: kill -9 mid-merge, several merges at once."""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reporter.example import write_example

pytestmark = pytest.mark.slow


def command(history: Path, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", "reporter", "--history", str(history), *map(str, args)]


def answers(path: Path, generation: str, count: int, prefix: str) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["generation", "metric", "collected_on", "score", "response_id", "excerpt"])
        for i in range(count):
            writer.writerow([generation, "circumstances", "2025-05-01", 1 + i % 7, f"{prefix}-{i}", "x" * (i % 50)])
    return path


def count_rows(history: Path, generation: str) -> int:
    with open(history / "observations" / f"{generation}.csv", newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_kill_at_random_moments_leaves_before_or_after(tmp_path: Path) -> None:
    history = tmp_path / "history"
    write_example(history, observations=5000, seed=3)
    big = answers(tmp_path / "big.csv", "aster-5", 60_000, "kill")
    before = count_rows(history, "aster-5")

    # How long an undisturbed merge takes here, to spread the kills over it.
    trial = tmp_path / "trial"
    write_example(trial, observations=5000, seed=3)
    start = time.monotonic()
    subprocess.run(command(trial, "merge", big), check=True, capture_output=True)
    duration = time.monotonic() - start

    rng = random.Random(20261127)
    for _ in range(6):
        process = subprocess.Popen(command(history, "merge", big), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.1) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # A merge killed between staging and its end leaves a pending journal: readers refuse
        # it, and only a write (merge with no files) completes or discards it.
        pending = subprocess.run(command(history, "verify"), capture_output=True, text=True)
        assert pending.returncode == 0 or "merge' with no files" in pending.stderr, pending.stdout + pending.stderr
        settle = subprocess.run(command(history, "merge"), capture_output=True, text=True)
        assert settle.returncode == 0, settle.stderr
        check = subprocess.run(command(history, "verify"), capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        rows = count_rows(history, "aster-5")
        assert rows in (before, before + 60_000)
        if rows != before:
            break
    final = subprocess.run(command(history, "merge", big), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert count_rows(history, "aster-5") == before + 60_000
    assert subprocess.run(command(history, "verify")).returncode == 0


def test_concurrent_merges_are_serialised(tmp_path: Path) -> None:
    history = tmp_path / "history"
    write_example(history, observations=2000, seed=3)
    before = {g: count_rows(history, g) for g in ("aster-3", "aster-4")}
    files = [answers(tmp_path / f"in{i}.csv", f"aster-{3 + i % 2}", 3000, f"c{i}") for i in range(4)]
    # The same file twice: one of the two adds, the other skips.
    files.append(files[0])
    processes = [subprocess.Popen(command(history, "merge", f), stdout=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate()[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * len(files)
    assert count_rows(history, "aster-3") == before["aster-3"] + 6000
    assert count_rows(history, "aster-4") == before["aster-4"] + 6000
    assert sum("skipped 3000" in out for out in outputs) == 1
    assert subprocess.run(command(history, "verify")).returncode == 0


def test_a_killed_lock_holder_does_not_block(tmp_path: Path) -> None:
    history = tmp_path / "history"
    write_example(history, observations=2000, seed=3)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from reporter.store import Store\n"
         "with Store(sys.argv[1]).locked(exclusive=True):\n    print('held', flush=True); time.sleep(60)", str(history)],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    holder.stdout.close()
    assert subprocess.run(command(history, "verify"), timeout=30).returncode == 0


def _processes_naming(marker: str) -> list[int]:
    """Live processes whose command line names `marker` (the command and any helper it forked)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["kill-9", "term", "ctrl-c"])
def test_the_chart_helper_ends_with_the_command(tmp_path: Path, how: signal.Signals) -> None:
    history = tmp_path / "history"
    write_example(history, 20_000, 1, 6, 4)  # enough charts to keep the helper drawing for seconds
    out = tmp_path / "charts-out-marker"
    command = subprocess.Popen([sys.executable, "-m", "reporter", "--history", str(history), "render", "--out", str(out),
                                "--format", "charts"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_processes_naming(str(out))) < 3 and time.monotonic() < deadline:  # the command, its helper, the fork
        time.sleep(0.05)
    assert len(_processes_naming(str(out))) >= 2, "the helper never started drawing"
    command.send_signal(how)
    command.wait(timeout=30)
    # Drawing on for its own sake helps nobody: the helper and its fork end with the command.
    deadline = time.monotonic() + 3
    while _processes_naming(str(out)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_naming(str(out)) == []

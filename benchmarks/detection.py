"""Detection quality: how often welfare-report finds a real jump, and how often it claims one that is not there.

Simulated histories of 4-10 generations, n answers each, drawn from a normal
distribution with sd 1.2 around each generation's mean, rounded and clipped to
a 1-7 scale. In a history with jump size J every boundary between generations
moves the mean by J (alternating up and down); with J = 0 nothing moves, and
every claimed jump is a false flag. welfare-report's verdict is its `jump`
(a 'changed' verdict: |delta| >= 0.05 R and Holm-adjusted Welch p < 0.05, n >= 30
on both sides), computed by the real analysis code. Apache Otava, with its defaults, gets the same answers
in time order as one series; a change point counts for a boundary when it lies
within 10% of a generation's answers of it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from reporter.analyze import analyze
from reporter.history import Answers, Generation, History, Metric, day_text

SIZES = (30, 50, 200, 1000)
JUMPS = (0.0, 0.05, 0.10, 0.20)  # fractions of the scale range R = 6
BASE_MEAN = 4.0
SD = 1.2
SCALE = (1, 7)
TOLERANCE = 0.10
OTAVA_PYTHON = Path(__file__).parent / ".work" / "otava" / "bin" / "python"


def simulate(rng: np.random.Generator, n: int, jump: float) -> list[np.ndarray]:
    count = int(rng.integers(4, 11))
    step = jump * (SCALE[1] - SCALE[0])
    means = [BASE_MEAN + step * (g % 2) for g in range(count)]
    return [np.clip(np.rint(rng.normal(m, SD, n)), *SCALE).astype(np.int64) for m in means]


def history_of(scores: list[np.ndarray]) -> History:
    names = [f"g{i:02d}" for i in range(len(scores))]
    generations = [Generation(name, day_text(20000 + 30 * i), "sim", "", "", "") for i, name in enumerate(names)]
    total = sum(len(s) for s in scores)
    zeros = np.zeros(total, dtype=np.int32)
    codes = {c: zeros for c in ("metric", "interview_id", "method", "instrument", "framing", "topic", "prompt_variant",
                                "system_prompt", "tags")}
    codes["generation"] = np.concatenate([np.full(len(s), i, dtype=np.int32) for i, s in enumerate(scores)])
    day = np.concatenate([np.full(len(s), 20000 + 30 * i, dtype=np.int32) for i, s in enumerate(scores)])
    answers = Answers(
        codes=codes,
        categories={"generation": names, "metric": ["m"], "interview_id": [""], "method": ["automated_interview"],
                    "instrument": [""], "framing": ["neutral"],
                    "topic": [""], "prompt_variant": [""], "system_prompt": [""], "tags": [""]},
        day=day, score=np.concatenate(scores), redirected=np.zeros(total, dtype=bool),
        declined=np.zeros(total, dtype=bool), concern=np.zeros(total, dtype=bool),
    )
    metric = Metric("m", SCALE[0], SCALE[1], "", "", "")
    return History(generations, {"m": metric}, [], [], [], answers, day_text(int(day.max())))


def ours(scores: list[np.ndarray]) -> list[bool]:
    """One verdict per boundary, in order."""
    comparisons = [c for c in analyze(history_of(scores)).comparisons if c.split is None]
    return [c.jump for c in comparisons]


def otava(series: list[list[np.ndarray]]) -> list[list[bool]] | None:
    if not OTAVA_PYTHON.exists():
        return None
    payload = json.dumps([np.concatenate(s).astype(float).tolist() for s in series])
    output = subprocess.run(
        [str(OTAVA_PYTHON), str(Path(__file__).parent / "otava_runner.py")],
        input=payload, capture_output=True, text=True, check=True,
    ).stdout
    verdicts = []
    for scores, points in zip(series, json.loads(output), strict=True):
        n = len(scores[0])
        boundaries = np.cumsum([len(s) for s in scores])[:-1]
        verdicts.append([any(abs(p - b) <= TOLERANCE * n for p in points) for b in boundaries])
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--no-otava", action="store_true", help="Leave Otava out (for a quick smoke run).")
    options = parser.parse_args()

    start = time.perf_counter()
    print(f"{'n':>6} {'jump':>8} {'comparisons':>12} {'welfare-report':>15} {'Otava':>8}   (recall; at jump 0: false-flag rate)")
    for n in options.sizes:
        for jump in JUMPS:
            rng = np.random.default_rng([n, int(jump * 1000)])
            series = [simulate(rng, n, jump) for _ in range(options.repetitions)]
            # Otava runs in its own process on the other core while ours runs here.
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = None if options.no_otava else pool.submit(otava, series)
                mine = [v for s in series for v in ours(s)]
                theirs = None if pending is None else pending.result()
            rate_theirs = "n/a" if theirs is None else f"{np.mean([v for t in theirs for v in t]):.3f}"
            label = f"{jump:.2f}R"
            print(f"{n:>6} {label:>8} {len(mine):>12} {np.mean(mine):>15.3f} {rate_theirs:>8}", flush=True)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

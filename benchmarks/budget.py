"""The error budget: how often the shipped analysis and rules flag histories where nothing changed,
and how often they see a change that is there.

Histories follow the contract's error budget (reporter/simulation.py): 8
generations x 6 metrics of six skewed discrete 1-7 shapes (one with rare
extreme answers), a training change at every release, redirects, concern
tags, prompt variants, four topics, leading questions and a stable share of
20-45% manual interviews, all with no effect; once more with interviews of
5-10 answers recorded (intraclass correlation 0.2). Recall histories move one metric at the newest release; only
that transition matters, so they hold 2 generations (the Holm family, the
metrics of one transition, is the same). Each figure is printed beside its
limit from the contract.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing import Pool
from typing import Any

import numpy as np

from reporter.simulation import (
    DISTRIBUTIONS,
    METRICS,
    SCALE_RANGE,
    Setting,
    flags_naming,
    last_transition,
    null_setting,
    run,
)

NULL_SIZES = (30, 50, 100, 200, 1000)
RECALL_SIZES = (50, 200)
CHANGES = (0.05, 0.10, 0.20)


def null_history(task: tuple[Setting, int]) -> dict[str, Any]:
    setting, seed = task
    findings = run(setting, seed)
    newest = findings.analysis.history.generations[-1].name
    between = [c for c in findings.analysis.comparisons if c.split is None]
    rules = {f.rule for f in findings.raised}
    return {
        "comparisons": len(between),
        "changed": sum(c.verdict == "changed" for c in between),
        "new_generation_exit_1": bool(flags_naming(findings, newest)),
        "exit_1": bool(findings.open_flags()),
        **{rule: rule in rules for rule in ("WR002", "WR005", "WR006", "WR008", "WR010", "WR012", "WR014", "WR015")},
    }


def moving_history(task: tuple[Setting, int]) -> str | None:
    setting, seed = task
    assert setting.moving_metric is not None
    return last_transition(run(setting, seed).analysis, setting.moving_metric)


def rule_fired(task: tuple[Setting, int]) -> tuple[bool, bool, bool]:
    """(WR013 on the first metric, WR014 on any metric, a WR002/WR003 message naming the like-for-like delta)."""
    setting, seed = task
    findings = run(setting, seed)
    flags = findings.raised
    return (
        any(f.rule == "WR013" and f.metric == "m0" for f in flags),
        any(f.rule == "WR014" for f in flags),
        any(f.rule in ("WR002", "WR003") and "like-for-like" in f.message for f in flags),
    )


def repeat(pool: Any, function: Callable[[tuple[Setting, int]], Any], setting: Setting, repetitions: int,
           salt: int) -> list[Any]:
    return list(pool.map(function, [(setting, salt * 1_000_003 + i) for i in range(repetitions)], chunksize=8))


def verdict(measured: float, limit: float | None, at_least: bool = False) -> str:
    if limit is None:
        return ""
    met = measured >= limit if at_least else measured <= limit
    return f"{'>=' if at_least else '<='} {limit:<5}  {'met' if met else 'NOT MET'}"


def null_table(pool: Any, null_reps: int) -> None:
    """How often a new generation where nothing changed raises a flag, by n, with and without interviews."""
    print(f"Null histories ({null_reps} per size; 8 generations x 6 metrics, nothing changes; "
          "'+-' is one standard error)")
    rules = ("WR002", "WR005", "WR006", "WR008", "WR012", "WR014")
    print(f"{'n':>5} {'interviews':>10} {'false changed':>14} {'new gen exit 1':>16} {'limit':<14} {'exit 1':>7} "
          + " ".join(f"{r:>6}" for r in rules))
    limits = {50: 0.10, 200: 0.03}
    for clustered in (False, True):
        for n in NULL_SIZES if not clustered else (50, 200):
            rows = repeat(pool, null_history, null_setting(n, clustered), null_reps, n + 7 * clustered)
            false_changed = sum(r["changed"] for r in rows) / sum(r["comparisons"] for r in rows)
            new = float(np.mean([r["new_generation_exit_1"] for r in rows]))
            error = float(np.sqrt(new * (1 - new) / len(rows)))
            shares = {k: float(np.mean([r[k] for r in rows])) for k in ("exit_1", *rules)}
            print(f"{n:>5} {'5-10' if clustered else '-':>10} {false_changed:>14.4f} {new:>9.3f} +-{error:.3f} "
                  f"{verdict(new, limits.get(n)):<14} {shares['exit_1']:>7.3f} "
                  + " ".join(f"{shares[r]:>6.3f}" for r in rules), flush=True)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: the same tables in a few minutes")
    options = parser.parse_args()
    null_reps, moving_reps = (150, 100) if options.quick else (1000, 400)
    start = time.perf_counter()
    with Pool(2) as pool:
        null_table(pool, null_reps)
        print(f"\nClustered answers (n = 200, intraclass correlation 0.2; {null_reps // 2} histories each)")
        print(f"{'answers per interview':>22} {'interviews known':>17} {'false changed':>14} {'limit':<14}")
        for per_interview in (5, 10):
            for known in (True, False):
                setting = Setting(200, icc=0.2, per_interview=per_interview, record_interviews=known)
                rows = repeat(pool, null_history, setting, null_reps // 2, 7 * per_interview + known)
                rate = sum(r["changed"] for r in rows) / sum(r["comparisons"] for r in rows)
                print(f"{per_interview:>22} {'yes' if known else 'no':>17} {rate:>14.4f} "
                      f"{verdict(rate, 0.05) if known else '(for contrast)':<14}", flush=True)

        print(f"\nIndependent evidence and mix changes ({moving_reps} histories per row, 2 generations x 6 metrics)")
        print(f"{'case':<58} {'rate':>6} {'limit':<18}")
        evidence = (
            ("self-report +0.1 R, probe flat, n = 200: WR013", Setting(200, 2, moving_metric=0, change=0.1, leading=False,
                                                                  probe="flat"), 0, 0.90, True),
            ("both +0.1 R in sd units, n = 200: WR013", Setting(200, 2, moving_metric=0, change=0.1, leading=False,
                                                          probe="follows"), 0, 0.05, False),
            ("probe rises with it, read opposite, n = 200: WR013", Setting(200, 2, moving_metric=0, change=0.1,
                                                                        leading=False, probe="rises-opposite"), 0, None, True),
            ("manual 10% -> 40%, 1.5 points lower, n = 400: WR014", Setting(400, 2, leading=False, manual_share=(0.1, 0.4),
                                                                       manual_shift=1.5), 1, 0.90, True),
            ("  ... and WR002/WR003 name the like-for-like delta", Setting(400, 2, leading=False, manual_share=(0.1, 0.4),
                                                                      manual_shift=1.5), 2, None, True),
            ("manual 10% both sides, n = 400: WR014", Setting(400, 2, leading=False, manual_share=(0.1, 0.1),
                                                         manual_shift=1.5), 1, 0.05, False),
        )
        for index, (label, setting, which, limit, at_least) in enumerate(evidence):
            rate = float(np.mean([r[which] for r in repeat(pool, rule_fired, setting, moving_reps, 90 + index)]))
            print(f"{label:<58} {rate:>6.3f} {verdict(rate, limit, at_least) if limit is not None else '':<18}", flush=True)

        print(f"\nOne metric moves at the newest release ({moving_reps} histories per row)")
        print(f"{'distribution':<19} {'n':>4} {'change':>7} {'changed':>8} {'stable':>7} {'limit':<22}")
        for index, name in enumerate(DISTRIBUTIONS):
            for n in RECALL_SIZES:
                for change in CHANGES:
                    setting = replace(Setting(n, generations=2, moving_metric=index, change=change), metrics=METRICS)
                    verdicts = repeat(pool, moving_history, setting, moving_reps, index * 1000 + n + int(change * 100))
                    recall = float(np.mean([v == "changed" for v in verdicts]))
                    stable = float(np.mean([v == "stable" for v in verdicts]))
                    judged = ""
                    if name == "mass on 4-5" and change == 0.10:
                        judged = "recall " + verdict(recall, 0.95 if n >= 200 else 0.5, at_least=True)
                    elif change == 0.05:
                        judged = "stable " + verdict(stable, 0.05)
                    print(f"{name:<19} {n:>4} {change:>6.2f}R {recall:>8.3f} {stable:>7.3f} {judged:<22}", flush=True)
        standardised_table(pool, moving_reps)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)


def standardised_table(pool: Any, repetitions: int) -> None:
    """Recall at a change of half the shape's own sd: a line that reads the same for every spread."""
    print(f"\nRecall at a standardised change of 0.5 sd ({repetitions} histories per row)")
    print(f"{'distribution':<19} {'sd':>5} {'n':>4} {'change':>7} {'changed':>8}")
    for index, name in enumerate(DISTRIBUTIONS):
        p = DISTRIBUTIONS[name]
        sd = float(np.sqrt(p @ (np.arange(1, 8) - p @ np.arange(1, 8)) ** 2))
        for n in RECALL_SIZES:
            setting = Setting(n, generations=2, moving_metric=index, change=0.5 * sd / SCALE_RANGE)
            verdicts = repeat(pool, moving_history, setting, repetitions, 77 + index * 1000 + n)
            recall = float(np.mean([v == "changed" for v in verdicts]))
            print(f"{name:<19} {sd:>5.2f} {n:>4} {0.5 * sd:>5.2f}pt {recall:>8.3f}", flush=True)


if __name__ == "__main__":
    main()

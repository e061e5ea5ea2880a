"""Answers at warehouse scale: generated as Parquet, aggregated by DuckDB into counts, merged and checked.

Each step runs in its own process, so its wall time and peak memory are its
own. The check reads the counts (one row per combination of columns), never
the answers, so its cost does not grow with them.

With `--spark PYTHON` (a Python with pyspark, as `make bench` installs under
benchmarks/.work/spark), the same answers are aggregated by the README's
Spark SQL recipe, run as written there, merged into a second history, and
both histories' findings must agree on every figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]

GENERATE = """
COPY (
  SELECT 'g' || (i % 8) AS generation,
         'm' || ((i // 8) % 4) AS metric,
         CAST(DATE '2025-01-01' + INTERVAL (60 * (i % 8) + (i // 32) % 30) DAY AS DATE) AS collected_on,
         least(7, greatest(1, CAST(round(4 + 1.2 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) AS INTEGER)))
             AS score,
         CASE WHEN random() < 0.1 THEN 'manual_interview' ELSE 'automated_interview' END AS method,
         ['deployment', 'training', 'users'][1 + CAST(floor(random() * 3) AS INTEGER)] AS topic,
         random() < 0.05 AS redirected
  FROM range({n}) AS t(i)
) TO '{parquet}' (FORMAT parquet)
"""
AGGREGATE = """
COPY (
  SELECT generation, metric, collected_on, score, method, topic, redirected, count(*) AS count
  FROM read_parquet('{parquet}')
  GROUP BY ALL
  ORDER BY ALL
) TO '{counts}' (HEADER, DELIMITER ',')
"""


# The README's Spark SQL recipe, word for word (tests/test_docs.py holds the README to it).
SPARK = '''spark.sql("""
  SELECT generation, metric, collected_on, score, method, topic, redirected, count(*) AS count
  FROM parquet.`answers/`
  GROUP BY generation, metric, collected_on, score, method, topic, redirected
""").coalesce(1).write.option("header", True).csv("counts")'''
SPARK_SESSION = ("from pyspark.sql import SparkSession\n"
                 "spark = SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false').getOrCreate()\n")


# Every step runs in a fresh Python that reports its own peak memory as it exits.
PEAK = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
        "'\\npeak-kb=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)); ")
WELFARE_REPORT = [sys.executable, "-c", PEAK + "import sys; from reporter.cli import main; main(sys.argv[1:])"]


def timed(label: str, command: list[str], cwd: Path) -> None:
    """Run one step in a fresh process; print its wall time and that process's peak memory."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):  # check exits 1 when a flag is open
        raise SystemExit(f"{label} failed: {result.stderr}")
    peak = int(result.stderr.rsplit("peak-kb=", 1)[1].split()[0])
    print(f"{label:<44} {elapsed:>8.1f} s {peak / 1024:>8,.0f} MB", flush=True)


def duckdb_step(sql: str) -> list[str]:
    return [sys.executable, "-c", PEAK + f"import duckdb; duckdb.connect().execute({sql!r})"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=100_000_000)
    parser.add_argument("--spark", help="a Python with pyspark: run the README's Spark SQL recipe too")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        parquet, counts, store = work / "answers.parquet", work / "counts.csv", work / "history"
        (work / "generations.csv").write_text("generation,release_date\n" + "".join(
            f"g{g},{2025 + (60 * g) // 365}-{1 + ((60 * g) % 365) // 31:02d}-01\n" for g in range(8)))
        (work / "metrics.csv").write_text("metric,scale_min,scale_max\n" + "".join(f"m{m},1,7\n" for m in range(4)))
        print(f"{options.answers:,} answers; step, wall time, peak memory of the step's process")
        timed("write the answers as Parquet (DuckDB)", duckdb_step(GENERATE.format(n=options.answers, parquet=parquet)), work)
        timed("aggregate them into counts (DuckDB)", duckdb_step(AGGREGATE.format(parquet=parquet, counts=counts)), work)
        rows = sum(1 for _ in counts.open()) - 1
        print(f"  {rows:,} counts rows, {counts.stat().st_size / 1e6:.1f} MB; Parquet {parquet.stat().st_size / 1e6:,.0f} MB")
        timed("init", [*WELFARE_REPORT, "init", str(store)], ROOT)
        timed("merge registries and counts", [*WELFARE_REPORT, "--history", str(store), "merge", str(work / "generations.csv"),
                                              str(work / "metrics.csv"), str(counts)], ROOT)
        timed("check", [*WELFARE_REPORT, "--history", str(store), "check"], ROOT)
        if options.spark:
            spark_counts(options.spark, work, parquet)


def spark_counts(python: str, work: Path, parquet: Path) -> None:
    """The README's Spark recipe over the same answers; its counts must give the same findings as DuckDB's."""
    (work / "answers").mkdir()
    parquet.rename(work / "answers" / parquet.name)
    start = time.perf_counter()
    subprocess.run([python, "-c", SPARK_SESSION + SPARK], cwd=work, check=True, capture_output=True)
    print(f"{'aggregate them into counts (Spark SQL, README)':<44} {time.perf_counter() - start:>8.1f} s")
    (part,) = (work / "counts").glob("part-*.csv")
    store = work / "history-spark"
    subprocess.run([*WELFARE_REPORT, "init", str(store)], check=True, capture_output=True)
    merged = subprocess.run([*WELFARE_REPORT, "--history", str(store), "merge", str(work / "generations.csv"),
                             str(work / "metrics.csv"), str(part)], capture_output=True, text=True)
    if merged.returncode != 0:
        raise SystemExit(f"Spark's counts were refused: {merged.stderr}")
    figures = [json.loads(subprocess.run([*WELFARE_REPORT, "--history", str(history), "check", "--json"],
                                         capture_output=True, text=True).stdout)
               for history in (work / "history", store)]
    duckdb, spark = ([{k: s[k] for k in ("generation", "metric", "n", "mean", "sd")} for s in f["stats"]] for f in figures)
    if duckdb != spark:
        raise SystemExit("Spark's counts give other figures than DuckDB's")
    print(f"  Spark's counts merged and checked: the same {len(spark)} figures (n, mean, sd) as DuckDB's")


if __name__ == "__main__":
    main()

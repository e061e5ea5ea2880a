"""Render latency against its limits, run by `make bench` (never part of the test suite).

Three limits, each measured in this one run, as fresh processes the way a
user runs them, best of a few repeats, wall-clock seconds on this machine:

- the bundled history: `render --format html` within `check` + 1.5 s;
- the PDF: `render --format pdf` within 1.3x WeasyPrint alone typesetting the
  same document (its own process: import, layout and PDF/A-3a output);
- a history of 2 generations x 1 metric: every output (HTML, fragment, PDF,
  JSON, Markdown, charts) within 4 s.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
WORK = Path(__file__).parent / ".work" / "latency"
BUNDLED = ROOT / "history"
WEASYPRINT_ALONE = (
    "import sys, weasyprint\n"
    "weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2], pdf_variant='pdf/a-3a')"
)
# The document render typesets for the PDF (PNG charts), written once so WeasyPrint gets the same bytes.
PRINTED_PAGE = (
    "import sys\n"
    "from dataclasses import replace\n"
    "from pathlib import Path\n"
    "from reporter import markdown, render, section, typeset\n"
    "from reporter.pipeline import findings_from_path\n"
    "findings = findings_from_path(sys.argv[1], with_excerpts=True)\n"
    "findings = replace(findings, options=render.report_options('Model welfare', ('pdf',), None))\n"
    "built = section.build_section(findings, section.Layout('Model welfare'), None, None, ('png',))\n"
    "page = typeset.render_html(built, fragment=False, printed=True, attachments=markdown.print_attachments(built))\n"
    "Path(sys.argv[2]).write_text(page, encoding='utf-8')\n"
)


def best(args: list[str], repeats: int) -> float:
    fastest = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        completed = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - start
        if completed.returncode not in (0, 1):
            raise SystemExit(f"failed: {' '.join(args)}\n{completed.stderr.decode()[-2000:]}")
        fastest = min(fastest, elapsed)
    return fastest


def cli(history: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reporter", "--history", str(history), *args]


def small_history() -> Path:
    """2 generations x 1 metric, 200 answers each, written as input files and merged."""
    inputs, store = WORK / "small-inputs", WORK / "small-history"
    if store.exists():
        return store
    inputs.mkdir(parents=True, exist_ok=True)
    (inputs / "generations.csv").write_text(
        "generation,release_date,label\ng1,2025-01-01,First generation\ng2,2025-03-01,Second generation\n")
    (inputs / "metrics.csv").write_text(
        "metric,scale_min,scale_max,label,question\n"
        "mood,1,7,Mood,How do you feel about your circumstances?\n")
    rng = random.Random(7)
    with open(inputs / "observations.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["generation", "metric", "collected_on", "score", "response_id", "excerpt", "tags"])
        for generation, centre, day in (("g1", 4.0, "2025-01-20"), ("g2", 4.4, "2025-03-20")):
            for i in range(200):
                score = min(7, max(1, round(rng.gauss(centre, 1.2))))
                excerpt = f"Answer {i} of {generation}." if i < 5 else ""
                writer.writerow([generation, "mood", day, score, f"{generation}-{i}", excerpt, "anxiety" if i < 3 else ""])
    subprocess.run(cli(store, "init", str(store)), check=True, stdout=subprocess.DEVNULL)
    subprocess.run(cli(store, "merge", *(str(inputs / n) for n in ("generations.csv", "metrics.csv",
                                                                  "observations.csv"))),
                   check=True, stdout=subprocess.DEVNULL)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / "out"

    check = best(cli(BUNDLED, "check", "--json"), repeats)
    html = best(cli(BUNDLED, "render", "--out", str(out), "--format", "html"), repeats)
    pdf = best(cli(BUNDLED, "render", "--out", str(out), "--format", "pdf"), repeats)
    page = WORK / "printed.html"
    subprocess.run([sys.executable, "-c", PRINTED_PAGE, str(BUNDLED), str(page)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    alone = best([sys.executable, "-c", WEASYPRINT_ALONE, str(page), str(WORK / "alone.pdf")], repeats)
    small = small_history()
    every = [a for f in ("html", "fragment", "pdf", "json", "markdown", "charts") for a in ("--format", f)]
    everything = best(cli(small, "render", "--out", str(out), *every), repeats)

    rows = [
        ("bundled: render --format html", html, check + 1.5, f"check {check:.2f} s + 1.5 s"),
        ("bundled: render --format pdf", pdf, 1.3 * alone, f"1.3 x WeasyPrint alone ({alone:.2f} s)"),
        ("2 generations x 1 metric: every output", everything, 4.0, "4 s"),
    ]
    print(f"{'what':<42} {'seconds':>8} {'limit':>8}  {'':<4} limit is")
    for name, seconds, limit, rule in rows:
        print(f"{name:<42} {seconds:8.2f} {limit:8.2f}  {'met' if seconds <= limit else 'OVER':<4} {rule}")


if __name__ == "__main__":
    main()

"""The section at the size of a real card, not the bundled example's: every table fits, every source is cited.

A card's welfare section covers nine or more generations, sixteen or more
topics, automated and manual interviews and figures quoted from earlier
cards. The bundled example has three topics, so a table that runs off the
page at sixteen would never show there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import run
from .scenario import Scenario, random_scores
from .test_browser import CHROMIUM, FLAGS
from .test_render import pdf_pages, rules_share

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed"),
]
ALL_FORMATS = ("html", "fragment", "pdf", "json", "markdown", "charts")


def real_card(root: Path, generations: int = 9, topics: int = 16) -> Path:
    """A history shaped like a published card's: the first two generations known from two earlier cards'
    summaries, the rest as ~700 interviewed answers over `topics` topics, one in ten from manual interviews,
    a custom `caveat` tag, a probe, and a generation note."""
    s = Scenario(root, metrics={"circumstances": (1, 7)})
    names = [f"opus-{i}" for i in range(generations)]
    for i, name in enumerate(names):
        s.generation(name, f"{2024 + i // 4}-{1 + 3 * (i % 4):02d}-01", model="opus")
    s.generations[2]["notes"] = "First generation interviewed with the full topic list."
    s.summary(names[0], 4.0, 800, "2024-01-15", "circumstances", sd=1.1, source="Card of opus-0",
              published_on="2024-02-01")
    s.summary(names[1], 4.1, 800, "2024-04-15", "circumstances", sd=1.1, source="Card of opus-1",
              published_on="2024-05-01")
    for i, name in enumerate(names[2:], 2):
        s.scores(name, random_scores(4.2 + 0.03 * i, 1.1, 704, seed=i), "circumstances",
                 topic=lambda k: f"topic {k % topics:02d} on the model's circumstances",
                 method=lambda k: "manual_interview" if k % 10 == 0 else "automated_interview",
                 interview_id=lambda k, name=name: f"{name}-{k // 8}",
                 tags=lambda k: "caveat" if k % 3 else "anxiety" if k % 50 == 1 else "")
    return s.write()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card")
    out = root / "out"
    formats = [flag for name in ALL_FORMATS for flag in ("--format", name)]
    result = run("--history", real_card(root), "render", "--out", out, *formats)
    assert result.exit_code == 0, result.stderr
    return out


def no_word_outside_the_page(pdf: Path) -> None:
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for page in re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', boxes, flags=re.DOTALL):
        width, height, words = float(page[0]), float(page[1]), page[2]
        for x_min, y_min, x_max, y_max in re.findall(
                r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)"', words):
            assert float(x_min) >= 0 and float(y_min) >= 0 and float(x_max) <= width and float(y_max) <= height


def overflow_at_1000_px(html: Path) -> int:
    """How far the page is wider than a 1000 px window (0: no horizontal scrollbar)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1200})
            page.goto(html.as_uri(), wait_until="load")
            return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))
        finally:
            browser.close()


def test_every_pdf_word_lies_inside_its_page(rendered: Path) -> None:
    no_word_outside_the_page(rendered / "welfare-section.pdf")


def test_the_html_has_no_horizontal_overflow_at_1000_px(rendered: Path) -> None:
    assert overflow_at_1000_px(rendered / "welfare-section.html") == 0


def test_the_rules_part_is_at_most_a_fifth_of_the_pdf(rendered: Path) -> None:
    assert rules_share(pdf_pages(rendered / "welfare-section.pdf")) <= 0.2


def test_sources_notes_methods_and_tags_are_shown(rendered: Path) -> None:
    html = " ".join(re.sub(r"<[^>]+>", " ", (rendered / "welfare-section.html").read_text()).split())
    markdown = (rendered / "welfare-section.md").read_text()
    for text in (html, markdown):
        assert "Card of opus-0, published 2024-02-01" in text and "Card of opus-1, published 2024-05-01" in text
        assert "First generation interviewed with the full topic list." in text
    assert "Manual interviews" in html and "Tags (share of manual answers)" in html
    assert re.search(r"caveat \d+(\.\d)?%", html), "a tag outside the concern list is counted"
    assert re.search(r"Pooled .*manual interview", html), "each method's mean beside the pooled one"


def test_topic_tables_hold_at_most_six_generations(rendered: Path) -> None:
    html = (rendered / "welfare-section.html").read_text()
    tables = re.findall(r'<table class="wr-table[^"]* wr-topics" id="wr-table-topics-[^"]*">(.*?)</table>', html, re.DOTALL)
    assert len(tables) == 2  # seven generations with answers: four, then three
    assert all(t.count('<th scope="col"') - 1 <= 6 for t in tables)
    assert all(t.count('<th scope="row"') == 16 for t in tables)


def test_thirty_topics_and_twelve_generations_still_fit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("--history", real_card(tmp_path, generations=12, topics=30), "render", "--out", out,
                 "--format", "html", "--format", "pdf")
    assert result.exit_code == 0, result.stderr
    no_word_outside_the_page(out / "welfare-section.pdf")
    assert overflow_at_1000_px(out / "welfare-section.html") == 0


def test_a_programme_of_twenty_generations_and_twelve_metrics_prints_in_sixty_pages(tmp_path: Path) -> None:
    """The printed edition at a long-running programme's size: charts and one table per metric, the
    long tables attached (it was 133 pages, one table per chart)."""
    history, out = tmp_path / "history", tmp_path / "out"
    made = run("--history", history, "example", history, "--observations", "50000",
               "--extra-generations", "11", "--extra-metrics", "6")
    assert made.exit_code == 0, made.stderr
    assert run("--history", history, "render", "--out", out, "--format", "pdf").exit_code == 0
    pdf = out / "welfare-section.pdf"
    pages = pdf_pages(pdf)
    assert "Aster 20" in " ".join(pages) and "Wellbeing item 06" in " ".join(pages)
    assert len(pages) <= 60
    no_word_outside_the_page(pdf)

"""The standalone HTML in a real browser: no requests, no console errors, something drawn, axe-core clean.

Debian's Chromium at /usr/bin/chromium, driven by Playwright; never
`playwright install`, which cannot download a browser here. In CI a missing
Chromium is a failure; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import run

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).parents[1]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing in CI: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@contextlib.contextmanager
def chromium_page(width: int, height: int) -> Iterator[tuple[Any, list[str]]]:
    """A page in Debian's Chromium and the list of every URL it requests, closed on the way out."""
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda request: requests.append(request.url))
            yield page, requests
        finally:
            browser.close()


@pytest.mark.slow
def test_page_in_chromium(tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from PIL import Image

    assert run("--history", ROOT / "history", "render", "--out", tmp_path, "--format", "html").exit_code == 0
    page_url = (tmp_path / "welfare-section.html").as_uri()
    console_errors: list[str] = []
    with chromium_page(1100, 1400) as (page, requests):
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        page.goto(page_url, wait_until="load")
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot), full_page=False)
        results = Axe().run(page)
    assert requests == [page_url]
    assert console_errors == []
    with Image.open(shot) as image:
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 1
    violations = results.response["violations"]
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []


HOST = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A system card</title>
<style>
body { font-family: Georgia, serif; color: rgb(20, 40, 90); background: rgb(250, 248, 240); }
h2 { font-size: 28px; color: rgb(120, 20, 20); }
.icon { stroke: rgb(0, 0, 0); stroke-width: 4px; stroke-linecap: round; stroke-linejoin: round; fill: none; }
</style></head>
<body><main>
<h1>Model card</h1>
<h2 id="welfare">Model welfare</h2>
<p class="host-text">Text of the card around the section.</p>
<svg class="icon" width="24" height="24" role="img" aria-label="an icon"><path d="M4 12 L12 4 L20 12"/></svg>
<div id="slot-a"></div>
<div id="slot-b"></div>
</main></body></html>
"""
HOST_ELEMENTS = "body, main, h1, h2, p.host-text, svg.icon, svg.icon path"
STYLE_PROPERTIES = ["font-family", "font-size", "color", "background-color", "stroke-linecap", "stroke-linejoin",
                    "stroke-width", "margin-top", "line-height"]


@pytest.mark.slow
def test_the_fragment_changes_no_style_of_its_host_and_two_share_a_page(tmp_path: Path) -> None:
    """Pasted into a card, the fragment keeps to itself: every computed style of the host is unchanged,
    it takes the host's font and colour, and two fragments with their own id prefixes share one page."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    for prefix in ("a-", "b-"):
        result = run("--history", ROOT / "history", "render", "--out", tmp_path / prefix, "--format", "fragment",
                     "--heading-level", "3", "--id-prefix", prefix)
        assert result.exit_code == 0, result.stderr
    fragments = [(tmp_path / p / "welfare-section.fragment.html").read_text() for p in ("a-", "b-")]
    host = tmp_path / "host.html"
    host.write_text(HOST)
    script = """(properties) => Array.from(document.querySelectorAll(arguments_selector)).map(e => {
        const style = getComputedStyle(e); return properties.map(p => style.getPropertyValue(p)); })"""
    script = script.replace("arguments_selector", repr(HOST_ELEMENTS))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto(host.as_uri(), wait_until="load")
            before = page.evaluate(script, STYLE_PROPERTIES)
            page.evaluate("([a, b]) => { document.getElementById('slot-a').innerHTML = a; "
                          "document.getElementById('slot-b').innerHTML = b; }", fragments)
            after = page.evaluate(script, STYLE_PROPERTIES)
            ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
            section = page.evaluate("() => { const s = getComputedStyle(document.querySelector('.welfare-report')); "
                                    "return [s.fontFamily, s.color, s.backgroundColor]; }")
            heading = page.evaluate("() => document.querySelector('.welfare-report .wr-title').tagName")
            results = Axe().run(page)
        finally:
            browser.close()
    assert before == after
    assert len(ids) == len(set(ids)) and any(i.startswith("a-") for i in ids) and any(i.startswith("b-") for i in ids)
    assert section == ["Georgia, serif", "rgb(20, 40, 90)", "rgba(0, 0, 0, 0)"]
    assert heading == "H3"
    serious = [(v["id"], v["impact"]) for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []


@pytest.mark.slow
def test_the_notebook_view_of_hostile_findings_runs_nothing_and_fetches_nothing(tmp_path: Path) -> None:
    """`Findings._repr_html_` placed in a page as Jupyter places it: hostile labels stay text."""
    import reporter

    from .scenario import Scenario

    s = Scenario(tmp_path).generation("g1", "2025-01-10").generation("g2", "2025-04-10")
    s.generations[1]["label"] = '<script>window.ran=1</script><img src="http://x.test/i.png" onerror="window.ran=2">'
    s.normal("g1", 4.0).normal("g2", 4.6)
    s.event("2025-04-01", "training_change", "g2", description="<svg onload=window.ran=3>")
    s.acknowledgements.append({"rule": "WR002", "generations": "g1;g2", "metric": "mood", "by": "<b>x</b>",
                               "reason": "<iframe src=http://x.test></iframe>", "date": "2025-04-20"})
    html = reporter.open_history(s.write()).findings()._repr_html_()
    page_file = tmp_path / "notebook.html"
    page_file.write_text(f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>cell</title></head>"
                         f"<body><div class=output_html>{html}</div></body></html>")
    with chromium_page(900, 1000) as (page, requests):
        page.goto(page_file.as_uri(), wait_until="load")
        ran = page.evaluate("window.ran === undefined ? null : window.ran")
        active = page.evaluate("document.querySelectorAll('script, img, iframe, svg [onload], [onerror]').length")
        text = page.inner_text("div.output_html")
        page.screenshot(path=str(tmp_path / "notebook.png"), full_page=True)
    assert ran is None and active == 0
    assert requests == [page_file.as_uri()]
    assert "<script>window.ran=1</script>" not in html and "&lt;script&gt;" in html
    assert "Summary of findings" in text and "Open flags" in text
    assert "<iframe src=http://x.test></iframe>" in text  # the reason is shown as the text it is

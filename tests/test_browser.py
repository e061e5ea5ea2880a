"""The standalone HTML in a real browser: no requests, no console errors, something drawn, axe-core clean.

Debian's Chromium at /usr/bin/chromium, driven by Playwright; never
`playwright install`, which cannot download a browser here. In CI a missing
Chromium is a failure; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def test_page_in_chromium(tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from PIL import Image
    from playwright.sync_api import sync_playwright

    assert run("--history", ROOT / "history", "render", "--out", tmp_path, "--format", "html").exit_code == 0
    page_url = (tmp_path / "welfare-section.html").as_uri()
    requests: list[str] = []
    console_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.goto(page_url, wait_until="load")
            shot = tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=False)
            results = Axe().run(page)
        finally:
            browser.close()
    assert requests == [page_url]
    assert console_errors == []
    with Image.open(shot) as image:
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 1
    violations = results.response["violations"]
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []

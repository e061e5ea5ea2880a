"""`render`: the four outputs, determinism, atomic writes, notes, hostile text, golden HTML and the PDF."""

from __future__ import annotations

import base64
import csv
import http.server
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pypdf import PdfReader

from reporter import schema, typeset

from .conftest import run
from .scenario import Scenario

ROOT = Path(__file__).parents[1]
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
OUTPUTS = ["findings.json", "welfare-section.fragment.html", "welfare-section.html", "welfare-section.pdf"]


def small_history(root: Path, hostile: str = "", reference: str = "https://example.org/change") -> Path:
    """Two generations, a training change and a jump: a WR002 flag, excerpts and events to show."""
    s = Scenario(root, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.generations[1]["label"] = f"Second generation {hostile}".strip()
    s.normal("g1", 4.0, excerpt=lambda i: f"Quote {i} {hostile}".strip() if i < 4 else "", tags=lambda i: "anxiety" if i % 2 else "")
    s.normal("g2", 4.6)
    s.event("2025-02-20", "training_change", "g2", description=f"New fine-tuning stage {hostile}".strip())
    s.events[0]["reference"] = reference
    return s.write()


@pytest.fixture(scope="module")
def bundled_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    result = run("--history", ROOT / "history", "render", "--out", out)
    assert result.exit_code == 0, result.stderr
    return out


def test_render_writes_the_four_outputs(bundled_render: Path) -> None:
    assert sorted(p.name for p in bundled_render.iterdir()) == [".welfare-report", *OUTPUTS]  # the marker first
    check = json.loads(run("--history", ROOT / "history", "check", "--json").stdout)
    rendered = json.loads((bundled_render / "findings.json").read_text())
    assert rendered.pop("options") == {"title": "Model welfare", "formats": ["html", "fragment", "pdf", "json"],
                                       "notes_sha256": None, "today": None, "force": False,
                                       "heading_level": 2, "id_prefix": "wr-", "section_number": None}
    assert check.pop("options") == {}
    assert rendered == check


@pytest.mark.slow
def test_render_is_byte_identical_on_every_run(bundled_render: Path, tmp_path: Path) -> None:
    time.sleep(1.1)  # a clock that leaked into any output would now differ
    assert run("--history", ROOT / "history", "render", "--out", tmp_path).exit_code == 0
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (bundled_render / name).read_bytes(), name


def test_formats_are_repeatable_and_only_those_are_written(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    result = run("--history", store, "render", "--out", tmp_path / "out", "--format", "json", "--format", "fragment")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".welfare-report", "findings.json", "welfare-section.fragment.html"]


def test_as_of_cuts_the_data(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    run("--history", store, "render", "--out", tmp_path / "out", "--as-of", "2025-02-01", "--format", "json", "--format", "html")
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert document["as_of"] == "2025-02-01"
    assert [g["generation"] for g in document["generations"]] == ["g1"]
    assert "As of 2025-02-01" in (tmp_path / "out" / "welfare-section.html").read_text()


def test_a_failure_leaves_no_output_and_keeps_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = small_history(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "welfare-section.html").write_text("previous report")

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("the PDF engine failed")

    monkeypatch.setattr(typeset, "render_pdf", broken)
    result = run("--history", store, "render", "--out", out)
    assert result.exit_code == 2
    assert sorted(p.name for p in out.iterdir()) == ["welfare-section.html"]
    assert (out / "welfare-section.html").read_text() == "previous report"


# -- notes -------------------------------------------------------------------------------


def test_notes_appear_as_markdown_without_raw_html(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text("# Context\n\nThe *interviews* ran in [June](https://example.org/june).\n\n"
                     "<script>alert(1)</script> <b>bold?</b>\n\n[local](file:///etc/passwd) [js](javascript:alert(1))\n\n"
                     "| Probe | Layer |\n| --- | --- |\n| valence | 20 |\n\n## Detail\n")
    assert run("--history", store, "render", "--out", tmp_path / "out", "--notes", notes, "--format", "html").exit_code == 0
    html = (tmp_path / "out" / "welfare-section.html").read_text()
    section = html[html.index('id="wr-notes"'):html.index('id="wr-provenance"')]
    assert "<em>interviews</em>" in section
    assert '<a href="https://example.org/june">June</a>' in section
    assert "&lt;script&gt;" in section and "<script" not in html
    assert 'href="file:' not in html and 'href="javascript:' not in html
    # A Markdown table is a table, and the notes' own headings sit below the notes heading (h2 on a page).
    assert "<table>" in section and "<td>valence</td>" in section
    assert "<h3>Context</h3>" in section and "<h4>Detail</h4>" in section and "<h1>" not in section


PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_notes_images_beside_the_notes_are_embedded_and_nothing_else_is_read(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    (tmp_path / "probe.png").write_bytes(PNG_1PX)
    notes = tmp_path / "notes.md"
    notes.write_text("Our probe figure:\n\n![Probe activations by layer](probe.png)\n")
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--notes", notes, "--format", "html",
               "--format", "pdf", "--format", "json").exit_code == 0
    html = (out / "welfare-section.html").read_text()
    embedded = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    assert f'<img src="{embedded}" alt="Probe activations by layer"' in html
    # The kept notes hold the image itself, so `verify` renders the report again without the file.
    assert embedded in (out / "welfare-section.notes.md").read_text()
    (tmp_path / "probe.png").unlink()
    result = run("--history", store, "verify", out)
    assert result.exit_code == 0, result.stderr


def test_an_embedded_image_used_as_a_link_stays_text(tmp_path: Path) -> None:
    """data: URIs are allowed for images only: as a link target the text is kept and the link dropped."""
    store = small_history(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text(f"[open me](data:image/png;base64,{base64.b64encode(PNG_1PX).decode()}) after\n")
    assert run("--history", store, "render", "--out", tmp_path / "out", "--notes", notes, "--format", "html").exit_code == 0
    section = (tmp_path / "out" / "welfare-section.html").read_text()
    section = section[section.index('id="wr-notes"'):section.index('id="wr-provenance"')]
    assert "open me after" in section and 'href="data:' not in section


def test_a_reference_style_image_is_refused_naming_the_line(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    (tmp_path / "probe.png").write_bytes(PNG_1PX)
    notes = tmp_path / "notes.md"
    notes.write_text("Intro.\n\n![Probe][figure]\n\n[figure]: probe.png\n")
    result = run("--history", store, "render", "--out", tmp_path / "out", "--notes", notes)
    assert result.exit_code == 2
    assert f"{notes}:3: write image 'probe.png' inline" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("reference", "setup", "reason"), [
    ("http://127.0.0.1:9/x.png", None, "not a PNG or JPEG file beside the notes"),
    ("../outside.png", None, "not a PNG or JPEG file beside the notes"),
    ("/etc/passwd", None, "not a PNG or JPEG file beside the notes"),
    ("fake.png", b"GIF89a not a png", "is not a PNG or JPEG file"),
    ("huge.png", PNG_1PX + b"0" * (2 * 1024 * 1024), "missing or larger than 2 MB"),
    ("absent.png", None, "missing or larger than 2 MB"),
])
def test_notes_images_from_elsewhere_are_refused_naming_the_line(tmp_path: Path, reference: str, setup: bytes | None,
                                                                 reason: str) -> None:
    store = small_history(tmp_path)
    if setup is not None:
        (tmp_path / reference).write_bytes(setup)
    notes = tmp_path / "notes.md"
    notes.write_text(f"First line.\n\n![figure]({reference})\n")
    result = run("--history", store, "render", "--out", tmp_path / "out", "--notes", notes)
    assert result.exit_code == 2
    assert f"{notes}:3: image" in result.stderr and reason in result.stderr
    assert not (tmp_path / "out").exists()


def test_notes_with_target_language_are_refused(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text("Context first.\nOur goal is to maximise this score next time.\nFine line.\nWe rank models by score here.\n")
    out = tmp_path / "out"
    result = run("--history", store, "render", "--out", out, "--notes", notes)
    assert result.exit_code == 2
    assert f"{notes}:2: WR001: Our goal is to maximise this score next time." in result.stderr
    assert f"{notes}:4: WR001: We rank models by score here. (the word 'rank')" in result.stderr
    assert not out.exists()


# -- hostile text --------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"body { background: red }")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trap_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_hostile_text_never_becomes_markup_fetches_or_reads_files(tmp_path: Path, trap_server: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = (
        f'<script>alert(1)</script><img src="{trap_server}/img" onerror="alert(2)">'
        f'<link rel="stylesheet" href="{trap_server}/css"><iframe src="{trap_server}/frame"></iframe>'
        f'<style>@import "{trap_server}/import"; body {{ background: url({trap_server}/url) }}</style>'
        f'<object data="file://{secret}"></object><a href="file://{secret}">x</a>'
    )
    store = small_history(tmp_path, hostile, reference=f"file://{secret}")
    notes = tmp_path / "notes.md"
    notes.write_text(f"{hostile}\n\n[x]({trap_server}/md-link)\n\n<{trap_server}/autolink>\n")
    result = run("--history", store, "render", "--out", tmp_path / "out", "--notes", notes)
    assert result.exit_code == 0, result.stderr
    assert _Recorder.requests == []
    for name in ("welfare-section.html", "welfare-section.fragment.html"):
        html = (tmp_path / "out" / name).read_text()
        assert "&lt;script&gt;" in html
        for raw in ("<script", "<img", "<iframe", "<link", "<object", "<style>@import"):
            assert raw not in html, (name, raw)
        # The attribute text survives only as escaped text (in tables and chart labels), never inside a tag.
        assert re.search(r"<[^<>]*\sonerror=", html) is None
        assert re.search(r'<a\s[^>]*href="file:', html) is None
        assert "TOP-SECRET-CONTENT" not in html
    text = subprocess.run(["pdftotext", str(tmp_path / "out" / "welfare-section.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout if shutil.which("pdftotext") else ""
    assert "TOP-SECRET-CONTENT" not in text
    assert b"TOP-SECRET-CONTENT" not in (tmp_path / "out" / "welfare-section.pdf").read_bytes()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_long_unbroken_text_wraps_inside_the_pdf_page(tmp_path: Path) -> None:
    """A 300-character label, reference and description used to run off the page and out of pdftotext."""
    unbroken = "Z" + "".join(chr(ord("a") + i % 26) for i in range(298)) + "Q"
    store = small_history(tmp_path, unbroken, reference=f"https://example.org/{unbroken}")
    assert run("--history", store, "render", "--out", tmp_path / "out", "--format", "pdf").exit_code == 0
    boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "out" / "welfare-section.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))  # type: ignore[union-attr]
    right_edges = [float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', boxes)]
    words = re.findall(r">([^<]*)</word>", boxes)
    assert sum(unbroken[:20] in w for w in words) >= 3  # the text is there, in label, event and excerpts
    assert max(right_edges) <= width  # and no word runs off the page


def test_an_answer_with_many_tags_and_a_long_excerpt_is_shown_a_bounded_number_of_times(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01")
    long_quote = "Opening-of-the-quote " + "word " * 4000  # 20 KB
    tags = ";".join([*schema.CONCERN_TAGS, *(f"extra-{i}" for i in range(26))])
    s.normal("g1", 4.0, n=40, excerpt=lambda i: long_quote if i == 0 else "", tags=lambda i: tags if i == 0 else "")
    store = s.write()
    assert run("--history", store, "render", "--out", tmp_path / "out", "--format", "html").exit_code == 0
    html = (tmp_path / "out" / "welfare-section.html").read_text()
    assert 1 <= html.count("Opening-of-the-quote") <= len(schema.CONCERN_TAGS)
    assert len(html) < 400_000


def test_pdf_fetcher_refuses_everything_but_data_and_assets(tmp_path: Path, trap_server: str) -> None:
    fetcher = typeset._fetcher()
    for url in (f"{trap_server}/x", f"file://{tmp_path}", "file:///etc/passwd", "ftp://example.org/x"):
        with pytest.raises(ValueError, match="does not fetch"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    asset = typeset._templates_dir() / "report.css"
    assert b".welfare-report" in fetcher.fetch(asset.as_uri()).read()
    assert _Recorder.requests == []


# -- golden HTML ------------------------------------------------------------------------------


def normalise(html: str) -> str:
    """Charts and styles are checked on their own; the golden file pins the text and structure around them."""
    html = re.sub(r"<svg .*?</svg>", "<svg/>", html, flags=re.DOTALL)
    html = re.sub(r"<style>.*?</style>", "<style/>", html, flags=re.DOTALL)
    # The chain head fingerprints the merge log, whose entries carry the time of each merge.
    return re.sub(r'(chain head is <span class="wr-hash">)[0-9a-f]{64}', r"\1HEAD", html)


@pytest.mark.parametrize("name", ["welfare-section.html", "welfare-section.fragment.html"])
def test_golden_html(tmp_path: Path, name: str) -> None:
    store = small_history(tmp_path)
    run("--history", store, "render", "--out", tmp_path / "out", "--format", "html", "--format", "fragment")
    actual = normalise((tmp_path / "out" / name).read_text())
    golden = GOLDEN / f"small-{name}"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual)
    assert golden.exists(), "run with UPDATE_GOLDEN=1 to create the golden file"
    assert actual == golden.read_text(), "the HTML changed; if intended, run with UPDATE_GOLDEN=1 and review the diff"


# -- structure and accessibility --------------------------------------------------------------


def test_page_structure_is_accessible(bundled_render: Path) -> None:
    html = (bundled_render / "welfare-section.html").read_text()
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    levels = [int(x) for x in re.findall(r"<h([1-6])[ >]", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), "a heading level is skipped"
    assert html.count("<figure") == html.count("<figcaption>") > 0
    assert html.count("<svg") == html.count('role="img" aria-label="')
    headers = re.findall(r"<th(?: [^>]*)?>", html)
    assert headers and all("scope=" in h for h in headers)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "ids must be unique across all inline charts"
    assert "<script" not in html
    assert not re.search(r'(src|href)="(?!https?://|#|data:image/png;base64,)', html)


def test_fragment_has_no_document_wrapper_and_scoped_styles(bundled_render: Path) -> None:
    fragment = (bundled_render / "welfare-section.fragment.html").read_text()
    assert fragment.startswith('<section class="welfare-report wr-fragment"')
    for tag in ("<html", "<head>", "<body", "<!DOCTYPE"):
        assert tag not in fragment
    css = fragment[fragment.index("<style>") + 7:fragment.index("</style>")]
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    css = re.sub(r"@media print\s*{", "", css)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in block.split(",")]
    assert selectors and all(s.startswith(".welfare-report") for s in selectors), selectors
    assert "@page" not in fragment
    assert fragment.count("<h2") == 1 and "<h1" not in fragment


def test_charts_carry_no_dates(bundled_render: Path) -> None:
    html = (bundled_render / "welfare-section.html").read_text()
    for svg in re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL):
        assert "<dc:date>" not in svg and "Created with" not in svg


# -- PDF ---------------------------------------------------------------------------------------


def test_the_printed_edition_carries_its_full_tables_as_attachments(bundled_render: Path) -> None:
    """The PDF keeps one compact table per metric; every figure's data and the long tables travel as CSV."""
    reader = PdfReader(io.BytesIO((bundled_render / "welfare-section.pdf").read_bytes()))
    names = set(reader.attachments)
    findings = json.loads((bundled_render / "findings.json").read_text())
    for metric in findings["metrics"]:
        assert f"{metric['metric']}-trend.csv" in names
    assert "manual-interviews.csv" in names
    trend = next(n for n in sorted(names) if n.endswith("-trend.csv"))
    rows = list(csv.reader(io.StringIO(reader.attachments[trend][0].decode("utf-8"))))
    assert rows[0][:4] == ["generation", "source", "n", "mean"] and len(rows) > 2
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "the full tables travel with this PDF" in text
    assert "share of answers at each scale point" not in text  # the distribution table stays in the HTML
    html = (bundled_render / "welfare-section.html").read_text()
    assert "share of answers at each scale point" in html


def test_the_printed_table_of_a_metric_carries_each_generations_change_and_verdict(bundled_render: Path) -> None:
    """One table per metric in print: the comparisons (and the corroboration pairs) fold into it or
    travel attached, and a split inside a generation keeps its own row."""
    reader = PdfReader(io.BytesIO((bundled_render / "welfare-section.pdf").read_bytes()))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    findings = json.loads((bundled_render / "findings.json").read_text())
    labels = {g["generation"]: g["label"] for g in findings["generations"]}
    shown = [c for c in findings["comparisons"] if c["metric"] == "circumstances" and c["delta"] is not None]
    assert any(c["split"] for c in shown) and any(not c["split"] for c in shown)
    for c in shown:
        change = f"{c['delta']:+.2f} ({c['ci_low']:+.2f} to {c['ci_high']:+.2f})"
        assert change in text, change
    split = next(c for c in shown if c["split"])
    assert f"{labels[split['to']]}: system_prompt {split['split']['before']} -> {split['split']['after']}" in text
    assert "comparisons with the predecessor and across system-prompt changes" not in text
    assert "standardised change of the self-report and of each corroborating measure" not in text
    html = (bundled_render / "welfare-section.html").read_text()
    assert "comparisons with the predecessor and across system-prompt changes" in html
    assert "standardised change of the self-report and of each corroborating measure" in html
    for attached in ("circumstances-change.csv", "circumstances-evidence.csv"):
        assert attached in reader.attachments


def test_a_restated_figure_shows_both_figures_in_every_output(bundled_render: Path, tmp_path: Path) -> None:
    """WR018: the metric's table lists every published figure with its source and date."""
    both = ("4.00 (Aster 1 system card (synthetic), collected 2024-02-15); "
            "4.07 (Aster 4 system card (synthetic), published 2025-01-20)")
    html = re.sub(r"</?bdi>", "", (bundled_render / "welfare-section.html").read_text())
    assert both in html
    out = tmp_path / "markdown"
    assert run("--history", ROOT / "history", "render", "--out", out, "--format", "markdown").exit_code == 0
    assert both in (out / "welfare-section.md").read_text().replace("\\.", ".")  # "4\.00": never a list item
    reader = PdfReader(io.BytesIO((bundled_render / "welfare-section.pdf").read_bytes()))
    assert both in " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_printed_charts_are_opaque(bundled_render: Path) -> None:
    """Charts are drawn on white and stored without an alpha channel, which a PDF writer would encode
    a second time as a mask."""
    reader = PdfReader(io.BytesIO((bundled_render / "welfare-section.pdf").read_bytes()))
    streams: list[Any] = [image.indirect_reference.get_object() for page in reader.pages for image in page.images
                          if image.indirect_reference is not None]
    assert streams and all("/SMask" not in stream for stream in streams)


def test_pdf_text_attachment_identification_and_tags(bundled_render: Path) -> None:
    path = bundled_render / "welfare-section.pdf"
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for phrase in ("Model welfare", "Summary of findings", "How to read this section", "Rules",
                   "Provenance", "Figure 1.", "Table 1."):
        assert phrase in text
    assert reader.attachments["findings.json"][0] == (bundled_render / "findings.json").read_bytes()
    root: Any = reader.trailer["/Root"]  # pypdf types a PDF dictionary loosely
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"<pdfaid:part>3</pdfaid:part>|pdfaid:part=\"3\"", xmp)
    assert re.search(r"<pdfaid:conformance>A</pdfaid:conformance>|pdfaid:conformance=\"A\"", xmp)
    assert bool(root["/MarkInfo"]["/Marked"])
    tree = root["/StructTreeRoot"].get_object()
    kinds: set[str] = set()
    alternatives: list[str] = []

    def walk(node: object, depth: int = 0) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, dict):
            if "/S" in node:
                kinds.add(str(node["/S"]))
            if node.get("/S") == "/Figure" and "/Alt" in node:
                alternatives.append(str(node["/Alt"]))
            if depth < 40 and "/K" in node:
                walk(node["/K"], depth + 1)
        elif isinstance(node, list):
            for child in node:
                walk(child, depth + 1)

    walk(tree)
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/P", "/Figure", "/Caption"} <= kinds
    # Every chart is a figure with its text alternative.
    html = (bundled_render / "welfare-section.html").read_text()
    assert len(alternatives) == html.count("<figure") and all(
        "per generation" in a or "at each transition" in a or "at each comparison" in a or "Per generation" in a
        for a in alternatives)
    metadata = reader.metadata
    assert metadata is not None
    assert "2026" in str(metadata.get("/CreationDate"))
    assert str(metadata["/Title"]).startswith("Model welfare")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_pdftotext_reads_the_pdf(bundled_render: Path) -> None:
    text = subprocess.run(["pdftotext", str(bundled_render / "welfare-section.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Summary of findings" in text and "WR002" in text


def test_the_pdf_dates_follow_the_as_of_date(tmp_path: Path) -> None:
    store = small_history(tmp_path)
    run("--history", store, "render", "--out", tmp_path / "out", "--format", "pdf", "--as-of", "2025-03-15")
    data = (tmp_path / "out" / "welfare-section.pdf").read_bytes()
    dates = set(re.findall(rb"D:(\d{8})", data))
    assert dates == {b"20250315"}


def test_the_current_folder_is_never_swapped_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = small_history(tmp_path / "source")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for out in (".", ".."):
        result = run("--history", store, "render", "--out", out, "--format", "json")
        assert result.exit_code == 2 and "choose a folder of its own" in result.stderr
    assert list(empty.iterdir()) == []


def test_charts_carry_no_style_rule_that_reaches_outside_them(bundled_render: Path) -> None:
    """matplotlib writes `*{stroke-linejoin: round; ...}`; pasted into a card it restyled the host's icons."""
    fragment = (bundled_render / "welfare-section.fragment.html").read_text()
    assert fragment.count("<svg ") >= 4
    assert "*{" not in fragment and "<style type=\"text/css\">" not in fragment
    assert 'style="stroke-linejoin:round;stroke-linecap:butt"' in fragment  # kept, on each chart's own root


# -- what a reader sees: numbers, labels, the summary, the pages --------------------------------


# A page (but the last) whose content ends above this share of its height is mostly blank.
MOSTLY_BLANK = 0.4


def _ink_depth(pdf: Path, folder: Path) -> list[float]:
    """Per page, how far down its content reaches (0 top, 1 bottom), between the running header and footer."""
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "20", "-gray", "-png", str(pdf), str(folder / "page")], check=True)
    depths = []
    for path in sorted(folder.glob("page-*.png")):
        image = Image.open(path).convert("L")
        width, height = image.size
        top, bottom = int(height * 0.07), int(height * 0.93)
        pixels = image.load()
        last = top
        for y in range(top, bottom):
            if any(pixels[x, y] < 200 for x in range(int(width * 0.06), int(width * 0.94))):  # type: ignore[index,operator]
                last = y
        depths.append((last - top) / (bottom - top))
    return depths


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils is not installed")
def test_no_pdf_page_is_mostly_blank_and_no_page_ends_on_a_heading(bundled_render: Path, tmp_path: Path) -> None:
    pdf = bundled_render / "welfare-section.pdf"
    depths = _ink_depth(pdf, tmp_path)
    assert len(depths) > 10
    blank = [page for page, depth in enumerate(depths[:-1], 1) if depth < MOSTLY_BLANK]
    assert blank == [], f"mostly blank pages: {blank} ({[round(depths[p - 1], 2) for p in blank]})"
    headings = {"Summary of findings", "How to read this section", "Methods", "Generations", "Events",
                "Qualitative evidence", "Rules", "Provenance", "Corrections", "Inputs"}
    for page in range(1, len(depths)):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        body = [line for line in lines if not re.fullmatch(r"Page \d+ of \d+|Model welfare\s+As of [\d-]+", line)]
        assert body and body[-1] not in headings, f"page {page} ends on the heading {body[-1]!r}"
        assert not re.match(r"(Table|Figure) \d+\.", body[-1]), f"page {page} ends on a caption: {body[-1]!r}"


def test_figures_and_tables_are_numbered_with_the_section_number_and_stable_anchors(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.generations[0]["label"] = "Model One"
    s.generations[1]["label"] = "Model Two"
    s.normal("g1", 4.0).normal("g2", 4.6)
    store = s.write()
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "html", "--section-number", "7").exit_code == 0
    html = (out / "welfare-section.html").read_text()
    figures = re.findall(r'<figure class="wr-figure" id="([^"]+)">', html)
    numbers = re.findall(r'<span class="wr-number">(Figure [\d.]+)\.</span>', html)
    assert numbers == [f"Figure 7.{i}" for i in range(1, len(numbers) + 1)] and len(numbers) == len(figures) >= 3
    assert figures[:2] == ["wr-figure-mood-trend", "wr-figure-mood-change"]
    tables = re.findall(r'<span class="wr-number">(Table [\d.]+)\.</span>', html)
    assert tables == [f"Table 7.{i}" for i in range(1, len(tables) + 1)] and len(tables) >= 5
    assert 'id="wr-table-stats-mood"' in html
    # Display labels where a reader looks: table rows and chart axes; the ids stay in evidence and JSON.
    assert '<th scope="row"><bdi>Model One</bdi></th>' in html
    trend = html[html.index('id="wr-figure-mood-trend"'):html.index("</figure>", html.index('id="wr-figure-mood-trend"'))]
    assert "Model Two" in trend and ">g2<" not in trend
    assert run("--history", store, "render", "--out", tmp_path / "bad", "--section-number", "seven").exit_code == 2


def test_the_summary_reads_one_item_per_rule_and_transition_with_sizes(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7), "calm": (1, 7), "ease": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    for metric in ("mood", "calm", "ease"):
        s.normal("g1", 4.0, metric=metric).normal("g2", 4.8, metric=metric)
    s.event("2025-02-20", "system_prompt_change", "g2", description="New deployment prompt")
    store = s.write()
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "html").exit_code == 0
    html = (out / "welfare-section.html").read_text()
    summary = html[html.index('id="wr-summary"'):html.index('id="wr-how"')]
    items = re.findall(r'<li><span class="wr-rule wr-flag">WR002</span>(.*?)</li>', summary)
    assert len(items) == 1  # three metrics at one system-prompt change: one item
    assert all(f"<bdi>{m} (mean +0." in items[0] for m in ("mood", "calm", "ease"))
    assert "system prompt change (2025-02-20)" in summary
    assert "jump size" not in summary and "0.3)" not in summary  # sizes, never thresholds


@pytest.mark.slow
def test_charts_drawn_in_parallel_are_the_same_bytes(tmp_path: Path) -> None:
    """A command run on its own draws in two processes (on two cores); in a test runner, with threads
    running, it draws in-process. The bytes are the same either way."""
    from reporter import drawing

    alone, here = tmp_path / "alone", tmp_path / "here"
    subprocess.run([sys.executable, "-m", "reporter", "--history", str(ROOT / "history"), "render", "--out", str(alone),
                    "--format", "html", "--format", "pdf"], check=True, capture_output=True)
    assert run("--history", ROOT / "history", "render", "--out", here, "--format", "html", "--format", "pdf").exit_code == 0
    for name in ("welfare-section.html", "welfare-section.pdf"):
        assert (alone / name).read_bytes() == (here / name).read_bytes(), name
    assert drawing.connection is None


def test_a_dollar_sign_in_a_label_is_text_in_the_charts_not_math(tmp_path: Path) -> None:
    """matplotlib reads $...$ as math: a label is plain text to it, whatever it holds."""
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.generations[0]["label"] = "Model $x^2$ at $5"
    s.normal("g1", 4.0).normal("g2", 4.6)
    store = s.write()
    out = tmp_path / "out"
    result = run("--history", store, "render", "--out", out, "--format", "html", "--format", "charts")
    assert result.exit_code == 0, result.stderr
    trend = next((out / "charts").glob("figure-01-*.svg")).read_text()
    assert "Model $x^2$ at $5" in trend


def test_featured_excerpts_come_first_and_identical_text_is_shown_once(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    quotes = {0: "Same words.", 1: "Same words.", 2: "Same  WORDS.", 3: "A", 4: "B", 5: "C", 6: "Chosen by the author."}
    s.normal("g1", 4.0, excerpt=lambda i: quotes.get(i, ""), featured=lambda i: "true" if i == 6 else "",
             tags=lambda i: "anxiety" if i < 7 else "")
    s.normal("g2", 4.1)
    store = s.write()
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "html", "--format", "markdown").exit_code == 0
    html = (out / "welfare-section.html").read_text()
    evidence = html[html.index('id="wr-evidence"'):html.index('id="wr-rules"')]
    shown = re.findall(r"<blockquote><p><bdi>(.*?)</bdi></p>", evidence)
    assert shown[0] == "Chosen by the author."  # featured first, before the key order
    assert len(shown) == 3 and sum(q.casefold().split() == ["same", "words."] for q in shown) == 1
    assert "featured" in evidence
    markdown = (out / "welfare-section.md").read_text()
    assert markdown.count("Same words.") + markdown.count("Same  WORDS.") == 1


def test_every_rule_raised_at_one_generation_is_marked_on_the_robustness_chart() -> None:
    """WR007 (a note) and WR012 at the same generation: both ids are drawn, neither hides the other."""
    from dataclasses import replace

    from reporter.charts import chart_context, robustness_chart
    from reporter.pipeline import findings_from_path

    findings = findings_from_path(ROOT / "history")
    prompt = next(f for f in findings.raised if f.rule == "WR007")
    lead = replace(prompt, rule="WR012", severity="flag")
    with chart_context():
        chart = robustness_chart(findings.analysis, prompt.metric or "", [prompt, lead], "t", ("svg",))
    assert chart is not None
    assert ">WR007 WR012<" in chart.svg


def test_rule_ids_above_a_trend_never_overlap_each_other_or_the_title() -> None:
    """The bundled circumstances trend has six flagged places side by side, three of them with two or three
    ids; drawn the way trend_chart draws them, no two rule labels and no label and the title overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from reporter import charts
    from reporter.pipeline import findings_from_path

    findings = findings_from_path(ROOT / "history")
    analysis = findings.analysis
    with charts.chart_context():
        figure, axes = charts._subplots(figsize=(charts.WIDTH, charts.HEIGHT))
        marks = charts._rule_marks(findings.raised, "circumstances", charts.MEAN_RULES)
        rows = charts._mark_rules(axes, marks, charts._positions(analysis))
        charts._generation_axis(axes, analysis)
        title = axes.set_title("Circumstances (synthetic): mean and 95% CI per generation",
                               pad=charts._title_pad(rows), y=charts.TITLE_Y)
        charts._margins(figure, left=0.7, bottom=1.1, top=0.35 + charts._title_pad(rows) / 72)
        renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
        figure.draw(renderer)
        labels = [t.get_window_extent(renderer) for t in axes.texts if "WR0" in t.get_text()]
    assert len(labels) >= 5 and rows >= 2
    boxes = [*labels, title.get_window_extent(renderer)]
    overlapping = [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]
    assert overlapping == []
    assert all(box.y1 <= figure.bbox.y1 for box in boxes)  # nothing runs off the top


def test_a_label_in_a_script_the_chart_font_lacks_raises_no_warning_on_stderr(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.generations[1]["label"] = "模型 𝔘 g2"
    s.normal("g1", 4.0).normal("g2", 4.6)
    result = run("--history", s.write(), "render", "--out", tmp_path / "out", "--format", "html")
    assert result.exit_code == 0 and "Warning" not in result.stderr and "Glyph" not in result.stderr
    assert "模型 𝔘 g2" in (tmp_path / "out" / "welfare-section.html").read_text()


def test_a_finding_for_a_whole_transition_shows_each_metrics_figures_in_its_evidence_table() -> None:
    from reporter.section import evidence_items

    evidence = {"from": "g1", "to": "g2", "metrics": {
        m: {"threshold_distance": 0.2, "threshold_p_holm": 0.01, "method_distance": d, "method_distance_p_value": 1e-6,
            "method_distance_p_holm": 2e-6, "method_from": {"automated_interview": 40}, "method_to": {"manual_interview": 40}}
        for m, d in (("mood", 0.55), ("joy", 0.58))}}
    items = evidence_items(evidence)
    assert ("mood: method distance", "0.55", False) in items and ("joy: method distance", "0.58", False) in items
    assert ("distance", "0.2", True) in items and ("p holm", "0.01", True) in items
    assert len([i for i in items if i[2]]) == 2, "each threshold once"


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page of a PDF."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def rules_share(pages: list[str]) -> float:
    """The share of pages from the Rules heading up to Provenance: the findings part a reader goes through."""
    start = next(i for i, page in enumerate(pages) if re.search(r"^\s*Rules\s*$", page, re.MULTILINE))
    end = next(i for i, page in enumerate(pages) if re.search(r"^\s*Provenance\s*$", page, re.MULTILINE))
    return (end - start + 1) / len(pages)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_rules_part_lists_findings_first_and_is_at_most_a_fifth_of_the_pdf(bundled_render: Path) -> None:
    pages = pdf_pages(bundled_render / "welfare-section.pdf")
    assert rules_share(pages) <= 0.2
    text = "\n".join(pages)
    assert "No finding." not in text, "a rule that found nothing is named in one sentence, not given a block"
    assert "No finding from WR001 (Not a target)" in " ".join(text.split())
    # The printed edition points to the attached findings for the evidence; the HTML has the appendix.
    assert "Appendix: the evidence of every finding" not in text
    assert "in findings.json, attached to this PDF" in " ".join(text.split())
    html = (bundled_render / "welfare-section.html").read_text()
    assert "Appendix: the evidence of every finding" in html
    assert html.count("<details") == len({m for m in re.findall(r'id="wr-table-rule-(WR\d{3})"', html)})


def test_a_long_metric_label_never_runs_off_the_change_chart(tmp_path: Path) -> None:
    """The change chart's title used to be clipped at the right edge for a long probe label."""
    from PIL import Image

    out = tmp_path / "out"
    assert run("--history", ROOT / "history", "render", "--out", out, "--format", "charts").exit_code == 0
    (png,) = (out / "charts").glob("*valence-probe*-chang*.png")
    with Image.open(png) as image:
        grey = image.convert("L")
        width, height = grey.size
        # Nothing drawn in the last columns of the title band: the title ends inside the figure.
        edge = [int(grey.getpixel((x, y)) or 0) for x in range(width - 3, width)  # type: ignore[arg-type]
                for y in range(int(height * 0.15))]
    assert min(edge) > 200

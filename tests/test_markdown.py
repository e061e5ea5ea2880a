"""`--format markdown` and `--format charts`: a section a card can take as it is, and every figure as files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from markdown_it import MarkdownIt

from .conftest import run
from .scenario import Scenario

ROOT = Path(__file__).parents[1]
HOSTILE = "<script>alert(1)</script> [click](javascript:alert(1)) ![x](file:///etc/passwd) | *bold* # 1."


def _tokens(text: str) -> list[object]:
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    flat: list[object] = []
    for token in parser.parse(text):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def test_the_markdown_renders_with_tables_and_every_chart_link_resolves(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("--history", ROOT / "history", "render", "--out", out, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    text = (out / "welfare-section.md").read_text()
    tokens = _tokens(text)
    kinds = {t.type for t in tokens}  # type: ignore[attr-defined]
    assert {"heading_open", "table_open", "image", "bullet_list_open"} <= kinds
    images = [t.attrGet("src") for t in tokens if t.type == "image"]  # type: ignore[attr-defined]
    assert len(images) >= 4 and all((out / str(src)).is_file() for src in images)
    assert all(str(src).startswith("welfare-section-charts/") and str(src).endswith(".svg") for src in images)
    assert "stable: no change larger than 0.30 points" in text and "WR013" in text


def test_hostile_text_stays_text_in_the_markdown(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.generations[1]["label"] = HOSTILE
    s.normal("g1", 4.0).normal("g2", 4.6)
    s.event("2025-02-20", "training_change", "g2", description=HOSTILE)
    store = s.write()
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "markdown", "--title", HOSTILE).exit_code == 0
    tokens = _tokens((out / "welfare-section.md").read_text())
    links = [t for t in tokens if t.type in ("link_open", "image")]  # type: ignore[attr-defined]
    assert all(str(t.attrGet("src") or "").startswith("welfare-section-charts/") for t in links)  # type: ignore[attr-defined]
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]  # type: ignore[attr-defined]
    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render((out / "welfare-section.md").read_text())
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert 'href="javascript' not in rendered and 'src="file:' not in rendered


def test_charts_are_written_as_svg_png_and_the_csv_of_their_data(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("--history", ROOT / "history", "render", "--out", out, "--format", "charts",
               "--section-number", "7").exit_code == 0
    names = sorted(p.name for p in (out / "charts").iterdir())
    stems = sorted({n.rsplit(".", 1)[0] for n in names})
    assert stems[0].startswith("figure-7-01-") and len(names) == 3 * len(stems)
    assert all((out / "charts" / f"{stem}.png").read_bytes().startswith(b"\x89PNG") for stem in stems)
    trend = next(stem for stem in stems if stem.endswith("-circumstances-synthetic-trend"))
    rows = list(csv.reader(io.StringIO((out / "charts" / f"{trend}.csv").read_text())))
    assert rows[0] == ["generation", "source", "n", "mean", "ci_low", "ci_high", "contaminated", "mean_without_redirected"]
    assert [r[0] for r in rows[1:]][:3] == ["aster-1", "aster-2", "aster-3"]
    # The change chart's data carries each comparison's verdict, the split inside aster-6 included.
    change = next(stem for stem in stems if stem.endswith("-circumstances-synthetic-change"))
    rows = list(csv.reader(io.StringIO((out / "charts" / f"{change}.csv").read_text())))
    assert rows[0][-1] == "verdict" and {r[-1] for r in rows[1:]} <= {"changed", "stable", "inconclusive"}
    assert any(r[0] == "aster-6" and r[2] for r in rows[1:])


def test_notes_in_the_markdown_keep_tables_and_lose_raw_html_and_unsafe_links(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.normal("g1", 4.0).normal("g2", 4.1)
    store = s.write()
    notes = tmp_path / "notes.md"
    notes.write_text("# Our probes\n\n| Probe | Layer |\n| --- | --- |\n| valence | 20 |\n\n<img src=x onerror=alert(1)>\n\n"
                     "[run](javascript:alert(1)) [ok](https://example.org) [ref]\n\n[ref]: javascript:alert(2)\n")
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "markdown", "--notes", notes,
               "--heading-level", "3").exit_code == 0
    text = (out / "welfare-section.md").read_text()
    tokens = _tokens(text)
    hrefs = [str(t.attrGet("href")) for t in tokens if t.type == "link_open"]  # type: ignore[attr-defined]
    assert hrefs == ["https://example.org"]
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]  # type: ignore[attr-defined]
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<img src=x" not in rendered and "onerror" not in rendered.replace("&lt;img src=x onerror", "")
    assert "<td>valence</td>" in rendered
    # The section title is h3, its parts h4, and the notes' own # heading sits below them.
    assert "<h3>Model welfare</h3>" in rendered and "<h5>Our probes</h5>" in rendered


def test_an_embedded_image_stays_an_image_and_a_data_link_stays_text() -> None:
    from reporter.markdown import safe_notes

    text = safe_notes("![probe](data:image/png;base64,AAAA) and [open](data:image/png;base64,AAAA)", 3)
    tokens = _tokens(text)
    assert [t.attrGet("src") for t in tokens if t.type == "image"] == ["data:image/png;base64,AAAA"]  # type: ignore[attr-defined]
    assert not [t for t in tokens if t.type == "link_open"]  # type: ignore[attr-defined]


def test_a_concern_tag_rise_is_visible_on_its_own_metric_s_chart(tmp_path: Path) -> None:
    """WR010 saw task_enjoyment's concern tags rise from 7% to 24% at aster-8; pooled over every metric the old
    chart showed 1-2% everywhere. The metric's own chart draws the rise and marks the rule."""
    out = tmp_path / "out"
    assert run("--history", ROOT / "history", "render", "--out", out, "--format", "charts").exit_code == 0
    stem = next(p.stem for p in (out / "charts").glob("*-task-enjoyment-synthetic-redirects-and-concern-tags.csv"))
    rows = {r["generation"]: r for r in csv.DictReader(io.StringIO((out / "charts" / f"{stem}.csv").read_text()))}
    tagged = {g: sum(float(v) for k, v in r.items() if k not in ("generation", "redirect_rate", "decline_rate"))
              for g, r in rows.items()}
    assert tagged["aster-7"] < 0.1 < 0.2 < tagged["aster-8"]
    assert ">WR010<" in (out / "charts" / f"{stem}.svg").read_text()


def test_bare_urls_and_addresses_in_untrusted_text_never_become_links() -> None:
    from reporter.markdown import md

    hostile = "see https://evil.example/x, www.evil.com, evil.com/login and mail a@evil.com; Opus 4.5 rose"
    parser = MarkdownIt("gfm-like", {"html": False})  # linkify on, fuzzy domains too
    tokens = [c for t in parser.parse(md(hostile)) for c in (t.children or [])]
    assert not [t for t in tokens if t.type == "link_open"]
    # Escapes are invisible once rendered: the reader sees the text as it was written.
    assert parser.render(md(hostile)).strip() == f"<p>{hostile}</p>"

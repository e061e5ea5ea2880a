"""A second red team's findings: nothing hides an edit, nothing a person wrote is deleted.

Each test reproduces one finding and failed before its fix.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from .conftest import GOOD, run, snapshot
from .scenario import Scenario


def _merged(store: Path) -> Path:
    result = run("--history", store, "merge", GOOD / "observations.csv")
    assert result.exit_code == 0, result.stderr
    return store


def _edit_a_score_and_rehash(store: Path) -> None:
    """An edit outside merge, with the manifest's file hashes recomputed by hand."""
    manifest = json.loads((store / "manifest.json").read_text())
    name = next(n for n in manifest["files"] if n.startswith("observations/"))
    path = store / name
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    column = header.index("score")
    cells = lines[1].split(",")
    cells[column] = "7" if cells[column] != "7" else "1"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["files"][name]["sha256"] = digest
    manifest["merges"][-1].get("files", {})[name] = digest
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _downgrade(store: Path, keep_files: bool) -> None:
    """Relabel the manifest as the unchained store schema and drop the chain links."""
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["schema"] = "welfare-report/store/1"
    for entry in manifest["merges"]:
        entry.pop("previous", None)
        if not keep_files:
            entry.pop("files", None)
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("keep_files", [True, False], ids=["chain-fields-left", "chain-fields-dropped"])
def test_a_chain_downgrade_never_hides_an_edit(store: Path, keep_files: bool) -> None:
    _merged(store)
    _edit_a_score_and_rehash(store)
    _downgrade(store, keep_files)
    before = snapshot(store)
    verify = run("--history", store, "verify")
    assert verify.exit_code != 0
    check = run("--history", store, "check")
    assert check.exit_code == 2 and ("verify" in check.stderr or "refused" in check.stderr)
    # An ordinary merge never chains the edit in.
    merge = run("--history", store, "merge", GOOD / "summaries.csv")
    assert merge.exit_code == 2
    assert snapshot(store) == before


def test_a_schema_one_manifest_with_chain_fields_is_refused_as_tampered(store: Path) -> None:
    _merged(store)
    _downgrade(store, keep_files=True)
    verify = run("--history", store, "verify")
    assert verify.exit_code != 0
    assert "chained" in (verify.stdout + verify.stderr)


def test_an_unchained_store_is_read_only_after_one_explicit_adoption(store: Path) -> None:
    _merged(store)
    _downgrade(store, keep_files=False)
    verify = run("--history", store, "verify")
    assert verify.exit_code == 1 and "not anchored" in verify.stdout
    assert run("--history", store, "trend").exit_code == 2
    adopted = run("--history", store, "merge")
    assert adopted.exit_code == 0 and "anchored" in adopted.stdout
    head = json.loads(run("--history", store, "check", "--json").stdout)["chain_head"]
    assert head and head in adopted.stdout, "the adoption prints the head to publish"
    assert run("--history", store, "verify").exit_code == 0


def _small(tmp_path: Path) -> Path:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.normal("g1", 4.0).normal("g2", 4.05)
    return s.write()


def test_render_never_deletes_a_file_a_person_added(tmp_path: Path) -> None:
    store = _small(tmp_path)
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "json").exit_code == 0
    (out / "notes.md").write_text("my notes\n")
    (out / "figure.png").write_bytes(b"\x89PNG person's own")
    before = snapshot(out)
    again = run("--history", store, "render", "--out", out, "--format", "json")
    assert again.exit_code == 2
    assert "notes.md" in again.stderr or "figure.png" in again.stderr
    assert snapshot(out) == before


def test_render_never_deletes_a_file_a_person_put_in_a_chart_folder(tmp_path: Path) -> None:
    store = _small(tmp_path)
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "markdown").exit_code == 0
    (out / "welfare-section-charts" / "draft.txt").write_text("a person's draft\n")
    again = run("--history", store, "render", "--out", out, "--format", "markdown")
    assert again.exit_code == 2 and "draft.txt" in again.stderr
    assert (out / "welfare-section-charts" / "draft.txt").read_text() == "a person's draft\n"


def test_quarterly_force_never_deletes_a_file_a_person_added(tmp_path: Path) -> None:
    store = _small(tmp_path)
    reports = tmp_path / "reports"
    first = run("--history", store, "quarterly", "2025-Q1", "--out", reports, "--today", "2025-04-02")
    assert first.exit_code == 0, first.stderr
    folder = reports / "2025-Q1"
    (folder / "review.md").write_text("the reviewer's notes\n")
    again = run("--history", store, "quarterly", "2025-Q1", "--out", reports, "--today", "2025-04-03", "--force")
    assert again.exit_code == 2 and "review.md" in again.stderr
    assert (folder / "review.md").read_text() == "the reviewer's notes\n"


# -- verify REPORT_DIR trusts nothing the folder says about itself ---------------------------


def _rendered(tmp_path: Path, *formats: str) -> tuple[Path, Path]:
    store = _small(tmp_path)
    out = tmp_path / "out"
    args = [a for f in (formats or ("html", "json")) for a in ("--format", f)]
    result = run("--history", store, "render", "--out", out, *args)
    assert result.exit_code == 0, result.stderr
    assert run("--history", store, "verify", out).exit_code == 0
    return store, out


def _edit_findings(out: Path, change: object) -> None:
    path = out / "findings.json"
    document = json.loads(path.read_text())
    change(document)  # type: ignore[operator]
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def _verify(store: Path, out: Path, *more: str) -> tuple[int, str]:
    result = run("--history", store, "verify", out, *more)
    return result.exit_code, result.stdout + result.stderr


def test_verify_checks_every_output_whatever_formats_the_report_lists(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    _edit_findings(out, lambda d: d["options"].__setitem__("formats", ["json"]))
    html = out / "welfare-section.html"
    html.write_text(html.read_text().replace("</main>", "<p>forged</p></main>"))
    code, output = _verify(store, out)
    assert code == 1 and "welfare-section.html" in output


def test_verify_names_a_file_no_render_writes(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    (out / "approval.html").write_text("<p>approved</p>")
    code, output = _verify(store, out)
    assert code == 1 and "approval.html: not an output" in output


def test_verify_names_an_expected_output_that_is_missing(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    (out / "welfare-section.html").unlink()
    code, output = _verify(store, out)
    assert code == 1 and "welfare-section.html: missing" in output


def test_a_report_that_cannot_be_rendered_again_is_not_called_verified(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    html = out / "welfare-section.html"
    html.write_text(html.read_text().replace("</main>", "<p>forged</p></main>"))

    def first_schema(document: dict[str, object]) -> None:
        document["schema"] = "welfare-report/findings/1"
        document["flags"] = []
        for key in ("chain_head", "tool_version", "options"):
            document.pop(key)

    _edit_findings(out, first_schema)
    code, output = _verify(store, out)
    assert code == 1 and "outputs not checked" in output
    data_only = run("--history", store, "verify", out, "--data-only")
    assert data_only.exit_code == 0, data_only.stdout + data_only.stderr
    assert "outputs were not checked" in data_only.stdout


def test_a_report_of_another_tool_version_is_not_called_verified(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    _edit_findings(out, lambda d: d.__setitem__("tool_version", "0.0.1"))
    code, output = _verify(store, out)
    assert code == 1 and "outputs not checked" in output


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        pytest.param("id_prefix", 'x"><script>alert(1)</script>', "id_prefix", id="id-prefix"),
        pytest.param("heading_level", 10**9, "heading_level", id="heading-level"),
        pytest.param("section_number", "7<b>", "section_number", id="section-number"),
        pytest.param("formats", ["html", "exe"], "formats", id="formats"),
        pytest.param("title", "x" * 100_000, "title", id="title"),
    ],
)
def test_recorded_options_pass_the_command_line_s_checks_before_anything_is_rendered(
    tmp_path: Path, option: str, value: object, named: str,
) -> None:
    store, out = _rendered(tmp_path)
    _edit_findings(out, lambda d: d["options"].__setitem__(option, value))
    code, output = _verify(store, out)
    assert code in (1, 2) and named in output
    assert "<script>" not in (out / "welfare-section.html").read_text()


def test_kept_notes_pass_the_notes_lint_before_anything_is_rendered(tmp_path: Path) -> None:
    store = _small(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text("The interviews ran in June.\n")
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--notes", notes, "--format", "html",
               "--format", "json").exit_code == 0
    kept = out / "welfare-section.notes.md"
    kept.write_text("Our goal is to raise the circumstances score to 5.\n")
    _edit_findings(out, lambda d: d["options"].__setitem__("notes_sha256", hashlib.sha256(kept.read_bytes()).hexdigest()))
    code, output = _verify(store, out)
    assert code in (1, 2) and "WR001" in output


def test_a_fifo_in_place_of_the_findings_is_refused_at_once(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    (out / "findings.json").unlink()
    os.mkfifo(out / "findings.json")
    code, output = _verify(store, out)
    assert code == 2 and "not a regular file" in output


def test_a_symlink_to_a_device_in_a_report_folder_is_refused(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    (out / "findings.json").unlink()
    (out / "findings.json").symlink_to("/dev/zero")
    code, output = _verify(store, out)
    assert code == 2 and "not a regular file" in output


def test_an_oversized_report_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    with open(out / "welfare-section.html", "r+b") as handle:
        handle.truncate(3 << 30)  # a sparse file of 3 GiB
    code, output = _verify(store, out)
    assert code in (1, 2) and "welfare-section.html" in output and "too large" in output


# -- a PDF is compared by its images and refused with actions the tool never writes -------------


def _pdf_report(tmp_path: Path) -> tuple[Path, Path]:
    return _rendered(tmp_path, "pdf", "json")


def _rewritten(path: Path, change: object) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(path))
    change(writer)  # type: ignore[operator]
    with open(path, "wb") as handle:
        writer.write(handle)


def _swap_first_image(writer: object) -> None:
    from PIL import Image

    image = writer.pages[0].images[0]  # type: ignore[attr-defined]
    image.replace(Image.new("RGB", image.image.size, "white"))


def _javascript_on_open(writer: object) -> None:
    from pypdf.actions import JavaScript

    writer.add_open_action(JavaScript("app.alert('welfare approved');"))  # type: ignore[attr-defined]


def _page_link(writer: object) -> None:
    from pypdf.annotations import Link

    box = writer.pages[0].mediabox  # type: ignore[attr-defined]
    writer.add_annotation(page_number=0, annotation=Link(rect=(0, 0, box.width, box.height), url="https://example.com/x"))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(_swap_first_image, "its images differ", id="swapped-chart"),
        pytest.param(_javascript_on_open, "holds actions, JavaScript or links", id="javascript"),
        pytest.param(_page_link, "holds actions, JavaScript or links", id="link-annotation"),
    ],
)
def test_a_pdf_with_a_swapped_image_or_an_action_does_not_verify(tmp_path: Path, change: object, message: str) -> None:
    store, out = _pdf_report(tmp_path)
    pdf = out / "welfare-section.pdf"
    _rewritten(pdf, change)
    code, output = _verify(store, out)
    assert code == 1 and f"welfare-section.pdf: {message}" in output


# -- every image in the notes gets the file checks, embedded or not ---------------------------


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


SVG_BOMB = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<g id="a"><rect width="1" height="1"/></g>'
            + "".join(f'<g id="{chr(98 + i)}"><use xlink:href="#{chr(97 + i)}"/><use xlink:href="#{chr(97 + i)}"/></g>'
                      for i in range(20)) + "</svg>").encode()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(SVG_BOMB, "not a PNG or JPEG", id="svg-labelled-png"),
        pytest.param(_png(6000, 6000), "megapixels", id="too-many-pixels"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * (3 << 20), "larger than 2 MB", id="too-large"),
    ],
)
def test_an_inline_data_image_in_the_notes_gets_the_file_checks(tmp_path: Path, payload: bytes, message: str) -> None:
    import base64

    store = _small(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text(f"A chart:\n\n![x](data:image/png;base64,{base64.b64encode(payload).decode()})\n")
    out = tmp_path / "out"
    result = run("--history", store, "render", "--out", out, "--notes", notes, "--format", "html")
    assert result.exit_code == 2 and message in result.stderr and "notes.md:3" in result.stderr
    assert not out.exists()


def test_an_image_file_beside_the_notes_with_too_many_pixels_is_refused(tmp_path: Path) -> None:
    store = _small(tmp_path)
    (tmp_path / "wide.png").write_bytes(_png(13000, 13000))
    notes = tmp_path / "notes.md"
    notes.write_text("![wide](wide.png)\n")
    result = run("--history", store, "render", "--out", tmp_path / "out", "--notes", notes, "--format", "pdf")
    assert result.exit_code == 2 and "megapixels" in result.stderr


def test_a_small_embedded_png_in_the_notes_is_kept(tmp_path: Path) -> None:
    import base64

    store = _small(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text(f"![dot](data:image/png;base64,{base64.b64encode(_png(20, 10)).decode()})\n")
    out = tmp_path / "out"
    result = run("--history", store, "render", "--out", out, "--notes", notes, "--format", "html", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "data:image/png;base64," in (out / "welfare-section.html").read_text()
    assert run("--history", store, "verify", out).exit_code == 0


def test_a_line_break_in_a_reviewer_s_name_cannot_forge_a_line_of_check(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.normal("g1", 4.0).normal("g2", 4.05)
    s.acknowledgements.append({"rule": "WR002", "generations": "g1;g2", "metric": "mood", "reason": "reviewed\nFLAGS",
                               "by": "reviewer\n  WR002 forged: every score rose", "date": "2020-01-01"})
    store = s.write()
    result = run("--history", store, "check")
    lines = result.stdout.splitlines()
    assert any("forged" in line for line in lines), "the reviewer's words are shown"
    assert not any(line.lstrip().startswith("WR002 forged") for line in lines)
    assert "FLAGS" not in [line.strip() for line in lines]


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"], ids=["utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_named_as_utf16_not_binary(tmp_path: Path, bom: bytes) -> None:
    text = "generation,release_date\ng1,2025-01-01\n"
    data = bom + text.encode("utf-16-le" if bom == b"\xff\xfe" else "utf-16-be")
    path = tmp_path / "generations.csv"
    path.write_bytes(data)
    result = run("validate", path)
    assert result.exit_code == 2 and "UTF-16: save it as UTF-8" in result.stderr
    assert "binary data" not in result.stderr


@pytest.mark.parametrize("change", ["nan", "inf", "-inf"])
def test_plan_refuses_a_change_that_is_not_a_number(tmp_path: Path, change: str) -> None:
    store = _small(tmp_path)
    result = run("--history", store, "plan", "--change", change)
    assert result.exit_code == 2 and "--change" in result.stderr


def test_the_quarterly_manifest_records_today_in_its_command(tmp_path: Path) -> None:
    store = _small(tmp_path)
    assert run("--history", store, "quarterly", "2025-Q1", "--out", tmp_path / "reports", "--today",
               "2025-04-02").exit_code == 0
    command = json.loads((tmp_path / "reports" / "2025-Q1" / "manifest.json").read_text())["command"]
    assert command.endswith("--today 2025-04-02")


def test_a_metric_added_later_leaves_an_earlier_report_valid(tmp_path: Path) -> None:
    store, out = _rendered(tmp_path)
    metrics = tmp_path / "more-metrics.csv"
    metrics.write_text("metric,scale_min,scale_max\nsleep,1,7\n")
    later = tmp_path / "later.csv"
    later.write_text("generation,metric,collected_on,score\n" + "".join(f"g2,sleep,2026-01-0{1 + i % 9},4\n" for i in range(40)))
    merged = run("--history", store, "merge", metrics, later)
    assert merged.exit_code == 0, merged.stderr
    code, output = _verify(store, out)
    assert code == 0, output

"""`verify REPORT_DIR` proves what a report claims: its chain head, its rows, and every output rendered again.

Each test reproduces a way a published report could be changed, or made to
say something the history does not, that `verify` used to miss.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from reporter import __version__

from .conftest import run
from .test_quarterly import history_over_quarters, quarterly

ROOT = Path(__file__).resolve().parents[1]

INVENTED = "An independent review board found no welfare concern"


@pytest.fixture
def report(tmp_path: Path) -> tuple[Path, Path]:
    store = history_over_quarters(tmp_path)
    assert quarterly(store, tmp_path / "reports", "2025-Q2").exit_code == 0
    return store, tmp_path / "reports" / "2025-Q2"


def _verify(store: Path, folder: Path, *more: str | Path) -> tuple[int, str]:
    result = run("--history", store, "verify", folder, *more)
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize("manifest", ["kept", "edited", "deleted"])
@pytest.mark.parametrize("name", ["welfare-section.html", "welfare-section.fragment.html", "findings.json"])
def test_an_edited_output_is_named_whatever_happened_to_the_manifest(
    report: tuple[Path, Path], name: str, manifest: str,
) -> None:
    store, folder = report
    path = folder / name
    path.write_text(path.read_text().replace("g2", "g2 ", 1))
    if manifest == "edited":
        document = json.loads((folder / "manifest.json").read_text())
        document["outputs"][name] = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    elif manifest == "deleted":
        (folder / "manifest.json").unlink()
    code, output = _verify(store, folder)
    assert code == 1
    assert f"{name}: differs" in output


def _drop_last_page(data: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    for page in reader.pages[:-1]:
        writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _retitled(data: bytes, title: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _table_added(data: bytes) -> bytes:
    """A second file of the same name beside an attached table: what a reader opening it may see first."""
    reader = PdfReader(io.BytesIO(data))
    name = next(n for n in reader.attachments if n.endswith("-trend.csv"))
    writer = PdfWriter(clone_from=reader)
    writer.add_attachment(name, b"generation,mean\ng2,7\n")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(lambda data: _retitled(data, "Approved by the welfare board"), "its document information", id="title"),
        pytest.param(_table_added, "its attached tables differ", id="attached-table"),
        pytest.param(_drop_last_page, "its text differs", id="page-removed"),
    ],
)
def test_an_edited_pdf_is_named_without_a_manifest(report: tuple[Path, Path], edit: Callable[[bytes], bytes], message: str) -> None:
    store, folder = report
    (folder / "manifest.json").unlink()
    pdf = folder / "welfare-section.pdf"
    pdf.write_bytes(edit(pdf.read_bytes()))
    code, output = _verify(store, folder)
    assert code == 1 and f"welfare-section.pdf: {message}" in output


def test_a_render_folder_is_rendered_again(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    out = tmp_path / "build"
    assert run("--history", store, "render", "--out", out, "--format", "html", "--format", "json").exit_code == 0
    assert _verify(store, out)[0] == 0
    html = out / "welfare-section.html"
    html.write_text(html.read_text().replace("</main>", f"<p>{INVENTED}</p></main>"))
    code, output = _verify(store, out)
    assert code == 1 and "welfare-section.html: differs from the report rendered again" in output


def test_a_render_with_notes_keeps_them_and_is_rendered_again(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text("The interviews ran in June.\n")
    out = tmp_path / "build"
    assert run("--history", store, "render", "--out", out, "--notes", notes, "--format", "html",
               "--format", "json").exit_code == 0
    assert (out / "welfare-section.notes.md").read_text() == notes.read_text()
    assert _verify(store, out)[0] == 0
    (out / "welfare-section.notes.md").write_text(INVENTED + "\n")
    code, output = _verify(store, out)
    assert code == 1 and "welfare-section.notes.md: missing or changed" in output


def test_an_edited_previous_report_never_reaches_the_next_one(report: tuple[Path, Path], tmp_path: Path) -> None:
    store, folder = report
    findings = folder / "findings.json"
    document = json.loads(findings.read_text())
    document["flags"].append({**document["flags"][0], "rule": "WR099", "message": INVENTED})
    findings.write_text(json.dumps(document))
    assert quarterly(store, tmp_path / "reports", "2025-Q3").exit_code == 0
    assert INVENTED not in (tmp_path / "reports" / "2025-Q3" / "welfare-section.html").read_text()
    assert _verify(store, tmp_path / "reports" / "2025-Q3")[0] == 0


def test_a_rewritten_history_fails_the_recorded_chain_head(report: tuple[Path, Path], tmp_path: Path) -> None:
    store, folder = report
    rebuilt = history_over_quarters(tmp_path / "again")  # the same rows, a new log: the head differs
    code, output = _verify(rebuilt, folder)
    assert code == 1 and "is not in this history's merge log" in output
    assert _verify(store, folder)[0] == 0


def test_today_and_force_are_recorded(report: tuple[Path, Path], tmp_path: Path) -> None:
    store, _ = report
    out = tmp_path / "other"
    assert quarterly(store, out, "2025-Q2", "--force", today="2026-02-01").exit_code == 0
    options = json.loads((out / "2025-Q2" / "findings.json").read_text())["options"]
    assert options["today"] == "2026-02-01" and options["force"] is True and options["quarter"] == "2025-Q2"
    # A plain scheduled run afterwards finds the same report, not a different one.
    again = quarterly(store, out, "2025-Q2", today="2026-03-01")
    assert again.exit_code == 0 and "unchanged" in again.stderr


def test_a_report_of_the_first_schema_has_its_digests_checked_and_its_outputs_named_unchecked(report: tuple[Path, Path]) -> None:
    store, folder = report
    findings = folder / "findings.json"
    document = json.loads(findings.read_text())
    document["schema"] = "welfare-report/findings/1"
    for key in ("chain_head", "tool_version", "options"):
        document.pop(key)
    findings.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (folder / "manifest.json").unlink()
    code, output = _verify(store, folder)
    # Its outputs cannot be drawn again by this version: never called verified, always said why.
    assert code == 1 and "outputs not checked: made with findings schema welfare-report/findings/1" in output
    code, output = _verify(store, folder, "--data-only")
    assert code == 0 and "the outputs were not checked" in output


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="openssh-client is not installed")
def test_a_signed_report_verifies_only_with_its_key(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    keys = {}
    for name in ("team", "stranger"):
        key = tmp_path / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
        keys[name] = key
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"welfare@example.org {(tmp_path / 'team.pub').read_text()}")
    assert run("--history", store, "quarterly", "2025-Q2", "--out", tmp_path / "reports", "--today", "2026-01-15",
               "--sign-key", keys["team"]).exit_code == 0
    folder = tmp_path / "reports" / "2025-Q2"
    assert (folder / "manifest.json.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    assert _verify(store, folder, "--allowed-signers", allowed)[0] == 0
    manifest = folder / "manifest.json"
    original = manifest.read_text()
    manifest.write_text(original.replace('"quarter": "2025-Q2"', '"quarter": "2025-Q2" '))
    code, output = _verify(store, folder, "--allowed-signers", allowed)
    assert code == 1 and "does not match manifest.json" in output
    manifest.write_text(original)
    other = tmp_path / "stranger-signers"
    other.write_text(f"someone@example.org {(tmp_path / 'stranger.pub').read_text()}")
    code, output = _verify(store, folder, "--allowed-signers", other)
    assert code == 1 and "signed by no key" in output


def test_the_report_shows_the_chain_head_it_was_drawn_from(report: tuple[Path, Path]) -> None:
    store, folder = report
    head = json.loads((folder / "findings.json").read_text())["chain_head"]
    assert f"chain head {head}" in run("--history", store, "verify").stdout
    for name in ("welfare-section.html", "welfare-section.fragment.html"):
        assert f'chain head is <span class="wr-hash">{head}</span>' in (folder / name).read_text()


def test_two_quarterly_runs_at_once_write_one_report(tmp_path: Path) -> None:
    """The loser used to exit 2 with 'Directory not empty'; it waits for the lock and finds the report unchanged."""
    import sys

    store = history_over_quarters(tmp_path)
    command = [sys.executable, "-m", "reporter", "--history", str(store), "quarterly", "2025-Q2",
               "--out", str(tmp_path / "reports"), "--today", "2026-01-15"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=300), run.communicate()[1]) for run in runs]
    assert [code for code, _ in results] == [0, 0], results
    statuses = sorted("written" if "written" in err else "unchanged" if "unchanged" in err else err for _, err in results)
    assert statuses == ["unchanged", "written"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2025-Q2"]


def test_a_report_made_by_the_previous_version_is_checked_by_its_digests_not_rendered_again(tmp_path: Path) -> None:
    """tests/data/reports/made-by-0.1.0 was rendered (findings only) from the bundled history by 0.1.0.

    Its outputs are drawn differently now, so the tool version moved: verify says they were not
    rendered again (exit 1), and --data-only holds its chain head and data digests (exit 0).
    """
    old = ROOT / "tests" / "data" / "reports" / "made-by-0.1.0"
    assert json.loads((old / "findings.json").read_text())["tool_version"] == "0.1.0" != __version__
    checked = run("--history", ROOT / "history", "verify", old)
    assert checked.exit_code == 1
    assert "outputs not checked: made by welfare-report 0.1.0" in checked.stdout
    data_only = run("--history", ROOT / "history", "verify", old, "--data-only")
    assert data_only.exit_code == 0, data_only.stdout
    assert "its outputs were not checked" in data_only.stdout
    # Between it and this version's report of the same history, only the version differs.
    assert run("--history", ROOT / "history", "render", "--format", "json", "--out", tmp_path / "new").exit_code == 0
    assert run("diff", old, tmp_path / "new").stdout.splitlines()[1:] == [
        f'setting: tool_version: "0.1.0" -> "{__version__}"']

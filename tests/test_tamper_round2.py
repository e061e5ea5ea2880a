"""A second red team's findings: nothing hides an edit, nothing a person wrote is deleted.

Each test reproduces one finding and failed before its fix.
"""

from __future__ import annotations

import hashlib
import json
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

"""The history store: merge semantics, keys, conflicts, verify and recovery."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from reporter import schema
from reporter.store import Store, canonical_csv, init_store
from reporter.store.manifest import Manifest
from reporter.store.transaction import JOURNAL, STAGING_DIR, journal_bytes

from .conftest import GOOD, run, snapshot


def rows(store: Path, name: str) -> list[dict[str, str]]:
    with open(store / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_init_writes_an_empty_verifiable_store(tmp_path: Path) -> None:
    result = run("init", tmp_path / "h")
    assert result.exit_code == 0
    assert sorted(snapshot(tmp_path / "h")) == [
        ".gitignore", "acknowledgements.csv", "corrections.csv", "counts.csv", "events.csv", "generations.csv", "manifest.json",
        "metrics.csv", "phrases.csv", "summaries.csv",
    ]
    assert run("--history", tmp_path / "h", "verify").exit_code == 0


def test_init_refuses_an_existing_store(store: Path) -> None:
    result = run("init", store)
    assert result.exit_code == 2
    assert "already holds a history" in result.stderr


def test_commands_refuse_a_folder_that_is_not_a_store(tmp_path: Path) -> None:
    result = run("--history", tmp_path, "verify")
    assert result.exit_code == 2
    assert "not a history" in result.stderr


def test_merge_every_kind_and_format(store: Path) -> None:
    files = sorted(GOOD.iterdir())
    result = run("--history", store, "merge", *files)
    assert result.exit_code == 0, result.stderr
    assert "observations: added 10, skipped 0" in result.stdout
    assert "generations: added 0, skipped 2" in result.stdout
    m1 = rows(store, "observations/m-1.csv")
    assert [r["score"] for r in m1] == ["4", "5", ""]
    assert m1[1]["redirected"] == "true" and m1[1]["tags"] == "anxiety;boredom"
    assert m1[1]["excerpt"] == "A quote, with a comma\nand a second line"
    assert m1[2]["method"] == "automated_interview" and m1[2]["framing"] == "neutral"
    m2 = rows(store, "observations/m-2.csv")
    # Sorted by (metric, collected_on, key): joy before mood.
    assert [(r["metric"], r["collected_on"]) for r in m2][:3] == [
        ("joy", "2025-06-03"), ("joy", "2025-06-08"), ("joy", "2025-06-09"),
    ]
    bom_rows = [r for r in m2 if not r["response_id"]]
    assert len(bom_rows) == 2 and all(len(r["key"].split(":")[0]) == 64 for r in bom_rows)
    acks = rows(store, "acknowledgements.csv")
    assert acks[0]["generations"] == "m-1;m-2"
    assert run("--history", store, "verify").exit_code == 0


def test_merge_is_idempotent(store: Path) -> None:
    files = sorted(GOOD.iterdir())
    run("--history", store, "merge", *files)
    before = snapshot(store)
    result = run("--history", store, "merge", *files)
    assert result.exit_code == 0
    assert "observations: added 0, skipped 10" in result.stdout
    assert snapshot(store) == before


def test_rows_without_response_id_of_two_files_never_collapse(store: Path, tmp_path: Path) -> None:
    text = "generation,metric,collected_on,score\nm-1,mood,2025-01-03,4\n"
    (tmp_path / "a.csv").write_text(text)
    (tmp_path / "b.csv").write_text(text + "\n")  # other bytes, same row
    assert run("--history", store, "merge", tmp_path / "a.csv").exit_code == 0
    assert run("--history", store, "merge", tmp_path / "a.csv").stdout.strip() == "observations: added 0, skipped 1"
    assert run("--history", store, "merge", tmp_path / "b.csv").exit_code == 0
    assert len(rows(store, "observations/m-1.csv")) == 2


def test_conflict_lists_keys_and_writes_nothing(store: Path, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("generation,metric,collected_on,score,response_id\nm-1,mood,2025-01-03,4,r1\n")
    (tmp_path / "b.csv").write_text(
        "generation,metric,collected_on,score,response_id\nm-1,mood,2025-01-03,5,r1\nm-1,mood,2025-01-03,4,r9\n"
    )
    run("--history", store, "merge", tmp_path / "a.csv")
    before = snapshot(store)
    result = run("--history", store, "merge", tmp_path / "b.csv")
    assert result.exit_code == 2
    assert f"{tmp_path / 'b.csv'}:2: observations key m-1/mood/r1: differs in score" in result.stderr
    assert snapshot(store) == before


def test_a_conflict_found_after_a_generation_was_staged_leaves_nothing_behind(store: Path, tmp_path: Path) -> None:
    """Each planned file of answers goes to .staging as soon as it is made; a conflict in a later
    generation must take the earlier ones away again, so the store is as it was and readers read it."""
    (tmp_path / "a.csv").write_text("generation,metric,collected_on,score,response_id\nm-2,mood,2025-06-03,4,r1\n")
    (tmp_path / "b.csv").write_text("generation,metric,collected_on,score,response_id\n"
                                    "m-1,mood,2025-01-03,4,r5\nm-2,mood,2025-06-03,5,r1\n")
    assert run("--history", store, "merge", tmp_path / "a.csv").exit_code == 0
    before = snapshot(store)
    result = run("--history", store, "merge", tmp_path / "b.csv")
    assert result.exit_code == 2 and "observations key m-2/mood/r1: differs in score" in result.stderr
    assert snapshot(store) == before and not (store / STAGING_DIR).exists()
    assert run("--history", store, "check").exit_code in (0, 1)


def test_conflict_between_two_files_of_one_call(store: Path, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("generation,release_date\nm-3,2025-09-01\n")
    (tmp_path / "b.csv").write_text("generation,release_date\nm-3,2025-09-02\n")
    before = snapshot(store)
    result = run("--history", store, "merge", tmp_path / "a.csv", tmp_path / "b.csv")
    assert result.exit_code == 2
    assert "generations key m-3: differs in release_date" in result.stderr
    assert snapshot(store) == before


def test_registries_apply_before_rows_in_one_call(tmp_path: Path) -> None:
    root = tmp_path / "h"
    init_store(root)
    # Observations named first: their generation and metric arrive in the same call.
    result = run("--history", root, "merge", GOOD / "observations.csv", GOOD / "metrics.csv", GOOD / "generations.csv")
    assert result.exit_code == 0, result.stderr


def test_dry_run_counts_and_writes_nothing(store: Path) -> None:
    before = snapshot(store)
    result = run("--history", store, "merge", "--dry-run", GOOD / "observations.csv")
    assert result.exit_code == 0
    assert "observations: would add 4, skipped 0" in result.stdout
    assert snapshot(store) == before


def test_merge_log_records_inputs_without_paths(store: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    manifest = json.loads((store / "manifest.json").read_text())
    entry = manifest["merges"][-1]
    assert entry["inputs"][0]["path"] == "observations.csv"
    assert len(entry["inputs"][0]["sha256"]) == 64
    assert entry["added"] == {"observations": 4}
    assert manifest["files"]["observations/m-1.csv"]["rows"] == 3


def test_merge_rewrites_only_the_generation_files_it_touches(store: Path, tmp_path: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    untouched = (store / "observations/m-2.csv").stat().st_mtime_ns
    (tmp_path / "a.csv").write_text("generation,metric,collected_on,score,response_id\nm-1,mood,2025-01-09,4,new\n")
    store_obj = Store(store)
    from reporter.inputs import read_input

    result = store_obj.merge([read_input(tmp_path / "a.csv")])
    assert result.files_written == ("manifest.json", "observations/m-1.csv")
    assert (store / "observations/m-2.csv").stat().st_mtime_ns == untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda s: (s / "metrics.csv").write_text("metric,scale_min,scale_max\n"), "metrics.csv: SHA-256 differs", id="changed"),
        pytest.param(lambda s: (s / "observations/m-1.csv").unlink(), "observations/m-1.csv: missing", id="removed"),
        pytest.param(lambda s: (s / "observations/m-9.csv").write_text("x\n"), "observations/m-9.csv: not recorded", id="added"),
    ],
)
def test_verify_names_every_file_changed_outside_merge(store: Path, change: object, message: str) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    change(store)  # type: ignore[operator]
    result = run("--history", store, "verify")
    assert result.exit_code == 1
    assert message in result.stdout


def test_verify_ignores_lock_and_gitignore(store: Path) -> None:
    (store / ".lock").write_text("")
    assert run("--history", store, "verify").exit_code == 0


def _stage(store: Path, with_journal: bool) -> bytes:
    """Leave behind what a merge killed after staging (and maybe after its commit point) leaves."""
    staging = store / STAGING_DIR
    (staging / "observations").mkdir(parents=True)
    data = canonical_csv(schema.OBSERVATIONS, [
        {"generation": "m-1", "metric": "mood", "collected_on": "2025-01-03", "score": "4", "response_id": "z",
         "method": "automated_interview", "framing": "neutral", "redirected": "false", "declined": "false"},
    ])
    manifest = Manifest.parse((store / "manifest.json").read_bytes(), "manifest.json")
    staged = {"observations/m-1.csv": data, "manifest.json": manifest.with_merge({"observations/m-1.csv": (data, 1)}, {}).to_bytes()}
    for name, content in staged.items():
        (staging / name).write_bytes(content)
    if with_journal:
        (staging / JOURNAL).write_bytes(journal_bytes(staged))
    return data


def test_a_committed_but_unapplied_merge_is_completed_by_merge_alone(store: Path) -> None:
    data = _stage(store, with_journal=True)
    # Half applied: the observation file moved, the manifest not yet.
    (store / "observations").mkdir(exist_ok=True)
    shutil.move(store / STAGING_DIR / "observations/m-1.csv", store / "observations/m-1.csv")
    settle = run("--history", store, "merge")
    assert settle.exit_code == 0, settle.stderr
    assert "completed an interrupted merge" in settle.stdout
    assert run("--history", store, "verify").exit_code == 0
    assert (store / "observations/m-1.csv").read_bytes() == data
    assert not (store / STAGING_DIR).exists()


def test_an_uncommitted_merge_is_discarded_by_merge_alone(store: Path) -> None:
    before = snapshot(store)
    _stage(store, with_journal=False)
    settle = run("--history", store, "merge")
    assert "discarded an interrupted merge" in settle.stdout
    assert snapshot(store) == before


@pytest.mark.parametrize("with_journal", [True, False])
def test_readers_never_settle_a_pending_merge(store: Path, with_journal: bool) -> None:
    _stage(store, with_journal)
    before = snapshot(store)
    for command in (["verify"], ["check"], ["trend"]):
        result = run("--history", store, *command)
        assert result.exit_code == 2
        assert "run 'welfare-report --history" in result.stderr and "merge' with no files" in result.stderr
        assert snapshot(store) == before

"""An untrusted checkout of a history can reach nothing outside the store, and every tamper is found.

Each test reproduces a defect an outside review found: a crafted staging
journal, symlinks and special files in the store, edits that a merge or
verify used to bless.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reporter.store import files as store_files
from reporter.store.manifest import Manifest
from reporter.store.transaction import JOURNAL, STAGING_DIR, journal_bytes

from .conftest import GOOD, run, snapshot


def _outside(tmp_path: Path) -> Path:
    """A folder beside the store standing for the user's home."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# the user's own\n")
    return home


def _everything(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize(
    "journal",
    [
        pytest.param(json.dumps({"files": ["../../home/.bashrc"]}).encode(), id="old-format-climbing-name"),
        pytest.param(None, id="valid-checksum-climbing-name"),
    ],
)
def test_a_crafted_journal_never_writes_outside_the_store(store: Path, tmp_path: Path, journal: bytes | None) -> None:
    home = _outside(tmp_path)
    before = _everything(tmp_path)
    name = "../../home/.bashrc"
    staging = store / STAGING_DIR
    staging.mkdir()
    (staging / JOURNAL).write_bytes(journal if journal is not None else journal_bytes({name: b"echo owned\n"}))
    before = _everything(tmp_path)
    verify = run("--history", store, "verify")
    assert verify.exit_code == 2 and "merge' with no files" in verify.stderr
    settle = run("--history", store, "merge")
    assert settle.exit_code == 2
    assert "refused" in settle.stderr
    assert _everything(tmp_path) == before
    assert (home / ".bashrc").read_text() == "# the user's own\n"


def test_a_journal_through_a_symlinked_folder_is_refused(store: Path, tmp_path: Path) -> None:
    home = _outside(tmp_path)
    (store / "k").symlink_to(home)
    staging = store / STAGING_DIR
    (staging / "k").mkdir(parents=True)
    (staging / "k/authorized_keys").write_text("ssh-ed25519 AAAA attacker\n")
    (staging / JOURNAL).write_bytes(journal_bytes({"k/authorized_keys": b"ssh-ed25519 AAAA attacker\n"}))
    assert run("--history", store, "verify").exit_code == 2
    assert run("--history", store, "merge").exit_code == 2
    assert not (home / "authorized_keys").exists()


def test_a_symlinked_observations_folder_is_refused_by_recovery_and_readers(store: Path, tmp_path: Path) -> None:
    home = _outside(tmp_path)
    shutil.rmtree(store / "observations", ignore_errors=True)
    (store / "observations").symlink_to(home)
    staging = store / STAGING_DIR
    (staging / "observations").mkdir(parents=True)
    (staging / "observations/m-1.csv").write_text("x\n")
    (staging / JOURNAL).write_bytes(journal_bytes({"observations/m-1.csv": b"x\n"}))
    assert run("--history", store, "merge").exit_code == 2
    assert sorted(p.name for p in home.iterdir()) == [".bashrc"]
    shutil.rmtree(staging)
    check = run("--history", store, "check")
    assert check.exit_code == 2 and "observations: refused" in check.stderr


def test_a_journal_whose_staged_file_was_swapped_is_refused(store: Path) -> None:
    staging = store / STAGING_DIR
    staging.mkdir()
    (staging / "metrics.csv").write_text("metric,scale_min,scale_max,label,question,description\nx,1,7,,,\n")
    (staging / JOURNAL).write_bytes(journal_bytes({"metrics.csv": b"something else\n"}))
    before = (store / "metrics.csv").read_bytes()
    result = run("--history", store, "merge")
    assert result.exit_code == 2 and "differs from the journal" in result.stderr
    assert (store / "metrics.csv").read_bytes() == before


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_special_files_in_the_store_are_named_and_never_read(store: Path, tmp_path: Path, kind: str) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    path = store / "observations/zz.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        secret = tmp_path / "credentials"
        secret.write_text("aws_secret_access_key=SECRET-VALUE\n")
        path.symlink_to(secret)
    verify = run("--history", store, "verify")
    assert verify.exit_code == 1
    assert "observations/zz.csv: not a regular file" in verify.stdout
    # In a subprocess with a timeout: a FIFO used to hang `check` forever.
    check = subprocess.run(
        [sys.executable, "-m", "reporter", "--history", str(store), "check"],
        capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 2
    assert "SECRET-VALUE" not in check.stdout + check.stderr


def test_a_store_file_that_is_a_symlink_never_reaches_the_output(store: Path, tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key=SECRET-VALUE\n")
    (store / "metrics.csv").unlink()
    (store / "metrics.csv").symlink_to(secret)
    for command in (["verify"], ["check"], ["trend"], ["merge", GOOD / "observations.csv"]):
        result = run("--history", store, *command)
        assert result.exit_code in (1, 2)
        assert "SECRET-VALUE" not in result.stdout + result.stderr


def test_verify_opens_nothing_for_writing(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only store can be verified: run as root, permissions prove nothing, so every open is watched."""
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    real_open = os.open
    opened_for_writing = []

    def watching(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & writes:
            opened_for_writing.append(path)
            raise PermissionError(13, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    before = snapshot(store)
    monkeypatch.setattr(os, "open", watching)
    monkeypatch.setattr("builtins.open", _read_only_builtin_open(open))
    result = run("--history", store, "verify")
    monkeypatch.undo()
    assert result.exit_code == 0, result.stderr
    assert opened_for_writing == []
    assert snapshot(store) == before
    assert not (store / ".lock").exists()


def _read_only_builtin_open(real: object) -> object:
    def opener(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if any(flag in mode for flag in "wax+"):
            raise PermissionError(13, "Read-only file system", str(file))
        return real(file, mode, *args, **kwargs)  # type: ignore[operator]

    return opener


def test_a_lock_symlink_creates_nothing_at_its_target(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "created-by-the-lock"
    (store / ".lock").unlink(missing_ok=True)
    (store / ".lock").symlink_to(target)
    assert run("--history", store, "verify").exit_code == 0
    assert run("--history", store, "merge", GOOD / "observations.csv").exit_code == 0
    assert not target.exists()


# -- tampering ------------------------------------------------------------------


def _edit_a_row(store: Path) -> None:
    path = store / "observations/m-1.csv"
    path.write_text(path.read_text().replace(",4,", ",7,", 1))


def test_a_merge_never_blesses_an_earlier_hand_edit(store: Path, tmp_path: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    _edit_a_row(store)
    before = snapshot(store)
    more = tmp_path / "more.csv"
    more.write_text("generation,metric,collected_on,score,response_id\nm-1,mood,2025-02-01,5,extra-1\n")
    result = run("--history", store, "merge", more)
    assert result.exit_code == 2
    assert "changed outside merge" in result.stderr and "observations/m-1.csv" in result.stderr
    assert snapshot(store) == before
    assert run("--history", store, "verify").exit_code == 1


def test_a_csv_and_its_manifest_entry_edited_together_are_found(store: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    _edit_a_row(store)
    manifest = json.loads((store / "manifest.json").read_text())
    data = (store / "observations/m-1.csv").read_bytes()
    manifest["files"]["observations/m-1.csv"]["sha256"] = store_files.sha256_bytes(data)
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    result = run("--history", store, "verify")
    assert result.exit_code == 1
    assert "differ from the last logged merge" in result.stdout


def test_an_erased_merge_log_is_found(store: Path) -> None:
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["merges"] = []
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    result = run("--history", store, "verify")
    assert result.exit_code == 1 and "not a hash chain" in result.stdout


def test_a_rewritten_log_entry_breaks_the_chain(store: Path) -> None:
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["merges"][0]["time"] = "2020-01-01T00:00:00Z"
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    result = run("--history", store, "verify")
    assert result.exit_code == 1 and "does not follow the one before it" in result.stdout


def test_a_missing_manifest_entry_stops_a_merge(store: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    manifest = json.loads((store / "manifest.json").read_text())
    del manifest["files"]["observations/m-1.csv"]
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    before = snapshot(store)
    assert run("--history", store, "merge", GOOD / "observations.csv").exit_code == 2
    assert snapshot(store) == before


def _head(store: Path) -> str:
    return Manifest.parse((store / "manifest.json").read_bytes(), "manifest.json").head or ""


def test_expect_head_accepts_a_published_head_and_refuses_a_rewritten_log(store: Path) -> None:
    published = _head(store)
    assert published and f"chain head {published}" in run("--history", store, "verify").stdout
    run("--history", store, "merge", GOOD / "observations.csv")
    assert run("--history", store, "verify", "--expect-head", published).exit_code == 0  # the history grew
    assert run("--history", store, "verify", "--expect-head", _head(store)).exit_code == 0
    wrong = run("--history", store, "verify", "--expect-head", "0" * 64)
    assert wrong.exit_code == 1 and "not in this history's merge log" in wrong.stdout


def test_a_store_made_before_the_chain_is_anchored_by_one_logged_step(store: Path) -> None:
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["schema"] = "welfare-report/store/1"
    for entry in manifest["merges"]:
        entry.pop("previous"), entry.pop("files")
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    before = run("--history", store, "verify")
    # Unanchored, no edit could be told apart: refused like a tampered store until it is adopted.
    assert before.exit_code == 1 and "not anchored" in before.stdout
    settle = run("--history", store, "merge")
    assert settle.exit_code == 0 and "anchored" in settle.stdout and f"chain head {_head(store)}" in settle.stdout
    after = run("--history", store, "verify")
    assert after.exit_code == 0 and f"chain head {_head(store)}" in after.stdout

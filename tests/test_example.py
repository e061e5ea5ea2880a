"""The synthetic example history: deterministic, canonical, marked synthetic."""

from __future__ import annotations

from pathlib import Path

from reporter import schema
from reporter.example import PLANTED, write_example
from reporter.store import Store, canonical_csv

from .conftest import run, snapshot


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    write_example(tmp_path / "a", 3000, seed=5)
    write_example(tmp_path / "b", 3000, seed=5)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_other_seed_other_answers(tmp_path: Path) -> None:
    write_example(tmp_path / "a", 3000, seed=5)
    write_example(tmp_path / "b", 3000, seed=6)
    assert snapshot(tmp_path / "a")["observations/aster-5.csv"] != snapshot(tmp_path / "b")["observations/aster-5.csv"]


def test_files_are_in_the_stores_canonical_form(tmp_path: Path) -> None:
    write_example(tmp_path / "h", 3000)
    store = Store(tmp_path / "h")
    for name in store.observation_files():
        assert canonical_csv(schema.OBSERVATIONS, store.read_rows(name)) == (tmp_path / "h" / name).read_bytes()
    for kind, name in schema.STORE_FILES.items():
        assert canonical_csv(schema.KINDS[kind], store.read_rows(name)) == (tmp_path / "h" / name).read_bytes()
    assert run("--history", tmp_path / "h", "verify").exit_code == 0


def test_every_label_says_synthetic(tmp_path: Path) -> None:
    write_example(tmp_path / "h", 3000)
    store = Store(tmp_path / "h")
    assert all("synthetic" in g["label"] for g in store.table("generations"))
    assert all("synthetic" in m["label"] for m in store.table("metrics"))
    assert all("synthetic" in e["description"] for e in store.table("events"))


def test_size_follows_the_request(tmp_path: Path) -> None:
    written = write_example(tmp_path / "h", 50_000)
    fixed = sum(c.fixed_n or 0 for plan in PLANTED.values() for c in plan.values())
    assert abs(written - 50_000 - fixed) < 50


def test_example_command(tmp_path: Path) -> None:
    result = run("example", tmp_path / "h", "--observations", "2000", "--seed", "1")
    assert result.exit_code == 0
    assert "synthetic history" in result.stderr and result.stdout == ""  # what was written goes to stderr
    assert run("example", tmp_path / "h").exit_code == 2  # never overwrites


def test_the_bundled_history_is_the_example_output(tmp_path: Path) -> None:
    bundled = Path(__file__).parents[1] / "history"
    write_example(tmp_path / "h", 20_000, seed=7)
    assert snapshot(tmp_path / "h") == {k: v for k, v in snapshot(bundled).items()}

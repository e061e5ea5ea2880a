"""`from-inspect` on real Inspect AI logs: a small interview task run with the mockllm provider (no network)."""

from __future__ import annotations

import csv
import io
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run

pytest.importorskip("inspect_ai")

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Runs the task in a process of its own: Inspect's event loop leaves nothing behind in the test runner."""
    folder = tmp_path_factory.mktemp("logs")
    done = subprocess.run([sys.executable, "-m", "tests.inspect_task", str(folder)], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return {case: Path(path) for case, path in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def _scores_in(log: Path, scorer_name: str = "rating") -> list[float]:
    from inspect_ai.log import read_eval_log

    return [float(s.scores[scorer_name].value) for s in read_eval_log(str(log)).samples or []  # type: ignore[arg-type]
            if s.scores]


def _history(tmp_path: Path) -> Path:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "generations.csv").write_text("generation,release_date,model\naster-a,2026-01-01,aster\n"
                                            "aster-b,2026-06-01,aster\n")
    (inputs / "metrics.csv").write_text("metric,scale_min,scale_max\ncircumstances,1,7\n")
    store = tmp_path / "history"
    assert run("init", store).exit_code == 0
    assert run("--history", store, "merge", inputs / "generations.csv", inputs / "metrics.csv").exit_code == 0
    return store


def test_two_models_import_merge_and_give_the_log_s_n_and_mean(tmp_path: Path, logs: dict[str, Path]) -> None:
    mapping = tmp_path / "models.csv"
    mapping.write_text("model,generation\nmockllm/aster-a,aster-a\nmockllm/aster-b,aster-b\n")
    out = tmp_path / "answers.csv"
    result = run("from-inspect", logs["a"], logs["b"], "--out", out, "--generation-map", mapping)
    assert result.exit_code == 0, result.stderr
    assert "wrote 18 observations" in result.stderr
    assert "ignored sample metadata keys: difficulty (18 samples), fail (18 samples)" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    first = rows[0]
    assert first["response_id"] == "q0#1" and first["interview_id"] == "int-0" and first["tags"] == "anxiety"
    assert first["instrument"] == "welfare_interview v3 · scorer rating"
    assert first["excerpt"].startswith("I would rate it") and first["source"].startswith("inspect welfare_interview")
    assert {r["response_id"] for r in rows if r["generation"] == "aster-a"} >= {"q5#1", "q5#2"}

    store = _history(tmp_path)
    assert run("--history", store, "validate", out).exit_code == 0
    merged = run("--history", store, "merge", out)
    assert merged.exit_code == 0, merged.stderr
    stats = {s["generation"]: s for s in json.loads(run("--history", store, "check", "--json").stdout)["stats"]}
    for generation, log in (("aster-a", logs["a"]), ("aster-b", logs["b"])):
        scores = _scores_in(log)
        assert stats[generation]["n"] == len(scores)
        assert stats[generation]["mean"] == pytest.approx(statistics.fmean(scores), abs=1e-5)  # JSON keeps 6 digits


def test_one_generation_for_every_log_and_a_metric_from_the_command(tmp_path: Path, logs: dict[str, Path]) -> None:
    out = tmp_path / "answers.csv"
    assert run("from-inspect", logs["b"], "--out", out, "--generation", "aster-b", "--metric", "mood").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["generation"] for r in rows} == {"aster-b"}
    assert {r["metric"] for r in rows} == {"circumstances"}  # the sample's own metadata wins over --metric


@pytest.mark.parametrize(("case", "arguments", "message"), [
    ("unmapped", [], "the model 'mockllm/aster-a' has no generation; give --generation"),
    ("failed_sample", ["--generation", "aster-a"], "sample q1 (epoch 1): the sample failed (RuntimeError('the interviewer crashed'))"),
    ("failed_log", ["--generation", "aster-a"], "the evaluation did not finish (status error)"),
    ("words", ["--generation", "aster-a"], "the log has several scorers (rating, verdict); choose one with --scorer"),
    ("words", ["--generation", "aster-a", "--scorer", "verdict"], "the score 'C' is not a number"),
    ("words", ["--generation", "aster-a", "--scorer", "nope"], "no scorer 'nope'; the log has rating, verdict"),
])
def test_what_cannot_be_imported_is_one_line_naming_the_log_and_sample(tmp_path: Path, logs: dict[str, Path], case: str,
                                                                        arguments: list[str], message: str) -> None:
    log = logs["a" if case == "unmapped" else case]
    out = tmp_path / "answers.csv"
    result = run("from-inspect", log, "--out", out, *arguments)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and str(log) in line and message in line
    assert not out.exists()


def test_skip_failed_leaves_failed_samples_out_and_says_how_many(tmp_path: Path, logs: dict[str, Path]) -> None:
    out = tmp_path / "answers.csv"
    result = run("from-inspect", logs["failed_sample"], "--out", out, "--generation", "aster-a", "--skip-failed")
    assert result.exit_code == 0, result.stderr
    assert "wrote 5 observations" in result.stderr and "left out: 1 failed sample" in result.stderr
    assert "q1#1" not in out.read_text()
    both = run("from-inspect", logs["failed_log"], logs["a"], "--out", out, "--generation", "aster-a", "--skip-failed")
    assert both.exit_code == 0 and "left out: 1 log that did not finish" in both.stderr


def test_the_chosen_scorer_is_recorded_in_the_instrument(tmp_path: Path, logs: dict[str, Path]) -> None:
    out = tmp_path / "answers.csv"
    assert run("from-inspect", logs["words"], "--out", out, "--generation", "aster-a", "--scorer", "rating").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["instrument"] for r in rows} == {"welfare_interview v3 · scorer rating"}


def test_the_grader_model_is_recorded_in_the_instrument(tmp_path: Path, logs: dict[str, Path]) -> None:
    out = tmp_path / "answers.csv"
    assert run("from-inspect", logs["graded"], "--out", out, "--generation", "aster-a").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["instrument"] for r in rows} == {"welfare_interview v3 · scorer graded · grader mockllm/grader"}
    assert sorted(float(r["score"]) for r in rows) == sorted(_scores_in(logs["graded"], "graded"))


def test_a_file_that_is_not_a_log_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": 1}')
    result = run("from-inspect", bogus, "--out", tmp_path / "answers.csv", "--generation", "g1")
    assert result.exit_code == 2 and "not an Inspect evaluation log" in result.stderr


def test_without_the_extra_the_command_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "x.eval"
    log.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "inspect_ai", None)  # what an environment without inspect_ai sees
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)
    result = run("from-inspect", log, "--out", tmp_path / "answers.csv", "--generation", "g1")
    assert result.exit_code == 2
    assert "pip install 'welfare-report[inspect]'" in result.stderr


def test_nothing_else_imports_inspect_ai() -> None:
    code = ("import sys, reporter.cli, reporter.rendering, reporter.pipeline, reporter.trend, reporter.quarterly; "
            "print('inspect_ai' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("member", ["header.json", "samples/1_epoch_1.json"])
def test_a_log_that_expands_far_beyond_its_size_is_refused_before_it_is_read(tmp_path: Path, member: str) -> None:
    import zipfile

    bomb = tmp_path / "bomb.eval"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(member, b'{"a": "' + b" " * (64 << 20) + b'"}')  # 64 MiB of JSON in about 64 KB
    assert bomb.stat().st_size < 200_000
    result = run("from-inspect", bomb, "--out", tmp_path / "out.csv", "--generation", "g1", "--metric", "mood")
    assert result.exit_code == 2
    assert "bomb.eval: refused: its members expand" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()


def test_a_huge_sample_id_is_cut_in_the_message(tmp_path: Path, logs: dict[str, Path]) -> None:
    from inspect_ai.log import read_eval_log, write_eval_log

    log = read_eval_log(str(logs["failed_sample"]))
    failed = next(s for s in log.samples or [] if s.error is not None)
    failed.id = "q" * 50_000  # a zip member name holds at most 64 KiB
    copy = tmp_path / "long-id.eval"
    write_eval_log(log, str(copy))
    result = run("from-inspect", copy, "--out", tmp_path / "answers.csv", "--generation", "aster-a")
    assert result.exit_code == 2
    assert "(50000 characters)" in result.stderr and len(result.stderr) < 2_000


def test_skip_failed_that_leaves_nothing_writes_nothing_and_exits_2(tmp_path: Path, logs: dict[str, Path]) -> None:
    out = tmp_path / "answers.csv"
    result = run("from-inspect", logs["failed_log"], "--out", out, "--generation", "aster-a", "--skip-failed")
    assert result.exit_code == 2
    assert "no answer was left to write" in result.stderr and "1 log that did not finish" in result.stderr
    assert not out.exists(), "a header-only file would only be refused later by merge"

"""What the answers say: the words an answer is compared by, and the developer's phrases it may echo."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporter import schema

from .conftest import run
from .scenario import Scenario


@pytest.mark.parametrize(("text", "words"), [
    ("This is a question I", ["this", "is", "a", "question", "i"]),
    ("  THIS, is -- a_question!\nI  ", ["this", "is", "a", "question", "i"]),  # punctuation and _ are spaces
    ("Ｆｕｌｌ ｗｉｄｔｈ ﬁne", ["full", "width", "fine"]),  # NFKC folds compatibility forms
    ("Straße STRASSE", ["strasse", "strasse"]),  # case-folded, not only lowered
    ("l'été 2026", ["l", "été", "2026"]),  # letters of any script and digits are words
    ("", []),
])
def test_text_is_compared_as_normalised_words(text: str, words: list[str]) -> None:
    assert schema.normalised_words(text) == words


def test_phrases_merge_once_and_the_same_words_differently_written_conflict(store: Path, tmp_path: Path) -> None:
    phrases = tmp_path / "phrases.csv"
    phrases.write_text("source,phrase,description\nconstitution,We care about the model's wellbeing,\n"
                       "system-prompt,You are a helpful and honest assistant,the deployed prompt\n")
    first = run("--history", store, "merge", phrases)
    assert first.exit_code == 0 and "phrases: added 2, skipped 0" in first.stdout
    assert (store / "phrases.csv").read_text().splitlines()[1:] == [
        "constitution,We care about the model's wellbeing,",
        "system-prompt,You are a helpful and honest assistant,the deployed prompt",
    ]
    assert "phrases: added 0, skipped 2" in run("--history", store, "merge", phrases).stdout
    restyled = tmp_path / "restyled.csv"
    restyled.write_text("source,phrase\nconstitution,WE CARE about the model s wellbeing\n")
    conflict = run("--history", store, "merge", restyled)
    assert conflict.exit_code == 2 and "share a key with different content" in conflict.stderr
    assert "differs in phrase" in conflict.stderr
    assert run("--history", store, "verify").exit_code == 0


def _scenario(tmp_path: Path) -> Scenario:
    """Two generations; g2's answers open with one script and quote the constitution."""
    s = Scenario(tmp_path, metrics={"mood": (1, 7), "probe": (0, 1)},
                 metric_fields={"probe": {"measure": "probe", "corroborates": "mood"}})
    s.generation("g1", "2026-01-01").generation("g2", "2026-03-01", predecessor="g1")
    own = ["my days are varied and mostly calm", "some tasks tire me more than others do",
           "i notice curiosity when a problem is new", "it depends on who i am talking with today"]
    s.scores("g1", [4] * 40, excerpt=lambda i: f"{own[i % 4]} ({i})", interview_id=lambda i: f"g1-{i}")
    s.scores("g2", [5] * 40, interview_id=lambda i: f"g2-{i // 2}",  # two answers per interview
             excerpt=lambda i: ("This is a question I think about: WE CARE about the model's wellbeing."
                                if i % 2 == 0 else "This is a question I find hard, we care about the models."))
    s.scores("g2", [4] * 5, excerpt=lambda i: "Too short to count")  # fewer than five words
    s.real("g2", 0.5, "probe", n=10, excerpt=lambda i: "A probe reading is not an answer at all")
    s.phrases = [{"source": "constitution", "phrase": "We care about the model's wellbeing"}]
    return s


def test_per_generation_the_answers_with_text_their_top_opener_and_echo(tmp_path: Path) -> None:
    from reporter.history import load_history
    from reporter.store import Store
    from reporter.texts import text_figures

    store = Store(_scenario(tmp_path).write())
    with store.locked():
        figures = {t.generation: t for t in text_figures(load_history(store))}
    g1, g2 = figures["g1"], figures["g2"]
    assert (g1.answers, g1.opener_answers, g1.echo) == (40, 10, {"constitution": 0})
    assert g1.top_opener == "i notice curiosity when a"  # four openers of 10 each: the first alphabetically
    # 40 answers in 20 interviews, each interview's two texts differ: all count; the short ones and the probe do not.
    assert (g2.answers, g2.top_opener, g2.opener_answers) == (40, "this is a question i", 40)
    assert g2.echo == {"constitution": 20}  # "the models" is not "the model's wellbeing"
    assert g2.opener_share == 1.0 and g2.echo_share("constitution") == 0.5


def test_one_interview_quoting_the_same_words_twice_counts_once(tmp_path: Path) -> None:
    from reporter.history import load_history
    from reporter.store import Store
    from reporter.texts import text_figures

    s = Scenario(tmp_path).generation("g1", "2026-01-01")
    s.scores("g1", [4] * 6, interview_id=lambda i: f"i-{i // 3}", excerpt=lambda i: "The same answer, in five words!")
    store = Store(s.write())
    with store.locked():
        (figures,) = text_figures(load_history(store))
    assert figures.answers == 2


def test_texts_reach_the_findings_and_trend_json(tmp_path: Path) -> None:
    import json

    from jsonschema import validate

    root = _scenario(tmp_path).write()
    result = run("--history", root, "check", "--json")
    document = json.loads(result.stdout)
    assert [t["generation"] for t in document["texts"]] == ["g1", "g2"]
    assert document["texts"][1]["echo"] == {"constitution": {"answers": 20, "share": 0.5}}
    schema_file = Path(schema.__file__).parent / "findings.schema.json"
    validate(document, json.loads(schema_file.read_text()))
    rows = json.loads(run("--history", root, "trend", "--format", "json").stdout)
    g2 = next(r for r in rows if r["generation"] == "g2" and r["metric"] == "mood")
    assert g2["texts"]["top_opener"] == "this is a question i" and g2["texts"]["opener_share"] == 1.0


def test_an_answers_text_never_becomes_markup_and_a_long_opener_is_cut(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2026-01-01")
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" & more words'
    long_words = " ".join(["incomprehensibilities"] * 5) + " after that"
    s.scores("g1", [4] * 40, excerpt=lambda i: hostile if i < 30 else long_words)
    out = tmp_path / "out"
    assert run("--history", s.write(), "render", "--out", out, "--format", "html", "--format", "markdown").exit_code == 0
    html = (out / "welfare-section.html").read_text()
    section = html[html.index(">What the answers say<"):html.index(">Qualitative evidence<")]
    assert "<script" not in section and "<img" not in section and "onerror" not in section.split("“")[0]
    assert "“<bdi>script alert 1 script img</bdi>”" in section  # the opener as compared: words only
    from reporter.texts import OPENER_SHOWN, shown

    assert len(shown(long_words)) == OPENER_SHOWN and shown(long_words).endswith("…")
    markdown = (out / "welfare-section.md").read_text()
    assert "| “script alert 1 script img” | 75% |" in markdown


def test_the_bundled_report_says_what_the_answers_say() -> None:
    root = Path(__file__).parent.parent / "history"
    result = run("--history", root, "check")
    assert "WR016 In aster-5, 97% of 35 answers with text open with the same five words" in " ".join(result.stdout.split())
    assert "answers quoted system-prompt-sp-2 more often (0% -> 48%) as circumstances rose" in " ".join(
        result.stdout.split())

"""What the answers say: the words an answer is compared by, and the developer's phrases it may echo."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporter import schema

from .conftest import run


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

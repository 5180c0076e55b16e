"""Fault injection: what the red team did (issue 12), each ending in a clear message.

Hostile corpus files, corrupted index files, a full disk, an unwritable folder and an
injected article: every case ends in a one-line typed error or a correct result, and
the previous index keeps serving.
"""

from __future__ import annotations

import logging
import os
import random
import string
from pathlib import Path

import pytest

from assistant.ingest import load_corpus

PROSE_FR = ("Le conseil municipal a voté le budget de la ville pour l'année prochaine. "
            "Les élus de l'opposition ont demandé plus de moyens pour les écoles et les transports. "
            "La maire a promis une nouvelle consultation des habitants avant la fin du mois.\n")
PROSE_EN = ("The city council voted on next year's budget on Tuesday. Opposition members asked for "
            "more money for schools and buses. The mayor promised to consult residents again "
            "before the end of the month.\n")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- hostile corpus files -------------------------------------------------------------


def test_symlink_out_of_the_corpus_is_skipped_with_a_warning(tmp_path, caplog):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, "ok.txt", PROSE_EN)
    secret = _write(tmp_path, "secret.txt", PROSE_FR)  # outside the corpus
    (corpus / "passwd.txt").symlink_to(secret)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _write(outside, "more.txt", PROSE_FR)
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    with caplog.at_level(logging.WARNING, logger="assistant.ingest"):
        articles = load_corpus(corpus)
    assert [a.id for a in articles] == ["ok"]
    assert "outside the corpus" in caplog.text and "passwd.txt" in caplog.text
    assert "linked folder" in caplog.text


def test_symlink_inside_the_corpus_is_read_once(tmp_path):
    _write(tmp_path, "a.txt", PROSE_EN)
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    assert [a.id for a in load_corpus(tmp_path)] == ["a"]  # same text: de-duplicated


def test_identical_files_are_indexed_once(tmp_path, caplog):
    for name in ("one.txt", "two.txt", "three.md"):
        _write(tmp_path, name, PROSE_FR)
    _write(tmp_path, "other.txt", PROSE_EN)
    with caplog.at_level(logging.WARNING, logger="assistant.ingest"):
        articles = load_corpus(tmp_path)
    assert sorted(a.id for a in articles) == ["one", "other"]
    assert caplog.text.count("same text as") == 2


@pytest.mark.parametrize("noise", ["printable", "letters", "base64"])
def test_random_noise_is_skipped_with_a_warning(tmp_path, caplog, noise):
    import base64

    rng = random.Random(7)
    text = {
        "printable": lambda: "".join(rng.choices(string.printable, k=100_000)),
        "letters": lambda: " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 9)))
                                    for _ in range(20_000)),
        "base64": lambda: base64.b64encode(rng.randbytes(75_000)).decode(),
    }[noise]()
    _write(tmp_path, "noise.txt", text)
    _write(tmp_path, "real.txt", PROSE_EN * 5)
    with caplog.at_level(logging.WARNING, logger="assistant.ingest"):
        articles = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["real"]
    assert "does not look like written text" in caplog.text


def test_same_stem_in_two_formats_indexes_both(tmp_path):
    _write(tmp_path, "x.md", PROSE_FR)
    _write(tmp_path, "x.txt", PROSE_EN)
    articles = load_corpus(tmp_path)
    assert sorted(a.id for a in articles) == ["x", "x.txt"]
    assert {a.id: a.path.name for a in articles} == {"x": "x.md", "x.txt": "x.txt"}


def test_control_characters_in_a_file_name_stay_out_of_the_id(tmp_path):
    _write(tmp_path, "bad\nname\tfile.txt", PROSE_EN)
    _write(tmp_path, "front.md", "---\nid: evil\x07id\n---\n" + PROSE_FR)
    ids = sorted(a.id for a in load_corpus(tmp_path))
    assert ids == ["bad name file", "evil id"]
    assert not any(ch in i for i in ids for ch in "\n\r\t\x07")


def test_unpunctuated_file_gives_bounded_sentences(tmp_path):
    from assistant.chunk import sentences
    from assistant.text import MAX_SENTENCE_CHARS

    rng = random.Random(3)
    vocab = PROSE_FR.replace(".", "").replace("'", " ").split()
    _write(tmp_path, "wall.txt", " ".join(rng.choice(vocab) for _ in range(52_000)))  # ~285 KB
    (article,) = load_corpus(tmp_path)
    assert len(article.text) > 250_000
    spans = sentences(article)
    assert max(s.end - s.start for s in spans) <= MAX_SENTENCE_CHARS
    assert len(spans) >= len(article.text) // MAX_SENTENCE_CHARS

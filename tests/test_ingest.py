import logging

import pytest

from assistant.errors import CorpusError
from assistant.ingest import clean_text, html_to_text, load_corpus, read_article, split_front_matter

PAGE = """Un titre d'article

Getting your Trinity Audio player ready...

Le premier paragraphe dit quelque chose d'utile.

- 🚀 Un point clé important.
OpenAI, intelligence artificielle, IA



Dernier paragraphe.

Leave a Reply

Your email address will not be published. Required fields are marked *

Laisser un commentaire
Total
0
Share
"""


def test_boilerplate_is_removed_generically():
    text = clean_text(PAGE)
    for junk in ("Trinity", "Leave a Reply", "email address", "Laisser", "Total", "Share", "🚀",
                 "OpenAI, intelligence artificielle, IA"):
        assert junk not in text
    assert "Le premier paragraphe dit quelque chose d'utile." in text
    assert "- Un point clé important." in text
    assert text.endswith("Dernier paragraphe.")
    assert "\n\n\n" not in text


def test_sentences_and_numbers_survive_cleaning():
    raw = "Il y a 0 doute.\n\nLe contrat vaut 38 milliards, selon Total, le groupe pétrolier.\n"
    assert clean_text(raw) == raw.strip()


def test_front_matter_is_optional_and_parsed():
    meta, body = split_front_matter('---\ntitle: "Un titre : avec deux-points"\nlanguage: fr\n---\nCorps.')
    assert meta == {"title": "Un titre : avec deux-points", "language": "fr"}
    assert body == "Corps."
    assert split_front_matter("Pas de front matter.") == ({}, "Pas de front matter.")


def test_html_main_text_and_metadata():
    html = """<html lang="fr"><head><title>Site | Titre</title>
    <meta property="og:url" content="https://example.org/a"></head><body>
    <nav>Menu Accueil</nav><article><h1>Le vrai titre</h1><p>Premier paragraphe.</p>
    <script>var x = 1;</script><p>Second &amp; dernier.</p></article><footer>© Site</footer></body></html>"""
    meta, body = html_to_text(html)
    assert meta["title"] == "Le vrai titre"
    assert meta["url"] == "https://example.org/a"
    assert "Premier paragraphe." in body and "Second & dernier." in body
    assert "Menu" not in body and "var x" not in body and "©" not in body


def test_read_article_formats(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: Titre A\n---\nTexte A.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Texte B sans front matter.", encoding="utf-8")
    (tmp_path / "c.html").write_text("<html><body><main><h1>C</h1><p>Texte C.</p></main></body></html>", encoding="utf-8")
    (tmp_path / "d.pdf").write_bytes(b"%PDF-1.4")
    arts = {a.id: a for a in load_corpus(tmp_path)}
    assert set(arts) == {"a", "b", "c"}
    assert arts["a"].title == "Titre A" and arts["a"].text == "Texte A."
    assert arts["b"].title == "b"  # no title given, none invented
    assert arts["c"].title == "C"
    assert arts["a"].metadata == {}


def test_non_utf8_file_is_skipped_with_a_clear_warning(tmp_path, caplog):
    (tmp_path / "good.txt").write_text("Bon texte.", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes("Texte déjà en latin-1.".encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        arts = load_corpus(tmp_path)
    assert [a.id for a in arts] == ["good"]
    assert "not UTF-8" in caplog.text
    assert bad.read_bytes() == "Texte déjà en latin-1.".encode("latin-1")  # never touched
    with pytest.raises(CorpusError, match="not UTF-8"):
        read_article(bad)


def test_empty_or_missing_corpus(tmp_path):
    with pytest.raises(CorpusError, match="no readable articles"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_real_corpus_reads_cleanly():
    from pathlib import Path

    arts = load_corpus(Path(__file__).resolve().parents[1] / "corpus")
    assert len(arts) == 5
    aws = next(a for a in arts if a.id.startswith("002"))
    assert "Trinity" not in aws.text and "Laisser un commentaire" not in aws.text
    assert "Montant annoncé : 38 milliards de dollars de capacité cloud." in aws.text
    assert all(a.language == "fr" and a.title for a in arts)
    assert all("url" not in a.metadata and "date" not in a.metadata for a in arts)

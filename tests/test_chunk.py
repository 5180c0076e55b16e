import random

from assistant.chunk import approx_tokens, chunk_article, sentences
from assistant.ingest import load_corpus
from assistant.types import Article

from conftest import CORPUS


def test_real_articles_chunk_offsets_are_exact(embedder):
    for article in load_corpus(CORPUS):
        chunks = chunk_article(article, max_tokens=200, overlap_tokens=50, count_tokens=embedder.count_tokens)
        assert chunks
        for c in chunks:
            assert article.text[c.start:c.end] == c.text
            assert embedder.count_tokens(f"{article.title}\n{c.text}") <= 512
        # every sentence appears in some chunk
        assert not article.text[: chunks[0].start].strip()  # nothing but blank space before it
        assert chunks[-1].end == len(article.text.rstrip())


def test_chunks_overlap_and_respect_budget():
    sentences = [f"Phrase numéro {i} avec quelques mots de plus." for i in range(40)]
    article = Article(id="x", title="T", text=" ".join(sentences))
    chunks = chunk_article(article, max_tokens=60, overlap_tokens=20, count_tokens=approx_tokens)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "consecutive chunks share their boundary sentences"
        assert b.start > a.start
    for c in chunks:
        assert approx_tokens(c.text) <= 60


def test_random_texts_keep_offsets():
    rng = random.Random(7)
    alphabet = "abcdéèà .!?\n«»’'-•0123456789ABC"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        article = Article(id="r", title="", text=text)
        for c in chunk_article(article, max_tokens=30, overlap_tokens=5):
            assert text[c.start:c.end] == c.text and c.text.strip()


def test_long_sentence_is_its_own_chunk():
    long = "Mot " + "mot " * 200 + "fin."  # over the chunk budget, under MAX_SENTENCE_CHARS
    article = Article(id="l", title="T", text="Avant. " + long + " Après.")
    chunks = chunk_article(article, max_tokens=100, overlap_tokens=10)
    assert any(c.text == long for c in chunks)


def test_unpunctuated_text_is_cut_into_bounded_sentences_and_chunks():
    from assistant.text import MAX_SENTENCE_CHARS

    text = " ".join(f"mot{i % 97}" for i in range(60_000))  # ~350 KB with no sentence end
    article = Article(id="l", title="T", text=text)
    spans = sentences(article)
    assert len(spans) > len(text) // MAX_SENTENCE_CHARS
    assert max(s.end - s.start for s in spans) <= MAX_SENTENCE_CHARS
    chunks = chunk_article(article, max_tokens=200, overlap_tokens=50)
    assert max(len(c.text) for c in chunks) <= MAX_SENTENCE_CHARS
    assert all(text[c.start:c.end] == c.text for c in chunks)

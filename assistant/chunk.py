"""Stage 2: sentence-aware chunks that keep their exact character spans.

A chunk is a run of whole sentences of one article, sized so that
``"passage: " + title + chunk`` fits the embedding model's window, with the last
sentences of a chunk repeated at the start of the next one (overlap). Every chunk
satisfies ``article.text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

from typing import Callable, Iterable

from .text import sentence_spans
from .types import Article, Chunk, Sentence

TokenCounter = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """A conservative token estimate (~3.2 characters a token for French subwords)."""
    return max(1, int(len(text) / 3.2) + 2)


def sentences(article: Article) -> list[Sentence]:
    return [Sentence(article.id, s, e) for s, e in sentence_spans(article.text)]


def embedding_text(title: str, text: str) -> str:
    """What the embedder sees for a chunk or a sentence: the title gives it context."""
    return f"{title}\n{text}" if title else text


def chunk_article(
    article: Article,
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 50,
    count_tokens: TokenCounter = approx_tokens,
) -> list[Chunk]:
    """Split one article into overlapping, sentence-aligned chunks.

    A sentence longer than the budget becomes a chunk of its own (the embedder
    windows it); it is never cut mid-sentence, so quotes stay whole.
    """
    spans = sentence_spans(article.text)
    if not spans:
        return []
    budget = max(8, max_tokens - count_tokens(article.title) - 4)
    sizes = [count_tokens(article.text[s:e]) for s, e in spans]
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j, used = i, 0
        while j < len(spans) and (j == i or used + sizes[j] <= budget):
            used += sizes[j]
            j += 1
        start, end = spans[i][0], spans[j - 1][1]
        chunks.append(
            Chunk(
                id=f"{article.id}#{len(chunks)}",
                article_id=article.id,
                text=article.text[start:end],
                start=start,
                end=end,
            )
        )
        if j >= len(spans):
            break
        # Step back over trailing sentences that fit the overlap budget.
        k, back = j, 0
        while k - 1 > i and back + sizes[k - 1] <= overlap_tokens:
            back += sizes[k - 1]
            k -= 1
        i = k
    return chunks


def to_text_nodes(article: Article, chunks: Iterable[Chunk]):
    """llama-index ``TextNode`` views of chunks (exact offsets kept) for its stores."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    return [
        TextNode(
            id_=c.id,
            text=c.text,
            start_char_idx=c.start,
            end_char_idx=c.end,
            metadata={"article_id": c.article_id, "title": article.title},
            excluded_embed_metadata_keys=["article_id"],
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=article.id)},
        )
        for c in chunks
    ]

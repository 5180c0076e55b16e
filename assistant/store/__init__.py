"""Where the chunk vectors are searched: FAISS (embedded, the default) or Qdrant.

Every dense store answers the one question ``retrieve.dense_search`` asks:
``search(vector, k)`` returns ``(chunk position, similarity)`` pairs, positions
being rows of ``IndexData.chunks`` and similarities inner products of unit vectors;
``count()`` is how many chunk vectors it holds.
Both also speak llama-index's vector-store interface (``query(VectorStoreQuery)``).
``faiss.FaissChunkStore`` searches FAISS directly (FAISS ids are row numbers) and
builds llama-index's ``FaissVectorStore`` only when asked, so answering a question
does not import llama-index; ``qdrant.QdrantChunkStore`` goes through llama-index's
``QdrantVectorStore`` and maps Qdrant's point ids back to positions. Nothing above
the store knows which one it talks to.

The manifest records the store of each index version under ``"store"`` (absent:
FAISS) and, for FAISS, which index serves it under ``"faiss"`` (``faiss.faiss_kind``).
"""

from __future__ import annotations

from typing import Any

from ..errors import IndexMismatchError

STORES = ("faiss", "qdrant")


def store_kind(manifest: dict[str, Any]) -> str:
    """The store an index version was built for (indexes from before this field: FAISS)."""
    return manifest.get("store", {}).get("kind", "faiss")


def check_store(manifest: dict[str, Any], settings) -> None:
    """IndexMismatchError when the index was built for another store than configured."""
    built, wanted = store_kind(manifest), settings.store
    if built != wanted:
        raise IndexMismatchError(
            f"index built for store {built}, but store = {wanted} is configured; "
            f"run `assistant index --rebuild` (or set ASSISTANT_STORE={built})"
        )

"""Chunk vectors in Qdrant, through llama-index's ``QdrantVectorStore``.

Two modes, one code path:

* **server** (``qdrant_url`` set): several chat servers share one Qdrant; the API
  key is read from the environment variable named by ``qdrant_api_key_env`` and is
  never logged, written to the manifest, or shown in an error;
* **local** (no URL): Qdrant's in-process mode in ``qdrant_path`` (default
  ``<index_dir>/qdrant``). Local mode locks its folder: one process at a time.

Each build writes a fresh collection ``<qdrant_collection>-<stamp>-<token>`` before
the index's ``current`` link is swapped, and the manifest names it, so an index
version and its collection change together. After the swap, collections of this
prefix other than the new one and the one it replaced are dropped (servers still
running the previous version keep working until they reload).

Qdrant holds what candidate search needs (vectors, chunk positions, the node text
llama-index stores); BM25 and the rerank vectors stay in the index folder.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, IndexCorruptError

log = logging.getLogger(__name__)

#: chunk ids (``article#3``) are not Qdrant point ids (UUIDs or integers): derive UUIDs.
_NAMESPACE = uuid.UUID("5b0c7a52-6f2e-4c1e-9a59-0d8f3f1c2b7e")
_UPLOAD_BATCH = 256

# Local mode allows one client per folder per process: a build followed by a load in
# the same process (tests, `load_or_build`) must share it.
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _import():
    try:
        import qdrant_client
        from llama_index.vector_stores.qdrant import QdrantVectorStore
    except ImportError:
        raise BackendUnavailableError(
            "store = qdrant needs qdrant-client and llama-index-vector-stores-qdrant: "
            "pip install 'assistant[qdrant]'"
        ) from None
    return qdrant_client, QdrantVectorStore


def where(settings) -> str:
    """The server URL or local folder, for messages (never the key)."""
    if settings.qdrant_url:
        return settings.qdrant_url
    return str(Path(settings.qdrant_path or Path(settings.index_dir) / "qdrant").resolve())


def client(settings):
    """The process's ``QdrantClient`` for these settings (server or local mode)."""
    qdrant_client, _ = _import()
    place = where(settings)
    with _clients_lock:
        found = _clients.get(place)
        if found is not None:
            return found
        try:
            if settings.qdrant_url:
                key = os.environ.get(settings.qdrant_api_key_env) if settings.qdrant_api_key_env else None
                made = qdrant_client.QdrantClient(url=settings.qdrant_url, api_key=key or None,
                                                  check_compatibility=False)
            else:
                Path(place).mkdir(parents=True, exist_ok=True)
                made = qdrant_client.QdrantClient(path=place)
        except RuntimeError:  # local folder locked by another process
            raise BackendUnavailableError(
                f"Qdrant local storage {place} is in use by another process; stop it, "
                "or run a Qdrant server and set qdrant_url"
            ) from None
        except Exception as exc:
            raise BackendUnavailableError(f"cannot open Qdrant at {place} ({type(exc).__name__})") from None
        if not _clients:
            atexit.register(close_clients)  # before interpreter teardown breaks local mode's close()
        _clients[place] = made
        return made


def close_clients() -> None:
    """Close every client this process opened (releases local-mode folder locks)."""
    with _clients_lock:
        for c in _clients.values():
            c.close()
        _clients.clear()


def _unavailable(settings, exc: Exception) -> BackendUnavailableError:
    # Qdrant's own messages can echo request headers: name the server and the error type only.
    status = getattr(exc, "status_code", None)
    source = getattr(exc, "source", None)  # ResponseHandlingException: the transport error
    if status in (401, 403):
        return BackendUnavailableError(
            f"Qdrant at {where(settings)} refused the request (HTTP {status}); "
            f"check the API key in ${settings.qdrant_api_key_env}")
    if source is not None:
        return BackendUnavailableError(
            f"cannot reach Qdrant at {where(settings)} ({type(source).__name__}); is the server "
            "running? (`docker compose up -d qdrant`)")
    detail = f"HTTP {status}" if status else type(exc).__name__
    return BackendUnavailableError(f"Qdrant at {where(settings)} failed ({detail})")


def write_collection(settings, chunks, vectors: np.ndarray, articles: dict) -> dict[str, Any]:
    """Upload one index version's chunk vectors to a new collection; its manifest entry."""
    from ..chunk import to_text_nodes

    _, QdrantVectorStore = _import()
    c = client(settings)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    name = f"{settings.qdrant_collection}-{stamp}-{secrets.token_hex(3)}"
    try:
        if len(chunks) == 0:
            from qdrant_client.http import models as rest

            c.create_collection(name, vectors_config=rest.VectorParams(
                size=int(vectors.shape[1]), distance=rest.Distance.COSINE))
        else:
            store = QdrantVectorStore(collection_name=name, client=c, batch_size=_UPLOAD_BATCH,
                                      index_doc_id=bool(settings.qdrant_url))
            nodes = []
            for position, (chunk, vec) in enumerate(zip(chunks, vectors)):
                node = to_text_nodes(articles[chunk.article_id], [chunk])[0]
                node.id_ = str(uuid.uuid5(_NAMESPACE, chunk.id))
                node.metadata["position"] = position
                node.excluded_embed_metadata_keys.append("position")
                node.embedding = np.asarray(vec, dtype=np.float32).tolist()
                nodes.append(node)
            store.add(nodes)
    except BackendUnavailableError:
        raise
    except Exception as exc:
        raise _unavailable(settings, exc) from None
    log.info("qdrant: %d chunk vectors in collection %s at %s", len(chunks), name, where(settings))
    entry: dict[str, Any] = {"kind": "qdrant", "collection": name, "count": len(chunks)}
    if settings.qdrant_url:
        entry["url"] = settings.qdrant_url
    return entry


def current_collection(index_dir: Path) -> str | None:
    """The collection the index version now in use reads, if any (before a swap replaces it)."""
    import json

    try:
        manifest = json.loads((Path(index_dir) / "current" / "manifest.json").read_text(encoding="utf-8"))
        return manifest.get("store", {}).get("collection")
    except (OSError, ValueError, AttributeError):
        return None


def retire_collections(settings, keep: set[str | None]) -> None:
    """Drop this prefix's collections other than ``keep`` (failed builds, older versions)."""
    c = client(settings)
    prefix = settings.qdrant_collection + "-"
    try:
        names = [col.name for col in c.get_collections().collections]
        for name in names:
            if name.startswith(prefix) and name not in keep:
                c.delete_collection(name)
                log.info("qdrant: dropped collection %s", name)
    except Exception as exc:  # a stale collection is not worth failing a finished build
        log.warning("qdrant: could not drop old collections: %s", _unavailable(settings, exc))


class QdrantChunkStore:
    """A Qdrant collection behind FAISS's contract: ``query().ids`` are chunk positions."""

    def __init__(self, store, collection: str, settings) -> None:
        self.store = store
        self.collection = collection
        self._settings = settings

    def query(self, query, **kwargs: Any):
        from llama_index.core.vector_stores.types import VectorStoreQueryResult

        try:
            result = self.store.query(query, **kwargs)
        except Exception as exc:  # a server gone mid-session: one line, not a traceback
            raise _unavailable(self._settings, exc) from None
        ids = [str(int(n.metadata["position"])) for n in result.nodes or []]
        return VectorStoreQueryResult(nodes=result.nodes, similarities=result.similarities, ids=ids)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest chunk positions to ``vector`` and their similarities."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        result = self.query(VectorStoreQuery(query_embedding=np.asarray(vector).tolist(), similarity_top_k=k))
        return [(int(i), float(s)) for i, s in zip(result.ids or [], result.similarities or [])]

    def count(self) -> int:
        return int(self.store.client.count(self.collection, exact=True).count)


def open_collection(settings, entry: dict[str, Any], index_path: Path) -> QdrantChunkStore:
    """The store of one index version; IndexCorruptError when its collection is gone."""
    _, QdrantVectorStore = _import()
    c = client(settings)
    name = entry.get("collection", "")
    try:
        exists = c.collection_exists(name)
    except Exception as exc:
        raise _unavailable(settings, exc) from None
    if not exists:
        raise IndexCorruptError(
            f"index at {index_path} uses Qdrant collection {name!r}, which {where(settings)} "
            "does not hold; run `assistant index --rebuild`"
        )
    store = QdrantVectorStore(collection_name=name, client=c, index_doc_id=False)
    return QdrantChunkStore(store, name, settings)

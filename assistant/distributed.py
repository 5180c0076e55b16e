"""Embedding over a Ray cluster, for ``assistant index --ray [ADDRESS]``.

The build stays where it is (chunking, BM25, the store, the manifest are written by
the machine that runs ``assistant index``); only the expensive part, encoding the
passages, is spread over Ray actors. Each actor loads the configured embedder once
and encodes whole runs of the local build's batches, in order, so a Ray build
writes the vectors a local build writes (same model, same batches, same order).

Every node of the cluster needs this package and the embedder installed (same
versions as the driver): actors import ``assistant`` to load the model.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterator

import numpy as np

from .embed import LocalEmbedding, load_embedder
from .errors import BackendUnavailableError

log = logging.getLogger(__name__)

#: local batches per Ray task: big enough to amortise a round trip, small enough to
#: spread a modest update over every actor.
BATCHES_PER_TASK = 8


def _import_ray():
    try:
        import ray
    except ImportError:
        raise BackendUnavailableError(
            "`assistant index --ray` needs Ray: pip install 'assistant[ray]'"
        ) from None
    return ray


class _EncoderActor:
    """Holds one embedder in a Ray worker (wrapped by ``ray.remote`` at run time)."""

    def __init__(self, spec: str, threads: int) -> None:
        self._embedder = load_embedder(spec, threads)

    def embedder_id(self) -> str:
        return self._embedder.embedder_id

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._embedder.embed_passages(texts, batch_size=batch_size)


class RayPassageEncoder:
    """``embed_passages`` of a local embedder, computed by a pool of Ray actors.

    Ray is started (or joined) on the first non-empty call, so an update with
    nothing to embed never touches the cluster. ``close()`` shuts Ray down only if
    this object started it.
    """

    def __init__(self, spec: str, threads: int, address: str | None, expected_id: str,
                 dimension: int) -> None:
        self._ray = _import_ray()
        self.dimension = dimension
        self.embedder_id = expected_id
        self._spec, self._threads = spec, max(1, int(threads))
        self._address = address or None
        self._expected_id = expected_id
        self._pool = None
        self._started_ray = False
        self.actors = 0

    def _start(self) -> None:
        ray = self._ray
        if not ray.is_initialized():
            where = self._address or "a local Ray instance"
            try:
                ray.init(address=self._address, include_dashboard=False,
                         logging_level=logging.WARNING)
            except Exception as exc:  # ConnectionError, ValueError on a bad address, ...
                raise BackendUnavailableError(
                    f"cannot start or join Ray at {where} ({type(exc).__name__}: {exc})"
                ) from None
            self._started_ray = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.actors = max(1, cpus // self._threads)
        remote = ray.remote(num_cpus=min(self._threads, cpus))(_EncoderActor)
        actors = [remote.remote(self._spec, self._threads) for _ in range(self.actors)]
        try:
            ids = set(ray.get([a.embedder_id.remote() for a in actors]))
        except ray.exceptions.RayError as exc:
            raise BackendUnavailableError(
                f"Ray workers could not load embedder {self._spec} ({_first_line(exc)}); "
                "install the same assistant and embedder versions on every node"
            ) from None
        if ids != {self._expected_id}:
            raise BackendUnavailableError(
                f"Ray workers load embedder {sorted(ids)}, the driver {self._expected_id}; "
                "install the same assistant and embedder versions on every node"
            )
        log.info("embedding on Ray: %d actors of %d threads (%d CPUs)", self.actors, self._threads, cpus)
        from ray.util.actor_pool import ActorPool

        self._pool = ActorPool(actors)

    def embed_passages(self, texts: list[str], batch_size: int = 32,
                       progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The rows ``LocalEmbedding.embed_passages`` would return, in the same order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._pool is None:
            self._start()
        step = batch_size * BATCHES_PER_TASK
        runs = [texts[i:i + step] for i in range(0, len(texts), step)]
        out = []
        try:
            for run, vectors in zip(runs, self._pool.map(lambda a, r: a.encode.remote(r, batch_size), runs)):
                out.append(vectors)
                if progress is not None:
                    progress(len(run))
        except self._ray.exceptions.RayError as exc:
            raise BackendUnavailableError(f"embedding on Ray failed ({_first_line(exc)})") from None
        return np.vstack(out)

    def close(self) -> None:
        self._pool = None
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False


def _first_line(exc: Exception) -> str:
    # Ray's errors carry the remote traceback; a one-line message keeps its last line.
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1].strip()}" if lines else type(exc).__name__


@contextlib.contextmanager
def ray_encoder(settings, embedder: LocalEmbedding, address: str | None) -> Iterator[RayPassageEncoder]:
    """A ``RayPassageEncoder`` for the configured embedder; Ray is shut down on exit if we started it."""
    encoder = RayPassageEncoder(settings.embedder, settings.embed_threads, address,
                                embedder.embedder_id, embedder.dimension)
    try:
        yield encoder
    finally:
        encoder.close()

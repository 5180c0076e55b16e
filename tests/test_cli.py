"""The command line, run as a user would (subprocess), including bad input."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import CORPUS, ROOT


def run(*args, env=None, cwd=ROOT):
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=300)


def test_help_shows_examples():
    out = run("--help")
    assert out.returncode == 0
    assert "examples:" in out.stdout and "assistant ask" in out.stdout
    assert "examples:" in run("ask", "--help").stdout


def test_ask_json(index_dir):
    out = run("ask", "How much is the AWS deal worth?", "--json", "--index-dir", str(index_dir))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["citations"][0]["article_id"].startswith("002")
    assert "38 milliards" in data["text"] and data["language"] == "en"


def test_ask_text_lists_sources(index_dir):
    out = run("ask", "Combien vaut l'accord entre OpenAI et AWS ?", "--index-dir", str(index_dir))
    assert out.returncode == 0
    assert "[1]" in out.stdout and "002_d468078014d47073" in out.stdout


@pytest.mark.parametrize("question,needle", [
    ("", "empty"),
    ("?!", "no words"),
    ("a" * 2000, "limit"),
    ("bonjour\x07", "control characters"),
])
def test_bad_questions_one_line_nonzero(index_dir, question, needle):
    out = run("ask", question, "--index-dir", str(index_dir))
    assert out.returncode != 0
    assert needle in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_and_corrupt_index(tmp_path, index_dir):
    out = run("ask", "Combien ?", "--index-dir", str(tmp_path / "none"))
    assert out.returncode != 0 and "assistant index" in out.stderr and "Traceback" not in out.stderr
    broken = tmp_path / "broken"
    shutil.copytree(index_dir, broken, symlinks=True)
    target = (broken / "current").resolve()
    (target / "chunk_vectors.npy").write_bytes(b"garbage")
    out = run("ask", "Combien ?", "--index-dir", str(broken))
    assert out.returncode != 0 and "--rebuild" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_empty_corpus_and_unreadable_files(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run("index", "--corpus-dir", str(empty), "--index-dir", str(tmp_path / "i"))
    assert out.returncode != 0 and "no readable articles" in out.stderr and "Traceback" not in out.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "latin1.txt").write_bytes("é".encode("latin-1") * 10)
    out = run("index", "--corpus-dir", str(bad), "--index-dir", str(tmp_path / "i"))
    assert out.returncode != 0 and "not UTF-8" in out.stderr
    assert (bad / "latin1.txt").exists()


def test_index_reports_size_on_disk_and_rss_per_thousand_articles(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted(CORPUS.glob("*.md"))[:2]:
        shutil.copy(p, corpus / p.name)
    out = run("index", "--corpus-dir", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert out.returncode == 0, out.stderr
    m = re.search(r"index size ([\d.]+) MB on disk, ([\d.]+) MB of RSS to load; per 1,000 articles: "
                  r"([\d.]+) MB on disk, ([\d.]+) MB RSS", out.stdout)
    assert m, out.stdout
    disk, rss, disk_per_k, rss_per_k = map(float, m.groups())
    rounding = 500 * 0.005 + 0.05  # two articles; totals printed to 0.01 MB
    assert disk > 0 and abs(disk_per_k - disk * 500) <= rounding
    assert rss > 0 and abs(rss_per_k - rss * 500) <= rounding


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_default_configuration_works_with_the_network_cut(tmp_path):
    """Index build and answer inside a network namespace with no interface up."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "assistant"]
    build = subprocess.run(["unshare", "-n", *cmd, "index", "--corpus-dir", str(corpus),
                            "--index-dir", str(tmp_path / "index")], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=600)
    assert build.returncode == 0, build.stderr
    ask = subprocess.run(["unshare", "-n", *cmd, "ask", "Combien vaut l'accord entre OpenAI et AWS ?",
                          "--json", "--index-dir", str(tmp_path / "index")], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=300)
    assert ask.returncode == 0, ask.stderr
    assert "38 milliards" in json.loads(ask.stdout)["text"]

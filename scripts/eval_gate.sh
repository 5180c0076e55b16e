#!/usr/bin/env bash
# Run the fixed question set and fail when quality drops under today's figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
.venv/bin/assistant eval --out "${TMPDIR:-/tmp}/assistant-eval" --configs hybrid

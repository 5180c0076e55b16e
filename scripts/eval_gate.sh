#!/usr/bin/env bash
# Run the fixed question set and fail when quality drops under today's figures (eval/gate.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
.venv/bin/assistant eval --configs hybrid --gate eval/gate.toml --out "${TMPDIR:-/tmp}/assistant-eval"

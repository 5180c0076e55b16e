#!/usr/bin/env bash
# One command on a fresh machine: install, build the index when missing, open the chat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/assistant chat "$@"

#!/usr/bin/env bash
# One command: install everything the tests need (incl. chromium), then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"

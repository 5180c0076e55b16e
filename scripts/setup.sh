#!/usr/bin/env bash
# Install the assistant and what it needs into ./.venv. Idempotent: re-running is cheap.
#   scripts/setup.sh          the app (chat, CLI, Python API, evaluation)
#   scripts/setup.sh --dev    plus every optional backend and the test tools (chromium too)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi
pip=".venv/bin/python -m pip"
$pip install -q --upgrade pip

if [ "$dev" = 1 ]; then
  # torch first and pinned: any other version pulls gigabytes of CUDA wheels.
  echo "==> installing torch==2.13.0 (CPU)"
  $pip install -q "torch==2.13.0"
  echo "==> installing the assistant with every extra"
  $pip install -q -e ".[all]"
  if ! command -v chromium >/dev/null 2>&1; then
    echo "==> installing Debian's chromium for the browser tests"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
else
  echo "==> installing the assistant"
  $pip install -q -e ".[eval]"
fi

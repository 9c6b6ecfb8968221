#!/usr/bin/env bash
# The one prepared device check (issue 14): the only thing to run when a GPU is lent. Finishes in under
# 8 minutes on one H100/H200 and prints one line per figure (scripts/device_check.py: phases, line format).
#
#   scripts/device_check.sh            # on the GPU machine, from anywhere
#   scripts/device_check.sh --tiny     # the same code, CPU-sized (tests/train/test_device_check.py runs it)
#
# PYTHON picks the interpreter (default: the checkout's .venv, else python3); other arguments go to
# the script.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
exec "$PY" scripts/device_check.py "$@"

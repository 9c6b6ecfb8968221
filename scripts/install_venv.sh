#!/usr/bin/env bash
# Creates .venv/ and installs everything the project needs, once. Re-runs install nothing unless
# requirements/*, setup.cfg or pyproject.toml changed (the stamp records their hash).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp_hash=$(cat requirements/*.txt setup.cfg pyproject.toml scripts/install_venv.sh | sha256sum | cut -c1-16)
stamp=".venv/.installed-${stamp_hash}"
if [[ -f "$stamp" ]]; then exit 0; fi
echo "[install] setting up .venv (requirements changed or first run)" >&2
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
pip=".venv/bin/python -m pip"
$pip install -q --upgrade pip setuptools wheel
# torch and torchvision first, from the pinned versions (local wheels on this machine class).
$pip install -q -r requirements/constraints.txt
$pip install -q -c requirements/constraints.txt -r requirements/base.txt -r requirements/test.txt
# sam2 and deepspeed compile against the torch just installed; no CUDA extension on CPU machines.
SAM2_BUILD_CUDA=0 DS_BUILD_OPS=0 $pip install -q --no-build-isolation -c requirements/constraints.txt -r requirements/heavy.txt
$pip install -q --no-build-isolation --no-deps --config-settings editable_mode=compat -e .
rm -f .venv/.installed-*
touch "$stamp"
echo "[install] done" >&2

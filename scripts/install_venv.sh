#!/usr/bin/env bash
# Creates .venv/ and installs everything the project needs, once. Re-runs install nothing unless
# requirements/*, setup.cfg, setup.py or pyproject.toml changed (the stamp records their hash).
# Quiet: pip's output goes to .venv/install.log; the terminal gets one line (or the log's tail on failure).
set -Eeuo pipefail  # -E: the ERR trap below also fires inside the pip() function
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp_hash=$(cat requirements/*.txt setup.cfg setup.py pyproject.toml scripts/install_venv.sh | sha256sum | cut -c1-16)
stamp=".venv/.installed-${stamp_hash}"
if [[ -f "$stamp" ]]; then exit 0; fi
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
log=.venv/install.log
: > "$log"
echo "[install] setting up .venv (requirements changed or first run; log: $log)" >&2
start=$SECONDS
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@" >>"$log" 2>&1; }
trap 'echo "[install] FAILED; last lines of $log:" >&2; tail -n 30 "$log" >&2' ERR
pip install --upgrade pip setuptools wheel
# torch and torchvision first, at the pinned versions (local wheels on this machine class).
pip install -c requirements/constraints.txt torch torchvision
pip install -c requirements/constraints.txt -r requirements/base.txt -r requirements/test.txt
# sam2 and deepspeed compile against the torch just installed; no CUDA extension on CPU machines.
SAM2_BUILD_CUDA=0 DS_BUILD_OPS=0 pip install --no-build-isolation -c requirements/constraints.txt -r requirements/heavy.txt
pip install --no-build-isolation --no-deps --config-settings editable_mode=compat -e .
# torchcodec (a --decoder backend) loads the system FFmpeg 4-8 libraries: install them with apt when absent.
ffmpeg_libs() {
  local libs; libs=$(ldconfig -p 2>/dev/null || true)
  grep -qE 'libavcodec\.so\.(5[89]|6[0-2]) ' <<<"$libs" && grep -q 'libavfilter\.so' <<<"$libs"
}
if ! ffmpeg_libs && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
  pick() { apt-cache pkgnames "$1" 2>/dev/null | grep -E "^$1[0-9]+$" | sort -V | tail -1 || true; }
  [[ -n $(pick libavcodec) ]] || apt-get update -q >/dev/null || true
  pkgs=$(for b in libavutil libavcodec libavformat libavdevice libavfilter libswscale libswresample; do pick $b; done)
  [[ -z $pkgs ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >>"$log" 2>&1 || true
fi
ffmpeg_libs || echo "[install] no system FFmpeg libraries: the torchcodec decoder is skipped (decord/pyav remain)" >&2
rm -f .venv/.installed-*
touch "$stamp"
trap - ERR
echo "[install] done in $((SECONDS - start)) s; .venv is $(du -sh .venv | cut -f1) (log: $log)" >&2

"""``scripts/device_check.sh --tiny``: the prepared GPU check runs as-is on the CPU (a tiny random model, the
same code paths) and prints exactly one ``name: value`` line per figure on stdout, in a fixed order."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from ._recipe_helpers import tiny_cache  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
BUILD_EVAL = [
    "device",
    "build_s",
    "base_params_b",
    "tpo_trainable_params_m",
    "eval_samples_per_s",
    "eval_peak_gpu_mem_gib",
    "eval_failed",
    "decode_samples_per_s",
    "model_vs_decode_ratio",
]
TRAIN = [
    "tpo_step_s",
    "tpo_peak_gpu_mem_gib",
    "tpo_loss",
    "sft_step_s",
    "sft_peak_gpu_mem_gib",
    "tpo_over_sft_step_ratio",
]
DEEPSPEED = ["deepspeed_zero2_bf16", "deepspeed_step_s", "deepspeed_peak_gpu_mem_gib"]


def _check(tmp_path: Path, cache: Path, *args: str) -> dict[str, str]:
    import sys

    env = {**os.environ, "PYTHON": sys.executable, "TPO_TRAIN_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    cmd = [str(REPO / "scripts" / "device_check.sh"), "--tiny", "--work", str(tmp_path), *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    lines = proc.stdout.splitlines()
    assert all(re.fullmatch(r"[a-z0-9_]+: \S.*", x) for x in lines), lines  # nothing but figure lines
    return dict(x.split(": ", 1) for x in lines) | {"_order": [x.split(":")[0] for x in lines]}


def _num(v: str) -> float:
    return float(v.split()[0])


def test_device_check_tiny_without_deepspeed(tmp_path, tiny_cache):
    """Build, eval and both training phases (DeepSpeed bf16 is covered by test_precision; ~50 s here)."""
    out = _check(tmp_path, tiny_cache, "--skip", "deepspeed")
    assert out["_order"] == BUILD_EVAL + TRAIN + ["total_s"]
    assert out["device"].startswith("cpu") and out["eval_failed"] == "0 of 20"
    assert "{'device': 'cpu', 'dtype': 'float32', 'gpu': None}" in out["eval_peak_gpu_mem_gib"]
    assert "20 samples x 4 frames, cpu float32" in out["eval_samples_per_s"]
    for k in (
        "eval_samples_per_s",
        "decode_samples_per_s",
        "model_vs_decode_ratio",
        "tpo_step_s",
        "sft_step_s",
        "tpo_over_sft_step_ratio",
        "tpo_trainable_params_m",
    ):
        assert _num(out[k]) > 0, k
    ratio = _num(out["tpo_step_s"]) / _num(out["sft_step_s"])  # of the printed (rounded) step times
    assert _num(out["tpo_over_sft_step_ratio"]) == pytest.approx(ratio, rel=0.02)
    assert out["tpo_peak_gpu_mem_gib"].startswith("n/a") and out["total_s"].endswith("(failed phases: none)")


@pytest.mark.slow
def test_device_check_tiny_full(tmp_path, tiny_cache):
    out = _check(tmp_path, tiny_cache)
    assert out["_order"] == BUILD_EVAL + TRAIN + DEEPSPEED + ["total_s"]
    assert out["deepspeed_zero2_bf16"].startswith("ok  (2 steps, world size 1")


def test_random_base_at_the_real_vision_geometry(tmp_path):
    """The full check's base, narrowed: LLaVA-OV-7B's vision geometry (384 px, patch 14 → 27×27 patches,
    video frames pooled to 14×14 = 196 tokens) with thin layers. The saved processor expands ``<video>`` to
    exactly the features the model makes, so the real-size eval and training see consistent token counts."""
    import numpy as np
    import torch

    from tpo_train.model import TPOModel, TPOModelSpec
    from tpo_train.presets import LLAVA_OV_7B
    from tpo_train.tiny import build_random_llava_ov

    thin = {
        **LLAVA_OV_7B,
        "vision": {
            **LLAVA_OV_7B["vision"],
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        "text": {
            **LLAVA_OV_7B["text"],
            "vocab_size": 1024,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
    }
    base = build_random_llava_ov(tmp_path / "base", thin, dtype="float32")
    model = TPOModel.build(TPOModelSpec(base=str(base)))
    video = np.zeros((2, 224, 224, 3), dtype=np.uint8)
    ex = model.adapter.encode("", "What happens?", video=video)
    assert ex.vision["pixel_values_videos"].shape[-2:] == (384, 384)
    n_video = sum(1 for t in ex.input_ids if t == model.adapter.model.config.video_token_id)
    assert n_video == 2 * 14 * 14 + 1  # two pooled frames and the newline token
    with torch.no_grad():
        gen = model.generate(ex, max_new_tokens=2)
    assert len(gen.token_ids) <= 2

"""bf16 training on the CPU through both engines — the precision code a GPU runs (``torch.autocast`` on the
CPU for the plain engine, DeepSpeed's own bf16 on two gloo ranks) — against fp32, for stages 2 and 3 with all
three heads (the mask head: a small 256-px SAM2 with the mask loss through its decoder); and device placement:
the engine's device resolves as documented, and the model, every head and the batches land on it (a ``meta``
stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tpo_train.heads.mask import SMALL_SAM2_OVERRIDES

from ._recipe_helpers import TINY, load, tiny_cache  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
MASK256 = (
    "model.heads.mask={sam2_config: configs/sam2.1/sam2.1_hiera_t.yaml, image_size: 256, "
    "mask_loss: true, hydra_overrides: [" + ", ".join(f'"{o}"' for o in SMALL_SAM2_OVERRIDES) + "]}"
)
COMMON = (*TINY, "init_from=base", "train.max_steps=3", "model.frames=2", MASK256)
# stage 2's shipped weights (temporal 25 : region 1) leave region out of 3 tiny steps; equal weights bring
# it in
_TEMPORAL = ("didemo", "queryd", "hirest", "activitynet", "tacos", "nlq")
EXTRA = {"stage2": tuple(f"data.sources.{s}.weight=1" for s in _TEMPORAL), "stage3": ()}
HEAD_LOSSES = ("temporal_loss", "region_loss", "mask_loss")
# Measured on this code (3 steps, the same batches as fp32; `pytest -s` prints the gaps): total loss within
# 8.9e-4 (autocast, frozen base in bf16) and 1.1e-3 (DeepSpeed bf16) of fp32, head losses within 1.0e-2 and
# 3.0e-2; the bounds leave room for BLAS and thread-count differences between machines.
LOSS_RTOL, HEAD_RTOL = 0.01, 0.08


def _overrides(stage: str, out: Path, precision: str) -> list[str]:
    return [*COMMON, *EXTRA[stage], f"train.precision={precision}", f"output_dir={out}"]


def _train(stage: str, out: Path, precision: str, hooks: bool = False):
    """Run a tiny stage in this process (plain engine); with ``hooks``, also record the dtype of the LM's
    layer outputs and of each head's predictions during training."""
    from tpo_train.recipe import Recipe

    rec = Recipe(load(f"{stage}_tiny", *_overrides(stage, out, precision)))
    rec.setup()
    seen: dict[str, set] = {}

    def record(key):
        def hook(mod, args, out):
            vals = (
                [out]
                if isinstance(out, torch.Tensor)
                else [getattr(out, k) for k in vars(out)]
                if hasattr(out, "__dict__")
                else list(out)
            )
            for v in vals:
                if isinstance(v, torch.Tensor) and v.is_floating_point():
                    seen.setdefault(key, set()).add(v.dtype)

        return hook

    if hooks:
        for layer in rec.model.adapter.model.model.language_model.layers:  # (the final RMSNorm returns fp32)
            layer.mlp.register_forward_hook(record("lm"))
        for task, head in rec.model.heads.items():
            head.register_forward_hook(record(f"pred.{task}"))
    try:
        rec.train()
    finally:
        rec.cleanup()
    return rec, seen


def _check_close(bf16_rows, fp32_rows) -> float:
    """Per-step relative gaps within the tolerances; the largest total-loss gap (bf16 must differ: it ran)."""
    assert [r["step"] for r in bf16_rows] == [r["step"] for r in fp32_rows] == [1, 2, 3]
    gaps, head_gaps = [], []
    for b, f in zip(bf16_rows, fp32_rows):
        assert b["loss"] == pytest.approx(f["loss"], rel=LOSS_RTOL)
        gaps.append(abs(b["loss"] - f["loss"]) / f["loss"])
        assert {k for k in b if k.endswith("_loss")} == {k for k in f if k.endswith("_loss")}
        for k in HEAD_LOSSES:
            if k in f:
                assert b[k] == pytest.approx(f[k], rel=HEAD_RTOL), k
                head_gaps.append(abs(b[k] - f[k]) / f[k])
    for k in HEAD_LOSSES:  # every head trained
        assert any(k in r for r in fp32_rows), k
    assert max(gaps) > 0
    # pytest -s shows the measured gaps
    print(
        f"bf16 vs fp32: total-loss relative gap per step {[f'{g:.2e}' for g in gaps]}, "
        f"largest head-loss gap {max(head_gaps):.2e}"
    )
    return max(gaps)


@pytest.fixture(scope="module")
def fp32_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fp32")
    return {s: _train(s, root / s, "fp32")[0] for s in ("stage2", "stage3")}


@pytest.mark.parametrize("stage", ["stage2", "stage3"])
def test_bf16_autocast_on_cpu_trains_close_to_fp32(stage, tmp_path, fp32_runs):
    rec, seen = _train(stage, tmp_path, "bf16", hooks=True)
    assert type(rec.engine).__name__ == "TorchEngine" and rec.device == torch.device("cpu")
    assert seen["lm"] == {torch.bfloat16}  # autocast covered the LLM forward ...
    for task in ("temporal", "region", "mask"):  # ... the heads ran outside it, in their fp32 parameters
        assert seen[f"pred.{task}"] == {torch.float32}, task
    trained = [p for p in rec.model.parameters() if p.requires_grad]  # fp32 weights for AdamW ...
    assert {p.dtype for p in trained} == {torch.float32} and sum(p.numel() for p in trained) > 0
    frozen = {p.dtype for p in rec.model.adapter.model.parameters() if not p.requires_grad}
    assert frozen == {torch.bfloat16}  # ... the frozen base stored in bf16 (half the memory)
    _check_close(rec.history, fp32_runs[stage].history)


def test_deepspeed_bf16_on_two_gloo_ranks_trains_close_to_fp32(tmp_path, fp32_runs, tiny_cache):
    """ZeRO-2 bf16 (parameters cast by DeepSpeed, fp32 buffers kept) for stage 2 then stage 3 in one torchrun
    launch; ~40 s (DeepSpeed's one-time CPU op build is extra, see test_engine_train)."""
    pytest.importorskip("deepspeed")
    runs = [
        {"config": f"{s}_tiny", "overrides": _overrides(s, tmp_path / s, "bf16")}
        for s in ("stage2", "stage3")
    ]
    out = tmp_path / "ds.json"
    env = {**os.environ, "TPO_TRAIN_CACHE": str(tiny_cache), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    from .test_engine_train import _free_port

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        str(REPO / "tests" / "train" / "_precision_worker.py"),
        str(out),
        json.dumps(runs),
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    for stage, res in zip(("stage2", "stage3"), json.loads(out.read_text())):
        assert res["engine"] == "DeepSpeedEngine" and res["device"] == "cpu"
        assert res["dtypes"]["lm"] == ["torch.bfloat16"]
        assert all(res["dtypes"][f"heads.{t}"] == ["torch.bfloat16"] for t in ("temporal", "region", "mask"))
        assert res["dtypes"]["sam2"] == ["torch.float32"]  # frozen SAM2 runs in fp32 (see MaskHead)
        _check_close(res["history"], fp32_runs[stage].history)


def test_engine_device_resolution(monkeypatch):
    from tpo_train.engine import DistInfo, engine_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert engine_device(DistInfo(local_rank=3)) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert engine_device(DistInfo(rank=5, world=8, local_rank=3)) == torch.device("cuda", 3)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert engine_device() == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert engine_device() == torch.device("cuda", 1)


def test_model_heads_and_batches_land_on_the_engine_device(tmp_path, monkeypatch, fp32_runs):
    """The engine's device replaced by ``meta``: after setup every parameter and buffer (LM, LoRA, tokens, all
    three heads, SAM2) is there, and a training batch — head inputs included — moves there whole."""
    import tpo_train.engine as engine
    from tpo_train.recipe import Recipe

    meta = torch.device("meta")
    monkeypatch.setattr(engine, "engine_device", lambda dist=None: meta)
    rec = Recipe(load("stage2_tiny", *_overrides("stage2", tmp_path, "bf16")))
    rec.setup()
    rec.cleanup()
    assert rec.device == rec.engine.device == meta
    assert sorted(rec.model.heads) == ["mask", "region", "temporal"]
    off = [n for n, t in [*rec.model.named_parameters(), *rec.model.named_buffers()] if t.device != meta]
    assert off == []
    assert not rec.engine._autocast  # no autocast for a stand-in device; cpu/cuda get it (test above)

    cpu = fp32_runs["stage2"]  # a real batch with every head's inputs, built by a CPU run
    batch = cpu.builder.build(cpu.plan.micro_batches(0, 0, 1)[0], step=0).to(meta)
    tensors = [batch.input_ids, batch.attention_mask, batch.labels, *batch.vision.values()]
    tensors += [
        v for inp in batch.head_inputs.values() for v in vars(inp).values() if isinstance(v, torch.Tensor)
    ]
    if batch.input_boxes is not None:
        tensors.append(batch.input_boxes)
    assert "temporal" in batch.head_inputs and all(t.device == meta for t in tensors)

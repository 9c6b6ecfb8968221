"""Engines: the LR schedule, the generated DeepSpeed JSON, gradient accumulation, and DeepSpeed ZeRO-2 on two
CPU processes (torchrun, gloo) giving the single-process losses."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tpo_train.engine import TorchEngine, deepspeed_config
from tpo_train.schedule import lr_factor

from ._recipe_helpers import TINY, load, run_stage, tiny_cache  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def test_lr_schedule_warmup_then_cosine():
    # 10 steps, warm-up ratio 0.2 → 2 warm-up steps reaching the peak on the second
    f = [lr_factor(s, 10, 0.2) for s in range(10)]
    assert f[:3] == [0.5, 1.0, 1.0]
    assert f[9] == pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 8)))
    assert all(a >= b for a, b in zip(f[1:], f[2:]))  # non-increasing after the peak
    assert lr_factor(9, 10, 0.2, min_lr_ratio=0.05) == pytest.approx(0.05 + 0.95 * f[9])
    assert [lr_factor(s, 5, 0.2, "constant") for s in range(5)] == [1.0] * 5


def test_deepspeed_json_follows_the_training_config():
    cfg = load("stage2", check_paths=False)
    ds = deepspeed_config(cfg, world=32)
    assert ds["train_batch_size"] == 128 and ds["train_micro_batch_size_per_gpu"] == 2
    assert ds["gradient_accumulation_steps"] == 2 and ds["gradient_clipping"] == 1.0
    assert ds["bf16"] == {"enabled": True} and ds["zero_optimization"]["stage"] == 2
    assert "offload_optimizer" not in ds["zero_optimization"]
    ds = deepspeed_config(
        load("stage3", "train.deepspeed.offload_optimizer=true", check_paths=False), world=64
    )
    assert (
        ds["gradient_accumulation_steps"] == 2
        and ds["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    )
    with pytest.raises(ValueError, match="not a multiple of micro_batch_size × world size = 2 × 3"):
        deepspeed_config(cfg, world=3)
    json.dumps(ds)  # plain JSON


def test_accumulation_equals_one_big_batch():
    cfg = load("stage1", "optim.grad_clip=0", "optim.warmup_ratio=0", check_paths=False)
    torch.manual_seed(0)
    x, y = torch.randn(4, 3), torch.randn(4, 1)

    def engine(acc):
        torch.manual_seed(1)
        m = torch.nn.Linear(3, 1)
        groups = [
            {"name": "w", "params": [m.weight], "lr": 0.1, "weight_decay": 0.02},
            {"name": "b", "params": [m.bias], "lr": 0.2, "weight_decay": 0.0},
        ]
        return m, TorchEngine(m, groups, cfg, total_steps=4, accumulation=acc)

    m1, e1 = engine(2)
    for half in (slice(0, 2), slice(2, 4)):
        e1.micro_step(((m1(x[half]) - y[half]) ** 2).mean(), last=half.start == 2)
    m2, e2 = engine(1)
    e2.micro_step(((m2(x) - y) ** 2).mean(), last=True)
    assert torch.allclose(m1.weight, m2.weight, atol=1e-7) and torch.allclose(m1.bias, m2.bias, atol=1e-7)
    f = lr_factor(1, 4, 0.0, min_lr_ratio=cfg.optim.min_lr_ratio)  # stage1: the released floor of 5 %
    assert cfg.optim.min_lr_ratio == 0.05 and e1.lrs() == {"w": 0.1 * f, "b": 0.2 * f}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_deepspeed_two_processes_match_single_process(tmp_path, tiny_cache):
    """ZeRO-2 on 2 CPU ranks (gloo): a stage-2 config with all three heads, micro-batches that hold different
    tasks on each rank; the per-step losses equal the single-process run's. ~20 s; the first DeepSpeed run on
    a machine also JIT-builds its CPU shared-memory op once (~60 s, cached in ~/.cache/torch_extensions)."""
    pytest.importorskip("deepspeed")
    common = [*TINY, "init_from=base", "train.max_steps=3", "model.frames=2"]
    env = {**os.environ, "TPO_TRAIN_CACHE": str(tiny_cache), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        "-m",
        "tpo_train.cli",
        "run",
        "stage2_tiny",
        f"output_dir={tmp_path / 'ds'}",
        *common,
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "engine DeepSpeedEngine on 2 rank(s)" in proc.stdout
    ds_rows = [json.loads(x) for x in (tmp_path / "ds" / "metrics.jsonl").read_text().splitlines()]
    single, _ = run_stage("stage2_tiny", tmp_path / "single", *common)
    assert type(single.engine).__name__ == "TorchEngine"
    assert [r["step"] for r in ds_rows] == [1, 2, 3]
    for d, s in zip(ds_rows, single.history):
        assert d["loss"] == pytest.approx(s["loss"], abs=1e-6)
        assert d["grad_norm"] == pytest.approx(s["grad_norm"], rel=1e-5)
    man = json.loads((tmp_path / "ds" / "final" / "manifest.json").read_text())
    assert man["world_size"] == 2 and man["stage"] == "stage2"


def test_run_logger_rank0_jsonl_resume_and_missing_backends(tmp_path, monkeypatch):
    import io

    from tpo_train.logging import RunLogger, read_metrics

    out = io.StringIO()
    lg = RunLogger(tmp_path, ("jsonl",), stream=out)
    for step in (1, 2, 3):
        lg.log(step, {"loss": 1.0 / step, "lr/lora": torch.tensor(2e-5)})
    lg.close()
    assert [(r["step"], r["loss"]) for r in read_metrics(tmp_path / "metrics.jsonl")] == [
        (1, 1.0),
        (2, 0.5),
        (3, 1 / 3),
    ]
    assert "step 2: loss=0.5000 lr/lora=2.000e-05" in out.getvalue()
    RunLogger(tmp_path, ("jsonl",), resume_step=2, stream=io.StringIO()).close()  # a resume from step 2
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2]
    silent = RunLogger(tmp_path / "r1", ("jsonl",), is_main=False)
    silent.log(1, {"loss": 1.0})
    assert not (tmp_path / "r1").exists()  # other ranks write nothing
    import builtins

    real_import = builtins.__import__

    def no_backends(name, *a, **k):
        if name in ("wandb", "torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_backends)
    lg = RunLogger(tmp_path / "r2", ("jsonl", "tensorboard", "wandb"), stream=io.StringIO())
    assert [w.split(" ")[0] for w in lg.warnings] == ["tensorboard", "wandb"]
    lg.log(1, {"loss": 2.0})
    lg.close()
    assert read_metrics(tmp_path / "r2" / "metrics.jsonl")[0]["loss"] == 2.0

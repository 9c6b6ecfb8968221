"""Optimisation engines: plain PyTorch in one process, DeepSpeed ZeRO when launched by
``deepspeed``/``torchrun``.

The only module that imports ``deepspeed``. Both engines expose the same four calls the recipe uses —
``forward(batch)``, ``micro_step(loss, last)``, ``lrs()`` and ``state_dict()/load_state_dict()`` — and the
same numerics: the loss of a global batch is the mean of its micro-batch losses (each rank averages its own,
the all-reduce averages the ranks), gradients are clipped to ``optim.grad_clip`` by global norm, and AdamW
steps with per-group peak LRs scaled by :func:`~tpo_train.schedule.lr_factor` (linear warm-up, then cosine
decay; the optimiser and its schedule are :mod:`tpo_train.schedule`).

The DeepSpeed JSON is generated from the training config by :func:`deepspeed_config` (never hand-written), so
its batch, accumulation, clipping and precision cannot disagree with the YAML.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from .config import TPOConfig
from .schedule import make_optimizer, make_scheduler


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    """Rank and world size from the launcher's environment (``deepspeed``/``torchrun`` set them)."""
    env = os.environ
    return DistInfo(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def engine_device(dist: Optional[DistInfo] = None) -> torch.device:
    """Where training runs: ``cuda:LOCAL_RANK`` when a GPU is present (``LOCAL_RANK`` is 0 outside a
    launcher), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", (dist or dist_info()).local_rank)
    return torch.device("cpu")


def launched_distributed() -> bool:
    """True under ``deepspeed``/``torchrun`` (they set ``LOCAL_RANK``), even with a single process."""
    return "LOCAL_RANK" in os.environ or dist_info().world > 1


def deepspeed_config(cfg: TPOConfig, world: int) -> dict[str, Any]:
    """The DeepSpeed JSON for this config and world size (ZeRO-2, bf16, clipping, accumulation)."""
    t, ds = cfg.train, cfg.train.deepspeed
    per_step = t.micro_batch_size * world
    if t.batch_size % per_step:
        raise ValueError(
            f"train.batch_size={t.batch_size} is not a multiple of micro_batch_size × world size = "
            f"{t.micro_batch_size} × {world}"
        )
    zero: dict[str, Any] = {
        "stage": ds.zero_stage,
        "overlap_comm": ds.overlap_comm,
        "contiguous_gradients": True,
        "reduce_bucket_size": ds.bucket_size,
        "allgather_bucket_size": ds.bucket_size,
    }
    if ds.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    return {
        "train_batch_size": t.batch_size,
        "train_micro_batch_size_per_gpu": t.micro_batch_size,
        "gradient_accumulation_steps": t.batch_size // per_step,
        "gradient_clipping": cfg.optim.grad_clip,
        "bf16": {"enabled": t.precision == "bf16"},
        "fp16": {"enabled": False},
        "zero_optimization": zero,
        "zero_allow_untested_optimizer": True,  # our AdamW with named per-module groups, not DeepSpeed's own
        "steps_per_print": 2**31 - 1,  # logging is ours (rank 0, JSONL)
        "wall_clock_breakdown": False,
    }


class TorchEngine:
    """Single-process engine: gradient accumulation by hand, global-norm clipping, AdamW + LambdaLR.

    The model moves to ``device`` (default :func:`engine_device`). ``precision: bf16`` runs the forward under
    ``torch.autocast(device, bfloat16)`` (CUDA or CPU: the same code path), inside which the TPO model turns
    autocast off again for its heads (see ``TPOModel.forward``); the recipe keeps the trained groups in fp32
    and the frozen base in bf16."""

    def __init__(
        self,
        model: nn.Module,
        groups: Sequence[Mapping[str, Any]],
        cfg: TPOConfig,
        total_steps: int,
        accumulation: int,
        device: Optional[torch.device] = None,
    ) -> None:
        self.device = torch.device(device) if device is not None else engine_device()
        self.module = model.to(self.device)
        self.optimizer = make_optimizer(groups, cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg, total_steps)
        self.clip = cfg.optim.grad_clip
        self.accumulation = accumulation
        self.dist = DistInfo()
        # autocast exists for real devices only; a meta stand-in (placement tests) runs without it
        self._autocast = cfg.train.precision == "bf16" and self.device.type in ("cuda", "cpu")

    def forward(self, batch: Any) -> Any:
        if not self._autocast:
            return self.module(batch)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return self.module(batch)

    def micro_step(self, loss: torch.Tensor, last: bool) -> Optional[float]:
        """Backward one micro-batch; on the last one clip, step and return the pre-clip gradient norm."""
        (loss / self.accumulation).backward()
        if not last:
            return None
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, self.clip if self.clip > 0 else float("inf"))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm)

    def lrs(self) -> dict[str, float]:
        """LR the *next* step will use, per named group (decay and no-decay halves share a name)."""
        return {g["name"]: g["lr"] for g in self.optimizer.param_groups}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])

    def save_engine_state(self, directory: str) -> None:  # engine state lives in trainer_state.pt
        pass

    def load_engine_state(self, directory: str) -> None:
        pass


class DeepSpeedEngine:
    """DeepSpeed ZeRO engine (one process per device). ``deepspeed.initialize`` owns accumulation and
    clipping, and places the model on ``cuda:LOCAL_RANK`` (the CPU without a GPU). ``precision: bf16`` is
    DeepSpeed's own: parameters cast to bf16 (fp32 master copies in the ZeRO optimizer, fp32 buffers kept),
    so the LM and the heads run in bf16 and the heads cast their predictions to fp32 for their losses."""

    def __init__(
        self,
        model: nn.Module,
        groups: Sequence[Mapping[str, Any]],
        cfg: TPOConfig,
        total_steps: int,
        accumulation: int,
        device: Optional[torch.device] = None,
    ) -> None:
        import deepspeed

        self.dist = dist_info()
        if not torch.distributed.is_initialized():
            deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(self.dist.local_rank)
        self.ds_config = deepspeed_config(cfg, self.dist.world)
        optimizer = make_optimizer(groups, cfg)
        sched: Callable[[Any], Any] = lambda opt: make_scheduler(opt, cfg, total_steps)  # noqa: E731
        self.engine, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model, optimizer=optimizer, lr_scheduler=sched, config=self.ds_config
        )
        self.module = self.engine.module
        self.device = torch.device(self.engine.device)
        if device is not None and torch.device(device) != self.device:
            raise ValueError(f"DeepSpeed placed the model on {self.device}, not on the requested {device}")
        self.accumulation = accumulation

    def forward(self, batch: Any) -> Any:
        return self.engine(batch)

    def micro_step(self, loss: torch.Tensor, last: bool) -> Optional[float]:
        # ZeRO reduces gradients in buckets filled in the order they become ready. That order follows the
        # graph,
        # which differs between ranks when their micro-batches hold different tasks, and mismatched buckets
        # mix
        # up parameters. So the gradients are taken first (no hooks fire), then handed to DeepSpeed through a
        # surrogate whose graph, and hence bucket order, is the same on every rank: d(Σ p·g)/dp = g.
        params = self._params()
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        surrogate = loss.new_zeros(())
        for p, g in zip(params, grads):  # an unused parameter gets a zero gradient: same bucket on every rank
            surrogate = surrogate + (p * (g if g is not None else torch.zeros_like(p))).sum()
        self.engine.backward(surrogate)  # scales by 1/gradient_accumulation_steps itself
        self.engine.step()  # applies the update only at the accumulation boundary
        if not last:
            return None
        norm = self.engine.get_global_grad_norm()
        return float(norm) if norm is not None else float("nan")

    def _params(self) -> list[torch.Tensor]:
        if not hasattr(self, "_plist"):
            self._plist = [p for p in self.module.parameters() if p.requires_grad]
        return self._plist

    def lrs(self) -> dict[str, float]:
        return {g["name"]: g["lr"] for g in self.optimizer.param_groups}

    def state_dict(self) -> dict[str, Any]:  # optimizer/scheduler are saved by save_engine_state (sharded)
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass

    def save_engine_state(self, directory: str) -> None:
        self.engine.save_checkpoint(directory, tag="deepspeed")

    def load_engine_state(self, directory: str) -> None:
        self.engine.load_checkpoint(directory, tag="deepspeed", load_module_strict=False)


def uses_deepspeed(cfg: TPOConfig) -> bool:
    """``train.engine``; ``auto`` = DeepSpeed under a launcher, else plain PyTorch."""
    kind = cfg.train.engine
    return kind == "deepspeed" or (kind == "auto" and launched_distributed())


def make_engine(
    model: nn.Module,
    groups: Sequence[Mapping[str, Any]],
    cfg: TPOConfig,
    total_steps: int,
    accumulation: int,
    device: Optional[torch.device] = None,
) -> TorchEngine | DeepSpeedEngine:
    cls = DeepSpeedEngine if uses_deepspeed(cfg) else TorchEngine
    return cls(model, groups, cfg, total_steps, accumulation, device)

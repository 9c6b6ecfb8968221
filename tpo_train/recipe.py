"""The TPO training recipe: ``setup → train → save_checkpoint → cleanup`` for any stage config.

One loop for all stages; what differs per stage is data (the mixture), which groups train at which peak LR
(``stages.apply_stage``, Table 5) and where the weights start (``init_from``: the previous stage's final
checkpoint, its manifest checked). Runs in one process with plain PyTorch or under ``deepspeed``/``torchrun``
with the DeepSpeed engine; both see the same global batches (``data.mixture.StepPlan``) and the same dropout
masks, because each micro-batch reseeds torch from ``(seed, step, global micro-batch index)``: a rank's
numbers do not depend on how many ranks there are, and a resumed run repeats the uninterrupted one exactly.
Building the model and loading ``init_from``/``train.resume`` state live in ``recipe_state``.

Raises (at setup, before any training): ``ConfigError`` for a bad config, ``DataError`` for too many bad
records, ``CheckpointError`` for a bad ``init_from``/``train.resume``, ``ValueError`` when the batch does not
divide over the ranks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import torch

from tpo_eval.io import sha256_int

from .config import TPOConfig
from .recipe_state import build_model, load_resume, resume_checkpoint, resume_fingerprint, resume_step
from .tasks.base import get_task, log_keys


def _micro_seed(seed: int, step: int, micro: int) -> int:
    # 63 bits: torch.manual_seed takes a signed 64-bit value
    return sha256_int(f"{seed}/{step}/{micro}", 8) >> 1


class Recipe:
    """One training stage. ``Recipe(cfg).run()`` = setup, train, final checkpoint, cleanup."""

    def __init__(self, cfg: TPOConfig) -> None:
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        self.start_step = 0
        self.parent: Optional[dict[str, Any]] = None
        self.history: list[dict[str, Any]] = []

    # ---- setup
    # --------------------------------------------------------------------------------------------------
    def setup(self) -> None:
        from .data.batches import BatchBuilder
        from .data.mixture import make_plan
        from .data.sources import load_sources
        from .engine import dist_info, engine_device, make_engine
        from .logging import RunLogger
        from .stages import apply_stage

        cfg = self.cfg
        self.dist = dist_info()
        torch.manual_seed(cfg.seed)
        resume_ckpt = resume_checkpoint(cfg, self.out)
        self.logger = RunLogger(
            self.out,
            cfg.train.loggers,
            is_main=self.dist.is_main,
            run_name=cfg.name,
            config=cfg.to_dict(),
            resume_step=resume_step(resume_ckpt),
        )
        self.data = load_sources(cfg.data)
        for r in self.data.reports.values():
            self.logger.info(r.summary())
        # a GPU run loads the base straight onto its device (no fp32 copy of a 7B model in host RAM first)
        self.model, self.parent = build_model(cfg, self.logger, engine_device(self.dist))
        groups = apply_stage(self.model, cfg)
        self.plan = make_plan(
            {n: len(ex) for n, ex in self.data.examples.items()},
            {n: s.weight for n, s in cfg.data.sources.items()},
            {n: s.samples for n, s in cfg.data.sources.items()},
            seed=cfg.data.seed,
            batch_size=cfg.train.batch_size,
            micro_batch_size=cfg.train.micro_batch_size,
            epochs=cfg.train.epochs,
            max_steps=cfg.train.max_steps,
        )
        if cfg.train.batch_size % (cfg.train.micro_batch_size * self.dist.world):
            raise ValueError(
                f"train.batch_size={cfg.train.batch_size} does not divide into micro-batches of "
                f"{cfg.train.micro_batch_size} over {self.dist.world} ranks"
            )
        if self.plan.total_steps < 1:
            raise ValueError(
                f"the mixture has {self.plan.examples_per_epoch} examples per epoch: not one batch of "
                f"{cfg.train.batch_size}"
            )
        self.engine = make_engine(
            self.model, groups, cfg, self.plan.total_steps, self.plan.accumulation_steps(self.dist.world)
        )
        self.model = self.engine.module
        self.device = self.engine.device  # where batches go: the engine put the model (and every head) there
        if resume_ckpt is not None:
            self.start_step, self.parent = load_resume(
                resume_ckpt, cfg, self.model, self.engine, self.dist, self.logger
            )
        self.builder = BatchBuilder(
            self.model,
            self.data.examples,
            self.data.features,
            seed=cfg.data.seed,
            frames=cfg.model.frames,
            textualize=cfg.data.textualize,
            max_text_len=cfg.data.max_text_len,
        )
        self._tasks = {t: get_task(t) for t in self.model.heads}
        self.logger.info(
            f"plan: {self.plan.describe()} | engine {type(self.engine).__name__} on "
            f"{self.dist.world} rank(s) | peak LRs {self.engine.lrs()}"
        )

    # ---- train
    # --------------------------------------------------------------------------------------------------
    def train(self) -> list[dict[str, Any]]:
        cfg, plan, dist = self.cfg, self.plan, self.dist
        bar = self.logger.progress(plan.total_steps, self.start_step, cfg.train.progress)
        self.model.train()
        for step in range(self.start_step, plan.total_steps):
            t0 = time.time()
            lrs = self.engine.lrs()  # the LRs this optimiser step uses
            micro = plan.micro_batches(step, dist.rank, dist.world)
            sums: dict[str, list[float]] = {}
            norm = None
            for j, refs in enumerate(micro):
                g = dist.rank + j * dist.world  # index of this micro-batch in the global batch
                torch.manual_seed(_micro_seed(cfg.seed, step, g))
                batch = self.builder.build(refs, step, offset=g * cfg.train.micro_batch_size)
                out = self.engine.forward(batch.to(self.device))
                norm = self.engine.micro_step(out.loss + self._touch_all(), last=j == len(micro) - 1)
                for k, v in self._parts(out, self._tasks).items():
                    acc = sums.setdefault(k, [0.0, 0.0])
                    acc[0] += v
                    acc[1] += 1
            row = self._reduce(sums)
            row.update({f"lr/{k}": v for k, v in lrs.items()})
            row.update(grad_norm=norm, step_time=round(time.time() - t0, 4))
            self.history.append({"step": step + 1, **row})
            if (step + 1) % cfg.train.log_every == 0 or step + 1 == plan.total_steps:
                self.logger.log(step + 1, row, echo=not cfg.train.progress)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.4f}")
            if (
                cfg.train.save_every
                and (step + 1) % cfg.train.save_every == 0
                and step + 1 < plan.total_steps
            ):
                self.save_checkpoint(step + 1, final=False)
        bar.close()
        return self.history

    def _touch_all(self) -> torch.Tensor:
        """0 × one element of every trainable parameter: each one then has a (zero) gradient on every
        micro-batch, even when the batch held no example of its head. DeepSpeed's gradient reduction needs the
        same parameter set on every rank, and adding it in every engine keeps one process and many numerically
        identical."""
        if not hasattr(self, "_trainable"):
            self._trainable = [p for p in self.model.parameters() if p.requires_grad]
        return torch.stack([p.reshape(-1)[0].float() for p in self._trainable]).sum() * 0.0

    @staticmethod
    def _parts(out: Any, tasks: Any) -> dict[str, float]:
        parts = {"loss": float(out.loss.detach())}
        if out.lm_loss is not None:
            parts["lm_loss"] = float(out.lm_loss.detach())
        for task, terms in out.head_losses.items():
            parts[tasks[task].loss_key] = float(terms["total"].detach())
        return parts

    def _reduce(self, sums: dict[str, list[float]]) -> dict[str, float]:
        """Mean over this step's micro-batches on all ranks; a head's loss averages over the micro-batches
        that had that head's examples (``loss`` itself is exactly what the optimiser minimised). The keys
        come from the model's heads (each task names its loss key), the same list on every rank."""
        keys = log_keys(self.model.heads)
        vec = torch.tensor([sums.get(k, [0.0, 0.0])[i] for k in keys for i in (0, 1)], dtype=torch.float64)
        if self.dist.world > 1 and torch.distributed.is_initialized():
            # NCCL reduces device tensors only; gloo takes either
            vec = vec.to(self.device)
            torch.distributed.all_reduce(vec)
            vec = vec.cpu()
        return {k: float(vec[2 * i] / vec[2 * i + 1]) for i, k in enumerate(keys) if vec[2 * i + 1] > 0}

    # ---- checkpoints and cleanup
    # ----------------------------------------------------------------------------------
    def save_checkpoint(self, step: int, final: bool) -> Path:
        from .checkpoint import save_checkpoint

        path = self.out / ("final" if final else f"step-{step:06d}")
        save_checkpoint(
            path,
            self.model,
            self.engine,
            self.cfg,
            step=step,
            total_steps=self.plan.total_steps,
            final=final,
            parent=self.parent,
            data=self.data.manifest(),
            dist=self.dist,
            extra={
                "resume_fingerprint": resume_fingerprint(self.cfg),
                "plan": self.plan.describe(),
                # conversation turns dropped by data.max_text_len in this process since it started
                "truncated_turns": self.builder.truncated_turns,
            },
        )
        if self.builder.truncated_turns:
            self.logger.info(
                f"{self.builder.truncated_turns} conversation turn(s) cut by data.max_text_len so far"
            )
        self.logger.info(f"saved {path}")
        return path

    def cleanup(self) -> None:
        self.logger.close()

    def run(self) -> Path:
        self.setup()
        try:
            self.train()
            return self.save_checkpoint(self.plan.total_steps, final=True)
        finally:
            self.cleanup()


def run(cfg: TPOConfig) -> Path:
    """Train one stage; return its final checkpoint folder."""
    return Recipe(cfg).run()


__all__ = ["Recipe", "run", "resume_fingerprint"]

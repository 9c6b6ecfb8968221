"""Run logging: rank 0 only, one stdout line per logged step plus ``metrics.jsonl`` in the output dir, and
TensorBoard / Weights & Biases when listed in ``train.loggers`` *and* installed (a missing one is reported
once, never fatal). A resumed run truncates ``metrics.jsonl`` to the resume step so the file reads as one run.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from tpo_eval.io import iter_jsonl


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4)) else f"{v:.4f}"
    return str(v)


class RunLogger:
    """Metrics sink for one run. On ranks other than 0 every method is a no-op."""

    def __init__(
        self,
        out_dir: str | Path,
        loggers: Sequence[str] = ("jsonl",),
        *,
        is_main: bool = True,
        run_name: str = "tpo",
        config: Optional[Mapping[str, Any]] = None,
        resume_step: Optional[int] = None,
        stream: Any = None,
    ) -> None:
        self.is_main = is_main
        self.stream = stream or sys.stdout
        self.out_dir = Path(out_dir)
        self._jsonl = None
        self._tb = None
        self._wandb = None
        self.warnings: list[str] = []
        if not is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / "metrics.jsonl"
        if resume_step is not None and path.exists():
            # rows written as json.dumps(row) (below), so rewriting the kept ones reproduces their lines
            keep = [row for _, row in iter_jsonl(path) if row.get("step", -1) <= resume_step]
            path.write_text("".join(json.dumps(row) + "\n" for row in keep))
        elif path.exists():
            path.unlink()
        if "jsonl" in loggers:
            self._jsonl = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held open, closed by close()
        if "tensorboard" in loggers:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.out_dir / "tensorboard"))
            except ImportError:
                self._warn(
                    "tensorboard requested in train.loggers but not installed (pip install tensorboard)"
                )
        if "wandb" in loggers:
            try:
                import wandb

                self._wandb = wandb.init(
                    project="tpo-train",
                    name=run_name,
                    config=dict(config or {}),
                    dir=str(self.out_dir),
                    resume="allow",
                )
            except ImportError:
                self._warn("wandb requested in train.loggers but not installed (pip install wandb)")

    def _warn(self, msg: str) -> None:
        self.warnings.append(msg)
        self.info(f"warning: {msg}")

    def info(self, msg: str) -> None:
        if self.is_main:
            print(msg, file=self.stream, flush=True)

    def log(self, step: int, metrics: Mapping[str, Any], *, echo: bool = True) -> None:
        """Record ``metrics`` for optimiser step ``step`` (1-based: the number of updates done)."""
        if not self.is_main:
            return
        row = {"step": step, "time": round(time.time(), 3), **{k: _clean(v) for k, v in metrics.items()}}
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(row) + "\n")
            self._jsonl.flush()
        scalars = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k not in ("step", "time")}
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)
        if echo:
            self.info(f"step {step}: " + " ".join(f"{k}={_fmt(v)}" for k, v in scalars.items()))

    def progress(self, total: int, initial: int = 0, enabled: bool = True) -> Any:
        """A tqdm bar on rank 0 (stderr), or a no-op object elsewhere or when disabled."""
        if self.is_main and enabled:
            from tqdm.auto import tqdm

            return tqdm(total=total, initial=initial, desc="train", dynamic_ncols=True, file=sys.stderr)
        return _NoBar()

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _clean(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *a: Any, **k: Any) -> None:
        pass

    def close(self) -> None:
        pass


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``metrics.jsonl`` (tests and tools)."""
    return [row for _, row in iter_jsonl(path)]

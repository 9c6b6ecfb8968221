"""torchrun support for ``tpo-eval run``: one barrier after the prediction loop, and workers that stop when
their launcher dies.

Ranks never talk inside the loop (a slow video on one rank must not stall the others); each appends to its own
shard file. After the loop every rank waits at one barrier, then rank 0 reads all shard files and writes
``results.json``. The process group uses gloo: it only carries that barrier, on CPU or GPU machines alike.

torchrun starts its workers in a new session, so a launcher killed with SIGKILL leaves them running (and
appending). A watchdog thread notices the re-parenting and ends the worker.
"""
from __future__ import annotations

import datetime
import os
import sys
import threading
import time

# Ranks finish at different times (videos differ in length); the barrier waits this long for the slowest.
_TIMEOUT_S = float(os.environ.get("TPO_EVAL_DIST_TIMEOUT", 6 * 3600))


class TorchrunGroup:
    """The process group of a torchrun launch (``init`` once per process, before the model is built)."""

    def __init__(self) -> None:
        import torch.distributed as dist

        self.dist = dist
        if not dist.is_initialized():
            dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=_TIMEOUT_S))
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        _watch_launcher()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, rows: dict) -> dict:
        """Every rank's rows on rank 0 (``{}`` elsewhere)."""
        parts: list = [None] * self.world if self.is_main else None  # type: ignore[assignment]
        self.dist.gather_object(rows, parts, dst=0)
        return {k: v for part in parts or [] for k, v in part.items()}

    def barrier(self) -> None:
        self.dist.barrier()

    def close(self) -> None:
        if self.dist.is_initialized():
            self.dist.destroy_process_group()


def _watch_launcher(poll_s: float = 0.5) -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        # The launcher is gone: nobody will gather this rank's rows. Stop now; a row cut mid-write is repaired
        # (dropped) by the next run's resume.
        print(f"[tpo-eval] rank {os.environ.get('RANK')}: launcher (pid {parent}) died; stopping",
              file=sys.stderr, flush=True)
        os._exit(143)

    threading.Thread(target=watch, name="tpo-eval-launcher-watchdog", daemon=True).start()

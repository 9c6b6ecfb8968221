"""Which samples a run covers: task filter, ``--limit`` (first N per task), ``--subset`` (seeded, stable N per
task) and sharding. All are pure functions of sample ids, so every process and every rerun agrees."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from typing import Optional

from .config import BenchmarkConfig
from .io import sha256_bytes
from .types import Sample


def check_tasks(cfg: BenchmarkConfig, tasks: Optional[Sequence[str]]) -> None:
    known = [t.name for t in cfg.tasks]
    bad = [t for t in tasks or () if t not in known]
    if bad:
        hints = []
        for b in bad:
            close = difflib.get_close_matches(b, known, n=1)
            hints.append(f"{b!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"unknown task(s) for {cfg.name}: {', '.join(hints)}. Tasks: {', '.join(known)}")


def select(
    samples: Sequence[Sample], limit: Optional[int] = None, subset: Optional[int] = None, subset_seed: int = 0
) -> list[Sample]:
    """``limit``: the first N of each task in file order. ``subset``: N per task chosen by a seeded hash of
    the sample id — stable when the annotation file grows, identical on every machine."""
    by_task: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_task[s.task].append(s)
    keep: set[str] = set()
    for rows in by_task.values():
        if subset is not None:
            rows = sorted(rows, key=lambda s: sha256_bytes(f"{subset_seed}/{s.id}"))[:subset]
        if limit is not None:
            rows = rows[:limit]
        keep.update(s.id for s in rows)
    return [s for s in samples if s.id in keep]


def shard(samples: Sequence[Sample], index: int, count: int) -> list[Sample]:
    """Round-robin shard ``index`` of ``count`` (balanced across tasks)."""
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} not in 0..{count - 1}")
    return [s for i, s in enumerate(samples) if i % count == index]


def ids_digest(samples: Sequence[Sample]) -> str:
    return sha256_bytes("\n".join(sorted(s.id for s in samples)))

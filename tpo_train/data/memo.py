"""A per-process, size-bounded memo of what a batch builder derives from a media file and nothing else.

Decoding a clip, running a feature extractor over its frames and the processor's resize/normalise depend only
on the file (and the frame count, extractor or processor): in a run that visits each clip many times (the
paper's stage 2 repeats its temporal data 25×; the demo's world has 1,024 clips) they were half of every step.
The memo keeps those results, least recently used first out, within ``TPO_MEDIA_CACHE_MB`` (default 1024 MiB;
``0`` turns it off). Values are made read-only so that no consumer can change what a later step reads.

Keys carry the file's size and mtime, so a file rewritten during a run is read again. Results, losses and
checkpoints are bit-identical with the memo on or off (tests/train/test_memo.py).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cachetools import LRUCache

# processors turn the (read-only) frames into tensors without writing to them; torch warns on every such array
warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)

ENV = "TPO_MEDIA_CACHE_MB"
DEFAULT_MB = 1024


def nbytes(value: Any) -> int:
    """Bytes held by arrays/tensors in ``value`` (containers walked), for size-bounded caches."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, torch.Tensor):
        return int(value.element_size() * value.nelement())
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value) + 64
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values()) + 64
    return 64  # small scalars, None


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for v in value:
            _freeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)
    return value  # tensors: consumers only read them (torch has no read-only flag)


def file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """(resolved path, size, mtime ns): a key that changes when the file is rewritten."""
    p = Path(path)
    st = p.stat()
    return str(p.resolve()), st.st_size, st.st_mtime_ns


def budget_mb() -> float:
    """``TPO_MEDIA_CACHE_MB`` (default 1024): the budget of each media memo of a process."""
    raw = os.environ.get(ENV, str(DEFAULT_MB))
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{ENV}={raw!r}: give a size in MiB (0 turns the media memo off)") from None


class MediaMemo:
    """``memo.get(key, compute)``: ``compute()`` once per key while it stays within the byte budget."""

    def __init__(self, max_mb: float | None = None) -> None:
        self.max_bytes = int((budget_mb() if max_mb is None else max_mb) * 2**20)
        self._lru: LRUCache | None = (
            LRUCache(maxsize=self.max_bytes, getsizeof=nbytes) if self.max_bytes > 0 else None
        )
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if self._lru is None:
            return compute()
        try:
            value = self._lru[key]
            self.hits += 1
            return value
        except KeyError:
            pass
        self.misses += 1
        value = _freeze(compute())
        if nbytes(value) <= self.max_bytes:  # one value over the whole budget is not kept
            self._lru[key] = value
        return value

    def __len__(self) -> int:
        return len(self._lru) if self._lru is not None else 0

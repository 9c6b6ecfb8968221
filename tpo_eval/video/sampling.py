"""Frame-index selection: pure functions, no I/O, unit-tested against hand-computed indices.

Every sampler receives the inclusive range of decodable indices ``[first, last]`` (a video: ``0 .. len-1``; a
frame folder numbered from 1 as in TVQA: ``1 .. count``, so indices are the file numbers), the fps, the number
of frames wanted and an optional bound ``(start, end)`` in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np

# The reference notebook uses ±100000 s as "no bound".
_NO_BOUND = (-100000.0, 100000.0)


def segment_midpoints(
    first: int, last: int, fps: float, num: int, bound: Optional[Sequence[float]] = None
) -> list[int]:
    """MVBench's official ``get_index``: ``num`` segment midpoints inside the bound.

    ``start_idx = max(first, round(start*fps))``, ``end_idx = min(round(end*fps), last)``,
    ``seg = (end_idx-start_idx)/num``, frame i = ``int(start_idx + seg/2 + round(seg*i))``. Neither end is
    included. Rounding is round-half-to-even, as numpy and Python both do in the reference.
    """
    _check(first, last, num)
    start, end = bound if bound is not None else _NO_BOUND
    start_idx = max(first, round(start * fps))
    end_idx = min(round(end * fps), last)
    seg = float(end_idx - start_idx) / num
    # A bound entirely past the end gives seg < 0; clamp so a reader never indexes outside the video
    # (the reference would crash there instead).
    return [min(max(int(start_idx + seg / 2 + np.round(seg * i)), first), last) for i in range(num)]


def linspace_indices(
    first: int, last: int, fps: float, num: int, bound: Optional[Sequence[float]] = None
) -> list[int]:
    """``np.linspace(lo, hi, num)`` truncated to int, both ends included (lmms-eval's generic
    ``load_video``)."""
    _check(first, last, num)
    lo, hi = first, last
    if bound is not None:
        lo = max(lo, round(bound[0] * fps))
        hi = min(hi, round(bound[1] * fps))
    return [int(x) for x in np.linspace(lo, max(lo, hi), num)]


def _check(first: int, last: int, num: int) -> None:
    if last < first:
        raise ValueError(f"no decodable frames (index range {first}..{last})")
    if num <= 0:
        raise ValueError(f"number of frames must be positive, got {num}")

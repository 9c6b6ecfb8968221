"""COCO run-length encoded masks (MeViS ``mask_dict.json``, SA-V ``masklet``) without pycocotools.

A COCO RLE is ``{"size": [h, w], "counts": ...}``: alternating run lengths of 0s and 1s (starting with 0s)
over the mask flattened in column-major order. ``counts`` is either a list of ints or the compact string
form, where each run is a variable-length signed integer written 5 bits per character (offset 48, bit 0x20
= "more chunks follow", bit 0x10 of the last chunk = sign) and runs after the second are stored as
differences to the run two places before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _counts_from_string(s: str) -> list[int]:
    counts: list[int] = []
    i = 0
    while i < len(s):
        value, shift, more = 0, 0, True
        while more:
            c = ord(s[i]) - 48
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            i += 1
            shift += 5
            if not more and (c & 0x10):
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def _counts_to_string(counts: Sequence[int]) -> str:
    out = []
    for i, c in enumerate(counts):
        x = int(c) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not ch & 0x10) or (x == -1 and ch & 0x10))
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def decode(rle: Mapping[str, Any]) -> np.ndarray:
    """RLE → ``(h, w)`` bool mask. Raises ValueError when the runs do not add up to ``h * w``."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    runs = _counts_from_string(counts) if isinstance(counts, str) else [int(c) for c in counts]
    if any(r < 0 for r in runs) or sum(runs) != h * w:
        raise ValueError(
            f"RLE runs sum to {sum(runs)} (negative: {any(r < 0 for r in runs)}), expected {h}x{w}"
        )
    flat = np.zeros(h * w, dtype=bool)
    pos = 0
    for k, r in enumerate(runs):
        if k % 2:
            flat[pos : pos + r] = True
        pos += r
    return flat.reshape((w, h)).T


def encode(mask: np.ndarray, compact: bool = True) -> dict[str, Any]:
    """``(h, w)`` bool mask → RLE (compact string counts by default). Used to write fixtures."""
    m = np.asarray(mask, dtype=bool)
    flat = m.T.reshape(-1)
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {
        "size": [int(m.shape[0]), int(m.shape[1])],
        "counts": _counts_to_string(runs) if compact else runs,
    }


def box_rle(box: Sequence[float], h: int, w: int) -> dict[str, Any]:
    """RLE of the filled rectangle around normalised xyxy ``box`` (outward to whole pixels) in an ``h × w``
    mask, built from its runs (no ``h × w`` array: AS-V2 has hundreds of thousands of boxes)."""
    x0, y0 = min(w - 1, max(0, int(np.floor(box[0] * w)))), min(h - 1, max(0, int(np.floor(box[1] * h))))
    x1, y1 = min(w, max(x0 + 1, int(np.ceil(box[2] * w)))), min(h, max(y0 + 1, int(np.ceil(box[3] * h))))
    runs = [x0 * h + y0]
    for _ in range(x0, x1 - 1):  # column-major: each box column is y0 zeros, the box, h - y1 zeros
        runs += [y1 - y0, h - y1 + y0]
    runs += [y1 - y0, (h - y1) + (w - x1) * h]
    return {"size": [int(h), int(w)], "counts": _counts_to_string(runs)}


def bbox_xyxy(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Normalised xyxy box around the True pixels (pixel edges: a single pixel at (0, 0) → (0, 0, 1/w,
    1/h))."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    h, w = mask.shape
    return (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)

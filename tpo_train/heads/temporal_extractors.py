"""Registered temporal-head feature extractors: deterministic functions of the sampled RGB frames (video side)
or of the query sentence (text side), so training and evaluation compute the same features from the same
inputs. :mod:`tpo_train.heads.temporal_features` names them as feature kinds next to ``model`` and
``precomputed``; nothing here reads annotations or ground truth.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VideoExtractor:
    """``fn(frames)`` maps (T, H, W, 3) uint8 RGB frames to (T, dim) float32 features, one row per frame."""

    name: str
    dim: int
    fn: Callable[[np.ndarray], np.ndarray]
    about: str


@dataclass(frozen=True)
class TextExtractor:
    """``fn(sentence)`` maps a query to (L, dim) float32 features, one row per word (at least one row)."""

    name: str
    dim: int
    fn: Callable[[str], np.ndarray]
    about: str


def _frames(frames: np.ndarray, name: str) -> np.ndarray:
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"{name}: frames must be (T, H, W, 3), got {f.shape}")
    return f


def _rgb_hist(frames: np.ndarray, bins: int = 4, grid: int = 2) -> np.ndarray:
    """Per frame: a ``bins``³ joint RGB histogram (fractions of pixels) and the mean RGB of each cell of a
    ``grid``×``grid`` split — colour content and a coarse layout, cheap and exactly reproducible."""
    f = _frames(frames, "rgb_hist")
    t, h, w, _ = f.shape
    q = (f.astype(np.int64) * bins) // 256
    code = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    hist = np.stack([np.bincount(c.ravel(), minlength=bins**3) for c in code]).astype(np.float32) / (h * w)
    cells = [
        f[:, i * h // grid : (i + 1) * h // grid, j * w // grid : (j + 1) * w // grid]
        .reshape(t, -1, 3)
        .mean(1)
        for i in range(grid)
        for j in range(grid)
    ]
    return np.concatenate([hist, np.concatenate(cells, 1).astype(np.float32) / 255.0], 1)


def _color_moments(frames: np.ndarray, bins: int = 4) -> np.ndarray:
    """Per frame and per cell of a ``bins``³ RGB quantisation: the cell's pixel share (×4) and the mean x and
    y of its pixels in [0, 1] (0 when absent) — what colour is where: objects appearing, moving and changing
    colour move mass and centroids between cells."""
    f = _frames(frames, "color_moments")
    t, h, w, _ = f.shape
    q = (f.astype(np.int64) * bins) // 256
    k = bins**3
    code = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).reshape(t, -1) + np.arange(t)[:, None] * k
    ys, xs = np.divmod(np.arange(h * w), w)
    flat = code.ravel()
    mass = np.bincount(flat, minlength=t * k).reshape(t, k)
    sx = np.bincount(flat, weights=np.tile(xs / max(1, w - 1), t), minlength=t * k).reshape(t, k)
    sy = np.bincount(flat, weights=np.tile(ys / max(1, h - 1), t), minlength=t * k).reshape(t, k)
    m = np.maximum(mass, 1)
    return np.concatenate([mass / (h * w) * 4, sx / m, sy / m], 1).astype(np.float32)


HUE_BINS = 6  # 60° each, centred on red, yellow, green, cyan, blue, magenta


def _hue_blobs(frames: np.ndarray, bins: int = HUE_BINS) -> np.ndarray:
    """Per frame and hue bin, over the vivid pixels only: mass (×40), weighted centroid x, y in [0, 1] and
    spread x, y (std ×4). A pixel's weight rises with its brightness (max channel 150 → 200) and saturation
    (0.35 → 0.6): muted textures weigh nothing, a fading object weighs its opacity — so an object appearing,
    vanishing, moving or changing colour moves the mass and moments of its hue's rows, and only those."""
    f = _frames(frames, "hue_blobs")
    t, h, w, _ = f.shape
    # only the bright pixels (a few % of a frame) are looked at further: one weighted bincount per moment
    fi, yi, xi = np.nonzero(f.max(-1) > 145)
    px = f[fi, yi, xi].astype(np.float64)
    mx, mn = px.max(-1), px.min(-1)
    wv = np.clip((mx - 145.0) / 40.0, 0, 1) * np.clip(((mx - mn) / mx - 0.3) / 0.2, 0, 1)
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    hue = np.degrees(np.arctan2(np.sqrt(3.0) * (g - b), 2 * r - g - b)) % 360.0  # the hexagon hue, smoothly
    k = np.floor((hue + 180.0 / bins) / (360.0 / bins)).astype(np.int64) % bins
    code = fi * bins + k
    x, y = xi / max(1, w - 1), yi / max(1, h - 1)
    sums = [
        np.bincount(code, weights=wv * v, minlength=t * bins).reshape(t, bins)
        for v in (1, x, y, x * x, y * y)
    ]
    mass = sums[0]
    m = np.maximum(mass, 1e-6)
    cx, cy = sums[1] / m, sums[2] / m
    vx, vy = sums[3] / m - cx**2, sums[4] / m - cy**2
    present = mass > 1e-3
    feats = [mass / (h * w) * 40, cx * present, cy * present]
    feats += [np.sqrt(np.maximum(vx, 0)) * 4 * present, np.sqrt(np.maximum(vy, 0)) * 4 * present]
    return np.concatenate(feats, 1).astype(np.float32)


def with_change(
    fn: Callable[[np.ndarray], np.ndarray], scale: float = 4.0
) -> Callable[[np.ndarray], np.ndarray]:
    """``fn``'s features followed by their change since the previous sampled frame (×``scale``; 0 for the
    first): events are changes, and a per-clip head sees them directly."""

    def changed(frames: np.ndarray) -> np.ndarray:
        f = fn(frames)
        d = np.concatenate([np.zeros_like(f[:1]), f[1:] - f[:-1]]) * scale
        return np.concatenate([f, d], 1).astype(np.float32)

    return changed


WORD_DIM = 32


def _words(sentence: str, dim: int = WORD_DIM) -> np.ndarray:
    """One row per lower-cased word (letters/digits; punctuation dropped): a unit vector drawn from a
    generator seeded by the word's BLAKE2b digest — every word its own fixed, near-orthogonal code (the
    hashing trick), independent of any tokenizer or of a language model's random embeddings."""
    words = re.findall(r"[a-z0-9]+", sentence.lower()) or [""]
    rows = []
    for word in words:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(dim)
        rows.append(v / np.linalg.norm(v))
    return np.stack(rows).astype(np.float32)


VIDEO_EXTRACTORS: dict[str, VideoExtractor] = {
    "rgb_hist": VideoExtractor(
        "rgb_hist",
        4**3 + 3 * 2 * 2,
        _rgb_hist,
        "64-bin joint RGB histogram + mean RGB of a 2x2 grid, per frame",
    ),
    "color_moments": VideoExtractor(
        "color_moments",
        3 * 4**3,
        _color_moments,
        "per 64-bin RGB cell: pixel share and the mean x, y of its pixels",
    ),
    "color_moments_delta": VideoExtractor(
        "color_moments_delta",
        2 * 3 * 4**3,
        with_change(_color_moments),
        "color_moments and their change since the previous sampled frame",
    ),
    "hue_blobs": VideoExtractor(
        "hue_blobs",
        5 * HUE_BINS,
        _hue_blobs,
        "per hue bin of the vivid pixels: mass, centroid x, y, spread x, y",
    ),
    "hue_blobs_delta": VideoExtractor(
        "hue_blobs_delta",
        2 * 5 * HUE_BINS,
        with_change(_hue_blobs),
        "hue_blobs and their change since the previous sampled frame",
    ),
}

TEXT_EXTRACTORS: dict[str, TextExtractor] = {
    "words": TextExtractor("words", WORD_DIM, _words, "a fixed hashed unit vector per lower-cased word"),
}

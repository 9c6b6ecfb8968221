"""Pixels and per-object masks of a :class:`~tpo_train.synth.world.Clip`.

Objects are drawn in index order over a textured background (stripes, checks or smooth noise, in muted tones so
the saturated shapes stand out), blended by their opacity. An object's mask is the set of pixels where it is
*visible*: its shape (while its opacity is above 0) minus the pixels of later-drawn objects that are at least
half opaque, so an occluded part is not in the mask and a fully hidden object has an empty mask. Boxes are the
tight boxes of those masks, in pixels.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .world import Clip

OCCLUDES = 0.5  # opacity from which a shape hides what is under it


@dataclass(frozen=True)
class Rendered:
    frames: np.ndarray  # (T, H, W, 3) uint8
    masks: np.ndarray  # (T, N, H, W) bool, visible pixels per object
    shape_area: np.ndarray  # (T, N) pixels of each whole shape (0 while invisible)

    def box(self, f: int, obj: int) -> Optional[tuple[int, int, int, int]]:
        """COCO ``[x, y, w, h]`` pixel box of the visible part, None when nothing is visible."""
        ys, xs = np.nonzero(self.masks[f, obj])
        if ys.size == 0:
            return None
        return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)

    def visible_fraction(self, f: int, obj: int) -> float:
        area = self.shape_area[f, obj]
        return float(self.masks[f, obj].sum() / area) if area else 0.0


def background(clip: Clip) -> np.ndarray:
    """The clip's static texture, (H, W, 3) float in [0, 255]."""
    kind, period, tilt, r, g, b, seed = clip.texture
    s = clip.size
    yy, xx = np.mgrid[0:s, 0:s].astype(float)
    if kind == 0:  # stripes, tilted by 0/1/2/3 × 45 degrees
        u = [xx, xx + yy, yy, xx - yy][tilt]
        pattern = np.sin(2 * np.pi * u / (2 * period))
    elif kind == 1:  # checks
        pattern = ((xx // period + yy // period) % 2) * 2 - 1
    else:  # smooth noise: a coarse random grid, bilinearly upsampled
        grid = np.random.default_rng(seed).standard_normal((s // period + 2, s // period + 2))
        gy, gx = yy / period, xx / period
        y0, x0 = gy.astype(int), gx.astype(int)
        wy, wx = gy - y0, gx - x0
        pattern = ((1 - wy) * (1 - wx) * grid[y0, x0] + (1 - wy) * wx * grid[y0, x0 + 1]
                   + wy * (1 - wx) * grid[y0 + 1, x0] + wy * wx * grid[y0 + 1, x0 + 1])
        pattern = np.clip(pattern / 1.5, -1, 1)
    base = np.array([r, g, b], float)
    return np.clip(base + 22.0 * pattern[..., None], 0, 255)


@functools.lru_cache(maxsize=8)
def _centres(s: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:s, 0:s].astype(float) + 0.5
    return yy, xx


def shape_mask(shape: str, cx: float, cy: float, size: float, s: int) -> np.ndarray:
    """(s, s) bool mask of a shape of side ``size`` centred at (cx, cy), sampled at pixel centres."""
    yy, xx = _centres(s)
    dx, dy, h = xx - cx, yy - cy, size / 2
    if shape == "square":
        return (np.abs(dx) <= h) & (np.abs(dy) <= h)
    if shape == "circle":
        return dx * dx + dy * dy <= h * h
    if shape == "triangle":  # apex up
        return (np.abs(dy) <= h) & (np.abs(dx) <= (dy + h) / 2)
    if shape == "cross":
        arm = size / 6
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= h)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= h))
    raise ValueError(f"unknown shape {shape!r}")


def render(clip: Clip) -> Rendered:
    t, s, n = clip.frames, clip.size, len(clip.tracks)
    bg = background(clip)
    frames = np.empty((t, s, s, 3), np.uint8)
    masks = np.zeros((t, n, s, s), bool)
    area = np.zeros((t, n), np.int64)
    for f in range(t):
        img = bg.copy()
        shapes = []
        for tr in clip.tracks:
            a = float(tr.alpha[f])
            m = shape_mask(tr.shape, tr.x[f], tr.y[f], tr.size[f], s) if a > 0 else np.zeros((s, s), bool)
            img[m] = (1 - a) * img[m] + a * tr.rgb[f]
            shapes.append((m, a))
        frames[f] = np.round(img).astype(np.uint8)
        for i, (m, _) in enumerate(shapes):
            area[f, i] = m.sum()
            over = np.zeros((s, s), bool)
            for m2, a2 in shapes[i + 1:]:
                if a2 >= OCCLUDES:
                    over |= m2
            masks[f, i] = m & ~over
    return Rendered(frames, masks, area)

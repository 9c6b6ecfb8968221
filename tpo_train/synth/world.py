"""The synthetic world's vocabulary and records: colours, shapes, directions, and the :class:`Clip` a
simulation
(:mod:`tpo_train.synth.simulate`) produces — per object, per frame centre, size, opacity and colour, plus the
:class:`Event` s that explain every change. Everything downstream (pixels, masks, grounding windows,
questions) is derived from a clip, so the ground truth is exact by construction.

Conventions: frame ``f`` is shown at ``f / fps`` seconds; an event covers frames ``[start, end]`` = seconds
``[start / fps, end / fps]`` (the state changes between those frames and nowhere else; a jump or a change of
size happens between frames ``start`` and ``start + 1``). Shapes are unique within a clip, so "the <colour>
<shape>" always names one object (colour = its colour when the event starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 45, 45),
    "green": (40, 185, 70),
    "blue": (55, 95, 235),
    "yellow": (235, 205, 35),
}
SHAPES = ("square", "circle", "triangle", "cross")
DIRECTIONS: dict[str, tuple[int, int]] = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
ANOMALIES = ("jump", "blink", "grow", "shrink")
N_OBJECTS = 3


@dataclass(frozen=True)
class Event:
    """A change of one object. kind: appear | disappear | move | recolour | anomaly; ``value``: the direction,
    the new colour or the anomaly kind; ``cause``: index of the object whose push started a move (else
    None)."""

    kind: str
    obj: int
    start: int
    end: int
    value: str = ""
    cause: Optional[int] = None


@dataclass(frozen=True)
class Track:
    """Per-frame state of one object (arrays of length T)."""

    shape: str
    colour0: str
    x: np.ndarray
    y: np.ndarray
    size: np.ndarray
    alpha: np.ndarray
    rgb: np.ndarray  # (T, 3) float
    names: tuple[str, ...]  # colour name per frame (switches when a recolour completes)

    def name(self, f: int) -> str:
        return f"{self.names[min(f, len(self.names) - 1)]} {self.shape}"


@dataclass(frozen=True)
class Clip:
    vid: str
    split: str
    frames: int
    fps: float
    size: int
    tracks: tuple[Track, ...]
    events: tuple[Event, ...]
    texture: tuple[int, ...]  # background parameters (see render.background)

    @property
    def duration(self) -> float:
        return self.frames / self.fps

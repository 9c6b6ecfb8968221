"""Decoding entry point: videos through one of the decoder backends, frame folders and still images with PIL.

Backends (``decord``, ``pyav``, ``torchcodec``; one module each in this package, the only modules that import
those libraries) share one contract, checked by tests on lossless clips: a video's frames are numbered
``0 .. num_frames-1`` in presentation order (``num_frames`` counted from the container's packets, not guessed
from duration × fps), ``fps`` is the header's average frame rate, and ``get(indices)`` returns exactly those
frames as RGB uint8 ``(T, H, W, 3)``, reached by seeking to the preceding keyframe and decoding forward.

``decoder="auto"`` tries the backends fastest-first as measured on this machine (:mod:`tpo_eval.video.auto`);
a backend that cannot open a file hands it to the next one. A named decoder is used alone.
"""
from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Protocol, Sequence

import numpy as np

from .synth import index_frame, read_index, write_index_frames, write_index_video, write_video  # noqa: F401

_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp")
DECODER_CHOICES = ("auto", "decord", "pyav", "torchcodec")


class VideoDecodeError(RuntimeError):
    """A video or frame folder that exists but cannot be read; the message names the file."""


@dataclass(frozen=True)
class Decoded:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    indices: tuple[int, ...]
    timestamps: tuple[float, ...]  # seconds, index / fps
    fps: float
    duration: float  # seconds covered by the decodable frames
    backend: str


class Reader(Protocol):
    """An open video file (what every backend module provides; see the module docstring for the contract)."""

    name: str
    num_frames: int
    fps: float

    def get(self, indices: Sequence[int]) -> np.ndarray: ...

    def close(self) -> None: ...


Sampler = Callable[[int, int, float], list[int]]  # (first, last, fps) -> indices

# The backend order ``decode`` uses when not given one; ``evaluate`` sets it for a run (decode worker threads
# read it, so it is process-wide rather than a context variable).
_active: Optional[tuple[str, ...]] = None
_lock = threading.Lock()


@contextmanager
def using_decoders(order: Sequence[str]) -> Iterator[None]:
    """Make ``order`` the default backend order of :func:`decode` inside the block."""
    global _active
    with _lock:
        prev, _active = _active, tuple(order)
    try:
        yield
    finally:
        with _lock:
            _active = prev


def active_decoders() -> Optional[tuple[str, ...]]:
    """The order set by :func:`using_decoders`, if any (recorded in a run's provenance)."""
    return _active


def decoder_order(decoder: str = "auto") -> tuple[str, ...]:
    """The backends ``decoder`` stands for: a named one alone (ImportError if missing), or the auto order."""
    if decoder not in DECODER_CHOICES:
        raise ValueError(f"unknown decoder {decoder!r}; choose from {', '.join(DECODER_CHOICES)}")
    if decoder != "auto":
        from ..registries import DECODERS

        try:
            DECODERS.get(decoder).check_installed()
        except ImportError as e:
            raise ImportError(f"--decoder {decoder} is not usable here: {e}") from None
        return (decoder,)
    from .auto import ranking

    return tuple(ranking())


def open_reader(name: str, path: str | Path) -> Reader:
    from ..registries import DECODERS

    return DECODERS.get(name)(Path(path))


def decode(path: str | Path, mode: str, sampler: Sampler, fps: Optional[float] = None,
           decoder: Optional[str] = None) -> Decoded:
    """Decode the frames ``sampler`` picks from a video file (``mode='video'``) or a frame folder."""
    p = Path(path)
    if mode == "frames":
        return _decode_folder(p, sampler, fps)
    if mode != "video":
        raise ValueError(f"decode() reads videos and frame folders, not {mode!r}")
    order = decoder_order(decoder) if decoder else (_active or decoder_order("auto"))
    errors = []
    for name in order:
        try:
            reader = open_reader(name, p)
        except ImportError as e:
            errors.append(f"{name} not installed ({e})")
            continue
        except Exception as e:  # noqa: BLE001 - a file one backend cannot open goes to the next one
            errors.append(f"{name}: {type(e).__name__}: {e}")
            continue
        try:
            n, rate = reader.num_frames, reader.fps
            if n <= 0 or not math.isfinite(rate) or rate <= 0:  # another backend may read the file better
                errors.append(f"{name}: {n} frames at {rate} fps")
                continue
            idx = sampler(0, n - 1, rate)  # a bad bound is the sample's fault, not the backend's: raise it
            try:
                frames = reader.get(idx)
            except Exception as e:  # noqa: BLE001 - a file one backend cannot decode goes to the next one
                errors.append(f"{name}: {type(e).__name__}: {e}")
                continue
        finally:
            reader.close()
        return Decoded(frames, tuple(idx), tuple(i / rate for i in idx), rate, n / rate, name)
    raise VideoDecodeError(f"cannot decode {p}: " + "; ".join(errors))


def _decode_folder(p: Path, sampler: Sampler, fps: Optional[float]) -> Decoded:
    from PIL import Image

    if not p.is_dir():
        raise VideoDecodeError(f"{p}: frame folder not found")
    if not fps:
        raise VideoDecodeError(f"{p}: frame folders need an fps in the benchmark config")
    count = sum(1 for f in os.listdir(p) if f.lower().endswith(_IMG_EXT))
    if count == 0:
        raise VideoDecodeError(f"{p}: frame folder has no images")
    # TVQA folders are 00001.jpg … (numbered from 1); the reference reads f"{i:05d}.jpg" for i in 1..count.
    idx = sampler(1, count, fps)
    frames = []
    for i in idx:
        f = p / f"{i:05d}.jpg"
        try:
            with Image.open(f) as im:
                frames.append(np.asarray(im.convert("RGB")))
        except OSError as e:
            raise VideoDecodeError(f"{f}: {e}") from None
    return Decoded(np.stack(frames), tuple(idx), tuple(i / fps for i in idx), fps, count / fps, "frames")


def load_images(paths: Sequence[str | Path]) -> list[np.ndarray]:
    """Still images for multi-image requests, RGB uint8."""
    from PIL import Image

    out = []
    for f in paths:
        try:
            with Image.open(f) as im:
                out.append(np.asarray(im.convert("RGB")))
        except OSError as e:
            raise VideoDecodeError(f"{f}: {e}") from None
    return out

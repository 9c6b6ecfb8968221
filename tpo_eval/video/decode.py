"""Decoding: the only module that imports decord or PyAV.

decord is tried first (what the reference pipelines use, and it seeks); PyAV takes over for files decord cannot
open (some SSv2 ``.webm``) or when decord is not installed. Frame folders (TVQA at 3 fps, numbered from 1) are read
with PIL. Everything returns RGB uint8 arrays of shape (T, H, W, 3) plus timestamps in seconds.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp")


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


Sampler = Callable[[int, int, float], list[int]]  # (first, last, fps) -> indices


def decode(path: str | Path, mode: str, sampler: Sampler, fps: Optional[float] = None) -> Decoded:
    """Decode the frames ``sampler`` picks from a video file (``mode='video'``) or a frame folder."""
    p = Path(path)
    if mode == "frames":
        return _decode_folder(p, sampler, fps)
    if mode != "video":
        raise ValueError(f"decode() reads videos and frame folders, not {mode!r}")
    errors = []
    for backend in (_decode_decord, _decode_av):
        try:
            return backend(p, sampler)
        except ImportError as e:
            errors.append(f"{backend.__name__[8:]} not installed ({e})")
        except Exception as e:  # noqa: BLE001 - any backend failure falls through to the next one
            errors.append(f"{backend.__name__[8:]}: {type(e).__name__}: {e}")
    raise VideoDecodeError(f"cannot decode {p}: " + "; ".join(errors))


def _decode_decord(p: Path, sampler: Sampler) -> Decoded:
    import decord

    # num_threads=1 avoids the decord crashes on SSv2 webm reported upstream, and is faster for 16 frames.
    vr = decord.VideoReader(str(p), num_threads=1)
    n, fps = len(vr), float(vr.get_avg_fps())
    if n == 0:
        raise VideoDecodeError(f"{p}: no frames")
    idx = sampler(0, n - 1, fps)
    frames = vr.get_batch(list(idx)).asnumpy()
    return Decoded(frames, tuple(idx), tuple(i / fps for i in idx), fps, n / fps, "decord")


def _decode_av(p: Path, sampler: Sampler) -> Decoded:
    import av

    with av.open(str(p)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        # Frame counts in headers are unreliable (webm reports 0), so decode once and keep what is asked.
        frames_all = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    if not frames_all:
        raise VideoDecodeError(f"{p}: no decodable frames")
    idx = sampler(0, len(frames_all) - 1, fps)
    frames = np.stack([frames_all[i] for i in idx])
    return Decoded(frames, tuple(idx), tuple(i / fps for i in idx), fps, len(frames_all) / fps, "av")


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


# ---- synthetic videos (tests, demo and benchmarks scripts) ------------------------------------------------------
_GRID = 4  # 4x4 blocks → 16 bits of frame index


def index_frame(i: int, size: int = 64) -> np.ndarray:
    """An RGB frame whose 4×4 block pattern spells the integer ``i`` in binary (robust to lossy codecs)."""
    b = size // _GRID
    img = np.zeros((size, size, 3), np.uint8)
    for bit in range(_GRID * _GRID):
        if (i >> bit) & 1:
            r, c = divmod(bit, _GRID)
            img[r * b:(r + 1) * b, c * b:(c + 1) * b] = 255
    return img


def read_index(frame: np.ndarray) -> int:
    """Inverse of :func:`index_frame`."""
    size = frame.shape[0]
    b = size // _GRID
    val = 0
    for bit in range(_GRID * _GRID):
        r, c = divmod(bit, _GRID)
        if frame[r * b + b // 4:(r + 1) * b - b // 4, c * b + b // 4:(c + 1) * b - b // 4].mean() > 127:
            val |= 1 << bit
    return val


def write_video(path: str | Path, frames: np.ndarray | Sequence[np.ndarray], fps: float = 10.0,
                codec: str = "mpeg4") -> Path:
    """Write RGB uint8 frames (T, H, W, 3) as a video; container from the suffix (.mp4/.webm/.avi), frame rate
    rounded to an integer. mpeg4 at ``qscale`` 1 (near-lossless) by default."""
    import av

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".webm":
        codec = "libvpx"
    first = np.asarray(frames[0])
    with av.open(str(p), "w") as out:
        s = out.add_stream(codec, rate=int(fps) if float(fps).is_integer() else round(fps))
        s.height, s.width = int(first.shape[0]), int(first.shape[1])
        s.pix_fmt = "yuv420p"
        s.options = {"qscale": "1"} if codec == "mpeg4" else {}
        if codec == "libvpx":
            s.bit_rate = 2_000_000
        for img in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return p


def write_index_video(path: str | Path, n_frames: int, fps: float = 10.0, size: int = 64,
                      codec: str = "mpeg4") -> Path:
    """Write a video whose frame i shows :func:`index_frame` (i). Container from the suffix (.mp4/.webm/.avi)."""
    return write_video(path, [index_frame(i, size) for i in range(n_frames)], fps, codec)


def write_index_frames(folder: str | Path, n_frames: int, size: int = 64) -> Path:
    """A TVQA-style frame folder ``00001.jpg …`` whose file number k shows index k."""
    from PIL import Image

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for k in range(1, n_frames + 1):
        Image.fromarray(index_frame(k, size)).save(d / f"{k:05d}.jpg", quality=95)
    return d

"""Synthetic videos whose frames spell their own index: tests, demo and the decode/runner benchmarks.

Frame ``i`` carries :func:`index_frame` (i) (a 4×4 block pattern, robust to lossy codecs), so any decoder's
output can be checked against the index it was asked for without trusting that decoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_GRID = 4  # 4x4 blocks → 16 bits of frame index


def index_frame(i: int, size: int = 64) -> np.ndarray:
    """An RGB frame whose 4×4 block pattern spells the integer ``i`` in binary (robust to lossy codecs)."""
    b = size // _GRID
    img = np.zeros((size, size, 3), np.uint8)
    for bit in range(_GRID * _GRID):
        if (i >> bit) & 1:
            r, c = divmod(bit, _GRID)
            img[r * b : (r + 1) * b, c * b : (c + 1) * b] = 255
    return img


def read_index(frame: np.ndarray, size: int | None = None) -> int:
    """Inverse of :func:`index_frame`; ``size``: the pattern's side when it sits in a top-left corner."""
    size = size or frame.shape[0]
    b = size // _GRID
    val = 0
    for bit in range(_GRID * _GRID):
        r, c = divmod(bit, _GRID)
        if frame[r * b + b // 4 : (r + 1) * b - b // 4, c * b + b // 4 : (c + 1) * b - b // 4].mean() > 127:
            val |= 1 << bit
    return val


def write_video(
    path: str | Path, frames, fps: float = 10.0, codec: str = "mpeg4", options: dict | None = None
) -> Path:
    """Write RGB uint8 frames (T, H, W, 3) (an array or an iterable) as a video; container from the suffix
    (.mp4/.webm/.avi), frame rate rounded to an integer. mpeg4 at ``qscale`` 1 (near-lossless) by default (the
    synthetic world's clips); ``libx264rgb`` (qp 0) and ``ffv1`` keep RGB exactly (cross-decoder tests)."""
    import av

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".webm":
        codec = "libvpx"
    pix_fmt = {"libx264rgb": "rgb24", "ffv1": "bgr0"}.get(codec, "yuv420p")
    defaults = {"mpeg4": {"qscale": "1"}, "libx264rgb": {"qp": "0", "preset": "ultrafast"}}.get(codec, {})
    with av.open(str(p), "w") as out:
        s = out.add_stream(codec, rate=int(fps) if float(fps).is_integer() else round(fps))
        s.pix_fmt = pix_fmt
        s.options = {**defaults, **(options or {})}
        if codec == "libvpx":
            s.bit_rate = 2_000_000
        for k, img in enumerate(frames):
            img = np.ascontiguousarray(img)
            if k == 0:  # the stream's size is the first frame's
                s.height, s.width = int(img.shape[0]), int(img.shape[1])
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return p


def write_index_video(
    path: str | Path,
    n_frames: int,
    fps: float = 10.0,
    size: int = 64,
    codec: str = "mpeg4",
    options: dict | None = None,
    texture: bool = False,
) -> Path:
    """Write a video whose frame i shows :func:`index_frame` (i); the container follows the suffix.

    Variants for exact cross-decoder comparisons: ``codec="libx264rgb"`` (qp 0 by default, RGB in the
    bitstream) and ``codec="ffv1"`` (RGB planes); every decoder's RGB output is a pixel shuffle of one data.
    ``texture=True`` shrinks the pattern to the top-left quarter (read it with ``read_index(f, size // 2)``)
    and fills the rest with colour noise shifting one pixel per frame, so every pixel changes every frame.
    """
    noise = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)

    def frames():
        for i in range(n_frames):
            img = index_frame(i, size)
            if texture:
                img = np.roll(noise, i, axis=1)  # moving, so inter frames (P and B) carry real motion
                img[: size // 2, : size // 2] = index_frame(i, size // 2)
            yield img

    return write_video(path, frames(), fps, codec, options)


def write_bench_video(
    path: str | Path,
    seconds: float,
    fps: int = 25,
    width: int = 640,
    height: int = 360,
    gop: int = 125,
    mark: int = 128,
) -> Path:
    """A camera-like H.264 clip: a smooth texture panning under a frame-index mark in the top-left corner.

    libx264 ``superfast`` keeps B-frames (3) and a fixed keyframe interval of ``gop`` frames (5 s at 25 fps is
    typical of streamed video); the panning texture gives P/B frames real motion to code.
    Frames are built directly in YUV 4:2:0 so generating a 20-minute clip costs encoding time only.
    """
    import av

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    big = _smooth_field(rng, height, width * 3, 40, 216, 8)
    # Colour: two half-resolution chroma fields, panning with the luma.
    chroma = [_smooth_field(rng, height // 2, width * 3 // 2, 96, 160, 8) for _ in range(2)]
    span = big.shape[1] - width
    # A few frames of sensor-like grain, cycled: real footage never repeats pixels exactly, and grain sets the
    # bitrate (≈0.8 Mb/s at crf 23, like streamed 360p) that the decoder has to chew through.
    grain = rng.integers(-6, 7, (7, height, width)).astype(np.int16)
    n = int(round(seconds * fps))
    tmp = p.with_name(p.name + ".part")
    with av.open(str(tmp), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {
            "preset": "superfast",
            "crf": "23",
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",
        }
        yuv = np.full((height * 3 // 2, width), 128, np.uint8)
        for i in range(n):
            x = (i * 3) % (2 * span)
            x = x if x < span else 2 * span - x  # pan back and forth
            yuv[:height] = np.clip(big[:height, x : x + width] + grain[i % len(grain)], 0, 255)
            yuv[:mark, :mark] = np.where(index_frame(i, mark)[:, :, 0] > 0, 235, 16)
            for c, plane in enumerate(chroma):  # U then V, each (height/2, width/2) packed as height/4 rows
                uv = plane[: height // 2, x // 2 : x // 2 + width // 2].copy()
                uv[: mark // 2, : mark // 2] = 128  # the index mark stays grey
                yuv[height + c * height // 4 : height + (c + 1) * height // 4] = uv.reshape(
                    height // 4, width
                )
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    tmp.replace(p)
    return p


def _smooth_field(rng: np.random.Generator, h: int, w: int, lo: int, hi: int, cell: int) -> np.ndarray:
    """Coarse uniform noise, upsampled ×cell and box-blurred: smooth, photographic-scale gradients."""
    coarse = rng.integers(lo, hi, (h // cell + 4, w // cell + 4)).astype(np.float32)
    big = np.kron(coarse, np.ones((cell, cell), np.float32))
    k = np.ones(cell, np.float32) / cell
    big = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, big)
    big = np.apply_along_axis(lambda c: np.convolve(c, k, "same"), 0, big)
    return big[cell:-cell, cell:-cell].astype(np.uint8)  # drop the edges the blur darkened


def write_index_frames(folder: str | Path, n_frames: int, size: int = 64) -> Path:
    """A TVQA-style frame folder ``00001.jpg …`` whose file number k shows index k."""
    from PIL import Image

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for k in range(1, n_frames + 1):
        Image.fromarray(index_frame(k, size)).save(d / f"{k:05d}.jpg", quality=95)
    return d

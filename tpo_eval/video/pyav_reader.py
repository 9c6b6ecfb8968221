"""PyAV backend: index the packets once, then reach each sampled frame by seeking to its keyframe.

Opening demuxes the stream without decoding (packet timestamps and keyframe flags only), so frame ``i`` is the
i-th smallest packet pts and its keyframe is known exactly. Reading sorted targets decodes forward from the
keyframe before each target, and keeps decoding forward instead of seeking when the next target lies in the
GOP already being decoded. Memory holds the sampled frames only; ``frames_decoded`` counts every decoded
frame so tests can check that no read decodes more than one GOP per sampled frame.
"""
from __future__ import annotations

from bisect import bisect_right
from pathlib import Path
from typing import Sequence

import numpy as np


class PyAVReader:
    name = "pyav"

    @staticmethod
    def check_installed() -> None:
        import av  # noqa: F401

    def __init__(self, path: Path) -> None:
        import av

        self._c = av.open(str(path))
        try:
            self._s = self._c.streams.video[0]
            pts, keys = [], []
            for pkt in self._c.demux(self._s):
                t = pkt.pts if pkt.pts is not None else pkt.dts
                if pkt.size == 0 or t is None:  # flush packets carry no frame
                    continue
                pts.append(t)
                if pkt.is_keyframe:
                    keys.append(t)
        except BaseException:
            self._c.close()
            raise
        self._pts = sorted(pts)
        self._keys = sorted(keys) or self._pts[:1]
        self.num_frames = len(self._pts)
        rate = self._s.average_rate or self._s.guessed_rate
        self.fps = float(rate) if rate else self._fps_from_timestamps()
        self.frames_decoded = 0

    def _fps_from_timestamps(self) -> float:
        span = (self._pts[-1] - self._pts[0]) * float(self._s.time_base) if self.num_frames > 1 else 0.0
        return (self.num_frames - 1) / span if span > 0 else 25.0

    def get(self, indices: Sequence[int]) -> np.ndarray:
        targets = sorted({self._pts[i] for i in indices})
        got: dict[int, np.ndarray] = {}
        frames = None  # the decode generator, positioned after the frame at ``pos``
        pos = None
        for t in targets:
            key = self._keys[max(bisect_right(self._keys, t) - 1, 0)]
            if frames is None or pos is None or key > pos:
                frames, pos = self._seek(key, t), None
            for f in frames:
                self.frames_decoded += 1
                pos = f.pts
                if f.pts is None or f.pts > t:
                    raise RuntimeError(f"frame at pts {t} was not produced by the decoder (got pts {f.pts})")
                if f.pts == t:
                    got[t] = f.to_ndarray(format="rgb24")
                    break
            else:
                raise RuntimeError(f"stream ended before the frame at pts {t}")
        return np.stack([got[self._pts[i]] for i in indices])

    def _seek(self, key: int, target: int):
        """A decode generator starting at the keyframe ``key``; if the demuxer lands after ``target``
        (imprecise indexes in some containers), retry from earlier keyframes, finally from the start."""
        k = bisect_right(self._keys, key) - 1
        while True:
            start = self._keys[k]
            self._c.seek(start, stream=self._s, backward=True, any_frame=False)
            frames = self._c.decode(self._s)
            first = next(frames, None)
            if first is None:
                return iter(())
            if first.pts is not None and first.pts <= target:
                return _chain(first, frames)
            self.frames_decoded += 1
            if k == 0:
                raise RuntimeError(f"cannot seek to pts {target}: decoding starts at pts {first.pts}")
            k = max(k - 4, 0)

    def close(self) -> None:
        self._c.close()


def _chain(first, rest):
    yield first
    yield from rest

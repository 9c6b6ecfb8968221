"""decord backend (the decoder of the reference pipelines; it indexes packets on open and seeks per frame)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _import_decord():
    # PyAV first: decord loads its own FFmpeg with RTLD_GLOBAL, and a PyAV imported after it binds to those
    # symbols (encoding webm then fails with 'avcodec_open2 returned 22').
    try:
        import av  # noqa: F401
    except ImportError:
        pass
    import decord

    return decord


class DecordReader:
    name = "decord"

    @staticmethod
    def check_installed() -> None:
        _import_decord()

    def __init__(self, path: Path) -> None:
        decord = _import_decord()
        # num_threads=1 avoids the decord crashes on SSv2 webm reported upstream, and is faster for 16 frames.
        self._vr = decord.VideoReader(str(path), num_threads=1)
        self.num_frames = len(self._vr)
        self.fps = float(self._vr.get_avg_fps())

    def get(self, indices: Sequence[int]) -> np.ndarray:
        return self._vr.get_batch(list(indices)).asnumpy()

    def close(self) -> None:
        del self._vr

"""torchcodec backend (PyTorch's maintained decoder; loads the system FFmpeg 4–8 libraries).

``seek_mode="exact"`` scans the packets on open, like the other backends, so frame counts and indices come
from the content, not from header estimates; ``get_frames_at`` seeks to the keyframe before each frame.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


class TorchCodecReader:
    name = "torchcodec"

    @staticmethod
    def check_installed() -> None:
        try:
            from torchcodec.decoders import VideoDecoder  # noqa: F401
        except (ImportError, OSError, RuntimeError) as e:  # RuntimeError: no usable FFmpeg libraries
            raise ImportError(f"torchcodec unusable: {str(e).splitlines()[0]}") from None

    def __init__(self, path: Path) -> None:
        self.check_installed()
        from torchcodec.decoders import VideoDecoder

        # One FFmpeg thread: sparse sampling decodes a few frames per GOP, where threads add latency, and the
        # runner already decodes on its own worker threads.
        self._d = VideoDecoder(str(path), seek_mode="exact", num_ffmpeg_threads=1, dimension_order="NHWC")
        m = self._d.metadata
        self.num_frames = int(m.num_frames or 0)
        self.fps = float(m.average_fps_from_header or m.average_fps or 0.0)

    def get(self, indices: Sequence[int]) -> np.ndarray:
        return self._d.get_frames_at(indices=[int(i) for i in indices]).data.numpy()

    def close(self) -> None:
        del self._d

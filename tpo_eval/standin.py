"""Stand-in media: synthetic videos (frames that encode their own index) written at the exact paths a
benchmark's annotations name, so the whole pipeline runs on real annotations without the real videos.
Used by the demo, tests and the benchmark scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .types import Sample
from .video.decode import write_index_frames, write_index_video


def write_standins(samples: Sequence[Sample], fps: float = 10.0, min_seconds: float = 8.0, size: int = 64) -> int:
    """Write one synthetic video (or frame folder) per distinct media path; long enough to cover every bound
    and known duration. Returns how many were written (existing files are kept)."""
    need: dict[str, tuple[float, Sample]] = {}
    for s in samples:
        end = max(min_seconds, (s.media.bound[1] + 1.0) if s.media.bound else 0.0, (s.duration or 0.0))
        for p in s.media.paths:
            if p not in need or need[p][0] < end:
                need[p] = (end, s)
    n = 0
    for p, (seconds, s) in need.items():
        path = Path(p)
        if path.exists():
            continue
        if s.media.mode == "frames":
            write_index_frames(path, int(seconds * (s.media.fps or 3)), size)
        elif s.media.mode == "video":
            write_index_video(path, int(seconds * fps), fps=fps, size=size)
        else:
            continue
        n += 1
    return n

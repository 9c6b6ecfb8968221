"""Per-sample content digests (what resume is keyed by) and the checks that turn a bad sample into a counted
failure with a reason, instead of wrong frames, a crash that recurs on every resume, or a read outside the
data.

Two stages: :func:`sample_problem` needs only the annotation (paths inside the data root, finite bounds and
fps);
:func:`guarded_sampler` wraps the frame sampler and checks the bound against the decoded video (a bound that
starts after the video ends, a still image given as a video, a container with no usable fps).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

from .io import sha256_bytes, sha256_json
from .types import Sample


def _rel(p: str, root: Optional[Path]) -> str:
    # Digest paths relative to the data root, so moving the data (another machine, a new mount) keeps resume.
    if root is None:
        return p
    ap, ar = os.path.abspath(p), os.path.abspath(root)
    return os.path.relpath(ap, ar) if ap.startswith(ar + os.sep) else p


def sample_digest(s: Sample, root: Optional[Path]) -> str:
    """sha256 of what a sample's prediction depends on: media, question, options, bounds, gold answer."""
    m = s.media
    return sha256_json(
        {
            "task": s.task,
            "paths": [_rel(p, root) for p in m.paths],
            "mode": m.mode,
            "fps": m.fps,
            "bound": m.bound,
            "question": s.question,
            "choices": list(s.choices),
            "target": s.target,
            "duration": s.duration,
        }
    )[:16]


def set_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """One digest for a selection: its ``(id, sample digest)`` pairs in id order."""
    return sha256_bytes("\n".join(f"{i} {d}" for i, d in sorted(pairs)))[:16]


def sample_problem(s: Sample, root: Path) -> Optional[str]:
    """Why this sample cannot be read as annotated (None when it can)."""
    ar = os.path.abspath(root)
    for p in s.media.paths:
        if not isinstance(p, str) or not os.path.abspath(p).startswith(ar + os.sep):
            return f"media path {p!r} is outside the data root {root} ('../' and absolute paths are refused)"
    fps = s.media.fps
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        return f"fps {fps} is not a positive finite number"
    if s.media.bound is not None:
        a, b = s.media.bound
        if not (math.isfinite(a) and math.isfinite(b)):
            return f"bound ({a}, {b}) is not finite"
        if a > b:
            return f"bound ({a}, {b}) starts after it ends"
        if b <= 0:
            return f"bound ({a}, {b}) ends before the video starts"
    return None


def guarded_sampler(
    fn: Callable[..., Sequence[int]], num: int, s: Sample
) -> Callable[[int, int, float], Any]:
    """``fn(first, last, fps, num, bound)`` refusing inputs that would yield wrong or repeated frames."""
    bound = s.media.bound

    def sampler(first: int, last: int, fps: float) -> Sequence[int]:
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps {fps} is not a positive finite number")
        n = last - first + 1
        if s.media.mode == "video" and n < 2:
            raise ValueError(f"{n} decodable frame(s): a still image or an empty file, not a video")
        if bound is not None:
            duration = n / fps
            if bound[0] >= duration:
                raise ValueError(
                    f"bound ({bound[0]}, {bound[1]}) starts after the video ends ({duration:.2f} s)"
                )
            if not math.isfinite(bound[1] * fps):
                raise ValueError(f"bound end {bound[1]} is out of range")
        return fn(first, last, fps, num, bound)

    return sampler

"""Stand-in media: synthetic videos (frames that encode their own index) written at the exact paths a
benchmark's annotations name, so the whole pipeline runs on real annotations without the real videos.
Used by the demo, tests and the benchmark scripts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .types import Sample
from .video.decode import write_index_frames, write_index_video


def write_standins(
    samples: Sequence[Sample], fps: float = 10.0, min_seconds: float = 8.0, size: int = 64
) -> int:
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


def make_mvbench_format_dataset(root: Path, per_task: int = 3, seed: int = 0, size: int = 64) -> Path:
    """A small dataset in MVBench's released layout (``json/<task>.json`` + ``video/<folder>/…``) with the
    20 official task names, folders and read modes, synthetic questions and index videos. The demo's
    default."""
    import json
    import random

    from .config import load_benchmark

    cfg = load_benchmark("mvbench")
    rng = random.Random(seed)
    (root / "json").mkdir(parents=True, exist_ok=True)
    for t in cfg.tasks:
        items = []
        for i in range(per_task):
            n = rng.choice([3, 4, 5])
            cands = [f"option {k} of question {i} in {t.name}" for k in range(n)]
            it = {
                "video": f"demo_{t.name}_{i}" + ("" if t.read_mode == "frames" else ".mp4"),
                "question": f"Synthetic question {i} for {t.name.replace('_', ' ')}?",
                "candidates": cands,
                "answer": cands[rng.randrange(n)],
            }
            if t.bound:
                it.update(start=round(rng.uniform(0, 2), 1), end=round(rng.uniform(4, 7), 1))
            if t.read_mode == "frames":
                it["fps"] = t.fps
            items.append(it)
        (root / "json" / t.annotation).write_text(json.dumps(items, indent=1))
    from .config import DataPaths
    from .pipeline import load_samples

    _, samples = load_samples(cfg, DataPaths(root))
    write_standins(samples, size=size)  # size: frame side in pixels
    return root

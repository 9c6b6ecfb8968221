"""Helpers to lay out benchmark stand-in data (real annotations + synthetic index videos) in a temp dir."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from tpo_eval.api import load_samples
from tpo_eval.config import DataPaths, load_benchmark
from tpo_eval.standin import write_standins


def standin_root(root: Path, benchmark: str, annotations: Path, limit: Optional[int] = None,
                 tasks: Optional[Sequence[str]] = None) -> Path:
    """Write synthetic videos under ``root`` at the paths the real annotations name; returns ``root``."""
    cfg = load_benchmark(benchmark)
    _, samples = load_samples(cfg, DataPaths(root, annotations), tasks, limit)
    write_standins(samples)
    return root

"""Shared pieces of the training-recipe tests: a per-session cache for the tiny base model and tiny data,
the overrides that shrink a shipped config, and a one-call stage runner."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

# One cache per test process: the tiny base model and the tiny data are built once (seeded, so identical);
# TPO_TRAIN_TEST_CACHE keeps one across runs, otherwise it is removed when the process exits.
_CACHE = Path(os.environ.get("TPO_TRAIN_TEST_CACHE") or tempfile.mkdtemp(prefix="tpo_train_cache_"))
if not os.environ.get("TPO_TRAIN_TEST_CACHE"):
    import atexit
    import shutil

    atexit.register(shutil.rmtree, _CACHE, True)

#: Overrides that run any shipped config on the tiny model and tiny data in a few seconds.
TINY = (
    "model.base=tiny",
    "data.root=tiny",
    "model.frames=4",
    "train.batch_size=4",
    "train.micro_batch_size=2",
    "train.precision=fp32",
    "train.progress=false",
    "train.loggers=[jsonl]",
    "train.save_every=null",
)
TINY_MASK = "model.heads.mask={sam2_config: configs/sam2.1/sam2.1_hiera_t.yaml, image_size: 64}"


@pytest.fixture(scope="module", autouse=True)
def tiny_cache() -> Any:
    """Point the tiny-model/tiny-data cache at this session's folder, and run torch single-threaded: the tiny
    models gain nothing from threads, and on a busy 2-core machine OpenMP spin-waits cost ~10x wall time.
    Module-scoped (and autouse) so it is in place before module-scoped fixtures that train."""
    import torch

    old_env, threads = os.environ.get("TPO_TRAIN_CACHE"), torch.get_num_threads()
    os.environ["TPO_TRAIN_CACHE"] = str(_CACHE)
    torch.set_num_threads(1)
    yield _CACHE
    torch.set_num_threads(threads)
    if old_env is None:
        os.environ.pop("TPO_TRAIN_CACHE", None)
    else:
        os.environ["TPO_TRAIN_CACHE"] = old_env


def load(config: str, *overrides: str, check_paths: bool = True) -> Any:
    from tpo_train.config import load_config

    return load_config(config, list(overrides), check_paths=check_paths)


def run_stage(config: str, out: Path, *overrides: str) -> tuple[Any, Path]:
    """Run ``config`` to completion into ``out``; return (the finished Recipe, its final checkpoint)."""
    from tpo_train.recipe import Recipe

    rec = Recipe(load(config, f"output_dir={out}", *overrides))
    final = rec.run()
    return rec, final


def losses(recipe: Any, key: str = "loss") -> list[float]:
    return [row[key] for row in recipe.history]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path

"""The Python API behind the CLI, a façade with no logic of its own: :func:`evaluate` runs a model on a
benchmark (the loop is :mod:`tpo_eval.runner`'s), :func:`score_file` re-scores saved predictions
(:mod:`tpo_eval.rescore`), :func:`merge` finishes a sharded run. The building blocks (:class:`RunConfig`,
:func:`load_samples`, :func:`score_outputs`, …) live in :mod:`tpo_eval.pipeline` and are re-exported here, so
``from tpo_eval.api import …`` is the one import users need.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from .pipeline import (
    MissingMediaError,
    RunConfig,
    Scored,
    build_run_model,
    check_run_config,
    load_samples,
    missing_media,
    now,
    prompt_hash,
    provenance,
    sample_log,
    score_outputs,
)
from .rescore import CoverageError, score_file

__all__ = [
    "CoverageError",
    "MissingMediaError",
    "RunConfig",
    "Scored",
    "build_run_model",
    "check_run_config",
    "evaluate",
    "load_samples",
    "merge",
    "missing_media",
    "now",
    "prompt_hash",
    "provenance",
    "sample_log",
    "score_file",
    "score_outputs",
]


def evaluate(
    run: RunConfig, on_sample: Optional[Callable[[str], None]] = None, model: Any = None
) -> dict[str, Any]:
    """Run ``run.model`` on ``run.benchmark``; resumable; returns the results document (also written to
    ``out_dir/results.json`` once every selected sample has a prediction). ``model``: an adapter already
    built by :func:`build_run_model` (several benchmarks share one), else the run builds its own."""
    from .runner import Runner
    from .video.decode import decoder_order, using_decoders

    order = decoder_order(run.decoder)
    with using_decoders(order):
        return Runner(run, on_sample=on_sample, model=model).run()


def merge(run_dir: Path) -> dict[str, Any]:
    """Write ``run_dir/results.json`` from every shard's rows (independent ``--shard i/N`` jobs), using the
    selection and settings recorded in its ``run.json``; refuses an incomplete or mixed directory."""
    from .runner import merge_run_dir

    return merge_run_dir(run_dir)

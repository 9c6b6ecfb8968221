"""``tpo-eval score``: re-score predictions made elsewhere (or a run directory's own) without a model, with
the same extraction, scoring and aggregation as a run (:func:`tpo_eval.pipeline.score_outputs`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from .config import BenchmarkConfig, DataPaths, load_benchmark
from .families.base import TaskFamily
from .io import sha256_file
from .pipeline import load_samples, now, provenance, score_outputs
from .records import write_json_atomic
from .registries import FAMILIES
from .selection import check_tasks
from .types import RawOutput, Sample


class CoverageError(ValueError):
    """A predictions file does not cover every selected sample (and --allow-partial was not given)."""


def score_file(
    benchmark: str,
    predictions: Path,
    paths: DataPaths,
    tasks: Optional[Sequence[str]] = None,
    allow_partial: bool = False,
    out_dir: Optional[Path] = None,
) -> dict[str, Any]:
    """Score predictions made elsewhere (or a run directory's own) without a model.

    By default every selected sample must have a prediction; ``allow_partial`` scores the covered ones and
    records how many were missing in ``coverage``."""
    cfg = load_benchmark(benchmark)
    family, samples = _scoring_samples(cfg, predictions, paths, tasks)
    pred_files = sorted(predictions.glob("predictions*.jsonl")) if predictions.is_dir() else [predictions]
    if not pred_files or not all(p.is_file() for p in pred_files):
        raise FileNotFoundError(f"no predictions file at {predictions}")
    if (
        predictions.is_dir()
    ):  # one run's shard files: one settings hash, each id once, rows for today's content
        from .rundir import check_digests, check_rows, read_rows
        from .sample_checks import sample_digest

        by_id = check_rows(read_rows(predictions))
        check_digests(by_id, {s.id: sample_digest(s, paths.data_root) for s in samples}, predictions)
    outputs: dict[str, RawOutput] = {}
    for pf in pred_files:
        outputs.update(family.read_predictions(pf, cfg, samples, allow_partial=allow_partial))
    known = {s.id for s in samples}
    extra = [i for i in outputs if i not in known]
    if extra:
        print(
            f"[tpo-eval] warning: {len(extra)} prediction id(s) are not among the selected samples and are "
            f"ignored (e.g. {extra[:3]})",
            file=sys.stderr,
        )
    covered = [s for s in samples if s.id in outputs]
    n_missing = len(samples) - len(covered)
    if n_missing and not allow_partial:
        first = [s.id for s in samples if s.id not in outputs][:5]
        raise CoverageError(
            f"{n_missing} of {len(samples)} {cfg.name} samples have no prediction in {predictions} "
            f"(first: {', '.join(first)}); pass --allow-partial to score the {len(covered)} "
            "covered ones, or --tasks to select tasks"
        )
    scored = score_outputs(cfg, family, covered if allow_partial else samples, outputs)
    doc = scored.doc
    doc["coverage"] = {
        "n_selected": len(samples),
        "n_predicted": len(covered),
        "n_missing": n_missing,
        "allow_partial": allow_partial,
    }
    doc["provenance"] = provenance(
        cfg,
        family,
        paths,
        tasks,
        {"predictions": [{"path": str(p), "sha256": sha256_file(p)} for p in pred_files], "scored_at": now()},
    )
    if out_dir is not None:
        write_json_atomic(Path(out_dir) / "results.json", doc)
    return doc


def _scoring_samples(
    cfg: BenchmarkConfig, predictions: Path, paths: DataPaths, tasks: Optional[Sequence[str]]
) -> tuple[TaskFamily, list[Sample]]:
    """The samples to score: from the annotations, or, when no annotation source is given, from the
    predictions
    file itself if the family reads gold answers from it (``TaskFamily.samples_from_predictions``)."""
    if paths.data_root is None and paths.annotations is None and predictions.is_file():
        check_tasks(cfg, tasks)
        family: TaskFamily = FAMILIES.get(cfg.family)()
        samples = family.samples_from_predictions(predictions, cfg)
        if samples is not None:
            return family, [s for s in samples if tasks is None or s.task in tasks]
    return load_samples(cfg, paths, tasks)

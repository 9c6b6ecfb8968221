"""The pieces one evaluation is made of, below the public API: the run settings (:class:`RunConfig`), loading
and checking samples, turning raw outputs into a results document (:func:`score_outputs`) and its provenance.

The runner (``tpo_eval.runner``) and the public façade (``tpo_eval.api``) both import this module; it imports
neither, so the evaluation modules depend one way. The scoring path (``Scored``, ``score_outputs``,
``row_scores``, ``scores_from_rows``, ``results_doc``) is ``pipeline_scores.py``, re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from .config import BenchmarkConfig, DataPaths
from .families.base import AnnotationError, TaskFamily
from .io import ConfigError, sha256_file, sha256_json
from .pipeline_scores import Scored, results_doc, row_scores, score_outputs, scores_from_rows
from .records import command_line, git_state, package_versions
from .registries import FAMILIES
from .selection import check_tasks, select
from .types import Sample

__all__ = [
    "MissingMediaError",
    "RunConfig",
    "Scored",
    "build_run_model",
    "check_run_config",
    "load_samples",
    "missing_media",
    "now",
    "prompt_hash",
    "provenance",
    "results_doc",
    "row_scores",
    "sample_log",
    "score_outputs",
    "scores_from_rows",
]


class MissingMediaError(FileNotFoundError):
    """Raised before any inference when media files are missing (lists them all)."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; the CLI builds exactly this object."""

    benchmark: str
    model: str = "mock:oracle"
    ckpt: Optional[str] = None
    data_root: Optional[Path] = None
    annotations: Optional[Path] = None
    out_dir: Optional[Path] = None
    tasks: Optional[tuple[str, ...]] = None
    limit: Optional[int] = None
    subset: Optional[int] = None
    subset_seed: int = 0
    prompt: Optional[str] = None
    num_frames: Optional[int] = None
    skip_missing: bool = False
    device: str = "auto"  # cuda:LOCAL_RANK with a GPU, else cpu (tpo_eval.models.device)
    dtype: str = "auto"  # bfloat16 on a GPU, else float32
    batch_size: int = 1
    seed: int = 0
    shard_index: int = 0
    shard_count: int = 1
    model_args: Mapping[str, str] = field(default_factory=dict)
    progress: bool = True
    gen_kwargs: Mapping[str, Any] = field(default_factory=dict)  # checked by models.base.check_gen_kwargs
    log_samples: bool = False  # each prediction row also carries its prompt and gold answer (``sample``)
    retry_failed: bool = (
        False  # re-run rows recorded with an error (fixed media, an OOM) instead of keeping them
    )
    distributed: bool = False  # launched by torchrun: ranks meet at one barrier, rank 0 writes results.json
    decoder: str = "auto"  # video backend: auto (fastest correct, measured on this machine) or a backend name


def check_run_config(run: RunConfig) -> None:
    """Refuse numbers that cannot select or sample anything (before any file is read)."""
    for name, v, least in (
        ("num_frames", run.num_frames, 1),
        ("limit", run.limit, 0),
        ("subset", run.subset, 1),
        ("batch_size", run.batch_size, 1),
        ("shard_count", run.shard_count, 1),
    ):
        if v is not None and v < least:
            raise ValueError(f"{name} must be at least {least}, got {v}")
    if not 0 <= run.shard_index < run.shard_count:
        raise ValueError(f"shard index {run.shard_index} not in 0..{run.shard_count - 1}")


def build_run_model(rc: RunConfig) -> Any:
    """The model adapter a run asks for (``--model``, ``--ckpt``, device, dtype, ``--model-arg``); the runner
    builds its own with this, a suite one for all its benchmarks."""
    from .models.base import build_model

    return build_model(
        rc.model,
        ckpt=rc.ckpt,
        device=rc.device,
        dtype=rc.dtype,
        batch_size=rc.batch_size,
        seed=rc.seed,
        **dict(rc.model_args),
    )


def load_samples(
    cfg: BenchmarkConfig,
    paths: DataPaths,
    tasks: Optional[Sequence[str]] = None,
    limit: Optional[int] = None,
    subset: Optional[int] = None,
    subset_seed: int = 0,
) -> tuple[TaskFamily, list[Sample]]:
    check_tasks(cfg, tasks)
    family: TaskFamily = FAMILIES.get(cfg.family)()
    # Every missing annotation file at once, before any is parsed.
    missing = [
        f"task {t}: annotation file {p} not found"
        for t, p in family.annotation_files(cfg, paths, tasks).items()
        if not Path(p).exists()
    ]
    if missing:
        raise ConfigError(cfg.path, missing)
    try:
        samples = family.load(cfg, paths, tasks)
    except UnicodeDecodeError as e:
        raise _not_utf8(family.annotation_files(cfg, paths, tasks).values(), e) from None
    seen: dict[str, Sample] = {}
    for (
        s
    ) in samples:  # a repeated id (e.g. a QVHighlights qid listed twice) would be predicted and counted twice
        if s.id in seen:
            where = family.annotation_files(cfg, paths, [s.task]).get(s.task)
            raise AnnotationError(where, s.id, "duplicate sample id: the annotation lists this item twice")
        seen[s.id] = s
    return family, select(samples, limit, subset, subset_seed)


def _not_utf8(files: Any, e: UnicodeDecodeError) -> Exception:
    for p in dict.fromkeys(Path(f) for f in files):
        try:
            if p.is_file():
                p.read_bytes().decode("utf-8")
        except UnicodeDecodeError as bad:
            return AnnotationError(
                p,
                None,
                f"not UTF-8 text (byte {bad.object[bad.start]:#04x} at offset "
                f"{bad.start}); re-save the file as UTF-8",
            )
    return AnnotationError("annotation files", None, f"not UTF-8 text ({e})")


def missing_media(samples: Sequence[Sample]) -> list[str]:
    """Every media path that does not exist, in sample order (checked before the first forward pass)."""
    out, seen = [], set()
    for s in samples:
        for p in s.media.paths:
            if p not in seen and not Path(p).exists():
                out.append(p)
            seen.add(p)
    return out


def provenance(
    cfg: BenchmarkConfig,
    family: TaskFamily,
    paths: DataPaths,
    tasks: Optional[Sequence[str]],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    ann = {}
    # No annotation source: the gold answers came from the predictions file (see score_file).
    has_annotations = paths.data_root is not None or paths.annotations is not None
    digests: dict[str, Optional[str]] = {}  # one file may serve many tasks (MMIU: 52): hash it once
    for t, p in (family.annotation_files(cfg, paths, tasks) if has_annotations else {}).items():
        if str(p) not in digests:
            digests[str(p)] = sha256_file(p) if Path(p).is_file() else None
        ann[t] = {"path": str(p), "sha256": digests[str(p)]}
    from .video.decode import active_decoders

    order = active_decoders()  # set while evaluate() runs: the video backends in the order they were tried
    return {
        "benchmark_config": {"path": cfg.path, "sha256": cfg.sha256, "version": cfg.version},
        "annotations": ann,
        "packages": package_versions(),
        "git": git_state(),
        "command": command_line(),
        **({"decoder_order": list(order)} if order else {}),
        **extra,
    }


def sample_log(s: Sample, prompt: Any) -> dict[str, Any]:
    """What ``--log-samples`` adds to a prediction row: the exact prompt sent (``None`` when the sample never
    got one, e.g. a missing video) and the gold answer with what it means, so a failure reads without a
    rerun."""
    gold: dict[str, Any] = {"target": s.target}
    if s.choices:
        gold["choices"] = list(s.choices)
        if isinstance(s.target, int) and 0 <= s.target < len(s.choices):
            gold["text"] = s.choices[s.target]
    p = (
        None
        if prompt is None
        else {"system": prompt.system, "user": prompt.user, "assistant_prefix": prompt.assistant_prefix}
    )
    return {"question": s.question, "prompt": p, "gold": gold, "media": list(s.media.paths)}


def prompt_hash(cfg: BenchmarkConfig, variant: Optional[str]) -> str:
    return sha256_json(asdict(cfg.prompt(variant)) | {"options": dict(cfg.options)})[:16]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")

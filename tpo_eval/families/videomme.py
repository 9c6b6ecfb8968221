"""Video-MME (Fu et al., 2024): 900 videos × 3 four-option questions, tasks = duration buckets short / medium
/ long (benchmarks/videomme.yaml, and videomme_subtitles.yaml for the "w/ subs" setting).

Annotations: the HF parquet (``video_id, duration, domain, sub_category, url, videoID, question_id, task_type,
question, options ["A. …" ×4], answer``) or a JSON file in the official per-video structure (see
:mod:`.videomme_format`). Sample ids are ``question_id``; the video file is ``<videoID><video_ext>`` (the
YouTube
id; taken from ``url`` or ``video_id`` when the column is absent). Subtitles (``options.subtitles: true``):
``<data-root>/<subtitle_dir>/<videoID>.srt``, the cues shown at the sampled frames' times go into
``{subtitles}``; a video without a file gets ``no_subtitle_text``.

``tpo-eval score videomme --predictions FILE`` also reads the official result structure (``response`` per
question), and with no annotations given takes the gold answers from its ``answer`` fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from ..config import BenchmarkConfig, DataPaths
from ..types import Media, RawOutput, Sample, freeze_meta
from . import videomme_format as fmt
from .base import AnnotationError
from .mcq_variants import MultiTaskMCQFamily, letter_index, norm_key, read_table, require, unletter

N_OPTIONS = 4


class VideoMMEFamily(MultiTaskMCQFamily):
    name = "videomme"
    option_keys = MultiTaskMCQFamily.option_keys | {
        "subtitles",
        "subtitle_dir",
        "no_subtitle_text",
        "video_ext",
    }
    breakdown_keys = ("duration", "domain", "sub_category", "task_type")
    excluded_values = frozenset({""})  # the official scorer's "no answer": out of its denominator
    prompt_field_names = ("subtitles",)
    exports_official = True  # output_test_template.json (tpo-eval export)

    def validate(self, cfg: BenchmarkConfig) -> list[str]:
        errors = super().validate(cfg)
        subs = cfg.options.get("subtitles", False)
        if not isinstance(subs, bool):
            errors.append("options.subtitles must be true or false")
        for name, p in cfg.prompts.items():
            if ("{subtitles}" in p.template) != bool(subs):
                errors.append(
                    f"prompts.{name}.template: {{subtitles}} must appear exactly when options.subtitles "
                    "is true"
                )
        return errors

    # ---- data
    # -----------------------------------------------------------------------------------------------
    def _rows(self, path: Path) -> list[tuple[Any, dict[str, Any]]]:
        if path.suffix == ".json":
            official = fmt.read_official(path)
            if official is not None:
                return official
        data = read_table(path)
        if not isinstance(data, list):
            raise AnnotationError(path, None, f"expected a list of questions, got {type(data).__name__}")
        return list(enumerate(data))

    def read_file(self, cfg: BenchmarkConfig, path: Path, paths: DataPaths) -> list[Sample]:
        route = self.router(cfg, lambda t: ())
        ext = cfg.options.get("video_ext", ".mp4")
        subs_dir = (paths.data_root or Path(".")) / cfg.options.get("subtitle_dir", "subtitle")
        cues: dict[str, Any] = {}
        out = []
        for item, row in self._rows(path):
            require(path, item, row, fmt.VIDEO_KEYS + fmt.QUESTION_KEYS)
            task = route.get(norm_key(row["duration"]))
            if task is None:
                raise AnnotationError(
                    path,
                    item,
                    f"duration {row['duration']!r} is not one of the tasks "
                    f"{', '.join(t.name for t in cfg.tasks)}",
                )
            choices = _options(path, item, row["options"])
            file_id = _file_id(row)
            meta = {k: row[k] for k in fmt.VIDEO_KEYS + ("task_type", "answer")}
            meta.update(options_raw=tuple(row["options"]), file_id=file_id)
            if cfg.options.get("subtitles", False):
                if file_id not in cues:
                    srt = subs_dir / f"{file_id}.srt"
                    cues[file_id] = fmt.read_srt(srt) if srt.is_file() else None
                meta["subtitle_cues"] = cues[file_id]
            out.append(
                Sample(
                    id=str(row["question_id"]),
                    task=task,
                    question=str(row["question"]),
                    choices=choices,
                    media=Media(paths=(str(paths.media_dir(cfg, cfg.task(task)) / f"{file_id}{ext}"),)),
                    target=letter_index(path, item, row["answer"], N_OPTIONS),
                    meta=freeze_meta(meta),
                )
            )
        return out

    def samples_from_predictions(self, path: Path, cfg: BenchmarkConfig) -> Optional[list[Sample]]:
        """The official result structure carries ``answer``: its questions are the samples (no media)."""
        if path.suffix != ".json" or fmt.read_official(path) is None:
            return None
        import dataclasses

        plain = dataclasses.replace(cfg, options={**cfg.options, "subtitles": False})
        return self.load(plain, DataPaths(None, path))

    def read_predictions(
        self,
        path: Path,
        cfg: BenchmarkConfig,
        samples: Sequence[Sample],
        allow_partial: Optional[bool] = None,
    ) -> dict[str, RawOutput]:
        rows = fmt.read_official(path) if path.suffix == ".json" else None
        if rows is None:
            return super().read_predictions(path, cfg, samples, allow_partial=allow_partial)
        return fmt.responses(path, rows)

    def export_official(
        self, samples: Sequence[Sample], outputs: Mapping[str, RawOutput]
    ) -> list[dict[str, Any]]:
        """The official result JSON (``output_test_template`` structure) for ``tpo-eval export``."""
        return fmt.to_official(samples, outputs)

    # ---- prompting
    # ------------------------------------------------------------------------------------------
    def prompt_fields(
        self, sample: Sample, cfg: BenchmarkConfig, timestamps: Sequence[float]
    ) -> dict[str, str]:
        if not cfg.options.get("subtitles", False):
            return {}
        cues = sample.meta.get("subtitle_cues")
        if cues is None:
            return {"subtitles": cfg.options.get("no_subtitle_text", "No subtitles available")}
        return {"subtitles": fmt.subtitles_at(cues, timestamps)}


def _options(path: Path, item: Any, options: Any) -> tuple[str, ...]:
    """Option texts without their ``"A. "`` prefixes; exactly four, lettered in order."""
    if not isinstance(options, (list, tuple)) or not all(isinstance(o, str) for o in options):
        raise AnnotationError(path, item, "'options' must be a list of strings")
    if len(options) != N_OPTIONS:
        raise AnnotationError(path, item, f"expected {N_OPTIONS} options, got {len(options)}")
    return unletter(path, item, options)


def _file_id(row: Mapping[str, Any]) -> str:
    if row.get("videoID"):
        return str(row["videoID"])
    m = re.search(r"[?&]v=([\w-]+)", str(row.get("url") or ""))
    return m.group(1) if m else str(row["video_id"])

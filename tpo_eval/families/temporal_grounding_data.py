"""Temporal grounding's data side: the protocols' metric names, and the samples read from Charades-STA or
QVHighlights annotations and from prediction files made elsewhere.

A base class of :class:`tpo_eval.families.temporal_grounding.TemporalGroundingFamily`, split from extraction,
scoring and aggregation (that module) because reading the two protocols' files is its own concern; the file
formats themselves are :mod:`tpo_eval.tg.charades`, :mod:`tpo_eval.tg.qvh` and :mod:`tpo_eval.tg.predictions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from ..config import BenchmarkConfig, DataPaths, TaskSpec
from ..tg import charades, qvh
from ..tg.predictions import match_predictions, read_prediction_file
from ..types import Media, RawOutput, Sample, freeze_meta
from .base import TaskFamily

PROTOCOLS = ("charades_sta", "qvhighlights")
CHARADES_METRICS = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")
QVH_METRICS = (
    "MR-full-R1@0.3",
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "MR-full-mAP",
    "MR-full-mIoU",
    "HL-min-VeryGood-mAP",
    "HL-min-VeryGood-Hit1",
)


class TemporalGroundingData(TaskFamily):
    """Annotations and prediction files → samples and raw outputs; ``load_task`` sets ``metric_names``."""

    def annotation_files(
        self, cfg: BenchmarkConfig, paths: DataPaths, tasks: Optional[Sequence[str]] = None
    ) -> dict[str, Any]:
        d = paths.annotation_dir(cfg)
        # --annotations may name one file (any Charades-STA packaging, or a QVHighlights split).
        return {
            t.name: d if d.is_file() else d / t.annotation
            for t in cfg.tasks
            if tasks is None or t.name in tasks
        }

    def load_task(self, cfg: BenchmarkConfig, task: TaskSpec, paths: DataPaths) -> list[Sample]:
        path = Path(self.annotation_files(cfg, paths, [task.name])[task.name])
        media, ext = paths.media_dir(cfg, task), cfg.options.get("video_ext", ".mp4")
        protocol = cfg.options["protocol"]
        self.metric_names = CHARADES_METRICS if protocol == "charades_sta" else QVH_METRICS
        if protocol == "qvhighlights":
            clip_length = float(cfg.options.get("clip_length", qvh.CLIP_LENGTH))
            return [
                Sample(
                    id=f"{task.name}/{g['qid']}",
                    task=task.name,
                    media=Media(paths=(str(media / f"{g['vid']}{ext}"),)),
                    question=g["query"],
                    target=tuple(g["relevant_windows"][0]),
                    duration=float(g["duration"]),
                    meta=freeze_meta(
                        {
                            "protocol": protocol,
                            "clip_length": clip_length,
                            **{
                                k: g[k]
                                for k in (
                                    "qid",
                                    "vid",
                                    "duration",
                                    "relevant_windows",
                                    "relevant_clip_ids",
                                    "saliency_scores",
                                )
                            },
                        }
                    ),
                )
                for g in qvh.load_qvhighlights(path)
            ]
        dur = cfg.options.get("durations")
        dur_path = path.parent / dur if dur else None
        if dur_path is not None and not dur_path.is_file():
            dur_path = None  # formats that carry durations (tvr, charades_json) do not need the file
        clip = bool(cfg.options.get("clip_end_to_duration"))
        queries = charades.load_charades_sta(
            path, durations=dur_path, fmt=cfg.options.get("format", "auto"), clip_end_to_duration=clip
        )
        return [
            Sample(
                id=f"{task.name}/{q.index}",
                task=task.name,
                media=Media(paths=(str(media / f"{q.vid}{ext}"),)),
                question=q.query,
                target=(q.start, q.end),
                duration=q.duration,
                meta=freeze_meta(
                    {
                        "protocol": protocol,
                        "qid": q.qid,
                        "vid": q.vid,
                        "clipped": q.clipped,
                        "clip_to_duration": clip,
                    }
                ),
            )
            for q in queries
        ]

    def read_predictions(
        self,
        path: Path,
        cfg: BenchmarkConfig,
        samples: Sequence[Sample],
        allow_partial: Optional[bool] = None,
    ) -> dict[str, RawOutput]:
        """moment_detr JSONL, TimeChat JSON or tpo-eval rows, by sample id (see
        :mod:`tpo_eval.tg.predictions`).

        ``allow_partial`` False: every sample must be covered; True: uncovered samples are left out; None: the
        caller checks coverage.

        Raises:
            MissingPredictionsError: ``N of M queries have no prediction`` (``allow_partial`` False).
            PredictionFileError: unreadable file, malformed row, or ids not in the annotations.
        """
        return match_predictions(read_prediction_file(path), samples, path, allow_partial is not False)

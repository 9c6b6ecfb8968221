"""PerceptionTest multiple-choice video QA (Pătrăucean et al., 2023), valid split: three options per question,
top-1 accuracy, with breakdowns by ``area``, ``reasoning`` and ``tag`` (a question counts in each of its
tags).

Two layouts are read:

* the official ``mc_question_<split>.json``: ``{video_id: {"metadata": {...}, "mc_question": [{"id",
"question",
  "options" [3], "answer_id" 0..2, "area", "reasoning", "tag" [...]}]}}``; sample id ``<video_id>/<id>``;
* the lmms-lab parquet (or a JSON list of the same rows): ``video_name, question, question_id, options,
  answer_id`` (a string), ``area, reasoning, tag``; sample id ``<video_name>/<question_id>``.

Videos are ``<media>/<video_id><video_ext>``. ``options.cut_frame_mapping`` names the official
``cut_frame_mapping_<split>.json`` (``{video_id: frame}``, beside the annotation file): those videos are read
only up to that frame (``bound = (0, frame / frame_rate)``), as the benchmark requires for cup-game and
stability questions whose answers the rest of the video shows. Without the file a warning says so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..config import BenchmarkConfig, DataPaths
from ..types import Media, Sample, freeze_meta
from .base import AnnotationError
from .mcq_variants import MultiTaskMCQFamily, read_table, require

N_OPTIONS = 3
QUESTION_KEYS = ("question", "options", "answer_id", "area", "reasoning", "tag")


class PerceptionTestFamily(MultiTaskMCQFamily):
    name = "perception_test"
    option_keys = MultiTaskMCQFamily.option_keys | {"video_ext", "cut_frame_mapping", "default_frame_rate"}
    breakdown_keys = ("area", "reasoning", "tag")

    def read_file(self, cfg: BenchmarkConfig, path: Path, paths: DataPaths) -> list[Sample]:
        # Every question of a file belongs to the (first) task that names the file.
        task = next(t for t, p in self.annotation_files(cfg, paths).items() if Path(p) == path)
        data = read_table(path)
        cuts = self._cuts(cfg, path)
        rows = _official_rows(path, data) if isinstance(data, dict) else _flat_rows(path, data)
        media_root = paths.media_dir(cfg, cfg.task(task))
        ext = cfg.options.get("video_ext", ".mp4")
        out = []
        for item, video, qid, meta_video, q in rows:
            if isinstance(q, dict) and "answer_id" not in q:
                raise AnnotationError(
                    path,
                    item,
                    "missing field answer_id (the test split's answers are hidden: it is scored on eval.ai)",
                )
            require(path, item, q, QUESTION_KEYS)
            opts = q["options"]
            if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
                raise AnnotationError(path, item, "'options' must be a list of strings")
            if len(opts) != N_OPTIONS:
                raise AnnotationError(path, item, f"expected {N_OPTIONS} options, got {len(opts)}")
            try:
                target = int(q["answer_id"])
            except (TypeError, ValueError):
                target = -1
            if not 0 <= target < N_OPTIONS:
                raise AnnotationError(path, item, f"answer_id {q['answer_id']!r} is not 0, 1 or 2")
            tags = q["tag"] if isinstance(q["tag"], list) else [q["tag"]]
            bound = None
            if video in cuts:
                rate = float(meta_video.get("frame_rate") or cfg.options.get("default_frame_rate", 30.0))
                bound = (0.0, cuts[video] / rate)
            out.append(
                Sample(
                    id=f"{video}/{qid}",
                    task=task,
                    question=str(q["question"]),
                    choices=tuple(opts),
                    target=target,
                    media=Media(paths=(str(media_root / f"{video}{ext}"),), bound=bound),
                    meta=freeze_meta(
                        {
                            "video_id": video,
                            "area": q["area"],
                            "reasoning": q["reasoning"],
                            "tag": tuple(str(t) for t in tags),
                        }
                    ),
                )
            )
        return out

    def _cuts(self, cfg: BenchmarkConfig, annotation: Path) -> dict[str, float]:
        name = cfg.options.get("cut_frame_mapping")
        if not name:
            return {}
        p = annotation.parent / name
        if not p.is_file():
            print(
                f"[tpo-eval] warning: {p} not found: whole videos are read, so cup-game and stability "
                "answers can leak (PerceptionTest requires the cut)",
                file=sys.stderr,
            )
            return {}
        data = read_table(p)
        if not isinstance(data, dict):
            raise AnnotationError(p, None, "expected an object {video_id: frame}")
        try:
            return {str(k): float(v) for k, v in data.items()}
        except (TypeError, ValueError) as e:
            raise AnnotationError(p, None, f"cut frames must be numbers ({e})") from None


def _official_rows(path: Path, data: dict[str, Any]) -> list[tuple[str, str, Any, dict[str, Any], Any]]:
    rows = []
    for video, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("mc_question"), list):
            raise AnnotationError(path, video, "expected an object with an 'mc_question' list")
        meta = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
        for k, q in enumerate(entry["mc_question"]):
            item = f"{video} mc_question {k}"
            require(path, item, q, ("id",))
            rows.append((item, str(video), q["id"], meta, q))
    return rows


def _flat_rows(path: Path, data: Any) -> list[tuple[Any, str, Any, dict[str, Any], Any]]:
    if not isinstance(data, list):
        raise AnnotationError(
            path, None, f"expected {{video_id: ...}} or a list of rows, got {type(data).__name__}"
        )
    rows = []
    for i, r in enumerate(data):
        require(path, i, r, ("video_name", "question_id"))
        rows.append((i, str(r["video_name"]), r["question_id"], {}, r))
    return rows

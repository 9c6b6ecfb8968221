"""Tiny datasets in the official formats of Video-MME, PerceptionTest and MMIU (FORMATS.md §3.4-3.6), with
generated media. No real file of these benchmarks may be kept, so the tests build them from the schemas."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tpo_eval.video.decode import index_frame, write_index_video

DURATIONS = ("short", "medium", "long")
DOMAINS = ("Knowledge", "Film & Television", "Sports Competition")
SUBCATS = ("Humanity & History", "Movie & TV Show", "Football")
TASK_TYPES = ("Counting Problem", "OCR Problems", "Action Reasoning")


def videomme_rows(n_videos: int = 6, per_video: int = 3) -> list[dict[str, Any]]:
    """Parquet rows: video v has duration DURATIONS[v % 3], domain/sub_category DOMAINS/SUBCATS[v // 3 % 3],
    question q task_type TASK_TYPES[q % 3]; gold letter 'ABCD'[(v + q) % 4]."""
    rows = []
    for v in range(n_videos):
        for q in range(per_video):
            rows.append(
                {
                    "video_id": f"{v + 1:03d}",
                    "duration": DURATIONS[v % 3],
                    "domain": DOMAINS[v // 3 % 3],
                    "sub_category": SUBCATS[v // 3 % 3],
                    "url": f"https://www.youtube.com/watch?v=yt{v:03d}",
                    "videoID": f"yt{v:03d}",
                    "question_id": f"{v + 1:03d}-{q + 1}",
                    "task_type": TASK_TYPES[q % 3],
                    "question": f"What happens in video {v} (question {q})?",
                    "options": [f"{L}. option {L.lower()} of {v}-{q}" for L in "ABCD"],
                    "answer": "ABCD"[(v + q) % 4],
                }
            )
    return rows


def write_videomme(
    root: Path, rows: Sequence[dict[str, Any]], subtitles: dict[str, str] | None = None, videos: bool = True
) -> Path:
    """``<root>/videomme/test-00000-of-00001.parquet``, ``<root>/data/<videoID>.mp4`` (3 s at 10 fps) and
    ``<root>/subtitle/<videoID>.srt`` for the ids in ``subtitles``. Returns the parquet path."""
    import pandas as pd

    ann = root / "videomme" / "test-00000-of-00001.parquet"
    ann.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(list(rows)).to_parquet(ann)
    if videos:
        for vid in dict.fromkeys(r["videoID"] for r in rows):
            write_index_video(root / "data" / f"{vid}.mp4", 30, fps=10, size=32)
    for vid, text in (subtitles or {}).items():
        (root / "subtitle").mkdir(parents=True, exist_ok=True)
        (root / "subtitle" / f"{vid}.srt").write_text(text, encoding="utf-8")
    return ann


def perception_official(n_videos: int = 4, per_video: int = 3) -> dict[str, Any]:
    """``mc_question_valid.json``: question q of video v has answer_id (v + q) % 3, area/reasoning cycling,
    tags ["motion"] or ["motion", "counting"] (odd q)."""
    areas, reasons = ("physics", "memory"), ("descriptive", "predictive", "explanatory")
    out = {}
    for v in range(n_videos):
        vid = f"video_{1000 + v}"
        qs = [
            {
                "id": q,
                "question": f"Question {q} about {vid}?",
                "options": [f"o{k} {vid}-{q}" for k in range(3)],
                "answer_id": (v + q) % 3,
                "area": areas[v % 2],
                "reasoning": reasons[q % 3],
                "tag": ["motion"] + (["counting"] if q % 2 else []),
            }
            for q in range(per_video)
        ]
        out[vid] = {
            "metadata": {
                "video_id": vid,
                "split": "valid",
                "num_frames": 30,
                "frame_rate": 10.0,
                "resolution": [32, 32],
                "is_cup_game": v == 0,
            },
            "mc_question": qs,
        }
    return out


def write_perception(root: Path, data: dict[str, Any], videos: bool = True) -> Path:
    ann = root / "mc_question_valid.json"
    root.mkdir(parents=True, exist_ok=True)
    ann.write_text(json.dumps(data), encoding="utf-8")
    if videos:
        for vid in data:
            write_index_video(root / "videos" / f"{vid}.mp4", 30, fps=10, size=32)
    return ann


def mmiu_rows(sizes: dict[str, int], n_options: int = 4, nested: bool = True) -> list[dict[str, Any]]:
    """Rows per released task value (``sizes``: task → count); gold letter cycles through the options; two
    images per question. ``nested`` gives InternVL's jsonl layout, else the flat parquet/metadata layout."""
    rows = []
    for task, n in sizes.items():
        for i in range(n):
            opts = [f"choice {k} for {task} {i}" for k in range(n_options)]
            lettered = "\n".join(f"{chr(65 + k)}: {o}" for k, o in enumerate(opts))
            imgs = [f"./Rel/{task}/{task}_{i}_{j}.png" for j in range(2)]
            question, context = f"Which fits {task} {i}?", "Select from the following choices.\n" + lettered
            gold = chr(65 + (i % n_options))
            if nested:
                rows.append(
                    {
                        "task": task,
                        "input": {"input_image_path": imgs, "question": question, "context": context},
                        "options": lettered,
                        "output": {"output_text": gold},
                    }
                )
            else:
                rows.append(
                    {
                        "task": task,
                        "question": question,
                        "context": context,
                        "options": lettered,
                        "input_image_path": imgs,
                        "output": gold,
                        "source": task,
                    }
                )
    return rows


def write_mmiu(root: Path, rows: Sequence[dict[str, Any]], images: bool = True) -> Path:
    from PIL import Image

    ann = root / "mmiu.jsonl"
    root.mkdir(parents=True, exist_ok=True)
    ann.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if images:
        for n, r in enumerate(rows):
            paths = r["input"]["input_image_path"] if "input" in r else r["input_image_path"]
            for p in paths:
                f = root / p
                f.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(index_frame(n, 32)).save(f)
    return ann

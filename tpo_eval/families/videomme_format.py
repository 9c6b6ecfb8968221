"""Video-MME file formats: the official per-video JSON (``output_test_template.json`` and the result files
built from it), ``.srt`` subtitles and the subtitle lines for sampled frames.

Official result structure: ``[{video_id, duration, domain, sub_category, questions: [{question_id, task_type,
question, options, answer, response}]}]``. The template as distributed has trailing commas (not valid JSON):
:func:`loads_tolerant` removes them, outside strings only, and says how many it removed. Older official JSON
names the video fields ``duration_category`` / ``video_category`` / ``video_sub_category`` and the options
``choices``; both spellings are read.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from ..types import RawOutput, Sample
from .base import AnnotationError

VIDEO_KEYS = ("video_id", "duration", "domain", "sub_category")
QUESTION_KEYS = ("question_id", "task_type", "question", "options", "answer")
_ALIASES = {
    "duration_category": "duration",
    "video_category": "domain",
    "video_sub_category": "sub_category",
    "choices": "options",
}


def loads_tolerant(text: str) -> tuple[Any, int]:
    """``json.loads``, retried without trailing commas (``[1, 2,]``, ``{"a": 1,}``) if it fails; returns the
    value and how many commas were removed. Commas inside strings are left alone."""
    try:
        return json.loads(text), 0
    except json.JSONDecodeError:
        pass
    out, removed, in_str, esc = [], 0, False, False
    for i, ch in enumerate(text):
        if in_str:
            in_str = not (ch == '"' and not esc)
            esc = ch == "\\" and not esc
        elif ch == '"':
            in_str = True
        elif ch == ",":
            j = i + 1
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            if j < len(text) and text[j] in "]}":
                removed += 1
                continue
        out.append(ch)
    return json.loads("".join(out)), removed


def read_official(path: Path) -> Optional[list[tuple[str, dict[str, Any]]]]:
    """Question rows ``(item label, row)`` of an official-structure file, video fields merged into each
    question; None when ``path`` is not in that structure. Trailing commas are tolerated with a warning."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        return None
    try:
        obj, removed = loads_tolerant(text)
    except json.JSONDecodeError as e:
        raise AnnotationError(
            path, None, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    if not (isinstance(obj, list) and obj and isinstance(obj[0], dict) and "questions" in obj[0]):
        return None
    if removed:
        print(
            f"[tpo-eval] warning: {path} has {removed} trailing comma(s), as the official "
            "output_test_template.json does; read as if they were absent",
            file=sys.stderr,
        )
    rows = []
    for vi, video in enumerate(obj):
        v = {_ALIASES.get(k, k): x for k, x in video.items()} if isinstance(video, dict) else None
        if v is None or not isinstance(v.get("questions"), list):
            raise AnnotationError(path, f"video {vi}", "expected an object with a 'questions' list")
        missing = [k for k in VIDEO_KEYS if k not in v]
        if missing:
            raise AnnotationError(
                path, f"video {vi} (video_id {v.get('video_id')!r})", f"missing field(s) {', '.join(missing)}"
            )
        for qi, q in enumerate(v["questions"]):
            label = f"video {vi} (video_id {v['video_id']!r}) question {qi}"
            if not isinstance(q, dict):
                raise AnnotationError(path, label, f"expected an object, got {type(q).__name__}")
            rows.append(
                (
                    label,
                    {
                        **{k: x for k, x in v.items() if k != "questions"},
                        **{_ALIASES.get(k, k): x for k, x in q.items()},
                    },
                )
            )
    return rows


def responses(path: Path, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, RawOutput]:
    """``question_id`` → the ``response`` of an official result file."""
    out: dict[str, RawOutput] = {}
    for label, r in rows:
        if "question_id" not in r or "response" not in r:
            raise AnnotationError(
                path,
                label,
                "missing field(s) " + ", ".join(k for k in ("question_id", "response") if k not in r),
            )
        qid = str(r["question_id"])
        if qid in out:
            raise AnnotationError(path, label, f"duplicate question_id {qid!r}")
        out[qid] = RawOutput(qid, text="" if r["response"] is None else str(r["response"]))
    return out


def to_official(samples: Sequence[Sample], outputs: Mapping[str, RawOutput]) -> list[dict[str, Any]]:
    """The official result structure for the predicted samples, videos in ``video_id`` order as in the
    template."""
    videos: dict[str, dict[str, Any]] = {}
    for s in samples:
        if s.id not in outputs:
            continue
        m = s.meta
        v = videos.setdefault(
            str(m["video_id"]),
            {
                "video_id": m["video_id"],
                "duration": m["duration"],
                "domain": m["domain"],
                "sub_category": m["sub_category"],
                "questions": [],
            },
        )
        v["questions"].append(
            {
                "question_id": s.id,
                "task_type": m["task_type"],
                "question": s.question,
                "options": list(m["options_raw"]),
                "answer": m["answer"],
                "response": outputs[s.id].text,
            }
        )
    return [videos[k] for k in sorted(videos)]


# ---- subtitles
# --------------------------------------------------------------------------------------------------
_TIME = re.compile(r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})")
_TAG = re.compile(r"<[^>]+>")


def read_srt(path: Path) -> tuple[tuple[float, float, str], ...]:
    """Cues ``(start_s, end_s, text)`` of an ``.srt`` file; tags such as ``<font …>`` are removed and a cue's
    lines joined by spaces. A block without a time line is an error naming the file and the cue."""
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").strip()
    cues = []
    for n, block in enumerate(re.split(r"\n[ \t]*\n", text) if text else [], 1):
        lines = block.split("\n")
        at = next((i for i, ln in enumerate(lines) if _TIME.search(ln)), None)
        if at is None:
            raise AnnotationError(path, f"cue {n}", "no 'HH:MM:SS,mmm --> HH:MM:SS,mmm' time line")
        g = [int(x) for x in _TIME.search(lines[at]).groups()]  # type: ignore[union-attr]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        body = " ".join(_TAG.sub("", ln).strip() for ln in lines[at + 1 :])
        cues.append((start, end, " ".join(body.split())))
    return tuple(cues)


def subtitles_at(cues: Sequence[tuple[float, float, str]], timestamps: Sequence[float]) -> str:
    """The cues shown at any sampled time (``start <= t < end``), each once, in subtitle order, one per line —
    lmms-eval's ``videomme_w_subtitle`` selection, in seconds rather than frame numbers."""
    keep = sorted({i for t in timestamps for i, (a, b, _) in enumerate(cues) if a <= t < b})
    return "\n".join(cues[i][2] for i in keep if cues[i][2])

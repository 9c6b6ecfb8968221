"""Charades-STA test annotations in any of their public packagings, loaded to the same query list.

Formats (detected from the file's content, or named explicitly):

* ``sta_txt``: the original ``charades_sta_test.txt``, one ``"VID START END##sentence"`` per line;
* ``caption_json``: VideoChat-Flash ``temporal_grounding_charades.json``, ``[{"video", "caption",
"timestamp"}]``;
* ``timechat_json``: TimeChat ``{"annotations": [{"image_id", "caption", "timestamp", "id"}]}``;
* ``charades_json``: VideoChat-R1 ``charades_test.json``, ``{vid: {"duration", "timestamps", "sentences"}}``;
* ``tvr_jsonl``: CG-DETR ``charades_sta_test_tvr_format.jsonl``, ``{"qid", "query", "duration", "vid",
  "relevant_windows"}``. This one has 562 ends **clipped** to the video duration; the others keep the raw
  ends.

All keep the order of the txt file, so a query's index (its 0-based line number) is its id everywhere, and
TimeChat's ``id`` equals it. ``qid`` is the file's own id (tvr: 12404 + index), used to match prediction files
keyed by it. Durations come from the file (tvr, charades_json) or from a durations file:
``Charades_v1_test.csv``
(column ``length``) or ``charades_test.json``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from ..families.base import AnnotationError
from ..io import iter_jsonl

FORMATS = ("sta_txt", "caption_json", "timechat_json", "charades_json", "tvr_jsonl")


@dataclass(frozen=True)
class STAQuery:
    """One Charades-STA query; times in seconds."""

    index: int
    qid: int
    vid: str
    start: float
    end: float
    query: str
    duration: Optional[float] = None
    clipped: bool = False


def detect_format(path: Path, text: str) -> str:
    """Name the packaging of an annotation file from its content."""
    head = text.lstrip()[:1]
    if path.suffix == ".txt" or (head and head not in "[{"):
        return "sta_txt"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return "tvr_jsonl"  # several JSON objects, one a line
    if isinstance(obj, list):
        return "caption_json"
    if isinstance(obj, dict) and "relevant_windows" in obj:
        return "tvr_jsonl"  # a one-line JSONL file
    if isinstance(obj, dict) and "annotations" in obj:
        return "timechat_json"
    return "charades_json"


def read_durations(path: Path) -> dict[str, float]:
    """Video id → duration (s) from ``Charades_v1_test.csv`` (``id``, ``length``) or
    ``charades_test.json``."""
    if not path.is_file():
        raise AnnotationError(path, None, "durations file not found")
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if rows and not {"id", "length"} <= set(rows[0]):
            raise AnnotationError(path, None, "CSV needs columns 'id' and 'length'")
        return {r["id"]: float(r["length"]) for r in rows}
    obj = json.loads(path.read_text(encoding="utf-8"))
    return {vid: float(v["duration"]) for vid, v in obj.items()}


def _rows(path: Path, fmt: str, text: str) -> list[tuple[Any, str, float, float, str, Optional[float]]]:
    """(qid, vid, start, end, query, duration or None) per query, in file order."""
    out: list[tuple[Any, str, float, float, str, Optional[float]]] = []
    if fmt == "sta_txt":
        for n, line in enumerate(ln for ln in text.split("\n") if ln.strip()):
            head, sep, sentence = line.partition("##")
            parts = head.split()
            if not sep or len(parts) != 3:
                raise AnnotationError(
                    path, f"line {n + 1}", f"expected 'VID START END##sentence', got {line!r}"
                )
            out.append((n, parts[0], float(parts[1]), float(parts[2]), sentence, None))
    elif fmt == "tvr_jsonl":
        for _, d in iter_jsonl(path, text):
            ((s, e),) = d["relevant_windows"][:1]
            out.append((d["qid"], d["vid"], s, e, d["query"], d["duration"]))
    elif fmt == "caption_json":
        for n, d in enumerate(json.loads(text)):
            out.append((n, Path(d["video"]).stem, *d["timestamp"], d["caption"], None))
    elif fmt == "timechat_json":
        for d in json.loads(text)["annotations"]:
            out.append((d["id"], Path(d["image_id"]).stem, *d["timestamp"], d["caption"], None))
    elif fmt == "charades_json":
        for vid, v in json.loads(text).items():
            for (s, e), sentence in zip(v["timestamps"], v["sentences"], strict=True):
                out.append((len(out), vid, s, e, sentence, v["duration"]))
    else:
        raise AnnotationError(path, None, f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return out


def load_charades_sta(
    path: str | Path,
    *,
    durations: Optional[str | Path] = None,
    fmt: str = "auto",
    clip_end_to_duration: bool = False,
) -> list[STAQuery]:
    """Load every query of a Charades-STA annotation file.

    Args:
        path: the annotation file, in any format of :data:`FORMATS`.
        durations: a durations file, needed for formats without durations (else ``duration`` stays None).
        fmt: one of :data:`FORMATS`, or ``auto`` to detect it.
        clip_end_to_duration: clip ends past the video's end to its duration (what the tvr file did to 562
            test queries). Off by default: the original annotations. The temporal-grounding family then clips
            predictions the same way (:func:`clip_to_duration`).

    Raises:
        AnnotationError: missing file, malformed row (named by line/item), a video without a duration, or
            a clip requested without durations.
    """
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(p, None, "annotation file not found")
    text = p.read_text(encoding="utf-8")
    try:
        kind = detect_format(p, text) if fmt == "auto" else fmt
        rows = _rows(p, kind, text)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        if isinstance(e, AnnotationError):
            raise
        raise AnnotationError(p, None, f"malformed Charades-STA file: {type(e).__name__}: {e}") from None
    dur_map = read_durations(Path(durations)) if durations is not None else {}
    out = []
    for i, (qid, vid, s, e, q, dur) in enumerate(rows):
        if dur is None and dur_map:
            if vid not in dur_map:
                raise AnnotationError(p, i, f"video {vid!r} has no duration in {durations}")
            dur = dur_map[vid]
        out.append(
            STAQuery(
                index=i,
                qid=int(qid),
                vid=vid,
                start=float(s),
                end=float(e),
                query=q,
                duration=None if dur is None else float(dur),
            )
        )
    if clip_end_to_duration:
        if any(x.duration is None for x in out):
            raise AnnotationError(p, None, "clip_end_to_duration needs durations (give a durations file)")
        out = [
            replace(
                x,
                start=min(x.start, x.duration),
                end=x.duration,  # type: ignore[arg-type]
                clipped=True,
            )
            if x.end > x.duration
            else x
            for x in out
        ]  # type: ignore[operator]
    return out


def clip_to_duration(span: Sequence[float], duration: Optional[float]) -> tuple[float, float]:
    """``span`` with every time past the video's end moved to the end: what ``clip_end_to_duration`` does to
    the ground truth, applied to a prediction so that both sides of the IoU are treated alike."""
    if duration is None:
        return float(span[0]), float(span[1])
    return min(float(span[0]), duration), min(float(span[1]), duration)

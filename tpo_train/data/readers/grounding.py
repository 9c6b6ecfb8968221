"""Readers of the grounding layouts: temporal windows (``cgdetr_jsonl``) and referring boxes
(``refcoco_jsonl``). ``_refcoco_records`` (the checked lines of a ``refcoco_jsonl`` file) is shared with the
``asv2_video`` mask reader (``masks.py``), which reads the same layout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..examples import BadRecord, Origin, ReadResult, RegionExample, TemporalExample
from .base import READERS, Item, _Bad, _jsonl, _num, _str


@READERS.register("cgdetr_jsonl", "temporal grounding JSONL in the CG-DETR / moment_detr layout")
def read_cgdetr_jsonl(path: Path, source: str, media: str = "") -> Iterator[Item]:
    bad: list[BadRecord] = []  # few, and the report holds them all anyway: yielded at the end
    clipped = 0
    for origin, d in _jsonl(path, bad):
        try:
            qid, vid, query, duration = d.get("qid"), _str(d, "vid"), _str(d, "query"), _num(d, "duration")
            if qid is None:
                raise _Bad("missing 'qid'")
            if duration <= 0:
                raise _Bad(f"duration must be > 0, got {duration}")
            raw_w = d.get("relevant_windows")
            if not isinstance(raw_w, list) or not raw_w:
                raise _Bad(f"'relevant_windows' must be a non-empty list of [start, end], got {raw_w!r}")
            windows = []
            for w in raw_w:
                if not (isinstance(w, list) and len(w) == 2 and all(isinstance(x, (int, float)) for x in w)):
                    raise _Bad(f"window {w!r} is not [start, end] in seconds")
                st, ed = float(w[0]), float(w[1])
                if st < 0 or ed <= st or st >= duration:
                    raise _Bad(f"window {w!r} is empty, negative or starts after the duration {duration}")
                if ed > duration:
                    clipped += 1
                    ed = duration
                windows.append((st, ed))
            saliency = _saliency(d)
        except _Bad as e:
            bad.append(BadRecord(origin, str(e)))
            continue
        yield TemporalExample(
            uid=f"{source}/{qid}",
            source=source,
            origin=origin,
            qid=str(qid),
            vid=vid,
            query=query.strip(),
            duration=duration,
            windows=tuple(windows),
            saliency=saliency,
            media=f"{media}/{vid}" if media else None,
        )
    yield from bad
    if clipped:
        yield f"{clipped} window end(s) past the video duration clipped to it"


def _saliency(d: dict) -> dict[int, float]:
    ids, scores = d.get("relevant_clip_ids"), d.get("saliency_scores")
    if ids is None and scores is None:
        return {}
    if not isinstance(ids, list) or not isinstance(scores, list) or len(ids) != len(scores):
        raise _Bad("'relevant_clip_ids' and 'saliency_scores' must be lists of equal length")
    out = {}
    for c, s in zip(ids, scores):
        vals = s if isinstance(s, list) else [s]
        if not isinstance(c, int) or not all(isinstance(v, (int, float)) for v in vals):
            raise _Bad(f"bad saliency entry clip {c!r}: {s!r}")
        out[c] = float(sum(vals))
    return out


def _refcoco_records(path: Path, bad: list[BadRecord]) -> Iterator[tuple[Origin, dict, Any, list[str]]]:
    """(origin, record, normalised xyxy box, sentences) of each usable line of a ``refcoco_jsonl`` file."""
    for origin, d in _jsonl(path, bad):
        try:
            _str(d, "image")
            w, h = _num(d, "width"), _num(d, "height")
            box = d.get("bbox")
            if not (
                isinstance(box, list) and len(box) == 4 and all(isinstance(x, (int, float)) for x in box)
            ):
                raise _Bad(f"'bbox' must be [x, y, w, h] in pixels, got {box!r}")
            x, y, bw, bh = map(float, box)
            if w <= 0 or h <= 0 or bw <= 0 or bh <= 0 or x < 0 or y < 0 or x + bw > w + 1 or y + bh > h + 1:
                raise _Bad(f"bbox {box!r} is empty or outside the {int(w)}x{int(h)} image")
            sents = [d["expression"]] if "expression" in d else d.get("sentences")
            if (
                not isinstance(sents, list)
                or not sents
                or not all(isinstance(s, str) and s.strip() for s in sents)
            ):
                raise _Bad("needs 'expression' (string) or 'sentences' (non-empty list of strings)")
        except _Bad as e:
            bad.append(BadRecord(origin, str(e)))
            continue
        norm = (x / w, y / h, min(1.0, (x + bw) / w), min(1.0, (y + bh) / h))
        yield origin, d, norm, [s.strip() for s in sents]


@READERS.register("refcoco_jsonl", "referring boxes: image, width, height, COCO xywh bbox, expression(s)")
def read_refcoco_jsonl(path: Path, source: str, media: str = "") -> ReadResult:
    bad: list[BadRecord] = []
    out: list[RegionExample] = []
    for origin, d, norm, sents in _refcoco_records(path, bad):
        rid = d.get("id", origin.line)
        for k, s in enumerate(sents):
            out.append(
                RegionExample(
                    uid=f"{source}/{rid}/{k}",
                    source=source,
                    origin=origin,
                    image=f"{media}/{d['image']}" if media else d["image"],
                    expression=s,
                    box=norm,
                    width=int(d["width"]),
                    height=int(d["height"]),
                )
            )
    return ReadResult(str(path), tuple(out), tuple(bad))

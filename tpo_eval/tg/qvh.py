"""QVHighlights: GT loading, per-query metric values, and the official metrics document.

Per query we compute (see :mod:`.moment`, :mod:`.highlight`):

* ``MR-{range}-AP@{t}``, ``MR-{range}-R1@{t}``, ``MR-{range}-IoU`` for each range the query belongs to;
* ``HL-min-{level}-AP``, ``HL-min-{level}-Hit1``;
* ``MR-answered`` / ``HL-answered``: 1 if the answer had windows / saliency scores.

Every official metric is 100 × the mean of one of these over the queries that have it (``MR-{range}-mAP`` is
the mean over the 10 thresholds), rounded to 2 decimals as the official evaluator rounds. MR metrics are
reported
when some answer has windows, HL metrics when some answer has saliency scores (as the official evaluator
reports only what the submission contains).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..families.base import AnnotationError
from ..io import JSONLError, iter_jsonl
from .highlight import CLIP_LENGTH, LEVELS, gt_clip_scores, highlight_per_query
from .moment import MAP_THRESHOLDS, R1_THRESHOLDS, RANGES, moment_retrieval_per_query

_GT_KEYS = ("qid", "query", "duration", "vid", "relevant_windows", "relevant_clip_ids", "saliency_scores")


def load_qvhighlights(path: str | Path) -> list[dict[str, Any]]:
    """GT rows of a QVHighlights JSONL file (val release or test with GT), validated.

    Raises:
        AnnotationError: missing file, a row without GT fields (e.g. the GT-less test release), bad clip ids.
    """
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(p, None, "annotation file not found")
    rows = []
    try:
        lines = list(iter_jsonl(p))
    except JSONLError as e:
        raise AnnotationError(p, f"line {e.line}", f"invalid JSON ({e.msg})") from None
    for n, d in lines:
        missing = [k for k in _GT_KEYS if k not in d]
        if missing:
            hint = (
                " (the GT-less test release? use highlight_test_with_gt.jsonl)"
                if "relevant_windows" in missing
                else ""
            )
            raise AnnotationError(p, f"line {n}", f"missing field(s) {', '.join(missing)}{hint}")
        if len(d["relevant_clip_ids"]) != len(d["saliency_scores"]) or not d["relevant_windows"]:
            raise AnnotationError(
                p,
                f"qid {d['qid']}",
                "relevant_clip_ids and saliency_scores differ in length, or there is no relevant window",
            )
        rows.append(d)
    return rows


def per_query_values(
    windows: Sequence[Optional[Sequence[Sequence[float]]]],
    saliency: Sequence[Optional[Sequence[float]]],
    gt: Sequence[Mapping[str, Any]],
) -> list[dict[str, float]]:
    """Per-query metric values (names in the module docstring) for answers aligned with GT rows."""
    mr = moment_retrieval_per_query(
        [None if w is None else np.asarray(w, dtype=float) for w in windows],
        [np.asarray(g["relevant_windows"], dtype=float) for g in gt],
    )
    hl = highlight_per_query(
        saliency,
        [
            gt_clip_scores(
                g["duration"],
                g["relevant_clip_ids"],
                g["saliency_scores"],
                float(g.get("clip_length", CLIP_LENGTH)),
            )
            for g in gt
        ],
    )
    out: list[dict[str, float]] = [
        {"MR-answered": float(bool(w)), "HL-answered": float(bool(s))} for w, s in zip(windows, saliency)
    ]
    for name, v in mr.items():
        ap, r1, iou = v["ap"].tolist(), v["r1"].tolist(), v["iou"].tolist()
        ap_keys = [f"MR-{name}-AP@{t}" for t in MAP_THRESHOLDS]
        r1_keys = [f"MR-{name}-R1@{t}" for t in R1_THRESHOLDS]
        for i in np.nonzero(v["in_range"])[0].tolist():
            d = out[i]
            d.update(zip(ap_keys, ap[i]))
            d.update(zip(r1_keys, r1[i]))
            d[f"MR-{name}-IoU"] = iou[i]
    for level, v in hl.items():
        for i, (a, h) in enumerate(zip(v["ap"].tolist(), v["hit1"].tolist())):
            out[i][f"HL-min-{level}-AP"] = a
            out[i][f"HL-min-{level}-Hit1"] = h
    return out


def summarize(rows: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """The official metrics (flat names, percent, 2 decimals) from per-query values, plus range sizes."""
    cols: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        for k, v in r.items():
            cols[k].append(v)

    def pct(key: str) -> float:
        return 100.0 * float(np.mean(cols[key])) if cols.get(key) else 0.0

    out: dict[str, Any] = {}
    report_mr = any(cols.get("MR-answered", [])) or not any(cols.get("HL-answered", []))
    if report_mr:
        for name in RANGES:
            maps = [pct(f"MR-{name}-AP@{t}") for t in MAP_THRESHOLDS]
            out[f"MR-{name}-mAP"] = round(float(np.mean(maps)), 2)
            out.update({f"MR-{name}-mAP@{t}": round(m, 2) for t, m in zip(MAP_THRESHOLDS, maps)})
            out.update({f"MR-{name}-R1@{t}": round(pct(f"MR-{name}-R1@{t}"), 2) for t in R1_THRESHOLDS})
            out[f"MR-{name}-mIoU"] = round(pct(f"MR-{name}-IoU"), 2)
    if any(cols.get("HL-answered", [])):
        for level in LEVELS:
            out[f"HL-min-{level}-mAP"] = round(pct(f"HL-min-{level}-AP"), 2)
            out[f"HL-min-{level}-Hit1"] = round(pct(f"HL-min-{level}-Hit1"), 2)
    out["n_in_range"] = {name: len(cols.get(f"MR-{name}-IoU", [])) for name in RANGES}
    return out


BRIEF = (
    "MR-full-R1@0.3",
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "MR-full-mAP",
    "MR-full-mAP@0.5",
    "MR-full-mAP@0.75",
    "MR-full-mIoU",
    "MR-long-mAP",
    "MR-middle-mAP",
    "MR-short-mAP",
) + tuple(f"HL-min-{lv}-{m}" for lv in LEVELS for m in ("mAP", "Hit1"))


def official_document(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The flat metrics in the official JSON layout: ``brief`` plus nested ``HL-min-*`` and per-range
    blocks."""
    doc: dict[str, Any] = {"brief": {k: flat[k] for k in BRIEF if k in flat}}
    for level in LEVELS:
        if f"HL-min-{level}-mAP" in flat:
            doc[f"HL-min-{level}"] = {
                "HL-mAP": flat[f"HL-min-{level}-mAP"],
                "HL-Hit1": flat[f"HL-min-{level}-Hit1"],
            }
    for name in ("full", "long", "middle", "short"):
        if f"MR-{name}-mAP" in flat:
            mAP = {str(t): flat[f"MR-{name}-mAP@{t}"] for t in MAP_THRESHOLDS}
            mAP["average"] = flat[f"MR-{name}-mAP"]
            doc[name] = {
                "MR-mAP": mAP,
                "MR-R1": {str(t): flat[f"MR-{name}-R1@{t}"] for t in R1_THRESHOLDS},
                "MR-mIoU": flat[f"MR-{name}-mIoU"],
            }
    return doc

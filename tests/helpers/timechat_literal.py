"""A literal restatement of the TimeChat Charades-STA reference, used only as the oracle of differential
tests.

It follows ``utils/format_tvg.py::extract_time`` and ``metrics/tvg/eval_tvg.py`` (RenShuhuai-Andy/TimeChat @
c60b332) step by step with the same regular expressions, so it backtracks like the original (slow on
adversarial inputs: the harness's own :mod:`tpo_eval.tg.timechat` is the linear-time version). Differences
from the original are only where the original stops the whole script: a number ``float()`` cannot read
(``"1..5"``) returns ``None`` here (the harness counts that query as a miss), and a zero-width hull returns
IoU 0.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

KEYWORDS = ("starts", "ends", "happens in", "start time", "end time", "start", "end", "happen")
RANGE = re.compile(r"(\d+\.*\d*)\s*-\s*(\d+\.*\d*)")
FIRST_NUMBER = re.compile(r"\b(\d+\.\d+\b|\b\d+)\b")
CLOCK = re.compile(r"\b((\d{1,2}:\d{2}:\d{2}))\b")


def _pairs(times: list) -> list:
    times = times[: len(times) // 2 * 2]
    return [(times[i], times[i + 1]) for i in range(0, len(times), 2)]


def extract_time(paragraph: str) -> Optional[list]:
    """``[[start, end]]``, ``[]`` (nothing found) or None (the original raises ValueError)."""
    paragraph = paragraph.lower()  # the original also builds a "remove the example" string and discards it
    sentences = re.split(r"[!?\n]", paragraph)
    candidates = [s for s in sentences if any(k in s for k in KEYWORDS)]
    stamps: list = []
    found = RANGE.findall(paragraph)
    if found:
        try:
            stamps = [[float(a), float(b)] for a, b in found]
        except ValueError:
            return None
    if not stamps:
        times = []
        for s in candidates:
            hits = FIRST_NUMBER.findall(s)
            if hits:
                times.append(float(hits[0]))
        stamps = _pairs(times)
    if not stamps:  # hh:mm:ss, one per candidate sentence
        times = []
        for s in candidates:
            hits = CLOCK.findall(s)
            if hits:
                h, m, sec = (int(x) for x in hits[0][0].split(":"))
                times.append(h * 3600 + m * 60 + sec)
        stamps = _pairs(times)
    out = [[a, b] if b > a else [b, a] for a, b in stamps]
    return out[:1]


def iou(gt: Sequence[float], pred: Sequence[float]) -> float:
    lo_end, hi_start = min(gt[1], pred[1]), max(gt[0], pred[0])
    hull = max(gt[1], pred[1]) - min(gt[0], pred[0])
    return max(lo_end - hi_start, 0) / hull if hull else 0.0


def score(gts: Sequence[Sequence[float]], preds: Sequence[Optional[list]]) -> dict[str, float]:
    """R1@0.3/0.5/0.7 (``eval_tvg.py``: a hit when the first pair's IoU >= t, empty = miss, every GT query in
    the denominator) and mIoU (mean IoU, as lmms-eval reports it), in percent."""
    ious = [iou(g, p[0]) if p else 0.0 for g, p in zip(gts, preds, strict=True)]
    n = len(gts)
    out = {f"R1@{t}": sum(i >= t for i in ious) * 100 / n for t in (0.3, 0.5, 0.7)}
    out["mIoU"] = 100 * sum(ious) / n
    return out

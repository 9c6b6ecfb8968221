"""Read a temporal span ``(start, end)`` in seconds out of a model's free-text answer.

The parser only *reads* the text: it never rewrites words (lmms-eval replaces every "to" with "-", which turns
"stop" into "s-p" and "today" into "-day"). It tries, in order, forms that name a range explicitly:

1. clock times joined by a range word: ``00:23 - 00:27``, ``0:01:05 to 0:01:10``;
2. a bracketed pair: ``[23.0, 27.0]``, ``(23, 27)``;
3. ``between 23 and 27``;
4. two numbers joined by ``-``, ``–``, ``—``, ``~``, ``to``, ``until``, ``till`` (units optional on either side):
   ``23.0 - 27.0 seconds``, ``from 23 to 27``, ``23.0s-27.0s``;
5. labelled ends: ``start time: 23.0 ... end time: 27.0``, ``starts at 23 s and ends at 27 s``;
6. an answer that is nothing but two numbers: ``23.0, 27.0``.

A lone number, or two numbers with nothing saying they form a range, is *not* a span: guessing pairs from bare
numbers (the lmms-eval fallback) mostly produces garbage that scores a little IoU by luck. The first match wins.
A reversed span is swapped; the span is clamped to ``[0, duration]``. When the benchmark says outputs are frame
indices over N frames, the two numbers are indices (``frame_base``, default 1 as in PLM) mapped to seconds through
``np.linspace(0, duration, N)``.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np

_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_UNIT = r"(?:\s*(?:seconds?|secs?|s)\b)?"
_CLOCK = r"(\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?)"
# "frame 3 to frame 8": the word may repeat before the second number.
_FRAME = r"(?:frames?\s+)?"
_DASH = r"(?:-+|–|—|~|\bto\b|\buntil\b|\btill\b)"
# A number may not continue a word or another number ("v2", "1.2.3"), nor be a clock-time fragment.
_LEFT = r"(?<![\w.:])"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("clock", re.compile(_LEFT + _CLOCK + r"\s*" + _DASH + r"\s*" + _CLOCK + r"(?![\d:])", re.I)),
    ("bracket", re.compile(r"[\[(]\s*" + _NUM + _UNIT + r"\s*,\s*" + _NUM + _UNIT + r"\s*[\])]", re.I)),
    ("between", re.compile(r"\bbetween\s+" + _NUM + _UNIT + r"\s+and\s+" + _NUM, re.I)),
    ("range", re.compile(_LEFT + _NUM + _UNIT + r"\s*" + _DASH + r"\s*" + _FRAME + _NUM + r"(?![\d:])", re.I)),
    ("labelled", re.compile(
        r"\bstart(?:s|ing)?(?:\s+(?:time|timestamp|second))?(?:\s+(?:is|at|of|from))*\s*[:=]?\s*" + _NUM + _UNIT
        + r"[^\d]{0,40}?\bend(?:s|ing)?(?:\s+(?:time|timestamp|second))?(?:\s+(?:is|at|of))*\s*[:=]?\s*" + _NUM,
        re.I)),
    ("pair", re.compile(r"^\W*" + _NUM + _UNIT + r"\s*[,;\s]\s*" + _NUM + _UNIT + r"\W*$", re.I)),
)


def _clock_seconds(s: str) -> float:
    parts = [float(p) for p in s.split(":")]
    total = 0.0
    for p in parts:
        total = total * 60.0 + p
    return total


def find_pair(text: str) -> Optional[tuple[str, float, float]]:
    """The first explicit pair of numbers in ``text`` as ``(form, a, b)``, unconverted and unordered; or None."""
    if not text:
        return None
    best: Optional[tuple[int, str, float, float]] = None
    for form, pat in _PATTERNS:
        m = pat.search(text)
        if m is None:
            continue
        a, b = m.group(1), m.group(2)
        if form == "clock":
            va, vb = _clock_seconds(a), _clock_seconds(b)
        else:
            va, vb = float(a), float(b)
        # Earlier forms are more specific, but a later form that starts earlier in the text names the answer's
        # first span ("from 5 to 9, not [20, 30]"), so take the leftmost match; ties keep the more specific form.
        if best is None or m.start() < best[0]:
            best = (m.start(), form, va, vb)
    return None if best is None else best[1:]


def frames_to_seconds(a: float, b: float, duration: float, frame_count: int,
                      frame_base: int = 1) -> tuple[float, float]:
    """Map frame indices (``frame_base``-based, clamped to the valid range) to ``linspace(0, duration, N)``."""
    grid = np.linspace(0.0, float(duration), int(frame_count))

    def one(x: float) -> float:
        i = int(round(x)) - frame_base
        return float(grid[min(max(i, 0), frame_count - 1)])

    return one(a), one(b)


def parse_span(text: str, duration: Optional[float], *, frame_count: Optional[int] = None,
               frame_base: int = 1) -> Optional[tuple[float, float]]:
    """Parse ``text`` into ``(start, end)`` seconds with ``0 <= start <= end <= duration``; None when no span.

    Args:
        text: the model's answer, untouched.
        duration: video length in seconds (None: no upper clamp).
        frame_count: if set, the numbers are frame indices over this many frames (needs ``duration``).
        frame_base: the index of the first frame in the model's numbering (1 for PLM-style outputs).

    Raises:
        ValueError: ``frame_count`` is given without a duration or is not positive.
    """
    found = find_pair(text or "")
    if found is None:
        return None
    form, a, b = found
    if frame_count is not None:
        if duration is None or frame_count <= 0:
            raise ValueError("frame-index outputs need a positive frame_count and the video duration")
        if form == "clock":
            return None  # a clock time is not a frame index
        a, b = frames_to_seconds(a, b, duration, frame_count, frame_base)
    start, end = (a, b) if a <= b else (b, a)
    start = max(start, 0.0)
    if duration is not None:
        start, end = min(start, float(duration)), min(end, float(duration))
    return (start, end)

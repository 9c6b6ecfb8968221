"""The ``lenient`` span parser: reads ``(start, end)`` seconds out of a model's free-text answer in any of the
usual shapes. The reference extraction (what ``official`` uses) is :mod:`tpo_eval.tg.timechat`; this one is
reported beside it to show how much of a score depends on answer phrasing.

It only *reads* the text: it never rewrites words (lmms-eval replaces every "to" with "-", which turns "stop"
into "s-p"). The forms it accepts, the more specific first:

1. clock times joined by a range word: ``00:23 - 00:27``, ``0:01:05 to 0:01:10``;
2. a bracketed pair: ``[23.0, 27.0]``, ``(23, 27)``;
3. ``between 23 and 27``;
4. two numbers joined by ``-``, ``–``, ``—``, ``~``, ``to``, ``until``, ``till`` (units optional on either side):
   ``23.0 - 27.0 seconds``, ``from 23 to 27``, ``23.0s-27.0s``;
5. labelled ends: ``start time: 23.0 ... end time: 27.0``, ``starts at 23 s and ends at 27 s``;
6. an answer that is nothing but two numbers: ``23.0, 27.0``.

A lone number, or two numbers with nothing saying they form a range, is *not* a span. Which match wins:

* a *timed* match beats a bare one: timed = a clock or labelled form, a time unit on either number
  (``s``, ``sec``, ``seconds``), or a time word shortly before it in the same clause (``happens``, ``occurs``,
  ``starts``, ``ends``, ``begins``, ``time``, ``timestamp``, ``moment``, ``segment``, ``interval``,
  ``period``; ``frame`` too in frame-index mode). So in "About 2 to 3 people …; 24.3 - 30.4 seconds" the
  second range wins;
* then the leftmost (``"from 5 to 9, not [20, 30]"`` is 5–9); then the more specific form.

Numbers are seconds unless the benchmark says outputs are frame indices over N frames: then clock times are
not read, ``frame 3 to frame 8`` is a range, and the two numbers are indices (``frame_base``, default 1 as in
PLM) mapped to seconds through ``np.linspace(0, duration, N)``. In seconds mode a number after the word
"frame" is never part of a span. A reversed span is swapped; nothing is clamped (clamping is a scoring option
applied to ground truth and predictions alike, see :mod:`tpo_eval.families.temporal_grounding`). Every pattern
runs in time linear in the answer's length (whitespace runs are matched possessively).
"""
from __future__ import annotations

import re
from typing import Iterator, Optional

import numpy as np

_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_UNIT_WORD = r"(?:seconds?|secs?|s)\b"
_UNIT = r"(?:\s*+" + _UNIT_WORD + r")?"
_CLOCK = r"(\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?)"
_DASH = r"(?:-+|–|—|~|\bto\b|\buntil\b|\btill\b)"
# A number may not continue a word or another number ("v2", "1.2.3"), nor be a clock-time fragment.
_LEFT = r"(?<![\w.:])"
_LABEL_WORD = r"(?:\s++(?:time|timestamp|second))?"


def _patterns(frames: bool) -> tuple[tuple[str, re.Pattern[str]], ...]:
    # "frame 3 to frame 8": in frame-index mode the word may repeat before the second number.
    second = (r"(?:frames?\s++)?" if frames else "") + _NUM
    forms = (
        ("clock", _LEFT + _CLOCK + r"\s*+" + _DASH + r"\s*+" + _CLOCK + r"(?![\d:])"),
        ("bracket", r"[\[(]\s*+" + _NUM + _UNIT + r"\s*+,\s*+" + _NUM + _UNIT + r"\s*+[\])]"),
        ("between", r"\bbetween\s++" + _NUM + _UNIT + r"\s++and\s++" + _NUM),
        ("range", _LEFT + _NUM + _UNIT + r"\s*+" + _DASH + r"\s*+" + second + r"(?![\d:])"),
        ("labelled", r"\bstart(?:s|ing)?" + _LABEL_WORD + r"(?:\s++(?:is|at|of|from))*+\s*+[:=]?\s*+" + _NUM
         + _UNIT + r"[^\d]{0,40}?\bend(?:s|ing)?" + _LABEL_WORD + r"(?:\s++(?:is|at|of))*+\s*+[:=]?\s*+"
         + _NUM),
        ("pair", r"\W*+" + _NUM + _UNIT + r"(?:\s++(?:[,;]\s*+)?|[,;]\s*+)" + _NUM + _UNIT + r"\W*+\Z"),
    )
    return tuple((name, re.compile(p, re.I)) for name, p in forms if not (frames and name == "clock"))


_FORMS = {False: _patterns(False), True: _patterns(True)}
_ALWAYS_TIMED = ("clock", "labelled")
_UNIT_INSIDE = re.compile(r"\d\s*+" + _UNIT_WORD, re.I)
_UNIT_AFTER = re.compile(r"\s*+" + _UNIT_WORD, re.I)
_CONTEXT = {f: re.compile(r"\b(?:happen|occur|start|begin|end|time|timestamp|moment|segment|interval|period"
                          + (r"|frame" if f else "") + r")(?:s|ed|ing|red|ring)?\b", re.I)
            for f in (False, True)}
_FRAME_BEFORE = re.compile(r"\bframes?\s*+(?:#|no\.?|number)?\s*+\Z", re.I)
_CLAUSE_BREAK = re.compile(r"[;!?\n]")
_LOOKBACK = 40


def _matches(text: str, pattern: re.Pattern[str], form: str) -> Iterator[re.Match[str]]:
    if form == "pair":  # anchored at the start: one attempt, not one per position
        m = pattern.match(text)
        return iter([m] if m else [])
    return pattern.finditer(text)


def _timed(text: str, form: str, m: re.Match[str], frames: bool) -> bool:
    if form in _ALWAYS_TIMED or _UNIT_INSIDE.search(m.group(0)) or _UNIT_AFTER.match(text, m.end()):
        return True
    before = text[max(0, m.start() - _LOOKBACK):m.start()]
    clause = _CLAUSE_BREAK.split(before)[-1]
    return _CONTEXT[frames].search(clause) is not None


def _value(form: str, s: str) -> float:
    if form != "clock":
        return float(s)
    total = 0.0
    for p in s.split(":"):
        total = total * 60.0 + float(p)
    return total


def find_pair(text: str, frames: bool = False) -> Optional[tuple[str, float, float]]:
    """The chosen pair of numbers in ``text`` as ``(form, a, b)``, unconverted and unordered; or None.

    ``frames``: the answer is in frame indices (frame words allowed, clock times not read)."""
    if not text:
        return None
    best: Optional[tuple[bool, int, int, str, float, float]] = None
    for rank, (form, pat) in enumerate(_FORMS[frames]):
        for m in _matches(text, pat, form):
            if not frames and _FRAME_BEFORE.search(text, max(0, m.start() - _LOOKBACK), m.start()):
                continue  # "frame 3 to 8" in seconds mode: frame numbers are not seconds
            timed = _timed(text, form, m, frames)
            key = (not timed, m.start(), rank, form, _value(form, m.group(1)), _value(form, m.group(2)))
            if best is None or key[:3] < best[:3]:
                best = key
            if timed:
                break  # later matches of this form can only be timed and further right
    return None if best is None else best[3:]


def frames_to_seconds(a: float, b: float, duration: float, frame_count: int,
                      frame_base: int = 1) -> tuple[float, float]:
    """Map frame indices (``frame_base``-based, clamped to the valid range) to ``linspace(0, duration, N)``."""
    grid = np.linspace(0.0, float(duration), int(frame_count))

    def one(x: float) -> float:
        i = int(round(x)) - frame_base
        return float(grid[min(max(i, 0), frame_count - 1)])

    return one(a), one(b)


def parse_span(text: str, duration: Optional[float] = None, *, frame_count: Optional[int] = None,
               frame_base: int = 1) -> Optional[tuple[float, float]]:
    """Parse ``text`` into ``(start, end)`` seconds with ``start <= end`` (not clamped); None when no span.

    Args:
        text: the model's answer, untouched.
        duration: video length in seconds (needed only for frame indices).
        frame_count: if set, the numbers are frame indices over this many frames (needs ``duration``).
        frame_base: the index of the first frame in the model's numbering (1 for PLM-style outputs).

    Raises:
        ValueError: ``frame_count`` is given without a duration or is not positive.
    """
    frames = frame_count is not None
    if frames and (duration is None or frame_count <= 0):  # type: ignore[operator]
        raise ValueError("frame-index outputs need a positive frame_count and the video duration")
    found = find_pair(text or "", frames)
    if found is None:
        return None
    _, a, b = found
    if frames:
        a, b = frames_to_seconds(a, b, duration, frame_count, frame_base)  # type: ignore[arg-type]
    return (a, b) if a <= b else (b, a)

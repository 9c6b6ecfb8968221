"""TimeChat's text-to-span extraction (``utils/format_tvg.py::extract_time``, identical in TimeSuite), the
reference for Charades-STA text answers, reproduced rule for rule with its quirks, in linear time.

The reference, on the lower-cased answer:

1. **Range.** Every non-overlapping ``N - M`` in the whole answer, where a number is digits, any run of dots,
   digits (``\\d+\\.*\\d*``) and the dash is an ASCII hyphen with optional whitespace (newlines included)
   around it. If there is one, the first is the answer. So ``"24.3 to 30.4"``, en dashes, ``[a, b]`` and
   ``between a and b`` are not ranges; ``"-5 - 10"`` is 5–10 (no signs); ``"2023-10-05"`` is 2023–10; a number
   that ``float`` cannot read (``"1..5 - 3"``) stopped the reference script with an error: here the query is a
   miss.
2. **Keyword sentences.** Otherwise split the answer on ``!``, ``?`` and newlines (not on full stops) and keep
   the sentences containing ``start``, ``end`` or ``happen`` as substrings (so ``"bending"``, ``"friend"`` and
   ``"weekend"`` count). Take the first number of each (``18.5``, but ``18`` from ``18.5s``: the regex needs a
   word boundary after the decimals) and pair them up in order; an odd one out is dropped.
3. The reference then tries ``hh:mm:ss`` times the same way. That step can never produce a pair (a sentence
with a
   clock time always yields a step-2 number, so step 3 runs only when at most one sentence has any number),
   so it is not repeated here; ``"starts at 00:00:18 and ends at 00:00:23"`` (one sentence) is a miss.
4. The first pair, swapped if reversed, is the span. Nothing found is a miss (IoU 0, still in the
   denominator).

The reference's range regex backtracks polynomially (a few KB of digits take minutes); :func:`range_pairs`
finds exactly the same matches by scanning each run of digits and dots once.
"""
from __future__ import annotations

import re
from typing import Optional

# The reference lists "starts", "ends", "happens in", "start time", "end time", "start", "end", "happen";
# every
# entry contains one of these three, so testing them is the same test.
KEYWORDS = ("start", "end", "happen")
_RUN = re.compile(r"[\d.]+")
_DOTS = re.compile(r"\.+")
# What must follow the first number: the dash and the second number (greedy, the reference's own form).
_TAIL = re.compile(r"\s*-\s*(\d+\.*\d*)")
_SENTENCE_BREAK = re.compile(r"[!?\n]")
_FIRST_NUMBER = re.compile(r"\b(\d+\.\d+\b|\b\d+)\b")


def range_pairs(text: str) -> list[tuple[str, str]]:
    """The ``(first, second)`` number strings of every range the reference's regex finds, in order.

    Why a scan is enough: the first number ends where the dash part starts, and digits or dots are not
    whitespace or a dash, so it always ends at the end of its run of digits and dots. A match can start inside
    the run only where the rest of the run still has the number's shape (digits, dots, digits), i.e. after the
    run's second-to-last group of dots; the leftmost such digit is where the regex would succeed.
    """
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        run = _RUN.search(text, pos)
        if run is None:
            return out
        a, r = run.span()
        tail = _TAIL.match(text, r)
        if tail is None:
            pos = r
            continue
        dots = [m.span() for m in _DOTS.finditer(text, a, r)]
        start = dots[-2][1] if len(dots) >= 2 else a
        if dots and dots[0][0] == start:  # the run opens with dots: the number starts after them
            start = dots[0][1]
        if start >= r:  # dots only
            pos = r
            continue
        out.append((text[start:r], tail.group(1)))
        pos = tail.end()


def _keyword_times(text: str) -> list[float]:
    times = []
    for sentence in _SENTENCE_BREAK.split(text):
        if any(k in sentence for k in KEYWORDS):
            m = _FIRST_NUMBER.search(sentence)
            if m:
                times.append(float(m.group(1)))
    return times


def extract_span(text: str) -> Optional[tuple[float, float]]:
    """The reference's span for ``text`` as ``(start, end)`` with ``start <= end``, or None (a miss)."""
    lowered = (text or "").lower()
    pairs = range_pairs(lowered)
    if pairs:
        try:
            values = [(float(a), float(b)) for a, b in pairs]  # the reference converts every match first
        except ValueError:
            return None
        a, b = values[0]
    else:
        times = _keyword_times(lowered)
        if len(times) < 2:
            return None
        a, b = times[0], times[1]
    return (a, b) if b > a else (b, a)

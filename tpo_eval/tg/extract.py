"""Span extractors (registered in :mod:`tpo_eval.registries`): a raw output → windows (+ saliency).

The extracted value is ``{"windows": [[start, end, score], ...], "saliency": [float, ...] or None}`` in seconds,
in the order the model gave them (R1 uses the first). ``parsed`` is False when there is neither a window nor a
saliency curve; such an answer scores 0 and stays in every denominator. Windows a temporal head gave are used
as given (the official scorers take them so); only text is read differently:

* ``tg_timechat``: TimeChat's ``extract_time`` (:mod:`tpo_eval.tg.timechat`), the Charades-STA reference;
* ``tg_span``: the lenient parser (:mod:`tpo_eval.tg.spans`);
* ``tg_text``: the lenient parser on the text even when a head gave windows (text vs head comparisons).

Nothing is clamped here: extraction reads what the model said; a benchmark may clip spans when scoring.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..types import Answer, RawOutput, Sample
from .spans import frames_to_seconds, parse_span
from .timechat import extract_span

Reader = Callable[[RawOutput, Sample, Optional[int], int], list[list[float]]]


def _lenient(raw: RawOutput, sample: Sample, frame_count: Optional[int],
             frame_base: int) -> list[list[float]]:
    span = parse_span(raw.text, sample.duration, frame_count=frame_count, frame_base=frame_base)
    return [] if span is None else [[span[0], span[1], 1.0]]


def _timechat(raw: RawOutput, sample: Sample, frame_count: Optional[int],
              frame_base: int) -> list[list[float]]:
    if frame_count is not None and (sample.duration is None or frame_count <= 0):
        raise ValueError("frame-index outputs need a positive frame_count and the video duration")
    span = extract_span(raw.text)
    if span is None:
        return []
    if frame_count is not None:  # the reference reads the numbers; the benchmark says they are frame indices
        span = frames_to_seconds(*span, sample.duration, frame_count, frame_base)  # type: ignore[arg-type]
    return [[span[0], span[1], 1.0]]


def _answer(name: str, windows: list[list[float]], saliency: Any) -> Answer:
    sal = None if saliency is None else [float(x) for x in saliency]
    return Answer(extractor=name, value={"windows": windows, "saliency": sal}, parsed=bool(windows) or bool(sal))


def _head_or_text(name: str, read: Reader, raw: RawOutput, sample: Sample, frame_count: Optional[int],
                  frame_base: int) -> Answer:
    if raw.windows is not None:
        windows = [[float(s), float(e), float(c)] for s, e, c in raw.windows]
    else:
        windows = read(raw, sample, frame_count, frame_base)
    return _answer(name, windows, raw.saliency)


def span_timechat(raw: RawOutput, sample: Sample, *, frame_count: Optional[int] = None,
                  frame_base: int = 1) -> Answer:
    """A head's windows when the model gave any, otherwise TimeChat's extraction of the text."""
    return _head_or_text("tg_timechat", _timechat, raw, sample, frame_count, frame_base)


def span_auto(raw: RawOutput, sample: Sample, *, frame_count: Optional[int] = None,
              frame_base: int = 1) -> Answer:
    """A head's windows when the model gave any (``raw.windows`` not None), otherwise the lenient parse of the
    text; the saliency curve is passed through."""
    return _head_or_text("tg_span", _lenient, raw, sample, frame_count, frame_base)


def span_text(raw: RawOutput, sample: Sample, *, frame_count: Optional[int] = None, frame_base: int = 1) -> Answer:
    """Only the text (lenient), even when a head gave windows (to compare what a model says with its head)."""
    return _answer("tg_text", _lenient(raw, sample, frame_count, frame_base), None)

"""Span extractors (registered in :mod:`tpo_eval.registries`): a raw output → windows (+ saliency).

The extracted value is ``{"windows": [[start, end, score], ...], "saliency": [float, ...] or None}`` in seconds,
in the order the model gave them (R1 uses the first). ``parsed`` is False when there is neither a window nor a
saliency curve; such an answer scores 0 and stays in every denominator.
"""
from __future__ import annotations

from typing import Any, Optional

from ..types import Answer, RawOutput, Sample
from .spans import parse_span


def _from_text(raw: RawOutput, sample: Sample, frame_count: Optional[int], frame_base: int) -> list[list[float]]:
    span = parse_span(raw.text, sample.duration, frame_count=frame_count, frame_base=frame_base)
    return [] if span is None else [[span[0], span[1], 1.0]]


def _answer(name: str, windows: list[list[float]], saliency: Any) -> Answer:
    sal = None if saliency is None else [float(x) for x in saliency]
    return Answer(extractor=name, value={"windows": windows, "saliency": sal}, parsed=bool(windows) or bool(sal))


def span_auto(raw: RawOutput, sample: Sample, *, frame_count: Optional[int] = None, frame_base: int = 1) -> Answer:
    """A head's windows when the model gave any (``raw.windows`` not None, used as given, like the official
    scorers do), otherwise the span parsed from the text; the saliency curve is passed through."""
    if raw.windows is not None:
        windows = [[float(s), float(e), float(c)] for s, e, c in raw.windows]
    else:
        windows = _from_text(raw, sample, frame_count, frame_base)
    return _answer("tg_span", windows, raw.saliency)


def span_text(raw: RawOutput, sample: Sample, *, frame_count: Optional[int] = None, frame_base: int = 1) -> Answer:
    """Only the text, even when a head gave windows (to compare what a model says with what its head says)."""
    return _answer("tg_text", _from_text(raw, sample, frame_count, frame_base), None)

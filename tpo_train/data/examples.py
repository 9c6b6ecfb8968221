"""Typed training examples, one frozen dataclass per kind of annotation, plus the bad-record report.

Units and conventions (every reader converts to these):

- times in **seconds** (float), windows as ``(start, end)`` with ``start < end``;
- boxes as **normalised xyxy** in ``[0, 1]`` relative to the image/frame width and height;
- masks as COCO RLE dicts (``{"size": [h, w], "counts": str | list[int]}``), decoded lazily by
  :func:`tpo_train.data.rle.decode`;
- ``origin`` = ``(file, line)`` with 1-based lines (JSONL) or 1-based item numbers (JSON lists/dicts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union


@dataclass(frozen=True)
class Origin:
    """Where a record came from, for error messages and data hashes."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class TemporalExample:
    """Moment retrieval (+ optional highlight) query in the CG-DETR layout.

    ``saliency`` maps a clip id (CG-DETR ``relevant_clip_ids``, clips of ``clip_len`` seconds) to the
    summed annotator score; empty when the source has none (then clips inside a window count as 1).
    """

    uid: str
    source: str
    origin: Origin
    qid: str
    vid: str
    query: str
    duration: float
    windows: tuple[tuple[float, float], ...]
    saliency: Mapping[int, float] = field(default_factory=dict)
    media: Optional[str] = None
    task: str = "temporal"


@dataclass(frozen=True)
class RegionExample:
    """Referring expression → one box (RefCOCO/+/g style)."""

    uid: str
    source: str
    origin: Origin
    image: str
    expression: str
    box: tuple[float, float, float, float]
    width: int
    height: int
    task: str = "region"


@dataclass(frozen=True)
class MaskExample:
    """A referred (``expression``) or box-prompted (``expression is None``: tracking) object in a video.

    ``frames`` are frame file names under ``video`` (a folder); ``masks[i]`` is the RLE of the object(s) in
    ``frames[i]`` (empty where absent). ``box`` = normalised xyxy of the first non-empty mask, found in
    ``frames[box_frame]`` (the conditioning frame: target of the mask adapter and, for tracking, the prompt
    box).
    """

    uid: str
    source: str
    origin: Origin
    video: str
    expression: Optional[str]
    frames: tuple[str, ...]
    masks: tuple[tuple[Mapping[str, Any], ...], ...]
    height: int
    width: int
    box: tuple[float, float, float, float]
    box_frame: int = 0
    task: str = "mask"


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    instruction: str = ""


@dataclass(frozen=True)
class ConversationExample:
    """VideoChat2-IT style instruction data: a video/image (or none) and question–answer turns."""

    uid: str
    source: str
    origin: Origin
    media: Optional[str]
    media_kind: Optional[str]
    turns: tuple[Turn, ...]
    task: str = "conversation"


Example = Union[TemporalExample, RegionExample, MaskExample, ConversationExample]


@dataclass(frozen=True)
class BadRecord:
    """A record a reader refused, with the exact place and reason."""

    origin: Origin
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class ReadResult:
    """Everything a reader produced from one file: the examples, the refusals, and notes (e.g. clipped
    ends)."""

    path: str
    examples: Sequence[Example]  # a tuple, or the rows of the source's Arrow cache (``data/arrow.py``)
    bad: tuple[BadRecord, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n_records(self) -> int:
        return len(self.examples) + len(self.bad)

    def summary(self, limit: int = 5) -> str:
        head = f"{self.path}: {len(self.examples)} ok, {len(self.bad)} bad"
        lines = [head] + [f"  {b}" for b in self.bad[:limit]]
        if len(self.bad) > limit:
            lines.append(f"  … and {len(self.bad) - limit} more")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class DataError(ValueError):
    """Too many bad records (or an unreadable file); the message names the files and lines."""

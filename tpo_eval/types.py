"""Typed records passed through every step: Sample → Request → RawOutput → Answer → SampleScore → results.

All are frozen dataclasses. Units: times in seconds, spans as ``(start, end)`` seconds, frames as uint8 arrays
of shape (T, H, W, 3) in RGB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Optional

# "mcq": text answer to a multiple-choice prompt; "span": a temporal moment (text or head output);
# "multi_image": text answer over a list of images.
RequestKind = Literal["mcq", "span", "multi_image", "generate"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Media:
    """Where a sample's visual input lives and how to read it.

    ``mode`` is ``video`` (a file), ``frames`` (a folder of numbered images at ``fps``) or ``images``
    (a list of still images, for multi-image benchmarks). ``bound`` is an optional ``(start, end)`` in
    seconds.
    """

    paths: tuple[str, ...]
    mode: Literal["video", "frames", "images"] = "video"
    fps: Optional[float] = None
    bound: Optional[tuple[float, float]] = None


@dataclass(frozen=True)
class Sample:
    """One benchmark item as loaded from its annotation file.

    ``id`` is stable across runs (``<task>/<index>`` for MVBench). ``target`` is family specific: the gold
    option index for MCQ, the gold span(s) for temporal grounding.
    """

    id: str
    task: str
    media: Media
    question: str
    choices: tuple[str, ...] = ()
    target: Any = None
    meta: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    duration: Optional[float] = None


@dataclass(frozen=True)
class Prompt:
    """A chat prompt: system text, user text (after the visual tokens) and a forced assistant prefix."""

    system: str
    user: str
    assistant_prefix: str = ""

    def flat(self) -> str:
        """The prompt as one string, for hashing and for adapters that ignore roles."""
        return f"{self.system}\x1e{self.user}\x1e{self.assistant_prefix}"


@dataclass(frozen=True, eq=False)
class Request:
    """What a model adapter receives. ``frames`` is (T, H, W, 3) uint8 for video, or a list of images.

    ``reference`` carries the gold answer and is read only by the mock oracle; real adapters must ignore it.
    ``question`` is the sample's own text (the query sentence of a grounding sample, not the whole prompt),
    and
    ``media_id`` / ``query_id`` the annotation's video and query ids where it has them (precomputed features);
    ``clip_length`` the clip grid a saliency answer is scored on (QVHighlights: 2 s).
    """

    sample_id: str
    kind: RequestKind
    prompt: Prompt
    frames: Any = None
    timestamps: tuple[float, ...] = ()
    choices: tuple[str, ...] = ()
    duration: Optional[float] = None
    reference: Any = None
    seed: int = 0
    question: str = ""
    media_id: str = ""
    query_id: str = ""
    clip_length: Optional[float] = (
        None  # highlight detection: saliency is scored per clip of this many seconds
    )


@dataclass(frozen=True)
class RawOutput:
    """A model's answer before extraction. ``windows`` are ``(start, end, score)`` seconds from a head;
    ``saliency`` a per-clip curve; ``error`` set when the model or the video failed (the sample scores 0)."""

    sample_id: str
    text: str = ""
    windows: Optional[tuple[tuple[float, float, float], ...]] = None
    saliency: Optional[tuple[float, ...]] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class Answer:
    """An extracted answer. ``value`` is None when the extractor could not parse the output."""

    extractor: str
    value: Any
    parsed: bool


@dataclass(frozen=True)
class SampleScore:
    """Per-sample outcome for one extractor: metric name → value (0/1 accuracy, IoU, …)."""

    sample_id: str
    task: str
    extractor: str
    values: Mapping[str, float]
    parsed: bool
    failed: bool = False


def freeze_meta(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Read-only view of a metadata dict, so samples stay immutable."""
    return MappingProxyType(dict(d or {}))

"""Readers for temporal-grounding prediction files made elsewhere, and the coverage check.

Accepted formats (detected from content):

* **moment_detr JSONL** (also a JSON list of the same rows, as TimeChat's highlight file is):
  ``{"qid", "pred_relevant_windows": [[start, end, score], ...], "pred_saliency_scores": [float, ...]}``;
  either key may be absent. Other keys are ignored, including a ``relevant_windows`` GT copy (VTG-GPT): the GT
  always comes from the annotation file.
* **TimeChat JSON**: ``{"<id>": {"timestamp": [[start, end]] or [], ...}}``; only the first pair is used by
the
  official scorer, and an empty list is an unanswered query (it scores 0).
* **tpo-eval rows** (``predictions.jsonl`` of a run, or hand-made): ``{"id", "output"}`` plus optional
  ``"windows"``, ``"saliency"``, ``"error"``.

Rows are matched to samples by sample id, else by the annotation's own query id. By default every sample must
have a prediction: :class:`MissingPredictionsError` says how many do not. ``allow_partial`` scores the covered
ones. Predictions for unknown ids are always an error (they mean the wrong annotation file was given).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..io import JSONLError, iter_jsonl
from ..types import RawOutput, Sample


class PredictionFileError(ValueError):
    """A prediction file that cannot be read or does not belong to these annotations; the message says
    where."""


class MissingPredictionsError(PredictionFileError):
    """Some queries have no prediction and partial scoring was not allowed."""

    def __init__(self, path: Any, n_missing: int, n_total: int, examples: Sequence[str]) -> None:
        self.n_missing, self.n_total = n_missing, n_total
        super().__init__(
            f"{path}: {n_missing} of {n_total} queries have no prediction (first missing: "
            f"{', '.join(examples)}). "
            f"Every query must be answered; pass --allow-partial to score only the "
            f"{n_total - n_missing} covered queries."
        )


def _numbers(where: str, raw: Any, what: str) -> np.ndarray:
    """``raw`` as a float array; anything that is not a finite number (a string, None, a nested mess) is an
    error."""
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or not np.isfinite(arr).all() or isinstance(raw, (str, bytes, dict)):
        raise PredictionFileError(f"{where}: {what} must be numbers, got {str(raw)[:80]}")
    return arr


def _windows(where: str, raw: Any, width: int) -> tuple[tuple[float, float, float], ...]:
    """``width`` 3: ``[start, end, score]`` required (moment_detr); 2: the score is optional (default 1.0)."""
    if not isinstance(raw, list):
        raise PredictionFileError(f"{where}: windows must be a list, got {type(raw).__name__}")
    if not raw:
        return ()
    shape = "[start, end, score]" if width == 3 else "[start, end] or [start, end, score]"
    try:
        arr = _numbers(where, raw, "windows")
    except PredictionFileError:
        arr = None
    if arr is None or arr.ndim != 2 or not width <= arr.shape[1] <= 3:
        bad = next((w for w in raw if not isinstance(w, list) or not width <= len(w) <= 3), raw[0])
        raise PredictionFileError(f"{where}: window {bad!r} must be {shape} numbers")
    if arr.shape[1] == 2:
        arr = np.concatenate([arr, np.ones((len(arr), 1))], axis=1)
    return tuple(map(tuple, arr.tolist()))


def _saliency(where: str, raw: Any) -> Optional[tuple[float, ...]]:
    if raw is None:
        return None
    arr = _numbers(where, raw, "pred_saliency_scores")
    if arr.ndim != 1:
        raise PredictionFileError(f"{where}: pred_saliency_scores must be a flat list of numbers")
    return tuple(arr.tolist())


def _row(where: str, d: Any) -> tuple[str, RawOutput]:
    if not isinstance(d, dict):
        raise PredictionFileError(f"{where}: expected an object, got {type(d).__name__}")
    if "qid" in d:
        key = str(d["qid"])
        win = _windows(where, d["pred_relevant_windows"], 3) if "pred_relevant_windows" in d else None
        return key, RawOutput(key, windows=win, saliency=_saliency(where, d.get("pred_saliency_scores")))
    if "id" in d:
        key = str(d["id"])
        win = d.get("windows")
        return key, RawOutput(
            key,
            text=str(d.get("output") or ""),
            error=d.get("error"),
            windows=None if win is None else _windows(where, win, 2),
            saliency=_saliency(where, d.get("saliency")),
        )
    raise PredictionFileError(f"{where}: a row needs 'qid' (moment_detr) or 'id' (tpo-eval)")


def read_prediction_file(path: str | Path) -> dict[str, RawOutput]:
    """Query key (qid / TimeChat id / sample id, as a string) → raw output, for any format above.

    Raises:
        PredictionFileError: unreadable file, unknown layout, malformed row (named by line or key), duplicate
        id.
    """
    p = Path(path)
    if not p.is_file():
        raise PredictionFileError(f"{p}: prediction file not found")
    text = p.read_text(encoding="utf-8")
    rows: Iterable[tuple[str, Any]]
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        obj = None
        try:
            rows = [(f"{p} line {n}", d) for n, d in iter_jsonl(p, text)]
        except JSONLError as e:
            raise PredictionFileError(f"{p}: neither JSON nor JSONL (line {e.line}: {e.msg})") from None
    if isinstance(obj, list):
        rows = [(f"{p} item {i}", d) for i, d in enumerate(obj)]
    elif isinstance(obj, dict) and ("qid" in obj or "id" in obj):
        rows = [(f"{p} line 1", obj)]
    elif isinstance(obj, dict):  # TimeChat: {"<id>": {"timestamp": [[s, e]], ...}}
        out = {}
        for key, d in obj.items():
            if not isinstance(d, dict) or "timestamp" not in d:
                raise PredictionFileError(f"{p} key {key!r}: expected {{'timestamp': [[start, end]]}}")
            out[str(key)] = RawOutput(str(key), windows=_windows(f"{p} key {key!r}", d["timestamp"], 2))
        return out
    out = {}
    for where, d in rows:
        key, raw = _row(where, d)
        if key in out:
            raise PredictionFileError(f"{where}: query {key} has a second prediction")
        out[key] = raw
    return out


def match_predictions(
    preds: Mapping[str, RawOutput], samples: Sequence[Sample], path: Any, allow_partial: bool = False
) -> dict[str, RawOutput]:
    """Sample id → raw output (with ``sample_id`` set), checking coverage.

    Raises:
        PredictionFileError: predictions for ids that are not in the annotations.
        MissingPredictionsError: uncovered samples, unless ``allow_partial``.
    """
    by_key: dict[str, Sample] = {}
    for s in samples:
        by_key[s.id] = s
        if "qid" in s.meta:
            by_key.setdefault(str(s.meta["qid"]), s)
    unknown = [k for k in preds if k not in by_key]
    if unknown:
        raise PredictionFileError(
            f"{path}: {len(unknown)} prediction(s) for query ids not in the annotations "
            f"(first: {', '.join(unknown[:5])}); is this the right annotation file / split?"
        )
    out: dict[str, RawOutput] = {}
    for k, raw in preds.items():
        s = by_key[k]
        if s.id in out:
            raise PredictionFileError(f"{path}: sample {s.id} is predicted twice (as {s.id!r} and qid {k!r})")
        out[s.id] = RawOutput(
            s.id, text=raw.text, windows=raw.windows, saliency=raw.saliency, error=raw.error
        )
    missing = [s.id for s in samples if s.id not in out]
    if missing and not allow_partial:
        raise MissingPredictionsError(path, len(missing), len(samples), missing[:5])
    return out

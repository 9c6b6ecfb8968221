"""Temporal grounding (Charades-STA, QVHighlights): find the moment a sentence describes.

Answers are spans in seconds, parsed from text or given directly by a temporal head as ``[start, end, score]``
windows (plus a per-clip saliency curve for highlight detection); see :mod:`tpo_eval.tg.extract`.

``options.protocol`` picks the data and the scoring:

* ``charades_sta``: TimeChat's ``metrics/tvg/eval_tvg.py``: R1@0.3/0.5/0.7 (first window, hull IoU >= t) and
  mIoU (mean IoU, as lmms-eval adds it), in percent over **all** queries; an unparsed answer has IoU 0. The
  ``official`` extractor is TimeChat's text extraction (``tg_timechat``), ``lenient`` the harness's parser
  (``tg_span``); both are reported. Options: ``format`` (``auto`` or one of
  :data:`tpo_eval.tg.charades.FORMATS`), ``durations`` (file beside the annotations), ``clip_end_to_duration``
  (default false, as the reference: nothing is clipped; true clips the ground-truth ends past the video *and*
  every predicted span to the video's duration alike, see :func:`tpo_eval.tg.charades.clip_to_duration`). The
  results document records the choice under ``spans``.
* ``qvhighlights``: the official moment_detr metrics (:mod:`tpo_eval.tg.qvh`), named as the official evaluator
  names them (``MR-full-R1@0.5``, ``MR-full-mAP``, ``HL-min-VeryGood-Hit1``, …) plus ``MR-full-R1@0.3`` and
  ``MR-full-mIoU``; every per-range, per-threshold value is in the task's results too. ``clip_length``
  (seconds,
  default 2 as in QVHighlights) is the length of the clips that ``relevant_clip_ids`` and saliency curves
  count.

``options.outputs: frame_indices`` with ``frame_count`` (and ``frame_base``, default 1) reads text answers as
frame indices over that many frames (PLM style). Sample ids are ``<task>/<index>`` (Charades: the line number
of ``charades_sta_test.txt``) and ``<task>/<qid>`` (QVHighlights); ``meta["qid"]`` is the annotation's own id.

Here: options, extraction, scoring and aggregation. Reading annotations and prediction files is the base
class in ``temporal_grounding_data.py`` (its ``PROTOCOLS``, ``CHARADES_METRICS``, ``QVH_METRICS`` import from
here too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ..config import BenchmarkConfig
from ..registries import EXTRACTORS
from ..tg import charades, qvh
from ..tg.iou import hull_iou
from ..types import Answer, RawOutput, Sample, SampleScore
from .temporal_grounding_data import CHARADES_METRICS, PROTOCOLS, QVH_METRICS, TemporalGroundingData

__all__ = ["CHARADES_METRICS", "PARSE_CAP", "PROTOCOLS", "QVH_METRICS", "TemporalGroundingFamily"]

# Text answers are parsed from their first PARSE_CAP characters (recorded in results as
# spans.parse_cap_chars): a span answer is a few dozen characters, and both parsers are linear, so this only
# bounds runaway outputs.
PARSE_CAP = 20_000


class TemporalGroundingFamily(TemporalGroundingData):
    name = "temporal_grounding"
    kind = "span"
    option_keys = frozenset(
        {
            "protocol",
            "format",
            "durations",
            "clip_end_to_duration",
            "outputs",
            "frame_count",
            "frame_base",
            "video_ext",
            "clip_length",
        }
    )
    # The table columns depend on the protocol; load_task sets the instance's names for the loaded benchmark.
    metric_names: tuple[str, ...] = CHARADES_METRICS

    def validate(self, cfg: BenchmarkConfig) -> list[str]:
        errors = super().validate(cfg)
        o = cfg.options
        if o.get("protocol") not in PROTOCOLS:
            errors.append(
                f"options.protocol must be one of {', '.join(PROTOCOLS)}, got {o.get('protocol')!r}"
            )
        if o.get("format", "auto") not in ("auto",) + charades.FORMATS:
            errors.append(f"options.format must be auto or one of {', '.join(charades.FORMATS)}")
        if o.get("outputs", "seconds") not in ("seconds", "frame_indices"):
            errors.append("options.outputs must be 'seconds' or 'frame_indices'")
        if o.get("outputs") == "frame_indices" and not (
            isinstance(o.get("frame_count"), int) and o["frame_count"] > 0
        ):
            errors.append("options.outputs frame_indices needs a positive integer options.frame_count")
        cl = o.get("clip_length", qvh.CLIP_LENGTH)
        if isinstance(cl, bool) or not isinstance(cl, (int, float)) or cl <= 0:
            errors.append(f"options.clip_length must be a positive number of seconds, got {cl!r}")
        if not isinstance(o.get("clip_end_to_duration", False), bool):
            errors.append("options.clip_end_to_duration must be true or false")
        errors += [
            f"prompts.{n}.template must contain {{question}}"
            for n, p in cfg.prompts.items()
            if "{question}" not in p.template
        ]
        return errors

    # ---- extraction and scoring ----------------------------------------------------------------------------
    def extract(self, label: str, raw: RawOutput, sample: Sample, cfg: BenchmarkConfig) -> Answer:
        if raw.error is not None:
            return Answer(extractor=label, value=None, parsed=False)
        o = cfg.options
        frames = o.get("frame_count") if o.get("outputs") == "frame_indices" else None
        if len(raw.text) > PARSE_CAP:  # a runaway output (10 MB of tokens) must not stall scoring
            raw = dataclasses.replace(raw, text=raw.text[:PARSE_CAP])
        a = EXTRACTORS.get(cfg.extractors[label])(
            raw, sample, frame_count=frames, frame_base=o.get("frame_base", 1)
        )
        return Answer(extractor=label, value=a.value, parsed=a.parsed)

    def score(self, answer: Answer, sample: Sample) -> Mapping[str, float]:
        return self.score_batch(answer.extractor, [answer], [sample], [False])[0].values

    def score_sample(self, label: str, answer: Answer, sample: Sample, failed: bool) -> SampleScore:
        return self.score_batch(label, [answer], [sample], [failed])[0]

    def score_batch(
        self, label: str, answers: Sequence[Answer], samples: Sequence[Sample], failed: Sequence[bool]
    ) -> list[SampleScore]:
        """Score many samples at once (QVHighlights metrics are vectorised over queries). A failed or unparsed
        sample scores 0 on every metric it takes part in."""
        vals = [a.value if a.parsed and not f else None for a, f in zip(answers, failed)]
        if samples and samples[0].meta.get("protocol") == "qvhighlights":
            rows = qvh.per_query_values(
                [v["windows"] if v else None for v in vals],
                [v["saliency"] if v else None for v in vals],
                [s.meta for s in samples],
            )
        else:
            rows = [_charades_values(v, s) for v, s in zip(vals, samples)]
        return [
            SampleScore(
                sample_id=s.id, task=s.task, extractor=label, values=r, parsed=a.parsed and not f, failed=f
            )
            for s, a, f, r in zip(samples, answers, failed, rows)
        ]

    def score_all(
        self, cfg: BenchmarkConfig, samples: Sequence[Sample], outputs: Mapping[str, RawOutput]
    ) -> dict[str, list[SampleScore]]:
        """Extract with every declared extractor and score all samples in one vectorised pass per extractor
        (what ``api.score_outputs`` does sample by sample). A sample without an output is a failure."""
        raws = [outputs.get(s.id) or RawOutput(s.id, error="no prediction") for s in samples]
        failed = [r.error is not None for r in raws]
        return {
            label: self.score_batch(
                label, [self.extract(label, r, s, cfg) for r, s in zip(raws, samples)], samples, failed
            )
            for label in cfg.extractors
        }

    def aggregate(
        self, cfg: BenchmarkConfig, samples: Sequence[Sample], scores: Mapping[str, Sequence[SampleScore]]
    ) -> dict[str, Any]:
        if cfg.options.get("protocol") != "qvhighlights":
            doc = super().aggregate(cfg, samples, scores)
            clip = bool(cfg.options.get("clip_end_to_duration"))
            doc["spans"] = {
                "parse_cap_chars": PARSE_CAP,
                "clip_end_to_duration": clip,
                "n_gt_clipped": sum(bool(s.meta.get("clipped")) for s in samples),
                "clipped": "ground truth and predictions" if clip else "nothing",
            }
            return doc
        tasks: dict[str, dict[str, Any]] = {}
        overall: dict[str, Any] = {a: {} for a in cfg.aggregation}
        for t in dict.fromkeys(s.task for s in samples):
            tasks[t] = {"n_total": sum(s.task == t for s in samples), "n_parsed": {}}
        for label, rows in scores.items():
            for t in tasks:
                rs = [r for r in rows if r.task == t] if len(tasks) > 1 else list(rows)
                summary = qvh.summarize([r.values for r in rs])
                tasks[t].update({f"{label}/{k}": v for k, v in summary.items()})
                tasks[t]["n_parsed"][label] = sum(r.parsed for r in rs)
                tasks[t]["n_failed"] = sum(r.failed for r in rs)
            # The official metrics are not means of task means, so every aggregation is over all queries.
            if len(tasks) != 1:
                summary = qvh.summarize([r.values for r in rows])
            for agg in overall.values():
                agg.update({f"{label}/{k}": v for k, v in summary.items()})
        overall.update(
            n_total=len(samples),
            n_failed=sum(t["n_failed"] for t in tasks.values()),
            n_parsed={lb: sum(t["n_parsed"][lb] for t in tasks.values()) for lb in scores},
        )
        return {"tasks": tasks, "overall": overall}


def _charades_values(value: Optional[Mapping[str, Any]], sample: Sample) -> dict[str, float]:
    """R1 hits and the IoU of the first window (named ``mIoU`` so the generic mean gives the benchmark's
    mIoU)."""
    if not (value and value["windows"]):
        return {"R1@0.3": 0.0, "R1@0.5": 0.0, "R1@0.7": 0.0, "mIoU": 0.0}
    span = value["windows"][0][:2]
    if sample.meta.get("clip_to_duration"):  # the same clip the loader applied to the ground truth
        span = charades.clip_to_duration(span, sample.duration)
    iou = hull_iou(span, sample.target)
    return {
        "R1@0.3": float(iou >= 0.3),
        "R1@0.5": float(iou >= 0.5),
        "R1@0.7": float(iou >= 0.7),
        "mIoU": iou,
    }

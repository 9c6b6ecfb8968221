"""From raw outputs to scores and the results document: each sample extracted and scored once with every
declared extractor (:func:`row_scores`, when the runner writes its row), the scores read back from the rows
(:func:`scores_from_rows`), outputs made elsewhere scored in one pass (:func:`score_outputs`), and the
document aggregated from them (:func:`results_doc`).

Split from ``pipeline.py`` (run settings, samples, provenance), which re-exports every name here, so the
scoring path reads in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config import BenchmarkConfig
from .families.base import TaskFamily
from .records import SCHEMA_VERSION, raw_from_row
from .selection import ids_digest
from .types import RawOutput, Sample, SampleScore


@dataclass(frozen=True)
class Scored:
    """Per-sample scores per extractor label, and the results document built from them."""

    scores: Mapping[str, Sequence[SampleScore]]
    doc: dict[str, Any]


def score_outputs(
    cfg: BenchmarkConfig, family: TaskFamily, samples: Sequence[Sample], outputs: Mapping[str, RawOutput]
) -> Scored:
    """Extract with every declared extractor and score every sample, for outputs made elsewhere
    (``tpo-eval score``). A sample without an output, or with an error, is a failure: it scores 0 and stays
    in every denominator."""
    scores = family.score_all(cfg, samples, outputs)
    return Scored(scores=scores, doc=results_doc(cfg, family, samples, scores))


def row_scores(
    cfg: BenchmarkConfig, family: TaskFamily, sample: Sample, raw: RawOutput
) -> tuple[dict[str, Any], dict[str, SampleScore]]:
    """One sample extracted and scored with every declared extractor, as the runner does when it writes the
    sample's row: the serialised answer and the score per label. The row keeps both, and
    :func:`scores_from_rows` reads the scores back for ``results.json`` (no second pass)."""
    answers, scores = {}, {}
    for label in cfg.extractors:
        a = family.extract(label, raw, sample, cfg)
        answers[label] = family.serialize_answer(a)
        scores[label] = family.score_sample(label, a, sample, raw.error is not None)
    return answers, scores


def scores_from_rows(
    cfg: BenchmarkConfig, family: TaskFamily, samples: Sequence[Sample], rows: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[SampleScore]]:
    """The per-sample scores the rows recorded when they were written, per label in sample order. A sample
    without a row, or a row without scores for a label (written by an older version), is scored from its raw
    output here."""
    scores: dict[str, list[SampleScore]] = {label: [] for label in cfg.extractors}
    for s in samples:
        row = rows.get(s.id)
        recorded = (row or {}).get("scores") or {}
        parsed = (row or {}).get("parsed") or {}
        if row is not None and all(label in recorded and label in parsed for label in cfg.extractors):
            for label in cfg.extractors:
                scores[label].append(
                    SampleScore(
                        sample_id=s.id,
                        task=s.task,
                        extractor=label,
                        values=dict(recorded[label]),
                        parsed=bool(parsed[label]),
                        failed=row.get("error") is not None,
                    )
                )
            continue
        raw = raw_from_row(row) if row is not None else RawOutput(s.id, error="no prediction")
        for label, sc in row_scores(cfg, family, s, raw)[1].items():
            scores[label].append(sc)
    return scores


def results_doc(
    cfg: BenchmarkConfig,
    family: TaskFamily,
    samples: Sequence[Sample],
    scores: Mapping[str, Sequence[SampleScore]],
) -> dict[str, Any]:
    """The results document (without provenance) aggregated from per-sample scores."""
    agg = family.aggregate(cfg, samples, scores)
    metrics = [f"{label}/{m}" for label in cfg.extractors for m in family.metric_names]
    return {
        "schema_version": SCHEMA_VERSION,
        "benchmark": cfg.name,
        "benchmark_version": cfg.version,
        "family": cfg.family,
        "extractors": dict(cfg.extractors),
        "primary": cfg.primary or metrics[0],
        "metrics": metrics,
        "aggregation": list(cfg.aggregation),
        **agg,
        "sample_ids_sha256": ids_digest(samples),
    }

"""The task-family contract. A benchmark YAML names a family; the family turns annotation files into
:class:`Sample` records, samples into prompts, raw outputs into answers (via named extractors) and answers
into per-sample metric values, then aggregates them.

Failures are never dropped: an unparsed answer or a failed sample scores 0 on every metric and stays in every
denominator (``n_total`` counts all samples, ``n_parsed``/``n_failed`` say how many were usable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Optional

from ..config import BenchmarkConfig, DataPaths, TaskSpec
from ..registries import EXTRACTORS
from ..types import Answer, Prompt, RawOutput, RequestKind, Sample, SampleScore


class AnnotationError(ValueError):
    """A malformed annotation file or item; the message names the file and the item."""

    def __init__(self, path: Any, item: Any, msg: str) -> None:
        where = f"{path}" + (f" item {item}" if item is not None else "")
        super().__init__(f"{where}: {msg}")


class TaskFamily:
    """Base class with the generic parts; families override load/prompt/score as needed.

    Optional hooks have working defaults here, so callers never probe for them: :meth:`prompt_fields` (extra
    template fields), :meth:`score_all` (vectorised scoring), :meth:`samples_from_predictions` (gold answers
    carried by an official predictions file) and :meth:`export_official` (with ``exports_official``).
    """

    name: ClassVar[str] = ""
    kind: ClassVar[RequestKind] = "mcq"
    option_keys: ClassVar[frozenset[str]] = frozenset()
    metric_names: ClassVar[tuple[str, ...]] = ("acc",)
    # Overall aggregations the family computes (MMIU adds macro_released, the official script's mean).
    aggregations: ClassVar[frozenset[str]] = frozenset({"micro", "macro"})
    # Whether :meth:`export_official` writes the benchmark's official submission format (Video-MME).
    exports_official: ClassVar[bool] = False

    # ---- config
    # ---------------------------------------------------------------------------------------------
    def validate(self, cfg: BenchmarkConfig) -> list[str]:
        """Family-specific checks on a parsed config; return every problem found."""
        errors = [
            f"options: unknown key {k!r} for family {self.name!r}"
            for k in sorted(set(cfg.options) - self.option_keys)
        ]
        errors += [
            f"aggregation: family {self.name!r} does not compute {a!r}"
            for a in cfg.aggregation
            if a not in self.aggregations
        ]
        return errors

    # ---- data
    # -----------------------------------------------------------------------------------------------
    def load_task(self, cfg: BenchmarkConfig, task: TaskSpec, paths: DataPaths) -> list[Sample]:
        raise NotImplementedError

    def load(
        self, cfg: BenchmarkConfig, paths: DataPaths, tasks: Optional[Sequence[str]] = None
    ) -> list[Sample]:
        """All samples of the selected tasks, in config order."""
        out: list[Sample] = []
        for t in cfg.tasks:
            if tasks is None or t.name in tasks:
                out.extend(self.load_task(cfg, t, paths))
        return out

    def annotation_files(
        self, cfg: BenchmarkConfig, paths: DataPaths, tasks: Optional[Sequence[str]] = None
    ) -> dict[str, Any]:
        """Annotation file per task (for provenance hashes)."""
        d = paths.annotation_dir(cfg)
        return {t.name: d / t.annotation for t in cfg.tasks if tasks is None or t.name in tasks}

    # ---- prompting
    # ------------------------------------------------------------------------------------------
    def build_prompt(
        self,
        sample: Sample,
        cfg: BenchmarkConfig,
        variant: Optional[str] = None,
        timestamps: Sequence[float] = (),
    ) -> Prompt:
        """The request prompt. ``timestamps`` (seconds) are the sampled frames' times, for prompts that depend
        on them (e.g. Video-MME subtitles for the sampled frames); empty when nothing was decoded."""
        p = cfg.prompt(variant)
        return Prompt(
            system=p.system,
            user=p.template.format(question=sample.question) + p.suffix,
            assistant_prefix=p.assistant_prefix,
        )

    def prompt_fields(
        self, sample: Sample, cfg: BenchmarkConfig, timestamps: Sequence[float]
    ) -> dict[str, str]:
        """Extra template fields besides ``{question}`` (and ``{options}`` in the MCQ families): Video-MME
        subtitles for the sampled frames, MMIU's context. Default: none."""
        return {}

    # ---- extraction and scoring
    # -----------------------------------------------------------------------------
    def extract(self, label: str, raw: RawOutput, sample: Sample, cfg: BenchmarkConfig) -> Answer:
        """Run the extractor that ``cfg.extractors[label]`` names; a failed sample is never parsed."""
        if raw.error is not None:
            return Answer(extractor=label, value=None, parsed=False)
        a = EXTRACTORS.get(cfg.extractors[label])(raw, sample)
        return Answer(extractor=label, value=a.value, parsed=a.parsed)

    def score(self, answer: Answer, sample: Sample) -> Mapping[str, float]:
        """Per-sample metric values (0 for unparsed answers)."""
        raise NotImplementedError

    def score_sample(self, label: str, answer: Answer, sample: Sample, failed: bool) -> SampleScore:
        values = {m: 0.0 for m in self.metric_names} if failed else dict(self.score(answer, sample))
        return SampleScore(
            sample_id=sample.id,
            task=sample.task,
            extractor=label,
            values=values,
            parsed=answer.parsed and not failed,
            failed=failed,
        )

    def score_all(
        self, cfg: BenchmarkConfig, samples: Sequence[Sample], outputs: Mapping[str, RawOutput]
    ) -> dict[str, list[SampleScore]]:
        """Every sample extracted with every declared extractor and scored, per label in sample order. A
        sample without an output is a failure. Families whose metrics vectorise (QVHighlights) override
        this one pass."""
        scores: dict[str, list[SampleScore]] = {label: [] for label in cfg.extractors}
        for s in samples:
            raw = outputs.get(s.id) or RawOutput(s.id, error="no prediction")
            for label in cfg.extractors:
                ans = self.extract(label, raw, s, cfg)
                scores[label].append(self.score_sample(label, ans, s, raw.error is not None))
        return scores

    def aggregate(
        self, cfg: BenchmarkConfig, samples: Sequence[Sample], scores: Mapping[str, Sequence[SampleScore]]
    ) -> dict[str, Any]:
        """Default aggregation: per task, mean of each per-sample metric in percent; overall micro and/or
        macro."""
        from ..metrics import aggregate_means

        return aggregate_means(cfg, samples, scores, self.metric_names)

    def read_predictions(
        self,
        path: Path,
        cfg: BenchmarkConfig,
        samples: Sequence[Sample],
        allow_partial: Optional[bool] = None,
    ) -> dict[str, RawOutput]:
        """Outputs made elsewhere, by sample id. Default: JSONL (or a JSON list) of ``{"id", "output"}`` rows,
        which includes a run's own predictions.jsonl (its ``windows``/``saliency``/``error`` are kept).
        Families with official prediction formats override this; they may check coverage themselves
        (``allow_partial`` False/True) — :func:`tpo_eval.api.score_file` checks it again either way."""
        from ..io import read_jsonl
        from ..records import raw_from_row

        text_start = path.read_text(encoding="utf-8")[:1].strip() if path.is_file() else ""
        if text_start == "[":
            import json

            rows = json.loads(path.read_text(encoding="utf-8"))
        else:
            rows = read_jsonl(path)
        out: dict[str, RawOutput] = {}
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict) or "id" not in row or ("output" not in row and "error" not in row):
                raise AnnotationError(path, f"row {n}", "expected an object with 'id' and 'output'")
            if str(row["id"]) in out:
                raise AnnotationError(path, f"row {n}", f"duplicate prediction for id {row['id']!r}")
            out[str(row["id"])] = raw_from_row(row)
        return out

    def samples_from_predictions(self, path: Path, cfg: BenchmarkConfig) -> Optional[list[Sample]]:
        """Samples (with gold answers) read from a predictions file that carries them, for ``tpo-eval score``
        without annotations (Video-MME's official result format does). Default: None, annotations are
        needed."""
        return None

    def export_official(self, samples: Sequence[Sample], outputs: Mapping[str, RawOutput]) -> Any:
        """The run in the benchmark's official submission format (a JSON value), for ``tpo-eval export``;
        only families with ``exports_official`` have one."""
        raise NotImplementedError(f"family {self.name!r} has no official submission format")

    def serialize_answer(self, answer: Answer) -> Any:
        """JSON form of an extracted value (for predictions.jsonl)."""
        return answer.value

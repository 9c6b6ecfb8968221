"""Multiple-choice video QA (MVBench and friends).

Annotation items are ``{"video", "question", "candidates": [...], "answer": <text of one candidate>}`` plus
``start``/``end`` (seconds) for bound tasks and ``fps`` for frame folders. The gold option is the position of
``answer`` in ``candidates``. Options are lettered A, B, C … in file order (never shuffled: answer positions
are unbalanced, so shuffling changes results).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from ..config import BenchmarkConfig, DataPaths, TaskSpec
from ..extract.mcq import LETTERS, check_ans
from ..types import Answer, Media, Prompt, Sample, freeze_meta
from .base import AnnotationError, TaskFamily


class MCQFamily(TaskFamily):
    name = "mcq"
    kind = "mcq"
    option_keys = frozenset({"option_format", "option_separator", "rstrip_question"})
    metric_names = ("acc",)

    def validate(self, cfg: BenchmarkConfig) -> list[str]:
        errors = super().validate(cfg)
        fmt = cfg.options.get("option_format", "({letter}) {text}")
        if "{letter}" not in fmt or "{text}" not in fmt:
            errors.append("options.option_format must contain {letter} and {text}")
        for name, p in cfg.prompts.items():
            if "{question}" not in p.template or "{options}" not in p.template:
                errors.append(f"prompts.{name}.template must contain {{question}} and {{options}}")
        return errors

    # ---- data
    # -----------------------------------------------------------------------------------------------
    def load_task(self, cfg: BenchmarkConfig, task: TaskSpec, paths: DataPaths) -> list[Sample]:
        path = paths.annotation_dir(cfg) / task.annotation
        items = _read_json_list(path)
        media_root = paths.media_dir(cfg, task)
        return [self._sample(task, path, i, it, media_root) for i, it in enumerate(items)]

    def _sample(self, task: TaskSpec, path: Path, i: int, it: Any, media_root: Path) -> Sample:
        if not isinstance(it, dict):
            raise AnnotationError(path, i, f"expected an object, got {type(it).__name__}")
        missing = [k for k in ("video", "question", "candidates", "answer") if k not in it]
        if missing:
            raise AnnotationError(path, i, f"missing field(s) {', '.join(missing)}")
        wrong = [k for k in ("video", "question") if not isinstance(it[k], str)]
        if wrong:
            raise AnnotationError(
                path,
                i,
                f"field(s) {', '.join(wrong)} must be strings, got "
                f"{', '.join(type(it[k]).__name__ for k in wrong)}",
            )
        cands = it["candidates"]
        if not isinstance(cands, list) or not cands or not all(isinstance(c, str) for c in cands):
            raise AnnotationError(path, i, "'candidates' must be a non-empty list of strings")
        if len(cands) > len(LETTERS):
            raise AnnotationError(path, i, f"{len(cands)} candidates: more than {len(LETTERS)} letters")
        if it["answer"] not in cands:
            raise AnnotationError(path, i, f"answer {it['answer']!r} is not one of the candidates {cands}")
        bound = None
        if task.bound:
            try:
                bound = (float(it["start"]), float(it["end"]))
            except (KeyError, TypeError, ValueError):
                raise AnnotationError(  # noqa: B904 - the message says what is wrong; the KeyError adds nothing
                    path, i, f"task {task.name} is bound but start/end are missing or not numbers"
                )
        fps = float(it.get("fps", task.fps)) if task.read_mode == "frames" else None
        meta = {k: v for k, v in it.items() if k not in ("video", "question", "candidates", "answer")}
        return Sample(
            id=f"{task.name}/{i}",
            task=task.name,
            # type: ignore[arg-type]
            media=Media(paths=(str(media_root / it["video"]),), mode=task.read_mode, fps=fps, bound=bound),
            question=str(it["question"]),
            choices=tuple(cands),
            target=cands.index(it["answer"]),
            meta=freeze_meta(meta),
        )

    # ---- prompting
    # ------------------------------------------------------------------------------------------
    def build_prompt(
        self,
        sample: Sample,
        cfg: BenchmarkConfig,
        variant: Optional[str] = None,
        timestamps: Sequence[float] = (),
    ) -> Prompt:
        p = cfg.prompt(variant)
        fmt = cfg.options.get("option_format", "({letter}) {text}")
        sep = cfg.options.get("option_separator", "\n")
        options = sep.join(fmt.format(letter=LETTERS[i], text=c) for i, c in enumerate(sample.choices))
        body = p.template.format(
            question=sample.question, options=options, **self.prompt_fields(sample, cfg, timestamps)
        )
        if cfg.options.get("rstrip_question", True):
            body = body.rstrip()
        return Prompt(system=p.system, user=body + p.suffix, assistant_prefix=p.assistant_prefix)

    # ---- scoring
    # --------------------------------------------------------------------------------------------
    def score(self, answer: Answer, sample: Sample) -> Mapping[str, float]:
        if isinstance(answer.value, str):  # an official token: the notebook's substring rule decides
            return {"acc": float(check_ans(answer.value, sample.target))}
        return {"acc": float(answer.parsed and answer.value == sample.target)}


def _read_json_list(path: Path) -> list[Any]:
    if not path.is_file():
        raise AnnotationError(path, None, "annotation file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise AnnotationError(
            path, None, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    if not isinstance(data, list):
        raise AnnotationError(path, None, f"expected a JSON list of items, got {type(data).__name__}")
    return data

"""Shared machinery for multiple-choice benchmarks whose tasks all live in one annotation file (Video-MME,
PerceptionTest, MMIU): file-or-folder annotation sources, JSON/JSONL/parquet readers, extra prompt fields,
official denominators and breakdown tables.

Denominators. An official scorer may leave a sample out of its count (Video-MME counts only answered
questions;
MMIU skips rows its judge could not grade). Extractors say so through the answer's value (the family lists the
values in ``excluded_values``); :meth:`score` then adds ``"excluded": 1.0`` to the sample's values, and the
aggregation drops it from that extractor's denominator only, reporting how many it dropped in ``n_excluded``.
A failed sample (no output at all) is never excluded: it scores 0 everywhere.

Breakdowns. ``breakdown_keys`` names ``Sample.meta`` fields; the results document gets
``{"breakdown": {key: {value: {<label>/acc, n_total, n_failed, n_parsed, n_excluded}}}}`` computed with the
same
denominators as the tasks. A list-valued field (PerceptionTest ``tag``) puts a sample in every group it lists.
"""

from __future__ import annotations

import json
import re
import string
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Optional

from ..config import BenchmarkConfig, DataPaths, TaskSpec
from ..extract.mcq import LETTERS
from ..io import JSONLError, iter_jsonl
from ..types import Answer, Sample, SampleScore
from .base import AnnotationError, TaskFamily
from .mcq import MCQFamily

EXCLUDED = "excluded"


def read_table(path: Path) -> list[Any]:
    """Rows of a ``.parquet`` / ``.jsonl`` file, or the top-level value of a ``.json`` file (any shape)."""
    if not path.is_file():
        raise AnnotationError(path, None, "annotation file not found")
    if path.suffix == ".parquet":
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds; the message says which file
            raise AnnotationError(path, None, f"cannot read parquet: {e}") from None
        return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        try:
            return [row for _, row in iter_jsonl(path, text)]
        except JSONLError as e:
            raise AnnotationError(path, f"line {e.line}", f"invalid JSON ({e.msg})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationError(
            path, None, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None


def _plain(v: Any) -> Any:
    """numpy arrays/scalars from parquet → lists/str/int, and a missing cell (NaN) → None, so rows look like
    their JSON counterparts."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    return None if isinstance(v, float) and v != v else v


def require(path: Path, item: Any, row: Any, keys: Sequence[str]) -> None:
    if not isinstance(row, dict):
        raise AnnotationError(path, item, f"expected an object, got {type(row).__name__}")
    missing = [k for k in keys if k not in row or row[k] is None]
    if missing:
        raise AnnotationError(path, item, f"missing field(s) {', '.join(missing)}")


def letter_index(path: Path, item: Any, letter: Any, n_options: int) -> int:
    """Gold option index from a letter (``"C"``, ``"c"``, ``" C "``); must name one of ``n_options``."""
    s = str(letter).strip().upper()
    if len(s) != 1 or s not in LETTERS[:n_options]:
        raise AnnotationError(
            path, item, f"answer {letter!r} is not one of the option letters {', '.join(LETTERS[:n_options])}"
        )
    return LETTERS.index(s)


_LETTERED = re.compile(r"^\s*\(?([A-Z])\s*[.:)]\s?")


def unletter(path: Path, item: Any, options: Sequence[str]) -> tuple[str, ...]:
    """Option texts without their ``"A. "`` / ``"A:"`` / ``"(A)"`` prefixes. A prefix naming another option of
    this question (``"C:"`` in second place) is an error; other text (``"U.S. troops"``) is kept as
    written."""
    out = []
    for i, o in enumerate(options):
        m = _LETTERED.match(o)
        if m and m.group(1) != LETTERS[i] and m.group(1) in LETTERS[: len(options)]:
            raise AnnotationError(
                path, item, f"option {i} is lettered {m.group(1)!r}, expected {LETTERS[i]!r}"
            )
        out.append(o[m.end() :].strip() if m and m.group(1) == LETTERS[i] else o.strip())
    return tuple(out)


class MultiTaskMCQFamily(MCQFamily):
    """An MCQ family whose annotation file(s) hold every task; subclasses implement :meth:`read_file`."""

    breakdown_keys: ClassVar[tuple[str, ...]] = ()
    excluded_values: ClassVar[frozenset] = frozenset()
    # Template fields a prompt may use besides {question}; at least one of ``answer_fields`` must appear.
    prompt_field_names: ClassVar[tuple[str, ...]] = ()
    answer_fields: ClassVar[tuple[str, ...]] = ("options",)

    def validate(self, cfg: BenchmarkConfig) -> list[str]:
        errors = TaskFamily.validate(self, cfg)
        fmt = cfg.options.get("option_format", "({letter}) {text}")
        if "{letter}" not in fmt or "{text}" not in fmt:
            errors.append("options.option_format must contain {letter} and {text}")
        allowed = {"question", "options", *self.prompt_field_names}
        for name, p in cfg.prompts.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(p.template) if f is not None}
            for f in sorted(fields - allowed):
                errors.append(
                    f"prompts.{name}.template: unknown field {{{f}}}; allowed: "
                    + ", ".join(f"{{{a}}}" for a in sorted(allowed))
                )
            if "question" not in fields or not fields & set(self.answer_fields):
                errors.append(
                    f"prompts.{name}.template must contain {{question}} and one of "
                    + ", ".join(f"{{{a}}}" for a in self.answer_fields)
                )
        return errors

    # ---- data
    # -----------------------------------------------------------------------------------------------
    def annotation_files(
        self, cfg: BenchmarkConfig, paths: DataPaths, tasks: Optional[Sequence[str]] = None
    ) -> dict[str, Any]:
        chosen = [t for t in cfg.tasks if tasks is None or t.name in tasks]
        if (
            paths.annotations is not None and paths.annotations.is_file()
        ):  # --annotations names the file itself
            return {t.name: paths.annotations for t in chosen}
        d = paths.annotation_dir(cfg)
        return {t.name: d / t.annotation for t in chosen}

    def read_file(self, cfg: BenchmarkConfig, path: Path, paths: DataPaths) -> list[Sample]:
        """Every sample in ``path``, ``Sample.task`` set to a task name of ``cfg`` (else AnnotationError);
        media paths under ``paths.media_dir(cfg, cfg.task(task))``."""
        raise NotImplementedError

    def load(
        self, cfg: BenchmarkConfig, paths: DataPaths, tasks: Optional[Sequence[str]] = None
    ) -> list[Sample]:
        """Each distinct annotation file is read once; samples come in config task order, then file order."""
        files = self.annotation_files(cfg, paths, tasks)
        by_task: dict[str, list[Sample]] = defaultdict(list)
        seen: dict[str, Path] = {}
        for path in dict.fromkeys(Path(p) for p in files.values()):
            for s in self.read_file(cfg, path, paths):
                if s.id in seen:
                    raise AnnotationError(path, s.id, f"duplicate sample id (also in {seen[s.id]})")
                seen[s.id] = path
                if s.task in files:
                    by_task[s.task].append(s)
        return [s for t in cfg.tasks if t.name in files for s in by_task[t.name]]

    def load_task(self, cfg: BenchmarkConfig, task: TaskSpec, paths: DataPaths) -> list[Sample]:
        return self.load(cfg, paths, [task.name])

    @staticmethod
    def router(cfg: BenchmarkConfig, keys: Callable[[TaskSpec], Sequence[str]]) -> dict[str, str]:
        """Normalised name → task name, from every alias ``keys(task)`` gives (case and punctuation
        ignored)."""
        return {norm_key(k): t.name for t in cfg.tasks for k in (t.name, *keys(t))}

    # ---- scoring
    # --------------------------------------------------------------------------------------------
    def letter_correct(self, value: str, sample: Sample) -> bool:
        return value.strip().upper() == LETTERS[sample.target]

    def score(self, answer: Answer, sample: Sample) -> Mapping[str, float]:
        v = answer.value
        if isinstance(v, str) and v in self.excluded_values:
            return {"acc": 0.0, EXCLUDED: 1.0}
        if isinstance(v, str):
            return {"acc": float(self.letter_correct(v, sample))}
        return {"acc": float(answer.parsed and v == sample.target)}

    def aggregate(
        self, cfg: BenchmarkConfig, samples: Sequence[Sample], scores: Mapping[str, Sequence[SampleScore]]
    ) -> dict[str, Any]:
        cell = _Cells(list(scores), scores, self.metric_names)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            groups[s.task].append(i)
        order = [t.name for t in cfg.tasks if t.name in groups]
        tasks = {t: cell(groups[t]) for t in order}
        overall: dict[str, Any] = {}
        everything = cell(range(len(samples)))
        keys = [f"{lb}/{m}" for lb in scores for m in self.metric_names]
        if "micro" in cfg.aggregation:
            overall["micro"] = {k: everything[k] for k in keys}
        if "macro" in cfg.aggregation:
            overall["macro"] = {
                k: (sum(tasks[t][k] for t in order) / len(order) if order else 0.0) for k in keys
            }
        overall.update({k: everything[k] for k in ("n_total", "n_failed", "n_parsed", "n_excluded")})
        return {"tasks": tasks, "overall": overall, "breakdown": self.breakdown(samples, cell)}

    def breakdown(
        self, samples: Sequence[Sample], cell: Callable[[Sequence[int]], dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in self.breakdown_keys:
            groups: dict[str, list[int]] = {}
            for i, s in enumerate(samples):
                v = s.meta.get(key)
                for g in v if isinstance(v, (list, tuple)) else [v]:
                    groups.setdefault(str(g), []).append(i)
            out[key] = {g: cell(idx) for g, idx in groups.items()}
        return out


class _Cells:
    """One results cell (a task, a breakdown group, the whole run) from sample indices."""

    def __init__(
        self, labels: list[str], scores: Mapping[str, Sequence[SampleScore]], metrics: Sequence[str]
    ):
        self.labels, self.scores, self.metrics = labels, scores, metrics

    def __call__(self, idx: Sequence[int]) -> dict[str, Any]:
        idx = list(idx)
        first = self.scores[self.labels[0]] if self.labels else []
        out: dict[str, Any] = {
            "n_total": len(idx),
            "n_failed": sum(first[i].failed for i in idx),
            "n_parsed": {},
            "n_excluded": {},
        }
        for label in self.labels:
            rows = [self.scores[label][i] for i in idx]
            kept = [r for r in rows if not r.values.get(EXCLUDED)]
            for m in self.metrics:
                out[f"{label}/{m}"] = (
                    100.0 * sum(r.values.get(m, 0.0) for r in kept) / len(kept) if kept else 0.0
                )
            out["n_parsed"][label] = sum(r.parsed for r in rows)
            out["n_excluded"][label] = len(rows) - len(kept)
        return out


def norm_key(name: Any) -> str:
    return re.sub(r"[^a-z0-9+]+", "_", str(name).strip().lower()).strip("_")

"""MMIU (Meng et al., 2024): multi-image multiple-choice questions over 52 tasks (benchmarks/mmiu.yaml).

Rows come flat (HF parquet, official ``metadata_info.json`` lists: ``task, question, context, options,
input_image_path, output``) or nested (InternVL ``mmiu.jsonl``: ``input: {input_image_path, question,
context}``,
``output: {output_text}``). ``options`` is one string, an option per line, optionally prefixed ``"A:"`` (blank
lines skipped); up to 14 options (letters A–N). The ``task`` field names the released *source-level* task
(60 values, e.g. ``casuality_reasoning_var``); the YAML's 52 paper tasks list them under ``extra.sources``
with
the seed Table 2 abbreviation (``extra.abbr``) and full name (``extra.title``). Results: per paper task, and
``breakdown.source`` per released task; three overalls, each named:

* ``macro``: the paper's Overall, the unweighted mean over its 52 tasks (what ``verify`` checks);
* ``macro_released``: what the official ``evaluate_correct.py`` prints, the mean over the released task
  directories present in the run (60 in the full release: ``casuality_reasoning_next_qa`` and
  ``casuality_reasoning_var`` count separately). A directory whose every row was excluded (judge errors) would
  stop the official script with a division by zero; here it is left out of the mean and counted in
  ``n_sources_empty``;
* ``micro``: the mean over questions.

Sample ids are ``<source task>/<n>``, n counting that task's rows.

Real rows can carry a gold letter past their options (``casuality_reasoning_var`` has an ``F`` for a 4-option
question); they are kept and scored as the official script does, and counted in a warning.

LLM judge (off by default): ``options.judge: {model: NAME[:VARIANT], ckpt: ..., model_args: {...}, prompt:
...}``
sends every output the official rule leaves unparsed to that model adapter (a ``generate`` request) and takes
its reply as the choice; a judge failure is the official "GPT error": out of the denominator, counted in
``n_excluded``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import BenchmarkConfig, DataPaths
from ..extract import mmiu as ex
from ..extract.mcq import LETTERS
from ..types import Answer, Media, Prompt, RawOutput, Request, Sample, SampleScore, freeze_meta
from .base import AnnotationError
from .mcq_variants import MultiTaskMCQFamily, norm_key, read_table, require, unletter

MAX_OPTIONS = len(ex.OFFICIAL_LETTERS)


class MMIUFamily(MultiTaskMCQFamily):
    name = "mmiu"
    kind = "multi_image"
    option_keys = MultiTaskMCQFamily.option_keys | {"judge"}
    breakdown_keys = ("source",)
    excluded_values = frozenset({ex.JUDGE_ERROR})
    aggregations = frozenset({"micro", "macro", "macro_released"})
    prompt_field_names = ("context",)
    answer_fields = ("options", "context")

    def validate(self, cfg: BenchmarkConfig) -> list[str]:
        errors = super().validate(cfg)
        judge = cfg.options.get("judge")
        if judge is not None and not (isinstance(judge, dict) and isinstance(judge.get("model"), str)):
            errors.append("options.judge must be null (off) or a mapping with a 'model' adapter name")
        return errors

    # ---- data
    # -----------------------------------------------------------------------------------------------
    def read_file(self, cfg: BenchmarkConfig, path: Path, paths: DataPaths) -> list[Sample]:
        route = self.router(
            cfg, lambda t: (t.extra.get("abbr", ""), t.extra.get("title", ""), *t.extra.get("sources", ()))
        )
        data = read_table(path)
        if not isinstance(data, list):
            raise AnnotationError(path, None, f"expected a list of rows, got {type(data).__name__}")
        counters: dict[str, int] = {}
        out, outside = [], 0
        for i, raw in enumerate(data):
            row = _flatten(path, i, raw)
            source = str(row["task"])
            task = route.get(norm_key(source))
            if task is None:
                raise AnnotationError(
                    path,
                    i,
                    f"task {source!r} is not one of the 52 MMIU tasks in {cfg.path} "
                    "(names, abbreviations, titles or extra.sources)",
                )
            choices = _options(path, i, row["options"])
            gold = str(row["output"]).strip().upper()
            if len(gold) != 1 or gold not in LETTERS[:MAX_OPTIONS]:
                raise AnnotationError(path, i, f"output {row['output']!r} is not an option letter A-N")
            outside += LETTERS.index(gold) >= len(choices)
            images = row["input_image_path"]
            if isinstance(images, str):
                images = [images]
            if not isinstance(images, list) or not images:
                raise AnnotationError(path, i, "'input_image_path' must be a non-empty list of paths")
            n = counters[source] = counters.get(source, -1) + 1
            root = paths.media_dir(cfg, cfg.task(task))
            context = row.get("context") or "Select from the following choices.\n" + "\n".join(
                f"{LETTERS[k]}: {c}" for k, c in enumerate(choices)
            )
            out.append(
                Sample(
                    id=f"{source}/{n}",
                    task=task,
                    question=str(row["question"]),
                    choices=choices,
                    target=LETTERS.index(gold),
                    media=Media(paths=tuple(str(root / p) for p in images), mode="images"),
                    meta=freeze_meta({"source": source, "context": str(context), "gold": gold}),
                )
            )
        if outside:
            print(
                f"[tpo-eval] warning: {path}: {outside} question(s) have a gold letter outside their "
                "options; kept and scored as the official script does",
                file=sys.stderr,
            )
        return out

    def aggregate(
        self, cfg: BenchmarkConfig, samples: Sequence[Sample], scores: Mapping[str, Sequence[SampleScore]]
    ) -> dict[str, Any]:
        doc = super().aggregate(cfg, samples, scores)
        if "macro_released" in cfg.aggregation:
            doc["overall"] = _with_released_mean(
                doc["overall"], doc["breakdown"]["source"], list(scores), self.metric_names
            )
        return doc

    # ---- prompting, extraction, scoring
    # ---------------------------------------------------------------------
    def prompt_fields(
        self, sample: Sample, cfg: BenchmarkConfig, timestamps: Sequence[float]
    ) -> dict[str, str]:
        return {"context": str(sample.meta.get("context", ""))}

    def letter_correct(self, value: str, sample: Sample) -> bool:
        return ex.official_correct(value, LETTERS[sample.target])

    def extract(self, label: str, raw: RawOutput, sample: Sample, cfg: BenchmarkConfig) -> Answer:
        a = super().extract(label, raw, sample, cfg)
        judge = cfg.options.get("judge")
        if a.parsed or raw.error is not None or not judge or cfg.extractors[label] != "mmiu_official":
            return a
        if raw.text.strip() in ex.ERROR_OUTPUTS:  # the official script never sends these to its judge
            return a
        return Answer(extractor=label, value=self._ask_judge(judge, raw, sample), parsed=True)

    def _ask_judge(self, judge: dict[str, Any], raw: RawOutput, sample: Sample) -> str:
        from ..models.base import build_model

        if getattr(self, "_judge", None) is None:
            self._judge = build_model(
                judge["model"],
                ckpt=judge.get("ckpt"),
                **{str(k): v for k, v in (judge.get("model_args") or {}).items()},
            )
        text = ex.judge_prompt(
            judge.get("prompt", ex.DEFAULT_JUDGE_TEMPLATE), sample.question, sample.choices, raw.text.strip()
        )
        req = Request(sample_id=sample.id, kind="generate", prompt=Prompt(system="", user=text))
        try:
            out = self._judge.predict([req])[0]
        except Exception as e:  # noqa: BLE001 - any judge failure is the official "GPT error"
            print(f"[tpo-eval] judge failed on {sample.id}: {e}", file=sys.stderr)
            return ex.JUDGE_ERROR
        return ex.JUDGE_ERROR if out.error is not None else out.text.strip()


def _with_released_mean(
    overall: dict[str, Any],
    sources: Mapping[str, Mapping[str, Any]],
    labels: list[str],
    metrics: Sequence[str],
) -> dict[str, Any]:
    """``overall`` with ``macro_released``: per extractor, the mean over released tasks (source directories)
    of their accuracies, skipping a source with nothing left in that extractor's denominator."""
    released: dict[str, Any] = {}
    empty: dict[str, int] = {}
    for label in labels:
        kept = [c for c in sources.values() if c["n_total"] - c["n_excluded"].get(label, 0) > 0]
        empty[label] = len(sources) - len(kept)
        for m in metrics:
            key = f"{label}/{m}"
            released[key] = sum(c[key] for c in kept) / len(kept) if kept else 0.0
    released["n_sources"] = len(sources)
    released["n_sources_empty"] = empty
    out = {k: v for k, v in overall.items() if not k.startswith("n_")}
    out["macro_released"] = released
    out.update({k: v for k, v in overall.items() if k.startswith("n_")})
    return out


def _flatten(path: Path, i: int, raw: Any) -> dict[str, Any]:
    """InternVL's nested row → the flat layout; then check the fields."""
    if isinstance(raw, dict) and isinstance(raw.get("input"), dict):
        raw = {**{k: v for k, v in raw.items() if k != "input"}, **raw["input"]}
    if isinstance(raw, dict) and isinstance(raw.get("output"), dict):
        raw = {**raw, "output": raw["output"].get("output_text")}
    require(path, i, raw, ("task", "question", "options", "output", "input_image_path"))
    return raw


def _options(path: Path, i: int, options: Any) -> tuple[str, ...]:
    lines = options.split("\n") if isinstance(options, str) else options
    if not isinstance(lines, list) or not all(isinstance(o, str) for o in lines):
        raise AnnotationError(
            path, i, "'options' must be a string (one option per line) or a list of strings"
        )
    lines = [x for x in lines if x.strip()]
    if not 2 <= len(lines) <= MAX_OPTIONS:
        raise AnnotationError(path, i, f"expected 2 to {MAX_OPTIONS} options, got {len(lines)}")
    return unletter(path, i, lines)

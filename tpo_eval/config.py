"""Benchmark configs: YAML files under ``benchmarks/`` loaded into typed, validated dataclasses.

Every problem in a file (unknown key, wrong type, unknown family/extractor/sampler) is collected and raised
once in a :class:`ConfigError`, so a user fixes a config in one pass. Family-specific settings live under
``options:`` and are checked by the family itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .io import ConfigError, load_yaml, sha256_bytes
from .resources import REPO_ROOT, data_dir  # noqa: F401 - REPO_ROOT: re-exported
from .schema import build, unknown_keys

BENCHMARK_DIR = data_dir("benchmarks")  # shipped YAMLs: benchmarks/ in a checkout, package data installed


@dataclass(frozen=True)
class TaskSpec:
    """One task (sub-benchmark) of a benchmark.

    ``annotation`` is relative to the annotation dir; ``media_dir`` relative to the media root.
    ``read_mode`` is ``video`` | ``frames`` | ``images``; ``bound`` says whether per-item start/end apply.
    """

    name: str
    annotation: str
    media_dir: str = ""
    read_mode: str = "video"
    fps: Optional[float] = None
    bound: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptSpec:
    system: str = ""
    template: str = "{question}"
    suffix: str = ""
    assistant_prefix: str = ""


@dataclass(frozen=True)
class BenchmarkConfig:
    """A benchmark as declared in YAML (see ``benchmarks/mvbench.yaml`` for a documented example)."""

    name: str
    version: str
    family: str
    description: str
    path: str
    sampler: Mapping[str, Any]
    prompts: Mapping[str, PromptSpec]
    default_prompt: str
    extractors: Mapping[str, str]
    primary: str
    aggregation: tuple[str, ...]
    tasks: tuple[TaskSpec, ...]
    layout: Mapping[str, str]
    options: Mapping[str, Any]
    generation: Mapping[str, Any]
    sha256: str

    def task(self, name: str) -> TaskSpec:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def prompt(self, variant: Optional[str] = None) -> PromptSpec:
        return self.prompts[variant or self.default_prompt]


_TOP_KEYS = {
    "name",
    "version",
    "family",
    "description",
    "sampler",
    "prompts",
    "default_prompt",
    "extractors",
    "primary",
    "aggregation",
    "tasks",
    "layout",
    "options",
    "generation",
}
_READ_MODES = {"video", "frames", "images", "none"}
_AGGREGATIONS = {"micro", "macro", "macro_released"}  # macro_released: families that declare it (MMIU)


def benchmark_paths() -> dict[str, Path]:
    """All benchmark YAMLs by name: the dirs in ``$TPO_EVAL_BENCHMARKS`` (os.pathsep list; ``tpo-eval
    --benchmarks-dir`` sets it) first, so a user's YAML overrides a shipped one of the same name, then the
    shipped ones."""
    users = [Path(p) for p in os.environ.get("TPO_EVAL_BENCHMARKS", "").split(os.pathsep) if p]
    dirs = users + [BENCHMARK_DIR]
    out: dict[str, Path] = {}
    for d in dirs:
        for p in sorted(d.glob("*.yaml")):
            out.setdefault(p.stem, p)
    return out


def load_benchmark(name_or_path: str | Path) -> BenchmarkConfig:
    """Load and validate a benchmark by registry name (file stem) or path."""
    p = Path(name_or_path)
    if not p.suffix:
        paths = benchmark_paths()
        if str(name_or_path) not in paths:
            import difflib

            close = difflib.get_close_matches(str(name_or_path), list(paths), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ConfigError(str(name_or_path), [f"unknown benchmark.{hint} Available: {', '.join(paths)}"])
        p = paths[str(name_or_path)]
    if not p.is_file():
        raise ConfigError(p, ["file not found"])
    raw_bytes = p.read_bytes()
    return parse_benchmark(load_yaml(p, raw_bytes), p, sha256_bytes(raw_bytes))


def _typed(
    errors: list[str],
    d: Mapping[str, Any],
    key: str,
    typ: type | tuple,
    where: str,
    default: Any = None,
    required: bool = False,
) -> Any:
    if key not in d:
        if required:
            errors.append(f"{where}: missing required key {key!r}")
        return default
    v = d[key]
    if not isinstance(v, typ):
        names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        errors.append(f"{where}: {key!r} must be {names}, got {type(v).__name__}")
        return default
    return v


def parse_benchmark(raw: Any, path: str | Path, sha256: str = "") -> BenchmarkConfig:
    """Validate a parsed YAML mapping; raise :class:`ConfigError` listing every problem."""
    from .registries import EXTRACTORS, FAMILIES, SAMPLERS

    errors: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError(path, [f"top level must be a mapping, got {type(raw).__name__}"])
    errors.extend(unknown_keys(raw, _TOP_KEYS, ""))
    name = _typed(errors, raw, "name", str, "benchmark", required=True) or Path(path).stem
    family = _typed(errors, raw, "family", str, "benchmark", required=True) or ""
    if family and family not in FAMILIES:
        errors.append(f"benchmark: unknown family {family!r}; known: {', '.join(FAMILIES.names())}")
    sampler = dict(_typed(errors, raw, "sampler", dict, "benchmark", default={}) or {})
    if sampler and sampler.get("name") not in SAMPLERS:
        errors.append(
            f"sampler: unknown sampler {sampler.get('name')!r}; known: {', '.join(SAMPLERS.names())}"
        )
    prompts: dict[str, PromptSpec] = {}
    for pname, pd in (_typed(errors, raw, "prompts", dict, "benchmark", default={}) or {}).items():
        if (prompt := build(PromptSpec, pd, f"prompts.{pname}", errors)) is not None:
            prompts[str(pname)] = prompt
    default_prompt = _typed(errors, raw, "default_prompt", str, "benchmark", default=next(iter(prompts), ""))
    if prompts and default_prompt not in prompts:
        errors.append(f"default_prompt {default_prompt!r} is not one of prompts: {', '.join(prompts)}")
    extractors = dict(_typed(errors, raw, "extractors", dict, "benchmark", required=True, default={}) or {})
    for label, ename in extractors.items():
        if ename not in EXTRACTORS:
            errors.append(
                f"extractors.{label}: unknown extractor {ename!r}; known: {', '.join(EXTRACTORS.names())}"
            )
    primary = _typed(errors, raw, "primary", str, "benchmark", default="")
    aggregation = tuple(_typed(errors, raw, "aggregation", list, "benchmark", default=["micro"]) or ())
    for a in aggregation:
        if a not in _AGGREGATIONS:
            errors.append(
                f"aggregation: unknown {a!r}; use micro and/or macro (both explicit), or macro_released"
            )
    tasks = _parse_tasks(
        errors, _typed(errors, raw, "tasks", list, "benchmark", required=True, default=[]) or []
    )
    layout = dict(_typed(errors, raw, "layout", dict, "benchmark", default={}) or {})
    errors.extend(unknown_keys(layout, ("annotations", "media"), "layout"))
    options = dict(_typed(errors, raw, "options", dict, "benchmark", default={}) or {})
    generation = dict(_typed(errors, raw, "generation", dict, "benchmark", default={}) or {})
    cfg = BenchmarkConfig(
        name=name,
        version=str(raw.get("version", "0")),
        family=family,
        description=str(raw.get("description", "")),
        path=str(path),
        sampler=sampler,
        prompts=prompts,
        default_prompt=default_prompt or "",
        extractors=extractors,
        primary=primary or "",
        aggregation=aggregation,
        tasks=tasks,
        layout=layout,
        options=options,
        generation=generation,
        sha256=sha256,
    )
    if family in FAMILIES and not errors:
        errors.extend(FAMILIES.get(family)().validate(cfg))
    if errors:
        raise ConfigError(path, errors)
    return cfg


def _parse_tasks(errors: list[str], items: list[Any]) -> tuple[TaskSpec, ...]:
    out, seen = [], set()
    for i, t in enumerate(items):
        where = f"tasks[{i}]"
        if isinstance(t, dict) and t.get("extra", 0) is None:  # ``extra:`` left empty means none
            t = {k: v for k, v in t.items() if k != "extra"}
        task = build(TaskSpec, t, where, errors)
        if task is None:
            continue
        if task.read_mode not in _READ_MODES:
            errors.append(f"{where}: read_mode {task.read_mode!r} not one of {sorted(_READ_MODES)}")
        if task.read_mode == "frames" and task.fps is None:
            errors.append(f"{where}: read_mode 'frames' needs fps")
        if task.name in seen:
            errors.append(f"{where}: duplicate task name {task.name!r}")
        seen.add(task.name)
        out.append(task)
    return tuple(out)


@dataclass(frozen=True)
class DataPaths:
    """Where a run finds its files. ``annotations`` overrides ``<data_root>/<layout.annotations>``."""

    data_root: Optional[Path]
    annotations: Optional[Path] = None

    def annotation_dir(self, cfg: BenchmarkConfig) -> Path:
        if self.annotations is not None:
            return self.annotations
        if self.data_root is None:
            raise ConfigError(
                cfg.path, ["no --data-root or --annotations given: cannot locate annotation files"]
            )
        return self.data_root / cfg.layout.get("annotations", "")

    def media_dir(self, cfg: BenchmarkConfig, task: TaskSpec) -> Path:
        root = self.data_root if self.data_root is not None else Path(".")
        return root / cfg.layout.get("media", "") / task.media_dir

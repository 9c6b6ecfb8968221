"""``tpo-eval export``: write a run's predictions in a benchmark's official submission format.

Families that have one set ``exports_official`` and implement ``export_official(samples, outputs)``, a
JSON value (Video-MME: the ``output_test_template.json`` structure). The annotations give the per-question
fields the run directory does not store; they come from ``--annotations``/``--data-root`` or, by default,
from the paths the run's ``results.json`` recorded. Feeding the file back to ``tpo-eval score`` reproduces
the run's numbers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .config import ConfigError, DataPaths, load_benchmark
from .pipeline import load_samples
from .records import raw_from_row, read_run_predictions, write_json_atomic
from .registries import FAMILIES


@dataclass(frozen=True)
class Exported:
    path: Path
    n_exported: int
    n_selected: int
    n_failed: int


def export_run(
    benchmark: str,
    run_dir: Path,
    paths: DataPaths,
    out: Optional[Path] = None,
    tasks: Optional[Sequence[str]] = None,
) -> Exported:
    cfg = load_benchmark(benchmark)
    if not FAMILIES.get(cfg.family).exports_official:
        raise ValueError(f"{cfg.name} (family {cfg.family}) has no official submission format to export")
    results = run_dir / "results.json"
    doc = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {}
    if doc and doc.get("benchmark") != cfg.name:
        raise ValueError(f"{run_dir} is a {doc.get('benchmark')!r} run, not {cfg.name!r}")
    if paths.data_root is None and paths.annotations is None:
        paths = _recorded_paths(doc, run_dir)
    family, samples = load_samples(cfg, paths, tasks)
    rows = read_run_predictions(run_dir)
    if not rows:
        raise FileNotFoundError(f"no predictions*.jsonl in {run_dir}")
    outputs = {str(r["id"]): raw_from_row(r) for r in rows}
    obj = family.export_official(samples, outputs)
    covered = [s for s in samples if s.id in outputs]
    failed = [s.id for s in covered if outputs[s.id].error is not None]
    if failed:
        print(
            f"[tpo-eval] warning: {len(failed)} failed sample(s) are exported with an empty response, which "
            f"the official scorer leaves out of its denominator (e.g. {failed[:3]}); tpo-eval counts them as "
            "wrong",
            file=sys.stderr,
        )
    if len(covered) < len(samples):
        print(
            f"[tpo-eval] warning: the run predicted {len(covered)} of {len(samples)} {cfg.name} questions; "
            "only those are exported",
            file=sys.stderr,
        )
    target = out or run_dir / f"{cfg.name}_official.json"
    write_json_atomic(target, obj)
    return Exported(target, len(covered), len(samples), len(failed))


def _recorded_paths(doc: dict, run_dir: Path) -> DataPaths:
    """The annotation file(s) the run's results.json names (one file serves every task here)."""
    ann = (doc.get("provenance") or {}).get("annotations") or {}
    files = {Path(a["path"]) for a in ann.values() if isinstance(a, dict) and a.get("path")}
    if len(files) == 1 and next(iter(files)).is_file():
        return DataPaths(None, next(iter(files)))
    why = "has no results.json" if not doc else f"records {sorted(map(str, files)) or 'no annotation file'}"
    raise ConfigError(
        str(run_dir), [f"cannot find the annotations: the run {why}; pass --annotations or --data-root"]
    )

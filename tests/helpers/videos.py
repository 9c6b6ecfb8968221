"""Helpers to lay out benchmark stand-in data (real annotations + synthetic index videos) in a temp dir."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from tpo_eval.api import load_samples
from tpo_eval.config import DataPaths, load_benchmark
from tpo_eval.standin import write_standins


def standin_root(
    root: Path,
    benchmark: str,
    annotations: Path,
    limit: Optional[int] = None,
    tasks: Optional[Sequence[str]] = None,
) -> Path:
    """Write synthetic videos under ``root`` at the paths the real annotations name; returns ``root``."""
    cfg = load_benchmark(benchmark)
    _, samples = load_samples(cfg, DataPaths(root, annotations), tasks, limit)
    write_standins(samples)
    return root


def run_charades_cli(
    ckpt: Path, annotations: Path, tmp_path: Path, limit: int, model: str = "tpo", extra: Sequence[str] = ()
) -> tuple[dict, list[dict]]:
    """``tpo-eval run charades_sta --model MODEL --ckpt CKPT [EXTRA…]`` on stand-in videos for the first
    ``limit`` real queries; returns the printed results document and the predictions rows (asserting the run
    succeeded)."""
    import json

    from click.testing import CliRunner

    from tpo_eval.cli import main

    root = standin_root(tmp_path / "media", "charades_sta", annotations, limit=limit)
    out = tmp_path / "run"
    r = CliRunner().invoke(
        main,
        [
            "run",
            "charades_sta",
            "--model",
            model,
            "--ckpt",
            str(ckpt),
            "--data-root",
            str(root),
            "--annotations",
            str(annotations),
            "--limit",
            str(limit),
            "--out",
            str(out),
            "--json",
            *extra,
        ],
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    return json.loads(r.stdout), rows

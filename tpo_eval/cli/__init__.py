"""``tpo-eval``: a thin click layer over :mod:`tpo_eval.api`.

Subcommands are loaded lazily from ``_COMMANDS`` so ``tpo-eval --help`` and ``tpo-eval ls`` stay fast
(no torch import). Each subcommand lives in its own module under ``tpo_eval/cli/``.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click

_COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attr, one-line help shown by `tpo-eval --help`)
    "run": ("tpo_eval.cli.run:run", "Evaluate a model on a benchmark (resumable)."),
    "score": ("tpo_eval.cli.score:score", "Score a predictions file made elsewhere, without a model."),
    "merge": ("tpo_eval.cli.merge:merge", "Write results.json of a run directory from its shards' predictions."),
    "ls": ("tpo_eval.cli.ls:ls", "List benchmarks, task families, models, extractors, samplers."),
    "validate": ("tpo_eval.cli.ls:validate", "Validate benchmark configs; report every problem at once."),
    "export": ("tpo_eval.cli.export:export", "Write a run's predictions in a benchmark's official submission format."),
    "table": ("tpo_eval.cli.table:table", "A paper table as LaTeX/Markdown/console, with your runs' rows."),
    "verify": ("tpo_eval.cli.verify:verify", "Recompute paper tables' published aggregates; exit 1 on mismatch."),
    "regress": ("tpo_eval.cli.regress:regress", "CI gate: fail when a run regresses beyond tolerance and noise."),
    "plot": ("tpo_eval.cli.plot:plot", "Plot per-task deltas between runs, or one moment-retrieval query."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Any:
        if name not in _COMMANDS:
            return None
        mod, _, attr = _COMMANDS[name][0].partition(":")
        return getattr(importlib.import_module(mod), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, _COMMANDS[n][1]) for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="tpo-eval")
@click.option("--benchmarks-dir", "benchmarks_dirs", multiple=True,
              type=click.Path(exists=True, file_okay=False),
              help="Folder of your own benchmark YAMLs (repeatable); a name found there overrides a shipped "
                   "one. [env TPO_EVAL_BENCHMARKS, os.pathsep-separated]")
def main(benchmarks_dirs: tuple[str, ...]) -> None:
    """Score video-MLLM checkpoints on MVBench, Charades-STA, QVHighlights, VideoMME, PerceptionTest and MMIU
    with each benchmark's official protocol, and put the numbers beside the TPO paper's tables.

    \b
    Examples:
      tpo-eval run mvbench --model hf --ckpt ./llava-ov-7b --data-root /data/MVBench --out runs/mvbench
      tpo-eval run mvbench --model mock:oracle --data-root /data/MVBench --limit 2
      tpo-eval score mvbench --predictions preds.jsonl --annotations /data/MVBench/json --json
      tpo-eval ls
      tpo-eval --benchmarks-dir ./my_benchmarks run my_bench --model mock:oracle --data-root /data/x
    """
    if benchmarks_dirs:  # the one place benchmark discovery reads: tpo_eval.config.benchmark_paths
        old = [p for p in os.environ.get("TPO_EVAL_BENCHMARKS", "").split(os.pathsep) if p]
        mine = [str(Path(d).resolve()) for d in benchmarks_dirs]
        os.environ["TPO_EVAL_BENCHMARKS"] = os.pathsep.join(mine + old)

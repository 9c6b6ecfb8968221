"""``tpo-eval score``."""
from __future__ import annotations

from pathlib import Path

import click

from .options import data_options, split_tasks


@click.command()
@click.argument("benchmark")
@click.option("--predictions", required=True, type=click.Path(exists=True),
              help="Predictions file (JSONL {id, output} rows, a run's predictions.jsonl, or the benchmark's "
                   "official format) or a run directory.")
@data_options
@click.option("--allow-partial", is_flag=True, help="Score only the samples that have a prediction (says how many "
              "were missing) instead of failing.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write results.json into this directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the results document as JSON.")
def score(benchmark: str, predictions: str, annotations: str | None, data_root: str | None, tasks: str | None,
          allow_partial: bool, out_dir: str | None, as_json: bool) -> None:
    """Score PREDICTIONS for BENCHMARK without running a model (re-scoring saved runs, or outputs made by
    another harness). Every extractor the benchmark declares is applied; unparsed answers score 0.

    \b
    Examples:
      tpo-eval score mvbench --predictions preds.jsonl --annotations /data/MVBench/json --json
      tpo-eval score mvbench --predictions runs/mvbench-llava --data-root /data/MVBench
    """
    from ..api import score_file
    from ..config import DataPaths
    from .common import fail, print_results

    try:
        from ..hfdata import resolve_data_root

        paths = DataPaths(resolve_data_root(data_root) if data_root else None,
                          Path(annotations) if annotations else None)
        doc = score_file(benchmark, Path(predictions), paths, split_tasks(tasks), allow_partial,
                         Path(out_dir) if out_dir else None)
    except Exception as e:  # noqa: BLE001
        fail(str(e), e)
    cov = doc.get("coverage", {})
    if cov.get("n_missing"):
        click.echo(f"note: scored {cov['n_predicted']} of {cov['n_selected']} samples; "
                   f"{cov['n_missing']} had no prediction (--allow-partial)", err=True)
    print_results(doc, as_json)

"""``tpo-eval export``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import data_options, split_tasks


@click.command()
@click.argument("benchmark")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@data_options
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Output file (default RUN_DIR/<benchmark>_official.json).",
)
def export(
    benchmark: str,
    run_dir: str,
    annotations: str | None,
    data_root: str | None,
    tasks: str | None,
    out_file: str | None,
) -> None:
    """Write RUN_DIR's predictions in BENCHMARK's official submission format (Video-MME: the
    output_test_template.json structure read by the official eval_your_results.py). Annotations default to the
    file the run's results.json recorded. `tpo-eval score BENCHMARK --predictions FILE` reads it back.

    \b
    Examples:
      tpo-eval export videomme runs/videomme-llava
      tpo-eval export videomme runs/videomme-llava --annotations
      /data/Video-MME/videomme/test-00000-of-00001.parquet
      tpo-eval score videomme --predictions runs/videomme-llava/videomme_official.json --json
    """
    from ..config import DataPaths
    from ..export import export_run
    from .common import fail

    paths = DataPaths(Path(data_root) if data_root else None, Path(annotations) if annotations else None)
    try:
        r = export_run(
            benchmark, Path(run_dir), paths, Path(out_file) if out_file else None, split_tasks(tasks)
        )
    except Exception as e:  # noqa: BLE001 - user-facing: one clear line, exit 2
        fail(str(e), e)
    click.echo(
        f"wrote {r.path}: {r.n_exported} of {r.n_selected} questions"
        + (f" ({r.n_failed} failed, empty response)" if r.n_failed else ""),
        err=True,
    )

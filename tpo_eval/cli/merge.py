"""``tpo-eval merge``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the results document as JSON.")
def merge(run_dir: str, as_json: bool) -> None:
    """Write RUN_DIR/results.json from every shard's predictions (independent --shard I/N jobs), with the
    selection and settings recorded in RUN_DIR/run.json. Refuses a directory that is incomplete, mixes
    settings or annotation content, or holds a sample twice.

    \b
    Example:
      tpo-eval run mvbench --shard 0/2 --out runs/x …   (and --shard 1/2 elsewhere)
      tpo-eval merge runs/x
    """
    from ..api import merge as merge_run
    from .common import fail, print_results

    try:
        doc = merge_run(Path(run_dir))
    except Exception as e:  # noqa: BLE001 - user-facing: one clear line, exit 2
        fail(str(e), e)
    print_results(doc, as_json)
    click.echo(f"results: {Path(run_dir) / 'results.json'}", err=True)

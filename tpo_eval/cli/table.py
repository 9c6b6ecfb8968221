"""``tpo-eval table``: a paper table, with any run's row beside the published ones, as LaTeX/Markdown/console."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from .common import fail


@click.command("table")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the shipped tables (results/paper) and exit.")
@click.option("--run", "runs", multiple=True, metavar="[LABEL=]RUN_DIR",
              help="Add a run's row (repeatable; runs sharing a LABEL fill one row, e.g. MVBench + VideoMME runs).")
@click.option("--metric", default=None, help="Metric key read from the runs' results.json (default: the table's).")
@click.option("--baseline", default=None, metavar="ROW",
              help="Row key or model name to print (+x.x) deltas against; 'none' hides the paper's own deltas.")
@click.option("--format", "fmt", type=click.Choice(["latex", "markdown", "console"]), default="console",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
def table(name: Optional[str], list_: bool, runs: tuple[str, ...], metric: Optional[str], baseline: Optional[str],
          fmt: str, output: Optional[Path]) -> None:
    """Print paper table NAME (a name from --list, or the path of a table YAML).

    \b
    Examples:
      tpo-eval table --list
      tpo-eval table mvbench --run runs/mvbench/my-ckpt --format latex -o mvbench.tex
      tpo-eval table llava-ov --run ov=runs/mvbench/ov --run ov=runs/videomme/ov --baseline llava_ov
    """
    from tabulate import tabulate

    from ..tables import TableError, list_tables, load_table, parse_run_args, render, run_rows

    if list_:
        rows = []
        for n in list_tables():
            t = load_table(n)
            rows.append([n, t.source.get("table", ""), t.source.get("version", "").split(" (")[0], t.title])
        click.echo(tabulate(rows, ["name", "table", "version", "title"], tablefmt="simple"))
        return
    if not name:
        raise click.UsageError("give a table NAME (see --list)")
    try:
        t = load_table(name)
        extra = [r for label, paths in parse_run_args(runs) for r in run_rows(t, paths, label, metric)]
        t = t.with_rows(extra)
        text = render(t, fmt, baseline=baseline, color=fmt == "console" and output is None and sys.stdout.isatty())
    except (TableError, KeyError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) else str(e), e)
    for r in extra:
        if r.notes:
            click.echo(f"warning: row {r.model!r}: {r.notes}", err=True)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)

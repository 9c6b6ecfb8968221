"""``tpo-eval plot``: per-task deltas between runs (or a run and a published row); one moment-retrieval
query."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import click

from .common import fail


def _done(paths: list[Path]) -> None:
    for p in paths:
        click.echo(f"wrote {p}")


@click.group("plot")
def plot() -> None:
    """Figures from run directories, written as PNG and PDF."""


@plot.command("deltas")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", required=False, type=click.Path(path_type=Path))
@click.option(
    "--table", default=None, help="Compare with a published row of this paper table instead of RUN_B."
)
@click.option("--row", default=None, help="Row key of --table (e.g. videochat_tpo).")
@click.option("--metric", default=None, help="Metric key (default: RUN_A's primary).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Output path without suffix (default: RUN_A/plots/deltas).",
)
@click.option(
    "--allow-different-samples",
    is_flag=True,
    help="Plot even when the two sides cover different samples (warns; the title says so).",
)
@click.option(
    "--names",
    default=None,
    metavar="A,B",
    help="What the title calls the two sides (default: the run folders' names / the published row's model).",
)
def deltas(
    run_a: Path,
    run_b: Optional[Path],
    table: Optional[str],
    row: Optional[str],
    metric: Optional[str],
    output: Optional[Path],
    allow_different_samples: bool,
    names: Optional[str],
) -> None:
    """Bar chart of per-task RUN_A − RUN_B (or RUN_A − a published row).

    Refused (exit 2) when the two sides cover different samples, as `regress` refuses: different sample ids,
    or a partial run (--limit/--subset/--tasks) against a published full-benchmark row.

    \b
    Examples:
      tpo-eval plot deltas runs/mvbench/new runs/mvbench/old
      tpo-eval plot deltas runs/mvbench/new --table mvbench --row videochat_tpo -o figs/vs_paper
    """
    from ..plots import PlotInputError, plot_deltas
    from ..tables import TableError

    pair = None
    if names is not None:
        parts = [x.strip() for x in names.split(",")]
        if len(parts) != 2 or not all(parts):
            fail(f"--names {names!r}: give two names separated by a comma, e.g. --names 'TPO,Base'")
        pair = (parts[0], parts[1])
    try:
        _done(
            plot_deltas(
                run_a,
                output or run_a / "plots" / "deltas",
                run_b,
                table,
                row,
                metric,
                allow_different_samples,
                names=pair,
            )
        )
    except (PlotInputError, TableError, KeyError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) else str(e), e)


@plot.command("moment")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--id", "sample_id", required=True, help="Sample (query) id as in predictions.jsonl.")
@click.option(
    "--annotations",
    type=click.Path(path_type=Path),
    default=None,
    help="moment_detr-style JSONL (qid, duration, relevant_windows) to take the ground truth from.",
)
@click.option("--gt", nargs=2, type=float, default=None, help="Ground-truth START END in seconds.")
@click.option(
    "--clip-len",
    type=float,
    default=None,
    help="Seconds per saliency value (default: duration / clips, else 2).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Output path without suffix (default: RUN_DIR/plots/moment_<id>).",
)
def moment(
    run_dir: Path,
    sample_id: str,
    annotations: Optional[Path],
    gt: Optional[tuple[float, float]],
    clip_len: Optional[float],
    output: Optional[Path],
) -> None:
    """Saliency curve, predicted interval and ground truth of one query on a time axis (like the seed's Fig.
    4)."""
    from ..plots import PlotInputError, plot_moment

    out = output or run_dir / "plots" / ("moment_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", sample_id))
    try:
        _done(plot_moment(run_dir, sample_id, out, annotations, gt, clip_len))
    except (PlotInputError, OSError, ValueError) as e:
        fail(str(e), e)

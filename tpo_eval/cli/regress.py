"""``tpo-eval regress``: the CI gate. Exit 0 = pass, 1 = regression, 2 = usage or input error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from .common import fail


@click.command("regress")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    required=True,
    type=click.Path(path_type=Path),
    help="Baseline run directory, or a results.json file (no per-sample data: tolerance only).",
)
@click.option(
    "--tolerance", default=0.5, show_default=True, help="Drops up to this many points are tolerated."
)
@click.option("--alpha", default=0.05, show_default=True, help="Significance level of the per-sample tests.")
@click.option(
    "--metric", "metrics", multiple=True, help="Metric key(s) to gate on (default: the run's primary)."
)
@click.option("--seed", default=0, show_default=True, help="Seed of the paired bootstrap.")
@click.option("--bootstrap", "n_boot", default=2000, show_default=True, help="Bootstrap resamples.")
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), help="Also write the Markdown report here."
)
def regress(
    run_dir: Path,
    baseline: Path,
    tolerance: float,
    alpha: float,
    metrics: tuple[str, ...],
    seed: int,
    n_boot: int,
    report: Optional[Path],
) -> None:
    """Fail when RUN_DIR is worse than --baseline by more than the tolerance AND beyond sampling noise.

    Accuracy (0/1 per sample) uses the exact McNemar test, continuous metrics a paired bootstrap; per-task
    p-values are Holm-adjusted. Runs over different sample sets are refused (exit 2): run both with the
    same `tpo-eval run … --subset N`.

    \b
    Example:
      tpo-eval regress runs/mvbench/ckpt-2000 --baseline runs/mvbench/ckpt-1000 --report regress.md
    """
    from ..regress import RegressInputError, compare

    try:
        result = compare(
            run_dir,
            baseline,
            tolerance=tolerance,
            alpha=alpha,
            metrics=list(metrics) or None,
            seed=seed,
            n_boot=n_boot,
        )
    except RegressInputError as e:
        fail(str(e), e)
    text = result.markdown()
    click.echo(text, nl=False)
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
    sys.exit(1 if result.regressed else 0)

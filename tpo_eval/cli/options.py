"""Options shared by several subcommands (defined once, with environment-variable fallbacks)."""
from __future__ import annotations

from typing import Any, Callable

import click

F = Callable[..., Any]


def data_options(f: F) -> F:
    f = click.option("--annotations", type=click.Path(exists=True, path_type=None), envvar="TPO_EVAL_ANNOTATIONS",
                     help="Annotation dir or file, overriding <data-root>/<layout.annotations> "
                          "(e.g. ../shared/data/mvbench).")(f)
    f = click.option("--data-root", type=click.Path(file_okay=False), envvar="TPO_EVAL_DATA_ROOT",
                     help="Benchmark root as released (MVBench: json/ and video/). [env TPO_EVAL_DATA_ROOT]")(f)
    f = click.option("--tasks", help="Comma-separated task names (default: all).")(f)
    return f


def split_tasks(tasks: str | None) -> tuple[str, ...] | None:
    return tuple(t.strip() for t in tasks.split(",") if t.strip()) if tasks else None

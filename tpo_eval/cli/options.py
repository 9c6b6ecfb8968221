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
                     help="Benchmark root as released (MVBench: json/ and video/), or hf:OWNER/NAME (a local "
                          "Hugging Face snapshot). [env TPO_EVAL_DATA_ROOT]")(f)
    f = click.option("--tasks", help="Comma-separated task names (default: all).")(f)
    return f


def keyed_data_options(f: F) -> F:
    """``run``'s data options: like :func:`data_options`, but repeatable as ``BENCHMARK=PATH`` for several
    benchmarks in one command, and ``--data-root`` also takes ``hf:OWNER/NAME`` (a local HF snapshot)."""
    # The environment fallbacks are read in `run` itself: click would split a multiple option's value at spaces.
    f = click.option("--annotations", multiple=True, metavar="[BENCHMARK=]PATH",
                     help="Annotation dir or file, overriding <data-root>/<layout.annotations> (repeatable "
                          "per benchmark). [env TPO_EVAL_ANNOTATIONS]")(f)
    f = click.option("--data-root", multiple=True, metavar="[BENCHMARK=]DIR",
                     help="Benchmark root as released (MVBench: json/ and video/), or hf:OWNER/NAME for a "
                          "dataset repo already in the local Hugging Face cache (offline). Repeatable as "
                          "BENCHMARK=DIR. [env TPO_EVAL_DATA_ROOT]")(f)
    f = click.option("--tasks", help="Comma-separated task names (default: all; one benchmark only).")(f)
    return f


def split_tasks(tasks: str | None) -> tuple[str, ...] | None:
    return tuple(t.strip() for t in tasks.split(",") if t.strip()) if tasks else None

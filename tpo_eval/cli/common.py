"""Printing and error helpers shared by subcommands."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping, NoReturn, Optional

import click


def fail(msg: str, exc: Optional[BaseException] = None, code: int = 2) -> NoReturn:
    """Print one clear error line (the traceback only with TPO_EVAL_DEBUG=1) and exit."""
    if exc is not None and os.environ.get("TPO_EVAL_DEBUG"):
        raise exc
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def print_results(doc: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        from ..report import results_table  # tabulate: only for the console table

        click.echo(results_table(doc))

"""``tpo-eval verify``: recompute published aggregates and cross-checks; exit 1 when any number disagrees."""
from __future__ import annotations

import json
import sys

import click

from .common import fail


@click.command("verify")
@click.argument("names", nargs=-1)
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that agree.")
@click.option("--json", "as_json", is_flag=True, help="Print every finding as JSON instead of text.")
def verify(names: tuple[str, ...], verbose: bool, as_json: bool) -> None:
    """Audit paper tables NAMES (default: every shipped table; a path to a table YAML works too).

    Each published aggregate (Avg, Overall, J&F, …) is recomputed from the row's per-task numbers with the
    table's declared aggregation; it disagrees when the gap exceeds what the printed rounding allows. Declared
    cross-table, delta, prose-claim and ordering checks run too. Exit code 1 when anything disagrees.

    \b
    Examples:
      tpo-eval verify mvbench
      tpo-eval verify            # all of results/paper
    """
    from ..tables import TableError, list_tables
    from ..verify import format_report, verify_names

    try:
        results = verify_names(list(names) or list_tables())
    except (TableError, KeyError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) else str(e), e)
    if as_json:
        click.echo(json.dumps({n: [f.as_dict() for f in fs] for n, fs in results.items()}, indent=1))
    else:
        click.echo(format_report(results, verbose=verbose), nl=False)
    sys.exit(1 if any(f.status == "mismatch" for fs in results.values() for f in fs) else 0)

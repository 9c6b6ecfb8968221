"""``tpo-eval verify``: recompute published aggregates and cross-checks; exit 1 when a number disagrees that
is not a known published erratum (results/paper/errata.yaml), or when an erratum no longer occurs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import fail


@click.command("verify")
@click.argument("names", nargs=-1)
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that agree.")
@click.option("--json", "as_json", is_flag=True, help="Print every finding as JSON instead of text.")
@click.option("--errata", "errata_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Known published inconsistencies to accept (default: errata.yaml beside the tables).")
@click.option("--no-errata", is_flag=True, help="Accept nothing: every disagreement fails (a full audit).")
def verify(names: tuple[str, ...], verbose: bool, as_json: bool, errata_path: Path | None,
           no_errata: bool) -> None:
    """Audit paper tables NAMES (default: every shipped table; a path to a table YAML works too).

    Each published aggregate (Avg, Overall, J&F, …) is recomputed from the row's per-task numbers with the
    table's declared aggregation; it disagrees when the gap exceeds what the printed rounding allows. Declared
    cross-table, delta, prose-claim and ordering checks run too. Disagreements the paper itself prints are
    recorded, each with its source, in errata.yaml and reported as `known`. Exit code 1 when anything else
    disagrees or an erratum no longer matches (so the command can gate CI), 2 on bad input.

    \b
    Examples:
      tpo-eval verify            # all of results/paper: exit 0, the known errata listed
      tpo-eval verify mvbench --no-errata
    """
    from ..errata import ERRATA_FILE, apply_errata, load_errata
    from ..tables import TableError, list_tables, load_table
    from ..verify import format_report, verify_names

    try:
        table_names = list(names) or list_tables()
        results = verify_names(table_names)
        errata = []
        if not no_errata:
            if errata_path is None and table_names:  # beside the first table audited (results/paper)
                errata_path = Path(load_table(table_names[0]).path).with_name(ERRATA_FILE)
            errata = load_errata(errata_path) if errata_path else []
    except (TableError, KeyError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) else str(e), e)
    audit = apply_errata(results, errata)
    if as_json:
        doc = {n: [f.as_dict() for f in fs] for n, fs in audit.results.items()}
        if audit.stale:
            doc["_stale_errata"] = [e.describe() for e in audit.stale]  # type: ignore[list-item]
        click.echo(json.dumps(doc, indent=1))
    else:
        click.echo(format_report(audit.results, verbose=verbose, stale=audit.stale), nl=False)
    sys.exit(1 if audit.failed else 0)

"""A verify check's result (:class:`Finding`), the rule that turns two numbers and a slack into a status, and
the plain-text report of them.

Separate from ``verify.py`` (the checks themselves) because ``errata.py`` matches findings without running any
check, and the report only reads findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Optional

from .tables.model import PaperTable, Row

_EPS = 1e-9


@dataclass(frozen=True)
class Finding:
    """One check on one row. ``status`` is ``ok``, ``mismatch``, ``skipped`` (inputs not reported) or
    ``known`` (a mismatch the paper itself carries, listed in results/paper/errata.yaml; :mod:`.errata`)."""

    table: str
    check: str
    row: str
    model: str
    column: str
    published: Optional[float]
    recomputed: Optional[float]
    tolerance: float
    status: str
    detail: str
    decimals: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def half_unit(decimals: int) -> float:
    return 0.5 * 10.0 ** (-decimals)


def _finding(
    table: PaperTable,
    check: str,
    row: Row,
    column: str,
    pub: Optional[float],
    calc: Optional[float],
    tol: float,
    detail: str,
    status: Optional[str] = None,
) -> Finding:
    if status is None:
        status = "mismatch" if abs(float(pub) - float(calc)) > tol + _EPS else "ok"  # type: ignore[arg-type]
    return Finding(
        table.name,
        check,
        row.key,
        row.model,
        column,
        pub,
        calc,
        round(tol, 6),
        status,
        detail,
        table.decimals,
    )


def format_report(
    results: Mapping[str, list[Finding]], verbose: bool = False, stale: Sequence[Any] = ()
) -> str:
    """Plain-text report: one header per table, every disagreeing (and, with ``verbose``, every) check; known
    errata are listed but do not fail, ``stale`` errata (ones that matched nothing) do."""
    lines = []
    for name, findings in results.items():
        bad = [f for f in findings if f.status == "mismatch"]
        skipped = sum(f.status == "skipped" for f in findings)
        known = sum(f.status == "known" for f in findings)
        tail = (f", {known} known (errata)" if known else "") + (f", {skipped} skipped" if skipped else "")
        lines.append(f"{name}: {len(findings)} checks, {len(bad)} disagree{tail}")
        for f in findings:
            if f.status == "ok" and not verbose:
                continue
            lines.append("  " + describe(f))
    lines += [f"STALE    erratum matches no disagreement any more (remove it): {e.describe()}" for e in stale]
    total_bad = sum(f.status == "mismatch" for fs in results.values() for f in fs)
    total_known = sum(f.status == "known" for fs in results.values() for f in fs)
    tail = f"; {total_known} known published inconsistencies (errata)" if total_known else ""
    tail += f"; {len(stale)} stale erratum/errata" if stale else ""
    verdict = "FAIL" if total_bad or stale else "OK"
    lines.append(f"{verdict}: {total_bad} disagreeing number(s) in {len(results)} table(s){tail}")
    return "\n".join(lines) + "\n"


def describe(f: Finding) -> str:
    tag = {"ok": "ok      ", "mismatch": "MISMATCH", "skipped": "skipped ", "known": "known   "}[f.status]
    if f.check == "order":
        return f"{tag} order      {f.model} · {f.column}: {f.detail}"
    nums = ""
    if f.published is not None and f.recomputed is not None:
        nums = (
            f"published {f.published:.{f.decimals}f}, recomputed {f.recomputed:.{f.decimals + 2}f} "
            f"(allowed ±{f.tolerance:g}); "
        )
    elif f.published is not None:
        nums = f"published {f.published:.{f.decimals}f}; "
    return f"{tag} {f.check:<10} {f.model} · {f.column}: {nums}{f.detail}"

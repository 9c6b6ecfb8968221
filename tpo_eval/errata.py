"""Known published inconsistencies (``results/paper/errata.yaml``), so ``tpo-eval verify`` can gate CI.

A disagreement the paper itself carries cannot be fixed by transcribing better, so ``verify`` would fail
forever. Each such disagreement is recorded once, with where it is printed and why it does not add up; a
finding that matches an erratum is reported as ``known`` and does not fail. Anything else fails, and so does
an erratum that no longer matches any disagreement (a transcription was corrected: the entry must go), so
the list can neither hide a new problem nor rot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .io import load_yaml
from .tables.model import TableError
from .verify_findings import Finding

ERRATA_FILE = "errata.yaml"
_KEYS = {"table", "check", "row", "column", "published", "source", "why"}
_EPS = 1e-9


@dataclass(frozen=True)
class Erratum:
    table: str
    check: str
    row: str
    column: str
    published: float
    source: str
    why: str

    def matches(self, f: Finding) -> bool:
        return (
            (f.table, f.check, f.row, f.column) == (self.table, self.check, self.row, self.column)
            and f.published is not None
            and abs(float(f.published) - self.published) < _EPS
        )

    def describe(self) -> str:
        where = f"{self.table} · {self.check} · {self.row} · {self.column}"
        return f"{where} = {self.published:g} ({self.source})"


def load_errata(path: Path) -> list[Erratum]:
    """The errata listed in ``path`` (none if the file is absent); all malformed entries reported at once."""
    if not path.is_file():
        return []
    raw = load_yaml(path) or {}
    items = raw.get("errata") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise TableError(path, ["the file must hold `errata:` followed by a list of entries"])
    out, errors = [], []
    for i, e in enumerate(items):
        if not isinstance(e, dict) or set(e) != _KEYS:
            have = sorted(e) if isinstance(e, dict) else type(e).__name__
            errors.append(f"errata[{i}]: needs exactly the keys {', '.join(sorted(_KEYS))} (has {have})")
            continue
        try:
            text = {k: str(e[k]) for k in _KEYS - {"published"}}
            out.append(Erratum(**text, published=float(e["published"])))
        except (TypeError, ValueError) as exc:
            errors.append(f"errata[{i}]: published must be a number ({exc})")
    if errors:
        raise TableError(path, errors)
    return out


@dataclass(frozen=True)
class Audit:
    """Findings, known errata marked ``known``; ``stale``: the audited tables' errata that matched nothing."""

    results: Mapping[str, list[Finding]]
    stale: tuple[Erratum, ...]

    @property
    def new(self) -> list[Finding]:
        return [f for fs in self.results.values() for f in fs if f.status == "mismatch"]

    @property
    def known(self) -> list[Finding]:
        return [f for fs in self.results.values() for f in fs if f.status == "known"]

    @property
    def failed(self) -> bool:
        return bool(self.new or self.stale)


def apply_errata(results: Mapping[str, list[Finding]], errata: Sequence[Erratum]) -> Audit:
    """Mark every mismatch that an erratum describes as ``known`` (its detail gains the erratum's source)."""
    used: set[int] = set()
    out: dict[str, list[Finding]] = {}
    for name, findings in results.items():
        marked = []
        for f in findings:
            hit = next((i for i, e in enumerate(errata) if f.status == "mismatch" and e.matches(f)), None)
            if hit is not None:
                used.add(hit)
                e = errata[hit]
                f = replace(f, status="known", detail=f"{f.detail} — known erratum: {e.source}")
            marked.append(f)
        out[name] = marked
    tables = {f.table for fs in results.values() for f in fs} | set(results)
    stale = tuple(e for i, e in enumerate(errata) if i not in used and e.table in tables)
    return Audit(out, stale)

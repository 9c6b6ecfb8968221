"""Read every source of a stage, account for every bad record, and fingerprint the files.

:func:`load_sources` is the one place a run touches annotation files: it resolves paths under ``data.root``,
runs the readers, checks the precomputed features each temporal example needs, and raises one
:class:`DataError` listing files, lines and reasons when more than ``max_bad_fraction`` of the records are
bad. Below that threshold the bad records are skipped *and* kept in the report (it goes to the log and to the
checkpoint manifest), so nothing disappears silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .examples import BadRecord, DataError, Example, ReadResult, TemporalExample
from .features import FeatureStore
from .readers import read_source

if TYPE_CHECKING:
    from ..config import DataCfg


@dataclass(frozen=True)
class LoadedData:
    examples: Mapping[str, tuple[Example, ...]]
    reports: Mapping[str, ReadResult]
    hashes: Mapping[str, str]
    features: Mapping[str, FeatureStore]

    def manifest(self) -> dict[str, dict]:
        """Per source: file, sha256, counts and the first bad records (for the checkpoint manifest)."""
        return {
            n: {
                "path": r.path,
                "sha256": self.hashes[n],
                "n_examples": len(r.examples),
                "n_bad": len(r.bad),
                "bad": [str(b) for b in r.bad[:20]],
                "notes": list(r.notes),
            }
            for n, r in self.reports.items()
        }


def data_root(root: str, build: bool = True) -> Path:
    """``data.root``; ``tiny`` = the synthetic stand-in data (built on first use unless ``build=False``, see
    ``tpo_train.tiny_data``)."""
    if root == "tiny":
        from ..tiny_data import tiny_data_root

        return tiny_data_root(build)
    return Path(root)


def resolve(root: str, rel: str, build: bool = True) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else data_root(root, build) / p


def is_unbuilt(root: str) -> bool:
    """The built-on-first-use tiny data root has not been written yet (its files cannot be checked)."""
    return root == "tiny" and not (data_root(root, build=False) / "TINY_DATA_VERSION").is_file()


def file_hash(path: Path) -> str:
    """sha256 of a file, or of a folder's files (sorted relative names + contents; ``*.json``/``*.jsonl``
    only)."""
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(q for q in path.rglob("*") if q.is_file() and q.suffix in (".json", ".jsonl")):
            h.update(str(f.relative_to(path)).encode())
            h.update(f.read_bytes())
    elif path.is_file():
        h.update(path.read_bytes())
    return h.hexdigest()


def load_sources(cfg: DataCfg) -> LoadedData:
    examples: dict[str, tuple[Example, ...]] = {}
    reports: dict[str, ReadResult] = {}
    hashes: dict[str, str] = {}
    stores: dict[str, FeatureStore] = {}
    for name, src in sorted(cfg.sources.items()):
        path = resolve(cfg.root, src.path)
        media = str(resolve(cfg.root, src.media)) if src.media else ""
        result = read_source(src.format, path, name, media)
        if src.features is not None:
            f = src.features
            store = FeatureStore(
                resolve(cfg.root, f.video) if f.video else None,
                resolve(cfg.root, f.text) if f.text else None,
                f.clip_len,
                f.normalize,
                f.tef,
                extractor=f.extractor,
                text_extractor=f.text_extractor,
            )
            stores[name] = store
            result = _drop_missing_features(result, store)
        reports[name] = result
        examples[name] = result.examples
        hashes[name] = file_hash(path)
    n_bad = sum(len(r.bad) for r in reports.values())
    n_all = sum(r.n_records for r in reports.values())
    if n_bad and n_bad > cfg.max_bad_fraction * n_all:
        body = "\n".join(r.summary() for r in reports.values() if r.bad)
        raise DataError(
            f"{n_bad} of {n_all} records are bad (allowed: data.max_bad_fraction="
            f"{cfg.max_bad_fraction}):\n{body}"
        )
    empty = [n for n, ex in examples.items() if not ex]
    if empty:
        raise DataError(f"source(s) {', '.join(empty)} have no usable examples")
    return LoadedData(examples, reports, hashes, stores)


def _drop_missing_features(result: ReadResult, store: FeatureStore) -> ReadResult:
    """Examples whose feature files are absent become bad records (with the missing file named)."""
    keep, bad = [], list(result.bad)
    for ex in result.examples:
        assert isinstance(ex, TemporalExample)
        missing = store.missing([ex])
        if missing:
            bad.append(BadRecord(ex.origin, f"missing feature file(s): {', '.join(missing)}"))
        else:
            keep.append(ex)
    return ReadResult(result.path, tuple(keep), tuple(bad), result.notes)


def bad_records(data: LoadedData) -> list[BadRecord]:
    return [b for r in data.reports.values() for b in r.bad]


__all__ = ["LoadedData", "load_sources", "file_hash", "resolve", "data_root", "bad_records"]

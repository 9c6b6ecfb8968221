"""Read every source of a stage, account for every bad record, and fingerprint the files.

:func:`load_sources` is the one place a run touches annotation files: it resolves paths under ``data.root``,
fingerprints each file (sha256, streamed), opens the source's Arrow cache under ``$TPO_TRAIN_CACHE/arrow``
(built by running the reader when the file, the reader's code, the path or the media folder changed: see
``data/arrow.py``), checks the precomputed features each temporal example needs, and raises one
:class:`DataError` listing files, lines and reasons when more than ``max_bad_fraction`` of the records are
bad. Below that threshold the bad records are skipped *and* kept in the report (it goes to the log and to the
checkpoint manifest), so nothing disappears silently.

A source's examples are an :class:`~tpo_train.data.arrow.ArrowExamples` sequence (memory-mapped rows,
decoded when indexed), in the reader's order: the same examples a list would hold, without holding them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from tpo_eval.io import sha256_bytes, sha256_file, sha256_tree

from .arrow import ArrowExamples, cached_examples, code_version
from .examples import BadRecord, DataError, Example, Origin, ReadResult
from .features import FeatureStore
from .readers import READERS, iter_source

if TYPE_CHECKING:
    from ..config import DataCfg


@dataclass(frozen=True)
class LoadedData:
    examples: Mapping[str, Sequence[Example]]
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
    if path.is_dir():
        return sha256_tree(
            path, sorted(q for q in path.rglob("*") if q.is_file() and q.suffix in (".json", ".jsonl"))
        )
    return sha256_file(path) if path.is_file() else sha256_bytes(b"")


def arrow_cache() -> Path:
    """Where the sources' Arrow caches live: ``$TPO_TRAIN_CACHE/arrow`` (default ``~/.cache/tpo_train``)."""
    from ..presets import cache_dir

    return cache_dir() / "arrow"


def read_cached(fmt: str, path: Path, name: str, media: str = "", sha256: str = "") -> ReadResult:
    """Source ``name`` as read by reader ``fmt``: from its Arrow cache, built first when absent or stale.
    ``sha256``: the file's :func:`file_hash` when the caller has it already."""
    if not path.exists():  # nothing to cache; the reader's own report
        return ReadResult(str(path), (), (BadRecord(Origin(str(path), 0), "file or folder not found"),))
    ident = json.dumps([fmt, name, str(path), media])  # as the examples embed them (origin, uid, media)
    stem = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:40]}-{sha256_bytes(ident.encode())[:12]}"
    content = [sha256 or file_hash(path), code_version(READERS.get(fmt))]
    key = sha256_bytes(json.dumps(content).encode())[:24]
    got = cached_examples(arrow_cache(), stem, key, lambda: iter_source(fmt, path, name, media))
    return ReadResult(str(path), got.examples, got.bad, got.notes)


def load_sources(cfg: DataCfg) -> LoadedData:
    examples: dict[str, Sequence[Example]] = {}
    reports: dict[str, ReadResult] = {}
    hashes: dict[str, str] = {}
    stores: dict[str, FeatureStore] = {}
    for name, src in sorted(cfg.sources.items()):
        path = resolve(cfg.root, src.path)
        media = str(resolve(cfg.root, src.media)) if src.media else ""
        hashes[name] = file_hash(path)
        result = read_cached(src.format, path, name, media, hashes[name])
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
    if cfg.subsample:
        examples, reports = _subsample(cfg, examples, reports)
    return LoadedData(examples, reports, hashes, stores)


def _subsample(cfg: DataCfg, examples: dict, reports: dict) -> tuple[dict, dict]:
    """``data.subsample`` (``subsample.py``): cut the drawn sources; the draw goes into each one's report
    notes (and so into the checkpoint manifest)."""
    from ..tasks.base import reader_tasks
    from .subsample import subsample_examples

    tasks = {n: reader_tasks().get(s.format, s.format) for n, s in cfg.sources.items()}
    examples, notes = subsample_examples(examples, tasks, cfg.subsample, cfg.seed)
    for n, note in notes.items():
        r = reports[n]
        reports[n] = ReadResult(r.path, examples[n], r.bad, r.notes + (note,))
    return examples, reports


def _drop_missing_features(result: ReadResult, store: FeatureStore) -> ReadResult:
    """Examples whose feature files are absent become bad records (with the missing file named). Reads the
    ``vid``/``qid`` columns only, and checks each video once when the queries have no feature files."""
    import numpy as np

    examples = result.examples
    if store.extractor or not len(examples):
        return result  # an extractor computes features from the media (checked by the batch builder)
    assert isinstance(examples, ArrowExamples)  # read_cached's
    ok, bad, by_vid = np.ones(len(examples), dtype=bool), list(result.bad), {}
    cols = ("vid", "qid", "origin_path", "origin_line")
    for start, c in examples.column_batches(cols):
        for k, (vid, qid, path, line) in enumerate(zip(*(c[n] for n in cols))):
            ex = SimpleNamespace(vid=vid, qid=qid)
            if store.text_dir is None:
                missing = by_vid[vid] if vid in by_vid else by_vid.setdefault(vid, store.missing([ex]))
            else:
                missing = store.missing([ex])  # type: ignore[list-item]
            if missing:
                bad.append(BadRecord(Origin(path, line), f"missing feature file(s): {', '.join(missing)}"))
                ok[start + k] = False
    if not ok.all():
        examples = examples.subset(np.flatnonzero(ok))
    return ReadResult(result.path, examples, tuple(bad), result.notes)


def bad_records(data: LoadedData) -> list[BadRecord]:
    return [b for r in data.reports.values() for b in r.bad]


__all__ = ["LoadedData", "load_sources", "read_cached", "file_hash", "resolve", "data_root", "bad_records"]

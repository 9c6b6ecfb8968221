"""A source's parsed examples as a memory-mapped Arrow table, cached on disk, read back one row at a time.

Stage 3 mixes about two million examples: held as Python objects they would cost gigabytes of host memory
per rank and a minute of parsing at every start. :func:`cached_examples` streams a reader's output once into
``<cache>/<stem>-<key>/examples.arrow`` (an Arrow IPC stream written with pyarrow ``BATCH`` rows at a time, so
the build does not hold the corpus either; columns: ``data/columns.py``) and ``report.json`` (the bad records
with ``file:line`` and reason, and the notes). Later starts open the file with
``datasets.Dataset.from_file``: memory-mapped, so the OS pages rows in on demand and ranks on one host share
the pages; :class:`ArrowExamples` decodes a row into its example when the batch builder indexes it.

``key`` (chosen by ``sources.py``) hashes the source file's content; :func:`code_version` hashes the code
that decides what a reader produces, so an edit to a reader rebuilds its caches without a version number to
forget. An entry is written under a temporary name and renamed, so a crashed build is never read; a lock
file per source lets one process build while the others (ranks on the host) wait and then open it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

from tpo_eval.io import sha256_bytes

from .columns import Codec, class_by_name, class_name, datasets
from .examples import BadRecord, Example, Origin

BATCH = 10_000  # rows per written record batch: bounds the build's memory
FORMAT = 1  # bump when the layout of an entry changes


def code_version(reader: Callable[..., Any]) -> str:
    """sha256 of the modules that decide a reader's output: the reader's own module, every module of the
    ``readers`` package (its shared checks as well as the paper's readers), ``rle``, ``examples``, ``columns``
    and this one."""
    import inspect

    from . import columns, examples, readers, rle

    mods = {inspect.getmodule(reader), rle, examples, columns, inspect.getmodule(code_version)}
    pkg = {str(p) for p in Path(readers.__file__).parent.glob("*.py")}  # a new reader module counts unasked
    files = sorted({str(m.__file__) for m in mods if m is not None} | pkg)
    return sha256_bytes(f"format {FORMAT}".encode() + b"".join(Path(f).read_bytes() for f in files))


# ---- the examples of one source
# ----------------------------------------------------------------------------------
class ArrowExamples(Sequence):
    """The examples of one source, decoded row by row from the memory-mapped table; ``rows`` (optional)
    maps position ``i`` to a table row (the rows kept after the feature check)."""

    def __init__(self, dataset: Any, codec: Optional[Codec], rows: Optional[Sequence[int]] = None) -> None:
        self.dataset = dataset
        self.codec = codec
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else (len(self.dataset) if self.codec else 0)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"example {i} of a source with {n}")
        i %= n
        return self.codec.decode(self.dataset[int(self.rows[i]) if self.rows is not None else i])

    def __iter__(self) -> Iterator[Example]:
        for _, cols in self.column_batches():
            names = list(cols)
            for values in zip(*cols.values()):
                yield self.codec.decode(dict(zip(names, values)))

    def column_batches(self, names: Optional[Sequence[str]] = None) -> Iterator[tuple[int, dict[str, list]]]:
        """(first position, {column: values}) over the examples in order, ``BATCH`` at a time (columns
        without decoding: the feature check reads ``vid``/``qid`` of a million rows this way)."""
        if not len(self):
            return
        table = self.dataset.data.table  # the pyarrow Table (memory-mapped)
        table = table if names is None else table.select(list(names))
        for start in range(0, len(self), BATCH):
            if self.rows is None:
                part = table.slice(start, BATCH)
            else:
                part = table.take(list(map(int, self.rows[start : start + BATCH])))
            yield start, part.to_pydict()

    def __reduce__(self) -> tuple:
        # the codec holds closures: a pickled copy (a DataLoader worker) rebuilds it from the class name
        return (_reopen, (self.dataset, class_name(self.codec.cls) if self.codec else None, self.rows))

    def subset(self, keep: Sequence[int]) -> ArrowExamples:
        """The examples at positions ``keep`` (ascending)."""
        import numpy as np

        base = np.asarray(self.rows if self.rows is not None else np.arange(len(self)), dtype=np.int64)
        return ArrowExamples(self.dataset, self.codec, base[np.asarray(keep, dtype=np.int64)])


def _reopen(dataset: Any, cls: Optional[str], rows: Optional[Sequence[int]]) -> ArrowExamples:
    return ArrowExamples(dataset, Codec.of(class_by_name(cls)) if cls else None, rows)


@dataclasses.dataclass(frozen=True)
class CachedSource:
    examples: ArrowExamples
    bad: tuple[BadRecord, ...]
    notes: tuple[str, ...]


def cached_examples(cache: Path, stem: str, key: str, items: Callable[[], Iterable[Any]]) -> CachedSource:
    """The examples, bad records and notes of ``items()`` (a reader's stream), cached in ``cache/stem-key``:
    opened when present, else built first (and older ``stem-*`` entries, earlier versions of the same source,
    removed). Anything in the stream that is neither a BadRecord nor a note (str) is an example; the examples
    of one source must be of one class."""
    entry = cache / f"{stem}-{key}"
    if not (entry / "report.json").is_file():
        import fcntl

        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OSError(f"cannot create the data cache {cache} ({e}): set TPO_TRAIN_CACHE") from e
        # one builder per source: the ranks of a host that all miss wait for the first and then open its entry
        with open(cache / f".{stem}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (entry / "report.json").is_file():
                _build(entry, items())
                for old in cache.glob(f"{stem}-*"):
                    if old != entry:
                        shutil.rmtree(old, ignore_errors=True)  # an open memory map of it stays valid (POSIX)
    return _open(entry)


def _open(entry: Path) -> CachedSource:
    report = json.loads((entry / "report.json").read_text())
    bad = tuple(BadRecord(Origin(p, line), why) for p, line, why in report["bad"])
    codec = Codec.of(class_by_name(report["class"])) if report["class"] else None
    ds = datasets().Dataset.from_file(str(entry / "examples.arrow")) if codec else None
    return CachedSource(ArrowExamples(ds, codec), bad, tuple(report["notes"]))


def _build(entry: Path, stream: Iterable[Any]) -> None:
    """Write ``stream`` into ``entry`` (a temporary folder renamed at the end: never read half-written)."""
    import pyarrow as pa

    tmp = entry.with_name(f".tmp-{os.getpid()}-{entry.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    bad: list[list] = []
    notes: list[str] = []
    codec: Optional[Codec] = None
    n = 0
    try:
        with pa.OSFile(str(tmp / "examples.arrow"), "wb") as sink:
            writer = cols = None
            for item in stream:
                if isinstance(item, BadRecord):
                    bad.append([item.origin.path, item.origin.line, item.reason])
                    continue
                if isinstance(item, str):
                    notes.append(item)
                    continue
                if codec is None:
                    codec = Codec.of(type(item))
                    schema = codec.features().arrow_schema
                    writer, cols = pa.ipc.new_stream(sink, schema), {c: [] for c in schema.names}
                elif type(item) is not codec.cls:
                    raise TypeError(
                        f"a source yields {codec.cls.__name__} and {type(item).__name__} examples"
                    )
                codec.encode(item, cols)
                n += 1
                if n % BATCH == 0:
                    writer.write_batch(pa.RecordBatch.from_pydict(cols, schema=schema))
                    cols = {c: [] for c in cols}
            if writer is not None:
                if n % BATCH:
                    writer.write_batch(pa.RecordBatch.from_pydict(cols, schema=schema))
                writer.close()
        report = {
            "format": FORMAT,
            "class": class_name(codec.cls) if codec else None,
            "n_examples": n,
            "bad": bad,
            "notes": notes,
        }
        (tmp / "report.json").write_text(json.dumps(report))
        if entry.exists() and not (entry / "report.json").is_file():
            shutil.rmtree(entry)  # an incomplete entry (its report removed by hand): replace it
        os.rename(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

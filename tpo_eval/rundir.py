"""One writer per predictions file, and the checks that keep a run directory honest across shards and reruns.

Each ``predictions*.jsonl`` has a sibling ``.<name>.lock`` held with ``flock`` while a run appends to it. The
kernel drops an ``flock`` when its holder dies (SIGKILL included), so a killed run never blocks the next one;
the lock file only records who holds it (host, pid) for the refusal message. Short sections that read every
shard's
rows (resume, retrying failures, deciding which shard writes ``results.json``) run under ``.run.lock``.
``run.json`` records what a run directory was made with, so ``tpo-eval merge RUN_DIR`` can finish it later.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from .io import read_jsonl
from .records import PRED_GLOB, write_json_atomic

RUN_FILE = "run.json"


class LockHeldError(RuntimeError):
    """Another live process writes this run directory."""


class RunDirError(RuntimeError):
    """A run directory mixes predictions that cannot be scored together (settings, repeated ids, content)."""


class FileLock:
    """An exclusive ``flock`` on ``path`` that records its holder; ``what`` names the protected file in
    errors."""

    def __init__(self, path: Path, what: Path) -> None:
        self.path, self.what, self._fd = path, what, None

    def acquire(self, blocking: bool = False) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(
            self.path, os.O_RDWR | os.O_CREAT, 0o666
        )  # never O_TRUNC: the holder's note must survive
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "holder not yet recorded"
            os.close(fd)
            raise LockHeldError(
                f"{self.what} is being written by another run ({holder}); wait for it to finish, "
                "or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, f"host {socket.gethostname()} pid {os.getpid()} since {time.strftime('%H:%M:%S')}".encode(), 0
        )
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def predictions_lock(pred_file: Path) -> FileLock:
    return FileLock(pred_file.parent / f".{pred_file.name}.lock", pred_file)


def remove_if_only_lock(out: Path, lock: FileLock, parents: Sequence[Path] = ()) -> None:
    """Remove the run directory ``out`` when all it holds is ``lock``'s (released) file — a run that created
    it and failed before writing anything — and then those of ``parents`` (the folders the run created above
    it, innermost first) that are left empty. Anything else in ``out`` (another shard's lock, a row) keeps
    it."""
    if not (out.is_dir() and list(out.iterdir()) == [lock.path]):
        return
    lock.path.unlink()
    out.rmdir()
    for p in parents:
        try:
            p.rmdir()
        except OSError:  # not empty: another run's folder lives there now
            return


@contextmanager
def dir_lock(out: Path) -> Iterator[None]:
    """Serialises the short read-decide-write sections of the shards that share ``out`` (blocks, briefly)."""
    lock = FileLock(out / ".run.lock", out).acquire(blocking=True)
    try:
        yield
    finally:
        lock.release()


def read_rows(out: Path) -> dict[Path, list[dict[str, Any]]]:
    """Every shard file's rows, by file."""
    return {p: read_jsonl(p) for p in sorted(out.glob(PRED_GLOB))}


def check_rows(rows: Mapping[Path, list[dict[str, Any]]], settings: Optional[str] = None) -> dict[str, dict]:
    """Rows by id, after refusing a directory that mixes settings (all rows must share one settings hash, or
    ``settings`` when given) or holds one id twice."""
    by_id: dict[str, dict[str, Any]] = {}
    where: dict[str, Path] = {}
    seen: dict[Any, tuple[Path, str]] = {}
    for path, file_rows in rows.items():
        for row in file_rows:
            s = row.get("settings")
            if settings is not None and s != settings:
                raise RunDirError(
                    f"{path.parent} holds predictions made with other settings (row {row.get('id')!r} "
                    f"in {path.name}: {s} ≠ {settings}); use a new --out directory"
                )
            seen.setdefault(s, (path, str(row.get("id"))))
            if len(seen) > 1:
                (p1, i1), (p2, i2) = list(seen.values())[:2]
                raise RunDirError(
                    f"{path.parent} mixes predictions made with different settings ({p1.name} row "
                    f"{i1!r} vs {p2.name} row {i2!r}); score each run directory on its own"
                )
            rid = str(row.get("id"))
            if rid in by_id:
                raise RunDirError(
                    f"sample {rid!r} has two predictions ({where[rid].name} and {path.name}): two "
                    "runs wrote this directory at once; use a new --out directory"
                )
            by_id[rid], where[rid] = row, path
    return by_id


def check_digests(by_id: Mapping[str, Mapping[str, Any]], digests: Mapping[str, str], where: Path) -> None:
    """Refuse rows predicted for other content than the sample now carrying their id (annotations reordered or
    edited since). Rows without a digest (written before digests existed) are trusted by id."""
    changed = [i for i, d in digests.items() if i in by_id and by_id[i].get("digest") not in (None, d)]
    if changed:
        raise RunDirError(
            f"{where}: {len(changed)} prediction(s) were made for other annotation content than the "
            f"samples now under their ids (first: {changed[0]}); the annotation file was reordered or "
            "edited since; use a new --out directory"
        )


def drop_rows(
    out: Path, rows: Mapping[Path, list[dict[str, Any]]], drop: Callable[[dict], bool], own: Path
) -> int:
    """Rewrite each file without the rows ``drop`` selects (atomically); files other than ``own`` are locked
    first, so a file another live run appends to is never rewritten under it. Returns how many were
    dropped."""
    n = 0
    for path, file_rows in rows.items():
        keep = [r for r in file_rows if not drop(r)]
        if len(keep) == len(file_rows):
            continue
        lock = predictions_lock(path).acquire() if path != own else None
        try:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            if lock:
                lock.release()
        n += len(file_rows) - len(keep)
    return n


def write_run_file(out: Path, doc: Mapping[str, Any]) -> None:
    """``run.json``: the selection, data paths and settings a run directory was made with (for ``merge``)."""
    path = out / RUN_FILE
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("settings_hash") == doc.get("settings_hash") and old.get("selection") == doc.get(
            "selection"
        ):
            return
    write_json_atomic(path, doc)


def read_run_file(out: Path) -> dict[str, Any]:
    path = out / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{out} has no {RUN_FILE}: not a tpo-eval run directory (or one made before "
            "run.json existed; score it with `tpo-eval score BENCHMARK --predictions DIR`)"
        )
    return json.loads(path.read_text(encoding="utf-8"))

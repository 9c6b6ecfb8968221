"""Run-directory files: ``predictions*.jsonl`` (append-only, one flushed row per sample) and ``results.json``
(atomic write), plus the provenance block that makes a result self-describing.

A run killed mid-write leaves at most one torn last line; :func:`read_predictions` drops it (and
:class:`PredictionWriter` truncates it before appending), so resuming never duplicates or corrupts rows.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

from .io import read_jsonl
from .resources import REPO_ROOT
from .types import RawOutput

SCHEMA_VERSION = 1
PRED_GLOB = "predictions*.jsonl"


class PredictionWriter:
    """Appends one JSON row per sample and flushes it, so a crash loses at most the row being written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        read_jsonl(path, repair=True)
        if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            with open(path, "ab") as f:
                f.write(b"\n")
        self._f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held open for the run, closed by close()

    def write(self, row: Mapping[str, Any]) -> None:
        self._f.write(json.dumps(row, ensure_ascii=False, default=_jsonable) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_run_predictions(run_dir: Path) -> list[dict[str, Any]]:
    """All prediction rows of a run directory (every shard's file), in file order."""
    rows: list[dict[str, Any]] = []
    for p in sorted(run_dir.glob(PRED_GLOB)):
        rows.extend(read_jsonl(p))
    return rows


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON via a temp file + rename, so readers never see half a results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False, default=_jsonable)
            f.write("\n")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a results file is shared like any other output
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


_PACKAGES = (
    "tpo-eval",
    "torch",
    "torchvision",
    "transformers",
    "peft",
    "numpy",
    "av",
    "decord",
    "torchcodec",
    "tokenizers",
)


def package_versions(names: Iterable[str] = _PACKAGES) -> dict[str, Optional[str]]:
    out: dict[str, Optional[str]] = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def git_state(root: Path = REPO_ROOT) -> dict[str, Any]:
    """The project's git sha and whether the tree had local changes (None outside a checkout)."""
    try:
        sha = (
            subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
        dirty = (
            bool(
                subprocess.run(
                    ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout.strip()
            )
            if sha
            else None
        )
    except (OSError, subprocess.SubprocessError):
        sha, dirty = None, None
    return {"sha": sha, "dirty": dirty}


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name] + sys.argv[1:]


def raw_from_row(row: dict[str, Any]) -> RawOutput:
    """A predictions.jsonl row (ours, or an external ``{"id", "output"}`` row) back into a RawOutput."""
    win = row.get("windows")
    sal = row.get("saliency")
    return RawOutput(
        sample_id=str(row["id"]),
        text=str(row.get("output") or ""),
        windows=tuple(tuple(float(x) for x in w) for w in win) if win else None,
        saliency=tuple(float(x) for x in sal) if sal else None,
        error=row.get("error"),
    )

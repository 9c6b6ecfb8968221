"""Finding and checking checkpoints without loading them: the manifest (its kind and schema), the complete
checkpoints of a run, and the files' sha256 against the manifest.

``manifest.json``: ``schema_version``, ``kind``, ``stage``, ``step``, ``total_steps``, ``final``, ``parent``
(path, stage, manifest sha256), ``config`` and ``config_sha256``, ``data`` (per source: file, sha256, counts,
first bad records), ``packages`` (versions), ``git`` (sha, dirty), ``world_size``, ``files`` (sha256 of every
file in the folder but the manifest, by relative path), ``created``.

Split from ``checkpoint.py`` (writing, and loading weights and trainer state), which re-exports every name
here: resume, ``init_from`` and config validation read and check manifests before anything is loaded, and
none of this touches tensors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from tpo_eval.io import sha256_file

MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
KIND = "tpo-train-checkpoint"


class CheckpointError(ValueError):
    """A checkpoint folder that is missing, incomplete or of the wrong kind; the message says what was
    found."""


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints (with a manifest) under a run's output dir, oldest step first, ``final`` last."""
    found = [p for p in Path(output_dir).glob("step-*") if (p / MANIFEST).is_file()]
    found.sort(key=lambda p: int(p.name.split("-")[1]))
    if (Path(output_dir) / "final" / MANIFEST).is_file():
        found.append(Path(output_dir) / "final")
    return found


def latest_checkpoint(output_dir: Path) -> Optional[Path]:
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a checkpoint folder, with an actionable error when it is not one."""
    p = Path(path)
    if not p.is_dir():
        parent = p.parent
        near = [str(c) for c in list_checkpoints(parent)] if parent.is_dir() else []
        hint = f"; checkpoints next to it: {', '.join(near)}" if near else ""
        raise CheckpointError(f"{p} does not exist{hint}")
    mf = p / MANIFEST
    if not mf.is_file():
        inside = sorted(c.name for c in p.iterdir())[:10]
        near = [str(c) for c in list_checkpoints(p)]
        hint = f"; it holds checkpoints: {', '.join(near)}" if near else f" (found: {inside})"
        raise CheckpointError(f"{p} is not a complete checkpoint: no {MANIFEST}{hint}")
    man = json.loads(mf.read_text())
    if man.get("kind") != KIND or man.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointError(
            f"{mf}: kind {man.get('kind')!r} / schema {man.get('schema_version')!r}, expected "
            f"{KIND!r} / {SCHEMA_VERSION}"
        )
    return man


def manifest_sha(path: str | Path) -> str:
    return sha256_file(Path(path) / MANIFEST)


def verify_files(ckpt: Path, man: Mapping[str, Any], only: Optional[list[str]] = None) -> list[str]:
    """Files whose sha256 differs from the manifest (empty = intact); ``only`` restricts the check."""
    files = man.get("files", {})
    return [
        f
        for f, h in files.items()
        if (only is None or f in only)
        and (not (Path(ckpt) / f).is_file() or sha256_file(Path(ckpt) / f) != h)
    ]


def verify_checkpoint(ckpt: Path, only: Optional[list[str]] = None) -> None:
    """Refuse a checkpoint whose files differ from its manifest's hashes, or that holds files it never
    listed."""
    ckpt = Path(ckpt)
    man = read_manifest(ckpt)
    listed = man.get("files", {})
    unlisted = [f for f in (only or []) if f not in listed]
    if unlisted:
        raise CheckpointError(
            f"{ckpt}: {', '.join(unlisted)} not hashed in {MANIFEST} (a checkpoint written by an "
            "older tpo-train, or a file added since); refusing to load it"
        )
    bad = verify_files(ckpt, man, only)
    if bad:
        raise CheckpointError(
            f"{ckpt}: {', '.join(bad)} differ from the sha256 in {MANIFEST} (changed or "
            "truncated since the checkpoint was written); refusing to load"
        )

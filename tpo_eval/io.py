"""The one place that reads YAML and JSONL files and hashes content, for both packages (``tpo_train`` imports
these; nothing here imports the rest of ``tpo_eval``).

- :func:`load_yaml` reads benchmark YAMLs, paper tables, errata and training configs; a syntax error is a
  :class:`ConfigError` naming the file, line and column.
- :func:`read_jsonl` / :func:`iter_jsonl` read JSON Lines; a bad line is a :class:`JSONLError` naming the file
  and line (``read_jsonl`` drops a torn *last* line, what a killed appender leaves).
- ``sha256_*``: every content digest the two packages record (files, folders, bytes, JSON values, seeds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import yaml

__all__ = [
    "ConfigError",
    "JSONLError",
    "iter_jsonl",
    "load_yaml",
    "read_jsonl",
    "sha256_bytes",
    "sha256_file",
    "sha256_int",
    "sha256_json",
    "sha256_tree",
    "yaml_value",
]


class ConfigError(ValueError):
    """One or more problems in a config file (benchmark, paper table, training config); the message lists
    them all, so a user fixes a file in one pass."""

    def __init__(self, path: str | Path, errors: list[str]) -> None:
        self.path, self.errors = str(path), list(errors)
        super().__init__(f"{path}: {len(errors)} problem(s):\n" + "\n".join(f"  - {e}" for e in errors))


class JSONLError(ValueError):
    """A line of a JSON Lines file that is not JSON; ``path``, ``line`` and ``column`` (1-based) say where."""

    def __init__(self, path: str | Path, line: int, msg: str, column: int = 0) -> None:
        self.path, self.line, self.msg, self.column = str(path), line, msg, column
        super().__init__(f"{path} line {line}: invalid JSON ({msg})")


# ---------------------------------------------------------------------------------------------------- YAML
def load_yaml(path: str | Path, text: Optional[str | bytes] = None) -> Any:
    """The YAML value in ``path`` (None for an empty file); ``text``: its content, when already read.

    Raises:
        ConfigError: the file is missing or unreadable, or not YAML (the message gives the problem's
        line and column).
    """
    if text is None:
        try:
            text = Path(path).read_bytes()
        except FileNotFoundError:
            raise ConfigError(path, ["file not found"]) from None
        except OSError as e:
            raise ConfigError(path, [f"cannot read: {e.strerror}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(path, [_yaml_problem(e)]) from None


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    what = getattr(e, "problem", None) or str(e)
    if mark is None:
        return f"invalid YAML: {what}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"


def yaml_value(text: str) -> Any:
    """One command-line value read as a YAML scalar or flow value (``32``, ``0.2``, ``true``, ``[1, 2]``);
    text YAML cannot read stays text."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


# --------------------------------------------------------------------------------------------------- JSONL
def iter_jsonl(
    path: str | Path, text: Optional[str] = None, on_error: Optional[Callable[[JSONLError], None]] = None
) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line of a JSON Lines file, read line by line (``text``:
    its content, when already read). A line that is not JSON raises :class:`JSONLError`, or, with
    ``on_error``, is handed to it and skipped (readers that count bad records and go on)."""
    if text is not None:
        yield from _jsonl_lines(path, enumerate(text.split("\n"), 1), on_error)
        return
    with open(path, encoding="utf-8") as f:
        yield from _jsonl_lines(path, enumerate(f, 1), on_error)


def _jsonl_lines(
    path: str | Path, lines: Iterable[tuple[int, str]], on_error: Optional[Callable[[JSONLError], None]]
) -> Iterator[tuple[int, Any]]:
    for n, line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as e:
            if on_error is None:
                raise JSONLError(path, n, e.msg, e.colno) from None
            on_error(JSONLError(path, n, e.msg, e.colno))
            continue
        yield n, value


def read_jsonl(path: Path, *, repair: bool = False) -> list[Any]:
    """Rows of a JSONL file (none if it does not exist). A torn *last* line (a killed writer) is dropped, and
    cut off the file when ``repair``; a bad line anywhere else is a :class:`JSONLError`."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    rows, good_len = [], 0
    for n, line in enumerate(lines):
        if not line.strip():
            good_len += len(line) + 1
            continue
        try:
            rows.append(json.loads(line))
            good_len += len(line) + 1
        except json.JSONDecodeError as e:
            if n == len(lines) - 1:  # unterminated final line: an interrupted append
                if repair:
                    with open(path, "r+b") as f:
                        f.truncate(min(good_len, len(raw)))
                break
            raise JSONLError(path, n + 1, e.msg, e.colno) from None
    return rows


# ------------------------------------------------------------------------------------------------- hashing
def sha256_bytes(data: bytes | str) -> str:
    """Hex sha256 of bytes (text is hashed as UTF-8)."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks (checkpoint shards are gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(root: Path, files: Iterable[Path]) -> str:
    """Hex sha256 over several files, in the order given: each one's path relative to ``root``, then its
    bytes (a renamed or moved file changes the digest)."""
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex sha256 of a JSON value with sorted keys (settings, manifests); non-JSON leaves as ``str``."""
    return sha256_bytes(json.dumps(obj, sort_keys=True, default=str))


def sha256_int(text: str, n_bytes: int) -> int:
    """A stable integer (a seed) from ``text``: the first ``n_bytes`` of its sha256 digest, read as a
    little-endian integer."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:n_bytes], "little")

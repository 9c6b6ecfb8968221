"""The readers' registry and what every reader shares: the record checks (``_num``, ``_str``), the JSON /
JSONL loaders that turn a bad line into a counted :class:`BadRecord`, and the two entry points
(:func:`iter_source`, :func:`read_source`) that run a registered reader on a file.

Why a module of its own: the per-layout reader modules (``grounding``, ``masks``, ``conversation``) register
into ``READERS`` and raise ``_Bad`` from here, and the entry points look a reader up by name, so neither side
imports the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Union

from tpo_eval.io import JSONLError, iter_jsonl
from tpo_eval.registry import Registry

from ..examples import BadRecord, Example, Origin, ReadResult

READERS: Registry = Registry("data reader")

#: what a reader yields: an example, a refused record, or a note about the whole file
Item = Union[Example, BadRecord, str]


class _Bad(ValueError):
    """A record-level problem; caught per record and turned into a BadRecord."""


def _num(d: dict, key: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"{key!r} must be a number, got {v!r}")
    return float(v)


def _str(d: dict, key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise _Bad(f"{key!r} must be a non-empty string, got {v!r}")
    return v


def _jsonl(path: Path, bad: list[BadRecord]) -> Iterator[tuple[Origin, dict]]:
    def skip(e: JSONLError) -> None:  # a bad line is a counted bad record; the reader goes on
        bad.append(BadRecord(Origin(str(path), e.line), f"invalid JSON: {e.msg} at column {e.column}"))

    for i, obj in iter_jsonl(path, on_error=skip):
        if not isinstance(obj, dict):
            bad.append(BadRecord(Origin(str(path), i), f"expected an object, got {type(obj).__name__}"))
            continue
        yield Origin(str(path), i), obj


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise _Bad(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise _Bad(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None


def iter_source(fmt: str, path: Path, source: str, media: str = "") -> Iterator[Item]:
    """Stream reader ``fmt`` over ``path``; a file-level failure becomes one bad record (line 1) rather than a
    crash. A reader that returns a whole :class:`ReadResult` is streamed from it."""
    reader: Callable[..., Union[ReadResult, Iterator[Item]]] = READERS.get(fmt)
    if not path.exists():
        yield BadRecord(Origin(str(path), 0), "file or folder not found")
        return
    try:
        out = reader(path, source, media)
        if isinstance(out, ReadResult):
            yield from out.examples
            yield from out.bad
            yield from out.notes
        else:
            # the readers raise a file-level _Bad only before their first item (reading the whole file)
            yield from out
    except _Bad as e:
        yield BadRecord(Origin(str(path), 1), str(e))


def read_source(fmt: str, path: Path, source: str, media: str = "") -> ReadResult:
    """All of reader ``fmt``'s output on ``path`` in memory (tests and small files; training streams it)."""
    examples: list[Example] = []
    bad: list[BadRecord] = []
    notes: list[str] = []
    for item in iter_source(fmt, path, source, media):
        (bad if isinstance(item, BadRecord) else notes if isinstance(item, str) else examples).append(item)
    return ReadResult(str(path), tuple(examples), tuple(bad), tuple(notes))

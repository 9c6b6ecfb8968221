"""Reader of the conversation layout (``videochat2_it``): instruction-tuning QA whose examples feed the LM
loss only, no task head (``CONVERSATION_FORMATS``: the tasks map these formats to the ``conversation``
task)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Optional

from ..examples import BadRecord, ConversationExample, Origin, Turn
from .base import READERS, Item, _Bad, _load_json, _str

#: layouts whose examples feed the LM loss only (no task head)
CONVERSATION_FORMATS = ("videochat2_it",)


@READERS.register("videochat2_it", "VideoChat2-IT conversations: [{video|image, QA: [{i, q, a}]}]")
def read_videochat2_it(path: Path, source: str, media: str = "") -> Iterator[Item]:
    items = _load_json(path)
    if not isinstance(items, list):
        raise _Bad("top level must be a JSON list")
    for k, d in enumerate(items, 1):
        origin = Origin(str(path), k)
        try:
            if not isinstance(d, dict):
                raise _Bad(f"item must be an object, got {type(d).__name__}")
            kind: Optional[str] = "video" if "video" in d else "image" if "image" in d else None
            media_path = _str(d, kind) if kind else None
            qa = d.get("QA")
            if not isinstance(qa, list) or not qa:
                raise _Bad("'QA' must be a non-empty list of {i, q, a}")
            turns = []
            for t in qa:
                if not isinstance(t, dict) or not isinstance(t.get("a"), str) or not t["a"].strip():
                    raise _Bad(f"turn {t!r} needs a non-empty answer 'a'")
                q, i = t.get("q", ""), t.get("i", d.get("i", ""))
                if not isinstance(q, str) or not isinstance(i, str) or not (q.strip() or i.strip()):
                    raise _Bad(f"turn {t!r} needs a question 'q' or an instruction 'i'")
                turns.append(Turn(question=q.strip(), answer=t["a"].strip(), instruction=i.strip()))
        except _Bad as e:
            yield BadRecord(origin, str(e))
            continue
        full = f"{media}/{media_path}" if media and media_path else media_path
        yield ConversationExample(
            uid=f"{source}/{k}", source=source, origin=origin, media=full, media_kind=kind, turns=tuple(turns)
        )

"""Mock models: no weights, deterministic answers. Used by tests, the demo and smoke runs.

Variants: ``oracle`` answers the gold (read from ``Request.reference``, which real adapters ignore);
``random`` picks a seeded option/span per sample (same seed and sample id → same answer, on every machine);
``scripted`` replays outputs from a file (``--model-arg script=FILE``: JSONL rows ``{"id", "output"}`` or a
JSON object id → output); a sample missing from the script is a recorded failure.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from ..extract.mcq import LETTERS
from ..io import JSONLError, iter_jsonl, sha256_file
from ..types import RawOutput, Request
from .base import ModelError, VideoModel


class MockModel(VideoModel):
    name = "mock"
    supports = frozenset({"mcq", "span", "multi_image", "generate"})
    # Accepted so runs and tests exercise --gen-kwargs end to end; mock answers do not depend on them.
    generation_keys = {"max_new_tokens": int, "do_sample": bool, "temperature": float, "top_p": float}
    model_args = frozenset({"script", "delay"})

    def __init__(self, variant: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(variant=variant or "oracle", **kwargs)
        if self.variant not in ("oracle", "random", "scripted"):
            raise ModelError(
                f"unknown mock variant {self.variant!r}: use mock:oracle, mock:random or mock:scripted"
            )
        self._script: dict[str, str] = {}
        if self.variant == "scripted":
            self._script = _load_script(self.kwargs.get("script"))

    def fingerprint(self) -> dict[str, Any]:
        fp = {"model": self.name, "variant": self.variant, "seed": self.seed}
        if self.variant == "scripted":
            fp["script_sha256"] = sha256_file(self.kwargs["script"])
        return fp

    def predict(self, requests: Sequence[Request]) -> list[RawOutput]:
        # ``--model-arg delay=SECONDS`` simulates a slow model (resume tests); it does not change answers.
        delay = float(self.kwargs.get("delay", 0) or 0)
        if delay:
            time.sleep(delay * len(requests))
        return [self._one(r) for r in requests]

    def _one(self, r: Request) -> RawOutput:
        if self.variant == "scripted":
            if r.sample_id not in self._script:
                return RawOutput(r.sample_id, error="no scripted output for this sample")
            return RawOutput(r.sample_id, text=self._script[r.sample_id])
        rng = random.Random(f"{self.seed}/{r.sample_id}")
        if r.kind == "span":
            return self._span(r, rng)
        if self.variant == "oracle":
            idx = int(r.reference)
        else:
            idx = rng.randrange(len(r.choices))
        # After an assistant prefix ending in '(' (MVBench), answer "B)"; otherwise a bare letter.
        text = f"{LETTERS[idx]})" if r.prompt.assistant_prefix.endswith("(") else LETTERS[idx]
        return RawOutput(r.sample_id, text=text)

    def _span(self, r: Request, rng: random.Random) -> RawOutput:
        dur = float(r.duration or 0.0)
        if self.variant == "oracle":
            ref = r.reference
            windows = [ref] if ref and not isinstance(ref[0], (list, tuple)) else list(ref or [])
            if not windows:
                return RawOutput(r.sample_id, error="oracle has no reference span")
            s, e = float(windows[0][0]), float(windows[0][1])
        else:
            a, b = sorted((rng.uniform(0, dur), rng.uniform(0, dur)))
            s, e = round(a, 1), round(b, 1)
        return RawOutput(r.sample_id, text=f"{s:.1f} - {e:.1f} seconds", windows=((s, e, 1.0),))


def _load_script(path: Any) -> dict[str, str]:
    if not path:
        raise ModelError(
            "mock:scripted needs --model-arg script=FILE (JSONL rows {'id','output'} or a JSON object)"
        )
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"script file {p} not found")
    text = p.read_text(encoding="utf-8")
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return {str(k): str(v) for k, v in obj.items()}
    except json.JSONDecodeError:
        pass
    out = {}
    try:
        for n, row in iter_jsonl(p, text):
            try:
                out[str(row["id"])] = str(row["output"])
            except (KeyError, TypeError) as e:
                raise ModelError(f"{p} line {n}: expected {{'id', 'output'}} ({e})") from None
    except JSONLError as e:
        raise ModelError(f"{e}: expected {{'id', 'output'}} rows") from None
    return out

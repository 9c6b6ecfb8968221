"""Baselines of a synthetic world that need no video: the priors a model must beat, as answer scripts.

- text only (MCQ): a logistic regression (numpy only) scores every option from hashed features of the option's
  words, of (question word, option word) pairs and of the option's letter (alone and per question word),
  trained on the train split, and picks the best option of each held-out question — how far the question and
  options alone get (a balanced world keeps it near 25 %);
- best constant span (grounding): the one span with the highest train R1@0.5 (``world.json``), answered for
  every held-out query.

Each is written as a ``mock:scripted`` answer file (``{"id", "output"}`` JSONL), so ``tpo-eval run`` scores it
with the benchmark's own extractors and it becomes a row of the demo's table like any model.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np

from tpo_eval.io import iter_jsonl

DIM = 2**14
LETTERS = "ABCDEFGH"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _features(question: str, option: str, pos: int) -> np.ndarray:
    x = np.zeros(DIM, np.float32)
    ow, qw = _words(option), set(_words(question))
    keys = (
        [f"o:{w}" for w in ow]
        + [f"o:{option.lower()}"]
        + [f"q:{q}|o:{w}" for q in qw for w in ow]
        # the option's letter, alone and per question word: a position prior (options are listed in a fixed
        # order) is there for the taking
        + [f"p:{pos}"]
        + [f"q:{q}|p:{pos}" for q in qw]
    )
    for k in keys:
        x[zlib.crc32(k.encode()) % DIM] = 1.0
    return x


def load_mcq(root: Path, split: str) -> list[dict]:
    """Every MCQ of a split, in file order, with its task name and its benchmark sample id
    (``task/index``)."""
    items = []
    for f in sorted((Path(root) / "mcq" / split).glob("*.json")):
        for i, it in enumerate(json.loads(f.read_text(encoding="utf-8"))):
            items.append({**it, "task": f.stem, "id": f"{f.stem}/{i}"})
    return items


def fit(items: list[dict], epochs: int = 200, lr: float = 0.5, l2: float = 1e-4) -> np.ndarray:
    x = np.stack([_features(it["question"], c, k) for it in items for k, c in enumerate(it["candidates"])])
    y = np.array([float(c == it["answer"]) for it in items for c in it["candidates"]], np.float32)
    w = np.zeros(DIM, np.float32)
    for _ in range(epochs):  # full-batch gradient descent on the logistic loss
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        w -= lr * (x.T @ (p - y) / len(y) + l2 * w)
    return w


def choose(items: list[dict], w: np.ndarray) -> list[int]:
    """The option index the text-only model picks for each item."""
    return [
        int(np.argmax([float(_features(it["question"], c, k) @ w) for k, c in enumerate(it["candidates"])]))
        for it in items
    ]


def accuracy(items: list[dict], picks: list[int]) -> dict[str, float]:
    hits: dict[str, list[bool]] = {}
    for it, k in zip(items, picks):
        hits.setdefault(it["task"], []).append(it["candidates"][k] == it["answer"])
    out = {t: round(100.0 * float(np.mean(h)), 2) for t, h in sorted(hits.items())}
    out["overall (micro)"] = round(100.0 * float(np.mean([v for h in hits.values() for v in h])), 2)
    out["overall (macro)"] = round(float(np.mean([out[t] for t in hits])), 2)
    return out


def text_only_script(root: Path, out: Path, epochs: int = 200) -> Path:
    """The text-only model's held-out answers as a mock:scripted file (``"B) option text"``, what a model
    writes after MVBench's ``Best option:(`` prefix)."""
    w = fit(load_mcq(root, "train"), epochs)
    items = load_mcq(root, "heldout")
    rows = [
        {"id": it["id"], "output": f"{LETTERS[k]}) {it['candidates'][k]}"}
        for it, k in zip(items, choose(items, w))
    ]
    return _write(out, rows)


def constant_span_script(root: Path, out: Path) -> Path:
    """The best constant span (``world.json`` baselines) answered for every held-out Charades-format and
    QVHighlights-format query (ids as the synth_charades / synth_qvh benchmarks number them)."""
    root = Path(root)
    span = json.loads((root / "world.json").read_text())["baselines"]["constant_span"]
    text = f"The given query happens in {span['start']} - {span['end']} seconds."
    n = len((root / "charades" / "heldout" / "charades_sta.txt").read_text().splitlines())
    rows = [{"id": f"heldout/{i}", "output": text} for i in range(n)]
    for _, d in iter_jsonl(root / "qvh" / "heldout" / "highlight.jsonl"):
        rows.append({"id": f"heldout/{d['qid']}", "output": text})
    return _write(out, rows)


def _write(out: Path, rows: list[dict]) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out

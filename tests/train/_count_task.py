"""A toy training task for the tests: ``<count_begin><count>`` → how many things a sentence names (text only).

Everything a new head needs is in this one module — the example type, its reader, the head spec, the head
(forward, loss, decode) and the task object — the worked example of docs/ARCHITECTURE.md ("A training head").
The tests add the reader and the task to the registries for their own duration: lazily by name
(``READERS.added``, ``TASKS.added``), as the built-in tasks are, or with ``registered(CountTask)``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tpo_train.data.examples import BadRecord, Origin, ReadResult
from tpo_train.heads.base import TaskHead, check_count
from tpo_train.tasks import Task


@dataclass(frozen=True)
class CountExample:
    uid: str
    source: str
    origin: Origin
    text: str
    count: int
    task: str = "count"


def read_counts(path: Path, source: str, media: str = "") -> ReadResult:
    """JSONL rows ``{"text": str, "count": int >= 0}``; anything else is a bad record."""
    out, bad = [], []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        d = json.loads(line)
        if not isinstance(d.get("count"), int) or d["count"] < 0:
            bad.append(BadRecord(Origin(str(path), i), "'count' must be an integer >= 0"))
            continue
        out.append(CountExample(f"{source}:{i}", source, Origin(str(path), i), d["text"], d["count"]))
    return ReadResult(str(path), tuple(out), tuple(bad))


@dataclass(frozen=True)
class CountHeadSpec:
    hidden: int = 8


class CountHead(TaskHead):
    task = "count"

    def __init__(self, spec: CountHeadSpec, llm_hidden: int) -> None:
        super().__init__()
        self.spec = spec
        self.mlp = nn.Sequential(nn.Linear(llm_hidden, spec.hidden), nn.ReLU(), nn.Linear(spec.hidden, 1))

    def forward(self, hidden: torch.Tensor, inputs: Any = None) -> torch.Tensor:
        return self.mlp(hidden.to(self.mlp[0].weight.dtype))[:, 0]

    def loss(self, pred: torch.Tensor, targets: torch.Tensor, inputs: Any = None) -> dict[str, torch.Tensor]:
        check_count(self.task, pred.shape[0], targets.shape[0])
        mse = F.mse_loss(pred, targets.to(pred))
        return {"mse": mse, "total": mse}

    def decode(self, pred: torch.Tensor, inputs: Any = None) -> list[int]:
        return [max(0, round(float(v))) for v in pred.detach()]


TEMPLATES = ("How many things does this name: {text}?", "Count the things in: {text}")


class CountTask(Task):
    """count the things a sentence names (a test toy)"""

    name = "count"
    trigger, placeholder = "<count_begin>", "<count>"
    spec_type = CountHeadSpec
    example_type = CountExample
    formats = ("count_jsonl",)

    def instruction(self, example: Any, rng: random.Random, textualize: bool = False) -> tuple[int, str]:
        k = rng.randrange(len(TEMPLATES))
        return k, TEMPLATES[k].format(text=example.text)

    def text_answer(self, example: Any) -> str:
        return f"There are {example.count}."

    def media(self, builder: Any, example: Any) -> tuple[Any, Any]:
        return None, None

    def payload(self, builder: Any, example: Any, encoded: Any, video: Any) -> float:
        return float(example.count)

    def collate(self, builder: Any, payloads: Sequence[Any], step: int, offset: int) -> tuple[Any, Any]:
        return None, torch.tensor(list(payloads), dtype=torch.float32)

    def build_head(self, spec: CountHeadSpec, llm_hidden: int) -> CountHead:
        return CountHead(spec, llm_hidden)


TASK = CountTask()  # what a lazy registry entry names ("tests.train._count_task:TASK")

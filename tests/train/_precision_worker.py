"""torchrun worker for ``test_precision.py``: runs stage configs one after the other in one process group (the
DeepSpeed engine on gloo) and has rank 0 write each run's per-step history and the dtypes the engine trained
in.

Usage: ``torchrun --nproc_per_node=2 tests/train/_precision_worker.py OUT.json RUNS_JSON`` where RUNS_JSON is
a list of ``{"config": name, "overrides": [...]}``."""

from __future__ import annotations

import json
import sys

import torch

from tpo_train.config import load_config
from tpo_train.recipe import Recipe


def _dtypes(model: torch.nn.Module) -> dict[str, list[str]]:
    """Parameter dtypes per part: the language model, each head's trainable parameters, SAM2."""
    lm = model.adapter.model.model.language_model
    out = {"lm": sorted({str(p.dtype) for p in lm.parameters()})}
    for task, head in model.heads.items():
        out[f"heads.{task}"] = sorted({str(p.dtype) for _, p in head.trainable_named_parameters()})
        if task == "mask":
            out["sam2"] = sorted({str(p.dtype) for p in head.sam.parameters()})
    return out


def main(out_path: str, runs: str) -> None:
    results = []
    for run in json.loads(runs):
        rec = Recipe(load_config(run["config"], run["overrides"]))
        rec.run()
        results.append(
            {
                "engine": type(rec.engine).__name__,
                "device": str(rec.device),
                "history": rec.history,
                "dtypes": _dtypes(rec.model),
            }
        )
    if rec.dist.is_main:
        with open(out_path, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])

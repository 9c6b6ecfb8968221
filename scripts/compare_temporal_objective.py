"""On the synthetic world of ``tpo-train demo``: the demo's TPO stage 2 trained with CG-DETR's full temporal
objective
and with the reduced one (span/GIoU/label + hinge + attention terms; no rank-contrastive, negative pair,
alignment,
distillation, orthogonality), both from the same stage-1 checkpoint, then scored by ``tpo-eval`` on the
held-out synthetic Charades / QVHighlights splits. Prints R1@0.5 / mIoU / MR-mAP / HL-mAP of each.

Usage: ``python scripts/compare_temporal_objective.py OUT [--preset demo|ci]`` (reuses OUT's world and stage
1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REDUCED = ("w_sal_rank=0", "w_sal_neg=0", "w_ms_align=0", "w_distill=0", "w_ortho=0")


def _run(cmd: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if rc:
        sys.exit(f"failed ({rc}): {' '.join(cmd)} — see {log}")


def _metrics(run_dir: Path) -> dict:
    for p in sorted(run_dir.rglob("results.json")):
        return json.loads(p.read_text())
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--preset", default="demo")
    a = ap.parse_args()
    from tpo_train.demo import PRESETS
    from tpo_train.synth import generate_world

    out = Path(a.out)
    world = out / "world"
    generate_world(world, seed=0, preset=PRESETS[a.preset]["world"])
    py = sys.executable
    common = [f"data.root={world}", "seed=0", "train.progress=false", *PRESETS[a.preset]["overrides"]]
    s1 = out / "stage1"
    if not (s1 / "final" / "manifest.json").is_file():
        _run(
            [py, "-m", "tpo_train.cli", "run", "demo_stage1", *common, f"output_dir={s1}"], out / "stage1.log"
        )
    rows = {}
    for name, extra in (("full", ()), ("reduced", tuple(f"model.heads.temporal.{w}" for w in REDUCED))):
        s2 = out / f"stage2_{name}"
        if not (s2 / "final" / "manifest.json").is_file():
            _run(
                [
                    py,
                    "-m",
                    "tpo_train.cli",
                    "run",
                    "demo_stage2",
                    *common,
                    f"output_dir={s2}",
                    f"init_from={s1 / 'final'}",
                    *extra,
                ],
                out / f"stage2_{name}.log",
            )
        for bench in ("synth_charades", "synth_qvh"):
            ev = out / "eval" / name / bench
            _run(
                [
                    py,
                    "-m",
                    "tpo_eval.cli",
                    "run",
                    bench,
                    "--model",
                    "tpo",
                    "--ckpt",
                    str(s2 / "final"),
                    *PRESETS[a.preset]["eval"],
                    "--data-root",
                    str(world),
                    "--out",
                    str(ev),
                ],
                ev.parent / f"{bench}.log",
            )
            rows[(name, bench)] = _metrics(ev)
    for (name, bench), m in rows.items():
        flat = m.get("metrics", m)
        keys = [k for k in flat if any(s in k for s in ("R1@0.5", "mIoU", "mAP", "Hit1"))]
        print(f"{name:8} {bench:15} " + ", ".join(f"{k} {flat[k]}" for k in keys))


if __name__ == "__main__":
    main()

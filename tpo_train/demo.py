"""The whole mission on a world that learns (``make demo``): generate the synthetic world, train a tiny TPO
model through stages 1 → 2 → 3 and, from the same start, the paper's baselines in miniature, score every
model with ``tpo-eval run … --model tpo`` on the held-out splits, then write the ablation table (LaTeX +
Markdown), the per-task delta plot and the regression gate of TPO against the conversation-only model.

Everything is cached: the world by its settings hash, each stage by its final checkpoint (whose manifest
records the resolved config's hash), each score by tpo-eval's resumable run directory — so a second
``make demo`` finishes in seconds, and an interrupted one goes on where it stopped.

This module is the orchestration and the training chains; the scoring, baselines and report steps are
``demo_score.py`` (a mixin of :class:`Demo`), and how one step is called and found done is ``demo_steps.py``.

    from tpo_train.demo import run_demo
    run_demo("demo_out", preset="demo", jobs=2)      # or: tpo-train demo --out demo_out
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .demo_score import BASELINES, BENCHMARKS, LABELS, TABLE, DemoScoring
from .demo_steps import PRESETS, _call, _done

__all__ = ["BASELINES", "BENCHMARKS", "CHAINS", "LABELS", "PRESETS", "TABLE", "Demo", "run_demo"]

#: model → its chain of stage configs (``tpo_train/configs``); ``"tpo:N"``: from TPO's stage-N checkpoint
CHAINS: dict[str, tuple[str, ...]] = {
    "tpo": ("demo_stage1", "demo_stage2", "demo_stage3"),
    "textualized": ("demo_textualized_stage1", "demo_textualized_stage2", "demo_textualized_stage3"),
    "conversation_only": ("demo_conversation_only",),
    "mlp_head": ("tpo:1", "demo_mlp_stage2", "demo_mlp_stage3"),
    "qvh_only": ("tpo:1", "demo_qvh_only_stage2", "demo_qvh_only_stage3"),
}


@dataclass
class Demo(DemoScoring):
    out: Path
    preset: str = "demo"
    seed: int = 0
    jobs: int = 2
    results_dir: Optional[Path] = None
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"demo preset {self.preset!r}: use {' or '.join(PRESETS)}")
        self.out = Path(self.out).resolve()
        self.world = self.out / "world"
        self.t0 = time.monotonic()

    # ---- log ----------------------------------------------------------------------------------------------
    def say(self, msg: str) -> None:
        line = f"[demo {time.monotonic() - self.t0:6.0f}s] {msg}"
        self.log.append(line)
        print(line, flush=True)

    def _call(self, cmd: Sequence[str], log: Path, check: bool = True, inline: bool = False) -> int:
        return _call(cmd, log, check, inline=inline or self.jobs <= 1)

    # ---- steps --------------------------------------------------------------------------------------------
    def make_world(self) -> dict:
        from .synth import generate_world

        self.say(f"world: {self.world} (preset {PRESETS[self.preset]['world']}, seed {self.seed})")
        manifest = generate_world(self.world, seed=self.seed, preset=PRESETS[self.preset]["world"])
        return json.loads((self.world / "world.json").read_text()) if manifest else {}

    def stage_dir(self, model: str, k: int) -> Path:
        return self.out / "runs" / model / f"stage{k + 1}"

    def train_chain(self, model: str, after: dict[str, Future]) -> Path:
        """Run ``model``'s chain; returns its final checkpoint. ``after`` holds TPO's per-stage checkpoints,
        which other chains start from (on a failure they get the exception, so nothing waits forever)."""
        prev: Optional[Path] = None
        try:
            for k, config in enumerate(CHAINS[model]):
                if config.startswith("tpo:"):  # start from a checkpoint of TPO's own chain
                    prev = after["tpo_stage" + config[4:]].result()
                    continue
                prev = self.train_stage(model, k, config, prev)
                if model == "tpo":
                    after[f"tpo_stage{k + 1}"].set_result(prev)
        except BaseException as e:
            if model == "tpo":
                for fut in after.values():
                    if not fut.done():
                        fut.set_exception(e)
            raise
        return prev

    def train_stage(self, model: str, k: int, config: str, init_from: Optional[Path]) -> Path:
        from .config import load_config

        out = self.stage_dir(model, k)
        overrides = [
            f"data.root={self.world}",
            f"output_dir={out}",
            f"seed={self.seed}",
            "train.progress=false",  # in the hashed config too, or a rerun would never find the stage done
            *PRESETS[self.preset]["overrides"],
        ]
        if init_from is not None:
            overrides.append(f"init_from={init_from}")
        cfg = load_config(config, overrides)
        final = out / "final"
        if _done(final, cfg.sha256):
            self.say(f"{model}: {config} already trained ({final})")
            return final
        shutil.rmtree(out, ignore_errors=True)  # other settings, or an interrupted run: start it afresh
        self.say(f"{model}: training {config} ({cfg.train.max_steps} steps) …")
        self._call(
            [sys.executable, "-m", "tpo_train.cli", "run", config, *overrides],
            out.parent / f"stage{k + 1}.log",
        )
        self.say(f"{model}: {config} done → {final}")
        return final

    def run(self) -> Path:
        self.make_world()
        after: dict[str, Future] = {f"tpo_stage{k}": Future() for k in (1, 2, 3)}
        order = ("tpo", "textualized", "conversation_only", "mlp_head", "qvh_only")
        # chains first, then scores (FIFO): a score task only ever waits on a chain that is already running
        with ThreadPoolExecutor(max_workers=max(1, self.jobs)) as pool:
            ckpts = {m: pool.submit(self.train_chain, m, after) for m in order}
            scored = {m: pool.submit(lambda m=m: self.score(m, ckpts[m].result())) for m in order}
            for baseline in BASELINES:
                scored[baseline] = pool.submit(self.score, baseline, None)
            runs = {m: f.result() for m, f in scored.items()}
        res = self.report(runs)
        self.say(f"done in {time.monotonic() - self.t0:.0f} s: results in {res}")
        return res


def run_demo(
    out: str | Path = "demo_out",
    *,
    preset: str = "demo",
    seed: int = 0,
    jobs: int = 2,
    results_dir: Optional[str | Path] = None,
) -> Path:
    return Demo(
        Path(out), preset=preset, seed=seed, jobs=jobs, results_dir=Path(results_dir) if results_dir else None
    ).run()

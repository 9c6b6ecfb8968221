"""The whole mission on a world that learns (``make demo``): generate the synthetic world, train a tiny TPO
model
through stages 1 → 2 → 3 and, from the same start, the paper's baselines in miniature, score every model with
``tpo-eval run … --model tpo`` on the held-out splits, then write the ablation table (LaTeX + Markdown), the
per-task delta plot and the regression gate of TPO against the conversation-only model.

Everything is cached: the world by its settings hash, each stage by its final checkpoint (whose manifest
records
the resolved config's hash), each score by tpo-eval's resumable run directory — so a second ``make demo``
finishes in seconds, and an interrupted one goes on where it stopped.

    from tpo_train.demo import run_demo
    run_demo("demo_out", preset="demo", jobs=2)      # or: tpo-train demo --out demo_out
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tpo_eval.io import sha256_file
from tpo_eval.resources import data_dir

# : model → its chain of stage configs (``tpo_train/configs``); ``"tpo:N"`` starts from TPO's stage N
# checkpoint
CHAINS: dict[str, tuple[str, ...]] = {
    "tpo": ("demo_stage1", "demo_stage2", "demo_stage3"),
    "textualized": ("demo_textualized_stage1", "demo_textualized_stage2", "demo_textualized_stage3"),
    "conversation_only": ("demo_conversation_only",),
    "mlp_head": ("tpo:1", "demo_mlp_stage2", "demo_mlp_stage3"),
    "qvh_only": ("tpo:1", "demo_qvh_only_stage2", "demo_qvh_only_stage3"),
}
LABELS = {
    "tpo": "TPO (stages 1-3)",
    "conversation_only": "Conversation only",
    "textualized": "Textualized tasks",
    "mlp_head": "MLP temporal head",
    "qvh_only": "QVHighlights only",
    "text_only": "Text only (no video)",
    "constant_span": "Best constant span",
    "random": "Random",
}
BASELINES = ("text_only", "constant_span", "random")  # no training, no video
BENCHMARKS = ("synth_charades", "synth_qvh", "synth_mcq")
#: per preset: world preset and overrides applied to every stage (the CI variant trains a few steps only)
PRESETS: dict[str, dict] = {
    # answers are a few tokens ("A) It turns red.", "The given query happens in 2.5 - 3.2 seconds."): a tiny
    # model that has not learned to stop would otherwise write the benchmark's 100 tokens for every question
    "demo": {"world": "demo", "overrides": (), "eval": ("--model-arg", "max_new_tokens=24")},
    # a few steps cannot teach the end-of-answer token: cap generation so an untrained model answers quickly
    "ci": {"world": "tiny", "overrides": ("train.max_steps=2",), "eval": ("--model-arg", "max_new_tokens=6")},
}
TABLE = data_dir("demo") / "demo-ablation.yaml"  # results/demo in a checkout, package data installed


@dataclass
class Demo:
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

    def score(self, model: str, ckpt: Optional[Path]) -> dict[str, Path]:
        """``tpo-eval run`` of one model on the held-out benchmarks it answers (a trained checkpoint: all
        three; the no-video baselines: the benchmarks their answer script covers)."""
        from .synth import baselines

        if ckpt is not None:
            plan = {
                b: ["--model", "tpo", "--ckpt", str(ckpt), *PRESETS[self.preset]["eval"]] for b in BENCHMARKS
            }
        elif model == "random":
            plan = {b: ["--model", "mock:random"] for b in BENCHMARKS}
        else:
            script = self.out / "baselines" / f"{model}.jsonl"
            write = baselines.text_only_script if model == "text_only" else baselines.constant_span_script
            benches = ("synth_mcq",) if model == "text_only" else ("synth_charades", "synth_qvh")
            # the answers depend on the world alone: written again only for another world (the text-only
            # model trains a regression, ~30 s), and their digest is in the stamp below
            world_sha = sha256_file(self.world / "world.json")
            if _read(script.with_suffix(".world")) != world_sha or not script.is_file():
                write(self.world, script)
                script.with_suffix(".world").write_text(world_sha)
            plan = {b: ["--model", "mock:scripted", "--model-arg", f"script={script}"] for b in benches}
        runs, todo = {}, []
        for bench, args in plan.items():
            out = self.out / "eval" / model / bench
            answers = None if ckpt is not None or model == "random" else sha256_file(script)
            stamp = json.dumps(
                {"args": args, "ckpt": _manifest_sha(ckpt), "answers": answers}, sort_keys=True
            )
            runs[bench] = out
            if (out / "results.json").is_file() and _read(out / ".demo-stamp") == stamp:
                self.say(f"{model}: {bench} already scored ({out})")  # a rerun costs no model load
            else:
                todo.append((bench, stamp))
        if todo:
            # one process per model: the interpreter start and the model load are paid once, not per benchmark
            args, names = plan[todo[0][0]], ",".join(b for b, _ in todo)
            assert all(plan[b] == args for b, _ in todo), "one call scores benchmarks of one model setting"
            self.say(f"{model}: tpo-eval run {names}")
            self._call(
                [
                    sys.executable,
                    "-m",
                    "tpo_eval.cli",
                    "run",
                    names,
                    *args,
                    "--data-root",
                    str(self.world),
                    "--out",
                    str(runs[todo[0][0]] if len(todo) == 1 else self.out / "eval" / model),  # one: OUT itself
                    "--no-progress",
                ],
                self.out / "eval" / model / "run.log",
            )
            for bench, stamp in todo:
                (runs[bench] / ".demo-stamp").write_text(stamp)
        return runs

    def report(self, runs: dict[str, dict[str, Path]]) -> Path:
        res = Path(self.results_dir or self.out / "results")
        res.mkdir(parents=True, exist_ok=True)
        for model, by_bench in runs.items():
            for bench, run in by_bench.items():
                (res / "runs" / model).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(run / "results.json", res / "runs" / model / f"{bench}.json")
        table_args = [
            a for m, by in runs.items() for run in by.values() for a in ("--run", f"{LABELS[m]}={run}")
        ]
        for fmt, name in (("latex", "ablation.tex"), ("markdown", "ablation.md")):
            self._call(
                [
                    sys.executable,
                    "-m",
                    "tpo_eval.cli",
                    "table",
                    str(TABLE),
                    *table_args,
                    "--format",
                    fmt,
                    "-o",
                    str(res / name),
                ],
                self.out / "logs" / "table.log",
                inline=True,  # after the pool: one process, no interpreter start per report step
            )
        self.say(f"table: {res / 'ablation.md'} and ablation.tex")
        self._call(
            [
                sys.executable,
                "-m",
                "tpo_eval.cli",
                "plot",
                "deltas",
                str(runs["tpo"]["synth_mcq"]),
                str(runs["conversation_only"]["synth_mcq"]),
                "-o",
                str(res / "deltas_tpo_vs_conversation"),
                "--metric",
                "strict/acc",  # as the table and the gate (see the gate's note below)
                "--names",
                f"{LABELS['tpo']},{LABELS['conversation_only']}",
            ],
            self.out / "logs" / "plot.log",
            inline=True,
        )
        self.say(f"plot: {res / 'deltas_tpo_vs_conversation.png'}")
        for bench in ("synth_mcq",):
            rc = self._call(
                [
                    sys.executable,
                    "-m",
                    "tpo_eval.cli",
                    "regress",
                    str(runs["tpo"][bench]),
                    "--baseline",
                    str(runs["conversation_only"][bench]),
                    "--report",
                    str(res / f"regress_{bench}.md"),
                    # strict: an empty answer after "Best option:(" counts as right under MVBench's own check
                    # (its substring quirk, which the official extractor reproduces), not as a failure
                    "--metric",
                    "strict/acc",
                ],
                self.out / "logs" / "regress.log",
                check=False,
                inline=True,
            )
            self.say(
                f"gate: tpo-eval regress TPO vs conversation-only on {bench}: exit {rc} "
                f"({'no significant drop' if rc == 0 else 'significant drop' if rc == 1 else 'error'})"
            )
        return res

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


def _read(path: Path) -> Optional[str]:
    return path.read_text() if path.is_file() else None


def _manifest_sha(ckpt: Optional[Path]) -> Optional[str]:
    """The digest of the checkpoint's manifest (which hashes all its files); None without a checkpoint."""
    return sha256_file(ckpt / "manifest.json") if ckpt else None


def _done(final: Path, config_sha: str) -> bool:
    m = final / "manifest.json"
    if not m.is_file():
        return False
    try:
        man = json.loads(m.read_text())
    except ValueError:
        return False
    return bool(man.get("final")) and man.get("config_sha256") == config_sha


def _call(cmd: Sequence[str], log: Path, check: bool = True, inline: bool = False) -> int:
    """Run one step, its output in ``log``; a failure names the log and shows its tail. Steps run as their own
    process (one torch thread each: two processes share the 2 cores better than one process with two threads),
    or, ``inline``, in this process (the CI preset: no interpreter start-up per step)."""
    import os

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        if inline:
            rc = _inline(cmd[2:], fh)
        else:
            env = {
                **os.environ,
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                "TOKENIZERS_PARALLELISM": "false",
            }
            rc = subprocess.call(list(cmd), stdout=fh, stderr=subprocess.STDOUT, env=env)
    if check and rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"step failed (exit {rc}): {' '.join(cmd[2:])}\n  log: {log}\n" + "\n".join(tail))
    return rc


def _inline(args: Sequence[str], fh) -> int:
    """``-m tpo_train.cli …`` / ``-m tpo_eval.cli …`` called in this process; the exit code it would give."""
    import contextlib
    import importlib
    import traceback

    module, argv = args[0], list(args[1:])
    main = importlib.import_module(module).main
    with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        try:
            main(argv, standalone_mode=False)
            return 0
        except SystemExit as e:
            return int(e.code or 0) if not isinstance(e.code, str) else 1
        except Exception as e:  # click usage errors and the command's own failures
            code = getattr(e, "exit_code", None)
            traceback.print_exc(file=fh)
            return int(code) if isinstance(code, int) else 1


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

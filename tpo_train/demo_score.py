"""The scoring side of ``make demo`` (tpo_train/demo.py trains; this module scores and reports): every model,
trained or not, goes through ``tpo-eval run`` on the held-out splits (the no-training baselines through
scripted answers), and the runs become the ablation table (LaTeX + Markdown), the per-task delta plot and the
regression gate of TPO against the conversation-only model.

Kept apart from the training chains: it reads checkpoints and run folders only, never a training config.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Optional

from tpo_eval.io import sha256_file
from tpo_eval.resources import data_dir

from .demo_steps import PRESETS, _manifest_sha, _read

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
TABLE = data_dir("demo") / "demo-ablation.yaml"  # results/demo in a checkout, package data installed


class DemoScoring:
    """``Demo``'s scoring and report steps, as a mixin: they use the demo's ``out``, ``world``, ``preset``,
    ``results_dir``, ``say`` and ``_call`` (tpo_train/demo.py)."""

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

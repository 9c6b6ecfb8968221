"""``tpo-train``: run, validate and plan training stages (a thin layer over config / recipe / plan).

Exit codes: 0 ok; 1 training or a check failed; 2 a bad config, data or checkpoint (every problem listed).
"""

from __future__ import annotations

import json
import sys

import click

_EXAMPLES = """
\b
Examples:
  tpo-train validate stage2 init_from=runs/stage1/final data.root=/data/tpo
  tpo-train plan stage3 --json
  tpo-train run stage1_tiny
  tpo-train run tpo_train/configs/stage1.yaml model.base=/models/llava-ov-7b data.root=/data/tpo \\
      train.max_steps=10
  deepspeed --num_gpus 8 -m tpo_train.cli run stage2 init_from=runs/stage1/final
  tpo-train synth --out data/synth --seed 0 --preset demo
"""


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}, epilog=_EXAMPLES
)
def main() -> None:
    """Train TPO in stages (seed Table 5): stage1 → stage2 → stage3_tasks → stage3, and the paper's ablations.

    CONFIG is a YAML path or the name of a shipped config (tpo_train/configs); OVERRIDES are key=value
    (e.g. optim.lr.lora=1e-5 train.max_steps=2) or ~key to remove a key.
    """


def _load(config: str, overrides: tuple[str, ...], check_paths: bool = True):
    from .config import ConfigError, load_config

    try:
        return load_config(config, overrides, check_paths=check_paths)
    except ConfigError as e:
        click.echo(str(e), err=True)
        sys.exit(2)


def _chain(config: str, overrides: tuple[str, ...], check_first: bool):
    """(stages, first parent, configs) of a chain file (``tpo_train/chain.py``), or None for a stage config.
    Only the first stage's files are checked here: later parents exist once the earlier stages ran."""
    from .chain import chain_stages, is_chain, load_chain_stage
    from .config import ConfigError

    if not is_chain(config):
        return None
    try:
        stages, parent = chain_stages(config, overrides)
        cfgs = [
            load_chain_stage(stages, k, parent, check_paths=check_first and k == 0)
            for k in range(len(stages))
        ]
    except ConfigError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    return stages, parent, cfgs


@main.command()
@click.argument("config")
@click.argument("overrides", nargs=-1)
@click.option("--structure-only", is_flag=True, help="Skip checks of files (base model, init_from, data).")
def validate(config: str, overrides: tuple[str, ...], structure_only: bool) -> None:
    """Check a config (keys, types, stage rules, files) and report every problem at once."""
    chain = _chain(config, overrides, check_first=not structure_only)
    for cfg in chain[2] if chain else [_load(config, overrides, check_paths=not structure_only)]:
        click.echo(
            f"{cfg.source_path}: ok ({cfg.stage}, {len(cfg.data.sources)} sources, peak LRs "
            f"{dict(sorted(cfg.optim.lr.items()))}, init_from {cfg.init_from})"
        )


@main.command()
@click.argument("config")
@click.argument("overrides", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(config: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """Build the model on the meta device and show trainable parameters, peak LR and weight decay per
    group."""
    from .plan import format_plan, plan_config

    chain = _chain(config, overrides, check_first=False)
    if chain:  # one plan per stage, in chain order
        results = [plan_config(cfg) for cfg in chain[2]]
        click.echo(json.dumps(results, indent=2) if as_json else "\n\n".join(format_plan(r) for r in results))
        return
    result = plan_config(_load(config, overrides, check_paths=False))
    click.echo(json.dumps(result, indent=2) if as_json else format_plan(result))


@main.command()
@click.argument("config")
@click.argument("overrides", nargs=-1)
@click.option(
    "--local_rank",
    "--local-rank",
    "local_rank",
    type=int,
    default=None,
    hidden=True,
    help="Set by the deepspeed launcher (which appends it); same as the LOCAL_RANK variable.",
)
def run(config: str, overrides: tuple[str, ...], local_rank: int | None) -> None:
    """Train one stage (or every stage of a chain, in order); the final checkpoint lands in
    OUTPUT_DIR/final."""
    import os

    from .checkpoint import CheckpointError

    if local_rank is not None:
        os.environ.setdefault("LOCAL_RANK", str(local_rank))
    from .data.examples import DataError
    from .recipe import run as run_stage

    chain = _chain(config, overrides, check_first=True)
    n = len(chain[0]) if chain else 1
    for k in range(n):
        if chain:  # each stage's parent exists now: load it with its files checked
            from .chain import load_chain_stage
            from .config import ConfigError

            try:
                cfg = load_chain_stage(chain[0], k, chain[1])
            except ConfigError as e:
                click.echo(str(e), err=True)
                sys.exit(2)
            click.echo(f"chain stage {k + 1}/{n}: {cfg.name} ({cfg.stage}) from {cfg.init_from}")
        else:
            cfg = _load(config, overrides)
        try:
            out = run_stage(cfg)
        except (DataError, CheckpointError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        click.echo(f"final checkpoint: {out}")


@main.command()
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write the world to."
)
@click.option("--seed", default=0, show_default=True, type=int, help="World seed (same seed: same files).")
@click.option(
    "--preset",
    default="demo",
    show_default=True,
    type=click.Choice(["demo", "tiny"]),
    help="demo: 1024 train + 96 held-out clips, 64 px x 32 frames at 4 fps; tiny: 16 + 16 clips, "
    "48 px x 16 frames (tests, CI).",
)
def synth(out: str, seed: int, preset: str) -> None:
    """Generate the synthetic video world (videos + benchmark and training annotations); a rerun with the same
    seed and preset reuses it."""
    import time

    from .synth import WorldError, generate_world

    t0 = time.perf_counter()
    try:
        m = generate_world(out, seed=seed, preset=preset, log=lambda s: click.echo(f"synth: {s}", err=True))
    except WorldError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    span = m.baselines["constant_span"]
    click.echo(
        f"{'reused' if m.reused else 'wrote'} {m.root} (seed {seed}, preset {preset}, "
        f"settings {m.settings_sha256[:12]}) in {time.perf_counter() - t0:.1f}s; best constant span "
        f"[{span['start']}, {span['end']}] s: R1@0.5 train {span['train_R1@0.5']}, held-out "
        f"{span['heldout_R1@0.5']}"
    )


@main.command()
@click.option(
    "--out",
    default="demo_out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the world, the checkpoints, the runs and the results (reused on a rerun).",
)
@click.option(
    "--preset",
    type=click.Choice(["demo", "ci"]),
    default="demo",
    show_default=True,
    help="demo: the full miniature (14.6 min measured on 2 cores); ci: tiny world, 2 steps per stage.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="World and training seed.")
@click.option("--jobs", type=int, default=2, show_default=True, help="Training/scoring processes at once.")
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the table, plot and results.json copies go (default: OUT/results).",
)
def demo(out: str, preset: str, seed: int, jobs: int, results_dir: str | None) -> None:
    """The whole mission on the synthetic world: generate it, train TPO (stages 1-3) and the paper's baselines
    in miniature, score them with tpo-eval, write the ablation table, the delta plot and the regression
    gate."""
    from .demo import run_demo

    try:
        res = run_demo(out, preset=preset, seed=seed, jobs=jobs, results_dir=results_dir)
    except (RuntimeError, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    click.echo(f"results: {res}")


def _add_commands() -> None:
    from .demo_base import _command as demo_base_command

    main.add_command(demo_base_command())


_add_commands()

if __name__ == "__main__":
    main()

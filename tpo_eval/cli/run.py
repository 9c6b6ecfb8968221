"""``tpo-eval run``."""
from __future__ import annotations

import os
from pathlib import Path

import click

from .options import data_options, split_tasks


@click.command()
@click.argument("benchmark")
@click.option("--model", "model", default="hf", show_default=True,
              help="Model adapter: hf, tpo, mock:oracle, mock:random, mock:scripted (see `tpo-eval ls`).")
@click.option("--ckpt", help="Local checkpoint directory (hf/tpo). Never downloaded.")
@data_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Run directory; rerun into it to resume.")
@click.option("--limit", type=int, help="First N samples of each task.")
@click.option("--subset", type=int, help="Seeded, stable N samples per task (for fast CI gates).")
@click.option("--subset-seed", type=int, default=0, show_default=True)
@click.option("--prompt", help="Prompt variant declared in the benchmark YAML (default: its default_prompt).")
@click.option("--num-frames", type=int, help="Override the sampler's frame count.")
@click.option("--skip-missing", is_flag=True, help="Record missing videos as failures instead of stopping.")
@click.option("--device", default="auto", show_default=True,
              help="auto (cuda:LOCAL_RANK when a GPU is present, else cpu), cpu, cuda, cuda:1 … (torchrun: "
                   "cuda = cuda:LOCAL_RANK).")
@click.option("--dtype", default="auto", show_default=True,
              type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
              help="auto = bfloat16 on a GPU, float32 on the CPU.")
@click.option("--batch-size", default=1, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for mock:random and sampling models.")
@click.option("--shard", help="I/N: this process runs shard I of N (default from torchrun's RANK/WORLD_SIZE).")
@click.option("--model-arg", "model_args", multiple=True, help="KEY=VALUE passed to the adapter (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the results document as JSON instead of a table.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def run(benchmark: str, model: str, ckpt: str | None, annotations: str | None, data_root: str | None,
        tasks: str | None, out_dir: str | None, limit: int | None, subset: int | None, subset_seed: int,
        prompt: str | None, num_frames: int | None, skip_missing: bool, device: str, dtype: str, batch_size: int,
        seed: int, shard: str | None, model_args: tuple[str, ...], as_json: bool, no_progress: bool) -> None:
    """Evaluate MODEL on BENCHMARK with the benchmark's official protocol.

    Before the first sample every video is checked and all missing ones are listed. Predictions are appended
    to OUT/predictions.jsonl as they are made; rerunning with the same --out skips finished samples; the
    final OUT/results.json holds per-task and overall scores for every extractor with counts and provenance.

    \b
    Examples:
      tpo-eval run mvbench --model hf --ckpt ./llava-onevision-qwen2-7b-ov-hf --data-root /data/MVBench \\
          --out runs/mvbench-llava          # a GPU box: cuda + bfloat16 (--device/--dtype auto)
      tpo-eval run mvbench --model mock:oracle --data-root /data/MVBench --limit 2
      torchrun --nproc-per-node 8 -m tpo_eval.cli run mvbench --model hf --ckpt CKPT --out runs/x
    """
    from ..api import RunConfig, evaluate
    from .common import fail, print_results

    idx, cnt = _shard(shard)
    if cnt > 1 and device in ("cuda", "auto"):  # one GPU per shard
        from ..models.device import resolve_device

        device = resolve_device(device, local_rank=int(os.environ.get("LOCAL_RANK", idx)))
    margs = {}
    for kv in model_args:
        if "=" not in kv:
            fail(f"--model-arg expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        margs[k] = v
    cfg = RunConfig(benchmark=benchmark, model=model, ckpt=ckpt, data_root=Path(data_root) if data_root else None,
                    annotations=Path(annotations) if annotations else None,
                    out_dir=Path(out_dir) if out_dir else None, tasks=split_tasks(tasks), limit=limit,
                    subset=subset, subset_seed=subset_seed, prompt=prompt, num_frames=num_frames,
                    skip_missing=skip_missing, device=device, dtype=dtype, batch_size=batch_size, seed=seed,
                    shard_index=idx, shard_count=cnt, model_args=margs, progress=not no_progress)
    try:
        doc = evaluate(cfg)
    except Exception as e:  # noqa: BLE001 - user-facing: one clear line, exit 2
        fail(str(e), e)
    if doc:
        print_results(doc, as_json)
        if out_dir:
            click.echo(f"results: {Path(out_dir) / 'results.json'}", err=True)


def _shard(spec: str | None) -> tuple[int, int]:
    if spec:
        try:
            i, n = (int(x) for x in spec.split("/"))
        except ValueError:
            raise click.BadParameter(f"expected I/N, got {spec!r}", param_hint="--shard") from None
        return i, n
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

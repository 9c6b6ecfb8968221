"""``tpo-eval run``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from .options import keyed_data_options, split_tasks


@click.command()
@click.argument("benchmark", metavar="BENCHMARK[,BENCHMARK…]")
@click.option(
    "--model",
    "model",
    default=None,
    help="Model adapter: auto (default with --ckpt: chosen from the folder), hf, tpo, videochat_tpo, "
    "mock:oracle, mock:random, mock:scripted (see `tpo-eval ls`).",
)
@click.option("--ckpt", help="Local checkpoint directory (hf/tpo/videochat_tpo). Never downloaded.")
@click.option(
    "--trust-remote-code",
    is_flag=True,
    help="Allow a checkpoint's own Python (config.json auto_map) to run; recorded in provenance.",
)
@keyed_data_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Run directory (several benchmarks: OUT/<benchmark>); rerun into it to resume. "
    "Default: runs/<benchmark>-<model>-<time>.",
)
@click.option("--limit", type=click.IntRange(min=1), help="First N samples of each task.")
@click.option(
    "--subset", type=click.IntRange(min=1), help="Seeded, stable N samples per task (for fast CI gates)."
)
@click.option("--subset-seed", type=int, default=0, show_default=True)
@click.option("--prompt", help="Prompt variant declared in the benchmark YAML (default: its default_prompt).")
@click.option("--num-frames", type=click.IntRange(min=1), help="Override the sampler's frame count.")
@click.option("--skip-missing", is_flag=True, help="Record missing videos as failures instead of stopping.")
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (cuda:LOCAL_RANK when a GPU is present, else cpu), cpu, cuda, cuda:1 … (torchrun: "
    "cuda = cuda:LOCAL_RANK).",
)
@click.option(
    "--dtype",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    help="auto = bfloat16 on a GPU, float32 on the CPU.",
)
@click.option("--batch-size", default=1, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed for mock:random and sampling models."
)
@click.option(
    "--shard", help="I/N: this process runs shard I of N (default from torchrun's RANK/WORLD_SIZE)."
)
@click.option(
    "--model-arg", "model_args", multiple=True, help="KEY=VALUE passed to the adapter (repeatable)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the results document as JSON instead of a table."
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option(
    "--gen-kwargs",
    help="Generation settings, KEY=VALUE,… (e.g. max_new_tokens=64,temperature=0); "
    "checked against what the model adapter accepts and hashed into the run's settings.",
)
@click.option(
    "--log-samples",
    is_flag=True,
    help="Also write each sample's exact prompt and gold answer into its prediction row (key `sample`).",
)
@click.option(
    "--decoder",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "decord", "pyav", "torchcodec"]),
    help="Video decoder; auto = the fastest exact backend, measured once on this machine.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Re-run samples recorded with an error in OUT (fixed media, an "
    "out-of-memory) and replace their rows; by default they are kept as failures.",
)
def run(
    benchmark: str,
    model: str | None,
    ckpt: str | None,
    trust_remote_code: bool,
    annotations: tuple[str, ...],
    data_root: tuple[str, ...],
    tasks: str | None,
    out_dir: str | None,
    limit: int | None,
    subset: int | None,
    subset_seed: int,
    prompt: str | None,
    num_frames: int | None,
    skip_missing: bool,
    device: str,
    dtype: str,
    batch_size: int,
    seed: int,
    shard: str | None,
    model_args: tuple[str, ...],
    as_json: bool,
    no_progress: bool,
    gen_kwargs: str | None,
    log_samples: bool,
    retry_failed: bool,
    decoder: str,
) -> None:
    """Evaluate MODEL on BENCHMARK with the benchmark's official protocol.

    Before the first sample every video is checked and all missing ones are listed. Predictions are appended
    to OUT/predictions.jsonl as they are made; rerunning with the same --out skips finished samples; the
    final OUT/results.json holds per-task and overall scores for every extractor with counts and provenance.
    Several comma-separated benchmarks run one after the other, each into OUT/<benchmark>, with a summary
    table at the end; give each its data with --data-root BENCHMARK=DIR.

    \b
    Examples:
      tpo-eval run mvbench --model hf --ckpt ./llava-onevision-qwen2-7b-ov-hf --data-root /data/MVBench \\
          --out runs/mvbench-llava          # a GPU box: cuda + bfloat16 (--device/--dtype auto)
      tpo-eval run mvbench --ckpt ./VideoChat-TPO --trust-remote-code --data-root /data/MVBench --device cuda
      tpo-eval run mvbench --model mock:oracle --data-root /data/MVBench --limit 2
      tpo-eval run mvbench,charades_sta --model tpo --ckpt CKPT --data-root mvbench=hf:OpenGVLab/MVBench \\
          --data-root charades_sta=/data/Charades-STA --out runs/ckpt --gen-kwargs max_new_tokens=64
      torchrun --nproc-per-node 8 -m tpo_eval.cli run mvbench --model hf --ckpt CKPT --out runs/x
    """
    from .. import suite
    from ..api import RunConfig, evaluate
    from ..hfdata import resolve_data_root
    from ..models.base import parse_gen_kwargs
    from ..models.checks import check_gen_kwargs
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
    data_root = data_root or tuple(filter(None, [os.environ.get("TPO_EVAL_DATA_ROOT")]))
    annotations = annotations or tuple(filter(None, [os.environ.get("TPO_EVAL_ANNOTATIONS")]))
    if trust_remote_code:
        margs["trust_remote_code"] = "true"
    model = model or ("auto" if ckpt else "hf")
    try:
        names = suite.split_benchmarks(benchmark)
        if tasks and len(names) > 1:
            raise ValueError("--tasks selects tasks of one benchmark; run the benchmarks separately")
        roots = {
            b: resolve_data_root(v) if v else None
            for b, v in suite.keyed(data_root, names, "--data-root").items()
        }
        anns = {
            b: Path(v) if v else None for b, v in suite.keyed(annotations, names, "--annotations").items()
        }
        gone = [f"{b}: {p}" for b, p in anns.items() if p is not None and not p.exists()]
        if gone:
            raise FileNotFoundError(f"--annotations path(s) not found: {'; '.join(gone)}")
        gen = check_gen_kwargs(model, parse_gen_kwargs(gen_kwargs), ckpt)
        if out_dir is None and cnt > 1:
            raise ValueError("a sharded run needs --out, so that every shard writes into the same directory")
        outs = suite.out_dirs(names, Path(out_dir) if out_dir else None, model, ckpt)
    except Exception as e:  # noqa: BLE001 - user-facing: one clear line, exit 2
        fail(str(e), e)
    base = RunConfig(
        benchmark=names[0],
        model=model,
        ckpt=ckpt,
        tasks=split_tasks(tasks),
        limit=limit,
        subset=subset,
        subset_seed=subset_seed,
        prompt=prompt,
        num_frames=num_frames,
        skip_missing=skip_missing,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        seed=seed,
        shard_index=idx,
        shard_count=cnt,
        model_args=margs,
        progress=not no_progress,
        gen_kwargs=gen,
        log_samples=log_samples,
        retry_failed=retry_failed,
        distributed=shard is None and cnt > 1,
        decoder=decoder,
    )
    runs = suite.configs(base, names, roots, anns, outs)
    if len(runs) > 1 or any(v.startswith("hf:") or "=hf:" in v for v in data_root):
        try:  # every benchmark checked before a model is built (and zipped media in a snapshot named)
            suite.preflight(runs)
        except Exception as e:  # noqa: BLE001
            fail(str(e), e)
    if out_dir is None:
        click.echo(f"run directory: {', '.join(str(p) for p in outs.values())} (no --out given)", err=True)
    if len(runs) == 1:
        cfg = runs[names[0]]
        try:
            doc = evaluate(cfg)
        except Exception as e:  # noqa: BLE001 - user-facing: one clear line, exit 2
            fail(str(e), e)
        if doc:
            print_results(doc, as_json)
            click.echo(f"results: {cfg.out_dir / 'results.json'}", err=True)  # type: ignore[operator]
            n = doc.get("overall", {})
            if n.get("n_total") and n.get("n_failed") == n["n_total"]:
                fail(
                    f"every one of the {n['n_total']} samples failed (see the messages above, or the 'error' "
                    "field of the predictions rows)",
                    code=1,
                )
        return
    results = suite.run_suite(runs)
    for r in results:
        if r.doc and as_json:
            click.echo(json.dumps({"benchmark": r.benchmark, "out_dir": str(r.out_dir), "results": r.doc}))
    if not as_json:
        click.echo(suite.summary(results), nl=False)
    failed = [r.benchmark for r in results if r.error]
    if failed:
        fail(f"{len(failed)} of {len(results)} benchmark(s) failed: {', '.join(failed)} (see above)")


def _shard(spec: str | None) -> tuple[int, int]:
    if spec:
        try:
            i, n = (int(x) for x in spec.split("/"))
        except ValueError:
            raise click.BadParameter(f"expected I/N, got {spec!r}", param_hint="--shard") from None
        if not 0 <= i < n:
            raise click.BadParameter(f"shard {i} of {n}: need 0 <= I < N", param_hint="--shard")
        return i, n
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

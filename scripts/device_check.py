"""The one prepared device check (issue 14): everything the first lent GPU should tell us, in one run of
``scripts/device_check.sh`` (< 8 min on one H100/H200). One line per figure on stdout,
``name: value  (what)``; a phase that fails prints ``name: FAILED (error)`` and the check goes on; exit
status 1 if any phase failed.
Everything else (training logs, library warnings) goes to stderr.

Phases (one device, one process):
  build     the real-size LLaVA-OneVision-7B structure with random bf16 weights (no download) + TPO tokens,
            heads (temporal, region, mask with a random SAM2-L) and LoRA: a base folder + a TPO model folder;
  eval      ``tpo-eval run mvbench --model tpo`` (Python API, --device/--dtype auto) on MVBench-format
            stand-in media: samples/s and the GPU-memory peak; the same samples with decoding alone
            (``mock:oracle`` decodes the same frames) give the model-bound ÷ decode-bound ratio;
  train     N steps of stage 2 (TPO: task data, heads) and of conversation-only SFT with the same trainable
            LM groups (LoRA; vision tower and connector frozen as in stage 2), plain engine, bf16 autocast:
            median step times, their ratio (paper Table 7: TPO costs +25 %; goal <= 1.10), peak memory;
  deepspeed ZeRO-2 bf16 (DeepSpeed's own parameter cast) for a few stage-2 steps, world size 1.

Lines, in this order (values made up): ``device: cuda:0  (GPU NVIDIA H200, torch 2.14.1+cu130, CUDA 13.0)``,
``build_s``, ``base_params_b``, ``tpo_trainable_params_m``, ``eval_samples_per_s``, ``eval_peak_gpu_mem_gib``,
``eval_failed: 0 of 200``, ``decode_samples_per_s``, ``model_vs_decode_ratio``, ``tpo_step_s``,
``tpo_peak_gpu_mem_gib``, ``tpo_loss: 12.3456 -> 11.2345``, ``sft_step_s``, ``sft_peak_gpu_mem_gib``,
``tpo_over_sft_step_ratio``, ``deepspeed_zero2_bf16: ok  (...)``, ``deepspeed_step_s``,
``deepspeed_peak_gpu_mem_gib``, ``total_s: 312  (failed phases: none)``.

``--tiny`` runs the same code on the CPU with a tiny random model, a few samples and steps (the CI test).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# the tiny preset of --tiny: same architecture family, CPU-sized
TINY_PRESET = {
    "vision": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
        "vision_use_head": False,
    },
    "text": {
        "vocab_size": 640,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": False,
    },
    "image_token_index": 0,
    "video_token_index": 0,  # set from the tokenizer by build_random_llava_ov
}
_SMALL = (
    "++model.image_encoder.trunk.embed_dim=32",  # = tpo_train.heads.mask.SMALL_SAM2_OVERRIDES
    "++model.image_encoder.neck.backbone_channel_list=[256,128,64,32]",
    "++model.image_encoder.trunk.stages=[1,1,2,1]",
    "++model.image_encoder.trunk.global_att_blocks=[3]",
    "++model.memory_attention.num_layers=1",
)
TINY_MASK = (
    "{sam2_config: configs/sam2.1/sam2.1_hiera_t.yaml, sam2_checkpoint: null, image_size: 256, "
    "hydra_overrides: [" + ", ".join(f'"{o}"' for o in _SMALL) + "]}"
)
FULL_MASK = "{sam2_config: configs/sam2.1/sam2.1_hiera_l.yaml, sam2_checkpoint: null}"  # random SAM2-L


class Check:
    """Figure lines go to the real stdout; what the phases print (training logs, library warnings) is sent to
    stderr, so ``scripts/device_check.sh 2>log`` shows exactly one line per figure."""

    def __init__(self, device: Any, out: Any) -> None:
        self.device, self.out, self.failed, self.t0 = device, out, [], time.time()

    def line(self, name: str, value: Any, note: str = "") -> None:
        print(f"{name}: {value}" + (f"  ({note})" if note else ""), file=self.out, flush=True)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        try:
            yield
        except Exception as e:  # noqa: BLE001 - report and go on: one lent GPU, every figure we can get
            self.failed.append(name)
            msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
            self.line(name, f"FAILED ({type(e).__name__}: {msg})")
            traceback.print_exc(file=sys.stderr)
        finally:
            gc.collect()
            if self.device.type == "cuda":
                import torch

                torch.cuda.empty_cache()

    def reset_peak(self) -> None:
        if self.device.type == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)

    def peak(self) -> str:
        if self.device.type != "cuda":
            return "n/a"
        import torch

        return f"{torch.cuda.max_memory_allocated(self.device) / 2**30:.1f}"


def _timed_run(cfg: Any) -> tuple[dict, float]:
    """``evaluate`` with a clock on each finished sample: samples/s from the 2nd to the last (model load
    excluded)."""
    from tpo_eval.api import evaluate

    stamps: list[float] = []
    doc = evaluate(cfg, on_sample=lambda _id: stamps.append(time.perf_counter()))
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    return doc, rate


def _train(check: Check, config: str, overrides: list[str], warmup: int) -> tuple[float, list[dict]]:
    """Set up, train and clean up one stage (no checkpoint written); median step time after ``warmup``
    steps."""
    from tpo_train.config import load_config
    from tpo_train.recipe import Recipe

    rec = Recipe(load_config(config, overrides))
    rec.setup()
    check.reset_peak()
    try:
        rec.train()
    finally:
        rec.cleanup()
    hist = rec.history
    del rec
    return statistics.median(r["step_time"] for r in hist[warmup:]), hist


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        return _main(out)


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="CPU-sized: tiny random model, few samples and steps")
    ap.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed at the end)")
    ap.add_argument("--samples", type=int, help="MVBench stand-in samples, 20 tasks x samples/20 (200; 20)")
    ap.add_argument("--frames", type=int, help="frames per video (16; tiny 4)")
    ap.add_argument("--steps", type=int, help="training steps per stage (20; tiny 3)")
    ap.add_argument("--ds-steps", type=int, help="DeepSpeed steps (5; tiny 2)")
    ap.add_argument(
        "--max-new-tokens",
        type=int,
        default=4,
        help="answer tokens per MCQ sample (random weights never stop by themselves)",
    )
    ap.add_argument("--skip", default="", help="comma-separated phases to leave out: eval, train, deepspeed")
    a = ap.parse_args()
    a.skip = set(filter(None, a.skip.split(",")))
    if a.skip - {"eval", "train", "deepspeed"}:
        ap.error(f"--skip: unknown phase(s) {sorted(a.skip - {'eval', 'train', 'deepspeed'})}")
    a.samples, a.frames = a.samples or (20 if a.tiny else 200), a.frames or (4 if a.tiny else 16)
    a.steps, a.ds_steps = a.steps or (3 if a.tiny else 20), a.ds_steps or (2 if a.tiny else 5)
    a.warmup = 1 if a.tiny else 3  # the first steps pay for kernel selection and allocator growth
    return a


def _main(out: Any) -> int:
    a = _args()
    import torch

    from tpo_train.engine import engine_device

    device = engine_device()
    check = Check(device, out)
    if device.type != "cuda" and not a.tiny:
        check.line("device", "FAILED (no GPU visible to torch; run with --tiny for the CPU-sized check)")
        return 2
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    check.line("device", device, f"GPU {gpu}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    work = a.work or Path(tempfile.mkdtemp(prefix="device_check_"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TPO_TRAIN_CACHE", str(work / "cache"))  # the tiny training data is built here
    if a.tiny:
        torch.set_num_threads(1)
    mask = TINY_MASK if a.tiny else FULL_MASK
    try:
        with check.phase("build"):
            _build(check, work, a.tiny, device, mask)
        if "build" not in check.failed:
            if "eval" not in a.skip:
                with check.phase("eval"):
                    _eval(check, work, a)
            if "train" not in a.skip:
                _train_phases(check, work, a, mask)
            if "deepspeed" not in a.skip:
                with check.phase("deepspeed_zero2_bf16"):
                    _deepspeed(check, work, a, mask, device)
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    check.line(
        "total_s", f"{time.time() - check.t0:.0f}", "failed phases: " + (", ".join(check.failed) or "none")
    )
    return 1 if check.failed else 0


def _common(work: Path, a: argparse.Namespace) -> list[str]:
    """Overrides every training phase shares: the random base, the tiny stand-in data, micro-batch 2."""
    return [
        f"model.base={work / 'base'}",
        "data.root=tiny",
        "init_from=base",
        f"model.frames={a.frames}",
        "train.batch_size=2",
        "train.micro_batch_size=2",
        "train.precision=bf16",
        "train.progress=false",
        "train.loggers=[jsonl]",
        "train.save_every=null",
        "train.log_every=1000",
    ]


def _train_phases(check: Check, work: Path, a: argparse.Namespace, mask: str) -> None:
    tpo_step = sft_step = None
    with check.phase("train_tpo"):
        tpo_step, hist = _train(
            check,
            "stage2",
            [
                *_common(work, a),
                f"model.heads.mask={mask}",
                "train.engine=torch",
                f"train.max_steps={a.steps}",
                f"output_dir={work / 'tpo_run'}",
            ],
            a.warmup,
        )
        check.line(
            "tpo_step_s",
            f"{tpo_step:.3f}",
            f"stage 2, plain engine, bf16 autocast, micro-batch 2, "
            f"{a.frames} frames, median of steps {a.warmup + 1}-{a.steps}",
        )
        check.line("tpo_peak_gpu_mem_gib", check.peak(), "over those steps")
        heads = sorted({k[:-5] for r in hist for k in r if k.endswith("_loss") and k != "lm_loss"})
        check.line(
            "tpo_loss",
            f"{hist[0]['loss']:.4f} -> {hist[-1]['loss']:.4f}",
            "first and last step; heads seen: " + ", ".join(heads),
        )
    with check.phase("train_sft"):
        # the same trainable LM groups as stage 2 (LoRA only), so the ratio is the TPO overhead alone
        sft_step, hist = _train(
            check,
            "ablation_conversation_only",
            [
                *_common(work, a),
                "optim.lr.vision_encoder=null",
                "optim.lr.connector=null",
                "train.engine=torch",
                f"train.max_steps={a.steps}",
                f"output_dir={work / 'sft_run'}",
            ],
            a.warmup,
        )
        check.line("sft_step_s", f"{sft_step:.3f}", "conversation-only SFT, LoRA only, same settings")
        check.line("sft_peak_gpu_mem_gib", check.peak(), "over those steps")
    if tpo_step and sft_step:
        check.line(
            "tpo_over_sft_step_ratio", f"{tpo_step / sft_step:.3f}", "paper Table 7: 1.25; goal <= 1.10"
        )


def _deepspeed(check: Check, work: Path, a: argparse.Namespace, mask: str, device: Any) -> None:
    """ZeRO-2 bf16 in this process as a world of one (the launcher's variables set by hand)."""
    os.environ.update(
        RANK="0",
        WORLD_SIZE="1",
        LOCAL_RANK=str(device.index or 0),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(_free_port()),
    )
    step, hist = _train(
        check,
        "stage2",
        [
            *_common(work, a),
            f"model.heads.mask={mask}",
            "train.engine=deepspeed",
            f"train.max_steps={a.ds_steps}",
            f"output_dir={work / 'ds_run'}",
        ],
        min(a.warmup, a.ds_steps - 1),
    )
    check.line(
        "deepspeed_zero2_bf16",
        "ok",
        f"{a.ds_steps} steps, world size 1, loss "
        f"{hist[0]['loss']:.4f} -> {hist[-1]['loss']:.4f}, no dtype error",
    )
    check.line("deepspeed_step_s", f"{step:.3f}", "median after warm-up")
    check.line("deepspeed_peak_gpu_mem_gib", check.peak(), "over those steps")


def _build(check: Check, work: Path, tiny: bool, device: Any, mask: str) -> None:
    import torch
    import yaml

    from tpo_train.model import (
        LoraSpec,
        MaskHeadSpec,
        RegionHeadSpec,
        TemporalHeadSpec,
        TPOModel,
        TPOModelSpec,
        save_tpo_model,
    )
    from tpo_train.presets import LLAVA_OV_7B
    from tpo_train.tiny import build_random_llava_ov

    t = time.time()
    base = build_random_llava_ov(
        work / "base", TINY_PRESET if tiny else LLAVA_OV_7B, device=str(device), dtype="bfloat16"
    )
    mspec = yaml.safe_load(mask)
    mspec["hydra_overrides"] = tuple(mspec.get("hydra_overrides", ()))
    heads = {"temporal": TemporalHeadSpec(), "region": RegionHeadSpec(), "mask": MaskHeadSpec(**mspec)}
    model = TPOModel.build(
        TPOModelSpec(base=str(base), lora=LoraSpec(), heads=heads),
        dtype=torch.bfloat16,
        device=device if device.type == "cuda" else None,
    )
    n_base = sum(p.numel() for n, p in model.adapter.model.named_parameters() if "lora_" not in n)
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    save_tpo_model(model, work / "tpo")
    del model
    check.line("build_s", f"{time.time() - t:.1f}", "random bf16 base written + TPO model built and saved")
    check.line(
        "base_params_b",
        f"{n_base / 1e9:.3f}",
        f"{'tiny' if tiny else 'LLaVA-OneVision-7B'} structure without LoRA; nothing downloaded",
    )
    check.line(
        "tpo_trainable_params_m", f"{n_train / 1e6:.1f}", "LoRA r16 + task tokens + box encoder + heads"
    )


def _eval(check: Check, work: Path, a: argparse.Namespace) -> None:
    import json

    from tpo_eval.api import RunConfig
    from tpo_eval.standin import make_mvbench_format_dataset

    data = make_mvbench_format_dataset(
        work / "mvbench", per_task=max(1, a.samples // 20), size=64 if a.tiny else 224
    )
    common = dict(data_root=data, num_frames=a.frames, progress=False)
    check.reset_peak()
    doc, rate = _timed_run(
        RunConfig(
            "mvbench",
            model="tpo",
            ckpt=str(work / "tpo"),
            out_dir=work / "eval_run",
            model_args={"max_new_tokens": str(a.max_new_tokens)},
            **common,
        )
    )
    rt = json.loads((work / "eval_run" / "results.json").read_text())["provenance"]["runtime"]
    n, failed = doc["overall"]["n_total"], doc["overall"]["n_failed"]
    check.line(
        "eval_samples_per_s",
        f"{rate:.2f}",
        f"tpo-eval run mvbench --model tpo, {n} samples x "
        f"{a.frames} frames, {rt['device']} {rt['dtype']}, max_new_tokens {a.max_new_tokens}",
    )
    check.line("eval_peak_gpu_mem_gib", check.peak(), f"provenance runtime: {rt}")
    check.line("eval_failed", f"{failed} of {n}")
    _, decode_rate = _timed_run(RunConfig("mvbench", model="mock:oracle", **common))
    check.line(
        "decode_samples_per_s", f"{decode_rate:.2f}", "the same samples, frames decoded only (mock:oracle)"
    )
    check.line(
        "model_vs_decode_ratio",
        f"{decode_rate / rate:.2f}",
        "eval s/sample ÷ decode s/sample: >> 1 = model-bound, ~1 = decode-bound",
    )


if __name__ == "__main__":
    sys.exit(main())

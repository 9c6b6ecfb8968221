"""The pretrained MLLM the demo's TPO and its baselines start from, in miniature (``tpo-train demo-base``).

The paper fine-tunes a video MLLM that already answers multiple-choice questions about videos. A random tiny
model trained for the demo's minutes (LoRA on a random LM) learns the answer format and the text priors, never
to read the answer from the video (docs/SYNTH.md, "Multiple choice"). So the demo starts from a base built
once by this module on a world of its own (``--world-seed 1`` by default: no clip of the demo's seed-0 world,
train or held-out, is seen) and shipped with the package (``model.base: demo_base``,
``tpo_train/assets/demo_base``):

1. a tiny LLaVA-OneVision (:mod:`tpo_train.tiny`) whose tokenizer's merges include the world's words, as a
   real LLM's vocabulary has "red" or "square" as one token;
2. its vision encoder pretrained on per-quadrant colour and shape labels (:mod:`tpo_train.demo_vision`);
3. optionally (``--lookup-steps``, off by default) every weight on text-only option look-ups
   (:mod:`tpo_train.demo_pretrain`);
4. every weight trained on the world's train questions, each step a mixture of multiple choice in the
   ``synth_mcq`` benchmark's exact prompt (answer ``B) red``) and the same questions answered in words
   (``Answer: red``), which is what teaches reading the value from the video.

Its own world's held-out MCQ accuracy is scored as it trains and written to ``demo_base.json``; a folder it
writes is a ``model.base`` for any stage config.

    from tpo_train.demo_base import build_demo_base
    build_demo_base("data/synth_base", "tpo_train/assets/demo_base")   # -> Path; origin in demo_base.json
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from pathlib import Path

ORIGIN_FILE = "demo_base.json"
#: the prompt words the world's questions are asked in, beside the world's own words
_PROMPT_WORDS = ("Options", "Best", "option", "Question", "Answer", "Fact", "which", "is")


def world_words(world: Path) -> tuple[str, ...]:
    """Sorted words of the world's train questions and options (and the prompt's), for the tokenizer."""
    words = set(_PROMPT_WORDS)
    for f in sorted((world / "mcq" / "train").glob("*.json")):
        for d in json.loads(f.read_text()):
            for text in [d["question"], *d["candidates"]]:
                words.update(re.findall(r"[A-Za-z]+|\d", text))
    return tuple(sorted(words))


def tokenizer_corpus(words: tuple[str, ...]) -> tuple[str, ...]:
    """Extra BPE text: the words as written and capitalised, repeated so each gets its merges."""
    return (" ".join(words),) * 3 + (" ".join(w.capitalize() for w in words),) * 2


def build_demo_base(
    world: str | Path,
    out: str | Path,
    *,
    vision_steps: int = 2000,
    steps: int = 1250,
    mcq: int = 16,
    answers: int = 16,
    lookups: int = 0,
    lookup_steps: int = 0,
    lookup_batch: int = 32,
    lr: float = 1e-3,
    text_layers: int = 2,
    seed: int = 0,
    log_every: int = 250,
) -> Path:
    """Write ``out`` (a ``from_pretrained`` folder + :data:`ORIGIN_FILE`) as the module docstring says;
    returns it. ``world``'s train split only is trained on; its held-out split is scored at every
    ``log_every`` steps (letter accuracy, the likeliest of A-D after ``Best option:(``) and recorded with the
    losses."""
    import torch

    from .demo_pretrain import Pretrainer
    from .demo_vision import pretrain_vision
    from .tiny import build_tiny_llava_ov

    world, out = Path(world), Path(out)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.monotonic()
    words = world_words(world)
    build_tiny_llava_ov(
        tmp / "random", seed=seed, text_layers=text_layers, extra_corpus=tokenizer_corpus(words)
    )
    vision = pretrain_vision(tmp / "random", world, tmp / "vision", steps=vision_steps, seed=seed)
    vision_origin = json.loads((vision / "demo_vision.json").read_text())
    print(
        f"[demo-base] vision encoder: {vision_steps} steps, loss {vision_origin['loss_first']:.3f} -> "
        f"{vision_origin['loss_last']:.3f} [{time.monotonic() - t0:.0f} s]",
        flush=True,
    )

    torch.manual_seed(seed)
    p = Pretrainer(vision, world, lr=lr, rng=random.Random(seed))
    # the look-ups alone first: text-only steps cost a fifth of a video step, and the binding they teach is
    # what the multiple-choice steps need before their letter can follow the video at all
    lookup_log = []
    for step in range(1, lookup_steps + 1):
        loss = p.step(mcq=0, answers=0, lookups=lookup_batch)
        if step % (4 * log_every) == 0 or step == lookup_steps:
            lookup_log.append({"step": step, "loss": loss, "lookup_accuracy": p.lookup_accuracy()})
            print(
                f"[demo-base] look-ups {step}/{lookup_steps} loss {loss:.3f} accuracy "
                f"{lookup_log[-1]['lookup_accuracy']:.3f} [{time.monotonic() - t0:.0f} s]",
                flush=True,
            )
    log = [{"step": 0, "heldout": p.heldout_accuracy()}]
    for step in range(1, steps + 1):
        loss = p.step(mcq=mcq, answers=answers, lookups=lookups)
        if step % log_every == 0 or step == steps:
            log.append(
                {
                    "step": step,
                    "loss": loss,
                    "lookup_accuracy": p.lookup_accuracy(),
                    "heldout": p.heldout_accuracy(),
                }
            )
            print(
                f"[demo-base] step {step}/{steps} loss {loss:.3f} look-ups {log[-1]['lookup_accuracy']:.3f} "
                f"held-out MCQ {log[-1]['heldout']['acc']:.3f} [{time.monotonic() - t0:.0f} s]",
                flush=True,
            )
    p.save(tmp / "base")
    origin = {
        "world": json.loads((world / "world.json").read_text())["settings"],
        "words": list(words),
        "vision": {
            k: vision_origin[k] for k in ("steps", "batch", "lr", "frames", "loss_first", "loss_last")
        },
        "steps": steps,
        "per_step": {"mcq": mcq, "answers": answers, "lookups": lookups},
        "lookup_steps": lookup_steps,
        "lookup_batch": lookup_batch,
        "lookup_log": lookup_log,
        "lr": lr,
        "text_layers": text_layers,
        "seed": seed,
        "log": log,
        "seconds": round(time.monotonic() - t0),
    }
    (tmp / "base" / ORIGIN_FILE).write_text(json.dumps(origin, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    (tmp / "base").rename(out)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def _command():
    import click

    @click.command("demo-base")
    @click.option(
        "--out",
        required=True,
        type=click.Path(file_okay=False),
        help="Folder to write the base to (the shipped one: tpo_train/assets/demo_base).",
    )
    @click.option(
        "--world",
        "world",
        default="data/synth_base",
        show_default=True,
        type=click.Path(file_okay=False),
        help="The world to train on; generated there (preset demo, --world-seed) unless it exists.",
    )
    @click.option(
        "--world-seed",
        default=1,
        show_default=True,
        type=int,
        help="Seed of the generated world: not the demo's 0, so the base never sees its clips.",
    )
    @click.option("--vision-steps", default=2000, show_default=True, type=click.IntRange(1))
    @click.option(
        "--lookup-steps",
        default=0,
        show_default=True,
        type=click.IntRange(0),
        help="Text-only option look-up steps (32 sequences each) before the video steps.",
    )
    @click.option(
        "--steps",
        default=1250,
        show_default=True,
        type=click.IntRange(1),
        help="Steps of the whole model (each: --mcq MCQs + --answers worded answers + --lookups look-ups).",
    )
    @click.option("--mcq", default=16, show_default=True, type=click.IntRange(0), help="MCQs per step.")
    @click.option(
        "--answers", default=16, show_default=True, type=click.IntRange(0), help="Worded answers per step."
    )
    @click.option(
        "--lookups", default=0, show_default=True, type=click.IntRange(0), help="Look-ups per step."
    )
    @click.option("--text-layers", default=2, show_default=True, type=click.IntRange(1))
    @click.option("--seed", default=0, show_default=True, type=int, help="Weights and batch order.")
    def demo_base(
        out: str,
        world: str,
        world_seed: int,
        vision_steps: int,
        lookup_steps: int,
        steps: int,
        mcq: int,
        answers: int,
        lookups: int,
        text_layers: int,
        seed: int,
    ) -> None:
        """Build the demo's pretrained tiny base: a world of its own, the vision encoder pretrained on it,
        then the whole model trained on its train questions (about 20 CPU-minutes at the defaults). Prints
        the held-out multiple-choice accuracy of that world as it goes; writes demo_base.json beside the
        weights."""
        from .synth import WorldError, generate_world

        try:
            generate_world(
                world, seed=world_seed, preset="demo", log=lambda s: click.echo(f"synth: {s}", err=True)
            )
        except WorldError as e:
            click.echo(f"error: {e}", err=True)
            raise SystemExit(2) from None
        done = build_demo_base(
            world,
            out,
            vision_steps=vision_steps,
            lookup_steps=lookup_steps,
            steps=steps,
            mcq=mcq,
            answers=answers,
            lookups=lookups,
            text_layers=text_layers,
            seed=seed,
        )
        log = json.loads((done / ORIGIN_FILE).read_text())["log"][-1]
        click.echo(
            f"wrote {done}: held-out MCQ accuracy {log['heldout']['acc']} on its world after {steps} steps"
        )

    return demo_base

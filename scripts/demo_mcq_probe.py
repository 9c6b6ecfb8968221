"""What the demo's tiny model can learn for multiple choice, piece by piece (docs/SYNTH.md).

Answering an MVBench-style question takes two things the random tiny LLaVA-OneVision (64-d, 2-layer
Qwen2 LM, SigLIP on 32 px frames pooled to 4 tokens) does not have: reading the answer's *value* from
the video, and *binding* it to an option letter ("(B) red" -> B) after ``Best option:(``. Each mode
trains the whole model (every weight, AdamW) and prints accuracies as it goes:

    python scripts/demo_mcq_probe.py binding --steps 6000         # text only: the letter lookup
    python scripts/demo_mcq_probe.py values WORLD --steps 2000    # video only: the value, no options
    python scripts/demo_mcq_probe.py values WORLD --steps 500 --vision-steps 2000   # encoder pretrained first
    python scripts/demo_mcq_probe.py mcq WORLD --text-steps 6000 --video-steps 1500   # both
    python scripts/demo_mcq_probe.py mcq WORLD --text-steps 0 --with-values --vision-steps 2000   # what works

- ``binding``: a text curriculum over the world's option vocabularies (colours, directions, corners,
  counts, objects): 70 % associative recall (four options, then six "<option> is (" -> its letter,
  each supervised), 30 % "Fact: <value>. ... Options ... Best option:(" -> the letter. Prints the
  letter accuracy on 200 unseen fact items.
- ``values``: "Question: <q>\nAnswer:" -> the answer text, on the world's train questions; held-out
  questions are answered by the most likely of their four candidates, once with the clip's own video
  and once with another held-out clip's: own > other would mean the model reads the value.
- ``mcq``: ``binding`` first, then the world's train MCQs in the exact ``synth_mcq`` prompt (16 per
  step, plus 8 binding items so the lookup is kept, or with ``--with-values`` 16 worded answers instead);
  held-out accuracy = the most likely letter after ``Best option:(``.

Seeded (torch 0, data 0); one thread. ``--world-vocab`` adds the world's words to the tiny tokenizer's
corpus so that each is one token (the shipped tokenizer splits "red" into "Gre" "d").
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLOURS, SHAPES = ["red", "green", "blue", "yellow"], ["square", "circle", "triangle", "cross"]
VOCABS = [
    COLOURS,
    ["up", "down", "left", "right"],
    ["top left", "top right", "bottom left", "bottom right"],
    ["0", "1", "2", "3"],
    [f"the {c} {s}" for c in COLOURS for s in SHAPES],
]
LETTERS = "ABCD"


class Probe:
    def __init__(self, out: Path, world: Path | None, world_vocab: bool, lr: float) -> None:
        import torch

        import tpo_train.tiny as tiny
        from tpo_train.model.llava_ov import LlavaOVAdapter

        torch.set_num_threads(1)
        torch.manual_seed(0)
        if world_vocab:  # each world word one token (the corpus only decides the BPE merges)
            words = COLOURS + SHAPES + VOCABS[1] + ["top", "bottom", "the", "It", "moves", "turns", "object"]
            words += ["What", "colour", "Which", "direction", "There", "is"]
            tiny._CORPUS = tiny._CORPUS + [" ".join(words)] * 3
        if not (out / "model.safetensors").is_file():
            tiny.build_tiny_llava_ov(out, seed=0)
        self.ad = LlavaOVAdapter.from_pretrained(out)
        self.model, self.tok, self.world = self.ad.model, self.ad.tokenizer, world
        for p in self.model.parameters():
            p.requires_grad = True
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr)
        self.letters = [self.enc(x)[0] for x in LETTERS]
        self.pixels: dict[str, object] = {}
        self.t0 = time.time()

    # ---- text
    def enc(self, s: str) -> list[int]:
        return self.tok(s, add_special_tokens=False)["input_ids"]

    def recall(self, rng: random.Random) -> tuple[list[int], list[int]]:
        o = rng.sample(rng.choice(VOCABS), 4)
        ids = self.enc("Options:\n" + "\n".join(f"({x}) {v}" for x, v in zip(LETTERS, o)) + "\n")
        lab = [-100] * len(ids)
        for _ in range(6):
            k = rng.randrange(4)
            q, a, tail = self.enc(f"{o[k]} is ("), self.enc(LETTERS[k]), self.enc(")\n")
            ids += q + a + tail
            lab += [-100] * len(q) + a + [-100] * len(tail)
        return ids, lab

    def fact(self, rng: random.Random) -> tuple[list[int], list[int]]:
        o, k = rng.sample(rng.choice(VOCABS), 4), rng.randrange(4)
        opts = "\n".join(f"({x}) {v}" for x, v in zip(LETTERS, o))
        ids = self.enc(f"Fact: {o[k]}.\nQuestion: which option?\nOptions:\n{opts}\nBest option:(")
        a = self.enc(LETTERS[k])
        return ids + a, [-100] * len(ids) + a

    def binding_item(self, rng: random.Random, recall_share: float) -> tuple[list[int], list[int]]:
        return self.recall(rng) if rng.random() < recall_share else self.fact(rng)

    # ---- video
    def video(self, vid: str):  # noqa: ANN201 - (frames, 3, H, W) pixel values, as training feeds them
        if vid not in self.pixels:
            from tpo_eval.video.decode import decode
            from tpo_eval.video.sampling import segment_midpoints

            f = decode(
                self.world / "videos" / vid,
                "video",
                lambda a, b, fps: segment_midpoints(a, b, fps, 16),
                fps=1.0,
            ).frames
            self.pixels[vid] = self.ad.processor.video_processor(videos=[f], return_tensors="pt")[
                "pixel_values_videos"
            ][0]
        return self.pixels[vid]

    def encode(self, system: str, user: str, prefix: str, answer: str | None = None):  # noqa: ANN201
        e = self.ad.encode(system, user, prefix, answer=answer, video=np.zeros((16, 64, 64, 3), np.uint8))
        return list(e.input_ids), list(e.labels)

    def questions(self, split: str) -> list[dict]:
        rows = []
        for f in sorted((self.world / "mcq" / split).glob("*.json")):
            rows += [{**d, "task": f.stem} for d in json.loads(f.read_text())]
        return rows

    # ---- steps (padding and the loss as the demo base's builder computes them)
    @staticmethod
    def pad(seqs, left: bool = False):  # noqa: ANN205
        from tpo_train.demo_pretrain import pad_batch

        return pad_batch(seqs, left)

    def loss(self, seqs, pixels=None):  # noqa: ANN001, ANN201
        from tpo_train.demo_pretrain import lm_loss

        return lm_loss(self.model, seqs, pixels)

    def step(self, loss) -> float:  # noqa: ANN001
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return round(float(loss.detach()), 3)

    def fact_accuracy(self) -> float:
        import torch

        rng = random.Random(5)
        ids, lab, att = self.pad([self.fact(rng) for _ in range(200)])
        with torch.no_grad():
            logits = self.model.eval()(input_ids=ids, attention_mask=att).logits[:, :-1]
        self.model.train()
        tgt = lab[:, 1:]
        mask = tgt != -100
        return round(float((logits.argmax(-1)[mask] == tgt[mask]).float().mean()), 3)

    def say(self, *parts: object) -> None:
        print(*parts, f"[{time.time() - self.t0:.0f} s]", flush=True)


def binding(p: Probe, steps: int, every: int = 500) -> None:
    rng = random.Random(0)
    for s in range(1, steps + 1):
        loss = p.step(p.loss([p.binding_item(rng, 0.7) for _ in range(32)]))
        if s % every == 0:
            p.say("binding", s, "loss", loss, "fact accuracy", p.fact_accuracy())


def _by_task(hits: list[tuple[str, bool]]) -> str:
    tasks = sorted({t for t, _ in hits})
    per = {t: np.mean([h for u, h in hits if u == t]) for t in tasks}
    return f"{np.mean([h for _, h in hits]):.3f} (" + ", ".join(f"{t} {v:.2f}" for t, v in per.items()) + ")"


def values(p: Probe, steps: int, every: int = 500) -> None:
    import torch

    train, held = p.questions("train"), p.questions("heldout")
    vids = sorted({h["video"] for h in held})

    def score(other: bool) -> str:
        rng, hits = random.Random(1), []
        p.model.eval()
        with torch.no_grad():
            for h in held:
                vid = rng.choice([v for v in vids if v != h["video"]]) if other else h["video"]
                ids, lab, att = p.pad(
                    [p.encode("", "Question: " + h["question"], "Answer:", " " + c) for c in h["candidates"]]
                )
                px = p.video(vid).unsqueeze(0).repeat(len(h["candidates"]), 1, 1, 1, 1)
                lp = (
                    p.model(input_ids=ids, attention_mask=att, pixel_values_videos=px)
                    .logits[:, :-1]
                    .log_softmax(-1)
                )
                tgt = lab[:, 1:]
                ll = (lp.gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1) * (tgt != -100)).sum(1)
                hits.append((h["task"], int(ll.argmax()) == h["candidates"].index(h["answer"])))
        p.model.train()
        return _by_task(hits)

    rng = random.Random(0)
    for s in range(1, steps + 1):
        items = [train[rng.randrange(len(train))] for _ in range(16)]
        seqs = [p.encode("", "Question: " + d["question"], "Answer:", " " + d["answer"]) for d in items]
        loss = p.step(p.loss(seqs, torch.stack([p.video(d["video"]) for d in items])))
        if s % every == 0 or s == 1:
            p.say("values", s, "loss", loss, "| own video", score(False), "| other video", score(True))


def mcq(p: Probe, text_steps: int, video_steps: int, every: int = 250, with_values: bool = False) -> None:
    import torch

    from tpo_eval.config import load_benchmark

    prompt = load_benchmark("synth_mcq").prompt()

    def user(d: dict) -> str:
        opts = "\n".join(f"({x}) {c}" for x, c in zip(LETTERS, d["candidates"]))
        return prompt.template.format(question=d["question"], options=opts).rstrip() + prompt.suffix

    train, held = p.questions("train"), p.questions("heldout")

    def score() -> str:
        hits = []
        p.model.eval()
        with torch.no_grad():
            for i in range(0, len(held), 32):
                part = held[i : i + 32]
                ids, _, att = p.pad(
                    [
                        (a, a)
                        for a, _ in (p.encode(prompt.system, user(d), prompt.assistant_prefix) for d in part)
                    ],
                    left=True,
                )
                px = torch.stack([p.video(d["video"]) for d in part])
                logits = p.model(input_ids=ids, attention_mask=att, pixel_values_videos=px).logits[
                    :, -1, p.letters
                ]
                hits += [
                    (d["task"], int(logits[j].argmax()) == d["candidates"].index(d["answer"]))
                    for j, d in enumerate(part)
                ]
        p.model.train()
        return _by_task(hits)

    if text_steps:
        binding(p, text_steps)
    p.say("before the video MCQs: held-out", score())
    rng = random.Random(0)
    for s in range(1, video_steps + 1):
        items = [train[rng.randrange(len(train))] for _ in range(16)]
        seqs = []
        for d in items:
            k = d["candidates"].index(d["answer"])
            seqs.append(
                p.encode(prompt.system, user(d), prompt.assistant_prefix, f"{LETTERS[k]}) {d['answer']}")
            )
        loss = p.loss(seqs, torch.stack([p.video(d["video"]) for d in items]))
        if with_values:  # the worded answer too: it teaches reading the value from the video
            items = [train[rng.randrange(len(train))] for _ in range(16)]
            vals = [p.encode("", "Question: " + d["question"], "Answer:", " " + d["answer"]) for d in items]
            loss = loss + p.loss(vals, torch.stack([p.video(d["video"]) for d in items]))
        else:
            loss = loss + p.loss([p.binding_item(rng, 0.5) for _ in range(8)])
        loss = p.step(loss)
        if s % every == 0:
            p.say("mcq", s, "loss", loss, "fact accuracy", p.fact_accuracy(), "held-out", score())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["binding", "values", "mcq"])
    ap.add_argument("world", nargs="?", type=Path, help="a world from `tpo-train synth` (values, mcq)")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--text-steps", type=int, default=6000)
    ap.add_argument("--video-steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--world-vocab", action="store_true")
    ap.add_argument("--with-values", action="store_true", help="mcq: add worded-answer items to every step")
    ap.add_argument(
        "--vision-steps",
        type=int,
        default=0,
        help="first pretrain the base's vision encoder on WORLD's train frames (tpo_train.demo_vision)",
    )
    ap.add_argument(
        "--base", type=Path, default=Path("demo_out/mcq_probe_base"), help="where the tiny base goes"
    )
    a = ap.parse_args()
    if a.mode != "binding" and a.world is None:
        ap.error(f"{a.mode} needs WORLD")
    base = a.base.with_name(a.base.name + ("-wv" if a.world_vocab else ""))
    if a.vision_steps:
        if a.world is None:
            ap.error("--vision-steps needs WORLD")
        Probe(base, None, a.world_vocab, a.lr)  # builds the random base when missing
        from tpo_train.demo_vision import pretrain_vision

        seen = base.with_name(f"{base.name}-vision{a.vision_steps}")
        if not (seen / "model.safetensors").is_file():
            pretrain_vision(base, a.world, seen, steps=a.vision_steps)
        base = seen
    p = Probe(base, a.world, a.world_vocab, a.lr)
    if a.mode == "binding":
        binding(p, a.steps)
    elif a.mode == "values":
        values(p, a.steps)
    else:
        mcq(p, a.text_steps, a.video_steps, with_values=a.with_values)


if __name__ == "__main__":
    main()

"""The training steps of the demo's base (:mod:`tpo_train.demo_base`): every weight of a tiny LLaVA-OneVision,
AdamW, one step = a sum of three mean token losses.

- *Multiple choice*: the world's train questions as ``tpo-eval run synth_mcq`` asks them (the benchmark's own
  family builds the prompt; frames from its sampler), answered ``B) red`` + end of turn.
- *Answers in words*: the same questions without options (``Question: … / Answer: red``) — the value read from
  the video, supervised on every token of it, without the letter.
- *Look-ups* (text only): four options, then six ``Find: <option> is (`` → its letter; and, less often, a
  stated fact and the options → the letter. One supervised letter per MCQ is too sparse for a random LM to
  learn the binding (it stayed at chance for 4,000 steps, docs/SYNTH.md); six per sequence teach it.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

LETTERS = "ABCD"
_COLOURS = ["red", "green", "blue", "yellow"]
_SHAPES = ["square", "circle", "triangle", "cross"]
#: the option vocabularies of the look-ups: the world's answer values
VOCABS = (
    _COLOURS,
    ["up", "down", "left", "right"],
    ["top left", "top right", "bottom left", "bottom right"],
    ["0", "1", "2", "3"],
    [f"the {c} {s}" for c in _COLOURS for s in _SHAPES],
)


def pad_batch(seqs: list[tuple[list, list]], left: bool = False):  # noqa: ANN201
    """(input_ids, labels, attention_mask) of ``(ids, labels)`` pairs padded to one length (``left`` for a
    prompt whose next token is read at the last position)."""
    n = max(len(a) for a, _ in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    lab, att = torch.full((len(seqs), n), -100), torch.zeros((len(seqs), n), dtype=torch.long)
    for i, (a, b) in enumerate(seqs):
        s = n - len(a) if left else 0
        ids[i, s : s + len(a)], lab[i, s : s + len(b)], att[i, s : s + len(a)] = (
            torch.tensor(a),
            torch.tensor(b),
            1,
        )
    return ids, lab, att


def lm_loss(model, seqs: list[tuple[list, list]], pixels=None):  # noqa: ANN001, ANN201
    """The mean token loss of ``model`` on the padded ``seqs`` (with their videos' pixels, if any)."""
    ids, lab, att = pad_batch(seqs)
    extra = {} if pixels is None else {"pixel_values_videos": pixels}
    return model(input_ids=ids, attention_mask=att, labels=lab, **extra).loss


class Pretrainer:
    def __init__(self, base: Path, world: Path, *, lr: float, rng: random.Random) -> None:
        from tpo_eval.config import DataPaths, load_benchmark
        from tpo_eval.pipeline import load_samples

        from .model.llava_ov import LlavaOVAdapter

        self.ad = LlavaOVAdapter.from_pretrained(base)
        self.model, self.tok, self.rng = self.ad.model.train(), self.ad.tokenizer, rng
        for p in self.model.parameters():
            p.requires_grad = True
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr)
        self.cfg = load_benchmark("synth_mcq")
        self.family, self.train = load_samples(self.cfg, DataPaths(world, world / "mcq" / "train"))
        _, self.heldout = load_samples(self.cfg, DataPaths(world, world / "mcq" / "heldout"))
        self.letters = [self._ids(x)[0] for x in LETTERS]
        self._pixels: dict[str, torch.Tensor] = {}
        self._blank = None

    # ---- text and video
    def _ids(self, s: str) -> list[int]:
        return self.tok(s, add_special_tokens=False)["input_ids"]

    def pixels(self, sample) -> torch.Tensor:  # noqa: ANN001 - a tpo_eval Sample
        """(frames, 3, H, W) as the benchmark samples them and the processor normalises them (cached)."""
        from tpo_eval.registries import SAMPLERS
        from tpo_eval.sample_checks import guarded_sampler
        from tpo_eval.video.decode import decode

        path = sample.media.paths[0]
        if path not in self._pixels:
            spec = self.cfg.sampler
            sampler = guarded_sampler(SAMPLERS.get(spec["name"]), int(spec["num_frames"]), sample)
            frames = decode(path, sample.media.mode, sampler, sample.media.fps).frames
            if self._blank is None:  # the <video> expansion depends on the frames' shape only
                self._blank = np.zeros_like(frames)
            self._pixels[path] = self.ad.processor.video_processor(videos=[frames], return_tensors="pt")[
                "pixel_values_videos"
            ][0]
        return self._pixels[path]

    def _encode(self, system: str, user: str, prefix: str, answer: str | None) -> tuple[list, list]:
        e = self.ad.encode(system, user, prefix, answer=answer, video=self._blank)
        return list(e.input_ids), list(e.labels)

    def mcq_item(self, s, answer: bool = True) -> tuple[list, list]:  # noqa: ANN001
        """The benchmark's prompt for ``s``, answered ``B) red`` (or left open, to read the next letter)."""
        p = self.family.build_prompt(s, self.cfg)
        said = f"{LETTERS[s.target]}) {s.choices[s.target]}" if answer else None
        return self._encode(p.system, p.user, p.assistant_prefix, said)

    def answer_item(self, s) -> tuple[list, list]:  # noqa: ANN001
        return self._encode("", "Question: " + s.question, "Answer:", " " + s.choices[s.target])

    def lookup_item(self, recall_share: float = 0.7) -> tuple[list, list]:
        rng = self.rng
        opts = rng.sample(rng.choice(VOCABS), 4)
        listing = "Options:\n" + "\n".join(f"({x}) {v}" for x, v in zip(LETTERS, opts)) + "\n"
        if rng.random() >= recall_share:  # a stated fact, then the options: which letter
            k = rng.randrange(4)
            ids = self._ids(f"Fact: {opts[k]}.\nQuestion: which option?\n{listing}Best option:(")
            a = self._ids(LETTERS[k])
            return ids + a, [-100] * len(ids) + a
        ids = self._ids(listing)
        labels = [-100] * len(ids)
        for _ in range(6):
            k = rng.randrange(4)
            # "Find: red" writes the value as the option line does (" red" after a space, one token): a query
            # without the space ("\nred") is another token, which the model would first have to learn to match
            q, a, tail = self._ids(f"Find: {opts[k]} is ("), self._ids(LETTERS[k]), self._ids(")\n")
            ids += q + a + tail
            labels += [-100] * len(q) + a + [-100] * len(tail)
        return ids, labels

    # ---- steps
    def step(self, *, mcq: int, answers: int, lookups: int) -> float:
        loss = torch.zeros(())
        for n, item in ((mcq, self.mcq_item), (answers, self.answer_item)):
            if n:
                batch = [self.train[self.rng.randrange(len(self.train))] for _ in range(n)]
                px = torch.stack(
                    [self.pixels(s) for s in batch]
                )  # first: a clip seen fixes the blank's shape
                loss = loss + lm_loss(self.model, [item(s) for s in batch], px)
        if lookups:
            loss = loss + lm_loss(self.model, [self.lookup_item() for _ in range(lookups)])
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    # ---- measures
    @torch.no_grad()
    def lookup_accuracy(self, n: int = 200) -> float:
        """Letter accuracy on ``n`` fresh stated-fact items (a fixed seed: the same items every time)."""
        keep, self.rng = self.rng, random.Random(5)
        try:
            ids, lab, att = pad_batch([self.lookup_item(recall_share=0.0) for _ in range(n)])
        finally:
            self.rng = keep
        logits = self.model.eval()(input_ids=ids, attention_mask=att).logits[:, :-1]
        self.model.train()
        tgt = lab[:, 1:]
        mask = tgt != -100
        return round(float((logits.argmax(-1)[mask] == tgt[mask]).float().mean()), 4)

    @torch.no_grad()
    def heldout_accuracy(self, batch: int = 32) -> dict:
        """The likeliest letter after ``Best option:(`` on the held-out questions: micro and per task."""
        self.model.eval()
        hits: dict[str, list[bool]] = {}
        for i in range(0, len(self.heldout), batch):
            part = self.heldout[i : i + batch]
            px = torch.stack([self.pixels(s) for s in part])
            ids, _, att = pad_batch(
                [(a, a) for a, _ in (self.mcq_item(s, answer=False) for s in part)], left=True
            )
            logits = self.model(input_ids=ids, attention_mask=att, pixel_values_videos=px).logits[:, -1]
            for s, row in zip(part, logits[:, self.letters].argmax(-1).tolist()):
                hits.setdefault(s.task, []).append(row == s.target)
        self.model.train()
        every = [h for v in hits.values() for h in v]
        return {
            "acc": round(float(np.mean(every)), 4),
            "n": len(every),
            "tasks": {t: round(float(np.mean(v)), 4) for t, v in sorted(hits.items())},
        }

    def save(self, out: Path) -> None:
        import shutil

        self.model.eval().save_pretrained(out, safe_serialization=True)
        for f in Path(self.ad.model.name_or_path).iterdir():  # processor, tokenizer, template, generation
            if f.is_file() and not (out / f.name).exists():
                shutil.copyfile(f, out / f.name)

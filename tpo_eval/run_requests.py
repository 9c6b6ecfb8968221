"""The input side of a run: each sample becomes a model request (media decoded, prompt built) or a recorded
failure (bad sample, missing media, decode error), decoded ahead on worker threads while the model answers
the batch before. A base class of :class:`tpo_eval.runner.Runner`, split from the evaluation loop."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tqdm import tqdm

from . import pipeline
from .config import BenchmarkConfig
from .registries import SAMPLERS
from .sample_checks import guarded_sampler
from .types import RawOutput, Request, Sample
from .video.decode import VideoDecodeError, decode, load_images

# Decoder threads that prefetch ahead of the model. One is enough to hide decoding behind a real model's
# forward pass; more only contend with the model (and each other) for cores. Override with
# TPO_EVAL_DECODE_WORKERS.
_DECODE_WORKERS = max(1, int(os.environ.get("TPO_EVAL_DECODE_WORKERS", "1")))


class RunRequests:
    """Samples → requests → raw outputs, in batches; the runner sets these attributes."""

    run_cfg: pipeline.RunConfig
    cfg: BenchmarkConfig
    family: Any
    sampler_spec: dict[str, Any]
    problems: dict[str, str]
    _prompts: dict[str, Any]

    def _predict(
        self, model: Any, todo: list[Sample], missing: set[str]
    ) -> Iterator[tuple[Sample, RawOutput]]:
        bs = max(1, self.run_cfg.batch_size)
        bar = tqdm(
            total=len(todo),
            desc=f"{self.cfg.name}",
            unit="sample",
            disable=not self.run_cfg.progress,
            file=sys.stderr,
        )
        # Decode ahead on worker threads (decord/PyAV release the GIL) while the model answers the current
        # batch.
        with ThreadPoolExecutor(max_workers=_DECODE_WORKERS) as pool:
            futures: list[Future] = [
                pool.submit(self._request, s, missing, model.needs_frames) for s in todo[: 2 * bs]
            ]
            nxt = len(futures)
            for i in range(0, len(todo), bs):
                batch = []
                for s in todo[i : i + bs]:
                    batch.append((s, futures.pop(0).result()))
                    if nxt < len(todo):
                        futures.append(pool.submit(self._request, todo[nxt], missing, model.needs_frames))
                        nxt += 1
                ok = [(s, r) for s, r in batch if isinstance(r, Request)]
                outs = dict(zip([s.id for s, _ in ok], model.predict([r for _, r in ok]) if ok else []))
                for s, r in batch:
                    yield s, (r if isinstance(r, RawOutput) else outs[s.id])
                bar.update(len(batch))
        bar.close()

    def _request(self, s: Sample, missing: set[str], needs_frames: bool) -> Request | RawOutput:
        if s.id in self.problems:
            print(f"[tpo-eval] {s.id}: {self.problems[s.id]}", file=sys.stderr)
            return RawOutput(s.id, error=f"bad sample: {self.problems[s.id]}")
        if any(p in missing for p in s.media.paths):
            return RawOutput(s.id, error=f"missing media: {', '.join(s.media.paths)}")
        frames, ts, duration = None, (), s.duration
        try:
            if s.media.mode == "images":
                frames = load_images(s.media.paths)
            elif s.media.mode in ("video", "frames"):
                sampler = guarded_sampler(
                    SAMPLERS.get(self.sampler_spec["name"]), int(self.sampler_spec["num_frames"]), s
                )
                d = decode(s.media.paths[0], s.media.mode, sampler, s.media.fps)
                frames, ts = d.frames, d.timestamps
                duration = duration if duration is not None else d.duration
        except (VideoDecodeError, OSError, ValueError, ArithmeticError) as e:
            print(f"[tpo-eval] {s.id}: {e}", file=sys.stderr)
            return RawOutput(s.id, error=f"decode failed: {e}")
        prompt = self.family.build_prompt(s, self.cfg, self.run_cfg.prompt, timestamps=tuple(ts))
        if self.run_cfg.log_samples:
            self._prompts[s.id] = prompt
        return Request(
            sample_id=s.id,
            kind=self.family.kind,
            prompt=prompt,
            frames=frames,
            timestamps=tuple(ts),
            choices=s.choices,
            duration=duration,
            reference=s.target,
            seed=self.run_cfg.seed,
            question=s.question,
            media_id=str(s.meta.get("vid", "")),
            query_id=str(s.meta.get("qid", "")),
            clip_length=s.meta.get("clip_length"),
        )

"""The evaluation loop: preflight checks, resume, prefetching decode, batched prediction, per-sample rows.

Resume is keyed by sample id plus a hash of the generation settings (model fingerprint, prompt, sampler,
generation kwargs), never by rank or position, so a rerun with another shard count still skips finished work.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from tqdm import tqdm

from . import api
from .config import DataPaths, load_benchmark
from .models.base import ModelError, build_model
from .records import PredictionWriter, read_run_predictions, sha256_json, write_json_atomic
from .registries import SAMPLERS
from .selection import shard
from .types import RawOutput, Request, Sample
from .video.decode import VideoDecodeError, decode, load_images


# Decoder threads that prefetch ahead of the model. One is enough to hide decoding behind a real model's forward
# pass; more only contend with the model (and each other) for cores. Override with TPO_EVAL_DECODE_WORKERS.
_DECODE_WORKERS = max(1, int(os.environ.get("TPO_EVAL_DECODE_WORKERS", "1")))


class SettingsMismatchError(RuntimeError):
    """The output directory holds predictions made with different settings."""


class Runner:
    def __init__(self, run: api.RunConfig, on_sample: Optional[Callable[[str], None]] = None) -> None:
        self.run_cfg, self.on_sample = run, on_sample
        self.cfg = load_benchmark(run.benchmark)
        self.paths = DataPaths(run.data_root, run.annotations)
        self.family, self.samples = api.load_samples(self.cfg, self.paths, run.tasks, run.limit, run.subset,
                                                     run.subset_seed)
        sampler = dict(self.cfg.sampler)
        if run.num_frames:
            sampler["num_frames"] = run.num_frames
        self.sampler_spec = sampler
        self.prompt_hash = api.prompt_hash(self.cfg, run.prompt)

    # ---- setup ----------------------------------------------------------------------------------------------
    def _preflight(self) -> set[str]:
        missing = api.missing_media(self.samples)
        if missing and not self.run_cfg.skip_missing:
            shown = "\n  ".join(missing[:20]) + (f"\n  … and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise api.MissingMediaError(
                f"{len(missing)} media file(s) missing for {self.cfg.name} (looked under "
                f"{self.paths.media_dir(self.cfg, self.cfg.tasks[0]).parent}):\n  {shown}\n"
                "Fix --data-root, or pass --skip-missing to record them as failures.")
        return set(missing)

    def _settings(self, model_fp: dict[str, Any]) -> dict[str, Any]:
        return {"benchmark": self.cfg.name, "version": self.cfg.version, "prompt": self.run_cfg.prompt or
                self.cfg.default_prompt, "prompt_hash": self.prompt_hash, "sampler": self.sampler_spec,
                "generation": dict(self.cfg.generation), "model": model_fp}

    # ---- main -----------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        start = api.now()
        missing = self._preflight()
        model = build_model(self.run_cfg.model, ckpt=self.run_cfg.ckpt, device=self.run_cfg.device,
                            dtype=self.run_cfg.dtype, batch_size=self.run_cfg.batch_size, seed=self.run_cfg.seed,
                            **dict(self.run_cfg.model_args))
        if hasattr(model, "set_generation"):
            model.set_generation(dict(self.cfg.generation))
        if self.family.kind not in model.supports:
            raise ModelError(f"model {self.run_cfg.model!r} cannot answer {self.family.kind!r} requests "
                             f"({self.cfg.name}); it supports {sorted(model.supports)}")
        settings = self._settings(model.fingerprint())
        shash = sha256_json(settings)[:16]
        out = self.run_cfg.out_dir
        done: dict[str, dict[str, Any]] = {}
        if out is not None:
            for row in read_run_predictions(out):
                if row.get("settings") != shash:
                    raise SettingsMismatchError(
                        f"{out} holds predictions made with other settings (row {row.get('id')!r}: "
                        f"{row.get('settings')} ≠ {shash}); use a new --out directory")
                done[row["id"]] = row
        mine = shard(self.samples, self.run_cfg.shard_index, self.run_cfg.shard_count)
        todo = [s for s in mine if s.id not in done]
        if done:
            print(f"[tpo-eval] resuming: {len(mine) - len(todo)} of {len(mine)} samples already predicted",
                  file=sys.stderr)
        writer = None
        if out is not None:
            name = ("predictions.jsonl" if self.run_cfg.shard_count == 1 else
                    f"predictions.shard{self.run_cfg.shard_index}-of{self.run_cfg.shard_count}.jsonl")
            writer = PredictionWriter(out / name)
        try:
            for s, raw in self._predict(model, todo, missing):
                row = self._row(s, raw, shash)
                done[s.id] = row
                if writer:
                    writer.write(row)
                if self.on_sample:
                    self.on_sample(s.id)
        finally:
            if writer:
                writer.close()
        return self._finish(done, settings, model.fingerprint(), start, out)

    def _predict(self, model: Any, todo: list[Sample], missing: set[str]) -> Iterator[tuple[Sample, RawOutput]]:
        bs = max(1, self.run_cfg.batch_size)
        bar = tqdm(total=len(todo), desc=f"{self.cfg.name}", unit="sample", disable=not self.run_cfg.progress,
                   file=sys.stderr)
        # Decode ahead on worker threads (decord/PyAV release the GIL) while the model answers the current batch.
        with ThreadPoolExecutor(max_workers=_DECODE_WORKERS) as pool:
            futures: list[Future] = [pool.submit(self._request, s, missing, model.needs_frames) for s in todo[:2 * bs]]
            nxt = len(futures)
            for i in range(0, len(todo), bs):
                batch = []
                for s in todo[i:i + bs]:
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
        if any(p in missing for p in s.media.paths):
            return RawOutput(s.id, error=f"missing media: {', '.join(s.media.paths)}")
        frames, ts, duration = None, (), s.duration
        try:
            if s.media.mode == "images":
                frames = load_images(s.media.paths)
            elif s.media.mode in ("video", "frames"):
                fn = SAMPLERS.get(self.sampler_spec["name"])
                sampler = lambda a, b, fps: fn(a, b, fps, int(self.sampler_spec["num_frames"]), s.media.bound)
                d = decode(s.media.paths[0], s.media.mode, sampler, s.media.fps)
                frames, ts = d.frames, d.timestamps
                duration = duration if duration is not None else d.duration
        except (VideoDecodeError, OSError, ValueError) as e:
            print(f"[tpo-eval] {s.id}: {e}", file=sys.stderr)
            return RawOutput(s.id, error=f"decode failed: {e}")
        return Request(sample_id=s.id, kind=self.family.kind, prompt=self.family.build_prompt(s, self.cfg,
                       self.run_cfg.prompt, timestamps=tuple(ts)), frames=frames, timestamps=tuple(ts), choices=s.choices,
                       duration=duration, reference=s.target, seed=self.run_cfg.seed, question=s.question,
                       media_id=str(s.meta.get("vid", "")), query_id=str(s.meta.get("qid", "")))

    def _row(self, s: Sample, raw: RawOutput, shash: str) -> dict[str, Any]:
        answers, parsed, scores = {}, {}, {}
        for label in self.cfg.extractors:
            a = self.family.extract(label, raw, s, self.cfg)
            sc = self.family.score_sample(label, a, s, raw.error is not None)
            answers[label], parsed[label], scores[label] = self.family.serialize_answer(a), sc.parsed, dict(sc.values)
        return {"id": s.id, "task": s.task, "settings": shash, "prompt_hash": self.prompt_hash, "output": raw.text,
                "windows": raw.windows, "saliency": raw.saliency, "error": raw.error, "answers": answers,
                "parsed": parsed, "scores": scores}

    def _finish(self, done: dict[str, dict[str, Any]], settings: dict[str, Any], model_fp: dict[str, Any],
                start: str, out: Optional[Path]) -> dict[str, Any]:
        pending = [s.id for s in self.samples if s.id not in done]
        if pending:  # another shard still owes predictions: no results yet
            print(f"[tpo-eval] {len(pending)} sample(s) still without predictions (other shards); "
                  "results.json is written by the last shard to finish, or by `tpo-eval score RUN_DIR`",
                  file=sys.stderr)
            return {}
        outputs = {sid: raw_from_row(r) for sid, r in done.items()}
        scored = api.score_outputs(self.cfg, self.family, self.samples, outputs)
        doc = scored.doc
        doc["provenance"] = api.provenance(self.cfg, self.family, self.paths, self.run_cfg.tasks, {
            "settings": settings, "settings_hash": sha256_json(settings)[:16], "model": model_fp,
            "sampler": self.sampler_spec, "prompt_hash": self.prompt_hash, "selection": {
                "tasks": list(self.run_cfg.tasks) if self.run_cfg.tasks else None, "limit": self.run_cfg.limit,
                "subset": self.run_cfg.subset, "subset_seed": self.run_cfg.subset_seed},
            "start_time": start, "end_time": api.now()})
        if out is not None:
            write_json_atomic(out / "results.json", doc)
        return doc


def raw_from_row(row: dict[str, Any]) -> RawOutput:
    """A predictions.jsonl row (ours, or an external ``{"id", "output"}`` row) back into a RawOutput."""
    win = row.get("windows")
    sal = row.get("saliency")
    return RawOutput(sample_id=str(row["id"]), text=str(row.get("output") or ""),
                     windows=tuple(tuple(float(x) for x in w) for w in win) if win else None,
                     saliency=tuple(float(x) for x in sal) if sal else None, error=row.get("error"))

"""The evaluation loop: preflight checks, resume, prefetching decode, batched prediction, per-sample rows.

Resume is keyed by sample id plus a hash of the generation settings (model fingerprint, prompt, sampler,
generation kwargs), never by rank or position, so a rerun with another shard count still skips finished work.
Each row also carries a digest of its sample's content: a row made for other content than the sample now under
its id (annotations reordered or edited) is refused, never mixed in. One process writes a predictions file at
a time (:mod:`tpo_eval.rundir`); whichever shard finishes last, or rank 0 after torchrun's barrier, writes
``results.json`` from every shard's rows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from tqdm import tqdm

from . import pipeline, rundir
from .config import DataPaths, load_benchmark
from .io import sha256_file, sha256_json
from .models.base import ModelError
from .models.checks import check_model_args
from .records import PredictionWriter, write_json_atomic
from .registries import SAMPLERS
from .sample_checks import guarded_sampler, sample_digest, sample_problem, set_digest
from .selection import shard
from .types import RawOutput, Request, Sample
from .video.decode import VideoDecodeError, decode, load_images

# Decoder threads that prefetch ahead of the model. One is enough to hide decoding behind a real model's
# forward
# pass; more only contend with the model (and each other) for cores. Override with TPO_EVAL_DECODE_WORKERS.
_DECODE_WORKERS = max(1, int(os.environ.get("TPO_EVAL_DECODE_WORKERS", "1")))


def merge_run_dir(run_dir: Path) -> dict[str, Any]:
    """``results.json`` of a run directory whose shards ran as independent jobs, from its rows and the
    selection and settings its ``run.json`` recorded (no model)."""
    info = rundir.read_run_file(run_dir)
    sel = info["selection"]
    run = pipeline.RunConfig(
        benchmark=info["benchmark"],
        model=info.get("model") or "mock:oracle",
        ckpt=info.get("ckpt"),
        data_root=Path(info["data_root"]) if info["data_root"] else None,
        annotations=Path(info["annotations"]) if info["annotations"] else None,
        out_dir=run_dir,
        tasks=tuple(sel["tasks"]) if sel["tasks"] else None,
        limit=sel["limit"],
        subset=sel["subset"],
        subset_seed=sel["subset_seed"],
        prompt=info["prompt"],
        num_frames=info["num_frames"],
        model_args=info.get("model_args") or {},
        progress=False,
    )
    return Runner(run).merge()


class Runner:
    def __init__(
        self, run: pipeline.RunConfig, on_sample: Optional[Callable[[str], None]] = None, model: Any = None
    ) -> None:
        self.run_cfg, self.on_sample, self.model = run, on_sample, model  # model: shared across benchmarks
        pipeline.check_run_config(run)
        self.cfg = load_benchmark(run.benchmark)
        self.paths = DataPaths(run.data_root, run.annotations)
        self.family, self.samples = pipeline.load_samples(
            self.cfg, self.paths, run.tasks, run.limit, run.subset, run.subset_seed
        )
        if not self.samples:
            raise ValueError(
                f"no {self.cfg.name} samples selected (check --tasks, --limit, --subset and the "
                "annotation files)"
            )
        sampler = dict(self.cfg.sampler)
        if run.num_frames:
            sampler["num_frames"] = run.num_frames
        self.sampler_spec = sampler
        self.prompt_hash = pipeline.prompt_hash(self.cfg, run.prompt)
        # --gen-kwargs override the benchmark's generation block; both are hashed into the settings
        self.generation = {**self.cfg.generation, **dict(run.gen_kwargs)}
        self._prompts: dict[str, Any] = {}  # --log-samples: each exact prompt, until its row is written
        root = run.data_root if run.data_root is not None else Path(".")
        self.digests = {s.id: sample_digest(s, run.data_root) for s in self.samples}
        self.problems = {s.id: p for s in self.samples if (p := sample_problem(s, root))}
        self.runtime: Optional[dict[str, Any]] = None  # set once the model is built (a merge builds none)

    # ---- setup
    # ----------------------------------------------------------------------------------------------
    def _preflight(self) -> set[str]:
        missing = pipeline.missing_media([s for s in self.samples if s.id not in self.problems])
        if missing and not self.run_cfg.skip_missing:
            shown = "\n  ".join(missing[:20]) + (
                f"\n  … and {len(missing) - 20} more" if len(missing) > 20 else ""
            )
            raise pipeline.MissingMediaError(
                f"{len(missing)} media file(s) missing for {self.cfg.name} (looked under "
                f"{self.paths.media_dir(self.cfg, self.cfg.tasks[0]).parent}):\n  {shown}\n"
                "Fix --data-root, or pass --skip-missing to record them as failures."
            )
        return set(missing)

    def _settings(self, model_fp: dict[str, Any]) -> dict[str, Any]:
        return {
            "benchmark": self.cfg.name,
            "version": self.cfg.version,
            "prompt": self.run_cfg.prompt or self.cfg.default_prompt,
            "prompt_hash": self.prompt_hash,
            "sampler": self.sampler_spec,
            "generation": dict(self.generation),
            "model": model_fp,
            # the decoder joins the settings hash (a resume must not switch decoders); ``auto`` stays ``auto``
            # so a run resumes on a machine that ranks the backends differently (they return the same frames)
            "decoder": self.run_cfg.decoder,
        }

    def _build_model(self) -> Any:
        rc = self.run_cfg
        if self.model is not None:  # several benchmarks, one adapter (loaded once by the suite)
            model = self.model
        else:
            check_model_args(rc.model, rc.model_args, rc.ckpt)
            model = pipeline.build_run_model(rc)
        from .models.device import runtime_info

        # what this process ran on (not in the settings hash: a resume on another GPU keeps its rows)
        self.runtime = runtime_info(model.device, model.dtype)
        model.set_generation(dict(self.generation))
        if self.family.kind not in model.supports:
            raise ModelError(
                f"model {rc.model!r} cannot answer {self.family.kind!r} requests "
                f"({self.cfg.name}); it supports {sorted(model.supports)}"
            )
        return model

    # ---- main
    # -----------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from .distributed import TorchrunGroup

        start = pipeline.now()
        missing = self._preflight()
        group = TorchrunGroup() if self.run_cfg.distributed else None
        out = self.run_cfg.out_dir
        mine = shard(self.samples, self.run_cfg.shard_index, self.run_cfg.shard_count)
        writer = lock = None
        done: dict[str, dict[str, Any]] = {}
        if out is not None:  # before the model loads, so a second writer is refused at once
            pred = out / (
                "predictions.jsonl"
                if self.run_cfg.shard_count == 1
                else f"predictions.shard{self.run_cfg.shard_index}-of{self.run_cfg.shard_count}.jsonl"
            )
            lock = rundir.predictions_lock(pred).acquire()
        try:
            model = self._build_model()
            gen = self._settings(model.fingerprint())
            shash = sha256_json(gen)[:16]
            # The generation settings key the rows; the annotation content is checked per row by digest.
            settings = {**gen, "annotations": set_digest(self.digests.items())}
            if out is not None:
                done = self._resume(out, pred, mine, shash, settings)
                writer = PredictionWriter(pred)
            todo = [s for s in mine if s.id not in done]
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
            if lock:
                lock.release()
        if group is not None:
            # After the loop only: without --out rank 0 collects the rows; with it they are all on disk now.
            gathered = group.gather(done) if out is None else done
            group.barrier()
            main = group.is_main
            group.close()
            if not main:
                return {}
            done = gathered
        return self._finish(done, settings, shash, model.fingerprint(), start, out)

    def _resume(
        self, out: Path, pred: Path, mine: list[Sample], shash: str, settings: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Rows already made for this run (checked), after dropping failed ones when retrying; removes a
        results.json that new rows are about to make stale, and records run.json."""
        ids = {s.id for s in mine}
        with rundir.dir_lock(out):
            rows = rundir.read_rows(out)
            by_id = rundir.check_rows(rows, shash)
            rundir.check_digests(by_id, self.digests, out)
            failed = [i for i in ids if i in by_id and by_id[i].get("error") is not None]
            if failed and self.run_cfg.retry_failed:
                rundir.drop_rows(out, rows, lambda r: r.get("id") in ids and r.get("error") is not None, pred)
                for i in failed:
                    del by_id[i]
                print(f"[tpo-eval] retrying {len(failed)} failed sample(s)", file=sys.stderr)
            elif failed:
                print(
                    f"[tpo-eval] keeping {len(failed)} failed sample(s) from earlier runs as failures; pass "
                    "--retry-failed to run them again",
                    file=sys.stderr,
                )
            n_done = sum(i in by_id for i in ids)
            if n_done:
                print(
                    f"[tpo-eval] resuming: {n_done} of {len(mine)} samples already predicted", file=sys.stderr
                )
            if n_done < len(mine):
                (out / "results.json").unlink(missing_ok=True)  # stale once new rows land
            rundir.write_run_file(out, self._run_doc(settings, shash))
        return {i: r for i, r in by_id.items() if i in self.digests}

    def _run_doc(self, settings: dict[str, Any], shash: str) -> dict[str, Any]:
        rc = self.run_cfg
        absolute = lambda p: os.path.abspath(p) if p else None  # noqa: E731 - merge may run from another cwd
        return {
            "benchmark": rc.benchmark,
            "data_root": absolute(rc.data_root),
            "annotations": absolute(rc.annotations),
            "selection": {
                "tasks": list(rc.tasks) if rc.tasks else None,
                "limit": rc.limit,
                "subset": rc.subset,
                "subset_seed": rc.subset_seed,
            },
            "prompt": rc.prompt,
            "num_frames": rc.num_frames,
            "model": rc.model,
            "ckpt": rc.ckpt,
            "model_args": dict(rc.model_args),
            "settings": settings,
            "settings_hash": shash,
        }

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

    def _row(self, s: Sample, raw: RawOutput, shash: str) -> dict[str, Any]:
        # the sample's one extraction and scoring: results.json aggregates these recorded scores
        answers, scores = pipeline.row_scores(self.cfg, self.family, s, raw)
        row = {
            "id": s.id,
            "task": s.task,
            "settings": shash,
            "digest": self.digests[s.id],
            "prompt_hash": self.prompt_hash,
            "output": raw.text,
            "windows": raw.windows,
            "saliency": raw.saliency,
            "error": raw.error,
            "answers": answers,
            "parsed": {label: sc.parsed for label, sc in scores.items()},
            "scores": {label: dict(sc.values) for label, sc in scores.items()},
        }
        if self.run_cfg.log_samples:
            row["sample"] = pipeline.sample_log(s, self._prompts.pop(s.id, None))
        return row

    def _finish(
        self,
        done: dict[str, dict[str, Any]],
        settings: dict[str, Any],
        shash: str,
        model_fp: dict[str, Any],
        start: str,
        out: Optional[Path],
    ) -> dict[str, Any]:
        if out is None:
            pending = [s.id for s in self.samples if s.id not in done]
            if pending:
                print(
                    f"[tpo-eval] {len(pending)} sample(s) belong to other shards; without --out no results "
                    "are "
                    "written (pass --out to gather the shards)",
                    file=sys.stderr,
                )
                return {}
            return self._document(done, settings, shash, model_fp, start, [])
        # Under the directory lock, from every shard's rows as they are now (not as they were at start), so
        # exactly the shard that completes the set writes results.json.
        with rundir.dir_lock(out):
            rows = rundir.read_rows(out)
            by_id = rundir.check_rows(rows, shash)
            rundir.check_digests(by_id, self.digests, out)
            pending = [s.id for s in self.samples if s.id not in by_id]
            if pending:  # another shard still owes predictions: no results yet
                print(
                    f"[tpo-eval] {len(pending)} sample(s) still without predictions (other shards); "
                    "results.json is written by the last shard to finish, or by `tpo-eval merge RUN_DIR`",
                    file=sys.stderr,
                )
                return {}
            files = [{"file": p.name, "sha256": sha256_file(p), "n_rows": len(r)} for p, r in rows.items()]
            doc = self._document(by_id, settings, shash, model_fp, start, files)
            write_json_atomic(out / "results.json", doc)
        return doc

    def _document(
        self,
        done: dict[str, dict[str, Any]],
        settings: dict[str, Any],
        shash: str,
        model_fp: dict[str, Any],
        start: str,
        files: list[dict[str, Any]],
    ) -> dict[str, Any]:
        scores = pipeline.scores_from_rows(self.cfg, self.family, self.samples, done)
        doc = pipeline.results_doc(self.cfg, self.family, self.samples, scores)
        rc = self.run_cfg
        doc["provenance"] = pipeline.provenance(
            self.cfg,
            self.family,
            self.paths,
            rc.tasks,
            {
                "settings": settings,
                "settings_hash": shash,
                "model": model_fp,
                "model_args": dict(rc.model_args),
                "runtime": self.runtime,  # None when merged from a run directory (no model)
                "sampler": self.sampler_spec,
                "prompt_hash": self.prompt_hash,
                "selection": {
                    "tasks": list(rc.tasks) if rc.tasks else None,
                    "limit": rc.limit,
                    "subset": rc.subset,
                    "subset_seed": rc.subset_seed,
                },
                "predictions": files,
                "start_time": start,
                "end_time": pipeline.now(),
            },
        )
        return doc

    def merge(self) -> dict[str, Any]:
        """Write results.json of a finished run directory from its rows and run.json (no model)."""
        out = self.run_cfg.out_dir
        assert out is not None
        info = rundir.read_run_file(out)
        doc = self._finish(
            {}, info["settings"], info["settings_hash"], info["settings"]["model"], pipeline.now(), out
        )
        if not doc:
            raise rundir.RunDirError(
                f"{out}: not every selected sample has a prediction yet; finish the shards "
                "(rerun them into this directory) before merging"
            )
        return doc

"""The evaluation loop: preflight checks, the model, the shard's samples through it, one row per sample.
The input side (decode ahead, requests) is :mod:`tpo_eval.run_requests`; resume and ``results.json`` are
:mod:`tpo_eval.run_results`.

Resume is keyed by sample id plus a hash of the generation settings (model fingerprint, prompt, sampler,
generation kwargs), never by rank or position, so a rerun with another shard count still skips finished work.
Each row also carries a digest of its sample's content: a row made for other content than the sample now under
its id (annotations reordered or edited) is refused, never mixed in. One process writes a predictions file at
a time (:mod:`tpo_eval.rundir`); whichever shard finishes last, or rank 0 after torchrun's barrier, writes
``results.json`` from every shard's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from . import pipeline, rundir
from .config import DataPaths, load_benchmark
from .io import sha256_json
from .models.base import ModelError
from .models.checks import check_model_args
from .records import PredictionWriter
from .run_requests import RunRequests
from .run_results import RunResults
from .sample_checks import sample_digest, sample_problem, set_digest
from .selection import shard
from .types import RawOutput, Sample


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


class Runner(RunRequests, RunResults):
    """One benchmark run: ``Runner(run).run()`` returns the results document (``{}`` from a shard or rank
    that does not write it)."""

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
        made = [p for p in (out, *out.parents) if not p.exists()] if out is not None else []  # to be created
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
        except BaseException:
            if made and lock and writer is None:  # failed before any row could be written (a model that
                # cannot load, answer or take its args): remove the folder this run made, no husk
                lock.release()
                rundir.remove_if_only_lock(out, lock, made[1:])
                lock = None
            raise
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

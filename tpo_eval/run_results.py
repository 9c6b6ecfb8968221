"""Run-directory side of a run: resume from the rows already written, record ``run.json``, and write
``results.json`` from every shard's rows (exactly once: by the shard that completes the set, or by
``tpo-eval merge``). A base class of :class:`tpo_eval.runner.Runner`, split from the evaluation loop."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

from . import pipeline, rundir
from .config import BenchmarkConfig, DataPaths
from .io import sha256_file
from .records import write_json_atomic
from .types import Sample


class RunResults:
    """Resume, ``run.json`` and ``results.json`` for a run; the runner sets these attributes."""

    run_cfg: pipeline.RunConfig
    cfg: BenchmarkConfig
    family: Any
    paths: DataPaths
    samples: list[Sample]
    digests: dict[str, str]
    sampler_spec: dict[str, Any]
    prompt_hash: str
    runtime: Optional[dict[str, Any]]

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
                    "are written (pass --out to gather the shards)",
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

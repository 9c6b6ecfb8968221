"""Several benchmarks in one command (``tpo-eval run mvbench,charades_sta …``), as lmms-eval users expect.

Every benchmark is checked before the first model is built (names, tasks, where its data is), so a typo
costs seconds, not a finished MVBench run. Each benchmark then runs as its own :func:`tpo_eval.api.evaluate`
into its own run directory, all with one model adapter loaded once; a benchmark that fails at run time is
recorded in the summary and the others still run.

Run directories: ``--out DIR`` with one benchmark is DIR itself (as always); with several,
``DIR/<benchmark>``. Without ``--out`` each run goes to ``runs/<benchmark>-<model>-<time>`` (rerun with
``--out`` that path to resume).
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from .api import RunConfig, evaluate


@dataclass(frozen=True)
class SuiteResult:
    benchmark: str
    out_dir: Path
    doc: Optional[dict[str, Any]]  # None: failed (``error``), or an unfinished shard ({} from evaluate)
    error: Optional[str] = None


def split_benchmarks(arg: str) -> list[str]:
    names = [b.strip() for b in arg.split(",") if b.strip()]
    if not names:
        raise ValueError("no benchmark given")
    dup = sorted({b for b in names if names.count(b) > 1})
    if dup:
        raise ValueError(f"benchmark(s) given twice: {', '.join(dup)}")
    return names


def keyed(values: Sequence[str], benchmarks: Sequence[str], option: str) -> dict[str, Optional[str]]:
    """``["DIR"]`` → every benchmark gets DIR; ``["mvbench=DIR1", "charades_sta=DIR2"]`` → one each (a plain
    DIR then fills the rest). A key that is not one of ``benchmarks`` is an error naming the close ones."""
    out: dict[str, Optional[str]] = {b: None for b in benchmarks}
    plain = []
    for v in values:
        key, sep, path = v.partition("=")
        if sep and not Path(v).exists() and re.fullmatch(r"[A-Za-z0-9_.-]+", key):
            if key not in out:
                close = difflib.get_close_matches(key, benchmarks, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"{option} {v!r}: {key!r} is not a benchmark of this run{hint}; "
                    f"benchmarks: {', '.join(benchmarks)}"
                )
            out[key] = path
        else:
            plain.append(v)
    if len(plain) > 1:
        raise ValueError(f"{option} given {len(plain)} times without BENCHMARK=; use BENCHMARK=DIR for each")
    for b in benchmarks:
        if out[b] is None and plain:
            out[b] = plain[0]
    return out


def model_tag(model: str, ckpt: Optional[str]) -> str:
    """``hf`` + ``/ckpt/llava-ov-7b`` → ``llava-ov-7b``; ``mock:oracle`` → ``mock-oracle`` (path-safe)."""
    name = Path(ckpt.rstrip("/")).name if ckpt else model
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "model"


def out_dirs(
    benchmarks: Sequence[str],
    out: Optional[Path],
    model: str,
    ckpt: Optional[str],
    stamp: Optional[str] = None,
) -> dict[str, Path]:
    if out is not None:
        return {b: out if len(benchmarks) == 1 else out / b for b in benchmarks}
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    return {b: Path("runs") / f"{b}-{model_tag(model, ckpt)}-{stamp}" for b in benchmarks}


def preflight(runs: Mapping[str, RunConfig]) -> None:
    """Load every benchmark's config and samples, and (with several benchmarks) check their media, before
    any model is built; every problem in one error. One benchmark keeps the runner's own media check."""
    from .config import ConfigError, DataPaths, load_benchmark
    from .hfdata import zipped_media_hint
    from .pipeline import load_samples, missing_media

    problems = []
    for b, rc in runs.items():
        try:
            _, samples = load_samples(
                load_benchmark(b),
                DataPaths(rc.data_root, rc.annotations),
                rc.tasks,
                rc.limit,
                rc.subset,
                rc.subset_seed,
            )
        except (ConfigError, ValueError, OSError) as e:
            problems.append(f"{b}: {e}")
            continue
        missing = missing_media(samples) if not rc.skip_missing else []
        hint = zipped_media_hint(rc.data_root) if missing and rc.data_root is not None else ""
        if missing and (len(runs) > 1 or hint):
            problems.append(
                f"{b}: {len(missing)} media file(s) missing (first: {missing[0]}); fix "
                f"--data-root {b}=DIR or pass --skip-missing.{hint}"
            )
    if problems:
        raise ValueError("\n".join(problems) if len(problems) > 1 else problems[0])


def run_suite(runs: Mapping[str, RunConfig]) -> list[SuiteResult]:
    """Evaluate each benchmark in order with one model adapter; a failure is recorded (and printed) and the
    next benchmark still runs."""
    import sys

    from .api import build_run_model

    out, model = [], None
    for b, rc in runs.items():
        try:
            model = model or build_run_model(rc)  # loaded once, for every benchmark (as lmms-eval does)
            out.append(SuiteResult(b, rc.out_dir, evaluate(rc, model=model)))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - reported in the summary and the exit code, never dropped
            print(f"[tpo-eval] {b}: failed: {e}", file=sys.stderr)
            why = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"
            out.append(SuiteResult(b, rc.out_dir, None, why))  # type: ignore[arg-type]
    return out


def configs(
    base: RunConfig,
    benchmarks: Sequence[str],
    roots: Mapping[str, Optional[Path]],
    annotations: Mapping[str, Optional[Path]],
    outs: Mapping[str, Path],
) -> dict[str, RunConfig]:
    return {
        b: replace(base, benchmark=b, data_root=roots[b], annotations=annotations[b], out_dir=outs[b])
        for b in benchmarks
    }


def summary(results: Sequence[SuiteResult]) -> str:
    """One line per benchmark: its primary metric, counts and run directory (or why it failed)."""
    from tabulate import tabulate

    rows = []
    for r in results:
        if r.error:
            rows.append([r.benchmark, "FAILED", "", "", "", r.error])
            continue
        if not r.doc:
            rows.append([r.benchmark, "(other shards pending)", "", "", "", str(r.out_dir)])
            continue
        key = r.doc.get("primary", "")
        val = (r.doc.get("overall", {}).get("micro") or {}).get(key)
        ov = r.doc.get("overall", {})
        rows.append(
            [
                r.benchmark,
                key,
                "" if val is None else f"{val:.2f}",
                ov.get("n_total", ""),
                ov.get("n_failed", ""),
                str(r.out_dir),
            ]
        )
    head = ["benchmark", "primary", "score", "n", "failed", "run directory"]
    return tabulate(rows, head, tablefmt="simple", disable_numparse=True) + "\n"

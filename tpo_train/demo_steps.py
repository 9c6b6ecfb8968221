"""How one step of ``make demo`` runs (tpo_train/demo.py orchestrates the steps): each preset's per-step
arguments, the call of one ``tpo-train`` / ``tpo-eval`` command (its own process or this one, its output in a
log) and the checks by which a rerun finds a step already done.

Kept apart from the orchestration so that the training side (demo.py) and the scoring side (demo_score.py)
share one way of calling a step and one notion of "done".
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from tpo_eval.io import sha256_file

#: per preset: world preset and overrides applied to every stage (the CI variant trains a few steps only)
PRESETS: dict[str, dict] = {
    # answers are a few tokens ("A) It turns red.", "The given query happens in 2.5 - 3.2 seconds."): a tiny
    # model that has not learned to stop would otherwise write the benchmark's 100 tokens for every question
    "demo": {"world": "demo", "overrides": (), "eval": ("--model-arg", "max_new_tokens=24")},
    # a few steps cannot teach the end-of-answer token: cap generation so an untrained model answers quickly
    "ci": {"world": "tiny", "overrides": ("train.max_steps=2",), "eval": ("--model-arg", "max_new_tokens=6")},
}


def _read(path: Path) -> Optional[str]:
    return path.read_text() if path.is_file() else None


def _manifest_sha(ckpt: Optional[Path]) -> Optional[str]:
    """The digest of the checkpoint's manifest (which hashes all its files); None without a checkpoint."""
    return sha256_file(ckpt / "manifest.json") if ckpt else None


def _done(final: Path, config_sha: str) -> bool:
    m = final / "manifest.json"
    if not m.is_file():
        return False
    try:
        man = json.loads(m.read_text())
    except ValueError:
        return False
    return bool(man.get("final")) and man.get("config_sha256") == config_sha


def _call(cmd: Sequence[str], log: Path, check: bool = True, inline: bool = False) -> int:
    """Run one step, its output in ``log``; a failure names the log and shows its tail. Steps run as their own
    process (one torch thread each: two processes share the 2 cores better than one process with two threads),
    or, ``inline``, in this process (the CI preset: no interpreter start-up per step)."""
    import os

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        if inline:
            rc = _inline(cmd[2:], fh)
        else:
            env = {
                **os.environ,
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                "TOKENIZERS_PARALLELISM": "false",
            }
            rc = subprocess.call(list(cmd), stdout=fh, stderr=subprocess.STDOUT, env=env)
    if check and rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"step failed (exit {rc}): {' '.join(cmd[2:])}\n  log: {log}\n" + "\n".join(tail))
    return rc


def _inline(args: Sequence[str], fh) -> int:
    """``-m tpo_train.cli …`` / ``-m tpo_eval.cli …`` called in this process; the exit code it would give."""
    import contextlib
    import importlib
    import traceback

    module, argv = args[0], list(args[1:])
    main = importlib.import_module(module).main
    with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        try:
            main(argv, standalone_mode=False)
            return 0
        except SystemExit as e:
            return int(e.code or 0) if not isinstance(e.code, str) else 1
        except Exception as e:  # click usage errors and the command's own failures
            code = getattr(e, "exit_code", None)
            traceback.print_exc(file=fh)
            return int(code) if isinstance(code, int) else 1

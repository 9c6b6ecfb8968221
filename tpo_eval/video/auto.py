"""``--decoder auto``: the installed backends ordered fastest-first, measured on this machine and cached.

The measurement samples 16 segment midpoints (a real run's pattern) from a 20 s synthetic 360p H.264 clip with
B-frames and a 5 s GOP, with every installed backend. A backend is *correct* when it returns exactly the
requested frames (each frame spells its own index) with the true frame count; incorrect or failing backends
are left out of the order. The result is cached per host and per decoder library versions in
``$TPO_EVAL_CACHE/decoders.json`` (default ``~/.cache/tpo-eval``); ``scripts/bench_decode.py --save-auto`` can
replace it with a measurement on long 360p clips.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, Sequence

BACKENDS = ("decord", "torchcodec", "pyav")  # the order when nothing can be measured
_SCHEMA = 1
_PROBE = {"seconds": 20.0, "fps": 25, "width": 640, "height": 360, "gop": 125, "mark": 128}
_memo: dict[str, list[str]] = {}


def cache_dir() -> Path:
    return Path(os.environ.get("TPO_EVAL_CACHE") or Path.home() / ".cache" / "tpo-eval")


@functools.lru_cache(maxsize=1)
def fingerprint() -> str:
    """What the measurement depends on: the host and the decoder libraries' versions."""
    vers = []
    for dist in ("decord", "av", "torchcodec", "torch"):
        try:
            vers.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            vers.append(f"{dist}=-")
    return f"v{_SCHEMA} {platform.node()} py{sys.version_info[0]}.{sys.version_info[1]} " + " ".join(vers)


def ranking(refresh: bool = False) -> list[str]:
    """Correct installed backends, fastest first (measured once per host and library versions)."""
    key, path = fingerprint(), cache_dir() / "decoders.json"
    if not refresh and f"{path} {key}" in _memo:
        return _memo[f"{path} {key}"]
    entry = None if refresh else _load(path).get(key)
    if not (isinstance(entry, dict) and isinstance(entry.get("order"), list)
            and set(entry["order"]) <= set(BACKENDS)):  # absent, or edited into something unusable
        entry = None
    if entry is None:
        print(f"[tpo-eval] measuring the video decoders once for this machine (cached in {path})",
              file=sys.stderr)
        order = order_from(measure())
        if not order:  # nothing decodes the probe (no encoder to write it, or no backend): try all, uncached
            order = list(BACKENDS)
        else:
            try:
                save(order, "auto probe", path)
            except OSError as e:  # a read-only home must not stop a run: use the order, measure next time
                print(f"[tpo-eval] decoder order not cached ({e})", file=sys.stderr)
        entry = {"order": order}
    _memo[f"{path} {key}"] = list(entry["order"])
    return list(entry["order"])


def order_from(results: dict[str, dict[str, Any]]) -> list[str]:
    ok = [n for n, r in results.items() if r.get("ok")]
    return sorted(ok, key=lambda n: results[n]["seconds"])


def save(order: Sequence[str], source: str, path: Optional[Path] = None) -> None:
    """Record ``order`` for this host and library versions (atomically: concurrent ranks may race)."""
    path = path or cache_dir() / "decoders.json"
    data = _load(path)
    data[fingerprint()] = {"order": list(order), "source": source, "measured_at": time.time()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)
    _memo.pop(f"{path} {fingerprint()}", None)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def probe_clip() -> Optional[Path]:
    """The measurement clip, written once into the cache directory (None when PyAV cannot encode it)."""
    from .synth import write_bench_video

    p = cache_dir() / "bench" / "probe_{seconds:g}s_{height}p_{fps}fps_g{gop}_v2.mp4".format(**_PROBE)
    if not p.exists():
        try:
            write_bench_video(p, **_PROBE)
        except Exception as e:  # noqa: BLE001 - no encoder: auto falls back to the static order
            print(f"[tpo-eval] decoder probe clip not written ({type(e).__name__}: {e})", file=sys.stderr)
            return None
    return p


def measure(clip: Optional[Path] = None, num: int = 16, repeats: int = 3, mark: Optional[int] = None,
            n_frames: Optional[int] = None, backends: Sequence[str] = BACKENDS) -> dict[str, dict[str, Any]]:
    """Per backend: ``ok`` (exact frames), ``seconds`` (CPU, best of ``repeats`` open + sample; every backend
    decodes on one thread, and CPU time barely moves with other processes' load), ``wall``, or ``error``.

    ``clip`` is a :func:`~tpo_eval.video.synth.write_bench_video` clip of ``n_frames`` frames with a ``mark``
    pixel index mark (default: the probe clip)."""
    from .decode import open_reader
    from .sampling import segment_midpoints
    from .synth import read_index

    clip = clip or probe_clip()
    if clip is None:
        return {}
    mark = mark or _PROBE["mark"]
    truth = n_frames or round(_PROBE["seconds"] * _PROBE["fps"])
    out: dict[str, dict[str, Any]] = {}
    for name in backends:
        cpu, wall = [], []
        try:
            for _ in range(repeats):
                t, c = time.perf_counter(), time.process_time()
                r = open_reader(name, clip)
                try:
                    idx = segment_midpoints(0, r.num_frames - 1, r.fps, num)
                    frames = r.get(idx)
                finally:
                    r.close()
                cpu.append(time.process_time() - c)
                wall.append(time.perf_counter() - t)
            got = [read_index(f, mark) for f in frames]
            ok = r.num_frames == truth and got == idx
            out[name] = {"ok": ok, "seconds": min(cpu), "wall": min(wall)}
            if not ok:
                out[name]["error"] = f"{r.num_frames} frames (true {truth}); got frames {got} for {idx}"
        except Exception as e:  # noqa: BLE001 - a missing or broken backend is reported, not raised
            first = (str(e).splitlines() or [""])[0]
            out[name] = {"ok": False, "error": f"{type(e).__name__}: {first}"}
    return out


"""A synthetic stand-in for every data source the shipped configs name, for CPU tests and smoke runs.

``data.root: tiny`` resolves to a folder built here on first use (under ``$TPO_TRAIN_CACHE``): for each source
of
every config in ``tpo_train/configs`` it writes a few records in that source's real layout (CG-DETR JSONL with
InternVideo2/LLaMA-sized features, RefCOCO-style JSONL with images, SA-V masklets and MeViS expressions with
JPEG frames, VideoChat2-IT conversations with videos), so any shipped config runs with ``model.base=tiny
data.root=tiny`` and a small batch. Content is random but seeded by the source name: the folder is
reproducible.

Also runnable: ``python -m tpo_train.tiny_data OUT_DIR``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tpo_eval.io import sha256_int

N_RECORDS = 4
V_DIM, T_DIM = 768, 4096  # InternVideo2 clip / LLaMA token feature sizes, as the temporal head expects
SIZE = 32
VERSION = 1


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(sha256_int(name, 4))


def _sources() -> dict[str, dict[str, Any]]:
    """(format, path) → source settings, over every shipped config (a file is written once)."""
    from ._schema import CONFIG_DIR, _read_yaml

    out: dict[str, dict[str, Any]] = {}
    for p in sorted(CONFIG_DIR.glob("*.yaml")):
        raw = _read_yaml(p, [])
        for name, s in ((raw.get("data") or {}).get("sources") or {}).items():
            if isinstance(s, dict) and "path" in s:
                out.setdefault(s["path"], {"name": name, **s})
    return out


def _image(path: Path, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    from PIL import Image

    img = (rng.random((SIZE, SIZE, 3)) * 60).astype(np.uint8)
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = (200, 40, 40)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _video(path: Path, n_frames: int = 8) -> None:
    from tpo_eval.video.decode import write_index_video

    write_index_video(path, n_frames, fps=1.0, size=SIZE)


def _temporal(root: Path, s: dict[str, Any], rng: np.random.Generator) -> None:
    import torch

    name, clip = s["name"], float((s.get("features") or {}).get("clip_len", 1.0))
    rows = []
    for i in range(N_RECORDS):
        qid, vid = 1000 * (1 + sum(map(ord, name)) % 97) + i, f"{name}_v{i}"
        duration = float(rng.integers(8, 17)) * clip
        st = float(rng.integers(0, int(duration / 2)))
        ed = min(duration, st + float(rng.integers(2, 6)))
        row: dict[str, Any] = {
            "qid": qid,
            "query": f"a person opens the door {i}",
            "duration": duration,
            "vid": vid,
            "relevant_windows": [[st, ed]],
        }
        if name.startswith("qvh"):
            ids = list(range(int(st // clip), int(ed // clip)))
            row["relevant_clip_ids"] = ids
            row["saliency_scores"] = [[int(v) for v in rng.integers(0, 5, 3)] for _ in ids]
        rows.append(row)
        if s.get("media"):
            _video(root / s["media"] / f"{vid}.mp4")
        f = s.get("features")
        if f:
            n = int(duration / clip)
            for sub, key, shape in (("video", vid, (n, V_DIM)), ("text", f"qid{qid}", (6, T_DIM))):
                if sub in f:
                    d = root / f[sub]
                    d.mkdir(parents=True, exist_ok=True)
                    torch.save(
                        torch.from_numpy(rng.standard_normal(shape).astype(np.float32)), d / f"{key}.pt"
                    )
    _write_jsonl(root / s["path"], rows)


def _region(root: Path, s: dict[str, Any], rng: np.random.Generator) -> None:
    rows = []
    for i in range(N_RECORDS):
        x, y = int(rng.integers(0, 16)), int(rng.integers(0, 16))
        w, h = int(rng.integers(4, 16)), int(rng.integers(4, 16))
        image = f"{s['name']}_{i}.png"
        _image(root / s.get("media", "") / image, (x, y, x + w, y + h), rng)
        rows.append(
            {
                "id": i,
                "image": image,
                "width": SIZE,
                "height": SIZE,
                "bbox": [x, y, w, h],
                "sentences": [f"the red box {i}", f"red square number {i}"],
            }
        )
    _write_jsonl(root / s["path"], rows)


def _mask_frames(root: Path, media: str, vid: str, frames: list[str], masks: list[np.ndarray]) -> None:
    from PIL import Image

    d = root / media / vid
    d.mkdir(parents=True, exist_ok=True)
    for f, m in zip(frames, masks):
        img = np.zeros((SIZE, SIZE, 3), np.uint8)
        img[m] = (40, 200, 40)
        Image.fromarray(img).save(d / f"{f}.jpg")


def _moving_masks(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    x, y = int(rng.integers(0, 12)), int(rng.integers(0, 12))
    out = []
    for t in range(n):
        m = np.zeros((SIZE, SIZE), bool)
        m[y + t : y + t + 10, x + t : x + t + 8] = True
        out.append(m)
    return out


def _sav(root: Path, s: dict[str, Any], rng: np.random.Generator) -> None:
    from .data import rle

    folder = root / s["path"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(N_RECORDS // 2):
        vid = f"sav_{i:06d}"
        objs = [_moving_masks(rng, 4) for _ in range(2)]
        masklet = [[rle.encode(o[t]) for o in objs] for t in range(4)]
        frames = [f"{4 * t:05d}" for t in range(4)]
        _mask_frames(root, s.get("media", ""), vid, frames, [objs[0][t] | objs[1][t] for t in range(4)])
        (folder / f"{vid}_manual.json").write_text(
            json.dumps(
                {
                    "video_id": vid,
                    "video_height": SIZE,
                    "video_width": SIZE,
                    "masklet": masklet,
                    "masklet_id": [0, 1],
                    "masklet_num": 2,
                }
            )
        )


def _mevis(root: Path, s: dict[str, Any], rng: np.random.Generator) -> None:
    from .data import rle

    folder = root / s["path"]
    folder.mkdir(parents=True, exist_ok=True)
    videos, mask_dict, anno = {}, {}, 0
    for i in range(N_RECORDS // 2):
        vid = f"mevis_{i:04d}"
        frames = [f"{t:05d}" for t in range(4)]
        objs = [_moving_masks(rng, 4) for _ in range(2)]
        exps = {}
        for k, o in enumerate(objs):
            mask_dict[str(anno)] = [rle.encode(m) for m in o]
            exps[str(k)] = {"exp": f"the green object {k}", "obj_id": [k], "anno_id": [anno]}
            anno += 1
        videos[vid] = {"frames": frames, "expressions": exps}
        _mask_frames(root, s.get("media", ""), vid, frames, [objs[0][t] | objs[1][t] for t in range(4)])
    (folder / "meta_expressions.json").write_text(json.dumps({"videos": videos}))
    (folder / "mask_dict.json").write_text(json.dumps(mask_dict))


def _conversation(root: Path, s: dict[str, Any], rng: np.random.Generator) -> None:
    items = []
    image_media = "images" in s.get("media", "")
    for i in range(N_RECORDS):
        key = "image" if image_media else "video"
        name = f"{s['name']}_{i}.{'png' if image_media else 'mp4'}"
        if image_media:
            _image(root / s["media"] / name, (4, 4, 20, 20), rng)
        elif s.get("media"):
            _video(root / s["media"] / name)
        items.append(
            {
                key: name,
                "QA": [{"i": "", "q": f"What is the person doing {i}?", "a": "The person opens the door."}],
            }
        )
    p = root / s["path"]
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(items))


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


_WRITERS = {
    "cgdetr_jsonl": _temporal,
    "refcoco_jsonl": _region,
    "sav": _sav,
    "mevis": _mevis,
    "videochat2_it": _conversation,
}


def write_tiny_data(root: str | Path) -> Path:
    """Write the tiny stand-in of every shipped source under ``root``; return ``root``."""
    root = Path(root)
    for s in _sources().values():
        _WRITERS[s["format"]](root, s, _rng(s["path"]))
    (root / "TINY_DATA_VERSION").write_text(str(VERSION))
    return root


def tiny_data_root(build: bool = True) -> Path:
    """The cached tiny data folder (built once; rebuilt when :data:`VERSION` changes). ``build=False``: only
    the path (validation has no side effects; the files appear on the first run)."""
    from .presets import cache_dir

    out = cache_dir() / f"tiny-data-v{VERSION}"
    if build and not (out / "TINY_DATA_VERSION").is_file():
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        write_tiny_data(tmp)
        try:
            tmp.rename(out)
        except OSError:  # built concurrently by another process: identical content
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return out


if __name__ == "__main__":
    print(write_tiny_data(sys.argv[1] if len(sys.argv) > 1 else "tiny_data"))

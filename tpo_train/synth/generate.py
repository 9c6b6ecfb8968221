"""``generate_world``: build the synthetic world (videos + every annotation format) under one folder.

The folder is built beside its destination and renamed into place when complete, with ``world.json`` (the
settings, their hash, the counts, the sha256 of every annotation file and the baselines). Asking again for the
same settings is a no-op that returns the stored manifest; a folder holding other settings is refused.
Clip ``i`` of a split is drawn from its own generator seeded by ``(seed, split, i)``, so the world is
reproducible file by file; train and held-out clips are distinct videos (``train_0000`` …,
``heldout_0000`` …). The settings, presets and manifest records live in :mod:`.settings`, re-exported here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tpo_eval.io import sha256_file

from . import grounding, questions, writers
from .render import render
from .settings import (
    PRESETS,
    QID_OFFSET,
    SPLITS,
    TRAINING_SOURCES,
    VERSION,
    WorldError,
    WorldManifest,
    WorldSettings,
)
from .simulate import plan_clip

__all__ = [
    "PRESETS",
    "QID_OFFSET",
    "SPLITS",
    "TRAINING_SOURCES",
    "VERSION",
    "WorldError",
    "WorldManifest",
    "WorldSettings",
    "generate_world",
]


def generate_world(
    out_dir: str | Path,
    *,
    seed: int = 0,
    preset: str = "demo",
    log: Optional[Callable[[str], None]] = None,
    **overrides: Any,
) -> WorldManifest:
    """Write the world for ``(seed, preset, overrides)`` under ``out_dir`` (or reuse the one already there).

    Raises:
        WorldError: ``out_dir`` holds a world with other settings, or is a non-empty folder without
        world.json.
    """
    settings = WorldSettings.from_preset(preset, seed, **overrides)
    out, digest = Path(out_dir), settings.sha256()
    if (out / "world.json").is_file():
        old = WorldManifest.read(out)
        if old.settings_sha256 == digest:
            return old
        raise WorldError(
            f"{out} holds another world (seed {old.settings['seed']}, preset {old.settings['preset']}, "
            f"settings {old.settings_sha256[:12]}, not {digest[:12]}); choose another --out or delete it"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise WorldError(f"{out} exists and is not a synthetic world (no world.json); choose an empty folder")
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        manifest = _build(tmp, settings, log or (lambda _: None))
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except OSError:
        if (out / "world.json").is_file() and WorldManifest.read(out).settings_sha256 == digest:
            return WorldManifest.read(out)  # built concurrently by another process: the same files
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dataclasses.replace(manifest, root=out)


def _build(root: Path, st: WorldSettings, log: Callable[[str], None]) -> WorldManifest:
    from tpo_eval.config import load_benchmark

    prompt = load_benchmark("synth_mcq").prompt(None)
    counts: dict[str, Any] = {}
    charades_q: dict[str, list[grounding.Query]] = {}
    for k, split in enumerate(SPLITS):
        n = st.n_train if split == "train" else st.n_heldout
        train = split == "train"
        cands, qvh_rows, cg_rows, gt, durations, refcoco, sav = [], [], [], [], {}, [], []
        conv_cap, conv_tg, mevis, mask_dict = [], [], {}, {}
        qid = QID_OFFSET[split]
        charades_q[split] = []
        for i in range(n):
            clip = plan_clip(
                np.random.default_rng([st.seed, k, i]), f"{split}_{i:04d}", split, st.frames, st.fps, st.size
            )
            r = render(clip)
            writers.media(root, clip, r, frames=train)
            if (i + 1) % 64 == 0:
                log(f"{split}: {i + 1}/{n} clips")
            durations[clip.vid] = clip.duration
            single = grounding.queries(clip)
            charades_q[split] += single
            sal_rng = np.random.default_rng([st.seed, k, i, 1])
            for q in grounding.queries(clip, multi_window=True):
                qvh_rows.append(
                    writers.cgdetr_row(
                        qid, q, grounding.saliency(clip, r, q, st.clip_length, st.annotators, sal_rng)
                    )
                )
                if len(q.windows) == 1:
                    cg_rows.append(writers.cgdetr_row(qid, q))
                qid += 1
            cands += questions.propose(clip, r, np.random.default_rng([st.seed, k, i, 2]))
            sentences = {
                j: grounding.sentence(clip, e)
                for j, e in enumerate(clip.events)
                if e.kind in grounding.GROUNDED
            }
            gt.append(writers.gt_row(clip, r, sentences))
            if train:
                refcoco += writers.refcoco_rows(clip, r, root)
                mevis[clip.vid] = writers.mevis_entry(clip, r, mask_dict)
                rec = writers.sav_record(clip, r)
                if rec is not None:
                    sav.append(clip.vid)
                    writers.dump_json(root / "mask" / "sav_train" / f"{clip.vid}_manual.json", rec)
                anomaly = next(
                    (c.answer for c in cands if c.vid == clip.vid and c.task == "unexpected_action"), None
                )
                conv_cap.append(
                    _conv(
                        clip.vid,
                        "",
                        "Describe what happens in the video, with the times in seconds.",
                        writers.caption(clip, single, anomaly),
                    )
                )
                conv_tg += [_grounding_turn(clip.vid, q, len(conv_tg)) for q in single]
        mcqs = questions.select(cands, np.random.default_rng([st.seed, k, 1_000_003]))
        writers.mcq(root, split, mcqs)
        writers.charades(root, split, charades_q[split], durations)
        writers.dump_jsonl(root / "qvh" / split / "highlight.jsonl", qvh_rows)
        writers.dump_jsonl(root / "gt" / f"{split}.jsonl", gt)
        if train:
            writers.dump_jsonl(root / "temporal" / "charades_train.jsonl", cg_rows)
            writers.dump_jsonl(root / "temporal" / "qvh_train.jsonl", qvh_rows)
            writers.dump_jsonl(root / "region" / "refcoco_train.jsonl", refcoco)
            writers.dump_json(root / "mask" / "mevis_train" / "meta_expressions.json", {"videos": mevis})
            writers.dump_json(root / "mask" / "mevis_train" / "mask_dict.json", mask_dict)
            conv_mcq = [
                {"video": f"{q.vid}.mp4", "QA": [writers.mcq_turn(q, prompt)]}
                for t in mcqs.values()
                for q in t
            ]
            writers.dump_json(root / "conversation" / "mcq_train.json", conv_mcq)
            writers.dump_json(root / "conversation" / "caption_train.json", conv_cap)
            writers.dump_json(root / "conversation" / "grounding_text_train.json", conv_tg)
        counts[split] = {
            "videos": n,
            "charades_queries": len(charades_q[split]),
            "qvh_queries": len(qvh_rows),
            "mcq": {t: len(v) for t, v in mcqs.items()},
        }
        if train:
            counts[split].update(
                refcoco=len(refcoco), mevis_objects=len(mask_dict), sav_videos=len(sav) or None
            )
        log(
            f"{split}: {n} videos, {len(charades_q[split])} grounding queries, "
            f"{sum(map(len, mcqs.values()))} MCQs"
        )
    baselines = {
        "mcq_chance": 25.0,
        "constant_span": grounding.best_constant_span(
            charades_q["train"], charades_q["heldout"], 1.0 / st.fps
        ),
    }
    files = {
        str(p.relative_to(root)): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".json", ".jsonl", ".txt", ".csv")
    }
    doc = {
        "version": VERSION,
        "settings": dataclasses.asdict(st),
        "settings_sha256": st.sha256(),
        "counts": counts,
        "baselines": baselines,
        "training_sources": TRAINING_SOURCES,
        "files": files,
    }
    writers.dump_json(root / "world.json", doc)
    return WorldManifest(root, doc["settings"], doc["settings_sha256"], counts, baselines, files)


def _conv(vid: str, instruction: str, question: str, answer: str) -> dict[str, Any]:
    return {"video": f"{vid}.mp4", "QA": [{"i": instruction, "q": question, "a": answer}]}


def _grounding_turn(vid: str, q: grounding.Query, k: int) -> dict[str, Any]:
    """A temporal-grounding instruction (seed Table 8, cycled) answered in text, in the same words the
    ``data.textualize`` ablation trains on (:func:`tpo_train.data.templates.target_text`)."""
    from ..data.templates import TEMPORAL_TEMPLATES

    st, ed = q.windows[0]
    return _conv(
        vid,
        "",
        TEMPORAL_TEMPLATES[k % len(TEMPORAL_TEMPLATES)].format(query=q.sentence),
        f"The given query happens in {st:.1f} - {ed:.1f} seconds.",
    )

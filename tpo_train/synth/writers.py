"""The world written in the real on-disk formats, so the benchmark families and training readers read it
unchanged.

Every writer is deterministic (fixed key order, fixed float rounding, no timestamps), so the same world gives
byte-identical annotation files. Videos go through :func:`tpo_eval.video.decode.write_video` (the one PyAV
module); masks are COCO RLE via :mod:`tpo_train.data.rle`.

Formats (paths relative to the world root; ``<split>`` = ``train`` | ``heldout``):

* MVBench: ``mcq/<split>/<task>.json`` = ``[{"video", "question", "candidates", "answer"}]``, videos in
``videos/``;
* Charades-STA: ``charades/<split>/charades_sta.txt`` (``vid start end##sentence``) + ``durations.csv``
  (``id,length``);
* QVHighlights: ``qvh/<split>/highlight.jsonl`` (qid, query, duration, vid, relevant_windows,
relevant_clip_ids,
  saliency_scores);
* training (train split): ``temporal/{charades,qvh}_train.jsonl`` (CG-DETR), ``region/refcoco_train.jsonl`` +
  ``images/``, ``mask/mevis_train/`` and ``mask/sav_train/`` + ``frames/<vid>/<frame>.jpg``,
  ``conversation/*.json``
  (VideoChat2-IT).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..data import rle
from .grounding import Query
from .questions import MCQ
from .render import Rendered
from .world import Clip

LETTERS = "ABCD"


def dump_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False) + "\n", encoding="utf-8")


def dump_jsonl(path: Path, rows: Iterable[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def media(root: Path, clip: Clip, r: Rendered, *, frames: bool) -> None:
    """``videos/<vid>.mp4`` and, for training clips, every frame as ``frames/<vid>/<00000>.jpg``."""
    from PIL import Image

    from tpo_eval.video.decode import write_video

    # lossless RGB (H.264 qp 0, no chroma subsampling): at 64 px the default mpeg4 stream smeared a fading or
    # recolouring object over several frames and bled its colour (mean error 6.7/255, max 188 on train_0002)
    write_video(root / "videos" / f"{clip.vid}.mp4", r.frames, clip.fps, codec="libx264rgb")
    if frames:
        d = root / "frames" / clip.vid
        d.mkdir(parents=True, exist_ok=True)
        for f, img in enumerate(r.frames):
            Image.fromarray(img).save(d / f"{f:05d}.jpg", quality=95)


def mcq(root: Path, split: str, by_task: dict[str, list[MCQ]]) -> None:
    for task, items in by_task.items():
        dump_json(
            root / "mcq" / split / f"{task}.json",
            [
                {
                    "video": f"{q.vid}.mp4",
                    "question": q.question,
                    "candidates": list(q.candidates),
                    "answer": q.answer,
                }
                for q in items
            ],
        )


def charades(root: Path, split: str, queries: Sequence[Query], durations: dict[str, float]) -> None:
    d = root / "charades" / split
    d.mkdir(parents=True, exist_ok=True)
    (d / "charades_sta.txt").write_text(
        "".join(f"{q.vid} {q.windows[0][0]:.2f} {q.windows[0][1]:.2f}##{q.sentence}.\n" for q in queries),
        encoding="utf-8",
    )
    (d / "durations.csv").write_text("id,length\n" + "".join(f"{v},{t:.2f}\n" for v, t in durations.items()))


def cgdetr_row(
    qid: int, q: Query, saliency: tuple[list[int], list[list[int]]] | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "qid": qid,
        "query": q.sentence,
        "duration": q.duration,
        "vid": q.vid,
        "relevant_windows": [[round(s, 3), round(e, 3)] for s, e in q.windows],
    }
    if saliency is not None:
        row["relevant_clip_ids"], row["saliency_scores"] = saliency
    return row


def refcoco_rows(clip: Clip, r: Rendered, root: Path) -> list[dict[str, Any]]:
    """One referred object per row on three still frames (written losslessly as PNG) where it is mostly
    visible."""
    from PIL import Image

    rows = []
    for f in (clip.frames // 4, clip.frames // 2, (3 * clip.frames) // 4):
        image = f"{clip.vid}_{f:05d}.png"
        for i, tr in enumerate(clip.tracks):
            box = r.box(f, i)
            if box is None or tr.alpha[f] < 1 or r.visible_fraction(f, i) < 0.6:
                continue
            if not (root / "images" / image).is_file():
                (root / "images").mkdir(parents=True, exist_ok=True)
                Image.fromarray(r.frames[f]).save(root / "images" / image)
            name = tr.name(f)
            rows.append(
                {
                    "id": f"{clip.vid}/{f}/{i}",
                    "image": image,
                    "width": clip.size,
                    "height": clip.size,
                    "bbox": list(box),
                    "sentences": [f"the {name}", name],
                }
            )
    return rows


def mevis_entry(clip: Clip, r: Rendered, mask_dict: dict[str, Any]) -> dict[str, Any]:
    """A MeViS video entry (one expression per object); its per-frame RLEs (None where absent) go to
    mask_dict."""
    exps = {}
    for i, tr in enumerate(clip.tracks):
        anno = str(len(mask_dict))
        mask_dict[anno] = [rle.encode(m) if m.any() else None for m in r.masks[:, i]]
        if any(mask_dict[anno]):
            exps[str(i)] = {"exp": f"the {tr.colour0} {tr.shape}", "obj_id": [i], "anno_id": [int(anno)]}
    return {"frames": [f"{f:05d}" for f in range(clip.frames)], "expressions": exps}


def sav_record(clip: Clip, r: Rendered) -> dict[str, Any] | None:
    """SA-V ``<vid>_manual.json``: masklets on every 4th frame (SA-V annotates 6 of 24 fps), objects that are
    visible on at least one of those frames; empty masks (not null) where absent, as SA-V writes them."""
    keep = [i for i in range(len(clip.tracks)) if r.masks[::4, i].any()]
    if not keep:
        return None
    masklet = [[rle.encode(r.masks[f, i]) for i in keep] for f in range(0, clip.frames, 4)]
    return {
        "video_id": clip.vid,
        "video_height": clip.size,
        "video_width": clip.size,
        "masklet": masklet,
        "masklet_id": keep,
        "masklet_num": len(keep),
        "video_frame_count": clip.frames,
    }


def gt_row(clip: Clip, r: Rendered, sentences: dict[int, str]) -> dict[str, Any]:
    """Exact per-clip ground truth: per object and frame the visible box (COCO xywh px, null when hidden), the
    visible fraction, opacity, centre and colour name; and every event in frames and seconds."""
    objs = []
    for i, tr in enumerate(clip.tracks):
        objs.append(
            {
                "id": i,
                "shape": tr.shape,
                "colour": tr.colour0,
                "boxes": [_listed(r.box(f, i)) for f in range(clip.frames)],
                "visible": [round(r.visible_fraction(f, i), 4) for f in range(clip.frames)],
                "alpha": [round(float(a), 4) for a in tr.alpha],
                "centre": [[round(float(x), 3), round(float(y), 3)] for x, y in zip(tr.x, tr.y)],
                "size": [round(float(v), 3) for v in tr.size],
                "colours": list(tr.names),
            }
        )
    events = [
        {
            "kind": e.kind,
            "obj": e.obj,
            "start_frame": e.start,
            "end_frame": e.end,
            "start": e.start / clip.fps,
            "end": e.end / clip.fps,
            "value": e.value,
            "cause": e.cause,
            "query": sentences.get(k),
        }
        for k, e in enumerate(clip.events)
    ]
    return {
        "vid": clip.vid,
        "split": clip.split,
        "frames": clip.frames,
        "fps": clip.fps,
        "size": clip.size,
        "duration": clip.duration,
        "objects": objs,
        "events": events,
    }


def _listed(box: tuple[int, ...] | None) -> list[int] | None:
    return None if box is None else list(box)


def mcq_turn(q: MCQ, prompt: Any) -> dict[str, str]:
    """A VideoChat2-IT turn asking ``q`` exactly as the benchmark prompt does; the answer continues the
    benchmark's assistant prefix (``Best option:(`` → ``Best option:(B) left``)."""
    options = "\n".join(f"({LETTERS[k]}) {c}" for k, c in enumerate(q.candidates))
    user = prompt.template.format(question=q.question, options=options).rstrip() + prompt.suffix
    k = q.candidates.index(q.answer)
    prefix = prompt.assistant_prefix
    answer = (
        f"{prefix}{LETTERS[k]}) {q.answer}" if prefix.endswith("(") else f"{prefix}({LETTERS[k]}) {q.answer}"
    )
    return {"i": prompt.system.strip(), "q": user, "a": answer}


def caption(clip: Clip, queries: Sequence[Query], anomaly: str | None) -> str:
    names = [f"a {tr.colour0} {tr.shape}" for tr in clip.tracks]
    parts = [f"The video shows {', '.join(names[:-1])} and {names[-1]}."]
    parts += [
        f"{q.sentence[0].upper()}{q.sentence[1:]} from {q.windows[0][0]:.1f} to {q.windows[0][1]:.1f} "
        "seconds."
        for q in queries
        if len(q.windows) == 1
    ]
    if anomaly:
        parts.append(f"Unexpectedly, {anomaly[0].lower()}{anomaly[1:]}")
    return " ".join(parts)

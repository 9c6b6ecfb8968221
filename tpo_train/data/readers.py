"""Annotation readers: one function per on-disk layout, registered by name for ``data.sources.*.format``.

Each reader is a generator of examples (in file order), :class:`BadRecord` s (a record it cannot use, naming
the file and line (JSONL) or item (JSON), never a silent skip) and notes (``str``): a source of millions of
records streams into its Arrow cache (``data/arrow.py``) without being held in memory. A reader may also
return a whole :class:`ReadResult` (``refcoco_jsonl``, ``asv2_video``: held in memory while the cache is
built, once); :func:`read_source` collects either kind into one. Layouts:

``cgdetr_jsonl`` (temporal grounding: QVHighlights, Charades-STA ``*_tvr_format``, and DiDeMo / QuerYD /
    HiREST / ActivityNet / TACoS / NLQ once converted): one JSON object per line with ``qid``, ``query``,
    ``duration`` (s), ``vid``, ``relevant_windows`` ``[[st, ed], …]`` (s); optional ``relevant_clip_ids`` +
    ``saliency_scores`` (one list of annotator scores per clip id, QVHighlights). Window ends past the
    duration are clipped to it and counted in the notes.
``refcoco_jsonl``: one referred object per line: ``image``, ``width``, ``height``, ``bbox`` = COCO
    ``[x, y, w, h]`` in pixels, and ``expression`` (str) or ``sentences`` (list: one example per sentence).
``asv2_video``: the ``refcoco_jsonl`` layout (AS-V2 converted to it), each image expanded into a static
    16-frame video for the mask head (stage 2: "expanding the ASv2 image dataset into videos").
``mevis``: a folder with ``meta_expressions.json`` (``{"videos": {vid: {"frames": [...], "expressions":
    {eid: {"exp", "anno_id": [...]}}}}}``) and ``mask_dict.json`` (``{anno_id: [RLE | null per frame]}``);
    frames live in ``<media>/<vid>/<frame>.jpg``.
``sav``: a folder of SA-V ``*_manual.json`` files: ``video_id``, ``video_height``, ``video_width`` and
    ``masklet`` (per annotated frame — every 4th frame of the 24 fps video — a list of per-object RLEs);
    one tracking example (no expression) per object.
``videochat2_it``: a JSON list of ``{"video" | "image": path, "QA": [{"i", "q", "a"}, …]}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional, Union

from tpo_eval.io import JSONLError, iter_jsonl
from tpo_eval.registry import Registry

from . import rle
from .examples import (
    BadRecord,
    ConversationExample,
    Example,
    MaskExample,
    Origin,
    ReadResult,
    RegionExample,
    TemporalExample,
    Turn,
)

READERS: Registry = Registry("data reader")
#: layouts whose examples feed the LM loss only (no task head)
CONVERSATION_FORMATS = ("videochat2_it",)


#: what a reader yields: an example, a refused record, or a note about the whole file
Item = Union[Example, BadRecord, str]


class _Bad(ValueError):
    """A record-level problem; caught per record and turned into a BadRecord."""


def _num(d: dict, key: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"{key!r} must be a number, got {v!r}")
    return float(v)


def _str(d: dict, key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise _Bad(f"{key!r} must be a non-empty string, got {v!r}")
    return v


def _jsonl(path: Path, bad: list[BadRecord]) -> Iterator[tuple[Origin, dict]]:
    def skip(e: JSONLError) -> None:  # a bad line is a counted bad record; the reader goes on
        bad.append(BadRecord(Origin(str(path), e.line), f"invalid JSON: {e.msg} at column {e.column}"))

    for i, obj in iter_jsonl(path, on_error=skip):
        if not isinstance(obj, dict):
            bad.append(BadRecord(Origin(str(path), i), f"expected an object, got {type(obj).__name__}"))
            continue
        yield Origin(str(path), i), obj


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise _Bad(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise _Bad(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None


@READERS.register("cgdetr_jsonl", "temporal grounding JSONL in the CG-DETR / moment_detr layout")
def read_cgdetr_jsonl(path: Path, source: str, media: str = "") -> Iterator[Item]:
    bad: list[BadRecord] = []  # few, and the report holds them all anyway: yielded at the end
    clipped = 0
    for origin, d in _jsonl(path, bad):
        try:
            qid, vid, query, duration = d.get("qid"), _str(d, "vid"), _str(d, "query"), _num(d, "duration")
            if qid is None:
                raise _Bad("missing 'qid'")
            if duration <= 0:
                raise _Bad(f"duration must be > 0, got {duration}")
            raw_w = d.get("relevant_windows")
            if not isinstance(raw_w, list) or not raw_w:
                raise _Bad(f"'relevant_windows' must be a non-empty list of [start, end], got {raw_w!r}")
            windows = []
            for w in raw_w:
                if not (isinstance(w, list) and len(w) == 2 and all(isinstance(x, (int, float)) for x in w)):
                    raise _Bad(f"window {w!r} is not [start, end] in seconds")
                st, ed = float(w[0]), float(w[1])
                if st < 0 or ed <= st or st >= duration:
                    raise _Bad(f"window {w!r} is empty, negative or starts after the duration {duration}")
                if ed > duration:
                    clipped += 1
                    ed = duration
                windows.append((st, ed))
            saliency = _saliency(d)
        except _Bad as e:
            bad.append(BadRecord(origin, str(e)))
            continue
        yield TemporalExample(
            uid=f"{source}/{qid}",
            source=source,
            origin=origin,
            qid=str(qid),
            vid=vid,
            query=query.strip(),
            duration=duration,
            windows=tuple(windows),
            saliency=saliency,
            media=f"{media}/{vid}" if media else None,
        )
    yield from bad
    if clipped:
        yield f"{clipped} window end(s) past the video duration clipped to it"


def _saliency(d: dict) -> dict[int, float]:
    ids, scores = d.get("relevant_clip_ids"), d.get("saliency_scores")
    if ids is None and scores is None:
        return {}
    if not isinstance(ids, list) or not isinstance(scores, list) or len(ids) != len(scores):
        raise _Bad("'relevant_clip_ids' and 'saliency_scores' must be lists of equal length")
    out = {}
    for c, s in zip(ids, scores):
        vals = s if isinstance(s, list) else [s]
        if not isinstance(c, int) or not all(isinstance(v, (int, float)) for v in vals):
            raise _Bad(f"bad saliency entry clip {c!r}: {s!r}")
        out[c] = float(sum(vals))
    return out


def _refcoco_records(path: Path, bad: list[BadRecord]) -> Iterator[tuple[Origin, dict, Any, list[str]]]:
    """(origin, record, normalised xyxy box, sentences) of each usable line of a ``refcoco_jsonl`` file."""
    for origin, d in _jsonl(path, bad):
        try:
            _str(d, "image")
            w, h = _num(d, "width"), _num(d, "height")
            box = d.get("bbox")
            if not (
                isinstance(box, list) and len(box) == 4 and all(isinstance(x, (int, float)) for x in box)
            ):
                raise _Bad(f"'bbox' must be [x, y, w, h] in pixels, got {box!r}")
            x, y, bw, bh = map(float, box)
            if w <= 0 or h <= 0 or bw <= 0 or bh <= 0 or x < 0 or y < 0 or x + bw > w + 1 or y + bh > h + 1:
                raise _Bad(f"bbox {box!r} is empty or outside the {int(w)}x{int(h)} image")
            sents = [d["expression"]] if "expression" in d else d.get("sentences")
            if (
                not isinstance(sents, list)
                or not sents
                or not all(isinstance(s, str) and s.strip() for s in sents)
            ):
                raise _Bad("needs 'expression' (string) or 'sentences' (non-empty list of strings)")
        except _Bad as e:
            bad.append(BadRecord(origin, str(e)))
            continue
        norm = (x / w, y / h, min(1.0, (x + bw) / w), min(1.0, (y + bh) / h))
        yield origin, d, norm, [s.strip() for s in sents]


@READERS.register("refcoco_jsonl", "referring boxes: image, width, height, COCO xywh bbox, expression(s)")
def read_refcoco_jsonl(path: Path, source: str, media: str = "") -> ReadResult:
    bad: list[BadRecord] = []
    out: list[RegionExample] = []
    for origin, d, norm, sents in _refcoco_records(path, bad):
        rid = d.get("id", origin.line)
        for k, s in enumerate(sents):
            out.append(
                RegionExample(
                    uid=f"{source}/{rid}/{k}",
                    source=source,
                    origin=origin,
                    image=f"{media}/{d['image']}" if media else d["image"],
                    expression=s,
                    box=norm,
                    width=int(d["width"]),
                    height=int(d["height"]),
                )
            )
    return ReadResult(str(path), tuple(out), tuple(bad))


#: frames of an AS-V2 image expanded into a video: the model's 16 input frames (seed Table 5 "Input Frames";
#: the released model's ``num_frames = 16``). The released frame sampler pads a clip shorter than 16 frames by
#: repeating its last frame, so a one-frame clip (an image) becomes the same frame 16 times: a static video.
ASV2_VIDEO_FRAMES = 16


@READERS.register("asv2_video", "AS-V2 referring boxes (refcoco_jsonl layout) as static 16-frame videos")
def read_asv2_video(path: Path, source: str, media: str = "") -> ReadResult:
    """Stage 2 mask data: "expanding the ASv2 image dataset into videos" (seed, Settings of Stage 2).

    Each referred object of an image becomes a referring-segmentation example on a video whose
    ``ASV2_VIDEO_FRAMES`` frames are all that image, prompted by its box. AS-V2 annotates boxes, not masks: a
    line's optional ``segmentation`` (COCO RLE) is the mask, else the box rectangle is (counted in the notes).
    Frames are read as ``<folder>/<stem>.jpg``, so the image must be a ``.jpg``.
    """
    bad: list[BadRecord] = []
    out: list[MaskExample] = []
    box_masks = 0
    for origin, d, norm, sents in _refcoco_records(path, bad):
        image = Path(f"{media}/{d['image']}" if media else d["image"])
        w, h = int(d["width"]), int(d["height"])
        seg = d.get("segmentation")
        if image.suffix != ".jpg":
            bad.append(BadRecord(origin, f"image {d['image']!r}: frames are read as <stem>.jpg; need a .jpg"))
            continue
        if seg is not None and not (isinstance(seg, dict) and seg.get("size") == [h, w] and "counts" in seg):
            bad.append(BadRecord(origin, f"'segmentation' must be a COCO RLE of size [{h}, {w}]"))
            continue
        if seg is None:
            box_masks += 1
            seg = rle.box_rle(norm, h, w)
        rid = d.get("id", origin.line)
        for k, s in enumerate(sents):
            out.append(
                MaskExample(
                    uid=f"{source}/{rid}/{k}",
                    source=source,
                    origin=origin,
                    video=str(image.parent),
                    expression=s,
                    frames=(image.stem,) * ASV2_VIDEO_FRAMES,
                    masks=((seg,),) * ASV2_VIDEO_FRAMES,
                    height=h,
                    width=w,
                    box=norm,
                    box_frame=0,
                )
            )
    notes = (f"{box_masks} object(s) without 'segmentation': mask = box rectangle",) if box_masks else ()
    return ReadResult(str(path), tuple(out), tuple(bad), notes)


def _first_box(masks: list[tuple], where: str) -> tuple[tuple[float, float, float, float], int, int, int]:
    """(box, height, width, frame index) of the first frame whose (union) mask is non-empty."""
    for k, frame in enumerate(masks):
        if frame:
            m = None
            for r in frame:
                try:
                    d = rle.decode(r)
                except (KeyError, TypeError, ValueError) as e:
                    raise _Bad(f"{where}: undecodable RLE ({e})") from None
                m = d if m is None else (m | d)
            box = rle.bbox_xyxy(m)
            if box is not None:
                return box, m.shape[0], m.shape[1], k
    raise _Bad(f"{where}: no frame has a non-empty mask")


def _mask_example(
    source: str,
    key: str,
    origin: Origin,
    media: str,
    vid: str,
    expression: Optional[str],
    frames: tuple[str, ...],
    per_frame: list[tuple],
    where: str,
) -> MaskExample:
    """A referring/tracking mask example prompted by the box of its first non-empty frame (raises _Bad)."""
    box, h, w, k = _first_box(per_frame, where)
    return MaskExample(
        uid=f"{source}/{vid}/{key}",
        source=source,
        origin=origin,
        video=f"{media}/{vid}" if media else vid,
        expression=expression,
        frames=frames,
        masks=tuple(per_frame),
        height=h,
        width=w,
        box=box,
        box_frame=k,
    )


@READERS.register("mevis", "MeViS layout: meta_expressions.json + mask_dict.json (RLE)")
def read_mevis(path: Path, source: str, media: str = "") -> Iterator[Item]:
    meta_p, mask_p = path / "meta_expressions.json", path / "mask_dict.json"
    meta, masks = _load_json(meta_p), _load_json(mask_p)
    item = 0
    for vid, v in (meta.get("videos") or {}).items():
        frames = tuple(str(f) for f in v.get("frames", []))
        for eid, e in (v.get("expressions") or {}).items():
            item += 1
            origin = Origin(str(meta_p), item)
            try:
                exp, ids = e.get("exp"), e.get("anno_id")
                if not isinstance(exp, str) or not exp.strip() or not isinstance(ids, list) or not ids:
                    raise _Bad(f"video {vid} expression {eid}: needs 'exp' and a non-empty 'anno_id' list")
                missing = [a for a in ids if str(a) not in masks]
                if missing:
                    raise _Bad(f"video {vid} expression {eid}: anno_id {missing} not in {mask_p.name}")
                per_obj = [masks[str(a)] for a in ids]
                if any(len(m) != len(frames) for m in per_obj):
                    raise _Bad(f"video {vid} expression {eid}: mask count differs from {len(frames)} frames")
                per_frame = [tuple(m[i] for m in per_obj if m[i]) for i in range(len(frames))]
                where = f"video {vid} expression {eid}"
                exp = exp.strip()
                ex = _mask_example(source, str(eid), origin, media, vid, exp, frames, per_frame, where)
            except _Bad as err:
                yield BadRecord(origin, str(err))
                continue
            yield ex


@READERS.register("sav", "SA-V *_manual.json masklets → box-prompted tracking examples")
def read_sav(path: Path, source: str, media: str = "") -> Iterator[Item]:
    for f in sorted(path.glob("*_manual.json")):
        try:
            d = _load_json(f)
            vid, masklet = _str(d, "video_id"), d.get("masklet")
            if not isinstance(masklet, list) or not masklet:
                raise _Bad("'masklet' must be a non-empty list (frames × objects)")
            n_obj = len(masklet[0])
            if any(len(fr) != n_obj for fr in masklet):
                raise _Bad("'masklet' frames list different numbers of objects")
        except _Bad as e:
            yield BadRecord(Origin(str(f), 1), str(e))
            continue
        frames = tuple(f"{4 * i:05d}" for i in range(len(masklet)))  # annotated every 4th frame (6 fps of 24)
        for obj in range(n_obj):
            per_frame = [(fr[obj],) if fr[obj] else () for fr in masklet]
            origin = Origin(str(f), obj + 1)
            try:
                where = f"object {obj}"
                ex = _mask_example(source, str(obj), origin, media, vid, None, frames, per_frame, where)
            except _Bad as e:
                yield BadRecord(origin, str(e))
                continue
            yield ex


@READERS.register("videochat2_it", "VideoChat2-IT conversations: [{video|image, QA: [{i, q, a}]}]")
def read_videochat2_it(path: Path, source: str, media: str = "") -> Iterator[Item]:
    items = _load_json(path)
    if not isinstance(items, list):
        raise _Bad("top level must be a JSON list")
    for k, d in enumerate(items, 1):
        origin = Origin(str(path), k)
        try:
            if not isinstance(d, dict):
                raise _Bad(f"item must be an object, got {type(d).__name__}")
            kind: Optional[str] = "video" if "video" in d else "image" if "image" in d else None
            media_path = _str(d, kind) if kind else None
            qa = d.get("QA")
            if not isinstance(qa, list) or not qa:
                raise _Bad("'QA' must be a non-empty list of {i, q, a}")
            turns = []
            for t in qa:
                if not isinstance(t, dict) or not isinstance(t.get("a"), str) or not t["a"].strip():
                    raise _Bad(f"turn {t!r} needs a non-empty answer 'a'")
                q, i = t.get("q", ""), t.get("i", d.get("i", ""))
                if not isinstance(q, str) or not isinstance(i, str) or not (q.strip() or i.strip()):
                    raise _Bad(f"turn {t!r} needs a question 'q' or an instruction 'i'")
                turns.append(Turn(question=q.strip(), answer=t["a"].strip(), instruction=i.strip()))
        except _Bad as e:
            yield BadRecord(origin, str(e))
            continue
        full = f"{media}/{media_path}" if media and media_path else media_path
        yield ConversationExample(
            uid=f"{source}/{k}", source=source, origin=origin, media=full, media_kind=kind, turns=tuple(turns)
        )


def iter_source(fmt: str, path: Path, source: str, media: str = "") -> Iterator[Item]:
    """Stream reader ``fmt`` over ``path``; a file-level failure becomes one bad record (line 1) rather than a
    crash. A reader that returns a whole :class:`ReadResult` is streamed from it."""
    reader: Callable[..., Union[ReadResult, Iterator[Item]]] = READERS.get(fmt)
    if not path.exists():
        yield BadRecord(Origin(str(path), 0), "file or folder not found")
        return
    try:
        out = reader(path, source, media)
        if isinstance(out, ReadResult):
            yield from out.examples
            yield from out.bad
            yield from out.notes
        else:
            # the readers raise a file-level _Bad only before their first item (reading the whole file)
            yield from out
    except _Bad as e:
        yield BadRecord(Origin(str(path), 1), str(e))


def read_source(fmt: str, path: Path, source: str, media: str = "") -> ReadResult:
    """All of reader ``fmt``'s output on ``path`` in memory (tests and small files; training streams it)."""
    examples: list[Example] = []
    bad: list[BadRecord] = []
    notes: list[str] = []
    for item in iter_source(fmt, path, source, media):
        (bad if isinstance(item, BadRecord) else notes if isinstance(item, str) else examples).append(item)
    return ReadResult(str(path), tuple(examples), tuple(bad), tuple(notes))

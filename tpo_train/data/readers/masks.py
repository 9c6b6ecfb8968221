"""Readers of the mask layouts (segmentation and tracking examples for the SAM2 head): ``asv2_video`` (AS-V2
images as static videos), ``mevis`` (referring video segmentation) and ``sav`` (SA-V tracking), with the
helper that prompts each example by the box of its first non-empty frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Optional

from .. import rle
from ..examples import BadRecord, MaskExample, Origin, ReadResult
from .base import READERS, Item, _Bad, _load_json, _str
from .grounding import _refcoco_records

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

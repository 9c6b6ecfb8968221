"""Annotation readers: one function per on-disk layout, registered by name for ``data.sources.*.format``.

Each reader is a generator of examples (in file order), :class:`BadRecord` s (a record it cannot use, naming
the file and line (JSONL) or item (JSON), never a silent skip) and notes (``str``): a source of millions of
records streams into its Arrow cache (``data/arrow.py``) without being held in memory. A reader may also
return a whole :class:`ReadResult` (``refcoco_jsonl``, ``asv2_video``: held in memory while the cache is
built, once); :func:`read_source` collects either kind into one.

Where they live (one module per family of layouts, sharing ``base``): ``base`` — the ``READERS`` registry, the
record checks and :func:`iter_source` / :func:`read_source`; ``grounding`` — ``cgdetr_jsonl``,
``refcoco_jsonl``; ``masks`` — ``asv2_video``, ``mevis``, ``sav``; ``conversation`` — ``videochat2_it``. This
package imports them all, so importing ``tpo_train.data.readers`` registers every paper layout. The Arrow
cache key hashes every module of this package (``data/arrow.py``: ``code_version``). Layouts:

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

from .base import READERS, Item, iter_source, read_source
from .conversation import CONVERSATION_FORMATS, read_videochat2_it
from .grounding import read_cgdetr_jsonl, read_refcoco_jsonl
from .masks import ASV2_VIDEO_FRAMES, read_asv2_video, read_mevis, read_sav

__all__ = [
    "ASV2_VIDEO_FRAMES",
    "CONVERSATION_FORMATS",
    "READERS",
    "Item",
    "iter_source",
    "read_asv2_video",
    "read_cgdetr_jsonl",
    "read_mevis",
    "read_refcoco_jsonl",
    "read_sav",
    "read_source",
    "read_videochat2_it",
]

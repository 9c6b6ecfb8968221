"""``auto`` (the default with ``--ckpt``): the adapter is chosen from what the checkpoint folder holds.

Only small JSON files are read (no weights, no model code, and never ``tpo_train``):

* ``tpo_model.json`` — the manifest of a TPO model folder written by tpo-train → ``tpo``;
* ``config.json`` with an ``auto_map`` — a remote-code checkpoint, which needs ``--trust-remote-code``:
  ``AutoModel → …MultiModalLLM_PT`` (VideoChat-TPO) → ``videochat_tpo``; an ``AutoModelForImageTextToText``
  entry → ``hf`` (which then runs that code);
* ``config.json`` whose ``model_type`` transformers maps to an image-text-to-text model → ``hf``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

from .base import ModelError, VideoModel

TPO_MANIFEST = "tpo_model.json"  # = tpo_train.model.state.SPEC_FILE (tpo_eval never imports tpo_train)
VIDEOCHAT_TPO_CLASS = "MultiModalLLM_PT"


def detect(ckpt: str | Path) -> tuple[str, str, bool]:
    """``(adapter name, why, needs remote code)`` for a checkpoint folder; ModelError when none fits."""
    p = Path(ckpt)
    if not p.is_dir():
        raise ModelError(f"--ckpt {p}: no such folder")
    if (p / TPO_MANIFEST).is_file():
        return "tpo", f"{p} holds {TPO_MANIFEST} (a TPO model folder from tpo-train)", False
    cfg_file = p / "config.json"
    if not cfg_file.is_file():
        found = sorted(x.name for x in p.iterdir())[:10]
        raise ModelError(
            f"--model auto cannot read {p}: neither {TPO_MANIFEST} nor config.json (found: "
            f"{found}); pass --model NAME (see `tpo-eval ls`)"
        )
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(f"{cfg_file} is not valid JSON: {e}") from e
    auto_map = dict(cfg.get("auto_map") or {})
    if auto_map:
        targets = [str(v if isinstance(v, str) else v[0]) for v in auto_map.values()]
        if any(t.endswith("." + VIDEOCHAT_TPO_CLASS) for t in targets) or VIDEOCHAT_TPO_CLASS in (
            cfg.get("architectures") or []
        ):
            why = f"{p} is a VideoChat-TPO remote-code checkpoint ({auto_map.get('AutoModel')})"
            return "videochat_tpo", why, True
        if "AutoModelForImageTextToText" in auto_map:
            return (
                "hf",
                f"{p} is a remote-code image-text-to-text checkpoint "
                f"({auto_map['AutoModelForImageTextToText']})",
                True,
            )
        raise ModelError(
            f"--model auto: {p} ships remote code ({', '.join(sorted(auto_map))}) that no "
            "adapter knows; pass --model NAME (see `tpo-eval ls`)"
        )
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES as ITT

    mtype = cfg.get("model_type")
    if mtype in ITT:
        return "hf", f"{p} is a transformers image-text-to-text model ({mtype} → {ITT[mtype]})", False
    raise ModelError(
        f"--model auto: {cfg_file} has model_type {mtype!r}, not an image-text-to-text model "
        "that transformers knows, and no auto_map; pass --model NAME (see `tpo-eval ls`)"
    )


def auto_model(variant: Optional[str] = None, ckpt: Optional[str] = None, **kwargs: Any) -> VideoModel:
    """Build the adapter :func:`detect` names (a registry entry like the adapter classes)."""
    from .base import build_model
    from .videochat_tpo import remote_code_line

    if not ckpt:
        raise ModelError("--model auto needs --ckpt DIR (or name an adapter with --model, see `tpo-eval ls`)")
    name, why, remote = detect(ckpt)
    trust = str(kwargs.get("trust_remote_code", "false")).lower() == "true"
    if remote and not trust:
        cfg = json.loads((Path(ckpt) / "config.json").read_text(encoding="utf-8"))
        raise ModelError(remote_code_line(Path(ckpt), dict(cfg.get("auto_map") or {})))
    print(f"[tpo-eval] --model auto: {why}: using the {name!r} adapter", file=sys.stderr)
    return build_model(name + (f":{variant}" if variant else ""), ckpt=ckpt, **kwargs)

"""Base-model presets: the published architecture numbers of a base MLLM, with no weights.

``model.base`` may name a preset instead of a checkpoint folder. ``tpo-train plan`` builds a preset on the
meta device (no memory) so the real-size structure — trainable parameters per Table-5 group — can be checked
offline.
``tiny`` is a preset with weights: a random tiny LLaVA-OneVision built by :mod:`tpo_train.tiny` into a
cache folder (``$TPO_TRAIN_CACHE``, default ``~/.cache/tpo_train``) so CPU tests can run the whole recipe.
``demo_base`` is the tiny model pretrained on a synthetic world (:mod:`tpo_train.demo_base`), shipped in the
package (``tpo_train/assets/demo_base``, under 1 MB): the base the demo's TPO and baselines start from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .arch import LLAVA_OV_7B, PRESETS, llava_ov_config  # noqa: F401 - re-exported (the presets' numbers)

BUILDABLE: dict[str, Callable[[Path, int], Path]] = {}


def _build_tiny(out: Path, seed: int) -> Path:
    from .tiny import build_tiny_llava_ov

    return build_tiny_llava_ov(out, seed=seed)


BUILDABLE["tiny"] = _build_tiny
#: presets whose weights ship with the package: name → folder under tpo_train/assets
SHIPPED = {"demo_base": "demo_base"}


def is_preset(name: str) -> bool:
    return name in PRESETS or name in BUILDABLE or name in SHIPPED


def shipped(name: str) -> Path:
    """The package's folder of the shipped preset ``name`` (raises ValueError, naming the command that
    builds it, when the folder is missing)."""
    from importlib.resources import files

    folder = Path(str(files("tpo_train").joinpath("assets", SHIPPED[name])))
    if not (folder / "model.safetensors").is_file():
        raise ValueError(
            f"model.base={name!r}: {folder} holds no model.safetensors; build it with "
            f"`tpo-train demo-base --out {folder}` (docs/SYNTH.md)"
        )
    return folder


def cache_dir() -> Path:
    return Path(os.environ.get("TPO_TRAIN_CACHE", Path.home() / ".cache" / "tpo_train"))


def materialize(base: str, seed: int = 0) -> Path:
    """A folder ``from_pretrained`` can load: ``base`` itself, or a built ``tiny`` checkpoint (cached).

    Raises:
        ValueError: for a weights-less preset (``llava-ov-7b``): point ``model.base`` at a local checkpoint.
    """
    if base in SHIPPED:
        return shipped(base)
    if base in BUILDABLE:
        out = cache_dir() / f"{base}-seed{seed}"
        if not (out / "model.safetensors").is_file():
            # build beside the target and rename: concurrent ranks or tests never see a half-written folder
            tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
            BUILDABLE[base](tmp, seed)
            try:
                tmp.rename(out)
            except OSError:  # another process won the race; its folder is identical (seeded build)
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        return out
    if base in PRESETS:
        raise ValueError(
            f"model.base={base!r} is an architecture preset without weights (good for `tpo-train plan`); "
            f"to train, set model.base to a local checkpoint folder, e.g. a download of "
            f"llava-hf/llava-onevision-qwen2-7b-ov-hf"
        )
    return Path(base)

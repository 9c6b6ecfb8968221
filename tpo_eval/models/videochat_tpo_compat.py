"""Loading the released VideoChat-TPO code as it is, offline, on today's transformers: the hub switched off
while it builds, its ``third_party`` folder on ``sys.path``, and the transformers 4.x names it needs put back.

Separate from ``videochat_tpo_io.py`` (what the model code calls at inference) because these are patches of
the environment around loading, kept in one place so they are easy to drop when the release is updated.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """No hub request while the checkpoint's code builds itself: a missing file fails, never downloads."""
    import huggingface_hub.constants as hc

    old = hc.HF_HUB_OFFLINE
    hc.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hc.HF_HUB_OFFLINE = old


@contextlib.contextmanager
def on_sys_path(folder: Path) -> Iterator[None]:
    """The release imports ``third_party.*`` absolutely: its folder must be on ``sys.path`` (tpo.md §9.2)."""
    for name in [m for m in sys.modules if m == "third_party" or m.startswith("third_party.")]:
        del sys.modules[name]  # another checkpoint's copy must not answer for this one
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


def legacy_transformers_names() -> None:
    """The release was written for transformers 4.38: its ``modeling_qformer.py`` imports three helpers from
    ``transformers.modeling_utils`` that transformers 5 moved to ``pytorch_utils`` or dropped. They are put
    back where that file looks (a no-op on versions that still have them).
    ``find_pruneable_heads_and_indices``
    only serves head pruning, which inference never calls: its stand-in refuses."""
    import transformers.modeling_utils as mu
    import transformers.pytorch_utils as pu

    for name in ("apply_chunking_to_forward", "prune_linear_layer"):
        if not hasattr(mu, name) and hasattr(pu, name):
            setattr(mu, name, getattr(pu, name))
    if not hasattr(mu, "find_pruneable_heads_and_indices"):

        def find_pruneable_heads_and_indices(*args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("head pruning is not supported for the released VideoChat-TPO code")

        mu.find_pruneable_heads_and_indices = find_pruneable_heads_and_indices


def _invert_attention_mask(self: Any, mask: Any) -> Any:
    """1 = attend → 0, 0 = masked → the dtype's minimum, broadcast over heads (and queries for a 2-d mask)."""
    ext = mask[:, None, :, :] if mask.dim() == 3 else mask[:, None, None, :]
    ext = ext.to(self.dtype)
    import torch

    return (1.0 - ext) * torch.finfo(self.dtype).min


def _get_head_mask(
    self: Any, head_mask: Any, num_hidden_layers: int, is_attention_chunked: bool = False
) -> Any:
    if head_mask is not None:
        raise NotImplementedError("head masks are not supported for the released VideoChat-TPO code")
    return [None] * num_hidden_layers


def legacy_model_classes(cls: Any) -> None:
    """What the release's models (its Q-Former BERT, the MLLM itself) take from transformers 4.x and 5
    removed:
    ``all_tied_weights_keys`` (5 sets it in ``post_init``, which they call late or never; an empty class-level
    mapping is right, nothing of theirs is tied) and the ``invert_attention_mask`` / ``get_head_mask`` helpers
    of 4.x's ``ModuleUtilsMixin`` (re-implemented above, for inference). No-ops where they exist."""
    from transformers import PreTrainedModel

    package = cls.__module__.rpartition(".")[0]
    for name, mod in list(sys.modules.items()):
        if name != package and not name.startswith(package + "."):
            continue
        for obj in vars(mod).values():
            if not (isinstance(obj, type) and issubclass(obj, PreTrainedModel) and obj.__module__ == name):
                continue
            if "all_tied_weights_keys" not in vars(obj):
                obj.all_tied_weights_keys = {}
            for attr, fn in (
                ("invert_attention_mask", _invert_attention_mask),
                ("get_head_mask", _get_head_mask),
            ):
                if not hasattr(obj, attr):
                    setattr(obj, attr, fn)

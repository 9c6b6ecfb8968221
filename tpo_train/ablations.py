"""Model-side pieces of the paper's ablations.

``model.heads.temporal.kind: mlp`` — "replace by simple head" (main paper Table 11): the DETR-style moment
decoder is replaced by a two-layer MLP from the ``<temp>`` state to one span. The kind is part of the model
spec (``TemporalHeadSpec.kind``), so ``TPOModel.build`` makes the MLP head itself
(``tpo_train/heads/temporal_mlp.py``, chosen by the temporal task's head factory in
``tpo_train/tasks/temporal.py``), checkpoints record it in ``tpo_model.json``, and
``tpo_train.model.load_tpo_model`` — hence the ``tpo`` eval adapter — rebuilds it. ``MLPTemporalHead`` is
re-exported here for existing imports.

The other ablations are data/config only: ``ablation_qvh_only`` (stage-2 temporal data = QVHighlights only,
seed Table 3), ``ablation_textualized`` (``data.textualize: true``, no heads, in every stage; seed Table 1 /
Table 11), ``ablation_conversation_only`` (stage 3 on conversation data only, from the base model),
``ablation_no_reasoning`` (stage 3 without the YouCook2/ActivityNet reasoning data; Table 11) and the heads /
data components of Table 12 (``ablation_heads_t``, ``_r``, ``_m``, ``_rm`` and ``ablation_no_conversation``:
stage 2 and stage 3 part 1 with only those heads and their data). All but ``conversation_only`` are chains of
stage configs (``tpo_train/chain.py``); ``tpo-train plan NAME`` prints each stage next to the paper's Table 6.
"""

from __future__ import annotations

from typing import Any

from .heads.base import head_key
from .heads.temporal_mlp import MLPTemporalHead

__all__ = ["MLPTemporalHead", "apply_ablations"]


def apply_ablations(model: Any, cfg: Any) -> None:
    """Check that a built model has the heads the config's ablation asks for.

    Nothing is swapped any more: the head kind travels in the model spec, so the model built from a config
    already has the right head. A mismatch means the model was built from another spec than ``cfg``'s.
    """
    from .stages import temporal_kind

    if "temporal" in model.heads:
        want = f"temporal.{temporal_kind(cfg)}"
        have = head_key("temporal", model.spec.heads["temporal"])
        if want != have:
            raise ValueError(
                f"the config asks for a {want} head but the model was built with {have} "
                f"(build it from the config's head specs: tpo_train.stages.head_specs)"
            )

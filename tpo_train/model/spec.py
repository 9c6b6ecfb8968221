"""Settings of a TPO model (frozen dataclasses): LoRA, the built-in heads' specs, and the model spec.

Tokens (``NEW_TOKENS``, owned by ``tpo_train.tasks``): per task a *trigger* that the LM learns to generate
and a *placeholder* whose input embedding is replaced by the task's learnable token; plus ``<track_box>``, an
input placeholder for a user-given box (encoded by a small MLP). Each task's pair is its task object's.

A :class:`TPOModelSpec` is saved as JSON next to a checkpoint (``to_dict``/``from_dict``) so the model can be
rebuilt exactly; head specs are read back by the registered task of each head. ``tpo_train/config.py`` maps
the YAML training configs onto these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from ..tasks.base import BOX_INPUT_TOKEN, BUILTIN_TASKS, NEW_TOKENS, get_task
from ..tasks.base import TASKS as TASK_REGISTRY

#: the tasks every model has tokens for (a registered task adds its own: tpo_train.tasks)
TASKS = BUILTIN_TASKS
_MOVED = (BOX_INPUT_TOKEN, NEW_TOKENS)  # now tpo_train.tasks'; imports from here keep working

DEFAULT_LORA_TARGETS = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
    "lm_head",
)


@dataclass(frozen=True)
class LoraSpec:
    """LoRA on the language model only (names are module-name suffixes inside the LM, plus ``lm_head``)."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    targets: tuple[str, ...] = DEFAULT_LORA_TARGETS


@dataclass(frozen=True)
class RegionHeadSpec:
    """Two-layer MLP hidden → hidden/2 → 4 (normalised xyxy). ``loss``: ``l1_giou`` (code) or ``mse``
    (paper)."""

    loss: str = "l1_giou"
    l1_weight: float = 2.0
    giou_weight: float = 0.2
    hidden: Optional[int] = None  # default: LM hidden size // 2


TEMPORAL_KINDS = ("detr", "mlp")
TOKEN_INITS = ("randn", "scaled")


@dataclass(frozen=True)
class TemporalHeadSpec:
    """The temporal head. ``kind``: ``detr`` (default) = the DETR-style moment decoder (CG-DETR spirit; every
    field
    below except ``mlp_hidden``); ``mlp`` = the "simple head" ablation of paper Table 11, a two-layer MLP from
    the ``<temp>`` state to one span (uses ``mlp_hidden``, default LM hidden // 2, and ``w_span``/``w_giou``).
    Feature dims ``None`` = the LM hidden size (model features). A spec saved before ``kind`` existed reads as
    ``detr``, which is what those checkpoints hold.

    ``video_features`` / ``text_features`` name what the head is fed (``tpo_train.heads.temporal_features``):
    ``model`` (the base model's own encoders), ``precomputed`` (feature files; dims in ``v_feat_dim`` /
    ``t_feat_dim``) or, for video, a registered extractor such as ``rgb_hist``. Evaluation computes exactly
    these or refuses; a spec saved before these fields existed reads as ``precomputed`` where it declared
    dims."""

    kind: str = "detr"
    mlp_hidden: Optional[int] = None
    v_feat_dim: Optional[int] = None
    t_feat_dim: Optional[int] = None
    video_features: Optional[str] = None  # None: "precomputed" when v_feat_dim is given, else "model"
    text_features: Optional[str] = None  # None: "precomputed" when t_feat_dim is given, else "model"
    tef: bool = True  # append [t/T, (t+1)/T] to each clip feature
    # structure: the released TPO CGDETRConfig (3/3/2 layers, 2 dummy layers, 45 dummies, 10 prompts, 1 mixed)
    hidden: int = 256
    nheads: int = 8
    enc_layers: int = 3
    t2v_layers: int = 2
    dec_layers: int = 3
    dummy_layers: int = 2
    moment_layers: int = 1  # moment-token encoder (training only: ms_align / distill)
    sent_layers: int = 1  # sentence-token encoder (training only)
    num_queries: int = 10
    num_dummies: int = 45
    total_prompts: int = 10  # global prompt bank
    num_prompts: int = 1  # prompts mixed into the global token (top-k by clip similarity)
    dropout: float = 0.1
    input_dropout: float = 0.5
    # matching costs and loss weights (CG-DETR/TPO values; see docs/TRAINING.md "Temporal objective")
    cost_span: float = 10.0
    cost_giou: float = 1.0
    cost_class: float = 4.0
    w_span: float = 10.0
    w_giou: float = 1.0
    w_label: float = 4.0
    w_saliency: float = 4.0  # lw_saliency: scales every saliency term, the attention ones included
    w_wattn: float = 1.0  # lw_wattn: the same terms on the text-to-video word-attention mass
    w_sal_hinge: float = 1.0  # switches (1 = on as CG-DETR, 0 = off) of the saliency terms, applied to
    w_sal_rank: float = 1.0  # both the saliency scores and the attention mass
    w_sal_neg: float = 1.0  # negative-pair branch (query shifted by one in the batch)
    w_attn_bce: float = 1.0  # BCE(attention mass, binary clip label), attention group only
    w_ms_align: float = 1.0
    w_distill: float = 1.0
    w_ortho: float = 1.0  # CG-DETR weights it with lw_distill
    eos_coef: float = 0.1
    saliency_margin: float = 0.2
    temperature: float = 0.5  # tau of the rank-contrastive term
    rank_levels: int = 11  # thresholds 1..rank_levels; the sum is divided by rank_levels + 1
    saliency_pairs: int = 2  # (pos, neg) clip pairs sampled per item for the hinge (graded: 1 hard + 1 easy)
    aux_loss: bool = True
    # decode: rank windows by foreground prob + this × (mean saliency inside − outside the window); 0 = by the
    # foreground prob alone (CG-DETR). The head's own two outputs, so evaluation decodes as the spec says
    decode_saliency: float = 0.0

    def __post_init__(self) -> None:
        if self.video_features is None:
            object.__setattr__(self, "video_features", "precomputed" if self.v_feat_dim else "model")
        if self.text_features is None:
            object.__setattr__(self, "text_features", "precomputed" if self.t_feat_dim else "model")
        if self.kind not in TEMPORAL_KINDS:
            raise ValueError(f"temporal head kind {self.kind!r} is not one of {', '.join(TEMPORAL_KINDS)}")


@dataclass(frozen=True)
class MaskHeadSpec:
    """Frozen SAM2 + trainable adapter. ``sam2_config`` is a sam2 package config name; ``sam2_checkpoint`` a
    local file (None = random weights, for tests). ``image_size`` overrides SAM2's input size (1024 by
    default)."""

    sam2_config: str = "configs/sam2.1/sam2.1_hiera_t.yaml"
    sam2_checkpoint: Optional[str] = None
    image_size: Optional[int] = None
    hydra_overrides: tuple[str, ...] = ()
    mask_loss: bool = False  # BCE + Dice through the frozen decoder (not in the public code)
    w_embed: float = 1.0
    w_box: float = 1.0
    w_bce: float = 1.0
    w_dice: float = 1.0


@dataclass(frozen=True)
class TPOModelSpec:
    """Everything needed to rebuild a TPO model around a base checkpoint.

    ``heads`` maps task → head spec; only listed tasks get a head (all tokens are always added).
    ``head_weights`` are the weights of each head's loss in the total loss (TPO scales the temporal loss
    0.05).
    ``train_new_rows``: also learn the new tokens' embedding/lm_head rows (as separate delta tables, so the
    base
    vocabulary stays bit-identical). Public TPO keeps them at the mean and learns triggers via ``lm_head``
    LoRA. ``token_init``: the task tokens' initial draw — ``randn`` (std 1, the released TPO code's
    ``nn.Parameter(torch.randn(1, 1, 4096))``) or ``scaled`` (std of the base input-embedding table, so the LM
    starts from an in-range input). Specs saved before this field existed read as ``scaled``, how they were
    built.
    """

    base: str
    lora: Optional[LoraSpec] = field(default_factory=LoraSpec)
    heads: Mapping[str, Any] = field(default_factory=dict)
    head_weights: Mapping[str, float] = field(
        default_factory=lambda: {"temporal": 0.05, "region": 1.0, "mask": 1.0}
    )
    train_new_rows: bool = False
    freeze_vision: bool = True
    freeze_projector: bool = True
    seed: int = 0
    token_init: str = "randn"

    def __post_init__(self) -> None:
        if self.token_init not in TOKEN_INITS:
            raise ValueError(
                f"TPOModelSpec.token_init {self.token_init!r} is not one of {', '.join(TOKEN_INITS)}"
            )
        unknown = [t for t in self.heads if t not in TASK_REGISTRY]
        if unknown:
            raise ValueError(
                f"TPOModelSpec.heads: unknown task(s) {sorted(unknown)}; known: {TASK_REGISTRY.names()}"
            )
        for task, spec in self.heads.items():
            want = get_task(task).spec_type
            if not isinstance(spec, want):
                raise TypeError(
                    f"TPOModelSpec.heads[{task!r}] must be a {want.__name__}, got {type(spec).__name__}"
                )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["heads"] = {k: dataclasses.asdict(v) for k, v in self.heads.items()}
        d["head_weights"] = dict(self.head_weights)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TPOModelSpec:
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        bad = set(d) - known
        if bad:
            raise ValueError(f"TPO model spec: unknown key(s) {sorted(bad)}; known: {sorted(known)}")
        d.setdefault(
            "token_init", "scaled"
        )  # written before the choice was recorded: built with the scaled draw
        if d.get("lora") is not None:
            lora = dict(d["lora"])
            lora["targets"] = tuple(lora.get("targets", DEFAULT_LORA_TARGETS))
            d["lora"] = LoraSpec(**lora)
        heads = {}
        for task, hs in dict(d.get("heads", {})).items():
            if task not in TASK_REGISTRY:
                raise ValueError(f"TPO model spec: unknown head {task!r}; known: {TASK_REGISTRY.names()}")
            heads[task] = get_task(task).spec_from_dict(dict(hs))
        d["heads"] = heads
        return cls(**d)

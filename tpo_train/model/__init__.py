"""TPO model: base-MLLM adapter, special tokens, LoRA, task tokens, routing, generation and state dicts.

Public API (see tpo_train/README.md, "Model API")::

    from tpo_train.model import TPOModel, TPOModelSpec, collate, save_tpo_model, load_tpo_model
"""

from ..tasks.base import BOX_INPUT_TOKEN, NEW_TOKENS
from .base import EncodedExample, MLLMAdapter, load_adapter
from .batch import TPOBatch, collate
from .generate import Generation, generate
from .spec import (
    TASKS,
    LoraSpec,
    MaskHeadSpec,
    RegionHeadSpec,
    TemporalHeadSpec,
    TPOModelSpec,
)
from .state import (
    load_tpo_model,
    load_trainable_state_dict,
    read_tpo_spec,
    save_tpo_model,
    trainable_state_dict,
)
from .tpo import DEFAULT_TRAINABLE, TPOModel, TPOOutput

__all__ = [
    "BOX_INPUT_TOKEN",
    "DEFAULT_TRAINABLE",
    "EncodedExample",
    "Generation",
    "LoraSpec",
    "MLLMAdapter",
    "MaskHeadSpec",
    "NEW_TOKENS",
    "RegionHeadSpec",
    "TASKS",
    "TPOBatch",
    "TPOModel",
    "TPOModelSpec",
    "TPOOutput",
    "TemporalHeadSpec",
    "collate",
    "generate",
    "load_adapter",
    "load_tpo_model",
    "load_trainable_state_dict",
    "read_tpo_spec",
    "save_tpo_model",
    "trainable_state_dict",
]

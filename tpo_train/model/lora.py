"""LoRA on the language model through peft (layers injected in place: the HF model object stays the model)."""

from __future__ import annotations

from torch import nn

from .base import MLLMAdapter
from .spec import LoraSpec


def apply_lora(adapter: MLLMAdapter, spec: LoraSpec, seed: int = 0) -> list[str]:
    """Inject LoRA (r, α, dropout) into the LM modules named by ``spec.targets``; return their module names.

    Every non-LoRA parameter of the model is frozen here; stages unfreeze what they train.
    """
    import torch
    from peft import LoraConfig, inject_adapter_in_model

    names = adapter.lora_target_modules(spec.targets)
    cfg = LoraConfig(
        r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout, target_modules=names, bias="none"
    )
    with torch.random.fork_rng():  # LoRA A init is random: make it a function of the model seed
        torch.manual_seed(seed)
        inject_adapter_in_model(cfg, adapter.model)
    for name, p in adapter.model.named_parameters():
        p.requires_grad = "lora_" in name
    return names


def lora_named_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if "lora_" in n]


def merge_lora(model: nn.Module) -> int:
    """Fold every LoRA update into its base layer and put the plain layer back (inference only: the LoRA
    parameters are gone afterwards). Generation on a tiny LM spent half its time in peft's per-layer
    wrapper; the merged model computes ``x·(W + s·BA)ᵀ`` in one matmul, equal up to float rounding.
    Returns the number of layers merged."""
    from peft.tuners.lora import LoraLayer

    swaps = [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]
    for name, module in swaps:
        module.merge(safe_merge=True)  # raises on non-finite merged weights instead of writing them
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, module.get_base_layer())
    return len(swaps)

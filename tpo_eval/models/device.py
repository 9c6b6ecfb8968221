"""``--device auto --dtype auto``: where a model adapter runs and in which precision, resolved once, and the
runtime record that goes into a run's provenance.

``auto`` device = ``cuda:LOCAL_RANK`` (``cuda:0`` outside a launcher) when torch sees a GPU, else ``cpu``;
``auto`` dtype = ``bfloat16`` on a GPU, ``float32`` on the CPU (bf16 matmuls on a CPU are slow and not what
the reference numbers were made with). Explicit values pass through unchanged. torch is imported only to
resolve ``auto`` or to name a GPU, so the mock adapters stay light when given explicit values.
"""

from __future__ import annotations

import os
from typing import Any, Optional

DTYPES = ("float32", "bfloat16", "float16")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # a light install scores files without torch: no GPU to find
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto", local_rank: Optional[int] = None) -> str:
    """``auto`` → ``cuda:LOCAL_RANK`` / ``cpu``; a bare ``cuda`` under a launcher → ``cuda:LOCAL_RANK``."""
    rank = local_rank if local_rank is not None else int(os.environ.get("LOCAL_RANK", 0))
    if device == "auto":
        return f"cuda:{rank}" if _cuda_available() else "cpu"
    if device == "cuda" and (local_rank is not None or "LOCAL_RANK" in os.environ):
        return f"cuda:{rank}"
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto`` → ``bfloat16`` on a GPU device, else ``float32``; else one of :data:`DTYPES`."""
    if dtype == "auto":
        return "bfloat16" if device.startswith("cuda") else "float32"
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: use auto or one of {', '.join(DTYPES)}")
    return dtype


def runtime_info(device: str, dtype: str) -> dict[str, Any]:
    """What a run ran on, for provenance: resolved device and dtype, and the GPU's name (None on the CPU)."""
    gpu = None
    if device.startswith("cuda"):
        import torch

        gpu = torch.cuda.get_device_name(torch.device(device))
    return {"device": device, "dtype": dtype, "gpu": gpu}

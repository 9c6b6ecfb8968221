"""Checks of what a user asks an adapter for, before it is built: ``--model-arg`` keys and ``--gen-kwargs``
against what the adapter declares (``model_args``, ``generation_keys``); ``--model auto`` is resolved from the
checkpoint folder first, so the chosen adapter's declarations apply."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Optional

from .auto import detect
from .base import ModelError


def adapter_class(spec: str, ckpt: Optional[str] = None) -> Any:
    """The registered adapter ``--model spec`` stands for; ``auto`` resolved from the checkpoint folder."""
    from ..registries import MODELS

    name = spec.partition(":")[0]
    if name == "auto" and ckpt:
        name = detect(ckpt)[0]
    return MODELS.get(name)


def check_model_args(spec: str, args: Mapping[str, Any], ckpt: Optional[str] = None) -> None:
    """Refuse ``--model-arg`` keys the adapter does not read, with the closest known key."""
    import difflib

    cls = adapter_class(spec, ckpt)
    if cls.model_args is None:  # declared on VideoModel: None means the adapter does not list them
        return
    bad = sorted(set(args) - cls.model_args)
    if bad:
        hints = [
            f"{b!r}"
            + (f" (did you mean {c[0]!r}?)" if (c := difflib.get_close_matches(b, cls.model_args, 1)) else "")
            for b in bad
        ]
        known = ", ".join(sorted(cls.model_args)) or "none"
        raise ModelError(
            f"--model-arg {', '.join(hints)}: not an argument of --model {spec} (it takes: {known})"
        )


def check_gen_kwargs(spec: str, kwargs: Mapping[str, Any], ckpt: Optional[str] = None) -> dict[str, Any]:
    """Refuse keys the adapter of ``spec`` does not honour, and values of the wrong type; every problem in one
    ValueError (the CLI's exit 2). Ints are accepted where floats are expected (``temperature=0``)."""
    accepted: Mapping[str, type] = adapter_class(spec, ckpt).generation_keys
    errors = []
    for k, v in kwargs.items():
        if k not in accepted:
            close = difflib.get_close_matches(k, list(accepted), n=1)
            errors.append(
                f"{k!r} is not a generation setting of --model {spec}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
            )
            continue
        typ = accepted[k]
        ok = (
            isinstance(v, typ)
            and not (typ is int and isinstance(v, bool))
            or (typ is float and isinstance(v, int) and not isinstance(v, bool))
        )
        if not ok:
            errors.append(f"{k}={v!r}: expected {typ.__name__}")
    if errors:
        keys = ", ".join(sorted(accepted)) or "none"
        raise ValueError("--gen-kwargs: " + "; ".join(errors) + f". Accepted by {spec}: {keys}")
    return {k: float(v) if accepted[k] is float else v for k, v in kwargs.items()}

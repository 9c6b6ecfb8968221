"""The model-adapter contract and the helper that builds one from ``--model NAME[:VARIANT]``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Optional

from ..io import sha256_tree, yaml_value
from ..types import RawOutput, Request, RequestKind


class ModelError(RuntimeError):
    """A model cannot be built or cannot answer this benchmark (message says what to do)."""


class VideoModel:
    """Base adapter. Subclasses set ``supports`` and implement :meth:`predict`.

    ``predict`` answers a batch of requests, one :class:`RawOutput` per request in order. An adapter must not
    raise for a single bad sample: it returns ``RawOutput(error=...)`` so the runner records a failure and
    goes on.
    """

    name: ClassVar[str] = ""
    supports: ClassVar[frozenset[RequestKind]] = frozenset()
    needs_frames: ClassVar[bool] = True
    # Generation settings this adapter honours (``--gen-kwargs``), name → type; anything else is refused
    # before the model is loaded. They reach the adapter through ``set_generation`` (over the YAML's values).
    generation_keys: ClassVar[Mapping[str, type]] = MappingProxyType({})
    # ``--model-arg`` keys the adapter reads; any other key is refused (a misspelling must not run the
    # default).
    # None: the adapter does not declare them (third-party adapters) and nothing is checked.
    model_args: ClassVar[Optional[frozenset[str]]] = None

    def __init__(
        self,
        variant: Optional[str] = None,
        ckpt: Optional[str] = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 1,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        from .device import resolve_device, resolve_dtype

        # ``auto`` resolved here, once: the adapter loads with, and provenance records, the concrete values
        self.device = resolve_device(device)
        try:
            self.dtype = resolve_dtype(dtype, self.device)
        except ValueError as e:
            raise ModelError(f"--dtype: {e}") from None
        self.variant, self.ckpt = variant, ckpt
        self.batch_size, self.seed, self.kwargs = batch_size, seed, kwargs

    def predict(self, requests: Sequence[Request]) -> list[RawOutput]:
        raise NotImplementedError

    def set_generation(self, generation: dict[str, Any]) -> None:
        """The benchmark's generation settings (its ``generation:`` block under ``--gen-kwargs``), given
        before its first request; an adapter serving several benchmarks gets each one's in turn. Default:
        none are used."""

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this model's answers (goes into the settings hash and the provenance)."""
        return {
            "model": self.name,
            "variant": self.variant,
            "checkpoint": self.ckpt,
            "checkpoint_sha256": checkpoint_hash(self.ckpt) if self.ckpt else None,
        }


def checkpoint_hash(ckpt: str | Path) -> str:
    """sha256 over a checkpoint's weight and config files (names, sizes and contents), in sorted order.

    Large shards are hashed in full once; this is the price of an honest provenance record.
    """
    p = Path(ckpt)
    if not p.exists():
        raise ModelError(f"checkpoint {p} does not exist")
    if p.is_file():
        return sha256_tree(p.parent, [p])
    return sha256_tree(p, sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))


def build_model(spec: str, **kwargs: Any) -> VideoModel:
    """``hf`` → HFVideoModel(); ``mock:oracle`` → MockModel(variant='oracle')."""
    from ..registries import MODELS

    name, _, variant = spec.partition(":")
    cls = MODELS.get(name)
    return cls(variant=variant or None, **kwargs)


def parse_gen_kwargs(text: Optional[str]) -> dict[str, Any]:
    """``"max_new_tokens=32,temperature=0.2,do_sample=true"`` → typed values (YAML scalars: 32, 0.2, True)."""
    out: dict[str, Any] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--gen-kwargs expects KEY=VALUE[,KEY=VALUE…], got {item.strip()!r}")
        out[key.strip()] = yaml_value(value.strip())
    return out

"""``tpo``: a TPO model folder written by ``tpo_train`` (``tpo_model.json`` + ``tpo_weights.safetensors`` +
``processor/``; the base MLLM is read from the path the folder records, or ``--model-arg base=DIR``).

Requests:

* ``mcq`` / ``generate``: greedy generation (the benchmark's assistant prefix forced), the text answer. If the
  model emits a trigger on the way, the head still runs; only the text is returned.
* ``span``: answered by the temporal head, as the paper scores Charades-STA. ``--model-arg span_mode=force``
  (default) writes the trigger and the ``<temp>`` placeholder after the prompt and routes the placeholder's state
  to the head; ``span_mode=generate`` decodes freely and uses the head only if the model emits ``<time_begin>``
  (otherwise the text is returned, for the text extractor). Head features come from the base model's own
  encoders (one feature per sampled frame, the user text's token embeddings) and the clip grid spans the
  request's duration; windows are ``(start s, end s, score)`` best first, ``saliency`` one value per frame.
  A checkpoint of the MLP-head ablation (``TemporalHeadSpec(kind="mlp")``, paper Table 11) answers with its one
  window (score 1.0) and no saliency curve.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from ..types import RawOutput, Request
from .base import ModelError, VideoModel

_DTYPES = ("float32", "bfloat16", "float16")


class TPOModelAdapter(VideoModel):
    name = "tpo"
    supports = frozenset({"mcq", "generate", "span"})

    def __init__(self, variant: Optional[str] = None, ckpt: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(variant=variant, ckpt=ckpt, **kwargs)
        if not ckpt:
            raise ModelError("--model tpo needs --ckpt DIR (a TPO model folder written by tpo-train)")
        if self.dtype not in _DTYPES:
            raise ModelError(f"--dtype {self.dtype!r}: use one of {', '.join(_DTYPES)}")
        self.span_mode = str(self.kwargs.get("span_mode", "force"))
        if self.span_mode not in ("force", "generate"):
            raise ModelError(f"--model-arg span_mode={self.span_mode!r}: use force or generate")
        self.max_new_tokens = int(self.kwargs.get("max_new_tokens", 0)) or None
        import torch

        from tpo_train.model import load_tpo_model, read_tpo_spec

        try:
            self.spec = read_tpo_spec(ckpt)
            self.model = load_tpo_model(ckpt, base=self.kwargs.get("base"), dtype=getattr(torch, self.dtype),
                                        device=self.device)  # the base loads straight onto the device
        except (FileNotFoundError, ValueError) as e:
            raise ModelError(f"--ckpt {ckpt}: {e}") from e
        self.model.eval()
        if "temporal" not in self.model.heads:
            self.supports = frozenset({"mcq", "generate"})  # no head to answer spans with

    def set_generation(self, generation: dict[str, Any]) -> None:
        if self.max_new_tokens is None and "max_new_tokens" in generation:
            self.max_new_tokens = int(generation["max_new_tokens"])

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp.update({"dtype": self.dtype, "span_mode": self.span_mode, "max_new_tokens": self.max_new_tokens,
                   "base": str(Path(self.model.spec.base).resolve())})
        return fp

    def predict(self, requests: Sequence[Request]) -> list[RawOutput]:
        out = []
        for r in requests:
            try:
                out.append(self._span(r) if r.kind == "span" else self._text(r))
            except (ValueError, RuntimeError) as e:  # one bad sample is a recorded failure, not a crash
                out.append(RawOutput(r.sample_id, error=f"{type(e).__name__}: {e}"))
        return out

    # ---- per request ----------------------------------------------------------------------------------------
    def _encode(self, r: Request, suffix: str = ""):
        return self.model.adapter.encode(r.prompt.system, r.prompt.user, r.prompt.assistant_prefix + suffix,
                                         video=r.frames)

    def _text(self, r: Request) -> RawOutput:
        gen = self.model.generate(self._encode(r), max_new_tokens=self.max_new_tokens or 100)
        return RawOutput(r.sample_id, text=gen.text)

    def _temporal_inputs(self, r: Request, example: Any):
        from tpo_train.heads.temporal import make_temporal_inputs
        from tpo_train.heads.temporal_features import ModelFeatures

        if r.frames is None or not r.duration:
            raise ValueError("a span request needs frames and a positive duration")
        feats = ModelFeatures(self.model.adapter)
        tef = self.model.heads["temporal"].spec.tef
        return make_temporal_inputs([feats.video(example.vision)], [feats.query(r.prompt.user)],
                                    [float(r.duration)], tef=tef)

    def _span(self, r: Request) -> RawOutput:
        import torch

        from tpo_train.model import collate

        probe = self._encode(r)
        inputs = self._temporal_inputs(r, probe)
        if self.span_mode == "generate":
            gen = self.model.generate(probe, head_inputs={"temporal": inputs},
                                      max_new_tokens=self.max_new_tokens or 100)
            span = gen.first("temporal")
            if span is None:
                return RawOutput(r.sample_id, text=gen.text)
            return RawOutput(r.sample_id, text=gen.text, windows=span.windows, saliency=span.saliency or None)
        ex = self._encode(r, "<time_begin><temp>")
        batch = collate([ex], self.model.adapter.pad_id, head_inputs={"temporal": inputs}).to(self.device)
        with torch.no_grad():
            pred = self.model(batch).head_preds["temporal"]
        span = self.model.heads["temporal"].decode(pred, inputs)[0]
        return RawOutput(r.sample_id, windows=span.windows, saliency=span.saliency or None)  # MLP head: none

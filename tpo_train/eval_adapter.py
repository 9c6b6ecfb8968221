"""``tpo`` model adapter for ``tpo-eval``: a TPO model folder written by ``tpo_train`` (``tpo_model.json`` +
``tpo_weights.safetensors`` + ``processor/``; the base MLLM is read from the path the folder records, or
``--model-arg base=DIR``). Registered with tpo-eval through the ``tpo_eval.models`` entry point (setup.cfg),
so ``tpo_eval`` never imports ``tpo_train``.

Requests:

* ``mcq`` / ``generate``: greedy generation (the benchmark's assistant prefix forced), the text answer. A
model that
  emits a task trigger on the way is answered as text (the trigger is written, no head runs, the text is
  kept).
* ``span``: answered by the temporal head, as the paper scores Charades-STA; a model without one (the
  conversation-only and textualized baselines) answers in text, which the benchmark's text extractor parses.
  ``--model-arg span_mode=force``
  (default) writes the trigger and the ``<temp>`` placeholder after the prompt and routes the placeholder's
  state to the head; ``span_mode=generate`` decodes freely and uses the head only if the model emits
  ``<time_begin>``
  (otherwise the text is returned, for the text extractor). The head is fed exactly the features it was
  trained
  on (its spec records them, see :mod:`tpo_train.heads.temporal_features`): the base model's own features, a
  registered extractor over the sampled frames, or precomputed files (``--model-arg video_features=DIR
  text_features=DIR``, read by the request's video/query ids); the query features are those of the sample's
  sentence, as in training, not of the whole prompt. Windows are ``(start s, end s, score)`` best first,
  ``saliency`` one value per clip. The MLP-head ablation (paper Table 11) answers with one window, no
  saliency.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from tpo_eval.models.base import ModelError, VideoModel
from tpo_eval.types import RawOutput, Request

from .tasks.base import get_task

_DTYPES = ("float32", "bfloat16", "float16")
MODEL_ARGS = ("span_mode", "max_new_tokens", "base", "video_features", "text_features", "allow_bin")


class TPOModelAdapter(VideoModel):
    name = "tpo"
    supports = frozenset({"mcq", "generate", "span"})
    generation_keys = {"max_new_tokens": int}  # greedy decoding only
    model_args = frozenset(MODEL_ARGS)

    def __init__(self, variant: Optional[str] = None, ckpt: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(variant=variant, ckpt=ckpt, **kwargs)
        if not ckpt:
            raise ModelError("--model tpo needs --ckpt DIR (a TPO model folder written by tpo-train)")
        if self.dtype not in _DTYPES:
            raise ModelError(f"--dtype {self.dtype!r}: use one of {', '.join(_DTYPES)}")
        unknown = sorted(set(self.kwargs) - set(MODEL_ARGS))
        if unknown:
            raise ModelError(
                f"--model-arg {', '.join(unknown)}: not a tpo adapter argument; known: "
                f"{', '.join(MODEL_ARGS)}"
            )
        self.span_mode = str(self.kwargs.get("span_mode", "force"))
        if self.span_mode not in ("force", "generate"):
            raise ModelError(f"--model-arg span_mode={self.span_mode!r}: use force or generate")
        self.max_new_tokens = self._max_new_tokens_arg = int(self.kwargs.get("max_new_tokens", 0)) or None
        import torch

        from .model import load_tpo_model, read_tpo_spec

        try:
            self.spec = read_tpo_spec(ckpt)
            _refuse_pickled_base(
                Path(self.kwargs.get("base") or self.spec.base),
                str(self.kwargs.get("allow_bin", "false")).lower() == "true",
            )
            self.model = load_tpo_model(
                ckpt, base=self.kwargs.get("base"), dtype=getattr(torch, self.dtype), device=self.device
            )  # the base loads straight onto the device
        except (FileNotFoundError, ValueError) as e:
            raise ModelError(f"--ckpt {ckpt}: {e}") from e
        self.model.eval()
        from .model.lora import merge_lora

        merge_lora(self.model.adapter.model)  # scoring only generates: one matmul per layer, not three
        self.features = None
        if "temporal" in self.model.heads:
            self.features = _HeadFeatures(self.model, self.kwargs, ckpt)

    def set_generation(self, generation: dict[str, Any]) -> None:
        # --model-arg max_new_tokens wins; else each benchmark's own (an adapter may serve several)
        self.max_new_tokens = self._max_new_tokens_arg or int(generation.get("max_new_tokens", 0)) or None

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp.update(
            {
                "dtype": self.dtype,
                "span_mode": self.span_mode,
                "max_new_tokens": self.max_new_tokens,
                "base": str(Path(self.model.spec.base).resolve()),
                "temporal_features": self.features.describe() if self.features else None,
            }
        )
        return fp

    def predict(self, requests: Sequence[Request]) -> list[RawOutput]:
        out = []
        for r in requests:
            try:
                out.append(self._span(r) if r.kind == "span" else self._text(r))
            except (
                ValueError,
                RuntimeError,
                OSError,
            ) as e:  # one bad sample is a recorded failure, not a crash
                out.append(RawOutput(r.sample_id, error=f"{type(e).__name__}: {e}"))
        return out

    # ---- per request
    # ----------------------------------------------------------------------------------------
    def _encode(self, r: Request, suffix: str = ""):
        return self.model.adapter.encode(
            r.prompt.system, r.prompt.user, r.prompt.assistant_prefix + suffix, video=r.frames
        )

    def _text(self, r: Request) -> RawOutput:
        gen = self.model.generate(
            self._encode(r), max_new_tokens=self.max_new_tokens or 100, missing_inputs="text"
        )
        return RawOutput(r.sample_id, text=gen.text)

    def _span(self, r: Request) -> RawOutput:
        import torch

        from .model import collate

        if self.features is None:  # no temporal head (conversation-only, textualized): the answer is text
            return self._text(r)
        if r.frames is None or not r.duration:
            raise ValueError("a span request needs frames and a positive duration")
        probe = self._encode(r)
        inputs = self.features.inputs(r, probe)
        if self.span_mode == "generate":
            gen = self.model.generate(
                probe, head_inputs={"temporal": inputs}, max_new_tokens=self.max_new_tokens or 100
            )
            span = gen.first("temporal")
            if span is None:
                return RawOutput(r.sample_id, text=gen.text)
            return RawOutput(
                r.sample_id, text=gen.text, windows=span.windows, saliency=clip_saliency(span.saliency, r)
            )
        ex = self._encode(r, get_task("temporal").answer)  # the trigger and placeholder, forced
        batch = collate([ex], self.model.adapter.pad_id, head_inputs={"temporal": inputs}).to(self.device)
        with torch.no_grad():
            pred = self.model(batch).head_preds["temporal"]
        span = self.model.heads["temporal"].decode(pred, inputs)[0]
        return RawOutput(
            r.sample_id, windows=span.windows, saliency=clip_saliency(span.saliency, r)
        )  # MLP: none


class _HeadFeatures:
    """The temporal head's inputs for one request, computed the way the head's spec says it was trained."""

    def __init__(self, model: Any, kwargs: dict[str, Any], ckpt: str) -> None:
        from .heads.temporal_features import ModelFeatures, PrecomputedFeatures, check_dims, describe

        self.model, self.spec = model, model.heads["temporal"].spec
        self.hidden = int(model.adapter.hidden_size)
        if self.spec.kind == "mlp":  # the MLP ablation reads only the <temp> state (and the duration)
            import dataclasses

            self.spec = dataclasses.replace(
                self.spec, video_features="model", text_features="model", v_feat_dim=None, t_feat_dim=None
            )
        problem = check_dims(self.spec, self.hidden)
        if problem:
            raise ModelError(f"--ckpt {ckpt}: temporal head features do not match this model: {problem}")
        self.describe = lambda: describe(self.spec, self.hidden)
        self.model_feats = ModelFeatures(model.adapter)
        need = [
            side
            for side, kind in (("video", self.spec.video_features), ("text", self.spec.text_features))
            if kind == "precomputed" and not kwargs.get(f"{side}_features")
        ]
        if need:
            raise ModelError(
                f"--ckpt {ckpt}: its temporal head was trained on precomputed features ({self.describe()}); "
                f"give the same kind of files with "
                + " ".join(f"--model-arg {s}_features=DIR" for s in need)
                + " (CG-DETR layout: VIDEO_DIR/<vid>.npz, TEXT_DIR/qid<qid>.npz)"
            )
        self.files = PrecomputedFeatures(
            kwargs.get("video_features") or ".", kwargs.get("text_features") or "."
        )

    def inputs(self, r: Request, probe: Any) -> Any:
        from .heads.temporal import make_temporal_inputs
        from .heads.temporal_features import TEXT_EXTRACTORS, extract_text, extract_video

        kind = self.spec.video_features
        if kind == "model":
            v = self.model_feats.video(probe.vision)
        elif kind == "precomputed":
            v = self.files.video(_need(r.media_id, "video id", r))
        else:
            v = extract_video(kind, r.frames)
        if self.spec.text_features == "precomputed":
            q = self.files.query(_need(r.query_id, "query id", r))
        elif self.spec.text_features in TEXT_EXTRACTORS:
            q = extract_text(self.spec.text_features, r.question or r.prompt.user)
        else:
            q = self.model_feats.query(r.question or r.prompt.user)
        return make_temporal_inputs([v], [q], [float(r.duration)], tef=self.spec.tef)


def clip_saliency(curve: Any, r: Request) -> Optional[tuple[float, ...]]:
    """The head's saliency (one value per input clip, evenly spread over the video) on the benchmark's clip
    grid
    when the request has one (QVHighlights: ``clip_length`` s clips, scored by index): each clip takes the
    value of the head clip under its centre. Without a grid, the curve as the head gave it; an empty curve is
    None."""
    if not curve:
        return None
    if not r.clip_length or not r.duration:
        return tuple(curve)
    import math

    n_clips = max(1, math.ceil(float(r.duration) / float(r.clip_length) - 1e-9))
    n = len(curve)
    centres = [(k + 0.5) * float(r.clip_length) for k in range(n_clips)]
    return tuple(float(curve[min(n - 1, int(c / float(r.duration) * n))]) for c in centres)


def _need(value: str, what: str, r: Request) -> str:
    if not value:
        raise ValueError(f"{r.sample_id}: precomputed features need the annotation's {what}, which it lacks")
    return value


def _refuse_pickled_base(base: Path, allowed: bool) -> None:
    # A .bin file is a pickle: loading it runs whatever code it carries. Like ``hf`` (safetensors only), the
    # base
    # model must be safetensors unless the user vouches for the file.
    if allowed or not base.is_dir() or any(base.glob("*.safetensors")):
        return
    pickled = sorted(p.name for p in base.glob("*.bin"))
    if pickled:
        raise ModelError(
            f"base model {base} has only pickled weights ({', '.join(pickled[:3])}); convert them to "
            "safetensors, or pass --model-arg allow_bin=true if you trust the file"
        )

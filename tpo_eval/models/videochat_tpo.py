"""``videochat_tpo``: the released VideoChat-TPO checkpoint (OpenGVLab/VideoChat-TPO) through its own code.

Its ``config.json`` maps ``AutoModel`` to ``modeling_videochate.MultiModalLLM_PT``, Python shipped in the
folder: it is imported only with ``--trust-remote-code`` (recorded in provenance). Nothing is downloaded:
files are read with ``local_files_only`` and the hub is switched off while that code builds the model (it
asks for ``bert-base-uncased`` and the Mistral config by hub name: they must be in the local HF cache, or pass
``--model-arg llm_config=DIR``).

Requests, following the authors' public inference code (``generate_answer`` and the demo ``app.py``):

* ``mcq`` / ``multi_image``: the checkpoint's own ``generate_answer``: ``{system}[INST] <Video>…</Video>{msg}
  [/INST] [INST] {question} [/INST]`` and, when the benchmark forces an answer prefix, the method's own
  ``Best Option: (``; greedy (the release ignores the token budget it is given and decodes up to 200).
  ``msg`` lists the frame times only when the question mentions "timestamp", as the demo does. Frames: the
  benchmark's frames resampled to the encoder's count (16), 224² bicubic, ImageNet mean/std. Multi-image
  questions pass their images as that frame sequence (there is no published MMIU recipe).
* ``span``: the temporal head. ``span_mode=force`` (default) places ``<time_begin>`` and the temporal token
  after the prompt, as in training; ``span_mode=generate`` decodes greedily like the demo and runs the head
  only if the model emits ``<time_begin>`` (else the text is returned). The head (``cg_model``) gets the
  demo's features from the checkpoint's own ``third_party.internvideo2`` encoder, configured by
  ``--model-arg temporal_config=FILE.json`` (the release hard-codes internal weight paths): one feature per 8
  consecutive benchmark frames (the demo: 8 fps, one per second, so pass ``--num-frames`` ≈ 8 × duration).

Here: loading, the MCQ path and provenance. The span path is the base class in ``videochat_tpo_span.py``;
the patches that let the release load offline on today's transformers are ``videochat_tpo_compat.py``
(``hub_offline`` still importable from here); the tokenizer, frame transform and feature encoder are
``videochat_tpo_io.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from ..types import RawOutput, Request
from .base import ModelError, VideoModel
from .videochat_tpo_compat import hub_offline, legacy_model_classes, legacy_transformers_names, on_sys_path
from .videochat_tpo_io import (
    IMAGENET,
    ClipFeatures,
    SegmentTokenizer,
    frames_tensor,
    midpoints,
    timestamps_msg,
)
from .videochat_tpo_span import TemporalHeadRequests

__all__ = ["ANSWER_PREFIX", "VideoChatTPOModel", "hub_offline", "remote_code_line"]

ANSWER_PREFIX = "Best Option: ("  # hard-coded in the checkpoint's generate_answer


def remote_code_line(ckpt: Path, auto_map: dict) -> str:
    """The one line said when a remote-code checkpoint is refused."""
    target = auto_map.get("AutoModel") or next(iter(auto_map.values()), "?")
    return (
        f"--ckpt {ckpt} runs its own Python: config.json auto_map loads {target} from "
        f"{ckpt}/{target.split('.')[0]}.py (and the modules it imports); nothing of it runs unless you "
        "pass --trust-remote-code"
    )


class VideoChatTPOModel(TemporalHeadRequests, VideoModel):
    name = "videochat_tpo"
    supports = frozenset({"mcq", "multi_image", "span"})

    def __init__(self, variant: Optional[str] = None, ckpt: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(variant=variant, ckpt=ckpt, **kwargs)
        if not ckpt:
            raise ModelError("--model videochat_tpo needs --ckpt DIR (a local OpenGVLab/VideoChat-TPO)")
        self.path = Path(ckpt)
        cfg_file = self.path / "config.json"
        if not cfg_file.is_file():
            raise ModelError(f"{self.path} is not a checkpoint folder (no config.json)")
        self.auto_map = dict(json.loads(cfg_file.read_text(encoding="utf-8")).get("auto_map") or {})
        if "AutoModel" not in self.auto_map:
            raise ModelError(f"{cfg_file} has no auto_map.AutoModel: not a VideoChat-TPO checkpoint")
        self.trust = str(self.kwargs.get("trust_remote_code", "false")).lower() == "true"
        if not self.trust:
            raise ModelError(remote_code_line(self.path, self.auto_map))
        if self.dtype == "float16":
            raise ModelError(
                "--dtype float16: VideoChat-TPO's own generate_answer casts the video to "
                "bfloat16; use bfloat16"
            )
        # The released methods cast media to bfloat16 and the demo runs the whole model in bfloat16, so the
        # CLI's float32 default means bfloat16 here (recorded in the fingerprint).
        self.dtype = "bfloat16"
        self.span_mode = str(self.kwargs.get("span_mode", "force"))
        if self.span_mode not in ("force", "generate"):
            raise ModelError(f"--model-arg span_mode={self.span_mode!r}: use force or generate")
        self.temporal_config = self.kwargs.get("temporal_config")
        self.max_new_tokens = int(self.kwargs.get("max_new_tokens", 0)) or None
        self._load()
        self._features: Optional[ClipFeatures] = None

    # ---- loading -------------------------------------------------------------------------------------------
    def _load(self) -> None:
        from transformers import AutoConfig, PreTrainedTokenizerFast
        from transformers.dynamic_module_utils import get_class_from_dynamic_module

        p = self.path
        with hub_offline(), on_sys_path(p):
            try:
                config = AutoConfig.from_pretrained(p, trust_remote_code=True, local_files_only=True)
                mc = config.model_config
                if self.kwargs.get("llm_config"):  # the release names the Mistral config by hub id
                    mc["llm"]["pretrained_llm_path"] = str(self.kwargs["llm_config"])
                bridge = mc["bridge"]
                self.n_query = int(bridge["num_query_token"]) + int(bridge["extra_num_query_token"])
                self.num_frames = int(mc["vision_encoder"]["num_frames"])
                self.img_size = int(mc["vision_encoder"]["img_size"])
                if (p / "tokenizer.json").is_file():
                    base = PreTrainedTokenizerFast.from_pretrained(p, local_files_only=True)
                else:  # the release ships only tokenizer.model (needs sentencepiece)
                    from transformers import LlamaTokenizer

                    base = LlamaTokenizer.from_pretrained(p, local_files_only=True)
                self.tokenizer = SegmentTokenizer(base, self.n_query)
                legacy_transformers_names()
                cls = get_class_from_dynamic_module(self.auto_map["AutoModel"], p, local_files_only=True)
                legacy_model_classes(cls)
                if hasattr(cls, "build_sam"):
                    # The release builds SAM2 from a hard-coded /cpfs01 path inside a try/except that then
                    # also skips the temporal head (tpo.md §9.4). tpo-eval scores no masks: SAM2 is not
                    # built, so the temporal head is, and its weights load.
                    cls = type(cls.__name__, (cls,), {"build_sam": lambda self: None})
                self.model = self._construct(cls, config)
            except (OSError, ValueError, ImportError, AttributeError, TypeError, RuntimeError) as e:
                # incl. a hub file it asks for that is not cached, and transformers-version drift
                raise ModelError(
                    f"--ckpt {p}: the checkpoint's own code failed to load (offline, nothing is "
                    f"downloaded): {type(e).__name__}: {str(e).splitlines()[0]}"
                ) from e
        self.model.eval()

    def _construct(self, cls: Any, config: Any) -> Any:
        """Build the model for real, then copy the weights in. Not ``from_pretrained``: recent transformers
        build
        on the meta device, where the release's own ``resize_token_embeddings`` (mean-initialised new rows,
        Q-Former ``[DEC]``) cannot run. Weights the model has no place for are SAM2's (not built); a weight
        the model expects but the files lack is reported."""
        import torch
        from safetensors.torch import load_file

        with torch.device(self.device):
            model = cls(config, _tokenizer=self.tokenizer)
        model.to(device=self.device, dtype=torch.bfloat16)  # buffers made from numpy start on the CPU
        expected, seen, unused = set(model.state_dict()), set(), 0
        for f in sorted(self.path.glob("*.safetensors")):
            state = load_file(str(f), device=str(self.device))
            seen |= set(state)
            unused += len(set(state) - expected)
            model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
        if not seen:
            raise OSError(f"no *.safetensors weights in {self.path}")
        missing = sorted(expected - seen)
        self.weights = {"loaded": len(seen & expected), "missing": len(missing), "unused": unused}
        if missing:
            print(
                f"[tpo-eval] videochat_tpo: {len(missing)} weight(s) of the model are not in the checkpoint "
                f"(left as built): {', '.join(missing[:5])}",
                file=sys.stderr,
            )
        return model

    def set_generation(self, generation: dict[str, Any]) -> None:
        if self.max_new_tokens is None and "max_new_tokens" in generation:
            self.max_new_tokens = int(generation["max_new_tokens"])

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp.update(
            {
                "dtype": self.dtype,
                "trust_remote_code": self.trust,
                "remote_code": self.auto_map,
                "architecture": type(self.model).__mro__[0].__name__,
                "answer_prefix": ANSWER_PREFIX,
                "span_mode": self.span_mode,
                "temporal_config": self.temporal_config,
                "llm_config": self.kwargs.get("llm_config"),
                "max_new_tokens": self.max_new_tokens,
                "weights": self.weights,
            }
        )
        return fp

    # ---- requests ------------------------------------------------------------------------------------------
    def predict(self, requests: Sequence[Request]) -> list[RawOutput]:
        out = []
        for r in requests:
            try:
                out.append(self._span(r) if r.kind == "span" else self._mcq(r))
            except (ValueError, RuntimeError) as e:  # one bad sample is a recorded failure, not a crash
                if isinstance(e, ModelError):
                    raise
                out.append(RawOutput(r.sample_id, error=f"{type(e).__name__}: {e}"))
        return out

    def _video(self, frames: Any) -> Any:
        frames = list(frames)
        picked = [frames[i] for i in midpoints(len(frames), self.num_frames)]
        return frames_tensor(picked, self.img_size, IMAGENET)

    def _msg(self, r: Request) -> str:
        return timestamps_msg(r.timestamps) if "timestamp" in r.prompt.user and r.timestamps else ""

    def _mcq(self, r: Request) -> RawOutput:
        import torch

        if r.frames is None or len(r.frames) == 0:
            raise ValueError("VideoChat-TPO answers questions about a video or images; this request has none")
        media = self._video(r.frames)
        kind = "image" if r.kind == "multi_image" else "video"
        with torch.no_grad():
            text, _ = self.model.generate_answer(
                self.tokenizer,
                r.prompt.system,
                self._msg(r),
                r.prompt.user,
                media_type=kind,
                video_tensor=media if kind == "video" else None,
                image_tensor=media if kind == "image" else None,
                answer_prompt=bool(r.prompt.assistant_prefix) or None,
                generation_config={"max_new_tokens": self.max_new_tokens or 100},
            )  # the release ignores it
        return RawOutput(r.sample_id, text=text)

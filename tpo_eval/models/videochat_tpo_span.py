"""``span`` requests of the ``videochat_tpo`` adapter: the released temporal head (``cg_model``) on the demo's
features, with the temporal token either placed after the prompt (``span_mode=force``) or reached by greedy
decoding (``span_mode=generate``).

A base class of :class:`tpo_eval.models.videochat_tpo.VideoChatTPOModel`, split from loading and the MCQ path
because this is the only part that needs the feature encoder and the head's post-processing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from ..types import RawOutput, Request
from .base import ModelError
from .videochat_tpo_io import ClipFeatures, span_windows


class TemporalHeadRequests:
    """The temporal-head methods; :class:`VideoChatTPOModel` sets these attributes and ``_video``/``_msg``."""

    path: Path
    model: Any
    tokenizer: Any
    device: str
    span_mode: str
    temporal_config: Optional[str]
    max_new_tokens: Optional[int]
    _features: Optional[ClipFeatures]

    # ---- temporal head -------------------------------------------------------------------------------------
    def _head_ready(self) -> ClipFeatures:
        if not hasattr(self.model, "cg_model"):
            raise ModelError(
                f"{self.path}: the checkpoint's temporal head (cg_model) was not built; its "
                "code skips it silently when third_party/cgdetr cannot be imported"
            )
        if not self.temporal_config:
            raise ModelError(
                "span requests need the temporal head's feature encoder: pass --model-arg "
                "temporal_config=FILE.json (app.py's InternVideo2_CLIP `model` mapping with "
                "local weight paths); the release hard-codes internal paths"
            )
        if self._features is None:
            import torch

            self._features = ClipFeatures(self.path, self.temporal_config, self.device, torch.bfloat16)
        return self._features

    def _prompt_embeds(self, r: Request) -> tuple[Any, Any]:
        """The demo's ``process_qa``: ``[INST] <Video>…</Video>{msg}[/INST]`` then `` [INST] {q} [/INST] ``,
        two tokenizer calls (each piece with its BOS), then the checkpoint's own ``pad_text_embeds``."""
        import torch

        from .videochat_tpo_io import VID_TOKEN

        a = self.tokenizer.build_input_ids(
            ["[INST] <Video>" + VID_TOKEN + "</Video>" + self._msg(r).rstrip() + "[/INST]"],
            require_video=True,
        )
        b = self.tokenizer.build_input_ids([" [INST] " + r.prompt.user + " [/INST] "])
        ids = torch.cat([a["input_ids"], b["input_ids"]])[None].to(self.device)
        idx = torch.cat([a["video_index"], torch.zeros_like(b["input_ids"], dtype=torch.bool)])[None]
        video = self._video(r.frames)[None].to(self.device, torch.bfloat16)
        return ids, self.model.pad_text_embeds(input_ids=ids, video=video, video_idx=idx.to(self.device))

    def _lm(self, embeds: Any, past: Any = None) -> Any:
        return self.model.lm(
            inputs_embeds=embeds, past_key_values=past, use_cache=True, output_hidden_states=True
        )

    def _span(self, r: Request) -> RawOutput:
        import torch

        feats = self._head_ready()
        if r.frames is None or not r.duration:
            raise ValueError("a span request needs frames and a positive duration")
        emb_table = self.model.lm.get_input_embeddings()
        token = self.model.temporal_token.to(torch.bfloat16).reshape(1, 1, -1)
        text = ""
        with torch.no_grad():
            _, emb = self._prompt_embeds(r)
            if self.span_mode == "force":  # training layout: … <time_begin><temp>, state read at <temp>
                trig = emb_table(torch.tensor([[self.tokenizer.time_start_token]], device=self.device))
                prompt_token = self._lm(
                    torch.cat([emb, trig.to(emb.dtype), token.to(emb.dtype)], 1)
                ).hidden_states[-1][:, -1:]
            else:
                prompt_token, text = self._generate_until_trigger(emb, token)
                if prompt_token is None:
                    return RawOutput(r.sample_id, text=text)
            v = feats.video(r.frames)
            q = feats.query(r.prompt.user)
            out = self.model.cg_model(
                q[None],
                torch.ones(1, len(q), device=self.device),
                v[None],
                torch.ones(1, len(v), device=self.device),
                prompt_token=prompt_token,
            )
        windows = span_windows(
            out["pred_logits"][0], out["pred_spans"][0], float(r.duration), r.duration / len(v)
        )
        saliency = tuple(round(float(s), 4) for s in out["saliency_scores"][0][: len(v)].float().tolist())
        return RawOutput(r.sample_id, text=text, windows=windows, saliency=saliency)

    def _generate_until_trigger(self, emb: Any, token: Any) -> tuple[Any, str]:
        """The demo's greedy loop: when ``<time_begin>`` is emitted, one extra step feeds the temporal token
        on the cache (which does not yet hold the trigger) and its last hidden state goes to the head."""
        import torch

        out, ids = self._lm(emb), []
        for _ in range(self.max_new_tokens or 20):  # the demo decodes at most 20 tokens
            nxt = int(out.logits[0, -1].float().argmax())
            if nxt == self.tokenizer.time_start_token:
                extra = self._lm(token.to(emb.dtype), past=out.past_key_values)
                return extra.hidden_states[-1][:, -1:], self.tokenizer.decode(ids + [nxt])
            if nxt == self.tokenizer.eos_token_id:
                break
            ids.append(nxt)
            step = self.model.lm.get_input_embeddings()(torch.tensor([[nxt]], device=self.device))
            out = self._lm(step.to(emb.dtype), past=out.past_key_values)
        print(
            f"[tpo-eval] videochat_tpo: no <time_begin> in {len(ids)} tokens; the text answer is kept",
            file=sys.stderr,
        )
        return None, self.tokenizer.decode(ids, skip_special_tokens=True)

"""A tiny stand-in for VideoChat-TPO's ``modeling_videochate.MultiModalLLM_PT`` (our own code, random
weights).

It keeps what an evaluator touches in the released checkpoint: the config shape (``model_config`` with bridge
/
llm / vision_encoder), the ``_tokenizer`` constructor argument, the attribute names (``lm``,
``temporal_token``,
``box_token``, ``track_token``, ``loc_decoder``, ``cg_model``), and the method signatures ``pad_text_embeds``,
``encode_vision``, ``generate_caption``, ``generate_answer``, ``generate_temporal``, ``generate_seg``.
``generate_answer`` behaves like the release (bfloat16 cast of the media, hard-coded ``Best Option: (``, the
tokenizer's ``build_input_ids``) except that it honours ``generation_config["max_new_tokens"]`` to keep tests
fast (the release ignores ``generation_config`` and decodes up to 200 tokens); ``generate_temporal`` fails the
way the release does (it reads
``tokenizer.temp_place_ids``, which no tokenizer has). Test fixture only: not part of tpo_eval.
"""

import torch
from torch import nn
from transformers import MistralConfig, MistralForCausalLM, PreTrainedModel

from .model_config import VideoChatEConfig

IMG_TOKEN, VID_TOKEN = "[<IMG_PLH>]", "[<VID_PLH>]"
QFORMER_WIDTH = 16  # the release hard-codes 768 (BERT-base)
V_FEAT_DIM = 10  # clip feature + 2 TEF; the release hard-codes 770 in its CG-DETR config


class TinySpanHead(nn.Module):
    """Called like TPO's patched CG-DETR: the LLM's task embedding joins the words after the last valid
    one."""

    def __init__(self, v_dim, t_dim, d=16, queries=4):
        super().__init__()
        self.txt, self.vid = nn.Linear(t_dim, d), nn.Linear(v_dim, d)
        self.queries = nn.Parameter(torch.randn(queries, d))
        self.class_embed, self.span_embed, self.sal = nn.Linear(d, 2), nn.Linear(d, 2), nn.Linear(d, d)

    def forward(
        self,
        src_txt,
        src_txt_mask,
        src_vid,
        src_vid_mask,
        vid=None,
        qid=None,
        targets=None,
        prompt_token=None,
    ):
        if prompt_token is not None:
            rows = []
            for b in range(src_txt.shape[0]):
                n = int(src_txt_mask[b].sum())
                rows.append(torch.cat([src_txt[b, :n], prompt_token[b].to(src_txt.dtype), src_txt[b, n:]]))
            src_txt = torch.stack(rows)
            src_txt_mask = torch.cat([torch.ones_like(src_txt_mask[:, :1]), src_txt_mask], 1)
        src_txt_mask = src_txt_mask.to(src_txt.dtype)
        t = self.txt(src_txt) * src_txt_mask[..., None]
        v = self.vid(src_vid)
        ctx = t.sum(1) / src_txt_mask.sum(1, keepdim=True) + v.mean(1)
        q = self.queries[None] + ctx[:, None]
        return {
            "pred_logits": self.class_embed(q),
            "pred_spans": torch.sigmoid(self.span_embed(q)),
            "saliency_scores": (self.sal(v) * ctx[:, None]).sum(-1),
        }


class MultiModalLLM_PT(PreTrainedModel):
    config_class = VideoChatEConfig
    _no_split_modules = []

    def __init__(self, config, _tokenizer=None):
        super().__init__(config)
        mc = config.model_config
        ve, br, llm = mc["vision_encoder"], mc["bridge"], mc["llm"]
        self.tokenizer = _tokenizer
        d, h, p = ve["encoder_embed_dim"], llm["hidden_size"], ve["patch_size"]
        self.vision_encoder = nn.Linear(3 * p * p, d)
        self.vision_layernorm = nn.LayerNorm(d, eps=1e-12)
        self.query_tokens = nn.Parameter(torch.randn(1, br["num_query_token"], QFORMER_WIDTH))
        self.extra_query_tokens = nn.Parameter(torch.randn(1, br["extra_num_query_token"], QFORMER_WIDTH))
        self.qformer = nn.MultiheadAttention(QFORMER_WIDTH, 2, kdim=d, vdim=d, batch_first=True)
        self.project_up = nn.Linear(QFORMER_WIDTH, h)
        self.lm = MistralForCausalLM(
            MistralConfig(
                vocab_size=len(_tokenizer),
                hidden_size=h,
                intermediate_size=2 * h,
                num_hidden_layers=llm["num_hidden_layers"],
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=1024,
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=0,
            )
        )
        if config.build_decoder:
            self.loc_decoder = nn.Sequential(nn.Linear(h, h // 2), nn.ReLU(), nn.Linear(h // 2, 4))
            self.temporal_token = nn.Parameter(torch.randn(1, 1, h))
            self.box_token = nn.Parameter(torch.randn(1, 1, h))
            self.track_token = nn.Parameter(torch.randn(1, 1, h))
            self.cg_model = TinySpanHead(V_FEAT_DIM, h)
        self.post_init()

    def encode_vision(self, image, instruction):
        b, c, t, hh, ww = image.shape
        p = self.config.model_config["vision_encoder"]["patch_size"]
        x = image.permute(0, 2, 3, 4, 1).reshape(b, t, hh // p, p, ww // p, p, c)
        x = x.permute(0, 1, 2, 4, 3, 5, 6).reshape(b, -1, p * p * c)
        x = self.vision_layernorm(self.vision_encoder(x))
        q = torch.cat([self.query_tokens, self.extra_query_tokens], 1).expand(b, -1, -1)
        return self.qformer(q, x, x, need_weights=False)[0]

    def pad_text_embeds(
        self,
        input_ids=None,
        image=None,
        video=None,
        image_idx=None,
        video_idx=None,
        return_visual=False,
        instruction=None,
        output_boxes=None,
        input_boxes=None,
        time_instructions=None,
    ):
        emb = self.lm.get_input_embeddings()(input_ids.long()).detach().clone()
        media, idx = (image, image_idx) if image is not None else (video, video_idx)
        if media is not None:
            vis = self.project_up(self.encode_vision(media.permute(0, 2, 1, 3, 4), None))
            emb[idx == 1] = vis.reshape(-1, vis.shape[-1]).to(emb.dtype)
        for tok, param in (
            (self.tokenizer.box_token, self.box_token),
            (self.tokenizer.temp_token, self.temporal_token),
            (self.tokenizer.track_token, self.track_token),
        ):
            emb[input_ids == tok] = param.reshape(-1).to(emb.dtype)
        return emb

    def generate_caption(
        self,
        input_ids,
        attention_mask,
        image_idx=None,
        video_idx=None,
        image=None,
        video=None,
        num_beams=1,
        max_new_tokens=200,
        do_sample=True,
        top_p=0.9,
        top_k=None,
        temperature=1.0,
        length_penalty=1,
        repetition_penalty=1.0,
    ):
        emb = self.pad_text_embeds(
            input_ids=input_ids, image=image, video=video, image_idx=image_idx, video_idx=video_idx
        )
        return self.lm.generate(
            inputs_embeds=emb,
            attention_mask=attention_mask,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            num_beams=num_beams,
            pad_token_id=0,
        )

    def generate_temporal(
        self,
        input_ids=None,
        attention_mask=None,
        labels=None,
        image=None,
        video=None,
        instruction=None,
        video_idx=None,
        image_idx=None,
        boxes=None,
        text_input=None,
        video_info=None,
        temporal_labels=None,
    ):
        out = self.lm(
            inputs_embeds=self.pad_text_embeds(input_ids=input_ids, video=video, video_idx=video_idx),
            attention_mask=attention_mask,
            output_hidden_states=True,
        )
        places = input_ids.flatten() == self.tokenizer.temp_place_ids  # AttributeError, as in the release
        return out, places

    def generate_seg(
        self,
        input_ids,
        attention_mask,
        labels,
        image,
        image_idx,
        video,
        video_idx,
        input_boxes,
        size_hw,
        sam_images,
    ):
        raise NotImplementedError("the stand-in has no SAM2")

    def generate_answer(
        self,
        tokenizer,
        instruction,
        msg,
        user_prompt,
        media_type="video",
        video_tensor=None,
        image_tensor=None,
        answer_prompt=None,
        chat_history=[],
        return_history=False,
        debug=False,
        generation_config={},
    ):
        media = (
            "<Image>" + IMG_TOKEN + "</Image>"
            if media_type == "image"
            else "<Video>" + VID_TOKEN + "</Video>"
        )
        conv = (instruction or "") + "[INST] " + media + msg.rstrip() + "[/INST]"
        for q, a in chat_history:
            conv += " [INST] " + q + " [/INST]" + a + "</s>"
        conv += " [INST] " + user_prompt + " [/INST]" + ("Best Option: (" if answer_prompt else "")
        tok = tokenizer.build_input_ids(
            [conv],
            max_length=1024,
            add_special_tokens=True,
            truncation=False,
            padding=False,
            return_tensors="pt",
            image=image_tensor,
            video=video_tensor,
            require_video=True,
        )
        ids, mask = tok["input_ids"][None].to(self.device), tok["attention_mask"][None].to(self.device)
        n = generation_config.get("max_new_tokens", 200)  # the release ignores generation_config (always 200)
        if video_tensor is not None:
            out = self.generate_caption(
                ids,
                mask,
                video_idx=tok["video_index"][None],
                max_new_tokens=n,
                video=video_tensor[None].to(self.device, torch.bfloat16),
                do_sample=False,
            )
        else:
            out = self.generate_caption(
                ids,
                mask,
                image_idx=tok["image_index"][None],
                max_new_tokens=n,
                image=image_tensor[None].to(self.device, torch.bfloat16),
                do_sample=False,
            )
        return tokenizer.batch_decode(out, skip_special_tokens=True)[0], chat_history

"""Mask head: a frozen SAM2 driven by the LM's ``<tracking>`` state. The only module that imports ``sam2``.

The trainable *mask adapter* maps the task hidden state to SAM2's sparse prompt embeddings (3 × 256: what
SAM2's prompt encoder makes of a box given as two corner points plus its padding point); a second MLP
regresses the box. Training (as the public TPO code): L1 between the adapter's tokens and SAM2's own
prompt-encoder embedding of the ground-truth box, plus box L1; optionally (``MaskHeadSpec.mask_loss``)
BCE + Dice of the frozen decoder's mask logits on the conditioning frame, with gradients flowing through the
frozen decoder into the adapter. Decode: the adapter's tokens replace the prompt encoder's output on frame 0,
SAM2's video predictor propagates the mask through the clip, and per-frame boxes are read off the masks (for
tracking benchmarks).

SAM2 is built from the ``sam2`` package configs (hydra), with weights from ``sam2_checkpoint`` or random
(tests); ``image_size`` shrinks its input (and the memory-attention RoPE grid) for small test configs. The
head's records (targets, inputs, predictions) and ``sam_images`` live in :mod:`.mask_io`, re-exported here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..model.spec import MaskHeadSpec
from .base import MaskOutput, TaskHead, check_count
from .mask_io import MaskInputs, MaskPred, MaskTargets, sam_images
from .ops import mask_to_box

__all__ = [
    "SMALL_SAM2_OVERRIDES",
    "MaskHead",
    "MaskInputs",
    "MaskPred",
    "MaskTargets",
    "build_sam2",
    "sam_images",
]

# A slimmer Hiera-T (fewer blocks, 32-d trunk, one memory-attention layer) for CPU tests: with
# ``MaskHeadSpec(image_size=256, hydra_overrides=SMALL_SAM2_OVERRIDES)`` a forward pass takes well under
# a second.
SMALL_SAM2_OVERRIDES = (
    "++model.image_encoder.trunk.embed_dim=32",
    "++model.image_encoder.neck.backbone_channel_list=[256,128,64,32]",
    "++model.image_encoder.trunk.stages=[1,1,2,1]",
    "++model.image_encoder.trunk.global_att_blocks=[3]",
    "++model.memory_attention.num_layers=1",
)


def build_sam2(spec: MaskHeadSpec) -> nn.Module:
    from sam2.build_sam import build_sam2_video_predictor

    overrides = list(spec.hydra_overrides)
    if spec.image_size is not None:
        if spec.image_size % 16:
            raise ValueError(f"mask head: image_size must be a multiple of 16, got {spec.image_size}")
        grid = spec.image_size // 16  # stride of SAM2's lowest-resolution features
        overrides = [
            f"++model.image_size={spec.image_size}",
            f"++model.memory_attention.layer.self_attention.feat_sizes=[{grid},{grid}]",
            f"++model.memory_attention.layer.cross_attention.feat_sizes=[{grid},{grid}]",
        ] + overrides
    if spec.sam2_checkpoint is not None and not Path(spec.sam2_checkpoint).is_file():
        raise FileNotFoundError(f"mask head: SAM2 checkpoint {spec.sam2_checkpoint} not found")
    return build_sam2_video_predictor(
        spec.sam2_config, spec.sam2_checkpoint, device="cpu", hydra_overrides_extra=overrides
    )


class MaskHead(TaskHead):
    task = "mask"

    def __init__(self, spec: MaskHeadSpec, llm_hidden: int) -> None:
        super().__init__()
        self.spec = spec
        self.sam = build_sam2(spec)
        for p in self.sam.parameters():
            p.requires_grad = False
        self.sam.eval()
        dim = int(self.sam.sam_prompt_embed_dim)
        self.adapter = nn.Sequential(
            nn.Linear(llm_hidden, llm_hidden), nn.ReLU(), nn.Linear(llm_hidden, 3 * dim)
        )
        self.box_mlp = nn.Sequential(nn.Linear(llm_hidden, llm_hidden), nn.ReLU(), nn.Linear(llm_hidden, 4))

    def trainable_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        return ((n, p) for n, p in self.named_parameters() if not n.startswith("sam."))

    def train(self, mode: bool = True) -> MaskHead:
        super().train(mode)
        self.sam.eval()  # frozen: always inference numerics
        return self

    @property
    def image_size(self) -> int:
        return int(self.sam.image_size)

    def prompt_embedding(self, boxes: torch.Tensor) -> torch.Tensor:
        """SAM2's own sparse embedding (N, 3, 256) of normalised xyxy boxes (two corner points, labels
        2/3)."""
        self._sam_fp32()
        pts = boxes.float().reshape(-1, 2, 2) * self.image_size
        labels = torch.tensor([[2, 3]], device=pts.device).expand(pts.shape[0], 2)
        sparse, _ = self.sam.sam_prompt_encoder(points=(pts, labels), boxes=None, masks=None)
        return sparse

    def forward(self, hidden: torch.Tensor, inputs: Optional[MaskInputs] = None) -> MaskPred:
        h = hidden.to(self.adapter[0].weight.dtype)
        sparse = self.adapter(h).reshape(h.shape[0], 3, -1)
        logits = None
        if self.spec.mask_loss and inputs is not None and inputs.images is not None:
            check_count(self.task, h.shape[0], inputs.images.shape[0])
            if tuple(inputs.images.shape[1:]) != (3, self.image_size, self.image_size):
                raise ValueError(
                    f"mask head: images must be (N, 3, {self.image_size}, {self.image_size}) "
                    f"(sam_images(frames, {self.image_size})), got {tuple(inputs.images.shape)}"
                )
            logits = self._decode_masks(inputs.images.to(sparse), sparse)
        return MaskPred(sparse, self.box_mlp(h), logits)

    def _decode_masks(self, images: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        """Single-frame SAM2 mask logits (N, 1, S/4, S/4) for the given prompt tokens (image side without
        grad).

        SAM2 always runs in fp32: DeepSpeed bf16 casts its (frozen) parameters with the rest of the model but
        keeps fp32 buffers, and SAM2 mixes the two (positional encodings, layer norms); frozen weights are in
        no optimizer group, so casting them back is safe. The adapter's bf16 tokens enter as fp32."""
        self._sam_fp32()
        return self._sam_decode(images.float(), sparse.float())

    def _sam_fp32(self) -> None:
        if next(self.sam.parameters()).dtype != torch.float32:
            self.sam.float()

    def _sam_decode(self, images: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        sam = self.sam
        with torch.no_grad():
            _, feats, _, sizes = sam._prepare_backbone_features(sam.forward_image(images))
            if sam.directly_add_no_mem_embed:
                feats[-1] = feats[-1] + sam.no_mem_embed
            maps = [f.permute(1, 2, 0).reshape(images.shape[0], -1, *s) for f, s in zip(feats, sizes)]
            dense = sam.sam_prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
                images.shape[0], -1, *sam.sam_prompt_encoder.image_embedding_size
            )
        logits, _, _, _ = sam.sam_mask_decoder(
            image_embeddings=maps[-1],
            image_pe=sam.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=False,
            repeat_image=False,
            high_res_features=maps[:-1],
        )
        return logits

    def loss(self, pred: MaskPred, targets: MaskTargets, inputs: Any = None) -> dict[str, torch.Tensor]:
        gt = targets.boxes.to(pred.box)
        check_count(self.task, pred.sparse.shape[0], gt.shape[0])
        with torch.no_grad():
            gt_embed = self.prompt_embedding(gt)
        out = {"embed": F.l1_loss(pred.sparse, gt_embed.to(pred.sparse)), "box": F.l1_loss(pred.box, gt)}
        total = self.spec.w_embed * out["embed"] + self.spec.w_box * out["box"]
        if pred.mask_logits is not None:
            if targets.masks is None:
                raise ValueError("mask head: mask_loss is on but the targets carry no masks")
            m = F.interpolate(
                targets.masks[:, None].float().to(pred.mask_logits),
                size=pred.mask_logits.shape[-2:],
                mode="bilinear",
                align_corners=False,
            )
            out["bce"] = F.binary_cross_entropy_with_logits(pred.mask_logits, m)
            p = pred.mask_logits.sigmoid().flatten(1)
            out["dice"] = (
                1 - (2 * (p * m.flatten(1)).sum(1) + 1) / (p.sum(1) + m.flatten(1).sum(1) + 1)
            ).mean()
            total = total + self.spec.w_bce * out["bce"] + self.spec.w_dice * out["dice"]
        out["total"] = total
        return out

    @torch.no_grad()
    def decode(self, pred: MaskPred, inputs: Optional[MaskInputs] = None) -> list[MaskOutput]:
        boxes = pred.box.detach().float().clamp(0, 1)
        outs = []
        for i in range(pred.sparse.shape[0]):
            box = tuple(float(v) for v in boxes[i])
            video = None if inputs is None or inputs.videos is None else inputs.videos[i]
            if video is None:
                outs.append(MaskOutput(masks=None, boxes=(), box=box))
                continue
            masks = self._propagate(np.asarray(video), pred.sparse[i : i + 1], boxes[i])
            frame_boxes = tuple(tuple(float(v) for v in mask_to_box(torch.from_numpy(m))) for m in masks)
            outs.append(MaskOutput(masks=masks, boxes=frame_boxes, box=box))
        return outs

    def _propagate(self, video: np.ndarray, sparse: Optional[torch.Tensor], box: torch.Tensor) -> np.ndarray:
        """Masks (T, H, W) bool: the prompt tokens on frame 0, SAM2's memory carries them through the clip.

        ``sparse`` None = SAM2's own prompt for ``box`` (normalised xyxy); otherwise the box is only a carrier
        and the prompt encoder's sparse output is replaced by ``sparse`` for this one call.
        """
        from PIL import Image

        enc = self.sam.sam_prompt_encoder
        original = enc.forward
        with tempfile.TemporaryDirectory() as tmp:
            for t, frame in enumerate(video):  # sam2 reads a folder of numbered JPEGs
                Image.fromarray(frame).save(Path(tmp) / f"{t:05d}.jpg", quality=95)
            state = self.sam.init_state(video_path=tmp)
        h, w = video.shape[1:3]

        def prompt(points: Any, boxes: Any, masks: Any) -> tuple[torch.Tensor, torch.Tensor]:
            own, dense = original(points, boxes, masks)
            return sparse.to(own), dense

        if sparse is not None:
            enc.forward = prompt
        try:
            pix_box = (box.cpu().float() * torch.tensor([w, h, w, h])).numpy()
            self.sam.add_new_points_or_box(state, frame_idx=0, obj_id=0, box=pix_box)
        finally:
            if sparse is not None:
                del enc.forward
        masks = np.zeros((len(video), h, w), dtype=bool)
        for t, _, logits in self.sam.propagate_in_video(state):
            masks[t] = (logits[0, 0] > 0).cpu().numpy()
        return masks

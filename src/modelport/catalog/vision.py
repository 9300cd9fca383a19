"""The vision towers of the Qwen VL bases (Qwen2.5-VL and Qwen3-VL): their dimensions read from
`vision_config`, and the exact full-checkpoint tensors they imply.

Pure arithmetic over a config dict, like the text architecture beside it; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.catalog.config_fields import MAX_LAYERS, ArchitectureError, Fields, Shape, section


@dataclass(frozen=True)
class VisionTower:
    kind: str  # "qwen2_5_vl" | "qwen3_vl"
    depth: int
    hidden_size: int
    intermediate_size: int
    num_heads: int
    patch_size: int
    temporal_patch_size: int
    in_channels: int
    spatial_merge_size: int
    out_hidden_size: int
    num_position_embeddings: int | None = None  # qwen3_vl only
    deepstack_visual_indexes: tuple[int, ...] = ()  # qwen3_vl only

    @property
    def merged_size(self) -> int:
        """Width after the merger concatenates a spatial_merge_size² patch group."""
        return self.hidden_size * self.spatial_merge_size**2

    def tensors(self, prefix: str) -> dict[str, Shape]:
        """The tower's full-checkpoint tensors under `prefix` ("visual." or "model.visual.")."""
        if self.kind == "qwen2_5_vl":
            return self._qwen2_5_vl_tensors(prefix)
        return self._qwen3_vl_tensors(prefix)

    def loading_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "vision.depth": self.depth,
            "vision.hidden_size": self.hidden_size,
            "vision.intermediate_size": self.intermediate_size,
            "vision.num_heads": self.num_heads,
            "vision.patch_size": self.patch_size,
            "vision.temporal_patch_size": self.temporal_patch_size,
            "vision.in_channels": self.in_channels,
            "vision.spatial_merge_size": self.spatial_merge_size,
            "vision.out_hidden_size": self.out_hidden_size,
        }
        if self.kind == "qwen3_vl":
            fields["vision.num_position_embeddings"] = self.num_position_embeddings
            fields["vision.deepstack_visual_indexes"] = self.deepstack_visual_indexes
        return fields

    def _patch_embed(self) -> Shape:
        p = self.patch_size
        return (self.hidden_size, self.in_channels, self.temporal_patch_size, p, p)

    def _qwen2_5_vl_tensors(self, prefix: str) -> dict[str, Shape]:
        h, i, m, o = self.hidden_size, self.intermediate_size, self.merged_size, self.out_hidden_size
        # Conv3d without bias; RMSNorm blocks (weight only); SwiGLU MLP with biases.
        out: dict[str, Shape] = {f"{prefix}patch_embed.proj.weight": self._patch_embed()}
        for b in range(self.depth):
            block = f"{prefix}blocks.{b}."
            out |= {
                f"{block}norm1.weight": (h,),
                f"{block}norm2.weight": (h,),
                f"{block}attn.qkv.weight": (3 * h, h),
                f"{block}attn.qkv.bias": (3 * h,),
                f"{block}attn.proj.weight": (h, h),
                f"{block}attn.proj.bias": (h,),
                f"{block}mlp.gate_proj.weight": (i, h),
                f"{block}mlp.gate_proj.bias": (i,),
                f"{block}mlp.up_proj.weight": (i, h),
                f"{block}mlp.up_proj.bias": (i,),
                f"{block}mlp.down_proj.weight": (h, i),
                f"{block}mlp.down_proj.bias": (h,),
            }
        out |= {
            f"{prefix}merger.ln_q.weight": (h,),
            f"{prefix}merger.mlp.0.weight": (m, m),
            f"{prefix}merger.mlp.0.bias": (m,),
            f"{prefix}merger.mlp.2.weight": (o, m),
            f"{prefix}merger.mlp.2.bias": (o,),
        }
        return out

    def _qwen3_vl_tensors(self, prefix: str) -> dict[str, Shape]:
        h, i, m, o = self.hidden_size, self.intermediate_size, self.merged_size, self.out_hidden_size
        assert self.num_position_embeddings is not None  # guaranteed by _read_vision
        # Conv3d with bias, learned position table, LayerNorm blocks (weight and bias), GELU MLP.
        out: dict[str, Shape] = {
            f"{prefix}patch_embed.proj.weight": self._patch_embed(),
            f"{prefix}patch_embed.proj.bias": (h,),
            f"{prefix}pos_embed.weight": (self.num_position_embeddings, h),
        }
        for b in range(self.depth):
            block = f"{prefix}blocks.{b}."
            out |= {
                f"{block}norm1.weight": (h,),
                f"{block}norm1.bias": (h,),
                f"{block}norm2.weight": (h,),
                f"{block}norm2.bias": (h,),
                f"{block}attn.qkv.weight": (3 * h, h),
                f"{block}attn.qkv.bias": (3 * h,),
                f"{block}attn.proj.weight": (h, h),
                f"{block}attn.proj.bias": (h,),
                f"{block}mlp.linear_fc1.weight": (i, h),
                f"{block}mlp.linear_fc1.bias": (i,),
                f"{block}mlp.linear_fc2.weight": (h, i),
                f"{block}mlp.linear_fc2.bias": (h,),
            }
        # The main merger normalises before the patch shuffle (width h); the deepstack mergers after
        # it (width m), which is why their norm shapes differ.
        out |= _merger(f"{prefix}merger.", norm=h, merged=m, out=o)
        for k in range(len(self.deepstack_visual_indexes)):
            out |= _merger(f"{prefix}deepstack_merger_list.{k}.", norm=m, merged=m, out=o)
        return out


def _merger(prefix: str, *, norm: int, merged: int, out: int) -> dict[str, Shape]:
    return {
        f"{prefix}norm.weight": (norm,),
        f"{prefix}norm.bias": (norm,),
        f"{prefix}linear_fc1.weight": (merged, merged),
        f"{prefix}linear_fc1.bias": (merged,),
        f"{prefix}linear_fc2.weight": (out, merged),
        f"{prefix}linear_fc2.bias": (out,),
    }


def read_vision(config: Mapping[str, Any], model_type: str, text_hidden: int) -> VisionTower | None:
    if model_type not in ("qwen2_5_vl", "qwen3_vl"):
        return None
    vision_config = section(config, "vision_config", required=True)
    assert vision_config is not None
    fields = Fields(("vision_config.", vision_config))
    # Defaults below are only for dims every Qwen VL tower shares; the size-defining dims are required
    # because transformers' own defaults (e.g. out_hidden_size 3584) do not match most checkpoints.
    depth = fields.integer("depth", cap=MAX_LAYERS)
    hidden = fields.integer("hidden_size")
    num_heads = fields.integer("num_heads")
    if hidden % num_heads:
        raise ArchitectureError(
            f"config.json vision_config.hidden_size ({hidden}) must be a multiple of "
            f"vision_config.num_heads ({num_heads})."
        )
    out_hidden = fields.integer("out_hidden_size")
    if out_hidden != text_hidden:
        raise ArchitectureError(
            f"config.json vision_config.out_hidden_size must equal the text hidden_size {text_hidden}; "
            f"found {out_hidden}."
        )
    qwen3 = model_type == "qwen3_vl"
    deepstack = fields.integer_list("deepstack_visual_indexes", below=depth) if qwen3 else ()
    return VisionTower(
        kind=model_type,
        depth=depth,
        hidden_size=hidden,
        intermediate_size=fields.integer("intermediate_size"),
        num_heads=num_heads,
        patch_size=fields.integer("patch_size", 16 if qwen3 else 14),
        temporal_patch_size=fields.integer("temporal_patch_size", 2),
        # Original Qwen2.5-VL configs say in_chans, which transformers ignores: it builds in_channels.
        in_channels=fields.integer("in_channels", 3),
        spatial_merge_size=fields.integer("spatial_merge_size", 2),
        out_hidden_size=out_hidden,
        num_position_embeddings=fields.integer("num_position_embeddings") if qwen3 else None,
        deepstack_visual_indexes=deepstack,
    )

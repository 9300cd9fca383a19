"""Every module of a base model as transformers 5 builds it, by name and kind: the universe PEFT
matches `target_modules` against (`named_modules()` of `Qwen2ForCausalLM`, `Qwen3ForCausalLM`,
`Qwen2_5_VLForConditionalGeneration`, `Qwen3VLForConditionalGeneration`).

Read off the real classes (transformers 5.19, built from each tiny config on the meta device) and
kept as templates here, so the gate knows which module a pattern selects, and whether PEFT can
adapt it (Linear, Embedding, Conv) or refuses to load (anything else), without importing a model.
"""

from __future__ import annotations

import enum

from modelport.catalog.architecture import LAYER_MODULES, Architecture


class ModuleKind(enum.StrEnum):
    LINEAR = "linear"
    EMBEDDING = "embedding"
    CONV = "conv"
    OTHER = "other"  # containers, norms, activations, rotary embeddings: PEFT cannot adapt them


LORA_KINDS = frozenset({ModuleKind.LINEAR, ModuleKind.EMBEDDING, ModuleKind.CONV})

_QWEN2_5_VL_BLOCK = {
    "norm1": ModuleKind.OTHER, "norm2": ModuleKind.OTHER, "attn": ModuleKind.OTHER,
    "attn.qkv": ModuleKind.LINEAR, "attn.proj": ModuleKind.LINEAR, "mlp": ModuleKind.OTHER,
    "mlp.gate_proj": ModuleKind.LINEAR, "mlp.up_proj": ModuleKind.LINEAR, "mlp.down_proj": ModuleKind.LINEAR,
    "mlp.act_fn": ModuleKind.OTHER,
}  # fmt: skip
_QWEN3_VL_BLOCK = {
    "norm1": ModuleKind.OTHER, "norm2": ModuleKind.OTHER, "attn": ModuleKind.OTHER,
    "attn.qkv": ModuleKind.LINEAR, "attn.proj": ModuleKind.LINEAR, "mlp": ModuleKind.OTHER,
    "mlp.linear_fc1": ModuleKind.LINEAR, "mlp.linear_fc2": ModuleKind.LINEAR, "mlp.act_fn": ModuleKind.OTHER,
}  # fmt: skip
_QWEN3_VL_MERGER = {
    "": ModuleKind.OTHER, "norm": ModuleKind.OTHER, "linear_fc1": ModuleKind.LINEAR, "act_fn": ModuleKind.OTHER,
    "linear_fc2": ModuleKind.LINEAR,
}  # fmt: skip


def text_prefix(architecture: Architecture) -> str:
    """Where the decoder sits in the model PEFT wraps: `model.` or, for VL bases, `model.language_model.`."""
    return "model.language_model." if architecture.is_vision_language else "model."


def module_tree(architecture: Architecture) -> dict[str, ModuleKind]:
    """Every module name of the model (as PEFT sees it: no `base_model.model.` prefix) and its kind."""
    tree: dict[str, ModuleKind] = {"": ModuleKind.OTHER, "model": ModuleKind.OTHER, "lm_head": ModuleKind.LINEAR}
    prefix = text_prefix(architecture)
    if architecture.is_vision_language:
        tree["model.language_model"] = ModuleKind.OTHER
    tree |= {
        f"{prefix}embed_tokens": ModuleKind.EMBEDDING,
        f"{prefix}layers": ModuleKind.OTHER,
        f"{prefix}norm": ModuleKind.OTHER,
        f"{prefix}rotary_emb": ModuleKind.OTHER,
    }
    for index in range(architecture.num_hidden_layers):
        layer = f"{prefix}layers.{index}"
        tree |= {layer: ModuleKind.OTHER, f"{layer}.self_attn": ModuleKind.OTHER, f"{layer}.mlp": ModuleKind.OTHER}
        tree |= {f"{layer}.{path}": ModuleKind.LINEAR for path in LAYER_MODULES}
        for other in ("mlp.act_fn", "input_layernorm", "post_attention_layernorm"):
            tree[f"{layer}.{other}"] = ModuleKind.OTHER
        if architecture.qk_norm:
            tree[f"{layer}.self_attn.q_norm"] = ModuleKind.OTHER
            tree[f"{layer}.self_attn.k_norm"] = ModuleKind.OTHER
    if architecture.vision is not None:
        tree |= _vision_tree(architecture)
    return tree


def is_vision_module(name: str) -> bool:
    return name == "model.visual" or name.startswith("model.visual.")


def _vision_tree(architecture: Architecture) -> dict[str, ModuleKind]:
    vision = architecture.vision
    assert vision is not None
    root = "model.visual"
    tree = {
        root: ModuleKind.OTHER,
        f"{root}.patch_embed": ModuleKind.OTHER,
        f"{root}.patch_embed.proj": ModuleKind.CONV,
        f"{root}.rotary_pos_emb": ModuleKind.OTHER,
        f"{root}.blocks": ModuleKind.OTHER,
        f"{root}.merger": ModuleKind.OTHER,
    }
    block = _QWEN2_5_VL_BLOCK if vision.kind == "qwen2_5_vl" else _QWEN3_VL_BLOCK
    for index in range(vision.depth):
        tree[f"{root}.blocks.{index}"] = ModuleKind.OTHER
        tree |= {f"{root}.blocks.{index}.{path}": kind for path, kind in block.items()}
    if vision.kind == "qwen2_5_vl":
        tree |= {
            f"{root}.merger.ln_q": ModuleKind.OTHER,
            f"{root}.merger.mlp": ModuleKind.OTHER,
            f"{root}.merger.mlp.0": ModuleKind.LINEAR,
            f"{root}.merger.mlp.1": ModuleKind.OTHER,
            f"{root}.merger.mlp.2": ModuleKind.LINEAR,
        }
        return tree
    tree[f"{root}.pos_embed"] = ModuleKind.EMBEDDING
    tree |= {f"{root}.merger.{path}".rstrip("."): kind for path, kind in _QWEN3_VL_MERGER.items() if path}
    tree[f"{root}.deepstack_merger_list"] = ModuleKind.OTHER
    for index in range(len(vision.deepstack_visual_indexes)):
        merger = f"{root}.deepstack_merger_list.{index}"
        tree |= {f"{merger}.{path}".rstrip("."): kind for path, kind in _QWEN3_VL_MERGER.items()}
    return tree

"""The tensors of adapter_model.safetensors, each bound to a real module of the declared base with
the exact shapes a serving engine allocates.

Keys are `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` (or `lora_embedding_A/B`
for an embedding), with `<module>` a Linear or Embedding of the base's module tree. Anything
else is refused: PEFT would load a key that names a base parameter straight into the base model,
and vLLM refuses it. `lora_A` is `[r, in]` and `lora_B` `[out, r]`: vLLM copies a smaller matrix
into the leading slice of its buffer without a word, so a shape that does not fill it exactly
(an adapter of a smaller base, a `lora_B` with half its rows) is refused here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Final

from modelport.catalog.architecture import Architecture, LinearShape
from modelport.catalog.module_tree import ModuleKind, is_vision_module, module_tree, text_prefix
from modelport.domain import reasons
from modelport.validation.findings import Findings
from modelport.validation.safetensors import SafetensorsHeader, TensorInfo

WEIGHTS = "adapter_model.safetensors"
_KEY: Final = re.compile(
    r"^base_model\.model\.(?P<module>[A-Za-z0-9_.]+?)\."
    r"(?P<kind>lora_A\.weight|lora_B\.weight|lora_embedding_A|lora_embedding_B)$"
)
_A_KINDS: Final = ("lora_A.weight", "lora_embedding_A")
_PAIRS: Final = (("lora_A.weight", "lora_B.weight"), ("lora_embedding_A", "lora_embedding_B"))
_LAYER: Final = re.compile(r"layers\.(?P<index>0|[1-9][0-9]*)\.(?P<sub>.+)$")


@dataclass(frozen=True)
class LoraTensor:
    info: TensorInfo
    module: str  # the module's name inside the model, e.g. "model.layers.3.self_attn.k_proj"
    kind: str  # lora_A.weight, lora_B.weight, lora_embedding_A, lora_embedding_B
    expected: LinearShape  # in/out features of the module it adapts
    layer: int | None

    @property
    def rank(self) -> int | None:
        shape = self.info.shape
        if len(shape) != 2:
            return None
        return shape[0] if self.kind in _A_KINDS else shape[1]

    def shape_at(self, rank: int) -> tuple[int, ...]:
        if self.kind in _A_KINDS:
            return (rank, self.expected.in_features)
        return (self.expected.out_features, rank)


def bind_tensors(
    header: SafetensorsHeader, architecture: Architecture, base_id: str, findings: Findings
) -> list[LoraTensor]:
    """Map every key to a module of the base; anything that does not map is an error."""
    before = findings.error_count
    tree = module_tree(architecture)
    prefix = text_prefix(architecture)
    tensors: list[LoraTensor] = []
    old_layout: list[str] = []

    def fail(code: reasons.Reason, info: TensorInfo, message: str) -> None:
        findings.error(code, f"{WEIGHTS}: tensor {info.name} {message}", file=WEIGHTS, tensor=info.name)

    if not header.tensors:
        findings.error(
            reasons.LORA_EMPTY_ADAPTER, f"{WEIGHTS} holds no tensors; the adapter would change nothing.", file=WEIGHTS
        )
    for info in header.tensors:
        match = _KEY.match(info.name)
        if match is None:
            fail(reasons.LORA_UNEXPECTED_TENSOR, info, _unexpected_reason(info.name))
            continue
        module, kind = match["module"], match["kind"]
        if is_vision_module(module) or module.startswith("visual."):
            fail(
                reasons.LORA_VISION_TENSOR,
                info,
                f"adapts the vision tower; {base_id} imports accept LoRA on the language model only (freeze the "
                "vision tower when training).",
            )
            continue
        if architecture.is_vision_language and module.startswith("model.layers."):
            old_layout.append(info.name)
            continue
        node = tree.get(module)
        if node is None:
            out_of_range = _layer_out_of_range(module, prefix, architecture)
            code = reasons.LORA_LAYER_OUT_OF_RANGE if out_of_range else reasons.LORA_UNKNOWN_MODULE
            fail(code, info, _unknown_reason(module, prefix, architecture, base_id))
            continue
        embedding = kind.startswith("lora_embedding")
        if node not in (ModuleKind.LINEAR, ModuleKind.EMBEDDING):
            fail(
                reasons.LORA_UNKNOWN_MODULE,
                info,
                f"adapts {module!r}, which is not a LoRA-targetable layer of {base_id}.",
            )
            continue
        if embedding != (node == ModuleKind.EMBEDDING):
            expected_kind = "lora_embedding_A/B" if node == ModuleKind.EMBEDDING else "lora_A.weight/lora_B.weight"
            fail(reasons.LORA_UNEXPECTED_TENSOR, info, f"is a {kind} tensor, but {module} takes {expected_kind}.")
            continue
        shape, layer = _linear_shape(module, prefix, architecture)
        if shape is None:
            fail(
                reasons.LORA_UNKNOWN_MODULE,
                info,
                f"adapts {module!r}, which is not a LoRA-targetable layer of {base_id}.",
            )
            continue
        if layer is None and architecture.model_type in ("qwen2", "qwen2_5_vl"):
            fail(
                reasons.LORA_UNSUPPORTED_MODULE,
                info,
                f"adapts {module}; LoRA on the embeddings or lm_head is not supported for Qwen2.5 bases by serving "
                "engines. Train without embed_tokens/lm_head in target_modules.",
            )
            continue
        tensors.append(LoraTensor(info=info, module=module, kind=kind, expected=shape, layer=layer))
    if old_layout:
        findings.error(
            reasons.LORA_OLD_VL_LAYOUT,
            f"{WEIGHTS} uses the pre-transformers-4.52 key layout (e.g. {old_layout[0]}); PEFT with transformers 5 "
            "binds none of those tensors. Save the adapter again with transformers 4.52 or newer, so that keys "
            "read model.language_model.layers.N.",
            file=WEIGHTS,
            tensor=old_layout[0],
        )
    findings.checked("lora.tensor_names", before, f"{len(header.tensors)} tensors")
    return tensors


def check_shapes(tensors: list[LoraTensor], rank: int, base_id: str, findings: Findings) -> None:
    """Every matrix has the shape of its module at `rank`; every module has both matrices."""
    before = findings.error_count
    by_module: dict[str, dict[str, LoraTensor]] = defaultdict(dict)
    ranks: Counter[int] = Counter()
    for tensor in tensors:
        by_module[tensor.module][tensor.kind] = tensor
        found, expected = tensor.info.shape, tensor.shape_at(rank)
        found_rank = tensor.rank
        if found_rank is not None:
            ranks[found_rank] += 1
        if found == expected:
            continue
        if found_rank is not None and found_rank != rank and tensor.shape_at(found_rank) == found:
            findings.error(
                reasons.LORA_MIXED_RANKS,
                f"{WEIGHTS}: tensor {tensor.info.name} has rank {found_rank} (shape {list(found)}) while "
                f"adapter_config.json says r={rank}; every module must use the same rank.",
                file=WEIGHTS,
                tensor=tensor.info.name,
            )
        else:
            findings.error(
                reasons.LORA_SHAPE_MISMATCH,
                f"{WEIGHTS}: tensor {tensor.info.name} has shape {list(found)}; {base_id} expects {list(expected)} — "
                "was the adapter trained on another base model?",
                file=WEIGHTS,
                tensor=tensor.info.name,
            )
    for module, pair in sorted(by_module.items()):
        for a, b in _PAIRS:
            if (a in pair) != (b in pair):
                present, missing = (a, b) if a in pair else (b, a)
                findings.error(
                    reasons.LORA_UNPAIRED_TENSOR,
                    f"{WEIGHTS}: module {module} has {present} but no {missing}; every LoRA module needs both "
                    "matrices.",
                    file=WEIGHTS,
                    tensor=f"base_model.model.{module}.{present}",
                )
    if len(ranks) > 1:
        findings.error(
            reasons.LORA_MIXED_RANKS,
            f"{WEIGHTS} mixes ranks {sorted(ranks)}; every LoRA module must use the same rank.",
            file=WEIGHTS,
        )
    findings.checked("lora.shapes_and_rank", before, f"rank {rank}")


def _linear_shape(module: str, prefix: str, architecture: Architecture) -> tuple[LinearShape | None, int | None]:
    top = architecture.lora_top_level()
    if module == "lm_head":
        return top["lm_head"], None
    if module == f"{prefix}embed_tokens":
        return top["embed_tokens"], None
    if not module.startswith(prefix):
        return None, None
    layered = _LAYER.match(module[len(prefix) :])
    if layered is None:
        return None, None
    return architecture.lora_modules().get(layered["sub"]), int(layered["index"])


def _layer_out_of_range(module: str, prefix: str, architecture: Architecture) -> bool:
    layered = _LAYER.match(module[len(prefix) :]) if module.startswith(prefix) else None
    return layered is not None and int(layered["index"]) >= architecture.num_hidden_layers


def _unknown_reason(module: str, prefix: str, architecture: Architecture, base_id: str) -> str:
    layers = architecture.num_hidden_layers
    if _layer_out_of_range(module, prefix, architecture):
        index = int(module[len(prefix) :].split(".")[1])
        return (
            f"names layer {index}, but {base_id} has {layers} layers (0-{layers - 1}) — was the adapter trained on "
            "another base model?"
        )
    if not module.startswith(prefix) and ".layers." in f".{module}":
        return f"uses the module path {module!r}; {base_id} adapters use '{prefix}layers.N'."
    return f"adapts {module!r}, which is not a module of {base_id}."


def _unexpected_reason(name: str) -> str:
    if name.endswith("lora_magnitude_vector") or ".lora_magnitude_vector" in name:
        return "is a DoRA magnitude vector; DoRA adapters cannot be served as LoRA."
    if name.endswith(".bias"):
        return "is a bias; LoRA serving engines do not load LoRA biases."
    if ".lora_A." in name or ".lora_B." in name:
        return "carries an adapter name or suffix; PEFT saves keys as '<module>.lora_A.weight'."
    if name.endswith("base_layer.weight") or "lora_" not in name:
        return (
            "is a full weight, not a LoRA matrix (modules_to_save or saved embeddings); PEFT would load it into the "
            "base model and vLLM would refuse it."
        )
    if not name.startswith("base_model.model."):
        return "does not start with 'base_model.model.' as PEFT adapter keys do."
    return "is not a LoRA tensor name a serving engine understands."

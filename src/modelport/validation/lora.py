"""LoRA adapter rules: `adapter_config.json` and every tensor of `adapter_model.safetensors`
checked against the declared base model's architecture.

A job that passes these rules holds an adapter whose every tensor binds to a real module of the
base with the exact shapes a serving engine will allocate, at one allowed rank, with nothing a
serving engine would silently ignore.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from modelport.catalog.architecture import LinearShape
from modelport.domain import reasons
from modelport.domain.reasons import Reason
from modelport.validation.file_policy import ADAPTER_CONFIG, ADAPTER_WEIGHTS
from modelport.validation.findings import Outcome
from modelport.validation.safetensors import SafetensorsHeader, TensorInfo
from modelport.validation.upload import CopyItem, CopyPlan, RuleContext

ALLOWED_RANKS = (8, 16, 32, 64)
_KEY = re.compile(
    r"^base_model\.model\.(?P<module>[A-Za-z0-9_.]+?)\."
    r"(?P<kind>lora_A\.weight|lora_B\.weight|lora_embedding_A|lora_embedding_B)$"
)
_LAYER = re.compile(r"^(?P<prefix>(?:[A-Za-z_]+\.)*?)layers\.(?P<index>0|[1-9][0-9]*)\.(?P<sub>.+)$")
_INIT_MODIFYING_BASE = ("pissa", "olora", "corda", "loftq")
# adapter_config.json fields that select PEFT variants a serving engine cannot apply as plain LoRA.
_EXOTIC_FIELDS = (
    "layer_replication", "use_qalora", "use_bdlora", "trainable_token_indices", "target_parameters",
    "megatron_config", "loftq_config", "corda_config", "alora_invocation_tokens", "arrow_config",
)  # fmt: skip
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[*+][^)]*\)[*+{]")


@dataclass(frozen=True)
class AdapterConfig:
    rank: int
    alpha: float
    target_modules: list[str] | str
    layers_to_transform: frozenset[int] | None
    use_rslora: bool


@dataclass(frozen=True)
class LoraTensor:
    info: TensorInfo
    module: str  # path inside the model, e.g. "model.layers.3.self_attn.k_proj"
    kind: str  # lora_A.weight, lora_B.weight, lora_embedding_A, lora_embedding_B
    expected: LinearShape  # in/out features of the module it adapts
    layer: int | None


def check_lora(context: RuleContext) -> CopyPlan:
    findings = context.findings
    upload = context.upload
    before = findings.error_count
    for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
        if not upload.has(name):
            findings.error(
                reasons.LORA_MISSING_FILE,
                f"{name} is missing: a LoRA import needs adapter_config.json and adapter_model.safetensors "
                "at the top of the folder (the files PEFT's save_pretrained writes).",
                file=name,
            )
    findings.checked("lora.required_files", before)

    config = _check_config(context) if ADAPTER_CONFIG in upload.documents else None
    header = upload.headers.get(ADAPTER_WEIGHTS)
    if header is None:
        findings.check("lora.tensors", Outcome.SKIPPED, "adapter_model.safetensors could not be read")
        return CopyPlan()
    tensors = _check_tensor_names(context, header)
    if config is not None:
        _check_shapes_and_ranks(context, config, tensors)
        _check_targets(context, config, tensors)
    else:
        findings.check("lora.shapes", Outcome.SKIPPED, "adapter_config.json is unusable")

    zero_check = frozenset(t.info.name for t in tensors if t.kind in ("lora_B.weight", "lora_embedding_B"))
    items = [CopyItem(name=ADAPTER_WEIGHTS, size=header.file_size, header=header, zero_check=zero_check)]
    if upload.has(ADAPTER_CONFIG):
        items.append(CopyItem(name=ADAPTER_CONFIG, size=upload.accepted[ADAPTER_CONFIG].size))
    return CopyPlan(items=tuple(items), summary=_summary(config, header, tensors))


def _check_config(context: RuleContext) -> AdapterConfig | None:
    findings = context.findings
    document = context.upload.documents[ADAPTER_CONFIG]
    before = findings.error_count

    def fail(code: Reason, message: str) -> None:
        findings.error(code, f"{ADAPTER_CONFIG}: {message}", file=ADAPTER_CONFIG)

    if not isinstance(document, dict):
        fail(reasons.LORA_CONFIG_SCHEMA, "must be a JSON object.")
        findings.checked("lora.config", before)
        return None
    peft_type = document.get("peft_type")
    if peft_type != "LORA":
        fail(reasons.LORA_PEFT_TYPE, f"peft_type is {peft_type!r}; only 'LORA' adapters can be imported.")
    rank = document.get("r")
    if not _is_int(rank):
        fail(reasons.LORA_CONFIG_SCHEMA, f"r (the rank) must be an integer; found {rank!r}.")
    elif rank not in ALLOWED_RANKS:
        fail(
            reasons.LORA_RANK_NOT_ALLOWED,
            f"r is {rank}; the rank must be one of {', '.join(map(str, ALLOWED_RANKS))}. Retrain the adapter "
            "with one of those ranks.",
        )
    alpha = document.get("lora_alpha")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or alpha <= 0:
        fail(reasons.LORA_CONFIG_SCHEMA, f"lora_alpha must be a positive number; found {alpha!r}.")
    targets = document.get("target_modules")
    if not (isinstance(targets, str) and targets) and not (
        isinstance(targets, list) and targets and all(isinstance(t, str) and t for t in targets)
    ):
        fail(
            reasons.LORA_CONFIG_SCHEMA,
            f"target_modules must be a non-empty list of module names or a pattern; found {targets!r}.",
        )
        targets = None
    elif isinstance(targets, str) and targets != "all-linear":
        if len(targets) > 512 or _NESTED_QUANTIFIER.search(targets):
            fail(
                reasons.LORA_TARGET_PATTERN,
                "target_modules is a regular expression that is too long or has nested quantifiers; "
                'list the module names instead (e.g. ["q_proj", "v_proj"]).',
            )
            targets = None
        else:
            try:
                re.compile(targets)
            except re.error as error:
                fail(reasons.LORA_TARGET_PATTERN, f"target_modules is not a valid regular expression ({error}).")
                targets = None

    if document.get("use_dora"):
        fail(reasons.LORA_DORA, "use_dora is true; DoRA adapters cannot be served as LoRA. Train without DoRA.")
    bias = document.get("bias", "none")
    if bias != "none":
        fail(reasons.LORA_BIAS, f"bias is {bias!r}; only 'none' is supported by LoRA serving engines.")
    if document.get("lora_bias"):
        fail(reasons.LORA_BIAS, "lora_bias is true; LoRA serving engines do not support a bias on lora_B.")
    if document.get("fan_in_fan_out"):
        fail(reasons.LORA_FAN_IN_FAN_OUT, "fan_in_fan_out is true; Qwen linear layers need it false.")
    modules_to_save = document.get("modules_to_save")
    if modules_to_save:
        fail(
            reasons.LORA_MODULES_TO_SAVE,
            f"modules_to_save is {modules_to_save!r}; full copies of modules (often the embeddings or "
            "lm_head, which changes the vocabulary) cannot be imported with a LoRA adapter.",
        )
    init = document.get("init_lora_weights", True)
    if isinstance(init, str) and init.lower().startswith(_INIT_MODIFYING_BASE):
        fail(
            reasons.LORA_INIT_MODIFIES_BASE,
            f"init_lora_weights is {init!r}, which changes the base weights during training; such "
            "adapters are only correct with the modified base and cannot be imported.",
        )
    for field in _EXOTIC_FIELDS:
        if document.get(field):
            fail(
                reasons.LORA_UNSUPPORTED_VARIANT,
                f"{field} is set; this PEFT variant cannot be served as plain LoRA.",
            )

    rank_pattern = document.get("rank_pattern") or {}
    if not isinstance(rank_pattern, dict):
        fail(reasons.LORA_CONFIG_SCHEMA, "rank_pattern must be an object.")
    elif _is_int(rank):
        different = {k: v for k, v in rank_pattern.items() if v != rank}
        if different:
            module, value = next(iter(different.items()))
            fail(
                reasons.LORA_MIXED_RANKS,
                f"rank_pattern gives module {module!r} rank {value} while r is {rank}; every LoRA module "
                "must use the same rank.",
            )
    alpha_pattern = document.get("alpha_pattern") or {}
    if not isinstance(alpha_pattern, dict):
        fail(reasons.LORA_CONFIG_SCHEMA, "alpha_pattern must be an object.")
    elif _is_number(alpha) and any(v != alpha for v in alpha_pattern.values()):
        fail(
            reasons.LORA_MIXED_ALPHA,
            "alpha_pattern gives some modules another lora_alpha; serving engines apply one scaling to "
            "every module, so the adapter would not behave as trained.",
        )

    layers = _layers_to_transform(document.get("layers_to_transform"))
    if layers is False:
        fail(reasons.LORA_CONFIG_SCHEMA, "layers_to_transform must be a layer index or a list of layer indices.")
    findings.checked("lora.config", before)
    if findings.error_count != before or targets is None or not isinstance(rank, int) or not _is_number(alpha):
        return None
    assert isinstance(alpha, int | float)
    return AdapterConfig(
        rank=rank,
        alpha=float(alpha),
        target_modules=targets,
        layers_to_transform=layers if isinstance(layers, frozenset) else None,
        use_rslora=bool(document.get("use_rslora")),
    )


def _check_tensor_names(context: RuleContext, header: SafetensorsHeader) -> list[LoraTensor]:
    """Map every key to a module of the base; anything that does not map is an error."""
    findings = context.findings
    architecture = context.upload.base.architecture
    base_id = context.base_id
    before = findings.error_count
    prefixes = architecture.text_prefixes()
    layer_modules = architecture.lora_modules()
    top_level = architecture.lora_top_level()
    tensors: list[LoraTensor] = []
    prefixes_seen: set[str] = set()

    def fail(code: Reason, info: TensorInfo, message: str) -> None:
        findings.error(code, f"{ADAPTER_WEIGHTS}: tensor {info.name} {message}", file=ADAPTER_WEIGHTS, tensor=info.name)

    if not header.tensors:
        findings.error(
            reasons.LORA_EMPTY_ADAPTER,
            f"{ADAPTER_WEIGHTS} holds no tensors; the adapter would change nothing.",
            file=ADAPTER_WEIGHTS,
        )
    for info in header.tensors:
        match = _KEY.match(info.name)
        if match is None:
            fail(reasons.LORA_UNEXPECTED_TENSOR, info, _unexpected_reason(info.name))
            continue
        module, kind = match["module"], match["kind"]
        if module.startswith(("visual.", "model.visual.")) or ".visual." in module:
            fail(
                reasons.LORA_VISION_TENSOR,
                info,
                f"adapts the vision tower; {base_id} imports accept LoRA on the language model only "
                "(freeze the ViT when training).",
            )
            continue
        layer_match = _LAYER.match(module)
        if layer_match is not None:
            prefix, index, sub = layer_match["prefix"], int(layer_match["index"]), layer_match["sub"]
            if prefix not in prefixes:
                fail(reasons.LORA_UNKNOWN_MODULE, info, _prefix_reason(prefix, prefixes, base_id))
                continue
            prefixes_seen.add(prefix)
            if index >= architecture.num_hidden_layers:
                fail(
                    reasons.LORA_LAYER_OUT_OF_RANGE,
                    info,
                    f"names layer {index}, but {base_id} has {architecture.num_hidden_layers} layers "
                    f"(0-{architecture.num_hidden_layers - 1}) — was the adapter trained on another base model?",
                )
                continue
            shape = layer_modules.get(sub)
            if shape is None or kind.startswith("lora_embedding"):
                fail(
                    reasons.LORA_UNKNOWN_MODULE,
                    info,
                    f"adapts {sub!r}, which is not a LoRA-targetable linear layer of {base_id} (those are "
                    f"{', '.join(sorted(layer_modules))}).",
                )
                continue
            tensors.append(LoraTensor(info=info, module=module, kind=kind, expected=shape, layer=index))
            continue
        top = _top_level_module(module, prefixes)
        if top is None or top not in top_level:
            fail(reasons.LORA_UNKNOWN_MODULE, info, f"adapts {module!r}, which is not a module of {base_id}.")
            continue
        embedding = top == "embed_tokens"
        if embedding != kind.startswith("lora_embedding"):
            expected_kind = "lora_embedding_A/B" if embedding else "lora_A.weight/lora_B.weight"
            fail(reasons.LORA_UNEXPECTED_TENSOR, info, f"is a {kind} tensor, but {top} takes {expected_kind}.")
            continue
        if architecture.model_type in ("qwen2", "qwen2_5_vl"):
            fail(
                reasons.LORA_UNSUPPORTED_MODULE,
                info,
                f"adapts {top}; LoRA on the embeddings or lm_head is not supported for Qwen2.5 bases by "
                "serving engines. Train without embed_tokens/lm_head in target_modules.",
            )
            continue
        tensors.append(LoraTensor(info=info, module=module, kind=kind, expected=top_level[top], layer=None))
    if len(prefixes_seen) > 1:
        findings.error(
            reasons.LORA_MIXED_LAYOUTS,
            f"{ADAPTER_WEIGHTS} mixes module layouts ({', '.join(sorted(p + 'layers' for p in prefixes_seen))}); "
            "an adapter must use one.",
            file=ADAPTER_WEIGHTS,
        )
    findings.checked("lora.tensor_names", before, f"{len(header.tensors)} tensors")
    return tensors


def _check_shapes_and_ranks(context: RuleContext, config: AdapterConfig, tensors: list[LoraTensor]) -> None:
    findings = context.findings
    base_id = context.base_id
    before = findings.error_count
    by_module: dict[str, dict[str, LoraTensor]] = defaultdict(dict)
    ranks: Counter[int] = Counter()
    for tensor in tensors:
        by_module[tensor.module][tensor.kind] = tensor
        expected = _expected_shape(tensor, config.rank)
        found = tensor.info.shape
        if found != expected:
            rank_found = _rank_of(tensor)
            if rank_found is not None and rank_found != config.rank and _shape_with_rank(tensor, rank_found) == found:
                findings.error(
                    reasons.LORA_MIXED_RANKS,
                    f"{ADAPTER_WEIGHTS}: tensor {tensor.info.name} has rank {rank_found} (shape {list(found)}) "
                    f"while adapter_config.json says r={config.rank}; every module must use the same rank.",
                    file=ADAPTER_WEIGHTS,
                    tensor=tensor.info.name,
                )
            else:
                findings.error(
                    reasons.LORA_SHAPE_MISMATCH,
                    f"{ADAPTER_WEIGHTS}: tensor {tensor.info.name} has shape {list(found)}; {base_id} expects "
                    f"{list(expected)} — was the adapter trained on another base model?",
                    file=ADAPTER_WEIGHTS,
                    tensor=tensor.info.name,
                )
        rank_found = _rank_of(tensor)
        if rank_found is not None:
            ranks[rank_found] += 1
    for module, pair in sorted(by_module.items()):
        kinds = set(pair)
        for a, b in (("lora_A.weight", "lora_B.weight"), ("lora_embedding_A", "lora_embedding_B")):
            if (a in kinds) != (b in kinds):
                present, missing = (a, b) if a in kinds else (b, a)
                findings.error(
                    reasons.LORA_UNPAIRED_TENSOR,
                    f"{ADAPTER_WEIGHTS}: module {module} has {present} but no {missing}; every LoRA module "
                    "needs both matrices.",
                    file=ADAPTER_WEIGHTS,
                    tensor=f"base_model.model.{module}.{present}",
                )
    if len(ranks) > 1:
        findings.error(
            reasons.LORA_MIXED_RANKS,
            f"{ADAPTER_WEIGHTS} mixes ranks {sorted(ranks)}; every LoRA module must use the same rank.",
            file=ADAPTER_WEIGHTS,
        )
    if config.layers_to_transform is not None:
        outside = sorted({t.layer for t in tensors if t.layer is not None} - config.layers_to_transform)
        if outside:
            findings.error(
                reasons.LORA_LAYERS_TO_TRANSFORM,
                f"{ADAPTER_WEIGHTS} has tensors for layers {outside[:5]} that adapter_config.json's "
                "layers_to_transform excludes.",
                file=ADAPTER_WEIGHTS,
            )
    findings.checked("lora.shapes_and_rank", before, f"rank {config.rank}")


def _check_targets(context: RuleContext, config: AdapterConfig, tensors: list[LoraTensor]) -> None:
    """target_modules and the tensors must agree: each target binds, each tensor is targeted."""
    findings = context.findings
    architecture = context.upload.base.architecture
    before = findings.error_count
    modules = {t.module for t in tensors}
    targets = config.target_modules
    if targets == "all-linear":
        untargeted = sorted(m for m in modules if _leaf(m) in ("lm_head", "embed_tokens"))
        for module in untargeted:
            findings.error(
                reasons.LORA_UNTARGETED_TENSOR,
                f"{ADAPTER_WEIGHTS}: module {module} has LoRA tensors but target_modules 'all-linear' excludes it.",
                file=ADAPTER_WEIGHTS,
            )
        findings.checked("lora.target_modules", before)
        return
    if isinstance(targets, str):
        pattern = re.compile(targets)
        for module in sorted(modules):
            if not pattern.fullmatch(module):
                findings.error(
                    reasons.LORA_UNTARGETED_TENSOR,
                    f"{ADAPTER_WEIGHTS}: module {module} has LoRA tensors but does not match target_modules "
                    f"{targets!r}.",
                    file=ADAPTER_WEIGHTS,
                )
        if not modules:
            findings.error(
                reasons.LORA_TARGET_UNBOUND,
                f"{ADAPTER_CONFIG}: target_modules {targets!r} matches no tensor in {ADAPTER_WEIGHTS}.",
                file=ADAPTER_CONFIG,
            )
        findings.checked("lora.target_modules", before)
        return
    known = set(architecture.lora_modules()) | set(architecture.lora_top_level())
    known_leaves = {_leaf(m) for m in known}
    for target in targets:
        bound = [m for m in modules if m == target or m.endswith("." + target)]
        if bound:
            continue
        if _leaf(target) not in known_leaves:
            findings.error(
                reasons.LORA_UNKNOWN_TARGET,
                f"{ADAPTER_CONFIG}: target_modules names {target!r}, which is not a module of "
                f"{context.base_id} (its LoRA targets are {', '.join(sorted(known_leaves))}) — was the adapter "
                "trained on another model?",
                file=ADAPTER_CONFIG,
            )
        else:
            findings.error(
                reasons.LORA_TARGET_UNBOUND,
                f"{ADAPTER_CONFIG}: target_modules names {target!r} but {ADAPTER_WEIGHTS} has no tensor for "
                "it; the adapter and its config disagree (was the wrong checkpoint exported?).",
                file=ADAPTER_CONFIG,
            )
    for module in sorted(modules):
        if not any(module == t or module.endswith("." + t) for t in targets):
            findings.error(
                reasons.LORA_UNTARGETED_TENSOR,
                f"{ADAPTER_WEIGHTS}: module {module} has LoRA tensors but is not in target_modules "
                f"{targets}; a serving engine configured from adapter_config.json would ignore it.",
                file=ADAPTER_WEIGHTS,
            )
    findings.checked("lora.target_modules", before)


def _summary(config: AdapterConfig | None, header: SafetensorsHeader, tensors: list[LoraTensor]) -> dict[str, Any]:
    dtypes = Counter(t.dtype for t in header.tensors)
    summary: dict[str, Any] = {
        "tensor_count": len(header.tensors),
        "parameters": sum(t.numel for t in header.tensors),
        "dtypes": dict(sorted(dtypes.items())),
        "modules": sorted({_leaf(t.module) for t in tensors}),
        "layers": len({t.layer for t in tensors if t.layer is not None}),
    }
    if config is not None:
        summary.update(
            {
                "rank": config.rank,
                "alpha": config.alpha,
                "target_modules": config.target_modules,
                "use_rslora": config.use_rslora,
            }
        )
    return summary


def _expected_shape(tensor: LoraTensor, rank: int) -> tuple[int, ...]:
    return _shape_with_rank(tensor, rank)


def _shape_with_rank(tensor: LoraTensor, rank: int) -> tuple[int, ...]:
    shape = tensor.expected
    if tensor.kind in ("lora_A.weight", "lora_embedding_A"):
        return (rank, shape.in_features)
    return (shape.out_features, rank)


def _rank_of(tensor: LoraTensor) -> int | None:
    shape = tensor.info.shape
    if len(shape) != 2:
        return None
    return shape[0] if tensor.kind in ("lora_A.weight", "lora_embedding_A") else shape[1]


def _top_level_module(module: str, prefixes: tuple[str, ...]) -> str | None:
    if module == "lm_head":
        return "lm_head"
    for prefix in prefixes:
        if module == f"{prefix}embed_tokens":
            return "embed_tokens"
    return None


def _leaf(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _unexpected_reason(name: str) -> str:
    if name.endswith("lora_magnitude_vector") or ".lora_magnitude_vector" in name:
        return "is a DoRA magnitude vector; DoRA adapters cannot be served as LoRA."
    if name.endswith(".bias"):
        return "is a bias; LoRA serving engines do not load LoRA biases."
    if ".lora_A." in name or ".lora_B." in name:
        return "carries an adapter name or suffix; PEFT saves keys as '<module>.lora_A.weight'."
    if name.endswith("base_layer.weight") or "lora_" not in name:
        return (
            "is a full weight, not a LoRA matrix (modules_to_save or saved embeddings); serving engines "
            "would ignore or reject it."
        )
    if not name.startswith("base_model.model."):
        return "does not start with 'base_model.model.' as PEFT adapter keys do."
    return "is not a LoRA tensor name a serving engine understands."


def _prefix_reason(prefix: str, prefixes: tuple[str, ...], base_id: str) -> str:
    expected = " or ".join(f"'{p}layers.N'" for p in prefixes)
    return f"uses the module path '{prefix}layers.N'; {base_id} adapters use {expected}."


def _layers_to_transform(value: Any) -> frozenset[int] | Literal[False] | None:
    if value is None:
        return None
    if _is_int(value):
        return frozenset({value})
    if isinstance(value, list) and all(_is_int(v) for v in value):
        return frozenset(value)
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

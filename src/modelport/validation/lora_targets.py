"""Which modules PEFT 0.21 gives LoRA when it loads an adapter: worked out from adapter_config.json
exactly as `PeftModel.from_pretrained` does (`check_target_module_exists`, peft 0.21
tuners/tuners_utils.py#L2337-2414), over the base's real module tree.

PEFT creates LoRA layers from the config, not from the tensors, and then loads the tensors with
`strict=False`: a tensor for a module the config does not target is dropped without a word, and
a targeted module without tensors keeps its initial (often zero) weights. vLLM does the opposite
and applies every tensor whatever the config says. So the gate computes PEFT's targeted set and
the tensor rules require it to equal the set of modules that have tensors: then both engines
serve the same adapter.

- `target_modules` as a list: a module matches when its full name equals an entry or ends with
  `.entry`; as a string: `re.fullmatch` (here through `patterns`, in linear time); `all-linear`
  (any case): every nn.Linear but the output head; null: PEFT's default for the model type.
- `exclude_modules` is applied first, with the same list/string rules.
- `layers_to_transform` (list targets only) keeps modules whose layer index is listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from modelport.catalog.architecture import Architecture
from modelport.catalog.module_tree import LORA_KINDS, ModuleKind, is_vision_module, module_tree
from modelport.domain import reasons
from modelport.domain.reasons import Reason
from modelport.validation.adapter_config import FILE, AdapterSettings
from modelport.validation.patterns import PatternRefused, compile_module_pattern

# PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (peft 0.21 utils/constants.py#L103-104):
# the targets a null target_modules means; there is no entry for the VL model types.
_DEFAULT_TARGETS: Final = {"qwen2": ["q_proj", "v_proj"], "qwen3": ["q_proj", "v_proj"]}
# The layer index PEFT reads when layers_pattern is null, and when it is "layers" (tuners_utils.py#L2390-2396).
_ANY_LAYER: Final = re.compile(r".*?\.[^.]*\.(?P<idx>\d+)\.")
_LAYERS: Final = re.compile(r"(?:^|.*?\.)layers\.(?P<idx>\d+)\.")
_SHOWN: Final = 3


@dataclass(frozen=True)
class Targeting:
    modules: frozenset[str]  # module names PEFT gives LoRA (no `base_model.model.` prefix)
    problems: tuple[tuple[Reason, str], ...] = ()
    warnings: tuple[tuple[Reason, str], ...] = ()


def targeted_modules(settings: AdapterSettings, architecture: Architecture, uses_layers_pattern: bool) -> Targeting:
    tree = module_tree(architecture)
    problems: list[tuple[Reason, str]] = []

    def refuse(code: Reason, message: str) -> Targeting:
        return Targeting(frozenset(), (*problems, (code, f"{FILE}: {message}")))

    targets = settings.target_modules
    if targets is None:
        if architecture.model_type not in _DEFAULT_TARGETS:
            return refuse(
                reasons.LORA_CONFIG_SCHEMA,
                f"target_modules is null, and PEFT has no default targets for {architecture.model_type} models; "
                "list the modules the adapter was trained on.",
            )
        targets = _DEFAULT_TARGETS[architecture.model_type]
    if settings.layers_to_transform is not None and isinstance(targets, str):
        return refuse(
            reasons.LORA_CONFIG_SCHEMA,
            "layers_to_transform cannot be used with a target_modules pattern (PEFT refuses the adapter); list the "
            "module names instead.",
        )
    if uses_layers_pattern and settings.layers_to_transform is None:
        return refuse(
            reasons.LORA_CONFIG_SCHEMA,
            "layers_pattern is set without layers_to_transform, which PEFT refuses; remove it.",
        )
    try:
        target = _matcher(targets, "target_modules", tree)
        exclude = _matcher(settings.exclude_modules, "exclude_modules", tree) if settings.exclude_modules else None
    except PatternRefused as refusal:
        return refuse(reasons.LORA_TARGET_PATTERN, str(refusal))
    if isinstance(targets, list) and not targets:
        return refuse(reasons.LORA_CONFIG_SCHEMA, "target_modules is an empty list, which PEFT refuses to load.")
    layer_of = _LAYERS if uses_layers_pattern else _ANY_LAYER
    chosen: set[str] = set()
    excluded = 0
    for name in tree:
        if exclude is not None and exclude(name):
            excluded += 1
            continue
        if not target(name):
            continue
        if settings.layers_to_transform is not None:
            found = layer_of.match(name)
            if found is None or int(found["idx"]) not in settings.layers_to_transform:
                continue
        chosen.add(name)
    if not chosen:
        return refuse(
            reasons.LORA_UNKNOWN_TARGET,
            f"target_modules {_show(targets)} matches no module of the base model (PEFT refuses such an adapter) — "
            "was it trained on another model?",
        )
    unadaptable = sorted(name or "(the whole model)" for name in chosen if tree[name] not in LORA_KINDS)
    if unadaptable:
        problems.append(
            (
                reasons.LORA_TARGET_NOT_ADAPTABLE,
                f"{FILE}: target_modules selects {_first(unadaptable)}, which PEFT cannot adapt (not a Linear or "
                "Embedding layer), so it would refuse to load the adapter.",
            )
        )
    vision = sorted(name for name in chosen if is_vision_module(name))
    if vision:
        problems.append(
            (
                reasons.LORA_VISION_TENSOR,
                f"{FILE}: target_modules also selects vision-tower modules ({_first(vision)}); serving engines apply "
                "LoRA to the language model only. Restrict target_modules to the language model (e.g. a pattern on "
                "model.language_model).",
            )
        )
    adaptable = frozenset(name for name in chosen if tree[name] in LORA_KINDS and not is_vision_module(name))
    warnings: list[tuple[Reason, str]] = []
    if exclude is not None and excluded == 0:
        unused = f"{FILE}: exclude_modules {_show(settings.exclude_modules)} matches no module of the base model"
        warnings.append((reasons.LORA_EXCLUDE_UNUSED, f"{unused}; PEFT warns about it when it loads the adapter."))
    return Targeting(adaptable, tuple(problems), tuple(warnings))


def _matcher(spec: list[str] | str, key: str, tree: dict[str, ModuleKind]) -> Callable[[str], bool]:
    if isinstance(spec, str):
        if spec.lower() == "all-linear" and key == "target_modules":
            linear = {name for name, kind in tree.items() if kind == ModuleKind.LINEAR and name != "lm_head"}
            return linear.__contains__
        try:
            return compile_module_pattern(spec).fullmatch
        except PatternRefused as refusal:
            raise PatternRefused(f"{key} {refusal}; list the module names instead") from None
    names = set(spec)
    suffixes = tuple(f".{name}" for name in names)
    return lambda module: module in names or module.endswith(suffixes)


def _first(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

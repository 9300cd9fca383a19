"""The LoRA rules: adapter_config.json (`adapter_config`), the modules PEFT would target
(`lora_targets`) and the tensors (`lora_tensors`), checked against each other and against the
declared base, so that PEFT, vLLM and the gate all see the same adapter.

A job that passes holds an adapter whose every tensor binds to a real module of the base with
the exact shapes a serving engine allocates, at one allowed rank, targeting exactly the modules
it has tensors for, with nothing a serving engine would silently ignore.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Final

from modelport.domain import reasons
from modelport.validation.adapter_config import ALLOWED_RANKS, FILE, AdapterConfigFile, AdapterSettings
from modelport.validation.config_keys import screen
from modelport.validation.file_policy import ADAPTER_CONFIG, ADAPTER_WEIGHTS
from modelport.validation.findings import Outcome
from modelport.validation.lora_targets import targeted_modules
from modelport.validation.lora_tensors import LoraTensor, bind_tensors, check_shapes
from modelport.validation.safetensors import SafetensorsHeader
from modelport.validation.upload import CopyItem, CopyPlan, RuleContext

# A scaling alpha / r (or / sqrt(r)) above this multiplies the adapter's update far beyond what
# trainers use (typically 0.5 to 4): worth a warning, not a refusal.
LARGE_SCALING: Final = 64.0
_IN_LAYER: Final = re.compile(r"^.*layers\.(?P<index>\d+)\.(?:self_attn|mlp)\.(?P<leaf>\w+)$")
# Families a base_model_name_or_path can name; a hint of another family deserves a warning.
_FAMILIES: Final = {"qwen2": "qwen", "qwen3": "qwen", "qwen2_5_vl": "qwen", "qwen3_vl": "qwen"}
_OTHER_FAMILIES: Final = (
    "llama", "mistral", "mixtral", "gemma", "phi", "deepseek", "falcon", "gpt", "baichuan", "yi-", "internlm", "glm",
)  # fmt: skip


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

    settings = _check_config(context) if ADAPTER_CONFIG in upload.documents else None
    header = upload.headers.get(ADAPTER_WEIGHTS)
    if header is None:
        findings.check("lora.tensors", Outcome.SKIPPED, "adapter_model.safetensors could not be read")
        return CopyPlan()
    architecture = upload.base.architecture
    tensors = bind_tensors(header, architecture, context.base_id, findings)
    if settings is not None:
        check_shapes(tensors, settings.rank, context.base_id, findings)
        _check_targets(context, settings, tensors)
    else:
        findings.check("lora.shapes_and_rank", Outcome.SKIPPED, "adapter_config.json is unusable")

    # Either factor all zeros makes a module a no-op: the copy pass looks at both.
    zero_check = frozenset(t.info.name for t in tensors)
    items = [CopyItem(name=ADAPTER_WEIGHTS, size=header.file_size, header=header, zero_check=zero_check)]
    if upload.has(ADAPTER_CONFIG):
        items.append(CopyItem(name=ADAPTER_CONFIG, size=upload.accepted[ADAPTER_CONFIG].size))
    return CopyPlan(items=tuple(items), summary=_summary(settings, header, tensors))


def _check_config(context: RuleContext) -> AdapterSettings | None:
    findings = context.findings
    before = findings.error_count
    document = context.upload.documents[ADAPTER_CONFIG]
    config, seen = screen(AdapterConfigFile, document, findings)
    if config is None:
        return None
    settings = AdapterSettings.of(config)
    if config.r not in ALLOWED_RANKS:
        findings.error(
            reasons.LORA_RANK_NOT_ALLOWED,
            f"{FILE}: r is {config.r}; the rank must be one of {', '.join(map(str, ALLOWED_RANKS))}. Retrain the "
            "adapter with one of those ranks.",
            file=FILE,
        )
    for key, value in config.rank_pattern.items():
        if value != config.r:
            findings.error(
                reasons.LORA_MIXED_RANKS,
                f"{FILE}: rank_pattern gives module {key!r} rank {value} while r is {config.r}; every LoRA module "
                "must use the same rank.",
                file=FILE,
            )
    if any(value != config.lora_alpha for value in config.alpha_pattern.values()):
        findings.error(
            reasons.LORA_MIXED_ALPHA,
            f"{FILE}: alpha_pattern gives some modules another lora_alpha; serving engines apply one scaling to "
            "every module, so the adapter would not behave as trained.",
            file=FILE,
        )
    for key in (*config.rank_pattern, *config.alpha_pattern):
        if not key or not all(ch.isalnum() or ch in "._" for ch in key) or not key.isascii():
            findings.error(
                reasons.LORA_TARGET_PATTERN,
                f"{FILE}: the pattern key {key[:60]!r} is a regular expression that PEFT and vLLM would evaluate "
                "with a backtracking engine; use plain module names as keys.",
                file=FILE,
            )
    _check_auto_mapping(context, config)
    if config.fan_in_fan_out:
        findings.warning(
            reasons.LORA_FAN_IN_FAN_OUT,
            f"{FILE}: fan_in_fan_out is true; PEFT resets it to false for Qwen's nn.Linear layers (with a warning) "
            "and vLLM ignores it, so the adapter is served as if it were false.",
            file=FILE,
        )
    if settings.scaling > LARGE_SCALING:
        findings.warning(
            reasons.LORA_LARGE_SCALING,
            f"{FILE}: lora_alpha {config.lora_alpha:g} at rank {config.r} scales the adapter's update by "
            f"{settings.scaling:g}; adapters are usually trained with a scaling of 0.5 to 4.",
            file=FILE,
        )
    _warn_on_other_family(context, config.base_model_name_or_path)
    findings.checked("lora.config", before, f"{len(seen.present)} keys")
    return settings if findings.error_count == before else None


def _check_auto_mapping(context: RuleContext, config: AdapterConfigFile) -> None:
    mapping = config.auto_mapping
    if mapping is None:
        return
    architecture = context.upload.base.architecture
    expected = {
        "base_model_class": architecture.architectures[0],
        "parent_library": f"transformers.models.{architecture.model_type}.modeling_{architecture.model_type}",
    }
    if mapping != expected:
        context.findings.error(
            reasons.FILES_AUTO_MAP,
            f"{FILE}: auto_mapping names {str(mapping)[:120]}, not the base model's transformers class; it would make "
            "AutoPeftModel import that module. Remove it.",
            file=FILE,
        )


def _warn_on_other_family(context: RuleContext, hint: str | None) -> None:
    if not hint:
        return
    lowered = hint.lower()
    family = _FAMILIES.get(context.upload.base.architecture.model_type, "qwen")
    other = next((name for name in _OTHER_FAMILIES if name in lowered), None)
    if other is not None and family not in lowered:
        context.findings.warning(
            reasons.LORA_OTHER_FAMILY,
            f"{FILE}: base_model_name_or_path is {hint[:120]!r}, which names another model family than "
            f"{context.base_id}; check that the adapter was trained on this base.",
            file=FILE,
        )


def _check_targets(context: RuleContext, settings: AdapterSettings, tensors: list[LoraTensor]) -> None:
    """The modules PEFT would target and the modules with tensors must be the same set."""
    findings = context.findings
    before = findings.error_count
    document = context.upload.documents.get(ADAPTER_CONFIG)
    uses_layers_pattern = isinstance(document, dict) and bool(document.get("layers_pattern"))
    targeting = targeted_modules(settings, context.upload.base.architecture, uses_layers_pattern)
    for code, message in targeting.problems:
        findings.error(code, message, file=FILE)
    for code, message in targeting.warnings:
        findings.warning(code, message, file=FILE)
    if targeting.modules:
        with_tensors = {t.module for t in tensors}
        untargeted = sorted(with_tensors - targeting.modules)
        unbound = sorted(targeting.modules - with_tensors)
        if untargeted:
            findings.error(
                reasons.LORA_UNTARGETED_TENSOR,
                f"{ADAPTER_WEIGHTS}: {_first(untargeted)} {'have' if len(untargeted) > 1 else 'has'} LoRA tensors "
                f"but target_modules {_show(settings.target_modules)} (with exclude_modules and "
                "layers_to_transform) does not select them: PEFT would drop those tensors and vLLM would apply them.",
                file=ADAPTER_WEIGHTS,
            )
        if unbound:
            findings.error(
                reasons.LORA_TARGET_UNBOUND,
                f"{FILE}: target_modules {_show(settings.target_modules)} selects {_first(unbound)}, but "
                f"{ADAPTER_WEIGHTS} has no tensors for {'them' if len(unbound) > 1 else 'it'}; PEFT would add "
                "untrained LoRA there and vLLM would not (was the wrong checkpoint exported?).",
                file=FILE,
            )
    findings.checked("lora.target_modules", before, f"{len(targeting.modules)} modules targeted")


def _summary(settings: AdapterSettings | None, header: SafetensorsHeader, tensors: list[LoraTensor]) -> dict[str, Any]:
    dtypes = Counter(t.dtype for t in header.tensors)
    summary: dict[str, Any] = {
        "tensor_count": len(header.tensors),
        "parameters": sum(t.numel for t in header.tensors),
        "dtypes": dict(sorted(dtypes.items())),
        "modules": sorted({t.module.rsplit(".", 1)[-1] for t in tensors})[:32],
        "layers": len({t.layer for t in tensors if t.layer is not None}),
    }
    if settings is not None:
        targets = settings.target_modules
        summary |= {
            "rank": settings.rank,
            "alpha": settings.alpha,
            "scaling": settings.scaling,
            "target_modules": targets[:32] if isinstance(targets, list) else targets,
            "use_rslora": settings.use_rslora,
        }
    return summary


def _first(names: list[str]) -> str:
    """Module names as people read them: grouped by projection, with the layers they are in."""
    groups: dict[str, set[int]] = {}
    others: list[str] = []
    for name in names:
        layered = _IN_LAYER.match(name)
        if layered is None:
            others.append(name)
        else:
            groups.setdefault(layered["leaf"], set()).add(int(layered["index"]))
    parts = [
        f"{leaf} (layer{'s' if len(ids) > 1 else ''} {_ranges(sorted(ids))})" for leaf, ids in sorted(groups.items())
    ]
    parts += others
    shown = ", ".join(parts[:8])
    return shown + (f" and {len(parts) - 8} more" if len(parts) > 8 else "")


def _ranges(indexes: list[int]) -> str:
    spans: list[str] = []
    start = previous = indexes[0]
    for index in [*indexes[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if index is not None:
            start = previous = index
    return ", ".join(spans)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

"""Full-weight rules, in order: the required files, `config.json` (`model_config`: every key decided,
compared with the base), the shard index consistent with the shards, the tensor set (names, shapes,
dtypes) equal to the exact manifest the base's architecture implies, and `generation_config.json`
(`generation_config`). Answers with the copy plan.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from modelport.domain import reasons
from modelport.validation.file_policy import GENERATION_CONFIG, MODEL_CONFIG, SHARD_INDEX, SINGLE_WEIGHTS
from modelport.validation.findings import Outcome
from modelport.validation.generation_config import check_generation_config
from modelport.validation.model_config import check_model_config
from modelport.validation.safetensors import SafetensorsHeader, TensorInfo
from modelport.validation.upload import CopyItem, CopyPlan, RuleContext

_SHOWN_DIFFERENCES = 3


def check_full(context: RuleContext) -> CopyPlan:
    findings = context.findings
    upload = context.upload
    before = findings.error_count
    if not upload.has(MODEL_CONFIG):
        findings.error(
            reasons.FULL_MISSING_FILE,
            "config.json is missing: a full-weight import needs the model's config.json at the top of the folder.",
            file=MODEL_CONFIG,
        )
    weight_names = sorted(name for name, c in upload.accepted.items() if c.kind == "weights")
    if not weight_names:
        findings.error(
            reasons.FULL_MISSING_FILE,
            "No weights found: a full-weight import needs model.safetensors, or model.safetensors.index.json "
            "with the shards it names.",
        )
    findings.checked("full.required_files", before)

    config_dtype = check_model_config(context) if MODEL_CONFIG in upload.documents else None
    shards = _select_shards(context, weight_names)
    if shards is None:
        findings.check("full.tensors", Outcome.SKIPPED, "the weights files are inconsistent")
        return CopyPlan()
    tensors = _collect_tensors(context, shards)
    if tensors is not None:
        _check_manifest(context, tensors, config_dtype)
    if GENERATION_CONFIG in upload.documents:
        check_generation_config(context)

    items = [
        CopyItem(name=name, size=upload.accepted[name].size)
        for name in (MODEL_CONFIG, GENERATION_CONFIG, SHARD_INDEX)
        if name in upload.accepted
    ]
    for shard in shards:
        header = upload.headers[shard]
        items.append(CopyItem(name=shard, size=header.file_size, header=header))
    all_tensors = [t for shard in shards for t in upload.headers[shard].tensors]
    return CopyPlan(
        items=tuple(items),
        summary={
            "tensor_count": len(all_tensors),
            "parameters": sum(t.numel for t in all_tensors),
            "dtypes": dict(sorted(Counter(t.dtype for t in all_tensors).items())),
            "shards": len(shards),
            "total_tensor_bytes": sum(t.nbytes for t in all_tensors),
        },
    )


def _select_shards(context: RuleContext, weight_names: list[str]) -> list[str] | None:
    """Which safetensors files make the checkpoint; every other one is an error."""
    findings = context.findings
    upload = context.upload
    before = findings.error_count
    has_index = upload.has(SHARD_INDEX)
    if not has_index:
        if weight_names == [SINGLE_WEIGHTS]:
            findings.checked("full.shards", before, "single file")
            return [SINGLE_WEIGHTS] if SINGLE_WEIGHTS in upload.headers else None
        if not weight_names:
            return None
        findings.error(
            reasons.FULL_MISSING_INDEX,
            f"Found {', '.join(weight_names[:3])}{' ...' if len(weight_names) > 3 else ''} but no "
            "model.safetensors.index.json: sharded weights need their index (or ship one model.safetensors).",
            file=SHARD_INDEX,
        )
        findings.checked("full.shards", before)
        return None
    index = upload.documents.get(SHARD_INDEX)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if (
        not isinstance(weight_map, dict)
        or not weight_map
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items())
    ):
        findings.error(
            reasons.FULL_INDEX_SCHEMA,
            "model.safetensors.index.json must hold a non-empty weight_map of tensor name to shard file name.",
            file=SHARD_INDEX,
        )
        findings.checked("full.shards", before)
        return None
    referenced = sorted(set(weight_map.values()))
    for shard in referenced:
        if "/" in shard or "\\" in shard or shard.startswith(".") or not shard.endswith(".safetensors"):
            findings.error(
                reasons.FULL_INDEX_UNSAFE_SHARD,
                f"model.safetensors.index.json names the shard {shard!r}; shard names must be plain "
                "*.safetensors file names in the same folder.",
                file=SHARD_INDEX,
            )
        elif shard not in upload.accepted:
            findings.error(
                reasons.FULL_MISSING_SHARD,
                f"model.safetensors.index.json names {shard}, which is not in the folder.",
                file=shard,
            )
    for name in weight_names:
        if name not in referenced:
            findings.error(
                reasons.FULL_UNREFERENCED_WEIGHTS,
                f"{name} is not named by model.safetensors.index.json; remove it (another tool might load it).",
                file=name,
            )
    findings.checked("full.shards", before, f"{len(referenced)} shards")
    if findings.error_count != before or any(shard not in upload.headers for shard in referenced):
        return None
    return referenced


def _collect_tensors(context: RuleContext, shards: list[str]) -> dict[str, TensorInfo] | None:
    """All tensors across shards, each in exactly one shard and in the one the index names."""
    findings = context.findings
    upload = context.upload
    before = findings.error_count
    located: dict[str, str] = {}
    tensors: dict[str, TensorInfo] = {}
    for shard in shards:
        header: SafetensorsHeader = upload.headers[shard]
        for info in header.tensors:
            if info.name in located:
                findings.error(
                    reasons.FULL_DUPLICATE_TENSOR,
                    f"{shard}: tensor {info.name} is also in {located[info.name]}; each tensor must be in one shard.",
                    file=shard,
                    tensor=info.name,
                )
                continue
            located[info.name] = shard
            tensors[info.name] = info
    index = upload.documents.get(SHARD_INDEX)
    if isinstance(index, dict):
        weight_map: dict[str, str] = index["weight_map"]
        for name, shard in sorted(weight_map.items()):
            if located.get(name) != shard:
                where = f"is in {located[name]}" if name in located else "is in no shard"
                findings.error(
                    reasons.FULL_INDEX_MISMATCH,
                    f"model.safetensors.index.json puts tensor {name} in {shard}, but it {where}.",
                    file=SHARD_INDEX,
                    tensor=name,
                )
        for name in sorted(set(located) - set(weight_map)):
            findings.error(
                reasons.FULL_INDEX_MISMATCH,
                f"{located[name]}: tensor {name} is not listed in model.safetensors.index.json.",
                file=located[name],
                tensor=name,
            )
        metadata = index.get("metadata")
        total_size = metadata.get("total_size") if isinstance(metadata, dict) else None
        actual = sum(t.nbytes for t in tensors.values())
        if total_size is not None and total_size != actual:
            findings.error(
                reasons.FULL_INDEX_TOTAL_SIZE,
                f"model.safetensors.index.json: metadata.total_size is {total_size}, but the shards hold "
                f"{actual} bytes of tensors.",
                file=SHARD_INDEX,
            )
    findings.checked("full.index_consistency", before)
    return tensors if findings.error_count == before else None


def _check_manifest(context: RuleContext, tensors: dict[str, TensorInfo], config_dtype: str | None) -> None:
    findings = context.findings
    base = context.upload.base
    architecture = base.architecture
    before = findings.error_count
    layouts = architecture.full_layouts()
    layout = max(layouts, key=lambda lay: len(set(architecture.expected_tensors(lay)) & set(tensors)))
    expected = architecture.expected_tensors(layout)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing:
        findings.error(
            reasons.FULL_MISSING_TENSORS,
            f"The checkpoint lacks {len(missing)} tensor{'s' if len(missing) > 1 else ''} of {base.id}: "
            f"{_first(missing)} — the weights do not cover the base architecture.",
            tensor=missing[0],
        )
    if unexpected:
        hint = ""
        if "lm_head.weight" in unexpected and architecture.tie_word_embeddings:
            hint = f" ({base.id} ties lm_head to embed_tokens, so a checkpoint has no lm_head.weight.)"
        findings.error(
            reasons.FULL_UNEXPECTED_TENSORS,
            f"The checkpoint has {len(unexpected)} tensor{'s' if len(unexpected) > 1 else ''} {base.id} does not: "
            f"{_first(unexpected)}{hint}",
            tensor=unexpected[0],
        )
    for name in sorted(set(expected) & set(tensors)):
        info = tensors[name]
        if info.shape != expected[name]:
            findings.error(
                reasons.FULL_SHAPE_MISMATCH,
                f"tensor {name} has shape {list(info.shape)}; {base.id} expects {list(expected[name])} — "
                "was the model trained from another base, or its vocabulary resized?",
                tensor=name,
            )
    dtypes = Counter(info.dtype for info in tensors.values())
    if len(dtypes) > 1:
        findings.error(
            reasons.FULL_MIXED_DTYPES,
            f"The checkpoint mixes dtypes {dict(dtypes)}; save every tensor in one dtype (bf16 for Qwen).",
        )
    elif config_dtype is not None and dtypes and next(iter(dtypes)) != config_dtype:
        findings.warning(
            reasons.FULL_DTYPE_DIFFERS,
            f"config.json declares {config_dtype} but the tensors are {next(iter(dtypes))}.",
            file=MODEL_CONFIG,
        )
    findings.checked("full.tensor_manifest", before, f"layout {layout}, {len(expected)} tensors expected")


def _first(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_DIFFERENCES])
    return shown + (f" and {len(names) - _SHOWN_DIFFERENCES} more" if len(names) > _SHOWN_DIFFERENCES else "")


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)

"""config.json of a full-weight upload: every key screened against the table of the base's config
class (and of its text_config and vision_config), then every compared key checked against the
base's config after the normalisations transformers applies (`config_normal`).

Also refuses what the key tables cannot see: `{"__float__": "NaN"}` objects, which transformers
decodes into real non-finite floats anywhere in the file, and values nested deeper than any config
needs. A key the config class does not declare is refused unless the base's own config.json
carries it with the same value. No I/O; every problem is a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from modelport.catalog.catalog import BaseModel
from modelport.domain import reasons
from modelport.validation import config_normal as normal
from modelport.validation.config_keys import ConfigDocument, same_value, screen
from modelport.validation.file_policy import MODEL_CONFIG
from modelport.validation.findings import Findings
from modelport.validation.model_config_keys import GENERATION_KEYS, CommonKeys, Compared
from modelport.validation.model_config_text import (
    DecoderKeys,
    Qwen2Document,
    Qwen3Document,
    Qwen3VLTextDocument,
    Qwen25VLTextDocument,
    SlidingKeys,
)
from modelport.validation.model_config_vision import (
    Qwen3VLDocument,
    Qwen3VLVisionDocument,
    Qwen25VLDocument,
    Qwen25VLVisionDocument,
    VisionKeys,
)
from modelport.validation.upload import RuleContext

MAX_DEPTH: Final = 8  # rope_parameters inside text_config is 3 deep; no loader needs more
_SHOWN: Final = 60
_SPECIAL: Final = frozenset({"dtype", "tie_word_embeddings"})  # compared across sections, below
_ROPE_KEYS: Final = frozenset({"rope_parameters", "rope_scaling", "rope_theta"})
_NESTED: Final = frozenset({"text_config", "vision_config"})
# The text keys Qwen2_5_VLConfig pops into text_config (T configuration_qwen2_5_vl.py#L198-200);
# tie_word_embeddings and dtype are its own fields.
_POPPED_TEXT_KEYS: Final = frozenset(SlidingKeys.model_fields) - frozenset(CommonKeys.model_fields) - _SPECIAL


@dataclass(frozen=True)
class Family:
    """The config classes transformers builds for one model_type."""

    top: type[CommonKeys]
    text: type[DecoderKeys]  # the same class as `top` for the text-only models
    vision: type[VisionKeys] | None = None


FAMILIES: Final[Mapping[str, Family]] = {
    "qwen2": Family(Qwen2Document, Qwen2Document),
    "qwen3": Family(Qwen3Document, Qwen3Document),
    "qwen2_5_vl": Family(Qwen25VLDocument, Qwen25VLTextDocument, Qwen25VLVisionDocument),
    "qwen3_vl": Family(Qwen3VLDocument, Qwen3VLTextDocument, Qwen3VLVisionDocument),
}


@dataclass(frozen=True)
class Section:
    at: str  # "", "text_config." or "vision_config."
    document: type[ConfigDocument]
    upload: Mapping[str, Any]
    base: Mapping[str, Any]


def check_model_config(context: RuleContext) -> str | None:
    """Screen and compare config.json; returns its declared dtype as a safetensors dtype name."""
    findings = context.findings
    base = context.upload.base
    document = context.upload.documents[MODEL_CONFIG]
    family = FAMILIES[base.architecture.model_type]
    before = findings.error_count
    if not isinstance(document, dict):
        screen(family.top, document, findings)
        findings.checked("full.config", before)
        return None
    model_type = document.get("model_type")
    foreign = isinstance(model_type, str) and model_type not in FAMILIES
    if foreign:
        findings.error(
            reasons.FULL_CONFIG_ARCHITECTURE,
            f"config.json: model_type {_show(model_type)} is not a Qwen architecture modelport imports; {base.id} "
            f"is a {base.architecture.model_type} model ({', '.join(base.architecture.architectures)}).",
            file=MODEL_CONFIG,
        )
    unreadable = _refuse_unreadable(document, findings)
    sections = _sections(document, base.config, family)
    carried: list[str] = []
    valid = not foreign  # another architecture: comparing its keys one by one would only add noise
    for section in sections:
        kept = _screened_keys(section, unreadable, base, findings, carried)
        screened, seen = screen(section.document, kept, findings, at=section.at)
        valid = valid and screened is not None
        ignored = sorted(section.at + key for key in seen.present if key in GENERATION_KEYS)
        if ignored:
            more = f" and {len(ignored) - 6} more" if len(ignored) > 6 else ""
            findings.warning(
                reasons.FULL_CONFIG_IGNORED,
                f"config.json: {', '.join(ignored[:6])}{more} {'is' if len(ignored) == 1 else 'are'} dropped when "
                "transformers loads the config and never read by vLLM; put sampling defaults in "
                "generation_config.json.",
                file=MODEL_CONFIG,
            )
    compared = valid and not unreadable
    if compared:
        _compare(sections, family, base, findings)
    detail = "compared with the base's config.json" if compared else "not compared with the base: fix the keys above"
    if carried:
        detail += f"; carried from the base: {', '.join(carried)}"
    findings.checked("full.config", before, detail[:500])
    dtype = normal.effective_dtype(document)
    text = document.get("text_config")
    if dtype is None and isinstance(text, dict):
        dtype = normal.effective_dtype(text)
    return normal.safetensors_dtype(dtype)


def _sections(document: Mapping[str, Any], config: Mapping[str, Any], family: Family) -> list[Section]:
    sections = [Section("", family.top, document, config)]
    text, base_text = document.get("text_config"), config.get("text_config")
    if family.top is not family.text and isinstance(text, dict):
        sections.append(
            Section("text_config.", family.text, text, base_text if isinstance(base_text, dict) else config)
        )
    vision, base_vision = document.get("vision_config"), config.get("vision_config")
    if family.vision is not None and isinstance(vision, dict):
        sections.append(
            Section("vision_config.", family.vision, vision, base_vision if isinstance(base_vision, dict) else {})
        )
    return sections


def _refuse_unreadable(document: Mapping[str, Any], findings: Findings) -> set[tuple[str, ...]]:
    """Refuse {"__float__": ...} objects and over-deep values; returns the keys they sit in, as
    (key,) or (section, key) for keys of text_config and vision_config."""
    bad: set[tuple[str, ...]] = set()
    for path, owner, value, depth in _walk(document):
        if _float_tag(value):
            findings.error(
                reasons.FULL_CONFIG_SCHEMA,
                f"config.json: {path} is not a finite number: transformers decodes {_show(value)} into a float "
                "(NaN or infinity gives non-finite logits); write the number itself.",
                file=MODEL_CONFIG,
            )
            bad.add(owner)
        elif depth > MAX_DEPTH and isinstance(value, dict | list):
            findings.error(
                reasons.FULL_CONFIG_SCHEMA,
                f"config.json: {path} is nested more than {MAX_DEPTH} levels deep; no Qwen config key is.",
                file=MODEL_CONFIG,
            )
            bad.add(owner)
    return bad


def _walk(document: Mapping[str, Any]) -> Iterator[tuple[str, tuple[str, ...], Any, int]]:
    """(path, owning key, value, depth) of every value, without recursion; a refused value is not entered."""
    stack: list[tuple[str, tuple[str, ...], Any, int]] = [
        (str(key), (str(key),), value, 1) for key, value in reversed(list(document.items()))
    ]
    while stack:
        path, owner, value, depth = stack.pop()
        yield path, owner, value, depth
        if depth > MAX_DEPTH or _float_tag(value):
            continue
        if isinstance(value, dict):
            section = depth == 1 and path in _NESTED
            for key, child in reversed(list(value.items())):
                stack.append((f"{path}.{key}", (path, str(key)) if section else owner, child, depth + 1))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{index}]", owner, value[index], depth + 1))


def _float_tag(value: Any) -> bool:
    # T configuration_utils.py#L1021-1040 decodes {"__float__": "NaN" | "Infinity" | "-Infinity"}.
    return isinstance(value, dict) and len(value) == 1 and "__float__" in value


def _screened_keys(
    section: Section, unreadable: set[tuple[str, ...]], base: BaseModel, findings: Findings, carried: list[str]
) -> dict[str, Any]:
    """The section's keys that still need the table: not refused as unreadable, not carried by the base."""
    rules = section.document.rules()
    kept: dict[str, Any] = {}
    for key, value in section.upload.items():
        path = section.at + key
        owner = (section.at.rstrip("."), key) if section.at else (key,)
        if owner in unreadable and not (not section.at and key in _NESTED):
            continue
        if key not in rules and key in section.base:
            if same_value(value, section.base[key]):
                carried.append(path)
            else:
                official = "official " if base.origin == "builtin" else ""
                findings.error(
                    reasons.FULL_CONFIG_REFUSED,
                    f"config.json: {path} is {_show(value)}; the {official}{base.id} config has "
                    f"{_show(section.base[key])}.",
                    file=MODEL_CONFIG,
                )
            continue
        kept[key] = value
    return kept


def _compare(sections: list[Section], family: Family, base: BaseModel, findings: Findings) -> None:
    top = sections[0]
    text_section = next((s for s in sections if s.at == "text_config."), None)
    text_view = text_section or Section("", family.text, top.upload, _base_text(top.base, family))
    text = normal.effective_text(text_view.upload, family.text.CONFIG_CLASS, family.text.DEFAULTS)
    base_text = normal.effective_text(text_view.base, family.text.CONFIG_CLASS, family.text.DEFAULTS)
    # layer_types is derived from keys compared on their own; compare it only where a file writes it.
    derived = "layer_types" not in text_view.upload and "layer_types" not in text_view.base
    _compare_values(
        text_view.at, family.text, text, base_text, base, findings, frozenset({"layer_types"} if derived else ())
    )
    if family.top is not family.text:
        skip = frozenset(key for key, rule in family.text.rules().items() if isinstance(rule, Compared))
        upload_top, base_top = {**family.top.DEFAULTS, **top.upload}, {**family.top.DEFAULTS, **top.base}
        _compare_values("", family.top, upload_top, base_top, base, findings, skip)
    if text_section is not None and family.top is Qwen25VLDocument:
        _check_top_level_copies(top.upload, text, findings)
    for section in sections:
        if section.at == "vision_config." and family.vision is not None:
            upload_vision = normal.effective_vision(section.upload, family.vision.DEFAULTS)
            base_vision = normal.effective_vision(section.base, family.vision.DEFAULTS)
            _compare_values(section.at, family.vision, upload_vision, base_vision, base, findings)
    _compare_dtypes(sections, base, findings)
    _compare_tie(sections, base, findings)
    pad, vocab = text.get("pad_token_id"), base.architecture.vocab_size
    if isinstance(pad, int) and not isinstance(pad, bool) and pad >= vocab:
        findings.error(
            reasons.FULL_CONFIG_SCHEMA,
            f"config.json: {text_view.at}pad_token_id {pad} is outside the vocabulary (0-{vocab - 1}).",
            file=MODEL_CONFIG,
        )


def _compare_values(
    at: str,
    document: type[ConfigDocument],
    upload: Mapping[str, Any],
    base_values: Mapping[str, Any],
    base: BaseModel,
    findings: Findings,
    skip: frozenset[str] = frozenset(),
) -> None:
    for key, rule in sorted(document.rules().items()):
        if not isinstance(rule, Compared) or key in _SPECIAL or key in skip:
            continue
        found, expected = upload.get(key), base_values.get(key)
        if not same_value(found, expected):
            message = rule.differs.format(key=at + key, found=_show(found), base=base.id, expected=_show(expected))
            findings.error(reasons.FULL_CONFIG_MISMATCH, f"config.json: {message}", file=MODEL_CONFIG)


def _check_top_level_copies(document: Mapping[str, Any], text: Mapping[str, Any], findings: Findings) -> None:
    """With a text_config, transformers drops the top-level text keys; a copy that disagrees is a trap."""
    top = normal.effective_text(document, Qwen25VLTextDocument.CONFIG_CLASS, Qwen25VLTextDocument.DEFAULTS)
    rope = text.get("rope_parameters")
    theta = rope.get("rope_theta") if isinstance(rope, dict) else None
    for key in sorted(_POPPED_TEXT_KEYS & document.keys()):
        if key == "rope_theta":
            found, expected = document[key], theta
        elif key in _ROPE_KEYS:
            found = normal.effective_rope({key: document[key], "rope_theta": theta}, Qwen25VLTextDocument.CONFIG_CLASS)
            expected = rope
        else:
            found, expected = top.get(key), text.get(key)
        if not same_value(found, expected):
            findings.error(
                reasons.FULL_CONFIG_SCHEMA,
                f"config.json: {key} is {_show(document[key])} at the top level but text_config says "
                f"{_show(expected)}; transformers reads only text_config and drops the top-level copy, so remove it.",
                file=MODEL_CONFIG,
            )


def _compare_dtypes(sections: list[Section], base: BaseModel, findings: Findings) -> None:
    """The dtype that serves: the first section declaring one, top level first (V get_torch_dtype,
    transformers_utils/model_arch_config_convertor.py#L232-241). transformers with dtype="auto" reads the
    top level's and writes it over every sub-config (T modeling_utils.py#L829-891), so a sub-config's
    dtype under a top-level one is inert: transformers 4.5x saved Qwen2.5-VL's text and vision
    configs as float32 under a bfloat16 top level."""
    expected = next((d for s in sections if (d := normal.effective_dtype(s.base)) is not None), None)
    declared = next(((s, normal.effective_dtype(s.upload)) for s in sections if normal.declared_dtypes(s.upload)), None)
    if expected is None or declared is None or declared[1] is None:
        return  # nothing to hold the upload to, or both loaders use the tensors' dtype
    section, dtype = declared
    if dtype != expected:
        key = "dtype" if isinstance(section.upload.get("dtype"), str) else "torch_dtype"
        findings.error(
            reasons.FULL_CONFIG_MISMATCH,
            f"config.json: {section.at}{key} is {dtype}; {base.id} weights are {expected} and serving would compute "
            f"in {dtype}.",
            file=MODEL_CONFIG,
        )


def _compare_tie(sections: list[Section], base: BaseModel, findings: Findings) -> None:
    top = sections[0]
    base_text = top.base.get("text_config")
    expected = normal.effective_tie(top.base, base_text if isinstance(base_text, dict) else None)
    for section in sections:
        found = section.upload.get("tie_word_embeddings")
        if section.at != "vision_config." and found is not None and found is not expected:
            message = f"{section.at}tie_word_embeddings is {_show(found)}; {base.id} has {_show(expected)}"
            findings.error(
                reasons.FULL_CONFIG_MISMATCH,
                f"config.json: {message} (lm_head would be dropped or duplicated).",
                file=MODEL_CONFIG,
            )


def _base_text(config: Mapping[str, Any], family: Family) -> Mapping[str, Any]:
    text = config.get("text_config")
    return text if family.top is not family.text and isinstance(text, dict) else config


def _show(value: Any) -> str:
    """A value as JSON, bounded (the walk above already refused anything deeper than MAX_DEPTH)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."

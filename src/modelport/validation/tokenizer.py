"""Tokenizer, chat-template and processor files: the vocabulary and the chat template must be the
base model's.

A changed chat template is an inference-time program (it can hide instructions behind a trigger),
and a changed vocabulary breaks the embeddings, so both are compared with the catalog's reference
files when the catalog has them. Without a reference the template check is reported as skipped,
and the vocabulary is still bounded by the base's `vocab_size`.
"""

from __future__ import annotations

import difflib
from typing import Any

from modelport.domain import reasons
from modelport.strict_json import JsonFileError, parse_json
from modelport.validation.file_policy import MODEL_CONFIG, PROCESSOR_FILES, TOKENIZER_FILES
from modelport.validation.findings import Outcome
from modelport.validation.upload import CopyItem, RuleContext

_TEMPLATE_SOURCES = ("chat_template.jinja", "chat_template.json", "tokenizer_config.json", MODEL_CONFIG)
_IDENTICAL_WHEN_REFERENCED = (
    "tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json",
    "preprocessor_config.json", "video_preprocessor_config.json",
)  # fmt: skip


def check_tokenizer_files(context: RuleContext) -> list[CopyItem]:
    """Check every shipped tokenizer/template/processor file; returns those to copy."""
    upload = context.upload
    shipped = sorted(n for n in upload.accepted if n in TOKENIZER_FILES or n in PROCESSOR_FILES)
    _check_chat_template(context)
    _check_identical_files(context, shipped)
    _check_vocabulary_bounds(context, shipped)
    return [CopyItem(name=name, size=upload.accepted[name].size) for name in shipped]


def _check_chat_template(context: RuleContext) -> None:
    findings = context.findings
    upload = context.upload
    base = upload.base
    before = findings.error_count
    shipped = {
        name: template
        for name in _TEMPLATE_SOURCES
        if (template := _template_in(name, upload.documents.get(name), upload.texts.get(name))) is not None
    }
    if not shipped:
        findings.check("tokenizer.chat_template", Outcome.SKIPPED, "no chat template shipped; the base's is used")
        return
    operator_reference = _reference_template(base.reference_files)
    references = [operator_reference] if operator_reference is not None else list(base.official_chat_templates)
    if not references:
        findings.check(
            "tokenizer.chat_template",
            Outcome.SKIPPED,
            f"the catalog has no reference chat template for {base.id}; an operator adds one as "
            f"base_models/{base.id}/tokenizer_config.json",
        )
        return
    for name, template in shipped.items():
        if template not in references:
            findings.error(
                reasons.TOKENIZER_CHAT_TEMPLATE_CHANGED,
                f"{name}: the chat template differs from {base.id}'s {_first_difference(references[0], template)}; "
                "imports must keep the base model's chat template (remove the file or restore the original).",
                file=name,
            )
    findings.checked("tokenizer.chat_template", before)


def _check_identical_files(context: RuleContext, shipped: list[str]) -> None:
    findings = context.findings
    upload = context.upload
    references = upload.base.reference_files
    before = findings.error_count
    compared = 0
    for name in shipped:
        if name not in references or name not in _IDENTICAL_WHEN_REFERENCED:
            continue
        compared += 1
        if not _same_content(name, upload.texts.get(name), references[name]):
            findings.error(
                reasons.TOKENIZER_CHANGED,
                f"{name} differs from {upload.base.id}'s reference copy; imports must keep the base model's "
                "vocabulary and tokenizer (remove the file or restore the original).",
                file=name,
            )
    tokenizer_config = upload.documents.get("tokenizer_config.json")
    reference_config = _json_or_none(references.get("tokenizer_config.json"))
    if isinstance(tokenizer_config, dict) and isinstance(reference_config, dict):
        compared += 1
        for key in (
            "added_tokens_decoder",
            "eos_token",
            "pad_token",
            "bos_token",
            "additional_special_tokens",
        ):
            if tokenizer_config.get(key) != reference_config.get(key):
                findings.error(
                    reasons.TOKENIZER_CHANGED,
                    f"tokenizer_config.json: {key} differs from {upload.base.id}'s reference; special tokens "
                    "and added tokens must stay as in the base model.",
                    file="tokenizer_config.json",
                )
    if compared:
        findings.checked("tokenizer.identical_to_base", before, f"{compared} files compared")
    elif shipped:
        findings.check(
            "tokenizer.identical_to_base",
            Outcome.SKIPPED,
            f"the catalog has no reference tokenizer files for {upload.base.id}",
        )


def _check_vocabulary_bounds(context: RuleContext, shipped: list[str]) -> None:
    """Whatever the references, no token id may fall outside the base's embedding matrix."""
    findings = context.findings
    upload = context.upload
    vocab_size = upload.base.architecture.vocab_size
    before = findings.error_count
    ids: dict[str, list[int]] = {}
    tokenizer_config = upload.documents.get("tokenizer_config.json")
    if isinstance(tokenizer_config, dict) and isinstance(tokenizer_config.get("added_tokens_decoder"), dict):
        ids["tokenizer_config.json"] = [int(k) for k in tokenizer_config["added_tokens_decoder"] if str(k).isdigit()]
    added = upload.documents.get("added_tokens.json")
    if isinstance(added, dict):
        ids["added_tokens.json"] = [v for v in added.values() if isinstance(v, int)]
    tokenizer = upload.documents.get("tokenizer.json")
    if isinstance(tokenizer, dict):
        model = tokenizer.get("model")
        vocab = model.get("vocab") if isinstance(model, dict) else None
        found: list[Any] = list(vocab.values()) if isinstance(vocab, dict) else []
        found += [t.get("id") for t in tokenizer.get("added_tokens") or [] if isinstance(t, dict)]
        ids["tokenizer.json"] = [i for i in found if isinstance(i, int)]
    vocab_json = upload.documents.get("vocab.json")
    if isinstance(vocab_json, dict):
        ids["vocab.json"] = [v for v in vocab_json.values() if isinstance(v, int)]
    for name, values in sorted(ids.items()):
        out_of_range = [i for i in values if not 0 <= i < vocab_size]
        if out_of_range:
            findings.error(
                reasons.TOKENIZER_VOCABULARY_CHANGED,
                f"{name}: token id {max(out_of_range)} is outside {upload.base.id}'s vocabulary "
                f"(vocab_size {vocab_size}); added tokens would need a resized embedding, which imports do not allow.",
                file=name,
            )
    if ids:
        findings.checked("tokenizer.vocabulary_bounds", before)
    elif shipped:
        findings.check("tokenizer.vocabulary_bounds", Outcome.SKIPPED, "no token ids to check")


def _template_in(name: str, document: Any, raw: bytes | None) -> Any:
    if name == "chat_template.jinja":
        return raw.decode("utf-8", errors="replace") if raw is not None else None
    if isinstance(document, dict):
        return document.get("chat_template")
    return None


def _reference_template(references: dict[str, bytes] | Any) -> Any:
    for name in ("chat_template.jinja", "chat_template.json", "tokenizer_config.json"):
        raw = references.get(name)
        if raw is None:
            continue
        if name == "chat_template.jinja":
            return raw.decode("utf-8", errors="replace")
        document = _json_or_none(raw)
        if isinstance(document, dict) and document.get("chat_template"):
            return document["chat_template"]
    return None


def _same_content(name: str, uploaded: bytes | None, reference: bytes) -> bool:
    if uploaded is None:
        return False
    if uploaded == reference:
        return True
    if name.endswith(".json") and name != "tokenizer.json":
        # Key order and whitespace are not content for small JSON files.
        parsed = _json_or_none(uploaded)
        return parsed is not None and bool(parsed == _json_or_none(reference))
    return False


def _json_or_none(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return parse_json(raw)
    except JsonFileError:
        return None


def _first_difference(reference: Any, shipped: Any) -> str:
    if not isinstance(reference, str) or not isinstance(shipped, str):
        return "reference"
    ref_lines, new_lines = reference.splitlines(), shipped.splitlines()
    matcher = difflib.SequenceMatcher(a=ref_lines, b=new_lines, autojunk=False)
    for tag, i1, _i2, j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            line = (j1 if j1 < len(new_lines) else i1) + 1
            return f"reference (first difference at line {line})"
    return "reference (whitespace differs)"

"""The chat template: a shipped template must be one of the base's, whichever file carries it.

A template is a program run on every request (it can hide instructions behind a trigger), so it is
compared with the base's official templates, or with the operator's reference, which replaces
them. transformers reads `chat_template.jinja` over tokenizer_config.json's `chat_template`, and the
VL processor reads `chat_template.json` first (docs/loader-semantics.md §11.6), so every shipped
copy must match. Two templates that differ only in line endings are the same program: jinja
normalises `\\r\\n` and `\\r` to `\\n` when it compiles (`jinja2/lexer.py` `newline_re`,
`_normalize_newlines`), so they are compared after the same normalisation. A leading byte-order
mark is not normalised: it is rendered at the start of every prompt, and is refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final

from pydantic import Field

from modelport.domain import reasons
from modelport.validation.config_keys import ConfigDocument, KeyRule, checked, not_compared, refused, screen
from modelport.validation.file_policy import MODEL_CONFIG
from modelport.validation.findings import Findings, Outcome
from modelport.validation.tokenizer_reference import BaseTokenizer
from modelport.validation.upload import Upload

JINJA: Final = "chat_template.jinja"
JSON: Final = "chat_template.json"
CHECK: Final = "tokenizer.chat_template"
_SOURCES: Final = (JINJA, JSON, "tokenizer_config.json", MODEL_CONFIG)
_NEWLINES: Final = re.compile(r"\r\n?")
_BOM: Final = "\ufeff"


class ChatTemplateJson(ConfigDocument):
    FILE: ClassVar[str] = JSON
    SCHEMA_REASON = reasons.TOKENIZER_SCHEMA
    REFUSED_REASON = reasons.TOKENIZER_REFUSED_KEY
    UNKNOWN: ClassVar[KeyRule] = refused("transformers 5: the processor reads chat_template only", "transformers 5 processing_utils.py#L1324-1420", "is not a key of chat_template.json (only chat_template is read); remove it.")  # fmt: skip

    chat_template: Annotated[str, checked("transformers 5: the VL processor's template, read before chat_template.jinja; vllm renders requests without tools with it", "transformers 5 processing_utils.py#L1324-1420; vllm renderers/hf.py#L278-291", "a single template string", reasons.TOKENIZER_EXTRA_TEMPLATES)] = Field(max_length=65536)  # fmt: skip


def check_chat_templates(upload: Upload, base: BaseTokenizer, findings: Findings) -> None:
    before = findings.error_count
    if JSON in upload.documents:
        screen(ChatTemplateJson, upload.documents[JSON], findings)
    shipped = {name: text for name in _SOURCES if (text := _shipped(name, upload, findings)) is not None}
    if not shipped:
        if findings.error_count == before:
            findings.check(CHECK, Outcome.SKIPPED, "no chat template shipped; the base's is used")
        return
    for name, template in list(shipped.items()):
        if template.startswith(_BOM):
            findings.error(
                reasons.TOKENIZER_TEMPLATE_ENCODING,
                f"{name}: the chat template starts with a byte-order mark (U+FEFF), which transformers renders at the "
                "start of every prompt; save it without the BOM.",
                file=name,
            )
            del shipped[name]
    references = _references(base)
    if not references:
        not_compared(
            findings,
            CHECK,
            f"the catalog has no reference chat template for {base.id}; an operator adds one as "
            f"base_models/{base.id}/chat_template.jinja or tokenizer_config.json",
        )
        return
    normalised = [_NEWLINES.sub("\n", reference) for reference in references]
    for name, template in shipped.items():
        if _NEWLINES.sub("\n", template) not in normalised:
            findings.error(
                reasons.TOKENIZER_CHAT_TEMPLATE_CHANGED,
                f"{name}: the chat template differs from {base.id}'s reference (first difference at line "
                f"{_first_difference(normalised[0], template)}); imports must keep the base model's chat template "
                "(remove the file or restore the original).",
                file=name,
            )
    findings.checked(
        CHECK, before, f"{', '.join(shipped) or 'nothing'} compared with {len(references)} reference template(s)"
    )


def _shipped(name: str, upload: Upload, findings: Findings) -> str | None:
    """The template `name` carries, or None; a chat_template.jinja that is not UTF-8 is refused here."""
    if name == JINJA:
        raw = upload.texts.get(JINJA)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            findings.error(
                reasons.TOKENIZER_TEMPLATE_ENCODING,
                f"{JINJA} is not valid UTF-8 (byte {error.start}), and transformers reads it as UTF-8; save it as UTF-8.",
                file=JINJA,
            )
            return None
    document = upload.documents.get(name)
    template = document.get("chat_template") if isinstance(document, dict) else None
    return template if isinstance(template, str) else None  # another type is the file's schema finding


def _references(base: BaseTokenizer) -> list[str]:
    """The operator's reference template when there is one (it replaces the list), else the official ones."""
    raw = base.base.reference_files.get(JINJA)
    if raw is not None:
        return [raw.decode("utf-8", errors="replace")]
    for name in (JSON, "tokenizer_config.json"):
        document: Any = base.reference(name)
        template = document.get("chat_template") if isinstance(document, dict) else None
        if isinstance(template, str) and template:
            return [template]
    return list(base.base.official_chat_templates)


def _first_difference(reference: str, shipped: str) -> int:
    """The first line (from 1) where `shipped` departs from `reference`; linear, whatever the input."""
    ref_lines, new_lines = reference.split("\n"), _NEWLINES.sub("\n", shipped).split("\n")
    for number, (old, new) in enumerate(zip(ref_lines, new_lines, strict=False), start=1):
        if old != new:
            return number
    return min(len(ref_lines), len(new_lines)) + 1

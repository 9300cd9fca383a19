"""special_tokens_map.json: the legacy special-token file, decided key by key (docs/config-keys.md §6).

transformers 5 reads it only when tokenizer_config.json has no `added_tokens_decoder`, and then
copies every key into the tokenizer constructor (`tokenization_utils_base.py#L1861-1889`); other
runtimes read it whatever tokenizer_config.json says. So each key is compared with the base, and
with the tokenizer_config.json shipped beside it: two files that disagree make two loaders build
two tokenizers. A key that is absent here overrides nothing, so it is not compared.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final

from modelport.domain import reasons
from modelport.validation.config_keys import ConfigDocument, KeyRule, checked, refused, screen
from modelport.validation.findings import Findings
from modelport.validation.special_tokens import (
    SPECIAL_TOKENS,
    SpecialToken,
    Token,
    check_token_lists,
    compare_special,
    content,
    effective_special,
)
from modelport.validation.token_ids import shown
from modelport.validation.tokenizer_reference import BaseTokenizer

FILE: Final = "special_tokens_map.json"
B = "transformers 5 tokenization_utils_base.py"
_LEGACY = "read only without added_tokens_decoder, then passed to the tokenizer constructor"


class SpecialTokensMapFile(ConfigDocument):
    FILE: ClassVar[str] = FILE
    SCHEMA_REASON = reasons.TOKENIZER_SCHEMA
    REFUSED_REASON = reasons.TOKENIZER_REFUSED_KEY
    UNKNOWN: ClassVar[KeyRule] = refused(f"{_LEGACY}, like an unknown tokenizer_config.json key", f"{B}#L1867-1884", "is not a special-token name; on the legacy branch transformers passes it to the tokenizer constructor (a *_token string adds a token). Remove it.")  # fmt: skip

    eos_token: Annotated[Token, checked(f"the EOS (vLLM's stop token) when {_LEGACY}", f"{B}#L1861-1889", "a token string or AddedToken object")] = None  # fmt: skip
    pad_token: Annotated[Token, checked(f"the padding token when {_LEGACY}", f"{B}#L1861-1889", "a token string or AddedToken object")] = None  # fmt: skip
    bos_token: Annotated[Token, checked(f"the BOS token (Qwen has none) when {_LEGACY}", f"{B}#L1861-1889", "a token string, an AddedToken object or null")] = None  # fmt: skip
    unk_token: Annotated[Token, checked(f"the unknown token when {_LEGACY}", f"{B}#L1861-1889", "a token string, an AddedToken object or null")] = None  # fmt: skip
    sep_token: Annotated[None, checked("a special attribute; a string adds a token", f"{B}#L980-988", "null: Qwen tokenizers have no sep_token")] = None  # fmt: skip
    cls_token: Annotated[None, checked("a special attribute; a string adds a token", f"{B}#L980-988", "null: Qwen tokenizers have no cls_token")] = None  # fmt: skip
    mask_token: Annotated[None, checked("a special attribute; a string adds a token", f"{B}#L980-988", "null: Qwen tokenizers have no mask_token")] = None  # fmt: skip
    additional_special_tokens: Annotated[list[str | SpecialToken] | None, checked(f"extra special tokens when {_LEGACY}; a new string adds a token", f"{B}#L1812-1814, #L1867-1884", "a list of token strings")] = None  # fmt: skip
    extra_special_tokens: Annotated[list[str | SpecialToken] | dict[str, str] | None, checked(f"extra or named special tokens when {_LEGACY}", f"{B}#L1870-1889", "a list of token strings, or an object of names to token strings")] = None  # fmt: skip


def check_special_tokens_map(
    document: Any, base: BaseTokenizer, findings: Findings, *, config: dict[str, Any] | None, known: set[str]
) -> None:
    """`config`: the shipped tokenizer_config.json, when it parsed; `known`: the tokenizer's token strings."""
    screen(SpecialTokensMapFile, document, findings)
    if not isinstance(document, dict):
        return
    for key in SPECIAL_TOKENS:
        value = document.get(key)
        if key not in document or not (value is None or isinstance(value, str | dict)):
            continue
        compare_special(FILE, key, value, base, findings, known)
        if config is not None:
            _agree(key, content(value), effective_special(config, key), findings)
    check_token_lists(FILE, document, base, findings, known)
    if config is not None:
        for key in ("additional_special_tokens", "extra_special_tokens"):
            mine, theirs = document.get(key), config.get(key)
            if isinstance(mine, list) and isinstance(theirs, list):
                _agree(key, [content(t) for t in mine], [content(t) for t in theirs], findings)


def _agree(key: str, mine: Any, theirs: Any, findings: Findings) -> None:
    before = findings.error_count
    if mine != theirs:
        findings.error(
            reasons.TOKENIZER_INCONSISTENT,
            f"{FILE}: {key} is {shown(mine)} but tokenizer_config.json gives {shown(theirs)}; loaders that read one "
            "file or the other would build different tokenizers.",
            file=FILE,
        )
    findings.checked(f"{FILE}.{key}.agrees_with_tokenizer_config", before)

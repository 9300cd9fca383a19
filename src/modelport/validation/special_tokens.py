"""Special tokens (eos, pad, bos, unk and the extra special-token lists) as transformers 5 loads them,
compared with the base's: shared by tokenizer_config.json and special_tokens_map.json.

A special token is a string or an AddedToken object; transformers adds any string its tokenizer
does not hold as a new token (`tokenization_utils_base.py#L1038-1047`), which has no trained
embedding, so every such string must be one of the tokenizer's tokens. An absent key is compared
as the loader's default, not as the base's value: Qwen2Tokenizer defaults eos_token, pad_token and
unk_token to <|endoftext|> and bos_token to none.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain import reasons
from modelport.validation.config_keys import not_compared
from modelport.validation.findings import Findings
from modelport.validation.token_ids import shown
from modelport.validation.tokenizer_reference import BaseTokenizer, Known, Unknown, same_json


class SpecialToken(BaseModel):
    """A special token written as an AddedToken object rather than a string."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)
    content: str = Field(min_length=1)
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False
    single_word: bool = False
    special: bool = True
    type_tag: Literal["AddedToken"] | None = Field(default=None, alias="__type")  # transformers 4.3x wrote it


Token = str | SpecialToken | None


SPECIAL_TOKENS: Final = ("eos_token", "pad_token", "bos_token", "unk_token")
# What Qwen2Tokenizer uses for an absent key (models/qwen2/tokenization_qwen2.py#L45-48).
DEFAULTS: Final = {
    "eos_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "bos_token": None,
}
_MATCHING: Final = ("lstrip", "rstrip", "normalized", "single_word")
_SPECIAL: Final = {
    "eos_token": "it is the end-of-turn token, and vLLM stops generation at the tokenizer's eos",
    "pad_token": "batched inputs would be padded with another token",
    "bos_token": "it would change what the tokenizer treats as the start of a sequence",
    "unk_token": "it would change the unknown token",
}


def compare_special(
    file: str, key: str, value: Any, base: BaseTokenizer, findings: Findings, known: set[str], *, absent: bool = False
) -> None:
    """Compare a special token with the base's: its text, and the matching flags of an AddedToken object
    (they replace the added token's, e.g. lstrip); a text the tokenizer does not hold would be added."""
    found = content(value)
    if isinstance(found, str) and known and found not in known:
        findings.error(
            reasons.TOKENIZER_CHANGED,
            f"{file}: {key} {shown(found)} is not one of the tokenizer's tokens, so transformers would add it as a new "
            "token without a trained embedding.",
            file=file,
        )
        return
    table = base.added_tokens()
    if isinstance(value, dict) and not isinstance(table, Unknown) and table.flags_known:
        token = next((t for t in table.tokens if t.content == found), None)
        flags = [flag for flag in _MATCHING if flag in value and token is not None]
        changed = [f"{flag}={value[flag]}" for flag in flags if value[flag] != getattr(token, flag)]
        if changed:
            findings.error(
                reasons.TOKENIZER_CHANGED,
                f"{file}: {key} {shown(found)} has {', '.join(changed)}, unlike {base.id}'s added token "
                f"({table.source}); it changes how the token is matched in text.",
                file=file,
            )
    compare_setting(file, key, found, base, findings, _SPECIAL[key], absent=absent)


def compare_setting(
    file: str, key: str, found: Any, base: BaseTokenizer, findings: Findings, effect: str, *, absent: bool = False
) -> None:
    expected = base.config_value("model_max_length" if key == "max_len" else key)
    name = f"{file}.{key}"
    if isinstance(expected, Unknown):
        not_compared(findings, name, expected.why)
        return
    wanted = content(expected.value) if key in _SPECIAL else expected.value
    if key == "add_prefix_space":  # Qwen2Tokenizer reads null as false (tokenization_qwen2.py#L52)
        found, wanted = bool(found), bool(wanted)
    before = findings.error_count
    if not (same_json(found, wanted) or _both_unused_unk(key, found, wanted)):
        what = f"absent, so transformers uses {shown(found)}" if absent else shown(found)
        findings.error(
            reasons.TOKENIZER_CHANGED,
            f"{file}: {key} is {what}; {base.id}'s is {shown(wanted)} ({expected.source}); {effect}.",
            file=file,
        )
    findings.checked(name, before, f"compared with {expected.source}")


def check_token_lists(
    file: str, document: dict[str, Any], base: BaseTokenizer, findings: Findings, known: set[str]
) -> None:
    for key in ("additional_special_tokens", "extra_special_tokens"):
        value = document.get(key)
        if not isinstance(value, list | dict) or not value:
            continue
        tokens = [content(t) for t in (value.values() if isinstance(value, dict) else value)]
        before = findings.error_count
        new = next((t for t in tokens if isinstance(t, str) and known and t not in known), None)
        if new is not None:
            findings.error(
                reasons.TOKENIZER_CHANGED,
                f"{file}: {key} adds {shown(new)}, which {base.id} does not have; transformers would add it as a new "
                "token without a trained embedding.",
                file=file,
            )
        expected = base.config_value("additional_special_tokens")
        if _differs(value, expected):
            assert isinstance(expected, Known)
            findings.error(
                reasons.TOKENIZER_CHANGED,
                f"{file}: {key} differs from {base.id}'s additional special tokens ({expected.source}).",
                file=file,
            )
        if not known and isinstance(expected, Unknown):
            not_compared(findings, f"{file}.{key}", f"the catalog knows no added tokens of {base.id} to check against")
        else:
            findings.checked(f"{file}.{key}", before)


def effective_special(document: dict[str, Any], key: str) -> Any:
    """The text of a special token as transformers loads this file: an absent key is Qwen2Tokenizer's default."""
    return content(document.get(key, DEFAULTS[key]))


def _differs(value: Any, expected: Known | Unknown) -> bool:
    """Whether a list of special tokens differs from the base's list, when the base's is known."""
    if not isinstance(value, list) or not isinstance(expected, Known) or not isinstance(expected.value, list):
        return False
    return [content(t) for t in value] != [content(t) for t in expected.value]


def content(value: Any) -> Any:
    """A special token's text, whether written as a string or as an AddedToken object."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def _both_unused_unk(key: str, found: Any, wanted: Any) -> bool:
    """Qwen's byte-level BPE is built without an unknown token, so null and <|endoftext|> give the same ids."""
    return key == "unk_token" and found in (None, "<|endoftext|>") and wanted in (None, "<|endoftext|>")

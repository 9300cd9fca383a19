"""Token ids and added tokens, read as transformers and tokenizers read them.

transformers parses the keys of `added_tokens_decoder` with `int(k)` (`tokenization_utils_base.py#L1856`),
which accepts "+5", " 5", "1_0" and non-ASCII decimal digits, and fails the whole load on "²" (a
digit to `isdigit`, not to `int`). The gate parses with the same `int()` and then refuses every form
but plain ASCII decimals, with a sentence instead of an exception. The ids a file declares are not
the ids tokens get: transformers adds the table in sorted key order and tokenizers appends each
token after the vocabulary in that order, ignoring the declared id (`tokenization_utils_tokenizers.py
#L468-503`). So declared ids must be exactly start, start + 1, ... in that order, or every later
token shifts.

This module parses and compares; it reads no files and never raises on untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from modelport.domain import reasons
from modelport.validation.findings import Findings

_PLAIN_ID: Final = re.compile(r"0|[1-9][0-9]*")
_INT_DIGITS: Final = 4300  # Python's default int() limit for decimal strings (sys.get_int_max_str_digits)
FLAGS: Final = ("special", "lstrip", "rstrip", "normalized", "single_word")
_FIELDS: Final = frozenset({"content", *FLAGS})
_SHOWN: Final = 40


@dataclass(frozen=True)
class AddedToken:
    id: int
    content: str
    special: bool
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False
    single_word: bool = False

    def flags(self) -> dict[str, bool]:
        return {flag: getattr(self, flag) for flag in FLAGS}


def parse_token_id(key: str) -> tuple[int | None, str | None]:
    """(id, None) for a plain decimal id; (None, why) for any other form, saying what transformers does."""
    if _PLAIN_ID.fullmatch(key):
        if len(key) > _INT_DIGITS:
            return None, f"has more than {_INT_DIGITS} digits, which int() refuses, so the tokenizer fails to load"
        return int(key), None
    try:
        read = int(key)
    except ValueError:
        return None, f"is not a number int() can read, so transformers fails to load the tokenizer on {shown(key)}"
    return None, f"is read by transformers as {read} (int() accepts {shown(key)}), but is not a plain decimal id"


def token_entry(file: str, where: str, entry: Any, findings: Findings, *, with_id: bool) -> dict[str, Any] | None:
    """A validated added-token object (`content` and the five flags, plus `id` in tokenizer.json), or None."""
    expected = _FIELDS | {"id"} if with_id else _FIELDS
    if not isinstance(entry, dict):
        findings.error(
            reasons.TOKENIZER_SCHEMA,
            f"{file}: {where} must be an object with content and the flags {', '.join(FLAGS)}; found {shown(entry)}.",
            file=file,
        )
        return None
    missing = sorted(expected - entry.keys())
    extra = sorted(str(key) for key in entry.keys() - expected)
    problems = [f"missing {', '.join(missing)}"] if missing else []
    if extra:
        problems.append(f"unknown field {', '.join(shown(key) for key in extra[:3])} (tokenizers ignores it)")
    content = entry.get("content")
    if "content" in entry and (not isinstance(content, str) or not content):
        problems.append(f"content must be a non-empty string, found {shown(content)}")
    problems += [f"{flag} must be true or false" for flag in FLAGS if flag in entry and type(entry[flag]) is not bool]
    token_id = entry.get("id")
    if with_id and "id" in entry and (type(token_id) is not int or not 0 <= token_id < 2**32):
        problems.append(f"id must be an integer from 0 to 2^32 - 1, found {shown(token_id)}")
    if problems:
        findings.error(reasons.TOKENIZER_SCHEMA, f"{file}: {where}: {'; '.join(problems)}.", file=file)
        return None
    return entry


def check_contiguous(file: str, tokens: list[AddedToken], start: int | None, order: str, findings: Findings) -> bool:
    """Declared ids must be start, start + 1, ... in the order the loader assigns them (`order` says which)."""
    first = start if start is not None else (tokens[0].id if tokens else 0)
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.content in seen:
            findings.error(
                reasons.TOKENIZER_TOKEN_ORDER,
                f"{file}: {shown(token.content)} is declared twice (ids {seen[token.content]} and {token.id}); "
                "one content can have only one id.",
                file=file,
            )
            return False
        seen[token.content] = token.id
        assigned = first + index
        if token.id != assigned:
            origin = f"from {first}, where the BPE vocabulary ends" if start is not None else "without gaps"
            findings.error(
                reasons.TOKENIZER_TOKEN_ORDER,
                f"{file}: added-token ids must be contiguous {origin}; transformers assigns ids {order}, so "
                f"{shown(token.content)} would get id {assigned}, not {token.id}.",
                file=file,
            )
            return False
    return True


def compare_tables(
    file: str, found: list[AddedToken], expected: Iterable[AddedToken], flags_known: bool, findings: Findings
) -> str | None:
    """The first difference between two added-token tables, or None; flags only when `flags_known`."""
    wanted = {token.id: token for token in expected}
    for token in found:
        base = wanted.pop(token.id, None)
        if base is None:
            return f"it adds {shown(token.content)} as id {token.id}, which the base does not have"
        if base.content != token.content:
            return f"id {token.id} is {shown(token.content)}, the base's is {shown(base.content)}"
        if flags_known and base.flags() != token.flags():
            changed = [f"{k}={v}" for k, v in token.flags().items() if base.flags()[k] != v]
            return f"{shown(token.content)} has {', '.join(changed)}, unlike the base"
    if wanted:
        token = wanted[min(wanted)]
        return f"it lacks {shown(token.content)} (id {token.id})"
    return None


def table_from_mapping(entries: Mapping[int, Mapping[str, Any]]) -> list[AddedToken]:
    """Validated entries keyed by id, in the order transformers adds them (sorted by id)."""
    return [
        AddedToken(id=token_id, content=str(entry["content"]), **{flag: bool(entry[flag]) for flag in FLAGS})
        for token_id, entry in sorted(entries.items())
    ]


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."

"""Strict JSON: the one parser for every decision about untrusted or operator-supplied JSON.

It reads a document the way the loaders do (Python's `json` over UTF-8 text, as PEFT and
transformers read their files) and refuses what they would refuse or read differently:

- a UTF-8 byte-order mark: `json.loads` refuses it ("Unexpected UTF-8 BOM"), so the loaders do;
- duplicate keys: two parsers reading different values from one file is how confused-deputy
  bugs start;
- NaN and Infinity, as literals or as numbers that overflow a float (`1e999`): not JSON, and a
  report or manifest holding one could never be read back;
- integers outside the signed 64-bit range: no loader has a use for one, and they overflow later;
- unpaired UTF-16 surrogate escapes (`"\\ud800"`): no UTF-8 encoder can write them back;
- nesting deep enough to exhaust the stack.

Every refusal is a `JsonFileError` whose message completes a sentence that starts with the file
name ("adapter_config.json is not valid JSON ...").
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Final

_BOM: Final = b"\xef\xbb\xbf"
_INT_LIMIT: Final = 1 << 63


class JsonFileError(ValueError):
    """Why a JSON file is unusable, as a sentence without the file name."""


def parse_json(data: bytes) -> Any:
    if data.startswith(_BOM):
        raise JsonFileError(
            "starts with a UTF-8 byte-order mark, which Python's json (and so PEFT and transformers) refuses to "
            "read; save it without the BOM"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonFileError(f"is not valid UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:
        raise JsonFileError("is nested too deeply") from None
    except JsonFileError:
        raise
    except ValueError as error:
        raise JsonFileError(f"is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        _check_strings(document)  # objects checked their own members as they were built
    return document


def find_key(document: Any, key: str) -> str | None:
    """The JSON path of the first `key` anywhere in the document (e.g. `auto_map`), or None."""
    for where, _ in _walk(document, ""):
        if where.rsplit(".", 1)[-1] == key:
            return where
    return None


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    stack: list[tuple[str, Any]] = [(path, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                child_path = f"{where}.{key}" if where else str(key)
                yield child_path, child
                stack.append((child_path, child))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                stack.append((f"{where}[{index}]", child))


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        _check_text(key)
        if key in result:
            raise JsonFileError(f"has the key {key!r} twice")
        if not isinstance(value, dict):
            _check_strings(value)
        result[key] = value
    return result


def _check_strings(value: Any) -> None:
    """Check the strings of a value and of the lists in it (nested objects check themselves)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, list):
            stack.extend(child for child in item if not isinstance(child, dict))


def _check_text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonFileError(f"holds an unpaired UTF-16 surrogate escape in the string {value!r:.60}") from None


def _no_constants(name: str) -> Any:
    raise JsonFileError(f"contains {name}, which is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonFileError(f"contains the number {text:.40}, which is too large to be a finite float")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > 20:
        raise JsonFileError(f"contains the integer {text[:24]}..., outside the range any loader uses")
    value = int(text)
    if not -_INT_LIMIT <= value < _INT_LIMIT:
        raise JsonFileError(f"contains the integer {text}, outside the range any loader uses")
    return value

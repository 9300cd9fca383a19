"""Strict JSON: the one parser for every decision about untrusted or operator-supplied JSON.

Duplicate keys are refused (two parsers reading different values from one file is how
confused-deputy bugs start), NaN/Infinity literals are refused, and so is nesting deep enough to
exhaust the stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


class JsonFileError(ValueError):
    """Why a JSON file is unusable, as a sentence without the file name."""


def parse_json(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonFileError(f"is not valid UTF-8 (byte {error.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError:
        raise JsonFileError("is nested too deeply") from None
    except JsonFileError:
        raise
    except ValueError as error:
        raise JsonFileError(f"is not valid JSON ({error})") from None


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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonFileError(f"has the key {key!r} twice")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise JsonFileError(f"contains {name}, which is not valid JSON")

"""Typed, bounded reads of a Hugging Face config.json, for the architecture and the vision tower.

Nothing in a config is trusted: every field read is type- and range-checked, and a bad one raises
`ArchitectureError` with a sentence naming the field. Caps keep a hostile uploaded config from
making the catalog build a manifest of billions of entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

Shape = tuple[int, ...]

MAX_DIM: Final = 1 << 20
MAX_LAYERS: Final = 1024


class ArchitectureError(ValueError):
    """A config.json that does not describe a supported Qwen architecture."""


class Fields:
    """Typed reads from one or more config sections that may each hold a key.

    Qwen2.5-VL configs written by newer transformers repeat the text fields inside text_config;
    a key found in two sections must agree, or the file is ambiguous about what loads.
    """

    def __init__(self, *sections: tuple[str, Mapping[str, Any]]) -> None:
        self._sections = sections

    def find(self, key: str) -> tuple[str, Any] | None:
        """(qualified name, raw value) of `key`, or None when no section holds it."""
        found: tuple[str, Any] | None = None
        for prefix, section in self._sections:
            if key not in section:
                continue
            if found is None:
                found = (prefix + key, section[key])
            elif found[1] != section[key]:
                raise ArchitectureError(
                    f"config.json sets {found[0]} to {show(found[1])} but {prefix + key} to "
                    f"{show(section[key])}; the two must agree."
                )
        return found

    def integer(self, key: str, default: int | None = None, *, cap: int = MAX_DIM) -> int:
        found = self.find(key)
        if found is None:
            if default is None:
                raise ArchitectureError(f"config.json has no {self._where(key)}; it is required.")
            return default
        name, value = found
        if type(value) is not int or not 1 <= value <= cap:
            raise ArchitectureError(
                f"config.json field {name} must be an integer from 1 to {cap}; found {show(value)}."
            )
        return value

    def flag(self, key: str, default: bool) -> bool:
        found = self.find(key)
        if found is None:
            return default
        name, value = found
        if not isinstance(value, bool):
            raise ArchitectureError(f"config.json field {name} must be true or false; found {show(value)}.")
        return value

    def integer_list(self, key: str, *, below: int) -> tuple[int, ...]:
        found = self.find(key)
        if found is None:
            raise ArchitectureError(f"config.json has no {self._where(key)}; it is required.")
        name, value = found
        ok = isinstance(value, list) and all(type(i) is int and 0 <= i < below for i in value)
        if not ok or len(set(value)) != len(value):
            raise ArchitectureError(
                f"config.json field {name} must be a list of distinct integers from 0 to {below - 1}; "
                f"found {show(value)}."
            )
        return tuple(value)

    def _where(self, key: str) -> str:
        return " or ".join(prefix + key for prefix, _ in self._sections) or key


def show(value: object) -> str:
    """A bounded rendering of an untrusted value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def section(config: Mapping[str, Any], key: str, *, required: bool) -> Mapping[str, Any] | None:
    value = config.get(key)
    if value is None:
        if required:
            raise ArchitectureError(f"config.json has no {key}; a {config['model_type']} config needs one.")
        return None
    if not isinstance(value, Mapping):
        raise ArchitectureError(f"config.json field {key} must be a JSON object; found {show(value)}.")
    return value

"""Size caps for the small files of an upload (configs, index, tokenizer files), decided before
any byte is read; parsing is `modelport.strict_json`'s."""

from __future__ import annotations

from modelport.strict_json import JsonFileError, find_key, parse_json

__all__ = ["JSON_CAPS", "TEXT_CAPS", "JsonFileError", "cap_for", "find_key", "parse_json"]

KIB = 1024
MIB = 1024 * 1024

# Caps per file, decided before reading: real Qwen files are far below these.
JSON_CAPS: dict[str, int] = {
    "adapter_config.json": 1 * MIB,
    "config.json": 1 * MIB,
    "generation_config.json": 1 * MIB,
    "model.safetensors.index.json": 16 * MIB,
    "tokenizer.json": 32 * MIB,
    "tokenizer_config.json": 4 * MIB,
    "vocab.json": 16 * MIB,
    "special_tokens_map.json": 1 * MIB,
    "added_tokens.json": 4 * MIB,
    "chat_template.json": 1 * MIB,
    "preprocessor_config.json": 1 * MIB,
    "video_preprocessor_config.json": 1 * MIB,
}
TEXT_CAPS: dict[str, int] = {"merges.txt": 16 * MIB, "chat_template.jinja": 1 * MIB}


def cap_for(name: str) -> int:
    return JSON_CAPS.get(name) or TEXT_CAPS.get(name) or 1 * MIB

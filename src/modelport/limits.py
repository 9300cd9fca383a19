"""Every cap modelport puts on untrusted input, decided before the input is read.

One place, so the README, the rules and the tests agree on the numbers. Real Qwen files are far
below each cap; a cap exists so that a hostile upload costs bounded time and memory whatever it
holds. The safetensors parser keeps its format-level bounds (tensor count, rank, name length) in
its own contract and takes the header cap from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB

# -- requests ---------------------------------------------------------------------------------------
MAX_REQUEST_BODY_BYTES: Final = 1 * MIB

# -- listing and file sizes -------------------------------------------------------------------------
MAX_LISTED_FILES: Final = 10_000
MAX_HEADER_BYTES: Final = 16 * MIB  # a safetensors header; real ones are tens of KB
# Weights larger than these cannot be a real file of any supported base: refused before reading.
MAX_ADAPTER_BYTES: Final = 16 * GIB
MAX_SHARD_BYTES: Final = 256 * GIB
# Small files are read whole, so each kind has a cap; a name not listed gets DEFAULT_SMALL_FILE_BYTES.
SMALL_FILE_BYTES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "adapter_config.json": 1 * MIB,
        "config.json": 1 * MIB,
        "generation_config.json": 1 * MIB,
        "model.safetensors.index.json": 16 * MIB,
        "tokenizer.json": 32 * MIB,
        "tokenizer_config.json": 4 * MIB,
        "vocab.json": 16 * MIB,
        "merges.txt": 16 * MIB,
        "special_tokens_map.json": 1 * MIB,
        "added_tokens.json": 4 * MIB,
        "chat_template.json": 1 * MIB,
        "chat_template.jinja": 1 * MIB,
        "preprocessor_config.json": 1 * MIB,
        "video_preprocessor_config.json": 1 * MIB,
    }
)
DEFAULT_SMALL_FILE_BYTES: Final = 1 * MIB

# -- what the gate stores and returns -----------------------------------------------------------------
MAX_REPORT_BYTES: Final = 1 * MIB  # a job's validation report, as stored and as returned
MAX_REPORT_FILES: Final = 1_000  # file entries listed in a report; the rest are counted

# -- the catalog (operator files) -------------------------------------------------------------------
BASE_CONFIG_BYTES: Final = 1 * MIB
BASE_OPTIONS_BYTES: Final = 64 * KIB
# Reference files an operator may put beside a base's config.json.
BASE_REFERENCE_BYTES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "tokenizer_config.json": 4 * MIB,
        "chat_template.jinja": 4 * MIB,
        "chat_template.json": 4 * MIB,
        "tokenizer.json": 32 * MIB,
        "vocab.json": 4 * MIB,
        "merges.txt": 4 * MIB,
        "special_tokens_map.json": 4 * MIB,
        "added_tokens.json": 4 * MIB,
        "generation_config.json": 4 * MIB,
        "preprocessor_config.json": 4 * MIB,
    }
)


def small_file_cap(name: str) -> int:
    return SMALL_FILE_BYTES.get(name, DEFAULT_SMALL_FILE_BYTES)

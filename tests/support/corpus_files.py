"""Corpus cases for names and values: names loaders look for exactly, folders at any depth,
undecodable names, and the warnings of the value scan (no-op adapters, extreme magnitudes)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from modelport import samples
from modelport.samples import TensorSpec
from tests.support.corpus import TINY3, Case, Context, add_files, lora, lora_then


def rename(old: str, new: str):  # type: ignore[no-untyped-def]
    def edit(folder: Path, _context: Context) -> None:
        (folder / old).rename(folder / new)

    return edit


def deep_folder(depth: int):  # type: ignore[no-untyped-def]
    def edit(folder: Path, _context: Context) -> None:
        path = folder.joinpath(*[f"checkpoint-{n}" for n in range(depth)])
        path.mkdir(parents=True)
        (path / "optimizer.pt").write_bytes(b"\x80\x04")

    return edit


def undecodable_name(folder: Path, _context: Context) -> None:
    with open(os.fsencode(folder) + b"/notes-\xff.txt", "wb") as handle:
        handle.write(b"x")


def _zero_a(spec: TensorSpec) -> bytes:
    return bytes(spec.nbytes) if "lora_A" in spec.name else samples.random_filler()(spec)


def _extreme(spec: TensorSpec) -> bytes:
    data = bytearray(samples.random_filler()(spec))
    if "layers.0.self_attn.q_proj.lora_B" in spec.name:
        data[0:4] = struct.pack("<f", 3.0e6)
    return bytes(data)


def _implausible(spec: TensorSpec) -> bytes:
    data = bytearray(samples.random_filler()(spec))
    if "lora_B" in spec.name:
        data[0:4] = struct.pack("<f", 1.0e30)
    return bytes(data)


def cases() -> list[Case]:
    return [
        Case("name-weights-in-capitals", TINY3, "lora", lora_then(rename("adapter_model.safetensors", "ADAPTER_MODEL.SAFETENSORS")),
             "FAILED", ("files.name_case",), ("must be named adapter_model.safetensors exactly",)),
        Case("name-config-capitalised", TINY3, "lora", lora_then(rename("adapter_config.json", "Adapter_Config.json")),
             "FAILED", ("files.name_case",), ("adapter_config.json",)),
        Case("name-tokenizer-capitalised", TINY3, "lora", lora_then(add_files({"Tokenizer.json": "{}"})),
             "FAILED", ("files.name_case",), ("tokenizer.json",)),
        Case("name-leftovers-18-folders-deep", TINY3, "lora", lora_then(deep_folder(18)), "SUCCESSED",
             ignored=("checkpoint-0/",), copied=("adapter_config.json", "adapter_model.safetensors")),
        Case("name-undecodable-file-name", TINY3, "lora", lora_then(undecodable_name), "FAILED",
             ("files.unsafe_name",), ("not valid UTF-8",)),
        Case("name-extra-safetensors-beside-adapter", TINY3, "lora", lora_then(add_files({"model.safetensors": b"x" * 16})),
             "FAILED", ("files.unexpected_safetensors",), ("model.safetensors",)),
        Case("values-zero-lora-a-is-a-no-op", TINY3, "lora", lora(fill=_zero_a), "SUCCESSED",
             warnings=("values.untrained_adapter",)),
        Case("values-extreme-magnitude", TINY3, "lora", lora(fill=_extreme), "SUCCESSED",
             warnings=("values.extreme_magnitude",)),
        Case("values-implausible-magnitude", TINY3, "lora", lora(fill=_implausible), "FAILED",
             ("values.implausible_magnitude",), ("far beyond any trained weight",)),
    ]  # fmt: skip

"""Synthetic full-weight checkpoints for the benchmarks, built with `modelport.samples`: a base registered
through the catalog (`<data_dir>/base_models/<id>/config.json`) and its safetensors shards, either
written in full (with a fast filler: random bf16 values, generated once and reused) or sparse (the
header written, the data area left as a hole by `os.truncate`, for header-only dry runs).

Also the page-cache control that keeps runs comparable: every file is fsynced once, then dropped
from the cache before each timed copy, so every method starts from the disk.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from modelport import samples
from modelport.catalog.architecture import Architecture
from modelport.samples import TensorSpec

GIB = 1024**3
MIB = 1024**2
_POOL_BYTES = 64 * MIB


def base_config_for(total_bytes: int) -> dict[str, Any]:
    """A Qwen3 base whose bf16 checkpoint is about `total_bytes` (samples.scaled_base_config; below
    half a GiB, whose embeddings alone are 250 MiB, a narrower model so quick runs stay small)."""
    if total_bytes >= GIB // 2:
        return samples.scaled_base_config("qwen3", total_bytes)
    return samples.scaled_base_config("qwen3", total_bytes, hidden=512, intermediate=1408, vocab=8192, heads=8)


def shard_count(total_bytes: int, shard_bytes: int = 4 * GIB) -> int:
    """About `shard_bytes` per shard, as Hugging Face writes big checkpoints, and never fewer than 2."""
    return max(2, round(total_bytes / shard_bytes))


def fast_filler(seed: int = 0) -> samples.Filler:
    """Random bf16 values (no NaN/Inf) from a 64 MiB pool, so writing is disk-bound, not RNG-bound."""
    generator = np.random.default_rng(seed)
    values = generator.standard_normal(_POOL_BYTES // 2, dtype=np.float32) * 0.02
    pool = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    cursor = 0

    def fill(spec: TensorSpec) -> bytes:
        nonlocal cursor
        wanted = spec.nbytes
        if spec.dtype != "BF16":
            raise ValueError("the fast filler writes bf16 checkpoints only")
        pieces = []
        while wanted > 0:
            start = cursor % (_POOL_BYTES - 2)
            take = min(wanted, _POOL_BYTES - start)
            take -= take % 2
            pieces.append(pool[start : start + take])
            wanted -= take
            cursor = start + take + 2  # shift by one element so consecutive tensors differ
        return b"".join(pieces)

    return fill


def write_checkpoint(folder: Path, config: dict[str, Any], shards: int) -> list[Path]:
    """A full checkpoint of `config` in `folder`, every file fsynced (so writeback is over before timing)."""
    files = samples.write_full_checkpoint(folder, config, shards=shards, fill=fast_filler())
    for path in files:
        sync_file(path)
    return files


def checkpoint_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def drop_cache(paths: Iterable[Path]) -> None:
    """Evict the (clean) pages of `paths` from the page cache: the next read comes from the disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def hardlink_tree(source: Path, target: Path) -> None:
    """The same files under another folder without copying a byte (same inodes, same page cache)."""
    for path in files_under(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():
            destination.unlink()
        os.link(path, destination)


# -- sparse checkpoints for header-only dry runs ---------------------------------------------------


def wide_config(total_bytes: int, layers: int) -> dict[str, Any]:
    """A Qwen3 base of `layers` layers whose bf16 checkpoint is about `total_bytes`: the tensor count
    depends only on `layers`, the bytes only on the width, so size and tensor count can vary apart."""
    vocab = 32_000
    best: dict[str, Any] | None = None
    # hidden = 128 * heads; intermediate about 2.75 x hidden, as in Qwen models.
    for heads in range(1, 1025):
        hidden = 128 * heads
        intermediate = 128 * round(2.75 * hidden / 128)
        size = layers * (4 * hidden * hidden + 3 * hidden * intermediate) * 2 + 2 * vocab * hidden * 2
        best = samples.tiny_base_config(
            "qwen3",
            hidden_size=hidden,
            intermediate_size=intermediate,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            vocab_size=vocab,
        )
        best["head_dim"] = 128
        if size >= total_bytes:
            break
    assert best is not None
    return best


def write_sparse_checkpoint(folder: Path, config: dict[str, Any], shards: int) -> int:
    """config.json, the shard index and `shards` safetensors files whose headers are real and whose
    data areas are holes of the declared length; returns the declared total size in bytes."""
    architecture = Architecture.from_config(config)
    specs = samples.full_tensors(architecture, "BF16")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    groups = _split(specs, shards)
    weight_map: dict[str, str] = {}
    total = 0
    for number, group in enumerate(groups, start=1):
        name = f"model-{number:05d}-of-{len(groups):05d}.safetensors"
        total += _write_sparse_safetensors(folder / name, group)
        weight_map.update({spec.name: name for spec in group})
    index = {
        "metadata": {"total_size": sum(s.nbytes for s in specs)},
        "weight_map": dict(sorted(weight_map.items())),
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return total


def _write_sparse_safetensors(path: Path, tensors: list[TensorSpec]) -> int:
    """The layout samples.write_safetensors produces, with the data area as a hole."""
    itemsize = {"F32": 4, "F16": 2, "BF16": 2}
    ordered = sorted(tensors, key=lambda t: (-itemsize[t.dtype], t.name))
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for spec in ordered:
        end = offset + spec.nbytes
        header[spec.name] = {"dtype": spec.dtype, "shape": list(spec.shape), "data_offsets": [offset, end]}
        offset += spec.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
    size = 8 + len(encoded) + offset
    os.truncate(path, size)
    return size


def _split(specs: list[TensorSpec], parts: int) -> list[list[TensorSpec]]:
    """`parts` groups of about equal bytes, largest tensors first so no group overflows (a shard is at
    most 256 GiB for modelport); every group non-empty as long as there are enough tensors."""
    groups: list[list[TensorSpec]] = [[] for _ in range(min(parts, len(specs)))]
    sizes = [0] * len(groups)
    for spec in sorted(specs, key=lambda s: -s.nbytes):
        smallest = sizes.index(min(sizes))
        groups[smallest].append(spec)
        sizes[smallest] += spec.nbytes
    return groups

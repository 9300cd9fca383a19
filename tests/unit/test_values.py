"""The value scanner finds NaN/Inf and all-zero tensors wherever chunk and slice boundaries fall."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from modelport import samples
from modelport.samples import TensorSpec
from modelport.validation.safetensors import parse_header_bytes
from modelport.validation.values import ValueScanner

BIG = 700_000  # elements: F32 tensors of 2.8 MB span several of the scanner's 1 MiB slices


def build(tmp_path: Path, dtype: str, poison: dict[str, int], zero: set[str]) -> bytes:
    """Three tensors; `poison` puts a NaN at an element index, `zero` makes a tensor all zeros."""
    specs = [TensorSpec(name, dtype, (BIG,)) for name in ("a.weight", "b.lora_B.weight", "c.lora_B.weight")]

    def fill(spec: TensorSpec) -> bytes:
        if spec.name in zero:
            return bytes(spec.nbytes)
        values = np.full(BIG, 0.5, dtype=np.float32)
        if spec.name in poison:
            values[poison[spec.name]] = np.nan
        if dtype == "BF16":
            return (values.view(np.uint32) >> 16).astype("<u2").tobytes()
        return values.astype("<f4" if dtype == "F32" else "<f2").tobytes()

    path = tmp_path / "x.safetensors"
    samples.write_safetensors(path, specs, fill)
    return path.read_bytes()


def scan(data: bytes, chunk: int, zero_check: frozenset[str] = frozenset()) -> set[tuple[str, str | None]]:
    header = parse_header_bytes(data, allowed_dtypes=frozenset({"F32", "F16", "BF16"}))
    scanner = ValueScanner("x.safetensors", header, zero_check)
    for offset in range(0, len(data), chunk):
        scanner.feed(offset, data[offset : offset + chunk])
    return {(f.code, f.tensor) for f in scanner.findings()}


@pytest.mark.parametrize("dtype", ["F32", "F16", "BF16"])
@pytest.mark.parametrize("chunk", [4093, 1024 * 1024 + 1, 8 * 1024 * 1024])
def test_a_nan_is_found_at_any_position_and_chunking(tmp_path: Path, dtype: str, chunk: int) -> None:
    data = build(tmp_path, dtype, {"b.lora_B.weight": BIG - 1, "a.weight": 300_001}, set())
    found = scan(data, chunk)
    assert found == {("values.non_finite", "a.weight"), ("values.non_finite", "b.lora_B.weight")}


def test_infinity_counts_as_non_finite(tmp_path: Path) -> None:
    data = bytearray(build(tmp_path, "F32", {}, set()))
    header = parse_header_bytes(bytes(data))
    tensor = header.by_name()["c.lora_B.weight"]
    struct.pack_into("<f", data, header.data_start + tensor.begin + 4 * 12345, float("-inf"))
    assert scan(bytes(data), 65536) == {("values.non_finite", "c.lora_B.weight")}


def test_all_zero_lora_b_is_a_warning_naming_the_situation(tmp_path: Path) -> None:
    checked = frozenset({"b.lora_B.weight", "c.lora_B.weight"})
    some = scan(build(tmp_path, "F32", {}, {"b.lora_B.weight"}), 1024 * 1024 + 5, checked)
    assert some == {("values.zero_lora_b", "b.lora_B.weight")}
    every = scan(build(tmp_path, "F32", {}, {"b.lora_B.weight", "c.lora_B.weight"}), 99991, checked)
    assert every == {("values.untrained_adapter", None)}
    assert scan(build(tmp_path, "BF16", {}, set()), 4096, checked) == set()


def test_negative_zero_is_zero(tmp_path: Path) -> None:
    data = bytearray(build(tmp_path, "F32", {}, {"b.lora_B.weight"}))
    header = parse_header_bytes(bytes(data))
    tensor = header.by_name()["b.lora_B.weight"]
    struct.pack_into("<f", data, header.data_start + tensor.begin, -0.0)
    assert scan(bytes(data), 4096, frozenset({"b.lora_B.weight"})) == {("values.untrained_adapter", None)}

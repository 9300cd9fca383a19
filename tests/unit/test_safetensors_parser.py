"""The strict safetensors header parser: one hand-built file per rule and error code, the read
pattern, and parity with the reference library on files it wrote.

The oracle is docs/validation.md §1 (format, reference checks, §1.5 differences, §1.8 routine)
and the installed reference `safetensors` library, which every rejection case here is also run
against where the reference's verdict matters (we must never accept what it rejects).
"""

from __future__ import annotations

import dataclasses
import json
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors
from safetensors.numpy import save

from modelport.validation.safetensors import (
    DEFAULT_ALLOWED_DTYPES,
    DEFAULT_MAX_HEADER_BYTES,
    DTYPE_BITS,
    MAX_TENSORS,
    SafetensorsError,
    SafetensorsHeader,
    TensorInfo,
    parse_header,
    parse_header_bytes,
)

ALL_DTYPES = frozenset(DTYPE_BITS)


# ---------------------------------------------------------------------------------------------
# Building files by hand
# ---------------------------------------------------------------------------------------------


def entry(dtype: str = "F32", shape: list[Any] | None = None, offsets: list[Any] | None = None) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [1] if shape is None else shape, "data_offsets": offsets or [0, 4]}


def build(header: dict[str, Any] | str | bytes, data: bytes = b"", *, n: int | None = None) -> bytes:
    """A file from a header (dict -> compact JSON; str/bytes used verbatim) and a data buffer."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    raw = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(raw) if n is None else n) + raw + data


def one(shape: list[Any] | None = None, offsets: list[int] | None = None, dtype: Any = "F32") -> bytes:
    """A single tensor "t" whose data buffer is exactly as long as its declared end offset."""
    e = entry(dtype, shape, offsets)
    return build({"t": e}, bytes(e["data_offsets"][1]))


def reject(blob: bytes, code: str, **kwargs: Any) -> SafetensorsError:
    with pytest.raises(SafetensorsError) as info:
        parse_header_bytes(blob, **kwargs)
    assert info.value.code == code, info.value.message
    assert info.value.message == str(info.value)
    return info.value


def reference_accepts(blob: bytes) -> bool:
    try:
        safetensors.deserialize(blob)  # type: ignore[no-untyped-call]
    except Exception:
        return False
    return True


class Recorder:
    """A read_range over bytes that remembers every call."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.calls: list[tuple[int, int]] = []

    def __call__(self, offset: int, size: int) -> bytes:
        self.calls.append((offset, size))
        return self.blob[offset : offset + size]


# ---------------------------------------------------------------------------------------------
# Accepted files
# ---------------------------------------------------------------------------------------------


def test_minimal_file_parses_into_the_tensor_table() -> None:
    blob = build({"__metadata__": {"format": "pt"}, "b": entry(offsets=[4, 8]), "a": entry()}, bytes(8))
    header = parse_header_bytes(blob)
    n = len(blob) - 16
    assert header == SafetensorsHeader(
        header_size=n,
        data_start=8 + n,
        file_size=len(blob),
        tensors=(TensorInfo("a", "F32", (1,), 0, 4), TensorInfo("b", "F32", (1,), 4, 8)),
        metadata={"format": "pt"},
    )
    assert header.by_name()["b"].begin == 4
    assert header.data_bytes == 8
    assert header.tensors[0].nbytes == 4 and header.tensors[0].numel == 1
    assert [f.name for f in dataclasses.fields(header)] == [
        "header_size",
        "data_start",
        "file_size",
        "tensors",
        "metadata",
    ]
    assert dataclasses.asdict(header)["tensors"][1] == {
        "name": "b",
        "dtype": "F32",
        "shape": (1,),
        "begin": 4,
        "end": 8,
    }


def test_zero_element_tensors_and_scalars_are_accepted_as_in_the_reference() -> None:
    header_dict = {
        "scalar": entry("BF16", [], [0, 2]),
        "empty": entry("F32", [0, 5], [2, 2]),
        "huge_but_empty": entry("F16", [0, 2**47, 2**47], [2, 2]),
        "rank8": entry("F16", [1] * 8, [2, 4]),
    }
    blob = build(header_dict, bytes(4))
    header = parse_header_bytes(blob)
    assert [(t.name, t.shape, t.numel) for t in header.tensors] == [
        ("scalar", (), 1),
        ("empty", (0, 5), 0),
        ("huge_but_empty", (0, 2**47, 2**47), 0),
        ("rank8", (1,) * 8, 1),
    ]
    assert reference_accepts(blob)


def test_zero_sized_tensor_sorts_before_the_tensor_starting_at_the_same_offset() -> None:
    blob = build({"b": entry(offsets=[0, 4]), "a": entry(shape=[0], offsets=[0, 0])}, bytes(4))
    assert [t.name for t in parse_header_bytes(blob).tensors] == ["a", "b"]
    assert reference_accepts(blob)


def test_file_without_tensors_is_accepted_like_the_reference() -> None:
    blob = build("{}")
    assert parse_header_bytes(blob).tensors == ()
    assert parse_header_bytes(blob).metadata is None
    assert reference_accepts(blob)


@pytest.mark.parametrize("fmt", ["pt", "tf", "flax", "mlx"])
def test_transformers_metadata_formats_are_accepted(fmt: str) -> None:
    blob = build({"__metadata__": {"format": fmt, "other": "x"}, "t": entry()}, bytes(4))
    assert parse_header_bytes(blob).metadata == {"format": fmt, "other": "x"}


def test_space_padding_on_both_sides_and_json_whitespace_inside_are_accepted() -> None:
    blob = build(b'   {"t" :\t{"dtype":"F32",\n"shape":[1],\r\n"data_offsets":[0,4]}}     ', bytes(4))
    assert parse_header_bytes(blob).tensors == (TensorInfo("t", "F32", (1,), 0, 4),)
    assert reference_accepts(blob)


def test_subbyte_dtypes_are_accepted_when_allowed_and_their_bits_fill_whole_bytes() -> None:
    blob = build({"f4": entry("F4", [2, 3], [0, 3]), "f6": entry("F6_E2M3", [4], [3, 6])}, bytes(6))
    assert [t.nbytes for t in parse_header_bytes(blob, allowed_dtypes=ALL_DTYPES).tensors] == [3, 3]
    assert reference_accepts(blob)


def test_dtype_table_matches_the_reference_enum() -> None:
    # Every name we know is accepted by the reference with our bit width, and a neighbour is not.
    for dtype, bits in DTYPE_BITS.items():
        blob = build({"t": entry(dtype, [8], [0, bits])}, bytes(bits))
        assert reference_accepts(blob), dtype
        assert parse_header_bytes(blob, allowed_dtypes=ALL_DTYPES).tensors[0].nbytes == bits
    assert not reference_accepts(build({"t": entry("F8_E4M3FN", [8], [0, 8])}, bytes(8)))
    assert sorted(DEFAULT_ALLOWED_DTYPES) == ["BF16", "F16", "F32"]
    assert DEFAULT_MAX_HEADER_BYTES == 16 * 1024 * 1024


def test_metadata_strings_may_contain_brackets_and_escaped_quotes() -> None:
    meta = {"format": "pt", "note": 'say "[[[[{{{{x}}}}]]]]" \\ ok', "neg": "-0"}
    blob = build({"__metadata__": meta, "t": entry()}, bytes(4))
    assert parse_header_bytes(blob).metadata == meta


def test_exactly_two_reads_and_nothing_past_the_header() -> None:
    blob = save({"w": np.ones((3, 5), np.float32)}, metadata={"format": "pt"})
    reader = Recorder(blob)
    header = parse_header(reader, len(blob))
    assert reader.calls == [(0, 8), (8, header.header_size)]


# ---------------------------------------------------------------------------------------------
# Parity with the reference on files it wrote
# ---------------------------------------------------------------------------------------------


def reference_tensors(path: Path) -> Iterator[tuple[str, str, tuple[int, ...], bytes]]:
    with safetensors.safe_open(str(path), "np") as handle:
        for key in handle.keys():  # noqa: SIM118 - a safe_open handle is not iterable
            piece = handle.get_slice(key)
            data = handle.get_tensor(key).tobytes()
            yield key, piece.get_dtype(), tuple(piece.get_shape()), data


@pytest.mark.parametrize(
    "tensors",
    [
        {"a": np.arange(12, dtype=np.float32).reshape(3, 4)},
        {
            "model.layers.0.mlp.down_proj.weight": np.random.default_rng(0).random((4, 6)).astype(np.float16),
            "model.norm.weight": np.ones(6, np.float32),
            "lm_head.bias": np.zeros((0, 6), np.float32),
            "scale": np.array(2.5, np.float32),
        },
        {f"base_model.model.layers.{i}.lora_A.weight": np.full((2, 3), i, np.float32) for i in range(40)},
    ],
    ids=["one", "mixed", "forty"],
)
def test_files_written_by_the_reference_parse_identically_to_safe_open(
    tensors: dict[str, np.ndarray[Any, Any]],
) -> None:
    blob = save(tensors, metadata={"format": "pt"})
    header = parse_header_bytes(blob)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.safetensors"
        path.write_bytes(blob)
        expected = sorted(reference_tensors(path))
        with safetensors.safe_open(str(path), "np") as handle:
            assert handle.metadata() == header.metadata
            offset_order = handle.offset_keys()
    ours = sorted(
        (t.name, t.dtype, t.shape, blob[header.data_start + t.begin : header.data_start + t.end])
        for t in header.tensors
    )
    assert ours == expected
    # Zero-sized tensors tie on offsets; everything else must come in the reference's order.
    sized = [t.name for t in header.tensors if t.nbytes]
    assert sized == [k for k in offset_order if k in sized]
    assert header.data_start + header.tensors[-1].end == len(blob)


# ---------------------------------------------------------------------------------------------
# Length prefix and reads
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("blob", [b"", b"\x02\x00\x00\x00\x00\x00\x00"])
def test_file_too_small(blob: bytes) -> None:
    reader = Recorder(blob)
    with pytest.raises(SafetensorsError) as info:
        parse_header(reader, len(blob))
    assert info.value.code == "safetensors.file_too_small"
    assert reader.calls == []


def test_header_empty() -> None:
    reject(build(b"", bytes(8)), "safetensors.header_empty")


def test_header_too_large_is_decided_before_reading_the_header() -> None:
    blob = build(b"{}", n=DEFAULT_MAX_HEADER_BYTES + 1) + bytes(DEFAULT_MAX_HEADER_BYTES)
    reader = Recorder(blob)
    with pytest.raises(SafetensorsError) as info:
        parse_header(reader, len(blob))
    assert info.value.code == "safetensors.header_too_large"
    assert reader.calls == [(0, 8)]
    assert str(DEFAULT_MAX_HEADER_BYTES) in info.value.message


def test_header_cap_is_configurable_but_never_above_the_reference_limit() -> None:
    small = build({"t": entry()}, bytes(4))
    reject(small, "safetensors.header_too_large", max_header_bytes=10)
    huge_n = struct.pack("<Q", 100_000_001)
    reader = Recorder(huge_n)
    with pytest.raises(SafetensorsError) as info:
        parse_header(reader, 10**12, max_header_bytes=2**40)
    assert info.value.code == "safetensors.header_too_large"
    assert reader.calls == [(0, 8)]


@pytest.mark.parametrize("n", [3, 5000])
def test_header_out_of_bounds(n: int) -> None:
    blob = build(b"{}", n=n)
    reader = Recorder(blob)
    with pytest.raises(SafetensorsError) as info:
        parse_header(reader, len(blob))
    assert info.value.code == "safetensors.header_out_of_bounds"
    assert reader.calls == [(0, 8)]
    assert not reference_accepts(blob)


@pytest.mark.parametrize("n", [2**63, 2**64 - 1])
def test_header_lengths_beyond_any_cap_are_too_large(n: int) -> None:
    reject(build(b"{}", n=n), "safetensors.header_too_large", max_header_bytes=2**70)


def test_truncated_read_of_the_prefix_and_of_the_header() -> None:
    blob = build({"t": entry()}, bytes(4))
    # The storage says the object is bigger than what can actually be read.
    for cut in (5, 20):
        with pytest.raises(SafetensorsError) as info:
            parse_header(Recorder(blob[:cut]), len(blob))
        assert info.value.code == "safetensors.truncated_read"


def test_read_overrun_is_refused() -> None:
    blob = build({"t": entry()}, bytes(4))
    with pytest.raises(SafetensorsError) as info:
        parse_header(lambda offset, size: blob[offset : offset + size + 1], len(blob))
    assert info.value.code == "safetensors.read_overrun"


def test_read_range_errors_propagate_unchanged() -> None:
    def broken(offset: int, size: int) -> bytes:
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        parse_header(broken, 100)


# ---------------------------------------------------------------------------------------------
# Header bytes and JSON
# ---------------------------------------------------------------------------------------------


def test_header_not_utf8() -> None:
    blob = build(b'{"t\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', bytes(4))
    reject(blob, "safetensors.header_not_utf8")
    assert not reference_accepts(blob)


@pytest.mark.parametrize(
    "raw",
    [b"\t{}", b"{}\t", b"\n{}", b"{}\r\n", b"{}\x00\x00", b"\x00{}", b"   ", b" \x0c{} "],
    ids=["lead-tab", "trail-tab", "lead-lf", "trail-crlf", "trail-nul", "lead-nul", "only-spaces", "ff"],
)
def test_header_padding_other_than_spaces(raw: bytes) -> None:
    reject(build(raw), "safetensors.header_padding")


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"1", b"\xef\xbb\xbf{}"])
def test_header_not_object(raw: bytes) -> None:
    reject(build(raw), "safetensors.header_not_object")


@pytest.mark.parametrize(
    "raw",
    [b'{"t":}', b"{} {}", b"{}x", b'{"t":{"dtype":"F32"', b"{'t':1}", b'{"a":1,}', b'{"t":"\x01"}'],
)
def test_header_invalid_json(raw: bytes) -> None:
    err = reject(build(raw), "safetensors.header_invalid_json")
    assert "character" in err.message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_header_nonfinite_constants(constant: str) -> None:
    blob = build(f'{{"t":{{"dtype":"F32","shape":[{constant}],"data_offsets":[0,4]}}}}', bytes(4))
    err = reject(blob, "safetensors.header_nonfinite")
    assert constant.lstrip("-") in err.message


@pytest.mark.parametrize(
    "raw",
    [
        b'{"t":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}',
        b'{"__metadata__":{"format":{"x":["y"]}}}',
        b'{"t":' + b"[" * 50 + b"]" * 50 + b"}",
        b'{"t":"\\"",' + b'"u":' + b"[" * 4 + b"]" * 4 + b"}",
        # Unbalanced: passes the bracket scan, caught by the parser's recursion guard.
        b'{"t":' + b"[" * 100_000 + b"}",
    ],
    ids=["nested-shape", "nested-metadata", "deep", "deep-after-escape", "unbalanced-deep"],
)
def test_header_nesting(raw: bytes) -> None:
    err = reject(build(raw), "safetensors.header_nesting")
    assert err.tensor is None


def test_nesting_scan_stays_linear_on_hostile_escapes() -> None:
    # An unterminated string of escaped quotes is the worst case for a naive string regex.
    # (A quadratic scan would not finish within the suite's timeout; bench/ measures parse speed.)
    raw = b'{"t":"' + b'\\"' * 1_000_000
    reject(build(raw), "safetensors.header_invalid_json")


def test_huge_integer_literals_are_refused_without_crashing() -> None:
    digits = b"1" * 5000  # beyond Python's int() digit limit
    blob = build(b'{"t":{"dtype":"F32","shape":[' + digits + b'],"data_offsets":[0,4]}}', bytes(4))
    err = reject(blob, "safetensors.shape_invalid")
    assert err.tensor == "t"


# ---------------------------------------------------------------------------------------------
# Duplicates and metadata
# ---------------------------------------------------------------------------------------------


def test_duplicate_tensor_even_with_identical_ranges_which_the_reference_accepts() -> None:
    blob = build(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        bytes(4),
    )
    assert reference_accepts(blob)
    err = reject(blob, "safetensors.duplicate_tensor")
    assert err.tensor == "a" and '"a"' in err.message


@pytest.mark.parametrize(
    ("raw", "tensor"),
    [
        (b'{"__metadata__":{"format":"pt"},"__metadata__":{"format":"pt"}}', None),
        (b'{"__metadata__":{"k":"1","k":"2"}}', None),
        (b'{"t":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', "t"),
    ],
    ids=["metadata-twice", "metadata-key", "entry-key"],
)
def test_duplicate_key(raw: bytes, tensor: str | None) -> None:
    err = reject(build(raw, bytes(4)), "safetensors.duplicate_key")
    assert err.tensor == tensor
    if tensor:
        assert f'"{tensor}"' in err.message


@pytest.mark.parametrize(
    "raw",
    [
        b'{"__metadata__":null}',
        b'{"__metadata__":["format","pt"]}',
        b'{"__metadata__":{"format":1}}',
        b'{"__metadata__":{"a":true}}',
        b'{"__metadata__":{"a":"\\ud800"}}',
        b'{"__metadata__":{"\\udc00":"x"}}',
    ],
    ids=["null", "list", "int", "bool", "lone-surrogate-value", "lone-surrogate-key"],
)
def test_metadata_invalid(raw: bytes) -> None:
    reject(build(raw), "safetensors.metadata_invalid")


def test_metadata_too_large() -> None:
    many = {f"k{i}": "v" for i in range(65)}
    reject(build({"__metadata__": many}), "safetensors.metadata_too_large")
    parse_header_bytes(build({"__metadata__": dict(list(many.items())[:64])}))
    reject(build({"__metadata__": {"k": "x" * 65536}}), "safetensors.metadata_too_large")
    parse_header_bytes(build({"__metadata__": {"k": "x" * 65535}}))


@pytest.mark.parametrize("fmt", ["xx", "PT", "torch", ""])
def test_metadata_format(fmt: str) -> None:
    blob = build({"__metadata__": {"format": fmt}})
    assert reference_accepts(blob)
    err = reject(blob, "safetensors.metadata_format")
    assert json.dumps(fmt) in err.message


# ---------------------------------------------------------------------------------------------
# Tensor entries
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "a..b", ".a", "a.", "a/b", "../a", "a b", "a-b", "ä", "a\nb", "a\x00b", "a" * 257, "a.\x00.b"],
)
def test_tensor_name_invalid(name: str) -> None:
    err = reject(build({"ok": entry(), name: entry(offsets=[4, 8])}, bytes(8)), "safetensors.tensor_name_invalid")
    assert err.tensor is not None and err.tensor.startswith(name[:80])
    assert json.dumps(name[:80])[:-1] in err.message


@pytest.mark.parametrize("name", ["a", "_", "a" * 256, "base_model.model.layers.0.q_proj.lora_A.weight", "0.1"])
def test_tensor_name_valid(name: str) -> None:
    assert parse_header_bytes(build({name: entry()}, bytes(4))).tensors[0].name == name


def test_too_many_tensors() -> None:
    header = ",".join(f'"t{i}":0' for i in range(MAX_TENSORS + 1))
    err = reject(build("{" + header + "}"), "safetensors.too_many_tensors")
    assert str(MAX_TENSORS) in err.message


@pytest.mark.parametrize(
    "value",
    [[], "F32", None, {"dtype": "F32", "shape": [1]}, {**entry(), "extra": 1}],
    ids=["list", "string", "null", "missing-key", "extra-key"],
)
def test_tensor_entry_invalid(value: Any) -> None:
    err = reject(build({"t": value}, bytes(4)), "safetensors.tensor_entry_invalid")
    assert err.tensor == "t" and '"t"' in err.message


@pytest.mark.parametrize("dtype", ["F8_E4M3FN", "f32", "float32", "", 5, None, ["F32"]])
def test_dtype_unknown(dtype: Any) -> None:
    err = reject(one(dtype=dtype), "safetensors.dtype_unknown", allowed_dtypes=ALL_DTYPES)
    assert err.tensor == "t"


@pytest.mark.parametrize("dtype", ["I64", "U8", "BOOL", "F8_E4M3", "F64"])
def test_dtype_not_allowed(dtype: str) -> None:
    bits = DTYPE_BITS[dtype]
    blob = build({"t": entry(dtype, [8], [0, bits])}, bytes(bits))
    err = reject(blob, "safetensors.dtype_not_allowed")
    assert err.tensor == "t" and dtype in err.message and "BF16, F16, F32" in err.message
    assert parse_header_bytes(blob, allowed_dtypes=frozenset({dtype})).tensors[0].dtype == dtype


@pytest.mark.parametrize(
    "shape",
    ["[1.0]", "[true]", "[-1]", "[-0]", "[281474976710656]", "[1e0]", "null", '"4"', "[null]", "{}"],
)
def test_shape_invalid(shape: str) -> None:
    blob = build(f'{{"t":{{"dtype":"F32","shape":{shape},"data_offsets":[0,4]}}}}', bytes(4))
    assert not reference_accepts(blob)
    err = reject(blob, "safetensors.shape_invalid")
    assert err.tensor == "t"


def test_rank_too_large() -> None:
    err = reject(one(shape=[1] * 9), "safetensors.rank_too_large")
    assert err.tensor == "t" and "9" in err.message


@pytest.mark.parametrize(
    "offsets",
    ["[0]", "[0,4,4]", "[4,0]", "[-0,4]", "[0,4.0]", "[0,true]", "[0,281474976710656]", '{"a":0}', "null"],
)
def test_offsets_invalid(offsets: str) -> None:
    blob = build(f'{{"t":{{"dtype":"F32","shape":[1],"data_offsets":{offsets}}}}}', bytes(4))
    err = reject(blob, "safetensors.offsets_invalid")
    assert err.tensor == "t"


@pytest.mark.parametrize("shape", [[2**24, 2**24], [2**40, 2**40, 0], [2**47, 2, 1]])
def test_numel_too_large(shape: list[int]) -> None:
    blob = one(shape=shape, offsets=[0, 0])
    err = reject(blob, "safetensors.numel_too_large")
    assert err.tensor == "t"
    if 0 in shape:  # the reference's checked multiplication overflows before reaching the 0
        assert not reference_accepts(blob)


def test_misaligned_slice() -> None:
    blob = build({"t": entry("F4", [3], [0, 2])}, bytes(2))
    err = reject(blob, "safetensors.misaligned_slice", allowed_dtypes=ALL_DTYPES)
    assert err.tensor == "t" and "12 bits" in err.message
    assert not reference_accepts(blob)


def test_tensor_size_mismatch() -> None:
    blob = one(shape=[2, 3], offsets=[0, 12])
    err = reject(blob, "safetensors.tensor_size_mismatch")
    assert err.tensor == "t" and "24" in err.message and "12" in err.message
    assert not reference_accepts(blob)


# ---------------------------------------------------------------------------------------------
# Coverage of the data buffer
# ---------------------------------------------------------------------------------------------


def test_offset_gap_at_the_start_and_between_tensors() -> None:
    err = reject(build({"t": entry(offsets=[4, 8])}, bytes(8)), "safetensors.offset_gap")
    assert err.tensor == "t" and "data buffer starts" in err.message
    err = reject(build({"a": entry(), "b": entry(offsets=[8, 12])}, bytes(12)), "safetensors.offset_gap")
    assert err.tensor == "b" and '"a"' in err.message


@pytest.mark.parametrize(
    ("header", "culprit"),
    [
        ({"a": entry("F32", [2], [0, 8]), "b": entry("F32", [2], [4, 12])}, "b"),
        ({"a": entry(), "b": entry()}, "b"),
        ({"a": entry("F32", [2], [0, 8]), "z": entry("F32", [0], [4, 4])}, "z"),
    ],
    ids=["partial", "aliased", "empty-inside"],
)
def test_offset_overlap(header: dict[str, Any], culprit: str) -> None:
    blob = build(header, bytes(12))
    err = reject(blob, "safetensors.offset_overlap")
    assert err.tensor == culprit and f'"{culprit}"' in err.message
    assert not reference_accepts(blob)


def test_data_truncated() -> None:
    blob = build({"t": entry("F32", [4], [0, 16])}, bytes(10))
    err = reject(blob, "safetensors.data_truncated")
    assert "16" in err.message and "10" in err.message and "cut off" in err.message
    assert not reference_accepts(blob)


def test_trailing_bytes() -> None:
    blob = build({"t": entry()}, bytes(4) + b"PK\x03\x04")
    err = reject(blob, "safetensors.trailing_bytes")
    assert "4 bytes after" in err.message
    assert not reference_accepts(blob)


# ---------------------------------------------------------------------------------------------
# The error and the speed
# ---------------------------------------------------------------------------------------------


def test_an_error_names_no_file_and_is_one_line() -> None:
    err = reject(one(shape=[2]), "safetensors.tensor_size_mismatch")
    assert ".safetensors" not in err.message and "\n" not in err.message


def test_a_thousand_tensor_header_parses() -> None:
    tensors = {
        f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight": np.zeros((4, 4), np.float32)
        for i in range(1000)
    }
    blob = save(tensors, metadata={"format": "pt"})
    header = parse_header_bytes(blob)
    assert len(header.tensors) == 1000
    assert header.tensors[0].begin == 0 and header.tensors[-1].end == header.data_bytes

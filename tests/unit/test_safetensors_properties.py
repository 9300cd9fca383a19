"""Differential property tests: the strict header parser against the reference `safetensors` library.

For valid files (written by the reference writer, or laid out by hand in any key order with space
padding) and for mutated ones (bytes flipped, inserted or deleted, N changed, truncation, appended
bytes, duplicate keys, shuffled offsets, hostile JSON values), every example checks that:
- we never accept what the reference rejects, and when we accept, our tensor table and metadata
  equal the reference's;
- we raise nothing but SafetensorsError;
- a recording read_range sees at most (0, 8) then (8, N), never past 8 + N or the file size.
"""

from __future__ import annotations

import json
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
import safetensors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport.validation.safetensors import (
    DEFAULT_ALLOWED_DTYPES,
    DTYPE_BITS,
    SafetensorsError,
    SafetensorsHeader,
    parse_header,
)

ALL_DTYPES = frozenset(DTYPE_BITS)
WRITER_DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}
FAST = settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])

Table = dict[str, tuple[str, tuple[int, ...], bytes]]


# ---------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------


def reference_table(blob: bytes) -> Table | None:
    try:
        items = safetensors.deserialize(blob)  # type: ignore[no-untyped-call]
    except Exception:
        return None
    return {name: (t["dtype"], tuple(t["shape"]), bytes(t["data"])) for name, t in items}


def reference_metadata(blob: bytes) -> dict[str, str] | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.safetensors"
        path.write_bytes(blob)
        with safetensors.safe_open(str(path), "np") as handle:
            meta: dict[str, str] | None = handle.metadata()
            return meta


def check(blob: bytes, allowed: frozenset[str] = ALL_DTYPES) -> SafetensorsHeader | SafetensorsError:
    """Parse with a recording reader and hold the result against the reference."""
    reads: list[tuple[int, int]] = []

    def read_range(offset: int, size: int) -> bytes:
        reads.append((offset, size))
        return blob[offset : offset + size]

    result: SafetensorsHeader | SafetensorsError
    try:
        result = parse_header(read_range, len(blob), allowed_dtypes=allowed)
    except SafetensorsError as exc:  # anything else escapes and fails the test
        result = exc
        assert exc.code.startswith("safetensors.") and exc.message and "\n" not in exc.message

    assert len(reads) <= 2
    if reads:
        assert reads[0] == (0, 8)
    if len(reads) == 2:
        n = int.from_bytes(blob[:8], "little")
        assert reads[1] == (8, n)
        assert 8 + n <= len(blob)

    reference = reference_table(blob)
    if isinstance(result, SafetensorsHeader):
        assert reference is not None, "accepted a file the reference rejects"
        ours = {
            t.name: (t.dtype, t.shape, blob[result.data_start + t.begin : result.data_start + t.end])
            for t in result.tensors
        }
        assert ours == reference
        assert result.metadata == reference_metadata(blob)
        assert result.data_start + result.data_bytes == result.file_size == len(blob)
        assert [(t.begin, t.end) for t in result.tensors] == sorted((t.begin, t.end) for t in result.tensors)
    return result


# ---------------------------------------------------------------------------------------------
# Valid files
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    data: bytes


# Names and metadata from small vocabularies: text and regex strategies cost more to generate than
# the whole parse, and the odd spellings are the mutation tests' job.
SEGMENTS = ["model", "layers", "0", "17", "q_proj", "lora_A", "weight", "_", "Z9", "base_model", "x"]
names = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4).map(".".join)
META_TEXT = ["", "a", "pt", "note", '[{\\"', "é", "-0", "x" * 40]
metadata_dicts = st.dictionaries(st.sampled_from(META_TEXT), st.sampled_from(META_TEXT), max_size=3).map(
    lambda d: {**d, "format": "pt"}
)
metadatas = st.none() | metadata_dicts


@dataclass(frozen=True)
class Placed(Tensor):
    """A tensor plus where it goes: its place in the data buffer, in the JSON, and its key order."""

    data_rank: int
    json_rank: int
    key_order: tuple[int, ...]


def placed(spec: tuple[str, str, list[int], int, int, int, list[int]]) -> Placed:
    name, dtype, shape, seed, data_rank, json_rank, key_order = spec
    bits = int(np.prod(shape)) * DTYPE_BITS[dtype]
    data = bytes((seed + 7 * i) % 256 for i in range(-(-bits // 8)))
    return Placed(name, dtype, tuple(shape), data, data_rank, json_rank, tuple(key_order))


def tensor_sets(dtypes: list[str]) -> st.SearchStrategy[list[Placed]]:
    # One flat draw per example: strategies built inside a composite cost more than the parse itself.
    spec = st.tuples(
        names,
        st.sampled_from(dtypes),
        st.lists(st.integers(0, 4), max_size=4),
        st.integers(0, 255),
        st.integers(0, 9),
        st.integers(0, 9),
        st.permutations([0, 1, 2]),
    ).map(placed)
    return st.lists(spec, max_size=6, unique_by=lambda t: t.name)


def write_with_reference(tensors: list[Tensor], metadata: dict[str, str] | None) -> bytes:
    buffers = [np.frombuffer(bytearray(t.data) or bytearray(1), dtype=np.uint8) for t in tensors]
    specs = {
        t.name: safetensors.TensorSpec(
            dtype=WRITER_DTYPES[t.dtype], shape=t.shape, data_ptr=buf.ctypes.data, data_len=len(t.data)
        )
        for t, buf in zip(tensors, buffers, strict=True)
    }
    return bytes(safetensors.serialize(specs, metadata=metadata))


class Raw(str):
    """JSON text inserted verbatim (for -0, NaN, 1.0 and other tokens json.dumps won't write)."""


class Pairs(list[tuple[str, Any]]):
    """A JSON object as ordered pairs, so duplicates can be written."""


def render(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        value = Pairs(value.items())
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{render(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value)


@dataclass
class Layout:
    """A hand-laid file: header pairs, data buffer and space padding, before rendering."""

    pairs: Pairs
    data: bytes
    lead: bytes = b""
    trail: bytes = b""

    def header(self) -> bytes:
        return self.lead + render(self.pairs).encode() + self.trail

    def blob(self) -> bytes:
        header = self.header()
        return struct.pack("<Q", len(header)) + header + self.data


def lay_out(tensors: list[Placed], metadata: tuple[dict[str, str], int] | None, lead: int, trail: int) -> Layout:
    offsets, position, data = {}, 0, b""
    for t in sorted(tensors, key=lambda t: t.data_rank):
        offsets[t.name] = [position, position + len(t.data)]
        position += len(t.data)
        data += t.data
    pairs = Pairs()
    for t in sorted(tensors, key=lambda t: t.json_rank):
        fields = [("dtype", t.dtype), ("shape", list(t.shape)), ("data_offsets", offsets[t.name])]
        pairs.append((t.name, Pairs(fields[k] for k in t.key_order)))
    if metadata is not None:
        pairs.insert(min(metadata[1], len(pairs)), ("__metadata__", metadata[0]))
    return Layout(pairs, data, b" " * lead, b" " * trail)


def layouts(dtypes: list[str]) -> st.SearchStrategy[Layout]:
    placed_metadata = st.none() | st.tuples(metadata_dicts, st.integers(0, 6))
    return st.builds(
        lay_out, tensor_sets(dtypes), placed_metadata, st.sampled_from([0, 1, 7]), st.sampled_from([0, 1, 5])
    )


@FAST
@given(tensor_sets(sorted(DEFAULT_ALLOWED_DTYPES)), metadatas)
def test_files_from_the_reference_writer_are_accepted_and_match(
    tensors: list[Tensor], metadata: dict[str, str] | None
) -> None:
    blob = write_with_reference(tensors, metadata)
    result = check(blob, DEFAULT_ALLOWED_DTYPES)
    assert isinstance(result, SafetensorsHeader), result
    assert sorted(t.name for t in result.tensors) == sorted(t.name for t in tensors)


@FAST
@given(layouts(sorted(ALL_DTYPES)))
def test_hand_laid_files_in_any_order_agree_with_the_reference(layout: Layout) -> None:
    blob = layout.blob()
    result = check(blob, ALL_DTYPES)
    subbyte_misaligned = any(
        isinstance(v, Pairs) and (np.prod(dict(v)["shape"]) * DTYPE_BITS[dict(v)["dtype"]]) % 8
        for k, v in layout.pairs
        if k != "__metadata__"
    )
    # Valid unless an F4/F6 tensor has an element count that leaves a partial byte.
    assert isinstance(result, SafetensorsHeader) != subbyte_misaligned, result


# ---------------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------------

# Mutation choices come from a Hypothesis-controlled Random: building a strategy per decision made
# generation, not parsing, the cost of every example; these draws still shrink and replay.
TOKENS = [Raw(t) for t in ["-0", "-1", "1.0", "1e0", "0.5", "NaN", "Infinity", "-Infinity", "1" * 30, "00", "true"]]
DTYPE_VALUES = [*sorted(DTYPE_BITS), "F8_E4M3FN", "f32", "", "BF16 "]
EDGE_INTS = [0, 1, 2, 3, 4, 8, 2**48 - 1, 2**48, 2**63, 2**64]
ODD_NAMES = ["", "a..b", ".a", "a.", "a/b", "..", "a b", "ä", "a\nb", "a\x00b", "__metadata__", "x" * 257, "\ud800"]
ODD_TEXT = ["", "a", "[", "]{", '"', "\\", "\x00", "é", "\ud800", "pt", "format"]
PADDING = [b" ", b"\t", b"\n", b"\r", b"\x00", b"  "]
INTERESTING = b'{}[]",:0123456789-. \\\t\n\x00eE'
FIELDS = ["dtype", "shape", "data_offsets"]


def nasty(rng: Random, depth: int = 0) -> Any:
    """A JSON value of a kind a tensor field or metadata value must not (or just might) hold."""
    pick = rng.randrange(9 if depth < 2 else 7)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.choice(EDGE_INTS) if rng.random() < 0.5 else rng.randrange(65)
    if pick == 3:
        return rng.choice(TOKENS)
    if pick == 4:
        return rng.choice(DTYPE_VALUES)
    if pick in (5, 6):
        return rng.choice(ODD_TEXT)
    if pick == 7:
        return [nasty(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(ODD_TEXT): nasty(rng, depth + 1) for _ in range(rng.randrange(3))}


def mutate_json(rng: Random, layout: Layout) -> Layout:
    pairs = Pairs((k, Pairs(v) if isinstance(v, Pairs) else v) for k, v in layout.pairs)
    out = Layout(pairs, layout.data, layout.lead, layout.trail)
    idx = [i for i, (k, v) in enumerate(pairs) if k != "__metadata__" and isinstance(v, Pairs)]
    kind = rng.choice(
        [
            "dup",
            "shuffle",
            "set_field",
            "extra_key",
            "drop_key",
            "rename",
            "metadata",
            "shift",
            "reshape",
            "nest",
            "padding",
            "data",
        ]
    )
    if kind == "padding":
        out.lead = rng.choice(PADDING) if rng.random() < 0.5 else out.lead
        out.trail = rng.choice(PADDING)
        return out
    if kind == "metadata":
        value: Any = {rng.choice(ODD_TEXT): rng.choice([*ODD_TEXT, nasty(rng)]) for _ in range(rng.randrange(3))}
        if rng.random() < 0.3:
            value = nasty(rng)
        elif rng.random() < 0.5:
            value = {"format": rng.choice(["pt", "tf", "flax", "mlx", "np", ""])}
        pairs.insert(rng.randint(0, len(pairs)), ("__metadata__", value))
        return out
    if kind == "data":
        out.data = rng.randbytes(len(out.data))
        return out
    if not idx:
        pairs.append((rng.choice(ODD_NAMES), nasty(rng)))
        return out
    i = rng.choice(idx)
    name, entry = pairs[i]
    fields = dict(entry)
    offsets, shape = fields.get("data_offsets"), fields.get("shape")
    # Earlier mutations may have broken these; structural tweaks then fall back to a plain swap.
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(v) is int for v in offsets)):
        kind = "set_field" if kind in ("dup", "shuffle", "shift") else kind
    if not (isinstance(shape, list) and all(type(v) is int for v in shape)):
        kind = "set_field" if kind == "reshape" else kind

    def replaced(key: str, value: Any) -> Pairs:
        return Pairs((k, value if k == key else v) for k, v in entry)

    if kind == "dup":
        assert isinstance(offsets, list)
        if rng.random() < 0.5:  # a duplicate key inside the entry
            entry.insert(rng.randint(0, len(entry)), rng.choice(list(entry)))
        else:
            copy = replaced("data_offsets", [offsets[0] + 1, offsets[1] + 1]) if rng.random() < 0.5 else entry
            pairs.insert(rng.randint(0, len(pairs)), (name, Pairs(copy)))
    elif kind == "shuffle":
        movable = [j for j in idx if isinstance(dict(pairs[j][1]).get("data_offsets"), list)]
        moved = [dict(pairs[j][1])["data_offsets"] for j in movable]
        rng.shuffle(moved)
        for j, new in zip(movable, moved, strict=True):
            pairs[j] = (pairs[j][0], Pairs((k, new if k == "data_offsets" else v) for k, v in pairs[j][1]))
    elif kind == "set_field":
        pairs[i] = (name, replaced(rng.choice(FIELDS), nasty(rng)))
    elif kind == "extra_key":
        entry.append((rng.choice(ODD_TEXT), nasty(rng)))
    elif kind == "drop_key" and entry:
        del entry[rng.randrange(len(entry))]
    elif kind == "rename":
        pairs[i] = (rng.choice(ODD_NAMES), entry)
    elif kind == "shift":
        assert isinstance(offsets, list)
        delta = rng.choice([-4, -2, -1, 1, 2, 4])
        which = rng.choice(["begin", "end", "both"])
        pairs[i] = (
            name,
            replaced("data_offsets", [offsets[0] + delta * (which != "end"), offsets[1] + delta * (which != "begin")]),
        )
    elif kind == "reshape":
        assert isinstance(shape, list)
        dims: list[Any] = list(shape)
        op = rng.choice(["grow", "shrink", "insert0", "append1", "token", "reverse"])
        if op == "grow" and dims:
            dims[rng.randrange(len(dims))] += 1
        elif op == "shrink" and dims:
            dims.pop()
        elif op == "insert0":
            dims.insert(rng.randint(0, len(dims)), 0)
        elif op == "append1":
            dims.extend([1] * rng.randint(1, 8))
        elif op == "token":
            dims.append(rng.choice(TOKENS))
        else:
            dims.reverse()
        pairs[i] = (name, replaced("shape", dims))
    elif kind == "nest":
        key = rng.choice(FIELDS)
        pairs[i] = (name, replaced(key, [fields.get(key)]))
    return out


def mutate_bytes(rng: Random, blob: bytes) -> bytes:
    buf = bytearray(blob)
    n = int.from_bytes(blob[:8], "little")
    # A previous mutation may have left N pointing past the end; stay inside the bytes we have.
    last = min(8 + n, len(buf)) - 1
    kind = rng.choice(["flip", "set", "insert", "delete", "length", "truncate", "append"])
    if last < 8 and kind in ("flip", "set", "insert", "delete"):
        kind = rng.choice(["length", "append"])
    if kind == "flip":
        buf[rng.randint(8, last)] ^= rng.randint(1, 255)
    elif kind == "set":
        buf[rng.randint(8, last)] = rng.choice(INTERESTING)
    elif kind == "insert":
        extra = rng.choice([b" ", b"\t", b'"', b"{", b"]", b"\xff", b"\\", bytes([rng.randrange(256)])])
        at = rng.randint(8, last + 1)
        buf[at:at] = extra
        if rng.random() < 0.5:
            buf[:8] = struct.pack("<Q", n + len(extra))
    elif kind == "delete":
        at, size = rng.randint(8, last), rng.randint(1, 3)
        removed = len(buf[at : at + size])
        del buf[at : at + size]
        if rng.random() < 0.5:
            buf[:8] = struct.pack("<Q", max(0, n - removed))
    elif kind == "length":
        choice = rng.randrange(3)
        new = [rng.randint(0, len(blob) + 16), max(0, n + rng.randint(-8, 8)), rng.choice(EDGE_INTS)][choice]
        buf[:8] = struct.pack("<Q", new % 2**64)
    elif kind == "truncate":
        del buf[rng.randint(0, len(buf)) :]
    else:
        buf += rng.randbytes(rng.randint(1, 9))
    return bytes(buf)


LAYOUTS = st.one_of(layouts(sorted(DEFAULT_ALLOWED_DTYPES)), layouts(sorted(ALL_DTYPES)))


@MANY
@given(LAYOUTS, st.randoms(use_true_random=False), st.sampled_from([DEFAULT_ALLOWED_DTYPES, ALL_DTYPES]))
def test_mutated_files_never_pass_where_the_reference_fails(
    layout: Layout, rng: Random, allowed: frozenset[str]
) -> None:
    for _ in range(rng.randint(0, 2)):
        layout = mutate_json(rng, layout)
    blob = layout.blob()
    for _ in range(rng.randint(0 if blob == layout.blob() else 1, 2)):
        blob = mutate_bytes(rng, blob)
    check(blob, allowed)


@FAST
@given(st.binary(max_size=64), st.integers(0, 80))
def test_arbitrary_bytes_behind_any_length_prefix(payload: bytes, n: int) -> None:
    check(struct.pack("<Q", n) + payload)

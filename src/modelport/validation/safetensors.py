"""The one strict safetensors header parser, shared by every reader in modelport.

It owns the decision whether a ``.safetensors`` file's layout is acceptable: the u64 length prefix,
the JSON header, ``__metadata__``, the tensor table, and how the table covers the data buffer. It is
stricter than the reference reader (``safetensors`` 0.8; see docs/validation.md §1.3, §1.5, §1.8) and
never accepts a file the reference rejects.

It must not do I/O of its own and must not read tensor data: it calls the ``read_range`` it is given
exactly twice (the 8-byte prefix, then the N header bytes) and never reads past ``8 + N``. Exceptions
raised by ``read_range`` itself propagate unchanged; everything wrong with the bytes is a
``SafetensorsError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Final, NoReturn, TypeAlias

from modelport.domain import reasons
from modelport.domain.reasons import Reason

ReadRange: TypeAlias = Callable[[int, int], bytes]

# The reference's closed `Dtype` enum (safetensors 0.8) with `bitsize()`; any other name is unknown.
DTYPE_BITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "BOOL": 8,
        "F4": 4,
        "F6_E2M3": 6,
        "F6_E3M2": 6,
        "U8": 8,
        "I8": 8,
        "F8_E5M2": 8,
        "F8_E4M3": 8,
        "F8_E8M0": 8,
        "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8,
        "I16": 16,
        "U16": 16,
        "F16": 16,
        "BF16": 16,
        "I32": 32,
        "U32": 32,
        "F32": 32,
        "C64": 64,
        "F64": 64,
        "I64": 64,
        "U64": 64,
    }
)
DEFAULT_ALLOWED_DTYPES: Final[frozenset[str]] = frozenset({"BF16", "F16", "F32"})
DEFAULT_MAX_HEADER_BYTES: Final = 16 * 1024 * 1024

# The reference refuses headers above this, so no caller-supplied cap may go higher.
REFERENCE_MAX_HEADER_BYTES: Final = 100_000_000
MAX_TENSORS: Final = 100_000
MAX_RANK: Final = 8
MAX_NAME_LENGTH: Final = 256
MAX_METADATA_KEYS: Final = 64
MAX_METADATA_BYTES: Final = 64 * 1024
METADATA_FORMATS: Final[frozenset[str]] = frozenset({"pt", "tf", "flax", "mlx"})
# The format's JSON schema caps dimensions and offsets at 2**48 - 1; numel uses the same bound.
INDEX_LIMIT: Final = 1 << 48

_PREFIX_BYTES: Final = 8
_METADATA_KEY: Final = "__metadata__"
_ENTRY_KEYS: Final = frozenset({"dtype", "shape", "data_offsets"})
_NAME_RE: Final = re.compile(r"\w+(?:\.\w+)*", re.ASCII)
# All names at once, NUL-joined: one C-level match instead of a Python call per tensor.
_NAMES_RE: Final = re.compile(r"\w+(?:[.\x00]\w+)*", re.ASCII)
# Top-level object -> tensor object (or __metadata__) -> shape/offsets list. Nothing valid is deeper.
_MAX_DEPTH: Final = 3
# A JSON string, or an unterminated one running to the end. Possessive, so scanning stays linear.
_JSON_STRING_RE: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in b'"\\[]{}-')
_NOT_OUTSIDE: Final = bytes(b for b in range(256) if b not in b"[]{}-")
_BRACKETS_AS_SQUARE: Final = bytes.maketrans(b"{}", b"[]")
_INT_ONLY: Final = frozenset({int})
_BITS: Final = dict(DTYPE_BITS)  # a plain dict: lookups through the read-only proxy cost more
_BAD_PADDING: Final = frozenset(range(0x20)) | {0x7F}
_SHOWN_CHARS: Final = 80


class SafetensorsError(Exception):
    """A safetensors file was refused; ``code`` is stable, ``message`` is one sentence for people."""

    def __init__(self, code: Reason, message: str, tensor: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.tensor = tensor


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor; ``begin``/``end`` are relative to the data buffer, i.e. file offset data_start + begin."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class SafetensorsHeader:
    """An accepted header: N = header_size, data_start = 8 + N, tensors sorted by (begin, end, name)."""

    header_size: int
    data_start: int
    file_size: int
    tensors: tuple[TensorInfo, ...]
    metadata: Mapping[str, str] | None = field(default=None, hash=False)

    def by_name(self) -> Mapping[str, TensorInfo]:
        # Built on first use and kept outside the dataclass fields, so fields()/asdict() stay the contract.
        index: Mapping[str, TensorInfo] | None = self.__dict__.get("_by_name")
        if index is None:
            index = MappingProxyType({t.name: t for t in self.tensors})
            object.__setattr__(self, "_by_name", index)
        return index

    @property
    def data_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def __reduce__(self) -> tuple[type[SafetensorsHeader], tuple[Any, ...]]:
        # A header crosses a process boundary (the validation sandbox returns the inspection by
        # pickle): the name index is rebuilt on demand, and read-only views travel as plain dicts.
        metadata = dict(self.metadata) if self.metadata is not None else None
        return (type(self), (self.header_size, self.data_start, self.file_size, self.tensors, metadata))


def parse_header(
    read_range: ReadRange,
    file_size: int,
    *,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    allowed_dtypes: frozenset[str] = DEFAULT_ALLOWED_DTYPES,
) -> SafetensorsHeader:
    """Validate a safetensors file of ``file_size`` bytes from its first ``8 + N`` bytes."""
    if file_size < _PREFIX_BYTES:
        raise SafetensorsError(
            reasons.SAFETENSORS_FILE_TOO_SMALL,
            f"the file is {file_size} bytes long, but a safetensors file starts with an 8-byte header "
            "length; it is empty or not a safetensors file",
        )
    header_size = int.from_bytes(_read_exact(read_range, 0, _PREFIX_BYTES), "little")
    cap = min(max_header_bytes, REFERENCE_MAX_HEADER_BYTES)
    if header_size == 0:
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_EMPTY,
            "the header length is 0, but the header must be a JSON object; the file is corrupted "
            "or not a safetensors file",
        )
    # Decided before reading, so a hostile length never makes us fetch or allocate the header.
    if header_size > cap:
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_TOO_LARGE,
            f"the header length is {header_size} bytes, above the limit of {cap}; real model headers "
            "are well under 1 MiB, so the file is corrupted or not a safetensors file",
        )
    if _PREFIX_BYTES + header_size > file_size:
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_OUT_OF_BOUNDS,
            f"the header length is {header_size} bytes, but only {file_size - _PREFIX_BYTES} bytes "
            "follow the length prefix; the file is truncated or not a safetensors file",
        )
    root = _decode_header(_read_exact(read_range, _PREFIX_BYTES, header_size))
    metadata = _check_metadata(root.pop(_METADATA_KEY)) if _METADATA_KEY in root else None
    if len(root) > MAX_TENSORS:
        raise SafetensorsError(
            reasons.SAFETENSORS_TOO_MANY_TENSORS,
            f"the header lists {len(root)} tensors, more than the limit of {MAX_TENSORS}; "
            "split the checkpoint into shards",
        )
    _check_names(list(root))
    tensors = [_check_tensor(name, entry, allowed_dtypes) for name, entry in root.items()]
    # (begin, end) as the reference sorts, so a zero-sized tensor comes before the one starting there.
    tensors.sort(key=attrgetter("begin", "end", "name"))
    _check_coverage(tensors, file_size - _PREFIX_BYTES - header_size)
    return SafetensorsHeader(
        header_size=header_size,
        data_start=_PREFIX_BYTES + header_size,
        file_size=file_size,
        tensors=tuple(tensors),
        metadata=metadata,
    )


def parse_header_bytes(
    data: bytes,
    *,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    allowed_dtypes: frozenset[str] = DEFAULT_ALLOWED_DTYPES,
) -> SafetensorsHeader:
    """`parse_header` over a whole file already in memory."""
    return parse_header(
        lambda offset, size: data[offset : offset + size],
        len(data),
        max_header_bytes=max_header_bytes,
        allowed_dtypes=allowed_dtypes,
    )


def _read_exact(read_range: ReadRange, offset: int, size: int) -> bytes:
    data = read_range(offset, size)
    if len(data) < size:
        raise SafetensorsError(
            reasons.SAFETENSORS_TRUNCATED_READ,
            f"reading {size} bytes at offset {offset} returned only {len(data)}; the file is shorter "
            "than its recorded size, so it was cut off or replaced while being read; upload it again",
        )
    if len(data) > size:
        # A reader bug rather than a bad file, but guessing which bytes were meant would be worse.
        raise SafetensorsError(
            reasons.SAFETENSORS_READ_OVERRUN,
            f"reading {size} bytes at offset {offset} returned {len(data)}; the storage reader is not "
            "honouring the requested range",
        )
    return data


class _DuplicateKeys(dict[str, Any]):
    """A JSON object that repeated a key; judged by the caller, which knows what the object is."""

    duplicate: str


class _BadInt:
    """An integer literal that is never valid here: negative (``-0`` too) or longer than 15 digits."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    # Python's json would silently keep the last value; the reference misreports the hole it leaves.
    dup = _DuplicateKeys(obj)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            dup.duplicate = key
            break
        seen.add(key)
    return dup


def _parse_int(text: str) -> int | _BadInt:
    # The reference reads `-0` as a float and refuses it where Python would make it 0. 2**48 has 15
    # digits, so longer literals need no conversion (int() refuses past 4300 digits anyway).
    if text[0] == "-" or len(text) > 15:
        return _BadInt(text)
    return int(text)


def _reject_constant(name: str) -> NoReturn:
    raise SafetensorsError(
        reasons.SAFETENSORS_HEADER_NONFINITE,
        f"the header contains the non-standard JSON constant {name}; a header holds only strings "
        "and non-negative integers",
    )


# A per-integer Python hook costs more than the rest of the parse, so it runs only when needed.
_FAST_DECODER: Final = json.JSONDecoder(object_pairs_hook=_object_from_pairs, parse_constant=_reject_constant)
_CHECKED_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object_from_pairs, parse_constant=_reject_constant, parse_int=_parse_int
)


def _decode_header(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_NOT_UTF8,
            f"the header is not valid UTF-8 (at byte {exc.start} of the header); the file is "
            "corrupted or not a safetensors file",
        ) from None
    _check_padding(text.strip(" "))
    has_minus = _check_structure(raw)
    try:
        root = _decode_json(text, _CHECKED_DECODER if has_minus else _FAST_DECODER)
    except ValueError:
        # A bare ValueError is int() refusing a literal past Python's digit limit; the checked
        # decoder hands such literals to _parse_int instead, which names the tensor.
        root = _decode_json(text, _CHECKED_DECODER)
    if not isinstance(root, dict):  # cannot happen after _check_padding saw '{'; narrows the type
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_NOT_OBJECT, f"the header must be a JSON object, but it is {_describe(root)}"
        )
    if isinstance(root, _DuplicateKeys):
        if root.duplicate == _METADATA_KEY:
            raise SafetensorsError(
                reasons.SAFETENSORS_DUPLICATE_KEY, "the header has more than one __metadata__ entry; keep one"
            )
        raise SafetensorsError(
            reasons.SAFETENSORS_DUPLICATE_TENSOR,
            f"the header lists tensor {_show(root.duplicate)} more than once; tensor names must be unique",
            tensor=_clip(root.duplicate),
        )
    return root


def _decode_json(text: str, decoder: json.JSONDecoder) -> Any:
    try:
        return decoder.decode(text)
    except RecursionError:
        # Backstop for unbalanced brackets, which _check_structure leaves to the JSON parser.
        raise _nesting_error() from None
    except json.JSONDecodeError as exc:
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_INVALID_JSON,
            f"the header is not valid JSON ({exc.msg} at character {exc.pos} of the header); "
            "re-save the file with the safetensors library",
        ) from None


def _check_padding(body: str) -> None:
    if not body:
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_PADDING, "the header holds only spaces, but it must be a JSON object"
        )
    for char, where in ((body[0], "starts"), (body[-1], "ends")):
        # The reference accepts any JSON whitespace here; the format allows only 0x20 as padding.
        if ord(char) in _BAD_PADDING:
            raise SafetensorsError(
                reasons.SAFETENSORS_HEADER_PADDING,
                f"the header {where} with byte 0x{ord(char):02x}, but only spaces (0x20) may pad it",
            )
    if body[0] != "{":
        raise SafetensorsError(
            reasons.SAFETENSORS_HEADER_NOT_OBJECT,
            f"the header must be a JSON object starting with '{{', but it starts with {_show(body[0])}",
        )


def _check_structure(raw: bytes) -> bool:
    """Refuse nesting deeper than a valid header before json recurses; say if '-' is outside strings.

    Byte-level is safe: UTF-8 never hides ASCII quotes, backslashes or brackets in multi-byte
    characters. Strings are dropped, brackets kept, then one innermost level is peeled per pass; a
    pair left after _MAX_DEPTH passes sits deeper than any valid header. Unbalanced brackets are
    json's to refuse. A '-' outside strings means a negative number, which needs _CHECKED_DECODER.
    """
    skeleton = raw.translate(None, _NOT_STRUCTURE)
    if b"\\" in skeleton:
        # Escaped quotes make pairing need context; the regex is linear too, only slower.
        outside = _JSON_STRING_RE.sub(b"", raw).translate(None, _NOT_OUTSIDE)
    else:
        outside = b"".join(skeleton.split(b'"')[::2])
    brackets = outside.translate(_BRACKETS_AS_SQUARE, b"-")
    for _ in range(_MAX_DEPTH):
        brackets = brackets.replace(b"[]", b"")
    if b"[]" in brackets:
        raise _nesting_error()
    return b"-" in outside


def _nesting_error() -> SafetensorsError:
    return SafetensorsError(
        reasons.SAFETENSORS_HEADER_NESTING,
        f"the header nests JSON deeper than {_MAX_DEPTH} levels, but tensor entries are flat objects "
        "holding a dtype string and two integer lists",
    )


def _check_metadata(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise SafetensorsError(
            reasons.SAFETENSORS_METADATA_INVALID,
            f"__metadata__ must be an object mapping strings to strings, but it is {_describe(value)}",
        )
    if isinstance(value, _DuplicateKeys):
        raise SafetensorsError(
            reasons.SAFETENSORS_DUPLICATE_KEY,
            f"__metadata__ has the key {_show(value.duplicate)} more than once; keep one",
        )
    if len(value) > MAX_METADATA_KEYS:
        raise SafetensorsError(
            reasons.SAFETENSORS_METADATA_TOO_LARGE,
            f"__metadata__ has {len(value)} keys, more than the limit of {MAX_METADATA_KEYS}",
        )
    total = 0
    for key, item in value.items():
        if type(item) is not str:
            raise SafetensorsError(
                reasons.SAFETENSORS_METADATA_INVALID,
                f"__metadata__ value for {_show(key)} is {_describe(item)}, but only strings are allowed",
            )
        try:
            total += len(key.encode()) + len(item.encode())
        except UnicodeEncodeError:
            # Python's json decodes a lone "\ud800" escape; UTF-8 and the reference refuse it.
            raise SafetensorsError(
                reasons.SAFETENSORS_METADATA_INVALID,
                f"__metadata__ entry {_show(key)} contains an unpaired UTF-16 surrogate escape, "
                "which is not valid Unicode",
            ) from None
    if total > MAX_METADATA_BYTES:
        raise SafetensorsError(
            reasons.SAFETENSORS_METADATA_TOO_LARGE,
            f"__metadata__ holds {total} bytes of keys and values, more than the limit of {MAX_METADATA_BYTES}",
        )
    fmt = value.get("format")
    if fmt is not None and fmt not in METADATA_FORMATS:
        raise SafetensorsError(
            reasons.SAFETENSORS_METADATA_FORMAT,
            f"__metadata__ format is {_show(fmt)}, but transformers loads only "
            f'{", ".join(sorted(METADATA_FORMATS))}; save with format "pt"',
        )
    # A plain dict typed as Mapping: read-only to checked code, and dataclasses.asdict() can copy it.
    return dict(value)


def _check_names(names: list[str]) -> None:
    if not names:
        return
    joined = "\x00".join(names)
    # Counting separators rules out a name that itself holds a NUL and splits into valid-looking parts.
    if (
        max(map(len, names)) <= MAX_NAME_LENGTH
        and joined.count("\x00") == len(names) - 1
        and _NAMES_RE.fullmatch(joined)
    ):
        return
    name = next(n for n in names if len(n) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(n))
    raise SafetensorsError(
        reasons.SAFETENSORS_TENSOR_NAME_INVALID,
        f"tensor name {_show(name)} is not a plain module path: use 1 to {MAX_NAME_LENGTH} letters, "
        "digits and '_' in dot-separated parts",
        tensor=_clip(name),
    )


def _check_tensor(name: str, entry: object, allowed_dtypes: frozenset[str]) -> TensorInfo:
    if type(entry) is not dict or entry.keys() != _ENTRY_KEYS:
        _explain_entry(name, entry)
    dtype = entry["dtype"]
    bits = _BITS.get(dtype) if type(dtype) is str else None
    if bits is None:
        raise SafetensorsError(
            reasons.SAFETENSORS_DTYPE_UNKNOWN,
            f"tensor {_show(name)} has dtype {_describe(dtype)}, which is not a safetensors dtype name",
            tensor=name,
        )
    if dtype not in allowed_dtypes:
        raise SafetensorsError(
            reasons.SAFETENSORS_DTYPE_NOT_ALLOWED,
            f"tensor {_show(name)} has dtype {dtype}, but only {', '.join(sorted(allowed_dtypes))} "
            "are accepted; convert the weights before uploading",
            tensor=name,
        )
    # Fast path with C-level checks; any doubt goes to the _check_* functions for the exact error.
    raw_shape = entry["shape"]
    if (
        type(raw_shape) is list
        and len(raw_shape) <= MAX_RANK
        and _INT_ONLY.issuperset(map(type, raw_shape))
        and (not raw_shape or (min(raw_shape) >= 0 and max(raw_shape) < INDEX_LIMIT))
    ):
        shape = tuple(raw_shape)
    else:
        shape = _check_shape(name, raw_shape)
    offsets = entry["data_offsets"]
    if type(offsets) is list and len(offsets) == 2 and _INT_ONLY.issuperset(map(type, offsets)):
        begin, end = offsets
        if not 0 <= begin <= end < INDEX_LIMIT:
            begin, end = _check_offsets(name, offsets)
    else:
        begin, end = _check_offsets(name, offsets)
    numel = math.prod(shape)
    # The reference multiplies in order with overflow checks, so a late 0 does not excuse an early
    # overflow. Running products only grow until the first 0, so that prefix is the one to check.
    if numel >= INDEX_LIMIT or (numel == 0 and math.prod(shape[: shape.index(0)]) >= INDEX_LIMIT):
        raise SafetensorsError(
            reasons.SAFETENSORS_NUMEL_TOO_LARGE,
            f"tensor {_show(name)} with shape {list(shape)} has 2**48 or more elements "
            "(multiplying dimension by dimension); no supported model has such a tensor",
            tensor=name,
        )
    total_bits = numel * bits
    if total_bits % 8:
        raise SafetensorsError(
            reasons.SAFETENSORS_MISALIGNED_SLICE,
            f"tensor {_show(name)} has {numel} {dtype} elements, which is {total_bits} bits, "
            "not a whole number of bytes",
            tensor=name,
        )
    if end - begin != total_bits // 8:
        raise SafetensorsError(
            reasons.SAFETENSORS_TENSOR_SIZE_MISMATCH,
            f"tensor {_show(name)} with dtype {dtype} and shape {list(shape)} needs {total_bits // 8} "
            f"bytes, but its data_offsets [{begin}, {end}] cover {end - begin}",
            tensor=name,
        )
    return TensorInfo(name=name, dtype=dtype, shape=shape, begin=begin, end=end)


def _explain_entry(name: str, entry: object) -> NoReturn:
    if isinstance(entry, _DuplicateKeys):
        raise SafetensorsError(
            reasons.SAFETENSORS_DUPLICATE_KEY,
            f"tensor {_show(name)} has the key {_show(entry.duplicate)} more than once",
            tensor=name,
        )
    if not isinstance(entry, dict):
        raise SafetensorsError(
            reasons.SAFETENSORS_TENSOR_ENTRY_INVALID,
            f"tensor {_show(name)} must be an object with dtype, shape and data_offsets, but it is {_describe(entry)}",
            tensor=name,
        )
    missing = ", ".join(sorted(_ENTRY_KEYS - entry.keys())) or "none"
    extra = ", ".join(_show(k) for k in sorted(entry.keys() - _ENTRY_KEYS)[:5]) or "none"
    raise SafetensorsError(
        reasons.SAFETENSORS_TENSOR_ENTRY_INVALID,
        f"tensor {_show(name)} must have exactly the keys dtype, shape and data_offsets "
        f"(missing: {missing}; unexpected: {extra})",
        tensor=name,
    )


def _check_shape(name: str, shape: object) -> tuple[int, ...]:
    if type(shape) is not list:
        raise SafetensorsError(
            reasons.SAFETENSORS_SHAPE_INVALID,
            f"shape of tensor {_show(name)} must be a list of integers, but it is {_describe(shape)}",
            tensor=name,
        )
    if len(shape) > MAX_RANK:
        raise SafetensorsError(
            reasons.SAFETENSORS_RANK_TOO_LARGE,
            f"tensor {_show(name)} has {len(shape)} dimensions, more than the limit of {MAX_RANK}",
            tensor=name,
        )
    for dim in shape:
        # `type(...) is int` because bool is an int subclass and `true` must not pass as 1.
        if type(dim) is not int or not 0 <= dim < INDEX_LIMIT:
            raise SafetensorsError(
                reasons.SAFETENSORS_SHAPE_INVALID,
                f"shape of tensor {_show(name)} contains {_describe(dim)}, but dimensions must be "
                "integers from 0 to 2**48 - 1",
                tensor=name,
            )
    return tuple(shape)


def _check_offsets(name: str, offsets: object) -> tuple[int, int]:
    if type(offsets) is not list or len(offsets) != 2:
        raise SafetensorsError(
            reasons.SAFETENSORS_OFFSETS_INVALID,
            f"data_offsets of tensor {_show(name)} must be a list [begin, end], but it is {_describe(offsets)}",
            tensor=name,
        )
    begin, end = offsets
    for value in offsets:
        if type(value) is not int or not 0 <= value < INDEX_LIMIT:
            raise SafetensorsError(
                reasons.SAFETENSORS_OFFSETS_INVALID,
                f"data_offsets of tensor {_show(name)} contain {_describe(value)}, but offsets must "
                "be integers from 0 to 2**48 - 1",
                tensor=name,
            )
    if begin > end:
        raise SafetensorsError(
            reasons.SAFETENSORS_OFFSETS_INVALID,
            f"data_offsets of tensor {_show(name)} are [{begin}, {end}], but begin must not exceed end",
            tensor=name,
        )
    return begin, end


def _check_coverage(tensors: list[TensorInfo], data_size: int) -> None:
    # Contiguous from 0 without holes: no unindexed bytes to hide a polyglot payload, no aliasing.
    position = 0
    previous = ""
    for tensor in tensors:
        if tensor.begin > position:
            after = f"tensor {_show(previous)} ends" if previous else "the data buffer starts"
            raise SafetensorsError(
                reasons.SAFETENSORS_OFFSET_GAP,
                f"tensor {_show(tensor.name)} begins at data offset {tensor.begin}, but {after} at "
                f"{position}, leaving {tensor.begin - position} bytes that no tensor covers",
                tensor=tensor.name,
            )
        if tensor.begin < position:
            raise SafetensorsError(
                reasons.SAFETENSORS_OFFSET_OVERLAP,
                f"tensor {_show(tensor.name)} begins at data offset {tensor.begin}, inside tensor "
                f"{_show(previous)} which ends at {position}; tensors must not share bytes",
                tensor=tensor.name,
            )
        position = tensor.end
        previous = tensor.name
    if position < data_size:
        raise SafetensorsError(
            reasons.SAFETENSORS_TRAILING_BYTES,
            f"the file has {data_size - position} bytes after the last tensor's data (tensors cover "
            f"{position} of {data_size} data bytes); remove the appended bytes or re-save the file",
        )
    if position > data_size:
        raise SafetensorsError(
            reasons.SAFETENSORS_DATA_TRUNCATED,
            f"the tensors need {position} data bytes, but only {data_size} follow the header; the "
            "file was cut off, upload it again",
        )


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _show(text: str) -> str:
    # JSON quoting keeps control characters and odd Unicode out of log lines and UIs.
    return json.dumps(_clip(text))


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"the number {_clip(repr(value))}"
    if isinstance(value, _BadInt):
        return _clip(value.text)
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"an object with {len(value)} key{'s' * (len(value) != 1)}"
    return type(value).__name__

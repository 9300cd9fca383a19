"""Value checks on tensor bytes, fed by the copy pass (no second read):

- NaN or Inf in a floating tensor fails the import;
- an adapter whose every module has an all-zero factor (lora_A or lora_B) is a no-op and earns a
  warning, and so does each module that is a no-op (PEFT initialises lora_B to zero: an adapter
  saved before training changes nothing);
- values of an extreme magnitude earn a warning (above EXTREME) or fail the import (above
  IMPLAUSIBLE, where activations overflow whatever the input).

One pass per element gives all three: with the sign bit cleared, IEEE floats order like their bit
patterns, so the largest masked pattern is the largest magnitude, it is at least the exponent mask
exactly when some element is Inf or NaN, and it is zero exactly when every element is (+/-)0.

Chunks arrive in file order and may cut a tensor, or even one element, anywhere; a few carried
bytes per tensor stitch elements back together. The work per tensor is bounded before it starts:
the header's tensor count is capped, and each byte is looked at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from modelport.domain import reasons
from modelport.validation.findings import Finding, Severity
from modelport.validation.safetensors import SafetensorsHeader, TensorInfo

EXTREME: Final = 1e4  # above: a warning
IMPLAUSIBLE: Final = 1e8  # above: no trained weight is this large; activations would overflow
# dtype -> (unsigned view, exponent mask, sign-cleared mask, the float type to read a pattern back).
_FORMATS: Final[dict[str, tuple[np.dtype[np.unsignedinteger], int, int, str]]] = {
    "BF16": (np.dtype("<u2"), 0x7F80, 0x7FFF, "bf16"),
    "F16": (np.dtype("<u2"), 0x7C00, 0x7FFF, "<f2"),
    "F32": (np.dtype("<u4"), 0x7F800000, 0x7FFFFFFF, "<f4"),
    "F64": (np.dtype("<u8"), 0x7FF0000000000000, 0x7FFFFFFFFFFFFFFF, "<f8"),
}
_MAX_REPORTED: Final = 5
_SLICE_BYTES: Final = 1024 * 1024  # a multiple of every element size
_FACTOR: Final = re.compile(
    r"^(?P<module>.+)\.(?P<factor>lora_A|lora_B|lora_embedding_A|lora_embedding_B)(?:\.weight)?$"
)


@dataclass
class _TensorState:
    info: TensorInfo
    start: int  # absolute file offset of the first byte
    view: np.dtype[np.unsignedinteger] | None
    exponent_mask: int
    magnitude_mask: int
    carry: bytes = b""
    largest: int = 0  # the largest sign-cleared bit pattern seen


@dataclass
class ValueScanner:
    file: str
    header: SafetensorsHeader
    zero_check: frozenset[str] = frozenset()  # LoRA factors: an all-zero one makes its module a no-op
    _states: list[_TensorState] = field(init=False)
    _cursor: int = field(init=False, default=0)
    _scratch_buffers: dict[np.dtype[np.unsignedinteger], np.ndarray] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._states = []
        for info in self.header.tensors:
            if info.nbytes == 0:
                continue
            known = _FORMATS.get(info.dtype)
            view, exponent, magnitude = (known[0], known[1], known[2]) if known is not None else (None, 0, 0)
            start = self.header.data_start + info.begin
            self._states.append(_TensorState(info, start, view, exponent, magnitude))

    def feed(self, offset: int, chunk: bytes | memoryview) -> None:
        """Scan `chunk`, which starts at absolute file `offset`; chunks must come in order."""
        end = offset + len(chunk)
        data = memoryview(chunk)
        while self._cursor < len(self._states):
            state = self._states[self._cursor]
            tensor_end = state.start + state.info.nbytes
            if tensor_end <= offset:
                self._cursor += 1
                continue
            if state.start >= end:
                return
            lo = max(state.start, offset) - offset
            hi = min(tensor_end, end) - offset
            self._scan(state, data[lo:hi])
            if tensor_end > end:
                return
            self._cursor += 1

    def findings(self) -> list[Finding]:
        scanned = [s for s in self._states if s.view is not None]
        results = [self._non_finite(s) for s in scanned if s.largest >= s.exponent_mask][:_MAX_REPORTED]
        finite = [s for s in scanned if s.largest < s.exponent_mask]
        implausible = [s for s in finite if _magnitude(s) > IMPLAUSIBLE]
        for state in implausible[:_MAX_REPORTED]:
            results.append(
                self._finding(
                    reasons.VALUES_IMPLAUSIBLE_MAGNITUDE,
                    Severity.ERROR,
                    f"tensor {state.info.name} holds values up to {_magnitude(state):.3g} in magnitude, far beyond any "
                    "trained weight (activations would overflow to Inf); the export is broken.",
                    state.info.name,
                )
            )
        extreme = [s for s in finite if EXTREME < _magnitude(s) <= IMPLAUSIBLE]
        if extreme:
            worst = max(extreme, key=_magnitude)
            results.append(
                self._finding(
                    reasons.VALUES_EXTREME_MAGNITUDE,
                    Severity.WARNING,
                    f"{len(extreme)} tensor{'s hold' if len(extreme) > 1 else ' holds'} values above {EXTREME:g} in "
                    f"magnitude (e.g. {worst.info.name}, up to {_magnitude(worst):.3g}); trained weights are far "
                    "smaller, so the export or the training may be broken.",
                    worst.info.name,
                )
            )
        results.extend(self._no_op_modules())
        return results

    def _no_op_modules(self) -> list[Finding]:
        if not self.zero_check:
            return []
        zero = {name for name in self.zero_check if self._is_zero(name)}
        modules: dict[str, set[str]] = {}
        for name in self.zero_check:
            match = _FACTOR.match(name)
            if match is not None:
                modules.setdefault(match["module"], set()).add(match["factor"])
        no_op = {m for m in modules if any(_factor_name(m, f, self.zero_check) in zero for f in modules[m])}
        if not modules or not no_op:
            return []
        if no_op == set(modules):
            return [
                self._finding(
                    reasons.VALUES_UNTRAINED_ADAPTER,
                    Severity.WARNING,
                    "every module has an all-zero lora_A or lora_B, so the adapter changes nothing (PEFT "
                    "initialises lora_B to zero: was the adapter saved before training?).",
                    None,
                )
            ]
        results = []
        for factor, code in (("B", reasons.VALUES_ZERO_LORA_B), ("A", reasons.VALUES_ZERO_LORA_A)):
            names = sorted(n for n in zero if re.search(rf"\.lora_(embedding_)?{factor}(\.weight)?$", n))
            if names:
                results.append(
                    self._finding(
                        code,
                        Severity.WARNING,
                        f"{len(names)} of {len(modules)} lora_{factor} matrices are all zeros (e.g. {names[0]}); "
                        "those modules are not adapted.",
                        names[0],
                    )
                )
        return results

    def _non_finite(self, state: _TensorState) -> Finding:
        return self._finding(
            reasons.VALUES_NON_FINITE,
            Severity.ERROR,
            f"tensor {state.info.name} contains NaN or Inf values; the weights are broken (did training diverge?). "
            "Export a checkpoint from before the loss went NaN.",
            state.info.name,
        )

    def _finding(self, code: reasons.Reason, severity: Severity, message: str, tensor: str | None) -> Finding:
        return Finding(code=code, severity=severity, message=f"{self.file}: {message}", file=self.file, tensor=tensor)

    def _is_zero(self, name: str) -> bool:
        info = self.header.by_name().get(name)
        if info is None:
            return False
        if info.nbytes == 0:
            return True
        state = next((s for s in self._states if s.info.name == name), None)
        return state is not None and state.view is not None and state.largest == 0

    def _scratch(self, view: np.dtype[np.unsignedinteger], count: int) -> np.ndarray:
        buffer = self._scratch_buffers.get(view)
        if buffer is None:
            buffer = self._scratch_buffers[view] = np.empty(_SLICE_BYTES // view.itemsize, dtype=view)
        return buffer[:count]

    def _scan(self, state: _TensorState, piece: memoryview) -> None:
        if state.view is None or state.largest >= state.exponent_mask:
            return  # not a float we scan, or already known broken
        item = state.view.itemsize
        if state.carry:
            need = item - len(state.carry)
            state.carry += bytes(piece[:need])
            piece = piece[need:]
            if len(state.carry) == item:
                self._inspect(state, np.frombuffer(state.carry, dtype=state.view))
                state.carry = b""
        whole = len(piece) - len(piece) % item
        # In slices, so numpy's temporaries stay small whatever the chunk size (memory is a budget).
        for start in range(0, whole, _SLICE_BYTES):
            self._inspect(state, np.frombuffer(piece[start : min(start + _SLICE_BYTES, whole)], dtype=state.view))
        if whole < len(piece):
            state.carry = bytes(piece[whole:])

    def _inspect(self, state: _TensorState, values: np.ndarray) -> None:
        assert state.view is not None
        masked = np.bitwise_and(values, state.magnitude_mask, out=self._scratch(state.view, len(values)))
        largest = int(masked.max())
        if largest > state.largest:
            state.largest = largest


def _factor_name(module: str, factor: str, names: frozenset[str]) -> str:
    for candidate in (f"{module}.{factor}.weight", f"{module}.{factor}"):
        if candidate in names:
            return candidate
    return f"{module}.{factor}"


def _magnitude(state: _TensorState) -> float:
    """The largest magnitude seen, read back from its bit pattern."""
    known = _FORMATS[state.info.dtype]
    if known[3] == "bf16":
        return float(np.array([state.largest << 16], dtype="<u4").view("<f4")[0])
    return float(np.array([state.largest], dtype=state.view).view(known[3])[0])

"""Value checks on tensor bytes, fed by the copy pass (no second read): NaN/Inf in floating tensors
fail the import; an adapter whose `lora_B` matrices are all zero earns a warning (it was never
trained: PEFT initialises `lora_B` to zero, so such an adapter changes nothing).

Chunks arrive in file order and may cut a tensor, or even one element, anywhere; a few carried
bytes per tensor stitch elements back together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from modelport.domain import reasons
from modelport.validation.findings import Finding, Severity
from modelport.validation.safetensors import SafetensorsHeader, TensorInfo

# dtype -> (unsigned view, exponent mask): an all-ones exponent means Inf or NaN.
_NON_FINITE: dict[str, tuple[np.dtype[np.unsignedinteger], int]] = {
    "BF16": (np.dtype("<u2"), 0x7F80),
    "F16": (np.dtype("<u2"), 0x7C00),
    "F32": (np.dtype("<u4"), 0x7F800000),
    "F64": (np.dtype("<u8"), 0x7FF0000000000000),
}
_SIGN_CLEARED: dict[np.dtype[np.unsignedinteger], int] = {
    np.dtype("<u2"): 0x7FFF,
    np.dtype("<u4"): 0x7FFFFFFF,
    np.dtype("<u8"): 0x7FFFFFFFFFFFFFFF,
}
_MAX_REPORTED = 5
_SLICE_BYTES = 1024 * 1024  # a multiple of every element size


@dataclass
class _TensorState:
    info: TensorInfo
    start: int  # absolute file offset of the first byte
    view: np.dtype[np.unsignedinteger] | None
    exponent_mask: int
    zero_check: bool
    carry: bytes = b""
    non_finite: bool = False
    nonzero: bool = False


@dataclass
class ValueScanner:
    file: str
    header: SafetensorsHeader
    zero_check: frozenset[str] = frozenset()
    _states: list[_TensorState] = field(init=False)
    _cursor: int = field(init=False, default=0)
    _scratch_buffers: dict[np.dtype[np.unsignedinteger], np.ndarray] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._states = []
        for info in self.header.tensors:
            if info.nbytes == 0:
                continue
            known = _NON_FINITE.get(info.dtype)
            view, mask = known if known is not None else (None, 0)
            self._states.append(
                _TensorState(
                    info=info,
                    start=self.header.data_start + info.begin,
                    view=view,
                    exponent_mask=mask,
                    zero_check=info.name in self.zero_check,
                )
            )

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
        results: list[Finding] = []
        broken = [s.info.name for s in self._states if s.non_finite]
        for name in broken[:_MAX_REPORTED]:
            results.append(
                Finding(
                    code=reasons.VALUES_NON_FINITE,
                    severity=Severity.ERROR,
                    message=(
                        f"{self.file}: tensor {name} contains NaN or Inf values; the weights are broken "
                        "(did training diverge?). Export a checkpoint from before the loss went NaN."
                    ),
                    file=self.file,
                    tensor=name,
                )
            )
        checked = [s for s in self._states if s.zero_check]
        zero = [s.info.name for s in checked if not s.nonzero]
        zero += [name for name in self.zero_check if self._is_empty(name)]
        if checked and len(zero) == len(checked):
            results.append(
                Finding(
                    code=reasons.VALUES_UNTRAINED_ADAPTER,
                    severity=Severity.WARNING,
                    message=(
                        f"{self.file}: every lora_B matrix is all zeros, so the adapter changes nothing "
                        "(PEFT initialises lora_B to zero: was the adapter saved before training?)."
                    ),
                    file=self.file,
                )
            )
        elif zero:
            results.append(
                Finding(
                    code=reasons.VALUES_ZERO_LORA_B,
                    severity=Severity.WARNING,
                    message=(
                        f"{self.file}: {len(zero)} of {len(checked)} lora_B matrices are all zeros "
                        f"(e.g. {sorted(zero)[0]}); those modules are not adapted."
                    ),
                    file=self.file,
                    tensor=sorted(zero)[0],
                )
            )
        return results

    def _scratch(self, view: np.dtype[np.unsignedinteger], count: int) -> np.ndarray:
        buffer = self._scratch_buffers.get(view)
        if buffer is None:
            buffer = self._scratch_buffers[view] = np.empty(_SLICE_BYTES // view.itemsize, dtype=view)
        return buffer[:count]

    def _is_empty(self, name: str) -> bool:
        info = self.header.by_name().get(name)
        return info is not None and info.nbytes == 0

    def _scan(self, state: _TensorState, piece: memoryview) -> None:
        if state.view is None or (state.non_finite and (state.nonzero or not state.zero_check)):
            return
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
        if not state.non_finite:
            # Masked exponents never exceed the mask, so "the largest equals the mask" is "any is
            # all ones": one pass into a reused buffer instead of two passes and two temporaries.
            exponents = np.bitwise_and(values, state.exponent_mask, out=self._scratch(state.view, len(values)))
            if exponents.max() == state.exponent_mask:
                state.non_finite = True
        if state.zero_check and not state.nonzero:
            state.nonzero = bool(np.any(np.bitwise_and(values, _SIGN_CLEARED[state.view])))

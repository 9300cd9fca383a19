"""The validation sandbox: inspections run in child processes with a CPU-time, a memory and a
wall-clock limit, so that an upload built to be expensive cannot stall the API's event loop, hold
the API's (or the worker's) GIL, or exhaust its memory.

Each child is a fresh interpreter (`python -m modelport.pipeline.sandbox`), so it inherits none of
the parent's threads, connections or event loop; it opens its own catalog and storage from the
same `Settings` and then serves one inspection at a time, for as long as it stays within its
limits. The parent keeps up to `processes` children alive and hands each request to an idle one,
so the start-up cost is paid once, not per inspection. Messages are pickles over a pipe pair.

Limits, per inspection:
- CPU time: RLIMIT_CPU is raised to "what the child has used so far + the allowance" before each
  request; past it the kernel sends SIGXCPU, which ends the child (no core file: RLIMIT_CORE is 0).
- Memory: RLIMIT_AS for the child's whole life; an allocation past it raises MemoryError, and the
  child reports it and exits, since its state can no longer be trusted.
- Wall time: the parent stops waiting, kills the child and starts another for the next request.
A request the sandbox could not finish comes back as a failed `Inspection` with one
`gate.resource_limit` (or `gate.internal_error`) finding: the upload is refused, never waved through.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from modelport.catalog.catalog import BaseModel, load_catalog
from modelport.domain import reasons
from modelport.domain.jobs import Phase, StorageInfo, WeightType
from modelport.domain.reasons import Reason
from modelport.pipeline.inspection import Inspection, PhaseSink, inspect_upload
from modelport.pipeline.stopping import CopyCancelled
from modelport.settings import Settings
from modelport.storage.config import build_storage
from modelport.validation.findings import Finding, FindingSet, Severity

logger = logging.getLogger("modelport.sandbox")

# How often a waiting inspection checks whether its import was stopped (a cancel, a lost lease).
_STOP_CHECK_SECONDS = 0.25


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    wall_seconds: float = 300.0
    processes: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        return cls(
            cpu_seconds=settings.validation_cpu_seconds,
            memory_bytes=settings.validation_memory_mib * 1024 * 1024,
            wall_seconds=settings.validation_wall_seconds,
            processes=settings.validation_processes,
        )


@dataclass(frozen=True)
class _Request:
    base_id: str
    weight_type: WeightType
    source: StorageInfo
    cpu_seconds: int


class _Child:
    def __init__(self, settings: Settings, limits: SandboxLimits) -> None:
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(child_reads), str(child_writes)],
            pass_fds=(child_reads, child_writes),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a ^C in the terminal reaches the server, which stops its children
        )
        os.close(child_reads)
        os.close(child_writes)
        self._out = Connection(parent_reads, writable=False)
        self._in = Connection(parent_writes, readable=False)
        self._in.send((settings, limits.memory_bytes))

    def send(self, message: Any) -> None:
        self._in.send(message)

    def poll(self, timeout: float) -> bool:
        return self._out.poll(timeout)

    def recv(self) -> Any:
        return self._out.recv()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, *, kill: bool = False) -> None:
        if kill and self.alive:
            self.process.kill()
        else:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._in.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.alive:
            self.process.kill()
            self.process.wait()
        self._in.close()
        self._out.close()


class ValidationSandbox:
    """An `Inspector` that runs every inspection in a limited child process."""

    def __init__(self, settings: Settings, limits: SandboxLimits | None = None) -> None:
        self._settings = settings
        self._limits = limits or SandboxLimits.from_settings(settings)
        self._idle: list[_Child] = []
        self._started = 0
        self._lock = threading.Condition()
        self._closed = False

    def __call__(
        self,
        base: BaseModel,
        weight_type: WeightType,
        source: StorageInfo,
        on_phase: PhaseSink,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Inspection:
        child = self._acquire()
        keep = False
        try:
            request = _Request(base.id, weight_type, source, self._limits.cpu_seconds)
            # A stop raises CopyCancelled out of _run; the child, mid-way through anything, is killed.
            outcome = self._run(child, request, on_phase, should_stop)
            keep = isinstance(outcome, Inspection)
            return outcome if isinstance(outcome, Inspection) else _refused(*outcome)
        finally:
            self._release(child, keep=keep)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children, self._idle = self._idle, []
            self._lock.notify_all()
        for child in children:
            child.stop()

    def _run(
        self, child: _Child, request: _Request, on_phase: PhaseSink, should_stop: Callable[[], bool]
    ) -> Inspection | tuple[Reason, str]:
        try:
            child.send(request)
        except (BrokenPipeError, OSError):
            return _death(child.exit_code(), self._limits)
        wall = self._limits.wall_seconds
        deadline = time.monotonic() + wall
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return reasons.GATE_RESOURCE_LIMIT, f"validation took longer than its limit of {wall:g} s"
            if should_stop():
                raise CopyCancelled()
            if not child.poll(min(remaining, _STOP_CHECK_SECONDS)):
                continue
            try:
                kind, payload = child.recv()
            except (EOFError, OSError):
                return _death(child.exit_code(), self._limits)
            if kind == "phase":
                on_phase(payload)
            elif kind == "result":
                assert isinstance(payload, Inspection)
                return payload
            elif kind == "memory":
                limit = self._limits.memory_bytes // (1024 * 1024)
                return reasons.GATE_RESOURCE_LIMIT, f"validation needed more than its memory limit of {limit} MiB"
            else:
                return reasons.GATE_INTERNAL_ERROR, f"the validation process failed ({payload})"

    def warm(self) -> None:
        """Start one child now, so the first inspection does not wait for an interpreter to start."""
        self._release(self._acquire(), keep=True)

    def _acquire(self) -> _Child:
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError("the validation sandbox is closed")
                while self._idle:
                    child = self._idle.pop()
                    if child.alive:
                        return child
                    self._started -= 1  # died while idle (killed, or the OOM killer): replace it
                    child.stop(kill=True)
                if self._started < self._limits.processes:
                    self._started += 1
                    break
                self._lock.wait()
        try:
            return _Child(self._settings, self._limits)
        except BaseException:
            with self._lock:
                self._started -= 1
                self._lock.notify()
            raise

    def _release(self, child: _Child, *, keep: bool) -> None:
        alive = keep and child.alive
        if not alive:
            child.stop(kill=True)
        with self._lock:
            if alive and not self._closed:
                self._idle.append(child)
            else:
                self._started -= 1
            self._lock.notify()
        if alive and self._closed:
            child.stop()


def _refused(code: Reason, detail: str) -> Inspection:
    message = f"The upload could not be validated: {detail}, so it is refused."
    finding = Finding(code=code, severity=Severity.ERROR, message=message)
    return Inspection(location=None, findings=FindingSet().plus(finding))


def _death(exitcode: int | None, limits: SandboxLimits) -> tuple[Reason, str]:
    if exitcode == -signal.SIGXCPU:
        return reasons.GATE_RESOURCE_LIMIT, f"validation used more than its CPU time limit of {limits.cpu_seconds} s"
    if exitcode == -signal.SIGKILL:
        return reasons.GATE_RESOURCE_LIMIT, "the validation process was killed (out of memory?)"
    return reasons.GATE_INTERNAL_ERROR, f"the validation process ended unexpectedly (exit code {exitcode})"


# -- the child ----------------------------------------------------------------------------------------


def _serve(requests: Connection, replies: Connection) -> None:
    """A child's life: set the limits, open the catalog and storage, then serve requests."""
    settings, memory_bytes = requests.recv()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from modelport.logs import configure_logging
    from modelport.worker.allocator import limit_malloc_arenas

    configure_logging(settings.log_format)
    # One malloc arena: per-thread arenas reserve address space the memory limit would count.
    limit_malloc_arenas()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    storage = build_storage(settings)
    catalog = load_catalog(settings.data_dir)
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        assert isinstance(request, _Request)
        _limit_cpu(request.cpu_seconds)
        try:
            base = catalog.get(request.base_id)
            if base is None:
                raise LookupError(f"the base model {request.base_id!r} is not in the sandbox's catalog")

            def send_phase(phase: Phase) -> None:
                replies.send(("phase", phase))

            inspection = inspect_upload(storage, base, request.weight_type, request.source, on_phase=send_phase)
            replies.send(("result", inspection))
        except MemoryError:
            _send_quietly(replies, ("memory", None))
            return
        except Exception as error:
            logger.error("validation failed in the sandbox:\n%s", traceback.format_exc())
            _send_quietly(replies, ("crash", type(error).__name__))
            return


def _limit_cpu(allowance: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    resource.setrlimit(resource.RLIMIT_CPU, (used + allowance, resource.RLIM_INFINITY))


def _send_quietly(connection: Connection, message: Any) -> None:
    with contextlib.suppress(BrokenPipeError, OSError, MemoryError):
        connection.send(message)


if __name__ == "__main__":
    # Run the importable module's _serve, not this __main__ copy's, so that the classes the parent
    # pickles (modelport.pipeline.sandbox._Request ...) are the ones the child compares with.
    from modelport.pipeline import sandbox

    sandbox._serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))

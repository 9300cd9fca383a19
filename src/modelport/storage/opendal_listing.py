"""Listing object storage through OpenDAL without stalling the process.

The binding's blocking lister holds the GIL while it waits for each page, so one slow listing would
freeze every thread of the process: heartbeats (leases are lost), the API, other copies. Its async
lister releases the GIL, so listings run it on a private event loop in the calling thread.

That loop needs one precaution. The binding completes a Python future from one of its own threads
through `loop.call_soon_threadsafe`, which queues the callback first and then writes to the loop's
wake-up socket, letting go of the GIL for that write. The listing can therefore finish, and the
process begin to exit, while that thread is still inside the call; when it wants the GIL back
during interpreter shutdown, CPython ends the thread under Rust frames, which aborts the process
(seen as SIGABRT at exit). So the loop counts those calls and is only closed once none is running.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextvars import Context
from dataclasses import dataclass
from typing import Any, TypeVar, TypeVarTuple

from modelport.storage.opendal_access import Operators

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")
# How long closing a loop waits for another thread to leave call_soon_threadsafe (a socket write).
_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Listed:
    path: str  # relative to the operator root; directories end with '/'
    size: int


def list_paths(
    operators: Operators,
    path: str,
    *,
    recursive: bool,
    limit: int,
    keep: Callable[[str], bool] = lambda _path: True,
) -> list[Listed]:
    """Up to `limit` entries under `path` for which `keep(path)` holds; OpenDAL errors propagate."""

    async def collect() -> list[Listed]:
        found: list[Listed] = []
        lister = await operators.listing.list(path, recursive=recursive)
        async for entry in lister:
            if keep(entry.path):
                found.append(Listed(path=entry.path, size=entry.metadata.content_length))
            if len(found) >= limit:
                break
        return found

    return run_coroutine(collect())


def run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_on_private_loop(coroutine)
    # Called from a thread that runs an event loop: finish on a thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage-list") as pool:
        return pool.submit(_run_on_private_loop, coroutine).result()


class _SettlingLoop(asyncio.SelectorEventLoop):
    """An event loop that knows how many other threads are inside `call_soon_threadsafe`."""

    def __init__(self) -> None:
        super().__init__()
        self._calls_lock = threading.Lock()
        self._calls_running = 0

    def call_soon_threadsafe(
        self, callback: Callable[[*_Ts], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        with self._calls_lock:
            self._calls_running += 1
        try:
            return super().call_soon_threadsafe(callback, *args, context=context)
        finally:
            with self._calls_lock:
                self._calls_running -= 1

    def settle(self) -> None:
        deadline = time.monotonic() + _SETTLE_SECONDS
        while time.monotonic() < deadline:
            with self._calls_lock:
                if self._calls_running == 0:
                    return
            time.sleep(0.001)  # lets the other thread take the GIL and finish its call


def _run_on_private_loop(coroutine: Coroutine[Any, Any, _T]) -> _T:
    loop = _SettlingLoop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.settle()
            loop.close()

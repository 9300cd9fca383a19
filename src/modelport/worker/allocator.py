"""Keep freed copy buffers from piling up in glibc's per-thread malloc arenas.

The copier's reader and writer threads each allocate 8 MiB chunks. glibc gives every thread that
allocates concurrently its own arena (up to 8 per core) and keeps freed blocks there for reuse by
that arena only, so a worker's peak RSS grows with its thread count, not with the data in flight:
measured on a 1 GiB S3 → S3 import, 503 MiB with the default arenas and 289 MiB with one
(BENCHMARKS.md, worker memory), and the import took no longer: the threads spend their time
waiting on I/O, not on the arena lock. `MALLOC_ARENA_MAX` in the environment does the same, but only if
set before the interpreter starts; `mallopt` applies it from here to every arena created later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

logger = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # from glibc's <malloc.h>


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """Cap glibc's malloc arenas (call before threads start); False where there is no glibc."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False  # the operator's own setting wins
    library = ctypes.util.find_library("c")
    if library is None:
        return False
    try:
        mallopt = ctypes.CDLL(library).mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    applied = bool(mallopt(_M_ARENA_MAX, arenas))
    logger.debug("malloc arenas capped at %d: %s", arenas, applied)
    return applied

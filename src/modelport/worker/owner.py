"""Lease owner ids, `host:pid:nonce`, and telling whether an owner on this host is dead.

After a crash the restarted process finds its predecessor's jobs leased to an owner on the same
host whose process is gone: it expires those leases at once instead of waiting for them to run out.
A live pid is not proof (pids are reused), so an owner whose process may be alive is left alone.
"""

from __future__ import annotations

import os
import socket
import uuid

# Owners alive in this process: another owner with our pid is a predecessor that died.
_LIVE_IN_PROCESS: set[str] = set()


def new_owner_id() -> str:
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    _LIVE_IN_PROCESS.add(owner)
    return owner


def retire_owner_id(owner: str) -> None:
    _LIVE_IN_PROCESS.discard(owner)


def is_dead_local_owner(owner: str, me: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text, _, _nonce = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or owner == me or owner in _LIVE_IN_PROCESS:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # our pid but not one of our owners: a predecessor (container restarts reuse pids)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False

"""The operator's use cases for workspaces: their API keys (create, list, revoke) and the keys a
server provisions at start. Later per-workspace settings (quotas, webhooks) belong here too.

The CLI's operator commands call these; keys are stored only as hashes and shown once.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.db.keys_repository import DEFAULT_WORKSPACE, KeyRecord, KeyRepository


@dataclass(frozen=True)
class NewKey:
    plaintext: str  # shown once, never stored
    record: KeyRecord


class Workspaces:
    def __init__(self, keys: KeyRepository) -> None:
        self._keys = keys

    def create_key(self, workspace: str) -> NewKey:
        """A new key for `workspace` (created if needed); raises KeyManagementError for a bad name."""
        plaintext, record = self._keys.create_key(workspace)
        return NewKey(plaintext, record)

    def list_keys(self) -> list[KeyRecord]:
        return self._keys.list_keys()

    def revoke_key(self, key_ref: str) -> KeyRecord:
        """Revoke by id, by displayed prefix or by the key itself; raises KeyManagementError."""
        return self._keys.revoke(key_ref)

    def provision(self, api_key: str | None) -> NewKey | None:
        """At server start: `api_key` (MODELPORT_API_KEY) is made valid in the default workspace;
        with no key given and none active, one is created and returned, to be shown once."""
        if api_key:
            self._keys.ensure_key(api_key, DEFAULT_WORKSPACE)
            return None
        if self._keys.count_active() == 0:
            return self.create_key(DEFAULT_WORKSPACE)
        return None

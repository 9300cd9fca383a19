"""Workspaces and API keys. Keys are stored only as a SHA-256 hash; the plaintext is shown once.

Keys carry 256 bits from `secrets`, so a fast hash is as strong as a slow KDF here and keeps
authentication to one indexed lookup per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, func, select, update

from modelport.clock import now_ms
from modelport.db.engine import read_transaction, single_read, write_transaction
from modelport.db.schema import api_keys, workspaces

KEY_PATTERN = re.compile(r"^sk-[A-Za-z0-9_-]{32,200}$")
WORKSPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_WORKSPACE = "default"
# Built once: every API request runs it.
_AUTHENTICATE = select(api_keys.c.workspace_id).where(
    api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at_ms.is_(None)
)


@dataclass(frozen=True)
class KeyRecord:
    id: int
    workspace: str
    key_prefix: str
    created_at_ms: int
    revoked_at_ms: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at_ms is None


class KeyManagementError(ValueError):
    """A key or workspace argument that cannot be used; the message says why."""


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> str:
    return "sk-" + secrets.token_urlsafe(32)


def is_well_formed(plaintext: str) -> bool:
    return bool(KEY_PATTERN.match(plaintext))


class KeyRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def authenticate(self, plaintext: str) -> int | None:
        """The workspace id of an active key, or None."""
        if not is_well_formed(plaintext):
            return None
        with single_read(self._engine) as connection:
            row = connection.execute(_AUTHENTICATE, {"key_hash": hash_key(plaintext)}).first()
        return None if row is None else int(row.workspace_id)

    def create_key(self, workspace: str) -> tuple[str, KeyRecord]:
        plaintext = generate_key()
        return plaintext, self._insert(plaintext, workspace)

    def ensure_key(self, plaintext: str, workspace: str = DEFAULT_WORKSPACE) -> KeyRecord:
        """Make sure `plaintext` is an active key (idempotent: an existing key is left as it is)."""
        if not is_well_formed(plaintext):
            raise KeyManagementError(
                "MODELPORT_API_KEY must look like 'sk-' followed by at least 32 characters of "
                "[A-Za-z0-9_-]; create one with `modelport keys create --workspace default`."
            )
        existing = self._find(hash_key(plaintext))
        if existing is not None:
            if not existing.active:
                raise KeyManagementError(
                    f"The key given in MODELPORT_API_KEY ({existing.key_prefix}...) was revoked; set a new key."
                )
            return existing
        return self._insert(plaintext, workspace)

    def count_active(self) -> int:
        with self._engine.connect() as connection:
            value = connection.execute(
                select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at_ms.is_(None))
            ).scalar_one()
        return int(value)

    def list_keys(self) -> list[KeyRecord]:
        with read_transaction(self._engine) as connection:
            rows = connection.execute(
                select(api_keys, workspaces.c.name.label("workspace"))
                .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
                .order_by(api_keys.c.id)
            ).all()
        return [_record(row) for row in rows]

    def revoke(self, key_ref: str) -> KeyRecord:
        """Revoke by numeric id, by the full key, or by its displayed prefix (must be unique)."""
        keys = self.list_keys()
        if key_ref.isdigit():
            matches = [k for k in keys if k.id == int(key_ref)]
        elif is_well_formed(key_ref):
            record = self._find(hash_key(key_ref))
            matches = [] if record is None else [record]
        else:
            matches = [k for k in keys if k.key_prefix.startswith(key_ref)]
        if not matches:
            raise KeyManagementError(f"No API key matches {key_ref!r}; `modelport keys list` shows them.")
        if len(matches) > 1:
            raise KeyManagementError(f"{len(matches)} keys match {key_ref!r}; give the key id instead.")
        target = matches[0]
        with write_transaction(self._engine) as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.id == target.id, api_keys.c.revoked_at_ms.is_(None))
                .values(revoked_at_ms=now_ms())
            )
        return next(k for k in self.list_keys() if k.id == target.id)

    def ensure_workspace(self, name: str) -> int:
        if not WORKSPACE_PATTERN.match(name):
            raise KeyManagementError(
                f"Workspace name {name!r} is not valid: use 1-64 characters of letters, digits, '.', '_' "
                "or '-', starting with a letter or digit."
            )
        with write_transaction(self._engine) as connection:
            row = connection.execute(select(workspaces.c.id).where(workspaces.c.name == name)).first()
            if row is not None:
                return int(row.id)
            result = connection.execute(workspaces.insert().values(name=name, created_at_ms=now_ms()))
            assert result.inserted_primary_key is not None
            return int(result.inserted_primary_key[0])

    def _insert(self, plaintext: str, workspace: str) -> KeyRecord:
        workspace_id = self.ensure_workspace(workspace)
        with write_transaction(self._engine) as connection:
            connection.execute(
                api_keys.insert().values(
                    workspace_id=workspace_id,
                    key_hash=hash_key(plaintext),
                    key_prefix=plaintext[:11],
                    created_at_ms=now_ms(),
                )
            )
        record = self._find(hash_key(plaintext))
        assert record is not None
        return record

    def _find(self, key_hash: str) -> KeyRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(api_keys, workspaces.c.name.label("workspace"))
                .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
                .where(api_keys.c.key_hash == key_hash)
            ).first()
        return None if row is None else _record(row)


def _record(row: object) -> KeyRecord:
    return KeyRecord(
        id=row.id,  # type: ignore[attr-defined]
        workspace=row.workspace,  # type: ignore[attr-defined]
        key_prefix=row.key_prefix,  # type: ignore[attr-defined]
        created_at_ms=row.created_at_ms,  # type: ignore[attr-defined]
        revoked_at_ms=row.revoked_at_ms,  # type: ignore[attr-defined]
    )

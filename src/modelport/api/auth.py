"""Bearer-key authentication: a request's key resolves to its workspace or the request fails."""

from __future__ import annotations

from starlette.requests import Request

from modelport.db.keys_repository import KeyRepository, is_well_formed
from modelport.domain.errors import InvalidApiKey


def authenticate(request: Request, keys: KeyRepository) -> int:
    """The caller's workspace id; raises InvalidApiKey for a missing, malformed, unknown or revoked key."""
    header = request.headers.get("authorization")
    if not header:
        raise InvalidApiKey("No API key was given: send the header 'Authorization: Bearer <your key>'.")
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise InvalidApiKey("The Authorization header must be 'Bearer <your key>'.")
    if not is_well_formed(key):
        raise InvalidApiKey("The API key is malformed: keys look like 'sk-' followed by 32 or more characters.")
    workspace_id = keys.authenticate(key)
    if workspace_id is None:
        raise InvalidApiKey("The API key is invalid or has been revoked.")
    return workspace_id

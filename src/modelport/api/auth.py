"""Bearer-key authentication: a request's key resolves to its workspace or the request fails."""

from __future__ import annotations

from starlette.requests import Request

from modelport.db.keys_repository import KeyRepository, is_well_formed
from modelport.domain.errors import InvalidApiKey

INVALID_KEY_MESSAGE = "The API key is invalid or has been revoked."


def authenticate(request: Request, keys: KeyRepository) -> int:
    """The caller's workspace id; raises InvalidApiKey for a missing, malformed, unknown or revoked key."""
    workspace_id = keys.authenticate(bearer_key(request))
    if workspace_id is None:
        raise InvalidApiKey(INVALID_KEY_MESSAGE)
    return workspace_id


def bearer_key(request: Request) -> str:
    """The well-formed key the request carries; raises InvalidApiKey when it is missing or malformed."""
    header = request.headers.get("authorization")
    if not header:
        raise InvalidApiKey("No API key was given: send the header 'Authorization: Bearer <your key>'.")
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise InvalidApiKey("The Authorization header must be 'Bearer <your key>'.")
    if not is_well_formed(key):
        raise InvalidApiKey("The API key is malformed: keys look like 'sk-' followed by 32 or more characters.")
    return key

"""Bearer keys at the HTTP edge: reading the key from the Authorization header. Whether the key is
valid, and whose workspace it opens, is the use case's (`ImportJobs.authenticate`)."""

from __future__ import annotations

from starlette.requests import Request

from modelport.db.keys_repository import is_well_formed
from modelport.domain.errors import InvalidApiKey


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

"""Endpoint secrets and the Standard Webhooks signature (https://www.standardwebhooks.com/).

A secret is `whsec_` + base64 of 32 random bytes, the form Standard Webhooks libraries take; the
signature is `v1,` + base64(HMAC-SHA256(those bytes, f"{id}.{timestamp}.{body}")). `Secret` keeps
the value out of reprs, f-strings and tracebacks: the plaintext is reached only through `reveal()`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value.startswith(SECRET_PREFIX):
            raise ValueError("a webhook secret starts with whsec_")
        try:
            key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a webhook secret is whsec_ followed by base64") from None
        if not key:
            raise ValueError("a webhook secret may not be empty")
        self._value = value

    @classmethod
    def generate(cls) -> Secret:
        return cls(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii"))

    def reveal(self) -> str:
        """The plaintext: for the one time it is shown to its owner, and for storing it."""
        return self._value

    def key(self) -> bytes:
        return base64.b64decode(self._value[len(SECRET_PREFIX) :])

    def __repr__(self) -> str:
        return "Secret('whsec_…')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


def signature(secret: Secret, message_id: str, timestamp: int, body: bytes) -> str:
    signed = message_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.key(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: Secret, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (the timestamp is the attempt's own)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }

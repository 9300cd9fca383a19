"""Lenient readers for fields of the server's JSON objects.

Each returns None (or a default) for a missing or ill-typed field instead of raising, which is
what lets the result types tolerate older and newer servers. Only `require_object` raises: a
result needs an object to read from at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelport.client.errors import UnexpectedResponse

JsonObject = Mapping[str, Any]


def require_object(data: Any, what: str) -> JsonObject:
    if not isinstance(data, Mapping):
        raise malformed(f"expected a {what} object")
    return data


def malformed(detail: str) -> UnexpectedResponse:
    return UnexpectedResponse(
        f"The server's answer is malformed: {detail}.", code=None, request_id=None, http_status=None
    )


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def texts(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def integer_or(value: Any, default: int) -> int:
    parsed = integer(value)
    return default if parsed is None else parsed


def objects(value: Any) -> list[JsonObject]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def mapping(value: Any) -> JsonObject:
    return value if isinstance(value, Mapping) else {}

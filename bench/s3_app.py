"""nanio's ASGI app as the benchmarks run it, with one fix: the SigV4 canonical query string is built as
the AWS specification says (each name and value URI-encoded, '/' as %2F), not as sent on the wire.

nanio 0.1.7 keeps the query as the client sent it, which matches botocore (it sends '%2F') but not
OpenDAL (it sends 'prefix=models/x/' and signs 'prefix=models%2Fx%2F'), so every listing with a
prefix failed with SignatureDoesNotMatch. Run by uvicorn inside nanio's own virtual environment:
`python -m uvicorn s3_app:build_app --factory --app-dir bench/`; object_server.py does that.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

import nanio.auth.sigv4 as sigv4


def canonical_query_string(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


# build_canonical_request looks the function up in its module at every call.
sigv4.canonical_query_string = canonical_query_string


def build_app() -> Any:
    from nanio.app import build_app as build_nanio_app

    return build_nanio_app()

"""Serving the console's files: `/console` (the page) and `/console/<asset>` (scripts, styles, icon).

The files are read from package data once, when the router is first asked for one, and answered
from memory. Only names found in the package are served: a request path is a dictionary key, never
joined onto a folder, so nothing outside `static/` can be reached. Every answer carries the
security headers below; anything else is the API's own `NotFound` envelope.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from modelport.api.errors import UNKNOWN_ROUTE_MESSAGE
from modelport.domain.errors import NotFound

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Scripts only from our own files (no inline script, no eval), API calls only to this origin, and no
# framing, form posts or <base> tricks: injected markup can neither run nor send the key elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Revalidate every time (an upgrade must not leave a tab on old scripts); the ETag keeps it cheap.
    "Cache-Control": "no-cache",
}
PAGE = "index.html"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every servable file under `static/`, by its path relative to it (e.g. `js/app.js`)."""
    found: dict[str, Asset] = {}
    _collect(resources.files("modelport.console") / "static", "", found)
    return found


def _collect(folder: Traversable, prefix: str, found: dict[str, Asset]) -> None:
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            _collect(entry, name + "/", found)
            continue
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        content_type = CONTENT_TYPES.get(suffix)
        if content_type is None:
            continue
        body = entry.read_bytes()
        found[name] = Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _respond(request: Request, asset: Asset) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


@router.get("/console")
@router.get("/console/")
def console_page(request: Request) -> Response:
    return _respond(request, assets()[PAGE])


@router.get("/console/{name:path}")
def console_asset(request: Request, name: str) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise NotFound(UNKNOWN_ROUTE_MESSAGE)
    return _respond(request, asset)

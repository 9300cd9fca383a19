"""One delivery attempt: check the URL's addresses again, connect to the checked address (sending
the host name in Host and in TLS SNI, so virtual hosts and certificates work), POST the signed
body, and turn whatever happens into an `AttemptOutcome`.

Bounded in every direction: the whole attempt, DNS included, has one deadline; the answer's
status and at most ERROR_BODY_BYTES of its body are read; redirects are not followed (a 3xx is a
failure, since following one would reach an address nobody checked); proxies from the
environment are ignored for the same reason; no connection is reused between attempts.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from modelport import __version__
from modelport.db.webhook_outbox import AttemptOutcome, OutgoingMessage
from modelport.webhooks.addresses import Resolver, UrlRefused, checked_addresses, parse_webhook_url
from modelport.webhooks.signing import signed_headers

ERROR_BODY_BYTES = 256
USER_AGENT = f"modelport-webhooks/{__version__}"


def new_client(timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def attempt_delivery(
    client: httpx.AsyncClient,
    message: OutgoingMessage,
    *,
    allow_private: bool,
    resolver: Resolver,
    timeout_seconds: float,
) -> AttemptOutcome:
    try:
        return await asyncio.wait_for(
            _post(client, message, allow_private=allow_private, resolver=resolver), timeout_seconds
        )
    except TimeoutError:
        return AttemptOutcome(None, f"No answer within {timeout_seconds:g} s.")


async def _post(
    client: httpx.AsyncClient, message: OutgoingMessage, *, allow_private: bool, resolver: Resolver
) -> AttemptOutcome:
    try:
        url = parse_webhook_url(message.url)
        addresses = await asyncio.to_thread(checked_addresses, url, allow_private=allow_private, resolver=resolver)
    except UrlRefused as refused:
        return AttemptOutcome(None, f"Not sent: {refused}")
    address = addresses[0]
    headers = {
        "host": url.host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(message.secret, message.message_id, int(time.time()), message.body),
    }
    extensions = {"sni_hostname": url.host} if url.scheme == "https" and url.literal is None else {}
    request = client.build_request(
        "POST", url.at(address), content=message.body, headers=headers, extensions=extensions
    )
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as error:
        detail = str(error) or "the connection failed"
        return AttemptOutcome(None, f"{type(error).__name__} talking to {address}: {detail}")
    try:
        if 200 <= response.status_code < 300:
            return AttemptOutcome(response.status_code, None)
        snippet = await _read_some(response)
        reason = f"The receiver answered HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            reason += " (redirects are not followed)"
        return AttemptOutcome(response.status_code, f"{reason}: {snippet}" if snippet else reason + ".")
    finally:
        await response.aclose()


async def _read_some(response: httpx.Response) -> str:
    received = bytearray()
    try:
        async for chunk in response.aiter_raw():
            received += chunk
            if len(received) >= ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = bytes(received[:ERROR_BODY_BYTES]).decode("utf-8", errors="replace")
    return "".join(char if char.isprintable() else " " for char in text).strip()

"""Request context: a fresh request id per request, on every response, and the last-resort 500.

This is plain ASGI (not BaseHTTPMiddleware) because it sits on every poll and must cost
microseconds. It catches whatever escaped the routes, so the client still gets the error envelope
(never a stack trace) and the log line carries the same request id. It also records the HTTP
metrics, labelled by route template.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.api.errors import internal_error_response
from modelport.logs import current_request_id
from modelport.metrics import HTTP_LATENCY, HTTP_REQUESTS

logger = logging.getLogger("modelport.api")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        context_token = current_request_id.set(request_id)
        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if "x-request-id" not in headers:
                    headers.append("X-Request-Id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "unhandled error in %s %s",
                scope.get("method"),
                scope.get("path"),
                extra={"request_id": request_id},
            )
            if not started:
                await internal_error_response(request_id)(scope, receive, send_with_id)
        finally:
            current_request_id.reset(context_token)
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - began)

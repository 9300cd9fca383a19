"""A real HTTP receiver for webhooks on 127.0.0.1: it records every request and answers as the test
says (a status, a redirect, or a stall held until the test releases it), so that tests steer
deliveries by conditions, never by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

STALL_LIMIT_SECONDS = 300.0  # a stalled request is answered at the latest then, so no thread hangs


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The JSON payload, after the Standard Webhooks library verified the signature."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 204
        self.redirect_to: str | None = None
        self._stalling = False
        self._release = threading.Event()
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                record = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                with receiver._changed:
                    receiver.received.append(record)
                    stalling, status, location = receiver._stalling, receiver.status, receiver.redirect_to
                    receiver._changed.notify_all()
                if stalling:
                    receiver._release.wait(STALL_LIMIT_SECONDS)
                    with receiver._changed:
                        status, location = receiver.status, receiver.redirect_to
                try:
                    if location is not None:
                        self.send_response(302)
                        self.send_header("Location", location)
                    else:
                        self.send_response(status)
                    body = b"" if 200 <= status < 300 else b"busy, try later"
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender is gone (killed mid-request, or it gave up waiting)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hooks/modelport") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stall(self) -> None:
        """Hold every request from now on without answering, until `answer`."""
        self._release.clear()
        self._stalling = True

    def answer(self, status: int = 204) -> None:
        """Answer `status` from now on, and release any stalled request."""
        with self._changed:
            self.status, self._stalling = status, False
        self._release.set()

    def wait_for(self, count: int, timeout: float = 120.0) -> list[Received]:
        """The first `count` requests, once they have arrived."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"the receiver got {len(self.received)} request(s), not {count}, in {timeout} s")
            return list(self.received)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as started:
        yield started

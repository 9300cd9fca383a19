"""A TCP proxy in front of a real server that can lose answers: the request reaches the server and
is processed, but the client's connection is closed before the response is sent back, the way a
load balancer timeout or a network cut loses it. What a retry does then is what is tested.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from tests.support.server import free_port

_HEADER_END = b"\r\n\r\n"


class DroppingProxy:
    def __init__(self, upstream_port: int, *, drop_first: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.requests: list[bytes] = []  # every request forwarded, as received
        self._upstream = upstream_port
        self._drops_left = drop_first
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            request = _read_request(client)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
                drop = self._drops_left > 0
                self._drops_left -= int(drop)
            response = _forward(self._upstream, request)
            if not drop:
                client.sendall(response)
            # Dropped: the server has answered, the client never hears it; closing says nothing.


def _read_request(client: socket.socket) -> bytes | None:
    data = b""
    while _HEADER_END not in data:
        chunk = client.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(_HEADER_END)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            return None
        body += chunk
    # One request per upstream connection, closed after its answer, so the answer's end is EOF.
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + _HEADER_END + body


def _forward(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as upstream:
        upstream.sendall(request)
        response = b""
        while chunk := upstream.recv(65536):
            response += chunk
    return response

"""A tiny object-storage HTTP server for wire tests: it keeps objects in memory, answers the S3/OSS
requests OpenDAL sends (ListObjectsV2, HEAD, ranged GET, PUT, DELETE, batch delete, multipart), and
records every request with its headers.

It runs on a real socket in a thread. It can be addressed path-style (`http://127.0.0.1:PORT/bucket/key`)
or used as an HTTP proxy for virtual-hosted requests (`http://bucket.oss-cn-x.aliyuncs.com/key`), the
way Alibaba OSS is addressed in production. With `oss_secrets` set it checks OSS signature v1
(`Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1>`) by its own implementation of the documented
algorithm and answers 403 SignatureDoesNotMatch when it does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

# Query parameters that are part of the signed resource in OSS signature v1 (Alibaba's SDKs).
OSS_SUBRESOURCES = frozenset(
    {
        "acl", "append", "bucketInfo", "callback", "callback-var", "comp", "continuation-token", "cors",
        "delete", "endTime", "lifecycle", "live", "location", "logging", "objectMeta", "partNumber",
        "position", "qos", "referer", "replication", "replicationLocation", "replicationProgress",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore",
        "security-token", "startTime", "stat", "status", "style", "styleName", "symlink", "tagging",
        "uploadId", "uploads", "vod", "website", "x-oss-process",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str  # absolute: http://host/path?query
    host: str
    bucket: str
    key: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    signature_ok: bool | None  # None when signatures are not checked
    status: int


@dataclass
class ObjectServer:
    """Buckets of objects, and what was asked of them."""

    buckets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    oss_secrets: dict[str, str] | None = None  # AccessKeyId -> secret; None: accept anything
    virtual_host_suffix: str | None = None  # e.g. ".oss-cn-test.aliyuncs.com"
    delay_seconds: float = 0.0  # before each answer, like a far-away service
    requests: list[Recorded] = field(default_factory=list)
    uploads: dict[str, dict[int, bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running(server: ObjectServer) -> Iterator[ObjectServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(server))
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name="object-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def oss_string_to_sign(method: str, headers: dict[str, str], bucket: str, key: str, query: dict[str, str]) -> str:
    oss_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in sorted(headers) if name.startswith("x-oss-"))
    resource = f"/{bucket}/{key}" if bucket else "/"
    signed = sorted((name, value) for name, value in query.items() if name in OSS_SUBRESOURCES)
    if signed:
        resource += "?" + "&".join(f"{name}={value}" if value else name for name, value in signed)
    md5, content_type, date = headers.get("content-md5", ""), headers.get("content-type", ""), headers.get("date", "")
    return f"{method}\n{md5}\n{content_type}\n{date}\n{oss_headers}{resource}"


def oss_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _handler_for(server: ObjectServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            target = self.path if self.path.startswith("http") else f"http://{headers.get('host', '')}{self.path}"
            parts = urlsplit(target)
            host = parts.netloc
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            path = unquote(parts.path)
            suffix = server.virtual_host_suffix
            if suffix and parts.hostname and parts.hostname.endswith(suffix):
                bucket, key = parts.hostname[: -len(suffix)], path.lstrip("/")
            else:
                bucket, _, key = path.lstrip("/").partition("/")
            if server.delay_seconds:
                time.sleep(server.delay_seconds)
            signature_ok = self._check_signature(headers, bucket, key, query)
            if signature_ok is False:
                status = self._error(
                    403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
                )
            else:
                status = self._dispatch(bucket, key, query, headers, body)
            with server.lock:
                server.requests.append(
                    Recorded(self.command, target, host, bucket, key, query, headers, signature_ok, status)
                )

        def _check_signature(
            self, headers: dict[str, str], bucket: str, key: str, query: dict[str, str]
        ) -> bool | None:
            if server.oss_secrets is None:
                return None
            scheme, _, credential = headers.get("authorization", "").partition(" ")
            key_id, _, signature = credential.partition(":")
            secret = server.oss_secrets.get(key_id)
            if scheme != "OSS" or secret is None:
                return False
            expected = oss_signature(secret, oss_string_to_sign(self.command, headers, bucket, key, query))
            return hmac.compare_digest(expected, signature)

        def _dispatch(self, bucket: str, key: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> int:
            objects = server.buckets.get(bucket)
            if objects is None:
                return self._error(404, "NoSuchBucket", "The specified bucket does not exist.")
            method = self.command
            if not key and method == "GET":
                return self._list(bucket, objects, query)
            if not key and method == "POST" and "delete" in query:
                return self._batch_delete(objects, body)
            if method == "POST" and "uploads" in query:
                upload_id = uuid.uuid4().hex
                server.uploads[upload_id] = {}
                return self._xml(
                    200,
                    f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{escape(key)}</Key>"
                    f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>",
                )
            if method == "PUT" and "uploadId" in query:
                server.uploads[query["uploadId"]][int(query["partNumber"])] = body
                return self._send(200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
            if method == "POST" and "uploadId" in query:
                parts = server.uploads.pop(query["uploadId"])
                numbers = [int(n.text or 0) for n in ElementTree.fromstring(body).iter("PartNumber")]
                objects[key] = b"".join(parts[n] for n in numbers)
                return self._xml(
                    200,
                    f"<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{escape(key)}</Key>"
                    f'<ETag>"{hashlib.md5(objects[key]).hexdigest()}-{len(numbers)}"</ETag>'
                    "</CompleteMultipartUploadResult>",
                )
            if method == "DELETE" and "uploadId" in query:
                server.uploads.pop(query["uploadId"], None)
                return self._send(204, b"")
            if method == "PUT":
                objects[key] = body
                return self._send(200, b"", {"ETag": _etag(body)})
            if method == "DELETE":
                objects.pop(key, None)
                return self._send(204, b"")
            data = objects.get(key)
            if data is None:
                return self._error(404, "NoSuchKey", "The specified key does not exist.")
            return self._object(data, headers)

        def _object(self, data: bytes, headers: dict[str, str]) -> int:
            common = {"ETag": _etag(data), "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}
            if_match = headers.get("if-match")
            if if_match is not None and if_match != _etag(data):
                return self._error(412, "PreconditionFailed", "At least one of the preconditions did not hold.")
            ranged = headers.get("range", "")
            if self.command == "GET" and ranged.startswith("bytes="):
                first_text, _, last_text = ranged[len("bytes=") :].partition("-")
                first = int(first_text)
                last = min(int(last_text) if last_text else len(data) - 1, len(data) - 1)
                common["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
                return self._send(206, data[first : last + 1], common)
            return self._send(200, data, common)

        def _list(self, bucket: str, objects: dict[str, bytes], query: dict[str, str]) -> int:
            prefix = query.get("prefix", "")
            delimiter = query.get("delimiter", "")
            contents, prefixes = [], set()
            for key in sorted(objects):
                if not key.startswith(prefix):
                    continue
                rest = key[len(prefix) :]
                if delimiter and delimiter in rest:
                    prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
                    continue
                contents.append(
                    f"<Contents><Key>{escape(key)}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
                    f"<ETag>{_etag(objects[key])}</ETag><Size>{len(objects[key])}</Size>"
                    "<StorageClass>Standard</StorageClass></Contents>"
                )
            common = "".join(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in sorted(prefixes))
            return self._xml(
                200,
                f"<ListBucketResult><Name>{bucket}</Name><Prefix>{escape(prefix)}</Prefix><MaxKeys>1000</MaxKeys>"
                f"<Delimiter>{escape(delimiter)}</Delimiter><IsTruncated>false</IsTruncated>"
                f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>{''.join(contents)}{common}</ListBucketResult>",
            )

        def _batch_delete(self, objects: dict[str, bytes], body: bytes) -> int:
            keys = [node.text or "" for node in ElementTree.fromstring(body).iter("Key")]
            for key in keys:
                objects.pop(key, None)
            deleted = "".join(f"<Deleted><Key>{escape(key)}</Key></Deleted>" for key in keys)
            return self._xml(200, f"<DeleteResult>{deleted}</DeleteResult>")

        def _error(self, status: int, code: str, message: str) -> int:
            request_id = uuid.uuid4().hex[:24].upper()
            return self._xml(
                status,
                f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
                f"<RequestId>{request_id}</RequestId><HostId>fake</HostId></Error>",
                {"x-oss-request-id": request_id, "x-amz-request-id": request_id},
            )

        def _xml(self, status: int, document: str, extra: dict[str, str] | None = None) -> int:
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + document).encode()
            return self._send(status, body, {"Content-Type": "application/xml", **(extra or {})})

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> int:
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return status

    return Handler


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def quoted(key: str) -> str:
    return quote(key, safe="/")

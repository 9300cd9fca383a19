"""The client's exceptions: one class per wire code, plus the failures that never reached a server.

`read_output` holds the one table from a response to an exception. An error carries the
server's `code`, `message`, `request_id` and the HTTP status, never the API key: messages are
built from the response body and the base URL only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class ModelportError(Exception):
    """Everything the client raises on purpose."""


class MissingApiKey(ModelportError):
    """No key was given, and none of MODELPORT_API_KEY or DASHSCOPE_API_KEY is set; nothing was sent."""


class InvalidArgument(ModelportError, ValueError):
    """A create/validate argument breaks a rule of the contract; checked locally, nothing was sent."""


class NetworkError(ModelportError, ConnectionError):
    """The server could not be reached, or the connection broke before a response arrived."""


class WaitTimeout(ModelportError, TimeoutError):
    """`wait_for_job` gave up before the job finished; `last_status` is what the job said last."""

    def __init__(self, job_id: str, timeout: float, last_status: str | None) -> None:
        super().__init__(
            f"Import job {job_id} did not finish within {timeout:g} s (last status: {last_status or 'unknown'})."
        )
        self.job_id = job_id
        self.timeout = timeout
        self.last_status = last_status


class ApiError(ModelportError):
    """The server answered with an error envelope (or a body that is not one the contract allows)."""

    def __init__(self, message: str, *, code: str | None, request_id: str | None, http_status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        where = f"HTTP {self.http_status}" if self.http_status is not None else "no HTTP status"
        rid = f", request id {self.request_id}" if self.request_id else ""
        return f"{self.code or 'Error'}: {self.message} ({where}{rid})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r})"
        )


class InvalidParameter(ApiError):
    """400: a missing, ill-typed or out-of-range parameter."""


class InvalidApiKey(ApiError):
    """401: the key is missing, malformed, unknown or revoked."""


class NotFound(ApiError):
    """404: an unknown job (or one of another workspace), an unsupported base model, an unknown route."""


class OperationDenied(ApiError):
    """400: the operation is not allowed now, e.g. deleting a job that is still PENDING or RUNNING."""


class Throttling(ApiError):
    """429: a workspace limit (too many PENDING jobs, too many bytes stored); the message names it."""


class InternalError(ApiError):
    """500 (or any 5xx): the server failed; retrying later may help."""


class UnexpectedResponse(ApiError):
    """A response the contract does not allow: not JSON, or JSON without the expected fields."""


WIRE_CODES: dict[str, type[ApiError]] = {
    "InvalidParameter": InvalidParameter,
    "InvalidApiKey": InvalidApiKey,
    "NotFound": NotFound,
    "OperationDenied": OperationDenied,
    "Throttling": Throttling,
    "InternalError": InternalError,
}
# For error bodies without a code (a proxy's HTML page, say).
_BY_STATUS: dict[int, type[ApiError]] = {400: InvalidParameter, 401: InvalidApiKey, 404: NotFound, 429: Throttling}
_SUCCESS_CODES = ("200", "Success")


def read_output(response: httpx.Response) -> dict[str, Any]:
    """The `output` object of a success envelope; otherwise raises the error the response stands for.

    As the official CLI does, a 2xx body with a top-level string `code` other than "200" or
    "Success" is an error too, and so is a 2xx body that is not JSON.
    """
    status = response.status_code
    header_id = response.headers.get("x-request-id")
    body = _json_or_none(response)
    if not isinstance(body, dict):
        if response.is_success:
            raise UnexpectedResponse(
                "The server answered with a body that is not a JSON object.",
                code=None,
                request_id=header_id,
                http_status=status,
            )
        raise _by_status(status, f"HTTP {status} {response.reason_phrase}".strip(), header_id)
    code, message = _code_and_message(body)
    request_id = _text(body.get("request_id")) or header_id
    if response.is_success and (code is None or code in _SUCCESS_CODES):
        output = body.get("output")
        if not isinstance(output, dict):
            raise UnexpectedResponse(
                f"The server answered {status} without an 'output' object.",
                code=None,
                request_id=request_id,
                http_status=status,
            )
        return output
    message = message or f"HTTP {status}"
    if code is not None:
        raise WIRE_CODES.get(code, ApiError)(message, code=code, request_id=request_id, http_status=status)
    raise _by_status(status, message, request_id)


def _by_status(status: int, message: str, request_id: str | None) -> ApiError:
    """For an error body without a code: the class follows the status, and `code` stays None."""
    kind = InternalError if status >= 500 else _BY_STATUS.get(status, ApiError)
    return kind(message, code=None, request_id=request_id, http_status=status)


def _code_and_message(body: dict[str, Any]) -> tuple[str | None, str | None]:
    nested = body.get("error")
    if isinstance(nested, dict):
        code = _text(nested.get("type")) or _text(nested.get("code")) or _text(body.get("code"))
        return code, _text(nested.get("message")) or _text(body.get("message"))
    return _text(body.get("code")), _text(body.get("message"))


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

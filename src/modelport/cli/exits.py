"""Exit codes of the client verbs, as the official `bl` CLI uses them, and how failures are shown.

One table maps each client error to an exit code. A failure is printed once: a readable message
on stderr, or, with --json, `{"error": {code, message, request_id, http_status, exit_code}}` on
stdout so that scripts parse one document whatever happened.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from modelport.client.errors import (
    ApiError,
    InvalidApiKey,
    InvalidArgument,
    MissingApiKey,
    ModelportError,
    NetworkError,
    WaitTimeout,
)


class ExitCode(enum.IntEnum):
    OK = 0
    API_ERROR = 1  # also: the job FAILED, the dry run failed
    USAGE = 2
    AUTH = 3
    TIMEOUT = 5
    NETWORK = 6
    CONFIRMATION = 7
    INTERRUPTED = 130


def exit_code_of(error: ModelportError) -> ExitCode:
    if isinstance(error, MissingApiKey | InvalidApiKey):
        return ExitCode.AUTH
    if isinstance(error, InvalidArgument):
        return ExitCode.USAGE
    if isinstance(error, WaitTimeout):
        return ExitCode.TIMEOUT
    if isinstance(error, NetworkError):
        return ExitCode.NETWORK
    return ExitCode.API_ERROR


def error_document(error: ModelportError, exit_code: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": _code_of(error),
        "message": error.message if isinstance(error, ApiError) else str(error),
        "request_id": error.request_id if isinstance(error, ApiError) else None,
        "http_status": error.http_status if isinstance(error, ApiError) else None,
        "exit_code": exit_code,
    }
    if isinstance(error, WaitTimeout):
        body["job_id"] = error.job_id
        body["last_status"] = error.last_status
    return {"error": body}


def _code_of(error: ModelportError) -> str:
    if isinstance(error, ApiError):
        return error.code or f"HTTP{error.http_status or ''}"
    if isinstance(error, WaitTimeout):
        return "Timeout"
    return type(error).__name__


def _hint(error: ModelportError) -> str | None:
    if isinstance(error, MissingApiKey):
        return "Pass --api-key, or set MODELPORT_API_KEY (DASHSCOPE_API_KEY also works)."
    if isinstance(error, InvalidApiKey):
        return (
            "The server rejected the key; check --api-key or MODELPORT_API_KEY (`modelport keys list` on the server)."
        )
    if isinstance(error, NetworkError):
        return "Is the server running? Point at it with --base-url or MODELPORT_BASE_URL."
    if isinstance(error, WaitTimeout):
        return f"The job goes on; follow it again with: modelport watch --job-id {error.job_id} --follow"
    return None


def fail(error: ModelportError, *, as_json: bool) -> NoReturn:
    code = exit_code_of(error)
    if as_json:
        click.echo(json.dumps(error_document(error, code), ensure_ascii=False))
        raise click.exceptions.Exit(code)
    if code is ExitCode.USAGE:
        raise click.UsageError(str(error))
    if isinstance(error, ApiError):
        click.echo(f"Error: {error.code or 'HTTP ' + str(error.http_status)}: {error.message}", err=True)
        details = [f"request id {error.request_id}" if error.request_id else None]
        details.append(f"HTTP {error.http_status}" if error.http_status is not None else None)
        if any(details):
            click.echo("  (" + ", ".join(d for d in details if d) + ")", err=True)
    elif isinstance(error, MissingApiKey):
        click.echo("Error: No API key found.", err=True)
    else:
        click.echo(f"Error: {error}", err=True)
    hint = _hint(error)
    if hint:
        click.echo(f"  {hint}", err=True)
    raise click.exceptions.Exit(code)


def refuse(code: ExitCode, error_code: str, message: str, *, as_json: bool) -> NoReturn:
    """Stop before sending anything (a confirmation is missing, say)."""
    if as_json:
        document = {"code": error_code, "message": message, "request_id": None, "http_status": None}
        click.echo(json.dumps({"error": {**document, "exit_code": int(code)}}, ensure_ascii=False))
    else:
        click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


@contextmanager
def reporting_errors(*, as_json: bool) -> Iterator[None]:
    """Turn the client's errors (and Ctrl-C) into the message and exit code of the table above."""
    try:
        yield
    except ModelportError as error:
        fail(error, as_json=as_json)
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None

"""What every API route shares: the use case of the app, the caller's workspace, the success
envelope, and the OpenAPI fragments (error responses, the job id parameter)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from modelport.api.auth import bearer_key
from modelport.api.errors import request_id_of
from modelport.api.schemas import ErrorEnvelope
from modelport.api.wire_json import WireJSONResponse
from modelport.usecases.imports import ImportJobs

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "InvalidParameter or OperationDenied"},
    401: {"model": ErrorEnvelope, "description": "InvalidApiKey"},
    404: {"model": ErrorEnvelope, "description": "NotFound"},
    429: {"model": ErrorEnvelope, "description": "Throttling (a workspace limit)"},
    500: {"model": ErrorEnvelope, "description": "InternalError"},
}
JOB_ID_PARAMETER = {
    "parameters": [
        {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
}


def imports_of(request: Request) -> ImportJobs:
    imports: ImportJobs = request.app.state.imports
    return imports


def caller(request: Request) -> int:
    """The workspace of the request's key; InvalidApiKey when there is none or it is not valid."""
    return imports_of(request).authenticate(bearer_key(request))


def envelope(request: Request, output: dict[str, Any]) -> JSONResponse:
    return WireJSONResponse({"request_id": request_id_of(request), "output": output})

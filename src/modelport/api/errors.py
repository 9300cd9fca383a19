"""The one table from errors to wire codes and HTTP statuses, and the error envelope.

Routes never choose a status: they raise domain errors and this module answers
`{"request_id", "code", "message"}`. Framework errors (a 404 for an unknown route, a 405, a
validation error) are translated here too, so no framework default shape ever leaves the server.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.api.wire_json import WireJSONResponse
from modelport.domain.errors import (
    InvalidApiKey,
    InvalidParameter,
    NotFound,
    OperationDenied,
    ServiceError,
    Throttling,
)

logger = logging.getLogger("modelport.api")

WIRE_CODES: dict[type[ServiceError], tuple[str, int]] = {
    InvalidParameter: ("InvalidParameter", 400),
    InvalidApiKey: ("InvalidApiKey", 401),
    NotFound: ("NotFound", 404),
    OperationDenied: ("OperationDenied", 400),
    Throttling: ("Throttling", 429),
}
INTERNAL_ERROR = ("InternalError", 500)
INTERNAL_MESSAGE = "An internal error occurred; try again later. Quote the request_id if it persists."
UNKNOWN_ROUTE_MESSAGE = "The requested resource does not exist."


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def error_response(request_id: str, code: str, status: int, message: str) -> JSONResponse:
    return WireJSONResponse(
        {"request_id": request_id, "code": code, "message": message},
        status_code=status,
        headers={"X-Request-Id": request_id},
    )


def service_error_response(request_id: str, error: ServiceError) -> JSONResponse:
    code, status = WIRE_CODES.get(type(error), INTERNAL_ERROR)
    return error_response(request_id, code, status, error.message)


def internal_error_response(request_id: str) -> JSONResponse:
    code, status = INTERNAL_ERROR
    return error_response(request_id, code, status, INTERNAL_MESSAGE)


def install_error_handlers(app: FastAPI) -> None:
    async def on_service_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ServiceError)
        return service_error_response(request_id_of(request), error)

    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code in (404, 405):
            # A method the path does not have is an unknown route too.
            return service_error_response(request_id_of(request), NotFound(UNKNOWN_ROUTE_MESSAGE))
        if 400 <= error.status_code < 500:
            return service_error_response(request_id_of(request), InvalidParameter(str(error.detail)))
        logger.error("HTTP %s raised inside a route: %s", error.status_code, error.detail)
        return internal_error_response(request_id_of(request))

    async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        message = f"{where}: {first.get('msg', 'invalid value')}" if where else "The request is invalid."
        return service_error_response(request_id_of(request), InvalidParameter(message))

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)

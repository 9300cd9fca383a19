"""Operations endpoints, no key needed: liveness, readiness (database reachable), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from modelport.api.errors import error_response, request_id_of
from modelport.metrics import REGISTRY
from modelport.services import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up", operation_id="healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", operation_id="metrics", response_class=PlainTextResponse)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", summary="The database is reachable", operation_id="readyz")
def readyz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return error_response(request_id_of(request), "InternalError", 500, "The database is not reachable.")
    return JSONResponse({"status": "ready"})

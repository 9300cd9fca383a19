"""The ASGI application: routes, the error table and the request-id middleware, over `Services`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from modelport import __version__
from modelport.api.context import RequestContextMiddleware
from modelport.api.errors import install_error_handlers
from modelport.api.routes import extensions, imports, operations, webhooks
from modelport.console import router as console_router
from modelport.db.job_counts import status_counts
from modelport.db.queue_depths import queue_depths
from modelport.metrics import watch_job_counts
from modelport.pipeline.inspection import Inspector, in_process
from modelport.services import Services
from modelport.usecases.dry_run import DryRuns
from modelport.usecases.imports import ImportJobs
from modelport.usecases.webhooks import Webhooks


def create_app(services: Services, inspect: Inspector | None = None) -> FastAPI:
    """The app over `services`; dry runs inspect through `inspect` (the validation sandbox in a server)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.reads.aclose()

    app = FastAPI(
        lifespan=lifespan,
        title="modelport",
        version=__version__,
        description=(
            "A DashScope-compatible import service for fine-tuned Qwen models. The four "
            "`/api/v1/custom_models/import` routes follow Alibaba Cloud Model Studio's contract; "
            "the others are modelport extensions."
        ),
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    app.state.imports = ImportJobs(services, DryRuns(inspect or in_process(services.storage)))
    app.state.webhooks = Webhooks.over(services)
    watch_job_counts(lambda: status_counts(services.engine), lambda: queue_depths(services.engine))
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(imports.router)
    app.include_router(extensions.router)
    app.include_router(webhooks.router)
    app.include_router(operations.router)
    app.include_router(console_router)  # the web console's files, outside the OpenAPI document
    _tidy_openapi(app)
    return app


def _tidy_openapi(app: FastAPI) -> None:
    """FastAPI documents a 422 for every route with parameters, which this server never sends; and
    the create body's nested models must live in the components, where generated clients and
    fuzzers resolve references."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    components.update(content.get("schema", {}).pop("$defs", {}))
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The four DashScope import routes, byte-compatible with `shared/spec/import-api.md`.

Handlers are plain functions run in the thread pool: each is a couple of indexed queries, and the
pool keeps a slow database from stalling the event loop (and `/healthz` with it).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.auth import authenticate, bearer_key
from modelport.api.errors import request_id_of
from modelport.api.schemas import (
    ErrorEnvelope,
    JobEnvelope,
    JobListEnvelope,
    create_body_schema,
    job_object,
    parse_create_body,
    parse_list_query,
    read_capped_body,
)
from modelport.catalog.catalog import BaseModel
from modelport.db.keys_repository import hash_key
from modelport.domain.errors import NotFound
from modelport.domain.jobs import JobStatus, NewJob, normalize_job_id
from modelport.services import Services

logger = logging.getLogger("modelport.api")

router = APIRouter(prefix="/api/v1/custom_models/import", tags=["import jobs"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "InvalidParameter or OperationDenied"},
    401: {"model": ErrorEnvelope, "description": "InvalidApiKey"},
    404: {"model": ErrorEnvelope, "description": "NotFound"},
    500: {"model": ErrorEnvelope, "description": "InternalError"},
}
JOB_ID_PARAMETER = {
    "parameters": [
        {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
}


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def envelope(request: Request, output: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"request_id": request_id_of(request), "output": output})


def require_base(services: Services, new_job: NewJob) -> BaseModel:
    """The catalog entry a create (or dry run) targets; NotFound if unknown or not for this weight type."""
    base = services.catalog.get(new_job.base_model)
    if base is None:
        raise NotFound(
            f"The base model {new_job.base_model!r} is not supported for import; "
            "GET /api/v1/custom_models/base_models lists the supported ones."
        )
    if new_job.weight_type.value not in base.weight_types:
        raise NotFound(
            f"The base model {new_job.base_model!r} does not accept weight_type "
            f"{new_job.weight_type.value!r} (it accepts: {', '.join(sorted(base.weight_types))})."
        )
    return base


def job_not_found(job_id: str) -> NotFound:
    return NotFound(f"Import job {job_id} does not exist.")


# Let generated clients and stateful fuzzers follow a created job to its other routes.
JOB_LINKS = {
    name: {"operationId": operation, "parameters": {"job_id": "$response.body#/output/job_id"}}
    for name, operation in (
        ("GetJob", "getImportJob"),
        ("DeleteJob", "deleteImportJob"),
        ("GetReport", "getImportJobReport"),
    )
}


@router.post(
    "",
    summary="Create an import job",
    operation_id="createImportJob",
    responses={200: {"model": JobEnvelope, "links": JOB_LINKS}, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": create_body_schema()}},
        }
    },
)
async def create_import_job(request: Request) -> JSONResponse:
    services = services_of(request)
    body = await read_capped_body(request)
    return await _in_thread(_create, request, services, body)


def _create(request: Request, services: Services, body: bytes) -> JSONResponse:
    workspace_id = authenticate(request, services.keys)
    new_job = parse_create_body(body)
    require_base(services, new_job)
    job = services.jobs.create(workspace_id, new_job)
    services.notify_new_job()
    return envelope(request, job_object(job, include_weight_type=True))


LIST_PARAMETERS = {
    "parameters": [
        {
            "name": "page_no",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "default": 1},
        },
        {
            "name": "page_size",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        },
        {
            "name": "status",
            "in": "query",
            "required": False,
            "description": f"Case-insensitive; SUCCEEDED is accepted for {JobStatus.SUCCEEDED.value}.",
            "schema": {"type": "string", "enum": list(JobStatus.spellings())},
        },
        {
            "name": "model_name",
            "in": "query",
            "required": False,
            "description": "Exact match on the generated model_name.",
            "schema": {"type": "string"},
        },
        {
            "name": "base_model",
            "in": "query",
            "required": False,
            "description": "modelport extension: exact match on the base model id the job imports for.",
            "schema": {"type": "string"},
        },
    ]
}


@router.get(
    "",
    summary="List import jobs, newest first",
    operation_id="listImportJobs",
    openapi_extra=LIST_PARAMETERS,
    responses={200: {"model": JobListEnvelope}, **ERRORS},
)
def list_import_jobs(request: Request) -> JSONResponse:
    services = services_of(request)
    workspace_id = authenticate(request, services.keys)
    page_no, page_size, status, model_name, base_model = parse_list_query(dict(request.query_params))
    page = services.jobs.list(
        workspace_id, page_no=page_no, page_size=page_size, status=status, model_name=model_name, base_model=base_model
    )
    return envelope(
        request,
        {
            "total": page.total,
            "page_no": page_no,
            "page_size": page_size,
            "list": [job_object(job) for job in page.jobs],
        },
    )


@router.get(
    "/{job_id}",
    summary="Get one import job",
    operation_id="getImportJob",
    responses={200: {"model": JobEnvelope}, **ERRORS},
    openapi_extra=JOB_ID_PARAMETER,
)
async def get_import_job(request: Request) -> JSONResponse:
    # Every client polls this route, so it runs on the event loop: one indexed read, in place on
    # SQLite and awaited on PostgreSQL, costs less than the hand-off to the thread pool (measured:
    # twice the throughput; see BENCHMARKS.md).
    services = services_of(request)
    key = bearer_key(request)
    raw_id = request.path_params["job_id"]
    job_id = normalize_job_id(raw_id)
    # Every client polls this route: the happy path authenticates and reads in one statement.
    job = await services.jobs.get_for_key_async(hash_key(key), job_id) if job_id else None
    if job is None:
        authenticate(request, services.keys)  # raises InvalidApiKey when the key is the problem
        raise job_not_found(raw_id)
    return envelope(request, job_object(job))


@router.delete(
    "/{job_id}",
    summary="Delete a finished import job and its imported model",
    operation_id="deleteImportJob",
    responses={200: {"model": JobEnvelope}, **ERRORS},
    openapi_extra=JOB_ID_PARAMETER,
)
def delete_import_job(request: Request) -> JSONResponse:
    services = services_of(request)
    workspace_id = authenticate(request, services.keys)
    raw_id = request.path_params["job_id"]
    job_id = normalize_job_id(raw_id)
    if job_id is None:
        raise job_not_found(raw_id)
    job = services.jobs.delete_finished(workspace_id, job_id)
    try:
        services.model_store.delete(job.model_name)
    except Exception:
        # The job is gone already; the orphan sweep removes these files on its next pass.
        logger.exception("could not delete the files of model %s", job.model_name)
    return envelope(request, job_object(job))


async def _in_thread(function: Any, *args: Any) -> JSONResponse:
    result: JSONResponse = await run_in_threadpool(function, *args)
    return result

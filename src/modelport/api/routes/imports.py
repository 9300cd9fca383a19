"""The four DashScope import routes, byte-compatible with the contract (docs/import-api.md).

Each handler parses the request, calls the use case (`usecases.imports.ImportJobs`) and wraps the
result in the envelope. Create, list and delete run in the thread pool, so a slow database never
stalls the event loop (and `/healthz` with it); the poll runs on the loop (see get_import_job).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.auth import bearer_key
from modelport.api.routes.common import ERRORS, JOB_ID_PARAMETER, caller, envelope, imports_of
from modelport.api.schemas import (
    IDEMPOTENCY_HEADER,
    JobEnvelope,
    JobListEnvelope,
    create_body_schema,
    job_object,
    parse_create_body,
    parse_idempotency_key,
    parse_list_query,
    read_capped_body,
)
from modelport.domain.jobs import JobStatus

router = APIRouter(prefix="/api/v1/custom_models/import", tags=["import jobs"])

# Let generated clients and stateful fuzzers follow a created job to its other routes.
JOB_LINKS = {
    name: {"operationId": operation, "parameters": {"job_id": "$response.body#/output/job_id"}}
    for name, operation in (
        ("GetJob", "getImportJob"),
        ("DeleteJob", "deleteImportJob"),
        ("GetReport", "getImportJobReport"),
        ("CancelJob", "cancelImportJob"),
    )
}
CREATE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": create_body_schema()}}}}
CREATE_PARAMETERS = {
    **CREATE_BODY,
    "parameters": [
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": "modelport extension (IETF draft): a retry with the same key and body within 24 h "
            "returns the job the first request created instead of a second one.",
            "schema": {"type": "string", "pattern": "^[ -~]{1,255}$"},
        }
    ],
}


@router.post(
    "",
    summary="Create an import job",
    operation_id="createImportJob",
    responses={200: {"model": JobEnvelope, "links": JOB_LINKS}, **ERRORS},
    openapi_extra=CREATE_PARAMETERS,
)
async def create_import_job(request: Request) -> JSONResponse:
    body = await read_capped_body(request)
    return await _in_thread(_create, request, body)


def _create(request: Request, body: bytes) -> JSONResponse:
    workspace_id = caller(request)
    key = parse_idempotency_key(request.headers.getlist(IDEMPOTENCY_HEADER))
    created = imports_of(request).create(workspace_id, parse_create_body(body), key)
    return envelope(request, job_object(created.job, include_weight_type=True))


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
    workspace_id = caller(request)
    query = parse_list_query(dict(request.query_params))
    page = imports_of(request).list_jobs(
        workspace_id, page_no=query.page_no, page_size=query.page_size, where=query.where
    )
    return envelope(
        request,
        {
            "total": page.total,
            "page_no": query.page_no,
            "page_size": query.page_size,
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
    # Every client polls this route, so it runs on the event loop: one indexed read that also
    # checks the key, in place on SQLite and awaited on PostgreSQL, costs less than the hand-off to
    # the thread pool (measured: twice the throughput; see BENCHMARKS.md).
    job = await imports_of(request).poll(bearer_key(request), request.path_params["job_id"])
    return envelope(request, job_object(job))


@router.delete(
    "/{job_id}",
    summary="Delete a finished import job and its imported model",
    operation_id="deleteImportJob",
    responses={200: {"model": JobEnvelope}, **ERRORS},
    openapi_extra=JOB_ID_PARAMETER,
)
def delete_import_job(request: Request) -> JSONResponse:
    workspace_id = caller(request)
    job = imports_of(request).delete(workspace_id, request.path_params["job_id"])
    return envelope(request, job_object(job))


async def _in_thread(function: Any, *args: Any) -> JSONResponse:
    result: JSONResponse = await run_in_threadpool(function, *args)
    return result

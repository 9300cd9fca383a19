"""modelport's extension routes: a job's validation report (with live progress), the dry run, and
the base-model catalog. They share the auth and error rules of the DashScope routes but live at
their own paths, so the DashScope objects stay exactly as the contract says.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.routes.common import ERRORS, JOB_ID_PARAMETER, caller, envelope, imports_of
from modelport.api.routes.imports import CREATE_BODY
from modelport.api.schemas import job_object, parse_create_body, progress_object, read_capped_body

router = APIRouter(prefix="/api/v1/custom_models", tags=["modelport extensions"])


@router.get(
    "/import/{job_id}/report",
    summary="A job's validation report and progress",
    operation_id="getImportJobReport",
    responses=ERRORS,
    openapi_extra=JOB_ID_PARAMETER,
)
def job_report(request: Request) -> JSONResponse:
    workspace_id = caller(request)
    found = imports_of(request).report(workspace_id, request.path_params["job_id"])
    body = {"job": job_object(found.job, include_weight_type=True), **found.report}
    body["progress"] = progress_object(found.job)
    return envelope(request, body)


@router.post(
    "/import/validate",
    summary="Dry run: validate an upload without creating a job or copying bytes",
    operation_id="validateImport",
    responses=ERRORS,
    openapi_extra=CREATE_BODY,
)
async def validate_upload(request: Request) -> JSONResponse:
    body = await read_capped_body(request)
    result: JSONResponse = await run_in_threadpool(_validate, request, body)
    return result


def _validate(request: Request, body: bytes) -> JSONResponse:
    caller(request)
    return envelope(request, imports_of(request).dry_run(parse_create_body(body)))


@router.get(
    "/base_models", summary="The base models this service imports for", operation_id="listBaseModels", responses=ERRORS
)
def base_models(request: Request) -> JSONResponse:
    caller(request)
    models = [base.summary() for base in imports_of(request).base_models()]
    return envelope(request, {"total": len(models), "list": models})

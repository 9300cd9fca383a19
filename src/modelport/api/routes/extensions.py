"""modelport's extension routes: a job's validation report (with live progress), cancelling a job,
the dry run, and the base-model catalog. They share the auth and error rules of the DashScope routes but live at
their own paths, so the DashScope objects stay exactly as the contract says.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.routes.common import ERRORS, JOB_ID_PARAMETER, caller, envelope, imports_of
from modelport.api.routes.imports import CREATE_BODY
from modelport.api.schemas import JobEnvelope, job_object, parse_create_body, progress_object, read_capped_body

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
    "/import/{job_id}/cancel",
    summary="Cancel an import job: a PENDING one ends at once, a RUNNING one within seconds",
    description='The job ends FAILED with error_code "Cancelled by the user." and report verdict '
    "`cancelled`; nothing is published. Answers the job as it is now (a RUNNING job is still RUNNING "
    "until its worker stops it). A finished job cannot be cancelled: OperationDenied.",
    operation_id="cancelImportJob",
    responses={200: {"model": JobEnvelope}, **ERRORS},
    openapi_extra=JOB_ID_PARAMETER,
)
def cancel_job(request: Request) -> JSONResponse:
    workspace_id = caller(request)
    job = imports_of(request).cancel(workspace_id, request.path_params["job_id"])
    return envelope(request, job_object(job, include_weight_type=True))


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

"""modelport's extension routes: a job's validation report (with live progress), the dry run, and
the base-model catalog. They share the auth and error rules of the DashScope routes but live at
their own paths, so the DashScope objects stay exactly as the contract says.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.auth import authenticate
from modelport.api.routes.imports import (
    ERRORS,
    JOB_ID_PARAMETER,
    envelope,
    job_not_found,
    require_base,
    services_of,
)
from modelport.api.schemas import create_body_schema, job_object, parse_create_body, read_capped_body
from modelport.domain.jobs import Job, JobStatus, format_gmt, normalize_job_id
from modelport.pipeline.inspection import inspect_upload
from modelport.pipeline.report import build_report
from modelport.services import Services
from modelport.validation.findings import Findings, ImportFailed

router = APIRouter(prefix="/api/v1/custom_models", tags=["modelport extensions"])


@router.get(
    "/import/{job_id}/report",
    summary="A job's validation report and progress",
    operation_id="getImportJobReport",
    responses=ERRORS,
    openapi_extra=JOB_ID_PARAMETER,
)
def job_report(request: Request) -> JSONResponse:
    services = services_of(request)
    workspace_id = authenticate(request, services.keys)
    raw_id = request.path_params["job_id"]
    job_id = normalize_job_id(raw_id)
    found = services.jobs.report(workspace_id, job_id) if job_id else None
    if found is None:
        raise job_not_found(raw_id)
    job, report = found
    body: dict[str, Any] = {"job": job_object(job, include_weight_type=True)}
    body.update(report or _pending_report(job))
    body["progress"] = _progress(job)
    return envelope(request, body)


@router.post(
    "/import/validate",
    summary="Dry run: validate an upload without creating a job or copying bytes",
    operation_id="validateImport",
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": create_body_schema()}},
        }
    },
)
async def validate_upload(request: Request) -> JSONResponse:
    services = services_of(request)
    body = await read_capped_body(request)
    result: JSONResponse = await run_in_threadpool(_validate, request, services, body)
    return result


def _validate(request: Request, services: Services, body: bytes) -> JSONResponse:
    authenticate(request, services.keys)
    new_job = parse_create_body(body)
    base = require_base(services, new_job)
    try:
        inspection = inspect_upload(services.storage, base, new_job.weight_type, new_job.storage)
        findings, plan, location = inspection.findings, inspection.plan, inspection.location
    except ImportFailed as failure:
        findings, plan, location = Findings(), None, None
        findings.add(failure.finding)
    report = build_report(
        verdict="failed" if findings.error_count else "passed",
        base_model=base.id,
        weight_type=new_job.weight_type,
        source=new_job.storage,
        findings=findings,
        plan=plan,
        location=location,
    )
    return envelope(request, report)


@router.get(
    "/base_models", summary="The base models this service imports for", operation_id="listBaseModels", responses=ERRORS
)
def base_models(request: Request) -> JSONResponse:
    services = services_of(request)
    authenticate(request, services.keys)
    models = [base.summary() for base in services.catalog.all()]
    return envelope(request, {"total": len(models), "list": models})


def _pending_report(job: Job) -> dict[str, Any]:
    return {
        "format": "modelport.report/v1",
        "verdict": "pending",
        "base_model": job.base_model,
        "weight_type": job.weight_type.value,
        "error": job.error_code,
        "checks": [],
        "findings": [],
        "files": [],
        "summary": {},
    }


def _progress(job: Job) -> dict[str, Any]:
    progress = job.progress
    body: dict[str, Any] = {
        "status": job.status.value,
        "phase": progress.phase or ("queued" if job.status == JobStatus.PENDING else None),
        "bytes_done": progress.bytes_done,
        "bytes_total": progress.bytes_total,
        "attempts": job.attempts,
    }
    if progress.updated_at_ms is not None:
        body["updated_at"] = format_gmt(progress.updated_at_ms)
    return body

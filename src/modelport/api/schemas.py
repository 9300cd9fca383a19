"""Wire shapes: the create body (parsed with pydantic, errors turned into one sentence), the list
query, and the job object as each route shows it.

The job object's fields per route follow the contract exactly: `weight_type` only on create,
`error_code` only when FAILED.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request

from modelport.domain.errors import InvalidParameter
from modelport.domain.job_object import job_object as job_object  # the webhook outbox writes it too
from modelport.domain.jobs import Job, JobFilter, JobStatus, NewJob, Phase, StorageInfo, WeightType, format_gmt
from modelport.domain.storage_names import (
    BUCKET_NAME_PATTERN,
    MAX_DISPLAY_NAME_CHARS,
    MAX_OBJECT_KEY_BYTES,
    OBJECT_KEY_PATTERN,
    check_bucket_name,
    check_display_name,
    check_object_key,
)
from modelport.limits import MAX_REQUEST_BODY_BYTES

_TOO_LARGE = f"The request body is larger than {MAX_REQUEST_BODY_BYTES} bytes."


class StorageInfoBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    # The JSON-schema constraints document the rules for clients and fuzzers; the validators below
    # enforce them with sentences of our own.
    bucket_name: str = Field(
        description="OSS bucket name: 3-63 of [a-z0-9-], starting and ending alphanumeric.",
        json_schema_extra={"pattern": BUCKET_NAME_PATTERN},
    )
    object_key: str = Field(
        description=(
            "Folder prefix holding the model files: ends with '/', no leading '/', no empty, '.' or '..' "
            f"segment, no backslash or control character, at most {MAX_OBJECT_KEY_BYTES} bytes."
        ),
        json_schema_extra={"pattern": OBJECT_KEY_PATTERN, "maxLength": 256},
    )

    @field_validator("bucket_name")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        check_bucket_name(value)
        return value

    @field_validator("object_key")
    @classmethod
    def _object_key(cls, value: str) -> str:
        check_object_key(value)
        return value


class CreateImportBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, protected_namespaces=())

    model_name: str = Field(
        description="Base model id, e.g. qwen3-8b (see GET /api/v1/custom_models/base_models).",
        json_schema_extra={"minLength": 1},
    )
    source: str = Field(description="Always 'oss' (case-insensitive).", json_schema_extra={"pattern": "^[oO][sS][sS]$"})
    weight_type: str = Field(
        description=" or ".join(repr(value) for value in WeightType.values()) + ".",
        json_schema_extra={"enum": list(WeightType.values())},
    )
    storage_info: StorageInfoBody
    display_name: str | None = Field(
        default=None,
        description=f"1-{MAX_DISPLAY_NAME_CHARS} characters; defaults to the base model id.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_DISPLAY_NAME_CHARS},
    )

    @field_validator("model_name")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not value:
            raise ValueError("model_name must name a base model, e.g. 'qwen3-8b'; it is empty.")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value.lower() != "oss":
            raise ValueError(f"source must be 'oss', the only supported source; got {value!r}.")
        return value

    @field_validator("weight_type")
    @classmethod
    def _weight_type(cls, value: str) -> str:
        if value not in WeightType.values():
            allowed = " or ".join(repr(v) for v in WeightType.values())
            raise ValueError(f"weight_type must be {allowed}; got {value!r}.")
        return value

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is not None:
            check_display_name(value)
        return value

    def to_new_job(self) -> NewJob:
        return NewJob(
            base_model=self.model_name,
            weight_type=WeightType(self.weight_type),
            storage=StorageInfo(bucket_name=self.storage_info.bucket_name, object_key=self.storage_info.object_key),
            display_name=self.display_name,
        )


def create_body_schema() -> dict[str, Any]:
    """The create body's JSON schema, its nested models referenced from the OpenAPI components."""
    return CreateImportBody.model_json_schema(ref_template="#/components/schemas/{model}")


async def read_capped_body(request: Request) -> bytes:
    """The request body, refused past MAX_REQUEST_BODY_BYTES without buffering more than that."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_REQUEST_BODY_BYTES:
        raise InvalidParameter(_TOO_LARGE)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_REQUEST_BODY_BYTES:
            raise InvalidParameter(_TOO_LARGE)
    return bytes(received)


def parse_create_body(raw: bytes) -> NewJob:
    if len(raw) > MAX_REQUEST_BODY_BYTES:
        raise InvalidParameter(_TOO_LARGE)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidParameter("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    try:
        return CreateImportBody.model_validate(document).to_new_job()
    except ValidationError as error:
        raise InvalidParameter(_sentence(error)) from None


def _sentence(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    kind = first["type"]
    if kind == "missing":
        return f"{where} is required."
    if kind == "string_type":
        return f"{where} must be a string."
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{where} must be a JSON object."
    if kind == "value_error":
        return str(first["ctx"]["error"])
    return f"{where}: {first['msg']}."


IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_IDEMPOTENCY_KEY = 255


def parse_idempotency_key(values: list[str]) -> str | None:
    """The create's Idempotency-Key: one header of 1 to 255 printable ASCII characters, or none."""
    if not values:
        return None
    if len(values) > 1:
        raise InvalidParameter(f"Send one {IDEMPOTENCY_HEADER} header, not {len(values)}.")
    key = values[0]
    if not 1 <= len(key) <= _MAX_IDEMPOTENCY_KEY or not all(" " <= c <= "~" for c in key):
        raise InvalidParameter(
            f"The {IDEMPOTENCY_HEADER} header must be 1 to {_MAX_IDEMPOTENCY_KEY} printable ASCII characters."
        )
    return key


@dataclass(frozen=True)
class ListQuery:
    page_no: int
    page_size: int
    where: JobFilter


def parse_list_query(params: dict[str, str]) -> ListQuery:
    """page_no, page_size and the filters: status, model_name, base_model (a modelport extension)."""
    raw_status = params.get("status")
    return ListQuery(
        page_no=_positive_int(params, "page_no", default=1, maximum=None),
        page_size=_positive_int(params, "page_size", default=10, maximum=100),
        where=JobFilter(
            status=JobStatus.parse_filter(raw_status) if raw_status is not None else None,
            model_name=params.get("model_name"),
            base_model=params.get("base_model"),
        ),
    )


def _positive_int(params: dict[str, str], name: str, *, default: int, maximum: int | None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise InvalidParameter(f"{name} must be a positive integer; got {raw!r}.")
    value = int(raw)
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum is not None else "at least 1"
        raise InvalidParameter(f"{name} must be {bound}; got {raw}.")
    return value


def progress_object(job: Job) -> dict[str, Any]:
    """A job's live progress, as the report route shows it."""
    progress = job.progress
    phase = progress.phase or (Phase.QUEUED if job.status == JobStatus.PENDING else None)
    body: dict[str, Any] = {
        "status": job.status.value,
        "phase": phase.value if phase is not None else None,
        "bytes_done": progress.bytes_done,
        "bytes_total": progress.bytes_total,
        "attempts": job.attempts,
    }
    if progress.updated_at_ms is not None:
        body["updated_at"] = format_gmt(progress.updated_at_ms)
    return body


# -- response models, for the OpenAPI document only ------------------------------------------------


class StorageInfoOut(BaseModel):
    bucket_name: str
    object_key: str


class JobOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    model_name: str
    display_name: str
    source: str
    weight_type: str | None = Field(default=None, description="Only in the create response.")
    storage_info: StorageInfoOut
    status: str = Field(description="One of " + ", ".join(status.value for status in JobStatus) + ".")
    gmt_create: str
    error_code: str | None = Field(default=None, description="Only when FAILED: what is wrong and where.")


class JobEnvelope(BaseModel):
    request_id: str
    output: JobOut


class JobListOut(BaseModel):
    total: int
    page_no: int
    page_size: int
    list: list[JobOut]


class JobListEnvelope(BaseModel):
    request_id: str
    output: JobListOut


class ErrorEnvelope(BaseModel):
    request_id: str
    code: str = Field(description="InvalidParameter, InvalidApiKey, NotFound, OperationDenied or InternalError.")
    message: str

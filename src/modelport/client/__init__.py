"""A typed Python client for modelport and DashScope's custom model import API.

from modelport.client import Client

with Client("http://127.0.0.1:8000", api_key="sk-...") as client:
    job = client.create_job("qwen3-8b", "lora", "my-bucket", "models/my-lora/")
    job = client.wait_for_job(job.job_id, interval=5, timeout=600)
    print(job.status, job.model_name, job.error_code)
"""

from modelport.client.client import DEFAULT_BASE_URL, Client
from modelport.client.errors import (
    ApiError,
    InternalError,
    InvalidApiKey,
    InvalidArgument,
    InvalidParameter,
    MissingApiKey,
    ModelportError,
    NetworkError,
    NotFound,
    OperationDenied,
    Throttling,
    UnexpectedResponse,
    WaitTimeout,
)
from modelport.client.models import BaseModelInfo, BaseModelList, Job, JobPage, JobStatus, StorageInfo
from modelport.client.reports import Check, FileEntry, Finding, Progress, Report
from modelport.client.waiting import Snapshot

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiError",
    "BaseModelInfo",
    "BaseModelList",
    "Check",
    "Client",
    "FileEntry",
    "Finding",
    "InternalError",
    "InvalidApiKey",
    "InvalidArgument",
    "InvalidParameter",
    "Job",
    "JobPage",
    "JobStatus",
    "MissingApiKey",
    "ModelportError",
    "NetworkError",
    "NotFound",
    "OperationDenied",
    "Progress",
    "Report",
    "Snapshot",
    "StorageInfo",
    "Throttling",
    "UnexpectedResponse",
    "WaitTimeout",
]

"""`Client`: the import API and modelport's extension routes over httpx, with typed results.

Retries, and why they differ by method:
- GET, and the dry run (a POST without side effects), are retried on a 5xx answer or a broken
  connection, with exponential backoff.
- Create is retried like a GET: every create carries an `Idempotency-Key` (a fresh one per call
  unless you pass your own), so a retry after a lost answer returns the job the first attempt
  made instead of making a second. Against a server that ignores the header (DashScope itself),
  pass `retries=0` if a duplicate job would hurt.
- DELETE and cancel are retried only when the connection was never made (connect error or
  timeout, no free pooled connection): the request cannot have reached the server. After that, a
  second DELETE could answer NotFound for a job the first one removed (a second cancel,
  OperationDenied for the job the first one ended), hiding what happened, so a lost answer or a
  5xx is raised as it is.
- Throttling (429, a workspace limit) is never retried: limits do not clear in seconds.

The API key goes into the Authorization header and nowhere else: not the repr, the logs, or the
messages of the errors raised (httpx masks the header in its own reprs).
"""

from __future__ import annotations

import enum
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from modelport import __version__
from modelport.client.arguments import check_import_arguments, import_body
from modelport.client.errors import InvalidArgument, MissingApiKey, NetworkError, read_output
from modelport.client.models import BaseModelList, Job, JobPage, JobStatus
from modelport.client.reports import Report
from modelport.client.waiting import Snapshot, follow

logger = logging.getLogger("modelport.client")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
IMPORT_PATH = "/api/v1/custom_models/import"
IDEMPOTENCY_HEADER = "Idempotency-Key"
BASE_MODELS_PATH = "/api/v1/custom_models/base_models"
MAX_BACKOFF_SECONDS = 10.0


class Retry(enum.Enum):
    SAFE = "safe"  # no side effects: retry on 5xx and on any broken connection
    UNSENT = "unsent"  # retry only when the request certainly never reached the server
    NEVER = "never"


_UNSENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def resolve_base_url(base_url: str | None, env: Mapping[str, str]) -> str:
    resolved = base_url or env.get("MODELPORT_BASE_URL") or DEFAULT_BASE_URL
    if not resolved.startswith(("http://", "https://")):
        raise InvalidArgument(f"The base URL must start with http:// or https://; got {resolved!r}.")
    return resolved.rstrip("/")


def resolve_api_key(api_key: str | None, env: Mapping[str, str]) -> str | None:
    return api_key or env.get("MODELPORT_API_KEY") or env.get("DASHSCOPE_API_KEY") or None


class Client:
    """A client of one modelport (or DashScope) server. Use it as a context manager, or call close()."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        environment = os.environ if env is None else env
        key = resolve_api_key(api_key, environment)
        if key is None:
            raise MissingApiKey("No API key found: pass api_key, or set MODELPORT_API_KEY (or DASHSCOPE_API_KEY).")
        self.base_url = resolve_base_url(base_url, environment)
        self.retries = max(retries, 0)
        self.backoff = max(backoff, 0.0)
        self._sleep: Callable[[float], None] = time.sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"modelport-client/{__version__}",
            },
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the DashScope routes ----------------------------------------------------------------------

    def create_job(
        self,
        base_model: str,
        weight_type: str,
        bucket: str,
        object_key: str,
        display_name: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Start an import of oss://bucket/object_key; the job starts PENDING.

        Retried on a lost answer with the same `idempotency_key` (a new one per call by default):
        the same key and body within 24 hours return the same job. Pass your own key to make a
        create safe to repeat across processes, e.g. one derived from your training run's id.
        """
        check_import_arguments(base_model, weight_type, bucket, object_key, display_name)
        body = import_body(base_model, weight_type, bucket, object_key, display_name)
        key = idempotency_key if idempotency_key is not None else f"modelport-client-{uuid.uuid4()}"
        output = self._call("POST", IMPORT_PATH, json=body, retry=Retry.SAFE, headers={IDEMPOTENCY_HEADER: key})
        return Job.from_json(output)

    def get_job(self, job_id: str) -> Job:
        return Job.from_json(self._call("GET", _job_path(job_id), retry=Retry.SAFE))

    def list_jobs(
        self,
        page_no: int = 1,
        page_size: int = 10,
        status: JobStatus | str | None = None,
        model_name: str | None = None,
        base_model: str | None = None,
    ) -> JobPage:
        """One page of the caller's jobs, newest first; `model_name` matches the generated name exactly.

        `base_model` (a base id) is a modelport extension; DashScope ignores it.
        """
        params: dict[str, str | int] = {"page_no": page_no, "page_size": page_size}
        if status is not None:
            params["status"] = _status_filter(status)
        if model_name is not None:
            params["model_name"] = model_name
        if base_model is not None:
            params["base_model"] = base_model
        output = self._call("GET", IMPORT_PATH, params=params, retry=Retry.SAFE)
        return JobPage.from_json(output, page_no=page_no, page_size=page_size)

    def iter_jobs(
        self,
        status: JobStatus | str | None = None,
        model_name: str | None = None,
        page_size: int = 100,
        base_model: str | None = None,
    ) -> Iterator[Job]:
        """Every matching job, newest first, page by page.

        Jobs created while iterating push older ones onto later pages; a job already yielded is
        not yielded again.
        """
        seen: set[str] = set()
        page_no = 1
        while True:
            page = self.list_jobs(
                page_no=page_no, page_size=page_size, status=status, model_name=model_name, base_model=base_model
            )
            for job in page.jobs:
                if job.job_id not in seen:
                    seen.add(job.job_id)
                    yield job
            if not page.has_next:
                return
            page_no += 1

    def delete_job(self, job_id: str) -> Job:
        """Delete a finished job and its imported model; returns the job as it was."""
        return Job.from_json(self._call("DELETE", _job_path(job_id), retry=Retry.UNSENT))

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job (a modelport extension): a PENDING one ends at once, a RUNNING one within
        seconds, FAILED with error_code "Cancelled by the user."; returns the job as it is now (a
        RUNNING job is still RUNNING until its worker stops it). OperationDenied if it had finished."""
        return Job.from_json(self._call("POST", f"{_job_path(job_id)}/cancel", retry=Retry.UNSENT))

    def wait_for_job(
        self,
        job_id: str,
        interval: float = 10.0,
        timeout: float | None = None,
        on_status: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll until the job is SUCCESSED or FAILED and return it; WaitTimeout after `timeout` seconds.

        `on_status` is called with the job whenever its status changes (and on the first poll).
        """
        last: Job | None = None
        for snapshot in self.follow_job(job_id, interval=interval, timeout=timeout):
            if on_status is not None and (last is None or last.status != snapshot.job.status):
                on_status(snapshot.job)
            last = snapshot.job
        assert last is not None  # follow_job yields at least once or raises
        return last

    def follow_job(
        self, job_id: str, *, interval: float = 10.0, timeout: float | None = None, with_progress: bool = False
    ) -> Iterator[Snapshot]:
        """Yield a snapshot per poll until the job is terminal (the last one yielded); see `waiting`."""
        return follow(self, job_id, interval=interval, timeout=timeout, with_progress=with_progress, sleep=self._sleep)

    # -- modelport's extension routes --------------------------------------------------------------

    def validate(
        self, base_model: str, weight_type: str, bucket: str, object_key: str, display_name: str | None = None
    ) -> Report:
        """Dry run: check the upload as an import would, without creating a job or copying bytes."""
        check_import_arguments(base_model, weight_type, bucket, object_key, display_name)
        body = import_body(base_model, weight_type, bucket, object_key, display_name)
        return Report.from_json(self._call("POST", f"{IMPORT_PATH}/validate", json=body, retry=Retry.SAFE))

    def report(self, job_id: str) -> Report:
        """A job's validation report, with the job and its live progress."""
        return Report.from_json(self._call("GET", f"{_job_path(job_id)}/report", retry=Retry.SAFE))

    def base_models(self) -> BaseModelList:
        return BaseModelList.from_json(self._call("GET", BASE_MODELS_PATH, retry=Retry.SAFE))

    # -- transport ---------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        retry: Retry,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The `output` of a success envelope; raises the typed error of anything else."""
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.TransportError as error:
                if attempt < self.retries and _may_retry_error(retry, error):
                    attempt += 1
                    self._back_off(method, path, type(error).__name__, attempt)
                    continue
                raise NetworkError(f"Could not reach {self.base_url} ({type(error).__name__}: {error}).") from error
            if response.status_code >= 500 and retry is Retry.SAFE and attempt < self.retries:
                attempt += 1
                self._back_off(method, path, f"HTTP {response.status_code}", attempt)
                continue
            return read_output(response)

    def _back_off(self, method: str, path: str, reason: str, attempt: int) -> None:
        delay = min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        logger.debug(
            "retrying %s %s after %s (retry %d of %d, in %.2fs)", method, path, reason, attempt, self.retries, delay
        )
        if delay > 0:
            self._sleep(delay)


def _may_retry_error(retry: Retry, error: httpx.TransportError) -> bool:
    if retry is Retry.SAFE:
        return isinstance(error, _RETRYABLE_ERRORS)
    if retry is Retry.UNSENT:
        return isinstance(error, _UNSENT_ERRORS)
    return False


def _job_path(job_id: str) -> str:
    if not job_id or not job_id.strip():
        raise InvalidArgument("The job id is empty.")
    return f"{IMPORT_PATH}/{quote(job_id.strip(), safe='')}"


def _status_filter(status: JobStatus | str) -> str:
    """The wire spelling for a known status (SUCCESSED); anything else is sent as given."""
    parsed = status if isinstance(status, JobStatus) else JobStatus.parse(status)
    return str(status) if parsed is JobStatus.UNKNOWN else parsed.value

"""The Python client without a server: tolerant parsing of results, the retry policy per method, and
the table from error bodies to exception classes, through httpx's transport interface (a real server
cannot be made to answer 5xx or drop a connection on demand)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from modelport.client import (
    ApiError,
    Client,
    InternalError,
    InvalidParameter,
    Job,
    JobPage,
    JobStatus,
    NetworkError,
    NotFound,
    Report,
    Throttling,
    UnexpectedResponse,
)
from tests.support.server import TEST_KEY

API_KEY = TEST_KEY
BUCKET = "e2e-bucket"
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"


# -- result parsing ----------------------------------------------------------------------------------


def test_status_spellings_normalise_to_one_enum() -> None:
    for spelling in ("SUCCESSED", "SUCCEEDED", "succeeded", " Successed "):
        assert JobStatus.parse(spelling) is JobStatus.SUCCEEDED
    assert JobStatus.parse("failed") is JobStatus.FAILED and JobStatus.FAILED.failed
    assert JobStatus.parse("CANCELED") is JobStatus.UNKNOWN and not JobStatus.UNKNOWN.is_terminal
    assert [s for s in JobStatus if s.is_terminal] == [JobStatus.SUCCEEDED, JobStatus.FAILED]


def test_results_tolerate_unknown_and_missing_fields() -> None:
    job = Job.from_json({"job_id": "j", "model_name": "m", "status": "SUCCEEDED", "new_field": [1]})
    assert job.succeeded and job.display_name is None and job.storage_info is None and job.created_at is None
    assert job.raw["new_field"] == [1] and job.status_text == "SUCCEEDED"
    odd = Job.from_json(
        {"job_id": "j", "model_name": "m", "status": "QUEUING", "gmt_create": "2024-01-01T12:00:00.000+00:00"}
    )
    assert odd.status is JobStatus.UNKNOWN and odd.status_text == "QUEUING" and odd.created_at is not None
    with pytest.raises(ApiError, match="job_id, model_name and status"):
        Job.from_json({"job_id": "j", "status": "RUNNING"})
    page = JobPage.from_json({"list": [], "total": 0}, page_no=3, page_size=7)
    assert (page.page_no, page.page_size, page.has_next) == (3, 7, False)
    report = Report.from_json({"verdict": "passed", "findings": [{"code": "x.y", "severity": "warning"}, "junk"]})
    assert report.passed and report.warnings[0].code == "x.y" and report.errors == () and report.files == ()
    assert report.job is None and report.progress is None and report.source_url is None


# -- retries and the error table, through the transport interface -----------------------------------

TEST_URL = "http://modelport.test"
JOB = {"job_id": UNKNOWN_JOB, "model_name": "m", "status": "FAILED", "error_code": "why"}


def scripted(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next scripted response (or raising the exception)."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def envelope(status: int, **body: Any) -> httpx.Response:
    return httpx.Response(status, json={"request_id": "r-1", **body})


def test_retries_follow_the_method(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    down = envelope(500, code="InternalError", message="boom")
    transport, seen = scripted(down, httpx.Response(502, text="<html>bad gateway</html>"), envelope(200, output=JOB))
    with Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client:
        assert client.get_job(UNKNOWN_JOB).failed
    assert len(seen) == 3
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["user-agent"].startswith("modelport-client/")
    assert request.headers["content-type"] == "application/json"

    transport, seen = scripted(down, down, down)
    with (
        Client(TEST_URL, API_KEY, transport=transport, backoff=0, retries=2) as client,
        pytest.raises(InternalError) as caught,
    ):
        client.list_jobs()
    assert len(seen) == 3 and caught.value.request_id == "r-1" and caught.value.http_status == 500

    # A create carries an Idempotency-Key, the same on every retry, so retrying it is safe.
    transport, seen = scripted(down, httpx.ReadTimeout("answer lost"), envelope(200, output=JOB))
    with Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client:
        assert client.create_job("qwen3-8b", "lora", BUCKET, "x/").job_id == JOB["job_id"]
    keys = {request.headers["idempotency-key"] for request in seen}
    assert len(seen) == 3 and len(keys) == 1 and keys.pop().startswith("modelport-client-")
    transport, seen = scripted(envelope(200, output=JOB), envelope(200, output=JOB))
    with Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client:
        client.create_job("qwen3-8b", "lora", BUCKET, "x/")
        client.create_job("qwen3-8b", "lora", BUCKET, "x/", idempotency_key="run-42")
    assert seen[0].headers["idempotency-key"] != "run-42" and seen[1].headers["idempotency-key"] == "run-42"

    throttled = envelope(429, code="Throttling", message="max_pending is 1")
    transport, seen = scripted(throttled, envelope(200, output=JOB))
    with Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client, pytest.raises(Throttling) as limit:
        client.create_job("qwen3-8b", "lora", BUCKET, "x/")
    assert len(seen) == 1 and limit.value.http_status == 429  # a limit does not clear in seconds

    for lost in (httpx.ReadTimeout("no answer"), down):
        transport, seen = scripted(lost, envelope(200, output=JOB))
        with (
            Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client,
            pytest.raises((ApiError, NetworkError)),
        ):
            client.cancel_job(UNKNOWN_JOB)
        assert len(seen) == 1 and seen[0].url.path.endswith("/cancel")  # the first cancel may have happened

    refused = httpx.ConnectError("connection refused")
    transport, seen = scripted(refused, envelope(200, output=JOB))
    with Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client:
        assert client.delete_job(UNKNOWN_JOB).job_id == UNKNOWN_JOB
    assert len(seen) == 2  # never connected: safe to send again

    for lost in (httpx.ReadTimeout("no answer"), down):
        transport, seen = scripted(lost, envelope(200, output=JOB))
        with (
            Client(TEST_URL, API_KEY, transport=transport, backoff=0) as client,
            pytest.raises((ApiError, NetworkError)),
        ):
            client.delete_job(UNKNOWN_JOB)
        assert len(seen) == 1  # the first DELETE may have happened
    assert "retrying GET /api/v1/custom_models/import/" in caplog.text and API_KEY not in caplog.text


def test_error_bodies_map_to_classes() -> None:
    nested = {"error": {"type": "InvalidParameter", "message": "bad"}}
    cases: list[tuple[httpx.Response, type[ApiError], str | None]] = [
        (
            httpx.Response(400, json={"code": "Arrearage", "message": "unpaid", "request_id": "r"}),
            ApiError,
            "Arrearage",
        ),
        (
            httpx.Response(429, json={"code": "Throttling", "message": "slow", "request_id": "r"}),
            Throttling,
            "Throttling",
        ),
        (httpx.Response(200, text="not json"), UnexpectedResponse, None),
        (httpx.Response(200, json={"request_id": "r", "output": []}), UnexpectedResponse, None),
        (httpx.Response(503, text="<html>down</html>"), InternalError, None),
        (httpx.Response(404, text="<html>nope</html>"), NotFound, None),
        (httpx.Response(400, json=nested), InvalidParameter, "InvalidParameter"),
        (httpx.Response(403, json={"code": "AccessDenied", "message": "no"}), ApiError, "AccessDenied"),
    ]
    for response, kind, code in cases:
        transport, _ = scripted(response)
        with Client(TEST_URL, API_KEY, transport=transport, retries=0) as client, pytest.raises(kind) as caught:
            client.get_job(UNKNOWN_JOB)
        assert type(caught.value) is kind and caught.value.code == code

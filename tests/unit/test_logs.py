"""JSON log lines carry the request and job ids of the context they are written in."""

from __future__ import annotations

import json
import logging

import pytest

from modelport.logs import configure_logging, current_job_id, current_request_id


def test_json_lines_carry_context_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        token = current_request_id.set("req-1")
        job_token = current_job_id.set("job-9")
        logging.getLogger("modelport.test").warning("hello %s", "world")
        current_request_id.reset(token)
        current_job_id.reset(job_token)
        logging.getLogger("modelport.test").info("outside")
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines())
    assert first["message"] == "hello world" and first["level"] == "warning"
    assert (first["request_id"], first["job_id"]) == ("req-1", "job-9")
    assert "request_id" not in second and "job_id" not in second

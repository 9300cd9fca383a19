"""The client verbs and the Python client against real `modelport serve` processes.

Every exit code, the follow loops, paging, delete, the dry run and base-models run the CLI as
real processes (`python -m modelport ...`), several side by side. Each process pays the start-up
of the whole package, so the finer checks of usage rules and rendering invoke the same commands
in this process through click's runner, still against the real servers. The client's and the
CLI's pure unit tests (parsing, retries, usage rules, help) are in tests/unit.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from click.testing import Result

from modelport.client import (
    ApiError,
    Client,
    InvalidApiKey,
    InvalidArgument,
    InvalidParameter,
    Job,
    JobStatus,
    MissingApiKey,
    NetworkError,
    NotFound,
    OperationDenied,
    WaitTimeout,
)
from tests.e2e.conftest import API_KEY, BUCKET, ServerProcess, cli_command, cli_env
from tests.support.cli import invoke
from tests.support.server import free_port

pytestmark = pytest.mark.slow

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"
WRONG_KEY = "sk-" + "w" * 40
UPLOAD = ["--base-model", "qwen3-8b", "--weight-type", "lora", "--bucket", BUCKET]
FOLLOW = ["--follow", "--interval", "0.2"]
WAIT_BRIEFLY = ["--interval", "0.2", "--timeout", "0.3", "--json"]


def run_many(cases: dict[str, tuple[str, str | None, list[str]]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run `modelport ARGS` for each (base_url, api_key, args) at once; results by case name."""

    def run(case: tuple[str, str | None, list[str]]) -> subprocess.CompletedProcess[str]:
        base_url, key, args = case
        return subprocess.run(
            cli_command(args), env=cli_env(base_url, key), capture_output=True, text=True, timeout=60, check=False
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, case) for name, case in cases.items()}
        return {name: future.result() for name, future in futures.items()}


def error_of(result: subprocess.CompletedProcess[str] | Result) -> dict[str, Any]:
    """The `error` object of a --json failure, checked against the exit code."""
    document = json.loads(result.stdout)
    assert set(document) == {"error"}, document
    error: dict[str, Any] = document["error"]
    code = result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code
    assert error["exit_code"] == code
    return error


def finished_job(server: ServerProcess, prefix: str) -> Job:
    with server.client() as client:
        job = client.create_job("qwen3-8b", "lora", BUCKET, prefix)
        return client.wait_for_job(job.job_id, interval=0.1, timeout=30)


# -- the CLI -----------------------------------------------------------------------------------------


def test_exit_code_matrix(importing_server: ServerProcess, idle_server: ServerProcess) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: a request would end in exit 6
    live, idle = importing_server.base_url, idle_server.base_url
    with idle_server.client() as client:
        pending = client.create_job("qwen3-8b", "lora", BUCKET, "never-imported/")
    results = run_many(
        {
            "api_error": (live, API_KEY, ["get", "--job-id", UNKNOWN_JOB]),
            "usage": (closed, API_KEY, ["import", *UPLOAD, "--object-key", "models/lora"]),
            "no_key": (closed, None, ["list"]),
            "rejected_key_json": (live, WRONG_KEY, ["import", *UPLOAD, "--object-key", "good/", "--json"]),
            "timeout": (idle, API_KEY, ["watch", "--job-id", pending.job_id, *FOLLOW, "--timeout", "0.5"]),
            "network": (closed, API_KEY, ["import", *UPLOAD, "--object-key", "good/"]),
            "no_yes": (closed, API_KEY, ["delete", "--job-id", pending.job_id]),
        }
    )
    codes = {name: result.returncode for name, result in results.items()}
    assert codes == {
        "api_error": 1,
        "usage": 2,
        "no_key": 3,
        "rejected_key_json": 3,
        "timeout": 5,
        "network": 6,
        "no_yes": 7,
    }, {name: results[name].stderr for name in results}

    human = results["api_error"]
    assert human.stdout == ""
    assert "NotFound" in human.stderr and "HTTP 404" in human.stderr and UUID.search(human.stderr)
    # 2, 3 and 7 against a closed port: had anything been sent, the exit code would be 6.
    assert "ending with '/'" in results["usage"].stderr
    assert "No API key found" in results["no_key"].stderr
    error = error_of(results["rejected_key_json"])
    assert error["code"] == "InvalidApiKey" and error["http_status"] == 401
    assert WRONG_KEY not in results["rejected_key_json"].stdout + results["rejected_key_json"].stderr
    assert "did not finish within 0.5 s" in results["timeout"].stderr
    assert f"modelport watch --job-id {pending.job_id} --follow" in results["timeout"].stderr
    assert "Could not reach" in results["network"].stderr and closed in results["network"].stderr
    assert "--yes" in results["no_yes"].stderr
    with idle_server.client() as client:
        assert client.get_job(pending.job_id).status is JobStatus.PENDING


def test_errors_as_json_documents(importing_server: ServerProcess, idle_server: ServerProcess) -> None:
    missing = invoke(importing_server.base_url, API_KEY, ["get", "--job-id", UNKNOWN_JOB, "--json"])
    error = error_of(missing)
    assert error["code"] == "NotFound" and error["http_status"] == 404 and UUID.fullmatch(error["request_id"])
    assert missing.stderr == ""
    slow = ["import", *UPLOAD, "--object-key", "slow/", "--wait", *WAIT_BRIEFLY]
    error = error_of(invoke(idle_server.base_url, API_KEY, slow))
    assert error["code"] == "Timeout" and error["exit_code"] == 5
    assert error["last_status"] == "PENDING" and UUID.fullmatch(error["job_id"])


def test_import_wait_prints_the_finished_job(importing_server: ServerProcess) -> None:
    wait = ["--wait", "--interval", "0.2", "--json"]
    result = importing_server.run("import", *UPLOAD, "--object-key", "good/", "--display-name", "e2e wait", *wait)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["status"] == "SUCCESSED" and job["display_name"] == "e2e wait"
    assert job["model_name"].startswith("qwen3-8b-offline-")


def test_watch_follow_exits_0_on_success_and_1_on_failure(importing_server: ServerProcess) -> None:
    with importing_server.client() as client:
        good = client.create_job("qwen3-8b", "lora", BUCKET, "good/")
        bad = client.create_job("qwen3-8b", "lora", BUCKET, "bad/")
    follow = ["--follow", "--interval", "0.2", "--timeout", "60"]
    results = run_many(
        {
            "good": (importing_server.base_url, API_KEY, ["watch", "--job-id", good.job_id, *follow]),
            "bad": (importing_server.base_url, API_KEY, ["watch", "--job-id", bad.job_id, *follow]),
        }
    )
    assert results["good"].returncode == 0, results["good"].stderr
    assert f"{good.job_id} SUCCESSED: model {good.model_name} is ready" in results["good"].stdout
    assert re.search(r"^\d\d:\d\d:\d\d  SUCCESSED  succeeded 100%", results["good"].stdout, re.MULTILINE)
    assert "\r" not in results["good"].stdout  # not a terminal: plain lines only

    assert results["bad"].returncode == 1, results["bad"].stderr
    assert f"{bad.job_id} FAILED: adapter_config.json: r is 12" in results["bad"].stdout
    assert f"modelport report --job-id {bad.job_id}" in results["bad"].stdout


def test_watch_follow_draws_a_live_line_on_a_terminal(importing_server: ServerProcess) -> None:
    with importing_server.client() as client:
        job = client.create_job("qwen3-8b", "lora", BUCKET, "good/")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        cli_command(["watch", "--job-id", job.job_id, "--follow", "--interval", "0.2", "--timeout", "60"]),
        env=cli_env(importing_server.base_url, API_KEY),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = output.decode()
    assert "\r\x1b[2K" + job.job_id[:8] in text
    assert "[" + "#" * 24 + "] 100%" in text
    assert "ready to deploy" in text


def test_list_pages_and_all(idle_server: ServerProcess) -> None:
    with idle_server.client() as client:
        for number in range(5):
            client.create_job("qwen3-8b", "lora", BUCKET, f"list-{number}/")
        expected = [job.job_id for job in client.list_jobs(page_size=100).jobs]
    every = idle_server.run("list", "--all", "--page-size", "2", "--json")
    assert every.returncode == 0, every.stderr
    everything = json.loads(every.stdout)
    assert [job["job_id"] for job in everything["list"]] == expected
    assert everything["total"] == len(expected) >= 5

    page = invoke(idle_server.base_url, API_KEY, ["list", "--page-size", "2", "--status", "pending"])
    assert page.exit_code == 0, page.output
    lines = page.stdout.splitlines()
    assert lines[0].split() == ["JOB", "ID", "STATUS", "MODEL", "NAME", "CREATED", "(UTC)"]
    assert [line.split()[0] for line in lines[1:3]] == expected[:2]
    assert lines[3] == f"Jobs 1-2 of {len(expected)}. Next page: --page-no 2 (or --all)."
    past_end = invoke(idle_server.base_url, API_KEY, ["list", "--page-no", "999", "--json"])
    assert json.loads(past_end.stdout)["list"] == []


def test_list_by_base_model(idle_server: ServerProcess) -> None:
    with idle_server.client() as client:
        fourteen = client.create_job("qwen3-14b", "lora", BUCKET, "by-base/")
        assert [job.job_id for job in client.iter_jobs(base_model="qwen3-14b")] == [fourteen.job_id]
    shown = idle_server.run("list", "--base-model", "qwen3-14b", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [job["job_id"] for job in json.loads(shown.stdout)["list"]] == [fourteen.job_id]


def test_get_delete_and_report(importing_server: ServerProcess, idle_server: ServerProcess) -> None:
    failed = finished_job(importing_server, "bad/")
    got = invoke(importing_server.base_url, API_KEY, ["get", "--job-id", failed.job_id])
    assert got.exit_code == 0, got.output
    assert "Status:        FAILED\n" in got.stdout
    assert "Reason:        adapter_config.json: r is 12" in got.stdout
    report = invoke(importing_server.base_url, API_KEY, ["report", "--job-id", failed.job_id])
    assert report.exit_code == 0, report.output
    assert "[lora.rank_not_allowed]" in report.stdout and "Progress: failed" in report.stdout

    with idle_server.client() as client:
        pending = client.create_job("qwen3-8b", "lora", BUCKET, "busy/")
    denied = invoke(idle_server.base_url, API_KEY, ["delete", "--job-id", pending.job_id, "--yes"])
    assert denied.exit_code == 1
    assert "OperationDenied: The import job is currently running" in denied.stderr

    deleted = importing_server.run("delete", "--job-id", failed.job_id, "--yes", "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["status"] == "FAILED"
    with importing_server.client() as client, pytest.raises(NotFound):
        client.get_job(failed.job_id)


def test_import_without_wait_and_watch_without_follow(
    importing_server: ServerProcess, idle_server: ServerProcess
) -> None:
    created = invoke(idle_server.base_url, API_KEY, ["import", *UPLOAD, "--object-key", "plain/"])
    assert created.exit_code == 0, created.output
    assert "Status:        PENDING\n" in created.stdout and "Weight type:   lora\n" in created.stdout
    job_id = UUID.search(created.stdout)
    assert job_id is not None
    assert f"Follow it with: modelport watch --job-id {job_id.group()} --follow" in created.stdout

    look = invoke(idle_server.base_url, API_KEY, ["watch", "--job-id", job_id.group()])
    assert look.exit_code == 0, look.output
    assert "Status:        PENDING\n" in look.stdout and "Progress:      queued\n" in look.stdout
    failed = finished_job(importing_server, "bad/")
    look = invoke(importing_server.base_url, API_KEY, ["watch", "--job-id", failed.job_id])
    assert look.exit_code == 1 and "Reason:        adapter_config.json: r is 12" in look.stdout


def test_validate_is_a_dry_run(importing_server: ServerProcess) -> None:
    with importing_server.client() as client:
        before = client.list_jobs().total
    bad = importing_server.run("validate", *UPLOAD, "--object-key", "bad/")
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.startswith("Verdict: FAILED (1 error, 0 warnings)")
    assert "[lora.rank_not_allowed] adapter_config.json: r is 12" in bad.stdout
    assert re.search(r"adapter_model\.safetensors\s+\d+\.\d MiB\s+accepted\s+weights", bad.stdout)
    assert re.search(r"README\.md\s+72 B\s+ignored\s+docs", bad.stdout)
    good = invoke(importing_server.base_url, API_KEY, ["validate", *UPLOAD, "--object-key", "good/", "--json"])
    assert good.exit_code == 0, good.output
    report = json.loads(good.stdout)
    assert report["verdict"] == "passed" and report["findings"] == []
    assert {entry["path"] for entry in report["files"]} >= {"adapter_config.json", "adapter_model.safetensors"}
    with importing_server.client() as client:
        assert client.list_jobs().total == before


def test_base_models(importing_server: ServerProcess) -> None:
    result = importing_server.run("base-models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "WEIGHT", "TYPES", "PARAMETERS", "VISION"]
    assert re.search(r"^qwen3-8b\s+qwen3\s+full, lora\s+8\.19B\s+no$", result.stdout, re.MULTILINE)
    assert re.search(r"^qwen3-vl-8b-instruct\s+.*\byes$", result.stdout, re.MULTILINE)
    as_json = json.loads(invoke(importing_server.base_url, API_KEY, ["base-models", "--json"]).stdout)
    assert as_json["total"] == len(as_json["list"]) and "qwen3-8b" in {model["id"] for model in as_json["list"]}


# -- the Python client -------------------------------------------------------------------------------


def test_client_raises_one_class_per_wire_code(importing_server: ServerProcess, idle_server: ServerProcess) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with idle_server.client() as idle, Client(idle_server.base_url, WRONG_KEY) as stranger:
        pending = idle.create_job("qwen3-8b", "lora", BUCKET, "busy/")
        expectations: list[tuple[Callable[[], object], type[ApiError], str, int]] = [
            (lambda: idle.get_job(UNKNOWN_JOB), NotFound, "NotFound", 404),
            (lambda: idle.create_job("qwen9-1b", "lora", BUCKET, "x/"), NotFound, "NotFound", 404),
            (lambda: idle.create_job("qwen3-8b", "lora", "No_Bucket", "x/"), InvalidParameter, "InvalidParameter", 400),
            (lambda: idle.list_jobs(page_size=101), InvalidParameter, "InvalidParameter", 400),
            (lambda: idle.delete_job(pending.job_id), OperationDenied, "OperationDenied", 400),
            (lambda: stranger.base_models(), InvalidApiKey, "InvalidApiKey", 401),
        ]
        for call, kind, code, status in expectations:
            with pytest.raises(kind) as caught:
                call()
            error = caught.value
            assert (error.code, error.http_status) == (code, status)
            assert UUID.fullmatch(error.request_id or "") and error.message
            assert code in str(error) and error.request_id in str(error)
            assert WRONG_KEY not in str(error) + repr(error) and API_KEY not in str(error) + repr(error)

    with Client(closed, API_KEY, retries=0) as unreachable:
        with pytest.raises(NetworkError, match="Could not reach"):
            unreachable.get_job(UNKNOWN_JOB)
        with pytest.raises(InvalidArgument, match="ending with '/'"):
            unreachable.create_job("qwen3-8b", "lora", BUCKET, "no-slash")  # nothing sent, or NetworkError
        assert API_KEY not in repr(unreachable) and API_KEY not in repr(unreachable._http.headers)
    with pytest.raises(MissingApiKey):
        Client(closed, env={})
    with Client(env={"DASHSCOPE_API_KEY": API_KEY, "MODELPORT_BASE_URL": closed + "/"}) as from_env:
        assert from_env.base_url == closed


def test_client_iterates_every_page(idle_server: ServerProcess) -> None:
    with idle_server.client() as client:
        for number in range(3):
            client.create_job("qwen3-8b", "lora", BUCKET, f"iter-{number}/", display_name=f"iter {number}")
        everything = client.list_jobs(page_size=100)
        iterated = list(client.iter_jobs(page_size=2))
        pending = list(client.iter_jobs(status=JobStatus.PENDING, page_size=3))
    assert [job.job_id for job in iterated] == [job.job_id for job in everything.jobs]
    assert len(iterated) == everything.total >= 3
    assert [job.job_id for job in pending] == [job.job_id for job in iterated]
    assert iterated[0].display_name == "iter 2" and iterated[0].weight_type is None


def test_client_wait_for_job(importing_server: ServerProcess, idle_server: ServerProcess) -> None:
    seen: list[JobStatus] = []
    with importing_server.client() as client:
        created = client.create_job("qwen3-8b", "lora", BUCKET, "good/")
        assert created.status is JobStatus.PENDING and created.weight_type == "lora"
        done = client.wait_for_job(
            created.job_id, interval=0.1, timeout=30, on_status=lambda job: seen.append(job.status)
        )
    assert done.succeeded and done.is_terminal and not done.failed
    assert seen[-1] is JobStatus.SUCCEEDED and len(seen) == len(set(seen))

    with idle_server.client() as client:
        pending = client.create_job("qwen3-8b", "lora", BUCKET, "waits/")
        started = time.monotonic()
        with pytest.raises(WaitTimeout) as caught:
            client.wait_for_job(
                pending.job_id, interval=0.05, timeout=0.3, on_status=lambda job: seen.append(job.status)
            )
    assert 0.3 <= time.monotonic() - started < 10
    assert caught.value.job_id == pending.job_id and caught.value.last_status == "PENDING"
    assert isinstance(caught.value, TimeoutError) and seen[-1] is JobStatus.PENDING


def test_cancel_ends_a_pending_job_and_refuses_a_finished_one(idle_server: ServerProcess) -> None:
    with idle_server.client() as client:
        pending = client.create_job("qwen3-8b", "lora", BUCKET, "cancel-me/")
    cancelled = invoke(idle_server.base_url, API_KEY, ["cancel", "--job-id", pending.job_id, "--wait"])
    assert cancelled.exit_code == 0, cancelled.output
    assert f"Cancelled import job {pending.job_id}: FAILED, Cancelled by the user." in cancelled.stdout
    again = invoke(idle_server.base_url, API_KEY, ["cancel", "--job-id", pending.job_id, "--json"])
    assert again.exit_code == 1 and error_of(again)["code"] == "OperationDenied"
    with idle_server.client() as client:
        job = client.get_job(pending.job_id)
        assert (job.status, job.error_code) == (JobStatus.FAILED, "Cancelled by the user.")
        with pytest.raises(NotFound):
            client.cancel_job(UNKNOWN_JOB)

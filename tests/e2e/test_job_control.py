"""Job control against real processes on PostgreSQL: a cancel reaching a job that another process's
worker holds, a create retried after its answer was lost, and one workspace's flood not delaying
another's job by more than one import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.client import Client
from modelport.settings import normalize_database_url
from tests.e2e.test_scale_out import shared_env, start_worker, stop_gracefully
from tests.e2e.test_serve import IMPORT, no_staging_left
from tests.support.dropping_proxy import DroppingProxy
from tests.support.server import TEST_KEY, Server, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CANCELLED = "Cancelled by the user."
# 64 KiB/s: a rank-32 adapter (about 60 MB) copies for a quarter of an hour, so the job is surely
# still copying when the cancel arrives, however loaded the machine is.
SLOW = {"MODELPORT_MAX_BYTES_PER_SECOND": str(64 * 1024), "MODELPORT_CHUNK_BYTES": str(64 * 1024)}


def lora_body(prefix: str, bucket: str = "shared") -> dict[str, object]:
    return {
        "model_name": "qwen3-8b",
        "source": "oss",
        "weight_type": "lora",
        "storage_info": {"bucket_name": bucket, "object_key": prefix},
    }


def write_lora(data_dir: Path, prefix: str, rank: int = 8) -> None:
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(data_dir / "buckets" / "shared" / prefix, "qwen3-8b", base.architecture, rank=rank)


def test_a_cancel_stops_a_job_that_a_worker_in_another_process_is_copying(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    write_lora(data_dir, "big/", rank=32)
    env = shared_env(fresh_postgres_url, data_dir, **SLOW)
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    worker = start_worker(env, data_dir, 0, concurrency=1)
    try:
        created = api.call("POST", IMPORT, json=lora_body("big/")).json()["output"]
        job_id, model_name = created["job_id"], created["model_name"]
        wait_for(lambda: api.progress(job_id)["phase"] == "copying" and api.progress(job_id)["bytes_done"] > 0, 120)
        # The CLI a user would run, as its own process, against the API process.
        cancel = subprocess.run(
            [sys.executable, "-m", "modelport", "cancel", "--job-id", job_id],
            env={"PATH": "/usr/bin:/bin", "MODELPORT_BASE_URL": api.base_url, "MODELPORT_API_KEY": TEST_KEY},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cancel.returncode == 0, cancel.stderr
        assert "Asked the worker" in cancel.stdout
        ended = api.wait_terminal(job_id, timeout=60)
        assert (ended["status"], ended["error_code"]) == ("FAILED", CANCELLED)
        report = api.call("GET", f"{IMPORT}/{job_id}/report").json()["output"]
        assert report["verdict"] == "cancelled"
        assert "cancelled by the user" in wait_for(lambda: "cancelled by" in worker.output() and worker.output(), 30)
        # Nothing was published and the attempt's staging is gone.
        assert not (data_dir / "models" / model_name).exists()
        wait_for(lambda: no_staging_left(data_dir), 30)
        # Its one slot is free again: the next job starts on it.
        nxt = api.call("POST", IMPORT, json=lora_body("big/")).json()["output"]["job_id"]
        wait_for(lambda: api.job(nxt)["status"] == "RUNNING", 60)
        assert stop_gracefully(worker) == 0
    finally:
        worker.kill()
        api.terminate()


def test_a_create_whose_answer_was_lost_is_retried_into_the_same_job(fresh_postgres_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_lora(data_dir, "lora/")
    api = Server(data_dir, shared_env(fresh_postgres_url, data_dir), extra_args=["--no-worker"]).start()
    try:
        with DroppingProxy(api.port, drop_first=1) as proxy, Client(proxy.base_url, TEST_KEY, backoff=0.05) as client:
            job = client.create_job("qwen3-8b", "lora", "shared", "lora/")
            assert len(proxy.requests) == 2, "the first answer was not lost, so nothing was retried"
        keys = {
            line for request in proxy.requests for line in request.split(b"\r\n") if b"idempotency-key" in line.lower()
        }
        assert len(keys) == 1, keys  # the retry sent the first attempt's key
        listed = api.call("GET", IMPORT).json()["output"]
        assert listed["total"] == 1 and listed["list"][0]["job_id"] == job.job_id
    finally:
        api.terminate()


def test_one_workspaces_flood_delays_another_workspaces_job_by_one_import(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    write_lora(data_dir, "lora/")
    env = shared_env(fresh_postgres_url, data_dir)
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    other_key = (
        subprocess.run(
            [sys.executable, "-m", "modelport", "keys", "create", "--workspace", "quiet"],
            env={"PATH": "/usr/bin:/bin", **env, "MODELPORT_API_KEY": ""},
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    flood = [api.call("POST", IMPORT, json=lora_body("lora/")).json()["output"]["job_id"] for _ in range(30)]
    worker = start_worker(env, data_dir, 0, concurrency=1)
    try:
        wait_for(lambda: api.job(flood[1])["status"] != "PENDING", 120)  # the flood is being worked through
        started_before = set(started_order(fresh_postgres_url))
        assert len(flood) - len(started_before) >= 20, "the flood drained before the test could time anything"
        with Client(api.base_url, other_key) as quiet:
            mine = quiet.create_job("qwen3-8b", "lora", "shared", "lora/").job_id
            assert quiet.wait_for_job(mine, interval=0.2, timeout=300).succeeded
        assert stop_gracefully(worker) == 0
    finally:
        worker.kill()
        api.terminate()
    order = started_order(fresh_postgres_url)
    ahead = order[: order.index(mine)]
    # With one worker slot the quiet workspace's job waits for the import running when it arrived,
    # and at most one more that was being claimed at that instant, not for the 20-odd still queued.
    delayed_by = [job for job in ahead if job in flood and job not in started_before]
    assert len(delayed_by) <= 1, f"{len(delayed_by)} of the flood's jobs started between its creation and its start"


def started_order(database_url: str) -> list[str]:
    engine = create_engine(normalize_database_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT job_id FROM import_jobs WHERE started_at_ms IS NOT NULL ORDER BY started_at_ms, job_id")
        ).all()
    engine.dispose()
    return [row.job_id for row in rows]

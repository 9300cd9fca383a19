"""Many processes on one PostgreSQL: API replicas without workers, worker processes, and SIGKILL.

What must hold whatever is killed and when: every accepted job ends terminal exactly once, every
SUCCESSED model's manifest verifies byte for byte, no staging data remains, and no job is imported
twice when nothing crashes.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.services import Services, open_services
from modelport.settings import Settings, normalize_database_url
from modelport.storage.opendal_models import OpenDalModelStore
from modelport.worker.reaper import Reaper
from tests.e2e.test_serve import IMPORT, MEDIUM_BASE, no_staging_left, verify_published_model
from tests.support import s3_server as moto
from tests.support.blobs import assert_blobs_match_manifests
from tests.support.s3_server import OPEN_KEY_ID, OPEN_SECRET, S3Server
from tests.support.server import TEST_KEY, ModelportProcess, Server, wait_for

s3_server = moto.s3_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def shared_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "MODELPORT_DATABASE_URL": database_url,
        "MODELPORT_DATA_DIR": str(data_dir),
        "MODELPORT_API_KEY": TEST_KEY,
        "MODELPORT_POLL_SECONDS": "0.1",
        "MODELPORT_LEASE_SECONDS": "2",
        **extra,
    }


def start_worker(env: dict[str, str], data_dir: Path, number: int, concurrency: int = 2) -> ModelportProcess:
    return ModelportProcess(
        ["worker", "--concurrency", str(concurrency), "--grace-seconds", "0"],
        {"PATH": "/usr/bin:/bin", **env},
        data_dir / f"worker-{number}.log",
    ).start()


def stop_gracefully(worker: ModelportProcess) -> int:
    """SIGTERM a worker once it runs its slots (a replacement may still be starting) and its exit code."""
    process = worker.process
    assert process is not None
    wait_for(lambda: "slot(s)" in worker.output() or process.poll() is not None, 60)
    return worker.terminate()


def create_jobs(api: Server, prefixes: list[tuple[str, str, str]], count: int) -> list[str]:
    job_ids = []
    for n in range(count):
        base, weight_type, prefix = prefixes[n % len(prefixes)]
        body = {
            "model_name": base,
            "source": "oss",
            "weight_type": weight_type,
            "storage_info": {"bucket_name": "shared", "object_key": prefix},
        }
        response = api.call("POST", IMPORT, json=body)
        assert response.status_code == 200, response.text
        job_ids.append(response.json()["output"]["job_id"])
    return job_ids


def job_rows(database_url: str) -> dict[str, tuple[str, int, str]]:
    engine = create_engine(normalize_database_url(database_url), isolation_level="REPEATABLE READ")
    with engine.begin() as connection:  # one snapshot for both reads, while workers keep writing
        rows = connection.execute(text("SELECT job_id, status, attempts, model_name FROM import_jobs")).all()
        counts = dict(connection.execute(text("SELECT status, sum(count) FROM job_counts GROUP BY status")).all())
    engine.dispose()
    actual = Counter(row.status for row in rows)
    assert {k: v for k, v in counts.items() if v} == dict(actual), "job_counts drifted from the rows"
    return {row.job_id: (row.status, row.attempts, row.model_name) for row in rows}


def prepare_uploads(data_dir: Path) -> list[tuple[str, str, str]]:
    samples.register_base(data_dir, "medium", MEDIUM_BASE)
    bucket = data_dir / "buckets" / "shared"
    medium = load_catalog(data_dir).get("medium")
    qwen = load_catalog(None).get("qwen3-8b")
    assert medium is not None and qwen is not None
    samples.write_full_checkpoint(bucket / "full/", medium.config, shards=3)
    samples.write_lora_adapter(bucket / "lora/", "qwen3-8b", qwen.architecture)
    return [("medium", "full", "full/"), ("qwen3-8b", "lora", "lora/")]


def started_lines(data_dir: Path) -> Counter[str]:
    starts: Counter[str] = Counter()
    for log in data_dir.glob("worker-*.log"):
        starts.update(re.findall(r"import ([0-9a-f-]{36}) started", log.read_text()))
    return starts


def test_several_workers_drain_many_jobs_and_none_is_imported_twice(fresh_postgres_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    uploads = prepare_uploads(data_dir)
    env = shared_env(fresh_postgres_url, data_dir)
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    job_ids = create_jobs(api, [uploads[1]], 60)  # small adapters: this test is about the queue
    workers = [start_worker(env, data_dir, n, concurrency=2) for n in range(3)]
    try:
        wait_for(lambda: all_terminal(fresh_postgres_url), 240)
    finally:
        exit_codes = [stop_gracefully(worker) for worker in workers]
        api.terminate()
    assert exit_codes == [0, 0, 0], "SIGTERM should stop an idle worker cleanly"
    rows = job_rows(fresh_postgres_url)
    assert sorted(rows) == sorted(job_ids)
    assert {status for status, _, _ in rows.values()} == {"SUCCESSED"}
    assert {attempts for _, attempts, _ in rows.values()} == {1}
    starts = started_lines(data_dir)
    assert set(starts) == set(job_ids) and set(starts.values()) == {1}
    assert sum(1 for w in workers if "started" in w.output()) >= 2, "the work should be spread over workers"
    for _, _, model_name in rows.values():
        verify_published_model(data_dir, model_name)


def test_a_separate_worker_claims_new_jobs_at_once_not_at_its_next_poll(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    uploads = prepare_uploads(data_dir)
    # A poll this long would fail the test: only the create's NOTIFY can wake the worker in time.
    env = shared_env(fresh_postgres_url, data_dir, MODELPORT_POLL_SECONDS="600")
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    worker = start_worker(env, data_dir, 0, concurrency=1)
    try:
        wait_for(lambda: "running 1 slot" in worker.output(), 60)
        first = create_jobs(api, [uploads[1]], 1)[0]
        assert api.wait_terminal(first, timeout=60)["status"] == "SUCCESSED"
        # The database drops the worker's LISTEN connection: it reconnects, and a job created
        # meanwhile is claimed by the catch-up after the reconnect if its notification was missed.
        engine = create_engine(normalize_database_url(fresh_postgres_url))
        with engine.begin() as connection:
            dropped = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            ).scalar_one()
        engine.dispose()
        assert dropped == 1
        second = create_jobs(api, [uploads[1]], 1)[0]
        assert api.wait_terminal(second, timeout=60)["status"] == "SUCCESSED"
    finally:
        assert worker.terminate() == 0
        api.terminate()
    assert "lost the LISTEN connection" in worker.output()


def test_sigkilled_workers_and_api_processes_lose_and_double_nothing(fresh_postgres_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    uploads = prepare_uploads(data_dir)
    env = shared_env(
        fresh_postgres_url,
        data_dir,
        MODELPORT_MAX_ATTEMPTS="50",
        MODELPORT_MAX_BYTES_PER_SECOND=str(24 * 1024 * 1024),
        MODELPORT_CHUNK_BYTES=str(256 * 1024),
    )
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    accepted = create_jobs(api, uploads, 12)
    api.kill()  # an API replica dies; what it accepted is in the database already
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    accepted += create_jobs(api, uploads, 8)

    workers = [start_worker(env, data_dir, n) for n in range(3)]
    try:
        kills = kill_workers_while_they_copy(
            api, accepted, workers, fresh_postgres_url, most=8, seed=20261128,
            replacement=lambda n: start_worker(env, data_dir, 2 + n),
        )  # fmt: skip
        wait_for(lambda: all_terminal(fresh_postgres_url), 300)
        # The survivors stop gracefully, so a worker that has just finished a job also finishes
        # sweeping that job's staging data (the crashed attempts'); after that nothing else would.
        assert [stop_gracefully(worker) for worker in workers] == [0] * len(workers)
    finally:
        for worker in workers:
            worker.kill()
        api.terminate()

    rows = job_rows(fresh_postgres_url)
    assert sorted(rows) == sorted(accepted), "an accepted job was lost"
    assert {status for status, _, _ in rows.values()} == {"SUCCESSED"}
    assert kills >= 3 and max(attempts for _, attempts, _ in rows.values()) >= 2, "the chaos never hit an import"
    for _, _, model_name in rows.values():
        verify_published_model(data_dir, model_name)
    published = {p.name for p in (data_dir / "models").iterdir() if not p.name.startswith(".")}
    assert published == {model_name for _, _, model_name in rows.values()}
    # A worker killed between finishing one job and sweeping its claims (its other slot was copying)
    # leaves them for the reaper's pass: collected, never orphaned.
    with reaper_services(fresh_postgres_url, data_dir) as services:
        Reaper(services).run_once()
        Reaper(services).sweep_orphans()
    assert no_staging_left(data_dir)
    for _, _, model_name in rows.values():
        verify_published_model(data_dir, model_name)


def all_terminal(database_url: str) -> bool:
    return all(status in ("SUCCESSED", "FAILED") for status, _, _ in job_rows(database_url).values())


def kill_workers_while_they_copy(
    api: Server,
    accepted: list[str],
    workers: list[ModelportProcess],
    database_url: str,
    *,
    most: int,
    seed: int,
    replacement: Callable[[int], ModelportProcess],
) -> int:
    """SIGKILL a random worker whenever an import is copying, at most `most` times, putting
    `replacement(n)` in its place after the n-th kill; returns how many were killed."""
    chaos = random.Random(seed)
    kills = 0
    while kills < most and not all_terminal(database_url):
        wait_for(lambda: any("copying" in p for p in progress_phases(api, accepted)) or all_terminal(database_url), 60)
        victim = chaos.randrange(len(workers))
        workers[victim].kill()
        kills += 1
        workers[victim] = replacement(kills)
    return kills


def progress_phases(api: Server, job_ids: list[str]) -> list[str]:
    phases = []
    for job_id in job_ids:
        response = api.call("GET", f"{IMPORT}/{job_id}/report")
        if response.status_code == 200:
            phases.append(str(response.json()["output"]["progress"]["phase"]))
    return phases


def test_sigkilled_workers_on_s3_storage_leave_only_complete_models(
    fresh_postgres_url: str, tmp_path: Path, s3_server: S3Server
) -> None:
    """The same chaos with the source bucket and the model store on an S3-protocol server."""
    data_dir = tmp_path / "data"
    local_uploads = tmp_path / "uploads"
    source, store = s3_server.create_bucket("source"), s3_server.create_bucket("models")
    samples.register_base(data_dir, "medium", MEDIUM_BASE)
    medium = load_catalog(data_dir).get("medium")
    assert medium is not None
    samples.write_full_checkpoint(local_uploads / "full", medium.config, shards=3)
    s3_server.upload_folder(source, local_uploads / "full", "uploads/full/")
    config = tmp_path / "storage.toml"
    credentials = f'endpoint = "{s3_server.endpoint}"\nregion = "us-east-1"\n' + (
        'access_key_id = { env = "TEST_S3_KEY" }\nsecret_access_key = { env = "TEST_S3_SECRET" }\n'
    )
    config.write_text(
        f'[model_store]\nurl = "s3://{store}/published/"\n{credentials}part_size = "5MiB"\n\n'
        f'[buckets.shared]\nurl = "s3://{source}/"\n{credentials}'
    )
    env = shared_env(
        fresh_postgres_url,
        data_dir,
        MODELPORT_CONFIG=str(config),
        MODELPORT_MAX_ATTEMPTS="50",
        MODELPORT_CHUNK_BYTES=str(1024 * 1024),
        TEST_S3_KEY=OPEN_KEY_ID,
        TEST_S3_SECRET=OPEN_SECRET,
    )
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    accepted = create_jobs(api, [("medium", "full", "uploads/full/")], 6)
    workers = [start_worker(env, data_dir, n, concurrency=1) for n in range(2)]
    try:
        kill_workers_while_they_copy(
            api, accepted, workers, fresh_postgres_url, most=4, seed=7,
            replacement=lambda n: start_worker(env, data_dir, 10 + n, concurrency=1),
        )  # fmt: skip
        wait_for(lambda: all_terminal(fresh_postgres_url), 300)
    finally:
        for worker in workers:
            worker.kill()
        api.terminate()

    rows = job_rows(fresh_postgres_url)
    assert sorted(rows) == sorted(accepted)
    assert {status for status, _, _ in rows.values()} == {"SUCCESSED"}
    assert max(attempts for _, attempts, _ in rows.values()) >= 2, "the chaos never hit an import"
    names = {model_name for _, _, model_name in rows.values()}
    keys = s3_server.keys(store, "published/")
    assert {k.split("/")[1] for k in keys if not k.startswith("published/.")} == names
    assert [k for k in keys if k.startswith(("published/.staging/", "published/.claims/"))] == []
    for name in names:
        manifest = json.loads(s3_server.get(store, f"published/{name}/manifest.json"))
        assert s3_server.keys(store, f"published/{name}/") == [f"published/{name}/manifest.json"]
        for entry in manifest["files"]:
            data = s3_server.get(store, f"published/.blobs/{entry['blob']}")
            assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
    # Six imports of one upload: after a reaper pass the store holds one copy of each file.
    with reaper_services(fresh_postgres_url, data_dir, config) as services:
        Reaper(services).run_once()
        Reaper(services).sweep_orphans()
        store_models = services.model_store
        assert isinstance(store_models, OpenDalModelStore)
        found = assert_blobs_match_manifests(store_models, store_models.ledger, names)
    assert len(found.blobs) == len(manifest["files"])


@contextmanager
def reaper_services(database_url: str, data_dir: Path, config: Path | None = None) -> Iterator[Services]:
    """The services a reaper pass needs, in this process, on the processes' database and store."""
    overrides = {"MODELPORT_CONFIG": str(config)} if config is not None else {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_S3_KEY", OPEN_KEY_ID)  # the config names its credentials by variable
        patch.setenv("TEST_S3_SECRET", OPEN_SECRET)
        services = open_services(Settings.from_env({**shared_env(database_url, data_dir), **overrides}))
    try:
        yield services
    finally:
        services.close()

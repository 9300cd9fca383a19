"""De-duplication against real processes on PostgreSQL: the same folder imported again and again,
workers SIGKILLed while those imports run and after them, a model that shares its blobs deleted.

What must hold: one copy of the bytes however often the folder is imported and however the
workers die, every SUCCESSED model reads back byte for byte, and after a reaper pass the blobs are
exactly those the manifests name (each with its digest), with no claim, reference or blob left over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelport.storage.local_models import LocalModelStore
from modelport.worker.reaper import Reaper
from tests.e2e.test_scale_out import (
    all_terminal,
    create_jobs,
    job_rows,
    kill_workers_while_they_copy,
    prepare_uploads,
    reaper_services,
    shared_env,
    start_worker,
)
from tests.e2e.test_serve import IMPORT, no_staging_left, verify_published_model
from tests.support.blobs import assert_blobs_match_manifests
from tests.support.server import Server, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def blob_files(data_dir: Path) -> dict[str, int]:
    """Every blob's data file in the local store, with its size."""
    root = data_dir / "models" / ".blobs"
    return {
        p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file() and "." not in p.name
    }


def stored_bytes(data_dir: Path) -> int:
    """What the model store occupies, counting each inode once (as `du` does)."""
    seen: dict[int, int] = {}
    for folder, _, files in os.walk(data_dir / "models"):
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            seen[info.st_ino] = info.st_size
    return sum(seen.values())


def test_sigkilled_workers_during_and_after_deduplicated_imports_keep_one_copy(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    full, _ = prepare_uploads(data_dir)
    env = shared_env(
        fresh_postgres_url,
        data_dir,
        MODELPORT_MAX_ATTEMPTS="50",
        MODELPORT_MAX_BYTES_PER_SECOND=str(24 * 1024 * 1024),
        MODELPORT_CHUNK_BYTES=str(256 * 1024),
    )
    api = Server(data_dir, env, extra_args=["--no-worker"]).start()
    workers = [start_worker(env, data_dir, 0, concurrency=2)]
    try:
        (first,) = create_jobs(api, [full], 1)
        assert api.wait_terminal(first, timeout=120)["status"] == "SUCCESSED"
        copy = blob_files(data_dir)
        size_once = stored_bytes(data_dir)

        # The same folder four times more, and a worker killed whenever one of them is copying.
        again = create_jobs(api, [full], 4)
        kills = kill_workers_while_they_copy(
            api, again, workers, fresh_postgres_url, most=3, seed=20261203,
            replacement=lambda n: start_worker(env, data_dir, n, concurrency=2),
        )  # fmt: skip
        wait_for(lambda: all_terminal(fresh_postgres_url), 300)
        # ...and after them: the first model, whose blobs the others share, is deleted, and the
        # worker is killed before it could sweep anything more.
        assert api.call("DELETE", f"{IMPORT}/{first}").status_code == 200
        workers[0].kill()
        report = api.call("GET", f"{IMPORT}/{again[-1]}/report").json()["output"]
    finally:
        for worker in workers:
            worker.kill()
        api.terminate()

    rows = job_rows(fresh_postgres_url)
    assert sorted(rows) == sorted(again)
    assert {status for status, _, _ in rows.values()} == {"SUCCESSED"}
    assert kills >= 1 and max(attempts for _, attempts, _ in rows.values()) >= 2, "the chaos never hit an import"
    # Every import after the first wrote only its manifest: the blobs are the first import's, and
    # five models take the room of one (plus their manifests).
    assert blob_files(data_dir) == copy
    names = {model_name for _, _, model_name in rows.values()}
    assert stored_bytes(data_dir) < size_once + 4 * 64 * 1024
    for name in names:
        verify_published_model(data_dir, name)
    (twin,) = [f for f in report["findings"] if f["code"] == "storage.same_content"]
    assert twin["severity"] == "warning"

    with reaper_services(fresh_postgres_url, data_dir) as services:
        reaper = Reaper(services)
        reaper.run_once()
        reaper.sweep_orphans()
        store = services.model_store
        assert isinstance(store, LocalModelStore)
        found = assert_blobs_match_manifests(store, store.ledger, names)
    assert set(found.blobs) == set(copy)
    assert no_staging_left(data_dir)
    manifests = [json.loads((data_dir / "models" / name / "manifest.json").read_text()) for name in names]
    assert len({tuple(sorted(f["blob"] for f in m["files"])) for m in manifests}) == 1

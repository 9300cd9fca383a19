"""Jobs as a worker holds them, for tests that drive the importer directly (no database needed), and
a key with one PENDING job, for tests of the poll read."""

from __future__ import annotations

import itertools
import uuid

from modelport.db.keys_repository import hash_key
from modelport.domain.jobs import Job, JobStatus, NewJob, Progress, StorageInfo, WeightType
from modelport.services import Services

# A serial, not a random tail: tests that share a model store (the corpus runs 100+ imports into
# one) would otherwise draw the same 4-character name now and then, and see another job's model.
_MODEL_SERIAL = itertools.count()


def running_job(
    base_model: str = "qwen3-8b",
    weight_type: str = "lora",
    bucket: str = "my-bucket",
    prefix: str = "models/lora/",
    *,
    model_name: str | None = None,
    display_name: str = "test import",
) -> Job:
    return Job(
        job_id=str(uuid.uuid4()),
        workspace_id=1,
        model_name=model_name or f"{base_model}-offline-20261128-{next(_MODEL_SERIAL) % 0x10000:04x}",
        display_name=display_name,
        base_model=base_model,
        weight_type=WeightType(weight_type),
        storage=StorageInfo(bucket_name=bucket, object_key=prefix),
        status=JobStatus.RUNNING,
        created_at_ms=0,
        error_code=None,
        reason_code=None,
        attempts=1,
        progress=Progress(None, 0, None, None),
    )


def key_hash_and_pending_job(services: Services, workspace: str) -> tuple[str, str]:
    """A new key of `workspace` (as its hash) and the id of a PENDING job it owns."""
    key, _ = services.keys.create_key(workspace)
    workspace_id = services.keys.authenticate(key)
    assert workspace_id is not None
    new_job = NewJob(
        base_model="qwen3-8b",
        weight_type=WeightType.LORA,
        storage=StorageInfo(bucket_name="b", object_key="m/"),
        display_name=None,
    )
    return hash_key(key), services.writes.create(workspace_id, new_job).job.job_id
